"""mlcourse.deploy.onnx: the fraud forest and a numeric forest give sklearn's predictions through onnxruntime."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from mlcourse.data.generate import make_transactions
from mlcourse.deploy.onnx import OnnxModel, to_onnx
from mlcourse.deploy.service import ModelService
from mlcourse.train.fraud_model import FEATURES, TARGET, build_pipeline, example_frame


@pytest.fixture(scope="module")
def fraud_pipeline():
    # The course's default model at its real size: 100 trees of depth 10.
    df = make_transactions(6_000, seed=3)
    return build_pipeline(n_estimators=100, max_depth=10, seed=0).fit(df[FEATURES], df[TARGET])


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return example_frame(1_000, seed=11)


DTYPES = {n: ("str" if n in ("merchant_category", "country", "channel") else "float64") for n in FEATURES}


def test_fraud_pipeline_matches_sklearn_on_1000_rows(fraud_pipeline, rows) -> None:
    fast = OnnxModel(to_onnx(fraud_pipeline, FEATURES, DTYPES))
    assert fast.inputs["amount"] == "tensor(float)" and fast.inputs["country"] == "tensor(string)"
    np.testing.assert_array_equal(fast.predict(rows), fraud_pipeline.predict(rows))
    np.testing.assert_allclose(fast.predict_proba(rows), fraud_pipeline.predict_proba(rows), atol=1e-5, rtol=0)
    assert 0 < fraud_pipeline.predict(rows).sum() < len(rows)  # both classes occur: the test can fail


def test_service_with_onnx_backend_matches_sklearn_backend(fraud_pipeline, rows) -> None:
    slow = ModelService(fraud_pipeline, FEATURES, feature_dtypes=DTYPES)
    fast = ModelService(fraud_pipeline, FEATURES, feature_dtypes=DTYPES, onnx=True)
    assert (slow.backend, fast.backend) == ("sklearn", "onnx")
    np.testing.assert_array_equal(fast.predict_batch(rows), slow.predict_batch(rows))
    np.testing.assert_allclose(fast.predict_proba_batch(rows), slow.predict_proba_batch(rows), atol=1e-5, rtol=0)
    records = rows.head(20).to_dict("records")
    assert [fast.predict(r) for r in records] == [slow.predict(r) for r in records]
    assert isinstance(fast.predict(records[0]), int)


def test_numeric_forest_as_one_matrix_input() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1_000, 4))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int)
    forest = RandomForestClassifier(n_estimators=30, max_depth=8, random_state=0).fit(X, y)
    fast = OnnxModel(to_onnx(forest, ["a", "b", "c", "d"]))
    assert list(fast.inputs) == ["X"] and fast.feature_names == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(fast.predict(X), forest.predict(X))
    np.testing.assert_allclose(fast.predict_proba(X), forest.predict_proba(X), atol=1e-5, rtol=0)
    # A frame is reordered to the model's columns; a mapping of columns works too.
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    np.testing.assert_array_equal(fast.predict(frame[["d", "c", "b", "a"]]), forest.predict(X))
    np.testing.assert_array_equal(fast.predict({c: frame[c].to_numpy() for c in "abcd"}), forest.predict(X))


def test_frame_fitted_model_is_exported_in_its_fitted_order() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(300, 3)), columns=["x", "y", "z"])
    model = LogisticRegression().fit(frame, (frame["z"] > 0).astype(int))
    fast = OnnxModel(to_onnx(model, ["z", "y", "x"]))  # names in another order
    assert fast.feature_names == ["x", "y", "z"]
    np.testing.assert_allclose(fast.predict_proba(frame), model.predict_proba(frame), atol=1e-5)


class HandWritten(BaseEstimator, ClassifierMixin):
    """A model skl2onnx knows nothing about."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return (np.asarray(X)[:, 0] > 0).astype(int)


def test_unconvertible_model_says_so() -> None:
    model = HandWritten().fit(np.zeros((4, 2)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="cannot export HandWritten to ONNX"):
        to_onnx(model, ["a", "b"])


def test_regressor_has_no_probabilities() -> None:
    from sklearn.linear_model import LinearRegression

    X = np.arange(20, dtype=float).reshape(10, 2)
    fast = OnnxModel(to_onnx(LinearRegression().fit(X, X[:, 0] * 2), ["a", "b"]))
    np.testing.assert_allclose(fast.predict(X), X[:, 0] * 2, rtol=1e-5)
    with pytest.raises(AttributeError, match="regressor"):
        fast.predict_proba(X)


def test_single_feature_and_numeric_pipeline_by_name() -> None:
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = np.linspace(-3, 3, 200).reshape(-1, 1)
    y = (X[:, 0] > 0.3).astype(int)
    one = LogisticRegression().fit(X, y)
    fast = OnnxModel(to_onnx(one, ["amount"]))
    assert fast.matrix and list(fast.inputs) == ["X"]
    np.testing.assert_array_equal(fast.predict({"amount": X[:, 0]}), one.predict(X))

    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 0] ** 2})
    pipe = make_pipeline(make_column_transformer((StandardScaler(), ["b", "a"])), LogisticRegression()).fit(frame, y)
    fast = OnnxModel(to_onnx(pipe, ["a", "b"]))
    np.testing.assert_array_equal(fast.predict(frame), pipe.predict(frame))
    service = ModelService(pipe, ["a", "b"], onnx=fast)
    assert service.predict({"a": 2.0, "b": 4.0}) == pipe.predict(pd.DataFrame({"a": [2.0], "b": [4.0]}))[0]
