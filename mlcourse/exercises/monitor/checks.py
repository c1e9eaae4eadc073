"""Exercises of lesson 04, Monitor: system metrics, drift, output alerts, retraining triggers.

Seven declarative exercises, in the order the lesson asks them:

* ``monitor.latency_slo``: p50/p95/p99 latency of the successful requests in a
  prediction log, and whether p95 meets the service-level objective (judged
  against the answer's own p95, so any linear-interpolation route passes);
* ``monitor.drifted_features``: name the features that moved in a batch whose
  shifts cancel out in the outline's single global mean;
* ``monitor.psi``: the Population Stability Index by hand, equal to
  :func:`mlcourse.monitor.drift.psi` (evidently's conventions, which the task
  states; other smoothings are named when they differ);
* ``monitor.feature_drift``: a per-feature drift report, one row per feature,
  with the test evidently picks for a reference of more than 1,000 rows;
* ``monitor.output_alerts``: per day, the null-output rate and the score PSI,
  and an alert only on days with enough requests;
* ``monitor.should_retrain``: a retraining decision driven by a policy table;
* ``monitor.backtest_policies``: two retraining policies backtested on a fresh
  drifting stream, judged within bands; an alarm that is a calendar in
  disguise (a label count, an age floor beside a trigger that never fires) is
  refused.

Every function is called on inputs generated at check time (fresh prediction
logs, samples, transaction windows, monitoring states and policy tables), and
every boundary a wrong answer trips on is built into every draw (an SLO equal
to p95, a day of exactly ``min_requests`` requests, a null rate of exactly 2 %,
a feature that a test at 5 % flags by chance, columns with 5 and 6 distinct
values). Known wrong answers are recognised by recomputing them from the same
inputs: errors counted in the latency percentiles, another percentile method, a
forgotten or skipped empty bin, counts instead of shares, an unnormalised
distance, a test on the global mean, AND instead of OR... Where the learner
re-creates something the package provides, the exercise forbids it (see
:mod:`mlcourse.exercises.guard`).

This module is the lesson's answer key; what the grading child runs is in
:mod:`mlcourse.exercises.monitor.probes`.
"""
from __future__ import annotations

import functools
import math
import operator
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlcourse.exercises.compare import Compare, show
from mlcourse.exercises.engine import Exercise, Function, Mistake, Value, holds, returns
from mlcourse.exercises.monitor import probes
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


def _each(verdict: Callable[..., str | None], cases: Sequence[tuple[str, Any]]) -> list:
    """One test per fresh case ``(name, inputs)``: the answer called on the inputs, judged by ``verdict``."""
    return [holds(name, call, verdict, inputs=inputs) for name, inputs in cases]


def _example(verdict: Callable[..., str | None], inputs: Any, reference: Callable[..., Any]) -> Any:
    """The notebook's example: no points, public, judged against ``reference(*inputs)`` (``verdict`` is in probes.py,
    which the graded edition ships)."""
    return holds("the notebook's example", call, verdict, inputs=inputs, expected=lambda a: reference(*a), weight=0,
                 public=True)


def _frame(plain: Any) -> pd.DataFrame | None:
    if isinstance(plain, dict) and plain.get(TAG) == "DataFrame":
        return from_plain(plain)
    return None


def per_input(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Memoise a reference computation on the identity of its arguments (the last few inputs).

    A test's reference is computed from the test's own inputs, never from an
    answer, so every answer checked on the same inputs (in the test suite, many
    answers a seed) can share it. Each entry keeps its arguments alive, so an id
    is never reused while it stands; callers treat the result as read-only.
    """
    cache: OrderedDict = OrderedDict()

    @functools.wraps(fn)
    def wrapper(*args: Any) -> Any:
        key = tuple(id(a) for a in args)
        hit = cache.get(key)
        if hit is not None and all(x is y for x, y in zip(hit[0], args)):
            cache.move_to_end(key)
            return hit[1]
        value = fn(*args)
        cache[key] = (args, value)
        while len(cache) > 16:
            cache.popitem(last=False)
        return value

    return wrapper


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


_LATENCY_KEYS = ("p50_ms", "p95_ms", "p99_ms")


def _latency_got(got: Any) -> dict | None:
    if isinstance(got, dict) and TAG not in got:
        values = {k: _number(got.get(k)) for k in _LATENCY_KEYS}
        if all(v is not None for v in values.values()):
            return values
    return None


def _p_match(got: dict, values: Sequence[float]) -> bool:
    return all(_close(got[k], float(v), rtol=1e-9) for k, v in zip(_LATENCY_KEYS, values))


def _other_method(ok: np.ndarray, got: dict) -> str | None:
    for method in _OTHER_METHODS:
        if _p_match(got, np.percentile(ok, PERCENTILES, method=method)):
            return method
    return None


def _percentile_problem(got: dict, log: pd.DataFrame, exp: dict) -> str:
    """What is wrong with percentiles that differ from the reference: the known mistake, or the first difference."""
    ok = _ok_latency(log)
    if _p_match(got, np.percentile(log["latency_ms"].to_numpy(dtype=float), PERCENTILES)):
        return ("these are the percentiles of every request, failed ones included. A rejected request is answered in "
                "a few milliseconds and drags the percentiles down, so the service looks faster than it is for the "
                "requests it serves: keep the rows with status == 'ok' (errors are measured by the error rate, and "
                "their latency on its own)")
    if _p_match(got, np.percentile(ok, [p / 100 for p in PERCENTILES])):
        return ("np.percentile takes percents (50, 95, 99); you gave it fractions, so you got the 0.5th, 0.95th and "
                "0.99th percentiles, almost the fastest requests. (np.quantile and pandas' .quantile take fractions: "
                "0.5, 0.95, 0.99.)")
    method = _other_method(ok, got)
    if method is not None:
        return (f"your percentiles are numpy's method={method!r}, which picks an observed value or interpolates "
                "differently. The task asks for linear interpolation between the two closest ranks, numpy's default: "
                "np.percentile(values, [50, 95, 99]) (pandas' .quantile() and statistics.quantiles(..., "
                "method='inclusive') give the same), as service_metrics does")
    wrong = [k for k in _LATENCY_KEYS if not _close(got[k], exp[k], rtol=1e-9)]
    first = wrong[0]
    return (f"{len(wrong)} of the 3 percentiles differ; first: {first} expected {exp[first]:.4f}, got "
            f"{_fmt(got[first])}. Use the successful requests only and linear interpolation")


def _latency_verdict(got: Any, a: tuple) -> str | None:
    log, slo = a
    where = _latency_describe(a)
    if got is None:
        return f"your function returned None: did you forget a `return` statement? {where}"
    if not (isinstance(got, dict) and TAG not in got):
        return f"expected a dict with the keys p50_ms, p95_ms, p99_ms and slo_met, got {kind(got)} ({show(got)}) {where}"
    missing = [k for k in (*_LATENCY_KEYS, "slo_met") if k not in got]
    if missing:
        return f"your dict has no key(s) {missing}; it needs p50_ms, p95_ms, p99_ms and slo_met {where}"
    values = _latency_got(got)
    if values is None:
        bad = next(k for k in _LATENCY_KEYS if _number(got.get(k)) is None)
        return f"{bad} should be a number (a float), got {kind(got[bad])} ({show(got[bad])}) {where}"
    exp = reference_latency(log, slo)
    if not _p_match(values, [exp[k] for k in _LATENCY_KEYS]):
        return f"{_percentile_problem(values, log, exp)} {where}"
    met = got["slo_met"]
    if type(met) is not bool:
        return f"slo_met should be True or False, got {kind(met)} ({show(met)}): return bool(p95 <= slo_ms) {where}"
    # Judged against the answer's own p95: a p95 one rounding step away from numpy's is still right.
    own = bool(values["p95_ms"] <= slo)
    if met == own:
        return None
    if values["p95_ms"] == slo and not met:
        return (f"here p95 equals the SLO exactly ({slo:g} ms), and an objective 'p95 within {slo:g} ms' is met at "
                f"{slo:g} ms: use p95 <= slo_ms, not < {where}")
    return (f"the percentiles are right but slo_met is {met}, while your p95 ({values['p95_ms']:.4g} ms) is "
            f"{'within' if own else 'over'} slo_ms={slo:g}: the objective is on p95, so slo_met = p95 <= slo_ms "
            f"(not p99, the mean or the maximum) {where}")


def _latency_describe(a: tuple) -> str:
    log, slo = a
    n_err = int((log["status"] != "ok").sum())
    return f"[a log of {len(log)} requests ({n_err} failed), slo_ms={slo:g}]"


def _latency_test(name: str, inputs: Any, public: bool = False) -> Any:
    return holds(name, call, _latency_verdict, inputs=inputs, public=public)


latency_slo = Exercise(
    id="monitor.latency_slo",
    title="Latency percentiles and an SLO check",
    points=2,
    answer=Function("latency_slo"),
    tests=[
        _latency_test("a fresh log with fast-failing errors", _slo_between),
        _latency_test("a fresh log that meets its SLO", _slo_met),
        _latency_test("a fresh log whose p95 equals the SLO", _slo_boundary),
        _example(probes.latency_example_verdict, _slo_between, reference_latency),
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


@functools.lru_cache(maxsize=64)
def _ks_critical(n_ref: int, n_cur: int, alpha: float) -> float:
    """The KS distance whose asymptotic two-sample p-value (scipy's ``method="asymp"``) is ``alpha``."""
    from scipy.stats import kstwo

    m, n = sorted([float(n_ref), float(n_cur)], reverse=True)
    return float(kstwo.isf(alpha, np.round(m * n / (m + n))))


def _ks_distance(ref: np.ndarray, cur: np.ndarray) -> float:
    """The two-sample KS distance, as scipy's ks_2samp computes it."""
    ref, cur = np.sort(ref), np.sort(cur)
    both = np.concatenate([ref, cur])
    gaps = np.searchsorted(ref, both, side="right") / len(ref) - np.searchsorted(cur, both, side="right") / len(cur)
    return float(max(gaps.max(), -gaps.min()))


def _close_enough(ref: pd.Series, cur: np.ndarray) -> bool:
    """No sound per-feature method calls this pair drifted: the normed Wasserstein
    distance is well under 0.1 and KS's p-value is over 0.01 (above a Bonferroni cut-off for twenty tests)."""
    from scipy.stats import ks_2samp

    from mlcourse.monitor.drift import wasserstein

    if wasserstein(ref, cur).statistic >= 0.08:
        return False
    # The p-value falls as the distance grows: a distance well below the one at p = 0.01 decides without scipy's
    # test (a thousand times slower); near it, scipy's p-value decides.
    if _ks_distance(ref.to_numpy(), cur) < 0.8 * _ks_critical(len(ref), len(cur), 0.01):
        return True
    return ks_2samp(ref, cur, method="asymp").pvalue > 0.01


def _steady(rng: np.random.Generator, reference: pd.DataFrame, mu: np.ndarray, sigma: np.ndarray,
            n: int) -> pd.DataFrame:
    """A current batch from the reference's distribution whose features are all close to it.

    Sampling noise alone puts a feature near a method's cut-off now and then;
    such a column is redrawn, so that every sound per-feature method (a
    distance, or a p-value corrected for twenty tests) agrees on what moved.
    """
    columns = {}
    for i, c in enumerate(OUTLINE_COLUMNS):
        for _ in range(50):
            values = rng.normal(mu[i], sigma[i], n).round(5)
            if _close_enough(reference[c], values):
                break
        columns[c] = values
    return pd.DataFrame(columns)


def _by_chance(rng: np.random.Generator, reference: pd.Series, mu: float, sigma: float, n: int) -> np.ndarray:
    """A sample from the reference's own distribution that a KS test at p <= 0.05 calls drifted.

    Drawn again until its p-value lands between 0.005 and 0.04 (and its normed
    distance stays small): with twenty features, one such feature turns up in
    most batches where nothing changed. A distance, or KS with the cut-off
    divided by the number of features (Bonferroni, 0.0025), lets it be.
    """
    from scipy.stats import ks_2samp

    from mlcourse.monitor.drift import wasserstein

    values = rng.normal(mu, sigma, n).round(5)
    for _ in range(2_000 // _CANDIDATES):
        block = rng.normal(mu, sigma, (_CANDIDATES, n)).round(5)
        # A vectorised screen first (one in ten candidates or so gets through), then scipy's
        # asymptotic p-value, then the default (exact) one, a learner's, decides.
        screen = _ks_screen(reference.to_numpy(), block)
        low, high = _ks_critical(len(reference), n, 0.05), _ks_critical(len(reference), n, 0.003)
        for values in block[(screen >= 0.001) & (screen <= 0.08)]:
            d = _ks_distance(reference.to_numpy(), values)
            if d < 0.97 * low or d > 1.03 * high:  # clearly outside 0.003 <= p <= 0.05: no need to ask scipy
                continue
            if not 0.003 <= ks_2samp(reference, values, method="asymp").pvalue <= 0.05:
                continue
            if 0.005 <= ks_2samp(reference, values).pvalue <= 0.04 and wasserstein(reference, values).statistic < 0.08:
                return values
    return values


#: Samples drawn at once by :func:`_by_chance`.
_CANDIDATES = 64


def _ks_screen(reference: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """An approximate two-sample KS p-value of each row of ``samples`` against ``reference`` (ties aside).

    The largest gap between the two empirical CDFs lies at one of the
    sample's points, just at it or just before it; the p-value is the
    asymptotic Kolmogorov one. Only a screen: the exact test decides.
    """
    from scipy.special import kolmogorov

    m, n = len(reference), samples.shape[1]
    at = np.searchsorted(np.sort(reference), np.sort(samples, axis=1), side="right") / m
    i = np.arange(n)
    d = np.maximum(((i + 1) / n - at).max(axis=1), (at - i / n).max(axis=1))
    return kolmogorov(np.sqrt(m * n / (m + n)) * d)


def _cancelling_batch(rng: np.random.Generator) -> tuple:
    """Two pairs of features move in opposite directions by the same amount, one spreads out:
    the mean over every value of every feature stays put. One unchanged feature looks moved to a 5 % test."""
    reference, mu, sigma = _outline_like(rng, 1_500)
    current = _steady(rng, reference, mu, sigma, int(rng.integers(1_200, 1_500)))
    picked = rng.choice(len(OUTLINE_COLUMNS), size=6, replace=False)
    _add_by_chance(rng, reference, current, mu, sigma, int(picked[5]))
    for up, down in (picked[:2], picked[2:4]):
        step = float(rng.uniform(0.5, 0.9)) * max(sigma[up], sigma[down])
        current.iloc[:, up] += step
        current.iloc[:, down] -= step
    current = current.round(5)
    wide = picked[4]
    col = current.iloc[:, wide]
    # Wider around its own mean, then moved onto the reference's mean: no test of means can see it.
    current.iloc[:, wide] = reference.iloc[:, wide].mean() + (col - col.mean()) * float(rng.uniform(1.7, 2.2))
    return reference, current.round(5)


def _add_by_chance(rng: np.random.Generator, reference: pd.DataFrame, current: pd.DataFrame, mu: np.ndarray,
                   sigma: np.ndarray, k: int) -> None:
    """Redraw unchanged feature ``k`` of ``current`` as one a test at p <= 0.05 calls drifted (see _by_chance)."""
    column = OUTLINE_COLUMNS[k]
    current[column] = _by_chance(rng, reference[column], mu[k], sigma[k], len(current))


def _quiet_batch(rng: np.random.Generator) -> tuple:
    """Nothing moved; one feature happens to look different to a test at p <= 0.05."""
    reference, mu, sigma = _outline_like(rng, 1_500)
    current = _steady(rng, reference, mu, sigma, 1_200)
    _add_by_chance(rng, reference, current, mu, sigma, int(rng.integers(0, len(OUTLINE_COLUMNS))))
    return reference, current


def _one_big_shift(rng: np.random.Generator) -> tuple:
    """One feature jumps by a lot: now the global mean does move (and blames nobody).
    One unchanged feature looks moved to a 5 % test."""
    reference, mu, sigma = _outline_like(rng, 1_500)
    current = _steady(rng, reference, mu, sigma, 1_200)
    k, chance = (int(i) for i in rng.choice(len(OUTLINE_COLUMNS), size=2, replace=False))
    _add_by_chance(rng, reference, current, mu, sigma, chance)
    current.iloc[:, k] += float(rng.choice([-1, 1])) * float(rng.uniform(2.5, 3.5))
    return reference, current.round(5)


@per_input
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
        *_each(_drifted_verdict, [
            ("a fresh batch whose shifts cancel out", _cancelling_batch),
            ("a fresh batch where nothing moved", _quiet_batch),
            ("a fresh batch where one feature jumped", _one_big_shift),
        ]),
        _example(probes.drifted_example_verdict, _cancelling_batch, reference_drifted),
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
    """PSI computed with one known mistake (or another smoothing), to recognise it in an answer.

    ``edges``: "both" (right), "reference" (edges from the reference only) or
    "separate" (each sample binned on its own range); ``unit``: "share"
    (right), "counts" or "percent"; ``floor``: "evidently" (right), "none",
    "skip" (empty bins left out of the sum), "constant" (every empty bin
    1e-4), "epsilon" (1e-6 added to every share), "laplace" (1 added to every
    count) or "half" (0.5 added to every count); ``sign`` -1 for
    (cur - ref) * ln(ref / cur).
    """
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    if edges == "separate":
        rc, cc = np.histogram(ref, bins)[0], np.histogram(cur, bins)[0]
    else:
        e = np.histogram_bin_edges(np.concatenate([ref, cur]) if edges == "both" else ref, bins)
        rc, cc = np.histogram(ref, e)[0], np.histogram(cur, e)[0]
    if floor in ("laplace", "half"):
        extra = 1.0 if floor == "laplace" else 0.5
        rc, cc = rc + extra, cc + extra
    if unit == "counts":
        a, b = rc.astype(float), cc.astype(float)
    else:
        a, b = rc / rc.sum(), cc / cc.sum()
        if floor not in ("laplace", "half"):  # the shares of the samples' own sizes
            a, b = rc / ref.size, cc / cur.size
        if unit == "percent":
            a, b = 100 * a, 100 * b

    def fill(p: np.ndarray) -> np.ndarray:
        if floor in ("none", "skip", "laplace", "half"):
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
        terms = sign * (a - b) * np.log(a / b)
    if floor == "skip":
        terms = terms[(a > 0) & (b > 0)]
    return float(np.sum(terms))


def _empty_bins(ref: np.ndarray, cur: np.ndarray, bins: int) -> int:
    e = np.histogram_bin_edges(np.concatenate([ref, cur]), bins)
    return int((np.histogram(ref, e)[0] == 0).sum() + (np.histogram(cur, e)[0] == 0).sum())


def _on_an_edge(ref: np.ndarray, cur: np.ndarray, bins: int) -> bool:
    """Whether a value sits on an inner bin edge, where binning conventions part ways
    (np.histogram's bins are closed on the left, pd.cut's on the right)."""
    inner = np.histogram_bin_edges(np.concatenate([ref, cur]), bins)[1:-1]
    values = np.concatenate([ref, cur])
    gap = np.abs(values[:, None] - inner[None, :]).min() if inner.size else np.inf
    return bool(gap <= 1e-9 * max(1.0, float(np.abs(values).max())))


def _fresh(rng: np.random.Generator, draw: Any, *, empty: bool | None = None) -> tuple:
    """``draw(rng)`` again until no value sits on an inner bin edge and, unless ``empty`` is None,
    until some bin is empty (``empty=True``) or none is (``empty=False``): where the floor never acts,
    every smoothing that only touches empty bins gives the same PSI."""
    for _ in range(200):
        ref, cur, bins = draw(rng)
        if _on_an_edge(ref, cur, bins):
            continue
        if empty is None or bool(_empty_bins(ref, cur, bins)) is empty:
            break
    return ref, cur, bins


def _psi_like_lesson(rng: np.random.Generator) -> tuple:
    """Fresh samples shaped like the lesson's (N(0, 1) against a wider, shifted sample), 10 bins."""
    def draw(r: np.random.Generator) -> tuple:
        return r.normal(0, 1, 1_000), r.normal(float(r.uniform(0.2, 0.4)), float(r.uniform(1.1, 1.3)), 800), 10
    return _fresh(rng, draw, empty=False)


def _psi_fresh(rng: np.random.Generator) -> tuple:
    """A moderate shift, other sizes and bin counts, and no empty bin."""
    def draw(r: np.random.Generator) -> tuple:
        ref = r.normal(float(r.uniform(-2, 2)), float(r.uniform(0.5, 3)), int(r.integers(600, 2_000)))
        cur = r.normal(ref.mean() + float(r.uniform(0.1, 0.6)) * ref.std(), ref.std() * float(r.uniform(0.8, 1.3)),
                       int(r.integers(300, 1_500)))
        return ref, cur, int(r.integers(6, 12))
    return _fresh(rng, draw, empty=False)


def _psi_apart(rng: np.random.Generator) -> tuple:
    """Samples far apart: bins empty in one sample or the other (the floor matters)."""
    def draw(r: np.random.Generator) -> tuple:
        ref = r.normal(0, 1, int(r.integers(500, 1_500)))
        cur = r.normal(float(r.uniform(2.5, 4.0)), 1, int(r.integers(300, 1_000)))
        return ref, cur, int(r.integers(8, 16))
    return _fresh(rng, draw, empty=True)


def _psi_large(rng: np.random.Generator) -> tuple:
    """20,000 rows each: a bin with a share <= 1e-4 next to empty ones (the floor's other branch)."""
    def draw(r: np.random.Generator) -> tuple:
        ref = r.normal(0, 1, 20_000)
        cur = r.normal(float(r.uniform(0.6, 1.0)), 1, 20_000)
        ref[0] = cur.max() + 2.0  # one reference value far out: a tiny share (1/20,000) beyond empty bins
        return ref, cur, int(r.integers(24, 40))
    return _fresh(rng, draw, empty=True)


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


def _empty_here(a: tuple) -> str:
    n = _empty_bins(*a)
    return f"{n} bin{'' if n == 1 else 's'} {'is' if n == 1 else 'are'} empty in one sample here"


def _other_smoothing(name: str):
    def say(got: Any, a: tuple, exp: Any) -> str:
        return (f"Your PSI uses {name}. That is a principled way to smooth a histogram, but not this exercise's "
                f"convention, and {_empty_here(a)}, so the value differs: the task asks for evidently's floor "
                "(replace only a histogram's empty shares, by its smallest non-zero share / 1e6 when that share is "
                "<= 1e-4, else by 1e-4), as monitoring.psi does, so that your number reads the same as the package's "
                "and evidently's.")
    return say


_PSI_MISTAKES = [
    Mistake(_an_object, "Return the PSI itself, a float, not an object that holds it."),
    Mistake(
        _not_finite,
        "Your PSI is infinite or NaN: a bin that is empty in one sample makes ln(ref% / cur%) blow up. Floor the "
        "empty bins first, separately for each histogram: a zero share becomes (smallest non-zero share) / 1e6 when "
        "that smallest share is <= 1e-4, else 1e-4.",
    ),
    Mistake(
        _variant_is(floor="skip"),
        lambda got, a, exp: (
            f"You left the empty bins out of the sum, and {_empty_here(a)}. A bin where one sample has values and "
            "the other has none is the strongest sign of drift, not something to skip: floor each histogram's empty "
            "shares instead ((smallest non-zero share) / 1e6 when that share is <= 1e-4, else 1e-4) and keep every "
            "bin in the sum."),
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
        _variant_is(floor="epsilon"),
        "You added a small number (epsilon) to every bin. That changes every term a little, the full bins too, and "
        "the empty bins by an amount that depends on your epsilon: replace only the empty shares, with (smallest "
        "non-zero share) / 1e6 when that share is <= 1e-4, else 1e-4, each histogram on its own.",
    ),
    Mistake(_variant_is(floor="constant"), _other_smoothing("a constant floor (1e-4) for every empty bin")),
    Mistake(_variant_is(floor="laplace"), _other_smoothing("Laplace smoothing (1 added to every count)")),
    Mistake(_variant_is(floor="half"), _other_smoothing("0.5 added to every count")),
]


def _psi_describe(a: tuple) -> str:
    ref, cur, bins = a
    return f"[reference of {len(ref)} values, current of {len(cur)} values, bins={bins}]"


def _psi_test(name: str, inputs: Any, public: bool = False) -> Any:
    return returns(name, inputs, reference_psi, compare=Compare(rtol=1e-6, atol=1e-9), mistakes=_PSI_MISTAKES,
                   describe=_psi_describe, public=public)


psi = Exercise(
    id="monitor.psi",
    title="PSI by hand, equal to the reference",
    points=3,
    answer=Function("psi"),
    tests=[
        _psi_test("fresh samples like the lesson's (no empty bin)", _psi_like_lesson, public=True),
        _psi_test("fresh samples with a moderate shift (no empty bin)", _psi_fresh),
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
    """Three days of one population, shuffled and split 2:1: nothing drifted.

    Two numeric columns sit on the rule's boundary, whatever the draw:
    ``items`` takes exactly 5 distinct values (so Jensen-Shannon) and
    ``risk_band`` exactly 6 (so Wasserstein).
    """
    from mlcourse.data.generate import production_stream

    days = production_stream(3, 1_200, int(rng.integers(1_000, 1_000_000)))
    pool = pd.concat([d.features for d in days], ignore_index=True)[WATCHED]
    for column, values in (("items", 5), ("risk_band", 6)):
        drawn = rng.integers(0, values, len(pool)) + (1 if column == "items" else 0)
        drawn[:values] = np.arange(values) + (1 if column == "items" else 0)  # every value present
        pool[column] = drawn.astype("int64")
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


@per_input
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
            variants = _feature_variants(reference[feature], current[feature], exp["test"]).items()
            near = [(abs(stat - v), label) for label, v in variants
                    if stat is not None and _close(stat, v, rtol=1e-3, atol=1e-6)]
            if near:  # two mistakes can land close together: name the closest
                cause = f" Your value {_FEATURE_ADVICE[min(near)[1]]}."
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
        *_each(_feature_verdict, [
            ("fresh windows where a few features drifted", _drifted_windows),
            ("fresh windows from one population (nothing drifted)", _steady_windows),
            ("fresh windows where a new country appears", _new_country_windows),
        ]),
        _example(probes.feature_drift_example_verdict, _drifted_windows, reference_feature_drift),
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
# monitor.output_alerts: daily null outputs and score drift, guarded by a minimum of requests
# --------------------------------------------------------------------------
ALERT_COLUMNS = ["day", "requests", "null_rate", "score_psi", "alert"]
#: The lesson's thresholds (the notebook defines them as NULL_RATE_MAX and SCORE_PSI_MAX).
NULL_RATE_MAX = 0.02
SCORE_PSI_MAX = 0.25
_DAY = 86_400.0


def _reference_scores(rng: np.random.Generator) -> np.ndarray:
    return rng.beta(1.0, 30.0, 3_000).round(6)


def _score_psi(reference: np.ndarray, scores: np.ndarray) -> float:
    from mlcourse.monitor.drift import psi

    return float(psi(reference, scores).statistic) if len(scores) else math.nan


def _scores(rng: np.random.Generator, reference: np.ndarray, n: int, psi_range: tuple[float, float],
            shift: float = 0.0) -> np.ndarray:
    """``n`` scores whose PSI against ``reference`` falls in ``psi_range``, redrawn until it does.

    ``shift`` is the share of scores drawn from a shifted distribution (Beta(2.2, 25)); the rest
    follow the reference's Beta(1, 30).
    """
    scores = np.empty(0)
    for _ in range(500):
        shifted = rng.random(n) < shift
        scores = np.where(shifted, rng.beta(2.2, 25.0, n), rng.beta(1.0, 30.0, n)).round(6)
        if psi_range[0] <= _score_psi(reference, scores) < psi_range[1]:
            break
    return scores


def _day_log(rng: np.random.Generator, start: float, *, scores: np.ndarray, errors: int, nulls: int) -> pd.DataFrame:
    """One day of a prediction log: ``len(scores) + nulls`` successful requests (``nulls`` of them without a
    score) and ``errors`` failed ones, at random times of the day starting at ``start``."""
    n_ok = len(scores) + nulls
    n = n_ok + errors
    score = np.concatenate([scores, np.full(nulls, np.nan), np.full(errors, np.nan)])
    status = np.array(["ok"] * n_ok + ["error"] * errors, dtype=object)
    order = rng.permutation(n)
    ts = np.sort(start + rng.uniform(60, _DAY - 60, n)).round(3)
    score, status = score[order], status[order]
    latency = np.where(status == "ok", 8 * np.exp(0.4 * rng.standard_normal(n)), rng.uniform(0.5, 3, n)).round(3)
    return pd.DataFrame({"ts": ts, "score": score, "status": status, "latency_ms": latency})


def _week_log(rng: np.random.Generator, days: list[dict]) -> pd.DataFrame:
    """A log of consecutive days (a day spec of None is a day without any request), in the serving schema."""
    start = 1_775_001_600.0 + _DAY * int(rng.integers(0, 300))
    parts = [_day_log(rng, start + i * _DAY, **spec) for i, spec in enumerate(days) if spec is not None]
    log = pd.concat(parts, ignore_index=True)
    n = len(log)
    log["prediction"] = np.where(log["score"].isna(), np.nan, (log["score"] >= 0.5).astype(float))
    log["request_id"] = [f"q{int(start) % 100_000:05d}-{i:05d}" for i in range(n)]
    log["model_version"] = "fraud-detector:v2"
    log["error"] = [("model raised an exception" if st == "error" else None) for st in log["status"]]
    log["time"] = pd.to_datetime(log["ts"], unit="s", utc=True)
    return log[["ts", "time", "request_id", "model_version", "prediction", "score", "latency_ms", "status", "error"]]


def _normal_day(rng: np.random.Generator, reference: np.ndarray, n: int | None = None, errors: int | None = None,
                nulls: int = 0) -> dict:
    n = int(rng.integers(250, 600)) if n is None else n
    errors = int(rng.integers(1, 6)) if errors is None else errors
    return {"scores": _scores(rng, reference, n - errors - nulls, (0.0, 0.1)), "errors": errors, "nulls": nulls}


def _null_bug_week(rng: np.random.Generator) -> tuple:
    """A release that answers some requests with nothing, a day at exactly 2 % nulls (no alert: the rule
    is 'above 0.02', and the day's errors must not count), a tiny day and a day of exactly ``min_requests``."""
    reference = _reference_scores(rng)
    min_requests = int(rng.choice([100, 150, 200]))
    m = int(rng.integers(6, 11))  # 50 m successful requests, m of them null: exactly 2 %
    exact = {"scores": _scores(rng, reference, 49 * m, (0.0, 0.1)), "errors": int(rng.integers(3, 8)), "nulls": m}
    tiny_n = int(rng.integers(12, 40))
    tiny = {"scores": _scores(rng, reference, tiny_n - 2, (0.0, math.inf)), "errors": 0, "nulls": 2}
    first_ok = min_requests - 1  # one error, the rest successful
    first_nulls = max(4, round(0.06 * first_ok))
    release = [
        {"scores": _scores(rng, reference, first_ok - first_nulls, (0.0, 0.1)), "errors": 1, "nulls": first_nulls},
    ]
    for _ in range(2):
        n_ok = int(rng.integers(250, 600))
        nulls = int(round(float(rng.uniform(0.03, 0.09)) * n_ok))
        release.append({"scores": _scores(rng, reference, n_ok - nulls, (0.0, 0.1)), "errors": int(rng.integers(1, 5)),
                        "nulls": nulls})
    days = [_normal_day(rng, reference), _normal_day(rng, reference), exact, tiny, _normal_day(rng, reference),
            *release]
    return _week_log(rng, days), reference, min_requests


def _score_shift_week(rng: np.random.Generator) -> tuple:
    """Scores that move: a day with a moderate PSI (between 0.1 and 0.25: no alert), a tiny day with a
    large PSI (no alert: too few requests), a day of exactly ``min_requests`` and a large day that both shifted."""
    reference = _reference_scores(rng)
    min_requests = int(rng.choice([100, 150, 200]))
    moderate_n = int(rng.integers(400, 600))
    moderate = {"scores": _scores(rng, reference, moderate_n, (0.13, 0.2), shift=0.2), "errors": 2, "nulls": 0}
    tiny = {"scores": _scores(rng, reference, int(rng.integers(15, 40)), (0.4, math.inf), shift=0.8), "errors": 0,
            "nulls": 0}
    boundary = {"scores": _scores(rng, reference, min_requests, (0.35, math.inf), shift=0.7), "errors": 0, "nulls": 0}
    big_n = int(rng.integers(300, 600))
    big = {"scores": _scores(rng, reference, big_n, (0.35, math.inf), shift=0.7), "errors": 3, "nulls": 0}
    days = [_normal_day(rng, reference), moderate, tiny, _normal_day(rng, reference), boundary, big,
            _normal_day(rng, reference)]
    return _week_log(rng, days), reference, min_requests


def _silent_week(rng: np.random.Generator) -> tuple:
    """A day without any request, a tiny day, and a release whose every successful answer is empty
    (null rate 1, no score at all: score_psi is NaN, and the null rule still fires)."""
    reference = _reference_scores(rng)
    min_requests = int(rng.choice([100, 150, 200]))
    silent_ok = int(rng.integers(250, 500))
    silent = {"scores": np.empty(0), "errors": int(rng.integers(1, 4)), "nulls": silent_ok}
    tiny = {"scores": _scores(rng, reference, int(rng.integers(3, 9)), (0.0, math.inf)), "errors": 0, "nulls": 1}
    days = [_normal_day(rng, reference), tiny, None, _normal_day(rng, reference), silent, _normal_day(rng, reference)]
    return _week_log(rng, days), reference, min_requests


@per_input
def reference_output_alerts(log: pd.DataFrame, reference_scores: Any, min_requests: int) -> pd.DataFrame:
    """The package's daily view (:func:`mlcourse.monitor.service.prediction_metrics` and
    :func:`~mlcourse.monitor.service.service_metrics`), the guard and the two rules."""
    from mlcourse.monitor.service import prediction_metrics, service_metrics

    answers = prediction_metrics(log, "1D", reference_scores=np.asarray(reference_scores, dtype=float))
    requests = service_metrics(log, "1D")["requests"]
    table = pd.DataFrame({"requests": requests, "null_rate": answers["null_rate"], "score_psi": answers["score_psi"]})
    table = table[table["requests"] > 0]
    fires = (table["null_rate"] > NULL_RATE_MAX) | (table["score_psi"] >= SCORE_PSI_MAX)
    table["alert"] = (table["requests"] >= min_requests) & fires
    table.insert(0, "day", [t.strftime("%Y-%m-%d") for t in table.index])
    return table.reset_index(drop=True).astype({"requests": "int64", "alert": bool})


def _day_key(value: Any) -> str | None:
    """A day as 'YYYY-MM-DD' from what an answer may use: a date, a Timestamp, a string, a Period."""
    if isinstance(value, dict) and value.get(TAG) == "datetime" and isinstance(value.get("value"), str):
        value = value["value"]
    elif isinstance(value, dict) and value.get(TAG) == "object" and isinstance(value.get("repr"), str):
        value = value["repr"]
    if isinstance(value, str):
        found = re.search(r"\d{4}-\d{2}-\d{2}", value)
        return found.group(0) if found else None
    return None


def _alerts_rows(got: Any) -> tuple[list[tuple[str, dict]] | None, str | None]:
    """The answer's rows as ('YYYY-MM-DD', {column: plain value}) pairs, or what is wrong with its form."""
    if isinstance(got, dict) and got.get(TAG) == "DataFrame":
        plain = got
    else:
        return None, f"expected a DataFrame with the columns {ALERT_COLUMNS}, got {kind(got)} ({show(got)})"
    columns = [str(c) for c in plain.get("columns", [])]
    data = dict(zip(columns, plain.get("data", [])))
    if "day" not in data:  # the day may be the index (a groupby or a resample)
        data["day"] = list(plain.get("index", []))
    missing = [c for c in ALERT_COLUMNS if c not in data]
    if missing:
        return None, f"your DataFrame has no column(s) {missing}; it needs {ALERT_COLUMNS} (the day may be the index)"
    days = [_day_key(v) for v in data["day"]]
    if any(d is None for d in days):
        bad = next(v for v, d in zip(data["day"], days) if d is None)
        return None, (f"the 'day' column should hold dates (a date, a Timestamp or 'YYYY-MM-DD'), but it holds "
                      f"{show(bad)}")
    rows = [(d, {c: data[c][i] for c in ALERT_COLUMNS[1:]}) for i, d in enumerate(days)]
    return rows, None


def _rate(plain: Any) -> float | None:
    """A frame cell as a float: a missing value (NaN travels as None) is NaN; anything else not a number is None."""
    return math.nan if plain is None else _number(plain)


def _rate_variants(part: pd.DataFrame) -> dict[str, float]:
    """Null rates a typical wrong answer computes for one day."""
    ok = part["status"] == "ok"
    null = part["score"].isna()
    n, n_ok = len(part), int(ok.sum())
    return {
        "counts errors": float(null.sum() / n),
        "over all requests": float((ok & null).sum() / n),
        "errors over successful": float(null.sum() / n_ok) if n_ok else math.nan,
    }


_RATE_ADVICE = {
    "counts errors": "counts the failed requests as null outputs and divides by every request. A failed request is "
    "counted by the error rate; null_rate is about the successful ones: (successful requests without a score) / "
    "(successful requests)",
    "over all requests": "divides by every request, failed ones included: divide by the successful requests (status "
    "'ok') only",
    "errors over successful": "counts the failed requests as null outputs: a null output is a successful request "
    "(status 'ok') whose score is missing",
}


def _alerts_verdict(got: Any, a: tuple) -> str | None:
    log, reference, min_requests = a
    where = (f"[{log['time'].dt.normalize().nunique()} days of log ({len(log)} requests), "
             f"min_requests={min_requests}]")
    if got is None:
        return f"your function returned None: did you forget a `return` statement? {where}"
    listed, problem = _alerts_rows(got)
    if problem or listed is None:
        return f"{problem} {where}"
    expected = reference_output_alerts(log, reference, min_requests).set_index("day")
    days = [d for d, _ in listed]
    if len(set(days)) != len(days):
        twice = sorted({d for d in days if days.count(d) > 1})
        return f"your table has {len(twice)} day(s) more than once (first: {twice[0]}): one row per day {where}"
    rows = dict(listed)
    extra = [d for d in days if d not in expected.index]
    for d in extra:  # a day without requests may be listed (a resample does), with no alert
        r = rows[d]
        if _number(r["requests"]) != 0 or r["alert"] is True:
            return (f"{d} is not a day of this log; list the days with requests (a day without any may be kept with "
                    f"requests 0 and no alert) {where}")
    missing = [d for d in expected.index if d not in rows]
    if missing:
        small = [d for d in missing if expected.loc[d, "requests"] < min_requests]
        if len(small) == len(missing):
            return (f"your table leaves out {len(missing)} day(s) with fewer than min_requests requests (first: "
                    f"{missing[0]}, {int(expected.loc[missing[0], 'requests'])} requests). Keep every day: the guard "
                    "decides whether a day may alert, it does not hide the day from the dashboard (alert=False) "
                    f"{where}")
        return f"your table has no row for {len(missing)} day(s) of the log (first: {missing[0]}) {where}"
    def part(day: str) -> pd.DataFrame:  # the day's rows, only to explain a difference
        return log[log["time"].dt.strftime("%Y-%m-%d") == day]

    for d, exp in expected.iterrows():
        r = rows[d]
        n = _number(r["requests"])
        if n is None or n != exp["requests"]:
            hint = (": count every request of the day, failed ones too" if n == int((part(d)["status"] == "ok").sum())
                    else "")
            return f"on {d}, requests: expected {int(exp['requests'])}, got {show(r['requests'])}{hint} {where}"
    for d, exp in expected.iterrows():
        r = rows[d]
        rate = _rate(r["null_rate"])
        if rate is None or not (_close(rate, float(exp["null_rate"]), rtol=1e-9) or
                                (math.isnan(rate) and math.isnan(exp["null_rate"]))):
            cause = next((_RATE_ADVICE[k] for k, v in _rate_variants(part(d)).items()
                          if rate is not None and _close(rate, v, rtol=1e-9)), "")
            shown = _fmt(rate) if rate is not None else show(r["null_rate"])
            return (f"on {d}, null_rate: expected {float(exp['null_rate']):.4f}, got {shown}"
                    + (f": your value {cause}" if cause else "") + f" {where}")
    for d, exp in expected.iterrows():
        r = rows[d]
        value = _rate(r["score_psi"])
        want = float(exp["score_psi"])
        if math.isnan(want):
            if value is None or not math.isnan(value):
                return (f"on {d} no successful request has a score, so score_psi should be NaN (there is nothing to "
                        f"compare), got {show(r['score_psi'])} {where}")
            continue
        if value is None or not _close(value, want, rtol=1e-6):
            day = part(d)
            scores = day.loc[(day["status"] == "ok") & day["score"].notna(), "score"].to_numpy()
            cause = ""
            if value is not None and _close(value, psi_variant(reference, scores, 10), rtol=1e-6):
                cause = (": that is PSI on 10 equal-width bins; use monitoring.psi(reference_scores, scores) with its "
                         "default binning (Sturges bins over both samples, as evidently does)")
            shown = _fmt(value) if value is not None else show(r["score_psi"])
            return (f"on {d}, score_psi: expected {want:.4f}, got {shown}{cause}. Compute it on that day's scores only "
                    f"(successful requests with a score) {where}")
    return _alert_column_problem(rows, expected, min_requests, where)


def _alert_column_problem(rows: dict, expected: pd.DataFrame, min_requests: int, where: str) -> str | None:
    """The 'alert' column, judged against the answer's own null_rate and score_psi."""
    def rule(r: dict, *, guard: str = ">=", null_op: str = ">", psi_op: str = ">=", psi_cut: float = SCORE_PSI_MAX,
             combine: str = "or") -> bool:
        n = float(r["requests"])
        passes = {">=": n >= min_requests, ">": n > min_requests, "none": True}[guard]
        rate, value = _rate(r["null_rate"]), _rate(r["score_psi"])
        null_fires = rate is not None and not math.isnan(rate) and _OPS[null_op](rate, NULL_RATE_MAX)
        psi_fires = value is not None and not math.isnan(value) and _OPS[psi_op](value, psi_cut)
        fires = (null_fires or psi_fires) if combine == "or" else (null_fires and psi_fires)
        return bool(passes and fires)

    days = list(expected.index)
    got = []
    for d in days:
        flag = rows[d]["alert"]
        if type(flag) is not bool:
            return f"on {d}, alert should be True or False, got {kind(flag)} ({show(flag)}) {where}"
        got.append(flag)
    want = [rule(rows[d]) for d in days]
    if got == want:
        return None
    wrong = [d for d, g, w in zip(days, got, want) if g != w]
    d = wrong[0]
    r = rows[d]
    head = (f"{len(wrong)} of {len(days)} alerts differ; first: {d} ({int(expected.loc[d, 'requests'])} requests, "
            f"null_rate {_fmt(_rate(r['null_rate']))}, score_psi {_fmt(_rate(r['score_psi']))}): expected alert="
            f"{want[days.index(d)]}, got {got[days.index(d)]}.")
    variants = [
        ({"guard": "none"}, f"Your function alerts on days with fewer than min_requests={min_requests} requests. On a "
         "handful of requests one null output is several percent, and PSI is large from noise alone: alert only when "
         "requests >= min_requests."),
        ({"guard": ">"}, f"This day has exactly min_requests={min_requests} requests, and the guard lets a day with "
         "at least that many through: requests >= min_requests, not >."),
        ({"null_op": ">="}, f"This day's null_rate is exactly {NULL_RATE_MAX}: the rule is null_rate above "
         f"{NULL_RATE_MAX} (>), not at least."),
        ({"psi_cut": 0.1}, f"Your function alerts from PSI 0.1. On a day of a few hundred scores PSI reaches 0.1 from "
         f"noise now and then (section 3.3): the rule here is score_psi >= {SCORE_PSI_MAX}, the 'significant shift' band."),
        ({"combine": "and"}, "Your function needs both rules to fire. They watch different failures (empty answers, "
         "moved scores): either one is a reason to alert (OR), once the day has enough requests."),
    ]
    for options, say in variants:
        if got == [rule(rows[x], **options) for x in days]:
            return f"{head} {say} {where}"
    return (f"{head} A day alerts when requests >= min_requests and (null_rate > {NULL_RATE_MAX} or score_psi >= "
            f"{SCORE_PSI_MAX}); a NaN score_psi never fires. {where}")


output_alerts = Exercise(
    id="monitor.output_alerts",
    title="Daily model-output alerts with a minimum-request guard",
    points=3,
    answer=Function("output_alerts"),
    tests=[
        *_each(_alerts_verdict, [
            ("a fresh log with a null-output bug and a quiet day", _null_bug_week),
            ("a fresh log whose scores shift", _score_shift_week),
            ("a fresh log with a silent release and a day without traffic", _silent_week),
        ]),
        _example(probes.alerts_example_verdict, _null_bug_week, reference_output_alerts),
    ],
    hints=(
        "Group the log by calendar day: `for day, part in log.groupby(log['time'].dt.date):`. Per day, `ok = "
        "part[part['status'] == 'ok']`; the null outputs are `ok['score'].isna()`.",
        "`scores = ok['score'].dropna()`; `score_psi = monitoring.psi(reference_scores, scores).statistic if "
        "len(scores) else np.nan`. The guard: `len(part) >= min_requests`.",
        "`alert = len(part) >= min_requests and (null_rate > NULL_RATE_MAX or score_psi >= SCORE_PSI_MAX)` (a NaN "
        "compares False); collect one dict per day and return `pd.DataFrame(rows)`.",
    ),
    forbid=("mlcourse.monitor.service.prediction_metrics", "mlcourse.monitor.service.window_metrics",
            "mlcourse.monitor.service.monitor", "mlcourse.monitor.service.evaluate_alerts",
            "service_monitoring.prediction_metrics", "service_monitoring.window_metrics",
            "service_monitoring.monitor", "service_monitoring.evaluate_alerts"),
    on_error={
        "ValueError": "If monitoring.psi says the current window is empty: a day whose successful requests all came "
        "back without a score has nothing to compare, so its score_psi is NaN (skip the call when there are no scores).",
        "KeyError": "The log's columns include time (UTC timestamps), status ('ok' or 'error') and score (NaN for a "
        "null output and for a failed request).",
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
    """The lesson's policy on eight edge states (always the same) and twelve fresh ones."""
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
    states += [_random_state(rng) for _ in range(12)]
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


#: One case per misreading (see _RETRAIN_VARIANTS) where it decides otherwise, in every draw of the random test.
_ANCHORS = [
    (_state(0.15, 0.35, 0.0, 1000, 7.0), [("trigger", "performance_drop", ">=", 0.1), ("require", "new_labels", ">=", 500)]),
    (_state(0.30, 0.31, 0.6, 2000, 10.0), [("trigger", "drift_share", ">=", 0.5), ("trigger", "model_age_days", ">=", 60)]),
    (_state(0.30, 0.31, 0.6, 300, 10.0), [("trigger", "drift_share", ">=", 0.5), ("require", "new_labels", ">=", 1000)]),
    (_state(0.30, 0.31, 0.0, 3000, 10.0), [("trigger", "drift_share", ">=", 0.5), ("require", "new_labels", ">=", 1000)]),
    (_state(None, 0.31, 0.0, 3000, 10.0), [("trigger", "performance", "<", 0.2)]),
    (_state(math.nan, 0.31, 0.0, 3000, 10.0), [("trigger", "performance", "<", 0.2)]),
    (_state(0.10, 0.31, 0.0, 3000, 10.0), [("trigger", "performance", "<", 0.2)]),
]


def _random_cases(rng: np.random.Generator) -> list:
    """Forty cases: the anchors (each misreading decides one of them otherwise), then fresh random ones."""
    cases = [(dict(state), policy_frame(rows)) for state, rows in _ANCHORS]
    order = rng.permutation(40)  # the anchors land anywhere among the forty
    for i in range(40 - len(cases)):
        n_trig = int(rng.integers(0 if i % 13 == 0 else 1, 4))
        n_req = int(rng.integers(0, 3))
        rows = [_random_rule(rng, "trigger") for _ in range(n_trig)] + [_random_rule(rng, "require") for _ in range(n_req)]
        rule_order = rng.permutation(len(rows))
        cases.append((_random_state(rng), policy_frame([rows[j] for j in rule_order])))
    return [cases[i] for i in order]


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


@per_input
def _reference_decisions(cases: list) -> list[bool]:
    return [reference_decision(s, t) for s, t in cases]


@per_input
def _variant_decisions(cases: list, k: int) -> list[bool]:
    """The decisions under misreading ``k`` of :data:`_RETRAIN_VARIANTS`."""
    options = _RETRAIN_VARIANTS[k][0]
    return [decide(s, t, **options) for s, t in cases]


def _describe_case(state: dict, table: pd.DataFrame) -> str:
    shown = {k: state.get(k) for k in STATE_FIELDS}
    rules = "; ".join(f"{r.kind} {r.metric} {r.op} {r.threshold:g}" for r in table.itertuples(index=False)) or "no rows"
    return f"state {shown} with the policy [{rules}]"


def _retrain_verdict(got: Any, cases: list) -> str | None:
    values = got
    if not isinstance(values, list) or len(values) != len(cases):
        return "the check could not read your answers"
    expected = _reference_decisions(cases)
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
    for k, (_options, say) in enumerate(_RETRAIN_VARIANTS):
        if values == _variant_decisions(cases, k):
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
        holds("the lesson's policy on eight edge states and twelve fresh ones", probes.retrain_probe, _retrain_verdict,
              inputs=_lesson_cases),
        holds("40 fresh random policies and states", probes.retrain_probe, _retrain_verdict, inputs=_random_cases),
        holds("the notebook's example", probes.retrain_probe, probes.retrain_example_verdict, inputs=_lesson_cases,
              expected=_reference_decisions, weight=0, public=True),
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
CALENDAR_RETRAINS = probes.BACKTEST_WEEKS * 7 // CALENDAR_DAYS
#: Share of the calendar policy's gain over never retraining (PR-AUC after the drift) the alarm must keep.
MIN_RECOVERY = 0.75


def _backtest_seed(rng: np.random.Generator) -> int:
    return int(rng.integers(1, 100_000))


#: What monitoring sees of the model and its inputs: a trigger on one of these reacts to what happened.
MONITORING_METRICS = ("performance_drop", "sustained_drop", "performance", "previous_performance", "drift_share")
#: What grows with time whatever happens: a trigger on these alone is a calendar.
CLOCK_METRICS = ("model_age_days", "new_labels")
#: The values each metric can take, to find a trigger that holds whatever monitoring sees.
_METRIC_RANGES = {"performance_drop": (-1.0, 1.0), "sustained_drop": (-1.0, 1.0), "performance": (0.0, 1.0),
                  "previous_performance": (0.0, 1.0), "baseline_performance": (0.0, 1.0), "drift_share": (0.0, 1.0)}


def _always_holds(metric: str, op: str, threshold: float) -> bool:
    """Whether ``metric op threshold`` holds for every value the metric can take."""
    if metric not in _METRIC_RANGES:
        return False
    lo, hi = _METRIC_RANGES[metric]
    end = lo if op in (">", ">=") else hi
    return bool(_OPS[op](end, threshold))


def _clock_message(name: str, metrics: set, where: str) -> str:
    parts = []
    if "new_labels" in metrics:
        parts.append(f"new labels arrive at a steady {probes.BACKTEST_ROWS_PER_DAY * 7:,} a week (every transaction is "
                     "labelled a week later), so a trigger on their count fires on a schedule")
    if "model_age_days" in metrics:
        parts.append("a trigger on the model's age is a calendar")
    return (f"your alarm {name!r} is a calendar in disguise: " + "; ".join(parts) + ". An alarm must react to what "
            "monitoring sees (a performance drop, drift), so that it retrains when something happened and stays quiet "
            f"when nothing did. {where}")


def _alarm_table_problem(name: str, table: pd.DataFrame, where: str) -> str | None:
    """A problem visible in the alarm's table alone: triggers that cannot tell anything happened."""
    triggers = table[table["kind"] == "trigger"]
    metrics = set(triggers["metric"])
    if metrics and metrics <= set(CLOCK_METRICS):
        return _clock_message(name, metrics, where)
    for row in triggers.itertuples(index=False):
        if _always_holds(row.metric, row.op, float(row.threshold)):
            return (f"your alarm {name!r} has the trigger {row.metric} {row.op} {row.threshold:g}, which holds for "
                    f"every value {row.metric} can take: it fires whenever the value is known, so it is a calendar "
                    f"keyed to the labels' arrival. Choose a threshold that only a real problem crosses. {where}")
        if row.metric in ("performance_drop", "sustained_drop") and row.op in (">", ">=") and row.threshold <= 0:
            return (f"your alarm {name!r} fires on {row.metric} {row.op} {row.threshold:g}: a drop of 0 or less is no "
                    "drop, so it fires whenever the model is merely no better than its baseline, which noise alone "
                    f"brings about every other week. Use a drop that matters (such as 0.1). {where}")
    return None


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
    if summary is None or weekly is None or len(tables) != 2 or len(names) != 2 or any(t is None for t in tables):
        return "the check could not read the backtest"
    s = summary.set_index("policy")
    where = f"[a fresh {probes.BACKTEST_WEEKS}-week stream (seed {seed}), concept drift from day {probes.BACKTEST_DRIFT_DAY}]"
    after = "mean_pr_auc_after_drift"
    never_after = float(s.loc[probes.NEVER, after])
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
        return (f"your calendar policy {cal_name!r} retrained {cal_retrains} times in {probes.BACKTEST_WEEKS} weeks; every "
                f"{CALENDAR_DAYS} days is {CALENDAR_RETRAINS} times. Use model_age_days >= {CALENDAR_DAYS} and no "
                f"other condition. {where}")
    problem = _alarm_table_problem(alarm_name, alarm_table, where)
    if problem:
        return problem
    alarm_triggers = alarm_table.loc[alarm_table["kind"] == "trigger", "metric"].tolist()
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
    fired = [set(filter(None, str(f).split(", "))) for f in seen.loc[seen["retrained"], "fired_triggers"]]
    if not any(f & set(MONITORING_METRICS) for f in fired):
        # Every retrain came from the clock (an age floor, a label count): the monitoring triggers never mattered.
        clocks = set().union(*fired) & set(CLOCK_METRICS)
        message = _clock_message(alarm_name, clocks or {"model_age_days"}, where)
        quiet = [m for m in alarm_triggers if m in MONITORING_METRICS]
        if quiet:
            message += (f" Its trigger on {', '.join(sorted(set(quiet)))} never caused a retrain"
                        + (" (a concept drift leaves the inputs as they were, so drift_share never sees it)"
                           if set(quiet) <= {"drift_share"} else "") + ".")
        return message
    if alarm_retrains > cal_retrains:
        return (f"your alarm {alarm_name!r} retrained {alarm_retrains} times, more often than the calendar "
                f"({cal_retrains}). Make it fire only on a real problem: a weekly PR-AUC on a few dozen frauds moves by "
                "several hundredths on its own, so use a drop well beyond that, or one that held two windows in a row "
                f"(sustained_drop), and require enough new labels to learn from. {where}")
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
    tests=[holds("your two policies on a fresh drifting stream", probes.probe_policies, _policies_verdict,
                 inputs=_backtest_seed),
           holds("the form of your answer", probes.policies_form, probes.policies_form_verdict, weight=0, public=True)],
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
