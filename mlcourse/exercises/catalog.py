"""Which lesson holds which exercises, and whether this process is a graded run.

The leaf every other exercise module may import (it imports nothing of
mlcourse): the lessons in course order, the package holding each lesson's
exercises, and the graded-run flag the grading child sets before any learner
code runs.

Each lesson's exercises live in a package ``mlcourse/exercises/<package>/``:

* ``probes.py``: what the grading child needs to run an answer (the probe
  functions and what they call);
* ``checks.py``: the :class:`~mlcourse.exercises.engine.Exercise`
  definitions, with their references and verdicts: **the answer key**, loaded
  by the notebook and the grader's own process only, never by the grading
  child.

Examples
--------
>>> lesson_of("data.fingerprint")
'01_data'
>>> checks_module_name("01_data"), probes_module_name("01_data")
('mlcourse.exercises.data.checks', 'mlcourse.exercises.data.probes')
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

# Lesson notebook (stem) -> package holding its exercise definitions, in course order.
LESSONS: dict[str, str] = {
    "00_lifecycle_overview": "overview",
    "01_data": "data",
    "02_train": "train",
    "03_deploy": "deploy",
    "04_monitor": "monitor",
    "05_end_to_end": "end_to_end",
    "06_interview_prep": "interview",
}

#: Set (to "1") in the grading child's environment: the process runs a graded submission.
GRADING_ENV = "MLCOURSE_GRADING"

#: What ``solution()``, ``hint()`` and ``progress()`` answer inside a graded run.
NOT_DURING_GRADING = "not available during grading"

# The grading child's exercise specs (plain data), set before any learner code runs.
_graded: list[dict[str, Any]] = []


def package_name(lesson: str) -> str:
    """``mlcourse.exercises.<package>`` of a lesson; a clear error for an unknown one."""
    if lesson not in LESSONS:
        known = ", ".join(LESSONS)
        raise ValueError(f"unknown lesson {lesson!r}; the lessons are: {known}")
    return f"mlcourse.exercises.{LESSONS[lesson]}"


def checks_module_name(lesson: str) -> str:
    """The module holding a lesson's Exercise definitions (the answer key)."""
    return package_name(lesson) + ".checks"


def probes_module_name(lesson: str) -> str:
    """The module holding what the grading child needs for a lesson."""
    return package_name(lesson) + ".probes"


def lesson_of(exercise_id: str) -> str:
    """The lesson (notebook stem) holding ``exercise_id``."""
    prefix = exercise_id.split(".", 1)[0]
    for name, package in LESSONS.items():
        if package == prefix:
            return name
    raise KeyError(f"no lesson holds exercise {exercise_id!r}")


def graded_run() -> bool:
    """True inside the grading child: solutions, hints and progress are off there."""
    return bool(_graded) or os.environ.get(GRADING_ENV) == "1"


def enter_graded_run(specs: Sequence[dict[str, Any]]) -> None:
    """Mark this process as a graded run with these exercise specs (the grading child, before learner code)."""
    _graded[:] = list(specs)
    os.environ[GRADING_ENV] = "1"


def graded_specs() -> list[dict[str, Any]]:
    """The exercise specs of a graded run (empty outside one)."""
    return list(_graded)
