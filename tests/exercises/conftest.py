"""Test machinery shared by the lessons' exercise tests.

Each lesson tries the same things (the stub, the solution, right answers written differently, typical wrong answers
with their messages; the same verdict on many secret seeds; the graded edition's public checks; the grader against
the notebook's own check). The machinery for them lives here, as fixtures (the tests import by path, so they cannot
import each other); each lesson's data (its answer bank, the messages it expects) stays in its own test files.
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import pandas as pd
import pytest

from mlcourse.exercises import exercises_of
from mlcourse.exercises import notebook as nbio
from mlcourse.exercises.engine import ERROR, FAILED, NOT_ATTEMPTED, PASSED, Result
from mlcourse.exercises.plain import from_plain, to_plain
from mlcourse.exercises.testing import Tried, solutions, walk, walk_seeds


class Expect:
    """The verdicts every lesson expects of its answers."""

    @staticmethod
    def stub_then_solution(t: Tried) -> None:
        """The learner's stub is not attempted; the solution gets full marks."""
        assert t.stub.status == NOT_ATTEMPTED and t.stub.score == 0
        assert t.solution.status == PASSED and t.solution.score == t.solution.points, t.solution.render()

    @staticmethod
    def full_marks(results: Mapping[object, Result]) -> None:
        """Every result (by the answer's name) passes with full marks."""
        for name, result in results.items():
            assert result.status == PASSED and result.score == result.points, (name, result.render())

    @staticmethod
    def told(result: Result, phrases: Iterable[str], statuses: Sequence[str] = (FAILED, ERROR),
             score: float | None = None, name: object = None) -> None:
        """A wrong answer fails with one of ``statuses``, below full marks (``score`` if given), told ``phrases``."""
        assert result.status in statuses and result.score < result.points, (name, result.status, result.render())
        if score is not None:
            assert result.score == pytest.approx(score), (name, result.render())
        for phrase in phrases:
            assert phrase in result.message, (name, phrase, result.render())
        assert "__plain__" not in result.message, (name, result.message)  # never an internal representation

    @staticmethod
    def same_on_every_seed(results: Sequence[Result], fragment: str | None) -> None:
        """One answer's results on many seeds: one verdict; full marks, or a failure told ``fragment`` each time."""
        verdicts = {(r.status, r.score, tuple(t.status for t in r.tests)) for r in results}
        assert len(verdicts) == 1, sorted(verdicts)
        first = results[0]
        if fragment is None:
            assert first.status == PASSED and first.score == first.points, first.message
        else:
            assert first.status != PASSED and first.score < first.points
            assert all(fragment in r.message for r in results), [r.message for r in results if fragment not in r.message][:1]

    @staticmethod
    def one_verdict_per_answer(per_answer: Sequence[Sequence[Result]], n_right: int) -> None:
        """Each answer's results on many seeds (the first ``n_right`` right): a right answer passes on every seed;
        a wrong one fails (or errs) with one status and one score on every seed."""
        for i, per_seed in enumerate(per_answer):
            statuses = {r.status for r in per_seed}
            if i < n_right:
                assert statuses == {PASSED}, [r.render() for r in per_seed if r.status != PASSED][:1]
            else:
                assert len(statuses) == 1 and PASSED not in statuses, (i, [r.render() for r in per_seed][:2])
                assert len({r.score for r in per_seed}) == 1, (i, sorted({r.score for r in per_seed}))

    @staticmethod
    def graded_as_in_notebook(graded: Mapping[str, Result], in_notebook: Mapping[str, Result]) -> None:
        """The grader's result of each exercise of ``in_notebook`` has the status and score the notebook's check gave."""
        for ex_id, result in in_notebook.items():
            assert (graded[ex_id].status, graded[ex_id].score) == (result.status, result.score), graded[ex_id].message

    @staticmethod
    def inputs_survive_the_trip(lesson: str) -> None:
        """Every input of the lesson's exercises comes back from its plain data (as the grader's child rebuilds it)
        the same: the same plain data (compared as JSON, which spells NaN alike on both sides), and the same tables."""
        for ex in exercises_of(lesson):
            for x in ex.make_inputs(seed=7):
                if x is None:
                    continue
                back = from_plain(to_plain(x))
                assert json.dumps(to_plain(back), sort_keys=True) == json.dumps(to_plain(x), sort_keys=True), ex.id
                for a, b in zip(back, x) if isinstance(x, tuple) else [(back, x)]:
                    if isinstance(b, pd.DataFrame):
                        pd.testing.assert_frame_equal(a, b)


@pytest.fixture(scope="session")
def expect() -> type[Expect]:
    return Expect


# --------------------------------------------------------------------------
# A lesson's answer bank, tried inside the lesson
# --------------------------------------------------------------------------
class Expected(NamedTuple):
    """A typical wrong answer and the verdict it must get."""

    source: str
    says: tuple[str, ...]
    statuses: tuple[str, ...]
    score: float | None


def bank_answers(bank: ModuleType) -> tuple[dict[str, dict], dict[str, dict[object, Expected]]]:
    """An answer bank's ``(right, wrong)``, each by exercise and then by the answer's name (its position where the
    bank does not name them): ``right`` the sources, ``wrong`` :class:`Expected`. A bank lists, per exercise, its
    right answers (a list, or a dict by name) and its wrong ones (``Wrong`` objects, or ``(source, fragment)``
    pairs by name, which may fail or raise)."""
    right = {ex: dict(a) if isinstance(a, Mapping) else dict(enumerate(a)) for ex, a in bank.RIGHT.items()}
    wrong: dict[str, dict[object, Expected]] = {}
    for ex, answers in bank.WRONG.items():
        if isinstance(answers, Mapping):
            wrong[ex] = {name: Expected(src, (fragment,), (FAILED, ERROR), None) for name, (src, fragment) in answers.items()}
        else:
            wrong[ex] = {i: Expected(w.source, w.says, ({"failed": FAILED, "error": ERROR}[getattr(w, "status", "failed")],),
                                     w.score) for i, w in enumerate(answers)}
    return right, wrong


class Walked(NamedTuple):
    """One exercise's results in the lesson: the stub and the solution (``tried``), each answer's by name, and what
    each wrong answer must be told (``expected``, by the same names)."""

    tried: Tried
    right: dict
    wrong: dict
    expected: dict[object, Expected]


@pytest.fixture(scope="session")
def walk_bank(tmp_path_factory):
    """``walk_bank(lesson, bank) -> {exercise: Walked}``: the lesson walked once per session with the bank's right
    answers, then its wrong ones (:func:`mlcourse.exercises.testing.walk`)."""
    walked: dict[str, dict[str, Walked]] = {}

    def run(lesson: str, bank: ModuleType) -> dict[str, Walked]:
        if lesson not in walked:
            right, wrong = bank_answers(bank)
            answers = {ex: [*right[ex].values(), *(w.source for w in wrong[ex].values())] for ex in wrong}
            # A lesson may store progress or hints under $MLCOURSE_HOME: a session-scoped walk runs before the
            # per-test isolated home exists, so it gets its own (not the session's, which nbval shares).
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("MLCOURSE_HOME", str(tmp_path_factory.mktemp(f"walk-{lesson}-home")))
                results = walk(lesson, answers)
            walked[lesson] = {
                ex: Walked(t, dict(zip(right[ex], t.wrong[:len(right[ex])])), dict(zip(wrong[ex], t.wrong[len(right[ex]):])),
                           wrong[ex])
                for ex, t in results.items()
            }
        return walked[lesson]

    return run


@pytest.fixture(scope="module")
def walked(request, walk_bank) -> dict[str, Walked]:
    """The test module's lesson (its ``LESSON``) walked with its answer bank (its ``ANSWERS``), by exercise."""
    return walk_bank(request.module.LESSON, request.module.ANSWERS)


@pytest.fixture(scope="module")
def tried(request) -> dict[str, Tried]:
    """The test module's lesson (its ``LESSON``) walked once with, for each exercise, the right answers of its
    ``RIGHT`` and the wrong ones of its ``WRONG`` (lists of sources): each :class:`Tried` holds the stub, the
    solution, ``right`` (the right answers' results) and ``wrong`` (the wrong answers', in order)."""
    m = request.module
    walked = walk(m.LESSON, {ex: [*m.RIGHT[ex], *m.WRONG[ex]] for ex in m.WRONG})
    for ex_id, t in walked.items():
        t.right, t.wrong = t.wrong[:len(m.RIGHT[ex_id])], t.wrong[len(m.RIGHT[ex_id]):]
    return walked


@pytest.fixture(scope="module")
def seeded(request) -> dict[str, list[list[Result]]]:
    """The test module's lesson (its ``LESSON``) walked once, checking on every seed of its ``SEEDS`` the solution,
    then the right answers (its ``RIGHT``), then the wrong ones (its ``SEEDED_WRONG``) of each exercise that
    ``SEEDED_WRONG`` names: ``{exercise: [[result per seed] per answer]}`` (:func:`~mlcourse.exercises.testing.walk_seeds`)."""
    m = request.module
    answers = {ex: [*m.RIGHT[ex], *m.SEEDED_WRONG[ex]] for ex in m.SEEDED_WRONG}
    return walk_seeds(m.LESSON, answers, m.SEEDS)


# --------------------------------------------------------------------------
# The graded edition, released for real and run from its unzipped wheel
# --------------------------------------------------------------------------
EDITION_SCRIPT = r'''
import json, sys
from mlcourse.exercises import edition, lesson
tries = json.loads(sys.stdin.read())
assert edition.installed() and edition.lessons() == [tries["lesson"]]
ex = lesson(tries["lesson"])
out = {}
for exercise_id, sources in tries["answers"].items():
    results = []
    for source in sources:
        ns = {}
        exec(compile(tries["prelude"], "<prelude>", "exec", dont_inherit=True), ns)
        exec(compile(source, "<answer cell>", "exec", dont_inherit=True), ns)
        r = getattr(ex, exercise_id.split(".", 1)[1]).run(ns)
        results.append({"status": str(r.status), "tests": [[t.name, str(t.status), t.message] for t in r.tests],
                        "render": r.render()})
    out[exercise_id] = results
print(json.dumps(out))
'''


@pytest.fixture(scope="session")
def release_graded(tmp_path_factory):
    """``release_graded(lesson, n_exercises) -> site``: ``mlcourse release --edition graded LESSON``, its wheel
    checked to hold the lesson's probes but no answer key, and unzipped into ``site``."""
    from mlcourse import cli

    def release(lesson: str, n_exercises: int) -> Path:
        package = exercises_of(lesson)[0].id.split(".", 1)[0]
        out = tmp_path_factory.mktemp("graded")
        text, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(text), contextlib.redirect_stderr(err):
            status = cli.main(["release", "--edition", "graded", "--out", str(out), lesson])
        assert status == 0, err.getvalue()
        assert f"{lesson}: {n_exercises} exercise(s)" in text.getvalue()
        wheel = next(out.glob("mlcourse-*+graded-py3-none-any.whl"))
        with zipfile.ZipFile(wheel) as zf:
            names = zf.namelist()
            assert f"mlcourse/exercises/{package}/probes.py" in names
            # the answer key stays home
            assert not [n for n in names if n.endswith(f"{package}/checks.py") or "/_lessons/solutions/" in n]
            zf.extractall(out / "site")
        return out / "site"

    return release


@pytest.fixture(scope="session")
def run_in_edition():
    """``run_in_edition(site, lesson, prelude, answers) -> {exercise: [result, ...]}``: each answer (after the
    ``prelude``) checked in a separate Python whose ``mlcourse`` is the unzipped graded edition at ``site``; each
    result a dict of ``status``, ``tests`` (``[name, status, message]``) and ``render``."""

    def run(site: Path, lesson: str, prelude: str, answers: Mapping[str, Sequence[str]]) -> dict:
        env = dict(os.environ, PYTHONPATH=str(site), MLCOURSE_HOME=str(site.parent / "home"))
        tries = {"lesson": lesson, "prelude": prelude, "answers": answers}
        proc = subprocess.run([sys.executable, "-c", EDITION_SCRIPT], input=json.dumps(tries), env=env,
                              capture_output=True, text=True, timeout=600, cwd=site.parent)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout)

    return run


# --------------------------------------------------------------------------
# A learner's notebook, graded by the grader
# --------------------------------------------------------------------------
def _learner_folder(tmp_path: Path, lesson: str, nb: dict) -> Path:
    target = tmp_path / "subs" / "learner" / f"{lesson}.ipynb"
    target.parent.mkdir(parents=True)
    target.write_text(nbio.dumps(nb))
    return tmp_path / "subs"


def _batch_graded(tmp_path: Path, lesson: str, nb: dict):
    """The learner's notebook ``nb`` graded by the batch grader (secret seeds, sandboxed child): its ``Graded``."""
    from mlcourse.grading.batch import Options, run
    from mlcourse.grading.sandbox import Limits

    report = run(Options(paths=[_learner_folder(tmp_path, lesson, nb)], out=tmp_path / "out", jobs=1,
                         limits=Limits(cell_timeout=120), progress=False))
    (outcome,) = report.outcomes
    return outcome.graded


@pytest.fixture
def grade_solutions(tmp_path):
    """``grade_solutions(lesson, answers) -> {exercise: result}``: the lesson's solutions notebook with the answer
    cells of ``answers`` (by exercise) replaced by them, graded by the batch grader (secret seeds, sandboxed child)."""

    def grade(lesson: str, answers: Mapping[str, str]) -> dict:
        nb = nbio.read(nbio.lesson_path(lesson, "solutions"))
        for _, cell, ex_id in nbio.answer_cells(nb):
            if ex_id in answers:
                cell["source"] = answers[ex_id]
        return {r.exercise: r for r in _batch_graded(tmp_path, lesson, nb).results}

    return grade


@pytest.fixture
def grade_typed(tmp_path):
    """``grade_typed(lesson, answers) -> Graded``: the learner's notebook with each answer cell's header kept and
    the answer typed below it (``answers`` by exercise, the solution where none is given), graded by the batch
    grader (secret seeds, sandboxed child)."""

    def grade(lesson: str, answers: Mapping[str, str]):
        nb = nbio.read(nbio.lesson_path(lesson, "notebooks"))
        solved = solutions(lesson)
        for _, cell, ex_id in nbio.answer_cells(nb):
            lines = nbio.source(cell).splitlines()
            header = lines[: next(i for i, line in enumerate(lines) if not line.startswith("#"))]
            cell["source"] = "\n".join([*header, answers.get(ex_id, solved[ex_id])])
        return _batch_graded(tmp_path, lesson, nb)

    return grade


@pytest.fixture
def grade_below_stub(tmp_path):
    """``grade_below_stub(lesson, wrong) -> {exercise: results.json test}``: the learner's notebook with the
    ``wrong`` answers (by exercise) typed below the stub, in the cell with its set-up lines, and every other cell
    solved, graded by ``mlcourse grade``."""
    from mlcourse import cli

    def grade(lesson: str, wrong: Mapping[str, str]) -> dict:
        solved = solutions(lesson)
        nb = copy.deepcopy(nbio.read(nbio.lesson_path(lesson, "notebooks")))
        for cell in nb["cells"]:
            ex_id = nbio.exercise_id(cell)
            if ex_id:
                cell["source"] = nbio.source(cell) + "\n" + wrong[ex_id] if ex_id in wrong else solved[ex_id]
        subs = _learner_folder(tmp_path, lesson, nb)
        with contextlib.redirect_stdout(io.StringIO()):
            assert cli.main(["grade", str(subs), "--out", str(tmp_path / "out"), "--quiet"]) == 0
        results = json.loads((tmp_path / "out" / "learner" / lesson / "results.json").read_text())
        return {t["extra_data"]["exercise"]: t for t in results["tests"]}

    return grade
