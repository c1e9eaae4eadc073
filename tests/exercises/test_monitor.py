"""Lesson 04 (Monitor) exercises, each tried inside the lesson itself: the learner's stub,
the solution, correct answers written differently, and typical wrong answers with the
message that names the mistake. The same answers run on thirty secret seeds in
``test_monitor_seeds.py``.
The verdicts every lesson checks of its answer bank are in test_answer_banks.py; this module checks the
lesson's particular messages on the same walk."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlcourse.exercises import exercises_of
from mlcourse.exercises.engine import ERROR, FAILED
from mlcourse.exercises.monitor import checks as M
from mlcourse.exercises.testing import module_from_file

LESSON = "04_monitor"
A = ANSWERS = module_from_file(Path(__file__).with_name("answers_monitor.py"))
STATUS = {"failed": FAILED, "error": ERROR}


def test_a_shortcut_scores_nothing(walked):
    for ex_id, wrongs in A.WRONG.items():
        for wrong, result in zip(wrongs, list(walked[ex_id].wrong.values())):
            if "shortcut" in wrong.tags:
                assert result.score == 0 and result.status == FAILED, (ex_id, result.render())


def test_output_alerts_is_new_and_points_add_up():
    ex = {e.id: e for e in exercises_of("04_monitor")}
    assert ex["monitor.output_alerts"].points == 3
    assert sum(e.points for e in ex.values()) == 19
    for e in ex.values():  # the visible example's test is public, and every test draws fresh inputs
        assert e.public_tests, e.id
        assert all(t.inputs is not None for t in e.tests) or e.id == "monitor.backtest_policies", e.id


# -- the messages name the input they failed on ---------------------------------------------
def test_messages_say_which_input_failed(walked):
    import re

    no_floor = list(walked["monitor.psi"].wrong.values())[0]
    assert re.search(r"\[reference of \d+ values, current of \d+ values, bins=\d+\]", no_floor.message)
    everything = list(walked["monitor.latency_slo"].wrong.values())[0]
    assert "slo_ms=" in everything.message and "failed)" in everything.message
    no_guard = list(walked["monitor.output_alerts"].wrong.values())[0]
    assert "min_requests=" in no_guard.message and "alerts differ; first:" in no_guard.message


# -- the references and inputs on their own, away from the notebook ------------------------
def test_psi_variant_without_mistakes_is_the_reference():
    rng = np.random.default_rng(0)
    for make in (M._psi_like_lesson, M._psi_fresh, M._psi_apart, M._psi_large):
        ref, cur, bins = make(rng)
        assert M.psi_variant(ref, cur, bins) == pytest.approx(M.reference_psi(ref, cur, bins), rel=1e-12)
        if make in (M._psi_apart, M._psi_large):  # empty bins: without the floor, PSI is not finite
            assert not math.isfinite(M.psi_variant(ref, cur, bins, floor="none"))


def test_psi_inputs_put_empty_bins_exactly_where_they_belong():
    for seed in range(20):
        rng = np.random.default_rng(seed)
        for make in (M._psi_like_lesson, M._psi_fresh):  # no empty bin: every smoothing of empty bins agrees
            assert M._empty_bins(*make(rng)) == 0
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


def test_slo_met_is_judged_against_the_answers_own_p95():
    log, slo = M._slo_boundary(np.random.default_rng(3))
    exp = M.reference_latency(log, slo)
    one_ulp_up = dict(exp, p95_ms=math.nextafter(exp["p95_ms"], math.inf), slo_met=False)
    assert M._latency_verdict(one_ulp_up, (log, slo)) is None
    assert "not <" in M._latency_verdict(dict(exp, slo_met=False), (log, slo))


def test_decide_reads_policies_as_the_package_does():
    cases = M._lesson_cases(np.random.default_rng(0))
    for seed in range(5):
        cases += M._random_cases(np.random.default_rng(seed))
    assert [M.decide(s, t) for s, t in cases] == [M.reference_decision(s, t) for s, t in cases]
    # and each misreading differs from it somewhere, so it can be recognised
    for options, _ in M._RETRAIN_VARIANTS:
        assert [M.decide(s, t, **options) for s, t in cases] != [M.reference_decision(s, t) for s, t in cases]
    # the lesson's eight edge states come first, then fresh ones
    assert len(M._lesson_cases(np.random.default_rng(1))) == 20
    assert [s for s, _ in M._lesson_cases(np.random.default_rng(1))[:8]] == \
        [s for s, _ in M._lesson_cases(np.random.default_rng(2))[:8]]


def test_drift_batches_hide_from_the_global_mean_and_agree_with_every_sound_method():
    from scipy.stats import ks_2samp

    from mlcourse.monitor.drift import naive_mean_drift

    for seed in range(15):
        reference, current = M._cancelling_batch(np.random.default_rng(seed))
        assert naive_mean_drift(reference, current)[2] is False
        moved = M.reference_drifted(reference, current)
        assert len(moved) == 5
        bonferroni = [c for c in reference.columns if ks_2samp(reference[c], current[c]).pvalue <= 0.05 / 20]
        assert bonferroni == moved
        reference, current = M._quiet_batch(np.random.default_rng(seed))
        assert M.reference_drifted(reference, current) == []
        p = [ks_2samp(reference[c], current[c]).pvalue for c in reference.columns]
        assert min(p) > 0.05 / 20 and sum(v <= 0.05 for v in p) >= 1  # a 5 % test cries wolf, a corrected one not


def test_feature_windows_hold_the_five_and_six_value_boundary():
    reference, current = M._steady_windows(np.random.default_rng(4))
    both = pd.concat([reference, current])
    assert both["items"].nunique() == 5 and both["risk_band"].nunique() == 6
    table = M.reference_feature_drift(reference, current).set_index("feature")
    assert table.loc["items", "test"] == "jensenshannon" and table.loc["risk_band", "test"] == "wasserstein"
    assert not table["drifted"].any()


def test_output_alert_logs_hold_every_boundary():
    for seed in range(10):
        log, reference, min_requests = M._null_bug_week(np.random.default_rng(seed))
        table = M.reference_output_alerts(log, reference, min_requests)
        assert (table["null_rate"] == 0.02).sum() == 1 and not table.loc[table["null_rate"] == 0.02, "alert"].any()
        assert (table["requests"] == min_requests).sum() == 1
        assert table.loc[table["requests"] == min_requests, "alert"].all()
        tiny = table[table["requests"] < min_requests]
        assert len(tiny) == 1 and tiny["null_rate"].iloc[0] > 0.02 and not tiny["alert"].any()
        log, reference, min_requests = M._score_shift_week(np.random.default_rng(seed))
        table = M.reference_output_alerts(log, reference, min_requests)
        assert table["score_psi"].between(0.1, 0.25).sum() == 1
        assert table.loc[table["requests"] == min_requests, "alert"].all()
        assert (table["requests"] < min_requests).sum() == 1 and table["alert"].sum() == 2
        log, reference, min_requests = M._silent_week(np.random.default_rng(seed))
        table = M.reference_output_alerts(log, reference, min_requests)
        assert len(table) == 5  # one of six days has no request
        silent = table[table["null_rate"] == 1.0]
        assert len(silent) == 1 and silent["alert"].all() and silent["score_psi"].isna().all()


def test_output_alerts_reference_agrees_with_the_package_alerts():
    from mlcourse.monitor.service import Alert, evaluate_alerts, prediction_metrics, service_metrics

    log, reference, min_requests = M._null_bug_week(np.random.default_rng(1))
    table = pd.concat([service_metrics(log, "1D")[["requests"]],
                       prediction_metrics(log, "1D", reference_scores=reference)], axis=1)
    fired = evaluate_alerts(table, [Alert("null_rate", ">", 0.02, name="nulls", min_requests=min_requests),
                                    Alert("score_psi", ">=", 0.25, name="psi", min_requests=min_requests)])
    days = sorted({t.strftime("%Y-%m-%d") for t in fired.loc[fired["status"] == "fired", "window"]})
    mine = M.reference_output_alerts(log, reference, min_requests)
    assert days == mine.loc[mine["alert"], "day"].tolist()


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


def test_a_trigger_that_always_holds_is_found_from_the_table_alone():
    assert M._always_holds("drift_share", ">=", 0.0) and M._always_holds("performance", "<=", 1.0)
    assert M._always_holds("performance_drop", ">", -1.5)
    assert not M._always_holds("performance_drop", ">=", 0.1) and not M._always_holds("model_age_days", ">=", 0)


def test_inputs_survive_the_trip_to_the_grader(expect):
    expect.inputs_survive_the_trip(LESSON)
