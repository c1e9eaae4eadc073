"""Steps 3 and 4 of grading: run the rebuilt notebook in the sandbox, then judge.

For one submission, :class:`Grader`:

1. makes every exercise's inputs from a secret seed per learner, lesson and
   exercise (:mod:`.seeds`; the learner's process never sees it), so the same
   submission always gets the same grade: drawn once, in the judging worker
   that keeps them for the verdicts (:meth:`.judge.Judges.draw`), and sent to
   the child as plain data; they are drawn in a thread while step 2 runs
   (only the probes need them);
2. runs the rebuilt notebook's cells one at a time in a fresh sandboxed child,
   forked from the lesson's shared checkpoint when its first cells are the
   trusted template's own (:mod:`.prefix`, :mod:`.checkpoint`): those cells
   ran once for the whole batch; the lesson's demonstration cells nothing of
   the learner's reads are not among them (:mod:`.demos`);
3. when a cell raises, times out, exits (``sys.exit``, ``os._exit``), crashes
   or prints too much, drops it: the exercises whose answer it holds score 0
   with the reason, an answer cell is replaced by the lesson's stub, and the
   notebook is replayed without it: from the child's latest fork point before
   that cell (:mod:`.keeper`), else in a fresh child. A cell that did not
   compile, or raised before binding any variable, left the notebook as it
   was, so the same child goes on (see :func:`_left_no_trace`);
4. asks the child to probe each remaining exercise (plain data back, never
   pickles, never printed output) and judges that data on the grader's side,
   in a worker bounded in time and memory (:mod:`.judge`), each verdict while
   the child runs the next probe, with the very same :class:`~mlcourse.exercises.engine.Exercise`
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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mlcourse.exercises.engine import ERROR, NOT_ATTEMPTED, Exercise, Result, TestResult
from mlcourse.exercises.plain import to_plain
from mlcourse.grading import judge, prefix, seeds
from mlcourse.grading.discover import Submission
from mlcourse.grading.rebuild import ADDED, ANSWER, Plan, PlannedCell, load_template, rebuild
from mlcourse.grading.sandbox import Limits, Reply, SandboxError, Session, Zygote, session_settings, warn_once

# Seconds of cells between two fork points: a point costs a fork and the pages
# copied after it (a few milliseconds to a few tens), a replay from it at most
# this much more than the cells after the failed one.
POINT_GAP = 0.25


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
    replays: int = 0  # fresh starts and resumes after failing cells
    resumes: int = 0  # of which from a fork point in the same child
    shared_cells: int = 0  # cells run for it by a shared checkpoint
    unshared: str = ""  # why the shared checkpoint for it was not used, if one was asked for
    cells_run: int = 0  # cells sent to its children (replays included)
    left_out: int = 0  # demonstration cells not run: nothing of the learner's reads them (:mod:`.demos`)
    #: Reviews in force, by exercise (set when the gradebook re-renders a reviewed submission).
    reviews: dict[str, Any] = field(default_factory=dict)
    # Where the time went (seconds): starting children (of which "setup" is
    # the children's own set-up: filesystem, limits, privileges, filter),
    # running cells, probing in the child, judging here; "replay": what the
    # replays cost before they reached the failed cell again (restarts and
    # cells run twice), "after": the cells after it in the replays; CPU
    # seconds of the child ("child_cpu"), of the grader's thread ("grader_cpu")
    # and of the judging workers for it ("judge_cpu": drawing its inputs and
    # judging its probes); "peak_mb" where a cgroup measured it. For the
    # benchmark and the curious.
    timing: dict[str, float] = field(
        default_factory=lambda: {
            "start": 0.0, "setup": 0.0, "cells": 0.0, "probes": 0.0, "judge": 0.0, "replay": 0.0, "after": 0.0,
            "child_cpu": 0.0, "grader_cpu": 0.0, "judge_cpu": 0.0,
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
    checkpoints : bool
        Fork children from the fork server's shared checkpoints of the
        lesson's trusted cells (:mod:`.checkpoint`); the fork server keeps
        them (:class:`~.sandbox.Zygote`).
    point_gap : float or None
        Take a fork point before a cell when the cells since the last one ran
        this many seconds (0: before every cell that can fail; None: never).
    run_demos : bool
        Run the lessons' demonstration cells too; by default only those the
        learner's cells may read from run (:mod:`.demos`).
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
        checkpoints: bool = True,
        point_gap: float | None = POINT_GAP,
        run_demos: bool = False,
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
        self.checkpoints = checkpoints and hardened and namespaces
        self.point_gap = point_gap
        self.run_demos = run_demos
        self._key_lock = threading.Lock()
        self.key_problems: list[str] | None = None  # None until a child runs without namespaces
        self.broken_checkpoints: dict[str, str] = {}  # key -> why its children could not start

    def checkpoint_spec(self, lesson: str, cells: list[str], position: int, context: dict) -> dict:
        """What the fork server needs to make (or find) the checkpoint of these cells."""
        key = prefix.key(cells, {"lesson": lesson, "version": grader_version(lesson), **context})
        root, cells_file = self.zygote.checkpoint_folder(key, cells)
        return {"key": key, "position": position, "root": root, "cells_file": cells_file, "timeout": self.limits.cell_timeout}

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
        plan = rebuild(template, sub.notebook, exercises, run_demos=self.run_demos)
        graded.notes += plan.notes
        graded.left_out = len(plan.left_out)
        results: dict[str, Result] = {}
        for ex_id, message in plan.missing.items():
            ex = next(e for e in exercises if e.id == ex_id)
            results[ex_id] = _zero(ex, NOT_ATTEMPTED, message)

        # Inputs from a secret seed per learner, lesson and exercise: an answer
        # hard-coded to what the notebook's own check showed cannot pass, and
        # grading the same notebook again draws the same inputs. A judging
        # worker draws them once and keeps them for its verdicts (:meth:`.Judges.draw`);
        # what it could not draw is drawn here, as the verdict's worker will again.
        drawn: dict[str, int] = {}
        specs: list[dict] = []
        for ex in exercises:
            try:
                specs.append(ex.spec())  # what the child is told: names, never the answer key
                if ex.id in results:
                    continue
                drawn[ex.id] = seeds.seed(self.secret, sub.learner, sub.lesson, ex.id)
            except Exception as exc:  # noqa: BLE001 - a bug in the definition, not the answer
                results[ex.id] = _zero(ex, ERROR, _unprepared(exc))
        # The inputs are needed only once the cells have run: they are drawn meanwhile.
        cpu = self.judges.cpu()
        drawing = _Drawing(self.judges, [ex for ex in exercises if ex.id in drawn], sub.lesson, drawn)
        run = _Run(self, graded, plan, results, exercises, drawn, drawing, specs)
        try:
            run.until_done()
        finally:
            drawing.wait()
            graded.timing["judge_cpu"] += self.judges.cpu() - cpu + drawing.cpu
        graded.results = [results[ex.id] for ex in exercises]


class _Drawing:
    """One submission's inputs, drawn in a thread while its cells run.

    A judging worker draws them and keeps them for its verdicts
    (:meth:`.Judges.draw`); what it could not draw is drawn here, as the
    verdict's worker will again. :meth:`wait` gives ``(plain inputs for the
    child, messages of the exercises whose inputs could not be made)``.
    """

    def __init__(self, judges: Any, exercises: list[Exercise], lesson: str, seeds: dict[str, int]) -> None:
        self._args = (judges, exercises, lesson, seeds)
        self._made: tuple[dict[str, Any], dict[str, str]] | None = None
        self.cpu = 0.0  # this thread's CPU and its judging worker's
        self._thread = threading.Thread(target=self._draw, name="mlcourse-draw", daemon=True)
        self._thread.start()

    def _draw(self) -> None:
        judges, exercises, lesson, seeds = self._args
        own, theirs = time.thread_time(), judges.cpu()
        try:
            there = judges.draw(exercises, lesson, seeds)
        except Exception:  # noqa: BLE001 - drawn here instead, below
            there = {}
        plain: dict[str, Any] = {}
        failed: dict[str, str] = {}
        for ex in exercises:
            status, value = there.get(ex.id) or ("", None)
            if status == "ok":
                plain[ex.id] = value
            elif status == "raised":
                failed[ex.id] = _unprepared(value)
            else:
                try:
                    plain[ex.id] = to_plain(ex.make_inputs(seeds[ex.id]))
                except Exception as exc:  # noqa: BLE001 - a bug in the definition, not the answer
                    failed[ex.id] = _unprepared(exc)
        self.cpu = time.thread_time() - own + judges.cpu() - theirs
        self._made = (plain, failed)

    def wait(self) -> tuple[dict[str, Any], dict[str, str]]:
        self._thread.join()
        if self._made is None:  # the thread itself failed (out of memory): nothing could be made
            self._made = ({}, {ex.id: _unprepared("its inputs could not be drawn") for ex in self._args[1]})
        return self._made


class _Verdicts:
    """Each probed answer judged in a thread of its own while the child runs the next probe.

    The verdicts are the same as judged one after the other (each depends on
    its own probe only); :meth:`settle` waits for them and records them, with
    their time and CPU (the judging workers' and this thread's) in the
    submission's timing.
    """

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.pool: ThreadPoolExecutor | None = None
        self.waiting: list[tuple[Exercise, Future]] = []

    def add(self, ex: Exercise, message: dict) -> None:
        if self.pool is None:
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="mlcourse-verdict")
        self.waiting.append((ex, self.pool.submit(self._judge, ex, message)))

    def _judge(self, ex: Exercise, message: dict) -> tuple[Result, float, float]:
        judges = self.run.grader.judges
        own, theirs, t0 = time.thread_time(), judges.cpu(), time.perf_counter()
        result = self.run._judge(ex, message)
        return result, time.perf_counter() - t0, time.thread_time() - own + judges.cpu() - theirs

    def settle(self) -> None:
        timing = self.run.graded.timing
        for ex, future in self.waiting:
            try:
                result, seconds, cpu = future.result()
            except Exception as exc:  # noqa: BLE001 - _judge never raises; be sure
                result, seconds, cpu = _zero(ex, ERROR, f"Your answer could not be checked ({type(exc).__name__})."), 0.0, 0.0
            self.run.results[ex.id] = result
            timing["judge"] += seconds
            timing["judge_cpu"] += cpu
        self.waiting = []
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None


def _unprepared(why: Exception | str) -> str:
    """The message of an exercise whose inputs could not be made (a bug in its definition, not the answer)."""
    text = f"{type(why).__name__}: {why}" if isinstance(why, Exception) else why
    return f"The grader could not prepare this exercise ({text})."


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
        drawing: _Drawing,
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
        self.drawing: _Drawing | None = drawing
        self.plain_inputs: dict[str, Any] = {}
        self.specs = specs
        self.deadline = time.monotonic() + self.limits.total_timeout
        self.replays = 0
        self.points = grader.point_gap is not None
        self._since = 0.0  # seconds of cells since the last fork point
        self._replaying: tuple[float, int] | None = None  # (since when, the failed cell) while a replay catches up
        self._failed_at: int | None = None  # the cell the last replay dropped
        # The cells that are the trusted template's own, and those a shared checkpoint can run.
        self.trusted, self.position = 0, 0
        try:
            base = prefix.trusted_run(graded.lesson, grader.run_demos)
            self.trusted, self.position = prefix.shared(plan, base), prefix.position(plan, base)
        except Exception:  # noqa: BLE001 - no trusted run: nothing shared
            pass

    def pending(self) -> list[Exercise]:
        return [ex for ex in self.exercises if ex.id not in self.results]

    def until_done(self) -> None:
        while self.pending():
            if time.monotonic() >= self.deadline:
                self._stop(f"grading ran out of time ({self.limits.total_timeout:g} s for the whole notebook)")
                return
            if self.replays > self.limits.max_replays:
                self._stop(f"too many failing cells: grading stopped after {self.limits.max_replays} fresh starts")
                return
            finished = self._attempt()
            if finished:
                return
            self._replayed()

    def _replayed(self) -> None:
        self.replays += 1
        self.graded.replays = self.replays

    def _stop(self, why: str) -> None:
        self.graded.notes.append(f"Grading stopped: {why}.")
        for ex in self.pending():
            self.results[ex.id] = _zero(ex, ERROR, f"Not graded: {why}.")

    def _settings(self, workdir: str, cgroup: Any, checkpoint: dict | None) -> dict:
        hardened = self.grader.hardened
        settings = session_settings(
            exercises=self.specs,
            probe_modules=probe_modules(self.specs),
            workdir=workdir,
            # With the allow-list the run's own folder is not even in view.
            hide=list(self.grader.hide) if hardened else [*self.grader.hide, workdir],
            namespaces=self.grader.namespaces,
            hardened=hardened,
            cgroup=cgroup.procs if cgroup is not None else None,
        )
        settings["checkpoint"] = checkpoint
        return settings

    def _checkpoint(self) -> dict | None:
        """The shared checkpoint to fork this run's child from, if any."""
        if not self.grader.checkpoints or self.position <= 0:
            return None
        cells = [c.source for c in self.plan.cells[: self.position]]
        context = {
            "specs": self.specs,
            "hide": list(self.grader.hide),
            "limits": self.limits.for_child(),
            "timeout": self.limits.cell_timeout,
        }
        spec = self.grader.checkpoint_spec(self.graded.lesson, cells, self.position, context)
        if spec["key"] in self.grader.broken_checkpoints:
            return None
        return spec

    def _start(self, workdir: str, cgroup: Any) -> Session:
        """A started child: from the shared checkpoint when there is a usable one."""
        spec = self._checkpoint()
        session = Session(self.grader.zygote, self._settings(workdir, cgroup, spec), self.limits, self.deadline, cgroup)
        t0 = time.perf_counter()
        try:
            session.start()
        except SandboxError as exc:
            if spec is None or not session.checkpoint.get("used"):
                raise
            # Forked from the checkpoint, the child could not be set up:
            # grade without it (and say so once).
            self.grader.broken_checkpoints[spec["key"]] = self.graded.unshared = str(exc)
            warn_once(f"checkpoint:{exc}", f"shared checkpoint not used ({exc}); grading without it")
            session = Session(self.grader.zygote, self._settings(workdir, cgroup, None), self.limits, self.deadline, cgroup)
            session.start()
        self.graded.timing["start"] += time.perf_counter() - t0
        self.graded.timing["setup"] += sum(v for v in session.hello.get("setup_ms", {}).values() if isinstance(v, (int, float))) / 1000
        why = session.checkpoint.get("why")
        if spec is not None and not session.checkpoint.get("used") and why:
            self.graded.unshared = str(why)
            if not session.checkpoint.get("for_now"):
                warn_once(f"checkpoint:{why}", f"the shared checkpoint of {self.graded.lesson} is not used: {why}")
        return session

    def _attempt(self) -> bool:
        """One fresh child: run the cells, probe what is left. True when done."""
        workdir = tempfile.mkdtemp(prefix="mlcourse-grade-", dir=self.grader.workroot)
        cgroups = self.grader.cgroups
        cgroup = cgroups.new() if cgroups is not None and self.grader.hardened else None
        try:
            session = self._start(workdir, cgroup)
            try:
                self._note_isolation(session.hello)
                start = int(session.checkpoint.get("position", 0)) if session.checkpoint.get("used") else 0
                if start:
                    self.graded.shared_cells = max(self.graded.shared_cells, start)
                while True:
                    if not self._run_cells(session, start, cgroup):
                        return False
                    outcome = self._probe_all(session, cgroup)
                    if outcome is True or outcome is False:
                        return outcome
                    start = outcome  # resumed from a fork point: the cells from there, then the probes left
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

    # -- fork points and replays --------------------------------------------------
    def _point(self, session: Session, index: int, cgroup: Any) -> None:
        """Take a fork point before cell ``index`` (``len(cells)``: before the probes) when it pays.

        Only where a cell can fail (from the first cell that is not the
        template's own) and once the cells since the last point ran
        ``point_gap`` seconds; never without a PID namespace (the keeper could
        not stop everything the runner started), nor when the submission uses
        a third of its memory (a point keeps the pages the runner changes).
        """
        gap = self.grader.point_gap
        if not self.points or gap is None or self._since < gap or index < self.trusted:
            return
        if session.hello.get("isolation") != "namespaces":
            return
        if cgroup is not None:
            used = cgroup.usage_mb()
            if used is not None and used > self.limits.memory_mb / 3:
                return
        if not session.point(index) and session.stopped:
            # The learner's code broke the request: replay without points.
            self.points = False
        self._since = 0.0

    def _caught_up(self, index: int) -> None:
        """A replay reached the failed cell again: what it cost until then."""
        if self._replaying is not None and index >= self._replaying[1]:
            self.graded.timing["replay"] += time.perf_counter() - self._replaying[0]
            self._failed_at = self._replaying[1]
            self._replaying = None

    def _resume(self, session: Session, culprit: int) -> int | None:
        """Go back to the child's latest fork point before ``culprit``; the cell to go on from."""
        self._replaying = (time.perf_counter(), culprit)
        if self.replays >= self.limits.max_replays or time.monotonic() >= self.deadline:
            return None
        index = session.resume(culprit) if self.points else None
        if index is None:
            return None
        self._replayed()
        self.graded.resumes += 1
        return index

    # -- cells ----------------------------------------------------------------
    def _run_cells(self, session: Session, start: int = 0, cgroup: Any = None) -> bool:
        """Run every cell from ``start``; on a failure drop the culprit and go
        back to a fork point, or return False (replay in a fresh child)."""
        last_ok: int | None = start - 1 if start > 0 else None
        i = start
        self._since = self.grader.point_gap or 0.0  # a point before the first cell that can fail
        while i < len(self.cells):
            self._caught_up(i)
            cell = self.cells[i]
            if cell is None:
                i += 1
                continue
            self._point(session, i, cgroup)
            if session.stopped:
                self._replaying = (time.perf_counter(), i)
                return False
            reply = session.request({"op": "cell", "source": cell.source})
            self.graded.cells_run += 1
            self.graded.timing["cells"] += reply.seconds
            self._since += reply.seconds
            if self._failed_at is not None and i > self._failed_at and self._replaying is None:
                self.graded.timing["after"] += reply.seconds
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
            resumed = self._resume(session, culprit)
            if resumed is None:
                return False
            # The point it went back to is the runner now: take another there.
            i, self._since = resumed, self.grader.point_gap or 0.0
            last_ok = resumed - 1 if resumed > 0 else None
        self._caught_up(len(self.cells))
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
    def _probe_all(self, session: Session, cgroup: Any = None) -> bool | int:
        """Probe what is left: True when done, False for a replay in a fresh
        child, or the cell to go on from after a resume."""
        end = len(self.cells)
        self._point(session, end, cgroup)
        if session.stopped:
            return False
        self._inputs_ready()
        verdicts = _Verdicts(self)
        try:
            for ex in self.pending():
                reply = session.request({"op": "probe", "exercise": ex.id, "inputs": self.plain_inputs[ex.id]})
                self.graded.timing["probes"] += reply.seconds
                if reply.kind == "ok":
                    verdicts.add(ex, reply.message)
                    continue
                verdicts.settle()
                if reply.kind == "budget":
                    self._stop(f"the notebook ran out of time ({self.limits.total_timeout:g} s in all)")
                    return True
                reason, _ = failure_reason(reply, self.limits)
                name = ex.answer.name
                self.results[ex.id] = _zero(ex, ERROR, f"Checking `{name}` on fresh inputs {reason}.")
                self.graded.notes.append(f"Checking {ex.id} {reason}; the notebook was replayed for the other exercises.")
                resumed = self._resume(session, end)
                return False if resumed is None else resumed  # the child is gone: replay for the rest
        finally:
            verdicts.settle()
        return True

    def _inputs_ready(self) -> None:
        """Wait for the inputs drawn while the cells ran; an exercise that could not get them scores 0."""
        if self.drawing is None:
            return
        self.plain_inputs, failed = self.drawing.wait()
        self.drawing = None
        for ex in self.exercises:
            if ex.id in failed and ex.id not in self.results:
                self.results[ex.id] = _zero(ex, ERROR, failed[ex.id])

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
