"""The probes of lesson 00 (the lifecycle overview): what the grading child runs.

Nothing here knows an answer: these functions only call the learner's
``next_stage`` and report what it did, or judge an answer's form (a stage
name, the listed activities), which the lesson shows anyway. The definitions and verdicts are in
:mod:`mlcourse.exercises.overview.checks`.
"""
from __future__ import annotations

import difflib
from typing import Any

from mlcourse.exercises.compare import show
from mlcourse.exercises.plain import TAG, kind
from mlcourse.figures import LIFECYCLE

STAGES: tuple[str, ...] = tuple(LIFECYCLE)


def call_on_each(fn: Any, stages: list[str]) -> list:
    """The learner's function on each stage name of a sequence."""
    return [fn(s) for s in stages]


def call_expecting_error(fn: Any, args: tuple) -> dict:
    """Call the learner's function on a bad input: what it raised, or what it returned instead."""
    try:
        value = fn(*args)
    except NotImplementedError:
        raise  # the untouched stub: the engine reports "not attempted"
    except Exception as exc:  # noqa: BLE001 - what the learner raised is the answer
        return {"raised": type(exc).__name__, "message": str(exc)[:300]}
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001
        text = f"a {type(value).__name__}"
    return {"returned": text[:80]}


def call_on_bad_names(fn: Any, names: list[str]) -> list[dict]:
    """:func:`call_expecting_error` on each of several names that are not stages."""
    return [call_expecting_error(fn, (name,)) for name in names]


# --------------------------------------------------------------------------
# Public verdicts: the form of an answer, never the answer (the graded
# edition runs them in the notebook; checks.py uses them too)
# --------------------------------------------------------------------------
def _canonical(name: str) -> str | None:
    """The stage a near-miss spelling means ('training' -> 'Train'), or None."""
    low = name.strip().lower()
    if not low:
        return None
    for stage in STAGES:
        s = stage.lower()
        if low == s or low.startswith(s) or (len(low) >= 4 and s.startswith(low)):
            return stage
    return None


def _stage_of_activity(name: str) -> str | None:
    low = name.strip().lower()
    for stage, activities in LIFECYCLE.items():
        if any(low == a or low == a.split()[-1] or low.rstrip("s") == a for a in activities):
            return stage
    return None


def _stage_name_problem(item: Any, where: str) -> str | None:
    """None when ``item`` is a stage name; else what is wrong with it."""
    if type(item) is not str:
        return f"{where} is {kind(item)} ({show(item)}); each item should be a stage name, a string such as 'Data'"
    if item in STAGES:
        return None
    meant = _canonical(item)
    if meant:
        case = " (names are case-sensitive)" if item.strip().lower() == meant.lower() else ""
        return f"{item!r} is not spelt the way the course names the stage: write {meant!r}{case}"
    activity_of = _stage_of_activity(item)
    if activity_of:
        return f"{item!r} is an activity of the {activity_of} stage, not a stage of its own"
    if "feedback" in item.lower() or "loop" in item.lower():
        return f"{item!r} is not a stage: the feedback loop is the arrow from Monitor back to Data"
    return f"{item!r} is not one of the four stage names shown in the lifecycle figure"


def stage_list_problem(got: Any) -> str | None:
    """What keeps ``stages`` from being a list of stage names (a tuple, a string, an item that is no stage), or None."""
    if isinstance(got, dict) and got.get(TAG) == "tuple":
        return "`stages` is a tuple; make it a list (square brackets) of the four stage names"
    if type(got) is str:
        return "`stages` is one string; make it a list of four strings, one stage name each"
    if type(got) is not list:
        return f"`stages` should be a list of four stage names, but it is {kind(got)} ({show(got)})"
    for i, item in enumerate(got):
        problem = _stage_name_problem(item, f"item {i}")
        if problem:
            return problem
    return None


def stage_list_form_verdict(got: Any, _: Any) -> str | None:
    """The form of ``stages``: a list of four distinct stage names (never their order)."""
    problem = stage_list_problem(got)
    if problem:
        return problem
    if len(got) != len(STAGES) or len(set(got)) != len(got):
        return f"`stages` should hold each of the {len(STAGES)} stages once; it has {len(got)} item(s), {len(set(got))} different"
    return None


def _plain_mapping(got: Any) -> dict | None:
    """The learner's dict as {str: value}, or None when it is not a plain dict."""
    if type(got) is dict and TAG not in got:
        return got
    return None


def activity_form_verdict(got: Any, activities: list) -> str | None:
    """The form of ``activity_stage``: exactly the listed activities as keys, a stage name for each (never which one)."""
    mapping = _plain_mapping(got)
    if mapping is None and isinstance(got, dict) and got.get(TAG) == "dict":
        return "the keys of `activity_stage` should be the activity names from `activities`, as strings"
    if mapping is None:
        return (
            f"`activity_stage` should be a dict from activity to stage name, but it is {kind(got)} ({show(got)}); "
            "e.g. {'schema validation': 'Data', ...}"
        )
    missing = [a for a in activities if a not in mapping]
    unknown = [k for k in mapping if k not in activities]
    if missing:
        near = difflib.get_close_matches(missing[0], unknown, n=1)
        extra = f" (you have {near[0]!r}: copy the names from `activities`)" if near else ""
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        return f"{missing[0]!r}{more} is missing from your dict{extra}"
    if unknown:
        return f"{unknown[0]!r} is not one of the listed activities; use exactly the keys in `activities`"
    for activity, stage in mapping.items():
        problem = _stage_name_problem(stage, f"the stage of {activity!r}")
        if problem:
            return problem if type(stage) is not str else f"for {activity!r}: {problem}"
    return None
