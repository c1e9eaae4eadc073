"""Every lesson: definitions and notebooks agree, and Run All on an untouched
learner notebook reaches the end with every exercise 'not attempted'."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from mlcourse.exercises import LESSONS, exercises_of
from mlcourse.exercises import notebook as nbio

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def test_every_lesson_has_a_solutions_notebook_and_definitions():
    assert sorted(p.stem for p in SOLUTIONS) == sorted(LESSONS)


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_definitions_and_solutions_notebook_agree(path):
    nb = nbio.read(path)
    assert nbio.lesson_of(nb) == path.stem
    cells = nb["cells"]
    answer_ids = [ex_id for _, _, ex_id in nbio.answer_cells(nb)]
    assert answer_ids == [e.id for e in exercises_of(path.stem)], "answer cells must follow the definitions' order"
    for i, cell, ex_id in nbio.answer_cells(nb):
        following = [c for c in cells[i + 1 :] if c["cell_type"] == "code"]
        assert following and nbio.check_id(following[0]) == ex_id, f"{ex_id}: its check cell must follow its answer cell"
        assert f"ex.{ex_id.split('.', 1)[1]}.check()" in nbio.source(following[0])
        assert nbio.solution_text(nbio.source(cell)).strip()


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_untouched_learner_notebook_runs_to_the_end_not_attempted(path, tmp_path, monkeypatch):
    monkeypatch.setenv("MLCOURSE_HOME", str(tmp_path / "home"))
    nb = nbformat.read(ROOT / "notebooks" / path.name, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    checks = [c for c in nb.cells if nbio.check_id(c)]
    assert len(checks) == len(exercises_of(path.stem))
    for cell in checks:
        # A check shows rich output: its text/plain form is what a terminal (and nbval) reads.
        text = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs)
        assert f"[{nbio.check_id(cell)}]: not attempted" in text, (cell.metadata["mlcourse"], text)
