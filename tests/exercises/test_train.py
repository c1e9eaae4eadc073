"""Lesson 02 (Train) exercises, each tried three ways inside the lesson itself:
the learner's stub, the solution, and typical wrong answers."""
from __future__ import annotations

import numpy as np
import pytest

from mlcourse.exercises import exercises_of
from mlcourse.exercises.engine import ERROR, FAILED, NOT_ATTEMPTED, PASSED
from mlcourse.exercises.train import checks as T

LESSON = "02_train"

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

# -- train.log_to_mlflow -------------------------------------------------------------
_LOG = """
def log_candidate(model, params, metrics, data_fingerprint, run_name):
    with mlflow.start_run(run_name=run_name) as run:
        {body}
    return run.info.run_id
"""
_FULL = ('mlflow.log_params(params)\n        mlflow.log_metrics(metrics)\n'
         '        mlflow.set_tag("data_fingerprint", data_fingerprint)\n'
         '        mlflow.sklearn.log_model(model, name="model", serialization_format="cloudpickle")')


def _log(body=_FULL):
    return _LOG.format(body=body)


LOG_METRICS_AS_PARAMS = _log(_FULL.replace("mlflow.log_metrics(metrics)", "mlflow.log_params(metrics)"))
LOG_NO_MODEL = _log(_FULL.replace('mlflow.sklearn.log_model(model, name="model", serialization_format="cloudpickle")',
                                  "pass"))
LOG_NO_FINGERPRINT = _log(_FULL.replace('mlflow.set_tag("data_fingerprint", data_fingerprint)', "pass"))
LOG_DEFAULT_SKOPS = _log(_FULL.replace(', serialization_format="cloudpickle"', ""))
LOG_LEFT_OPEN = """
def log_candidate(model, params, metrics, data_fingerprint, run_name):
    run = mlflow.start_run(run_name=run_name)
    mlflow.log_params(params)
    mlflow.log_metrics(metrics)
    mlflow.set_tag("data_fingerprint", data_fingerprint)
    mlflow.sklearn.log_model(model, name="model", serialization_format="cloudpickle")
    return run.info.run_id
"""
LOG_NO_RETURN = _log(_FULL).replace("    return run.info.run_id\n", "")
LOG_PICKLE_FILE = _log(_FULL.replace(
    'mlflow.sklearn.log_model(model, name="model", serialization_format="cloudpickle")',
    'path = os.path.join(tempfile.mkdtemp(), "model.joblib")\n        joblib.dump(model, path)\n'
    '        mlflow.log_artifact(path)')).replace("def log_candidate", "import os, tempfile, joblib\n\ndef log_candidate")
LOG_RIGHT_BY_HAND = """
def log_candidate(model, params, metrics, data_fingerprint, run_name):
    run = mlflow.start_run(run_name=run_name)
    try:
        for key, value in params.items():
            mlflow.log_param(key, value)
        for key, value in metrics.items():
            mlflow.log_metric(key, float(value))
        mlflow.set_tags({"data_fingerprint": data_fingerprint, "stage": "experiment"})
        mlflow.sklearn.log_model(model, name="model", skops_trusted_types=["sklearn.tree._tree.Tree"])
    finally:
        mlflow.end_run()
    return run.info.run_id
"""
LOG_RIGHT_RUN_OBJECT = """
def log_candidate(model, params, metrics, data_fingerprint, run_name):
    with mlflow.start_run(run_name=run_name):
        mlflow.log_params({**params, "data_fingerprint": data_fingerprint})
        mlflow.log_metrics(metrics)
        mlflow.sklearn.log_model(model, name="model", serialization_format="pickle")
        return mlflow.active_run()
"""

# -- train.best_tracked_run ------------------------------------------------------------
QUERY_RIGHT_ORDER_BY = """
def best_run_id(experiment_name, metric, data_fingerprint, greater_is_better=True):
    runs = mlflow.search_runs(experiment_names=[experiment_name],
                              order_by=[f"metrics.{metric} {'DESC' if greater_is_better else 'ASC'}"])
    runs = runs[runs["tags.data_fingerprint"] == data_fingerprint]
    runs = runs[runs[f"metrics.{metric}"].notna()]
    return runs.iloc[0]["run_id"]
"""
QUERY_RIGHT_CLIENT_LOOP = """
import math
from mlflow.tracking import MlflowClient

def best_run_id(experiment_name, metric, data_fingerprint, greater_is_better=True):
    client = MlflowClient()
    experiment = client.get_experiment_by_name(experiment_name)
    best_id, best_value = None, None
    for run in client.search_runs([experiment.experiment_id]):
        value = run.data.metrics.get(metric)
        if run.data.tags.get("data_fingerprint") != data_fingerprint or value is None or math.isnan(value):
            continue
        if best_value is None or (value >= best_value if greater_is_better else value <= best_value):
            best_id, best_value = run.info.run_id, value   # ties: the last one seen wins
    return best_id
"""
QUERY_ANY_DATA = """
def best_run_id(experiment_name, metric, data_fingerprint, greater_is_better=True):
    runs = mlflow.search_runs(experiment_names=[experiment_name]).dropna(subset=[f"metrics.{metric}"])
    return runs.sort_values(f"metrics.{metric}", ascending=not greater_is_better)["run_id"].iloc[0]
"""
QUERY_ALWAYS_MAX = """
def best_run_id(experiment_name, metric, data_fingerprint, greater_is_better=True):
    runs = mlflow.search_runs(experiment_names=[experiment_name],
                              filter_string=f"tags.data_fingerprint = '{data_fingerprint}'")
    return runs.loc[runs[f"metrics.{metric}"].idxmax(), "run_id"]
"""
QUERY_EVERY_EXPERIMENT = """
def best_run_id(experiment_name, metric, data_fingerprint, greater_is_better=True):
    runs = mlflow.search_runs(search_all_experiments=True, filter_string=f"tags.data_fingerprint = '{data_fingerprint}'")
    runs = runs.dropna(subset=[f"metrics.{metric}"])
    return runs.sort_values(f"metrics.{metric}", ascending=not greater_is_better)["run_id"].iloc[0]
"""
QUERY_RETURNS_ROW = """
def best_run_id(experiment_name, metric, data_fingerprint, greater_is_better=True):
    runs = mlflow.search_runs(experiment_names=[experiment_name],
                              filter_string=f"tags.data_fingerprint = '{data_fingerprint}'").dropna(subset=[f"metrics.{metric}"])
    return runs.sort_values(f"metrics.{metric}", ascending=not greater_is_better).iloc[0]
"""

# -- issue 12: method, layout, scorer -------------------------------------------------
FIT_ON_ALL_ROWS = "model = " + PIPELINE.format(final="LogisticRegression(max_iter=1000)") + ".fit(X, y)\n"
TP_FIRST = """
def metrics_from_confusion(cm):
    (tp, fp), (fn, tn) = np.asarray(cm)   # read as [[TP, FP], [FN, TN]]
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"accuracy": float((tp + tn) / np.sum(cm)), "precision": float(p), "recall": float(r), "f1": float(f)}
"""
NO_SHUFFLE = PLAIN_KFOLD.replace("KFold(n_splits=5, shuffle=True, random_state=0)", "StratifiedKFold(n_splits=5)")
OTHER_SEED = PLAIN_KFOLD.replace("KFold(n_splits=5, shuffle=True, random_state=0)",
                                 "StratifiedKFold(n_splits=5, shuffle=True, random_state=1)")
SEARCHED_ON_ALL_ROWS = SEARCH.format(extra="n_iter=4, cv=3, scoring='average_precision'") + ".fit(X, y)\n"
REFIT_FALSE = SEARCH.format(extra="n_iter=4, cv=3, scoring='average_precision', refit=False") + ".fit(X_tune, y_tune)\n"
LABEL_SCORER = ("from sklearn.metrics import make_scorer\n"
                + SEARCH.format(extra="n_iter=4, cv=3, scoring=make_scorer(average_precision_score)")
                + ".fit(X_tune, y_tune)\n")

# -- correct answers written differently from the solution -------------------------------
RIGHT = {
    "train.why_accuracy": ['why_accuracy = "B"', 'why_accuracy = " (b) "'],
    "train.beat_baseline": [
        "model = " + PIPELINE.format(final="RandomForestClassifier(n_estimators=40, max_depth=8, min_samples_leaf=20, "
                                            "random_state=0)") + ".fit(X_train, y_train)\n",
        "from sklearn.compose import ColumnTransformer\nfrom sklearn.pipeline import Pipeline\n"
        "model = Pipeline([('prep', ColumnTransformer([('cat', OneHotEncoder(handle_unknown='ignore'), CATEGORICAL), "
        "('num', 'passthrough', NUMERIC)])), ('tree', DecisionTreeClassifier(max_depth=5, min_samples_leaf=50, "
        "random_state=0))]).fit(X_train, y_train)\n",
    ],
    "train.metrics_from_confusion": [
        """
def metrics_from_confusion(cm):
    tn, fp, fn, tp = (int(v) for v in np.ravel(cm))
    def ratio(a, b):
        return a / b if b else 0.0
    precision, recall = ratio(tp, tp + fp), ratio(tp, tp + fn)
    return {"accuracy": ratio(tp + tn, tn + fp + fn + tp), "precision": precision, "recall": recall,
            "f1": ratio(2 * tp, 2 * tp + fp + fn)}
""",
        """
def metrics_from_confusion(cm):
    rows = np.asarray(cm, dtype=float)
    tp, tn = rows[1, 1], rows[0, 0]
    flagged, frauds = rows[:, 1].sum(), rows[1, :].sum()
    p = np.divide(tp, flagged, out=np.zeros(()), where=flagged > 0)
    r = np.divide(tp, frauds, out=np.zeros(()), where=frauds > 0)
    f = np.divide(2 * p * r, p + r, out=np.zeros(()), where=(p + r) > 0)
    return dict(accuracy=float((tp + tn) / rows.sum()), precision=float(p), recall=float(r), f1=float(f))
""",
    ],
    "train.best_threshold": [
        """
def best_threshold(y_true, scores, cost_fn, cost_fp):
    y, s = np.asarray(y_true), np.asarray(scores, dtype=float)
    order = np.argsort(-s, kind="stable")
    ys, ss = y[order], s[order]
    tp = np.cumsum(ys == 1); fp = np.cumsum(ys == 0)
    last = np.r_[ss[1:] != ss[:-1], True]       # the last row of each group of equal scores
    cost = cost_fn * (tp[-1] - tp[last]) + cost_fp * fp[last]
    return float(ss[last][np.argmin(cost)])
""",
        """
def best_threshold(y_true, scores, cost_fn, cost_fp):
    best = None
    for t in sorted(set(float(v) for v in scores), reverse=True):   # ties: the highest threshold wins
        missed = sum(1 for yt, sc in zip(y_true, scores) if yt == 1 and sc < t)
        alarms = sum(1 for yt, sc in zip(y_true, scores) if yt == 0 and sc >= t)
        cost = cost_fn * missed + cost_fp * alarms
        if best is None or cost < best[0]:
            best = (cost, t)
    return best[1]
""",
    ],
    "train.cv_estimate": [
        """
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import cross_validate
from sklearn.pipeline import Pipeline

def cv_estimate(X, y):
    pipeline = Pipeline([
        ("prep", ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
                                    ("num", StandardScaler(), NUMERIC)])),
        ("clf", LogisticRegression(max_iter=1000)),
    ])
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    scores = cross_validate(pipeline, X, y, cv=cv, scoring="average_precision")["test_score"]
    return {"pipeline": pipeline, "cv": cv, "scores": list(scores)}
""",
        """
from sklearn.metrics import get_scorer

def cv_estimate(X, y):
    pipeline = make_model(LogisticRegression(max_iter=1000))
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    scores = cross_val_score(pipeline, X, y, cv=cv, scoring=get_scorer("average_precision"))
    return dict(pipeline=pipeline, cv=cv, scores=scores)
""",
    ],
    "train.tune_within_budget": [
        "from sklearn.metrics import get_scorer\nfrom sklearn.model_selection import GridSearchCV\n"
        "search = GridSearchCV(make_model(DecisionTreeClassifier(random_state=0)), "
        "{'decisiontreeclassifier__max_depth': [4, 6], 'decisiontreeclassifier__min_samples_leaf': [20, 100]}, "
        "cv=StratifiedKFold(3, shuffle=True, random_state=0), scoring=get_scorer('average_precision'))"
        ".fit(X_tune, y_tune)\n",
        "from sklearn.metrics import make_scorer\nfrom scipy.stats import loguniform\n"
        "search = RandomizedSearchCV(make_model(LogisticRegression(max_iter=1000)), "
        "{'logisticregression__C': loguniform(1e-3, 10)}, n_iter=6, cv=2, random_state=1, "
        "scoring=make_scorer(average_precision_score, response_method='predict_proba')).fit(X_tune, y_tune)\n",
    ],
    "train.log_to_mlflow": [LOG_RIGHT_BY_HAND, LOG_RIGHT_RUN_OBJECT],
    "train.best_tracked_run": [QUERY_RIGHT_ORDER_BY, QUERY_RIGHT_CLIENT_LOOP],
}

WRONG = {
    "train.why_accuracy": ['why_accuracy = "a"', 'why_accuracy = "d"', "why_accuracy = 2"],
    "train.beat_baseline": [DUMMY, LEAKY_MODEL, UNFITTED, ON_NUMPY, DEEP_TREE, FIT_ON_ALL_ROWS],
    "train.metrics_from_confusion": [TRANSPOSED, UNGUARDED_INT, UNGUARDED_NUMPY, ARITHMETIC_F1, SKLEARN_METRICS, TP_FIRST],
    "train.best_threshold": [DEFAULT_HALF, BEST_F1, SWAPPED_COSTS, STRICTLY_ABOVE],
    "train.cv_estimate": [SCALED_OUTSIDE, PLAIN_KFOLD, SCORED_BY_ACCURACY, UNSEEDED_FOLDS, CV_AS_NUMBER, NO_SHUFFLE,
                          OTHER_SEED],
    "train.tune_within_budget": [OVER_BUDGET, BY_ACCURACY, ONLY_THE_WINNER, NOT_FITTED, SEARCHED_ON_ALL_ROWS, REFIT_FALSE,
                                 LABEL_SCORER],
    "train.log_to_mlflow": [LOG_METRICS_AS_PARAMS, LOG_NO_MODEL, LOG_NO_FINGERPRINT, LOG_DEFAULT_SKOPS, LOG_LEFT_OPEN,
                            LOG_NO_RETURN, LOG_PICKLE_FILE],
    "train.best_tracked_run": [QUERY_ANY_DATA, QUERY_ALWAYS_MAX, QUERY_EVERY_EXPERIMENT, QUERY_RETURNS_ROW],
}


def test_every_exercise_of_the_lesson_is_tried(tried):
    assert set(tried) == {e.id for e in exercises_of(LESSON)} == set(WRONG) == set(RIGHT)
    assert all(len(RIGHT[k]) >= 2 and len(WRONG[k]) >= 3 for k in WRONG)


@pytest.mark.parametrize("ex_id", sorted(WRONG))
def test_stub_is_not_attempted_and_solution_gets_full_marks(tried, ex_id):
    t = tried[ex_id]
    assert t.stub.status == NOT_ATTEMPTED and t.stub.score == 0
    assert t.solution.status == PASSED and t.solution.score == t.solution.points, t.solution.render()


@pytest.mark.parametrize("ex_id", sorted(RIGHT))
def test_answers_written_differently_get_full_marks(tried, ex_id):
    for result in tried[ex_id].right:
        assert result.status == PASSED and result.score == result.points, result.render()


# What each wrong answer (by its place in WRONG) must be told, and the status it gets where it is not "failed".
TOLD = {
    "train.why_accuracy": [("catches 0 frauds",), ("Balancing the test set changes the question",),
                           ("one letter as a string",)],
    "train.beat_baseline": [
        ("same score", "dummy baseline", "fresh transactions"),
        ("['chargeback']", "recorded only after the outcome"),
        ("not fitted yet",),
        ("no column names", "DataFrame"),
        ("not clearly better than the dummy", "unpruned tree"),
        ("fitted on all 20 000 rows, the test set included", "X_train, y_train"),
    ],
    "train.metrics_from_confusion": [
        ("Precision and recall are swapped", "confusion matrix [[4875, 952], [31, 142]]"),
        ("ZeroDivisionError", "zero_division=0"),
        ("NaN", "zero_division=0"),
        ("harmonic mean",),
        ("sklearn.metrics.accuracy_score", "Write the logic yourself"),
        ("read as [[TP, FP], [FN, TN]]", "[[TN, FP], [FN, TP]]"),
    ],
    "train.best_threshold": [("0.5 is the default cut of predict()", "costs"), ("maximises F1",),
                             ("cost_fn and cost_fp are swapped",), ("score >= threshold (not >)",)],
    "train.cv_estimate": [
        ("only ['LogisticRegression']", "preprocessing leakage"),
        ("'cv' is a KFold", "StratifiedKFold"),
        ("looks like accuracy", "average_precision"),
        ("without a random_state",),
        ("'cv' is a number",),
        ("not shuffled", "shuffle=True, random_state=0"),
        ("random_state=1", "fixes random_state=0"),
    ],
    "train.tune_within_budget": [
        ("5 candidates x 3 folds = 15 fits", "budget is 12"),
        ("accuracy", "scoring='average_precision'"),
        ("`search` is a Pipeline",),
        ("not fitted yet",),
        ("all 20 000 rows, the test set included", "X_tune, y_tune"),
        ("refit=False", "kept no model"),
        ("does not compute average precision", "response_method='predict_proba'"),
    ],
    "train.log_to_mlflow": [
        ("logged as parameters", "mlflow.log_metrics(metrics)"),
        ("the run has no model", "mlflow.sklearn.log_model"),
        ("does not record which data", "set_tag('data_fingerprint'"),
        ("MlflowException", "serialization_format='cloudpickle'"),
        ("still RUNNING", "with mlflow.start_run"),
        ("forget a `return`",),
        ("no MLflow model", "model.joblib"),
    ],
    "train.best_tracked_run": [
        ("learned from other data", "tags.data_fingerprint"),
        ("the best run has the smallest",),
        ("of experiment 'sandbox'", "experiment_names=[experiment_name]"),
        ("expected the run id", "got a Series"),
    ],
}
STATUS = {("train.metrics_from_confusion", 1): ERROR, ("train.log_to_mlflow", 3): ERROR}


def test_every_wrong_answer_is_told():
    assert {ex_id: len(told) for ex_id, told in TOLD.items()} == {ex_id: len(wrong) for ex_id, wrong in WRONG.items()}


@pytest.mark.parametrize(("ex_id", "i"), [(ex_id, i) for ex_id, told in TOLD.items() for i in range(len(told))])
def test_wrong_answers_are_named(tried, ex_id, i):
    result = tried[ex_id].wrong[i]
    assert result.status == STATUS.get((ex_id, i), FAILED), result.render()
    for phrase in TOLD[ex_id][i]:
        assert phrase in result.message, (phrase, result.render())


def test_why_accuracy_message_never_gives_the_answer_away(tried):
    a, d, _ = tried["train.why_accuracy"].wrong
    assert "'b'" not in a.message and "'b'" not in d.message


def test_beat_baseline_wrong_answers_earn_nothing(tried):
    assert all(r.score == 0 for r in tried["train.beat_baseline"].wrong)


def test_metrics_from_confusion_shortcut_and_layout_earn_nothing(tried):
    *_, shortcut, tp_first = tried["train.metrics_from_confusion"].wrong
    assert shortcut.score == 0 and tp_first.score == 0


def test_metrics_from_confusion_visible_example_alone_earns_nothing():
    ex = T.metrics_from_confusion
    hard_wired = T.reference_metrics(np.array([[4875, 952], [31, 142]]))
    lesson_only = {"metrics_from_confusion": lambda cm: dict(hard_wired)}
    result = ex.run(lesson_only, seed=5)
    assert result.tests[0].status == PASSED and result.score == 0
    assert ex.public_tests == [0]


def test_best_threshold_message_names_the_random_inputs(tried):
    # The random inputs are named in the message, so the learner can tell which one failed.
    assert "frauds, cost_fn=" in tried["train.best_threshold"].wrong[0].message


def test_cv_estimate_leak_and_unshuffled_folds_lose_marks(tried):
    outside, no_shuffle = tried["train.cv_estimate"].wrong[0], tried["train.cv_estimate"].wrong[5]
    assert outside.score < outside.points and no_shuffle.score < no_shuffle.points


def test_tune_within_budget_unfitted_and_not_refitted_are_told_apart(tried):
    unfitted, no_refit = tried["train.tune_within_budget"].wrong[3], tried["train.tune_within_budget"].wrong[5]
    assert "not fitted" not in no_refit.message
    assert unfitted.score == 0


def test_log_to_mlflow_wrong_answers_earn_nothing(tried):
    assert all(r.score == 0 for r in tried["train.log_to_mlflow"].wrong)


def test_best_tracked_run_any_data_earns_nothing(tried):
    assert tried["train.best_tracked_run"].wrong[0].score == 0


# -- the verdicts on their own, away from the notebook -------------------------------
def test_model_verdict_flags_a_model_that_is_too_good():
    frame = T.fresh_transactions(np.random.default_rng(3), n=2_000)
    facts = {"features": ["amount"], "scores": frame["is_fraud"].to_numpy(dtype=float), "estimator": "X"}
    message = T.probes.model_verdict(facts, frame)
    assert "too good to be true" in message and "leakage" in message


def test_threshold_reference_agrees_with_a_brute_force_search():
    rng = np.random.default_rng(0)
    for _ in range(5):
        y, s, cfn, cfp = T._threshold_inputs(rng, decimals=2)
        costs = {t: T.probes.total_cost(y, s, t, cfn, cfp) for t in np.unique(s)}
        best = min(costs.values())
        assert T.probes.total_cost(y, s, T.reference_threshold(y, s, cfn, cfp), cfn, cfp) == best


def test_reference_metrics_match_the_by_hand_formulas_and_zero_division():
    assert T.reference_metrics(np.array([[50, 0], [10, 0]])) == {"accuracy": 50 / 60, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    m = T.reference_metrics(np.array([[80, 10], [5, 5]]))
    assert m["precision"] == pytest.approx(5 / 15) and m["recall"] == pytest.approx(5 / 10)


@pytest.mark.parametrize("seed", range(30))
def test_every_query_case_holds_its_traps(seed):
    rng = np.random.default_rng(seed)
    for case, tie in ((T._query_inputs(rng), True), (T._query_inputs_lower(rng), False)):
        runs = T.probes.flat_runs(case)
        ours = [r for exp, r in runs if exp == case["experiment"] and r["tags"]["data_fingerprint"] == case["data_fingerprint"]]
        assert any(r["metrics"].get(case["metric"], 0) is None for r in ours)  # NaN
        assert any(case["metric"] not in r["metrics"] for r in ours)  # missing
        best = T.reference_best_runs(case)
        assert len(best) == (2 if tie else 1)
        value = runs[best[0]][1]["metrics"][case["metric"]]
        def better(v, value=value, greater=case["greater"]):
            return v > value if greater else v < value

        # A better run on other data, and a better one in another experiment, in every draw.
        assert any(better(r["metrics"][case["metric"]]) for exp, r in runs
                   if exp == case["experiment"] and r["tags"]["data_fingerprint"] != case["data_fingerprint"])
        assert any(better(r["metrics"][case["metric"]]) for exp, r in runs if exp != case["experiment"])


def test_logging_cases_always_include_a_tree_and_every_kind_of_parameter():
    for seed in range(30):
        case = T._logging_inputs(np.random.default_rng(seed))
        assert {r["model"]["kind"] for r in case["runs"]} == {"tree", "logistic"}
        for run in case["runs"]:
            kinds = {type(v) for v in run["params"].values()}
            assert {int, float, str, bool, type(None)} <= kinds


def test_inputs_survive_the_trip_to_the_grader(expect):
    expect.inputs_survive_the_trip(LESSON)


# -- the same verdict on every secret seed -------------------------------------------
SEEDS = [int(s) for s in np.random.default_rng(20261204).integers(0, 2**31 - 1, 30)]
# Cheap enough to try every answer on 30 seeds; three wrong answers each, those whose
# verdict rests on the fresh inputs.
SEEDED_WRONG = {
    "train.beat_baseline": [DUMMY, DEEP_TREE, FIT_ON_ALL_ROWS],
    "train.metrics_from_confusion": [TRANSPOSED, ARITHMETIC_F1, TP_FIRST],
    "train.best_threshold": [BEST_F1, SWAPPED_COSTS, STRICTLY_ABOVE],
    "train.cv_estimate": [SCORED_BY_ACCURACY, NO_SHUFFLE, OTHER_SEED],
    "train.tune_within_budget": [BY_ACCURACY, SEARCHED_ON_ALL_ROWS, LABEL_SCORER],
    "train.log_to_mlflow": [LOG_METRICS_AS_PARAMS, LOG_NO_FINGERPRINT, LOG_DEFAULT_SKOPS],
    "train.best_tracked_run": [QUERY_ANY_DATA, QUERY_ALWAYS_MAX, QUERY_EVERY_EXPERIMENT],
}


@pytest.mark.parametrize("ex_id", sorted(SEEDED_WRONG))
def test_every_answer_gets_the_same_verdict_on_every_seed(seeded, ex_id, expect):
    expect.one_verdict_per_answer(seeded[ex_id], n_right=1 + len(RIGHT[ex_id]))  # the solution, then the alternatives


def test_the_grader_gives_the_notebook_check_s_verdicts(tried, grade_solutions, expect):
    wrong = {"train.log_to_mlflow": LOG_NO_FINGERPRINT, "train.best_tracked_run": QUERY_ANY_DATA,
             "train.cv_estimate": NO_SHUFFLE}
    graded = grade_solutions(LESSON, wrong)
    expect.graded_as_in_notebook(graded, {"train.tune_within_budget": tried["train.tune_within_budget"].solution,
                                          **{ex: tried[ex].wrong[WRONG[ex].index(source)] for ex, source in wrong.items()}})
    assert all(graded[ex_id].status == FAILED for ex_id in wrong), [graded[ex_id].render() for ex_id in wrong]
    for result in (graded["train.log_to_mlflow"], tried["train.log_to_mlflow"].wrong[2]):
        assert "does not record which data it learned from" in result.message
