"""Lesson 00's checks decide the same on every seed: the solution, right answers in other
styles and typical wrong answers, each on 30 grader-like secret seeds."""
from __future__ import annotations

from pathlib import Path

import pytest

from mlcourse.exercises.testing import module_from_file, on_seeds, secret_seeds, solutions

ANSWERS = module_from_file(Path(__file__).with_name("answers_overview.py"))
SOLUTIONS = solutions("00_lifecycle_overview")
CASES = [
    *[(ex_id, "the solution", src, None) for ex_id, src in SOLUTIONS.items()],
    *[(ex_id, name, src, None) for ex_id, answers in ANSWERS.RIGHT.items() for name, src in answers.items()],
    *[(ex_id, name, src, frag) for ex_id, answers in ANSWERS.WRONG.items() for name, (src, frag) in answers.items()],
]


@pytest.mark.parametrize(("ex_id", "name", "source", "fragment"), CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_same_verdict_on_every_secret_seed(ex_id, name, source, fragment, expect):
    results = on_seeds(ex_id, source, secret_seeds(ex_id), prelude=ANSWERS.PRELUDE)
    expect.same_on_every_seed(results, fragment)
