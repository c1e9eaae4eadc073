"""Testing exercises the way a learner meets them: inside their lesson.

An author (and the test suite) tries answers in the notebook's own context:
:func:`walk` runs a lesson's solutions notebook top to bottom in one IPython
shell and, at each answer cell, also tries the learner's stub and any wrong
answers given, checking each with the exercise's own check, then restores the
solution before moving on. One pass per lesson keeps it fast. It also makes
sure no check changed the inputs the engine keeps between checks
(:class:`VerdictChangedInputs`).

:func:`on_seeds` checks an answer (source text, run after the lesson's setup
in a fresh namespace) on many seeds, such as :func:`secret_seeds`: a verdict
that changes with the seed is a checker whose edge cases are left to chance.

:func:`solutions` gives a lesson's reference answers as a learner would type
them, and :func:`module_from_file` loads an answer bank (the right and wrong
answers kept beside a lesson's tests, outside any package).

Examples
--------
>>> results = walk("00_lifecycle_overview", {"overview.stage_order": ["stages = ['Data', 'Train', 'Monitor', 'Deploy']"]})
>>> tried = results["overview.stage_order"]
>>> tried.stub.status, tried.solution.status, tried.wrong[0].status
('not attempted', 'passed', 'failed')
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from mlcourse.exercises import notebook
from mlcourse.exercises.compare import Compare
from mlcourse.exercises.definitions import find
from mlcourse.exercises.engine import Result
from mlcourse.exercises.plain import to_plain


@dataclass
class Tried:
    """Check results for one exercise: the stub, the solution and wrong answers."""

    stub: Result
    solution: Result
    wrong: list[Result] = field(default_factory=list)


class CellFailed(RuntimeError):
    """A solutions notebook cell raised while walking the lesson."""


class VerdictChangedInputs(AssertionError):
    """An exercise's verdict (or reference) changed the inputs it judges with.

    The engine keeps a test's inputs between checks (see
    :mod:`mlcourse.exercises.cache`), so a verdict that changes them would
    change every later check of the exercise.
    """


def _shell():
    from IPython.core.interactiveshell import InteractiveShell

    # History off: its SQLite thread is useless here and leaves files behind.
    shell = InteractiveShell.instance(history_length=0)
    shell.history_manager.enabled = False
    return shell


def _run(shell, source: str, where: str) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        result = shell.run_cell(source, store_history=False, silent=True)
    if not result.success:
        err = result.error_in_exec or result.error_before_exec
        raise CellFailed(f"{where} raised {type(err).__name__}: {err}\n{out.getvalue()[-2000:]}")


@contextlib.contextmanager
def _walking() -> Iterator[None]:
    """While a lesson is walked: figures drawn off screen, a throwaway MLCOURSE_HOME.

    The walk's checks and hints must not touch the caller's progress (or a
    session home shared with nbval), whatever fixture order pytest chose.
    """
    import matplotlib

    matplotlib.use("Agg")
    with tempfile.TemporaryDirectory(prefix="mlcourse-walk-") as home:
        previous = os.environ.get("MLCOURSE_HOME")
        os.environ["MLCOURSE_HOME"] = home
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("MLCOURSE_HOME", None)
            else:
                os.environ["MLCOURSE_HOME"] = previous


def walk_seeds(lesson: str, answers: Mapping[str, Sequence[str]], seeds: Sequence[int]) -> dict[str, list[list[Result]]]:
    """Run a lesson once and check its solution and each given answer on every seed.

    Returns ``{exercise: [[result per seed] for the solution, then per answer]}``.

    The verdict of an answer must not depend on the secret seed: a test of
    issue 12 runs the reference, other right answers and typical wrong ones
    on many seeds and compares their statuses. Each answer cell is run once
    (a fitted model stays fitted); only the check's inputs change with the
    seed. The solution is restored before the next cell, as in :func:`walk`.
    """
    with _walking():
        cells = _solution_cells(lesson)
        shell = _shell()
        shell.reset(new_session=False)
        out: dict[str, list[list[Result]]] = {}
        try:
            for i, src, ex_id in cells:
                if ex_id and ex_id in answers:
                    ex = find(ex_id)
                    out[ex_id] = []
                    for answer in (src, *answers[ex_id]):
                        _run(shell, src, f"{lesson} solution of {ex_id}")
                        _run(shell, answer, f"{lesson} answer to {ex_id}")
                        out[ex_id].append([ex.run(shell.user_ns, seed=seed) for seed in seeds])
                _run(shell, src, f"{lesson} cell {i}")
        finally:
            shell.reset(new_session=False)
        return out


def walk(lesson: str, wrong: Mapping[str, Sequence[str]] | None = None) -> dict[str, Tried]:
    """Run a lesson and check the stub, the solution and ``wrong`` answers of each exercise.

    Parameters
    ----------
    lesson : str
        The lesson notebook's stem, e.g. ``"01_data"``.
    wrong : mapping of exercise id to list of str
        Wrong answers (cell sources) to try in place of each answer cell.

    Returns
    -------
    dict of str to Tried
    """
    with _walking():
        return _walk(lesson, wrong or {})


def _solution_cells(lesson: str) -> list[tuple[int, str, str | None]]:
    """The code cells a walk runs, in order: ``(position, source without markers, exercise id or None)``."""
    solution_nb = notebook.read(notebook.lesson_path(lesson, "solutions"))
    return [(i, notebook.without_markers(notebook.source(cell)), notebook.exercise_id(cell))
            for i, cell in enumerate(solution_nb["cells"])
            if cell.get("cell_type") == "code" and not notebook.check_id(cell)]


def _walk(lesson: str, wrong: Mapping[str, Sequence[str]]) -> dict[str, Tried]:
    cells = _solution_cells(lesson)
    learner_nb = notebook.read(notebook.lesson_path(lesson, "notebooks"))
    stubs = {ex_id: notebook.source(cell) for _, cell, ex_id in notebook.answer_cells(learner_nb)}
    shell = _shell()
    shell.reset(new_session=False)
    ns = shell.user_ns
    tried: dict[str, Tried] = {}
    try:
        for i, src, ex_id in cells:
            if not ex_id:
                _run(shell, src, f"{lesson} cell {i}")
                continue
            ex = find(ex_id)
            kept = ex.kept_inputs()
            before = to_plain(kept)
            _run(shell, stubs[ex_id], f"{lesson} stub of {ex_id}")
            stub = ex.run(ns)
            results = []
            for answer in wrong.get(ex_id, ()):
                _run(shell, src, f"{lesson} solution of {ex_id}")  # a clean slate for each wrong answer
                _run(shell, answer, f"{lesson} wrong answer to {ex_id}")
                results.append(ex.run(ns))
            _run(shell, src, f"{lesson} solution of {ex_id}")
            tried[ex_id] = Tried(stub=stub, solution=ex.run(ns), wrong=results)
            if Compare()(before, to_plain(kept)) is not None or ex.kept_inputs() is not kept:
                raise VerdictChangedInputs(f"{ex_id}: checking it changed the inputs its verdicts judge with")
    finally:
        shell.reset(new_session=False)
    return tried


# --------------------------------------------------------------------------
# Answers as source text, on many seeds
# --------------------------------------------------------------------------
def solutions(lesson: str) -> dict[str, str]:
    """The answer cell of each exercise in the lesson's solutions notebook, without its solution markers.

    Examples
    --------
    >>> answers = solutions("00_lifecycle_overview")  # never printed here: this module ships to graded cohorts
    >>> sorted(answers)[0], answers["overview.stage_order"].startswith("stages =")
    ('overview.activity_stage', True)
    """
    nb = notebook.read(notebook.lesson_path(lesson, "solutions"))
    return {ex_id: notebook.without_markers(notebook.source(cell)) for _, cell, ex_id in notebook.answer_cells(nb)}


def module_from_file(path: str | os.PathLike, name: str | None = None) -> ModuleType:
    """The Python file at ``path``, loaded once as the module ``name`` (the file's own name by default): an answer
    bank, a script.

    Tests import by path, not as a package, so the answer banks beside them are loaded this way; the module is
    kept in ``sys.modules`` (its dataclasses need it there) and shared by every test file that loads it.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> _ = (Path(folder) / "answers_example.py").write_text("RIGHT = {'x': ['x = 1']}")
    >>> module_from_file(Path(folder) / "answers_example.py").RIGHT
    {'x': ['x = 1']}
    """
    import importlib.util

    path = Path(path)
    name = name or path.stem
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]


def answer_namespace(source: str, prelude: str = "") -> dict:
    """A fresh namespace in which ``prelude`` (the lesson's setup) and then the answer ``source`` ran.

    Examples
    --------
    >>> answer_namespace("y = x + 1", prelude="x = 1")["y"]
    2
    """
    namespace: dict = {"__name__": "__main__"}
    exec(compile(prelude, "<lesson setup>", "exec"), namespace)  # the answers of our own tests, written as a learner would
    exec(compile(source, "<answer cell>", "exec"), namespace)
    return namespace


def secret_seeds(exercise_id: str, n: int = 30) -> list[int]:
    """``n`` seeds like the grader's secret ones (large, unrelated to the notebook's), fixed per exercise.

    Examples
    --------
    >>> seeds = secret_seeds("overview.next_stage", 3)
    >>> len(set(seeds)), seeds == secret_seeds("overview.next_stage", 3)
    (3, True)
    """
    import hashlib

    return [int(hashlib.sha256(f"{exercise_id}/{i}".encode()).hexdigest()[:15], 16) for i in range(n)]


def on_seeds(exercise_id: str, source: str, seeds: Sequence[int], prelude: str = "") -> list[Result]:
    """The exercise's verdict on the answer ``source`` for each seed (one namespace, as in one kernel).

    Examples
    --------
    >>> results = on_seeds("overview.stage_order", "stages = ['Data', 'Train', 'Deploy', 'Monitor']", [1, 2])
    >>> [r.status for r in results]
    ['passed', 'passed']
    """
    exercise = find(exercise_id)
    namespace = answer_namespace(source, prelude)
    return [exercise.run(namespace, seed=seed) for seed in seeds]
