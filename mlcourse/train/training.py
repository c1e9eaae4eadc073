"""Stage 2 of the lifecycle: training and evaluation.

Start with a baseline, measure honestly (a held-out test set or stratified
cross-validation), tune with a search, and write down every run so that the
best one can be found and reproduced later.

* :func:`baselines`, :func:`evaluate`, :func:`train_and_evaluate`: the numbers
  to beat and the standard classification metrics (accuracy, precision,
  recall, F1, ROC-AUC, confusion matrix), computed by scikit-learn itself;
* :func:`cross_validate_pipeline`: stratified k-fold cross-validation of a
  whole ``Pipeline``, so preprocessing is refitted inside every fold;
* :func:`grid_search`, :func:`random_search`: thin, seeded wrappers around
  ``GridSearchCV`` and ``RandomizedSearchCV`` that also return a tidy table;
* :func:`log_run`, :func:`load_runs`, :func:`best_run`: a small local
  experiment log, one JSON line per run.

The experiment log is a teaching stand-in for a tracking server. In production
teams use **MLflow** (``mlflow.log_params``, ``mlflow.log_metrics``, a model
registry and a web UI) or **Weights & Biases** (``wandb.init(config=...)``,
``wandb.log``, hosted dashboards). The record kept here (parameters, metrics,
a fingerprint of the training data and the library versions) is the core of
what both of them store.
"""
from __future__ import annotations

import json
import math
import os
import time
import uuid
import warnings
from collections.abc import Mapping
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

__all__ = [
    "METRICS",
    "baselines",
    "evaluate",
    "train_and_evaluate",
    "cross_validate_pipeline",
    "SearchResult",
    "grid_search",
    "random_search",
    "log_run",
    "load_runs",
    "best_run",
]

#: The scalar metrics :func:`evaluate` returns, in order.
METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc")


# --------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------


def _scores(model: Any, X: Any) -> np.ndarray | None:
    """Continuous scores for ROC-AUC: probabilities, else decision values."""
    if hasattr(model, "predict_proba"):
        try:
            proba = model.predict_proba(X)
        except (AttributeError, NotImplementedError):
            proba = None
        if proba is not None:
            return proba
    if hasattr(model, "decision_function"):
        try:
            return model.decision_function(X)
        except (AttributeError, NotImplementedError):
            return None
    return None


def evaluate(model: Any, X: Any, y: Any, *, average: str = "binary", pos_label: Any = 1) -> dict:
    """Score a fitted classifier on ``X, y``.

    Parameters
    ----------
    model : fitted classifier
    X : array-like
    y : array-like
    average : str, default "binary"
        Passed to precision, recall and F1. For more than two classes use
        ``"macro"`` or ``"weighted"`` (ROC-AUC is then one-vs-rest).
    pos_label : default 1
        The positive class for binary metrics.

    Returns
    -------
    dict
        ``accuracy``, ``precision``, ``recall``, ``f1``, ``roc_auc`` and
        ``pr_auc`` (average precision, a step-wise summary of the
        precision-recall curve rather than an area: the headline metric for
        a rare positive class) as plain floats
        (the two AUCs are NaN when the model offers neither
        ``predict_proba`` nor ``decision_function``, or ``y`` holds a single
        class; ``pr_auc`` is binary only), and ``confusion_matrix`` as a
        nested list, rows the true classes and columns the predicted ones, in
        sorted class order.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> m = evaluate(LogisticRegression().fit(X, y), X, y)
    >>> sorted(m)
    ['accuracy', 'confusion_matrix', 'f1', 'pr_auc', 'precision', 'recall', 'roc_auc']
    """
    y = np.asarray(y)
    pred = model.predict(X)
    kw: dict[str, Any] = {"average": average, "zero_division": 0}
    if average == "binary":
        kw["pos_label"] = pos_label
    labels = getattr(model, "classes_", None)
    if labels is None:
        labels = np.unique(np.concatenate([np.unique(y), np.unique(pred)]))
    result = {
        "accuracy": float(accuracy_score(y, pred)),
        "precision": float(precision_score(y, pred, **kw)),
        "recall": float(recall_score(y, pred, **kw)),
        "f1": float(f1_score(y, pred, **kw)),
        "roc_auc": math.nan,
        "pr_auc": math.nan,
        "confusion_matrix": confusion_matrix(y, pred, labels=labels).tolist(),
    }
    scores = _scores(model, X)
    if scores is not None and len(np.unique(y)) >= 2:
        if scores.ndim == 2 and scores.shape[1] == 2:
            # The positive class's column, wherever the model put it.
            col = list(labels).index(pos_label) if pos_label in list(labels) else 1
            scores = scores[:, col]
        elif scores.ndim == 1 and len(labels) == 2 and labels[1] != pos_label:
            # decision_function scores the second class; flip it for the first.
            scores = -scores
        if scores.ndim == 1:
            result["roc_auc"] = float(roc_auc_score(y == pos_label, scores))
            result["pr_auc"] = float(average_precision_score(y == pos_label, scores))
        else:
            result["roc_auc"] = float(roc_auc_score(y, scores, multi_class="ovr", labels=labels))
    return result


def train_and_evaluate(model: Any, X_train: Any, y_train: Any, X_test: Any, y_test: Any, **evaluate_kw: Any) -> dict:
    """Fit ``model`` on the training split and score it on the test split.

    The model is fitted in place, so it can be saved or inspected afterwards.

    Returns
    -------
    dict
        The metrics of :func:`evaluate` on the test split plus
        ``fit_seconds``, the wall-clock time of ``fit``.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import train_test_split
    >>> X, y = make_classification(n_samples=300, random_state=0)
    >>> X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
    >>> result = train_and_evaluate(LogisticRegression(), X_tr, y_tr, X_te, y_te)
    >>> result["accuracy"] > 0.8
    True
    """
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    result = evaluate(model, X_test, y_test, **evaluate_kw)
    result["fit_seconds"] = seconds
    return result


def _logistic_pipeline(X: Any, seed: int) -> Pipeline:
    """Logistic regression on scaled numbers, one-hot encoding any text."""
    model = LogisticRegression(max_iter=1000, random_state=seed)
    if isinstance(X, pd.DataFrame):
        text = X.select_dtypes(exclude=["number", "bool"]).columns
        if len(text):
            from sklearn.compose import make_column_transformer
            from sklearn.preprocessing import OneHotEncoder

            pre = make_column_transformer(
                (OneHotEncoder(handle_unknown="ignore"), list(text)),
                remainder=StandardScaler(),
            )
            return make_pipeline(pre, model)
    return make_pipeline(StandardScaler(), model)


def baselines(X_train: Any, y_train: Any, X_test: Any, y_test: Any, *, seed: int = 0) -> pd.DataFrame:
    """Fit the simple models every real model must beat.

    * ``dummy (most_frequent)``: always predicts the majority class. On a
      table with 3 % fraud it scores 97 % accuracy and catches nothing, which
      is why accuracy alone is misleading on imbalanced data.
    * ``dummy (stratified)``: guesses at random with the class proportions.
    * ``logistic regression``: a linear model in a ``Pipeline`` with
      ``StandardScaler`` (text columns of a DataFrame are one-hot encoded).

    Returns
    -------
    pandas.DataFrame
        One row per model (index ``model``), columns ``accuracy``,
        ``precision``, ``recall``, ``f1``, ``roc_auc``, ``pr_auc`` and ``fit_seconds``.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.model_selection import train_test_split
    >>> X, y = make_classification(n_samples=300, random_state=0)
    >>> X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
    >>> list(baselines(X_tr, y_tr, X_te, y_te).index)
    ['dummy (most_frequent)', 'dummy (stratified)', 'logistic regression']
    """
    models = {
        "dummy (most_frequent)": DummyClassifier(strategy="most_frequent"),
        "dummy (stratified)": DummyClassifier(strategy="stratified", random_state=seed),
        "logistic regression": _logistic_pipeline(X_train, seed),
    }
    rows = []
    for name, model in models.items():
        result = train_and_evaluate(model, X_train, y_train, X_test, y_test)
        rows.append({"model": name, **{m: result[m] for m in METRICS}, "fit_seconds": result["fit_seconds"]})
    return pd.DataFrame(rows).set_index("model")


# --------------------------------------------------------------------------
# Cross-validation and search
# --------------------------------------------------------------------------


def _folds(n_splits: int, seed: int) -> StratifiedKFold:
    if not isinstance(n_splits, (int, np.integer)) or n_splits < 2:
        raise ValueError(f"n_splits must be an integer of at least 2; got {n_splits!r}")
    return StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)


def cross_validate_pipeline(
    pipeline: BaseEstimator,
    X: Any,
    y: Any,
    *,
    n_splits: int = 5,
    seed: int = 0,
    scoring: str = "roc_auc",
) -> dict:
    """Stratified k-fold cross-validation of a whole pipeline.

    Passing the pipeline, not a pre-processed ``X``, matters: scalers,
    imputers and encoders are refitted on each training fold, so nothing from
    a validation fold leaks into its own preprocessing. Stratified, shuffled
    folds keep the class balance of a rare label in every fold.

    Returns
    -------
    dict
        ``scoring``, ``n_splits``, ``scores`` (one float per fold), ``mean``,
        ``std`` and ``fit_seconds`` (per fold).

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, y = make_classification(n_samples=300, random_state=0)
    >>> cv = cross_validate_pipeline(make_pipeline(StandardScaler(), LogisticRegression()), X, y, n_splits=3)
    >>> len(cv["scores"])
    3
    """
    out = cross_validate(pipeline, X, y, cv=_folds(n_splits, seed), scoring=scoring, error_score="raise")
    scores = [float(s) for s in out["test_score"]]
    return {
        "scoring": scoring if isinstance(scoring, str) else repr(scoring),
        "n_splits": int(n_splits),
        "scores": scores,
        "mean": float(np.mean(scores)),
        "std": float(np.std(scores)),
        "fit_seconds": [float(s) for s in out["fit_time"]],
    }


class SearchResult(NamedTuple):
    """What :func:`grid_search` and :func:`random_search` return.

    Unpacks as ``search, results = grid_search(...)``.

    Attributes
    ----------
    search : GridSearchCV or RandomizedSearchCV
        The fitted search; ``search.best_estimator_`` is refitted on all data.
    results : pandas.DataFrame
        One row per candidate, best first: ``rank``, ``mean_score``,
        ``std_score``, ``params`` (a dict) and one column per parameter.
    """

    search: Any
    results: pd.DataFrame

    @property
    def best_params(self) -> dict:
        return dict(self.search.best_params_)

    @property
    def best_score(self) -> float:
        return float(self.search.best_score_)


def _tidy(search: Any) -> pd.DataFrame:
    cv = search.cv_results_
    table = pd.DataFrame({
        "rank": np.asarray(cv["rank_test_score"], dtype=int),
        "mean_score": np.asarray(cv["mean_test_score"], dtype=float),
        "std_score": np.asarray(cv["std_test_score"], dtype=float),
        "params": list(cv["params"]),
    })
    params = pd.DataFrame(list(cv["params"]))
    table = pd.concat([table, params], axis=1)
    return table.sort_values(["rank", "mean_score"], ascending=[True, False], kind="stable").reset_index(drop=True)


def grid_search(
    pipeline: BaseEstimator,
    param_grid: Mapping[str, Any] | list,
    X: Any,
    y: Any,
    *,
    n_splits: int = 5,
    seed: int = 0,
    scoring: str = "roc_auc",
    n_jobs: int | None = None,
    **search_kw: Any,
) -> SearchResult:
    """Try every combination in ``param_grid`` with stratified k-fold CV.

    Parameters
    ----------
    pipeline : estimator
        Usually a ``Pipeline``; name parameters as ``"step__param"``.
    param_grid : dict or list of dict
    X, y : array-like
    n_splits, seed, scoring, n_jobs
        As in :func:`cross_validate_pipeline`.
    **search_kw
        Passed on to ``GridSearchCV``.

    Returns
    -------
    SearchResult
        ``(search, results)``; ``.best_params`` and ``.best_score`` too.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, y = make_classification(n_samples=300, random_state=0)
    >>> pipe = make_pipeline(StandardScaler(), LogisticRegression())
    >>> search, results = grid_search(pipe, {"logisticregression__C": [0.01, 1.0]}, X, y, n_splits=3)
    >>> list(results.columns[:4])
    ['rank', 'mean_score', 'std_score', 'params']
    """
    search = GridSearchCV(pipeline, param_grid, cv=_folds(n_splits, seed), scoring=scoring, n_jobs=n_jobs,
                          error_score="raise", **search_kw)
    search.fit(X, y)
    return SearchResult(search, _tidy(search))


def random_search(
    pipeline: BaseEstimator,
    param_distributions: Mapping[str, Any] | list,
    X: Any,
    y: Any,
    n_iter: int = 10,
    *,
    n_splits: int = 5,
    seed: int = 0,
    scoring: str = "roc_auc",
    n_jobs: int | None = None,
    **search_kw: Any,
) -> SearchResult:
    """Try ``n_iter`` random candidates from ``param_distributions``.

    Values may be lists (sampled uniformly) or scipy distributions such as
    ``scipy.stats.loguniform(1e-3, 1e2)``. The same ``seed`` draws the same
    candidates and the same folds, so the search is reproducible. Random
    search often finds a good region with far fewer fits than a full grid.

    Returns
    -------
    SearchResult
        ``(search, results)`` as in :func:`grid_search`.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X, y = make_classification(n_samples=300, random_state=0)
    >>> result = random_search(DecisionTreeClassifier(random_state=0), {"max_depth": [1, 2, 3, 4, 5]}, X, y, n_iter=3, n_splits=3)
    >>> len(result.results)
    3
    """
    search = RandomizedSearchCV(pipeline, param_distributions, n_iter=n_iter, cv=_folds(n_splits, seed),
                                scoring=scoring, n_jobs=n_jobs, random_state=seed, error_score="raise",
                                **search_kw)
    search.fit(X, y)
    return SearchResult(search, _tidy(search))


# --------------------------------------------------------------------------
# Experiment log
# --------------------------------------------------------------------------


def _jsonable(obj: Any) -> Any:
    """Plain JSON types for numpy scalars, arrays, dates, paths and estimators."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj, key=repr) if isinstance(obj, (set, frozenset)) else obj
        return [_jsonable(v) for v in items]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, float):
        # Strict JSON has no NaN or Infinity; null reads back as missing.
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, (str, bool, int)):
        return obj
    if isinstance(obj, (datetime, date, pd.Timestamp)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    # Estimators in a parameter grid and similar objects: keep their repr.
    return repr(obj)


def _default_log(path: str | os.PathLike | None) -> Path:
    if path is not None:
        return Path(path)
    from mlcourse.paths import run_log

    return run_log()


def log_run(
    params: Mapping[str, Any],
    metrics: Mapping[str, Any],
    *,
    data_fingerprint: str | None = None,
    model: str | None = None,
    tags: Mapping[str, Any] | None = None,
    path: str | os.PathLike | None = None,
) -> dict:
    """Append one run to the experiment log, as one line of JSON.

    Parameters
    ----------
    params : dict
        The settings of the run (hyperparameters, split sizes, seed, ...).
    metrics : dict
        Its results, e.g. the output of :func:`train_and_evaluate`.
    data_fingerprint : str, optional
        :func:`mlcourse.data.validation.fingerprint` of the training data, so a
        result can be tied to the exact data it came from.
    model : str, optional
        A short name of the model.
    tags : dict, optional
        Free-form labels (``{"stage": "baseline"}``).
    path : str or Path, optional
        The log file. Default: :func:`mlcourse.paths.run_log`, under
        ``$MLCOURSE_HOME``.

    Returns
    -------
    dict
        The record written: ``run_id``, ``timestamp`` (UTC, ISO 8601),
        ``model``, ``params``, ``metrics``, ``data_fingerprint``, ``tags``,
        ``mlcourse_version``, ``sklearn_version``.

    Notes
    -----
    The file is only ever appended to, each record in a single write, so an
    interrupted run can at worst leave one broken last line, which
    :func:`load_runs` skips with a warning. numpy scalars and arrays become
    plain numbers and lists; NaN becomes ``null``.

    Examples
    --------
    >>> import os, tempfile
    >>> os.environ["MLCOURSE_HOME"] = tempfile.mkdtemp()
    >>> record = log_run({"max_depth": 3}, {"f1": 0.71}, model="tree")
    >>> load_runs()["metrics.f1"].tolist()
    [0.71]
    """
    import sklearn

    from mlcourse import __version__

    for name, value in (("params", params), ("metrics", metrics), ("tags", tags)):
        if value is not None and not isinstance(value, Mapping):
            raise TypeError(f"log_run: {name} must be a dict, not {type(value).__name__}")
    record = {
        "run_id": uuid.uuid4().hex,
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
        "model": model,
        "params": _jsonable(dict(params)),
        "metrics": _jsonable(dict(metrics)),
        "data_fingerprint": data_fingerprint,
        "tags": _jsonable(dict(tags or {})),
        "mlcourse_version": __version__,
        "sklearn_version": sklearn.__version__,
    }
    line = json.dumps(record, allow_nan=False, sort_keys=False) + "\n"
    target = _default_log(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        prefix = b""
        size = os.fstat(fd).st_size
        if size:
            # A run killed mid-write leaves no final newline; start a fresh
            # line so this record is not glued onto the broken one.
            with open(target, "rb") as f:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    prefix = b"\n"
        os.write(fd, prefix + line.encode("utf-8"))
    finally:
        os.close(fd)
    return record


def _read_records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    records = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                warnings.warn(f"{path}: skipping corrupt line {lineno} ({exc.msg})", RuntimeWarning, stacklevel=3)
                continue
            if not isinstance(record, dict):
                warnings.warn(f"{path}: skipping corrupt line {lineno} (not a JSON object)", RuntimeWarning,
                              stacklevel=3)
                continue
            records.append(record)
    return records


_BASE_COLUMNS = ["run_id", "timestamp", "model", "data_fingerprint", "mlcourse_version", "sklearn_version"]


def load_runs(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read the experiment log into a table, one row per run.

    ``params``, ``metrics`` and ``tags`` are flattened into columns such as
    ``params.max_depth`` and ``metrics.f1``. A line that is not valid JSON is
    skipped with a ``RuntimeWarning`` naming its line number; a missing log
    gives an empty table.

    Examples
    --------
    >>> import os, tempfile
    >>> os.environ["MLCOURSE_HOME"] = tempfile.mkdtemp()
    >>> _ = log_run({"C": 1.0}, {"roc_auc": 0.9})
    >>> list(load_runs().filter(like="."))
    ['params.C', 'metrics.roc_auc']
    """
    records = _read_records(_default_log(path))
    if not records:
        return pd.DataFrame(columns=_BASE_COLUMNS)
    rows = []
    for r in records:
        row = {k: r.get(k) for k in _BASE_COLUMNS}
        for group in ("params", "metrics", "tags"):
            values = r.get(group) or {}
            if isinstance(values, dict):
                row.update({f"{group}.{k}": v for k, v in values.items()})
        rows.append(row)
    table = pd.DataFrame(rows)
    table["timestamp"] = pd.to_datetime(table["timestamp"], errors="coerce", utc=True, format="ISO8601")
    order = _BASE_COLUMNS + [c for g in ("params.", "metrics.", "tags.") for c in table.columns if c.startswith(g)]
    return table[order]


def best_run(metric: str, path: str | os.PathLike | None = None, *, greater_is_better: bool = True) -> dict:
    """The logged run with the best value of ``metric``.

    Parameters
    ----------
    metric : str
        A metric name, with or without the ``metrics.`` prefix.
    path : str or Path, optional
        The log file (default: the one :func:`log_run` writes).
    greater_is_better : bool, default True
        False for losses and errors.

    Returns
    -------
    dict
        The run's record as written by :func:`log_run`. Ties go to the
        earlier run; runs where the metric is missing or not a number are
        ignored.

    Raises
    ------
    ValueError
        If no run logged ``metric``.

    Examples
    --------
    >>> import os, tempfile
    >>> os.environ["MLCOURSE_HOME"] = tempfile.mkdtemp()
    >>> _ = log_run({"C": 0.1}, {"f1": 0.6}); _ = log_run({"C": 1.0}, {"f1": 0.7})
    >>> best_run("f1")["params"]
    {'C': 1.0}
    """
    name = metric[len("metrics."):] if metric.startswith("metrics.") else metric
    best: dict | None = None
    best_value = 0.0
    seen: set[str] = set()
    for record in _read_records(_default_log(path)):
        metrics = record.get("metrics")
        if not isinstance(metrics, dict):
            continue
        seen.update(metrics)
        value = metrics.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        if best is None or (value > best_value if greater_is_better else value < best_value):
            best, best_value = record, value
    if best is None:
        known = ", ".join(sorted(seen)) or "none"
        raise ValueError(f"no logged run has a numeric metric {name!r} (metrics logged: {known})")
    return best
