"""Stage 4, monitoring: the lesson experiments behind the choice of drift tests.

:mod:`mlcourse.monitor.drift` holds the tests; this module shows, on data
whose truth is known, why they are used as they are:

* :func:`ks_pvalue_collapse`: a harmless shift becomes "significant" once
  the samples are large, so above 1,000 rows a distance replaces KS's p-value;
* :func:`psi_false_alarms`: a fixed PSI cut-off cries "drift" on small
  windows where nothing changed, while KS keeps its 5 %;

each repeated over many trials, every share of trials reported with its 95 %
interval (:func:`share_interval`, drawn by :func:`plot_shares`);
* :func:`drift_kinds`: covariate, prior and concept drift side by side on
  the transaction stream, seen by the drift report, the fraud rate and the
  model (:func:`mlcourse.train.fraud_model.make_fraud_model`).

It builds on :mod:`mlcourse.monitor.drift`, :mod:`mlcourse.data` and
:mod:`mlcourse.train.fraud_model`; nothing imports it but the lessons and tests.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlcourse.monitor.drift import DEFAULT_THRESHOLDS, DriftReport, drift_report, psi, wasserstein
from mlcourse.train.fraud_model import MONITORED_FEATURES, make_fraud_model, one_thread, score_metrics

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["DriftKinds", "drift_kinds", "ks_pvalue_collapse", "plot_shares", "psi_false_alarms", "share_interval"]


def _window_sizes(sizes: Sequence[int]) -> list[int]:
    """The window sizes an experiment sweeps, as ints; each needs two rows for a test to mean anything."""
    out = [int(n) for n in sizes]
    for n in out:
        if n < 2:
            raise ValueError(f"sizes must be at least 2, got {n}")
    return out


def share_interval(flagged: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson interval of a share of trials flagged (scipy's ``binomtest``).

    A share measured on a few dozen trials is itself noisy: 2 false alarms in
    40 trials is compatible with a true rate anywhere from about 1 % to 17 %.

    Examples
    --------
    >>> [round(x, 3) for x in share_interval(2, 40)]
    [0.014, 0.165]
    >>> [round(x, 3) for x in share_interval(20, 400)]
    [0.033, 0.076]
    """
    from scipy.stats import binomtest

    if trials < 1:
        raise ValueError("trials must be at least 1")
    ci = binomtest(int(flagged), int(trials)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def _share_columns(name: str, flags: Sequence[bool]) -> dict[str, float]:
    """``name``, ``name_low``, ``name_high``: the share of trials flagged and its 95 % interval."""
    k, trials = int(np.sum(flags)), len(flags)
    low, high = share_interval(k, trials)
    return {name: k / trials, f"{name}_low": low, f"{name}_high": high}


def ks_pvalue_collapse(
    shift: float = 0.05,
    sizes: Sequence[int] = (100, 1_000, 3_000, 10_000, 30_000),
    *,
    trials: int = 100,
    seed: int = 0,
) -> pd.DataFrame:
    """A tiny, harmless shift becomes "significant" once the samples are large.

    For each n, ``trials`` times: draw a reference from N(0, 1) and a current
    window from N(shift, 1), both of size n, and test them. The KS test's
    p-value answers "is there any difference at all?": as n grows its median
    falls towards 0 and the share of trials it flags climbs from about 5 %
    to nearly all of them, for a shift of a twentieth of a standard
    deviation. The normed Wasserstein distance estimates how large the
    shift is instead: noisy at small n, it settles near ``shift``, below the
    0.1 cut-off, so it stops flagging as n grows. This is why evidently
    switches to distances above 1,000 rows. Each share comes with its 95 %
    interval (:func:`share_interval`), since a share of trials is an estimate too.

    Returns
    -------
    DataFrame
        One row per n: ``n, trials, ks_median_statistic, ks_median_p_value``,
        ``ks_flagged`` (share of trials with p <= 0.05) with
        ``ks_flagged_low/high``, ``wasserstein_mean``, and
        ``wasserstein_flagged`` (share >= 0.1) with its interval.

    Examples
    --------
    >>> table = ks_pvalue_collapse(sizes=(300, 30_000), trials=40)
    >>> table[["n", "ks_flagged", "wasserstein_flagged"]].to_dict("list")
    {'n': [300, 30000], 'ks_flagged': [0.05, 1.0], 'wasserstein_flagged': [0.475, 0.0]}
    """
    from scipy.stats import ks_2samp

    if trials < 1:
        raise ValueError("trials must be at least 1")
    rng = np.random.default_rng(seed)
    rows = []
    for n in _window_sizes(sizes):
        stats, p_values, distances = [], [], []
        for _ in range(trials):
            ref = rng.normal(0.0, 1.0, n)
            cur = rng.normal(shift, 1.0, n)
            ks = ks_2samp(ref, cur)
            stats.append(float(ks.statistic))
            p_values.append(float(ks.pvalue))
            distances.append(wasserstein(ref, cur, threshold=DEFAULT_THRESHOLDS["wasserstein"]).statistic)
        distances_ = np.asarray(distances)
        rows.append({
            "n": n, "trials": trials,
            "ks_median_statistic": float(np.median(stats)),
            "ks_median_p_value": float(np.median(p_values)),
            **_share_columns("ks_flagged", np.asarray(p_values) <= DEFAULT_THRESHOLDS["ks"]),
            "wasserstein_mean": float(distances_.mean()),
            **_share_columns("wasserstein_flagged", distances_ >= DEFAULT_THRESHOLDS["wasserstein"]),
        })
    return pd.DataFrame(rows)


def psi_false_alarms(
    sizes: Sequence[int] = (50, 100, 200, 500, 1_000, 5_000),
    *,
    cutoffs: Sequence[float] = (0.1, 0.25),
    trials: int = 400,
    seed: int = 0,
) -> pd.DataFrame:
    """How often a fixed PSI cut-off cries "drift" when nothing changed.

    For each size n, ``trials`` times: draw reference and current windows of
    n rows from the *same* N(0, 1) and compute PSI with evidently's binning.
    Sampling noise alone puts about (bins - 1) x (1/n + 1/n) into PSI, so at
    small n the classic cut-offs 0.1 and 0.25 are crossed again and again,
    while a KS test at p <= 0.05 flags about 5 % of the trials at every size,
    as its p-value promises. Every share comes with its 95 % interval
    (:func:`share_interval`): with 400 trials a true 5 % reads between about
    3 % and 8 %; with 40 it could read anywhere from 0 % to 15 %. (At large n
    the tables turn; see :func:`ks_pvalue_collapse`.)

    Returns
    -------
    DataFrame
        One row per n: ``n, bins, trials, mean_psi, p95_psi``,
        ``false_alarms_<cutoff>`` (share of trials with PSI >= cutoff) and
        ``ks_false_alarms`` (p <= 0.05), each with ``_low`` and ``_high``.

    Examples
    --------
    >>> table = psi_false_alarms(sizes=(50, 5_000), trials=100)
    >>> table[["n", "false_alarms_0.1"]].to_dict("list")
    {'n': [50, 5000], 'false_alarms_0.1': [0.96, 0.0]}
    """
    from scipy.stats import ks_2samp

    if trials < 1:
        raise ValueError("trials must be at least 1")
    rng = np.random.default_rng(seed)
    rows = []
    for n in _window_sizes(sizes):
        values, ks_alarms = [], []
        for _ in range(trials):
            ref, cur = rng.standard_normal(n), rng.standard_normal(n)
            values.append(psi(ref, cur).statistic)
            ks_alarms.append(ks_2samp(ref, cur).pvalue <= DEFAULT_THRESHOLDS["ks"])
        values_ = np.asarray(values)
        row: dict[str, Any] = {
            "n": n,
            "bins": math.ceil(math.log2(2 * n) + 1),  # numpy's Sturges rule on both windows
            "trials": trials,
            "mean_psi": float(values_.mean()),
            "p95_psi": float(np.quantile(values_, 0.95)),
        }
        for c in cutoffs:
            row.update(_share_columns(f"false_alarms_{c:g}", values_ >= c))
        row.update(_share_columns("ks_false_alarms", ks_alarms))
        rows.append(row)
    return pd.DataFrame(rows)


def plot_shares(ax: Any, table: pd.DataFrame, column: str, label: str, *, marker: str = "o") -> None:
    """Draw ``table[column]`` (a share of trials) against ``n`` with its 95 % interval as error bars."""
    share = table[column].to_numpy(dtype=float)
    below = share - table[f"{column}_low"].to_numpy(dtype=float)
    above = table[f"{column}_high"].to_numpy(dtype=float) - share
    ax.errorbar(table["n"], share, yerr=[below, above], marker=marker, ms=4, capsize=3, label=label)


@dataclass
class DriftKinds:
    """What :func:`drift_kinds` measured: one row per kind of drift, and each kind's report."""

    table: pd.DataFrame
    reports: dict[str, DriftReport] = field(repr=False)

    def plot(self) -> Figure:
        """Three panels: input drift share, fraud rate, and the model's PR-AUC, per kind."""
        from matplotlib.figure import Figure

        t = self.table
        fig = Figure(figsize=(11, 3.3), layout="constrained")
        axes = fig.subplots(1, 3)
        x = np.arange(len(t))
        axes[0].bar(x, t["input_drift_share"], color="tab:blue")
        axes[0].axhline(0.5, color="crimson", lw=1, ls=":")
        axes[0].set_title("Inputs: share of features drifted")
        axes[1].bar(x - 0.2, t["fraud_rate_reference"], 0.4, label="reference")
        axes[1].bar(x + 0.2, t["fraud_rate_current"], 0.4, label="current")
        axes[1].set_title("Labels: fraud rate")
        axes[1].legend(fontsize=8)
        axes[2].bar(x - 0.2, t["pr_auc_reference"], 0.4, label="reference")
        axes[2].bar(x + 0.2, t["pr_auc_current"], 0.4, label="current")
        axes[2].scatter(x + 0.2, t["oracle_pr_auc_current"], color="k", marker="_", s=200, label="best possible")
        axes[2].set_title("Model: PR-AUC")
        axes[2].legend(fontsize=8)
        for ax in axes:
            ax.set_xticks(x, t["kind"])
        return fig


def drift_kinds(
    *,
    days: int = 14,
    rows_per_day: int = 500,
    seed: int = 0,
    covariate: Mapping[str, float] | None = None,
    prior: float = 0.08,
) -> DriftKinds:
    """Covariate, prior and concept drift side by side, on the transaction stream.

    For each kind (and a no-drift control) a :func:`mlcourse.data.production_stream`
    runs ``days`` days as before, then ``days`` days drifted. A fraud model
    (:func:`mlcourse.train.fraud_model.make_fraud_model`) is trained on the first
    period (its last 3 days held out to score it), then scores the second.
    What each kind looks like from where monitoring stands:

    * **covariate** (the inputs move, the rule stays): the drift report
      lights up; the fraud rate follows the inputs; the model mostly copes;
    * **prior** (label shift: fraud gets commoner, and each fraud and each
      legitimate payment looks as before): the fraud rate jumps; the inputs
      move only weakly, towards fraud-like payments (at a few percent of
      fraud, rarely past a drift threshold); the mean score rises far less
      than the fraud rate (the model's probabilities are now too low), and
      ranking quality holds;
    * **concept** (the rule changes, the inputs stay): no input drift, a
      similar fraud rate, and the model collapses: invisible in the inputs,
      visible only once labels arrive.

    Returns
    -------
    DriftKinds
        ``.table`` with one row per kind: ``input_drift_share``,
        ``drifted_features``, ``fraud_rate_reference/current``,
        ``mean_score_reference/current``, ``score_psi``,
        ``pr_auc_reference/current``, ``oracle_pr_auc_current`` and
        ``accuracy_current``; ``.reports`` the drift reports; ``.plot()``.

    Examples
    --------
    >>> kinds = drift_kinds(days=7, rows_per_day=300)
    >>> kinds.table.set_index("kind")["input_drift_share"].gt(0).to_dict()
    {'none': False, 'covariate': True, 'prior': False, 'concept': False}
    """
    from mlcourse.data.generate import DriftSpec, fraud_probability, production_stream

    if days < 4:
        raise ValueError("days must be at least 4 (3 are held out to score the model)")
    specs = {
        "none": DriftSpec(),
        "covariate": DriftSpec(start_day=days, covariate=dict(covariate or {"amount": 2.0, "channel": 0.3})),
        "prior": DriftSpec(start_day=days, prior=prior),
        "concept": DriftSpec(start_day=days, concept=True),
    }
    rows, reports = [], {}
    model = None
    with one_thread():
        for kind, spec in specs.items():
            batches = production_stream(2 * days, rows_per_day, seed, drift=spec)
            X = pd.concat([b.features for b in batches], ignore_index=True)
            y = pd.concat([b.labels for b in batches], ignore_index=True).to_numpy()
            ref, cur = slice(0, days * rows_per_day), slice(days * rows_per_day, None)
            fit, hold = slice(0, (days - 3) * rows_per_day), slice((days - 3) * rows_per_day, days * rows_per_day)
            if model is None:  # the history is the same for every kind: train once
                model = make_fraud_model().fit(X.iloc[fit], y[fit])
            s_ref = model.predict_proba(X.iloc[ref])[:, 1]
            s_cur = model.predict_proba(X.iloc[cur])[:, 1]
            report = drift_report(X.iloc[ref][MONITORED_FEATURES], X.iloc[cur][MONITORED_FEATURES])
            reports[kind] = report
            oracle = fraud_probability(X.iloc[cur], concept=spec.concept)
            hold_scores = s_ref[(days - 3) * rows_per_day:]
            rows.append({
                "kind": kind,
                "input_drift_share": report.share,
                "drifted_features": ", ".join(report.drifted_features),
                "fraud_rate_reference": float(y[ref].mean()),
                "fraud_rate_current": float(y[cur].mean()),
                "mean_score_reference": float(s_ref.mean()),
                "mean_score_current": float(s_cur.mean()),
                "score_psi": psi(s_ref, s_cur).statistic,
                "pr_auc_reference": score_metrics(y[hold], hold_scores)["pr_auc"],
                "pr_auc_current": score_metrics(y[cur], s_cur)["pr_auc"],
                "oracle_pr_auc_current": score_metrics(y[cur], oracle)["pr_auc"],
                "accuracy_current": score_metrics(y[cur], s_cur)["accuracy"],
            })
    return DriftKinds(table=pd.DataFrame(rows), reports=reports)
