"""Lesson 06 (interview preparation) exercises, each tried three ways inside the
lesson itself: the learner's stub, the solution, and typical wrong answers;
plus the question type's answer forms and the notebook showing every option."""
from __future__ import annotations

import re

import pytest

from mlcourse.exercises import exercises_of
from mlcourse.exercises import notebook as nbio
from mlcourse.exercises.engine import FAILED, NOT_ATTEMPTED, PASSED
from mlcourse.exercises.interview.checks import (
    QUESTIONS,
    after_deploy,
    model_comparison,
    retrain_steps,
    skew,
    star_answer,
)
from mlcourse.exercises.interview.review import STAGE_WORDS, stage_mentions
from mlcourse.exercises.testing import walk

# The solution cell runs before each wrong answer, so these may start from the model answer.
STAR_NO_MONITORING = 'star_answer = dict(star_answer, action=star_answer["action"][:3])'
STAR_VAGUE_RESULT = 'star_answer = dict(star_answer, result="Customers got their answers much sooner and the team was very happy.")'
STAR_KEYS_WRONG = (
    'star_answer = {"Situation": star_answer["situation"], "task": star_answer["task"], '
    '"actions": star_answer["action"]}'
)
STAR_ONE_STRING = 'star_answer = " ".join([star_answer["situation"], star_answer["task"], star_answer["result"]])'
STAR_MODEL_IS_NOT_TRAINING = '''
star_answer = dict(star_answer, action=(
    "I collected two years of resolved tickets and validated their labels. I picked the model that looked best "
    "and the model went into a container behind an API, and I set alerts on latency and drift so that we would "
    "know when the model needed attention."
))
'''
STAR_DATA_DRIFT_IS_NOT_DATA = '''
star_answer = dict(star_answer, action=(
    "I trained and tuned a gradient-boosted classifier with cross-validation, deployed it behind an API as a "
    "canary, and monitored data drift and latency with alerts, retraining every month on whatever came in."
))
'''

WRONG = {
    "interview.star_answer": [
        STAR_NO_MONITORING,
        STAR_VAGUE_RESULT,
        STAR_KEYS_WRONG,
        STAR_ONE_STRING,
        STAR_MODEL_IS_NOT_TRAINING,
        STAR_DATA_DRIFT_IS_NOT_DATA,
    ],
    "interview.after_deploy": [
        'answer_after_deploy = {"a", "b", "c"}',
        'answer_after_deploy = "ace"',
        'answer_after_deploy = set("abcdefgh")',
    ],
    "interview.retrain_triggers": [
        'answer_retrain = {"a", "b", "c", "d", "e"}',
        'answer_retrain = ["a", "c", "e"]',
    ],
    "interview.retrain_steps": [
        'answer_retrain_steps = ["b", "f", "a", "d", "g", "c", "e"]',
        'answer_retrain_steps = ["b", "d", "f", "a", "g", "e"]',
        'answer_retrain_steps = {"b", "d", "f", "a", "g", "c", "e"}',
    ],
    "interview.leakage": [
        'answer_leakage = {"a", "f"}',
        'answer_leakage = {"a", "b", "c", "d", "f"}',
        'answer_leakage = {"a", "c", "d", "e", "f"}',
    ],
    "interview.imbalanced_metric": [
        'answer_metric = {"a"}',
        'answer_metric = {"b", "c", "d", "e"}',
    ],
    "interview.model_comparison": [
        'answer_comparison = "a"',
        'answer_comparison = {"a", "b"}',
        'answer_comparison = "z"',
    ],
    "interview.skew": [
        'answer_skew = "a"',
        'answer_skew = "c"',
    ],
    "interview.rollout": [
        'answer_rollout = {"a", "b", "c"}',
        'answer_rollout = {"a", "b", "e", "f", "g"}',
    ],
    "interview.drift_kind": [
        'answer_drift = {"a", "b", "d", "e"}',
        'answer_drift = {"b", "c", "d", "e"}',
        "answer_drift = [1, 2]",
    ],
}


@pytest.fixture(scope="module")
def tried():
    return walk("06_interview_prep", WRONG)


def test_every_exercise_of_the_lesson_is_tried(tried):
    assert set(tried) == {e.id for e in exercises_of("06_interview_prep")} == set(WRONG)


@pytest.mark.parametrize("ex_id", sorted(WRONG))
def test_stub_is_not_attempted_and_solution_gets_full_marks(tried, ex_id):
    t = tried[ex_id]
    assert t.stub.status == NOT_ATTEMPTED and t.stub.score == 0
    assert t.solution.status == PASSED and t.solution.score == t.solution.points


@pytest.mark.parametrize("ex_id", sorted(WRONG))
def test_every_wrong_answer_fails(tried, ex_id):
    for r in tried[ex_id].wrong:
        assert r.status == FAILED and r.score < r.points, r.message


def test_star_wrong_answers_name_what_is_missing(tried):
    no_monitor, vague, keys, one_string, model_word, data_drift = tried["interview.star_answer"].wrong
    assert "your action never mentions monitoring" in no_monitor.message
    assert "never mentions data" not in no_monitor.message
    assert no_monitor.score == pytest.approx(4 * 5 / 6, abs=1e-3)  # five of six elements are there
    assert "your result has no number" in vague.message
    assert "your key 'Situation' should be spelt 'situation'" in keys.message
    assert "your key 'actions' should be spelt 'action'" in keys.message
    assert "your answer has no 'result' part" in keys.message
    assert "should be a dict with the keys" in one_string.message and one_string.score == 0
    assert "your action never mentions training" in model_word.message
    assert "your action never mentions data" in data_drift.message
    assert "never mentions monitoring" not in data_drift.message


def test_star_lists_every_problem_at_once(tried):
    keys = tried["interview.star_answer"].wrong[2]
    assert keys.message.startswith("On the four parts: ")
    assert re.search(r"\d things to fix:", keys.message)


def test_after_deploy_explains_each_wrong_choice_and_names_the_missed(tried):
    some, packed, everything = tried["interview.after_deploy"].wrong
    assert "1 of your choices does not belong and you missed 3 that belong" in some.message
    assert "(b) is wrong: offline evaluation describes the past" in some.message
    assert all(f"+ ({k})" in some.message for k in "efh")
    assert "one string holding several letters" in packed.message
    assert "(d) is wrong: you need it to retrain" in everything.message
    assert "(g) is wrong: tuning on yesterday's labels" in everything.message


def test_retrain_triggers_explain_the_distractors(tried):
    with_lint, no_schedule = tried["interview.retrain_triggers"].wrong
    assert "(b) is wrong: formatting changes neither the data nor the logic" in with_lint.message
    assert "(d) is wrong: a perfect training score is a symptom of overfitting" in with_lint.message
    assert "+ (h)" in with_lint.message and "scheduled retraining" in no_schedule.message


def test_retrain_steps_names_the_first_step_out_of_place(tried):
    early, no_canary, a_set = tried["interview.retrain_steps"].wrong
    assert "step 2 should be (d)" in early.message and "learn from broken data" in early.message
    assert "missing: (c)" in no_canary.message
    assert "a set has no order" in a_set.message


def test_leakage_explains_each_kind(tried):
    target_only, strong_feature, fold_encoding = tried["interview.leakage"].wrong
    assert "the scaler saw the test rows" in target_only.message and "split by time" in target_only.message
    assert "a strong predictor is not a leak" in strong_feature.message
    assert "the leak-free way" in fold_encoding.message


def test_metric_and_comparison_explanations(tried):
    accuracy, train_loss = tried["interview.imbalanced_metric"].wrong
    assert "never flags anything is 99.6 % accurate" in accuracy.message
    assert "training loss measures the fit to data the model has already seen" in train_loss.message
    higher, two, unknown = tried["interview.model_comparison"].wrong
    assert "well inside the fold-to-fold spread" in higher.message and "The best answer is (b)" in higher.message
    assert "one best answer, and you gave 2" in two.message
    assert "'z' is not one of the options" in unknown.message


def test_skew_rollout_and_drift_explanations(tried):
    drift, overfit = tried["interview.skew"].wrong
    assert "from the very first day" in drift.message
    assert "held-out test set" in overfit.message
    blue_green_5, shadow = tried["interview.rollout"].wrong
    assert "(c) is wrong: that describes a canary" in blue_green_5.message and "+ (e)" in blue_green_5.message
    assert "shadow deployment" in shadow.message
    campaign, fahrenheit, numbers = tried["interview.drift_kind"].wrong
    assert "(a) is wrong: data drift" in campaign.message
    assert "bake the bug in" in fahrenheit.message
    assert "holds a number" in numbers.message


# --------------------------------------------------------------------------
# The question type: answer forms, and the options the learner reads
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "given",
    [{"a", "c", "e", "f", "h"}, ["h", "f", "e", "c", "a"], ("A", " c", "(e)", "f)", "h"), ["a", "a", "c", "e", "f", "h"]],
)
def test_multi_choice_accepts_any_collection_of_letters(given):
    assert after_deploy.run({"answer_after_deploy": given}).status == PASSED


@pytest.mark.parametrize("given", ["b", "B", ["b"], ("b",), {"b"}])
def test_single_choice_accepts_a_letter_or_a_collection_of_one(given):
    assert skew.run({"answer_skew": given}).status == PASSED


def test_order_accepts_a_list_or_a_tuple():
    order = QUESTIONS["interview.retrain_steps"].order
    assert retrain_steps.run({"answer_retrain_steps": list(order)}).status == PASSED
    assert retrain_steps.run({"answer_retrain_steps": tuple(order)}).status == PASSED


def test_an_empty_answer_is_a_failure_not_a_crash():
    assert "is empty" in after_deploy.run({"answer_after_deploy": set()}).message
    assert model_comparison.run({"answer_comparison": 2}).status == FAILED


def test_every_question_has_reasons_and_distractors():
    assert len(QUESTIONS) == 9
    for q in QUESTIONS.values():
        for key, option in q.options.items():
            assert len(key) == 1 and option.text.strip() and len(option.why.split()) >= 5, (q.id, key)
        if q.kind != "order":
            assert any(not o.correct for o in q.options.values()), q.id
            assert any(o.correct for o in q.options.values()), q.id
        else:
            assert list(q.order) != list(q.options), f"{q.id}: the steps must be shown shuffled"


@pytest.mark.parametrize("kind_", ["solutions", "notebooks"])
def test_both_notebooks_show_every_option_before_its_answer_cell(kind_):
    nb = nbio.read(nbio.lesson_path("06_interview_prep", kind_))
    cells = nb["cells"]
    for i, _cell, ex_id in nbio.answer_cells(nb):
        if ex_id not in QUESTIONS:
            continue
        shown = [nbio.source(c) for c in cells[:i] if c["cell_type"] == "markdown"]
        assert QUESTIONS[ex_id].markdown() in "\n".join(shown), f"{ex_id}: its options are not shown"


def test_every_stage_word_shown_to_the_learner_counts():
    for stage, (shown, _pattern) in STAGE_WORDS.items():
        words = [w.strip() for w in re.split(r",|/|\(|\)|\bor\b", shown)]
        words = [w for w in words if w and w != "a model family"]
        assert len(words) >= 5
        for word in words:
            assert stage_mentions(f"we {word} things")[stage], (stage, word)
    assert not any(stage_mentions("the model, the model and the model").values())
    assert STAGE_WORDS["monitoring"][0] in " ".join(star_answer.hints)
