"""Lesson 00's checks decide the same on every seed: the solution, right answers in other
styles and typical wrong answers, each on 30 grader-like secret seeds."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from mlcourse.exercises import notebook
from mlcourse.exercises.engine import PASSED
from mlcourse.exercises.testing import on_seeds, secret_seeds


def _answers():
    spec = importlib.util.spec_from_file_location("mlcourse_tests_answers_overview", Path(__file__).with_name("answers_overview.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ANSWERS = _answers()
SOLUTIONS = {
    ex_id: notebook.without_markers(notebook.source(cell))
    for _, cell, ex_id in notebook.answer_cells(notebook.read(notebook.lesson_path("00_lifecycle_overview", "solutions")))
}
CASES = [
    *[(ex_id, "the solution", src, None) for ex_id, src in SOLUTIONS.items()],
    *[(ex_id, name, src, None) for ex_id, answers in ANSWERS.RIGHT.items() for name, src in answers.items()],
    *[(ex_id, name, src, frag) for ex_id, answers in ANSWERS.WRONG.items() for name, (src, frag) in answers.items()],
]


@pytest.mark.parametrize(("ex_id", "name", "source", "fragment"), CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_same_verdict_on_every_secret_seed(ex_id, name, source, fragment):
    results = on_seeds(ex_id, source, secret_seeds(ex_id), prelude=ANSWERS.PRELUDE)
    verdicts = {(r.status, r.score, tuple(t.status for t in r.tests)) for r in results}
    assert len(verdicts) == 1, sorted(verdicts)
    first = results[0]
    if fragment is None:
        assert first.status == PASSED and first.score == first.points, first.message
    else:
        assert first.status != PASSED and first.score < first.points
        assert all(fragment in r.message for r in results), [r.message for r in results if fragment not in r.message][:1]
