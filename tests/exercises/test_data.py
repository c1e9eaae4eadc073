"""Lesson 01 (Data) exercises, each tried three ways inside the lesson itself:
the learner's stub, the solution, and typical wrong answers."""
from __future__ import annotations

import pytest

from mlcourse.exercises import exercises_of
from mlcourse.exercises.engine import ERROR, FAILED, NOT_ATTEMPTED, PASSED
from mlcourse.exercises.testing import walk

STOP_AT_FIRST = '''
def find_violations(df, schema):
    for column, rules in schema.items():
        if column in df.columns and df[column].isna().any():
            return pd.DataFrame([(column, "nullable", int(df[column].isna().sum()))], columns=["column", "rule", "count"])
    return pd.DataFrame(columns=["column", "rule", "count"])
'''
NAN_BELOW_MIN = '''
def find_violations(df, schema):
    rows = []
    for column, rules in schema.items():
        if column not in df.columns:
            rows.append((column, "missing_column", 1)); continue
        s = df[column]
        if not rules.get("nullable", True) and s.isna().sum():
            rows.append((column, "nullable", int(s.isna().sum())))
        if "min" in rules and (~(s >= rules["min"])).sum():
            rows.append((column, "min", int((~(s >= rules["min"])).sum())))
        if "max" in rules and (s > rules["max"]).sum():
            rows.append((column, "max", int((s > rules["max"]).sum())))
        if "allowed" in rules and (~s.dropna().isin(rules["allowed"])).sum():
            rows.append((column, "allowed", int((~s.dropna().isin(rules["allowed"])).sum())))
    return pd.DataFrame(rows, columns=["column", "rule", "count"])
'''
CRASH_ON_MISSING_COLUMN = '''
def find_violations(df, schema):
    rows = []
    for column, rules in schema.items():
        s = df[column]
        if not rules.get("nullable", True) and s.isna().sum():
            rows.append((column, "nullable", int(s.isna().sum())))
    return pd.DataFrame(rows, columns=["column", "rule", "count"])
'''
SHORTCUT = '''
from mlcourse.data.validation import validate
def find_violations(df, schema):
    report = validate(df, validation.Schema({}))
    return report.to_frame()[["column", "rule", "count"]]
'''
SHAPE_ONLY = "def fingerprint(df):\n    return hashlib.sha256(str(df.shape).encode()).hexdigest()\n"
VALUES_ONLY = (
    "def fingerprint(df):\n"
    "    return hashlib.sha256(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes()).hexdigest()\n"
)
SORTED_ROWS = (
    "def fingerprint(df):\n"
    "    rows = sorted(map(str, df.astype(str).values.tolist()))\n"
    "    return hashlib.sha256((str(list(df.columns)) + str(list(df.dtypes)) + str(rows)).encode()).hexdigest()\n"
)
ID_BASED = "def fingerprint(df):\n    return hex(id(df))\n"
RETURNS_BYTES = "def fingerprint(df):\n    return hashlib.sha256(str(df.values.tolist()).encode()).digest()\n"

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


JOIN_TEXT_DATES = _join(read_payments='pd.DataFrame([json.loads(line) for line in open(paths["transactions"])])')
JOIN_FROM_ACCOUNTS = _join(join='accounts.merge(payments, on="account_id", how="left").merge(merchants, on="merchant_id", how="left")')
JOIN_PLUS_ONE = _join(age=_AGE + " + 1")
JOIN_FRACTIONAL_DAYS = _join(age='(df["timestamp"] - df["opened_at"]).dt.total_seconds() / 86400')
JOIN_BOOL_FLAG = _join(foreign='df["country"] != df["home_country"]')
JOIN_NOT_DERIVED = """
def join_sources(paths):
    con = sqlite3.connect(paths["accounts"])
    accounts = pd.read_sql_query("SELECT * FROM accounts", con)
    payments = pd.read_json(paths["transactions"], lines=True)
    return payments.merge(accounts, on="account_id").merge(pd.read_csv(paths["merchants"]), on="merchant_id")
"""
JOIN_SHORTCUT = "def join_sources(paths):\n    return data.load_sources(paths)\n"

# -- data.clean_transactions --------------------------------------------------
_CLEAN = """
def clean_transactions(df):
    out = {dedupe}
    out.loc[out["amount"] <= 0, "amount"] = np.nan
    out.loc[~out["customer_age"].between(18, 90), "customer_age"] = np.nan
    {extra}
    for col in ("amount", "customer_age", "account_age_days"):
        out[col + "_imputed"] = out[col].isna().astype(int)
        out[col] = out[col].fillna(out[col].median())
    for col in ("merchant_category", "country", "channel"):
        out[col] = out[col].fillna({fill})
    return out
"""
_DEDUPE = 'df.sort_values("timestamp").drop_duplicates("transaction_id").copy()'


def _clean(dedupe=_DEDUPE, extra="", fill='"unknown"'):
    return _CLEAN.format(dedupe=dedupe, extra=extra, fill=fill)


CLEAN_DROPNA = "def clean_transactions(df):\n    return df.drop_duplicates().dropna()\n"
CLEAN_DROP_GAPS = _clean(dedupe=_DEDUPE + '.dropna(subset=["amount", "customer_age", "channel", "country"])')
CLEAN_EXACT_ONLY = _clean(dedupe="df.drop_duplicates().copy()")
CLEAN_FIRST_IN_ORDER = _clean(dedupe='df.drop_duplicates("transaction_id").copy()')
CLEAN_CLIPS = _clean(extra='out["amount"] = out["amount"].clip(upper=out["amount"].quantile(0.99))')
CLEAN_MODE = _clean(fill="out[col].mode()[0]")
CLEAN_FLAGS_BEFORE_REPAIR = """
def clean_transactions(df):
    out = df.sort_values("timestamp").drop_duplicates("transaction_id").copy()
    for col in ("amount", "customer_age", "account_age_days"):
        out[col + "_imputed"] = out[col].isna().astype(int)
    out.loc[out["amount"] <= 0, "amount"] = np.nan
    out.loc[~out["customer_age"].between(18, 90), "customer_age"] = np.nan
    for col in ("amount", "customer_age", "account_age_days"):
        out[col] = out[col].fillna(out[col].median())
    for col in ("merchant_category", "country", "channel"):
        out[col] = out[col].fillna("unknown")
    return out
"""
CLEAN_NO_FLAGS = """
def clean_transactions(df):
    out = df.sort_values("timestamp").drop_duplicates("transaction_id").copy()
    return out.fillna({"amount": out["amount"].median(), "customer_age": 45, "account_age_days": 100})
"""

# -- data.leak_auc ------------------------------------------------------------
_LEAK = """
def auc_with_and_without(train, test, features, leaky):
    scores = []
    for columns in (features + leaky, {second}):
        model = make_model().fit(train[columns], train["is_fraud"])
        scores.append(roc_auc_score({rows}["is_fraud"], {score}))
    return {ret}
"""


def _leak(second="features", rows="test", score="model.predict_proba(test[columns])[:, 1]", ret="scores[0], scores[1]"):
    return _LEAK.format(second=second, rows=rows, score=score, ret=ret)


LEAK_HARD_LABELS = _leak(score="model.predict(test[columns])")
LEAK_ACCURACY = _leak().replace("roc_auc_score(test", "accuracy_score(test").replace(
    "model.predict_proba(test[columns])[:, 1]", "model.predict(test[columns])"
).replace("def auc_with", "from sklearn.metrics import accuracy_score\ndef auc_with")
LEAK_SWAPPED = _leak(ret="scores[1], scores[0]")
LEAK_NOT_DROPPED = _leak(second="features + leaky")
LEAK_CLASS_ZERO = _leak(score="model.predict_proba(test[columns])[:, 0]")
LEAK_ON_TRAIN = _leak(rows="train", score="model.predict_proba(train[columns])[:, 1]")

# -- data.time_split ----------------------------------------------------------
SPLIT_RANDOM = """
from sklearn.model_selection import train_test_split
def time_split(df, test_fraction):
    return train_test_split(df, test_size=test_fraction, random_state=0)
"""
SPLIT_BY_POSITION = """
def time_split(df, test_fraction):
    cut = len(df) - int(round(len(df) * test_fraction))
    return df.iloc[:cut], df.iloc[cut:]
"""
SPLIT_FRACTION_AS_TRAIN = """
def time_split(df, test_fraction):
    ordered = df.sort_values("timestamp")
    cut = int(round(len(df) * test_fraction))
    return ordered.iloc[:cut], ordered.iloc[cut:]
"""
SPLIT_SWAPPED = """
def time_split(df, test_fraction):
    ordered = df.sort_values("timestamp")
    cut = len(df) - int(round(len(df) * test_fraction))
    return ordered.iloc[cut:], ordered.iloc[:cut]
"""
SPLIT_OVERLAP = """
def time_split(df, test_fraction):
    ordered = df.sort_values("timestamp")
    cut = len(df) - int(round(len(df) * test_fraction))
    return ordered.iloc[:cut + 1], ordered.iloc[cut:]
"""

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


MATCH_EXACT = _match(differ="float(offline[name].iloc[i]) != float(rec[name])")
MATCH_COMMON_ONLY = _match(names="[c for c in offline.columns if c in online[0]]")
MATCH_LIST = _match(ret="sorted(out)")
MATCH_BOOLS = _match(value="True")
MATCH_FIRST_ONLY = _match(after="break")

WRONG = {
    "data.join_sources": [JOIN_TEXT_DATES, JOIN_FROM_ACCOUNTS, JOIN_PLUS_ONE, JOIN_FRACTIONAL_DAYS, JOIN_BOOL_FLAG,
                          JOIN_NOT_DERIVED, JOIN_SHORTCUT],
    "data.clean_transactions": [CLEAN_DROPNA, CLEAN_DROP_GAPS, CLEAN_EXACT_ONLY, CLEAN_FIRST_IN_ORDER, CLEAN_CLIPS,
                                CLEAN_MODE, CLEAN_FLAGS_BEFORE_REPAIR, CLEAN_NO_FLAGS],
    "data.leak_auc": [LEAK_HARD_LABELS, LEAK_ACCURACY, LEAK_SWAPPED, LEAK_NOT_DROPPED, LEAK_CLASS_ZERO, LEAK_ON_TRAIN],
    "data.time_split": [SPLIT_RANDOM, SPLIT_BY_POSITION, SPLIT_FRACTION_AS_TRAIN, SPLIT_SWAPPED, SPLIT_OVERLAP],
    "data.features_match": [MATCH_EXACT, MATCH_COMMON_ONLY, MATCH_LIST, MATCH_BOOLS, MATCH_FIRST_ONLY],
    "data.find_violations": [STOP_AT_FIRST, NAN_BELOW_MIN, CRASH_ON_MISSING_COLUMN, SHORTCUT],
    "data.fingerprint": [SHAPE_ONLY, VALUES_ONLY, SORTED_ROWS, ID_BASED, RETURNS_BYTES],
    "data.leaky_columns": [
        "leaky_columns = ['chargeback']",
        "leaky_columns = ['is_fraud', 'chargeback', 'chargeback_at']",
        "leaky_columns = ['amount', 'chargeback', 'chargeback_at']",
        "leaky_columns = 'chargeback'",
    ],
}


@pytest.fixture(scope="module")
def tried():
    return walk("01_data", WRONG)


def test_every_exercise_of_the_lesson_is_tried(tried):
    assert set(tried) == {e.id for e in exercises_of("01_data")}


@pytest.mark.parametrize("ex_id", sorted(WRONG))
def test_stub_is_not_attempted_and_solution_gets_full_marks(tried, ex_id):
    t = tried[ex_id]
    assert t.stub.status == NOT_ATTEMPTED and t.stub.score == 0
    assert t.solution.status == PASSED and t.solution.score == t.solution.points


def test_find_violations_wrong_answers_are_named(tried):
    first, nan_min, crash, shortcut = tried["data.find_violations"].wrong
    assert first.status == FAILED and "report all of them" in first.message
    assert nan_min.status == FAILED and "a missing value is a 'nullable' problem only" in nan_min.message
    assert crash.status == ERROR and "missing_column" in crash.message and "KeyError" in crash.message
    assert shortcut.status == FAILED and shortcut.score == 0 and "mlcourse.data.validation.validate" in shortcut.message


def test_fingerprint_wrong_answers_are_named(tried):
    shape, values, sorted_rows, id_based, as_bytes = tried["data.fingerprint"].wrong
    assert "one value changed" in shape.message and "hash every value" in shape.message
    assert "column renamed" in values.message
    assert "rows reordered" in sorted_rows.message
    assert "two equal frames got different fingerprints" in id_based.message
    assert "must return a string" in as_bytes.message
    assert all(r.status == FAILED and r.score == 0 for r in (shape, values, sorted_rows, id_based, as_bytes))


def test_leaky_columns_wrong_answers_are_named(tried):
    only_flag, with_label, with_feature, a_string = tried["data.leaky_columns"].wrong
    assert "timestamp is recorded after the outcome" in only_flag.message
    assert "the label itself" in with_label.message
    assert "not leakage by itself" in with_feature.message
    assert a_string.status == FAILED and "expected a list" in a_string.message


def test_join_sources_wrong_answers_are_named(tried):
    text_dates, from_accounts, plus_one, fractional, bool_flag, not_derived, shortcut = tried["data.join_sources"].wrong
    assert "`timestamp` is str, not a datetime" in text_dates.message
    assert "rows have no transaction" in from_accounts.message and "left-join" in from_accounts.message
    assert "account_age_days" in plus_one.message and "Off by one" in plus_one.message
    assert "fractions of days" in fractional.message
    assert "`is_foreign` holds True/False" in bool_flag.message
    assert "which no source stores: derive them" in not_derived.message
    assert "data.load_sources" in shortcut.message and "Write the logic yourself" in shortcut.message
    for r in (text_dates, from_accounts, plus_one, fractional, bool_flag, not_derived, shortcut):
        assert r.status == FAILED and r.score == 0


def test_clean_transactions_wrong_answers_are_named(tried):
    dropna, drop_gaps, exact_only, first_in_order, clips, mode, flags_before, no_flags = tried[
        "data.clean_transactions"
    ].wrong
    assert "`chargeback_at` is empty by design" in dropna.message and "dropna()" in dropna.message
    assert "all of them rows with a missing value" in drop_gaps.message
    assert "still appear more than once" in exact_only.message and "replays" in exact_only.message
    # Dropping duplicates in row order only goes wrong when the rows arrive shuffled.
    assert first_in_order.status == FAILED and 0 < first_in_order.score < first_in_order.points
    assert "rows shuffled" in first_in_order.message and "kept a later copy" in first_in_order.message
    assert "large but possible amounts" in clips.message
    assert "should become the label 'unknown'" in mode.message
    assert "marks the missing values but not the impossible ones" in flags_before.message
    assert "lacks the flag columns" in no_flags.message
    for r in (dropna, drop_gaps, exact_only, clips, mode, flags_before, no_flags):
        assert r.status == FAILED and r.score == 0


def test_leak_auc_wrong_answers_are_named(tried):
    labels, accuracy, swapped, not_dropped, class_zero, on_train = tried["data.leak_auc"].wrong
    assert "hard 0/1 predictions" in labels.message
    assert "those are accuracies" in accuracy.message
    assert "the two are swapped" in swapped.message
    assert "both numbers are the same" in not_dropped.message
    assert "probability of *no* fraud" in class_zero.message
    assert "scores on the training rows" in on_train.message
    assert all(r.status == FAILED and r.score == 0 for r in (labels, accuracy, swapped, not_dropped, class_zero, on_train))


def test_time_split_wrong_answers_are_named(tried):
    random, by_position, as_train, swapped, overlap = tried["data.time_split"].wrong
    assert "a random split lets the model train on the future" in random.message
    assert "you cut the rows by position, but the frame is not in time order" in by_position.message
    assert "share of rows in the *test* set" in as_train.message
    assert "the two parts are swapped" in swapped.message
    assert "train and test share 1 row" in overlap.message
    assert all(r.status == FAILED and r.score == 0 for r in (random, by_position, as_train, swapped, overlap))


def test_features_match_wrong_answers_are_named(tried):
    exact, common_only, as_list, bools, first_only = tried["data.features_match"].wrong
    assert "Compare numbers with a tolerance" in exact.message
    assert "exist on one side only" in common_only.message
    assert "not a list" in as_list.message
    assert "not True/False" in bools.message
    assert "count every record that disagrees, not only the first" in first_only.message
    assert all(r.status == FAILED for r in (exact, common_only, as_list, bools, first_only))
    # A mistake that only shows on some kinds of skew costs only those tests.
    assert 0 < common_only.score < common_only.points
