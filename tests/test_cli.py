"""The `mlcourse` command: one entry point, clear errors."""
from __future__ import annotations

import subprocess
import sys

import pytest

from mlcourse import __version__
from mlcourse.cli import build_parser, main


def test_help_lists_the_subcommands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for command in ("start", "lifecycle", "release"):
        assert command in out


def test_version():
    proc = subprocess.run([sys.executable, "-m", "mlcourse", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and __version__ in proc.stdout


def test_unknown_subcommand_is_a_usage_error():
    proc = subprocess.run([sys.executable, "-m", "mlcourse", "nope"], capture_output=True, text=True)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_progress_command_shows_checked_exercises(tmp_path, monkeypatch):
    import os

    env = {**os.environ, "MLCOURSE_HOME": str(tmp_path)}
    code = (
        "from mlcourse.exercises import lesson\nex = lesson('01_data')\n"
        "leaky_columns = ['chargeback', 'chargeback_at']\nex.leaky_columns.check()\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    proc = subprocess.run([sys.executable, "-m", "mlcourse", "progress", "01_data"], env=env, capture_output=True, text=True)
    assert proc.returncode == 0
    assert "Progress in 01_data" in proc.stdout and "data.leaky_columns" in proc.stdout and "passed" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "mlcourse", "progress", "99_x"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown lesson" in bad.stderr


def test_every_subcommand_help_says_what_it_does_with_an_example(capsys):
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert len(sub.choices) >= 8
    for name in sub.choices:
        with pytest.raises(SystemExit):
            main([name, "--help"])
        text = capsys.readouterr().out
        usage, _, rest = text.partition("\n\n")
        description = rest.split("\n\n", 1)[0]
        assert not description.startswith(("positional arguments", "options")), f"{name} --help has no description"
        assert len(description.split()) >= 8, f"{name} --help: {description!r}"
        assert "example" in text and f"  mlcourse {name}" in text, f"{name} --help has no example"


def test_progress_help_lists_the_lessons():
    from mlcourse.exercises import LESSONS

    proc = subprocess.run([sys.executable, "-m", "mlcourse", "progress", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for lesson in LESSONS:
        assert lesson in proc.stdout
    assert "--reset" in proc.stdout
