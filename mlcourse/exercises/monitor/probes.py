"""The probes of lesson 04 (Monitor): what the grading child runs.

Most of this lesson's tests call the learner's function with
:func:`mlcourse.exercises.probes.call`; here are the two that do more: the
retraining decision on many (state, policy) cases, and the backtest of the
learner's two policies on a fresh drifting stream. Nothing here knows an
answer; the references and verdicts are in
:mod:`mlcourse.exercises.monitor.checks`.
"""
from __future__ import annotations

from typing import Any

#: The lesson's backtest: 8 weeks of 300 transactions a day, a concept drift from day 14.
BACKTEST_WEEKS = 8
BACKTEST_ROWS_PER_DAY = 300
BACKTEST_DRIFT_DAY = 14
NEVER = "never retrain (reference)"


def retrain_probe(fn: Any, cases: list) -> list:
    """The learner's decision for each (state, policy table) case."""
    return [fn(state, table) for state, table in cases]


def backtest_settings(seed: int = 0) -> dict:
    """The keyword arguments of the lesson's backtest (for :func:`mlcourse.monitor.retraining.backtest`)."""
    from mlcourse.data.generate import DriftSpec

    return {"weeks": BACKTEST_WEEKS, "rows_per_day": BACKTEST_ROWS_PER_DAY,
            "drift": DriftSpec(start_day=BACKTEST_DRIFT_DAY, concept=True), "seed": seed}


def probe_policies(policies: Any, seed: int) -> dict:
    """Backtest the learner's two policies next to never retraining, on the stream of ``seed``."""
    from mlcourse.monitor.retraining import RetrainPolicy, backtest

    if not isinstance(policies, (list, tuple)):
        return {"shape": "not a list", "type": type(policies).__name__}
    if len(policies) != 2 or not all(isinstance(p, RetrainPolicy) for p in policies):
        return {"shape": "wrong", "types": [type(p).__name__ for p in policies]}
    result = backtest([RetrainPolicy((), (), NEVER), *policies], **backtest_settings(seed))
    weekly = result.weekly[["policy", "week", "retrained", "fired_triggers", "drift_share", "seen_performance",
                            "pr_auc"]]
    return {
        "shape": "ok",
        "names": [p.name for p in policies],
        "tables": [p.table() for p in policies],
        "summary": result.summary,
        "weekly": weekly,
    }
