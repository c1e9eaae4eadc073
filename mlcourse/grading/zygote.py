"""The fork server: heavy libraries imported once, a fresh isolated child per run.

Started once per grading session as ``python -m mlcourse.grading.zygote FD
CHECKPOINTS CHECKPOINT_MB`` (see :class:`mlcourse.grading.sandbox.Zygote`).
At start it imports numpy, pandas, scikit-learn, matplotlib (Agg), IPython
and each lesson's probes (never its answer key: it refuses to start if a
``checks`` module got loaded), builds an IPython shell with its history
turned off and draws one figure, so fonts and caches are warm. Then, for each
request, it forks:

* the first fork (the *intermediate*) takes a session of its own (no
  controlling terminal), joins the submission's cgroup (:mod:`.cgroups`),
  enters new mount, network, PID, IPC and UTS namespaces, forks again and
  waits;
* the second fork (the *init* of the new PID namespace) builds its root from
  the allow-list (:data:`ALLOW`, :func:`~.isolation.fresh_root`), sets
  resource limits, drops its capabilities (and root, for an unprivileged
  user), loads the seccomp filter (:mod:`.seccomp`), then becomes the keeper
  (:mod:`.keeper`): it forks the runner, which serves the notebook's cells
  (:class:`~mlcourse.grading.runner.Runner`), and keeps its fork points.

A request may name a shared checkpoint of the lesson's trusted cells
(:mod:`.checkpoint`): the fork server then makes it once (a process forked
from here that runs those cells in namespaces and a root of its own) and has
it fork the intermediate instead; what each submission must have of its own
(session, cgroup, namespaces, scratch space, ``/proc``, limits, user,
capabilities, filter) is applied after that fork, as for a child forked from
here.

The fork server itself runs in a session of its own, started so by the
grader. It forgets each request once the child is forked: no child finds the
grader's settings, or another request's, in its memory.

Forking from here rather than from the grader matters twice: it costs a few
milliseconds instead of the ~2 s of imports, and the child inherits nothing of
the grader's state (other submissions, results, the gradebook).

Messages to and from the grader travel over a ``SOCK_SEQPACKET`` socket, one
JSON object per packet; a spawn request carries the child's three pipe ends,
its keeper's control socket and its cgroup files as ``SCM_RIGHTS`` file
descriptors.
"""
from __future__ import annotations

import gc
import importlib
import importlib.util
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from mlcourse.grading.isolation import FilesystemReport

# Imported in the zygote so that every child starts with them loaded. Keep the
# list to what lessons use: each entry costs start-up time once per batch.
PRELOAD = (
    "numpy",
    "pandas",
    "sklearn",
    "sklearn.base",
    "sklearn.pipeline",
    "sklearn.compose",
    "sklearn.preprocessing",
    "sklearn.impute",
    "sklearn.linear_model",
    "sklearn.tree",
    "sklearn.ensemble",
    "sklearn.model_selection",
    "sklearn.metrics",
    "sklearn.datasets",
    "sklearn.dummy",
    "joblib",
    "matplotlib",
    "matplotlib.pyplot",
    "IPython",
    "IPython.core.interactiveshell",
    "mlcourse",
    "mlcourse.paths",
    "mlcourse.exercises",
    "mlcourse.exercises.engine",
    "mlcourse.exercises.guard",
    "mlcourse.exercises.probes",
    "mlcourse.exercises.plain",
    "mlcourse.exercises.compare",
    "mlcourse.exercises.notebook",
    "mlcourse.exercises.store",
    "mlcourse.data",
    "mlcourse.data.validation",
    "mlcourse.train.training",
    "mlcourse.deploy.registry",
    "mlcourse.monitor.drift",
    "mlcourse.grading.isolation",
    "mlcourse.grading.seccomp",
    "mlcourse.grading.runner",
)

# What "the heavy libraries are loaded" means, checked in every child's hello.
HEAVY = ("numpy", "pandas", "sklearn", "matplotlib", "IPython")

THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")

SHELL: Any = None
PROTECT: list[str] = []  # the view before the allow-list only
ALLOW: list[str] = []
# Hidden from every child on top of what the grader names: where credentials
# usually live. Folders holding the Python installation are descended into.
ALWAYS_HIDE = ["/root", "/home", "/etc/shadow", "/etc/gshadow", "/etc/ssh", "/run/secrets", "/var/run/secrets"]


def zygote_env(base: dict[str, str]) -> dict[str, str]:
    """The zygote's environment: Agg plots and one BLAS thread per child.

    One thread because ``--jobs`` already uses the cores, and because a BLAS
    thread pool started before ``fork`` would be left broken in the child.
    """
    env = dict(base)
    from mlcourse.grading.seeds import ENV

    # The grader secret stays with the grader: children derive nothing from it.
    env.pop(ENV, None)
    env["MPLBACKEND"] = "Agg"
    for var in THREAD_ENV:
        env[var] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _protected_paths() -> list[str]:
    """What the child must still read when paths are hidden (the view before the allow-list)."""
    import mlcourse
    from mlcourse import paths

    found = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(mlcourse.__file__).resolve().parent)}
    for entry in sys.path:
        if entry and Path(entry).is_dir():
            found.add(str(Path(entry).resolve()))
    try:  # the learner templates; never the solutions, which are the answer key
        found.add(str(paths.lessons_dir("notebooks").resolve()))
    except Exception:  # noqa: BLE001 - a missing lessons folder protects nothing
        pass
    return sorted(found)


def allowed_paths() -> list[str]:
    """The allow-list of the child's filesystem: the Python installation and the
    mlcourse package, nothing else of the host (``/usr`` for the system's
    libraries and programs).

    Only the folders Python needs are named: a virtual environment inside the
    course's checkout, or an editable install of mlcourse, brings in the
    environment and the package folder, never the whole checkout.
    """
    import site

    import mlcourse

    wanted = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, os.path.dirname(mlcourse.__file__)]
    # Site folders on sys.path outside the prefixes: a user site, or one a
    # .pth file adds (an environment borrowing another's packages). Other
    # entries (a checkout an editable install points at, the working
    # directory) are not: they may hold anything.
    sites = [*site.getsitepackages(), site.getusersitepackages()]
    wanted += [e for e in sys.path if (e in sites or os.path.basename(e) in ("site-packages", "dist-packages")) and os.path.isdir(e)]
    found = {"/usr"}
    for path in wanted:
        # Both as Python names it and where it really is (a prefix behind a link).
        found.update({os.path.abspath(path), os.path.realpath(path)})
    return sorted(found)


def preload() -> dict:
    """Import what children need and build the shell; report what failed."""
    global SHELL, PROTECT, ALLOW
    start = time.perf_counter()
    # ``python -m`` put the grader's working directory first on sys.path; the
    # child must not depend on it (it may be a folder of submissions to hide).
    if sys.path and sys.path[0] in ("", os.getcwd()):
        sys.path.pop(0)
    home = os.path.expanduser("~")
    if home not in ALWAYS_HIDE:
        ALWAYS_HIDE.append(home)
    failed = {}
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - reported, never silently ignored
            failed[name] = f"{type(exc).__name__}: {exc}"
    try:
        from mlcourse.exercises.catalog import LESSONS, probes_module_name

        for lesson in LESSONS:
            name = probes_module_name(lesson)
            try:
                importlib.import_module(name)
            except Exception as exc:  # noqa: BLE001 - a lesson still being written
                failed[name] = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001
        failed["mlcourse.exercises"] = f"{type(exc).__name__}: {exc}"
    # Every child is forked from here: the answer key must not be in this process.
    key = sorted(n for n in sys.modules if n.startswith("mlcourse.exercises.") and n.endswith(".checks"))
    if key:
        raise RuntimeError(f"the answer key was imported into the fork server ({', '.join(key)}); refusing to grade")
    from mlcourse.grading import runner

    SHELL = runner.make_shell()
    runner.warm_up(SHELL)
    lessons = [m for name, m in sys.modules.items() if name.startswith("mlcourse.exercises.") and m is not None]
    runner.BASE = runner.trusted_snapshot(lessons)
    PROTECT = _protected_paths()
    ALLOW = allowed_paths()
    try:
        import pyseccomp  # noqa: F401 - loaded once here; each child only builds its filter
    except Exception:  # noqa: BLE001, S110 - each child says why it has no filter
        pass
    gc.collect()
    # Keep the preloaded objects out of the collector's way: fewer pages
    # touched (and copied) in each child.
    gc.freeze()
    return {
        "pid": os.getpid(),
        "seconds": round(time.perf_counter() - start, 3),
        "loaded": {name: name in sys.modules for name in HEAVY},
        "failed": failed,
        "threads": len(os.listdir(f"/proc/{os.getpid()}/task")) if Path("/proc/self/task").is_dir() else None,
    }


# --------------------------------------------------------------------------
# The child: intermediate process, then the namespace's init
# --------------------------------------------------------------------------
def _child_env(workdir: str) -> None:
    from mlcourse.exercises.catalog import GRADING_ENV

    path = os.environ.get("PATH", "/usr/bin:/bin")
    os.environ.clear()
    # Only what a notebook needs: no credentials or paths from the grader's
    # environment reach the learner's code.
    os.environ.update(
        {
            "PATH": path,
            "LANG": "C.UTF-8",
            "HOME": workdir,
            "TMPDIR": workdir,
            "MLCOURSE_HOME": os.path.join(workdir, ".mlcourse"),
            GRADING_ENV: "1",  # a graded run: no solutions, hints or progress
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": os.path.join(workdir, ".matplotlib"),
            "PYTHONDONTWRITEBYTECODE": "1",
            **{v: "1" for v in THREAD_ENV},
        }
    )


def _load_probes(settings: dict) -> tuple[dict, list]:
    """The probe plans of the exercises to grade, from their plain specs.

    Probes are looked up only in the probe modules the grader named (a lesson's
    ``probes.py``, preloaded here or loaded from its file); the answer key is
    never imported. The process becomes a graded run: ``lesson()`` gives
    stand-ins, and solutions and hints are off.
    """
    from mlcourse.exercises import catalog, probes
    from mlcourse.exercises.engine import plan_from_spec

    modules = {}
    for name, path in dict(settings.get("probe_modules") or {}).items():
        if not probes.allowed_module(name):
            raise ValueError(f"{name!r} is not a probe module")
        mod = sys.modules.get(name)
        if mod is None:
            try:
                mod = importlib.import_module(name)
            except ImportError:
                if not path:
                    raise
                spec = importlib.util.spec_from_file_location(name, path)
                if spec is None or spec.loader is None:
                    raise
                mod = importlib.util.module_from_spec(spec)
                sys.modules[name] = mod
                spec.loader.exec_module(mod)
        modules[name] = mod
    specs = list(settings.get("exercises") or [])
    plans = {str(spec["id"]): plan_from_spec(spec, modules) for spec in specs}
    catalog.enter_graded_run(specs)
    return plans, list(modules.values())


def _fresh_root(settings: dict, root: str, uid: int | None, gid: int | None) -> FilesystemReport:
    """The allow-listed root at ``root`` (:func:`.isolation.fresh_root`), owned by the child's ids."""
    from mlcourse.grading import isolation

    return isolation.fresh_root(
        root=root,
        allow=ALLOW,
        hide=settings.get("hide", []),
        scratch_mb=int(settings["limits"]["scratch_mb"]),
        uid=os.geteuid() if uid is None else uid,
        gid=os.getegid() if gid is None else gid,
    )


def _isolate(settings: dict, ns_problem: str | None) -> tuple[str, list[str]]:
    """The child's filesystem view and working folder; what could not be done."""
    from mlcourse.grading import isolation

    limits = settings["limits"]
    uid, gid = _child_ids()
    if ns_problem is not None:
        # No namespaces: the grader's own folder for this run, made the child's.
        workdir = settings["workdir"]
        if uid is not None:
            os.chown(workdir, uid, gid)
        return workdir, []
    if settings.get("hardened", True):
        report = _fresh_root(settings, settings["workdir"], uid, gid)
    else:
        report = isolation.isolate_filesystem(
            hide=[*settings.get("hide", []), *ALWAYS_HIDE],
            protect=PROTECT,
            fallback_workdir=settings["workdir"],
            scratch_mb=int(limits["scratch_mb"]),
        )
    return report.workdir, report.problems


def _child_ids() -> tuple[int | None, int | None]:
    """The unprivileged user a root grader's child becomes; (None, None) when not root."""
    from mlcourse.grading import isolation

    if os.geteuid() != 0:
        return None, None
    return isolation.CHILD_UID, isolation.CHILD_GID


def _init(settings: dict, fds: list[int], ns_problem: str | None, problems: list[str], checkpoint: Any = None) -> None:
    """The namespace's first process: isolate, limit, then keep (see :mod:`.keeper`). Never returns.

    ``checkpoint`` is the runner of the shared checkpoint this process was
    forked from (its cells ran already): this submission then gets its own
    scratch space and ``/proc`` instead of a whole new root.
    """
    from mlcourse.grading import isolation, keeper, seccomp
    from mlcourse.grading.runner import Channel, Runner

    req, resp, out, ctl = fds
    channel = Channel(req, resp)
    token = str(settings.get("token"))
    hardened = bool(settings.get("hardened", True))
    marks = {"start": time.perf_counter()}
    try:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        keep = {0, 1, 2, req, resp, ctl}
        try:
            open_fds = [int(name) for name in os.listdir("/proc/self/fd")]
        except OSError:  # no /proc: close everything below a generous bound
            open_fds = list(range(3, 4096))
        for fd in open_fds:
            if fd not in keep:
                try:
                    os.close(fd)
                except OSError:
                    pass
        marks["fds"] = time.perf_counter()
        limits = settings["limits"]
        if checkpoint is None:
            plans, modules = _load_probes(settings)
            marks["exercises"] = time.perf_counter()
            workdir, found = _isolate(settings, ns_problem)
        else:
            plans = checkpoint.exercises
            workdir, found = "/tmp/submission", isolation.renew_scratch(scratch_mb=int(limits["scratch_mb"]))
        problems += found
        marks["filesystem"] = time.perf_counter()
        os.chdir(workdir)
        if checkpoint is None:
            _child_env(workdir)
        isolation.set_limits(
            memory_mb=int(limits["memory_mb"]),
            fsize_mb=int(limits["fsize_mb"]),
            cpu_seconds=int(limits["cpu_seconds"]),
            mapped=None if checkpoint is None else CHECKPOINT_MAPPED,
        )
        # Without namespaces too: the child cannot mount, trace or signal
        # other users' processes, and (a root grader's) reads what nobody can.
        uid, gid = _child_ids() if hardened else (None, None)
        dropped = isolation.drop_privileges(uid, gid)
        if ns_problem is None or uid is not None:
            problems += dropped
        isolation.die_with_parent()
        marks["privileges"] = time.perf_counter()
        if hardened:
            why = seccomp.install()
            if why:
                problems.append(why)
        marks["seccomp"] = time.perf_counter()
        if checkpoint is None:
            runner = Runner(SHELL, channel, plans, modules)
        else:
            runner = checkpoint
            runner.attach(channel, None)
        marks["runner"] = time.perf_counter()
        steps = list(marks.items())
        hello = {
            "pid": os.getpid(),
            "isolation": "namespaces" if ns_problem is None else "fallback",
            "reason": ns_problem,
            "problems": problems,
            "workdir": workdir,
            "uid": os.geteuid(),
            "cgroup": bool(settings.get("cgroup")),
            "seccomp": hardened and not any(p.startswith("no seccomp") for p in problems),
            "loaded": {name: name in sys.modules for name in HEAVY},
            "exercises": sorted(plans),
            "setup_ms": {b[0]: round(1000 * (b[1] - a[1]), 1) for a, b in zip(steps, steps[1:])},
        }
        # Nothing of the grader's request stays in the learner's reach.
        settings.clear()
        channel.send(token, {"hello": hello})
    except BaseException as exc:  # noqa: BLE001 - reported to the grader as its own failure
        try:
            channel.send(token, {"fatal": f"{type(exc).__name__}: {exc}"})
        finally:
            os._exit(71)

    def start_runner(points: socket.socket) -> None:
        runner.attach(channel, points)
        try:
            runner.serve()
        finally:
            os._exit(0)

    keeper.keep(socket.socket(fileno=ctl), start_runner, [req, resp])


def _join_cgroup(files: list[int]) -> list[str]:
    """Move this process (and so all it will start) into the submission's cgroup.

    The grader opened each hierarchy's ``cgroup.procs``; writing 0 moves the
    writer (a child forked from a checkpoint has no ``/sys`` in view).
    """
    problems = []
    for fd in files:
        try:
            os.write(fd, b"0")
        except OSError as exc:
            problems.append(f"joining the submission's cgroup: {exc.strerror}")
        finally:
            os.close(fd)
    return problems


def spawned(settings: dict, fds: list[int], close: list[int], checkpoint: Any = None) -> None:
    """The intermediate process, forked by the fork server or by a checkpoint. Never returns.

    ``fds`` are the child's request, answer and output pipes, its control
    socket (to the keeper), then the submission's ``cgroup.procs`` files.
    """
    token = str(settings.get("token"))
    try:
        hardened = bool(settings.get("hardened", True))
        if hardened:
            # A session of its own: no controlling terminal, ever (and a
            # process group the grader can kill as a whole).
            os.setsid()
        else:
            os.setpgid(0, 0)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in close:
            try:
                os.close(fd)
            except OSError:
                pass
        req, resp, out, ctl, *cgroup = fds
        if checkpoint is not None and os.getresuid()[2] == 0 and os.geteuid() != 0:
            # The checkpoint ran its cells as the children's user, root kept
            # as the saved user: root again, to isolate this child.
            os.setresuid(0, 0, 0)
            os.setresgid(0, 0, 0)
        problems = _join_cgroup(cgroup)
        if not settings.get("namespaces", True):
            ns_problem: str | None = "namespaces were turned off"
        else:
            from mlcourse.grading.isolation import enter_namespaces

            # A checkpoint's child is privileged in the checkpoint's user namespace already.
            ns_problem = enter_namespaces(more=hardened, user=checkpoint is None)
            if ns_problem and checkpoint is not None:
                raise OSError(ns_problem)
    except BaseException as exc:  # noqa: BLE001 - the grader hears why (and grades without the checkpoint)
        try:
            os.write(fds[1], f"{token} ".encode() + json.dumps({"fatal": f"{type(exc).__name__}: {exc}"}).encode() + b"\n")
        except (OSError, IndexError):
            pass
        os._exit(70)
    try:
        pid = os.fork()
        if pid == 0:
            _init(settings, [req, resp, out, ctl], ns_problem, problems, checkpoint)
        os.close(req)
        os.close(out)
        os.close(ctl)
        try:
            os.write(resp, f"{settings['token']} ".encode() + json.dumps({"init_pid": pid}).encode() + b"\n")
        except OSError:
            pass
        os.close(resp)
        settings.clear()
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            # Die the same way, so the grader sees the signal (a crash, SIGXCPU...).
            signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
        os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 70)
    except BaseException:  # noqa: BLE001
        os._exit(70)


# --------------------------------------------------------------------------
# Shared checkpoints (see mlcourse.grading.checkpoint)
# --------------------------------------------------------------------------
def _prepare_checkpoint(settings: dict) -> tuple[Any, list[str]]:
    """In a new checkpoint process: its namespaces and root, the children's user; its runner."""
    from mlcourse.grading import isolation
    from mlcourse.grading.runner import Runner

    spec = settings["checkpoint"]
    limits = settings["limits"]
    if not settings.get("hardened", True) or not settings.get("namespaces", True):
        raise RuntimeError("a checkpoint needs the full isolation")
    problem = isolation.enter_namespaces(more=True, pid=False)
    if problem:
        raise RuntimeError(problem)
    plans, modules = _load_probes(settings)
    uid, gid = _child_ids()
    report = _fresh_root(settings, spec["root"], uid, gid)
    if report.problems:
        raise RuntimeError("; ".join(report.problems))
    os.chdir(report.workdir)
    _child_env(report.workdir)
    if uid is not None and gid is not None:
        # The trusted cells run as the children's user (their files are the
        # children's), root kept as the saved user to isolate each child.
        os.setgroups([])
        os.setresgid(gid, gid, 0)
        os.setresuid(uid, uid, 0)
    # The children's memory and file limits, as soft limits: a cell that
    # would fail under them in a child fails here too.
    import resource

    global CHECKPOINT_MAPPED
    CHECKPOINT_MAPPED = isolation.mapped_bytes()
    for which, value in (
        (resource.RLIMIT_AS, CHECKPOINT_MAPPED + int(limits["memory_mb"]) * 2**20),
        (resource.RLIMIT_FSIZE, int(limits["fsize_mb"]) * 2**20),
    ):
        _, hard = resource.getrlimit(which)
        resource.setrlimit(which, (value if hard == resource.RLIM_INFINITY else min(value, hard), hard))
    global CHECKPOINT
    CHECKPOINT = Runner(SHELL, None, plans, modules)
    return CHECKPOINT, ALLOW


def _start_checkpoint(server: _Server, msg: dict) -> Any:
    """Fork a checkpoint process for the request's checkpoint; its entry in the table."""
    from mlcourse.grading import checkpoint

    table = server.table
    settings = msg["settings"]
    spec = settings["checkpoint"]
    try:
        with open(spec["cells_file"], encoding="utf-8") as fh:
            cells = json.load(fh)
    except (OSError, ValueError) as exc:
        table.failed[spec["key"]] = f"its cells cannot be read ({exc})"
        return None
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        ours.close()
        own = {**settings, "checkpoint": {**spec, "cells": cells}}
        server.forget()
        msg.clear()
        checkpoint.run(own, theirs, prepare=_prepare_checkpoint, spawn=_spawn_from_checkpoint)
    theirs.close()
    cp = checkpoint.Checkpoint(key=spec["key"], pid=pid, sock=ours, position=int(spec.get("position", 0)))
    table.live[cp.key] = cp
    return cp


# Set in a checkpoint process: the runner its children serve with, and the
# address space it had before its cells (its children's memory limit counts them).
CHECKPOINT: Any = None
CHECKPOINT_MAPPED: int | None = None


def _spawn_from_checkpoint(settings: dict, fds: list[int], close: list[int]) -> None:
    spawned(settings, fds, close, CHECKPOINT)


# --------------------------------------------------------------------------
# The server loop
# --------------------------------------------------------------------------
def _send(sock: socket.socket, message: dict) -> None:
    try:
        sock.send(json.dumps(message).encode())
    except OSError:
        pass


def _sweep(keep: set[int]) -> None:
    """Kill orphans re-parented here (subreaper): what escaped a dead child's group."""
    path = Path(f"/proc/self/task/{os.getpid()}/children")
    try:
        pids = [int(p) for p in path.read_text().split()]
    except (OSError, ValueError):
        return
    for pid in pids:
        if pid not in keep:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


class _Server:
    """The fork server's state: its children, the checkpoints, the socket to the grader."""

    def __init__(self, sock: socket.socket, wake: list[int], checkpoints: int, checkpoint_mb: float) -> None:
        from mlcourse.grading.checkpoint import Table

        self.sock = sock
        self.wake = wake
        self.children: set[int] = set()
        self.table = Table(checkpoints, checkpoint_mb)

    def fork(self, msg: dict, fds: list[int], checkpoint: dict | None = None) -> None:
        """Fork a child from here; answer the grader."""
        before = time.process_time()
        try:
            pid = os.fork()
        except OSError as exc:
            for fd in fds:
                os.close(fd)
            _send(self.sock, {"spawn_failed": msg.get("id"), "error": str(exc)})
            return
        if pid == 0:
            close = [self.sock.fileno(), *self.wake, *(s.fileno() for s in self.table.sockets())]
            self.forget()
            spawned(msg["settings"], list(fds), close)
        for fd in fds:
            os.close(fd)
        self.children.add(pid)
        # The fork's cost lands on the zygote: report it with the child.
        reply = {"spawned": msg.get("id"), "pid": pid, "cpu": round(time.process_time() - before, 4)}
        if checkpoint is not None:
            reply["checkpoint"] = checkpoint
        _send(self.sock, reply)

    def forget(self) -> None:
        """In a process just forked from here: nothing of the other requests (their settings, their pipes)."""
        for cp in self.table.live.values():
            for m, fds in cp.inflight.values():
                m.clear()
                for fd in fds:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            cp.inflight.clear()
        self.table.adopted.clear()

    def spawn(self, msg: dict, fds: list[int]) -> None:
        spec = (msg.get("settings") or {}).get("checkpoint")
        if not spec:
            self.fork(msg, fds)
            return
        why = self.table.refuse(spec)
        cp = self.table.live.get(str(spec.get("key"))) if why is None else None
        if why is None and cp is None:
            cp = _start_checkpoint(self, msg)
            why = None if cp is not None else self.table.failed.get(str(spec.get("key")), "it could not be started")
        if cp is None:
            # Refused while the others are busy is for now only: the grader need not warn.
            for_now = self.table.limit > 0 and str(spec.get("key")) not in self.table.failed
            self.fork(msg, fds, {"used": False, "why": why, "for_now": for_now})
            return
        cp.used = time.monotonic()
        forwarded = {"op": "spawn", "id": msg.get("id"), "settings": {**msg["settings"], "checkpoint": None}}
        try:
            socket.send_fds(cp.sock, [json.dumps(forwarded).encode()], fds)
        except OSError as exc:
            for m, f in self.table.fail(cp, f"it stopped ({exc.strerror})"):
                self.fork(m, f, {"used": False, "why": self.table.failed[cp.key]})
            self.fork(msg, fds, {"used": False, "why": self.table.failed[cp.key]})
            return
        cp.inflight[msg.get("id")] = (msg, fds)  # kept until it answers: a lost checkpoint's requests fork from here

    def from_checkpoint(self, cp: Any) -> None:
        """A message from a checkpoint process."""
        try:
            data = cp.sock.recv(1 << 16)
        except OSError:
            data = b""
        if not data:
            self.lost(cp, "it stopped")
            return
        try:
            msg = json.loads(data)
        except ValueError:
            return
        if "ready" in msg:
            why = self.table.ready(cp, msg["ready"] if isinstance(msg["ready"], dict) else {})
            if why:
                self.lost(cp, why)
        elif "failed" in msg:
            self.lost(cp, str(msg["failed"]))
        elif "spawned" in msg and msg.get("spawned") in cp.inflight:
            _, fds = cp.inflight.pop(msg["spawned"])
            for fd in fds:
                os.close(fd)
            pid = int(msg["pid"])
            self.table.adopted[pid] = cp.key
            cp.forks += 1
            self.table.stats["forks"] += 1
            _send(self.sock, {"spawned": msg["spawned"], "pid": pid, "cpu": 0.0,
                              "checkpoint": {"used": True, "position": cp.position}})
        elif "spawn_failed" in msg and msg.get("spawn_failed") in cp.inflight:
            m, fds = cp.inflight.pop(msg["spawn_failed"])
            self.fork(m, fds, {"used": False, "why": f"it could not fork ({msg.get('error')})"})
        elif "exit" in msg and msg.get("exit") in self.table.adopted:
            self.table.adopted.pop(msg["exit"])
            _send(self.sock, {"exit": msg["exit"], "status": msg.get("status"), "cpu": msg.get("cpu")})

    def lost(self, cp: Any, why: str) -> None:
        """A checkpoint that cannot be used: its requests fork from here."""
        if cp.key not in self.table.live:
            return
        for m, fds in self.table.fail(cp, why):
            self.fork(m, fds, {"used": False, "why": why, "for_now": cp.for_now})

    def reap(self) -> None:
        from mlcourse.grading.isolation import exited_children

        for pid, status, usage in exited_children():
            cp = self.table.by_pid(pid)
            if cp is not None:
                self.lost(cp, "it stopped")
            if pid in self.children or pid in self.table.adopted:
                self.children.discard(pid)
                self.table.adopted.pop(pid, None)
                # CPU time of the child and everything it waited for: what a
                # submission really cost, whatever the machine's load.
                cpu = round(usage.ru_utime + usage.ru_stime, 4)
                _send(self.sock, {"exit": pid, "status": status, "cpu": cpu})
            _sweep(self.children | set(self.table.adopted) | {c.pid for c in self.table.live.values()})

    def kill(self, pid: Any) -> None:
        if pid in self.children or pid in self.table.adopted:  # never a reaped (and maybe reused) pid
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def stats(self) -> dict:
        return {
            "fork_server_peak_mb": peak_rss_mb(),
            "checkpoints": self.table.report(),
        }

    def close(self) -> None:
        for pid in [*self.children, *self.table.adopted]:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        for cp in list(self.table.live.values()):
            for _, fds in self.table.stop(cp):
                for fd in fds:
                    os.close(fd)
            try:
                os.waitpid(cp.pid, 0)
            except ChildProcessError:
                pass


def peak_rss_mb() -> float:
    from mlcourse.grading.checkpoint import peak_rss_mb as peak

    return peak()


def serve(sock: socket.socket, checkpoints: int = 0, checkpoint_mb: float = 0.0) -> None:
    """Answer spawn, kill and stats requests, report exits, until the grader goes away."""
    from mlcourse.grading.isolation import become_subreaper, wait_ready, wake_on_child_exit

    become_subreaper()
    wake_r, wake_w = wake_on_child_exit()
    server = _Server(sock, [wake_r, wake_w], checkpoints, checkpoint_mb)

    while True:
        ready = wait_ready([sock, *server.table.sockets()], wake_r)
        server.reap()
        for s in ready:
            cp = server.table.by_sock(s) if s not in (sock, wake_r) else None
            if cp is not None:
                server.from_checkpoint(cp)
        if sock not in ready:
            continue
        try:
            data, fds, _, _ = socket.recv_fds(sock, 1 << 20, 8)
        except OSError:
            break
        if not data:
            break
        try:
            msg = json.loads(data)
        except ValueError:
            for fd in fds:
                os.close(fd)
            continue
        finally:
            del data  # a child forked below must not find the raw request in memory
        op = msg.get("op")
        if op == "spawn":
            server.spawn(msg, list(fds))
            continue
        for fd in fds:
            os.close(fd)
        if op == "kill":
            server.kill(msg.get("pid"))
        elif op == "stats":
            _send(sock, {"stats": server.stats()})
        elif op == "quit":
            break
    server.close()


def main(argv: list[str] | None = None) -> None:
    """``python -m mlcourse.grading.zygote FD [CHECKPOINTS CHECKPOINT_MB]``: preload, say hello on FD, serve."""
    argv = sys.argv[1:] if argv is None else argv
    sock = socket.socket(fileno=int(argv[0]))
    checkpoints = int(argv[1]) if len(argv) > 1 else 0
    checkpoint_mb = float(argv[2]) if len(argv) > 2 else 0.0
    try:
        hello = preload()
    except BaseException as exc:  # noqa: BLE001 - tell the grader why, then stop
        _send(sock, {"fatal": f"{type(exc).__name__}: {exc}"})
        raise SystemExit(1) from exc
    _send(sock, {"hello": hello})
    serve(sock, checkpoints, checkpoint_mb)


if __name__ == "__main__":
    main()
