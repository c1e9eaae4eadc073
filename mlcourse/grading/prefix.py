"""Step 3, the grader's side of shared checkpoints: the cells a submission shares.

The *trusted run* of a lesson is its template rebuilt against itself
(:func:`~.rebuild.rebuild`): the cells an untouched notebook runs, stubs
included. A submission's rebuilt notebook starts with some of those cells,
unchanged: up to its first cell that is the learner's own (an answer, or a
cell it added). Those cells do the same for every submission, so a shared
checkpoint (:mod:`.checkpoint`) can run them once.

Checkpoints sit only where the trusted run reaches an answer cell, and at its
end: :func:`position` is the latest of those the submission's own cells have
not changed. A learner's cell before the first answer cell leaves nothing to
share (position 0: the child is forked from the fork server, as before); an
untouched notebook shares every cell.

Examples
--------
>>> from mlcourse.grading.rebuild import PlannedCell, Plan
>>> base = Plan([PlannedCell("a", "template"), PlannedCell("x = ...", "answer", ("e",)), PlannedCell("b", "template")])
>>> boundaries(base)
[1, 3]
>>> position(Plan([PlannedCell("a", "template"), PlannedCell("x = 1", "answer", ("e",))]), base)
1
>>> position(Plan([PlannedCell("mine", "added"), *base.cells]), base)
0
>>> position(base, base)
3
"""
from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from mlcourse.grading.rebuild import ANSWER, STUB, Plan, load_template, rebuild

_runs: dict[tuple[str, bool], Plan] = {}
_lock = threading.Lock()


def trusted_run(lesson: str, run_demos: bool = False) -> Plan:
    """The cells an untouched notebook of the lesson runs (cached per lesson)."""
    with _lock:
        if (lesson, run_demos) not in _runs:
            from mlcourse.exercises import exercises_of

            template = load_template(lesson)
            _runs[lesson, run_demos] = rebuild(template, template, exercises_of(lesson), run_demos=run_demos)
        return _runs[lesson, run_demos]


def shared(plan: Plan, base: Plan) -> int:
    """How many leading cells of ``plan`` are the trusted run's own, unchanged."""
    n = 0
    for mine, theirs in zip(plan.cells, base.cells):
        if mine.source != theirs.source:
            break
        n += 1
    return n


def boundaries(base: Plan) -> list[int]:
    """Where a checkpoint may sit: before each answer cell of the trusted run, and at its end."""
    return [i for i, c in enumerate(base.cells) if c.origin in (ANSWER, STUB)] + [len(base.cells)]


def position(plan: Plan, base: Plan) -> int:
    """The cells of ``plan`` a shared checkpoint can run for it (0: none)."""
    n = shared(plan, base)
    return max((b for b in boundaries(base) if b <= n), default=0)


def key(cells: list[str], context: dict[str, Any]) -> str:
    """A checkpoint's identity: its cells and everything else that shapes their run.

    Examples
    --------
    >>> key(["a"], {"x": 1}) == key(["a"], {"x": 1}) != key(["a"], {"x": 2})
    True
    """
    text = json.dumps({"cells": cells, **context}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


__all__ = ["boundaries", "key", "position", "shared", "trusted_run"]
