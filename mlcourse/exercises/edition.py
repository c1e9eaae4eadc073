"""The graded edition, on the learner's side: the lessons' checks without the answer key.

A graded cohort installs the learner wheel that ``mlcourse release --edition
graded`` writes (see :mod:`mlcourse.release`). It holds no ``checks.py`` and
no solutions notebook, and carries ``mlcourse/_lessons/edition.json``, whose
presence makes the installation the graded edition:

* :func:`exercises_of` builds each exercise from the edition: its **public**
  tests only, each with its fixed inputs and the expected value the reference
  gave on them at release time (a :func:`~mlcourse.exercises.engine.returns` or
  :func:`~mlcourse.exercises.engine.value_is` test is compared with its own
  :class:`~mlcourse.exercises.compare.Compare`; a
  :func:`~mlcourse.exercises.engine.holds` test runs its verdict, a function of
  the lesson's ``probes.py``, with the stored expected value). The probes and
  the engine are the very ones the grader uses;
* ``solution()`` says the instructor has turned solutions off; ``hint()``
  gives the lesson's hints only where the instructor left them on;
* the grader refuses to run here: it needs the full definitions, which grade
  public and hidden tests on inputs drawn from a secret seed.

Without ``edition.json`` (the self-paced edition, a source checkout, the
instructor's installation) nothing here is used.

The file's layout (``format`` 1)::

    {"edition": "graded", "format": 1, "mlcourse": "0.1.0",
     "lessons": {"00_lifecycle_overview": {"hints": true, "exercises": [
        {"id": ..., "title": ..., "points": ..., "answer": {"name": ..., "kind": ...},
         "forbid": [...], "on_error": {...}, "hints": [...], "review": false, "hidden_tests": 2,
         "tests": [{"name": ..., "probe": "<module.function>", "weight": 1.0,
                    "has_inputs": true, "inputs": <plain>, "check": <one of the three below>}]}]}}}

    {"kind": "returns", "expected": <plain>, "compare": {...}, "tail": "[called with ...]", "keeps_inputs": false}
    {"kind": "value", "expected": <plain>, "compare": {...}, "reveal": false}
    {"kind": "verdict", "verdict": "<module.function>", "expected": <plain>}   (expected only when the verdict takes it)

Examples
--------
>>> installed()  # a source checkout is never the graded edition
False
"""
from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from mlcourse.exercises import feedback, probes
from mlcourse.exercises.compare import Compare
from mlcourse.exercises.engine import Answer, Exercise, Reference, Result, Test, returned_verdict, value_verdict
from mlcourse.exercises.plain import from_plain

EDITION = "graded"
FORMAT = 1
FILE_NAME = "edition.json"

SOLUTIONS_OFF = "Solutions are turned off in this graded course: your instructor grades this exercise."
HINTS_OFF = "Hints are turned off for this lesson by your instructor."
STUCK = "Stuck? Read the message above, then run .hint() for a hint."
STUCK_NO_HINTS = "Read the message above: it names the input and what was expected."


class EditionError(ValueError):
    """The edition file cannot be used (one line for the user)."""


def edition_path() -> Path:
    """Where an installed learner wheel keeps ``edition.json``."""
    return Path(__file__).resolve().parent.parent / "_lessons" / FILE_NAME


def installed() -> bool:
    """Whether this installation is the graded edition (its wheel carries ``edition.json``)."""
    return edition_path().is_file()


@lru_cache(maxsize=1)
def load() -> dict:
    """The installed edition, read once."""
    path = edition_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EditionError(f"{path} cannot be read ({exc}); reinstall the course wheel your instructor gave you") from None
    if not isinstance(data, dict) or data.get("edition") != EDITION or data.get("format") != FORMAT:
        raise EditionError(f"{path} is not a graded edition this mlcourse reads (format {FORMAT}); reinstall the course wheel")
    return data


def lessons() -> list[str]:
    """The lessons this edition carries, in course order."""
    return list(load()["lessons"])


def exercises_of(lesson: str) -> list[Exercise]:
    """A lesson's exercises as the graded edition checks them (public tests only)."""
    entry = load()["lessons"].get(lesson)
    if entry is None:
        raise KeyError(f"lesson {lesson!r} is not part of this graded course; it has: {', '.join(lessons())}")
    return [_exercise(e, bool(entry.get("hints"))) for e in entry["exercises"]]


# --------------------------------------------------------------------------
# Building exercises from the stored entries
# --------------------------------------------------------------------------
def resolve(qualified: str) -> Any:
    """A function of a probes module, by its qualified name (a probe or a public verdict)."""
    module, _, _name = str(qualified).rpartition(".")
    if not probes.allowed_module(module):
        raise EditionError(f"{qualified!r} is not in a probes module")
    return probes.resolve(qualified, {module: importlib.import_module(module)})


def _stored(value: Any):
    # A fresh object on every call: an answer that mutates its input must not change the next check.
    return lambda _=None: from_plain(value)


def _test(entry: Mapping[str, Any]) -> Test:
    check = entry["check"]
    kind = check["kind"]
    inputs = _stored(entry.get("inputs")) if entry.get("has_inputs") else None
    common = {"name": entry["name"], "probe": resolve(entry["probe"]), "inputs": inputs, "weight": float(entry["weight"]),
              "public": True}
    if kind == "returns":
        compare = Compare(**check["compare"])

        def verdict(got: Any, args: Any) -> str | None:
            return returned_verdict(check["expected"], got, args, compare=compare, tail=check["tail"],
                                    keeps_inputs=bool(check["keeps_inputs"]))

        return Test(verdict=verdict, **common)
    if kind == "value":
        compare = Compare(**check["compare"])

        def verdict(got: Any, _: Any) -> str | None:
            return value_verdict(check["expected"], got, compare=compare, reveal=bool(check["reveal"]))

        return Test(verdict=verdict, **common)
    if kind == "verdict":
        ref = Reference(expected=_stored(check["expected"])) if "expected" in check else None
        return Test(verdict=resolve(check["verdict"]), reference=ref, **common)
    raise EditionError(f"unknown kind of stored test {kind!r}")


@dataclass(frozen=True)
class EditionExercise(Exercise):
    """An exercise of the graded edition: its public tests, and what the learner may see."""

    hidden_tests: int = 0
    hints_on: bool = True

    def judge(self, probed: Any, inputs: Any, **sources: Any) -> Result:
        result = super().judge(probed, inputs, **sources)
        result.public_only = True
        result.hidden_tests = self.hidden_tests
        result.stuck = STUCK if self.hints_on and self.hints else STUCK_NO_HINTS
        return result

    def hint(self) -> None:
        if not self.hints_on:
            feedback.show(feedback.note_view(self.id, HINTS_OFF))
            return
        super().hint()

    def solution(self) -> None:
        feedback.show(feedback.note_view(self.id, SOLUTIONS_OFF))


def _exercise(entry: Mapping[str, Any], hints_on: bool) -> EditionExercise:
    answer = entry["answer"]
    return EditionExercise(
        id=str(entry["id"]),
        title=str(entry["title"]),
        points=float(entry["points"]),
        answer=Answer(str(answer["name"]), str(answer["kind"])),
        tests=[_test(t) for t in entry["tests"]],
        hints=tuple(entry.get("hints", ())) if hints_on else (),
        forbid=tuple(entry.get("forbid", ())),
        on_error=dict(entry.get("on_error", {})),
        review=bool(entry.get("review", False)),
        hidden_tests=int(entry.get("hidden_tests", 0)),
        hints_on=hints_on,
    )


def compare_settings(compare: Compare) -> dict:
    """A :class:`Compare` as the edition stores it.

    Examples
    --------
    >>> Compare(**compare_settings(Compare(rtol=0.01))) == Compare(rtol=0.01)
    True
    """
    return dataclasses.asdict(compare)
