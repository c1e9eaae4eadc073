"""Fixtures shared by the dashboard tests."""
from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture(scope="session")
def gradebook_generator() -> ModuleType:
    """benchmarks/dashboard.py, whose ``make_gradebook`` writes a synthetic cohort's gradebook."""
    from mlcourse.exercises.testing import module_from_file

    return module_from_file(Path(__file__).resolve().parents[2] / "benchmarks" / "dashboard.py", "bench_dashboard")


@pytest.fixture
def folder(cohort: Path, tmp_path: Path) -> Path:
    """A copy of the test module's ``cohort`` gradebook folder, for a test to change."""
    import shutil

    target = tmp_path / "graded"
    shutil.copytree(cohort, target)
    return target
