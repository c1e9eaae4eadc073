"""Benchmark: how long each exercise's check takes, beside the learner's own code it runs.

For every exercise of the course, in one run: each lesson's solutions notebook
runs top to bottom in one IPython shell (as :func:`mlcourse.exercises.testing.walk`
does), and at each answer cell, with the reference answer defined, its check
cell (``ex.<name>.check()``) runs once more than ``--repeat``:

* the **first check** in the kernel, nothing kept yet: it draws the inputs,
  rebuilds the answer's copy of them, runs the answer and the verdicts
  (references included), shows the result and saves the progress;
* **re-checks** (median of ``--repeat``): the inputs and references are kept
  per (exercise, seed) (see :mod:`mlcourse.exercises.cache`).

Each check is timed as a whole and, instrumented, in its parts: **answer**,
the learner's own code (the time inside the exercise's probes, which call
the answer on the inputs: the reference answer here); **inputs**, drawing
them; **copy**, rebuilding the answer's copy from plain data (first check) or
copying the kept one (re-check); **verdicts**; and the rest (refusing the
forbidden functions, the answer's results to plain data, display, progress).
The **overhead** of a check is its time minus the answer's; every figure
comes from the same run, side by side. Exercises above the target (0.3 s of
overhead) are listed with the part that costs most. Nothing is asserted:
timings depend on the machine and its load.

Usage::

    python benchmarks/checks.py
    python benchmarks/checks.py 01_data 02_train --repeat 5
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict

TARGET = 0.3
PARTS = ("answer", "inputs", "copy", "verdicts")
# What each part of a check's overhead is, and whether a re-check pays it again.
WHY = {
    "inputs": "drawing the fresh inputs, once per seed: a re-check reuses them",
    "copy": "rebuilding the answer's copy of the inputs from plain data, once per seed: a re-check copies the kept one",
    "verdicts": "the verdicts; a reference a verdict computes itself is computed again on every check "
    "(holds(..., expected=) or cache.per_inputs keep it per seed)",
    "rest": "refusing forbidden names, the answer's results to plain data, display, saving the progress",
}


class Instruments:
    """Time spent inside the check's parts, summed over one check."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)

    def timed(self, part: str, fn):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[part] += time.perf_counter() - start

        return wrapper

    def install(self) -> None:
        """Wrap the engine's steps (this benchmark's process only)."""
        from mlcourse.exercises import cache, engine

        original_plan = engine.Exercise.plan

        def plan(ex):
            p = original_plan(ex)
            return dataclasses.replace(p, probes=tuple(self.timed("answer", f) for f in p.probes))

        engine.Exercise.plan = plan
        engine.Exercise.make_inputs = self.timed("inputs", engine.Exercise.make_inputs)
        engine.Exercise.judge = self.timed("verdicts", engine.Exercise.judge)
        cache.prepared = self.timed("prepared", cache.prepared)

    def take(self, total: float) -> dict[str, float]:
        """This check's parts (``copy`` is the preparing time beyond drawing), then reset."""
        spent = dict(self.spent)
        self.spent.clear()
        parts = {k: spent.get(k, 0.0) for k in ("answer", "inputs", "verdicts")}
        parts["copy"] = max(0.0, spent.get("prepared", 0.0) - parts["inputs"])
        parts["total"] = total
        parts["rest"] = max(0.0, total - sum(parts[k] for k in PARTS))
        return parts


def measure_lesson(lesson: str, repeat: int, tools: Instruments) -> list[dict]:
    """Walk one solutions notebook and time each exercise's check at its answer cell."""
    from mlcourse.exercises import cache, notebook
    from mlcourse.exercises.testing import _run, _shell

    shell = _shell()
    shell.reset(new_session=False)
    cache.clear()
    rows = []
    nb = notebook.read(notebook.lesson_path(lesson, "solutions"))
    for i, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") != "code" or notebook.check_id(cell):
            continue
        _run(shell, notebook.without_markers(notebook.source(cell)), f"{lesson} cell {i}")
        ex_id = notebook.exercise_id(cell)
        if not ex_id:
            continue
        check_cell = f"ex.{ex_id.split('.', 1)[1]}.check()"
        checks = []
        for _ in range(repeat + 1):
            tools.take(0.0)
            out = io.StringIO()
            start = time.perf_counter()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                result = shell.run_cell(check_cell, store_history=False, silent=True)
            total = time.perf_counter() - start
            if not result.success:
                raise RuntimeError(f"{check_cell} raised {result.error_in_exec or result.error_before_exec!r}")
            if "passed" not in out.getvalue():
                raise RuntimeError(f"{check_cell} did not pass on the reference answer:\n{out.getvalue()}")
            checks.append(tools.take(total))
        again = {k: statistics.median(c[k] for c in checks[1:]) for k in checks[0]}
        rows.append({"exercise": ex_id, "first": checks[0], "again": again})
        print(f"  measured {ex_id}", file=sys.stderr, flush=True)
    shell.reset(new_session=False)
    return rows


def report(rows: list[dict]) -> None:
    def f(x: float) -> str:
        return f"{x:.3f}"

    def overhead(c: dict) -> float:
        return c["total"] - c["answer"]

    head = (
        f"{'exercise':<30} {'answer':>6} | {'first check':>11} {'overhead':>8} | {'re-check':>8} {'overhead':>8} |"
        f" first check's overhead: {'inputs':>6} {'copy':>6} {'verdicts':>8} {'rest':>6}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        a, b = r["first"], r["again"]
        print(
            f"{r['exercise']:<30} {f(a['answer']):>6} | {f(a['total']):>11} {f(overhead(a)):>8} | {f(b['total']):>8} {f(overhead(b)):>8} |"
            f" {'':>23}{f(a['inputs']):>6} {f(a['copy']):>6} {f(a['verdicts']):>8} {f(a['rest']):>6}"
        )
    print("(seconds; answer = the learner's code as the check runs it, on the first check; overhead = check - answer)")
    n = len(rows)
    for label, key in (("first check", "first"), ("re-check", "again")):
        over = [r for r in rows if overhead(r[key]) > TARGET]
        print(f"\n{label}: {n - len(over)} of {n} exercises within {TARGET} s of overhead")
        for r in over:
            c = r[key]
            where = max(("inputs", "copy", "verdicts", "rest"), key=lambda k: c[k])
            print(f"  above: {r['exercise']}: {overhead(c):.2f} s, most in {where} ({c[where]:.2f} s: {WHY[where]})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="lesson stems (default: every lesson)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    os.environ["MLCOURSE_HOME"] = tempfile.mkdtemp(prefix="mlcourse-bench-")
    import matplotlib

    matplotlib.use("Agg")
    from mlcourse.exercises import LESSONS

    tools = Instruments()
    tools.install()
    lessons = args.lessons or list(LESSONS)
    unknown = [name for name in lessons if name not in LESSONS]
    if unknown:
        parser.error(f"unknown lesson(s) {', '.join(unknown)}; the lessons are: {', '.join(LESSONS)}")
    rows = []
    home = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="mlcourse-bench-cwd-") as cwd:
        os.chdir(cwd)  # the lessons write their working files here
        try:
            for lesson in lessons:
                rows += measure_lesson(lesson, args.repeat, tools)
        finally:
            os.chdir(home)
    report(rows)


if __name__ == "__main__":
    main()
