"""Stage 3, serving over HTTP: the request and response schemas, and the OpenAPI document.

The contract of :mod:`mlcourse.deploy.app`, apart from the code that serves it:

* :func:`request_model` and :func:`batch_request_model` build the pydantic
  models of a request body from the served model's feature schema (the one
  the registry recorded at training): integer features are JSON integers,
  numbers are bounded by the range accepted, text features with known
  categories take only those values;
* :func:`problems` turns a pydantic validation error into the one-line
  message, the fields at fault and the detail a 422 answer carries;
* the response models (:class:`PredictResponse`, :class:`ErrorResponse`,
  :class:`Health`...) are what every answer's body looks like, and
  :func:`openapi_document` assembles the whole document: every status code
  with its schema, ``/metrics`` as text, request examples, and every
  ``$ref`` resolvable from the document's root.

It uses :mod:`mlcourse.deploy.service` below it; pydantic is imported by the
functions that need it, and by the response models at first use of this
module (only :mod:`mlcourse.deploy.app` imports it).
"""
from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from mlcourse.deploy.service import FLOAT32_MAX, ModelService, range_text

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

    from mlcourse.deploy.rollout import ModelRouter

__all__ = [
    "BatchResponse",
    "ErrorResponse",
    "Health",
    "PredictResponse",
    "Ready",
    "batch_request_model",
    "example_record",
    "openapi_document",
    "problems",
    "request_model",
]

#: Integers without a recorded range: what an int64 holds.
INT64_MAX = 2**63 - 1


# --------------------------------------------------------------------------- request bodies


def _whole(value: Any) -> Any:
    # JSON has one number type: 12.0 is the integer 12 (JSON Schema agrees);
    # 12.5 is left for the strict integer check to refuse.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def request_model(service: ModelService) -> type[BaseModel]:
    """The pydantic model of one ``POST /predict`` body, built from the feature schema.

    Numbers are strict (a string such as ``"12.5"`` is refused, not
    converted) and must be finite and within the feature's recorded range
    (float32's without one); integer features take whole numbers only; text
    features with known categories only take those values; unknown keys are
    refused. Built once per service and cached.

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

    from annotated_types import Ge, Le
    from pydantic import BeforeValidator, Strict, create_model

    fields: dict[str, Any] = {}
    for i, name in enumerate(service.feature_names):
        dtype = service.feature_dtypes[name]
        allowed = service.categories.get(name)
        low, high = service.ranges.get(name, (None, None))
        if service._text[i] and allowed:
            kind: Any = Literal[tuple(allowed)]
            extra: dict[str, Any] = {}
            description = f"{dtype}: one of {', '.join(allowed)}"
        elif service._text[i]:
            kind = str
            extra = {"strict": True, "min_length": 1, "max_length": 1000}
            description = f"{dtype}: any text"
        elif service._integer[i]:
            low = -INT64_MAX if low is None else int(low)
            high = INT64_MAX if high is None else int(high)
            # The bounds inside the type, ahead of the validator that turns 12.0 into 12, so
            # that the JSON schema says "minimum"/"maximum" (not pydantic's own "ge"/"le").
            kind = Annotated[int, Strict(), Ge(low), Le(high), BeforeValidator(_whole)]
            extra = {}
            description = f"{dtype}: a whole number from {range_text(low, high)}"
        else:
            low = -FLOAT32_MAX if low is None else low
            high = FLOAT32_MAX if high is None else high
            kind = float
            extra = {"strict": True, "allow_inf_nan": False, "ge": low, "le": high}
            description = f"{dtype}: a number from {range_text(low, high)}"
        # Field names are f0, f1, ...; the feature name is the alias, so any
        # name works, even one that is not a Python identifier.
        fields[f"f{i}"] = (Annotated[kind, Field(alias=name, title=name, description=description, **extra)], ...)
    example = example_record(service)
    model = create_model(
        "PredictRequest",
        __config__=ConfigDict(extra="forbid", populate_by_name=False, json_schema_extra={"examples": [example]}),
        **fields,
    )
    service.__dict__["_request_model"] = model
    return model


def batch_request_model(service: ModelService, max_batch: int = 1000) -> type[BaseModel]:
    """The pydantic model of a ``POST /predict/batch`` body: ``{"records": [...]}``,
    1 to ``max_batch`` records, each as in :func:`request_model`."""
    cache = service.__dict__.setdefault("_batch_models", {})
    if max_batch in cache:
        return cache[max_batch]
    from typing import Annotated

    from pydantic import create_model

    record = request_model(service)
    example = example_record(service)
    model = create_model(
        "PredictBatchRequest",
        __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [{"records": [example, example]}]}),
        records=(Annotated[list[record], Field(min_length=1, max_length=max_batch,  # type: ignore[valid-type]
                                               description=f"1 to {max_batch} records")], ...),
    )
    cache[max_batch] = model
    return model


def example_record(service: ModelService) -> dict[str, Any]:
    """A request body that passes the schema: the registered example, else one made from the schema.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> svc = ModelService(DummyClassifier().fit([[0.0], [1.0]], [0, 1]), ["x"], ranges={"x": (2, 4)})
    >>> example_record(svc)
    {'x': 3.0}
    """
    stored = service.metadata.get("input_example")
    if isinstance(stored, dict) and set(stored) == set(service.feature_names):
        return {name: stored[name] for name in service.feature_names}
    record: dict[str, Any] = {}
    for i, name in enumerate(service.feature_names):
        if service._text[i]:
            record[name] = (service.categories.get(name) or ["text"])[0]
            continue
        low, high = service.ranges.get(name, (0.0, 0.0))
        middle = (low + high) / 2
        record[name] = int(math.floor(middle)) if service._integer[i] else middle
    return record


def problems(exc: Any, max_batch: int, service: ModelService | None = None) -> tuple[str, list[str], list[dict[str, Any]]]:
    """A pydantic ValidationError as (one-line message, fields at fault, FastAPI-style detail).

    Messages name the field and what it accepts: its range (the one seen in
    training, with the registry's margin) or its allowed values.
    """
    messages: list[str] = []
    fields: list[str] = []
    detail: list[dict[str, Any]] = []
    for error in exc.errors(include_url=False, include_context=True):
        loc = list(error.get("loc", ()))
        kind = error.get("type", "")
        msg = error.get("msg", "")
        named = [p for p in loc if isinstance(p, str)]
        field = named[-1] if named else "body"
        given = error.get("input")
        if loc == ["records"] and kind == "too_short":
            msg = "empty batch: send at least one record"
        elif loc == ["records"] and kind == "too_long":
            msg = f"batch over the limit: at most {max_batch} records per request"
        elif kind == "extra_forbidden":
            msg = "unknown field"
        elif kind in ("less_than_equal", "greater_than_equal"):
            msg = f"{_short(given)} is out of range: allowed {_allowed(service, field, error)}"
        elif kind == "int_type" and isinstance(given, float) and math.isfinite(given):
            msg = f"{_short(given)} is not a whole number: this field takes integers"
        where = ""
        for part in loc:
            where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
        messages.append(f"{where or 'body'}: {msg}")
        if field not in fields:
            fields.append(field)
        detail.append({"loc": ["body", *loc], "msg": msg, "type": kind})
    shown = "; ".join(messages[:5]) + (f"; ... ({len(messages)} problems)" if len(messages) > 5 else "")
    return shown, fields, detail


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _allowed(service: ModelService | None, field: str, error: dict[str, Any]) -> str:
    bounds = None if service is None else service.ranges.get(field)
    if bounds is not None:
        return f"{range_text(*bounds)} (the range seen in training, with a margin)"
    context = error.get("ctx") or {}
    low, high = context.get("ge"), context.get("le")
    if low is not None and high is not None:
        return range_text(low, high)
    return f"at most {FLOAT32_MAX:.3g} in size"


# --------------------------------------------------------------------------- response bodies


class PredictResponse(BaseModel):
    """The answer to one record."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"prediction": 0, "score": 0.07, "model_version": "fraud-detector:v1", "request_id": "3f2a9c0d"}]})
    prediction: int | float | str = Field(description="the predicted label (for fraud-detector: 1 = fraud)")
    score: float | None = Field(description="the probability of class 1; null when the model gives none")
    model_version: str = Field(description="the version that answered, such as fraud-detector:v1")
    request_id: str = Field(description="this request's id in the prediction log")


class BatchResponse(BaseModel):
    """The answer to a batch: one prediction (and score) per record, in order."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"predictions": [0, 1], "scores": [0.07, 0.81], "model_version": "fraud-detector:v1",
         "request_id": "3f2a9c0d"}]})
    predictions: list[int | float | str]
    scores: list[float] | None = Field(description="probabilities of class 1; null when the model gives none")
    model_version: str
    request_id: str = Field(description="record i is logged as '<request_id>/<i>'")


class ErrorDetail(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    """Every refusal: what is wrong, which fields, and the ids to find it in the log."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"error": "hour: 99 is out of range: allowed 0 to 23 (the range seen in training, with a margin)",
         "fields": ["hour"], "request_id": "3f2a9c0d", "model_version": "fraud-detector:v1"}]})
    error: str = Field(description="what is wrong and what to do, in one line")
    fields: list[str] = Field(description="the fields at fault ('body' for the body as a whole)")
    request_id: str
    model_version: str | None = Field(None, description="the version that would have answered")
    detail: list[ErrorDetail] | None = Field(None, description="one entry per problem, for a 422")


class Ready(BaseModel):
    """``GET /ready``: may traffic be sent here?"""

    ready: bool
    model_version: str | None = None
    reason: str | None = Field(None, description="why not, when not ready")


class LogHealth(BaseModel):
    path: str
    status: str = Field(description="'ok', or 'failing' while writes fail (they are retried)")
    durability: str
    written: int
    queued: int
    dropped: int = Field(description="rows that will never be written, all reasons")
    dropped_by_reason: dict[str, int]
    last_error: str | None
    recreated: int


class Health(BaseModel):
    """``GET /health``: liveness (always 200 while the process answers) and what is going on."""

    status: str = Field(description="'ok', 'starting' (first model loading) or 'degraded' (see problems)")
    ready: bool
    model_version: str | None
    backend: str | None
    loading: str | None = Field(description="a version being loaded in the background")
    canary: dict[str, Any] | None
    uptime_s: float
    reload_error: str | None
    problems: list[str]
    prediction_log: LogHealth | None


class ModelInfo(BaseModel):
    """``GET /model``: the served version, its metadata and feature schema, the canary and the limits."""

    model_config = ConfigDict(extra="allow")
    model_version: str
    name: str | None
    version: int | None
    backend: str
    features: list[dict[str, Any]]
    metrics: dict[str, Any]
    canary: dict[str, Any] | None
    limits: dict[str, int]


# --------------------------------------------------------------------------- the document

_HEADERS = {
    "X-Request-Id": {"description": "the request's id in the prediction log", "schema": {"type": "string"}},
    "X-Model-Version": {"description": "the version that answered", "schema": {"type": "string"}},
}
_RETRY = {"Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "string"}}}


def _error(description: str, headers: dict[str, Any]) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description, "headers": headers}


def predict_responses(max_body_bytes: int) -> dict[int | str, dict[str, Any]]:
    """The documented answers of ``POST /predict`` and ``/predict/batch`` (for FastAPI's ``responses=``)."""
    request_id = {"X-Request-Id": _HEADERS["X-Request-Id"]}
    return {
        200: {"description": "the prediction", "headers": _HEADERS},
        408: _error("the body did not arrive in time", request_id),
        413: _error(f"the body is over {max_body_bytes} bytes", _HEADERS),
        415: _error("the body is not JSON: send Content-Type: application/json, not compressed", request_id),
        422: _error("the body does not fit the model's schema; the message names the field and what it accepts",
                    _HEADERS),
        500: _error("the model failed on this input (held against its version by a canary)", _HEADERS),
        503: _error("not ready (the model is loading) or the prediction log could not record the request: "
                    "retry later", {**request_id, **_RETRY}),
    }


def openapi_document(app: FastAPI, router: ModelRouter, max_batch: int) -> dict[str, Any]:
    """The OpenAPI document, with the served model's request schemas and examples filled in.

    FastAPI documents the routes and the response models; the request bodies
    depend on the model being served, so they are added here, their
    ``$defs`` moved to ``components/schemas`` where ``$ref`` finds them.
    Cached until the served version changes; while the first version is
    still loading the bodies are left generic and nothing is cached.
    """
    from fastapi.openapi.utils import get_openapi

    version = router.incumbent.version if router.ready else None
    cached = app.__dict__.get("_openapi_cache")
    if cached is not None and cached[0] == version:
        return cached[1]
    document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    if version is None:
        return document
    service = router.incumbent.service
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for path, model in (("/predict", request_model(service)), ("/predict/batch", batch_request_model(service, max_batch))):
        schema = copy.deepcopy(model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}"))
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
        body = {"$ref": f"#/components/schemas/{model.__name__}"}
        document["paths"][path]["post"]["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body, "example": schema["examples"][0]}},
        }
    app.__dict__["_openapi_cache"] = (version, document)
    return document
