"""The fork server: heavy libraries imported once, a fresh isolated child per run.

Started once per grading session as ``python -m mlcourse.grading.zygote FD``
(see :class:`mlcourse.grading.sandbox.Zygote`). At start it imports numpy,
pandas, scikit-learn, matplotlib (Agg), IPython and each lesson's probes (never
its answer key: it refuses to start if a ``checks`` module got loaded), builds
an IPython shell with its history turned off and draws one figure, so fonts
and caches are warm. Then, for each request, it forks:

* the first fork (the *intermediate*) takes a session of its own (no
  controlling terminal), joins the submission's cgroup (:mod:`.cgroups`),
  enters new mount, network, PID, IPC and UTS namespaces, forks again and
  waits;
* the second fork (the *init* of the new PID namespace) builds its root from
  the allow-list (:data:`ALLOW`, :func:`~.isolation.fresh_root`), sets
  resource limits, drops its capabilities (and root, for an unprivileged
  user), loads the seccomp filter (:mod:`.seccomp`) and runs
  :class:`~mlcourse.grading.runner.Runner` on the notebook's cells.

The fork server itself runs in a session of its own, started so by the
grader. It forgets each request once the child is forked: no child finds the
grader's settings in its memory.

Forking from here rather than from the grader matters twice: it costs a few
milliseconds instead of the ~2 s of imports, and the child inherits nothing of
the grader's state (other submissions, results, the gradebook).

Messages to and from the grader travel over a ``SOCK_SEQPACKET`` socket, one
JSON object per packet; a spawn request carries the child's three pipe ends
as ``SCM_RIGHTS`` file descriptors.
"""
from __future__ import annotations

import gc
import importlib
import importlib.util
import json
import os
import select
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

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
        report = isolation.fresh_root(
            root=settings["workdir"],
            allow=ALLOW,
            hide=settings.get("hide", []),
            scratch_mb=int(limits["scratch_mb"]),
            uid=os.geteuid() if uid is None else uid,
            gid=os.getegid() if gid is None else gid,
        )
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


def _init(settings: dict, req: int, resp: int, out: int, ns_problem: str | None, problems: list[str]) -> None:
    """The namespace's init: isolate, limit, then serve the grader. Never returns."""
    from mlcourse.grading import isolation, seccomp
    from mlcourse.grading.runner import Channel, Runner

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
        keep = {0, 1, 2, req, resp}
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
        plans, modules = _load_probes(settings)
        marks["exercises"] = time.perf_counter()
        limits = settings["limits"]
        workdir, found = _isolate(settings, ns_problem)
        problems += found
        marks["filesystem"] = time.perf_counter()
        os.chdir(workdir)
        _child_env(workdir)
        isolation.set_limits(
            memory_mb=int(limits["memory_mb"]),
            fsize_mb=int(limits["fsize_mb"]),
            cpu_seconds=int(limits["cpu_seconds"]),
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
        runner = Runner(SHELL, channel, plans, modules)
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
    try:
        runner.serve()
    finally:
        os._exit(0)


def _join_cgroup(procs: list[str]) -> list[str]:
    """Move this process (and so all it will start) into the submission's cgroup."""
    problems = []
    for path in procs:
        try:
            with open(path, "w") as fh:
                fh.write(str(os.getpid()))
        except OSError as exc:
            problems.append(f"joining the cgroup {path}: {exc.strerror}")
    return problems


def _spawned(settings: dict, fds: list[int], close: list[int]) -> None:
    """The intermediate process. Never returns."""
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
        req, resp, out = fds
        problems = _join_cgroup(settings.get("cgroup") or [])
        if settings.get("namespaces", True):
            from mlcourse.grading.isolation import enter_namespaces

            ns_problem = enter_namespaces(more=hardened)
        else:
            ns_problem = "namespaces were turned off"
        pid = os.fork()
        if pid == 0:
            _init(settings, req, resp, out, ns_problem, problems)
        os.close(req)
        os.close(out)
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
# The server loop
# --------------------------------------------------------------------------
def _send(sock: socket.socket, message: dict) -> None:
    try:
        sock.send(json.dumps(message).encode())
    except OSError:
        pass


def _sweep(children: set[int]) -> None:
    """Kill orphans re-parented here (subreaper): what escaped a dead child's group."""
    path = Path(f"/proc/self/task/{os.getpid()}/children")
    try:
        pids = [int(p) for p in path.read_text().split()]
    except (OSError, ValueError):
        return
    for pid in pids:
        if pid not in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def serve(sock: socket.socket) -> None:
    """Answer spawn and kill requests, report exits, until the grader goes away."""
    from mlcourse.grading.isolation import become_subreaper

    become_subreaper()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    children: set[int] = set()

    def reap() -> None:
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in children:
                children.discard(pid)
                # CPU time of the child and everything it waited for: what a
                # submission really cost, whatever the machine's load.
                cpu = round(usage.ru_utime + usage.ru_stime, 4)
                _send(sock, {"exit": pid, "status": status, "cpu": cpu})
                _sweep(children)

    while True:
        try:
            ready, _, _ = select.select([sock, wake_r], [], [])
        except InterruptedError:  # pragma: no cover - PEP 475 retries select
            continue
        if wake_r in ready:
            try:
                os.read(wake_r, 4096)
            except BlockingIOError:
                pass
        reap()
        if sock not in ready:
            continue
        try:
            data, fds, _, _ = socket.recv_fds(sock, 1 << 16, 4)
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
            before = time.process_time()
            try:
                pid = os.fork()
            except OSError as exc:
                for fd in fds:
                    os.close(fd)
                _send(sock, {"spawn_failed": msg.get("id"), "error": str(exc)})
                continue
            if pid == 0:
                _spawned(msg["settings"], list(fds), [sock.fileno(), wake_r, wake_w])
            for fd in fds:
                os.close(fd)
            children.add(pid)
            # The fork's cost lands on the zygote: report it with the child.
            _send(sock, {"spawned": msg.get("id"), "pid": pid, "cpu": round(time.process_time() - before, 4)})
        elif op == "kill":
            pid = msg.get("pid")
            if pid in children:  # never a reaped (and maybe reused) pid
                for kill in (os.killpg, os.kill):
                    try:
                        kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
        elif op == "quit":
            break
    for pid in list(children):
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


def main(argv: list[str] | None = None) -> None:
    """``python -m mlcourse.grading.zygote FD``: preload, say hello on FD, serve."""
    argv = sys.argv[1:] if argv is None else argv
    sock = socket.socket(fileno=int(argv[0]))
    try:
        hello = preload()
    except BaseException as exc:  # noqa: BLE001 - tell the grader why, then stop
        _send(sock, {"fatal": f"{type(exc).__name__}: {exc}"})
        raise SystemExit(1) from exc
    _send(sock, {"hello": hello})
    serve(sock)


if __name__ == "__main__":
    main()
