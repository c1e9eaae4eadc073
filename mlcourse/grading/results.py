"""Step 5 of grading: write what was decided, and nothing the child said.

Per submission, under the output folder ``OUT``:

* ``OUT/<learner>/<lesson>/results.json`` in Gradescope's schema: ``score``,
  ``execution_time``, ``output`` and ``tests[]`` with ``name``, ``score``,
  ``max_score``, ``status`` (``passed``/``failed``) and ``output``;
* ``OUT/<learner>/<lesson>/feedback.md``: each exercise, its score and its
  message, for the learner.

``<learner>`` and ``<lesson>`` are :func:`~mlcourse.grading.text.folder_name`
encodings (``Zo%C3%AB`` for ``Zoë``, ``zed%2Falice`` for ``zed/alice``): one
folder per id, never a dot, so never ``..`` nor one of the grader's own files;
the gradebook and results.json keep the ids as they are. Every text a learner
controls goes through :mod:`mlcourse.grading.text` for the format it lands in.

For the batch, ``OUT/gradebook.db`` (SQLite): one row per exercise per graded
submission (learner, lesson, exercise, score, max, status, message, sha256,
graded_at, grader_version), committed submission by submission so a crash
mid-batch loses nothing already graded. :func:`junit_xml` renders JUnit XML.

Every file is written atomically (a temporary file, then a rename).

Examples
--------
>>> xml_text("ok\\x00\\x1b[31m")
'ok[31m'
"""
from __future__ import annotations

import csv
import json
import os
import sqlite3
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlcourse.exercises.engine import ERROR, NOT_ATTEMPTED, PASSED, Result
from mlcourse.grading import seeds
from mlcourse.grading import text as txt
from mlcourse.grading.verdict import Graded

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    learner TEXT NOT NULL,
    lesson TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    grader_version TEXT NOT NULL,
    path TEXT NOT NULL,
    score REAL NOT NULL,
    max REAL NOT NULL,
    error TEXT,
    notes TEXT NOT NULL,
    seconds REAL NOT NULL,
    isolation TEXT NOT NULL,
    graded_at TEXT NOT NULL,
    PRIMARY KEY (learner, lesson, sha256, grader_version)
);
CREATE TABLE IF NOT EXISTS grades (
    learner TEXT NOT NULL,
    lesson TEXT NOT NULL,
    exercise TEXT NOT NULL,
    title TEXT NOT NULL,
    score REAL NOT NULL,
    max REAL NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    graded_at TEXT NOT NULL,
    grader_version TEXT NOT NULL,
    PRIMARY KEY (learner, lesson, exercise, sha256, grader_version)
);
"""

CSV_COLUMNS = ["learner", "lesson", "exercise", "title", "score", "max", "status", "message", "sha256", "graded_at", "grader_version"]

# The grader's own files in OUT. Each holds a dot, which a learner's folder
# name never does (see mlcourse.grading.text.folder_name).
GRADEBOOK = "gradebook.db"
SECRET = seeds.FILE_NAME
OWN_FILES = (GRADEBOOK, f"{GRADEBOOK}-journal", f"{GRADEBOOK}-wal", f"{GRADEBOOK}-shm", SECRET, ".mlcourse-write-test")


def xml_text(text: str) -> str:
    """Text without the characters XML 1.0 cannot hold (a learner's message may have any)."""
    return txt.xml(text)


def plain_text(obj: Any) -> Any:
    """A copy of a JSON-like tree with every string made valid Unicode (:func:`~.text.clean`)."""
    if isinstance(obj, str):
        return txt.clean(obj)
    if isinstance(obj, dict):
        return {plain_text(k): plain_text(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain_text(v) for v in obj]
    return obj


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` so that readers see the old file or the new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# --------------------------------------------------------------------------
# Per submission
# --------------------------------------------------------------------------
def result_output(r: Result) -> str:
    """What a learner reads about one exercise: one line per test, or why none ran.

    Examples
    --------
    >>> from mlcourse.exercises.engine import Result, TestResult
    >>> tests = [TestResult("3", "passed"), TestResult("-1", "failed", "expected 2, got 0")]
    >>> print(result_output(Result("d.x", "X", 2, "failed", 1.0, "", tests)))
    ✓ 3
    ✗ -1: expected 2, got 0
    """
    if r.status == PASSED:
        return f"Passed all {len(r.tests)} tests." if len(r.tests) > 1 else "Passed."
    tests = [t for t in r.tests if t.name != "grading"]
    if r.status == NOT_ATTEMPTED or not tests:
        lines = [r.message]
    else:
        # One line per test: which input, what was expected, what came back.
        lines = [
            f"✓ {t.name}" if t.status == PASSED else f"✗ {t.name}: {t.message}" for t in tests
        ]
    tb = next((t.traceback for t in r.tests if t.traceback), "")
    if tb and r.status == ERROR:
        lines.append(tb.rstrip())
    return "\n".join(line for line in lines if line)


def _summary(g: Graded) -> str:
    if g.error and not g.results:
        return f"Your notebook could not be graded: {g.error}"
    passed = sum(1 for r in g.results if r.status == PASSED)
    text = f"{g.lesson}: {g.score:g}/{g.max_score:g} points, {passed} of {len(g.results)} exercises passed."
    if g.error:
        text = f"Your notebook could not be graded: {g.error}\n{text}"
    if g.notes:
        text += "\n" + "\n".join(f"- {n}" for n in g.notes)
    return text


def results_json(g: Graded) -> dict:
    """The Gradescope ``results.json`` of one submission.

    Examples
    --------
    >>> from mlcourse.grading.discover import Submission
    >>> graded = Graded(Submission(Path("ada/01_data.ipynb"), "ada", "01_data"),
    ...                 [Result("data.leaky_columns", "Leaky columns", 2, PASSED, 2.0)])
    >>> out = results_json(graded)
    >>> out["score"], out["tests"][0]["status"], out["tests"][0]["output"], out["extra_data"]["file"]
    (2.0, 'passed', 'Passed.', '01_data.ipynb')
    """
    tests = [
        {
            "name": f"{r.title} ({r.exercise})",
            "score": r.score,
            "max_score": r.points,
            "status": "passed" if r.status == PASSED else "failed",
            "output": result_output(r),
            "extra_data": {"exercise": r.exercise, "status": r.status},
        }
        for r in g.results
    ]
    if not tests:
        tests = [{"name": "notebook", "score": 0.0, "max_score": 0.0, "status": "failed", "output": g.error or ""}]
    return plain_text({
        "score": g.score,
        "execution_time": g.seconds,
        "output": _summary(g),
        "tests": tests,
        "extra_data": {
            "learner": g.learner,
            "lesson": g.lesson,
            "file": g.submission.path.name,
            "sha256": g.submission.sha256,
            "grader_version": g.grader_version,
            "graded_at": g.graded_at,
            "isolation": g.isolation,
        },
        # Learner text is shown as text, never rendered as HTML or Markdown.
        "output_format": "text",
        "test_output_format": "text",
    })


def feedback_md(g: Graded) -> str:
    """The learner's feedback: each exercise, its score and its message.

    Whatever the learner controls (what their code printed or raised, their
    id, file name and notes) reaches this page only inside code spans and
    fenced blocks it cannot close (:func:`~.text.code_span`,
    :func:`~.text.code_block`), so it renders as written: no HTML, no heading,
    no fake grade line.
    """
    span = txt.code_span
    out = [f"# Feedback on {span(g.lesson)} for {span(g.learner)}", ""]
    if g.error and not g.results:
        out += ["**Your notebook could not be graded.**", "", txt.code_block(g.error), ""]
    else:
        out += [f"**Score: {g.score:g} / {g.max_score:g}**", ""]
        if g.error:
            out += ["**Warning:**", "", txt.code_block(g.error), ""]
        out += ["| Exercise | Score | Status |", "|---|---|---|"]
        for r in g.results:
            out.append(f"| {r.title} (`{r.exercise}`) | {r.score:g} / {r.points:g} | {r.status} |")
        out.append("")
        for r in g.results:
            out += [f"## {r.title} (`{r.exercise}`): {r.status}, {r.score:g} / {r.points:g}", ""]
            body = result_output(r)
            tb = next((t.traceback for t in r.tests if t.traceback), "")
            if tb and r.status == ERROR:
                body = body.replace(tb.rstrip(), "").rstrip()
                out += [txt.code_block(body), "", txt.code_block(tb.rstrip(), "python"), ""]
            else:
                out += [txt.code_block(body), ""]
    if g.notes:
        out += ["## Notes", "", txt.code_block("\n".join(f"- {n}" for n in g.notes)), ""]
    sha = g.submission.sha256[:12] or "-"
    out.append(f"_File {span(g.submission.path.name)} (sha256 {sha}), graded {g.graded_at} by {g.grader_version}._")
    return "\n".join(out) + "\n"


def submission_dir(out: Path, learner: str, lesson: str) -> Path:
    """``OUT/<learner>/<lesson>``: where a submission's results go (names encoded).

    Examples
    --------
    >>> submission_dir(Path("graded"), "ann", "01_data").as_posix()
    'graded/ann/01_data'
    >>> submission_dir(Path("graded"), "zed/Zoë", "gradebook.db").as_posix()
    'graded/zed%2FZo%C3%AB/gradebook%2Edb'
    """
    return out / txt.folder_name(learner) / txt.folder_name(lesson)


def write_submission(out: Path, g: Graded) -> Path:
    """Write ``results.json`` and ``feedback.md``; return their folder."""
    folder = submission_dir(out, g.learner, g.lesson)
    atomic_write(folder / "results.json", json.dumps(results_json(g), indent=1, ensure_ascii=False) + "\n")
    atomic_write(folder / "feedback.md", feedback_md(g))
    return folder


# --------------------------------------------------------------------------
# The gradebook
# --------------------------------------------------------------------------
class GradebookError(RuntimeError):
    """The gradebook cannot be opened or written."""


@dataclass
class Record:
    """One graded submission as stored in the gradebook (for skipped ones, JUnit)."""

    learner: str
    lesson: str
    sha256: str
    seconds: float
    error: str | None
    rows: list[dict] = field(default_factory=list)


class Gradebook:
    """``gradebook.db``: every graded submission, one row per exercise.

    Examples
    --------
    >>> book = Gradebook(Path(tempfile.mkdtemp()) / "gradebook.db")
    >>> book.has("ann", "01_data", "abc", "v1")
    False
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path), timeout=30)
            self.db.executescript(SCHEMA)
            self.db.commit()
        except (sqlite3.Error, OSError) as exc:
            raise GradebookError(f"cannot use the gradebook {path}: {exc}") from None

    def close(self) -> None:
        self.db.close()

    def has(self, learner: str, lesson: str, sha256: str, version: str) -> bool:
        """Whether this very file was graded by this very grader version."""
        row = self.db.execute(
            "SELECT 1 FROM submissions WHERE learner=? AND lesson=? AND sha256=? AND grader_version=?",
            (learner, lesson, sha256, version),
        ).fetchone()
        return row is not None

    def record(self, g: Graded) -> None:
        """Store one submission's grades, replacing any earlier grading of the same file."""
        # SQLite stores UTF-8: learner text with a lone surrogate would not encode.
        key = plain_text((g.learner, g.lesson, g.submission.sha256, g.grader_version))
        rows = [
            (
                g.learner, g.lesson, r.exercise, r.title, r.score, r.points, r.status, r.message,
                g.submission.sha256, g.graded_at, g.grader_version,
            )
            for r in g.results
        ]
        if not rows:
            rows = [
                (
                    g.learner, g.lesson, "(notebook)", "the notebook", 0.0, 0.0, ERROR, g.error or "",
                    g.submission.sha256, g.graded_at, g.grader_version,
                )
            ]
        submission = (
            *key, str(g.submission.path), g.score, g.max_score, g.error, json.dumps(g.notes), g.seconds, g.isolation, g.graded_at,
        )
        submission, rows = plain_text(submission), [plain_text(row) for row in rows]
        try:
            with self.db:  # one transaction: all of a submission, or none of it
                self.db.execute("DELETE FROM submissions WHERE learner=? AND lesson=? AND sha256=? AND grader_version=?", key)
                self.db.execute("DELETE FROM grades WHERE learner=? AND lesson=? AND sha256=? AND grader_version=?", key)
                self.db.execute("INSERT INTO submissions VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", submission)
                self.db.executemany("INSERT INTO grades VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
        except sqlite3.Error as exc:
            raise GradebookError(f"cannot write the gradebook {self.path}: {exc}") from None

    def load(self, learner: str, lesson: str, sha256: str, version: str) -> Record | None:
        """A submission graded earlier, as stored."""
        sub = self.db.execute(
            "SELECT seconds, error FROM submissions WHERE learner=? AND lesson=? AND sha256=? AND grader_version=?",
            (learner, lesson, sha256, version),
        ).fetchone()
        if sub is None:
            return None
        grades = self._grades(
            "AND g.sha256=? AND g.grader_version=? AND g.learner=? AND g.lesson=?", (sha256, version, learner, lesson)
        )
        return Record(learner, lesson, sha256, sub[0], sub[1], grades)

    def _grades(self, where: str = "", params: Sequence = ()) -> list[dict]:
        cur = self.db.execute(
            f"SELECT {', '.join('g.' + c for c in CSV_COLUMNS)} FROM grades g WHERE 1=1 {where} "
            "ORDER BY g.learner, g.lesson, g.graded_at, g.rowid",
            tuple(params),
        )
        return [dict(zip(CSV_COLUMNS, row)) for row in cur.fetchall()]

    def rows(self, latest: bool = True) -> list[dict]:
        """Every grade; with ``latest``, only each (learner, lesson)'s last graded submission."""
        if not latest:
            return self._grades()
        where = (
            "AND g.rowid IN (SELECT g2.rowid FROM grades g2 JOIN ("
            "  SELECT learner, lesson, sha256, grader_version FROM submissions s1"
            "  WHERE s1.rowid = (SELECT s2.rowid FROM submissions s2 WHERE s2.learner = s1.learner AND s2.lesson = s1.lesson"
            "                    ORDER BY s2.graded_at DESC, s2.rowid DESC LIMIT 1)"
            ") last USING (learner, lesson, sha256, grader_version))"
        )
        return self._grades(where)

    def export_csv(self, target: Path, latest: bool = True) -> int:
        """Write the gradebook as CSV; return the number of rows."""
        rows = self.rows(latest=latest)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        return len(rows)


def record_of(g: Graded) -> Record:
    """The gradebook's view of a submission graded in this run (for JUnit)."""
    rows = [
        {"exercise": r.exercise, "title": r.title, "score": r.score, "max": r.points, "status": r.status, "message": r.message}
        for r in g.results
    ]
    return Record(g.learner, g.lesson, g.submission.sha256, g.seconds, g.error, rows)


# --------------------------------------------------------------------------
# JUnit XML
# --------------------------------------------------------------------------
def junit_xml(records: Iterable[Record]) -> str:
    """JUnit XML: one test suite per submission, one test case per exercise.

    A failed or not attempted exercise is a ``<failure>``, an exercise whose
    code raised is an ``<error>``.
    """
    root = ET.Element("testsuites", name="mlcourse grade")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    for rec in records:
        suite = ET.SubElement(root, "testsuite", name=xml_text(f"{rec.learner}/{rec.lesson}"))
        counts = {"tests": 0, "failures": 0, "errors": 0}
        rows = rec.rows or [{"exercise": "(notebook)", "status": ERROR, "message": rec.error or "", "score": 0.0, "max": 0.0}]
        for row in rows:
            counts["tests"] += 1
            case = ET.SubElement(
                suite,
                "testcase",
                classname=xml_text(f"{rec.learner}.{rec.lesson}"),
                name=xml_text(str(row["exercise"])),
                time="0",
            )
            status = row["status"]
            message = xml_text(f"{status}: {row.get('score', 0):g}/{row.get('max', 0):g}. {row.get('message') or ''}".strip())
            if status == ERROR:
                counts["errors"] += 1
                ET.SubElement(case, "error", message=message[:1000]).text = message
            elif status != PASSED:
                counts["failures"] += 1
                ET.SubElement(case, "failure", message=message[:1000]).text = message
        suite.set("tests", str(counts["tests"]))
        suite.set("failures", str(counts["failures"]))
        suite.set("errors", str(counts["errors"]))
        suite.set("time", f"{rec.seconds:.3f}")
        for k in totals:
            totals[k] += counts[k]
        total_time += rec.seconds
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
