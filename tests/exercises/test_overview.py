"""Lesson 00 (lifecycle overview) exercises, tried inside the lesson itself: the learner's
stub, the solution, right answers written in other styles, and typical wrong answers with
the message each must get. The same answers on many seeds: test_overview_seeds.py."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlcourse.exercises import exercises_of
from mlcourse.exercises.engine import ERROR, FAILED
from mlcourse.exercises.overview.checks import ACTIVITIES, EDGE_NAMES
from mlcourse.exercises.testing import module_from_file

ANSWERS = module_from_file(Path(__file__).with_name("answers_overview.py"))
LESSON = "00_lifecycle_overview"


@pytest.fixture(scope="module")
def tried(tmp_path_factory):
    from mlcourse.exercises.testing import walk

    # The lesson reveals a hint, which is stored under $MLCOURSE_HOME. A module-scoped
    # fixture runs before the per-test isolated home exists, so give the walk its own:
    # otherwise it would write to the session's home, which nbval shares.
    answers = {
        ex_id: [*ANSWERS.RIGHT[ex_id].values(), *(src for src, _ in ANSWERS.WRONG[ex_id].values())]
        for ex_id in ANSWERS.WRONG
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLCOURSE_HOME", str(tmp_path_factory.mktemp("overview-walk-home")))
        walked = walk(LESSON, answers)
    out = {}
    for ex_id, t in walked.items():
        n_right = len(ANSWERS.RIGHT[ex_id])
        right = dict(zip(ANSWERS.RIGHT[ex_id], t.wrong[:n_right]))
        wrong = dict(zip(ANSWERS.WRONG[ex_id], t.wrong[n_right:]))
        out[ex_id] = (t, right, wrong)
    return out


def test_every_exercise_of_the_lesson_is_tried(tried):
    ids = {e.id for e in exercises_of(LESSON)}
    assert set(tried) == ids == set(ANSWERS.WRONG) == set(ANSWERS.RIGHT)


@pytest.mark.parametrize("ex_id", sorted(ANSWERS.WRONG))
def test_stub_is_not_attempted_and_solution_gets_full_marks(tried, ex_id, expect):
    expect.stub_then_solution(tried[ex_id][0])


@pytest.mark.parametrize("ex_id", sorted(ANSWERS.RIGHT))
def test_right_answers_in_other_styles_get_full_marks(tried, ex_id, expect):
    right = tried[ex_id][1]
    assert len(right) >= 2
    expect.full_marks(right)


@pytest.mark.parametrize("ex_id", sorted(ANSWERS.WRONG))
def test_wrong_answers_fail_with_their_message(tried, ex_id, expect):
    wrong = tried[ex_id][2]
    assert len(wrong) >= 3
    for name, result in wrong.items():
        expect.told(result, [ANSWERS.WRONG[ex_id][name][1]], name=name)


def test_stage_order_wrong_answers_earn_nothing(tried):
    assert all(r.score == 0 for r in tried["overview.stage_order"][2].values())


def test_activity_stage_names_one_misplaced_activity_and_how_many(tried):
    wrong = tried["overview.activity_stage"][2]
    one = wrong["drift under Train"]
    assert one.passed == 4 and 0 < one.score < one.points  # only the Monitor test fails
    assert "of the 12 activities" not in one.message  # one misplaced: no count
    everything = wrong["everything under Data"]
    assert everything.status == FAILED
    # Graded feedback never places every activity: one is named, the others are counted.
    named = [a for a in ACTIVITIES if repr(a) in everything.message]
    assert len(named) == 1, everything.message
    assert wrong["two moved"].passed == 3
    assert wrong["the list itself"].score == 0


def test_next_stage_partial_credit_and_messages(tried):
    wrong = tried["overview.next_stage"][2]
    runs_off = wrong["runs off the end"]
    assert runs_off.status == ERROR and "IndexError" in runs_off.message
    assert 0 < runs_off.score < runs_off.points  # the three stages before Monitor still pass
    assert "forget a `return`" not in wrong["no entry for Monitor"].message
    assert wrong["a KeyError"].passed == 5  # every stage, the random sequence; not the bad names
    assert wrong["the position"].passed == 1  # only the bad names (ValueError from .index)
    # The empty name is in every draw: a message without quotes fails on it alone.
    unquoted = wrong["the empty name unquoted"]
    assert unquoted.passed == len(unquoted.tests) - 1 and "next_stage('')" in unquoted.message


def test_bad_names_are_the_same_edges_on_every_draw():
    import numpy as np

    from mlcourse.exercises.overview.checks import bad_names, random_stages

    for seed in range(50):
        names = bad_names(np.random.default_rng(seed))
        assert names[: len(EDGE_NAMES)] == list(EDGE_NAMES) and "" in names
        assert len(set(names)) == len(names) and not set(names) & {"Data", "Train", "Deploy", "Monitor"}
        assert {"Data", "Train", "Deploy", "Monitor"} <= set(random_stages(np.random.default_rng(seed)))


def _normalised(message: str) -> str:
    """A message with its numbers and quoted names blanked: what may differ from one seed to another."""
    return re.sub(r"\d+", "#", message)


def test_the_grader_agrees_with_the_notebook(tried, grade_typed):
    """The same answers, graded by `mlcourse grade` (secret seeds, sandboxed child), get the notebook's verdicts."""
    wrong_name = "the empty name unquoted"
    typed = {"overview.next_stage": ANSWERS.WRONG["overview.next_stage"][wrong_name][0]}
    graded = {r.exercise: r for r in grade_typed(LESSON, typed).results}
    in_notebook = {"overview.next_stage": tried["overview.next_stage"][2][wrong_name]}
    in_notebook.update({ex_id: tried[ex_id][0].solution for ex_id in ("overview.stage_order", "overview.activity_stage")})
    for ex_id, mine in in_notebook.items():
        theirs = graded[ex_id]
        assert (theirs.status, theirs.score) == (str(mine.status), mine.score), ex_id
        assert _normalised(theirs.message) == _normalised(mine.message), ex_id
