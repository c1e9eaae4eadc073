"""`mlcourse start`: the learner's own copy, never overwriting her work."""
from __future__ import annotations

import subprocess
import sys

from mlcourse.paths import lessons_dir
from mlcourse.workspace import populate


def test_populate_copies_every_learner_notebook(tmp_path):
    copied, kept = populate(tmp_path / "work")
    names = sorted(p.name for p in lessons_dir("notebooks").glob("*.ipynb"))
    assert sorted(p.name for p in copied) == names and kept == []


def test_populate_never_overwrites_the_learners_file(tmp_path):
    work = tmp_path / "work"
    populate(work)
    mine = sorted(work.glob("*.ipynb"))[0]
    mine.write_text("my answers")
    copied, kept = populate(work)
    assert copied == [] and mine in kept
    assert mine.read_text() == "my answers"


def test_start_without_launch_reports_and_exits_zero(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mlcourse", "start", "--dir", str(tmp_path / "w"), "--no-launch"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Your workspace" in proc.stdout and "added 01_data.ipynb" in proc.stdout


def test_start_on_a_file_is_a_one_line_error(tmp_path):
    target = tmp_path / "afile"
    target.write_text("x")
    proc = subprocess.run(
        [sys.executable, "-m", "mlcourse", "start", "--dir", str(target), "--no-launch"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "is a file" in proc.stderr
    assert "Traceback" not in proc.stderr
