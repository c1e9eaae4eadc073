"""The instructor dashboard in Chromium: a real ``mlcourse dashboard`` process over a
generated cohort, driven as an instructor would: the class view, one exercise, a
common mistake, a review of a STAR answer, and the CSV export that follows.

``MLCOURSE_DASHBOARD_SCREENSHOT=docs/dashboard.png`` also writes the
instructors' guide's screenshot of the class view.
"""
from __future__ import annotations

import csv
import importlib.util
import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import VIEWPORT, _die_with_parent

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
STAR = "interview.star_answer"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("bench_dashboard", ROOT / "benchmarks" / "dashboard.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    folder = tmp_path_factory.mktemp("e2e-dashboard") / "graded"
    generator.make_gradebook(folder, learners=40, lessons=["00_lifecycle_overview", "01_data", "06_interview_prep"],
                             write_files=True)
    port = _free_port()
    log = folder.parent / "dashboard.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlcourse", "dashboard", str(folder), "--port", str(port), "--reviewer", "Dr. Lee"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/", timeout=5).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the dashboard did not start:\n{log.read_text(errors='replace')}", pytrace=False)
            time.sleep(0.25)
    yield url, folder
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _csv(page, url: str) -> dict:
    text = page.request.get(url).text()
    return {(r["learner"], r["exercise"]): r for r in csv.DictReader(io.StringIO(text))}


def test_an_instructor_filters_finds_a_common_mistake_reviews_and_exports(browser, dashboard, tmp_path):
    from playwright.sync_api import expect

    url, folder = dashboard
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    try:
        # The class view: every lesson, a status bar per exercise, a score distribution per lesson.
        page.goto(url + "/")
        expect(page.get_by_role("heading", name=re.compile(r"Class view: 40 learner"))).to_be_visible()
        for lesson in ("00_lifecycle_overview", "01_data", "06_interview_prep"):
            expect(page.locator(f"h2[id=\"{lesson}\"]")).to_be_visible()
        assert page.locator("svg.bar").count() >= 10 and page.locator("svg.hist").count() == 3
        shot = os.environ.get("MLCOURSE_DASHBOARD_SCREENSHOT")
        if shot:
            _screenshot(page, ROOT / shot)

        # Filter to one exercise.
        page.select_option("#exercise-select", "overview.next_stage")
        page.get_by_role("button", name="Show").click()
        expect(page).to_have_url(re.compile(r"/exercise\?id=overview\.next_stage$"))
        expect(page.get_by_role("heading", name=re.compile("Walk the loop"))).to_be_visible()
        rows = page.locator("#mistakes tr")
        expect(rows.nth(1)).to_be_visible()

        # Open the most common mistake: its learners, each with the message they read.
        top = rows.nth(1)
        count = int(top.locator("td").first.inner_text())
        label = top.locator("td a").inner_text()
        top.locator("td a").click()
        expect(page.get_by_role("heading", name=label)).to_be_visible()
        expect(page.locator("#learners tr")).to_have_count(count + 1)

        # Review a STAR answer from the queue.
        page.get_by_role("link", name=re.compile(r"Reviews \(\d+ waiting\)")).click()
        waiting_before = int(re.search(r"(\d+) waiting", page.locator("h1").inner_text()).group(1))
        first = page.locator("#queue tr", has=page.get_by_role("link", name="review", exact=True)).first
        learner = first.locator("td").first.inner_text()
        before = _csv(page, url + "/export.csv")[(learner, STAR)]
        first.get_by_role("link", name="review", exact=True).click()
        expect(page.locator("#answer")).to_contain_text("fell by 35%")
        page.fill("#score", "2.5")
        page.fill("#comment", "Good structure; name the metric you moved and by how much.")
        page.get_by_role("button", name="Save the review").click()
        expect(page.locator("#saved")).to_contain_text("2.5 / 4")
        expect(page.locator("#history")).to_contain_text("Dr. Lee")
        page.get_by_role("link", name=re.compile(r"Reviews \(\d+ waiting\)")).click()
        expect(page.locator("h1")).to_contain_text(f"{waiting_before - 1} waiting")

        # The CSV export changed: the reviewed score, who reviewed it; the learner's feedback too.
        after = _csv(page, url + "/export.csv")[(learner, STAR)]
        assert before["score"] != "2.5" and after["score"] == "2.5" and after["reviewed_by"] == "Dr. Lee"
        assert after["auto_score"] == before["score"]
        with page.expect_download() as download:
            page.get_by_role("link", name="Export wide CSV").click()
        target = tmp_path / "wide.csv"
        download.value.save_as(target)
        wide = {r["learner"]: r for r in csv.DictReader(target.open())}
        assert wide[learner][STAR] == "2.5"
        feedback = (folder / learner / "06_interview_prep" / "feedback.md").read_text()
        assert "name the metric you moved" in feedback and "Reviewed by `Dr. Lee`" in feedback
    finally:
        context.close()


def _screenshot(page, target: Path) -> None:
    """The guide's picture of the class view: 1280x800, small PNG."""
    from PIL import Image

    page.mouse.move(0, 0)
    raw = target.with_suffix(".raw.png")
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(raw))
    Image.open(raw).convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        target, optimize=True)
    raw.unlink()
    print(f"dashboard screenshot: {target} ({target.stat().st_size // 1024} KiB)")
