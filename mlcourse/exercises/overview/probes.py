"""The probes of lesson 00 (the lifecycle overview): what the grading child runs.

Nothing here knows an answer: these functions only call the learner's
``next_stage`` and report what it did. The definitions and verdicts are in
:mod:`mlcourse.exercises.overview.checks`.
"""
from __future__ import annotations

from typing import Any


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
