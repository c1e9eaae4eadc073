"""Answers to lesson 01's exercises, as a learner would type them in the answer cell.

Each exercise has right answers written in other styles than the solutions
notebook's (another library, loops instead of vectorised code, another valid
convention) and typical wrong answers, each with a fragment of the message the
learner must see. ``test_data.py`` tries them inside the lesson (with the
notebook's seed); ``test_data_seeds.py`` on many secret seeds, where every
verdict must come out the same.
"""
from __future__ import annotations

#: What the lesson's cells before the answers give every answer cell.
PRELUDE = """
import hashlib
import json
import math
import sqlite3
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from mlcourse import data
from mlcourse.data import validation
from mlcourse.exercises.data.checks import make_model
"""

# -- data.join_sources -------------------------------------------------------
_JOIN = """
def join_sources(paths):
    con = sqlite3.connect(paths["accounts"])
    accounts = pd.read_sql_query("SELECT * FROM accounts", con)
    con.close()
    payments = {read_payments}
    merchants = pd.read_csv(paths["merchants"])
    accounts["opened_at"] = pd.to_datetime(accounts["opened_at"])
    df = {join}
    df["hour"] = pd.to_datetime(df["timestamp"]).dt.hour
    df["account_age_days"] = {age}
    df["is_foreign"] = {foreign}
    return df[data.COLUMNS]
"""
_PARSED = 'pd.read_json(paths["transactions"], lines=True)'
_LEFT = 'payments.merge(accounts, on="account_id", how="left").merge(merchants, on="merchant_id", how="left")'
_AGE = '(pd.to_datetime(df["timestamp"]).dt.normalize() - df["opened_at"]).dt.days'
_FOREIGN = '(df["country"] != df["home_country"]).astype(int)'


def _join(read_payments=_PARSED, join=_LEFT, age=_AGE, foreign=_FOREIGN):
    return _JOIN.format(read_payments=read_payments, join=join, age=age, foreign=foreign)


# -- data.clean_transactions --------------------------------------------------
_CLEAN = """
def clean_transactions(df):
    out = {dedupe}
    out.loc[{amount_bad}, "amount"] = np.nan
    out.loc[{age_bad}, "customer_age"] = np.nan
    {account_age}
    for col in ("amount", "customer_age", "account_age_days"):
        out[col + "_imputed"] = out[col].isna().astype(int)
        out[col] = out[col].fillna(out[col].median())
    for col in ("merchant_category", "country", "channel"):
        out[col] = out[col].fillna({fill})
    {extra}
    return out
"""
_DEDUPE = 'df.sort_values("timestamp").drop_duplicates("transaction_id").copy()'
_ACCOUNT_AGE = 'out.loc[out["account_age_days"] < 0, "account_age_days"] = np.nan'


def _clean(dedupe=_DEDUPE, extra="", fill='"unknown"', amount_bad='out["amount"] <= 0',
           age_bad='~out["customer_age"].between(*data.CUSTOMER_AGES)', account_age=_ACCOUNT_AGE):
    return _CLEAN.format(dedupe=dedupe, extra=extra, fill=fill, amount_bad=amount_bad, age_bad=age_bad,
                         account_age=account_age)


# -- data.leak_auc ------------------------------------------------------------
_LEAK = """
def auc_with_and_without(train, test, features, leaky):
    scores = []
    for columns in (features + leaky, {second}):
        model = make_model().fit({fit_rows}[columns], {fit_rows}["is_fraud"])
        scores.append({metric}({rows}["is_fraud"], {score}))
    return {ret}
"""


def _leak(second="features", rows="test", score="model.predict_proba(test[columns])[:, 1]", ret="scores[0], scores[1]",
          fit_rows="train", metric="roc_auc_score"):
    return _LEAK.format(second=second, rows=rows, score=score, ret=ret, fit_rows=fit_rows, metric=metric)


# -- data.features_match ------------------------------------------------------
_MATCH = """
def features_match(offline_fn, online_fn, records):
    offline = offline_fn(pd.DataFrame.from_records(records)).reset_index(drop=True)
    online = [online_fn(r) for r in records]
    names = {names}
    out = {{}}
    for name in names:
        bad = 0
        for i, rec in enumerate(online):
            if name not in offline.columns or name not in rec:
                bad += 1
            elif {differ}:
                bad += 1
                {after}
        if bad:
            out[name] = {value}
    return {ret}
"""
_ALL_NAMES = "list(dict.fromkeys(list(offline.columns) + [k for r in online for k in r]))"


def _match(names=_ALL_NAMES, differ="abs(float(offline[name].iloc[i]) - float(rec[name])) > 1e-6", after="",
           value="bad", ret="out"):
    return _MATCH.format(names=names, differ=differ, after=after, value=value, ret=ret)


_VIOLATIONS = """
def find_violations(df, schema):
    rows = []
    for column, rules in schema.items():
        if column not in df.columns:
            rows.append((column, "missing_column", 1))
            continue{body}
    return {ret}
"""


def _violations(body, ret='pd.DataFrame(rows, columns=["column", "rule", "count"])'):
    """A learner's find_violations that reports a missing column, then checks each present one with ``body``."""
    return _VIOLATIONS.format(body=body.rstrip("\n"), ret=ret)


_COUNTED = """
        {name} = df[column].dropna()
        counts = {{
            "nullable": {nullable},
            "min": int(({name} {lt} rules["min"]).sum()) if "min" in rules else 0,
            "max": int(({name} {gt} rules["max"]).sum()) if "max" in rules else 0,
            "allowed": int((~{name}.isin(rules["allowed"])).sum()) if "allowed" in rules else 0,
        }}
        {collect}
"""


def _counted(name="present", lt="<", gt=">", nullable='int(df[column].isna().sum()) if rules.get("nullable", True) is False else 0',
             collect="rows.extend((column, rule, n) for rule, n in counts.items() if n > 0)"):
    """The body of a :func:`_violations` that counts each rule's violations of the column's values ``name`` in a dict."""
    return _COUNTED.format(name=name, lt=lt, gt=gt, nullable=nullable, collect=collect)


RIGHT: dict[str, dict[str, str]] = {
    "data.join_sources": {
        "inner joins, json module, floor": """
def join_sources(paths):
    with sqlite3.connect(paths["accounts"]) as con:
        accounts = pd.read_sql("SELECT account_id, home_country, customer_age, opened_at FROM accounts", con,
                               parse_dates=["opened_at"])
    lines = Path(paths["transactions"]).read_text().splitlines()
    payments = pd.DataFrame([json.loads(line) for line in lines])
    payments["timestamp"] = pd.to_datetime(payments["timestamp"])
    payments["chargeback_at"] = pd.to_datetime(payments["chargeback_at"])
    merchants = pd.read_csv(paths["merchants"], dtype=str)
    df = payments.merge(accounts, on="account_id").merge(merchants, on="merchant_id")  # every key has a match
    df["hour"] = df["timestamp"].dt.hour
    df["account_age_days"] = (df["timestamp"].dt.floor("D") - df["opened_at"]).dt.days
    df["is_foreign"] = np.where(df["country"] == df["home_country"], 0, 1)
    return df[data.COLUMNS]
""",
        "lookups with map": """
def join_sources(paths):
    con = sqlite3.connect(paths["accounts"])
    acc = pd.read_sql_query("SELECT * FROM accounts", con).set_index("account_id")
    con.close()
    tx = pd.read_json(paths["transactions"], lines=True)  # parses `timestamp` by its name
    tx["chargeback_at"] = pd.to_datetime(tx["chargeback_at"])  # all empty in a small table: parse it anyway
    category = pd.read_csv(paths["merchants"]).set_index("merchant_id")["merchant_category"]
    opened = pd.to_datetime(tx["account_id"].map(acc["opened_at"]))
    tx["merchant_category"] = tx["merchant_id"].map(category)
    tx["customer_age"] = tx["account_id"].map(acc["customer_age"])
    tx["hour"] = tx["timestamp"].dt.hour
    tx["account_age_days"] = (tx["timestamp"] - opened).dt.days
    tx["is_foreign"] = (tx["country"] != tx["account_id"].map(acc["home_country"])).astype("int64")
    return tx[data.COLUMNS]
""",
    },
    "data.find_violations": {
        "masks per rule": """
def find_violations(df, schema):
    report = []
    for col, rules in schema.items():
        if col not in df:
            report.append({"column": col, "rule": "missing_column", "count": 1})
            continue
        s = df[col]
        masks = {
            "nullable": s.isna() if rules.get("nullable", True) is False else None,
            "min": s.lt(rules["min"]) if "min" in rules else None,
            "max": s.gt(rules["max"]) if "max" in rules else None,
            "allowed": s.notna() & ~s.isin(rules["allowed"]) if "allowed" in rules else None,
        }
        for rule, mask in masks.items():
            if mask is not None and mask.sum() > 0:
                report.append({"column": col, "rule": rule, "count": int(mask.sum())})
    return pd.DataFrame(report, columns=["column", "rule", "count"])
""",
        "plain loops": """
def find_violations(df, schema):
    rows = []
    for column, rules in schema.items():
        if column not in df.columns:
            rows.append([column, "missing_column", 1])
            continue
        values = df[column].tolist()
        present = [v for v in values if not pd.isna(v)]
        counts = {}
        if rules.get("nullable") is False:
            counts["nullable"] = len(values) - len(present)
        if "min" in rules:
            counts["min"] = sum(v < rules["min"] for v in present)
        if "max" in rules:
            counts["max"] = sum(v > rules["max"] for v in present)
        if "allowed" in rules:
            counts["allowed"] = sum(v not in rules["allowed"] for v in present)
        rows += [[column, rule, n] for rule, n in counts.items() if n]
    return pd.DataFrame(rows, columns=["column", "rule", "count"])
""",
    },
    "data.clean_transactions": {
        "groupby, where, mean, boolean flags": """
def clean_transactions(df):
    first = df.loc[df.groupby("transaction_id")["timestamp"].idxmin()].copy()
    youngest, oldest = data.CUSTOMER_AGES
    first["amount"] = first["amount"].where(first["amount"] > 0)
    first["customer_age"] = first["customer_age"].where(first["customer_age"].between(youngest, oldest))
    first["account_age_days"] = first["account_age_days"].mask(first["account_age_days"] < 0)
    for col in ["amount", "customer_age", "account_age_days"]:
        first[f"{col}_imputed"] = first[col].isna()
        first[col] = first[col].fillna(first[col].mean())
    return first.fillna({"merchant_category": "unknown", "country": "unknown", "channel": "unknown"})
""",
        "numpy masks": """
def clean_transactions(df):
    out = df.sort_values("timestamp", kind="mergesort")
    out = out[~out["transaction_id"].duplicated()].copy()
    age = out["customer_age"].to_numpy(dtype=float)
    impossible = {
        "amount": out["amount"].to_numpy(dtype=float) <= 0,
        "customer_age": (age < 18) | (age > 90),
        "account_age_days": out["account_age_days"].to_numpy(dtype=float) < 0,
    }
    for col, bad in impossible.items():
        values = np.where(bad, np.nan, out[col].to_numpy(dtype=float))
        out[col + "_imputed"] = np.isnan(values).astype(int)
        out[col] = np.where(np.isnan(values), np.nanmedian(values), values)
    for col in ["merchant_category", "country", "channel"]:
        out.loc[out[col].isna(), col] = "unknown"
    return out
""",
    },
    "data.fingerprint": {
        "column by column, blake2b": """
def fingerprint(df):
    h = hashlib.blake2b(digest_size=20)
    for name, column in df.items():
        h.update(f"{name}:{column.dtype};".encode())
        values = column.to_numpy()
        h.update(values.tobytes() if values.dtype != object else "\\x00".join(map(str, values)).encode())
    return h.hexdigest()
""",
        "json, md5": """
def fingerprint(df):
    h = hashlib.md5()
    h.update(json.dumps([list(map(str, df.columns)), list(map(str, df.dtypes))]).encode())
    h.update(df.to_json(orient="values", double_precision=15).encode())
    return h.hexdigest()
""",
    },
    "data.leaky_columns": {
        "a tuple": "leaky_columns = ('chargeback_at', 'chargeback')",
        "a set": "leaky_columns = {'chargeback', 'chargeback_at'}",
    },
    "data.leak_auc": {
        "decision_function, other column order": """
def auc_with_and_without(train, test, features, leaky):
    def score(cols):
        model = make_model().fit(train[cols], train["is_fraud"])
        return roc_auc_score(test["is_fraud"], model.decision_function(test[cols]))
    return score(leaky + features), score(features)
""",
        "roc_curve and auc": """
from sklearn.metrics import auc, roc_curve
def auc_with_and_without(train, test, features, leaky):
    out = []
    for cols in [features + leaky, features]:
        model = make_model()
        model.fit(train.loc[:, cols], train.is_fraud)
        fpr, tpr, _ = roc_curve(test.is_fraud, model.predict_proba(test.loc[:, cols])[:, 1])
        out.append(auc(fpr, tpr))
    return tuple(out)
""",
    },
    "data.time_split": {
        "argsort": """
def time_split(df, test_fraction):
    order = np.argsort(df["timestamp"].to_numpy(), kind="stable")
    n_test = int(len(df) * test_fraction + 0.5)
    cut = len(df) - n_test
    return df.iloc[order[:cut]], df.iloc[order[cut:]]
""",
        "nlargest and drop": """
def time_split(df, test_fraction):
    test = df.nlargest(round(len(df) * test_fraction), "timestamp")
    return df.drop(index=test.index), test
""",
    },
    "data.features_match": {
        "vectorised": """
def features_match(offline_fn, online_fn, records):
    off = offline_fn(pd.DataFrame.from_records(records)).reset_index(drop=True)
    on = pd.DataFrame([online_fn(r) for r in records])
    result = {}
    for name in off.columns.union(on.columns, sort=False):
        if name not in off.columns or name not in on.columns:
            result[name] = len(records)
            continue
        n = int((np.abs(off[name].astype(float) - on[name].astype(float)) > 1e-6).sum())
        if n:
            result[name] = n
    return result
""",
        "math.isclose": """
def features_match(offline_fn, online_fn, records):
    table = offline_fn(pd.DataFrame.from_records(records))
    rows = table.to_dict("records")
    served = [online_fn(r) for r in records]
    names = list(table.columns) + sorted({k for s in served for k in s} - set(table.columns))
    counts = {}
    for name in names:
        n = sum(
            1 for a, b in zip(rows, served)
            if name not in a or name not in b or not math.isclose(a[name], b[name], rel_tol=0, abs_tol=1e-6)
        )
        if n:
            counts[name] = n
    return counts
""",
    },
}

#: exercise -> {name: (answer source, fragment of the message it must get)}
WRONG: dict[str, dict[str, tuple[str, str]]] = {
    "data.join_sources": {
        "dates left as text": (
            _join(read_payments='pd.DataFrame([json.loads(line) for line in open(paths["transactions"])])'),
            "`timestamp` is str, not a datetime",
        ),
        "joined from the accounts": (
            _join(join='accounts.merge(payments, on="account_id", how="left").merge(merchants, on="merchant_id", how="left")'),
            "rows have no transaction",
        ),
        "one day too many": (_join(age=_AGE + " + 1"), "Off by one"),
        "fractions of days": (
            _join(age='(df["timestamp"] - df["opened_at"]).dt.total_seconds() / 86400'), "fractions of days",
        ),
        "True/False flag": (_join(foreign='df["country"] != df["home_country"]'), "`is_foreign` holds True/False"),
        "nothing derived": ("""
def join_sources(paths):
    con = sqlite3.connect(paths["accounts"])
    accounts = pd.read_sql_query("SELECT * FROM accounts", con)
    payments = pd.read_json(paths["transactions"], lines=True)
    return payments.merge(accounts, on="account_id").merge(pd.read_csv(paths["merchants"]), on="merchant_id")
""", "which no source stores: derive them"),
        "the package's join": ("def join_sources(paths):\n    return data.load_sources(paths)\n", "Write the logic yourself"),
    },
    "data.find_violations": {
        "stops at the first broken rule": ("""
def find_violations(df, schema):
    for column, rules in schema.items():
        if column in df.columns and df[column].isna().any() and rules.get("nullable", True) is False:
            return pd.DataFrame([(column, "nullable", int(df[column].isna().sum()))], columns=["column", "rule", "count"])
    return pd.DataFrame(columns=["column", "rule", "count"])
""", "stops after the first broken rule"),
        "exclusive bounds": (
            _violations(_counted(name="s", lt="<=", gt=">=", collect="rows += [(column, rule, n) for rule, n in counts.items() if n]")),
            "bounds are inclusive",
        ),
        "gaps counted out of range": (_violations("""
        s = df[column]
        if not rules.get("nullable", True) and s.isna().sum():
            rows.append((column, "nullable", int(s.isna().sum())))
        if "min" in rules and (~(s >= rules["min"])).sum():
            rows.append((column, "min", int((~(s >= rules["min"])).sum())))
        if "max" in rules and (s > rules["max"]).sum():
            rows.append((column, "max", int((s > rules["max"]).sum())))
        if "allowed" in rules and (~s.dropna().isin(rules["allowed"])).sum():
            rows.append((column, "allowed", int((~s.dropna().isin(rules["allowed"])).sum())))
"""), "you counted the missing values too"),
        "a crash on a missing column": ("""
def find_violations(df, schema):
    rows = []
    for column, rules in schema.items():
        s = df[column]
        if not rules.get("nullable", True) and s.isna().sum():
            rows.append((column, "nullable", int(s.isna().sum())))
    return pd.DataFrame(rows, columns=["column", "rule", "count"])
""", "missing_column"),
        "a list of tuples": (_violations(_counted(), ret="rows"), "not a DataFrame: build the report with pd.DataFrame(rows, columns="),
        "no return": ("""
def find_violations(df, schema):
    rows = []
    for column, rules in schema.items():
        if column not in df.columns:
            rows.append((column, "missing_column", 1))
    report = pd.DataFrame(rows, columns=["column", "rule", "count"])
""", "forget a `return`"),
        "every gap counted": (_violations(_counted(nullable="int(df[column].isna().sum())")),
                              "only \"nullable\": False makes a gap a violation"),
        "the example, hard-wired": ("""
def find_violations(df, schema):
    return pd.DataFrame(
        [("amount", "min", 1), ("amount", "nullable", 1), ("channel", "allowed", 1), ("customer_age", "max", 1),
         ("customer_age", "min", 1), ("merchant_category", "missing_column", 1)],
        columns=["column", "rule", "count"],
    )
""", "frame 2 of 2"),
        "the package's validator": ("""
from mlcourse.data.validation import validate
def find_violations(df, schema):
    report = validate(df, validation.Schema({}))
    return report.to_frame()[["column", "rule", "count"]]
""", "mlcourse.data.validation.validate"),
    },
    "data.clean_transactions": {
        "first copy in row order": (_clean(dedupe='df.drop_duplicates("transaction_id").copy()'), "kept a later copy"),
        "a zero amount kept": (_clean(amount_bad='out["amount"] < 0'), "`amount` still holds 1 impossible values (e.g. 0)"),
        "the edge ages repaired": (
            _clean(age_bad='(out["customer_age"] <= 18) | (out["customer_age"] >= 90)'), "on the edge of the possible range",
        ),
        "in place": ("""
def clean_transactions(df):
    df.sort_values("timestamp", inplace=True)
    df.drop_duplicates("transaction_id", inplace=True)
    df.loc[df["amount"] <= 0, "amount"] = np.nan
    df.loc[~df["customer_age"].between(18, 90), "customer_age"] = np.nan
    df.loc[df["account_age_days"] < 0, "account_age_days"] = np.nan
    for col in ("amount", "customer_age", "account_age_days"):
        df[col + "_imputed"] = df[col].isna().astype(int)
        df[col] = df[col].fillna(df[col].median())
    for col in ("merchant_category", "country", "channel"):
        df[col] = df[col].fillna("unknown")
    return df
""", "changed the caller's frame in place"),
        "dropna": ("def clean_transactions(df):\n    return df.drop_duplicates().dropna()\n", "`chargeback_at` is empty by design"),
        "rows with gaps dropped": (
            _clean(dedupe=_DEDUPE + '.dropna(subset=["amount", "customer_age", "channel", "country"])'),
            "all of them rows with a missing value",
        ),
        "exact copies only": (_clean(dedupe="df.drop_duplicates().copy()"), "still appear more than once"),
        "large amounts clipped": (
            _clean(extra='out["amount"] = out["amount"].clip(upper=out["amount"].quantile(0.99))'),
            "large but possible amounts",
        ),
        "the most frequent label": (_clean(fill="out[col].mode()[0]"), "should become the label 'unknown'"),
        "flags before the repair": ("""
def clean_transactions(df):
    out = df.sort_values("timestamp").drop_duplicates("transaction_id").copy()
    for col in ("amount", "customer_age", "account_age_days"):
        out[col + "_imputed"] = out[col].isna().astype(int)
    out.loc[out["amount"] <= 0, "amount"] = np.nan
    out.loc[~out["customer_age"].between(18, 90), "customer_age"] = np.nan
    out.loc[out["account_age_days"] < 0, "account_age_days"] = np.nan
    for col in ("amount", "customer_age", "account_age_days"):
        out[col] = out[col].fillna(out[col].median())
    for col in ("merchant_category", "country", "channel"):
        out[col] = out[col].fillna("unknown")
    return out
""", "marks the missing values but not the impossible ones"),
        "no flags": ("""
def clean_transactions(df):
    out = df.sort_values("timestamp").drop_duplicates("transaction_id").copy()
    return out.fillna({"amount": out["amount"].median(), "customer_age": 45, "account_age_days": 100})
""", "lacks the flag columns"),
        "negative account ages kept": (_clean(account_age=""), "`account_age_days` still holds 2 impossible values"),
        "no return": (_clean().replace("    return out\n", ""), "forget a `return`"),
    },
    "data.fingerprint": {
        "the printed frame": ("def fingerprint(df):\n    return hashlib.sha256(str(df).encode()).hexdigest()\n",
                              "with one value changed (row"),
        "values rounded to cents": ("""
def fingerprint(df):
    h = hashlib.sha256(str(list(df.dtypes.items())).encode())
    h.update(pd.util.hash_pandas_object(df.round(2), index=False).to_numpy().tobytes())
    return h.hexdigest()
""", "by 1e-07)"),
        "the shape": ("def fingerprint(df):\n    return hashlib.sha256(str(df.shape).encode()).hexdigest()\n", "hash every value"),
        "values only": ("""
def fingerprint(df):
    return hashlib.sha256(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()).hexdigest()
""", "a column renamed"),
        "row hashes added up": ("""
def fingerprint(df):
    rows = pd.util.hash_pandas_object(df, index=False)
    return hashlib.sha256((str(list(df.dtypes.items())) + str(int(rows.sum()))).encode()).hexdigest()
""", "rows reordered"),
        "object ids": ("def fingerprint(df):\n    return hex(id(df))\n", "two equal frames, built separately"),
        "raw memory": ("""
def fingerprint(df):
    return hashlib.sha256(str(list(df.dtypes.items())).encode() + df.to_records(index=False).tobytes()).hexdigest()
""", "two equal frames, built separately"),
        "bytes": ("""
def fingerprint(df):
    return hashlib.sha256(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()).digest()
""", "must return a string"),
        "no return": ("def fingerprint(df):\n    hashlib.sha256(str(df).encode()).hexdigest()\n", "forget a `return`"),
    },
    "data.leaky_columns": {
        "the flag only": ("leaky_columns = ['chargeback']", "timestamp is recorded after the outcome"),
        "the label too": ("leaky_columns = ['is_fraud', 'chargeback', 'chargeback_at']", "the label itself"),
        "a strong feature": ("leaky_columns = ['amount', 'chargeback', 'chargeback_at']", "'amount' is known when the card is used"),
        "the payment time": ("leaky_columns = ['chargeback', 'chargeback_at', 'timestamp']", "'timestamp' is known"),
        "one string": ("leaky_columns = 'chargeback'", "expected a list"),
    },
    "data.leak_auc": {
        "training rows": (_leak(rows="train", score="model.predict_proba(train[columns])[:, 1]"), "scores on the training rows"),
        "fitted on every row": (_leak(fit_rows="pd.concat([train, test])"), "fitted on the training and the test rows together"),
        "swapped": (_leak(ret="scores[1], scores[0]"), "the two are swapped"),
        "hard labels": (_leak(score="model.predict(test[columns])"), "hard 0/1 predictions"),
        "accuracy": (_leak(metric="accuracy_score", score="model.predict(test[columns])").replace(
            "def auc_with", "from sklearn.metrics import accuracy_score\ndef auc_with"), "those are accuracies"),
        "leak kept": (_leak(second="features + leaky"), "both numbers are the same"),
        "class 0": (_leak(score="model.predict_proba(test[columns])[:, 0]"), "probability of *no* fraud"),
        "no return": (_leak(ret="scores").replace("    return scores\n", ""), "forget a `return`"),
    },
    "data.time_split": {
        "random": ("""
from sklearn.model_selection import train_test_split
def time_split(df, test_fraction):
    return train_test_split(df, test_size=test_fraction, random_state=0)
""", "a random split lets the model train on the future"),
        "by position": ("""
def time_split(df, test_fraction):
    cut = len(df) - int(round(len(df) * test_fraction))
    return df.iloc[:cut], df.iloc[cut:]
""", "you cut the rows by position"),
        "fraction as train": ("""
def time_split(df, test_fraction):
    ordered = df.sort_values("timestamp")
    cut = int(round(len(df) * test_fraction))
    return ordered.iloc[:cut], ordered.iloc[cut:]
""", "share of rows in the *test* set"),
        "swapped": ("""
def time_split(df, test_fraction):
    ordered = df.sort_values("timestamp")
    cut = len(df) - int(round(len(df) * test_fraction))
    return ordered.iloc[cut:], ordered.iloc[:cut]
""", "the two parts are swapped"),
        "one row in both": ("""
def time_split(df, test_fraction):
    ordered = df.sort_values("timestamp")
    cut = len(df) - int(round(len(df) * test_fraction))
    return ordered.iloc[:cut + 1], ordered.iloc[cut:]
""", "train and test share 1 row"),
        "sorted in place": ("""
def time_split(df, test_fraction):
    df.sort_values("timestamp", inplace=True)
    cut = len(df) - int(round(len(df) * test_fraction))
    return df.iloc[:cut], df.iloc[cut:]
""", "changed the caller's frame in place"),
        "a count cut off by int()": ("""
def time_split(df, test_fraction):
    ordered = df.sort_values("timestamp")
    cut = len(df) - int(len(df) * test_fraction)
    return ordered.iloc[:cut], ordered.iloc[cut:]
""", "int() cuts the fraction off"),
        "minus zero": ("""
def time_split(df, test_fraction):
    ordered = df.sort_values("timestamp")
    n_test = round(len(df) * test_fraction)
    return ordered.iloc[:-n_test], ordered.iloc[-n_test:]
""", "`ordered.iloc[-0:]` is the whole frame"),
    },
    "data.features_match": {
        "exact comparison": (_match(differ="float(offline[name].iloc[i]) != float(rec[name])"), "compare numbers with a tolerance"),
        "shared features only": (_match(names="[c for c in offline.columns if c in online[0]]"), "exist on one side only"),
        "a list": (_match(ret="sorted(out)"), "not a list"),
        "True/False": (_match(value="True"), "not True/False"),
        "the first record only": (_match(after="break"), "count every record that disagrees, not only the first"),
    },
}
