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
reused for the next exercise while they behave.

The inputs are drawn here too, once per submission (:meth:`Judges.draw`):
seeded inputs are a contract of every exercise (:meth:`Exercise.make_inputs`),
so the grader sends a worker the exercises and their secret seeds, gets back
the inputs as plain data for the child, and the worker keeps the drawn objects
for the verdicts that follow (the grader asks that same worker to judge them;
any other worker draws them again from the seed). Drawing them in the grader
and again for the verdict paid for the heaviest draws (tables of 20 000 rows,
fitted models) twice. Nothing but plain data and seeds crosses to a worker,
and each worker keeps the draws of its latest submission only.

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


def _draw(ex: Exercise, seed: int) -> tuple[str, Any]:
    """One exercise's inputs, drawn here: ``("ok", inputs)``, or ``("raised", "Type: message")`` of the definition's bug."""
    try:
        return "ok", ex.make_inputs(seed)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - a bug in the definition, reported per exercise
        return "raised", f"{type(exc).__name__}: {exc}"


def _serve(conn: Any, memory_mb: int) -> None:
    """The worker: draw inputs and judge probes until the grader closes the pipe.

    Jobs are ``("draw", where, [(exercise_id, seed), ...])``: the inputs as
    plain data, the objects kept for the verdicts; and ``("judge", where,
    exercise_id, seed, probed, answer, other)``: the verdict, on the kept
    inputs when this worker drew them. Every reply ends with the CPU seconds
    the job took.
    """
    from mlcourse.exercises.plain import to_plain

    _limit_memory(memory_mb)
    kept: dict[tuple[str, int], list] = {}  # (exercise id, seed) -> inputs drawn for the latest submission
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        cpu = time.process_time()
        try:
            if job[0] == "draw":
                _, where, wanted = job
                kept = {}
                drawn: dict[str, tuple[str, Any]] = {}
                for exercise_id, seed in wanted:
                    status, value = _draw(_exercise(where, exercise_id), seed)
                    if status == "ok":
                        try:
                            drawn[exercise_id] = ("ok", to_plain(value))
                            kept[(exercise_id, seed)] = value
                        except MemoryError:
                            raise
                        except Exception as exc:  # noqa: BLE001 - a bug in the definition, as above
                            drawn[exercise_id] = ("raised", f"{type(exc).__name__}: {exc}")
                    else:
                        drawn[exercise_id] = (status, value)
                reply: tuple[str, Any] = ("ok", drawn)
            else:
                _, where, exercise_id, seed, probed, answer, other = job
                ex = _exercise(where, exercise_id)
                inputs = kept.pop((exercise_id, seed), None)
                if inputs is None:
                    inputs = ex.make_inputs(seed)
                result = ex.judge(probed, inputs, answer_sources=answer, other_sources=other)
                reply = ("ok", result)
                del probed, inputs
        except MemoryError:
            kept = {}
            reply = ("memory", None)
        except Exception as exc:  # noqa: BLE001 - judge() should never raise; be sure
            reply = ("error", type(exc).__name__)
        try:
            conn.send((*reply, time.process_time() - cpu))
        except MemoryError:
            conn.send(("memory", None, time.process_time() - cpu))


class _Worker:
    def __init__(self, ctx: Any, memory_mb: int) -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, memory_mb), daemon=True, name="mlcourse-judge")
        self.process.start()
        child.close()
        self.drawn: set[tuple[Any, str, int]] = set()  # (where, exercise id, seed) it keeps inputs for

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
        self._local = threading.local()
        self._warming: threading.Thread | None = None  # starting the first worker (prestart)
        self.started = 0  # workers started, replacements included

    def cpu(self) -> float:
        """CPU seconds the workers spent on this thread's jobs so far (drawing and judging)."""
        return getattr(self._local, "cpu", 0.0)

    def _spent(self, seconds: Any) -> None:
        if isinstance(seconds, float):
            self._local.cpu = self.cpu() + seconds

    def _context(self) -> Any:
        with self._lock:
            if self._ctx is None:
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(_preload())
                self._ctx = ctx
            return self._ctx

    def prestart(self) -> None:
        """Start a worker in the background, while the grader starts its fork server.

        The first worker starts the workers' server, which imports every
        lesson's checks (seconds on a busy machine): begun here, that
        overlaps the fork server's own start instead of delaying the first
        submission. A failure is left for :meth:`draw` and :meth:`judge`,
        which start workers themselves (and say why they cannot).
        """

        def start() -> None:
            try:
                self._give_back(self._take())
            except Exception:  # noqa: BLE001 - see above
                pass

        with self._lock:
            if self._warming is None and not self._idle:
                self._warming = threading.Thread(target=start, daemon=True, name="mlcourse-judge-start")
                self._warming.start()

    def _take(self, kept: tuple[Any, str, int] | None = None) -> _Worker:
        """An idle worker (the one keeping the inputs ``kept`` when there is one), else a new one."""
        warming = self._warming
        if warming is not None and warming is not threading.current_thread():
            warming.join()  # the worker it starts is the one to take
        with self._lock:
            for worker in [w for w in self._idle if kept in w.drawn] if kept else []:
                self._idle.remove(worker)
                if worker.process.is_alive():
                    return worker
                worker.close()
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

    def draw(self, exercises: Sequence[Exercise], lesson: str, seeds: dict[str, int]) -> dict[str, tuple[str, Any]]:
        """Draw the exercises' inputs from their seeds in a worker, which keeps them for :meth:`judge`.

        Returns exercise id -> ``("ok", plain inputs)`` for the child, or
        ``("raised", "Type: message")`` when the definition failed to make
        them. An exercise missing from the answer was not drawn in a worker
        (none could start, or it ran out of time or memory): the caller
        draws it itself. Never raises.
        """
        wanted = [(ex.id, seeds[ex.id]) for ex in exercises]
        if not wanted:
            return {}
        where = _definitions(lesson)
        try:
            worker = self._take()
        except Exception:  # noqa: BLE001 - no worker process here: the caller draws (judge() says why)
            return {}
        healthy = False
        try:
            worker.conn.send(("draw", where, wanted))
            if not worker.conn.poll(self.seconds):
                return {}
            kind, value, cpu = worker.conn.recv()
            healthy = True
        except (EOFError, OSError, BrokenPipeError, ValueError):
            return {}
        finally:
            if healthy:
                worker.drawn = {(where, ex_id, seed) for ex_id, seed in wanted} if kind == "ok" else set()
                self._give_back(worker)
            else:
                worker.close()
        self._spent(cpu)
        return value if kind == "ok" and isinstance(value, dict) else {}

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
        kept = (where, ex.id, seed)
        try:
            worker = self._take(kept)
        except Exception as exc:  # noqa: BLE001 - no worker process here: judge unbounded, and say so once
            from mlcourse.grading.sandbox import warn_once

            warn_once("judges", f"the grader cannot start its checking processes ({exc}); checks run unbounded in the grader")
            return ex.judge(probed, ex.make_inputs(seed), answer_sources=answer_sources, other_sources=other_sources)
        worker.drawn.discard(kept)  # the worker lets go of them as it judges
        healthy = False
        try:
            worker.conn.send(("judge", where, ex.id, seed, probed, list(answer_sources), list(other_sources)))
            if not worker.conn.poll(seconds):
                return _failed(ex, f"checking it took longer than the grader allows ({round(seconds, 1):g} s)")
            kind, value, cpu = worker.conn.recv()
            healthy = True
        except (EOFError, OSError, BrokenPipeError):
            return _failed(ex, "checking it stopped the grader's checking process (it may have needed too much memory)")
        finally:
            if healthy:
                self._give_back(worker)
            else:
                worker.close()
        self._spent(cpu)
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
