"""Stage 3, rollout: canary releases and hot swaps of the production alias.

Two ways to put a new model version in front of users:

* **Canary.** A small, sticky share of traffic goes to the candidate while
  the incumbent serves the rest. Each user is placed by a stable hash of
  their id (:func:`canary_bucket`), so the same user always sees the same
  version, and raising the fraction only ever adds users. The hash is
  salted with the candidate's version, so each new canary tries its luck
  on a different share of users, not always the same unlucky 10 %. Both versions'
  error rates and latencies are tracked; once the candidate has served
  enough requests, :func:`should_rollback` compares them and the router
  takes the candidate out of traffic if it is worse by more than a margin.
* **Hot swap.** The new version is loaded next to the old one and the
  ``production`` alias is switched in one atomic step
  (:func:`mlcourse.deploy.registry.promote`); :func:`mlcourse.deploy.registry.rollback`
  switches back just as fast. A running server notices the switch by
  watching the registry's ``aliases.json`` (:class:`ModelSlot`) and moves
  traffic only once the new version is loaded. Both versions live in one
  process, from one image: a real blue-green deployment adds a second,
  complete environment (the new image, started, warmed up and smoke-tested
  behind ``/ready``) and switches the router between environments, so it also
  catches a broken image before any user sees it.

:class:`ModelRouter` does both for the HTTP app of :mod:`mlcourse.deploy.app`.

Examples
--------
>>> routes_to_candidate("user-42", 0.5) == routes_to_candidate("user-42", 0.5)  # sticky
True
>>> should_rollback({"requests": 500, "errors": 2, "p95_ms": 3.0},
...                 {"requests": 200, "errors": 30, "p95_ms": 3.5})
RollbackDecision(rollback=True, reason='candidate error rate 15.00% vs incumbent 0.40% (allowed +1.00 points)')
"""
from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from mlcourse.deploy.service import ModelService

__all__ = [
    "FaultyModel",
    "ModelRouter",
    "ModelSlot",
    "NotReady",
    "RollbackDecision",
    "RollbackRule",
    "VersionStats",
    "canary_bucket",
    "parse_model_ref",
    "routes_to_candidate",
    "should_rollback",
]

logger = logging.getLogger("mlcourse.deploy.rollout")


# --------------------------------------------------------------------------- sticky routing


def canary_bucket(key: str, salt: str = "") -> float:
    """Place ``key`` (a user id) at a fixed point in ``[0, 1)``.

    The first 8 bytes of SHA-256 are used, so the point is the same in every
    process and on every machine (Python's ``hash()`` is not: it is salted
    per process).

    Examples
    --------
    >>> canary_bucket("user-42")
    0.4278761530135858
    >>> canary_bucket("user-42") == canary_bucket("user-42")
    True
    """
    digest = hashlib.sha256(f"{salt}{key}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def routes_to_candidate(key: str, fraction: float, salt: str = "") -> bool:
    """Does the canary send ``key`` to the candidate when it gets ``fraction`` of traffic?

    True when ``canary_bucket(key) < fraction``: about ``fraction`` of all
    keys, always the same ones, and a larger fraction keeps every key a
    smaller one had.

    Examples
    --------
    >>> users = [f"user-{i}" for i in range(10_000)]
    >>> share = sum(routes_to_candidate(u, 0.1) for u in users) / len(users)
    >>> round(share, 2)
    0.1
    """
    return fraction > 0.0 and canary_bucket(key, salt) < fraction


# --------------------------------------------------------------------------- the rollback rule


@dataclass(frozen=True)
class VersionStats:
    """What the router knows about one version's traffic.

    ``requests`` counts the requests it answered or failed on (client
    errors such as a 422 are not the model's fault and are left out),
    ``errors`` the server-side failures among them; latencies are over the
    most recent requests.
    """

    version: str = ""
    requests: int = 0
    errors: int = 0
    p50_ms: float = math.nan
    p95_ms: float = math.nan
    client_errors: int = 0

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class RollbackRule:
    """When a canary is rolled back.

    Parameters
    ----------
    min_requests : int, default 100
        Judge only once the candidate has served this many requests.
    max_error_rate_increase : float, default 0.01
        Roll back when the candidate's error rate exceeds the incumbent's by
        more than this (0.01 = one percentage point).
    max_latency_increase_ms : float, default 20.0
        Roll back when the candidate's p95 latency exceeds the incumbent's by
        more than this many milliseconds.
    """

    min_requests: int = 100
    max_error_rate_increase: float = 0.01
    max_latency_increase_ms: float = 20.0


@dataclass(frozen=True)
class RollbackDecision:
    """The verdict of :func:`should_rollback`; true when the canary must go."""

    rollback: bool
    reason: str

    def __bool__(self) -> bool:
        return self.rollback


def _field(stats: Any, name: str, default: float = math.nan) -> float:
    if isinstance(stats, Mapping):
        value = stats.get(name, default)
    else:
        value = getattr(stats, name, default)
    return default if value is None else float(value)


def should_rollback(
    incumbent: VersionStats | Mapping[str, float],
    candidate: VersionStats | Mapping[str, float],
    rule: RollbackRule | None = None,
) -> RollbackDecision:
    """Decide whether a canary candidate must be rolled back.

    A pure function of two versions' numbers, so it is easy to test and to
    table-drive. The candidate is rolled back when, after at least
    ``rule.min_requests`` requests, its error rate is worse than the
    incumbent's by more than ``rule.max_error_rate_increase`` or its p95
    latency by more than ``rule.max_latency_increase_ms``.

    Parameters
    ----------
    incumbent, candidate : VersionStats or mapping
        ``requests``, ``errors`` and ``p95_ms`` (a missing or NaN latency
        skips the latency test).
    rule : RollbackRule, optional
        The margins; default ``RollbackRule()``.

    Returns
    -------
    RollbackDecision
        ``.rollback`` (also its truth value) and a ``.reason`` to log.

    Notes
    -----
    Fixed margins keep the rule readable. With few requests an error rate is
    noisy (3 errors in 100 requests is 3 % give or take 1.7 points), which
    is why there is a minimum; a production system would also use a
    statistical test and a longer window.

    Examples
    --------
    >>> should_rollback({"requests": 1000, "errors": 0, "p95_ms": 2.0},
    ...                 {"requests": 50, "errors": 50, "p95_ms": 2.0})
    RollbackDecision(rollback=False, reason='waiting: 50 of 100 candidate requests')
    >>> bool(should_rollback({"requests": 1000, "errors": 0, "p95_ms": 2.0},
    ...                      {"requests": 300, "errors": 0, "p95_ms": 60.0}))
    True
    """
    rule = rule or RollbackRule()
    n_cand = int(_field(candidate, "requests", 0))
    if n_cand < rule.min_requests:
        return RollbackDecision(False, f"waiting: {n_cand} of {rule.min_requests} candidate requests")
    n_inc = int(_field(incumbent, "requests", 0))
    rate_cand = _field(candidate, "errors", 0) / n_cand
    rate_inc = _field(incumbent, "errors", 0) / n_inc if n_inc else 0.0
    if rate_cand - rate_inc > rule.max_error_rate_increase:
        return RollbackDecision(
            True,
            f"candidate error rate {rate_cand:.2%} vs incumbent {rate_inc:.2%} "
            f"(allowed +{rule.max_error_rate_increase * 100:.2f} points)",
        )
    p95_cand, p95_inc = _field(candidate, "p95_ms"), _field(incumbent, "p95_ms")
    if not (math.isnan(p95_cand) or math.isnan(p95_inc)) and p95_cand - p95_inc > rule.max_latency_increase_ms:
        return RollbackDecision(
            True,
            f"candidate p95 latency {p95_cand:.1f} ms vs incumbent {p95_inc:.1f} ms "
            f"(allowed +{rule.max_latency_increase_ms:g} ms)",
        )
    return RollbackDecision(False, f"candidate within the margins after {n_cand} requests")


# --------------------------------------------------------------------------- a bad candidate, on purpose


class FaultyModel:
    """Wrap a fitted model so that it fails or slows down: a candidate to roll back.

    Predictions are the wrapped model's, except that each call fails with a
    ``RuntimeError`` with probability ``error_rate`` and first sleeps
    ``delay_ms`` milliseconds. Failures are drawn from a seeded generator, so
    a demo behaves the same every run.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> from mlcourse.deploy.service import ModelService
    >>> base = DummyClassifier().fit([[0.0], [1.0]], [0, 1])
    >>> bad = ModelService(FaultyModel(base, error_rate=1.0), ["x"], version="bad:v2")
    >>> bad.predict([0.5])
    Traceback (most recent call last):
    ...
    RuntimeError: FaultyModel: injected failure
    """

    def __init__(self, model: Any, *, error_rate: float = 0.0, delay_ms: float = 0.0, seed: int = 0) -> None:
        import numpy as np

        if not 0.0 <= error_rate <= 1.0:
            raise ValueError(f"error_rate must be between 0 and 1, got {error_rate}")
        self.model = model
        self.error_rate = float(error_rate)
        self.delay_ms = float(delay_ms)
        self._rng = np.random.default_rng(seed)
        for attribute in ("classes_", "feature_names_in_", "n_features_in_"):
            if hasattr(model, attribute):
                setattr(self, attribute, getattr(model, attribute))

    def __repr__(self) -> str:
        return f"FaultyModel({type(self.model).__name__}, error_rate={self.error_rate}, delay_ms={self.delay_ms})"

    def _misbehave(self) -> None:
        if self.delay_ms > 0:
            time.sleep(self.delay_ms / 1e3)
        if self.error_rate > 0 and self._rng.random() < self.error_rate:
            raise RuntimeError("FaultyModel: injected failure")

    def predict(self, X: Any) -> Any:
        self._misbehave()
        return self.model.predict(X)

    def predict_proba(self, X: Any) -> Any:
        self._misbehave()
        return self.model.predict_proba(X)


# --------------------------------------------------------------------------- following the registry


def parse_model_ref(text: str, default_name: str | None = None, default_ref: str = "production") -> tuple[str, str]:
    """Split ``"name:ref"`` into ``(name, ref)``; ``ref`` is an alias or a version.

    A bare word is a model name (with ``default_ref``) unless
    ``default_name`` is given and the word is a version (``"3"``, ``"v3"``),
    in which case it refers to that model.

    Examples
    --------
    >>> parse_model_ref("fraud-detector")
    ('fraud-detector', 'production')
    >>> parse_model_ref("fraud-detector:v2")
    ('fraud-detector', 'v2')
    >>> parse_model_ref("3", default_name="fraud-detector")
    ('fraud-detector', '3')
    """
    import re

    text = str(text).strip()
    if ":" in text:
        name, ref = text.split(":", 1)
        return name, ref or default_ref
    if default_name is not None and re.fullmatch(r"v?\d+", text):
        return default_name, text
    return text, default_ref


class NotReady(RuntimeError):
    """The slot's first model is still loading (or failed to load): nothing to answer with yet."""


class ModelSlot:
    """One served position (incumbent or candidate) and the service behind it.

    The source is either a :class:`~mlcourse.deploy.service.ModelService`, served
    as is, or a registry reference ``"name:alias"`` (``"fraud-detector"``
    means ``"fraud-detector:production"``), re-resolved while serving: at
    most every ``reload_interval`` seconds the slot looks at the model's
    ``aliases.json``; when the alias has moved, the new version is loaded
    (hash checked) in a background thread and swapped in once ready. A
    version that fails to load is refused; the old one keeps serving and
    :attr:`last_error` says why.

    Alias moves are applied as a sequence: only the last target seen is
    ever swapped in. A load that finishes after the alias moved on (a
    rollback arriving while the promoted version was still loading) is
    thrown away, and a move back to the version being served cancels the
    load in progress and clears the error of an earlier refused move.

    Parameters
    ----------
    source : ModelService or str
    registry : path, optional
        Registry folder for a reference (default: ``mlcourse.paths.registry_dir()``).
    onnx : bool or None
        Passed to :meth:`ModelService.from_registry`: None uses ONNX when the
        version has it.
    reload_interval : float, default 1.0
        Seconds between looks at the alias file; 0 disables following.
    background : bool, default False
        Load the first version in a background thread too: the slot is not
        :attr:`ready` until it is loaded, and :attr:`service` raises
        :class:`NotReady` meanwhile (an HTTP server answers 503 and its
        ``/ready`` says why). Default: load before returning.
    start_version : int, optional
        Serve this version first instead of the alias's target (the last
        good version when the target was refused on start), still following
        the alias from its next move on.
    """

    def __init__(
        self,
        source: ModelService | str,
        *,
        registry: str | os.PathLike[str] | None = None,
        onnx: bool | None = None,
        reload_interval: float = 1.0,
        background: bool = False,
        start_version: int | None = None,
    ) -> None:
        from mlcourse.deploy.service import ModelService

        self.registry = registry
        self.onnx = onnx
        self.reload_interval = float(reload_interval)
        self.last_error: str | None = None
        self.events: list[dict[str, Any]] = []
        #: The version number being loaded now (None when idle).
        self.loading: int | None = None
        #: Why the slot serves another version than its alias's target (set by
        #: ``mlcourse serve`` when it starts on a fallback), until the alias moves on.
        self.fallback: str | None = None
        self._service: ModelService | None = None
        self._cond = threading.Condition()
        self._generation = 0
        self._wanted: tuple[int, int] | None = None  # (generation, version) still to be swapped in
        self._loader: threading.Thread | None = None
        self._next_check = 0.0
        self._signature: tuple[int, int] | None = None
        if isinstance(source, ModelService):
            self.name, self.ref = None, None
            self._service = source
            return
        if not isinstance(source, str):
            raise TypeError(f"a model slot needs a ModelService or 'name[:alias]', not {type(source).__name__}")
        self.name, self.ref = parse_model_ref(source)
        from mlcourse.deploy.registry import aliases_path

        self._aliases_path = aliases_path(self.name, registry)
        self._signature = self._stat()
        first = start_version if start_version is not None else self._target()
        if background:
            with self._cond:
                self._want(first)
        else:
            self._service = self._load(first)

    def __repr__(self) -> str:
        source = f"{self.name}:{self.ref}" if self.name else "fixed"
        return f"ModelSlot({source}, serving {self.version!r})"

    @property
    def ready(self) -> bool:
        """True once a version is loaded and answering."""
        return self._service is not None

    @property
    def service(self) -> ModelService:
        """The service answering now; looks for an alias move when due.

        Raises :class:`NotReady` while the first version is still loading.
        """
        if self.name is not None and self.reload_interval > 0:
            now = time.monotonic()
            if now >= self._next_check:
                self._next_check = now + self.reload_interval
                self._check()
        service = self._service
        if service is None:
            raise NotReady(self.not_ready_reason())
        return service

    def not_ready_reason(self) -> str:
        """Why :attr:`ready` is False, in one line ("" when ready)."""
        if self._service is not None:
            return ""
        if self.loading is not None:
            return f"loading {self.name} v{self.loading}"
        return self.last_error or f"no version of {self.name} loaded"

    @property
    def version(self) -> str:
        """The served version's label; ``"<name>:v<N> (loading)"`` before the first is loaded."""
        service = self._service
        if service is not None:
            return service.version
        return f"{self.name}:v{self.loading} (loading)" if self.loading is not None else f"{self.name} (not loaded)"

    @property
    def follows_alias(self) -> bool:
        from mlcourse.deploy.registry import version_number

        return self.name is not None and version_number(self.ref) is None

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self._aliases_path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_ino)

    def _load(self, version: int | str) -> ModelService:
        from mlcourse.deploy.service import ModelService

        return ModelService.from_registry(self.name, version, registry=self.registry, onnx=self.onnx)

    def _target(self) -> int:
        from mlcourse.deploy.registry import resolve_version

        return resolve_version(self.name, self.ref, registry=self.registry)

    def _check(self) -> None:
        """Has the alias moved? Then want its new target (loaded in the background)."""
        if not self.follows_alias:
            return
        signature = self._stat()
        if signature == self._signature:
            return
        self._signature = signature
        try:
            target = self._target()
        except Exception as exc:  # alias removed, file damaged, registry moved: keep serving
            self._note_error(f"cannot resolve {self.name}:{self.ref}: {exc}")
            return
        with self._cond:
            self._want(target)

    def _want(self, target: int) -> None:
        """Make ``target`` the one version to end up serving (call with the lock held)."""
        self._generation += 1
        served = self._service
        if served is not None and served.version == f"{self.name}:v{target}":
            # Back to what is served: any load under way is now stale, and an
            # earlier refusal no longer describes what the alias asks for.
            self._wanted = None
            self.fallback = None  # the alias now names what is served
            if self.last_error is not None:
                self.last_error = None
                self.events.append({"ts": time.time(), "event": "recovered", "to": served.version})
            self._cond.notify_all()
            return
        self._wanted = (self._generation, target)
        if self._loader is None:
            self._loader = threading.Thread(target=self._load_loop, name="mlcourse-model-reload", daemon=True)
            self._loader.start()

    def _load_loop(self) -> None:
        # One loader at a time, always on the newest wanted version; what it
        # loaded is swapped in only if nothing newer was wanted meanwhile.
        while True:
            with self._cond:
                if self._wanted is None:
                    self._loader = None
                    self.loading = None
                    self._cond.notify_all()
                    return
                generation, target = self._wanted
                self.loading = target
            started = time.monotonic()
            try:
                service, error = self._load(target), None
            except Exception as exc:
                service, error = None, f"refused {self.name} v{target}: {exc}"
            with self._cond:
                if self._wanted is None or self._wanted[0] != generation:
                    self.events.append({"ts": time.time(), "event": "discarded", "version": target,
                                        "detail": "the alias moved on while it loaded"})
                    logger.warning("%s:%s: discarded v%s, loaded after the alias had moved on",
                                   self.name, self.ref, target)
                    continue
                self._wanted = None
                if service is None:
                    self._note_error(error)
                    continue
                old = self._service.version if self._service is not None else None
                self._service = service
                self.last_error = None
                if old is not None:
                    self.fallback = None  # the alias moved on to a version that loads
                self.events.append({"ts": time.time(), "event": "switch", "from": old, "to": service.version})
            if old is None:
                logger.info("%s:%s loaded %s (%s) in %.1f s", self.name, self.ref, service.version,
                               service.backend, time.monotonic() - started)
            else:
                logger.warning("%s:%s now serves %s (was %s)", self.name, self.ref, service.version, old)

    def _note_error(self, message: str) -> None:
        self.last_error = message
        self.events.append({"ts": time.time(), "event": "error", "detail": message})
        logger.error("%s", message)

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until no load is under way or wanted; True if idle before ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._loader is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def refresh(self) -> bool:
        """Look at the alias now and load a moved target before returning.

        Returns True when a new version was swapped in.
        """
        self._next_check = time.monotonic() + self.reload_interval
        before = self._service
        self._signature = None  # look even if the file seems unchanged
        self._check()
        self.wait()
        return self._service is not before


# --------------------------------------------------------------------------- the router


class _Tally:
    __slots__ = ("requests", "errors", "client_errors", "latencies")

    def __init__(self, window: int) -> None:
        self.requests = 0
        self.errors = 0
        self.client_errors = 0
        self.latencies: deque[float] = deque(maxlen=window)


class ModelRouter:
    """Decide which version answers each request, and keep score per version.

    Parameters
    ----------
    incumbent : ModelService, str or ModelSlot
        The version serving most traffic. A string is a registry reference
        (``"fraud-detector"`` follows its ``production`` alias).
    candidate : ModelService, str or ModelSlot, optional
        The canary. A string without a name (``"candidate"``, ``"v3"``)
        refers to the incumbent's model.
    fraction : float, default 0.0
        Share of users sent to the candidate (0 to 1).
    rule : RollbackRule, optional
        When to roll the canary back automatically; ``None`` uses the
        defaults, ``False`` disables automatic rollback.
    registry, onnx, reload_interval
        For string sources, see :class:`ModelSlot`.
    window : int, default 1000
        Latency percentiles are over each version's last ``window`` requests.
    background, start_version
        Load the versions in the background (:attr:`ready` says when the
        incumbent is loaded); start the incumbent on another version than
        its alias's target. See :class:`ModelSlot`.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> from mlcourse.deploy.service import ModelService
    >>> clf = DummyClassifier().fit([[0.0], [1.0]], [0, 1])
    >>> router = ModelRouter(ModelService(clf, ["x"], version="m:v1"),
    ...                      ModelService(clf, ["x"], version="m:v2"), fraction=0.25)
    >>> sorted({router.choose(f"user-{i}")[0].version for i in range(100)})
    ['m:v1', 'm:v2']
    >>> router.choose("user-1")[0].version == router.choose("user-1")[0].version
    True
    """

    def __init__(
        self,
        incumbent: ModelService | str | ModelSlot,
        candidate: ModelService | str | ModelSlot | None = None,
        *,
        fraction: float = 0.0,
        rule: RollbackRule | None | bool = None,
        registry: str | os.PathLike[str] | None = None,
        onnx: bool | None = None,
        reload_interval: float = 1.0,
        window: int = 1000,
        check_every: int = 10,
        background: bool = False,
        start_version: int | None = None,
    ) -> None:
        slot_kw: dict[str, Any] = {"registry": registry, "onnx": onnx, "reload_interval": reload_interval,
                                   "background": background}
        self.incumbent = incumbent if isinstance(incumbent, ModelSlot) else ModelSlot(
            incumbent, start_version=start_version, **slot_kw)
        if isinstance(candidate, str) and ":" not in candidate and self.incumbent.name is not None:
            from mlcourse.deploy.registry import get_aliases

            if candidate in get_aliases(self.incumbent.name, registry=registry) or candidate.lstrip("v").isdigit():
                candidate = f"{self.incumbent.name}:{candidate}"
        self.candidate: ModelSlot | None
        if candidate is None or isinstance(candidate, ModelSlot):
            self.candidate = candidate
        else:
            self.candidate = ModelSlot(candidate, **slot_kw)
        self.rule: RollbackRule | None = None if rule is False else (rule if isinstance(rule, RollbackRule) else RollbackRule())
        self.window = int(window)
        self.check_every = max(1, int(check_every))
        self.events: list[dict[str, Any]] = []
        self.status = "off"
        self.reason: str | None = None
        self._fraction = 0.0
        self._configured_fraction = 0.0
        self._candidate_version: str | None = None
        self._since_check = 0
        self._tallies: dict[str, _Tally] = {}
        self._lock = threading.Lock()
        self.set_canary(fraction)

    # ------------------------------------------------------------------ configuration

    @property
    def fraction(self) -> float:
        """The share of users the candidate gets now (0 after a rollback)."""
        return self._fraction

    def set_canary(self, fraction: float, candidate: ModelService | str | ModelSlot | None = None) -> None:
        """Start, resize or stop (``fraction=0``) the canary, optionally with a new candidate."""
        fraction = float(fraction)
        if not 0.0 <= fraction <= 1.0 or math.isnan(fraction):
            raise ValueError(f"the canary fraction must be between 0 and 1, got {fraction}")
        if candidate is not None:
            self.candidate = candidate if isinstance(candidate, ModelSlot) else ModelSlot(
                candidate, registry=self.incumbent.registry, onnx=self.incumbent.onnx,
                reload_interval=self.incumbent.reload_interval)
        if fraction > 0 and self.candidate is None:
            raise ValueError("a canary needs a candidate")
        self._configured_fraction = fraction
        self._fraction = fraction if self.candidate is not None else 0.0
        self.status = "running" if self._fraction > 0 else "off"
        self.reason = None
        self._candidate_version = self.candidate.version if self.candidate is not None else None
        self._event("canary", f"fraction {fraction:g}" + (f" to {self._candidate_version}" if self._candidate_version else ""))

    def _event(self, event: str, detail: str) -> None:
        self.events.append({"ts": time.time(), "event": event, "detail": detail})

    # ------------------------------------------------------------------ the request path

    @property
    def ready(self) -> bool:
        """True once the incumbent is loaded (a candidate still loading gets no traffic yet)."""
        return self.incumbent.ready

    def poll(self) -> None:
        """Look for alias moves now, if due, as a request would: the status endpoints call it,
        so an idle server follows promotions and rollbacks too."""
        for slot in (self.incumbent, self.candidate):
            if slot is not None:
                try:
                    slot.service  # noqa: B018 - the property looks at the alias when due
                except NotReady:
                    pass

    def choose(self, key: str) -> tuple[ModelService, str]:
        """The service that answers the user (or request) ``key``, and its role:
        ``"incumbent"`` or ``"candidate"``.

        Raises :class:`NotReady` while the incumbent's first version loads.
        """
        incumbent = self.incumbent.service
        if self._fraction > 0.0 or self._candidate_version is not None:
            candidate_slot = self.candidate
            if candidate_slot is not None:
                try:
                    candidate = candidate_slot.service
                except NotReady:
                    return incumbent, "incumbent"
                if candidate.version != self._candidate_version:
                    self._new_candidate(candidate.version)
                # Salted with the candidate's version: each canary picks its own users.
                if (self._fraction > 0.0 and candidate.version != incumbent.version
                        and routes_to_candidate(key, self._fraction, salt=candidate.version)):
                    return candidate, "candidate"
        return incumbent, "incumbent"

    def _new_candidate(self, version: str) -> None:
        # The candidate's alias moved: a new canary starts at the configured share.
        self._candidate_version = version
        self._fraction = self._configured_fraction
        self.status = "running" if self._fraction > 0 else "off"
        self.reason = None
        self._event("canary", f"new candidate {version}, fraction {self._fraction:g}")

    def record(self, version: str, role: str, *, latency_ms: float, error: bool = False,
               client_error: bool = False) -> None:
        """Count one request answered by ``version``; may roll the canary back.

        ``error`` is a server-side failure (the model raised); ``client_error``
        a rejected request (422, 413), which is not held against the version.
        """
        with self._lock:
            tally = self._tallies.get(version)
            if tally is None:
                tally = self._tallies[version] = _Tally(self.window)
            if client_error:
                tally.client_errors += 1
                return
            tally.requests += 1
            tally.errors += bool(error)
            tally.latencies.append(latency_ms)
            if role != "candidate" or self.status != "running" or self.rule is None:
                return
            self._since_check += 1
            if self._since_check < self.check_every:
                return
            self._since_check = 0
        self._judge()

    def _judge(self) -> None:
        if self.candidate is None:
            return
        incumbent = self.version_stats(self.incumbent.version)
        candidate = self.version_stats(self.candidate.version)
        decision = should_rollback(incumbent, candidate, self.rule)
        if decision:
            self._fraction = 0.0
            self.status = "rolled_back"
            self.reason = decision.reason
            self._event("rollback", f"{candidate.version}: {decision.reason}")
            logger.warning("canary %s rolled back: %s", candidate.version, decision.reason)

    # ------------------------------------------------------------------ reporting

    def version_stats(self, version: str) -> VersionStats:
        """The numbers :func:`should_rollback` sees for ``version``."""
        import numpy as np

        with self._lock:
            tally = self._tallies.get(version)
            if tally is None:
                return VersionStats(version=version)
            latencies = np.fromiter(tally.latencies, dtype=float, count=len(tally.latencies))
            requests, errors, client_errors = tally.requests, tally.errors, tally.client_errors
        p50, p95 = (np.percentile(latencies, [50, 95]) if latencies.size else (math.nan, math.nan))
        return VersionStats(version=version, requests=requests, errors=errors,
                            p50_ms=float(p50), p95_ms=float(p95), client_errors=client_errors)

    def stats(self) -> pd.DataFrame:
        """One row per version seen: role, requests, errors, error_rate, p50_ms, p95_ms, client_errors."""
        import pandas as pd

        roles = {self.incumbent.version: "incumbent"}
        if self.candidate is not None:
            roles.setdefault(self.candidate.version, "candidate")
        rows = []
        for version in list(self._tallies):
            s = self.version_stats(version)
            rows.append({"version": version, "role": roles.get(version, "retired"), "requests": s.requests,
                         "errors": s.errors, "error_rate": s.error_rate, "p50_ms": s.p50_ms,
                         "p95_ms": s.p95_ms, "client_errors": s.client_errors})
        columns = ["version", "role", "requests", "errors", "error_rate", "p50_ms", "p95_ms", "client_errors"]
        return pd.DataFrame(rows, columns=columns)

    def describe(self) -> dict[str, Any]:
        """The routing state as plain data (what ``GET /model`` shows)."""
        canary = None
        if self.candidate is not None:
            canary = {
                "candidate": self.candidate.version,
                "fraction": self._fraction,
                "configured_fraction": self._configured_fraction,
                "status": self.status,
                "reason": self.reason,
                "rule": None if self.rule is None else {
                    "min_requests": self.rule.min_requests,
                    "max_error_rate_increase": self.rule.max_error_rate_increase,
                    "max_latency_increase_ms": self.rule.max_latency_increase_ms,
                },
            }
        return {"incumbent": self.incumbent.version, "canary": canary}

    def refresh(self) -> bool:
        """Re-read the aliases now and load moved versions before returning."""
        changed = self.incumbent.refresh()
        if self.candidate is not None:
            changed = self.candidate.refresh() or changed
        return changed

    @property
    def last_error(self) -> str | None:
        errors = [e for s in (self.incumbent, self.candidate) if s is not None for e in (s.fallback, s.last_error) if e]
        return "; ".join(errors) or None
