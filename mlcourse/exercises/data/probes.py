"""The probes of lesson 01 (Data): what the grading child runs.

Each probe hands the learner's function its inputs and returns what it gave
back: the raw sources written to a private folder, a damaged table, variants
of a frame, a pair of feature functions. Nothing here knows an answer; the
references and verdicts are in :mod:`mlcourse.exercises.data.checks`.
"""
from __future__ import annotations

import base64
import math
import os
import shutil
import tempfile
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd


# --------------------------------------------------------------------------
# data.join_sources, data.clean_transactions, data.fingerprint, data.leaky_columns
# --------------------------------------------------------------------------
def join_probe(fn: Any, inputs: dict) -> Any:
    """Write the sources (made where the verdict runs) into a private temporary folder and join them
    with the learner's function."""
    folder = tempfile.mkdtemp(prefix="mlcourse-sources-")
    try:
        paths = {}
        for key, (name, data) in inputs["files"].items():
            paths[key] = os.path.join(folder, name)
            with open(paths[key], "wb") as fh:
                fh.write(base64.b64decode(data))
        return fn(paths)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def clean_probe(fn: Any, inputs: dict) -> Any:
    return fn(inputs["df"])


def fingerprint_variants(fn: Any, inputs: tuple) -> dict:
    """Call the learner's function on the frame and on variants of it."""
    df, row, col = inputs
    changed = df.copy()
    name = df.columns[col]
    if pd.api.types.is_numeric_dtype(changed[name]):
        changed.iloc[row, col] = changed.iloc[row, col] + 1
    else:
        changed.iloc[row, col] = str(changed.iloc[row, col]) + "x"
    return {
        "original": fn(df),
        "copy": fn(df.copy()),
        "one value changed": fn(changed),
        "a column renamed": fn(df.rename(columns={name: name + "_v2"})),
        "a dtype changed": fn(df.astype({"hour": "float64"})),
        "rows reordered": fn(df.iloc[::-1]),
        "cell": [row, str(name)],
    }


def sorted_names(value: Any, _: Any) -> Any:
    """A list, tuple or set of names, sorted (order does not matter); anything else as it is."""
    return sorted(value) if isinstance(value, (list, tuple, set)) else value


# --------------------------------------------------------------------------
# data.features_match: the feature code handed to the learner's parity test
# --------------------------------------------------------------------------
# Statistics of log1p(amount) on the training data, as the offline code fits them.
_MU, _SIGMA = 3.8123, 1.0417


def offline_features(frame: pd.DataFrame) -> pd.DataFrame:
    """The training pipeline's features (pandas): hours in UTC, amount standardised on the log scale."""
    ts = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601")
    hour = ts.dt.hour.astype("int64")
    return pd.DataFrame({
        "amount_z": (np.log1p(frame["amount"].astype(float)) - _MU) / _SIGMA,
        "hour": hour,
        "is_night": (hour < 6).astype("int64"),
    })


def online_same(record: dict) -> dict:
    """Hand-written serving code that agrees with :func:`offline_features` (up to float rounding)."""
    hour = datetime.fromisoformat(record["timestamp"]).astimezone(timezone.utc).hour
    return {"amount_z": math.log1p(record["amount"]) / _SIGMA - _MU / _SIGMA, "hour": hour, "is_night": int(hour < 6)}


def online_local_hour(record: dict) -> dict:
    """Serving code that reads the hour on the payment's local clock."""
    hour = datetime.fromisoformat(record["timestamp"]).hour
    return {"amount_z": (math.log1p(record["amount"]) - _MU) / _SIGMA, "hour": hour, "is_night": int(hour < 6)}


def online_clamped(record: dict) -> dict:
    """Serving code that caps amounts at 1 000 'for safety'."""
    hour = datetime.fromisoformat(record["timestamp"]).astimezone(timezone.utc).hour
    amount = min(record["amount"], 1_000.0)
    return {"amount_z": (math.log1p(amount) - _MU) / _SIGMA, "hour": hour, "is_night": int(hour < 6)}


def online_renamed(record: dict) -> dict:
    """Serving code where one feature has another name."""
    hour = datetime.fromisoformat(record["timestamp"]).astimezone(timezone.utc).hour
    return {"amount_z": (math.log1p(record["amount"]) - _MU) / _SIGMA, "hour": hour, "night": int(hour < 6)}


ONLINE = {
    "agrees": online_same,
    "local hour": online_local_hour,
    "clamped amounts": online_clamped,
    "renamed feature": online_renamed,
}


def skew_probe(fn: Any, inputs: dict) -> Any:
    return fn(offline_features, ONLINE[inputs["pair"]], inputs["records"])
