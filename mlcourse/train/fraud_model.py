"""The course's default model: ``fraud-detector``, what ``mlcourse serve`` serves out of the box.

A random forest behind a one-hot encoder, trained on
:func:`mlcourse.data.make_transactions` without the identifiers, the
timestamp and the two leaky columns (``chargeback`` and ``chargeback_at``
are only known after the fraud is found). It trains in a few seconds;
:func:`mlcourse.deploy.default_model.train_default_model` trains it and
registers it with its metrics, the training data's fingerprint and an ONNX
export, under the alias ``production``.

Examples
--------
>>> build_pipeline(n_estimators=10).named_steps["forest"].n_estimators
10
>>> sorted(example_records(1)[0]) == sorted(FEATURES)
True
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
