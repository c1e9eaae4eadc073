"""Lessons 02 (Train) and 05 (End to end) in the graded edition (``mlcourse release --edition graded``).

The edition is released for real, its wheel unzipped, and every exercise of
both lessons checked from it in a separate Python whose ``mlcourse`` is the
unzipped one: the public tests pass on the solution, fail on a wrong answer,
and give the statuses the full definitions give on the same tests. Answers are
source text run after a small preamble (the lesson's imports and a small
sample of its data), as a learner's cells would run.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest

from mlcourse.exercises import exercises_of
from mlcourse.exercises import notebook as nbio
from mlcourse.release import graded_release

LESSONS = ["02_train", "05_end_to_end"]

PREAMBLE = """
import numpy as np
import pandas as pd
import mlflow
from mlflow import MlflowClient
from scipy.stats import ks_2samp, randint
from sklearn.compose import make_column_transformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from mlcourse import data

CATEGORICAL = ["merchant_category", "country", "channel"]
NUMERIC = ["amount", "hour", "account_age_days", "customer_age", "is_foreign"]
_df = data.make_transactions(4_000, seed=0)
X_train, y_train = _df[CATEGORICAL + NUMERIC], _df["is_fraud"]
X_tune, y_tune = X_train.iloc[:2_000], y_train.iloc[:2_000]


def make_model(classifier):
    return make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
                                                 (StandardScaler(), NUMERIC)), classifier)
"""

# One wrong answer per exercise that its public test catches.
WRONG = {
    "train.why_accuracy": 'why_accuracy = "e"',
    "train.beat_baseline": "model = DummyClassifier(strategy='most_frequent').fit(X_train, y_train)",
    "train.metrics_from_confusion": """
def metrics_from_confusion(cm):
    (tp, fp), (fn, tn) = np.asarray(cm)   # the matrix read as [[TP, FP], [FN, TN]]
    p, r = tp / (tp + fp), tp / (tp + fn)
    return {"accuracy": float((tp + tn) / (tp + fp + fn + tn)), "precision": float(p), "recall": float(r),
            "f1": float(2 * p * r / (p + r))}
""",
    "train.best_threshold": "def best_threshold(y_true, scores, cost_fn, cost_fp):\n    return 0.5\n",
    "train.cv_estimate": """
def cv_estimate(X, y):
    pipeline = make_model(LogisticRegression(max_iter=1000))
    cv = StratifiedKFold(n_splits=5)
    return {"pipeline": pipeline, "cv": cv, "scores": cross_val_score(pipeline, X, y, cv=cv, scoring="average_precision")}
""",
    "train.tune_within_budget": """
search = RandomizedSearchCV(make_model(DecisionTreeClassifier(random_state=0)),
                            {"decisiontreeclassifier__max_depth": randint(3, 12)}, n_iter=4,
                            cv=StratifiedKFold(n_splits=3, shuffle=True, random_state=0), random_state=0).fit(X_tune, y_tune)
""",
    "train.log_to_mlflow": """
def log_candidate(model, params, metrics, data_fingerprint, run_name):
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.sklearn.log_model(model, name="model", serialization_format="cloudpickle")
    return run.info.run_id
""",
    "train.best_tracked_run": """
def best_run_id(experiment_name, metric, data_fingerprint, greater_is_better=True):
    runs = mlflow.search_runs(experiment_names=[experiment_name], order_by=[f"metrics.{metric} DESC"])
    return runs["run_id"].iloc[0]
""",
    "end_to_end.run_pipeline": """
def run_pipeline(df, production_rows=100, threshold=0.1):
    X, y = df.drop(columns="target").to_numpy(), df["target"].to_numpy()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
    model = RandomForestClassifier(n_estimators=100, max_depth=10).fit(X_train, y_train)
    a, b = float(X_train.mean()), float(X_test[:production_rows].mean())
    return {"n_train": len(X_train), "n_test": len(X_test), "model": model,
            "accuracy": accuracy_score(y_test, model.predict(X_test)), "first_prediction": int(model.predict(X_test[:1])[0]),
            "train_mean": a, "production_mean": b, "drift_alert": abs(a - b) > threshold}
""",
    "end_to_end.drifted_features": """
def drifted_features(reference, current, alpha=0.05):
    return list(reference.columns) if abs(reference.to_numpy().mean() - current.to_numpy().mean()) > 0.1 else []
""",
    "end_to_end.plan_retraining": """
def plan_retraining(state, max_drop=0.1, max_drift_share=0.5, train_days=14, min_train_days=7):
    dropped = state["performance"] is not None and state["baseline_performance"] - state["performance"] >= max_drop
    if not dropped:
        return {"retrain": False, "window": None}
    return {"retrain": True, "window": [state["today"] - train_days, state["today"]]}
""",
    "end_to_end.promote": """
def promote(model_uri, name):
    version = mlflow.register_model(model_uri, name)
    MlflowClient().set_registered_model_alias(name, "production", version.version)
    return int(version.version)
""",
}
#: A wrong answer whose form is right: the graded notebook's form test passes it and says nothing more.
RIGHT_FORM_WRONG_CHOICE = 'why_accuracy = "a"'

SCRIPT = r'''
import contextlib, io, json, sys
from mlcourse.exercises import edition, lesson
assert edition.installed()
preamble, tries = json.loads(sys.stdin.read())
base = {}
exec(preamble, base)
out = {}
for lesson_name, cases in tries.items():
    ex = lesson(lesson_name)
    for exercise_id, sources in cases.items():
        results = []
        for source in sources:
            ns = dict(base)
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                exec(source, ns)
                r = getattr(ex, exercise_id.split(".", 1)[1]).run(ns)
            results.append({"status": str(r.status), "score": r.score,
                            "tests": [[t.name, str(t.status), t.message] for t in r.tests]})
        out[exercise_id] = results
print(json.dumps(out))
'''


def _tries() -> dict[str, dict[str, list[str]]]:
    tries: dict[str, dict[str, list[str]]] = {}
    for lesson_name in LESSONS:
        for ex in exercises_of(lesson_name):
            sources = [nbio.solution_source(ex.id), WRONG[ex.id]]
            if ex.id == "train.why_accuracy":
                sources.append(RIGHT_FORM_WRONG_CHOICE)
            tries.setdefault(lesson_name, {})[ex.id] = sources
    return tries


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("graded")
    release = graded_release(out / "edition", LESSONS)
    site = out / "site"
    with zipfile.ZipFile(release.wheel) as zf:
        zf.extractall(site)
        names = zf.namelist()
    tries = _tries()
    env = dict(os.environ, PYTHONPATH=str(site), MLCOURSE_HOME=str(out / "home"))
    proc = subprocess.run([sys.executable, "-c", SCRIPT], input=json.dumps([PREAMBLE, tries]), env=env,
                          capture_output=True, text=True, timeout=900, cwd=out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return release, names, tries, json.loads(proc.stdout.strip().splitlines()[-1])


def test_every_exercise_of_both_lessons_ships_its_public_tests_and_no_answer_key(graded):
    release, names, tries, _ = graded
    shipped = {e["id"]: e for lesson_name in LESSONS for e in release.edition["lessons"][lesson_name]["exercises"]}
    assert sorted(shipped) == sorted(WRONG)
    assert all(e["tests"] for e in shipped.values())
    assert not [n for n in names if n.endswith(("train/checks.py", "end_to_end/checks.py"))]
    # Every public test that awards points has fresh inputs in the full definitions too: the visible ones weigh 0
    # or sit beside a fresh draw (run_pipeline's outline table and a fresh table in one test).
    for lesson_name in LESSONS:
        for ex in exercises_of(lesson_name):
            assert [t.name for t in (ex.tests[i] for i in ex.public_tests)] == [t["name"] for t in shipped[ex.id]["tests"]]


def test_public_tests_pass_the_solution_and_fail_a_wrong_answer(graded):
    *_, got = graded
    for exercise_id, (solution, wrong, *_) in got.items():
        assert solution["tests"] and all(t[1] == "passed" for t in solution["tests"]), (exercise_id, solution)
        assert any(t[1] != "passed" for t in wrong["tests"]), (exercise_id, wrong)
        assert wrong["status"] != "passed", (exercise_id, wrong)


def test_the_form_test_does_not_give_the_choice_away(graded):
    *_, got = graded
    form = got["train.why_accuracy"][2]
    assert [t[1] for t in form["tests"]] == ["passed"]
    assert "b" not in form["tests"][0][2]


def test_graded_public_tests_judge_as_the_full_definitions_do(graded):
    _, _, tries, got = graded
    base: dict = {}
    exec(PREAMBLE, base)
    for lesson_name, cases in tries.items():
        for exercise_id, sources in cases.items():
            full = next(e for e in exercises_of(lesson_name) if e.id == exercise_id)
            for source, graded_result in zip(sources, got[exercise_id]):
                ns = dict(base)
                exec(source, ns)
                whole = {t.name: t for t in full.run(ns).tests}
                for name, status, message in graded_result["tests"]:
                    assert whole[name].status == status, (exercise_id, name, message, whole[name].message)
                    reference = full.tests[[t.name for t in full.tests].index(name)].reference
                    # A verdict of probes.py runs in both editions: word for word. A returns() test's named
                    # mistakes stay with the answer key, so the graded message is the bare comparison.
                    if status != "passed" and (reference is None or reference.compare is None):
                        assert whole[name].message == message, (exercise_id, name)
