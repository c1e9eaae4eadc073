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


def clean_probe(fn: Any, inputs: dict) -> dict:
    """The learner's cleaned table, and whether the call changed the caller's frame in place.

    The function gets the very frame the caller holds (the task asks for a
    cleaned *copy*); an unchanged copy taken before the call tells whether it
    was sorted, deduplicated or repaired in place.
    """
    df = inputs["df"]
    before = df.copy(deep=True)
    returned = fn(df)
    same = df.shape == before.shape and df.equals(before) and list(map(str, df.columns)) == list(map(str, before.columns))
    return {"returned": returned, "changed": [] if same else [0]}


def call_on_cases(fn: Any, cases: list) -> list:
    """The learner's function on each ``(frame, schema)`` case."""
    return [fn(df, schema) for df, schema in cases]


def fingerprint_frame(n_rows: int, seed: int) -> pd.DataFrame:
    """A payments-like frame of ``n_rows`` rows, made from ``seed`` (so a large one travels as two numbers)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": rng.lognormal(3, 1, n_rows).round(2),
            "hour": rng.integers(0, 24, n_rows),
            "channel": rng.choice(["chip", "contactless", "online", "swipe"], n_rows).astype(object),
        }
    )


def fingerprint_variants(fn: Any, inputs: dict) -> dict:
    """Call the learner's function on a frame and on variants of it.

    ``inputs`` says how to make the frame (``n_rows``, ``seed``), which cell
    to change (``row``, ``col``) and by how much (``step``: a cent, or a
    change in the 8th significant digit that pandas' printing rounds away).
    """
    df = fingerprint_frame(inputs["n_rows"], inputs["seed"])
    row, col = inputs["row"], inputs["col"]
    name = df.columns[col]
    changed = df.copy()
    if name == "amount":
        changed.iloc[row, col] = changed.iloc[row, col] + inputs["step"]
    elif name == "hour":
        changed.iloc[row, col] = (changed.iloc[row, col] + 1) % 24
    else:
        changed.iloc[row, col] = str(changed.iloc[row, col]) + "x"
    return {
        "original": fn(df),
        "an equal frame built separately": fn(fingerprint_frame(inputs["n_rows"], inputs["seed"])),
        "one value changed": fn(changed),
        "a column renamed": fn(df.rename(columns={name: name + "_v2"})),
        "a dtype changed": fn(df.astype({"hour": "float64"})),
        "rows reordered": fn(df.iloc[::-1]),
    }


def call_leak(fn: Any, inputs: dict) -> Any:
    """The learner's ``auc_with_and_without(train, test, features, leaky)``."""
    return fn(inputs["train"], inputs["test"], list(inputs["features"]), list(inputs["leaky"]))


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
