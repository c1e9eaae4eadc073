"""Lesson 03's checks decide the same on every secret seed.

Every exercise's solution, its correct alternatives and its typical wrong answers (tests/exercises/deploy_answers.py)
are run on 30 seeds each, as the grader would draw them, every answer in a fresh namespace holding only the lesson's
imports. A right answer gets full marks on every seed; a wrong one gets the same status, the same score, the same
verdict on each test and the message that names its mistake on every seed: no boundary case is left to a draw.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlcourse.exercises import find
from mlcourse.exercises import notebook as nbio
from mlcourse.exercises.engine import ERROR, FAILED, PASSED
from mlcourse.exercises.testing import module_from_file

answers = module_from_file(Path(__file__).with_name("deploy_answers.py"))

#: Seeds drawn the way the grader's are (63-bit), fixed here so a failure can be replayed.
SEEDS = [int(s) for s in np.random.default_rng(20261204).integers(0, 2**63, size=30)]


def _solutions() -> dict[str, str]:
    nb = nbio.read(nbio.lesson_path("03_deploy", "solutions"))
    return {ex_id: nbio.without_markers(nbio.source(cell)) for _, cell, ex_id in nbio.answer_cells(nb)}


def _compiled(source: str):
    # As a notebook cell compiles it: without this module's `from __future__ import annotations` (pydantic and
    # FastAPI read the annotations of the learner's code).
    return compile(source, "<answer cell>", "exec", dont_inherit=True)


@pytest.fixture(scope="module")
def prelude() -> dict:
    namespace: dict = {}
    exec(_compiled(answers.PRELUDE), namespace)
    return namespace


def _verdicts(ex_id: str, source: str, prelude: dict) -> list:
    ex = find(ex_id)
    out = []
    for seed in SEEDS:
        namespace = dict(prelude)
        exec(_compiled(source), namespace)
        r = ex.run(namespace, seed=seed)
        out.append((r.status, r.score, r.points, tuple(t.status for t in r.tests), r.message))
    return out


@pytest.mark.parametrize("ex_id", sorted(answers.BANK))
def test_right_answers_get_full_marks_on_every_seed(ex_id, prelude):
    alternatives, _ = answers.BANK[ex_id]
    for source in [_solutions()[ex_id], *alternatives]:
        for status, score, points, _, message in _verdicts(ex_id, source, prelude):
            assert status == PASSED and score == points, (message, source)


@pytest.mark.parametrize("ex_id", sorted(answers.BANK))
def test_wrong_answers_get_the_same_verdict_and_message_on_every_seed(ex_id, prelude):
    _, wrong = answers.BANK[ex_id]
    assert len(wrong) >= 3
    for w in wrong:
        verdicts = _verdicts(ex_id, w.source, prelude)
        assert len({v[:4] for v in verdicts}) == 1, (w.source, sorted({v[:4] for v in verdicts}))
        status, score, points, _, _ = verdicts[0]
        assert status in (FAILED, ERROR) and score < points, w.source
        missing = [m for *_, m in verdicts if w.says not in m]
        assert not missing, (w.says, missing[0])
