"""Step 3, the child's last step: the system calls a notebook never needs, refused.

A seccomp filter, built with libseccomp through :mod:`pyseccomp` (a ctypes
binding with libseccomp's own Python API; no hand-assembled BPF), is loaded
in the child just before the learner's first cell, after every mount and
privilege change the grader makes. It is inherited by everything the child
starts and can never be lifted. What it refuses, with ``EPERM``:

* pushing keystrokes into a terminal (``ioctl`` ``TIOCSTI``, ``TIOCLINUX``);
* new namespaces (``unshare``, ``setns``, and ``clone`` with any
  ``CLONE_NEW*`` flag: no nested user namespace), ``clone3`` (``ENOSYS``,
  so the C library falls back to ``clone``, whose flags can be checked);
* reading or writing other processes (``ptrace``, ``process_vm_*``,
  ``kcmp``, ``pidfd_getfd``), the kernel keyring, ``bpf``,
  ``perf_event_open``, ``userfaultfd``, ``io_uring``;
* mounting (``mount``, ``umount2``, ``pivot_root``, the new mount API,
  ``chroot``), kernel modules, ``reboot``, ``kexec``, swap, the clock,
  process accounting, quotas, file handles, the host name.

Numerical Python needs none of them. Where the kernel or libseccomp is
missing, :func:`install` returns why and the grader says so once.

Examples
--------
>>> "ptrace" in REFUSED and "clone3" not in REFUSED
True
"""
from __future__ import annotations

import errno
from typing import Any

REFUSED = (
    # other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    # namespaces
    "unshare", "setns",
    # kernel interfaces a notebook never uses
    "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "fanotify_init", "lookup_dcookie",
    # the filesystem tree
    "mount", "umount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
    "fsmount", "fspick", "mount_setattr", "name_to_handle_at", "open_by_handle_at", "quotactl", "quotactl_fd",
    # the machine
    "init_module", "finit_module", "delete_module", "create_module", "kexec_load", "kexec_file_load", "reboot",
    "swapon", "swapoff", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "acct", "syslog",
    "sethostname", "setdomainname", "iopl", "ioperm", "vhangup", "nfsservctl", "uselib", "_sysctl",
)

TIOCSTI = 0x5412  # push a byte into a terminal's input
TIOCLINUX = 0x541C  # the Linux console's own requests (it can paste, too)

CLONE_NEW = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}


def build(sc: Any) -> tuple[Any, list[str]]:
    """The filter (``sc`` is the :mod:`pyseccomp` module) and the calls this libseccomp does not know."""
    deny = sc.ERRNO(errno.EPERM)
    f = sc.SyscallFilter(sc.ALLOW)
    unknown = []
    for name in REFUSED:
        try:
            # -1: a name this libseccomp does not know at all (other negative
            # numbers are calls another architecture has; the rule is harmless).
            if sc.resolve_syscall(sc.Arch.NATIVE, name) == -1:
                unknown.append(name)
                continue
            f.add_rule(deny, name)
        except (OSError, ValueError):
            unknown.append(name)
    # The ioctl request is an unsigned int: compare the low 32 bits only, so
    # high bits set by the caller cannot slip past the rule.
    for request in (TIOCSTI, TIOCLINUX):
        f.add_rule(deny, "ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, request))
    for flag in CLONE_NEW.values():
        f.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    # clone3 passes its flags in memory a filter cannot read: "not
    # implemented" makes the C library use clone instead.
    try:
        f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    except (OSError, ValueError):
        unknown.append("clone3")
    return f, unknown


def install() -> str | None:
    """Load the filter into this process (for good); None, or why it could not be."""
    try:
        import pyseccomp as sc
    except (ImportError, OSError, RuntimeError) as exc:  # pyseccomp raises RuntimeError without libseccomp
        return f"no seccomp filter: libseccomp is not available ({exc})"
    try:
        f, _ = build(sc)
        f.load()
    except OSError as exc:
        return f"no seccomp filter: the kernel refused it ({exc.strerror or exc})"
    return None


__all__ = ["REFUSED", "build", "install"]
