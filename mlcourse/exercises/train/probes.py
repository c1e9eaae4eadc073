"""The probes of lesson 02 (Train): what the grading child runs.

Models are judged by behaviour: :func:`probe_model` scores the learner's
fitted model on fresh transactions and returns plain facts; the other probes
call the learner's function and report what it returned (and, for a
cross-validation, what its own pipeline and splitter give).

The lesson's facts (columns, bands, the task's fixed settings) and the
verdicts of the public tests live here too, because the graded edition ships
this module and not the answer key: each verdict either needs no reference
(the model's bands, the splitter's settings, the search's budget, what a run
logged) or takes the expected value as its third argument. Nothing here knows
an answer; the references, and the verdicts that need them, are in
:mod:`mlcourse.exercises.train.checks`.
"""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pandas as pd

from mlcourse.exercises.compare import show
from mlcourse.exercises.plain import TAG, kind

#: The metric cross-validation and tuning are scored by (PR-AUC).
CV_SCORING = "average_precision"


def letter(v: Any, _: Any = None) -> Any:
    """A multiple-choice answer as a bare lower-case letter ("(B) " -> "b")."""
    return v.strip().lower().strip("()") if isinstance(v, str) else v


# --------------------------------------------------------------------------
# A fitted model, judged on fresh transactions
# --------------------------------------------------------------------------
def _final_step(model: Any) -> Any:
    steps = getattr(model, "steps", None)
    if isinstance(steps, list) and steps:
        return steps[-1][1]
    return model


def _positive_scores(model: Any, X: pd.DataFrame) -> np.ndarray:
    """The model's score for fraud: P(fraud), else a decision value, else its 0/1 prediction."""
    classes = list(getattr(model, "classes_", [0, 1]))
    if hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(X), dtype=float)
        if proba.ndim == 2 and proba.shape[1] == len(classes) and 1 in classes:
            return proba[:, classes.index(1)]
        return np.zeros(len(X))  # a single class seen in training: nothing is ever fraud
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(X), dtype=float).ravel()
    return np.asarray(model.predict(X), dtype=float)


def _used_columns(model: Any, names: list[str]) -> list[str]:
    """The input columns the model really uses.

    A ColumnTransformer (alone or first in a Pipeline) records every column of
    the frame it was fitted on, used or dropped; only the columns routed to a
    transformer (the remainder included unless dropped) count.
    """
    first = model.steps[0][1] if isinstance(getattr(model, "steps", None), list) and model.steps else model
    routes = getattr(first, "_transformer_to_input_indices", None)
    fitted = getattr(first, "transformers_", None)
    if not isinstance(routes, dict) or not isinstance(fitted, list):
        return names
    used: set[int] = set()
    for name, transformer, _ in fitted:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        used.update(int(i) for i in routes.get(name, []))
    return [n for i, n in enumerate(names) if i in used]


def _steps(model: Any) -> list:
    """Every fitted estimator inside ``model``: Pipeline steps and ColumnTransformer parts, depth first."""
    found = [model]
    steps = getattr(model, "steps", None)
    if isinstance(steps, list):
        for _, step in steps:
            found += _steps(step)
    fitted = getattr(model, "transformers_", None)
    if isinstance(fitted, list):
        for part in fitted:
            if isinstance(part, tuple) and len(part) >= 2 and not isinstance(part[1], str):
                found += _steps(part[1])
    return found


def rows_seen(model: Any) -> int | None:
    """How many rows ``model`` was fitted on, where a fitted step records it (else None).

    Scalers count their rows (``n_samples_seen_``); a tree grown without
    bootstrap holds them all at its root. A model whose steps record nothing
    (a lone logistic regression) is not judged on this.
    """
    counts = []
    for step in _steps(model):
        seen = getattr(step, "n_samples_seen_", None)
        if seen is not None:
            counts.append(int(np.max(np.asarray(seen))))
        tree = getattr(step, "tree_", None)
        if tree is not None and hasattr(tree, "n_node_samples") and not hasattr(step, "estimators_"):
            counts.append(int(tree.n_node_samples[0]))
    return max(counts) if counts else None


def probe_model(model: Any, frame: pd.DataFrame) -> dict:
    """Score a fitted model on fresh transactions; return plain facts for the verdict.

    The model sees only the columns it was fitted on (``feature_names_in_``),
    taken from the fresh frame, which holds every column of
    :func:`mlcourse.data.make_transactions`, leaky ones included.
    """
    from sklearn.utils.validation import check_is_fitted

    final = _final_step(model)
    facts: dict = {"estimator": type(final).__name__, "max_depth": getattr(final, "max_depth", "n/a")}

    check_is_fitted(model)  # NotFittedError: the engine says "call .fit(...)"
    facts["rows_seen"] = rows_seen(model)
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        facts["features"] = None
        return facts
    names = [str(c) for c in names]
    facts["features"] = _used_columns(model, names)
    missing = [c for c in names if c not in frame.columns]
    if missing:
        facts["missing"] = missing
        return facts
    X = frame[names]
    facts["scores"] = _positive_scores(model, X).astype(float)
    facts["predicted_fraud"] = int(np.sum(np.asarray(model.predict(X)) == 1))
    return facts


# --------------------------------------------------------------------------
# train.cv_estimate and train.tune_within_budget
# --------------------------------------------------------------------------
def _unpack_cv(result: Any) -> tuple[Any, Any, Any]:
    if not isinstance(result, dict):
        raise TypeError(
            f"cv_estimate must return a dict with keys 'pipeline', 'cv' and 'scores', not {type(result).__name__}"
        )
    missing = [k for k in ("pipeline", "cv", "scores") if k not in result]
    if missing:
        raise KeyError(f"the dict cv_estimate returned has no {missing}")
    return result["pipeline"], result["cv"], result["scores"]


def _splitter_facts(cv: Any) -> dict:
    seed = getattr(cv, "random_state", None)
    return {
        "cv": type(cv).__name__,
        "n_splits": int(cv.get_n_splits()) if hasattr(cv, "get_n_splits") else None,
        "shuffle": bool(getattr(cv, "shuffle", False)),
        "random_state": seed if isinstance(seed, int) else None,
    }


def cv_structure_probe(fn: Any, a: tuple) -> dict:
    X, y = a
    pipeline, cv, _ = _unpack_cv(fn(X, y))
    steps = getattr(pipeline, "steps", None)
    return {
        "pipeline": type(pipeline).__name__,
        "steps": [type(step).__name__ for _, step in steps] if isinstance(steps, list) else None,
        **_splitter_facts(cv),
    }


def cv_scores_probe(fn: Any, a: tuple) -> dict:
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    X, y = a
    pipeline, cv, scores = _unpack_cv(fn(X.copy(), y.copy()))
    out: dict = {"scores": np.asarray(scores, dtype=float).ravel(), "folds": _splitter_facts(cv)}
    try:
        out["recomputed"] = cross_val_score(clone(pipeline), X, y, cv=cv, scoring=CV_SCORING).astype(float)
    except Exception as exc:  # the Pipeline cannot take the raw frame
        out["recompute_error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    return out


def _scorer_computes_average_precision(search: Any, frame: Any) -> bool | None:
    """Whether the search's scoring gives the same number as average precision on P(fraud), on fresh rows.

    A scorer is judged by what it computes, not by how it is spelled: the
    string ``"average_precision"``, ``get_scorer("average_precision")`` and
    ``make_scorer(average_precision_score, response_method="predict_proba")``
    all agree. None when it cannot be told (several metrics, an error).
    """
    from sklearn.base import clone
    from sklearn.metrics import average_precision_score, check_scoring

    scoring = search.scoring
    if scoring is None or isinstance(scoring, (dict, list, tuple, set)):
        return None if scoring is not None else False
    model = getattr(search, "best_estimator_", None)
    X, y = frame.drop(columns=["is_fraud"]), frame["is_fraud"].to_numpy()
    try:
        if model is None:  # refit=False: any fitted copy will do to see what the scorer computes
            model = clone(search.estimator).fit(X.iloc[: len(X) // 2], y[: len(y) // 2])
        names = getattr(model, "feature_names_in_", None)
        X = X[list(names)] if names is not None else X
        scorer = check_scoring(model, scoring=scoring)
        via_scorer = float(scorer(model, X, y))
        direct = float(average_precision_score(y, _positive_scores(model, X)))
    except Exception:  # noqa: BLE001 - the other checks say what is wrong with the search
        return None
    return bool(np.isclose(via_scorer, direct, rtol=1e-9, atol=1e-12))


def search_probe(search: Any, frame: Any) -> dict:
    from sklearn.exceptions import NotFittedError

    if not hasattr(search, "cv_results_"):
        if hasattr(search, "param_grid") or hasattr(search, "param_distributions"):
            raise NotFittedError("the search has not been fitted")
        return {"is_search": False, "class": type(search).__name__}
    results = search.cv_results_
    scoring = search.scoring if isinstance(search.scoring, str) or search.scoring is None else repr(search.scoring)
    means = np.asarray(results.get("mean_test_score", []), dtype=float)
    best = getattr(search, "best_estimator_", None)
    return {
        "is_search": True,
        "class": type(search).__name__,
        "n_candidates": len(results["params"]),
        "n_splits": int(getattr(search, "n_splits_", 0)),
        "scoring": scoring,
        "scoring_is_average_precision": _scorer_computes_average_precision(search, frame),
        "best_score": float(search.best_score_) if hasattr(search, "best_score_") else None,
        "top_mean": float(np.nanmax(means)) if means.size and np.isfinite(means).any() else None,
        "refit": best is not None,
        "rows_seen": rows_seen(best) if best is not None else None,
    }


def search_model_probe(search: Any, frame: Any) -> dict:
    best = getattr(search, "best_estimator_", None)
    if best is None:
        if hasattr(search, "cv_results_"):
            return {"no_model": "refit"}  # a search run with refit=False: it kept no model
        if hasattr(search, "param_grid") or hasattr(search, "param_distributions"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("the search has not been fitted")
        best = search  # judged as a model; the other test explains what a search is
    facts = probe_model(best, frame)
    if hasattr(search, "cv_results_"):
        # The model a search keeps is the one its scoring picked: a pick by another metric is judged as such.
        facts["search_scoring"] = search.scoring if isinstance(search.scoring, str) or search.scoring is None \
            else repr(search.scoring)
        facts["scoring_is_average_precision"] = _scorer_computes_average_precision(search, frame)
    return facts


# --------------------------------------------------------------------------
# train.log_to_mlflow and train.best_tracked_run: a real MLflow store
# --------------------------------------------------------------------------
def call_in_thread(fn: Any, *args: Any) -> Any:
    """Call ``fn`` in a thread of its own and return what it returns (or raise what it raised).

    MLflow keeps the active run per thread: the learner's own run left open
    in the notebook cannot leak into the check's calls, and a run the answer
    forgets to end stays open (and visible in the store) without breaking
    the next call.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


def _returned_id(value: Any) -> Any:
    """A run id as the answer gave it; a Run or ActiveRun object counts as its id."""
    info = getattr(value, "info", None)
    if isinstance(getattr(info, "run_id", None), str):
        return info.run_id
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return {"returned_type": type(value).__name__}


def small_model(spec: dict) -> tuple[Any, np.ndarray]:
    """A small fitted classifier and the rows it is compared on, from plain data."""
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    X, y = make_classification(n_samples=80, n_features=4, random_state=int(spec["seed"]))
    if spec.get("kind") == "tree":
        return DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y), X
    return LogisticRegression(C=float(spec["C"])).fit(X, y), X


def _run_facts(store: Any, run: Any, originals: dict) -> dict:
    import mlflow

    client = store.client()
    run_id = run.info.run_id
    tags = {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")}
    models = []
    for logged in client.search_logged_models(experiment_ids=[run.info.experiment_id]):
        if logged.source_run_id != run_id:
            continue
        entry: dict = {"name": logged.name}
        original = originals.get(run_id)
        try:
            loaded = mlflow.sklearn.load_model(f"models:/{logged.model_id}")
            if original is not None:
                model, X = original
                entry["same_predictions"] = bool(np.allclose(loaded.predict_proba(X), model.predict_proba(X)))
        except Exception as exc:  # noqa: BLE001 - said in the verdict
            entry["error"] = f"{type(exc).__name__}: {str(exc)[:160]}"
        models.append(entry)
    return {
        "id": run_id,
        "status": run.info.status,
        "name": run.data.tags.get("mlflow.runName"),
        "params": dict(run.data.params),
        "metrics": {k: float(v) for k, v in run.data.metrics.items()},
        "tags": tags,
        "models": models,
        "artifacts": sorted(f.path for f in client.list_artifacts(run_id)),
    }


def logging_probe(fn: Any, case: dict) -> dict:
    """Log each of the case's runs through the learner's function into a fresh store, then read the store.

    Each call's runs are told apart by what the store holds before and after
    it, so a function that logs nothing, or two runs, is seen as such.
    """
    from mlcourse.train import tracking

    store = tracking.local_store()
    calls = []
    try:
        with store.activate(case["experiment"]) as experiment_id:
            client = store.client()
            for run in case["runs"]:
                model, X = small_model(run["model"])
                before = {r.info.run_id for r in client.search_runs([experiment_id])}
                returned = call_in_thread(fn, model, dict(run["params"]), dict(run["metrics"]),
                                          run["data_fingerprint"], run["run_name"])
                new = [r for r in client.search_runs([experiment_id]) if r.info.run_id not in before]
                originals = {r.info.run_id: (model, X) for r in new}
                calls.append({"returned": _returned_id(returned), "runs": [_run_facts(store, r, originals) for r in new]})
    finally:
        store.close()
    return {"calls": calls}


def query_probe(fn: Any, case: dict) -> dict:
    """Fill a fresh store with the case's runs, in order, and ask the learner's function for the best one."""
    from mlcourse.train import tracking

    store = tracking.local_store()
    try:
        return _query_in(store, fn, case)
    finally:
        store.close()


def _query_in(store: Any, fn: Any, case: dict) -> dict:
    from mlflow.entities import Metric, Param

    ids = []
    with store.activate():
        client = store.client()
        start = 1_780_000_000_000  # milliseconds: run i starts i minutes after the first
        for experiment in case["experiments"]:
            experiment_id = store.experiment(experiment["name"])
            for run in experiment["runs"]:
                i = len(ids)
                made = client.create_run(experiment_id, start_time=start + 60_000 * i, tags=dict(run["tags"]),
                                         run_name=run["name"])
                client.log_batch(
                    made.info.run_id,
                    metrics=[Metric(k, float("nan") if v is None else float(v), start + 60_000 * i, 0)
                             for k, v in run["metrics"].items()],
                    params=[Param(k, str(v)) for k, v in run["params"].items()],
                )
                client.set_terminated(made.info.run_id, end_time=start + 60_000 * i + 30_000)
                ids.append(made.info.run_id)
        returned = call_in_thread(fn, case["experiment"], case["metric"], case["data_fingerprint"], case["greater"])
    return {"returned": _returned_id(returned), "ids": ids}


# --------------------------------------------------------------------------
# The lesson's facts, and the verdicts public tests run: each needs no answer
# key, or takes the expected value (the reference's, computed in checks.py or
# stored by the graded edition) as its third argument.
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
#: The lesson's split: 14 000 of the 20 000 rows train, the rest are the test set.
TRAIN_ROWS = 14_000
ALL_ROWS = 20_000


def float_array(plain: Any) -> np.ndarray:
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


def why_form_verdict(got: Any, _: Any = None) -> str | None:
    """The form of a multiple-choice answer: one of the letters offered (never which one is right)."""
    if got in ("a", "b", "c", "d"):
        return None
    return f"expected one letter as a string (\"a\", \"b\", \"c\" or \"d\"), got {kind(got)} ({show(got)})"


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


def _rows_beyond_training(got: dict) -> str | None:
    """The rows a fit saw, in words, when they are more than the training split holds; else None."""
    seen = got.get("rows_seen")
    if type(seen) is int and seen > TRAIN_ROWS:
        return "all 20 000 rows, the test set included" if seen == ALL_ROWS else f"{seen:,} rows"
    return None


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
    share = _rows_beyond_training(got)
    if share:
        return (
            f"{what} was fitted on {share}, but the training split has {TRAIN_ROWS:,}: fit it on X_train, y_train "
            "only. A model that has seen the test rows makes its test score a memory test, not an estimate"
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
    scores = float_array(got.get("scores"))
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


@functools.lru_cache(maxsize=4)
def transactions(seed: int, n: int) -> pd.DataFrame:
    """``n`` transactions of :func:`mlcourse.data.make_transactions` with ``seed``, made once (read-only)."""
    from mlcourse.data.generate import make_transactions

    frame = make_transactions(n, seed=seed)
    frame.attrs = {}  # only the table is handed on
    return frame


def _sample(spec: dict) -> pd.DataFrame:
    return transactions(int(spec["seed"]), int(spec["rows"]))


def probe_model_on_sample(model: Any, spec: dict) -> dict:
    """:func:`probe_model` on the transactions ``spec`` names (a seed and a size: small plain inputs)."""
    return probe_model(model, _sample(spec).copy())


def model_verdict_on_sample(got: Any, spec: dict) -> str | None:
    """:func:`model_verdict` on the transactions ``spec`` names."""
    return model_verdict(got, _sample(spec))


def search_probe_on_sample(search: Any, spec: dict) -> dict:
    """:func:`search_probe` on the transactions ``spec`` names."""
    return search_probe(search, _sample(spec).copy())


def cv_structure_probe_on_sample(fn: Any, spec: dict) -> dict:
    """:func:`cv_structure_probe` on the features and labels of the transactions ``spec`` names."""
    frame = _sample(spec)
    return cv_structure_probe(fn, (frame[FEATURES].copy(), frame[LABEL].copy()))


# train.best_threshold
def total_cost(y: np.ndarray, scores: np.ndarray, threshold: float, cost_fn: float, cost_fp: float) -> float:
    """Cost of flagging every transaction with ``score >= threshold``."""
    y = np.asarray(y, dtype=int)
    flagged = np.asarray(scores, dtype=float) >= threshold
    fn = int(np.sum((y == 1) & ~flagged))
    fp = int(np.sum((y == 0) & flagged))
    return float(cost_fn * fn + cost_fp * fp)


def threshold_verdict(got: Any, a: tuple, expected: dict) -> str | None:
    """Judge a threshold by its cost against ``expected``: the cheapest threshold, and those of two typical mistakes."""
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
    best_t = float(expected["best"])
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
    elif math.isclose(got, expected["costs_swapped"]):
        cause = "It looks like cost_fn and cost_fp are swapped: a missed fraud (a false negative) costs cost_fn."
    elif math.isclose(got, expected["best_f1"]):
        cause = (
            "That threshold maximises F1. F1 weighs a missed fraud and a false alarm alike; here a miss costs "
            f"{cost_fn / cost_fp:g}x more, so minimise the cost itself."
        )
    elif len(lower) and math.isclose(got, float(lower[-1])):
        cause = "Flag a transaction when score >= threshold (not >): with '>' your search lands one score too low."
    return f"{message}. {cause}".rstrip() + f" [{where}]"


# train.cv_estimate and train.tune_within_budget
CV_SPLITS = 5
CV_SEED = 0
CV_TOLERANCE = 0.03


_PREPROCESSORS = ("ColumnTransformer", "OneHotEncoder", "StandardScaler", "MinMaxScaler", "RobustScaler",
                  "SimpleImputer", "OrdinalEncoder", "FunctionTransformer", "FeatureUnion", "TargetEncoder")


def cv_structure_verdict(got: Any, a: Any = None) -> str | None:
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
    if not got.get("shuffle"):
        return (
            "the folds are not shuffled: without shuffle=True, StratifiedKFold deals out the rows in the order they "
            "are stored, so each fold is a block of neighbouring rows (here, of neighbouring days), and the estimate "
            "depends on how the table happens to be sorted. The task fixes shuffle=True, random_state=0."
        )
    if got.get("random_state") is None:
        return (
            "the folds are shuffled without a random_state, so every run draws different folds and different "
            "scores: set random_state=0."
        )
    if got.get("random_state") != CV_SEED:
        return (
            f"the folds are shuffled with random_state={got.get('random_state')}; the task fixes random_state={CV_SEED}, "
            "so that your folds, and your scores, are the reference's."
        )
    return None


BUDGET = 12  # candidates x folds, the final refit not counted
TUNE_SCORING = "average_precision"


def search_verdict(got: Any, frame: Any = None) -> str | None:
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
    scoring = got.get("scoring")
    if scoring != TUNE_SCORING and got.get("scoring_is_average_precision") is not True:
        if scoring is None:
            return (
                "the search chose its winner by the estimator's default, accuracy. On 3 % fraud, accuracy prefers "
                f"models that flag nothing: set scoring='{TUNE_SCORING}'."
            )
        if isinstance(scoring, str) and "average_precision" in scoring and got.get("scoring_is_average_precision") is False:
            return (
                f"your scorer {scoring} does not compute average precision on the model's scores: a make_scorer without "
                "response_method='predict_proba' scores predict()'s 0/1 labels. Use "
                f"scoring='{TUNE_SCORING}' (or get_scorer('{TUNE_SCORING}'))."
            )
        return (
            f"the search chose its winner by {show(scoring)}, which is not average precision. On 3 % fraud, accuracy "
            f"prefers models that flag nothing: set scoring='{TUNE_SCORING}'."
        )
    share = _rows_beyond_training(got)
    if share:
        return (
            f"your search was fitted on {share}: search on X_tune, y_tune (a sample of the training rows). Choosing "
            "hyperparameters with test rows in the folds makes the final test score optimistic."
        )
    if not got.get("refit"):
        return (
            "the search ran with refit=False, so it kept no model (there is no search.best_estimator_): keep refit=True "
            "(the default), so the winner is refitted on all the tuning rows."
        )
    return None


# train.log_to_mlflow and train.best_tracked_run
def _as_logged(value: Any) -> str:
    """A parameter value as MLflow stores it: its ``str``."""
    return str(value)


def _run_problem(call: dict, run: dict, i: int) -> str | None:
    """What is wrong with one call's logging (None when nothing is), in the order a learner would fix it."""
    runs = call.get("runs") if isinstance(call.get("runs"), list) else []
    where = f"call {i + 1} (run_name={run['run_name']!r})"
    returned = call.get("returned")
    if not runs:
        return (
            f"{where} logged no run in the active experiment. Start one with mlflow.start_run(run_name=run_name) and "
            "log inside it; do not set a tracking URI or an experiment inside the function (the lesson sets them once, "
            "and the check gives your function a store of its own)"
        )
    if len(runs) > 1:
        return f"{where} made {len(runs)} runs: log the parameters, metrics, tag and model of one candidate in one run"
    got = runs[0]
    if got.get("status") == "RUNNING":
        return (
            f"{where}: the run is still RUNNING after your function returned. End it: `with mlflow.start_run(...):` "
            "ends it when the block ends (or call mlflow.end_run())"
        )
    if returned is None:
        return f"{where} returned None: did you forget a `return` statement? Return the run's id (run.info.run_id)"
    if isinstance(returned, dict):
        return f"{where} returned a {returned.get('returned_type')}: return the run's id, a string (run.info.run_id)"
    if returned != got.get("id"):
        return f"{where} returned {show(returned)}, but the run it logged has the id {got.get('id')!r}: return run.info.run_id"
    if got.get("name") != run["run_name"]:
        return f"{where}: the run is named {got.get('name')!r}; name it with mlflow.start_run(run_name=run_name)"
    params = {k: v for k, v in (got.get("params") or {}).items() if k != "data_fingerprint"}
    metrics = got.get("metrics") or {}
    as_params = [m for m in run["metrics"] if m in params]
    if as_params:
        return (
            f"{where}: the metrics {as_params} were logged as parameters. Parameters are the settings you chose; "
            "metrics are numbers you sort and compare runs by, and only metrics can be (search_runs' order_by "
            "'metrics.pr_auc DESC'): use mlflow.log_metrics(metrics)"
        )
    expected = {k: _as_logged(v) for k, v in run["params"].items()}
    missing = [k for k in expected if k not in params]
    if missing:
        extra = [k for k in params if k not in expected]
        text = f"{where}: {len(missing)} of the {len(expected)} parameters are missing, first {missing[0]!r}"
        if extra:
            text += f" (the run has parameters {extra} instead)"
        return text + ": log the dict you were given, key by key: mlflow.log_params(params)"
    wrong = [k for k in expected if params[k] != expected[k]]
    if wrong:
        k = wrong[0]
        return f"{where}: parameter {k!r} is logged as {params[k]!r}, but the value given was {run['params'][k]!r}"
    missing = [k for k in run["metrics"] if k not in metrics]
    if missing:
        return (f"{where}: {len(missing)} of the {len(run['metrics'])} metrics are missing, first {missing[0]!r}: "
                "mlflow.log_metrics(metrics)")
    wrong = [k for k, v in run["metrics"].items() if not math.isclose(float(metrics[k]), float(v), rel_tol=1e-9)]
    if wrong:
        k = wrong[0]
        return f"{where}: metric {k!r} is logged as {metrics[k]!r}, but the value given was {run['metrics'][k]!r}"
    tags = got.get("tags") or {}
    fingerprint = run["data_fingerprint"]
    if fingerprint not in (tags.get("data_fingerprint"), (got.get("params") or {}).get("data_fingerprint")):
        elsewhere = [k for k, v in {**tags, **params}.items() if v == fingerprint]
        if elsewhere:
            return (
                f"{where}: the data fingerprint is logged as {elsewhere[0]!r}; name it 'data_fingerprint' "
                "(mlflow.set_tag('data_fingerprint', data_fingerprint)), the name runs are filtered by"
            )
        return (
            f"{where}: the run does not record which data it learned from: mlflow.set_tag('data_fingerprint', "
            "data_fingerprint). Without it, runs on different data get compared as if they were alike"
        )
    models = got.get("models") or []
    if not models:
        files = got.get("artifacts") or []
        if files:
            return (
                f"{where}: the run holds the files {files} but no MLflow model. Log it with "
                "mlflow.sklearn.log_model(model, name='model'): an MLflow model records its flavor, signature and "
                "requirements, so it can be loaded and registered by its URI"
            )
        return f"{where}: the run has no model: mlflow.sklearn.log_model(model, name='model')"
    model = models[0]
    if model.get("error"):
        return f"{where}: the logged model could not be loaded back ({model['error']})"
    if model.get("name") != "model":
        return f"{where}: the model is logged as {model.get('name')!r}; the task (and the next cells) call it 'model': name='model'"
    if model.get("same_predictions") is not True:
        return f"{where}: the logged model does not predict like the model your function was given: log `model` itself"
    return None


def logging_verdict(got: Any, case: dict) -> str | None:
    if not isinstance(got, dict) or not isinstance(got.get("calls"), list) or len(got["calls"]) != len(case["runs"]):
        return "the check could not read what your function logged"
    for i, (one, run) in enumerate(zip(got["calls"], case["runs"])):
        problem = _run_problem(one if isinstance(one, dict) else {}, run, i)
        if problem:
            return problem
    return None


def flat_runs(case: dict) -> list[tuple[str, dict]]:
    return [(e["name"], r) for e in case["experiments"] for r in e["runs"]]


def query_verdict(got: Any, case: dict, best: list) -> str | None:
    """Judge the run id returned against ``best``, the positions of the best runs (any of them is right)."""
    metric, greater = case["metric"], case["greater"]
    where = (f" [experiment {case['experiment']!r}, metric {metric!r}, data_fingerprint "
             f"{case['data_fingerprint']!r}, greater_is_better={greater}]")
    if not isinstance(got, dict) or not isinstance(got.get("ids"), list):
        return "the check could not read your answer"
    returned, ids = got.get("returned"), got["ids"]
    if returned is None:
        return "your function returned None: did you forget a `return` statement?" + where
    if isinstance(returned, dict):
        return f"expected the run id (a string, the 'run_id' column), got a {returned.get('returned_type')}" + where
    if not isinstance(returned, str):
        return f"expected the run id (a string, the 'run_id' column), got {kind(returned)} ({show(returned)})" + where
    if returned not in ids:
        return f"{returned!r} is not the id of a run in the store: return the run_id column's value" + where
    i = ids.index(returned)
    if i in best:
        return None
    runs = flat_runs(case)
    exp, run = runs[i]
    value = run["metrics"].get(metric)
    shown = run["name"] + (f" ({metric}={value})" if value is not None else "")
    if exp != case["experiment"]:
        return (f"you chose run {shown} of experiment {exp!r}: search only the experiment you are given, "
                "mlflow.search_runs(experiment_names=[experiment_name])") + where
    if run["tags"].get("data_fingerprint") != case["data_fingerprint"]:
        return (f"you chose run {shown}, which learned from other data (its data_fingerprint is "
                f"{run['tags']['data_fingerprint']!r}): scores on other data are not comparable. Keep only the runs "
                "whose tag matches: filter_string=\"tags.data_fingerprint = '...'\"") + where
    if value is None:
        text = "has no value for it" if metric not in run["metrics"] else "logged it as NaN (a run that diverged)"
        return f"you chose run {run['name']}, which {text}: skip runs without a number for {metric!r}" + where
    best_value = runs[best[0]][1]["metrics"][metric]
    if (value > best_value) != greater:
        direction = "smallest" if not greater else "largest"
        return (f"you chose run {shown}; with greater_is_better={greater} the best run has the {direction} "
                f"{metric!r}, and another run has {best_value}") + where
    return f"you chose run {shown}, but another run on the same data has {metric}={best_value}" + where
