"""Ranking metrics shared by the stages: ROC-AUC and average precision.

This module sits below every stage package: the data stage's leakage screen
(:func:`mlcourse.data.validation.leakage_screen`) scores single features with
:func:`roc_auc`, and the fraud model's :func:`mlcourse.train.fraud_model.score_metrics`
scores a model with both, thousands of times in a monitoring backtest. So both
are computed directly with numpy (and scipy's ranks) rather than through
scikit-learn's input checks, and give scikit-learn's values:
``roc_auc_score`` and ``average_precision_score``, ties included.

Examples
--------
>>> y = [0, 0, 1, 1]
>>> scores = [0.1, 0.4, 0.35, 0.8]
>>> roc_auc(y, scores)
0.75
>>> round(average_precision(y, scores), 3)
0.833
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["average_precision", "roc_auc"]


def _labels_and_scores(y: Any, scores: Any, metric: str) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=int)
    s = np.asarray(scores, dtype=float)
    if y.ndim != 1 or y.shape != s.shape:
        raise ValueError(f"{metric}: y and scores must be one-dimensional and of the same length, "
                         f"got shapes {y.shape} and {s.shape}")
    n_pos = int((y == 1).sum())
    if n_pos == 0 or n_pos == y.size:
        raise ValueError(f"{metric} needs both classes in y (0 and 1); y holds only {'1' if n_pos else '0'}s")
    return y, s


def roc_auc(y: Any, scores: Any) -> float:
    """Area under the ROC curve of ``scores`` against the 0/1 labels ``y``.

    Computed as the Mann-Whitney statistic with average ranks for ties, which
    is scikit-learn's ``roc_auc_score``: the chance that a random positive
    scores above a random negative, ties counting one half.

    Parameters
    ----------
    y : array-like of 0 and 1
        The labels; both classes must be present.
    scores : array-like of float
        Higher means more likely positive.

    Returns
    -------
    float
        0.5 for scores that ignore the label, 1.0 for a perfect ranking,
        0.0 for a perfectly reversed one.

    Raises
    ------
    ValueError
        ``y`` and ``scores`` differ in shape, or ``y`` holds a single class.

    Examples
    --------
    >>> roc_auc([0, 1, 0, 1], [0.2, 0.2, 0.1, 0.9])
    0.875
    """
    from scipy.stats import rankdata

    y, s = _labels_and_scores(y, scores, "roc_auc")
    ranks = rankdata(s)
    pos = y == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(y: Any, scores: Any) -> float:
    """Average precision, the course's PR-AUC: a step-wise summary of the precision-recall curve.

    scikit-learn's ``average_precision_score``: precision at each distinct
    score, weighted by the recall it adds; rows with the same score count as
    one threshold. It is a weighted mean of precisions, not an area: no line
    is drawn between the curve's points (the trapezoidal area under the curve
    would credit precision no threshold reaches).

    Parameters
    ----------
    y, scores : array-like
        As for :func:`roc_auc`, and refused for the same reasons.

    Returns
    -------
    float
        The share of positives (the fraud rate) for scores that ignore the
        label, 1.0 for a perfect ranking.

    Examples
    --------
    >>> round(average_precision([0, 1, 0, 1], [0.2, 0.2, 0.1, 0.9]), 4)
    0.8333
    """
    y, s = _labels_and_scores(y, scores, "average_precision")
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s_sorted)), y.size - 1]  # last row of each distinct score
    tps = np.cumsum(y_sorted)[last]
    precision = tps / (last + 1)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
