"""Stage 3, serving over HTTP: the service's Prometheus metrics.

:class:`ServingMetrics` holds one app's metrics in a registry of its own
(two apps in one process, a notebook's, keep separate counts), and reads the
prediction log's own counters (written, queued, dropped by reason) when
scraped, so ``/metrics`` and ``/health`` always agree with the log.

It uses nothing else from the deploy stage; prometheus-client and numpy
are imported when the metrics are created.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from mlcourse.deploy.prediction_log import PredictionLog

__all__ = ["ServingMetrics"]


class ServingMetrics:
    """The app's Prometheus metrics, in a registry of their own (one per app).

    ``mlcourse_requests_total{endpoint, status, model_version}``,
    ``mlcourse_request_latency_seconds{endpoint, model_version}`` (histogram),
    ``mlcourse_prediction_score{model_version}`` (histogram of the
    probability of class 1), ``mlcourse_predictions_total{model_version,
    prediction}``, ``mlcourse_canary_fraction``, ``mlcourse_model_info{role,
    model_version}``, the prediction log's
    ``mlcourse_prediction_log_written_total``,
    ``mlcourse_prediction_log_dropped_total{reason}``,
    ``mlcourse_prediction_log_queued`` and ``mlcourse_prediction_log_failing``,
    and the process's ``process_cpu_seconds_total`` and
    ``process_resident_memory_bytes``.
    """

    LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
    SCORE_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))

    def __init__(self, log: PredictionLog | None = None) -> None:
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
        if log is not None:
            self.registry.register(_LogCollector(log))
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
            import numpy as np

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


class _LogCollector:
    """The prediction log's counters, read when scraped (the log keeps the counts, once)."""

    def __init__(self, log: PredictionLog) -> None:
        self.log = log

    def collect(self) -> Any:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        log = self.log
        written = CounterMetricFamily("mlcourse_prediction_log_written", "Prediction-log rows written")
        written.add_metric([], log.written)
        dropped = CounterMetricFamily("mlcourse_prediction_log_dropped",
                                      "Prediction-log rows that will never be written, by reason", labels=["reason"])
        for reason, count in sorted(log.dropped_by_reason.items()):
            dropped.add_metric([reason], count)
        queued = GaugeMetricFamily("mlcourse_prediction_log_queued", "Prediction-log rows waiting to be written")
        queued.add_metric([], log.queued)
        failing = GaugeMetricFamily("mlcourse_prediction_log_failing", "1 while writes to the prediction log fail")
        failing.add_metric([], 1.0 if log.failing else 0.0)
        return [written, dropped, queued, failing]


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
