"""The gradebook for a learning-management system: ``mlcourse gradebook DIR --csv FILE --wide``.

``gradebook.db`` holds one row per exercise per graded submission; an LMS wants
one row per learner. :func:`wide` pivots each learner's latest submission of
each lesson into one row:

``learner``, then for each lesson (in course order) a ``<lesson>`` column (the
lesson's score) followed by one ``<exercise id>`` column per exercise, then
``total``. A lesson the learner has not submitted is an empty cell, not 0, so
an LMS can tell "missing" from "scored 0"; a submitted notebook that could not
be graded scores 0. Maximum points are in the long export's ``max`` column.

Examples
--------
>>> rows = [
...     {"learner": "ann", "lesson": "01_data", "exercise": "data.a", "score": 2.0},
...     {"learner": "ann", "lesson": "01_data", "exercise": "data.b", "score": 0.5},
...     {"learner": "bob", "lesson": "01_data", "exercise": "data.a", "score": 1.0},
... ]
>>> columns, table = wide(rows)
>>> columns
['learner', '01_data', 'data.a', 'data.b', 'total']
>>> table[1]
{'learner': 'bob', '01_data': '1', 'data.a': '1', 'data.b': '', 'total': '1'}
"""
from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import IO

NOTEBOOK = "(notebook)"  # the gradebook's row for a notebook that could not be graded


def _num(x: float) -> str:
    return f"{round(float(x), 6):g}"


def _lesson_order(lessons: Iterable[str]) -> list[str]:
    try:
        from mlcourse.exercises import LESSONS

        known = list(LESSONS)
    except Exception:  # noqa: BLE001 - ordering only
        known = []
    return sorted(lessons, key=lambda name: (known.index(name) if name in known else len(known), name))


def wide(rows: Iterable[dict]) -> tuple[list[str], list[dict]]:
    """Pivot gradebook rows (each learner's latest submissions) to one row per learner."""
    lessons: dict[str, list[str]] = {}  # lesson -> its exercises, in notebook order
    scores: dict[str, dict[str, float]] = {}  # learner -> column -> score
    for row in rows:
        learner, lesson, exercise = str(row["learner"]), str(row["lesson"]), str(row["exercise"])
        cells = scores.setdefault(learner, {})
        exercises = lessons.setdefault(lesson, [])
        cells[lesson] = cells.get(lesson, 0.0) + float(row["score"] or 0.0)
        if exercise != NOTEBOOK:
            if exercise not in exercises:
                exercises.append(exercise)
            cells[exercise] = float(row["score"] or 0.0)
    # A file that was never a notebook of a known lesson has no exercise to show.
    lessons = {name: exs for name, exs in lessons.items() if exs}
    columns = ["learner"]
    for lesson in _lesson_order(lessons):
        columns += [lesson, *lessons[lesson]]
    columns.append("total")
    table = []
    for learner in sorted(scores):
        cells = scores[learner]
        line = {c: (_num(cells[c]) if c in cells else "") for c in columns[1:-1]}
        total = sum(cells.get(lesson, 0.0) for lesson in lessons)
        table.append({"learner": learner, **line, "total": _num(total)})
    return columns, table


def export_wide_csv(book, target: Path | IO[str], *, submissions: str | None = None) -> int:
    """Write the wide CSV of a :class:`~mlcourse.grading.results.Gradebook` to a file or a text stream;
    return the learner count (``submissions``: see :meth:`~mlcourse.grading.results.Gradebook.iter_rows`)."""
    columns, table = wide(book.scores(latest=True, submissions=submissions))
    if isinstance(target, Path):
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", newline="", encoding="utf-8") as fh:
            return _write(fh, columns, table)
    return _write(target, columns, table)


def _write(fh: IO[str], columns: list[str], table: list[dict]) -> int:
    writer = csv.DictWriter(fh, fieldnames=columns)
    writer.writeheader()
    writer.writerows(table)
    return len(table)
