"""Step 1 of the dashboard: the gradebook, read once per change, and what the pages show.

:func:`load` reads every graded submission and grade (reviews applied) in two
queries; :class:`ClassData` keeps them in memory and answers each page's
questions with plain Python over a few tens of thousands of rows. The app
reads again only when the gradebook's files change (a grade committed, a
review stored), so a page costs milliseconds on 500 learners x 7 lessons
(``benchmarks/dashboard.py``).

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

import hashlib
import re
import sqlite3
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mlcourse.grading.results import GRADEBOOK, LATEST_REVIEWS, Gradebook, GradebookError

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
    grades: list[Grade] = field(default_factory=list)


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
def open_book(folder: Path, timeout: float = 5.0) -> Gradebook:
    """The gradebook of a graded folder, with a clear message when it is missing or cannot be read."""
    path = Path(folder) / GRADEBOOK
    if not Path(folder).is_dir():
        raise DashboardError(f"{folder} is not a folder; give the --out folder of `mlcourse grade`")
    if not path.is_file():
        raise DashboardError(f"no gradebook at {path}; run `mlcourse grade SUBMISSIONS --out {folder}` first")
    try:
        return Gradebook(path, timeout=timeout)
    except GradebookError as exc:
        raise DashboardError(str(exc)) from None


def load(book: Gradebook) -> ClassData:
    """Every submission and grade of the gradebook, reviews applied."""
    db = book.db
    try:
        subs = {
            (r[0], r[1], r[2], r[3]): Submission(*r[:5], float(r[5]), float(r[6]), r[7])
            for r in db.execute(
                "SELECT learner, lesson, sha256, grader_version, graded_at, score, max, error FROM submissions "
                "ORDER BY graded_at, rowid"
            )
        }
        reviewed = {
            (r[0], r[1], r[2], r[3]): float(r[4])
            for r in db.execute(f"SELECT learner, lesson, exercise, sha256, new_score FROM ({LATEST_REVIEWS})")
        }
        pending = {
            (r[0], r[1], r[2], r[3], r[4])
            for r in db.execute("SELECT learner, lesson, exercise, sha256, grader_version FROM answers WHERE needs_review = 1")
        }
        for r in db.execute(
            "SELECT learner, lesson, exercise, title, score, max, status, message, sha256, graded_at, grader_version "
            "FROM grades ORDER BY rowid"
        ):
            sub = subs.get((r[0], r[1], r[8], r[10]))
            if sub is None:
                continue
            score = reviewed.get((r[0], r[1], r[2], r[8]))
            sub.grades.append(Grade(r[0], r[1], r[2], r[3], float(r[4] if score is None else score), float(r[4]),
                                    float(r[5]), r[6], r[7] or "", r[8], r[9], r[10], score is not None))
    except sqlite3.DatabaseError as exc:
        raise DashboardError(f"cannot read the gradebook {book.path}: {exc}") from None
    return ClassData(list(subs.values()), pending, known_mistakes())


def known_mistakes() -> dict[str, list[str]]:
    """Exercise id -> the texts of its known mistakes (its Mistakes, its advice on errors, the engine's own)."""
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


class ClassData:
    """The gradebook in memory: each (learner, lesson)'s latest submission, and all of them for history."""

    def __init__(self, submissions: list[Submission], pending: set, known: dict[str, list[str]]) -> None:
        self.submissions = submissions
        self.pending = pending
        self.known = known
        latest: dict[tuple[str, str], Submission] = {}
        for s in submissions:  # ordered by graded_at: the last one wins
            latest[(s.learner, s.lesson)] = s
        self.latest = latest
        self.lessons = _course_order(lesson for _, lesson in latest)
        self.learners = sorted({learner for learner, _ in latest})
        self.exercises: dict[str, list[tuple[str, str, float]]] = {}  # lesson -> [(id, title, max)] in notebook order
        self.grades: dict[str, list[Grade]] = defaultdict(list)  # exercise -> latest grades
        for s in latest.values():
            for g in s.grades:
                if g.exercise == NOTEBOOK:
                    continue
                exs = self.exercises.setdefault(s.lesson, [])
                if g.exercise not in {e for e, _, _ in exs}:
                    exs.append((g.exercise, g.title, g.max))
                self.grades[g.exercise].append(g)

    # -- lessons and exercises ----------------------------------------------------
    def lesson_of(self, exercise: str) -> str | None:
        return next((lesson for lesson, exs in self.exercises.items() if exercise in {e for e, _, _ in exs}), None)

    def title_of(self, exercise: str) -> str:
        lesson = self.lesson_of(exercise)
        return next((t for e, t, _ in self.exercises.get(lesson or "", []) if e == exercise), exercise)

    def status_counts(self, exercise: str) -> dict[str, int]:
        """How many learners' latest answers passed, failed, raised or were not attempted."""
        counts = dict.fromkeys(STATUSES, 0)
        for g in self.grades.get(exercise, []):
            counts[g.status if g.status in counts else "error"] += 1
        # A submitted notebook that could not be graded at all is an error for each of the lesson's exercises.
        lesson = self.lesson_of(exercise)
        for (_, sub_lesson), s in self.latest.items():
            if sub_lesson == lesson and not any(g.exercise == exercise for g in s.grades):
                counts["error"] += 1
        return counts

    def lesson_scores(self, lesson: str) -> list[tuple[str, float, float]]:
        """(learner, score, max) of each learner's latest submission of ``lesson``."""
        top = sum(m for _, _, m in self.exercises.get(lesson, []))
        return [
            (learner, sum(g.score for g in s.grades), top or s.max)
            for (learner, sub_lesson), s in self.latest.items() if sub_lesson == lesson
        ]

    def lesson_summary(self, lesson: str) -> dict:
        scores = [score / top for _, score, top in self.lesson_scores(lesson) if top]
        subs = [s for s in self.submissions if s.lesson == lesson]
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

    def exercise_scores(self, exercise: str) -> list[float]:
        return [g.score for g in self.grades.get(exercise, [])]

    def mistakes(self, exercise: str) -> list[Mistake]:
        """Failed and raised latest answers grouped by known mistake, the most frequent first."""
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
        tops = {lesson: sum(m for _, _, m in self.exercises.get(lesson, [])) for lesson in self.lessons}
        total = sum(tops.values()) or 1.0
        out = []
        for learner in self.learners:
            score = 0.0
            missing = []
            for lesson in self.lessons:
                s = self.latest.get((learner, lesson))
                if s is None:
                    missing.append(lesson)
                else:
                    score += sum(g.score for g in s.grades)
            out.append({"learner": learner, "score": score, "max": total, "share": score / total, "missing": missing})
        return out

    def below(self, threshold: float) -> list[dict]:
        return sorted((t for t in self.learner_totals() if t["share"] < threshold), key=lambda t: (t["share"], t["learner"]))

    def history(self, learner: str) -> list[Submission]:
        """Every graded submission of a learner, oldest first."""
        return [s for s in self.submissions if s.learner == learner]

    def resubmissions(self, lesson: str) -> dict:
        """For a lesson: how many learners submitted how many times, and the mean first vs latest score."""
        by_learner: dict[str, list[Submission]] = defaultdict(list)
        for s in self.submissions:
            if s.lesson == lesson:
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

    # -- reviews ---------------------------------------------------------------------
    def review_queue(self) -> list[dict]:
        """Latest answers flagged for review: waiting ones first, then those reviewed."""
        queue = []
        for (learner, lesson), s in self.latest.items():
            for g in s.grades:
                if (learner, lesson, g.exercise, g.sha256, g.grader_version) in self.pending:
                    queue.append({"grade": g, "reviewed": g.reviewed})
        return sorted(queue, key=lambda q: (q["reviewed"], q["grade"].lesson, q["grade"].exercise, q["grade"].learner))
