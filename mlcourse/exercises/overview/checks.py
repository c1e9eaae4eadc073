"""Exercises of lesson 00, the lifecycle overview: a warm-up with the check mechanics.

Three small exercises, so a learner meets ``check()``, ``hint()``,
``solution()`` and ``progress()`` before the real work starts:

* ``overview.stage_order``: the four stages as a list, in order;
* ``overview.activity_stage``: a dict placing twelve activities in their stage;
* ``overview.next_stage``: a function that walks the loop (Monitor -> Data).

The stage names come from :data:`mlcourse.figures.LIFECYCLE`, the same source
the lesson's diagram draws.

This module is the lesson's answer key; what the grading child runs is in
:mod:`mlcourse.exercises.overview.probes`.
"""
from __future__ import annotations

from typing import Any

from mlcourse.exercises.compare import show
from mlcourse.exercises.engine import Exercise, Function, Mistake, Value, holds, returns
from mlcourse.exercises.overview import probes
from mlcourse.exercises.overview.probes import STAGES
from mlcourse.exercises.probes import as_given

# Why each stage sits where it does, for the learner's messages.
_WHY_HERE = {
    "Data": "every model starts from data that was collected and checked first",
    "Train": "a model is fitted on the prepared data before anyone can use it",
    "Deploy": "a model must be packaged and serving before anything can be monitored",
    "Monitor": "watching the live model is what tells you when to go round the loop again",
}


# --------------------------------------------------------------------------
# overview.stage_order: the four stages, in order
# --------------------------------------------------------------------------
def stage_order_verdict(got: Any, _: Any) -> str | None:
    """Judge the learner's list of stages; name the first problem found."""
    problem = probes.stage_list_problem(got)
    if problem:
        return problem
    for stage in STAGES:
        if got.count(stage) > 1:
            return f"{stage!r} appears {got.count(stage)} times; each stage comes once"
    missing = [s for s in STAGES if s not in got]
    if missing:
        return f"the list has no {missing[0]!r}: {_WHY_HERE[missing[0]]}"
    if got == list(STAGES):
        return None
    start = got.index(STAGES[0])
    if got[start:] + got[:start] == list(STAGES):
        return (
            f"this is the right cycle, but it starts at {got[0]!r}; a new system starts from Data, "
            "so list the stages starting there"
        )
    if got.index("Monitor") < got.index("Deploy"):
        return "'Monitor' comes before 'Deploy': you can only monitor a model that is already serving predictions"
    for i, (want, have) in enumerate(zip(STAGES, got)):
        if want != have:
            return f"item {i} should be {want!r}, got {have!r}: {_WHY_HERE[want]}"
    return None  # pragma: no cover - a permutation that equals STAGES returned above


stage_order = Exercise(
    id="overview.stage_order",
    title="Put the four stages in order",
    points=1,
    answer=Value("stages"),
    tests=[
        holds("your list of stages", as_given, stage_order_verdict),
        # The visible example of a graded cohort: the list's form, never its order. It weighs nothing and
        # comes last, so the full verdict's message (which names any problem of form too) is the one shown.
        holds("the form of your list", as_given, probes.stage_list_form_verdict, weight=0, public=True),
    ],
    hints=(
        "Follow the straight arrows of the lifecycle figure, starting from the stage every project starts with.",
        "Use the names exactly as the figure writes them: one capitalised word each, as strings in a list.",
    ),
)


# --------------------------------------------------------------------------
# overview.activity_stage: which stage does each activity belong to?
# --------------------------------------------------------------------------
#: activity -> (its stage, why), in the order the lesson lists them.
ACTIVITIES: dict[str, tuple[str, str]] = {
    "drift detection": (
        "Monitor",
        "drift is a change in the live inputs, seen only by comparing production traffic with the training data",
    ),
    "schema validation": (
        "Data",
        "types, ranges and missing values are checked before anything learns from the table",
    ),
    "canary rollout": (
        "Deploy",
        "sending a small share of live traffic to the new model first is a way of releasing it",
    ),
    "hyperparameter tuning": (
        "Train",
        "tuning searches a model's settings against validation data, before anything ships",
    ),
    "removing duplicate rows": ("Data", "it is cleaning, part of preparing the data"),
    "alerting on prediction latency": (
        "Monitor",
        "watching the running service's latency and errors is system monitoring",
    ),
    "cross-validation": ("Train", "estimating how well a model generalises is part of evaluating it"),
    "packaging the model with its dependencies": (
        "Deploy",
        "serialising the model and pinning its environment is what makes it shippable",
    ),
    "feature engineering": (
        "Data",
        "features are built from the prepared data, before (and independently of) any one model",
    ),
    "load-testing the prediction API": (
        "Deploy",
        "it tests the service before it takes real traffic; once it is live, watching latency is monitoring",
    ),
    "comparing against a baseline model": (
        "Train",
        "a model is judged against a simple baseline while it is being built",
    ),
    "triggering a retrain": (
        "Monitor",
        "the decision to retrain comes from what monitoring sees; it closes the loop back to Data",
    ),
}


def _misplaced(mapping: dict) -> list[str]:
    """The activities the learner put in a stage other than theirs, in the lesson's order."""
    return [a for a, (stage, _why) in ACTIVITIES.items() if a in mapping and mapping[a] != stage]


def _stage_verdict(stage: str):
    """The verdict on one stage's activities: the first one misplaced, and how many are misplaced in all.

    Never the whole list: a message that places every activity would hand out the answer.
    """

    def verdict(got: Any, _: Any) -> str | None:
        mapping = probes._plain_mapping(got)
        if mapping is None:
            return "`activity_stage` is not a dict"
        ours = [a for a, (s, _why) in ACTIVITIES.items() if s == stage]
        missing = [a for a in ours if a not in mapping]
        if missing:
            return f"{missing[0]!r} is missing from your dict"
        wrong = [a for a in ours if mapping[a] != stage]
        if not wrong:
            return None
        first = wrong[0]
        message = f"{first!r} is under {show(mapping[first])}, but it belongs to {stage}: {ACTIVITIES[first][1]}"
        total = len(_misplaced(mapping))
        if total > 1:
            message += f" ({total} of the {len(ACTIVITIES)} activities are in the wrong stage; fix this one, then check again)"
        return message

    verdict.__name__ = f"{stage.lower()}_activities_verdict"
    return verdict


def _activity_names(rng: Any) -> list[str]:
    return list(ACTIVITIES)


activity_stage = Exercise(
    id="overview.activity_stage",
    title="Place each activity in its stage",
    points=2,
    answer=Value("activity_stage"),
    tests=[
        holds("the dict's keys and stage names", as_given, probes.activity_form_verdict, inputs=_activity_names, public=True),
        *[holds(f"the {stage} activities", as_given, _stage_verdict(stage)) for stage in STAGES],
    ],
    hints=(
        "For each activity ask: does it happen before a model exists (Data), while a model is being built (Train), "
        "while it is being shipped (Deploy), or while it answers real traffic (Monitor)?",
        "Anything you can only observe once real users send requests belongs to Monitor; anything that gets a model "
        "*into* the service safely belongs to Deploy.",
        "There are three activities per stage.",
    ),
)


# --------------------------------------------------------------------------
# overview.next_stage: walk the loop
# --------------------------------------------------------------------------
def reference_next_stage(stage: str) -> str:
    """The stage after ``stage``; after the last, the loop goes back to the first."""
    i = STAGES.index(stage)
    return STAGES[(i + 1) % len(STAGES)]


def _called_with(stage: str):
    return lambda got, a, exp: isinstance(a, (tuple, list)) and len(a) == 1 and a[0] == stage


_MONITOR_NONE = Mistake(
    lambda got, a, exp: got is None and _called_with("Monitor")(got, a, exp),
    "Monitor has a next stage too: the feedback loop goes from Monitor back to Data.",
)
_STAYS = Mistake(
    lambda got, a, exp: isinstance(a, (tuple, list)) and got == a[0],
    "You returned the stage you were given; return the one that comes after it.",
)
_STOPS_AT_MONITOR = Mistake(
    lambda got, a, exp: got == "Monitor" and _called_with("Monitor")(got, a, exp),
    "The lifecycle does not end at Monitor: after it the loop goes back to Data.",
)
_BACKWARDS = Mistake(
    lambda got, a, exp: (
        isinstance(a, (tuple, list)) and a[0] in STAGES and got == STAGES[(STAGES.index(a[0]) - 1) % len(STAGES)]
    ),
    "That is the stage *before* it; the loop runs Data -> Train -> Deploy -> Monitor -> Data.",
)
_A_NUMBER = Mistake(
    lambda got, a, exp: type(got) is int,
    "Return the stage's name (a string), not its position.",
)
_NEXT_MISTAKES = [_MONITOR_NONE, _STOPS_AT_MONITOR, _STAYS, _BACKWARDS, _A_NUMBER]


def _one(stage: str):
    return lambda rng: (stage,)


def random_stages(rng: Any) -> list[str]:
    """A fresh random sequence of stage names: every stage at least once (Monitor's wrap-around is
    always tested), then repeats, in random order."""
    extra = [STAGES[int(i)] for i in rng.integers(0, len(STAGES), int(rng.integers(2, 8)))]
    sequence = list(STAGES) + extra
    return [sequence[int(i)] for i in rng.permutation(len(sequence))]


def _each_verdict(got: Any, stages: Any) -> str | None:
    if type(got) is not list or len(got) != len(stages):
        return "the check could not read your answers"
    for s, g in zip(stages, got):
        want = reference_next_stage(s)
        if g != want or type(g) is not str:
            return f"on the sequence {stages}: next_stage({s!r}) returned {show(g)}, expected {want!r}"
    return None


#: Names that are not stages, in every test: the empty name, a stage in the wrong case, a stage
#: with a stray space, and a longer spelling of a stage.
EDGE_NAMES: tuple[str, ...] = ("", "data", "Monitor ", "Training")
#: Words a fresh bad name is drawn from (a random suffix makes each draw new).
_WORDS = ("Feedback", "Retrain", "Serving", "Evaluation", "Labelling", "Stage", "Deployment", "Loop")


def bad_names(rng: Any) -> list[str]:
    """The edge names, then two fresh ones (in this order, so the first problem named is the same on every seed)."""
    fresh = [f"{_WORDS[int(rng.integers(0, len(_WORDS)))]}{int(rng.integers(2, 100))}" for _ in range(2)]
    return list(EDGE_NAMES) + fresh


def _bad_name_problem(name: str, got: Any) -> str | None:
    """What is wrong with the learner's reaction to one name that is not a stage, or None."""
    if not isinstance(got, dict):
        return "the check could not read your answer"
    if "returned" in got:
        return (
            f"next_stage({name!r}) returned {got['returned']}; for a name that is not a stage, raise ValueError "
            "naming it, so a typo fails loudly instead of sending the pipeline to the wrong step"
        )
    raised = got.get("raised")
    if raised == "KeyError":
        return (
            f"next_stage({name!r}) raised KeyError; raise ValueError instead: the caller passed a bad value, "
            "which is what ValueError says (a KeyError leaks how you looked it up)"
        )
    if raised != "ValueError":
        return f"next_stage({name!r}) raised {raised}; raise ValueError for a name that is not a stage"
    message = str(got.get("message", ""))
    shown = (repr(name) in message or f'"{name}"' in message) if not name.strip() else name in message
    if not shown:
        how = " (an empty name only shows in quotes: format it with !r, e.g. f\"{stage!r}\")" if not name else ""
        return f"next_stage({name!r}) raised ValueError, but its message does not name {name!r}{how}; say which input was wrong"
    return None


def _unknown_verdict(got: Any, names: Any) -> str | None:
    if type(got) is not list or len(got) != len(names):
        return "the check could not read your answers"
    problems = [p for p in (_bad_name_problem(n, g) for n, g in zip(names, got)) if p]
    if not problems:
        return None
    more = f" ({len(problems)} of the {len(names)} names that are not stages went wrong)" if len(problems) > 1 else ""
    return problems[0] + more


next_stage = Exercise(
    id="overview.next_stage",
    title="Walk the loop: the stage after a stage",
    points=2,
    answer=Function("next_stage"),
    tests=[
        *[returns(f"the stage {s!r}", _one(s), reference_next_stage, mistakes=_NEXT_MISTAKES, public=True) for s in STAGES],
        holds("a fresh random sequence of stages", probes.call_on_each, _each_verdict, inputs=random_stages),
        holds(
            "names that are not stages ('', 'data', 'Monitor ', 'Training' and fresh ones)",
            probes.call_on_bad_names, _unknown_verdict, inputs=bad_names,
        ),
    ],
    hints=(
        "Keep the four names in a list, in order; the answer is the item after `stage`'s position.",
        "`order.index(stage)` finds the position, and it raises ValueError naming the value when `stage` is not in "
        "the list: exactly the error asked for.",
        "After the last position, wrap around to the first: `order[(i + 1) % len(order)]`.",
    ),
    on_error={
        "IndexError": "After the last stage the index runs off the end of the list: wrap around with "
        "`% len(...)`, because the loop goes from Monitor back to Data.",
        "KeyError": "A dict of next stages needs an entry for every stage, Monitor included (its next stage is Data).",
    },
)
