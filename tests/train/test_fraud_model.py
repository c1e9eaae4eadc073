"""mlcourse.train.fraud_model: the fraud models' metrics agree with scikit-learn's."""
from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from mlcourse.train.fraud_model import score_metric, score_metrics


def test_score_metrics_equal_sklearn() -> None:
    rng = np.random.default_rng(0)
    for n, decimals in ((10, 1), (200, 2), (3000, 6)):
        y = (rng.random(n) < 0.1).astype(int)
        y[:2] = [1, 0]
        s = np.round(rng.random(n) * 0.6 + 0.4 * y, decimals)  # ties at 1-2 decimals
        m = score_metrics(y, s)
        assert m["pr_auc"] == pytest.approx(average_precision_score(y, s), rel=1e-12)
        assert m["roc_auc"] == pytest.approx(roc_auc_score(y, s), rel=1e-12)
        assert m["accuracy"] == pytest.approx(np.mean((s >= 0.5) == y))
    single = score_metrics([0, 0, 0], [0.1, 0.2, 0.3])
    assert math.isnan(single["pr_auc"]) and math.isnan(single["roc_auc"]) and math.isnan(single["recall"])
    with pytest.raises(ValueError, match="same length"):
        score_metrics([0, 1], [0.5])


def test_score_metric_is_the_same_number_as_score_metrics() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random(500) < 0.05).astype(int)
    s = np.round(rng.random(500) * 0.7 + 0.3 * y, 2)
    both = score_metrics(y, s)
    for metric in ("pr_auc", "roc_auc", "accuracy"):
        assert score_metric(y, s, metric) == both[metric], metric
