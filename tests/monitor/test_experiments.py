"""mlcourse.monitor.experiments: the lesson experiments show what they claim about the drift tests."""
from __future__ import annotations

import numpy as np
import pytest

from mlcourse.monitor.experiments import (
    drift_kinds,
    ks_pvalue_collapse,
    plot_shares,
    psi_false_alarms,
    share_interval,
)


def test_ks_p_values_collapse_at_large_n_while_the_distance_stays_small() -> None:
    table = ks_pvalue_collapse(shift=0.05, sizes=(300, 3_000, 30_000), trials=60).set_index("n")
    # the share of trials KS flags climbs from about 5 % to all of them ...
    assert table.loc[300, "ks_flagged_low"] <= 0.05 <= table.loc[300, "ks_flagged_high"]
    assert table.loc[30_000, "ks_flagged"] == 1.0 and table.loc[30_000, "ks_median_p_value"] < 1e-4
    assert table["ks_median_p_value"].is_monotonic_decreasing and table["ks_flagged"].is_monotonic_increasing
    # ... while the gap between the distributions stays tiny (the true one is 0.02) ...
    assert table.loc[30_000, "ks_median_statistic"] < 0.03
    # ... and the normed Wasserstein distance settles near the shift, under its 0.1 cut-off
    assert table.loc[30_000, "wasserstein_mean"] == pytest.approx(0.05, abs=0.01)
    assert table.loc[30_000, "wasserstein_flagged"] == 0.0
    assert table.loc[300, "wasserstein_flagged"] > 0.2  # noisy on small samples
    assert (table["trials"] == 60).all()


def test_every_share_comes_with_its_interval() -> None:
    low, high = share_interval(2, 40)
    assert low < 2 / 40 < high and high > 0.15  # 40 trials cannot pin a 5 % rate down
    low400, high400 = share_interval(20, 400)
    assert high400 - low400 < (high - low) / 2
    assert share_interval(0, 50)[0] == 0.0 and share_interval(50, 50)[1] == 1.0
    with pytest.raises(ValueError, match="trials"):
        share_interval(0, 0)


def test_fixed_psi_cutoffs_raise_false_alarms_at_small_n() -> None:
    table = psi_false_alarms(sizes=(50, 200, 2_000), trials=300, seed=1).set_index("n")
    assert table.loc[50, "false_alarms_0.1"] >= 0.8 and table.loc[50, "false_alarms_0.25"] >= 0.5
    assert table.loc[2_000, "false_alarms_0.1_high"] < 0.02
    assert table["mean_psi"].is_monotonic_decreasing
    # same data, a test with a stated error rate: every interval holds 5 % (300 trials: about 3 % to 8 %)
    assert ((table["ks_false_alarms_low"] <= 0.05) & (0.05 <= table["ks_false_alarms_high"])).all()
    assert (table["ks_false_alarms_high"] - table["ks_false_alarms_low"] < 0.07).all()
    assert table["bins"].tolist() == [len(np.histogram_bin_edges(np.random.default_rng(0).normal(size=2 * n),
                                                                 bins="sturges")) - 1 for n in (50, 200, 2_000)]


def test_plot_shares_draws_each_share_with_its_interval() -> None:
    from matplotlib.figure import Figure

    table = psi_false_alarms(sizes=(50, 500), trials=50)
    ax = Figure().subplots()
    plot_shares(ax, table, "ks_false_alarms", "KS")
    (line, _caps, (bars,)) = ax.containers[0].lines
    assert list(line.get_xdata()) == [50, 500] and len(bars.get_segments()) == 2
    lows = [seg[0][1] for seg in bars.get_segments()]
    assert lows == pytest.approx(table["ks_false_alarms_low"].tolist())


def test_drift_kinds_look_different() -> None:
    from matplotlib.figure import Figure

    kinds = drift_kinds(days=7, rows_per_day=400, seed=0)
    t = kinds.table.set_index("kind")
    assert list(t.index) == ["none", "covariate", "prior", "concept"]
    assert t.loc["none", "input_drift_share"] == 0
    # covariate: the inputs move
    assert t.loc["covariate", "input_drift_share"] > 0
    assert {"amount", "channel"} <= set(t.loc["covariate", "drifted_features"].split(", "))
    # prior (label shift): the fraud rate jumps; the inputs move only weakly (more fraud-like
    # payments, no feature past its threshold), so the mean score rises far less than the fraud rate
    assert t.loc["prior", "input_drift_share"] == 0
    assert t.loc["prior", "fraud_rate_current"] > 2 * t.loc["prior", "fraud_rate_reference"]
    amount = {k: kinds.reports[k].table.set_index("feature").loc["amount", "statistic"] for k in ("none", "prior")}
    assert amount["none"] < amount["prior"] < 0.1
    assert t.loc["prior", "mean_score_reference"] < t.loc["prior", "mean_score_current"]
    assert t.loc["prior", "mean_score_current"] < 1.5 * t.loc["prior", "mean_score_reference"]
    assert t.loc["prior", "pr_auc_current"] > t.loc["prior", "pr_auc_reference"]  # the ranking holds
    # concept: nothing in the inputs, the ranking collapses, accuracy barely notices
    assert t.loc["concept", "input_drift_share"] == 0 and t.loc["concept", "score_psi"] < 0.1
    assert t.loc["concept", "pr_auc_current"] < 0.5 * t.loc["concept", "pr_auc_reference"]
    assert t.loc["concept", "oracle_pr_auc_current"] > 2 * t.loc["concept", "pr_auc_current"]
    assert t.loc["concept", "accuracy_current"] > 0.95
    assert set(kinds.reports) == set(t.index)
    assert isinstance(kinds.plot(), Figure)


@pytest.mark.parametrize("experiment", [ks_pvalue_collapse, psi_false_alarms])
def test_a_window_of_one_row_is_refused(experiment) -> None:
    with pytest.raises(ValueError, match="sizes must be at least 2, got 1"):
        experiment(sizes=(50, 1))
