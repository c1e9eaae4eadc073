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

This module is the lesson's answer key; what the grading child runs is in
:mod:`mlcourse.exercises.data.probes`.
"""
from __future__ import annotations

import base64
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlcourse import data as _data
from mlcourse.exercises.compare import Compare, show
from mlcourse.exercises.data.probes import (
    ONLINE,
    clean_probe,
    fingerprint_variants,
    join_probe,
    offline_features,
    skew_probe,
    sorted_names,
)
from mlcourse.exercises.engine import Exercise, Function, Mistake, Value, holds, returns, value_is
from mlcourse.exercises.plain import TAG, from_plain, kind
from mlcourse.exercises.probes import call


def _frame(plain: Any) -> pd.DataFrame | None:
    """The learner's DataFrame rebuilt from plain data, or None if it is not one."""
    if not (isinstance(plain, dict) and plain.get(TAG) == "DataFrame"):
        return None
    return from_plain(plain)


def _names(items: Any) -> str:
    return ", ".join(repr(str(i)) for i in items)


def _py(value: Any) -> Any:
    """A value as the learner would print it: numpy scalars as Python ones, floats rounded to 6 digits."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, 6)
    return value


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


# --------------------------------------------------------------------------
# data.join_sources: three raw sources, one typed table
# --------------------------------------------------------------------------
_DATETIME = ("timestamp", "chargeback_at")
_INTEGER = ("hour", "account_age_days", "customer_age", "is_foreign", "is_fraud", "chargeback")
_FLOAT = ("amount",)
_DERIVED = {
    "hour": "the hour of `timestamp`",
    "account_age_days": "whole days from the account's `opened_at` to the payment's date",
    "is_foreign": "1 when the payment's `country` differs from the account's `home_country`",
}


def join_inputs(rng: np.random.Generator) -> dict:
    """A fresh set of sources: its size and seed, and the three files' bytes (base64), which the probe writes.

    The files are made here, where the verdict runs: writing them calls the
    package's join, which the exercise forbids while its probe runs.
    """
    n_rows, seed = int(rng.integers(150, 400)), int(rng.integers(0, 100_000))
    folder = tempfile.mkdtemp(prefix="mlcourse-sources-")
    try:
        paths = _data.write_sources(folder, n_rows=n_rows, seed=seed)
        files = {key: (Path(p).name, base64.b64encode(Path(p).read_bytes()).decode("ascii")) for key, p in paths.items()}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"n_rows": n_rows, "seed": seed, "files": files}


def reference_join(n_rows: int, seed: int) -> pd.DataFrame:
    """The expected table: :func:`mlcourse.data.load_sources` on the same sources."""
    folder = tempfile.mkdtemp(prefix="mlcourse-reference-")
    try:
        return _data.load_sources(_data.write_sources(folder, n_rows=n_rows, seed=seed))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _dtype_problem(column: str, dtype: str, values: pd.Series) -> str | None:
    """What is wrong with a column's storage type, for the learner."""
    if column in _DATETIME:
        if dtype.startswith("datetime64") and "," not in dtype:
            return None
        if dtype.startswith("datetime64"):
            return f"`{column}` carries a time zone ({dtype}); the sources' timestamps are plain (naive) times: parse them without utc=True"
        return (
            f"`{column}` is {dtype}, not a datetime: parse it with pd.to_datetime (the event log stores ISO-8601 "
            "text, and JSON has no date type)"
        )
    if column in _INTEGER:
        if dtype.startswith(("int", "Int", "uint", "UInt")):
            return None
        if dtype in ("bool", "boolean"):
            return f"`{column}` holds True/False; store 0/1 integers like the other flags (`.astype(int)`)"
        if dtype.startswith(("float", "Float")):
            frac = values.dropna()
            frac = frac[frac % 1 != 0]
            if column == "account_age_days" and len(frac):
                return (
                    f"`account_age_days` holds fractions of days (e.g. {frac.iloc[0]:.3f}); count whole days: "
                    "(payment date - opened_at).dt.days"
                )
            return f"`{column}` is {dtype}; it holds whole numbers, so store it as integers"
        return f"`{column}` is {dtype}; expected integers"
    if column in _FLOAT:
        return None if dtype.startswith(("float", "Float")) else f"`{column}` is {dtype}; expected floats"
    if dtype in ("str", "string", "object", "category") or dtype.startswith("string"):
        return None
    return f"`{column}` is {dtype}; expected text"


def _join_verdict(got: Any, inputs: dict) -> str | None:
    expected = reference_join(inputs["n_rows"], inputs["seed"])
    frame = _frame(got)
    if frame is None:
        return f"join_sources must return a pandas DataFrame, got {kind(got)} ({show(got)})"
    cols = [str(c) for c in frame.columns]
    missing = [c for c in _data.COLUMNS if c not in cols]
    extra = [c for c in cols if c not in _data.COLUMNS]
    if any(c.endswith(("_x", "_y")) for c in extra):
        return (
            f"the table has suffixed columns {_names(c for c in extra if c.endswith(('_x', '_y')))}: two sources share "
            "a column name besides the key; join on the key only and keep one copy of each column"
        )
    derived = [c for c in missing if c in _DERIVED]
    if derived:
        how = "; ".join(f"`{c}` is {_DERIVED[c]}" for c in derived)
        return f"the table lacks {_names(derived)}, which no source stores: derive them in the join ({how})"
    if missing:
        return f"the table lacks the columns {_names(missing)} (it needs exactly the columns of data.COLUMNS)"
    if extra:
        return (
            f"the table has extra columns {_names(extra)}: drop the helper columns once the derived ones are computed "
            "(the table has exactly the columns of data.COLUMNS, in any order)"
        )
    if frame.columns.duplicated().any():
        return "the table has a column name twice"
    n_exp, n_got = len(expected), len(frame)
    ids = frame["transaction_id"]
    if n_got > n_exp:
        orphans = int(ids.isna().sum())
        if orphans:
            return (
                f"expected {n_exp} rows (one per transaction), got {n_got}: {orphans} rows have no transaction. "
                "You joined from a reference table (or used an outer join): start from the transactions and "
                "left-join the accounts and the merchants, which also hold rows no payment references"
            )
        return (
            f"expected {n_exp} rows (one per transaction), got {n_got}: the join multiplied rows. Join each "
            "reference table on its unique key (account_id, merchant_id)"
        )
    if n_got < n_exp:
        return (
            f"expected {n_exp} rows (one per transaction), got {n_got}: {n_exp - n_got} transactions were lost in the "
            "join. An inner join drops a payment whose key finds no match: left-join from the transactions, and make "
            "sure the keys have the same type on both sides"
        )
    if ids.duplicated().any() or set(ids) != set(expected["transaction_id"]):
        return "the transaction_id values are not those of the event log (each payment must appear once)"
    for c in _data.COLUMNS:
        problem = _dtype_problem(c, str(frame[c].dtype), frame[c])
        if problem:
            return problem
    g = frame.set_index("transaction_id").loc[expected["transaction_id"]]
    e = expected.set_index("transaction_id")
    for c in _data.COLUMNS[1:]:
        gv, ev = g[c], e[c]
        if c in _DATETIME:
            same = (pd.to_datetime(gv).to_numpy() == ev.to_numpy()) | (gv.isna().to_numpy() & ev.isna().to_numpy())
        elif c in _FLOAT:
            same = np.isclose(gv.astype(float).to_numpy(), ev.to_numpy(), rtol=0, atol=1e-9)
        elif c in _INTEGER:
            same = gv.astype("float64").to_numpy() == ev.astype("float64").to_numpy()
        else:
            same = gv.astype(object).to_numpy() == ev.astype(object).to_numpy()
        same = np.asarray(same, dtype=bool)
        if same.all():
            continue
        bad = np.flatnonzero(~same)
        i = bad[0]
        where = (
            f"`{c}` differs in {len(bad)} of {n_exp} rows; first at transaction {e.index[i]}: "
            f"expected {_py(ev.iloc[i])!r}, got {_py(gv.iloc[i])!r}"
        )
        if c == "account_age_days":
            diff = gv.astype("float64").to_numpy() - ev.astype("float64").to_numpy()
            if np.all(diff[bad] == 1):
                return f"{where}. Off by one: count the days between the opening date and the payment's date, not both ends"
            if np.allclose(gv.astype("float64").to_numpy(), -ev.astype("float64").to_numpy()):
                return f"{where}. The sign is flipped: it is the payment's date minus opened_at"
            return (
                f"{where}. It is the number of whole days from opened_at to the payment's date: "
                "(timestamp.dt.normalize() - opened_at).dt.days"
            )
        if c == "is_foreign" and np.all(gv.astype(float).to_numpy() == 1 - ev.astype(float).to_numpy()):
            return f"{where}. It is backwards: 1 means the payment's country differs from the home country"
        if c == "hour":
            return f"{where}. Take the hour from the payment's timestamp (`.dt.hour`)"
        if c in ("customer_age", "merchant_category", "account_id", "merchant_id"):
            return f"{where}. Join each payment to its own account and merchant by id (`on='account_id'`, `on='merchant_id'`)"
        return where
    return None


join_sources = Exercise(
    id="data.join_sources",
    title="Join three raw sources into one typed table",
    points=3,
    answer=Function("join_sources"),
    tests=[
        holds("the sources of a fresh table", join_probe, _join_verdict, inputs=join_inputs),
        holds("the sources of another fresh table", join_probe, _join_verdict, inputs=join_inputs),
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
RULES = ("missing_column", "nullable", "min", "max", "allowed")


def reference_violations(df: pd.DataFrame, schema: dict) -> pd.DataFrame:
    """The expected answer, computed with :func:`mlcourse.data.validation.validate`."""
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
    return pd.DataFrame(sorted(rows), columns=["column", "rule", "count"])


_SCHEMA = {
    "amount": {"nullable": False, "min": 0.01},
    "customer_age": {"nullable": False, "min": 18, "max": 100},
    "channel": {"nullable": False, "allowed": ["chip", "contactless", "online", "swipe"]},
    "country": {"nullable": True},
    "merchant_id": {"nullable": False},
}


def violation_inputs(rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    """A random transactions-like frame with known problems, and its schema."""
    n = int(rng.integers(30, 60))
    df = pd.DataFrame(
        {
            "amount": rng.lognormal(3.5, 0.8, n).round(2),
            "customer_age": rng.integers(18, 90, n).astype(float),
            "channel": rng.choice(["chip", "contactless", "online", "swipe"], n).astype(object),
            "country": rng.choice(["US", "GB", "DE"], n).astype(object),
        }
    )
    pick = lambda k: rng.choice(n, size=k, replace=False)  # noqa: E731
    df.loc[pick(int(rng.integers(1, 4))), "amount"] = np.nan
    df.loc[pick(int(rng.integers(1, 4))), "amount"] = -rng.uniform(1, 50)
    df.loc[pick(int(rng.integers(1, 3))), "customer_age"] = float(rng.choice([5, 150, 200]))
    df.loc[pick(int(rng.integers(1, 4))), "channel"] = rng.choice(["Chip", "ONLINE ", "atm"])
    df.loc[pick(2), "country"] = None
    return df, dict(_SCHEMA)


def _fixed_violation_inputs(rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    df = pd.DataFrame(
        {
            "amount": [12.5, -3.0, None, 40.0],
            "customer_age": [34, 17, 45, 230],
            "channel": ["chip", "Chip", "online", "swipe"],
            "country": ["US", None, "GB", "US"],
        }
    )
    return df, dict(_SCHEMA)


def _count_rows(plain: Any) -> int:
    if isinstance(plain, dict) and plain.get(TAG) == "DataFrame":
        return len(plain.get("index", []))
    return -1


def _rules_seen(plain: Any) -> set:
    if isinstance(plain, dict) and plain.get(TAG) == "DataFrame" and "rule" in plain.get("columns", []):
        return set(plain["data"][plain["columns"].index("rule")])
    return set()


_ONLY_FIRST = Mistake(
    lambda got, a, exp: _count_rows(got) == 1 and _count_rows(exp) > 1,
    "You reported a single violation; keep going after the first problem and report all of them.",
)
_NO_MISSING_COLUMN = Mistake(
    lambda got, a, exp: "missing_column" in _rules_seen(exp) and "missing_column" not in _rules_seen(got),
    "A column named in the schema but absent from the frame is a violation too (rule 'missing_column').",
)


def _counts(plain: Any) -> dict:
    """{(column, rule): count} from a plain violations frame."""
    if not (isinstance(plain, dict) and plain.get(TAG) == "DataFrame"):
        return {}
    cols = plain.get("columns", [])
    if not all(c in cols for c in ("column", "rule", "count")):
        return {}
    data = dict(zip(cols, plain["data"]))
    return {(c, r): n for c, r, n in zip(data["column"], data["rule"], data["count"])}


def _nan_counted_as_out_of_range(got: Any, a: Any, exp: Any) -> bool:
    g, e = _counts(got), _counts(exp)
    for (col, rule), n in g.items():
        if rule in ("min", "max") and n != e.get((col, rule), 0) and n == e.get((col, rule), 0) + e.get((col, "nullable"), 0):
            return True
    return False


_NAN_AS_MIN = Mistake(
    _nan_counted_as_out_of_range,
    "Check the counts: a missing value is a 'nullable' problem only, not a value out of range.",
)

find_violations = Exercise(
    id="data.find_violations",
    title="Report every schema violation",
    points=3,
    answer=Function("find_violations"),
    tests=[
        returns(
            "the small example frame",
            _fixed_violation_inputs,
            reference_violations,
            compare=Compare(ignore_order=True),
            mistakes=[_ONLY_FIRST, _NO_MISSING_COLUMN, _NAN_AS_MIN],
        ),
        returns(
            "a fresh random frame",
            violation_inputs,
            reference_violations,
            compare=Compare(ignore_order=True),
            mistakes=[_ONLY_FIRST, _NO_MISSING_COLUMN, _NAN_AS_MIN],
        ),
    ],
    hints=(
        "Loop over the schema's columns; for each rule present in its dict, count the offending values and append "
        "(column, rule, count) when the count is above zero.",
        "Missing values: `df[col].isna().sum()`. Bounds: compare only the values that are present, e.g. "
        "`(df[col].dropna() < rules['min']).sum()`. Allowed values: `~df[col].dropna().isin(rules['allowed'])`.",
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
#: Numeric columns the cleaning repairs, with the range of possible values.
CLEAN_RANGES: dict[str, tuple[float, float]] = {
    "amount": (0.0, math.inf),  # strictly positive
    "customer_age": (18, 90),
    "account_age_days": (0, math.inf),
}
#: Text columns whose missing values become "unknown".
CLEAN_TEXT = ("merchant_category", "country", "channel")
#: The flag column cleaning adds for each repaired numeric column.
CLEAN_FLAGS = {c: f"{c}_imputed" for c in CLEAN_RANGES}


def _bad_values(df: pd.DataFrame, column: str) -> pd.Series:
    """True where a numeric value is missing or impossible."""
    s = pd.to_numeric(df[column], errors="coerce")
    lo, hi = CLEAN_RANGES[column]
    if column == "amount":
        return s.isna() | (s <= 0)
    return s.isna() | (s < lo) | (s > hi)


def clean_inputs(rng: np.random.Generator, shuffle: bool = False) -> dict:
    """A freshly damaged table, and how to rebuild its clean version."""
    n, seed = int(rng.integers(2_000, 2_600)), int(rng.integers(0, 100_000))
    df = _data.make_transactions(n, seed=seed, missing=True, duplicates=True, outliers=True)
    df.attrs = {}
    if shuffle:
        df = df.sample(frac=1.0, random_state=int(rng.integers(0, 2**31))).reset_index(drop=True)
    return {"df": df, "n_rows": n, "seed": seed}


def _clean_inputs_shuffled(rng: np.random.Generator) -> dict:
    return clean_inputs(rng, shuffle=True)


def _clean_verdict(got: Any, inputs: dict) -> str | None:
    dirty: pd.DataFrame = inputs["df"]
    truth = _data.make_transactions(inputs["n_rows"], seed=inputs["seed"])
    out = _frame(got)
    if out is None:
        return f"clean_transactions must return the cleaned DataFrame, got {kind(got)} ({show(got)})"
    missing = [c for c in _data.COLUMNS if c not in out.columns]
    if missing:
        return f"the cleaned table lacks the columns {_names(missing)}; keep every original column"

    # Rows: one per real payment, every valid payment kept.
    ids = out["transaction_id"].astype(object)
    counts = ids.value_counts()
    repeated = counts[counts > 1]
    if len(repeated):
        first = repeated.index[0]
        rows = out[ids == first]
        same = len(rows.drop_duplicates()) == 1
        what = "exact copies" if same else "replays: same id, a few seconds later"
        return (
            f"{len(repeated)} transaction_id values still appear more than once, e.g. {first!r} ({what}). "
            "A payment is identified by its transaction_id: keep one row per id, the earliest"
        )
    want = set(truth["transaction_id"])
    have = set(ids.dropna())
    lost = want - have
    if lost:
        lost_rows = dirty[dirty["transaction_id"].isin(lost)].drop_duplicates("transaction_id")
        share = len(lost) / len(want)
        feature_cols = [c for c in _data.COLUMNS if c != "chargeback_at"]
        had_gap = lost_rows[feature_cols].isna().any(axis=1)
        impossible = _bad_values(lost_rows, "amount") & lost_rows["amount"].notna()
        impossible |= _bad_values(lost_rows, "customer_age") & lost_rows["customer_age"].notna()
        big = truth.set_index("transaction_id")["amount"]
        extreme = lost_rows["amount"].to_numpy(dtype=float) > 50 * big.loc[lost_rows["transaction_id"]].to_numpy()
        head = f"{len(lost)} of {len(want)} valid payments were dropped ({share:.0%})"
        if share > 0.5:
            return (
                f"{head}. `chargeback_at` is empty by design for every payment nobody disputed: a blanket "
                "dropna() throws away almost the whole table. Repair values instead of dropping rows"
            )
        if had_gap.all():
            return f"{head}, all of them rows with a missing value. Fill the gap (and flag it) instead of dropping the row"
        if impossible.all():
            return (
                f"{head}, all of them rows with an impossible value. The rest of such a row is a real payment: "
                "set the impossible value to missing, then impute and flag it"
            )
        if np.all(extreme | had_gap.to_numpy() | impossible.to_numpy()) and extreme.any():
            return (
                f"{head}, including {int(extreme.sum())} with very large amounts. A large amount is possible (and "
                "in fraud it is signal): keep it"
            )
        return f"{head}, e.g. {sorted(lost)[0]!r}; only duplicate rows may be removed"
    unknown = have - want
    if unknown or ids.isna().any():
        return "the cleaned table has rows whose transaction_id is not in the input"

    # Align with the earliest input row of each payment.
    first = dirty.sort_values("timestamp", kind="stable").drop_duplicates("transaction_id").set_index("transaction_id")
    o = out.assign(transaction_id=ids).set_index("transaction_id").loc[first.index]
    ts_got = pd.to_datetime(o["timestamp"]).to_numpy()
    later = int((ts_got != first["timestamp"].to_numpy()).sum())
    if later:
        return (
            f"for {later} replayed payments you kept a later copy: the replay arrives seconds after the original "
            "(sort by timestamp and keep the first row of each transaction_id)"
        )

    flags = [c for c in CLEAN_FLAGS.values() if c not in out.columns]
    if flags:
        return (
            f"the cleaned table lacks the flag columns {_names(flags)}: add one per repaired numeric column, "
            "1 where the value was missing or impossible (and so was filled in), else 0"
        )

    # No gaps left, except in chargeback_at, where empty is a fact.
    if o["chargeback_at"].notna().sum() != first["chargeback_at"].notna().sum():
        return "`chargeback_at` changed: it is empty by design for payments nobody disputed, so leave it as it is"
    for c in _data.COLUMNS:
        if c in ("transaction_id", "chargeback_at"):
            continue
        n_gap = int(o[c].isna().sum())
        if n_gap:
            return f"`{c}` still has {n_gap} missing values; fill every gap in the feature columns"

    # Impossible values repaired, possible ones left alone.
    for c, (lo, hi) in CLEAN_RANGES.items():
        v = pd.to_numeric(o[c], errors="coerce").astype(float)
        bad = (v <= 0) if c == "amount" else ((v < lo) | (v > hi))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            return (
                f"`{c}` still holds {int(bad.sum())} impossible values (e.g. {v.iloc[i]:g}); a value outside "
                f"{'(0, inf)' if c == 'amount' else f'[{lo}, {hi:g}]'} is an error: set it to missing, then impute and flag it"
            )
    for c in _data.COLUMNS:
        if c in ("transaction_id", "timestamp", "chargeback_at"):
            continue
        if c in CLEAN_RANGES:
            valid = ~_bad_values(first, c)
        else:
            valid = first[c].notna()
        g = o[c][valid.to_numpy()]
        e = first[c][valid.to_numpy()]
        if c in CLEAN_RANGES or c in _INTEGER:
            same = np.isclose(pd.to_numeric(g, errors="coerce").astype(float).to_numpy(), e.astype(float).to_numpy(), rtol=1e-9, atol=1e-9)
        else:
            same = g.astype(object).to_numpy() == e.astype(object).to_numpy()
        same = np.asarray(same, dtype=bool)
        if not same.all():
            n_bad = int((~same).sum())
            i = int(np.flatnonzero(~same)[0])
            msg = (
                f"{n_bad} valid values of `{c}` were changed (e.g. {e.index[i]}: {_py(e.iloc[i])!r} became {_py(g.iloc[i])!r})"
            )
            if c == "amount":
                big = e.astype(float).to_numpy()[~same]
                if np.all(big >= np.nanpercentile(e.astype(float).to_numpy(), 90)):
                    return (
                        f"{msg}. Those are large but possible amounts: clipping them hides the very payments a "
                        "fraud model most needs to see. Only impossible values are repaired"
                    )
            return f"{msg}. Cleaning repairs missing and impossible values only"
    for c, flag in CLEAN_FLAGS.items():
        expected_flag = _bad_values(first, c).to_numpy()
        got_flag = pd.to_numeric(o[flag].astype(object), errors="coerce").to_numpy(dtype=float)
        if np.isnan(got_flag).any() or not np.isin(got_flag, (0.0, 1.0)).all():
            return f"`{flag}` must hold 0/1 (or True/False), one per row"
        wrong = got_flag != expected_flag.astype(float)
        if wrong.any():
            only_nan = first[c].isna().to_numpy()
            if np.array_equal(got_flag.astype(bool), only_nan) and (expected_flag & ~only_nan).any():
                return (
                    f"`{flag}` marks the missing values but not the impossible ones you repaired: a value you "
                    "filled in is imputed whatever the reason"
                )
            return (
                f"`{flag}` is wrong on {int(wrong.sum())} rows: it is 1 exactly where `{c}` was missing or impossible "
                "in the input (and so was filled in)"
            )
        v = pd.to_numeric(o[c], errors="coerce").astype(float).to_numpy()
        ok = first[c][~expected_flag].astype(float)
        lo, hi = float(ok.min()), float(ok.max())
        filled = v[expected_flag]
        if len(filled) and ((filled < lo) | (filled > hi)).any():
            return (
                f"imputed `{c}` values fall outside the range of the valid ones ([{lo:g}, {hi:g}]), e.g. "
                f"{filled[(filled < lo) | (filled > hi)][0]:g}: fill with a typical valid value such as the median"
            )
    for c in CLEAN_TEXT:
        gap = first[c].isna().to_numpy()
        got_fill = o[c].astype(object).to_numpy()[gap]
        if len(got_fill) and not np.all(got_fill == "unknown"):
            i = int(np.flatnonzero(got_fill != "unknown")[0])
            return (
                f"missing `{c}` values should become the label 'unknown' (got {got_fill[i]!r}): "
                "guessing the most frequent label hides that the value was missing"
            )
    return None


clean_transactions = Exercise(
    id="data.clean_transactions",
    title="Clean a table without dropping valid rows",
    points=4,
    answer=Function("clean_transactions"),
    tests=[
        holds("a freshly damaged table", clean_probe, _clean_verdict, inputs=clean_inputs),
        holds("a freshly damaged table, rows shuffled", clean_probe, _clean_verdict, inputs=_clean_inputs_shuffled),
    ],
    hints=(
        "Work in this order: duplicates first (so the statistics you impute with are not skewed by copies), then "
        "impossible values to NaN, then fill and flag.",
        "Duplicates: `df.sort_values('timestamp').drop_duplicates('transaction_id')` removes exact copies and "
        "replays alike, keeping the earliest. Impossible values: `df.loc[df['amount'] <= 0, 'amount'] = np.nan`, "
        "and the same for ages outside 18-90 and negative account ages.",
        "For each of amount, customer_age, account_age_days: `flag = df[c].isna()`, then `df[c + '_imputed'] = "
        "flag.astype(int)` and `df[c] = df[c].fillna(df[c].median())`. For the text columns: `.fillna('unknown')`. "
        "Leave `chargeback_at` alone.",
    ),
    on_error={
        "TypeError": "Compare and fill numeric columns only; `chargeback_at` and the text columns need their own treatment.",
    },
)


# --------------------------------------------------------------------------
# data.fingerprint: a content hash for versioning
# --------------------------------------------------------------------------
def fingerprint_inputs(rng: np.random.Generator) -> tuple[pd.DataFrame, int, int]:
    n = int(rng.integers(20, 40))
    df = pd.DataFrame(
        {
            "amount": rng.lognormal(3, 1, n).round(2),
            "hour": rng.integers(0, 24, n),
            "channel": rng.choice(["chip", "online", "swipe"], n).astype(object),
        }
    )
    return df, int(rng.integers(0, n)), int(rng.integers(0, 3))


_FINGERPRINT_WHY = {
    "one value changed": "hash every value, not only the shape or the column names",
    "a column renamed": "include the column names in what you hash",
    "a dtype changed": "include the dtypes (1 and 1.0 are different data to a model)",
    "rows reordered": "hash the rows in order (pandas.util.hash_pandas_object gives one hash per row)",
}


def _fingerprint_verdict(got: Any, inputs: tuple) -> str | None:
    if not isinstance(got, dict) or "original" not in got:
        return "the check could not read your fingerprints"
    values = {k: v for k, v in got.items() if k != "cell"}
    bad = [k for k, v in values.items() if type(v) is not str]
    if bad:
        return f"fingerprint must return a string (a hex digest), got {values[bad[0]]!r}"
    if values["original"] != values["copy"]:
        return (
            "two equal frames got different fingerprints: the hash must depend only on the content "
            "(don't hash id(), object reprs with addresses, or use a random salt)"
        )
    for variant, why in _FINGERPRINT_WHY.items():
        if values[variant] == values["original"]:
            cell = got.get("cell", ["?", "?"])
            where = f" (row {cell[0]}, column {cell[1]!r})" if variant == "one value changed" else ""
            return f"with {variant}{where} the fingerprint did not change: {why}"
    return None


fingerprint = Exercise(
    id="data.fingerprint",
    title="Fingerprint a dataset",
    points=2,
    answer=Function("fingerprint"),
    tests=[holds("a random frame and five variants of it", fingerprint_variants, _fingerprint_verdict, inputs=fingerprint_inputs)],
    hints=(
        "A fingerprint is a hash of everything that makes the data what it is: values, row order, column names, dtypes.",
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
                    lambda got, a, exp: isinstance(got, list) and "chargeback" in got and "chargeback_at" not in got,
                    "You found the flag. Its timestamp is recorded after the outcome too: anything known only after "
                    "prediction time leaks.",
                ),
                Mistake(
                    lambda got, a, exp: isinstance(got, list) and any(c in got for c in ("amount", "hour", "is_foreign", "channel")),
                    "A feature that predicts fraud well is not leakage by itself: leakage is information that would not "
                    "exist yet at prediction time.",
                ),
            ],
        )
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


def leak_inputs(rng: np.random.Generator) -> tuple:
    """A fresh time-ordered train/test split, honest features (one left out at random) and the leak."""
    df = _data.make_transactions(int(rng.integers(3_000, 3_600)), seed=int(rng.integers(0, 100_000)))
    drop = str(rng.choice(["customer_age", "is_foreign", "account_age_days"]))
    features = [c for c in LEAK_FEATURES if c != drop]
    cut = int(len(df) * 0.7)
    keep = LEAK_FEATURES + ["chargeback", "is_fraud"]
    train = df[keep].iloc[:cut].reset_index(drop=True)
    test = df[keep].iloc[cut:].reset_index(drop=True)
    return train, test, features, ["chargeback"]


def _leak_scores(train: pd.DataFrame, test: pd.DataFrame, features: list, leaky: list) -> dict:
    """Reference numbers and the numbers typical mistakes give."""
    from sklearn.metrics import accuracy_score, roc_auc_score

    out: dict[str, tuple[float, float]] = {}
    parts: dict[str, list[float]] = {k: [] for k in ("auc", "labels", "accuracy", "train", "class0")}
    for cols in (features + leaky, features):
        model = make_model().fit(train[cols], train["is_fraud"])
        proba = model.predict_proba(test[cols])
        parts["auc"].append(float(roc_auc_score(test["is_fraud"], proba[:, 1])))
        parts["class0"].append(float(roc_auc_score(test["is_fraud"], proba[:, 0])))
        parts["labels"].append(float(roc_auc_score(test["is_fraud"], model.predict(test[cols]))))
        parts["accuracy"].append(float(accuracy_score(test["is_fraud"], model.predict(test[cols]))))
        parts["train"].append(float(roc_auc_score(train["is_fraud"], model.predict_proba(train[cols])[:, 1])))
    for k, v in parts.items():
        out[k] = (v[0], v[1])
    return out


_LEAK_BAND = 0.02


def _leak_verdict(got: Any, inputs: tuple) -> str | None:
    train, test, features, leaky = inputs
    if isinstance(got, dict) and got.get(TAG) == "tuple":
        got = got["items"]
    if not (isinstance(got, list) and len(got) == 2):
        return f"return two numbers, `auc_with, auc_without`; got {kind(got)} ({show(got)})"
    if not all(type(v) in (int, float) for v in got):
        return f"both values must be numbers (ROC-AUC scores between 0 and 1); got {show(got)}"
    a_with, a_without = float(got[0]), float(got[1])
    ref = _leak_scores(train, test, list(features), list(leaky))
    e_with, e_without = ref["auc"]

    def near(pair: tuple[float, float], tol: float = 0.005) -> bool:
        return abs(pair[0] - a_with) <= tol and abs(pair[1] - a_without) <= tol

    if abs(a_with - e_with) <= _LEAK_BAND and abs(a_without - e_without) <= _LEAK_BAND:
        return None
    said = f"expected about ({e_with:.3f}, {e_without:.3f}), got ({a_with:.3f}, {a_without:.3f})"
    if abs(a_with - e_without) <= _LEAK_BAND and abs(a_without - e_with) <= _LEAK_BAND:
        return f"{said}: the two are swapped; return `auc_with, auc_without` in that order"
    if near(ref["accuracy"]):
        return (
            f"{said}: those are accuracies. With 3 % fraud, predicting 'never fraud' is already 97 % accurate; "
            "use roc_auc_score on the predicted probabilities"
        )
    if near(ref["labels"]):
        return (
            f"{said}: you scored the hard 0/1 predictions. ROC-AUC ranks the payments by score: pass "
            "`model.predict_proba(X)[:, 1]`, not `model.predict(X)`"
        )
    if near(ref["class0"]):
        return f"{said}: column 0 of predict_proba is the probability of *no* fraud; use `[:, 1]`"
    if near(ref["train"], 0.003):
        return f"{said}: those are scores on the training rows; score the model on `test`"
    if abs(a_with - a_without) < 1e-9:
        return f"{said}: both numbers are the same; fit the second model without the leaky columns"
    if a_with > 0.995 and a_without > 0.995:
        return f"{said}: near-perfect scores both times; did the label `is_fraud` slip in among the features?"
    return f"{said} (within {_LEAK_BAND}); fit `make_model()` on the training rows and score ROC-AUC on the test rows"


leak_auc = Exercise(
    id="data.leak_auc",
    title="Measure what the leaky column is worth",
    points=2,
    answer=Function("auc_with_and_without"),
    tests=[
        holds("the lesson's kind of split, on a fresh table", call, _leak_verdict, inputs=leak_inputs),
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
def time_split_inputs(rng: np.random.Generator) -> tuple[pd.DataFrame, float]:
    """A small table in random row order, with distinct timestamps, and a test fraction."""
    n = int(rng.integers(40, 90))
    seconds = rng.choice(90 * 86_400, size=n, replace=False)
    df = pd.DataFrame(
        {
            "transaction_id": [f"T{i:07d}" for i in rng.permutation(n) + 1],
            "timestamp": pd.Timestamp("2026-01-01") + pd.to_timedelta(np.sort(seconds), unit="s"),
            "amount": rng.lognormal(3.5, 0.9, n).round(2),
            "is_fraud": (rng.random(n) < 0.1).astype("int64"),
        }
    )
    df = df.iloc[rng.permutation(n)].reset_index(drop=True)
    return df, float(rng.choice([0.2, 0.25, 0.3, 0.4]))


def _fixed_time_split_inputs(rng: np.random.Generator) -> tuple[pd.DataFrame, float]:
    df = _data.make_transactions(300, seed=11)[["transaction_id", "timestamp", "amount", "is_fraud"]]
    return df.sample(frac=1.0, random_state=0).reset_index(drop=True), 0.25


def _time_split_verdict(got: Any, inputs: tuple) -> str | None:
    df, fraction = inputs
    if isinstance(got, dict) and got.get(TAG) == "tuple":
        got = got["items"]
    if not (isinstance(got, list) and len(got) == 2):
        return f"return two DataFrames, `train, test`; got {kind(got)} ({show(got)})"
    train, test = _frame(got[0]), _frame(got[1])
    if train is None or test is None:
        return f"return two DataFrames, `train, test`; got {kind(got[0])} and {kind(got[1])}"
    for name, part in (("train", train), ("test", test)):
        if list(part.columns) != list(df.columns):
            return f"`{name}` should keep the frame's columns {list(df.columns)}, got {list(part.columns)}"
    n = len(df)
    want_test = n * fraction
    ids_tr, ids_te = list(train["transaction_id"]), list(test["transaction_id"])
    both = set(ids_tr) & set(ids_te)
    if both:
        return f"train and test share {_rows(len(both))} (e.g. {sorted(both)[0]!r}): every row goes to exactly one side"
    if len(ids_tr) + len(ids_te) != n or set(ids_tr) | set(ids_te) != set(df["transaction_id"]):
        return f"train and test together should hold the {n} rows once each; they hold {len(ids_tr) + len(ids_te)}"
    if abs(len(test) - want_test) > 1 and abs(len(train) - want_test) <= 1:
        first_te = pd.to_datetime(test["timestamp"]).min()
        last_tr = pd.to_datetime(train["timestamp"]).max()
        if last_tr < first_te:
            return (
                f"test has {len(test)} rows and train {len(train)}: test_fraction is the share of rows in the *test* set "
                f"({fraction:g} of {n} is about {want_test:g})"
            )
        return f"the two parts are swapped: return `train, test` with the earlier rows in train (test holds about {want_test:g} rows)"
    if abs(len(test) - want_test) > 1:
        return f"test should hold about {want_test:g} rows ({fraction:g} of {n}), got {len(test)}"
    last_train = pd.to_datetime(train["timestamp"]).max()
    first_test = pd.to_datetime(test["timestamp"]).min()
    if last_train > first_test:
        late = int((pd.to_datetime(train["timestamp"]) > first_test).sum())
        by_position = set(ids_te) == set(df["transaction_id"].iloc[n - len(test):])
        if by_position:
            return (
                f"{_rows(late)} of train are later than the first test row: you cut the rows by position, but the "
                "frame is not in time order. Sort by timestamp first"
            )
        return (
            f"{_rows(late)} of train are later than the first test row ({first_test}): a random split lets the model "
            "train on the future. Sort by timestamp and cut, without shuffling"
        )
    merged = pd.concat([train, test]).set_index("transaction_id").loc[df["transaction_id"]]
    for c in df.columns:
        if c == "transaction_id":
            continue
        a, b = merged[c].to_numpy(), df[c].to_numpy()
        same = (pd.to_datetime(a) == pd.to_datetime(b)) if c == "timestamp" else np.isclose(a.astype(float), b.astype(float))
        if not np.all(same):
            return f"the values of `{c}` changed: a split moves whole rows and changes nothing in them"
    return None


time_split = Exercise(
    id="data.time_split",
    title="Split by time: the past trains, the future tests",
    points=2,
    answer=Function("time_split"),
    tests=[
        holds("300 payments in random row order, test_fraction=0.25", call, _time_split_verdict,
              inputs=_fixed_time_split_inputs),
        holds("a fresh table in random row order", call, _time_split_verdict, inputs=time_split_inputs),
    ],
    hints=(
        "The rows may arrive in any order: sort them by `timestamp` first.",
        "`ordered = df.sort_values('timestamp')`; `n_test = round(len(df) * test_fraction)`; the last `n_test` rows "
        "are the test set: `ordered.iloc[:-n_test]`, `ordered.iloc[-n_test:]` (mind n_test = 0).",
    ),
)


# --------------------------------------------------------------------------
# data.features_match: a parity test between offline and online features
# --------------------------------------------------------------------------
#: UTC offsets (hours) of the countries, for serving requests in local time.
UTC_OFFSET = {"US": -5, "CA": -5, "MX": -6, "GB": 0, "DE": 1, "FR": 1, "ES": 1, "NL": 1}


def skew_records(rng: np.random.Generator, n: int) -> list[dict]:
    """Payments as a serving API receives them: JSON, local time with its UTC offset."""
    countries = rng.choice(sorted(UTC_OFFSET), n)
    utc = pd.Timestamp("2026-04-01") + pd.to_timedelta(rng.integers(0, 30 * 86_400, n), unit="s")
    amount = rng.lognormal(3.7, 1.0, n).round(2)
    amount[rng.choice(n, size=3, replace=False)] = rng.uniform(1_500, 9_000, 3).round(2)
    records = []
    for i in range(n):
        off = UTC_OFFSET[str(countries[i])]
        local = (utc[i] + pd.Timedelta(hours=off)).isoformat()
        records.append({
            "transaction_id": f"T{9_000_001 + i}",
            "amount": float(amount[i]),
            "timestamp": f"{local}{off:+03d}:00",
            "country": str(countries[i]),
        })
    return records


def reference_features_match(offline_fn: Any, online_fn: Any, records: list, tol: float = 1e-6) -> dict:
    """The expected answer: {feature: number of records where the two sides disagree}."""
    off = offline_fn(pd.DataFrame.from_records(records)).reset_index(drop=True)
    on = [online_fn(r) for r in records]
    names = list(off.columns) + [k for r in on for k in r if k not in off.columns]
    out = {}
    for name in dict.fromkeys(names):
        bad = 0
        for i, r in enumerate(on):
            if name not in off.columns or name not in r:
                bad += 1
            elif not abs(float(off[name].iloc[i]) - float(r[name])) <= tol:
                bad += 1
        if bad:
            out[str(name)] = bad
    return out


def _skew_inputs(pair: str):
    def inputs(rng: np.random.Generator) -> dict:
        return {"pair": pair, "records": skew_records(rng, int(rng.integers(30, 60)))}

    return inputs


def _skew_verdict(got: Any, inputs: dict) -> str | None:
    online = ONLINE[inputs["pair"]]
    records = inputs["records"]
    expected = reference_features_match(offline_features, online, records)
    if isinstance(got, list):
        return (
            f"return a dict {{feature: number of records that disagree}}, not a list; expected {expected}"
        )
    if not isinstance(got, dict) or TAG in got:
        return f"return a dict {{feature: number of records that disagree}}; got {kind(got)} ({show(got)})"
    if any(type(v) is bool for v in got.values()):
        return f"count the records that disagree for each feature (a number), not True/False; expected {expected}"
    problem = Compare()(expected, got)
    if problem is None:
        return None
    exact = reference_features_match(offline_features, online, records, tol=0.0)
    if got == exact and exact != expected:
        return (
            f"expected {expected}, got {got}: values that differ only in the 15th digit (float rounding) are equal. "
            "Compare numbers with a tolerance: abs(a - b) <= 1e-6"
        )
    common = {
        k: v
        for k, v in expected.items()
        if k in set(online(records[0])) and k in offline_features(pd.DataFrame.from_records(records[:1])).columns
    }
    if got == common and common != expected:
        missing = sorted(set(expected) - set(common))
        return (
            f"expected {expected}, got {got}: {_names(missing)} exist on one side only. A feature the other side "
            "does not produce disagrees on every record"
        )
    if expected and all(v == 1 for v in got.values()) and set(got) == set(expected):
        return f"expected {expected}, got {got}: count every record that disagrees, not only the first"
    if expected and set(got) == set(expected) and all(got[k] == len(records) for k in got):
        return f"expected {expected}, got {got}: count only the records whose values differ, compared row by row"
    return f"expected {expected}, got {got}: {problem}"


features_match = Exercise(
    id="data.features_match",
    title="A parity test for offline and online features",
    points=3,
    answer=Function("features_match"),
    tests=[
        holds("serving code that agrees (up to float rounding)", skew_probe, _skew_verdict, inputs=_skew_inputs("agrees")),
        holds("serving code that reads the local hour", skew_probe, _skew_verdict, inputs=_skew_inputs("local hour")),
        holds("serving code that caps large amounts", skew_probe, _skew_verdict, inputs=_skew_inputs("clamped amounts")),
        holds("serving code with a renamed feature", skew_probe, _skew_verdict, inputs=_skew_inputs("renamed feature")),
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
