"""mlcourse.deploy.app.create_app in-process: endpoints, bad input (422 naming the field, never a 500),
metrics, the prediction log, blue-green switches picked up while running, and schema fuzzing."""
from __future__ import annotations

import json
import math
import tempfile
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from mlcourse.deploy.app import create_app
from mlcourse.deploy.default_model import train_default_model
from mlcourse.deploy.prediction_log import PredictionLog
from mlcourse.deploy.registry import ModelIntegrityError, promote, rollback, set_alias
from mlcourse.deploy.service import ModelService
from mlcourse.train.fraud_model import FEATURES, example_records

MAX_BATCH = 50

# Hypothesis keeps caches in ./.hypothesis unless told otherwise: not in the working tree.
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="mlcourse-hypothesis-"))


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    return PredictionLog(tmp_path_factory.mktemp("log") / "predictions.db", flush_interval=0.02)


@pytest.fixture(scope="module")
def app(registry, log):
    return create_app("fraud-detector", registry=registry, prediction_log=log, max_batch=MAX_BATCH,
                      max_body_bytes=100_000, reload_interval=0.05)


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def records():
    return example_records(20, seed=5)


@pytest.fixture(scope="module")
def sklearn_service(registry):
    return ModelService.from_registry("fraud-detector", registry=registry, onnx=False)


GOOD = example_records(1, seed=2)[0]


# --------------------------------------------------------------------------- the endpoints


def test_predict_answers_label_score_and_version(client, records, sklearn_service) -> None:
    for record in records:
        r = client.post("/predict", json=record)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"prediction", "score", "model_version", "request_id"}
        assert body["model_version"] == r.headers["x-model-version"] == "fraud-detector:v1"
        assert body["request_id"] == r.headers["x-request-id"]
        assert body["prediction"] == sklearn_service.predict(record)
        assert body["score"] == pytest.approx(sklearn_service.predict_proba(record)[1], abs=1e-5)


def test_batch_matches_single_predictions(client, records, sklearn_service) -> None:
    r = client.post("/predict/batch", json={"records": records})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["predictions"] == sklearn_service.predict_batch(records).tolist()
    np.testing.assert_allclose(body["scores"], sklearn_service.predict_proba_batch(records)[:, 1], atol=1e-5)
    assert body["model_version"] == "fraud-detector:v1"


def test_health_and_model(client) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["model_version"] == "fraud-detector:v1"
    assert health["backend"] == "onnx" and health["reload_error"] is None
    info = client.get("/model").json()
    assert info["name"] == "fraud-detector" and info["version"] == 1
    assert [f["name"] for f in info["features"]] == FEATURES
    dtypes = {f["name"]: f["dtype"] for f in info["features"]}
    assert dtypes["amount"] == "float64" and dtypes["hour"] == "int64" and dtypes["country"] == "str"
    assert "US" in {f["name"]: f["categories"] for f in info["features"]}["country"]
    assert set(info["metrics"]) >= {"accuracy", "roc_auc"} and len(info["sha256"]) == 64
    assert info["data_fingerprint"] and info["library_versions"]["sklearn"]
    assert info["limits"] == {"max_batch": MAX_BATCH, "max_body_bytes": 100_000}


def test_metrics_are_prometheus_text(client) -> None:
    client.post("/predict", json=GOOD)
    client.post("/predict", json={**GOOD, "amount": "x"})
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    for needle in (
        'mlcourse_requests_total{endpoint="/predict",model_version="fraud-detector:v1",status="200"}',
        'mlcourse_requests_total{endpoint="/predict",model_version="fraud-detector:v1",status="422"}',
        'mlcourse_request_latency_seconds_bucket{endpoint="/predict",le="0.001",model_version="fraud-detector:v1"}',
        'mlcourse_prediction_score_bucket{le="0.5",model_version="fraud-detector:v1"}',
        'mlcourse_predictions_total{model_version="fraud-detector:v1",prediction="0"}',
        'mlcourse_model_info{model_version="fraud-detector:v1",role="incumbent"} 1.0',
        "mlcourse_canary_fraction 0.0",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "mlcourse_prediction_log_queued",
    ):
        assert needle in text, needle


def test_two_apps_in_one_process_keep_their_own_metrics(registry) -> None:
    first = TestClient(create_app("fraud-detector", registry=registry, prediction_log=False))
    second = TestClient(create_app("fraud-detector", registry=registry, prediction_log=False))
    first.post("/predict", json=GOOD)
    assert 'status="200"} 1.0' in first.get("/metrics").text
    assert 'status="200"' not in second.get("/metrics").text


def test_request_id_header_is_used_when_sane(client) -> None:
    r = client.post("/predict", json=GOOD, headers={"X-Request-Id": "order-981:attempt-2"})
    assert r.json()["request_id"] == "order-981:attempt-2"
    r = client.post("/predict", json=GOOD, headers={"X-Request-Id": "x" * 500})
    assert len(r.json()["request_id"]) == 32


def test_request_ids_are_sanitised_and_never_shared(client, log) -> None:
    # "/" is the batch-row separator: "abc/0" would collide with row 0 of batch "abc".
    r = client.post("/predict", json=GOOD, headers={"X-Request-Id": "abc/0"})
    assert "/" not in r.json()["request_id"] and len(r.json()["request_id"]) == 32
    first = client.post("/predict", json=GOOD, headers={"X-Request-Id": "retry-me"}).json()["request_id"]
    second = client.post("/predict", json=GOOD, headers={"X-Request-Id": "retry-me"})
    assert first == "retry-me" and second.json()["request_id"].startswith("retry-me-")
    assert second.headers["x-request-id"] == second.json()["request_id"]
    ids = log.read()["request_id"]
    assert (ids == "retry-me").sum() == 1


@pytest.mark.parametrize(("headers", "message"), [
    ({"content-type": "text/plain"}, "Content-Type text/plain is not supported"),
    ({"content-type": "application/x-www-form-urlencoded"}, "send the record as JSON"),
    ({"content-type": "application/json", "content-encoding": "gzip"}, "Content-Encoding gzip is not supported"),
])
def test_a_body_that_is_not_plain_json_is_a_415(client, headers, message) -> None:
    r = client.post("/predict", content=json.dumps(GOOD), headers=headers)
    assert r.status_code == 415 and message in r.json()["error"] and r.json()["fields"] == ["body"]


def test_a_utf8_bom_and_a_json_charset_are_accepted(client) -> None:
    body = b"\xef\xbb\xbf" + json.dumps(GOOD).encode()
    r = client.post("/predict", content=body, headers={"content-type": "application/json; charset=utf-8"})
    assert r.status_code == 200, r.text
    assert client.post("/predict", content=json.dumps(GOOD)).status_code == 200  # no Content-Type: JSON assumed


def test_ready_and_health_say_what_is_going_on(client) -> None:
    r = client.get("/ready")
    assert r.status_code == 200 and r.json() == {"ready": True, "model_version": "fraud-detector:v1"}
    health = client.get("/health").json()
    assert health["ready"] is True and health["problems"] == [] and health["loading"] is None
    assert health["prediction_log"]["status"] == "ok" and health["prediction_log"]["durability"] == "batch"


def test_with_request_durability_an_unrecordable_prediction_is_a_503(registry, tmp_path) -> None:
    import sqlite3

    path = tmp_path / "p.db"
    log = PredictionLog(path, durability="request", busy_timeout=0.05)
    app = create_app("fraud-detector", registry=registry, prediction_log=log, ack_timeout=0.5)
    with TestClient(app) as client:
        assert client.post("/predict", json=GOOD, headers={"X-Request-Id": "kept"}).status_code == 200
        lock = sqlite3.connect(path, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        r = client.post("/predict", json=GOOD, headers={"X-Request-Id": "refused"})
        lock.execute("COMMIT")
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert "could not record this request" in r.json()["error"] and "not answered" in r.json()["error"]
        assert log.dropped_by_reason["not_acknowledged"] == 1
        assert client.post("/predict", json=GOOD, headers={"X-Request-Id": "after"}).status_code == 200
        metrics = client.get("/metrics").text
        assert 'mlcourse_prediction_log_dropped_total{reason="not_acknowledged"} 1.0' in metrics
    assert sorted(log.read()["request_id"]) == ["after", "kept"]  # the 503'd row was withdrawn


# --------------------------------------------------------------------------- bad input

def _without(key):
    return {k: v for k, v in GOOD.items() if k != key}


BAD_PREDICT = [
    ("missing feature", json.dumps(_without("hour")), 422, "hour", "Field required"),
    ("unknown feature", json.dumps({**GOOD, "colour": "red"}), 422, "colour", "unknown field"),
    ("misspelled feature", json.dumps({**_without("amount"), "amuont": 3.0}), 422, "amuont", "unknown field"),
    ("string for a number", json.dumps({**GOOD, "amount": "12.50"}), 422, "amount", "valid number"),
    ("bool for a number", json.dumps({**GOOD, "is_foreign": True}), 422, "is_foreign", "valid integer"),
    ("bool for a float", json.dumps({**GOOD, "amount": True}), 422, "amount", "valid number"),
    ("null", json.dumps({**GOOD, "customer_age": None}), 422, "customer_age", "valid integer"),
    ("list for a number", json.dumps({**GOOD, "hour": [3]}), 422, "hour", "valid integer"),
    ("NaN literal", json.dumps({**GOOD, "amount": math.nan}), 422, "amount", "finite number"),
    ("Infinity literal", json.dumps({**GOOD, "amount": math.inf}), 422, "amount", "finite number"),
    ("-Infinity literal", json.dumps({**GOOD, "amount": -math.inf}), 422, "amount", "finite number"),
    ("a fraction for an integer", json.dumps({**GOOD, "hour": 3.5}), 422, "hour", "3.5 is not a whole number"),
    ("an hour of 99", json.dumps({**GOOD, "hour": 99}), 422, "hour", "99 is out of range: allowed 0 to 23"),
    ("is_foreign 7", json.dumps({**GOOD, "is_foreign": 7}), 422, "is_foreign", "allowed 0 to 1"),
    ("a negative amount", json.dumps({**GOOD, "amount": -5}), 422, "amount", "-5 is out of range: allowed 0 to "),
    ("an age of 200", json.dumps({**GOOD, "customer_age": 200}), 422, "customer_age", "(the range seen in training"),
    ("beyond float32", json.dumps({**GOOD, "amount": 1e39}), 422, "amount", "out of range"),
    ("a 400-digit integer", json.dumps({**GOOD, "amount": 10**400}), 422, "amount", ""),
    ("unknown category", json.dumps({**GOOD, "country": "XX"}), 422, "country", "'US'"),
    ("number for a category", json.dumps({**GOOD, "channel": 3}), 422, "channel", "Input should be"),
    ("invalid JSON", '{"amount": 12.5,', 422, "body", "Invalid JSON"),
    ("empty body", "", 422, "body", "Invalid JSON"),
    ("a JSON array", json.dumps(list(GOOD.values())), 422, "body", "object"),
    ("a JSON string", '"hello"', 422, "body", "object"),
    ("huge body", json.dumps({**GOOD, "padding": "x" * 200_000}), 413, "body", "over the limit"),
]


@pytest.mark.parametrize(("case", "body", "status", "field", "message"), BAD_PREDICT, ids=[c[0] for c in BAD_PREDICT])
def test_bad_single_record(client, case, body, status, field, message) -> None:
    r = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    payload = r.json()
    assert field in payload["fields"]
    assert message in payload["error"]
    if field != "body":
        assert f"{field}: " in payload["error"]  # "amount: Input should be ..."
    assert payload["model_version"] == r.headers["x-model-version"]
    assert client.post("/predict", json=GOOD).status_code == 200  # still serving


BAD_BATCH = [
    ("empty batch", {"records": []}, "records", "empty batch"),
    ("over the limit", {"records": [GOOD] * (MAX_BATCH + 1)}, "records", f"at most {MAX_BATCH} records"),
    ("one bad row", {"records": [GOOD, {**GOOD, "hour": "late"}]}, "hour", "records[1].hour"),
    ("records not a list", {"records": GOOD}, "records", "valid array"),
    ("no records key", [GOOD], "body", "object"),
    ("unknown key", {"records": [GOOD], "model": "v2"}, "model", "unknown field"),
]


@pytest.mark.parametrize(("case", "body", "field", "message"), BAD_BATCH, ids=[c[0] for c in BAD_BATCH])
def test_bad_batch(client, case, body, field, message) -> None:
    r = client.post("/predict/batch", json=body)
    assert r.status_code == 422, r.text
    assert field in r.json()["fields"] and message in r.json()["error"]


def test_huge_streamed_body_is_cut_off(client) -> None:
    def chunks():
        for _ in range(100):
            yield b"x" * 10_000  # no Content-Length: the app counts as it reads

    r = client.post("/predict", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "over the limit" in r.json()["error"]


def test_rejected_requests_are_logged_as_errors(client, log) -> None:
    client.post("/predict", json={**GOOD, "amount": "lots"}, headers={"X-Request-Id": "rejected-1"})
    client.post("/predict", json=GOOD, headers={"X-Request-Id": "accepted-1"})
    client.post("/predict/batch", json={"records": [GOOD, GOOD]}, headers={"X-Request-Id": "batch-1"})
    df = log.read().set_index("request_id")
    bad = df.loc["rejected-1"]
    assert bad["status"] == "error" and bad["error"].startswith("422: amount")
    assert np.isnan(bad["prediction"]) and json.loads(bad["features"])["amount"] == "lots"
    good = df.loc["accepted-1"]
    assert good["status"] == "ok" and good["model_version"] == "fraud-detector:v1"
    assert json.loads(good["features"]) == {k: float(v) if k not in ("merchant_category", "country", "channel") else v
                                            for k, v in GOOD.items()}
    assert 0.0 <= good["score"] <= 1.0 and good["latency_ms"] > 0
    assert {"batch-1/0", "batch-1/1"} <= set(df.index)
    log.add_labels({"accepted-1": 1})
    assert log.read().set_index("request_id").loc["accepted-1", "label"] == 1


# --------------------------------------------------------------------------- blue-green


def _versions_seen(client, expected: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    version = ""
    while time.monotonic() < deadline:
        version = client.post("/predict", json=GOOD).headers["x-model-version"]
        if version == expected:
            return version
        time.sleep(0.02)
    return version


def test_blue_green_switch_and_rollback_reach_the_running_app(client, registry) -> None:
    green = train_default_model(registry=registry, n_rows=3_000, seed=1, n_estimators=10, max_depth=5, alias=None)
    assert green.version == 2
    assert client.post("/predict", json=GOOD).headers["x-model-version"] == "fraud-detector:v1"
    promote("fraud-detector", 2, registry=registry)
    assert _versions_seen(client, "fraud-detector:v2") == "fraud-detector:v2"
    assert client.get("/health").json()["model_version"] == "fraud-detector:v2"
    rollback("fraud-detector", registry=registry)
    assert _versions_seen(client, "fraud-detector:v1") == "fraud-detector:v1"


def test_a_tampered_version_is_refused_and_the_old_one_keeps_serving(client, app, registry) -> None:
    bad = train_default_model(registry=registry, n_rows=3_000, seed=2, n_estimators=5, max_depth=4, alias=None)
    with open(bad.path / "model.joblib", "ab") as fh:
        fh.write(b"\x00 tampered")
    with pytest.raises(ModelIntegrityError, match="sha256"):
        promote("fraud-detector", bad.version, registry=registry)  # the checked way refuses at once
    set_alias("fraud-detector", "production", bad.version, registry=registry)  # the unchecked way
    try:
        assert app.state.router.refresh() is False
        health = client.get("/health").json()
        assert health["model_version"] == "fraud-detector:v1"
        assert "sha256" in health["reload_error"] and f"v{bad.version}" in health["reload_error"]
        assert client.post("/predict", json=GOOD).headers["x-model-version"] == "fraud-detector:v1"
        with pytest.raises(ModelIntegrityError, match="refusing to unpickle"):
            create_app("fraud-detector", registry=registry, prediction_log=False)
    finally:
        set_alias("fraud-detector", "production", 1, registry=registry)
        app.state.router.refresh()


# --------------------------------------------------------------------------- fuzzing

_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.text(max_size=12),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(["US", "online", "grocery", "chip", "DE"]),
)
_keys = st.one_of(st.sampled_from(FEATURES), st.text(max_size=10))


@st.composite
def _records(draw):
    record = dict(GOOD)
    for key in draw(st.lists(st.sampled_from(FEATURES), max_size=3, unique=True)):
        if draw(st.booleans()):
            del record[key]
        else:
            record[key] = draw(_values)
    record.update(draw(st.dictionaries(_keys, _values, max_size=2)))
    return record


_bodies = st.one_of(
    _records().map(lambda r: json.dumps(r).encode()),
    st.binary(max_size=60),
    st.text(max_size=60).map(str.encode),
    st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=5),
                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                 max_leaves=8).map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_bodies)
def test_fuzzed_single_records_never_get_a_5xx(client, body) -> None:
    r = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code in (200, 413, 422), r.text
    if r.status_code == 422:
        assert r.json()["fields"] and r.json()["error"]


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(_records(), max_size=MAX_BATCH + 3), wrap=st.booleans())
def test_fuzzed_batches_never_get_a_5xx(client, batch, wrap) -> None:
    body = json.dumps({"records": batch} if wrap else batch)  # Python's json writes NaN and Infinity
    r = client.post("/predict/batch", content=body, headers={"content-type": "application/json"})
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        assert len(r.json()["predictions"]) == len(batch)
