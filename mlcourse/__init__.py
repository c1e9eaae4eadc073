"""mlcourse: the machine-learning system lifecycle, Data -> Train -> Deploy -> Monitor.

The package is laid out in the order data flows, one subpackage per stage,
each importing only the stages before it:

1. :mod:`mlcourse.data`: the course's generated data and its validation;
2. :mod:`mlcourse.train`: experiments, metrics, the run log, and the
   course's fraud models;
3. :mod:`mlcourse.deploy`: the model registry, ONNX, the model service, the
   canary router, the prediction log and the FastAPI app (``mlcourse serve``);
4. :mod:`mlcourse.monitor`: drift tests, service monitoring from the
   prediction log, retraining policies and the feedback loop.

On top of the stages sit the exercises (:mod:`mlcourse.exercises`), the
grader (:mod:`mlcourse.grading`) and the ``mlcourse`` command line
(:mod:`mlcourse.cli`, with :mod:`mlcourse.lifecycle`, :mod:`mlcourse.release`
and :mod:`mlcourse.workspace`). Below everything: :mod:`mlcourse.paths`,
:mod:`mlcourse.errors` and :mod:`mlcourse.figures`.

Importing ``mlcourse`` stays light on purpose: a learner's check cell must answer
at once, so heavy libraries (pandas, scikit-learn, nbformat) are imported only by
the stage modules that need them. This module imports nothing of the package
but :mod:`mlcourse.paths`, and that only when :func:`home` is called.
"""
from __future__ import annotations

import logging
import os

__version__ = "0.1.0"

# A library logs; the application decides where it goes. Without this,
# Python's last-resort handler would print the package's warnings to stderr,
# interleaving with notebook output.
logging.getLogger(__name__).addHandler(logging.NullHandler())

# MLflow (the lessons' experiment tracker) starts its telemetry when it is
# imported and would try the network; the course never sends anything. A
# learner's own setting stands.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no progress bars in lesson output

__all__ = ["__version__", "home"]


def home():
    """Return the root folder of everything mlcourse writes for this user.

    See :func:`mlcourse.paths.home`.
    """
    from mlcourse.paths import home as _home

    return _home()
