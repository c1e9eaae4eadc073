"""Stage 4, monitoring: the lesson experiments behind the choice of drift tests.

:mod:`mlcourse.monitor.drift` holds the tests; this module shows, on data
whose truth is known, why they are used as they are:

* :func:`ks_pvalue_collapse`: a harmless shift becomes "significant" once
  the samples are large, so above 1,000 rows a distance replaces KS's p-value;
* :func:`psi_false_alarms`: a fixed PSI cut-off cries "drift" on small
  windows where nothing changed;
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

from mlcourse.monitor.drift import DEFAULT_THRESHOLDS, DriftReport, drift_report, ks_test, psi, wasserstein
from mlcourse.train.fraud_model import MONITORED_FEATURES, make_fraud_model, one_thread, score_metrics

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["DriftKinds", "drift_kinds", "ks_pvalue_collapse", "psi_false_alarms"]


def _window_sizes(sizes: Sequence[int]) -> list[int]:
    """The window sizes an experiment sweeps, as ints; each needs two rows for a test to mean anything."""
    out = [int(n) for n in sizes]
    for n in out:
        if n < 2:
            raise ValueError(f"sizes must be at least 2, got {n}")
    return out


def ks_pvalue_collapse(
    shift: float = 0.02,
    sizes: Sequence[int] = (100, 1_000, 10_000, 100_000, 1_000_000),
    *,
    seed: int = 0,
) -> pd.DataFrame:
    """A tiny, harmless shift becomes "significant" once the samples are large.

    For each n, draws a reference from N(0, 1) and a current window from
    N(shift, 1), both of size n, and tests them. The KS statistic (the gap
    between the two distributions) stays about the same, but its p-value
    collapses towards 0 as n grows, so "p <= 0.05" ends up flagging a shift
    of 2 % of a standard deviation. The normed Wasserstein distance
    measures the size of the shift instead, and stays near ``shift`` at
    every n: this is why evidently switches to distances above 1,000 rows.

    Returns
    -------
    DataFrame
        ``n, ks_statistic, ks_p_value, ks_drifted, wasserstein, wasserstein_drifted``.

    Examples
    --------
    >>> table = ks_pvalue_collapse(sizes=(1_000, 300_000))
    >>> table["ks_drifted"].tolist(), table["wasserstein_drifted"].tolist()
    ([False, True], [False, False])
    """
    rng = np.random.default_rng(seed)
    rows = []
    for n in _window_sizes(sizes):
        ref = rng.normal(0.0, 1.0, n)
        cur = rng.normal(shift, 1.0, n)
        ks = ks_test(ref, cur)
        w = wasserstein(ref, cur, threshold=DEFAULT_THRESHOLDS["wasserstein"])
        rows.append({"n": n, "ks_statistic": ks.statistic, "ks_p_value": ks.p_value, "ks_drifted": ks.drifted,
                     "wasserstein": w.statistic, "wasserstein_drifted": w.drifted})
    return pd.DataFrame(rows)


def psi_false_alarms(
    sizes: Sequence[int] = (50, 100, 200, 500, 1_000, 5_000),
    *,
    cutoffs: Sequence[float] = (0.1, 0.25),
    trials: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """How often a fixed PSI cut-off cries "drift" when nothing changed.

    For each size n, ``trials`` times: draw reference and current windows of
    n rows from the *same* N(0, 1) and compute PSI with evidently's binning.
    Sampling noise alone puts about (bins - 1) x (1/n + 1/n) into PSI, so at
    small n the classic cut-offs 0.1 and 0.25 are crossed again and again,
    while a KS test at p <= 0.05 keeps its promised 5 % false alarms at
    every size. (At large n the tables turn; see :func:`ks_pvalue_collapse`.)

    Returns
    -------
    DataFrame
        One row per n: ``n, bins, mean_psi, p95_psi``, ``false_alarms_<cutoff>``
        (share of trials with PSI >= cutoff) and ``ks_false_alarms``.

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
        values, ks_alarms = [], 0
        for _ in range(trials):
            ref, cur = rng.standard_normal(n), rng.standard_normal(n)
            values.append(psi(ref, cur).statistic)
            ks_alarms += ks_2samp(ref, cur).pvalue <= DEFAULT_THRESHOLDS["ks"]
        values = np.asarray(values)
        row: dict[str, Any] = {
            "n": n,
            "bins": math.ceil(math.log2(2 * n) + 1),  # numpy's Sturges rule on both windows
            "mean_psi": float(values.mean()),
            "p95_psi": float(np.quantile(values, 0.95)),
        }
        for c in cutoffs:
            row[f"false_alarms_{c:g}"] = float(np.mean(values >= c))
        row["ks_false_alarms"] = ks_alarms / trials
        rows.append(row)
    return pd.DataFrame(rows)


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
    * **prior** (fraud gets commoner, the inputs stay): no input drift, the
      fraud rate jumps, the mean score does not follow (the model's
      probabilities are now too low), ranking quality holds;
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
