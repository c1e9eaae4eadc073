"""The repository passes ``ruff check`` with the rules set in pyproject.toml."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_check_is_clean():
    # sys.executable: the ruff installed with the test extra, not whichever is on PATH.
    # --no-cache: a test run leaves nothing behind in the working tree.
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"ruff check failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
