"""The probes of lesson 05 (End to end): what the grading child runs.

Each builds what the learner's function is given (a ``make_classification``
table, a pair of batches, a list of monitoring states, an MLflow registry of
its own) and reports plain facts about what it returned: the pipeline's
figures and the fitted forest's settings, the names of the drifted features,
each retraining plan, the registry after each promotion. Nothing
here knows an answer; the references and verdicts are in
:mod:`mlcourse.exercises.end_to_end.checks`.
"""
from __future__ import annotations

import contextlib
import io
import math
import shutil
from typing import Any

import numpy as np
import pandas as pd

from mlcourse.exercises.compare import Compare, show
from mlcourse.exercises.plain import kind

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


def _one_pipeline(fn: Any, spec: dict) -> dict:
    df = classification_table(spec["n_samples"], spec["n_features"], spec["random_state"])
    before = df.copy()
    result = fn(df, production_rows=spec["production_rows"], threshold=spec["threshold"])
    # The lesson's later cells use its df: a pipeline must leave the table it is given as it was.
    changed = not (list(df.columns) == list(before.columns) and df.equals(before))
    if not isinstance(result, dict):
        return {"not_a_dict": result, "changed_input": changed}
    figures = {k: result[k] for k in _FIGURES if k in result}
    out: dict = {"keys": [str(k) for k in result], "figures": figures, "changed_input": changed}
    if "model" in result:
        model = result["model"]
        out["model"] = None if model is None else forest_facts(model)
    return out


def pipeline_probe(fn: Any, specs: list) -> list:
    """Build each table, run the learner's pipeline on it, keep the figures and facts about the model."""
    return [_one_pipeline(fn, spec) for spec in specs]


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


# --------------------------------------------------------------------------
# The public verdicts: each judges against the expected value it is given
# (the reference's, computed in checks.py or stored by the graded edition),
# so the graded edition can run the public tests without the answer key.
# --------------------------------------------------------------------------
#: The outline's dataset: ``make_classification(n_samples=2000, n_features=20, random_state=42)``.
OUTLINE = {"n_samples": 2000, "n_features": 20, "random_state": 42}
FOREST = {"n_estimators": 100, "max_depth": 10, "random_state": 42}


def _describe_table(spec: dict) -> str:
    if {k: spec.get(k) for k in OUTLINE} == OUTLINE:
        return "the outline's table"
    return (
        f"a fresh make_classification table (n_samples={spec['n_samples']}, n_features={spec['n_features']}, "
        f"random_state={spec['random_state']})"
    )


def _call_text(spec: dict) -> str:
    return f"run_pipeline(df, production_rows={spec['production_rows']}, threshold={spec['threshold']})"


def _close(a: Any, b: Any) -> bool:
    return type(a) in (int, float) and type(b) in (int, float) and math.isclose(float(a), float(b), rel_tol=1e-9,
                                                                                    abs_tol=1e-12)


def _model_problem(facts: Any, ref: dict, figures: dict, n_train: int) -> str | None:
    if facts is None:
        return "result['model'] is None: return the fitted forest under 'model'"
    if not isinstance(facts, dict):
        return "the check could not read result['model']"
    if facts.get("class") != "RandomForestClassifier":
        return f"result['model'] should be the fitted RandomForestClassifier, got a {facts.get('class')}"
    if not facts.get("fitted"):
        return "result['model'] is not fitted: call .fit(X_train, y_train) on it"
    width = facts.get("n_features")
    if width == ref["n_features"] + 1:
        acc = figures.get("accuracy")
        shown = f" (hence an accuracy of {acc:.4f})" if type(acc) in (int, float) else ""
        return (
            f"the forest was trained on {width} columns, the target among them{shown}: the features are every "
            "column except 'target'"
        )
    if width is not None and width != ref["n_features"]:
        return f"the forest was trained on {width} columns; the table has {ref['n_features']} features"
    wrong = [f"{k}={facts.get(k)}" for k in ("n_estimators", "max_depth") if facts.get(k) != FOREST[k]]
    if wrong:
        return (
            f"the forest has {', '.join(wrong)}; the outline's is RandomForestClassifier(n_estimators=100, "
            "max_depth=10, random_state=42)"
        )
    if facts.get("random_state") is None:
        return (
            "the forest has no random_state, so every run grows different trees and the figures change from run to "
            "run (by chance one run in three lands on 0.935): a pipeline must be reproducible, set random_state=42"
        )
    if facts.get("random_state") != FOREST["random_state"]:
        return f"the forest has random_state={facts.get('random_state')!r}; the outline's uses random_state=42"
    rows = facts.get("n_rows")
    if rows is not None and rows != n_train:
        total = n_train + ref["figures"]["n_test"]
        if rows == total:
            return (
                f"the forest was trained on all {total} rows, test rows included, so its accuracy is measured on "
                "rows it has already seen: fit it on the training split only"
            )
        return f"the forest was trained on {rows} rows, but the training split has {n_train}: fit it on X_train, y_train"
    return None


def _not_returned(value: Any, function: str, forgot: str, wanted: str) -> str:
    """What to say when ``function`` returned ``value`` instead of ``wanted``."""
    if value is None:
        return f"{function} returned None: did you forget {forgot}?"
    return f"{function} must return {wanted}, got {kind(value)} ({show(value)})"


def pipeline_verdict(got: Any, spec: dict, ref: dict) -> str | None:
    """Judge ``run_pipeline``'s figures on the table ``spec`` against ``ref`` (the reference's figures and near misses)."""
    where = f" [{_describe_table(spec)}; {_call_text(spec)}]"
    if not isinstance(got, dict):
        return "the check could not run your function" + where
    if got.get("changed_input"):
        return (
            "run_pipeline changed the table it was given (df.pop, an in-place drop or a new column): the lesson's "
            "later cells use df as it was. Leave df alone: df.drop(columns='target') returns a new frame" + where
        )
    if "not_a_dict" in got:
        return _not_returned(got["not_a_dict"], "run_pipeline", "`return {...}`", "a dict of stage outputs") + where
    keys = got.get("keys", [])
    missing = [k for k in PIPELINE_KEYS if k not in keys]
    if missing:
        return f"the returned dict lacks the keys {missing} (it needs {PIPELINE_KEYS})" + where
    exp = ref["figures"]
    figures = got.get("figures", {})
    n_train, n_test = figures.get("n_train"), figures.get("n_test")
    if not (_close(n_train, exp["n_train"]) and _close(n_test, exp["n_test"])):
        return (
            f"the split has {show(n_train)} training and {show(n_test)} test rows; expected {exp['n_train']} and "
            f"{exp['n_test']}: train_test_split(..., test_size=0.2, random_state=42)" + where
        )
    problem = _model_problem(got.get("model"), ref, figures, exp["n_train"])
    if problem:
        return problem + where
    for key, label in (("train_mean", "train_mean"), ("production_mean", "production_mean")):
        value = figures.get(key)
        if type(value) not in (int, float):
            return f"{label} should be a number, got {kind(value)} ({show(value)})" + where
        if not math.isclose(value, exp[key], rel_tol=1e-6, abs_tol=1e-9):
            cause = next((name for name, v in ref["other_means"].items()
                          if name.startswith(key) and math.isclose(value, v, rel_tol=1e-6, abs_tol=1e-9)), None)
            text = f"{label} is {value:.6f}, expected {exp[key]:.6f}"
            if cause == "train_mean with the target" or cause == "production_mean with the target":
                text += ": the mean includes the 0/1 target column; average the features only"
            elif cause == "train_mean over every row":
                text += ": that is the mean over every row; the reference is the training split only"
            elif cause == "production_mean over every test row":
                text += (f": that is the mean over all {exp['n_test']} test rows; production is the first "
                         "`production_rows` of them (X_test[:production_rows])")
            else:
                text += (": one mean over every value of the training features (X_train), and one over the first "
                         "`production_rows` test rows. If that is what you computed, the split put other rows in "
                         "each part: split with train_test_split(X, y, test_size=0.2, random_state=42), no stratify, "
                         "no reordering")
            return text + where
    alert = figures.get("drift_alert")
    if type(alert) is not bool:
        return f"drift_alert should be True or False, got {kind(alert)} ({show(alert)})" + where
    if alert is not exp["drift_alert"]:
        gap = abs(exp["train_mean"] - exp["production_mean"])
        return (
            f"drift_alert is {alert}, expected {exp['drift_alert']}: the means differ by {gap:.4f} and the alert is "
            f"raised when that difference is above threshold={spec['threshold']}" + where
        )
    acc = figures.get("accuracy")
    if type(acc) not in (int, float):
        return f"accuracy should be a number, got {kind(acc)} ({show(acc)})" + where
    if not math.isclose(acc, exp["accuracy"], abs_tol=1e-9):
        text = f"accuracy is {acc:.4f}, expected {exp['accuracy']:.4f}"
        if acc >= 0.99 and exp["accuracy"] < 0.99:
            text += ": that looks like accuracy on the rows the forest was trained on; score it on X_test, y_test"
        else:
            text += (": with the right forest and split sizes this means other rows landed in the test set; split "
                     "with train_test_split(X, y, test_size=0.2, random_state=42), no stratify, no reordering")
        return text + where
    first = figures.get("first_prediction")
    if type(first) not in (int, float) or not _close(first, exp["first_prediction"]):
        return (
            f"first_prediction is {show(first)}, expected {exp['first_prediction']}: the forest's prediction for the "
            "first row of the test split (X_test[:1])" + where
        )
    return None


def pipelines_verdict(got: Any, specs: list, refs: list) -> str | None:
    """The first problem over every table the test ran the pipeline on (``refs``: the reference's, table by table)."""
    if not isinstance(got, list) or len(got) != len(specs) or len(refs) != len(specs):
        return "the check could not run your function"
    for one, spec, ref in zip(got, specs, refs):
        problem = pipeline_verdict(one, spec, ref)
        if problem:
            return problem
    return None


def drift_verdict(got: Any, case: dict, expected: list) -> str | None:
    """Judge the flagged features of one batch against ``expected``, the reference's."""
    moved = case["up"] + case["down"] + case["spread"]
    where = (
        f" [{len(case['current'])} production rows, alpha={case['alpha']}; "
        + (f"{', '.join(case['up'])} up, {', '.join(case['down'])} down, {', '.join(case['spread'])} spread out]"
           if moved else "nothing changed]")
    )
    if not isinstance(got, dict):
        return "the check could not read your answer" + where
    if "other" in got:
        return _not_returned(got["other"], "drifted_features", "a `return` statement", "a list of feature names") + where
    names = got.get("names", [])
    if sorted(names) == sorted(expected):
        return None
    unknown = [n for n in names if n not in case["reference"].columns]
    if unknown:
        return f"{unknown} are not feature names; return the names of the columns that drifted" + where
    exp, mine = set(expected), set(names)
    missing, extra = sorted(exp - mine), sorted(mine - exp)
    text = f"expected {sorted(expected)}, got {sorted(names)}"
    everything = set(case["reference"].columns)
    if moved and not names:
        text += (
            ": nothing flagged, although features moved in opposite directions. One mean over all features (or a "
            "check over all columns at once) lets opposite shifts cancel out: test each column on its own"
        )
    elif mine == everything - exp:
        text += (": exactly the features that did NOT drift. A small p-value is the evidence of a change: flag a "
                 "feature when p <= alpha")
    elif case["spread"] and set(case["spread"]) <= set(missing) and set(case["up"] + case["down"]) <= mine:
        others = [m for m in missing if m not in case["spread"]]
        text += (
            f": {', '.join(case['spread'])} spread out around the same mean, so a per-feature mean check misses it. "
            "Compare whole distributions with a two-sample KS test (scipy.stats.ks_2samp)"
        )
        if others:
            text += f" (the test also flags {', '.join(others)}: at alpha, an unchanged feature is flagged now and then)"
    elif len(extra) >= len(everything - exp) / 2:
        text += (
            ": most unchanged features are flagged too. Compare the KS test's p-value with alpha (drift when "
            "p <= alpha), not its statistic"
        )
    else:
        parts = []
        if missing:
            parts.append(f"missed {missing}")
        if extra:
            parts.append(f"flagged {extra} in error")
        text += ": " + "; ".join(parts) + (". Run scipy.stats.ks_2samp(reference[col], current[col]) for every "
                                           "column and keep those with pvalue <= alpha")
    return text + where


POLICY = {"max_drop": 0.1, "max_drift_share": 0.5, "train_days": 14, "min_train_days": 7}


def _show_state(case: dict) -> str:
    s = case["state"]
    params = {**POLICY, **case["params"]}
    return (
        f"{case['what']}: today={s['today']}, label_delay_days={s['label_delay_days']}, performance="
        f"{s['performance']}, baseline_performance={s['baseline_performance']}, drift_share={s['drift_share']}, "
        f"drift_start_day={s['drift_start_day']}; max_drop={params['max_drop']}, max_drift_share="
        f"{params['max_drift_share']}, train_days={params['train_days']}, min_train_days={params['min_train_days']}"
    )


def _plan_mistake(got: dict, exp: dict, case: dict) -> str:
    s = case["state"]
    p = {**POLICY, **case["params"]}
    labelled = s["today"] - s["label_delay_days"]
    window = got.get("window")
    retrain = got.get("retrain")
    drop = None if s["performance"] is None else s["baseline_performance"] - s["performance"]
    if isinstance(window, list) and len(window) == 2 and window[1] == s["today"]:
        return (f"The window ends at today ({s['today']}), but the last {s['label_delay_days']} days have no labels "
                f"yet: labelled days end at today - label_delay_days = {labelled}.")
    if exp["retrain"] and retrain is False:
        if drop is not None and math.isclose(drop, p["max_drop"]):
            return "A drop equal to max_drop is a trigger: compare with >=."
        if s["drift_share"] is not None and s["drift_share"] == p["max_drift_share"]:
            return "A drift share equal to max_drift_share is a trigger: compare with >=."
        if s["drift_share"] is not None and s["drift_share"] >= p["max_drift_share"]:
            return ("A drift share at or above max_drift_share is a trigger on its own, even while the labels (and "
                    "so the performance) are still unknown.")
    known = s["drift_start_day"]
    if retrain is True and known is not None and isinstance(window, list) and len(window) == 2 \
            and type(window[0]) in (int, float) and window[0] < known and (exp["window"] is None
                                                                           or exp["window"][0] >= known):
        text = (f"The window starts on day {window[0]}, before the drift on day {known}: those days teach the old "
                "pattern. Start at max(labelled_until - train_days, drift_start_day)")
        if exp["window"] is None:
            text += (f", and wait (retrain False, window None) while fewer than min_train_days={p['min_train_days']} "
                     "labelled days follow the drift")
        return text + "."
    if not exp["retrain"] and retrain is True:
        if s["drift_start_day"] is not None and isinstance(window, list) and len(window) == 2:
            days = labelled - max(labelled - p["train_days"], s["drift_start_day"])
            if days < p["min_train_days"]:
                return (f"Only {max(days, 0)} labelled day(s) since the drift on day {s['drift_start_day']}, fewer than "
                        "min_train_days: a model trained now would learn the old pattern or too little of the new "
                        "one. Wait (retrain False, window None).")
        if drop is not None and drop < p["max_drop"] and (s["drift_share"] or 0) < p["max_drift_share"]:
            return "No trigger fired (the drop and the drift share are below their limits): keep the model."
    if exp["retrain"] and retrain is True and isinstance(window, list) and len(window) == 2:
        start = exp["window"][0]
        if s["drift_start_day"] is not None and window[0] == s["drift_start_day"] and start > window[0]:
            return (f"The drift on day {s['drift_start_day']} is older than the window: keep the newest train_days "
                    "labelled days only (start = max(...), not min(...)).")
        if window[1] - window[0] != exp["window"][1] - exp["window"][0]:
            return "The window holds the newest train_days labelled days (fewer when a drift started inside it)."
    return ""


def plan_verdict(got: Any, cases: list, expected: list) -> str | None:
    """Judge the plans for ``cases`` against ``expected``, the reference's plan for each."""
    if not isinstance(got, list) or len(got) != len(cases):
        return "the check could not read your answers"
    for g, case, exp in zip(got, cases, expected):
        where = f" [{_show_state(case)}]"
        if "other" in g:
            if g["other"] is None:
                return "plan_retraining returned None: did you forget a `return` statement?" + where
            return (f"plan_retraining must return a dict {{'retrain': ..., 'window': ...}}, got {kind(g['other'])} "
                    f"({show(g['other'])})") + where
        missing = [k for k in ("retrain", "window") if k not in g.get("keys", [])]
        if missing:
            return f"the returned dict lacks the key(s) {missing}" + where
        mine = {"retrain": g.get("retrain"), "window": g.get("window")}
        problem = Compare()(exp, mine)
        if problem is None:
            continue
        if type(mine["retrain"]) is not bool:
            return f"'retrain' should be True or False, got {kind(mine['retrain'])} ({show(mine['retrain'])})" + where
        hint = _plan_mistake(mine, exp, case)
        text = f"expected {exp}, got {mine}"
        return text + (f". {hint}" if hint else "") + where
    return None


# --------------------------------------------------------------------------
# end_to_end.promote: MLflow's model registry, read back from a store of its own
# --------------------------------------------------------------------------
def _tiny_model(seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 3))
    return LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))


def _registry_facts(client: Any, name: str) -> dict:
    from mlflow.exceptions import MlflowException

    try:
        model = client.get_registered_model(name)
    except MlflowException:
        return {"exists": False, "versions": [], "aliases": {}}
    versions = client.search_model_versions(f"name = '{name}'")
    return {
        "exists": True,
        "versions": sorted(({"version": int(v.version), "source": str(v.source), "model_id": getattr(v, "model_id", None),
                             "stage": str(v.current_stage)} for v in versions), key=lambda v: v["version"]),
        "aliases": {str(k): int(v) for k, v in (model.aliases or {}).items()},
    }


def promote_probe(fn: Any, case: dict) -> dict:
    """Fill a fresh registry as the case says, promote the case's new models through the learner's function.

    Reports, after each call, what it returned, the model URI it was given,
    and every version of the model with its source and stage, and the
    aliases: the verdict knows what the registry held before.
    """
    from mlcourse.train import tracking

    store = tracking.local_store()
    try:
        return _promote_in(store, fn, case)
    finally:
        store.close()


def _promote_in(store: Any, fn: Any, case: dict) -> dict:
    import mlflow

    from mlcourse.exercises.train.probes import call_in_thread

    calls = []
    # One small MLflow model, saved once and copied for each promotion: a model URI of its own for each,
    # without the tracking-store work of logging one (the lesson's models:/ URIs register the same way).
    models = store.folder / "models"
    mlflow.sklearn.save_model(_tiny_model(0), models / "base")
    with store.activate("registry-check"):
        client = store.client()
        name = case["name"]
        for i, aliases in enumerate(case["existing"]):
            if i == 0:
                client.create_registered_model(name)
            version = client.create_model_version(name, source=(models / "base").as_uri())
            for alias in aliases:
                client.set_registered_model_alias(name, alias, version.version)
        for i in range(case["promotions"]):
            shutil.copytree(models / "base", models / f"new-{i}")
            uri = (models / f"new-{i}").as_uri()
            with contextlib.redirect_stderr(io.StringIO()):  # MLflow's "Created version ..." lines, once per call
                returned = call_in_thread(fn, uri, name)
            version = getattr(returned, "version", returned)  # a ModelVersion counts as its number
            if not (version is None or isinstance(version, (str, int, float, bool))):
                version = {"returned_type": type(returned).__name__}
            calls.append({"returned": version, "uri": uri, "registry": _registry_facts(client, name)})
    return {"calls": calls}


#: The alias of the live version, and of the one it replaced (a rollback moves production back to it).
LIVE, BACK = "production", "previous"


def _promote_problem(call: dict, expected: dict, before: dict, i: int, case: dict) -> str | None:
    reg = call.get("registry") or {}
    where = f"promotion {i + 1} of {case['promotions']} (the registry held {len(case['existing']) + i} version(s))"
    versions = reg.get("versions") or []
    new = [v for v in versions if v["version"] > expected["version"] - 1]
    if not new:
        return f"{where}: no new version was registered: mlflow.register_model(model_uri, name)"
    if len(new) > 1:
        return f"{where}: {len(new)} new versions were registered for one model: register it once"
    mine = new[0]
    if call.get("uri") not in (mine.get("source"),) and not (mine.get("model_id") and str(call.get("uri")).endswith(mine["model_id"])):
        return f"{where}: the new version is not the model you were given ({mine.get('source')}): register model_uri"
    aliases = reg.get("aliases") or {}
    returned = call.get("returned")
    if returned is None:
        return f"{where}: your function returned None: did you forget a `return`? Return the new version's number"
    if isinstance(returned, dict):
        return f"{where}: your function returned a {returned.get('returned_type')}: return the new version's number"
    if isinstance(returned, bool) or str(returned) != str(expected["version"]):
        return f"{where}: your function returned {show(returned)}, but the version it registered is {mine['version']}"
    if aliases.get(LIVE) != expected["aliases"][LIVE]:
        if mine.get("stage") not in (None, "None"):
            return (
                f"{where}: you moved the version to the stage {mine['stage']!r}. Stages are deprecated in MLflow: "
                f"point the alias instead, client.set_registered_model_alias(name, '{LIVE}', version)"
            )
        now = aliases.get(LIVE)
        return (
            f"{where}: the alias '{LIVE}' points at " + (f"version {now}" if now else "nothing")
            + f", not at the version you registered: client.set_registered_model_alias(name, '{LIVE}', version)"
        )
    if BACK in expected["aliases"] and aliases.get(BACK) != expected["aliases"][BACK]:
        was = before.get(LIVE)
        now = aliases.get(BACK)
        if now is None:
            return (
                f"{where}: the version '{LIVE}' pointed at before (version {was}) has no alias '{BACK}' now: set it "
                "before moving production, so that a rollback is one alias move"
            )
        if now == expected["version"] - 1:
            return (
                f"{where}: '{BACK}' points at version {now}, the newest before yours, but '{LIVE}' pointed at "
                f"version {was}: read the alias (client.get_model_version_by_alias) instead of counting versions"
            )
        return f"{where}: '{BACK}' points at version {now}; '{LIVE}' pointed at version {was} before your promotion"
    if BACK not in expected["aliases"] and BACK in aliases:
        return f"{where}: nothing was in production before, so there is no version to keep as '{BACK}'"
    others = {k: v for k, v in expected["aliases"].items() if k not in (LIVE, BACK)}
    moved = [k for k, v in others.items() if aliases.get(k) != v]
    if moved:
        return f"{where}: the alias {moved[0]!r} moved or disappeared: leave the other aliases as they are"
    return None


def promote_verdict(got: Any, case: dict, expected: list) -> str | None:
    """Judge the registry after each promotion against ``expected``, the reference's version and aliases."""
    calls = got.get("calls") if isinstance(got, dict) else None
    if not isinstance(calls, list) or len(calls) != case["promotions"] or len(expected) != case["promotions"]:
        return "the check could not read your registry"
    before = {a: i + 1 for i, names in enumerate(case["existing"]) for a in names}
    for i, (call, exp) in enumerate(zip(calls, expected)):
        problem = _promote_problem(call if isinstance(call, dict) else {}, exp, before, i, case)
        if problem:
            return problem
        before = exp["aliases"]
    return None
