"""The probes of lesson 04 (Monitor): what the grading child runs.

Most of this lesson's tests call the learner's function with
:func:`mlcourse.exercises.probes.call`; here are the two that do more: the
retraining decision on many (state, policy) cases, and the backtest of the
learner's two policies on a fresh drifting stream. Then the verdicts of the
public checks, the ones the graded edition runs in the notebook: each compares
the answer on the notebook's own inputs with an expected value stored at
release, and says what is wrong without listing the expected values. Nothing
here knows an answer; the references and the hidden tests' verdicts are in
:mod:`mlcourse.exercises.monitor.checks`.
"""
from __future__ import annotations

from collections.abc import Sequence
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


# ==========================================================================
# The public checks (the graded edition runs them in the notebook)
# ==========================================================================
# Each exercise's visible example is a test of weight 0: it earns nothing (the
# points come from the hidden tests on fresh inputs) and tells a learner of the
# graded edition whether the function works on the notebook's own inputs. Each
# verdict takes the expected value, computed at release, as its third argument;
# a failure names the first problem and how many there are, never the expected
# values item by item.
LATENCY_KEYS = ("p50_ms", "p95_ms", "p99_ms")


def _plain_number(value: Any) -> float | None:
    """A plain int or float as a float (bools excluded), else None."""
    return float(value) if type(value) in (int, float) else None


def _near(a: float | None, b: float, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    import math

    return a is not None and math.isfinite(a) and abs(a - b) <= atol + rtol * abs(b)


def _kind(value: Any) -> str:
    from mlcourse.exercises.plain import kind

    return kind(value)


def _is_frame(value: Any) -> bool:
    from mlcourse.exercises.plain import TAG

    return isinstance(value, dict) and value.get(TAG) == "DataFrame"


def _items(value: Any) -> Any:
    """A tuple, set, array or Series in plain form as its list of items; anything else as it is."""
    from mlcourse.exercises.plain import TAG

    if isinstance(value, dict) and value.get(TAG) in ("tuple", "set"):
        return value.get("items")
    if isinstance(value, dict) and value.get(TAG) in ("ndarray", "Series"):
        return value.get("data")
    return value


def _columns(frame: dict) -> dict:
    """A plain DataFrame as {column name: list of values}, its index as 'day' when it has no such column."""
    data = dict(zip((str(c) for c in frame.get("columns", [])), frame.get("data", [])))
    data.setdefault("day", list(frame.get("index", [])))
    return data


def latency_example_verdict(got: Any, inputs: Any, expected: dict) -> str | None:
    """``monitor.latency_slo`` on the notebook's log: the three percentiles, and slo_met from the answer's own p95."""
    if got is None:
        return "your function returned None: did you forget a `return` statement?"
    if not isinstance(got, dict) or _is_frame(got) or any(k not in got for k in (*LATENCY_KEYS, "slo_met")):
        return f"expected a dict with the keys p50_ms, p95_ms, p99_ms and slo_met, got {_kind(got)}"
    values = {k: _plain_number(got[k]) for k in LATENCY_KEYS}
    if any(v is None for v in values.values()):
        return "p50_ms, p95_ms and p99_ms should be numbers (floats)"
    if type(got["slo_met"]) is not bool:
        return "slo_met should be True or False: bool(p95 <= slo_ms)"
    off = [k for k in LATENCY_KEYS if not _near(values[k], expected[k])]
    if off:
        return (f"{len(off)} of the 3 percentiles differ from the reference on this log; first: {off[0]}. Use the "
                "successful requests only and linear interpolation (numpy's default)")
    if got["slo_met"] is not (values["p95_ms"] <= inputs[1]):
        return "slo_met does not follow from your p95: the objective is met when p95 <= slo_ms"
    return None


def drifted_example_verdict(got: Any, inputs: Any, expected: list) -> str | None:
    """``monitor.drifted_features`` on the notebook's batch: the same features, each once, in any order."""
    value = _items(got)
    if value is None:
        return "your function returned None: did you forget a `return` statement?"
    if not isinstance(value, list) or not all(type(v) is str for v in value):
        return f"expected a list of column names (strings), got {_kind(got)}"
    extra, missed = set(value) - set(expected), set(expected) - set(value)
    if extra or missed:
        return (f"on this batch your list names {len(extra)} feature(s) that did not drift and misses {len(missed)} "
                "that did: test each column on its own")
    if len(set(value)) != len(value):
        return "your list names a feature more than once"
    return None


def _frame_columns(got: Any, expected: Any, columns: Sequence[str], also: str = "",
                   note: str = "") -> str | tuple[dict, dict]:
    """The learner's frame and the reference's as columns, or what keeps the answer from being a frame with
    ``columns`` (``also``: a column that may be the index instead; ``note`` ends the missing-columns message)."""
    if got is None:
        return "your function returned None: did you forget a `return` statement?"
    if not _is_frame(got):
        named = [also, *columns] if also else list(columns)
        return f"expected a DataFrame with the columns {', '.join(named[:-1])} and {named[-1]}, got {_kind(got)}"
    rows, want = _columns(got), _columns(expected)
    missing = [c for c in columns if c not in rows]
    if missing:
        return f"your DataFrame has no column(s) {missing}{note}"
    return rows, want


def feature_drift_example_verdict(got: Any, inputs: Any, expected: Any) -> str | None:
    """``monitor.feature_drift`` on the notebook's windows: one row per feature, its test, statistic and flag."""
    frames = _frame_columns(got, expected, ("feature", "test", "statistic", "drifted"))
    if isinstance(frames, str):
        return frames
    rows, want = frames
    mine = {str(f): i for i, f in enumerate(rows["feature"])}
    if sorted(mine) != sorted(want["feature"]) or len(mine) != len(rows["feature"]):
        return f"expected one row per feature ({len(want['feature'])} rows), got {len(rows['feature'])}"
    off = []
    for j, feature in enumerate(want["feature"]):
        i = mine[feature]
        if (rows["test"][i] != want["test"][j]
                or not _near(_plain_number(rows["statistic"][i]), want["statistic"][j], rtol=1e-3, atol=1e-6)
                or rows["drifted"][i] is not want["drifted"][j]):
            off.append(feature)
    if off:
        return f"{len(off)} feature(s) differ from the reference on these windows (test, statistic or flag); first: {off[0]!r}"
    return None


def alerts_example_verdict(got: Any, inputs: Any, expected: Any) -> str | None:
    """``monitor.output_alerts`` on the notebook's log: one row per day, in order, and the days that alert."""
    frames = _frame_columns(got, expected, ("requests", "null_rate", "score_psi", "alert"), also="day",
                            note=" (the day may be the index)")
    if isinstance(frames, str):
        return frames
    rows, want = frames
    if len(rows["alert"]) != len(want["alert"]):
        return f"expected one row per day of the log ({len(want['alert'])} rows), got {len(rows['alert'])}"
    flags = [bool(a) if type(a) is bool else None for a in rows["alert"]]
    if None in flags:
        return "the 'alert' column should hold True or False"
    off = [i for i, (a, b) in enumerate(zip(flags, want["alert"])) if a is not b]
    if off:
        return (f"{len(off)} day(s) of this log alert differently from the reference; first: row {off[0]}. An alert "
                "needs enough requests and a null rate or a score PSI over its limit")
    return None


def retrain_example_verdict(got: Any, inputs: Any, expected: list) -> str | None:
    """``monitor.should_retrain`` on the lesson's policy: one decision per case, True or False."""
    if not isinstance(got, list) or len(got) != len(expected):
        return "the check could not read your answers"
    if any(v is None for v in got):
        return "your function returned None: did you forget a `return` statement?"
    if any(type(v) is not bool for v in got):
        return "each decision should be True or False: return bool(...)"
    off = [i for i, (a, b) in enumerate(zip(got, expected)) if a is not b]
    if off:
        return f"{len(off)} of {len(expected)} decisions on the lesson's policy differ from the reference; first: case {off[0]}"
    return None


def policies_form(policies: Any, inputs: Any) -> dict:
    """The form of the learner's policies, without backtesting them (the public check of ``backtest_policies``)."""
    from mlcourse.monitor.retraining import RetrainPolicy

    if not isinstance(policies, (list, tuple)):
        return {"shape": "not a list", "type": type(policies).__name__}
    return {"shape": "ok", "count": len(policies), "policies": all(isinstance(p, RetrainPolicy) for p in policies),
            "names": [p.name if isinstance(p, RetrainPolicy) else None for p in policies]}


def policies_form_verdict(got: Any, inputs: Any) -> str | None:
    """The public check of ``monitor.backtest_policies``: two policies with different names (never how good)."""
    if got["shape"] != "ok":
        return f"`policies` should be a list of two RetrainPolicy objects, got {got['type']}"
    if got["count"] != 2 or not got["policies"]:
        return f"`policies` should hold exactly two RetrainPolicy objects (a calendar and an alarm), got {got['count']} item(s)"
    if got["names"][0] == got["names"][1]:
        return "your two policies have the same name: pass name='...' to from_table"
    return None
