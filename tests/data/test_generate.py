"""Tests for mlcourse.data.generate: the generated datasets, their damage, sources and stream."""
from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from mlcourse import data
from mlcourse.data.generate import (
    CATEGORIES,
    CHANNELS,
    COLUMNS,
    COUNTRIES,
    FEATURE_COLUMNS,
    INJECTION_RATES,
    Batch,
    DriftSpec,
    fraud_probability,
    load_outline_dataset,
    load_sources,
    make_transactions,
    production_stream,
    write_sources,
)

N = 10_000

EXPECTED_COLUMNS = [
    "transaction_id", "account_id", "merchant_id", "timestamp", "amount", "hour",
    "merchant_category", "country", "channel", "account_age_days", "customer_age",
    "is_foreign", "is_fraud", "chargeback", "chargeback_at",
]
STRING_COLUMNS = ["transaction_id", "account_id", "merchant_id", "merchant_category", "country",
                  "channel"]
INT_COLUMNS = ["hour", "account_age_days", "customer_age", "is_foreign", "is_fraud", "chargeback"]


@pytest.fixture(scope="module")
def clean() -> pd.DataFrame:
    return make_transactions(N, seed=7)


@pytest.fixture(scope="module")
def dirty() -> pd.DataFrame:
    return make_transactions(N, seed=7, missing=True, duplicates=True, outliers=True,
                             malformed=True)


@pytest.fixture(scope="module")
def stream() -> list[Batch]:
    return production_stream(n_days=20, rows_per_day=400, seed=3)


def _is_text(values: pd.Series) -> pd.Series:
    return values.map(lambda v: isinstance(v, str))


def _features(df: pd.DataFrame) -> pd.DataFrame:
    """One-hot model inputs without the label and the leaky columns."""
    X = df[["amount", "hour", "merchant_category", "country", "channel", "account_age_days",
            "customer_age", "is_foreign"]].copy()
    X["amount"] = np.log(X["amount"])
    X["account_age_days"] = np.log1p(X["account_age_days"])
    X["night"] = (X["hour"] < 6).astype(float)
    X = pd.get_dummies(X, columns=["merchant_category", "country", "channel"], dtype=float)
    return X.reindex(sorted(X.columns), axis=1)


# ---------------------------------------------------------------------------
# The outline's dataset
# ---------------------------------------------------------------------------

def test_outline_dataset_is_make_classification_exactly():
    df = load_outline_dataset()
    X, y = make_classification(n_samples=2000, n_features=20, random_state=42)
    assert df.shape == (2000, 21)
    assert list(df.columns) == [f"feat_{i}" for i in range(20)] + ["target"]
    assert data.OUTLINE_FEATURES == [f"feat_{i}" for i in range(20)]
    np.testing.assert_array_equal(df[data.OUTLINE_FEATURES].to_numpy(), X)
    np.testing.assert_array_equal(df["target"].to_numpy(), y)
    assert (df[data.OUTLINE_FEATURES].dtypes == "float64").all()
    assert df["target"].dtype == "int64"
    assert df["target"].value_counts().to_dict() == {0: 1002, 1: 998}


# ---------------------------------------------------------------------------
# The clean transaction table
# ---------------------------------------------------------------------------

def test_columns_are_in_the_documented_order(clean):
    assert list(clean.columns) == EXPECTED_COLUMNS == COLUMNS
    assert FEATURE_COLUMNS == EXPECTED_COLUMNS[:12]
    assert len(clean) == N
    assert isinstance(clean.index, pd.RangeIndex)


def test_dtypes(clean):
    for col in STRING_COLUMNS:
        assert pd.api.types.is_string_dtype(clean[col]), col
        assert clean[col].map(type).eq(str).all(), col
    for col in INT_COLUMNS:
        assert clean[col].dtype == "int64", col
    assert clean["amount"].dtype == "float64"
    assert clean["timestamp"].dtype == "datetime64[ns]"
    assert clean["chargeback_at"].dtype == "datetime64[ns]"


def test_values_are_plausible(clean):
    assert clean["transaction_id"].str.fullmatch(r"T\d{7}").all()
    assert clean["transaction_id"].is_unique
    assert clean["account_id"].str.fullmatch(r"A\d{5}").all()
    assert clean["merchant_id"].str.fullmatch(r"M\d{4}").all()
    ts = clean["timestamp"]
    assert ts.is_monotonic_increasing
    assert ts.min() >= pd.Timestamp("2026-01-01")
    assert ts.max() < pd.Timestamp("2026-01-01") + pd.Timedelta(days=90)
    assert (clean["hour"] == ts.dt.hour).all()
    assert clean["hour"].between(0, 23).all() and clean["hour"].nunique() == 24
    amount = clean["amount"]
    assert (amount > 0).all()
    assert np.allclose(amount, amount.round(2))
    # Heavy tail: the mean sits well above the median and the top is far out.
    assert amount.mean() > 1.4 * amount.median()
    assert amount.max() > 20 * amount.median()
    assert set(clean["merchant_category"]) == set(CATEGORIES)
    assert set(clean["country"]) == set(COUNTRIES)
    assert set(clean["channel"]) == set(CHANNELS) == {"chip", "contactless", "online", "swipe"}
    assert (clean["account_age_days"] >= 0).all()
    assert (clean["account_age_days"] < 30).mean() > 0.02  # young accounts exist
    assert clean["customer_age"].between(18, 90).all()
    for col in ("is_foreign", "is_fraud", "chargeback"):
        assert set(clean[col].unique()) == {0, 1}, col
    assert 0.03 < clean["is_foreign"].mean() < 0.2
    # A customer keeps one age across their transactions.
    assert (clean.groupby("account_id")["customer_age"].nunique() == 1).all()


def test_start_and_days_set_the_period():
    df = make_transactions(2_000, seed=1, start="2025-06-10", days=7)
    assert df["timestamp"].min() >= pd.Timestamp("2025-06-10")
    assert df["timestamp"].max() < pd.Timestamp("2025-06-17")
    assert df["timestamp"].dt.normalize().nunique() == 7


def test_same_seed_same_table_and_other_seed_other_table():
    a = make_transactions(3_000, seed=11)
    pd.testing.assert_frame_equal(a, make_transactions(3_000, seed=11))
    b = make_transactions(3_000, seed=12)
    assert not a["amount"].equals(b["amount"])
    assert not a["account_id"].equals(b["account_id"])
    kwargs = dict(missing=True, duplicates=True, outliers=True, malformed=True)
    d1 = make_transactions(3_000, seed=11, **kwargs)
    d2 = make_transactions(3_000, seed=11, **kwargs)
    pd.testing.assert_frame_equal(d1, d2)
    assert d1.attrs == d2.attrs


def test_base_rate_is_realistic():
    df = make_transactions(50_000, seed=0)
    assert 0.02 <= df["is_fraud"].mean() <= 0.05
    # The label really is drawn from the documented rule.
    p = fraud_probability(df)
    assert abs(p.mean() - df["is_fraud"].mean()) < 0.005
    assert df.loc[df["is_fraud"] == 1, "amount"].median() > df.loc[df["is_fraud"] == 0, "amount"].median()


def test_fraud_rule_is_learnable_but_not_trivial(clean):
    truth = roc_auc_score(clean["is_fraud"], fraud_probability(clean))
    assert 0.8 < truth < 0.95
    X, y = _features(clean), clean["is_fraud"]
    cut = int(len(clean) * 0.7)
    model = LogisticRegression(max_iter=2_000).fit(X[:cut], y[:cut])
    auc = roc_auc_score(y[cut:], model.predict_proba(X[cut:])[:, 1])
    assert 0.75 < auc < 0.95


def test_fraud_probability_needs_its_columns():
    with pytest.raises(ValueError, match="customer_age"):
        fraud_probability(pd.DataFrame({"amount": [1.0]}))


def test_chargeback_is_the_leak(clean):
    assert roc_auc_score(clean["is_fraud"], clean["chargeback"]) > 0.95
    has_cb = clean["chargeback"] == 1
    assert clean.loc[has_cb, "chargeback_at"].notna().all()
    assert clean.loc[~has_cb, "chargeback_at"].isna().all()
    delay = clean.loc[has_cb, "chargeback_at"] - clean.loc[has_cb, "timestamp"]
    assert (delay >= pd.Timedelta(days=1)).all()
    # Adding the leak makes a model look nearly perfect.
    X = _features(clean).assign(chargeback=clean["chargeback"])
    y = clean["is_fraud"]
    cut = int(len(clean) * 0.7)
    model = LogisticRegression(max_iter=2_000).fit(X[:cut], y[:cut])
    assert roc_auc_score(y[cut:], model.predict_proba(X[cut:])[:, 1]) > 0.97


def test_clean_table_has_none_of_the_problems(clean):
    assert clean.drop(columns="chargeback_at").notna().all().all()
    assert not clean.duplicated().any()
    assert clean["transaction_id"].is_unique
    assert not _is_text(clean["amount"]).any()
    assert clean["merchant_category"].isin(CATEGORIES).all()
    injected = clean.attrs["injected"]
    assert set(injected) == {"missing", "exact_duplicates", "near_duplicates", "outliers",
                             "impossible", "malformed"}
    assert all(v == 0 for v in injected["missing"].values())
    assert all(injected[k] == 0 for k in injected if k != "missing")


def test_large_table_builds():
    df = make_transactions(100_000, seed=0)
    assert df.shape == (100_000, 15)
    assert df["transaction_id"].iloc[-1] == "T0100000"


def test_importing_data_does_not_import_sklearn():
    code = "import sys, mlcourse.data; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------
# Injected problems
# ---------------------------------------------------------------------------

def test_missing_values_are_counted(clean):
    df = make_transactions(N, seed=7, missing=True)
    counts = df.attrs["injected"]["missing"]
    assert counts == {col: int(rate * N) for col, rate in INJECTION_RATES["missing"].items()}
    for col, count in counts.items():
        assert 0.02 * N <= count <= 0.05 * N
        assert df[col].isna().sum() == count, col
    others = [c for c in COLUMNS if c not in counts and c != "chargeback_at"]
    assert df[others].notna().all().all()
    assert df["customer_age"].dtype == "float64"
    assert df["account_age_days"].dtype == "float64"
    assert df["hour"].dtype == "int64"
    assert df["amount"].dtype == "float64"
    # Missing values are the only change: everything else is the clean table.
    assert len(df) == len(clean)
    pd.testing.assert_frame_equal(
        df.fillna(clean).astype(clean.dtypes.to_dict()), clean, check_like=False
    )
    assert df.attrs["injected"]["exact_duplicates"] == 0
    assert not df.duplicated().any()


def test_duplicates_are_exact_and_near(clean):
    df = make_transactions(N, seed=7, duplicates=True)
    inj = df.attrs["injected"]
    assert inj["exact_duplicates"] == int(0.01 * N)
    assert inj["near_duplicates"] == int(0.005 * N)
    assert len(df) == N + inj["exact_duplicates"] + inj["near_duplicates"]
    assert df.duplicated().sum() == inj["exact_duplicates"]
    assert df["transaction_id"].duplicated().sum() == inj["exact_duplicates"] + inj["near_duplicates"]
    assert df["timestamp"].is_monotonic_increasing
    assert (df["hour"] == df["timestamp"].dt.hour).all()
    # Near duplicates: same id, a few seconds later, amount within a cent.
    unique_rows = df.drop_duplicates()
    replays = unique_rows[unique_rows["transaction_id"].duplicated(keep=False)]
    groups = replays.groupby("transaction_id")
    assert (groups.size() == 2).all()
    assert groups.ngroups == inj["near_duplicates"]
    gap = groups["timestamp"].agg(lambda s: s.max() - s.min())
    assert gap.between(pd.Timedelta(seconds=1), pd.Timedelta(seconds=30)).all()
    spread = groups["amount"].agg(lambda s: s.max() - s.min())
    assert (spread <= 0.0100001).all()
    assert (spread > 0).any() and (spread == 0).any()
    # The originals are untouched.
    original = df.drop_duplicates("transaction_id", keep="first").reset_index(drop=True)
    pd.testing.assert_frame_equal(original, clean)
    assert df.drop(columns="chargeback_at").notna().all().all()
    assert not _is_text(df["amount"]).any()


def test_outliers_and_impossible_values(clean):
    df = make_transactions(N, seed=7, outliers=True)
    inj, detail = df.attrs["injected"], df.attrs["injected_detail"]
    assert inj["outliers"] == detail["extreme_amount"] == int(0.002 * N)
    assert (df["amount"] < 0).sum() == detail["negative_amount"] == int(0.001 * N)
    assert (df["customer_age"] == 150).sum() == detail["age_150"]
    assert (df["customer_age"] == 5).sum() == detail["age_5"]
    assert inj["impossible"] == detail["negative_amount"] + detail["age_150"] + detail["age_5"] > 0
    ratio = df["amount"] / clean["amount"]
    assert np.isclose(ratio, 100, rtol=1e-3).sum() == inj["outliers"]
    assert np.isclose(ratio, -1).sum() == detail["negative_amount"]
    assert (np.isclose(ratio, 1) | np.isclose(ratio, 100, rtol=1e-3) | np.isclose(ratio, -1)).all()
    assert df["customer_age"].dtype == "int64"
    assert df.drop(columns="chargeback_at").notna().all().all()
    assert len(df) == N


def test_malformed_entries(clean):
    df = make_transactions(N, seed=7, malformed=True)
    inj, detail = df.attrs["injected"], df.attrs["injected_detail"]
    assert df["amount"].dtype == object
    text = _is_text(df["amount"])
    assert text.sum() == detail["text_amount"] == int(0.01 * N)
    assert df.loc[text, "amount"].str.fullmatch(r"\$?\d+[.,]\d\d").all()
    styles = df.loc[text, "amount"].str.extract(r"^(\$)?\d+([.,])")
    assert styles[0].notna().any() and (styles[1] == ",").any() and (styles[1] == ".").any()
    parsed = df.loc[text, "amount"].str.replace("$", "", regex=False).str.replace(",", ".").astype(float)
    np.testing.assert_allclose(parsed.to_numpy(), clean.loc[text, "amount"].to_numpy())
    unknown = ~df["merchant_category"].isin(CATEGORIES)
    assert unknown.sum() == detail["misspelled_category"] == int(0.01 * N)
    assert df.loc[unknown, "merchant_category"].str.strip().str.lower().isin(CATEGORIES).all()
    assert df.loc[unknown, "merchant_category"].str.endswith(" ").any()
    assert df.loc[unknown, "merchant_category"].str.isupper().any()
    assert inj["malformed"] == detail["text_amount"] + detail["misspelled_category"]
    assert not df.duplicated().any() and len(df) == N


def test_all_problems_at_once_keep_exact_counts(dirty):
    inj, detail = dirty.attrs["injected"], dirty.attrs["injected_detail"]
    for col, count in inj["missing"].items():
        assert dirty[col].isna().sum() == count, col
    assert dirty.duplicated().sum() == inj["exact_duplicates"]
    assert dirty["transaction_id"].duplicated().sum() == inj["exact_duplicates"] + inj["near_duplicates"]
    amount = dirty["amount"]
    text = _is_text(amount)
    assert text.sum() == detail["text_amount"]
    numeric = pd.to_numeric(amount.where(~text), errors="coerce")
    assert (numeric < 0).sum() == detail["negative_amount"]
    assert (dirty["customer_age"] == 150).sum() == detail["age_150"]
    assert (dirty["customer_age"] == 5).sum() == detail["age_5"]
    cats = dirty["merchant_category"].dropna()
    assert (~cats.isin(CATEGORIES)).sum() == detail["misspelled_category"]
    for key in ("exact_duplicates", "near_duplicates", "outliers", "impossible", "malformed"):
        assert isinstance(inj[key], int) and inj[key] > 0, key
    assert list(dirty.columns) == COLUMNS
    assert dirty["timestamp"].is_monotonic_increasing


@pytest.mark.parametrize("switch", ["missing", "duplicates", "outliers", "malformed"])
def test_each_switch_only_adds_its_own_problem(switch):
    df = make_transactions(5_000, seed=2, **{switch: True})
    inj = df.attrs["injected"]
    has_missing = df.drop(columns="chargeback_at").isna().any().any()
    has_dupes = df["transaction_id"].duplicated().any()
    amount_text = _is_text(df["amount"]).any()
    numeric = pd.to_numeric(df["amount"], errors="coerce")
    assert has_missing == (switch == "missing") == (sum(inj["missing"].values()) > 0)
    assert has_dupes == (switch == "duplicates") == (inj["exact_duplicates"] > 0)
    assert bool((numeric < 0).any()) == (switch == "outliers") == (inj["impossible"] > 0)
    assert amount_text == (switch == "malformed") == (inj["malformed"] > 0)


# ---------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------

def test_sources_rebuild_the_table(tmp_path):
    paths = write_sources(tmp_path / "raw", n_rows=3_000, seed=5)
    assert set(paths) == {"accounts", "transactions", "merchants"}
    assert paths["accounts"].name == "accounts.sqlite"
    assert paths["transactions"].name == "transactions.jsonl"
    assert paths["merchants"].name == "merchants.csv"
    expected = make_transactions(3_000, seed=5)
    pd.testing.assert_frame_equal(load_sources(paths), expected)
    pd.testing.assert_frame_equal(load_sources(tmp_path / "raw"), expected)


def test_sources_have_the_documented_layout(tmp_path):
    paths = write_sources(tmp_path, n_rows=500, seed=1)
    with sqlite3.connect(paths["accounts"]) as con:
        cols = [row[1] for row in con.execute("PRAGMA table_info(accounts)")]
        first = con.execute("SELECT opened_at, customer_age FROM accounts LIMIT 1").fetchone()
    assert cols == ["account_id", "home_country", "customer_age", "opened_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", first[0]) and isinstance(first[1], int)
    lines = paths["transactions"].read_text().splitlines()
    assert len(lines) == 500
    records = [json.loads(line) for line in lines]
    assert list(records[0]) == ["transaction_id", "account_id", "merchant_id", "timestamp",
                                "amount", "country", "channel", "is_fraud", "chargeback",
                                "chargeback_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", records[0]["timestamp"])
    assert all((r["chargeback_at"] is None) == (r["chargeback"] == 0) for r in records)
    merchants = pd.read_csv(paths["merchants"])
    assert list(merchants.columns) == ["merchant_id", "merchant_category"]
    # Writing again replaces the files rather than failing or appending.
    write_sources(tmp_path, n_rows=200, seed=1)
    assert len(paths["transactions"].read_text().splitlines()) == 200


def test_load_sources_reports_missing_files(tmp_path):
    paths = write_sources(tmp_path, n_rows=50)
    paths["transactions"].unlink()
    with pytest.raises(ValueError, match="transactions"):
        load_sources(paths)
    with pytest.raises(ValueError, match="merchants"):
        load_sources({"accounts": paths["accounts"], "transactions": paths["accounts"]})


def test_write_sources_rejects_a_file_as_directory(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(ValueError, match="directory"):
        write_sources(target, n_rows=10)


# ---------------------------------------------------------------------------
# Production stream
# ---------------------------------------------------------------------------

def _concat(batches: list[Batch]) -> tuple[pd.DataFrame, pd.Series]:
    return (pd.concat([b.features for b in batches], ignore_index=True),
            pd.concat([b.labels for b in batches], ignore_index=True))


def test_stream_batches(stream):
    assert len(stream) == 20
    start = pd.Timestamp(data.DEFAULT_STREAM_START)
    # The stream starts the day after the default training period.
    assert start == pd.Timestamp("2026-01-01") + pd.Timedelta(days=90)
    for d, batch in enumerate(stream):
        assert isinstance(batch, Batch)
        assert batch.day == d
        assert batch.date == start + pd.Timedelta(days=d)
        assert batch.labels_available_on == batch.date + pd.Timedelta(days=7)
        assert list(batch.features.columns) == FEATURE_COLUMNS
        assert len(batch.features) == 400
        assert batch.labels.index.equals(batch.features.index)
        assert batch.labels.name == "is_fraud"
        assert (batch.features["timestamp"].dt.normalize() == batch.date).all()
        assert batch.features["timestamp"].is_monotonic_increasing
    with pytest.raises(AttributeError):
        stream[0].day = 5  # frozen
    features, labels = _concat(stream)
    assert features["transaction_id"].is_unique
    assert 0.015 < labels.mean() < 0.06
    for col in ("hour", "account_age_days", "customer_age", "is_foreign"):
        assert features[col].dtype == "int64"


def test_stream_options_and_determinism(stream):
    again = production_stream(n_days=20, rows_per_day=400, seed=3)
    for a, b in zip(stream, again):
        pd.testing.assert_frame_equal(a.features, b.features)
        pd.testing.assert_series_equal(a.labels, b.labels)
    other = production_stream(n_days=20, rows_per_day=400, seed=4)
    assert not other[0].features["amount"].equals(stream[0].features["amount"])
    late = production_stream(n_days=2, rows_per_day=50, start="2026-07-01", label_delay_days=3)
    assert late[1].date == pd.Timestamp("2026-07-02")
    assert late[1].labels_available_on == pd.Timestamp("2026-07-05")


def test_stream_without_drift_looks_like_training():
    from scipy.stats import ks_2samp

    train = make_transactions(20_000, seed=0)
    features, labels = _concat(production_stream(n_days=30, rows_per_day=500, seed=1))
    for col in ("amount", "account_age_days", "customer_age", "hour"):
        assert ks_2samp(train[col], features[col]).statistic < 0.03, col
    assert abs(labels.mean() - train["is_fraud"].mean()) < 0.01


def test_covariate_drift_starts_on_its_day(stream):
    spec = DriftSpec(start_day=8, covariate={"amount": 2.0, "channel": 0.5})
    drifted = production_stream(n_days=20, rows_per_day=400, seed=3, drift=spec)
    for d in range(8):
        pd.testing.assert_frame_equal(drifted[d].features, stream[d].features)
        pd.testing.assert_series_equal(drifted[d].labels, stream[d].labels)
    before, _ = _concat(stream[8:])
    after, _ = _concat(drifted[8:])
    ratio = after["amount"].median() / before["amount"].median()
    assert 1.9 < ratio < 2.1
    online_before = (before["channel"] == "online").mean()
    online_after = (after["channel"] == "online").mean()
    assert online_after > online_before + 0.25
    # Undrifted features keep their values.
    pd.testing.assert_series_equal(after["customer_age"], before["customer_age"])


@pytest.mark.parametrize("feature, shift", [
    ("customer_age", 15.0), ("account_age_days", 0.2), ("hour", 6.0),
    ("merchant_category", 0.5), ("is_foreign", 0.5),
])
def test_every_driftable_feature_moves(stream, feature, shift):
    drifted = production_stream(n_days=20, rows_per_day=400, seed=3,
                                drift=DriftSpec(start_day=10, covariate={feature: shift}))
    pd.testing.assert_frame_equal(drifted[9].features, stream[9].features)
    before, _ = _concat(stream[10:])
    after, _ = _concat(drifted[10:])
    if feature == "merchant_category":
        assert (after[feature] == "online_retail").mean() > (before[feature] == "online_retail").mean() + 0.3
    elif feature == "hour":
        assert (after["hour"] == after["timestamp"].dt.hour).all()
        assert (after["hour"] < 6).mean() > (before["hour"] < 6).mean() + 0.1
    else:
        assert abs(after[feature].mean() - before[feature].mean()) > 0.2 * before[feature].std()


def test_gradual_drift_ramps_up(stream):
    spec = DriftSpec(start_day=4, covariate={"amount": 3.0}, ramp_days=10)
    assert [spec.weight(d) for d in (3, 4, 8, 13, 19)] == [0.0, 0.1, 0.5, 1.0, 1.0]
    drifted = production_stream(n_days=20, rows_per_day=400, seed=3, drift=spec)
    ratios = [
        (drifted[d].features["amount"] / stream[d].features["amount"]).median() for d in range(20)
    ]
    assert ratios[3] == pytest.approx(1.0)
    assert ratios[8] == pytest.approx(3.0 ** 0.5, rel=0.02)
    assert ratios[15] == pytest.approx(3.0, rel=0.02)
    assert all(a <= b + 1e-9 for a, b in zip(ratios, ratios[1:]))


def test_prior_shift_is_a_label_shift(stream):
    """P(y) moves to the new rate, P(x | y) stays, so P(x) moves with the mix (weakly)."""
    drifted = production_stream(n_days=20, rows_per_day=400, seed=3,
                                drift=DriftSpec(start_day=10, prior=0.12))
    for d in range(10):
        pd.testing.assert_frame_equal(drifted[d].features, stream[d].features)
        pd.testing.assert_series_equal(drifted[d].labels, stream[d].labels)
    assert all(len(b.features) == 400 and b.labels.index.equals(b.features.index) for b in drifted)
    features_before, before = _concat(stream[10:])
    features_after, after = _concat(drifted[10:])
    assert before.mean() < 0.06
    assert 0.10 < after.mean() < 0.14
    # Each class looks as it did: a fraud is as large, a legitimate payment as small.
    for label in (0, 1):
        was = features_before.loc[before.to_numpy() == label, "amount"]
        now = features_after.loc[after.to_numpy() == label, "amount"]
        assert abs(np.log(now.median() / was.median())) < 0.15, label
    # The mix moved: more of the (larger) fraudulent payments, so amounts rise on the whole.
    assert features_after["amount"].mean() > 1.1 * features_before["amount"].mean()
    assert features_after["transaction_id"].is_unique
    assert (features_after.groupby(features_after["timestamp"].dt.date)["timestamp"].is_monotonic_increasing).all()


def test_concept_drift_changes_labels_not_inputs(stream):
    drifted = production_stream(n_days=20, rows_per_day=400, seed=3,
                                drift=DriftSpec(start_day=10, concept=True))
    for a, b in zip(drifted, stream):
        pd.testing.assert_frame_equal(a.features, b.features)
    for d in range(10):
        pd.testing.assert_series_equal(drifted[d].labels, stream[d].labels)
    X_before, y_before = _concat(drifted[:10])
    X_after, y_after = _concat(drifted[10:])
    assert not y_after.equals(_concat(stream[10:])[1])
    # The old rule and a model fitted before the drift both lose their grip.
    assert roc_auc_score(y_before, fraud_probability(X_before)) > 0.8
    assert roc_auc_score(y_after, fraud_probability(X_after)) < 0.6
    columns = _features(X_before).columns
    model = LogisticRegression(max_iter=2_000).fit(_features(X_before), y_before)
    before_auc = roc_auc_score(y_before, model.predict_proba(_features(X_before))[:, 1])
    after_auc = roc_auc_score(
        y_after, model.predict_proba(_features(X_after).reindex(columns=columns, fill_value=0.0))[:, 1]
    )
    assert after_auc < before_auc - 0.2


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, name", [
    ({"n_rows": 0}, "n_rows"),
    ({"n_rows": -5}, "n_rows"),
    ({"n_rows": 2.5}, "n_rows"),
    ({"n_rows": 100.0}, "n_rows"),
    ({"n_rows": "100"}, "n_rows"),
    ({"n_rows": True}, "n_rows"),
    ({"days": 0}, "days"),
    ({"days": -3}, "days"),
    ({"start": "not a date"}, "start"),
    ({"start": "2026-13-45"}, "start"),
    ({"start": 20260101}, "start"),
    ({"start": "2026-01-01 12:00"}, "start"),
    ({"seed": -1}, "seed"),
    ({"missing": "yes"}, "missing"),
])
def test_make_transactions_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_transactions(**{"n_rows": 100, **kwargs})


def test_error_message_is_specific():
    with pytest.raises(ValueError, match=r"n_rows must be a positive integer, got 0"):
        make_transactions(0)


@pytest.mark.parametrize("kwargs, name", [
    ({"covariate": {"colour": 1.0}}, "colour"),
    ({"covariate": {"amount": 0.0}}, "amount"),
    ({"covariate": {"amount": float("nan")}}, "amount"),
    ({"covariate": {"channel": 1.5}}, "channel"),
    ({"covariate": {"hour": "late"}}, "hour"),
    ({"covariate": ["amount"]}, "covariate"),
    ({"prior": 0.0}, "prior"),
    ({"prior": 1.0}, "prior"),
    ({"prior": 1.5}, "prior"),
    ({"start_day": -1}, "start_day"),
    ({"ramp_days": -2}, "ramp_days"),
    ({"concept": "yes"}, "concept"),
])
def test_drift_spec_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        DriftSpec(**kwargs)


@pytest.mark.parametrize("kwargs, name", [
    ({"n_days": 0}, "n_days"),
    ({"rows_per_day": -1}, "rows_per_day"),
    ({"rows_per_day": 1.5}, "rows_per_day"),
    ({"seed": -3}, "seed"),
    ({"start": "someday"}, "start"),
    ({"label_delay_days": -1}, "label_delay_days"),
    ({"drift": {"prior": 0.1}}, "drift"),
])
def test_production_stream_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        production_stream(**{"n_days": 2, "rows_per_day": 10, **kwargs})


def test_the_data_package_re_exports_the_generators_public_api():
    # Lessons write `from mlcourse import data; data.make_transactions(...)`.
    from mlcourse.data import generate

    assert data.__all__ == generate.__all__
    for name in generate.__all__:
        assert getattr(data, name) is getattr(generate, name), name
