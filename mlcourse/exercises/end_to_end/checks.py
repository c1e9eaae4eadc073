"""Exercises of lesson 05, End to end: the outline's pipeline, its blind spots, and the closed loop.

Four declarative exercises, in the order the lesson asks them:

* ``end_to_end.run_pipeline``: the outline's four stages as one re-runnable
  function of its data, judged by its figures on the outline's table
  (accuracy 0.935, first prediction 1, means -0.004 and -0.002) and on fresh
  ``make_classification`` tables;
* ``end_to_end.drifted_features``: a per-feature two-sample test that catches the
  drift a global mean misses, on fresh batches of the outline's data whose
  shifts cancel out;
* ``end_to_end.promote``: register a model in MLflow's registry and move the
  ``production`` alias to it, keeping the version it replaces as ``previous``,
  judged on registries the check fills (a first promotion, production not on
  the newest version, two promotions in a row);
* ``end_to_end.plan_retraining``: from a monitoring state, decide whether to
  retrain and on which window of labelled days (never unlabelled days,
  never the old pattern before a drift), judged on the feedback loop's own
  situations and on fresh cases.

Where the learner writes something the package provides
(:func:`mlcourse.monitor.drift.drift_report`, its KS test), the package is the
reference and the exercise forbids calling it. The lesson imports the module
as ``monitoring``, so the short spellings are forbidden as well.

This module is the lesson's answer key; what the grading child runs is in
:mod:`mlcourse.exercises.end_to_end.probes`.
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from mlcourse.exercises.cache import per_inputs
from mlcourse.exercises.end_to_end import probes
from mlcourse.exercises.engine import Exercise, Function, holds

# --------------------------------------------------------------------------
# end_to_end.run_pipeline: the outline's script as a function of its data
# --------------------------------------------------------------------------
#: The outline's published figures for its dataset (see :mod:`mlcourse.lifecycle`).
OUTLINE_ACCURACY = 0.935
OUTLINE_FIRST_PREDICTION = 1
TEST_SIZE = 0.2
SPLIT_SEED = 42
PRODUCTION_ROWS = 100
THRESHOLD = 0.1


@functools.lru_cache(maxsize=16)
def _reference(n_samples: int, n_features: int, random_state: int, production_rows: int, threshold: float) -> dict:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split

    df = probes.classification_table(n_samples, n_features, random_state)
    X = df.drop(columns=probes.TARGET).to_numpy()
    y = df[probes.TARGET].to_numpy()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=TEST_SIZE, random_state=SPLIT_SEED)
    outline = (n_samples, n_features, random_state) == tuple(probes.OUTLINE.values())
    if outline:
        # The outline prints these two figures; mlcourse.lifecycle's tests show scikit-learn reproduces them.
        accuracy, first = OUTLINE_ACCURACY, OUTLINE_FIRST_PREDICTION
    else:
        model = RandomForestClassifier(**probes.FOREST).fit(X_train, y_train)
        # One pass over the test rows: a row's prediction does not depend on the rows predicted with it.
        predicted = model.predict(X_test)
        accuracy = float(np.mean(predicted == y_test))
        first = int(predicted[0])
    train_mean = float(X_train.mean())
    production_mean = float(X_test[:production_rows].mean())
    with_target = np.column_stack([X, y])
    tr_t, te_t = train_test_split(with_target, test_size=TEST_SIZE, random_state=SPLIT_SEED)
    return {
        "figures": {
            "n_train": len(X_train),
            "n_test": len(X_test),
            "accuracy": accuracy,
            "first_prediction": first,
            "train_mean": train_mean,
            "production_mean": production_mean,
            "drift_alert": bool(abs(train_mean - production_mean) > threshold),
        },
        "n_features": X.shape[1],
        "other_means": {
            "train_mean with the target": float(tr_t.mean()),
            "train_mean over every row": float(X.mean()),
            "production_mean over every test row": float(X_test.mean()),
            "production_mean with the target": float(te_t[:production_rows].mean()),
        },
    }


def reference_pipeline(spec: dict) -> dict:
    """The expected figures of ``run_pipeline`` on the table ``spec`` describes (and near misses)."""
    return _reference(int(spec["n_samples"]), int(spec["n_features"]), int(spec["random_state"]),
                      int(spec["production_rows"]), float(spec["threshold"]))


def _outline_spec(rng: np.random.Generator) -> dict:
    return {**probes.OUTLINE, "production_rows": PRODUCTION_ROWS, "threshold": THRESHOLD}


def _outline_and_fresh(rng: np.random.Generator) -> list[dict]:
    # The outline's figures must come out, and no points go to the fixed table alone.
    return [_outline_spec(rng), _fresh_spec(rng)]


def _fresh_specs(rng: np.random.Generator) -> list[dict]:
    return [_fresh_spec(rng)]


def reference_pipelines(specs: list[dict]) -> list[dict]:
    """The expected figures of ``run_pipeline`` on each table of ``specs``."""
    return [reference_pipeline(spec) for spec in specs]


def _fresh_spec(rng: np.random.Generator) -> dict:
    return {
        "n_samples": int(rng.integers(300, 520)),
        "n_features": int(rng.integers(5, 11)),
        "random_state": int(rng.integers(1_000, 1_000_000)),
        "production_rows": int(rng.integers(20, 50)),  # fewer than the 60+ test rows
        "threshold": float(rng.choice([0.1, 0.05, 0.02])),
    }


run_pipeline = Exercise(
    id="end_to_end.run_pipeline",
    title="The outline's pipeline as a re-runnable function",
    points=3,
    answer=Function("run_pipeline"),
    tests=[
        holds("the outline's table and a fresh one", probes.pipeline_probe, probes.pipelines_verdict, inputs=_outline_and_fresh,
              expected=reference_pipelines, weight=2, public=True),
        holds("a fresh make_classification table", probes.pipeline_probe, probes.pipelines_verdict, inputs=_fresh_specs,
              expected=reference_pipelines),
    ],
    hints=(
        "Follow the replay above stage by stage, but take everything from the arguments: X is every column of "
        "`df` except 'target', y is 'target'; split, fit, score, predict, compare the means; return a dict.",
        "`X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)`, then "
        "`model = RandomForestClassifier(n_estimators=100, max_depth=10, random_state=42).fit(X_train, y_train)`.",
        "`train_mean = float(np.asarray(X_train).mean())`, `production_mean = float(np.asarray(X_test)"
        "[:production_rows].mean())`, `drift_alert = abs(train_mean - production_mean) > threshold`; return "
        "them with n_train, n_test, model, accuracy and first_prediction = model.predict(X_test[:1])[0].",
    ),
    on_error={
        "KeyError": "The label column is called 'target'; the features are all the other columns.",
        "TypeError": "run_pipeline is called as run_pipeline(df, production_rows=..., threshold=...): keep those "
        "parameter names.",
    },
)


# --------------------------------------------------------------------------
# end_to_end.drifted_features: per-feature tests where a global mean sees nothing
# --------------------------------------------------------------------------
def outline_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The outline's training and test features as DataFrames (the split of the lesson)."""
    from sklearn.model_selection import train_test_split

    from mlcourse.data.generate import load_outline_dataset

    df = load_outline_dataset()
    X_train, X_test = train_test_split(df.drop(columns=probes.TARGET), test_size=TEST_SIZE, random_state=SPLIT_SEED)
    return X_train.reset_index(drop=True), X_test.reset_index(drop=True)


def cancelling_drift(current: pd.DataFrame, up: list[str], down: list[str], shift: float,
                     spread: list[str] = (), factor: float = 2.5) -> pd.DataFrame:
    """Shift ``up`` features up and ``down`` features down by ``shift``; widen ``spread`` around its mean.

    With as many features up as down, and a spread that keeps each mean,
    the mean over all values stays exactly where it was.
    """
    out = current.copy()
    for col in up:
        out[col] = out[col] + shift
    for col in down:
        out[col] = out[col] - shift
    for col in spread:
        centre = out[col].mean()
        out[col] = centre + factor * (out[col] - centre)
    return out


def _drift_case(rng: np.random.Generator, *, change: bool = True, alpha: float = 0.05) -> dict:
    while True:
        case = _drift_draw(rng, change, alpha)
        # Built into every draw: in a batch where nothing changed the test flags nothing (at alpha, an unchanged
        # feature is flagged now and then), so an answer that never flags anything earns this test on every seed.
        if change or not _expected_drifted(case):
            return case


def _drift_draw(rng: np.random.Generator, change: bool, alpha: float) -> dict:
    reference, test = outline_frames()
    rows = np.sort(rng.choice(len(test), size=int(rng.integers(100, 201)), replace=False))
    current = test.iloc[rows].reset_index(drop=True)
    up: list[str] = []
    down: list[str] = []
    spread: list[str] = []
    if change:
        k = int(rng.choice([2, 3]))
        picked = [str(c) for c in rng.choice(list(reference.columns), size=2 * k + 1, replace=False)]
        up, down, spread = picked[:k], picked[k:2 * k], picked[2 * k:]
        current = cancelling_drift(current, up, down, float(rng.uniform(0.8, 1.1)), spread, float(rng.uniform(2.4, 3.0)))
    return {"reference": reference, "current": current, "alpha": alpha, "up": up, "down": down, "spread": spread}


def reference_drifted(reference: pd.DataFrame, current: pd.DataFrame, alpha: float = 0.05) -> list[str]:
    """The expected answer: :func:`mlcourse.monitor.drift.drift_report` with the KS test at ``alpha``."""
    from mlcourse.monitor.drift import drift_report

    return drift_report(reference, current, tests="ks", thresholds={"ks": alpha}).drifted_features


@per_inputs  # a batch where nothing changed is judged once while it is drawn: its verdict reuses that
def _expected_drifted(case: dict) -> list[str]:
    return reference_drifted(case["reference"], case["current"], case["alpha"])


drifted_features = Exercise(
    id="end_to_end.drifted_features",
    title="Catch the drift the global mean misses",
    points=2,
    answer=Function("drifted_features"),
    tests=[
        holds("a batch where opposite shifts cancel in the global mean", probes.drift_probe, probes.drift_verdict,
              inputs=lambda rng: _drift_case(rng), expected=_expected_drifted, public=True),
        holds("another such batch, tested at alpha=0.01", probes.drift_probe, probes.drift_verdict,
              inputs=lambda rng: _drift_case(rng, alpha=0.01), expected=_expected_drifted),
        holds("a batch where nothing changed", probes.drift_probe, probes.drift_verdict,
              inputs=lambda rng: _drift_case(rng, change=False), expected=_expected_drifted),
    ],
    hints=(
        "Loop over `reference.columns` and compare the two samples of each column on its own; the global mean "
        "mixes every column and lets shifts cancel.",
        "`scipy.stats.ks_2samp(reference[col], current[col]).pvalue` is the chance of a gap this large between two "
        "samples of the same distribution; a feature has drifted when it is <= alpha.",
        "`return [col for col in reference.columns if ks_2samp(reference[col], current[col]).pvalue <= alpha]`",
    ),
    forbid=(
        "mlcourse.monitor.drift.drift_report",
        "monitoring.drift_report",
        "mlcourse.monitor.drift.ks_test",
        "monitoring.ks_test",
    ),
    on_error={
        "KeyError": "Take the column names from `reference.columns`: both frames have the same columns.",
    },
)


# --------------------------------------------------------------------------
# end_to_end.plan_retraining: close the loop, on the right data
# --------------------------------------------------------------------------


def reference_plan(state: dict, max_drop: float = 0.1, max_drift_share: float = 0.5, train_days: int = 14,
                   min_train_days: int = 7) -> dict:
    """The expected plan: retrain when a trigger fires, on labelled days after any known drift.

    Triggers: ``baseline_performance - performance >= max_drop`` (when the
    performance is known) or ``drift_share >= max_drift_share``. Days before
    ``today - label_delay_days`` have labels; the window is the newest
    ``train_days`` of them, starting no earlier than ``drift_start_day``.
    With fewer than ``min_train_days`` days in it, wait.
    """
    labelled_until = state["today"] - state["label_delay_days"]
    performance = state.get("performance")
    baseline = state.get("baseline_performance")
    drift = state.get("drift_share")
    dropped = performance is not None and baseline is not None and baseline - performance >= max_drop
    drifted = drift is not None and drift >= max_drift_share
    if not (dropped or drifted):
        return {"retrain": False, "window": None}
    start = labelled_until - train_days
    if state.get("drift_start_day") is not None:
        start = max(start, state["drift_start_day"])
    if labelled_until - start < min_train_days:
        return {"retrain": False, "window": None}
    return {"retrain": True, "window": [start, labelled_until]}


def _state(today: int, performance: float | None, baseline: float, drift: float | None, drift_start: int | None,
           delay: int = 7) -> dict:
    return {"today": today, "label_delay_days": delay, "performance": performance, "baseline_performance": baseline,
            "drift_share": drift, "drift_start_day": drift_start}


def _loop_cases(rng: np.random.Generator) -> list[dict]:
    """The feedback loop's situations in the lesson (production days; PR-AUC; the drift starts on day 21)."""
    return [
        {"state": _state(14, 0.33, 0.326, 0.0, None), "params": {}, "what": "day 14: all is well"},
        {"state": _state(28, 0.188, 0.326, 0.0, None), "params": {},
         "what": "day 28: a weak week, no drift known yet"},
        {"state": _state(30, 0.05, 0.326, 0.0, 21), "params": {},
         "what": "day 30: a drift from day 21 is known, but only two of its days have labels"},
        {"state": _state(35, 0.018, 0.326, 0.0, 21), "params": {},
         "what": "day 35: the week from day 21 has collapsed"},
        {"state": _state(49, 0.02, 0.326, 0.0, 21), "params": {},
         "what": "day 49: four weeks after the drift"},
    ]


def _fresh_cases(rng: np.random.Generator) -> list[dict]:
    cases = []
    for kind_ in rng.permutation(["healthy", "drop", "drift", "after_drift", "too_recent", "old_drift"]):
        delay = int(rng.integers(3, 10))
        train_days = int(rng.integers(10, 29))
        min_days = int(rng.integers(4, 8))
        today = int(rng.integers(60, 140))
        labelled = today - delay
        baseline = round(float(rng.uniform(0.25, 0.45)), 3)
        params = {"train_days": train_days, "min_train_days": min_days}
        if kind_ == "healthy":
            state = _state(today, round(baseline - float(rng.uniform(0.0, 0.08)), 3), baseline,
                           round(float(rng.uniform(0.0, 0.4)), 3), None, delay)
        elif kind_ == "drop":
            state = _state(today, round(baseline - float(rng.uniform(0.12, 0.25)), 3), baseline, 0.0, None, delay)
        elif kind_ == "drift":
            state = _state(today, None, baseline, round(float(rng.uniform(0.55, 0.9)), 3), None, delay)
        elif kind_ == "after_drift":
            start = labelled - int(rng.integers(min_days, train_days))
            state = _state(today, round(baseline - float(rng.uniform(0.15, 0.3)), 3), baseline, 0.0, start, delay)
        elif kind_ == "too_recent":
            start = labelled - int(rng.integers(0, min_days))
            state = _state(today, round(baseline - float(rng.uniform(0.15, 0.3)), 3), baseline,
                           round(float(rng.uniform(0.5, 0.9)), 3), start, delay)
        else:  # a drift long before the window: the full window is post-drift
            start = labelled - train_days - int(rng.integers(5, 30))
            state = _state(today, round(baseline - float(rng.uniform(0.15, 0.3)), 3), baseline, 0.0, start, delay)
        cases.append({"state": state, "params": params, "what": f"a fresh case ({kind_.replace('_', ' ')})"})
    return cases


def _edge_cases(rng: np.random.Generator) -> list[dict]:
    today = int(rng.integers(60, 140))
    return [
        {"state": _state(today, None, 0.3, 0.1, None), "params": {},
         "what": "no labels yet (performance None) and little drift"},
        {"state": _state(today, 0.25, 0.5, 0.0, None), "params": {"max_drop": 0.25},
         "what": "a drop exactly equal to max_drop"},
        {"state": _state(today, 0.3, 0.3, 0.5, None), "params": {},
         "what": "a drift share exactly equal to max_drift_share"},
        {"state": _state(today, 0.3, 0.3, 0.2, None), "params": {"max_drift_share": 0.2, "train_days": 21},
         "what": "a drift share at a stricter max_drift_share, with a 21-day window"},
    ]


def _expected_plans(cases: list) -> list[dict]:
    return [reference_plan(case["state"], **case["params"]) for case in cases]


# --------------------------------------------------------------------------
# end_to_end.promote: MLflow's registry, aliases and the way back
# --------------------------------------------------------------------------


def _promote_example(rng: np.random.Generator) -> dict:
    return {"name": "fraud-detector", "existing": [[probes.LIVE]], "promotions": 1}


def _promote_inputs(rng: np.random.Generator) -> dict:
    """Production on an older version than the newest (a rejected candidate above it), then two promotions."""
    n = int(rng.integers(2, 5))
    live = int(rng.integers(0, n - 1))
    existing = [[] for _ in range(n)]
    existing[live].append(probes.LIVE)
    existing[-1].append("candidate")
    return {"name": f"fraud-{''.join(rng.choice(list('abcdef'), 4))}", "existing": existing, "promotions": 2}


def _promote_empty(rng: np.random.Generator) -> dict:
    return {"name": f"new-model-{int(rng.integers(100, 999))}", "existing": [], "promotions": 2}


def reference_promotions(case: dict) -> list[dict]:
    """After each promotion: the new version's number and every alias."""
    aliases = {a: i + 1 for i, names in enumerate(case["existing"]) for a in names}
    latest = len(case["existing"])
    out = []
    for _ in range(case["promotions"]):
        latest += 1
        if probes.LIVE in aliases:
            aliases[probes.BACK] = aliases[probes.LIVE]
        aliases[probes.LIVE] = latest
        out.append({"version": latest, "aliases": dict(aliases)})
    return out


promote = Exercise(
    id="end_to_end.promote",
    title="Register a model and move the production alias",
    points=3,
    answer=Function("promote"),
    tests=[
        holds("the lesson's registry, version 1 in production", probes.promote_probe, probes.promote_verdict,
              inputs=_promote_example, expected=reference_promotions, weight=0, public=True),
        holds("a fresh registry where production is not the newest version, two promotions", probes.promote_probe,
              probes.promote_verdict, inputs=_promote_inputs, expected=reference_promotions, weight=2),
        holds("a model not registered yet, two promotions", probes.promote_probe, probes.promote_verdict, inputs=_promote_empty,
              expected=reference_promotions),
    ],
    hints=(
        "`version = mlflow.register_model(model_uri, name)` creates the model's next version (and the registered "
        "model itself, the first time); `version.version` is its number.",
        "`client = MlflowClient()`; `client.get_registered_model(name).aliases` maps each alias to a version "
        "number: read where 'production' points before you move it.",
        "If 'production' exists: `client.set_registered_model_alias(name, 'previous', old)`; then "
        "`client.set_registered_model_alias(name, 'production', version.version)`; return int(version.version).",
    ),
    on_error={
        "MlflowException": "A registered model or alias that does not exist yet raises: the first promotion has no "
        "'production' to keep, so check the aliases dict (client.get_registered_model(name).aliases) instead.",
    },
)


plan_retraining = Exercise(
    id="end_to_end.plan_retraining",
    title="Close the loop: when to retrain, and on which days",
    points=3,
    answer=Function("plan_retraining"),
    tests=[
        holds("the feedback loop's own situations", probes.plan_probe, probes.plan_verdict, inputs=_loop_cases, expected=_expected_plans,
              public=True),
        holds("fresh monitoring states", probes.plan_probe, probes.plan_verdict, inputs=_fresh_cases, expected=_expected_plans),
        holds("edge cases", probes.plan_probe, probes.plan_verdict, inputs=_edge_cases, expected=_expected_plans),
    ],
    hints=(
        "Two triggers, either is enough: `baseline_performance - performance >= max_drop` (only when performance is "
        "not None) and `drift_share >= max_drift_share`. No trigger: `{'retrain': False, 'window': None}`.",
        "Labels lag: days before `labelled_until = today - label_delay_days` are labelled. The window is "
        "[labelled_until - train_days, labelled_until), but never starts before `drift_start_day` when one is known.",
        "`start = max(labelled_until - train_days, drift_start_day)`; if `labelled_until - start < min_train_days`, "
        "wait: `{'retrain': False, 'window': None}`; else `{'retrain': True, 'window': [start, labelled_until]}`.",
    ),
    on_error={
        "TypeError": "performance is None while no labels have arrived (and drift_start_day is None when no drift "
        "is known): check for None before doing arithmetic with them.",
        "KeyError": "The state has the keys today, label_delay_days, performance, baseline_performance, "
        "drift_share and drift_start_day; the policy's limits are the function's keyword arguments.",
    },
)
