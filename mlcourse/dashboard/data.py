"""Step 1 of the dashboard: what the pages show, asked of the gradebook once per change.

:func:`load` reads the submissions (who handed in which lesson, when, with what
score: a few thousand rows), works out each (learner, lesson)'s latest one and
writes those to a temporary table of the connection (:data:`LATEST`), and
returns a :class:`ClassData` for this state of the gradebook. The grades (about
30 000 rows for 500 learners x 7 lessons) never come into Python whole: the
first page that needs a figure asks SQLite, which joins the latest submissions
to their grades and latest reviews and aggregates them; ClassData keeps the
answer:

* per exercise and status, the count and the summed score, and per learner and
  lesson the total: two grouped queries in one read transaction, for the class
  view and the learners' page;
* the review queue, which every page counts in its header (an index holds just
  the answers flagged for review);
* one exercise's latest grades with their failure messages, for its page and
  its mistakes, and one learner's latest grades, for theirs: primary-key
  lookups from the latest submissions;
* the exports, the long one written in pieces as it is sent.

The app (step 3) shares one connection between its threads under a lock, makes
a new ClassData whenever the gradebook's files change (a grade committed), and
takes a review it stores into the ClassData it has (:meth:`ClassData.apply_review`),
so a page costs a few queries the first time after a change and a lookup
afterwards (``benchmarks/dashboard.py``).

A failure message is grouped by **known mistake** when it holds the words of
one of the exercise's own :class:`~mlcourse.exercises.engine.Mistake` texts (or
its advice for an exception, the forgotten ``return``, a forbidden shortcut);
any other message by its shape: the test it failed, with numbers and quoted
values blanked and the trailing ``[called with ...]`` dropped.

Examples
--------
>>> shape("On the stage 'Data': expected 'Train', got 'Deploy' [called with 'Data']")
"expected '…', got '…'"
>>> shape("the window ends at day 42, not 35")
'the window ends at day #, not #'
"""
from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import io
import re
import sqlite3
import statistics
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from mlcourse.grading.results import (
    CSV_COLUMNS,
    GRADEBOOK,
    LATEST_REVIEWS,
    REVIEW_COLUMNS,
    Gradebook,
    GradebookError,
    Review,
)

NOTEBOOK = "(notebook)"
STATUSES = ("passed", "failed", "error", "not attempted")


@dataclass(slots=True)
class Grade:
    """One exercise of one graded submission, its reviewed score in ``score``."""

    learner: str
    lesson: str
    exercise: str
    title: str
    score: float
    auto_score: float
    max: float
    status: str
    message: str
    sha256: str
    graded_at: str
    grader_version: str
    reviewed: bool = False


@dataclass(slots=True)
class Submission:
    learner: str
    lesson: str
    sha256: str
    grader_version: str
    graded_at: str
    score: float
    max: float
    error: str | None


@dataclass
class Mistake:
    """Learners whose latest answer to an exercise failed the same way."""

    key: str
    label: str
    known: bool
    learners: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)  # a few messages as the learners read them


class DashboardError(RuntimeError):
    """The gradebook cannot be shown (one line for the instructor)."""


# --------------------------------------------------------------------------
# Reading the gradebook
# --------------------------------------------------------------------------
def open_book(folder: Path, timeout: float = 5.0, *, shared: bool = False) -> Gradebook:
    """The gradebook of a graded folder, with a clear message when it is missing or cannot be read."""
    path = Path(folder) / GRADEBOOK
    if not Path(folder).is_dir():
        raise DashboardError(f"{folder} is not a folder; give the --out folder of `mlcourse grade`")
    if not path.is_file():
        raise DashboardError(f"no gradebook at {path}; run `mlcourse grade SUBMISSIONS --out {folder}` first")
    try:
        return Gradebook(path, timeout=timeout, shared=shared)
    except GradebookError as exc:
        raise DashboardError(str(exc)) from None


def load(book: Gradebook, lock: threading.RLock | None = None) -> ClassData:
    """This state of the gradebook: its submissions now, everything else when a page asks (see the module).

    The latest submission of each (learner, lesson) is worked out here, once,
    and written to a temporary table of ``book``'s connection
    (:data:`LATEST`) that every later query joins, so the figures SQLite adds
    up are those of the submissions in memory. The ClassData asks ``book``
    while it holds ``lock`` (give the one that guards the connection when
    threads share it); it answers for the last ClassData loaded from ``book``.
    """
    lock = lock or threading.RLock()
    try:
        with lock:
            # Oldest first, so the last of a (learner, lesson) is its latest, as LATEST_SUBMISSIONS has it.
            rows = book.db.execute(
                "SELECT learner, lesson, sha256, grader_version, graded_at, score, max, error FROM submissions "
                "ORDER BY graded_at, rowid"
            ).fetchall()
            latest = {(r[0], r[1]): r[:4] for r in rows}
            with book.db:  # a temporary table: nothing is written to the gradebook's files
                book.db.execute(f"CREATE TEMP TABLE IF NOT EXISTS {LATEST.split('.')[1]} (learner TEXT, lesson TEXT, "
                                "sha256 TEXT, grader_version TEXT, PRIMARY KEY (learner, lesson)) WITHOUT ROWID")
                book.db.execute(f"DELETE FROM {LATEST}")
                book.db.executemany(f"INSERT INTO {LATEST} VALUES (?, ?, ?, ?)", sorted(latest.values()))
    except sqlite3.Error as exc:
        raise DashboardError(f"cannot read the gradebook {book.path}: {exc}") from None
    return ClassData(book, lock, [Submission(*r[:5], float(r[5]), float(r[6]), r[7]) for r in rows])


def read(folder: Path) -> ClassData:
    """The gradebook of a graded folder (:func:`open_book`) as :func:`load` finds it, on a connection of its own
    that stays open while the ClassData is in use."""
    return load(open_book(folder))


#: The temporary table of each (learner, lesson)'s latest submission that :func:`load` fills.
LATEST = "temp.dashboard_latest"
#: A :class:`Grade`'s columns: a grade ``g`` and its latest review ``r`` (:data:`_REVIEWED`).
_GRADE = ("g.learner, g.lesson, g.exercise, g.title, COALESCE(r.new_score, g.score), g.score, g.max, g.status, "
          "g.message, g.sha256, g.graded_at, g.grader_version, r.new_score IS NOT NULL, g.rowid")
_REVIEWED = f"LEFT JOIN ({LATEST_REVIEWS}) r USING (learner, lesson, exercise, sha256)"
#: Each latest submission's grades ``g`` with their latest review ``r``.
_LATEST_GRADES = f"{LATEST} l JOIN grades g USING (learner, lesson, sha256, grader_version) {_REVIEWED}"


def _grade(r: Sequence) -> Grade:
    return Grade(r[0], r[1], r[2], r[3], float(r[4]), float(r[5]), float(r[6]), r[7], r[8] or "", r[9], r[10], r[11],
                 bool(r[12]))


_KNOWN_LOCK = threading.Lock()


def known_mistakes() -> dict[str, list[str]]:
    """Exercise id -> the texts of its known mistakes (its Mistakes, its advice on errors, the engine's own).

    Read from the exercise definitions once per process (importing them all
    takes a second or so; the dashboard starts it in the background as it
    starts), whichever thread asks first; the result must not be changed.
    """
    with _KNOWN_LOCK:
        return _known_mistakes()


@functools.cache
def _known_mistakes() -> dict[str, list[str]]:
    from mlcourse.exercises import all_exercises
    from mlcourse.exercises.engine import FORGOT_RETURN

    found: dict[str, list[str]] = {}
    try:
        exercises = list(all_exercises())
    except Exception:  # noqa: BLE001 - without the definitions, group by shape only
        return found
    for _, ex in exercises:
        texts = [FORGOT_RETURN.say, "changed its input in place", "calls a function the exercise asks you to write"]
        for t in ex.tests:
            if t.reference is not None:
                texts += [m.say for m in t.reference.mistakes if isinstance(m.say, str)]
        texts += [advice for advice in ex.on_error.values() if isinstance(advice, str)]
        found[ex.id] = [str(t) for t in texts if t]
    return found


_TAIL = re.compile(r"\s*\[[^\[\]]*\]\s*$")
_ON = re.compile(r"^On [^:]{1,120}: ")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e-?\d+)?")


def shape(message: str) -> str:
    """A failure message with what varies between learners blanked (see the module's examples)."""
    text = message.strip().splitlines()[0] if message.strip() else ""
    text = _ON.sub("", text)
    while _TAIL.search(text):
        text = _TAIL.sub("", text)
    text = _QUOTED.sub("'…'", text)
    text = _NUMBER.sub("#", text)
    return text[:200]


def mistake_of(exercise: str, message: str, known: dict[str, list[str]]) -> tuple[str, str, bool]:
    """(key, label, known) of one failure message."""
    for text in known.get(exercise, ()):
        if text and text in message:
            return "k" + hashlib.sha1(text.encode()).hexdigest()[:10], text, True
    label = shape(message) or "(no message)"
    return "s" + hashlib.sha1(label.encode()).hexdigest()[:10], label, False


# --------------------------------------------------------------------------
# What the pages ask
# --------------------------------------------------------------------------
def _course_order(lessons: Iterable[str]) -> list[str]:
    from mlcourse.exercises.catalog import LESSONS

    known = list(LESSONS)
    return sorted(set(lessons), key=lambda name: (known.index(name) if name in known else len(known), name))


T = TypeVar("T")


class ClassData:
    """One state of the gradebook: every submission in memory, the rest asked of SQLite once and kept.

    ``latest`` maps each (learner, lesson) to its latest submission, ``grades``
    each exercise to its latest grades (read on first use).
    """

    def __init__(self, book: Gradebook, lock: threading.RLock, submissions: list[Submission]) -> None:
        self.book = book
        self.submissions = submissions  # ordered by graded_at: the last one of a (learner, lesson) is its latest
        self._lock = lock
        self._kept: dict[tuple, object] = {}
        self.latest: dict[tuple[str, str], Submission] = {}
        self._by_learner: dict[str, list[Submission]] = defaultdict(list)
        self._by_lesson: dict[str, list[Submission]] = defaultdict(list)
        for s in submissions:
            self.latest[(s.learner, s.lesson)] = s
            self._by_learner[s.learner].append(s)
            self._by_lesson[s.lesson].append(s)
        self._versions: dict[str, set[str]] = defaultdict(set)
        self._latest_of_lesson: dict[str, list[Submission]] = defaultdict(list)
        for s in self.latest.values():  # in the order each (learner, lesson) first appears
            self._versions[s.lesson].add(s.grader_version)
            self._latest_of_lesson[s.lesson].append(s)
        self.lessons = _course_order(self._versions)
        self.learners = sorted({learner for learner, _ in self.latest})
        self._order = {key: n for n, key in enumerate(self.latest)}

    # -- asking the gradebook ------------------------------------------------------
    def _keep(self, key: tuple, compute: Callable[[], T]) -> T:
        """``compute()`` the first time ``key`` is asked of this state, the kept answer afterwards."""
        with self._lock:  # one query at a time: two pages at once share the answer rather than race for it
            if key not in self._kept:
                self._kept[key] = compute()
            return self._kept[key]  # type: ignore[return-value]

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Gradebook]:
        """The gradebook, for this thread alone (the connection is the server's), its errors in one line."""
        try:
            with self._lock:
                yield self.book
        except sqlite3.ProgrammingError:  # closed: the app opened the gradebook again after a change
            raise DashboardError("the gradebook changed while this page was read: reload the page") from None
        except sqlite3.DatabaseError as exc:
            raise DashboardError(f"cannot read the gradebook {self.book.path}: {exc}") from None

    def _query(self, sql: str, params: Sequence = ()) -> list[tuple]:
        with self._reading() as book:
            return book.db.execute(sql, tuple(params)).fetchall()

    def _latest_grades(self, where: str, params: Sequence = (), source: str = _LATEST_GRADES) -> list[Grade]:
        """The grades of latest submissions ``WHERE ...`` (reviews applied), as stored.

        A few hundred rows: SQLite picks them by exercise, learner or review
        flag, looking each latest submission up in the grades' primary key.
        """
        rows = self._query(f"SELECT {_GRADE} FROM {source} {where}", params)
        rows.sort(key=lambda row: row[13])  # as stored (an ORDER BY here would read the whole table in that order)
        return [_grade(row) for row in rows]

    @property
    def grades(self) -> Mapping[str, list[Grade]]:
        """Exercise id -> its latest grades, read on first use (a view, so that nothing here refers back to it)."""
        return _ExerciseGrades(self)

    def _in_latest_order(self, grades: list[Grade]) -> list[Grade]:
        """``grades`` (as stored) in the order of :attr:`latest`: the order the pages list learners in."""
        order = self._order
        return sorted(grades, key=lambda g: order[(g.learner, g.lesson)])

    @property
    def known(self) -> dict[str, list[str]]:
        return known_mistakes()

    def _overview(self) -> _Overview:
        return self._keep(("overview",), self._add_up)

    def _add_up(self) -> _Overview:
        # Each latest submission's grades (reviews applied), which SQLite reads from an index alone: per (lesson,
        # exercise, status) the count, the summed score and the first stored row; per (learner, lesson) the total;
        # then the title and points of each exercise's first stored row. One read transaction, so one snapshot.
        score = "COALESCE(r.new_score, g.score)"
        with self._reading() as book:
            book.db.execute("BEGIN")
            try:
                statuses = book.db.execute(
                    f"SELECT g.lesson, g.exercise, g.status, COUNT(*), SUM({score}), MIN(g.rowid) FROM {_LATEST_GRADES} "
                    "GROUP BY g.lesson, g.exercise, g.status").fetchall()
                totals = book.db.execute(
                    f"SELECT l.lesson, l.learner, SUM({score}) FROM {_LATEST_GRADES} GROUP BY l.learner, l.lesson"
                ).fetchall()
                first: dict[tuple[str, str], int] = {}
                for lesson, exercise, _, _, _, rowid in statuses:
                    first[(lesson, exercise)] = min(rowid, first.get((lesson, exercise), rowid))
                titles = book.db.execute(
                    f"SELECT rowid, lesson, exercise, title, max FROM grades WHERE rowid IN ({', '.join('?' * len(first))})",
                    tuple(first.values())).fetchall()
            finally:
                book.db.commit()
        return _Overview(statuses, totals, titles)

    # -- lessons and exercises ----------------------------------------------------
    @property
    def exercises(self) -> dict[str, list[tuple[str, str, float]]]:
        """Lesson -> its exercises ``(id, title, max)`` in notebook order."""
        return self._overview().exercises

    def lesson_of(self, exercise: str) -> str | None:
        return self._overview().lesson_of.get(exercise)

    def title_of(self, exercise: str) -> str:
        lesson = self.lesson_of(exercise)
        return next((t for e, t, _ in self.exercises.get(lesson or "", []) if e == exercise), exercise)

    def status_counts(self, exercise: str) -> dict[str, int]:
        """How many learners' latest answers passed, failed, raised or were not attempted."""
        view = self._overview()
        counts = dict.fromkeys(STATUSES, 0)
        for status, n in view.statuses.get(exercise, {}).items():
            counts[status if status in counts else "error"] += n
        # A submitted notebook that could not be graded at all is an error for each of the lesson's exercises.
        lesson = view.lesson_of.get(exercise)
        if lesson is not None:
            counts["error"] += max(0, len(self._latest_of_lesson[lesson]) - view.graded[(lesson, exercise)])
        return counts

    def exercise_mean(self, exercise: str) -> float:
        """The mean (reviewed) score of the latest answers to an exercise (0 without any)."""
        n, total = self._overview().sums.get(exercise, (0, 0.0))
        return total / n if n else 0.0

    def exercise_scores(self, exercise: str) -> list[float]:
        return [g.score for g in self.grades.get(exercise, [])]

    def lesson_scores(self, lesson: str) -> list[tuple[str, float, float]]:
        """(learner, score, max) of each learner's latest submission of ``lesson``."""
        top = sum(m for _, _, m in self.exercises.get(lesson, []))
        totals = self._overview().totals.get(lesson, {})
        return [(s.learner, totals.get(s.learner, 0.0), top or s.max) for s in self._latest_of_lesson[lesson]]

    def lesson_summary(self, lesson: str) -> dict:
        scores = [score / top for _, score, top in self.lesson_scores(lesson) if top]
        subs = self._by_lesson.get(lesson, [])
        per_learner = Counter(s.learner for s in subs)
        return {
            "lesson": lesson,
            "learners": len(scores),
            "mean": statistics.fmean(scores) if scores else 0.0,
            "median": statistics.median(scores) if scores else 0.0,
            "submissions": len(subs),
            "resubmitted": sum(1 for n in per_learner.values() if n > 1),
            "exercises": len(self.exercises.get(lesson, [])),
        }

    def mistakes(self, exercise: str) -> list[Mistake]:
        """Failed and raised latest answers grouped by known mistake, the most frequent first."""
        return self._keep(("mistakes", exercise), lambda: self._group(exercise))

    def _group(self, exercise: str) -> list[Mistake]:
        groups: dict[str, Mistake] = {}
        for g in sorted(self.grades.get(exercise, []), key=lambda g: g.learner):
            if g.status not in ("failed", "error"):
                continue
            key, label, known = mistake_of(exercise, g.message, self.known)
            m = groups.setdefault(key, Mistake(key, label, known))
            m.learners.append(g.learner)
            if len(m.examples) < 3 and g.message not in m.examples:
                m.examples.append(g.message)
        return sorted(groups.values(), key=lambda m: (-len(m.learners), m.label))

    def mistake(self, exercise: str, key: str) -> tuple[Mistake | None, list[Grade]]:
        """One group and the latest grades in it."""
        found = next((m for m in self.mistakes(exercise) if m.key == key), None)
        if found is None:
            return None, []
        members = set(found.learners)
        return found, [g for g in self.grades.get(exercise, []) if g.learner in members]

    # -- learners -------------------------------------------------------------------
    def learner_totals(self) -> list[dict]:
        """Each learner's share of the points of every lesson graded so far (a lesson not submitted scores 0)."""
        totals = self._overview().totals
        tops = {lesson: sum(m for _, _, m in self.exercises.get(lesson, [])) for lesson in self.lessons}
        total = sum(tops.values()) or 1.0
        out = []
        for learner in self.learners:
            score = 0.0
            missing = []
            for lesson in self.lessons:
                if (learner, lesson) not in self.latest:
                    missing.append(lesson)
                else:
                    score += totals.get(lesson, {}).get(learner, 0.0)
            out.append({"learner": learner, "score": score, "max": total, "share": score / total, "missing": missing})
        return out

    def below(self, threshold: float) -> list[dict]:
        return sorted((t for t in self.learner_totals() if t["share"] < threshold), key=lambda t: (t["share"], t["learner"]))

    def history(self, learner: str) -> list[Submission]:
        """Every graded submission of a learner, oldest first."""
        return list(self._by_learner.get(learner, []))

    def latest_grades(self, learner: str) -> dict[str, list[Grade]]:
        """Lesson -> the grades of a learner's latest submission of it, in notebook order (reviews applied)."""
        return self._keep(("learner", learner), lambda: self._learner_grades(learner))

    def _learner_grades(self, learner: str) -> dict[str, list[Grade]]:
        out: dict[str, list[Grade]] = {}
        for g in self._latest_grades("WHERE l.learner = ?", (learner,)):
            out.setdefault(g.lesson, []).append(g)
        return out

    def resubmissions(self, lesson: str) -> dict:
        """For a lesson: how many learners submitted how many times, and the mean first vs latest score."""
        by_learner: dict[str, list[Submission]] = defaultdict(list)
        for s in self._by_lesson.get(lesson, []):
            by_learner[s.learner].append(s)
        counts = Counter(len(v) for v in by_learner.values())
        again = [v for v in by_learner.values() if len(v) > 1]
        first = [v[0].score / v[0].max for v in again if v[0].max]
        last = [v[-1].score / v[-1].max for v in again if v[-1].max]
        return {
            "counts": sorted(counts.items()),
            "learners": len(again),
            "first": statistics.fmean(first) if first else None,
            "latest": statistics.fmean(last) if last else None,
        }

    def grader_versions(self, lesson: str) -> list[str]:
        """The grader versions of a lesson's latest submissions (more than one: a check may have changed)."""
        return sorted(self._versions.get(lesson, ()))

    # -- exports --------------------------------------------------------------------
    def export_csv(self, wide: bool = False) -> str:
        """The gradebook's CSV export (:meth:`~mlcourse.grading.results.Gradebook.export_csv`), or the
        wide one (:func:`~mlcourse.grading.export.export_wide_csv`), of each latest submission."""
        if wide:
            return self._keep(("export", True), self._wide)
        return "".join(self.export_chunks())

    def export_chunks(self, rows_per_chunk: int = 2000) -> Iterator[str]:
        """The long CSV export in pieces, written as they are sent; kept whole once sent whole.

        The rows are read at once (one statement, so one snapshot, with the
        connection held as briefly as that); turning them into CSV text, the
        larger part of the work, goes on while the first pieces are on their way.
        """
        kept = self._kept.get(("export", False))
        if kept is not None:
            yield kept
            return
        with self._reading() as book:
            rows = list(book.iter_rows(latest=True, submissions=LATEST))
        chunks = []
        for start in range(0, max(len(rows), 1), rows_per_chunk):
            text = io.StringIO()
            writer = csv.writer(text)
            if start == 0:
                writer.writerow(CSV_COLUMNS + REVIEW_COLUMNS)
            writer.writerows(rows[start:start + rows_per_chunk])
            chunks.append(text.getvalue())
            yield chunks[-1]
        with self._lock:
            self._kept.setdefault(("export", False), "".join(chunks))

    def _wide(self) -> str:
        from mlcourse.grading.export import export_wide_csv

        text = io.StringIO()
        with self._reading() as book:
            export_wide_csv(book, text, submissions=LATEST)
        return text.getvalue()

    # -- reviews ---------------------------------------------------------------------
    def review_queue(self) -> list[dict]:
        """Latest answers flagged for review: waiting ones first, then those reviewed."""
        return self._keep(("queue",), self._queue)

    def _queue(self) -> list[dict]:
        grades = self._latest_grades("WHERE a.needs_review = 1", source=f"answers a JOIN {LATEST} l "
                                     "USING (learner, lesson, sha256, grader_version) JOIN grades g "
                                     f"USING (learner, lesson, exercise, sha256, grader_version) {_REVIEWED}")
        queue = [{"grade": g, "reviewed": g.reviewed} for g in grades]
        return sorted(queue, key=lambda q: (q["reviewed"], q["grade"].lesson, q["grade"].exercise, q["grade"].learner))

    def apply_review(self, review: Review) -> bool:
        """Take in a review just stored (and nothing else since): one latest answer has a new score.

        The figures that add it up are corrected by the difference; what lists
        scores (the queue, an exercise's or a learner's grades, the exports) is
        dropped, to be asked again when a page needs it. False, with nothing
        changed, when the review is not of a latest submission of this state.
        """
        s = self.latest.get((review.learner, review.lesson))
        if s is None or s.sha256 != review.sha256:
            return False
        with self._lock:
            view = self._kept.get(("overview",))
            if isinstance(view, _Overview):
                view.rescore(review.learner, review.lesson, review.exercise, review.new_score - review.old_score)
            for key in [k for k in self._kept if k[0] not in ("overview", "mistakes")]:  # mistakes hold no score
                del self._kept[key]
        return True

    def waiting(self) -> int:
        """How many answers in the review queue wait for a review."""
        return sum(1 for q in self.review_queue() if not q["reviewed"])


class _Overview:
    """The figures of :meth:`ClassData._overview`'s query, by exercise and by lesson."""

    def __init__(self, statuses: list[tuple], totals: list[tuple], titles: list[tuple]) -> None:
        self.statuses: dict[str, dict[str, int]] = defaultdict(dict)  # exercise -> status -> latest answers
        self.sums: dict[str, tuple[int, float]] = {}  # exercise -> (latest answers, their summed score)
        self.graded: Counter[tuple[str, str]] = Counter()  # (lesson, exercise) -> latest submissions grading it
        self.totals: dict[str, dict[str, float]] = defaultdict(dict)  # lesson -> learner -> latest total
        for lesson, learner, value in totals:
            self.totals[lesson][learner] = float(value)
        for lesson, name, status, n, value, _ in statuses:
            if name == NOTEBOOK:
                continue
            self.statuses[name][status] = self.statuses[name].get(status, 0) + n
            count, summed = self.sums.get(name, (0, 0.0))
            self.sums[name] = (count + n, summed + float(value))
            self.graded[(lesson, name)] += n
        found: dict[str, list[tuple[int, str, str, float]]] = defaultdict(list)  # lesson -> [(row, id, title, max)]
        for rowid, lesson, name, title, top in titles:
            if name != NOTEBOOK:
                found[lesson].append((rowid, name, title, float(top)))
        # Notebook order: as the grader stored them (each exercise's first stored row).
        self.exercises = {lesson: [(name, title, top) for _, name, title, top in sorted(exs)] for lesson, exs in found.items()}
        self.lesson_of: dict[str, str] = {}
        for lesson in _course_order(self.exercises):
            for name, _, _ in self.exercises[lesson]:
                self.lesson_of.setdefault(name, lesson)

    def rescore(self, learner: str, lesson: str, exercise: str, change: float) -> None:
        """One latest answer's score changed by ``change`` (a review)."""
        if exercise in self.sums:
            n, summed = self.sums[exercise]
            self.sums[exercise] = (n, summed + change)
        if learner in self.totals.get(lesson, {}):
            self.totals[lesson][learner] += change


class _ExerciseGrades(Mapping[str, list[Grade]]):
    """Exercise id -> its latest grades with their messages, by learner: read on first use (``WHERE exercise = ?``)."""

    def __init__(self, data: ClassData) -> None:
        self._data = data

    def __getitem__(self, exercise: str) -> list[Grade]:
        found = self._data._keep(("grades", exercise), lambda: self._data._in_latest_order(
            self._data._latest_grades("WHERE g.exercise = ?", (exercise,))))
        if not found:
            raise KeyError(exercise)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._data._overview().sums)

    def __len__(self) -> int:
        return len(self._data._overview().sums)
