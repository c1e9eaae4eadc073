"""Stage 3, serving over HTTP: the FastAPI app and ``mlcourse serve``.

The top of the deploy stage: it puts :class:`~mlcourse.deploy.service.ModelService`
instances, routed by :class:`~mlcourse.deploy.rollout.ModelRouter`, behind an
HTTP API, and logs every request to :mod:`mlcourse.deploy.prediction_log`.

:func:`create_app` puts services behind a FastAPI app:

========================  ===================================================
``POST /predict``         one record ``{"amount": 12.5, ...}`` -> prediction,
                          score, model version, request id
``POST /predict/batch``   ``{"records": [...]}`` (at most ``max_batch``)
``GET /health``           liveness and what is being served
``GET /model``            version, metadata, features with dtypes, canary
``GET /metrics``          Prometheus text: requests, latency, predictions,
                          CPU and memory
========================  ===================================================

Bad input is answered with a 422 naming the field (413 for a body over the
size limit), never a 500. Every request, answered or rejected, is written to
the prediction log (:class:`mlcourse.deploy.prediction_log.PredictionLog`) off the
request path. The app follows the registry's aliases while it runs, and can
run a canary (:mod:`mlcourse.deploy.rollout`). ``mlcourse serve`` runs it with
uvicorn (:func:`serve`).

FastAPI, pydantic and prometheus-client are imported only by
:func:`create_app`, so importing this module stays quick.
"""

import json
import os
import re
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from mlcourse.deploy.service import FLOAT32_MAX, InvalidInput, ModelService

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI
    from pydantic import BaseModel

    from mlcourse.deploy.prediction_log import PredictionLog
    from mlcourse.deploy.rollout import ModelRouter, RollbackRule

__all__ = [
    "batch_request_model",
    "create_app",
    "request_model",
    "serve",
]

# --------------------------------------------------------------------------- request schemas


def request_model(service: ModelService) -> "type[BaseModel]":
    """The pydantic model of one ``POST /predict`` body, built from the feature schema.

    Numbers are strict (a string such as ``"12.5"`` is refused, not
    converted) and must be finite and within float32's range; text
    features with known categories only take those values; unknown keys
    are refused. Built once per service and cached.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> svc = ModelService(DummyClassifier().fit([[0.0], [1.0]], [0, 1]), ["amount"])
    >>> Record = request_model(svc)
    >>> Record.model_validate_json('{"amount": 12.5}').model_dump(by_alias=True)
    {'amount': 12.5}
    >>> Record.model_validate_json('{"amount": "12.5"}')
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for PredictRequest
    amount
      Input should be a valid number [type=float_type, input_value='12.5', input_type=str]
    ...
    """
    cached = service.__dict__.get("_request_model")
    if cached is not None:
        return cached
    from typing import Annotated, Literal

    from pydantic import ConfigDict, Field, create_model

    fields: dict[str, Any] = {}
    for i, name in enumerate(service.feature_names):
        dtype = service.feature_dtypes[name]
        allowed = service.categories.get(name)
        if service._text[i] and allowed:
            kind: Any = Literal[tuple(allowed)]
            extra: dict[str, Any] = {}
        elif service._text[i]:
            kind = str
            extra = {"strict": True, "min_length": 1, "max_length": 1000}
        else:
            kind = float
            extra = {"strict": True, "allow_inf_nan": False, "ge": -FLOAT32_MAX, "le": FLOAT32_MAX}
        # Field names are f0, f1, ...; the feature name is the alias, so any
        # name works, even one that is not a Python identifier.
        fields[f"f{i}"] = (Annotated[kind, Field(alias=name, title=name, description=dtype, **extra)], ...)
    model = create_model(
        "PredictRequest",
        __config__=ConfigDict(extra="forbid", populate_by_name=False),
        **fields,
    )
    service.__dict__["_request_model"] = model
    return model


def batch_request_model(service: ModelService, max_batch: int = 1000) -> "type[BaseModel]":
    """The pydantic model of a ``POST /predict/batch`` body: ``{"records": [...]}``,
    1 to ``max_batch`` records, each as in :func:`request_model`."""
    cache = service.__dict__.setdefault("_batch_models", {})
    if max_batch in cache:
        return cache[max_batch]
    from typing import Annotated

    from pydantic import ConfigDict, Field, create_model

    record = request_model(service)
    model = create_model(
        "PredictBatchRequest",
        __config__=ConfigDict(extra="forbid"),
        records=(Annotated[list[record], Field(min_length=1, max_length=max_batch)], ...),  # type: ignore[valid-type]
    )
    cache[max_batch] = model
    return model


def _problems(exc: Any, max_batch: int) -> tuple[str, list[str], list[dict[str, Any]]]:
    """A pydantic ValidationError as (one-line message, fields at fault, FastAPI-style detail)."""
    messages: list[str] = []
    fields: list[str] = []
    detail: list[dict[str, Any]] = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = list(error.get("loc", ()))
        kind = error.get("type", "")
        msg = error.get("msg", "")
        if loc == ["records"] and kind == "too_short":
            msg = "empty batch: send at least one record"
        elif loc == ["records"] and kind == "too_long":
            msg = f"batch over the limit: at most {max_batch} records per request"
        elif kind == "extra_forbidden":
            msg = "unknown field"
        elif kind in ("less_than_equal", "greater_than_equal"):
            msg = f"Input is out of range (at most {FLOAT32_MAX:.3g} in size)"
        where = ""
        for part in loc:
            where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
        messages.append(f"{where or 'body'}: {msg}")
        named = [p for p in loc if isinstance(p, str)]
        field = named[-1] if named else "body"
        if field not in fields:
            fields.append(field)
        detail.append({"loc": ["body", *loc], "msg": msg, "type": kind})
    shown = "; ".join(messages[:5]) + (f"; ... ({len(messages)} problems)" if len(messages) > 5 else "")
    return shown, fields, detail


# --------------------------------------------------------------------------- metrics


class ServingMetrics:
    """The app's Prometheus metrics, in a registry of their own (one per app).

    ``mlcourse_requests_total{endpoint, status, model_version}``,
    ``mlcourse_request_latency_seconds{endpoint, model_version}`` (histogram),
    ``mlcourse_prediction_score{model_version}`` (histogram of the
    probability of class 1), ``mlcourse_predictions_total{model_version,
    prediction}``, ``mlcourse_canary_fraction``, ``mlcourse_model_info{role,
    model_version}``, the prediction log's queue, and the process's
    ``process_cpu_seconds_total`` and ``process_resident_memory_bytes``.
    """

    LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
    SCORE_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        _add_process_collector(self.registry)
        self.requests = Counter("mlcourse_requests", "HTTP requests by endpoint, status and model version",
                                ["endpoint", "status", "model_version"], registry=self.registry)
        self.latency = Histogram("mlcourse_request_latency_seconds", "Time from request to response, in the app",
                                 ["endpoint", "model_version"], buckets=self.LATENCY_BUCKETS, registry=self.registry)
        self.scores = Histogram("mlcourse_prediction_score", "Predicted probability of class 1",
                                ["model_version"], buckets=self.SCORE_BUCKETS, registry=self.registry)
        self.predictions = Counter("mlcourse_predictions", "Predictions by predicted label",
                                   ["model_version", "prediction"], registry=self.registry)
        self.canary_fraction = Gauge("mlcourse_canary_fraction", "Share of users routed to the canary candidate",
                                     registry=self.registry)
        self.model_info = Gauge("mlcourse_model_info", "Versions being served (1) by role",
                                ["role", "model_version"], registry=self.registry)
        self.log_queue = Gauge("mlcourse_prediction_log_queued", "Prediction-log rows waiting to be written",
                               registry=self.registry)
        self.log_dropped = Gauge("mlcourse_prediction_log_dropped", "Prediction-log rows dropped (queue full)",
                                 registry=self.registry)
        self._children: dict[tuple, Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def observe(self, endpoint: str, status: int, version: str, seconds: float) -> None:
        self._child(self.requests, endpoint, str(status), version).inc()
        self._child(self.latency, endpoint, version).observe(seconds)

    def predicted(self, version: str, labels: Sequence[Any], scores: Sequence[float] | None) -> None:
        if len(labels) == 1:
            self._child(self.predictions, version, str(labels[0])).inc()
        else:
            values, counts = np.unique(np.asarray(labels).astype(str), return_counts=True)
            for value, count in zip(values, counts):
                self._child(self.predictions, version, str(value)).inc(int(count))
        if scores is not None:
            histogram = self._child(self.scores, version)
            for s in scores:
                histogram.observe(s)

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


def _add_process_collector(registry: Any) -> None:
    """CPU seconds and resident memory of this process, on any Unix."""
    from prometheus_client import ProcessCollector

    if os.path.isdir("/proc/self"):
        ProcessCollector(registry=registry)
        return
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    class _Rusage:  # pragma: no cover - macOS
        def collect(self) -> Any:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu = CounterMetricFamily("process_cpu_seconds", "Total user and system CPU time in seconds.")
            cpu.add_metric([], usage.ru_utime + usage.ru_stime)
            scale = 1 if sys.platform == "darwin" else 1024
            mem = GaugeMetricFamily("process_resident_memory_bytes", "Peak resident memory size in bytes.")
            mem.add_metric([], usage.ru_maxrss * scale)
            return [cpu, mem]

    registry.register(_Rusage())


# --------------------------------------------------------------------------- the HTTP app


class _TooLarge(Exception):
    pass


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/-]{1,128}$")


def _production_model(root: Path) -> list[str]:
    """Names of the models in a registry folder that have a ``production`` alias."""
    from mlcourse.deploy.registry import get_aliases, model_names

    return [name for name in model_names(root) if "production" in get_aliases(name, registry=root)]


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), default=str).encode()


def create_app(
    model: "ModelService | str | ModelRouter | None" = None,
    *,
    registry: str | os.PathLike[str] | None = None,
    candidate: "ModelService | str | None" = None,
    canary: float = 0.0,
    rule: "RollbackRule | bool | None" = None,
    prediction_log: "PredictionLog | str | os.PathLike[str] | bool | None" = None,
    max_batch: int = 1000,
    max_body_bytes: int = 1_048_576,
    reload_interval: float = 1.0,
    onnx: bool | None = None,
) -> "FastAPI":
    """Build the FastAPI app that serves a model (and optionally a canary).

    Parameters
    ----------
    model : ModelService, str or ModelRouter, optional
        What to serve: a service (served as is), a registry reference
        (``"fraud-detector"`` follows its ``production`` alias,
        ``"fraud-detector:v2"`` pins a version), or a ready
        :class:`~mlcourse.deploy.rollout.ModelRouter`. Default: the registry's
        model with a ``production`` alias.
    registry : path, optional
        Registry folder for references (default: ``$MLCOURSE_HOME/registry``).
    candidate : ModelService or str, optional
        A canary candidate: a service, ``"candidate"`` (an alias of the
        served model), ``"v3"``, or ``"name:alias"``.
    canary : float, default 0.0
        Share of users (by ``X-User-Id``, else by request) sent to the candidate.
    rule : RollbackRule or False, optional
        Automatic canary rollback; default ``RollbackRule()``; False: never.
    prediction_log : PredictionLog, path or bool, optional
        Where every request is logged. Default (None or True):
        ``$MLCOURSE_HOME/predictions.db``; False: no log.
    max_batch : int, default 1000
        Most records in one ``/predict/batch`` request.
    max_body_bytes : int, default 1 MiB
        Larger request bodies get a 413.
    reload_interval : float, default 1.0
        Seconds between looks at the registry's aliases (0: never re-resolve).
    onnx : bool or None
        For registry references: None uses ONNX when a version has it.

    Returns
    -------
    fastapi.FastAPI
        ``app.state.router`` (a :class:`~mlcourse.deploy.rollout.ModelRouter`),
        ``app.state.prediction_log`` and ``app.state.metrics`` let a notebook
        inspect and steer it.

    Examples
    --------
    >>> from fastapi.testclient import TestClient
    >>> from sklearn.linear_model import LogisticRegression
    >>> model = LogisticRegression().fit([[0.0], [10.0]], [0, 1])
    >>> app = create_app(ModelService(model, ["amount"], version="demo:v1"), prediction_log=False)
    >>> client = TestClient(app)
    >>> r = client.post("/predict", json={"amount": 9.0})
    >>> r.status_code, r.json()["prediction"], r.headers["x-model-version"]
    (200, 1, 'demo:v1')
    >>> r = client.post("/predict", json={"amount": "nine"})
    >>> r.status_code, r.json()["error"]
    (422, 'amount: Input should be a valid number')
    """
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, Response
    from pydantic import ValidationError

    from mlcourse.deploy.prediction_log import PredictionLog
    from mlcourse.deploy.rollout import ModelRouter

    if max_batch < 1:
        raise ValueError("max_batch must be at least 1")
    if model is None:
        from mlcourse.deploy.registry import registry_root

        names = _production_model(registry_root(registry))
        if not names:
            raise ValueError(f"no model in the registry {registry_root(registry)} has a 'production' alias")
        model = "fraud-detector" if "fraud-detector" in names else names[0]
    if isinstance(model, ModelRouter):
        router = model
        if candidate is not None or canary:
            router.set_canary(canary, candidate)
    else:
        router = ModelRouter(model, candidate, fraction=canary, rule=rule, registry=registry,
                             onnx=onnx, reload_interval=reload_interval)

    if prediction_log is None or prediction_log is True:
        log: PredictionLog | None = PredictionLog()
    elif prediction_log is False:
        log = None
    elif isinstance(prediction_log, PredictionLog):
        log = prediction_log
    else:
        log = PredictionLog(prediction_log)

    metrics = ServingMetrics()
    if log is not None:
        metrics.log_queue.set_function(lambda: log.queued)
        metrics.log_dropped.set_function(lambda: log.dropped)
    started = time.time()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        if log is not None:
            log.close()

    app = FastAPI(
        title="mlcourse model service",
        version=_package_version(),
        description="Predictions from a registered model, validated, logged and measured. "
        "Send one record to /predict or many to /predict/batch.",
        lifespan=lifespan,
    )
    app.state.router = router
    app.state.prediction_log = log
    app.state.metrics = metrics
    app.state.max_batch = max_batch

    put = log.put if log is not None else None

    async def read_body(request: Request) -> bytes:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > max_body_bytes:
            raise _TooLarge(f"request body of {int(length)} bytes is over the limit of {max_body_bytes} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_body_bytes:
                raise _TooLarge(f"request body is over the limit of {max_body_bytes} bytes")
        return bytes(body)

    def request_id_of(request: Request) -> str:
        given = request.headers.get("x-request-id")
        if given and _REQUEST_ID.match(given):
            return given
        return uuid.uuid4().hex

    def rejected(endpoint: str, status: int, rid: str, service: ModelService, role: str, started_at: float,
                 message: str, fields: list[str], detail: list[dict[str, Any]] | None, body: bytes | None) -> Response:
        latency = time.perf_counter() - started_at
        version = service.version
        metrics.observe(endpoint, status, version, latency)
        router.record(version, role, latency_ms=latency * 1e3, client_error=status < 500, error=status >= 500)
        if put is not None:
            features = None
            if body is not None and len(body) <= 65536:
                try:
                    parsed = json.loads(body)
                    features = parsed if isinstance(parsed, dict) else None
                except (ValueError, RecursionError):
                    features = None
            put((time.time(), rid, version, features, None, None, latency * 1e3, "error", f"{status}: {message}"))
        content: dict[str, Any] = {"error": message, "fields": fields, "request_id": rid, "model_version": version}
        if detail is not None:
            content["detail"] = detail
        return Response(_dumps(content), status_code=status, media_type="application/json",
                        headers={"x-model-version": version, "x-request-id": rid})

    def predict_json_schema() -> dict[str, Any]:
        schema = request_model(router.incumbent.service).model_json_schema(by_alias=True)
        return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}

    def batch_json_schema() -> dict[str, Any]:
        schema = batch_request_model(router.incumbent.service, max_batch).model_json_schema(by_alias=True)
        return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}

    @app.post("/predict", openapi_extra=predict_json_schema(), summary="Predict one record")
    async def predict(request: Request) -> Response:
        """One record as a JSON object of feature values. Answers the prediction
        (label), its score (probability of class 1), the model version and the request id."""
        t0 = time.perf_counter()
        rid = request_id_of(request)
        service, role = router.choose(request.headers.get("x-user-id") or rid)
        body = None
        try:
            body = await read_body(request)
            record = request_model(service).model_validate_json(body)
        except _TooLarge as exc:
            return rejected("/predict", 413, rid, service, role, t0, str(exc), ["body"], None, None)
        except ValidationError as exc:
            message, fields, detail = _problems(exc, max_batch)
            return rejected("/predict", 422, rid, service, role, t0, message, fields, detail, body)
        values = list(record.__dict__.values())
        try:
            labels, proba = service._infer(service._columns([values]), scores=True)
            scores = service.positive_scores(proba)
            label = labels[0].item() if hasattr(labels[0], "item") else labels[0]
            score = None if scores is None else float(scores[0])
        except InvalidInput as exc:  # a check pydantic does not make
            return rejected("/predict", 422, rid, service, role, t0, str(exc), exc.fields, None, body)
        except Exception as exc:  # the model failed: a server error, held against this version
            return rejected("/predict", 500, rid, service, role, t0,
                            f"model {service.version} failed: {type(exc).__name__}: {exc}", [], None, body)
        latency = time.perf_counter() - t0
        version = service.version
        metrics.observe("/predict", 200, version, latency)
        metrics.predicted(version, [label], None if score is None else [score])
        router.record(version, role, latency_ms=latency * 1e3)
        if put is not None:
            put((time.time(), rid, version, dict(zip(service.feature_names, values)),
                 _as_float(label), score, latency * 1e3, "ok", None))
        return Response(
            _dumps({"prediction": label, "score": score, "model_version": version, "request_id": rid}),
            media_type="application/json",
            headers={"x-model-version": version, "x-request-id": rid},
        )

    @app.post("/predict/batch", openapi_extra=batch_json_schema(), summary="Predict many records")
    async def predict_batch(request: Request) -> Response:
        """``{"records": [...]}`` with 1 to ``max_batch`` records. Row ``i`` is
        logged with request id ``"<request id>/<i>"``."""
        t0 = time.perf_counter()
        rid = request_id_of(request)
        service, role = router.choose(request.headers.get("x-user-id") or rid)
        body = None
        try:
            body = await read_body(request)
            batch = batch_request_model(service, max_batch).model_validate_json(body)
        except _TooLarge as exc:
            return rejected("/predict/batch", 413, rid, service, role, t0, str(exc), ["body"], None, None)
        except ValidationError as exc:
            message, fields, detail = _problems(exc, max_batch)
            return rejected("/predict/batch", 422, rid, service, role, t0, message, fields, detail, None)
        rows = [list(r.__dict__.values()) for r in batch.records]
        try:
            labels, proba = service._infer(service._columns(rows), scores=True)
            scores = service.positive_scores(proba)
            label_list = np.asarray(labels).tolist()
            score_list = None if scores is None else np.asarray(scores, dtype=float).tolist()
        except InvalidInput as exc:
            return rejected("/predict/batch", 422, rid, service, role, t0, str(exc), exc.fields, None, None)
        except Exception as exc:
            return rejected("/predict/batch", 500, rid, service, role, t0,
                            f"model {service.version} failed: {type(exc).__name__}: {exc}", [], None, None)
        latency = time.perf_counter() - t0
        version = service.version
        metrics.observe("/predict/batch", 200, version, latency)
        metrics.predicted(version, label_list, score_list)
        router.record(version, role, latency_ms=latency * 1e3)
        if log is not None:
            now, ms, names = time.time(), latency * 1e3, service.feature_names
            log.put_many([
                (now, f"{rid}/{i}", version, dict(zip(names, row)), _as_float(label_list[i]),
                 None if score_list is None else score_list[i], ms, "ok", None)
                for i, row in enumerate(rows)
            ])
        return Response(
            _dumps({"predictions": label_list, "scores": score_list, "model_version": version, "request_id": rid}),
            media_type="application/json",
            headers={"x-model-version": version, "x-request-id": rid},
        )

    @app.get("/health", summary="Liveness and what is being served")
    async def health() -> dict[str, Any]:
        service = router.incumbent.service
        canary = router.describe()["canary"]
        return {
            "status": "ok",
            "model_version": service.version,
            "backend": service.backend,
            "canary": None if canary is None else {k: canary[k] for k in ("candidate", "fraction", "status")},
            "uptime_s": round(time.time() - started, 3),
            "reload_error": router.last_error,
            "prediction_log": None if log is None else {
                "path": str(log.path), "written": log.written, "queued": log.queued, "dropped": log.dropped},
        }

    @app.get("/model", summary="The served model: version, metadata, feature schema, canary")
    async def model_info() -> dict[str, Any]:
        routing = router.describe()
        info = router.incumbent.service.describe()
        info["canary"] = routing["canary"]
        if router.candidate is not None:
            info["candidate"] = router.candidate.service.describe()
        info["limits"] = {"max_batch": max_batch, "max_body_bytes": max_body_bytes}
        return info

    @app.get("/metrics", summary="Prometheus metrics")
    async def prometheus() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST

        metrics.canary_fraction.set(router.fraction)
        metrics.model_info.clear()
        metrics.model_info.labels("incumbent", router.incumbent.version).set(1)
        if router.candidate is not None and router.fraction > 0:
            metrics.model_info.labels("candidate", router.candidate.version).set(1)
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    async def index() -> dict[str, Any]:
        return {"service": "mlcourse", "model_version": router.incumbent.version,
                "endpoints": ["POST /predict", "POST /predict/batch", "GET /health", "GET /model",
                              "GET /metrics", "GET /docs"]}

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - safety net
        return JSONResponse({"error": f"internal error: {type(exc).__name__}"}, status_code=500)

    return app


def _as_float(label: Any) -> float | None:
    try:
        return float(label)
    except (TypeError, ValueError):
        return None


def _package_version() -> str:
    from mlcourse import __version__

    return __version__


# --------------------------------------------------------------------------- mlcourse serve


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _run_uvicorn(app: Any, host: str, port: int) -> None:
    import logging

    import uvicorn

    # The server is the application: show the package's own log lines (canary
    # rollbacks, alias switches) beside uvicorn's.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    package_logger = logging.getLogger("mlcourse")
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.INFO)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


def serve(
    *,
    registry: str | os.PathLike[str] | None = None,
    model: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    candidate: str | None = None,
    canary: float | None = None,
    prediction_log: str | os.PathLike[str] | bool | None = None,
    max_batch: int = 1000,
    stream: TextIO | None = None,
) -> int:
    """Run the service with uvicorn: what ``mlcourse serve`` does.

    Serves ``model``'s ``production`` alias (default: the registry's model
    that has one). On an empty registry the course's default model
    (``fraud-detector``, see :func:`mlcourse.deploy.default_model.train_default_model`)
    is trained and registered first.

    Raises
    ------
    mlcourse.errors.CLIError
        Nothing to serve, a model whose files fail their hash check, a
        candidate that does not exist, or a port in use.
    """
    from mlcourse.deploy.registry import ModelIntegrityError, ModelNotFoundError, registry_root
    from mlcourse.errors import CLIError

    out = stream or sys.stdout
    root = registry_root(registry)
    say = lambda line="": print(line, file=out, flush=True)  # noqa: E731

    if canary is not None and candidate is None:
        raise CLIError("--canary needs --candidate (the version to send that share of traffic to)")
    if canary is not None and not 0.0 <= canary <= 1.0:
        raise CLIError(f"--canary must be a fraction between 0 and 1, got {canary}")
    if not _port_free(host, port):
        raise CLIError(f"cannot listen on {host}:{port}: the port is in use; choose another with --port")

    from mlcourse.deploy.default_model import train_default_model
    from mlcourse.train.fraud_model import DEFAULT_MODEL

    with_production = _production_model(root)
    if model is None:
        if not with_production:
            existing = [p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")] if root.is_dir() else []
            if existing:
                raise CLIError(
                    f"no model in {root} has a 'production' alias (models: {', '.join(sorted(existing))}); "
                    "promote one with mlcourse.deploy.registry.promote(NAME, VERSION) or pass --model NAME"
                )
            model = DEFAULT_MODEL
        elif len(with_production) == 1 or DEFAULT_MODEL in with_production:
            model = DEFAULT_MODEL if DEFAULT_MODEL in with_production else with_production[0]
        else:
            raise CLIError(f"several models have a 'production' alias ({', '.join(with_production)}); "
                           "choose one with --model NAME")
    name, ref = model.split(":", 1) if ":" in model else (model, "production")
    if name == DEFAULT_MODEL and not (root / name).is_dir():
        say(f"The registry {root} has no {DEFAULT_MODEL!r} model yet: training the course's default model")
        say("(a random forest on mlcourse.data.make_transactions, without the leaky columns; a few seconds)...")
        t0 = time.perf_counter()
        version = train_default_model(registry=root)
        metrics = version.metadata.get("metrics", {})
        say(f"Registered {version.label} as 'production' in {time.perf_counter() - t0:.1f} s "
            f"(test ROC-AUC {metrics.get('roc_auc', float('nan')):.3f}, recall {metrics.get('recall', float('nan')):.3f}).")
    elif name != DEFAULT_MODEL and not (root / name).is_dir():
        raise CLIError(f"no model named {name!r} in the registry {root}")

    from mlcourse.deploy.prediction_log import PredictionLog
    from mlcourse.deploy.rollout import ModelRouter

    try:
        router = ModelRouter(f"{name}:{ref}", candidate, fraction=canary or (0.1 if candidate else 0.0),
                             registry=root)
    except ModelIntegrityError as exc:
        raise CLIError(f"refusing to serve: {exc}") from None
    except (ModelNotFoundError, ValueError) as exc:
        raise CLIError(str(exc)) from None

    log = PredictionLog(prediction_log) if prediction_log not in (None, True, False) else (
        None if prediction_log is False else PredictionLog())
    app = create_app(router, prediction_log=log if log is not None else False, max_batch=max_batch)
    service = router.incumbent.service
    say(f"Serving {service.version} ({service.backend}) from {root}, following its {ref!r} alias")
    if router.candidate is not None:
        say(f"Canary: {router.fraction:.0%} of users to {router.candidate.version}, "
            "rolled back automatically if its errors or latency are worse")
    say(f"Prediction log: {log.path if log is not None else 'off'}")
    say(f"Try: curl -s http://{host}:{port}/model   (API docs: http://{host}:{port}/docs; Ctrl-C stops)")
    _run_uvicorn(app, host, port)
    return 0
