"""Every learner notebook, untouched, in JupyterLab: Run All reaches the end,
no traceback, and every check cell shows its exercise as not attempted."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# The engine's own words for an untouched exercise: a check cell shows a card
# whose badge reads "not attempted", a stub raises "...: not attempted yet".
NOT_ATTEMPTED = "not attempted"


@pytest.mark.parametrize("learner_page", LESSONS, ids=lambda p: p.stem, indirect=True)
def test_untouched_lesson_runs_all_with_every_check_not_attempted(learner_page):
    lab = learner_page
    lab.open()
    lab.run_all()

    unexpected = [(i, text) for i, text in lab.tracebacks() if NOT_ATTEMPTED not in text]
    assert unexpected == [], f"tracebacks in {lab.name}: {unexpected}"
    checks = lab.expect_every_check(NOT_ATTEMPTED)

    target = os.environ.get("MLCOURSE_LESSON_SCREENSHOT")
    if target and lab.name == os.environ.get("MLCOURSE_LESSON_SCREENSHOT_OF", "01_data.ipynb"):
        lab.lesson_screenshot(Path(target), checks[0][0])
