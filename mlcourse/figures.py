"""Figures the lessons draw: the lifecycle loop and where the effort goes.

Both functions return a :class:`matplotlib.figure.Figure` made through pyplot,
so a notebook shows it with ``plt.show()``; a script saves it with
``fig.savefig(...)`` and closes it with ``plt.close(fig)``. matplotlib is
imported inside the functions, so importing this module stays cheap (the
exercise definitions read :data:`LIFECYCLE` from here).

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> fig = lifecycle_diagram()
>>> sorted(t.get_text() for t in fig.axes[0].texts if t.get_text() in LIFECYCLE)
['Data', 'Deploy', 'Monitor', 'Train']
>>> plt.close(fig)
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["LIFECYCLE", "EFFORT_SHARES", "STAGE_COLORS", "lifecycle_diagram", "effort_chart"]

#: The four stages, in order, with the main activities of each.
LIFECYCLE: dict[str, tuple[str, ...]] = {
    "Data": ("collection", "validation", "cleaning", "feature engineering"),
    "Train": ("model selection", "training", "hyperparameter tuning", "evaluation"),
    "Deploy": ("packaging", "testing", "serving infrastructure", "rollout"),
    "Monitor": ("performance tracking", "drift detection", "retraining"),
}

#: One colour per stage, shared by every figure of the course.
STAGE_COLORS: dict[str, str] = {"Data": "#4C72B0", "Train": "#DD8452", "Deploy": "#55A868", "Monitor": "#C44E52"}

#: Illustrative shares (percent) of a team's time on a model in production.
#: Not a measurement: a picture of the usual proportions (see lesson 00).
EFFORT_SHARES: dict[str, float] = {
    "Data: collect, validate, clean, build features": 40.0,
    "Train: the model code, tuning, evaluation": 10.0,
    "Deploy: packaging, tests, serving infrastructure": 22.0,
    "Monitor: tracking, drift, retraining, on-call": 28.0,
}

FEEDBACK_LABEL = "feedback: production data, new labels and drift alerts feed the next round of Data"


def _color_for(label: str, i: int) -> str:
    for stage, color in STAGE_COLORS.items():
        if label == stage or label.startswith(stage + ":") or label.startswith(stage + " "):
            return color
    palette = list(STAGE_COLORS.values())
    return palette[i % len(palette)]


def lifecycle_diagram(
    stages: Mapping[str, Sequence[str]] | None = None,
    *,
    feedback: str = FEEDBACK_LABEL,
    figsize: tuple[float, float] = (10, 4),
) -> Figure:
    """Draw the stages as boxes left to right, arrows between them, and the loop back.

    Parameters
    ----------
    stages : mapping of str to sequence of str, optional
        Stage name -> its activities, in order. Defaults to :data:`LIFECYCLE`.
    feedback : str
        The label of the arrow from the last stage back to the first.
    figsize : (float, float)
        The figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        One axes. The stage names, activities and the feedback label are its
        texts; the arrows are its patches (``gid`` ``"step"`` between stages and
        ``"feedback"`` for the loop).

    Raises
    ------
    ValueError
        With fewer than two stages (there is no loop to draw).
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    stages = dict(LIFECYCLE if stages is None else stages)
    if len(stages) < 2:
        raise ValueError(f"a lifecycle needs at least two stages to loop, got {list(stages)}")
    n = len(stages)
    fig, ax = plt.subplots(figsize=figsize)
    width, gap = 2.0, 0.6
    total = n * width + (n - 1) * gap
    ax.set_xlim(-0.2, total + 0.2)
    ax.set_ylim(-0.15, 4.0)
    ax.set_axis_off()
    bottom, top = 1.25, 3.75
    centers = []
    for i, (name, activities) in enumerate(stages.items()):
        x0 = i * (width + gap)
        color = _color_for(name, i)
        ax.add_patch(
            FancyBboxPatch(
                (x0, bottom), width, top - bottom, boxstyle="round,pad=0.02,rounding_size=0.12",
                facecolor=to_rgba(color, 0.12), edgecolor=color, linewidth=1.5,
            )
        )
        cx = x0 + width / 2
        centers.append(cx)
        ax.text(cx, top - 0.3, name, ha="center", va="center", fontsize=13, fontweight="bold", color=color)
        ax.text(cx, top - 0.65, f"stage {i + 1}", ha="center", va="center", fontsize=8, color="0.4")
        for j, activity in enumerate(activities):
            ax.text(cx, top - 1.05 - 0.36 * j, activity, ha="center", va="center", fontsize=9)
    mid = (bottom + top) / 2
    for i in range(n - 1):
        ax.add_patch(
            FancyArrowPatch(
                (centers[i] + width / 2 + 0.05, mid), (centers[i + 1] - width / 2 - 0.05, mid),
                arrowstyle="-|>", mutation_scale=18, linewidth=2, color="0.25", gid="step",
            )
        )
    ax.add_patch(
        FancyArrowPatch(
            (centers[-1], bottom - 0.05), (centers[0], bottom - 0.05),
            connectionstyle="arc3,rad=-0.22", arrowstyle="-|>", mutation_scale=18, linewidth=2,
            color=_color_for(list(stages)[-1], n - 1), gid="feedback",
        )
    )
    ax.text(total / 2, 0.05, feedback, ha="center", va="center", fontsize=9, style="italic")
    ax.set_title("The ML system lifecycle: four stages and a feedback loop", fontsize=12)
    fig.tight_layout()
    return fig


def effort_chart(
    shares: Mapping[str, float] | None = None,
    *,
    title: str = "Where the effort goes once a model is in production\n(illustrative shares, not a measurement)",
    figsize: tuple[float, float] = (9, 3),
) -> Figure:
    """A horizontal bar per part of the work, labelled with its share in percent.

    Parameters
    ----------
    shares : mapping of str to float, optional
        Label -> share. Normalised to percentages, so any positive weights
        work. Defaults to :data:`EFFORT_SHARES`. A label starting with a stage
        name (``"Data: ..."``) takes that stage's colour.
    title : str
        The chart's title; keep the word "illustrative" when the numbers are.
    figsize : (float, float)
        The figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, one bar per label, top to bottom in the given order, each
        annotated with its percentage.

    Raises
    ------
    ValueError
        If there are no shares, a share is negative, or they sum to zero.
    """
    import matplotlib.pyplot as plt

    shares = dict(EFFORT_SHARES if shares is None else shares)
    if not shares:
        raise ValueError("effort_chart needs at least one share")
    bad = {k: v for k, v in shares.items() if not v >= 0}
    if bad:
        raise ValueError(f"shares must be non-negative numbers, got {bad}")
    total = float(sum(shares.values()))
    if total <= 0:
        raise ValueError("shares must not all be zero")
    labels = list(shares)
    percents = [100.0 * shares[k] / total for k in labels]
    fig, ax = plt.subplots(figsize=figsize)
    ys = list(range(len(labels)))[::-1]
    ax.barh(ys, percents, color=[_color_for(k, i) for i, k in enumerate(labels)], alpha=0.85)
    for y, p in zip(ys, percents):
        ax.text(p + 0.8, y, f"{p:.0f}%", va="center", fontsize=9)
    ax.set_yticks(ys, labels)
    ax.set_xlim(0, max(percents) * 1.18)
    ax.set_xlabel("share of the team's time (%)")
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
