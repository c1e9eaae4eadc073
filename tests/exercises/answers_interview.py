"""Answers to lesson 06's exercises, as a learner would type them in the answer cell.

Shared by ``test_interview.py`` (tried inside the lesson, each with the message
it must get) and its thirty-seed test. ``RIGHT[exercise]`` are correct answers
written differently from the reference; ``WRONG[exercise]`` typical mistakes
with the phrases their message must contain. The wrong STAR answers start from
the reference where that makes the mistake clearer (the solution cell runs
before each of them in the lesson; the seed test runs the reference first too).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Wrong:
    source: str
    says: tuple[str, ...]
    score: float | None = None


RIGHT: dict[str, list[str]] = {}
WRONG: dict[str, list[Wrong]] = {}

RIGHT["interview.star_answer"] = [
    # one paragraph of action, a result in words
    '''
star_answer = {
    "situation": "At a software company the support desk got some sixty thousand tickets every month, and each one "
                 "waited for a person to read it and forward it to the right team.",
    "task": "My job was to route tickets automatically to one of eight teams without dropping below ninety percent "
            "precision.",
    "action": "I gathered two years of closed tickets and used the closing team as the label, removing duplicates "
              "because copies would inflate every score. I fitted a logistic regression on word counts first, since "
              "a simple baseline tells you what a complex model must beat, and only then tuned a boosted model. We "
              "served it behind an internal endpoint and rolled it out to one team's queue first, so that a bad model "
              "would misroute only a few tickets. I watched drift in the words of incoming tickets and the weekly "
              "precision from agents' corrections, to catch a new kind of ticket early.",
    "result": "About eighty-five percent of tickets now route themselves at ninety-two percent precision, and the "
              "median wait for a first reply went from four hours to about twenty-five minutes.",
}
''',
    # a list of four steps, other words, a result in digits
    '''
star_answer = {
    "situation": "An online grocer's dispatchers learned too late which deliveries would miss their slot, and late "
                 "orders drove most complaints.",
    "task": "I owned a model that flags likely late orders at checkout, answering within 100 ms.",
    "action": [
        "I built the dataset from six months of orders and driver logs, validated it against a schema and split it "
        "by week, so that no future orders leaked into training.",
        "I compared a logistic baseline with a gradient-boosted model using cross-validation, and picked the "
        "threshold by the cost of a missed late order, because dispatchers cared most about those.",
        "The pipeline shipped in a Docker container behind an API, released as a canary in one city to limit the "
        "damage a bad version could do.",
        "I added alerts on latency and on drift in weather features, and a monthly retrain, since traffic patterns "
        "change with the seasons.",
    ],
    "result": "Recall on late orders reached 0.71 at 0.60 precision, complaints about lateness fell by 18% in a "
              "quarter, and p95 latency stayed under 40 ms.",
}
''',
]
WRONG["interview.star_answer"] = [
    Wrong('''
star_answer = {
    "situation": "I worked on a machine learning system for support tickets at a software company.",
    "task": "Build and run the ticket routing model for the support team end to end.",
    "action": "Data: collect, label, validate, clean, features. Training: train, tune, evaluate, baseline, "
              "experiment. Deployment: deploy, serve, API, container, canary. Monitoring: monitor, drift, alert, "
              "latency, retrain.",
    "result": "The model got 100% better.",
}
''', ("things to fix", "but only as keywords", "better at what?")),
    Wrong('''
star_answer = dict(star_answer, action=[
    "Data: I collected two years of resolved tickets and used the closing team as each ticket's label.",
    "Training: I trained a logistic-regression baseline and then tuned a gradient-boosted model on them.",
    "Deployment: I packaged the pipeline in a container behind a REST API for the ticketing tool.",
    "Monitoring: I set alerts on latency and errors and tracked drift in the vocabulary of new tickets.",
])
''', ("but not why", "because, since, so")),
    Wrong('star_answer = dict(star_answer, result="Customers got their answers much sooner and the team was very happy.")',
          ("your result has no number",)),
    Wrong('star_answer = dict(star_answer, result="It was 100% better than before, and everyone was delighted.")',
          ("has a number but not what it measures",)),
    Wrong('star_answer = dict(star_answer, situation=" ".join([star_answer["situation"]] * 10))',
          ("cut it to at most 400",)),
    Wrong('star_answer = dict(star_answer, action=star_answer["action"][:3])', ("your action never mentions monitoring",)),
    Wrong(
        'star_answer = {"Situation": star_answer["situation"], "task": star_answer["task"], '
        '"actions": star_answer["action"]}',
        ("your key 'Situation' should be spelt 'situation'", "your key 'actions' should be spelt 'action'",
         "your answer has no 'result' part"),
    ),
    Wrong('star_answer = " ".join([star_answer["situation"], star_answer["task"], star_answer["result"]])',
          ("should be a dict with the keys",), score=0.0),
    Wrong('''
star_answer = dict(star_answer, action=(
    "I collected two years of resolved tickets and validated their labels, because agents sometimes closed tickets "
    "for other teams. I picked the model that looked best, and the model went into a container behind an API so "
    "the ticketing tool could call it, and I set alerts on latency and drift so that we would know when the model "
    "needed attention."
))
''', ("your action never mentions training",)),
    Wrong('''
star_answer = dict(star_answer, action=(
    "I trained and tuned a gradient-boosted classifier with cross-validation because it beat the baseline, deployed "
    "it behind an API as a canary so few users would see a bad version, and monitored data drift and latency with "
    "alerts so that problems showed early, retraining every month on whatever came in."
))
''', ("your action never mentions data",)),
]

_CHOICES = {
    "interview.after_deploy": ("answer_after_deploy", "acefh"),
    "interview.retrain_triggers": ("answer_retrain", "aceh"),
    "interview.leakage": ("answer_leakage", "acdf"),
    "interview.imbalanced_metric": ("answer_metric", "bcd"),
    "interview.rollout": ("answer_rollout", "abeg"),
    "interview.drift_kind": ("answer_drift", "bde"),
}
for _ex, (_name, _letters) in _CHOICES.items():
    _keys = sorted(_letters)
    RIGHT[_ex] = [
        f"{_name} = {[k.upper() for k in reversed(_keys)]!r}",  # a list, upper case, any order
        f"{_name} = {tuple(f'({k})' for k in _keys)!r}",  # a tuple of "(a)"-style labels
    ]

RIGHT["interview.model_comparison"] = ['answer_comparison = "B"', 'answer_comparison = ["(b)"]']
RIGHT["interview.skew"] = ['answer_skew = " b "', 'answer_skew = ("b",)']
RIGHT["interview.retrain_steps"] = [
    'answer_retrain_steps = ("b", "d", "f", "a", "g", "c", "e")',
    'answer_retrain_steps = [s.upper() for s in "bdfagce"]',
]

WRONG["interview.after_deploy"] = [
    Wrong('answer_after_deploy = {"a", "b", "c"}',
          ("1 of your choices does not belong and you missed 3 that belong", "(b) is wrong: offline evaluation")),
    Wrong('answer_after_deploy = "ace"', ("one string holding several letters",)),
    Wrong('answer_after_deploy = set("abcdefgh")', ("(d) is wrong: you need it to retrain", "(g) is wrong: tuning")),
]
WRONG["interview.retrain_triggers"] = [
    Wrong('answer_retrain = {"a", "b", "c", "d", "e"}',
          ("(b) is wrong: formatting changes neither", "(d) is wrong: a perfect training score", "+ (h)")),
    Wrong('answer_retrain = ["a", "c", "e"]', ("scheduled retraining",)),
    Wrong('answer_retrain = {"a", "c", "e", "f", "h"}', ("(f) is wrong: every model makes errors",)),
    Wrong('answer_retrain = {"a", "c", "e", "g", "h"}', ("(g) is wrong: more requests with the same input",)),
]
WRONG["interview.retrain_steps"] = [
    Wrong('answer_retrain_steps = ["b", "f", "a", "d", "g", "c", "e"]', ("step 2 should be (d)", "learn from broken data")),
    Wrong('answer_retrain_steps = ["b", "d", "f", "a", "g", "e"]', ("missing: (c)",)),
    Wrong('answer_retrain_steps = {"b", "d", "f", "a", "g", "c", "e"}', ("a set has no order",)),
    Wrong('answer_retrain_steps = ["b", "d", "f", "a", "c", "g", "e"]', ("step 5 should be (g)",)),
]
WRONG["interview.leakage"] = [
    Wrong('answer_leakage = {"a", "f"}', ("the scaler saw the test rows", "split by time")),
    Wrong('answer_leakage = {"a", "b", "c", "d", "f"}', ("a strong predictor is not a leak",)),
    Wrong('answer_leakage = {"a", "c", "d", "e", "f"}', ("the leak-free way",)),
]
WRONG["interview.imbalanced_metric"] = [
    Wrong('answer_metric = {"a"}', ("never flags anything is 99.6 % accurate",)),
    Wrong('answer_metric = {"b", "c", "d", "e"}', ("training loss measures the fit to data the model has already seen",)),
    Wrong('answer_metric = {"b", "c", "d", "f"}', ("R² measures regression errors",)),
]
WRONG["interview.model_comparison"] = [
    Wrong('answer_comparison = "a"', ("well inside the fold-to-fold spread", "The best answer is (b)")),
    Wrong('answer_comparison = {"a", "b"}', ("one best answer, and you gave 2",)),
    Wrong('answer_comparison = "z"', ("'z' is not one of the options",)),
]
WRONG["interview.skew"] = [
    Wrong('answer_skew = "a"', ("from the very first day",)),
    Wrong('answer_skew = "c"', ("held-out test set",)),
    Wrong('answer_skew = "d"', ("a capacity question",)),
]
WRONG["interview.rollout"] = [
    Wrong('answer_rollout = {"a", "b", "c"}', ("(c) is wrong: that describes a canary", "+ (e)")),
    Wrong('answer_rollout = {"a", "b", "e", "f", "g"}', ("shadow deployment", "lesson 04's feedback loop")),
    Wrong('answer_rollout = {"a", "b", "d", "e", "g"}', ("(d) is wrong: a canary without monitoring is pointless",)),
]
WRONG["interview.drift_kind"] = [
    Wrong('answer_drift = {"a", "b", "d", "e"}', ("(a) is wrong: data drift",)),
    Wrong('answer_drift = {"b", "c", "d", "e"}', ("bake the bug in",)),
    Wrong("answer_drift = [1, 2]", ("holds a number",)),
]
