"""The probes of lesson 02 (Train): what the grading child runs.

Models are judged by behaviour: :func:`probe_model` scores the learner's
fitted model on fresh transactions and returns plain facts; the other probes
call the learner's function and report what it returned (and, for a
cross-validation, what its own pipeline and splitter give). Nothing here knows
an answer; the references and verdicts are in
:mod:`mlcourse.exercises.train.checks`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

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


def cv_structure_probe(fn: Any, a: tuple) -> dict:
    X, y = a
    pipeline, cv, _ = _unpack_cv(fn(X, y))
    steps = getattr(pipeline, "steps", None)
    return {
        "pipeline": type(pipeline).__name__,
        "steps": [type(step).__name__ for _, step in steps] if isinstance(steps, list) else None,
        "cv": type(cv).__name__,
        "n_splits": int(cv.get_n_splits()) if hasattr(cv, "get_n_splits") else None,
        "shuffle": bool(getattr(cv, "shuffle", False)),
        "random_state": getattr(cv, "random_state", None) if isinstance(getattr(cv, "random_state", None), int) else None,
    }


def cv_scores_probe(fn: Any, a: tuple) -> dict:
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    X, y = a
    pipeline, cv, scores = _unpack_cv(fn(X.copy(), y.copy()))
    out: dict = {"scores": np.asarray(scores, dtype=float).ravel()}
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
    return probe_model(best, frame)


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
    with store.activate(case["experiment"]) as experiment_id:
        client = store.client()
        for run in case["runs"]:
            model, X = small_model(run["model"])
            before = {r.info.run_id for r in client.search_runs([experiment_id])}
            returned = call_in_thread(fn, model, dict(run["params"]), dict(run["metrics"]), run["data_fingerprint"],
                                      run["run_name"])
            new = [r for r in client.search_runs([experiment_id]) if r.info.run_id not in before]
            originals = {r.info.run_id: (model, X) for r in new}
            calls.append({"returned": _returned_id(returned), "runs": [_run_facts(store, r, originals) for r in new]})
    return {"calls": calls}


def query_probe(fn: Any, case: dict) -> dict:
    """Fill a fresh store with the case's runs, in order, and ask the learner's function for the best one."""
    from mlflow.entities import Metric, Param

    from mlcourse.train import tracking

    store = tracking.local_store()
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
