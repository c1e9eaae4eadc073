"""Stage 3, serving: a model behind a validating, in-process service object.

:class:`ModelService` is the piece every serving path shares (a notebook, a
batch job, the HTTP app of the deploy lesson). It checks each request against
the model's feature schema before the model sees it, because a model given a
missing column, a string or a NaN either crashes deep inside scikit-learn or,
worse, returns a confident answer to a malformed question.
"""
from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["InvalidInput", "ModelService"]


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
        A label for logs and metrics, such as ``"outline-forest:v1"``.

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
    mlcourse.serving.InvalidInput: missing feature(s): b
    """

    def __init__(self, model: Any, feature_names: Sequence[str], *, version: str = "unknown") -> None:
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
        self.model = model
        self.feature_names: list[str] = names
        self.version = version
        self.metadata: dict[str, Any] = {}
        self._by_name = fitted is not None
        self._index = {n: i for i, n in enumerate(names)}

    def __repr__(self) -> str:
        return (
            f"ModelService({type(self.model).__name__}, {len(self.feature_names)} features, "
            f"version={self.version!r})"
        )

    @classmethod
    def from_registry(
        cls,
        name: str,
        version_or_alias: int | str | None = "production",
        registry: str | os.PathLike[str] | None = None,
    ) -> "ModelService":
        """Load a registered model (hash checked) and wrap it in a service.

        Examples
        --------
        >>> import tempfile
        >>> from sklearn.dummy import DummyClassifier
        >>> from mlcourse.registry import save_model
        >>> reg = tempfile.mkdtemp()
        >>> _ = save_model(DummyClassifier().fit([[0.0], [1.0]], [0, 1]), "demo",
        ...                registry=reg, feature_names=["x"], alias="production")
        >>> ModelService.from_registry("demo", registry=reg).version
        'demo:v1'
        """
        from mlcourse.registry import load_model

        loaded = load_model(name, version_or_alias, registry=registry)
        names = loaded.feature_names
        if names is None and hasattr(loaded.model, "feature_names_in_"):
            names = list(loaded.model.feature_names_in_)
        if names is None:
            raise ValueError(
                f"{name} v{loaded.version} has no recorded feature names; "
                "save it with feature_names=[...]"
            )
        service = cls(loaded.model, names, version=f"{loaded.name}:v{loaded.version}")
        service.metadata = loaded.metadata
        return service

    # ------------------------------------------------------------------ validation

    def _row_from_mapping(self, record: Mapping[str, Any], where: str = "") -> list[float]:
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
        return [self._number(record[n], n, where) for n in self.feature_names]

    def _row_from_sequence(self, record: Any, where: str = "") -> list[float]:
        values = list(record)
        if len(values) != len(self.feature_names):
            raise InvalidInput(
                f"{where}expected {len(self.feature_names)} values "
                f"({_preview(self.feature_names, 3)}), got {len(values)}",
                [],
            )
        return [self._number(v, n, where) for v, n in zip(values, self.feature_names)]

    @staticmethod
    def _number(value: Any, name: str, where: str = "") -> float:
        # bool is an int subclass, but true/false where a measurement belongs is
        # almost always a client bug, so it is refused rather than read as 1/0.
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            got = "null" if value is None else type(value).__name__
            raise InvalidInput(f"{where}feature {name!r} must be a number, got {got}", [name])
        number = float(value)
        if math.isnan(number):
            raise InvalidInput(f"{where}feature {name!r} is NaN", [name])
        if math.isinf(number):
            raise InvalidInput(f"{where}feature {name!r} is infinite", [name])
        return number

    def _row(self, record: Any, where: str = "") -> list[float]:
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
            f"{where}a record must be a mapping of feature name to number or a sequence "
            f"of {len(self.feature_names)} numbers, got {type(record).__name__}"
        )

    def _validate_frame(self, frame: Any) -> np.ndarray:
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
        bad = [
            c
            for c in self.feature_names
            if not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])
        ]
        if bad:
            raise InvalidInput(
                "non-numeric feature(s): "
                + ", ".join(f"{c} ({frame[c].dtype})" for c in bad[:10]),
                bad,
            )
        values = frame.to_numpy(dtype=float, na_value=np.nan)
        self._check_finite(values)
        return values

    def _check_finite(self, values: np.ndarray) -> None:
        finite = np.isfinite(values)
        if finite.all():
            return
        bad_cols = np.flatnonzero(~finite.all(axis=0))
        names = [self.feature_names[i] for i in bad_cols]
        first = bad_cols[0]
        row = int(np.flatnonzero(~finite[:, first])[0])
        kind = "NaN" if math.isnan(values[row, first]) else "infinite"
        raise InvalidInput(
            f"non-finite values (NaN or inf) in feature(s): {_preview(names)}; "
            f"first at row {row}, {names[0]!r} is {kind}",
            names,
        )

    # ------------------------------------------------------------------ prediction

    def _frame(self, values: np.ndarray) -> Any:
        if not self._by_name:
            return values
        import pandas as pd

        # A DataFrame with the fitted column names keeps scikit-learn from
        # warning that the model was fitted with feature names.
        return pd.DataFrame(values, columns=self.feature_names)

    def predict(self, record: Mapping[str, float] | Sequence[float]) -> int | float:
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
        row = np.asarray([self._row(record)], dtype=float)
        result = self.model.predict(self._frame(row))[0]
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
        if hasattr(records, "columns") and hasattr(records, "to_numpy"):
            if len(records) == 0:
                raise InvalidInput("empty batch: send at least one record")
            values = self._validate_frame(records)
        elif isinstance(records, np.ndarray) and records.ndim == 2:
            if records.shape[0] == 0:
                raise InvalidInput("empty batch: send at least one record")
            if records.shape[1] != len(self.feature_names):
                raise InvalidInput(
                    f"expected {len(self.feature_names)} columns, got {records.shape[1]}"
                )
            if records.dtype.kind in "iuf":
                values = records.astype(float, copy=False)
            else:
                values = np.asarray([self._row(r, f"row {i}: ") for i, r in enumerate(records)], dtype=float)
            self._check_finite(values)
        else:
            if isinstance(records, (str, bytes, Mapping)) or not isinstance(records, (Sequence, np.ndarray)):
                raise InvalidInput(
                    f"a batch must be a DataFrame, a 2-D array or a list of records, got {type(records).__name__}"
                )
            if len(records) == 0:
                raise InvalidInput("empty batch: send at least one record")
            values = np.asarray([self._row(r, f"row {i}: ") for i, r in enumerate(records)], dtype=float)
        return np.asarray(self.model.predict(self._frame(values)))
