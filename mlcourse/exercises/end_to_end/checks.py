"""Exercises of lesson 05, End to end: the outline's pipeline, its blind spots, and the closed loop.

Three declarative exercises, in the order the lesson asks them:

* ``end_to_end.run_pipeline``: the outline's four stages as one re-runnable
  function of its data, judged by its figures on the outline's table
  (accuracy 0.935, first prediction 1, means -0.004 and -0.002) and on fresh
  ``make_classification`` tables;
* ``end_to_end.drifted_features``: a per-feature two-sample test that catches the
  drift a global mean misses, on fresh batches of the outline's data whose
  shifts cancel out;
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
import math
from typing import Any

import numpy as np
import pandas as pd

from mlcourse.exercises.compare import Compare, show
from mlcourse.exercises.end_to_end.probes import (
    PIPELINE_KEYS,
    TARGET,
    classification_table,
    drift_probe,
    pipeline_probe,
    plan_probe,
)
from mlcourse.exercises.engine import Exercise, Function, holds
from mlcourse.exercises.plain import kind

# --------------------------------------------------------------------------
# end_to_end.run_pipeline: the outline's script as a function of its data
# --------------------------------------------------------------------------
#: The outline's dataset: ``make_classification(n_samples=2000, n_features=20, random_state=42)``.
OUTLINE = {"n_samples": 2000, "n_features": 20, "random_state": 42}
#: The outline's published figures for its dataset (see :mod:`mlcourse.lifecycle`).
OUTLINE_ACCURACY = 0.935
OUTLINE_FIRST_PREDICTION = 1
TEST_SIZE = 0.2
SPLIT_SEED = 42
FOREST = {"n_estimators": 100, "max_depth": 10, "random_state": 42}
PRODUCTION_ROWS = 100
THRESHOLD = 0.1


def _describe_table(spec: dict) -> str:
    if {k: spec.get(k) for k in OUTLINE} == OUTLINE:
        return "the outline's table"
    return (
        f"a fresh make_classification table (n_samples={spec['n_samples']}, n_features={spec['n_features']}, "
        f"random_state={spec['random_state']})"
    )


def _call_text(spec: dict) -> str:
    return f"run_pipeline(df, production_rows={spec['production_rows']}, threshold={spec['threshold']})"


@functools.lru_cache(maxsize=16)
def _reference(n_samples: int, n_features: int, random_state: int, production_rows: int, threshold: float) -> dict:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split

    df = classification_table(n_samples, n_features, random_state)
    X = df.drop(columns=TARGET).to_numpy()
    y = df[TARGET].to_numpy()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=TEST_SIZE, random_state=SPLIT_SEED)
    outline = (n_samples, n_features, random_state) == tuple(OUTLINE.values())
    if outline:
        # The outline prints these two figures; mlcourse.lifecycle's tests show scikit-learn reproduces them.
        accuracy, first = OUTLINE_ACCURACY, OUTLINE_FIRST_PREDICTION
    else:
        model = RandomForestClassifier(**FOREST).fit(X_train, y_train)
        accuracy = float(np.mean(model.predict(X_test) == y_test))
        first = int(model.predict(X_test[:1])[0])
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
    return {**OUTLINE, "production_rows": PRODUCTION_ROWS, "threshold": THRESHOLD}


def _fresh_spec(rng: np.random.Generator) -> dict:
    return {
        "n_samples": int(rng.integers(300, 520)),
        "n_features": int(rng.integers(5, 11)),
        "random_state": int(rng.integers(1_000, 1_000_000)),
        "production_rows": int(rng.integers(20, 50)),  # fewer than the 60+ test rows
        "threshold": float(rng.choice([0.1, 0.05, 0.02])),
    }


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


def _pipeline_verdict(got: Any, spec: dict) -> str | None:
    where = f" [{_describe_table(spec)}; {_call_text(spec)}]"
    if got is None:
        return "the check could not run your function" + where
    if "not_a_dict" in got:
        value = got["not_a_dict"]
        if value is None:
            return "run_pipeline returned None: did you forget `return {...}`?" + where
        return f"run_pipeline must return a dict of stage outputs, got {kind(value)} ({show(value)})" + where
    keys = got.get("keys", [])
    missing = [k for k in PIPELINE_KEYS if k not in keys]
    if missing:
        return f"the returned dict lacks the keys {missing} (it needs {PIPELINE_KEYS})" + where
    ref = reference_pipeline(spec)
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


run_pipeline = Exercise(
    id="end_to_end.run_pipeline",
    title="The outline's pipeline as a re-runnable function",
    points=3,
    answer=Function("run_pipeline"),
    tests=[
        holds("the outline's table", pipeline_probe, _pipeline_verdict, inputs=_outline_spec, weight=2),
        holds("a fresh make_classification table", pipeline_probe, _pipeline_verdict, inputs=_fresh_spec),
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
    X_train, X_test = train_test_split(df.drop(columns=TARGET), test_size=TEST_SIZE, random_state=SPLIT_SEED)
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


def _drift_verdict(got: Any, case: dict) -> str | None:
    moved = case["up"] + case["down"] + case["spread"]
    where = (
        f" [{len(case['current'])} production rows, alpha={case['alpha']}; "
        + (f"{', '.join(case['up'])} up, {', '.join(case['down'])} down, {', '.join(case['spread'])} spread out]"
           if moved else "nothing changed]")
    )
    if not isinstance(got, dict):
        return "the check could not read your answer" + where
    if "other" in got:
        value = got["other"]
        if value is None:
            return "drifted_features returned None: did you forget a `return` statement?" + where
        return f"drifted_features must return a list of feature names, got {kind(value)} ({show(value)})" + where
    names = got.get("names", [])
    expected = reference_drifted(case["reference"], case["current"], case["alpha"])
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


drifted_features = Exercise(
    id="end_to_end.drifted_features",
    title="Catch the drift the global mean misses",
    points=2,
    answer=Function("drifted_features"),
    tests=[
        holds("a batch where opposite shifts cancel in the global mean", drift_probe, _drift_verdict,
              inputs=lambda rng: _drift_case(rng)),
        holds("another such batch, tested at alpha=0.01", drift_probe, _drift_verdict,
              inputs=lambda rng: _drift_case(rng, alpha=0.01)),
        holds("a batch where nothing changed", drift_probe, _drift_verdict,
              inputs=lambda rng: _drift_case(rng, change=False)),
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
POLICY = {"max_drop": 0.1, "max_drift_share": 0.5, "train_days": 14, "min_train_days": 7}


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


def _plan_verdict(got: Any, cases: list) -> str | None:
    if not isinstance(got, list) or len(got) != len(cases):
        return "the check could not read your answers"
    for g, case in zip(got, cases):
        exp = reference_plan(case["state"], **case["params"])
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


plan_retraining = Exercise(
    id="end_to_end.plan_retraining",
    title="Close the loop: when to retrain, and on which days",
    points=3,
    answer=Function("plan_retraining"),
    tests=[
        holds("the feedback loop's own situations", plan_probe, _plan_verdict, inputs=_loop_cases),
        holds("fresh monitoring states", plan_probe, _plan_verdict, inputs=_fresh_cases),
        holds("edge cases", plan_probe, _plan_verdict, inputs=_edge_cases),
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
