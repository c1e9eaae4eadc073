"""The dashboard's figures and exports against a straightforward reading of the gradebook.

The dashboard asks SQLite for aggregates and keeps them between changes (and
takes a review it stores into them); here every table is read whole with plain
``SELECT``s and each figure is worked out again by Python loops, as the first
version of the dashboard did, on a generated cohort with the awkward cases
built in: resubmissions, two submissions graded in the same second, a notebook
that could not be graded, a lesson graded by two grader versions, an answer
reviewed twice and a review of a submission that is no longer the latest.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import re
import sqlite3
from collections import defaultdict
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mlcourse.dashboard.app import create_app
from mlcourse.dashboard.data import NOTEBOOK, STATUSES, Grade, known_mistakes, load, mistake_of, read
from mlcourse.grading.export import wide
from mlcourse.grading.results import CSV_COLUMNS, GRADEBOOK, REVIEW_COLUMNS, Gradebook

LESSONS = ["00_lifecycle_overview", "01_data", "06_interview_prep"]
STAR = "interview.star_answer"


def _record(book: Gradebook, learner: str, lesson: str, sha: str, graded_at: str, results: list, version: str,
            error: str | None = None) -> None:
    from mlcourse.grading.discover import Submission
    from mlcourse.grading.verdict import Graded

    sub = Submission(Path(f"{learner}/{lesson}.ipynb"), learner, lesson, sha256=sha)
    book.record(Graded(sub, results, [], error, 0.5, graded_at, version, "none"))


@pytest.fixture(scope="module")
def cohort(tmp_path_factory, gradebook_generator) -> Path:
    from mlcourse.exercises.engine import Result

    folder = tmp_path_factory.mktemp("reference") / "graded"
    gradebook_generator.make_gradebook(folder, learners=40, lessons=LESSONS, seed=3)
    with Gradebook(folder / GRADEBOOK) as book:
        version = book.db.execute("SELECT grader_version FROM submissions WHERE lesson = ?", (LESSONS[0],)).fetchone()[0]
        star = book.db.execute("SELECT learner, sha256 FROM grades WHERE exercise = ? ORDER BY rowid", (STAR,)).fetchall()
        # Reviewed twice (the last review counts), then a review of a submission that is no longer the latest.
        first, second = [q["grade"].learner for q in load(book).review_queue()][:2]
        book.add_review(first, LESSONS[2], STAR, 1.0, "first look", "ann")
        book.add_review(first, LESSONS[2], STAR, 2.5, "second look", "bob")
        book.add_review(second, LESSONS[2], STAR, 0.0, "", "ann")
        old = next((lr, sha) for lr, sha in star if book.latest_answer(lr, LESSONS[2], STAR)["sha256"] != sha)
        book.db.execute("INSERT INTO reviews (learner, lesson, exercise, sha256, reviewer, reviewed_at, old_score, "
                        "new_score, max, comment) VALUES (?, ?, ?, ?, 'ann', '2026-11-30T00:00:00+00:00', 0, 4, 4, 'old')",
                        (old[0], LESSONS[2], STAR, old[1]))
        book.db.commit()
        # A notebook that could not be graded, as the latest submission of a lesson.
        _record(book, "learner005", LESSONS[0], "e" * 64, "2026-12-30T00:00:00+00:00", [], version, "not a notebook")
        # Two submissions graded in the same second: the one stored last is the latest.
        title = "Walk the loop: the stage after a stage"
        first = [Result("overview.next_stage", title, 2, "passed", 2.0)]
        second = [Result("overview.next_stage", title, 2, "failed", 0.0, "expected 'Train', got 'Data'")]
        _record(book, "learner006", LESSONS[0], "a" * 64, "2026-12-31T00:00:00+00:00", first, version)
        _record(book, "learner006", LESSONS[0], "b" * 64, "2026-12-31T00:00:00+00:00", second, version)
        # A learner graded by another version of the grader (the warning banner's case).
        row = book.db.execute("SELECT sha256 FROM submissions WHERE learner = 'learner007' AND lesson = ? "
                              "ORDER BY graded_at DESC, rowid DESC", (LESSONS[1],)).fetchone()
        for table in ("submissions", "grades", "answers"):
            book.db.execute(f"UPDATE {table} SET grader_version = 'mlcourse 0.0.9+old' WHERE learner = 'learner007' "
                            "AND lesson = ? AND sha256 = ?", (LESSONS[1], row[0]))
        book.db.commit()
    return folder


# --------------------------------------------------------------------------
# The reference: every table read whole, every figure worked out by loops
# --------------------------------------------------------------------------
class Reference:
    def __init__(self, folder: Path) -> None:
        with sqlite3.connect(folder / GRADEBOOK) as db:
            subs = db.execute("SELECT rowid, learner, lesson, sha256, grader_version, graded_at, score, max "
                              "FROM submissions").fetchall()
            grades = db.execute("SELECT rowid, learner, lesson, exercise, title, score, max, status, message, sha256, "
                                "graded_at, grader_version FROM grades").fetchall()
            reviews = db.execute("SELECT id, learner, lesson, exercise, sha256, reviewer, comment, new_score "
                                 "FROM reviews").fetchall()
            pending = set(db.execute("SELECT learner, lesson, exercise, sha256, grader_version FROM answers "
                                     "WHERE needs_review = 1").fetchall())
        self.submissions = sorted(subs, key=lambda s: (s[5], s[0]))  # as graded
        self.latest: dict[tuple, tuple] = {}
        for s in self.submissions:
            self.latest[(s[1], s[2])] = s
        last_review: dict[tuple, tuple] = {}
        for r in sorted(reviews):
            last_review[r[1:5]] = r
        self.grades: dict[tuple, list[Grade]] = defaultdict(list)  # (learner, lesson) -> its latest grades, as stored
        self.rows: list[tuple] = []  # the long CSV's rows
        self.stored: list[tuple[Grade, int]] = []  # the latest grades with their rowids
        wanted = {(s[1], s[2], s[3], s[4]) for s in self.latest.values()}
        for g in sorted(grades):
            rowid, learner, lesson, exercise, title, score, top, status, message, sha, at, version = g
            if (learner, lesson, sha, version) not in wanted:
                continue
            review = last_review.get((learner, lesson, exercise, sha))
            final = review[7] if review else score
            self.grades[(learner, lesson)].append(Grade(learner, lesson, exercise, title, float(final), float(score),
                                                        float(top), status, message or "", sha, at, version,
                                                        review is not None))
            self.stored.append((self.grades[(learner, lesson)][-1], rowid))
            self.rows.append(((learner, lesson, at, rowid), (learner, lesson, exercise, title, final, top, status,
                              message, sha, at, version, score if review else "", review[5] if review else "",
                              review[6] if review else "")))
        self.rows = [row for _, row in sorted(self.rows)]
        self.pending = pending

    def exercises(self) -> dict[str, list[tuple[str, str, float]]]:
        """Lesson -> its exercises in notebook order: as stored (each exercise's first row among the latest grades).

        The first dashboard took them from the first learner's latest submission
        on: the same whenever every submission holds every exercise, as the
        grader stores them (learner006's submission below holds one exercise).
        """
        first: dict[tuple[str, str], tuple[int, str, float]] = {}
        for g, rowid in sorted(self.stored, key=lambda pair: pair[1]):
            if g.exercise != NOTEBOOK:
                first.setdefault((g.lesson, g.exercise), (rowid, g.title, g.max))
        out: dict[str, list[tuple[str, str, float]]] = {}
        for (lesson, exercise), (_, title, top) in sorted(first.items(), key=lambda item: item[1][0]):
            out.setdefault(lesson, []).append((exercise, title, top))
        return out

    def of_exercise(self, exercise: str) -> list[Grade]:
        """Its latest grades, learner by learner in the order of their latest submissions (as the pages list them)."""
        return [g for key in self.latest for g in self.grades[key] if g.exercise == exercise]

    def status_counts(self, exercise: str, lesson: str) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for g in self.of_exercise(exercise):
            counts[g.status if g.status in counts else "error"] += 1
        for key in self.latest:
            if key[1] == lesson and not any(g.exercise == exercise for g in self.grades[key]):
                counts["error"] += 1
        return counts

    def lesson_scores(self, lesson: str) -> list[tuple[str, float, float]]:
        top = sum(m for _, _, m in self.exercises().get(lesson, []))
        return [(learner, sum(g.score for g in self.grades[(learner, lesson)]), top or s[7])
                for (learner, sub_lesson), s in self.latest.items() if sub_lesson == lesson]

    def learner_totals(self) -> list[dict]:
        lessons = sorted({lesson for _, lesson in self.latest})
        tops = {lesson: sum(m for _, _, m in self.exercises().get(lesson, [])) for lesson in lessons}
        total = sum(tops.values()) or 1.0
        out = []
        for learner in sorted({learner for learner, _ in self.latest}):
            score = sum(g.score for lesson in lessons for g in self.grades.get((learner, lesson), []))
            missing = [lesson for lesson in lessons if (learner, lesson) not in self.latest]
            out.append({"learner": learner, "score": score, "max": total, "share": score / total, "missing": missing})
        return out

    def review_queue(self) -> list[tuple]:
        queue = [(g.reviewed, g.lesson, g.exercise, g.learner, g.score) for grades in self.grades.values() for g in grades
                 if (g.learner, g.lesson, g.exercise, g.sha256, g.grader_version) in self.pending]
        return sorted(queue)

    def mistakes(self, exercise: str) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = defaultdict(list)
        for g in sorted(self.of_exercise(exercise), key=lambda g: g.learner):
            if g.status in ("failed", "error"):
                groups[mistake_of(exercise, g.message, known_mistakes())[0]].append(g.learner)
        return dict(groups)

    def long_csv(self) -> str:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(CSV_COLUMNS + REVIEW_COLUMNS)
        writer.writerows(self.rows)
        return text.getvalue()

    def wide_csv(self) -> str:
        columns, table = wide({"learner": r[0], "lesson": r[1], "exercise": r[2], "score": r[4]} for r in self.rows)
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=columns)
        writer.writeheader()
        writer.writerows(table)
        return text.getvalue()


def _same(data, ref: Reference) -> None:
    """Every figure the pages show, from ``data``, equals the reference's."""
    assert list(data.latest) == list(ref.latest)
    assert data.exercises == ref.exercises()
    for lesson, exercises in data.exercises.items():
        scores = data.lesson_scores(lesson)
        expected = ref.lesson_scores(lesson)
        assert [(learner, top) for learner, _, top in scores] == [(learner, top) for learner, _, top in expected]
        assert [score for _, score, _ in scores] == pytest.approx([score for _, score, _ in expected], abs=1e-9)
        for exercise, _, _ in exercises:
            grades = ref.of_exercise(exercise)
            assert data.status_counts(exercise) == ref.status_counts(exercise, lesson)
            assert data.exercise_mean(exercise) == pytest.approx(sum(g.score for g in grades) / len(grades), abs=1e-9)
            assert list(map(dataclasses.astuple, data.grades[exercise])) == list(map(dataclasses.astuple, grades))
            assert {m.key: m.learners for m in data.mistakes(exercise)} == ref.mistakes(exercise)
    totals, expected = data.learner_totals(), ref.learner_totals()
    assert [{**t, "score": None, "share": None} for t in totals] == [{**t, "score": None, "share": None} for t in expected]
    assert [t["score"] for t in totals] == pytest.approx([t["score"] for t in expected], abs=1e-9)
    assert [(q["reviewed"], q["grade"].lesson, q["grade"].exercise, q["grade"].learner, q["grade"].score)
            for q in data.review_queue()] == ref.review_queue()
    for learner in data.learners[:8]:
        mine = data.latest_grades(learner)
        assert {lesson: list(map(dataclasses.astuple, grades)) for lesson, grades in mine.items()} == {
            lesson: list(map(dataclasses.astuple, ref.grades[(learner, lesson)]))
            for (who, lesson) in ref.latest if who == learner}


def test_every_figure_and_both_exports_match_a_straightforward_reading_of_the_gradebook(folder):
    ref = Reference(folder)
    assert ref.grades[("learner006", LESSONS[0])][0].status == "failed"  # the tie went to the one stored last
    assert [g.exercise for g in ref.grades[("learner005", LESSONS[0])]] == [NOTEBOOK]
    assert sum(1 for q in ref.review_queue() if q[0]) == 2  # the old submission's review is not in the queue
    data = read(folder)
    _same(data, ref)
    assert data.grader_versions(LESSONS[1]) == sorted({s[4] for key, s in ref.latest.items() if key[1] == LESSONS[1]})
    assert len(data.grader_versions(LESSONS[1])) == 2
    assert data.export_csv() == ref.long_csv()
    assert data.export_csv(wide=True) == ref.wide_csv()
    client = TestClient(create_app(folder), base_url="http://127.0.0.1")
    assert client.get("/export.csv").text == ref.long_csv()
    assert client.get("/export.csv?wide=1").text == ref.wide_csv()
    with Gradebook(folder / GRADEBOOK) as book:  # the command line's export, with the gradebook's own query
        text = io.StringIO()
        book.export_csv(text)
        assert text.getvalue() == ref.long_csv()


def _csrf(text: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', text).group(1)


def test_reviews_stored_through_the_dashboard_keep_its_figures_equal_to_the_reference(folder):
    client = TestClient(create_app(folder), base_url="http://127.0.0.1")
    state = client.app.state.dashboard
    assert client.get("/").status_code == 200 and client.get("/export.csv").status_code == 200
    data = state.cached
    queue = [q["grade"] for q in data.review_queue()]
    for g, score in zip(queue[:3] + queue[:1], ["0.5", "4", "3.25", "1"]):  # the first one twice
        form = client.get(f"/review?learner={g.learner}&lesson={g.lesson}&exercise={g.exercise}")
        body = {"csrf": _csrf(form.text), "learner": g.learner, "lesson": g.lesson, "exercise": g.exercise,
                "sha256": g.sha256, "score": score, "comment": "checked", "reviewer": "Dr. Lee"}
        assert client.post("/review", data=body, follow_redirects=False).status_code == 303
        assert state.cached is data  # taken into the state in memory, not read again
        ref = Reference(folder)
        _same(data, ref)
        assert client.get("/export.csv").text == ref.long_csv()
        assert client.get("/export.csv?wide=1").text == ref.wide_csv()
    # A grade committed by `mlcourse grade` meanwhile: the dashboard reads everything again and still agrees.
    with sqlite3.connect(folder / GRADEBOOK) as db:
        db.execute("UPDATE grades SET score = 0, status = 'failed' WHERE exercise = 'data.time_split' AND learner < 'learner010'")
    assert client.get("/").status_code == 200 and state.cached is not data
    _same(state.cached, Reference(folder))


def test_threads_reading_pages_while_reviews_and_grades_are_stored_share_the_one_connection_safely(folder):
    import threading

    state = create_app(folder).state.dashboard
    queue = [q["grade"] for q in state.data().review_queue()][:6]
    errors: list[BaseException] = []

    def guarded(work):
        def run() -> None:
            try:
                work()
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)
        return threading.Thread(target=run)

    def pages() -> None:
        for n in range(12):
            data = state.data()
            lesson = data.lessons[n % len(data.lessons)]
            exercise = data.exercises[lesson][n % len(data.exercises[lesson])][0]
            assert sum(data.status_counts(exercise).values()) == len(data._latest_of_lesson[lesson])
            assert len(data.lesson_scores(lesson)) == len(data._latest_of_lesson[lesson])
            assert all(g.exercise == exercise for g in data.grades[exercise]) and data.mistakes(exercise) is not None
            assert data.latest_grades(data.learners[n]) and data.waiting() >= 0
            assert "".join(data.export_chunks()).count("\r\n") > len(data.latest)

    def reviews() -> None:
        for n, g in enumerate(queue):
            state.review(g.learner, g.lesson, g.exercise, n * 0.5, "threaded", "me")

    def grader() -> None:
        for n in range(6):
            with sqlite3.connect(folder / GRADEBOOK, timeout=30) as db:
                db.execute("UPDATE grades SET score = ? WHERE exercise = 'data.time_split' AND learner = ?",
                           (n % 2, f"learner{n:03d}"))

    threads = [guarded(pages) for _ in range(3)] + [guarded(reviews), guarded(grader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    _same(state.data(), Reference(folder))
    assert sum(1 for q in state.data().review_queue() if q["grade"].reviewed) >= len(queue)
