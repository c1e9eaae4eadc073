"""mlcourse.monitor.experiments: the lesson experiments show what they claim about the drift tests."""
from __future__ import annotations

import numpy as np
import pytest

from mlcourse.monitor.experiments import drift_kinds, ks_pvalue_collapse, psi_false_alarms


def test_ks_p_values_collapse_at_large_n_while_the_distance_stays_small() -> None:
    table = ks_pvalue_collapse(shift=0.02, sizes=(1_000, 10_000, 300_000)).set_index("n")
    assert not table.loc[1_000, "ks_drifted"]
    assert table.loc[300_000, "ks_p_value"] < 1e-6 and table.loc[300_000, "ks_drifted"]
    # the gap between the distributions is tiny (the true one is 0.008) ...
    assert table.loc[300_000, "ks_statistic"] < 0.02
    # ... and the normed Wasserstein distance says so
    assert (table["wasserstein"] < 0.1).all() and not table["wasserstein_drifted"].any()
    assert table.loc[300_000, "wasserstein"] == pytest.approx(0.02, abs=0.01)


def test_fixed_psi_cutoffs_raise_false_alarms_at_small_n() -> None:
    table = psi_false_alarms(sizes=(50, 200, 2_000), trials=100, seed=1).set_index("n")
    assert table.loc[50, "false_alarms_0.1"] >= 0.8 and table.loc[50, "false_alarms_0.25"] >= 0.5
    assert table.loc[2_000, "false_alarms_0.1"] == 0.0
    assert table["mean_psi"].is_monotonic_decreasing
    # same data, a test with a stated error rate: about 5 % false alarms at every n
    assert table["ks_false_alarms"].between(0.0, 0.15).all()
    assert table["bins"].tolist() == [len(np.histogram_bin_edges(np.random.default_rng(0).normal(size=2 * n),
                                                                 bins="sturges")) - 1 for n in (50, 200, 2_000)]


def test_drift_kinds_look_different() -> None:
    from matplotlib.figure import Figure

    kinds = drift_kinds(days=7, rows_per_day=400, seed=0)
    t = kinds.table.set_index("kind")
    assert list(t.index) == ["none", "covariate", "prior", "concept"]
    assert t.loc["none", "input_drift_share"] == 0
    # covariate: the inputs move
    assert t.loc["covariate", "input_drift_share"] > 0
    assert {"amount", "channel"} <= set(t.loc["covariate", "drifted_features"].split(", "))
    # prior: the inputs stay, the fraud rate jumps, the model's scores do not follow
    assert t.loc["prior", "input_drift_share"] == 0
    assert t.loc["prior", "fraud_rate_current"] > 2 * t.loc["prior", "fraud_rate_reference"]
    assert t.loc["prior", "mean_score_current"] < 1.5 * t.loc["prior", "mean_score_reference"]
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
