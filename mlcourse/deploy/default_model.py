"""Stage 3, deploy: train the course's default model and put it in the registry.

:func:`train_default_model` fits ``fraud-detector`` (defined once, with its
features, in :mod:`mlcourse.train.fraud_model`), scores it on a held-out
split and registers it (:func:`mlcourse.deploy.registry.save_model`) with its
metrics, its feature schema (integer and float features, the ranges seen in
training, the categories), the training data's fingerprint and an ONNX
export, under the alias ``production``. ``mlcourse serve`` calls it when the registry is empty.

Examples
--------
>>> import tempfile
>>> from mlcourse.train.fraud_model import FEATURES
>>> mv = train_default_model(registry=tempfile.mkdtemp(), n_rows=2_000, n_estimators=10)
>>> mv.label, mv.has_onnx, mv.metadata["feature_names"] == FEATURES
('fraud-detector:v1', True, True)
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from mlcourse.train.fraud_model import DEFAULT_MODEL, FEATURES, LEAKY_COLUMNS, TARGET, build_pipeline

if TYPE_CHECKING:  # pragma: no cover
    from mlcourse.deploy.registry import ModelVersion

__all__ = ["train_default_model"]


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
        # An hour of the day is 0 to 23 whatever the data shows; the other
        # ranges are those seen in training, widened by the registry's margin.
        feature_ranges={"hour": (0, 23)},
        onnx=onnx,
        alias=alias,
        extra={
            "trained_by": "mlcourse.deploy.default_model.train_default_model",
            "data": {"source": "mlcourse.data.make_transactions", "n_rows": n_rows, "seed": seed,
                     "dropped": ["transaction_id", "account_id", "merchant_id", "timestamp", *LEAKY_COLUMNS]},
            "params": {"n_estimators": n_estimators, "max_depth": max_depth, "min_samples_leaf": 5,
                       "class_weight": "balanced_subsample"},
            "confusion_matrix": metrics.get("confusion_matrix"),
            "positive_rate": float(y.mean()),
        },
    )
