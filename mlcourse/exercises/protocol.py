"""The messages between the two halves of a check, and the statuses they end in.

A check runs in two halves (see :mod:`mlcourse.exercises.engine`): the probe,
where the learner's objects live, and the verdict, on plain data only. In the
grader they are two processes, so what crosses is written down here:

* :class:`ExerciseSpec`: what the grading child is told about an exercise
  (the answer's name and kind, each test's probe by qualified name, the names
  the answer may not call): never a reference, a verdict or a hint;
* :class:`ProbeReport` and :class:`TestReport`: what the probe answers, plain
  data the verdict judges;
* :class:`Status`: how a test or an exercise ended. Its values are the strings
  written to ``results.json`` and the gradebook.

Examples
--------
>>> Status.PASSED == "passed", f"{Status.NOT_ATTEMPTED}"
(True, 'not attempted')
"""
from __future__ import annotations

from enum import Enum
from typing import Any, TypedDict


class Status(str, Enum):
    """How a test or an exercise ended; compares and prints as its string value."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    NOT_ATTEMPTED = "not attempted"

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return repr(self.value)

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class AnswerSpec(TypedDict):
    """The name the learner defines and its kind: ``function``, ``value`` or ``model``."""

    name: str
    kind: str


class TestSpec(TypedDict):
    """One test as the grading child knows it: its name and its probe's qualified name."""

    name: str
    probe: str


class ExerciseSpec(TypedDict):
    """Everything the grading child learns about one exercise."""

    id: str
    title: str
    answer: AnswerSpec
    forbid: list[str]
    tests: list[TestSpec]


class TestReport(TypedDict, total=False):
    """One test's probe result.

    ``ok`` True: ``value`` holds the probe's plain result. Otherwise ``kind``
    says what happened: ``"stub"`` (the untouched stub raised), ``"error"``
    (the answer raised: ``type``, ``message``, ``traceback``), ``"unplain"``
    (the result has no plain form: ``message``) or ``"shortcut"`` (the answer
    reached a name it may not call: ``called``).
    """

    ok: bool
    value: Any
    kind: str
    type: str
    message: str
    traceback: str
    called: list[str]


class ProbeReport(TypedDict, total=False):
    """The probe's answer for one exercise.

    ``answer`` is ``"present"`` (then ``type`` and ``tests``), ``"missing"``,
    ``"stub"`` or ``"not_callable"`` (then ``type``). For a function answer,
    ``returns_value`` says whether its code has a ``return`` with a value
    (absent when that cannot be told): a failure without one is told it
    forgot its ``return``.
    """

    answer: str
    type: str
    tests: list[TestReport]
    returns_value: bool


__all__ = ["AnswerSpec", "ExerciseSpec", "ProbeReport", "Status", "TestReport", "TestSpec"]
