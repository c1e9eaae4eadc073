"""Fixtures shared by the unit tests."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Give every test its own empty state root."""
    root = tmp_path / "mlcourse-home"
    monkeypatch.setenv("MLCOURSE_HOME", str(root))
    return root


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
