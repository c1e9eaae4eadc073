"""Benchmark: what bounded judging (mlcourse.grading.judge) costs, next to judging in the grader's thread.

For every released lesson, its solutions notebook is graded as a submission,
twice in one run, with ``--jobs 1``:

1. **in thread**: each probe judged in the grader's own thread (the grader
   before the bound; done here by swapping the pool for a direct call);
2. **worker**: each probe judged in a bounded worker process (today).

It prints, per lesson, the time spent judging (the grader's ``timing["judge"]``,
all exercises together) and the whole submission's wall time for each, and
the ratio. The first worker pays the forkserver's start (importing the lessons'
checks once per grader process): shown apart as "first call". Nothing is
asserted: timings depend on the machine and its load.

Usage::

    python benchmarks/judging.py
    python benchmarks/judging.py 00_lifecycle_overview 01_data
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class _InThread:
    """The pool's interface, judging directly in the calling thread (the unbounded way)."""

    def judge(self, ex, lesson, seed, probed, *, answer_sources=(), other_sources=(), deadline=None):
        return ex.judge(probed, ex.make_inputs(seed), answer_sources=answer_sources, other_sources=other_sources)


def _grade(root: Path, name: str) -> dict:
    from mlcourse.grading.batch import Options, run
    from mlcourse.grading.limits import Limits

    t0 = time.perf_counter()
    report = run(Options(paths=[root / "subs"], out=root / name, jobs=1, limits=Limits(cell_timeout=120), progress=False))
    wall = time.perf_counter() - t0
    out = {}
    for o in report.outcomes:
        g = o.graded
        out[g.lesson] = (g.timing["judge"], g.seconds, g.score, g.max_score)
    return {"lessons": out, "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="lessons to grade (default: every released lesson)")
    args = parser.parse_args()

    from mlcourse.exercises import LESSONS
    from mlcourse.grading import judge, verdict
    from mlcourse.grading.limits import Limits

    lessons = args.lessons or [lesson for lesson in LESSONS if (REPO / "solutions" / f"{lesson}.ipynb").exists()]
    root = Path(tempfile.mkdtemp(prefix="bench-judging-"))
    try:
        for lesson in lessons:
            target = root / "subs" / f"solver-{lesson}" / f"{lesson}.ipynb"
            target.parent.mkdir(parents=True)
            shutil.copy(REPO / "solutions" / f"{lesson}.ipynb", target)

        real_shared = judge.shared
        verdict.judge.shared = lambda limits: _InThread()
        try:
            thread = _grade(root, "thread")
        finally:
            verdict.judge.shared = real_shared
        pool = judge.shared(Limits())
        t0 = time.perf_counter()
        pool.close()
        worker = _grade(root, "worker")
        first = time.perf_counter() - t0

        print(f"{'lesson':<24} {'judge, thread':>14} {'judge, worker':>14} {'ratio':>7} {'wall, thread':>13} {'wall, worker':>13}  score")
        for lesson in lessons:
            jt, wt, st, mx = thread["lessons"][lesson]
            jw, ww, sw, _ = worker["lessons"][lesson]
            same = "same" if st == sw else f"DIFFERENT {st} vs {sw}"
            ratio = jw / max(jt, 1e-9)
            print(f"{lesson:<24} {1000 * jt:>12.0f}ms {1000 * jw:>12.0f}ms {ratio:>6.1f}x {wt:>12.1f}s {ww:>12.1f}s  {sw:g}/{mx:g} {same}")
        jt = sum(v[0] for v in thread["lessons"].values())
        jw = sum(v[0] for v in worker["lessons"].values())
        print(f"\nall lessons: judging {1000 * jt:.0f} ms in thread vs {1000 * jw:.0f} ms in workers "
              f"(+{1000 * (jw - jt):.0f} ms, forkserver start included); batch wall {thread['wall']:.1f} s vs {worker['wall']:.1f} s; "
              f"workers started: {pool.started} (first batch incl. start-up {first:.1f} s)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
