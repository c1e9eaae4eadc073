"""Stage 3, packaging: a scikit-learn model as ONNX, run by onnxruntime.

ONNX describes the model's computation (one-hot encoding, each tree's
splits) as a graph of standard operators. onnxruntime executes that graph in
C++ without Python's per-call overhead, so one row through the course's
100-tree forest takes microseconds instead of milliseconds, and loading the
file runs no Python code (unlike pickle). The runtime still parses the file
and runs its operators, so a file from elsewhere is checked (its hash, or a
signature) before it is loaded, as a pickle is.

Two input layouts are used:

* a model whose features are all numeric gets one input ``X`` of shape
  ``(n, n_features)``, float32;
* a model with text features (a :class:`~sklearn.pipeline.Pipeline` whose
  :class:`~sklearn.compose.ColumnTransformer` picks columns by name) gets one
  input per feature, shape ``(n, 1)``: float32 for numbers, string for text.

Numbers are float32 in the graph. Scikit-learn's trees also compare float32
features, so a forest's labels agree exactly and its probabilities to about
1e-7; other models (a logistic regression) agree to float32 precision.

Examples
--------
>>> import numpy as np
>>> from sklearn.ensemble import RandomForestClassifier
>>> X = np.random.default_rng(0).normal(size=(200, 3))
>>> y = (X[:, 0] > 0).astype(int)
>>> forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
>>> fast = OnnxModel(to_onnx(forest, ["a", "b", "c"]))
>>> bool((fast.predict(X) == forest.predict(X)).all())
True
>>> bool(np.abs(fast.predict_proba(X) - forest.predict_proba(X)).max() < 1e-5)
True
"""
from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["OnnxModel", "to_onnx"]

_NUMERIC_PREFIXES = ("int", "uint", "float", "bool")


def _is_numeric(dtype: str) -> bool:
    return str(dtype).startswith(_NUMERIC_PREFIXES)


def _final_estimator(model: Any) -> Any:
    steps = getattr(model, "steps", None)
    return steps[-1][1] if steps else model


def to_onnx(
    model: Any,
    feature_names: Sequence[str],
    feature_dtypes: Mapping[str, str] | None = None,
) -> bytes:
    """Export a fitted scikit-learn model (or Pipeline) to ONNX bytes.

    Parameters
    ----------
    model : estimator
        A fitted classifier or regressor that skl2onnx can convert: forests,
        linear models, and Pipelines of OneHotEncoder, StandardScaler,
        ColumnTransformer and the like.
    feature_names : sequence of str
        The input features in the model's order.
    feature_dtypes : mapping, optional
        ``{name: dtype}``; names whose dtype is not numeric (``"str"``,
        ``"object"``) become string inputs. Default: all numeric.

    Returns
    -------
    bytes
        The serialised ONNX model; write it to a file or pass it to
        :class:`OnnxModel`.

    Raises
    ------
    ValueError
        skl2onnx cannot convert the model; the message says why.
    """
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    names = [str(n) for n in feature_names]
    fitted = getattr(model, "feature_names_in_", None)
    if fitted is not None and sorted(map(str, fitted)) == sorted(names):
        names = [str(n) for n in fitted]  # the order the model was fitted with
    dtypes = dict(feature_dtypes or {})
    numeric = [_is_numeric(dtypes.get(n, "float64")) for n in names]
    per_column = [
        (n, FloatTensorType([None, 1]) if is_num else StringTensorType([None, 1]))
        for n, is_num in zip(names, numeric)
    ]
    # All-numeric models take one matrix; with text, each feature is an input.
    # (A numeric Pipeline that picks columns by name needs the second form too.)
    attempts = [("matrix", [("X", FloatTensorType([None, len(names)]))])] if all(numeric) else []
    attempts.append(("columns", per_column))
    options = {}
    final = _final_estimator(model)
    if hasattr(final, "predict_proba"):
        # Probabilities as a plain (n, n_classes) tensor, not a list of dicts.
        options[id(final)] = {"zipmap": False}
    # `layout` is read after the loop (the one that converted), which B007 cannot see.
    for layout, initial_types in attempts:  # noqa: B007
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                graph = convert_sklearn(model, initial_types=initial_types, options=options)
            break
        except Exception as exc:  # skl2onnx raises many kinds; say which model failed
            error = exc
    else:
        raise ValueError(f"cannot export {type(model).__name__} to ONNX: {error}") from error
    # The file says which feature is which column, so it can be served alone.
    for key, value in (("feature_names", json.dumps(names)), ("layout", layout)):
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, value
    return graph.SerializeToString()


class OnnxModel:
    """An ONNX model behind the familiar ``predict`` / ``predict_proba``.

    Parameters
    ----------
    onnx_bytes : bytes
        What :func:`to_onnx` returned (or the content of a ``.onnx`` file).
    feature_names : sequence of str, optional
        Feature order, for a file that does not record it (files written by
        :func:`to_onnx` do).
    threads : int, default 1
        onnxruntime's intra-op threads. One is fastest for single rows; more
        help large batches.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> clf = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    >>> fast = OnnxModel(to_onnx(clf, ["x"]))
    >>> fast.predict([[0.2], [2.9]]).tolist()
    [0, 1]
    >>> fast.inputs
    {'X': 'tensor(float)'}
    """

    def __init__(self, onnx_bytes: bytes, feature_names: Sequence[str] | None = None, *, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, int(threads))
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
        self.inputs: dict[str, str] = {i.name: i.type for i in self.session.get_inputs()}
        self.outputs: list[str] = [o.name for o in self.session.get_outputs()]
        meta = self.session.get_modelmeta().custom_metadata_map
        if "layout" in meta:
            self.matrix = meta["layout"] == "matrix"
        else:  # a file from elsewhere: one wide input is a matrix
            self.matrix = len(self.inputs) == 1 and next(iter(self.session.get_inputs())).shape[-1] != 1
        stored = meta.get("feature_names")
        if stored:
            self.feature_names: list[str] | None = json.loads(stored)
        elif not self.matrix:
            self.feature_names = list(self.inputs)
        else:
            self.feature_names = [str(n) for n in feature_names] if feature_names is not None else None
        self._is_classifier = len(self.outputs) >= 2

    def __repr__(self) -> str:
        kind = "classifier" if self._is_classifier else "regressor"
        return f"OnnxModel({kind}, inputs={list(self.inputs)})"

    # ------------------------------------------------------------------ feeding

    def _dtype(self, name: str) -> Any:
        kind = self.inputs[name]
        if kind == "tensor(string)":
            return object
        if kind == "tensor(int64)":
            return np.int64
        if kind == "tensor(double)":
            return np.float64
        return np.float32

    def feed(self, X: Any) -> dict[str, np.ndarray]:
        """The ``{input name: array}`` dict onnxruntime expects, from a DataFrame,
        a 2-D array (feature order) or a ``{feature: 1-D values}`` mapping."""
        if self.matrix:
            (name,) = self.inputs
            if hasattr(X, "columns") and self.feature_names is not None:
                X = X[self.feature_names]
            elif isinstance(X, Mapping):
                if self.feature_names is None:
                    raise ValueError("feature_names are needed to feed a mapping of columns")
                X = np.column_stack([np.asarray(X[n], dtype=np.float32) for n in self.feature_names])
            return {name: np.asarray(X, dtype=np.float32)}
        if hasattr(X, "columns") or isinstance(X, Mapping):
            columns = X
        else:
            array = np.asarray(X, dtype=object)
            if array.ndim != 2 or array.shape[1] != len(self.inputs):
                raise ValueError(f"expected a 2-D array with {len(self.inputs)} columns")
            columns = {n: array[:, i] for i, n in enumerate(self.inputs)}
        out = {}
        for name in self.inputs:
            values = columns[name]
            values = values.to_numpy() if hasattr(values, "to_numpy") else values
            out[name] = np.asarray(values, dtype=self._dtype(name)).reshape(-1, 1)
        return out

    def run(self, X: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """``(labels, probabilities)`` for a classifier, ``(predictions, None)`` for a regressor."""
        results = self.session.run(None, self.feed(X))
        if self._is_classifier:
            return results[0].reshape(-1), results[1]
        return results[0].reshape(-1), None

    def predict(self, X: Any) -> np.ndarray:
        """Labels (or values, for a regressor), like scikit-learn's ``predict``."""
        return self.run(X)[0]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape ``(n, n_classes)``, like scikit-learn's."""
        labels, proba = self.run(X)
        if proba is None:
            raise AttributeError("this ONNX model is a regressor: it has no predict_proba")
        return proba
