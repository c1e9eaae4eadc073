"""``mlcourse lifecycle``: the whole Data -> Train -> Deploy -> Monitor loop in one run.

It replays the lesson outline's hands-on pipeline (section 6) on the same
data, split and forest, so every figure the outline prints comes out again:
shape (2000, 21), class counts 1002/998, accuracy 0.9350, the classification
report, prediction 1 for the first test row, and the global means -0.004 and
-0.002. Where the outline simulates, the run uses the package's real pieces:
the model goes through :mod:`mlcourse.deploy.registry` (metadata, sha256, an alias),
comes back into a validating :class:`mlcourse.deploy.service.ModelService`, and the
outline's global-mean drift check is put beside a per-feature report from
:mod:`mlcourse.monitor.drift`, on a batch where the global mean stays put while
seven features move.

:func:`run` is a straight pipeline of one function per stage, each printing
its part of the report and returning its figures:

1. :func:`data_stage`: load the outline's dataset, check it, fingerprint it, split it;
2. :func:`train_stage`: fit the outline's forest and score it on the test rows;
3. :func:`deploy_stage`: register the forest and load it back into a service;
4. :func:`monitor_stage`: serve a request, then check drift on an unchanged
   batch and on one with hidden drift, writing the drift tables and plot.

Artifacts go to ``out``: the registry, ``lifecycle.json`` with the figures,
the drift tables as CSV and a plot of the drifted features.
"""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TextIO

__all__ = ["Split", "data_stage", "deploy_stage", "main", "monitor_stage", "run", "train_stage"]

MODEL_NAME = "outline-forest"
RANDOM_STATE = 42
TEST_SIZE = 0.2
FOREST_PARAMS = {"n_estimators": 100, "max_depth": 10, "random_state": RANDOM_STATE}
PRODUCTION_ROWS = 100  # the outline's simulated batch: the first 100 test rows
NAIVE_THRESHOLD = 0.1

# The hidden-drift batch. The four features the forest relies on most
# (feat_1, feat_9, feat_4, feat_17 by impurity importance) alternate up and
# down, plus one noise feature each way, all by the same amount, so the
# global mean cannot move; one more feature spreads out around its own mean,
# which no mean can see.
SHIFT = 0.8
SHIFT_UP = ("feat_1", "feat_4", "feat_6")
SHIFT_DOWN = ("feat_9", "feat_17", "feat_15")
SPREAD_FEATURE = "feat_11"
SPREAD_FACTOR = 2.5
DRIFT_TEST = "ks"

Say = Callable[..., None]


class Split(NamedTuple):
    """The outline's dataset split for training and testing, as the data stage hands it on."""

    features: list[str]
    X_train: Any
    X_test: Any
    y_train: Any
    y_test: Any
    fingerprint: str


def _printer(verbose: bool, stream: TextIO | None) -> Say:
    target = stream if stream is not None else sys.stdout

    def say(line: str = "") -> None:
        if verbose:
            print(line, file=target)

    return say


def _quiet(line: str = "") -> None:
    """A ``say`` that prints nothing."""


def _plain(obj: Any) -> Any:
    """numpy scalars and arrays to JSON-friendly Python values."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _report_rows(report: Any, say: Say, indent: str, only_drifted: bool) -> None:
    table = report.table
    if only_drifted:
        table = table[table["drifted"]]
    say(f"{indent}{'feature':<9} {'test':<5} {'statistic':>9} {'p-value':>9}  drifted")
    for row in table.itertuples(index=False):
        p = "" if row.p_value != row.p_value else f"{row.p_value:.1e}"  # NaN check
        say(f"{indent}{row.feature:<9} {row.test:<5} {row.statistic:>9.3f} {p:>9}  {'yes' if row.drifted else 'no'}")


# --------------------------------------------------------------------------
# The four stages
# --------------------------------------------------------------------------


def data_stage(say: Say = _quiet) -> tuple[Split, dict[str, Any]]:
    """Stage 1: load the outline's dataset, check it has no gaps, fingerprint and split it.

    Parameters
    ----------
    say : callable, optional
        Prints one line of the report (default: print nothing).

    Returns
    -------
    (Split, dict)
        The split the later stages use, and the figures ``shape``,
        ``class_counts``, ``missing_values``, ``data_fingerprint``,
        ``n_train`` and ``n_test``.

    Examples
    --------
    >>> split, figures = data_stage()
    >>> figures["shape"], figures["class_counts"], len(split.X_train), len(split.X_test)
    ([2000, 21], {'0': 1002, '1': 998}, 1600, 400)
    """
    from sklearn.model_selection import train_test_split

    from mlcourse.data.generate import load_outline_dataset
    from mlcourse.data.validation import fingerprint

    say()
    say("STAGE 1/4  DATA")
    df = load_outline_dataset()
    features = [c for c in df.columns if c != "target"]
    n_missing = int(df.isna().sum().sum())
    if n_missing:
        raise RuntimeError(f"the outline's dataset should have no missing values, found {n_missing}")
    counts = df["target"].value_counts().sort_index()
    data_fp = fingerprint(df)
    X_train, X_test, y_train, y_test = train_test_split(
        df[features], df["target"], test_size=TEST_SIZE, random_state=RANDOM_STATE
    )
    say("   Source: make_classification(n_samples=2000, n_features=20, random_state=42)")
    say(f"   Data shape: {df.shape}  ({len(features)} features feat_0..feat_19 + target)")
    say(f"   Missing values: {n_missing}")
    say("   Target counts: " + ", ".join(f"class {k} -> {v}" for k, v in counts.items()))
    say(f"   Fingerprint: sha256 {data_fp[:16]}...")
    say(f"   Split: {len(X_train)} training rows, {len(X_test)} test rows "
        f"(test_size={TEST_SIZE}, random_state={RANDOM_STATE})")
    figures = {
        "shape": list(df.shape),
        "class_counts": {str(k): int(v) for k, v in counts.items()},
        "missing_values": n_missing,
        "data_fingerprint": data_fp,
        "n_train": len(X_train),
        "n_test": len(X_test),
    }
    return Split(features, X_train, X_test, y_train, y_test, data_fp), figures


def train_stage(split: Split, say: Say = _quiet) -> tuple[Any, dict[str, Any]]:
    """Stage 2: fit the outline's random forest on the training rows and score it on the test rows.

    Returns
    -------
    (RandomForestClassifier, dict)
        The fitted forest, and the figures ``accuracy``, ``accuracy_text``
        and ``classification_report``.

    Examples
    --------
    >>> model, figures = train_stage(data_stage()[0])
    >>> figures["accuracy_text"]
    '0.9350'
    """
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import accuracy_score, classification_report

    say()
    say("STAGE 2/4  TRAIN")
    model = RandomForestClassifier(**FOREST_PARAMS)
    model.fit(split.X_train, split.y_train)
    y_pred = model.predict(split.X_test)
    accuracy = float(accuracy_score(split.y_test, y_pred))
    report_text = classification_report(split.y_test, y_pred)
    say("   Model: RandomForestClassifier(n_estimators=100, max_depth=10, random_state=42)")
    say(f"   Accuracy on the test rows: {accuracy:.4f}")
    say("   Classification report (test rows):")
    say(report_text)
    return model, {"accuracy": accuracy, "accuracy_text": f"{accuracy:.4f}", "classification_report": report_text}


def deploy_stage(model: Any, split: Split, accuracy: float, registry: Path, say: Say = _quiet) -> tuple[Any, dict[str, Any]]:
    """Stage 3: register the model with its metadata under the alias ``production``, then serve it.

    The service is loaded back from the registry by alias, so the hash and
    metadata checks a real deployment relies on run here too.

    Returns
    -------
    (ModelService, dict)
        The service, and the figure ``model`` (name, version, path, sha256
        and the version the service reports).
    """
    from mlcourse.deploy.registry import save_model
    from mlcourse.deploy.service import ModelService

    # No blank line before this stage: the classification report ends with one.
    say("STAGE 3/4  DEPLOY")
    saved = save_model(
        model,
        MODEL_NAME,
        registry=registry,
        metrics={"accuracy": accuracy},
        feature_names=split.features,
        feature_dtypes={c: str(split.X_train[c].dtype) for c in split.features},
        data_fingerprint=split.fingerprint,
        extra={"params": FOREST_PARAMS, "test_size": TEST_SIZE, "split_random_state": RANDOM_STATE},
        alias="production",
    )
    service = ModelService.from_registry(MODEL_NAME, "production", registry=registry)
    say(f"   Saved {MODEL_NAME} v{saved.version}: {saved.path} (model.joblib + metadata.json)")
    say(f"   sha256 {saved.sha256[:16]}..., alias production -> v{saved.version}")
    say(f"   Loaded 'production' back, hash verified, into {service!r}")
    figures = {
        "model": {
            "name": MODEL_NAME,
            "version": saved.version,
            "path": str(saved.path),
            "sha256": saved.sha256,
            "service_version": service.version,
        }
    }
    return service, figures


def monitor_stage(service: Any, split: Split, out: Path, say: Say = _quiet) -> dict[str, Any]:
    """Stage 4: serve the first test row, then check drift on an unchanged batch and on a drifted one.

    The batch is the outline's "production": the first
    :data:`PRODUCTION_ROWS` test rows. On it the outline's global-mean check
    runs beside a per-feature KS report; then the same rows after an
    upstream change (:func:`_hide_drift`) show what the global mean misses.
    The drift tables and plot are written to ``out``.

    Returns
    -------
    dict
        The figures ``prediction``, ``first_request``, ``naive``,
        ``per_feature``, ``automatic_test`` and ``hidden_drift``.
    """
    say()
    say("STAGE 4/4  MONITOR")
    first = split.X_test.iloc[0]
    prediction = service.predict(first.to_dict())
    say(f"   Request (first test row), feat_0..feat_4: {first.to_numpy()[:5]} ...")
    say(f"   Prediction: {prediction}")

    batch = split.X_test.iloc[:PRODUCTION_ROWS]
    labels = split.y_test.iloc[:PRODUCTION_ROWS].to_numpy()
    stable, stable_figures, stable_acc = _check_unchanged(service, split, batch, labels, say)
    hidden, hidden_figures = _check_hidden(service, split, batch, labels, stable_acc, say)

    stable.table.to_csv(out / "drift_stable.csv", index=False)
    hidden.table.to_csv(out / "drift_hidden.csv", index=False)
    fig = hidden.plot()
    fig.suptitle("Hidden drift: reference (training) vs production, drifted features")
    fig.savefig(out / "drift_hidden.png", dpi=80)
    return {"prediction": prediction, "first_request": first.to_numpy()[:5], **stable_figures,
            "hidden_drift": hidden_figures}


def _check_unchanged(service: Any, split: Split, batch: Any, labels: Any, say: Say) -> tuple[Any, dict[str, Any], float]:
    """The outline's global-mean check beside per-feature tests, on rows that did not change.

    Returns the per-feature report, the figures and the served model's accuracy on the batch.
    """
    import numpy as np

    from mlcourse.monitor.drift import drift_report, naive_mean_drift

    X_train = split.X_train
    train_mean, prod_mean, alert = naive_mean_drift(X_train, batch, NAIVE_THRESHOLD)
    say()
    say(f"   Outline's check, one mean over all {len(split.features)} features; "
        f"production = first {PRODUCTION_ROWS} test rows:")
    say(f"      Training mean: {train_mean:.3f}")
    say(f"      Production mean: {prod_mean:.3f}")
    verdict = "ALERT, possible drift" if alert else "stable"
    say(f"      -> {verdict} (|difference| {abs(train_mean - prod_mean):.3f} vs threshold {NAIVE_THRESHOLD})")

    stable = drift_report(X_train, batch, tests=DRIFT_TEST)
    flagged = stable.drifted_features
    say("   Per-feature check on the same rows (KS test each feature, drift at p <= 0.05):")
    say(f"      {stable.summary()}")
    if flagged:
        rows = stable.table.set_index("feature")
        shown = ", ".join(f"{f} (p={rows.loc[f, 'p_value']:.3f})" for f in flagged)
        say(f"      flagged: {shown}; at 5 % per test, about 1 chance alarm in 20 is expected")
    auto = drift_report(X_train, batch)
    auto_test = auto.table["test"].mode().iloc[0]
    say(f"      Why KS: evidently's automatic choice for a {len(X_train)}-row reference ({auto_test},")
    say(f"      drift at >= 0.1) flags {len(auto.drifted_features)} of {len(split.features)} features on these unchanged rows;")
    say(f"      a fixed distance cut-off reads sampling noise in {PRODUCTION_ROWS} rows as drift.")
    figures = {
        "naive": {"train_mean": train_mean, "prod_mean": prod_mean, "alert": alert,
                  "threshold": NAIVE_THRESHOLD, "rows": PRODUCTION_ROWS},
        "per_feature": {"test": DRIFT_TEST, "drifted": flagged, "share": stable.share,
                        "dataset_drift": stable.dataset_drift},
        "automatic_test": {"test": auto_test, "drifted": auto.drifted_features, "share": auto.share},
    }
    return stable, figures, float(np.mean(service.predict_batch(batch) == labels))


def _hide_drift(batch: Any) -> Any:
    """The batch after an upstream change the global mean cannot see (see :data:`SHIFT_UP`)."""
    hidden = batch.copy()
    for col in SHIFT_UP:
        hidden[col] = hidden[col] + SHIFT
    for col in SHIFT_DOWN:
        hidden[col] = hidden[col] - SHIFT
    centre = hidden[SPREAD_FEATURE].mean()
    hidden[SPREAD_FEATURE] = centre + SPREAD_FACTOR * (hidden[SPREAD_FEATURE] - centre)
    return hidden


def _check_hidden(service: Any, split: Split, batch: Any, labels: Any, stable_acc: float,
                  say: Say) -> tuple[Any, dict[str, Any]]:
    """Both checks again on the batch with hidden drift, and what it does to the served model."""
    import numpy as np

    from mlcourse.monitor.drift import drift_report, naive_mean_drift

    hidden = _hide_drift(batch)
    changed = list(SHIFT_UP) + list(SHIFT_DOWN) + [SPREAD_FEATURE]
    h_train_mean, h_prod_mean, h_alert = naive_mean_drift(split.X_train, hidden, NAIVE_THRESHOLD)
    report = drift_report(split.X_train, hidden, tests=DRIFT_TEST)
    h_flagged = report.drifted_features
    hidden_acc = float(np.mean(service.predict_batch(hidden) == labels))
    caught = [c for c in changed if c in h_flagged]
    say()
    say("   What the global mean misses: the same rows after an upstream change")
    say(f"   ({', '.join(SHIFT_UP)} up by {SHIFT}; {', '.join(SHIFT_DOWN)} down by {SHIFT};")
    say(f"   {SPREAD_FEATURE} spread {SPREAD_FACTOR}x around its mean):")
    say(f"      Outline's check: training mean {h_train_mean:.3f}, production mean {h_prod_mean:.3f} "
        f"-> {'ALERT' if h_alert else 'stable'}")
    say(f"      Per-feature check: {report.summary()}")
    _report_rows(report, say, "         ", only_drifted=True)
    say(f"      -> {len(caught)} of {len(changed)} changed features caught; "
        f"the naive check {'raised an alert' if h_alert else 'saw nothing'}.")
    also = [f for f in h_flagged if f not in changed]
    if also:
        say(f"      (also flagged, though unchanged: {', '.join(also)}, the chance alarm seen above)")
    say(f"      Accuracy of the served model on these {PRODUCTION_ROWS} rows: "
        f"{stable_acc:.2f} before, {hidden_acc:.2f} after the change.")
    figures = {
        "shift": SHIFT, "up": list(SHIFT_UP), "down": list(SHIFT_DOWN),
        "spread": {"feature": SPREAD_FEATURE, "factor": SPREAD_FACTOR},
        "naive": {"train_mean": h_train_mean, "prod_mean": h_prod_mean, "alert": h_alert},
        "per_feature": {"test": DRIFT_TEST, "drifted": h_flagged, "share": report.share,
                        "dataset_drift": report.dataset_drift, "caught": caught},
        "accuracy_before": stable_acc,
        "accuracy_after": hidden_acc,
    }
    return report, figures


# --------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------


def run(out: Path, *, verbose: bool = True, stream: TextIO | None = None) -> dict[str, Any]:
    """Run the four stages, print the report, write artifacts to ``out``; return the figures.

    Parameters
    ----------
    out : pathlib.Path
        Folder for the artifacts (created if needed): ``registry/``,
        ``lifecycle.json``, ``drift_stable.csv``, ``drift_hidden.csv``,
        ``drift_hidden.png``.
    verbose : bool
        Print the stage-by-stage report.
    stream : text file, optional
        Where to print (default: standard output).

    Returns
    -------
    dict
        The figures, as also written to ``lifecycle.json``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> figures = run(Path(tempfile.mkdtemp()), verbose=False)
    >>> figures["shape"], figures["accuracy_text"], figures["prediction"]
    ([2000, 21], '0.9350', 1)
    """
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    say = _printer(verbose, stream)
    say("mlcourse lifecycle: Data -> Train -> Deploy -> Monitor")
    say("The lesson outline's pipeline, with a real registry, a validating service")
    say("and a per-feature drift check beside the outline's global mean.")

    split, figures = data_stage(say)
    model, trained = train_stage(split, say)
    figures.update(trained)
    registry = out / "registry"
    service, deployed = deploy_stage(model, split, trained["accuracy"], registry, say)
    figures.update(deployed)
    figures.update(monitor_stage(service, split, out, say))

    artifacts = {
        "registry": registry,
        "summary": out / "lifecycle.json",
        "drift_stable": out / "drift_stable.csv",
        "drift_hidden": out / "drift_hidden.csv",
        "drift_plot": out / "drift_hidden.png",
    }
    figures["artifacts"] = {k: str(v) for k, v in artifacts.items()}
    figures["seconds"] = round(time.perf_counter() - started, 2)
    artifacts["summary"].write_text(json.dumps(_plain(figures), indent=2) + "\n", encoding="utf-8")

    say()
    say(f"Artifacts in {out}:")
    say(f"   registry/           {MODEL_NAME} v{deployed['model']['version']} and aliases.json")
    say("   lifecycle.json      the figures of this run")
    say("   drift_stable.csv    per-feature drift, unchanged batch")
    say("   drift_hidden.csv    per-feature drift, changed batch")
    say("   drift_hidden.png    reference vs production for each drifted feature")
    say(f"Done in {figures['seconds']:.1f} s.")
    return figures


def main(out: Path) -> int:
    """Entry point of ``mlcourse lifecycle --out DIR``; returns the exit status.

    A bad ``--out`` (an existing file, or a folder that cannot be created)
    is reported in one line on standard error with status 2.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> f = Path(tempfile.mkdtemp()) / "taken"
    >>> _ = f.write_text("x")
    >>> main(f)
    2
    """
    out = Path(out)
    problem = None
    if out.exists() and not out.is_dir():
        problem = f"--out {out} is a file; choose a folder"
    else:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            problem = f"--out {out} cannot be created ({reason}); choose a folder"
    if problem:
        print(f"mlcourse lifecycle: error: {problem}", file=sys.stderr)
        return 2
    run(out)
    return 0
