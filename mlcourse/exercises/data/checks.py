"""Exercises of lesson 01, Data: collect, validate, clean, version, and avoid leakage.

Each exercise is one declarative definition, in the order the lesson asks
them:

* ``data.join_sources``: join three raw sources into one typed table;
* ``data.find_violations``: report every schema violation;
* ``data.clean_transactions``: remove duplicates, repair impossible values,
  impute and flag missing ones, without dropping a valid row;
* ``data.fingerprint``: a content hash for dataset versioning;
* ``data.leaky_columns``: name the columns recorded after the outcome;
* ``data.leak_auc``: measure the ROC-AUC a leaky column is worth;
* ``data.time_split``: a split where the past trains and the future tests;
* ``data.features_match``: a parity test between offline and online features.

Where an exercise asks the learner to re-create something the package
provides (``mlcourse.data.validation.validate``, ``fingerprint``,
``mlcourse.data.load_sources``), the package's version is the reference and
the exercise forbids calling it (see :mod:`mlcourse.exercises.guard`); the
lesson imports the modules as ``data`` and ``validation``, so the short
spellings (``data.load_sources``) are forbidden as well.

This module is the lesson's answer key: the exercises, their inputs and the
references each test's ``expected=`` computes. What the grading child runs,
and the verdicts (which the graded edition ships for the public tests), are in
:mod:`mlcourse.exercises.data.probes`.
"""
from __future__ import annotations

import base64
import functools
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlcourse import data as _data
from mlcourse.exercises.data.probes import (
    CLEAN_EDGES,
    ONLINE,
    REPORT_COLUMNS,
    RULES,
    call_leak,
    call_on_cases,
    clean_probe,
    clean_verdict,
    fingerprint_variants,
    fingerprint_verdict,
    join_probe,
    join_verdict,
    leak_distance,
    leak_verdict,
    leaky_form_verdict,
    offline_features,
    skew_probe,
    skew_verdict,
    sorted_names,
    time_split_verdict,
    violations_verdict,
)
from mlcourse.exercises.engine import Exercise, Function, Mistake, Value, holds, value_is
from mlcourse.exercises.probes import as_given, call_keeping_inputs
from mlcourse.metrics import roc_auc
from mlcourse.train.fraud_model import one_thread

# --------------------------------------------------------------------------
# data.join_sources: three raw sources, one typed table
# --------------------------------------------------------------------------


#: Where the sources are written for the moment it takes to read them back: memory, where the system has it
#: (a database's commit waits for the disk, which on a busy machine costs more than making the table).
_SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


@functools.lru_cache(maxsize=128)
def _sources(n_rows: int, seed: int) -> tuple[tuple[tuple[str, str, str], ...], pd.DataFrame]:
    """The three source files of a table as (key, file name, base64 bytes), and the table
    :func:`mlcourse.data.load_sources` joins from those very files (cached: read only).

    The files are written once: the reference is read from them before they go.
    """
    folder = tempfile.mkdtemp(prefix="mlcourse-sources-", dir=_SCRATCH)
    try:
        paths = _data.write_sources(folder, n_rows=n_rows, seed=seed)
        files = tuple((key, Path(p).name, base64.b64encode(Path(p).read_bytes()).decode("ascii")) for key, p in paths.items())
        return files, _data.load_sources(paths)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def join_inputs(rng: np.random.Generator) -> dict:
    """A fresh set of sources: its size and seed, and the three files' bytes (base64), which the probe writes.

    The files are made here, where the verdict runs: writing them calls the
    package's join, which the exercise forbids while its probe runs.
    """
    n_rows, seed = int(rng.integers(80, 150)), int(rng.integers(0, 100_000))
    files = {key: (name, data) for key, name, data in _sources(n_rows, seed)[0]}
    return {"n_rows": n_rows, "seed": seed, "files": files}


def reference_join(n_rows: int, seed: int) -> pd.DataFrame:
    """The expected table: :func:`mlcourse.data.load_sources` on the same sources (cached: read only)."""
    return _sources(n_rows, seed)[1]


def _joined(inputs: dict) -> pd.DataFrame:
    return reference_join(inputs["n_rows"], inputs["seed"])


join_sources = Exercise(
    id="data.join_sources",
    title="Join three raw sources into one typed table",
    points=3,
    answer=Function("join_sources"),
    tests=[
        holds("the sources of a fresh table", join_probe, join_verdict, inputs=join_inputs, expected=_joined, public=True),
        holds("the sources of another fresh table", join_probe, join_verdict, inputs=join_inputs, expected=_joined),
    ],
    hints=(
        "Read each source with the tool made for it: `pd.read_sql_query(..., sqlite3.connect(path))` for the "
        "database, `pd.read_json(path, lines=True)` for the event log, `pd.read_csv` for the merchants. Then "
        "parse every date column with `pd.to_datetime`.",
        "Start from the transactions and `merge` the accounts on 'account_id' and the merchants on 'merchant_id' "
        "with `how='left'` (add `validate='many_to_one'` to catch a key that is not unique).",
        "Derive the three missing columns: `hour = timestamp.dt.hour`, `account_age_days = (timestamp.dt.normalize() "
        "- opened_at).dt.days`, `is_foreign = (country != home_country).astype(int)`; then keep `df[data.COLUMNS]`.",
    ),
    forbid=(
        "mlcourse.data.load_sources",
        "mlcourse.data.generate.load_sources",
        "data.load_sources",
        "mlcourse.data.generate._join",
        "data._join",
    ),
    on_error={
        "TypeError": "Dates read from text are strings until you parse them: subtracting or comparing them fails. "
        "Use pd.to_datetime on timestamp, chargeback_at and opened_at first.",
        "KeyError": "Check the source's column names: print the first rows of each source before joining.",
        "MergeError": "A key matched several rows of a reference table; join on the reference table's unique id.",
    },
)


# --------------------------------------------------------------------------
# data.find_violations: report every schema violation
# --------------------------------------------------------------------------


def _content_key(df: pd.DataFrame) -> tuple:
    """A frame's content as a hashable key: names, dtypes and one hash per row."""
    rows = pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()
    return (tuple(map(str, df.columns)), tuple(map(str, df.dtypes)), rows)


def _by_content(store: dict, key: Any, compute: Any) -> Any:
    """``compute()``, remembered in ``store`` under ``key`` (the oldest entries go past 256): a verdict's
    reference depends only on the inputs' content, which every answer checked on the same seed shares."""
    if key not in store:
        if len(store) >= 256:
            store.pop(next(iter(store)))
        store[key] = compute()
    return store[key]


_VIOLATIONS: dict = {}


def reference_violations(df: pd.DataFrame, schema: dict) -> pd.DataFrame:
    """The expected answer, computed with :func:`mlcourse.data.validation.validate` (remembered by content)."""
    import json

    key = (_content_key(df), json.dumps(schema, sort_keys=True))
    return _by_content(_VIOLATIONS, key, lambda: _reference_violations(df, schema)).copy()


def _reference_violations(df: pd.DataFrame, schema: dict) -> pd.DataFrame:
    from mlcourse.data.validation import Column, Schema, validate

    columns = {}
    for name, rules in schema.items():
        dtype = "number"
        if name in df.columns and not pd.api.types.is_numeric_dtype(df[name].dtype):
            dtype = "str"
        columns[name] = Column(
            dtype,
            nullable=rules.get("nullable", True),
            min=rules.get("min"),
            max=rules.get("max"),
            allowed=rules.get("allowed"),
        )
    report = validate(df, Schema(columns, strict=False))
    rows = [(v.column, v.rule, int(v.count)) for v in report.violations if v.rule in RULES]
    return pd.DataFrame(sorted(rows), columns=REPORT_COLUMNS)


def lesson_schema() -> dict:
    """The schema of the lesson's exercise (its ages come from :data:`mlcourse.data.CUSTOMER_AGES`)."""
    youngest, oldest = _data.CUSTOMER_AGES
    return {
        "amount": {"nullable": False, "min": 0.01},
        "customer_age": {"nullable": False, "min": youngest, "max": oldest},
        "channel": {"nullable": False, "allowed": list(_data.CHANNELS)},
        "merchant_category": {"nullable": False},
    }


def example_violation_frame() -> pd.DataFrame:
    """The small frame the lesson shows next to the exercise (it lacks `merchant_category`)."""
    return pd.DataFrame(
        {
            "amount": [12.5, -3.0, None, 40.0],
            "customer_age": [34, 17, 45, 230],
            "channel": ["chip", "Chip", "online", "swipe"],
        }
    )


def _fresh_schema(rng: np.random.Generator) -> dict:
    """A schema like the lesson's, with fresh bounds and allowed values, and columns whose gaps are allowed."""
    youngest, oldest = _data.CUSTOMER_AGES
    channels = list(_data.CHANNELS)
    allowed = sorted(rng.choice(channels, size=int(rng.integers(3, len(channels) + 1)), replace=False).tolist())
    return {
        "amount": {"nullable": False, "min": float(rng.choice([0.01, 0.5, 1.0]))},
        "customer_age": {
            "nullable": False,
            "min": int(youngest + rng.integers(0, 4)),
            "max": int(oldest - rng.integers(0, 11)),
        },
        "channel": {"nullable": False, "allowed": allowed},
        "country": {"nullable": True},
        "hour": {"min": 0, "max": 23},
    }


def _fresh_violation_frame(rng: np.random.Generator, schema: dict) -> pd.DataFrame:
    """A fresh frame that breaks every rule of ``schema``, with values exactly on each bound (which are
    allowed) built into every draw, and gaps in every column (which only `nullable` may count)."""
    n = int(rng.integers(30, 50))
    allowed = schema["channel"]["allowed"]
    lo, hi = schema["customer_age"]["min"], schema["customer_age"]["max"]
    amount = (rng.lognormal(3.5, 0.8, n).round(2) + 1.0).tolist()
    age = rng.integers(lo + 1, hi, n).astype(float).tolist()
    channel = rng.choice(allowed, n).tolist()
    country = rng.choice(["US", "GB", "DE"], n).tolist()
    hour = rng.integers(1, 23, n).astype(float).tolist()
    rows = iter(rng.permutation(n).tolist())
    wrong_channel = ["Chip", "ONLINE", "atm", "swipe "] + [c for c in _data.CHANNELS if c not in allowed]
    edits = [
        (amount, [schema["amount"]["min"]] * int(rng.integers(1, 3))),  # on the bound: allowed
        (amount, [np.nan] * int(rng.integers(1, 3))),
        (amount, (-rng.uniform(1, 50, int(rng.integers(1, 3)))).round(2).tolist()),
        (age, [float(lo), float(hi)]),  # on the bounds: allowed
        (age, [float(lo - 1)] * int(rng.integers(1, 3)) + [float(hi + 1)]),
        (age, [float(rng.choice([5, 150, 200]))] + [np.nan] * int(rng.integers(1, 3))),
        (channel, rng.choice(wrong_channel, int(rng.integers(1, 3))).tolist() + [None]),
        (country, [None] * int(rng.integers(1, 3))),
        (hour, [0.0, 23.0, 24.0, -1.0, np.nan]),
    ]
    for column, values in edits:
        for v in values:
            column[next(rows)] = v
    return pd.DataFrame(
        {
            "amount": amount,
            "customer_age": age,
            "channel": pd.Series(channel, dtype=object),
            "country": pd.Series(country, dtype=object),
            "hour": hour,
        }
    )


@functools.lru_cache(maxsize=128)
def _violation_cases(kind: str, key: int) -> tuple:
    """The cases of one find_violations test, made from ``key`` (cached: read only)."""
    rng = np.random.default_rng(key)
    if kind == "example":
        schema = _fresh_schema(rng)
        return ((example_violation_frame(), lesson_schema()), (_fresh_violation_frame(rng, schema), schema))
    if kind == "bounds":
        return tuple((_fresh_violation_frame(rng, schema), schema) for schema in (_fresh_schema(rng), _fresh_schema(rng)))
    schema = _fresh_schema(rng)
    df = _fresh_violation_frame(rng, schema)
    gone = str(rng.choice(["amount", "customer_age", "channel"]))
    df = df.drop(columns=[gone]).assign(merchant_id=[f"M{i:04d}" for i in rng.integers(1, 9999, len(df))])
    return ((df, schema),)


def _drawn_cases(kind: str, rng: np.random.Generator) -> list:
    """The cases of one find_violations test (see :func:`_violation_cases`), from a key drawn from ``rng``."""
    return list(_violation_cases(kind, int(rng.integers(0, 2**31))))


# The lesson's small example, and a fresh frame with a fresh schema.
_example_case = functools.partial(_drawn_cases, "example")
# Two fresh frames, each with values exactly on its schema's bounds.
_bounds_cases = functools.partial(_drawn_cases, "bounds")
# A fresh frame that lacks one column of its schema and has one the schema does not name.
_missing_column_case = functools.partial(_drawn_cases, "missing")


def _reports(cases: list) -> list[list[list]]:
    """The right report of each case, as ``[column, rule, count]`` rows."""
    return [[[c, r, int(n)] for c, r, n in reference_violations(df, schema).itertuples(index=False)] for df, schema in cases]


find_violations = Exercise(
    id="data.find_violations",
    title="Report every schema violation",
    points=3,
    answer=Function("find_violations"),
    tests=[
        holds("the lesson's small example and a fresh frame", call_on_cases, violations_verdict, inputs=_example_case, expected=_reports,
              public=True),
        holds("fresh frames with values exactly on their bounds", call_on_cases, violations_verdict, inputs=_bounds_cases,
              expected=_reports),
        holds("a fresh frame that lacks a column of its schema", call_on_cases, violations_verdict,
              inputs=_missing_column_case, expected=_reports),
    ],
    hints=(
        "Loop over the schema's columns; for each rule present in its dict, count the offending values and append "
        "(column, rule, count) when the count is above zero.",
        "Missing values: `df[col].isna().sum()`. Bounds are inclusive and apply to the values that are present: "
        "`(df[col].dropna() < rules['min']).sum()`. Allowed values: `(~df[col].dropna().isin(rules['allowed'])).sum()`.",
        "A column missing from the frame gives the row (column, 'missing_column', 1) and nothing else. "
        "Return `pd.DataFrame(rows, columns=['column', 'rule', 'count'])`.",
    ),
    forbid=("mlcourse.data.validation.validate", "validation.validate"),
    on_error={
        "KeyError": "A column named in the schema may be absent from the frame: report it as "
        "(column, 'missing_column', 1) instead of looking it up.",
    },
)


# --------------------------------------------------------------------------
# data.clean_transactions: duplicates, impossible values, missing values
# --------------------------------------------------------------------------


@functools.lru_cache(maxsize=128)
def _clean_table(n_rows: int, seed: int) -> pd.DataFrame:
    """The clean table a damaged one was made from (cached: read only)."""
    return _data.make_transactions(n_rows, seed=seed)


@functools.lru_cache(maxsize=128)
def _damaged_table(n_rows: int, seed: int, order: int | None) -> pd.DataFrame:
    """A damaged table with :data:`CLEAN_EDGES` on rows of payments that appear once; rows shuffled when
    ``order`` is a seed (cached: callers get copies)."""
    df = _data.make_transactions(n_rows, seed=seed, missing=True, duplicates=True, outliers=True)
    df.attrs = {}
    once = np.flatnonzero(~df["transaction_id"].duplicated(keep=False).to_numpy())
    rng = np.random.default_rng([seed, 7])
    edges = [(c, v) for c, values in CLEAN_EDGES.items() for v in values]
    rows = rng.choice(once, size=len(edges) + 1, replace=False)
    for row, (column, value) in zip(rows, edges):
        df.loc[df.index[row], column] = value
    # One replay more than the generator makes (a small table may have none): the same payment, seconds later.
    replay = df.iloc[[rows[-1]]].assign(timestamp=df["timestamp"].iloc[rows[-1]] + pd.Timedelta(seconds=7))
    df = pd.concat([df, replay], ignore_index=True)
    if order is not None:
        df = df.sample(frac=1.0, random_state=order).reset_index(drop=True)
        df = _a_replay_first(df)
    return df


def _a_replay_first(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with at least one replay placed before its original (swapping one pair if none is), so keeping
    the first copy in row order is wrong on every shuffled draw."""
    ts = df["timestamp"].to_numpy()
    positions = df.groupby("transaction_id", sort=True).indices  # row positions in df, per payment
    pairs = [(rows[0], rows[1]) for rows in positions.values() if len(rows) == 2 and ts[rows[0]] != ts[rows[1]]]
    if not pairs or any(ts[a] > ts[b] for a, b in pairs):
        return df
    a, b = pairs[0]
    swapped = np.arange(len(df))
    swapped[a], swapped[b] = b, a
    return df.iloc[swapped].reset_index(drop=True)


def clean_inputs(rng: np.random.Generator, shuffle: bool = False) -> dict:
    """A freshly damaged table, and how to rebuild its clean version (the size matters little: every kind of
    damage and every edge value is in each draw)."""
    n, seed = int(rng.integers(200, 260)), int(rng.integers(0, 100_000))
    order = int(rng.integers(0, 2**31)) if shuffle else None
    return {"df": _damaged_table(n, seed, order).copy(), "n_rows": n, "seed": seed, "order": order}


_clean_inputs_shuffled = functools.partial(clean_inputs, shuffle=True)


def _clean_origin(inputs: dict) -> dict:
    """The clean table a damaged one was made from: its payments and their amounts."""
    truth = _clean_table(inputs["n_rows"], inputs["seed"])
    return {"transaction_id": truth["transaction_id"].tolist(), "amount": truth["amount"].tolist()}


clean_transactions = Exercise(
    id="data.clean_transactions",
    title="Clean a table without dropping valid rows",
    points=4,
    answer=Function("clean_transactions"),
    tests=[
        holds("a freshly damaged table", clean_probe, clean_verdict, inputs=clean_inputs, expected=_clean_origin, public=True),
        holds("a freshly damaged table, rows shuffled", clean_probe, clean_verdict, inputs=_clean_inputs_shuffled, expected=_clean_origin),
    ],
    hints=(
        "Work in this order: duplicates first (so the statistics you impute with are not skewed by copies), then "
        "impossible values to NaN, then fill and flag. Work on a copy: the caller's frame must not change.",
        "Duplicates: `df.sort_values('timestamp').drop_duplicates('transaction_id')` removes exact copies and "
        "replays alike, keeping the earliest (and returns a new frame). Impossible values: "
        "`out.loc[out['amount'] <= 0, 'amount'] = np.nan`, and the same for ages outside data.CUSTOMER_AGES (both "
        "ends included) and negative account ages.",
        "For each of amount, customer_age, account_age_days: `flag = out[c].isna()`, then `out[c + '_imputed'] = "
        "flag.astype(int)` and `out[c] = out[c].fillna(out[c].median())`. For the text columns: `.fillna('unknown')`. "
        "Leave `chargeback_at` alone.",
    ),
    on_error={
        "TypeError": "Compare and fill numeric columns only; `chargeback_at` and the text columns need their own treatment.",
    },
)


# --------------------------------------------------------------------------
# data.fingerprint: a content hash for versioning
# --------------------------------------------------------------------------
#: The lesson's table size: far too many rows for pandas to print in full, so a
#: hash of the printed frame misses a change deep inside.
FINGERPRINT_ROWS = 20_000


def _large_fingerprint_inputs(rng: np.random.Generator) -> dict:
    """A 20 000-row frame (as its recipe) and a cent changed in a row pandas would not print."""
    n = FINGERPRINT_ROWS
    return {"n_rows": n, "seed": int(rng.integers(0, 2**31)), "row": int(rng.integers(n // 4, 3 * n // 4)),
            "col": int(rng.integers(0, 3)), "step": 0.01}


def _fine_fingerprint_inputs(rng: np.random.Generator) -> dict:
    """A small frame whose changed amount differs in the 8th significant digit, which printing rounds away."""
    n = int(rng.integers(20, 40))
    return {"n_rows": n, "seed": int(rng.integers(0, 2**31)), "row": int(rng.integers(0, n)), "col": 0, "step": 1e-7}


fingerprint = Exercise(
    id="data.fingerprint",
    title="Fingerprint a dataset",
    points=2,
    answer=Function("fingerprint"),
    tests=[
        holds("a 20 000-row frame and five variants of it", fingerprint_variants, fingerprint_verdict,
              inputs=_large_fingerprint_inputs, public=True),
        holds("a small frame whose changed value differs in the 8th digit", fingerprint_variants, fingerprint_verdict,
              inputs=_fine_fingerprint_inputs),
    ],
    hints=(
        "A fingerprint is a hash of everything that makes the data what it is: values, row order, column names, dtypes. "
        "`str(df)` is not everything: pandas prints only the first and last rows, rounded to 6 decimals.",
        "`hashlib.sha256()` takes bytes through `.update(...)`; `pd.util.hash_pandas_object(df, index=False)` gives one "
        "uint64 per row, and `.to_numpy().tobytes()` turns them into bytes.",
        "Also update the hash with the column names and dtypes, e.g. `str(list(df.dtypes.items())).encode()`, then "
        "return `h.hexdigest()`.",
    ),
    forbid=("mlcourse.data.validation.fingerprint", "validation.fingerprint"),
)


# --------------------------------------------------------------------------
# data.leaky_columns: name the columns that leak the label
# --------------------------------------------------------------------------
LEAKY = ["chargeback", "chargeback_at"]


def _has(name: str):
    return lambda got, a, exp: isinstance(got, list) and name in got


def _honest_named(got: Any, a: Any, exp: Any) -> str | None:
    """The first column the learner named that is known when the card is used, or None."""
    if not isinstance(got, list):
        return None
    honest = [c for c in got if c in _data.COLUMNS and c not in LEAKY and c != "is_fraud"]
    return honest[0] if honest else None


leaky_columns = Exercise(
    id="data.leaky_columns",
    title="Name the columns that leak the label",
    points=2,
    answer=Value("leaky_columns"),
    tests=[
        value_is(
            "your list of column names",
            lambda: sorted(LEAKY),
            probe=sorted_names,
            mistakes=[
                Mistake(_has("is_fraud"), "`is_fraud` is the label itself; the question is which *features* give it away."),
                Mistake(
                    _honest_named,
                    lambda got, a, exp: (
                        f"{_honest_named(got, a, exp)!r} is known when the card is used. A feature that predicts fraud "
                        "well is not leakage by itself: leakage is information that would not exist yet at prediction time."
                    ),
                ),
                Mistake(
                    lambda got, a, exp: isinstance(got, list) and "chargeback" in got and "chargeback_at" not in got,
                    "You found the flag. Its timestamp is recorded after the outcome too: anything known only after "
                    "prediction time leaks.",
                ),
                Mistake(
                    lambda got, a, exp: isinstance(got, list) and "chargeback_at" in got and "chargeback" not in got,
                    "You found the timestamp. The flag it belongs to is filled in by the same dispute, after the outcome.",
                ),
            ],
        ),
        # The visible check of a graded cohort: the list's form, never which columns. It weighs nothing and
        # comes last, so the full verdict's message is the one shown.
        holds("the form of your list", as_given, leaky_form_verdict, weight=0, public=True),
    ],
    hints=(
        "Ask of each column: would I know this value at the moment the card is swiped?",
        "Two columns are filled in only after a customer disputes the payment.",
    ),
)


# --------------------------------------------------------------------------
# data.leak_auc: what the leaky column is worth
# --------------------------------------------------------------------------
#: The honest features of the leak exercise: all known when the card is used.
LEAK_FEATURES = ["amount", "hour", "merchant_category", "channel", "account_age_days", "customer_age", "is_foreign"]
#: Every draw keeps each typical wrong answer at least this far from the reference (on one of the two numbers).
LEAK_SEPARATION = 0.005


def make_model() -> Any:
    """The lesson's simple model: one-hot encoded text, scaled numbers, logistic regression.

    The same definition appears in the lesson; the verdict uses this copy to
    compute the reference ROC-AUC.
    """
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_exclude="number")),
        remainder=StandardScaler(),
    )
    return make_pipeline(pre, LogisticRegression(max_iter=1000))


@functools.lru_cache(maxsize=128)
def _leak_split(n_rows: int, seed: int, drop: str) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """A time-ordered 70/30 split of a fresh table, and the honest features less ``drop`` (cached: read only)."""
    df = _data.make_transactions(n_rows, seed=seed)
    cut = int(len(df) * 0.7)
    keep = LEAK_FEATURES + ["chargeback", "is_fraud"]
    features = [c for c in LEAK_FEATURES if c != drop]
    return df[keep].iloc[:cut].reset_index(drop=True), df[keep].iloc[cut:].reset_index(drop=True), features


@functools.lru_cache(maxsize=128)
def leak_scores(n_rows: int, seed: int, drop: str) -> dict[str, tuple[float, float]]:
    """The reference pair ``"auc"`` and the pairs typical mistakes give, for one draw (cached)."""
    train, test = _leak_split(n_rows, seed, drop)[:2]
    features, leaky = _leak_split(n_rows, seed, drop)[2], ["chargeback"]
    both = pd.concat([train, test], ignore_index=True)
    y_train, y_test = train["is_fraud"].to_numpy(), test["is_fraud"].to_numpy()
    parts: dict[str, list[float]] = {k: [] for k in ("auc", "labels", "accuracy", "train", "class0", "all rows")}
    # Four small fits: one math-library thread is faster than several competing for a busy machine's cores.
    with one_thread():
        for cols in (features + leaky, features):
            # The Pipeline's steps one by one (what its fit and predict_proba do), so each table is encoded once.
            model = make_model()
            encode, classify = model[:-1], model[-1]
            X_train = encode.fit_transform(train[cols])
            classify.fit(X_train, y_train)
            X_test = encode.transform(test[cols])
            proba, labels = classify.predict_proba(X_test), classify.predict(X_test)
            parts["auc"].append(roc_auc(y_test, proba[:, 1]))
            parts["class0"].append(roc_auc(y_test, proba[:, 0]))
            parts["labels"].append(roc_auc(y_test, labels))
            parts["accuracy"].append(float(np.mean(labels == y_test)))
            parts["train"].append(roc_auc(y_train, classify.predict_proba(X_train)[:, 1]))
            everywhere = make_model().fit(both[cols], both["is_fraud"])
            parts["all rows"].append(roc_auc(y_test, everywhere.predict_proba(test[cols])[:, 1]))
    out = {k: (v[0], v[1]) for k, v in parts.items()}
    e_with, e_without = out["auc"]
    out["swapped"] = (e_without, e_with)
    out["not dropped"] = (e_with, e_with)
    return out


def _separated(scores: dict) -> bool:
    """Whether every typical mistake's pair is clearly apart from the reference pair."""
    return all(leak_distance(pair, scores["auc"]) >= LEAK_SEPARATION for name, pair in scores.items() if name != "auc")


def leak_inputs(rng: np.random.Generator) -> dict:
    """A fresh time-ordered train/test split, honest features (one left out at random) and the leak.

    A draw on which a typical mistake would land within reach of the right
    numbers (training rows scoring like test rows, say) is drawn again, so
    every draw tells every typical mistake from the right answer.
    """
    for _ in range(50):
        n_rows, seed = int(rng.integers(1_500, 1_900)), int(rng.integers(0, 100_000))
        drop = str(rng.choice(["customer_age", "is_foreign", "account_age_days"]))
        if _separated(leak_scores(n_rows, seed, drop)):
            break
    else:  # pragma: no cover - about one draw in ten is redrawn
        raise RuntimeError("no separated draw for data.leak_auc")
    train, test, features = _leak_split(n_rows, seed, drop)
    return {"train": train.copy(), "test": test.copy(), "features": list(features), "leaky": ["chargeback"],
            "recipe": [n_rows, seed, drop]}


def _leak_pairs(inputs: dict) -> dict[str, list[float]]:
    return {name: list(pair) for name, pair in leak_scores(*inputs["recipe"]).items()}


leak_auc = Exercise(
    id="data.leak_auc",
    title="Measure what the leaky column is worth",
    points=2,
    answer=Function("auc_with_and_without"),
    tests=[
        holds("the lesson's kind of split, on a fresh table", call_leak, leak_verdict, inputs=leak_inputs,
              expected=_leak_pairs, public=True),
    ],
    hints=(
        "Fit `make_model()` twice on `train`: once on `features + leaky`, once on `features` alone, with "
        "`train['is_fraud']` as the target.",
        "Score each on `test` with `roc_auc_score(test['is_fraud'], model.predict_proba(test[cols])[:, 1])`, then "
        "`return auc_with, auc_without`.",
    ),
    on_error={
        "KeyError": "Use the column lists you are given: `features + leaky` for the first model, `features` for the second.",
        "ValueError": "A model takes the feature columns only: leave `is_fraud` out of X and pass it as y.",
    },
)


# --------------------------------------------------------------------------
# data.time_split: the past trains, the future tests
# --------------------------------------------------------------------------
def _time_table(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """A small table of ``n`` payments with distinct timestamps, in random row order (index labels kept)."""
    seconds = rng.choice(90 * 86_400, size=n, replace=False)
    df = pd.DataFrame(
        {
            "transaction_id": [f"T{i:07d}" for i in rng.permutation(n) + 1],
            "timestamp": pd.Timestamp("2026-01-01") + pd.to_timedelta(np.sort(seconds), unit="s"),
            "amount": rng.lognormal(3.5, 0.9, n).round(2),
            "is_fraud": (rng.random(n) < 0.1).astype("int64"),
        }
    )
    return df.iloc[rng.permutation(n)]


def time_split_inputs(rng: np.random.Generator) -> tuple[pd.DataFrame, float]:
    """A fresh table in random row order, and a test fraction whose share of rows ends in .6 to .9 of a row
    (so rounding and cutting the fraction off give different sizes on every draw)."""
    fraction = float(rng.choice([0.2, 0.25, 0.3, 0.4]))
    n = int(rng.integers(40, 90))
    while (n * fraction) % 1 < 0.6:
        n += 1
    return _time_table(rng, n), fraction


def _no_test_rows_inputs(rng: np.random.Generator) -> tuple[pd.DataFrame, float]:
    """A fresh table and a test fraction that rounds to no test rows (n x fraction < 0.5)."""
    n = int(rng.integers(20, 45))
    return _time_table(rng, n), float(rng.choice([0.005, 0.01]))


time_split = Exercise(
    id="data.time_split",
    title="Split by time: the past trains, the future tests",
    points=2,
    answer=Function("time_split"),
    tests=[
        holds("a fresh table in random row order", call_keeping_inputs, time_split_verdict, inputs=time_split_inputs,
              weight=3, public=True),
        holds("a test_fraction that rounds to no test rows", call_keeping_inputs, time_split_verdict,
              inputs=_no_test_rows_inputs),
    ],
    hints=(
        "The rows may arrive in any order: sort them by `timestamp` first (into a new frame: leave `df` as it is).",
        "`ordered = df.sort_values('timestamp')`; `n_test = round(len(df) * test_fraction)`; `cut = len(df) - n_test`; "
        "then `ordered.iloc[:cut]` trains and `ordered.iloc[cut:]` tests. (`ordered.iloc[-n_test:]` goes wrong when "
        "n_test is 0: `-0` is 0, the whole frame.)",
    ),
)


# --------------------------------------------------------------------------
# data.features_match: a parity test between offline and online features
# --------------------------------------------------------------------------
#: UTC offsets (hours) of the countries, for serving requests in local time.
UTC_OFFSET = {"US": -5, "CA": -5, "MX": -6, "GB": 0, "DE": 1, "FR": 1, "ES": 1, "NL": 1}
#: Payments in every draw (UTC time, country, amount): amounts whose two computations differ
#: only by float rounding (about 1e-16), and local times on the other side of 6 am from their UTC time.
SKEW_EDGES: tuple[tuple[str, str, float], ...] = (
    ("2026-04-03 05:30:00", "DE", 19.99),  # 06:30 local: night in UTC only
    ("2026-04-09 05:30:00", "MX", 63.2),  # 23:30 local the day before: night in UTC only
    ("2026-04-15 10:10:00", "US", 120.0),  # 05:10 local: night in local time only
    ("2026-04-21 14:00:00", "GB", 7.77),
)


def skew_records(rng: np.random.Generator, n: int) -> list[dict]:
    """Payments as a serving API receives them: JSON, local time with its UTC offset.

    :data:`SKEW_EDGES` and three amounts above 1 000 are in every draw, at random places.
    """
    countries = rng.choice(sorted(UTC_OFFSET), n).tolist()
    utc = list(pd.Timestamp("2026-04-01") + pd.to_timedelta(rng.integers(0, 30 * 86_400, n), unit="s"))
    amount = rng.lognormal(3.7, 1.0, n).round(2)
    amount[rng.choice(n, size=3, replace=False)] = rng.uniform(1_500, 9_000, 3).round(2)
    amount = amount.tolist()
    for i, (when, country, value) in zip(rng.choice(n, size=len(SKEW_EDGES), replace=False), SKEW_EDGES):
        utc[i], countries[i], amount[i] = pd.Timestamp(when), country, value
    records = []
    for i in range(n):
        off = UTC_OFFSET[countries[i]]
        local = (utc[i] + pd.Timedelta(hours=off)).isoformat()
        records.append({
            "transaction_id": f"T{9_000_001 + i}",
            "amount": float(amount[i]),
            "timestamp": f"{local}{off:+03d}:00",
            "country": countries[i],
        })
    return records


def reference_features_match(offline_fn: Any, online_fn: Any, records: list, tol: float = 1e-6) -> dict:
    """The expected answer: {feature: number of records where the two sides disagree}."""
    return _disagreements(*_both_sides(offline_fn, online_fn, records), tol)


def _both_sides(offline_fn: Any, online_fn: Any, records: list) -> tuple[dict[Any, list], list[dict]]:
    """The offline features of ``records`` (as one list a column) and the online ones (one dict a record)."""
    off = offline_fn(pd.DataFrame.from_records(records)).reset_index(drop=True)
    return {name: off[name].tolist() for name in off.columns}, [online_fn(r) for r in records]


def _disagreements(off: dict[Any, list], on: list[dict], tol: float) -> dict:
    names = list(off) + [k for r in on for k in r if k not in off]
    out = {}
    for name in dict.fromkeys(names):
        bad = 0
        for i, r in enumerate(on):
            if name not in off or name not in r:
                bad += 1
            elif not abs(float(off[name][i]) - float(r[name])) <= tol:
                bad += 1
        if bad:
            out[str(name)] = bad
    return out


def _skew_inputs(pair: str):
    def inputs(rng: np.random.Generator) -> dict:
        return {"pair": pair, "records": skew_records(rng, int(rng.integers(30, 60)))}

    return inputs


def _parity(inputs: dict) -> dict:
    """The right parity report, and the one a comparison without tolerance gives."""
    off, on = _both_sides(offline_features, ONLINE[inputs["pair"]], inputs["records"])  # computed once for both
    return {"counts": _disagreements(off, on, 1e-6), "exact": _disagreements(off, on, 0.0)}


features_match = Exercise(
    id="data.features_match",
    title="A parity test for offline and online features",
    points=3,
    answer=Function("features_match"),
    tests=[
        holds("serving code that agrees (up to float rounding)", skew_probe, skew_verdict, inputs=_skew_inputs("agrees"), expected=_parity,
              public=True),
        holds("serving code that reads the local hour", skew_probe, skew_verdict, inputs=_skew_inputs("local hour"), expected=_parity),
        holds("serving code that caps large amounts", skew_probe, skew_verdict, inputs=_skew_inputs("clamped amounts"), expected=_parity),
        holds("serving code with a renamed feature", skew_probe, skew_verdict, inputs=_skew_inputs("renamed feature"), expected=_parity),
    ],
    hints=(
        "Compute both sides once: `off = offline_fn(pd.DataFrame.from_records(records))` and "
        "`on = [online_fn(r) for r in records]`. Row i of `off` and `on[i]` describe the same payment.",
        "Loop over every feature name either side produces (`off.columns` and the keys of the online dicts); a "
        "feature missing on one side disagrees on every record.",
        "Two numbers agree when `abs(a - b) <= 1e-6`. Count the disagreeing records per feature and keep only "
        "the features with a count above zero.",
    ),
    on_error={
        "KeyError": "A feature may exist on one side only: check `name in record` before looking it up, and count it "
        "as a disagreement on every record.",
    },
)
