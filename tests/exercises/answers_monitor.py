"""Answers to lesson 04's exercises, as a learner would type them in the answer cell.

Shared by ``test_monitor.py`` (each answer tried inside the lesson, with the
message it must get) and ``test_monitor_seeds.py`` (the same answers on thirty
secret seeds, for the same verdict on every one). Loaded by path (the tests
run with ``--import-mode=importlib``): see ``load`` in either file.

``RIGHT[exercise]`` are correct answers written differently from the
reference (another library, a loop, another valid route); ``WRONG[exercise]``
are typical mistakes, each with the phrases its message must contain.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Wrong:
    """A wrong answer and what the learner must be told."""

    source: str
    says: tuple[str, ...]
    status: str = "failed"
    #: Which test's message names it, when not the first failing one ("" = the result's message).
    score: float | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)


# What the lesson has defined before its answer cells (its first cell, and the names answers use).
PRELUDE = '''
import operator

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp, wasserstein_distance

from mlcourse.data import DriftSpec
from mlcourse.monitor import drift as monitoring, experiments, retraining, service as service_monitoring
from mlcourse.monitor.retraining import RetrainPolicy

OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
NULL_RATE_MAX, SCORE_PSI_MAX = 0.02, 0.25
policy = RetrainPolicy.from_table([
    ("trigger", "performance_drop", ">=", 0.1),
    ("trigger", "drift_share", ">=", 0.5),
    ("trigger", "model_age_days", ">=", 90),
    ("require", "new_labels", ">=", 1000),
], name="lesson policy")
'''

# --------------------------------------------------------------------------- monitor.latency_slo
RIGHT: dict[str, list[str]] = {}
WRONG: dict[str, list[Wrong]] = {}

RIGHT["monitor.latency_slo"] = [
    # pandas' quantile (fractions), linear interpolation like numpy's default
    '''
def latency_slo(log, slo_ms):
    ok = log[log["status"] == "ok"]["latency_ms"]
    q = ok.quantile([0.5, 0.95, 0.99])
    p95 = float(q.loc[0.95])
    return {"p50_ms": float(q.loc[0.5]), "p95_ms": p95, "p99_ms": float(q.loc[0.99]), "slo_met": p95 <= slo_ms}
''',
    # the standard library: statistics.quantiles, method="inclusive" (may differ from numpy in the last bit)
    '''
import statistics

def latency_slo(log, slo_ms):
    ok = [x for x, s in zip(log["latency_ms"], log["status"]) if s == "ok"]
    cuts = statistics.quantiles(ok, n=100, method="inclusive")
    return {"p50_ms": cuts[49], "p95_ms": cuts[94], "p99_ms": cuts[98], "slo_met": cuts[94] <= slo_ms}
''',
    # by hand: sort, then interpolate between the two closest ranks
    '''
def latency_slo(log, slo_ms):
    values = sorted(log.loc[log["status"] == "ok", "latency_ms"])
    def percentile(p):
        rank = p / 100 * (len(values) - 1)
        low = int(rank)
        high = min(low + 1, len(values) - 1)
        return values[low] + (values[high] - values[low]) * (rank - low)
    p95 = percentile(95)
    return {"p50_ms": percentile(50), "p95_ms": p95, "p99_ms": percentile(99), "slo_met": bool(p95 <= slo_ms)}
''',
]
# A right answer, which each of the wrong ones below changes in one place.
_SLO_BASE = '''
def latency_slo(log, slo_ms):
    ok = log.loc[log["status"] == "ok", "latency_ms"]
    p50, p95, p99 = np.percentile(ok, [50, 95, 99])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99), "slo_met": bool(p95 <= slo_ms)}
'''
WRONG["monitor.latency_slo"] = [
    Wrong('''
def latency_slo(log, slo_ms):
    p50, p95, p99 = np.percentile(log["latency_ms"], [50, 95, 99])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99), "slo_met": bool(p95 <= slo_ms)}
''', ("failed ones included", "status == 'ok'", "requests (")),
    Wrong('''
def latency_slo(log, slo_ms):
    ok = np.sort(log.loc[log["status"] == "ok", "latency_ms"].to_numpy())
    rank = lambda q: ok[int(np.ceil(q / 100 * len(ok))) - 1]   # nearest rank
    p50, p95, p99 = rank(50), rank(95), rank(99)
    return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99), "slo_met": bool(p95 <= slo_ms)}
''', ("method='inverted_cdf'", "linear interpolation")),
    Wrong(_SLO_BASE.replace("[50, 95, 99]", "[0.5, 0.95, 0.99]"), ("np.percentile takes percents",)),
    Wrong(_SLO_BASE.replace("p95 <= slo_ms", "p95 < slo_ms"), ("whose p95 equals the SLO", "use p95 <= slo_ms, not <")),
    Wrong(_SLO_BASE.replace("p95 <= slo_ms", "p99 <= slo_ms"), ("that meets its SLO", "the objective is on p95")),
    Wrong(_SLO_BASE.replace("    return {", "    result = {"), ("did you forget a `return` statement?",)),
    Wrong('''
def latency_slo(log, slo_ms):
    row = service_monitoring.service_metrics(log, "1D").iloc[0]
    return {"p50_ms": float(row["latency_p50_ms"]), "p95_ms": float(row["latency_p95_ms"]),
            "p99_ms": float(row["latency_p99_ms"]), "slo_met": bool(row["latency_p95_ms"] <= slo_ms)}
''', ("mlcourse.monitor.service.service_metrics", "Write the logic yourself"), score=0.0, tags=("shortcut",)),
]

# --------------------------------------------------------------------------- monitor.drifted_features
RIGHT["monitor.drifted_features"] = [
    # scipy's distance, normed by hand
    '''
def drifted_features(reference, current):
    moved = []
    for column in reference.columns:
        distance = wasserstein_distance(reference[column], current[column]) / max(np.std(reference[column]), 0.001)
        if distance >= 0.1:
            moved.append(column)
    return moved
''',
    # a KS test per feature, its cut-off divided by the number of features (Bonferroni)
    '''
def drifted_features(reference, current):
    cutoff = 0.05 / len(reference.columns)
    return [c for c in reference.columns if ks_2samp(reference[c], current[c]).pvalue <= cutoff]
''',
]
WRONG["monitor.drifted_features"] = [
    Wrong('''
def drifted_features(reference, current):
    moved = abs(reference.to_numpy().mean() - current.to_numpy().mean()) > 0.1
    return list(reference.columns) if moved else []
''', ("you found no drift", "cancelled out", "global mean went from")),
    Wrong('''
def drifted_features(reference, current):
    shift = (current.mean() - reference.mean()).abs() / reference.std()
    return list(shift[shift >= 0.1].index)
''', ("same mean", "x the spread", "a test of means misses it")),
    Wrong('''
def drifted_features(reference, current):
    return [c for c in reference.columns if ks_2samp(reference[c], current[c]).pvalue <= 0.05]
''', ("you flagged", "did not change", "Bonferroni"), score=0.0),
    Wrong('''
def drifted_features(reference, current):
    moved = [c for c in reference.columns if monitoring.wasserstein(reference[c], current[c]).drifted]
''', ("did you forget a `return` statement?",)),
]

# --------------------------------------------------------------------------- monitor.psi
RIGHT["monitor.psi"] = [
    # pandas: pd.cut on the shared edges, shares per bin, the floor per histogram
    '''
def psi(reference, current, bins=10):
    edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins)
    def shares(x):
        counts = pd.cut(pd.Series(x), edges, include_lowest=True).value_counts(sort=False).to_numpy()
        p = counts / len(x)
        smallest = p[p > 0].min()
        p[p == 0] = smallest / 1e6 if smallest <= 1e-4 else 1e-4
        return p
    r, c = shares(reference), shares(current)
    return float(((r - c) * np.log(r / c)).sum())
''',
    # a loop over the bins, np.histogram with an explicit range
    '''
import math

def psi(reference, current, bins=10):
    low = min(np.min(reference), np.min(current))
    high = max(np.max(reference), np.max(current))
    ref_counts, _ = np.histogram(reference, bins=bins, range=(low, high))
    cur_counts, _ = np.histogram(current, bins=bins, range=(low, high))
    ref_share = ref_counts / len(reference)
    cur_share = cur_counts / len(current)
    for share in (ref_share, cur_share):
        smallest = min(s for s in share if s > 0)
        for i in range(len(share)):
            if share[i] == 0:
                share[i] = smallest / 1e6 if smallest <= 1e-4 else 1e-4
    total = 0.0
    for r, c in zip(ref_share, cur_share):
        total += (r - c) * math.log(r / c)
    return total
''',
]
_PSI_SHARES = '''
def psi(reference, current, bins=10):
    edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins)
    a = np.histogram(reference, edges)[0] / len(reference)
    b = np.histogram(current, edges)[0] / len(current)
'''
WRONG["monitor.psi"] = [
    Wrong(_PSI_SHARES + '''    with np.errstate(all="ignore"):
        return float(np.sum((a - b) * np.log(a / b)))
''', ("infinite or NaN", "smallest non-zero share) / 1e6")),
    Wrong(_PSI_SHARES + '''    keep = (a > 0) & (b > 0)
    return float(np.sum((a[keep] - b[keep]) * np.log(a[keep] / b[keep])))
''', ("left the empty bins out of the sum", "empty in one sample here")),
    Wrong(_PSI_SHARES + '''    a, b = a + 1e-6, b + 1e-6
    return float(np.sum((a - b) * np.log(a / b)))
''', ("added a small number (epsilon) to every bin",)),
    Wrong(_PSI_SHARES + '''    a, b = np.where(a == 0, 1e-4, a), np.where(b == 0, 1e-4, b)
    return float(np.sum((a - b) * np.log(a / b)))
''', ("a constant floor", "principled", "not this exercise's convention", "evidently's floor"), score=2.25),
    Wrong('''
def psi(reference, current, bins=10):
    edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins)
    a = (np.histogram(reference, edges)[0] + 1) / (len(reference) + bins)
    b = (np.histogram(current, edges)[0] + 1) / (len(current) + bins)
    return float(np.sum((a - b) * np.log(a / b)))
''', ("Laplace smoothing", "evidently's floor")),
    Wrong(_PSI_SHARES + '''    fill = lambda p: np.where(p == 0, p[p > 0].min() / 1e6 if p[p > 0].min() <= 1e-4 else 1e-4, p)
    a, b = fill(a), fill(b)
    return float(np.sum((b - a) * np.log(a / b)))
''', ("wrong sign",)),
    Wrong('''
def psi(reference, current, bins=10):
    edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins)
    a = np.histogram(reference, edges)[0].astype(float)
    b = np.histogram(current, edges)[0].astype(float)
    a, b = np.where(a == 0, 1e-4, a), np.where(b == 0, 1e-4, b)
    return float(np.sum((a - b) * np.log(a / b)))
''', ("counts, not shares",)),
    Wrong('''
def psi(reference, current, bins=10):
    edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins)
    a = 100 * np.histogram(reference, edges)[0] / len(reference)
    b = 100 * np.histogram(current, edges)[0] / len(current)
    a, b = np.where(a == 0, 1e-4, a), np.where(b == 0, 1e-4, b)
    return float(np.sum((a - b) * np.log(a / b)))
''', ("about 100 times too large",)),
    Wrong('''
def psi(reference, current, bins=10):
    a = np.histogram(reference, bins)[0] / len(reference)
    b = np.histogram(current, bins)[0] / len(current)
    fill = lambda p: np.where(p == 0, p[p > 0].min() / 1e6 if p[p > 0].min() <= 1e-4 else 1e-4, p)
    a, b = fill(a), fill(b)
    return float(np.sum((a - b) * np.log(a / b)))
''', ("binned on its own range",)),
    Wrong('''
def psi(reference, current, bins=10):
    return monitoring.psi(reference, current, bins).statistic
''', ("mlcourse.monitor.drift.psi", "Write the logic yourself"), score=0.0, tags=("shortcut",)),
]

# --------------------------------------------------------------------------- monitor.feature_drift
RIGHT["monitor.feature_drift"] = [
    # shares from np.unique, over the union of the values seen
    '''
def feature_drift(reference, current):
    rows = []
    for c in reference.columns:
        ref, cur = reference[c].to_numpy(), current[c].to_numpy()
        values = set(ref.tolist()) | set(cur.tolist())
        if pd.api.types.is_numeric_dtype(reference[c]) and len(values) > 5:
            test, stat = "wasserstein", wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)
        else:
            def shares(x):
                keys, counts = np.unique(x, return_counts=True)
                found = dict(zip(keys.tolist(), (counts / counts.sum()).tolist()))
                return [found.get(v, 0.0) for v in sorted(values, key=str)]
            test, stat = "jensenshannon", jensenshannon(shares(ref), shares(cur))
        rows.append({"feature": c, "test": test, "statistic": float(stat), "drifted": bool(stat >= 0.1)})
    return pd.DataFrame(rows)
''',
    # a crosstab of window by value, normalised per window
    '''
def feature_drift(reference, current):
    report = []
    both = pd.concat([reference.assign(_window="ref"), current.assign(_window="cur")], ignore_index=True)
    for c in reference.columns:
        numeric = pd.api.types.is_numeric_dtype(reference[c])
        if numeric and both[c].nunique() > 5:
            s = wasserstein_distance(reference[c], current[c]) / max(reference[c].std(ddof=0), 0.001)
            report.append(dict(feature=c, test="wasserstein", statistic=s, drifted=s >= 0.1))
        else:
            table = pd.crosstab(both[c], both["_window"], normalize="columns")
            s = jensenshannon(table["ref"], table["cur"])
            report.append(dict(feature=c, test="jensenshannon", statistic=s, drifted=s >= 0.1))
    return pd.DataFrame(report)
''',
]
_FD_JS = '''            s = pd.DataFrame({"r": reference[c].value_counts(normalize=True),
                              "c": current[c].value_counts(normalize=True)}).fillna(0)
            d, t = jensenshannon(s["r"], s["c"]), "jensenshannon"
'''
# A right answer, which most of the wrong ones below change in one place.
_FD_BASE = '''
def feature_drift(reference, current):
    rows = []
    for c in reference.columns:
        if pd.api.types.is_numeric_dtype(reference[c]) and pd.concat([reference[c], current[c]]).nunique() > 5:
            d, t = wasserstein_distance(reference[c], current[c]) / max(np.std(reference[c]), 0.001), "wasserstein"
        else:
''' + _FD_JS + '''        rows.append({"feature": c, "test": t, "statistic": float(d), "drifted": d >= 0.1})
    return pd.DataFrame(rows)
'''
WRONG["monitor.feature_drift"] = [
    Wrong('''
def feature_drift(reference, current):
    rows = []
    for c in reference.columns:
        if pd.api.types.is_numeric_dtype(reference[c]):
            p = ks_2samp(reference[c], current[c]).pvalue
            rows.append({"feature": c, "test": "ks", "statistic": p, "drifted": p <= 0.05})
        else:
            s = pd.DataFrame({"r": reference[c].value_counts(normalize=True), "c": current[c].value_counts(normalize=True)}).fillna(0)
            d = jensenshannon(s["r"], s["c"])
            rows.append({"feature": c, "test": "jensenshannon", "statistic": d, "drifted": d >= 0.1})
    return pd.DataFrame(rows)
''', ("should be tested with 'wasserstein', got 'ks'", "more than 5 distinct values"), score=0.0),
    Wrong(_FD_BASE.replace(" / max(np.std(reference[c]), 0.001), \"wasserstein\"", ", \"wasserstein\""),
          ("raw Wasserstein distance", "standard deviation")),
    Wrong(_FD_BASE.replace(_FD_JS, """            r = reference[c].value_counts(normalize=True)
            k = current[c].value_counts(normalize=True).reindex(r.index, fill_value=0)
            d, t = jensenshannon(r, k), "jensenshannon"
"""), ("a new country appears", "feature 'country'", "union of the values")),
    Wrong(_FD_BASE.replace(".nunique() > 5", ".nunique() >= 5"),
          ("nothing drifted", "feature 'items'", "5 distinct values", "more than 5 distinct values")),
    Wrong('''
def feature_drift(reference, current):
    return monitoring.drift_report(reference, current).table[["feature", "test", "statistic", "drifted"]]
''', ("mlcourse.monitor.drift.drift_report", "Write the logic yourself"), score=0.0, tags=("shortcut",)),
]

# --------------------------------------------------------------------------- monitor.output_alerts
RIGHT["monitor.output_alerts"] = [
    # a daily resample: quiet days come out with 0 requests, the day is the index
    '''
def output_alerts(log, reference_scores, min_requests):
    frame = log.set_index("time")
    ok = frame["status"].eq("ok")
    null = ok & frame["score"].isna()
    daily = pd.DataFrame({"requests": frame["status"].resample("1D").size(),
                          "successful": ok.resample("1D").sum(), "nulls": null.resample("1D").sum()})
    daily["null_rate"] = daily["nulls"] / daily["successful"].where(daily["successful"] > 0)
    scores = frame.loc[ok & frame["score"].notna(), "score"]
    psis = {}
    for day, part in scores.resample("1D"):
        psis[day] = monitoring.psi(reference_scores, part.to_numpy()).statistic if len(part) else np.nan
    daily["score_psi"] = pd.Series(psis).reindex(daily.index)
    fires = (daily["null_rate"] > NULL_RATE_MAX) | (daily["score_psi"] >= SCORE_PSI_MAX)
    daily["alert"] = (daily["requests"] >= min_requests) & fires
    return daily[["requests", "null_rate", "score_psi", "alert"]].rename_axis("day")
''',
    # day strings and plain counting
    '''
def output_alerts(log, reference_scores, min_requests):
    days = log["time"].dt.strftime("%Y-%m-%d")
    out = []
    for day in sorted(days.unique()):
        part = log[days == day]
        served = part[part["status"] == "ok"]
        missing = int(served["score"].isna().sum())
        null_rate = missing / len(served) if len(served) else float("nan")
        present = served["score"].dropna().to_numpy()
        score_psi = float(monitoring.psi(np.asarray(reference_scores), present).statistic) if present.size else float("nan")
        alert = len(part) >= min_requests and (null_rate > NULL_RATE_MAX or score_psi >= SCORE_PSI_MAX)
        out.append((day, len(part), null_rate, score_psi, alert))
    return pd.DataFrame(out, columns=["day", "requests", "null_rate", "score_psi", "alert"])
''',
]
_OA_HEAD = '''
def output_alerts(log, reference_scores, min_requests):
    rows = []
    for day, part in log.groupby(log["time"].dt.date):
        ok = part[part["status"] == "ok"]
        scores = ok["score"].dropna()
        null_rate = ok["score"].isna().mean()
        score_psi = monitoring.psi(reference_scores, scores).statistic if len(scores) else np.nan
'''
_OA_TAIL = '''        rows.append({"day": day, "requests": len(part), "null_rate": null_rate, "score_psi": score_psi,
                     "alert": bool(alert)})
    return pd.DataFrame(rows)
'''
WRONG["monitor.output_alerts"] = [
    Wrong(_OA_HEAD + '''        alert = null_rate > NULL_RATE_MAX or score_psi >= SCORE_PSI_MAX
''' + _OA_TAIL, ("alerts on days with fewer than min_requests", "requests >= min_requests"), score=0.0),
    Wrong(_OA_HEAD + '''        alert = len(part) > min_requests and (null_rate > NULL_RATE_MAX or score_psi >= SCORE_PSI_MAX)
''' + _OA_TAIL, ("exactly min_requests", "not >")),
    Wrong(_OA_HEAD.replace('null_rate = ok["score"].isna().mean()', 'null_rate = part["score"].isna().mean()')
          + '''        alert = len(part) >= min_requests and (null_rate > NULL_RATE_MAX or score_psi >= SCORE_PSI_MAX)
''' + _OA_TAIL, ("null_rate: expected", "counts the failed requests as null outputs"), score=0.0),
    Wrong(_OA_HEAD + '''        alert = len(part) >= min_requests and (null_rate > NULL_RATE_MAX or score_psi >= 0.1)
''' + _OA_TAIL, ("alerts from PSI 0.1", "score_psi >= 0.25")),
    Wrong(_OA_HEAD + '''        alert = len(part) >= min_requests and (null_rate >= NULL_RATE_MAX or score_psi >= SCORE_PSI_MAX)
''' + _OA_TAIL, ("exactly 0.02", "(>), not at least")),
    Wrong(_OA_HEAD + '''        alert = len(part) >= min_requests and null_rate > NULL_RATE_MAX and score_psi >= SCORE_PSI_MAX
''' + _OA_TAIL, ("needs both rules", "(OR)"), score=0.0),
    Wrong(_OA_HEAD + '''        if len(part) < min_requests:
            continue
        alert = null_rate > NULL_RATE_MAX or score_psi >= SCORE_PSI_MAX
''' + _OA_TAIL, ("leaves out", "the guard decides whether a day may alert"), score=0.0),
    Wrong('''
def output_alerts(log, reference_scores, min_requests):
    daily = service_monitoring.prediction_metrics(log, "1D", reference_scores=reference_scores)
    return daily
''', ("mlcourse.monitor.service.prediction_metrics", "Write the logic yourself"), score=0.0, tags=("shortcut",)),
]

# --------------------------------------------------------------------------- monitor.should_retrain
RIGHT["monitor.should_retrain"] = [
    # a dict of metric readers, math.isnan for the unknowns
    '''
import math

def should_retrain(state, policy_table):
    def known(v):
        return v is not None and not (isinstance(v, float) and math.isnan(v))
    readers = {"performance_drop": lambda s: (s["baseline_performance"] - s["performance"])
               if known(s["performance"]) and known(s["baseline_performance"]) else None}
    def holds(metric, op, threshold):
        v = readers[metric](state) if metric in readers else state.get(metric)
        return known(v) and OPS[op](v, threshold)
    triggers = [holds(m, o, t) for k, m, o, t in policy_table[["kind", "metric", "op", "threshold"]].values if k == "trigger"]
    requires = [holds(m, o, t) for k, m, o, t in policy_table[["kind", "metric", "op", "threshold"]].values if k == "require"]
    return any(triggers) and all(requires)
''',
    # pandas: one boolean per row, then the two groups
    '''
def should_retrain(state, policy_table):
    values = {k: (np.nan if v is None else float(v)) for k, v in state.items()}
    values["performance_drop"] = values["baseline_performance"] - values["performance"]
    value = policy_table["metric"].map(values)
    compare = {">": value.gt(policy_table["threshold"]), ">=": value.ge(policy_table["threshold"]),
               "<": value.lt(policy_table["threshold"]), "<=": value.le(policy_table["threshold"])}
    held = pd.Series([bool(compare[op].iloc[i]) for i, op in enumerate(policy_table["op"])], index=policy_table.index)
    held &= value.notna()
    is_trigger = policy_table["kind"] == "trigger"
    return bool(held[is_trigger].any() and held[~is_trigger].all())
''',
]
_SR_VALUE = '''
def should_retrain(state, policy_table):
    def value(m):
        if m == "performance_drop":
            p, b = state["performance"], state["baseline_performance"]
            return None if p is None or b is None or pd.isna(p) or pd.isna(b) else {drop}
        v = state[m]
        return None if v is None or pd.isna(v) else v
    def holds(r):
        v = value(r.metric)
        return v is not None and OPS[{op}](v, r.threshold)
    rows = list(policy_table.itertuples())
'''
_SR_DECIDE = '''    fired = any(holds(r) for r in rows if r.kind == "trigger")
    return fired and all(holds(r) for r in rows if r.kind == "require")
'''
WRONG["monitor.should_retrain"] = [
    Wrong(_SR_VALUE.format(drop="b - p", op="r.op") + '''    triggers = [holds(r) for r in rows if r.kind == "trigger"]
    return bool(triggers) and all(triggers) and all(holds(r) for r in rows if r.kind == "require")
''', ("needs every trigger to fire", "decisions differ; first: state")),
    Wrong(_SR_VALUE.format(drop="b - p", op="r.op") + '''    return any(holds(r) for r in rows if r.kind == "trigger")
''', ("ignores the 'require' rows",)),
    Wrong(_SR_VALUE.format(drop="p - b", op="r.op") + _SR_DECIDE, ("performance_drop has the wrong sign",)),
    Wrong(_SR_VALUE.format(drop="b - p", op='">="') + _SR_DECIDE, ("reads every rule as '>='",)),
    Wrong('''
def should_retrain(state, policy_table):
    def value(m):
        if m == "performance_drop":
            return state["baseline_performance"] - state["performance"]
        return state[m]
    rows = list(policy_table.itertuples())
    return any(OPS[r.op](value(r.metric), r.threshold) for r in rows if r.kind == "trigger") and \\
        all(OPS[r.op](value(r.metric), r.threshold) for r in rows if r.kind == "require")
''', ("TypeError", "None (not known yet)"), status="error"),
    Wrong('''
def should_retrain(state, policy_table):
    return retraining.RetrainPolicy.from_table(policy_table).decide(state).retrain
''', ("mlcourse.monitor.retraining.RetrainPolicy", "Write the logic yourself"), score=0.0, tags=("shortcut",)),
]

# --------------------------------------------------------------------------- monitor.backtest_policies
RIGHT["monitor.backtest_policies"] = [
    # an absolute level instead of a drop, and more labels
    '''
calendar = RetrainPolicy.scheduled(every_days=14)
alarm = RetrainPolicy.from_table([("trigger", "performance", "<", 0.15), ("require", "new_labels", ">=", 2000)],
                                 name="alarm")
policies = [calendar, alarm]
''',
    # a slow calendar as a floor beside a larger drop, as the lesson suggests teams do
    '''
policies = [
    RetrainPolicy.scheduled(every_days=14),
    RetrainPolicy.from_table([
        ("trigger", "performance_drop", ">=", 0.15),
        ("trigger", "model_age_days", ">=", 35),
        ("require", "new_labels", ">=", 1000),
    ], name="alarm with a floor"),
]
''',
]

def _calendar_and_alarm(rows: str) -> str:
    """The answer shape the task asks for: the two-week calendar and an alarm policy of these table ``rows``."""
    return f'''
calendar = RetrainPolicy.scheduled(every_days=14)
alarm = RetrainPolicy.from_table({rows}, name="alarm")
policies = [calendar, alarm]
'''


WRONG["monitor.backtest_policies"] = [
    Wrong(_calendar_and_alarm('[("trigger", "drift_share", ">=", 0.5), ("require", "new_labels", ">=", 1000)]'),
          ("never retrained", "concept drift", "performance_drop"), score=0.0),
    Wrong(_calendar_and_alarm('[("trigger", "new_labels", ">=", 4200)]'),
          ("calendar in disguise", "new labels arrive at a steady 2,100 a week"), score=0.0),
    Wrong('''
calendar = RetrainPolicy.scheduled(every_days=14)
alarm = RetrainPolicy.from_table([("trigger", "model_age_days", ">=", 14), ("trigger", "drift_share", ">=", 0.5)],
                                 name="alarm")
policies = [calendar, alarm]
''', ("calendar in disguise", "a trigger on the model's age is a calendar", "drift_share never caused a retrain"),
        score=0.0),
    Wrong('''
policies = [RetrainPolicy.scheduled(every_days=7), RetrainPolicy.triggered()]
''', ("retrained 8 times in 8 weeks; every 14 days is 4 times",), score=0.0),
    Wrong(_calendar_and_alarm('[("trigger", "new_labels", ">=", 1)]'), ("calendar in disguise", "new labels"), score=0.0),
    Wrong(_calendar_and_alarm('[("trigger", "performance_drop", ">=", -1)]'),
          ("holds for every value performance_drop can take",), score=0.0),
    Wrong('''
policies = RetrainPolicy.triggered()
''', ("should be a list of two RetrainPolicy objects",), score=0.0),
    Wrong('''
policies = [RetrainPolicy.from_table([("trigger", "model_age_days", ">=", 14)]),
            RetrainPolicy.from_table([("trigger", "performance_drop", ">=", 0.1)])]
''', ("policy names must differ", "different names"), status="error", score=0.0),
]
