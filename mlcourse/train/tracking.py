"""Experiment tracking with MLflow, on a local store in a folder of its own.

Where it stands: stage 2 (Train), beside :mod:`.training`, whose JSON-lines
run log shows what a tracker records; this module sets up the real tracker the
lessons use, MLflow, so that learners log runs, query them with
``mlflow.search_runs`` and register models exactly as they would at work, with
no server and nothing sent anywhere:

1. :func:`local_store` gives a :class:`LocalStore`: a SQLite tracking and
   registry database and an artifact folder, in a temporary folder removed
   when the Python process ends (a kernel keeps one for its whole life);
2. :meth:`LocalStore.activate` points MLflow's fluent API
   (``mlflow.start_run``, ``mlflow.search_runs``, ``mlflow.register_model``)
   at it, with an experiment whose artifacts stay inside the folder;
3. :meth:`LocalStore.ui_command` is the ``mlflow ui`` command that browses it
   (full ``mlflow`` only: the course installs ``mlflow-skinny``).

Three things make it fit a lesson. MLflow's telemetry is switched off before
MLflow is first imported (``MLFLOW_DISABLE_TELEMETRY``, also set by
``import mlcourse``), so it never tries the network. A new SQLite database
runs MLflow's schema migrations, about 5 s: they run once per process, into a
template that every later store copies (a copy takes milliseconds), so the
grader's checks can give each test a store of its own. And
``mlflow.sklearn.log_model`` would start a second Python to guess the model's
pip requirements (about 15 s here); the course's models need exactly what the
scikit-learn flavor lists by default, so :func:`local_store` makes MLflow use
that list (:func:`default_requirements`).

Examples
--------
>>> store = local_store()
>>> with store.activate("demo"):
...     import mlflow
...     with mlflow.start_run(run_name="first") as run:
...         mlflow.log_params({"C": 1.0})
...         mlflow.log_metric("pr_auc", 0.25)
...     found = mlflow.search_runs(experiment_names=["demo"])
>>> found["params.C"].tolist(), found["metrics.pr_auc"].tolist()
(['1.0'], [0.25])
>>> store.ui_command().startswith("mlflow ui --backend-store-uri sqlite:///")
True
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Before MLflow is imported anywhere through this module: MLflow's telemetry
# starts at import time and would try the network. setdefault: a learner's
# own choice stands.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no progress bars in lesson output
# MLflow imports tqdm.auto, which warns in a Jupyter kernel without ipywidgets
# (progress bars fall back to text): noise on the lesson's first cell.
warnings.filterwarnings("ignore", message="IProgress not found", module="tqdm")

__all__ = ["LocalStore", "local_store", "default_requirements", "DB_NAME"]

#: The database file of a store, inside its folder.
DB_NAME = "mlflow.db"

_LOCK = threading.Lock()
_KEEP: list[tempfile.TemporaryDirectory] = []  # alive until the process ends, then removed


def _quiet_mlflow() -> None:
    """MLflow's and alembic's INFO lines (creating tables, new experiments) are noise in a notebook.

    So is SQLAlchemy's deprecation warning about how MLflow's SQL store loads
    its tables: it is addressed to MLflow's authors.
    """
    warnings.filterwarnings("ignore", message=r".*``noload`` loader strategy is deprecated")
    for name, level in (("mlflow", logging.WARNING), ("alembic", logging.WARNING), ("mlflow.sklearn", logging.ERROR)):
        # mlflow.sklearn warns on every model saved with (cloud)pickle; lessons log their own models that way
        # and say why once (a tree's skops file is one skops will not vouch for).
        logger = logging.getLogger(name)
        if logger.level in (logging.NOTSET, logging.INFO, logging.DEBUG, logging.WARNING):
            logger.setLevel(level)


def default_requirements(model_uri: str, flavor: str, fallback: Any = None, **_: Any) -> Any:
    """Stands in for ``mlflow.models.infer_pip_requirements``: the flavor's default list.

    MLflow infers a model's requirements by loading it in a second Python and
    watching its imports; the scikit-learn flavor's fallback, which this
    returns, already pins scikit-learn and its serializer at the installed
    versions, which is all the course's models import.
    """
    return fallback


def _fast_requirements() -> None:
    import mlflow.models

    # The scikit-learn flavor calls it through the module attribute.
    mlflow.models.infer_pip_requirements = default_requirements


#: Databases made by :func:`local_store`: throwaway, so they skip the disk syncs a real store needs.
_THROWAWAY: set[str] = set()


def _no_sync(dbapi_connection: Any, _record: Any) -> None:
    """SQLAlchemy connect hook: no fsync per commit for this module's own stores.

    MLflow commits after every call; on a busy disk each fsync costs 10-20
    ms, most of a check's time. These stores live in temporary folders and
    die with the process, so there is nothing a crash could lose that
    matters (MLflow's own stores elsewhere keep SQLite's defaults).
    """
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    try:
        path = dbapi_connection.execute("PRAGMA database_list").fetchone()[2]
        if path and os.path.realpath(path) in _THROWAWAY:
            dbapi_connection.execute("PRAGMA synchronous = OFF")
            dbapi_connection.execute("PRAGMA journal_mode = MEMORY")
    except sqlite3.Error:  # a connection that cannot say where it is keeps its defaults
        pass


@functools.lru_cache(maxsize=1)
def _listen() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    event.listen(Engine, "connect", _no_sync)


def _new_folder(prefix: str) -> Path:
    keep = tempfile.TemporaryDirectory(prefix=prefix)
    _KEEP.append(keep)
    return Path(keep.name)


@atexit.register
def _remove_folders() -> None:
    while _KEEP:
        _KEEP.pop().cleanup()


@functools.lru_cache(maxsize=1)
def _template() -> Path:
    """An empty, fully migrated tracking database, made once per process."""
    _quiet_mlflow()
    from mlflow.tracking import MlflowClient

    db = _new_folder("mlcourse-mlflow-template-") / DB_NAME
    _THROWAWAY.add(os.path.realpath(db))
    MlflowClient(tracking_uri=f"sqlite:///{db}").search_experiments()  # creates and migrates it
    return db


@dataclass(frozen=True)
class LocalStore:
    """A local MLflow store: ``folder/mlflow.db`` for runs and the registry, ``folder/artifacts`` for files."""

    folder: Path

    @property
    def uri(self) -> str:
        """The tracking and registry URI (``sqlite:///...``)."""
        return f"sqlite:///{self.folder / DB_NAME}"

    @property
    def artifacts(self) -> Path:
        return self.folder / "artifacts"

    def client(self) -> Any:
        """An ``MlflowClient`` on this store, whatever the fluent API points at."""
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def experiment(self, name: str) -> str:
        """The id of experiment ``name``, created with its artifacts inside this store's folder."""
        client = self.client()
        found = client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        return client.create_experiment(name, artifact_location=(self.artifacts / name).as_uri())

    def use(self, experiment: str | None = None) -> str | None:
        """Point MLflow's fluent API at this store (and at ``experiment``, made if missing) for good."""
        import mlflow

        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)
        if experiment is None:
            return None
        experiment_id = self.experiment(experiment)
        mlflow.set_experiment(experiment_id=experiment_id)
        return experiment_id

    @contextlib.contextmanager
    def activate(self, experiment: str | None = None) -> Iterator[str | None]:
        """Use this store inside a ``with`` block; MLflow points where it pointed before afterwards."""
        import mlflow
        from mlflow.tracking import fluent

        before = (mlflow.get_tracking_uri(), mlflow.get_registry_uri(), getattr(fluent, "_active_experiment_id", None))
        try:
            yield self.use(experiment)
        finally:
            mlflow.set_tracking_uri(before[0])
            mlflow.set_registry_uri(before[1])
            # The active experiment has no public getter or reset; put the module's own back.
            fluent._active_experiment_id = before[2]

    def close(self) -> None:
        """Let go of this store: dispose of MLflow's database engines for it, and remove its folder if it is ours.

        MLflow keeps one engine per database URI for the life of the process,
        each holding open files: a check that makes a store per call closes
        it, or a long grading run would run out of file descriptors.
        """
        import sys

        for module in ("mlflow.store.tracking.sqlalchemy_store", "mlflow.store.model_registry.sqlalchemy_store"):
            engines = getattr(getattr(sys.modules.get(module), "SqlAlchemyStore", None), "_engine_map", None)
            engine = engines.pop(self.uri, None) if isinstance(engines, dict) else None
            if engine is not None:
                engine.dispose()
        for keep in [k for k in _KEEP if Path(k.name) == self.folder]:
            _KEEP.remove(keep)
            keep.cleanup()

    def ui_command(self) -> str:
        """The command that browses this store in MLflow's web UI (needs the full ``mlflow`` package)."""
        return f"mlflow ui --backend-store-uri {self.uri} --default-artifact-root {self.artifacts.as_uri()}"


def local_store(folder: str | os.PathLike | None = None) -> LocalStore:
    """A fresh MLflow store in ``folder`` (default: a new temporary folder, removed at exit).

    The database is a copy of a migrated template (see the module docstring);
    its ``Default`` experiment keeps its artifacts inside the folder too. A
    folder that already holds a store is reused as it is.
    """
    _quiet_mlflow()
    _fast_requirements()
    _listen()
    with _LOCK:
        template = _template()
    where = Path(folder) if folder is not None else _new_folder("mlcourse-mlflow-")
    where.mkdir(parents=True, exist_ok=True)
    store = LocalStore(where)
    db = where / DB_NAME
    _THROWAWAY.add(os.path.realpath(db))
    if not db.exists():
        shutil.copyfile(template, db)
        with contextlib.closing(sqlite3.connect(db)) as con, con:
            # The template's Default experiment points at the folder it was made in.
            con.execute("UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0",
                        ((store.artifacts / "0").as_uri(),))
    return store
