"""Lesson 01 (Data) exercises, tried inside the lesson itself: the learner's stub, the solution,
right answers written in other styles, and typical wrong answers with the message each must get.
The same answers on many secret seeds: test_data_seeds.py.
The verdicts every lesson checks of its answer bank are in test_answer_banks.py; this module checks the
lesson's particular messages on the same walk."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from mlcourse import data
from mlcourse.exercises import exercises_of, notebook
from mlcourse.exercises.data import checks, probes
from mlcourse.exercises.engine import ERROR
from mlcourse.exercises.testing import module_from_file, solutions

ANSWERS = module_from_file(Path(__file__).with_name("answers_data.py"))
LESSON = "01_data"


def test_every_test_that_awards_points_has_fresh_inputs():
    """No points for the visible example alone: each weighted test draws something new from its seed."""
    for ex in exercises_of(LESSON):
        if ex.answer.kind != "function":
            continue
        for i, test in enumerate(ex.tests):
            if test.weight == 0:
                continue
            a, b = ex.make_inputs(seed=1)[i], ex.make_inputs(seed=2)[i]
            assert repr(a) != repr(b), (ex.id, test.name)


def test_find_violations_messages(walked):
    wrong = walked["data.find_violations"].wrong
    hard_wired = wrong["the example, hard-wired"]
    assert hard_wired.score == 0  # the example alone earns nothing
    as_list = wrong["a list of tuples"]
    assert "missing_column" not in as_list.message and "__plain__" not in as_list.message
    assert as_list.score == 0
    first = wrong["stops at the first broken rule"]
    assert "('amount', 'nullable')" in first.message  # the rule it stopped at, named
    assert "missing_column" not in first.message
    assert wrong["a crash on a missing column"].status == ERROR
    assert "KeyError" in wrong["a crash on a missing column"].message
    assert wrong["the package's validator"].score == 0


def test_find_violations_example_is_the_one_the_lesson_shows():
    nb = notebook.read(notebook.lesson_path(LESSON, "solutions"))
    cell = next(notebook.source(c) for c in nb["cells"] if notebook.source(c).startswith("example = pd.DataFrame("))
    namespace = {"pd": pd}
    exec(cell.split("\nif ")[0], namespace)  # the frame, without the call that needs the answer
    pd.testing.assert_frame_equal(namespace["example"], checks.example_violation_frame())
    assert checks.lesson_schema()["customer_age"] == {"nullable": False, "min": 18, "max": 90}


def test_violation_frames_put_values_on_every_bound():
    for key in range(40):
        for df, schema in checks._violation_cases("bounds", key):
            for column, rules in schema.items():
                if column in df.columns and "min" in rules:
                    assert (df[column] == rules["min"]).any() and (df[column] < rules["min"]).any(), (key, column)
                    assert df[column].isna().any(), (key, column)
                if column in df.columns and "max" in rules:
                    assert (df[column] == rules["max"]).any() and (df[column] > rules["max"]).any(), (key, column)


def test_clean_transactions_messages(walked):
    wrong = walked["data.clean_transactions"].wrong
    # Keeping the first copy in row order goes wrong only when the rows arrive shuffled.
    in_order = wrong["first copy in row order"]
    assert in_order.passed == 1 and "rows shuffled" in in_order.message
    assert wrong["in place"].score == 0
    for name in ("dropna", "rows with gaps dropped", "exact copies only", "large amounts clipped", "the most frequent label",
                 "flags before the repair", "no flags", "a zero amount kept", "the edge ages repaired",
                 "negative account ages kept"):
        assert wrong[name].score == 0, name


def test_cleaning_uses_the_one_age_range():
    assert probes.CLEAN_RANGES["customer_age"] == data.CUSTOMER_AGES
    assert data.validation.TRANSACTIONS_SCHEMA.columns["customer_age"].min == data.CUSTOMER_AGES[0]
    assert data.validation.TRANSACTIONS_SCHEMA.columns["customer_age"].max == data.CUSTOMER_AGES[1]


def test_every_damaged_table_holds_the_edges_and_a_replay_out_of_order():
    for key in range(20):
        df = checks._damaged_table(200 + key, key, order=key)
        for column, values in checks.CLEAN_EDGES.items():
            assert set(values) <= set(df[column].dropna()), (key, column)
        ts = df["timestamp"].to_numpy()
        groups = df.groupby("transaction_id").indices.values()  # row positions in df
        assert any(ts[g[0]] > ts[g[1]] for g in groups if len(g) == 2), key


def test_fingerprint_tests_a_frame_too_large_to_print():
    from mlcourse.exercises.data.probes import fingerprint_frame

    inputs = checks.fingerprint.make_inputs(seed=5)[0]
    df = fingerprint_frame(inputs["n_rows"], inputs["seed"])
    assert len(df) == 20_000
    assert f"\n{inputs['row']} " not in str(df)  # the changed row is not in what pandas prints


def test_leak_draws_keep_every_mistake_apart():
    for seed in range(6):
        recipe = checks.leak_auc.make_inputs(seed=seed)[0]["recipe"]
        scores = checks.leak_scores(*recipe)
        assert checks._separated(scores)
        assert min(checks.leak_distance(p, scores["auc"]) for k, p in scores.items() if k != "auc") >= checks.LEAK_SEPARATION


def test_time_split_messages(walked):
    wrong = walked["data.time_split"].wrong
    assert wrong["minus zero"].passed == 1 and wrong["a count cut off by int()"].passed == 1
    assert wrong["sorted in place"].score == 0


def test_skew_records_hold_the_edges():
    from mlcourse.exercises.data.probes import offline_features, online_local_hour, online_same

    for seed in range(20):
        records = checks.skew_records(np.random.default_rng(seed), 30)
        exact = checks.reference_features_match(offline_features, online_same, records, tol=0.0)
        assert exact.get("amount_z", 0) >= 2  # float rounding, invisible with a tolerance
        assert checks.reference_features_match(offline_features, online_same, records) == {}
        assert checks.reference_features_match(offline_features, online_local_hour, records)["is_night"] >= 2


def test_features_match_messages(walked):
    wrong = walked["data.features_match"].wrong
    assert 0 < wrong["shared features only"].score < wrong["shared features only"].points
    # The expected dict is never printed whole: the first wrong feature is named, the others counted.
    assert "{" not in wrong["the first record only"].message.split(":", 1)[1]


def _normalised(message: str) -> str:
    """A message with its numbers blanked: what may differ from one seed to another."""
    return re.sub(r"\d+(\.\d+)?(e-?\d+)?", "#", message)


def test_the_grader_agrees_with_the_notebook(walked, grade_typed):
    """The same answers, graded by `mlcourse grade` (secret seeds, sandboxed child), get the notebook's verdicts."""
    chosen = {"data.find_violations": "exclusive bounds", "data.clean_transactions": "in place",
              "data.time_split": "minus zero"}
    solved = solutions(LESSON)
    typed = {ex_id: ANSWERS.WRONG[ex_id][name][0] for ex_id, name in chosen.items()}
    # find_violations' cell keeps the solution's lines above the function (the schema it is tried on)
    typed["data.find_violations"] = (solved["data.find_violations"].split("# BEGIN SOLUTION")[0].split("def find_violations")[0]
                                     + typed["data.find_violations"])
    graded = grade_typed(LESSON, typed)
    assert graded.error is None and not [n for n in graded.notes if "skipped" in n], graded.notes
    results = {r.exercise: r for r in graded.results}
    for ex_id, w in walked.items():
        mine = w.wrong[chosen[ex_id]] if ex_id in chosen else w.tried.solution
        theirs = results[ex_id]
        assert (theirs.status, theirs.score) == (str(mine.status), mine.score), (ex_id, theirs.message, mine.message)
        assert _normalised(theirs.message) == _normalised(mine.message), ex_id
