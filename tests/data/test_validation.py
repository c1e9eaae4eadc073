"""Tests for mlcourse.data.validation: schema checks, cleaning, leakage screen, fingerprint."""
from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from mlcourse.data import validation as V
from mlcourse.data.generate import CATEGORIES, make_transactions
from mlcourse.data.validation import (
    TRANSACTIONS_SCHEMA,
    Column,
    Schema,
    clip_outliers,
    coerce_numeric,
    drop_duplicates,
    fingerprint,
    flag_outliers,
    impute,
    leakage_screen,
    normalize_categories,
    validate,
)

SCHEMA = Schema(
    {
        "id": Column("str", unique=True),
        "amount": Column("float", min=0.01),
        "age": Column("int", min=18, max=90),
        "category": Column("str", allowed={"grocery", "travel", "online"}),
        "when": Column("datetime"),
        "flag": Column("bool", nullable=True),
    }
)


def clean_frame(n: int = 8) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"t{i}" for i in range(n)],
            "amount": np.linspace(1.0, 80.0, n),
            "age": np.arange(20, 20 + n),
            "category": (["grocery", "travel", "online"] * n)[:n],
            "when": pd.date_range("2024-01-01", periods=n, freq="h"),
            "flag": [True, False] * (n // 2),
        }
    )


def found(report: V.ValidationReport) -> set[tuple[str, str, int]]:
    return {(v.column, v.rule, v.count) for v in report.violations}


# --------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------


def test_clean_frame_has_no_violations():
    report = validate(clean_frame(), SCHEMA)
    assert report.ok
    assert report.violations == []
    assert report.to_frame().empty
    assert list(report.to_frame().columns) == ["column", "rule", "count", "examples"]
    assert "passed" in str(report)


def test_every_problem_is_reported_with_its_count():
    df = clean_frame().astype({"amount": object})
    df.loc[0, "amount"] = "$12.50"  # number stored as text
    df.loc[1, "amount"] = "oops"
    df.loc[2, "amount"] = -5.0  # below min
    df.loc[3, "age"] = 150  # above max
    df.loc[4, "age"] = 5  # below min
    df["age"] = df["age"].astype(float)
    df.loc[5, "age"] = np.nan  # missing in a non-nullable int column
    df.loc[6, "category"] = "Grocery "  # not an allowed spelling
    df.loc[7, "id"] = "t0"  # repeats an earlier id
    df = df.drop(columns="when").assign(extra=1)

    report = validate(df, SCHEMA)

    assert not report.ok
    assert found(report) == {
        ("when", "missing_column", 1),
        ("extra", "extra_column", 1),
        ("amount", "dtype", 2),
        ("amount", "min", 1),
        ("age", "max", 1),
        ("age", "min", 1),
        ("age", "nullable", 1),
        ("category", "allowed", 1),
        ("id", "unique", 1),
    }
    by_rule = {(v.column, v.rule): v for v in report.violations}
    assert by_rule["amount", "dtype"].examples == ["$12.50", "oops"]
    assert by_rule["amount", "min"].examples == [-5.0]
    assert by_rule["age", "max"].examples == [150.0]
    assert by_rule["category", "allowed"].examples == ["Grocery "]
    assert by_rule["id", "unique"].examples == ["t0"]
    assert by_rule["age", "nullable"].examples == [5]  # the row label
    assert set(report.violations[0].__dict__) >= {"column", "rule", "count", "examples"}
    assert {v.rule for v in report.violations} <= set(V.RULES)

    table = report.to_frame()
    assert list(table.columns) == ["column", "rule", "count", "examples"]
    assert len(table) == 9
    text = str(report)
    assert "9 violation" in text and "amount" in text and "$12.50" in text
    assert repr(report) == text
    assert "<table" in report._repr_html_()


def test_counts_scale_with_the_number_of_bad_values():
    df = clean_frame(40)
    df.loc[[1, 5, 9, 13, 17, 21, 25], "age"] = 150
    df.loc[[2, 3, 4], "amount"] = np.nan
    df.loc[10:14, "category"] = "Travel"
    report = validate(df, SCHEMA)
    assert found(report) == {("age", "max", 7), ("amount", "nullable", 3), ("category", "allowed", 5)}
    allowed = next(v for v in report.violations if v.rule == "allowed")
    assert allowed.examples == ["Travel"]  # distinct values, not one per row
    nulls = next(v for v in report.violations if v.rule == "nullable")
    assert nulls.examples == [2, 3, 4]


def test_examples_are_plain_python_and_at_most_five():
    df = clean_frame(20)
    df["age"] = np.arange(100, 120)  # all above max, as numpy int64
    df["when"] = df["when"].astype(str).where(df.index > 0, "not a date")
    report = validate(df, SCHEMA)
    for v in report.violations:
        assert len(v.examples) <= 5
        for e in v.examples:
            assert type(e) in (int, float, str, bool, dt.datetime, type(None)), (v, type(e))
    by_rule = {(v.column, v.rule): v for v in report.violations}
    assert by_rule["age", "max"].count == 20
    assert by_rule["age", "max"].examples == [100, 101, 102, 103, 104]
    # A datetime stored as text is a dtype problem; the unparsable value is named.
    assert by_rule["when", "dtype"].count == 1
    assert by_rule["when", "dtype"].examples == ["not a date"]


def test_missing_and_extra_columns_are_reported_not_raised():
    report = validate(pd.DataFrame({"surprise": [1, 2]}), SCHEMA)
    assert found(report) == {(name, "missing_column", 1) for name in SCHEMA.columns} | {
        ("surprise", "extra_column", 1)
    }
    empty = validate(pd.DataFrame(), SCHEMA)
    assert {v.rule for v in empty.violations} == {"missing_column"}
    assert len(empty.violations) == len(SCHEMA.columns)


def test_non_strict_schema_ignores_extra_columns():
    loose = Schema(dict(SCHEMA.columns), strict=False)
    assert validate(clean_frame().assign(note="x"), loose).ok


def test_duplicated_column_name_is_reported_not_raised():
    df = clean_frame()
    df = pd.concat([df, df[["amount"]]], axis=1)
    report = validate(df, SCHEMA)
    assert found(report) == {("amount", "extra_column", 1)}


def test_int_column_holding_nan_is_only_a_null_problem():
    df = clean_frame()
    df["age"] = df["age"].astype(float)
    df.loc[2, "age"] = np.nan
    assert found(validate(df, SCHEMA)) == {("age", "nullable", 1)}
    df.loc[3, "age"] = 30.5
    assert ("age", "dtype", 1) in found(validate(df, SCHEMA))


def test_dtype_mismatches():
    df = clean_frame()
    df["amount"] = df["amount"].astype(str)  # every value is parsable text
    df["category"] = 7
    df["flag"] = 1
    report = validate(df, SCHEMA)
    assert found(report) >= {("amount", "dtype", 8), ("category", "dtype", 8), ("flag", "dtype", 8)}
    # text that parses is still range-checked
    df2 = clean_frame().astype({"amount": object})
    df2.loc[0, "amount"] = "-3"
    assert ("amount", "min", 1) in found(validate(df2, SCHEMA))


def test_category_dtype_and_nullable_columns():
    schema = Schema({"c": Column("category", nullable=True, allowed={"a", "b"})})
    df = pd.DataFrame({"c": pd.Categorical(["a", "b", None, "z"])})
    assert found(validate(df, schema)) == {("c", "allowed", 1)}


def test_column_rejects_nonsense():
    with pytest.raises(ValueError, match="dtype"):
        Column("integer")
    with pytest.raises(ValueError, match="greater than max"):
        Column("int", min=5, max=1)
    with pytest.raises(ValueError, match="min/max"):
        Column("str", min=1)
    with pytest.raises(TypeError):
        validate([1, 2, 3], SCHEMA)
    assert Column("str", allowed=["a", "b"]).allowed == frozenset({"a", "b"})
    hash(Column("str", allowed=["a"]))  # frozen and hashable


# --------------------------------------------------------------------------
# cleaning
# --------------------------------------------------------------------------


def test_drop_duplicates_exact_and_near_keeps_valid_rows():
    df = clean_frame(6)
    exact = df.iloc[[1]]
    replay = df.iloc[[3]].assign(when=df.loc[3, "when"] + pd.Timedelta(seconds=4))
    dirty = pd.concat([df, exact, replay], ignore_index=True)
    assert len(dirty) == 8

    only_exact, log = drop_duplicates(dirty)
    assert len(only_exact) == 7
    assert len(log) == 1 and log[0].rows == 1 and "1 exact duplicate" in str(log)

    clean, log = drop_duplicates(dirty, near={"key": "id"})
    assert clean["id"].tolist() == [f"t{i}" for i in range(6)]
    assert [c.rows for c in log] == [1, 1]
    assert log.rows_dropped == 2
    assert "near-duplicate" in log[1].detail and "id" in log[1].detail
    # Every original (valid) row survives untouched, with its index.
    pd.testing.assert_frame_equal(clean, df)
    assert validate(clean, SCHEMA).ok
    assert ("id", "unique", 2) in found(validate(dirty, SCHEMA))


def test_drop_duplicates_near_by_time_keeps_earliest_within_window():
    df = pd.DataFrame(
        {
            "id": ["a", "a", "b", "a"],
            "when": pd.to_datetime(["2024-01-01 10:00:05", "2024-01-01 10:00:00", "2024-01-01 11:00:00", "2024-01-02 00:00:00"]),
            "v": [1, 2, 3, 4],
        }
    )
    clean, log = drop_duplicates(df, near={"key": "id", "time_col": "when", "window": "1min"})
    # The earliest "a" survives, the replay 5 s later goes, the one a day later stays.
    assert clean["v"].tolist() == [2, 3, 4]
    assert log[1].rows == 1 and "earliest" in log[1].detail
    with pytest.raises(ValueError):
        drop_duplicates(df, near={"key": "id", "window": "1min"})
    with pytest.raises(KeyError):
        drop_duplicates(df, near="nope")


def test_impute_fills_and_logs():
    df = pd.DataFrame(
        {
            "amount": [10.0, np.nan, 30.0, np.nan, 50.0],
            "merchant_category": ["grocery", None, "grocery", "travel", None],
            "untouched": [1, 2, 3, 4, 5],
        }
    )
    clean, log = impute(df, {"amount": "median", "merchant_category": "most_frequent"})
    assert clean["amount"].tolist() == [10.0, 30.0, 30.0, 30.0, 50.0]
    assert clean["merchant_category"].tolist() == ["grocery", "grocery", "grocery", "travel", "grocery"]
    assert len(clean) == len(df)
    pd.testing.assert_series_equal(clean["untouched"], df["untouched"])
    assert df["amount"].isna().sum() == 2  # the input is not modified
    assert [(c.column, c.values) for c in log] == [("amount", 2), ("merchant_category", 2)]
    assert "median 30" in log[0].detail and "'grocery'" in log[1].detail

    # Statistics come from the reference (training) frame when given.
    train = pd.DataFrame({"amount": [100.0, 200.0, 300.0]})
    test = pd.DataFrame({"amount": [np.nan, 1.0]})
    filled, _ = impute(test, {"amount": "mean"}, reference=train, add_indicator=True)
    assert filled["amount"].tolist() == [200.0, 1.0]
    assert filled["amount_was_missing"].tolist() == [True, False]

    const, log = impute(df, {"merchant_category": ("constant", "unknown")})
    assert (const["merchant_category"] == "unknown").sum() == 2
    with pytest.raises(ValueError, match="coerce_numeric"):
        impute(df, {"merchant_category": "median"})
    with pytest.raises(ValueError, match="strategy"):
        impute(df, {"amount": "average"})


def test_clip_and_flag_outliers():
    df = pd.DataFrame({"amount": [10.0, 11.0, 12.0, 13.0, 14.0, 500.0, -300.0, np.nan], "n": [1, 2, 3, 4, 5, 99, 2, 3]})
    q1, q3 = df["amount"].quantile([0.25, 0.75])
    lo, hi = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)

    clipped, log = clip_outliers(df, ["amount", "n"])
    assert clipped["amount"].max() == pytest.approx(hi)
    assert clipped["amount"].min() == pytest.approx(lo)
    assert np.isnan(clipped.loc[7, "amount"])
    assert clipped["n"].dtype == df["n"].dtype  # ints stay ints
    assert clipped["n"].max() < 99
    assert log[0].values == 2 and "clipped 2 value(s)" in log[0].detail
    assert log[1].values == 1
    assert len(clipped) == len(df)
    # Values inside the bounds are untouched.
    inside = df["amount"].between(lo, hi)
    pd.testing.assert_series_equal(clipped.loc[inside, "amount"], df.loc[inside, "amount"])

    flagged, log = flag_outliers(df, "amount")
    pd.testing.assert_series_equal(flagged["amount"], df["amount"])
    assert flagged["amount_outlier"].tolist() == [False] * 5 + [True, True, False]
    assert flagged["amount_outlier"].dtype == bool
    assert "amount_outlier" in log[0].detail and log[0].values == 2

    wins, log = clip_outliers(df, "amount", method="quantile", quantiles=(0.1, 0.9))
    expected = df["amount"].quantile([0.1, 0.9])
    assert wins["amount"].min() == pytest.approx(expected.iloc[0])
    assert wins["amount"].max() == pytest.approx(expected.iloc[1])
    with pytest.raises(ValueError, match="method"):
        clip_outliers(df, "amount", method="zscore")


def test_coerce_numeric_parses_messy_text():
    raw = [3.0, "$12.50", "12,50", "1,234.50", "1.234,50", " 7 ", "EUR 8", "9.5 USD", "(3.20)", "-$4", "oops", None, "1,234"]
    df = pd.DataFrame({"amount": raw, "other": range(len(raw))})
    clean, log = coerce_numeric(df, "amount")
    expected = [3.0, 12.5, 12.5, 1234.5, 1234.5, 7.0, 8.0, 9.5, -3.2, -4.0, np.nan, np.nan, 1234.0]
    np.testing.assert_allclose(clean["amount"].to_numpy(), expected)
    assert clean["amount"].dtype == "float64"
    assert len(clean) == len(df)
    (change,) = log
    assert change.values == 11  # 10 parsed text values + 1 unparsable
    assert "1 could not be parsed" in change.detail and "'oops'" in change.detail

    already, log = coerce_numeric(pd.DataFrame({"x": [1, 2]}), "x")
    assert log[0].values == 0 and already["x"].tolist() == [1.0, 2.0]


def test_coerce_numeric_fixes_the_dtype_violation():
    df = clean_frame().astype({"amount": object})
    df.loc[[0, 4], "amount"] = ["$12.50", "12,50"]
    assert ("amount", "dtype", 2) in found(validate(df, SCHEMA))
    fixed, _ = coerce_numeric(df, "amount")
    assert validate(fixed, SCHEMA).ok
    assert fixed.loc[[0, 4], "amount"].tolist() == [12.5, 12.5]


def test_normalize_categories():
    df = pd.DataFrame({"c": ["grocery", "Grocery ", "  TRAVEL", "travel", "gadgets", None]})
    clean, log = normalize_categories(df, "c", allowed={"grocery", "travel"})
    assert clean["c"].tolist()[:5] == ["grocery", "grocery", "travel", "travel", "gadgets"]
    assert clean["c"].isna().tolist()[5]
    assert log[0].values == 2
    assert "match no allowed label" in log[0].detail and "gadgets" in log[0].detail


def test_cleaning_logs_add_up_and_render():
    df = pd.DataFrame({"id": ["a", "a", "b"], "amount": [1.0, 1.0, np.nan]})
    clean, log = drop_duplicates(df)
    clean, more = impute(clean, {"amount": "median"})
    log += more
    assert len(log) == 2
    assert log.rows_dropped == 1 and log.values_changed == 1
    table = log.to_frame()
    assert list(table.columns) == ["action", "column", "rows", "values", "detail"]
    assert table["action"].tolist() == ["drop_duplicates", "impute"]
    assert str(log).count("\n  - ") == 2


# --------------------------------------------------------------------------
# leakage screen
# --------------------------------------------------------------------------


def leaky_frame(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.05).astype(int)
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 30 * 86400, n), unit="s")
    flipped = np.where(rng.random(n) < 0.01, 1 - y, y)
    return pd.DataFrame(
        {
            "transaction_id": [f"tx{i:06d}" for i in range(n)],
            "account_id": [f"acc{i}" for i in rng.integers(0, n // 2, n)],
            "timestamp": ts,
            "amount": rng.lognormal(3, 1, n) * (1 + 2 * y),
            "hour": rng.integers(0, 24, n),
            "channel": np.where(y & (rng.random(n) < 0.6), "online", rng.choice(["chip", "swipe", "online"], n)),
            "chargeback": flipped,
            "chargeback_at": pd.Series(ts + pd.to_timedelta(rng.integers(1, 60, n), unit="D")).where(flipped == 1),
            "status": np.where(flipped == 1, "disputed", "settled"),
            "is_fraud": y,
        }
    )


def test_leakage_screen_names_leaks_and_nothing_honest():
    df = leaky_frame()
    result = leakage_screen(df, "is_fraud")
    assert list(result.columns) == ["column", "reason", "score"]
    assert set(result["column"]) == {"chargeback", "chargeback_at", "status"}
    reasons = dict(zip(result["column"], result["reason"]))
    assert re.fullmatch(r"single-feature ROC-AUC 0\.9\d|single-feature ROC-AUC 1\.00", reasons["chargeback"])
    assert reasons["chargeback_at"].startswith("recorded after prediction time")
    scores = dict(zip(result["column"], result["score"]))
    assert scores["chargeback_at"] == 1.0
    assert result["score"].is_monotonic_decreasing


def test_leakage_screen_is_not_fooled_by_id_columns():
    # Encoded in-sample, a unique id would predict its own row's label perfectly.
    df = leaky_frame()
    result = leakage_screen(df.drop(columns=["chargeback", "chargeback_at", "status"]), "is_fraud")
    assert result.empty
    # A reversed leak is still a leak.
    reversed_leak = leakage_screen(df[["amount", "is_fraud"]].assign(ok=1 - df["is_fraud"]), "is_fraud")
    assert reversed_leak["column"].tolist() == ["ok"]


def test_leakage_screen_threshold_and_bad_input():
    df = leaky_frame()
    loose = leakage_screen(df, "is_fraud", auc_threshold=0.6)
    assert "amount" in set(loose["column"])  # amount is honestly predictive, just not too good
    with pytest.raises(ValueError, match="binary"):
        leakage_screen(df.assign(y3=np.arange(len(df)) % 3), "y3")
    with pytest.raises(KeyError):
        leakage_screen(df, "nope")
    # Without a time column the time test is skipped, not crashed.
    no_time = leakage_screen(df.drop(columns="timestamp"), "is_fraud")
    assert "chargeback_at" not in set(no_time["column"])


# --------------------------------------------------------------------------
# fingerprint
# --------------------------------------------------------------------------


def test_fingerprint_is_stable_for_equal_frames():
    df = clean_frame()
    fp = fingerprint(df)
    assert re.fullmatch(r"[0-9a-f]{64}", fp)
    assert fingerprint(df.copy()) == fp
    assert fingerprint(clean_frame()) == fp
    assert fingerprint(pd.DataFrame()) == fingerprint(pd.DataFrame())


def test_fingerprint_changes_on_any_single_cell():
    df = clean_frame()
    base = fingerprint(df)
    seen = {base}
    for row in range(len(df)):
        for col in df.columns:
            changed = df.copy()
            value = changed.at[row, col]
            if isinstance(value, (bool, np.bool_)):
                changed.at[row, col] = not value
            elif isinstance(value, str):
                changed.at[row, col] = value + "x"
            elif isinstance(value, pd.Timestamp):
                changed.at[row, col] = value + pd.Timedelta(seconds=1)
            else:
                changed.at[row, col] = value + 1
            assert changed.dtypes.equals(df.dtypes)
            fp = fingerprint(changed)
            assert fp not in seen, (row, col)
            seen.add(fp)


def test_fingerprint_changes_on_dtype_name_order_and_rows():
    df = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]})
    base = fingerprint(df)
    assert fingerprint(df.astype({"x": "float64"})) != base
    assert fingerprint(df.rename(columns={"x": "z"})) != base
    assert fingerprint(df[["y", "x"]]) != base
    assert fingerprint(df.iloc[::-1]) != base
    assert fingerprint(df.iloc[::-1].reset_index(drop=True)) != base
    assert fingerprint(df.iloc[:2]) != base
    # The index only counts when asked for.
    relabelled = df.set_axis([10, 11, 12])
    assert fingerprint(relabelled) == base
    assert fingerprint(relabelled, index=True) != fingerprint(df, index=True)


def test_fingerprint_handles_messy_cells():
    df = pd.DataFrame({"amount": [1.0, "$12.50", None], "tags": [["a"], [], ["b", "c"]]})
    assert fingerprint(df) == fingerprint(df.copy())
    assert "DVC" in fingerprint.__doc__


# --------------------------------------------------------------------------
# the course's transaction table
# --------------------------------------------------------------------------

N = 5_000


@pytest.fixture(scope="module")
def clean_tx() -> pd.DataFrame:
    return make_transactions(N, seed=0)


@pytest.fixture(scope="module")
def dirty_tx() -> pd.DataFrame:
    return make_transactions(N, seed=0, missing=True, duplicates=True, outliers=True, malformed=True)


def test_clean_transactions_pass_the_schema(clean_tx):
    report = validate(clean_tx, TRANSACTIONS_SCHEMA)
    assert report.ok, str(report)
    assert list(TRANSACTIONS_SCHEMA.columns) == list(clean_tx.columns)
    assert validate(make_transactions(2_000, seed=7), TRANSACTIONS_SCHEMA).ok


def test_each_switch_shows_up_with_the_injected_counts():
    missing = make_transactions(N, seed=0, missing=True)
    expected = {(col, "nullable", n) for col, n in missing.attrs["injected"]["missing"].items()}
    assert found(validate(missing, TRANSACTIONS_SCHEMA)) == expected

    dup = make_transactions(N, seed=0, duplicates=True)
    d = dup.attrs["injected_detail"]
    assert found(validate(dup, TRANSACTIONS_SCHEMA)) == {
        ("transaction_id", "unique", d["exact_duplicates"] + d["near_duplicates"])
    }

    out = make_transactions(N, seed=0, outliers=True)
    d = out.attrs["injected_detail"]
    assert found(validate(out, TRANSACTIONS_SCHEMA)) == {
        ("amount", "min", d["negative_amount"]),
        ("customer_age", "max", d["age_150"]),
        ("customer_age", "min", d["age_5"]),
    }

    bad = make_transactions(N, seed=0, malformed=True)
    d = bad.attrs["injected_detail"]
    report = validate(bad, TRANSACTIONS_SCHEMA)
    text = bad["amount"][bad["amount"].map(lambda v: isinstance(v, str))]
    assert len(text) == d["text_amount"]
    unparsable = int(pd.to_numeric(text, errors="coerce").isna().sum())
    assert 0 < unparsable < len(text)  # "12.50" parses; "$12.50" and "12,50" do not
    assert found(report) == {
        ("amount", "dtype", unparsable),
        ("merchant_category", "allowed", d["misspelled_category"]),
    }
    dtype = next(v for v in report.violations if v.rule == "dtype")
    assert f"{len(text)} value(s) stored as text" in dtype.message
    assert all(isinstance(e, str) and pd.isna(pd.to_numeric(e, errors="coerce")) for e in dtype.examples)


def test_cleaning_recipe_on_the_dirty_table(clean_tx, dirty_tx):
    df, log = drop_duplicates(dirty_tx, near={"key": "transaction_id"})
    d = dirty_tx.attrs["injected_detail"]
    assert [c.rows for c in log] == [d["exact_duplicates"], d["near_duplicates"]]
    # No valid row is lost: exactly the original transactions remain, in order.
    assert len(df) == N
    assert df["transaction_id"].tolist() == clean_tx["transaction_id"].tolist()

    df, more = coerce_numeric(df, "amount")
    log += more
    assert more[0].values == d["text_amount"]  # every text amount parsed, none lost
    df, more = normalize_categories(df, "merchant_category", allowed=CATEGORIES)
    log += more
    assert more[0].values == d["misspelled_category"]
    strategy = {c: "median" for c in ("amount", "customer_age", "account_age_days")}
    strategy |= {c: "most_frequent" for c in ("merchant_category", "country", "channel")}
    df, more = impute(df, strategy)
    log += more
    assert sum(c.values for c in more) == sum(dirty_tx.attrs["injected"]["missing"].values())

    # Only the impossible values are left for a person to decide about.
    assert found(validate(df, TRANSACTIONS_SCHEMA)) == {
        ("amount", "min", d["negative_amount"]),
        ("customer_age", "max", d["age_150"]),
        ("customer_age", "min", d["age_5"]),
    }
    # Deduplicating, parsing and respelling restore the original rows exactly,
    # so a row differs from the clean table only where a value was imputed or
    # an outlier or impossible value was injected.
    cols = list(clean_tx.columns)
    df = df.reset_index(drop=True)
    same = pd.DataFrame({
        c: (df[c].astype(object) == clean_tx[c].astype(object)) | (df[c].isna() & clean_tx[c].isna()) for c in cols
    })
    differs = ~same.all(axis=1)
    dirty_first = dirty_tx.drop_duplicates("transaction_id").reset_index(drop=True)
    imputed = dirty_first[list(strategy)].isna().any(axis=1)
    negative = df["amount"] == -clean_tx["amount"]
    x100 = df["amount"] == (clean_tx["amount"] * 100).round(2)
    bad_age = ~df["customer_age"].between(18, 90)
    assert (negative.sum(), x100.sum(), bad_age.sum()) == (
        d["negative_amount"], d["extreme_amount"], d["age_150"] + d["age_5"]
    )
    assert not (differs & ~(imputed | negative | x100 | bad_age)).any()
    # (An imputed value can happen to equal the lost one, so not every imputed row differs.)
    assert differs[negative | x100 | bad_age].all()
    assert len(log) == 2 + 1 + 1 + 6


def test_flag_outliers_finds_the_x100_amounts(clean_tx):
    out = make_transactions(N, seed=0, outliers=True)
    extreme = out["amount"] > clean_tx["amount"].max()
    flagged, log = flag_outliers(out, "amount", method="quantile", quantiles=(0.0, 0.995))
    assert flagged.loc[extreme, "amount_outlier"].all()
    pd.testing.assert_series_equal(flagged["amount"], out["amount"])


def test_leakage_screen_on_transactions(clean_tx, dirty_tx):
    result = leakage_screen(clean_tx, "is_fraud")
    assert set(result["column"]) == {"chargeback", "chargeback_at"}
    reasons = dict(zip(result["column"], result["reason"]))
    assert reasons["chargeback"].startswith("single-feature ROC-AUC 0.9")
    assert reasons["chargeback_at"].startswith("recorded after prediction time")
    # Honest but informative features stay well below the threshold.
    loose = leakage_screen(clean_tx, "is_fraud", auc_threshold=0.0).set_index("column")["score"]
    assert loose.drop(["chargeback", "chargeback_at"]).max() < 0.9
    assert loose["transaction_id"] < 0.6  # an id is not a leak
    # Dirty data does not break the screen or change its verdict.
    assert set(leakage_screen(dirty_tx, "is_fraud")["column"]) == {"chargeback", "chargeback_at"}


def test_fingerprint_of_transactions(clean_tx):
    fp = fingerprint(clean_tx)
    assert fp == fingerprint(make_transactions(N, seed=0))
    assert fp != fingerprint(make_transactions(N, seed=1))
    changed = clean_tx.copy()
    changed.loc[1234, "amount"] += 0.01
    assert fingerprint(changed) != fp


def test_impute_keeps_whole_number_columns_whole():
    df = pd.DataFrame({"age": [20.0, np.nan, 31.0, 40.0, 45.0]})
    clean, log = impute(df, {"age": "median"})
    assert clean["age"].tolist() == [20.0, 36.0, 31.0, 40.0, 45.0]  # median 35.5 -> 36
    assert "rounded" in log[0].detail
    assert validate(clean, Schema({"age": Column("int")})).ok


def test_duplicated_row_labels_do_not_confuse_validate():
    df = pd.concat([clean_frame(4), clean_frame(4)])  # labels 0..3 twice
    df["age"] = df["age"].astype(float)
    df.iloc[5, df.columns.get_loc("age")] = np.nan
    df = df.astype({"amount": object})
    df.iloc[6, df.columns.get_loc("amount")] = "$1"
    report = validate(df, SCHEMA)
    assert found(report) == {("id", "unique", 4), ("age", "nullable", 1), ("amount", "dtype", 1)}
    assert next(v for v in report.violations if v.rule == "nullable").examples == [1]
