"""Where mlcourse keeps a user's local state.

Everything the package writes for a user (exercise progress, the experiment run
log, the model registry, the serving prediction log) lives under one root, so
that tests, nbval and the grader can point it at a temporary folder and no
output ever depends on a learner's history.

The root is ``$MLCOURSE_HOME`` when set, otherwise a per-user data directory
(``~/.local/share/mlcourse`` on Linux).
"""
from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "MLCOURSE_HOME"


def home(create: bool = True) -> Path:
    """Return the state root, creating it unless ``create`` is False.

    Examples
    --------
    >>> import os, tempfile
    >>> os.environ["MLCOURSE_HOME"] = tempfile.mkdtemp()
    >>> home().is_dir()
    True
    """
    value = os.environ.get(ENV_VAR)
    if value:
        root = Path(value).expanduser()
    else:
        # platformdirs is imported here, not at module level, to keep
        # `import mlcourse` cheap.
        from platformdirs import user_data_dir

        root = Path(user_data_dir("mlcourse", appauthor=False))
    if create:
        root.mkdir(parents=True, exist_ok=True)
    return root


def progress_file() -> Path:
    """The JSON file holding each exercise's last status."""
    return home() / "progress.json"


def run_log() -> Path:
    """The JSON-lines experiment log written by :mod:`mlcourse.train.training`."""
    return home() / "runs.jsonl"


def registry_dir() -> Path:
    """The default model registry folder used by :mod:`mlcourse.deploy.registry`."""
    return home() / "registry"


def prediction_log() -> Path:
    """The SQLite prediction log written by :mod:`mlcourse.deploy.app` (:mod:`mlcourse.deploy.prediction_log`)."""
    return home() / "predictions.db"


def lessons_dir(kind: str = "notebooks") -> Path:
    """Folder of the learner templates (``notebooks``) or the ``solutions``.

    An installed wheel carries both under ``mlcourse/_lessons``; a source
    checkout (editable install) uses the repository's own folders.
    """
    if kind not in ("notebooks", "solutions"):
        raise ValueError(f"kind must be 'notebooks' or 'solutions', not {kind!r}")
    packaged = Path(__file__).parent / "_lessons" / kind
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / kind
