"""Stage 3, serving over HTTP: ``mlcourse serve``, the app run by uvicorn.

The top of the deploy stage. :func:`serve` is a pipeline of start-up checks,
each one saying what it found in one line, then the server:

1. the arguments and the port;
2. the registry: a damaged ``aliases.json`` is set aside and rebuilt from the
   alias history (:func:`mlcourse.deploy.registry.recover_aliases`); an empty
   registry gets the course's default model;
3. the version to serve: the alias's target, checked (metadata and hashes,
   nothing loaded); a version that fails is refused with the file named and
   the server starts on the last good version of the alias
   (:func:`mlcourse.deploy.registry.last_good_version`), or refuses to start
   with a one-line reason when there is none;
4. the prediction log (a file that is not SQLite is set aside), with its
   durability setting;
5. uvicorn, listening at once: the model loads in the background, ``/health``
   answers from the start and ``/ready`` once the model is loaded.

The HTTP server reads a request's headers within ``header_timeout`` seconds
or closes the connection with a 408, so slow clients cannot hold connections
open for ever (uvicorn itself only times out idle keep-alive connections);
the app gives the body ``body_timeout`` seconds; at most ``max_connections``
connections are served at once, more get a 503.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

__all__ = ["serve"]


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _with_header_timeout(seconds: float) -> Any:
    """uvicorn's httptools protocol, closing connections whose request headers take over ``seconds``."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - uvicorn without httptools: no header timeout
        return "auto"

    class HeaderTimeoutProtocol(HttpToolsProtocol):
        _header_timer: Any = None

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(seconds, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if self.transport is not None and not self.transport.is_closing():
                self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\n"
                                     b"connection: close\r\ncontent-length: 42\r\n\r\n"
                                     b"the request headers did not arrive in time")
                self.transport.close()

    return HeaderTimeoutProtocol


def _run_uvicorn(app: Any, host: str, port: int, *, header_timeout: float = 10.0, max_connections: int = 1000) -> None:
    import logging

    import uvicorn

    # The server is the application: show the package's own log lines (model
    # loads, alias switches, canary rollbacks, prediction-log trouble) beside uvicorn's.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    package_logger = logging.getLogger("mlcourse")
    package_logger.addHandler(handler)
    package_logger.setLevel(logging.INFO)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False,
                http=_with_header_timeout(header_timeout), limit_concurrency=max_connections,
                timeout_keep_alive=5, timeout_graceful_shutdown=30)


def serve(
    *,
    registry: str | os.PathLike[str] | None = None,
    model: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    candidate: str | None = None,
    canary: float | None = None,
    prediction_log: str | os.PathLike[str] | bool | None = None,
    log_durability: str = "batch",
    max_batch: int = 1000,
    header_timeout: float = 10.0,
    body_timeout: float = 10.0,
    max_connections: int = 1000,
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
        Nothing to serve, no version of the alias that passes its checks, a
        candidate that does not exist, or a port in use: one line each.
    """
    from mlcourse.deploy.prediction_log import DURABILITY
    from mlcourse.deploy.registry import registry_root
    from mlcourse.errors import CLIError

    out = stream or sys.stdout
    root = registry_root(registry)
    say = lambda line="": print(line, file=out, flush=True)  # noqa: E731

    if canary is not None and candidate is None:
        raise CLIError("--canary needs --candidate (the version to send that share of traffic to)")
    if canary is not None and not 0.0 <= canary <= 1.0:
        raise CLIError(f"--canary must be a fraction between 0 and 1, got {canary}")
    if log_durability not in DURABILITY:
        raise CLIError(f"--log-durability must be one of {', '.join(DURABILITY)}, got {log_durability!r}")
    if not _port_free(host, port):
        raise CLIError(f"cannot listen on {host}:{port}: the port is in use; choose another with --port")

    name, ref = _what_to_serve(root, model, say)
    start_version = _checked_version(root, name, ref, say)
    router = _router(root, name, ref, start_version, candidate, canary)
    log = _prediction_log(prediction_log, log_durability, say)

    from mlcourse.deploy.app import create_app

    app = create_app(router, prediction_log=log if log is not None else False, max_batch=max_batch,
                     body_timeout=body_timeout)
    version = f"{name}:v{start_version}"
    say(f"Serving {version} from {root}, following its {ref!r} alias; loading it now "
        "(GET /ready answers 200 once it is loaded)")
    if router.candidate is not None:
        slot = router.candidate
        number = _target_or_none(root, slot.name, slot.ref) if slot.name else None
        label = slot.version if number is None else f"{slot.name}:v{number} ({slot.ref!r})"
        say(f"Canary: {router.fraction:.0%} of users to {label}, "
            "rolled back automatically if its errors or latency are worse")
    say(f"Try: curl -s http://{host}:{port}/model   (API docs: http://{host}:{port}/docs; Ctrl-C stops)")
    _run_uvicorn(app, host, port, header_timeout=header_timeout, max_connections=max_connections)
    return 0


def _what_to_serve(root: Path, model: str | None, say: Any) -> tuple[str, str]:
    """Step 2: the model name and alias (or version) to serve; aliases recovered, the default model trained."""
    from mlcourse.deploy.commands import recover_and_say
    from mlcourse.deploy.default_model import train_default_model
    from mlcourse.deploy.registry import model_names
    from mlcourse.errors import CLIError
    from mlcourse.train.fraud_model import DEFAULT_MODEL

    for existing in model_names(root):
        recover_and_say(root, existing, say)
    from mlcourse.deploy.app import _production_model

    with_production = _production_model(root)
    if model is None:
        if not with_production:
            existing = model_names(root)
            if existing:
                raise CLIError(
                    f"no model in {root} has a 'production' alias (models: {', '.join(existing)}); "
                    "promote one with `mlcourse registry promote NAME VERSION` or pass --model NAME"
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
    elif not (root / name).is_dir():
        existing = model_names(root)
        raise CLIError(f"no model named {name!r} in the registry {root} "
                       f"(models: {', '.join(existing) if existing else 'none'})")
    return name, ref


def _checked_version(root: Path, name: str, ref: str, say: Any) -> int:
    """Step 3: the version to start on: the alias's target if it passes its checks, else the last good one."""
    from mlcourse.deploy.registry import (
        ModelIntegrityError,
        ModelNotFoundError,
        last_good_version,
        resolve_version,
        verify_model,
    )
    from mlcourse.errors import CLIError

    try:
        target = resolve_version(name, ref, registry=root)
    except ModelNotFoundError as exc:
        raise CLIError(f"{exc} (registry {root})") from None
    try:
        verify_model(name, target, registry=root)
        return target
    except ModelIntegrityError as exc:
        reason = str(exc)
    good, refused = last_good_version(name, ref, registry=root, exclude=[target])
    if good is None:
        tried = f"; earlier versions refused too: {'; '.join(refused)}" if refused else ""
        raise CLIError(f"refusing to serve: {reason}; no earlier version of {name}:{ref} passes its checks{tried}") \
            from None
    say(f"Refused {name} v{target} ({ref!r}): {reason}")
    say(f"Starting on {good.label} instead, the last good version of {ref!r} (its alias history); "
        "/health says 'degraded' until the alias points at a good version")
    return good.version


def _router(root: Path, name: str, ref: str, start_version: int, candidate: str | None,
            canary: float | None) -> Any:
    """The router, loading in the background; a candidate must exist and pass its checks."""
    from mlcourse.deploy.registry import ModelIntegrityError, ModelNotFoundError
    from mlcourse.deploy.rollout import ModelRouter
    from mlcourse.errors import CLIError

    try:
        router = ModelRouter(f"{name}:{ref}", candidate, fraction=canary or (0.1 if candidate else 0.0),
                             registry=root, background=True, start_version=start_version)
    except ModelIntegrityError as exc:
        raise CLIError(f"refusing to serve: {exc}") from None
    except (ModelNotFoundError, ValueError) as exc:
        raise CLIError(f"{exc} (registry {root})") from None
    if start_version != _target_or_none(root, name, ref):
        router.incumbent.fallback = (f"{name}:{ref} points at a version that failed its checks; serving "
                                     f"v{start_version}, its last good version")
    return router


def _target_or_none(root: Path, name: str, ref: str) -> int | None:
    from mlcourse.deploy.registry import resolve_version

    try:
        return resolve_version(name, ref, registry=root)
    except Exception:
        return None


def _prediction_log(path: Any, durability: str, say: Any) -> Any:
    """Step 4: the prediction log, a damaged file set aside and said."""
    from mlcourse.deploy.prediction_log import DURABILITY, PredictionLog

    if path is False:
        say("Prediction log: off")
        return None
    import sqlite3

    from mlcourse.errors import CLIError

    try:
        log = PredictionLog(None if path in (None, True) else path, durability=durability)
    except sqlite3.OperationalError as exc:
        raise CLIError(f"cannot open the prediction log {path or 'in $MLCOURSE_HOME'}: {exc}; free it (another "
                       "process may hold it), choose another with --log PATH, or pass --no-log") from None
    if log.recovered is not None:
        moved, reason = log.recovered
        say(f"The prediction log {log.path} could not be read ({reason}): set aside as {moved}; a new log was started")
    say(f"Prediction log: {log.path} (durability {durability}: {DURABILITY[durability]})")
    return log
