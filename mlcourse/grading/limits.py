"""What one submission may use: the grader's limits, defined once.

Every limit is a field of :class:`Limits` with its default, its command-line
flag and its help text. ``mlcourse grade`` builds its options from
:data:`OPTIONS`, the pytest plugin its ``--grade-timeout`` from the same field,
and the Gradescope bundle writes :func:`default_args` into its config, so a
default changed here changes everywhere.

Where the limits are enforced:

* time and output, by the grader's process (:mod:`.sandbox`);
* memory and the number of processes, for the submission as a whole, by a
  cgroup per submission where the grader can create one (:mod:`.cgroups`),
  and per process by ``setrlimit`` (:mod:`.isolation`) in any case;
* file size, scratch space and CPU time, in the child (:mod:`.isolation`).

Examples
--------
>>> Limits(cell_timeout=5).total_timeout >= 5
True
>>> default_args()[:2]
['--timeout', '60']
>>> Limits().for_child()["processes"]
256
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


def _opt(default: Any, flag: str | None, help: str, metavar: str | None = None) -> Any:  # noqa: A002 - argparse's word
    return field(default=default, metadata={"flag": flag, "help": help, "metavar": metavar})


@dataclass(frozen=True)
class Limits:
    """What one submission may use.

    Parameters
    ----------
    cell_timeout : float
        Wall-clock seconds per cell, and per probe of an exercise.
    total_timeout : float
        Wall-clock seconds for the whole submission, replays included
        (0: ten cell timeouts, at least five minutes).
    memory_mb : int
        Memory of the submission as a whole (its cgroup, where the grader can
        make one) and address space of each of its processes (``RLIMIT_AS``).
    processes : int
        Processes and threads the submission may run at once (its cgroup).
    fsize_mb : int
        Largest file the child may write (``RLIMIT_FSIZE``).
    output_mb : float
        Most a cell may print (stdout and stderr together).
    scratch_mb : int
        Size of the child's private temporary filesystem (counted against
        ``memory_mb`` where there is a cgroup: tmpfs pages are memory).
    max_replays : int
        Fresh starts after failing cells before grading stops.
    judge_seconds : float
        Wall-clock seconds the grader may spend judging one exercise's probe
        (the learner's data, judged in a worker process: :mod:`.judge`).
    judge_memory_mb : int
        Memory that judging one exercise may add to its worker process.
    """

    cell_timeout: float = _opt(60.0, "--timeout", "seconds per cell and per check", "SECONDS")
    total_timeout: float = _opt(0.0, "--total-timeout", "seconds per notebook (default: 10 x --timeout, at least 300)", "SECONDS")
    memory_mb: int = _opt(4096, "--memory", "memory per notebook in MB, all its processes together", "MB")
    processes: int = _opt(256, "--processes", "processes and threads per notebook", "N")
    fsize_mb: int = _opt(256, None, "largest file a notebook may write, in MB")
    output_mb: float = _opt(10.0, "--max-output", "output limit per cell in MB", "MB")
    scratch_mb: int = _opt(512, None, "private scratch space per notebook, in MB")
    max_replays: int = _opt(20, None, "fresh starts after failing cells")
    judge_seconds: float = _opt(30.0, None, "seconds the grader may spend judging one exercise")
    judge_memory_mb: int = _opt(1024, None, "memory judging one exercise may use, in MB")

    def __post_init__(self) -> None:
        if self.total_timeout <= 0:
            object.__setattr__(self, "total_timeout", max(10 * self.cell_timeout, 300.0))

    def for_child(self) -> dict:
        """What the child enforces itself (plain data: it crosses to the fork server)."""
        return {
            "memory_mb": self.memory_mb,
            "fsize_mb": self.fsize_mb,
            "scratch_mb": self.scratch_mb,
            "processes": self.processes,
            # CPU backstop: the wall-clock limits in the parent come first.
            "cpu_seconds": int(self.total_timeout) + 10,
        }


@dataclass(frozen=True)
class Option:
    """One limit as a command-line option of ``mlcourse grade``."""

    name: str  # the Limits field
    flag: str
    type: type
    default: Any
    help: str
    metavar: str | None


def _options() -> tuple[Option, ...]:
    out = []
    for f in fields(Limits):
        if f.metadata.get("flag"):
            kind = float if f.type in ("float", float) else int
            shown = f" (default: {f.default:g})" if f.default else ""
            out.append(Option(f.name, f.metadata["flag"], kind, f.default, f.metadata["help"] + shown, f.metadata["metavar"]))
    return tuple(out)


OPTIONS: tuple[Option, ...] = _options()
DEFAULTS = Limits()


def option(name: str) -> Option:
    """The command-line option of one limit (``option("cell_timeout").flag == "--timeout"``)."""
    return next(o for o in OPTIONS if o.name == name)


def from_options(values: dict) -> Limits:
    """:class:`Limits` from parsed options (``{field name: value or None}``); None keeps the default."""
    return Limits(**{o.name: values[o.name] for o in OPTIONS if values.get(o.name) is not None})


def default_args() -> list[str]:
    """The limits a Gradescope bundle passes to ``mlcourse grade``: the per-cell time and the memory."""
    args: list[str] = []
    for name in ("cell_timeout", "memory_mb"):
        opt = option(name)
        args += [opt.flag, f"{getattr(DEFAULTS, name):g}"]
    return args


__all__ = ["DEFAULTS", "OPTIONS", "Limits", "Option", "default_args", "from_options", "option"]
