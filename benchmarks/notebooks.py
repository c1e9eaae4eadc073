"""How long each lesson takes to run top to bottom, as a learner's Run All would.

Runs every solutions notebook in a fresh kernel (through nbclient, like nbval)
and, in the same run, an empty notebook, so the kernel start-up cost is shown
beside each lesson's own time.

    python benchmarks/notebooks.py [LESSON ...]

Target (issue 5): each lesson <= 15 s on the 2-core course machine; the whole
course in about a minute and a half.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def run(nb: nbformat.NotebookNode) -> float:
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as cwd:
        os.environ["MLCOURSE_HOME"] = home
        start = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": cwd}}).execute()
        return time.perf_counter() - start


def main(argv: list[str]) -> int:
    paths = sorted((ROOT / "solutions").glob("*.ipynb"))
    if argv:
        paths = [p for p in paths if p.stem in argv]
    empty = nbformat.v4.new_notebook()
    empty.cells.append(nbformat.v4.new_code_cell("pass"))
    kernel = run(empty)
    print(f"{'notebook':<28} {'wall s':>7} {'minus kernel start':>19}")
    print(f"{'(empty notebook)':<28} {kernel:7.2f} {0.0:19.2f}")
    total = 0.0
    for path in paths:
        seconds = run(nbformat.read(path, as_version=4))
        total += seconds
        flag = "" if seconds <= 15 else "  over 15 s"
        print(f"{path.stem:<28} {seconds:7.2f} {seconds - kernel:19.2f}{flag}")
    print(f"{'whole course':<28} {total:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
