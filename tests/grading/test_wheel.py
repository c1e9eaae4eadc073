"""The bundle's wheel is written from the installed mlcourse: no repository, no build tool.

The end-to-end test installs the course as a learner or instructor would
(the wheel hatchling builds, installed with pip into a fresh virtual
environment, outside the repository, where ``import hatchling`` fails), runs
``mlcourse gradescope-bundle`` there, installs the wheel it shipped into a
second fresh environment and grades a solution with it through the bundle's
``run_autograder``. The fresh environments borrow this one's third-party
libraries through a ``.pth`` line placed after their own site-packages, so
their mlcourse is the installed wheel's and nothing is downloaded.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import mlcourse
from mlcourse.grading import gradescope as gs
from mlcourse.grading.wheel import build_wheel
from mlcourse.paths import lessons_dir

LESSON = "06_interview_prep"  # the fastest lesson to grade


def check_record(whl: Path) -> set[str]:
    """Every file's hash and size match RECORD, which lists every file; return the names."""
    with zipfile.ZipFile(whl) as zf:
        names = set(zf.namelist())
        (record_name,) = [n for n in names if n.endswith(".dist-info/RECORD")]
        rows = list(csv.reader(io.StringIO(zf.read(record_name).decode())))
        listed = {row[0] for row in rows}
        assert listed == names
        for name, digest, size in rows:
            if name == record_name:
                assert digest == size == ""
                continue
            data = zf.read(name)
            expected = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, int(size)) == (expected, len(data)), name
    return names


def test_the_wheel_holds_the_package_the_lessons_and_valid_metadata(tmp_path):
    whl = build_wheel(tmp_path)
    assert whl.name == f"mlcourse-{mlcourse.__version__}-py3-none-any.whl"
    names = check_record(whl)
    package = Path(mlcourse.__file__).parent
    for py in package.rglob("*.py"):
        if "__pycache__" not in py.parts:
            assert f"mlcourse/{py.relative_to(package).as_posix()}" in names
    for kind in ("notebooks", "solutions"):
        for nb in lessons_dir(kind).glob("*.ipynb"):
            assert f"mlcourse/_lessons/{kind}/{nb.name}" in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    info = f"mlcourse-{mlcourse.__version__}.dist-info"
    with zipfile.ZipFile(whl) as zf:
        metadata = zf.read(f"{info}/METADATA").decode()
        entry_points = zf.read(f"{info}/entry_points.txt").decode()
        wheel = zf.read(f"{info}/WHEEL").decode()
    assert "Name: mlcourse" in metadata and "Requires-Dist: scikit-learn" in metadata
    assert "mlcourse = mlcourse.cli:main" in entry_points
    assert "Root-Is-Purelib: true" in wheel and "Tag: py3-none-any" in wheel
    # The same installation gives the same bytes.
    again = build_wheel(tmp_path / "again")
    assert again.read_bytes() == whl.read_bytes()


def _fresh_venv(path: Path, wheel: Path) -> Path:
    """A new virtual environment with ``wheel`` pip-installed and hatchling unimportable."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True,
    )
    site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip())
    # After the venv's own site-packages: its mlcourse is the wheel's, the rest is borrowed.
    (site / "zz_borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (site / "hatchling").mkdir()
    (site / "hatchling" / "__init__.py").write_text("raise ImportError('no hatchling in this environment')\n")
    return path


def _env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "MLCOURSE_HOME": str(tmp / "home")}


@pytest.fixture(scope="module")
def pip_installed(repo_root, tmp_path_factory) -> Path:
    """An environment with mlcourse from its wheel, as `pip install` leaves it."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(dist)],
        cwd=repo_root, check=True, capture_output=True,
    )
    (wheel,) = dist.glob("mlcourse-*.whl")
    return _fresh_venv(tmp_path_factory.mktemp("installed") / "venv", wheel)


def test_gradescope_bundle_works_from_a_plain_pip_install(pip_installed, repo_root, tmp_path):
    env = _env(tmp_path)
    where = subprocess.run(
        [str(pip_installed / "bin" / "python"), "-c", "import mlcourse; print(mlcourse.__file__)"],
        cwd=tmp_path, env=env, check=True, capture_output=True, text=True,
    ).stdout
    assert where.startswith(str(pip_installed)) and str(repo_root) not in where

    out = tmp_path / "autograder.zip"
    proc = subprocess.run(
        [str(pip_installed / "bin" / "mlcourse"), "gradescope-bundle", str(out), "--lessons", LESSON],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out}" in proc.stdout

    # The wheel it shipped installs and grades: the bundle's run_autograder,
    # with that wheel's mlcourse, gives the solution full marks.
    root = tmp_path / "autograder"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(root / "source")
        (shipped,) = [n for n in zf.namelist() if n.endswith(".whl")]
        config = json.loads(zf.read(gs.CONFIG_NAME))
    check_record(root / "source" / shipped)
    graders = _fresh_venv(tmp_path / "graders", root / "source" / shipped)
    (root / "submission").mkdir()
    (root / "results").mkdir()
    shutil.copy(repo_root / "solutions" / f"{LESSON}.ipynb", root / "submission")
    proc = subprocess.run(
        [str(graders / "bin" / "python"), str(root / "source" / gs.RUNNER_NAME)],
        cwd=root, capture_output=True, text=True, timeout=600,
        env={**env, gs.ROOT_ENV: str(root), "PATH": f"{graders / 'bin'}{os.pathsep}{os.environ['PATH']}"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == config["points"][LESSON] > 0, results["output"]
