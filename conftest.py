"""Root pytest configuration, shared by the unit tests, the doctests and nbval.

nbval's kernels inherit this process's environment, so pointing
``MLCOURSE_HOME`` at a fresh temporary folder here keeps every notebook's
output independent of the learner's own progress and run history.

The package's docstring examples run as doctests (``--doctest-modules`` on
``mlcourse/``, see pyproject.toml). Each runs in a sandbox: its temporary
files (``tempfile.mkdtemp()`` and friends) go to a folder pytest cleans up,
and whatever it does to the environment (``MLCOURSE_HOME``...) or the working
folder is undone before the next test.
"""
import os
import tempfile
from collections.abc import Iterator

import pytest
from _pytest.doctest import DoctestItem

os.environ["MLCOURSE_HOME"] = tempfile.mkdtemp(prefix="mlcourse-test-home-")


@pytest.fixture(autouse=True)
def _doctest_sandbox(request: pytest.FixtureRequest) -> Iterator[None]:
    if not isinstance(request.node, DoctestItem):
        yield
        return
    folder = request.getfixturevalue("tmp_path")
    monkeypatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.chdir(folder)
    environment = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(environment)
