"""Stage 3, packaging: a small file-based model registry.

A registry is a folder. Each model name gets a sub-folder holding one folder
per version plus the aliases that point at versions::

    <registry>/<name>/v1/model.joblib
    <registry>/<name>/v1/metadata.json
    <registry>/<name>/aliases.json        {"production": 1, "candidate": 2}

Versions are immutable once written. Promotion and rollback only move an
alias, which is a single atomic file replacement; every move is also
appended to ``<name>/history.jsonl``, which is what :func:`rollback` undoes::

    promote("fraud-detector", 2)        # a hot swap: v2 takes all traffic at once
    rollback("fraud-detector")          # ... and v1 is back, instantly

Each version records its **feature schema**, which serving checks every
request against: the features in order, integer or float or text, the
categories of text features, and for numbers the range seen in training
widened by a margin (:data:`RANGE_MARGIN`, half the range's width on each
side, never below zero for a feature that was never negative; integers
rounded inward). A value outside is refused with a 422 naming the field
and the allowed range; a wider margin lets drifted traffic through to the
monitors, a narrower one refuses more of it. Known physical limits (an
hour is 0 to 23) can be given instead (``feature_ranges=``).

A version may also carry an ONNX copy of the model (``save_model(...,
onnx=True)`` writes ``model.onnx``, hashed like the joblib file), which
:func:`load_onnx` opens with onnxruntime, without unpickling anything.

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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "CorruptFileError",
    "LoadedModel",
    "ModelIntegrityError",
    "ModelNotFoundError",
    "ModelVersion",
    "RANGE_MARGIN",
    "alias_history",
    "aliases_path",
    "demo_registry",
    "get_alias",
    "get_aliases",
    "get_version",
    "list_models",
    "load_model",
    "last_good_version",
    "load_onnx",
    "model_names",
    "promote",
    "recover_aliases",
    "registry_root",
    "resolve_version",
    "rollback",
    "save_model",
    "set_alias",
    "set_aside",
    "verify_model",
    "version_number",
]

MODEL_FILE = "model.joblib"
ONNX_FILE = "model.onnx"
METADATA_FILE = "metadata.json"
ALIASES_FILE = "aliases.json"
HISTORY_FILE = "history.jsonl"
LOCK_FILE = ".lock"

#: Libraries whose version must match for a pickled model to be trusted.
#: A mismatch is a warning, not an error: it usually still works.
CHECKED_LIBRARIES = {"sklearn": "scikit-learn", "numpy": "numpy", "joblib": "joblib"}

#: String columns with at most this many distinct values get their categories
#: recorded, so serving can refuse a value the model never saw.
MAX_CATEGORIES = 100

#: Numeric features accept the range seen in training widened by this share
#: of its width on each side (0.5: a feature seen from 10 to 30 takes 0 to 40).
#: Wide enough to let drifted traffic reach the monitors, narrow enough to
#: refuse an age of 200 or an hour of 99.
RANGE_MARGIN = 0.5

# The largest magnitude a float32 holds: models (trees, ONNX) compute in float32.
_FLOAT32_MAX = 3.4028234663852886e38

# Names become folder names: keep them to a safe alphabet so a name can never
# climb out of the registry ("../x") or collide with our temp folders (".tmp").
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_VERSION_RE = re.compile(r"^v?(\d+)$")


class ModelIntegrityError(Exception):
    """A stored model does not match its metadata (hash mismatch, missing file)."""


class ModelNotFoundError(LookupError):
    """No such model name, version or alias in the registry."""


class CorruptFileError(ModelIntegrityError):
    """A registry file (``metadata.json``, ``aliases.json``) that cannot be read; ``.path`` names it."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


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

    @property
    def label(self) -> str:
        """``"<name>:v<version>"``, the form logs, metrics and HTTP headers use."""
        return f"{self.name}:v{self.version}"

    @property
    def feature_names(self) -> list[str] | None:
        return self.metadata.get("feature_names")

    @property
    def has_onnx(self) -> bool:
        return bool(self.metadata.get("onnx"))


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


def _read_json(path: Path, what: str) -> Any:
    """A registry JSON file, or a :class:`CorruptFileError` naming it (never a bare JSONDecodeError)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
        raise CorruptFileError(f"{path} is not valid JSON ({reason}): the {what} cannot be read", path) from None


def _read_aliases(model_dir: Path) -> dict[str, int]:
    path = model_dir / ALIASES_FILE
    if not path.is_file():
        return {}
    raw = _read_json(path, "aliases")
    try:
        return {str(k): int(v) for k, v in raw.items()}
    except (AttributeError, TypeError, ValueError):
        raise CorruptFileError(f"{path} does not map aliases to version numbers: the aliases cannot be read",
                               path) from None


def _library_versions() -> dict[str, str]:
    import joblib
    import numpy
    import sklearn

    from mlcourse import __version__

    found = {
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "numpy": numpy.__version__,
        "joblib": joblib.__version__,
        "mlcourse": __version__,
    }
    import sys

    pandas = sys.modules.get("pandas")  # recorded when in use, never imported for it
    if pandas is not None:
        found["pandas"] = pandas.__version__
    return found


def _dtype_name(dtype: Any) -> str:
    """A portable dtype name: numpy's for numbers, ``"str"`` for any kind of text."""
    import numpy as np

    kind = getattr(dtype, "kind", None)
    if kind in ("i", "u", "f", "b", "M", "m"):
        return str(np.dtype(dtype)) if kind != "M" else "datetime64[ns]"
    return "str"  # object, pandas' StringDtype, category


def _categories(column: Any) -> list[str] | None:
    values = column.dropna().unique()
    if len(values) > MAX_CATEGORIES or not all(isinstance(v, str) for v in values):
        return None
    return sorted(values)


def _no_model(name: str, root: Path) -> ModelNotFoundError:
    """The error for a missing model: it names the registry and the models it does hold."""
    names = [p.name for p in sorted(root.iterdir()) if p.is_dir() and _NAME_RE.match(p.name)] if root.is_dir() else []
    return ModelNotFoundError(f"no model named {name!r} in registry {root} (models: {', '.join(names) or 'none'})")


def _resolve_version(name: str, version: int | str | None, root: Path) -> int:
    model_dir = root / name
    available = _versions(model_dir)
    if not available:
        raise _no_model(name, root)
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
                    f"model {name!r} has no alias {version!r} in registry {root}; aliases: "
                    f"{', '.join(f'{a} -> v{v}' for a, v in sorted(aliases.items())) or 'none'}"
                )
            number = aliases[version]
    if number not in available:
        raise ModelNotFoundError(
            f"model {name!r} has no version {number} in registry {root}; versions: "
            f"{', '.join(f'v{v}' for v in available)}"
        )
    return number


def _read_metadata(name: str, number: int, root: Path) -> dict[str, Any]:
    folder = root / name / f"v{number}"
    meta_path = folder / METADATA_FILE
    if not meta_path.is_file():
        raise ModelIntegrityError(f"{name} v{number}: {METADATA_FILE} is missing in {folder}")
    metadata = _read_json(meta_path, f"metadata of {name} v{number}")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("sha256"), str):
        raise CorruptFileError(f"{meta_path} has no sha256 of the model: the metadata of {name} v{number} "
                               "is not the registry's", meta_path)
    if metadata.get("version") not in (None, number) or metadata.get("name") not in (None, name):
        raise CorruptFileError(f"{meta_path} describes {metadata.get('name')} v{metadata.get('version')}, "
                               f"not {name} v{number}: the folder was copied or renamed", meta_path)
    return metadata


def _check_file(name: str, number: int, folder: Path, file: Any, expected: Any, verb: str = "load") -> Path:
    # Only a bare file name is honoured, so metadata cannot point outside the folder.
    path = folder / Path(str(file)).name
    if not path.is_file():
        raise ModelIntegrityError(f"{name} v{number}: model file {path} is missing")
    actual = _sha256(path)
    if actual != expected:
        raise ModelIntegrityError(
            f"{name} v{number}: {path.name} does not match its recorded sha256 "
            f"(expected {str(expected)[:12]}..., found {actual[:12]}...); refusing to "
            f"{verb} a file that may have been altered"
        )
    return path


def _verified(name: str, number: int, root: Path, *, onnx: bool = False) -> tuple[dict[str, Any], Path]:
    """Metadata and the artifact's path, after checking the artifact's sha256."""
    metadata = _read_metadata(name, number, root)
    folder = root / name / f"v{number}"
    if onnx:
        entry = metadata.get("onnx")
        if not entry:
            raise ModelNotFoundError(f"{name} v{number} has no ONNX export; save it with onnx=True")
        return metadata, _check_file(name, number, folder, entry.get("file", ONNX_FILE), entry.get("sha256"))
    return metadata, _check_file(name, number, folder, metadata.get("file", MODEL_FILE),
                                 metadata.get("sha256"), verb="unpickle")


def _installed_version(module: str) -> str | None:
    try:
        return __import__(module).__version__
    except ImportError:  # pragma: no cover - these are dependencies
        return None


def _warn_on_library_mismatch(name: str, number: int, metadata: Mapping[str, Any]) -> None:
    saved_versions = metadata.get("versions") or {}
    for module, label in CHECKED_LIBRARIES.items():
        saved = saved_versions.get(module)
        installed = _installed_version(module)
        if saved and installed and saved != installed:
            warnings.warn(
                f"{name} v{number} was saved with {label} {saved} but {installed} "
                "is installed; predictions may differ or loading may fail. Retrain or pin "
                f"{label}=={saved}.",
                UserWarning,
                stacklevel=3,
            )


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
    data: pd.DataFrame | None = None,
    feature_categories: Mapping[str, Sequence[str]] | None = None,
    onnx: bool = False,
    feature_ranges: Mapping[str, Sequence[float]] | None = None,
    range_margin: float = RANGE_MARGIN,
) -> ModelVersion:
    """Save ``model`` as the next version of ``name``, with its metadata.

    Four steps: work out the feature schema (:func:`_feature_schema`),
    write the artifacts into a hidden temporary folder (:func:`_write_artifacts`),
    rename that folder to the next free version number (:func:`_claim_version`),
    then move ``alias``. A crash mid-save leaves no half-written version, and
    the alias only moves once the version is complete.

    The metadata (``metadata.json``) records the name, version, creation
    time (UTC), metrics, feature names and dtypes, the categories of text
    features, the numeric ranges accepted (see :data:`RANGE_MARGIN`), an
    example record, the training data's fingerprint, the library versions
    and the artifact's sha256.

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
    data : DataFrame, optional
        The training inputs. When given, the feature names (if not given),
        their dtypes, the categories of each text column (up to
        ``MAX_CATEGORIES`` distinct values), the range of each numeric
        column, an example record and the data fingerprint
        (:func:`mlcourse.data.validation.fingerprint`) are taken from it.
    feature_categories : mapping, optional
        Allowed values of each text feature, overriding those found in ``data``.
    onnx : bool, default False
        Also export the model to ONNX (``model.onnx``, see
        :func:`mlcourse.deploy.onnx.to_onnx`) and record its sha256. Serving then
        uses onnxruntime for predictions, which is much faster for one row.
    feature_ranges : mapping, optional
        ``{name: (low, high)}``: the accepted range of a numeric feature when
        it is known better than from the data (an hour is 0 to 23),
        overriding the one found in ``data``.
    range_margin : float, default RANGE_MARGIN
        How far beyond the range seen in ``data`` a value is still accepted,
        as a share of that range's width.

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

    With the training data, the schema comes from it:

    >>> import pandas as pd
    >>> X = pd.DataFrame({"age": [20, 60], "amount": [5.0, 105.0]})
    >>> mv = save_model(DummyClassifier().fit(X, [0, 1]), "demo", registry=reg, data=X)
    >>> mv.metadata["feature_dtypes"], mv.metadata["feature_ranges"]["age"]
    ({'age': 'int64', 'amount': 'float64'}, {'min': 0, 'max': 80, 'seen_min': 20, 'seen_max': 60})
    """
    _check_name(name)
    if alias is not None:
        _check_name(alias, "alias")
    root = registry_root(registry)
    model_dir = root / name
    model_dir.mkdir(parents=True, exist_ok=True)
    schema = _feature_schema(model, feature_names, feature_dtypes, data, feature_categories,
                             feature_ranges, range_margin)
    if data is not None and data_fingerprint is None:
        from mlcourse.data.validation import fingerprint

        data_fingerprint = fingerprint(data)
    metadata: dict[str, Any] = {
        "name": name,
        "version": None,  # filled in once the number is claimed
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "metrics": dict(metrics or {}),
        **schema,
        "data_fingerprint": data_fingerprint,
        "range_margin": range_margin if schema.get("feature_ranges") else None,
        "extra": dict(extra or {}),
    }
    tmp = Path(tempfile.mkdtemp(dir=model_dir, prefix=".tmp-"))
    try:
        metadata.update(_write_artifacts(tmp, model, schema, onnx=onnx))
        number, final = _claim_version(tmp, model_dir, metadata)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if alias is not None:
        set_alias(name, alias, number, registry=root)
    return ModelVersion(name=name, version=number, path=final, metadata=metadata)


def _feature_schema(
    model: Any,
    feature_names: Sequence[str] | None,
    feature_dtypes: Mapping[str, Any] | Sequence[Any] | None,
    data: pd.DataFrame | None,
    feature_categories: Mapping[str, Sequence[str]] | None,
    feature_ranges: Mapping[str, Sequence[float]] | None,
    margin: float,
) -> dict[str, Any]:
    """Step 1 of :func:`save_model`: names, dtypes, categories, ranges and an example record.

    What is given wins over what ``data`` shows; without ``data`` only the
    given parts are recorded (no ranges: any finite number is accepted).
    """
    names = feature_names
    if names is None and hasattr(model, "feature_names_in_"):
        names = list(model.feature_names_in_)
    if names is None and data is not None:
        names = list(data.columns)
    names = None if names is None else [str(c) for c in names]
    if names is not None and len(set(names)) != len(names):
        raise ValueError("feature_names contains duplicates")
    if not margin >= 0:
        raise ValueError(f"range_margin must be 0 or more, got {margin}")
    used = None
    if data is not None:
        if not hasattr(data, "columns") or not hasattr(data, "dtypes"):
            raise TypeError(f"data must be a pandas DataFrame, not {type(data).__name__}")
        absent = [n for n in names or [] if n not in data.columns]
        if absent:
            raise ValueError(f"data has no column(s) for feature(s): {', '.join(absent)}")
        used = data[names] if names is not None else data
    dtypes = _dtypes(names, feature_dtypes, used)
    categories = None
    ranges = None
    if used is not None:
        found = {str(c): _categories(used[c]) for c in used.columns if _dtype_name(used[c].dtype) == "str"}
        categories = {c: v for c, v in found.items() if v is not None} or None
        ranges = _ranges(used, dtypes or {}, margin) or None
    if feature_categories is not None:
        categories = {**(categories or {}), **{str(k): sorted(map(str, v)) for k, v in feature_categories.items()}}
    if feature_ranges is not None:
        ranges = {**(ranges or {}), **_given_ranges(feature_ranges, names, dtypes or {}, ranges or {})}
    return {
        "feature_names": names,
        "feature_dtypes": dtypes,
        "feature_categories": categories,
        "feature_ranges": ranges,
        "input_example": None if used is None else _example(used, categories or {}, ranges or {}),
    }


def _dtypes(names: list[str] | None, given: Mapping[str, Any] | Sequence[Any] | None,
            used: pd.DataFrame | None) -> dict[str, str] | None:
    if given is None and used is not None:
        return {str(c): _dtype_name(t) for c, t in used.dtypes.items()}
    if isinstance(given, Mapping):
        return {str(k): str(v) for k, v in given.items()}
    if given is not None:
        if names is None or len(given) != len(names):
            raise ValueError("feature_dtypes as a sequence needs one dtype per feature name")
        return {n: str(d) for n, d in zip(names, given)}
    return None if names is None else {n: "float64" for n in names}


def _is_integer_dtype(dtype: str) -> bool:
    return str(dtype).startswith(("int", "uint"))


def _ranges(frame: pd.DataFrame, dtypes: Mapping[str, str], margin: float) -> dict[str, dict[str, Any]]:
    """The accepted range of each numeric column: the range seen, widened by ``margin`` of its width."""
    import math

    import numpy as np

    out: dict[str, dict[str, Any]] = {}
    for column in frame.columns:
        name = str(column)
        dtype = dtypes.get(name, _dtype_name(frame[column].dtype))
        if not str(dtype).startswith(("int", "uint", "float")):
            continue  # text, and booleans (True/False is its own schema)
        values = frame[column].to_numpy(dtype=float, na_value=np.nan)
        values = values[np.isfinite(values)]
        if not values.size:
            continue
        seen_min, seen_max = float(values.min()), float(values.max())
        width = (seen_max - seen_min) or abs(seen_max) or 1.0
        low, high = seen_min - margin * width, seen_max + margin * width
        # A feature never negative in training (an amount, an age) stays non-negative.
        low = max(low, 0.0) if seen_min >= 0 else low
        high = min(high, 0.0) if seen_max <= 0 else high
        low, high = max(low, -_FLOAT32_MAX), min(high, _FLOAT32_MAX)
        if _is_integer_dtype(dtype):
            out[name] = {"min": math.ceil(low), "max": math.floor(high),
                         "seen_min": int(seen_min), "seen_max": int(seen_max)}
        else:
            out[name] = {"min": _tidy(low), "max": _tidy(high), "seen_min": seen_min, "seen_max": seen_max}
    return out


def _tidy(value: float) -> float:
    # 7550.609000000001 -> 7550.609: bounds people read in /docs and error messages.
    return float(f"{value:.10g}")


def _given_ranges(given: Mapping[str, Sequence[float]], names: list[str] | None, dtypes: Mapping[str, str],
                  found: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, bounds in given.items():
        name = str(key)
        if names is not None and name not in names:
            raise ValueError(f"feature_ranges names an unknown feature {name!r}; the features are {', '.join(names)}")
        if not str(dtypes.get(name, "float64")).startswith(("int", "uint", "float")):
            raise ValueError(f"feature_ranges: {name!r} is not a numeric feature")
        low, high = (float(b) for b in bounds)
        if not low <= high:
            raise ValueError(f"feature_ranges: {name!r} needs low <= high, got ({low}, {high})")
        whole = _is_integer_dtype(dtypes.get(name, "float64"))
        entry: dict[str, Any] = {"min": int(low) if whole else low, "max": int(high) if whole else high}
        seen = found.get(name)
        if seen is not None:
            entry.update(seen_min=seen["seen_min"], seen_max=seen["seen_max"])
        out[name] = entry
    return out


def _example(frame: pd.DataFrame, categories: Mapping[str, Sequence[str]],
             ranges: Mapping[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The first training row that fits the schema, as JSON-ready values: the example /docs shows."""
    import math

    head = frame.head(1000)
    columns = {str(c): head[c].tolist() for c in head.columns}  # per column: an int stays an int
    for i in range(len(head)):
        record: dict[str, Any] = {}
        for name, values in columns.items():
            value = values[i]
            if isinstance(value, float) and not math.isfinite(value):
                break
            if name in categories and value not in categories[name]:
                break
            bounds = ranges.get(name)
            if bounds is not None and not bounds["min"] <= value <= bounds["max"]:
                break
            record[name] = value
        else:
            return record
    return None


def _write_artifacts(folder: Path, model: Any, schema: Mapping[str, Any], *, onnx: bool) -> dict[str, Any]:
    """Step 2 of :func:`save_model`: the pickled model (and its ONNX export), fsynced, with their hashes."""
    import joblib

    model_path = folder / MODEL_FILE
    joblib.dump(model, model_path)
    with open(model_path, "rb") as fh:
        os.fsync(fh.fileno())
    versions = _library_versions()
    onnx_meta = None
    if onnx:
        names = schema.get("feature_names")
        if names is None:
            raise ValueError("onnx=True needs feature names (feature_names=... or data=...)")
        onnx_meta = _export_onnx(model, names, schema.get("feature_dtypes") or {}, folder / ONNX_FILE, versions)
    return {"versions": versions, "file": MODEL_FILE, "sha256": _sha256(model_path), "onnx": onnx_meta}


def _claim_version(tmp: Path, model_dir: Path, metadata: dict[str, Any]) -> tuple[int, Path]:
    """Step 3 of :func:`save_model`: rename the finished folder to the next free ``v<N>``.

    Two processes saving at once may both pick the same number; the rename
    onto an existing non-empty folder fails, so the loser retries the next.
    """
    for _ in range(100):
        number = (_versions(model_dir) or [0])[-1] + 1
        metadata["version"] = number
        _write_json_atomic(tmp / METADATA_FILE, metadata)
        final = model_dir / f"v{number}"
        try:
            os.rename(tmp, final)
            return number, final
        except OSError:
            if not final.exists():
                raise
    raise RuntimeError(f"could not claim a version number for {model_dir.name!r}")  # pragma: no cover


def _export_onnx(model: Any, names: list[str], dtypes: Mapping[str, str], path: Path,
                 versions: dict[str, str]) -> dict[str, Any]:
    from mlcourse.deploy.onnx import to_onnx

    blob = to_onnx(model, names, dtypes)
    with open(path, "wb") as fh:
        fh.write(blob)
        fh.flush()
        os.fsync(fh.fileno())
    import onnxruntime
    import skl2onnx

    versions["skl2onnx"] = skl2onnx.__version__
    versions["onnxruntime"] = onnxruntime.__version__
    return {"file": ONNX_FILE, "sha256": _sha256(path)}


def load_model(
    name: str,
    version: int | str | None = None,
    *,
    registry: str | os.PathLike[str] | None = None,
) -> LoadedModel:
    """Load a saved model after checking its sha256.

    The hash is checked *before* unpickling: joblib and pickle execute code
    embedded in the file while loading it, so a file that is not the one we
    saved must never reach :func:`joblib.load`. (skops and ONNX run no
    pickled code, but their loaders still parse the file: check it all the
    same.) A warning is issued when the installed scikit-learn
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
    >>> reg = demo_registry()
    >>> model, meta = load_model("demo", registry=reg)
    >>> meta["version"], type(model).__name__
    (1, 'DummyClassifier')
    """
    import joblib

    _check_name(name)
    root = registry_root(registry)
    number = _resolve_version(name, version, root)
    metadata, model_path = _verified(name, number, root)
    _warn_on_library_mismatch(name, number, metadata)
    model = joblib.load(model_path)
    return LoadedModel(model=model, metadata=metadata)


def demo_registry(aliases: Sequence[str | None] = (None,), **save_options: Any) -> str:
    """A new temporary registry holding a tiny model ``demo``, one version per alias.

    For examples and experiments: version *i* is saved with ``alias=aliases[i-1]``
    (None: no alias) and ``save_options`` (see :func:`save_model`). The model is a
    scikit-learn ``DummyClassifier`` fitted on one feature. Returns the
    registry's folder; nothing is removed afterwards.

    Examples
    --------
    >>> reg = demo_registry(["production", None])
    >>> model_names(reg), get_aliases("demo", registry=reg)
    (['demo'], {'production': 1})
    """
    from sklearn.dummy import DummyClassifier

    registry = tempfile.mkdtemp(prefix="mlcourse-demo-registry-")
    clf = DummyClassifier().fit([[0.0], [1.0]], [0, 1])
    for alias in aliases:
        save_model(clf, "demo", registry=registry, alias=alias, **save_options)
    return registry


def list_models(registry: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """One row per saved version: name, version, created_at, aliases, metrics, sha256.

    Examples
    --------
    >>> import tempfile
    >>> list_models(tempfile.mkdtemp()).empty
    True
    """
    import pandas as pd

    root = registry_root(registry)
    rows = []
    if root.is_dir():
        for model_dir in (root / name for name in model_names(root)):
            by_version: dict[int, list[str]] = {}
            for alias, number in _read_aliases(model_dir).items():
                by_version.setdefault(number, []).append(alias)
            for number in _versions(model_dir):
                try:
                    meta = _read_metadata(model_dir.name, number, root)
                except ModelIntegrityError:  # listed all the same; verify_model says what is wrong
                    meta = {}
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


@contextmanager
def _locked(model_dir: Path) -> Iterator[None]:
    """Serialise alias changes between processes (read, modify, replace, log)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: atomic replace, no lock
        yield
        return
    with open(model_dir / LOCK_FILE, "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _move_alias(name: str, alias: str, version: int | str, root: Path, action: str,
                note: str | None = None, verify: bool = False) -> tuple[int | None, int]:
    _check_name(name)
    _check_name(alias, "alias")
    if _VERSION_RE.match(alias):
        raise ValueError(f"alias {alias!r} looks like a version number; choose a word")
    model_dir = root / name
    with _locked(model_dir) if model_dir.is_dir() else _no_lock():
        number = _resolve_version(name, version, root)
        if verify:
            metadata, _ = _verified(name, number, root)
            if metadata.get("onnx"):
                _verified(name, number, root, onnx=True)
        aliases = _read_aliases(model_dir)
        previous = aliases.get(alias)
        aliases[alias] = number
        _write_json_atomic(model_dir / ALIASES_FILE, aliases)
        entry = {
            "at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "alias": alias,
            "from": previous,
            "to": number,
            "action": action,
            "note": note,
        }
        # One short line appended with O_APPEND lands whole. The alias file
        # above is the truth; this is the audit trail rollback() walks back.
        with open(model_dir / HISTORY_FILE, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")
    return previous, number


@contextmanager
def _no_lock() -> Iterator[None]:
    yield


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
    The move is recorded in the alias history (see :func:`alias_history`).
    :func:`promote` does the same after checking the version's hashes.

    Examples
    --------
    >>> reg = demo_registry()
    >>> set_alias("demo", "production", 1, registry=reg) is None
    True
    >>> get_alias("demo", "production", registry=reg)
    1
    """
    previous, _ = _move_alias(name, alias, version, registry_root(registry), "set")
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
    >>> reg = demo_registry(["candidate"])
    >>> get_alias("demo", "candidate", registry=reg)
    1
    """
    _check_name(name)
    root = registry_root(registry)
    aliases = _read_aliases(root / name)
    if alias not in aliases:
        if not (root / name).is_dir():
            raise _no_model(name, root)
        raise ModelNotFoundError(
            f"model {name!r} has no alias {alias!r} in registry {root}; aliases: "
            f"{', '.join(f'{a} -> v{v}' for a, v in sorted(aliases.items())) or 'none'}"
        )
    return aliases[alias]


def get_aliases(name: str, registry: str | os.PathLike[str] | None = None) -> dict[str, int]:
    """All aliases of ``name`` and the versions they point at (``{}`` when none).

    Examples
    --------
    >>> reg = demo_registry(["production"])
    >>> get_aliases("demo", registry=reg)
    {'production': 1}
    """
    _check_name(name)
    return _read_aliases(registry_root(registry) / name)


# --------------------------------------------------------------------------- queries
# What the layers above the registry (the service, the router, the app) ask of it.


def registry_root(registry: str | os.PathLike[str] | None = None) -> Path:
    """The registry folder: ``registry`` itself, or ``$MLCOURSE_HOME/registry`` when None.

    Examples
    --------
    >>> registry_root("~/my-registry") == Path.home() / "my-registry"
    True
    """
    if registry is None:
        from mlcourse.paths import registry_dir

        return registry_dir()
    return Path(registry).expanduser()


def model_names(registry: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the models in the registry, sorted (``[]`` when the folder does not exist).

    Only sub-folders whose name is a valid model name count, the ones
    :func:`list_models` lists; this answer needs no pandas.

    Examples
    --------
    >>> reg = demo_registry()
    >>> model_names(reg)
    ['demo']
    """
    root = registry_root(registry)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _NAME_RE.match(p.name))


def resolve_version(
    name: str,
    version: int | str | None = None,
    *,
    registry: str | os.PathLike[str] | None = None,
) -> int:
    """The version number ``version`` stands for, as :func:`load_model` resolves it.

    ``None`` is the latest version; ``3``, ``"3"`` and ``"v3"`` are version 3;
    any other string is an alias.

    Raises
    ------
    ModelNotFoundError
        When the model, the version or the alias does not exist.

    Examples
    --------
    >>> reg = demo_registry(["production", None])
    >>> resolve_version("demo", registry=reg), resolve_version("demo", "production", registry=reg)
    (2, 1)
    """
    _check_name(name)
    return _resolve_version(name, version, registry_root(registry))


def version_number(ref: int | str) -> int | None:
    """The version a reference names (``3``, ``"3"``, ``"v3"``), or None for an alias.

    Examples
    --------
    >>> version_number("v3"), version_number(3), version_number("production")
    (3, 3, None)
    """
    m = _VERSION_RE.match(str(ref))
    return int(m.group(1)) if m else None


def aliases_path(name: str, registry: str | os.PathLike[str] | None = None) -> Path:
    """The file that holds ``name``'s aliases (it may not exist yet).

    Every alias move replaces it atomically, so a server follows promotions
    and rollbacks by watching its modification time.

    Examples
    --------
    >>> aliases_path("demo", "/srv/registry").as_posix()
    '/srv/registry/demo/aliases.json'
    """
    _check_name(name)
    return registry_root(registry) / name / ALIASES_FILE


def get_version(
    name: str,
    version: int | str | None = None,
    *,
    registry: str | os.PathLike[str] | None = None,
) -> ModelVersion:
    """A version's folder and metadata, without loading (or verifying) the model.

    ``version`` is resolved like in :func:`load_model`: ``None`` for the
    latest, a number, ``"v3"`` or an alias.

    Examples
    --------
    >>> reg = demo_registry(["production"], metrics={"accuracy": 0.5})
    >>> mv = get_version("demo", "production", registry=reg)
    >>> mv.label, mv.metadata["metrics"]
    ('demo:v1', {'accuracy': 0.5})
    """
    _check_name(name)
    root = registry_root(registry)
    number = _resolve_version(name, version, root)
    return ModelVersion(name=name, version=number, path=root / name / f"v{number}",
                        metadata=_read_metadata(name, number, root))


def verify_model(
    name: str,
    version: int | str | None = None,
    *,
    registry: str | os.PathLike[str] | None = None,
) -> ModelVersion:
    """Check a version's artifacts against their recorded sha256, loading nothing.

    Raises
    ------
    ModelIntegrityError
        A file is missing or altered; the message names it.

    Examples
    --------
    >>> reg = demo_registry()
    >>> mv = verify_model("demo", 1, registry=reg)
    >>> mv.version
    1
    >>> _ = (mv.path / "model.joblib").write_bytes(b"not the model")
    >>> verify_model("demo", 1, registry=reg)
    Traceback (most recent call last):
    ...
    mlcourse.deploy.registry.ModelIntegrityError: demo v1: model.joblib does not match its recorded sha256 ...
    """
    _check_name(name)
    root = registry_root(registry)
    number = _resolve_version(name, version, root)
    metadata, _ = _verified(name, number, root)
    if metadata.get("onnx"):
        _verified(name, number, root, onnx=True)
    return ModelVersion(name=name, version=number, path=root / name / f"v{number}", metadata=metadata)


def load_onnx(
    name: str,
    version: int | str | None = None,
    *,
    registry: str | os.PathLike[str] | None = None,
    threads: int = 1,
) -> Any:
    """Open a version's ONNX export with onnxruntime, after checking its sha256.

    Nothing is unpickled: an ONNX file is a description of the computation,
    not a program, which is why it is the safer format to ship.

    Returns
    -------
    mlcourse.deploy.onnx.OnnxModel
        With ``predict`` and ``predict_proba`` like the scikit-learn model.

    Raises
    ------
    ModelNotFoundError
        The version was saved without ``onnx=True``.
    ModelIntegrityError
        ``model.onnx`` is missing or altered.
    """
    from mlcourse.deploy.onnx import OnnxModel

    _check_name(name)
    root = registry_root(registry)
    number = _resolve_version(name, version, root)
    metadata, path = _verified(name, number, root, onnx=True)
    return OnnxModel(path.read_bytes(), feature_names=metadata.get("feature_names"), threads=threads)


def promote(
    name: str,
    version: int | str,
    alias: str = "production",
    *,
    registry: str | os.PathLike[str] | None = None,
    note: str | None = None,
) -> int | None:
    """Hot swap: point ``alias`` (``production``) at ``version`` in one step.

    A real blue-green deployment also keeps the old environment running
    beside the new one and moves traffic at the load balancer; here the
    registry's alias is the switch and the old version stays one rollback away.

    The version's files are checked against their sha256 first, so an
    altered model is refused before any traffic reaches it. The switch is
    one atomic replacement of ``aliases.json``: a running server (``mlcourse
    serve``, :func:`mlcourse.deploy.app.create_app`) picks it up within about
    a second, loading the new version before moving traffic to it, and
    :func:`rollback` undoes it just as fast.

    Parameters
    ----------
    name : str
        Model name.
    version : int or str
        A number, ``"v3"``, or another alias (``"candidate"``).
    alias : str, default "production"
    registry : path, optional
    note : str, optional
        Why; kept in the history (``alias_history``).

    Returns
    -------
    int or None
        The version the alias pointed at before (None if it is new).

    Examples
    --------
    >>> reg = demo_registry(["production", "candidate"])
    >>> promote("demo", "candidate", registry=reg, note="beat v1 offline")
    1
    >>> get_alias("demo", "production", registry=reg)
    2
    >>> rollback("demo", registry=reg)
    1
    """
    previous, _ = _move_alias(name, alias, version, registry_root(registry), "promote", note=note, verify=True)
    return previous


def _undo_stack(entries: list[dict[str, Any]]) -> list[int | None]:
    # Each promote/set pushes the version it replaced; each rollback pops one.
    stack: list[int | None] = []
    for entry in entries:
        if entry.get("action") == "rollback":
            if stack:
                stack.pop()
        else:
            stack.append(entry.get("from"))
    return stack


def _history_entries(model_dir: Path) -> list[dict[str, Any]]:
    path = model_dir / HISTORY_FILE
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:  # a torn last line after a crash
                continue
    return entries


def rollback(
    name: str,
    alias: str = "production",
    *,
    registry: str | os.PathLike[str] | None = None,
    note: str | None = None,
) -> int:
    """Undo the last move of ``alias``: point it back at the version it replaced.

    Rollbacks stack: after promoting v2 then v3, one rollback returns to v2
    and a second to v1. Returns the version the alias points at now.

    Raises
    ------
    ModelNotFoundError
        Nothing to roll back to (the alias was never moved from a version).

    Examples
    --------
    >>> reg = demo_registry(["production"] * 3)
    >>> rollback("demo", registry=reg), rollback("demo", registry=reg)
    (2, 1)
    """
    _check_name(name)
    _check_name(alias, "alias")
    root = registry_root(registry)
    model_dir = root / name
    if not model_dir.is_dir():
        raise _no_model(name, root)
    with _locked(model_dir):
        entries = [e for e in _history_entries(model_dir) if e.get("alias") == alias]
        stack = _undo_stack(entries)
        target = stack[-1] if stack else None
        if target is None:
            raise ModelNotFoundError(f"{name}: alias {alias!r} has no earlier version to roll back to")
        aliases = _read_aliases(model_dir)
        current = aliases.get(alias)
        aliases[alias] = int(target)
        _write_json_atomic(model_dir / ALIASES_FILE, aliases)
        entry = {
            "at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "alias": alias,
            "from": current,
            "to": int(target),
            "action": "rollback",
            "note": note,
        }
        with open(model_dir / HISTORY_FILE, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")
    return int(target)


def alias_history(
    name: str,
    alias: str | None = None,
    *,
    registry: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Every alias move of ``name``, oldest first: at, alias, from, to, action, note.

    Examples
    --------
    >>> reg = demo_registry(["production", None])
    >>> _ = promote("demo", 2, registry=reg)
    >>> alias_history("demo", registry=reg)[["alias", "from", "to", "action"]]
            alias  from  to   action
    0  production  <NA>   1      set
    1  production     1   2  promote
    """
    import pandas as pd

    _check_name(name)
    entries = _history_entries(registry_root(registry) / name)
    if alias is not None:
        entries = [e for e in entries if e.get("alias") == alias]
    columns = ["at", "alias", "from", "to", "action", "note"]
    table = pd.DataFrame([{c: e.get(c) for c in columns} for e in entries], columns=columns)
    table["from"] = table["from"].astype("Int64")
    table["to"] = table["to"].astype("Int64")
    return table


# --------------------------------------------------------------------------- recovery
# What a server does on start when the registry was damaged behind its back.


def recover_aliases(
    name: str,
    registry: str | os.PathLike[str] | None = None,
) -> tuple[Path, dict[str, int]] | None:
    """Set an unreadable ``aliases.json`` aside and rebuild it from the alias history.

    Returns None when the file reads fine (nothing is touched); otherwise
    ``(where the damaged file was moved, the aliases rebuilt)``. The damaged
    file is renamed with a timestamp (``aliases.corrupt-20261204-101500.json``),
    never deleted, and every move in ``history.jsonl`` is replayed, oldest
    first, to rebuild the aliases (none when there is no history).

    Examples
    --------
    >>> reg = demo_registry(["production"])
    >>> recover_aliases("demo", registry=reg) is None
    True
    >>> _ = aliases_path("demo", reg).write_text('{"production": ')  # truncated
    >>> moved, rebuilt = recover_aliases("demo", registry=reg)
    >>> moved.name.startswith("aliases.corrupt-"), rebuilt
    (True, {'production': 1})
    """
    _check_name(name)
    model_dir = registry_root(registry) / name
    with _locked(model_dir) if model_dir.is_dir() else _no_lock():
        try:
            _read_aliases(model_dir)
            return None
        except CorruptFileError as exc:
            path = exc.path
        moved = set_aside(path)
        rebuilt: dict[str, int] = {}
        available = set(_versions(model_dir))
        for entry in _history_entries(model_dir):
            alias, target = entry.get("alias"), entry.get("to")
            if isinstance(alias, str) and isinstance(target, int) and target in available:
                rebuilt[alias] = target
        if rebuilt:
            _write_json_atomic(path, rebuilt)
    return moved, rebuilt


def set_aside(path: Path) -> Path:
    """Rename a damaged file with a timestamp beside it (``x.json`` -> ``x.corrupt-20261204-101500.json``).

    Never overwrites: a second damaged file in the same second gets ``-2``.
    """
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        suffix = "" if n == 1 else f"-{n}"
        target = path.with_name(f"{path.stem}.corrupt-{stamp}{suffix}{path.suffix}")
        if not target.exists():
            os.replace(path, target)
            return target
    raise FileExistsError(f"cannot find a free name to set {path} aside")  # pragma: no cover


def last_good_version(
    name: str,
    alias: str = "production",
    *,
    registry: str | os.PathLike[str] | None = None,
    exclude: Sequence[int] = (),
) -> tuple[ModelVersion | None, list[str]]:
    """The newest version ``alias`` pointed at before that still passes its checks.

    Walks the alias history back (see :func:`alias_history`), newest first,
    skipping ``exclude`` (the version just refused), and checks each
    version's metadata and hashes (:func:`verify_model`), loading nothing.
    Returns ``(the version or None, why each skipped one was refused)``.

    Examples
    --------
    >>> reg = demo_registry(["production"] * 3)
    >>> _ = (get_version("demo", 2, registry=reg).path / "model.joblib").write_bytes(b"broken")
    >>> good, refused = last_good_version("demo", registry=reg, exclude=[3])
    >>> good.version, len(refused)
    (1, 1)
    """
    _check_name(name)
    root = registry_root(registry)
    seen: list[int] = []
    for entry in reversed(_history_entries(root / name)):
        if entry.get("alias") != alias:
            continue
        for key in ("to", "from"):
            number = entry.get(key)
            if isinstance(number, int) and number not in seen and number not in exclude:
                seen.append(number)
    refused = []
    for number in seen:
        try:
            return verify_model(name, number, registry=root), refused
        except (ModelIntegrityError, ModelNotFoundError) as exc:
            refused.append(str(exc))
    return None, refused
