"""Benchmark: the grader's overhead per submission, against plain Python.

Builds 20 submissions of a lesson (correct, untouched, wrong and broken,
mixed), then, in the same run:

1. **plain**: one plain Python process (libraries imported once) executes each
   submission's cells, exactly the cells the grader runs, each submission in a
   fresh namespace, and then checks every exercise in-process, as the
   notebook's check cells would (``Exercise.run``: inputs, probe, verdict);
2. **grader**: ``mlcourse grade`` on the 20 notebooks with ``--jobs 2``.

It prints, per submission, the plain time (cells, and cells + checks), the
grader's wall time for that submission, and the overhead
``grader - (cells + checks)``, then the medians and the batch totals.
Nothing is asserted: timings depend on the machine and its load.

Usage::

    python benchmarks/grading.py                    # lesson 01_data, 20 submissions, --jobs 2
    python benchmarks/grading.py --lesson 00_lifecycle_overview --jobs 2
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
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lesson", default="01_data")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--plain", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain is not None:
        plain_worker(args.lesson, args.plain)
        return

    from mlcourse.grading.batch import Options, run
    from mlcourse.grading.sandbox import Limits

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

        t0 = time.perf_counter()
        report = run(Options(paths=[root / "subs"], out=root / "out", jobs=args.jobs,
                             limits=Limits(cell_timeout=args.timeout), progress=False))
        grader_total = time.perf_counter() - t0

    rows = []
    print()
    print("Wall-clock seconds per submission (plain: one process, sequential; grader: --jobs "
          f"{args.jobs}), then CPU seconds (load-independent).")
    print(f"{'submission':<14} {'score':>7} | {'cells':>6} {'+checks':>7} {'grader':>7} {'overhead':>8} | "
          f"{'cpu plain':>9} {'cpu grader':>10} {'overhead':>8} | {'start':>5} {'replays':>7}")
    for o in sorted(report.outcomes, key=lambda o: str(o.submission.path)):
        g = o.graded
        p = by_path[str(o.submission.path)]
        base = p["cells"] + p["checks"]
        t = g.timing
        cpu = t["child_cpu"] + t["grader_cpu"]
        rows.append((p["cells"], base, g.seconds, g.seconds - base, p["cpu"], cpu, cpu - p["cpu"], t["start"]))
        print(f"{o.submission.path.parent.name:<14} {g.score:>3g}/{g.max_score:<3g} | {p['cells']:>6.2f} {base:>7.2f} "
              f"{g.seconds:>7.2f} {g.seconds - base:>+8.2f} | {p['cpu']:>9.2f} {cpu:>10.2f} {cpu - p['cpu']:>+8.2f} | "
              f"{t['start']:>5.2f} {g.replays:>7}")
    med = [statistics.median(c) for c in zip(*rows)]
    print()
    print(f"median wall: plain cells {med[0]:.2f} s, cells + checks {med[1]:.2f} s, grader {med[2]:.2f} s, "
          f"overhead {med[3]:+.2f} s (starting children {med[7]:.2f} s)")
    print(f"median CPU:  plain {med[4]:.2f} s, grader (child + grader thread) {med[5]:.2f} s, overhead {med[6]:+.2f} s")
    first = [r for r, o in zip(rows, sorted(report.outcomes, key=lambda o: str(o.submission.path))) if o.graded.replays == 0]
    if first:
        print(f"median CPU overhead without replays ({len(first)} submissions): {statistics.median(r[6] for r in first):+.2f} s")
    print(f"batch: plain process {plain_total:.1f} s (imports {plain['imports']:.1f} s, sequential); "
          f"grader {grader_total:.1f} s with --jobs {args.jobs} (fork server start included); "
          f"load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
