"""Step 3, the fork server's side: shared checkpoints of a lesson's trusted cells.

Every submission of a lesson is rebuilt from the same trusted template
(:mod:`.rebuild`), so the cells before its first cell that is not the
template's own are the same for all of them. A **checkpoint** runs those
cells once, in a process forked from the fork server, and stops; each
submission's child is then forked from it instead of from the fork server and
runs only the cells after them (the grader picks the position:
:mod:`.prefix`).

A checkpoint holds trusted state only: it runs no learner code, ever. What
each submission must have of its own is applied after the fork, exactly as
for a child forked from the fork server (:mod:`.zygote`):

* the checkpoint enters new mount, network, IPC and UTS namespaces (and, for
  an unprivileged grader, a user namespace), builds its root from the
  allow-list (:func:`~.isolation.fresh_root`) and runs its cells there, as
  the user the children become (a root grader keeps root as its saved user
  id, to isolate each child);
* each submission forked from it takes a session of its own, joins its own
  cgroup, enters its own mount, network, PID, IPC and UTS namespaces, and
  gets its own ``/tmp`` and ``/dev/shm`` (fresh copies of the checkpoint's)
  and ``/proc`` (:func:`~.isolation.renew_scratch`); then the limits, the
  unprivileged user, the capabilities dropped and the seccomp filter, as
  always. Two submissions forked from one checkpoint share no file, process,
  IPC object or network.

A checkpoint is used only if its cells all ran cleanly within the cell time
limit and it can be forked whole: one thread, no child process, no open file
(a fork copies none of those), a scratch space small enough to copy. A
checkpoint that is not usable says why, once, and its lesson's submissions
are graded from the fork server as before: the grade is the same either way.

:class:`Table` is the fork server's book of checkpoints: at most ``limit``
live at once, their memory (the pages each holds of its own, measured when
it is ready) at most ``budget_mb`` together; the least recently used idle
one is stopped to make room. All the grader's worker threads share it
(``--jobs``). The checkpoint reports the exit of each child it forked; a
child outlives a stopped checkpoint (the fork server adopts it).

Examples
--------
>>> t = Table(limit=0, budget_mb=100)
>>> t.refuse({"key": "k"})
'shared checkpoints are turned off'
"""
from __future__ import annotations

import fcntl
import gc
import json
import os
import signal
import socket
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_MESSAGE = 1 << 20


def private_mb(pid: int | str = "self") -> float:
    """The memory a process holds of its own (its pages no other process maps), in MB."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return round(total / 1024, 1)


def peak_rss_mb(pid: int | str = "self") -> float:
    """A process's peak resident memory (``VmHWM``), in MB."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


# --------------------------------------------------------------------------
# The fork server's book
# --------------------------------------------------------------------------
@dataclass
class Checkpoint:
    """One live checkpoint, as the fork server sees it."""

    key: str
    pid: int
    sock: socket.socket
    position: int
    ready: bool = False
    memory_mb: float = 0.0
    seconds: float = 0.0
    used: float = field(default_factory=time.monotonic)
    # requests forwarded and not answered yet: id -> (message, file descriptors kept until then)
    inflight: dict[Any, tuple[dict, list[int]]] = field(default_factory=dict)
    forks: int = 0
    # Refused for now (the others held the memory and were busy), not for good:
    # its key may be made again once they are idle.
    for_now: bool = False


class Table:
    """The fork server's live checkpoints, their limits and their statistics.

    Parameters
    ----------
    limit : int
        Live checkpoints at once (0: none).
    budget_mb : float
        Memory the live checkpoints may hold together.
    """

    def __init__(self, limit: int, budget_mb: float) -> None:
        self.limit = limit
        self.budget_mb = budget_mb
        self.live: dict[str, Checkpoint] = {}
        self.failed: dict[str, str] = {}  # key -> why it is not used
        self.adopted: dict[int, str] = {}  # a child forked by a checkpoint -> its key
        self.stats = {"built": 0, "forks": 0, "stopped": 0, "refused": 0, "peak_mb": 0.0, "build_seconds": 0.0, "build_cpu": 0.0}

    def sockets(self) -> list[socket.socket]:
        return [c.sock for c in self.live.values()]

    def by_pid(self, pid: int) -> Checkpoint | None:
        return next((c for c in self.live.values() if c.pid == pid), None)

    def by_sock(self, sock: socket.socket) -> Checkpoint | None:
        return next((c for c in self.live.values() if c.sock is sock), None)

    def memory_mb(self) -> float:
        return round(sum(c.memory_mb for c in self.live.values()), 1)

    def refuse(self, spec: dict) -> str | None:
        """Why a request for this checkpoint cannot use one (None: it can)."""
        key = str(spec.get("key"))
        if self.limit <= 0:
            return "shared checkpoints are turned off"
        if key in self.failed:
            return self.failed[key]
        if key in self.live:
            return None
        while len(self.live) >= self.limit:
            idle = sorted((c for c in self.live.values() if not c.inflight), key=lambda c: c.used)
            if not idle:
                self.stats["refused"] += 1
                return f"all {self.limit} checkpoints are busy being made"
            self.stop(idle[0])
        return None

    def stop(self, cp: Checkpoint) -> list[tuple[dict, list[int]]]:
        """Stop a checkpoint; its unanswered requests are returned (to fork from the fork server)."""
        self.live.pop(cp.key, None)
        try:
            os.killpg(cp.pid, signal.SIGKILL)
        except OSError:
            pass
        cp.sock.close()
        self.stats["stopped"] += 1
        pending = list(cp.inflight.values())
        cp.inflight.clear()
        return pending

    def fail(self, cp: Checkpoint, why: str) -> list[tuple[dict, list[int]]]:
        """Stop a checkpoint that cannot be used, and remember why (unless refused only for now)."""
        if not cp.for_now:
            self.failed[cp.key] = why
        return self.stop(cp)

    def ready(self, cp: Checkpoint, report: dict) -> str | None:
        """A checkpoint that finished its cells: count its memory; why it cannot be kept (None: kept)."""
        cp.ready = True
        cp.memory_mb = float(report.get("memory_mb") or private_mb(cp.pid))
        cp.seconds = float(report.get("seconds") or 0.0)
        self.stats["built"] += 1
        self.stats["build_seconds"] = round(self.stats["build_seconds"] + cp.seconds, 3)
        self.stats["build_cpu"] = round(self.stats["build_cpu"] + float(report.get("cpu") or 0.0), 3)
        if cp.memory_mb > self.budget_mb:
            return f"its cells hold {cp.memory_mb:g} MB, over the {self.budget_mb:g} MB for checkpoints"
        while self.memory_mb() > self.budget_mb:
            idle = sorted((c for c in self.live.values() if c is not cp and not c.inflight), key=lambda c: c.used)
            if not idle:
                # The others are forking children: the budget holds, this one
                # waits (its submissions fork from the fork server meanwhile).
                cp.for_now = True
                self.stats["refused"] += 1
                others = round(self.memory_mb() - cp.memory_mb, 1)
                return (f"the other checkpoints, busy, hold {others:g} MB of the {self.budget_mb:g} MB for checkpoints "
                        f"and it needs {cp.memory_mb:g} MB")
            self.stop(idle[0])
        self.stats["peak_mb"] = max(self.stats["peak_mb"], self.memory_mb())
        return None

    def report(self) -> dict:
        return {
            **self.stats,
            "live": len(self.live),
            "live_mb": self.memory_mb(),
            "failed": dict(self.failed),
            "checkpoints": [
                {"position": c.position, "memory_mb": c.memory_mb, "seconds": c.seconds, "forks": c.forks}
                for c in self.live.values()
            ],
        }


# --------------------------------------------------------------------------
# The checkpoint process
# --------------------------------------------------------------------------
class NotUsable(Exception):
    """Why a checkpoint cannot be used (said once by the grader)."""


def _send(sock: socket.socket, message: dict) -> None:
    try:
        sock.send(json.dumps(message).encode())
    except OSError:
        pass


def fork_safe(sock: socket.socket, allow: list[str], scratch_limits: tuple[int, int]) -> str | None:
    """Why this process cannot be forked whole for each submission (None: it can)."""
    from mlcourse.grading.isolation import SCRATCH, scratch_usage

    if len(os.listdir("/proc/self/task")) != 1:
        return "its cells leave threads running"
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/children") as fh:
            if fh.read().split():
                return "its cells leave processes running"
    opened = []
    for name in os.listdir("/proc/self/fd"):
        try:
            fd = int(name)
            st = os.fstat(fd)
        except (OSError, ValueError):
            continue
        if fd in (0, 1, 2, sock.fileno()):
            continue
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            read_only = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY
        except OSError:
            target, read_only = str(fd), False
        # A file of the installation read by a library (matplotlib's fonts):
        # each child closes it and opens its own (as children of the fork server do).
        if stat.S_ISREG(st.st_mode) and read_only and not any(target.startswith(s + "/") for s in SCRATCH):
            continue
        opened.append(target)
    if opened:
        return f"its cells leave files open ({', '.join(opened[:3])})"
    if any(a == s or a.startswith(s + "/") for a in allow for s in SCRATCH):
        return "the Python installation is inside /tmp, which each submission gets afresh"
    files, size = scratch_usage()
    most_files, most_bytes = scratch_limits
    if files > most_files or size > most_bytes:
        return f"its cells leave {files} files, {size / 2**20:.0f} MB in the scratch space, too much to copy for each submission"
    return None


def _run_cells(runner: Any, cells: list[str], timeout: float, safe: Callable[[], str | None]) -> float:
    """Run the trusted cells; stop at the first that fails or leaves what a fork does not copy."""
    started = time.perf_counter()
    for n, source in enumerate(cells):
        reply = runner.run_cell(source, timeout=timeout)
        first = next((line.strip() for line in source.splitlines() if line.strip()), "")[:60]
        if reply.get("status") != "ok":
            why = f"{reply.get('ename')}: {str(reply.get('evalue'))[:200]}"
            raise NotUsable(f"its cell {n + 1} (\"{first}\") does not run cleanly there ({why})")
        why = safe()  # said as soon as it is known: the rest need not run
        if why:
            raise NotUsable(f"{why} (from its cell {n + 1}, \"{first}\")")
    return time.perf_counter() - started


def run(
    settings: dict,
    sock: socket.socket,
    *,
    prepare: Callable[[dict], tuple[Any, list[str]]],
    spawn: Callable[[dict, list[int], list[int]], None],
) -> None:
    """The checkpoint process (forked by the fork server). Never returns.

    ``prepare(settings)`` enters the checkpoint's namespaces, builds its root,
    becomes the children's user and returns the runner (no channel yet) and
    what it could not do; ``spawn(settings, fds, close)`` is the submission's
    intermediate process (:func:`mlcourse.grading.zygote.spawned`).
    """
    from mlcourse.grading.isolation import silence_stdio

    spec = settings["checkpoint"]
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        # Nothing of the fork server's: its sockets, the pipes of the request
        # that started this checkpoint, the other checkpoints'.
        for name in os.listdir("/proc/self/fd"):
            if int(name) not in (0, 1, 2, sock.fileno()):
                try:
                    os.close(int(name))
                except OSError:
                    pass
        silence_stdio()  # what the trusted cells print goes nowhere
        runner, allow = prepare(settings)
        limits = (int(spec.get("max_files", 10_000)), int(spec.get("max_bytes", 256 * 2**20)))
        seconds = _run_cells(runner, list(spec["cells"]), float(spec["timeout"]), lambda: fork_safe(sock, allow, limits))
        # Nothing of the request that started it stays in its children's reach.
        spec.clear()
        settings.clear()
        # Every child shares these pages: keep the collector from touching them.
        gc.collect()
        gc.freeze()
        # Measured before any child shares its pages.
        cpu = os.times()
        _send(sock, {"ready": {"seconds": round(seconds, 3), "memory_mb": private_mb(), "cpu": round(cpu.user + cpu.system, 3)}})
    except NotUsable as exc:
        _send(sock, {"failed": str(exc)})
        os._exit(0)
    except BaseException as exc:  # noqa: BLE001 - reported to the fork server, which grades without it
        _send(sock, {"failed": f"it could not be made ({type(exc).__name__}: {exc})"})
        os._exit(0)
    try:
        serve(sock, spawn)
    finally:
        os._exit(0)


def serve(sock: socket.socket, spawn: Callable[[dict, list[int], list[int]], None]) -> None:
    """Fork a child per request; report each child's exit; until the fork server goes away."""
    from mlcourse.grading.isolation import exited_children, wait_ready, wake_on_child_exit

    wake_r, wake_w = wake_on_child_exit()
    children: set[int] = set()
    while True:
        ready = wait_ready([sock], wake_r)
        for pid, status, usage in exited_children() if children else ():
            children.discard(pid)
            _send(sock, {"exit": pid, "status": status, "cpu": round(usage.ru_utime + usage.ru_stime, 4)})
            if not children:  # nothing of ours left to report
                break
        if sock not in ready:
            continue
        try:
            data, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 8)
        except OSError:
            return
        if not data:
            return
        try:
            msg = json.loads(data)
        except ValueError:
            msg = {}
        if msg.get("op") != "spawn":
            for fd in fds:
                os.close(fd)
            continue
        try:
            pid = os.fork()
        except OSError as exc:
            for fd in fds:
                os.close(fd)
            _send(sock, {"spawn_failed": msg.get("id"), "error": str(exc)})
            continue
        if pid == 0:
            spawn(msg["settings"], list(fds), [sock.fileno(), wake_r, wake_w])
        for fd in fds:
            os.close(fd)
        children.add(pid)
        _send(sock, {"spawned": msg.get("id"), "pid": pid})


__all__ = ["Checkpoint", "NotUsable", "Table", "fork_safe", "peak_rss_mb", "private_mb", "run", "serve"]
