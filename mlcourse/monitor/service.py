"""Stage 4, monitoring a running service from its prediction log.

The serving app writes one row per request into a SQLite prediction log;
ground truth arrives later in a second table::

    predictions(id INTEGER PRIMARY KEY, ts REAL /* unix seconds */, request_id TEXT,
                model_version TEXT, features TEXT /* JSON object */,
                prediction REAL /* NULL on error */, score REAL /* P(class 1), NULL on error */,
                latency_ms REAL, status TEXT /* 'ok' | 'error' */, error TEXT)
    labels(request_id TEXT PRIMARY KEY, label INTEGER, arrived_at REAL /* unix seconds */)

Everything here reads that log (a path, an open ``sqlite3`` connection, an
object with a ``.path`` such as the serving app's ``PredictionLog``, or a
frame already read) and answers, per time window:

============================  =====================================================
:func:`service_metrics`       requests, throughput, error rate, latency p50/p95/p99
:func:`prediction_metrics`    the score distribution, positive rate, null outputs
:func:`performance_metrics`   precision, recall, ROC-AUC, PR-AUC once labels arrive
:func:`window_metrics`        the three above, side by side, one row per window
:func:`evaluate_alerts`       declarative threshold alerts (:class:`Alert`) per window
:class:`ProcessSampler`       the process's CPU and memory (system metrics)
:func:`dashboard`             one figure, the panels side by side
:func:`monitor`               all of the above in one call
============================  =====================================================

:func:`simulate_log` writes a realistic log (with the exact schema) from a
model and :func:`mlcourse.data.production_stream` batches, so a lesson can
monitor weeks of traffic without running a server for weeks.

Examples
--------
>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "log.db")
>>> conn = create_log(path)
>>> _ = conn.executemany(
...     "INSERT INTO predictions (ts, request_id, model_version, features, prediction, score,"
...     " latency_ms, status, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
...     [(0.0, "a", "m:v1", "{}", 1, 0.9, 12.0, "ok", None),
...      (1.0, "b", "m:v1", "{}", 0, 0.2, 30.0, "ok", None),
...      (2.0, "c", "m:v1", "{}", None, None, 2.0, "error", "bad input")])
>>> conn.commit()
>>> hour = service_metrics(path, window="1h").iloc[0]
>>> int(hour["requests"]), int(hour["errors"]), float(hour["latency_p50_ms"])
(3, 1, 21.0)
"""
from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from mlcourse.deploy.prediction_log import time_window
from mlcourse.monitor.thresholds import Threshold

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "DEFAULT_ALERTS",
    "SCHEMA",
    "Alert",
    "MonitoringSnapshot",
    "ProcessSampler",
    "create_log",
    "dashboard",
    "evaluate_alerts",
    "feature_frame",
    "monitor",
    "performance_metrics",
    "prediction_metrics",
    "read_labels",
    "read_predictions",
    "sample_process",
    "service_metrics",
    "simulate_log",
    "system_metrics",
    "window_metrics",
]

#: The prediction log's tables, exactly as the serving app writes them.
SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    id INTEGER PRIMARY KEY,
    ts REAL,
    request_id TEXT,
    model_version TEXT,
    features TEXT,
    prediction REAL,
    score REAL,
    latency_ms REAL,
    status TEXT,
    error TEXT
);
CREATE TABLE IF NOT EXISTS labels (request_id TEXT PRIMARY KEY, label INTEGER, arrived_at REAL);
"""

PREDICTION_COLUMNS = ["id", "ts", "request_id", "model_version", "features", "prediction", "score",
                      "latency_ms", "status", "error"]
LABEL_COLUMNS = ["request_id", "label", "arrived_at"]

LogSource = Any  # str | os.PathLike | sqlite3.Connection | PredictionLog-like | pandas.DataFrame


# --------------------------------------------------------------------------- reading


def create_log(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Create (or open) a prediction log with the serving schema and return a connection.

    Meant for tests, exercises and :func:`simulate_log`; the serving app
    creates its own log.

    Examples
    --------
    >>> import tempfile, os
    >>> conn = create_log(os.path.join(tempfile.mkdtemp(), "log.db"))
    >>> sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"))
    ['labels', 'predictions']
    """
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    conn.commit()
    return conn


def _open(db: LogSource) -> tuple[sqlite3.Connection, bool]:
    """A connection and whether we must close it."""
    if isinstance(db, sqlite3.Connection):
        return db, False
    if hasattr(db, "path") and not isinstance(db, (str, os.PathLike)):
        if hasattr(db, "flush"):  # a live PredictionLog: write what it has queued
            db.flush()
        db = db.path
    if isinstance(db, (str, os.PathLike)):
        path = Path(db).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"no prediction log at {path}")
        # Read-only: monitoring must never create or change the log.
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True), True
    raise TypeError(
        "expected a path to the prediction log, a sqlite3 connection, a PredictionLog "
        f"or a DataFrame, got {type(db).__name__}"
    )


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def _check_table(conn: sqlite3.Connection, table: str, needed: Sequence[str]) -> None:
    have = _columns(conn, table)
    if not have:
        raise ValueError(f"the database has no {table!r} table; is it a prediction log?")
    missing = [c for c in needed if c not in have]
    if missing:
        raise ValueError(f"the {table!r} table lacks column(s) {missing}")


def _seconds(value: Any) -> float:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.timestamp()


def read_predictions(db: LogSource, since: Any = None, until: Any = None) -> pd.DataFrame:
    """The ``predictions`` table as a DataFrame, oldest first, with a UTC ``time`` column.

    Parameters
    ----------
    db : path, sqlite3.Connection, PredictionLog or DataFrame
        The log. A DataFrame (say from ``PredictionLog.read()``) is checked
        and returned with ``time`` added.
    since, until : time, optional
        Keep rows with ``since <= ts < until``: unix seconds, a datetime, a
        Timestamp or an ISO string (naive times are UTC).

    Returns
    -------
    DataFrame
        ``id, ts, request_id, model_version, features, prediction, score,
        latency_ms, status, error, time``.

    Raises
    ------
    ValueError
        The database is not a prediction log (a missing table or column).
    """
    if isinstance(db, pd.DataFrame):
        missing = [c for c in ("ts", "latency_ms", "status", "prediction", "score") if c not in db.columns]
        if missing:
            raise ValueError(f"the predictions frame lacks column(s) {missing}")
        frame = db.copy()
        if since is not None:
            frame = frame[frame["ts"] >= _seconds(since)]
        if until is not None:
            frame = frame[frame["ts"] < _seconds(until)]
    else:
        conn, close = _open(db)
        try:
            _check_table(conn, "predictions", PREDICTION_COLUMNS)
            where, params = time_window("ts", since, until, _seconds)
            sql = f"SELECT {', '.join(PREDICTION_COLUMNS)} FROM predictions" + where
            rows = conn.execute(sql + " ORDER BY ts, id", params).fetchall()
        finally:
            if close:
                conn.close()
        frame = pd.DataFrame.from_records(rows, columns=PREDICTION_COLUMNS)
    for col in ("ts", "prediction", "score", "latency_ms"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    frame["time"] = pd.to_datetime(frame["ts"], unit="s", utc=True)
    return frame.reset_index(drop=True)


def read_labels(db: LogSource, as_of: Any = None) -> pd.DataFrame:
    """The ``labels`` table: ``request_id, label, arrived_at``.

    ``as_of`` keeps only the labels that had arrived by then (unix seconds,
    datetime or ISO string), which is how a backtest replays label delay.
    A DataFrame input with a ``label`` column (``PredictionLog.read()``) is
    reduced to its labelled rows.
    """
    if isinstance(db, pd.DataFrame):
        if "label" not in db.columns:
            raise ValueError("the frame has no 'label' column")
        arrived = "arrived_at" if "arrived_at" in db.columns else "label_arrived_at"
        frame = db.loc[db["label"].notna(), ["request_id", "label"]].copy()
        frame["arrived_at"] = db.loc[frame.index, arrived] if arrived in db.columns else np.nan
    else:
        conn, close = _open(db)
        try:
            _check_table(conn, "labels", LABEL_COLUMNS)
            rows = conn.execute("SELECT request_id, label, arrived_at FROM labels").fetchall()
        finally:
            if close:
                conn.close()
        frame = pd.DataFrame.from_records(rows, columns=LABEL_COLUMNS)
    frame["arrived_at"] = pd.to_numeric(frame["arrived_at"], errors="coerce").astype("float64")
    if as_of is not None:
        frame = frame[frame["arrived_at"] <= _seconds(as_of)]
    frame["label"] = frame["label"].astype("int64")
    return frame.reset_index(drop=True)


def feature_frame(predictions: pd.DataFrame, *, ok_only: bool = True) -> pd.DataFrame:
    """The served inputs, one column per feature, parsed from the ``features`` JSON.

    Feed it to :func:`mlcourse.monitor.drift.drift_report` to compare what the
    model is asked today with what it was trained on.

    Examples
    --------
    >>> log = pd.DataFrame({"features": ['{"x": 1.5, "kind": "a"}', '{"x": 2.0, "kind": "b"}'],
    ...                     "status": ["ok", "ok"]})
    >>> feature_frame(log)
         x kind
    0  1.5    a
    1  2.0    b
    """
    rows = predictions
    if ok_only and "status" in rows.columns:
        rows = rows[rows["status"] == "ok"]
    parsed = [json.loads(t) if isinstance(t, str) else {} for t in rows["features"]]
    return pd.DataFrame([p if isinstance(p, dict) else {} for p in parsed])


# --------------------------------------------------------------------------- windows


def _window_seconds(window: str) -> float:
    try:
        seconds = pd.Timedelta(window).total_seconds()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"window must be a fixed length such as '15min', '1h' or '1D', got {window!r}") from exc
    if seconds <= 0:
        raise ValueError(f"window must be positive, got {window!r}")
    return seconds


def _bucket(frame: pd.DataFrame, window: str) -> pd.Series:
    _window_seconds(window)
    return frame["time"].dt.floor(window).rename("window")


def _full_range(index: pd.Index, window: str, start: Any = None, end: Any = None) -> pd.DatetimeIndex:
    """Every window from the first to the last, so quiet windows show as zero traffic."""
    lo = index.min() if start is None else pd.Timestamp(start, tz="UTC").floor(window)
    hi = index.max() if end is None else pd.Timestamp(end, tz="UTC").floor(window)
    return pd.date_range(lo, hi, freq=window, name="window")


def _nonempty(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        raise ValueError("the prediction log has no rows in this period (an empty window)")
    return frame


def service_metrics(db: LogSource, window: str = "1h", *, since: Any = None, until: Any = None) -> pd.DataFrame:
    """Traffic, errors and latency per time window.

    Parameters
    ----------
    db : path, connection, PredictionLog or DataFrame
        The prediction log.
    window : str
        A fixed window length: ``"15min"``, ``"1h"``, ``"1D"``...
    since, until : time, optional
        Restrict to ``since <= ts < until``.

    Returns
    -------
    DataFrame
        Indexed by window start (UTC), every window from the first to the
        last request (quiet windows have 0 requests and NaN latency):
        ``requests, ok, errors, error_rate, throughput_rps,
        latency_p50_ms, latency_p95_ms, latency_p99_ms, latency_max_ms,
        error_latency_p95_ms``.
        Latency percentiles are over the successful requests (numpy's
        default linear interpolation); a fast rejection should not make the
        service look quick. The failed requests' latency is tracked on its
        own, ``error_latency_p95_ms`` (NaN in a window without errors): a
        failure that takes seconds (a timeout) hurts users twice, and hides
        in the error rate.

    Raises
    ------
    ValueError
        An empty log or period.

    Examples
    --------
    >>> log = pd.DataFrame({"ts": [0.0, 10.0, 20.0, 3600.0], "latency_ms": [10.0, 20.0, 30.0, 5.0],
    ...                     "status": ["ok", "ok", "ok", "error"], "prediction": [0, 1, 0, None],
    ...                     "score": [0.1, 0.7, 0.2, None]})
    >>> service_metrics(log)[["requests", "error_rate", "latency_p50_ms"]].to_dict("list")
    {'requests': [3, 1], 'error_rate': [0.0, 1.0], 'latency_p50_ms': [20.0, nan]}
    """
    frame = _nonempty(read_predictions(db, since, until))
    key = _bucket(frame, window)
    ok = frame["status"] == "ok"
    grouped = frame.groupby(key)
    out = pd.DataFrame({"requests": grouped.size(), "ok": ok.groupby(key).sum()})
    index = _full_range(out.index, window)
    out = out.reindex(index, fill_value=0).astype("int64")
    out["errors"] = out["requests"] - out["ok"]
    out["error_rate"] = out["errors"] / out["requests"].where(out["requests"] > 0)
    out["throughput_rps"] = out["requests"] / _window_seconds(window)
    lat = frame.loc[ok, "latency_ms"].groupby(key[ok])
    quant = lat.quantile([0.5, 0.95, 0.99]).unstack() if ok.any() else pd.DataFrame(columns=[0.5, 0.95, 0.99])
    for q, name in ((0.5, "latency_p50_ms"), (0.95, "latency_p95_ms"), (0.99, "latency_p99_ms")):
        out[name] = quant[q].reindex(index).astype("float64") if q in quant else np.nan
    out["latency_max_ms"] = lat.max().reindex(index).astype("float64") if ok.any() else np.nan
    failed = frame.loc[~ok, "latency_ms"].groupby(key[~ok])
    out["error_latency_p95_ms"] = failed.quantile(0.95).reindex(index).astype("float64") if (~ok).any() else np.nan
    return out


def prediction_metrics(
    db: LogSource,
    window: str = "1h",
    *,
    since: Any = None,
    until: Any = None,
    reference_scores: Sequence[float] | None = None,
) -> pd.DataFrame:
    """What the model answered, per window: the score distribution and null outputs.

    A model that starts answering NaN, or whose scores slide, is often the
    first visible sign of trouble: labels arrive days later, scores at once.

    Parameters
    ----------
    reference_scores : sequence of float, optional
        Scores on the reference (training or validation) data; adds
        ``score_psi``, the PSI of each window's scores against them
        (:func:`mlcourse.monitor.drift.psi`).

    Returns
    -------
    DataFrame
        Per window: ``predictions`` (successful requests),
        ``null_outputs`` (successful requests whose prediction or score is
        NULL: a silent failure), ``null_rate`` (null outputs over successful
        requests; failed ones are counted by the error rate), ``positive_rate`` (share predicted class 1),
        ``score_mean``, ``score_p10``, ``score_p50``, ``score_p90`` and,
        with ``reference_scores``, ``score_psi``.

    Examples
    --------
    >>> log = pd.DataFrame({"ts": [0.0, 1.0, 2.0], "latency_ms": [1.0, 1.0, 1.0],
    ...                     "status": ["ok", "ok", "error"], "prediction": [1, None, None],
    ...                     "score": [0.8, None, None]})
    >>> prediction_metrics(log)[["predictions", "null_outputs", "null_rate"]].iloc[0].to_dict()
    {'predictions': 2.0, 'null_outputs': 1.0, 'null_rate': 0.5}
    """
    frame = _nonempty(read_predictions(db, since, until))
    key = _bucket(frame, window)
    ok = frame["status"] == "ok"
    null = frame["prediction"].isna() | frame["score"].isna()
    good = ok & ~null
    index = _full_range(key, window)
    out = pd.DataFrame(index=index)
    out["predictions"] = ok.groupby(key).sum().reindex(index, fill_value=0).astype("int64")
    out["null_outputs"] = (ok & null).groupby(key).sum().reindex(index, fill_value=0).astype("int64")
    out["null_rate"] = out["null_outputs"] / out["predictions"].where(out["predictions"] > 0)
    scores = frame.loc[good, "score"].groupby(key[good])
    out["positive_rate"] = (frame.loc[good, "prediction"] == 1).groupby(key[good]).mean().reindex(index)
    out["score_mean"] = scores.mean().reindex(index)
    if good.any():
        quant = scores.quantile([0.1, 0.5, 0.9]).unstack().reindex(index)
        out["score_p10"], out["score_p50"], out["score_p90"] = quant[0.1], quant[0.5], quant[0.9]
    else:
        out["score_p10"] = out["score_p50"] = out["score_p90"] = np.nan
    if reference_scores is not None:
        from mlcourse.monitor.drift import psi

        ref = np.asarray(reference_scores, dtype=float)
        values = {w: psi(ref, s.to_numpy(), categorical=False).statistic for w, s in scores if len(s)}
        out["score_psi"] = pd.Series(values, dtype="float64").reindex(index)
    return out.astype({c: "float64" for c in out.columns if c not in ("predictions", "null_outputs")})


def _metric_block(y: np.ndarray, pred: np.ndarray, score: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    n = y.size
    out = {"accuracy": math.nan, "precision": math.nan, "recall": math.nan, "f1": math.nan,
           "roc_auc": math.nan, "pr_auc": math.nan}
    if n == 0:
        return out
    tp = int(np.sum((pred == 1) & (y == 1)))
    fp = int(np.sum((pred == 1) & (y == 0)))
    fn = int(np.sum((pred == 0) & (y == 1)))
    out["accuracy"] = float(np.mean(pred == y))
    out["precision"] = tp / (tp + fp) if tp + fp else math.nan
    out["recall"] = tp / (tp + fn) if tp + fn else math.nan
    if tp + fp and tp + fn:
        p, r = out["precision"], out["recall"]
        out["f1"] = 2 * p * r / (p + r) if p + r else 0.0
    if 0 < y.sum() < n:
        out["roc_auc"] = float(roc_auc_score(y, score))
        out["pr_auc"] = float(average_precision_score(y, score))
    return out


def performance_metrics(
    db: LogSource,
    window: str = "1D",
    *,
    labels: pd.DataFrame | LogSource | None = None,
    as_of: Any = None,
    threshold: float | None = None,
    since: Any = None,
    until: Any = None,
) -> pd.DataFrame:
    """Model quality per window of prediction time, from the labels that have arrived.

    Labels come late (a chargeback takes days), so recent windows are
    partly labelled or not at all; ``label_coverage`` says how much of each
    window the numbers rest on. Precision and recall use the logged class
    (or ``score >= threshold``); ROC-AUC and PR-AUC use the score. With 3 %
    fraud, accuracy is about 0.97 for a model that never says "fraud", so
    watch PR-AUC (average precision) and recall instead.

    Parameters
    ----------
    labels : DataFrame or log, optional
        Defaults to the ``labels`` table of ``db``.
    as_of : time, optional
        Use only labels that had arrived by then.
    threshold : float, optional
        Recompute the class from the score at this threshold.

    Returns
    -------
    DataFrame
        Per window: ``predictions, labelled, label_coverage, fraud_rate,
        accuracy, precision, recall, f1, roc_auc, pr_auc`` (NaN where a
        window has no labels, or a single class for the AUCs).
    """
    everything = _nonempty(read_predictions(db, since, until))
    index = _full_range(_bucket(everything, window), window)
    lab = read_labels(db if labels is None else labels, as_of)
    good = (everything["status"] == "ok") & everything["score"].notna() & everything["prediction"].notna()
    frame = everything[good]
    joined = frame.merge(lab[["request_id", "label"]], on="request_id", how="inner")
    rows = {}
    for w, part in (joined.groupby(_bucket(joined, window)) if len(joined) else ()):
        y = part["label"].to_numpy(dtype=int)
        score = part["score"].to_numpy(dtype=float)
        if threshold is not None:
            pred = (score >= threshold).astype(int)
        else:
            pred = part["prediction"].to_numpy(dtype=float).astype(int)
        rows[w] = {"labelled": len(part), "fraud_rate": float(y.mean()), **_metric_block(y, pred, score)}
    out = pd.DataFrame.from_dict(rows, orient="index")
    columns = ["labelled", "fraud_rate", "accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc"]
    out = out.reindex(index=index, columns=columns)
    served = frame.groupby(_bucket(frame, window)).size() if len(frame) else pd.Series(dtype="int64")
    out.insert(0, "predictions", served.reindex(index, fill_value=0).astype("int64"))
    out["labelled"] = out["labelled"].fillna(0).astype("int64")
    out.insert(2, "label_coverage", out["labelled"] / out["predictions"].where(out["predictions"] > 0))
    out.index.name = "window"
    return out


def window_metrics(
    db: LogSource,
    window: str = "1h",
    *,
    since: Any = None,
    until: Any = None,
    as_of: Any = None,
    reference_scores: Sequence[float] | None = None,
    with_performance: bool = True,
) -> pd.DataFrame:
    """:func:`service_metrics`, :func:`prediction_metrics` and (when the log
    has labels) :func:`performance_metrics` side by side, one row per window:
    the table :func:`evaluate_alerts` checks."""
    predictions = _nonempty(read_predictions(db, since, until))
    table = service_metrics(predictions, window)
    pred = prediction_metrics(predictions, window, reference_scores=reference_scores)
    table = table.join(pred, how="outer")
    has_labels = not isinstance(db, pd.DataFrame) or "label" in db.columns
    if with_performance and has_labels:
        labels = read_labels(db, as_of)
        if len(labels):
            perf = performance_metrics(predictions, window, labels=labels)
            table = table.join(perf.drop(columns=["predictions"]), how="outer")
    return table


# --------------------------------------------------------------------------- alerts

@dataclass(frozen=True)
class Alert(Threshold):
    """A threshold rule on one metric, checked in every window.

    Parameters
    ----------
    metric : str
        A column of the metrics table (``"latency_p95_ms"``, ``"error_rate"``...).
    op : {">", ">=", "<", "<="}
        The alert fires when ``value op threshold``.
    threshold : float
    name : str, optional
        A label for reports (default: the rule written out).
    min_requests : int
        Skip windows with fewer requests: a p99 over five requests is noise.

    Examples
    --------
    >>> slo = Alert("latency_p95_ms", ">", 250)
    >>> slo.check(300.0), slo.check(120.0), slo.check(float("nan"))
    (True, False, None)
    >>> Alert.parse("error_rate >= 0.02")
    Alert(metric='error_rate', op='>=', threshold=0.02, name=None, min_requests=0)
    """

    name: str | None = None
    min_requests: int = 0

    kind: ClassVar[str] = "alert"

    @property
    def label(self) -> str:
        return self.name or f"{self.metric} {self.op} {self.threshold:g}"

    def check(self, value: Any) -> bool | None:
        """True if the alert fires, False if not, None when there is no value."""
        if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
            return None
        return self.holds(value)


#: A starting rule set: a latency SLO, errors, silent null outputs, no traffic.
DEFAULT_ALERTS: tuple[Alert, ...] = (
    Alert("latency_p95_ms", ">", 250.0, name="latency SLO: p95 > 250 ms", min_requests=20),
    Alert("error_rate", ">", 0.02, name="error rate > 2 %", min_requests=20),
    Alert("null_rate", ">", 0.02, name="null outputs > 2 %", min_requests=20),
    Alert("requests", "<", 1.0, name="no traffic"),
)


def evaluate_alerts(table: pd.DataFrame, alerts: Iterable[Alert | str] = DEFAULT_ALERTS) -> pd.DataFrame:
    """Check every alert in every window of a metrics table.

    Parameters
    ----------
    table : DataFrame
        One row per window (from :func:`window_metrics`, or any of the
        metric functions, or your own).
    alerts : iterable of Alert or str
        Strings are parsed with :meth:`Alert.parse`.

    Returns
    -------
    DataFrame
        One row per (window, alert): ``window, alert, metric, value,
        threshold, fired`` and ``status`` (``"fired"``, ``"ok"``, or
        ``"no data"`` when the value is missing or the window has fewer
        than ``min_requests`` requests).

    Raises
    ------
    ValueError
        An alert names a metric the table does not have.

    Examples
    --------
    >>> table = pd.DataFrame({"requests": [100, 100], "latency_p95_ms": [120.0, 310.0]},
    ...                      index=pd.Index(["09:00", "10:00"], name="window"))
    >>> evaluate_alerts(table, ["latency_p95_ms > 250"])[["window", "value", "status"]]
      window  value status
    0  09:00  120.0     ok
    1  10:00  310.0  fired
    """
    rules = [a if isinstance(a, Alert) else Alert.parse(a) for a in alerts]
    unknown = sorted({a.metric for a in rules} - set(table.columns))
    if unknown:
        raise ValueError(f"alert metric(s) {unknown} not in the table; available: {sorted(table.columns)}")
    rows = []
    for window, row in table.iterrows():
        requests = row.get("requests", np.nan)
        for rule in rules:
            value = row[rule.metric]
            fired = rule.check(value)
            if rule.min_requests and not (pd.notna(requests) and requests >= rule.min_requests):
                fired = None
            rows.append({
                "window": window, "alert": rule.label, "metric": rule.metric,
                "value": float(value) if pd.notna(value) else np.nan,
                "threshold": float(rule.threshold), "fired": bool(fired),
                "status": "no data" if fired is None else ("fired" if fired else "ok"),
            })
    return pd.DataFrame(rows, columns=["window", "alert", "metric", "value", "threshold", "fired", "status"])


# --------------------------------------------------------------------------- system metrics


def _process_reader(pid: int | None) -> Callable[[], tuple[float, float, int]]:
    """A function returning (cpu seconds used, resident MB, threads) for a process."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with ipykernel
        psutil = None
    if psutil is not None:
        proc = psutil.Process(pid)

        def read() -> tuple[float, float, int]:
            with proc.oneshot():
                t = proc.cpu_times()
                return t.user + t.system, proc.memory_info().rss / 2**20, proc.num_threads()

        return read
    if pid not in (None, os.getpid()):  # pragma: no cover
        raise RuntimeError("sampling another process needs psutil")

    def read_self() -> tuple[float, float, int]:  # pragma: no cover - fallback
        t = os.times()
        try:
            pages = int(Path("/proc/self/statm").read_text().split()[1])
            rss = pages * os.sysconf("SC_PAGE_SIZE") / 2**20
        except OSError:
            import resource

            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return t.user + t.system, rss, threading.active_count()

    return read_self


class ProcessSampler:
    """Sample a process's CPU and memory in a background thread.

    Use it around a workload (a load test, a batch of predictions)::

        with ProcessSampler(interval=0.05) as sampler:
            run_the_load_test()
        sampler.frame   # time, cpu_percent, rss_mb, threads

    ``cpu_percent`` is CPU time used per wall-clock time since the previous
    sample (100 = one core busy; up to 100 x cores). Uses psutil when
    installed (it comes with Jupyter), else the process's own counters.

    Parameters
    ----------
    interval : float
        Seconds between samples.
    pid : int, optional
        The process to watch (default: this one).
    """

    def __init__(self, interval: float = 0.1, pid: int | None = None) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.interval = float(interval)
        self._read = _process_reader(pid)
        self._rows: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: tuple[float, float] | None = None

    def sample(self) -> dict[str, Any]:
        """Take one sample now (also usable without the thread)."""
        wall = time.monotonic()
        cpu, rss, threads = self._read()
        percent = math.nan
        if self._last is not None and wall > self._last[0]:
            percent = 100.0 * (cpu - self._last[1]) / (wall - self._last[0])
        self._last = (wall, cpu)
        row = {"time": pd.Timestamp.now(tz="UTC"), "cpu_percent": percent, "rss_mb": rss, "threads": threads}
        self._rows.append(row)
        return row

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def start(self) -> ProcessSampler:
        self.sample()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="mlcourse-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> pd.DataFrame:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()
        return self.frame

    def __enter__(self) -> ProcessSampler:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def frame(self) -> pd.DataFrame:
        """The samples so far: ``time, cpu_percent, rss_mb, threads`` (first cpu is NaN)."""
        return pd.DataFrame(self._rows, columns=["time", "cpu_percent", "rss_mb", "threads"])


def sample_process(duration: float = 1.0, interval: float = 0.1, *, pid: int | None = None,
                   work: Callable[[], Any] | None = None) -> pd.DataFrame:
    """Sample a process for ``duration`` seconds, or while ``work()`` runs.

    Examples
    --------
    >>> frame = sample_process(0.2, 0.05)
    >>> list(frame.columns), bool((frame["rss_mb"] > 0).all())
    (['time', 'cpu_percent', 'rss_mb', 'threads'], True)
    """
    sampler = ProcessSampler(interval, pid)
    with sampler:
        if work is not None:
            work()
        else:
            time.sleep(duration)
    return sampler.frame


def system_metrics(samples: pd.DataFrame, window: str | None = None) -> pd.DataFrame:
    """Summarise CPU and memory samples (from :class:`ProcessSampler` or any
    frame with ``time``, ``cpu_percent`` and ``rss_mb``), per window.

    Returns ``cpu_mean, cpu_max, rss_max_mb`` per window, or for the whole
    series when ``window`` is None (one row).
    """
    missing = [c for c in ("time", "cpu_percent", "rss_mb") if c not in samples.columns]
    if missing:
        raise ValueError(f"the samples lack column(s) {missing}")
    if samples.empty:
        raise ValueError("no system samples (an empty window)")
    frame = samples.assign(time=pd.to_datetime(samples["time"], utc=True))
    if window:
        key = frame["time"].dt.floor(window).rename("window")
    else:
        key = pd.Series("all", index=frame.index, name="window")
    g = frame.groupby(key)
    return pd.DataFrame({"cpu_mean": g["cpu_percent"].mean(), "cpu_max": g["cpu_percent"].max(),
                         "rss_max_mb": g["rss_mb"].max()})


# --------------------------------------------------------------------------- the dashboard


@dataclass
class MonitoringSnapshot:
    """What :func:`monitor` found: the metrics table, the alerts, the raw rows.

    ``.table`` has one row per window; ``.alerts`` one row per (window,
    alert); ``.fired`` only the alerts that fired; ``.plot()`` draws the
    dashboard.
    """

    table: pd.DataFrame
    alerts: pd.DataFrame
    predictions: pd.DataFrame = field(repr=False)
    system: pd.DataFrame | None = field(default=None, repr=False)
    slo_ms: float | None = None

    @property
    def fired(self) -> pd.DataFrame:
        return self.alerts[self.alerts["fired"]].reset_index(drop=True)

    def summary(self) -> str:
        n = len(self.table)
        fired = self.fired
        what = ", ".join(sorted(fired["alert"].unique())) if len(fired) else "none"
        requests = int(self.table["requests"].sum())
        return f"{n} windows, {requests} requests; alerts fired in {fired['window'].nunique()} windows: {what}"

    def plot(self, **kwargs: Any) -> Figure:
        return dashboard(self, **kwargs)


def monitor(
    db: LogSource,
    window: str = "1h",
    *,
    alerts: Iterable[Alert | str] = DEFAULT_ALERTS,
    since: Any = None,
    until: Any = None,
    as_of: Any = None,
    reference_scores: Sequence[float] | None = None,
    system: pd.DataFrame | None = None,
    slo_ms: float | None = 250.0,
) -> MonitoringSnapshot:
    """Read the log once and compute everything the dashboard shows.

    Examples
    --------
    >>> log = pd.DataFrame({"ts": np.arange(0, 7200, 60.0), "latency_ms": 5.0, "status": "ok",
    ...                     "prediction": 0.0, "score": 0.1})
    >>> snap = monitor(log, "1h")
    >>> len(snap.table), len(snap.fired)
    (2, 0)
    """
    predictions = _nonempty(read_predictions(db, since, until))
    labels = read_labels(db, as_of) if not isinstance(db, pd.DataFrame) or "label" in db.columns else None
    table = service_metrics(predictions, window).join(
        prediction_metrics(predictions, window, reference_scores=reference_scores), how="outer")
    if labels is not None and len(labels):
        perf = performance_metrics(predictions, window, labels=labels)
        table = table.join(perf.drop(columns=["predictions"]), how="outer")
    checked = evaluate_alerts(table, alerts)
    return MonitoringSnapshot(table=table, alerts=checked, predictions=predictions, system=system, slo_ms=slo_ms)


_PANEL_OF_METRIC = {
    "latency": "latency", "requests": "traffic", "throughput": "traffic", "error": "traffic",
    "ok": "traffic", "null": "predictions", "score": "predictions", "positive": "predictions",
    "predictions": "predictions", "cpu": "system", "rss": "system",
}


def dashboard(
    table: pd.DataFrame | MonitoringSnapshot,
    *,
    system: pd.DataFrame | None = None,
    alerts: pd.DataFrame | None = None,
    slo_ms: float | None = None,
    metrics: Sequence[str] = ("pr_auc", "precision", "recall"),
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """One figure, the monitoring panels side by side.

    Panels: latency p50/p95/p99 (with the SLO line); traffic and error
    rate; the score distribution over time (p10-p90 band, median) and the
    null outputs; model quality once labels arrive (with label coverage);
    the process's CPU and memory. Windows where an alert fired are shaded
    red on the panel of its metric.

    Parameters
    ----------
    table : DataFrame or MonitoringSnapshot
        Per-window metrics (:func:`window_metrics`) or a snapshot.
    system : DataFrame, optional
        Samples with ``time, cpu_percent, rss_mb`` (:class:`ProcessSampler`).
    alerts : DataFrame, optional
        The output of :func:`evaluate_alerts`.
    slo_ms : float, optional
        Draw the latency objective.
    metrics : sequence of str
        Quality metrics to draw when present.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    if isinstance(table, MonitoringSnapshot):
        snap = table
        return dashboard(snap.table, system=snap.system if system is None else system,
                         alerts=snap.alerts if alerts is None else alerts,
                         slo_ms=snap.slo_ms if slo_ms is None else slo_ms, metrics=metrics, figsize=figsize)
    panels = ["latency", "traffic", "predictions", "quality", "system"]
    fig = Figure(figsize=figsize or (4.0 * len(panels), 3.4), layout="constrained")
    axes = dict(zip(panels, fig.subplots(1, len(panels), squeeze=False)[0]))
    x = table.index
    width = (x[1] - x[0]) if len(x) > 1 else pd.Timedelta("1h")

    ax = axes["latency"]
    for col, style in (("latency_p50_ms", "-"), ("latency_p95_ms", "--"), ("latency_p99_ms", ":")):
        if col in table:
            ax.plot(x, table[col], style, label=col.split("_")[1])
    if slo_ms is not None:
        ax.axhline(slo_ms, color="crimson", lw=1, label=f"SLO {slo_ms:g} ms")
    ax.set_title("Latency (ms)")
    ax.legend(fontsize=7)

    ax = axes["traffic"]
    if "throughput_rps" in table:
        ax.bar(x, table["throughput_rps"], width=width * 0.9, color="tab:blue", alpha=0.5, align="edge")
        ax.set_ylabel("requests / s", fontsize=8)
    if "error_rate" in table:
        twin = ax.twinx()
        twin.plot(x, table["error_rate"] * 100, color="tab:red", marker=".", lw=1)
        twin.set_ylabel("error rate (%)", fontsize=8, color="tab:red")
    ax.set_title("Traffic and errors")

    ax = axes["predictions"]
    if {"score_p10", "score_p90"} <= set(table.columns):
        ax.fill_between(x, table["score_p10"], table["score_p90"], alpha=0.3, step="post", label="score p10-p90")
        ax.plot(x, table["score_p50"], drawstyle="steps-post", label="median score")
    if "null_outputs" in table:
        nulls = int(table["null_outputs"].sum())
        errors = int(table["errors"].sum()) if "errors" in table else 0
        ax.text(0.02, 0.95, f"null outputs: {nulls}\nerrors: {errors}", transform=ax.transAxes,
                va="top", fontsize=8)
    ax.set_title("Predictions")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper right")

    ax = axes["quality"]
    shown = [m for m in metrics if m in table and table[m].notna().any()]
    for m in shown:
        ax.plot(x, table[m], marker=".", label=m)
    if "label_coverage" in table and shown:
        ax.plot(x, table["label_coverage"], color="grey", lw=1, ls=":", label="labelled share")
    if not shown:
        ax.text(0.5, 0.5, "no labels yet", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Model quality (delayed labels)")
    if shown:
        ax.legend(fontsize=7)

    ax = axes["system"]
    if system is not None and len(system):
        t = pd.to_datetime(system["time"], utc=True)
        ax.plot(t, system["cpu_percent"], color="tab:orange", label="CPU %")
        ax.set_ylabel("CPU %", fontsize=8, color="tab:orange")
        twin = ax.twinx()
        twin.plot(t, system["rss_mb"], color="tab:green", label="RSS MB")
        twin.set_ylabel("memory (MB)", fontsize=8, color="tab:green")
    else:
        ax.text(0.5, 0.5, "no system samples", ha="center", va="center", transform=ax.transAxes)
    ax.set_title("Process CPU and memory")

    if alerts is not None and len(alerts):
        for _, row in alerts[alerts["fired"]].iterrows():
            metric = str(row["metric"])
            panel = next((p for prefix, p in _PANEL_OF_METRIC.items() if metric.startswith(prefix)), "quality")
            start = row["window"]
            if isinstance(start, pd.Timestamp):
                axes[panel].axvspan(start, start + width, color="red", alpha=0.12, lw=0)

    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    for ax in axes.values():
        locator = AutoDateLocator(maxticks=6)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        ax.tick_params(axis="both", labelsize=7)
    return fig


# --------------------------------------------------------------------------- simulation


def _unix(times: pd.Series) -> np.ndarray:
    """Unix seconds of a datetime column (naive times are UTC)."""
    t = pd.to_datetime(times)
    if t.dt.tz is None:
        t = t.dt.tz_localize("UTC")
    return (t - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()


def simulate_log(
    db: str | os.PathLike[str] | sqlite3.Connection,
    model: Any,
    batches: Sequence[Any],
    *,
    model_version: str = "fraud:v1",
    seed: int = 0,
    latency_ms: float = 8.0,
    latency_sigma: float = 0.5,
    slow: Mapping[int, float] | None = None,
    error_rate: float = 0.002,
    null_rate: float = 0.0,
    label_share: float = 1.0,
    threshold: float = 0.5,
) -> dict[str, int]:
    """Write what a service would have logged while serving ``batches``.

    Each transaction becomes one request at its own timestamp, answered by
    ``model`` (``predict_proba``); its label arrives on the batch's
    ``labels_available_on`` day, at a random time of that day.

    Parameters
    ----------
    db : path or sqlite3.Connection
        The log; created with :data:`SCHEMA` if needed.
    model : fitted classifier
        Takes the batch's feature frame.
    batches : sequence of mlcourse.data.Batch
        From :func:`mlcourse.data.production_stream`.
    latency_ms, latency_sigma : float
        Lognormal latency: median and log-scale spread.
    slow : mapping day -> factor, optional
        Multiply latency on those stream days (a slow dependency, say).
    error_rate : float
        Share of requests that fail (no prediction; ``status='error'``).
    null_rate : float
        Share of successful requests whose output is NULL (a silent bug).
    label_share : float
        Share of requests whose label ever arrives.
    threshold : float
        Score at which the logged class is 1.

    Returns
    -------
    dict
        ``{"predictions": n, "errors": n, "labels": n}``.
    """
    rng = np.random.default_rng(seed)
    own = not isinstance(db, sqlite3.Connection)
    conn = create_log(db) if own else db
    if not own:
        conn.executescript(SCHEMA)
    slow = dict(slow or {})
    n_pred = n_err = n_lab = 0
    try:
        for batch in batches:
            feats = batch.features
            n = len(feats)
            scores = np.asarray(model.predict_proba(feats))[:, 1]
            ts = _unix(feats["timestamp"])
            latency = latency_ms * np.exp(latency_sigma * rng.standard_normal(n)) * slow.get(batch.day, 1.0)
            failed = rng.random(n) < error_rate
            nulled = (~failed) & (rng.random(n) < null_rate)
            payload = feats.assign(timestamp=feats["timestamp"].astype(str))
            records = payload.to_dict("records")
            ids = feats["transaction_id"].astype(str).tolist() if "transaction_id" in feats else \
                [f"d{batch.day}-{i}" for i in range(n)]
            rows = []
            for i in range(n):
                if failed[i]:
                    rows.append((ts[i], ids[i], model_version, json.dumps(records[i]), None, None,
                                 float(latency[i]) * 0.2, "error", "model raised an exception"))
                elif nulled[i]:
                    rows.append((ts[i], ids[i], model_version, json.dumps(records[i]), None, None,
                                 float(latency[i]), "ok", None))
                else:
                    rows.append((ts[i], ids[i], model_version, json.dumps(records[i]),
                                 float(scores[i] >= threshold), float(scores[i]), float(latency[i]), "ok", None))
            conn.executemany(
                "INSERT INTO predictions (ts, request_id, model_version, features, prediction, score, "
                "latency_ms, status, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            n_pred += n
            n_err += int(failed.sum())
            arrive = _seconds(batch.labels_available_on)
            known = rng.random(n) < label_share
            when = arrive + rng.uniform(0, 86_400, n)
            labels = batch.labels.to_numpy()
            lab_rows = [(ids[i], int(labels[i]), float(when[i])) for i in np.flatnonzero(known)]
            conn.executemany(
                "INSERT OR REPLACE INTO labels (request_id, label, arrived_at) VALUES (?, ?, ?)", lab_rows)
            n_lab += len(lab_rows)
        conn.commit()
    finally:
        if own:
            conn.close()
    return {"predictions": n_pred, "errors": n_err, "labels": n_lab}
