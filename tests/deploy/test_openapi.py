"""The service's OpenAPI contract: complete and resolvable, and schemathesis's standard checks pass
against a live `mlcourse serve` (a bounded number of generated requests)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _live import Server  # noqa: E402

from mlcourse.deploy.default_model import train_default_model  # noqa: E402

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance,response_headers_conformance")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("registry")
    train_default_model(registry=root, n_rows=3_000, n_estimators=15, max_depth=6)
    log = tmp_path_factory.mktemp("log") / "predictions.db"
    with Server(["--registry", str(root), "--log", str(log), "--max-batch", "50"],
                home=tmp_path_factory.mktemp("home")) as live:
        live.wait_ready()
        yield live
        assert live.stop() == 0


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_status_is_documented_with_its_schema_and_every_ref_resolves(server) -> None:
    doc = server.http.get("/openapi.json").json()
    for ref in _refs(doc):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[-1] in doc["components"]["schemas"], ref
    for path in ("/predict", "/predict/batch"):
        post = doc["paths"][path]["post"]
        assert set(post["responses"]) == {"200", "408", "413", "415", "422", "500", "503"}
        for status, answer in post["responses"].items():
            schema = answer["content"]["application/json"]["schema"]
            assert schema["$ref"].endswith("PredictResponse" if path == "/predict" and status == "200" else
                                           "BatchResponse" if status == "200" else "ErrorResponse")
        assert post["requestBody"]["content"]["application/json"]["example"]
    metrics = doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain"]
    assert "503" in doc["paths"]["/ready"]["get"]["responses"]
    request = doc["components"]["schemas"]["PredictRequest"]["properties"]
    assert request["hour"]["type"] == "integer" and (request["hour"]["minimum"], request["hour"]["maximum"]) == (0, 23)
    assert request["is_foreign"] == {**request["is_foreign"], "type": "integer", "minimum": 0, "maximum": 1}
    assert request["amount"]["type"] == "number" and request["amount"]["minimum"] == 0
    assert request["channel"]["enum"] == ["chip", "contactless", "online", "swipe"]
    health = doc["components"]["schemas"]["Health"]["properties"]
    assert {"status", "ready", "problems", "prediction_log"} <= set(health)


def test_schemathesis_standard_checks_pass(server, tmp_path) -> None:
    st = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert st, "schemathesis is in the test extra: pip install -e '.[test]'"
    command = [st, "run", f"{server.url}/openapi.json", "--checks", CHECKS, "--max-examples", "40", "--seed", "1",
               "--workers", "1", "--report", "junit", "--report-dir", str(tmp_path)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "No issues found" in proc.stdout
    tested = next(line for line in proc.stdout.splitlines() if "generated" in line)
    assert int(tested.split()[0]) >= 200, tested  # the examples really ran
