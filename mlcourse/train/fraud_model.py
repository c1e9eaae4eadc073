"""The course's default model: ``fraud-detector``, what ``mlcourse serve`` serves out of the box.

A random forest behind a one-hot encoder, trained on
:func:`mlcourse.data.make_transactions` without the identifiers, the
timestamp and the two leaky columns (``chargeback`` and ``chargeback_at``
are only known after the fraud is found). It trains in a few seconds and
is registered with its metrics, the training data's fingerprint and an
ONNX export, under the alias ``production``.

Examples
--------
>>> import tempfile
>>> mv = train_default_model(registry=tempfile.mkdtemp(), n_rows=2_000, n_estimators=10)
>>> mv.label, mv.has_onnx, mv.metadata["feature_names"] == FEATURES
('fraud-detector:v1', True, True)
>>> sorted(example_records(1)[0]) == sorted(FEATURES)
True
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from sklearn.pipeline import Pipeline

    from mlcourse.deploy.registry import ModelVersion

__all__ = [
    "CATEGORICAL_FEATURES",
    "DEFAULT_MODEL",
    "FEATURES",
    "LEAKY_COLUMNS",
    "NUMERIC_FEATURES",
    "TARGET",
    "build_pipeline",
    "example_frame",
    "example_records",
    "train_default_model",
]

#: The registry name of the course's default model.
DEFAULT_MODEL = "fraud-detector"
NUMERIC_FEATURES = ["amount", "hour", "account_age_days", "customer_age", "is_foreign"]
CATEGORICAL_FEATURES = ["merchant_category", "country", "channel"]
#: The model's inputs: every column of ``make_transactions`` except the
#: identifiers, the timestamp, the label and the leaky columns.
FEATURES = NUMERIC_FEATURES + CATEGORICAL_FEATURES
LEAKY_COLUMNS = ("chargeback", "chargeback_at")
TARGET = "is_fraud"


def build_pipeline(n_estimators: int = 100, max_depth: int = 10, seed: int = 0) -> Pipeline:
    """One-hot encoding of the text features, then a class-balanced random forest.

    ``class_weight="balanced_subsample"`` makes the rare fraud class (about
    3 %) count as much as the rest, so the forest flags suspicious payments
    instead of always answering "not fraud"; its scores are then rankings
    rather than calibrated probabilities.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    encode = ColumnTransformer(
        [("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL_FEATURES)],
        remainder="passthrough",
    )
    forest = RandomForestClassifier(
        n_estimators=n_estimators,
        max_depth=max_depth,
        min_samples_leaf=5,
        class_weight="balanced_subsample",
        random_state=seed,
        n_jobs=-1,
    )
    return Pipeline([("encode", encode), ("forest", forest)])


def train_default_model(
    registry: str | os.PathLike[str] | None = None,
    *,
    n_rows: int = 20_000,
    seed: int = 0,
    n_estimators: int = 100,
    max_depth: int = 10,
    alias: str | None = "production",
    onnx: bool = True,
) -> ModelVersion:
    """Train ``fraud-detector`` on ``make_transactions`` and register it.

    The data is split 80/20 (stratified); the test split's accuracy,
    precision, recall, F1 and ROC-AUC are recorded as the version's metrics.

    Parameters
    ----------
    registry : path, optional
        Registry folder (default: ``$MLCOURSE_HOME/registry``).
    n_rows, seed : int
        Passed to :func:`mlcourse.data.make_transactions`.
    n_estimators, max_depth : int
        The forest's size (the lesson outline's forest: 100 trees, depth 10).
    alias : str or None, default "production"
        The alias to point at the new version.
    onnx : bool, default True
        Also store an ONNX export, which serving uses for speed.

    Returns
    -------
    mlcourse.deploy.registry.ModelVersion
    """
    from sklearn.model_selection import train_test_split

    from mlcourse.data.generate import make_transactions
    from mlcourse.deploy.registry import save_model
    from mlcourse.train.training import evaluate

    df = make_transactions(n_rows, seed=seed)
    X, y = df[FEATURES], df[TARGET].to_numpy()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=seed, stratify=y)
    pipe = build_pipeline(n_estimators=n_estimators, max_depth=max_depth, seed=seed).fit(X_train, y_train)
    # Serving predicts one row at a time: thread start-up would cost more than it saves.
    pipe.set_params(forest__n_jobs=None)
    metrics = evaluate(pipe, X_test, y_test)
    return save_model(
        pipe,
        DEFAULT_MODEL,
        registry=registry,
        metrics={k: v for k, v in metrics.items() if k != "confusion_matrix"},
        data=X_train,
        onnx=onnx,
        alias=alias,
        extra={
            "trained_by": "mlcourse.train.fraud_model.train_default_model",
            "data": {"source": "mlcourse.data.make_transactions", "n_rows": n_rows, "seed": seed,
                     "dropped": ["transaction_id", "account_id", "merchant_id", "timestamp", *LEAKY_COLUMNS]},
            "params": {"n_estimators": n_estimators, "max_depth": max_depth, "min_samples_leaf": 5,
                       "class_weight": "balanced_subsample"},
            "confusion_matrix": metrics.get("confusion_matrix"),
            "positive_rate": float(y.mean()),
        },
    )


def example_records(n: int = 5, seed: int = 1) -> list[dict[str, Any]]:
    """``n`` realistic request bodies for ``fraud-detector``, as plain JSON-ready dicts.

    Examples
    --------
    >>> example_records(1, seed=1)[0]["channel"] in ("chip", "contactless", "online", "swipe")
    True
    """
    from mlcourse.data.generate import make_transactions

    table = make_transactions(max(1_000, n), seed=seed)[FEATURES].head(n)
    records = []
    for row in table.itertuples(index=False):
        records.append({
            name: (value.item() if hasattr(value, "item") else value) for name, value in zip(FEATURES, row)
        })
    return records


def example_frame(n: int = 1_000, seed: int = 1) -> pd.DataFrame:
    """``n`` rows of the model's inputs (a DataFrame), for batch scoring."""
    from mlcourse.data.generate import make_transactions

    return make_transactions(max(1_000, n), seed=seed)[FEATURES].head(n).reset_index(drop=True)
