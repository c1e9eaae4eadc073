"""mlcourse.deploy.rollout: sticky canary routing, the rollback rule, automatic rollback, following aliases."""
from __future__ import annotations

import math

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression

from mlcourse.deploy.app import create_app
from mlcourse.deploy.registry import promote, save_model
from mlcourse.deploy.rollout import (
    ModelRouter,
    RollbackRule,
    VersionStats,
    canary_bucket,
    parse_model_ref,
    routes_to_candidate,
    should_rollback,
)
from mlcourse.deploy.service import ModelService


@pytest.fixture(scope="module")
def model():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    return LogisticRegression().fit(X, [0, 0, 1, 1])


class Broken:
    """A deliberately bad candidate: every prediction fails."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.classes_ = inner.classes_

    def predict(self, X):
        raise RuntimeError("feature store timeout")

    def predict_proba(self, X):
        raise RuntimeError("feature store timeout")


def _services(model, broken: bool = False):
    incumbent = ModelService(model, ["x"], version="m:v1")
    candidate = ModelService(Broken(model) if broken else model, ["x"], version="m:v2")
    return incumbent, candidate


# --------------------------------------------------------------------------- pure functions


def test_bucket_is_stable_and_uniform() -> None:
    assert canary_bucket("user-7") == canary_bucket("user-7")
    assert canary_bucket("user-7") != canary_bucket("user-8")
    assert canary_bucket("user-7", salt="exp2") != canary_bucket("user-7")
    points = np.array([canary_bucket(f"user-{i}") for i in range(20_000)])
    assert ((0 <= points) & (points < 1)).all()
    assert abs(points.mean() - 0.5) < 0.01
    assert np.histogram(points, bins=10, range=(0, 1))[0].min() > 1_800


@pytest.mark.parametrize("fraction", [0.05, 0.1, 0.3, 0.5])
def test_split_fraction_and_ramp_up_keeps_users(fraction) -> None:
    users = [f"user-{i}" for i in range(20_000)]
    chosen = {u for u in users if routes_to_candidate(u, fraction)}
    assert abs(len(chosen) / len(users) - fraction) < 0.015
    wider = {u for u in users if routes_to_candidate(u, min(1.0, fraction * 2))}
    assert chosen <= wider  # raising the fraction never moves a user back


def test_edge_fractions() -> None:
    assert not any(routes_to_candidate(f"u{i}", 0.0) for i in range(1_000))
    assert all(routes_to_candidate(f"u{i}", 1.0) for i in range(1_000))


@pytest.mark.parametrize(
    ("incumbent", "candidate", "rollback", "reason"),
    [
        # too few candidate requests: wait, however bad it looks
        ({"requests": 1000, "errors": 0, "p95_ms": 1.0}, {"requests": 99, "errors": 99, "p95_ms": 1.0}, False, "waiting: 99 of 100"),
        # error rate worse by more than one point
        (
            {"requests": 1000, "errors": 10, "p95_ms": 1.0},
            {"requests": 100, "errors": 3, "p95_ms": 1.0},
            True,
            "error rate 3.00% vs incumbent 1.00%",
        ),
        # worse, but within the margin
        ({"requests": 1000, "errors": 10, "p95_ms": 1.0}, {"requests": 200, "errors": 3, "p95_ms": 1.0}, False, "within"),
        # latency worse by more than 20 ms
        (
            {"requests": 1000, "errors": 0, "p95_ms": 4.0},
            {"requests": 100, "errors": 0, "p95_ms": 30.0},
            True,
            "p95 latency 30.0 ms vs incumbent 4.0 ms",
        ),
        ({"requests": 1000, "errors": 0, "p95_ms": 4.0}, {"requests": 100, "errors": 0, "p95_ms": 20.0}, False, "within"),
        # unknown latency skips the latency test; an incumbent without traffic counts as error-free
        ({"requests": 0, "errors": 0}, {"requests": 100, "errors": 0, "p95_ms": math.nan}, False, "within"),
        ({"requests": 0, "errors": 0}, {"requests": 100, "errors": 5}, True, "error rate 5.00%"),
    ],
)
def test_rollback_rule_table(incumbent, candidate, rollback, reason) -> None:
    decision = should_rollback(incumbent, candidate)
    assert bool(decision) is rollback and decision.rollback is rollback
    assert reason in decision.reason


def test_rollback_rule_margins_and_dataclass_input() -> None:
    strict = RollbackRule(min_requests=10, max_error_rate_increase=0.0, max_latency_increase_ms=1.0)
    inc = VersionStats("m:v1", requests=100, errors=0, p95_ms=1.0)
    assert should_rollback(inc, VersionStats("m:v2", requests=10, errors=1, p95_ms=1.0), strict)
    assert should_rollback(inc, VersionStats("m:v2", requests=10, errors=0, p95_ms=2.5), strict)
    assert not should_rollback(inc, VersionStats("m:v2", requests=10, errors=0, p95_ms=1.5), strict)
    assert VersionStats("x", requests=4, errors=1).error_rate == 0.25


def test_parse_model_ref() -> None:
    assert parse_model_ref("fraud-detector") == ("fraud-detector", "production")
    assert parse_model_ref("fraud-detector:candidate") == ("fraud-detector", "candidate")
    assert parse_model_ref("v3", default_name="m") == ("m", "v3")
    assert parse_model_ref("other", default_name="m") == ("other", "production")


# --------------------------------------------------------------------------- the router in the app


def test_canary_is_sticky_by_user_and_splits_users(model) -> None:
    incumbent, candidate = _services(model)
    app = create_app(incumbent, candidate=candidate, canary=0.3, prediction_log=False)
    client = TestClient(app)
    served: dict[str, set[str]] = {}
    for _ in range(2):
        for i in range(200):
            r = client.post("/predict", json={"x": 2.5}, headers={"X-User-Id": f"user-{i}"})
            assert r.status_code == 200
            assert r.headers["x-model-version"] == r.json()["model_version"]
            served.setdefault(f"user-{i}", set()).add(r.json()["model_version"])
    assert all(len(v) == 1 for v in served.values())  # every user saw one version, twice
    on_candidate = sum(v == {"m:v2"} for v in served.values())
    expected = sum(routes_to_candidate(f"user-{i}", 0.3, salt="m:v2") for i in range(200))  # salted by the candidate
    assert on_candidate == expected and 35 <= on_candidate <= 85
    stats = app.state.router.stats().set_index("version")
    assert stats.loc["m:v2", "requests"] == 2 * on_candidate
    assert stats.loc["m:v1", "role"] == "incumbent" and stats.loc["m:v2", "role"] == "candidate"


def test_without_a_user_id_requests_are_split_by_request_id(model) -> None:
    incumbent, candidate = _services(model)
    client = TestClient(create_app(incumbent, candidate=candidate, canary=0.5, prediction_log=False))
    versions = [client.post("/predict", json={"x": 1.0}).headers["x-model-version"] for _ in range(200)]
    assert 60 <= versions.count("m:v2") <= 140
    again = {client.post("/predict", json={"x": 1.0}, headers={"X-Request-Id": "req-42"}).headers["x-model-version"]
             for _ in range(5)}
    assert len(again) == 1


def test_failing_candidate_is_rolled_back_automatically(model) -> None:
    incumbent, candidate = _services(model, broken=True)
    rule = RollbackRule(min_requests=20)
    app = create_app(incumbent, candidate=candidate, canary=0.5, rule=rule, prediction_log=False)
    client = TestClient(app)
    statuses = [client.post("/predict", json={"x": 3.0}, headers={"X-User-Id": f"u{i}"}).status_code
                for i in range(200)]
    router = app.state.router
    assert router.status == "rolled_back" and router.fraction == 0.0
    assert "error rate" in router.reason
    assert statuses.count(500) < 60  # it stopped soon after 20 failures...
    assert set(statuses[-50:]) == {200}  # ...and everyone is back on the incumbent
    failed = client.post("/predict", json={"x": 3.0}, headers={"X-User-Id": "u1"})
    assert failed.headers["x-model-version"] == "m:v1"
    canary = client.get("/model").json()["canary"]
    assert canary["status"] == "rolled_back" and canary["fraction"] == 0.0 and canary["configured_fraction"] == 0.5
    assert "mlcourse_canary_fraction 0.0" in client.get("/metrics").text
    assert any(e["event"] == "rollback" for e in router.events)


def test_model_error_is_a_500_with_a_message(model) -> None:
    _, broken = _services(model, broken=True)
    client = TestClient(create_app(broken, prediction_log=False))
    r = client.post("/predict", json={"x": 1.0})
    assert r.status_code == 500
    assert r.json()["error"] == "model m:v2 failed: RuntimeError: feature store timeout"
    assert client.get("/health").status_code == 200


def test_slow_candidate_is_rolled_back_on_latency(model) -> None:
    incumbent, candidate = _services(model)
    router = ModelRouter(incumbent, candidate, fraction=0.5, rule=RollbackRule(min_requests=50))
    for i in range(100):
        router.record("m:v1", "incumbent", latency_ms=1.0 + (i % 3) * 0.1)
    for _ in range(49):
        router.record("m:v2", "candidate", latency_ms=80.0)
    assert router.status == "running"
    router.record("m:v2", "candidate", latency_ms=80.0)
    assert router.status == "rolled_back" and "p95 latency 80.0 ms" in router.reason


def test_a_good_candidate_keeps_running_and_client_errors_do_not_count(model) -> None:
    incumbent, candidate = _services(model)
    router = ModelRouter(incumbent, candidate, fraction=0.5, rule=RollbackRule(min_requests=10))
    for _ in range(300):
        router.record("m:v1", "incumbent", latency_ms=1.0)
        router.record("m:v2", "candidate", latency_ms=1.2)
        router.record("m:v2", "candidate", latency_ms=0.5, client_error=True)
    assert router.status == "running" and router.fraction == 0.5
    stats = router.version_stats("m:v2")
    assert (stats.requests, stats.errors, stats.client_errors) == (300, 0, 300)


def test_set_canary_checks_its_arguments(model) -> None:
    incumbent, candidate = _services(model)
    router = ModelRouter(incumbent)
    with pytest.raises(ValueError, match="needs a candidate"):
        router.set_canary(0.2)
    with pytest.raises(ValueError, match="between 0 and 1"):
        router.set_canary(1.5, candidate)
    router.set_canary(0.2, candidate)
    assert router.describe()["canary"]["candidate"] == "m:v2" and router.fraction == 0.2


def test_registry_canary_follows_the_candidate_alias(tmp_path, model) -> None:
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    for _ in range(2):
        save_model(model, "m", registry=tmp_path, feature_names=["x"], alias="production")
    promote("m", 1, registry=tmp_path)
    save_model(LogisticRegression(C=0.5).fit(X, [0, 0, 1, 1]), "m", registry=tmp_path,
               feature_names=["x"], alias="candidate")
    router = ModelRouter("m", "candidate", fraction=1.0, registry=tmp_path, reload_interval=0)
    assert (router.incumbent.version, router.candidate.version) == ("m:v1", "m:v3")
    assert router.choose("anyone")[0].version == "m:v3"
    promote("m", "candidate", registry=tmp_path)  # the canary went well
    router.refresh()
    assert router.incumbent.version == "m:v3"
    # Incumbent and candidate are now the same version: nothing left to split.
    assert {router.choose(f"u{i}")[1] for i in range(50)} == {"incumbent"}


def test_faulty_model_fails_a_share_of_calls_reproducibly(model) -> None:
    from mlcourse.deploy.rollout import FaultyModel

    def failures(seed):
        service = ModelService(FaultyModel(model, error_rate=0.3, seed=seed), ["x"], version="bad:v2")
        out = []
        for _ in range(400):
            try:
                out.append(service.predict([1.0]) is None)
            except RuntimeError:
                out.append(True)
        return out

    first = failures(0)
    assert first == failures(0) and 80 <= sum(first) <= 160
    wrapped = FaultyModel(model)
    assert (wrapped.classes_ == model.classes_).all() and wrapped.predict([[3.0]])[0] == 1
    with pytest.raises(ValueError, match="error_rate"):
        FaultyModel(model, error_rate=2)


def test_a_flaky_canary_in_the_app_is_rolled_back(model) -> None:
    from mlcourse.deploy.rollout import FaultyModel

    incumbent = ModelService(model, ["x"], version="m:v1")
    flaky = ModelService(FaultyModel(model, error_rate=0.2, seed=1), ["x"], version="m:v2")
    app = create_app(incumbent, candidate=flaky, canary=0.5, rule=RollbackRule(min_requests=30), prediction_log=False)
    client = TestClient(app)
    for i in range(300):
        client.post("/predict", json={"x": 1.0}, headers={"X-User-Id": f"user-{i}"})
    assert app.state.router.status == "rolled_back"
    stats = app.state.router.stats().set_index("version")
    assert stats.loc["m:v2", "error_rate"] > 0.1 and stats.loc["m:v1", "errors"] == 0


def test_each_canary_gets_its_own_users(model) -> None:
    incumbent, _ = _services(model)
    users = [f"user-{i}" for i in range(2_000)]
    chosen = {}
    for version in ("m:v2", "m:v3"):
        router = ModelRouter(incumbent, ModelService(model, ["x"], version=version), fraction=0.1)
        chosen[version] = {u for u in users if router.choose(u)[1] == "candidate"}
        assert chosen[version] == {u for u in users if router.choose(u)[1] == "candidate"}  # sticky
    overlap = len(chosen["m:v2"] & chosen["m:v3"]) / len(chosen["m:v2"])
    assert 150 <= len(chosen["m:v2"]) <= 250 and overlap < 0.3  # about 10 % of users each, mostly different


# --------------------------------------------------------------------------- following an alias, in order


class _SlowLoads:
    """Make ModelSlot._load of chosen versions wait until released: a slow model, in one process."""

    def __init__(self, monkeypatch, slow: set[int]) -> None:
        import threading

        from mlcourse.deploy.rollout import ModelSlot

        self.gates = {v: threading.Event() for v in slow}
        self.started: list[int] = []
        original = ModelSlot._load

        def load(slot, version):
            self.started.append(int(version))
            gate = self.gates.get(int(version))
            if gate is not None:
                assert gate.wait(30), "a test forgot to release a slow load"
            return original(slot, version)

        monkeypatch.setattr(ModelSlot, "_load", load)

    def wait_started(self, version: int) -> None:
        import time

        deadline = time.monotonic() + 30
        while version not in self.started:
            assert time.monotonic() < deadline, f"v{version} never started loading"
            time.sleep(0.01)


def _registry_with(tmp_path, model, n: int):
    for _ in range(n):
        save_model(model, "m", registry=tmp_path, feature_names=["x"])
    promote("m", 1, registry=tmp_path)
    return tmp_path


def _look(slot) -> None:
    slot._next_check = 0.0
    slot.service  # noqa: B018 - the property looks at the alias


def _loading_v2(tmp_path, model, monkeypatch, versions: int):
    """A slot serving v1 of a registry of ``versions`` versions, with v2 promoted and held loading:
    ``(registry, slow loads, slot)``."""
    from mlcourse.deploy.rollout import ModelSlot

    registry = _registry_with(tmp_path, model, versions)
    slow = _SlowLoads(monkeypatch, {2})
    slot = ModelSlot("m", registry=registry, reload_interval=3600)
    promote("m", 2, registry=registry)
    _look(slot)
    slow.wait_started(2)
    return registry, slow, slot


def test_a_rollback_during_a_slow_load_wins(tmp_path, model, monkeypatch) -> None:
    from mlcourse.deploy.registry import rollback

    registry, slow, slot = _loading_v2(tmp_path, model, monkeypatch, 2)
    assert slot.loading == 2 and slot.version == "m:v1"
    rollback("m", registry=registry)  # back to v1 while v2 is still loading
    _look(slot)
    slow.gates[2].set()
    assert slot.wait()
    assert slot.version == "m:v1" and slot.loading is None and slot.last_error is None
    assert [e["event"] for e in slot.events] == ["discarded"]


def test_the_last_alias_written_is_served_once_loaded(tmp_path, model, monkeypatch) -> None:
    registry, slow, slot = _loading_v2(tmp_path, model, monkeypatch, 3)
    promote("m", 3, registry=registry)  # v3 is wanted while v2 loads
    _look(slot)
    slow.gates[2].set()
    assert slot.wait()
    assert slot.version == "m:v3"
    assert [(e["event"], e.get("to") or e.get("version")) for e in slot.events] == [("discarded", 2), ("switch", "m:v3")]


def test_returning_to_the_served_version_clears_an_old_refusal(tmp_path, model) -> None:
    from mlcourse.deploy.registry import set_alias
    from mlcourse.deploy.rollout import ModelSlot

    registry = _registry_with(tmp_path, model, 2)
    slot = ModelSlot("m", registry=registry, reload_interval=3600)
    with open(tmp_path / "m" / "v2" / "model.joblib", "ab") as fh:
        fh.write(b"tampered")
    set_alias("m", "production", 2, registry=registry)
    assert slot.refresh() is False and "refused m v2" in slot.last_error and slot.version == "m:v1"
    set_alias("m", "production", 1, registry=registry)
    _look(slot)
    assert slot.last_error is None and slot.version == "m:v1"


def test_a_background_slot_is_not_ready_until_loaded(tmp_path, model, monkeypatch) -> None:
    from mlcourse.deploy.rollout import ModelSlot, NotReady

    registry = _registry_with(tmp_path, model, 2)
    slow = _SlowLoads(monkeypatch, {1})
    router = ModelRouter("m", registry=registry, background=True)
    slow.wait_started(1)
    assert not router.ready
    with pytest.raises(NotReady, match="loading m v1"):
        router.choose("user-1")
    slow.gates[1].set()
    assert router.incumbent.wait() and router.ready and router.choose("user-1")[0].version == "m:v1"
    started_on_v2 = ModelSlot("m", registry=registry, start_version=2)  # the alias says v1
    assert started_on_v2.version == "m:v2"
