"""OS-level isolation of a submission's process (Linux), through ctypes.

Everything here runs in the forked child, *before* any learner code, in this
order (see :func:`mlcourse.grading.zygote`):

1. :func:`enter_namespaces` (in the intermediate process, after it took a new
   session and joined the submission's cgroup): new mount, network, PID, IPC
   and UTS namespaces, with a user namespace first when not root.
2. :func:`fresh_root` (in the namespace's first process): a new root built
   from an **allow-list**: the Python installation and the mlcourse package,
   read-only; a minimal ``/dev`` (null, zero, full, random, urandom: no
   terminal at all); a fresh ``/proc`` of the new PID namespace; a few files
   of ``/etc``; a private, size-limited ``/tmp`` as the scratch area and
   working directory. Nothing else of the host exists in it: not the
   grader's output, not the other submissions, not ``/home``. Paths *inside*
   the allowed view can still be covered (the answer key).
3. :func:`set_limits`: memory, file size, CPU time, open files, no core dumps.
4. :func:`drop_privileges`: no new privileges, empty capability sets and, for
   a root grader, an unprivileged user (:data:`CHILD_UID`), so the learner's
   code cannot undo any of the above.
5. :func:`mlcourse.grading.seccomp.install`: the system calls a notebook never
   needs, refused.

Without namespaces (a container that forbids them, not Linux) steps 3 to 5
still hold: the child runs as the unprivileged user in its own working folder.

:func:`isolate_filesystem` is the view before the allow-list (the host's
mounts made read-only, a list of paths hidden), kept so that the benchmark can
measure both side by side.

Python 3.11 has no ``os.unshare``, hence ctypes. Nothing here raises for a
feature the kernel refuses: each step reports what it could not do, and the
grader says so once and carries on with the limits that remain.

Examples
--------
>>> parse_mountinfo_line("36 35 98:0 /mnt1 /mnt/x\\\\040y rw,noatime master:1 - ext3 /dev/root rw")
('/mnt/x y', 'rw,noatime')
>>> outermost(["/usr", "/opt/venv/lib", "/opt/venv", "/usr/lib"])
['/opt/venv', '/usr']
"""
from __future__ import annotations

import ctypes
import errno
import os
import resource
import select
import signal
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MS_RELATIME = 0x200000
MS_STRICTATIME = 0x1000000
MNT_DETACH = 2
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}

# The unprivileged user a root grader's child becomes ("nobody" on most systems).
CHILD_UID = CHILD_GID = 65534

PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
PR_SET_CHILD_SUBREAPER = 36

_LINUX_CAPABILITY_VERSION_3 = 0x20080522

# Per-mount flags that a remount must repeat: in a user namespace the kernel
# refuses (EPERM) a remount that would clear a flag set by the parent namespace.
_KEEP_FLAGS = {
    "nosuid": MS_NOSUID,
    "nodev": MS_NODEV,
    "noexec": MS_NOEXEC,
    "noatime": MS_NOATIME,
    "nodiratime": MS_NODIRATIME,
    "relatime": MS_RELATIME,
    "strictatime": MS_STRICTATIME,
}

_libc: ctypes.CDLL | None = None


def _c() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
        _libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
        _libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    return _libc


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    """``unshare(2)``; raises OSError."""
    _check(_c().unshare(flags), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    """``mount(2)``; raises OSError."""
    enc = lambda s: None if s is None else os.fsencode(s)  # noqa: E731 - tiny local helper
    _check(_c().mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    """``prctl(2)``; raises OSError."""
    res = _c().prctl(option, arg2, arg3, arg4, arg5)
    if res < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}): {os.strerror(err)}")
    return res


# --------------------------------------------------------------------------
# 1. Namespaces
# --------------------------------------------------------------------------
def enter_namespaces(more: bool = True, *, pid: bool = True, user: bool = True) -> str | None:
    """Move this process into new mount, network, IPC and UTS namespaces, and
    its *next child* into a new PID namespace.

    Returns None on success, otherwise the reason it was refused (the caller
    goes on without namespaces). As root this needs nothing more; an ordinary
    user gets the same through an unprivileged user namespace, mapping its own
    uid and gid, where the kernel allows those. ``more=False`` leaves out IPC
    and UTS (the isolation before the allow-list, for the benchmark);
    ``pid=False`` the PID namespace (a shared checkpoint: each submission
    forked from it gets its own, see :mod:`.checkpoint`); ``user=False`` never
    makes a user namespace (a process already privileged in one: a
    submission forked from a checkpoint).
    """
    flags = CLONE_NEWNS | CLONE_NEWNET | (CLONE_NEWPID if pid else 0) | ((CLONE_NEWIPC | CLONE_NEWUTS) if more else 0)
    try:
        if os.geteuid() == 0 or not user:
            unshare(flags)
        else:
            uid, gid = os.geteuid(), os.getegid()
            unshare(CLONE_NEWUSER | flags)
            # setgroups must be denied before an unprivileged gid_map is accepted.
            Path("/proc/self/setgroups").write_text("deny")
            Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
            Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    except OSError as exc:
        names = "CLONE_NEWNS|CLONE_NEWNET" + ("|CLONE_NEWPID" if pid else "") + ("|CLONE_NEWIPC|CLONE_NEWUTS" if more else "")
        return f"unshare({names}) failed: {exc.strerror or exc}"
    except (AttributeError, TypeError) as exc:  # no unshare(2): not Linux
        return f"this system has no Linux namespaces ({exc})"
    return None


# --------------------------------------------------------------------------
# 2. The filesystem
# --------------------------------------------------------------------------
def parse_mountinfo_line(line: str) -> tuple[str, str]:
    """The mount point and per-mount options of one ``/proc/self/mountinfo`` line."""
    fields = line.split()
    point = fields[4]
    # mountinfo escapes space, tab, newline and backslash as octal.
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        point = point.replace(code, char)
    return point, fields[5]


def _mounts() -> list[tuple[str, int]]:
    out = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            point, opts = parse_mountinfo_line(line)
        except IndexError:
            continue
        flags = 0
        for opt in opts.split(","):
            flags |= _KEEP_FLAGS.get(opt, 0)
        out.append((point, flags))
    return out


def _is_within(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def hideable(path: Path, protect: Iterable[Path]) -> bool:
    """True when covering ``path`` would not hide anything the child needs.

    Examples
    --------
    >>> hideable(Path("/srv/subs"), [Path("/opt/venv")])
    True
    >>> hideable(Path("/opt"), [Path("/opt/venv")])
    False
    """
    return not any(_is_within(p, path) for p in protect)


def _cover(p: Path) -> None:
    if p.is_dir():
        mount("tmpfs", str(p), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=0555")
    else:
        mount("/dev/null", str(p), None, MS_BIND)
        mount(None, str(p), None, MS_REMOUNT | MS_BIND | MS_RDONLY)


def _cover_keeping(folder: Path, keep: list[Path]) -> None:
    """Cover ``folder`` with an empty tmpfs in which only ``keep`` (inside it) still appear.

    The kept folders are bind-mounted back from file descriptors opened before
    the cover went on (``/proc/self/fd/N`` still names the original).
    """
    fds = [os.open(k, os.O_PATH | os.O_DIRECTORY) for k in keep]
    try:
        mount("tmpfs", str(folder), "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755")
        for k, fd in zip(keep, fds):
            target = folder / k.relative_to(folder)
            target.mkdir(parents=True, exist_ok=True)
            mount(f"/proc/self/fd/{fd}", str(target), None, MS_BIND | MS_REC)
            mount(None, str(target), None, MS_REMOUNT | MS_BIND | MS_RDONLY)
        mount(None, str(folder), None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    finally:
        for fd in fds:
            os.close(fd)


def hide_tree(paths: Iterable[str], protect: list[Path], problems: list[str]) -> list[Path]:
    """Cover each path, keeping visible only the protected paths inside it.

    A folder with nothing protected inside gets an empty read-only tmpfs; a
    file, a read-only bind of /dev/null. A folder that holds a protected path
    (the grading user's home may hold the Python installation) gets an empty
    tmpfs too, into which just the protected folders are bound back. A
    protected path itself, and symbolic links (a mount would cover their
    target), are left alone.
    """
    hidden: list[tuple[Path, list[Path]]] = []  # (covered folder, what shows through it)

    def covered(p: Path) -> bool:
        return any(_is_within(p, h) and not any(_is_within(p, k) for k in holes) for h, holes in hidden)

    for raw in paths:
        p = Path(raw)
        if covered(p) or p.is_symlink() or not p.exists():
            continue
        keep = [q for q in protect if _is_within(q, p)]
        # Only the outermost protected folders: the rest come with them.
        outer = [q for q in keep if not any(o != q and _is_within(q, o) for o in keep)]
        try:
            if not keep:
                _cover(p)
            elif p in keep or not p.is_dir():
                continue
            else:
                _cover_keeping(p, outer)
            hidden.append((p, outer))
        except OSError as exc:
            problems.append(f"hide {p}: {exc.strerror}")
    return [h for h, _ in hidden]


@dataclass
class FilesystemReport:
    """What :func:`isolate_filesystem` managed to do."""

    workdir: str
    problems: list[str]


def isolate_filesystem(
    *,
    hide: Iterable[str],
    protect: Iterable[str],
    fallback_workdir: str,
    scratch_mb: int,
) -> FilesystemReport:
    """Make the filesystem read-only but for a private scratch area, and hide paths.

    Must run in a new mount namespace (and, for ``/proc``, as the first process
    of a new PID namespace). Mounts are first made private, so nothing done here
    is seen outside the namespace.

    Parameters
    ----------
    hide : iterable of str
        Folders and files to cover (the grader's output folder, the folders
        holding submissions, the grading user's home); see :func:`hide_tree`.
    protect : iterable of str
        Folders the child must still read (the Python installation, mlcourse).
    fallback_workdir : str
        Working directory to use when ``/tmp`` cannot be replaced (it holds a
        protected path); a private tmpfs is mounted on it instead.
    scratch_mb : int
        Size of the scratch tmpfs.
    """
    problems: list[str] = []
    protect_paths = [Path(p) for p in protect]
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    # A /proc that shows only this PID namespace: the grader's processes and
    # their command lines (paths of other submissions) disappear.
    try:
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError as exc:
        problems.append(f"fresh /proc: {exc.strerror}")
    failed = []
    for point, flags in _mounts():
        try:
            mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
        except OSError:
            failed.append(point)
    if "/" in failed:
        problems.append("could not make / read-only")
    scratch_dirs = [Path(d) for d in ("/tmp", "/var/tmp", "/dev/shm") if Path(d).is_dir() and hideable(Path(d), protect_paths)]
    keep_visible = protect_paths
    if Path("/tmp") not in scratch_dirs:
        # /tmp holds the Python installation (a checkout with its venv in
        # /tmp), so the fallback working folder gets the scratch tmpfs: it must
        # survive the covers put over the batch folder that holds it.
        keep_visible = [*protect_paths, Path(fallback_workdir)]
    # What a fresh scratch tmpfs will cover anyway needs no mount of its own
    # (a batch in /tmp would otherwise mean one mount per submission).
    hide_tree([h for h in hide if not any(_is_within(Path(h), d) for d in scratch_dirs)], keep_visible, problems)
    scratch = f"size={max(1, scratch_mb)}m,mode=1777"
    for shared in scratch_dirs:
        try:
            size = scratch if shared != Path("/var/tmp") else "size=64m,mode=1777"
            mount("tmpfs", str(shared), "tmpfs", MS_NOSUID | MS_NODEV, size)
        except OSError as exc:
            if shared == Path("/tmp"):
                raise
            problems.append(f"scratch {shared}: {exc.strerror}")
    if Path("/tmp") in scratch_dirs:
        workdir = "/tmp/submission"
        os.mkdir(workdir, 0o700)
    else:
        workdir = fallback_workdir
        mount("tmpfs", workdir, "tmpfs", MS_NOSUID | MS_NODEV, scratch)
    return FilesystemReport(workdir, problems)


# --------------------------------------------------------------------------
# 2'. The filesystem, from an allow-list
# --------------------------------------------------------------------------
# A few files of /etc that libraries read (the dynamic linker's cache, time
# zones, name lookups of localhost, MIME types); passwd and group are written.
ETC = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "nsswitch.conf", "hosts", "host.conf",
    "protocols", "services", "mime.types", "alternatives", "os-release",
)
DEVICES = ("null", "zero", "full", "random", "urandom")
TOP = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")  # folders, or links into /usr (merged /usr)


def outermost(paths: Iterable[str]) -> list[str]:
    """The paths not inside another one of them, sorted."""
    unique = sorted({os.path.normpath(p) for p in paths})
    out: list[str] = []
    for p in unique:
        if not any(p == o or p.startswith(o.rstrip("/") + "/") for o in out):
            out.append(p)
    return out


def pivot_root(new_root: str) -> None:
    """Make ``new_root`` this mount namespace's root and detach the old one."""
    import platform

    number = SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise OSError(0, f"pivot_root: unknown system call number on {platform.machine()}")
    os.chdir(new_root)
    # pivot_root(".", "."): the old root ends up on top of the new one, and
    # is then detached; nothing of it stays reachable.
    _check(_c().syscall(number, b".", b"."), "pivot_root")
    _check(_c().umount2(b".", MNT_DETACH), "umount old root")
    os.chdir("/")


def _bind(source: str, target: Path, problems: list[str]) -> None:
    try:
        if os.path.isdir(source):
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch(exist_ok=True)
        mount(source, str(target), None, MS_BIND | MS_REC)
    except OSError as exc:
        problems.append(f"bind {source}: {exc.strerror}")


def _identity(etc: Path, uid: int, gid: int, home: str) -> None:
    name = "nobody" if uid == CHILD_UID else "learner"
    (etc / "passwd").write_text(f"root:x:0:0:root:/root:/usr/sbin/nologin\n{name}:x:{uid}:{gid}:{name}:{home}:/usr/sbin/nologin\n")
    group = "nogroup" if gid == CHILD_GID else "learner"
    (etc / "group").write_text(f"root:x:0:\n{group}:x:{gid}:\n")


def fresh_root(
    *,
    root: str,
    allow: Iterable[str],
    hide: Iterable[str],
    scratch_mb: int,
    uid: int,
    gid: int,
) -> FilesystemReport:
    """Build a new root from the allow-list and move into it (see the module docstring).

    Must run in a new mount namespace, as the first process of a new PID
    namespace (for ``/proc``).

    Parameters
    ----------
    root : str
        An empty folder to build the new root on (a tmpfs is mounted on it,
        seen only in this namespace).
    allow : iterable of str
        Folders and files the child reads: the Python installation, mlcourse.
    hide : iterable of str
        Paths inside the allowed view to cover (the answer key).
    scratch_mb : int
        Size of ``/tmp`` (and, separately, of ``/dev/shm``).
    uid, gid : int
        Who owns the working folder (the user the child becomes).
    """
    problems: list[str] = []
    new = Path(root)
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=0755")
    scratch = f"size={max(1, scratch_mb)}m,mode=1777"
    # The scratch area first: an allowed folder under /tmp (a checkout with
    # its venv in /tmp) is then bound on top of it, read-only.
    (new / "tmp").mkdir()
    mount("tmpfs", str(new / "tmp"), "tmpfs", MS_NOSUID | MS_NODEV, scratch)
    workdir = new / "tmp" / "submission"
    workdir.mkdir(mode=0o700)
    os.chown(workdir, uid, gid)
    # /dev: the harmless devices only; no terminal, no /dev/tty.
    dev = new / "dev"
    dev.mkdir()
    mount("tmpfs", str(dev), "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755")
    for name in DEVICES:
        _bind(f"/dev/{name}", dev / name, problems)
    os.symlink("/proc/self/fd", dev / "fd")
    for n, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{n}", dev / name)
    (dev / "shm").mkdir()
    mount("tmpfs", str(dev / "shm"), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, scratch)
    (new / "proc").mkdir()
    mount_proc(str(new / "proc"))
    # What Python needs, and the top-level links of a merged /usr.
    for name in TOP:
        host = Path("/") / name
        if host.is_symlink():
            os.symlink(os.readlink(host), new / name)
    for source in outermost([*allow, *(f"/{n}" for n in TOP if os.path.isdir(f"/{n}") and not os.path.islink(f"/{n}"))]):
        if source in ("/", "/tmp", "/proc", "/dev") or not os.path.exists(source):
            continue
        _bind(source, new / source.lstrip("/"), problems)
    etc = new / "etc"
    etc.mkdir(exist_ok=True)
    for name in ETC:
        if os.path.lexists(f"/etc/{name}"):
            if os.path.islink(f"/etc/{name}"):
                os.symlink(os.readlink(f"/etc/{name}"), etc / name)
            else:
                _bind(f"/etc/{name}", etc / name, problems)
    _identity(etc, uid, gid, "/tmp/submission")
    pivot_root(root)
    for path in hide:
        p = Path(path)
        if p.exists() and not p.is_symlink():
            try:
                _cover(p)
            except OSError as exc:
                problems.append(f"hide {p}: {exc.strerror}")
    # Everything read-only but the scratch areas; /proc keeps its own flags
    # (its writable files are for root, which the child no longer is).
    writable = {"/tmp", "/dev/shm"}
    for point, flags in _mounts():
        if point in writable or point == "/proc" or point.startswith("/proc/"):
            continue
        try:
            mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
        except OSError as exc:
            problems.append(f"read-only {point}: {exc.strerror}")
    problems += protect_proc()
    return FilesystemReport("/tmp/submission", problems)


def mount_proc(target: str) -> None:
    """A ``/proc`` at ``target``: this PID namespace's own.

    A checkpoint has no PID namespace of its own (each submission forked from
    it gets one); an unprivileged user cannot mount the host's ``/proc``
    afresh, and binds it instead. Raises OSError.
    """
    try:
        mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError:
        if os.geteuid() == 0:
            raise
        mount("/proc", target, None, MS_BIND | MS_REC)


def protect_proc() -> list[str]:
    """``/proc/sys`` and ``/proc/sysrq-trigger`` read-only; what could not be done."""
    problems = []
    for point in ("/proc/sys", "/proc/sysrq-trigger"):
        if not os.path.exists(point):
            continue
        try:
            mount(point, point, None, MS_BIND)
            mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
        except OSError as exc:
            problems.append(f"read-only {point}: {exc.strerror}")
    return problems


# --------------------------------------------------------------------------
# 2''. A submission forked from a shared checkpoint: its own scratch and /proc
# --------------------------------------------------------------------------
SCRATCH = ("/tmp", "/dev/shm")
# What a checkpoint may leave in its scratch areas for each submission to copy.
MAX_COPIED_MB = 256
MAX_COPIED_FILES = 10_000


def scratch_usage(roots: Iterable[str] = SCRATCH) -> tuple[int, int]:
    """(files, bytes) under the scratch areas, without following links."""
    files = size = 0
    for root in roots:
        for here, dirs, names in os.walk(root):
            files += len(dirs) + len(names)
            for name in names:
                try:
                    size += os.lstat(os.path.join(here, name)).st_size
                except OSError:
                    pass
    return files, size


def _copy_tree(src: int, dst: str) -> None:
    """Copy the folder open as ``src`` into the folder ``dst``: files, folders,
    links and FIFOs, with their owners, modes and times."""
    import stat

    for entry in os.scandir(src):
        st = entry.stat(follow_symlinks=False)
        target = os.path.join(dst, entry.name)
        if stat.S_ISDIR(st.st_mode):
            os.mkdir(target, 0o700)
            sub = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=src)
            try:
                _copy_tree(sub, target)
            finally:
                os.close(sub)
        elif stat.S_ISREG(st.st_mode):
            fd = os.open(entry.name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=src)
            try:
                out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    while os.sendfile(out, fd, None, 1 << 24):
                        pass
                finally:
                    os.close(out)
            finally:
                os.close(fd)
        elif stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(entry.name, dir_fd=src), target)
        elif stat.S_ISFIFO(st.st_mode):
            os.mkfifo(target, 0o600)
        else:  # sockets and devices are not copied
            continue
        os.chown(target, st.st_uid, st.st_gid, follow_symlinks=False)
        if not stat.S_ISLNK(st.st_mode):
            os.chmod(target, stat.S_IMODE(st.st_mode))
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def renew_scratch(*, scratch_mb: int) -> list[str]:
    """A submission's own ``/tmp``, ``/dev/shm`` and ``/proc``, in the mount and
    PID namespaces it entered after being forked from a checkpoint.

    The checkpoint's scratch areas are shared by every submission forked from
    it: each is detached from this namespace and replaced by a fresh tmpfs
    holding a copy of what the checkpoint's trusted cells left there (owners,
    modes and times kept), so what one submission writes no other sees. The
    checkpoint's ``/proc`` shows the host's PID namespace: it is replaced by
    this one's. Raises OSError (the grader then grades without the checkpoint).
    """
    scratch = f"size={max(1, scratch_mb)}m,mode=1777"
    for path in SCRATCH:
        old = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            _check(_c().umount2(os.fsencode(path), MNT_DETACH), f"umount {path}")
            flags = MS_NOSUID | MS_NODEV | (MS_NOEXEC if path == "/dev/shm" else 0)
            mount("tmpfs", path, "tmpfs", flags, scratch)
            _copy_tree(old, path)
        finally:
            os.close(old)
    _check(_c().umount2(b"/proc", MNT_DETACH), "umount /proc")
    mount_proc("/proc")
    return protect_proc()


# --------------------------------------------------------------------------
# 3. Resource limits
# --------------------------------------------------------------------------
def mapped_bytes() -> int:
    """This process's address space now (``VmSize``), 0 where /proc does not say."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def set_limits(*, memory_mb: int, fsize_mb: int, cpu_seconds: int, nofile: int = 1024, mapped: int | None = None) -> None:
    """Hard resource limits for this process and everything it starts.

    ``RLIMIT_AS`` makes a 30 GB allocation fail with MemoryError instead of
    waking the OOM killer: it is what the process has mapped already (the
    preloaded libraries, about 400 MB of address space, mostly shared with the
    fork server) plus ``memory_mb``, so the learner's code gets ``memory_mb``
    of its own. The cgroup (:mod:`.cgroups`) bounds the submission's real
    memory as a whole. Python ignores SIGXFSZ, so an oversized file is an
    OSError; ``RLIMIT_CPU`` is a backstop behind the parent's wall-clock limits.
    """
    def lim(which: int, value: int) -> None:
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):  # e.g. RLIMIT_AS on macOS
            pass

    lim(resource.RLIMIT_AS, (mapped_bytes() if mapped is None else mapped) + memory_mb * 1024 * 1024)
    lim(resource.RLIMIT_FSIZE, fsize_mb * 1024 * 1024)
    soft_cpu = max(1, cpu_seconds)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard == resource.RLIM_INFINITY or hard > soft_cpu + 5:
        resource.setrlimit(resource.RLIMIT_CPU, (soft_cpu, soft_cpu + 5))
    lim(resource.RLIMIT_CORE, 0)
    try:
        lim(resource.RLIMIT_NOFILE, nofile)
    except (ValueError, OSError):  # already lower: keep it
        pass


# --------------------------------------------------------------------------
# 4. Privileges
# --------------------------------------------------------------------------
class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_privileges(uid: int | None = None, gid: int | None = None) -> list[str]:
    """Give up every capability, and root, for good; returns what could not be done.

    After this even uid 0 cannot remount, unmount, leave the namespaces or
    regain capabilities by running a program (the bounding set is empty and
    ``no_new_privs`` is set). With ``uid``/``gid`` (a root grader), the process
    also becomes that unprivileged user, with no supplementary groups: files
    readable by root only stay unreadable.
    """
    problems: list[str] = []
    try:
        # The lookup is the check: reading a CDLL attribute runs dlsym, which
        # raises AttributeError when this libc lacks the function.
        _ = _c().prctl, _c().capset
    except AttributeError:
        return ["no prctl/capset on this system: capabilities kept"]
    try:
        prctl(PR_SET_NO_NEW_PRIVS, 1)
    except OSError as exc:
        problems.append(f"no_new_privs: {exc.strerror}")
    for cap in range(0, 64):
        try:
            prctl(PR_CAPBSET_DROP, cap)
        except OSError as exc:
            if exc.errno == errno.EINVAL:  # past the last capability this kernel knows
                break
            if exc.errno != errno.EPERM:
                problems.append(f"bounding set: {exc.strerror}")
                break
    try:
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError:
        pass  # kernels before 4.3 have no ambient set
    if uid is not None and gid is not None and os.geteuid() == 0:
        try:
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)  # clears the permitted and effective sets too
        except OSError as exc:
            problems.append(f"becoming uid {uid}: {exc.strerror}")
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if _c().capset(ctypes.byref(header), ctypes.byref(data)) != 0:
        problems.append(f"capset: {os.strerror(ctypes.get_errno())}")
    return problems


def die_with_parent() -> None:
    """Be killed when the parent (the intermediate process) dies."""
    try:
        prctl(PR_SET_PDEATHSIG, 9)
    except (OSError, AttributeError):
        pass


def become_subreaper() -> bool:
    """Orphans of this process's descendants are re-parented here, so they can be reaped and killed."""
    try:
        prctl(PR_SET_CHILD_SUBREAPER, 1)
        return True
    except (OSError, AttributeError):
        return False


def wake_on_child_exit() -> tuple[int, int]:
    """A pipe ``(read end, write end)`` that a child's exit (SIGCHLD) makes readable.

    The self-pipe trick: a process that waits in :func:`select.select` for its
    sockets (the fork server, a checkpoint, the keeper) must also wake when one
    of its children exits, to reap it. Pass the read end to :func:`wait_ready`.
    """
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    return wake_r, wake_w


def wait_ready(watched: Iterable[Any], wake_r: int) -> list[Any]:
    """Block until one of ``watched`` or the wake pipe is readable; the ready ones.

    The wake pipe (from :func:`wake_on_child_exit`) is drained, so the next
    wait blocks again until another child exits; it stays in the list when it
    woke the caller, who then reaps.
    """
    fds = [*watched, wake_r]
    while True:
        try:
            ready, _, _ = select.select(fds, [], [])
            break
        except InterruptedError:  # pragma: no cover - PEP 475 retries select
            continue
    if wake_r in ready:
        try:
            os.read(wake_r, 4096)
        except BlockingIOError:
            pass
    return ready


def exited_children() -> Iterator[tuple[int, int, resource.struct_rusage]]:
    """Reap each child that has exited, without blocking: ``(pid, wait status, its resource usage)``."""
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, status, usage


def silence_stdio() -> None:
    """Standard input, output and error from now on: ``/dev/null``."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
