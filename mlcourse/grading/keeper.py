"""Step 3, the child's side: the keeper of a submission's fork points.

Each sandboxed child (see :mod:`.zygote`) starts as the *keeper*: once the
isolation is in place (namespaces, filesystem, limits, privileges, seccomp) it
forks the *runner* (:class:`~mlcourse.grading.runner.Runner`), which runs the
cells, and stays behind as the first process of the submission's PID
namespace. The learner's code never runs in it.

Before a cell the grader may ask the runner for a **fork point**: the runner
forks a copy of itself that waits, stopped, holding the notebook's state as it
was before that cell, and registers it here. When a cell then fails in a way
that needs a replay (it exits, crashes, times out, prints too much, or raises
after changing the notebook's variables), the grader asks the keeper to
*resume* the latest point before the failing cell instead of starting over:

1. every process of the namespace but the keeper and the points before the
   failing cell is killed (the runner and whatever it started);
2. a point is usable only if the scratch space (``/tmp``, ``/dev/shm``) and
   the System V IPC objects are exactly as they were when it was taken
   (:func:`fingerprint`): a fresh run would not see what the failing cell, or
   the cells since the point, wrote there;
3. the latest usable point gets fresh pipes to the grader and, once it says
   it is awake (a point the failing cell killed never does), becomes the
   runner; the grader runs the cells from that point on.

A point is taken only when the runner is alone (one thread, no child
process, no open file but its pipes): what a fork would not copy must not
exist. The keeper keeps at most :data:`MAX_POINTS`, answers for the runner's
exit status (the grader's message on a crash), and exits when the grader
closes its control socket. Only the keeper of a PID namespace resumes points:
it alone can find and kill everything the runner started.

Messages on the control socket (``SOCK_SEQPACKET``, one JSON object per
packet): ``{"op": "resume", "before": i}`` with three new pipe ends, answered
``{"resumed": j}`` (or ``null`` and why); ``{"op": "status"}``, answered
``{"status": wait status or null, "alive": bool}``.

Examples
--------
>>> fingerprint([]) == fingerprint([])
True
"""
from __future__ import annotations

import hashlib
import json
import os
import select
import signal
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Fork points kept at once: each holds the pages the runner changed since it
# was taken (memory counted in the submission's cgroup).
MAX_POINTS = 2
# A scratch space larger than this is not fingerprinted: its points are not used.
MAX_ENTRIES = 20_000
MAX_MESSAGE = 1 << 16
KILL_WAIT = 5.0  # seconds to wait for the killed processes to be gone


def fingerprint(roots: Iterable[str] = ("/tmp", "/dev/shm"), ipc: str | None = "/proc/sysvipc") -> str | None:
    """What a fresh run of the same cells would find outside the process: the
    scratch files (name, type, owner, mode, size, change times, inode) and the
    System V IPC objects. None when it cannot be read in full (a folder this
    process may not list, too many files).
    """
    h = hashlib.sha256()
    count = 0
    for root in roots:
        stack = [root]
        while stack:
            here = stack.pop()
            try:
                entries = sorted(os.scandir(here), key=lambda e: e.name)
            except OSError:
                return None
            for entry in entries:
                count += 1
                if count > MAX_ENTRIES:
                    return None
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    return None
                fields = (entry.path, st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
                h.update(repr(fields).encode("utf-8", "surrogateescape"))
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
    if ipc:
        for kind in ("shm", "msg", "sem"):
            try:
                with open(os.path.join(ipc, kind)) as fh:
                    # key, id, permissions, size and owner: not the attach counts and times.
                    rows = [line.split()[:4] for line in fh.read().splitlines()[1:]]
            except OSError:
                continue
            h.update(repr((kind, sorted(rows))).encode())
    return h.hexdigest()


def other_processes(known: set[int]) -> list[int]:
    """The processes of this PID namespace besides the keeper and ``known``."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != 1 and int(name) not in known:
            found.append(int(name))
    return found


def parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return int(fh.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class Point:
    """A fork point: the copy of the runner taken before cell ``index``."""

    index: int
    pid: int
    sock: socket.socket
    scratch: str


class Keeper:
    """The keeper's state and loop (see the module docstring).

    Parameters
    ----------
    ctl : socket.socket
        The control socket to the grader.
    points : socket.socket
        The keeper's end of the socket the runner registers points on.
    runner : int
        The first runner's pid.
    """

    def __init__(self, ctl: socket.socket, points: socket.socket, runner: int) -> None:
        self.ctl = ctl
        self.points_sock: socket.socket | None = points
        self.runner = runner
        self.status: int | None = None  # the current runner's wait status, once reaped
        self.points: list[Point] = []
        self.enabled = os.getpid() == 1  # only the namespace's first process can resume

    # -- children -----------------------------------------------------------
    def reap(self) -> None:
        from mlcourse.grading.isolation import exited_children

        for pid, status, _ in exited_children():
            if pid == self.runner:
                self.status = status
            self.points = [p for p in self.points if p.pid != pid or self._drop(p, kill=False)]

    def _drop(self, point: Point, kill: bool = True) -> bool:
        """Forget a point (closing its socket ends it); always False, for filters."""
        try:
            point.sock.close()
        except OSError:
            pass
        if kill:
            try:
                os.kill(point.pid, signal.SIGKILL)
            except OSError:
                pass
        return False

    # -- registrations from the runner -----------------------------------------
    def register(self) -> None:
        sock = self.points_sock
        assert sock is not None
        try:
            data, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 1)
        except OSError:
            data, fds = b"", []
        if not data:
            for fd in fds:
                os.close(fd)
            sock.close()
            self.points_sock = None  # the runner closed its end: no more points
            return
        why = None
        point = None
        try:
            msg = json.loads(data)
            index, pid = int(msg["index"]), int(msg["pid"])
            if len(fds) != 1:
                raise ValueError("no socket")
            point = Point(index, pid, socket.socket(fileno=fds.pop()), "")
        except (ValueError, KeyError, TypeError, OSError):
            why = "malformed registration"
        for fd in fds:
            os.close(fd)
        if point is not None:
            why = self._accept(point)
            if why:
                self._drop(point)
        try:
            sock.send(json.dumps({"ok": why is None, "why": why}).encode())
        except OSError:
            pass

    def _accept(self, point: Point) -> str | None:
        if not self.enabled:
            return "no PID namespace of its own"
        if parent_of(point.pid) != os.getpid():
            return "not a copy of the runner"
        others = other_processes({self.runner, point.pid, *(p.pid for p in self.points)})
        if others:
            return "other processes are running"
        scratch = fingerprint()
        if scratch is None:
            return "the scratch space cannot be read in full"
        point.scratch = scratch
        self.points.append(point)
        while len(self.points) > MAX_POINTS:
            self._drop(self.points.pop(0))
        return None

    # -- requests from the grader ------------------------------------------------
    def kill_all_but(self, keep: set[int]) -> bool:
        """Kill every process of the namespace but the keeper and ``keep``; True once they are gone."""
        deadline = time.monotonic() + KILL_WAIT
        while True:
            self.reap()
            left = other_processes(keep)
            if not left:
                return True
            if time.monotonic() > deadline:
                return False
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.002)

    def resume(self, before: int, fds: list[int]) -> dict:
        """Kill the runner and what it started; wake the latest usable point at or before ``before``."""
        try:
            if not self.enabled:
                return {"resumed": None, "why": "no PID namespace of its own"}
            for p in [p for p in self.points if p.index > before]:
                self._drop(p)
            self.points = [p for p in self.points if p.index <= before]
            if not self.kill_all_but({p.pid for p in self.points}):
                return {"resumed": None, "why": "the runner's processes could not be stopped"}
            self.reap()
            scratch = fingerprint()
            while self.points:
                point = self.points.pop()
                if point.scratch != scratch:
                    self._drop(point)
                    continue
                try:
                    socket.send_fds(point.sock, [b'{"go": true}'], fds)
                    # It answers once awake: a point the learner's code killed
                    # just before (its SIGKILL still on its way) never does.
                    ready, _, _ = select.select([point.sock], [], [], KILL_WAIT)
                    woke = bool(ready) and point.sock.recv(64) == b'{"awake": true}'
                except OSError:
                    woke = False
                if not woke:
                    self._drop(point)
                    continue
                point.sock.close()
                self.runner, self.status = point.pid, None
                return {"resumed": point.index}
            return {"resumed": None, "why": "no fork point before that cell with the same files"}
        finally:
            for fd in fds:
                os.close(fd)

    def runner_status(self, wait: float = 2.0) -> dict:
        """How the runner ended. Its pipes close before it can be waited for: wait a little."""
        deadline = time.monotonic() + wait
        while True:
            self.reap()
            if self.status is not None or time.monotonic() > deadline:
                return {"status": self.status, "alive": self.status is None}
            time.sleep(0.005)

    def answer(self) -> bool:
        """Handle one request from the grader; False when the grader has gone."""
        try:
            data, fds, _, _ = socket.recv_fds(self.ctl, MAX_MESSAGE, 3)
        except OSError:
            return False
        if not data:
            return False
        try:
            msg = json.loads(data)
        except ValueError:
            msg = {}
        op = msg.get("op") if isinstance(msg, dict) else None
        if op == "resume" and len(fds) == 3 and isinstance(msg.get("before"), int):
            reply = self.resume(msg["before"], fds)
        else:
            for fd in fds:
                os.close(fd)
            if op == "status":
                reply = self.runner_status()
            else:
                reply = {"error": f"unknown request {op!r}"}
        try:
            self.ctl.send(json.dumps(reply).encode())
        except OSError:
            return False
        return True

    def serve(self) -> None:
        """Until the grader closes the control socket."""
        from mlcourse.grading.isolation import wait_ready, wake_on_child_exit

        wake_r, _ = wake_on_child_exit()
        while True:
            ready = wait_ready([self.ctl] + ([self.points_sock] if self.points_sock is not None else []), wake_r)
            self.reap()
            # The grader first: a runner flooding its registrations delays only itself.
            if self.ctl in ready and not self.answer():
                return
            if self.points_sock is not None and self.points_sock in ready:
                self.register()


def keep(ctl: socket.socket, start_runner: Callable[[socket.socket], None], runner_fds: Iterable[int]) -> None:
    """Fork the first runner (``start_runner(points socket)``, never returns), then keep. Never returns.

    ``runner_fds`` (its pipes to the grader) are the runner's alone: the
    grader sees the runner die when they close.
    """
    from mlcourse.grading.isolation import PR_SET_CHILD_SUBREAPER, prctl, silence_stdio

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        ours.close()
        ctl.close()
        start_runner(theirs)
        os._exit(0)
    theirs.close()
    for fd in runner_fds:
        os.close(fd)
    try:
        # Without a PID namespace what the runner leaves behind is re-parented here.
        if os.getpid() != 1:
            prctl(PR_SET_CHILD_SUBREAPER, 1)
        # Not readable or writable through /proc by the learner's processes (same user).
        prctl(PR_SET_DUMPABLE, 0)
    except OSError:
        pass
    silence_stdio()  # the output pipe belongs to the runner
    try:
        Keeper(ctl, ours, pid).serve()
    finally:
        os._exit(0)


PR_SET_DUMPABLE = 4

__all__ = ["MAX_POINTS", "Keeper", "Point", "fingerprint", "keep"]
