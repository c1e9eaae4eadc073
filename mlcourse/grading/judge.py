"""Step 4 of grading, the judging itself: each probe judged in a bounded worker.

:mod:`.verdict` gets each exercise's probe from the sandboxed child as plain
data. That data is the learner's, so judging it is untrusted work too: a
string built to make a comparison quadratic, or a nested value that grows
tenfold when decoded, must not stall or swell the grader's own process (and
with it every other learner's grade). So the verdict is reached here, in a
worker process of the grader's own (trusted code only, never the learner's),
with

* a wall-clock bound per exercise (:attr:`Limits.judge_seconds`, and never
  past the submission's own deadline): a worker that has not answered by then
  is killed and replaced;
* an address-space bound (:attr:`Limits.judge_memory_mb` above what the
  worker holds when it starts): a judgement that needs more fails with
  ``MemoryError`` in the worker, not in the grader.

Either way only this exercise scores 0, with the reason; the submission and
the batch go on. Workers are forked from a ``forkserver`` that has imported
the lessons' checks once, so a fresh worker costs milliseconds, and they are
reused for the next exercise while they behave. The worker rebuilds the
exercise's inputs from the same secret seed the grader drew them from (seeded
inputs are a contract of every exercise: :meth:`Exercise.make_inputs`), so
nothing but plain data and the seed crosses to it.

Examples
--------
>>> from mlcourse.grading.limits import Limits
>>> judges = Judges(Limits())
>>> judges.seconds, judges.memory_mb
(30.0, 1024)
"""
from __future__ import annotations

import atexit
import importlib
import importlib.util
import multiprocessing
import os
import resource
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from mlcourse.exercises.engine import ERROR, Exercise, Result, TestResult
from mlcourse.grading.limits import Limits


def _preload() -> list[str]:
    from mlcourse.exercises.catalog import LESSONS, checks_module_name

    return ["mlcourse.grading.judge", *(checks_module_name(lesson) for lesson in LESSONS)]


def _limit_memory(memory_mb: int) -> None:
    """Cap this process's address space at what it holds now plus ``memory_mb``."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[0])
        held = pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        held = 0
    cap = held + memory_mb * 2**20
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def _definitions(lesson: str) -> tuple[str, str | None]:
    """Where the grader's own process found a lesson's exercise definitions: module name and file."""
    from mlcourse.exercises.definitions import checks_module

    module = checks_module(lesson)
    return module.__name__, getattr(module, "__file__", None)


def _exercise(where: tuple[str, str | None], exercise_id: str) -> Exercise:
    """The grader's definition of one exercise, found in the module the grader named."""
    name, file = where
    module = sys.modules.get(name)
    if module is None:
        try:
            module = importlib.import_module(name)
        except ImportError:
            # A lesson registered at run time (an instructor's own, or a test's)
            # under a name that does not import: load it from its file.
            if file is None:
                raise
            spec = importlib.util.spec_from_file_location(name, file)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
    return next(v for v in vars(module).values() if isinstance(v, Exercise) and v.id == exercise_id)


def _serve(conn: Any, memory_mb: int) -> None:
    """The worker: judge jobs until the grader closes the pipe."""
    _limit_memory(memory_mb)
    while True:
        try:
            where, exercise_id, seed, probed, answer, other = conn.recv()
        except (EOFError, OSError):
            return
        try:
            ex = _exercise(where, exercise_id)
            result = ex.judge(probed, ex.make_inputs(seed), answer_sources=answer, other_sources=other)
            reply: tuple[str, Any] = ("ok", result)
        except MemoryError:
            reply = ("memory", None)
        except Exception as exc:  # noqa: BLE001 - judge() should never raise; be sure
            reply = ("error", type(exc).__name__)
        del probed
        try:
            conn.send(reply)
        except MemoryError:
            conn.send(("memory", None))


class _Worker:
    def __init__(self, ctx: Any, memory_mb: int) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, memory_mb), daemon=True, name="mlcourse-judge")
        self.process.start()
        child.close()

    def close(self) -> None:
        try:
            self.conn.close()
        finally:
            if self.process.is_alive():
                self.process.kill()
            self.process.join(5)


class Judges:
    """Bounded judging for the grader's threads: a pool of worker processes.

    Parameters
    ----------
    limits : Limits
        ``judge_seconds`` and ``judge_memory_mb`` bound each exercise's verdict.
    """

    def __init__(self, limits: Limits) -> None:
        self.seconds = float(limits.judge_seconds)
        self.memory_mb = int(limits.judge_memory_mb)
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._ctx: Any = None
        self.started = 0  # workers started, replacements included

    def _context(self) -> Any:
        with self._lock:
            if self._ctx is None:
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(_preload())
                self._ctx = ctx
            return self._ctx

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.process.is_alive():
                    return worker
                worker.close()
        try:
            os.getcwd()
        except OSError:
            # Starting a process records the working folder; a grader started
            # in a folder deleted since (a temporary one) could start none.
            os.chdir("/")
        main = sys.modules.get("__main__")
        if main is not None and not hasattr(main, "__spec__"):
            # IPython's stand-in for __main__ has no __spec__, which starting a
            # process reads: a grader run from a notebook or a shell test.
            main.__spec__ = None
        worker = _Worker(self._context(), self.memory_mb)
        with self._lock:
            self.started += 1
        return worker

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)

    def judge(
        self,
        ex: Exercise,
        lesson: str,
        seed: int,
        probed: Any,
        *,
        answer_sources: Sequence[tuple[str, str]] = (),
        other_sources: Sequence[tuple[str, str]] = (),
        deadline: float | None = None,
    ) -> Result:
        """``ex``'s verdict on ``probed`` (plain data from the child), within the bounds. Never raises."""
        seconds = self.seconds
        if deadline is not None:
            seconds = max(0.0, min(seconds, deadline - time.monotonic()))
        where = _definitions(lesson)
        try:
            worker = self._take()
        except Exception as exc:  # noqa: BLE001 - no worker process here: judge unbounded, and say so once
            from mlcourse.grading.sandbox import warn_once

            warn_once("judges", f"the grader cannot start its checking processes ({exc}); checks run unbounded in the grader")
            return ex.judge(probed, ex.make_inputs(seed), answer_sources=answer_sources, other_sources=other_sources)
        healthy = False
        try:
            worker.conn.send((where, ex.id, seed, probed, list(answer_sources), list(other_sources)))
            if not worker.conn.poll(seconds):
                return _failed(ex, f"checking it took longer than the grader allows ({round(seconds, 1):g} s)")
            kind, value = worker.conn.recv()
            healthy = True
        except (EOFError, OSError, BrokenPipeError):
            return _failed(ex, "checking it stopped the grader's checking process (it may have needed too much memory)")
        finally:
            if healthy:
                self._give_back(worker)
            else:
                worker.close()
        if kind == "ok" and isinstance(value, Result):
            return value
        if kind == "memory":
            return _failed(ex, f"checking it needed more memory than the grader allows ({self.memory_mb} MB)")
        return _failed(ex, f"the check failed ({value})")

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()


def _failed(ex: Exercise, why: str) -> Result:
    message = f"Your answer could not be checked: {why}."
    return Result(ex.id, ex.title, ex.points, ERROR, 0.0, message, [TestResult("grading", ERROR, message, "")])


_shared: dict[tuple[float, int], Judges] = {}
_shared_lock = threading.Lock()


def shared(limits: Limits) -> Judges:
    """The process's pool for these bounds (one forkserver per grader process, closed at exit)."""
    key = (float(limits.judge_seconds), int(limits.judge_memory_mb))
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Judges(limits)
        return _shared[key]


@atexit.register
def _close_all() -> None:
    for judges in list(_shared.values()):
        judges.close()


__all__ = ["Judges", "shared"]
