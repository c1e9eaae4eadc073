"""An in-process HTTP client for the lessons, without httpx: :class:`InProcessClient`.

Public on purpose: lesson 05 imports it (``from mlcourse.exercises.end_to_end
import InProcessClient``), in the notebook and in the grading child alike.
"""
from __future__ import annotations

from typing import Any

import numpy as np


class InProcessResponse:
    """What :class:`InProcessClient` answers: ``status_code``, ``headers``, ``text``, ``json()``."""

    def __init__(self, status_code: int, headers: dict[str, str], body: bytes) -> None:
        self.status_code = status_code
        self.headers = _Headers(headers)
        self.content = body
        self.text = body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        import json

        return json.loads(self.content)

    def __repr__(self) -> str:
        return f"<InProcessResponse [{self.status_code}]>"


class _Headers(dict):
    """Response headers, looked up without regard to case (``headers["X-Model-Version"]``)."""

    def __init__(self, items: dict[str, str]) -> None:
        super().__init__({k.lower(): v for k, v in items.items()})

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return super().__contains__(str(key).lower())


class InProcessClient:
    """Call an ASGI app (the serving app) in this process, like ``fastapi.testclient.TestClient``.

    ``TestClient`` needs httpx2 or httpx, which mlcourse installs only with
    its test extra (``pip install "mlcourse[test]"``). This small stand-in
    speaks the same subset (``get``, ``post`` with ``json=`` and
    ``headers=``; responses with ``status_code``, ``headers`` and
    ``json()``) so the lesson runs either way. Each request runs the app on
    a private event loop in a helper thread, which also works inside
    Jupyter, whose own loop is already running.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from mlcourse.deploy.service import ModelService
    >>> from mlcourse.deploy.app import create_app
    >>> model = LogisticRegression().fit([[0.0], [10.0]], [0, 1])
    >>> app = create_app(ModelService(model, ["amount"], version="demo:v1"), prediction_log=False)
    >>> r = InProcessClient(app).post("/predict", json={"amount": 9.0}, headers={"X-Request-Id": "r1"})
    >>> r.status_code, r.json()["prediction"], r.headers["X-Model-Version"]
    (200, 1, 'demo:v1')
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    def get(self, path: str, *, headers: dict[str, str] | None = None) -> InProcessResponse:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, *, json: Any = None, headers: dict[str, str] | None = None) -> InProcessResponse:
        return self.request("POST", path, json=json, headers=headers)

    def request(self, method: str, path: str, *, json: Any = None,
                headers: dict[str, str] | None = None) -> InProcessResponse:
        import asyncio
        import json as jsonlib
        from concurrent.futures import ThreadPoolExecutor

        body = b"" if json is None else jsonlib.dumps(json, default=_json_default).encode("utf-8")
        sent = {"content-type": "application/json"} if json is not None else {}
        sent.update({str(k): str(v) for k, v in (headers or {}).items()})
        sent["content-length"] = str(len(body))
        path, _, query = path.partition("?")
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method.upper(),
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
            "root_path": "", "client": ("testclient", 50000), "server": ("testserver", 80),
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in sent.items()],
        }
        response: dict[str, Any] = {"status": 500, "headers": {}, "body": bytearray()}

        async def call() -> None:
            delivered = False
            finished = asyncio.Event()

            async def receive() -> dict:
                nonlocal delivered
                if not delivered:
                    delivered = True
                    return {"type": "http.request", "body": body, "more_body": False}
                await finished.wait()  # the client "hangs up" once the whole response is in
                return {"type": "http.disconnect"}

            async def send(message: dict) -> None:
                if message["type"] == "http.response.start":
                    response["status"] = int(message["status"])
                    response["headers"] = {k.decode("latin-1"): v.decode("latin-1")
                                           for k, v in message.get("headers", [])}
                elif message["type"] == "http.response.body":
                    response["body"] += message.get("body", b"")
                    if not message.get("more_body", False):
                        finished.set()

            await self.app(scope, receive, send)

        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, call()).result()
        return InProcessResponse(response["status"], response["headers"], bytes(response["body"]))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")
