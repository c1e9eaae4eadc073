"""`mlcourse serve` under trouble, each in a real uvicorn process: a slow-loading version and a rollback,
a full disk, a locked log, kill -9, a restart on a damaged registry, a client that never sends its headers."""
from __future__ import annotations

import json
import re
import shutil
import socket
import sqlite3
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # _live, _slow_model: helpers beside this file

from _live import Server, until  # noqa: E402
from _slow_model import SlowToLoad  # noqa: E402

from mlcourse.cli import main  # noqa: E402
from mlcourse.deploy.default_model import train_default_model  # noqa: E402
from mlcourse.deploy.registry import load_model, promote, rollback, save_model  # noqa: E402
from mlcourse.train.fraud_model import example_records  # noqa: E402

GOOD = example_records(1, seed=2)[0]


@pytest.fixture(scope="module")
def base_registry(tmp_path_factory):
    root = tmp_path_factory.mktemp("registry")
    train_default_model(registry=root, n_rows=3_000, n_estimators=15, max_depth=6)
    return root


@pytest.fixture()
def registry(base_registry, tmp_path):
    """A registry of its own for each test: they damage it."""
    return Path(shutil.copytree(base_registry, tmp_path / "registry"))


def _slow_version(root: Path, seconds: float) -> int:
    loaded = load_model("fraud-detector", 1, registry=root)
    meta = loaded.metadata
    return save_model(
        SlowToLoad(loaded.model, seconds), "fraud-detector", registry=root, feature_names=meta["feature_names"],
        feature_dtypes=meta["feature_dtypes"], feature_categories=meta["feature_categories"],
        feature_ranges={k: (v["min"], v["max"]) for k, v in meta["feature_ranges"].items()},
    ).version


def _post(server: Server, rid: str, record: dict | None = None) -> int:
    return server.http.post("/predict", json=record or GOOD, headers={"X-Request-Id": rid}).status_code


# --------------------------------------------------------------------------- alias moves as a sequence


def test_a_rollback_during_a_slow_load_wins_and_the_last_alias_is_served(registry, tmp_path) -> None:
    slow = _slow_version(registry, 3.0)
    fast = train_default_model(registry=registry, n_rows=2_000, seed=3, n_estimators=5, max_depth=4, alias=None).version
    with Server(["--registry", str(registry), "--no-log"], home=tmp_path / "home") as server:
        server.wait_ready()
        promote("fraud-detector", slow, registry=registry)
        until(lambda: server.health()["loading"] == f"fraud-detector:v{slow}", what="the slow load starting")
        rollback("fraud-detector", registry=registry)
        seen: set[str] = set()

        def settled() -> bool:
            health = server.health()
            seen.add(health["model_version"])
            return health["loading"] is None

        until(settled, what="the slow load ending")
        health = server.health()
        assert health["model_version"] == "fraud-detector:v1" and health["status"] == "ok"
        assert health["reload_error"] is None and seen == {"fraud-detector:v1"}
        assert server.http.post("/predict", json=GOOD).headers["x-model-version"] == "fraud-detector:v1"
        assert f"discarded v{slow}, loaded after the alias had moved on" in server.output

        promote("fraud-detector", slow, registry=registry)
        until(lambda: server.health()["loading"] == f"fraud-detector:v{slow}", what="the slow load starting")
        promote("fraud-detector", fast, registry=registry)  # written last, while the slow one loads
        until(settled, what="both loads ending")
        assert server.health()["model_version"] == f"fraud-detector:v{fast}"
        assert f"fraud-detector:v{slow}" not in seen
        assert server.stop() == 0


# --------------------------------------------------------------------------- the prediction log never loses rows silently


def _dropped_in_all(output: str) -> int:
    counts = [int(n) for n in re.findall(r"\((\d+) dropped in all", output)]
    return max(counts, default=0)


def _rows(path: Path) -> list[str]:
    return [r for (r,) in sqlite3.connect(path).execute("SELECT request_id FROM predictions")]


def test_a_full_disk_is_loud_and_every_answered_request_is_accounted_for(registry, tmp_path) -> None:
    import resource

    log = tmp_path / "predictions.db"
    limit = 200_000  # bytes any one file of the server may reach: the log fills up quickly

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    with Server(["--registry", str(registry), "--log", str(log)], home=tmp_path / "home",
                preexec_fn=small_files) as server:
        server.wait_ready()
        answered = sum(_post(server, f"r{i}") == 200 for i in range(2_500))
        health = until(lambda: (h := server.health())["prediction_log"]["status"] == "failing" and h,
                       what="the log reporting failure")
        assert health["status"] == "degraded" and any("prediction log failing" in p for p in health["problems"])
        assert health["prediction_log"]["last_error"].startswith("OperationalError")  # "disk I/O error", "database or disk is full"
        metrics = server.http.get("/metrics").text
        assert "mlcourse_prediction_log_failing 1.0" in metrics
        assert 'mlcourse_prediction_log_dropped_total{reason="shutdown"} 0.0' in metrics
        assert server.stop() == 0  # queued rows are retried, then dropped loudly at shutdown
    output = server.output
    assert "WARNING" in output and "writing" in output and "failed" in output
    dropped = _dropped_in_all(output)
    logged = _rows(log)
    assert dropped > 0 and answered == 2_500
    assert len(logged) + dropped == answered  # every answered request is in the log or counted as dropped


def test_a_locked_log_is_degraded_then_every_row_is_written(registry, tmp_path) -> None:
    log = tmp_path / "predictions.db"
    with Server(["--registry", str(registry), "--log", str(log)], home=tmp_path / "home") as server:
        server.wait_ready()
        _post(server, "before")
        until(lambda: server.health()["prediction_log"]["written"] == 1, what="the first row")
        lock = sqlite3.connect(log, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            statuses = [_post(server, f"locked-{i}") for i in range(300)]
            health = until(lambda: (h := server.health())["status"] == "degraded" and h, what="degraded")
            assert health["prediction_log"]["status"] == "failing" and "locked" in health["prediction_log"]["last_error"]
        finally:
            lock.execute("COMMIT")
            lock.close()
        until(lambda: (h := server.health())["status"] == "ok" and h["prediction_log"]["queued"] == 0,
              what="the log catching up")
        health = server.health()
        assert statuses == [200] * 300 and health["prediction_log"]["dropped"] == 0
        assert health["prediction_log"]["written"] == 301
        assert server.stop() == 0
    assert sorted(_rows(log)) == sorted(["before", *(f"locked-{i}" for i in range(300))])


def test_kill_9_loses_no_acknowledged_prediction_with_request_durability(registry, tmp_path) -> None:
    log = tmp_path / "predictions.db"
    server = Server(["--registry", str(registry), "--log", str(log), "--log-durability", "request"],
                    home=tmp_path / "home")
    with server:
        server.wait_ready()

        def send(i: int) -> str | None:
            rid = f"k{i}"
            return rid if _post(server, rid) == 200 else None

        with ThreadPoolExecutor(8) as pool:
            acknowledged = [rid for rid in pool.map(send, range(400)) if rid]
        server.kill9()
    assert len(acknowledged) == 400
    assert set(acknowledged) <= set(_rows(log))
    assert sqlite3.connect(log).execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_kill_9_with_batch_durability_leaves_a_sound_log_the_next_server_continues(registry, tmp_path) -> None:
    log = tmp_path / "predictions.db"
    with Server(["--registry", str(registry), "--log", str(log)], home=tmp_path / "home") as server:
        server.wait_ready()
        acknowledged = {f"b{i}" for i in range(300) if _post(server, f"b{i}") == 200}
        server.kill9()
    logged = set(_rows(log))
    assert logged <= acknowledged  # whatever was lost was the last window, never a wrong row
    assert sqlite3.connect(log).execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with Server(["--registry", str(registry), "--log", str(log)], home=tmp_path / "home") as again:
        again.wait_ready()
        assert _post(again, "after-restart") == 200
        assert again.stop() == 0
    assert "after-restart" in _rows(log)


# --------------------------------------------------------------------------- starting on a damaged registry


def test_a_restart_on_a_tampered_version_starts_on_the_last_good_one(registry, tmp_path) -> None:
    v2 = train_default_model(registry=registry, n_rows=2_000, seed=3, n_estimators=5, max_depth=4)
    with open(v2.path / "model.onnx", "ab") as fh:
        fh.write(b"!")
    with Server(["--registry", str(registry), "--no-log"], home=tmp_path / "home") as server:
        server.wait_ready()
        output = server.output
        assert "Refused fraud-detector v2 ('production'): fraud-detector v2: model.onnx does not match" in output
        assert "Starting on fraud-detector:v1 instead, the last good version of 'production'" in output
        health = server.health()
        assert health["model_version"] == "fraud-detector:v1" and health["status"] == "degraded"
        assert "failed its checks; serving v1" in health["reload_error"]
        assert server.http.post("/predict", json=GOOD).headers["x-model-version"] == "fraud-detector:v1"
        promote("fraud-detector", 1, registry=registry)  # the alias is put right: no longer degraded
        until(lambda: server.health()["status"] == "ok", what="the server noticing the fixed alias")
        assert server.stop() == 0


@pytest.fixture()
def no_uvicorn(monkeypatch):
    """Run `mlcourse serve` up to where uvicorn would start; keep the app."""
    import mlcourse.deploy.server as server

    started = {}
    monkeypatch.setattr(server, "_run_uvicorn", lambda app, host, port, **kw: started.update(app=app))
    return started


def _serve(args: list[str], capsys) -> tuple[int, str, str]:
    from _live import free_port

    code = main(["serve", "--port", str(free_port()), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_truncated_metadata_file_is_named_and_the_last_good_version_served(registry, no_uvicorn, capsys) -> None:
    v2 = train_default_model(registry=registry, n_rows=2_000, seed=3, n_estimators=5, max_depth=4)
    meta = v2.path / "metadata.json"
    meta.write_text(meta.read_text()[:27])
    code, out, err = _serve(["--registry", str(registry), "--no-log"], capsys)
    assert code == 0 and err == ""
    assert f"{meta} is not valid JSON" in out and "Starting on fraud-detector:v1 instead" in out
    router = no_uvicorn["app"].state.router
    assert router.incumbent.wait() and router.incumbent.version == "fraud-detector:v1"


def test_no_good_version_is_a_one_line_refusal(registry, capsys) -> None:
    with open(registry / "fraud-detector" / "v1" / "model.joblib", "ab") as fh:
        fh.write(b"!")
    code, out, err = _serve(["--registry", str(registry)], capsys)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("mlcourse serve: error: refusing to serve: fraud-detector v1: model.joblib does not match")
    assert "no earlier version of fraud-detector:production passes its checks" in err


def test_a_corrupt_aliases_file_is_set_aside_and_rebuilt(registry, no_uvicorn, capsys) -> None:
    aliases = registry / "fraud-detector" / "aliases.json"
    aliases.write_text('{"production": ')
    code, out, err = _serve(["--registry", str(registry), "--no-log"], capsys)
    assert code == 0 and err == ""
    assert "The aliases of 'fraud-detector' could not be read: the file was set aside as" in out
    assert "rebuilt from the alias history: production -> v1" in out
    assert json.loads(aliases.read_text()) == {"production": 1}
    assert len(list(aliases.parent.glob("aliases.corrupt-*.json"))) == 1


def test_a_prediction_log_that_is_not_sqlite_is_set_aside(registry, tmp_path, no_uvicorn, capsys) -> None:
    log = tmp_path / "predictions.db"
    log.write_bytes(b"garbage" * 1000)
    code, out, err = _serve(["--registry", str(registry), "--log", str(log)], capsys)
    assert code == 0 and err == ""
    assert f"The prediction log {log} could not be read" in out and "set aside as" in out
    assert sqlite3.connect(log).execute("SELECT COUNT(*) FROM predictions").fetchone() == (0,)
    no_uvicorn["app"].state.prediction_log.close()


# --------------------------------------------------------------------------- slow clients


def test_a_client_that_never_finishes_its_headers_is_cut_off(registry, tmp_path) -> None:
    with Server(["--registry", str(registry), "--no-log", "--header-timeout", "1"], home=tmp_path / "home") as server:
        server.wait_ready()
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(b"POST /predict HTTP/1.1\r\nHost: localhost\r\n")  # and then nothing
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout")
        assert server.http.post("/predict", json=GOOD).status_code == 200
        assert server.stop() == 0


def test_a_body_that_never_finishes_is_a_408(registry, tmp_path) -> None:
    with Server(["--registry", str(registry), "--no-log", "--body-timeout", "1"], home=tmp_path / "home") as server:
        server.wait_ready()
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(b"POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 200\r\n\r\n{\"amount\": ")  # 190 bytes never come
            answer = b""
            while b"did not arrive" not in answer:  # the head and the body may come in separate reads
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408") and b"did not arrive within 1 s" in body
        assert server.stop() == 0
