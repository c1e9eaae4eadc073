"""Lesson 04 (Monitor) exercises, each tried three ways inside the lesson itself:
the learner's stub, the solution, and typical wrong answers with the message that names the mistake."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mlcourse.exercises import exercises_of
from mlcourse.exercises.engine import ERROR, FAILED, NOT_ATTEMPTED, PASSED
from mlcourse.exercises.monitor import checks as M
from mlcourse.exercises.plain import from_plain, to_plain
from mlcourse.exercises.testing import walk

LAT_ALL = '''
def latency_slo(log, slo_ms):
    p50, p95, p99 = np.percentile(log["latency_ms"], [50, 95, 99])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99), "slo_met": bool(p95 <= slo_ms)}
'''
LAT_NEAREST = '''
def latency_slo(log, slo_ms):
    ok = np.sort(log.loc[log["status"] == "ok", "latency_ms"].to_numpy())
    rank = lambda q: ok[int(np.ceil(q / 100 * len(ok))) - 1]   # nearest rank
    p50, p95, p99 = rank(50), rank(95), rank(99)
    return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99), "slo_met": bool(p95 <= slo_ms)}
'''
LAT_FRACTIONS = '''
def latency_slo(log, slo_ms):
    ok = log.loc[log["status"] == "ok", "latency_ms"]
    p50, p95, p99 = np.percentile(ok, [0.5, 0.95, 0.99])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99), "slo_met": bool(p95 <= slo_ms)}
'''
LAT_STRICT = '''
def latency_slo(log, slo_ms):
    ok = log.loc[log["status"] == "ok", "latency_ms"]
    p50, p95, p99 = np.percentile(ok, [50, 95, 99])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99), "slo_met": bool(p95 < slo_ms)}
'''
LAT_P99 = '''
def latency_slo(log, slo_ms):
    ok = log.loc[log["status"] == "ok", "latency_ms"]
    p50, p95, p99 = np.percentile(ok, [50, 95, 99])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99), "slo_met": bool(p99 <= slo_ms)}
'''
LAT_PACKAGE = '''
def latency_slo(log, slo_ms):
    row = service_monitoring.service_metrics(log, "1D").iloc[0]
    return {"p50_ms": float(row["latency_p50_ms"]), "p95_ms": float(row["latency_p95_ms"]),
            "p99_ms": float(row["latency_p99_ms"]), "slo_met": bool(row["latency_p95_ms"] <= slo_ms)}
'''
PSI_NO_FLOOR = '''
def psi(reference, current, bins=10):
    edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins)
    a = np.histogram(reference, edges)[0] / len(reference)
    b = np.histogram(current, edges)[0] / len(current)
    with np.errstate(all="ignore"):
        return float(np.sum((a - b) * np.log(a / b)))
'''
PSI_SIGN = '''
def psi(reference, current, bins=10):
    edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins)
    a = np.histogram(reference, edges)[0] / len(reference)
    b = np.histogram(current, edges)[0] / len(current)
    fill = lambda p: np.where(p == 0, p[p > 0].min() / 1e6 if p[p > 0].min() <= 1e-4 else 1e-4, p)
    a, b = fill(a), fill(b)
    return float(np.sum((b - a) * np.log(a / b)))
'''
PSI_COUNTS = '''
def psi(reference, current, bins=10):
    edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins)
    a = np.histogram(reference, edges)[0].astype(float)
    b = np.histogram(current, edges)[0].astype(float)
    a, b = np.where(a == 0, 1e-4, a), np.where(b == 0, 1e-4, b)
    return float(np.sum((a - b) * np.log(a / b)))
'''
PSI_PERCENT = '''
def psi(reference, current, bins=10):
    edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins)
    a = 100 * np.histogram(reference, edges)[0] / len(reference)
    b = 100 * np.histogram(current, edges)[0] / len(current)
    a, b = np.where(a == 0, 1e-4, a), np.where(b == 0, 1e-4, b)
    return float(np.sum((a - b) * np.log(a / b)))
'''
PSI_SEPARATE = '''
def psi(reference, current, bins=10):
    a = np.histogram(reference, bins)[0] / len(reference)
    b = np.histogram(current, bins)[0] / len(current)
    fill = lambda p: np.where(p == 0, p[p > 0].min() / 1e6 if p[p > 0].min() <= 1e-4 else 1e-4, p)
    a, b = fill(a), fill(b)
    return float(np.sum((a - b) * np.log(a / b)))
'''
PSI_PACKAGE = '''
def psi(reference, current, bins=10):
    return monitoring.psi(reference, current, bins).statistic
'''
FD_KS = '''
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
'''
FD_RAW = '''
def feature_drift(reference, current):
    rows = []
    for c in reference.columns:
        if pd.api.types.is_numeric_dtype(reference[c]) and pd.concat([reference[c], current[c]]).nunique() > 5:
            d, t = wasserstein_distance(reference[c], current[c]), "wasserstein"
        else:
            s = pd.DataFrame({"r": reference[c].value_counts(normalize=True), "c": current[c].value_counts(normalize=True)}).fillna(0)
            d, t = jensenshannon(s["r"], s["c"]), "jensenshannon"
        rows.append({"feature": c, "test": t, "statistic": float(d), "drifted": d >= 0.1})
    return pd.DataFrame(rows)
'''
FD_REFERENCE_VALUES = '''
def feature_drift(reference, current):
    rows = []
    for c in reference.columns:
        if pd.api.types.is_numeric_dtype(reference[c]) and pd.concat([reference[c], current[c]]).nunique() > 5:
            d, t = wasserstein_distance(reference[c], current[c]) / max(np.std(reference[c]), 0.001), "wasserstein"
        else:
            r = reference[c].value_counts(normalize=True)
            k = current[c].value_counts(normalize=True).reindex(r.index, fill_value=0)
            d, t = jensenshannon(r, k), "jensenshannon"
        rows.append({"feature": c, "test": t, "statistic": float(d), "drifted": d >= 0.1})
    return pd.DataFrame(rows)
'''
FD_PACKAGE = '''
def feature_drift(reference, current):
    return monitoring.drift_report(reference, current).table[["feature", "test", "statistic", "drifted"]]
'''
DF_GLOBAL = '''
def drifted_features(reference, current):
    moved = abs(reference.to_numpy().mean() - current.to_numpy().mean()) > 0.1
    return list(reference.columns) if moved else []
'''
DF_MEANS = '''
def drifted_features(reference, current):
    shift = (current.mean() - reference.mean()).abs() / reference.std()
    return list(shift[shift >= 0.1].index)
'''
DF_KS = '''
def drifted_features(reference, current):
    return [c for c in reference.columns if ks_2samp(reference[c], current[c]).pvalue <= 0.05]
'''
SR_AND = '''
def should_retrain(state, policy_table):
    def value(m):
        if m == "performance_drop":
            p, b = state["performance"], state["baseline_performance"]
            return None if p is None or b is None or pd.isna(p) or pd.isna(b) else b - p
        v = state[m]
        return None if v is None or pd.isna(v) else v
    def holds(r):
        v = value(r.metric)
        return v is not None and OPS[r.op](v, r.threshold)
    rows = list(policy_table.itertuples())
    triggers = [holds(r) for r in rows if r.kind == "trigger"]
    return bool(triggers) and all(triggers) and all(holds(r) for r in rows if r.kind == "require")
'''
SR_NO_REQUIRES = '''
def should_retrain(state, policy_table):
    def value(m):
        if m == "performance_drop":
            p, b = state["performance"], state["baseline_performance"]
            return None if p is None or b is None or pd.isna(p) or pd.isna(b) else b - p
        v = state[m]
        return None if v is None or pd.isna(v) else v
    return any(value(r.metric) is not None and OPS[r.op](value(r.metric), r.threshold)
               for r in policy_table.itertuples() if r.kind == "trigger")
'''
SR_FLIPPED = '''
def should_retrain(state, policy_table):
    def value(m):
        if m == "performance_drop":
            p, b = state["performance"], state["baseline_performance"]
            return None if p is None or b is None or pd.isna(p) or pd.isna(b) else p - b
        v = state[m]
        return None if v is None or pd.isna(v) else v
    def holds(r):
        v = value(r.metric)
        return v is not None and OPS[r.op](v, r.threshold)
    rows = list(policy_table.itertuples())
    return any(holds(r) for r in rows if r.kind == "trigger") and all(holds(r) for r in rows if r.kind == "require")
'''
SR_NONE_CRASH = '''
def should_retrain(state, policy_table):
    def value(m):
        if m == "performance_drop":
            return state["baseline_performance"] - state["performance"]
        return state[m]
    rows = list(policy_table.itertuples())
    return any(OPS[r.op](value(r.metric), r.threshold) for r in rows if r.kind == "trigger") and \\
        all(OPS[r.op](value(r.metric), r.threshold) for r in rows if r.kind == "require")
'''
SR_PACKAGE = '''
def should_retrain(state, policy_table):
    return retraining.RetrainPolicy.from_table(policy_table).decide(state).retrain
'''
BP_DRIFT_ONLY = '''
calendar = RetrainPolicy.scheduled(every_days=14)
alarm = RetrainPolicy.from_table([("trigger", "drift_share", ">=", 0.5), ("require", "new_labels", ">=", 1000)], name="alarm")
policies = [calendar, alarm]
'''
BP_WEEKLY_CALENDAR = '''
policies = [RetrainPolicy.scheduled(every_days=7), RetrainPolicy.triggered()]
'''
BP_NERVOUS = '''
calendar = RetrainPolicy.scheduled(every_days=14)
alarm = RetrainPolicy.from_table([("trigger", "new_labels", ">=", 1)], name="alarm")
policies = [calendar, alarm]
'''
BP_ONE = '''
policies = RetrainPolicy.triggered()
'''
BP_SAME_NAME = '''
policies = [RetrainPolicy.from_table([("trigger", "model_age_days", ">=", 14)]),
            RetrainPolicy.from_table([("trigger", "performance_drop", ">=", 0.1)])]
'''
WRONG = {
    "monitor.latency_slo": [LAT_ALL, LAT_NEAREST, LAT_FRACTIONS, LAT_STRICT, LAT_P99, LAT_PACKAGE],
    "monitor.psi": [PSI_NO_FLOOR, PSI_SIGN, PSI_COUNTS, PSI_PERCENT, PSI_SEPARATE, PSI_PACKAGE],
    "monitor.feature_drift": [FD_KS, FD_RAW, FD_REFERENCE_VALUES, FD_PACKAGE],
    "monitor.drifted_features": [DF_GLOBAL, DF_MEANS, DF_KS],
    "monitor.should_retrain": [SR_AND, SR_NO_REQUIRES, SR_FLIPPED, SR_NONE_CRASH, SR_PACKAGE],
    "monitor.backtest_policies": [BP_DRIFT_ONLY, BP_WEEKLY_CALENDAR, BP_NERVOUS, BP_ONE, BP_SAME_NAME],
}


@pytest.fixture(scope="module")
def tried():
    return walk("04_monitor", WRONG)


def test_every_exercise_of_the_lesson_is_tried(tried):
    assert set(tried) == {e.id for e in exercises_of("04_monitor")} == set(WRONG)
    assert len(WRONG) >= 6


@pytest.mark.parametrize("ex_id", sorted(WRONG))
def test_stub_is_not_attempted_and_solution_gets_full_marks(tried, ex_id):
    t = tried[ex_id]
    assert t.stub.status == NOT_ATTEMPTED and t.stub.score == 0
    assert t.solution.status == PASSED and t.solution.score == t.solution.points, t.solution.render()


def _failed(result, *phrases, status=FAILED):
    assert result.status == status, result.render()
    assert result.score < result.points
    for phrase in phrases:
        assert phrase in result.message, (phrase, result.render())


def test_latency_slo_wrong_answers_are_named(tried):
    everything, nearest, fractions, strict, on_p99, package = tried["monitor.latency_slo"].wrong
    _failed(everything, "failed ones included", "status == 'ok'", "requests (")
    _failed(nearest, "method='inverted_cdf'", "linear interpolation")
    _failed(fractions, "np.percentile takes percents")
    _failed(strict, "whose p95 equals the SLO", "use p95 <= slo_ms, not <")
    _failed(on_p99, "that meets its SLO", "the objective is on p95")
    _failed(package, "mlcourse.monitor.service.service_metrics", "Write the logic yourself")
    assert package.score == 0 and everything.score == 0


def test_psi_wrong_answers_are_named(tried):
    no_floor, sign, counts, percent, separate, package = tried["monitor.psi"].wrong
    _failed(no_floor, "infinite or NaN", "smallest non-zero share) / 1e6")
    _failed(sign, "wrong sign")
    _failed(counts, "counts, not shares")
    _failed(percent, "about 100 times too large")
    _failed(separate, "binned on its own range")
    _failed(package, "mlcourse.monitor.drift.psi", "Write the logic yourself")
    assert package.score == 0
    # The message says which input failed: sizes and bins of the samples.
    assert "reference of 1000 values, current of 800 values, bins=10" in no_floor.message


def test_feature_drift_wrong_answers_are_named(tried):
    ks, raw, reference_values, package = tried["monitor.feature_drift"].wrong
    _failed(ks, "should be tested with 'wasserstein', got 'ks'", "more than 5 distinct values")
    _failed(raw, "raw Wasserstein distance", "standard deviation")
    _failed(reference_values, "a new country appears", "feature 'country'", "union of the values")
    _failed(package, "mlcourse.monitor.drift.drift_report", "Write the logic yourself")
    assert package.score == 0 and ks.score == 0


def test_drifted_features_wrong_answers_are_named(tried):
    global_mean, means_only, ks = tried["monitor.drifted_features"].wrong
    _failed(global_mean, "you found no drift", "cancelled out", "global mean went from")
    _failed(means_only, "same mean", "x the spread", "a test of means misses it")
    _failed(ks, "did not change", "Bonferroni")


def test_should_retrain_wrong_answers_are_named(tried):
    all_triggers, no_requires, flipped, crashes, package = tried["monitor.should_retrain"].wrong
    _failed(all_triggers, "needs every trigger to fire", "decisions differ; first: state")
    _failed(no_requires, "ignores the 'require' rows")
    _failed(flipped, "performance_drop has the wrong sign")
    _failed(crashes, "TypeError", "None (not known yet)", status=ERROR)
    _failed(package, "mlcourse.monitor.retraining.RetrainPolicy", "Write the logic yourself")
    assert package.score == 0


def test_backtest_policies_wrong_answers_are_named(tried):
    drift_only, weekly, nervous, single, same_name = tried["monitor.backtest_policies"].wrong
    _failed(drift_only, "never retrained", "concept drift", "performance_drop")
    _failed(weekly, "retrained 8 times in 8 weeks; every 14 days is 4 times")
    _failed(nervous, "more often than the calendar")
    _failed(single, "should be a list of two RetrainPolicy objects")
    _failed(same_name, "policy names must differ", "different names", status=ERROR)
    assert all(r.score == 0 for r in (drift_only, weekly, nervous, single, same_name))


# -- the references and inputs on their own, away from the notebook ------------------
def test_psi_variant_without_mistakes_is_the_reference():
    rng = np.random.default_rng(0)
    for make in (M._psi_example, M._psi_fresh, M._psi_apart, M._psi_large):
        ref, cur, bins = make(rng)
        assert M.psi_variant(ref, cur, bins) == pytest.approx(M.reference_psi(ref, cur, bins), rel=1e-12)
        if make in (M._psi_apart, M._psi_large):  # empty bins: without the floor, PSI is not finite
            assert not math.isfinite(M.psi_variant(ref, cur, bins, floor="none"))


def test_psi_inputs_reach_both_branches_of_the_empty_bin_floor():
    for seed in range(20):
        rng = np.random.default_rng(seed)
        for make, tiny in ((M._psi_apart, False), (M._psi_large, True)):
            ref, cur, bins = make(rng)
            edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins)
            share = np.histogram(ref, edges)[0] / len(ref)
            assert (share == 0).any()
            assert bool(share[share > 0].min() <= 1e-4) is tiny


def test_latency_inputs_put_the_slo_where_the_mistakes_show():
    for seed in range(20):
        log, slo = M._slo_between(np.random.default_rng(seed))
        ok = M._ok_latency(log)
        assert np.percentile(log["latency_ms"], 95) < slo < np.percentile(ok, 95)
        log, slo = M._slo_met(np.random.default_rng(seed))
        assert np.percentile(M._ok_latency(log), 95) < slo < np.percentile(M._ok_latency(log), 99)
        log, slo = M._slo_boundary(np.random.default_rng(seed))
        assert M.reference_latency(log, slo)["slo_met"] is True


def test_decide_reads_policies_as_the_package_does():
    cases = M._lesson_cases(np.random.default_rng(0))
    for seed in range(5):
        cases += M._random_cases(np.random.default_rng(seed))
    assert [M.decide(s, t) for s, t in cases] == [M.reference_decision(s, t) for s, t in cases]
    # and each misreading differs from it somewhere, so it can be recognised
    for options, _ in M._RETRAIN_VARIANTS:
        assert [M.decide(s, t, **options) for s, t in cases] != [M.reference_decision(s, t) for s, t in cases]


def test_cancelling_batches_hide_from_the_global_mean_but_not_from_per_feature_tests():
    from mlcourse.monitor.drift import naive_mean_drift

    for seed in range(40):
        reference, current = M._cancelling_batch(np.random.default_rng(seed))
        assert naive_mean_drift(reference, current)[2] is False
        assert len(M.reference_drifted(reference, current)) == 5
        reference, current = M._quiet_batch(np.random.default_rng(seed))
        assert M.reference_drifted(reference, current) == []


def test_backtest_settings_are_the_lessons():
    import json

    from mlcourse.exercises import notebook

    nb = notebook.read(notebook.lesson_path("04_monitor", "solutions"))
    text = json.dumps(nb)
    assert "BACKTEST = dict(weeks=8, rows_per_day=300, drift=DriftSpec(start_day=14, concept=True), seed=0)" in text
    from mlcourse.exercises.monitor.probes import backtest_settings

    settings = backtest_settings()
    assert (settings["weeks"], settings["rows_per_day"], settings["drift"].start_day) == (8, 300, 14)
    assert settings["drift"].concept and M.CALENDAR_RETRAINS == 4


def test_inputs_survive_the_trip_to_the_grader():
    import json

    for ex in exercises_of("04_monitor"):
        for x in ex.make_inputs(seed=7):
            if x is None:
                continue
            back = from_plain(to_plain(x))
            # JSON spells NaN the same way on both sides (states hold NaN performances).
            assert json.dumps(to_plain(back), sort_keys=True) == json.dumps(to_plain(x), sort_keys=True), ex.id
            if isinstance(x, tuple) and all(isinstance(v, pd.DataFrame) for v in x):
                for a, b in zip(back, x):
                    pd.testing.assert_frame_equal(a, b)
