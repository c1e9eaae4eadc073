"""Bounded judging (:mod:`mlcourse.grading.judge`): the learner's data cannot stall or swell the grader."""
from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import pytest

from mlcourse.exercises.engine import ERROR, PASSED
from mlcourse.grading.judge import Judges
from mlcourse.grading.limits import Limits

LESSON = "98_judged"


@pytest.fixture(scope="module")
def echo():
    from mlcourse import exercises

    name = "mlcourse_grading_judge_lesson"
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("judge_lesson.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    mp = pytest.MonkeyPatch()
    mp.setitem(exercises.LESSONS, LESSON, "judged")
    mp.setitem(sys.modules, "mlcourse.exercises.judged.checks", module)
    yield module.ECHO
    mp.undo()
    sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def judges():
    judges = Judges(Limits(judge_seconds=3, judge_memory_mb=256))
    yield judges
    judges.close()


def _probe(ex, word):
    # The plain data the grading child sends back for this answer.
    return ex.probe({"word": word}, ex.make_inputs(1))


def test_a_worker_gives_the_same_verdict_as_the_exercise_itself(echo, judges):
    for word in ("right", "wrong"):
        inputs = echo.make_inputs(1)
        here = echo.judge(_probe(echo, word), inputs)
        there = judges.judge(echo, LESSON, 1, _probe(echo, word))
        assert (there.status, there.score, there.message) == (here.status, here.score, here.message)
    assert there.status != PASSED and "expected 'right', got 'wrong'" in there.message


def test_a_verdict_that_never_ends_is_cut_off_and_the_next_one_is_judged(echo, judges):
    t0 = time.monotonic()
    result = judges.judge(echo, LESSON, 1, _probe(echo, "spin"))
    assert time.monotonic() - t0 < 60  # bounded: a generous bound, not a speed claim
    assert result.status == ERROR and result.score == 0
    assert "took longer than the grader allows (3 s)" in result.message
    started = judges.started
    after = judges.judge(echo, LESSON, 1, _probe(echo, "right"))
    assert after.status == PASSED and judges.started == started + 1  # the stuck worker was replaced


def test_a_verdict_that_swells_fails_in_its_worker_not_in_the_grader(echo, judges):
    result = judges.judge(echo, LESSON, 1, _probe(echo, "grow"))
    assert result.status == ERROR and result.score == 0
    assert "more memory than the grader allows (256 MB)" in result.message or "stopped the grader's checking" in result.message
    assert judges.judge(echo, LESSON, 1, _probe(echo, "right")).status == PASSED


def test_the_submission_deadline_bounds_judging_too(echo, judges):
    result = judges.judge(echo, LESSON, 1, _probe(echo, "spin"), deadline=time.monotonic() + 0.5)
    assert result.status == ERROR and "took longer than the grader allows (0.5 s)" in result.message


def test_limits_name_the_judging_bounds():
    assert Limits().judge_seconds == 30 and Limits().judge_memory_mb == 1024
