"""Step 3 of the dashboard: the pages, the review form, the exports, the guard.

``mlcourse dashboard GRADED_DIR [--host 127.0.0.1] [--port 8765] [--token T] [--reviewer NAME]``

Pages (all ``GET``, HTML rendered here; the plots are inline SVG):

* ``/``: the class view, lesson by lesson: each exercise's status bar, each
  lesson's score distribution and resubmissions, and a filter to one exercise;
* ``/exercise?id=``: one exercise: its statuses, score distribution and most
  frequent mistakes; ``/mistake?exercise=&key=``: the learners of one mistake;
* ``/learners?below=50``: learners below a share of the points;
  ``/learner?id=``: one learner's latest grades and resubmission history;
* ``/reviews``: answers flagged for review; ``/review?learner=&lesson=&exercise=``
  shows one, and ``POST /review`` stores a score and comment (the only write);
* ``/export.csv`` and ``/export.csv?wide=1``: the gradebook exports, reviewed scores.

Learner text (ids, answers, messages) is escaped everywhere (Jinja2 autoescape).
Bound to this machine (``127.0.0.1``, ``localhost``, ``::1``) no token is
needed, and only those host names are answered (a web page elsewhere cannot
reach it through DNS rebinding). Bound to any other address it refuses to
start without a token; with one, every request must carry it (``?token=``
once, then a cookie; or ``Authorization: Bearer``). A review form carries a
per-process secret, so no other site can post one.
"""
from __future__ import annotations

import getpass
import hmac
import itertools
import os
import secrets
import sqlite3
import sys
import threading
import urllib.parse
from pathlib import Path
from typing import Any

# FastAPI reads the handlers' annotations (``request: Request``) from this module's names.
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from markupsafe import Markup

from mlcourse.dashboard import svg
from mlcourse.dashboard.data import ClassData, DashboardError, known_mistakes, load, open_book
from mlcourse.grading.results import GRADEBOOK, GradebookError, Review, ReviewError, apply_reviews

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
DEFAULT_PORT = 8765
COOKIE = "mlcourse_dashboard"
TOKEN_ENV = "MLCOURSE_DASHBOARD_TOKEN"
ICONS = {"passed": "✅", "failed": "❌", "error": "💥", "not attempted": "⏳"}


class State:
    """The graded folder, and its gradebook in memory, read again whenever its files change.

    The state keeps one connection open, shared by every request's thread
    under :attr:`lock`: the pages' queries, the review form and the reviews
    stored all go through it. Being open, it also keeps the files still
    between changes (SQLite folds the write-ahead log into the database when
    the last connection closes, which would look like a change), and it tells
    whether anyone else has written in the meantime
    (:attr:`~mlcourse.grading.results.Gradebook.data_version`): a review it
    stores is then taken into the state in memory rather than read again.
    After a change it opens a new connection (the file may have been replaced);
    the old one closes when the last page still reading it is done.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / GRADEBOOK
        self.lock = threading.RLock()
        self.key: tuple | None = None
        self.cached: ClassData | None = None
        # Opened now, so a missing or unreadable gradebook fails with its message rather than on the first page.
        self.book = open_book(self.folder, shared=True)
        self.schema = self.book.schema_version
        # The exercise definitions (for grouping failures by known mistake) take a second to import: start now.
        threading.Thread(target=known_mistakes, name="dashboard-known-mistakes", daemon=True).start()

    def _files(self) -> tuple:
        out = []
        for suffix in ("", "-wal"):
            try:
                st = os.stat(f"{self.path}{suffix}")
                out.append((st.st_mtime_ns, st.st_size, st.st_ino))
            except OSError:
                out.append(None)
        return tuple(out)

    def _current(self) -> ClassData:
        """The state of the gradebook now (the caller holds the lock)."""
        key = self._files()
        if self.cached is None or key != self.key:
            # Opened before the old one is let go, so that its closing changes nothing on disk.
            self.book = open_book(self.folder, shared=True)
            self.cached = load(self.book, self.lock)
            self.key = key
        return self.cached

    def answer(self, learner: str, lesson: str, exercise: str) -> dict | None:
        """:meth:`~mlcourse.grading.results.Gradebook.latest_answer`, through the state's connection."""
        with self.lock:
            self._current()
            try:
                return self.book.latest_answer(learner, lesson, exercise)
            except sqlite3.DatabaseError as exc:
                raise DashboardError(f"cannot read the gradebook {self.path}: {exc}") from None

    def data(self) -> ClassData:
        with self.lock:
            return self._current()

    def review(self, learner: str, lesson: str, exercise: str, score: float, comment: str, reviewer: str,
               sha256: str | None = None) -> Review:
        """Store a review (:meth:`~mlcourse.grading.results.Gradebook.add_review`) and take it into the
        state in memory when it is the only change: the next page need not read the gradebook again.

        It is the only change when the files are those of the state in memory
        and no other connection commits between the two looks at its data
        version (which this connection's own commit leaves as it is). Otherwise
        the next page reads the gradebook again, as after any change.
        """
        with self.lock:
            data = self._current()
            version, files = self.book.data_version, self._files()  # in this order: a commit between changes the files
            saved = self.book.add_review(learner, lesson, exercise, score, comment, reviewer, sha256=sha256)
            after = self._files()
            if files == self.key and self.book.data_version == version and data.apply_review(saved):
                self.key = after
            return saved

    def write_feedback(self, learner: str, lesson: str, sha256: str) -> None:
        """Write a reviewed submission's feedback again (:func:`~mlcourse.grading.results.apply_reviews`)."""
        with self.lock:
            apply_reviews(self.folder, self.book, learner, lesson, sha256)


def _templates():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
                      autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    return env


def create_app(folder: Path, *, token: str | None = None, reviewer: str | None = None, local: bool = True,
               threshold: float = 0.5) -> Any:
    """The dashboard's FastAPI app over the graded folder ``folder``."""
    state = State(folder)
    env = _templates()
    csrf = secrets.token_urlsafe(24)
    default_reviewer = reviewer or _user()
    app = FastAPI(title="mlcourse dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.dashboard = state

    def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        try:
            data = state.data()
            waiting = data.waiting()
            banners = _banners(data)
        except DashboardError as exc:
            data, waiting, banners = None, 0, [str(exc)]
        page = env.get_template(name).render(folder=state.folder, waiting=waiting, banners=banners,
                                             threshold=context.pop("threshold", threshold), colours=svg.COLOURS,
                                             icons=ICONS, **context)
        return HTMLResponse(page, status_code=status)

    def problem(heading: str, text: str, status: int) -> HTMLResponse:
        return render("message.html", status=status, heading=heading, text=text, page="")

    @app.middleware("http")
    async def guard(request: Request, call_next):
        host = (request.headers.get("host") or "").rsplit(":", 1)[0].strip("[]")
        if token is None and local and host not in LOCAL_HOSTS:
            return HTMLResponse(f"This dashboard answers on {', '.join(LOCAL_HOSTS)} only.", status_code=421)
        if token is not None:
            given = request.query_params.get("token") or request.cookies.get(COOKIE) or ""
            auth = request.headers.get("authorization", "")
            if auth.lower().startswith("bearer "):
                given = auth[7:].strip()
            if not hmac.compare_digest(given.encode(), token.encode()):
                return HTMLResponse(
                    "<h1>This dashboard needs its token</h1><p>Open the address <code>mlcourse dashboard</code> printed "
                    "(it ends in <code>?token=...</code>).</p>", status_code=401)
            if "token" in request.query_params:  # once: keep it in a cookie, and out of the address bar
                rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
                target = request.url.path + ("?" + urllib.parse.urlencode(rest) if rest else "")
                response = RedirectResponse(target, status_code=303)
                response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
                return response
        try:
            return await call_next(request)
        except DashboardError as exc:
            return problem("The gradebook cannot be shown", str(exc), 503)

    @app.get("/", response_class=HTMLResponse)
    def class_view() -> HTMLResponse:
        data = state.data()
        lessons = []
        for lesson in data.lessons:
            exercises = []
            for ex_id, title, top in data.exercises.get(lesson, []):
                counts = data.status_counts(ex_id)
                total = sum(counts.values())
                exercises.append({"id": ex_id, "title": title, "max": top, "bar": Markup(svg.status_bar(counts)),
                                  "passed": f"{100 * counts['passed'] / total:.0f}%" if total else "-",
                                  "mean": data.exercise_mean(ex_id)})
            scores = data.lesson_scores(lesson)
            top = max((t for _, _, t in scores), default=0.0)
            lessons.append({"lesson": lesson, "exercises": exercises, "summary": data.lesson_summary(lesson),
                            "histogram": Markup(svg.histogram([s for _, s, _ in scores], top or 1.0, label="score")),
                            "resub": data.resubmissions(lesson)})
        return render("class.html", page="class", lessons=lessons, learners=len(data.learners))

    @app.get("/exercise", response_class=HTMLResponse)
    def exercise(id: str = "") -> HTMLResponse:
        data = state.data()
        lesson = data.lesson_of(id)
        if lesson is None:
            return problem("No such exercise", f"The gradebook has no grade for an exercise {id!r}.", 404)
        top = next(m for e, _, m in data.exercises[lesson] if e == id)
        counts = data.status_counts(id)
        return render("exercise.html", page="class", exercise=id, lesson=lesson, title=data.title_of(id), max=top,
                      counts=counts, bar=Markup(svg.status_bar(counts, width=420, height=22)),
                      histogram=Markup(svg.histogram(data.exercise_scores(id), top or 1.0, bins=min(10, max(2, int(top * 2))))),
                      mistakes=data.mistakes(id)[:15])

    @app.get("/mistake", response_class=HTMLResponse)
    def mistake(exercise: str = "", key: str = "") -> HTMLResponse:
        data = state.data()
        found, grades = data.mistake(exercise, key)
        if found is None:
            return problem("No such mistake", "No latest answer of this exercise fails this way any more "
                           "(the learners may have resubmitted): go back to the exercise.", 404)
        return render("mistake.html", page="class", exercise=exercise, mistake=found, grades=grades)

    @app.get("/learners", response_class=HTMLResponse)
    def learners(below: float = 100 * threshold) -> HTMLResponse:
        data = state.data()
        share = min(max(below, 0.0), 100.0) / 100
        return render("learners.html", page="learners", rows=data.below(share), threshold=share, lessons=data.lessons)

    @app.get("/learner", response_class=HTMLResponse)
    def learner(id: str = "") -> HTMLResponse:
        data = state.data()
        history = data.history(id)
        if not history:
            return problem("No such learner", f"The gradebook has no submission of {id!r}.", 404)
        grades = data.latest_grades(id)
        latest = [{"lesson": lesson, "total": sum(g.score for g in grades.get(lesson, [])), "max": s.max,
                   "grades": grades.get(lesson, []), "graded_at": s.graded_at}
                  for lesson in data.lessons if (s := data.latest.get((id, lesson)))]
        points = [(s.graded_at, s.lesson, s.score / s.max if s.max else 0.0) for s in history]
        return render("learner.html", page="learners", learner=id, latest=latest, history=history,
                      timeline=Markup(svg.timeline(points, data.lessons)))

    @app.get("/reviews", response_class=HTMLResponse)
    def reviews() -> HTMLResponse:
        queue = state.data().review_queue()
        done = sum(1 for q in queue if q["reviewed"])
        return render("reviews.html", page="reviews", queue=queue, done=done)

    def review_page(learner: str, lesson: str, exercise: str, *, status: int = 200, saved: str = "", problem_text: str = "",
                    form: dict | None = None) -> HTMLResponse:
        try:
            found = state.answer(learner, lesson, exercise)
        except DashboardError as exc:
            return problem("The gradebook cannot be shown", str(exc), 503)
        if found is None:
            return problem("No such answer", f"{learner} has no graded answer to {exercise} in {lesson}.", 404)
        result = found["result"] or {}
        last = found["reviews"][-1] if found["reviews"] else None
        form = form or {"score": f"{last.new_score:g}" if last else f"{found['score']:g}",
                        "comment": last.comment if last else "", "reviewer": default_reviewer}
        return render("review.html", status=status, page="reviews", learner=learner, lesson=lesson, exercise=exercise,
                      title=found["title"], answer=found["answer"], check_status=found["status"],
                      auto_score=float(found["score"]), points=float(found["max"]), tests=result.get("tests", []),
                      reviews=found["reviews"], sha256=found["sha256"], csrf=csrf, saved=saved, problem=problem_text,
                      form_score=form["score"], form_comment=form["comment"], reviewer=form["reviewer"])

    @app.get("/review", response_class=HTMLResponse)
    def review(learner: str = "", lesson: str = "", exercise: str = "", saved: str = "") -> HTMLResponse:
        return review_page(learner, lesson, exercise, saved=saved)

    @app.post("/review", response_class=HTMLResponse)
    async def save_review(request: Request) -> Response:
        fields = {k: v[-1] for k, v in urllib.parse.parse_qs((await request.body()).decode("utf-8", "replace"),
                                                             keep_blank_values=True).items()}
        if not hmac.compare_digest(fields.get("csrf", "").encode(), csrf.encode()):
            return problem("Review not saved", "This form is out of date (the dashboard was restarted): "
                           "reload the page and submit again.", 403)
        learner, lesson, exercise = fields.get("learner", ""), fields.get("lesson", ""), fields.get("exercise", "")
        form = {"score": fields.get("score", ""), "comment": fields.get("comment", ""),
                "reviewer": fields.get("reviewer", "") or default_reviewer}
        try:
            score = float(form["score"])
        except ValueError:
            return review_page(learner, lesson, exercise, status=400, form=form,
                               problem_text=f"The score {form['score']!r} is not a number: nothing was saved.")
        try:
            saved = state.review(learner, lesson, exercise, score, form["comment"], form["reviewer"],
                                 sha256=fields.get("sha256") or None)
            state.write_feedback(learner, lesson, saved.sha256)
        except ReviewError as exc:
            return review_page(learner, lesson, exercise, status=400, form=form, problem_text=f"{exc}: nothing was saved.")
        except (GradebookError, DashboardError) as exc:
            return review_page(learner, lesson, exercise, status=503, form=form, problem_text=str(exc))
        except OSError as exc:  # the review is stored; the learner's files could not be written again
            return review_page(learner, lesson, exercise, status=500, form=form,
                               problem_text=f"The review is saved, but feedback.md could not be written ({exc}).")
        note = f"{saved.new_score:g} / {saved.max:g} (was {saved.old_score:g}) by {saved.reviewer}; feedback.md updated"
        query = urllib.parse.urlencode({"learner": learner, "lesson": lesson, "exercise": exercise, "saved": note})
        return RedirectResponse(f"/review?{query}", status_code=303)

    @app.get("/export.csv")
    def export(wide: int = 0) -> Response:
        data = state.data()
        media, name = "text/csv; charset=utf-8", "grades-wide.csv" if wide else "grades.csv"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        if wide:  # one row per learner: written whole
            return Response(data.export_csv(wide=True), media_type=media, headers=headers)
        chunks = data.export_chunks()
        first = next(chunks)  # read now, so that a gradebook that cannot be read gets its page, not half a file
        return StreamingResponse(itertools.chain([first], chunks), media_type=media, headers=headers)

    return app


def _banners(data: ClassData) -> list[str]:
    """Warnings over every page: a lesson whose latest grades come from several grader versions."""
    out = []
    for lesson in data.lessons:
        versions = data.grader_versions(lesson)
        if len(versions) > 1:
            out.append(f"{lesson}: the latest submissions were graded by {len(versions)} grader versions "
                       f"({', '.join(versions)}); a check may have changed between them, so grade again with --force "
                       "to bring them all to this installation's.")
    return out


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name: a neutral default
        return "instructor"


def serve(folder: Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT, token: str | None = None,
          reviewer: str | None = None, threshold: float = 0.5) -> int:
    """Run the dashboard until interrupted; refuse a non-local address without a token."""
    import uvicorn

    from mlcourse.errors import CLIError

    token = token or os.environ.get(TOKEN_ENV) or None
    local = host in LOCAL_HOSTS
    if not local and not token:
        raise CLIError(
            f"refusing to listen on {host} without a token: anyone who can reach it could read every learner's grades "
            f"and change scores. Add --token (or set ${TOKEN_ENV}), or keep the default --host 127.0.0.1"
        )
    try:
        app = create_app(folder, token=token, reviewer=reviewer, local=local, threshold=threshold)
    except DashboardError as exc:
        raise CLIError(str(exc)) from None
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    print(f"mlcourse dashboard: {folder} on {url}  (Ctrl+C stops it)", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0
