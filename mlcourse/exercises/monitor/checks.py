"""Exercises of lesson 04, Monitor: system metrics, drift, retraining triggers, the feedback loop.

Six declarative exercises, in the order the lesson asks them:

* ``monitor.latency_slo``: p50/p95/p99 latency of the successful requests in a
  prediction log, and whether p95 meets the service-level objective;
* ``monitor.drifted_features``: name the features that moved in a batch whose
  shifts cancel out in the outline's single global mean;
* ``monitor.psi``: the Population Stability Index by hand, equal to
  :func:`mlcourse.monitor.drift.psi` (evidently's conventions);
* ``monitor.feature_drift``: a per-feature drift report, one row per feature,
  with the test evidently picks for a reference of more than 1,000 rows;
* ``monitor.should_retrain``: a retraining decision driven by a policy table;
* ``monitor.backtest_policies``: two retraining policies backtested on a fresh
  drifting stream, judged within bands.

Every function is called on inputs generated at check time (fresh prediction
logs, samples, transaction windows, monitoring states and policy tables), and
known wrong answers are recognised by recomputing them from the same inputs:
errors counted in the latency percentiles, another percentile method, a
forgotten empty-bin floor, counts instead of shares, an unnormalised distance,
a test on the global mean, AND instead of OR... Where the learner re-creates
something the package provides, the exercise forbids it (see
:mod:`mlcourse.exercises.guard`).

This module is the lesson's answer key; what the grading child runs is in
:mod:`mlcourse.exercises.monitor.probes`.
"""
from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlcourse.exercises.compare import Compare, show
from mlcourse.exercises.engine import Exercise, Function, Mistake, Value, holds, returns
from mlcourse.exercises.monitor.probes import (
    BACKTEST_DRIFT_DAY,
    BACKTEST_WEEKS,
    NEVER,
    probe_policies,
    retrain_probe,
)
from mlcourse.exercises.plain import TAG, from_plain, kind
from mlcourse.exercises.probes import call


# --------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------
def _number(plain: Any) -> float | None:
    """A plain int or float as a float; None for anything else (bools included)."""
    if type(plain) in (int, float):
        return float(plain)
    return None


def _close(a: float | None, b: float | None, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return False
    return abs(a - b) <= atol + rtol * abs(b)


def _frame(plain: Any) -> pd.DataFrame | None:
    if isinstance(plain, dict) and plain.get(TAG) == "DataFrame":
        return from_plain(plain)
    return None


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


# --------------------------------------------------------------------------
# monitor.latency_slo: percentiles of the successful requests, and the SLO
# --------------------------------------------------------------------------
LOG_COLUMNS = ["ts", "request_id", "model_version", "prediction", "score", "latency_ms", "status", "error"]
PERCENTILES = (50, 95, 99)
_OTHER_METHODS = ("inverted_cdf", "averaged_inverted_cdf", "closest_observation", "interpolated_inverted_cdf",
                  "hazen", "weibull", "median_unbiased", "normal_unbiased", "lower", "higher", "nearest", "midpoint")


def fresh_log(rng: np.random.Generator, n: int | None = None, error_share: float | None = None) -> pd.DataFrame:
    """A day of a prediction log (the serving schema's columns): lognormal latency
    with a slow tail, and failed requests that were rejected within a few ms."""
    n = int(rng.integers(300, 900)) if n is None else int(n)
    start = 1_775_001_600.0 + 86_400.0 * int(rng.integers(0, 60))
    ts = np.sort(start + rng.uniform(0, 86_400, n)).round(3)
    latency = float(rng.uniform(12, 40)) * np.exp(0.45 * rng.standard_normal(n))
    slow = rng.random(n) < 0.04
    latency[slow] *= rng.uniform(3, 8, int(slow.sum()))
    share = float(rng.uniform(0.05, 0.12)) if error_share is None else error_share
    failed = rng.random(n) < share
    failed[:2] = True  # never an error-free log: errors are the point
    latency[failed] = rng.uniform(0.5, 3.0, int(failed.sum()))
    score = np.where(failed, np.nan, rng.beta(1.0, 30.0, n).round(6))
    prediction = np.where(failed, np.nan, (score >= 0.5).astype(float))
    return pd.DataFrame({
        "ts": ts,
        "request_id": [f"r{int(start) % 100_000:05d}-{i:04d}" for i in range(n)],
        "model_version": "fraud-detector:v1",
        "prediction": prediction,
        "score": score,
        "latency_ms": latency.round(3),
        "status": np.where(failed, "error", "ok"),
        "error": [("model raised an exception" if f else None) for f in failed],
    })[LOG_COLUMNS]


def _ok_latency(log: pd.DataFrame) -> np.ndarray:
    return log.loc[log["status"] == "ok", "latency_ms"].to_numpy(dtype=float)


def reference_latency(log: pd.DataFrame, slo_ms: float) -> dict:
    """p50/p95/p99 of the successful requests (numpy's default, linear
    interpolation) and whether p95 <= slo_ms: what ``service_metrics`` reports."""
    p50, p95, p99 = (float(v) for v in np.percentile(_ok_latency(log), PERCENTILES))
    return {"p50_ms": p50, "p95_ms": p95, "p99_ms": p99, "slo_met": bool(p95 <= slo_ms)}


def _slo_between(rng: np.random.Generator) -> tuple:
    """An SLO between p95 with errors counted (lower: rejections are fast) and the true p95."""
    log = fresh_log(rng)
    true = float(np.percentile(_ok_latency(log), 95))
    everything = float(np.percentile(log["latency_ms"].to_numpy(dtype=float), 95))
    return log, round((true + everything) / 2, 3)


def _slo_met(rng: np.random.Generator) -> tuple:
    """An SLO between p95 and p99: met (on p95), though p99 is over it."""
    log = fresh_log(rng)
    p95, p99 = np.percentile(_ok_latency(log), [95, 99])
    return log, round(float(p95 + rng.uniform(0.2, 0.8) * (p99 - p95)), 3)


def _slo_boundary(rng: np.random.Generator) -> tuple:
    """The SLO equal to p95 itself: p95 <= SLO, so it is met."""
    log = fresh_log(rng)
    return log, float(np.percentile(_ok_latency(log), 95))


def _latency_got(got: Any) -> dict | None:
    if isinstance(got, dict) and TAG not in got:
        values = {k: _number(got.get(k)) for k in ("p50_ms", "p95_ms", "p99_ms")}
        if all(v is not None for v in values.values()):
            return values
    return None


def _p_match(got: Any, values: Sequence[float]) -> bool:
    g = _latency_got(got)
    return g is not None and all(_close(g[k], float(v)) for k, v in zip(("p50_ms", "p95_ms", "p99_ms"), values))


def _with_errors(got: Any, a: tuple, exp: Any) -> bool:
    log = a[0]
    return _p_match(got, np.percentile(log["latency_ms"].to_numpy(dtype=float), PERCENTILES))


def _other_method(got: Any, a: tuple, exp: Any) -> str | None:
    ok = _ok_latency(a[0])
    for method in _OTHER_METHODS:
        if _p_match(got, np.percentile(ok, PERCENTILES, method=method)):
            return method
    return None


def _fractions(got: Any, a: tuple, exp: Any) -> bool:
    return _p_match(got, np.percentile(_ok_latency(a[0]), [p / 100 for p in PERCENTILES]))


def _p_right(got: Any, exp: Any) -> bool:
    return _p_match(got, [exp["p50_ms"], exp["p95_ms"], exp["p99_ms"]])


def _strict_slo(got: Any, a: tuple, exp: Any) -> bool:
    return _p_right(got, exp) and math.isclose(exp["p95_ms"], a[1]) and got.get("slo_met") is False


def _slo_on_other(got: Any, a: tuple, exp: Any) -> bool:
    if not _p_right(got, exp) or type(got.get("slo_met")) is not bool:
        return False
    return got["slo_met"] != exp["slo_met"]


def _method_message(got: Any, a: tuple, exp: Any) -> str | None:
    method = _other_method(got, a, exp)
    if method is None:
        return None
    return (
        f"Your percentiles are numpy's method={method!r}, which picks an observed value or interpolates differently. "
        "Use numpy's default, linear interpolation between the two closest ranks: np.percentile(values, [50, 95, 99]) "
        "(pandas' .quantile() does the same), as service_metrics does."
    )


_LATENCY_MISTAKES = [
    Mistake(
        _with_errors,
        "These are the percentiles of every request, failed ones included. A rejected request is answered in a few "
        "milliseconds and drags the percentiles down, so the service looks faster than it is for the requests it "
        "serves: keep the rows with status == 'ok' (errors are measured by the error rate, not by latency).",
    ),
    Mistake(_other_method, _method_message),
    Mistake(
        _fractions,
        "np.percentile takes percents (50, 95, 99); you gave it fractions, so you got the 0.5th, 0.95th and 0.99th "
        "percentiles, almost the fastest requests. (np.quantile and pandas' .quantile take fractions: 0.5, 0.95, 0.99.)",
    ),
    Mistake(
        _strict_slo,
        "Here p95 equals the SLO exactly, and an objective 'p95 within 250 ms' is met at 250 ms: use p95 <= slo_ms, "
        "not <.",
    ),
    Mistake(
        _slo_on_other,
        "The percentiles are right but 'slo_met' is not: the objective is on p95, so slo_met = p95 <= slo_ms "
        "(not p99, the mean or the maximum).",
    ),
]


def _latency_describe(a: tuple) -> str:
    log, slo = a
    n_err = int((log["status"] != "ok").sum())
    return f"[a log of {len(log)} requests ({n_err} failed), slo_ms={slo:g}]"


def _latency_test(name: str, inputs: Any) -> Any:
    return returns(name, inputs, reference_latency, compare=Compare(rtol=1e-9, atol=1e-9), mistakes=_LATENCY_MISTAKES,
                   describe=_latency_describe)


latency_slo = Exercise(
    id="monitor.latency_slo",
    title="Latency percentiles and an SLO check",
    points=2,
    answer=Function("latency_slo"),
    tests=[
        _latency_test("a fresh log with fast-failing errors", _slo_between),
        _latency_test("a fresh log that meets its SLO", _slo_met),
        _latency_test("a fresh log whose p95 equals the SLO", _slo_boundary),
    ],
    hints=(
        "Keep the successful requests first: `ok = log.loc[log['status'] == 'ok', 'latency_ms']`.",
        "`p50, p95, p99 = np.percentile(ok, [50, 95, 99])`: numpy's default is linear interpolation, as "
        "service_metrics uses.",
        "Return `{'p50_ms': float(p50), 'p95_ms': float(p95), 'p99_ms': float(p99), 'slo_met': bool(p95 <= slo_ms)}`.",
    ),
    forbid=("mlcourse.monitor.service.service_metrics", "mlcourse.monitor.service.window_metrics",
            "mlcourse.monitor.service.monitor", "service_monitoring.service_metrics",
            "service_monitoring.window_metrics", "service_monitoring.monitor"),
    on_error={
        "KeyError": "The log's columns are ts, request_id, model_version, prediction, score, latency_ms, status and "
        "error; a request succeeded when status == 'ok'.",
    },
)


# --------------------------------------------------------------------------
# monitor.drifted_features: the drift the global mean misses
# --------------------------------------------------------------------------
OUTLINE_COLUMNS = [f"feat_{i}" for i in range(20)]


def _outline_like(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    mu = rng.uniform(-1.5, 1.5, len(OUTLINE_COLUMNS))
    sigma = rng.uniform(0.6, 2.0, len(OUTLINE_COLUMNS))
    frame = pd.DataFrame(rng.normal(mu, sigma, (n, len(OUTLINE_COLUMNS))).round(5), columns=OUTLINE_COLUMNS)
    return frame, mu, sigma


def _steady(rng: np.random.Generator, reference: pd.DataFrame, mu: np.ndarray, sigma: np.ndarray,
            n: int) -> pd.DataFrame:
    """A current batch from the reference's distribution whose features are all close to it.

    Sampling noise alone puts a feature past the 0.1 cut-off in about one batch in
    three hundred; such a batch is redrawn, so that every sound per-feature method
    (a distance, or a p-value corrected for twenty tests) agrees on what moved.
    """
    from mlcourse.monitor.drift import wasserstein

    for _ in range(20):
        current = pd.DataFrame(rng.normal(mu, sigma, (n, len(OUTLINE_COLUMNS))).round(5), columns=OUTLINE_COLUMNS)
        if max(wasserstein(reference[c], current[c]).statistic for c in OUTLINE_COLUMNS) < 0.08:
            break
    return current


def _cancelling_batch(rng: np.random.Generator) -> tuple:
    """Two pairs of features move in opposite directions by the same amount, one spreads out:
    the mean over every value of every feature stays put."""
    reference, mu, sigma = _outline_like(rng, 3_000)
    current = _steady(rng, reference, mu, sigma, int(rng.integers(2_500, 3_000)))
    picked = rng.choice(len(OUTLINE_COLUMNS), size=5, replace=False)
    for up, down in (picked[:2], picked[2:4]):
        step = float(rng.uniform(0.5, 0.9)) * max(sigma[up], sigma[down])
        current.iloc[:, up] += step
        current.iloc[:, down] -= step
    wide = picked[4]
    col = current.iloc[:, wide]
    current.iloc[:, wide] = (mu[wide] + (col - mu[wide]) * float(rng.uniform(1.7, 2.2))).round(5)
    return reference, current.round(5)


def _quiet_batch(rng: np.random.Generator) -> tuple:
    reference, mu, sigma = _outline_like(rng, 3_000)
    return reference, _steady(rng, reference, mu, sigma, 2_500)


def _one_big_shift(rng: np.random.Generator) -> tuple:
    """One feature jumps by a lot: now the global mean does move (and blames nobody)."""
    reference, mu, sigma = _outline_like(rng, 3_000)
    current = _steady(rng, reference, mu, sigma, 2_500)
    k = int(rng.integers(0, len(OUTLINE_COLUMNS)))
    current.iloc[:, k] += float(rng.choice([-1, 1])) * float(rng.uniform(2.5, 3.5))
    return reference, current.round(5)


def reference_drifted(reference: pd.DataFrame, current: pd.DataFrame) -> list[str]:
    """Features whose normed Wasserstein distance is >= 0.1 (what drift_report flags here)."""
    from mlcourse.monitor.drift import wasserstein

    return [c for c in reference.columns if wasserstein(reference[c], current[c]).drifted]


def _moments(reference: pd.DataFrame, current: pd.DataFrame, c: str) -> tuple[float, float]:
    """(shift of the mean, ratio of the spreads), in the reference's standard deviations."""
    sd = float(np.std(reference[c]))
    return (float(current[c].mean() - reference[c].mean()) / sd, float(np.std(current[c])) / sd)


def _drifted_verdict(got: Any, a: tuple) -> str | None:
    from mlcourse.monitor.drift import naive_mean_drift

    reference, current = a
    value = got
    if isinstance(value, dict) and value.get(TAG) in ("tuple", "set", "ndarray"):
        value = value.get("items", value.get("data"))
    if isinstance(value, dict) and value.get(TAG) == "Series":
        value = value.get("data")
    if value is None:
        return "your function returned None: did you forget a `return` statement?"
    if not isinstance(value, list) or not all(type(v) is str for v in value):
        return f"expected a list of column names (strings), got {kind(value)} ({show(value)})"
    ref_mean, cur_mean, alert = naive_mean_drift(reference, current)
    glob = f"the global mean went from {ref_mean:.3f} to {cur_mean:.3f}"
    expected = reference_drifted(reference, current)
    if sorted(set(value)) == sorted(expected) and len(set(value)) == len(value):
        return None
    if len(set(value)) != len(value):
        return f"your list names a column twice: {sorted({v for v in value if value.count(v) > 1})}"
    unknown = [v for v in value if v not in reference.columns]
    if unknown:
        return f"{unknown} are not columns of the batch"
    missed = [c for c in expected if c not in value]
    extra = [c for c in value if c not in expected]
    if not value and not alert and expected:
        return (
            f"you found no drift, yet {len(expected)} features moved ({', '.join(expected)}). {glob.capitalize()}, within the "
            "outline's 0.1: the features moved in opposite directions and cancelled out in one mean over all of "
            "them. Test every feature on its own."
        )
    if set(value) == set(reference.columns) and alert:
        return (
            f"you flagged all {len(value)} features: {glob}, so the outline's global check alerts, but it cannot "
            f"say which feature moved. Only {', '.join(expected)} did; test every feature on its own."
        )
    parts = []
    if missed:
        described = []
        for c in missed:
            shift, spread = _moments(reference, current, c)
            if abs(shift) < 0.1 and (spread > 1.3 or spread < 0.75):
                described.append(f"{c} (same mean, {spread:.1f}x the spread: a test of means misses it; compare "
                                 "whole distributions, e.g. the normed Wasserstein distance or KS)")
            else:
                described.append(f"{c} (mean moved by {shift:+.2f} reference standard deviations)")
        parts.append("you missed " + "; ".join(described))
    if extra:
        parts.append(
            f"you flagged {', '.join(extra)}, which did not change (same distribution in both windows). With 20 "
            "features a test at p <= 0.05 flags about one unchanged feature in twenty by chance: use a distance with "
            "a threshold (normed Wasserstein >= 0.1), or divide the p-value cut-off by the number of features "
            "(Bonferroni)"
        )
    return "; ".join(parts) + f". Expected {expected} ({glob})."


drifted_features = Exercise(
    id="monitor.drifted_features",
    title="Catch the drift the global mean misses",
    points=2,
    answer=Function("drifted_features"),
    tests=[
        holds("a fresh batch whose shifts cancel out", call, _drifted_verdict, inputs=_cancelling_batch),
        holds("a fresh batch where nothing moved", call, _drifted_verdict, inputs=_quiet_batch),
        holds("a fresh batch where one feature jumped", call, _drifted_verdict, inputs=_one_big_shift),
    ],
    hints=(
        "The outline averages every value of every feature into one number, so +0.6 on one feature and -0.6 on "
        "another leave it where it was. Look at each column separately.",
        "For each column: `monitoring.wasserstein(reference[c], current[c])` gives the distance in reference "
        "standard deviations and `.drifted` (>= 0.1). It sees a change of spread too, which a mean cannot.",
        "`return [c for c in reference.columns if monitoring.wasserstein(reference[c], current[c]).drifted]`",
    ),
    forbid=("mlcourse.monitor.drift.drift_report", "monitoring.drift_report"),
)


# --------------------------------------------------------------------------
# monitor.psi: the Population Stability Index by hand
# --------------------------------------------------------------------------
def reference_psi(reference: Any, current: Any, bins: int = 10) -> float:
    """:func:`mlcourse.monitor.drift.psi` with ``bins`` equal-width bins over both samples."""
    from mlcourse.monitor.drift import psi

    return float(psi(np.asarray(reference, dtype=float), np.asarray(current, dtype=float), bins=int(bins)).statistic)


def psi_variant(reference: Any, current: Any, bins: int, *, edges: str = "both", unit: str = "share",
                floor: str = "evidently", sign: int = 1) -> float:
    """PSI computed with one known mistake, to recognise it in an answer.

    ``edges``: "both" (right), "reference" (edges from the reference only) or
    "separate" (each sample binned on its own range); ``unit``: "share"
    (right), "counts" or "percent"; ``floor``: "evidently" (right), "none",
    "constant" (every empty bin 1e-4) or "epsilon" (1e-6 added everywhere);
    ``sign`` -1 for (cur - ref) * ln(ref / cur).
    """
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    if edges == "separate":
        rc, cc = np.histogram(ref, bins)[0], np.histogram(cur, bins)[0]
    else:
        e = np.histogram_bin_edges(np.concatenate([ref, cur]) if edges == "both" else ref, bins)
        rc, cc = np.histogram(ref, e)[0], np.histogram(cur, e)[0]
    if unit == "counts":
        a, b = rc.astype(float), cc.astype(float)
    else:
        a, b = rc / ref.size, cc / cur.size
        if unit == "percent":
            a, b = 100 * a, 100 * b

    def fill(p: np.ndarray) -> np.ndarray:
        if floor == "none":
            return p
        if floor == "constant":
            return np.where(p == 0, 1e-4, p)
        if floor == "epsilon":
            return p + 1e-6
        nonzero = p[p != 0]
        smallest = nonzero.min()
        return np.where(p == 0, smallest / 1e6 if smallest <= 1e-4 else 1e-4, p)

    a, b = fill(a), fill(b)
    with np.errstate(all="ignore"):
        return float(sign * np.sum((a - b) * np.log(a / b)))


def _psi_example(rng: np.random.Generator) -> tuple:
    """The lesson's example: two samples from the notebook's seed."""
    r = np.random.default_rng(7)
    return r.normal(0, 1, 1_000), r.normal(0.3, 1.2, 800), 10


def _psi_fresh(rng: np.random.Generator) -> tuple:
    ref = rng.normal(float(rng.uniform(-2, 2)), float(rng.uniform(0.5, 3)), int(rng.integers(600, 2_000)))
    cur = rng.normal(ref.mean() + float(rng.uniform(0.1, 0.6)) * ref.std(), ref.std() * float(rng.uniform(0.8, 1.3)),
                     int(rng.integers(200, 1_500)))
    return ref.round(4), cur.round(4), int(rng.integers(6, 15))


def _psi_apart(rng: np.random.Generator) -> tuple:
    """Samples far apart: bins empty in one sample or the other (the floor matters)."""
    ref = rng.normal(0, 1, int(rng.integers(500, 1_500)))
    cur = rng.normal(float(rng.uniform(2.5, 4.0)), 1, int(rng.integers(300, 1_000)))
    return ref.round(4), cur.round(4), int(rng.integers(8, 16))


def _psi_large(rng: np.random.Generator) -> tuple:
    """20,000 rows each: a bin with a share <= 1e-4 next to empty ones (the floor's other branch)."""
    ref = rng.normal(0, 1, 20_000)
    cur = rng.normal(float(rng.uniform(0.6, 1.0)), 1, 20_000)
    ref[0] = cur.max() + 2.0  # one reference value far out: a tiny share (1/20,000) beyond empty bins
    return ref.round(4), cur.round(4), int(rng.integers(24, 40))


def _not_finite(got: Any, a: tuple, exp: Any) -> bool:
    return type(got) is float and not math.isfinite(got)


def _variant_is(**kwargs: Any):
    def when(got: Any, a: tuple, exp: Any) -> bool:
        return _close(_number(got), psi_variant(*a, **kwargs))
    return when


def _looks_like_counts(got: Any, a: tuple, exp: Any) -> bool:
    g = _number(got)
    return g is not None and math.isfinite(g) and exp and g > 140 * float(exp)


def _looks_like_percent(got: Any, a: tuple, exp: Any) -> bool:
    g = _number(got)
    return g is not None and exp and 60 < g / float(exp) < 140


def _an_object(got: Any, a: tuple, exp: Any) -> bool:
    return isinstance(got, dict) and got.get(TAG) == "object"


_PSI_MISTAKES = [
    Mistake(_an_object, "Return the PSI itself, a float, not an object that holds it."),
    Mistake(
        _not_finite,
        "Your PSI is infinite or NaN: a bin that is empty in one sample makes ln(ref% / cur%) blow up. Floor the "
        "empty bins first, separately for each histogram: a zero share becomes (smallest non-zero share) / 1e6 when "
        "that smallest share is <= 1e-4, else 1e-4.",
    ),
    Mistake(
        _variant_is(sign=-1),
        "Your PSI is the right size with the wrong sign: PSI = sum((ref% - cur%) * ln(ref% / cur%)). Both factors "
        "must take the samples in the same order, so every term is >= 0.",
    ),
    Mistake(
        _variant_is(edges="separate"),
        "Each sample was binned on its own range (np.histogram(x, bins) per sample), so bin i does not cover the "
        "same values in both. Compute the edges once over both samples together: "
        "np.histogram_bin_edges(np.concatenate([reference, current]), bins).",
    ),
    Mistake(
        _variant_is(edges="reference"),
        "The bin edges come from the reference alone, so current values outside its range fall out of every bin. "
        "Compute the edges over both samples together.",
    ),
    Mistake(
        _variant_is(unit="counts"),
        "You used counts, not shares. PSI compares proportions: divide each histogram by its own sample size "
        "(the two samples rarely have the same size).",
    ),
    Mistake(
        _looks_like_percent,
        "Your PSI is about 100 times too large: the shares went in as percentages (0-100). Use fractions that sum "
        "to 1 (the % in the formula is only a way of speaking).",
    ),
    Mistake(
        _looks_like_counts,
        "Your PSI is far too large: it looks computed on counts rather than shares. Divide each histogram by its "
        "own sample size.",
    ),
    Mistake(
        _variant_is(floor="constant"),
        "Nearly right: the empty-bin floor differs. The rule (evidently's) is (smallest non-zero share) / 1e6 when "
        "that smallest share is <= 1e-4, and 1e-4 otherwise, for each histogram separately.",
    ),
    Mistake(
        _variant_is(floor="epsilon"),
        "Nearly right: adding a small number to every bin changes all the terms. Replace only the empty bins, "
        "with (smallest non-zero share) / 1e6 when that share is <= 1e-4, else 1e-4.",
    ),
]


def _psi_describe(a: tuple) -> str:
    ref, cur, bins = a
    return f"[reference of {len(ref)} values, current of {len(cur)} values, bins={bins}]"


def _psi_test(name: str, inputs: Any) -> Any:
    return returns(name, inputs, reference_psi, compare=Compare(rtol=1e-6, atol=1e-9), mistakes=_PSI_MISTAKES,
                   describe=_psi_describe)


psi = Exercise(
    id="monitor.psi",
    title="PSI by hand, equal to the reference",
    points=3,
    answer=Function("psi"),
    tests=[
        _psi_test("the lesson's two samples", _psi_example),
        _psi_test("fresh samples with a moderate shift", _psi_fresh),
        _psi_test("fresh samples far apart (empty bins)", _psi_apart),
        _psi_test("fresh samples of 20,000 values (tiny shares)", _psi_large),
    ],
    hints=(
        "Edges once, over both samples: `edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins)`; "
        "then `np.histogram(reference, edges)[0] / len(reference)` and the same for current.",
        "Floor each histogram's empty bins on its own: `smallest = p[p > 0].min()`, "
        "`fill = smallest / 1e6 if smallest <= 1e-4 else 1e-4`, `p = np.where(p == 0, fill, p)`.",
        "`return float(np.sum((ref_share - cur_share) * np.log(ref_share / cur_share)))`",
    ),
    forbid=("mlcourse.monitor.drift.psi", "mlcourse.monitor.drift._binned", "mlcourse.monitor.drift._fill_zeros",
            "mlcourse.monitor.drift.drift_report", "monitoring.psi", "monitoring.drift_report"),
    on_error={
        "ValueError": "If numpy says the arrays' shapes differ, the two histograms were made with different bins: "
        "compute the edges once and pass them to both np.histogram calls.",
    },
)


# --------------------------------------------------------------------------
# monitor.feature_drift: a per-feature drift report
# --------------------------------------------------------------------------
#: The columns drift is watched on (:data:`mlcourse.train.fraud_model.MONITORED_FEATURES`).
WATCHED = ["amount", "hour", "merchant_category", "country", "channel", "account_age_days", "customer_age",
           "is_foreign"]
REPORT_COLUMNS = ["feature", "test", "statistic", "drifted"]
DRIFT_THRESHOLD = 0.1
#: Covariate shifts the fresh windows draw from (see mlcourse.data.DRIFTABLE).
_SHIFTS = {
    "amount": (0.5, 1.8),
    "account_age_days": (0.3, 3.0),
    "customer_age": (-12.0, 12.0),
    "hour": (-5.0, 6.0),
    "channel": (0.4,),
    "merchant_category": (0.4,),
    "is_foreign": (0.3,),
}


def _stream_windows(seed: int, covariate: dict, rows: int = 1_200) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference: two days of traffic; current: the next day, with ``covariate`` drift."""
    from mlcourse.data.generate import DriftSpec, production_stream

    days = production_stream(3, rows, seed, drift=DriftSpec(start_day=2, covariate=covariate))
    reference = pd.concat([d.features for d in days[:2]], ignore_index=True)[WATCHED]
    current = days[2].features[WATCHED].reset_index(drop=True)
    return reference, current


def _drifted_windows(rng: np.random.Generator) -> tuple:
    names = sorted(_SHIFTS)
    chosen = rng.choice(names, size=int(rng.integers(2, 4)), replace=False)
    covariate = {str(f): float(rng.choice(_SHIFTS[str(f)])) for f in chosen}
    return _stream_windows(int(rng.integers(1_000, 1_000_000)), covariate)


def _steady_windows(rng: np.random.Generator) -> tuple:
    """Three days of one population, shuffled and split 2:1: nothing drifted."""
    from mlcourse.data.generate import production_stream

    days = production_stream(3, 1_200, int(rng.integers(1_000, 1_000_000)))
    pool = pd.concat([d.features for d in days], ignore_index=True)[WATCHED]
    order = rng.permutation(len(pool))
    cut = 2 * len(pool) // 3
    return pool.iloc[order[:cut]].reset_index(drop=True), pool.iloc[order[cut:]].reset_index(drop=True)


def _new_country_windows(rng: np.random.Generator) -> tuple:
    """A market opens: a country never seen in the reference appears in the current window."""
    covariate = {"customer_age": float(rng.choice(_SHIFTS["customer_age"]))}
    reference, current = _stream_windows(int(rng.integers(1_000, 1_000_000)), covariate)
    current = current.copy()
    new = rng.random(len(current)) < float(rng.uniform(0.06, 0.12))
    current["country"] = np.where(new, "BR", current["country"].to_numpy(dtype=object))
    current["country"] = current["country"].astype(reference["country"].dtype)
    return reference, current


def reference_feature_drift(reference: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """:func:`mlcourse.monitor.drift.drift_report` with evidently's choice of test (reference > 1,000 rows)."""
    from mlcourse.monitor.drift import drift_report

    return drift_report(reference, current).table[REPORT_COLUMNS]


def _shares(ref: pd.Series, cur: pd.Series, union: bool = True) -> tuple[np.ndarray, np.ndarray]:
    r = ref.value_counts(normalize=True)
    c = cur.value_counts(normalize=True)
    keys = r.index.union(c.index) if union else r.index
    return r.reindex(keys, fill_value=0).to_numpy(float), c.reindex(keys, fill_value=0).to_numpy(float)


def _feature_variants(ref: pd.Series, cur: pd.Series, test: str) -> dict[str, float]:
    """Statistics a typical wrong answer computes for one feature."""
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import ks_2samp, wasserstein_distance

    out: dict[str, float] = {}
    numeric = pd.api.types.is_numeric_dtype(ref) and not pd.api.types.is_bool_dtype(ref)
    if numeric:
        raw = float(wasserstein_distance(ref, cur))
        out["raw"] = raw
        out["divided by the current window's std"] = raw / max(float(np.std(cur)), 0.001)
        res = ks_2samp(ref, cur)
        out["ks statistic"], out["ks p-value"] = float(res.statistic), float(res.pvalue)
        if test == "jensenshannon":
            out["wasserstein on a binary column"] = raw / max(float(np.std(ref)), 0.001)
    if test == "jensenshannon" or not numeric:
        p, q = _shares(ref, cur)
        d = float(jensenshannon(p, q))
        out["base 2"] = float(jensenshannon(p, q, base=2))
        out["divergence"] = d * d
        p2, q2 = _shares(ref, cur, union=False)
        if p2.size != p.size:
            out["reference values only"] = float(jensenshannon(p2, q2)) if q2.sum() > 0 else math.nan
    return out


_FEATURE_ADVICE = {
    "raw": "is the raw Wasserstein distance: divide it by the reference's standard deviation (numpy's np.std, "
    "floored at 0.001), or a column measured in large units (euros, days) always looks drifted",
    "divided by the current window's std": "is divided by the current window's standard deviation: use the "
    "reference's (the baseline you compare against)",
    "ks statistic": "is the KS statistic: above 1,000 reference rows evidently switches from the KS test to the "
    "normed Wasserstein distance, because KS p-values flag tiny shifts at large n",
    "ks p-value": "is a KS p-value: above 1,000 reference rows use the normed Wasserstein distance instead",
    "wasserstein on a binary column": "is a Wasserstein distance, but this column has at most 5 distinct values: "
    "the rule tests it as categories, with the Jensen-Shannon distance",
    "base 2": "is the Jensen-Shannon distance in base 2: evidently uses the natural log (scipy's default, base=None)",
    "divergence": "is the Jensen-Shannon divergence (the square of the distance): return the distance, as "
    "scipy.spatial.distance.jensenshannon does",
    "reference values only": "leaves out a value that appears only in the current window (a new category): "
    "compare the shares over the union of the values seen in either window, with 0 where a value is absent",
}


def _feature_verdict(got: Any, a: tuple) -> str | None:
    reference, current = a
    value = got
    where = f"[reference of {len(reference)} rows, current of {len(current)} rows, columns {list(reference.columns)}]"
    if value is None:
        return f"your function returned None: did you forget a `return` statement? {where}"
    frame = _frame(value)
    if frame is None:
        return f"expected a DataFrame with columns {REPORT_COLUMNS}, got {kind(value)} ({show(value)}) {where}"
    missing = [c for c in REPORT_COLUMNS if c not in frame.columns]
    if missing:
        return f"your DataFrame has no column(s) {missing}; it needs {REPORT_COLUMNS} {where}"
    features = [str(f) for f in frame["feature"].tolist()]
    expected = reference_feature_drift(reference, current).set_index("feature")
    if sorted(features) != sorted(expected.index) or len(set(features)) != len(features):
        extra = sorted(set(features) - set(expected.index))
        absent = [f for f in expected.index if f not in features]
        dup = sorted({f for f in features if features.count(f) > 1})
        parts = [f"missing {absent}" if absent else "", f"unexpected {extra}" if extra else "",
                 f"repeated {dup}" if dup else ""]
        return "expected one row per feature; " + "; ".join(p for p in parts if p) + f" {where}"
    rows = frame.set_index(frame["feature"].astype(str))
    for feature, exp in expected.iterrows():
        row = rows.loc[feature]
        test = row["test"]
        if test != exp["test"]:
            n = pd.concat([reference[feature], current[feature]]).nunique()
            dtype = str(reference[feature].dtype)
            return (
                f"feature {feature!r} ({dtype}, {n} distinct values) should be tested with {exp['test']!r}, got "
                f"{test!r}. The rule: a numeric column with more than 5 distinct values (both windows together) gets "
                f"'wasserstein'; any other column 'jensenshannon'. {where}"
            )
        raw = row["statistic"]
        stat = _number(raw.item() if isinstance(raw, np.generic) else raw)
        if stat is None or not _close(stat, float(exp["statistic"]), rtol=1e-3, atol=1e-6):
            cause = ""
            for label, v in _feature_variants(reference[feature], current[feature], exp["test"]).items():
                if stat is not None and _close(stat, v, rtol=1e-3, atol=1e-6):
                    cause = f" Your value {_FEATURE_ADVICE[label]}."
                    break
            return (
                f"feature {feature!r}: expected the {exp['test']} statistic {float(exp['statistic']):.4f}, got "
                f"{_fmt(stat if stat is not None else row['statistic'])}.{cause} {where}"
            )
        flag = row["drifted"]
        flag = flag.item() if isinstance(flag, np.generic) else flag
        if type(flag) is not bool:
            return f"feature {feature!r}: 'drifted' should be True or False, got {flag!r} {where}"
        if flag is not bool(exp["drifted"]):
            return (
                f"feature {feature!r}: statistic {float(exp['statistic']):.4f}, so drifted should be "
                f"{bool(exp['drifted'])}, got {flag}. A feature drifted when its statistic is >= {DRIFT_THRESHOLD} "
                f"(both tests are distances: larger means more different). {where}"
            )
    return None


feature_drift = Exercise(
    id="monitor.feature_drift",
    title="A per-feature drift report",
    points=3,
    answer=Function("feature_drift"),
    tests=[
        holds("fresh windows where a few features drifted", call, _feature_verdict, inputs=_drifted_windows),
        holds("fresh windows from one population (nothing drifted)", call, _feature_verdict,
              inputs=_steady_windows),
        holds("fresh windows where a new country appears", call, _feature_verdict,
              inputs=_new_country_windows),
    ],
    hints=(
        "Loop over `reference.columns`. A column is 'numeric' when `pd.api.types.is_numeric_dtype(...)`; count its "
        "distinct values with `pd.concat([reference[c], current[c]]).nunique()`.",
        "Wasserstein: `wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)`. Jensen-Shannon: put "
        "`ref.value_counts(normalize=True)` and `cur.value_counts(normalize=True)` side by side in one DataFrame "
        "(missing values -> 0) and call `jensenshannon(shares['ref'], shares['cur'])`.",
        "Collect one dict per feature, `{'feature': c, 'test': ..., 'statistic': float(s), 'drifted': s >= 0.1}`, "
        "and return `pd.DataFrame(rows)`.",
    ),
    forbid=("mlcourse.monitor.drift.drift_report", "monitoring.drift_report"),
    on_error={
        "ValueError": "scipy's jensenshannon needs two share vectors of the same length, in the same order of "
        "values: align both windows' value_counts on the union of their values first.",
        "TypeError": "Categorical columns (merchant_category, country, channel) hold strings: test them with "
        "Jensen-Shannon on value shares, not with a numeric distance.",
    },
)


# --------------------------------------------------------------------------
# monitor.should_retrain: a table-driven retraining decision
# --------------------------------------------------------------------------
STATE_FIELDS = ("performance", "baseline_performance", "drift_share", "new_labels", "model_age_days")
POLICY_COLUMNS = ["kind", "metric", "op", "threshold"]
_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}

#: The lesson's policy table.
LESSON_POLICY = [
    ("trigger", "performance_drop", ">=", 0.1),
    ("trigger", "drift_share", ">=", 0.5),
    ("trigger", "model_age_days", ">=", 90),
    ("require", "new_labels", ">=", 1000),
]


def policy_frame(rows: Sequence[tuple]) -> pd.DataFrame:
    """A policy table: one row per rule, ``kind, metric, op, threshold``."""
    frame = pd.DataFrame([list(r) for r in rows], columns=POLICY_COLUMNS)
    frame["threshold"] = frame["threshold"].astype("float64")
    for c in ("kind", "metric", "op"):
        frame[c] = frame[c].astype(str)
    return frame


def _state(performance=None, baseline=0.31, drift=0.0, labels=0, age=7.0) -> dict:
    return {"performance": performance, "baseline_performance": baseline, "drift_share": drift,
            "new_labels": labels, "model_age_days": age}


def _lesson_cases(rng: np.random.Generator) -> list:
    table = policy_frame(LESSON_POLICY)
    states = [
        _state(0.12, 0.31, 0.125, 5600, 21.0),       # a big drop, plenty of labels: retrain
        _state(0.29, 0.31, 0.625, 200, 14.0),        # drift, but too few labels: blocked
        _state(None, 0.31, 0.125, 0, 3.0),           # just deployed: no labels, nothing fires
        _state(0.30, 0.31, 0.0, 3000, 120.0),        # old model, enough labels: retrain
        _state(0.30, 0.31, 0.5, 1000, 30.0),         # drift share exactly 0.5, labels exactly 1000: retrain
        _state(math.nan, 0.31, 0.25, 4000, 28.0),    # a week without fraud: PR-AUC undefined, nothing fires
        _state(0.05, None, 0.0, 2500, 10.0),         # no baseline recorded: the drop is unknown
        _state(0.28, 0.31, 0.125, 999, 95.0),        # old but one label short: blocked
    ]
    return [(s, table) for s in states]


_RULE_CHOICES = {
    "performance_drop": ([0.05, 0.1, 0.15], (">=", ">")),
    "performance": ([0.1, 0.15, 0.2], ("<", "<=")),
    "drift_share": ([0.25, 0.375, 0.5], (">=", ">")),
    "new_labels": ([500, 1000, 2000], (">=", ">")),
    "model_age_days": ([14, 30, 60, 90], (">=", ">")),
}


def _random_rule(rng: np.random.Generator, kind_: str) -> tuple:
    metric = str(rng.choice(list(_RULE_CHOICES)))
    values, ops = _RULE_CHOICES[metric]
    return (kind_, metric, str(rng.choice(ops)), float(rng.choice(values)))


def _random_state(rng: np.random.Generator) -> dict:
    u = rng.random()
    performance = None if u < 0.15 else (math.nan if u < 0.22 else round(float(rng.uniform(0.02, 0.4)), 4))
    baseline = None if rng.random() < 0.06 else round(float(rng.uniform(0.2, 0.4)), 4)
    drift = None if rng.random() < 0.1 else float(rng.integers(0, 9)) / 8
    labels = int(rng.choice([0, 300, 500, 999, 1000, 1500, 2000, 4200]))
    age = float(rng.choice([3, 7, 14, 21, 30, 60, 90, 120]))
    return _state(performance, baseline, drift, labels, age)


def _random_cases(rng: np.random.Generator) -> list:
    cases = []
    for i in range(40):
        n_trig = int(rng.integers(0 if i % 13 == 0 else 1, 4))
        n_req = int(rng.integers(0, 3))
        rows = [_random_rule(rng, "trigger") for _ in range(n_trig)] + [_random_rule(rng, "require") for _ in range(n_req)]
        order = rng.permutation(len(rows))
        cases.append((_random_state(rng), policy_frame([rows[j] for j in order])))
    return cases


def _known(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    v = float(v)
    return None if math.isnan(v) else v


def decide(state: dict, table: pd.DataFrame, *, triggers: str = "any", unknown: str = "fails", drop: str = "right",
           requires: str = "and", ops: str = "right") -> bool:
    """The decision under the lesson's semantics, or under one known misreading of them.

    The right reading (the defaults) equals
    ``RetrainPolicy.from_table(table).decide(MonitoringState(**state)).retrain``.
    """
    def value(metric: str) -> float | None:
        if metric == "performance_drop":
            p, b = value("performance"), value("baseline_performance")
            if p is None or b is None:
                return None
            return (b - p) if drop == "right" else (p - b)
        v = state.get(metric)
        if unknown == "zero" and _known(v) is None:
            return 0.0
        return _known(v)

    def holds_(row: Any) -> bool:
        v = value(row.metric)
        if v is None:
            return unknown == "holds"
        op = ">=" if ops == "all >=" else row.op
        return _OPS[op](v, float(row.threshold))

    rows = list(table.itertuples(index=False))
    trig = [holds_(r) for r in rows if r.kind == "trigger"]
    req = [holds_(r) for r in rows if r.kind == "require"]
    if requires == "or":
        return any(trig + req)
    fired = (all(trig) and bool(trig)) if triggers == "all" else any(trig)
    if requires == "ignored":
        return fired
    return fired and all(req)


def reference_decision(state: dict, table: pd.DataFrame) -> bool:
    """The package's answer: RetrainPolicy.from_table(table).decide(MonitoringState(**state)).retrain."""
    from mlcourse.monitor.retraining import MonitoringState, RetrainPolicy

    fields = {k: state.get(k) for k in STATE_FIELDS}
    fields["new_labels"] = 0 if fields["new_labels"] is None else fields["new_labels"]
    fields["model_age_days"] = 0.0 if fields["model_age_days"] is None else fields["model_age_days"]
    return bool(RetrainPolicy.from_table(table).decide(MonitoringState(**fields)).retrain)


_RETRAIN_VARIANTS = [
    ({"triggers": "all"}, "Your function needs every trigger to fire. Triggers are alternatives (OR): any one of them "
     "is a reason to retrain. Only the requirements must all hold (AND)."),
    ({"requires": "ignored"}, "Your function ignores the 'require' rows. Retrain only when some trigger fires AND "
     "every requirement holds (e.g. enough new labels to learn from)."),
    ({"requires": "or"}, "Your function treats the 'require' rows as more triggers. A requirement is not a reason to "
     "retrain, it is a condition without which retraining is pointless: any trigger AND every requirement."),
    ({"drop": "flipped"}, "Your performance_drop has the wrong sign: it is baseline_performance - performance "
     "(positive when the model got worse)."),
    ({"unknown": "holds"}, "A rule whose value is unknown (None or NaN, e.g. no labels yet) must not count as "
     "holding: an unknown trigger does not fire, and an unknown requirement blocks."),
    ({"unknown": "zero"}, "Unknown values (None or NaN) are not 0: a rule on an unknown value does not hold, so an "
     "unknown trigger does not fire and an unknown requirement blocks."),
    ({"ops": "all >="}, "Your function reads every rule as '>=': use each row's own operator ('>', '>=', '<', '<=')."),
]


def _describe_case(state: dict, table: pd.DataFrame) -> str:
    shown = {k: state.get(k) for k in STATE_FIELDS}
    rules = "; ".join(f"{r.kind} {r.metric} {r.op} {r.threshold:g}" for r in table.itertuples(index=False)) or "no rows"
    return f"state {shown} with the policy [{rules}]"


def _retrain_verdict(got: Any, cases: list) -> str | None:
    values = got
    if not isinstance(values, list) or len(values) != len(cases):
        return "the check could not read your answers"
    expected = [reference_decision(s, t) for s, t in cases]
    for v in values:
        if v is None:
            return "your function returned None: did you forget a `return` statement?"
        if type(v) is not bool:
            return f"expected True or False, got {kind(v)} ({show(v)}): return bool(...)"
    if values == expected:
        return None
    wrong = [i for i, (v, e) in enumerate(zip(values, expected)) if v != e]
    i = wrong[0]
    message = (f"{len(wrong)} of {len(cases)} decisions differ; first: {_describe_case(*cases[i])}: expected "
               f"{expected[i]}, got {values[i]}.")
    for options, say in _RETRAIN_VARIANTS:
        if values == [decide(s, t, **options) for s, t in cases]:
            return f"{message} {say}"
    state, table = cases[i]
    if any(_known(state.get(k)) is None for k in STATE_FIELDS):
        message += (" Note the unknown value(s) here: a rule on None or NaN does not hold (an unknown trigger does "
                    "not fire, an unknown requirement blocks).")
    return message


should_retrain = Exercise(
    id="monitor.should_retrain",
    title="A table-driven retraining decision",
    points=3,
    answer=Function("should_retrain"),
    tests=[
        holds("the lesson's policy on eight states", retrain_probe, _retrain_verdict, inputs=_lesson_cases),
        holds("40 fresh random policies and states", retrain_probe, _retrain_verdict, inputs=_random_cases),
    ],
    hints=(
        "Write a small `value(metric)` first: 'performance_drop' is baseline_performance - performance; any other "
        "metric is `state[metric]`; None or NaN (check with `pd.isna`) means unknown.",
        "A row holds when its value is known and `OPS[row.op](value, row.threshold)` is True, with "
        "`OPS = {'>': operator.gt, '>=': operator.ge, '<': operator.lt, '<=': operator.le}`.",
        "`rows = list(policy_table.itertuples())`; return `any(holds(r) for r in rows if r.kind == 'trigger') and "
        "all(holds(r) for r in rows if r.kind == 'require')`.",
    ),
    forbid=("mlcourse.monitor.retraining.should_retrain", "mlcourse.monitor.retraining.RetrainPolicy", "mlcourse.monitor.retraining.Rule",
            "mlcourse.monitor.retraining.MonitoringState", "retraining.should_retrain", "retraining.RetrainPolicy",
            "retraining.Rule", "retraining.MonitoringState"),
    on_error={
        "KeyError": "The state is a dict with keys performance, baseline_performance, drift_share, new_labels and "
        "model_age_days; 'performance_drop' is not a key: compute it from the first two.",
        "TypeError": "Some values are None (not known yet): check for None (and NaN) before comparing.",
    },
)


# --------------------------------------------------------------------------
# monitor.backtest_policies: two policies, backtested on a fresh stream
# --------------------------------------------------------------------------
CALENDAR_DAYS = 14
CALENDAR_RETRAINS = BACKTEST_WEEKS * 7 // CALENDAR_DAYS
#: Share of the calendar policy's gain over never retraining (PR-AUC after the drift) the alarm must keep.
MIN_RECOVERY = 0.75


def _backtest_seed(rng: np.random.Generator) -> int:
    return int(rng.integers(1, 100_000))


def _policies_verdict(got: Any, seed: int) -> str | None:
    if not isinstance(got, dict):
        return "the check could not read your policies"
    shape = got.get("shape")
    if shape == "not a list":
        return (f"`policies` should be a list of two RetrainPolicy objects, [calendar, alarm], got a "
                f"{got.get('type')}")
    if shape == "wrong":
        types = got.get("types") or []
        return (f"`policies` should hold exactly two RetrainPolicy objects, [calendar, alarm]; it holds "
                f"{len(types)}: {types}")
    summary = _frame(got.get("summary"))
    weekly = _frame(got.get("weekly"))
    tables = [_frame(t) for t in got.get("tables") or []]
    names = got.get("names") or []
    if summary is None or weekly is None or len(tables) != 2 or len(names) != 2:
        return "the check could not read the backtest"
    s = summary.set_index("policy")
    where = f"[a fresh {BACKTEST_WEEKS}-week stream (seed {seed}), concept drift from day {BACKTEST_DRIFT_DAY}]"
    after = "mean_pr_auc_after_drift"
    never_after = float(s.loc[NEVER, after])
    cal_name, alarm_name = names
    cal_table, alarm_table = tables
    cal_retrains, alarm_retrains = int(s.loc[cal_name, "retrains"]), int(s.loc[alarm_name, "retrains"])
    cal_after, alarm_after = float(s.loc[cal_name, after]), float(s.loc[alarm_name, after])

    cal_triggers = cal_table.loc[cal_table["kind"] == "trigger", "metric"].tolist()
    if not cal_triggers or set(cal_triggers) != {"model_age_days"}:
        return (f"the first policy ({cal_name!r}) should retrain on the calendar alone, with one trigger "
                f"model_age_days >= {CALENDAR_DAYS}; its triggers are on {cal_triggers or 'nothing'}. "
                f"RetrainPolicy.scheduled(every_days={CALENDAR_DAYS}) builds it.")
    if cal_retrains != CALENDAR_RETRAINS:
        return (f"your calendar policy {cal_name!r} retrained {cal_retrains} times in {BACKTEST_WEEKS} weeks; every "
                f"{CALENDAR_DAYS} days is {CALENDAR_RETRAINS} times. Use model_age_days >= {CALENDAR_DAYS} and no "
                f"other condition. {where}")
    alarm_triggers = alarm_table.loc[alarm_table["kind"] == "trigger", "metric"].tolist()
    if alarm_triggers and set(alarm_triggers) == {"model_age_days"}:
        return (f"your second policy {alarm_name!r} triggers on model age only: that is another calendar. The alarm "
                "should react to what monitoring sees (a performance drop, drift). " + where)
    seen = weekly[weekly["policy"] == alarm_name]
    if alarm_retrains == 0:
        if alarm_triggers and set(alarm_triggers) <= {"drift_share"}:
            top = float(seen["drift_share"].max())
            return (f"your alarm {alarm_name!r} never retrained: it triggers on drift_share, which stayed at most "
                    f"{top:.2f}. The drift here is a concept drift: the inputs keep their distribution and only the "
                    "link to fraud changes, so input drift never shows it. Trigger on performance_drop, which sees "
                    f"it once the labels arrive. {where}")
        return (f"your alarm {alarm_name!r} never retrained: none of its triggers fired, or a requirement blocked "
                f"them all along ({alarm_table.to_dict('records')}). PR-AUC after the drift: {alarm_after:.3f}, "
                f"the same as never retraining. {where}")
    if alarm_retrains > cal_retrains:
        return (f"your alarm {alarm_name!r} retrained {alarm_retrains} times, more often than the calendar "
                f"({cal_retrains}). Make it fire only on a real problem: a larger performance drop (0.1 PR-AUC is "
                f"well above the week-to-week noise), and require enough new labels to learn from. {where}")
    gain = cal_after - never_after
    need = never_after + MIN_RECOVERY * gain
    if alarm_after < need:
        return (f"your alarm {alarm_name!r} retrained {alarm_retrains} times but recovers too little: mean PR-AUC "
                f"after the drift {alarm_after:.3f}, against {cal_after:.3f} for the calendar and {never_after:.3f} "
                f"for never retraining (needed: at least {need:.3f}, {MIN_RECOVERY:.0%} of the calendar's gain). It "
                f"reacts too late: lower its thresholds (the performance drop, the labels it waits for). {where}")
    return None


backtest_policies = Exercise(
    id="monitor.backtest_policies",
    title="Backtest two retraining policies",
    points=3,
    answer=Value("policies"),
    tests=[holds("your two policies on a fresh drifting stream", probe_policies, _policies_verdict,
                 inputs=_backtest_seed)],
    hints=(
        "The calendar: `RetrainPolicy.scheduled(every_days=14)`. The alarm: `RetrainPolicy.from_table([...], "
        "name='alarm')` with rows (kind, metric, op, threshold).",
        "The drift in this stream is a concept drift, invisible in the inputs: drift_share will not fire. What does "
        "change, once the labels arrive a week later, is the model's performance.",
        "One trigger ('trigger', 'performance_drop', '>=', 0.1) and one requirement ('require', 'new_labels', '>=', "
        "1000) make a cheap alarm; then `policies = [calendar, alarm]`.",
    ),
    on_error={
        "ValueError": "backtest needs policies with different names: pass name='...' to from_table (scheduled() "
        "names itself 'scheduled (14 d)').",
    },
)
