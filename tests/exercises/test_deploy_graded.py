"""Lesson 03 in the graded edition: every exercise has public tests, and they judge as the full definitions do.

The edition is released for real (``mlcourse release --edition graded 03_deploy``), its wheel unzipped, and the
solution and the typical wrong answers of tests/exercises/deploy_answers.py checked from it in a separate Python
whose ``mlcourse`` is the unzipped one (no checks.py, no solutions notebook). Each public test must give the status,
and for a verdict that needs no stored value the very message, that the full definition gives.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlcourse.exercises import exercises_of
from mlcourse.exercises import notebook as nbio
from mlcourse.exercises.testing import module_from_file
from mlcourse.release import without_public_tests

answers = module_from_file(Path(__file__).with_name("deploy_answers.py"))

LESSON = "03_deploy"

@pytest.fixture(scope="module")
def site(release_graded):
    return release_graded(LESSON, 10)


def test_every_exercise_of_the_lesson_marks_a_public_test():
    assert without_public_tests([LESSON]) == []
    for ex in exercises_of(LESSON):
        assert ex.public_tests, ex.id
        # A public test awards points on fresh inputs in the grader: its inputs are drawn, never the example alone.
        assert all(ex.tests[i].inputs is not None for i in ex.public_tests), ex.id


def _same(message: str) -> str:
    """A message's diagnosis: without what depends on the run's temporary folder (the hash of a path, the path
    itself), the inputs it ends with (the edition stores a record's keys sorted), and counts (a router that draws
    at random sends a different number of users each time)."""
    message = message.split(" [", 1)[0]
    message = re.sub(r"[0-9a-f]{12}\.\.\.", "<digest>...", re.sub(r"/\S*/", "<folder>/", message))
    return re.sub(r"\d+", "<n>", message)


def _compiled(source: str):
    return compile(source, "<answer cell>", "exec", dont_inherit=True)


def test_public_tests_in_the_graded_edition_judge_as_the_full_definitions(site, run_in_edition):
    tries = {ex.id: [nbio.solution_source(ex.id), *(w.source for w in answers.BANK[ex.id][1])]
             for ex in exercises_of(LESSON)}
    got = run_in_edition(site, LESSON, answers.PRELUDE, tries)
    prelude: dict = {}
    exec(_compiled(answers.PRELUDE), prelude)
    for ex in exercises_of(LESSON):
        public = [ex.tests[i].name for i in ex.public_tests]
        caught = 0
        for k, (source, graded) in enumerate(zip(tries[ex.id], got[ex.id])):
            assert [t[0] for t in graded["tests"]] == public, ex.id
            if k == 0:  # the solution passes every public test
                assert graded["status"] == "passed", (ex.id, graded["tests"])
                continue
            ns = dict(prelude)
            exec(_compiled(source), ns)
            whole = {t.name: t for t in ex.run(ns).tests}
            for name, status, message in graded["tests"]:
                assert whole[name].status == status, (ex.id, source, name, message, whole[name].message)
                if status != "passed":
                    assert _same(message) == _same(whole[name].message), (ex.id, name)
                    assert "__plain__" not in message
            caught += graded["status"] != "passed"
        # The public tests can fail: some typical wrong answer fails one of them.
        assert caught >= 1, ex.id
