"""``pytest --grade NOTEBOOK``: one test item per exercise."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]


def test_one_item_per_exercise_with_the_feedback(pytester, demo_lessons, make_submission, answers, write_nb):
    # Wrong on every input: `return 0` would pass the random-integer test when it draws 0 (once in 2,000 runs).
    wrong = {**answers, "demo.double": "def double(x):\n    return 2 * x + 1"}
    nb = write_nb(pytester.path / "ann" / "99_demo.ipynb", make_submission(answers=wrong))
    broken = write_nb(pytester.path / "bob" / "x.ipynb", "not json")
    # What a learner may send along must not run in pytest's own process.
    for name in ("conftest.py", "__init__.py", "test_evil.py"):
        (pytester.path / "bob" / name).write_text("import os\nos.makedirs('PWNED', exist_ok=True)\ndef test_evil():\n    pass\n")
    # --nbval would also collect the notebooks; --grade turns it off for the run.
    result = pytester.runpytest_inprocess("--nbval", "--grade", str(nb), "--grade", str(broken.parent), "--grade-timeout", "10", "-v")
    result.assert_outcomes(passed=2, failed=2)
    out = result.stdout.str()
    assert "99_demo.ipynb::demo.total PASSED" in out and "99_demo.ipynb::demo.double FAILED" in out
    assert "expected 6, got 7" in out
    assert "3/5 points (99_demo, learner ann)" in out
    # A notebook that cannot be read is one failing item saying why.
    assert "x.ipynb::notebook FAILED" in out and "not valid JSON" in out
    assert not (pytester.path / "PWNED").exists() and "test_evil" not in out


@pytest.mark.skipif(not (REPO / "notebooks" / "01_data.ipynb").exists(), reason="lesson 01 not released yet")
def test_installed_plugin_collects_a_real_lesson_instead_of_nbval():
    # From the repository root: pyproject's addopts turn --nbval on and set
    # testpaths; --grade replaces both for the run.
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--grade", "notebooks/01_data.ipynb", "--collect-only", "-q"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    items = [line for line in proc.stdout.splitlines() if "::" in line]
    from mlcourse.exercises import exercises_of

    assert items == [f"notebooks/01_data.ipynb::{ex.id}" for ex in exercises_of("01_data")]
