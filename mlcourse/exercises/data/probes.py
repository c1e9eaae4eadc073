"""The probes of lesson 01 (Data): what the grading child runs.

Each probe hands the learner's function its inputs and returns what it gave
back: the raw sources written to a private folder, a damaged table, variants
of a frame, a pair of feature functions.

The verdicts follow (one section per exercise). They live here, not in the
answer key, because the graded edition runs the public tests in the learner's
notebook: a verdict that needs the right answer takes it as its third
argument, ``expected``, which the full definition computes on the spot and the
graded edition stores at release. Nothing here computes an answer; the
exercises, their inputs and references are in
:mod:`mlcourse.exercises.data.checks`.
"""
from __future__ import annotations

import base64
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from mlcourse import data as _data
from mlcourse.exercises.compare import Compare, show
from mlcourse.exercises.engine import FORGOT_RETURN
from mlcourse.exercises.plain import TAG, from_plain, kind
from mlcourse.exercises.probes import inputs_problem


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


# --------------------------------------------------------------------------
# Verdicts: helpers
# --------------------------------------------------------------------------
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
# Verdicts: data.join_sources
# --------------------------------------------------------------------------
_DATETIME = ("timestamp", "chargeback_at")


_INTEGER = ("hour", "account_age_days", "customer_age", "is_foreign", "is_fraud", "chargeback")


_FLOAT = ("amount",)


_DERIVED = {
    "hour": "the hour of `timestamp`",
    "account_age_days": "whole days from the account's `opened_at` to the payment's date",
    "is_foreign": "1 when the payment's `country` differs from the account's `home_country`",
}


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


def join_verdict(got: Any, inputs: dict, expected: Any) -> str | None:
    """The joined table against ``expected``, the table the package's join makes of the same sources."""
    if got is None:
        return FORGOT_RETURN.say
    expected = from_plain(expected)
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


# --------------------------------------------------------------------------
# Verdicts: data.find_violations
# --------------------------------------------------------------------------
RULES = ("missing_column", "nullable", "min", "max", "allowed")


REPORT_COLUMNS = ["column", "rule", "count"]


def _violation_rows(plain: Any) -> list[tuple] | None:
    """The learner's report as (column, rule, count) rows, or None when it is not such a DataFrame."""
    frame = _frame(plain)
    if frame is None or not all(c in frame.columns for c in REPORT_COLUMNS):
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
    missing = [c for c in REPORT_COLUMNS if c not in frame.columns]
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


def _report_problem(got_rows: list[tuple], df: pd.DataFrame, schema: dict, want: list) -> str | None:
    """The first thing wrong with a report, named as the learner's mistake where it is a known one.

    ``want`` is the right report as ``[column, rule, count]`` rows. Never the
    expected report itself: the first wrong row, or the first missing one and
    how many are missing.
    """
    expected = {(str(c), str(r)): int(n) for c, r, n in want}
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


def violations_verdict(got: Any, cases: list, expected: list) -> str | None:
    """Each case's report against ``expected``: per case, the right report as ``[column, rule, count]`` rows."""
    if not isinstance(got, list) or len(got) != len(cases):
        return "the check could not read what your function returned"
    for i, ((df, schema), one, want) in enumerate(zip(cases, got, expected)):
        where = f" [frame {i + 1} of {len(cases)}: {len(df)} rows, columns {list(map(str, df.columns))}]" if len(cases) > 1 else ""
        problem = _not_a_report(one)
        if problem is None:
            problem = _report_problem(_violation_rows(one) or [], df, schema, want)
        if problem:
            return problem + where
    return None


# --------------------------------------------------------------------------
# Verdicts: data.clean_transactions
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


def clean_verdict(got: Any, inputs: dict, expected: dict) -> str | None:
    """The cleaned table against the damaged input and ``expected``, the clean table it was made from
    (``{"transaction_id": [...], "amount": [...]}``, one entry per payment)."""
    problem = inputs_problem(got, (
        "your function changed the caller's frame in place (sorted, deduplicated, repaired or added columns to it), "
        "so the table the lesson goes on with is no longer the one it had. Work on a copy (`out = df.copy()`, or "
        "the new frame that sort_values/drop_duplicates return, without inplace=True) and return that"
    ))
    if problem:
        return problem
    if got["returned"] is None:
        return FORGOT_RETURN.say
    out = _frame(got["returned"])
    if out is None:
        return f"clean_transactions must return the cleaned DataFrame, got {kind(got['returned'])}"
    ids = out["transaction_id"].astype(object) if "transaction_id" in out.columns else None
    if ids is None:
        return "the cleaned table lacks the column 'transaction_id'; keep every original column"
    dirty = inputs["df"]
    first = dirty.sort_values("timestamp", kind="stable").drop_duplicates("transaction_id").set_index("transaction_id")
    c = _Cleaning(dirty=dirty, truth=pd.DataFrame(expected), out=out, ids=ids, first=first)
    for step in _CLEAN_STEPS:
        problem = step(c)
        if problem:
            return problem
    return None


# --------------------------------------------------------------------------
# Verdicts: data.fingerprint
# --------------------------------------------------------------------------
_FINGERPRINT_WHY = {
    "one value changed": "hash every value, in full: a printed frame shows only its first and last rows, rounded",
    "a column renamed": "include the column names in what you hash",
    "a dtype changed": "include the dtypes (1 and 1.0 are different data to a model)",
    "rows reordered": "hash the rows in order (pandas.util.hash_pandas_object gives one hash per row)",
}


def fingerprint_verdict(got: Any, inputs: dict) -> str | None:
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


# --------------------------------------------------------------------------
# Verdicts: data.leak_auc
# --------------------------------------------------------------------------
#: How far a right answer may be from the reference: answers that follow the task agree to about 1e-6
#: (another column order, decision_function instead of probabilities, another ROC-AUC function).
LEAK_TOLERANCE = 0.001


def leak_distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(abs(a[0] - b[0]), abs(a[1] - b[1]))


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


def _two(got: Any, what: str) -> tuple[str | None, Any]:
    """``(None, [first, second])`` when the learner returned a pair, else ``(the message, got)``; ``what`` names the
    two things the task asks for."""
    if got is None:
        return FORGOT_RETURN.say, got
    if isinstance(got, dict) and got.get(TAG) == "tuple":
        got = got["items"]
    if not (isinstance(got, list) and len(got) == 2):
        return f"return {what}; got {kind(got)} ({show(got)})", got
    return None, got


def leak_verdict(got: Any, inputs: dict, expected: dict) -> str | None:
    """The learner's pair against ``expected``: ``{"auc": [with, without]}`` and the pair each typical mistake
    gives on the same split (``{"swapped": [...], "accuracy": [...], ...}``)."""
    problem, got = _two(got, "two numbers, `auc_with, auc_without`")
    if problem:
        return problem
    if not all(type(v) in (int, float) for v in got):
        return f"both values must be numbers (ROC-AUC scores between 0 and 1); got {show(got)}"
    pair = (float(got[0]), float(got[1]))
    scores = {name: (float(p[0]), float(p[1])) for name, p in expected.items()}
    e_with, e_without = scores["auc"]
    said = f"expected about ({e_with:.3f}, {e_without:.3f}), got ({pair[0]:.3f}, {pair[1]:.3f})"
    # Known mistakes first: the inputs keep each one's numbers LEAK_SEPARATION from the right ones, so a
    # pair within LEAK_TOLERANCE of a mistake's is that mistake, never a right answer.
    near = sorted((leak_distance(pair, p), name) for name, p in scores.items() if name in _LEAK_MISTAKES)
    if near and near[0][0] <= LEAK_TOLERANCE:
        return f"{said}: {_LEAK_MISTAKES[near[0][1]]}"
    if leak_distance(pair, scores["auc"]) <= LEAK_TOLERANCE:
        return None
    if pair[0] > 0.995 and pair[1] > 0.995:
        return f"{said}: near-perfect scores both times; did the label `is_fraud` slip in among the features?"
    return (
        f"{said} (each within {LEAK_TOLERANCE}); fit `make_model()` on the training rows and score ROC-AUC on the "
        "test rows"
    )


# --------------------------------------------------------------------------
# Verdicts: data.time_split
# --------------------------------------------------------------------------
def _rounded(x: float) -> set[int]:
    """The whole numbers ``x`` rounds to: one, or both neighbours when ``x`` ends in exactly .5."""
    return {math.floor(x + 0.5), math.ceil(x - 0.5)}


def _time(part: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(part["timestamp"])


def time_split_verdict(got: Any, inputs: tuple) -> str | None:
    df, fraction = inputs
    problem = inputs_problem(got, (
        "your function changed the caller's frame in place (sorted it with inplace=True, or reset its index): "
        "leave `df` as it was and return new frames, e.g. `ordered = df.sort_values('timestamp')`"
    ))
    if problem:
        return problem
    problem, got = _two(got["returned"], "two DataFrames, `train, test`")
    if problem:
        return problem
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


# --------------------------------------------------------------------------
# Verdicts: data.features_match
# --------------------------------------------------------------------------
def _skew_mistake(got: dict, expected: dict, exact: dict, records: list, online: Any) -> str | None:
    """The known mistake behind a wrong parity report (``exact``: the report a comparison without tolerance
    gives), or None."""
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


def skew_verdict(got: Any, inputs: dict, expected: dict) -> str | None:
    """The learner's parity report against ``expected``: ``{"counts": the right report, "exact": the report
    without a tolerance}``."""
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
    expected, exact = expected["counts"], expected["exact"]
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
    why = _skew_mistake(got, expected, exact, records, online)
    return f"{head}: {why}" if why else head


# --------------------------------------------------------------------------
# Verdicts: data.leaky_columns (the public form check: never which columns)
# --------------------------------------------------------------------------
def leaky_form_verdict(got: Any, _: Any) -> str | None:
    """The form of ``leaky_columns``: a list (or tuple, or set) of distinct column names of the table (never which
    ones)."""
    if isinstance(got, dict) and got.get(TAG) in ("tuple", "set"):
        got = list(got.get("items", []))
    if type(got) is str:
        return "`leaky_columns` is one string; make it a list of column names, e.g. ['amount']"
    if type(got) is not list:
        return f"`leaky_columns` should be a list of column names, but it is {kind(got)} ({show(got)})"
    if not got:
        return "`leaky_columns` is empty; list the columns you think leak the label"
    for item in got:
        if type(item) is not str:
            return f"each item of `leaky_columns` should be a column name (a string); got {kind(item)} ({show(item)})"
        if item not in _data.COLUMNS:
            return f"{item!r} is not a column of the table; copy the names from `df.columns`"
    if len(set(got)) != len(got):
        return "`leaky_columns` names a column twice"
    return None
