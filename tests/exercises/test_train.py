"""Lesson 02 (Train) exercises, each tried three ways inside the lesson itself:
the learner's stub, the solution, and typical wrong answers."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlcourse.exercises import exercises_of
from mlcourse.exercises.engine import ERROR, FAILED, NOT_ATTEMPTED, PASSED
from mlcourse.exercises.testing import walk
from mlcourse.exercises.train import checks as T

# A wrong answer below calls the package's best_run on a log with a broken line, which it reports.
pytestmark = pytest.mark.filterwarnings("ignore:.*skipping corrupt line:RuntimeWarning")

PIPELINE = (
    "make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown='ignore'), CATEGORICAL), "
    "(StandardScaler(), NUMERIC)), {final})"
)

# -- train.beat_baseline ----------------------------------------------------
DUMMY = "model = DummyClassifier(strategy='most_frequent').fit(X_train, y_train)"
LEAKY_MODEL = (
    "full = data.make_transactions(20_000, seed=0)\n"
    "model = make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown='ignore'), CATEGORICAL), "
    "(StandardScaler(), NUMERIC + ['chargeback'])), LogisticRegression(max_iter=1000))"
    ".fit(full.loc[X_train.index], y_train)\n"
)
UNFITTED = "model = " + PIPELINE.format(final="LogisticRegression(max_iter=1000)") + "\n"
ON_NUMPY = (
    "model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))"
    ".fit(X_train[NUMERIC].to_numpy(), y_train)\n"
)
DEEP_TREE = "model = " + PIPELINE.format(final="DecisionTreeClassifier(random_state=0)") + ".fit(X_train, y_train)\n"

# -- train.metrics_from_confusion ----------------------------------------------
TRANSPOSED = '''
def metrics_from_confusion(cm):
    (tn, fn), (fp, tp) = cm   # rows read as the prediction
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"accuracy": float((tp + tn) / cm.sum()), "precision": float(p), "recall": float(r), "f1": float(f)}
'''
UNGUARDED_INT = '''
def metrics_from_confusion(cm):
    tn, fp, fn, tp = np.asarray(cm).ravel().tolist()
    p = tp / (tp + fp)
    r = tp / (tp + fn)
    return {"accuracy": (tp + tn) / (tn + fp + fn + tp), "precision": p, "recall": r, "f1": 2 * p * r / (p + r)}
'''
UNGUARDED_NUMPY = '''
def metrics_from_confusion(cm):
    (tn, fp), (fn, tp) = np.asarray(cm, dtype=float)
    with np.errstate(all="ignore"):
        p = tp / (tp + fp)
        r = tp / (tp + fn)
        f = 2 * p * r / (p + r)
    return {"accuracy": float((tp + tn) / cm.sum()), "precision": float(p), "recall": float(r), "f1": float(f)}
'''
ARITHMETIC_F1 = '''
def metrics_from_confusion(cm):
    (tn, fp), (fn, tp) = cm
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"accuracy": float((tp + tn) / cm.sum()), "precision": float(p), "recall": float(r), "f1": float((p + r) / 2)}
'''
SKLEARN_METRICS = '''
from sklearn import metrics
def metrics_from_confusion(cm):
    (tn, fp), (fn, tp) = cm
    t = np.repeat([0, 0, 1, 1], [tn, fp, fn, tp]); p = np.repeat([0, 1, 0, 1], [tn, fp, fn, tp])
    return {"accuracy": metrics.accuracy_score(t, p), "precision": metrics.precision_score(t, p, zero_division=0),
            "recall": metrics.recall_score(t, p, zero_division=0), "f1": metrics.f1_score(t, p, zero_division=0)}
'''

# -- train.best_threshold ------------------------------------------------------
DEFAULT_HALF = "def best_threshold(y_true, scores, cost_fn, cost_fp):\n    return 0.5\n"
BEST_F1 = '''
def best_threshold(y_true, scores, cost_fn, cost_fp):
    y_true, scores = np.asarray(y_true), np.asarray(scores)
    return float(max(np.unique(scores), key=lambda t: f1_score(y_true, scores >= t)))
'''
SWAPPED_COSTS = '''
def best_threshold(y_true, scores, cost_fn, cost_fp):
    y_true, scores = np.asarray(y_true), np.asarray(scores)
    costs = [cost_fp * np.sum((y_true == 1) & (scores < t)) + cost_fn * np.sum((y_true == 0) & (scores >= t))
             for t in np.unique(scores)]
    return float(np.unique(scores)[int(np.argmin(costs))])
'''
STRICTLY_ABOVE = '''
def best_threshold(y_true, scores, cost_fn, cost_fp):
    y_true, scores = np.asarray(y_true), np.asarray(scores)
    ts = np.unique(scores)
    costs = [cost_fn * np.sum((y_true == 1) & ~(scores > t)) + cost_fp * np.sum((y_true == 0) & (scores > t)) for t in ts]
    return float(ts[int(np.argmin(costs))])
'''

# -- train.cv_estimate -----------------------------------------------------------
SCALED_OUTSIDE = '''
def cv_estimate(X, y):
    Z = StandardScaler().fit_transform(pd.get_dummies(X, columns=CATEGORICAL).astype(float))
    pipeline = make_pipeline(LogisticRegression(max_iter=1000))
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    return {"pipeline": pipeline, "cv": cv, "scores": cross_val_score(pipeline, Z, y, cv=cv, scoring="average_precision")}
'''
PLAIN_KFOLD = '''
def cv_estimate(X, y):
    pipeline = make_model(LogisticRegression(max_iter=1000))
    cv = KFold(n_splits=5, shuffle=True, random_state=0)
    return {"pipeline": pipeline, "cv": cv, "scores": cross_val_score(pipeline, X, y, cv=cv, scoring="average_precision")}
'''
SCORED_BY_ACCURACY = '''
def cv_estimate(X, y):
    pipeline = make_model(LogisticRegression(max_iter=1000))
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    return {"pipeline": pipeline, "cv": cv, "scores": cross_val_score(pipeline, X, y, cv=cv)}
'''
UNSEEDED_FOLDS = '''
def cv_estimate(X, y):
    pipeline = make_model(LogisticRegression(max_iter=1000))
    cv = StratifiedKFold(n_splits=5, shuffle=True)
    return {"pipeline": pipeline, "cv": cv, "scores": cross_val_score(pipeline, X, y, cv=cv, scoring="average_precision")}
'''
CV_AS_NUMBER = '''
def cv_estimate(X, y):
    pipeline = make_model(LogisticRegression(max_iter=1000))
    return {"pipeline": pipeline, "cv": 5, "scores": cross_val_score(pipeline, X, y, cv=5, scoring="average_precision")}
'''

# -- train.tune_within_budget ------------------------------------------------------
SEARCH = (
    "search = RandomizedSearchCV(make_model(DecisionTreeClassifier(random_state=0)), "
    "{{'decisiontreeclassifier__max_depth': randint(3, 12), 'decisiontreeclassifier__min_samples_leaf': randint(10, 300)}}, "
    "random_state=0, {extra})"
)
OVER_BUDGET = SEARCH.format(extra="n_iter=5, cv=3, scoring='average_precision'") + ".fit(X_tune, y_tune)\n"
BY_ACCURACY = SEARCH.format(extra="n_iter=4, cv=3") + ".fit(X_tune, y_tune)\n"
ONLY_THE_WINNER = SEARCH.format(extra="n_iter=4, cv=3, scoring='average_precision'") + ".fit(X_tune, y_tune).best_estimator_\n"
NOT_FITTED = SEARCH.format(extra="n_iter=4, cv=3, scoring='average_precision'") + "\n"

# -- train.best_from_log -------------------------------------------------------------
IGNORES_DIRECTION = '''
def best_from_log(path, metric, greater_is_better=True):
    best = None
    for line in open(path):
        try:
            run = json.loads(line)
        except json.JSONDecodeError:
            continue
        v = run.get("metrics", {}).get(metric)
        if isinstance(v, (int, float)) and (best is None or v > best["metrics"][metric]):
            best = run
    return best
'''
LAST_OF_TIES = '''
def best_from_log(path, metric, greater_is_better=True):
    best = None
    for line in open(path):
        try:
            run = json.loads(line)
        except json.JSONDecodeError:
            continue
        v = run.get("metrics", {}).get(metric)
        if not isinstance(v, (int, float)):
            continue
        if best is None or (v >= best["metrics"][metric] if greater_is_better else v <= best["metrics"][metric]):
            best = run
    return best
'''
TRUSTS_EVERY_LINE = '''
def best_from_log(path, metric, greater_is_better=True):
    runs = [json.loads(line) for line in open(path) if line.strip()]
    runs = [r for r in runs if isinstance(r["metrics"].get(metric), (int, float))]
    return (max if greater_is_better else min)(runs, key=lambda r: r["metrics"][metric])
'''
NULLS_COMPARED = '''
def best_from_log(path, metric, greater_is_better=True):
    runs = []
    for line in open(path):
        try:
            runs.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    runs = [r for r in runs if metric in r["metrics"]]
    return (max if greater_is_better else min)(runs, key=lambda r: r["metrics"][metric])
'''
PACKAGE_SHORTCUT = '''
def best_from_log(path, metric, greater_is_better=True):
    return training.best_run(metric, path, greater_is_better=greater_is_better)
'''

WRONG = {
    "train.why_accuracy": ['why_accuracy = "a"', 'why_accuracy = "d"', "why_accuracy = 2"],
    "train.beat_baseline": [DUMMY, LEAKY_MODEL, UNFITTED, ON_NUMPY, DEEP_TREE],
    "train.metrics_from_confusion": [TRANSPOSED, UNGUARDED_INT, UNGUARDED_NUMPY, ARITHMETIC_F1, SKLEARN_METRICS],
    "train.best_threshold": [DEFAULT_HALF, BEST_F1, SWAPPED_COSTS, STRICTLY_ABOVE],
    "train.cv_estimate": [SCALED_OUTSIDE, PLAIN_KFOLD, SCORED_BY_ACCURACY, UNSEEDED_FOLDS, CV_AS_NUMBER],
    "train.tune_within_budget": [OVER_BUDGET, BY_ACCURACY, ONLY_THE_WINNER, NOT_FITTED],
    "train.best_from_log": [IGNORES_DIRECTION, LAST_OF_TIES, TRUSTS_EVERY_LINE, NULLS_COMPARED, PACKAGE_SHORTCUT],
}

@pytest.fixture(scope="module")
def tried():
    return walk("02_train", WRONG)


def test_every_exercise_of_the_lesson_is_tried(tried):
    assert set(tried) == {e.id for e in exercises_of("02_train")} == set(WRONG)


@pytest.mark.parametrize("ex_id", sorted(WRONG))
def test_stub_is_not_attempted_and_solution_gets_full_marks(tried, ex_id):
    t = tried[ex_id]
    assert t.stub.status == NOT_ATTEMPTED and t.stub.score == 0
    assert t.solution.status == PASSED and t.solution.score == t.solution.points, t.solution.render()


def _failed(result, *phrases, status=FAILED):
    assert result.status == status, result.render()
    for phrase in phrases:
        assert phrase in result.message, (phrase, result.render())


def test_why_accuracy_wrong_answers_are_named(tried):
    a, d, number = tried["train.why_accuracy"].wrong
    _failed(a, "catches 0 frauds")
    _failed(d, "Balancing the test set changes the question")
    _failed(number, "one letter as a string")
    assert "'b'" not in a.message and "'b'" not in d.message  # the message never gives the answer away


def test_beat_baseline_wrong_answers_are_named(tried):
    dummy, leaky, unfitted, numpy_fit, deep_tree = tried["train.beat_baseline"].wrong
    _failed(dummy, "same score", "dummy baseline", "fresh transactions")
    _failed(leaky, "['chargeback']", "recorded only after the outcome")
    _failed(unfitted, "not fitted yet")
    _failed(numpy_fit, "no column names", "DataFrame")
    _failed(deep_tree, "not clearly better than the dummy", "unpruned tree")
    assert all(r.score == 0 for r in (dummy, leaky, unfitted, numpy_fit, deep_tree))


def test_metrics_from_confusion_wrong_answers_are_named(tried):
    transposed, int_div, numpy_div, arithmetic, shortcut = tried["train.metrics_from_confusion"].wrong
    _failed(transposed, "Precision and recall are swapped", "confusion matrix [[4875, 952], [31, 142]]")
    _failed(int_div, "ZeroDivisionError", "zero_division=0", status=ERROR)
    _failed(numpy_div, "NaN", "zero_division=0")
    _failed(arithmetic, "harmonic mean")
    _failed(shortcut, "sklearn.metrics.accuracy_score", "Write the logic yourself")
    assert shortcut.score == 0


def test_best_threshold_wrong_answers_are_named(tried):
    half, f1, swapped, strict = tried["train.best_threshold"].wrong
    _failed(half, "0.5 is the default cut of predict()", "costs")
    _failed(f1, "maximises F1")
    _failed(swapped, "cost_fn and cost_fp are swapped")
    _failed(strict, "score >= threshold (not >)")
    # The random inputs are named in the message, so the learner can tell which one failed.
    assert "frauds, cost_fn=" in half.message


def test_cv_estimate_wrong_answers_are_named(tried):
    outside, kfold, accuracy, unseeded, number = tried["train.cv_estimate"].wrong
    _failed(outside, "only ['LogisticRegression']", "preprocessing leakage")
    _failed(kfold, "'cv' is a KFold", "StratifiedKFold")
    _failed(accuracy, "looks like accuracy", "average_precision")
    _failed(unseeded, "without a random_state")
    _failed(number, "'cv' is a number")
    assert outside.score < outside.points


def test_tune_within_budget_wrong_answers_are_named(tried):
    over, accuracy, winner, unfitted = tried["train.tune_within_budget"].wrong
    _failed(over, "5 candidates x 3 folds = 15 fits", "budget is 12")
    _failed(accuracy, "accuracy", "scoring='average_precision'")
    _failed(winner, "`search` is a Pipeline")
    _failed(unfitted, "not fitted yet")
    assert unfitted.score == 0


def test_best_from_log_wrong_answers_are_named(tried):
    direction, last, trusting, nulls, shortcut = tried["train.best_from_log"].wrong
    _failed(direction, "*smallest*")
    _failed(last, "the earlier one in the log wins")
    _failed(trusting, "JSONDecodeError", "killed mid-write", status=ERROR)
    _failed(nulls, "TypeError", "skip them", status=ERROR)
    _failed(shortcut, "mlcourse.train.training.best_run", "Write the logic yourself")
    assert shortcut.score == 0


# -- the verdicts on their own, away from the notebook -------------------------------
def test_model_verdict_flags_a_model_that_is_too_good():
    frame = T.fresh_transactions(np.random.default_rng(3), n=2_000)
    facts = {"features": ["amount"], "scores": frame["is_fraud"].to_numpy(dtype=float), "estimator": "X"}
    message = T.model_verdict(facts, frame)
    assert "too good to be true" in message and "leakage" in message


def test_threshold_reference_agrees_with_a_brute_force_search():
    rng = np.random.default_rng(0)
    for _ in range(5):
        y, s, cfn, cfp = T._threshold_inputs(rng, decimals=2)
        costs = {t: T.total_cost(y, s, t, cfn, cfp) for t in np.unique(s)}
        best = min(costs.values())
        assert T.total_cost(y, s, T.reference_threshold(y, s, cfn, cfp), cfn, cfp) == best


def test_reference_metrics_match_the_by_hand_formulas_and_zero_division():
    assert T.reference_metrics(np.array([[50, 0], [10, 0]])) == {"accuracy": 50 / 60, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    m = T.reference_metrics(np.array([[80, 10], [5, 5]]))
    assert m["precision"] == pytest.approx(5 / 15) and m["recall"] == pytest.approx(5 / 10)


def test_log_inputs_hold_a_tie_a_null_a_missing_metric_and_a_broken_line():
    lines, metric, greater = T._log_inputs(np.random.default_rng(1))
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            parsed.append(None)
    assert parsed[-1] is None  # the run killed mid-write
    values = [r["metrics"].get(metric, "missing") for r in parsed if r]
    assert None in values and "missing" in values
    numbers = [v for v in values if isinstance(v, float)]
    assert numbers.count(max(numbers)) == 2


def test_inputs_survive_the_trip_to_the_grader():
    from mlcourse.exercises.plain import from_plain, to_plain

    for ex in exercises_of("02_train"):
        for x in ex.make_inputs(seed=7):
            if x is None:
                continue
            back = from_plain(to_plain(x))
            if isinstance(x, pd.DataFrame):
                pd.testing.assert_frame_equal(back, x)
            else:
                assert to_plain(back) == to_plain(x)
