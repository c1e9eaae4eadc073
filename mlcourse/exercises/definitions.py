"""The lessons' exercise definitions, loaded: the answer key, for the notebook and the grader's own process.

``exercises_of("01_data")`` imports ``mlcourse.exercises.data.checks`` and
returns its :class:`~mlcourse.exercises.engine.Exercise` objects in the order
they are defined; :func:`find` looks one up by id. The grading child never
calls these (it gets each exercise's plain spec instead, see
:meth:`Exercise.spec`). :mod:`mlcourse.exercises` re-exports them.

Examples
--------
>>> [ex.id for ex in exercises_of("00_lifecycle_overview")]
['overview.stage_order', 'overview.activity_stage', 'overview.next_stage']
>>> find("overview.next_stage").answer.name
'next_stage'
"""
from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from mlcourse.exercises import edition
from mlcourse.exercises.catalog import LESSONS, checks_module_name, lesson_of, package_name
from mlcourse.exercises.engine import Exercise


def checks_module(lesson_name: str) -> ModuleType:
    """The module holding a lesson's exercise definitions (the answer key)."""
    return importlib.import_module(checks_module_name(lesson_name))


def exercises_of(lesson_name: str) -> list[Exercise]:
    """The exercises of a lesson, in the order they appear in it.

    In the graded edition (see :mod:`mlcourse.exercises.edition`) there is no
    answer key: the exercises come from the edition, with their public tests only.
    """
    if edition.installed():
        return edition.exercises_of(lesson_name)
    return [v for v in vars(checks_module(lesson_name)).values() if isinstance(v, Exercise)]


def all_exercises() -> Iterator[tuple[str, Exercise]]:
    """Every lesson's exercises, in course order: ``(lesson, exercise)``."""
    for name in LESSONS:
        for ex in exercises_of(name):
            yield name, ex


def find(exercise_id: str) -> Exercise:
    """The exercise with this id, e.g. ``find("data.fingerprint")``."""
    try:
        lesson_name = lesson_of(exercise_id)
    except KeyError:
        raise KeyError(f"no exercise {exercise_id!r}") from None
    for ex in exercises_of(lesson_name):
        if ex.id == exercise_id:
            return ex
    raise KeyError(f"no exercise {exercise_id!r}")


def lesson_files(lesson_name: str) -> list[Path]:
    """Every file that defines a lesson's exercises (its package, and a checks module registered elsewhere)."""
    folder = Path(__file__).resolve().parent / LESSONS[lesson_name]
    files = sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    loaded = getattr(checks_module(lesson_name), "__file__", None)
    if isinstance(loaded, str) and Path(loaded).resolve() not in files:
        files.append(Path(loaded).resolve())
    if not files:
        raise ValueError(f"{package_name(lesson_name)} has no files")
    return files
