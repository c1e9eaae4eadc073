"""Stage 3 -> Stage 4: the prediction log, where serving leaves what monitoring reads.

Every request the service answers (or rejects) becomes one row of a SQLite
table; delayed ground truth arrives later in a second table, joined by the
request id::

    CREATE TABLE predictions (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,              -- unix seconds
        request_id TEXT NOT NULL,
        model_version TEXT NOT NULL,   -- "fraud-detector:v2"
        features TEXT,                 -- JSON object
        prediction REAL,               -- label, NULL on error
        score REAL,                    -- probability of class 1, NULL on error
        latency_ms REAL NOT NULL,
        status TEXT NOT NULL,          -- 'ok' or 'error'
        error TEXT
    );
    CREATE TABLE labels (request_id TEXT PRIMARY KEY, label INTEGER NOT NULL, arrived_at REAL NOT NULL);

Writing is kept off the request path: :meth:`PredictionLog.write` only puts
a tuple on a queue; a background thread turns queued rows into one
``executemany`` every ``flush_interval`` seconds or ``batch_size`` rows,
whichever comes first, and on :meth:`~PredictionLog.flush` and
:meth:`~PredictionLog.close`. The database is in WAL mode, so a monitoring
process can read while the server writes.

Rows of one batch request share the request's latency and have request ids
``"<request id>/<row>"`` (``"3f2a.../0"``, ``"3f2a.../1"``, ...).

Examples
--------
>>> import tempfile, os
>>> log = PredictionLog(os.path.join(tempfile.mkdtemp(), "predictions.db"))
>>> log.write(request_id="r1", model_version="demo:v1", features={"x": 1.5},
...           prediction=1, score=0.8, latency_ms=0.4)
>>> log.write(request_id="r2", model_version="demo:v1", features={"x": "oops"},
...           latency_ms=0.1, status="error", error="x: Input should be a valid number")
>>> log.add_labels({"r1": 0})
1
>>> log.read()[["request_id", "prediction", "score", "status", "label"]]
  request_id  prediction  score status  label
0         r1         1.0    0.8     ok      0
1         r2         NaN    NaN  error   <NA>
>>> log.close()
"""
from __future__ import annotations

import atexit
import json
import math
import os
import queue
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["PredictionLog", "SCHEMA"]

#: The tables, exactly as the Monitor lesson reads them.
SCHEMA = (
    "\n"
    "CREATE TABLE IF NOT EXISTS predictions (id INTEGER PRIMARY KEY, ts REAL NOT NULL /* unix seconds */, "
    "request_id TEXT NOT NULL, model_version TEXT NOT NULL, features TEXT /* JSON object */, "
    "prediction REAL /* label, NULL on error */, score REAL /* probability of class 1, NULL on error */, "
    "latency_ms REAL NOT NULL, status TEXT NOT NULL /* 'ok' or 'error' */, error TEXT);\n"
    "CREATE INDEX IF NOT EXISTS predictions_ts ON predictions (ts);\n"
    "CREATE TABLE IF NOT EXISTS labels (request_id TEXT PRIMARY KEY, label INTEGER NOT NULL, arrived_at REAL NOT NULL);\n"
)

_INSERT = (
    "INSERT INTO predictions (ts, request_id, model_version, features, prediction, score, "
    "latency_ms, status, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

_COLUMNS = ["id", "ts", "request_id", "model_version", "features", "prediction", "score",
            "latency_ms", "status", "error"]


class _Flush:
    __slots__ = ("event",)

    def __init__(self) -> None:
        self.event = threading.Event()


_STOP = object()


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


def _encode(features: Any) -> str | None:
    if features is None:
        return None
    if isinstance(features, str):
        return features
    try:
        return json.dumps(features, separators=(",", ":"), default=_json_default)
    except (TypeError, ValueError):
        return json.dumps(str(features))


def _seconds(value: Any) -> float:
    """Unix seconds from a number, a datetime, a pandas Timestamp or an ISO string."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    raise TypeError(f"expected unix seconds, a datetime or an ISO date, got {type(value).__name__}")


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class PredictionLog:
    """A SQLite prediction log with batched background writes.

    Parameters
    ----------
    path : path, optional
        The database file, created with its tables if needed. Defaults to
        :func:`mlcourse.paths.prediction_log` (``$MLCOURSE_HOME/predictions.db``).
    batch_size : int, default 500
        Write at most this many rows per transaction.
    flush_interval : float, default 0.2
        Seconds a queued row may wait before it is written.
    max_queue : int, default 100_000
        Rows that may wait; beyond it :meth:`write` drops rows (counted in
        :attr:`dropped`) rather than slow the request path down.

    Notes
    -----
    Use it as a context manager, or call :meth:`close`, to write what is
    still queued; an open log is also flushed when Python exits.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        batch_size: int = 500,
        flush_interval: float = 0.2,
        max_queue: int = 100_000,
    ) -> None:
        if path is None:
            from mlcourse.paths import prediction_log

            path = prediction_log()
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if flush_interval <= 0:
            raise ValueError("flush_interval must be positive")
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.batch_size = int(batch_size)
        self.flush_interval = float(flush_interval)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        #: Rows written, rows dropped because the queue was full, failed writes.
        self.written = 0
        self.dropped = 0
        self.failures = 0
        self.last_error: str | None = None
        conn = _connect(self.path)
        try:
            conn.executescript(SCHEMA)
        finally:
            conn.close()
        ref = weakref.ref(self)
        atexit.register(lambda: (lambda log: log is not None and log.close())(ref()))

    def __repr__(self) -> str:
        return f"PredictionLog({str(self.path)!r}, written={self.written}, queued={self.queued})"

    def __enter__(self) -> PredictionLog:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def queued(self) -> int:
        """Rows waiting to be written."""
        return self._queue.qsize()

    # ------------------------------------------------------------------ writing

    def write(
        self,
        *,
        request_id: str,
        model_version: str,
        features: Mapping[str, Any] | None,
        prediction: float | None = None,
        score: float | None = None,
        latency_ms: float,
        status: str = "ok",
        error: str | None = None,
        ts: float | None = None,
    ) -> None:
        """Queue one row; returns at once (the background thread writes it).

        ``features`` is stored as JSON. ``status`` is ``"ok"`` or ``"error"``;
        an error row has no prediction or score and says why in ``error``.
        """
        if status not in ("ok", "error"):
            raise ValueError(f"status must be 'ok' or 'error', not {status!r}")
        self.put((
            time.time() if ts is None else float(ts),
            str(request_id),
            str(model_version),
            features,
            None if prediction is None else float(prediction),
            None if score is None else float(score),
            float(latency_ms),
            status,
            error,
        ))

    def put(self, row: tuple) -> None:
        """Queue a row already in column order ``(ts, request_id, model_version,
        features, prediction, score, latency_ms, status, error)``: the cheap
        path the HTTP app uses."""
        self._ensure_writer()
        try:
            self._queue.put_nowait(row)
        except queue.Full:
            self.dropped += 1

    def put_many(self, rows: list[tuple]) -> None:
        """Queue several rows (as in :meth:`put`) as one item: a batch request's rows."""
        if not rows:
            return
        self._ensure_writer()
        try:
            self._queue.put_nowait(list(rows))
        except queue.Full:
            self.dropped += len(rows)

    def _ensure_writer(self) -> None:
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="mlcourse-prediction-log", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        conn = _connect(self.path)
        try:
            while True:
                item = self._queue.get()
                rows: list[tuple] = []
                waiting: list[_Flush] = []
                stop = False
                deadline = time.monotonic() + self.flush_interval
                while True:
                    if item is _STOP:
                        stop = True
                        break
                    if isinstance(item, _Flush):
                        waiting.append(item)
                        break
                    if isinstance(item, list):
                        rows.extend(item)
                    else:
                        rows.append(item)
                    if len(rows) >= self.batch_size:
                        break
                    timeout = deadline - time.monotonic()
                    if timeout <= 0:
                        break
                    try:
                        item = self._queue.get(timeout=timeout)
                    except queue.Empty:
                        break
                if rows:
                    self._insert(conn, rows)
                for flush in waiting:
                    flush.event.set()
                if stop:
                    return
        finally:
            conn.close()

    def _insert(self, conn: sqlite3.Connection, rows: list[tuple]) -> None:
        encoded = [r[:3] + (_encode(r[3]),) + r[4:] for r in rows]
        for attempt in range(3):
            try:
                conn.execute("BEGIN")
                conn.executemany(_INSERT, encoded)
                conn.execute("COMMIT")
                self.written += len(rows)
                return
            except sqlite3.Error as exc:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                self.last_error = f"{type(exc).__name__}: {exc}"
                time.sleep(0.05 * (attempt + 1))
        self.failures += len(rows)

    def flush(self, timeout: float = 10.0) -> None:
        """Block until every row queued so far is in the database."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            if self._queue.empty():
                return
            self._ensure_writer()
        marker = _Flush()
        self._queue.put(marker)
        if not marker.event.wait(timeout):
            raise TimeoutError(f"the prediction log did not flush within {timeout} s")

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued and stop the writer thread. Writing again restarts it."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            if not self._queue.empty():
                self.flush(timeout)
                thread = self._thread
            else:
                return
        self._queue.put(_STOP)
        if thread is not None:
            thread.join(timeout)

    # ------------------------------------------------------------------ labels

    def add_labels(self, labels: Any, arrived_at: Any = None) -> int:
        """Record delayed ground truth: which request turned out to be which class.

        Parameters
        ----------
        labels : mapping, iterable of pairs, or DataFrame
            ``{request_id: label}``, ``[(request_id, label), ...]`` or a frame
            with ``request_id`` and ``label`` columns (and optionally
            ``arrived_at``). A label sent again replaces the earlier one.
        arrived_at : time, optional
            When the labels arrived: unix seconds, a datetime or an ISO
            string. Default: now.

        Returns
        -------
        int
            The number of labels written.
        """
        default_at = time.time() if arrived_at is None else _seconds(arrived_at)
        rows: list[tuple[str, int, float]] = []
        if hasattr(labels, "columns"):
            missing = {"request_id", "label"} - set(labels.columns)
            if missing:
                raise ValueError(f"labels frame needs columns request_id and label; missing {sorted(missing)}")
            at = labels["arrived_at"] if "arrived_at" in labels.columns else [None] * len(labels)
            items: Iterable[Any] = zip(labels["request_id"], labels["label"], at)
        elif isinstance(labels, Mapping):
            items = ((k, v, None) for k, v in labels.items())
        else:
            items = ((pair[0], pair[1], None) for pair in labels)
        for request_id, label, at_value in items:
            if label is None or (isinstance(label, float) and math.isnan(label)):
                raise ValueError(f"label for request {request_id!r} is missing")
            if float(label) != int(label):
                raise ValueError(f"label for request {request_id!r} must be an integer class, got {label!r}")
            when = default_at if at_value is None or at_value != at_value else _seconds(at_value)
            rows.append((str(request_id), int(label), when))
        conn = _connect(self.path)
        try:
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT OR REPLACE INTO labels (request_id, label, arrived_at) VALUES (?, ?, ?)", rows
            )
            conn.execute("COMMIT")
        finally:
            conn.close()
        return len(rows)

    # ------------------------------------------------------------------ reading

    def read(
        self,
        since: Any = None,
        until: Any = None,
        *,
        expand_features: bool = False,
    ) -> pd.DataFrame:
        """The log as a DataFrame, one row per prediction, oldest first, with labels joined.

        Queued rows of this log object are written first, so a read sees
        every earlier :meth:`write`.

        Parameters
        ----------
        since, until : time, optional
            Keep rows with ``since <= ts < until``: unix seconds, a datetime
            or an ISO string.
        expand_features : bool, default False
            Replace the ``features`` JSON column by one column per feature
            (a feature whose name is already a column gets a ``feature_``
            prefix).

        Returns
        -------
        pandas.DataFrame
            The ``predictions`` columns (``id, ts, request_id,
            model_version, features, prediction, score, latency_ms, status,
            error``), then ``time`` (``ts`` as a UTC timestamp), ``label``
            (nullable integer, ``<NA>`` until it arrives) and
            ``label_arrived_at`` (unix seconds).
        """
        import pandas as pd

        self.flush()
        where, params = [], []
        if since is not None:
            where.append("p.ts >= ?")
            params.append(_seconds(since))
        if until is not None:
            where.append("p.ts < ?")
            params.append(_seconds(until))
        sql = (
            "SELECT " + ", ".join(f"p.{c}" for c in _COLUMNS) + ", l.label, l.arrived_at "
            "FROM predictions p LEFT JOIN labels l ON l.request_id = p.request_id"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY p.id"
        )
        conn = _connect(self.path)
        try:
            records = conn.execute(sql, params).fetchall()
        finally:
            conn.close()
        columns = _COLUMNS + ["label", "label_arrived_at"]
        frame = pd.DataFrame.from_records(records, columns=columns)
        for col in ("ts", "prediction", "score", "latency_ms", "label_arrived_at"):
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
        frame["id"] = frame["id"].astype("int64")
        frame["label"] = frame["label"].astype("Int64")
        frame.insert(frame.columns.get_loc("error") + 1, "time", pd.to_datetime(frame["ts"], unit="s", utc=True))
        if expand_features:
            parsed = [json.loads(text) if isinstance(text, str) else {} for text in frame["features"]]
            expanded = pd.DataFrame([p if isinstance(p, dict) else {} for p in parsed], index=frame.index)
            expanded.columns = [f"feature_{c}" if c in frame.columns else c for c in expanded.columns]
            frame = pd.concat([frame.drop(columns="features"), expanded], axis=1)
        return frame

    def __len__(self) -> int:
        self.flush()
        conn = _connect(self.path)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM predictions").fetchone()[0])
        finally:
            conn.close()
