"""Step 6: grade a batch of submissions in parallel: ``mlcourse grade``.

``mlcourse grade PATH... [--out DIR] [--jobs N] [--timeout SECONDS] [--force] [--junit FILE]
[--checkpoints N] [--checkpoint-memory MB] [--run-demo-cells]``

1. find the submissions (:mod:`.discover`) and skip those whose (learner,
   lesson, sha256, grader version) the gradebook already holds, unless
   ``--force``;
2. start one fork server (:class:`~.sandbox.Zygote`), then ``--jobs`` worker
   threads, each grading one submission at a time (:class:`~.verdict.Grader`);
   the fork server's shared checkpoints of each lesson's trusted cells
   (:mod:`.checkpoint`: at most ``--checkpoints`` at once, holding at most
   ``--checkpoint-memory`` MB together) serve every worker;
3. as each submission is graded, the main thread writes its
   ``results.json`` and ``feedback.md`` and commits it to the gradebook;
4. a progress bar on stderr while it runs, a summary table at the end.

One submission never stops the batch: a notebook that cannot be read scores 0
with the reason, one whose identity is in doubt is refused with the reason
(:mod:`.discover`), and an unexpected error while grading or saving one
submission is recorded as that submission's error.

The exit status is 0 whenever grading completed, whatever the scores; 1 when
some results could not be saved (each is named in the summary); 2 when the
grader itself cannot run (an unwritable ``--out``, a path that does not exist,
a fork server that does not start).

Examples
--------
>>> format_seconds(75.5)
'1m16s'
"""
from __future__ import annotations

import logging
import os
import queue
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from mlcourse.grading import judge, seeds, text
from mlcourse.grading.cgroups import Cgroups
from mlcourse.grading.discover import Submission, discover
from mlcourse.grading.results import (
    GRADEBOOK,
    LOCK,
    Gradebook,
    GradebookError,
    Record,
    apply_reviews,
    junit_xml,
    record_of,
    write_submission,
)
from mlcourse.grading.sandbox import CHECKPOINT_MB, CHECKPOINTS, Limits, SandboxError, Zygote, warn_once
from mlcourse.grading.verdict import POINT_GAP, Graded, Grader, grader_version, refuse_graded_edition

log = logging.getLogger("mlcourse.grading")


class GradingError(RuntimeError):
    """The grader itself cannot run (one line for the user)."""


@dataclass
class Options:
    """What ``mlcourse grade`` was asked to do."""

    paths: Sequence[Path | str]
    out: Path = Path("graded")
    jobs: int = 0  # 0: os.cpu_count()
    limits: Limits = field(default_factory=Limits)
    force: bool = False
    junit: Path | None = None
    progress: bool = True
    namespaces: bool = True
    secret_file: Path | None = None
    # The isolation of issue 11; False: the one before it (benchmarks/grading.py).
    hardened: bool = True
    # Shared checkpoints kept at once (0: none) and the memory they may hold together.
    checkpoints: int = CHECKPOINTS
    checkpoint_mb: float = CHECKPOINT_MB
    # Seconds of cells between fork points in a child (None: no fork points).
    point_gap: float | None = POINT_GAP
    # Run the lessons' demonstration cells too (default: only those a learner's cell reads from).
    run_demos: bool = False


@dataclass
class Outcome:
    """What happened to one submission in this batch."""

    submission: Submission
    graded: Graded | None = None
    skipped: bool = False
    record: Record | None = None
    unsaved: str | None = None  # why its results could not be written


@dataclass
class Report:
    """The outcome of a batch: every submission, graded now or skipped.

    ``fork_server`` is what the fork server said of itself at the end: its
    peak memory and its checkpoints (:meth:`~.sandbox.Zygote.stats`).
    """

    outcomes: list[Outcome]
    seconds: float
    out: Path
    fork_server: dict = field(default_factory=dict)

    @property
    def graded(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.graded is not None]

    @property
    def skipped(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.skipped]

    @property
    def refused(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.submission.refused]

    @property
    def unsaved(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.unsaved]


def format_seconds(s: float) -> str:
    """``3.2s`` or ``2m05s``.

    Examples
    --------
    >>> format_seconds(3.25)
    '3.2s'
    """
    if s < 60:
        return f"{s:.1f}s"
    return f"{int(s // 60)}m{round(s % 60):02d}s"


class Progress:
    """A one-line progress bar on a terminal; a line per submission otherwise."""

    def __init__(self, total: int, stream: IO[str] | None = None, enabled: bool = True) -> None:
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.monotonic()

    def step(self, label: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        elapsed = format_seconds(time.monotonic() - self.start)
        if self.tty:
            width = 30
            filled = int(width * self.done / self.total)
            bar = "#" * filled + "." * (width - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} {elapsed} {text.terminal(label)[:40]:<40}")
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(f"[{self.done}/{self.total}] {text.terminal(label)} ({elapsed})\n")
        self.stream.flush()


def _hide_list(opts: Options, subs: Sequence[Submission], workroot: str) -> list[str]:
    """What children must not see, without the allow-list: the output, the work folders, every submission."""
    hide = [str(Path(opts.out).resolve()), workroot]
    for raw in opts.paths:
        p = Path(raw).resolve()
        hide.append(str(p if p.is_dir() else p.parent))
    # Files too: a folder that holds the Python installation (or the course
    # checkout) cannot be covered as a whole, its submissions still can.
    hide += sorted({str(s.path.resolve()) for s in subs})
    return hide


def _label(g: Graded) -> str:
    if g.error and not g.results:
        return f"{g.learner}/{g.lesson}: not gradable"
    return f"{g.learner}/{g.lesson}: {g.score:g}/{g.max_score:g}"


def run(opts: Options) -> Report:
    """Grade a batch; raise GradingError only when the grader cannot run."""
    started = time.monotonic()
    try:
        refuse_graded_edition()
    except SandboxError as exc:
        raise GradingError(str(exc)) from None
    out = Path(opts.out)
    try:
        # Made private when made here: it will hold every learner's results.
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
        probe = out / ".mlcourse-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise GradingError(f"cannot write to the output folder {out}: {exc.strerror or exc}") from None
    lock = _lock(out)
    try:
        book = Gradebook(out / GRADEBOOK)
    except GradebookError as exc:
        lock.close()
        raise GradingError(str(exc)) from None
    try:
        secret = seeds.grader_secret(out, opts.secret_file)
    except seeds.SecretError as exc:
        book.close()
        lock.close()
        raise GradingError(str(exc)) from None
    try:
        try:
            subs = discover(opts.paths)
        except FileNotFoundError as exc:
            raise GradingError(str(exc)) from None
        outcomes = [Outcome(s) for s in subs]
        todo: list[Outcome] = []
        for o in outcomes:
            s = o.submission
            if s.refused:
                log.warning(f"not graded: {s.refused}")
                continue
            version = grader_version(s.lesson)
            if not opts.force and s.sha256 and book.has(s.learner, s.lesson, s.sha256, version):
                o.skipped = True
                o.record = book.load(s.learner, s.lesson, s.sha256, version)
            else:
                todo.append(o)
        fork_server: dict = {}
        if todo:
            fork_server = _grade_all(opts, todo, book, out, secret)
        if opts.junit:
            records = [o.record for o in outcomes if o.record is not None]
            try:
                Path(opts.junit).parent.mkdir(parents=True, exist_ok=True)
                Path(opts.junit).write_text(junit_xml(records), encoding="utf-8")
            except OSError as exc:
                raise GradingError(f"cannot write {opts.junit}: {exc.strerror or exc}") from None
        return Report(outcomes, time.monotonic() - started, out, fork_server)
    finally:
        book.close()
        lock.close()


def _lock(out: Path) -> IO[str]:
    """Hold ``OUT/.mlcourse-grade.lock`` while grading: two batches never write one folder at once.

    (The dashboard may read and store reviews meanwhile: the gradebook's
    transactions keep both whole.) The lock goes with the process, however it ends.
    """
    import fcntl

    path = out / LOCK
    try:
        fh = open(path, "a+", encoding="utf-8")
    except OSError as exc:
        raise GradingError(f"cannot write to the output folder {out}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.seek(0)
        who = fh.read().strip() or "another process"
        fh.close()
        raise GradingError(
            f"another `mlcourse grade` ({who}) is writing {out}: wait for it to finish, or grade into another --out; "
            "nothing was changed"
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}")
    fh.flush()
    return fh


def _cgroups(opts: Options) -> Cgroups | None:
    if not opts.hardened:
        return None
    cgroups, why = Cgroups.create(opts.limits.memory_mb, opts.limits.processes)
    if cgroups is None:
        warn_once(
            "cgroups",
            f"no cgroup per submission ({why}): memory is limited per process, the number of processes is not limited",
        )
    return cgroups


def _grade_all(opts: Options, todo: list[Outcome], book: Gradebook, out: Path, secret: bytes) -> dict:
    """Grade ``todo``; what the fork server said of itself at the end."""
    jobs = max(1, min(opts.jobs or os.cpu_count() or 1, len(todo)))
    workroot = tempfile.mkdtemp(prefix="mlcourse-grade-")
    # Without namespaces a root grader's child runs as an unprivileged user:
    # it may pass through to its own folder, never list the others.
    os.chmod(workroot, 0o711)
    zygote = Zygote(checkpoints=opts.checkpoints, checkpoint_mb=opts.checkpoint_mb)
    cgroups = _cgroups(opts)
    stats: dict = {}
    try:
        judge.shared(opts.limits).prestart()  # while the fork server starts
        try:
            zygote.start()
        except SandboxError as exc:
            raise GradingError(str(exc)) from None
        grader = Grader(
            zygote,
            opts.limits,
            # With the allow-list nothing of the batch is in the children's
            # view: no list of it is sent to them.
            hide=[] if opts.hardened else _hide_list(opts, [o.submission for o in todo], workroot),
            namespaces=opts.namespaces,
            workroot=workroot,
            secret=secret,
            hardened=opts.hardened,
            cgroups=cgroups,
            checkpoints=opts.checkpoints > 0,
            point_gap=opts.point_gap,
            run_demos=opts.run_demos,
        )
        work: queue.Queue = queue.Queue()
        for i, o in enumerate(todo):
            work.put((i, o))
        done: queue.Queue = queue.Queue()
        stop = threading.Event()

        def worker() -> None:
            while not stop.is_set():
                try:
                    i, o = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    graded = grader.grade(o.submission)
                except Exception as exc:  # noqa: BLE001 - a grader bug must not end the batch
                    graded = Graded(submission=o.submission, grader_version=grader_version(o.submission.lesson))
                    graded.error = f"grading failed: {type(exc).__name__}: {exc}"
                    log.error("grading %s failed:\n%s", text.terminal(o.submission.path), traceback.format_exc())
                done.put((i, graded))

        threads = [threading.Thread(target=worker, name=f"mlcourse-grade-{n}", daemon=True) for n in range(jobs)]
        for t in threads:
            t.start()
        progress = Progress(len(todo), enabled=opts.progress)
        try:
            for _ in range(len(todo)):
                i, graded = done.get()
                o = todo[i]
                o.graded = graded
                o.record = record_of(graded)
                _save(o, out, book)
                progress.step(_label(graded))
        finally:
            stop.set()
        for t in threads:
            t.join(timeout=5)
        stats = zygote.stats()
    finally:
        zygote.close()
        if cgroups is not None:
            cgroups.close()
        shutil.rmtree(workroot, ignore_errors=True)
    return stats


def _save(o: Outcome, out: Path, book: Gradebook) -> None:
    """Write one submission's results and gradebook rows; a failure is that submission's alone."""
    graded = o.graded
    assert graded is not None
    try:
        write_submission(out, graded)
        book.record(graded)
        if book.reviewed(graded.learner, graded.lesson, graded.submission.sha256):
            # Graded again (--force, a new grader version): the file's reviews still stand, and say so.
            apply_reviews(out, book, graded.learner, graded.lesson, graded.submission.sha256)
    except Exception as exc:  # noqa: BLE001 - recorded, and the batch goes on
        o.unsaved = f"{type(exc).__name__}: {exc}"
        log.error("cannot save the results of %s:\n%s", text.terminal(o.submission.path), traceback.format_exc())


# --------------------------------------------------------------------------
# The summary table
# --------------------------------------------------------------------------
def summary(report: Report) -> str:
    """The end-of-run table: one line per submission, then totals."""
    rows = [("learner", "lesson", "score", "passed", "time", "notes")]
    for o in report.outcomes:
        s = o.submission
        if s.refused:
            rows.append((s.learner, s.lesson, "-", "-", "-", f"refused: {_short(s.refused)}"))
        elif o.unsaved:
            rows.append((s.learner, s.lesson, "-", "-", "-", f"NOT SAVED: {_short(o.unsaved)}"))
        elif o.graded is not None:
            g = o.graded
            if g.error and not g.results:
                rows.append((s.learner, s.lesson, "-", "-", format_seconds(g.seconds), _short(g.error)))
                continue
            passed = sum(1 for r in g.results if r.status == "passed")
            skipped = sum(1 for n in g.notes if "was skipped" in n)
            note = f"{skipped} cell(s) skipped" if skipped else ""
            if g.error:
                note = _short(g.error)
            rows.append(
                (s.learner, s.lesson, f"{g.score:g}/{g.max_score:g}", f"{passed}/{len(g.results)}", format_seconds(g.seconds), note)
            )
        elif o.record is not None:
            rec = o.record
            score = sum(float(r["score"]) for r in rec.rows)
            total = sum(float(r["max"]) for r in rec.rows)
            passed = sum(1 for r in rec.rows if r["status"] == "passed")
            rows.append((s.learner, s.lesson, f"{score:g}/{total:g}", f"{passed}/{len(rec.rows)}", "-", "already graded"))
    # Learner ids and messages are learner text: no escape sequences reach the terminal.
    rows = [tuple(text.terminal(c) for c in r) for r in rows]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    graded = report.graded
    scored = [o.graded for o in graded if o.graded and o.graded.results]
    mean = ""
    if scored:
        pct = sum(g.score / g.max_score for g in scored if g.max_score) / len(scored)
        mean = f"; mean {100 * pct:.0f}%"
    lines.append("")
    refused = f", {len(report.refused)} refused" if report.refused else ""
    unsaved = f", {len(report.unsaved)} NOT SAVED" if report.unsaved else ""
    lines.append(
        f"{len(report.outcomes)} submission(s): {len(graded)} graded, {len(report.skipped)} already graded{refused}{unsaved}{mean}; "
        f"{format_seconds(report.seconds)}"
    )
    lines.append(f"results: {report.out}/<learner>/<lesson>/results.json and feedback.md; gradebook: {report.out / GRADEBOOK}")
    return "\n".join(lines)


def _short(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 3] + "..."


def main(opts: Options, stdout: IO[str] | None = None) -> int:
    """Run a batch and print its summary; the ``mlcourse grade`` command."""
    stdout = stdout or sys.stdout
    if not logging.getLogger().handlers and not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("mlcourse grade: warning: %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    report = run(opts)
    if not report.outcomes:
        print(f"no notebooks found under {', '.join(str(p) for p in opts.paths)}", file=stdout)
        return 0
    print(summary(report), file=stdout)
    return 1 if report.unsaved else 0
