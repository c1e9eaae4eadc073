"""The exercise engine: declarative exercises checked in two halves.

An :class:`Exercise` says what the learner defines (a function, a value or a
fitted model), its tests, its hints and its points. Each :class:`Test` has

* ``inputs(rng)``: fresh inputs, generated where the verdict runs;
* ``probe(answer, inputs)``: runs where the learner's objects live and returns
  whatever the answer gives back, which the engine turns into plain data;
* ``verdict(got, inputs)``: runs on plain data only and returns ``None`` for a
  pass or a message for the learner.

In a notebook both halves run in the learner's kernel (``ex.check()``). The
autograder runs the probe in the sandboxed submission and the verdict in its
own process, with the very same definitions: there is one version of a check.

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

import ast
import contextlib
import hashlib
import os
import sys
import traceback
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlcourse.exercises.compare import Compare, show
from mlcourse.exercises.plain import PlainError, from_plain, kind, to_plain

PASSED = "passed"
FAILED = "failed"
ERROR = "error"
NOT_ATTEMPTED = "not attempted"

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
    without a reference value.
    """

    when: Callable[[Any, Any, Any], bool]
    say: str


@dataclass(frozen=True)
class Test:
    """One test of an exercise. See the module docstring for the three parts."""

    name: str
    probe: Callable[[Any, Any], Any]
    verdict: Callable[[Any, Any], str | None]
    inputs: Callable[[Any], Any] | None = None
    weight: float = 1.0


def _none_returned(got: Any, inputs: Any, expected: Any) -> bool:
    return got is None and expected is not None


FORGOT_RETURN = Mistake(_none_returned, "Your function returned None: did you forget a `return` statement?")


def known_mistake(mistakes: Sequence[Mistake], got: Any, inputs: Any, expected: Any) -> str | None:
    """What the first matching known mistake says, or None.

    A detector that raises is skipped: it must never turn a failure into a crash.
    """
    for m in mistakes:
        try:
            if m.when(got, inputs, expected):
                return m.say
        except Exception:
            continue
    return None


def returns(
    name: str,
    args: Callable[[Any], tuple],
    expected: Callable[..., Any],
    *,
    compare: Compare = _DEFAULT_COMPARE,
    mistakes: Sequence[Mistake] = (),
    weight: float = 1.0,
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

    Examples
    --------
    >>> t = returns("2", lambda rng: (2,), lambda x: x + 1)
    >>> t.verdict(3, (2,)) is None
    True
    """

    def probe(fn: Callable, a: tuple) -> Any:
        return fn(*a)

    def verdict(got: Any, a: tuple) -> str | None:
        exp = to_plain(expected(*from_plain(to_plain(a))))
        problem = compare(exp, got)
        if problem is None:
            return None
        say = known_mistake((*mistakes, FORGOT_RETURN), got, a, exp)
        if say:
            problem = f"{problem}. {say}"
        return f"{problem} [called with {describe_args(a)}]"

    return Test(name=name, probe=probe, verdict=verdict, inputs=args, weight=weight)


def describe_args(args: tuple) -> str:
    """A short rendering of a call's arguments for a failure message."""
    parts = []
    for a in args:
        try:
            parts.append(show(to_plain(a)))
        except Exception:
            parts.append(type(a).__name__)
    return ", ".join(parts) if parts else "no arguments"


def value_is(
    name: str,
    expected: Callable[[], Any],
    *,
    compare: Compare = _DEFAULT_COMPARE,
    mistakes: Sequence[Mistake] = (),
    transform: Callable[[Any], Any] | None = None,
    reveal: bool = False,
    weight: float = 1.0,
) -> Test:
    """A test that compares the learner's value (optionally transformed) with ``expected()``.

    ``transform`` runs in the probe, on the learner's side (for example
    ``lambda v: sorted(v)``), and must be package code.

    Unless ``reveal`` is True, a failure message never shows the expected
    value: for a value exercise that would hand out the answer. It names a
    wrong type, or the known mistake, or says the value is not right.
    """

    def probe(value: Any, _: Any) -> Any:
        return transform(value) if transform else value

    def verdict(got: Any, _: Any) -> str | None:
        exp = to_plain(expected())
        problem = compare(exp, got)
        if problem is None:
            return None
        say = known_mistake(mistakes, got, None, exp)
        if say:
            return say if not reveal else f"{problem}. {say}"
        if reveal or kind(exp) != kind(got):
            return problem
        return f"that is not the right answer yet (you gave {show(got)})"

    return Test(name=name, probe=probe, verdict=verdict, weight=weight)


def holds(
    name: str,
    probe: Callable[[Any, Any], Any],
    verdict: Callable[[Any, Any], str | None],
    *,
    inputs: Callable[[Any], Any] | None = None,
    weight: float = 1.0,
) -> Test:
    """A free-form test: any probe, any verdict on its plain result."""
    return Test(name=name, probe=probe, verdict=verdict, inputs=inputs, weight=weight)


@contextlib.contextmanager
def watching(targets: Sequence[str]) -> Iterator[list]:
    """Record calls to ``module.attr`` targets while the block runs.

    Each target (``module.attr`` or ``module.Class.attr``) is replaced by a
    wrapper that calls the original, so the answer behaves as it would; the
    yielded list names the targets called.
    This catches calls made through a module (``training.best_run(...)``)
    that reading the source alone can miss. Use it inside a probe.

    Examples
    --------
    >>> import json
    >>> with watching(["json.dumps"]) as called:
    ...     _ = json.dumps(1)
    >>> called
    ['json.dumps']
    """
    import importlib

    called: list[str] = []
    patched = []
    for target in targets:
        parts = target.split(".")
        owner: Any = None
        # The longest importable prefix is the module; the rest are attributes
        # (``module.Class.method`` works too).
        for i in range(len(parts) - 1, 0, -1):
            try:
                owner = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            try:
                for p in parts[i:-1]:
                    owner = getattr(owner, p)
            except AttributeError:
                owner = None
            break
        if owner is None:
            continue
        attr = parts[-1]
        original = vars(owner).get(attr) if isinstance(owner, type) else getattr(owner, attr, None)
        if original is None or isinstance(original, (classmethod, staticmethod, property)):
            continue

        def wrapper(*args: Any, __original: Any = original, __target: str = target, **kwargs: Any) -> Any:
            called.append(__target)
            return __original(*args, **kwargs)

        setattr(owner, attr, wrapper)
        patched.append((owner, attr, original))
    try:
        yield called
    finally:
        for owner, attr, original in reversed(patched):
            setattr(owner, attr, original)


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------
@dataclass
class TestResult:
    name: str
    status: str
    message: str = ""
    traceback: str = ""
    weight: float = 1.0

    def to_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "message": self.message, "traceback": self.traceback}


_ICONS = {PASSED: "✅", FAILED: "❌", ERROR: "💥", NOT_ATTEMPTED: "⏳"}


@dataclass
class Result:
    """The outcome of checking one exercise."""

    exercise: str
    title: str
    points: float
    status: str
    score: float
    message: str = ""
    tests: list[TestResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(1 for t in self.tests if t.status == PASSED)

    def to_dict(self) -> dict:
        return {
            "exercise": self.exercise,
            "title": self.title,
            "points": self.points,
            "status": self.status,
            "score": self.score,
            "message": self.message,
            "tests": [t.to_dict() for t in self.tests],
        }

    def render(self) -> str:
        """The check cell's output, written for the learner."""
        head = f"{_ICONS[self.status]} {self.title} [{self.exercise}]: {self.status}"
        if self.tests and self.status != NOT_ATTEMPTED:
            head += f" ({self.passed}/{len(self.tests)} tests, {self.score:g}/{self.points:g} points)"
        lines = [head]
        if self.message:
            lines.append("   " + self.message.replace("\n", "\n   "))
        for t in self.tests:
            if t.traceback and self.status == ERROR:
                lines.append("   " + t.traceback.rstrip().replace("\n", "\n   "))
                break
        if self.status in (FAILED, ERROR):
            lines.append("   Stuck? Run .hint() for a hint, or .solution() to see one answer.")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


# --------------------------------------------------------------------------
# The probe half: runs where the learner's objects live
# --------------------------------------------------------------------------
def _learner_traceback(exc: BaseException) -> str:
    """The traceback cut down to the learner's own frames."""
    import mlcourse

    pkg = os.path.dirname(mlcourse.__file__)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(pkg)]
    frames = [f for f in frames if "site-packages" not in f.filename and "/lib/python" not in f.filename] or frames
    text = "".join(traceback.format_list(frames[-3:]))
    return text + f"{type(exc).__name__}: {_exc_text(exc)}"


def _exc_text(exc: BaseException) -> str:
    try:
        return str(exc)[:500]
    except Exception:
        return "<unprintable message>"


def _is_stub_error(exc: BaseException) -> bool:
    return isinstance(exc, NotImplementedError) and STUB_MARKER in _exc_text(exc)


def references(fn: Any) -> dict:
    """What a function refers to: its source and the globals it names.

    Follows the learner's own helper functions (those defined beside the
    answer), so routing the call through a helper does not hide it.

    Returns plain data: ``{"source": str | None, "globals": {name: qualified
    name}, "names": [every name the code uses]}``. Used to spot an answer that
    only calls the package's own version.
    """
    code = getattr(fn, "__code__", None)
    if code is None:
        return {"source": None, "globals": {}, "names": []}
    g = getattr(fn, "__globals__", {}) or {}
    names: set[str] = set()
    seen_code: set[int] = set()
    stack = [code]
    while stack and len(seen_code) < 200:
        c = stack.pop()
        if id(c) in seen_code:
            continue
        seen_code.add(id(c))
        names.update(c.co_names)
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
        for n in c.co_names:
            helper = g.get(n)
            if isinstance(helper, types.FunctionType) and helper.__globals__ is g:
                stack.append(helper.__code__)
    resolved = {}
    for n in sorted(names):
        if n in g:
            obj = g[n]
            if isinstance(obj, types.ModuleType):
                resolved[n] = f"module {obj.__name__}"
            else:
                mod = getattr(obj, "__module__", None)
                qn = getattr(obj, "__qualname__", None)
                if isinstance(mod, str) and isinstance(qn, str):
                    resolved[n] = f"{mod}.{qn}"
    try:
        import inspect

        src = inspect.getsource(fn)
    except (OSError, TypeError):
        src = None
    return {"source": src, "globals": resolved, "names": sorted(names)}


def _probe_test(test: Test, answer: Any, inputs: Any) -> dict:
    try:
        raw = test.probe(answer, inputs)
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
        what the learner is asked to write).
    on_error : mapping of str to str
        Advice for exceptions a typical wrong answer raises, by exception
        class name (``{"KeyError": "a missing column must be reported"}``).
    """

    id: str
    title: str
    points: float
    answer: Answer
    tests: Sequence[Test]
    hints: Sequence[str] = ()
    forbid: Sequence[str] = ()
    on_error: Mapping[str, str] = field(default_factory=dict)

    # -- identity --------------------------------------------------------
    @property
    def short(self) -> str:
        return self.id.split(".", 1)[-1]

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

    def probe(self, namespace: Mapping[str, Any], inputs: Sequence[Any]) -> dict:
        """Run the learner's answer on ``inputs``; return plain data only.

        ``inputs`` is a copy the learner's code may mutate freely.
        """
        name = self.answer.name
        if name not in namespace:
            return {"answer": "missing", "tests": []}
        answer = namespace[name]
        if answer is Ellipsis:
            return {"answer": "stub", "tests": []}
        info: dict = {"answer": "present", "type": kind(to_plain_safe(answer))}
        if self.answer.kind == "function":
            if not callable(answer):
                return {"answer": "not_callable", "type": info["type"], "tests": []}
            if self.forbid:
                info["refs"] = references(answer)
        info["tests"] = [_probe_test(t, answer, x) for t, x in zip(self.tests, inputs)]
        return info

    def judge(self, probed: Any, inputs: Sequence[Any]) -> Result:
        """Turn the probe's plain data into a :class:`Result`. Never raises."""
        try:
            return self._judge(probed, inputs)
        except Exception as exc:  # malformed probe data (a hostile submission) is a failure
            return self._result(FAILED, f"the answer could not be checked ({type(exc).__name__}: {exc})", [])

    def _result(self, status: str, message: str, tests: list[TestResult]) -> Result:
        total = sum(t.weight for t in self.tests) or 1.0
        won = sum(t.weight for t in tests if t.status == PASSED)
        score = round(self.points * won / total, 4) if status != NOT_ATTEMPTED else 0.0
        return Result(self.id, self.title, self.points, status, score, message, tests)

    def _judge(self, probed: dict, inputs: Sequence[Any]) -> Result:
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
        shortcut = self._shortcut(probed.get("refs"))
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
        return self._result(status, message, results)

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
        problem = test.verdict(r.get("value"), x)
        if problem is None:
            return TestResult(test.name, PASSED, weight=test.weight)
        return TestResult(test.name, FAILED, str(problem), weight=test.weight)

    def _shortcut(self, refs: Any) -> str | None:
        if not self.forbid or not isinstance(refs, dict):
            return None
        used = set()
        resolved = refs.get("globals") or {}
        names = [n for n in (refs.get("names") or []) if isinstance(n, str)]
        modules = {n for n in names if n.startswith("mlcourse")}  # `import mlcourse.x as y` inside the body
        if isinstance(resolved, dict):
            for q in resolved.values():
                if q in self.forbid:
                    used.add(q)
                elif isinstance(q, str) and q.startswith("module "):
                    modules.add(q[len("module ") :])
        # `md.load_sources(...)` with `import mlcourse.data as md`: a module the
        # code names, followed by an attribute it names.
        for module in modules:
            for n in names:
                if f"{module}.{n}" in self.forbid:
                    used.add(f"{module}.{n}")
        src = refs.get("source")
        if isinstance(src, str):
            used.update(_forbidden_in_source(src, self.forbid))
        if not used:
            return None
        names = ", ".join(sorted(used))
        what = (
            "the package's own version of what this exercise asks you to write"
            if all(u.startswith("mlcourse") for u in used)
            else "which already does what this exercise asks you to write"
        )
        return f"Your answer calls {names}, {what}. Write the logic yourself: that is the point of the exercise."

    # -- in-process use ----------------------------------------------------
    def run(self, namespace: Mapping[str, Any], seed: int | None = None) -> Result:
        """Both halves in this process: what ``check()`` does.

        The probe gets its own copy of the inputs (rebuilt from plain data, as
        in the grader), so an answer that mutates its input cannot change the
        reference the verdict computes.
        """
        inputs = self.make_inputs(seed)
        copies = [from_plain(to_plain(x)) if x is not None else None for x in inputs]
        return self.judge(self.probe(namespace, copies), inputs)

    # -- the learner's notebook API ----------------------------------------
    def check(self) -> None:
        """Check your answer and print what is right or wrong with it."""
        from mlcourse.exercises import store as progress

        ns = _caller_namespace()
        try:
            result = self.run(ns)
        except Exception as exc:  # the check cell must never raise: Run All reaches the end
            result = self._result(ERROR, f"the check itself failed ({type(exc).__name__}: {exc}); please report this.", [])
        progress.record(result)
        print(result.render())

    def hint(self) -> None:
        """Show the next hint (each call reveals one more)."""
        from mlcourse.exercises import store as progress

        if not self.hints:
            print(f"💡 No hints for {self.id}; try .solution().")
            return
        n = progress.next_hint(self.id, len(self.hints))
        print(f"💡 Hint {n} of {len(self.hints)} [{self.id}]: {self.hints[n - 1]}")
        if n == len(self.hints):
            print("   That was the last hint; .solution() shows one answer.")

    def solution(self) -> None:
        """Show one correct answer (from the solutions notebook)."""
        from mlcourse.exercises import solution_source
        from mlcourse.exercises import store as progress

        progress.note_solution(self.id)
        code = solution_source(self.id)
        try:
            from IPython.display import Markdown, display

            if _in_ipython():
                display(Markdown(f"**Solution [{self.id}]**\n\n```python\n{code}```"))
                return
        except ImportError:  # pragma: no cover - IPython comes with jupyterlab
            pass
        print(f"Solution [{self.id}]:\n{code}")

    def attempted(self) -> bool:
        """True once the answer is defined and is not the stub (for guarding later cells)."""
        ns = _caller_namespace()
        value = ns.get(self.answer.name, Ellipsis)
        return value is not Ellipsis and not _is_function_stub(value)

    def __repr__(self) -> str:
        return f"<Exercise {self.id}: {self.title} ({self.points:g} pt); use .check(), .hint(), .solution()>"


def to_plain_safe(obj: Any) -> Any:
    try:
        return to_plain(obj)
    except Exception:
        return {"__plain__": "object", "class": type(obj).__name__, "repr": "?"}


def _is_function_stub(fn: Any) -> bool:
    code = getattr(fn, "__code__", None)
    return bool(code) and any(isinstance(c, str) and STUB_MARKER in c for c in code.co_consts)


def _forbidden_in_source(src: str, forbid: Sequence[str]) -> set[str]:
    """Forbidden names imported or called by dotted path inside the answer's source."""
    try:
        tree = ast.parse(__import__("textwrap").dedent(src))
    except SyntaxError:
        return set()
    found = set()
    short = {f.rsplit(".", 1)[-1]: f for f in forbid}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                q = f"{node.module}.{a.name}"
                if q in forbid:
                    found.add(q)
        elif isinstance(node, ast.Attribute):
            parts = []
            cur: ast.AST = node
            while isinstance(cur, ast.Attribute):
                parts.append(cur.attr)
                cur = cur.value
            if isinstance(cur, ast.Name):
                parts.append(cur.id)
                dotted = ".".join(reversed(parts))
                if dotted in forbid:
                    found.add(dotted)
                elif node.attr in short and dotted.startswith("mlcourse"):
                    found.add(short[node.attr])
    return found


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython

        return get_ipython() is not None
    except ImportError:  # pragma: no cover
        return False


def _caller_namespace() -> Mapping[str, Any]:
    """The namespace of the notebook (or script) that called ``check()``."""
    frame = sys._getframe(2)
    return frame.f_globals
