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
from mlcourse.validation import validate
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

WRONG = {
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
    assert shortcut.status == FAILED and shortcut.score == 0 and "mlcourse.validation.validate" in shortcut.message


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
