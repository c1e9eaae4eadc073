"""Exercises of lesson 01, Data: collect, validate, clean, version, and avoid leakage.

Each exercise is one declarative definition. The references they compare
against are the package's own tools (:mod:`mlcourse.validation`), which the
learner is asked to re-create, so each exercise forbids calling them.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlcourse.exercises.compare import Compare
from mlcourse.exercises.engine import Exercise, Function, Mistake, Value, holds, returns, value_is
from mlcourse.exercises.plain import TAG

# --------------------------------------------------------------------------
# data.find_violations: report every schema violation
# --------------------------------------------------------------------------
RULES = ("missing_column", "nullable", "min", "max", "allowed")


def reference_violations(df: pd.DataFrame, schema: dict) -> pd.DataFrame:
    """The expected answer, computed with :func:`mlcourse.validation.validate`."""
    from mlcourse.validation import Column, Schema, validate

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
    forbid=("mlcourse.validation.validate",),
    on_error={
        "KeyError": "A column named in the schema may be absent from the frame: report it as "
        "(column, 'missing_column', 1) instead of looking it up.",
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


def _fingerprint_variants(fn: Any, inputs: tuple) -> dict:
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
    tests=[holds("a random frame and five variants of it", _fingerprint_variants, _fingerprint_verdict, inputs=fingerprint_inputs)],
    hints=(
        "A fingerprint is a hash of everything that makes the data what it is: values, row order, column names, dtypes.",
        "`hashlib.sha256()` takes bytes through `.update(...)`; `pd.util.hash_pandas_object(df, index=False)` gives one "
        "uint64 per row, and `.to_numpy().tobytes()` turns them into bytes.",
        "Also update the hash with the column names and dtypes, e.g. `str(list(df.dtypes.items())).encode()`, then "
        "return `h.hexdigest()`.",
    ),
    forbid=("mlcourse.validation.fingerprint",),
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
            transform=lambda v: sorted(v) if isinstance(v, (list, tuple, set)) else v,
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
