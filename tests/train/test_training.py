"""Tests for mlcourse.train.training: metrics, baselines, CV, searches and the run log."""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn import metrics as skm
from sklearn.datasets import make_classification
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

import mlcourse
from mlcourse import paths
from mlcourse.train.training import (
    METRICS,
    baselines,
    best_run,
    cross_validate_pipeline,
    evaluate,
    grid_search,
    load_runs,
    log_run,
    random_search,
    train_and_evaluate,
)


@pytest.fixture(scope="module")
def split():
    X, y = make_classification(n_samples=600, n_features=8, weights=[0.8], random_state=1)
    return train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


def pipe():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


# --------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------


def test_evaluate_equals_sklearn(split):
    X_tr, X_te, y_tr, y_te = split
    model = pipe().fit(X_tr, y_tr)
    result = evaluate(model, X_te, y_te)
    pred = model.predict(X_te)
    assert result["accuracy"] == skm.accuracy_score(y_te, pred)
    assert result["precision"] == skm.precision_score(y_te, pred)
    assert result["recall"] == skm.recall_score(y_te, pred)
    assert result["f1"] == skm.f1_score(y_te, pred)
    assert result["roc_auc"] == skm.roc_auc_score(y_te, model.predict_proba(X_te)[:, 1])
    assert result["pr_auc"] == skm.average_precision_score(y_te, model.predict_proba(X_te)[:, 1])
    assert result["confusion_matrix"] == skm.confusion_matrix(y_te, pred).tolist()
    assert isinstance(result["confusion_matrix"][0][0], int)
    assert all(type(result[m]) is float for m in METRICS)
    json.dumps(result)  # plain Python all the way down


def test_evaluate_uses_decision_function_or_gives_nan(split):
    X_tr, X_te, y_tr, y_te = split
    svm = LinearSVC().fit(X_tr, y_tr)
    assert evaluate(svm, X_te, y_te)["roc_auc"] == skm.roc_auc_score(y_te, svm.decision_function(X_te))

    # Scoring the first class as positive flips the decision values.
    as_zero = evaluate(svm, X_te, y_te, pos_label=0)
    assert as_zero["roc_auc"] == skm.roc_auc_score(y_te == 0, -svm.decision_function(X_te))
    assert as_zero["recall"] == skm.recall_score(y_te, svm.predict(X_te), pos_label=0)

    class LabelsOnly:
        def fit(self, X, y):
            self.classes_ = np.unique(y)
            return self

        def predict(self, X):
            return (np.asarray(X)[:, 0] > 0).astype(int)

    result = evaluate(LabelsOnly().fit(X_tr, y_tr), X_te, y_te)
    assert math.isnan(result["roc_auc"])
    assert result["accuracy"] == skm.accuracy_score(y_te, (X_te[:, 0] > 0).astype(int))


def test_evaluate_string_labels_and_multiclass():
    X, y = make_classification(n_samples=300, n_classes=3, n_informative=4, random_state=0)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    result = evaluate(model, X, y, average="macro")
    pred = model.predict(X)
    assert result["f1"] == skm.f1_score(y, pred, average="macro")
    assert result["roc_auc"] == skm.roc_auc_score(y, model.predict_proba(X), multi_class="ovr")
    assert np.array(result["confusion_matrix"]).shape == (3, 3)

    yes_no = np.where(y[:200] == 1, "fraud", "ok")
    model = LogisticRegression(max_iter=1000).fit(X[:200], yes_no)
    result = evaluate(model, X[:200], yes_no, pos_label="fraud")
    proba = model.predict_proba(X[:200])[:, list(model.classes_).index("fraud")]
    assert result["roc_auc"] == skm.roc_auc_score(yes_no == "fraud", proba)
    assert result["recall"] == skm.recall_score(yes_no, model.predict(X[:200]), pos_label="fraud")


def test_train_and_evaluate_fits_in_place(split):
    X_tr, X_te, y_tr, y_te = split
    model = DecisionTreeClassifier(max_depth=3, random_state=0)
    result = train_and_evaluate(model, X_tr, y_tr, X_te, y_te)
    assert hasattr(model, "tree_")  # fitted
    assert result == {**evaluate(model, X_te, y_te), "fit_seconds": result["fit_seconds"]}
    assert isinstance(result["fit_seconds"], float)


def test_baselines_table(split):
    X_tr, X_te, y_tr, y_te = split
    table = baselines(X_tr, y_tr, X_te, y_te)
    assert list(table.index) == ["dummy (most_frequent)", "dummy (stratified)", "logistic regression"]
    assert list(table.columns) == [*METRICS, "fit_seconds"]
    majority = table.loc["dummy (most_frequent)"]
    # The majority class scores its share in accuracy and catches nothing.
    assert majority["accuracy"] == pytest.approx(np.mean(y_te == 0))
    assert majority["recall"] == 0.0 and majority["roc_auc"] == 0.5
    expected = evaluate(pipe().fit(X_tr, y_tr), X_te, y_te)
    assert table.loc["logistic regression", "f1"] == pytest.approx(expected["f1"])
    assert table.loc["logistic regression", "roc_auc"] > 0.85
    stratified = evaluate(DummyClassifier(strategy="stratified", random_state=0).fit(X_tr, y_tr), X_te, y_te)
    assert table.loc["dummy (stratified)", "accuracy"] == stratified["accuracy"]


def test_baselines_one_hot_encode_text_columns():
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({"amount": rng.lognormal(3, 1, n), "channel": rng.choice(["chip", "online"], n)})
    y = ((df["channel"] == "online") & (rng.random(n) < 0.7)).astype(int)
    X_tr, X_te, y_tr, y_te = train_test_split(df, y, stratify=y, random_state=0)
    table = baselines(X_tr, y_tr, X_te, y_te)
    assert table.loc["logistic regression", "roc_auc"] > 0.7


# --------------------------------------------------------------------------
# cross-validation and search
# --------------------------------------------------------------------------


def test_cross_validate_pipeline_matches_sklearn(split):
    X_tr, _, y_tr, _ = split
    cv = cross_validate_pipeline(pipe(), X_tr, y_tr, n_splits=4, seed=3)
    assert len(cv["scores"]) == 4 and cv["n_splits"] == 4 and cv["scoring"] == "roc_auc"
    folds = StratifiedKFold(n_splits=4, shuffle=True, random_state=3)
    expected = cross_val_score(pipe(), X_tr, y_tr, cv=folds, scoring="roc_auc")
    np.testing.assert_allclose(cv["scores"], expected)
    assert cv["mean"] == pytest.approx(expected.mean())
    assert cv["std"] == pytest.approx(expected.std())
    assert cv == {**cross_validate_pipeline(pipe(), X_tr, y_tr, n_splits=4, seed=3), "fit_seconds": cv["fit_seconds"]}
    f1 = cross_validate_pipeline(pipe(), X_tr, y_tr, scoring="f1")
    assert len(f1["scores"]) == 5 and f1["scoring"] == "f1"
    with pytest.raises(ValueError, match="n_splits"):
        cross_validate_pipeline(pipe(), X_tr, y_tr, n_splits=1)


def test_grid_search_returns_best_params_and_tidy_table(split):
    X_tr, _, y_tr, _ = split
    grid = {"decisiontreeclassifier__max_depth": [1, 3, 6], "decisiontreeclassifier__min_samples_leaf": [1, 20]}
    model = make_pipeline(StandardScaler(), DecisionTreeClassifier(random_state=0))
    search, results = grid_search(model, grid, X_tr, y_tr, n_splits=3, seed=0)
    reference = GridSearchCV(model, grid, cv=StratifiedKFold(3, shuffle=True, random_state=0), scoring="roc_auc")
    reference.fit(X_tr, y_tr)
    assert search.best_params_ == reference.best_params_
    assert len(results) == 6
    assert list(results.columns[:4]) == ["rank", "mean_score", "std_score", "params"]
    assert set(grid) <= set(results.columns)
    assert results["rank"].is_monotonic_increasing
    assert results.loc[0, "params"] == search.best_params_
    assert results.loc[0, "mean_score"] == pytest.approx(search.best_score_)
    result = grid_search(model, grid, X_tr, y_tr, n_splits=3)
    assert result.best_params == search.best_params_ and result.search is not search


def test_random_search_is_seeded(split):
    X_tr, _, y_tr, _ = split
    space = {"C": np.logspace(-3, 2, 30), "class_weight": [None, "balanced"]}
    search, results = random_search(LogisticRegression(max_iter=1000), space, X_tr, y_tr, n_iter=6, n_splits=3)
    assert len(results) == 6
    assert results.loc[0, "params"] == search.best_params_
    again = random_search(LogisticRegression(max_iter=1000), space, X_tr, y_tr, n_iter=6, n_splits=3)
    pd.testing.assert_frame_equal(again.results, results)
    assert again.best_score == pytest.approx(search.best_score_)


# --------------------------------------------------------------------------
# experiment log
# --------------------------------------------------------------------------


def test_log_run_writes_one_json_line_under_mlcourse_home(isolated_home: Path):
    record = log_run(
        {"max_depth": np.int64(3), "C": np.float32(0.5), "features": np.array(["a", "b"])},
        {"f1": np.float64(0.7), "roc_auc": float("nan"), "confusion_matrix": np.array([[5, 1], [2, 3]])},
        data_fingerprint="abc123",
        model="tree",
        tags={"stage": "baseline"},
    )
    log = paths.run_log()
    assert log == isolated_home / "runs.jsonl" and log.exists()
    lines = log.read_text().splitlines()
    assert len(lines) == 1
    stored = json.loads(lines[0])
    assert stored == record
    assert stored["params"] == {"max_depth": 3, "C": 0.5, "features": ["a", "b"]}
    assert stored["metrics"]["roc_auc"] is None  # strict JSON has no NaN
    assert stored["metrics"]["confusion_matrix"] == [[5, 1], [2, 3]]
    assert stored["mlcourse_version"] == mlcourse.__version__
    assert stored["sklearn_version"] == sklearn.__version__
    assert stored["data_fingerprint"] == "abc123" and stored["model"] == "tree"
    assert len(stored["run_id"]) == 32 and stored["timestamp"].endswith("+00:00")

    log_run({"max_depth": 5}, {"f1": 0.8})
    assert len(log.read_text().splitlines()) == 2
    assert lines[0] == log.read_text().splitlines()[0]  # append-only


def test_load_runs_round_trip_and_best_run():
    assert load_runs().empty
    for depth, f1, loss in [(2, 0.61, 0.40), (4, 0.74, 0.31), (8, 0.69, 0.25)]:
        log_run({"max_depth": depth}, {"f1": f1, "log_loss": loss}, model="tree")
    runs = load_runs()
    assert len(runs) == 3
    assert runs["params.max_depth"].tolist() == [2, 4, 8]
    assert runs["metrics.f1"].tolist() == [0.61, 0.74, 0.69]
    assert {"run_id", "timestamp", "data_fingerprint", "mlcourse_version", "sklearn_version"} <= set(runs)
    assert runs["timestamp"].is_monotonic_increasing
    assert best_run("f1")["params"] == {"max_depth": 4}
    assert best_run("metrics.f1")["params"] == {"max_depth": 4}
    assert best_run("log_loss", greater_is_better=False)["params"] == {"max_depth": 8}
    with pytest.raises(ValueError, match="no logged run"):
        best_run("accuracy")


def test_corrupt_lines_are_skipped_with_a_warning():
    log_run({"a": 1}, {"f1": 0.5})
    log = paths.run_log()
    with open(log, "a") as f:
        f.write('{"run_id": "broken", "metr\n')  # line 2: a crashed writer
        f.write("\n")
        f.write("[1, 2]\n")  # line 4: JSON, but not a run
        f.write('{"run_id": "half", "params": {"a": 3}, "metrics": {"f1": 0.9')  # line 5, no newline
    log_run({"a": 2}, {"f1": 0.6})

    with pytest.warns(RuntimeWarning) as caught:
        runs = load_runs()
    messages = [str(w.message) for w in caught]
    assert any("line 2" in m for m in messages)
    assert any("line 4" in m for m in messages)
    assert any("line 5" in m for m in messages)
    # The run written after the torn line starts on a line of its own.
    assert runs["params.a"].tolist() == [1, 2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert best_run("f1")["params"] == {"a": 2}


def test_explicit_path_and_bad_arguments(tmp_path: Path, isolated_home: Path):
    elsewhere = tmp_path / "sub" / "my-runs.jsonl"
    log_run({"x": 1}, {"f1": 0.1}, path=elsewhere)
    assert elsewhere.exists()
    assert not paths.run_log().exists()
    assert load_runs(elsewhere)["params.x"].tolist() == [1]
    assert best_run("f1", path=elsewhere)["params"] == {"x": 1}
    with pytest.raises(TypeError, match="params"):
        log_run([("x", 1)], {"f1": 0.1})


def test_log_a_real_run_with_its_data_fingerprint(split):
    from mlcourse.data.validation import fingerprint

    X_tr, X_te, y_tr, y_te = split
    train = pd.DataFrame(X_tr).assign(y=y_tr)
    model = DecisionTreeClassifier(max_depth=3, random_state=0)
    metrics = train_and_evaluate(model, X_tr, y_tr, X_te, y_te)
    log_run(model.get_params(), metrics, data_fingerprint=fingerprint(train), model="DecisionTreeClassifier")
    best = best_run("roc_auc")
    assert best["data_fingerprint"] == fingerprint(train)
    assert best["metrics"]["confusion_matrix"] == metrics["confusion_matrix"]
    assert best["params"]["max_depth"] == 3
