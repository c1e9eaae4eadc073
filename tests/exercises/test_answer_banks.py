"""Each lesson's answer bank tried inside the lesson: the learner's stub is not attempted, the solution and the right
answers written in other styles get full marks, and every typical wrong answer fails with the message that names its
mistake. The banks (answers and expected messages) are the lessons' own files; each lesson's test module checks its
particular messages on the same walk (``walk_bank`` walks a lesson once per session)."""
from __future__ import annotations

from pathlib import Path

import pytest

from mlcourse.exercises import exercises_of
from mlcourse.exercises.testing import module_from_file

BANKS = {
    lesson: module_from_file(Path(__file__).with_name(name))
    for lesson, name in (("00_lifecycle_overview", "answers_overview.py"), ("01_data", "answers_data.py"),
                         ("04_monitor", "answers_monitor.py"), ("06_interview_prep", "answers_interview.py"))
}
CASES = [(lesson, ex_id) for lesson, bank in BANKS.items() for ex_id in sorted(bank.WRONG)]


@pytest.mark.parametrize("lesson", sorted(BANKS))
def test_every_exercise_of_the_lesson_is_tried(walk_bank, lesson):
    bank = BANKS[lesson]
    walked = walk_bank(lesson, bank)
    assert set(walked) == {e.id for e in exercises_of(lesson)} == set(bank.WRONG) == set(bank.RIGHT)
    for ex_id in bank.WRONG:
        assert len(bank.RIGHT[ex_id]) >= 2 and len(bank.WRONG[ex_id]) >= 3, ex_id


@pytest.mark.parametrize(("lesson", "ex_id"), CASES)
def test_stub_is_not_attempted_and_solution_gets_full_marks(walk_bank, lesson, ex_id, expect):
    expect.stub_then_solution(walk_bank(lesson, BANKS[lesson])[ex_id].tried)


@pytest.mark.parametrize(("lesson", "ex_id"), CASES)
def test_right_answers_in_other_styles_get_full_marks(walk_bank, lesson, ex_id, expect):
    right = walk_bank(lesson, BANKS[lesson])[ex_id].right
    assert len(right) >= 2
    expect.full_marks(right)


@pytest.mark.parametrize(("lesson", "ex_id"), CASES)
def test_wrong_answers_fail_with_their_message(walk_bank, lesson, ex_id, expect):
    walked = walk_bank(lesson, BANKS[lesson])[ex_id]
    assert len(walked.wrong) >= 3
    for name, result in walked.wrong.items():
        told = walked.expected[name]
        expect.told(result, told.says, statuses=told.statuses, score=told.score, name=name)
