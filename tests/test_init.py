"""`import mlcourse` stays light, and the learner's check path never loads nbformat."""
from __future__ import annotations

import json
import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    script = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_import_mlcourse_loads_no_heavy_library():
    loaded = _modules_after("import mlcourse")
    for heavy in ("numpy", "pandas", "sklearn", "nbformat", "matplotlib", "IPython", "platformdirs"):
        assert heavy not in loaded, heavy


def test_stage_packages_load_no_heavy_library():
    # Their __init__ files only describe the stage; the modules import what they need.
    loaded = _modules_after("import mlcourse.train, mlcourse.deploy, mlcourse.monitor")
    for heavy in ("numpy", "pandas", "sklearn", "matplotlib", "fastapi", "onnxruntime"):
        assert heavy not in loaded, heavy


def test_checking_and_showing_a_solution_never_import_nbformat():
    loaded = _modules_after(
        "from mlcourse.exercises import lesson\n"
        "ex = lesson('01_data')\n"
        "leaky_columns = ['chargeback']\n"
        "ex.leaky_columns.check()\n"
        "ex.leaky_columns.hint()\n"
        "ex.leaky_columns.solution()\n"
        "ex.progress()\n"
    )
    assert "nbformat" not in loaded and "jsonschema" not in loaded


def test_home_respects_the_environment(tmp_path, monkeypatch):
    import mlcourse

    monkeypatch.setenv("MLCOURSE_HOME", str(tmp_path / "state"))
    assert mlcourse.home() == tmp_path / "state" and (tmp_path / "state").is_dir()
