"""The exercise engine: declarative exercises checked in two halves.

An :class:`Exercise` says what the learner defines (a function, a value or a
fitted model), its tests, its hints and its points. Each :class:`Test` has

* ``inputs(rng)``: fresh inputs, generated where the verdict runs;
* ``probe(answer, inputs)``: runs where the learner's objects live and returns
  whatever the answer gives back, which the engine turns into plain data. A
  probe is a function at the top of :mod:`mlcourse.exercises.probes` or of the
  lesson's ``probes.py``, so the grading child can load it by name;
* ``verdict(got, inputs)``: runs on plain data only and returns ``None`` for a
  pass or a message for the learner.

In a notebook both halves run in the learner's kernel (``ex.check()``). The
autograder runs the probe in the sandboxed submission, which is told only the
exercise's :meth:`Exercise.spec` (never its references, verdicts or hints),
and the verdict in its own process, with the very same definitions: there is
one version of a check. :func:`probe_plan` is the probe half for both.

In the notebook, :meth:`Exercise.check` draws a test's inputs and computes
its references once per (exercise, seed) and keeps them
(:mod:`~mlcourse.exercises.cache`), asks :mod:`~mlcourse.exercises.cells`
how the answer cell last ran (a failed run is reported, never judged), and
shows the result through :mod:`~mlcourse.exercises.feedback` (HTML in
JupyterLab, text elsewhere).

Examples
--------
>>> import numpy as np
>>> square = Exercise(
...     id="demo.square", title="Square a number", points=1,
...     answer=Function("square"),
...     tests=[returns("a random integer", lambda rng: (int(rng.integers(-9, 9)),), lambda x: x * x)],
... )
>>> square.run({"square": lambda x: x * x}).status
'passed'
>>> square.run({"square": lambda x: x + x}, seed=1).status
'failed'
"""
from __future__ import annotations

import hashlib
import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlcourse.exercises import cache, catalog, feedback, guard, probes
from mlcourse.exercises.cache import per_inputs
from mlcourse.exercises.compare import Compare, show
from mlcourse.exercises.plain import TAG, PlainError, from_plain, kind, to_plain
from mlcourse.exercises.protocol import ExerciseSpec, ProbeReport, Status, TestReport

PASSED = Status.PASSED
FAILED = Status.FAILED
ERROR = Status.ERROR
NOT_ATTEMPTED = Status.NOT_ATTEMPTED

# Part of every stub's NotImplementedError message: how the engine tells an
# untouched stub from a learner's own NotImplementedError.
STUB_MARKER = "not attempted yet"

# The default comparison of :func:`returns` and :func:`value_is`: one shared
# instance, which is safe because Compare is frozen.
_DEFAULT_COMPARE = Compare()


def stub_message(exercise_id: str) -> str:
    """The text a generated stub raises, naming the exercise."""
    return f"{exercise_id}: {STUB_MARKER}. Replace this line with your code, then run the check cell."


def points_text(points: float) -> str:
    """``1 point``, ``2 points``, ``0.5 points``."""
    return f"{points:g} point" + ("" if points == 1 else "s")


# --------------------------------------------------------------------------
# What the learner defines
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    """The name the learner defines and what kind of object it should be."""

    name: str
    kind: str = "value"  # "function", "value" or "model"

    def describe(self) -> str:
        return {"function": f"a function `{self.name}`", "model": f"a fitted model `{self.name}`"}.get(
            self.kind, f"a variable `{self.name}`"
        )


def Function(name: str) -> Answer:
    """The learner defines a function called ``name``."""
    return Answer(name, "function")


def Value(name: str) -> Answer:
    """The learner assigns a value to ``name``."""
    return Answer(name, "value")


def Model(name: str) -> Answer:
    """The learner fits a model (an estimator or Pipeline) called ``name``."""
    return Answer(name, "model")


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Mistake:
    """A known wrong answer: when ``when(got, inputs, expected)`` holds, say ``say``.

    ``got`` and ``expected`` are plain data; ``expected`` is None for tests
    without a reference value. ``say`` is the message, or a function of the
    same three arguments that words it (for a message that names what it
    found).
    """

    when: Callable[[Any, Any, Any], Any]
    say: str | Callable[[Any, Any, Any], str]


@dataclass(frozen=True)
class Reference:
    """How a test knows the right answer, apart from its verdict.

    What lets the graded edition (:mod:`mlcourse.exercises.edition`) run a
    public test without the answer key: at release time ``expected(inputs)``
    is computed on the test's fixed inputs and stored, and the notebook
    compares with the stored value.

    * :func:`returns` and :func:`value_is` set ``compare`` (and ``describe``,
      ``keeps_inputs``, ``reveal``, ``mistakes``): the stored value is compared
      with that :class:`~mlcourse.exercises.compare.Compare`;
    * :func:`holds` with ``expected=`` leaves ``compare`` None: its verdict
      is called as ``verdict(got, inputs, expected)``.
    """

    expected: Callable[[Any], Any]
    compare: Compare | None = None
    describe: Callable[[tuple], str] | None = None
    keeps_inputs: bool = False
    reveal: bool = True
    mistakes: Sequence[Mistake] = ()


@dataclass(frozen=True)
class Test:
    """One test of an exercise. See the module docstring for the three parts."""

    name: str
    probe: Callable[[Any, Any], Any]
    verdict: Callable[..., str | None]
    inputs: Callable[[Any], Any] | None = None
    weight: float = 1.0
    #: A public test is one a learner of a graded cohort may run in the notebook
    #: (at least the visible example); the rest are hidden tests, run by the grader only.
    public: bool = False
    #: The right answer apart from the verdict (see :class:`Reference`); None
    #: for a :func:`holds` test whose verdict needs no reference value.
    reference: Reference | None = None

    def judge(self, got: Any, inputs: Any) -> str | None:
        """The verdict on ``got``: None for a pass, else the message."""
        ref = self.reference
        if ref is not None and ref.compare is None:
            return self.verdict(got, inputs, to_plain(ref.expected(inputs)))
        return self.verdict(got, inputs)


def _none_returned(got: Any, inputs: Any, expected: Any) -> bool:
    return got is None and expected is not None


FORGOT_RETURN = Mistake(_none_returned, "Your function returned None: did you forget a `return` statement?")


def changed_inputs_message(changed: Sequence[int], args: tuple) -> str:
    """What to tell a learner whose function changed its arguments in place."""
    which = ", ".join(f"argument {i + 1}" for i in changed)
    return (
        f"your function changed its input in place ({which}), so the caller's object is no longer what it was; "
        "the task asks for a new object: work on a copy (for a DataFrame, `df = df.copy()` first) and return that"
    )


def known_mistake(mistakes: Sequence[Mistake], got: Any, inputs: Any, expected: Any) -> str | None:
    """What the first matching known mistake says, or None.

    A detector that raises is skipped: it must never turn a failure into a crash.

    Examples
    --------
    >>> known_mistake([Mistake(lambda g, a, e: g == 0, "Zero is never right.")], 0, (), 1)
    'Zero is never right.'
    """
    for m in mistakes:
        try:
            if m.when(got, inputs, expected):
                say = m.say(got, inputs, expected) if callable(m.say) else m.say
                if say:
                    return str(say)
        except Exception:
            continue
    return None


def describe_args(args: tuple) -> str:
    """A short rendering of a call's arguments for a failure message."""
    parts = []
    for a in args:
        try:
            parts.append(show(to_plain(a)))
        except Exception:
            parts.append(type(a).__name__)
    return ", ".join(parts) if parts else "no arguments"


def called_with(args: tuple) -> str:
    """The default end of a :func:`returns` failure: ``[called with ...]``."""
    return f"[called with {describe_args(args)}]"


def returns(
    name: str,
    args: Callable[[Any], tuple],
    expected: Callable[..., Any],
    *,
    compare: Compare = _DEFAULT_COMPARE,
    mistakes: Sequence[Mistake] = (),
    describe: Callable[[tuple], str] = called_with,
    keeps_inputs: bool = False,
    weight: float = 1.0,
    public: bool = False,
) -> Test:
    """A test that calls the learner's function and compares its return value.

    Parameters
    ----------
    name : str
        What the input is, as the learner will read it ("a frame with nulls").
    args : callable
        ``args(rng)`` returns the positional arguments as a tuple.
    expected : callable
        The reference: ``expected(*args)`` gives the right answer.
    compare : Compare
        How to compare (tolerances, order).
    mistakes : sequence of Mistake
        Known wrong answers and what to tell the learner about each.
    describe : callable
        ``describe(args)`` ends a failure message, saying what the function
        was called with (default: ``[called with ...]``).
    keeps_inputs : bool
        The task asks for a new object: the function gets the test's real
        arguments and fails the test when it changes any of them in place
        (a right value computed by mutating the caller's frame is wrong).
    weight : float
        The test's share of the exercise's points.
    public : bool
        Whether a graded cohort's learners may run this test in the notebook
        (see :class:`Test`).

    The call is watched through the exercise's ``forbid`` (see
    :mod:`mlcourse.exercises.guard`), like every test's.

    Examples
    --------
    >>> t = returns("2", lambda rng: (2,), lambda x: x + 1)
    >>> t.verdict(3, (2,)) is None
    True
    >>> t.verdict(4, (2,))
    'expected 3, got 4 [called with 2]'
    >>> k = returns("a list", lambda rng: ([1, 2],), sorted, keeps_inputs=True)
    >>> k.verdict({"returned": [1, 2], "changed": [0]}, ([1, 2],))[:38]
    'your function changed its input in pla'
    """

    @per_inputs
    def reference(a: tuple) -> Any:
        # The reference sees a rebuilt copy, as the answer does, and is computed once per inputs object.
        return to_plain(expected(*from_plain(to_plain(a))))

    def verdict(got: Any, a: tuple) -> str | None:
        return returned_verdict(reference(a), got, a, compare=compare, mistakes=mistakes, tail=describe(a), keeps_inputs=keeps_inputs)

    probe = probes.call_keeping_inputs if keeps_inputs else probes.call
    ref = Reference(
        expected=lambda a: expected(*from_plain(to_plain(a))), compare=compare, describe=describe,
        keeps_inputs=keeps_inputs, mistakes=tuple(mistakes),
    )
    return Test(name=name, probe=probe, verdict=verdict, inputs=args, weight=weight, public=public, reference=ref)


def returned_verdict(
    exp: Any, got: Any, args: Any, *, compare: Compare, mistakes: Sequence[Mistake] = (), tail: str = "",
    keeps_inputs: bool = False,
) -> str | None:
    """The verdict of a :func:`returns` test, given the expected value as plain data.

    Shared by the full definition and the graded edition's public tests
    (which know ``exp`` from the release, and no mistakes); ``tail`` ends a
    failure message (``[called with ...]``).

    Examples
    --------
    >>> returned_verdict(3, 4, (2,), compare=Compare(), tail="[called with 2]")
    'expected 3, got 4 [called with 2]'
    """
    if keeps_inputs:
        if not (isinstance(got, dict) and set(got) == {"returned", "changed"} and isinstance(got["changed"], list)):
            return "the check could not read what your function returned"
        if got["changed"]:
            return f"{changed_inputs_message(got['changed'], args)} {tail}".rstrip()
        got = got["returned"]
    problem = compare(exp, got)
    if problem is None:
        return None
    say = known_mistake((*mistakes, FORGOT_RETURN), got, args, exp)
    if say:
        problem = f"{problem}. {say}"
    return f"{problem} {tail}".rstrip()


def value_is(
    name: str,
    expected: Callable[[], Any],
    *,
    compare: Compare = _DEFAULT_COMPARE,
    mistakes: Sequence[Mistake] = (),
    probe: Callable[[Any, Any], Any] = probes.as_given,
    reveal: bool = False,
    weight: float = 1.0,
    public: bool = False,
) -> Test:
    """A test that compares the learner's value (as ``probe`` returns it) with ``expected()``.

    ``probe(value, inputs)`` runs on the learner's side (for example one that
    sorts a list), so it is a probe like any other: a function of the lesson's
    ``probes.py``.

    Unless ``reveal`` is True, a failure message never shows the expected
    value: for a value exercise that would hand out the answer. It names a
    wrong type, or the known mistake, or says the value is not right.
    """

    known: list = []

    def verdict(got: Any, _: Any) -> str | None:
        if not known:  # the expected value depends on nothing: computed once
            known.append(to_plain(expected()))
        return value_verdict(known[0], got, compare=compare, mistakes=mistakes, reveal=reveal)

    ref = Reference(expected=lambda _: expected(), compare=compare, reveal=reveal, mistakes=tuple(mistakes))
    return Test(name=name, probe=probe, verdict=verdict, weight=weight, public=public, reference=ref)


def value_verdict(exp: Any, got: Any, *, compare: Compare, mistakes: Sequence[Mistake] = (), reveal: bool = False) -> str | None:
    """The verdict of a :func:`value_is` test, given the expected value as plain data.

    Examples
    --------
    >>> value_verdict(3, 4, compare=Compare())
    'that is not the right answer yet (you gave 4)'
    """
    problem = compare(exp, got)
    if problem is None:
        return None
    say = known_mistake(mistakes, got, None, exp)
    if say:
        return say if not reveal else f"{problem}. {say}"
    if reveal or kind(exp) != kind(got):
        return problem
    return f"that is not the right answer yet (you gave {show(got)})"


def holds(
    name: str,
    probe: Callable[[Any, Any], Any],
    verdict: Callable[..., str | None],
    *,
    inputs: Callable[[Any], Any] | None = None,
    expected: Callable[[Any], Any] | None = None,
    weight: float = 1.0,
    public: bool = False,
) -> Test:
    """A free-form test: any probe, any verdict on its plain result.

    With ``expected``, the reference is kept apart from the verdict:
    ``expected(inputs)`` gives the right answer and the verdict is called as
    ``verdict(got, inputs, expected)`` (the expected value as plain data). A
    public test of the graded edition needs that, or a verdict that needs no
    reference at all; either way its verdict must be a function at the top of
    a probes module, which the edition ships (see
    :mod:`mlcourse.exercises.edition`).

    Examples
    --------
    >>> t = holds("x", probes.as_given, lambda got, x, exp: None if got == exp else f"not {exp}", expected=lambda x: 2)
    >>> t.judge(2, None) is None, t.judge(3, None)
    (True, 'not 2')
    """
    # The reference depends on the inputs alone: computed once per kept inputs object (see mlcourse.exercises.cache).
    ref = Reference(expected=per_inputs(expected)) if expected is not None else None
    return Test(name=name, probe=probe, verdict=verdict, inputs=inputs, weight=weight, public=public, reference=ref)


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------
@dataclass
class TestResult:
    name: str
    status: Status
    message: str = ""
    traceback: str = ""
    weight: float = 1.0

    def to_dict(self) -> dict:
        return {"name": self.name, "status": str(self.status), "message": self.message, "traceback": self.traceback}


@dataclass
class Result:
    """The outcome of checking one exercise."""

    exercise: str
    title: str
    points: float
    status: Status
    score: float
    message: str = ""
    tests: list[TestResult] = field(default_factory=list)
    #: For an exercise marked ``review``: the score is provisional until an
    #: instructor has read ``answer_text`` (the learner's answer, as text).
    needs_review: bool = False
    answer_text: str = ""
    #: In the graded edition the notebook runs the public tests only: how many
    #: hidden tests the grader adds, and what to do when stuck (no solutions
    #: there; empty: the usual pointer to hint() and solution()).
    hidden_tests: int = 0
    public_only: bool = False
    stuck: str = ""

    @property
    def passed(self) -> int:
        return sum(1 for t in self.tests if t.status == PASSED)

    def to_dict(self) -> dict:
        return {
            "exercise": self.exercise,
            "title": self.title,
            "points": self.points,
            "status": str(self.status),
            "score": self.score,
            "message": self.message,
            "tests": [t.to_dict() for t in self.tests],
            "needs_review": self.needs_review,
            "answer_text": self.answer_text,
        }

    def render(self) -> str:
        """The check cell's output as text, written for the learner (see :mod:`~mlcourse.exercises.feedback`)."""
        return feedback.result_text(self)

    def view(self) -> feedback.View:
        """The check cell's output: HTML in JupyterLab, :meth:`render`'s text elsewhere."""
        return feedback.result_view(self)

    def _repr_html_(self) -> str:
        return feedback.result_html(self)

    def __str__(self) -> str:
        return self.render()


# --------------------------------------------------------------------------
# The probe half: runs where the learner's objects live
# --------------------------------------------------------------------------
def returns_a_value(fn: Any) -> bool | None:
    """Whether a function's code has a ``return`` with a value (None: cannot tell, e.g. a builtin).

    Read from the byte code, so it works wherever the function came from. A
    generator counts as giving a value.

    Examples
    --------
    >>> def forgot(x):
    ...     x * 2
    >>> def sometimes(x):
    ...     if x:
    ...         return x
    >>> def maybe(x):
    ...     return x if x else None
    >>> returns_a_value(forgot), returns_a_value(sometimes), returns_a_value(maybe), returns_a_value(lambda x: None)
    (False, True, True, False)
    >>> returns_a_value(len)
    """
    import dis
    import inspect
    import types

    try:
        code = getattr(fn, "__code__", None)
        if not isinstance(code, types.CodeType):
            return None
        if code.co_flags & (inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR):
            return True
        previous = None
        for ins in dis.get_instructions(code):
            if ins.opname == "RETURN_CONST" and ins.argval is not None:
                return True
            # A return reached by a jump (`return a if c else None`) may return
            # the value of another branch: only a plain `return None` is none.
            if ins.opname == "RETURN_VALUE" and (
                ins.is_jump_target
                or not (previous is not None and previous.opname == "LOAD_CONST" and previous.argval is None)
            ):
                return True
            previous = ins
        return False
    except Exception:  # a hostile object's attributes may raise anything
        return None


def _learner_traceback(exc: BaseException) -> str:
    """The traceback cut down to the learner's own frames, each cell named as JupyterLab numbers it.

    ``answer cell [7], line 5, in fingerprint`` rather than IPython's
    temporary file name; a frame of a file (a module the learner wrote)
    keeps its path.
    """
    import mlcourse

    pkg = os.path.dirname(mlcourse.__file__)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(pkg)]
    frames = [f for f in frames if "site-packages" not in f.filename and "/lib/python" not in f.filename] or frames
    lines = []
    for f in frames[-3:]:
        lines.append(f"  {_frame_place(f.filename)}, line {f.lineno}, in {f.name}\n")
        if f.line:
            lines.append(f"    {f.line.strip()}\n")
    return "".join(lines) + f"{type(exc).__name__}: {_exc_text(exc)}"


def _frame_place(filename: str) -> str:
    """Where a traceback frame is: a notebook cell by its number, else the file."""
    try:
        if catalog.graded_run():
            # The grader runs a rebuilt copy of the notebook: its cell numbers are not the learner's.
            return "your cell" if filename.startswith("<") or "ipykernel_" in filename else f'File "{filename}"'
        from mlcourse.exercises import cells

        found = cells.place(filename)
    except Exception:  # naming a cell is a nicety; the traceback must come out anyway
        found = None
    return found or f'File "{filename}"'


def _exc_text(exc: BaseException) -> str:
    try:
        return str(exc)[:500]
    except Exception:
        return "<unprintable message>"


def _is_stub_error(exc: BaseException) -> bool:
    return isinstance(exc, NotImplementedError) and STUB_MARKER in _exc_text(exc)


def _probe_test(probe: Callable[[Any, Any], Any], answer: Any, inputs: Any) -> TestReport:
    try:
        raw = probe(answer, inputs)
    except BaseException as exc:  # noqa: BLE001 - the learner's code may raise anything
        if isinstance(exc, KeyboardInterrupt):
            raise
        if _is_stub_error(exc):
            return {"ok": False, "kind": "stub", "message": _exc_text(exc)}
        return {
            "ok": False,
            "kind": "error",
            "type": type(exc).__name__,
            "message": _exc_text(exc),
            "traceback": _learner_traceback(exc),
        }
    try:
        return {"ok": True, "value": to_plain(raw)}
    except PlainError as exc:
        return {"ok": False, "kind": "unplain", "message": str(exc)}


@dataclass(frozen=True)
class ProbePlan:
    """What the probe half needs for one exercise, and nothing of its answer key.

    Built from an :class:`Exercise` in the notebook (:meth:`Exercise.plan`),
    or in the grading child from the exercise's plain spec
    (:func:`plan_from_spec`), before any learner code runs.
    """

    id: str
    answer: Answer
    probes: tuple[Callable[[Any, Any], Any], ...]
    sentinels: guard.Sentinels


def plan_from_spec(spec: ExerciseSpec, modules: Mapping[str, Any]) -> ProbePlan:
    """The grading child's plan: each test's probe found by name, only in ``modules``.

    ``modules`` maps module names to modules the child loaded; only probe
    modules (see :func:`mlcourse.exercises.probes.allowed_module`) are
    searched, and :mod:`mlcourse.exercises.probes` always is.
    """
    where = {probes.__name__: probes, **{k: v for k, v in modules.items() if probes.allowed_module(k)}}
    answer = Answer(str(spec["answer"]["name"]), str(spec["answer"]["kind"]))
    found = tuple(probes.resolve(str(t["probe"]), where) for t in spec["tests"])
    return ProbePlan(str(spec["id"]), answer, found, guard.Sentinels.resolve(str(f) for f in spec.get("forbid", [])))


def probe_plan(plan: ProbePlan, namespace: Mapping[str, Any], inputs: Sequence[Any]) -> ProbeReport:
    """Run the learner's answer on ``inputs``; return plain data only.

    The probe half, in the notebook and in the grading child alike. Each
    test runs with the exercise's forbidden functions refused (see
    :mod:`mlcourse.exercises.guard`); a test whose answer reached one reports
    ``{"kind": "shortcut", "called": [...]}`` whatever it returned.
    ``inputs`` is a copy the learner's code may mutate freely.
    """
    name = plan.answer.name
    if name not in namespace:
        return {"answer": "missing", "tests": []}
    answer = namespace[name]
    if answer is Ellipsis:
        return {"answer": "stub", "tests": []}
    report: ProbeReport = {"answer": "present", "type": kind(to_plain_safe(answer))}
    if plan.answer.kind == "function" and not callable(answer):
        return {"answer": "not_callable", "type": report["type"], "tests": []}
    if plan.answer.kind == "function":
        gives = returns_a_value(answer)
        if gives is not None:
            report["returns_value"] = gives
    tests: list[TestReport] = []
    for probe, x in zip(plan.probes, inputs):
        with plan.sentinels.refusing() as called:
            result = _probe_test(probe, answer, x)
        tests.append({"ok": False, "kind": "shortcut", "called": called} if called else result)
    report["tests"] = tests
    return report


# --------------------------------------------------------------------------
# The exercise
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Exercise:
    """One graded exercise, defined declaratively.

    Parameters
    ----------
    id : str
        ``<lesson>.<name>``, e.g. ``data.validate_schema``; the answer cell's
        metadata names it.
    title : str
        A short title shown in checks and progress.
    points : float
        Full marks. The score is points x the weighted fraction of tests passed.
    answer : Answer
        What the learner defines: :func:`Function`, :func:`Value` or :func:`Model`.
    tests : sequence of Test
        What is checked.
    hints : sequence of str
        Progressive hints, revealed one at a time.
    forbid : sequence of str
        Qualified names the answer may not call (the package's own version of
        what the learner is asked to write): refused while the exercise is
        probed, and looked for in the answer's source (see
        :mod:`mlcourse.exercises.guard`). Name a lesson's short spelling too
        (``data.load_sources`` when the lesson imports ``mlcourse.data as data``).
    on_error : mapping of str to str
        Advice for exceptions a typical wrong answer raises, by exception
        class name (``{"KeyError": "a missing column must be reported"}``).
    review : bool
        A free-text answer a person should read: every attempted result is
        flagged ``needs_review`` and carries the answer's text, so an
        instructor can confirm or override the automatic score.
    """

    id: str
    title: str
    points: float
    answer: Answer
    tests: Sequence[Test]
    hints: Sequence[str] = ()
    forbid: Sequence[str] = ()
    on_error: Mapping[str, str] = field(default_factory=dict)
    review: bool = False

    # -- identity --------------------------------------------------------
    @property
    def short(self) -> str:
        return self.id.split(".", 1)[-1]

    @property
    def public_tests(self) -> list[int]:
        """Positions of the tests marked public (see :class:`Test`)."""
        return [i for i, t in enumerate(self.tests) if t.public]

    def seed(self) -> int:
        """The notebook's seed: fixed per exercise, so a learner sees the same message twice."""
        return int(hashlib.sha256(self.id.encode()).hexdigest()[:8], 16)

    # -- the two halves ---------------------------------------------------
    def make_inputs(self, seed: int | None = None) -> list:
        """Inputs for every test, from ``seed`` (the grader's secret one, or the notebook's)."""
        import numpy as np

        seed = self.seed() if seed is None else seed
        out = []
        for i, t in enumerate(self.tests):
            out.append(t.inputs(np.random.default_rng([seed, i])) if t.inputs else None)
        return out

    def kept_inputs(self, seed: int | None = None) -> list:
        """The inputs :meth:`run` judges with for ``seed``, drawn once and kept (see :mod:`~mlcourse.exercises.cache`)."""
        seed = self.seed() if seed is None else seed
        return cache.prepared(self, (self.id, seed), lambda: self.make_inputs(seed), copies=False)[0]

    def spec(self) -> ExerciseSpec:
        """What the grading child is told: the answer, each test's probe by name, the forbidden names.

        Raises ValueError when a probe cannot be loaded by name (a lambda, a
        closure, a function outside the probe modules).
        """
        try:
            tests = [{"name": t.name, "probe": probes.qualified_name(t.probe)} for t in self.tests]
        except ValueError as exc:
            raise ValueError(f"{self.id}: {exc}") from None
        return {
            "id": self.id,
            "title": self.title,
            "answer": {"name": self.answer.name, "kind": self.answer.kind},
            "forbid": list(self.forbid),
            "tests": tests,  # type: ignore[typeddict-item]
        }

    def plan(self) -> ProbePlan:
        """The probe half's plan in this process (the notebook's, and tests')."""
        return ProbePlan(self.id, self.answer, tuple(t.probe for t in self.tests), guard.Sentinels.resolve(self.forbid))

    def probe(self, namespace: Mapping[str, Any], inputs: Sequence[Any]) -> ProbeReport:
        """Run the learner's answer on ``inputs``; return plain data only (see :func:`probe_plan`)."""
        return probe_plan(self.plan(), namespace, inputs)

    def judge(
        self,
        probed: Any,
        inputs: Sequence[Any],
        *,
        answer_sources: Sequence[tuple[str, str]] = (),
        other_sources: Sequence[tuple[str, str]] = (),
    ) -> Result:
        """Turn the probe's plain data into a :class:`Result`. Never raises.

        ``answer_sources`` are ``(where, source)`` of the answer's cells and
        ``other_sources`` of the learner's other cells: with the probe's own
        evidence, they decide whether the answer takes a forbidden shortcut
        (see :mod:`mlcourse.exercises.guard`). The grader passes its trusted
        rebuild's cells, the notebook the cell that defined the answer.
        """
        try:
            result = self._judge(probed, inputs, answer_sources, other_sources)
        except MemoryError:
            raise  # the judge's own bound (the grader's worker says so), not the answer's verdict
        except Exception as exc:  # malformed probe data (a hostile submission) is a failure
            result = self._result(FAILED, f"the answer could not be checked ({type(exc).__name__}: {exc})", [])
        if self.review and result.status != NOT_ATTEMPTED:
            result.needs_review = True
            result.answer_text = _answer_text(probed)
        return result

    def _result(self, status: Status, message: str, tests: list[TestResult]) -> Result:
        total = sum(t.weight for t in self.tests) or 1.0
        won = sum(t.weight for t in tests if t.status == PASSED)
        score = round(self.points * won / total, 4) if status != NOT_ATTEMPTED else 0.0
        return Result(self.id, self.title, self.points, status, score, message, tests)

    def _judge(
        self, probed: ProbeReport, inputs: Sequence[Any], answer_sources: Sequence[tuple[str, str]],
        other_sources: Sequence[tuple[str, str]],
    ) -> Result:
        state = probed.get("answer")
        name = self.answer.name
        if state == "missing":
            return self._result(
                NOT_ATTEMPTED,
                f"`{name}` is not defined yet. Write {self.answer.describe()} in the answer cell and run it, then check again.",
                [],
            )
        if state == "stub":
            return self._result(NOT_ATTEMPTED, f"Replace the `...` in the answer cell with {self.answer.describe()}.", [])
        if state == "not_callable":
            return self._result(FAILED, f"`{name}` should be a function, but it is {probed.get('type')}.", [])
        if state != "present":
            raise ValueError(f"unknown answer state {state!r}")
        raw = probed.get("tests")
        if not isinstance(raw, list) or len(raw) != len(self.tests):
            raise ValueError("the probe returned the wrong number of test results")
        if any(isinstance(r, dict) and r.get("kind") == "stub" for r in raw):
            return self._result(
                NOT_ATTEMPTED, f"`{name}` is still the stub: replace its `raise NotImplementedError(...)` line with your code.", []
            )
        shortcut = self._shortcut(raw, answer_sources, other_sources)
        results = []
        for test, r, x in zip(self.tests, raw, inputs):
            results.append(self._judge_test(test, r, x))
        if shortcut:
            for t in results:
                t.status, t.message = FAILED, shortcut
            return self._result(FAILED, shortcut, results)
        if all(t.status == PASSED for t in results):
            return self._result(PASSED, "", results)
        first = next(t for t in results if t.status != PASSED)
        status = ERROR if any(t.status == ERROR for t in results) else FAILED
        message = f"On {first.name}: {first.message}" if first.name else first.message
        if self._forgot_return(probed, raw) and FORGOT_RETURN.say not in message:
            # A function without a `return` value, or that gives None on every input, most likely
            # lost its `return`, whatever each verdict said.
            message = f"{message}. {FORGOT_RETURN.say}"
        return self._result(status, message, results)

    def _forgot_return(self, probed: Any, raw: list) -> bool:
        if self.answer.kind != "function" or self.answer.name.startswith("test_"):
            # A test function (pytest's `test_*` convention) asserts and returns nothing by design.
            return False
        return probed.get("returns_value") is False or self._always_none(raw)

    def _always_none(self, raw: list) -> bool:
        """Whether a function answer returned None on every test that ran to the end."""
        values = [r.get("value") for r in raw if isinstance(r, dict) and r.get("ok")]
        return self.answer.kind == "function" and bool(values) and all(_returned_none(v) for v in values)

    def _shortcut(
        self, raw: list, answer_sources: Sequence[tuple[str, str]], other_sources: Sequence[tuple[str, str]]
    ) -> str | None:
        """The run-time evidence (a forbidden function was called), else what the sources show."""
        called = [
            str(n) for r in raw if isinstance(r, dict) and r.get("kind") == "shortcut"
            for n in (r.get("called") if isinstance(r.get("called"), list) else ["a forbidden function"])
        ]
        if called:
            return guard.shortcut_message(called)
        return guard.source_problem(self.forbid, answer_sources, other_sources)

    def _judge_test(self, test: Test, r: Any, x: Any) -> TestResult:
        if not isinstance(r, dict):
            return TestResult(test.name, FAILED, "the probe returned malformed data", weight=test.weight)
        if not r.get("ok"):
            kind_ = r.get("kind")
            msg = str(r.get("message", ""))
            if kind_ == "unplain":
                return TestResult(test.name, FAILED, msg, weight=test.weight)
            etype = str(r.get("type", "Exception"))
            if etype == "NotFittedError":
                return TestResult(
                    test.name,
                    FAILED,
                    f"`{self.answer.name}` is not fitted yet: call .fit(...) on it in the answer cell.",
                    weight=test.weight,
                )
            advice = self.on_error.get(etype)
            text = f"your code raised {etype}: {msg}" + (f". {advice}" if advice else "")
            return TestResult(test.name, ERROR, text, traceback=str(r.get("traceback", "")), weight=test.weight)
        problem = test.judge(r.get("value"), x)
        if problem is None:
            return TestResult(test.name, PASSED, weight=test.weight)
        return TestResult(test.name, FAILED, str(problem), weight=test.weight)

    # -- in-process use ----------------------------------------------------
    def run(self, namespace: Mapping[str, Any], seed: int | None = None) -> Result:
        """Both halves in this process: what ``check()`` does.

        The probe gets its own copy of the inputs (rebuilt from plain data, as
        in the grader), so an answer that mutates its input cannot change the
        reference the verdict computes. The shortcut check reads the cell that
        defined the answer.
        """
        seed = self.seed() if seed is None else seed
        # Inputs per (exercise, seed) are drawn once and kept: the verdicts get the kept objects,
        # the answer a fresh copy rebuilt from their plain data (see mlcourse.exercises.cache).
        inputs, copies = cache.prepared(self, (self.id, seed), lambda: self.make_inputs(seed))
        probed = self.probe(namespace, copies)
        sources: list[tuple[str, str]] = []
        if self.forbid:
            source = guard.defining_source(namespace.get(self.answer.name))
            sources = [("", source)] if source else []
        with cache.collector_paused():
            return self.judge(probed, inputs, answer_sources=sources)

    # -- the learner's notebook API ----------------------------------------
    def check(self) -> None:
        """Check your answer and show what is right or wrong with it.

        When the answer cell's latest run failed, the check says so instead of
        judging the older definition still in memory; when the answer is not
        defined at all (the kernel restarted) but was checked before, it shows
        that stored result and asks for the answer cell to be run again.
        """
        from mlcourse.exercises import cells
        from mlcourse.exercises import store as progress

        ns = _caller_namespace()
        last = cells.last_run(self.id)
        earlier = progress.load().get(self.id) if self.answer.name not in ns else None
        if last is not None and last.ok is False:
            result = self._result(ERROR, _failed_run_message(last), [])
        elif earlier is not None and _attempted_before(earlier):
            feedback.show(feedback.earlier_view(self.id, self.title, self.answer.name, earlier))
            return
        else:
            try:
                result = self.run(ns)
            except Exception as exc:  # the check cell must never raise: Run All reaches the end
                result = self._result(ERROR, f"the check itself failed ({type(exc).__name__}: {exc}); please report this.", [])
        progress.record(result)
        feedback.show(feedback.result_view(result, self.short))

    def hint(self) -> None:
        """Show the next hint (each call reveals one more)."""
        from mlcourse.exercises import store as progress

        if catalog.graded_run():
            print(f"Hints for {self.id} are {catalog.NOT_DURING_GRADING}.")
            return
        if not self.hints:
            feedback.show(feedback.note_view(self.id, f"this exercise has no hints; `ex.{self.short}.solution()` shows one answer."))
            return
        n = progress.next_hint(self.id, len(self.hints))
        last = f"That was the last hint; `ex.{self.short}.solution()` shows one answer." if n == len(self.hints) else ""
        feedback.show(feedback.hint_view(self.id, n, len(self.hints), self.hints[n - 1], last))

    def solution(self) -> None:
        """Show one correct answer (from the solutions notebook)."""
        from mlcourse.exercises import store as progress
        from mlcourse.exercises.notebook import solution_source

        if catalog.graded_run():
            print(f"The solution of {self.id} is {catalog.NOT_DURING_GRADING}.")
            return
        progress.note_solution(self.id)
        feedback.show(feedback.solution_view(self.id, self.title, solution_source(self.id)))

    def attempted(self) -> bool:
        """True once the answer is defined and is not the stub (for guarding later cells)."""
        return attempted(self.answer.name, _caller_namespace())

    def __repr__(self) -> str:
        return f"<Exercise {self.id}: {self.title} ({self.points:g} pt); use .check(), .hint(), .solution()>"


# Longest answer text kept for a reviewer (a free-text answer is a few hundred words).
MAX_ANSWER_TEXT = 20_000


def _answer_text(probed: Any) -> str:
    """The learner's answer as text, for a reviewer: the first test's plain value.

    Text stays as written; a dict of texts (a STAR answer) becomes one
    paragraph per key, a list of texts one line per item.

    Examples
    --------
    >>> print(_answer_text({"tests": [{"ok": True, "value": {"task": "ship it", "action": ["a", "b"]}}]}))
    task:
    ship it
    <BLANKLINE>
    action:
    - a
    - b
    """
    try:
        value = probed["tests"][0]["value"]
    except (KeyError, IndexError, TypeError):
        return ""
    return _as_text(value)[:MAX_ANSWER_TEXT]


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n".join(f"- {v}" for v in value)
    if isinstance(value, dict) and TAG not in value and all(isinstance(k, str) for k in value):
        return "\n\n".join(f"{k}:\n{_as_text(v)}" for k, v in value.items())
    return show(value, limit=MAX_ANSWER_TEXT)


def _failed_run_message(run: Any) -> str:
    where = f" ([{run.count}])" if run.count is not None else ""
    return (
        f"your last run of this answer cell{where} failed ({run.error}): fix it and run it again, then this check. "
        "Until it runs without an error, the check does not judge the older version still in memory."
    )


def _attempted_before(entry: Any) -> bool:
    """Whether a stored progress entry holds a real check of an answer (not 'not attempted')."""
    return isinstance(entry, dict) and entry.get("status") in (PASSED, FAILED, ERROR)


def _returned_none(value: Any) -> bool:
    """Whether a function answer's plain result says it returned None (also through call_keeping_inputs)."""
    if isinstance(value, dict) and set(value) == {"returned", "changed"}:
        value = value["returned"]
    if isinstance(value, list) and value:  # a probe that called the function on several inputs
        return all(v is None for v in value)
    return value is None


def attempted(name: str, namespace: Mapping[str, Any]) -> bool:
    """Whether ``name`` is defined in ``namespace`` and is not a stub (``...`` or the generated function)."""
    value = namespace.get(name, Ellipsis)
    return value is not Ellipsis and not _is_function_stub(value)


def to_plain_safe(obj: Any) -> Any:
    try:
        return to_plain(obj)
    except Exception:
        return {"__plain__": "object", "class": type(obj).__name__, "repr": "?"}


def _is_function_stub(fn: Any) -> bool:
    code = getattr(fn, "__code__", None)
    return bool(code) and any(isinstance(c, str) and STUB_MARKER in c for c in code.co_consts)


def _caller_namespace() -> Mapping[str, Any]:
    """The namespace of the notebook (or script) that called ``check()``."""
    frame = sys._getframe(2)
    return frame.f_globals
