"""The probes of lesson 06 (interview preparation): what the grading child runs.

Every answer here is a value (letters, an order, a STAR dict) judged as it
is, so each test probes with :func:`mlcourse.exercises.probes.as_given`. This
module holds the lesson's public verdicts: the form of an answer to a question
with options (from what the learner reads: the answer's name, the option
keys, the kind of question; never which option is right) and the STAR
answer's rules (:mod:`mlcourse.exercises.interview.review`, public on
purpose). The graded edition runs them in the notebook; ``checks.py`` uses them too.
"""
from __future__ import annotations

from typing import Any

from mlcourse.exercises.compare import show
from mlcourse.exercises.interview.review import star_problems
from mlcourse.exercises.plain import TAG, kind


def _normalise_key(item: str) -> str:
    """'B', ' b ', '(b)' and 'b)' all mean option 'b'."""
    return item.strip().strip("().").strip().lower()


def keys_given(got: Any, form: dict) -> tuple[list[str] | None, str | None]:
    """The option keys in the learner's answer, in their order, or a message about its form.

    ``form`` is what the learner reads anyway: the answer's name, the option
    keys in the order shown and the question's kind (``multi``, ``single`` or
    ``order``); never which option is right.
    """
    name, keys, kind_ = form["answer"], list(form["keys"]), form["kind"]
    example = {
        "multi": f'a set of letters such as {{"{keys[0]}", "{keys[2]}"}}',
        "single": f'one letter as a string, such as "{keys[1]}"',
        "order": f'a list of all {len(keys)} letters in order, such as ["{keys[0]}", "{keys[1]}", ...]',
    }[kind_]
    from_string = type(got) is str
    if from_string:
        items: Any = [got]
    elif type(got) is list:
        items = got
    elif isinstance(got, dict) and got.get(TAG) in ("tuple", "set"):
        if kind_ == "order" and got.get(TAG) == "set":
            return None, f"`{name}` is a set, and a set has no order: give {example}"
        items = got["items"]
    elif isinstance(got, dict) and got.get(TAG) == "ndarray" and len(got.get("shape", [])) == 1:
        items = got["data"]
    else:
        return None, f"`{name}` should be {example}, but it is {kind(got)} ({show(got)})"
    if not all(type(i) is str for i in items):
        bad = next(i for i in items if type(i) is not str)
        return None, f"each option is named by its letter as a string (\"{keys[0]}\"), but `{name}` holds {kind(bad)} ({show(bad)})"
    given = [_normalise_key(i) for i in items]
    if from_string and given[0] not in keys:
        packed = [c for c in given[0] if c.isalpha()]
        if kind_ != "single" and len(packed) > 1 and all(c in keys for c in packed):
            return None, f"`{name}` is one string holding several letters; give one string per option: {example}"
    unknown = [g for g in given if g not in keys]
    if unknown:
        return None, f"{show(unknown[0])} is not one of the options; the options are {', '.join(keys)}"
    if not given:
        return None, f"`{name}` is empty: give {example}"
    return given, None




def answer_form_verdict(got: Any, form: dict) -> str | None:
    """The public test of a question with options: the answer names options in the asked form (never which)."""
    given, problem = keys_given(got, form)
    if problem:
        return problem
    if form["kind"] == "single" and len(dict.fromkeys(given)) > 1:
        return f"this question has one best answer, and you gave {len(dict.fromkeys(given))}: choose one letter"
    if form["kind"] == "order" and len(given) != len(form["keys"]):
        return f"give all {len(form['keys'])} steps, each once; you gave {len(given)}"
    return None


def star_verdict(got: Any, element: str) -> str | None:
    """One element of a STAR answer (``parts``, a stage, ``result``), by the public rules of :mod:`.review`."""
    problems = star_problems(got)
    own = [m for e, m, _p in problems if e == element]
    if not own:
        return None
    if problems[0][0] == element:  # the first failing test lists everything left to fix
        everything = [m for _e, m, primary in problems if primary]
        if len(everything) > 1:
            return f"{len(everything)} things to fix:\n" + "\n".join(f"- {m}" for m in everything)
    return "; ".join(own)
