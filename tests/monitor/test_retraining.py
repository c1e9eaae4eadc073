"""mlcourse.monitor.retraining: the policy table, the backtest and the feedback loop."""
from __future__ import annotations

import pandas as pd
import pytest

from mlcourse.data.generate import DriftSpec
from mlcourse.deploy.registry import alias_history, get_alias, load_model
from mlcourse.monitor.retraining import (
    BacktestResult,
    Decision,
    FeedbackLoop,
    MonitoringState,
    RetrainPolicy,
    Rule,
    ShadowResult,
    backtest,
    run_feedback_loop,
    should_retrain,
)
from mlcourse.train.fraud_model import MODEL_FEATURES, make_fraud_model

# --------------------------------------------------------------------------- policy


def test_state_and_rules() -> None:
    state = MonitoringState(performance=0.2, baseline_performance=0.3, drift_share=0.25,
                            new_labels=800, model_age_days=10)
    assert state.performance_drop == pytest.approx(0.1)
    assert MonitoringState().performance_drop is None
    assert Rule.parse("drift_share >= 0.25").check(state) == (True, "drift_share 0.25 >= 0.25")
    assert Rule("new_labels", ">=", 1000).check(state) == (False, "new_labels 800 < 1000")
    assert Rule("performance_drop", ">", 0.05).check(MonitoringState()) == (None, "performance_drop unknown")
    with pytest.raises(ValueError, match="unknown state metric"):
        Rule("accuracy", ">", 1)
    with pytest.raises(ValueError, match="op must be"):
        Rule("drift_share", "=", 1)
    with pytest.raises(ValueError, match="metric op number"):
        Rule.parse("drift_share is high")
    with pytest.raises(ValueError, match="number"):
        Rule.parse("drift_share >= high")


def test_policy_table_semantics() -> None:
    policy = RetrainPolicy.from_table([
        ("trigger", "performance_drop", ">=", 0.1),
        ("trigger", "drift_share", ">=", 0.5),
        ("trigger", "model_age_days", ">=", 90),
        ("require", "new_labels", ">=", 1000),
    ])
    quiet = MonitoringState(performance=0.3, baseline_performance=0.31, drift_share=0.1, new_labels=5000,
                            model_age_days=10)
    assert policy.decide(quiet) == Decision(False, [
        "no trigger fired: performance_drop 0.01 < 0.1; drift_share 0.1 < 0.5; model_age_days 10 < 90"])
    dropped = MonitoringState(performance=0.1, baseline_performance=0.3, drift_share=0.6, new_labels=5000)
    decision = policy.decide(dropped)
    assert decision and decision.reasons == ["performance_drop 0.2 >= 0.1", "drift_share 0.6 >= 0.5",
                                             "new_labels 5000 >= 1000"]
    starved = policy.decide(MonitoringState(drift_share=0.6, new_labels=10))
    assert not starved and starved.reasons[-1] == "blocked: new_labels 10 < 1000"
    # no labels yet: the performance trigger cannot fire, the others still can
    assert policy.decide({"model_age_days": 120, "new_labels": 2000}).retrain
    assert not policy.decide({"new_labels": 2000}).retrain
    # the table round-trips
    again = RetrainPolicy.from_table(policy.table())
    assert again.triggers == policy.triggers and again.requires == policy.requires
    with pytest.raises(ValueError, match="kind must be"):
        RetrainPolicy.from_table([("maybe", "drift_share", ">=", 0.5)])


def test_sustained_drop_needs_the_drop_in_both_windows() -> None:
    once = MonitoringState(performance=0.18, previous_performance=0.31, baseline_performance=0.33, new_labels=5000)
    twice = MonitoringState(performance=0.02, previous_performance=0.17, baseline_performance=0.33, new_labels=5000)
    assert once.performance_drop == pytest.approx(0.15) and once.sustained_drop == pytest.approx(0.02)
    assert twice.sustained_drop == pytest.approx(0.16)
    assert MonitoringState(performance=0.1, baseline_performance=0.3).sustained_drop is None  # one window only
    assert MonitoringState(performance=0.1, previous_performance=float("nan"), baseline_performance=0.3) \
        .sustained_drop is None
    policy = RetrainPolicy.from_table([("trigger", "sustained_drop", ">=", 0.15), ("require", "new_labels", ">=", 1000)])
    assert not policy.decide(once) and policy.decide(twice)
    assert policy.decide(once).reasons == ["no trigger fired: sustained_drop 0.02 < 0.15"]
    assert RetrainPolicy.from_table(policy.table()).triggers == policy.triggers


def test_ready_made_policies_and_should_retrain() -> None:
    old = MonitoringState(model_age_days=7, new_labels=0)
    assert not RetrainPolicy.never().decide(old)
    assert RetrainPolicy.scheduled(7).decide(old)
    assert not RetrainPolicy.scheduled(7, min_new_labels=100).decide(old)
    assert RetrainPolicy.triggered(max_age_days=30).decide({"model_age_days": 31, "new_labels": 5000})
    assert should_retrain(performance=0.1, baseline_performance=0.3, new_labels=2000)
    assert not should_retrain(MonitoringState(drift_share=0.9, new_labels=10))
    assert should_retrain({"drift_share": 0.9, "new_labels": 10}, policy=RetrainPolicy.triggered(min_new_labels=0))
    with pytest.raises(TypeError, match="either a state"):
        should_retrain(MonitoringState(), drift_share=0.5)


# --------------------------------------------------------------------------- backtest


@pytest.fixture(scope="module")
def result() -> BacktestResult:
    # the default story: ten weeks, concept drift from week 4, labels a week late
    return backtest(weeks=10, seed=0)


def test_backtest_compares_the_three_policies(result) -> None:
    s = result.summary.set_index("policy")
    assert list(s.index) == ["never", "scheduled (7 d)", "triggered"]
    assert s.loc["never", "retrains"] == 0
    assert s.loc["scheduled (7 d)", "retrains"] == 10
    assert 1 <= s.loc["triggered", "retrains"] <= 5
    weekly = result.weekly
    assert len(weekly) == 30 and (weekly.groupby("policy")["week"].apply(list) == [list(range(10))] * 3).all()
    never = weekly[weekly["policy"] == "never"].set_index("week")
    # before the drift the model is about as good as the true rule allows ...
    assert (never.loc[:3, "oracle"] - never.loc[:3, "pr_auc"]).abs().max() < 0.06
    # ... after it, ranking collapses to the fraud rate while accuracy hardly moves
    assert never.loc[4:, "pr_auc"].max() < 0.05
    assert never.loc[4:, "accuracy"].min() > 0.95
    assert (never.loc[4:, "drift_share"] == 0).all()  # concept drift: the inputs did not move
    # retraining recovers; triggered gets there with far fewer retrains than the schedule
    late = s["mean_pr_auc_after_drift"]
    assert late["triggered"] > 2 * late["never"] and late["scheduled (7 d)"] > 2 * late["never"]
    last = weekly[weekly["week"] >= 8].groupby("policy")["pr_auc"].mean()
    assert last["triggered"] > 0.08 and last["never"] < 0.05
    trig = weekly[(weekly["policy"] == "triggered") & weekly["retrained"]]
    assert trig["week"].min() >= 4 and trig["reasons"].str.contains("performance_drop").all()


def test_backtest_plot_and_arguments(result) -> None:
    from matplotlib.figure import Figure

    fig = result.plot()
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert {t.get_text() for t in fig.axes[0].get_legend().get_texts()} >= {"never", "triggered"}
    with pytest.raises(ValueError, match="metric"):
        backtest(weeks=1, metric="f1")
    with pytest.raises(ValueError, match="names must differ"):
        backtest([RetrainPolicy.never(), RetrainPolicy.never()], weeks=1)
    with pytest.raises(ValueError, match="weeks"):
        backtest(weeks=0)


def test_backtest_reports_what_fired_and_the_previous_window(result) -> None:
    trig = result.weekly[result.weekly["policy"] == "triggered"]
    fired = trig.loc[trig["retrained"], "fired_triggers"]
    assert len(fired) and fired.str.contains("performance_drop").all()
    quiet = trig.loc[~trig["retrained"] & trig["seen_performance"].isna(), "fired_triggers"]
    assert (quiet == "").all()
    # the previous window is the week before the one just labelled, while the same model served it
    never = result.weekly[result.weekly["policy"] == "never"].set_index("week")
    assert never["seen_previous_performance"].iloc[3:].tolist() == never["seen_performance"].iloc[2:-1].tolist()


def test_backtests_on_one_stream_share_its_models_and_give_the_same_answer() -> None:
    from mlcourse.monitor import retraining

    kw = {"weeks": 3, "rows_per_day": 200, "drift": DriftSpec(start_day=7, concept=True), "seed": 11}
    first = backtest([RetrainPolicy.never(), RetrainPolicy.scheduled(7)], **kw)
    stream = next(s for s in retraining._STREAMS.values() if s.rows == 200 and s.weeks == 3)
    fitted = dict(stream.fits)
    again = backtest([RetrainPolicy.scheduled(7), RetrainPolicy.never()], **kw)
    assert all(stream.fits[k] is v for k, v in fitted.items())  # the same fitted models, not refitted
    by_policy = lambda r: r.weekly.sort_values(["policy", "week"]).reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(by_policy(first), by_policy(again))
    # a custom model factory never shares the cached fits
    custom = backtest([RetrainPolicy.scheduled(7)], model_factory=lambda: make_fraud_model(), **kw)
    assert custom.summary["retrains"].tolist() == [3]
    assert len(retraining._STREAMS) <= retraining._KEEP_STREAMS


def test_backtest_without_drift_is_quiet_and_reproducible() -> None:
    kw = {"weeks": 4, "rows_per_day": 400, "drift": DriftSpec(), "seed": 1}
    a, b = backtest(**kw), backtest(**kw)
    pd.testing.assert_frame_equal(a.weekly, b.weekly)
    assert a.drift_week is None
    trig = a.weekly[a.weekly["policy"] == "triggered"]
    assert not trig["retrained"].any()
    assert (trig["seen_performance"].dropna() > 0.2).all()
    # (at a few hundred rows a day a week holds a few dozen frauds, and PR-AUC
    # noise alone can cross a 0.1 drop: try rows_per_day=200, seed=5)


# --------------------------------------------------------------------------- feedback loop


def test_feedback_loop_step_by_step(tmp_path) -> None:
    loop = FeedbackLoop(tmp_path, weeks=7, rows_per_day=300, drift=DriftSpec(start_day=7, concept=True))
    with pytest.raises(RuntimeError, match="bootstrap"):
        loop.serve(7)
    v1 = loop.bootstrap()
    assert v1.version == 1 and get_alias("fraud-detector", "production", registry=tmp_path) == 1
    assert v1.metadata["feature_names"] == MODEL_FEATURES
    served = loop.serve(28)
    assert served["day"].tolist() == list(range(28)) and set(served["version"]) == {1}
    state = loop.state()
    assert state.model_age_days == 28 and state.drift_share == 0 and state.performance_drop > 0.1
    with pytest.raises(RuntimeError, match="train_candidate"):
        loop.shadow()
    assert loop.decide().retrain
    v2 = loop.train_candidate()
    assert v2.version == 2 and get_alias("fraud-detector", "candidate", registry=tmp_path) == 2
    served_before = loop.weekly()
    result = loop.shadow(days=7)
    assert isinstance(result, ShadowResult) and result.days == tuple(range(28, 35))
    # a shadow: every request of those days was answered by the incumbent, never by the candidate
    assert loop.weekly()["versions"].tolist() == ["v1"] * 6 and len(served_before) == 4
    assert loop.day == 42  # seven shadow days, then a week waiting for their labels
    assert result.gain > 0 and result.share_better >= 0.8 and result.promote
    assert "promote" in str(result)
    assert loop.promote() == 1
    assert get_alias("fraud-detector", "production", registry=tmp_path) == 2
    model, meta = load_model("fraud-detector", "production", registry=tmp_path)
    assert meta["version"] == 2 and model.predict_proba(loop.stream.features(0, 1)).shape == (300, 2)
    last = alias_history("fraud-detector", "production", registry=tmp_path).iloc[-1]
    assert (last["from"], last["to"], last["action"]) == (1, 2, "promote")
    loop.serve(7)
    with pytest.raises(ValueError, match="days of traffic left"):
        loop.serve(1)
    weekly = loop.weekly()
    assert weekly["versions"].tolist() == ["v1"] * 6 + ["v2"]
    assert [e["event"] for e in loop.events] == ["deployed", "retrain decided", "candidate trained", "shadow",
                                                 "promoted"]


def test_feedback_loop_recovers_after_concept_drift(tmp_path) -> None:
    from matplotlib.figure import Figure

    loop = run_feedback_loop(tmp_path, weeks=12, seed=0)
    weekly = loop.weekly().set_index("week")
    assert len(weekly) == 12 and weekly["days"].sum() == 84
    assert weekly.loc[0, "pr_auc"] > 0.25  # healthy before the drift (day 21)
    assert weekly.loc[3:8, "pr_auc"].max() < 0.05  # broken after it
    recovered = weekly.loc[10:, "pr_auc"]
    assert recovered.min() > 0.08  # back ...
    assert (weekly.loc[10:, "oracle"] - recovered).abs().max() < 0.05  # ... to what the new rule allows
    events = pd.DataFrame(loop.events)
    assert "promoted" in set(events["event"])
    promoted = events[events["event"] == "promoted"]["detail"].iloc[-1]
    version = int(promoted.split()[0][1:])
    assert get_alias("fraud-detector", "production", registry=tmp_path) == version > 1
    assert isinstance(loop.plot(), Figure)


def test_model_factory_is_small_and_fast() -> None:
    from mlcourse.data.generate import production_stream

    days = production_stream(n_days=5, rows_per_day=200, seed=2)
    X = pd.concat([b.features for b in days])
    y = pd.concat([b.labels for b in days])
    model = make_fraud_model().fit(X, y)
    unseen = X.head(3).assign(channel="telepathy")  # an unknown category is all zeros, not an error
    assert model.predict_proba(unseen).shape == (3, 2)
