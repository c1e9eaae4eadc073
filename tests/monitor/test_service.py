"""mlcourse.monitor.service: metrics, alerts and the dashboard from a prediction log.

The test logs are written here with the serving app's schema, straight
through sqlite3, so these tests do not depend on the serving code.
"""
from __future__ import annotations

import json
import math
import sqlite3
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, precision_score, recall_score, roc_auc_score

from mlcourse.monitor.service import (
    DEFAULT_ALERTS,
    Alert,
    MonitoringSnapshot,
    ProcessSampler,
    dashboard,
    evaluate_alerts,
    feature_frame,
    monitor,
    performance_metrics,
    prediction_metrics,
    read_labels,
    read_predictions,
    sample_process,
    service_metrics,
    simulate_log,
    system_metrics,
    window_metrics,
)

# The serving app's tables, verbatim from the deploy issue.
SERVING_SCHEMA = """
CREATE TABLE predictions(id INTEGER PRIMARY KEY, ts REAL, request_id TEXT, model_version TEXT,
                         features TEXT, prediction REAL, score REAL, latency_ms REAL, status TEXT, error TEXT);
CREATE TABLE labels(request_id TEXT PRIMARY KEY, label INTEGER, arrived_at REAL);
"""
T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC
HOUR = 3600.0


def _insert(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    conn.executemany(
        "INSERT INTO predictions (ts, request_id, model_version, features, prediction, score, latency_ms,"
        " status, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


@pytest.fixture()
def log(tmp_path):
    """Three busy hours, a quiet fourth, a fifth with a latency spike; labels for the first two hours."""
    rng = np.random.default_rng(7)
    path = tmp_path / "predictions.db"
    conn = sqlite3.connect(path)
    conn.executescript(SERVING_SCHEMA)
    rows, labels = [], []
    truth = {}
    for hour, n in ((0, 120), (1, 100), (2, 80), (4, 60)):
        for i in range(n):
            rid = f"h{hour}-{i}"
            ts = T0 + hour * HOUR + (i + 0.5) * (HOUR / n)
            y = int(rng.random() < 0.2)
            score = float(np.clip(0.3 * y + rng.random() * 0.7, 0, 1))
            latency = float(rng.lognormal(np.log(20), 0.3)) * (15 if hour == 4 else 1)
            feats = json.dumps({"amount": float(rng.lognormal(3, 1)), "channel": ["chip", "online"][i % 2]})
            if i % 25 == 3:  # errors: no prediction
                rows.append((ts, rid, "m:v1", feats, None, None, 1.0, "error", "invalid input"))
            elif i % 40 == 7:  # ok but a null output: a silent failure
                rows.append((ts, rid, "m:v1", feats, None, None, latency, "ok", None))
            else:
                rows.append((ts, rid, "m:v1", feats, float(score >= 0.5), score, latency, "ok", None))
            truth[rid] = y
            if hour <= 1:
                labels.append((rid, y, T0 + (24 + hour) * HOUR))
    _insert(conn, rows)
    conn.executemany("INSERT INTO labels (request_id, label, arrived_at) VALUES (?, ?, ?)", labels)
    conn.commit()
    conn.close()
    return path


def _frame(path) -> pd.DataFrame:
    with sqlite3.connect(path) as conn:
        return pd.read_sql("SELECT * FROM predictions", conn)


# --------------------------------------------------------------------------- reading


def test_read_from_path_connection_object_and_frame(log) -> None:
    by_path = read_predictions(log)
    assert len(by_path) == 360 and list(by_path["ts"]) == sorted(by_path["ts"])
    assert str(by_path["time"].dt.tz) == "UTC"
    conn = sqlite3.connect(log)
    try:
        pd.testing.assert_frame_equal(read_predictions(conn), by_path)
    finally:
        conn.close()

    class LiveLog:  # what the serving app's PredictionLog offers: a path and flush()
        def __init__(self, path):
            self.path, self.flushed = path, False

        def flush(self):
            self.flushed = True

    live = LiveLog(log)
    assert len(read_predictions(live)) == 360 and live.flushed
    assert len(read_predictions(_frame(log))) == 360
    hour1 = read_predictions(log, since=T0 + HOUR, until=pd.Timestamp(T0 + 2 * HOUR, unit="s"))
    assert len(hour1) == 100


def test_reading_never_creates_or_changes_a_log(tmp_path, log) -> None:
    missing = tmp_path / "nope.db"
    with pytest.raises(FileNotFoundError, match="no prediction log"):
        read_predictions(missing)
    assert not missing.exists()
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(ValueError, match="no 'predictions' table"):
        read_predictions(other)
    bad = tmp_path / "bad.db"
    sqlite3.connect(bad).execute("CREATE TABLE predictions (id INTEGER, ts REAL)").connection.close()
    with pytest.raises(ValueError, match="lacks column"):
        read_predictions(bad)
    with pytest.raises(TypeError, match="prediction log"):
        read_predictions(42)


def test_labels_as_of_replays_the_delay(log) -> None:
    assert len(read_labels(log)) == 220
    assert len(read_labels(log, as_of=T0 + 24.5 * HOUR)) == 120  # only hour 0's labels are in
    assert len(read_labels(log, as_of="2026-01-01 12:00")) == 0


def test_feature_frame_parses_the_json(log) -> None:
    feats = feature_frame(read_predictions(log))
    ok = int((read_predictions(log)["status"] == "ok").sum())
    assert list(feats.columns) == ["amount", "channel"] and len(feats) == ok
    assert set(feats["channel"]) == {"chip", "online"}


# --------------------------------------------------------------------------- service metrics


def test_service_metrics_by_hand(log) -> None:
    frame = _frame(log)
    table = service_metrics(log, "1h")
    assert len(table) == 5  # hours 0..4, the quiet hour 3 included
    assert table["requests"].tolist() == [120, 100, 80, 0, 60]
    quiet = table.iloc[3]
    assert quiet["requests"] == 0 and math.isnan(quiet["latency_p95_ms"]) and math.isnan(quiet["error_rate"])
    for i, hour in enumerate((0, 1, 2)):
        part = frame[(frame["ts"] >= T0 + hour * HOUR) & (frame["ts"] < T0 + (hour + 1) * HOUR)]
        ok = part[part["status"] == "ok"]["latency_ms"]
        row = table.iloc[i]
        assert row["errors"] == (part["status"] == "error").sum()
        assert row["error_rate"] == pytest.approx((part["status"] == "error").mean())
        assert row["throughput_rps"] == pytest.approx(len(part) / 3600)
        for q, col in ((50, "latency_p50_ms"), (95, "latency_p95_ms"), (99, "latency_p99_ms")):
            assert row[col] == pytest.approx(np.percentile(ok, q))
        # the failed requests' latency has its own column, never mixed into the percentiles above
        failed = part[part["status"] == "error"]["latency_ms"]
        if len(failed):
            assert row["error_latency_p95_ms"] == pytest.approx(np.percentile(failed, 95))
        else:
            assert math.isnan(row["error_latency_p95_ms"])
    assert table.iloc[4]["latency_p95_ms"] > 10 * table.iloc[0]["latency_p95_ms"]
    # a coarser window adds up
    assert service_metrics(log, "1D")["requests"].tolist() == [360]


def test_bad_windows_and_empty_periods(log) -> None:
    with pytest.raises(ValueError, match="window"):
        service_metrics(log, "monthly")
    with pytest.raises(ValueError, match="empty window"):
        service_metrics(log, "1h", since=T0 + 100 * HOUR)


# --------------------------------------------------------------------------- predictions


def test_prediction_metrics_count_null_outputs(log) -> None:
    frame = _frame(log)
    table = prediction_metrics(log, "1h", reference_scores=frame["score"].dropna().to_numpy())
    part = frame[frame["ts"] < T0 + HOUR]
    ok = part["status"] == "ok"
    null = part["score"].isna()
    row = table.iloc[0]
    assert row["predictions"] == ok.sum()
    assert row["null_outputs"] == (ok & null).sum() > 0
    assert row["null_rate"] == pytest.approx((ok & null).sum() / ok.sum())  # errors have their own rate
    good = part[ok & ~null]
    assert row["score_p50"] == pytest.approx(good["score"].median())
    assert row["positive_rate"] == pytest.approx((good["prediction"] == 1).mean())
    assert (table["score_psi"].dropna() >= 0).all() and np.isnan(table.iloc[3]["score_psi"])


# --------------------------------------------------------------------------- performance


def test_performance_once_labels_arrive(log) -> None:
    frame = _frame(log)
    labels = dict(sqlite3.connect(log).execute("SELECT request_id, label FROM labels").fetchall())
    table = performance_metrics(log, "1h")
    assert table["labelled"].tolist() == [
        sum(1 for r in frame.itertuples() if r.request_id in labels and r.request_id.startswith(f"h{h}-")
            and r.status == "ok" and not math.isnan(r.score))
        for h in (0, 1)
    ] + [0, 0, 0]
    part = frame[(frame["ts"] < T0 + HOUR) & (frame["status"] == "ok") & frame["score"].notna()]
    y = part["request_id"].map(labels).to_numpy()
    row = table.iloc[0]
    assert row["label_coverage"] == 1.0
    assert row["precision"] == pytest.approx(precision_score(y, part["prediction"]))
    assert row["recall"] == pytest.approx(recall_score(y, part["prediction"]))
    assert row["roc_auc"] == pytest.approx(roc_auc_score(y, part["score"]))
    assert row["pr_auc"] == pytest.approx(average_precision_score(y, part["score"]))
    assert np.isnan(table.iloc[2]["pr_auc"]) and table.iloc[2]["label_coverage"] == 0
    early = performance_metrics(log, "1h", as_of=T0 + 24.5 * HOUR)
    assert early["labelled"].iloc[1] == 0 and early["labelled"].iloc[0] == row["labelled"]
    # a threshold recomputes the class from the score
    strict = performance_metrics(log, "1h", threshold=0.9).iloc[0]
    assert strict["recall"] <= row["recall"]


# --------------------------------------------------------------------------- alerts


def test_alert_rules() -> None:
    rule = Alert.parse("latency_p95_ms > 250")
    assert rule == Alert("latency_p95_ms", ">", 250.0)
    assert rule.check(251) is True and rule.check(250) is False and rule.check(np.nan) is None
    assert Alert("x", "<=", 1).check(1) is True
    with pytest.raises(ValueError, match="op must be"):
        Alert("x", "=>", 1)
    with pytest.raises(ValueError, match="finite"):
        Alert("x", ">", float("nan"))
    with pytest.raises(ValueError, match="metric op number"):
        Alert.parse("latency high")
    with pytest.raises(ValueError, match="must be a number"):
        Alert.parse("latency > high")


def test_alerts_fire_in_the_right_windows(log) -> None:
    table = window_metrics(log, "1h")
    checked = evaluate_alerts(table, DEFAULT_ALERTS)
    assert len(checked) == len(table) * len(DEFAULT_ALERTS)
    fired = checked[checked["fired"]]
    latency = fired[fired["metric"] == "latency_p95_ms"]
    assert [w.hour for w in latency["window"]] == [4]  # the spike
    assert [w.hour for w in fired.loc[fired["metric"] == "requests", "window"]] == [3]  # the quiet hour
    errors = checked[checked["metric"] == "error_rate"]
    assert errors["fired"].any() == (table["error_rate"] > 0.02).any()
    quiet = checked[(checked["metric"] == "latency_p95_ms") & (checked["window"].map(lambda w: w.hour) == 3)]
    assert quiet["status"].tolist() == ["no data"]
    with pytest.raises(ValueError, match=r"not in the table.*available"):
        evaluate_alerts(table, ["latency_p999_ms > 1"])
    few = evaluate_alerts(table, [Alert("latency_p95_ms", ">", 0, min_requests=100)])
    assert few["status"].tolist() == ["fired", "fired", "no data", "no data", "no data"]


# --------------------------------------------------------------------------- system metrics


def test_process_sampler_sees_cpu_and_memory() -> None:
    def busy() -> None:
        end = time.process_time() + 0.3
        x = 0
        while time.process_time() < end:
            x += 1

    with ProcessSampler(interval=0.05) as sampler:
        busy()
    frame = sampler.frame
    assert len(frame) >= 3 and math.isnan(frame["cpu_percent"].iloc[0])
    assert (frame["rss_mb"] > 10).all() and (frame["threads"] >= 1).all()
    assert frame["cpu_percent"].max() > 20  # a busy loop uses CPU, whatever else the machine does
    summary = system_metrics(frame)
    assert summary["cpu_max"].iloc[0] == pytest.approx(frame["cpu_percent"].max())
    assert len(sample_process(0.12, 0.03)) >= 3
    with pytest.raises(ValueError, match="lack column"):
        system_metrics(frame.drop(columns="rss_mb"))
    with pytest.raises(ValueError, match="interval"):
        ProcessSampler(0)


# --------------------------------------------------------------------------- dashboard and monitor


def test_monitor_and_dashboard(log) -> None:
    from matplotlib.figure import Figure

    system = pd.DataFrame({"time": pd.date_range("2026-01-01", periods=5, freq="1h", tz="UTC"),
                           "cpu_percent": [10, 20, 30, 5, 90], "rss_mb": [100, 101, 102, 102, 140]})
    snap = monitor(log, "1h", system=system, slo_ms=250)
    assert isinstance(snap, MonitoringSnapshot)
    assert {"latency_p95_ms", "error_rate", "null_rate", "pr_auc", "label_coverage"} <= set(snap.table.columns)
    assert set(snap.fired["metric"]) >= {"latency_p95_ms", "requests"}
    assert "360 requests" in snap.summary()
    fig = snap.plot()
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["Latency (ms)", "Traffic and errors", "Predictions", "Model quality (delayed labels)",
                      "Process CPU and memory"]
    latency_ax = fig.axes[0]
    assert len(latency_ax.patches) >= 1  # the fired SLO alert is shaded
    bare = dashboard(service_metrics(log, "1h"))
    assert "no labels yet" in [t.get_text() for t in bare.axes[3].texts]


def test_simulated_log_from_the_stream(tmp_path) -> None:
    from mlcourse.data.generate import production_stream
    from mlcourse.train.fraud_model import make_fraud_model

    history = production_stream(n_days=10, rows_per_day=300, seed=3)
    model = make_fraud_model().fit(pd.concat([b.features for b in history]), pd.concat([b.labels for b in history]))
    batches = production_stream(n_days=4, rows_per_day=200, seed=4, start="2026-05-01", label_delay_days=2)
    path = tmp_path / "sim.db"
    counts = simulate_log(path, model, batches, slow={3: 20.0}, error_rate=0.01, null_rate=0.01, seed=1)
    assert counts["predictions"] == 800 and counts["labels"] == 800 and 0 < counts["errors"] < 40
    daily = service_metrics(path, "1D")
    assert daily["requests"].tolist() == [200] * 4
    assert daily["latency_p50_ms"].iloc[3] > 10 * daily["latency_p50_ms"].iloc[0]
    perf = performance_metrics(path, "1D")
    assert perf["label_coverage"].between(0.9, 1.0).all()
    assert perf["pr_auc"].notna().all()
    # as of the third day, only the first day's labels (two days' delay) have arrived
    early = performance_metrics(path, "1D", as_of="2026-05-03 00:00")
    assert early["labelled"].iloc[0] == 0
    assert early["labelled"].iloc[1:].sum() == 0
    later = performance_metrics(path, "1D", as_of="2026-05-04 00:00")
    assert later["labelled"].iloc[0] > 0 and later["labelled"].iloc[1:].sum() == 0
    feats = feature_frame(read_predictions(path))
    assert {"amount", "channel", "merchant_category"} <= set(feats.columns)


def test_reads_what_the_serving_prediction_log_writes(tmp_path) -> None:
    # The serving app's own writer (mlcourse.deploy.prediction_log), end to end.
    from mlcourse.deploy.prediction_log import PredictionLog

    with PredictionLog(tmp_path / "served.db", flush_interval=0.01) as plog:
        for i in range(50):
            plog.write(request_id=f"r{i}", model_version="fraud:v1", features={"amount": float(i)},
                       prediction=float(i % 5 == 0), score=0.9 if i % 5 == 0 else 0.1,
                       latency_ms=10.0 + i, ts=T0 + 60 * i)
        plog.write(request_id="bad", model_version="fraud:v1", features={"amount": "x"},
                   latency_ms=1.0, status="error", error="amount: not a number", ts=T0 + 10)
        plog.add_labels({f"r{i}": int(i % 5 == 0) for i in range(0, 50, 2)}, arrived_at=T0 + 86_400)
        table = service_metrics(plog, "1h")  # a live log object: flushed, then read
        assert table["requests"].sum() == 51 and table["errors"].sum() == 1
        assert table["latency_p50_ms"].iloc[0] == pytest.approx(np.percentile(10.0 + np.arange(50), 50))
        perf = performance_metrics(plog.path, "1D")
        assert perf["labelled"].iloc[0] == 25 and perf["pr_auc"].iloc[0] == 1.0
        assert len(read_labels(plog.read())) == 25  # the log's own joined frame works too
        assert feature_frame(read_predictions(plog))["amount"].tolist() == [float(i) for i in range(50)]
