"""``pytest --grade NOTEBOOK``: grade a notebook, one pytest test per exercise.

Registered as the ``mlcourse`` pytest plugin (entry point ``pytest11``), so
any pytest run in an environment with mlcourse installed accepts::

    pytest --grade path/to/01_data.ipynb            # one notebook
    pytest --grade submissions/alice/ -v            # every notebook in a folder
    pytest --grade nb.ipynb --grade-timeout 30 --junitxml=report.xml

Each exercise of the notebook's lesson becomes a test item that passes or
fails with the learner's feedback message, so pytest's own reporting
(``-v``, ``-x``, ``--junitxml``, ``-k data.fingerprint``) works on answers.
Grading runs exactly the pipeline of ``mlcourse grade`` (rebuilt notebook,
sandboxed child, verdicts in this process); nothing is written to disk.

With ``--grade``, only the graded notebooks are collected (the configured
``testpaths`` are not), and nbval, which this course's ``pyproject.toml``
turns on with ``--nbval``, is turned off for the run, so the notebook is not
also executed as an nbval test (``-p no:nbval`` works too, where no
configuration passes ``--nbval``). Nothing sent along with a notebook runs in
pytest's process: conftest files are not loaded for the run, and in a graded
folder only ``.ipynb`` files are collected, as plain folders (never packages).
The learner's code itself runs sandboxed, as with ``mlcourse grade``.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_GRADED = pytest.StashKey[set]()
_ZYGOTE = pytest.StashKey[Any]()
_NOTEBOOKS = pytest.StashKey[list]()
_CGROUPS = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mlcourse", "mlcourse grading")
    group.addoption(
        "--grade",
        action="append",
        default=[],
        metavar="NOTEBOOK",
        help="grade this notebook (or every notebook in this folder): one test per exercise",
    )
    from mlcourse.grading.limits import option

    timeout = option("cell_timeout")
    group.addoption(
        "--grade-timeout",
        type=timeout.type,
        default=timeout.default,
        metavar=timeout.metavar,
        help=f"like `mlcourse grade {timeout.flag}`: {timeout.help}",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    paths = config.getoption("grade", default=[]) or []
    if not paths:
        return
    # The notebook is graded, not replayed by nbval as well.
    for name in ("nbval", "nbval_lax"):
        if hasattr(config.option, name):
            setattr(config.option, name, False)
    resolved = {Path(p).resolve() for p in paths}
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise pytest.UsageError(f"--grade: no such notebook or folder: {', '.join(missing)}")
    config.stash[_GRADED] = resolved
    # Submissions are untrusted: a conftest.py, __init__.py or test_*.py sent
    # along with a notebook must never run in this (unsandboxed) process.
    if hasattr(config.pluginmanager, "_noconftest"):
        config.pluginmanager._noconftest = True
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        config.args = [*config.args, *[str(p) for p in paths]]
    else:
        # No paths on the command line: collect only what is graded, not the
        # project's testpaths.
        config.args = [str(p) for p in paths]
        config.args_source = pytest.Config.ArgsSource.ARGS


def pytest_unconfigure(config: pytest.Config) -> None:
    zygote = config.stash.get(_ZYGOTE, None)
    if zygote is not None:
        zygote.close()
    cgroups = config.stash.get(_CGROUPS, None)
    if cgroups is not None:
        cgroups.close()


def _cgroups(limits: Any) -> Any:
    from mlcourse.grading.cgroups import Cgroups

    cgroups, _ = Cgroups.create(limits.memory_mb, limits.processes)
    return cgroups


def _is_graded(config: pytest.Config, path: Path) -> bool:
    graded = config.stash.get(_GRADED, None)
    if not graded or path.suffix != ".ipynb":
        return False
    path = path.resolve()
    return any(path == g or g in path.parents for g in graded)


def _in_graded_tree(config: pytest.Config, path: Path) -> bool:
    graded = config.stash.get(_GRADED, None)
    if not graded:
        return False
    path = path.resolve()
    return any(path == g or g in path.parents or (g.is_file() and path == g.parent) for g in graded)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # Inside a graded folder only notebooks (and the folders leading to them) are collected.
    if _in_graded_tree(config, collection_path) and collection_path.is_file() and collection_path.suffix != ".ipynb":
        return True
    return None


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    # A plain Dir, never a Package: a Package imports the folder's __init__.py.
    if _in_graded_tree(parent.config, path):
        return pytest.Dir.from_parent(parent, path=path)
    return None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _is_graded(parent.config, file_path):
        return GradedNotebook.from_parent(parent, path=file_path)
    return None


class ExerciseFailed(Exception):
    """An exercise that did not pass; its text is the learner's feedback."""


class GradedNotebook(pytest.File):
    """A submitted notebook: collects one item per exercise of its lesson."""

    _graded: Any = None

    def _submission(self) -> Any:
        from mlcourse.grading.discover import learner_of_file, load

        return load(self.path, learner_of_file(self.path))

    def collect(self) -> Iterator[pytest.Item]:
        from mlcourse.exercises import exercises_of

        self.submission = self._submission()
        self.config.stash.setdefault(_NOTEBOOKS, []).append(self)
        if self.submission.error or self.submission.refused:
            yield ExerciseItem.from_parent(self, name="notebook", exercise=None)
            return
        for ex in exercises_of(self.submission.lesson):
            yield ExerciseItem.from_parent(self, name=ex.id, exercise=ex)

    def graded(self) -> Any:
        """Grade the notebook once, on the first item that asks."""
        if self._graded is None:
            from mlcourse.grading.limits import Limits
            from mlcourse.grading.sandbox import Zygote
            from mlcourse.grading.seeds import ENV
            from mlcourse.grading.verdict import Grader

            config = self.config
            limits = Limits(cell_timeout=float(config.getoption("grade_timeout")))
            zygote = config.stash.get(_ZYGOTE, None)
            if zygote is None:
                zygote = Zygote()
                zygote.start()
                config.stash[_ZYGOTE] = zygote
                config.stash[_CGROUPS] = _cgroups(limits)
            # $MLCOURSE_GRADER_SECRET, as for `mlcourse grade`: the same inputs
            # on every run; without it, inputs drawn for this run.
            secret = os.environ.get(ENV, "").encode() or None
            grader = Grader(zygote, limits, secret=secret, cgroups=config.stash.get(_CGROUPS, None))
            self._graded = grader.grade(self.submission)
        return self._graded


class ExerciseItem(pytest.Item):
    """One exercise of a graded notebook."""

    def __init__(self, *, exercise: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.exercise = exercise

    def runtest(self) -> None:
        parent = self.parent
        assert isinstance(parent, GradedNotebook)
        if self.exercise is None:
            raise ExerciseFailed(f"the notebook cannot be graded: {parent.submission.error or parent.submission.refused}")
        graded = parent.graded()
        result = next((r for r in graded.results if r.exercise == self.exercise.id), None)
        if result is None:
            raise ExerciseFailed(graded.error or "not graded")
        if result.status != "passed":
            from mlcourse.grading.results import result_output

            head = f"{result.status}: {result.score:g}/{result.points:g} points"
            raise ExerciseFailed(f"{head}\n{result_output(result)}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ExerciseFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        title = self.exercise.title if self.exercise is not None else "the notebook"
        return self.path, None, f"{self.name}: {title}"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if not config.stash.get(_GRADED, None):
        return
    lines = []
    for nb in config.stash.get(_NOTEBOOKS, []):
        g = nb._graded
        if g is not None:
            lines.append(f"{nb.path}: {g.score:g}/{g.max_score:g} points ({g.lesson}, learner {g.learner})")
            lines += [f"  note: {n}" for n in g.notes]
    if lines:
        terminalreporter.write_sep("-", "mlcourse grade")
        for line in lines:
            terminalreporter.write_line(line)
