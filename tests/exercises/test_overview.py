"""Lesson 00 (lifecycle overview) exercises, each tried three ways inside the lesson itself:
the learner's stub, the solution, and typical wrong answers."""
from __future__ import annotations

import pytest

from mlcourse.exercises import exercises_of
from mlcourse.exercises.engine import ERROR, FAILED, NOT_ATTEMPTED, PASSED
from mlcourse.exercises.overview.checks import ACTIVITIES

SOLUTION_DICT = {activity: stage for activity, (stage, _why) in ACTIVITIES.items()}


def _with(**changes: str) -> str:
    """An activity_stage answer: the right dict with some activities moved (keys with spaces via **{})."""
    mapping = dict(SOLUTION_DICT, **changes)
    return f"activity_stage = {mapping!r}"


def _renamed(old: str, new: str) -> str:
    mapping = {(new if k == old else k): v for k, v in SOLUTION_DICT.items()}
    return f"activity_stage = {mapping!r}"


LIST_INDEX = '''
def next_stage(stage):
    order = ["Data", "Train", "Deploy", "Monitor"]
    return order[order.index(stage) + 1]
'''
DICT_GET_WITHOUT_MONITOR = '''
def next_stage(stage):
    return {"Data": "Train", "Train": "Deploy", "Deploy": "Monitor"}.get(stage)
'''
STOPS_AT_MONITOR = '''
def next_stage(stage):
    order = ["Data", "Train", "Deploy", "Monitor"]
    return order[min(order.index(stage) + 1, len(order) - 1)]
'''
BACKWARDS = '''
def next_stage(stage):
    order = ["Data", "Train", "Deploy", "Monitor"]
    return order[(order.index(stage) - 1) % len(order)]
'''
FULL_DICT_LOOKUP = '''
def next_stage(stage):
    return {"Data": "Train", "Train": "Deploy", "Deploy": "Monitor", "Monitor": "Data"}[stage]
'''
SILENT_ON_UNKNOWN = '''
def next_stage(stage):
    return {"Data": "Train", "Train": "Deploy", "Deploy": "Monitor", "Monitor": "Data"}.get(stage)
'''
VAGUE_ERROR = '''
def next_stage(stage):
    order = ["Data", "Train", "Deploy", "Monitor"]
    if stage not in order:
        raise ValueError("bad input")
    return order[(order.index(stage) + 1) % 4]
'''
RETURNS_POSITION = '''
def next_stage(stage):
    order = ["Data", "Train", "Deploy", "Monitor"]
    return (order.index(stage) + 1) % 4
'''

WRONG = {
    "overview.stage_order": [
        "stages = ['Data', 'Train', 'Monitor', 'Deploy']",
        "stages = ['Data', 'Train', 'Monitor']",
        "stages = ['Data', 'Training', 'Deployment', 'Monitor']",
        "stages = ['data', 'train', 'deploy', 'monitor']",
        "stages = ['Monitor', 'Data', 'Train', 'Deploy']",
        "stages = ('Data', 'Train', 'Deploy', 'Monitor')",
        "stages = ['Data', 'Train', 'Deploy', 'Monitor', 'Feedback']",
        "stages = 'Data -> Train -> Deploy -> Monitor'",
    ],
    "overview.activity_stage": [
        _with(**{"drift detection": "Train"}),
        _with(**{"hyperparameter tuning": "Data", "canary rollout": "Monitor"}),
        _renamed("schema validation", "schema-validation"),
        _with(**{"load-testing the prediction API": "Deployment"}),
        "activity_stage = activities",
    ],
    "overview.next_stage": [
        LIST_INDEX,
        DICT_GET_WITHOUT_MONITOR,
        STOPS_AT_MONITOR,
        BACKWARDS,
        FULL_DICT_LOOKUP,
        SILENT_ON_UNKNOWN,
        VAGUE_ERROR,
        RETURNS_POSITION,
    ],
}


@pytest.fixture(scope="module")
def tried(tmp_path_factory):
    from mlcourse.exercises.testing import walk

    # The lesson reveals a hint, which is stored under $MLCOURSE_HOME. A module-scoped
    # fixture runs before the per-test isolated home exists, so give the walk its own:
    # otherwise it would write to the session's home, which nbval shares.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLCOURSE_HOME", str(tmp_path_factory.mktemp("overview-walk-home")))
        return walk("00_lifecycle_overview", WRONG)


def test_every_exercise_of_the_lesson_is_tried(tried):
    assert set(tried) == {e.id for e in exercises_of("00_lifecycle_overview")} == set(WRONG)


@pytest.mark.parametrize("ex_id", sorted(WRONG))
def test_stub_is_not_attempted_and_solution_gets_full_marks(tried, ex_id):
    t = tried[ex_id]
    assert t.stub.status == NOT_ATTEMPTED and t.stub.score == 0
    assert t.solution.status == PASSED and t.solution.score == t.solution.points


def test_stage_order_wrong_answers_are_named(tried):
    swapped, missing, long_names, lower, rotated, a_tuple, extra, one_string = tried["overview.stage_order"].wrong
    assert all(r.status == FAILED and r.score == 0 for r in tried["overview.stage_order"].wrong)
    assert "'Monitor' comes before 'Deploy'" in swapped.message
    assert "the list has no 'Deploy'" in missing.message
    assert "'Training' is not spelt the way the course names the stage: write 'Train'" in long_names.message
    assert "write 'Data' (names are case-sensitive)" in lower.message
    assert "right cycle, but it starts at 'Monitor'" in rotated.message
    assert "is a tuple; make it a list" in a_tuple.message
    assert "'Feedback' is not a stage" in extra.message and "arrow from Monitor back to Data" in extra.message
    assert "is one string" in one_string.message


def test_activity_stage_wrong_answers_are_named(tried):
    drift, two, typo, spelling, a_list = tried["overview.activity_stage"].wrong
    assert drift.status == FAILED and 0 < drift.score < drift.points
    assert "'drift detection' is under 'Train', but it belongs to Monitor" in drift.message
    assert drift.passed == 4  # only the Monitor test fails
    assert two.status == FAILED and two.passed == 3
    assert "'hyperparameter tuning' is under 'Data', but it belongs to Train" in two.message
    assert typo.status == FAILED
    assert "'schema validation' is missing from your dict (you have 'schema-validation'" in typo.message
    assert spelling.status == FAILED
    assert "for 'load-testing the prediction API': 'Deployment'" in spelling.message and "write 'Deploy'" in spelling.message
    assert a_list.status == FAILED and a_list.score == 0
    assert "should be a dict from activity to stage name, but it is a list" in a_list.message


def test_next_stage_wrong_answers_are_named(tried):
    index, get, stops, backwards, lookup, silent, vague, position = tried["overview.next_stage"].wrong
    assert index.status == ERROR and "IndexError" in index.message and "wrap around" in index.message
    assert 0 < index.score < index.points  # the three stages before Monitor still pass
    assert get.status == FAILED and "Monitor has a next stage too" in get.message
    assert "forget a `return`" not in get.message
    assert stops.status == FAILED and "does not end at Monitor" in stops.message
    assert backwards.status == FAILED and "stage *before* it" in backwards.message
    assert lookup.status == FAILED and lookup.passed == 5
    assert "raised KeyError; raise ValueError instead" in lookup.message
    assert silent.status == FAILED and "returned None; for a name that is not a stage, raise ValueError" in silent.message
    assert vague.status == FAILED and "does not name" in vague.message
    assert position.status == FAILED and position.passed == 1  # only the unknown name (ValueError from .index)
    assert "not its position" in position.message
