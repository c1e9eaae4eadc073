"""Lesson 03 through the grader: ``mlcourse grade``'s pipeline gives the verdict the notebook check gives.

One submission, the solutions notebook with four answer cells replaced by typical wrong answers (from
tests/exercises/deploy_answers.py, each wrong on every seed), is graded in the sandbox on a secret seed. Every
exercise gets the status and score the in-notebook check gives the same answer, and the wrong ones the message
that names their mistake.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlcourse.exercises import exercises_of
from mlcourse.exercises import notebook as nbio
from mlcourse.exercises.testing import module_from_file
from mlcourse.grading.batch import Options, run
from mlcourse.grading.sandbox import Limits

answers = module_from_file(Path(__file__).with_name("deploy_answers.py"))

LESSON = "03_deploy"
#: exercise -> which typical wrong answer of the bank the submission holds
WRONG = {"deploy.pipeline_tests": 0, "deploy.promotion_gate": 4, "deploy.slice_gate": 1, "deploy.should_rollback": 3}


def _compiled(source: str):
    return compile(source, "<answer cell>", "exec", dont_inherit=True)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grade03")
    nb = nbio.read(nbio.lesson_path(LESSON, "solutions"))
    for _, cell, ex_id in nbio.answer_cells(nb):
        if ex_id in WRONG:
            cell["source"] = answers.BANK[ex_id][1][WRONG[ex_id]].source
    target = root / "subs" / "learner" / f"{LESSON}.ipynb"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(nb))
    report = run(Options(paths=[root / "subs"], out=root / "out", jobs=1, limits=Limits(cell_timeout=120), progress=False))
    (outcome,) = report.outcomes
    assert outcome.graded is not None and outcome.graded.error is None
    return {r.exercise: r for r in outcome.graded.results}


def test_the_grader_gives_the_notebook_checks_verdict(graded):
    prelude: dict = {}
    exec(_compiled(answers.PRELUDE), prelude)
    assert set(graded) == {ex.id for ex in exercises_of(LESSON)}
    for ex in exercises_of(LESSON):
        wrong = answers.BANK[ex.id][1][WRONG[ex.id]] if ex.id in WRONG else None
        ns = dict(prelude)
        exec(_compiled(wrong.source if wrong else nbio.solution_source(ex.id)), ns)
        mine, theirs = ex.run(ns), graded[ex.id]
        assert (theirs.status, theirs.score, theirs.points) == (mine.status, mine.score, mine.points), (
            ex.id, theirs.message, mine.message)
        if wrong:
            assert mine.status in ("failed", "error") and mine.score < mine.points
            assert wrong.says in theirs.message and wrong.says in mine.message
        else:
            assert mine.status == "passed" and mine.score == mine.points
