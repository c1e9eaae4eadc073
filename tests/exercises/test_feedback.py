"""What the learner sees: rich HTML in JupyterLab, the same content as text elsewhere,
status marks without emoji, scores as people write them, deterministic output."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from mlcourse.exercises import engine, feedback, progress_table
from mlcourse.exercises.engine import ERROR, Exercise, Function, Mistake, Result, returns

MEANS = Exercise(
    id="demo.fb_means", title="Column means", points=2, answer=Function("means"),
    tests=[
        returns("a fixed 2x2 frame", lambda rng: (pd.DataFrame({"a": [1.0, 3.0], "b": [2.0, 2.0]}),), lambda df: df.mean().to_dict()),
        returns("a frame with <b>tags</b>", lambda rng: (pd.DataFrame({"x": [float(rng.integers(1, 9))]}),), lambda df: df.mean().to_dict(),
                mistakes=[Mistake(lambda g, a, e: g == {}, "return one mean per column, e.g. `{'x': 1.0}`")]),
        returns("a third frame", lambda rng: (pd.DataFrame({"y": [1.0, 2.0]}),), lambda df: df.mean().to_dict()),
    ],
)

# Emoji (and the other pictographs JupyterLab showed as empty boxes without an emoji font).
EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u26FF\u2B00-\u2BFF\u23E9-\u23FA]")


def results() -> dict[str, Result]:
    def half(df):
        return {} if list(df.columns) == ["x"] else df.mean().to_dict()

    def broken(df):
        return df["nope"]

    return {
        "passed": MEANS.run({"means": lambda df: df.mean().to_dict()}),
        "failed": MEANS.run({"means": half}),
        "error": MEANS.run({"means": broken}),
        "not attempted": MEANS.run({}),
    }


@pytest.mark.parametrize("status", ["passed", "failed", "error", "not attempted"])
def test_every_status_has_a_mark_without_emoji_in_text_and_html(status):
    r = results()[status]
    assert r.status == status
    text, html = r.view().text, r.view().html
    assert text.startswith(f"{feedback.mark(status)} Column means [demo.fb_means]: {status}")
    assert not EMOJI.search(text) and not EMOJI.search(html)
    assert f'data-status="{status}"' in html and "mlcourse-badge" in html


def test_a_failure_shows_the_input_it_failed_on_the_score_and_every_test():
    r = results()["failed"]
    text, html = r.view().text, r.view().html
    assert "(1.33 / 2 points, 2 of 3 tests passed)" in text
    assert "On a frame with <b>tags</b>: " in text and "✗ a frame with <b>tags</b>" in text and "✓ a third frame" in text
    assert "<b>1.33 / 2</b> points" in html
    assert "Failed on</span> <b>a frame with &lt;b&gt;tags&lt;/b&gt;</b>" in html  # learner-facing text is escaped
    assert "<details" in html and "The 3 tests" in html
    assert "<code" in html and "{&#x27;x&#x27;: 1.0}" in html  # `code` in a message becomes inline code
    assert "Stuck? `ex.fb_means.hint()`" in text


def test_an_error_shows_its_traceback_in_text_and_open_in_html():
    r = results()["error"]
    assert r.status == ERROR
    text, html = r.view().text, r.view().html
    assert "KeyError: 'nope'" in text and 'return df["nope"]' in text
    assert "<details open" in html and "Traceback (your code)" in html and "return df[&quot;nope&quot;]" in html


def test_the_html_is_the_same_on_every_run_and_holds_no_ids():
    first = results()
    again = results()
    for status in first:
        assert first[status].view().html == again[status].view().html
        assert not re.search(r'\sid=|<style|<script', first[status].view().html)


@pytest.mark.parametrize(
    ("score", "points", "text"), [(4 / 3, 2, "1.33 / 2"), (2, 2, "2 / 2"), (0.6667, 2, "0.67 / 2"), (1.5, 3, "1.5 / 3")]
)
def test_scores_print_as_people_write_them(score, points, text):
    assert feedback.score_text(score, points) == text


def test_a_solution_is_highlighted_and_never_wraps():
    view = feedback.solution_view("demo.x", "X", "def f(x):\n    return x  # " + "a" * 200 + "\n")
    assert "white-space:pre;" in view.html and "overflow-x:auto" in view.html and "pre-wrap" not in view.html.split("mlcourse-code")[1]
    assert re.search(r'<span style="[^"]*color: #[0-9A-Fa-f]+[^"]*">def</span>', view.html)
    assert view.text.startswith("Solution [demo.x]: X\ndef f(x):\n    return x")


def test_text_wraps_between_words_only():
    html = results()["failed"].view().html
    assert "word-break:normal" in html and "break-all" not in html


def test_a_hint_and_a_note():
    v = feedback.hint_view("demo.x", 2, 2, "Use `max` <here>.", "That was the last hint.")
    assert v.text == "Hint 2 of 2 [demo.x]: Use `max` <here>.\n   That was the last hint."
    assert "hint 2 of 2" in v.html and "&lt;here&gt;" in v.html and "<here>" not in v.html


def test_progress_shows_each_exercise_with_status_score_and_hints():
    rows = progress_table("00_lifecycle_overview")
    rows[0].update(status="passed", score=rows[0]["points"])
    rows[1].update(status="failed", score=rows[1]["points"] / 3, hints=2)
    rows[2].update({"solution viewed": True})
    view = feedback.progress_view("00_lifecycle_overview", rows)
    lines = view.text.splitlines()
    assert lines[0].startswith("Progress in 00_lifecycle_overview: 1 of 3 exercises passed, ")
    assert re.match(r"^\[#+\.+\]$", lines[1])
    assert re.search(r"^ ✓ overview\.stage_order +\S+ / \S+ +passed$", view.text, re.M)
    assert re.search(r"^ ✗ overview\.activity_stage +[\d.]+ / \d+ +failed, 2 hints$", view.text, re.M)
    assert re.search(r"^ ○ overview\.next_stage +0 / \d+ +not attempted, solution viewed$", view.text, re.M)
    assert view.html.count("mlcourse-badge") == 3 and 'data-status="progress"' in view.html


def test_an_unknown_status_in_a_hand_edited_progress_file_still_shows():
    assert feedback.look("weird") is feedback.LOOKS["not attempted"]


def test_a_result_made_by_hand_renders():
    r = Result("demo.y", "Y", 1, ERROR, 0.0, "boom", [engine.TestResult("t", ERROR, "boom", "  cell [3], line 1, in f\nValueError: boom")])
    assert "cell [3], line 1" in r.render() and r._repr_html_().startswith('<div class="mlcourse-feedback"')


def test_the_graded_edition_shows_its_public_tests_and_its_own_advice():
    r = results()["failed"]
    r.public_only, r.hidden_tests, r.stuck = True, 2, "Read the message above: it names the input."
    text, html = r.view().text, r.view().html
    assert "failed (public tests: 2 of 3 passed; the grader adds 2 hidden tests; 2 points in all)" in text
    assert "Read the message above" in text and ".solution()" not in text
    assert "public tests: 2 of 3 passed" in html and ".solution()" not in html
