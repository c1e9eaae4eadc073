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

    def slow_insert(self, conn, rows, receipts=()):
        gate.wait(10)  # the database is "slow": write() must not wait for it
        batches.append(len(rows))
        return original(self, conn, rows, receipts)

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


# --------------------------------------------------------------------------- loud, never silent


class _Locked:
    """Hold the database's write lock from another connection, as another process would."""

    def __init__(self, path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.close()


def _until(condition, seconds: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.01)


def test_a_locked_database_is_failing_then_every_row_is_written(tmp_path, caplog) -> None:
    path = tmp_path / "p.db"
    log = PredictionLog(path, flush_interval=0.01, busy_timeout=0.05)
    lock = _Locked(path)
    with caplog.at_level("WARNING", logger="mlcourse.deploy.prediction_log"):
        for i in range(50):
            log.write(**_row(i))
        _until(lambda: log.failing)
        assert log.status == "failing" and "locked" in log.last_error and log.written == 0
        assert log.health()["status"] == "failing"
        lock.release()
        log.flush()
    assert log.written == 50 and log.dropped == 0 and log.status == "ok" and len(log) == 50
    messages = [r.getMessage() for r in caplog.records]
    assert any("writing 50 row(s) failed" in m and "retrying" in m for m in messages)
    assert any("writing again after" in m for m in messages)
    log.close()


def test_rows_still_failing_at_shutdown_are_counted_and_logged(tmp_path, caplog) -> None:
    path = tmp_path / "p.db"
    log = PredictionLog(path, flush_interval=0.01, busy_timeout=0.05, shutdown_timeout=0.3)
    lock = _Locked(path)
    try:
        with caplog.at_level("WARNING", logger="mlcourse.deploy.prediction_log"):
            for i in range(30):
                log.write(**_row(i))
            log.close()
    finally:
        lock.release()
    assert log.written == 0 and log.dropped == 30 and log.dropped_by_reason["shutdown"] == 30
    assert any("dropped 30 row(s), still failing 0.3 s after shutdown began" in r.getMessage()
               for r in caplog.records if r.levelname == "WARNING")
    assert len(PredictionLog(path)) == 0


def test_queue_overflow_is_counted_by_reason_and_warned_once_a_second(tmp_path, monkeypatch, caplog) -> None:
    log = PredictionLog(tmp_path / "p.db", max_queue=2)
    with caplog.at_level("WARNING", logger="mlcourse.deploy.prediction_log"), monkeypatch.context() as patch:
        patch.setattr(log, "_ensure_writer", lambda: None)
        for i in range(100):
            log.write(**_row(i))
    assert log.dropped_by_reason["queue_full"] == 98 and log.health()["dropped"] == 98
    warnings = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert 1 <= len(warnings) <= 3  # not one line per row
    log.close()


def test_acknowledged_rows_are_committed_before_the_ack(tmp_path) -> None:
    path = tmp_path / "p.db"
    log = PredictionLog(path, durability="request", flush_interval=60)  # no batching delay for acked rows
    acks = []
    done = threading.Event()

    def ack(ok, error):
        count = sqlite3.connect(path).execute("SELECT COUNT(*) FROM predictions").fetchone()[0]
        acks.append((ok, error, count))
        done.set()

    log.put((1.0, "r1", "m:v1", {"x": 1}, 1.0, 0.9, 0.5, "ok", None), ack=ack)
    assert done.wait(10)
    assert acks == [(True, None, 1)]  # committed (and visible to another connection) before the ack
    log.close()


def test_a_cancelled_receipt_withdraws_its_rows(tmp_path) -> None:
    path = tmp_path / "p.db"
    log = PredictionLog(path, durability="request", flush_interval=0.01, busy_timeout=0.05)
    lock = _Locked(path)
    answers = []
    receipt = log.put((1.0, "late", "m:v1", None, None, None, 0.5, "ok", None), ack=lambda ok, e: answers.append(ok))
    log.put((1.0, "other", "m:v1", None, None, None, 0.5, "ok", None))
    _until(lambda: log.failing)
    receipt.cancelled = True  # the app answered 503 and counted it
    lock.release()
    log.flush()
    assert [r for (r,) in sqlite3.connect(path).execute("SELECT request_id FROM predictions")] == ["other"]
    assert answers == []
    log.close()


def test_a_file_that_is_not_sqlite_is_set_aside_and_a_new_log_started(tmp_path, caplog) -> None:
    path = tmp_path / "predictions.db"
    path.write_bytes(b"this is not a database" * 100)
    with caplog.at_level("WARNING", logger="mlcourse.deploy.prediction_log"):
        log = PredictionLog(path)
    moved, reason = log.recovered
    assert moved.name.startswith("predictions.corrupt-") and moved.suffix == ".db"
    assert moved.read_bytes().startswith(b"this is not a database") and "not a database" in reason
    log.write(**_row(1))
    assert len(log) == 1
    assert any("set aside" in r.getMessage() for r in caplog.records)
    log.close()


def test_a_log_deleted_while_in_use_is_started_again_and_said(tmp_path, caplog) -> None:
    path = tmp_path / "p.db"
    log = PredictionLog(path, flush_interval=0.01)
    log.write(**_row(1))
    log.flush()
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"p.db{suffix}").unlink(missing_ok=True)
    with caplog.at_level("WARNING", logger="mlcourse.deploy.prediction_log"):
        log.write(**_row(2))
        log.flush()
    assert log.recreated == 1 and path.is_file()
    assert [r for (r,) in sqlite3.connect(path).execute("SELECT request_id FROM predictions")] == ["r2"]
    assert any("deleted or replaced while in use" in r.getMessage() for r in caplog.records)
    log.close()


def test_a_locked_database_at_open_is_left_alone(tmp_path) -> None:
    path = tmp_path / "p.db"
    PredictionLog(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode=DELETE")  # a rollback journal: an exclusive lock blocks even readers
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            PredictionLog(path, busy_timeout=0.05)
    finally:
        other.execute("COMMIT")
        other.close()
    assert path.exists() and not list(tmp_path.glob("p.corrupt-*"))  # locked is not damaged: never set aside
