"""Stage 3, serving: a model behind a validating service, in-process or over HTTP.

:class:`ModelService` is the piece every serving path shares (a notebook, a
batch job, the HTTP app). It checks each request against the model's feature
schema before the model sees it, because a model given a missing column, a
string or a NaN either crashes deep inside scikit-learn or, worse, returns a
confident answer to a malformed question. With an ONNX copy of the model
(``onnx=...``) it predicts through onnxruntime, hundreds of times faster for
one row.

:func:`create_app` puts services behind a FastAPI app:

========================  ===================================================
``POST /predict``         one record ``{"amount": 12.5, ...}`` -> prediction,
                          score, model version, request id
``POST /predict/batch``   ``{"records": [...]}`` (at most ``max_batch``)
``GET /health``           liveness and what is being served
``GET /model``            version, metadata, features with dtypes, canary
``GET /metrics``          Prometheus text: requests, latency, predictions,
                          CPU and memory
========================  ===================================================

Bad input is answered with a 422 naming the field (413 for a body over the
size limit), never a 500. Every request, answered or rejected, is written to
the prediction log (:class:`mlcourse.deploy.prediction_log.PredictionLog`) off the
request path. The app follows the registry's aliases while it runs, and can
run a canary (:mod:`mlcourse.deploy.rollout`). ``mlcourse serve`` runs it with
uvicorn (:func:`serve`).

FastAPI, pydantic and prometheus-client are imported only by
:func:`create_app`, so ``ModelService`` stays quick to import.
"""

import json
import math
import numbers
import os
import re
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI
    from pydantic import BaseModel

    from mlcourse.deploy.prediction_log import PredictionLog
    from mlcourse.deploy.rollout import ModelRouter, RollbackRule

__all__ = [
    "InvalidInput",
    "ModelService",
    "batch_request_model",
    "create_app",
    "request_model",
    "serve",
]

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


def _is_numeric(dtype: str) -> bool:
    return str(dtype).startswith(_NUMERIC_PREFIXES)


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
    mlcourse.deploy.app.InvalidInput: missing feature(s): b

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
    mlcourse.deploy.app.InvalidInput: feature 'channel' must be one of 'chip', 'online'; got 'fax'
    """

    def __init__(
        self,
        model: Any,
        feature_names: Sequence[str],
        *,
        version: str = "unknown",
        feature_dtypes: Mapping[str, str] | None = None,
        categories: Mapping[str, Sequence[str]] | None = None,
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
        >>> import tempfile
        >>> from sklearn.dummy import DummyClassifier
        >>> from mlcourse.deploy.registry import save_model
        >>> reg = tempfile.mkdtemp()
        >>> _ = save_model(DummyClassifier().fit([[0.0], [1.0]], [0, 1]), "demo",
        ...                registry=reg, feature_names=["x"], alias="production")
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
            onnx=fast,
        )
        service.metadata = loaded.metadata
        return service

    def schema(self) -> list[dict[str, Any]]:
        """The request schema: one ``{"name", "dtype", "categories"}`` per feature.

        Examples
        --------
        >>> from sklearn.dummy import DummyClassifier
        >>> ModelService(DummyClassifier().fit([[0.0], [1.0]], [0, 1]), ["x"]).schema()
        [{'name': 'x', 'dtype': 'float64', 'categories': None}]
        """
        return [
            {"name": n, "dtype": self.feature_dtypes[n], "categories": self.categories.get(n)}
            for n in self.feature_names
        ]

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
            "features": self.schema(),
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
        return self._number(value, name, where)

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
        missing = [n for n in self.feature_names if n not in record]
        extra = [k for k in keys if k not in self._index]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing feature(s): {_preview(missing)}")
            if extra:
                parts.append(f"unknown feature(s): {_preview(extra)}")
            raise InvalidInput(where + "; ".join(parts), missing + extra)
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
        missing = [n for n in self.feature_names if n not in columns]
        extra = [c for c in columns if c not in self._index]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing feature(s): {_preview(missing)}")
            if extra:
                parts.append(f"unknown feature(s): {_preview(extra)}")
            raise InvalidInput("; ".join(parts), missing + extra)
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


# --------------------------------------------------------------------------- request schemas


def request_model(service: ModelService) -> "type[BaseModel]":
    """The pydantic model of one ``POST /predict`` body, built from the feature schema.

    Numbers are strict (a string such as ``"12.5"`` is refused, not
    converted) and must be finite and within float32's range; text
    features with known categories only take those values; unknown keys
    are refused. Built once per service and cached.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> svc = ModelService(DummyClassifier().fit([[0.0], [1.0]], [0, 1]), ["amount"])
    >>> Record = request_model(svc)
    >>> Record.model_validate_json('{"amount": 12.5}').model_dump(by_alias=True)
    {'amount': 12.5}
    >>> Record.model_validate_json('{"amount": "12.5"}')
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for PredictRequest
    amount
      Input should be a valid number [type=float_type, input_value='12.5', input_type=str]
    ...
    """
    cached = service.__dict__.get("_request_model")
    if cached is not None:
        return cached
    from typing import Annotated, Literal

    from pydantic import ConfigDict, Field, create_model

    fields: dict[str, Any] = {}
    for i, name in enumerate(service.feature_names):
        dtype = service.feature_dtypes[name]
        allowed = service.categories.get(name)
        if service._text[i] and allowed:
            kind: Any = Literal[tuple(allowed)]
            extra: dict[str, Any] = {}
        elif service._text[i]:
            kind = str
            extra = {"strict": True, "min_length": 1, "max_length": 1000}
        else:
            kind = float
            extra = {"strict": True, "allow_inf_nan": False, "ge": -FLOAT32_MAX, "le": FLOAT32_MAX}
        # Field names are f0, f1, ...; the feature name is the alias, so any
        # name works, even one that is not a Python identifier.
        fields[f"f{i}"] = (Annotated[kind, Field(alias=name, title=name, description=dtype, **extra)], ...)
    model = create_model(
        "PredictRequest",
        __config__=ConfigDict(extra="forbid", populate_by_name=False),
        **fields,
    )
    service.__dict__["_request_model"] = model
    return model


def batch_request_model(service: ModelService, max_batch: int = 1000) -> "type[BaseModel]":
    """The pydantic model of a ``POST /predict/batch`` body: ``{"records": [...]}``,
    1 to ``max_batch`` records, each as in :func:`request_model`."""
    cache = service.__dict__.setdefault("_batch_models", {})
    if max_batch in cache:
        return cache[max_batch]
    from typing import Annotated

    from pydantic import ConfigDict, Field, create_model

    record = request_model(service)
    model = create_model(
        "PredictBatchRequest",
        __config__=ConfigDict(extra="forbid"),
        records=(Annotated[list[record], Field(min_length=1, max_length=max_batch)], ...),  # type: ignore[valid-type]
    )
    cache[max_batch] = model
    return model


def _problems(exc: Any, max_batch: int) -> tuple[str, list[str], list[dict[str, Any]]]:
    """A pydantic ValidationError as (one-line message, fields at fault, FastAPI-style detail)."""
    messages: list[str] = []
    fields: list[str] = []
    detail: list[dict[str, Any]] = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = list(error.get("loc", ()))
        kind = error.get("type", "")
        msg = error.get("msg", "")
        if loc == ["records"] and kind == "too_short":
            msg = "empty batch: send at least one record"
        elif loc == ["records"] and kind == "too_long":
            msg = f"batch over the limit: at most {max_batch} records per request"
        elif kind == "extra_forbidden":
            msg = "unknown field"
        elif kind in ("less_than_equal", "greater_than_equal"):
            msg = f"Input is out of range (at most {FLOAT32_MAX:.3g} in size)"
        where = ""
        for part in loc:
            where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
        messages.append(f"{where or 'body'}: {msg}")
        named = [p for p in loc if isinstance(p, str)]
        field = named[-1] if named else "body"
        if field not in fields:
            fields.append(field)
        detail.append({"loc": ["body", *loc], "msg": msg, "type": kind})
    shown = "; ".join(messages[:5]) + (f"; ... ({len(messages)} problems)" if len(messages) > 5 else "")
    return shown, fields, detail


# --------------------------------------------------------------------------- metrics


class ServingMetrics:
    """The app's Prometheus metrics, in a registry of their own (one per app).

    ``mlcourse_requests_total{endpoint, status, model_version}``,
    ``mlcourse_request_latency_seconds{endpoint, model_version}`` (histogram),
    ``mlcourse_prediction_score{model_version}`` (histogram of the
    probability of class 1), ``mlcourse_predictions_total{model_version,
    prediction}``, ``mlcourse_canary_fraction``, ``mlcourse_model_info{role,
    model_version}``, the prediction log's queue, and the process's
    ``process_cpu_seconds_total`` and ``process_resident_memory_bytes``.
    """

    LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
    SCORE_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        _add_process_collector(self.registry)
        self.requests = Counter("mlcourse_requests", "HTTP requests by endpoint, status and model version",
                                ["endpoint", "status", "model_version"], registry=self.registry)
        self.latency = Histogram("mlcourse_request_latency_seconds", "Time from request to response, in the app",
                                 ["endpoint", "model_version"], buckets=self.LATENCY_BUCKETS, registry=self.registry)
        self.scores = Histogram("mlcourse_prediction_score", "Predicted probability of class 1",
                                ["model_version"], buckets=self.SCORE_BUCKETS, registry=self.registry)
        self.predictions = Counter("mlcourse_predictions", "Predictions by predicted label",
                                   ["model_version", "prediction"], registry=self.registry)
        self.canary_fraction = Gauge("mlcourse_canary_fraction", "Share of users routed to the canary candidate",
                                     registry=self.registry)
        self.model_info = Gauge("mlcourse_model_info", "Versions being served (1) by role",
                                ["role", "model_version"], registry=self.registry)
        self.log_queue = Gauge("mlcourse_prediction_log_queued", "Prediction-log rows waiting to be written",
                               registry=self.registry)
        self.log_dropped = Gauge("mlcourse_prediction_log_dropped", "Prediction-log rows dropped (queue full)",
                                 registry=self.registry)
        self._children: dict[tuple, Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def observe(self, endpoint: str, status: int, version: str, seconds: float) -> None:
        self._child(self.requests, endpoint, str(status), version).inc()
        self._child(self.latency, endpoint, version).observe(seconds)

    def predicted(self, version: str, labels: Sequence[Any], scores: Sequence[float] | None) -> None:
        if len(labels) == 1:
            self._child(self.predictions, version, str(labels[0])).inc()
        else:
            values, counts = np.unique(np.asarray(labels).astype(str), return_counts=True)
            for value, count in zip(values, counts):
                self._child(self.predictions, version, str(value)).inc(int(count))
        if scores is not None:
            histogram = self._child(self.scores, version)
            for s in scores:
                histogram.observe(s)

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


def _add_process_collector(registry: Any) -> None:
    """CPU seconds and resident memory of this process, on any Unix."""
    from prometheus_client import ProcessCollector

    if os.path.isdir("/proc/self"):
        ProcessCollector(registry=registry)
        return
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    class _Rusage:  # pragma: no cover - macOS
        def collect(self) -> Any:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu = CounterMetricFamily("process_cpu_seconds", "Total user and system CPU time in seconds.")
            cpu.add_metric([], usage.ru_utime + usage.ru_stime)
            scale = 1 if sys.platform == "darwin" else 1024
            mem = GaugeMetricFamily("process_resident_memory_bytes", "Peak resident memory size in bytes.")
            mem.add_metric([], usage.ru_maxrss * scale)
            return [cpu, mem]

    registry.register(_Rusage())


# --------------------------------------------------------------------------- the HTTP app


class _TooLarge(Exception):
    pass


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/-]{1,128}$")


def _production_model(root: Path) -> list[str]:
    """Names of the models in a registry folder that have a ``production`` alias."""
    from mlcourse.deploy.registry import _NAME_RE, ALIASES_FILE, _read_aliases

    if not root.is_dir():
        return []
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and _NAME_RE.match(p.name)):
        if (folder / ALIASES_FILE).is_file() and "production" in _read_aliases(folder):
            found.append(folder.name)
    return found


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), default=str).encode()


def create_app(
    model: "ModelService | str | ModelRouter | None" = None,
    *,
    registry: str | os.PathLike[str] | None = None,
    candidate: "ModelService | str | None" = None,
    canary: float = 0.0,
    rule: "RollbackRule | bool | None" = None,
    prediction_log: "PredictionLog | str | os.PathLike[str] | bool | None" = None,
    max_batch: int = 1000,
    max_body_bytes: int = 1_048_576,
    reload_interval: float = 1.0,
    onnx: bool | None = None,
) -> "FastAPI":
    """Build the FastAPI app that serves a model (and optionally a canary).

    Parameters
    ----------
    model : ModelService, str or ModelRouter, optional
        What to serve: a service (served as is), a registry reference
        (``"fraud-detector"`` follows its ``production`` alias,
        ``"fraud-detector:v2"`` pins a version), or a ready
        :class:`~mlcourse.deploy.rollout.ModelRouter`. Default: the registry's
        model with a ``production`` alias.
    registry : path, optional
        Registry folder for references (default: ``$MLCOURSE_HOME/registry``).
    candidate : ModelService or str, optional
        A canary candidate: a service, ``"candidate"`` (an alias of the
        served model), ``"v3"``, or ``"name:alias"``.
    canary : float, default 0.0
        Share of users (by ``X-User-Id``, else by request) sent to the candidate.
    rule : RollbackRule or False, optional
        Automatic canary rollback; default ``RollbackRule()``; False: never.
    prediction_log : PredictionLog, path or bool, optional
        Where every request is logged. Default (None or True):
        ``$MLCOURSE_HOME/predictions.db``; False: no log.
    max_batch : int, default 1000
        Most records in one ``/predict/batch`` request.
    max_body_bytes : int, default 1 MiB
        Larger request bodies get a 413.
    reload_interval : float, default 1.0
        Seconds between looks at the registry's aliases (0: never re-resolve).
    onnx : bool or None
        For registry references: None uses ONNX when a version has it.

    Returns
    -------
    fastapi.FastAPI
        ``app.state.router`` (a :class:`~mlcourse.deploy.rollout.ModelRouter`),
        ``app.state.prediction_log`` and ``app.state.metrics`` let a notebook
        inspect and steer it.

    Examples
    --------
    >>> from fastapi.testclient import TestClient
    >>> from sklearn.linear_model import LogisticRegression
    >>> model = LogisticRegression().fit([[0.0], [10.0]], [0, 1])
    >>> app = create_app(ModelService(model, ["amount"], version="demo:v1"), prediction_log=False)
    >>> client = TestClient(app)
    >>> r = client.post("/predict", json={"amount": 9.0})
    >>> r.status_code, r.json()["prediction"], r.headers["x-model-version"]
    (200, 1, 'demo:v1')
    >>> r = client.post("/predict", json={"amount": "nine"})
    >>> r.status_code, r.json()["error"]
    (422, 'amount: Input should be a valid number')
    """
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, Response
    from pydantic import ValidationError

    from mlcourse.deploy.prediction_log import PredictionLog
    from mlcourse.deploy.rollout import ModelRouter

    if max_batch < 1:
        raise ValueError("max_batch must be at least 1")
    if model is None:
        from mlcourse.deploy.registry import _root

        names = _production_model(_root(registry))
        if not names:
            raise ValueError(f"no model in the registry {_root(registry)} has a 'production' alias")
        model = "fraud-detector" if "fraud-detector" in names else names[0]
    if isinstance(model, ModelRouter):
        router = model
        if candidate is not None or canary:
            router.set_canary(canary, candidate)
    else:
        router = ModelRouter(model, candidate, fraction=canary, rule=rule, registry=registry,
                             onnx=onnx, reload_interval=reload_interval)

    if prediction_log is None or prediction_log is True:
        log: PredictionLog | None = PredictionLog()
    elif prediction_log is False:
        log = None
    elif isinstance(prediction_log, PredictionLog):
        log = prediction_log
    else:
        log = PredictionLog(prediction_log)

    metrics = ServingMetrics()
    if log is not None:
        metrics.log_queue.set_function(lambda: log.queued)
        metrics.log_dropped.set_function(lambda: log.dropped)
    started = time.time()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        if log is not None:
            log.close()

    app = FastAPI(
        title="mlcourse model service",
        version=_package_version(),
        description="Predictions from a registered model, validated, logged and measured. "
        "Send one record to /predict or many to /predict/batch.",
        lifespan=lifespan,
    )
    app.state.router = router
    app.state.prediction_log = log
    app.state.metrics = metrics
    app.state.max_batch = max_batch

    put = log.put if log is not None else None

    async def read_body(request: Request) -> bytes:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > max_body_bytes:
            raise _TooLarge(f"request body of {int(length)} bytes is over the limit of {max_body_bytes} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body_bytes:
                raise _TooLarge(f"request body is over the limit of {max_body_bytes} bytes")
        return bytes(body)

    def request_id_of(request: Request) -> str:
        given = request.headers.get("x-request-id")
        if given and _REQUEST_ID.match(given):
            return given
        return uuid.uuid4().hex

    def rejected(endpoint: str, status: int, rid: str, service: ModelService, role: str, started_at: float,
                 message: str, fields: list[str], detail: list[dict[str, Any]] | None, body: bytes | None) -> Response:
        latency = time.perf_counter() - started_at
        version = service.version
        metrics.observe(endpoint, status, version, latency)
        router.record(version, role, latency_ms=latency * 1e3, client_error=status < 500, error=status >= 500)
        if put is not None:
            features = None
            if body is not None and len(body) <= 65536:
                try:
                    parsed = json.loads(body)
                    features = parsed if isinstance(parsed, dict) else None
                except (ValueError, RecursionError):
                    features = None
            put((time.time(), rid, version, features, None, None, latency * 1e3, "error", f"{status}: {message}"))
        content: dict[str, Any] = {"error": message, "fields": fields, "request_id": rid, "model_version": version}
        if detail is not None:
            content["detail"] = detail
        return Response(_dumps(content), status_code=status, media_type="application/json",
                        headers={"x-model-version": version, "x-request-id": rid})

    def predict_json_schema() -> dict[str, Any]:
        schema = request_model(router.incumbent.service).model_json_schema(by_alias=True)
        return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}

    def batch_json_schema() -> dict[str, Any]:
        schema = batch_request_model(router.incumbent.service, max_batch).model_json_schema(by_alias=True)
        return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}

    @app.post("/predict", openapi_extra=predict_json_schema(), summary="Predict one record")
    async def predict(request: Request) -> Response:
        """One record as a JSON object of feature values. Answers the prediction
        (label), its score (probability of class 1), the model version and the request id."""
        t0 = time.perf_counter()
        rid = request_id_of(request)
        service, role = router.choose(request.headers.get("x-user-id") or rid)
        body = None
        try:
            body = await read_body(request)
            record = request_model(service).model_validate_json(body)
        except _TooLarge as exc:
            return rejected("/predict", 413, rid, service, role, t0, str(exc), ["body"], None, None)
        except ValidationError as exc:
            message, fields, detail = _problems(exc, max_batch)
            return rejected("/predict", 422, rid, service, role, t0, message, fields, detail, body)
        values = list(record.__dict__.values())
        try:
            labels, proba = service._infer(service._columns([values]), scores=True)
            scores = service.positive_scores(proba)
            label = labels[0].item() if hasattr(labels[0], "item") else labels[0]
            score = None if scores is None else float(scores[0])
        except InvalidInput as exc:  # a check pydantic does not make
            return rejected("/predict", 422, rid, service, role, t0, str(exc), exc.fields, None, body)
        except Exception as exc:  # the model failed: a server error, held against this version
            return rejected("/predict", 500, rid, service, role, t0,
                            f"model {service.version} failed: {type(exc).__name__}: {exc}", [], None, body)
        latency = time.perf_counter() - t0
        version = service.version
        metrics.observe("/predict", 200, version, latency)
        metrics.predicted(version, [label], None if score is None else [score])
        router.record(version, role, latency_ms=latency * 1e3)
        if put is not None:
            put((time.time(), rid, version, dict(zip(service.feature_names, values)),
                 _as_float(label), score, latency * 1e3, "ok", None))
        return Response(
            _dumps({"prediction": label, "score": score, "model_version": version, "request_id": rid}),
            media_type="application/json",
            headers={"x-model-version": version, "x-request-id": rid},
        )

    @app.post("/predict/batch", openapi_extra=batch_json_schema(), summary="Predict many records")
    async def predict_batch(request: Request) -> Response:
        """``{"records": [...]}`` with 1 to ``max_batch`` records. Row ``i`` is
        logged with request id ``"<request id>/<i>"``."""
        t0 = time.perf_counter()
        rid = request_id_of(request)
        service, role = router.choose(request.headers.get("x-user-id") or rid)
        body = None
        try:
            body = await read_body(request)
            batch = batch_request_model(service, max_batch).model_validate_json(body)
        except _TooLarge as exc:
            return rejected("/predict/batch", 413, rid, service, role, t0, str(exc), ["body"], None, None)
        except ValidationError as exc:
            message, fields, detail = _problems(exc, max_batch)
            return rejected("/predict/batch", 422, rid, service, role, t0, message, fields, detail, None)
        rows = [list(r.__dict__.values()) for r in batch.records]
        try:
            labels, proba = service._infer(service._columns(rows), scores=True)
            scores = service.positive_scores(proba)
            label_list = np.asarray(labels).tolist()
            score_list = None if scores is None else np.asarray(scores, dtype=float).tolist()
        except InvalidInput as exc:
            return rejected("/predict/batch", 422, rid, service, role, t0, str(exc), exc.fields, None, None)
        except Exception as exc:
            return rejected("/predict/batch", 500, rid, service, role, t0,
                            f"model {service.version} failed: {type(exc).__name__}: {exc}", [], None, None)
        latency = time.perf_counter() - t0
        version = service.version
        metrics.observe("/predict/batch", 200, version, latency)
        metrics.predicted(version, label_list, score_list)
        router.record(version, role, latency_ms=latency * 1e3)
        if log is not None:
            now, ms, names = time.time(), latency * 1e3, service.feature_names
            log.put_many([
                (now, f"{rid}/{i}", version, dict(zip(names, row)), _as_float(label_list[i]),
                 None if score_list is None else score_list[i], ms, "ok", None)
                for i, row in enumerate(rows)
            ])
        return Response(
            _dumps({"predictions": label_list, "scores": score_list, "model_version": version, "request_id": rid}),
            media_type="application/json",
            headers={"x-model-version": version, "x-request-id": rid},
        )

    @app.get("/health", summary="Liveness and what is being served")
    async def health() -> dict[str, Any]:
        service = router.incumbent.service
        canary = router.describe()["canary"]
        return {
            "status": "ok",
            "model_version": service.version,
            "backend": service.backend,
            "canary": None if canary is None else {k: canary[k] for k in ("candidate", "fraction", "status")},
            "uptime_s": round(time.time() - started, 3),
            "reload_error": router.last_error,
            "prediction_log": None if log is None else {
                "path": str(log.path), "written": log.written, "queued": log.queued, "dropped": log.dropped},
        }

    @app.get("/model", summary="The served model: version, metadata, feature schema, canary")
    async def model_info() -> dict[str, Any]:
        routing = router.describe()
        info = router.incumbent.service.describe()
        info["canary"] = routing["canary"]
        if router.candidate is not None:
            info["candidate"] = router.candidate.service.describe()
        info["limits"] = {"max_batch": max_batch, "max_body_bytes": max_body_bytes}
        return info

    @app.get("/metrics", summary="Prometheus metrics")
    async def prometheus() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST

        metrics.canary_fraction.set(router.fraction)
        metrics.model_info.clear()
        metrics.model_info.labels("incumbent", router.incumbent.version).set(1)
        if router.candidate is not None and router.fraction > 0:
            metrics.model_info.labels("candidate", router.candidate.version).set(1)
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    async def index() -> dict[str, Any]:
        return {"service": "mlcourse", "model_version": router.incumbent.version,
                "endpoints": ["POST /predict", "POST /predict/batch", "GET /health", "GET /model",
                              "GET /metrics", "GET /docs"]}

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - safety net
        return JSONResponse({"error": f"internal error: {type(exc).__name__}"}, status_code=500)

    return app


def _as_float(label: Any) -> float | None:
    try:
        return float(label)
    except (TypeError, ValueError):
        return None


def _package_version() -> str:
    from mlcourse import __version__

    return __version__


# --------------------------------------------------------------------------- mlcourse serve


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _run_uvicorn(app: Any, host: str, port: int) -> None:
    import logging

    import uvicorn

    # The server is the application: show the package's own log lines (canary
    # rollbacks, alias switches) beside uvicorn's.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    package_logger = logging.getLogger("mlcourse")
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.INFO)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


def serve(
    *,
    registry: str | os.PathLike[str] | None = None,
    model: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    candidate: str | None = None,
    canary: float | None = None,
    prediction_log: str | os.PathLike[str] | bool | None = None,
    max_batch: int = 1000,
    stream: TextIO | None = None,
) -> int:
    """Run the service with uvicorn: what ``mlcourse serve`` does.

    Serves ``model``'s ``production`` alias (default: the registry's model
    that has one). On an empty registry the course's default model
    (``fraud-detector``, see :func:`mlcourse.train.fraud_model.train_default_model`)
    is trained and registered first.

    Raises
    ------
    mlcourse.errors.CLIError
        Nothing to serve, a model whose files fail their hash check, a
        candidate that does not exist, or a port in use.
    """
    from mlcourse.deploy.registry import ModelIntegrityError, ModelNotFoundError, _root
    from mlcourse.errors import CLIError

    out = stream or sys.stdout
    root = _root(registry)
    say = lambda line="": print(line, file=out, flush=True)  # noqa: E731

    if canary is not None and candidate is None:
        raise CLIError("--canary needs --candidate (the version to send that share of traffic to)")
    if canary is not None and not 0.0 <= canary <= 1.0:
        raise CLIError(f"--canary must be a fraction between 0 and 1, got {canary}")
    if not _port_free(host, port):
        raise CLIError(f"cannot listen on {host}:{port}: the port is in use; choose another with --port")

    from mlcourse.train.fraud_model import DEFAULT_MODEL, train_default_model

    with_production = _production_model(root)
    if model is None:
        if not with_production:
            existing = [p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")] if root.is_dir() else []
            if existing:
                raise CLIError(
                    f"no model in {root} has a 'production' alias (models: {', '.join(sorted(existing))}); "
                    "promote one with mlcourse.deploy.registry.promote(NAME, VERSION) or pass --model NAME"
                )
            model = DEFAULT_MODEL
        elif len(with_production) == 1 or DEFAULT_MODEL in with_production:
            model = DEFAULT_MODEL if DEFAULT_MODEL in with_production else with_production[0]
        else:
            raise CLIError(f"several models have a 'production' alias ({', '.join(with_production)}); "
                           "choose one with --model NAME")
    name, ref = model.split(":", 1) if ":" in model else (model, "production")
    if name == DEFAULT_MODEL and not (root / name).is_dir():
        say(f"The registry {root} has no {DEFAULT_MODEL!r} model yet: training the course's default model")
        say("(a random forest on mlcourse.data.make_transactions, without the leaky columns; a few seconds)...")
        t0 = time.perf_counter()
        version = train_default_model(registry=root)
        metrics = version.metadata.get("metrics", {})
        say(f"Registered {version.label} as 'production' in {time.perf_counter() - t0:.1f} s "
            f"(test ROC-AUC {metrics.get('roc_auc', float('nan')):.3f}, recall {metrics.get('recall', float('nan')):.3f}).")
    elif name != DEFAULT_MODEL and not (root / name).is_dir():
        raise CLIError(f"no model named {name!r} in the registry {root}")

    from mlcourse.deploy.prediction_log import PredictionLog
    from mlcourse.deploy.rollout import ModelRouter

    try:
        router = ModelRouter(f"{name}:{ref}", candidate, fraction=canary or (0.1 if candidate else 0.0),
                             registry=root)
    except ModelIntegrityError as exc:
        raise CLIError(f"refusing to serve: {exc}") from None
    except (ModelNotFoundError, ValueError) as exc:
        raise CLIError(str(exc)) from None

    log = PredictionLog(prediction_log) if prediction_log not in (None, True, False) else (
        None if prediction_log is False else PredictionLog())
    app = create_app(router, prediction_log=log if log is not None else False, max_batch=max_batch)
    service = router.incumbent.service
    say(f"Serving {service.version} ({service.backend}) from {root}, following its {ref!r} alias")
    if router.candidate is not None:
        say(f"Canary: {router.fraction:.0%} of users to {router.candidate.version}, "
            "rolled back automatically if its errors or latency are worse")
    say(f"Prediction log: {log.path if log is not None else 'off'}")
    say(f"Try: curl -s http://{host}:{port}/model   (API docs: http://{host}:{port}/docs; Ctrl-C stops)")
    _run_uvicorn(app, host, port)
    return 0
