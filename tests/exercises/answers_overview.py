"""Answers to lesson 00's exercises, as a learner would type them in the answer cell.

Each exercise has right answers written in different styles (the first is
the solutions notebook's) and typical wrong answers, each with a fragment of
the message the learner must see. ``test_overview.py`` tries them inside the
lesson (with the notebook's seed); ``test_overview_seeds.py`` on many secret
seeds, where every verdict must come out the same.
"""
from __future__ import annotations

#: What the lesson's setup cell gives every answer cell.
PRELUDE = """
import matplotlib.pyplot as plt
import numpy as np
from mlcourse import figures
activities = [
    "drift detection", "schema validation", "canary rollout", "hyperparameter tuning", "removing duplicate rows",
    "alerting on prediction latency", "cross-validation", "packaging the model with its dependencies",
    "feature engineering", "load-testing the prediction API", "comparing against a baseline model",
    "triggering a retrain",
]
"""

_PLACED = {
    "Data": ["schema validation", "removing duplicate rows", "feature engineering"],
    "Train": ["hyperparameter tuning", "cross-validation", "comparing against a baseline model"],
    "Deploy": ["canary rollout", "packaging the model with its dependencies", "load-testing the prediction API"],
    "Monitor": ["drift detection", "alerting on prediction latency", "triggering a retrain"],
}
_RIGHT_DICT = {a: s for s, acts in _PLACED.items() for a in acts}


def _moved(**changes: str) -> str:
    """The right activity_stage dict with some activities moved (keys with spaces via **{})."""
    return f"activity_stage = {dict(_RIGHT_DICT, **changes)!r}"


def _renamed(old: str, new: str) -> str:
    return f"activity_stage = { {(new if k == old else k): v for k, v in _RIGHT_DICT.items()}!r}"


RIGHT: dict[str, dict[str, str]] = {
    "overview.stage_order": {
        "split": "stages = 'Data Train Deploy Monitor'.split()",
        "from the figure": "stages = list(figures.LIFECYCLE)",
    },
    "overview.activity_stage": {
        "built by stage": (
            f"by_stage = {_PLACED!r}\n"
            "activity_stage = {activity: stage for stage, acts in by_stage.items() for activity in acts}\n"
        ),
        "zipped in order": (
            "stage_of = ['Monitor', 'Data', 'Deploy', 'Train', 'Data', 'Monitor', 'Train', 'Deploy', 'Data', 'Deploy',\n"
            "            'Train', 'Monitor']\n"
            "activity_stage = dict(zip(activities, stage_of))\n"
        ),
    },
    "overview.next_stage": {
        "dict with a check": '''
NEXT = {"Data": "Train", "Train": "Deploy", "Deploy": "Monitor", "Monitor": "Data"}
def next_stage(stage):
    if stage not in NEXT:
        raise ValueError(f"{stage!r} is not a stage; use one of {list(NEXT)}")
    return NEXT[stage]
''',
        "index raises by itself": '''
def next_stage(stage):
    order = ["Data", "Train", "Deploy", "Monitor"]
    return order[(order.index(stage) + 1) % len(order)]
''',
        "KeyError turned into ValueError": '''
def next_stage(stage):
    try:
        return {"Data": "Train", "Train": "Deploy", "Deploy": "Monitor", "Monitor": "Data"}[stage]
    except KeyError:
        raise ValueError(f"unknown stage: {stage!r}") from None
''',
    },
}

#: exercise -> {name: (answer source, fragment of the message it must get)}
WRONG: dict[str, dict[str, tuple[str, str]]] = {
    "overview.stage_order": {
        "swapped": ("stages = ['Data', 'Train', 'Monitor', 'Deploy']", "'Monitor' comes before 'Deploy'"),
        "one missing": ("stages = ['Data', 'Train', 'Monitor']", "the list has no 'Deploy'"),
        "long names": (
            "stages = ['Data', 'Training', 'Deployment', 'Monitor']",
            "'Training' is not spelt the way the course names the stage: write 'Train'",
        ),
        "lower case": ("stages = ['data', 'train', 'deploy', 'monitor']", "write 'Data' (names are case-sensitive)"),
        "rotated": ("stages = ['Monitor', 'Data', 'Train', 'Deploy']", "right cycle, but it starts at 'Monitor'"),
        "a tuple": ("stages = ('Data', 'Train', 'Deploy', 'Monitor')", "is a tuple; make it a list"),
        "feedback as a stage": ("stages = ['Data', 'Train', 'Deploy', 'Monitor', 'Feedback']", "arrow from Monitor back to Data"),
        "one string": ("stages = 'Data -> Train -> Deploy -> Monitor'", "is one string"),
    },
    "overview.activity_stage": {
        "drift under Train": (_moved(**{"drift detection": "Train"}), "'drift detection' is under 'Train', but it belongs to Monitor"),
        "two moved": (
            _moved(**{"hyperparameter tuning": "Data", "canary rollout": "Monitor"}),
            "(2 of the 12 activities are in the wrong stage",
        ),
        "everything under Data": ("activity_stage = {a: 'Data' for a in activities}", "(9 of the 12 activities are in the wrong stage"),
        "a renamed key": (_renamed("schema validation", "schema-validation"), "(you have 'schema-validation'"),
        "a misspelt stage": (_moved(**{"load-testing the prediction API": "Deployment"}), "write 'Deploy'"),
        "the list itself": ("activity_stage = activities", "should be a dict from activity to stage name, but it is a list"),
    },
    "overview.next_stage": {
        "runs off the end": ('''
def next_stage(stage):
    order = ["Data", "Train", "Deploy", "Monitor"]
    return order[order.index(stage) + 1]
''', "wrap around"),
        "no entry for Monitor": ('''
def next_stage(stage):
    return {"Data": "Train", "Train": "Deploy", "Deploy": "Monitor"}.get(stage)
''', "Monitor has a next stage too"),
        "stops at Monitor": ('''
def next_stage(stage):
    order = ["Data", "Train", "Deploy", "Monitor"]
    return order[min(order.index(stage) + 1, len(order) - 1)]
''', "does not end at Monitor"),
        "backwards": ('''
def next_stage(stage):
    order = ["Data", "Train", "Deploy", "Monitor"]
    return order[(order.index(stage) - 1) % len(order)]
''', "stage *before* it"),
        "a KeyError": ('''
def next_stage(stage):
    return {"Data": "Train", "Train": "Deploy", "Deploy": "Monitor", "Monitor": "Data"}[stage]
''', "raised KeyError; raise ValueError instead"),
        "None for a bad name": ('''
def next_stage(stage):
    return {"Data": "Train", "Train": "Deploy", "Deploy": "Monitor", "Monitor": "Data"}.get(stage)
''', "for a name that is not a stage, raise ValueError"),
        "a vague error": ('''
def next_stage(stage):
    order = ["Data", "Train", "Deploy", "Monitor"]
    if stage not in order:
        raise ValueError("bad input")
    return order[(order.index(stage) + 1) % 4]
''', "does not name"),
        "the empty name unquoted": ('''
def next_stage(stage):
    order = ["Data", "Train", "Deploy", "Monitor"]
    if stage not in order:
        raise ValueError(f"unknown stage: {stage}")
    return order[(order.index(stage) + 1) % 4]
''', "an empty name only shows in quotes"),
        "case-insensitive": ('''
def next_stage(stage):
    order = ["Data", "Train", "Deploy", "Monitor"]
    stage = stage.strip().capitalize()
    return order[(order.index(stage) + 1) % 4]
''', "next_stage('data') returned 'Train'"),
        "the position": ('''
def next_stage(stage):
    order = ["Data", "Train", "Deploy", "Monitor"]
    return (order.index(stage) + 1) % 4
''', "not its position"),
        "no return": ('''
def next_stage(stage):
    order = ["Data", "Train", "Deploy", "Monitor"]
    order[(order.index(stage) + 1) % 4]
''', "forget a `return`"),
    },
}
