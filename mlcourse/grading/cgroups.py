"""Step 3, the grader's side: one cgroup per submission, so its limits hold for all its processes.

``setrlimit`` limits one process: a submission that forks six memory hogs
gets six address spaces. A control group limits the submission as a whole:
the memory of all its processes (and of its private scratch space: tmpfs
pages are charged to the cgroup that writes them) and how many processes and
threads it runs at once.

:meth:`Cgroups.create` makes one folder per batch under the grader's own
cgroup, in each hierarchy that has the ``memory`` or ``pids`` controller:
cgroup v1 (a hierarchy per controller, as on many hosts still) or v2 (one
unified hierarchy; its controllers must be enabled below the grader's cgroup,
which needs a delegated cgroup, e.g. ``systemd-run --scope -p Delegate=yes``).
:meth:`Cgroups.new` makes one child per run of a submission with its limits; the
child process joins it before anything else (:mod:`.zygote`), and
:meth:`Cgroup.close` kills whatever is left in it and removes it.

Where no cgroup can be made (not root, no delegation, not Linux) the grader
says why once and falls back to the per-process limits.

Examples
--------
>>> v1_limits(512, 64)["memory.limit_in_bytes"]
'536870912'
>>> v2_limits(512, 64)["pids.max"]
'64'
"""
from __future__ import annotations

import errno
import itertools
import os
import secrets
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

CONTROLLERS = ("memory", "pids")


def v1_limits(memory_mb: int, processes: int) -> dict[str, str]:
    """The files a cgroup v1 child gets, in the order they must be written."""
    limit = str(memory_mb * 1024 * 1024)
    # memsw (memory + swap) must not be below the memory limit: memory first.
    return {"memory.limit_in_bytes": limit, "memory.memsw.limit_in_bytes": limit, "pids.max": str(processes)}


def v2_limits(memory_mb: int, processes: int) -> dict[str, str]:
    """The files a cgroup v2 child gets."""
    return {"memory.max": str(memory_mb * 1024 * 1024), "memory.swap.max": "0", "pids.max": str(processes)}


@dataclass
class Hierarchy:
    """Where one controller lives: the grader's own cgroup folder in it, and its version."""

    controller: str
    path: Path
    version: int


def _mounts(mountinfo: str) -> list[tuple[str, str, str, str]]:
    """(mount point, root within the hierarchy, fstype, super options) of each cgroup mount."""
    out = []
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        out.append((fields[4].replace("\\040", " "), fields[3], tail[0], tail[2]))
    return out


def find_hierarchies(proc_cgroup: str, mountinfo: str, sysroot: str = "") -> tuple[dict[str, Hierarchy], str | None]:
    """The grader's own cgroup for each of :data:`CONTROLLERS`, and why one is missing.

    ``proc_cgroup`` and ``mountinfo`` are the texts of ``/proc/self/cgroup``
    and ``/proc/self/mountinfo``; ``sysroot`` prefixes every path (tests).
    """
    v1: dict[str, str] = {}
    v2: str | None = None
    for line in proc_cgroup.splitlines():
        hid, _, rest = line.partition(":")
        names, _, path = rest.partition(":")
        if hid == "0" and names == "":
            v2 = path
        for name in names.split(","):
            if name in CONTROLLERS:
                v1[name] = path
    found: dict[str, Hierarchy] = {}
    mounts = _mounts(mountinfo)
    for point, root, fstype, opts in mounts:
        for name in CONTROLLERS:
            if fstype == "cgroup" and name in opts.split(",") and name in v1 and name not in found:
                found[name] = Hierarchy(name, Path(sysroot + point) / _below(v1[name], root), 1)
    if v2 is not None:
        for point, root, fstype, _ in mounts:
            if fstype != "cgroup2":
                continue
            base = Path(sysroot + point) / _below(v2, root)
            try:
                available = (base / "cgroup.controllers").read_text().split()
            except OSError:
                continue
            for name in CONTROLLERS:
                if name not in found and name in available:
                    found[name] = Hierarchy(name, base, 2)
            break
    missing = [name for name in CONTROLLERS if name not in found]
    why = f"no cgroup hierarchy with the {' and '.join(missing)} controller{'s' if len(missing) > 1 else ''}" if missing else None
    return found, why


def _below(path: str, root: str) -> str:
    # A mount of part of a hierarchy (a cgroup namespace, a container) shows
    # paths relative to its root.
    rel = os.path.relpath(path, root) if root != "/" and path.startswith(root) else path.lstrip("/")
    return "" if rel == "." else rel


def _write(path: Path, value: str) -> None:
    with open(path, "w") as fh:
        fh.write(value)


@dataclass
class Cgroup:
    """One run of one submission: a folder per hierarchy, limits written."""

    folders: list[Path]
    versions: list[int]

    @property
    def procs(self) -> list[str]:
        """The ``cgroup.procs`` files a process writes its pid to, to join."""
        return [str(f / "cgroup.procs") for f in self.folders]

    def _memory(self) -> tuple[Path, int] | None:
        for folder, version in zip(self.folders, self.versions):
            if (folder / ("memory.limit_in_bytes" if version == 1 else "memory.max")).exists():
                return folder, version
        return None

    def oom_kills(self) -> int:
        """How many processes the kernel killed for going over the memory limit."""
        found = self._memory()
        if found is None:
            return 0
        folder, version = found
        name = "memory.oom_control" if version == 1 else "memory.events"
        try:
            for line in (folder / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def usage_mb(self) -> float | None:
        """The memory the submission holds now (MB), where the kernel says."""
        return self._memory_mb(v1="memory.usage_in_bytes", v2="memory.current")

    def peak_mb(self) -> float | None:
        """The most memory the submission held at once (MB), where the kernel says."""
        return self._memory_mb(v1="memory.max_usage_in_bytes", v2="memory.peak")

    def _memory_mb(self, *, v1: str, v2: str) -> float | None:
        """A byte count of the memory controller (file ``v1`` or ``v2`` by version), in MB."""
        found = self._memory()
        if found is None:
            return None
        folder, version = found
        try:
            return round(int((folder / (v1 if version == 1 else v2)).read_text()) / 2**20, 1)
        except (OSError, ValueError):
            return None

    def pids(self) -> set[int]:
        out: set[int] = set()
        for procs in self.procs:
            try:
                out.update(int(p) for p in Path(procs).read_text().split())
            except (OSError, ValueError):
                pass
        return out

    def close(self, timeout: float = 5.0) -> None:
        """Kill what is left in the cgroup, then remove its folders."""
        deadline = time.monotonic() + timeout
        while True:
            left = self.pids()
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            removed = []
            for folder in self.folders:
                try:
                    folder.rmdir()
                    removed.append(folder)
                except FileNotFoundError:
                    removed.append(folder)
                except OSError as exc:
                    if exc.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                        removed.append(folder)  # nothing more we can do
            self.folders = [f for f in self.folders if f not in removed]
            if not self.folders or time.monotonic() > deadline:
                return
            time.sleep(0.01)  # killed processes are still being reaped


@dataclass
class Cgroups:
    """The batch's cgroup folders, one per hierarchy; children made on demand."""

    batch: list[Hierarchy]
    memory_mb: int
    processes: int
    _count: itertools.count = field(default_factory=itertools.count)

    @classmethod
    def create(cls, memory_mb: int, processes: int, sysroot: str = "") -> tuple[Cgroups | None, str | None]:
        """The batch's cgroups, or None and why they cannot be made."""
        try:
            proc_cgroup = Path(f"{sysroot}/proc/self/cgroup").read_text()
            mountinfo = Path(f"{sysroot}/proc/self/mountinfo").read_text()
        except OSError as exc:
            return None, f"cannot read /proc/self/cgroup ({exc.strerror})"
        found, why = find_hierarchies(proc_cgroup, mountinfo, sysroot)
        if why:
            return None, why
        name = f"mlcourse-grade-{os.getpid()}-{secrets.token_hex(3)}"
        made: list[Hierarchy] = []
        seen: dict[Path, Hierarchy] = {}
        try:
            for h in found.values():
                if h.path in seen:  # v2: one folder holds both controllers
                    continue
                folder = h.path / name
                if h.version == 2:
                    _enable(h.path, [c for c, x in found.items() if x.path == h.path])
                folder.mkdir()
                made.append(Hierarchy(h.controller, folder, h.version))
                seen[h.path] = h
                if h.version == 2:
                    _enable(folder, [c for c, x in found.items() if x.path == h.path])
        except OSError as exc:
            for h in made:
                try:
                    h.path.rmdir()
                except OSError:
                    pass
            where = exc.filename or name
            return None, f"cannot make a cgroup ({where}: {exc.strerror})"
        return cls(made, memory_mb, processes), None

    def new(self) -> Cgroup:
        """A cgroup for one run of one submission, its limits written."""
        n = next(self._count)
        folders, versions = [], []
        try:
            for h in self.batch:
                folder = h.path / f"run-{n}"
                folder.mkdir()
                folders.append(folder)
                versions.append(h.version)
                limits = v1_limits(self.memory_mb, self.processes) if h.version == 1 else v2_limits(self.memory_mb, self.processes)
                for key, value in limits.items():
                    if key.split(".")[0] != h.controller and h.version == 1:
                        continue
                    try:
                        _write(folder / key, value)
                    except FileNotFoundError:
                        if key != "memory.memsw.limit_in_bytes":  # no swap accounting: nothing to cap
                            raise
        except OSError:
            Cgroup(folders, versions).close()
            raise
        return Cgroup(folders, versions)

    def close(self) -> None:
        for h in self.batch:
            try:
                h.path.rmdir()
            except OSError:
                pass


def _enable(folder: Path, controllers: list[str]) -> None:
    """Enable controllers for a v2 folder's children (a no-op when they already are)."""
    try:
        enabled = (folder / "cgroup.subtree_control").read_text().split()
    except FileNotFoundError:
        enabled = []
    wanted = [c for c in controllers if c not in enabled]
    if wanted:
        _write(folder / "cgroup.subtree_control", " ".join(f"+{c}" for c in wanted))


__all__ = ["Cgroup", "Cgroups", "find_hierarchies", "v1_limits", "v2_limits"]
