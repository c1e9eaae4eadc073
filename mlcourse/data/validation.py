"""Stage 1 of the lifecycle: data quality.

"Garbage in, garbage out": before a model sees a table, check that the table is
what you think it is, repair what can be repaired, say what you changed, and
record exactly which version of the data you trained on.

This module holds four tools:

* a declarative **schema** (:class:`Column`, :class:`Schema`) and
  :func:`validate`, which reports *every* violation, not only the first;
* **cleaning helpers** (:func:`drop_duplicates`, :func:`impute`,
  :func:`clip_outliers`, :func:`flag_outliers`, :func:`coerce_numeric`,
  :func:`normalize_categories`) that each return the cleaned frame together
  with a :class:`CleaningLog` of what they changed;
* a **leakage screen** (:func:`leakage_screen`) that names columns which predict
  the label too well or were recorded after prediction time;
* a **fingerprint** (:func:`fingerprint`), a content hash for dataset
  versioning.

Rule names used in :class:`Violation` are short, stable strings:
``"missing_column"``, ``"extra_column"``, ``"dtype"``, ``"nullable"``,
``"min"``, ``"max"``, ``"allowed"`` and ``"unique"``.
"""
from __future__ import annotations

import hashlib
import math
import re
import warnings
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from mlcourse.metrics import roc_auc

__all__ = [
    "RULES",
    "DTYPES",
    "Column",
    "Schema",
    "Violation",
    "ValidationReport",
    "validate",
    "TRANSACTIONS_SCHEMA",
    "Change",
    "CleaningLog",
    "drop_duplicates",
    "impute",
    "clip_outliers",
    "flag_outliers",
    "coerce_numeric",
    "normalize_categories",
    "leakage_screen",
    "fingerprint",
]

#: Every rule name :func:`validate` can report, in the order it checks them.
RULES = (
    "missing_column",
    "extra_column",
    "dtype",
    "nullable",
    "min",
    "max",
    "allowed",
    "unique",
)

#: The dtype names a :class:`Column` accepts. ``"category"`` is an alias of
#: ``"str"``: both accept text columns and pandas categoricals.
DTYPES = ("int", "float", "number", "str", "category", "bool", "datetime")

_NUMERIC = ("int", "float", "number")
_TEXT = ("str", "category")
_MAX_EXAMPLES = 5


# --------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """What one column must look like.

    Parameters
    ----------
    dtype : str
        One of ``"int"``, ``"float"``, ``"number"`` (int or float), ``"str"``
        (alias ``"category"``), ``"bool"`` or ``"datetime"``. An ``"int"``
        column may be stored as floats holding whole numbers, because pandas
        turns an integer column with a missing value into floats.
    nullable : bool, default False
        Whether missing values (NaN, None, NaT) are allowed.
    min, max : float or None
        Inclusive bounds for numeric (or datetime) values.
    allowed : collection or None
        The only values allowed (missing values aside).
    unique : bool, default False
        Whether every non-missing value must appear once.

    Examples
    --------
    >>> Column("float", min=0.01)
    Column(dtype='float', nullable=False, min=0.01, max=None, allowed=None, unique=False)
    """

    dtype: str
    nullable: bool = False
    min: Any = None
    max: Any = None
    allowed: Collection | None = None
    unique: bool = False

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {self.dtype!r}")
        if self.dtype in _TEXT + ("bool",) and (self.min is not None or self.max is not None):
            raise ValueError(f"min/max make no sense for a {self.dtype!r} column")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min!r}) is greater than max ({self.max!r})")
        if self.allowed is not None:
            if isinstance(self.allowed, (str, bytes)):
                raise ValueError("allowed must be a collection of values, not a single string")
            # A frozenset keeps the dataclass hashable and makes lookups cheap.
            object.__setattr__(self, "allowed", frozenset(self.allowed))


@dataclass(frozen=True)
class Schema:
    """The expected columns of a table.

    Parameters
    ----------
    columns : dict of str to Column
        The expected columns, in order.
    strict : bool, default True
        If True, a column not named in ``columns`` is an ``"extra_column"``
        violation.

    Examples
    --------
    >>> schema = Schema({"amount": Column("float", min=0.01)})
    >>> list(schema.columns)
    ['amount']
    """

    columns: Mapping[str, Column]
    strict: bool = True

    def __post_init__(self) -> None:
        for name, col in self.columns.items():
            if not isinstance(col, Column):
                raise TypeError(f"schema column {name!r} must be a Column, not {type(col).__name__}")


@dataclass(frozen=True)
class Violation:
    """One broken rule in one column.

    ``examples`` holds up to five offending values as plain Python objects.
    For ``"nullable"`` the offending values are all missing, so the examples
    are the row labels where they sit instead. ``message`` is a sentence for
    people; ``rule`` is the stable string to test against.
    """

    column: str
    rule: str
    count: int
    examples: list = field(default_factory=list)
    message: str = ""


@dataclass
class ValidationReport:
    """Every violation :func:`validate` found.

    Attributes
    ----------
    violations : list of Violation
    n_rows : int
        Rows in the validated frame.
    """

    violations: list[Violation]
    n_rows: int = 0

    @property
    def ok(self) -> bool:
        """True when there is no violation."""
        return not self.violations

    def to_frame(self) -> pd.DataFrame:
        """One row per violation: ``column, rule, count, examples``."""
        return pd.DataFrame(
            [(v.column, v.rule, v.count, list(v.examples)) for v in self.violations],
            columns=["column", "rule", "count", "examples"],
        )

    def rules(self, column: str | None = None) -> set[str]:
        """The set of rules broken (in ``column``, if given)."""
        return {v.rule for v in self.violations if column is None or v.column == column}

    def __str__(self) -> str:
        if self.ok:
            return f"Validation passed: {self.n_rows:,} rows, no violations."
        lines = [f"Validation failed: {len(self.violations)} violation(s) in {self.n_rows:,} rows"]
        width = max(len(str(v.column)) for v in self.violations)
        for v in self.violations:
            text = v.message or f"{v.count} value(s)"
            if v.examples:
                text += f", e.g. at rows {v.examples!r}" if v.rule == "nullable" else f"; e.g. {v.examples!r}"
            lines.append(f"  {str(v.column):<{width}}  {v.rule:<14} {v.count:>7,}  {text}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        head = "Validation passed" if self.ok else f"Validation failed: {len(self.violations)} violation(s)"
        table = "" if self.ok else self.to_frame().assign(
            message=[v.message for v in self.violations]
        ).to_html(index=False)
        return f"<p><b>{head}</b> ({self.n_rows:,} rows)</p>{table}"


def _plain(value: Any) -> Any:
    """Turn a numpy/pandas scalar into the plain Python object it stands for."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, pd.Timedelta):
        return value.to_pytimedelta()
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value).to_pydatetime()
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    return value


def _examples(values: Iterable[Any]) -> list:
    out: list = []
    seen: set = set()
    for v in values:
        p = _plain(v)
        try:
            key = (type(p), p)
            if key in seen:
                continue
            seen.add(key)
        except TypeError:  # unhashable values are rare; keep them all
            pass
        out.append(p)
        if len(out) == _MAX_EXAMPLES:
            break
    return out


def _is_real_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _check_dtype(s: pd.Series, col: Column) -> tuple[Violation | None, pd.Series]:
    """Check the storage type of ``s``.

    Returns the violation (if any) and the values as the expected type, with
    unparsable entries as missing, so the range checks can still run on a
    column that is, say, mostly numbers with a few stored as text.
    """
    name = s.name
    dt = s.dtype
    present = s[s.notna()]

    def bad(values: pd.Series, msg: str) -> Violation:
        return Violation(name, "dtype", int(len(values)), _examples(values), msg)

    if col.dtype in _NUMERIC:
        if ptypes.is_bool_dtype(dt):
            return bad(present, f"expected {col.dtype}, stored as bool"), pd.Series(np.nan, index=s.index)
        if ptypes.is_numeric_dtype(dt):
            values = s.astype("float64")
            if col.dtype == "int" and not ptypes.is_integer_dtype(dt):
                fractional = present[(values[present.index] % 1) != 0]
                if len(fractional):
                    return bad(fractional, f"expected int; {len(fractional)} value(s) have a fractional part"), values
            if col.dtype == "float" and not ptypes.is_float_dtype(dt):
                return bad(present, f"expected float, stored as {dt}"), values
            return None, values
        if ptypes.is_object_dtype(dt) or isinstance(dt, (pd.StringDtype, pd.CategoricalDtype)):
            parsed = pd.to_numeric(s.astype(object).where(s.notna(), None), errors="coerce")
            parsed = parsed.astype("float64")
            unparsable = present[parsed[present.index].isna()]
            text = present[[not _is_real_number(v) for v in present]]
            if len(unparsable):
                # The count is what a lenient parser cannot read; the message
                # also gives every value stored as text ("12.50" included).
                return bad(
                    unparsable,
                    f"expected {col.dtype}; {len(text)} value(s) stored as text, "
                    f"{len(unparsable)} of which do not parse as numbers",
                ), parsed
            if len(text):
                return bad(text, f"expected {col.dtype}; {len(text)} number(s) stored as text"), parsed
            return None, parsed
        return bad(present, f"expected {col.dtype}, stored as {dt}"), pd.Series(np.nan, index=s.index)

    if col.dtype in _TEXT:
        if isinstance(dt, (pd.StringDtype, pd.CategoricalDtype)):
            return None, s
        if ptypes.is_object_dtype(dt):
            not_text = present[[not isinstance(v, str) for v in present]]
            if len(not_text):
                return bad(not_text, f"expected text; {len(not_text)} value(s) are not strings"), s
            return None, s
        return bad(present, f"expected text, stored as {dt}"), s

    if col.dtype == "bool":
        if ptypes.is_bool_dtype(dt):
            return None, s
        if ptypes.is_object_dtype(dt):
            not_bool = present[[not isinstance(v, (bool, np.bool_)) for v in present]]
            if len(not_bool):
                return bad(not_bool, f"expected bool; {len(not_bool)} value(s) are not True/False"), s
            return None, s
        return bad(present, f"expected bool, stored as {dt}"), s

    # datetime
    if ptypes.is_datetime64_any_dtype(dt):
        return None, s
    if ptypes.is_object_dtype(dt) or isinstance(dt, pd.StringDtype):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(s.astype(object), errors="coerce", format="mixed")
        unparsable = present[parsed[present.index].isna()]
        if len(unparsable):
            return bad(unparsable, f"expected datetime; {len(unparsable)} value(s) do not parse as dates"), parsed
        return bad(present, f"expected datetime; {len(present)} date(s) stored as text"), parsed
    return bad(present, f"expected datetime, stored as {dt}"), pd.Series(pd.NaT, index=s.index)


def _check_column(s: pd.Series, col: Column, labels: pd.Index) -> list[Violation]:
    """All violations in one column; ``s`` has a RangeIndex, ``labels`` the frame's own."""
    name = s.name
    found: list[Violation] = []
    dtype_violation, values = _check_dtype(s, col)
    if dtype_violation is not None:
        found.append(dtype_violation)

    missing = s.isna()
    if not col.nullable and missing.any():
        n = int(missing.sum())
        found.append(Violation(name, "nullable", n, _examples(labels[missing.to_numpy()][:_MAX_EXAMPLES]),
                               f"{n} missing value(s)"))

    if col.min is not None or col.max is not None:
        bound = pd.Timestamp if col.dtype == "datetime" else float
        for rule, limit, op in (("min", col.min, np.less), ("max", col.max, np.greater)):
            if limit is None:
                continue
            # Values that failed to parse are already reported under "dtype".
            mask = values.notna() & op(values, bound(limit))
            if mask.any():
                n = int(mask.sum())
                word = "below" if rule == "min" else "above"
                found.append(Violation(name, rule, n, _examples(s[mask]), f"{n} value(s) {word} {limit!r}"))

    if col.allowed is not None:
        present = s[~missing]
        # Compare as objects so a categorical or string-dtype column behaves
        # like a plain one.
        outside = present[~present.astype(object).isin(list(col.allowed))]
        if len(outside):
            n = len(outside)
            found.append(Violation(name, "allowed", n, _examples(outside),
                                   f"{n} value(s) outside the allowed set"))

    if col.unique:
        present = s[~missing]
        dup = present.duplicated(keep="first")
        if dup.any():
            n = int(dup.sum())
            found.append(Violation(name, "unique", n, _examples(present[dup]),
                                   f"{n} row(s) repeat an earlier value"))
    return found


def validate(df: pd.DataFrame, schema: Schema) -> ValidationReport:
    """Check ``df`` against ``schema`` and report every violation.

    The check never stops at the first problem and never raises on a bad
    frame: a missing or extra column is a violation like any other.

    Parameters
    ----------
    df : pandas.DataFrame
    schema : Schema

    Returns
    -------
    ValidationReport
        ``.ok`` is True when nothing is wrong; ``.violations`` lists
        :class:`Violation` records; ``.to_frame()`` shows them as a table.

    Notes
    -----
    Counts: ``"missing_column"`` and ``"extra_column"`` count columns (1 each);
    ``"dtype"`` counts values stored with the wrong type (for numbers stored
    as text, the values that do not parse as numbers); ``"nullable"`` counts
    missing values; ``"min"``/``"max"``/``"allowed"`` count offending values;
    ``"unique"`` counts rows repeating an earlier value.

    Examples
    --------
    >>> import pandas as pd
    >>> schema = Schema({"amount": Column("float", min=0.01), "channel": Column("str", allowed={"chip", "online"})})
    >>> df = pd.DataFrame({"amount": [12.5, -3.0, None], "channel": ["chip", "Chip", "online"]})
    >>> validate(df, schema).to_frame()[["column", "rule", "count"]]
        column      rule  count
    0   amount  nullable      1
    1   amount       min      1
    2  channel   allowed      1
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"validate expects a pandas DataFrame, not {type(df).__name__}")
    if not isinstance(schema, Schema):
        raise TypeError(f"validate expects a Schema, not {type(schema).__name__}")

    violations: list[Violation] = []
    names = list(df.columns)
    for name, col in schema.columns.items():
        if name not in names:
            violations.append(Violation(name, "missing_column", 1, [], "column is missing"))
            continue
        # Position-based access keeps duplicated column names from turning the
        # column into a DataFrame, and a RangeIndex keeps duplicated row labels
        # (common after a concat) from misaligning the checks.
        s = df.iloc[:, names.index(name)].rename(name).reset_index(drop=True)
        violations.extend(_check_column(s, col, df.index))

    seen: set = set()
    for i, name in enumerate(names):
        if name in seen:
            violations.append(Violation(name, "extra_column", 1, _examples(df.iloc[:, i].head(_MAX_EXAMPLES)),
                                        "column name appears more than once"))
        elif schema.strict and name not in schema.columns:
            violations.append(Violation(name, "extra_column", 1, _examples(df.iloc[:, i].head(_MAX_EXAMPLES)),
                                        "column is not in the schema"))
        seen.add(name)
    return ValidationReport(violations, n_rows=len(df))


def _transactions_schema() -> Schema:
    from mlcourse.data.generate import CATEGORIES, CHANNELS, COUNTRIES, CUSTOMER_AGES

    flag = {0, 1}
    return Schema(
        {
            "transaction_id": Column("str", unique=True),
            "account_id": Column("str"),
            "merchant_id": Column("str"),
            "timestamp": Column("datetime"),
            "amount": Column("float", min=0.01),
            "hour": Column("int", min=0, max=23),
            "merchant_category": Column("str", allowed=CATEGORIES),
            "country": Column("str", allowed=COUNTRIES),
            "channel": Column("str", allowed=CHANNELS),
            "account_age_days": Column("int", min=0),
            "customer_age": Column("int", min=CUSTOMER_AGES[0], max=CUSTOMER_AGES[1]),
            "is_foreign": Column("int", allowed=flag),
            "is_fraud": Column("int", allowed=flag),
            "chargeback": Column("int", allowed=flag),
            "chargeback_at": Column("datetime", nullable=True),
        }
    )


# Declared, not assigned: the module's __getattr__ below builds it on first
# use. The declaration tells readers, type checkers and ruff (F822) that the
# name in __all__ exists.
TRANSACTIONS_SCHEMA: Schema


def __getattr__(name: str) -> Any:
    """Build ``TRANSACTIONS_SCHEMA`` on first use (PEP 562).

    ``TRANSACTIONS_SCHEMA`` is the schema of
    :func:`mlcourse.data.make_transactions`: a clean table passes, and every
    switched-on problem shows up. Missing values break ``nullable``;
    duplicates and replays break ``unique`` on ``transaction_id``; negative
    amounts and ages of 5 or 150 break ``min``/``max``; amounts stored as text
    break ``dtype``; misspelled categories break ``allowed``. Amounts that are
    extreme but possible (x100) are not schema violations: find them with
    :func:`flag_outliers`. Its allowed values come from :mod:`mlcourse.data`,
    which is imported only when the schema is first asked for.
    """
    if name == "TRANSACTIONS_SCHEMA":
        schema = _transactions_schema()
        globals()[name] = schema
        return schema
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------
# Cleaning
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One thing a cleaning helper did.

    Attributes
    ----------
    action : str
        The helper's name, e.g. ``"drop_duplicates"``.
    column : str or None
        The column changed, or None for whole rows.
    rows : int
        Rows dropped or touched.
    values : int
        Cell values changed (0 when rows were dropped).
    detail : str
        A sentence saying what happened.
    """

    action: str
    column: str | None
    rows: int
    values: int
    detail: str

    def __str__(self) -> str:
        return self.detail


@dataclass
class CleaningLog:
    """What a cleaning step changed: a list of :class:`Change` records.

    Logs add up, so a whole cleaning recipe can keep one log::

        df, log = drop_duplicates(df)
        df, more = impute(df, {"amount": "median"})
        log += more
    """

    changes: list[Change] = field(default_factory=list)

    def add(self, action: str, column: str | None, rows: int, values: int, detail: str) -> None:
        self.changes.append(Change(action, column, int(rows), int(values), detail))

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    def __getitem__(self, i: int) -> Change:
        return self.changes[i]

    def __add__(self, other: CleaningLog) -> CleaningLog:
        return CleaningLog(self.changes + list(other.changes))

    def __iadd__(self, other: CleaningLog) -> CleaningLog:
        self.changes.extend(other.changes)
        return self

    @property
    def rows_dropped(self) -> int:
        """Total rows dropped by the logged steps."""
        return sum(c.rows for c in self.changes if c.action == "drop_duplicates")

    @property
    def values_changed(self) -> int:
        """Total cell values changed (or flagged) by the logged steps."""
        return sum(c.values for c in self.changes)

    def to_frame(self) -> pd.DataFrame:
        """One row per change: ``action, column, rows, values, detail``."""
        return pd.DataFrame(
            [(c.action, c.column, c.rows, c.values, c.detail) for c in self.changes],
            columns=["action", "column", "rows", "values", "detail"],
        )

    def __str__(self) -> str:
        if not self.changes:
            return "Cleaning log: nothing changed."
        return "Cleaning log:\n" + "\n".join(f"  - {c.detail}" for c in self.changes)

    def __repr__(self) -> str:
        return str(self)


def _as_list(columns: str | Sequence[str]) -> list[str]:
    return [columns] if isinstance(columns, str) else list(columns)


def _require(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"{what}: column(s) not in the frame: {', '.join(map(str, missing))}")


def _start(
    df: pd.DataFrame, columns: Iterable[str], what: str, reference: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, CleaningLog]:
    """A cleaning step's start: its columns checked; the frame its statistics come from, a copy to change, a log."""
    _require(df, columns, what)
    if reference is None:
        return df, df.copy(), CleaningLog()
    _require(reference, columns, f"{what}(reference=...)")
    return reference, df.copy(), CleaningLog()


def drop_duplicates(
    df: pd.DataFrame,
    subset: Sequence[str] | None = None,
    near: Mapping[str, Any] | str | None = None,
) -> tuple[pd.DataFrame, CleaningLog]:
    """Drop exact duplicate rows and, optionally, near duplicates.

    Parameters
    ----------
    df : pandas.DataFrame
    subset : list of str, optional
        Columns that define an exact duplicate (default: all columns).
    near : dict or str, optional
        Near duplicates: rows that share a key but differ elsewhere, such as a
        transaction replayed seconds later with a new timestamp. Keys:

        ``"key"`` (str or list, required)
            The column(s) that identify one real-world record.
        ``"time_col"`` (str, optional)
            Keep the earliest row per key instead of the first in order.
        ``"window"`` (str or Timedelta, optional, needs ``time_col``)
            Only drop rows within this time of the kept row.

        A plain string is shorthand for ``{"key": near}``.

    Returns
    -------
    (DataFrame, CleaningLog)
        The frame without the duplicates (original index and row order kept)
        and what was dropped. Rows that are not duplicates always survive.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"transaction_id": ["t1", "t1", "t2", "t2"], "amount": [5.0, 5.0, 7.0, 7.5]})
    >>> clean, log = drop_duplicates(df, near={"key": "transaction_id"})
    >>> clean["transaction_id"].tolist()
    ['t1', 't2']
    >>> print(log)
    Cleaning log:
      - dropped 1 exact duplicate row(s)
      - dropped 1 near-duplicate row(s) sharing transaction_id (kept the first)
    """
    if subset is not None:
        _require(df, _as_list(subset), "drop_duplicates")
    log = CleaningLog()
    exact = df.duplicated(subset=subset, keep="first")
    n_exact = int(exact.sum())
    out = df[~exact.to_numpy()]
    scope = "" if subset is None else f" on {', '.join(map(str, _as_list(subset)))}"
    log.add("drop_duplicates", None, n_exact, 0, f"dropped {n_exact} exact duplicate row(s){scope}")

    if near is not None:
        spec = {"key": near} if isinstance(near, str) else dict(near)
        unknown = set(spec) - {"key", "time_col", "window"}
        if "key" not in spec or unknown:
            raise ValueError("near must look like {'key': 'transaction_id', 'time_col': ..., 'window': ...}")
        key = _as_list(spec["key"])
        time_col = spec.get("time_col")
        window = spec.get("window")
        if window is not None and time_col is None:
            raise ValueError("near['window'] needs near['time_col']")
        _require(df, key + ([time_col] if time_col else []), "drop_duplicates(near=...)")

        # Work by position so a non-unique index cannot take valid rows with it.
        order = np.arange(len(out))
        if time_col:
            order = np.argsort(out[time_col].to_numpy(), kind="stable")
        ordered = out.iloc[order]
        dup = ordered.duplicated(subset=key, keep="first").to_numpy()
        if window is not None:
            first_time = ordered.groupby(key, sort=False, dropna=False)[time_col].transform("first")
            dup = dup & ((ordered[time_col] - first_time) <= pd.Timedelta(window)).to_numpy()
        keep = np.ones(len(out), dtype=bool)
        keep[order[dup]] = False
        n_near = int(dup.sum())
        out = out[keep]
        rule = "the earliest" if time_col else "the first"
        within = f" within {window}" if window is not None else ""
        log.add("drop_duplicates", None, n_near, 0,
                f"dropped {n_near} near-duplicate row(s) sharing {', '.join(map(str, key))}{within} (kept {rule})")
    return out, log


_STRATEGIES = ("mean", "median", "most_frequent", "constant")


def _fill_value(ref: pd.Series, how: Any) -> tuple[Any, str]:
    name = ref.name
    if isinstance(how, tuple) and len(how) == 2 and how[0] == "constant":
        return how[1], f"the constant {how[1]!r}"
    if how not in _STRATEGIES[:3]:
        raise ValueError(
            f"impute: strategy for {name!r} must be 'mean', 'median', 'most_frequent' "
            f"or ('constant', value); got {how!r}"
        )
    present = ref.dropna()
    if present.empty:
        raise ValueError(f"impute: column {name!r} has no non-missing value to compute the {how} from")
    if how in ("mean", "median"):
        if not ptypes.is_numeric_dtype(ref.dtype) or ptypes.is_bool_dtype(ref.dtype):
            raise ValueError(
                f"impute: cannot take the {how} of {name!r} (dtype {ref.dtype}); "
                "run coerce_numeric on it first"
            )
        value = float(getattr(present, how)())
        whole = ptypes.is_integer_dtype(ref.dtype) or bool((present % 1 == 0).all())
        if whole and value != round(value):
            # An integer column (stored as float only because of its gaps)
            # should not gain fractional values like an age of 44.5.
            value = float(round(value))
            return value, f"the {how} rounded to {value:.6g} (the column holds whole numbers)"
        return value, f"the {how} {value:.6g}"
    # Ties go to the smallest value, as in sklearn's SimpleImputer.
    value = _plain(present.mode(dropna=True).iloc[0])
    return value, f"the most frequent value {value!r}"


def impute(
    df: pd.DataFrame,
    strategy: Mapping[str, Any],
    *,
    reference: pd.DataFrame | None = None,
    add_indicator: bool = False,
) -> tuple[pd.DataFrame, CleaningLog]:
    """Fill missing values column by column.

    Parameters
    ----------
    df : pandas.DataFrame
    strategy : dict
        Column name to ``"mean"``, ``"median"``, ``"most_frequent"`` or
        ``("constant", value)``.
    reference : pandas.DataFrame, optional
        Frame to compute the fill values from (default: ``df``). Pass the
        training split here when filling a test split, so that no statistic
        of the test data leaks into it. Inside a model, prefer sklearn's
        ``SimpleImputer`` in a ``Pipeline``, which does this for you.
    add_indicator : bool, default False
        Also add a boolean ``<column>_was_missing`` column: missingness itself
        often carries signal.

    Returns
    -------
    (DataFrame, CleaningLog)
        A copy with the gaps filled; no row is dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"amount": [10.0, None, 30.0], "merchant_category": ["grocery", None, "grocery"]})
    >>> clean, log = impute(df, {"amount": "median", "merchant_category": "most_frequent"})
    >>> clean["amount"].tolist()
    [10.0, 20.0, 30.0]
    >>> print(log)
    Cleaning log:
      - amount: filled 1 missing value(s) with the median 20
      - merchant_category: filled 1 missing value(s) with the most frequent value 'grocery'
    """
    ref, out, log = _start(df, strategy, "impute", reference)
    for name, how in strategy.items():
        value, said = _fill_value(ref[name], how)
        missing = out[name].isna()
        n = int(missing.sum())
        if add_indicator:
            out[f"{name}_was_missing"] = missing
        if n:
            col = out[name]
            if isinstance(col.dtype, pd.CategoricalDtype) and value not in col.cat.categories:
                col = col.cat.add_categories([value])
            out[name] = col.fillna(value)
        log.add("impute", name, n, n, f"{name}: filled {n} missing value(s) with {said}")
    return out, log


def _bounds(s: pd.Series, method: str, k: float, quantiles: tuple[float, float]) -> tuple[float, float]:
    if not ptypes.is_numeric_dtype(s.dtype) or ptypes.is_bool_dtype(s.dtype):
        raise ValueError(f"column {s.name!r} is not numeric (dtype {s.dtype}); run coerce_numeric on it first")
    present = s.dropna().astype("float64")
    if present.empty:
        raise ValueError(f"column {s.name!r} has no values to compute outlier bounds from")
    if method == "iqr":
        q1, q3 = present.quantile([0.25, 0.75])
        spread = q3 - q1
        return float(q1 - k * spread), float(q3 + k * spread)
    if method == "quantile":
        lo, hi = quantiles
        if not 0 <= lo < hi <= 1:
            raise ValueError(f"quantiles must satisfy 0 <= low < high <= 1; got {quantiles!r}")
        qlo, qhi = present.quantile([lo, hi])
        return float(qlo), float(qhi)
    raise ValueError(f"method must be 'iqr' or 'quantile'; got {method!r}")


def _method_text(method: str, k: float, quantiles: tuple[float, float]) -> str:
    return f"iqr, k={k:g}" if method == "iqr" else f"quantiles {quantiles[0]:g}-{quantiles[1]:g}"


def clip_outliers(
    df: pd.DataFrame,
    columns: str | Sequence[str],
    method: str = "iqr",
    *,
    k: float = 1.5,
    quantiles: tuple[float, float] = (0.01, 0.99),
    reference: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, CleaningLog]:
    """Clip extreme values of numeric columns to robust bounds.

    Parameters
    ----------
    df : pandas.DataFrame
    columns : str or list of str
    method : {"iqr", "quantile"}
        ``"iqr"``: bounds ``Q1 - k*IQR`` and ``Q3 + k*IQR`` (Tukey's fences).
        ``"quantile"``: the ``quantiles`` of the column (winsorising).
    k : float, default 1.5
    quantiles : (float, float), default (0.01, 0.99)
    reference : pandas.DataFrame, optional
        Frame to compute the bounds from (default: ``df``), e.g. the
        training split.

    Returns
    -------
    (DataFrame, CleaningLog)
        A copy with the clipped values; no row is dropped. Missing values stay
        missing. Integer columns stay integer (bounds are rounded inwards).

    See Also
    --------
    flag_outliers : mark outliers without changing them.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"amount": [10.0, 11.0, 12.0, 13.0, 500.0]})
    >>> clean, log = clip_outliers(df, "amount")
    >>> clean["amount"].max()
    np.float64(16.0)
    >>> log[0].values
    1
    """
    cols = _as_list(columns)
    ref, out, log = _start(df, cols, "clip_outliers", reference)
    for name in cols:
        lo, hi = _bounds(ref[name], method, k, quantiles)
        if ptypes.is_integer_dtype(out[name].dtype):
            lo, hi = math.ceil(lo), math.floor(hi)
        col = out[name]
        changed = (col < lo) | (col > hi)
        n = int(changed.sum())
        out[name] = col.clip(lower=lo, upper=hi)
        log.add("clip_outliers", name, n, n,
                f"{name}: clipped {n} value(s) to [{lo:.6g}, {hi:.6g}] ({_method_text(method, k, quantiles)})")
    return out, log


def flag_outliers(
    df: pd.DataFrame,
    columns: str | Sequence[str],
    method: str = "iqr",
    *,
    k: float = 1.5,
    quantiles: tuple[float, float] = (0.01, 0.99),
    reference: pd.DataFrame | None = None,
    suffix: str = "_outlier",
) -> tuple[pd.DataFrame, CleaningLog]:
    """Mark extreme values in a new boolean column, leaving the values alone.

    Takes the same bounds as :func:`clip_outliers`. For each column ``c`` a
    column ``c + suffix`` (default ``c_outlier``) is added, True where the
    value lies outside the bounds (missing values are never flagged).

    Returns
    -------
    (DataFrame, CleaningLog)
        A copy with the flag columns added; no value changes, no row is
        dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"amount": [10.0, 11.0, 12.0, 13.0, 500.0]})
    >>> flagged, log = flag_outliers(df, "amount")
    >>> flagged["amount_outlier"].tolist()
    [False, False, False, False, True]
    """
    cols = _as_list(columns)
    ref, out, log = _start(df, cols, "flag_outliers", reference)
    for name in cols:
        lo, hi = _bounds(ref[name], method, k, quantiles)
        flag = ((out[name] < lo) | (out[name] > hi)).fillna(False).astype(bool)
        out[name + suffix] = flag
        n = int(flag.sum())
        log.add("flag_outliers", name, n, n,
                f"{name}: flagged {n} value(s) outside [{lo:.6g}, {hi:.6g}] "
                f"({_method_text(method, k, quantiles)}) in new column {name + suffix!r}")
    return out, log


_NUMBER_TEXT = re.compile(r"^(?P<sign>[+-]?)[$€£¥]?(?P<sign2>[+-]?)(?P<num>\d[\d.,]*)[$€£¥]?$")
_CURRENCY_CODE = re.compile(r"^[A-Za-z]{3}(?=[\d$€£¥+-])|(?<=[\d.,])[A-Za-z]{3}$")


def _parse_number(value: Any) -> float:
    """Parse one messy number: '$12.50', '12,50', '1,234.5', 'EUR 7', '(3.20)'."""
    if value is None or value is pd.NA or value is pd.NaT:
        return math.nan
    if isinstance(value, (bool, np.bool_)):
        return math.nan
    if _is_real_number(value):
        return float(value)
    text = re.sub(r"\s+", "", str(value))
    if not text:
        return math.nan
    try:
        return float(text)
    except ValueError:
        pass
    negative = text.startswith("(") and text.endswith(")")
    if negative:
        text = text[1:-1]
    text = _CURRENCY_CODE.sub("", text)
    m = _NUMBER_TEXT.match(text)
    if not m or (m["sign"] and m["sign2"]):
        return math.nan
    num = m["num"]
    if "," in num and "." in num:
        # Whichever separator comes last is the decimal point.
        if num.rfind(",") > num.rfind("."):
            num = num.replace(".", "").replace(",", ".")
        else:
            num = num.replace(",", "")
    elif "," in num:
        parts = num.split(",")
        # One comma followed by other than three digits is a decimal comma
        # ("12,50"); otherwise commas group thousands ("1,234", "1,234,567").
        if len(parts) == 2 and len(parts[1]) != 3:
            num = ".".join(parts)
        elif all(len(p) == 3 for p in parts[1:]):
            num = "".join(parts)
        else:
            return math.nan
    elif num.count(".") > 1:
        parts = num.split(".")
        if not all(len(p) == 3 for p in parts[1:]):
            return math.nan
        num = "".join(parts)
    try:
        result = float(num)
    except ValueError:
        return math.nan
    if negative or "-" in (m["sign"] + m["sign2"]):
        result = -result
    return result


def coerce_numeric(df: pd.DataFrame, column: str | Sequence[str]) -> tuple[pd.DataFrame, CleaningLog]:
    """Turn numbers stored as text into floats.

    Understands currency symbols and codes (``"$12.50"``, ``"12.50 EUR"``),
    decimal commas (``"12,50"`` is 12.5), thousands separators
    (``"1,234.50"``, ``"1.234,50"``) and accounting negatives (``"(3.20)"``).
    A single comma followed by exactly three digits is read as a thousands
    separator (``"1,234"`` is 1234). Text that cannot be parsed becomes NaN
    and is counted in the log, with examples, so nothing disappears silently.

    Parameters
    ----------
    df : pandas.DataFrame
    column : str or list of str

    Returns
    -------
    (DataFrame, CleaningLog)
        A copy where each column is ``float64``; no row is dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"amount": [3.0, "$12.50", "12,50", "oops"]})
    >>> clean, log = coerce_numeric(df, "amount")
    >>> clean["amount"].tolist()
    [3.0, 12.5, 12.5, nan]
    >>> print(log)
    Cleaning log:
      - amount: parsed 2 text value(s) as numbers (e.g. ['$12.50', '12,50']); 1 could not be parsed and became NaN (e.g. ['oops'])
    """
    cols = _as_list(column)
    _, out, log = _start(df, cols, "coerce_numeric")
    for name in cols:
        s = out[name]
        if ptypes.is_numeric_dtype(s.dtype) and not ptypes.is_bool_dtype(s.dtype):
            out[name] = s.astype("float64")
            log.add("coerce_numeric", name, 0, 0, f"{name}: already numeric, nothing to parse")
            continue
        raw = s.astype(object)
        # Parse each distinct value once: malformed columns repeat a lot.
        distinct = pd.unique(raw[raw.notna()])
        table = {v: _parse_number(v) for v in distinct}
        parsed = raw.map(lambda v, table=table: table.get(v, math.nan) if v is not None and v == v else math.nan)
        parsed = parsed.astype("float64")
        present = raw.notna()
        is_text = present & raw.map(lambda v: not _is_real_number(v))
        failed = present & parsed.isna()
        converted = is_text & ~failed
        out[name] = parsed
        n_conv, n_fail = int(converted.sum()), int(failed.sum())
        detail = f"{name}: parsed {n_conv} text value(s) as numbers"
        if n_conv:
            detail += f" (e.g. {_examples(raw[converted])!r})"
        if n_fail:
            detail += f"; {n_fail} could not be parsed and became NaN (e.g. {_examples(raw[failed])!r})"
        log.add("coerce_numeric", name, n_conv + n_fail, n_conv + n_fail, detail)
    return out, log


def _canonical_text(v: Any) -> Any:
    return re.sub(r"\s+", " ", v).strip() if isinstance(v, str) else v


def normalize_categories(
    df: pd.DataFrame,
    columns: str | Sequence[str],
    allowed: Collection | Mapping[str, Collection] | None = None,
) -> tuple[pd.DataFrame, CleaningLog]:
    """Repair inconsistent spellings of category labels.

    Strips surrounding whitespace and collapses inner runs of it. When
    ``allowed`` is given (one collection for all columns, or a dict per
    column), a value matching an allowed label case-insensitively is replaced
    by that label (``"Grocery "`` becomes ``"grocery"``); values matching no
    label are left alone and counted in the log.

    Returns
    -------
    (DataFrame, CleaningLog)
        A copy with the repaired labels; no row is dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"merchant_category": ["grocery", "Grocery ", " GROCERY", "travel"]})
    >>> clean, log = normalize_categories(df, "merchant_category", allowed={"grocery", "travel"})
    >>> clean["merchant_category"].tolist()
    ['grocery', 'grocery', 'grocery', 'travel']
    """
    cols = _as_list(columns)
    _, out, log = _start(df, cols, "normalize_categories")
    for name in cols:
        labels = allowed.get(name) if isinstance(allowed, Mapping) else allowed
        lookup = {} if labels is None else {str(a).casefold(): a for a in labels}
        raw = out[name].astype(object)

        def fix(v: Any, lookup: dict = lookup) -> Any:
            v2 = _canonical_text(v)
            if lookup and isinstance(v2, str):
                return lookup.get(v2.casefold(), v2)
            return v2

        fixed = raw.map(fix)
        changed = raw.notna() & (fixed != raw)
        n = int(changed.sum())
        out[name] = fixed.astype(out[name].dtype) if not isinstance(out[name].dtype, pd.CategoricalDtype) else fixed
        detail = f"{name}: respelled {n} value(s)"
        if n:
            detail += f" (e.g. {_examples(raw[changed])!r})"
        if lookup:
            unknown = fixed.notna() & ~fixed.isin(list(lookup.values()))
            if unknown.any():
                detail += f"; {int(unknown.sum())} value(s) match no allowed label (e.g. {_examples(fixed[unknown])!r})"
        log.add("normalize_categories", name, n, n, detail)
    return out, log


# --------------------------------------------------------------------------
# Leakage screen
# --------------------------------------------------------------------------


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    auc = roc_auc(y, score)
    # A feature that ranks the classes backwards is just as telling.
    return max(auc, 1.0 - auc)


def _target_encoder(n_splits: int, seed: int) -> Any:
    """An out-of-fold target encoder with shuffled, stratified, seeded folds."""
    import sklearn
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import TargetEncoder

    version = tuple(int(p) for p in re.findall(r"\d+", sklearn.__version__)[:2])
    if version >= (1, 9):
        # scikit-learn 1.9 takes a splitter and deprecates shuffle/random_state.
        folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        return TargetEncoder(target_type="binary", cv=folds)
    return TargetEncoder(target_type="binary", cv=n_splits, shuffle=True, random_state=seed)


def leakage_screen(
    df: pd.DataFrame,
    target: str,
    *,
    time_col: str | None = "timestamp",
    auc_threshold: float = 0.95,
    n_splits: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """Name columns that look like leaks of the label.

    Two tests, both cheap enough to run on every new table:

    * **Too good to be true.** Each feature alone is scored by ROC-AUC
      against the target, taking ``max(auc, 1 - auc)``. Numeric and boolean
      columns are scored by their values (missing values left out).
      Categorical and text columns are scored by their target rate, encoded
      out of fold (sklearn's ``TargetEncoder`` with cross fitting), so an id
      column with a new value on every row scores about 0.5 instead of being
      falsely flagged. A score of ``auc_threshold`` or more is suspicious.
    * **Recorded too late.** A datetime column with any value after
      ``time_col`` (the moment a prediction is made) holds information from
      the future.

    Parameters
    ----------
    df : pandas.DataFrame
    target : str
        The binary label column.
    time_col : str or None, default "timestamp"
        The prediction-time column; None (or absent) skips the time test.
    auc_threshold : float, default 0.95
    n_splits : int, default 5
        Folds of the out-of-fold target encoding.
    seed : int, default 0

    Returns
    -------
    pandas.DataFrame
        One row per suspicious column, most suspicious first, with columns
        ``column``, ``reason`` (e.g. ``"single-feature ROC-AUC 0.98"`` or
        ``"recorded after prediction time (...)"``) and ``score`` (the AUC,
        or the share of values recorded after ``time_col``). Empty when
        nothing looks suspicious.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 500)
    >>> df = pd.DataFrame({"honest": rng.normal(size=500) + y * 0.5, "leak": y, "label": y})
    >>> leakage_screen(df, "label", time_col=None)["column"].tolist()
    ['leak']
    """
    if target not in df.columns:
        raise KeyError(f"leakage_screen: target column {target!r} is not in the frame")
    labels = df[target]
    known = labels.notna().to_numpy()
    classes = pd.unique(labels[known])
    if len(classes) != 2:
        raise ValueError(f"leakage_screen needs a binary target; {target!r} has {len(classes)} distinct value(s)")
    frame = df[known]
    positive = sorted(classes, key=str)[1]
    y = (frame[target] == positive).to_numpy().astype(int)

    has_time = time_col is not None and time_col in frame.columns and ptypes.is_datetime64_any_dtype(frame[time_col])
    rows: list[tuple[str, str, float]] = []
    for name in frame.columns:
        if name == target or name == time_col:
            continue
        s = frame[name]
        if ptypes.is_datetime64_any_dtype(s.dtype):
            if not has_time:
                continue
            present = s.notna()
            later = (s > frame[time_col]).fillna(False)
            n_later = int(later.sum())
            if n_later:
                n_present = int(present.sum())
                rows.append((name, f"recorded after prediction time ({n_later} of {n_present} values later than "
                                   f"{time_col!r})", n_later / n_present))
            continue
        if ptypes.is_timedelta64_dtype(s.dtype):
            s = s.dt.total_seconds()
        if ptypes.is_bool_dtype(s.dtype) or ptypes.is_numeric_dtype(s.dtype):
            values = s.astype("float64").to_numpy()
            ok = ~np.isnan(values)
            if len(np.unique(y[ok])) < 2:
                continue
            score = _auc(y[ok], values[ok])
        else:
            text = s.astype(object).where(s.notna(), "<missing>").astype(str).to_frame()
            encoder = _target_encoder(n_splits, seed)
            encoded = encoder.fit_transform(text, y)[:, 0]
            score = _auc(y, encoded)
        if score >= auc_threshold:
            rows.append((name, f"single-feature ROC-AUC {score:.2f}", score))
    result = pd.DataFrame(rows, columns=["column", "reason", "score"])
    return result.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------
# Fingerprint
# --------------------------------------------------------------------------


def fingerprint(df: pd.DataFrame, *, index: bool = False) -> str:
    """A content hash of a table, for knowing which data a model saw.

    The hash (SHA-256, hex) covers every value, the column names, the dtypes
    and the row order, so changing any single cell, renaming a column,
    changing a dtype (``1`` vs ``1.0``) or shuffling rows gives a different
    fingerprint, while two equal frames always share one. Log it with every
    training run (see :func:`mlcourse.train.training.log_run`).

    Parameters
    ----------
    df : pandas.DataFrame
    index : bool, default False
        Also hash the index labels. Off by default because a RangeIndex
        rebuilt after filtering says nothing about the data.

    Returns
    -------
    str
        64 hexadecimal characters.

    Notes
    -----
    This only *identifies* a version. In production a tool such as DVC (Data
    Version Control) stores the versions too: it keeps large files out of
    git, records their hashes in small ``.dvc`` files that git does track,
    and can check out the exact data behind any commit.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"x": [1, 2, 3]})
    >>> fingerprint(a) == fingerprint(a.copy())
    True
    >>> fingerprint(a) == fingerprint(a.assign(x=[1, 2, 4]))
    False
    """
    from pandas.util import hash_pandas_object

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"fingerprint expects a pandas DataFrame, not {type(df).__name__}")
    h = hashlib.sha256()
    header = [f"{len(df)}x{df.shape[1]}"] + [f"{name!r}:{dtype}" for name, dtype in df.dtypes.items()]
    h.update("\x1f".join(header).encode("utf-8"))
    if len(df) and df.shape[1]:
        try:
            rows = hash_pandas_object(df, index=index, categorize=True)
        except TypeError:
            # Cells holding unhashable objects (lists, dicts) are hashed by
            # their text form.
            rows = hash_pandas_object(df.astype(str), index=index, categorize=True)
        h.update(rows.to_numpy().tobytes())
    elif index and len(df):
        h.update(hash_pandas_object(df.index).to_numpy().tobytes())
    return h.hexdigest()
