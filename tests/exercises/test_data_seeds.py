"""Lesson 01's checks decide the same on every seed: the solution, right answers in other
styles and typical wrong answers, each on 30 grader-like secret seeds.

Every answer of the cheap exercises runs on 30 seeds. The four whose checks fit models or
move large frames (the join, cleaning, fingerprint and leak exercises) run the solution,
every right answer and their first four wrong answers on 30 seeds, and their other wrong
answers on 8, which keeps this file near a minute and a half of CPU time.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from mlcourse.exercises import notebook
from mlcourse.exercises.engine import PASSED
from mlcourse.exercises.testing import on_seeds, secret_seeds


def _answers():
    spec = importlib.util.spec_from_file_location("mlcourse_tests_answers_data", Path(__file__).with_name("answers_data.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ANSWERS = _answers()
SEEDS, FEWER_SEEDS, CORE_WRONG = 30, 8, 4
HEAVY = {"data.join_sources", "data.clean_transactions", "data.fingerprint", "data.leak_auc"}
SOLUTIONS = {
    ex_id: notebook.without_markers(notebook.source(cell))
    for _, cell, ex_id in notebook.answer_cells(notebook.read(notebook.lesson_path("01_data", "solutions")))
}


def _n_seeds(ex_id: str, rank: int) -> int:
    return FEWER_SEEDS if ex_id in HEAVY and rank >= CORE_WRONG else SEEDS


CASES = [
    *[(ex_id, "the solution", src, None, SEEDS) for ex_id, src in SOLUTIONS.items()],
    *[(ex_id, name, src, None, SEEDS) for ex_id, answers in ANSWERS.RIGHT.items() for name, src in answers.items()],
    *[
        (ex_id, name, src, frag, _n_seeds(ex_id, rank))
        for ex_id, answers in ANSWERS.WRONG.items()
        for rank, (name, (src, frag)) in enumerate(answers.items())
    ],
]


@pytest.mark.parametrize(("ex_id", "name", "source", "fragment", "n_seeds"), CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_same_verdict_on_every_secret_seed(ex_id, name, source, fragment, n_seeds):
    results = on_seeds(ex_id, source, secret_seeds(ex_id, n_seeds), prelude=ANSWERS.PRELUDE)
    verdicts = {(r.status, r.score, tuple(t.status for t in r.tests)) for r in results}
    assert len(verdicts) == 1, sorted(verdicts)
    first = results[0]
    if fragment is None:
        assert first.status == PASSED and first.score == first.points, first.message
    else:
        assert first.status != PASSED and first.score < first.points
        assert all(fragment in r.message for r in results), [r.message for r in results if fragment not in r.message][:1]
