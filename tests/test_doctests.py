"""The package's docstring examples run: pytest collects every one, and each runs in a sandbox.

pyproject.toml puts ``mlcourse`` in ``testpaths`` with ``--doctest-modules``;
the root conftest.py gives each example a temporary folder and undoes what it
does to the environment. ``+SKIP`` is kept for examples that need a running
server (the grader's fork server and its sessions).
"""
from __future__ import annotations

import ast
import doctest
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mlcourse"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py")


def _pytest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _expected_doctests() -> set[str]:
    """Every docstring with an example in the package, as pytest names it."""
    finder = doctest.DocTestFinder()
    found = set()
    for path in MODULES:
        module = importlib.import_module(_module_name(path))
        for test in finder.find(module, module.__name__):
            if test.examples and test.filename and Path(test.filename).resolve() == path:
                found.add(f"{path.relative_to(ROOT).as_posix()}::{test.name}")
    return found


def test_the_default_run_collects_every_docstring_example() -> None:
    result = _pytest("--collect-only", "-q", "-m", "not e2e")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    collected = {line for line in result.stdout.splitlines() if line.startswith("mlcourse/")}
    expected = _expected_doctests()
    assert len(expected) > 100
    assert collected == expected, (sorted(expected - collected)[:10], sorted(collected - expected)[:10])


def test_examples_leave_no_temporary_files_behind(tmp_path: Path) -> None:
    # The registry's examples save models to tempfile.mkdtemp() folders; in the
    # sandbox those live under pytest's own temporary folder, which it prunes.
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    result = _pytest("-q", "mlcourse/deploy/registry.py", "mlcourse/paths.py", env={"TMPDIR": str(tmp)})
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.search(r"\b\d+ passed\b", result.stdout)
    left = sorted(p.name for p in tmp.iterdir())
    assert [n for n in left if not n.startswith(("pytest-of-", "mlcourse-test-home-"))] == [], left


def _skipped_examples() -> list[tuple[str, int, str]]:
    """(module, line, docstring) of every example marked ``+SKIP``."""
    found = []
    for path in MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                text = ast.get_docstring(node, clean=False) or ""
                if "doctest: +SKIP" in text:
                    found.append((path.relative_to(ROOT).as_posix(), getattr(node, "lineno", 1), text))
    return found


def test_only_examples_that_need_a_server_are_skipped() -> None:
    skipped = _skipped_examples()
    needing_no_server = [(module, line) for module, line, text in skipped
                         if "Zygote" not in text and "session." not in text]
    assert needing_no_server == [], "run these examples, or say which server they need"
