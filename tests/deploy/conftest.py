"""Fixtures shared by the deploy tests."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Path:
    """A registry holding the default fraud model, trained small (3,000 rows, 15 trees), one per test module."""
    from mlcourse.deploy.default_model import train_default_model

    root = tmp_path_factory.mktemp("registry")
    train_default_model(registry=root, n_rows=3_000, n_estimators=15, max_depth=6)
    return root
