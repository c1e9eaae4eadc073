"""How a check, a hint, a solution and the progress look: rich output in JupyterLab, plain text elsewhere.

Where it stands: the last step of the learner's side of a check. The engine
(:meth:`~mlcourse.exercises.engine.Exercise.check`, ``hint()``,
``solution()``) and :func:`mlcourse.exercises.progress` build a :class:`View`
here and :func:`show` it. A view carries the same content twice:

* HTML for JupyterLab: a card with the status as a coloured badge, the score,
  the input a test failed on, collapsible details (every test, the
  traceback) and syntax-highlighted solution code (pygments). Inline styles
  only, with JupyterLab's theme variables where they exist (a stored
  output is sanitised when its notebook is not trusted); status marks
  drawn with CSS, so they show without an emoji font; no ids or times, so a
  re-run stores byte-identical outputs (nbval compares them);
* text for terminals, nbval and logs, with marks every common font has:
  ``✓`` passed, ``✗`` failed, ``!`` error, ``○`` not attempted.

Scores print as people write them (:func:`score_text`).

Examples
--------
>>> score_text(4 / 3, 2), score_text(2.0, 2), score_text(0.5, 1)
('1.33 / 2', '2 / 2', '0.5 / 1')
>>> v = hint_view("demo.k", 1, 2, "Use `max`.")
>>> print(v)
Hint 1 of 2 [demo.k]: Use `max`.
>>> "<code" in v._repr_html_() and "Use" in v._repr_html_()
True
"""
from __future__ import annotations

import html
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlcourse.exercises.protocol import Status


# --------------------------------------------------------------------------
# Numbers and marks
# --------------------------------------------------------------------------
def number_text(x: float) -> str:
    """``2``, ``1.5``, ``1.33``: at most two decimals, no trailing zeros.

    Examples
    --------
    >>> number_text(2.0), number_text(0.6667), number_text(1.5)
    ('2', '0.67', '1.5')
    """
    x = float(x)
    if abs(x - round(x)) < 1e-9:
        return str(int(round(x)))
    return f"{x:.2f}".rstrip("0").rstrip(".")


def score_text(score: float, points: float) -> str:
    """``1.33 / 2``: a score out of the exercise's points."""
    return f"{number_text(score)} / {number_text(points)}"


@dataclass(frozen=True)
class Look:
    """How one status shows: its words, its text mark, its colour and the shape CSS draws for it."""

    label: str
    mark: str
    colour: str
    shape: str


LOOKS: dict[str, Look] = {
    Status.PASSED.value: Look("passed", "✓", "#1f7a3a", "check"),
    Status.FAILED.value: Look("failed", "✗", "#c0392b", "cross"),
    Status.ERROR.value: Look("error", "!", "#b35900", "bang"),
    Status.NOT_ATTEMPTED.value: Look("not attempted", "○", "#6b7280", "ring"),
}
EARLIER = Look("passed earlier", "✓", "#5b7f68", "check")
NOTE = Look("", "", "#2f5f9e", "")


def look(status: Any) -> Look:
    """The look of a status (an unknown one, say from a hand-edited progress file, looks not attempted)."""
    return LOOKS.get(str(status), LOOKS[Status.NOT_ATTEMPTED.value])


def mark(status: Any) -> str:
    """The text mark of a status: ``✓``, ``✗``, ``!`` or ``○``."""
    return look(status).mark


# --------------------------------------------------------------------------
# The view
# --------------------------------------------------------------------------
class View:
    """Something to display: HTML in JupyterLab, ``text`` anywhere else (``print`` and ``repr`` give the text)."""

    def __init__(self, text: str, html_: str) -> None:
        self.text = text
        self.html = html_

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


def show(view: View) -> None:
    """Display ``view`` as rich output under IPython, else print its text."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if shell is None:
        print(view.text)
        return
    from IPython.display import display

    display(view)


# --------------------------------------------------------------------------
# HTML pieces (inline styles only; see the module docstring)
# --------------------------------------------------------------------------
_MUTED = "color:var(--jp-content-font-color2,#57606a)"
_CODE = (
    "font-family:var(--jp-code-font-family,monospace);font-size:0.92em;padding:0 3px;"
    "border-radius:3px;background:rgba(127,127,127,0.14)"
)
_PRE = (
    "margin:4px 0 0;padding:6px 8px;border-radius:3px;background:rgba(127,127,127,0.10);"
    "font-family:var(--jp-code-font-family,monospace);font-size:var(--jp-code-font-size,13px);line-height:1.4;"
    # Code never wraps (least of all mid-word): a long line scrolls sideways.
    "white-space:pre;overflow-x:auto;word-break:normal;overflow-wrap:normal"
)
_TEXT = "white-space:pre-wrap;word-break:normal;overflow-wrap:break-word"
_BACKTICKS = re.compile(r"`([^`\n]+)`")


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def prose(text: str) -> str:
    """Message text as HTML: escaped, with `backticked` spans as inline code.

    Examples
    --------
    >>> prose("use `df.copy()` <first>").endswith('>df.copy()</code> &lt;first&gt;')
    True
    """
    return _BACKTICKS.sub(lambda m: f'<code style="{_CODE}">{m.group(1)}</code>', _esc(text))


def _shape(shape: str, size: int = 10) -> str:
    """A status mark drawn with CSS in the current text colour (no font needed)."""
    box = f"display:inline-block;position:relative;width:{size}px;height:{size}px;flex:none"
    if shape == "check":
        tick = (
            f"position:absolute;left:{size * 0.32:.1f}px;top:{size * 0.02:.1f}px;width:{size * 0.3:.1f}px;"
            f"height:{size * 0.62:.1f}px;border:solid currentColor;border-width:0 2px 2px 0;transform:rotate(45deg)"
        )
        return f'<span style="{box}"><span style="{tick}"></span></span>'
    if shape == "cross":
        bar = f"position:absolute;left:{size / 2 - 1:.1f}px;top:0;width:2px;height:{size}px;background:currentColor"
        return (
            f'<span style="{box}"><span style="{bar};transform:rotate(45deg)"></span>'
            f'<span style="{bar};transform:rotate(-45deg)"></span></span>'
        )
    if shape == "ring":
        ring = f"position:absolute;left:1px;top:1px;width:{size - 6}px;height:{size - 6}px;border:2px solid currentColor;border-radius:50%"
        return f'<span style="{box}"><span style="{ring}"></span></span>'
    if shape == "bang":
        part = f"position:absolute;left:{size / 2 - 1:.1f}px;width:2px;background:currentColor"
        return (
            f'<span style="{box}"><span style="{part};top:0;height:{size * 0.62:.1f}px"></span>'
            f'<span style="{part};top:{size * 0.8:.1f}px;height:2px"></span></span>'
        )
    return ""


def badge(look_: Look, label: str | None = None, small: bool = False) -> str:
    """A coloured pill with the status mark and its word."""
    label = look_.label if label is None else label
    size = "0.78em" if small else "0.85em"
    style = (
        f"display:inline-flex;align-items:center;gap:5px;padding:0 8px;border-radius:9px;background:{look_.colour};"
        f"color:#fff;font-weight:600;font-size:{size};line-height:1.6;white-space:nowrap;vertical-align:middle"
    )
    return f'<span class="mlcourse-badge" style="{style}">{_shape(look_.shape)}{_esc(label)}</span>'


def card(look_: Look, status: str, head: str, body: str = "", badge_label: str | None = None) -> str:
    """The frame every view shares: a tinted box, the badge and ``head`` on top, ``body`` below."""
    c = look_.colour
    style = (
        f"border:1px solid {c}40;border-left:4px solid {c};border-radius:4px;padding:6px 10px;margin:2px 0;"
        f"background:{c}0d;color:var(--jp-content-font-color1,#1f2328);"
        "font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:var(--jp-content-font-size1,14px);line-height:1.5"
    )
    top = (
        '<div style="display:flex;flex-wrap:wrap;align-items:center;gap:4px 10px">'
        f"{badge(look_, badge_label) if (badge_label is None or badge_label) else ''}{head}</div>"
    )
    return f'<div class="mlcourse-feedback" data-status="{_esc(status)}" style="{style}">{top}{body}</div>'


def _title(title: str, exercise: str) -> str:
    return f'<span style="font-weight:600">{_esc(title)}</span><code style="{_CODE};{_MUTED}">{_esc(exercise)}</code>'


def _details(summary: str, inner: str, open_: bool = False) -> str:
    return (
        f'<details{" open" if open_ else ""} style="margin-top:4px">'
        f'<summary style="cursor:pointer;{_MUTED}">{summary}</summary>{inner}</details>'
    )


# --------------------------------------------------------------------------
# A check's result
# --------------------------------------------------------------------------
def _first_problem(result: Any) -> Any:
    return next((t for t in result.tests if str(t.status) != Status.PASSED.value), None)


def _tests_text(result: Any) -> str:
    return f"{result.passed} of {len(result.tests)} test{'' if len(result.tests) == 1 else 's'}"


def _traceback(result: Any) -> str:
    if str(result.status) != Status.ERROR.value:
        return ""
    return next((t.traceback.rstrip() for t in result.tests if t.traceback), "")


def _helper(result: Any, short: str, status: str) -> str | None:
    if status not in (Status.FAILED.value, Status.ERROR.value):
        return None
    # The graded edition says what to do when stuck itself (no solutions there).
    return getattr(result, "stuck", "") or f"Stuck? `ex.{short}.hint()` gives a hint, `ex.{short}.solution()` shows one answer."


def _score(result: Any, html_: bool = False) -> str:
    """``1.33 / 2 points, 4 of 6 tests passed``; in the graded edition the public tests and what the grader adds."""
    n = len(result.tests)
    if getattr(result, "public_only", False):
        hidden = int(getattr(result, "hidden_tests", 0) or 0)
        more = f"; the grader adds {hidden} hidden test{'' if hidden == 1 else 's'}" if hidden else ""
        points = f"{number_text(result.points)} point{'' if result.points == 1 else 's'}"
        text = f"public tests: {result.passed} of {n} passed{more}; {points} in all"
        return _esc(text) if html_ else text
    score = score_text(result.score, result.points)
    tests = f"{_tests_text(result)} passed" if n else ""
    if html_:
        return f"<b>{score}</b> points" + (f" · {tests}" if tests else "")
    return f"{score} points" + (f", {tests}" if tests else "")


def result_text(result: Any, short: str | None = None) -> str:
    """A check's result as text (what the check cell shows outside JupyterLab)."""
    status = str(result.status)
    short = short or result.exercise.split(".", 1)[-1]
    head = f"{mark(status)} {result.title} [{result.exercise}]: {status}"
    if status != Status.NOT_ATTEMPTED.value and (result.tests or status != Status.PASSED.value):
        head += f" ({_score(result)})"
    lines = [head]
    if result.message:
        lines.append("   " + result.message.replace("\n", "\n   "))
    tb = _traceback(result)
    if tb:
        lines.append("   " + tb.replace("\n", "\n   "))
    if len(result.tests) > 1 and status in (Status.FAILED.value, Status.ERROR.value):
        lines.append("   Tests:")
        lines += [f"     {mark(t.status)} {t.name}" for t in result.tests]
    helper = _helper(result, short, status)
    if helper:
        lines.append("   " + helper)
    return "\n".join(lines)


def result_html(result: Any, short: str | None = None) -> str:
    """A check's result as an HTML card (see the module docstring)."""
    status = str(result.status)
    short = short or result.exercise.split(".", 1)[-1]
    look_ = look(status)
    head = _title(result.title, result.exercise)
    if status != Status.NOT_ATTEMPTED.value and (result.tests or status != Status.PASSED.value):
        head += f'<span class="mlcourse-score" style="margin-left:auto;white-space:nowrap">{_score(result, html_=True)}</span>'
    body = []
    first = _first_problem(result)
    message = result.message
    if first is not None and first.name and message.startswith(f"On {first.name}: "):
        message = message[len(f"On {first.name}: ") :]
        verb = "Error on" if status == Status.ERROR.value else "Failed on"
        body.append(f'<div style="margin-top:4px"><span style="{_MUTED}">{verb}</span> <b>{_esc(first.name)}</b></div>')
    if message:
        body.append(f'<div class="mlcourse-message" style="margin-top:2px;{_TEXT}">{prose(message)}</div>')
    tb = _traceback(result)
    if tb:
        body.append(_details("Traceback (your code)", f'<pre style="{_PRE}">{_esc(tb)}</pre>', open_=True))
    if len(result.tests) > 1 or (result.tests and status in (Status.FAILED.value, Status.ERROR.value)):
        items = "".join(
            f'<li style="margin:2px 0">{badge(look(t.status), small=True)} {_esc(t.name)}'
            + (f'<div style="margin:0 0 0 4px;{_MUTED};{_TEXT}">{prose(t.message)}</div>' if t.message else "")
            + "</li>"
            for t in result.tests
        )
        inner = f'<ul style="list-style:none;margin:4px 0 0;padding-left:4px">{items}</ul>'
        body.append(_details(f"The {len(result.tests)} test{'' if len(result.tests) == 1 else 's'}", inner))
    helper = _helper(result, short, status)
    if helper:
        body.append(f'<div style="margin-top:4px;font-size:0.92em;{_MUTED}">{prose(helper)}</div>')
    return card(look_, status, head, "".join(body))


def result_view(result: Any, short: str | None = None) -> View:
    return View(result_text(result, short), result_html(result, short))


def earlier_view(exercise: str, title: str, name: str, entry: dict) -> View:
    """A stored earlier result, when the answer is not defined in this kernel (it restarted)."""
    status = str(entry.get("status", ""))
    score = float(entry.get("score", 0.0) or 0.0)
    points = float(entry.get("points", 0.0) or 0.0)
    look_ = EARLIER if status == Status.PASSED.value else look(status)
    label = look_.label if status == Status.PASSED.value else f"{status} earlier"
    said = (
        f"`{name}` is not defined in this kernel session (a restarted kernel forgets every variable), so this is "
        f"your last stored result. Run the answer cell again, then this check, to check your answer now."
    )
    scored = f"{score_text(score, points)} points" if points else ""
    text = f"{look_.mark} {title} [{exercise}]: {label}" + (f" ({scored})" if scored else "") + "\n   " + said
    head = _title(title, exercise)
    if scored:
        head += f'<span class="mlcourse-score" style="margin-left:auto;white-space:nowrap"><b>{score_text(score, points)}</b> points</span>'
    body = f'<div class="mlcourse-message" style="margin-top:2px;{_TEXT}">{prose(said)}</div>'
    return View(text, card(look_, f"{status} earlier", head, body, badge_label=label))


# --------------------------------------------------------------------------
# Hints and solutions
# --------------------------------------------------------------------------
def hint_view(exercise: str, n: int, total: int, text: str, last_note: str = "") -> View:
    """Hint ``n`` of ``total``; ``last_note`` follows the last one."""
    plain = f"Hint {n} of {total} [{exercise}]: {text}" + (f"\n   {last_note}" if last_note else "")
    head = f'<code style="{_CODE};{_MUTED}">{_esc(exercise)}</code>'
    body = f'<div class="mlcourse-message" style="margin-top:2px;{_TEXT}">{prose(text)}</div>'
    if last_note:
        body += f'<div style="margin-top:4px;font-size:0.92em;{_MUTED}">{prose(last_note)}</div>'
    return View(plain, card(NOTE, "hint", head, body, badge_label=f"hint {n} of {total}"))


def note_view(exercise: str, text: str) -> View:
    """A short note about an exercise (no hints, not during grading)."""
    head = f'<code style="{_CODE};{_MUTED}">{_esc(exercise)}</code><span>{prose(text)}</span>'
    return View(f"{exercise}: {text}", card(NOTE, "note", head, badge_label="note"))


def highlighted(code: str) -> str:
    """Python code as HTML with pygments' colours inline (no stylesheet needed)."""
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
    except ImportError:  # pragma: no cover - pygments comes with JupyterLab
        return _esc(code)
    return highlight(code, PythonLexer(), HtmlFormatter(noclasses=True, nowrap=True))


def solution_view(exercise: str, title: str, code: str) -> View:
    """One correct answer, highlighted in JupyterLab."""
    code = code.rstrip("\n") + "\n"
    text = f"Solution [{exercise}]: {title}\n{code}"
    head = _title(title, exercise)
    body = f'<pre class="mlcourse-code" style="{_PRE}">{highlighted(code)}</pre>'
    return View(text, card(NOTE, "solution", head, body, badge_label="solution"))


# --------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------
BAR_WIDTH = 20


def progress_view(lesson: str, rows: Sequence[dict]) -> View:
    """A lesson's exercises, their status, points, hints and whether the solution was viewed."""
    done = sum(1 for r in rows if r["status"] == Status.PASSED.value)
    score = sum(float(r["score"]) for r in rows)
    total = sum(float(r["points"]) for r in rows)
    share = score / total if total else 0.0
    filled = int(round(BAR_WIDTH * share))
    summary = f"{done} of {len(rows)} exercises passed, {score_text(score, total)} points"
    lines = [f"Progress in {lesson}: {summary}", "[" + "#" * filled + "." * (BAR_WIDTH - filled) + "]"]
    width = max((len(r["exercise"]) for r in rows), default=0)
    swidth = max((len(score_text(r["score"], r["points"])) for r in rows), default=0)
    for r in rows:
        extra = _extras(r)
        scored = score_text(r["score"], r["points"])
        lines.append(f" {mark(r['status'])} {r['exercise']:<{width}}  {scored:<{swidth}}  {r['status']}{', ' + extra if extra else ''}")

    bar = (
        '<div style="margin:6px 0 4px;height:8px;border-radius:4px;background:rgba(127,127,127,0.2);overflow:hidden">'
        f'<div style="width:{100 * share:.1f}%;height:100%;background:{LOOKS[Status.PASSED.value].colour}"></div></div>'
    )
    cell = "padding:2px 10px 2px 0;text-align:left;vertical-align:top"
    body_rows = "".join(
        f'<tr><td style="{cell}">{badge(look(r["status"]), small=True)}</td>'
        f'<td style="{cell}">{_esc(r["title"])} <code style="{_CODE};{_MUTED}">{_esc(r["exercise"])}</code></td>'
        f'<td style="{cell};white-space:nowrap">{score_text(r["score"], r["points"])}</td>'
        f'<td style="{cell};{_MUTED}">{_esc(_extras(r))}</td></tr>'
        for r in rows
    )
    table = f'<table style="border-collapse:collapse;margin-top:2px;font-size:0.95em">{body_rows}</table>'
    head = f'<span style="font-weight:600">Progress in {_esc(lesson)}</span><span style="margin-left:auto">{_esc(summary)}</span>'
    return View("\n".join(lines), card(NOTE, "progress", head, bar + table, badge_label=""))


def _extras(row: dict) -> str:
    parts = []
    if row.get("hints"):
        parts.append(f"{row['hints']} hint{'' if row['hints'] == 1 else 's'}")
    if row.get("solution viewed"):
        parts.append("solution viewed")
    return ", ".join(parts)
