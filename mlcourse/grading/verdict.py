"""Steps 3 and 4 of grading: run the rebuilt notebook in the sandbox, then judge.

For one submission, :class:`Grader`:

1. makes every exercise's inputs from a secret seed per learner, lesson and
   exercise (:mod:`.seeds`; the learner's process never sees it), so the same
   submission always gets the same grade;
2. runs the rebuilt notebook's cells one at a time in a fresh sandboxed child;
3. when a cell raises, times out, exits (``sys.exit``, ``os._exit``), crashes
   or prints too much, drops it: the exercises whose answer it holds score 0
   with the reason, an answer cell is replaced by the lesson's stub, and the
   notebook is replayed without it in a fresh child. A cell that did not
   compile, or raised before binding any variable, left the notebook as it
   was, so the same child goes on (see :func:`_left_no_trace`);
4. asks the child to probe each remaining exercise (plain data back, never
   pickles, never printed output) and judges that data on the grader's side,
   in a worker bounded in time and memory (:mod:`.judge`), with the very same :class:`~mlcourse.exercises.engine.Exercise`
   definitions the learner's check cells use. The child is told each
   exercise's spec only (names, never the answer key, which it cannot see:
   :func:`mlcourse.exercises.answer_key_paths`); whether an answer takes a
   forbidden shortcut is decided here, from the rebuild's cells and the
   probe's run-time evidence (see :mod:`mlcourse.exercises.guard`).

Examples
--------
>>> from mlcourse.grading.sandbox import Limits, Zygote
>>> with Zygote() as z:  # doctest: +SKIP
...     graded = Grader(z, Limits(cell_timeout=10)).grade(submission)
...     graded.score, graded.max_score
(10.0, 10.0)
"""
from __future__ import annotations

import hashlib
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mlcourse.exercises.engine import ERROR, NOT_ATTEMPTED, Exercise, Result, TestResult
from mlcourse.exercises.plain import to_plain
from mlcourse.grading import judge, seeds
from mlcourse.grading.discover import Submission
from mlcourse.grading.rebuild import ADDED, ANSWER, Plan, PlannedCell, load_template, rebuild
from mlcourse.grading.sandbox import Limits, Reply, SandboxError, Session, Zygote, session_settings, warn_once


@dataclass
class Graded:
    """Everything known about one graded submission.

    ``results`` are the exercises' :class:`Result` objects in lesson order;
    ``notes`` are submission-level remarks for the learner (skipped cells,
    recognised cells). ``error`` is set when nothing could be graded (a broken
    file, a lesson without a template).
    """

    submission: Submission
    results: list[Result] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    graded_at: str = ""
    grader_version: str = ""
    isolation: str = ""
    replays: int = 0
    #: Reviews in force, by exercise (set when the gradebook re-renders a reviewed submission).
    reviews: dict[str, Any] = field(default_factory=dict)
    # Where the time went (seconds): starting children (of which "setup" is
    # the children's own set-up: filesystem, limits, privileges, filter),
    # running cells, probing in the child, judging here; "peak_mb" where a
    # cgroup measured it. For the benchmark and the curious.
    timing: dict[str, float] = field(
        default_factory=lambda: {
            "start": 0.0, "setup": 0.0, "cells": 0.0, "probes": 0.0, "judge": 0.0, "child_cpu": 0.0, "grader_cpu": 0.0,
        }
    )

    @property
    def score(self) -> float:
        return round(sum(r.score for r in self.results), 4)

    @property
    def max_score(self) -> float:
        return round(sum(r.points for r in self.results), 4)

    @property
    def learner(self) -> str:
        return self.submission.learner

    @property
    def lesson(self) -> str:
        return self.submission.lesson


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


# --------------------------------------------------------------------------
# Grader version: changes whenever what decides a grade changes
# --------------------------------------------------------------------------
_versions: dict[str, str] = {}


#: The exercise engine's files that decide a grade (beside each lesson's own files).
ENGINE_FILES = ("engine.py", "plain.py", "compare.py", "guard.py", "probes.py", "protocol.py", "catalog.py")


def grader_version(lesson: str) -> str:
    """``mlcourse <version>+<hash>``: the hash covers the grading code, the
    exercise engine, every file of the lesson's exercise package (probes and
    answer key alike) and its template, so a change to any of them re-grades
    submissions already in the gradebook.
    """
    if lesson in _versions:
        return _versions[lesson]
    import mlcourse
    from mlcourse.exercises import engine, lesson_files, notebook

    h = hashlib.sha256()
    here = Path(__file__).parent
    folder = Path(engine.__file__).parent
    files = sorted(here.glob("*.py")) + [folder / n for n in ENGINE_FILES]
    try:
        files += lesson_files(lesson)
        files.append(notebook.lesson_path(lesson, "notebooks"))
    except Exception:  # noqa: BLE001 - an unknown lesson still gets a version
        pass
    for f in files:
        # The path within its folder, so probes.py and checks.py of two lessons differ.
        label = f"{f.parent.name}/{f.name}".encode()
        try:
            h.update(label + b"\0" + f.read_bytes())
        except OSError:
            h.update(label + b"\0missing")
    version = f"mlcourse {mlcourse.__version__}+{h.hexdigest()[:10]}"
    _versions[lesson] = version
    return version


# --------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------
def failure_reason(reply: Reply, limits: Limits) -> tuple[str, str]:
    """Why a cell or a probe failed, for the learner, and its traceback."""
    if reply.kind == "ok":
        m = reply.message
        ename, evalue = str(m.get("ename", "Exception")), str(m.get("evalue", ""))
        tb = str(m.get("traceback", ""))
        if m.get("before_exec"):
            return f"does not run: {ename}: {evalue}", tb
        if ename == "SystemExit":
            return "called sys.exit() (or exit()), which would stop the whole notebook", tb
        if ename == "MemoryError" or m.get("memory") is True:
            return f"ran out of memory (MemoryError; the limit is {limits.memory_mb} MB)", tb
        if ename == "KeyboardInterrupt":
            return "raised KeyboardInterrupt", tb
        return f"raised {ename}: {evalue}", tb
    if reply.kind in ("timeout", "budget"):
        return f"ran for more than {limits.cell_timeout:g} s (the time limit) and was stopped", ""
    if reply.kind == "output":
        return f"printed more than {limits.output_mb:g} MB (the output limit) and was stopped", ""
    if reply.kind == "oversize":
        why = f": {reply.detail}" if reply.detail else ""
        return f"sent the grader more data than it reads, or forged its messages{why}", ""
    return f"stopped the notebook: {reply.detail}", ""


class Grader:
    """Grade submissions one at a time (one Grader per worker thread is fine).

    Parameters
    ----------
    zygote : Zygote
        The fork server children come from (shared between threads).
    limits : Limits
        Time, memory, file, output limits per submission.
    hide : sequence of str
        Paths inside the children's allow-listed view to cover; the answer key
        is always added (see :func:`mlcourse.exercises.answer_key_paths`). With
        ``hardened=False``: everything to hide from the host's view (the output
        folder, the submissions).
    namespaces : bool
        Use Linux namespaces when the kernel allows (False only for tests of
        the fallback).
    workroot : str or None
        Where children's fallback working folders are made.
    secret : bytes or None
        The grader secret the seeds are derived from (:mod:`.seeds`); None
        draws one for this Grader (stable for its lifetime only).
    hardened : bool
        The isolation of issue 11 (a session of its own, an allow-listed
        filesystem, IPC and UTS namespaces, the cgroup, seccomp, an
        unprivileged user); False for the isolation before it (benchmark).
    cgroups : Cgroups or None
        Where each run's cgroup is made (:mod:`.cgroups`); None: per-process
        limits only.
    """

    def __init__(
        self,
        zygote: Zygote,
        limits: Limits,
        *,
        hide: Sequence[str] = (),
        namespaces: bool = True,
        workroot: str | None = None,
        secret: bytes | None = None,
        hardened: bool = True,
        cgroups: Any = None,
    ) -> None:
        from mlcourse.exercises import answer_key_paths

        refuse_graded_edition()
        self.zygote = zygote
        self.limits = limits
        self.hide = [*(str(h) for h in hide), *(str(p) for p in answer_key_paths())]
        self.namespaces = namespaces
        self.workroot = workroot
        self.secret = secret if secret is not None else secrets.token_bytes(32)
        self.hardened = hardened
        self.cgroups = cgroups
        self.judges = judge.shared(limits)
        self._key_lock = threading.Lock()
        self.key_problems: list[str] | None = None  # None until a child runs without namespaces

    def protect_answer_key(self) -> list[str]:
        """Make the answer key private (once), for children without namespaces; what could not be done.

        Called when a child reports the fallback, before any learner code
        runs in it: then file modes are all that keeps the answer key from
        the child, which runs as an unprivileged user (see
        :func:`mlcourse.exercises.protect_answer_key`).
        """
        from mlcourse.exercises import protect_answer_key

        with self._key_lock:
            if self.key_problems is None:
                self.key_problems = protect_answer_key()
            return self.key_problems

    # -- the whole submission ------------------------------------------------
    def grade(self, sub: Submission) -> Graded:
        """Grade one submission. Never raises for anything the submission does."""
        started = time.monotonic()
        cpu0 = time.thread_time()
        graded = Graded(submission=sub, graded_at=_now(), grader_version=grader_version(sub.lesson))
        if sub.note:
            graded.notes.append(sub.note)
        try:
            if sub.error:
                self._unreadable(graded, sub.error)
            else:
                self._grade(graded)
        except SandboxError as exc:
            self._grader_failed(graded, str(exc))
        graded.seconds = round(time.monotonic() - started, 3)
        graded.timing["grader_cpu"] = time.thread_time() - cpu0
        return graded

    def _unreadable(self, graded: Graded, error: str) -> None:
        graded.error = error
        try:
            exercises = _exercises(graded.lesson)
        except Exception:  # noqa: BLE001 - not a lesson name: no exercises to list
            exercises = []
        message = f"Your notebook could not be graded: {error}"
        graded.results = [_zero(ex, ERROR, message) for ex in exercises]

    def _grader_failed(self, graded: Graded, why: str) -> None:
        # The grader's own failure, not the learner's: say so plainly.
        graded.error = f"grading failed: {why}"
        done = {r.exercise for r in graded.results}
        try:
            exercises = _exercises(graded.lesson)
        except Exception:  # noqa: BLE001
            exercises = []
        graded.results += [
            _zero(ex, ERROR, f"The grader failed on this submission ({why}); please tell your instructor.")
            for ex in exercises
            if ex.id not in done
        ]
        order = {ex.id: i for i, ex in enumerate(exercises)}
        graded.results.sort(key=lambda r: order.get(r.exercise, 0))

    def _grade(self, graded: Graded) -> None:
        sub = graded.submission
        try:
            exercises = _exercises(sub.lesson)
            template = load_template(sub.lesson)
        except Exception as exc:  # noqa: BLE001 - an installation problem, reported per submission
            raise SandboxError(f"lesson {sub.lesson} cannot be graded here: {exc}") from None
        assert sub.notebook is not None
        plan = rebuild(template, sub.notebook, exercises)
        graded.notes += plan.notes
        results: dict[str, Result] = {}
        for ex_id, message in plan.missing.items():
            ex = next(e for e in exercises if e.id == ex_id)
            results[ex_id] = _zero(ex, NOT_ATTEMPTED, message)

        # Inputs from a secret seed per learner, lesson and exercise: an answer
        # hard-coded to what the notebook's own check showed cannot pass, and
        # grading the same notebook again draws the same inputs.
        inputs: dict[str, list] = {}
        drawn: dict[str, int] = {}
        plain_inputs: dict[str, Any] = {}
        specs: list[dict] = []
        for ex in exercises:
            try:
                specs.append(ex.spec())  # what the child is told: names, never the answer key
                if ex.id in results:
                    continue
                drawn[ex.id] = seeds.seed(self.secret, sub.learner, sub.lesson, ex.id)
                inputs[ex.id] = ex.make_inputs(drawn[ex.id])
                plain_inputs[ex.id] = to_plain(inputs[ex.id])
            except Exception as exc:  # noqa: BLE001 - a bug in the definition, not the answer
                results[ex.id] = _zero(ex, ERROR, f"The grader could not prepare this exercise ({type(exc).__name__}: {exc}).")

        run = _Run(self, graded, plan, results, exercises, drawn, plain_inputs, specs)
        run.until_done()
        graded.results = [results[ex.id] for ex in exercises]


GRADED_EDITION = (
    "this is the graded learner edition of mlcourse: it holds no answer key (only the exercises' public tests), "
    "so it cannot grade; grade with the instructor's full installation (pip install mlcourse, or the course repository)"
)


def refuse_graded_edition() -> None:
    """Raise SandboxError in the graded learner edition, which holds no answer key to grade with."""
    from mlcourse.exercises import edition

    if edition.installed():
        raise SandboxError(GRADED_EDITION)


def _left_no_trace(reply: Reply) -> bool:
    """Whether a failed cell can be dropped without replaying the notebook.

    True when the cell did not compile (nothing ran), or when it raised an
    ordinary exception before binding any name: the notebook's variables are
    exactly what they were before it. Objects a cell mutated in place before
    raising are the one thing this does not see; a cell that exits, times
    out, crashes or prints too much always means a fresh process.
    """
    if reply.kind != "ok":
        return False
    m = reply.message
    if m.get("before_exec") is True:
        return True
    return m.get("changed") is False and m.get("ename") not in ("SystemExit", "KeyboardInterrupt")


def probe_modules(specs: list[dict]) -> dict[str, str | None]:
    """The lesson probe modules the specs name, with the file of each (for one the fork server has not loaded)."""
    names = sorted({str(t["probe"]).rpartition(".")[0] for spec in specs for t in spec["tests"]})
    return {n: getattr(sys.modules.get(n), "__file__", None) for n in names if n != "mlcourse.exercises.probes"}


def _exercises(lesson: str) -> list[Exercise]:
    from mlcourse.exercises import exercises_of

    return exercises_of(lesson)


def _zero(ex: Exercise, status: str, message: str, traceback: str = "") -> Result:
    tests = [TestResult("grading", status if status != NOT_ATTEMPTED else NOT_ATTEMPTED, message, traceback)]
    return Result(ex.id, ex.title, ex.points, status, 0.0, message, tests if status == ERROR else [])


class _Run:
    """The replay loop for one submission (see the module docstring)."""

    def __init__(
        self,
        grader: Grader,
        graded: Graded,
        plan: Plan,
        results: dict[str, Result],
        exercises: list[Exercise],
        drawn: dict[str, int],
        plain_inputs: dict[str, Any],
        specs: list[dict],
    ) -> None:
        self.grader = grader
        self.limits = grader.limits
        self.graded = graded
        self.plan = plan
        self.cells: list[PlannedCell | None] = list(plan.cells)
        self.results = results
        self.exercises = exercises
        self.drawn = drawn
        self.plain_inputs = plain_inputs
        self.specs = specs
        self.deadline = time.monotonic() + self.limits.total_timeout

    def pending(self) -> list[Exercise]:
        return [ex for ex in self.exercises if ex.id not in self.results]

    def until_done(self) -> None:
        replays = 0
        while self.pending():
            if time.monotonic() >= self.deadline:
                self._stop(f"grading ran out of time ({self.limits.total_timeout:g} s for the whole notebook)")
                return
            if replays > self.limits.max_replays:
                self._stop(f"too many failing cells: grading stopped after {self.limits.max_replays} fresh starts")
                return
            finished = self._attempt()
            if finished:
                return
            replays += 1
            self.graded.replays = replays

    def _stop(self, why: str) -> None:
        self.graded.notes.append(f"Grading stopped: {why}.")
        for ex in self.pending():
            self.results[ex.id] = _zero(ex, ERROR, f"Not graded: {why}.")

    def _settings(self, workdir: str, cgroup: Any) -> dict:
        hardened = self.grader.hardened
        return session_settings(
            exercises=self.specs,
            probe_modules=probe_modules(self.specs),
            workdir=workdir,
            # With the allow-list the run's own folder is not even in view.
            hide=list(self.grader.hide) if hardened else [*self.grader.hide, workdir],
            namespaces=self.grader.namespaces,
            hardened=hardened,
            cgroup=cgroup.procs if cgroup is not None else None,
        )

    def _attempt(self) -> bool:
        """One fresh child: run the cells, probe what is left. True when done."""
        workdir = tempfile.mkdtemp(prefix="mlcourse-grade-", dir=self.grader.workroot)
        cgroups = self.grader.cgroups
        cgroup = cgroups.new() if cgroups is not None and self.grader.hardened else None
        try:
            session = Session(self.grader.zygote, self._settings(workdir, cgroup), self.limits, self.deadline, cgroup)
            t0 = time.perf_counter()
            session.start()
            self.graded.timing["start"] += time.perf_counter() - t0
            self.graded.timing["setup"] += sum(v for v in session.hello.get("setup_ms", {}).values() if isinstance(v, (int, float))) / 1000
            try:
                self._note_isolation(session.hello)
                if not self._run_cells(session):
                    return False
                return self._probe_all(session)
            finally:
                session.close()
                self.graded.timing["child_cpu"] += session.cpu or 0.0
        finally:
            if cgroup is not None:
                peak = cgroup.peak_mb()
                if peak is not None:
                    self.graded.timing["peak_mb"] = max(self.graded.timing.get("peak_mb", 0.0), peak)
                cgroup.close()
            shutil.rmtree(workdir, ignore_errors=True)

    def _note_isolation(self, hello: dict) -> None:
        for problem in hello.get("problems", []):
            warn_once(f"isolation:{problem}", f"sandbox: {problem}")
        if hello.get("isolation") == "namespaces":
            self.graded.isolation = "namespaces"
        else:
            self.graded.isolation = "fallback"
            warn_once(
                "fallback",
                f"Linux namespaces are not available ({hello.get('reason')}); grading goes on with the resource "
                "limits only: the learner's code can read and write what the grading user can, and use the network.",
            )
            for problem in self.grader.protect_answer_key():
                warn_once(f"answer key:{problem}", f"answer key: {problem}")

    # -- cells ----------------------------------------------------------------
    def _run_cells(self, session: Session) -> bool:
        """Run every cell; on a failure drop the culprit and return False (replay)."""
        last_ok: int | None = None
        i = 0
        while i < len(self.cells):
            cell = self.cells[i]
            if cell is None:
                i += 1
                continue
            reply = session.request({"op": "cell", "source": cell.source})
            self.graded.timing["cells"] += reply.seconds
            if reply.kind == "ok" and reply.message.get("status") == "ok":
                last_ok = i
                i += 1
                continue
            if reply.kind == "budget":
                self._stop(f"the notebook ran out of time ({self.limits.total_timeout:g} s in all)")
                return True
            culprit = i
            if reply.kind == "died" and not reply.acked and last_ok is not None:
                # The child died before starting this cell: something an
                # earlier cell left behind (a timer, a thread) killed it.
                culprit = last_ok
            reason, tb = failure_reason(reply, self.limits)
            self._drop(culprit, reason, tb)
            if culprit == i and _left_no_trace(reply):
                continue  # same child: the stand-in (if any) runs next
            return False
        return True

    def _drop(self, index: int, reason: str, traceback: str) -> None:
        cell = self.cells[index]
        assert cell is not None
        what = cell.describe()
        self.graded.notes.append(f"{what[0].upper()}{what[1:]} was skipped: it {reason}.")
        if cell.origin == ANSWER:
            # The last answer cell for an exercise decides: a failed draft
            # followed by another answer cell for it costs nothing.
            later = {e for c in self.cells[index + 1 :] if c is not None and c.origin == ANSWER for e in c.exercises}
            final = [e for e in cell.exercises if e not in later]
            for ex_id in final:
                if ex_id not in self.results:
                    ex = next(e for e in self.exercises if e.id == ex_id)
                    self.results[ex_id] = _zero(
                        ex,
                        ERROR,
                        f"Your answer cell ({cell.where}) {reason}. It was skipped, so nothing it defines was graded.",
                        traceback,
                    )
            stand_in = self.plan.stub_for(final)
            self.cells[index] = stand_in if stand_in.source.strip() else None
        else:
            self.cells[index] = None

    # -- probes -----------------------------------------------------------------
    def _probe_all(self, session: Session) -> bool:
        for ex in self.pending():
            reply = session.request({"op": "probe", "exercise": ex.id, "inputs": self.plain_inputs[ex.id]})
            self.graded.timing["probes"] += reply.seconds
            if reply.kind == "ok":
                t0 = time.perf_counter()
                self.results[ex.id] = self._judge(ex, reply.message)
                self.graded.timing["judge"] += time.perf_counter() - t0
                continue
            if reply.kind == "budget":
                self._stop(f"the notebook ran out of time ({self.limits.total_timeout:g} s in all)")
                return True
            reason, _ = failure_reason(reply, self.limits)
            name = ex.answer.name
            self.results[ex.id] = _zero(ex, ERROR, f"Checking `{name}` on fresh inputs {reason}.")
            self.graded.notes.append(f"Checking {ex.id} {reason}; the notebook was replayed for the other exercises.")
            return False  # the child is gone: replay for the rest
        return True

    def _sources(self, ex: Exercise) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The learner's cells from the trusted rebuild: this exercise's answer cells, and the others."""
        answer, other = [], []
        for cell in self.plan.cells:
            if cell.origin == ANSWER and ex.id in cell.exercises:
                answer.append((cell.where, cell.source))
            elif cell.origin in (ANSWER, ADDED):
                other.append((cell.where, cell.source))
        return answer, other

    def _judge(self, ex: Exercise, message: dict) -> Result:
        if "probe" in message:
            try:
                # The shortcut check reads the rebuild's sources, never anything the child sent.
                answer, other = self._sources(ex) if ex.forbid else ([], [])
                return self.grader.judges.judge(
                    ex, self.graded.lesson, self.drawn[ex.id], message["probe"],
                    answer_sources=answer, other_sources=other, deadline=self.deadline,
                )
            except Exception as exc:  # noqa: BLE001 - judge() should never raise; be sure
                return _zero(ex, ERROR, f"Your answer could not be checked ({type(exc).__name__}).")
        why = str(message.get("error", "no answer"))[:300]
        return _zero(ex, ERROR, f"Your answer could not be checked: {why}")


__all__ = ["Graded", "Grader", "failure_reason", "grader_version"]
