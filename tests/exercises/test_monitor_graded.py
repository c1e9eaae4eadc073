"""Lesson 04 outside the notebook: the grader's verdicts, and the graded edition.

* ``mlcourse grade`` on a learner notebook with right and wrong answers gives each
  exercise the verdict the notebook's own check gives;
* ``mlcourse release --edition graded`` ships the lesson, and its public checks (the
  notebook's examples) judge as the full definitions do: the edition is released for
  real, its wheel unzipped, and the solution, a correct answer written differently and
  every typical wrong answer of ``answers_monitor.py`` checked from it in a separate
  Python whose ``mlcourse`` is the unzipped one.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from mlcourse.exercises import exercises_of
from mlcourse.exercises import notebook as nbio
from mlcourse.exercises.testing import module_from_file, walk

LESSON = "04_monitor"


A = module_from_file(Path(__file__).with_name("answers_monitor.py"))

# Wrong in form: the public check of the value answer (never how good the policies are) must catch it.
FORM_WRONG = {"monitor.backtest_policies": ['policies = [RetrainPolicy.scheduled(every_days=14)]',
                                            'policies = RetrainPolicy.scheduled(every_days=14)']}

@pytest.fixture(scope="module")
def site(release_graded):
    return release_graded(LESSON, 7)


def test_every_exercise_marks_a_public_test_that_earns_nothing_on_its_own():
    for ex in exercises_of(LESSON):
        assert ex.public_tests, ex.id
        hidden = [t for i, t in enumerate(ex.tests) if i not in ex.public_tests]
        assert hidden and sum(t.weight for t in hidden) > 0, ex.id
        if ex.id != "monitor.psi":  # psi's public test is a fresh-input returns() test with its points
            assert all(ex.tests[i].weight == 0 for i in ex.public_tests), ex.id
            assert ex.public_tests[-1] == len(ex.tests) - 1, ex.id  # placed last


def test_public_checks_pass_the_solution_and_catch_wrong_answers_as_the_full_definitions_do(site, run_in_edition):
    tries = {}
    for ex in exercises_of(LESSON):
        wrong = [w.source for w in A.WRONG[ex.id]] + FORM_WRONG.get(ex.id, [])
        tries[ex.id] = [nbio.solution_source(ex.id), A.RIGHT[ex.id][0], *wrong]
    got = run_in_edition(site, LESSON, A.PRELUDE, tries)
    for ex in exercises_of(LESSON):
        public = [ex.tests[i].name for i in ex.public_tests]
        statuses = []
        for source, graded in zip(tries[ex.id], got[ex.id]):
            ns: dict = {}
            exec(A.PRELUDE, ns)
            exec(source, ns)
            whole = {t.name: t for t in ex.run(ns).tests}
            assert [t[0] for t in graded["tests"]] == public, ex.id
            for name, status, message in graded["tests"]:
                assert whole[name].status == status, (ex.id, source, name, message)
                if ex.tests[[t.name for t in ex.tests].index(name)].reference is None or status == "passed":
                    assert whole[name].message == message
                assert "__plain__" not in message
            assert ".solution()" not in graded["render"]
            statuses.append(graded["status"])
        assert statuses[0] == statuses[1] == "passed", (ex.id, got[ex.id][0]["render"])
        assert "failed" in statuses[2:] or "error" in statuses[2:], ex.id  # the example catches a wrong answer


# One wrong answer in the learner's notebook (the errors counted in the latency percentiles); the rest solved.
WRONG_IN_NOTEBOOK = "monitor.latency_slo"


def test_the_grader_gives_the_notebooks_verdicts(grade_below_stub):
    wrong = A.WRONG[WRONG_IN_NOTEBOOK][0]
    graded = grade_below_stub(LESSON, {WRONG_IN_NOTEBOOK: wrong.source})
    tried = walk(LESSON, {WRONG_IN_NOTEBOOK: [wrong.source]})
    for ex in exercises_of(LESSON):
        mine = tried[ex.id].wrong[0] if ex.id == WRONG_IN_NOTEBOOK else tried[ex.id].solution
        assert (graded[ex.id]["extra_data"]["status"], graded[ex.id]["score"]) == (str(mine.status), mine.score), ex.id
    told = graded[WRONG_IN_NOTEBOOK]
    assert told["score"] < told["max_score"] and all(p in told["output"] for p in wrong.says), told["output"]
