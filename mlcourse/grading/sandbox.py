"""The grader's side of the sandbox: the fork server and one child's session.

:class:`Zygote` starts the fork server (:mod:`mlcourse.grading.zygote`) once
and asks it for children. :class:`Session` is one child running one notebook:
it sends cells and probes one at a time, each with a fresh token, and enforces
from here, the grader's process, the limits a child cannot lift:

* **time**: a deadline per cell or probe and one for the whole submission;
* **output**: stdout and stderr arrive on a pipe the grader drains and counts,
  never parses; past the limit the child is stopped;
* **clean kill**: the child's whole process group is killed with
  ``os.killpg`` (and, through the fork server, anything that escaped it).

Memory, file size and CPU limits are ``setrlimit`` limits set in the child by
:mod:`mlcourse.grading.isolation` before the learner's code runs; the limits
themselves are defined in :mod:`mlcourse.grading.limits`.

A session also talks to the child's keeper (:mod:`.keeper`) over a control
socket: :meth:`Session.point` takes a fork point before a cell,
:meth:`Session.resume` goes back to the latest one before a failed cell (new
pipes, the same child), and the keeper says how the runner ended. A child may
be forked from a shared checkpoint of the lesson's trusted cells
(:mod:`.checkpoint`): :attr:`Session.checkpoint` says whether it was, and
from which cell the session goes on.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from mlcourse.grading import messages
from mlcourse.grading.limits import Limits

log = logging.getLogger("mlcourse.grading")

START_TIMEOUT = 30.0  # a child's set-up, before any learner code
ZYGOTE_TIMEOUT = 180.0  # importing the heavy libraries on a loaded machine
KEEPER_TIMEOUT = 30.0  # the keeper stopping a runner and waking a fork point
# Shared checkpoints kept by the fork server, and the memory they may hold together.
CHECKPOINTS = 4
CHECKPOINT_MB = 1024.0


class SandboxError(RuntimeError):
    """The grader's own machinery failed (not the learner's code)."""


_warned: set[str] = set()
_warn_lock = threading.Lock()


def warn_once(key: str, text: str) -> None:
    """Log a warning the first time ``key`` is seen in this process."""
    with _warn_lock:
        if key in _warned:
            return
        _warned.add(key)
    log.warning(text)


# --------------------------------------------------------------------------
# The fork server
# --------------------------------------------------------------------------
class Zygote:
    """A handle on the fork server process; safe to share between threads.

    Examples
    --------
    >>> with Zygote() as z:  # doctest: +SKIP
    ...     z.hello["loaded"]["pandas"]
    True
    """

    def __init__(self, checkpoints: int = CHECKPOINTS, checkpoint_mb: float = CHECKPOINT_MB) -> None:
        self.checkpoints = checkpoints
        self.checkpoint_mb = checkpoint_mb
        self._stats: dict | None = None
        self._folders: str | None = None  # the checkpoints' folders, while this fork server lives
        self._folder_lock = threading.Lock()
        self._lock = threading.Lock()
        self._cond = threading.Condition()
        self._proc: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._spawned: dict[int, Any] = {}
        self._exits: dict[int, int] = {}
        self._next = 0
        self._alive = False
        self.hello: dict = {}
        self.starts = 0
        self.fork_cpu: dict[int, float] = {}  # CPU seconds the fork server spent forking each child

    # -- life cycle ---------------------------------------------------------
    def start(self) -> None:
        from mlcourse.grading.zygote import zygote_env

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = zygote_env(dict(os.environ))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "mlcourse.grading.zygote", str(theirs.fileno()), str(self.checkpoints), str(self.checkpoint_mb)],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env=env,
            # A session of its own: the instructor's terminal is not its
            # controlling terminal, so no child can ever open /dev/tty.
            start_new_session=True,
        )
        theirs.close()
        ours.settimeout(ZYGOTE_TIMEOUT)
        try:
            data = ours.recv(1 << 20)
        except OSError as exc:
            self._proc.kill()
            raise SandboxError(f"the grading fork server did not start: {exc}") from None
        msg = json.loads(data) if data else {"fatal": "it exited at start"}
        if "hello" not in msg:
            self._proc.kill()
            raise SandboxError(f"the grading fork server failed: {msg.get('fatal')}")
        ours.settimeout(None)
        self.hello = msg["hello"]
        self._sock = ours
        self._alive = True
        self.starts += 1
        for name, why in self.hello.get("failed", {}).items():
            warn_once(f"preload:{name}", f"could not preload {name} in the grading fork server ({why})")
        threading.Thread(target=self._reader, args=(ours,), name="mlcourse-zygote-reader", daemon=True).start()

    def _reader(self, sock: socket.socket) -> None:
        while True:
            try:
                data = sock.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                break
            try:
                msg = json.loads(data)
            except ValueError:
                continue
            with self._cond:
                if "spawned" in msg or "spawn_failed" in msg:
                    key = msg.get("spawned", msg.get("spawn_failed"))
                    self._spawned[key] = msg
                elif "exit" in msg:
                    self._exits[msg["exit"]] = (msg.get("status", 0), msg.get("cpu"))
                elif "stats" in msg:
                    self._stats = msg["stats"]
                self._cond.notify_all()
        with self._cond:
            if self._sock is sock:
                self._alive = False
            self._cond.notify_all()

    def _ensure(self) -> None:
        if not self._alive:
            if self._proc is not None:
                self.close()
            self.start()

    def checkpoint_folder(self, key: str, cells: list[str]) -> tuple[str, str]:
        """An empty folder for the checkpoint's root (mounted on only in its own
        namespace) and the file of its cells, kept until :meth:`close`."""
        with self._folder_lock:
            if self._folders is None:
                self._folders = tempfile.mkdtemp(prefix="mlcourse-checkpoints-")
            folder = os.path.join(self._folders, key[:32])
            cells_file = os.path.join(folder, "cells.json")
            if not os.path.exists(cells_file):
                os.makedirs(os.path.join(folder, "root"), exist_ok=True)
                with open(cells_file + ".tmp", "w", encoding="utf-8") as fh:
                    json.dump(cells, fh)
                os.replace(cells_file + ".tmp", cells_file)
            return os.path.join(folder, "root"), cells_file

    def close(self) -> None:
        proc, sock = self._proc, self._sock
        self._alive = False
        self._sock = None
        self._proc = None
        if sock is not None:
            try:
                sock.send(b'{"op": "quit"}')
            except OSError:
                pass
            sock.close()
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with self._folder_lock:
            if self._folders is not None:
                shutil.rmtree(self._folders, ignore_errors=True)
                self._folders = None

    def __enter__(self) -> Zygote:
        with self._lock:
            self._ensure()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- children -------------------------------------------------------------
    def spawn(self, settings: dict, fds: list[int], timeout: float = START_TIMEOUT) -> tuple[int, dict]:
        """Fork a child with these settings and pipe ends; return its pid and
        how it was made (``{"used": bool, ...}`` for a shared checkpoint).

        A fork server that died (killed, out of memory) is replaced once.
        ``timeout`` covers making a checkpoint the child is forked from.
        """
        try:
            return self._spawn(settings, fds, timeout)
        except SandboxError as exc:
            if self._alive:
                raise
            log.warning(f"the grading fork server stopped ({exc}); starting a new one")
            return self._spawn(settings, fds, timeout)

    def _spawn(self, settings: dict, fds: list[int], timeout: float) -> tuple[int, dict]:
        with self._lock:
            self._ensure()
            self._next += 1
            key = self._next
            message = json.dumps({"op": "spawn", "id": key, "settings": settings}).encode()
            try:
                socket.send_fds(self._sock, [message], fds)
            except OSError as exc:
                self._alive = False
                raise SandboxError(f"could not reach the grading fork server: {exc}") from None
        deadline = time.monotonic() + timeout
        with self._cond:
            while key not in self._spawned:
                left = deadline - time.monotonic()
                if left <= 0 or not self._alive:
                    raise SandboxError("the grading fork server did not answer")
                self._cond.wait(left)
            reply = self._spawned.pop(key)
        if "pid" not in reply:
            raise SandboxError(f"could not start a child: {reply.get('error')}")
        self.fork_cpu[int(reply["pid"])] = float(reply.get("cpu") or 0.0)
        return int(reply["pid"]), dict(reply.get("checkpoint") or {})

    def stats(self, timeout: float = 5.0) -> dict:
        """The fork server's peak memory and its checkpoints (see :meth:`.checkpoint.Table.report`)."""
        with self._lock:
            if not self._alive or self._sock is None:
                return {}
            self._stats = None
            try:
                self._sock.send(b'{"op": "stats"}')
            except OSError:
                return {}
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._stats is None:
                left = deadline - time.monotonic()
                if left <= 0 or not self._alive:
                    return {}
                self._cond.wait(left)
            return dict(self._stats)

    def kill(self, pid: int) -> None:
        """Kill a child's process group, and anything that escaped it."""
        # From here first: the group is killed even if the fork server is busy.
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        with self._lock:
            if self._alive and self._sock is not None:
                try:
                    self._sock.send(json.dumps({"op": "kill", "pid": pid}).encode())
                except OSError:
                    pass

    def exit_info(self, pid: int, timeout: float = 2.0) -> tuple[int | None, float | None]:
        """``(wait status, CPU seconds)`` of a child once the fork server has reaped it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while pid not in self._exits:
                left = deadline - time.monotonic()
                if left <= 0 or not self._alive:
                    return None, None
                self._cond.wait(left)
            return self._exits.pop(pid)


def _proc_cpu(pid: int) -> float:
    """CPU seconds of a live process and its waited-for children, from /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        ticks = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        return ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a live process and all its live descendants (and what they waited for)."""
    total, todo, seen = 0.0, [pid], set()
    while todo and len(seen) < 10_000:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += _proc_cpu(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            pass
    return total


def describe_status(status: int | None) -> str:
    """A learner-readable account of how a process ended.

    Examples
    --------
    >>> describe_status(0)
    'the Python process ended (exit status 0: os._exit() or a crash)'
    >>> describe_status(11)
    'the Python process crashed (SIGSEGV)'
    """
    if status is None:
        return "the Python process ended unexpectedly"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        if sig == signal.SIGXCPU:
            return "the Python process used up its CPU time (SIGXCPU)"
        if sig == signal.SIGKILL:
            return "the Python process was killed (SIGKILL; out of memory?)"
        return f"the Python process crashed ({name})"
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
    return f"the Python process ended (exit status {code}: os._exit() or a crash)"


# --------------------------------------------------------------------------
# One child, one run of a notebook
# --------------------------------------------------------------------------
@dataclass
class Reply:
    """The outcome of one request to the child.

    ``kind`` is ``"ok"`` (``message`` holds the child's answer), ``"timeout"``,
    ``"died"``, ``"output"`` (printed past the limit), ``"oversize"`` (an
    answer too large to read) or ``"budget"`` (the submission's total time ran
    out). ``acked`` says whether the child had started on the request.
    """

    kind: str
    message: dict = field(default_factory=dict)
    detail: str = ""
    acked: bool = False
    seconds: float = 0.0


class Session:
    """One sandboxed child: start it, send it requests, stop it.

    Parameters
    ----------
    zygote : Zygote
        Where children come from.
    settings : dict
        What the child needs: the exercises' specs and probe modules, folders
        to hide, its fallback working directory (see :func:`session_settings`).
    limits : Limits
        The submission's limits.
    deadline : float
        ``time.monotonic()`` value when the submission's total time runs out.
    cgroup : Cgroup or None
        The cgroup this run's processes join (:mod:`.cgroups`); the session
        asks it whether a death was the memory limit.
    """

    def __init__(self, zygote: Zygote, settings: dict, limits: Limits, deadline: float, cgroup: Any = None) -> None:
        self.zygote = zygote
        self.cgroup = cgroup
        # The start-up messages carry their own one-time token too.
        self._start_token = secrets.token_hex(16)
        self.settings = {**settings, "limits": limits.for_child(), "token": self._start_token}
        self.limits = limits
        self.deadline = deadline
        self.pid: int | None = None
        self.hello: dict = {}
        self.checkpoint: dict = {}  # {"used": True, "position": cells already run} or {"used": False, "why": ...}
        self.bogus = 0  # lines on the private pipe that answered nothing we asked
        self._resp: int | None = None
        self._req: int | None = None
        self._out: int | None = None
        self._ctl: socket.socket | None = None  # to the child's keeper
        self._buf = b""
        self._tail = b""
        self._dead = False  # the whole child is gone (or was killed)
        self._stopped = False  # the runner answers nothing more (until a resume)
        self.resumes = 0
        self.cpu: float | None = None  # the child's CPU seconds, once it is reaped
        self.init_pid: int | None = None  # the namespace's first process (the keeper), as the host sees it

    # -- start and stop -------------------------------------------------------
    def start(self) -> None:
        """Fork the child and wait for its hello; raise SandboxError if it cannot start."""
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        out_r, out_w = os.pipe()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        cgroup = self._cgroup_files()
        settings = {**self.settings, "cgroup": len(cgroup)}
        # Making the checkpoint a child is forked from runs the lesson's cells once.
        wait = max(START_TIMEOUT, self.deadline - time.monotonic()) if settings.get("checkpoint") else START_TIMEOUT
        try:
            self.pid, self.checkpoint = self.zygote.spawn(settings, [req_r, resp_w, out_w, theirs.fileno(), *cgroup], wait)
        except BaseException:
            ours.close()
            raise
        finally:
            for fd in (req_r, resp_w, out_w, *cgroup):
                os.close(fd)
            theirs.close()
        self._req, self._resp, self._out, self._ctl = req_w, resp_r, out_r, ours
        os.set_blocking(req_w, False)
        deadline = min(time.monotonic() + START_TIMEOUT, self.deadline + START_TIMEOUT)
        while not self.hello:
            kind, msg = self._next_message(deadline, self._start_token, messages.MAX_REPLY)
            if kind != "ok":
                self.close()
                raise SandboxError(f"the sandboxed child did not start ({kind})")
            if "fatal" in msg:
                self.close()
                raise SandboxError(f"the sandboxed child could not be set up: {msg['fatal']}")
            if "hello" in msg and isinstance(msg["hello"], dict):
                self.hello = msg["hello"]
            if isinstance(msg.get("init_pid"), int):
                self.init_pid = msg["init_pid"]

    def _cgroup_files(self) -> list[int]:
        """The run's ``cgroup.procs`` files, opened here: the child joins by writing to them."""
        fds = []
        for path in self.settings.get("cgroup") or []:
            try:
                fds.append(os.open(path, os.O_WRONLY | os.O_CLOEXEC))
            except OSError as exc:
                warn_once(f"cgroup:{exc.strerror}", f"sandbox: cannot open {path} ({exc.strerror})")
        return fds

    def close(self) -> None:
        """Kill the child's process group and release the pipes."""
        if self.pid is not None and not self._dead:
            # Killed, it will never be waited for by its parent: read its CPU
            # time (and that of what it waited for) now.
            used = _tree_cpu(self.init_pid) if self.init_pid else 0.0
            self.zygote.kill(self.pid)
            _, own = self.zygote.exit_info(self.pid)
            self.cpu = used + (own or 0.0)
        if self.pid is not None:
            self.cpu = (self.cpu or 0.0) + self.zygote.fork_cpu.pop(self.pid, 0.0)
        self._dead = self._stopped = True
        self._close_pipes()
        if self._ctl is not None:
            self._ctl.close()
            self._ctl = None

    def _close_pipes(self) -> None:
        for fd in (self._req, self._resp, self._out):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._req = self._resp = self._out = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def stopped(self) -> bool:
        """Whether the runner answers no more requests (until :meth:`resume`)."""
        return self._dead or self._stopped

    @property
    def output_tail(self) -> str:
        """The last bytes the child printed (for a crash report)."""
        return self._tail.decode("utf-8", "replace")

    # -- the keeper ---------------------------------------------------------------
    def _keeper(self, message: dict, fds: list[int] = (), timeout: float = KEEPER_TIMEOUT) -> dict | None:
        """One request to the child's keeper and its answer (None: no answer)."""
        if self._ctl is None or self._dead:
            return None
        try:
            socket.send_fds(self._ctl, [json.dumps(message).encode()], list(fds))
            poller = select.poll()
            poller.register(self._ctl, select.POLLIN)
            if not poller.poll(int(timeout * 1000)):
                return None
            answer = json.loads(self._ctl.recv(1 << 16) or b"null")
        except (OSError, ValueError):
            return None
        return answer if isinstance(answer, dict) else None

    def _runner_status(self) -> int | None:
        """How the runner ended, as the keeper saw it; else how the whole child did."""
        answer = self._keeper({"op": "status"}, timeout=2.0)
        if answer is not None and isinstance(answer.get("status"), int):
            return answer["status"]
        if answer is None and self.pid is not None:  # the keeper is gone too
            status, self.cpu = self.zygote.exit_info(self.pid)
            return status
        return None

    def point(self, index: int) -> bool:
        """Ask the runner for a fork point before cell ``index``; whether one was taken.

        A runner that does not answer (its learner's code broke the request)
        is stopped: the caller replays without points.
        """
        reply = self.request({"op": "point", "index": index}, timeout=START_TIMEOUT)
        return reply.kind == "ok" and reply.message == {"point": True}

    def resume(self, before: int) -> int | None:
        """Stop the runner and go back to the latest fork point at or before cell ``before``.

        Returns the index of the cell to run next, or None when there is no
        usable point (the caller then starts a fresh child).
        """
        if self._dead:
            return None
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        out_r, out_w = os.pipe()
        answer = self._keeper({"op": "resume", "before": before}, [req_r, resp_w, out_w])
        for fd in (req_r, resp_w, out_w):
            os.close(fd)
        index = answer.get("resumed") if answer else None
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= before:
            for fd in (req_w, resp_r, out_r):
                os.close(fd)
            return None
        self._close_pipes()
        self._req, self._resp, self._out = req_w, resp_r, out_r
        os.set_blocking(req_w, False)
        self._buf = b""
        self._stopped = False
        self.resumes += 1
        return index

    # -- requests ---------------------------------------------------------------
    def request(self, op: dict, timeout: float | None = None) -> Reply:
        """Send one request and wait for its answer, within the limits.

        Only a line carrying this request's one-time token is read at all, and
        only within the bounds of :mod:`.messages`; a cell's answer comes back
        with its known fields only. A request that fails leaves the runner
        stopped: :meth:`resume` or :meth:`close` follows.

        Examples
        --------
        >>> session.request({"op": "cell", "source": "x = 1"})  # doctest: +SKIP
        Reply(kind='ok', message={'status': 'ok'}, ...)
        """
        if self._dead or self._stopped:
            return Reply("died", detail="the child had already stopped")
        token = secrets.token_hex(16)
        data = json.dumps({**op, "token": token}, allow_nan=True).encode() + b"\n"
        started = time.monotonic()
        own = started + (self.limits.cell_timeout if timeout is None else timeout)
        deadline = min(own, self.deadline)
        limit = messages.MAX_PROBE if op.get("op") == "probe" else messages.MAX_REPLY
        self._out_count = 0
        pending = bytearray(data)
        acked = False
        while True:
            kind, msg = self._next_message(deadline, token, limit, pending)
            elapsed = time.monotonic() - started
            if kind != "ok":
                if kind == "timeout" and self.deadline < own and time.monotonic() >= self.deadline:
                    kind = "budget"
                self._stopped = True
                if kind == "died":
                    return Reply("died", detail=self._why_died(self._runner_status()), acked=acked, seconds=elapsed)
                return Reply(kind, acked=acked, seconds=elapsed, detail=msg.get("why", ""))
            if msg == {"ack": True}:
                acked = True
                continue
            if op.get("op") == "cell":
                msg = messages.cell_reply(msg)
                if isinstance(msg, str):
                    self._stopped = True
                    return Reply("oversize", acked=acked, seconds=elapsed, detail=msg)
            return Reply("ok", message=msg, acked=acked, seconds=elapsed)

    def _why_died(self, status: int | None) -> str:
        if self.cgroup is not None and self.cgroup.oom_kills():
            return (
                f"the notebook's processes together went over the memory limit ({self.limits.memory_mb} MB) "
                "and the kernel killed one"
            )
        return describe_status(status)

    def _next_message(self, deadline: float, token: str, limit: int, pending: bytearray | None = None) -> tuple[str, dict]:
        """Pump the pipes until a whole message with ``token`` arrives, or a limit is hit."""
        cap = int(self.limits.output_mb * 1024 * 1024)
        prefix = token.encode() + b" "
        while True:
            while b"\n" in self._buf:
                line, _, self._buf = self._buf.partition(b"\n")
                if not line.startswith(prefix):
                    # Not the answer to this request: dropped unread.
                    self.bogus += 1
                    if self.bogus > messages.MAX_BOGUS:
                        return "oversize", {"why": f"over {messages.MAX_BOGUS:,} forged or stray messages"}
                    continue
                msg = messages.accept(line[len(prefix) :], limit)
                if isinstance(msg, str):
                    return "oversize", {"why": msg}
                return "ok", msg
            if len(self._buf) > limit + len(prefix):
                return "oversize", {"why": f"a message of over {limit:,} bytes"}
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout", {}
            poller = select.poll()
            if self._resp is not None:
                poller.register(self._resp, select.POLLIN)
            if self._out is not None:
                poller.register(self._out, select.POLLIN)
            if pending and self._req is not None:
                poller.register(self._req, select.POLLOUT)
            events = poller.poll(max(1, int(left * 1000)))
            for fd, ev in events:
                if fd == self._req:
                    if ev & (select.POLLERR | select.POLLHUP):
                        return "died", {}
                    try:
                        n = os.write(fd, pending[: 1 << 16])
                        del pending[:n]
                    except BlockingIOError:
                        pass
                    except (BrokenPipeError, OSError):
                        return "died", {}
                elif fd == self._out:
                    chunk = os.read(fd, 1 << 16)
                    if not chunk:
                        os.close(fd)
                        self._out = None
                        continue
                    self._out_count = getattr(self, "_out_count", 0) + len(chunk)
                    self._tail = (self._tail + chunk)[-2000:]
                    if self._out_count > cap:
                        return "output", {}
                elif fd == self._resp:
                    chunk = os.read(fd, 1 << 20)
                    if not chunk:
                        return "died", {}
                    self._buf += chunk


def session_settings(
    *,
    workdir: str,
    hide: list[str],
    exercises: list[dict] | None = None,
    probe_modules: dict[str, str | None] | None = None,
    namespaces: bool = True,
    hardened: bool = True,
    cgroup: list[str] | None = None,
) -> dict:
    """The settings a child needs (plain data: they cross to the fork server).

    ``workdir`` is an empty folder of the grader's: the new root is built on
    it, or, without namespaces, it is the child's working folder. ``hide``
    names paths inside the child's view to cover (the answer key);
    ``hardened=False`` is the isolation before the allow-list (for the
    benchmark): no new session, IPC/UTS namespaces, cgroup or seccomp, and
    ``hide`` then lists whatever must be hidden from the host's view.
    ``exercises`` are the exercises' specs (:meth:`Exercise.spec`: names, never
    references); ``probe_modules`` names the lesson probe modules they use,
    each with its file for one the fork server has not loaded.
    """
    return {
        "exercises": list(exercises or []),
        "probe_modules": dict(probe_modules or {}),
        "workdir": workdir,
        "hide": hide,
        "namespaces": namespaces,
        "hardened": hardened,
        "cgroup": list(cgroup or []),
    }


__all__ = ["Limits", "Reply", "SandboxError", "Session", "Zygote", "describe_status", "session_settings", "warn_once"]
