"""Benchmark: the grader's overhead per submission, against plain Python, and
the cost of issue 11's isolation against the isolation before it.

Builds 20 submissions of a lesson (correct, untouched, wrong and broken,
mixed), then, in the same run:

1. **plain**: one plain Python process (libraries imported once) executes each
   submission's cells, exactly the cells the grader runs, each submission in a
   fresh namespace, and then checks every exercise in-process, as the
   notebook's check cells would (``Exercise.run``: inputs, probe, verdict);
2. **grader, before**: ``mlcourse grade`` on the 20 notebooks with ``--jobs 2``
   and the isolation before issue 11 (``Options(hardened=False)``: namespaces,
   the host's mounts read-only with a list of paths hidden, rlimits);
3. **grader, now**: the same with today's isolation (a session of its own, a
   root built from an allow-list, IPC/UTS namespaces, a cgroup per run, an
   unprivileged user, the seccomp filter).

It prints, per submission, the plain time (cells + checks), each grader's wall
time and child start-up time, and what the new isolation adds; then the
medians and the batch totals. Nothing is asserted: timings depend on the
machine and its load.

Usage::

    python benchmarks/grading.py                    # lesson 01_data, 20 submissions, --jobs 2, both isolations
    python benchmarks/grading.py --lesson 00_lifecycle_overview --isolation now
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KINDS = ["correct"] * 8 + ["untouched"] * 4 + ["wrong"] * 4 + ["raises", "syntax", "exits", "sys_exit"]


# --------------------------------------------------------------------------
# Building the submissions
# --------------------------------------------------------------------------
def _answers(lesson: str) -> dict[str, str]:
    from mlcourse.exercises import notebook as nbio

    solutions = nbio.read(nbio.lesson_path(lesson, "solutions"))
    return {ex: nbio.without_markers(nbio.source(cell)) for _, cell, ex in nbio.answer_cells(solutions)}


def _wrong(source: str, name: str, kind: str) -> str:
    # A wrong answer that runs: the right code, then the answer replaced by
    # one that returns nothing useful ("forgot to return").
    if kind == "function":
        return f"{source}\n\ndef {name}(*args, **kwargs):\n    return None\n"
    return f"{source}\n\n{name} = None\n"


def build(lesson: str, folder: Path) -> list[tuple[str, Path]]:
    from mlcourse.exercises import exercises_of
    from mlcourse.exercises import notebook as nbio

    template = nbio.read(nbio.lesson_path(lesson, "notebooks"))
    answers = _answers(lesson)
    exercises = {ex.id: ex for ex in exercises_of(lesson)}
    made = []
    for i, kind in enumerate(KINDS):
        nb = copy.deepcopy(template)
        cells = [c for _, c, _ in nbio.answer_cells(nb)]
        for n, cell in enumerate(cells):
            ex_id = nbio.exercise_id(cell)
            if kind == "untouched" or ex_id not in answers:
                continue
            src = answers[ex_id]
            ex = exercises[ex_id]
            if kind == "wrong":
                src = _wrong(src, ex.answer.name, ex.answer.kind)
            elif n == len(cells) // 2:  # the broken ones break one answer cell
                src = {
                    "raises": src + "\nraise RuntimeError('broken on purpose')",
                    "syntax": src + "\ndef broken(:\n    pass",
                    "exits": src + "\nimport os\nos._exit(0)",
                    "sys_exit": src + "\nimport sys\nsys.exit(1)",
                }.get(kind, src)
            cell["source"] = src
        path = folder / f"{i:02d}-{kind}" / f"{lesson}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(nb))
        made.append((kind, path))
    return made


# --------------------------------------------------------------------------
# The plain baseline (runs in its own process: python grading.py --plain ...)
# --------------------------------------------------------------------------
class _FakeShell:
    """Enough of ``get_ipython()`` for cells with magics to run in plain Python."""

    def __init__(self, ns: dict) -> None:
        self.ns = ns

    def run_line_magic(self, name: str, line: str) -> None:
        if name in ("time", "timeit"):
            exec(compile(line, "<magic>", "exec"), self.ns)

    def run_cell_magic(self, name: str, line: str, cell: str) -> None:
        if name in ("time", "timeit", "capture"):
            exec(compile(cell, "<magic>", "exec"), self.ns)

    def system(self, cmd: str) -> None:
        pass


def plain_worker(lesson: str, paths: list[str]) -> None:
    import contextlib
    import io

    os.environ["MPLBACKEND"] = "Agg"
    t0 = time.perf_counter()
    import matplotlib

    matplotlib.use("Agg")
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import sklearn  # noqa: F401
    from IPython.core.inputtransformer2 import TransformerManager

    from mlcourse.exercises import exercises_of
    from mlcourse.exercises import notebook as nbio
    from mlcourse.grading.rebuild import load_template, rebuild

    exercises = exercises_of(lesson)
    template = load_template(lesson)
    tm = TransformerManager()

    def no_exit(code: int = 0) -> None:
        # os._exit would end the baseline itself; the grader drops that cell.
        raise SystemExit(code)

    os._exit = no_exit
    imports = time.perf_counter() - t0
    out = []
    for path in paths:
        plan = rebuild(template, nbio.read(path), exercises)
        ns: dict = {"__name__": "__main__"}
        ns["get_ipython"] = lambda ns=ns: _FakeShell(ns)
        sink = io.StringIO()
        c1 = time.process_time()
        t1 = time.perf_counter()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            for cell in plan.cells:
                try:
                    exec(compile(tm.transform_cell(cell.source), "<cell>", "exec"), ns)
                except BaseException:  # noqa: BLE001 - like Jupyter with errors allowed
                    pass
            t2 = time.perf_counter()
            for ex in exercises:
                try:
                    ex.run(ns)
                except BaseException:  # noqa: BLE001
                    pass
        t3 = time.perf_counter()
        out.append({"path": path, "cells": t2 - t1, "checks": t3 - t2, "cpu": time.process_time() - c1})
        matplotlib.pyplot.close("all")
    print(json.dumps({"imports": imports, "runs": out}))


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------
def _grade(root: Path, name: str, jobs: int, timeout: float, hardened: bool) -> tuple[object, float]:
    from mlcourse.grading.batch import Options, run
    from mlcourse.grading.sandbox import Limits

    t0 = time.perf_counter()
    report = run(Options(paths=[root / "subs"], out=root / name, jobs=jobs, limits=Limits(cell_timeout=timeout),
                         progress=False, hardened=hardened))
    return report, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lesson", default="01_data")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--isolation", choices=["both", "now", "before"], default="both",
                        help="which graders to run (default: both, side by side)")
    parser.add_argument("--plain", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain is not None:
        plain_worker(args.lesson, args.plain)
        return

    kinds = {"both": [("before", False), ("now", True)], "now": [("now", True)], "before": [("before", False)]}[args.isolation]
    with tempfile.TemporaryDirectory(prefix="mlcourse-bench-") as tmp:
        root = Path(tmp)
        subs = build(args.lesson, root / "subs")
        print(f"lesson {args.lesson}: {len(subs)} submissions ({', '.join(sorted(set(k for k, _ in subs)))}); "
              f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")

        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, __file__, "--lesson", args.lesson, "--plain", *[str(p) for _, p in subs]],
            capture_output=True, text=True, check=True,
        )
        plain_total = time.perf_counter() - t0
        plain = json.loads(proc.stdout.strip().splitlines()[-1])
        by_path = {r["path"]: r for r in plain["runs"]}
        graded = {name: _grade(root, f"out-{name}", args.jobs, args.timeout, hardened) for name, hardened in kinds}

    names = [name for name, _ in kinds]
    per = {name: {str(o.submission.path): o.graded for o in report.outcomes} for name, (report, _) in graded.items()}
    print()
    print(f"Wall-clock seconds per submission (plain: one process, sequential; graders: --jobs {args.jobs}); "
          "start: starting the sandboxed children.")
    print("CPU: the child's and the grader thread's CPU seconds (load-independent).")
    head = f"{'submission':<14} {'score':>7} | {'plain':>6} | " + " | ".join(f"{n + ' grader':>13} {'start':>6} {'CPU':>6}" for n in names)
    if len(names) == 2:
        head += f" | {'added':>6} {'start':>6} {'CPU':>6}"
    print(head)
    rows = []
    for _, path in sorted(subs, key=lambda s: str(s[1])):
        p = by_path[str(path)]
        base = p["cells"] + p["checks"]
        gs = [per[n][str(path)] for n in names]
        cpu = [g.timing["child_cpu"] + g.timing["grader_cpu"] for g in gs]
        row = [base] + [x for g, c in zip(gs, cpu) for x in (g.seconds, g.timing["start"], c)]
        line = f"{path.parent.name:<14} {gs[-1].score:>3g}/{gs[-1].max_score:<3g} | {base:>6.2f} | "
        line += " | ".join(f"{g.seconds:>13.2f} {g.timing['start']:>6.3f} {c:>6.2f}" for g, c in zip(gs, cpu))
        if len(gs) == 2:
            added = [gs[1].seconds - gs[0].seconds, gs[1].timing["start"] - gs[0].timing["start"], cpu[1] - cpu[0]]
            row += added
            line += f" | {added[0]:>+6.2f} {added[1]:>+6.3f} {added[2]:>+6.2f}"
        rows.append(row)
        print(line)
    med = [statistics.median(c) for c in zip(*rows)]
    print()
    parts = [f"plain cells + checks {med[0]:.2f} s"]
    for i, n in enumerate(names):
        parts.append(f"grader {n} {med[1 + 3 * i]:.2f} s (starting children {med[2 + 3 * i]:.3f} s, CPU {med[3 + 3 * i]:.2f} s)")
    print("median per submission: " + "; ".join(parts))
    if len(names) == 2:
        print(f"added by the new isolation, median per submission: {med[-3]:+.3f} s wall (load-dependent), "
              f"{med[-2]:+.3f} s starting children, {med[-1]:+.3f} s CPU (target: <= 0.1 s)")
    setups = {n: statistics.median(g.timing.get("setup", 0.0) for g in per[n].values()) for n in names}
    print("child set-up inside the sandbox per submission (its filesystem, limits, privileges, filter), median: "
          + ", ".join(f"{n} {1000 * setups[n]:.1f} ms" for n in names))
    print(f"batch: plain process {plain_total:.1f} s (imports {plain['imports']:.1f} s, sequential); "
          + "; ".join(f"grader {n} {graded[n][1]:.1f} s" for n in names)
          + f" with --jobs {args.jobs} (fork server start included); load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
