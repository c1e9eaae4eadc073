"""Benchmark: what shortcut detection (mlcourse.exercises.guard) costs per check, next to the check's own work.

For every exercise of the course that forbids something, in one run:

* **sentinels**: resolving its forbidden names into sentinels (once per
  check, or once per graded child) and installing and removing them around
  one test's probe;
* **source**: reading the solution's answer cell for forbidden names and
  tampering for the first time (what the grader does per exercise, from the
  rebuild; a cell read again for another exercise comes from a cache);
* **inputs**: making the exercise's fresh inputs (``make_inputs``), work every
  check does anyway, as the yardstick.

It prints the three per exercise in milliseconds (median of repeats) and the
guard's total as a share of the inputs' time. Nothing is asserted: timings
depend on the machine and its load.

Usage::

    python benchmarks/shortcuts.py
    python benchmarks/shortcuts.py --repeat 20
"""
from __future__ import annotations

import argparse
import statistics
import time


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()

    from mlcourse.exercises import all_exercises, guard
    from mlcourse.exercises import notebook as nbio

    solutions: dict[str, str] = {}
    rows = []
    for lesson, ex in all_exercises():
        if not ex.forbid:
            continue
        if lesson not in solutions:
            nb = nbio.read(nbio.lesson_path(lesson, "solutions"))
            solutions.update({i: nbio.without_markers(nbio.source(c)) for _, c, i in nbio.answer_cells(nb)})
        source = [("", solutions.get(ex.id, ""))]
        plan = ex.plan()

        def refuse_once(plan=plan) -> None:
            with plan.sentinels.refusing():
                pass

        resolve = _median_ms(lambda ex=ex: guard.Sentinels.resolve(ex.forbid), args.repeat)
        install = _median_ms(refuse_once, args.repeat) * len(ex.tests)
        def read_once(ex=ex, source=source) -> None:
            guard._python.cache_clear()  # the first reading of a cell: the grader's cost per submission
            guard.source_problem(ex.forbid, source)

        read = _median_ms(read_once, args.repeat)
        inputs = _median_ms(lambda ex=ex: ex.make_inputs(), max(3, args.repeat // 3))
        rows.append((ex.id, resolve, install, read, inputs))

    print(f"{'exercise':<32} {'sentinels':>10} {'per probe':>10} {'source':>8} {'inputs':>9} {'guard/inputs':>13}")
    for ex_id, resolve, install, read, inputs in rows:
        guard_ms = resolve + install + read
        print(f"{ex_id:<32} {resolve:>8.2f}ms {install:>8.3f}ms {read:>6.2f}ms {inputs:>7.1f}ms {guard_ms / inputs:>12.1%}")
    total_guard = sum(r[1] + r[2] + r[3] for r in rows)
    total_inputs = sum(r[4] for r in rows)
    print(f"\n{len(rows)} exercises: guard {total_guard:.1f} ms in all, inputs {total_inputs:.0f} ms in all "
          f"(ratio {total_guard / total_inputs:.1%})")


if __name__ == "__main__":
    main()
