"""Stage 1 of the lifecycle, Data: where every other stage's input comes from.

Two modules, in the order the data flows:

1. :mod:`.generate`: the course's data, generated on the learner's machine and
   never downloaded: the outline's toy dataset, the synthetic card
   transactions (clean or damaged on purpose), the raw sources they are
   joined from, and a drifting production stream with late labels;
2. :mod:`.validation`: data quality before training: a declarative schema
   and :func:`~.validation.validate`, cleaning helpers that log what they
   change, a leakage screen and a content fingerprint for dataset versioning.

Nothing here imports another stage: training (:mod:`mlcourse.train`),
deployment (:mod:`mlcourse.deploy`) and monitoring (:mod:`mlcourse.monitor`)
build on it.

The package re-exports the generator's public API, so lessons write
``from mlcourse import data`` and ``data.make_transactions(...)``. That loads
numpy and pandas, as the generator always did; ``import mlcourse`` alone does
not.
"""
from __future__ import annotations

# The generator's public API, name for name, listed once: in generate.__all__
# (tests/data/test_generate.py checks they agree).
from mlcourse.data.generate import *  # noqa: F403
from mlcourse.data.generate import __all__  # noqa: F401
