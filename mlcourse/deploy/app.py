"""Stage 3, serving over HTTP: the FastAPI app.

The top of the deploy stage but one (:mod:`mlcourse.deploy.server` runs it):
it puts :class:`~mlcourse.deploy.service.ModelService` instances, routed by
:class:`~mlcourse.deploy.rollout.ModelRouter`, behind an HTTP API, and logs
every request to :mod:`mlcourse.deploy.prediction_log`.

:func:`create_app` puts services behind a FastAPI app:

========================  ===================================================
``POST /predict``         one record ``{"amount": 12.5, ...}`` -> prediction,
                          score, model version, request id
``POST /predict/batch``   ``{"records": [...]}`` (at most ``max_batch``)
``GET /health``           liveness: always 200 while the process answers;
                          ``status`` is ``ok``, ``starting`` or ``degraded``
                          (a refused version, a failing prediction log)
``GET /ready``            readiness: 200 once a model is loaded, 503 before
                          (and while shutting down)
``GET /model``            version, metadata, features with types and ranges,
                          canary
``GET /metrics``          Prometheus text: requests, latency, predictions,
                          the prediction log's rows written and dropped,
                          CPU and memory
========================  ===================================================

Every answer is documented in the OpenAPI document (``/docs``,
:mod:`mlcourse.deploy.schemas`). Bad input is answered with a 422 naming the
field and what it accepts (413 for a body over the size limit, 415 for a body
that is not plain JSON, 408 for one that does not arrive in time), never a
500; a UTF-8 byte-order mark before the JSON is ignored. A client's
``X-Request-Id`` is kept when it is short and plain (letters, digits,
``._:-``) and not seen recently, so a row of the log belongs to one request;
otherwise the id gets a suffix or is replaced, and the answer says which id
was logged.

:func:`create_app` is a short pipeline: build the router, open the log, the
metrics, then the routes (predictions; status and metrics) and the OpenAPI
document. FastAPI, pydantic and prometheus-client are imported only by
:func:`create_app`, so importing this module stays quick.
"""

import asyncio
import json
import os
import re
import time
import uuid
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from mlcourse.deploy.service import InvalidInput, ModelService

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI, Request
    from fastapi.responses import Response
    from pydantic import BaseModel

    from mlcourse.deploy.prediction_log import PredictionLog
    from mlcourse.deploy.prometheus import ServingMetrics
    from mlcourse.deploy.rollout import ModelRouter, RollbackRule

__all__ = [
    "batch_request_model",
    "create_app",
    "request_model",
]


def request_model(service: ModelService) -> "type[BaseModel]":
    """The pydantic model of one ``POST /predict`` body: see :func:`mlcourse.deploy.schemas.request_model`."""
    from mlcourse.deploy.schemas import request_model as build

    return build(service)


def batch_request_model(service: ModelService, max_batch: int = 1000) -> "type[BaseModel]":
    """The pydantic model of a ``POST /predict/batch`` body: see :func:`mlcourse.deploy.schemas.batch_request_model`."""
    from mlcourse.deploy.schemas import batch_request_model as build

    return build(service, max_batch)


# --------------------------------------------------------------------------- the parts of a request


class _Refused(Exception):
    """A request refused before its body is parsed (408, 413, 415)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_BOM = b"\xef\xbb\xbf"


class RequestIds:
    """The id each request is logged under: the client's when plain and new, else made unique.

    ``/`` is refused because batch rows are logged as ``<id>/<row>``; an id
    seen among the last ``memory`` requests gets a random suffix, so two
    requests never share a row id (and a label sent for one never lands on
    the other).

    Examples
    --------
    >>> ids = RequestIds()
    >>> ids.of("order-981"), ids.of("order-981").startswith("order-981-"), len(ids.of("abc/0"))
    ('order-981', True, 32)
    """

    def __init__(self, memory: int = 100_000) -> None:
        self.memory = memory
        self._seen: OrderedDict[str, None] = OrderedDict()

    def of(self, given: str | None) -> str:
        if not given or not _REQUEST_ID.match(given):
            return uuid.uuid4().hex
        if given in self._seen:
            given = f"{given}-{uuid.uuid4().hex[:12]}"
        self._seen[given] = None
        if len(self._seen) > self.memory:
            self._seen.popitem(last=False)
        return given


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), default=str).encode()


def _as_float(label: Any) -> float | None:
    try:
        return float(label)
    except (TypeError, ValueError):
        return None


def _production_model(root: Any) -> list[str]:
    """Names of the models in a registry folder that have a ``production`` alias."""
    from mlcourse.deploy.registry import get_aliases, model_names

    return [name for name in model_names(root) if "production" in get_aliases(name, registry=root)]


def _package_version() -> str:
    from mlcourse import __version__

    return __version__


# --------------------------------------------------------------------------- answering a prediction request


class _Handler:
    """Everything a prediction request goes through, in order: id, route, body, schema, model, log, answer."""

    def __init__(self, router: "ModelRouter", log: "PredictionLog | None", metrics: "ServingMetrics", *,
                 max_batch: int, max_body_bytes: int, body_timeout: float, ack_timeout: float) -> None:
        self.router = router
        self.log = log
        self.metrics = metrics
        self.max_batch = max_batch
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self.ack_timeout = ack_timeout
        self.ids = RequestIds()
        self.acknowledged = log is not None and log.durability == "request"

    async def body(self, request: "Request") -> bytes:
        """The raw JSON body: 415 unless JSON, 413 over the limit, 408 when too slow; a BOM dropped."""
        media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise _Refused(415, f"Content-Type {media or '(empty)'} is not supported: send the record as JSON "
                                "with Content-Type: application/json")
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise _Refused(415, f"Content-Encoding {encoding} is not supported: send the JSON uncompressed")
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            raise _Refused(413, f"request body of {int(length)} bytes is over the limit of {self.max_body_bytes} bytes")
        try:
            body = await asyncio.wait_for(self._read(request), self.body_timeout)
        except asyncio.TimeoutError:
            raise _Refused(408, f"the request body did not arrive within {self.body_timeout:g} s") from None
        return body[3:] if body.startswith(_BOM) else body

    async def _read(self, request: "Request") -> bytes:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body_bytes:
                raise _Refused(413, f"request body is over the limit of {self.max_body_bytes} bytes")
        return bytes(body)

    async def predict(self, request: "Request", endpoint: str, batch: bool) -> "Response":
        from pydantic import ValidationError

        from mlcourse.deploy.rollout import NotReady
        from mlcourse.deploy.schemas import problems

        t0 = time.perf_counter()
        rid = self.ids.of(request.headers.get("x-request-id"))
        try:
            # The canary places users by X-User-Id, else by the client's own request id (a retry
            # lands on the same version), else by the id given here.
            key = request.headers.get("x-user-id") or request.headers.get("x-request-id") or rid
            service, role = self.router.choose(key)
        except NotReady as exc:
            return self.answer(503, {"error": f"not ready: {exc}; retry shortly", "fields": [], "request_id": rid},
                               rid, None, retry=True)
        reply = _Reply(self, endpoint, rid, service, role, t0)
        body = None
        try:
            body = await self.body(request)
            if batch:
                records = batch_request_model(service, self.max_batch).model_validate_json(body).records
            else:
                records = [request_model(service).model_validate_json(body)]
        except _Refused as exc:
            return await reply.refused(exc.status, str(exc), ["body"], None, None)
        except ValidationError as exc:
            message, fields, detail = problems(exc, self.max_batch, service)
            return await reply.refused(422, message, fields, detail, None if batch else body)
        rows = [list(r.__dict__.values()) for r in records]
        try:
            labels, proba = service._infer(service._columns(rows), scores=True)
            scores = service.positive_scores(proba)
        except InvalidInput as exc:  # a check pydantic does not make
            return await reply.refused(422, str(exc), exc.fields, None, None if batch else body)
        except Exception as exc:  # the model failed: a server error, held against this version
            return await reply.refused(500, f"model {service.version} failed: {type(exc).__name__}: {exc}", [], None,
                                       None if batch else body)
        return await reply.predicted(rows, labels, scores, batch)

    def answer(self, status: int, content: dict[str, Any], rid: str, version: str | None,
               retry: bool = False) -> "Response":
        from fastapi.responses import Response

        headers = {"x-request-id": rid}
        if version is not None:
            headers["x-model-version"] = version
        if retry:
            headers["retry-after"] = "1"
        return Response(_dumps(content), status_code=status, media_type="application/json", headers=headers)

    async def logged(self, rows: list[tuple], wait: bool) -> str | None:
        """Queue rows for the log; with ``wait`` (durability "request") await their commit.

        Returns None when done, else why the rows could not be recorded.
        """
        if self.log is None:
            return None
        if not (wait and self.acknowledged):
            self.log.put_many(rows)
            return None
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()

        def settle(ok: bool, error: str | None) -> None:
            loop.call_soon_threadsafe(lambda: future.done() or future.set_result((ok, error)))

        receipt = self.log.put_many(rows, ack=settle)
        try:
            ok, error = await asyncio.wait_for(asyncio.shield(future), self.ack_timeout)
        except asyncio.TimeoutError:
            receipt.cancelled = True  # withdrawn: it must not appear for a request answered 503
            self.log.count_unacknowledged(len(rows), f"not committed within {self.ack_timeout:g} s")
            return f"not committed within {self.ack_timeout:g} s ({self.log.last_error or 'the log is slow'})"
        return None if ok else (error or "the prediction log refused it")


class _Reply:
    """One request's answer: metrics, the router's tally, the log row, then the HTTP response."""

    def __init__(self, handler: _Handler, endpoint: str, rid: str, service: ModelService, role: str,
                 started: float) -> None:
        self.handler, self.endpoint, self.rid = handler, endpoint, rid
        self.service, self.role, self.started = service, role, started

    def _count(self, status: int, latency: float) -> None:
        version = self.service.version
        self.handler.metrics.observe(self.endpoint, status, version, latency)
        # A refused request (4xx) or an unrecorded one (503) is not the model's doing.
        self.handler.router.record(version, self.role, latency_ms=latency * 1e3,
                                   client_error=400 <= status < 500 or status == 503,
                                   error=status >= 500 and status != 503)

    async def refused(self, status: int, message: str, fields: list[str], detail: list[dict[str, Any]] | None,
                      body: bytes | None) -> "Response":
        latency = time.perf_counter() - self.started
        version = self.service.version
        features = None
        if body is not None and len(body) <= 65536:
            try:
                parsed = json.loads(body)
                features = parsed if isinstance(parsed, dict) else None
            except (ValueError, RecursionError):
                features = None
        # Refusals are logged without waiting: the durability promise is about predictions.
        await self.handler.logged([(time.time(), self.rid, version, features, None, None, latency * 1e3, "error",
                                    f"{status}: {message}")], wait=False)
        self._count(status, latency)
        content: dict[str, Any] = {"error": message, "fields": fields, "request_id": self.rid,
                                   "model_version": version}
        if detail is not None:
            content["detail"] = detail
        return self.handler.answer(status, content, self.rid, version)

    async def predicted(self, rows: list[list[Any]], labels: Any, scores: Any, batch: bool) -> "Response":
        import numpy as np

        latency = time.perf_counter() - self.started
        service, rid = self.service, self.rid
        version = service.version
        label_list = np.asarray(labels).tolist()
        score_list = None if scores is None else np.asarray(scores, dtype=float).tolist()
        now, ms, names = time.time(), latency * 1e3, service.feature_names
        log_rows = [
            (now, f"{rid}/{i}" if batch else rid, version, dict(zip(names, row)), _as_float(label_list[i]),
             None if score_list is None else score_list[i], ms, "ok", None)
            for i, row in enumerate(rows)
        ]
        problem = await self.handler.logged(log_rows, wait=True)
        if problem is not None:
            self._count(503, time.perf_counter() - self.started)
            return self.handler.answer(503, {
                "error": f"the prediction log could not record this request ({problem}); it was not answered, "
                         "so that every answer is on record: retry shortly",
                "fields": [], "request_id": rid, "model_version": version}, rid, version, retry=True)
        self._count(200, latency)
        self.handler.metrics.predicted(version, label_list, score_list)
        if batch:
            content = {"predictions": label_list, "scores": score_list, "model_version": version, "request_id": rid}
        else:
            content = {"prediction": label_list[0], "score": None if score_list is None else score_list[0],
                       "model_version": version, "request_id": rid}
        return self.handler.answer(200, content, rid, version)


# --------------------------------------------------------------------------- the app


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
    body_timeout: float = 10.0,
    ack_timeout: float = 5.0,
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
        ``$MLCOURSE_HOME/predictions.db``; False: no log. With a log whose
        ``durability`` is ``"request"``, a prediction is answered only once
        its row is committed (503 if that fails within ``ack_timeout``).
    max_batch : int, default 1000
        Most records in one ``/predict/batch`` request.
    max_body_bytes : int, default 1 MiB
        Larger request bodies get a 413.
    reload_interval : float, default 1.0
        Seconds between looks at the registry's aliases (0: never re-resolve).
    onnx : bool or None
        For registry references: None uses ONNX when a version has it.
    body_timeout : float, default 10.0
        Seconds a request body may take to arrive (then 408).
    ack_timeout : float, default 5.0
        With ``durability="request"``: seconds to wait for a row's commit.

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
    if max_batch < 1:
        raise ValueError("max_batch must be at least 1")
    router = _router(model, registry=registry, candidate=candidate, canary=canary, rule=rule, onnx=onnx,
                     reload_interval=reload_interval)
    log = _open_log(prediction_log)
    from mlcourse.deploy.prometheus import ServingMetrics

    metrics = ServingMetrics(log)
    app = _fastapi(router, log, metrics, max_batch)
    handler = _Handler(router, log, metrics, max_batch=max_batch, max_body_bytes=max_body_bytes,
                       body_timeout=body_timeout, ack_timeout=ack_timeout)
    _prediction_routes(app, handler)
    _status_routes(app, router, log, metrics, limits={"max_batch": max_batch, "max_body_bytes": max_body_bytes})
    from mlcourse.deploy.schemas import openapi_document

    app.openapi = lambda: openapi_document(app, router, max_batch)  # type: ignore[method-assign]
    return app


def _router(model: Any, *, registry: Any, candidate: Any, canary: float, rule: Any, onnx: Any,
            reload_interval: float) -> "ModelRouter":
    """Step 1: what to serve, as a :class:`~mlcourse.deploy.rollout.ModelRouter`."""
    from mlcourse.deploy.rollout import ModelRouter

    if model is None:
        from mlcourse.deploy.registry import registry_root

        names = _production_model(registry_root(registry))
        if not names:
            raise ValueError(f"no model in the registry {registry_root(registry)} has a 'production' alias")
        model = "fraud-detector" if "fraud-detector" in names else names[0]
    if isinstance(model, ModelRouter):
        if candidate is not None or canary:
            model.set_canary(canary, candidate)
        return model
    return ModelRouter(model, candidate, fraction=canary, rule=rule, registry=registry, onnx=onnx,
                       reload_interval=reload_interval)


def _open_log(prediction_log: Any) -> "PredictionLog | None":
    """Step 2: the prediction log (None for none)."""
    from mlcourse.deploy.prediction_log import PredictionLog

    if prediction_log is None or prediction_log is True:
        return PredictionLog()
    if prediction_log is False:
        return None
    if isinstance(prediction_log, PredictionLog):
        return prediction_log
    return PredictionLog(prediction_log)


def _fastapi(router: "ModelRouter", log: "PredictionLog | None", metrics: "ServingMetrics", max_batch: int) -> "FastAPI":
    """Step 3: the FastAPI app, whose shutdown stops readiness and writes what the log still holds."""
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        app.state.draining = True  # /ready answers 503 from now on
        if log is not None:
            await asyncio.get_running_loop().run_in_executor(None, log.close)

    app = FastAPI(
        title="mlcourse model service",
        version=_package_version(),
        description="Predictions from a registered model, validated against the schema recorded at training, "
        "logged and measured. Send one record to /predict or many to /predict/batch, as JSON.",
        lifespan=lifespan,
    )
    app.state.router = router
    app.state.prediction_log = log
    app.state.metrics = metrics
    app.state.max_batch = max_batch
    app.state.draining = False
    app.state.started = time.time()

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - safety net
        return JSONResponse({"error": f"internal error: {type(exc).__name__}", "fields": [],
                             "request_id": request.headers.get("x-request-id") or ""}, status_code=500)

    return app


def _prediction_routes(app: "FastAPI", handler: _Handler) -> None:
    """Step 4: ``POST /predict`` and ``POST /predict/batch``."""
    from fastapi import Request
    from fastapi.responses import Response

    from mlcourse.deploy.schemas import BatchResponse, PredictResponse, predict_responses

    responses = predict_responses(handler.max_body_bytes)

    @app.post("/predict", summary="Predict one record",
              responses={**responses, 200: {**responses[200], "model": PredictResponse}})
    async def predict(request: Request) -> Response:
        """One record as a JSON object of feature values. Answers the prediction
        (label), its score (probability of class 1), the model version and the request id."""
        return await handler.predict(request, "/predict", batch=False)

    @app.post("/predict/batch", summary="Predict many records",
              responses={**responses, 200: {**responses[200], "model": BatchResponse}})
    async def predict_batch(request: Request) -> Response:
        """``{"records": [...]}`` with 1 to ``max_batch`` records. Row ``i`` is
        logged with request id ``"<request id>/<i>"``."""
        return await handler.predict(request, "/predict/batch", batch=True)


def _status_routes(app: "FastAPI", router: "ModelRouter", log: "PredictionLog | None", metrics: "ServingMetrics",
                   limits: dict[str, int]) -> None:
    """Step 5: ``/health``, ``/ready``, ``/model``, ``/metrics`` and ``/``."""
    from fastapi.responses import JSONResponse, PlainTextResponse, Response

    from mlcourse.deploy.schemas import Health, ModelInfo, Ready

    @app.get("/health", summary="Liveness, and what is being served", response_model=Health)
    async def health() -> dict[str, Any]:
        """Always 200 while the process answers (a liveness probe). ``status`` says more:
        ``starting`` while the first model loads, ``degraded`` with the ``problems``
        (a refused version, a failing prediction log), else ``ok``."""
        router.poll()
        ready = router.ready
        slot = router.incumbent
        service = slot._service
        canary = router.describe()["canary"]
        problems = [p for p in (router.last_error,) if p]
        if log is not None and log.failing:
            problems.append(f"prediction log failing, rows wait and are retried: {log.last_error}")
        status = "degraded" if problems else ("ok" if ready else "starting")
        return {
            "status": status,
            "ready": ready,
            "model_version": None if service is None else service.version,
            "backend": None if service is None else service.backend,
            "loading": None if slot.loading is None else f"{slot.name}:v{slot.loading}",
            "canary": None if canary is None else {k: canary[k] for k in ("candidate", "fraction", "status")},
            "uptime_s": round(time.time() - app.state.started, 3),
            "reload_error": router.last_error,
            "problems": problems,
            "prediction_log": None if log is None else log.health(),
        }

    @app.get("/ready", summary="Readiness: is a model loaded?", response_model=Ready,
             responses={503: {"model": Ready, "description": "not ready: the model is loading, or shutting down"}})
    async def ready() -> JSONResponse:
        """200 once a model is loaded and answering; 503 before that and while shutting down
        (a readiness probe: send traffic only when 200)."""
        router.poll()
        if app.state.draining:
            return JSONResponse({"ready": False, "reason": "shutting down"}, status_code=503)
        if not router.ready:
            return JSONResponse({"ready": False, "reason": router.incumbent.not_ready_reason()}, status_code=503)
        return JSONResponse({"ready": True, "model_version": router.incumbent.version})

    @app.get("/model", summary="The served model: version, metadata, feature schema, canary", response_model=ModelInfo,
             responses={503: {"model": Ready, "description": "no model loaded yet"}})
    async def model_info() -> Any:
        if not router.ready:
            return JSONResponse({"ready": False, "reason": router.incumbent.not_ready_reason()}, status_code=503)
        routing = router.describe()
        info = router.incumbent.service.describe()
        info["canary"] = routing["canary"]
        if router.candidate is not None and router.candidate.ready:
            info["candidate"] = router.candidate.service.describe()
        info["limits"] = limits
        return info

    @app.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse,
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                              "description": "the Prometheus text format"}})
    async def prometheus() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST

        metrics.canary_fraction.set(router.fraction)
        metrics.model_info.clear()
        if router.ready:
            metrics.model_info.labels("incumbent", router.incumbent.version).set(1)
        if router.candidate is not None and router.candidate.ready and router.fraction > 0:
            metrics.model_info.labels("candidate", router.candidate.version).set(1)
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    async def index() -> dict[str, Any]:
        return {"service": "mlcourse", "model_version": router.incumbent.version,
                "endpoints": ["POST /predict", "POST /predict/batch", "GET /health", "GET /ready", "GET /model",
                              "GET /metrics", "GET /docs"]}
