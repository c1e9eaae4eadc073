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


@pytest.fixture(scope="session")
def cli_run():
    """Run an ``mlcourse`` command in this process: ``cli_run(*argv) -> (status, stdout, stderr)``."""
    import contextlib
    import io

    from mlcourse import cli

    def run(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli.main(list(argv))
        return status, out.getvalue(), err.getvalue()

    return run


@pytest.fixture
def restored_modes():
    """Put the answer key's file modes back afterwards: the checkout is a developer's."""
    import os

    from mlcourse.exercises import answer_key_paths

    saved = {}
    for path in answer_key_paths():
        for p in [path, *(path.rglob("*") if path.is_dir() else [])]:
            if not p.is_symlink():
                saved[p] = p.stat().st_mode & 0o7777
    yield
    for p, mode in saved.items():
        os.chmod(p, mode)


@pytest.fixture
def fingerprint_without_public_test(monkeypatch: pytest.MonkeyPatch) -> str:
    """``data.fingerprint`` with its public tests unmarked: an exercise the graded edition must refuse."""
    import dataclasses

    from mlcourse.exercises.definitions import checks_module

    module = checks_module("01_data")
    name, ex = next((n, v) for n, v in vars(module).items() if getattr(v, "id", None) == "data.fingerprint")
    monkeypatch.setattr(module, name, dataclasses.replace(ex, tests=[dataclasses.replace(t, public=False) for t in ex.tests]))
    return ex.id


@pytest.fixture(scope="session")
def in_forked_child():
    """``in_forked_child(look) -> dict``: ``look()`` run in a forked child (which may drop privileges or unshare
    without touching this process), its dict sent back as JSON; an exception in it comes back as ``{"error": ...}``."""
    import json
    import os

    def run(look) -> dict:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report what it sees, then leave without cleanup
            os.close(read)
            try:
                seen = look()
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                seen = {"error": f"{type(exc).__name__}: {exc}"}
            os.write(write, json.dumps(seen).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as fh:
            seen = json.loads(fh.read() or "{}")
        os.waitpid(pid, 0)
        return seen

    return run
