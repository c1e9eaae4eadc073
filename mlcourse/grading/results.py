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

The gradebook's schema is versioned (``PRAGMA user_version``, :data:`SCHEMA_VERSION`)
and only ever grows: version 2 adds ``answers`` (each exercise's full result, and
for an exercise that asks for review the learner's answer as text) and
``reviews`` (an instructor's score and comment on such an answer: who, when, the
old and the new score), and keeps the file in WAL mode, so the dashboard reads
while ``mlcourse grade`` writes. An older gradebook is brought up to date when
opened; a newer one is refused with a message. Exports use the reviewed score,
and :func:`apply_reviews` re-renders a reviewed submission's ``results.json`` and
``feedback.md`` with the reviewer's comment.

Every file is written atomically (a temporary file, then a rename).

Examples
--------
>>> xml_text("ok\\x00\\x1b[31m")
'ok[31m'
"""
from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import sqlite3
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from mlcourse.exercises.engine import ERROR, NOT_ATTEMPTED, PASSED, Result, TestResult
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

#: Version 2 adds these tables (and WAL); older gradebooks get them when opened.
SCHEMA_V2 = """
CREATE TABLE IF NOT EXISTS answers (
    learner TEXT NOT NULL,
    lesson TEXT NOT NULL,
    exercise TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    grader_version TEXT NOT NULL,
    needs_review INTEGER NOT NULL,
    answer TEXT NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (learner, lesson, exercise, sha256, grader_version)
);
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    learner TEXT NOT NULL,
    lesson TEXT NOT NULL,
    exercise TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    reviewed_at TEXT NOT NULL,
    old_score REAL NOT NULL,
    new_score REAL NOT NULL,
    max REAL NOT NULL,
    comment TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_of_answer ON reviews (learner, lesson, exercise, sha256);
"""
SCHEMA_VERSION = 2

#: Indexes that only speed reads up: the dashboard's figures over each latest
#: submission's grades come from the first alone, its review queue from the
#: second. They are not part of the schema version (every reader reads a
#: gradebook with or without them): any gradebook gets those it lacks when
#: opened, if it can be written.
INDEXES = {
    "grades_of_submission": "CREATE INDEX IF NOT EXISTS grades_of_submission ON grades "
                            "(learner, lesson, sha256, grader_version, exercise, status, score)",
    "answers_to_review": "CREATE INDEX IF NOT EXISTS answers_to_review ON answers "
                         "(learner, lesson, exercise, sha256, grader_version) WHERE needs_review = 1",
}

CSV_COLUMNS = ["learner", "lesson", "exercise", "title", "score", "max", "status", "message", "sha256", "graded_at", "grader_version"]
#: The long CSV's extra columns: the automatic score when a review changed it, and the review.
REVIEW_COLUMNS = ["auto_score", "reviewed_by", "review_comment"]

# The grader's own files in OUT. Each holds a dot, which a learner's folder
# name never does (see mlcourse.grading.text.folder_name).
GRADEBOOK = "gradebook.db"
SECRET = seeds.FILE_NAME
LOCK = ".mlcourse-grade.lock"  # held by the one `mlcourse grade` writing OUT
OWN_FILES = (GRADEBOOK, f"{GRADEBOOK}-journal", f"{GRADEBOOK}-wal", f"{GRADEBOOK}-shm", SECRET, ".mlcourse-write-test", LOCK)


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


def _review_text(g: Graded, r: Result) -> str:
    """What a learner reads about a review of this exercise (empty without one)."""
    review = g.reviews.get(r.exercise)
    if review is None:
        return ""
    text = (f"\n\nReviewed by {review.reviewer} on {review.reviewed_at[:10]}: {review.new_score:g} / {review.max:g} "
            f"(the automatic check gave {review.old_score:g}).")
    return text + (f"\n{review.comment}" if review.comment else "")


def _review_data(g: Graded, r: Result) -> dict:
    review = g.reviews.get(r.exercise)
    if review is None:
        return {"needs_review": True} if r.needs_review else {}
    return {"reviewed_by": review.reviewer, "reviewed_at": review.reviewed_at, "auto_score": review.old_score}


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
            "output": result_output(r) + _review_text(g, r),
            "extra_data": {"exercise": r.exercise, "status": r.status, **_review_data(g, r)},
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
            review = g.reviews.get(r.exercise)
            if review is not None:
                # The reviewer's words are shown as written, like the learner's: in a block they cannot close.
                out += [f"**Reviewed by {txt.code_span(review.reviewer)} on {review.reviewed_at[:10]}: "
                        f"{review.new_score:g} / {review.max:g}** (the automatic check gave {review.old_score:g}).", ""]
                if review.comment:
                    out += [txt.code_block(review.comment), ""]
            elif r.needs_review:
                out += ["_Your instructor reads this answer and may change its score._", ""]
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


class ReviewError(ValueError):
    """A review that cannot be stored (a score out of range, an answer that is not there)."""


@dataclass
class Review:
    """An instructor's review of one answer: who, when, the score before and after, and why."""

    learner: str
    lesson: str
    exercise: str
    sha256: str
    reviewer: str
    reviewed_at: str
    old_score: float
    new_score: float
    max: float
    comment: str


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

    def __init__(self, path: Path, timeout: float = 30.0, *, shared: bool = False) -> None:
        """Open (and bring up to date) the gradebook at ``path``.

        ``shared``: the connection may be used from any thread, one at a time
        (the caller holds a lock), as a long-running server needs.
        """
        self.path = path
        self.timeout = timeout
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path), timeout=timeout, check_same_thread=not shared)
            self._open()
        except sqlite3.DatabaseError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise GradebookError(
                    f"the gradebook {path} is locked by another process (an `mlcourse grade` writing it?): "
                    "try again when it has finished"
                ) from None
            raise GradebookError(
                f"{path} is not a readable gradebook ({exc}): it is damaged or not a gradebook. Nothing was changed; "
                "restore it from a backup, or grade again into a new --out folder"
            ) from None
        except OSError as exc:
            raise GradebookError(f"cannot use the gradebook {path}: {exc.strerror or exc}") from None

    def _open(self) -> None:
        """Check the schema version; bring an older gradebook up to date (additively, in one transaction)."""
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            self.db.close()
            raise GradebookError(
                f"{self.path} was written by a newer mlcourse (gradebook schema {version}; this one reads up to "
                f"{SCHEMA_VERSION}): upgrade mlcourse to read it"
            )
        # WAL: readers (the dashboard) never wait for a writer (`mlcourse grade`), nor block it.
        self.db.execute("PRAGMA journal_mode=WAL")
        if version < SCHEMA_VERSION:
            with self.db:
                self.db.execute("BEGIN IMMEDIATE")
                for statement in (SCHEMA + SCHEMA_V2).split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                for statement in INDEXES.values():
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            return
        have = {row[0] for row in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        missing = [statement for name, statement in INDEXES.items() if name not in have]
        if missing:
            # Briefly: a reader that opens while `mlcourse grade` writes must not wait its whole timeout for them.
            self.db.execute("PRAGMA busy_timeout = 100")
            try:
                with self.db:
                    for statement in missing:
                        self.db.execute(statement)
            except sqlite3.OperationalError:
                pass  # read-only, or busy: it reads as well without them, only slower; the next open tries again
            finally:
                self.db.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    @property
    def data_version(self) -> int:
        """A number that changes whenever another connection commits to the gradebook (this one's own commits leave it)."""
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        answers = [
            (
                g.learner, g.lesson, r.exercise, g.submission.sha256, g.grader_version, int(r.needs_review), r.answer_text,
                json.dumps(r.to_dict(), ensure_ascii=False),
            )
            for r in g.results
        ]
        submission, rows = plain_text(submission), [plain_text(row) for row in rows]
        answers = [plain_text(row) for row in answers]
        try:
            with self.db:  # one transaction: all of a submission, or none of it
                self.db.execute("DELETE FROM submissions WHERE learner=? AND lesson=? AND sha256=? AND grader_version=?", key)
                self.db.execute("DELETE FROM grades WHERE learner=? AND lesson=? AND sha256=? AND grader_version=?", key)
                self.db.execute("DELETE FROM answers WHERE learner=? AND lesson=? AND sha256=? AND grader_version=?", key)
                self.db.execute("INSERT INTO submissions VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", submission)
                self.db.executemany("INSERT INTO grades VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
                self.db.executemany(
                    "INSERT INTO answers (learner, lesson, exercise, sha256, grader_version, needs_review, answer, result) "
                    "VALUES (?,?,?,?,?,?,?,?)",
                    answers,
                )
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
        """Grade rows as dicts of :data:`CSV_COLUMNS` and :data:`REVIEW_COLUMNS` (see :meth:`iter_rows`)."""
        columns = CSV_COLUMNS + REVIEW_COLUMNS
        return [dict(zip(columns, row)) for row in self.iter_rows(latest=False, where=where, params=params)]

    def iter_rows(self, latest: bool = True, where: str = "", params: Sequence = (), *,
                  submissions: str | None = None) -> Iterator[tuple]:
        """Grade rows as tuples in the long CSV's columns, each with the score its latest review gave.

        ``auto_score`` keeps the grader's score when a review changed it (else
        it is empty); with ``latest``, only each (learner, lesson)'s last graded
        submission (:data:`LATEST_SUBMISSIONS`, or the table or subquery
        ``submissions`` of the same columns). Ordered by learner, lesson, then
        as graded. One query, read as it goes.
        """
        columns = ["COALESCE(r.new_score, g.score)" if c == "score" else "g." + c for c in CSV_COLUMNS]
        columns += ["CASE WHEN r.reviewer IS NULL THEN '' ELSE g.score END", "COALESCE(r.reviewer, '')",
                    "COALESCE(r.comment, '')"]
        yield from self._select(", ".join(columns), latest, where, params, submissions)

    def _select(self, columns: str, latest: bool, where: str = "", params: Sequence = (),
                submissions: str | None = None) -> sqlite3.Cursor:
        """``columns`` of grade rows ``g`` with their latest review ``r``, in the exports' order."""
        source = submissions or f"({LATEST_SUBMISSIONS})"
        last = f"JOIN {source} s USING (learner, lesson, sha256, grader_version) " if latest else ""
        return self.db.execute(
            f"SELECT {columns} FROM grades g {last}"
            f"LEFT JOIN ({LATEST_REVIEWS}) r USING (learner, lesson, exercise, sha256) WHERE 1=1 {where} "
            "ORDER BY g.learner, g.lesson, g.graded_at, g.rowid",
            tuple(params),
        )

    def rows(self, latest: bool = True) -> list[dict]:
        """Every grade; with ``latest``, only each (learner, lesson)'s last graded submission."""
        columns = CSV_COLUMNS + REVIEW_COLUMNS
        return [dict(zip(columns, row)) for row in self.iter_rows(latest=latest)]

    def scores(self, latest: bool = True, *, submissions: str | None = None) -> list[dict]:
        """Like :meth:`rows` with only ``learner``, ``lesson``, ``exercise`` and (reviewed) ``score``: what a pivot
        needs (``submissions`` as for :meth:`iter_rows`)."""
        cur = self._select("g.learner, g.lesson, g.exercise, COALESCE(r.new_score, g.score)", latest,
                           submissions=submissions)
        return [{"learner": learner, "lesson": lesson, "exercise": exercise, "score": score}
                for learner, lesson, exercise, score in cur]

    def export_csv(self, target: Path | IO[str], latest: bool = True) -> int:
        """Write the gradebook as CSV (reviewed scores; the review in the last columns); return the number of rows."""
        if isinstance(target, Path):
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "w", newline="", encoding="utf-8") as fh:
                return self._write_csv(fh, self.iter_rows(latest=latest))
        return self._write_csv(target, self.iter_rows(latest=latest))

    @staticmethod
    def _write_csv(fh: IO[str], rows: Iterable[tuple]) -> int:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS + REVIEW_COLUMNS)
        n = 0
        for row in rows:
            writer.writerow(row)
            n += 1
        return n

    # -- reviews ---------------------------------------------------------------
    def latest_answer(self, learner: str, lesson: str, exercise: str) -> dict | None:
        """The learner's latest graded answer to an exercise: its grade row, stored answer and result."""
        last = self.db.execute(
            "SELECT sha256, grader_version FROM submissions WHERE learner=? AND lesson=? "
            "ORDER BY graded_at DESC, rowid DESC LIMIT 1",
            (learner, lesson),
        ).fetchone()
        if last is None:
            return None
        row = self.db.execute(
            "SELECT g.sha256, g.grader_version, g.score, g.max, g.status, g.message, g.title, g.graded_at, "
            "a.needs_review, a.answer, a.result FROM grades g "
            "LEFT JOIN answers a USING (learner, lesson, exercise, sha256, grader_version) "
            "WHERE g.learner=? AND g.lesson=? AND g.exercise=? AND g.sha256=? AND g.grader_version=?",
            (learner, lesson, exercise, *last),
        ).fetchone()
        if row is None:
            return None
        keys = ["sha256", "grader_version", "score", "max", "status", "message", "title", "graded_at", "needs_review",
                "answer", "result"]
        found = dict(zip(keys, row))
        found["result"] = json.loads(found["result"]) if found["result"] else None
        found["reviews"] = self.reviews(learner, lesson, exercise, found["sha256"])
        return found

    def reviewed(self, learner: str, lesson: str, sha256: str) -> bool:
        """Whether any answer of this submission (by its file's sha256) has a review."""
        row = self.db.execute("SELECT 1 FROM reviews WHERE learner=? AND lesson=? AND sha256=? LIMIT 1",
                              (learner, lesson, sha256)).fetchone()
        return row is not None

    def reviews(self, learner: str, lesson: str, exercise: str, sha256: str) -> list[Review]:
        """Every review of one answer, oldest first (the last one counts)."""
        cur = self.db.execute(
            "SELECT learner, lesson, exercise, sha256, reviewer, reviewed_at, old_score, new_score, max, comment "
            "FROM reviews WHERE learner=? AND lesson=? AND exercise=? AND sha256=? ORDER BY id",
            (learner, lesson, exercise, sha256),
        )
        return [Review(*row) for row in cur.fetchall()]

    def add_review(self, learner: str, lesson: str, exercise: str, score: float, comment: str, reviewer: str,
                   sha256: str | None = None) -> Review:
        """Store a review of the learner's latest answer (or of the submission ``sha256``, when given).

        ``score`` must lie within 0 and the exercise's points. The old score
        is the one in force until now (the grader's, or the last review's).
        One transaction, so a concurrent ``mlcourse grade`` never loses a
        grade and this review is stored whole or not at all.
        """
        if not (isinstance(score, (int, float)) and math.isfinite(score)):
            raise ReviewError(f"the score must be a number, got {score!r}")
        try:
            with self.db:
                self.db.execute("BEGIN IMMEDIATE")
                found = self.latest_answer(learner, lesson, exercise)
                if found is None or (sha256 is not None and found["sha256"] != sha256):
                    raise ReviewError(
                        f"{learner} has no graded answer to {exercise} in {lesson}"
                        + (" with that submission any more (it was graded again): reload the page" if found else "")
                    )
                points = float(found["max"])
                if not 0 <= score <= points:
                    raise ReviewError(f"a score of {score:g} is outside 0..{points:g}, the points of {exercise}")
                old = found["reviews"][-1].new_score if found["reviews"] else float(found["score"])
                review = Review(learner, lesson, exercise, found["sha256"], reviewer.strip() or "instructor", _now(),
                                old, float(score), points, comment.strip())
                self.db.execute(
                    "INSERT INTO reviews (learner, lesson, exercise, sha256, reviewer, reviewed_at, old_score, new_score, "
                    "max, comment) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    plain_text(dataclasses.astuple(review)),
                )
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise GradebookError(
                    "the gradebook is busy (an `mlcourse grade` is writing it): the review was not saved; submit it again"
                ) from None
            raise GradebookError(f"cannot write the gradebook {self.path}: {exc}") from None
        return review

    def graded_submission(self, learner: str, lesson: str, sha256: str) -> Graded | None:
        """A submission as the grader saw it (from ``answers``), with its reviews applied; None before schema 2."""
        from mlcourse.grading.discover import Submission

        sub = self.db.execute(
            "SELECT path, error, notes, seconds, isolation, graded_at, grader_version FROM submissions "
            "WHERE learner=? AND lesson=? AND sha256=? ORDER BY graded_at DESC, rowid DESC LIMIT 1",
            (learner, lesson, sha256),
        ).fetchone()
        if sub is None:
            return None
        path, error, notes, seconds, isolation, graded_at, version = sub
        cur = self.db.execute(
            "SELECT a.result FROM grades g JOIN answers a USING (learner, lesson, exercise, sha256, grader_version) "
            "WHERE g.learner=? AND g.lesson=? AND g.sha256=? AND g.grader_version=? ORDER BY g.rowid",
            (learner, lesson, sha256, version),
        )
        results = [result_from_dict(json.loads(row[0])) for row in cur.fetchall()]
        if not results:
            return None
        g = Graded(Submission(Path(path), learner, lesson, sha256=sha256), results, json.loads(notes or "[]"), error,
                   seconds, graded_at, version, isolation)
        for r in g.results:
            reviews = self.reviews(learner, lesson, r.exercise, sha256)
            if reviews:
                g.reviews[r.exercise] = reviews[-1]
                r.score = reviews[-1].new_score
        return g


#: Each answer's latest review (the highest id per learner, lesson, exercise and sha256).
LATEST_REVIEWS = (
    "SELECT learner, lesson, exercise, sha256, reviewer, comment, new_score FROM reviews "
    "WHERE id IN (SELECT MAX(id) FROM reviews GROUP BY learner, lesson, exercise, sha256)"
)
#: Each (learner, lesson)'s last graded submission: the latest ``graded_at``, and of
#: two graded in the same second the one stored last.
LATEST_SUBMISSIONS = (
    "SELECT learner, lesson, sha256, grader_version FROM ("
    "  SELECT learner, lesson, sha256, grader_version, ROW_NUMBER() OVER ("
    "    PARTITION BY learner, lesson ORDER BY graded_at DESC, rowid DESC) AS nth FROM submissions"
    ") WHERE nth = 1"
)


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def result_from_dict(d: dict) -> Result:
    """A :class:`Result` from its ``to_dict()`` (as the gradebook's ``answers`` keep it)."""
    tests = [TestResult(t["name"], t["status"], t.get("message", ""), t.get("traceback", "")) for t in d.get("tests", [])]
    return Result(d["exercise"], d["title"], float(d["points"]), d["status"], float(d["score"]), d.get("message", ""), tests,
                  bool(d.get("needs_review")), d.get("answer_text", ""))


def apply_reviews(out: Path, book: Gradebook, learner: str, lesson: str, sha256: str) -> Path | None:
    """Write a reviewed submission's ``results.json`` and ``feedback.md`` again, reviews applied; their folder.

    None when the gradebook does not hold the submission's full results
    (graded before gradebook schema 2): the files are left as they are.
    """
    g = book.graded_submission(learner, lesson, sha256)
    if g is None:
        return None
    return write_submission(out, g)


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
