"""Exercises of lesson 06, interview preparation: lifecycle questions, graded.

Two kinds of exercise live here:

* a **STAR answer** (``interview.star_answer``), given as a dict with one entry
  per part. Its substance is checked, never its wording (the rules are in
  :mod:`mlcourse.exercises.interview.review`): four non-trivial parts within a
  two-minute length, an action with a decision and its reason for each of the
  four lifecycle stages, and a result with a quantity and what it measures.
  Free text can game any rule, so every graded answer is also flagged for an
  instructor to read (``review=True``);
* **questions with options**, built by two reusable factories:
  :func:`choice_exercise` (single or multiple choice) and
  :func:`order_exercise` (put steps in order). Every option carries the reason
  it is right or wrong, and a failed check quotes the reasons for each wrong
  choice picked and each right one missed.

The notebook shows each question's options from :meth:`Question.markdown`, so
the text a learner reads is the text the check judges.

This module is the lesson's answer key; what the grading child runs is in
:mod:`mlcourse.exercises.interview.probes`.

Examples
--------
>>> q = QUESTIONS["interview.skew"]
>>> sorted(k for k, o in q.options.items() if o.correct)
['b']
>>> skew.run({"answer_skew": "b"}).status
'passed'
>>> r = skew.run({"answer_skew": "c"})
>>> r.status, "held-out test set" in r.message
('failed', True)
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlcourse.exercises.engine import Exercise, Value, holds
from mlcourse.exercises.interview.probes import answer_form_verdict, keys_given, star_verdict
from mlcourse.exercises.interview.review import MAX_WORDS, MEASURE_WORDS, REASON_WORDS, STAGE_WORDS
from mlcourse.exercises.probes import as_given


# ==========================================================================
# A reusable question type: options, each with the reason it is right or wrong
# ==========================================================================
@dataclass(frozen=True)
class Option:
    """One option of a question: its text, whether it is right, and why."""

    text: str
    correct: bool
    why: str


@dataclass(frozen=True)
class Step:
    """One step of an ordering question: its text and why it sits where it does."""

    text: str
    why: str


@dataclass(frozen=True)
class Question:
    """What the learner reads: the options (or steps), keyed by letter.

    ``kind`` is ``"multi"`` (choose all that apply), ``"single"`` (one best
    answer) or ``"order"`` (all steps, in order; ``order`` holds the keys in
    the right order).
    """

    id: str
    answer: str
    kind: str
    options: Mapping[str, Option | Step]
    order: tuple[str, ...] = ()

    def markdown(self) -> str:
        """The options as a markdown list, with how to give the answer."""
        keys = list(self.options)
        if self.kind == "multi":
            head = (
                f"Choose **all** that apply. Answer with a set of letters, e.g. "
                f"`{self.answer} = {{\"{keys[0]}\", \"{keys[2]}\"}}`."
            )
        elif self.kind == "single":
            head = f"Choose the **one** best answer. Answer with its letter, e.g. `{self.answer} = \"{keys[0]}\"`."
        else:
            head = (
                f"Put **all {len(keys)} steps** in order. Answer with a list of letters, first step first, e.g. "
                f"`{self.answer} = [\"{keys[0]}\", \"{keys[1]}\", ...]`."
            )
        lines = [head, ""]
        lines += [f"- **({k})** {o.text}" for k, o in self.options.items()]
        return "\n".join(lines)

    def form(self) -> dict:
        """What the learner reads of the question (its answer's name, option keys and kind), as plain data."""
        return {"answer": self.answer, "keys": list(self.options), "kind": self.kind}


#: exercise id -> the question it asks, for the notebook and the tests.
QUESTIONS: dict[str, Question] = {}


def _letter(key: str) -> str:
    return f"({key})"


def _form_of(q: Question):
    return lambda rng: q.form()


def _choice_verdict(q: Question):
    def verdict(got: Any, _: Any) -> str | None:
        given, problem = keys_given(got, q.form())
        if problem:
            return problem
        picked = list(dict.fromkeys(given))
        if q.kind == "single" and len(picked) > 1:
            return f"this question has one best answer, and you gave {len(picked)}: choose one letter"
        right = [k for k, o in q.options.items() if o.correct]
        wrong_picked = [k for k in picked if not q.options[k].correct]
        missed = [k for k in right if k not in picked]
        if not wrong_picked and not missed:
            return None
        lines = []
        if q.kind == "single":
            k = wrong_picked[0]
            lines.append(f"{_letter(k)} is not the best answer: {q.options[k].why}")
            lines.append(f"The best answer is {_letter(right[0])}: {q.options[right[0]].why}")
            return "\n".join(lines)
        parts = []
        if wrong_picked:
            parts.append(f"{len(wrong_picked)} of your choices {'does' if len(wrong_picked) == 1 else 'do'} not belong")
        if missed:
            parts.append(f"you missed {len(missed)} that {'belongs' if len(missed) == 1 else 'belong'}")
        lines.append(" and ".join(parts) + ":")
        for k in wrong_picked:
            lines.append(f"✗ {_letter(k)} is wrong: {q.options[k].why}")
        for k in missed:
            lines.append(f"+ {_letter(k)} \"{q.options[k].text}\" belongs too: {q.options[k].why}")
        return "\n".join(lines)

    return verdict


def choice_exercise(
    id: str,
    title: str,
    answer: str,
    options: Mapping[str, Option],
    *,
    multi: bool = True,
    points: float = 2,
    hints: Sequence[str] = (),
) -> Exercise:
    """A single- or multiple-choice question as an :class:`Exercise`.

    Parameters
    ----------
    id, title : str
        As for :class:`Exercise`.
    answer : str
        The variable the learner assigns (``answer_leakage = {"a", "c"}``).
    options : mapping of str to Option
        Keyed by letter, in the order shown; every option says why it is right
        or wrong, and the check quotes those reasons.
    multi : bool
        ``True``: choose all that apply (a set, list or tuple of letters; one
        letter alone as a string is fine). ``False``: one best answer (a
        string, or a collection holding one letter).

    Examples
    --------
    >>> demo = choice_exercise("demo.q", "Demo", "a", {
    ...     "a": Option("right", True, "because"), "b": Option("wrong", False, "no"),
    ...     "c": Option("also wrong", False, "nope")}, multi=False)
    >>> demo.run({"a": "A"}).status, demo.run({"a": "b"}).message.splitlines()[0]
    ('passed', 'On your choice: (b) is not the best answer: no')
    """
    right = [k for k, o in options.items() if o.correct]
    if len(options) < 3 or not right or (not multi and len(right) != 1):
        raise ValueError(f"{id}: a question needs three or more options and {'one' if not multi else 'some'} right")
    q = Question(id=id, answer=answer, kind="multi" if multi else "single", options=dict(options))
    return _question_exercise(q, title, points, hints, "your choices" if multi else "your choice", _choice_verdict(q))


def _order_verdict(q: Question):
    def verdict(got: Any, _: Any) -> str | None:
        given, problem = keys_given(got, q.form())
        if problem:
            return problem
        twice = [k for k in dict.fromkeys(given) if given.count(k) > 1]
        if twice:
            return f"{_letter(twice[0])} appears {given.count(twice[0])} times; each step comes once"
        missing = [k for k in q.order if k not in given]
        if missing:
            names = ", ".join(_letter(k) for k in missing)
            return f"{len(given)} of the {len(q.order)} steps are there; missing: {names}. Every step belongs in the order"
        if given == list(q.order):
            return None
        off = sum(1 for g, w in zip(given, q.order) if g != w)
        i = next(i for i, (g, w) in enumerate(zip(given, q.order)) if g != w)
        want, have = q.order[i], given[i]
        return (
            f"{off} of the {len(q.order)} steps are out of place. The first: step {i + 1} should be "
            f"{_letter(want)} \"{q.options[want].text}\", because {q.options[want].why}; you put {_letter(have)} there"
        )

    return verdict


def order_exercise(
    id: str,
    title: str,
    answer: str,
    steps: Mapping[str, Step],
    order: Sequence[str],
    *,
    points: float = 2,
    hints: Sequence[str] = (),
) -> Exercise:
    """An ordering question: the learner lists every step's letter, first step first.

    ``steps`` are shown in their mapping order (shuffle them); ``order`` is the
    right order. Each step's ``why`` says why it comes where it does, and the
    check quotes it for the first step out of place.
    """
    if sorted(order) != sorted(steps):
        raise ValueError(f"{id}: the order must list every step exactly once")
    q = Question(id=id, answer=answer, kind="order", options=dict(steps), order=tuple(order))
    return _question_exercise(q, title, points, hints, "your order", _order_verdict(q))


def _question_exercise(q: Question, title: str, points: float, hints: Sequence[str], test: str,
                       verdict: Callable[[Any, Any], str | None]) -> Exercise:
    """Register question ``q`` and make its exercise: the test named ``test``, judged by ``verdict``, then the
    answer's form."""
    QUESTIONS[q.id] = q
    verdict.__name__ = f"{q.id.split('.')[-1]}_verdict"
    return Exercise(
        id=q.id,
        title=title,
        points=points,
        answer=Value(q.answer),
        tests=[
            holds(test, as_given, verdict),
            # The visible example of a graded cohort: the answer's form, never whether it is right. It weighs
            # nothing and comes last, so the full verdict's message is the one shown.
            holds("the form of your answer", as_given, answer_form_verdict, inputs=_form_of(q), weight=0, public=True),
        ],
        hints=tuple(hints),
    )


# ==========================================================================
# interview.star_answer: a STAR answer, checked for substance, never wording
# (the rules are public: mlcourse.exercises.interview.review)
# ==========================================================================
def _element(name: str):
    return lambda rng: name


# Its rules are public (they ship as interview.review), so every test is public;
# a person reads the answer itself (review=True).
star_answer = Exercise(
    id="interview.star_answer",
    title="Walk me through an ML system you built (STAR)",
    points=4,
    answer=Value("star_answer"),
    review=True,
    tests=[
        holds("the four parts", as_given, star_verdict, inputs=_element("parts"), public=True),
        holds("the action's data stage", as_given, star_verdict, inputs=_element("data"), public=True),
        holds("the action's training stage", as_given, star_verdict, inputs=_element("training"), public=True),
        holds("the action's deployment stage", as_given, star_verdict, inputs=_element("deployment"), public=True),
        holds("the action's monitoring stage", as_given, star_verdict, inputs=_element("monitoring"), public=True),
        holds("the result", as_given, star_verdict, inputs=_element("result"), public=True),
    ],
    hints=(
        "A dict with exactly four keys, 'situation', 'task', 'action' and 'result', each a few sentences of text "
        f"(the action may also be a list of strings, one per stage), {MAX_WORDS} words at most in all. The check "
        "never judges your wording.",
        "The action must visit every stage. Words that count: data: "
        + STAGE_WORDS["data"][0]
        + ". Training: "
        + STAGE_WORDS["training"][0]
        + ". Deployment: "
        + STAGE_WORDS["deployment"][0]
        + ". Monitoring: "
        + STAGE_WORDS["monitoring"][0]
        + ". ('model' alone counts for no stage; 'data drift' is monitoring; 'cross-validation' is training; "
        "'training data' is data.)",
        "For each stage, one full sentence saying what you decided and why; a reason starts with words such as "
        + REASON_WORDS[0]
        + ". A list of keywords is not a decision.",
        "The result needs a quantity (digits or words: '0.78', 'forty percent', 'halved') and what it measures ("
        + MEASURE_WORDS[0]
        + "). Try `review_star(star_answer)` to see what the check finds.",
    ),
)


# ==========================================================================
# The outline's questions 2 and 3
# ==========================================================================
after_deploy = choice_exercise(
    "interview.after_deploy",
    "What happens after you deploy a model?",
    "answer_after_deploy",
    {
        "a": Option(
            "Watch the service's health: request rate, error rate and p95 latency.",
            True,
            "a model inside a slow or failing service is useless; these are the first alerts to set up, as for any "
            "web service",
        ),
        "b": Option(
            "Nothing more: the model passed its offline evaluation, so the project is finished.",
            False,
            "offline evaluation describes the past, and a model fails silently: it keeps answering, wrongly, as the "
            "world moves. Deployment starts the model's working life, it does not end the project",
        ),
        "c": Option(
            "Log each request's features and prediction together with the model version.",
            True,
            "without these logs you cannot measure drift, join outcomes later, explain a complaint, or retrain on "
            "what the model actually saw",
        ),
        "d": Option(
            "Delete the training data: the model has already learned what it needs from it.",
            False,
            "you need it to retrain, to reproduce and audit the model, and as the reference that drift checks "
            "compare live inputs with",
        ),
        "e": Option(
            "Compare the live input distributions with the training data, feature by feature.",
            True,
            "drift in the inputs is visible long before the true outcomes arrive, so it is the earliest warning "
            "that the model is scoring unfamiliar data",
        ),
        "f": Option(
            "Join the true outcomes as they arrive and track precision and recall over time.",
            True,
            "this is the only direct measure of whether the model still does its job; everything else is a proxy",
        ),
        "g": Option(
            "Re-tune the hyperparameters on each day's live traffic and push the winner to production automatically.",
            False,
            "tuning on yesterday's labels with no held-out check and no review chases noise and ships untested "
            "models; a retrained model needs the same evaluation and rollout gates as the first one",
        ),
        "h": Option(
            "Decide how retraining is triggered (schedule, alert or new labels) and keep the previous version ready "
            "for rollback.",
            True,
            "monitoring is only useful if it can lead to action: a retraining policy closes the loop, and a "
            "rollback path makes a bad release cheap",
        ),
    },
    hints=(
        "Think in two layers: the service (is it up and fast?) and the model (are its inputs and its answers still "
        "what they were?). Then ask what you do when either goes wrong.",
        "Five options belong. The wrong ones either stop too early, throw away something you will need, or change "
        "production without any check.",
    ),
)

retrain_triggers = choice_exercise(
    "interview.retrain_triggers",
    "How do you know when to retrain?",
    "answer_retrain",
    {
        "a": Option(
            "Precision on recent labelled traffic fell below the agreed threshold and has stayed there for a week.",
            True,
            "performance degradation is the most direct trigger, because it measures what the business cares about; "
            "waiting for it to persist avoids reacting to noise",
        ),
        "b": Option(
            "The code base was linted and reformatted.",
            False,
            "formatting changes neither the data nor the logic, so a retrained model would learn the same thing: "
            "compute and release risk for nothing",
        ),
        "c": Option(
            "A drift test shows that an important input's distribution has moved significantly away from the "
            "training data.",
            True,
            "data drift means the model is scoring inputs unlike those it learned from, and it shows before labels "
            "arrive; rule out a broken pipeline first, then retrain on data that reflects the new inputs",
        ),
        "d": Option(
            "The model reaches 100 % accuracy on its training data.",
            False,
            "a perfect training score is a symptom of overfitting or leakage, not a reason to train again; "
            "a model is judged on data it has not seen",
        ),
        "e": Option(
            "A significant volume of newly labelled data has arrived since the last training run, including a season "
            "the model has never seen.",
            True,
            "more, and more recent, labelled examples let the model learn patterns it could not see before; this is "
            "the new-data trigger",
        ),
        "f": Option(
            "One customer complained about one wrong prediction.",
            False,
            "every model makes errors; investigate the case (it may reveal a bug or a pattern), but retrain on "
            "evidence of a trend, not an anecdote",
        ),
        "g": Option(
            "Traffic doubled on a busy day, while the inputs look as they always do.",
            False,
            "more requests with the same input distribution is a capacity question for the serving side (scale "
            "out), not a change in what the model should learn",
        ),
        "h": Option(
            "A fixed calendar schedule, in a domain known to change steadily (weekly, for prices).",
            True,
            "scheduled retraining is a simple, valid strategy when change is steady and predictable; pair it with "
            "monitors so a sudden change does not wait for the calendar",
        ),
    },
    hints=(
        "Three kinds of evidence justify a retrain: the model got worse, its inputs changed, or there is much more "
        "to learn from. A fourth strategy does not wait for evidence at all.",
        "Four options are right. The distractors are an engineering chore, a warning sign misread as a trigger, an "
        "anecdote and a load problem.",
    ),
)

retrain_steps = order_exercise(
    "interview.retrain_steps",
    "A monitor fired: the steps of a safe retrain, in order",
    "answer_retrain_steps",
    {
        "a": Step(
            "Retrain with the same pipeline code, logging the run: data version, parameters, metrics.",
            "training starts only once there is fresh, checked data to learn from, and logging it makes the new "
            "model reproducible",
        ),
        "b": Step(
            "An alert fires: recall on the last two weeks of labelled traffic is below target.",
            "everything starts from the evidence that something changed",
        ),
        "c": Step(
            "Release the candidate to a small share of live traffic and compare it with the current model there.",
            "an offline win does not guarantee a live one, so a few users see the candidate before everyone does",
        ),
        "d": Step(
            "Diagnose: rule out a broken upstream pipeline or a serving bug before blaming the model.",
            "if the cause is a broken pipeline, retraining would learn from broken data; fix the system first",
        ),
        "e": Step(
            "Promote the candidate to all traffic, keep the previous version for rollback, and keep monitoring.",
            "full traffic comes last, only after the canary held up, and the loop starts over",
        ),
        "f": Step(
            "Collect and validate fresh labelled data that covers the new pattern, and version it.",
            "a retrain is only as good as the data it learns from, and the data must exist before training can use it",
        ),
        "g": Step(
            "Evaluate the candidate against the current model on the same recent held-out data.",
            "a retrained model is a candidate, not a replacement, until it beats the current one on the same data",
        ),
    },
    order=("b", "d", "f", "a", "g", "c", "e"),
    hints=(
        "Follow the lifecycle: Monitor (the alert and its diagnosis), then Data, Train, Deploy.",
        "Within Deploy, the candidate is compared offline first, then exposed to a few users, then to all.",
    ),
)


# ==========================================================================
# Five more questions, across the four stages
# ==========================================================================
leakage = choice_exercise(
    "interview.leakage",
    "Data: spot the leaks",
    "answer_leakage",
    {
        "a": Option(
            "`readmission_ward`: the ward the patient was readmitted to (empty when there was no readmission).",
            True,
            "it is filled in only after the outcome, so whether it is empty gives the label away: target leakage",
        ),
        "b": Option(
            "The patient's age and their number of admissions in the previous 12 months.",
            False,
            "both are known at discharge; a strong predictor is not a leak, what matters is when the value becomes "
            "known",
        ),
        "c": Option(
            "Standardising `length_of_stay` with a mean and standard deviation computed on all rows before the split.",
            True,
            "the scaler saw the test rows, so the test score is no longer a fair rehearsal on unseen data: fit "
            "preprocessing on the training part only, inside a Pipeline",
        ),
        "d": Option(
            "A random train/test split, although the model will score future patients and treatment practice "
            "changes over the years.",
            True,
            "later patients end up in training, so the test score rewards knowing the future: split by time, "
            "training on the past and testing on what came after",
        ),
        "e": Option(
            "Target-encoding the diagnosis code inside each cross-validation fold, from that fold's training rows only.",
            False,
            "this is the leak-free way to do it: each validation fold is encoded without looking at its own labels",
        ),
        "f": Option(
            "`followup_calls_30d`: the number of calls the patient made to the clinic in the 30 days after discharge.",
            True,
            "it counts events after the moment of prediction; at discharge it does not exist yet",
        ),
        "g": Option(
            "The discharge diagnosis and the list of medications at discharge.",
            False,
            "both are recorded at discharge, so they are available when the model runs",
        ),
    },
    hints=(
        "For each option ask: at the moment of prediction (discharge), would this value, or this way of preparing "
        "the data, exist as it does in the training table?",
        "Three kinds of leakage hide here: a column filled in after the outcome, preprocessing fitted on all rows, "
        "and a split that lets the future into training. One of them appears twice.",
    ),
)

imbalanced_metric = choice_exercise(
    "interview.imbalanced_metric",
    "Train: judging a model on rare positives",
    "answer_metric",
    {
        "a": Option(
            "Accuracy on the test set.",
            False,
            "a model that never flags anything is 99.6 % accurate here: with 1 defect in 250 parts, accuracy mostly "
            "measures the majority class",
        ),
        "b": Option(
            "Precision and recall of the defective class, at the threshold you will actually use.",
            True,
            "recall says how many defects are caught, precision how many alarms are real; both are about the rare "
            "class the model exists for",
        ),
        "c": Option(
            "The area under the precision-recall curve, to compare models across thresholds.",
            True,
            "it summarises the trade-off on the rare class at every threshold; ROC-AUC can look flattering when "
            "negatives vastly outnumber positives",
        ),
        "d": Option(
            "The expected cost per 1,000 parts, at €400 per missed defect and €5 per false alarm, to choose the "
            "threshold.",
            True,
            "it turns both kinds of error into the business's own unit, and the threshold that minimises it is the "
            "one to ship",
        ),
        "e": Option(
            "The log-loss on the training set.",
            False,
            "training loss measures the fit to data the model has already seen; decisions need held-out performance "
            "on the rare class",
        ),
        "f": Option(
            "The R² score.",
            False,
            "R² measures regression errors; this is a classification problem",
        ),
    },
    hints=(
        "Work out the accuracy of a model that never flags a part. Then ask which measures focus on the rare class.",
        "Three options are right: two look at the rare class, one puts the two kinds of mistake into money.",
    ),
)

model_comparison = choice_exercise(
    "interview.model_comparison",
    "Train: is the tuned model really better?",
    "answer_comparison",
    {
        "a": Option(
            "Ship the boosted model: it has the higher score.",
            False,
            "a gap of 0.008 is well inside the fold-to-fold spread of about 0.02, and the 6× serving cost is certain; "
            "a higher mean alone is not evidence",
        ),
        "b": Option(
            "The gap is within the noise between folds: keep the baseline unless a paired comparison on more folds, "
            "or a fresh time-based test set, shows a consistent gain worth the 6× serving cost.",
            True,
            "it weighs the size of the gain against its uncertainty and against the cost, and says what evidence "
            "would change the decision",
        ),
        "c": Option(
            "The baseline is better, because simpler models always generalise better.",
            False,
            "simplicity is a tie-breaker, not a law, and complex models often do win; here the evidence simply "
            "shows no difference",
        ),
        "d": Option(
            "Report 0.874 to stakeholders as the accuracy they will see in production.",
            False,
            "it is an offline ROC-AUC (not accuracy) with a spread, measured on past data; give a range and expect "
            "production to differ",
        ),
    },
    multi=False,
    hints=(
        "Compare the gap between the two means with the standard deviation across folds.",
        "A good answer names the trade-off (gain vs cost) and what evidence would change the decision.",
    ),
)

skew = choice_exercise(
    "interview.skew",
    "Deploy: the model is worse from day one",
    "answer_skew",
    {
        "a": Option(
            "Concept drift: customers changed how they behave.",
            False,
            "concept drift builds up as the world changes; a gap from the very first day, with unchanged inputs, "
            "points at the system, not the world",
        ),
        "b": Option(
            "Training-serving skew: the service computes at least one feature differently from the training code.",
            True,
            "two implementations of one feature drift apart (a missing-value default, a unit, a time window); ship "
            "one fitted pipeline to both places and test online against offline features on the same records",
        ),
        "c": Option(
            "The model overfitted its training data.",
            False,
            "overfitting would already show on the held-out test set; 0.86 there says the model generalises to data "
            "prepared the offline way",
        ),
        "d": Option(
            "The service does not get enough traffic for the model to work well.",
            False,
            "a trained model's quality does not depend on how many requests it receives; traffic volume is a "
            "capacity question",
        ),
    },
    multi=False,
    hints=(
        "What differs between the test set and live traffic, if the raw inputs are the same? Look at how each one "
        "was turned into features.",
        "The drop is there from the first day, so it is not something that built up over time.",
    ),
)

rollout = choice_exercise(
    "interview.rollout",
    "Deploy: canary vs blue-green",
    "answer_rollout",
    {
        "a": Option(
            "A canary sends a small share of live traffic (say 5 %) to the new model and widens it step by step "
            "while its metrics hold.",
            True,
            "that is the definition: exposure grows only as evidence that the new model behaves accumulates",
        ),
        "b": Option(
            "Blue-green keeps two complete production environments and switches all traffic from the old one to the "
            "new one at once; rolling back is switching back.",
            True,
            "that is the definition: the safety comes from an instant, complete switch in either direction",
        ),
        "c": Option(
            "Blue-green first exposes only 5 % of users to the new version.",
            False,
            "that describes a canary; blue-green moves all traffic at once",
        ),
        "d": Option(
            "A canary needs no monitoring, because only a few users see it.",
            False,
            "a canary without monitoring is pointless: its whole purpose is to compare the new version's errors, "
            "latency and business metrics with the old one before widening",
        ),
        "e": Option(
            "Blue-green needs capacity for two full environments while both are up.",
            True,
            "that is the price of the instant switch and the instant rollback",
        ),
        "f": Option(
            "In a canary, the new model's predictions are logged but never returned to users.",
            False,
            "that is a shadow deployment, where the new model sees real traffic without affecting anyone (lesson 04's "
            "feedback loop runs its candidates that way); a canary's answers are real and reach its share of users",
        ),
        "g": Option(
            "A canary limits the damage a bad model can do to the users in its share of traffic.",
            True,
            "a small blast radius is the reason to use one; blue-green instead exposes everyone but can switch back "
            "at once",
        ),
    },
    hints=(
        "A canary is gradual; blue-green is all-or-nothing with a fast way back. Check each option against that.",
        "One option describes a third strategy, shadow deployment.",
    ),
)

drift_kind = choice_exercise(
    "interview.drift_kind",
    "Monitor: data drift or concept drift?",
    "answer_drift",
    {
        "a": Option(
            "A marketing campaign brings in many younger customers, and young customers churn exactly as the model "
            "learned they do.",
            False,
            "data drift: the input distribution moved (more young customers), but the relation between inputs and "
            "churn held, so the model is still right for each customer",
        ),
        "b": Option(
            "Fraudsters switch to small payments at hours that used to be safe: the inputs look as they always did, "
            "but the same inputs now mean fraud more often.",
            True,
            "the same inputs now lead to a different outcome; the inputs alone cannot reveal it, only labels can",
        ),
        "c": Option(
            "An upstream team starts sending temperatures in Fahrenheit instead of Celsius.",
            False,
            "a unit change moves the inputs, not the world: data drift caused by a pipeline bug; fix the pipeline, "
            "because retraining on it would bake the bug in",
        ),
        "d": Option(
            "The business redefines a churned customer from 30 to 60 days without a login.",
            True,
            "the label's meaning changed, so the mapping from the same inputs to the label changed with it",
        ),
        "e": Option(
            "During a lockdown, the same browsing behaviour leads to a purchase far less often.",
            True,
            "same inputs, different outcome: the relation the model learned no longer holds",
        ),
        "f": Option(
            "A new phone model sends brighter photos to an image classifier; the objects in them are the same.",
            False,
            "data drift (covariate shift): the images look different, but what a given object is did not change",
        ),
    },
    hints=(
        "Data drift: P(inputs) changes. Concept drift: P(label | inputs) changes, so the same input now deserves a "
        "different answer.",
        "Ask of each option: would the right label for one unchanged input be different now? Three options say yes.",
    ),
)
