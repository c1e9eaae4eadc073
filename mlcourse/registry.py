"""Stage 3, packaging: a small file-based model registry.

A registry is a folder. Each model name gets a sub-folder holding one folder
per version plus the aliases that point at versions::

    <registry>/<name>/v1/model.joblib
    <registry>/<name>/v1/metadata.json
    <registry>/<name>/aliases.json        {"production": 1, "candidate": 2}

Versions are immutable once written. Promotion and rollback only move an
alias, which is a single atomic file replacement.

Security note: joblib (like pickle, which it builds on) runs code while it
loads a file, so loading a model from an untrusted source is running that
source's code. :func:`load_model` therefore checks the artifact's sha256
against the metadata *before* unpickling. The hash catches corruption and a
swapped file; it is no defence against someone who can rewrite both files.
For artifacts that cross a trust boundary prefer a format that does not
execute code, such as skops (``skops.io``) or ONNX.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "LoadedModel",
    "ModelIntegrityError",
    "ModelNotFoundError",
    "ModelVersion",
    "get_alias",
    "list_models",
    "load_model",
    "save_model",
    "set_alias",
]

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
ALIASES_FILE = "aliases.json"

# Names become folder names: keep them to a safe alphabet so a name can never
# climb out of the registry ("../x") or collide with our temp folders (".tmp").
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_VERSION_RE = re.compile(r"^v?(\d+)$")


class ModelIntegrityError(Exception):
    """A stored model does not match its metadata (hash mismatch, missing file)."""


class ModelNotFoundError(LookupError):
    """No such model name, version or alias in the registry."""


@dataclass(frozen=True)
class ModelVersion:
    """One saved version: where it lives and what was recorded about it."""

    name: str
    version: int
    path: Path
    metadata: dict[str, Any] = field(repr=False)

    @property
    def sha256(self) -> str:
        return self.metadata["sha256"]


@dataclass(frozen=True)
class LoadedModel:
    """A model loaded from the registry, with its metadata.

    Unpacks like a pair: ``model, metadata = load_model("clf")``.
    """

    model: Any
    metadata: dict[str, Any]

    @property
    def name(self) -> str:
        return self.metadata["name"]

    @property
    def version(self) -> int:
        return int(self.metadata["version"])

    @property
    def feature_names(self) -> list[str] | None:
        return self.metadata.get("feature_names")

    def __iter__(self) -> Iterator[Any]:
        yield self.model
        yield self.metadata


# --------------------------------------------------------------------------- helpers


def _root(registry: str | os.PathLike[str] | None) -> Path:
    if registry is None:
        from mlcourse.paths import registry_dir

        return registry_dir()
    return Path(registry).expanduser()


def _check_name(value: str, what: str = "model name") -> str:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ValueError(
            f"invalid {what} {value!r}: use letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays show up in metrics and dtypes; JSON has no
    # notion of them, so store their plain Python value.
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, (Path, datetime)):
        return str(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in model metadata")


def _write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so readers see the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, default=_json_default)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _versions(model_dir: Path) -> list[int]:
    if not model_dir.is_dir():
        return []
    found = []
    for child in model_dir.iterdir():
        m = re.fullmatch(r"v(\d+)", child.name)
        if m and child.is_dir():
            found.append(int(m.group(1)))
    return sorted(found)


def _read_aliases(model_dir: Path) -> dict[str, int]:
    path = model_dir / ALIASES_FILE
    if not path.is_file():
        return {}
    return {k: int(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}


def _library_versions() -> dict[str, str]:
    import joblib
    import numpy
    import sklearn

    from mlcourse import __version__

    return {
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "numpy": numpy.__version__,
        "joblib": joblib.__version__,
        "mlcourse": __version__,
    }


def _resolve_version(name: str, version: int | str | None, root: Path) -> int:
    model_dir = root / name
    available = _versions(model_dir)
    if not available:
        raise ModelNotFoundError(f"no model named {name!r} in registry {root}")
    if version is None:
        return available[-1]
    if isinstance(version, bool):
        raise TypeError("version must be an int, 'v<N>', an alias or None")
    if isinstance(version, int):
        number = version
    else:
        m = _VERSION_RE.match(str(version))
        if m:
            number = int(m.group(1))
        else:
            aliases = _read_aliases(model_dir)
            if version not in aliases:
                raise ModelNotFoundError(
                    f"model {name!r} has no alias {version!r}; aliases: {sorted(aliases) or 'none'}"
                )
            number = aliases[version]
    if number not in available:
        raise ModelNotFoundError(
            f"model {name!r} has no version {number}; versions: {available}"
        )
    return number


# --------------------------------------------------------------------------- public API


def save_model(
    model: Any,
    name: str,
    *,
    registry: str | os.PathLike[str] | None = None,
    metrics: Mapping[str, Any] | None = None,
    feature_names: Sequence[str] | None = None,
    feature_dtypes: Mapping[str, Any] | Sequence[Any] | None = None,
    data_fingerprint: str | None = None,
    extra: Mapping[str, Any] | None = None,
    alias: str | None = None,
) -> ModelVersion:
    """Save ``model`` as the next version of ``name``, with its metadata.

    The version is assembled in a hidden temporary folder next to its final
    place and renamed into place in one step, so a crash mid-save leaves no
    half-written version, and ``alias`` (if given) is only moved once the
    version is complete.

    Parameters
    ----------
    model : object
        Any joblib-picklable estimator.
    name : str
        Model name: letters, digits, ``.``, ``_`` and ``-``.
    registry : path, optional
        Registry folder; defaults to ``mlcourse.paths.registry_dir()``, which
        follows ``$MLCOURSE_HOME``.
    metrics : mapping, optional
        Evaluation results to record (for example ``{"accuracy": 0.935}``).
    feature_names : sequence of str, optional
        Input columns in the model's order. Defaults to the estimator's
        ``feature_names_in_`` when it was fitted on a DataFrame.
    feature_dtypes : mapping or sequence, optional
        Dtype of each feature (``{"feat_0": "float64"}`` or one per name).
        Defaults to ``"float64"`` for every known feature.
    data_fingerprint : str, optional
        Content hash of the training data, tying the model to its data.
    extra : mapping, optional
        Anything else worth recording (hyper-parameters, a run id).
    alias : str, optional
        Point this alias (``"candidate"``, say) at the new version once saved.

    Returns
    -------
    ModelVersion

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.dummy import DummyClassifier
    >>> clf = DummyClassifier().fit([[0.0], [1.0]], [0, 1])
    >>> reg = tempfile.mkdtemp()
    >>> mv = save_model(clf, "demo", registry=reg, metrics={"accuracy": 0.5},
    ...                 feature_names=["x"])
    >>> mv.version, sorted(p.name for p in mv.path.iterdir())
    (1, ['metadata.json', 'model.joblib'])
    """
    import joblib

    _check_name(name)
    if alias is not None:
        _check_name(alias, "alias")
    root = _root(registry)
    model_dir = root / name
    model_dir.mkdir(parents=True, exist_ok=True)

    if feature_names is None and hasattr(model, "feature_names_in_"):
        feature_names = [str(c) for c in model.feature_names_in_]
    names = None if feature_names is None else [str(c) for c in feature_names]
    if names is not None and len(set(names)) != len(names):
        raise ValueError("feature_names contains duplicates")
    dtypes: dict[str, str] | None = None
    if feature_dtypes is not None:
        if isinstance(feature_dtypes, Mapping):
            dtypes = {str(k): str(v) for k, v in feature_dtypes.items()}
        else:
            if names is None or len(feature_dtypes) != len(names):
                raise ValueError("feature_dtypes as a sequence needs one dtype per feature name")
            dtypes = {n: str(d) for n, d in zip(names, feature_dtypes)}
    elif names is not None:
        dtypes = {n: "float64" for n in names}

    tmp = Path(tempfile.mkdtemp(dir=model_dir, prefix=".tmp-"))
    try:
        model_path = tmp / MODEL_FILE
        joblib.dump(model, model_path)
        with open(model_path, "rb") as fh:
            os.fsync(fh.fileno())
        metadata: dict[str, Any] = {
            "name": name,
            "version": None,  # filled in once the number is claimed below
            "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
            "metrics": dict(metrics or {}),
            "feature_names": names,
            "feature_dtypes": dtypes,
            "data_fingerprint": data_fingerprint,
            "versions": _library_versions(),
            "file": MODEL_FILE,
            "sha256": _sha256(model_path),
            "extra": dict(extra or {}),
        }
        # Two processes saving at once may both pick the same number; the
        # rename onto an existing non-empty folder fails, so retry the next.
        for _ in range(100):
            number = (_versions(model_dir) or [0])[-1] + 1
            metadata["version"] = number
            _write_json_atomic(tmp / METADATA_FILE, metadata)
            final = model_dir / f"v{number}"
            try:
                os.rename(tmp, final)
                break
            except OSError:
                if not final.exists():
                    raise
        else:  # pragma: no cover - needs 100 concurrent writers
            raise RuntimeError(f"could not claim a version number for {name!r}")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    if alias is not None:
        set_alias(name, alias, number, registry=root)
    return ModelVersion(name=name, version=number, path=final, metadata=metadata)


def load_model(
    name: str,
    version: int | str | None = None,
    *,
    registry: str | os.PathLike[str] | None = None,
) -> LoadedModel:
    """Load a saved model after checking its sha256.

    The hash is checked *before* unpickling: joblib and pickle execute code
    embedded in the file while loading it, so a file that is not the one we
    saved must never reach :func:`joblib.load`. (skops or ONNX avoid this
    risk altogether.) A warning is issued when the installed scikit-learn
    differs from the one the model was saved with, since pickled estimators
    are only guaranteed to work with the version that wrote them.

    Parameters
    ----------
    name : str
        Model name.
    version : int, str or None
        ``None`` for the latest version, a number (``3`` or ``"v3"``), or an
        alias such as ``"production"``.
    registry : path, optional
        Registry folder (default: ``mlcourse.paths.registry_dir()``).

    Returns
    -------
    LoadedModel
        ``.model`` and ``.metadata``; also unpacks as ``model, metadata``.

    Raises
    ------
    ModelNotFoundError
        Unknown name, version or alias.
    ModelIntegrityError
        The artifact is missing or its hash differs from the metadata.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.dummy import DummyClassifier
    >>> reg = tempfile.mkdtemp()
    >>> _ = save_model(DummyClassifier().fit([[0.0], [1.0]], [0, 1]), "demo", registry=reg)
    >>> model, meta = load_model("demo", registry=reg)
    >>> meta["version"], type(model).__name__
    (1, 'DummyClassifier')
    """
    import joblib

    _check_name(name)
    root = _root(registry)
    number = _resolve_version(name, version, root)
    folder = root / name / f"v{number}"
    meta_path = folder / METADATA_FILE
    if not meta_path.is_file():
        raise ModelIntegrityError(f"{name} v{number}: {METADATA_FILE} is missing in {folder}")
    metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    # Only a bare file name is honoured, so metadata cannot point outside the folder.
    model_path = folder / Path(str(metadata.get("file", MODEL_FILE))).name
    if not model_path.is_file():
        raise ModelIntegrityError(f"{name} v{number}: model file {model_path} is missing")
    expected = metadata.get("sha256")
    actual = _sha256(model_path)
    if actual != expected:
        raise ModelIntegrityError(
            f"{name} v{number}: {model_path.name} does not match its recorded sha256 "
            f"(expected {str(expected)[:12]}..., found {actual[:12]}...); refusing to "
            "unpickle a file that may have been altered"
        )

    import sklearn

    saved = (metadata.get("versions") or {}).get("sklearn")
    if saved and saved != sklearn.__version__:
        warnings.warn(
            f"{name} v{number} was saved with scikit-learn {saved} but {sklearn.__version__} "
            "is installed; predictions may differ or loading may fail. Retrain or pin "
            f"scikit-learn=={saved}.",
            UserWarning,
            stacklevel=2,
        )
    model = joblib.load(model_path)
    return LoadedModel(model=model, metadata=metadata)


def list_models(registry: str | os.PathLike[str] | None = None) -> "pd.DataFrame":
    """One row per saved version: name, version, created_at, aliases, metrics, sha256.

    Examples
    --------
    >>> import tempfile
    >>> list_models(tempfile.mkdtemp()).empty
    True
    """
    import pandas as pd

    root = _root(registry)
    rows = []
    if root.is_dir():
        for model_dir in sorted(p for p in root.iterdir() if p.is_dir() and _NAME_RE.match(p.name)):
            by_version: dict[int, list[str]] = {}
            for alias, number in _read_aliases(model_dir).items():
                by_version.setdefault(number, []).append(alias)
            for number in _versions(model_dir):
                meta_path = model_dir / f"v{number}" / METADATA_FILE
                meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
                rows.append(
                    {
                        "name": model_dir.name,
                        "version": number,
                        "created_at": meta.get("created_at"),
                        "aliases": ",".join(sorted(by_version.get(number, []))),
                        "metrics": meta.get("metrics", {}),
                        "sha256": meta.get("sha256"),
                    }
                )
    columns = ["name", "version", "created_at", "aliases", "metrics", "sha256"]
    return pd.DataFrame(rows, columns=columns)


def set_alias(
    name: str,
    alias: str,
    version: int | str,
    registry: str | os.PathLike[str] | None = None,
) -> int | None:
    """Point ``alias`` at ``version`` of ``name``; return the version it pointed at before.

    The aliases file is replaced atomically, so a reader (a running server)
    sees either the old target or the new one. Returning the previous
    target makes a rollback one call: ``set_alias(name, alias, previous)``.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.dummy import DummyClassifier
    >>> reg = tempfile.mkdtemp()
    >>> _ = save_model(DummyClassifier().fit([[0.0], [1.0]], [0, 1]), "demo", registry=reg)
    >>> set_alias("demo", "production", 1, registry=reg) is None
    True
    >>> get_alias("demo", "production", registry=reg)
    1
    """
    _check_name(name)
    _check_name(alias, "alias")
    if _VERSION_RE.match(alias):
        raise ValueError(f"alias {alias!r} looks like a version number; choose a word")
    root = _root(registry)
    number = _resolve_version(name, version, root)
    model_dir = root / name
    aliases = _read_aliases(model_dir)
    previous = aliases.get(alias)
    aliases[alias] = number
    _write_json_atomic(model_dir / ALIASES_FILE, aliases)
    return previous


def get_alias(
    name: str,
    alias: str,
    registry: str | os.PathLike[str] | None = None,
) -> int:
    """Return the version number ``alias`` points at.

    Raises
    ------
    ModelNotFoundError
        When the model or alias does not exist.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.dummy import DummyClassifier
    >>> reg = tempfile.mkdtemp()
    >>> _ = save_model(DummyClassifier().fit([[0.0], [1.0]], [0, 1]), "demo",
    ...                registry=reg, alias="candidate")
    >>> get_alias("demo", "candidate", registry=reg)
    1
    """
    _check_name(name)
    root = _root(registry)
    aliases = _read_aliases(root / name)
    if alias not in aliases:
        raise ModelNotFoundError(
            f"model {name!r} has no alias {alias!r}; aliases: {sorted(aliases) or 'none'}"
        )
    return aliases[alias]
