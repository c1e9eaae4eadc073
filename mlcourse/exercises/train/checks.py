"""Exercises of lesson 02, Train: baselines, honest metrics, validation, tuning, tracking.

Seven declarative exercises, in the order the lesson asks them:

* ``train.why_accuracy``: why 97 % accuracy means nothing here (multiple choice);
* ``train.beat_baseline``: a fitted model, judged on fresh transactions it never saw;
* ``train.metrics_from_confusion``: precision, recall, F1 and accuracy by hand;
* ``train.best_threshold``: the decision threshold that minimises a business cost;
* ``train.cv_estimate``: a stratified k-fold estimate with a leak-free Pipeline;
* ``train.tune_within_budget``: a hyperparameter search that stays within a budget of fits;
* ``train.best_from_log``: the best run of a JSON-lines experiment log.

Models are judged by behaviour, never by their source: the probe scores the
learner's fitted model on transactions generated at check time (a fresh
:func:`mlcourse.data.make_transactions` frame), and the verdict computes
PR-AUC, ROC-AUC and the recall of a 5 % alert budget from those scores.
Where the learner re-creates something the package (or scikit-learn) already
provides, the exercise forbids it: the ready-made version refuses to run while
the answer is probed, and the answer's source may not name it (see
:mod:`mlcourse.exercises.guard`).

This module is the lesson's answer key; what the grading child runs is in
:mod:`mlcourse.exercises.train.probes`.
"""
from __future__ import annotations

import json
import math
import tempfile
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlcourse.exercises.compare import Compare, show
from mlcourse.exercises.engine import Exercise, Function, Mistake, Model, Value, holds, returns
from mlcourse.exercises.plain import TAG, kind
from mlcourse.exercises.probes import call
from mlcourse.exercises.train.probes import (
    CV_SCORING,
    cv_scores_probe,
    cv_structure_probe,
    letter,
    log_probe,
    probe_model,
    search_model_probe,
    search_probe,
    write_log,
)

# --------------------------------------------------------------------------
# The lesson's data and its reference model
# --------------------------------------------------------------------------
#: Columns recorded only after the outcome (lesson 01): never features.
LEAKY = ["chargeback", "chargeback_at"]
CATEGORICAL = ["merchant_category", "country", "channel"]
NUMERIC = ["amount", "hour", "account_age_days", "customer_age", "is_foreign"]
FEATURES = CATEGORICAL + NUMERIC
LABEL = "is_fraud"

#: The bands a model must reach on fresh transactions (about 3 % fraud). The
#: PR-AUC bar is relative to the batch's own fraud rate (what a constant score
#: gets), because a fresh batch of 5 000 rows holds only 100-170 frauds.
MIN_PR_AUC = 0.06
MIN_PR_AUC_LIFT = 2.5
MIN_ROC_AUC = 0.72
MIN_RECALL_AT_5 = 0.20
#: Above this PR-AUC a model reads the answer: the true fraud rule itself scores about 0.25-0.37.
MAX_HONEST_PR_AUC = 0.60
ALERT_SHARE = 0.05


def reference_pipeline(seed: int = 0):
    """The lesson's baseline: one-hot + scaling + logistic regression, in one Pipeline."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        (StandardScaler(), NUMERIC),
    )
    return make_pipeline(pre, LogisticRegression(max_iter=1000, random_state=seed))


def fresh_transactions(rng: np.random.Generator, n: int = 5_000) -> pd.DataFrame:
    """Transactions the learner's model has never seen, from a seed drawn at check time."""
    from mlcourse.data.generate import make_transactions

    seed = int(rng.integers(1_000, 1_000_000))
    frame = make_transactions(n, seed=seed)
    frame.attrs = {}  # only the table crosses to the probe
    return frame


def _array(plain: Any) -> np.ndarray:
    """A 1-D float array from plain data (a tagged ndarray, a list, or a number)."""
    if isinstance(plain, dict) and plain.get(TAG) == "ndarray":
        plain = plain.get("data", [])
    try:
        return np.asarray(plain, dtype=float).ravel()
    except (TypeError, ValueError):
        return np.asarray([], dtype=float)


def _describe_frame(frame: Any) -> str:
    try:
        y = np.asarray(frame[LABEL])
        return f"[{len(y):,} fresh transactions, {int(y.sum())} frauds ({y.mean():.1%})]"
    except Exception:
        return "[fresh transactions]"


# --------------------------------------------------------------------------
# train.why_accuracy: the accuracy paradox
# --------------------------------------------------------------------------
_WHY_WRONG = {
    "a": "97 % is what a model that never flags fraud gets: it catches 0 frauds. Any useful model must beat the "
    "dummy on a measure of the rare class (recall, precision, PR-AUC), not on accuracy.",
    "c": "More data would not help: the dummy's 97 % comes from the class balance, not from noise. Even on a "
    "million rows, 'never fraud' scores 97 % accuracy and catches nothing.",
    "d": "Balancing the test set changes the question: precision and accuracy on a 50/50 test set say nothing about "
    "production, where 97 % of payments are legitimate. Keep the test set as the world is, and change the metric.",
}


def _why_verdict(got: Any, _: Any) -> str | None:
    if got == "b":
        return None
    if got in _WHY_WRONG:
        return f"not {got!r}. {_WHY_WRONG[got]}"
    return f"expected one letter as a string (why_accuracy = \"a\", \"b\", \"c\" or \"d\"), got {kind(got)} ({show(got)})"


why_accuracy = Exercise(
    id="train.why_accuracy",
    title="Why accuracy misleads on fraud",
    points=1,
    answer=Value("why_accuracy"),
    tests=[holds("your choice", letter, _why_verdict)],
    hints=(
        "Work out what a model that answers 'not fraud' for every payment scores: its accuracy, and how many frauds "
        "it catches.",
        "A metric is only useful if the useless model scores badly on it. Which statement keeps the data as it is and "
        "changes the metric?",
    ),
)


# --------------------------------------------------------------------------
# train.beat_baseline: a fitted model, judged by behaviour
# --------------------------------------------------------------------------


def recall_at_budget(y: np.ndarray, scores: np.ndarray, share: float = ALERT_SHARE) -> float:
    """Recall when the top ``share`` of transactions by score are reviewed.

    Ties at the cut are shared fairly: a group of equal scores that only
    partly fits in the budget contributes its frauds in proportion (the
    expected recall of breaking the tie at random), so a constant score
    gets exactly ``share``.
    """
    y = np.asarray(y, dtype=int)
    s = np.asarray(scores, dtype=float)
    k = int(round(share * len(y)))
    if y.sum() == 0 or k == 0:
        return 0.0
    cut = np.sort(s)[::-1][k - 1]
    above = s > cut
    tied = s == cut
    room = k - int(above.sum())
    caught = y[above].sum() + y[tied].sum() * room / tied.sum()
    return float(caught / y.sum())


def model_verdict(got: Any, frame: Any, *, what: str = "your model") -> str | None:
    """Judge :func:`probe_model`'s facts against the bands; None when the model passes."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    if not isinstance(got, dict):
        return "the check could not read your model's predictions"
    where = _describe_frame(frame)
    features = got.get("features")
    if features is None:
        return (
            f"{what} has no column names (feature_names_in_): fit it on the DataFrame X_train, not on a NumPy array, "
            "so it can be given new transactions by column name"
        )
    used = [c for c in features if c in LEAKY + [LABEL]]
    if used:
        return (
            f"{what} uses {used}: {'the label itself' if LABEL in used else 'columns recorded only after the outcome'} "
            "(lesson 01). At prediction time they do not exist yet; drop them from the features."
        )
    if got.get("missing"):
        return (
            f"{what} expects columns that raw transactions do not have: {got['missing']}. Put feature engineering "
            "inside the Pipeline (a FunctionTransformer or ColumnTransformer step), so the model takes raw transactions."
        )
    y = np.asarray(frame[LABEL], dtype=int)
    scores = _array(got.get("scores"))
    if scores.shape != y.shape:
        return f"{what} returned {scores.size} scores for {y.size} transactions"
    if not np.all(np.isfinite(scores)):
        return f"{what} returned scores that are not finite numbers (NaN or infinity) {where}"
    pr_auc = float(average_precision_score(y, scores))
    roc = float(roc_auc_score(y, scores))
    recall5 = recall_at_budget(y, scores)
    summary = f"PR-AUC {pr_auc:.3f}, ROC-AUC {roc:.3f}, recall of a 5 % alert budget {recall5:.2f}"
    if np.ptp(scores) == 0:
        return (
            f"{what} gives every transaction the same score, so it ranks nothing: {summary}. "
            f"That is the dummy baseline; fit a model that uses the features (e.g. a logistic regression). {where}"
        )
    if pr_auc > MAX_HONEST_PR_AUC:
        return (
            f"{what} is too good to be true: {summary}. The true fraud rule itself stays below "
            f"{MAX_HONEST_PR_AUC}; a feature must carry the answer (leakage). {where}"
        )
    problems = []
    pr_bar = max(MIN_PR_AUC, MIN_PR_AUC_LIFT * float(y.mean()))
    if pr_auc < pr_bar:
        problems.append(
            f"PR-AUC {pr_auc:.3f} (expected at least {pr_bar:.3f}, {MIN_PR_AUC_LIFT:g}x what a constant score gets: "
            f"{y.mean():.3f})"
        )
    if roc < MIN_ROC_AUC:
        problems.append(f"ROC-AUC {roc:.3f} (expected at least {MIN_ROC_AUC}; chance is 0.5)")
    if recall5 < MIN_RECALL_AT_5:
        problems.append(
            f"recall {recall5:.2f} when the 5 % highest-scored transactions are reviewed (expected at least "
            f"{MIN_RECALL_AT_5}; random alerts catch 0.05)"
        )
    if not problems:
        return None
    cause = ""
    if got.get("estimator") in ("DecisionTreeClassifier", "ExtraTreeClassifier") and got.get("max_depth") is None:
        cause = (
            " Likely cause: an unpruned tree memorises its training rows and gives 0/1 scores; limit max_depth or "
            "min_samples_leaf."
        )
    elif roc < 0.6:
        cause = " Likely cause: the model barely uses the features (check the preprocessing and that it was fitted on X_train, y_train)."
    return f"{what} is not clearly better than the dummy: " + "; ".join(problems) + "." + cause + f" {where}"


def _model_inputs(rng: np.random.Generator) -> pd.DataFrame:
    return fresh_transactions(rng)


beat_baseline = Exercise(
    id="train.beat_baseline",
    title="Beat the dummy baseline",
    points=3,
    answer=Model("model"),
    tests=[holds("fresh transactions the model never saw", probe_model, model_verdict, inputs=_model_inputs)],
    hints=(
        "Start from the lesson's recipe: a ColumnTransformer with OneHotEncoder(handle_unknown='ignore') on "
        "CATEGORICAL and StandardScaler() on NUMERIC, then LogisticRegression(max_iter=1000), all in one Pipeline.",
        "`model = make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown='ignore'), CATEGORICAL), "
        "(StandardScaler(), NUMERIC)), LogisticRegression(max_iter=1000))`",
        "Then fit it on the training split only: `model.fit(X_train, y_train)` (X_train holds FEATURES, no leaky columns).",
    ),
    on_error={
        "ValueError": "If the message mentions strings such as 'grocery', the categorical columns reach the model "
        "unencoded: one-hot encode them inside the Pipeline.",
    },
)


# --------------------------------------------------------------------------
# train.metrics_from_confusion: the metric set by hand
# --------------------------------------------------------------------------
_SKLEARN_METRICS = (
    "sklearn.metrics.accuracy_score",
    "sklearn.metrics.precision_score",
    "sklearn.metrics.recall_score",
    "sklearn.metrics.f1_score",
    "sklearn.metrics.fbeta_score",
    "sklearn.metrics.precision_recall_fscore_support",
    "sklearn.metrics.classification_report",
)
_METRICS_FORBID = (
    *_SKLEARN_METRICS,
    *(n.replace("sklearn.metrics.", "sklearn.metrics._classification.") for n in _SKLEARN_METRICS),
    "mlcourse.train.training.evaluate",
)


def reference_metrics(cm: Any) -> dict:
    """Accuracy, precision, recall and F1 of a 2x2 confusion matrix, as scikit-learn computes them.

    ``cm`` is laid out as :func:`sklearn.metrics.confusion_matrix` returns it:
    rows are the true class (0, 1), columns the predicted class. Undefined
    ratios (nothing predicted positive, no positives at all) are 0, as with
    ``zero_division=0``.
    """
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    cm = np.asarray(cm, dtype=int)
    (tn, fp), (fn, tp) = cm
    y_true = np.repeat([0, 0, 1, 1], [tn, fp, fn, tp])
    y_pred = np.repeat([0, 1, 0, 1], [tn, fp, fn, tp])
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, average="binary", zero_division=0)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision": float(p),
        "recall": float(r),
        "f1": float(f),
    }


def _cm(tn: int, fp: int, fn: int, tp: int) -> np.ndarray:
    return np.array([[tn, fp], [fn, tp]], dtype=np.int64)


def _lesson_cm(rng: np.random.Generator) -> tuple:
    return (_cm(4875, 952, 31, 142),)


def _random_cm(rng: np.random.Generator) -> tuple:
    return (_cm(int(rng.integers(800, 6000)), int(rng.integers(5, 300)), int(rng.integers(5, 120)), int(rng.integers(5, 150))),)


def _nothing_flagged_cm(rng: np.random.Generator) -> tuple:
    return (_cm(int(rng.integers(800, 6000)), 0, int(rng.integers(10, 150)), 0),)


def _all_false_alarms_cm(rng: np.random.Generator) -> tuple:
    return (_cm(int(rng.integers(800, 6000)), int(rng.integers(5, 80)), int(rng.integers(10, 150)), 0),)


def _num(d: Any, key: str) -> float | None:
    if isinstance(d, dict) and type(d.get(key)) in (int, float):
        return float(d[key])
    return None


def _swapped(got: Any, a: Any, exp: Any) -> bool:
    gp, gr, ep, er = _num(got, "precision"), _num(got, "recall"), _num(exp, "precision"), _num(exp, "recall")
    if None in (gp, gr, ep, er) or math.isclose(ep, er, rel_tol=1e-6):
        return False
    return math.isclose(gp, er, rel_tol=1e-6) and math.isclose(gr, ep, rel_tol=1e-6)


def _nan_for_undefined(got: Any, a: Any, exp: Any) -> bool:
    return any(isinstance(v, float) and math.isnan(v) for v in (got or {}).values()) if isinstance(got, dict) else False


def _arithmetic_f1(got: Any, a: Any, exp: Any) -> bool:
    gf, ep, er = _num(got, "f1"), _num(exp, "precision"), _num(exp, "recall")
    if None in (gf, ep, er) or math.isclose(ep, er, rel_tol=1e-6):
        return False
    return math.isclose(gf, (ep + er) / 2, rel_tol=1e-6)


_METRIC_MISTAKES = [
    Mistake(
        _swapped,
        "Precision and recall are swapped. Precision = TP / (TP + FP): of the transactions flagged, the share that "
        "were fraud. Recall = TP / (TP + FN): of the frauds, the share that were flagged. In this layout rows are the "
        "true class and columns the prediction, so cm[0, 1] is FP and cm[1, 0] is FN.",
    ),
    Mistake(
        _nan_for_undefined,
        "A ratio with a zero denominator came back as NaN. When nothing is flagged (TP + FP = 0) precision is "
        "undefined; like scikit-learn with zero_division=0, report 0 (and F1 = 0 when precision + recall = 0).",
    ),
    Mistake(
        _arithmetic_f1,
        "F1 is the harmonic mean 2PR / (P + R), not the average (P + R) / 2: it stays low unless both are high.",
    ),
]


def _show_cm(a: tuple) -> str:
    try:
        return f"[confusion matrix {np.asarray(a[0]).tolist()}]"
    except Exception:
        return "[a confusion matrix]"


metrics_from_confusion = Exercise(
    id="train.metrics_from_confusion",
    title="Metrics by hand from a confusion matrix",
    points=2,
    answer=Function("metrics_from_confusion"),
    tests=[
        returns(n, args, reference_metrics, mistakes=_METRIC_MISTAKES, describe=_show_cm)
        for n, args in (
            ("the lesson's confusion matrix", _lesson_cm),
            ("a fresh random confusion matrix", _random_cm),
            ("a model that flags nothing (TP = FP = 0)", _nothing_flagged_cm),
            ("a model whose every alert is false (TP = 0)", _all_false_alarms_cm),
        )
    ],
    hints=(
        "Unpack the four counts first: `(tn, fp), (fn, tp) = cm` (rows: true class; columns: prediction).",
        "accuracy = (TP + TN) / all; precision = TP / (TP + FP); recall = TP / (TP + FN); "
        "F1 = 2 * precision * recall / (precision + recall).",
        "Guard every division: when its denominator is 0, the metric is 0.0 (what scikit-learn reports with "
        "zero_division=0). Return floats in a dict with keys 'accuracy', 'precision', 'recall', 'f1'.",
    ),
    forbid=_METRICS_FORBID,
    on_error={
        "ZeroDivisionError": "When nothing is flagged (TP + FP = 0), precision has a zero denominator, and so has F1 "
        "when precision + recall = 0: return 0.0 in those cases, as scikit-learn does with zero_division=0.",
    },
)


# --------------------------------------------------------------------------
# train.best_threshold: the threshold that minimises a business cost
# --------------------------------------------------------------------------
def total_cost(y: np.ndarray, scores: np.ndarray, threshold: float, cost_fn: float, cost_fp: float) -> float:
    """Cost of flagging every transaction with ``score >= threshold``."""
    y = np.asarray(y, dtype=int)
    flagged = np.asarray(scores, dtype=float) >= threshold
    fn = int(np.sum((y == 1) & ~flagged))
    fp = int(np.sum((y == 0) & flagged))
    return float(cost_fn * fn + cost_fp * fp)


def _costs_by_threshold(y: np.ndarray, scores: np.ndarray, cost_fn: float, cost_fp: float) -> tuple[np.ndarray, np.ndarray]:
    """(distinct scores ascending, cost when flagging score >= each), vectorised."""
    y = np.asarray(y, dtype=int)
    s = np.asarray(scores, dtype=float)
    thresholds = np.unique(s)
    order = np.argsort(s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    # Rows below threshold t: searchsorted(left) of t.
    below = np.searchsorted(s_sorted, thresholds, side="left")
    pos_below = np.concatenate([[0], np.cumsum(y_sorted)])[below]
    neg_below = below - pos_below
    fn = pos_below
    fp = (len(y) - y.sum()) - neg_below
    return thresholds, cost_fn * fn + cost_fp * fp


def reference_threshold(y_true: Any, scores: Any, cost_fn: float, cost_fp: float) -> float:
    """The lowest distinct score whose threshold (flag score >= t) gives the least total cost."""
    t, c = _costs_by_threshold(y_true, scores, cost_fn, cost_fp)
    return float(t[int(np.argmin(c))])


def _f1_threshold(y: np.ndarray, scores: np.ndarray) -> float:
    """The lowest distinct score whose threshold gives the highest F1."""
    y = np.asarray(y, dtype=int)
    s = np.asarray(scores, dtype=float)
    thresholds = np.unique(s)
    order = np.argsort(s, kind="stable")
    below = np.searchsorted(s[order], thresholds, side="left")
    pos_below = np.concatenate([[0], np.cumsum(y[order])])[below]
    tp = y.sum() - pos_below
    flagged = len(y) - below
    f1 = np.where(flagged + y.sum() > 0, 2 * tp / np.maximum(flagged + y.sum(), 1), 0.0)
    return float(thresholds[int(np.argmax(f1))])


def _threshold_example(rng: np.random.Generator) -> tuple:
    y = np.array([0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1])
    scores = np.array([0.01, 0.02, 0.02, 0.03, 0.04, 0.05, 0.07, 0.09, 0.1, 0.12,
                       0.15, 0.2, 0.22, 0.3, 0.35, 0.4, 0.55, 0.6, 0.7, 0.8])
    return y, scores, 20.0, 1.0


def _threshold_inputs(rng: np.random.Generator, *, decimals: int = 4) -> tuple:
    n = int(rng.integers(400, 900))
    rate = float(rng.uniform(0.03, 0.08))
    y = (rng.random(n) < rate).astype(np.int64)
    y[: 3] = 1  # a few frauds at least
    rng.shuffle(y)
    # Scores with signal: frauds score higher on average, with overlap.
    scores = np.where(y == 1, rng.beta(2.2, 3.0, n), rng.beta(1.0, 9.0, n))
    scores = np.round(scores, decimals)
    top = scores.max()
    y[scores == top] = 1  # flagging the top score is always worth it
    cost_fp = float(rng.integers(1, 4))
    cost_fn = float(cost_fp * rng.integers(20, 150))
    return y, scores, cost_fn, cost_fp


def _tied_threshold_inputs(rng: np.random.Generator) -> tuple:
    return _threshold_inputs(rng, decimals=2)


def _threshold_verdict(got: Any, a: tuple) -> str | None:
    y, scores, cost_fn, cost_fp = a
    y = np.asarray(y, dtype=int)
    scores = np.asarray(scores, dtype=float)
    where = (
        f"{len(y)} transactions, {int(y.sum())} frauds, cost_fn={cost_fn:g}, cost_fp={cost_fp:g}"
    )
    if got is None:
        return f"your function returned None: did you forget a `return` statement? [{where}]"
    if type(got) not in (int, float) or isinstance(got, bool):
        return f"expected the threshold as a number, got {kind(got)} ({show(got)}) [{where}]"
    best_t = reference_threshold(y, scores, cost_fn, cost_fp)
    best_c = total_cost(y, scores, best_t, cost_fn, cost_fp)
    got_c = total_cost(y, scores, got, cost_fn, cost_fp)
    if math.isfinite(got) and got_c <= best_c + 1e-9 * max(1.0, best_c):
        return None

    def breakdown(t: float) -> str:
        flagged = scores >= t
        fn = int(np.sum((y == 1) & ~flagged))
        fp = int(np.sum((y == 0) & flagged))
        return f"{fp} false alarms x {cost_fp:g} + {fn} missed frauds x {cost_fn:g} = {cost_fp * fp + cost_fn * fn:g}"

    message = (
        f"your threshold {got:g} costs {breakdown(got)}; the cheapest threshold, {best_t:g}, costs {breakdown(best_t)}"
    )
    distinct = np.unique(scores)
    lower = distinct[distinct < best_t]
    cause = ""
    if got > 1 and got > scores.max():
        cause = "It looks like a cost, not a threshold: return the threshold itself."
    elif math.isclose(got, 0.5):
        cause = (
            "0.5 is the default cut of predict(). With a missed fraud costing "
            f"{cost_fn / cost_fp:g}x a false alarm, the cheapest cut is much lower."
        )
    elif math.isclose(got, reference_threshold(y, scores, cost_fp, cost_fn)):
        cause = "It looks like cost_fn and cost_fp are swapped: a missed fraud (a false negative) costs cost_fn."
    elif math.isclose(got, _f1_threshold(y, scores)):
        cause = (
            "That threshold maximises F1. F1 weighs a missed fraud and a false alarm alike; here a miss costs "
            f"{cost_fn / cost_fp:g}x more, so minimise the cost itself."
        )
    elif len(lower) and math.isclose(got, float(lower[-1])):
        cause = "Flag a transaction when score >= threshold (not >): with '>' your search lands one score too low."
    return f"{message}. {cause}".rstrip() + f" [{where}]"


best_threshold = Exercise(
    id="train.best_threshold",
    title="The threshold that minimises the business cost",
    points=3,
    answer=Function("best_threshold"),
    tests=[
        holds("the small example from the lesson", call, _threshold_verdict, inputs=_threshold_example),
        holds("fresh random scores", call, _threshold_verdict, inputs=_threshold_inputs),
        holds("fresh random scores with many ties", call, _threshold_verdict, inputs=_tied_threshold_inputs),
    ],
    hints=(
        "For one threshold t: flagged = scores >= t; FN = frauds not flagged; FP = legitimate payments flagged; "
        "cost = cost_fn * FN + cost_fp * FP.",
        "Try every distinct score as t (`np.unique(scores)`) and keep the one with the smallest cost.",
        "Loop: `for t in np.unique(scores): c = ...; if c < best_cost: best_t, best_cost = t, c`, then "
        "`return float(best_t)`.",
    ),
)


# --------------------------------------------------------------------------
# train.cv_estimate: stratified k-fold with a leak-free Pipeline
# --------------------------------------------------------------------------
CV_SPLITS = 5
CV_TOLERANCE = 0.03


def _cv_inputs(rng: np.random.Generator, n: int = 3_000) -> tuple:
    frame = fresh_transactions(rng, n=n)
    return frame[FEATURES], frame[LABEL]


def _cv_small_inputs(rng: np.random.Generator) -> tuple:
    return _cv_inputs(rng, n=1_500)  # only the structure is inspected: a small sample is enough


def reference_cv(X: pd.DataFrame, y: pd.Series) -> list[float]:
    """PR-AUC of the lesson's Pipeline in stratified, shuffled 5-fold cross-validation."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    cv = StratifiedKFold(n_splits=CV_SPLITS, shuffle=True, random_state=0)
    return [float(s) for s in cross_val_score(reference_pipeline(), X, y, cv=cv, scoring=CV_SCORING)]


_PREPROCESSORS = ("ColumnTransformer", "OneHotEncoder", "StandardScaler", "MinMaxScaler", "RobustScaler",
                  "SimpleImputer", "OrdinalEncoder", "FunctionTransformer", "FeatureUnion", "TargetEncoder")


def _cv_structure_verdict(got: Any, a: tuple) -> str | None:
    if not isinstance(got, dict):
        return "the check could not read your answer"
    if got.get("pipeline") != "Pipeline" or not got.get("steps"):
        return (
            f"'pipeline' is a {got.get('pipeline')}, not a sklearn Pipeline. Put the preprocessing and the model in one "
            "Pipeline and cross-validate that, so each fold fits its own encoder and scaler."
        )
    steps = got["steps"]
    if len(steps) < 2 or not any(s in _PREPROCESSORS for s in steps[:-1]):
        return (
            f"your Pipeline is only {steps}: the encoding and scaling are not inside it. Anything fitted before "
            "cross-validation (a scaler fitted on all rows) has seen the validation folds: that is preprocessing "
            "leakage (lesson 01). Make them steps of the Pipeline."
        )
    if got.get("cv") != "StratifiedKFold":
        if got.get("cv") == "int":
            return "'cv' is a number: pass the splitter itself, StratifiedKFold(n_splits=5, shuffle=True, random_state=0)."
        return (
            f"'cv' is a {got.get('cv')}. With about 3 % fraud, unstratified folds can get very different numbers of "
            "frauds (a fold with 20 and one with 40), which makes the scores jumpy; use StratifiedKFold."
        )
    if got.get("n_splits") != CV_SPLITS:
        return f"use {CV_SPLITS} folds (n_splits={CV_SPLITS}); yours has {got.get('n_splits')}"
    if got.get("shuffle") and got.get("random_state") is None:
        return (
            "the folds are shuffled without a random_state, so every run draws different folds and different "
            "scores: set random_state=0."
        )
    return None


def _cv_scores_verdict(got: Any, a: tuple) -> str | None:
    X, y = a
    where = f"a fresh sample of {len(y):,} transactions ({int(np.sum(y))} frauds)"
    if not isinstance(got, dict):
        return "the check could not read your answer"
    values = _array(got.get("scores"))
    if values.size != CV_SPLITS:
        return f"'scores' should hold one score per fold ({CV_SPLITS}), got {values.size} on {where}"
    if "recompute_error" in got:
        return (
            f"your Pipeline cannot take the raw features on {where} ({got['recompute_error']}). Preprocessing done "
            "outside the Pipeline is neither cross-validated nor shipped with the model: move it inside."
        )
    redo = _array(got.get("recomputed"))
    reference = np.asarray(reference_cv(X, y))
    mean = float(values.mean())
    if mean > 0.8:
        return (
            f"your mean score is {mean:.3f} on {where}: that looks like accuracy or ROC-AUC. Use "
            f"scoring='{CV_SCORING}' (PR-AUC); the reference gets {reference.mean():.3f}."
        )
    if redo.size == values.size and not np.allclose(np.sort(redo), np.sort(values), atol=1e-6):
        return (
            f"the scores you returned ({np.round(values, 3).tolist()}) are not what your pipeline and splitter give "
            f"with scoring='{CV_SCORING}' ({np.round(redo, 3).tolist()}) on {where}. Score the same pipeline with the "
            "same splitter (cross_val_score(pipeline, X, y, cv=cv, scoring=...))."
        )
    if abs(mean - reference.mean()) > CV_TOLERANCE:
        return (
            f"your mean PR-AUC is {mean:.3f}, the reference Pipeline's is {reference.mean():.3f} on {where} "
            f"(tolerance {CV_TOLERANCE}). Use the lesson's preprocessing and LogisticRegression(max_iter=1000), "
            f"and scoring='{CV_SCORING}'."
        )
    return None


cv_estimate = Exercise(
    id="train.cv_estimate",
    title="A stratified CV estimate with a leak-free Pipeline",
    points=3,
    answer=Function("cv_estimate"),
    tests=[
        holds("the pipeline and splitter, on a fresh sample", cv_structure_probe, _cv_structure_verdict,
              inputs=_cv_small_inputs),
        holds("the fold scores, on a fresh sample", cv_scores_probe, _cv_scores_verdict, inputs=_cv_inputs),
    ],
    hints=(
        "Build the Pipeline inside the function (preprocessing + LogisticRegression(max_iter=1000)) and the splitter "
        "StratifiedKFold(n_splits=5, shuffle=True, random_state=0).",
        "`scores = cross_val_score(pipeline, X, y, cv=cv, scoring='average_precision')` fits a fresh copy of the "
        "whole Pipeline on each training part, encoder and scaler included.",
        "Return `{'pipeline': pipeline, 'cv': cv, 'scores': scores}`; do not transform X before the Pipeline sees it.",
    ),
    forbid=("mlcourse.train.training.cross_validate_pipeline",),
    on_error={
        "KeyError": "Return a dict with the three keys 'pipeline', 'cv' and 'scores'.",
        "TypeError": "Return a dict with the three keys 'pipeline', 'cv' and 'scores'.",
    },
)


# --------------------------------------------------------------------------
# train.tune_within_budget: a search that respects its budget
# --------------------------------------------------------------------------
BUDGET = 12  # candidates x folds, the final refit not counted
TUNE_SCORING = "average_precision"


def _search_verdict(got: Any, frame: Any) -> str | None:
    if not isinstance(got, dict):
        return "the check could not read your search"
    if not got.get("is_search"):
        return (
            f"`search` is a {got.get('class')}: keep the fitted GridSearchCV or RandomizedSearchCV itself in `search` "
            "(its best model is search.best_estimator_)."
        )
    fits = got["n_candidates"] * got["n_splits"]
    if fits > BUDGET:
        return (
            f"your search ran {got['n_candidates']} candidates x {got['n_splits']} folds = {fits} fits; the budget is "
            f"{BUDGET}. Fewer candidates (n_iter) or fewer folds."
        )
    if got.get("scoring") != TUNE_SCORING:
        what = "the estimator's default, accuracy" if got.get("scoring") is None else repr(got.get("scoring"))
        return (
            f"the search chose its winner by {what}. On 3 % fraud, accuracy prefers models that flag nothing: set "
            f"scoring='{TUNE_SCORING}'."
        )
    if not got.get("refit"):
        return "the search has no best_estimator_: keep refit=True (the default) so the winner is refitted on all the training data."
    return None


def _search_model_verdict(got: Any, frame: Any) -> str | None:
    return model_verdict(got, frame, what="the search's best model")


tune_within_budget = Exercise(
    id="train.tune_within_budget",
    title="Tune within a budget of 12 fits",
    points=3,
    answer=Model("search"),
    tests=[
        holds("the search: budget, scoring, refit", search_probe, _search_verdict, inputs=_model_inputs),
        holds("its best model, on fresh transactions", search_model_probe, _search_model_verdict, inputs=_model_inputs),
    ],
    hints=(
        "The number of fits is (number of candidates) x (number of folds): with 3 folds you can afford 4 candidates.",
        "RandomizedSearchCV(make_model(DecisionTreeClassifier(random_state=0)), {...}, n_iter=4, "
        "cv=StratifiedKFold(3, shuffle=True, random_state=0), scoring='average_precision', random_state=0)",
        "Parameter names inside a Pipeline carry the step name: 'decisiontreeclassifier__max_depth'. "
        "Fit the search on X_tune, y_tune, then print search.best_params_ and search.best_score_.",
    ),
)


# --------------------------------------------------------------------------
# train.best_from_log: the best run of a JSON-lines log
# --------------------------------------------------------------------------


def _record(rng: np.random.Generator, i: int, metrics: dict, model: str) -> dict:
    return {
        "run_id": "".join(rng.choice(list("0123456789abcdef"), 32)),
        "timestamp": f"2026-03-{1 + i // 24:02d}T{i % 24:02d}:{int(rng.integers(0, 60)):02d}:00.000000+00:00",
        "model": model,
        "params": {"max_depth": int(rng.integers(2, 12)), "seed": int(rng.integers(0, 100))},
        "metrics": metrics,
        "data_fingerprint": "".join(rng.choice(list("0123456789abcdef"), 16)),
        "tags": {"stage": "tuning"},
        "mlcourse_version": "0.1.0",
        "sklearn_version": "1.9.1",
    }


def _log_lines(rng: np.random.Generator, metric: str, greater: bool, *, tie: bool, corrupt: bool) -> list[str]:
    n = int(rng.integers(6, 11))
    models = ["logistic regression", "decision tree", "random forest", "neural network"]
    lo, hi = (0.05, 0.35) if greater else (800.0, 2500.0)
    records = []
    for i in range(n):
        value = round(float(rng.uniform(lo, hi)), 4)
        records.append(_record(rng, i, {metric: value, "accuracy": round(float(rng.uniform(0.95, 0.99)), 4)},
                               str(rng.choice(models))))
    # Runs that must be skipped: the metric missing, or logged as null (NaN in the run).
    best_value = (max if greater else min)(r["metrics"][metric] for r in records)
    decoy = best_value * (1.5 if greater else 0.5)
    records.insert(int(rng.integers(0, len(records))), _record(rng, n, {"accuracy": 0.999, "other": decoy}, "dummy"))
    records.insert(int(rng.integers(0, len(records))), _record(rng, n + 1, {metric: None, "accuracy": 0.97}, "neural network"))
    if tie:
        # A later run ties the best one: the earlier run wins.
        first = next(i for i, r in enumerate(records) if r["metrics"].get(metric) == best_value)
        at = int(rng.integers(first + 1, len(records) + 1))
        records.insert(at, _record(rng, n + 2, {metric: best_value, "accuracy": 0.96}, "random forest"))
    lines = [json.dumps(r) for r in records]
    if corrupt:
        lines.append(json.dumps(_record(rng, n + 3, {metric: decoy}, "interrupted"))[:57])  # a run killed mid-write
    return lines


def _log_example(rng: np.random.Generator) -> tuple:
    records = [
        {"run_id": "a1", "model": "dummy", "params": {}, "metrics": {"pr_auc": 0.029, "accuracy": 0.971}},
        {"run_id": "b2", "model": "logistic regression", "params": {"C": 1.0}, "metrics": {"pr_auc": 0.236, "accuracy": 0.971}},
        {"run_id": "c3", "model": "neural network", "params": {"hidden": 16}, "metrics": {"pr_auc": None, "accuracy": 0.971}},
        {"run_id": "d4", "model": "random forest", "params": {"n_estimators": 50}, "metrics": {"pr_auc": 0.279, "accuracy": 0.972}},
    ]
    return [json.dumps(r) for r in records], "pr_auc", True


def _log_inputs(rng: np.random.Generator) -> tuple:
    return _log_lines(rng, "pr_auc", True, tie=True, corrupt=True), "pr_auc", True


def _log_inputs_lower(rng: np.random.Generator) -> tuple:
    return _log_lines(rng, "cost", False, tie=False, corrupt=True), "cost", False


def reference_best(lines: Sequence[str], metric: str, greater_is_better: bool) -> dict:
    """What :func:`mlcourse.train.training.best_run` returns for a log holding ``lines``."""
    from mlcourse.train.training import best_run

    with tempfile.TemporaryDirectory() as d, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return best_run(metric, write_log(d, lines), greater_is_better=greater_is_better)


def _log_verdict(got: Any, a: tuple) -> str | None:
    lines, metric, greater = a
    where = f"a log of {len(lines)} lines, metric {metric!r}, greater_is_better={greater}"
    value = got
    expected = reference_best(lines, metric, greater)
    if value is None:
        return f"your function returned None: did you forget a `return` statement? [{where}]"
    if not isinstance(value, dict) or TAG in value:
        return (
            f"expected the run's whole record (the dict json.loads gives for its line), got {kind(value)} "
            f"({show(value)}) [{where}]"
        )
    problem = Compare()(expected, value)
    if problem is None:
        return None
    exp_id, got_id = expected.get("run_id"), value.get("run_id")
    got_metrics = value.get("metrics") if isinstance(value.get("metrics"), dict) else {}
    cause = ""
    if got_id == exp_id:
        cause = "That is the right run, but not its record as written: return the dict from json.loads unchanged."
    elif "run_id" not in value:
        cause = "Return the whole record (run_id, model, params, metrics, ...), not a part of it."
    elif got_metrics.get(metric) == expected["metrics"][metric]:
        cause = f"Two runs tie on {metric!r}: the earlier one in the log wins (as in best_run)."
    elif not greater and got_metrics.get(metric) is not None:
        cause = (
            f"With greater_is_better=False the best run has the *smallest* {metric!r}: you seem to have taken the "
            "largest."
        )
    elif metric not in got_metrics or got_metrics.get(metric) is None:
        cause = f"That run has no numeric {metric!r}: skip runs where the metric is missing or null."
    return (
        f"expected run {exp_id} ({expected.get('model')}, {metric}={expected['metrics'][metric]}), got run {got_id} "
        f"({value.get('model')}, {metric}={got_metrics.get(metric)}). {cause}".rstrip()
        + f" [{where}]"
    )


best_from_log = Exercise(
    id="train.best_from_log",
    title="Pick the best run from the log",
    points=2,
    answer=Function("best_from_log"),
    tests=[
        holds("a four-run log", log_probe, _log_verdict, inputs=_log_example),
        holds("a fresh log with a tie, a null and a broken last line", log_probe, _log_verdict, inputs=_log_inputs),
        holds("a fresh log where lower is better", log_probe, _log_verdict, inputs=_log_inputs_lower),
    ],
    hints=(
        "Read the file line by line; `json.loads(line)` gives one run. Wrap it in try/except json.JSONDecodeError "
        "and skip lines that do not parse (a run killed mid-write leaves half a line).",
        "Take `value = run.get('metrics', {}).get(metric)` and skip the run unless it is an int or float (None means "
        "the metric was NaN when logged).",
        "Keep the first best: replace it only when a value is strictly better (> when greater_is_better, < "
        "otherwise). Return the whole record.",
    ),
    forbid=("mlcourse.train.training.best_run", "mlcourse.train.training.load_runs", "mlcourse.train.training._read_records"),
    on_error={
        "JSONDecodeError": "The last line of the log is broken (a run killed mid-write): skip lines that "
        "json.loads cannot read.",
        "TypeError": "Some runs have no value for the metric (null, or the key is missing): skip them before comparing.",
        "KeyError": "Some runs did not log this metric at all: use run['metrics'].get(metric) and skip them.",
    },
)
