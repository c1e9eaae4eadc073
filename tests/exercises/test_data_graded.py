"""Lesson 01 in the graded edition: every exercise has public tests, which the released
edition runs from what it stored (inputs and expected values) with the same verdict as
the full definition: the solution passes them, wrong answers get the same message.

The edition is built as ``mlcourse release --edition graded`` builds it and read back
from its JSON text; the wheel-level checks (no answer key inside) are in
tests/test_release_graded.py.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlcourse.exercises import edition, exercises_of
from mlcourse.exercises.engine import PASSED
from mlcourse.exercises.testing import answer_namespace, module_from_file, solutions
from mlcourse.release import build_edition, without_public_tests

LESSON = "01_data"


ANSWERS = module_from_file(Path(__file__).with_name("answers_data.py"))
SOLUTIONS = solutions(LESSON)
#: Answers whose form is wrong, so that even a form check (leaky_columns' only public test) fails.
MALFORMED = {"data.leaky_columns": ('leaky_columns = "chargeback, chargeback_at"', "is one string")}


@pytest.fixture(scope="module")
def graded():
    """The lesson's exercises as the graded edition builds them from its stored JSON."""
    stored = json.loads(json.dumps(build_edition([LESSON], set())))
    return {e["id"]: edition._exercise(e, True) for e in stored["lessons"][LESSON]["exercises"]}


@pytest.fixture(scope="module")
def full():
    return {e.id: e for e in exercises_of(LESSON)}


def test_every_exercise_has_a_public_test_and_the_value_answer_a_weightless_form_check_last(full):
    assert without_public_tests([LESSON]) == []
    leaky = full["data.leaky_columns"]
    assert leaky.public_tests == [len(leaky.tests) - 1] and leaky.tests[-1].weight == 0


def _cases() -> list[tuple[str, str, str, str | None]]:
    cases = []
    for ex_id in sorted(SOLUTIONS):
        cases.append((ex_id, "the solution", SOLUTIONS[ex_id], None))
        for name, (src, fragment) in list(ANSWERS.WRONG[ex_id].items())[:3]:
            cases.append((ex_id, name, src, fragment))
        if ex_id in MALFORMED:
            cases.append((ex_id, "malformed", *MALFORMED[ex_id]))
    return cases


@pytest.fixture(scope="module")
def tried(graded, full):
    """Each case's result from the graded edition and from the full definition."""
    out = {}
    for ex_id, name, source, fragment in _cases():
        ours = graded[ex_id].run(answer_namespace(source, ANSWERS.PRELUDE))
        theirs = full[ex_id].run(answer_namespace(source, ANSWERS.PRELUDE))
        out[ex_id, name] = (ours, theirs, fragment)
    return out


def test_public_tests_decide_as_the_full_definition_does(tried, full):
    for (ex_id, name), (ours, theirs, _) in tried.items():
        whole = {t.name: t for t in theirs.tests}
        assert [t.name for t in ours.tests] == [full[ex_id].tests[i].name for i in full[ex_id].public_tests]
        for t in ours.tests:
            assert (t.status, t.message) == (whole[t.name].status, whole[t.name].message), (ex_id, name, t.name)


def test_the_solution_passes_the_public_tests(tried):
    for ex_id in SOLUTIONS:
        ours = tried[ex_id, "the solution"][0]
        assert ours.status == PASSED, (ex_id, ours.message)


def test_wrong_answers_fail_the_public_tests_of_every_exercise(tried):
    """The public checks are not a formality: for each exercise some typical wrong answer fails them, with its
    message."""
    for ex_id in SOLUTIONS:
        failed = [(ours, fragment) for (e, name), (ours, _, fragment) in tried.items()
                  if e == ex_id and fragment is not None and ours.status != PASSED]
        assert failed, ex_id
        assert any(fragment in ours.message for ours, fragment in failed), (ex_id, [o.message for o, _ in failed])
