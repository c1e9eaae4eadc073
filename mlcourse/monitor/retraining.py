"""Stage 4 back to stage 2: when to retrain, and closing the feedback loop.

Monitoring ends in a decision: keep the model, or retrain it on newer data.
This module makes that decision explicit and testable.

* :class:`RetrainPolicy` is a small table of rules over a
  :class:`MonitoringState` (performance drop, drift share, new labels,
  model age); ``policy.decide(state)`` returns a :class:`Decision` with its
  reasons. :func:`should_retrain` is the one-call form.
* :func:`backtest` replays weeks of :func:`mlcourse.data.production_stream`
  under several policies (never, scheduled, triggered) and reports how
  often each retrained against how well its model did, week by week.
* :class:`FeedbackLoop` closes the loop step by step on a drifting stream:
  serve, monitor, retrain a candidate on newly labelled production data,
  register it (alias ``candidate``), run it in **shadow** next to the
  incumbent on fresh traffic (it scores every request, but its answers are
  never served), promote it (alias ``production``, through
  :func:`mlcourse.deploy.registry.promote`, so it can be rolled back).
  :func:`run_feedback_loop` runs the whole story.

Noise: a week of traffic holds a few dozen frauds, so a weekly PR-AUC moves
by several hundredths on its own, and a single window's drop can cross a
trigger's threshold by chance. ``sustained_drop`` is the noise-aware form of
``performance_drop``: the smaller drop of the last two labelled windows, so a
trigger on it fires only when two windows in a row are below the baseline
(:attr:`MonitoringState.sustained_drop`).

Which metric? Fraud is about 3 % of the traffic, so a model that never says
"fraud" is 97 % accurate: accuracy hardly moves when the model breaks.
The backtest and the loop therefore score models by **PR-AUC** (average
precision): it looks only at how well the frauds are ranked above the
legitimate payments, its floor is the fraud rate (a random ranking), and it
needs no decision threshold, which would itself have to be re-tuned after a
drift. Accuracy and ROC-AUC are reported alongside for comparison.

Examples
--------
>>> policy = RetrainPolicy.triggered(max_drop=0.1, max_drift_share=0.5, min_new_labels=1000)
>>> state = MonitoringState(performance=0.12, baseline_performance=0.31, drift_share=0.1,
...                         new_labels=5600, model_age_days=21)
>>> decision = policy.decide(state)
>>> decision.retrain, decision.reasons
(True, ['performance_drop 0.19 >= 0.1', 'new_labels 5600 >= 1000'])
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

# The fraud model is defined in the Train stage; the names below are re-exported
# because the lessons reach the model through this module (retraining.score_metrics).
from mlcourse.monitor.thresholds import NEGATION, Threshold
from mlcourse.train.fraud_model import (
    MODEL_FEATURES,
    MONITORED_FEATURES,
    make_fraud_model,
    one_thread,
    score_metric,
    score_metrics,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from mlcourse.data.generate import Batch, DriftSpec

__all__ = [
    "MODEL_FEATURES",
    "MONITORED_FEATURES",
    "BacktestResult",
    "Decision",
    "FeedbackLoop",
    "MonitoringState",
    "RetrainPolicy",
    "Rule",
    "ShadowResult",
    "backtest",
    "make_fraud_model",
    "run_feedback_loop",
    "score_metrics",
    "should_retrain",
]

# --------------------------------------------------------------------------- the policy


@dataclass(frozen=True)
class MonitoringState:
    """What monitoring knows when a retraining decision is due.

    Attributes
    ----------
    performance : float or None
        The model's current metric (PR-AUC, say) on recently labelled
        traffic; None while no labels have arrived.
    baseline_performance : float or None
        The same metric when the model was trained (on held-out data).
    drift_share : float or None
        Share of monitored features that drifted (:func:`mlcourse.monitor.drift.drift_report`).
    new_labels : int
        Labelled rows that arrived since the model's training data ends.
    model_age_days : float
        Days since the model was trained.
    previous_performance : float or None
        The same metric on the labelled window before the latest one (None
        when the model has not served that long, or no labels yet).

    Examples
    --------
    >>> state = MonitoringState(performance=0.18, previous_performance=0.30, baseline_performance=0.32)
    >>> round(state.performance_drop, 2), round(state.sustained_drop, 2)
    (0.14, 0.02)
    """

    performance: float | None = None
    baseline_performance: float | None = None
    drift_share: float | None = None
    new_labels: int = 0
    model_age_days: float = 0.0
    previous_performance: float | None = None

    @property
    def performance_drop(self) -> float | None:
        """``baseline_performance - performance`` (positive = worse), None if either is unknown."""
        return _drop(self.baseline_performance, self.performance)

    @property
    def sustained_drop(self) -> float | None:
        """The smaller drop of the last two labelled windows: ``performance_drop`` that held twice.

        ``sustained_drop >= 0.1`` means both windows were at least 0.1 below the
        baseline; one bad week of noise is not enough. None unless both are known.
        """
        now = _drop(self.baseline_performance, self.performance)
        before = _drop(self.baseline_performance, self.previous_performance)
        return None if now is None or before is None else min(now, before)

    def value(self, metric: str) -> float | None:
        """A field, ``performance_drop`` or ``sustained_drop`` by name."""
        if metric == "performance_drop":
            return self.performance_drop
        if metric == "sustained_drop":
            return self.sustained_drop
        if metric not in STATE_METRICS:
            raise ValueError(f"unknown state metric {metric!r}; choose from {sorted(STATE_METRICS)}")
        value = getattr(self, metric)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return float(value)


STATE_METRICS = ("performance", "baseline_performance", "performance_drop", "drift_share",
                 "new_labels", "model_age_days", "previous_performance", "sustained_drop")


def _known(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _drop(baseline: float | None, performance: float | None) -> float | None:
    """``baseline - performance``, None if either is unknown (None or NaN)."""
    if not (_known(baseline) and _known(performance)):
        return None
    return float(baseline) - float(performance)


def _fmt(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() and abs(x) >= 1 else f"{x:.3g}"


@dataclass(frozen=True)
class Rule(Threshold):
    """One row of a policy: ``metric op threshold``, e.g. ``drift_share >= 0.5``.

    Examples
    --------
    >>> Rule.parse("model_age_days >= 30").check(MonitoringState(model_age_days=45))
    (True, 'model_age_days 45 >= 30')
    """

    kind: ClassVar[str] = "rule"

    def __post_init__(self) -> None:
        if self.metric not in STATE_METRICS:
            raise ValueError(f"unknown state metric {self.metric!r}; choose from {sorted(STATE_METRICS)}")
        super().__post_init__()

    def check(self, state: MonitoringState) -> tuple[bool | None, str]:
        """(holds?, explanation); holds is None when the state lacks the value."""
        value = state.value(self.metric)
        if value is None:
            return None, f"{self.metric} unknown"
        holds = self.holds(value)
        shown = self.op if holds else NEGATION[self.op]
        return holds, f"{self.metric} {_fmt(value)} {shown} {_fmt(float(self.threshold))}"


@dataclass(frozen=True)
class Decision:
    """Retrain or not, and why. Truthy when ``retrain``."""

    retrain: bool
    reasons: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.retrain


def _rules(items: Iterable[Rule | str | tuple]) -> tuple[Rule, ...]:
    out = []
    for item in items:
        if isinstance(item, Rule):
            out.append(item)
        elif isinstance(item, str):
            out.append(Rule.parse(item))
        else:
            out.append(Rule(*item))
    return tuple(out)


@dataclass(frozen=True)
class RetrainPolicy:
    """A retraining policy as a small table: triggers OR-ed, requirements AND-ed.

    Retrain when **any** trigger holds and **every** requirement holds.
    A trigger whose value is unknown (no labels yet) does not fire; a
    requirement whose value is unknown blocks.

    Parameters
    ----------
    triggers : rules
        Reasons to retrain: a performance drop, drift, age...
    requires : rules
        Conditions without which retraining is pointless, e.g. enough new
        labels to learn from.
    name : str

    Examples
    --------
    >>> policy = RetrainPolicy.from_table([
    ...     ("trigger", "performance_drop", ">=", 0.1),
    ...     ("trigger", "drift_share", ">=", 0.5),
    ...     ("require", "new_labels", ">=", 1000),
    ... ], name="mine")
    >>> policy.decide(MonitoringState(drift_share=0.6, new_labels=200))
    Decision(retrain=False, reasons=['drift_share 0.6 >= 0.5', 'blocked: new_labels 200 < 1000'])
    >>> policy.table()["metric"].tolist()
    ['performance_drop', 'drift_share', 'new_labels']
    """

    triggers: tuple[Rule, ...] = ()
    requires: tuple[Rule, ...] = ()
    name: str = "policy"

    def __post_init__(self) -> None:
        object.__setattr__(self, "triggers", _rules(self.triggers))
        object.__setattr__(self, "requires", _rules(self.requires))

    # ---- construction
    @classmethod
    def from_table(cls, rows: Any, name: str = "policy") -> RetrainPolicy:
        """Build from rows ``(kind, metric, op, threshold)``, kind ``"trigger"`` or
        ``"require"``; a DataFrame with those columns works too."""
        if isinstance(rows, pd.DataFrame):
            rows = rows[["kind", "metric", "op", "threshold"]].itertuples(index=False, name=None)
        triggers, requires = [], []
        for kind, metric, op, threshold in rows:
            if kind not in ("trigger", "require"):
                raise ValueError(f"kind must be 'trigger' or 'require', got {kind!r}")
            (triggers if kind == "trigger" else requires).append(Rule(metric, op, float(threshold)))
        return cls(tuple(triggers), tuple(requires), name)

    @classmethod
    def never(cls) -> RetrainPolicy:
        """Never retrain: the model shipped is the model forever."""
        return cls((), (), "never")

    @classmethod
    def scheduled(cls, every_days: float = 7, min_new_labels: int = 0) -> RetrainPolicy:
        """Retrain on a calendar: whenever the model is ``every_days`` old."""
        requires = (Rule("new_labels", ">=", min_new_labels),) if min_new_labels else ()
        return cls((Rule("model_age_days", ">=", every_days),), requires, f"scheduled ({_fmt(every_days)} d)")

    @classmethod
    def triggered(
        cls,
        max_drop: float | None = 0.1,
        max_drift_share: float | None = 0.5,
        max_age_days: float | None = None,
        min_new_labels: int = 1000,
    ) -> RetrainPolicy:
        """Retrain when performance dropped, inputs drifted or the model is old,
        and enough new labels have arrived."""
        triggers = []
        if max_drop is not None:
            triggers.append(Rule("performance_drop", ">=", max_drop))
        if max_drift_share is not None:
            triggers.append(Rule("drift_share", ">=", max_drift_share))
        if max_age_days is not None:
            triggers.append(Rule("model_age_days", ">=", max_age_days))
        requires = (Rule("new_labels", ">=", min_new_labels),) if min_new_labels else ()
        return cls(tuple(triggers), requires, "triggered")

    # ---- use
    def decide(self, state: MonitoringState | Mapping[str, Any]) -> Decision:
        """Apply the table to ``state``; the reasons say which rows fired or blocked."""
        if isinstance(state, Mapping):
            state = MonitoringState(**state)
        fired, quiet = [], []
        for rule in self.triggers:
            holds, text = rule.check(state)
            (fired if holds else quiet).append(text)
        if not fired:
            return Decision(False, ["no trigger fired" + (": " + "; ".join(quiet) if quiet else "")])
        blocked, met = [], []
        for rule in self.requires:
            holds, text = rule.check(state)
            (met if holds else blocked).append(text)
        if blocked:
            return Decision(False, fired + [f"blocked: {t}" for t in blocked])
        return Decision(True, fired + met)

    def table(self) -> pd.DataFrame:
        """The policy as rows ``kind, metric, op, threshold``."""
        rows = [("trigger", r.metric, r.op, r.threshold) for r in self.triggers]
        rows += [("require", r.metric, r.op, r.threshold) for r in self.requires]
        return pd.DataFrame(rows, columns=["kind", "metric", "op", "threshold"])


def should_retrain(
    state: MonitoringState | Mapping[str, Any] | None = None,
    policy: RetrainPolicy | None = None,
    **fields: Any,
) -> Decision:
    """Decide whether to retrain from the monitoring state.

    The default policy is :meth:`RetrainPolicy.triggered`: retrain when PR-AUC
    fell by 0.1 or more from the model's baseline, or half the features
    drifted, provided at least 1,000 new labels have arrived.

    Parameters
    ----------
    state : MonitoringState or mapping, optional
        Or pass its fields as keywords.
    policy : RetrainPolicy, optional

    Examples
    --------
    >>> should_retrain(performance=0.30, baseline_performance=0.31, drift_share=0.0,
    ...                new_labels=5000, model_age_days=7)
    Decision(retrain=False, reasons=['no trigger fired: performance_drop 0.01 < 0.1; drift_share 0 < 0.5'])
    """
    if state is None:
        state = MonitoringState(**fields)
    elif fields:
        raise TypeError("pass either a state or its fields as keywords, not both")
    return (policy or RetrainPolicy.triggered()).decide(state)


# --------------------------------------------------------------------------- simulation core


class _Stream:
    """A production stream: ``pre_days`` of history, then production days.

    Days are stream days (0 = first day of history); production day p is
    stream day ``pre_days + p``.
    """

    def __init__(self, *, weeks: int, rows_per_day: int, pre_days: int, drift: DriftSpec | None,
                 label_delay_days: int, seed: int) -> None:
        from mlcourse.data.generate import DriftSpec, fraud_probability, production_stream

        if not isinstance(weeks, (int, np.integer)) or weeks < 1:
            raise ValueError(f"weeks must be a positive integer, got {weeks!r}")
        self.pre_days = int(pre_days)
        self.rows = int(rows_per_day)
        self.delay = int(label_delay_days)
        self.weeks = int(weeks)
        self.n_days = self.pre_days + 7 * self.weeks
        drift = drift if drift is not None else DriftSpec()
        self.drift = drift
        shifted = dataclasses.replace(drift, start_day=drift.start_day + self.pre_days)
        self.batches: list[Batch] = production_stream(self.n_days, self.rows, seed, drift=shifted,
                                                      label_delay_days=self.delay)
        self.X = pd.concat([b.features for b in self.batches], ignore_index=True)
        self.y = pd.concat([b.labels for b in self.batches], ignore_index=True).to_numpy()
        # The best any model could do: the true probability under the rule in force.
        old = fraud_probability(self.X)
        if drift.concept:
            w = np.repeat([shifted.weight(d) for d in range(self.n_days)], self.rows)
            logit = lambda p: np.log(p) - np.log1p(-p)  # noqa: E731
            mixed = (1 - w) * logit(old) + w * logit(fraud_probability(self.X, concept=True))
            self.oracle = 1.0 / (1.0 + np.exp(-mixed))
        else:
            self.oracle = old
        # What later calls may share (see _cached_stream): fitted models by
        # (today, settings), and drift shares by (training window, window).
        self.fits: dict[tuple, _Model] = {}
        self.drift_shares: dict[tuple, float | None] = {}
        self.week_scores: dict[tuple, np.ndarray] = {}
        self.truth: dict[tuple, dict] = {}
        self._oracle_metrics: dict[tuple[int, int], dict] = {}

    @property
    def drifted(self) -> bool:
        d = self.drift
        return bool(d.concept or d.covariate or d.prior is not None)

    def rows_of(self, start: int, stop: int) -> slice:
        return slice(max(start, 0) * self.rows, max(stop, 0) * self.rows)

    def features(self, start: int, stop: int) -> pd.DataFrame:
        return self.X.iloc[self.rows_of(start, stop)]

    def labels(self, start: int, stop: int) -> np.ndarray:
        return self.y[self.rows_of(start, stop)]

    def oracle_metrics(self, start: int, stop: int) -> dict:
        """:func:`score_metrics` of the true rule on days ``[start, stop)`` (the best any model could do)."""
        if (start, stop) not in self._oracle_metrics:
            rows = self.rows_of(start, stop)
            self._oracle_metrics[start, stop] = score_metrics(self.y[rows], self.oracle[rows])
        return self._oracle_metrics[start, stop]

    def labelled_until(self, today: int) -> int:
        """First stream day whose labels are still unknown at the start of ``today``."""
        return max(0, today - self.delay)

    def prod_day(self, day: int) -> int:
        return day - self.pre_days


#: Streams kept for later backtests with the same settings (see :func:`_cached_stream`).
_STREAMS: dict[tuple, _Stream] = {}
_KEEP_STREAMS = 4


def _cached_stream(**settings: Any) -> _Stream:
    """The :class:`_Stream` for ``settings``, built once and kept for the next backtests.

    A lesson backtests the same stream several times (its own policies, then
    the learner's; a check backtests each answer on the same fresh stream):
    the stream, the models fitted on it and its drift shares depend only on
    the settings, so they are computed once. The last few streams are kept.
    """
    key = tuple(sorted((k, repr(v)) for k, v in settings.items()))
    stream = _STREAMS.pop(key, None)
    if stream is None:
        stream = _Stream(**settings)
    _STREAMS[key] = stream  # most recently used last
    while len(_STREAMS) > _KEEP_STREAMS:
        del _STREAMS[next(iter(_STREAMS))]
    return stream


@dataclass
class _Model:
    model: Any
    trained_on: int  # stream day (start of) the model was trained
    train_start: int  # its training data: days [train_start, data_end)
    data_end: int
    baseline: float  # metric on held-out days at training time
    version: int | None = None


def _fit(stream: _Stream, today: int, *, train_days: int, valid_days: int, metric: str,
         factory: Callable[[], Any]) -> _Model:
    """Fit on the newest labelled days as of ``today``: validate on the last
    ``valid_days`` (the baseline), then refit on all of them."""
    end = stream.labelled_until(today)
    start = max(0, end - train_days)
    if end - start <= valid_days:
        raise ValueError(f"only {end - start} labelled days before day {today}; need more than {valid_days}")
    cut = end - valid_days
    probe = factory().fit(stream.features(start, cut), stream.labels(start, cut))
    held_out = probe.predict_proba(stream.features(cut, end))[:, 1]
    baseline = score_metrics(stream.labels(cut, end), held_out)[metric]
    model = factory().fit(stream.features(start, end), stream.labels(start, end))
    return _Model(model=model, trained_on=today, train_start=start, data_end=end, baseline=baseline)


def _window_performance(stream: _Stream, current: _Model, served: Mapping[int, np.ndarray], start: int, stop: int,
                        *, metric: str, eval_days: int) -> float | None:
    """The metric of the current model on the labelled days in ``[start, stop)`` it served, if enough."""
    days = [d for d in range(max(current.trained_on, start), stop) if d in served]
    if len(days) < min(3, eval_days):  # fewer labelled days are too few frauds to judge
        return None
    y = stream.labels(days[0], days[-1] + 1)
    s = np.concatenate([served[d] for d in days])
    return score_metrics(y, s)[metric]


def _state(stream: _Stream, current: _Model, today: int, served: Mapping[int, np.ndarray], *,
           baseline: float, metric: str, eval_days: int, drift_cache: dict) -> MonitoringState:
    """What monitoring can know at the start of ``today`` about the model in production."""
    from mlcourse.monitor.drift import drift_report

    known_end = stream.labelled_until(today)
    window_of = {"metric": metric, "eval_days": eval_days}
    performance = _window_performance(stream, current, served, known_end - eval_days, known_end, **window_of)
    previous = _window_performance(stream, current, served, known_end - 2 * eval_days, known_end - eval_days,
                                   **window_of)
    window = (max(today - 7, current.trained_on), today)
    key = (current.train_start, current.data_end) + window
    if key not in drift_cache:
        ref = stream.features(current.train_start, current.data_end)[MONITORED_FEATURES]
        cur = stream.features(*window)[MONITORED_FEATURES]
        drift_cache[key] = drift_report(ref, cur).share if len(cur) else None
    return MonitoringState(
        performance=performance,
        baseline_performance=baseline,
        drift_share=drift_cache[key],
        new_labels=int(max(0, known_end - current.data_end) * stream.rows),
        model_age_days=float(today - current.trained_on),
        previous_performance=previous,
    )


# --------------------------------------------------------------------------- backtest


@dataclass
class BacktestResult:
    """Weekly results of :func:`backtest`.

    Attributes
    ----------
    weekly : DataFrame
        One row per (policy, week): the serving model's ``pr_auc``,
        ``roc_auc`` and ``accuracy`` on that week's traffic (computed with
        the true labels, which the policy itself only sees a week later),
        ``oracle``, the metric of the true fraud rule (the best possible),
        what monitoring saw at the end of the week (``seen_performance``,
        ``seen_previous_performance``, ``drift_share``, ``new_labels``,
        ``model_age_days``), whether the
        policy retrained then and why (``reasons``; ``fired_triggers`` names
        the metrics of the triggers that held), and the running count of retrains.
    summary : DataFrame
        One row per policy: ``retrains``, the mean weekly metric over all
        weeks and from the drift on, the mean gap to the oracle, and the
        mean accuracy (which barely moves: the point of not using it).
    metric : str
    drift_week : float or None
        When the drift starts, in weeks of production.
    """

    weekly: pd.DataFrame
    summary: pd.DataFrame
    metric: str = "pr_auc"
    drift_week: float | None = None

    def plot(self) -> Figure:
        """Weekly metric per policy (retrains shaded) and retrains against mean metric."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(11, 3.8), layout="constrained")
        ax, ax2 = fig.subplots(1, 2, width_ratios=[2.2, 1])
        for name, part in self.weekly.groupby("policy", sort=False):
            line, = ax.plot(part["week"], part[self.metric], marker="o", ms=3, label=name)
            for week in part.loc[part["retrained"], "week"]:
                ax.axvline(week + 0.5, color=line.get_color(), alpha=0.2, lw=2)
        oracle = self.weekly.drop_duplicates("week")
        ax.plot(oracle["week"], oracle["oracle"], "k--", lw=1, label="true rule (best possible)")
        if self.drift_week is not None:
            ax.axvline(self.drift_week - 0.5, color="crimson", lw=1, ls=":")
            ax.annotate("drift", (self.drift_week - 0.5, 1), xycoords=("data", "axes fraction"),
                        color="crimson", va="top", fontsize=8)
        ax.set_xlabel("week in production (thin bars: a retrain between weeks)")
        ax.set_ylabel(self.metric)
        ax.set_title(f"Weekly {self.metric} by retraining policy")
        ax.legend(fontsize=8)
        s = self.summary
        ax2.scatter(s["retrains"], s[f"mean_{self.metric}"], s=60)
        for _, row in s.iterrows():
            ax2.annotate(row["policy"], (row["retrains"], row[f"mean_{self.metric}"]), fontsize=8,
                         xytext=(4, 4), textcoords="offset points")
        ax2.set_xlabel("number of retrains")
        ax2.set_ylabel(f"mean weekly {self.metric}")
        ax2.set_title("Cost against quality")
        return fig


def backtest(
    policies: Sequence[RetrainPolicy] | None = None,
    *,
    weeks: int = 10,
    rows_per_day: int = 400,
    drift: DriftSpec | None = None,
    label_delay_days: int = 7,
    train_days: int = 21,
    valid_days: int = 7,
    eval_days: int = 7,
    baseline: str = "deployment",
    metric: str = "pr_auc",
    seed: int = 0,
    model_factory: Callable[[], Any] = make_fraud_model,
) -> BacktestResult:
    """Replay weeks of production under several retraining policies.

    The stream (:func:`mlcourse.data.production_stream`) starts with
    ``train_days`` days of history, on which the first model is trained at
    deployment; then come ``weeks`` of production. Every policy starts from
    that same model and sees the same traffic. At the end of each week a
    policy gets the :class:`MonitoringState` monitoring could know then:

    * ``performance``: the metric on the newest ``eval_days`` of *labelled*
      traffic served by the current model (labels arrive
      ``label_delay_days`` late, so a new model is judged only once its
      first labelled days are in);
    * ``baseline_performance``: by default the level production was
      accepted at (the first model's validation metric); with
      ``baseline="model"`` each model's own validation metric. A model
      retrained on half-drifted data validates poorly, and with "model" that
      poor level would become the new normal;
    * ``drift_share`` of this week's inputs against the model's training data;
    * ``new_labels`` since the model's training data ends, and its age.

    When the policy decides to retrain, a model is fitted on the newest
    ``train_days`` labelled days (validated on their last ``valid_days``,
    then refitted on all) and serves from the next week.

    Parameters
    ----------
    policies : sequence of RetrainPolicy, optional
        Default: never, scheduled weekly, triggered (:meth:`RetrainPolicy.triggered`).
    weeks : int
        Weeks of production to replay.
    rows_per_day : int
        Transactions per day.
    drift : DriftSpec, optional
        What changes, ``start_day`` counted from the first production day.
        Default: concept drift from day 28 (week 4).
    label_delay_days, train_days, valid_days, eval_days : int
    baseline : {"deployment", "model"}
    metric : {"pr_auc", "roc_auc", "accuracy"}
        What the policies and the summary look at.
    seed : int
    model_factory : callable
        Returns a fresh unfitted model (default :func:`make_fraud_model`).

    Returns
    -------
    BacktestResult

    Examples
    --------
    >>> from mlcourse.data.generate import DriftSpec
    >>> result = backtest(weeks=3, rows_per_day=200, drift=DriftSpec(start_day=7, concept=True))
    >>> result.summary["retrains"].tolist()
    [0, 3, 1]
    """
    from mlcourse.data.generate import DriftSpec

    if metric not in ("pr_auc", "roc_auc", "accuracy"):
        raise ValueError(f"metric must be 'pr_auc', 'roc_auc' or 'accuracy', got {metric!r}")
    if baseline not in ("deployment", "model"):
        raise ValueError(f"baseline must be 'deployment' or 'model', got {baseline!r}")
    if drift is None:
        drift = DriftSpec(start_day=28, concept=True)
    policies = list(policies) if policies is not None else [
        RetrainPolicy.never(), RetrainPolicy.scheduled(7), RetrainPolicy.triggered()]
    names = [p.name for p in policies]
    if len(set(names)) != len(names):
        raise ValueError(f"policy names must differ, got {names}")
    with one_thread():
        stream = _cached_stream(weeks=weeks, rows_per_day=rows_per_day, pre_days=train_days + label_delay_days,
                                drift=drift, label_delay_days=label_delay_days, seed=seed)
        kw = {"train_days": train_days, "valid_days": valid_days, "metric": metric, "factory": model_factory}

        def fit(today: int) -> _Model:
            if model_factory is not make_fraud_model:  # only the default model's fits are shared
                return _fit(stream, today, **kw)
            key = (today, train_days, valid_days, metric)
            if key not in stream.fits:
                stream.fits[key] = _fit(stream, today, **kw)
            return stream.fits[key]

        start = stream.pre_days
        first = fit(start)

        # Policies serving the same model share its scores. The default model's fits live
        # with the cached stream, so their ids stay theirs and their scores can stay there too.
        shared = model_factory is make_fraud_model
        week_scores: dict[tuple[int, int], np.ndarray] = stream.week_scores if shared else {}
        truth: dict[tuple[int, int], dict] = stream.truth if shared else {}
        drift_cache = stream.drift_shares
        rows = []
        for policy in policies:
            current = first
            served: dict[int, np.ndarray] = {}
            retrains = 0
            for week in range(weeks):
                a, b = start + 7 * week, start + 7 * week + 7
                key = (id(current.model), week)
                if key not in week_scores:
                    week_scores[key] = current.model.predict_proba(stream.features(a, b))[:, 1]
                    truth[key] = score_metrics(stream.labels(a, b), week_scores[key])
                for i, d in enumerate(range(a, b)):
                    served[d] = week_scores[key][i * stream.rows:(i + 1) * stream.rows]
                state = _state(stream, current, b, served, metric=metric, eval_days=eval_days,
                               baseline=first.baseline if baseline == "deployment" else current.baseline,
                               drift_cache=drift_cache)
                decision = policy.decide(state)
                fired = [r.metric for r in policy.triggers if r.check(state)[0]]
                if decision.retrain:
                    current = fit(b)
                    retrains += 1
                t = truth[key]
                rows.append({
                    "policy": policy.name, "week": week,
                    "pr_auc": t["pr_auc"], "roc_auc": t["roc_auc"], "accuracy": t["accuracy"],
                    "fraud_rate": t["fraud_rate"],
                    "oracle": stream.oracle_metrics(a, b)[metric],
                    "seen_performance": state.performance, "seen_previous_performance": state.previous_performance,
                    "drift_share": state.drift_share,
                    "new_labels": state.new_labels, "model_age_days": state.model_age_days,
                    "retrained": decision.retrain, "reasons": "; ".join(decision.reasons),
                    "fired_triggers": ", ".join(fired), "retrains": retrains,
                })
    weekly = pd.DataFrame(rows)
    weekly["seen_performance"] = weekly["seen_performance"].astype("float64")
    weekly["seen_previous_performance"] = weekly["seen_previous_performance"].astype("float64")
    drift_week = drift.start_day / 7 if stream.drifted else None
    summary = []
    for name in names:
        part = weekly[weekly["policy"] == name]
        late = part[part["week"] >= math.floor(drift_week)] if drift_week is not None else part.iloc[:0]
        summary.append({
            "policy": name,
            "retrains": int(part["retrained"].sum()),
            f"mean_{metric}": float(part[metric].mean()),
            f"mean_{metric}_after_drift": float(late[metric].mean()) if len(late) else math.nan,
            "mean_gap_to_oracle": float((part["oracle"] - part[metric]).mean()),
            "mean_accuracy": float(part["accuracy"].mean()),
        })
    return BacktestResult(weekly=weekly, summary=pd.DataFrame(summary), metric=metric, drift_week=drift_week)


# --------------------------------------------------------------------------- the feedback loop


@dataclass(frozen=True)
class ShadowResult:
    """Incumbent against candidate on the same fresh, labelled traffic (a shadow comparison).

    Attributes
    ----------
    incumbent, candidate : dict
        :func:`score_metrics` of each model on the shadow days.
    metric : str
    gain : float
        ``candidate[metric] - incumbent[metric]``.
    share_better : float
        In a paired bootstrap of the shadow days' rows, the share of resamples
        in which the candidate scored higher: how sure the gain is.
    promote : bool
        ``gain >= min_gain`` and ``share_better >= min_confidence``.
    days : tuple of int
        The production days the candidate ran in shadow.
    """

    incumbent: dict
    candidate: dict
    metric: str
    gain: float
    share_better: float
    promote: bool
    days: tuple[int, ...]

    def __str__(self) -> str:
        verdict = "promote" if self.promote else "keep the incumbent"
        return (f"shadow over {len(self.days)} days: {self.metric} incumbent {self.incumbent[self.metric]:.3f}, "
                f"candidate {self.candidate[self.metric]:.3f} (gain {self.gain:+.3f}, better in "
                f"{self.share_better:.0%} of resamples) -> {verdict}")


def _paired_bootstrap(y: np.ndarray, a: np.ndarray, b: np.ndarray, metric: str, n: int, seed: int) -> float:
    """Share of bootstrap resamples where scores ``b`` beat scores ``a``."""
    rng = np.random.default_rng(seed)
    wins = 0
    done = 0
    for _ in range(n):
        idx = rng.integers(0, y.size, y.size)
        yy = y[idx]
        if not 0 < yy.sum() < yy.size:
            continue
        ma, mb = score_metric(yy, a[idx], metric), score_metric(yy, b[idx], metric)
        wins += mb > ma
        done += 1
    return wins / done if done else math.nan


class FeedbackLoop:
    """The lifecycle's closing loop on a simulated, drifting production stream.

    Each step is a method, so a lesson can run them one at a time:

    >>> import tempfile
    >>> from mlcourse.data.generate import DriftSpec
    >>> loop = FeedbackLoop(tempfile.mkdtemp(), weeks=7, rows_per_day=300,
    ...                     drift=DriftSpec(start_day=7, concept=True))
    >>> loop.bootstrap().version                       # v1 -> production
    1
    >>> _ = loop.serve(28)                             # four weeks of traffic
    >>> loop.decide().retrain                          # the drop shows once labels are in
    True
    >>> loop.train_candidate().version                 # v2 -> candidate
    2
    >>> result = loop.shadow(days=7)                   # run it in shadow on fresh traffic
    >>> result.promote
    True
    >>> loop.promote()                                 # v2 -> production; returns v1
    1

    ``loop.weekly()`` gives the production model's weekly metric next to the
    best possible, ``loop.events`` what happened when, and ``loop.plot()``
    draws both.

    Parameters
    ----------
    registry : path
        Model registry folder (:mod:`mlcourse.deploy.registry`).
    name : str
        Model name in the registry.
    weeks : int
        Weeks of production traffic available to :meth:`serve`.
    rows_per_day : int
    drift : DriftSpec, optional
        Counted from the first production day; default concept drift on day 21.
    label_delay_days : int
        Days until a transaction's label (fraud or not) is known.
    train_days, valid_days : int
        A (re)training uses the newest ``train_days`` labelled days, the
        last ``valid_days`` of them held out for its baseline first.
    metric : str
        ``"pr_auc"`` (default), ``"roc_auc"`` or ``"accuracy"``.
    policy : RetrainPolicy, optional
        Used by :meth:`decide` (default :meth:`RetrainPolicy.triggered`).
    seed : int
    model_factory : callable
    """

    def __init__(
        self,
        registry: Any,
        name: str = "fraud-detector",
        *,
        weeks: int = 10,
        rows_per_day: int = 400,
        drift: DriftSpec | None = None,
        label_delay_days: int = 7,
        train_days: int = 14,
        valid_days: int = 4,
        metric: str = "pr_auc",
        policy: RetrainPolicy | None = None,
        seed: int = 0,
        model_factory: Callable[[], Any] = make_fraud_model,
    ) -> None:
        from mlcourse.data.generate import DriftSpec

        if metric not in ("pr_auc", "roc_auc", "accuracy"):
            raise ValueError(f"metric must be 'pr_auc', 'roc_auc' or 'accuracy', got {metric!r}")
        self.registry = registry
        self.name = name
        self.metric = metric
        self.policy = policy or RetrainPolicy.triggered()
        self.train_days, self.valid_days = int(train_days), int(valid_days)
        self.seed = seed
        self.factory = model_factory
        drift = drift if drift is not None else DriftSpec(start_day=21, concept=True)
        with one_thread():
            self.stream = _Stream(weeks=weeks, rows_per_day=rows_per_day, pre_days=train_days + label_delay_days,
                                  drift=drift, label_delay_days=label_delay_days, seed=seed)
        self.today = self.stream.pre_days  # stream day about to be served
        self.production: _Model | None = None
        self.candidate: _Model | None = None
        self.accepted_level: float | None = None
        self._served: dict[int, tuple[int, np.ndarray]] = {}  # day -> (version, production scores)
        self._shadow: dict[int, np.ndarray] = {}  # day -> candidate scores while it runs in shadow
        self._drift_cache: dict = {}
        self.events: list[dict[str, Any]] = []

    # ---- helpers
    @property
    def day(self) -> int:
        """Production days served so far (the current production day)."""
        return self.stream.prod_day(self.today)

    def _event(self, what: str, detail: str = "") -> None:
        self.events.append({"day": self.day, "week": self.day / 7, "event": what, "detail": detail})

    def _save(self, fitted: _Model, alias: str) -> int:
        from mlcourse.deploy.registry import save_model

        mv = save_model(
            fitted.model, self.name, registry=self.registry, alias=alias,
            metrics={self.metric: fitted.baseline},
            feature_names=MODEL_FEATURES,
            extra={"trained_on_production_day": self.stream.prod_day(fitted.trained_on),
                   "training_days": [self.stream.prod_day(fitted.train_start),
                                     self.stream.prod_day(fitted.data_end)]},
        )
        fitted.version = mv.version
        return mv

    def _need(self, what: str) -> _Model:
        model = self.production if what == "production" else self.candidate
        if model is None:
            hint = "call bootstrap() first" if what == "production" else "call train_candidate() first"
            raise RuntimeError(f"no {what} model yet; {hint}")
        return model

    # ---- steps
    def bootstrap(self) -> Any:
        """Train the first model on the history before deployment; register it as production.

        Returns the :class:`mlcourse.deploy.registry.ModelVersion`.
        """
        if self.production is not None:
            raise RuntimeError("already bootstrapped")
        with one_thread():
            first = _fit(self.stream, self.today, train_days=self.train_days, valid_days=self.valid_days,
                         metric=self.metric, factory=self.factory)
        mv = self._save(first, "production")
        self.production = first
        self.accepted_level = first.baseline
        self._event("deployed", f"v{mv.version} to production ({self.metric} at validation {first.baseline:.3f})")
        return mv

    def serve(self, days: int = 7) -> pd.DataFrame:
        """Serve the next ``days`` days with the production model (a candidate in shadow
        scores the same traffic, and its answers are kept, never served). Returns one row per day."""
        current = self._need("production")
        if days < 1:
            raise ValueError("days must be at least 1")
        if self.today + days > self.stream.n_days:
            left = self.stream.n_days - self.today
            raise ValueError(f"only {left} days of traffic left in this simulation")
        a, b = self.today, self.today + days
        with one_thread():
            scores = current.model.predict_proba(self.stream.features(a, b))[:, 1]
            shadow = self.candidate.model.predict_proba(self.stream.features(a, b))[:, 1] \
                if self.candidate is not None else None
        rows = []
        r = self.stream.rows
        for i, d in enumerate(range(a, b)):
            part = scores[i * r:(i + 1) * r]
            self._served[d] = (current.version, part)
            if shadow is not None:
                self._shadow[d] = shadow[i * r:(i + 1) * r]
            rows.append({"day": self.stream.prod_day(d), "version": current.version,
                         "mean_score": float(part.mean()), "shadow": shadow is not None})
        self.today = b
        return pd.DataFrame(rows)

    def state(self) -> MonitoringState:
        """What monitoring knows now about the production model (see :func:`backtest`)."""
        current = self._need("production")
        served = {d: s for d, (v, s) in self._served.items() if v == current.version}
        return _state(self.stream, current, self.today, served, baseline=self.accepted_level,
                      metric=self.metric, eval_days=7, drift_cache=self._drift_cache)

    def decide(self, policy: RetrainPolicy | None = None) -> Decision:
        """Apply the retraining policy to :meth:`state`."""
        decision = (policy or self.policy).decide(self.state())
        if decision.retrain:
            self._event("retrain decided", "; ".join(decision.reasons))
        return decision

    def train_candidate(self) -> Any:
        """Retrain on the newest labelled production data and register it as ``candidate``."""
        self._need("production")
        with one_thread():
            fitted = _fit(self.stream, self.today, train_days=self.train_days, valid_days=self.valid_days,
                          metric=self.metric, factory=self.factory)
        mv = self._save(fitted, "candidate")
        self.candidate = fitted
        self._shadow.clear()
        span = fitted.data_end - fitted.train_start
        self._event("candidate trained", f"v{mv.version} on the last {span} labelled days "
                                         f"({self.metric} at validation {fitted.baseline:.3f})")
        return mv

    def shadow(self, days: int = 7, *, min_gain: float = 0.0, min_confidence: float = 0.8,
               n_boot: int = 200) -> ShadowResult:
        """Run the candidate in shadow on ``days`` days of fresh traffic, wait for
        their labels (serving with the incumbent meanwhile), then compare the two
        on exactly the same rows.

        This is a **shadow deployment**: every request is answered by the
        incumbent, and the candidate's scores are only logged, so no user ever
        gets the candidate's answer and a bad candidate harms nobody. A canary
        (lesson 03's router) would instead *serve* the candidate to a share of
        users: it exposes some of them, but also measures what only serving
        shows (latency under load, how people react to its answers). For a
        ranking metric computed from labels, the shadow compares the two models
        on the very same rows.
        """
        candidate = self._need("candidate")
        incumbent = self._need("production")
        start = self.today
        self.serve(days)
        fresh = range(start, start + days)
        wait = max(0, start + days + self.stream.delay - self.today)
        if wait:
            if self.today + wait > self.stream.n_days:
                raise ValueError("the simulation ends before the shadow days' labels arrive")
            self.serve(wait)
        y = self.stream.labels(start, start + days)
        inc = np.concatenate([self._served[d][1] for d in fresh])
        cand = np.concatenate([self._shadow[d] for d in fresh])
        with one_thread():
            m_inc, m_cand = score_metrics(y, inc), score_metrics(y, cand)
            share = _paired_bootstrap(y, inc, cand, self.metric, n_boot, self.seed)
        gain = m_cand[self.metric] - m_inc[self.metric]
        promote = bool(gain >= min_gain and share >= min_confidence)
        result = ShadowResult(incumbent=m_inc, candidate=m_cand, metric=self.metric, gain=float(gain),
                              share_better=float(share), promote=promote,
                              days=tuple(self.stream.prod_day(d) for d in fresh))
        self._event("shadow", f"v{incumbent.version} {m_inc[self.metric]:.3f} vs v{candidate.version} "
                              f"{m_cand[self.metric]:.3f} -> {'promote' if promote else 'reject'}")
        return result

    def promote(self) -> int | None:
        """Point ``production`` at the candidate; return the version it pointed at before.

        Uses :func:`mlcourse.deploy.registry.promote`: the candidate's files are
        checked first, the switch is one atomic step that a running server
        picks up, and :func:`mlcourse.deploy.registry.rollback` undoes it.
        """
        from mlcourse.deploy.registry import promote

        candidate = self._need("candidate")
        previous = promote(self.name, candidate.version, registry=self.registry,
                           note=f"feedback loop, production day {self.day}")
        self.production, self.candidate = candidate, None
        self._shadow.clear()
        self._event("promoted", f"v{candidate.version} to production (was v{previous})")
        return previous

    def reject(self) -> None:
        """Drop the candidate (it stays in the registry, unaliased from production)."""
        candidate = self._need("candidate")
        self.candidate = None
        self._shadow.clear()
        self._event("rejected", f"v{candidate.version} stays a candidate")

    # ---- results
    def weekly(self) -> pd.DataFrame:
        """Per production week served so far: the serving version(s), the production
        metric on that week's traffic (true labels), and the best possible."""
        rows = []
        days = sorted(self._served)
        for week in sorted({self.stream.prod_day(d) // 7 for d in days}):
            ds = [d for d in days if self.stream.prod_day(d) // 7 == week]
            y = self.stream.labels(ds[0], ds[-1] + 1)
            s = np.concatenate([self._served[d][1] for d in ds])
            m = score_metrics(y, s)
            oracle = score_metrics(y, self.stream.oracle[self.stream.rows_of(ds[0], ds[-1] + 1)])
            versions = sorted({self._served[d][0] for d in ds})
            rows.append({"week": week, "versions": ",".join(f"v{v}" for v in versions), "days": len(ds),
                         self.metric: m[self.metric], "oracle": oracle[self.metric],
                         "accuracy": m["accuracy"], "fraud_rate": m["fraud_rate"]})
        return pd.DataFrame(rows)

    def plot(self) -> Figure:
        """The production model's weekly metric, the best possible, and the loop's events."""
        from matplotlib.figure import Figure

        weekly = self.weekly()
        fig = Figure(figsize=(9, 3.6), layout="constrained")
        ax = fig.subplots()
        ax.plot(weekly["week"], weekly[self.metric], marker="o", label=f"production model ({self.metric})")
        ax.plot(weekly["week"], weekly["oracle"], "k--", lw=1, label="true rule (best possible)")
        if self.stream.drifted:
            ax.axvline(self.stream.drift.start_day / 7 - 0.5, color="crimson", ls=":", lw=1)
            ax.annotate("drift", (self.stream.drift.start_day / 7 - 0.5, 1.0), xycoords=("data", "axes fraction"),
                        color="crimson", va="top", fontsize=8)
        colors = {"retrain decided": "tab:red", "candidate trained": "tab:orange", "shadow": "tab:purple",
                  "promoted": "tab:green", "rejected": "grey"}
        seen = set()
        for e in self.events:
            color = colors.get(e["event"])
            if color is None:
                continue
            # an event at the start of day d happens between weeks (d/7 - 0.5 on the week axis)
            ax.axvline(e["week"] - 0.5, color=color, alpha=0.7, lw=1.2,
                       label=None if e["event"] in seen else e["event"])
            seen.add(e["event"])
        ax.legend(fontsize=7, loc="upper right")
        ax.set_xlabel("week in production (vertical lines: what the loop did, and when)")
        ax.set_ylabel(self.metric)
        ax.set_title("Feedback loop: monitor, retrain, shadow, promote")
        return fig


def run_feedback_loop(
    registry: Any,
    name: str = "fraud-detector",
    *,
    weeks: int = 12,
    shadow_days: int = 7,
    policy: RetrainPolicy | None = None,
    **options: Any,
) -> FeedbackLoop:
    """Run the whole loop: deploy, then every week monitor and, when the policy
    says so, train a candidate, run it in shadow and promote it if it wins.

    ``options`` go to :class:`FeedbackLoop` (``drift``, ``rows_per_day``,
    ``label_delay_days``, ``seed``...). Returns the loop, whose
    :meth:`~FeedbackLoop.weekly`, ``events`` and :meth:`~FeedbackLoop.plot`
    tell the story.
    """
    loop = FeedbackLoop(registry, name, weeks=weeks, policy=policy, **options)
    loop.bootstrap()
    end = loop.stream.n_days
    while loop.today + 7 <= end:
        loop.serve(7)
        if loop.today + shadow_days + loop.stream.delay > end:
            continue  # too late for a shadow comparison to finish: just serve
        if loop.decide():
            loop.train_candidate()
            result = loop.shadow(shadow_days)
            if result.promote:
                loop.promote()
            else:
                loop.reject()
            # realign to whole weeks
            extra = (loop.today - loop.stream.pre_days) % 7
            if extra and loop.today + (7 - extra) <= end:
                loop.serve(7 - extra)
    if loop.today < end:
        loop.serve(end - loop.today)
    return loop
