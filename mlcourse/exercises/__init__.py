"""Graded exercises: one small declarative definition per exercise.

In a lesson notebook::

    from mlcourse.exercises import lesson
    ex = lesson("01_data")
    ...
    ex.validate_schema.check()     # what is right or wrong, on which input
    ex.validate_schema.hint()      # one more hint each call
    ex.validate_schema.solution()  # one correct answer, only when asked
    ex.progress()                  # this lesson's exercises and their status

Each lesson's exercises live in ``mlcourse/exercises/<module>.py``; the grader
uses these very definitions.
"""
from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

from mlcourse.exercises.engine import Exercise

# Lesson notebook (stem) -> module holding its exercise definitions, in course order.
LESSONS: dict[str, str] = {
    "00_lifecycle_overview": "overview",
    "01_data": "data",
    "02_train": "train",
    "03_deploy": "deploy",
    "04_monitor": "monitor",
    "05_end_to_end": "end_to_end",
    "06_interview_prep": "interview",
}

_current: list[str] = []


def _module(lesson_name: str):
    if lesson_name not in LESSONS:
        known = ", ".join(LESSONS)
        raise ValueError(f"unknown lesson {lesson_name!r}; the lessons are: {known}")
    return importlib.import_module(f"mlcourse.exercises.{LESSONS[lesson_name]}")


def exercises_of(lesson_name: str) -> list[Exercise]:
    """The exercises of a lesson, in the order they appear in it."""
    mod = _module(lesson_name)
    return [v for v in vars(mod).values() if isinstance(v, Exercise)]


def all_exercises() -> Iterator[tuple[str, Exercise]]:
    for name in LESSONS:
        for ex in exercises_of(name):
            yield name, ex


def find(exercise_id: str) -> Exercise:
    """The exercise with this id, e.g. ``find("data.fingerprint")``."""
    prefix = exercise_id.split(".", 1)[0]
    for name, module in LESSONS.items():
        if module == prefix:
            for ex in exercises_of(name):
                if ex.id == exercise_id:
                    return ex
    raise KeyError(f"no exercise {exercise_id!r}")


def lesson_of(exercise_id: str) -> str:
    prefix = exercise_id.split(".", 1)[0]
    for name, module in LESSONS.items():
        if module == prefix:
            return name
    raise KeyError(f"no lesson holds exercise {exercise_id!r}")


class Lesson:
    """A lesson's exercises by short name: ``ex.fingerprint.check()``."""

    def __init__(self, name: str) -> None:
        self.name = name
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
        from mlcourse.exercises.engine import points_text

        items = "\n".join(f"  ex.{e.short}: {e.title} ({points_text(e.points)})" for e in self)
        return f"Lesson {self.name} with {len(self._exercises)} exercises:\n{items}"


def lesson(name: str) -> Lesson:
    """Load a lesson's exercises; this lesson becomes the one ``progress()`` shows."""
    result = Lesson(name)
    _current[:] = [name]
    return result


def solution_source(exercise_id: str) -> str:
    """One correct answer, read from the lesson's solutions notebook."""
    from mlcourse.exercises import notebook

    path = notebook.lesson_path(lesson_of(exercise_id), "solutions")
    cell = notebook.find_answer_cell(notebook.read(path), exercise_id)
    if cell is None:
        raise KeyError(f"{path} has no answer cell for {exercise_id}")
    return notebook.solution_text(notebook.source(cell))


def progress_table(lesson_name: str | None = None) -> list[dict[str, Any]]:
    """Rows of (lesson, exercise, title, status, score, points, hints) as plain dicts."""
    from mlcourse.exercises import store

    data = store.load()
    names = [lesson_name] if lesson_name else list(LESSONS)
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
    """Print the exercises of a lesson (default: the current one) and their status."""
    from mlcourse.exercises.engine import _ICONS

    lesson_name = lesson_name or (_current[0] if _current else None)
    if lesson_name is None:
        for name in LESSONS:
            progress(name)
        return
    rows = progress_table(lesson_name)
    done = sum(1 for r in rows if r["status"] == "passed")
    score = sum(r["score"] for r in rows)
    total = sum(r["points"] for r in rows)
    width = 20
    filled = int(round(width * (score / total))) if total else 0
    title = lesson_name or "all lessons"
    print(f"Progress in {title}: {done}/{len(rows)} exercises passed, {score:g}/{total:g} points")
    print("[" + "#" * filled + "." * (width - filled) + "]")
    for r in rows:
        extra = f", {r['hints']} hint(s)" if r["hints"] else ""
        extra += ", solution viewed" if r["solution viewed"] else ""
        print(f" {_ICONS.get(r['status'], '?')} {r['exercise']:<28} {r['score']:>4g}/{r['points']:<3g} {r['status']}{extra}")
