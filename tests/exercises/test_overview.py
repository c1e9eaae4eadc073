"""Lesson 00 (lifecycle overview) exercises, tried inside the lesson itself: the learner's
stub, the solution, right answers written in other styles, and typical wrong answers with
the message each must get. The same answers on many seeds: test_overview_seeds.py.
The verdicts every lesson checks of its answer bank are in test_answer_banks.py; this module checks the
lesson's particular messages on the same walk."""
from __future__ import annotations

import re
from pathlib import Path

from mlcourse.exercises.engine import ERROR, FAILED
from mlcourse.exercises.overview.checks import ACTIVITIES, EDGE_NAMES
from mlcourse.exercises.testing import module_from_file

ANSWERS = module_from_file(Path(__file__).with_name("answers_overview.py"))
LESSON = "00_lifecycle_overview"


def test_stage_order_wrong_answers_earn_nothing(walked):
    assert all(r.score == 0 for r in walked["overview.stage_order"].wrong.values())


def test_activity_stage_names_one_misplaced_activity_and_how_many(walked):
    wrong = walked["overview.activity_stage"].wrong
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


def test_next_stage_partial_credit_and_messages(walked):
    wrong = walked["overview.next_stage"].wrong
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


def test_the_grader_agrees_with_the_notebook(walked, grade_typed):
    """The same answers, graded by `mlcourse grade` (secret seeds, sandboxed child), get the notebook's verdicts."""
    wrong_name = "the empty name unquoted"
    typed = {"overview.next_stage": ANSWERS.WRONG["overview.next_stage"][wrong_name][0]}
    graded = {r.exercise: r for r in grade_typed(LESSON, typed).results}
    in_notebook = {"overview.next_stage": walked["overview.next_stage"].wrong[wrong_name]}
    in_notebook.update({ex_id: walked[ex_id].tried.solution for ex_id in ("overview.stage_order", "overview.activity_stage")})
    for ex_id, mine in in_notebook.items():
        theirs = graded[ex_id]
        assert (theirs.status, theirs.score) == (str(mine.status), mine.score), ex_id
        assert _normalised(theirs.message) == _normalised(mine.message), ex_id
