"""Stage 2 of the lifecycle, Train: from a clean table to a model worth deploying.

Two modules, each building on :mod:`mlcourse.data` only:

1. :mod:`.training`: the experiment loop: baselines, metrics with their
   confidence, leak-free cross-validation, grid and random search, and the
   run log every experiment is recorded in;
2. :mod:`.fraud_model`: the course's fraud models, defined once for every
   stage after this one: the default model ``fraud-detector`` that
   ``mlcourse serve`` serves, and the small, fast model that monitoring's
   experiments and the retraining backtests refit many times, with the
   metrics they are scored by.

Deployment (:mod:`mlcourse.deploy`) and monitoring (:mod:`mlcourse.monitor`)
import from here, never the other way round. Importing the package loads
nothing heavy; each module imports scikit-learn when it needs it.
"""
