"""Lesson 06 (interview preparation) exercises, each tried inside the lesson itself: the
learner's stub, the solution, correct answers written differently, and typical wrong
answers with their messages; the same answers on thirty secret seeds; the STAR rules
on their own; the question type's answer forms and the notebook showing every option.
The verdicts every lesson checks of its answer bank are in test_answer_banks.py; this module checks the
lesson's particular messages on the same walk."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from mlcourse.exercises import exercises_of
from mlcourse.exercises import notebook as nbio
from mlcourse.exercises.engine import FAILED, PASSED
from mlcourse.exercises.interview.checks import (
    QUESTIONS,
    after_deploy,
    model_comparison,
    retrain_steps,
    skew,
    star_answer,
)
from mlcourse.exercises.interview.review import (
    MAX_WORDS,
    STAGE_WORDS,
    has_quantity,
    stage_decision,
    stage_mentions,
    star_problems,
)
from mlcourse.exercises.plain import to_plain
from mlcourse.exercises.testing import module_from_file
from mlcourse.grading.seeds import seed as secret_seed

LESSON = "06_interview_prep"
A = ANSWERS = module_from_file(Path(__file__).with_name("answers_interview.py"))
EXERCISES = {e.id: e for e in exercises_of("06_interview_prep")}


def test_star_answers_are_flagged_for_review_with_their_text(walked):
    t = walked["interview.star_answer"].tried
    assert not t.stub.needs_review and t.stub.answer_text == ""
    for result in [t.solution, *t.wrong]:
        assert result.needs_review
    assert "situation" in t.solution.answer_text and "85%" in t.solution.answer_text
    assert len(t.solution.answer_text) > 500  # the whole answer, not an excerpt
    assert not any(r.needs_review for r in walked["interview.skew"].tried.wrong)


def test_keyword_stuffing_gets_nothing_for_its_stages(walked):
    stuffed = list(walked["interview.star_answer"].wrong.values())[0]
    stages = {t.name: t.status for t in stuffed.tests}
    assert all(stages[f"the action's {s} stage"] == FAILED for s in ("data", "training", "deployment", "monitoring"))
    assert stages["the result"] == FAILED and stuffed.score < 1
    no_reasons = list(walked["interview.star_answer"].wrong.values())[1]
    assert no_reasons.score == pytest.approx(4 * 2 / 6, abs=1e-4)  # the parts and the result hold


def test_star_lists_every_problem_at_once(walked):
    keys = [r for w, r in zip(A.WRONG["interview.star_answer"], list(walked["interview.star_answer"].wrong.values()))
            if "Situation" in w.source][0]
    assert keys.message.startswith("On the four parts: ")
    assert re.search(r"\d things to fix:", keys.message)


# --------------------------------------------------------------------------
# Thirty secret seeds: value answers, the same verdict on every one
# --------------------------------------------------------------------------
def _run_source(ex_id: str, source: str, seed_: int):
    namespace: dict = {}
    solution = EXERCISES[ex_id]
    reference = _reference(ex_id)
    exec(reference, namespace)  # the wrong STAR answers may start from the reference, as in the lesson
    exec(source, namespace)
    return solution.run(namespace, seed=seed_)


def _reference(ex_id: str) -> str:
    nb = nbio.read(nbio.lesson_path("06_interview_prep", "solutions"))
    return next(nbio.without_markers(nbio.source(c)) for _i, c, found in nbio.answer_cells(nb) if found == ex_id)


@pytest.mark.parametrize("ex_id", sorted(A.WRONG))
def test_same_verdict_on_every_secret_seed(ex_id):
    seeds = [secret_seed(b"l06-multi-seed-test-secret", f"learner-{i}", "06_interview_prep", ex_id) for i in range(30)]
    for source in [_reference(ex_id), *A.RIGHT[ex_id]]:
        results = [_run_source(ex_id, source, s) for s in seeds]
        assert all(r.status == PASSED and r.score == r.points for r in results), results[0].render()
    for wrong in A.WRONG[ex_id]:
        results = [_run_source(ex_id, wrong.source, s) for s in seeds]
        verdicts = Counter((str(r.status), r.score, r.message) for r in results)
        assert len(verdicts) == 1 and results[0].status == FAILED, (wrong.says, verdicts)


# --------------------------------------------------------------------------
# The STAR rules on their own
# --------------------------------------------------------------------------
def _star(**change):
    base = {
        "situation": "Our support desk received about sixty thousand tickets a month, all routed by hand.",
        "task": "I had to route tickets to eight teams automatically at ninety percent precision.",
        "action": [
            "I collected two years of resolved tickets and split them by month so that no future ticket leaked in.",
            "I trained a logistic-regression baseline first because it shows what a complex model has to beat.",
            "I deployed the pipeline behind an API as a canary on a tenth of the tickets to limit any damage.",
            "I monitored drift in the ticket words and weekly precision, since the product changes every quarter.",
        ],
        "result": "About forty percent of the tickets now route themselves, and the median wait fell to 25 minutes.",
    }
    return to_plain({**base, **change})


def test_a_complete_answer_has_no_problem_and_numbers_may_be_words():
    assert star_problems(_star()) == []
    assert star_problems(_star(result="Complaints about slow replies fell by about forty percent.")) == []
    assert has_quantity("the backlog halved") and not has_quantity("a lot better than before")


def test_the_result_needs_a_quantity_and_what_it_measures():
    elements = lambda answer: {e: m for e, m, primary in star_problems(answer) if primary}  # noqa: E731
    assert "has no number" in elements(_star(result="Everyone was much happier with the new routing."))["result"]
    assert "better at what?" in elements(_star(result="The routing got 100% better than it was."))["result"]
    assert "result" not in elements(_star(result="We got 100% better recall on the billing queue."))


def test_each_stage_needs_a_decision_with_its_reason():
    assert stage_decision(["I split the data by month so that no future ticket leaked in"], "data")[1] == "ok"
    assert stage_decision(["Data: collect, label, validate, clean"], "data") == (None, "keywords")
    assert stage_decision(["We deployed the model behind a small internal API service"], "deployment") == \
        (None, "no reason")
    assert stage_decision(["I trained a model"], "training") == (None, "keywords")  # too short to say why
    no_why = _star(action=[
        "I collected two years of resolved tickets and labelled each with its closing team.",
        "I trained a logistic-regression baseline first and then tuned a boosted model.",
        "I deployed the pipeline behind an API as a canary on a tenth of the tickets.",
        "I monitored drift in the ticket words and weekly precision from the agents.",
    ])
    problems = [(e, m) for e, m, primary in star_problems(no_why) if primary]
    assert [e for e, _ in problems] == ["data", "training", "deployment", "monitoring"]
    assert all("but not why" in m for _, m in problems)


def test_a_long_answer_is_cut_to_two_minutes():
    long = _star(situation=" ".join(["The desk had grown for years and new hires took weeks to learn the teams."] * 30))
    message = next(m for e, m, _p in star_problems(long) if e == "parts")
    assert f"at most {MAX_WORDS}" in message and "words" in message


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
    # The lesson's own: a docstring's example registers a demo question too.
    lesson = [q for q in QUESTIONS.values() if q.id.startswith("interview.")]
    assert len(lesson) == 9
    for q in lesson:
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


def test_a_canary_is_not_a_shadow_in_either_lesson():
    option = QUESTIONS["interview.rollout"].options["f"]
    assert not option.correct and "shadow deployment" in option.why


def test_the_grader_gives_the_notebooks_verdicts(walked, grade_below_stub):
    """A learner notebook with two wrong answers (a keyword-stuffed STAR, a wrong letter), the rest solved."""
    wrong = {"interview.star_answer": A.WRONG["interview.star_answer"][0], "interview.skew": A.WRONG["interview.skew"][0]}
    graded = grade_below_stub("06_interview_prep", {ex_id: w.source for ex_id, w in wrong.items()})
    for ex_id in EXERCISES:
        mine = list(walked[ex_id].wrong.values())[0] if ex_id in wrong else walked[ex_id].tried.solution
        assert (graded[ex_id]["extra_data"]["status"], graded[ex_id]["score"]) == (str(mine.status), mine.score), ex_id
    for ex_id, w in wrong.items():
        assert graded[ex_id]["score"] < graded[ex_id]["max_score"]
        assert all(phrase in graded[ex_id]["output"] for phrase in w.says), graded[ex_id]["output"]
    assert graded["interview.star_answer"]["extra_data"].get("needs_review")


def test_the_decision_shown_for_a_stage_is_the_sentence_most_about_it():
    sentences = ["I split the records by week so that no future orders leaked into training.",
                 "I evaluated both models by recall, because most orders are on time."]
    assert stage_decision(sentences, "training")[0] == sentences[1]
    assert stage_decision(sentences, "data")[0] == sentences[0]
    assert stage_decision(sentences[:1], "training")[0] == sentences[0]  # any sentence with a reason still counts
