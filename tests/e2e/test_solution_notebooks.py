"""Every solutions notebook in JupyterLab: Run All from cleared outputs reaches
the end, no traceback, and every check cell shows its exercise as passed."""
from __future__ import annotations

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
    lab.expect_every_check("passed")
