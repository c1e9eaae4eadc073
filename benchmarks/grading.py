"""Benchmark: what grading a submission costs, side by side in one run.

Default (issue 17): ``mlcourse grade`` as shipped (shared checkpoints, fork
points, the lessons' demonstration cells left out where nothing of the
learner's reads them), the same without checkpoints and fork points, the same
running every cell (``--run-demo-cells``: the grader before issue 17), and
``jupyter nbconvert --execute --allow-errors`` (a fresh kernel per notebook,
check cells included: the floor of nbgrader's and otter's autograding), on
the same submissions of lessons 00, 01 and 04, ``--per`` of each kind:

* **honest**: every answer right;
* **untouched**: the learner notebook as handed out;
* **wrong**: every answer right but one (:data:`WRONG`), wrong in a way that
  breaks a later lesson cell after that cell bound a variable: the grader
  drops the cell and replays the notebook without it.

The graders run with ``--jobs 1``; the four tools take turns, in an order
that alternates between ``--rounds`` (ABCD, DCBA, ...), so the machine's load
falls on all alike. Printed per lesson and kind: the median seconds per
submission of each tool and the ratios (target: nbconvert / with >= 5), the
CPU seconds (load-independent: the grader's children, its thread and its
judging workers' jobs for the submission); for the wrong ones, what the replay cost
before it reached the failed cell again (with: from the fork point before it;
without: from the start, or the checkpoint) beside what the cells after the
failed one cost (target: the replay costs no more than those); then each
batch's total (fork server start and checkpoint making included) and the
fork server's peak memory with its checkpoints'. Nothing is asserted:
timings depend on the machine and its load.

``--compare isolation`` (issue 11): 20 mixed submissions of a lesson graded
with today's isolation and with the one before it, beside the same cells run
in one plain Python process.

Usage::

    python benchmarks/grading.py                                 # 00, 01, 04; 3 of each kind; 2 rounds
    python benchmarks/grading.py --lessons 01_data --per 2 --rounds 1
    python benchmarks/grading.py --compare isolation --lesson 01_data
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KINDS = ["correct"] * 8 + ["untouched"] * 4 + ["wrong"] * 4 + ["raises", "syntax", "exits", "sys_exit"]
LESSONS = ["00_lifecycle_overview", "01_data", "04_monitor"]
# The answer made wrong in each lesson's "wrong" submissions, and how: each
# breaks a later lesson cell after that cell bound a variable (a replay).
WRONG = {
    "00_lifecycle_overview": ("overview.next_stage", "raises"),  # the walk round the loop: `stage, path = ...`, then it
    "01_data": ("data.clean_transactions", "none"),  # `cleaned = clean_transactions(dirty)`, then len(cleaned)
    "04_monitor": ("monitor.should_retrain", "raises"),  # `for change in ...:` then should_retrain(...)
}


# --------------------------------------------------------------------------
# Building the submissions
# --------------------------------------------------------------------------
def _answers(lesson: str) -> dict[str, str]:
    from mlcourse.exercises import notebook as nbio

    solutions = nbio.read(nbio.lesson_path(lesson, "solutions"))
    return {ex: nbio.without_markers(nbio.source(cell)) for _, cell, ex in nbio.answer_cells(solutions)}


def _wrong(source: str, name: str, kind: str, how: str = "none") -> str:
    # A wrong answer that runs: the right code, then the answer replaced by
    # one that returns nothing useful ("forgot to return"), or raises.
    if kind == "function":
        body = "raise ValueError('not this way')" if how == "raises" else "return None"
        return f"{source}\n\ndef {name}(*args, **kwargs):\n    {body}\n"
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



def build_kinds(lesson: str, folder: Path, per: int) -> list[tuple[str, Path]]:
    """``per`` honest, untouched and wrong submissions of the lesson (see the module docstring)."""
    from mlcourse.exercises import exercises_of
    from mlcourse.exercises import notebook as nbio

    template = nbio.read(nbio.lesson_path(lesson, "notebooks"))
    answers = _answers(lesson)
    exercises = {ex.id: ex for ex in exercises_of(lesson)}
    broken, how = WRONG.get(lesson) or (
        [e.id for e in exercises.values() if e.answer.kind == "function"][-1], "raises")
    made = []
    for kind in ("honest", "untouched", "wrong"):
        for n in range(per):
            nb = copy.deepcopy(template)
            for _, cell, ex_id in nbio.answer_cells(nb):
                if kind == "untouched" or ex_id not in answers:
                    continue
                src = answers[ex_id]
                if kind == "wrong" and ex_id == broken:
                    src = _wrong(src, exercises[ex_id].answer.name, exercises[ex_id].answer.kind, how)
                cell["source"] = src
            path = folder / lesson / f"{kind}-{n}" / f"{lesson}.ipynb"
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
# Issue 17: with and without checkpoints, and nbconvert
# --------------------------------------------------------------------------
def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def nbconvert(paths: list[Path], out: Path) -> dict[str, tuple[float, float]]:
    """path -> (wall seconds, CPU seconds) of ``jupyter nbconvert --execute`` on it, one fresh kernel each."""
    jupyter = Path(sys.executable).parent / "jupyter"
    times = {}
    for path in paths:
        with tempfile.TemporaryDirectory() as home:
            # The learner's own machine: no grading, progress kept in a throw-away home.
            env = {**os.environ, "MLCOURSE_HOME": home, "MPLBACKEND": "Agg"}
            cpu0, t0 = _children_cpu(), time.perf_counter()
            subprocess.run(
                [str(jupyter), "nbconvert", "--to", "notebook", "--execute", "--allow-errors",
                 "--ExecutePreprocessor.timeout=600", "--output-dir", str(out), "--output", f"{path.parent.name}.ipynb", str(path)],
                check=True, capture_output=True, env=env, cwd=path.parent,
            )
            times[str(path)] = (time.perf_counter() - t0, _children_cpu() - cpu0)
    return times


# How each grading column runs: "with" is ``mlcourse grade`` as shipped;
# "without" has no checkpoints or fork points; "every cell" also runs the
# lessons' demonstration cells (``--run-demo-cells``): the grader before issue 17.
MODES = {
    "with": {},
    "without": {"checkpoints": 0, "point_gap": None},
    "every cell": {"checkpoints": 0, "point_gap": None, "run_demos": True},
}
GRADERS = list(MODES)


def grade_batch(folder: Path, out: Path, mode: str, timeout: float) -> tuple[object, float]:
    """``mlcourse grade folder --jobs 1`` in one of the :data:`MODES`; (report, wall seconds)."""
    from mlcourse.grading.batch import Options, run
    from mlcourse.grading.sandbox import Limits

    options = MODES[mode]
    t0 = time.perf_counter()
    report = run(Options(paths=[folder], out=out, jobs=1, limits=Limits(cell_timeout=timeout), progress=False, force=True, **options))
    return report, time.perf_counter() - t0


def _cpu(graded: object) -> float:
    """CPU seconds of one graded submission: its children, the grader's thread, the judging workers' jobs for it."""
    timing = graded.timing  # type: ignore[attr-defined]
    return timing["child_cpu"] + timing["grader_cpu"] + timing.get("judge_cpu", 0.0)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def compare_checkpoints(args: argparse.Namespace) -> None:
    tools = ["nbconvert", *GRADERS]
    with tempfile.TemporaryDirectory(prefix="mlcourse-bench-") as tmp:
        root = Path(tmp)
        print(f"lessons {', '.join(args.lessons)}; {args.per} honest, untouched and wrong submissions each; "
              f"{args.rounds} round(s); {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
        # times[lesson][tool][path] = [(wall, cpu), ...] over rounds; batches[lesson][tool] = [wall, ...]
        times: dict = {}
        batches: dict = {}
        graded: dict = {}
        memory: dict = {}
        for lesson in args.lessons:
            subs = build_kinds(lesson, root / "subs", args.per)
            kinds = {str(p): k for k, p in subs}
            times[lesson] = {t: {str(p): [] for _, p in subs} for t in tools}
            batches[lesson] = {t: [] for t in tools}
            graded[lesson] = {t: {} for t in GRADERS}
            for r in range(args.rounds):
                order = tools if r % 2 == 0 else tools[::-1]
                for tool in order:
                    if tool == "nbconvert":
                        t0 = time.perf_counter()
                        for path, wc in nbconvert([p for _, p in subs], root / "nbconvert").items():
                            times[lesson][tool][path].append(wc)
                        batches[lesson][tool].append(time.perf_counter() - t0)
                        continue
                    report, wall = grade_batch(root / "subs" / lesson, root / f"out-{tool.replace(' ', '-')}", tool, args.timeout)
                    batches[lesson][tool].append(wall)
                    for o in report.outcomes:
                        g = o.graded
                        times[lesson][tool][str(o.submission.path)].append((g.seconds, _cpu(g)))
                        graded[lesson][tool].setdefault(str(o.submission.path), []).append(g)
                    if tool == "with":
                        memory[lesson] = report.fork_server
            _print_lesson(lesson, kinds, times[lesson], batches[lesson], graded[lesson], memory.get(lesson, {}))
        _print_summary(args.lessons, times, batches, memory)


def _print_lesson(lesson: str, kinds: dict, times: dict, batches: dict, graded: dict, memory: dict) -> None:
    print()
    print(f"== {lesson}: seconds per submission (median over submissions and rounds), wall / CPU")
    print(f"{'kind':<10} {'nbconvert':>15} {'with':>15} {'without':>15} {'every cell':>15} | {'nbconv/with':>11} "
          f"{'without/with':>12} {'every/with':>10} | notes")
    for kind in ("honest", "untouched", "wrong"):
        paths = [p for p, k in kinds.items() if k == kind]
        med = {t: (_median([w for p in paths for w, _ in times[t][p]]), _median([c for p in paths for _, c in times[t][p]]))
               for t in times}
        note = ""
        runs = [g for p in paths for g in graded["with"].get(p, [])]
        fresh = [g for p in paths for g in graded["without"].get(p, [])]
        if runs:
            shared = _median([g.shared_cells for g in runs])
            note = f"{shared:.0f} cells from the checkpoint, {_median([g.left_out for g in runs]):.0f} demonstrations left out"
        if kind == "wrong" and runs:
            skipped = sorted({n.split(" was skipped")[0] for g in runs for n in g.notes if "was skipped" in n})
            note += (f"; replays {_median([g.replays for g in runs]):.0f} (resumed {_median([g.resumes for g in runs]):.0f})"
                     f"; skipped: {', '.join(skipped)[:70]}")
        print(f"{kind:<10} " + " ".join(f"{med[t][0]:>7.2f} / {med[t][1]:>5.2f}" for t in ("nbconvert", *GRADERS))
              + f" | {med['nbconvert'][0] / med['with'][0]:>10.1f}x {med['without'][0] / med['with'][0]:>11.1f}x"
              + f" {med['every cell'][0] / med['with'][0]:>9.1f}x | {note}")
        if kind == "wrong" and runs and fresh:
            cost = {t: (_median([g.timing["replay"] for g in gs]), _median([g.timing["after"] for g in gs]))
                    for t, gs in (("with", runs), ("without", fresh))}
            print(f"{'':<10} replay cost before the failed cell was reached again: with {cost['with'][0]:.3f} s, without "
                  f"{cost['without'][0]:.3f} s; the cells after the failed one: with {cost['with'][1]:.3f} s, "
                  f"without {cost['without'][1]:.3f} s")
    n = len(kinds)
    per = {t: _median(batches[t]) / n for t in batches}
    print(f"batch of {n}, per submission (fork server start and checkpoints included): "
          + ", ".join(f"{t} {per[t]:.2f} s" for t in ("nbconvert", *GRADERS))
          + f"; nbconvert/with {per['nbconvert'] / per['with']:.1f}x, without/with {per['without'] / per['with']:.1f}x, "
          f"every cell/with {per['every cell'] / per['with']:.1f}x")
    cps = memory.get("checkpoints", {})
    if memory:
        print(f"fork server: peak {memory.get('fork_server_peak_mb', 0):.0f} MB resident; checkpoints: {cps.get('built', 0)} made "
              f"({cps.get('build_seconds', 0):.1f} s, {cps.get('build_cpu', 0):.1f} s CPU), {cps.get('forks', 0)} children "
              f"forked from them, peak {cps.get('peak_mb', 0):.0f} MB of their own"
              + "".join(f"; at cell {c['position']}: {c['memory_mb']:.0f} MB" for c in cps.get("checkpoints", [])))


def _print_summary(lessons: list[str], times: dict, batches: dict, memory: dict) -> None:
    print()
    print("== summary: nbconvert / with checkpoints, per submission (median, wall); target >= 5x on every lesson")
    for lesson in lessons:
        ratios = []
        for kind_paths in ("honest", "untouched", "wrong"):
            paths = [p for p in times[lesson]["with"] if f"/{kind_paths}-" in p]
            nb = _median([w for p in paths for w, _ in times[lesson]["nbconvert"][p]])
            w = _median([w for p in paths for w, _ in times[lesson]["with"][p]])
            ratios.append(f"{kind_paths} {nb / w:.1f}x")
        print(f"{lesson:<24} " + ", ".join(ratios))
    peak = max((m.get("fork_server_peak_mb", 0) for m in memory.values()), default=0)
    ckpt = max((m.get("checkpoints", {}).get("peak_mb", 0) for m in memory.values()), default=0)
    print(f"fork server peak memory: {peak:.0f} MB resident (the preloaded libraries, shared with every child), "
          f"checkpoints at most {ckpt:.0f} MB of their own at once; load average now {os.getloadavg()[0]:.1f}")


# --------------------------------------------------------------------------
# Issue 11: the isolation's cost
# --------------------------------------------------------------------------
def _grade(root: Path, name: str, jobs: int, timeout: float, hardened: bool) -> tuple[object, float]:
    from mlcourse.grading.batch import Options, run
    from mlcourse.grading.sandbox import Limits

    t0 = time.perf_counter()
    report = run(Options(paths=[root / "subs"], out=root / name, jobs=jobs, limits=Limits(cell_timeout=timeout),
                         progress=False, hardened=hardened))
    return report, time.perf_counter() - t0


def compare_isolation(args: argparse.Namespace) -> None:
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
    print("CPU: the child's, the grader thread's and its judging workers' CPU seconds (load-independent).")
    head = f"{'submission':<14} {'score':>7} | {'plain':>6} | " + " | ".join(f"{n + ' grader':>13} {'start':>6} {'CPU':>6}" for n in names)
    if len(names) == 2:
        head += f" | {'added':>6} {'start':>6} {'CPU':>6}"
    print(head)
    rows = []
    for _, path in sorted(subs, key=lambda s: str(s[1])):
        p = by_path[str(path)]
        base = p["cells"] + p["checks"]
        gs = [per[n][str(path)] for n in names]
        cpu = [_cpu(g) for g in gs]
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



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare", choices=["checkpoints", "isolation"], default="checkpoints",
                        help="checkpoints (issue 17, default) or isolation (issue 11)")
    parser.add_argument("--lessons", nargs="+", default=LESSONS, help="lessons to compare (checkpoints)")
    parser.add_argument("--per", type=int, default=3, help="submissions of each kind per lesson (checkpoints)")
    parser.add_argument("--rounds", type=int, default=2, help="times each tool grades them (checkpoints)")
    parser.add_argument("--lesson", default="01_data", help="the lesson (isolation)")
    parser.add_argument("--jobs", type=int, default=2, help="--jobs of the graders (isolation)")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--isolation", choices=["both", "now", "before"], default="both",
                        help="which graders to run (isolation; default: both, side by side)")
    parser.add_argument("--plain", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain is not None:
        plain_worker(args.lesson, args.plain)
        return
    if args.compare == "checkpoints":
        compare_checkpoints(args)
    else:
        compare_isolation(args)


if __name__ == "__main__":
    main()
