"""The grader on the course's real lessons: solutions get full marks, untouched
learner notebooks get 0 with every exercise not attempted."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlcourse.exercises import LESSONS
from mlcourse.grading.batch import Options, run
from mlcourse.grading.sandbox import Limits

REPO = Path(__file__).resolve().parents[2]
RELEASED = [
    lesson for lesson in LESSONS
    if (REPO / "notebooks" / f"{lesson}.ipynb").exists() and (REPO / "solutions" / f"{lesson}.ipynb").exists()
]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if not RELEASED:
        pytest.skip("no lesson released yet")
    root = tmp_path_factory.mktemp("real")
    for lesson in RELEASED:
        for kind, who in (("solutions", "solver"), ("notebooks", "newcomer")):
            target = root / "subs" / f"{who}-{lesson}" / f"{lesson}.ipynb"
            target.parent.mkdir(parents=True)
            shutil.copy(REPO / kind / f"{lesson}.ipynb", target)
    report = run(Options(paths=[root / "subs"], out=root / "out", jobs=2, limits=Limits(cell_timeout=120), progress=False))
    return {o.submission.learner: o.graded for o in report.outcomes}


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
