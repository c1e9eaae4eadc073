"""The course's data: generated on the learner's machine, never downloaded.

Two datasets live here.

* :func:`load_outline_dataset` is the lesson outline's toy problem, exactly
  ``make_classification(n_samples=2000, n_features=20, random_state=42)``.
* :func:`make_transactions` is a synthetic card-transaction table with named
  features, event timestamps and a fraud label drawn from a known rule
  (:func:`fraud_probability`). It can be damaged on purpose (missing values,
  duplicates, outliers, malformed entries) and it carries one leaky column,
  ``chargeback``, that is only known after the outcome.

Around the transaction table sit two views of the same simulation:

* :func:`write_sources` / :func:`load_sources`: the raw sources as a data
  engineer would meet them (a SQLite accounts table, a JSON-lines event log, a
  merchants CSV). Joining them rebuilds :func:`make_transactions` exactly.
* :func:`production_stream`: daily :class:`Batch` es after the training period,
  with optional drift (:class:`DriftSpec`) and labels that arrive late.

How the simulation works
------------------------
1. Accounts: a home country, a customer age and an opening date. Accounts
   open at a steady rate and stay active for a fixed life (ten years, or four
   months for the short-lived fifth of the traffic), so the mix of account
   ages is the same on every day and young accounts are always present.
2. Merchants: a category each, and a popularity weight.
3. Transactions: a day, an hour drawn from a daily profile (quiet at night),
   a merchant category, a merchant of that category, an account that was open
   on that day, a channel and a country that depend on the category, and a
   lognormal amount whose median depends on the category.
4. The label: ``is_fraud ~ Bernoulli(fraud_probability(features))``. The rule
   is a logistic score written out in :data:`FRAUD_RULE`; the Bernoulli draw is
   the noise, so even the true rule cannot separate the classes perfectly.
5. The leak: a chargeback is filed for most frauds and a few legitimate
   transactions, days after the transaction.

Everything is drawn with :func:`numpy.random.default_rng` from the seed, with
independent streams for the clean data, the damage and the drift, so switching
a data-quality problem on never changes the underlying clean rows.
"""
from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "OUTLINE_FEATURES",
    "COLUMNS",
    "FEATURE_COLUMNS",
    "LABEL_COLUMNS",
    "CATEGORIES",
    "COUNTRIES",
    "CHANNELS",
    "CUSTOMER_AGES",
    "FRAUD_RULE",
    "CONCEPT_RULE",
    "INJECTION_RATES",
    "DRIFTABLE",
    "DEFAULT_STREAM_START",
    "load_outline_dataset",
    "make_transactions",
    "fraud_probability",
    "write_sources",
    "load_sources",
    "DriftSpec",
    "Batch",
    "production_stream",
]

# ---------------------------------------------------------------------------
# The outline's dataset
# ---------------------------------------------------------------------------

OUTLINE_FEATURES: list[str] = [f"feat_{i}" for i in range(20)]


def load_outline_dataset() -> pd.DataFrame:
    """Return the lesson outline's dataset as a DataFrame.

    It is exactly ``make_classification(n_samples=2000, n_features=20,
    random_state=42)``: float columns ``feat_0`` .. ``feat_19`` (see
    :data:`OUTLINE_FEATURES`) and an integer column ``target``.

    Returns
    -------
    pandas.DataFrame
        Shape (2000, 21); ``target`` has 1002 zeros and 998 ones.

    Examples
    --------
    >>> df = load_outline_dataset()
    >>> df.shape
    (2000, 21)
    >>> df["target"].value_counts().sort_index().tolist()
    [1002, 998]
    """
    # scikit-learn is imported here so that importing mlcourse.data for the
    # transaction table does not pay for it.
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=2000, n_features=20, random_state=42)
    df = pd.DataFrame(X, columns=OUTLINE_FEATURES)
    df["target"] = y.astype("int64")
    return df


# ---------------------------------------------------------------------------
# Vocabulary of the transaction table
# ---------------------------------------------------------------------------

#: Columns of :func:`make_transactions`, in order.
COLUMNS: list[str] = [
    "transaction_id",
    "account_id",
    "merchant_id",
    "timestamp",
    "amount",
    "hour",
    "merchant_category",
    "country",
    "channel",
    "account_age_days",
    "customer_age",
    "is_foreign",
    "is_fraud",
    "chargeback",
    "chargeback_at",
]
#: The label and the two columns recorded after it (the leak).
LABEL_COLUMNS: list[str] = ["is_fraud", "chargeback", "chargeback_at"]
#: Columns of :attr:`Batch.features`: everything known when a payment is scored.
FEATURE_COLUMNS: list[str] = [c for c in COLUMNS if c not in LABEL_COLUMNS]

CATEGORIES: list[str] = [
    "grocery",
    "restaurants",
    "fuel",
    "pharmacy",
    "online_retail",
    "electronics",
    "travel",
    "gambling",
]
# Share of transactions per category, and the lognormal amount per category
# (median in currency units, sigma of the log). Travel and electronics are
# rare but expensive, which is what makes the amount column heavy-tailed.
_CATEGORY_SHARE = np.array([0.26, 0.20, 0.12, 0.08, 0.16, 0.07, 0.07, 0.04])
_AMOUNT_MEDIAN = np.array([38.0, 28.0, 45.0, 21.0, 55.0, 170.0, 240.0, 60.0])
_AMOUNT_SIGMA = np.array([0.75, 0.60, 0.45, 0.60, 0.90, 0.90, 1.00, 1.10])

#: The youngest and oldest possible customer, both included: the one source of
#: this fact for the generator, the schema (:data:`mlcourse.data.validation.TRANSACTIONS_SCHEMA`),
#: the drift simulation's clipping and lesson 01's validation and cleaning.
CUSTOMER_AGES: tuple[int, int] = (18, 90)

COUNTRIES: list[str] = ["US", "GB", "DE", "FR", "ES", "NL", "CA", "MX"]
_HOME_SHARE = np.array([0.40, 0.15, 0.12, 0.10, 0.07, 0.06, 0.06, 0.04])
# Probability that a payment in this category happens outside the account's
# home country (same order as CATEGORIES).
_FOREIGN_RATE = np.array([0.02, 0.03, 0.03, 0.02, 0.12, 0.08, 0.40, 0.15])

CHANNELS: list[str] = ["chip", "contactless", "online", "swipe"]
# Rows: CATEGORIES; columns: CHANNELS.
_CHANNEL_SHARE = np.array(
    [
        [0.35, 0.55, 0.05, 0.05],  # grocery
        [0.30, 0.60, 0.05, 0.05],  # restaurants
        [0.45, 0.35, 0.00, 0.20],  # fuel
        [0.35, 0.55, 0.03, 0.07],  # pharmacy
        [0.01, 0.01, 0.97, 0.01],  # online_retail
        [0.30, 0.15, 0.50, 0.05],  # electronics
        [0.15, 0.10, 0.70, 0.05],  # travel
        [0.05, 0.05, 0.85, 0.05],  # gambling
    ]
)
# Relative activity per hour of day: quiet at night, peaks at lunch and evening.
_HOUR_PROFILE = np.array(
    [1.2, 0.8, 0.6, 0.5, 0.5, 0.8, 1.5, 2.5, 3.5, 4.5, 5.0, 5.5,
     6.0, 5.5, 5.0, 5.0, 5.5, 6.0, 6.5, 6.0, 5.0, 4.0, 3.0, 2.0]
)

# Accounts come in two kinds, each opening at a steady rate and staying active
# for a fixed life: long-lived accounts (up to ten years) and short-lived ones
# (closed or dormant after four months) that carry a fifth of the payments.
# The mix of account ages is then the same on every day, so a stream without
# drift really shows no drift in account_age_days.
_LONG_LIFE = 3650
_SHORT_LIFE = 120
_SHORT_SHARE = 0.2

# Chargebacks: filed for most frauds, rarely for legitimate payments ("friendly
# fraud"), between a day and a few weeks after the transaction.
_CHARGEBACK_IF_FRAUD = 0.96
_CHARGEBACK_IF_LEGIT = 0.003

# ---------------------------------------------------------------------------
# The ground-truth rule
# ---------------------------------------------------------------------------

#: The fraud rule behind ``is_fraud``: a logistic score.
#:
#: ``logit = intercept + log_amount * log(amount / 50) + night * [hour < 6]
#: + channel[channel] + foreign * is_foreign
#: + young_account * exp(-account_age_days / 30) + category[merchant_category]
#: + senior * [customer_age >= 70] + junior * [customer_age < 25]``, and
#: ``P(fraud) = 1 / (1 + exp(-logit))``. The intercept sets the base rate to
#: about 3 % on the default population.
FRAUD_RULE: dict[str, Any] = {
    "intercept": -5.25,
    "log_amount": 0.65,
    "night": 1.4,
    "channel": {"chip": -0.4, "contactless": -0.3, "online": 1.1, "swipe": 0.6},
    "foreign": 1.4,
    "young_account": 2.0,
    "category": {
        "grocery": -0.6,
        "restaurants": -0.5,
        "fuel": 0.0,
        "pharmacy": -0.7,
        "online_retail": 0.3,
        "electronics": 1.0,
        "travel": 0.2,
        "gambling": 1.3,
    },
    "senior": 0.5,
    "junior": 0.3,
}

#: The rule after concept drift (:class:`DriftSpec` ``concept=True``): fraud
#: moves to small contactless payments in everyday shops, by day, at home,
#: against older customers. Same form as :data:`FRAUD_RULE`.
CONCEPT_RULE: dict[str, Any] = {
    "intercept": -4.95,
    "log_amount": -0.4,
    "night": -0.5,
    "channel": {"chip": -0.6, "contactless": 1.4, "online": -1.0, "swipe": 0.4},
    "foreign": -0.5,
    "young_account": 0.0,
    "category": {
        "grocery": 0.9,
        "restaurants": 0.5,
        "fuel": 0.6,
        "pharmacy": 0.8,
        "online_retail": -0.8,
        "electronics": -0.5,
        "travel": -0.7,
        "gambling": -1.0,
    },
    "senior": 1.2,
    "junior": -0.3,
}


def _fraud_logit(df: pd.DataFrame, rule: Mapping[str, Any]) -> np.ndarray:
    amount = df["amount"].to_numpy(dtype="float64")
    # Clipping keeps an absurd amount from turning into certainty.
    log_amount = np.clip(np.log(np.maximum(amount, 0.01) / 50.0), -4.0, 4.0)
    hour = df["hour"].to_numpy(dtype="float64")
    age = df["customer_age"].to_numpy(dtype="float64")
    account_age = df["account_age_days"].to_numpy(dtype="float64")
    channel = df["channel"].map(rule["channel"]).to_numpy(dtype="float64")
    category = df["merchant_category"].map(rule["category"]).to_numpy(dtype="float64")
    return (
        rule["intercept"]
        + rule["log_amount"] * log_amount
        + rule["night"] * (hour < 6)
        + channel
        + rule["foreign"] * df["is_foreign"].to_numpy(dtype="float64")
        + rule["young_account"] * np.exp(-np.maximum(account_age, 0.0) / 30.0)
        + category
        + rule["senior"] * (age >= 70)
        + rule["junior"] * (age < 25)
    )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def fraud_probability(df: pd.DataFrame, *, concept: bool = False) -> np.ndarray:
    """Return the true probability of fraud for each row, from the known rule.

    This is the rule :func:`make_transactions` draws ``is_fraud`` from (see
    :data:`FRAUD_RULE` for the coefficients). A model can at best learn this
    probability; its ROC-AUC is the ceiling for any model on these features.

    Parameters
    ----------
    df : pandas.DataFrame
        Clean transactions with at least ``amount``, ``hour``, ``channel``,
        ``is_foreign``, ``account_age_days``, ``merchant_category`` and
        ``customer_age``. Unknown categories or missing values give NaN.
    concept : bool, default False
        Use the drifted rule (:data:`CONCEPT_RULE`) instead of the original.

    Returns
    -------
    numpy.ndarray
        Probabilities in (0, 1), one per row.

    Examples
    --------
    >>> df = make_transactions(5_000, seed=0)
    >>> p = fraud_probability(df)
    >>> bool(0.02 < p.mean() < 0.05)
    True
    """
    missing = [c for c in ("amount", "hour", "channel", "is_foreign", "account_age_days",
                           "merchant_category", "customer_age") if c not in df.columns]
    if missing:
        raise ValueError(f"df is missing columns needed by the fraud rule: {missing}")
    return _sigmoid(_fraud_logit(df, CONCEPT_RULE if concept else FRAUD_RULE))


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------

def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _positive_int(name: str, value: Any) -> int:
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _non_negative_int(name: str, value: Any) -> int:
    if not _is_int(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _start_date(value: Any, name: str = "start") -> pd.Timestamp:
    # pd.Timestamp would read a bare number as nanoseconds since 1970.
    if isinstance(value, (bool, int, float, np.number)):
        raise ValueError(f"{name} must be a date such as '2026-01-01', got {value!r}")
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} must be a date such as '2026-01-01', got {value!r}") from exc
    if ts is pd.NaT or pd.isna(ts):
        raise ValueError(f"{name} must be a date such as '2026-01-01', got {value!r}")
    if ts.tzinfo is not None:
        raise ValueError(f"{name} must be a date without a time zone, got {value!r}")
    if ts != ts.normalize():
        raise ValueError(f"{name} must be a date at midnight (no time of day), got {value!r}")
    return ts.as_unit("ns")


# ---------------------------------------------------------------------------
# Simulation: accounts, merchants, transactions
# ---------------------------------------------------------------------------

def _ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    # Formatted in Python: np.char.mod gives the same strings twenty times slower.
    return np.array([f"{prefix}{n:0{width}d}" for n in np.asarray(numbers).tolist()], dtype=object)


def _pick(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Draw category indices from cumulative probabilities, one per uniform."""
    return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)


def _sample_channel(category: np.ndarray, u: np.ndarray) -> np.ndarray:
    cum = np.cumsum(_CHANNEL_SHARE, axis=1)[category]
    return np.minimum((u[:, None] >= cum).sum(axis=1), len(CHANNELS) - 1)


def _simulate(
    rng: np.random.Generator, day: np.ndarray, start: pd.Timestamp, days: int, n_active: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Simulate accounts, merchants and unlabelled transactions.

    ``day`` holds the day offset of every transaction; the caller decides the
    daily volumes. Returns the three source tables, transactions sorted by
    time and numbered in that order.
    """
    accounts, merchants, tx, _more = _simulate_population(rng, day, start, days, n_active)
    return accounts, merchants, tx


def _simulate_population(
    rng: np.random.Generator, day: np.ndarray, start: pd.Timestamp, days: int, n_active: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Any]:
    """:func:`_simulate`, and a function that draws more transactions of the same population.

    The fourth value, ``more(rng, day)``, draws further transactions on the
    given days from the same accounts and merchants (with its own ``rng``), so
    a caller can pick extra rows without changing the first draw.
    """
    n = len(day)
    start_day = start.to_datetime64().astype("datetime64[D]")

    # Accounts of each kind open on evenly spaced days from one life before
    # the start to the last day, so every day has accounts of both kinds
    # active. ``n_active`` is how many long-lived accounts are active at once.
    groups = []
    first = 0
    n_short = max(1, round(n_active * _SHORT_SHARE / (1 - _SHORT_SHARE)))
    for life, active in ((_LONG_LIFE, n_active), (_SHORT_LIFE, n_short)):
        span = life + days - 1
        count = max(math.ceil(active * span / life), math.ceil(span / life))
        opened = -(life - 1) + (np.arange(count) * span) // count
        groups.append((life, first, opened))
        first += count
    opened_offset = np.concatenate([g[2] for g in groups])
    n_accounts = len(opened_offset)
    home = _pick(np.cumsum(_HOME_SHARE), rng.random(n_accounts))
    youngest, oldest = CUSTOMER_AGES
    customer_age = youngest + np.rint((oldest - youngest) * rng.beta(2.0, 3.2, n_accounts)).astype("int64")
    activity = rng.lognormal(0.0, 0.5, n_accounts)
    # Ids follow the opening order, as a bank numbers its accounts.
    by_opening = np.argsort(opened_offset, kind="stable")
    number = np.empty(n_accounts, dtype="int64")
    number[by_opening] = np.arange(1, n_accounts + 1)

    # Merchants: every category gets at least one, then by transaction share.
    n_merchants = int(np.clip(n // 100, 20, 9_999))
    merchant_cat = np.concatenate([
        np.arange(len(CATEGORIES)),
        _pick(np.cumsum(_CATEGORY_SHARE), rng.random(n_merchants - len(CATEGORIES))),
    ])
    popularity = rng.lognormal(0.0, 1.0, n_merchants)

    accounts = pd.DataFrame({
        "account_id": _ids("A", number, 5),
        "home_country": np.array(COUNTRIES, dtype=object)[home],
        "customer_age": customer_age,
        "opened_at": (start_day + opened_offset.astype("timedelta64[D]")).astype("datetime64[ns]"),
    })
    merchants = pd.DataFrame({
        "merchant_id": _ids("M", np.arange(1, n_merchants + 1), 4),
        "merchant_category": np.array(CATEGORIES, dtype=object)[merchant_cat],
    })
    account_ids = accounts["account_id"].to_numpy()
    merchant_ids = merchants["merchant_id"].to_numpy()

    def more(rng: np.random.Generator, day: np.ndarray) -> pd.DataFrame:
        """Transactions on ``day`` (one per entry) from this population, sorted by time."""
        n = len(day)
        hour = _pick(np.cumsum(_HOUR_PROFILE / _HOUR_PROFILE.sum()), rng.random(n))
        second = rng.integers(0, 3600, n)
        category = _pick(np.cumsum(_CATEGORY_SHARE), rng.random(n))

        # A merchant of the drawn category, by popularity: lay merchants out
        # category by category and draw inside that category's slice of the
        # cumulative weights.
        by_cat = np.argsort(merchant_cat, kind="stable")
        cum_pop = np.cumsum(popularity[by_cat])
        cat_end = np.searchsorted(merchant_cat[by_cat], np.arange(len(CATEGORIES)), side="right")
        cat_start = np.concatenate([[0], cat_end[:-1]])
        lo = np.where(cat_start > 0, cum_pop[np.maximum(cat_start - 1, 0)], 0.0)[category]
        hi = cum_pop[cat_end - 1][category]
        slot = np.searchsorted(cum_pop, lo + rng.random(n) * (hi - lo), side="right")
        slot = np.clip(slot, cat_start[category], cat_end[category] - 1)
        merchant = by_cat[slot]

        # An account active on that day, by activity weight. Within a kind the
        # accounts are sorted by opening day, so the active ones on day d (opened
        # in the last ``life`` days) are a contiguous slice of the cumulative
        # weights, and one searchsorted draws from it. The even spacing above
        # (gaps of at most ``life`` days) guarantees the slice is never empty.
        short = rng.random(n) < _SHORT_SHARE
        u_account = rng.random(n)
        account = np.empty(n, dtype="int64")
        for (life, first, opened), rows in zip(groups, (~short, short)):
            cum = np.cumsum(activity[first:first + len(opened)])
            lo = np.searchsorted(opened, day[rows] - life + 1, side="left")
            hi = np.searchsorted(opened, day[rows], side="right")
            w_lo = np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0.0)
            target = w_lo + u_account[rows] * (cum[hi - 1] - w_lo)
            local = np.clip(np.searchsorted(cum, target, side="right"), lo, hi - 1)
            account[rows] = first + local

        channel = _sample_channel(category, rng.random(n))
        foreign = rng.random(n) < _FOREIGN_RATE[category]
        # A foreign payment goes to one of the other countries, uniformly.
        away = rng.integers(1, len(COUNTRIES), n)
        country = np.where(foreign, (home[account] + away) % len(COUNTRIES), home[account])
        amount = rng.lognormal(np.log(_AMOUNT_MEDIAN[category]), _AMOUNT_SIGMA[category])
        amount = np.maximum(np.round(amount, 2), 0.5)

        seconds = day.astype("int64") * 86_400 + hour * 3_600 + second
        order = np.argsort(seconds, kind="stable")
        timestamp = start_day.astype("datetime64[s]") + seconds[order].astype("timedelta64[s]")
        tx = pd.DataFrame({
            "transaction_id": _ids("T", np.arange(1, n + 1), 7),
            "account_id": account_ids[account[order]],
            "merchant_id": merchant_ids[merchant[order]],
            "timestamp": timestamp.astype("datetime64[ns]"),
            "amount": amount[order],
            "country": np.array(COUNTRIES, dtype=object)[country[order]],
            "channel": np.array(CHANNELS, dtype=object)[channel[order]],
        })
        return _as_strings(tx)

    tx = more(rng, day)
    accounts = accounts.iloc[by_opening].reset_index(drop=True)
    return _as_strings(accounts), _as_strings(merchants), tx, more


def _as_strings(df: pd.DataFrame) -> pd.DataFrame:
    # Object arrays of Python str become pandas' default string dtype (``str``
    # on pandas 3, ``object`` on pandas 2), the same dtype read_json/read_csv
    # give, so both routes to the table compare equal.
    for col in df.columns:
        if df[col].dtype == object:
            df[col] = pd.Series(df[col].tolist(), index=df.index)
    return df


def _active_accounts(n_rows: int) -> int:
    # Many accounts with few payments each keep per-account features (age,
    # account age) close to independent draws, so two samples of the same
    # population do not look drifted merely because they met other customers.
    return int(np.clip(n_rows // 5, 40, 60_000))


def _join(accounts: pd.DataFrame, merchants: pd.DataFrame, tx: pd.DataFrame) -> pd.DataFrame:
    """Join the three sources into the transaction table (the reference join)."""
    a = pd.Index(accounts["account_id"]).get_indexer(tx["account_id"])
    m = pd.Index(merchants["merchant_id"]).get_indexer(tx["merchant_id"])
    if (a < 0).any():
        raise ValueError(f"transactions reference {int((a < 0).sum())} unknown account_id values")
    if (m < 0).any():
        raise ValueError(f"transactions reference {int((m < 0).sum())} unknown merchant_id values")
    timestamp = tx["timestamp"].astype("datetime64[ns]").reset_index(drop=True)
    opened_at = accounts["opened_at"].astype("datetime64[ns]").to_numpy()[a]
    home = accounts["home_country"].to_numpy()[a]
    country = tx["country"].reset_index(drop=True)
    out = pd.DataFrame({
        "transaction_id": tx["transaction_id"].reset_index(drop=True),
        "account_id": tx["account_id"].reset_index(drop=True),
        "merchant_id": tx["merchant_id"].reset_index(drop=True),
        "timestamp": timestamp,
        "amount": tx["amount"].astype("float64").reset_index(drop=True),
        "hour": timestamp.dt.hour.astype("int64"),
        "merchant_category": merchants["merchant_category"].to_numpy()[m],
        "country": country,
        "channel": tx["channel"].reset_index(drop=True),
        "account_age_days": (
            (timestamp.dt.normalize().to_numpy() - opened_at) // np.timedelta64(1, "D")
        ).astype("int64"),
        "customer_age": accounts["customer_age"].to_numpy().astype("int64")[a],
        "is_foreign": (country.to_numpy() != home).astype("int64"),
    })
    if "is_fraud" in tx.columns:
        out["is_fraud"] = tx["is_fraud"].astype("int64").to_numpy()
        out["chargeback"] = tx["chargeback"].astype("int64").to_numpy()
        out["chargeback_at"] = tx["chargeback_at"].astype("datetime64[ns]").to_numpy()
    return _as_strings(out)


def _label(rng: np.random.Generator, features: pd.DataFrame, tx: pd.DataFrame) -> pd.DataFrame:
    """Draw is_fraud from the rule, then the chargeback that follows it."""
    n = len(tx)
    is_fraud = rng.random(n) < fraud_probability(features)
    chargeback = rng.random(n) < np.where(is_fraud, _CHARGEBACK_IF_FRAUD, _CHARGEBACK_IF_LEGIT)
    # Disputes come in a day to several weeks later, to the second.
    delay = np.rint((1.0 + rng.gamma(2.0, 8.0, n)) * 86_400).astype("int64")
    chargeback_at = tx["timestamp"].to_numpy() + delay.astype("timedelta64[s]")
    tx = tx.copy()
    tx["is_fraud"] = is_fraud.astype("int64")
    tx["chargeback"] = chargeback.astype("int64")
    tx["chargeback_at"] = np.where(chargeback, chargeback_at, np.datetime64("NaT"))
    tx["chargeback_at"] = tx["chargeback_at"].astype("datetime64[ns]")
    return tx


def _generate_sources(
    n_rows: int, seed: int, start: Any, days: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    n_rows = _positive_int("n_rows", n_rows)
    seed = _non_negative_int("seed", seed)
    days = _positive_int("days", days)
    start_ts = _start_date(start)
    rng = np.random.default_rng([seed, 0])
    day = rng.integers(0, days, n_rows)
    accounts, merchants, tx = _simulate(rng, day, start_ts, days, _active_accounts(n_rows))
    tx = _label(rng, _join(accounts, merchants, tx), tx)
    return accounts, merchants, tx


# ---------------------------------------------------------------------------
# Data-quality damage
# ---------------------------------------------------------------------------

#: Fractions of rows damaged by each switch of :func:`make_transactions`.
#: Counts are ``int(rate * n_rows)`` (rounded down), on disjoint rows, and are
#: reported in ``df.attrs["injected"]``. Duplicates are copies of undamaged
#: rows only, so every count can be recovered from the final table.
INJECTION_RATES: dict[str, Any] = {
    "missing": {
        "amount": 0.03,
        "customer_age": 0.04,
        "account_age_days": 0.02,
        "merchant_category": 0.03,
        "country": 0.02,
        "channel": 0.025,
    },
    "exact_duplicates": 0.01,
    "near_duplicates": 0.005,
    "extreme_amount": 0.002,     # amount x 100          -> "outliers"
    "negative_amount": 0.001,    # amount x -1           -> "impossible"
    "age_150": 0.0005,           # customer_age = 150    -> "impossible"
    "age_5": 0.0005,             # customer_age = 5      -> "impossible"
    "text_amount": 0.01,         # "12.50" "12,50" "$12.50" -> "malformed"
    "misspelled_category": 0.01,  # "Grocery " "ELECTRONICS" -> "malformed"
}


def _damage(
    df: pd.DataFrame, seed: int, *, missing: bool, duplicates: bool, outliers: bool, malformed: bool
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, int]]:
    rng = np.random.default_rng([seed, 1])
    n = len(df)
    rates = INJECTION_RATES
    k = {name: int(rate * n) for name, rate in rates.items() if not isinstance(rate, dict)}
    k_missing = {col: int(rate * n) for col, rate in rates["missing"].items()}
    # One shuffled list of rows per column, cut into disjoint pieces, so that
    # no row is damaged twice in the same column and the counts stay exact.
    touched = np.zeros(n, dtype=bool)

    def rows(*counts: int) -> list[np.ndarray]:
        perm = rng.permutation(n)
        edges = np.cumsum((0,) + counts)
        return [perm[edges[i]:edges[i + 1]] for i in range(len(counts))]

    # Draw every permutation whatever the switches, so each switch damages the
    # same rows whether or not the others are on.
    amount_rows = rows(k_missing["amount"], k["extreme_amount"], k["negative_amount"],
                       k["text_amount"])
    age_rows = rows(k_missing["customer_age"], k["age_150"], k["age_5"])
    acct_rows = rows(k_missing["account_age_days"])
    cat_rows = rows(k_missing["merchant_category"], k["misspelled_category"])
    country_rows = rows(k_missing["country"])
    channel_rows = rows(k_missing["channel"])
    text_style = rng.integers(0, 3, k["text_amount"])
    misspell_style = rng.integers(0, 2, k["misspelled_category"])

    df = df.copy()
    detail = {name: 0 for name in k}
    missing_counts = {col: 0 for col in k_missing}

    if missing:
        for col in ("customer_age", "account_age_days"):
            # NaN needs a float column: these two become float64 whenever
            # missing=True (hour and the 0/1 flags never hold NaN and stay int64).
            df[col] = df[col].astype("float64")
        for col, pieces in (("amount", amount_rows), ("customer_age", age_rows),
                            ("account_age_days", acct_rows)):
            df.loc[pieces[0], col] = np.nan
            touched[pieces[0]] = True
        for col, pieces in (("merchant_category", cat_rows), ("country", country_rows),
                            ("channel", channel_rows)):
            df.loc[pieces[0], col] = None
            touched[pieces[0]] = True
        missing_counts = dict(k_missing)

    if outliers:
        amount = df["amount"].to_numpy(dtype="float64", copy=True)
        amount[amount_rows[1]] = np.round(amount[amount_rows[1]] * 100, 2)
        amount[amount_rows[2]] = -amount[amount_rows[2]]
        df["amount"] = amount
        df.loc[age_rows[1], "customer_age"] = 150
        df.loc[age_rows[2], "customer_age"] = 5
        for piece in (amount_rows[1], amount_rows[2], age_rows[1], age_rows[2]):
            touched[piece] = True
        detail.update(extreme_amount=k["extreme_amount"], negative_amount=k["negative_amount"],
                      age_150=k["age_150"], age_5=k["age_5"])

    if malformed:
        idx = amount_rows[3]
        values = df["amount"].to_numpy(dtype="float64")[idx]
        plain = np.char.mod("%.2f", values)
        text = np.where(text_style == 0, plain,
                        np.where(text_style == 1, np.char.replace(plain, ".", ","),
                                 np.char.add("$", plain)))
        amount = df["amount"].astype(object)
        amount.iloc[idx] = text.astype(object)
        df["amount"] = amount
        idx = cat_rows[1]
        original = df["merchant_category"].to_numpy(dtype=object)[idx].astype(str)
        wrong = np.where(misspell_style == 0, np.char.add(np.char.title(original), " "),
                         np.char.upper(original))
        df.loc[idx, "merchant_category"] = wrong.astype(object)
        touched[amount_rows[3]] = True
        touched[cat_rows[1]] = True
        detail.update(text_amount=k["text_amount"], misspelled_category=k["misspelled_category"])

    if duplicates:
        # Copies are made only of undamaged rows, so the damage counts above
        # stay exact in the final table.
        clean = np.flatnonzero(~touched)
        ts = df["timestamp"]
        second_in_hour = (ts.dt.minute * 60 + ts.dt.second).to_numpy()
        perm = rng.permutation(clean)
        exact_src = np.sort(perm[:k["exact_duplicates"]])
        # A replay lands a few seconds later but inside the same hour, so hour
        # and account_age_days still agree with its timestamp.
        rest = perm[k["exact_duplicates"]:]
        rest = rest[second_in_hour[rest] <= 3599 - 30]
        near_src = np.sort(rest[:k["near_duplicates"]])
        n_near = len(near_src)
        shift = rng.integers(1, 31, n_near).astype("timedelta64[s]")
        cent = rng.choice(np.array([-0.01, 0.0, 0.01]), n_near, p=[0.25, 0.5, 0.25])
        near = df.iloc[near_src].copy()
        near["timestamp"] = near["timestamp"].to_numpy() + shift
        near["amount"] = np.round(near["amount"].to_numpy(dtype="float64") + cent, 2)
        df = pd.concat([df, df.iloc[exact_src], near])
        detail.update(exact_duplicates=len(exact_src), near_duplicates=n_near)

    df = df.sort_values("timestamp", kind="stable").reset_index(drop=True)
    injected = {
        "missing": {col: int(v) for col, v in missing_counts.items()},
        "exact_duplicates": int(detail["exact_duplicates"]),
        "near_duplicates": int(detail["near_duplicates"]),
        "outliers": int(detail["extreme_amount"]),
        "impossible": int(detail["negative_amount"] + detail["age_150"] + detail["age_5"]),
        "malformed": int(detail["text_amount"] + detail["misspelled_category"]),
    }
    return df, injected, {name: int(v) for name, v in detail.items()}


# ---------------------------------------------------------------------------
# The transaction table
# ---------------------------------------------------------------------------

def make_transactions(
    n_rows: int = 20_000,
    seed: int = 0,
    *,
    missing: bool = False,
    duplicates: bool = False,
    outliers: bool = False,
    malformed: bool = False,
    start: str = "2026-01-01",
    days: int = 90,
) -> pd.DataFrame:
    """Generate a synthetic card-transaction table with a known fraud rule.

    Columns, in order (see :data:`COLUMNS`):

    ========================  ==============  ==========================================
    transaction_id            str             ``T0000001`` ..., unique in clean data
    account_id                str             ``A00001`` ...
    merchant_id               str             ``M0001`` ...
    timestamp                 datetime64[ns]  in ``[start, start + days)``, sorted
    amount                    float64         > 0, lognormal by category, in cents
    hour                      int64           0-23, ``timestamp.dt.hour``
    merchant_category         str             one of :data:`CATEGORIES`
    country                   str             ISO-2, one of :data:`COUNTRIES`
    channel                   str             one of :data:`CHANNELS`
    account_age_days          int64           >= 0, days since the account opened
    customer_age              int64           18-90 (:data:`CUSTOMER_AGES`)
    is_foreign                int64           1 if country != the account's home country
    is_fraud                  int64           the label, base rate about 3 %
    chargeback                int64           LEAKY: filed after the fraud is found
    chargeback_at             datetime64[ns]  NaT unless chargeback; always days later
    ========================  ==============  ==========================================

    ``is_fraud`` is drawn from :func:`fraud_probability`. ``chargeback`` is 1
    for about 96 % of frauds and 0.3 % of legitimate payments, so on its own
    it scores a ROC-AUC near 0.98: a model that sees it is reading the answer.

    Parameters
    ----------
    n_rows : int, default 20_000
        Number of transactions before duplicates are added.
    seed : int, default 0
        Seed; the same seed gives the same table.
    missing : bool, default False
        Blank out a known share of ``amount``, ``customer_age``,
        ``account_age_days`` (NaN) and ``merchant_category``, ``country``,
        ``channel`` (None, shown as NaN under pandas' ``str`` dtype). With
        ``missing=True``, ``customer_age`` and ``account_age_days`` are
        float64 because they hold NaN; every other integer column stays int64.
    duplicates : bool, default False
        Append exact copies of 1 % of the rows and near duplicates of 0.5 %:
        the same ``transaction_id`` replayed 1-30 seconds later, half of them
        with the amount off by a cent.
    outliers : bool, default False
        Multiply 0.2 % of amounts by 100 (outliers); make 0.1 % of amounts
        negative and set 0.05 % of ``customer_age`` to 150 and 0.05 % to 5
        (impossible values).
    malformed : bool, default False
        Store 1 % of amounts as text (``"12.50"``, ``"12,50"`` or
        ``"$12.50"``; ``amount`` becomes object dtype) and misspell 1 % of
        ``merchant_category`` (``"Grocery "``, ``"ELECTRONICS"``).
    start : str, default "2026-01-01"
        First day of the period (a date, no time of day).
    days : int, default 90
        Length of the period in days.

    Returns
    -------
    pandas.DataFrame
        Sorted by ``timestamp`` with a fresh RangeIndex. ``df.attrs["injected"]``
        records the damage: ``{"missing": {column: count}, "exact_duplicates":
        n, "near_duplicates": n, "outliers": n, "impossible": n, "malformed":
        n}`` (all zero when the switches are off), and
        ``df.attrs["injected_detail"]`` splits it further. Rates are in
        :data:`INJECTION_RATES`; each count is ``int(rate * n_rows)``.

    Raises
    ------
    ValueError
        If ``n_rows``, ``days`` or ``seed`` is not a positive (for ``seed``:
        non-negative) integer, or ``start`` is not a date.

    Examples
    --------
    >>> df = make_transactions(1_000, seed=0)
    >>> df.shape
    (1000, 15)
    >>> dirty = make_transactions(1_000, seed=0, missing=True)
    >>> dirty.attrs["injected"]["missing"]["amount"]
    30
    >>> int(dirty["amount"].isna().sum())
    30
    """
    for name, flag in (("missing", missing), ("duplicates", duplicates),
                       ("outliers", outliers), ("malformed", malformed)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False, got {flag!r}")
    accounts, merchants, tx = _generate_sources(n_rows, seed, start, days)
    df = _join(accounts, merchants, tx)
    df, injected, detail = _damage(df, int(seed), missing=bool(missing), duplicates=bool(duplicates),
                                   outliers=bool(outliers), malformed=bool(malformed))
    df.attrs["injected"] = injected
    df.attrs["injected_detail"] = detail
    return df


# ---------------------------------------------------------------------------
# The raw sources
# ---------------------------------------------------------------------------

_SOURCE_FILES = {
    "accounts": "accounts.sqlite",
    "transactions": "transactions.jsonl",
    "merchants": "merchants.csv",
}


def _iso(values: pd.Series) -> list[str | None]:
    text = np.datetime_as_string(values.to_numpy().astype("datetime64[s]"), unit="s")
    return [None if t == "NaT" else t for t in text.tolist()]


def write_sources(directory: str | Path, n_rows: int = 20_000, seed: int = 0) -> dict[str, Path]:
    """Write the transaction data as it arrives in practice: three sources.

    * ``accounts.sqlite``: a SQLite database with a table ``accounts``
      (``account_id``, ``home_country``, ``customer_age``, ``opened_at`` as an
      ISO date string);
    * ``transactions.jsonl``: an event log, one JSON object per line
      (``transaction_id``, ``account_id``, ``merchant_id``, ``timestamp`` as
      ISO-8601, ``amount``, ``country``, ``channel``, ``is_fraud``,
      ``chargeback``, ``chargeback_at`` or null);
    * ``merchants.csv``: ``merchant_id``, ``merchant_category``.

    ``hour``, ``account_age_days`` and ``is_foreign`` are not stored anywhere:
    they are derived in the join (:func:`load_sources`). The accounts and
    merchants tables also hold rows that no transaction references, as real
    reference tables do. Existing files of the same names are replaced.

    Parameters
    ----------
    directory : str or pathlib.Path
        Folder to write into; created if needed.
    n_rows, seed : int
        As in :func:`make_transactions` (default period).

    Returns
    -------
    dict[str, pathlib.Path]
        ``{"accounts": ..., "transactions": ..., "merchants": ...}``.

    Examples
    --------
    >>> import tempfile
    >>> paths = write_sources(tempfile.mkdtemp(), n_rows=500, seed=3)
    >>> sorted(paths)
    ['accounts', 'merchants', 'transactions']
    >>> load_sources(paths).equals(make_transactions(500, seed=3))
    True
    """
    accounts, merchants, tx = _generate_sources(n_rows, seed, "2026-01-01", 90)
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"directory must be a folder, got the file {str(directory)!r}")
    directory.mkdir(parents=True, exist_ok=True)
    paths = {key: directory / name for key, name in _SOURCE_FILES.items()}

    if paths["accounts"].exists():
        paths["accounts"].unlink()
    con = sqlite3.connect(paths["accounts"])
    try:
        with con:
            con.execute(
                "CREATE TABLE accounts (account_id TEXT PRIMARY KEY, home_country TEXT NOT NULL,"
                " customer_age INTEGER NOT NULL, opened_at TEXT NOT NULL)"
            )
            opened = np.datetime_as_string(
                accounts["opened_at"].to_numpy().astype("datetime64[D]"), unit="D"
            ).tolist()
            con.executemany(
                "INSERT INTO accounts VALUES (?, ?, ?, ?)",
                zip(accounts["account_id"].tolist(), accounts["home_country"].tolist(),
                    accounts["customer_age"].astype(int).tolist(), opened),
            )
    finally:
        con.close()

    columns = {
        "transaction_id": tx["transaction_id"].tolist(),
        "account_id": tx["account_id"].tolist(),
        "merchant_id": tx["merchant_id"].tolist(),
        "timestamp": _iso(tx["timestamp"]),
        "amount": tx["amount"].astype(float).tolist(),
        "country": tx["country"].tolist(),
        "channel": tx["channel"].tolist(),
        "is_fraud": tx["is_fraud"].astype(int).tolist(),
        "chargeback": tx["chargeback"].astype(int).tolist(),
        "chargeback_at": _iso(tx["chargeback_at"]),
    }
    keys = list(columns)
    with open(paths["transactions"], "w", encoding="utf-8") as fh:
        for values in zip(*columns.values()):
            fh.write(json.dumps(dict(zip(keys, values))))
            fh.write("\n")

    merchants.to_csv(paths["merchants"], index=False)
    return paths


def load_sources(paths: Mapping[str, str | Path] | str | Path) -> pd.DataFrame:
    """Read the three sources of :func:`write_sources` and join them.

    This is the reference join: each transaction joined to its account on
    ``account_id`` and to its merchant on ``merchant_id`` (an id with no match
    is an error, not a silent NaN); then ``hour`` (from
    the timestamp), ``account_age_days`` (days from ``opened_at`` to the
    transaction's date) and ``is_foreign`` (transaction country differs from
    the home country) are derived, types are cast and columns ordered as in
    :func:`make_transactions`.

    Parameters
    ----------
    paths : mapping or path
        The dict :func:`write_sources` returned, or the folder it wrote to.

    Returns
    -------
    pandas.DataFrame
        Equal to ``make_transactions(n_rows, seed)`` for the same arguments.

    Raises
    ------
    ValueError
        If a source is missing or a transaction references an unknown account
        or merchant.

    Examples
    --------
    >>> import tempfile
    >>> df = load_sources(write_sources(tempfile.mkdtemp(), n_rows=200))
    >>> list(df.columns) == COLUMNS
    True
    """
    if isinstance(paths, (str, Path)):
        folder = Path(paths)
        paths = {key: folder / name for key, name in _SOURCE_FILES.items()}
    resolved = {}
    for key in _SOURCE_FILES:
        if key not in paths:
            raise ValueError(f"paths has no {key!r} entry")
        resolved[key] = Path(paths[key])
        if not resolved[key].is_file():
            raise ValueError(f"paths[{key!r}] is not a file: {str(resolved[key])!r}")

    con = sqlite3.connect(resolved["accounts"])
    try:
        accounts = pd.read_sql_query(
            "SELECT account_id, home_country, customer_age, opened_at FROM accounts", con
        )
    finally:
        con.close()
    accounts["opened_at"] = pd.to_datetime(accounts["opened_at"], format="ISO8601")

    with open(resolved["transactions"], encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    tx = pd.DataFrame.from_records(records)
    tx["timestamp"] = pd.to_datetime(tx["timestamp"], format="ISO8601")
    tx["chargeback_at"] = pd.to_datetime(tx["chargeback_at"], format="ISO8601")

    merchants = pd.read_csv(resolved["merchants"], dtype=str, keep_default_na=False)
    return _join(_as_strings(accounts), _as_strings(merchants), _as_strings(tx))


# ---------------------------------------------------------------------------
# Production
# ---------------------------------------------------------------------------

#: The day after the default training period of :func:`make_transactions`.
DEFAULT_STREAM_START = "2026-04-01"

#: Features a :class:`DriftSpec` can shift, and what the shift value means.
DRIFTABLE: dict[str, str] = {
    "amount": "multiplicative factor > 0 (1.5 = amounts 50 % higher)",
    "account_age_days": "multiplicative factor > 0 (0.2 = much younger accounts)",
    "customer_age": "additive years (clipped to 18-90)",
    "hour": "additive hours, wrapping round midnight (timestamp moves with it)",
    "channel": "share in [0, 1] of payments moved to 'online'",
    "merchant_category": "share in [0, 1] of payments moved to 'online_retail' merchants",
    "is_foreign": "share in [0, 1] of domestic payments made abroad instead",
}
_MULTIPLICATIVE = {"amount", "account_age_days"}
_SHARES = {"channel", "merchant_category", "is_foreign"}


@dataclass(frozen=True)
class DriftSpec:
    """What changes in a :func:`production_stream`, and from when.

    Parameters
    ----------
    start_day : int, default 0
        First drifted day (0 = from the first batch).
    covariate : dict[str, float], default {}
        Covariate shift: feature -> shift, see :data:`DRIFTABLE`. Several
        features may drift at once. The fraud rule is unchanged, so labels
        follow the new inputs.
    prior : float or None, default None
        Prior (label) shift: the new fraud base rate, in (0, 1). A drifted
        day keeps what a fraud and a legitimate payment look like, P(x | y),
        and changes only their mix P(y) to this rate, by drawing more of one
        class from the same population. The inputs' distribution P(x) moves
        with the mix, weakly (towards fraud-like payments when fraud gets
        commoner), and the odds of fraud given the inputs, P(y | x), move by
        one common factor.
    concept : bool, default False
        Concept drift: the labels follow :data:`CONCEPT_RULE` instead of
        :data:`FRAUD_RULE` while the inputs keep their distribution.
    ramp_days : int, default 0
        0 = sudden drift; otherwise the drift grows linearly and is complete
        on day ``start_day + ramp_days - 1``.

    Examples
    --------
    >>> DriftSpec(start_day=10, covariate={"amount": 1.5}, ramp_days=5).covariate
    {'amount': 1.5}
    """

    start_day: int = 0
    covariate: dict[str, float] = field(default_factory=dict)
    prior: float | None = None
    concept: bool = False
    ramp_days: int = 0

    def __post_init__(self) -> None:
        _non_negative_int("start_day", self.start_day)
        _non_negative_int("ramp_days", self.ramp_days)
        if not isinstance(self.covariate, Mapping):
            raise ValueError(f"covariate must be a dict of feature -> shift, got {self.covariate!r}")
        checked = {}
        for feature, shift in self.covariate.items():
            if feature not in DRIFTABLE:
                raise ValueError(
                    f"covariate has unknown feature {feature!r}; choose from {sorted(DRIFTABLE)}"
                )
            if isinstance(shift, (bool, np.bool_)) or not isinstance(shift, (int, float, np.number)) \
                    or not math.isfinite(float(shift)):
                raise ValueError(f"covariate[{feature!r}] must be a finite number, got {shift!r}")
            shift = float(shift)
            if feature in _MULTIPLICATIVE and shift <= 0:
                raise ValueError(f"covariate[{feature!r}] is a factor and must be > 0, got {shift}")
            if feature in _SHARES and not 0.0 <= shift <= 1.0:
                raise ValueError(f"covariate[{feature!r}] is a share and must be in [0, 1], got {shift}")
            checked[feature] = shift
        object.__setattr__(self, "covariate", checked)
        if self.prior is not None:
            if isinstance(self.prior, (bool, np.bool_)) or not isinstance(self.prior, (int, float, np.number)) \
                    or not 0.0 < float(self.prior) < 1.0:
                raise ValueError(f"prior must be a base rate in (0, 1) or None, got {self.prior!r}")
            object.__setattr__(self, "prior", float(self.prior))
        if not isinstance(self.concept, (bool, np.bool_)):
            raise ValueError(f"concept must be True or False, got {self.concept!r}")

    def weight(self, day: int) -> float:
        """Return how far the drift has progressed on ``day``, from 0 to 1."""
        if day < self.start_day:
            return 0.0
        if self.ramp_days <= 1:
            return 1.0
        return min(1.0, (day - self.start_day + 1) / self.ramp_days)


@dataclass(frozen=True)
class Batch:
    """One day of production traffic.

    Attributes
    ----------
    day : int
        Day number in the stream, from 0.
    date : pandas.Timestamp
        The calendar day (midnight).
    features : pandas.DataFrame
        What the model sees: :data:`FEATURE_COLUMNS`, sorted by time.
    labels : pandas.Series
        ``is_fraud`` for the same rows (same index). In production they are
        not known until ``labels_available_on``.
    labels_available_on : pandas.Timestamp
        ``date + label_delay_days``: the first day the labels may be used.
    """

    day: int
    date: pd.Timestamp
    features: pd.DataFrame
    labels: pd.Series
    labels_available_on: pd.Timestamp


def _apply_covariate_drift(
    df: pd.DataFrame, merchants: pd.DataFrame, w: np.ndarray, covariate: Mapping[str, float],
    rng: np.random.Generator,
) -> pd.DataFrame:
    n = len(df)
    # Every uniform is drawn whatever the spec, so a given feature drifts the
    # same rows whichever other features drift with it.
    u_channel, u_category, u_foreign, u_pick, u_channel_new, u_away = rng.random((6, n))
    df = df.copy()
    if "merchant_category" in covariate:
        moved = u_category < covariate["merchant_category"] * w
        online = np.flatnonzero(merchants["merchant_category"].to_numpy() == "online_retail")
        pick = online[np.minimum((u_pick * len(online)).astype(int), len(online) - 1)]
        df.loc[moved, "merchant_id"] = merchants["merchant_id"].to_numpy()[pick][moved]
        df.loc[moved, "merchant_category"] = "online_retail"
        # An online shop is paid online: redraw the channel for moved rows.
        new_channel = np.array(CHANNELS, dtype=object)[
            _sample_channel(np.full(n, CATEGORIES.index("online_retail")), u_channel_new)
        ]
        df.loc[moved, "channel"] = new_channel[moved]
    if "channel" in covariate:
        moved = u_channel < covariate["channel"] * w
        df.loc[moved, "channel"] = "online"
    if "is_foreign" in covariate:
        moved = (u_foreign < covariate["is_foreign"] * w) & (df["is_foreign"].to_numpy() == 0)
        # Domestic rows: the country is the home country; step to another one.
        code = pd.Index(COUNTRIES).get_indexer(df["country"])
        away = 1 + np.minimum((u_away * (len(COUNTRIES) - 1)).astype(int), len(COUNTRIES) - 2)
        new_country = np.array(COUNTRIES, dtype=object)[(code + away) % len(COUNTRIES)]
        df.loc[moved, "country"] = new_country[moved]
        df.loc[moved, "is_foreign"] = 1
    if "amount" in covariate:
        factor = covariate["amount"] ** w
        df["amount"] = np.maximum(np.round(df["amount"].to_numpy() * factor, 2), 0.01)
    if "account_age_days" in covariate:
        factor = covariate["account_age_days"] ** w
        df["account_age_days"] = np.rint(df["account_age_days"].to_numpy() * factor).astype("int64")
    if "customer_age" in covariate:
        age = np.rint(df["customer_age"].to_numpy() + covariate["customer_age"] * w)
        df["customer_age"] = np.clip(age, *CUSTOMER_AGES).astype("int64")
    if "hour" in covariate:
        new_hour = (df["hour"].to_numpy() + np.rint(covariate["hour"] * w).astype("int64")) % 24
        step = (new_hour - df["hour"].to_numpy()).astype("timedelta64[h]")
        df["timestamp"] = (df["timestamp"].to_numpy() + step).astype("datetime64[ns]")
        df["hour"] = new_hour.astype("int64")
    return df


def _stream_logit(df: pd.DataFrame, w: np.ndarray, drift: DriftSpec) -> np.ndarray:
    """The fraud rule's logit for each row: the original rule, moving towards
    :data:`CONCEPT_RULE` by each row's drift weight ``w`` under concept drift."""
    logit = _fraud_logit(df, FRAUD_RULE)
    if drift.concept:
        logit = (1 - w) * logit + w * _fraud_logit(df, CONCEPT_RULE)
    return logit


def _reserve_size(expected: np.ndarray, target: np.ndarray, rows_per_day: int) -> np.ndarray:
    """Extra transactions to draw per drifted day, so that label shift finds enough of each class.

    A day needs about ``target x rows`` frauds and ``(1 - target) x rows``
    legitimate payments; its own rows hold ``expected x rows`` of the first.
    Three times the shortfall's ratio, plus one day's worth, leaves a wide margin.
    """
    ratio = np.maximum(target / expected, (1 - target) / (1 - expected))
    return (np.ceil(3 * ratio).astype("int64") + 1) * rows_per_day


def _shift_labels(
    df: pd.DataFrame, extra: pd.DataFrame, target: np.ndarray, drifted: np.ndarray, rows_per_day: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Label shift: rebuild each drifted day with ``target[d]`` frauds, each class drawn as it was.

    Frauds come from the day's own frauds first, in random order, then from the
    extra transactions of that day; legitimate payments likewise. Which rows
    are picked never depends on their features, so P(x | fraud) and
    P(x | legitimate) stay as they were and only the mix P(fraud) moves; the
    inputs' distribution P(x) moves with the mix, towards fraud-like payments.
    """
    days = []
    for d in range(int(df["day"].max()) + 1):
        own = df[df["day"] == d]
        if d not in drifted:
            days.append(own)
            continue
        more = extra[extra["day"] == d]
        k = min(int(rng.binomial(rows_per_day, target[d])),
                int(own["is_fraud"].sum() + more["is_fraud"].sum()))
        picked = []
        for label, count in ((1, k), (0, rows_per_day - k)):
            mine, theirs = own[own["is_fraud"] == label], more[more["is_fraud"] == label]
            pool = pd.concat([mine.iloc[rng.permutation(len(mine))], theirs.iloc[rng.permutation(len(theirs))]])
            picked.append(pool.iloc[:count])
        days.append(pd.concat(picked))
    return pd.concat(days, ignore_index=True)


def production_stream(
    n_days: int = 30,
    rows_per_day: int = 500,
    seed: int = 1,
    *,
    start: str | None = None,
    drift: DriftSpec | None = None,
    label_delay_days: int = 7,
) -> list[Batch]:
    """Simulate daily batches of production traffic after the training period.

    The population and the fraud rule are those of :func:`make_transactions`
    unless ``drift`` says otherwise. Drift never changes the random draws, so
    the batches before ``drift.start_day`` are identical to a stream without
    drift, and after it only what the spec names has changed.

    Transaction ids start at ``T5000001`` so they do not collide with a
    training table (ids there start at ``T0000001``). The stream simulates its
    own accounts and merchants with the same profile as the training data.

    Parameters
    ----------
    n_days : int, default 30
        Number of daily batches.
    rows_per_day : int, default 500
        Transactions per batch.
    seed : int, default 1
        Seed; the same seed (and spec) gives the same stream.
    start : str or None, default None
        Date of the first batch; None means :data:`DEFAULT_STREAM_START`, the
        day after the default training period ends.
    drift : DriftSpec or None, default None
        Covariate, prior and concept drift, sudden or gradual.
    label_delay_days : int, default 7
        Days until the labels of a batch are known.

    Returns
    -------
    list[Batch]
        One batch per day, in order.

    Raises
    ------
    ValueError
        On a non-positive ``n_days`` or ``rows_per_day``, a negative ``seed``
        or ``label_delay_days``, a bad ``start``, or ``drift`` that is not a
        DriftSpec (DriftSpec checks its own fields).

    Examples
    --------
    >>> batches = production_stream(n_days=3, rows_per_day=100,
    ...                             drift=DriftSpec(start_day=1, covariate={"amount": 2.0}))
    >>> [b.day for b in batches]
    [0, 1, 2]
    >>> str(batches[0].labels_available_on.date())
    '2026-04-08'
    """
    n_days = _positive_int("n_days", n_days)
    rows_per_day = _positive_int("rows_per_day", rows_per_day)
    seed = _non_negative_int("seed", seed)
    label_delay_days = _non_negative_int("label_delay_days", label_delay_days)
    start_ts = _start_date(DEFAULT_STREAM_START if start is None else start)
    if drift is None:
        drift = DriftSpec()
    elif not isinstance(drift, DriftSpec):
        raise ValueError(f"drift must be a DriftSpec or None, got {type(drift).__name__}")

    n = n_days * rows_per_day
    rng = np.random.default_rng([seed, 0])
    day = np.repeat(np.arange(n_days), rows_per_day)
    # Size the population as for a 90-day training table at this daily volume.
    accounts, merchants, tx, more = _simulate_population(rng, day, start_ts, n_days,
                                                         _active_accounts(rows_per_day * 90))
    base = _join(accounts, merchants, tx)
    u_label = rng.random(n)

    w_day = np.array([drift.weight(d) for d in range(n_days)])
    w = w_day[day]
    df = _apply_covariate_drift(base, merchants, w, drift.covariate,
                                np.random.default_rng([seed, 2]))

    probability = _sigmoid(_stream_logit(df, w, drift))
    is_fraud = (u_label < probability).astype("int64")
    df["is_fraud"] = is_fraud
    df["day"] = day
    drifted = np.flatnonzero(w_day > 0)
    if drift.prior is not None and drifted.size:
        # Label shift draws extra transactions of the same population on the
        # drifted days (from their own random streams), so the undrifted days
        # and the first draw stay exactly as they were.
        expected = probability.reshape(n_days, rows_per_day).mean(axis=1)
        target = expected + w_day * (drift.prior - expected)
        extra_day = np.repeat(drifted, _reserve_size(expected, target, rows_per_day)[drifted])
        extra = _join(accounts, merchants, more(np.random.default_rng([seed, 3]), extra_day))
        w_extra = w_day[extra_day]
        extra = _apply_covariate_drift(extra, merchants, w_extra, drift.covariate, np.random.default_rng([seed, 4]))
        p_extra = _sigmoid(_stream_logit(extra, w_extra, drift))
        extra["is_fraud"] = (np.random.default_rng([seed, 5]).random(len(extra)) < p_extra).astype("int64")
        extra["day"] = extra_day
        df = _shift_labels(df, extra, target, drifted, rows_per_day, np.random.default_rng([seed, 6]))
    # A shifted hour can reorder the day; ids follow the final order.
    df = df.sort_values(["day", "timestamp"], kind="stable").reset_index(drop=True)
    df["transaction_id"] = pd.Series(
        _ids("T", np.arange(5_000_001, 5_000_001 + n), 7).tolist(), index=df.index
    )

    batches = []
    for d in range(n_days):
        part = df.iloc[d * rows_per_day:(d + 1) * rows_per_day].reset_index(drop=True)
        date = start_ts + pd.Timedelta(days=d)
        batches.append(Batch(
            day=d,
            date=date,
            features=part[FEATURE_COLUMNS].copy(),
            labels=part["is_fraud"].rename("is_fraud"),
            labels_available_on=date + pd.Timedelta(days=label_delay_days),
        ))
    return batches
