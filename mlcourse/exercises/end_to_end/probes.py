"""The probes of lesson 05 (End to end): what the grading child runs.

Each builds what the learner's function is given (a ``make_classification``
table, a pair of batches, a list of monitoring states) and reports plain facts
about what it returned: the pipeline's figures and the fitted forest's
settings, the names of the drifted features, each retraining plan. Nothing
here knows an answer; the references and verdicts are in
:mod:`mlcourse.exercises.end_to_end.checks`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

TARGET = "target"

#: The keys ``run_pipeline`` returns, stage by stage.
PIPELINE_KEYS = ["n_train", "n_test", "model", "accuracy", "first_prediction", "train_mean", "production_mean",
                 "drift_alert"]
_FIGURES = [k for k in PIPELINE_KEYS if k != "model"]


def classification_table(n_samples: int, n_features: int, random_state: int) -> pd.DataFrame:
    """A ``make_classification`` table laid out like the outline's: ``feat_0`` ... and ``target``.

    With :data:`OUTLINE` it equals :func:`mlcourse.data.load_outline_dataset`.
    """
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=n_samples, n_features=n_features, random_state=random_state)
    df = pd.DataFrame(X, columns=[f"feat_{i}" for i in range(n_features)])
    df[TARGET] = y.astype("int64")
    return df


def _final_step(model: Any) -> Any:
    steps = getattr(model, "steps", None)
    if isinstance(steps, list) and steps:
        return steps[-1][1]
    return model


def forest_facts(model: Any) -> dict:
    """Plain facts about a fitted forest: its class, settings, training rows and input width."""
    final = _final_step(model)
    facts: dict = {"class": type(final).__name__}
    params = final.get_params() if hasattr(final, "get_params") else {}
    for key in ("n_estimators", "max_depth"):
        value = params.get(key)
        ok = value is None or (isinstance(value, (int, np.integer)) and not isinstance(value, bool))
        facts[key] = value if ok else repr(value)[:60]
    seed = params.get("random_state", "absent")
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        facts["random_state"] = seed
    else:
        facts["random_state"] = repr(seed)[:60]
    width = getattr(model, "n_features_in_", None)
    facts["n_features"] = int(width) if isinstance(width, (int, np.integer)) else None
    trees = getattr(final, "estimators_", None)
    facts["fitted"] = bool(trees)
    if trees:
        tree = getattr(trees[0], "tree_", None)
        if tree is not None:
            bootstrap = bool(getattr(final, "bootstrap", False)) and getattr(final, "max_samples", None) is None
            # With bootstrap each tree draws n rows with replacement: the weights at the root add up to n.
            rows = tree.weighted_n_node_samples[0] if bootstrap else tree.n_node_samples[0]
            facts["n_rows"] = int(round(float(rows)))
    return facts


def pipeline_probe(fn: Any, spec: dict) -> Any:
    """Build the table, run the learner's pipeline on it, keep the figures and facts about the model."""
    df = classification_table(spec["n_samples"], spec["n_features"], spec["random_state"])
    result = fn(df, production_rows=spec["production_rows"], threshold=spec["threshold"])
    if not isinstance(result, dict):
        return {"not_a_dict": result}
    figures = {k: result[k] for k in _FIGURES if k in result}
    out: dict = {"keys": [str(k) for k in result], "figures": figures}
    if "model" in result:
        model = result["model"]
        out["model"] = None if model is None else forest_facts(model)
    return out


def drift_probe(fn: Any, case: dict) -> Any:
    result = fn(case["reference"], case["current"], case["alpha"])
    if isinstance(result, (list, tuple, set, frozenset, np.ndarray, pd.Index, pd.Series)):
        return {"names": [str(v) for v in list(result)], "type": type(result).__name__}
    return {"other": result}


def plan_probe(fn: Any, cases: list) -> list:
    out = []
    for case in cases:
        result = fn(dict(case["state"]), **case["params"])
        if isinstance(result, dict):
            window = result.get("window")
            if isinstance(window, (tuple, np.ndarray)):
                window = list(window)
            out.append({"retrain": result.get("retrain"), "window": window, "keys": [str(k) for k in result]})
        else:
            out.append({"other": result})
    return out
