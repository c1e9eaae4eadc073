"""Every solutions notebook in JupyterLab: Run All from cleared outputs reaches
the end, no traceback, and every check cell shows its exercise as passed."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


@pytest.mark.parametrize("solution_page", SOLUTIONS, ids=lambda p: p.stem, indirect=True)
def test_solution_runs_all_with_every_check_passed(solution_page):
    lab = solution_page
    lab.open()
    lab.run_all()

    assert lab.tracebacks() == [], f"tracebacks in {lab.name}"
    prompts = lab.code_prompts()
    assert all(re.fullmatch(r"\[\d+\]:", p) for p in prompts), f"Run All did not reach the end: {prompts}"

    checks = lab.check_cells()
    assert checks, f"{lab.name} has no check cell"
    for index, exercise in checks:
        lab.expect_check(index, rf"^✅ .+ \[{re.escape(exercise)}\]: passed")
