"""mlcourse.deploy.prediction_log: the exact schema, batched background writes in WAL mode, delayed labels."""
from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime, timezone

import pandas as pd
import pytest

from mlcourse.deploy.prediction_log import PredictionLog

PREDICTIONS_SQL = (
    "CREATE TABLE predictions (id INTEGER PRIMARY KEY, ts REAL NOT NULL /* unix seconds */, "
    "request_id TEXT NOT NULL, model_version TEXT NOT NULL, features TEXT /* JSON object */, "
    "prediction REAL /* label, NULL on error */, score REAL /* probability of class 1, NULL on error */, "
    "latency_ms REAL NOT NULL, status TEXT NOT NULL /* 'ok' or 'error' */, error TEXT)"
)
LABELS_SQL = "CREATE TABLE labels (request_id TEXT PRIMARY KEY, label INTEGER NOT NULL, arrived_at REAL NOT NULL)"


def _row(i: int, **kw):
    row = dict(request_id=f"r{i}", model_version="m:v1", features={"x": float(i), "c": "a"},
               prediction=i % 2, score=0.1 * (i % 10), latency_ms=0.5, ts=1_000.0 + i)
    row.update(kw)
    return row


def test_schema_is_exactly_the_agreed_one(tmp_path) -> None:
    path = tmp_path / "p.db"
    PredictionLog(path)
    conn = sqlite3.connect(path)
    tables = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall())
    assert tables["predictions"] == PREDICTIONS_SQL
    assert tables["labels"] == LABELS_SQL
    index = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'predictions'").fetchall()
    assert any("(ts)" in sql for (sql,) in index)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_default_path_follows_mlcourse_home(isolated_home) -> None:
    assert PredictionLog().path == isolated_home / "predictions.db"


def test_writes_are_batched_off_the_caller(tmp_path, monkeypatch) -> None:
    log = PredictionLog(tmp_path / "p.db", batch_size=100, flush_interval=5.0)
    batches: list[int] = []
    gate = threading.Event()
    original = PredictionLog._insert

    def slow_insert(self, conn, rows):
        gate.wait(10)  # the database is "slow": write() must not wait for it
        batches.append(len(rows))
        original(self, conn, rows)

    monkeypatch.setattr(PredictionLog, "_insert", slow_insert)
    for i in range(450):
        log.write(**_row(i))
    assert log.written == 0  # every write returned while the writer was still blocked
    gate.set()
    log.flush()
    assert sum(batches) == 450 and max(batches) <= 100 and len(batches) <= 10
    assert log.written == 450 and len(log) == 450
    log.close()


def test_flush_interval_writes_without_an_explicit_flush(tmp_path) -> None:
    log = PredictionLog(tmp_path / "p.db", flush_interval=0.01)
    log.write(**_row(1))
    reader = sqlite3.connect(tmp_path / "p.db")
    for _ in range(500):
        if reader.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == 1:
            break
        threading.Event().wait(0.01)
    assert reader.execute("SELECT request_id FROM predictions").fetchall() == [("r1",)]
    log.close()


def test_close_writes_what_is_queued_and_writing_again_restarts(tmp_path) -> None:
    path = tmp_path / "p.db"
    with PredictionLog(path, flush_interval=60) as log:
        for i in range(5):
            log.write(**_row(i))
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == 5
    log.write(**_row(5))
    log.close()
    assert len(PredictionLog(path)) == 6


def test_read_joins_labels_and_filters_by_time(tmp_path) -> None:
    log = PredictionLog(tmp_path / "p.db")
    for i in range(6):
        log.write(**_row(i))
    log.write(request_id="bad", model_version="m:v1", features={"x": "?"}, latency_ms=0.2,
              status="error", error="x: Input should be a valid number", ts=1_010.0)
    assert log.add_labels({"r1": 1, "r2": 0}, arrived_at=2_000.0) == 2
    assert log.add_labels([("r3", 1)]) == 1
    frame = pd.DataFrame({"request_id": ["r4", "r2"], "label": [0, 1], "arrived_at": [2_500.0, 2_600.0]})
    assert log.add_labels(frame) == 2  # r2 is corrected

    df = log.read()
    assert list(df.columns) == ["id", "ts", "request_id", "model_version", "features", "prediction", "score",
                                "latency_ms", "status", "error", "time", "label", "label_arrived_at"]
    assert df["request_id"].tolist() == ["r0", "r1", "r2", "r3", "r4", "r5", "bad"]
    assert df["label"].tolist()[:6] == [pd.NA, 1, 1, 1, 0, pd.NA]
    assert str(df["label"].dtype) == "Int64"
    assert df.loc[df.request_id == "r2", "label_arrived_at"].item() == 2_600.0
    bad = df.iloc[-1]
    assert bad["status"] == "error" and pd.isna(bad["prediction"]) and pd.isna(bad["score"])
    assert json.loads(bad["features"]) == {"x": "?"}
    assert df["time"].iloc[0] == pd.Timestamp(1_000.0, unit="s", tz="UTC")

    assert log.read(since=1_002.0, until=1_004.0)["request_id"].tolist() == ["r2", "r3"]
    since = datetime.fromtimestamp(1_005.0, tz=timezone.utc)
    assert log.read(since=since)["request_id"].tolist() == ["r5", "bad"]
    wide = log.read(expand_features=True)
    assert "features" not in wide.columns and wide["x"].tolist()[:3] == [0.0, 1.0, 2.0]
    assert wide["c"].tolist()[0] == "a"
    log.close()


def test_a_feature_named_like_a_column_is_prefixed(tmp_path) -> None:
    log = PredictionLog(tmp_path / "p.db")
    log.write(**_row(1, features={"score": 3.0}))
    assert log.read(expand_features=True)["feature_score"].tolist() == [3.0]
    log.close()


def test_another_process_can_read_while_the_server_writes(tmp_path) -> None:
    log = PredictionLog(tmp_path / "p.db", batch_size=10, flush_interval=0.01)
    reader = PredictionLog(tmp_path / "p.db")  # e.g. the monitoring notebook
    seen = []
    for i in range(200):
        log.write(**_row(i))
        if i % 50 == 0:
            seen.append(len(reader.read()))
    log.flush()
    assert len(reader.read()) == 200 and seen == sorted(seen)
    log.close()


def test_bad_arguments(tmp_path) -> None:
    log = PredictionLog(tmp_path / "p.db")
    with pytest.raises(ValueError, match="status"):
        log.write(**_row(1, status="maybe"))
    with pytest.raises(ValueError, match="missing"):
        log.add_labels({"r1": None})
    with pytest.raises(ValueError, match="integer class"):
        log.add_labels({"r1": 0.5})
    with pytest.raises(ValueError, match="request_id and label"):
        log.add_labels(pd.DataFrame({"id": ["r1"], "y": [1]}))
    with pytest.raises(ValueError, match="batch_size"):
        PredictionLog(tmp_path / "q.db", batch_size=0)
    log.close()


def test_full_queue_drops_instead_of_blocking(tmp_path, monkeypatch) -> None:
    log = PredictionLog(tmp_path / "p.db", max_queue=3)
    with monkeypatch.context() as patch:
        patch.setattr(log, "_ensure_writer", lambda: None)  # a writer that has fallen behind
        for i in range(10):
            log.write(**_row(i))
    assert log.dropped == 7 and log.queued == 3
    log.close()
    assert len(log) == 3
