"""Lesson 01's checks decide the same on every seed: the solution, right answers in other
styles and typical wrong answers, each on 30 grader-like secret seeds.

Every answer of the cheap exercises runs on 30 seeds. The four whose checks fit models or
move large frames (the join, cleaning, fingerprint and leak exercises) run the solution,
every right answer and their first four wrong answers on 30 seeds, and their other wrong
answers on 8, which keeps this file near a minute and a half of CPU time.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from mlcourse.exercises.testing import module_from_file, on_seeds, secret_seeds, solutions

ANSWERS = module_from_file(Path(__file__).with_name("answers_data.py"))
SEEDS, FEWER_SEEDS, CORE_WRONG = 30, 8, 4
HEAVY = {"data.join_sources", "data.clean_transactions", "data.fingerprint", "data.leak_auc"}
SOLUTIONS = solutions("01_data")


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
def test_same_verdict_on_every_secret_seed(ex_id, name, source, fragment, n_seeds, expect):
    results = on_seeds(ex_id, source, secret_seeds(ex_id, n_seeds), prelude=ANSWERS.PRELUDE)
    expect.same_on_every_seed(results, fragment)
