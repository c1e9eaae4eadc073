"""`mlcourse release`: learner notebooks generated from the solutions, and kept in sync."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mlcourse import release
from mlcourse.exercises import notebook as nbio
from mlcourse.exercises.engine import STUB_MARKER


def test_repository_learner_notebooks_are_in_sync(repo_root):
    proc = subprocess.run(
        [sys.executable, "-m", "mlcourse", "release", "--check"], cwd=repo_root, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "up to date" in proc.stdout


def test_check_names_every_stale_missing_and_orphan_notebook(tmp_path, repo_root):
    sol, nbs = tmp_path / "solutions", tmp_path / "notebooks"
    shutil.copytree(repo_root / "solutions", sol)
    nbs.mkdir()
    (nbs / "99_orphan.ipynb").write_text("{}")
    assert release.main(sol, nbs, check=True) == 1
    assert release.main(sol, nbs) == 0
    assert release.main(sol, nbs, check=True) == 1  # the orphan is still there
    (nbs / "99_orphan.ipynb").unlink()
    assert release.main(sol, nbs, check=True) == 0
    first = sorted(nbs.glob("*.ipynb"))[0]
    first.write_text(first.read_text().replace("Exercise", "Exercize"))
    assert release.main(sol, nbs, check=True) == 1


def test_check_output_names_the_file(tmp_path, repo_root, capsys):
    sol = tmp_path / "solutions"
    shutil.copytree(repo_root / "solutions", sol)
    release.main(sol, tmp_path / "notebooks", check=True)
    out = capsys.readouterr().out
    assert "01_data.ipynb: missing" in out


@pytest.mark.parametrize("path", sorted(Path(__file__).resolve().parent.parent.joinpath("solutions").glob("*.ipynb")))
def test_learner_notebook_keeps_ids_metadata_and_checks_but_no_solution(path):
    solution = nbio.read(path)
    learner = nbio.read(path.parent.parent / "notebooks" / path.name)
    nbformat.validate(nbformat.reads(json.dumps(learner), as_version=4))
    assert [c.get("id") for c in learner["cells"]] == [c.get("id") for c in solution["cells"]]
    assert [c["metadata"] for c in learner["cells"]] == [c["metadata"] for c in solution["cells"]]
    for sc, lc in zip(solution["cells"], learner["cells"]):
        if lc["cell_type"] == "code":
            assert lc["outputs"] == [] and lc["execution_count"] is None
        if nbio.exercise_id(sc):
            hidden = nbio.solution_text(nbio.source(sc))
            body = [ln for ln in hidden.splitlines() if ln.strip() and not ln.lstrip().startswith(("def ", "class ", '"""', "#"))]
            learner_lines = {ln.strip() for ln in nbio.source(lc).splitlines()}
            for line in body:
                if len(line.strip()) > 3:
                    assert line.strip() not in learner_lines, f"solution line leaked: {line}"
            assert f"Exercise {nbio.exercise_id(sc)}" in nbio.source(lc)
        else:
            assert nbio.source(sc) == nbio.source(lc)


def test_stub_region_function_keeps_signature_decorators_and_docstring():
    code = '@cache\ndef f(a,\n      b=2):\n    """Doc\n    string."""\n    return a + b\n'
    out = release.stub_region(code, "demo.f")
    assert out[:5] == ["@cache", "def f(a,", "      b=2):", '    """Doc', '    string."""']
    assert out[5].startswith("    raise NotImplementedError(") and STUB_MARKER in out[5]
    ns: dict = {"cache": lambda f: f}
    exec("\n".join(out), ns)  # defining the stub never fails
    with pytest.raises(NotImplementedError, match=STUB_MARKER):
        ns["f"](1)


def test_stub_region_values_tuples_and_dropped_statements():
    code = "import os\nX_train, X_test = split(data)\nmodel: object = fit(X_train)\nprint(model)\n"
    assert release.stub_region(code, "demo.v") == ["X_train = ...", "X_test = ...", "model = ..."]


def test_indented_region_becomes_a_raise():
    src = "def g(x):\n    y = x\n    # BEGIN SOLUTION\n    return y * 2\n    # END SOLUTION\n"
    out = release.learner_source(src, "demo.g", "G", 1)
    ns: dict = {}
    exec(out, ns)
    with pytest.raises(NotImplementedError):
        ns["g"](1)
    assert "return y * 2" not in out


@pytest.mark.parametrize(
    "src, message",
    [
        ("x = 1\n", "no '# BEGIN SOLUTION'"),
        ("# BEGIN SOLUTION\nx = (\n# END SOLUTION\n", "does not parse"),
        ("# BEGIN SOLUTION\nx = 1\n", "without an END SOLUTION"),
        ("# END SOLUTION\n", "without a BEGIN SOLUTION"),
    ],
)
def test_authoring_mistakes_are_reported(src, message):
    with pytest.raises(ValueError, match=message):
        release.learner_source(src, "demo.x", "X", 1)


def test_unknown_exercise_and_missing_lesson_metadata_fail_release(tmp_path, capsys):
    sol = tmp_path / "solutions"
    sol.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["mlcourse"] = {"lesson": "07_new"}
    cell = nbformat.v4.new_code_cell("# BEGIN SOLUTION\nx = 1\n# END SOLUTION")
    cell.metadata["mlcourse"] = {"exercise": "nope.x"}
    nb.cells.append(cell)
    nbformat.write(nb, sol / "07_new.ipynb")
    assert release.main(sol, tmp_path / "notebooks") == 2
    assert "nope.x" in capsys.readouterr().err
    nb.metadata["mlcourse"] = {}
    nbformat.write(nb, sol / "07_new.ipynb")
    assert release.main(sol, tmp_path / "notebooks") == 2
    assert "mlcourse.lesson" in capsys.readouterr().err
