"""Stage 3, serving: a model behind a check of every request against its feature schema.

:class:`ModelService` is the piece every serving path shares (a notebook, a
batch job, the HTTP app of :mod:`mlcourse.deploy.app`, the canary router of
:mod:`mlcourse.deploy.rollout`). It checks each request against the model's
feature schema before the model sees it, because a model given a missing
column, a string or a NaN either crashes deep inside scikit-learn or, worse,
returns a confident answer to a malformed question. With an ONNX copy of the
model (``onnx=...``) it predicts through onnxruntime, hundreds of times faster
for one row.

It uses the registry (:mod:`mlcourse.deploy.registry`) and the ONNX runtime
(:mod:`mlcourse.deploy.onnx`) below it, and nothing above: the router and the
app import it, never the other way round. It imports only numpy at import
time, so it stays quick to import.
"""
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mlcourse.errors import missing_and_extra

__all__ = ["FLOAT32_MAX", "InvalidInput", "ModelService", "range_text"]

#: Largest magnitude a feature may have: models (trees, ONNX) compute in float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)

_NUMERIC_PREFIXES = ("int", "uint", "float", "bool")


class InvalidInput(ValueError):
    """A request that does not fit the model's feature schema.

    ``fields`` lists the feature names (or positions) at fault, so an HTTP
    layer can turn it into a 422 naming them.
    """

    def __init__(self, message: str, fields: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.fields = list(fields)


def _preview(names: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(map(str, names[:limit]))
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _refuse_wrong_names(missing: list[str], extra: list[str], where: str = "") -> None:
    """Raise :class:`InvalidInput` naming the ``missing`` and the unknown (``extra``) features, if there are any."""
    parts = missing_and_extra(missing, extra, lambda names: f"missing feature(s): {_preview(names)}",
                              lambda names: f"unknown feature(s): {_preview(names)}")
    if parts:
        raise InvalidInput(where + "; ".join(parts), missing + extra)


def _is_numeric(dtype: str) -> bool:
    return str(dtype).startswith(_NUMERIC_PREFIXES)


def _is_integer(dtype: str) -> bool:
    return str(dtype).startswith(("int", "uint"))


def _bound(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


def range_text(low: float, high: float) -> str:
    """``"0 to 23"``: a range as the error messages and the docs write it."""
    return f"{_bound(low)} to {_bound(high)}"


class ModelService:
    """Serve predictions from a fitted model with input validation.

    Parameters
    ----------
    model : estimator
        A fitted scikit-learn style model with ``predict``.
    feature_names : list of str
        The input fields, in any order when the model was fitted on a
        DataFrame (its ``feature_names_in_`` order is used), else in the
        model's column order.
    version : str, optional
        A label for logs and metrics, such as ``"fraud-detector:v1"``.
    feature_dtypes : mapping, optional
        ``{name: dtype}``. Features with a numeric dtype (``"float64"``,
        ``"int64"``) take numbers; any other (``"str"``) takes text. Default:
        all numeric.
    categories : mapping, optional
        ``{name: [allowed values]}`` for text features; other values are refused.
    ranges : mapping, optional
        ``{name: (low, high)}`` (or ``{"min": low, "max": high}``, as the
        registry records them) for numeric features; values outside are
        refused. Features with an integer dtype (``"int64"``) also refuse
        numbers with a fractional part.
    onnx : OnnxModel, bytes or bool, optional
        Predict through onnxruntime: an :class:`mlcourse.deploy.onnx.OnnxModel`, ONNX
        bytes, or True to export ``model`` now. The scikit-learn model stays
        available as ``.model``.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> model = LogisticRegression().fit([[0.0, 0.0], [1.0, 1.0]], [0, 1])
    >>> svc = ModelService(model, ["a", "b"], version="demo")
    >>> svc.predict({"a": 0.9, "b": 1.0})
    1
    >>> svc.predict({"a": 0.9})
    Traceback (most recent call last):
    ...
    mlcourse.deploy.service.InvalidInput: missing feature(s): b

    Text features need their dtype (and may list their allowed values):

    >>> import pandas as pd
    >>> from sklearn.compose import make_column_transformer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import OneHotEncoder
    >>> X = pd.DataFrame({"amount": [5.0, 900.0, 7.0, 800.0], "channel": ["chip", "online", "chip", "online"]})
    >>> pipe = make_pipeline(make_column_transformer((OneHotEncoder(), ["channel"]), remainder="passthrough"),
    ...                      LogisticRegression()).fit(X, [0, 1, 0, 1])
    >>> svc = ModelService(pipe, ["amount", "channel"], feature_dtypes={"amount": "float64", "channel": "str"},
    ...                    categories={"channel": ["chip", "online"]})
    >>> svc.predict({"amount": 850.0, "channel": "online"})
    1
    >>> svc.predict({"amount": 850.0, "channel": "fax"})
    Traceback (most recent call last):
    ...
    mlcourse.deploy.service.InvalidInput: feature 'channel' must be one of 'chip', 'online'; got 'fax'

    Ranges and integer types, as the registry records them from the training data:

    >>> svc = ModelService(LogisticRegression().fit([[1, 10.0], [3, 90.0]], [0, 1]), ["hour", "amount"],
    ...                    feature_dtypes={"hour": "int64"}, ranges={"hour": (0, 23), "amount": (0, 130)})
    >>> svc.predict({"hour": 99, "amount": 12.5})
    Traceback (most recent call last):
    ...
    mlcourse.deploy.service.InvalidInput: feature 'hour' must be from 0 to 23; got 99
    >>> svc.predict({"hour": 3.5, "amount": 12.5})
    Traceback (most recent call last):
    ...
    mlcourse.deploy.service.InvalidInput: feature 'hour' must be a whole number (int64); got 3.5
    """

    def __init__(
        self,
        model: Any,
        feature_names: Sequence[str],
        *,
        version: str = "unknown",
        feature_dtypes: Mapping[str, str] | None = None,
        categories: Mapping[str, Sequence[str]] | None = None,
        ranges: Mapping[str, Any] | None = None,
        onnx: Any = None,
    ) -> None:
        if not hasattr(model, "predict"):
            raise TypeError(f"model must have a predict method, got {type(model).__name__}")
        names = [str(n) for n in feature_names]
        if not names:
            raise ValueError("feature_names is empty")
        if len(set(names)) != len(names):
            raise ValueError("feature_names contains duplicates")
        fitted = getattr(model, "feature_names_in_", None)
        if fitted is not None:
            fitted = [str(n) for n in fitted]
            if set(fitted) != set(names):
                raise ValueError(
                    "feature_names do not match the model's feature_names_in_: "
                    f"missing {sorted(set(fitted) - set(names))}, extra {sorted(set(names) - set(fitted))}"
                )
            # The model checks column names and order, so feed it its own order.
            names = fitted
        n_in = getattr(model, "n_features_in_", None)
        if n_in is not None and n_in != len(names):
            raise ValueError(f"the model expects {n_in} features but {len(names)} names were given")
        dtypes = {str(k): str(v) for k, v in (feature_dtypes or {}).items()}
        unknown = sorted(set(dtypes) - set(names))
        if unknown:
            raise ValueError(f"feature_dtypes names unknown feature(s): {_preview(unknown)}")
        self.model = model
        self.feature_names: list[str] = names
        self.feature_dtypes: dict[str, str] = {n: dtypes.get(n, "float64") for n in names}
        self._text = [not _is_numeric(self.feature_dtypes[n]) for n in names]
        cats = {str(k): [str(v) for v in values] for k, values in (categories or {}).items()}
        bad = sorted(k for k in cats if k not in self._index_of(names) or not self._text[names.index(k)])
        if bad:
            raise ValueError(f"categories given for feature(s) that are not text features: {_preview(bad)}")
        self.categories: dict[str, list[str]] = cats
        self._category_sets = {k: frozenset(v) for k, v in cats.items()}
        self._integer = [_is_integer(self.feature_dtypes[n]) for n in names]
        self.ranges: dict[str, tuple[float, float]] = self._ranges(ranges or {}, names)
        self.version = version
        self.metadata: dict[str, Any] = {}
        self._by_name = fitted is not None
        self._index = {n: i for i, n in enumerate(names)}
        self.classes_ = getattr(model, "classes_", None)
        self._positive: int | None = None
        if self.classes_ is not None:
            listed = list(self.classes_)
            self._positive = listed.index(1) if 1 in listed else (1 if len(listed) == 2 else None)
        self.onnx = self._onnx_backend(onnx)

    @staticmethod
    def _index_of(names: list[str]) -> dict[str, int]:
        return {n: i for i, n in enumerate(names)}

    def _ranges(self, given: Mapping[str, Any], names: list[str]) -> dict[str, tuple[float, float]]:
        out: dict[str, tuple[float, float]] = {}
        for key, bounds in given.items():
            name = str(key)
            if name not in names or self._text[names.index(name)]:
                raise ValueError(f"ranges given for {name!r}, which is not a numeric feature")
            low, high = (bounds["min"], bounds["max"]) if isinstance(bounds, Mapping) else bounds
            out[name] = (float(low), float(high))
        return out

    def _onnx_backend(self, onnx: Any) -> Any:
        if onnx is None or onnx is False:
            return None
        from mlcourse.deploy.onnx import OnnxModel, to_onnx

        if onnx is True:
            onnx = to_onnx(self.model, self.feature_names, self.feature_dtypes)
        if isinstance(onnx, (bytes, bytearray)):
            onnx = OnnxModel(bytes(onnx), self.feature_names)
        if not isinstance(onnx, OnnxModel):
            raise TypeError(f"onnx must be an OnnxModel, bytes or True, not {type(onnx).__name__}")
        if onnx.feature_names is not None and sorted(onnx.feature_names) != sorted(self.feature_names):
            raise ValueError("the ONNX model's features differ from feature_names")
        return onnx

    def __repr__(self) -> str:
        return (
            f"ModelService({type(self.model).__name__}, {len(self.feature_names)} features, "
            f"version={self.version!r}, backend={self.backend!r})"
        )

    @property
    def backend(self) -> str:
        """``"onnx"`` when predictions go through onnxruntime, else ``"sklearn"``."""
        return "onnx" if self.onnx is not None else "sklearn"

    @classmethod
    def from_registry(
        cls,
        name: str,
        version_or_alias: int | str | None = "production",
        registry: str | os.PathLike[str] | None = None,
        *,
        onnx: bool | None = None,
    ) -> "ModelService":
        """Load a registered model (hash checked) and wrap it in a service.

        Parameters
        ----------
        name : str
        version_or_alias : int, str or None, default "production"
            A version number, ``"v3"``, an alias, or None for the latest.
        registry : path, optional
        onnx : bool or None
            None: predict with the version's ONNX export when it has one.
            True: require it. False: always use the scikit-learn model.

        Examples
        --------
        >>> from mlcourse.deploy.registry import demo_registry
        >>> reg = demo_registry(["production"], feature_names=["x"])
        >>> ModelService.from_registry("demo", registry=reg).version
        'demo:v1'
        """
        from mlcourse.deploy.registry import load_model, load_onnx

        loaded = load_model(name, version_or_alias, registry=registry)
        names = loaded.feature_names
        if names is None and hasattr(loaded.model, "feature_names_in_"):
            names = list(loaded.model.feature_names_in_)
        if names is None:
            raise ValueError(
                f"{name} v{loaded.version} has no recorded feature names; "
                "save it with feature_names=[...]"
            )
        fast = None
        if onnx is not False and (loaded.metadata.get("onnx") or onnx):
            fast = load_onnx(name, loaded.version, registry=registry)
        service = cls(
            loaded.model,
            names,
            version=f"{loaded.name}:v{loaded.version}",
            feature_dtypes=loaded.metadata.get("feature_dtypes"),
            categories=loaded.metadata.get("feature_categories"),
            ranges=loaded.metadata.get("feature_ranges"),
            onnx=fast,
        )
        service.metadata = loaded.metadata
        return service

    def schema(self, ranges: bool = False) -> list[dict[str, Any]]:
        """The request schema: one ``{"name", "dtype", "categories"}`` per feature.

        With ``ranges=True`` each field also says whether it takes whole
        numbers (``"integer"``) and its accepted ``"min"`` and ``"max"``
        (None when unbounded or text).

        Examples
        --------
        >>> from sklearn.dummy import DummyClassifier
        >>> svc = ModelService(DummyClassifier().fit([[0.0], [1.0]], [0, 1]), ["x"], ranges={"x": (0, 5)})
        >>> svc.schema()
        [{'name': 'x', 'dtype': 'float64', 'categories': None}]
        >>> svc.schema(ranges=True)
        [{'name': 'x', 'dtype': 'float64', 'categories': None, 'integer': False, 'min': 0.0, 'max': 5.0}]
        """
        fields = [
            {"name": n, "dtype": self.feature_dtypes[n], "categories": self.categories.get(n)}
            for n in self.feature_names
        ]
        if ranges:
            for i, field in enumerate(fields):
                low, high = self.ranges.get(field["name"], (None, None))
                field.update(integer=self._integer[i], min=low, max=high)
        return fields

    def describe(self) -> dict[str, Any]:
        """What ``GET /model`` shows: version, backend, features and the registry metadata."""
        meta = self.metadata
        return {
            "model_version": self.version,
            "name": meta.get("name"),
            "version": meta.get("version"),
            "backend": self.backend,
            "model_class": meta.get("model_class") or f"{type(self.model).__module__}.{type(self.model).__qualname__}",
            "created_at": meta.get("created_at"),
            "features": self.schema(ranges=True),
            "metrics": meta.get("metrics", {}),
            "data_fingerprint": meta.get("data_fingerprint"),
            "sha256": meta.get("sha256"),
            "onnx_sha256": (meta.get("onnx") or {}).get("sha256"),
            "library_versions": meta.get("versions", {}),
        }

    # ------------------------------------------------------------------ validation

    def _value(self, value: Any, i: int, where: str) -> Any:
        name = self.feature_names[i]
        if self._text[i]:
            return self._string(value, name, where)
        number = self._number(value, name, where)
        if self._integer[i] and not number.is_integer():
            raise InvalidInput(f"{where}feature {name!r} must be a whole number "
                               f"({self.feature_dtypes[name]}); got {value!r}", [name])
        bounds = self.ranges.get(name)
        if bounds is not None and not bounds[0] <= number <= bounds[1]:
            raise InvalidInput(f"{where}feature {name!r} must be from {range_text(*bounds)}; got {value!r}", [name])
        return number

    def _string(self, value: Any, name: str, where: str = "") -> str:
        if not isinstance(value, str):
            got = "null" if value is None else type(value).__name__
            raise InvalidInput(f"{where}feature {name!r} must be a string, got {got}", [name])
        allowed = self._category_sets.get(name)
        if allowed is not None and value not in allowed:
            raise InvalidInput(
                f"{where}feature {name!r} must be one of "
                f"{_preview([repr(c) for c in self.categories[name]])}; got {value[:50]!r}",
                [name],
            )
        return value

    def _row_from_mapping(self, record: Mapping[str, Any], where: str = "") -> list[Any]:
        keys = [str(k) for k in record.keys()]
        _refuse_wrong_names([n for n in self.feature_names if n not in record], [k for k in keys if k not in self._index],
                            where)
        return [self._value(record[n], i, where) for i, n in enumerate(self.feature_names)]

    def _row_from_sequence(self, record: Any, where: str = "") -> list[Any]:
        values = list(record)
        if len(values) != len(self.feature_names):
            raise InvalidInput(
                f"{where}expected {len(self.feature_names)} values "
                f"({_preview(self.feature_names, 3)}), got {len(values)}",
                [],
            )
        return [self._value(v, i, where) for i, v in enumerate(values)]

    @staticmethod
    def _number(value: Any, name: str, where: str = "") -> float:
        # bool is an int subclass, but true/false where a measurement belongs is
        # almost always a client bug, so it is refused rather than read as 1/0.
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            got = "null" if value is None else type(value).__name__
            raise InvalidInput(f"{where}feature {name!r} must be a number, got {got}", [name])
        try:
            number = float(value)
        except OverflowError:  # an int with hundreds of digits
            number = math.inf
        if math.isnan(number):
            raise InvalidInput(f"{where}feature {name!r} is NaN", [name])
        if math.isinf(number):
            raise InvalidInput(f"{where}feature {name!r} is infinite", [name])
        if abs(number) > FLOAT32_MAX:
            raise InvalidInput(f"{where}feature {name!r} is out of range (more than {FLOAT32_MAX:.3g})", [name])
        return number

    def _row(self, record: Any, where: str = "") -> list[Any]:
        if isinstance(record, Mapping):
            return self._row_from_mapping(record, where)
        if hasattr(record, "to_dict") and hasattr(record, "index"):  # pandas Series
            return self._row_from_mapping(record.to_dict(), where)
        if isinstance(record, np.ndarray):
            if record.ndim != 1:
                raise InvalidInput(f"{where}a record must be one-dimensional, got shape {record.shape}")
            return self._row_from_sequence(record.tolist(), where)
        if isinstance(record, Sequence) and not isinstance(record, (str, bytes)):
            return self._row_from_sequence(record, where)
        raise InvalidInput(
            f"{where}a record must be a mapping of feature name to value or a sequence "
            f"of {len(self.feature_names)} values, got {type(record).__name__}"
        )

    def _columns(self, rows: Sequence[Sequence[Any]]) -> dict[str, np.ndarray]:
        """Validated rows as ``{feature: 1-D array}`` (float64 numbers, object text)."""
        return {
            n: np.array([r[i] for r in rows], dtype=object if self._text[i] else float)
            for i, n in enumerate(self.feature_names)
        }

    def _validate_frame(self, frame: Any) -> dict[str, np.ndarray]:
        import pandas as pd

        columns = [str(c) for c in frame.columns]
        _refuse_wrong_names([n for n in self.feature_names if n not in columns], [c for c in columns if c not in self._index])
        frame = frame.set_axis(columns, axis=1)[self.feature_names]
        numeric = [n for n, text in zip(self.feature_names, self._text) if not text]
        bad = [
            c
            for c in numeric
            if not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])
        ]
        if bad:
            raise InvalidInput(
                "non-numeric feature(s): "
                + ", ".join(f"{c} ({frame[c].dtype})" for c in bad[:10]),
                bad,
            )
        result: dict[str, np.ndarray] = {}
        if numeric:
            values = frame[numeric].to_numpy(dtype=float, na_value=np.nan)
            self._check_finite(values, numeric)
            self._check_ranges(values, numeric)
            result.update({n: values[:, j] for j, n in enumerate(numeric)})
        for i, n in enumerate(self.feature_names):
            if not self._text[i]:
                continue
            text = frame[n].to_numpy(dtype=object, na_value=None)
            allowed = self.categories.get(n)
            # Fast checks first (hashing, C loops); the row-by-row search for
            # the culprit only runs once something is known to be wrong.
            if allowed is not None:
                good = pd.Index(allowed).get_indexer(text) >= 0
            else:
                good = None if pd.api.types.infer_dtype(text, skipna=False) == "string" else np.zeros(len(text), bool)
            if good is not None and not good.all():
                is_str = np.fromiter((isinstance(v, str) for v in text), dtype=bool, count=len(text))
                if not is_str.all():
                    row = int(np.flatnonzero(~is_str)[0])
                    got = "missing" if text[row] is None else type(text[row]).__name__
                    raise InvalidInput(f"feature {n!r} must hold strings; row {row} is {got}", [n])
                if allowed is not None:
                    row = int(np.flatnonzero(~good)[0])
                    raise InvalidInput(
                        f"feature {n!r} must be one of {_preview([repr(c) for c in allowed])}; "
                        f"row {row} is {str(text[row])[:50]!r}",
                        [n],
                    )
            result[n] = text
        return {n: result[n] for n in self.feature_names}

    def _check_finite(self, values: np.ndarray, names: Sequence[str] | None = None) -> None:
        names = list(self.feature_names if names is None else names)
        with np.errstate(invalid="ignore"):
            finite = np.isfinite(values) & (np.abs(values) <= FLOAT32_MAX)
        if finite.all():
            return
        bad_cols = np.flatnonzero(~finite.all(axis=0))
        bad_names = [names[i] for i in bad_cols]
        first = bad_cols[0]
        row = int(np.flatnonzero(~finite[:, first])[0])
        value = values[row, first]
        kind = "NaN" if math.isnan(value) else ("infinite" if math.isinf(value) else "out of range")
        raise InvalidInput(
            f"non-finite values (NaN or inf) in feature(s): {_preview(bad_names)}; "
            f"first at row {row}, {bad_names[0]!r} is {kind}",
            bad_names,
        )

    def _check_ranges(self, values: np.ndarray, names: Sequence[str]) -> None:
        """Whole numbers for integer features, and every value within its range (checked columns at once)."""
        for j, name in enumerate(names):
            i = self._index[name]
            column = values[:, j]
            if self._integer[i]:
                fractional = np.flatnonzero(column != np.floor(column))
                if fractional.size:
                    row = int(fractional[0])
                    raise InvalidInput(f"feature {name!r} must hold whole numbers ({self.feature_dtypes[name]}); "
                                       f"row {row} is {column[row]:g}", [name])
            bounds = self.ranges.get(name)
            if bounds is not None:
                outside = np.flatnonzero((column < bounds[0]) | (column > bounds[1]))
                if outside.size:
                    row = int(outside[0])
                    raise InvalidInput(f"feature {name!r} must be from {range_text(*bounds)}; "
                                       f"row {row} is {column[row]:g} ({outside.size} row(s) outside)", [name])

    def validate(self, records: Any) -> dict[str, np.ndarray]:
        """Check a batch against the schema; return it as ``{feature: values}``.

        Accepts what :meth:`predict_batch` accepts. The whole batch is checked
        before anything is predicted.

        Raises
        ------
        InvalidInput
            Naming the field (and the row) at fault.
        """
        if hasattr(records, "columns") and hasattr(records, "to_numpy"):
            if len(records) == 0:
                raise InvalidInput("empty batch: send at least one record")
            return self._validate_frame(records)
        if isinstance(records, np.ndarray) and records.ndim == 2:
            if records.shape[0] == 0:
                raise InvalidInput("empty batch: send at least one record")
            if records.shape[1] != len(self.feature_names):
                raise InvalidInput(
                    f"expected {len(self.feature_names)} columns, got {records.shape[1]}"
                )
            if records.dtype.kind in "iuf" and not any(self._text):
                values = records.astype(float, copy=False)
                self._check_finite(values)
                self._check_ranges(values, self.feature_names)
                return {n: values[:, i] for i, n in enumerate(self.feature_names)}
            return self._columns([self._row(r, f"row {i}: ") for i, r in enumerate(records)])
        if isinstance(records, (str, bytes, Mapping)) or not isinstance(records, (Sequence, np.ndarray)):
            raise InvalidInput(
                f"a batch must be a DataFrame, a 2-D array or a list of records, got {type(records).__name__}"
            )
        if len(records) == 0:
            raise InvalidInput("empty batch: send at least one record")
        return self._columns([self._row(r, f"row {i}: ") for i, r in enumerate(records)])

    # ------------------------------------------------------------------ prediction

    def _model_input(self, columns: Mapping[str, np.ndarray]) -> Any:
        if not self._by_name and not any(self._text):
            return np.column_stack([columns[n] for n in self.feature_names])
        import pandas as pd

        # A DataFrame with the fitted column names keeps scikit-learn from
        # warning that the model was fitted with feature names.
        return pd.DataFrame({n: columns[n] for n in self.feature_names})

    def _infer(self, columns: Mapping[str, np.ndarray], scores: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Predict validated columns: ``(labels, probabilities or None)``."""
        if self.onnx is not None:
            return self.onnx.run(columns)
        X = self._model_input(columns)
        if scores and self.classes_ is not None and hasattr(self.model, "predict_proba"):
            proba = np.asarray(self.model.predict_proba(X))
            return np.asarray(self.classes_)[proba.argmax(axis=1)], proba
        return np.asarray(self.model.predict(X)), None

    def positive_scores(self, proba: np.ndarray | None) -> np.ndarray | None:
        """The probability of class 1 (of the second class for other labels) from ``predict_proba`` output."""
        if proba is None or self._positive is None or proba.ndim != 2 or proba.shape[1] <= self._positive:
            return None
        return proba[:, self._positive]

    def predict(self, record: Mapping[str, Any] | Sequence[Any]) -> Any:
        """Predict one record, given as ``{name: value}`` or values in feature order.

        Raises
        ------
        InvalidInput
            Missing or unknown feature names, a wrong number of values, a
            non-numeric value, NaN or inf; the message names the field.

        Examples
        --------
        >>> from sklearn.dummy import DummyRegressor
        >>> svc = ModelService(DummyRegressor().fit([[0.0], [2.0]], [1.0, 3.0]), ["x"])
        >>> svc.predict([5.0])
        2.0
        """
        labels, _ = self._infer(self._columns([self._row(record)]))
        result = labels[0]
        return result.item() if hasattr(result, "item") else result

    def predict_batch(self, records: Any) -> np.ndarray:
        """Predict many records at once.

        ``records`` may be a DataFrame with the feature columns, a 2-D array
        in feature order, or a sequence of records as accepted by
        :meth:`predict`. The whole batch is validated before any prediction.

        Examples
        --------
        >>> from sklearn.dummy import DummyRegressor
        >>> svc = ModelService(DummyRegressor().fit([[0.0], [2.0]], [1.0, 3.0]), ["x"])
        >>> svc.predict_batch([{"x": 1.0}, [2.0]]).tolist()
        [2.0, 2.0]
        """
        labels, _ = self._infer(self.validate(records))
        return np.asarray(labels)

    def _require_proba(self) -> None:
        if self.onnx is None and not hasattr(self.model, "predict_proba"):
            raise AttributeError(f"{type(self.model).__name__} has no predict_proba")

    def predict_proba(self, record: Mapping[str, Any] | Sequence[Any]) -> np.ndarray:
        """Class probabilities for one record, in the order of ``classes_``.

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> svc = ModelService(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), ["x"])
        >>> svc.predict_proba({"x": 1.0}).round(2).tolist()
        [0.44, 0.56]
        """
        return self.predict_proba_batch([record])[0]

    def predict_proba_batch(self, records: Any) -> np.ndarray:
        """Class probabilities, shape ``(n_records, n_classes)``; input as in :meth:`predict_batch`."""
        self._require_proba()
        _, proba = self._infer(self.validate(records), scores=True)
        if proba is None:
            raise AttributeError(f"{type(self.model).__name__} gives no probabilities")
        return np.asarray(proba)
