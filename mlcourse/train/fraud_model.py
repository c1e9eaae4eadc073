"""Stage 2, train: the course's fraud models, defined once for every stage after this one.

Two models, for two jobs:

* ``fraud-detector`` (:data:`DEFAULT_MODEL`), what ``mlcourse serve`` serves
  out of the box: a random forest behind a one-hot encoder
  (:func:`build_pipeline`), trained on :func:`mlcourse.data.make_transactions`
  without the identifiers, the timestamp and the two leaky columns
  (``chargeback`` and ``chargeback_at`` are only known after the fraud is
  found). It trains in a few seconds;
  :func:`mlcourse.deploy.default_model.train_default_model` trains it and
  registers it with its metrics, the training data's fingerprint and an ONNX
  export, under the alias ``production``.
* a small, fast model (:func:`make_fraud_model`: engineered features and a
  logistic regression on :data:`MODEL_FEATURES`), which monitoring's
  experiments (:mod:`mlcourse.monitor.experiments`) and the retraining
  backtests (:mod:`mlcourse.monitor.retraining`) refit many times, under
  :func:`one_thread`.

:func:`score_metrics` (and :func:`score_metric`, one of them alone) scores
fraud scores the way the monitoring stage does: PR-AUC first, because fraud
is about 3 % of the traffic and accuracy hardly moves when a model breaks.
Drift is watched on :data:`MONITORED_FEATURES`.

Examples
--------
>>> build_pipeline(n_estimators=10).named_steps["forest"].n_estimators
10
>>> sorted(example_records(1)[0]) == sorted(FEATURES)
True
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from mlcourse.metrics import average_precision, roc_auc

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from sklearn.pipeline import Pipeline

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
    "MODEL_FEATURES",
    "MONITORED_FEATURES",
    "make_fraud_model",
    "one_thread",
    "score_metric",
    "score_metrics",
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


# --------------------------------------------------------------------------- the small, fast model

#: The transaction columns the fraud model reads.
MODEL_FEATURES = ["amount", "hour", "merchant_category", "channel", "account_age_days", "customer_age", "is_foreign"]
#: The columns drift is watched on (the model's inputs plus the country).
MONITORED_FEATURES = ["amount", "hour", "merchant_category", "country", "channel",
                      "account_age_days", "customer_age", "is_foreign"]


def _design(X: pd.DataFrame) -> np.ndarray:
    """The model's inputs as numbers: engineered numeric features, then one-hot
    channel and merchant category (first level dropped: it is the intercept)."""
    import pandas as pd

    from mlcourse.data.generate import CATEGORIES, CHANNELS

    amount = X["amount"].to_numpy(dtype=float)
    hour = X["hour"].to_numpy(dtype=float)
    age = X["customer_age"].to_numpy(dtype=float)
    account = np.maximum(X["account_age_days"].to_numpy(dtype=float), 0.0)
    parts = [
        np.log(np.maximum(amount, 0.01) / 50.0),
        hour < 6,
        np.exp(-account / 30.0),
        np.log1p(account),
        age >= 70,
        age < 25,
        X["is_foreign"].to_numpy(dtype=float),
    ]
    for column, levels in (("channel", CHANNELS), ("merchant_category", CATEGORIES)):
        codes = pd.Index(levels).get_indexer(X[column])  # unknown -> -1 -> all zeros
        parts.extend(codes == k for k in range(1, len(levels)))
    return np.column_stack(parts).astype(float)


def make_fraud_model(C: float = 1.0) -> Any:
    """A small, fast fraud model: engineered features + logistic regression.

    Log amount, a night flag, account youth, age bands and foreignness,
    plus one-hot channel and merchant category, scaled, into a
    ``LogisticRegression``. It fits 10,000 transactions in a few
    hundredths of a second, which is what a backtest of many retrains needs.

    Examples
    --------
    >>> import pandas as pd
    >>> from mlcourse.data.generate import production_stream
    >>> days = production_stream(n_days=10, rows_per_day=300, seed=0)
    >>> X = pd.concat([b.features for b in days]); y = pd.concat([b.labels for b in days])
    >>> model = make_fraud_model().fit(X, y)
    >>> model.predict_proba(X.head(2)).shape
    (2, 2)
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    return make_pipeline(FunctionTransformer(_design), StandardScaler(), LogisticRegression(C=C, max_iter=1000))


def score_metrics(y: Any, scores: Any, threshold: float = 0.5) -> dict[str, float]:
    """PR-AUC, ROC-AUC, accuracy, precision and recall of fraud scores.

    ``pr_auc`` is average precision (precision at each threshold weighted
    by the recall it adds: a step-wise summary, not an area) and ``roc_auc``
    the area under the ROC curve. They equal scikit-learn's
    ``average_precision_score`` and ``roc_auc_score`` (computed directly,
    because backtests call this thousands of times); both are NaN when ``y``
    holds a single class.
    Precision and recall use ``score >= threshold``.

    Examples
    --------
    >>> m = score_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> round(m["pr_auc"], 3), m["roc_auc"], m["accuracy"]
    (0.833, 0.75, 0.75)
    """
    y = np.asarray(y, dtype=int)
    s = np.asarray(scores, dtype=float)
    if y.shape != s.shape or y.ndim != 1:
        raise ValueError(f"y and scores must be one-dimensional and of the same length, got {y.shape} and {s.shape}")
    pred = s >= threshold
    tp = int(np.sum(pred & (y == 1)))
    out = {
        "n": int(y.size),
        "fraud_rate": float(y.mean()) if y.size else math.nan,
        "pr_auc": math.nan,
        "roc_auc": math.nan,
        "accuracy": float(np.mean(pred == (y == 1))) if y.size else math.nan,
        "precision": tp / int(pred.sum()) if pred.any() else math.nan,
        "recall": tp / int((y == 1).sum()) if (y == 1).any() else math.nan,
    }
    if 0 < y.sum() < y.size:
        out["pr_auc"] = average_precision(y, s)
        out["roc_auc"] = roc_auc(y, s)
    return out


def one_thread() -> Any:
    """Run a simulation's many small fits single-threaded.

    A small logistic regression gains nothing from BLAS threads, and on a busy
    machine their start-up and hand-over cost more than the fit itself
    (measured here: a backtest took 13 s threaded against 3.4 s on one thread).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


def score_metric(y: np.ndarray, s: np.ndarray, metric: str) -> float:
    """One metric of fraud scores: ``"pr_auc"``, ``"roc_auc"``, else accuracy at 0.5.

    The single number :func:`score_metrics` reports under that name, computed
    alone (a paired bootstrap computes it thousands of times).

    Examples
    --------
    >>> score_metric(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]), "roc_auc")
    0.75
    """
    if metric == "pr_auc":
        return average_precision(y, s)
    if metric == "roc_auc":
        return roc_auc(y, s)
    return float(np.mean((s >= 0.5) == (y == 1)))
