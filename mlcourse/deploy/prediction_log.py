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
import logging
import math
import os
import queue
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["DURABILITY", "PredictionLog", "SCHEMA", "time_window"]

logger = logging.getLogger("mlcourse.deploy.prediction_log")

#: The durability settings and what each gives on a crash.
DURABILITY = {
    "batch": "rows are written in batches every flush_interval (0.2 s) off the request path; a kill -9 loses "
             "the rows acknowledged in the last batch window (benchmarks/serving.py measures it)",
    "request": "each request is answered only once its row is committed and fsynced (group commit), so a "
               "kill -9 or a power cut loses no acknowledged request; a request whose row cannot be "
               "committed in time is answered 503",
}

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


def time_window(column: str, since: Any, until: Any, to_seconds: Callable[[Any], float]) -> tuple[str, list[float]]:
    """The SQL ``WHERE`` clause (empty when both bounds are None) and its parameters that keep the rows whose
    ``column`` (unix seconds) lies in ``[since, until)``; ``to_seconds`` reads a bound given as a date.

    Examples
    --------
    >>> time_window("ts", 10, None, float)
    (' WHERE ts >= ?', [10.0])
    >>> time_window("p.ts", None, None, float)
    ('', [])
    """
    where, params = [], []
    if since is not None:
        where.append(f"{column} >= ?")
        params.append(to_seconds(since))
    if until is not None:
        where.append(f"{column} < ?")
        params.append(to_seconds(until))
    return (" WHERE " + " AND ".join(where) if where else ""), params


def _connect(path: Path, *, durable: bool = False, busy_timeout: float = 10.0) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL: a commit survives the process being killed, not a power cut;
    # FULL (durability="request") fsyncs every commit, so it survives both.
    conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
    return conn


def _open_or_set_aside(path: Path, busy_timeout: float = 10.0) -> tuple[Path, str] | None:
    """Create the tables; a file that is not a SQLite database is set aside first.

    Returns ``(where the damaged file went, why)`` when one was set aside.
    """
    try:
        conn = _connect(path, busy_timeout=busy_timeout)
        try:
            conn.executescript(SCHEMA)
            return None
        finally:
            conn.close()
    except sqlite3.OperationalError:
        raise  # locked, read-only, no space: the file may be fine, so it is left where it is
    except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
        reason = f"{type(exc).__name__}: {exc}"
    from mlcourse.deploy.registry import set_aside

    moved = set_aside(path)
    for suffix in ("-wal", "-shm"):  # the journal belongs to the damaged file
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.replace(moved.with_name(moved.name + suffix))
    conn = _connect(path)
    try:
        conn.executescript(SCHEMA)
    finally:
        conn.close()
    logger.warning("prediction log %s could not be read (%s): set aside as %s; a new log was started",
                   path, reason, moved)
    return moved, reason


class _Ack:
    """A row's receipt: the writer calls ``done(True)`` once it is committed, ``done(False)`` if it never will be."""

    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Any) -> None:
        self.callback = callback
        self.cancelled = False

    def done(self, ok: bool, error: str | None) -> None:
        try:
            self.callback(ok, error)
        except Exception:  # pragma: no cover - a closed event loop at shutdown
            pass


class PredictionLog:
    """A SQLite prediction log with batched background writes.

    Parameters
    ----------
    path : path, optional
        The database file, created with its tables if needed. Defaults to
        :func:`mlcourse.paths.prediction_log` (``$MLCOURSE_HOME/predictions.db``).
        A file that is not a SQLite database is set aside (renamed with a
        timestamp, :attr:`recovered` says where) and a new log started.
    batch_size : int, default 500
        Write at most this many rows per transaction.
    flush_interval : float, default 0.2
        Seconds a queued row may wait before it is written.
    max_queue : int, default 100_000
        Rows that may wait; beyond it :meth:`write` drops rows (counted in
        :attr:`dropped`) rather than slow the request path down.
    durability : {"batch", "request"}, default "batch"
        ``"batch"``: rows are written every ``flush_interval`` off the
        request path. ``"request"``: each commit is fsynced, and a caller
        that passes ``ack=`` to :meth:`put` hears when its row is committed
        (the HTTP app answers only then). See :data:`DURABILITY`.
    busy_timeout : float, default 2.0
        Seconds a write waits for a lock held by another process before the
        attempt counts as failed (and is retried).
    shutdown_timeout : float, default 10.0
        On :meth:`close`, how long to keep retrying rows that cannot be
        written before dropping them (counted and logged).

    Notes
    -----
    A failed write is retried, with a growing pause, until it succeeds:
    while it fails the log is ``failing`` (:attr:`status`) and rows wait in
    the queue. Rows are only dropped when the queue is full or at shutdown,
    and every dropped row is counted in :attr:`dropped` (by reason in
    :attr:`dropped_by_reason`) and logged at WARNING. Use it as a context
    manager, or call :meth:`close`, to write what is still queued; an open
    log is also flushed when Python exits.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        batch_size: int = 500,
        flush_interval: float = 0.2,
        max_queue: int = 100_000,
        durability: str = "batch",
        busy_timeout: float = 2.0,
        shutdown_timeout: float = 10.0,
    ) -> None:
        if path is None:
            from mlcourse.paths import prediction_log

            path = prediction_log()
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if flush_interval <= 0:
            raise ValueError("flush_interval must be positive")
        if durability not in DURABILITY:
            raise ValueError(f"durability must be one of {', '.join(DURABILITY)}, not {durability!r}")
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.batch_size = int(batch_size)
        self.flush_interval = float(flush_interval)
        self.durability = durability
        self.busy_timeout = float(busy_timeout)
        self.shutdown_timeout = float(shutdown_timeout)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        #: Rows written.
        self.written = 0
        #: Rows that will never be written, by reason: ``queue_full`` (the
        #: queue was full), ``shutdown`` (still failing when the server
        #: stopped), ``not_acknowledged`` (a request answered 503 because its
        #: row could not be committed in time).
        self.dropped_by_reason: dict[str, int] = {"queue_full": 0, "shutdown": 0, "not_acknowledged": 0}
        #: Write attempts that failed (each is retried).
        self.failures = 0
        self.last_error: str | None = None
        #: True while the latest write attempt failed.
        self.failing = False
        #: Times the database file vanished (or was replaced) under the server and a new one was started.
        self.recreated = 0
        self._stop_deadline: float | None = None
        self._pending = 0
        self._last_drop_warning = 0.0
        self._unwarned_drops = 0
        #: ``(where a damaged log was set aside, why)`` when opening found one, else None.
        self.recovered = _open_or_set_aside(self.path, self.busy_timeout)
        self._inode = self._file_id()
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
        """Rows waiting to be written (in the queue, or in a batch being written or retried)."""
        return self._pending

    def _settled(self, count: int) -> None:
        with self._lock:
            self._pending -= count

    @property
    def dropped(self) -> int:
        """Rows that will never be written, all reasons together."""
        return sum(self.dropped_by_reason.values())

    @property
    def status(self) -> str:
        """``"ok"``, or ``"failing"`` while writes fail (rows wait and are retried)."""
        return "failing" if self.failing else "ok"

    def health(self) -> dict[str, Any]:
        """What ``/health`` shows about the log."""
        return {"path": str(self.path), "status": self.status, "durability": self.durability,
                "written": self.written, "queued": self.queued, "dropped": self.dropped,
                "dropped_by_reason": dict(self.dropped_by_reason), "last_error": self.last_error,
                "recreated": self.recreated}

    def _file_id(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

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

    def put(self, row: tuple, ack: Any = None) -> _Ack | None:
        """Queue a row already in column order ``(ts, request_id, model_version,
        features, prediction, score, latency_ms, status, error)``: the cheap
        path the HTTP app uses.

        ``ack``, a callable ``(ok, error)``, is called from the writer thread
        once the row is committed (``ok`` True) or will never be (False).
        Returns the receipt, whose ``cancelled`` flag withdraws the row if it
        is not written yet.
        """
        return self.put_many([row], ack)

    def put_many(self, rows: list[tuple], ack: Any = None) -> _Ack | None:
        """Queue several rows (as in :meth:`put`) as one item: a batch request's rows."""
        if not rows:
            return None
        self._ensure_writer()
        receipt = None if ack is None else _Ack(ack)
        try:
            self._queue.put_nowait((list(rows), receipt))
            with self._lock:
                self._pending += len(rows)
        except queue.Full:
            self._drop(len(rows), "queue_full", "the queue is full: the database is too slow or failing")
            if receipt is not None:
                receipt.done(False, "the prediction log's queue is full")
        return receipt

    def _drop(self, count: int, reason: str, why: str) -> None:
        with self._lock:
            self.dropped_by_reason[reason] = self.dropped_by_reason.get(reason, 0) + count
            self._unwarned_drops += count
            now = time.monotonic()
            if now - self._last_drop_warning < 1.0 and reason == "queue_full":
                return  # at most one line a second while the queue overflows
            count, self._unwarned_drops, self._last_drop_warning = self._unwarned_drops, 0, now
        logger.warning("prediction log %s: dropped %d row(s), %s (%d dropped in all; last error: %s)",
                       self.path, count, why, self.dropped, self.last_error)

    def count_unacknowledged(self, count: int, why: str) -> None:
        """Count rows withdrawn because their request was answered 503 (their commit took too long)."""
        self._drop(count, "not_acknowledged", f"their requests were answered 503: {why}")

    def _ensure_writer(self) -> None:
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop_deadline = None
                self._thread = threading.Thread(target=self._run, name="mlcourse-prediction-log", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        conn = _connect(self.path, durable=self.durability == "request", busy_timeout=self.busy_timeout)
        try:
            while True:
                rows, receipts, waiting, stop = self._gather(self._queue.get())
                if rows:
                    conn = self._write(conn, rows, receipts)
                for flush in waiting:
                    flush.event.set()
                if stop:
                    return
        finally:
            conn.close()

    def _gather(self, item: Any) -> tuple[list[tuple], list[tuple[_Ack, int, int]], list[_Flush], bool]:
        """Take queued items into one batch: up to ``batch_size`` rows or ``flush_interval`` seconds.

        A row someone waits for (``ack``) is not held back for more: it is
        written with whatever else is queued at that moment (group commit).
        """
        rows: list[tuple] = []
        receipts: list[tuple[_Ack, int, int]] = []  # (receipt, first row, end) of rows someone waits for
        waiting: list[_Flush] = []
        deadline = time.monotonic() + self.flush_interval
        while True:
            if item is _STOP:
                return rows, receipts, waiting, True
            if isinstance(item, _Flush):
                waiting.append(item)
                break
            batch, receipt = item
            if receipt is not None and receipt.cancelled:
                self._settled(len(batch))  # its request was already answered 503 and counted
            else:
                if receipt is not None:
                    receipts.append((receipt, len(rows), len(rows) + len(batch)))
                rows.extend(batch)
            if len(rows) >= self.batch_size:
                break
            timeout = 0.0 if receipts else deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
        return rows, receipts, waiting, False

    def _write(self, conn: sqlite3.Connection, rows: list[tuple],
               receipts: list[tuple[_Ack, int, int]]) -> sqlite3.Connection:
        """Insert one batch, retrying until it is written or the shutdown deadline passes."""
        pause = 0.05
        while True:
            conn = self._same_file(conn)
            if any(r[0].cancelled for r in receipts):  # answered 503 meanwhile: their rows are withdrawn
                before = len(rows)
                rows, receipts = self._withdraw(rows, receipts)
                self._settled(before - len(rows))
                if not rows:
                    return conn
            try:
                if not self._insert(conn, rows, receipts):
                    continue  # answered 503 while waiting for the lock: withdrawn at the top
            except sqlite3.Error as exc:
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                if not self.failing:
                    logger.warning("prediction log %s: writing %d row(s) failed (%s); retrying, rows wait in the "
                                   "queue", self.path, len(rows), self.last_error)
                self.failing = True
                deadline = self._stop_deadline
                if deadline is not None and time.monotonic() > deadline:
                    self._give_up(rows, receipts)
                    return conn
                time.sleep(pause)
                pause = min(pause * 2, 1.0)
                continue
            if self.failing:
                logger.warning("prediction log %s: writing again after %d failed attempt(s)", self.path, self.failures)
            self.failing = False
            self.written += len(rows)
            self._settled(len(rows))
            for receipt, _, _ in receipts:
                receipt.done(True, None)
            return conn

    @staticmethod
    def _withdraw(rows: list[tuple], receipts: list[tuple[_Ack, int, int]]
                  ) -> tuple[list[tuple], list[tuple[_Ack, int, int]]]:
        """The batch without the rows of cancelled receipts, receipts renumbered."""
        gone: set[int] = set()
        for receipt, start, end in receipts:
            if receipt.cancelled:
                gone.update(range(start, end))
        kept = [i for i in range(len(rows)) if i not in gone]
        position = {old: new for new, old in enumerate(kept)}
        renumbered = [(r, position[start], position[start] + end - start)
                      for r, start, end in receipts if not r.cancelled]
        return [rows[i] for i in kept], renumbered

    def _give_up(self, rows: list[tuple], receipts: list[tuple[_Ack, int, int]]) -> None:
        for receipt, _, _ in receipts:
            receipt.done(False, self.last_error)
        left = 0
        while True:  # everything still queued goes the same way: the server is stopping
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, tuple):
                left += len(item[0])
                if item[1] is not None:
                    item[1].done(False, self.last_error)
            elif isinstance(item, _Flush):
                item.event.set()
            else:
                self._queue.put_nowait(item)  # the stop marker: the writer still needs it
                break
        self._settled(len(rows) + left)
        self._drop(len(rows) + left, "shutdown",
                   f"still failing {self.shutdown_timeout:g} s after shutdown began")

    def _same_file(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        """Start a new database if the file was deleted or replaced under us (rows would go nowhere)."""
        current = self._file_id()
        if current == self._inode and current is not None:
            return conn
        conn.close()
        self.recreated += 1
        self.recovered = _open_or_set_aside(self.path, self.busy_timeout) or self.recovered
        self._inode = self._file_id()
        logger.warning("prediction log %s was deleted or replaced while in use: a new one was started "
                       "(rows written since it vanished are not in it)", self.path)
        return _connect(self.path, durable=self.durability == "request", busy_timeout=self.busy_timeout)

    def _insert(self, conn: sqlite3.Connection, rows: list[tuple], receipts: list[tuple[_Ack, int, int]] = ()) -> bool:
        """Write ``rows`` in one transaction; False (nothing written) when a receipt was cancelled meanwhile."""
        encoded = [r[:3] + (_encode(r[3]),) + r[4:] for r in rows]
        try:
            # The write lock first, then the receipts: a request answered 503
            # while this waited for the lock is seen here, and its row withdrawn.
            conn.execute("BEGIN IMMEDIATE")
            if any(r[0].cancelled for r in receipts):
                conn.execute("ROLLBACK")
                return False
            conn.executemany(_INSERT, encoded)
            conn.execute("COMMIT")
            return True
        except sqlite3.Error:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise

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
            raise TimeoutError(f"the prediction log did not flush within {timeout} s ({self.last_error})")

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued and stop the writer thread. Writing again restarts it.

        Rows that still cannot be written ``shutdown_timeout`` seconds after
        this call are dropped, counted (``dropped_by_reason["shutdown"]``)
        and logged at WARNING.
        """
        thread = self._thread
        if thread is None or not thread.is_alive():
            if self._queue.empty():
                return
            self._ensure_writer()
            thread = self._thread
        self._stop_deadline = time.monotonic() + self.shutdown_timeout
        self._queue.put(_STOP)
        if thread is not None:
            thread.join(self.shutdown_timeout + 5.0 if timeout is None else timeout)

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
        where, params = time_window("p.ts", since, until, _seconds)
        sql = (
            "SELECT " + ", ".join(f"p.{c}" for c in _COLUMNS) + ", l.label, l.arrived_at "
            "FROM predictions p LEFT JOIN labels l ON l.request_id = p.request_id" + where + " ORDER BY p.id"
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
