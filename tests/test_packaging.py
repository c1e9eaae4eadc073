"""The built wheel carries the lessons, so an installed mlcourse works without the repository."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def wheel(repo_root, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=repo_root,
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("mlcourse-*.whl")
    return built


def test_wheel_contains_package_templates_and_solutions(wheel, repo_root):
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in sorted((repo_root / "notebooks").glob("*.ipynb")):
        assert f"mlcourse/_lessons/notebooks/{path.name}" in names
        assert f"mlcourse/_lessons/solutions/{path.name}" in names
    assert "mlcourse/exercises/engine.py" in names
    assert any(n.endswith("entry_points.txt") for n in names)


def test_installed_wheel_checks_and_shows_solutions_without_the_repository(wheel, tmp_path):
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    script = (
        "import mlcourse, json\n"
        "from mlcourse.paths import lessons_dir\n"
        "from mlcourse.exercises import solution_source, lesson\n"
        "ex = lesson('01_data')\n"
        "r = ex.leaky_columns.run({'leaky_columns': ['chargeback', 'chargeback_at']})\n"
        "print(json.dumps({'file': mlcourse.__file__, 'lessons': str(lessons_dir()),"
        " 'solution': solution_source('data.leaky_columns'), 'status': r.status}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["file"].startswith(str(target))
    assert out["lessons"].startswith(str(target))
    assert "chargeback_at" in out["solution"]
    assert out["status"] == "passed"
