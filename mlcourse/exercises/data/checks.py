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
import functools
import math
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlcourse import data as _data
from mlcourse.exercises.compare import Compare, show
from mlcourse.exercises.data.probes import (
    ONLINE,
    call_leak,
    call_on_cases,
    clean_probe,
    fingerprint_variants,
    join_probe,
    offline_features,
    skew_probe,
    sorted_names,
)
from mlcourse.exercises.engine import FORGOT_RETURN, Exercise, Function, Mistake, Value, holds, value_is
from mlcourse.exercises.plain import TAG, from_plain, kind
from mlcourse.exercises.probes import call_keeping_inputs


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


@functools.lru_cache(maxsize=128)
def _source_files(n_rows: int, seed: int) -> tuple[tuple[str, str, str], ...]:
    """The three source files of a table as (key, file name, base64 bytes) (cached)."""
    folder = tempfile.mkdtemp(prefix="mlcourse-sources-")
    try:
        paths = _data.write_sources(folder, n_rows=n_rows, seed=seed)
        return tuple((key, Path(p).name, base64.b64encode(Path(p).read_bytes()).decode("ascii")) for key, p in paths.items())
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def join_inputs(rng: np.random.Generator) -> dict:
    """A fresh set of sources: its size and seed, and the three files' bytes (base64), which the probe writes.

    The files are made here, where the verdict runs: writing them calls the
    package's join, which the exercise forbids while its probe runs.
    """
    n_rows, seed = int(rng.integers(80, 150)), int(rng.integers(0, 100_000))
    files = {key: (name, data) for key, name, data in _source_files(n_rows, seed)}
    return {"n_rows": n_rows, "seed": seed, "files": files}


@functools.lru_cache(maxsize=128)
def reference_join(n_rows: int, seed: int) -> pd.DataFrame:
    """The expected table: :func:`mlcourse.data.load_sources` on the same sources (cached: read only)."""
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
    if got is None:
        return FORGOT_RETURN.say
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
        holds("the sources of a fresh table", join_probe, _join_verdict, inputs=join_inputs, public=True),
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
_REPORT_COLUMNS = ["column", "rule", "count"]


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
    return pd.DataFrame(sorted(rows), columns=_REPORT_COLUMNS)


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


def _example_case(rng: np.random.Generator) -> list:
    """The lesson's small example, and a fresh frame with a fresh schema."""
    return list(_violation_cases("example", int(rng.integers(0, 2**31))))


def _bounds_cases(rng: np.random.Generator) -> list:
    """Two fresh frames, each with values exactly on its schema's bounds."""
    return list(_violation_cases("bounds", int(rng.integers(0, 2**31))))


def _missing_column_case(rng: np.random.Generator) -> list:
    """A fresh frame that lacks one column of its schema and has one the schema does not name."""
    return list(_violation_cases("missing", int(rng.integers(0, 2**31))))


def _violation_rows(plain: Any) -> list[tuple] | None:
    """The learner's report as (column, rule, count) rows, or None when it is not such a DataFrame."""
    frame = _frame(plain)
    if frame is None or not all(c in frame.columns for c in _REPORT_COLUMNS):
        return None
    return [(str(c), str(r), n) for c, r, n in zip(frame["column"], frame["rule"], frame["count"])]


def _not_a_report(got: Any) -> str | None:
    """What is wrong with the shape of the learner's return value, or None when it is a report frame."""
    if got is None:
        return FORGOT_RETURN.say
    frame = _frame(got)
    if frame is None:
        if isinstance(got, list) or (isinstance(got, dict) and got.get(TAG) in ("tuple", "set")):
            items = got if isinstance(got, list) else got.get("items", [])
            return (
                f"find_violations returned {kind(got)} of {len(items)} items, not a DataFrame: build the report with "
                "pd.DataFrame(rows, columns=['column', 'rule', 'count'])"
            )
        return f"find_violations must return a DataFrame with the columns 'column', 'rule', 'count'; it returned {kind(got)}"
    missing = [c for c in _REPORT_COLUMNS if c not in frame.columns]
    if missing:
        return (
            f"the report has the columns {[str(c) for c in frame.columns]}; it needs 'column', 'rule' and 'count' "
            f"({_names(missing)} missing)"
        )
    return None


def _is_count(v: Any) -> bool:
    return type(v) in (int, float) and float(v) >= 0 and float(v) == int(v)


def _at_bound(df: pd.DataFrame, column: str, bound: Any) -> int:
    values = pd.to_numeric(df[column], errors="coerce")
    return int((values == bound).sum())


def _wrong_count(column: str, rule: str, n: Any, want: int, df: pd.DataFrame, schema: dict) -> str:
    """Why the learner's count for (column, rule) is not ``want``: the known mistake, else the numbers."""
    rules = schema.get(column, {})
    if rule not in RULES:
        return f"{rule!r} is not one of the rule names; use {', '.join(map(repr, RULES))}"
    if column not in schema:
        return f"the report names {column!r}, which the schema does not mention: only the schema's columns are checked"
    if column not in df.columns:
        return f"{column!r} is not in the frame: report only ({column!r}, 'missing_column', 1) for it"
    nulls = int(df[column].isna().sum())
    if rule in ("min", "max") and rule in rules:
        on_bound = _at_bound(df, column, rules[rule])
        if on_bound and n == want + on_bound:
            which = "below min" if rule == "min" else "above max"
            return (
                f"for ({column!r}, {rule!r}) you counted the {on_bound} value(s) equal to the bound ({rules[rule]:g}): "
                f"bounds are inclusive, only values {which} break them"
            )
    if rule in ("min", "max", "allowed") and nulls and n == want + nulls:
        return (
            f"for ({column!r}, {rule!r}) you counted the missing values too: a missing value is a 'nullable' problem "
            f"only; {rule!r} applies to the values that are present"
        )
    if rule == "nullable" and rules.get("nullable", True) is not False:
        said = "says nullable True" if "nullable" in rules else "does not forbid gaps"
        return f"{column!r} may have missing values (its schema {said}): only \"nullable\": False makes a gap a violation"
    if want:
        return f"for ({column!r}, {rule!r}) you report {n:g}, but {want} values break it"
    return f"the report says ({column!r}, {rule!r}) is broken {n:g} times, but no value breaks it"


def _report_problem(got_rows: list[tuple], df: pd.DataFrame, schema: dict) -> str | None:
    """The first thing wrong with a report, named as the learner's mistake where it is a known one.

    Never the expected report itself: the first wrong row, or the first missing
    one and how many are missing.
    """
    expected = {(c, r): int(n) for c, r, n in reference_violations(df, schema).itertuples(index=False)}
    got = {(c, r): n for c, r, n in got_rows}
    if len(got) != len(got_rows):
        return "the report names the same (column, rule) twice: give one row per broken rule"
    bad_type = [k for k, v in got.items() if not _is_count(v)]
    if bad_type:
        return f"the count of {bad_type[0]} is {show(got[bad_type[0]])}; each count is a whole number of values"
    if got == expected:
        return None
    zero = [k for k, v in got.items() if v == 0]
    if zero:
        return f"the report lists {zero[0]} with a count of 0: leave out the rules nobody breaks"
    for (column, rule), n in got.items():
        want = expected.get((column, rule), 0)
        if n != want:
            return _wrong_count(column, rule, n, want, df, schema)
    missing = [k for k in expected if k not in got]
    if len(got) == 1 and len(expected) > 1:
        return (
            f"your report stops after the first broken rule, {next(iter(got))}; the frame breaks {len(expected)} rules "
            "in all. Keep checking every rule of every column and report all of them"
        )
    column, rule = next((k for k in missing if k[1] != "missing_column"), missing[0])
    if rule == "missing_column":
        return (
            f"{column!r} is named in the schema but absent from the frame: that is a violation too, reported as "
            f"({column!r}, 'missing_column', 1)"
        )
    return (
        f"the report misses {len(missing)} of the {len(expected)} broken rules, e.g. ({column!r}, {rule!r}): check "
        "every rule the schema gives each column"
    )


def _violations_verdict(got: Any, cases: list) -> str | None:
    if not isinstance(got, list) or len(got) != len(cases):
        return "the check could not read what your function returned"
    for i, ((df, schema), one) in enumerate(zip(cases, got)):
        where = f" [frame {i + 1} of {len(cases)}: {len(df)} rows, columns {list(map(str, df.columns))}]" if len(cases) > 1 else ""
        problem = _not_a_report(one)
        if problem is None:
            problem = _report_problem(_violation_rows(one) or [], df, schema)
        if problem:
            return problem + where
    return None


find_violations = Exercise(
    id="data.find_violations",
    title="Report every schema violation",
    points=3,
    answer=Function("find_violations"),
    tests=[
        holds("the lesson's small example and a fresh frame", call_on_cases, _violations_verdict, inputs=_example_case,
              public=True),
        holds("fresh frames with values exactly on their bounds", call_on_cases, _violations_verdict, inputs=_bounds_cases),
        holds("a fresh frame that lacks a column of its schema", call_on_cases, _violations_verdict,
              inputs=_missing_column_case),
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
#: Numeric columns the cleaning repairs, with the range of possible values
#: (amount: strictly positive; ages from :data:`mlcourse.data.CUSTOMER_AGES`).
CLEAN_RANGES: dict[str, tuple[float, float]] = {
    "amount": (0.0, math.inf),
    "customer_age": _data.CUSTOMER_AGES,
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


def _possible_range(column: str) -> str:
    lo, hi = CLEAN_RANGES[column]
    return "(0, inf)" if column == "amount" else f"[{lo:g}, {hi:g}]"


#: Values put into every damaged table, each on a row of its own: the edges of
#: the possible ranges (kept) and the first impossible values past them (repaired).
CLEAN_EDGES: dict[str, tuple[float, ...]] = {
    "amount": (0.0, 0.01, -12.5),
    "customer_age": (
        _data.CUSTOMER_AGES[0] - 1, _data.CUSTOMER_AGES[0], _data.CUSTOMER_AGES[1], _data.CUSTOMER_AGES[1] + 1,
    ),
    "account_age_days": (-1, 0, -30),
}


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


@functools.lru_cache(maxsize=128)
def _earliest_rows(n_rows: int, seed: int, order: int | None) -> pd.DataFrame:
    """The earliest row of each payment of a damaged table, by transaction_id (cached: read only)."""
    dirty = _damaged_table(n_rows, seed, order)
    return dirty.sort_values("timestamp", kind="stable").drop_duplicates("transaction_id").set_index("transaction_id")


def clean_inputs(rng: np.random.Generator, shuffle: bool = False) -> dict:
    """A freshly damaged table, and how to rebuild its clean version (the size matters little: every kind of
    damage and every edge value is in each draw)."""
    n, seed = int(rng.integers(200, 260)), int(rng.integers(0, 100_000))
    order = int(rng.integers(0, 2**31)) if shuffle else None
    return {"df": _damaged_table(n, seed, order).copy(), "n_rows": n, "seed": seed, "order": order}


def _clean_inputs_shuffled(rng: np.random.Generator) -> dict:
    return clean_inputs(rng, shuffle=True)


@dataclass
class _Cleaning:
    """What the cleaning verdict's steps look at: the input, its clean origin, the learner's table."""

    dirty: pd.DataFrame
    truth: pd.DataFrame
    out: pd.DataFrame
    ids: pd.Series
    #: The earliest input row of each payment, by transaction_id.
    first: pd.DataFrame
    #: The learner's rows in the order of ``first`` (set once the rows are right).
    aligned: pd.DataFrame | None = None


def _clean_columns(c: _Cleaning) -> str | None:
    missing = [col for col in _data.COLUMNS if col not in c.out.columns]
    if missing:
        return f"the cleaned table lacks the columns {_names(missing)}; keep every original column"
    return None


def _clean_duplicates(c: _Cleaning) -> str | None:
    counts = c.ids.value_counts()
    repeated = counts[counts > 1]
    if not len(repeated):
        return None
    first = repeated.index[0]
    same = len(c.out[c.ids == first].drop_duplicates()) == 1
    what = "exact copies" if same else "replays: same id, a few seconds later"
    return (
        f"{len(repeated)} transaction_id values still appear more than once, e.g. {first!r} ({what}). "
        "A payment is identified by its transaction_id: keep one row per id, the earliest"
    )


def _clean_lost_rows(c: _Cleaning) -> str | None:
    want = set(c.truth["transaction_id"])
    lost = want - set(c.ids.dropna())
    if not lost:
        return None
    lost_rows = c.dirty[c.dirty["transaction_id"].isin(lost)].drop_duplicates("transaction_id")
    share = len(lost) / len(want)
    feature_cols = [col for col in _data.COLUMNS if col != "chargeback_at"]
    had_gap = lost_rows[feature_cols].isna().any(axis=1).to_numpy()
    impossible = np.zeros(len(lost_rows), dtype=bool)
    for col in CLEAN_RANGES:
        impossible |= (_bad_values(lost_rows, col) & lost_rows[col].notna()).to_numpy()
    usual = c.truth.set_index("transaction_id")["amount"].loc[lost_rows["transaction_id"]].to_numpy()
    extreme = lost_rows["amount"].to_numpy(dtype=float) > 50 * usual
    head = f"{len(lost)} of {len(want)} valid payments were dropped ({share:.0%})"
    if share > 0.5:
        return (
            f"{head}. `chargeback_at` is empty by design for every payment nobody disputed: a blanket dropna() "
            "throws away almost the whole table. Repair values instead of dropping rows"
        )
    if had_gap.all():
        return f"{head}, all of them rows with a missing value. Fill the gap (and flag it) instead of dropping the row"
    if impossible.all():
        return (
            f"{head}, all of them rows with an impossible value. The rest of such a row is a real payment: set the "
            "impossible value to missing, then impute and flag it"
        )
    if extreme.any() and np.all(extreme | had_gap | impossible):
        return (
            f"{head}, including {int(extreme.sum())} with very large amounts. A large amount is possible (and in "
            "fraud it is signal): keep it"
        )
    return f"{head}, e.g. {sorted(lost)[0]!r}; only duplicate rows may be removed"


def _clean_unknown_rows(c: _Cleaning) -> str | None:
    if set(c.ids.dropna()) - set(c.truth["transaction_id"]) or c.ids.isna().any():
        return "the cleaned table has rows whose transaction_id is not in the input"
    # The rows are right: line the learner's rows up with the earliest input row of each payment.
    c.aligned = c.out.assign(transaction_id=c.ids).set_index("transaction_id").loc[c.first.index]
    return None


def _clean_earliest(c: _Cleaning) -> str | None:
    later = int((pd.to_datetime(c.aligned["timestamp"]).to_numpy() != c.first["timestamp"].to_numpy()).sum())
    if later:
        return (
            f"for {later} replayed payments you kept a later copy: the replay arrives seconds after the original "
            "(sort by timestamp and keep the first row of each transaction_id)"
        )
    return None


def _clean_flag_columns(c: _Cleaning) -> str | None:
    flags = [f for f in CLEAN_FLAGS.values() if f not in c.out.columns]
    if flags:
        return (
            f"the cleaned table lacks the flag columns {_names(flags)}: add one per repaired numeric column, "
            "1 where the value was missing or impossible (and so was filled in), else 0"
        )
    return None


def _clean_gaps(c: _Cleaning) -> str | None:
    if c.aligned["chargeback_at"].notna().sum() != c.first["chargeback_at"].notna().sum():
        return "`chargeback_at` changed: it is empty by design for payments nobody disputed, so leave it as it is"
    for col in _data.COLUMNS:
        if col in ("transaction_id", "chargeback_at"):
            continue
        n_gap = int(c.aligned[col].isna().sum())
        if n_gap:
            return f"`{col}` still has {n_gap} missing values; fill every gap in the feature columns"
    return None


def _clean_impossible(c: _Cleaning) -> str | None:
    for col in CLEAN_RANGES:
        values = pd.to_numeric(c.aligned[col], errors="coerce").astype(float)
        bad = _bad_values(c.aligned, col) & values.notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            return (
                f"`{col}` still holds {int(bad.sum())} impossible values (e.g. {values.iloc[i]:g}); a value outside "
                f"{_possible_range(col)} is an error: set it to missing, then impute and flag it"
            )
    return None


def _clean_valid_untouched(c: _Cleaning) -> str | None:
    for col in _data.COLUMNS:
        if col in ("transaction_id", "timestamp", "chargeback_at"):
            continue
        valid = (~_bad_values(c.first, col) if col in CLEAN_RANGES else c.first[col].notna()).to_numpy()
        got, want = c.aligned[col][valid], c.first[col][valid]
        if col in CLEAN_RANGES or col in _INTEGER:
            g = pd.to_numeric(got, errors="coerce").astype(float).to_numpy()
            same = np.isclose(g, want.astype(float).to_numpy(), rtol=1e-9, atol=1e-9)
        else:
            same = got.astype(object).to_numpy() == want.astype(object).to_numpy()
        same = np.asarray(same, dtype=bool)
        if same.all():
            continue
        i = int(np.flatnonzero(~same)[0])
        message = (
            f"{int((~same).sum())} valid values of `{col}` were changed (e.g. {want.index[i]}: "
            f"{_py(want.iloc[i])!r} became {_py(got.iloc[i])!r})"
        )
        if col == "amount":
            changed = want.astype(float).to_numpy()[~same]
            if np.all(changed >= np.nanpercentile(want.astype(float).to_numpy(), 90)):
                return (
                    f"{message}. Those are large but possible amounts: clipping them hides the very payments a fraud "
                    "model most needs to see. Only impossible values are repaired"
                )
        if col in CLEAN_RANGES and np.isin(want.to_numpy()[~same], CLEAN_EDGES[col]).all():
            return (
                f"{message}. That value is on the edge of the possible range {_possible_range(col)}, which is "
                "included: only values outside it are impossible"
            )
        return f"{message}. Cleaning repairs missing and impossible values only"
    return None


def _clean_flags(c: _Cleaning) -> str | None:
    for col, flag in CLEAN_FLAGS.items():
        expected = _bad_values(c.first, col).to_numpy()
        got = pd.to_numeric(c.aligned[flag].astype(object), errors="coerce").to_numpy(dtype=float)
        if np.isnan(got).any() or not np.isin(got, (0.0, 1.0)).all():
            return f"`{flag}` must hold 0/1 (or True/False), one per row"
        wrong = got != expected.astype(float)
        if wrong.any():
            only_nan = c.first[col].isna().to_numpy()
            if np.array_equal(got.astype(bool), only_nan) and (expected & ~only_nan).any():
                return (
                    f"`{flag}` marks the missing values but not the impossible ones you repaired: a value you filled "
                    "in is imputed whatever the reason"
                )
            return (
                f"`{flag}` is wrong on {int(wrong.sum())} rows: it is 1 exactly where `{col}` was missing or impossible "
                "in the input (and so was filled in)"
            )
        values = pd.to_numeric(c.aligned[col], errors="coerce").astype(float).to_numpy()
        valid = c.first[col][~expected].astype(float)
        lo, hi = float(valid.min()), float(valid.max())
        filled = values[expected]
        outside = filled[(filled < lo) | (filled > hi)]
        if len(outside):
            return (
                f"imputed `{col}` values fall outside the range of the valid ones ([{lo:g}, {hi:g}]), e.g. "
                f"{outside[0]:g}: fill with a typical valid value such as the median"
            )
    return None


def _clean_text(c: _Cleaning) -> str | None:
    for col in CLEAN_TEXT:
        gap = c.first[col].isna().to_numpy()
        filled = c.aligned[col].astype(object).to_numpy()[gap]
        if len(filled) and not np.all(filled == "unknown"):
            i = int(np.flatnonzero(filled != "unknown")[0])
            return (
                f"missing `{col}` values should become the label 'unknown' (got {filled[i]!r}): guessing the most "
                "frequent label hides that the value was missing"
            )
    return None


#: The cleaning verdict, step by step: rows first (the later steps line the learner's rows up with the
#: input's), then values. The first step that finds a problem names it.
_CLEAN_STEPS = (
    _clean_columns,
    _clean_duplicates,
    _clean_lost_rows,
    _clean_unknown_rows,
    _clean_earliest,
    _clean_flag_columns,
    _clean_gaps,
    _clean_impossible,
    _clean_valid_untouched,
    _clean_flags,
    _clean_text,
)


def _clean_verdict(got: Any, inputs: dict) -> str | None:
    if not (isinstance(got, dict) and set(got) == {"returned", "changed"}):
        return "the check could not read what your function returned"
    if got["changed"]:
        return (
            "your function changed the caller's frame in place (sorted, deduplicated, repaired or added columns to it), "
            "so the table the lesson goes on with is no longer the one it had. Work on a copy (`out = df.copy()`, or "
            "the new frame that sort_values/drop_duplicates return, without inplace=True) and return that"
        )
    if got["returned"] is None:
        return FORGOT_RETURN.say
    out = _frame(got["returned"])
    if out is None:
        return f"clean_transactions must return the cleaned DataFrame, got {kind(got['returned'])}"
    ids = out["transaction_id"].astype(object) if "transaction_id" in out.columns else None
    if ids is None:
        return "the cleaned table lacks the column 'transaction_id'; keep every original column"
    recipe = (inputs["n_rows"], inputs["seed"], inputs["order"])
    c = _Cleaning(dirty=inputs["df"], truth=_clean_table(*recipe[:2]), out=out, ids=ids, first=_earliest_rows(*recipe))
    for step in _CLEAN_STEPS:
        problem = step(c)
        if problem:
            return problem
    return None


clean_transactions = Exercise(
    id="data.clean_transactions",
    title="Clean a table without dropping valid rows",
    points=4,
    answer=Function("clean_transactions"),
    tests=[
        holds("a freshly damaged table", clean_probe, _clean_verdict, inputs=clean_inputs, public=True),
        holds("a freshly damaged table, rows shuffled", clean_probe, _clean_verdict, inputs=_clean_inputs_shuffled),
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


_FINGERPRINT_WHY = {
    "one value changed": "hash every value, in full: a printed frame shows only its first and last rows, rounded",
    "a column renamed": "include the column names in what you hash",
    "a dtype changed": "include the dtypes (1 and 1.0 are different data to a model)",
    "rows reordered": "hash the rows in order (pandas.util.hash_pandas_object gives one hash per row)",
}


def _fingerprint_verdict(got: Any, inputs: dict) -> str | None:
    if not isinstance(got, dict) or "original" not in got:
        return "the check could not read your fingerprints"
    if all(v is None for v in got.values()):
        return FORGOT_RETURN.say
    bad = [k for k, v in got.items() if type(v) is not str]
    if bad:
        return f"fingerprint must return a string (a hex digest), got {kind(got[bad[0]])} ({show(got[bad[0]])})"
    if got["original"] != got["an equal frame built separately"]:
        return (
            "two equal frames, built separately, got different fingerprints: the hash must depend only on the "
            "content (don't hash id(), object reprs with addresses, raw memory of text columns, or a random salt)"
        )
    for variant, why in _FINGERPRINT_WHY.items():
        if got[variant] == got["original"]:
            where = ""
            if variant == "one value changed":
                column = ("amount", "hour", "channel")[inputs["col"]]
                how = f"by {inputs['step']:g}" if column == "amount" else ""
                where = f" (row {inputs['row']} of {inputs['n_rows']}, column {column!r}{', ' + how if how else ''})"
            return f"with {variant}{where} the fingerprint did not change: {why}"
    return None


fingerprint = Exercise(
    id="data.fingerprint",
    title="Fingerprint a dataset",
    points=2,
    answer=Function("fingerprint"),
    tests=[
        holds("a 20 000-row frame and five variants of it", fingerprint_variants, _fingerprint_verdict,
              inputs=_large_fingerprint_inputs, public=True),
        holds("a small frame whose changed value differs in the 8th digit", fingerprint_variants, _fingerprint_verdict,
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
#: How far a right answer may be from the reference: answers that follow the task agree to about 1e-6
#: (another column order, decision_function instead of probabilities, another ROC-AUC function).
LEAK_TOLERANCE = 0.001
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
    from sklearn.metrics import accuracy_score, roc_auc_score

    train, test = _leak_split(n_rows, seed, drop)[:2]
    features, leaky = _leak_split(n_rows, seed, drop)[2], ["chargeback"]
    both = pd.concat([train, test], ignore_index=True)
    parts: dict[str, list[float]] = {k: [] for k in ("auc", "labels", "accuracy", "train", "class0", "all rows")}
    for cols in (features + leaky, features):
        model = make_model().fit(train[cols], train["is_fraud"])
        proba = model.predict_proba(test[cols])
        parts["auc"].append(float(roc_auc_score(test["is_fraud"], proba[:, 1])))
        parts["class0"].append(float(roc_auc_score(test["is_fraud"], proba[:, 0])))
        parts["labels"].append(float(roc_auc_score(test["is_fraud"], model.predict(test[cols]))))
        parts["accuracy"].append(float(accuracy_score(test["is_fraud"], model.predict(test[cols]))))
        parts["train"].append(float(roc_auc_score(train["is_fraud"], model.predict_proba(train[cols])[:, 1])))
        everywhere = make_model().fit(both[cols], both["is_fraud"])
        parts["all rows"].append(float(roc_auc_score(test["is_fraud"], everywhere.predict_proba(test[cols])[:, 1])))
    out = {k: (v[0], v[1]) for k, v in parts.items()}
    e_with, e_without = out["auc"]
    out["swapped"] = (e_without, e_with)
    out["not dropped"] = (e_with, e_with)
    return out


def _distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(abs(a[0] - b[0]), abs(a[1] - b[1]))


def _separated(scores: dict) -> bool:
    """Whether every typical mistake's pair is clearly apart from the reference pair."""
    return all(_distance(pair, scores["auc"]) >= LEAK_SEPARATION for name, pair in scores.items() if name != "auc")


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


#: What each typical mistake's numbers mean, for the learner.
_LEAK_MISTAKES = {
    "swapped": "the two are swapped; return `auc_with, auc_without` in that order",
    "accuracy": (
        "those are accuracies. With 3 % fraud, predicting 'never fraud' is already 97 % accurate; use roc_auc_score "
        "on the predicted probabilities"
    ),
    "labels": (
        "you scored the hard 0/1 predictions. ROC-AUC ranks the payments by score: pass "
        "`model.predict_proba(X)[:, 1]`, not `model.predict(X)`"
    ),
    "class0": "column 0 of predict_proba is the probability of *no* fraud; use `[:, 1]`",
    "train": "those are scores on the training rows; score the model on `test`",
    "all rows": (
        "those are the scores of models fitted on the training and the test rows together: fit on `train` only, "
        "or the test rows are no longer a test"
    ),
    "not dropped": "both numbers are the same; fit the second model without the leaky columns",
}


def _leak_verdict(got: Any, inputs: dict) -> str | None:
    if got is None:
        return FORGOT_RETURN.say
    if isinstance(got, dict) and got.get(TAG) == "tuple":
        got = got["items"]
    if not (isinstance(got, list) and len(got) == 2):
        return f"return two numbers, `auc_with, auc_without`; got {kind(got)} ({show(got)})"
    if not all(type(v) in (int, float) for v in got):
        return f"both values must be numbers (ROC-AUC scores between 0 and 1); got {show(got)}"
    pair = (float(got[0]), float(got[1]))
    scores = leak_scores(*inputs["recipe"])
    if _distance(pair, scores["auc"]) <= LEAK_TOLERANCE:
        return None
    e_with, e_without = scores["auc"]
    said = f"expected about ({e_with:.3f}, {e_without:.3f}), got ({pair[0]:.3f}, {pair[1]:.3f})"
    near = sorted((_distance(pair, p), name) for name, p in scores.items() if name in _LEAK_MISTAKES)
    if near and near[0][0] <= LEAK_TOLERANCE:
        return f"{said}: {_LEAK_MISTAKES[near[0][1]]}"
    if pair[0] > 0.995 and pair[1] > 0.995:
        return f"{said}: near-perfect scores both times; did the label `is_fraud` slip in among the features?"
    return (
        f"{said} (each within {LEAK_TOLERANCE}); fit `make_model()` on the training rows and score ROC-AUC on the "
        "test rows"
    )


leak_auc = Exercise(
    id="data.leak_auc",
    title="Measure what the leaky column is worth",
    points=2,
    answer=Function("auc_with_and_without"),
    tests=[
        holds("the lesson's kind of split, on a fresh table", call_leak, _leak_verdict, inputs=leak_inputs, public=True),
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


def _rounded(x: float) -> set[int]:
    """The whole numbers ``x`` rounds to: one, or both neighbours when ``x`` ends in exactly .5."""
    return {math.floor(x + 0.5), math.ceil(x - 0.5)}


def _time(part: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(part["timestamp"])


def _time_split_verdict(got: Any, inputs: tuple) -> str | None:
    df, fraction = inputs
    if not (isinstance(got, dict) and set(got) == {"returned", "changed"}):
        return "the check could not read what your function returned"
    if got["changed"]:
        return (
            "your function changed the caller's frame in place (sorted it with inplace=True, or reset its index): "
            "leave `df` as it was and return new frames, e.g. `ordered = df.sort_values('timestamp')`"
        )
    got = got["returned"]
    if got is None:
        return FORGOT_RETURN.say
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
    sizes = _rounded(want_test)
    ids_tr, ids_te = list(train["transaction_id"]), list(test["transaction_id"])
    both = set(ids_tr) & set(ids_te)
    if both:
        return f"train and test share {_rows(len(both))} (e.g. {sorted(both)[0]!r}): every row goes to exactly one side"
    if len(ids_tr) + len(ids_te) != n or set(ids_tr) | set(ids_te) != set(df["transaction_id"]):
        return f"train and test together should hold the {n} rows once each; they hold {len(ids_tr) + len(ids_te)}"
    if sizes == {0} and len(test) == n:
        return (
            f"test_fraction={fraction:g} of {n} rows rounds to 0 test rows, but every row went to test: "
            "`ordered.iloc[-0:]` is the whole frame. Cut at `len(df) - n_test` instead: "
            "`ordered.iloc[:cut], ordered.iloc[cut:]`"
        )
    if len(test) not in sizes and len(train) in sizes:
        if _time(train).max() < _time(test).min():
            return (
                f"test has {len(test)} rows and train {len(train)}: test_fraction is the share of rows in the *test* set "
                f"({fraction:g} of {n} is about {want_test:g})"
            )
        return f"the two parts are swapped: return `train, test` with the earlier rows in train (test holds about {want_test:g} rows)"
    if len(train) and len(test) and _time(train).max() > _time(test).min():
        first_test = _time(test).min()
        late = int((_time(train) > first_test).sum())
        if set(ids_te) == set(df["transaction_id"].iloc[n - len(test):]):
            return (
                f"{_rows(late)} of train are later than the first test row: you cut the rows by position, but the "
                "frame is not in time order. Sort by timestamp first"
            )
        return (
            f"{_rows(late)} of train are later than the first test row ({first_test}): a random split lets the model "
            "train on the future. Sort by timestamp and cut, without shuffling"
        )
    if len(test) not in sizes:
        want = " or ".join(map(str, sorted(sizes)))
        why = ": int() cuts the fraction off; round to the nearest whole number" if len(test) == math.floor(want_test) else ""
        return f"test should hold round({n} x {fraction:g}) = {want} rows, got {len(test)}{why}"
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
        holds("a fresh table in random row order", call_keeping_inputs, _time_split_verdict, inputs=time_split_inputs,
              weight=3, public=True),
        holds("a test_fraction that rounds to no test rows", call_keeping_inputs, _time_split_verdict,
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


def _skew_mistake(got: dict, expected: dict, records: list, online: Any) -> str | None:
    """The known mistake behind a wrong parity report, or None."""
    exact = reference_features_match(offline_features, online, records, tol=0.0)
    if got == exact and exact != expected:
        return "values that differ only in the 15th digit (float rounding) are equal: compare numbers with a tolerance, abs(a - b) <= 1e-6"
    offline_names = set(offline_features(pd.DataFrame.from_records(records[:1])).columns)
    common = {k: v for k, v in expected.items() if k in set(online(records[0])) and k in offline_names}
    if got == common and common != expected:
        one_side = sorted(set(expected) - set(common))
        return (
            f"{_names(one_side)} exist on one side only. A feature the other side does not produce disagrees on "
            "every record"
        )
    if expected and set(got) == set(expected) and all(v == 1 for v in got.values()):
        return "count every record that disagrees, not only the first"
    if expected and set(got) == set(expected) and all(v == len(records) for v in got.values()):
        return "count only the records whose values differ, compared row by row"
    return None


def _skew_verdict(got: Any, inputs: dict) -> str | None:
    online = ONLINE[inputs["pair"]]
    records = inputs["records"]
    if got is None:
        return FORGOT_RETURN.say
    if isinstance(got, list):
        return "return a dict {feature: number of records that disagree}, not a list of names"
    if not isinstance(got, dict) or TAG in got:
        return f"return a dict {{feature: number of records that disagree}}; got {kind(got)} ({show(got)})"
    if any(type(v) is bool for v in got.values()):
        return "count the records that disagree for each feature (a number), not True/False"
    expected = reference_features_match(offline_features, online, records)
    if Compare()(expected, got) is None:
        return None
    zero = [k for k, v in got.items() if v == 0]
    if zero and {k: v for k, v in got.items() if v != 0} == expected:
        return f"list only the features with at least one disagreement ({zero[0]!r} has 0); {{}} means parity"
    wrong = [k for k in dict.fromkeys([*expected, *got]) if got.get(k) != expected.get(k)]
    first = wrong[0]
    if first not in got:
        head = f"{first!r} disagrees on {expected[first]} of the {len(records)} records, but your dict does not list it"
    elif first not in expected:
        head = f"your dict says {first!r} disagrees on {show(got[first])} records, but it agrees on every record"
    else:
        head = f"for {first!r} you counted {show(got[first])}, but {expected[first]} of the {len(records)} records disagree"
    if len(wrong) > 1:
        head += f" ({len(wrong)} features are wrong)"
    why = _skew_mistake(got, expected, records, online)
    return f"{head}: {why}" if why else head


features_match = Exercise(
    id="data.features_match",
    title="A parity test for offline and online features",
    points=3,
    answer=Function("features_match"),
    tests=[
        holds("serving code that agrees (up to float rounding)", skew_probe, _skew_verdict, inputs=_skew_inputs("agrees"),
              public=True),
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
