"""Graded exercises: one small declarative definition per exercise.

In a lesson notebook::

    from mlcourse.exercises import lesson
    ex = lesson("01_data")
    ...
    ex.validate_schema.check()     # what is right or wrong, on which input
    ex.validate_schema.hint()      # one more hint each call
    ex.validate_schema.solution()  # one correct answer, only when asked
    ex.progress()                  # this lesson's exercises and their status

Each lesson's exercises live in a package ``mlcourse/exercises/<package>/``:
``probes.py`` (what the grading child runs) and ``checks.py`` (the
definitions with their references: the answer key, see
:mod:`mlcourse.exercises.catalog`). The grader uses these very definitions.

Inside a graded run (the grading child) the answer key is never loaded:
``lesson()`` gives stand-ins that know each exercise's answer name, and whose
``solution()``, ``hint()`` and ``progress()`` answer that they are not
available during grading.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlcourse.exercises.answer_key import answer_key_paths, protect_answer_key
from mlcourse.exercises.catalog import LESSONS, graded_run, lesson_of
from mlcourse.exercises.definitions import all_exercises, checks_module, exercises_of, find, lesson_files
from mlcourse.exercises.engine import Answer, Exercise, attempted, points_text
from mlcourse.exercises.notebook import solution_source

_current: list[str] = []


class GradedExercise:
    """An exercise as the grading child knows it: its id, title and answer, never its answer key."""

    def __init__(self, spec: dict) -> None:
        self.id = str(spec["id"])
        self.title = str(spec.get("title", self.id))
        answer = spec.get("answer", {})
        self.answer = Answer(str(answer.get("name", "")), str(answer.get("kind", "value")))

    @property
    def short(self) -> str:
        return self.id.split(".", 1)[-1]

    def check(self) -> None:
        print(f"{self.id}: during grading the grader checks this exercise itself.")

    def hint(self) -> None:
        print(f"Hints for {self.id} are {_not_now()}.")

    def solution(self) -> None:
        print(f"The solution of {self.id} is {_not_now()}.")

    def attempted(self) -> bool:
        import sys

        return attempted(self.answer.name, sys._getframe(1).f_globals)

    def __repr__(self) -> str:
        return f"<Exercise {self.id}: {self.title} (graded run)>"


def _not_now() -> str:
    from mlcourse.exercises.catalog import NOT_DURING_GRADING

    return NOT_DURING_GRADING


class Lesson:
    """A lesson's exercises by short name: ``ex.fingerprint.check()``."""

    def __init__(self, name: str) -> None:
        self.name = name
        if graded_run():
            from mlcourse.exercises.catalog import graded_specs

            prefix = LESSONS.get(name, "") + "."
            stand_ins = [GradedExercise(s) for s in graded_specs() if str(s.get("id", "")).startswith(prefix)]
            self._exercises: dict[str, Any] = {e.short: e for e in stand_ins}
        else:
            self._exercises = {e.short: e for e in exercises_of(name)}

    def __getattr__(self, item: str) -> Exercise:
        try:
            return self.__dict__["_exercises"][item]
        except KeyError:
            names = ", ".join(self.__dict__.get("_exercises", {}))
            raise AttributeError(f"lesson {self.__dict__.get('name')} has no exercise {item!r}; it has: {names}") from None

    def __dir__(self) -> list[str]:
        return [*self._exercises, "progress"]

    def __iter__(self) -> Iterator[Exercise]:
        return iter(self._exercises.values())

    def progress(self) -> None:
        progress(self.name)

    def __repr__(self) -> str:
        if graded_run():
            return f"Lesson {self.name} (graded run) with {len(self._exercises)} exercises"
        items = "\n".join(f"  ex.{e.short}: {e.title} ({points_text(e.points)})" for e in self)
        return f"Lesson {self.name} with {len(self._exercises)} exercises:\n{items}"


def _lessons() -> list[str]:
    """The lessons this installation checks: all of them, or the graded edition's."""
    from mlcourse.exercises import edition

    return edition.lessons() if edition.installed() else list(LESSONS)


def lesson(name: str) -> Lesson:
    """Load a lesson's exercises; this lesson becomes the one ``progress()`` shows.

    In a notebook it also starts watching the answer cells' runs (see
    :mod:`mlcourse.exercises.cells`), so a check knows when its answer cell
    last failed.
    """
    result = Lesson(name)
    _current[:] = [name]
    if not graded_run():
        from mlcourse.exercises import cells

        cells.watch(answers={e.id: e.answer.name for e in result})
    return result


def progress_table(lesson_name: str | None = None) -> list[dict[str, Any]]:
    """Rows of (lesson, exercise, title, status, score, points, hints) as plain dicts."""
    from mlcourse.exercises import store

    data = store.load()
    names = [lesson_name] if lesson_name else _lessons()
    rows = []
    for name in names:
        for ex in exercises_of(name):
            entry = data.get(ex.id, {})
            rows.append(
                {
                    "lesson": name,
                    "exercise": ex.id,
                    "title": ex.title,
                    "status": entry.get("status", "not attempted"),
                    "score": float(entry.get("score", 0.0)),
                    "points": float(ex.points),
                    "hints": int(entry.get("hints_shown", 0)),
                    "solution viewed": bool(entry.get("solution_viewed", False)),
                }
            )
    return rows


def progress(lesson_name: str | None = None) -> None:
    """Show the exercises of a lesson (default: the current one; every lesson without one) and their status."""
    from mlcourse.exercises import feedback

    if graded_run():
        print(f"Progress is {_not_now()}.")
        return
    lesson_name = lesson_name or (_current[0] if _current else None)
    if lesson_name is None:
        for name in _lessons():
            progress(name)
        return
    feedback.show(feedback.progress_view(lesson_name, progress_table(lesson_name)))


__all__ = [
    "LESSONS", "Exercise", "GradedExercise", "Lesson", "all_exercises", "answer_key_paths", "checks_module",
    "exercises_of", "find", "graded_run", "lesson", "lesson_files", "lesson_of", "progress", "progress_table",
    "protect_answer_key", "solution_source",
]
