"""`mlcourse serve`: a real uvicorn process on 127.0.0.1, and the command's own checks and messages."""
from __future__ import annotations

import functools
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest

import mlcourse.deploy.default_model as default_model
import mlcourse.deploy.server as serving
from mlcourse.cli import main
from mlcourse.deploy.default_model import train_default_model
from mlcourse.deploy.registry import get_alias, save_model, set_alias
from mlcourse.train.fraud_model import example_records

GOOD = example_records(1, seed=2)[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(registry, tmp_path_factory):
    """`mlcourse serve` in its own process; stopped (gracefully, like Ctrl-C) after the module."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("log") / "predictions.db"
    env = {**os.environ, "MLCOURSE_HOME": str(tmp_path_factory.mktemp("home"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlcourse", "serve", "--registry", str(registry), "--port", str(port),
         "--log", str(log_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            pytest.fail(f"mlcourse serve exited with {proc.returncode}:\n{proc.stdout.read()}")
        try:
            if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"mlcourse serve did not answer within 90 s:\n{proc.stdout.read()}")
        time.sleep(0.1)
    yield {"url": base, "log": log_path, "proc": proc}
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server
            proc.kill()
            proc.wait()


def test_health_predict_batch_and_metrics_over_http(server) -> None:
    base = server["url"]
    with httpx.Client(base_url=base, timeout=10) as http:
        health = http.get("/health").json()
        assert health["status"] == "ok" and health["model_version"] == "fraud-detector:v1"
        r = http.post("/predict", json=GOOD, headers={"X-Request-Id": "http-1"})
        assert r.status_code == 200 and r.headers["x-model-version"] == "fraud-detector:v1"
        assert r.json()["request_id"] == "http-1" and r.json()["prediction"] in (0, 1)
        r = http.post("/predict/batch", json={"records": example_records(5)})
        assert r.status_code == 200 and len(r.json()["predictions"]) == 5
        metrics = http.get("/metrics").text
        assert 'mlcourse_requests_total{endpoint="/predict",model_version="fraud-detector:v1",status="200"} 1.0' in metrics
        assert "process_resident_memory_bytes" in metrics
        docs = http.get("/openapi.json").json()
        ref = docs["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = docs["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        assert set(schema["properties"]) == set(GOOD)


def test_bad_input_over_http_is_a_422_and_the_server_keeps_serving(server) -> None:
    with httpx.Client(base_url=server["url"], timeout=10) as http:
        for body, field in ((b'{"amount": NaN}', "amount"), (b"{not json", "body"),
                            (json.dumps({**GOOD, "amount": "1"}).encode(), "amount")):
            r = http.post("/predict", content=body, headers={"content-type": "application/json",
                                                             "X-Request-Id": "http-bad"})
            assert r.status_code == 422 and field in r.json()["fields"]
        r = http.post("/predict", content=b"x" * 2_000_000)
        assert r.status_code == 413
        assert http.post("/predict", json=GOOD).status_code == 200


def test_stopping_the_server_writes_the_prediction_log(server) -> None:
    proc = server["proc"]
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "Serving fraud-detector:v1 from" in out and "loaded fraud-detector:v1 (onnx)" in out
    rows = sqlite3.connect(server["log"]).execute(
        "SELECT request_id, status FROM predictions ORDER BY id").fetchall()
    assert ("http-1", "ok") in rows and ("http-bad", "error") in rows
    assert len(rows) >= 10


# --------------------------------------------------------------------------- the command's checks


@pytest.fixture()
def no_uvicorn(monkeypatch):
    """Run `mlcourse serve` up to the point where uvicorn would start; keep the app."""
    started = {}
    monkeypatch.setattr(serving, "_run_uvicorn", lambda app, host, port, **kw: started.update(app=app, port=port))
    return started


def test_serve_on_an_empty_registry_trains_the_default_model_first(tmp_path, no_uvicorn, monkeypatch, capsys) -> None:
    small = functools.partial(default_model.train_default_model, n_rows=2_000, n_estimators=5, max_depth=4)
    monkeypatch.setattr(default_model, "train_default_model", small)
    port = _free_port()
    assert main(["serve", "--registry", str(tmp_path), "--port", str(port), "--no-log"]) == 0
    out = capsys.readouterr().out
    assert "no 'fraud-detector' model yet: training the course's default model" in out
    assert "Registered fraud-detector:v1 as 'production'" in out
    assert "Serving fraud-detector:v1 from" in out and "loading it now" in out
    assert get_alias("fraud-detector", "production", registry=tmp_path) == 1
    assert no_uvicorn["port"] == port
    router = no_uvicorn["app"].state.router
    assert router.incumbent.wait() and router.ready and router.incumbent.version == "fraud-detector:v1"
    assert router.incumbent.service.backend == "onnx"


def test_serve_with_a_canary(registry, no_uvicorn, capsys) -> None:
    train_default_model(registry=registry, n_rows=2_000, seed=4, n_estimators=5, max_depth=4, alias="candidate")
    try:
        assert main(["serve", "--registry", str(registry), "--port", str(_free_port()), "--no-log",
                     "--candidate", "candidate", "--canary", "0.2"]) == 0
        router = no_uvicorn["app"].state.router
        assert router.candidate.wait() and router.candidate.version == "fraud-detector:v2" and router.fraction == 0.2
        assert "Canary: 20% of users to fraud-detector:v2 ('candidate')" in capsys.readouterr().out
    finally:
        set_alias("fraud-detector", "candidate", 1, registry=registry)


def _run(args, capsys) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().err


def test_a_tampered_model_is_refused_with_one_line(tmp_path, capsys) -> None:
    version = train_default_model(registry=tmp_path, n_rows=2_000, n_estimators=3, max_depth=3)
    with open(version.path / "model.onnx", "ab") as fh:
        fh.write(b"!")
    code, err = _run(["serve", "--registry", str(tmp_path), "--port", str(_free_port())], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("mlcourse serve: error: refusing to serve")
    assert "model.onnx does not match its recorded sha256" in err


def test_serve_usage_errors(tmp_path, capsys) -> None:
    port = str(_free_port())
    code, err = _run(["serve", "--registry", str(tmp_path), "--port", port, "--canary", "0.1"], capsys)
    assert code == 2 and "--canary needs --candidate" in err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        code, err = _run(["serve", "--registry", str(tmp_path), "--port", str(busy.getsockname()[1])], capsys)
    assert code == 2 and "the port is in use" in err
    from sklearn.dummy import DummyClassifier

    save_model(DummyClassifier().fit([[0.0], [1.0]], [0, 1]), "other", registry=tmp_path, feature_names=["x"])
    code, err = _run(["serve", "--registry", str(tmp_path), "--port", port], capsys)
    assert code == 2 and "no model in" in err and "has a 'production' alias (models: other)" in err
    code, err = _run(["serve", "--registry", str(tmp_path), "--port", port, "--model", "nope"], capsys)
    assert code == 2 and "no model named 'nope'" in err
    with pytest.raises(SystemExit):
        main(["serve", "--canary", "1.5"])
    assert "must be between 0 and 1" in capsys.readouterr().err


def test_serve_is_in_the_help(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    for option in ("--registry", "--model", "--host", "--port", "--candidate", "--canary"):
        assert option in out
