"""``mlcourse dashboard``: its pages, the review form, the exports and the guard,
through FastAPI's test client on a small generated cohort (benchmarks/dashboard.py)."""
from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mlcourse import cli
from mlcourse.dashboard.app import create_app
from mlcourse.dashboard.data import DashboardError, load, mistake_of, open_book, read, shape

STAR = "interview.star_answer"


@pytest.fixture(scope="module")
def cohort(tmp_path_factory, gradebook_generator) -> Path:
    folder = tmp_path_factory.mktemp("cohort") / "graded"
    gradebook_generator.make_gradebook(folder, learners=25, lessons=["00_lifecycle_overview", "06_interview_prep"],
                                write_files=True)
    return folder


@pytest.fixture
def client(folder) -> TestClient:
    return TestClient(create_app(folder, reviewer="Dr. Lee"), base_url="http://127.0.0.1")


def test_the_class_view_shows_every_exercise_with_its_statuses(client, folder):
    page = client.get("/")
    assert page.status_code == 200
    data = read(folder)
    for lesson, exercises in data.exercises.items():
        assert f'<h2 id="{lesson}">' in page.text
        for ex_id, _, _ in exercises:
            assert f'<option value="{ex_id}">' in page.text
            counts = data.status_counts(ex_id)
            total = sum(counts.values())
            assert f'aria-label="{", ".join(f"{100 * n / total:.0f}% {s}" for s, n in counts.items() if n)}"' in page.text
    assert page.text.count('<svg class="hist"') == len(data.lessons)


def test_an_exercise_page_groups_failures_by_known_mistake(client, folder):
    data = read(folder)
    exercise = "overview.next_stage"
    mistakes = data.mistakes(exercise)
    failed = [g for g in data.grades[exercise] if g.status in ("failed", "error")]
    assert sum(len(m.learners) for m in mistakes) == len(failed)
    assert [len(m.learners) for m in mistakes] == sorted((len(m.learners) for m in mistakes), reverse=True)
    assert any(m.known for m in mistakes) and any(not m.known for m in mistakes)
    page = client.get(f"/exercise?id={exercise}")
    assert page.status_code == 200 and "known mistake" in page.text
    top = mistakes[0]
    assert f"key={top.key}" in page.text
    detail = client.get(f"/mistake?exercise={exercise}&key={top.key}")
    assert detail.status_code == 200
    assert all(f">{learner}</a>" in detail.text for learner in top.learners)
    assert client.get("/exercise?id=nope.none").status_code == 404
    assert client.get(f"/mistake?exercise={exercise}&key=sdeadbeef").status_code == 404


def test_shapes_and_known_mistakes():
    known = {"x.f": ["Your function returned None: did you forget a `return` statement?"]}
    key, label, is_known = mistake_of("x.f", "On 3: expected 4, got None. Your function returned None: did you forget "
                                      "a `return` statement? [called with 3]", known)
    assert is_known and label.startswith("Your function returned None")
    a = mistake_of("x.f", "On 'a': expected 'b', got 'c' [called with 'a']", known)
    b = mistake_of("x.f", "On 'q': expected 'r', got 's' [called with 'q']", known)
    assert a == b and not a[2]
    assert shape("On x: the mean is 0.25 not 0.5") == "the mean is # not #"


def test_learners_below_a_threshold_and_one_learners_history(client, folder):
    data = read(folder)
    below = data.below(0.6)
    page = client.get("/learners?below=60")
    assert page.status_code == 200 and f"{len(below)} learner(s) below 60%" in page.text
    assert all(t["share"] < 0.6 for t in below) and all(t["share"] >= 0.6 for t in data.learner_totals() if t not in below)
    again = next(learner for learner in data.learners if len(data.history(learner)) > len(data.lessons))
    page = client.get(f"/learner?id={again}")
    assert page.status_code == 200 and '<svg class="timeline"' in page.text
    assert page.text.count("<circle") == len(data.history(again))
    assert client.get("/learner?id=nobody").status_code == 404


def _csrf(text: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', text).group(1)


def test_a_review_is_stored_and_the_exports_and_feedback_follow(client, folder):
    queue = client.get("/reviews")
    assert queue.status_code == 200 and "review</a>" in queue.text
    with open_book(folder) as book:
        waiting = [q["grade"] for q in load(book).review_queue() if not q["reviewed"]]
    g = waiting[0]
    form = client.get(f"/review?learner={g.learner}&lesson={g.lesson}&exercise={g.exercise}")
    assert form.status_code == 200 and "fell by 35%" in form.text and 'value="Dr. Lee"' in form.text
    body = {"csrf": _csrf(form.text), "learner": g.learner, "lesson": g.lesson, "exercise": g.exercise,
            "sha256": g.sha256, "score": "1.5", "comment": "Say <what> you measured.", "reviewer": "Dr. Lee"}
    saved = client.post("/review", data=body)
    assert saved.status_code == 200 and "Saved: 1.5 / 4" in saved.text and "Say &lt;what&gt; you measured." in saved.text
    rows = {(r["learner"], r["exercise"]): r for r in csv.DictReader(io.StringIO(client.get("/export.csv").text))}
    assert rows[(g.learner, STAR)]["score"] == "1.5" and rows[(g.learner, STAR)]["reviewed_by"] == "Dr. Lee"
    wide = {r["learner"]: r for r in csv.DictReader(io.StringIO(client.get("/export.csv?wide=1").text))}
    assert wide[g.learner][STAR] == "1.5"
    results = json.loads((folder / g.learner / g.lesson / "results.json").read_text())
    star = next(t for t in results["tests"] if t["extra_data"]["exercise"] == STAR)
    assert star["score"] == 1.5 and "Say <what> you measured." in star["output"]
    assert "Say <what> you measured." in (folder / g.learner / g.lesson / "feedback.md").read_text()
    assert f"{len(waiting) - 1} waiting" in client.get("/reviews").text


@pytest.mark.parametrize("score, why", [("9", "outside 0..4"), ("-1", "outside 0..4"), ("four", "is not a number")])
def test_a_bad_score_is_refused_with_the_form_kept(client, folder, score, why):
    with open_book(folder) as book:
        g = next(q["grade"] for q in load(book).review_queue())
    form = client.get(f"/review?learner={g.learner}&lesson={g.lesson}&exercise={g.exercise}")
    body = {"csrf": _csrf(form.text), "learner": g.learner, "lesson": g.lesson, "exercise": g.exercise,
            "sha256": g.sha256, "score": score, "comment": "kept as typed", "reviewer": "me"}
    page = client.post("/review", data=body)
    assert page.status_code == 400 and why in page.text and "nothing was saved" in page.text
    assert "kept as typed</textarea>" in page.text and f'value="{score}"' in page.text
    with sqlite3.connect(folder / "gradebook.db") as db:
        assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0


def test_a_post_without_the_forms_secret_is_refused(client, folder):
    page = client.post("/review", data={"learner": "learner000", "lesson": "06_interview_prep", "exercise": STAR,
                                        "score": "0", "csrf": "guess"})
    assert page.status_code == 403
    with sqlite3.connect(folder / "gradebook.db") as db:
        assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0


def test_the_token_guards_every_page(folder):
    app = create_app(folder, token="s3cret", local=False)
    client = TestClient(app, base_url="http://dashboard.example.org")
    assert client.get("/").status_code == 401 and client.get("/export.csv").status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    first = client.get("/?token=s3cret", follow_redirects=False)
    assert first.status_code == 303 and "token" not in first.headers["location"]
    assert client.get("/export.csv").status_code == 200  # the cookie now


def test_without_a_token_only_this_machines_names_are_answered(folder):
    client = TestClient(create_app(folder), base_url="http://attacker.example.org")
    assert client.get("/").status_code == 421


def command(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = cli.main(list(argv))
    return status, err.getvalue()


def test_bad_folders_and_hosts_get_one_clear_line(tmp_path, folder):
    status, err = command("dashboard", str(tmp_path / "nothing"))
    assert status == 2 and "is not a folder" in err
    status, err = command("dashboard", str(tmp_path))
    assert status == 2 and "no gradebook at" in err and "mlcourse grade" in err
    (tmp_path / "gradebook.db").write_bytes(b"garbage" * 500)
    status, err = command("dashboard", str(tmp_path))
    assert status == 2 and "not a readable gradebook" in err
    status, err = command("dashboard", str(folder), "--host", "0.0.0.0")
    assert status == 2 and "refusing to listen on 0.0.0.0 without a token" in err


def test_a_gradebook_that_breaks_while_served_gets_a_page_that_says_so(client, folder):
    assert client.get("/").status_code == 200
    (folder / "gradebook.db-wal").unlink(missing_ok=True)
    (folder / "gradebook.db").write_bytes(b"garbage" * 500)
    page = client.get("/")
    assert page.status_code == 503 and "not a readable gradebook" in page.text


def test_mixed_grader_versions_within_a_lesson_are_pointed_out(client, folder):
    assert "grader versions" not in client.get("/").text  # each lesson has its own version: nothing to say
    with sqlite3.connect(folder / "gradebook.db") as db:
        learner = db.execute("SELECT learner FROM submissions WHERE lesson='06_interview_prep' LIMIT 1").fetchone()[0]
        for table in ("submissions", "grades", "answers"):
            db.execute(f"UPDATE {table} SET grader_version='mlcourse 0.0.9+old' WHERE learner=? AND lesson='06_interview_prep'",
                       (learner,))
    assert "06_interview_prep: the latest submissions were graded by 2 grader versions" in client.get("/").text


def test_open_book_names_a_missing_gradebook(tmp_path):
    with pytest.raises(DashboardError, match="no gradebook at"):
        open_book(tmp_path)


# --------------------------------------------------------------------------
# The figures SQLite adds up, and a review taken in without reading everything again
# --------------------------------------------------------------------------
def _could_not_be_graded(folder: Path, learner: str, lesson: str) -> None:
    """A latest submission with no exercise graded at all (the notebook did not open)."""
    from mlcourse.grading.discover import Submission
    from mlcourse.grading.results import Gradebook
    from mlcourse.grading.verdict import Graded

    sub = Submission(Path(f"{learner}/{lesson}.ipynb"), learner, lesson, sha256="f" * 64)
    with Gradebook(folder / "gradebook.db") as book:
        book.record(Graded(sub, [], [], "not a notebook", 0.1, "2026-12-31T00:00:00+00:00", "mlcourse test", "none"))


def test_the_figures_added_up_in_sqlite_match_the_latest_grades_counted_one_by_one(folder):
    _could_not_be_graded(folder, "learner003", "00_lifecycle_overview")
    book = open_book(folder)  # kept open: the ClassData asks it as the assertions go
    g = next(q["grade"] for q in load(book).review_queue())
    book.add_review(g.learner, g.lesson, g.exercise, 0.5, "short", "me")
    data = load(book)
    rows = book.rows(latest=True)  # the long export: each latest submission's grades, reviewed scores
    by_submission: dict[tuple, list[dict]] = {}
    for r in rows:
        by_submission.setdefault((r["learner"], r["lesson"]), []).append(r)
    assert set(by_submission) == set(data.latest)
    for lesson, exercises in data.exercises.items():
        submitted = [key for key in by_submission if key[1] == lesson]
        for ex_id, title, top in exercises:
            answers = [r for r in rows if r["exercise"] == ex_id]
            expected = dict.fromkeys(("passed", "failed", "error", "not attempted"), 0)
            for r in answers:
                expected[r["status"]] += 1
            expected["error"] += len(submitted) - len(answers)  # learner003's notebook: an error for each exercise
            assert data.status_counts(ex_id) == expected
            assert data.exercise_mean(ex_id) == pytest.approx(sum(r["score"] for r in answers) / len(answers))
            assert (title, top) == (answers[0]["title"], answers[0]["max"])
            assert sorted((x.learner, x.score, x.status, x.message) for x in data.grades[ex_id]) == sorted(
                (r["learner"], r["score"], r["status"], r["message"]) for r in answers)
        assert [e for e, _, _ in exercises] == list(dict.fromkeys(r["exercise"] for r in by_submission[submitted[0]]))
        assert dict((learner, score) for learner, score, _ in data.lesson_scores(lesson)) == pytest.approx(
            {learner: sum(r["score"] for r in by_submission[(learner, sub_lesson)]) for learner, sub_lesson in submitted})
    assert data.status_counts("overview.next_stage")["error"] >= 1
    assert data.exercise_mean(g.exercise) == pytest.approx(
        sum(r["score"] for r in rows if r["exercise"] == g.exercise) / sum(1 for r in rows if r["exercise"] == g.exercise))
    mine = data.latest_grades("learner003")
    assert {lesson: [(x.exercise, x.score) for x in grades] for lesson, grades in mine.items()} == {
        lesson: [(r["exercise"], r["score"]) for r in by_submission[("learner003", lesson)]]
        for learner, lesson in by_submission if learner == "learner003"}


def _pages(client: TestClient) -> dict[str, str]:
    return {url: client.get(url).text for url in ("/", "/learners?below=60", "/reviews", "/exercise?id=" + STAR)}


def test_a_review_saved_here_is_taken_in_without_reading_the_gradebook_again(client, folder):
    state = client.app.state.dashboard
    _pages(client)
    data = state.cached
    with open_book(folder) as book:
        g = [q["grade"] for q in load(book).review_queue() if not q["reviewed"]][0]
    form = client.get(f"/review?learner={g.learner}&lesson={g.lesson}&exercise={g.exercise}")
    body = {"csrf": _csrf(form.text), "learner": g.learner, "lesson": g.lesson, "exercise": g.exercise,
            "sha256": g.sha256, "score": "0.5", "comment": "", "reviewer": "Dr. Lee"}
    assert client.post("/review", data=body).status_code == 200
    after = _pages(client)
    assert state.cached is data  # taken in, not read again
    fresh = TestClient(create_app(folder), base_url="http://127.0.0.1")  # a dashboard that reads everything
    assert after == _pages(fresh)
    assert data.exercise_mean(STAR) != pytest.approx(sum(x.auto_score for x in data.grades[STAR]) / len(data.grades[STAR]))


def test_a_review_with_another_write_in_between_makes_the_dashboard_read_everything_again(folder):
    state = create_app(folder).state.dashboard
    data = state.data()
    before_mean = data.exercise_mean("overview.next_stage")
    g = next(q["grade"] for q in data.review_queue())
    store = state.book.add_review

    def a_grader_commits_first(*args, **kwargs):  # a grade stored by `mlcourse grade` while the review is
        with sqlite3.connect(folder / "gradebook.db") as grader:
            grader.execute("UPDATE grades SET score = 0, status = 'failed' WHERE exercise = 'overview.next_stage'")
        return store(*args, **kwargs)

    state.book.add_review = a_grader_commits_first
    assert state.review(g.learner, g.lesson, g.exercise, 1.0, "", "me").new_score == 1.0
    again = state.data()
    assert again is not data and before_mean > 0 and again.exercise_mean("overview.next_stage") == 0
    assert next(q for q in again.review_queue() if q["grade"].learner == g.learner)["grade"].score == 1.0
