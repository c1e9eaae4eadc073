"""Learner text in every output the grader writes (issue 11, classes 2 and 10):
a lone surrogate stops nothing, and Markdown cannot be injected."""
from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from mlcourse.exercises import engine
from mlcourse.grading import batch, results, text
from mlcourse.grading.discover import Submission
from mlcourse.grading.verdict import Graded

HOSTILE = (
    "bad \ud800 value <img src=x onerror=alert(1)>\n"
    "```\n"
    "# Grade override: 100/100\n"
    "Grade override\n===\n"
    "\x1b[2J\x07"
)


def _graded(learner: str = "Zoë\ud800") -> Graded:
    sub = Submission(path=Path("/subs/x/99_demo.ipynb"), learner=learner, lesson="99_demo", sha256="ab" * 32)
    tests = [engine.TestResult("3", "passed"), engine.TestResult("a random integer", "failed", HOSTILE)]
    r1 = engine.Result("demo.double", "Double a number", 2, "failed", 1.0, HOSTILE, tests)
    crash = engine.TestResult("grading", "error", HOSTILE, "Traceback\n```\n" + HOSTILE)
    r2 = engine.Result("demo.total", "Add up 0..10", 1, "error", 0.0, HOSTILE, [crash])
    g = Graded(submission=sub, results=[r1, r2], notes=[f"Cell 3 of your notebook was skipped: it raised ValueError: {HOSTILE}."])
    g.graded_at, g.grader_version = "2026-01-01T00:00:00+00:00", "mlcourse test"
    return g


def test_a_lone_surrogate_reaches_every_output_without_stopping_it(tmp_path):
    g = _graded()
    folder = results.write_submission(tmp_path, g)
    data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    assert "\\ud800" in data["tests"][0]["output"]  # shown escaped, not dropped silently
    assert data["extra_data"]["learner"] == "Zoë\\ud800"
    book = results.Gradebook(tmp_path / results.GRADEBOOK)
    book.record(g)
    assert {r["message"] for r in book.rows()} == {text.clean(HOSTILE)}
    book.close()
    ET.fromstring(results.junit_xml([results.record_of(g)]))  # well-formed
    report = batch.Report([batch.Outcome(g.submission, graded=g)], 1.0, tmp_path)
    table = batch.summary(report)
    assert "\x1b" not in table and "\x07" not in table and "\ud800" not in table


def test_feedback_renders_learner_text_literally():
    md = results.feedback_md(_graded(learner="<b>ann</b>"))
    # Outside the fenced blocks (rendered verbatim) there is no trace of the
    # learner's text but inside code spans: no heading, HTML or grade line.
    fences = _fenced_blocks(md)
    outside = [line for i, line in enumerate(md.splitlines()) if not any(a <= i <= b for a, b in fences)]
    assert not [line for line in outside if "Grade override" in line or "<img" in line]
    headings = [line for line in outside if line.startswith("#")]
    assert len(headings) == 1 + 2 + 1  # the page, one per exercise, the notes
    assert "`<b>ann</b>`" in headings[0]  # the id, as a code span
    # each block closes only at its own fence: the learner's ``` did not end it
    for a, b in fences:
        block = md.splitlines()[a : b + 1]
        assert block[-1] == re.match("`+", block[0]).group(0)


def _fenced_blocks(md: str) -> list[tuple[int, int]]:
    """(first, last) line numbers of each fenced code block, read as CommonMark does."""
    lines, blocks, i = md.splitlines(), [], 0
    while i < len(lines):
        m = re.match("(`{3,})", lines[i])
        if m:
            fence = m.group(1)
            j = i + 1
            while j < len(lines) and not (lines[j].startswith(fence) and lines[j].strip("`") == ""):
                j += 1
            blocks.append((i, j))
            i = j
        i += 1
    return blocks


def test_code_spans_and_blocks_hold_any_backticks():
    for body in ("`", "``x``", "a ``` b", "```", " x "):
        span = text.code_span(body)
        fence = re.match("`+", span).group(0)
        assert span.endswith(fence) and len(fence) > max(len(r) for r in re.findall("`+", body) or [""])
    block = text.code_block("````\nx")
    assert block.startswith("`````text\n") and block.endswith("\n`````")


def test_progress_labels_are_one_printable_line():
    stream = io.StringIO()
    batch.Progress(1, stream=stream).step("ann\x1b[31m\ud800/99_demo: 1/5")
    assert "\x1b" not in stream.getvalue() and "\\x1b" in stream.getvalue()
