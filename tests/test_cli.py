"""The `mlcourse` command: one entry point, clear errors."""
from __future__ import annotations

import subprocess
import sys

from mlcourse import __version__
from mlcourse.cli import main


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
