"""The gradebook's schema 2: stored answers, reviews, exports with reviewed scores,
migration of older gradebooks, and what goes wrong around them.

Lesson 06 is graded for real (its STAR answer asks for review): the solution,
and a learner who answered only two questions.
"""
from __future__ import annotations

import contextlib
import copy
import csv
import json
import sqlite3
from pathlib import Path

import pytest

from mlcourse.exercises import notebook as nbio
from mlcourse.grading import results as res
from mlcourse.grading.batch import GradingError, _lock

REPO = Path(__file__).resolve().parents[2]
LESSON = "06_interview_prep"
STAR = "interview.star_answer"



@pytest.fixture(scope="module")
def graded(tmp_path_factory, cli_run) -> Path:
    root = tmp_path_factory.mktemp("reviews")
    solution = nbio.read(REPO / "solutions" / f"{LESSON}.ipynb")
    partial = copy.deepcopy(nbio.read(REPO / "notebooks" / f"{LESSON}.ipynb"))
    for cell in partial["cells"]:
        if nbio.exercise_id(cell) == STAR:
            cell["source"] = 'star_answer = {"situation": "a shop", "task": "fraud", "action": "I did it", "result": "good"}'
        if nbio.exercise_id(cell) == "interview.skew":
            cell["source"] = 'answer_skew = "b"'
    for learner, nb in (("ann", solution), ("bob", partial)):
        target = root / "subs" / learner / f"{LESSON}.ipynb"
        target.parent.mkdir(parents=True)
        target.write_text(nbio.dumps(nb))
    status, out, err = cli_run("grade", str(root / "subs"), "--out", str(root / "out"), "--quiet", "--jobs", "2")
    assert status == 0, out + err
    return root / "out"


@pytest.fixture
def book(graded, tmp_path) -> res.Gradebook:
    """A copy of the graded folder's gradebook, so each test reviews its own."""
    import shutil

    shutil.copytree(graded, tmp_path / "out")
    b = res.Gradebook(tmp_path / "out" / res.GRADEBOOK)
    yield b
    b.close()


def test_the_grader_stores_the_answer_to_review_and_the_full_results(book):
    assert book.schema_version == res.SCHEMA_VERSION
    assert book.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    ann = book.latest_answer("ann", LESSON, STAR)
    assert ann["needs_review"] == 1 and ann["status"] == "passed" and ann["reviews"] == []
    assert "situation:" in ann["answer"] and "result:" in ann["answer"] and len(ann["answer"]) > 300
    assert ann["result"]["needs_review"] is True and len(ann["result"]["tests"]) == 6
    bob = book.latest_answer("bob", LESSON, STAR)
    assert bob["needs_review"] == 1 and bob["status"] == "failed" and bob["answer"].startswith("situation:\na shop")
    # Only an exercise that asks for review is flagged.
    assert book.latest_answer("ann", LESSON, "interview.skew")["needs_review"] == 0


def test_a_review_changes_the_score_in_both_csv_exports_and_keeps_its_history(book, tmp_path):
    from mlcourse.grading.export import export_wide_csv

    before = {(r["learner"], r["exercise"]): r for r in book.rows()}
    assert before[("bob", STAR)]["score"] < 4
    first = book.add_review("bob", LESSON, STAR, 3, "A real project, but say what you measured.", "Dr. Lee")
    assert (first.old_score, first.new_score, first.max, first.reviewer) == (before[("bob", STAR)]["score"], 3.0, 4.0, "Dr. Lee")
    second = book.add_review("bob", LESSON, STAR, 2.5, "On a second reading: no numbers.", "Ann Other")
    assert second.old_score == 3.0 and [r.new_score for r in book.reviews("bob", LESSON, STAR, first.sha256)] == [3.0, 2.5]
    assert first.reviewed_at <= second.reviewed_at and second.reviewed_at.endswith("+00:00")

    long_csv, wide_csv = tmp_path / "long.csv", tmp_path / "wide.csv"
    book.export_csv(long_csv)
    export_wide_csv(book, wide_csv)
    rows = {(r["learner"], r["exercise"]): r for r in csv.DictReader(long_csv.open())}
    assert rows[("bob", STAR)]["score"] == "2.5" and rows[("bob", STAR)]["reviewed_by"] == "Ann Other"
    assert float(rows[("bob", STAR)]["auto_score"]) == before[("bob", STAR)]["score"]
    assert rows[("ann", STAR)]["reviewed_by"] == "" and rows[("ann", STAR)]["auto_score"] == ""
    wide = {r["learner"]: r for r in csv.DictReader(wide_csv.open())}
    bob_total = sum(r["score"] for (learner, _), r in before.items() if learner == "bob") - before[("bob", STAR)]["score"] + 2.5
    assert wide["bob"][STAR] == "2.5" and float(wide["bob"]["total"]) == pytest.approx(bob_total)


def test_feedback_and_results_json_are_written_again_with_the_comment(book):
    out = book.path.parent
    review = book.add_review("bob", LESSON, STAR, 3, "Name the <b>metric</b> you moved.", "Dr. Lee")
    folder = res.apply_reviews(out, book, "bob", LESSON, review.sha256)
    data = json.loads((folder / "results.json").read_text())
    star = next(t for t in data["tests"] if t["extra_data"]["exercise"] == STAR)
    assert star["score"] == 3 and star["extra_data"]["reviewed_by"] == "Dr. Lee"
    assert "Reviewed by Dr. Lee" in star["output"] and "Name the <b>metric</b> you moved." in star["output"]
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
    feedback = (folder / "feedback.md").read_text()
    assert "**Reviewed by `Dr. Lee`" in feedback and "```text\nName the <b>metric</b> you moved.\n```" in feedback
    assert f"**Score: {data['score']:g} / 22**" in feedback
    # Ann's answer awaits review: her feedback says a person reads it.
    ann = (out / "ann" / LESSON / "feedback.md").read_text()
    assert "Your instructor reads this answer" in ann


@pytest.mark.parametrize("score", [-1, 4.5, float("nan"), float("inf")])
def test_a_score_outside_the_points_is_refused_and_nothing_is_stored(book, score):
    with pytest.raises(res.ReviewError, match=r"outside 0\.\.4|must be a number"):
        book.add_review("bob", LESSON, STAR, score, "", "me")
    assert book.db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0


def test_a_review_of_an_answer_that_is_not_there_is_refused(book):
    with pytest.raises(res.ReviewError, match="no graded answer"):
        book.add_review("zed", LESSON, STAR, 1, "", "me")
    sha = book.latest_answer("bob", LESSON, STAR)["sha256"]
    with pytest.raises(res.ReviewError, match="graded again"):
        book.add_review("bob", LESSON, STAR, 1, "", "me", sha256="0" * len(sha))


def test_a_review_while_a_grader_writes_says_so_and_loses_nothing(book):
    writer = sqlite3.connect(book.path, timeout=0.1)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE grades SET message = message WHERE learner = 'ann'")
    busy = res.Gradebook(book.path, timeout=0.2)
    try:
        with pytest.raises(res.GradebookError, match="busy.*not saved; submit it again"):
            busy.add_review("bob", LESSON, STAR, 3, "first try", "me")
        # Readers are not blocked by the writer (WAL).
        assert len(busy.rows()) == len(book.rows())
        writer.commit()
        busy.add_review("bob", LESSON, STAR, 3, "second try", "me")
    finally:
        busy.close()
        writer.close()
    assert [r.comment for r in book.reviews("bob", LESSON, STAR, book.latest_answer("bob", LESSON, STAR)["sha256"])] == ["second try"]


def test_a_second_grade_into_the_same_folder_is_refused_while_one_runs(graded, tmp_path, cli_run):
    held = _lock(graded)
    try:
        status, _, err = cli_run("grade", str(REPO / "notebooks" / f"{LESSON}.ipynb"), "--out", str(graded), "--quiet")
    finally:
        held.close()
    assert status == 2 and "another `mlcourse grade` (pid" in err and "nothing was changed" in err
    with pytest.raises(GradingError):  # and the lock is one per folder, not per process
        second = _lock(graded)
        try:
            _lock(graded)
        finally:
            second.close()


def test_an_older_gradebook_is_migrated_and_keeps_every_grade(tmp_path):
    path = tmp_path / "gradebook.db"
    db = sqlite3.connect(path)
    db.executescript(res.SCHEMA)  # schema 1: no version, no answers, no reviews
    db.execute("INSERT INTO submissions VALUES ('ann','06_interview_prep','s1','v1','x.ipynb',2,4,NULL,'[]',1,'none','2026-01-01')")
    db.execute("INSERT INTO grades VALUES ('ann','06_interview_prep','interview.skew','Skew',2,2,'passed','','s1','2026-01-01','v1')")
    db.commit()
    db.close()
    book = res.Gradebook(path)
    try:
        assert book.schema_version == 2
        assert [(r["learner"], r["score"]) for r in book.rows()] == [("ann", 2.0)]
        assert book.latest_answer("ann", LESSON, "interview.skew")["answer"] is None  # graded before answers were kept
        assert res.apply_reviews(tmp_path, book, "ann", LESSON, "s1") is None  # its files are left as they are
    finally:
        book.close()


def test_a_newer_or_a_corrupt_gradebook_gets_a_clear_message_and_is_left_alone(tmp_path):
    newer = tmp_path / "newer.db"
    db = sqlite3.connect(newer)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(res.GradebookError, match=r"newer mlcourse \(gradebook schema 99; this one reads up to 2\): upgrade"):
        res.Gradebook(newer)
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"not a database at all " * 200)
    with pytest.raises(res.GradebookError, match="not a readable gradebook.*Nothing was changed"):
        res.Gradebook(corrupt)
    assert corrupt.read_bytes() == b"not a database at all " * 200


def test_grading_again_keeps_the_review_in_the_exports_and_the_feedback(graded, book, cli_run):
    out = book.path.parent
    review = book.add_review("bob", LESSON, STAR, 3, "Kept after a regrade.", "Dr. Lee")
    book.close()
    status, _, err = cli_run("grade", str(graded.parent / "subs"), "--out", str(out), "--quiet", "--force", "--jobs", "2")
    assert status == 0, err
    with res.Gradebook(out / res.GRADEBOOK) as again:
        rows = {(r["learner"], r["exercise"]): r for r in again.rows()}
    assert rows[("bob", STAR)]["score"] == 3 and rows[("bob", STAR)]["reviewed_by"] == "Dr. Lee"
    assert review.sha256 == rows[("bob", STAR)]["sha256"]
    assert "Kept after a regrade." in (out / "bob" / LESSON / "feedback.md").read_text()


def _record(book: res.Gradebook, learner: str, sha: str, graded_at: str, score: float) -> None:
    from mlcourse.exercises.engine import Result
    from mlcourse.grading.discover import Submission
    from mlcourse.grading.verdict import Graded

    sub = Submission(Path(f"{learner}/{LESSON}.ipynb"), learner, LESSON, sha256=sha)
    book.record(Graded(sub, [Result("interview.skew", "Skew", 2, "passed", score)], graded_at=graded_at,
                       grader_version="v1"))


def test_the_latest_submission_is_the_last_graded_and_of_a_tie_the_last_stored(tmp_path):
    with res.Gradebook(tmp_path / res.GRADEBOOK) as book:
        _record(book, "ann", "a2", "2026-01-02T00:00:00+00:00", 2.0)  # graded later, stored first
        _record(book, "ann", "a1", "2026-01-01T00:00:00+00:00", 1.0)
        _record(book, "bob", "b1", "2026-01-01T00:00:00+00:00", 1.0)  # the same second: the last stored wins
        _record(book, "bob", "b2", "2026-01-01T00:00:00+00:00", 0.5)
        latest = {(r["learner"], r["sha256"], r["score"]) for r in book.rows(latest=True)}
        assert latest == {("ann", "a2", 2.0), ("bob", "b2", 0.5)}
        assert len(book.rows(latest=False)) == 4
        assert book.latest_answer("bob", LESSON, "interview.skew")["sha256"] == "b2"


def test_an_index_missing_from_a_gradebook_is_added_when_it_is_opened_and_skipped_while_it_is_busy(tmp_path):
    path = tmp_path / res.GRADEBOOK
    with res.Gradebook(path) as book:
        _record(book, "ann", "a1", "2026-01-01T00:00:00+00:00", 1.0)

    def indexes() -> set[str]:
        with contextlib.closing(sqlite3.connect(path)) as db:
            return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}

    assert set(res.INDEXES) <= indexes()
    writer = sqlite3.connect(path)  # a gradebook from before the indexes, while a grader writes it
    for name in res.INDEXES:
        writer.execute(f"DROP INDEX {name}")
    writer.commit()
    writer.execute("BEGIN IMMEDIATE")
    try:
        with res.Gradebook(path, timeout=30) as busy:  # opens at once, and reads as well without them
            assert [r["sha256"] for r in busy.rows()] == ["a1"] and busy.schema_version == res.SCHEMA_VERSION
            assert busy.db.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000  # its own again, after 0.1 s for them
        assert not set(res.INDEXES) & indexes()
    finally:
        writer.rollback()
        writer.close()
    with res.Gradebook(path) as book:
        assert [r["sha256"] for r in book.rows()] == ["a1"]
    assert set(res.INDEXES) <= indexes()
