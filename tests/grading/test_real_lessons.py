"""The grader on the course's real lessons: solutions get full marks, untouched
learner notebooks get 0 with every exercise not attempted, and (issue 17) the
grades and messages are the same with the shared checkpoints, fork points and
demonstration cells left out as with every cell run in a fresh child, on the
solutions, the untouched notebooks, notebooks whose every answer is wrong (and
breaks the lesson cells that use it), and solutions with a cell of the
learner's own that reads what a demonstration made."""
from __future__ import annotations

import copy
import json
import re
import secrets
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from mlcourse.exercises import LESSONS, exercises_of
from mlcourse.exercises import notebook as nbio
from mlcourse.grading.batch import Options, run
from mlcourse.grading.sandbox import Limits

REPO = Path(__file__).resolve().parents[2]
RELEASED = [
    lesson for lesson in LESSONS
    if (REPO / "notebooks" / f"{lesson}.ipynb").exists() and (REPO / "solutions" / f"{lesson}.ipynb").exists()
]
KINDS = ("solver", "newcomer", "wrong")
# The grader before issue 17 (every cell, in a fresh child), and fork points before every cell that can fail.
CONFIGS = {
    "default": {},
    "fresh": {"checkpoints": 0, "point_gap": None, "run_demos": True},
    "points": {"point_gap": 0.0},
}
# A cell a curious learner adds at the end: it reads what a demonstration cell made, so that one must run.
CURIOUS = {
    "01_data": 'assert "time split" in estimates and len(history) > len(future)',
    "04_monitor": "assert len(collapse) > 0 and len(kinds.table) > 0",
}


def wrong_notebook(lesson: str) -> dict:
    """The solution, with every answer replaced (after the right code) by one that runs and gives None."""
    nb = copy.deepcopy(nbio.read(REPO / "solutions" / f"{lesson}.ipynb"))
    answers = {ex.id: ex.answer for ex in exercises_of(lesson)}
    for _, cell, ex_id in nbio.answer_cells(nb):
        answer = answers.get(ex_id)
        if answer is None:
            continue
        wrong = f"def {answer.name}(*args, **kwargs):\n    return None" if answer.kind == "function" else f"{answer.name} = None"
        cell["source"] = f"{nbio.source(cell)}\n\n{wrong}\n"
    return nb


# A folder the lesson made with tempfile (mlcourse-03-uhjjnf6v): its name is
# random in every run, with or without checkpoints, and shows in some messages.
TEMP_NAME = re.compile(r"\b(mlcourse-\d\d-|tmp)[a-z0-9_]{8}\b")


def seen(graded) -> list:
    """What the learner sees: every exercise's status, score and message, and the notes (temporary names masked)."""
    shown = [(r.exercise, str(r.status), r.score, r.message) for r in graded.results] + sorted(graded.notes)
    return [TEMP_NAME.sub(r"\1<random>", str(x)) for x in shown]


def test_only_random_temporary_names_are_masked():
    assert seen(SimpleNamespace(results=[], notes=["No such file: '/tmp/submission/mlcourse-03-lsb_nfyh/fraud-v1.joblib'",
                                                   "total is 55", "mlcourse-03-plain"])) == [
        "No such file: '/tmp/submission/mlcourse-03-<random>/fraud-v1.joblib'", "mlcourse-03-plain", "total is 55"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    if not RELEASED:
        pytest.skip("no lesson released yet")
    root = tmp_path_factory.mktemp("real")
    for lesson in RELEASED:
        for who in KINDS:
            target = root / "subs" / f"{who}-{lesson}" / f"{lesson}.ipynb"
            target.parent.mkdir(parents=True)
            if who == "wrong":
                target.write_text(json.dumps(wrong_notebook(lesson)))
            else:
                shutil.copy(REPO / ("solutions" if who == "solver" else "notebooks") / f"{lesson}.ipynb", target)
        if lesson in CURIOUS:
            nb = nbio.read(REPO / "solutions" / f"{lesson}.ipynb")
            nb["cells"].append({"cell_type": "code", "source": CURIOUS[lesson], "metadata": {}, "outputs": [],
                                "execution_count": None})
            target = root / "subs" / f"curious-{lesson}" / f"{lesson}.ipynb"
            target.parent.mkdir(parents=True)
            target.write_text(json.dumps(nb))
    secret = root / "grader-secret.key"  # the same hidden inputs in every run, so the same messages
    secret.write_text(secrets.token_hex(32))
    out = {}
    for name, options in CONFIGS.items():
        report = run(Options(paths=[root / "subs"], out=root / f"out-{name}", jobs=2, limits=Limits(cell_timeout=120),
                             progress=False, secret_file=secret, **options))
        out[name] = {o.submission.learner: o.graded for o in report.outcomes}
    return out


@pytest.fixture(scope="module")
def graded(runs):
    return runs["default"]


@pytest.mark.parametrize("lesson", RELEASED)
def test_solutions_get_full_marks(graded, lesson):
    g = graded[f"solver-{lesson}"]
    assert g.lesson == lesson and g.error is None
    failing = {r.exercise: r.message for r in g.results if r.status != "passed"}
    assert not failing and g.score == g.max_score > 0, failing


@pytest.mark.parametrize("lesson", RELEASED)
def test_untouched_learner_notebook_is_not_attempted(graded, lesson):
    g = graded[f"newcomer-{lesson}"]
    assert g.lesson == lesson and g.score == 0
    assert {r.status for r in g.results} == {"not attempted"}, [(r.exercise, r.message) for r in g.results]
    # Run All reaches the end: no cell of the untouched notebook was dropped.
    assert not any("was skipped" in n for n in g.notes), g.notes
    # Every cell of it is the template's own: the shared checkpoint ran them all,
    # unless its cells leave what a fork does not copy (the grader says so).
    if g.shared_cells:
        assert g.cells_run == 0
    else:
        assert any(f"leave {what}" in g.unshared for what in ("threads running", "processes running", "files open")), g.unshared


@pytest.mark.parametrize("learner", [f"{who}-{lesson}" for lesson in RELEASED for who in KINDS]
                         + [f"curious-{lesson}" for lesson in CURIOUS if lesson in RELEASED])
def test_checkpoints_fork_points_and_demonstrations_left_out_change_no_grade_and_no_message(runs, learner):
    fresh = runs["fresh"][learner]
    assert fresh.shared_cells == 0 and fresh.resumes == 0 and fresh.left_out == 0
    for name in ("default", "points"):
        assert seen(runs[name][learner]) == seen(fresh), name


@pytest.mark.parametrize("lesson", [lesson for lesson in CURIOUS if lesson in RELEASED])
def test_demonstrations_are_left_out_unless_the_learner_reads_what_they_made(graded, lesson):
    solver, curious = graded[f"solver-{lesson}"], graded[f"curious-{lesson}"]
    assert solver.left_out >= 5
    # The learner's cell ran with what it reads: full marks, nothing skipped.
    assert curious.score == curious.max_score > 0 and not any("was skipped" in n for n in curious.notes), curious.notes
    assert 0 < curious.left_out < solver.left_out


def test_the_wrong_answers_were_replayed_from_fork_points(runs):
    wrong = [runs["points"][f"wrong-{lesson}"] for lesson in RELEASED]
    fresh = [runs["fresh"][f"wrong-{lesson}"] for lesson in RELEASED]
    assert sum(g.replays for g in fresh) > 0  # the wrong answers do break later cells
    assert sum(g.resumes for g in wrong) > 0
    # A resume runs fewer cells than a replay in a fresh child.
    assert sum(g.cells_run for g in wrong) < sum(g.cells_run for g in fresh)
