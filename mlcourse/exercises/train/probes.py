"""The probes of lesson 02 (Train): what the grading child runs.

Models are judged by behaviour: :func:`probe_model` scores the learner's
fitted model on fresh transactions and returns plain facts; the other probes
call the learner's function and report what it returned (and, for a
cross-validation, what its own pipeline and splitter give). Nothing here knows
an answer; the references and verdicts are in
:mod:`mlcourse.exercises.train.checks`.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
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


def search_probe(search: Any, frame: Any) -> dict:
    from sklearn.exceptions import NotFittedError

    if not hasattr(search, "cv_results_"):
        if hasattr(search, "param_grid") or hasattr(search, "param_distributions"):
            raise NotFittedError("the search has not been fitted")
        return {"is_search": False, "class": type(search).__name__}
    results = search.cv_results_
    scoring = search.scoring if isinstance(search.scoring, str) or search.scoring is None else repr(search.scoring)
    means = np.asarray(results.get("mean_test_score", []), dtype=float)
    return {
        "is_search": True,
        "class": type(search).__name__,
        "n_candidates": len(results["params"]),
        "n_splits": int(getattr(search, "n_splits_", 0)),
        "scoring": scoring,
        "best_score": float(search.best_score_) if hasattr(search, "best_score_") else None,
        "top_mean": float(np.nanmax(means)) if means.size and np.isfinite(means).any() else None,
        "refit": hasattr(search, "best_estimator_"),
    }


def search_model_probe(search: Any, frame: Any) -> dict:
    best = getattr(search, "best_estimator_", None)
    if best is None:
        if not hasattr(search, "cv_results_") and hasattr(search, "predict"):
            best = search  # judged as a model; the other test explains what a search is
        else:
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("the search has no best_estimator_")
    return probe_model(best, frame)


# --------------------------------------------------------------------------
# train.best_from_log
# --------------------------------------------------------------------------
def write_log(directory: str, lines: Sequence[str]) -> str:
    path = os.path.join(directory, "runs.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + ("\n" if lines and lines[-1].endswith("}") else ""))
    return path


def log_probe(fn: Any, a: tuple) -> Any:
    """Write the log lines to a private file and ask the learner's function for the best run."""
    lines, metric, greater = a
    with tempfile.TemporaryDirectory() as d:
        return fn(write_log(d, lines), metric, greater)
