"""Exercises of lesson 02, Train: baselines, honest metrics, validation, tuning, tracking.

Eight declarative exercises, in the order the lesson asks them:

* ``train.why_accuracy``: why 97 % accuracy means nothing here (multiple choice);
* ``train.beat_baseline``: a fitted model, judged on fresh transactions it never saw;
* ``train.metrics_from_confusion``: precision, recall, F1 and accuracy by hand;
* ``train.best_threshold``: the decision threshold that minimises a business cost;
* ``train.cv_estimate``: a stratified k-fold estimate with a leak-free Pipeline;
* ``train.tune_within_budget``: a hyperparameter search that stays within a budget of fits;
* ``train.log_to_mlflow``: one run logged to MLflow with its parameters, metrics,
  data fingerprint and model, read back from the store;
* ``train.best_tracked_run``: the best run on the same data, found with
  ``mlflow.search_runs`` in a store the check fills.

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

import functools
import math
from typing import Any

import numpy as np
import pandas as pd

from mlcourse.exercises.compare import show
from mlcourse.exercises.engine import Exercise, Function, Mistake, Model, Value, holds, returns
from mlcourse.exercises.plain import kind
from mlcourse.exercises.probes import call
from mlcourse.exercises.train import probes


# --------------------------------------------------------------------------
# The lesson's data and its reference model
# --------------------------------------------------------------------------
def reference_pipeline(seed: int = 0):
    """The lesson's baseline: one-hot + scaling + logistic regression, in one Pipeline."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), probes.CATEGORICAL),
        (StandardScaler(), probes.NUMERIC),
    )
    return make_pipeline(pre, LogisticRegression(max_iter=1000, random_state=seed))


def fresh_transactions(rng: np.random.Generator, n: int = 5_000) -> pd.DataFrame:
    """Transactions the learner's model has never seen, from a seed drawn at check time.

    The same draw gives the same frame, made once (a grader checks many
    answers on one secret seed); the probe gets a copy, and the verdict only
    reads it.
    """
    return _transactions(int(rng.integers(1_000, 1_000_000)), n)


@functools.lru_cache(maxsize=8)
def _transactions(seed: int, n: int) -> pd.DataFrame:
    from mlcourse.data.generate import make_transactions

    frame = make_transactions(n, seed=seed)
    frame.attrs = {}  # only the table crosses to the probe
    return frame


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
    tests=[
        holds("your choice", probes.letter, _why_verdict),
        # The visible example of a graded cohort: the answer's form, never whether it is right. It weighs
        # nothing and comes last, so the full verdict's message is the one shown.
        holds("the form of your choice", probes.letter, probes.why_form_verdict, weight=0, public=True),
    ],
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


#: The public tests' fixed sample: a seed and a size (plain inputs the graded edition stores as they are).
PUBLIC_SAMPLE = {"seed": 2026, "rows": 5_000}
PUBLIC_CV_SAMPLE = {"seed": 2027, "rows": 500}


def _fixed(spec: dict, rng: np.random.Generator) -> dict:
    """The same plain inputs on every seed (a copy of ``spec``)."""
    return dict(spec)


_public_sample = functools.partial(_fixed, PUBLIC_SAMPLE)
_public_cv_sample = functools.partial(_fixed, PUBLIC_CV_SAMPLE)
# Only what the search's scorer computes is read on these rows (its best model is judged on 5 000 fresh ones):
# a small sample is enough, and a check copies it faster.
_search_inputs = functools.partial(fresh_transactions, n=1_000)


beat_baseline = Exercise(
    id="train.beat_baseline",
    title="Beat the dummy baseline",
    points=3,
    answer=Model("model"),
    tests=[
        # The visible example of a graded cohort: the same bands on a fixed sample, for no points.
        holds("a fixed sample of new transactions", probes.probe_model_on_sample, probes.model_verdict_on_sample,
              inputs=_public_sample, weight=0, public=True),
        holds("fresh transactions the model never saw", probes.probe_model, probes.model_verdict, inputs=fresh_transactions),
    ],
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


#: Ways of reading the matrix other than [[TN, FP], [FN, TP]], each as (tn, fp, fn, tp) positions in cm.ravel().
_LAYOUTS = {
    "[[TP, FP], [FN, TN]]": (3, 1, 2, 0),
    "[[TP, FN], [FP, TN]]": (3, 2, 1, 0),
}


def _misread_layout(got: Any, a: Any, exp: Any) -> str | None:
    """The layout whose metrics the answer gave, when it is not the task's."""
    try:
        cells = np.asarray(a[0]).ravel().tolist()
    except Exception:
        return None
    for layout, (tn, fp, fn, tp) in _LAYOUTS.items():
        other = reference_metrics(_cm(cells[tn], cells[fp], cells[fn], cells[tp]))
        if other != exp and all(_num(got, k) is not None and math.isclose(_num(got, k), v, rel_tol=1e-6, abs_tol=1e-12)
                                for k, v in other.items()):
            return layout
    return None


def _nan_for_undefined(got: Any, a: Any, exp: Any) -> bool:
    return any(isinstance(v, float) and math.isnan(v) for v in (got or {}).values()) if isinstance(got, dict) else False


def _arithmetic_f1(got: Any, a: Any, exp: Any) -> bool:
    gf, ep, er = _num(got, "f1"), _num(exp, "precision"), _num(exp, "recall")
    if None in (gf, ep, er) or math.isclose(ep, er, rel_tol=1e-6):
        return False
    return math.isclose(gf, (ep + er) / 2, rel_tol=1e-6)


_METRIC_MISTAKES = [
    Mistake(
        _misread_layout,
        lambda got, a, exp: (
            f"Your numbers are those of a matrix read as {_misread_layout(got, a, exp)}. The matrix is laid out as "
            "scikit-learn's confusion_matrix returns it, [[TN, FP], [FN, TP]]: rows are the true class (legit, then "
            "fraud), columns the decision, so TP is cm[1, 1] and TN is cm[0, 0]."
        ),
    ),
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
        # The visible example earns nothing by itself: every test that awards points has fresh inputs.
        returns("the lesson's confusion matrix", _lesson_cm, reference_metrics, mistakes=_METRIC_MISTAKES,
                describe=_show_cm, weight=0, public=True),
    ] + [
        returns(n, args, reference_metrics, mistakes=_METRIC_MISTAKES, describe=_show_cm)
        for n, args in (
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


def reference_thresholds(a: tuple) -> dict:
    """What :func:`threshold_verdict` compares with: the cheapest threshold, and two typical mistakes' thresholds."""
    y, scores, cost_fn, cost_fp = a
    return {"best": reference_threshold(y, scores, cost_fn, cost_fp),
            "costs_swapped": reference_threshold(y, scores, cost_fp, cost_fn),
            "best_f1": _f1_threshold(y, scores)}


def _threshold_example(rng: np.random.Generator) -> tuple:
    y = np.array([0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1])
    scores = np.array([0.01, 0.02, 0.02, 0.03, 0.04, 0.05, 0.07, 0.09, 0.1, 0.12,
                       0.15, 0.2, 0.22, 0.3, 0.35, 0.4, 0.55, 0.6, 0.7, 0.8])
    return y, scores, 20.0, 1.0


def _threshold_inputs(rng: np.random.Generator, *, decimals: int = 4) -> tuple:
    """Fresh scores where the typical mistakes cost more than the cheapest threshold, in every draw.

    The threshold that maximises F1, and the one found with cost_fn and
    cost_fp swapped, now and then land on the cheapest one by chance; such a
    draw is drawn again, so those answers fail on every seed.
    """
    while True:
        y, scores, cost_fn, cost_fp = _threshold_draw(rng, decimals)
        best = probes.total_cost(y, scores, reference_threshold(y, scores, cost_fn, cost_fp), cost_fn, cost_fp)
        traps = (_f1_threshold(y, scores), reference_threshold(y, scores, cost_fp, cost_fn))
        if all(probes.total_cost(y, scores, t, cost_fn, cost_fp) > best for t in traps):
            return y, scores, cost_fn, cost_fp


def _threshold_draw(rng: np.random.Generator, decimals: int) -> tuple:
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


_tied_threshold_inputs = functools.partial(_threshold_inputs, decimals=2)


best_threshold = Exercise(
    id="train.best_threshold",
    title="The threshold that minimises the business cost",
    points=3,
    answer=Function("best_threshold"),
    tests=[
        holds("the small example from the lesson", call, probes.threshold_verdict, inputs=_threshold_example,
              expected=reference_thresholds, weight=0, public=True),
        holds("fresh random scores", call, probes.threshold_verdict, inputs=_threshold_inputs, expected=reference_thresholds),
        holds("fresh random scores with many ties", call, probes.threshold_verdict, inputs=_tied_threshold_inputs,
              expected=reference_thresholds),
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
def _cv_inputs(rng: np.random.Generator, n: int = 2_500) -> tuple:
    frame = fresh_transactions(rng, n=n)
    return frame[probes.FEATURES], frame[probes.LABEL]


_cv_small_inputs = functools.partial(_cv_inputs, n=800)  # only the structure is inspected: a small sample is enough


def reference_cv(X: pd.DataFrame, y: pd.Series) -> list[float]:
    """PR-AUC of the lesson's Pipeline in stratified, shuffled 5-fold cross-validation."""
    key = (int(pd.util.hash_pandas_object(X, index=False).sum()), tuple(np.asarray(y, dtype=int).tolist()))
    return list(_reference_cv(key, X, y))


_CV_CACHE: dict = {}


def _reference_cv(key: tuple, X: pd.DataFrame, y: pd.Series) -> tuple[float, ...]:
    # Computed once per sample: every answer checked on the same secret seed shares it.
    if key not in _CV_CACHE:
        from sklearn.model_selection import StratifiedKFold, cross_val_score

        from mlcourse.train.fraud_model import one_thread

        cv = StratifiedKFold(n_splits=probes.CV_SPLITS, shuffle=True, random_state=probes.CV_SEED)
        if len(_CV_CACHE) > 16:
            _CV_CACHE.clear()
        with one_thread():  # five small fits: one math-library thread is faster than several competing for the cores
            scores = cross_val_score(reference_pipeline(), X, y, cv=cv, scoring=probes.CV_SCORING)
        _CV_CACHE[key] = tuple(float(s) for s in scores)
    return _CV_CACHE[key]


def _cv_scores_verdict(got: Any, a: tuple) -> str | None:
    X, y = a
    where = f"a fresh sample of {len(y):,} transactions ({int(np.sum(y))} frauds)"
    if not isinstance(got, dict):
        return "the check could not read your answer"
    values = probes.float_array(got.get("scores"))
    if values.size != probes.CV_SPLITS:
        return f"'scores' should hold one score per fold ({probes.CV_SPLITS}), got {values.size} on {where}"
    if "recompute_error" in got:
        return (
            f"your Pipeline cannot take the raw features on {where} ({got['recompute_error']}). Preprocessing done "
            "outside the Pipeline is neither cross-validated nor shipped with the model: move it inside."
        )
    redo = probes.float_array(got.get("recomputed"))
    reference = np.asarray(reference_cv(X, y))
    fixed = {"cv": "StratifiedKFold", "n_splits": probes.CV_SPLITS, "shuffle": True, "random_state": probes.CV_SEED}
    if isinstance(got.get("folds"), dict) and got["folds"] != fixed:
        # Other folds give other scores, closer or further from the reference's by chance: judged on every seed
        # alike, whatever the sample.
        return (
            f"your scores come from other folds than the task fixes ({got['folds']['cv']}, n_splits="
            f"{got['folds']['n_splits']}, shuffle={got['folds']['shuffle']}, random_state={got['folds']['random_state']}), "
            "so they cannot be compared with the reference's: use StratifiedKFold(n_splits=5, shuffle=True, "
            f"random_state=0) [{where}]"
        )
    mean = float(values.mean())
    if mean > 0.8:
        return (
            f"your mean score is {mean:.3f} on {where}: that looks like accuracy or ROC-AUC. Use "
            f"scoring='{probes.CV_SCORING}' (PR-AUC); the reference gets {reference.mean():.3f}."
        )
    if redo.size == values.size and not np.allclose(np.sort(redo), np.sort(values), atol=1e-6):
        return (
            f"the scores you returned ({np.round(values, 3).tolist()}) are not what your pipeline and splitter give "
            f"with scoring='{probes.CV_SCORING}' ({np.round(redo, 3).tolist()}) on {where}. Score the same pipeline with the "
            "same splitter (cross_val_score(pipeline, X, y, cv=cv, scoring=...))."
        )
    if abs(mean - reference.mean()) > probes.CV_TOLERANCE:
        return (
            f"your mean PR-AUC is {mean:.3f}, the reference Pipeline's is {reference.mean():.3f} on {where} "
            f"(tolerance {probes.CV_TOLERANCE}). Use the lesson's preprocessing and LogisticRegression(max_iter=1000), "
            f"and scoring='{probes.CV_SCORING}'."
        )
    return None


cv_estimate = Exercise(
    id="train.cv_estimate",
    title="A stratified CV estimate with a leak-free Pipeline",
    points=3,
    answer=Function("cv_estimate"),
    tests=[
        # The visible example of a graded cohort: the splitter and pipeline, on a fixed sample, for no points.
        holds("the pipeline and splitter, on a fixed sample", probes.cv_structure_probe_on_sample, probes.cv_structure_verdict,
              inputs=_public_cv_sample, weight=0, public=True),
        holds("the pipeline and splitter, on a fresh sample", probes.cv_structure_probe, probes.cv_structure_verdict,
              inputs=_cv_small_inputs),
        holds("the fold scores, on a fresh sample", probes.cv_scores_probe, _cv_scores_verdict, inputs=_cv_inputs),
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
def _search_model_verdict(got: Any, frame: Any) -> str | None:
    if isinstance(got, dict) and got.get("no_model") == "refit":
        return (
            "the search ran with refit=False, so it kept no model to judge (no search.best_estimator_): keep "
            "refit=True (the default)."
        )
    scoring = got.get("search_scoring", probes.TUNE_SCORING) if isinstance(got, dict) else probes.TUNE_SCORING
    if scoring != probes.TUNE_SCORING and got.get("scoring_is_average_precision") is not True:
        # Whether a model picked by another metric clears the bands depends on the sample: judged alike on every seed.
        return (
            f"the search's best model was picked by {show(scoring if scoring is not None else 'accuracy')}, not by "
            f"average precision, so it is not the model the task asks for: set scoring='{probes.TUNE_SCORING}'."
        )
    return probes.model_verdict(got, frame, what="the search's best model")


tune_within_budget = Exercise(
    id="train.tune_within_budget",
    title="Tune within a budget of 12 fits",
    points=3,
    answer=Model("search"),
    tests=[
        # The visible example of a graded cohort: the search's settings, read on a fixed sample, for no points.
        holds("the search's budget, scoring and refit, on a fixed sample", probes.search_probe_on_sample, probes.search_verdict,
              inputs=_public_sample, weight=0, public=True),
        holds("the search: budget, scoring, refit", probes.search_probe, probes.search_verdict, inputs=_search_inputs),
        holds("its best model, on fresh transactions", probes.search_model_probe, _search_model_verdict, inputs=fresh_transactions),
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
# train.log_to_mlflow: one run, with everything needed to compare and rebuild it
# --------------------------------------------------------------------------
_PARAM_NAMES = ["C", "max_depth", "min_samples_leaf", "n_estimators", "class_weight", "solver", "seed", "penalty"]
_METRIC_NAMES = ["pr_auc", "roc_auc", "recall", "precision", "f1"]


def _hex(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(list("0123456789abcdef"), n))


def _logged_run(rng: np.random.Generator, i: int, kind_: str) -> dict:
    """One run to log: every kind of parameter value MLflow turns into text (int, float, str, bool, None)."""
    names = [str(n) for n in rng.permutation(_PARAM_NAMES)[:5]]
    values = [int(rng.integers(2, 40)), round(float(rng.uniform(0.01, 10)), 4), str(rng.choice(["lbfgs", "saga"])),
              bool(rng.integers(0, 2)), None]
    metrics = {str(m): round(float(rng.uniform(0.05, 0.95)), 4) for m in rng.permutation(_METRIC_NAMES)[:3]}
    metrics["n_frauds"] = int(rng.integers(50, 200))  # an int metric is logged as a float
    return {
        "run_name": f"{rng.choice(['forest', 'tree', 'logistic', 'mlp'])}-{i}-{int(rng.integers(100, 999))}",
        "params": dict(zip(names, values)),
        "metrics": metrics,
        "data_fingerprint": _hex(rng, 64),
        "model": {"seed": int(rng.integers(0, 10_000)), "C": round(float(rng.uniform(0.05, 5)), 3),
                  "kind": kind_},
    }


def _logging_example(rng: np.random.Generator) -> dict:
    return {"experiment": "check-example", "runs": [
        {"run_name": "logistic-C1", "params": {"C": 1.0, "max_iter": 1000, "class_weight": None},
         "metrics": {"pr_auc": 0.236, "roc_auc": 0.885}, "data_fingerprint": "3f2a9c0d51e4b7a8",
         "model": {"seed": 0, "C": 1.0}},
    ]}


def _logging_inputs(rng: np.random.Generator) -> dict:
    # Two calls: each must make a run of its own, and end it.
    # A tree in every draw: MLflow's default format, skops, will not vouch for one (see the task).
    kinds = rng.permutation(["tree", "logistic"])
    return {"experiment": f"check-{_hex(rng, 6)}", "runs": [_logged_run(rng, i, str(k)) for i, k in enumerate(kinds)]}


log_to_mlflow = Exercise(
    id="train.log_to_mlflow",
    title="Log a run to MLflow",
    points=3,
    answer=Function("log_candidate"),
    tests=[
        holds("the lesson's example run", probes.logging_probe, probes.logging_verdict,
              inputs=_logging_example, weight=0, public=True),
        holds("two fresh runs, one after the other", probes.logging_probe, probes.logging_verdict,
              inputs=_logging_inputs),
    ],
    hints=(
        "Everything goes inside one `with mlflow.start_run(run_name=run_name) as run:` block, which also ends the run.",
        "Inside it: mlflow.log_params(params), mlflow.log_metrics(metrics), mlflow.set_tag('data_fingerprint', "
        "data_fingerprint) and mlflow.sklearn.log_model(model, name='model', serialization_format='cloudpickle').",
        "After the block, `return run.info.run_id`. Do not call mlflow.set_tracking_uri or set_experiment inside the "
        "function: the lesson points MLflow at its store once.",
    ),
    on_error={
        "MlflowException": "If MLflow says a run is already active or a parameter cannot change its value, a run was "
        "left open: use `with mlflow.start_run(run_name=run_name) as run:` so every call ends its own run. If it "
        "says the model references untrusted types, that is skops refusing a tree: log the model with "
        "serialization_format='cloudpickle' (as the task says).",
    },
)


# --------------------------------------------------------------------------
# train.best_tracked_run: the best run on the same data, with mlflow.search_runs
# --------------------------------------------------------------------------
def _query_run(name: str, metrics: dict, fingerprint: str, params: dict | None = None) -> dict:
    return {"name": name, "metrics": metrics, "tags": {"data_fingerprint": fingerprint}, "params": params or {}}


def _query_case(rng: np.random.Generator, *, metric: str, greater: bool, tie: bool) -> dict:
    """An experiment whose best run is trained on other data, next to one whose runs are all better.

    Built in every draw: a better run on other data, a run without the metric,
    a run whose metric is NaN (logged as null), and a better run in another
    experiment; with ``tie``, two runs share the best value (either is right).
    """
    ours, theirs = _hex(rng, 16), _hex(rng, 16)
    lo, hi = (0.05, 0.35) if greater else (0.2, 0.9)
    n = int(rng.integers(3, 6))
    values = np.round(np.sort(rng.uniform(lo, hi, n)), 4)
    while len(np.unique(values)) < n:  # distinct, so only the planned tie ties
        values = np.round(np.sort(rng.uniform(lo, hi, n)), 4)
    best = float(values[-1] if greater else values[0])
    better = round(best * 1.4 if greater else best * 0.6, 4)
    models = ["logistic", "tree", "forest", "mlp"]
    runs = [_query_run(f"{rng.choice(models)}-{i}", {metric: float(v)}, ours, {"seed": i}) for i, v in enumerate(rng.permutation(values))]
    runs.insert(int(rng.integers(0, len(runs) + 1)), _query_run("forest-other-data", {metric: better}, theirs))
    runs.insert(int(rng.integers(0, len(runs) + 1)), _query_run("dummy", {"accuracy": 0.971}, ours))
    runs.insert(int(rng.integers(0, len(runs) + 1)), _query_run("mlp-diverged", {metric: None}, ours))
    if tie:
        runs.insert(int(rng.integers(0, len(runs) + 1)), _query_run("forest-again", {metric: best}, ours))
    experiment = f"fraud-{_hex(rng, 4)}"
    sandbox = [_query_run("sandbox-best", {metric: better}, ours)]
    return {"experiments": [{"name": experiment, "runs": runs}, {"name": "sandbox", "runs": sandbox}],
            "experiment": experiment, "metric": metric, "data_fingerprint": ours, "greater": greater}


def _query_example(rng: np.random.Generator) -> dict:
    ours, theirs = "3f2a9c0d51e4b7a8", "9b1e7d22c0f4a613"
    runs = [
        _query_run("dummy", {"pr_auc": 0.029}, ours),
        _query_run("logistic", {"pr_auc": 0.236}, ours),
        _query_run("forest-more-data", {"pr_auc": 0.301}, theirs),
        _query_run("forest", {"pr_auc": 0.275}, ours),
    ]
    return {"experiments": [{"name": "fraud-example", "runs": runs}], "experiment": "fraud-example", "metric": "pr_auc",
            "data_fingerprint": ours, "greater": True}


_query_inputs = functools.partial(_query_case, metric="pr_auc", greater=True, tie=True)
_query_inputs_lower = functools.partial(_query_case, metric="log_loss", greater=False, tie=False)


def reference_best_runs(case: dict) -> list[int]:
    """Positions (in the order the runs were made) of the best runs: any of them is right."""
    metric, greater = case["metric"], case["greater"]
    candidates = [
        (i, r["metrics"][metric]) for i, (exp, r) in enumerate(probes.flat_runs(case))
        if exp == case["experiment"] and r["tags"].get("data_fingerprint") == case["data_fingerprint"]
        and r["metrics"].get(metric) is not None
    ]
    best = (max if greater else min)(v for _, v in candidates)
    return [i for i, v in candidates if v == best]


best_tracked_run = Exercise(
    id="train.best_tracked_run",
    title="Query MLflow for the best run on the same data",
    points=2,
    answer=Function("best_run_id"),
    tests=[
        holds("the lesson's four-run example", probes.query_probe, probes.query_verdict,
              inputs=_query_example, expected=reference_best_runs, weight=0, public=True),
        holds("a fresh experiment with a tie, runs on other data, a missing and a NaN metric",
              probes.query_probe, probes.query_verdict, inputs=_query_inputs, expected=reference_best_runs),
        holds("a fresh experiment where lower is better", probes.query_probe,
              probes.query_verdict, inputs=_query_inputs_lower, expected=reference_best_runs),
    ],
    hints=(
        "mlflow.search_runs(experiment_names=[experiment_name], filter_string=...) returns a DataFrame, one row per "
        "run, with columns such as run_id, metrics.pr_auc and tags.data_fingerprint.",
        "filter_string=f\"tags.data_fingerprint = '{data_fingerprint}'\" keeps the runs on the same data; "
        "dropna(subset=[f'metrics.{metric}']) drops runs without the metric.",
        "Sort by f'metrics.{metric}' (ascending=not greater_is_better) and return the first row's run_id; or pass "
        "order_by=[f'metrics.{metric} DESC'] to search_runs.",
    ),
    on_error={
        "KeyError": "A run without the metric has no such column in search_runs' table when no run has it; the runs "
        "here all live in one table: check the column name (metrics.<name>, tags.<name>).",
    },
)
