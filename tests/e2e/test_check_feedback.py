"""A check as a learner sees it in JupyterLab: the rendered card of a failed and a
passed answer, and fresh checks (a broken answer cell, a restarted kernel).

``MLCOURSE_CHECK_SCREENSHOTS=docs`` also writes the README's pictures of a
failed and a passed check (``docs/check-failed.png``, ``docs/check-passed.png``).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
LESSON = ROOT / "notebooks" / "00_lifecycle_overview.ipynb"
SETUP = 2  # the lesson's first code cell: its imports and `ex = lesson(...)`

# A typical mistake: the loop stops at Monitor instead of going back to Data.
PROMPT = "# Exercise overview.next_stage: Walk the loop: the stage after a stage (2 points).\n"
STOPS_AT_MONITOR = PROMPT + '''def next_stage(stage):
    """Return the stage after `stage`; after Monitor the loop goes back to Data."""
    order = ["Data", "Train", "Deploy", "Monitor"]
    i = order.index(stage)
    return order[min(i + 1, len(order) - 1)]
'''
RIGHT = PROMPT + '''def next_stage(stage):
    """Return the stage after `stage`; after Monitor the loop goes back to Data."""
    order = ["Data", "Train", "Deploy", "Monitor"]
    return order[(order.index(stage) + 1) % len(order)]
'''
# Characters JupyterLab shows as empty boxes where no emoji font is installed (Debian's Chromium).
EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u26FF\u2B00-\u2BFF\u23E9-\u23FA]")


def _open_at(lab, exercise: str) -> tuple[int, int]:
    """Open the lesson and run its set-up cell: the indices of ``exercise``'s answer cell and check cell."""
    lab.open()
    lab.run_cell(SETUP)
    return lab.index_of(exercise), lab.index_of(exercise, "check")


def _screenshot(lab, name: str, first: int, last: int) -> None:
    folder = os.environ.get("MLCOURSE_CHECK_SCREENSHOTS")
    if folder:
        lab.cells_screenshot(Path(folder) / name, first, last)


@pytest.mark.parametrize("learner_page", [LESSON], ids=lambda p: p.stem, indirect=True)
def test_a_failed_and_a_passed_check_render_as_cards(learner_page):
    from playwright.sync_api import expect

    lab = learner_page
    answer, check = _open_at(lab, "overview.next_stage")

    lab.set_source(answer, STOPS_AT_MONITOR)
    lab.run_cell(answer)
    lab.run_cell(check)
    card = lab.expect_check(check, "overview.next_stage", "failed")
    expect(card.locator(".mlcourse-score")).to_have_text("1.33 / 2 points · 4 of 6 tests passed")
    expect(card).to_contain_text("Failed on the stage 'Monitor'")
    expect(card.locator(".mlcourse-message")).to_contain_text("expected 'Data', got 'Monitor'. The lifecycle does not end at Monitor")
    expect(card).to_contain_text("Stuck? ex.next_stage.hint() gives a hint")
    assert not EMOJI.search(card.text_content())
    # The badge is coloured, and its mark is drawn by CSS (no font needed): a box with a size.
    badge = card.locator(".mlcourse-badge").first
    assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(192, 57, 43)"
    mark = badge.locator("span").first.bounding_box()
    assert mark["width"] >= 8 and mark["height"] >= 8
    # Every test is listed in a collapsed details element.
    tests = card.locator("details li")
    expect(tests.first).to_be_hidden()
    _screenshot(lab, "check-failed.png", answer, check)
    card.locator("details summary").last.click()
    expect(tests).to_have_count(6)
    expect(tests.nth(3)).to_contain_text("failed the stage 'Monitor'")
    expect(tests.nth(0)).to_contain_text("passed the stage 'Data'")

    lab.set_source(answer, RIGHT)
    lab.run_cell(answer)
    lab.run_cell(check)
    card = lab.expect_check(check, "overview.next_stage", "passed")
    expect(card.locator(".mlcourse-score")).to_have_text("2 / 2 points · 6 of 6 tests passed")
    expect(card.locator(".mlcourse-message")).to_have_count(0)
    assert card.locator(".mlcourse-badge").first.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(31, 122, 58)"
    _screenshot(lab, "check-passed.png", answer, check)


@pytest.mark.parametrize("learner_page", [LESSON], ids=lambda p: p.stem, indirect=True)
def test_checks_are_fresh_after_a_restart_and_after_a_broken_answer_cell(learner_page):
    from playwright.sync_api import expect

    lab = learner_page
    answer, check = _open_at(lab, "overview.stage_order")
    progress = next(i for i, c in enumerate(lab.cells) if "".join(c["source"]).strip() == "ex.progress()")

    lab.set_source(answer, "# Exercise overview.stage_order: Put the four stages in order (1 point).\n"
                           'stages = ["Data", "Train", "Deploy", "Monitor"]\n')
    lab.run_cell(answer)
    lab.run_cell(check)
    lab.expect_check(check, "overview.stage_order", "passed")

    # A restarted kernel forgets `stages`: the check shows the stored pass and asks for the answer cell.
    lab.restart_kernel()
    assert lab.run_cell(SETUP) == 1
    lab.run_cell(check)
    card = lab.expect_check(check, "overview.stage_order", "passed earlier")
    expect(card.locator(".mlcourse-score")).to_have_text("1 / 1 points")
    expect(card.locator(".mlcourse-message")).to_contain_text("Run the answer cell again")
    lab.run_cell(progress)
    rows = lab.feedback(progress).locator("tr")
    expect(rows.first).to_contain_text("passed")
    expect(rows.first).to_contain_text("overview.stage_order")

    # The answer cell now fails to run: the check says so instead of judging what is left in memory.
    lab.set_source(answer, "# Exercise overview.stage_order: Put the four stages in order (1 point).\n"
                           'stages = ["Data", "Train", "Deploy", "Monitor"\n')
    broken = lab.run_cell(answer)
    lab.run_cell(check)
    card = lab.expect_check(check, "overview.stage_order", "error")
    expect(card.locator(".mlcourse-message")).to_contain_text(
        f"your last run of this answer cell ([{broken}]) failed (SyntaxError:"
    )
    lab.set_source(answer, "# Exercise overview.stage_order: Put the four stages in order (1 point).\n"
                           'stages = ["Data", "Train", "Deploy", "Monitor"]\n')
    lab.run_cell(answer)
    lab.run_cell(check)
    lab.expect_check(check, "overview.stage_order", "passed")
