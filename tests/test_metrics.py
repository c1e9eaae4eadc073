"""mlcourse.metrics gives scikit-learn's ROC-AUC and average precision, ties and edge cases included."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from mlcourse.metrics import average_precision, roc_auc


def _cases():
    for seed in range(30):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(2, 400))
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]  # both classes, always
        # Rounded scores make ties common; the raw ones have none.
        s = rng.random(n)
        yield f"seed{seed}-raw", y, s
        yield f"seed{seed}-ties", y, np.round(s, 1)
    yield "perfect", np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])
    yield "reversed", np.array([0, 0, 1, 1]), np.array([0.9, 0.8, 0.2, 0.1])
    yield "all tied", np.array([0, 1, 0, 1, 1]), np.full(5, 0.3)
    yield "one positive", np.array([0, 0, 0, 1]), np.array([0.4, 0.1, 0.9, 0.5])
    yield "one negative", np.array([1, 1, 0, 1]), np.array([0.4, 0.1, 0.9, 0.5])


CASES = list(_cases())


@pytest.mark.parametrize(("name", "y", "s"), CASES, ids=[c[0] for c in CASES])
def test_equal_to_sklearn(name, y, s) -> None:
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), rel=1e-12, abs=1e-15)
    assert average_precision(y, s) == pytest.approx(average_precision_score(y, s), rel=1e-12, abs=1e-15)


def test_plain_lists_and_floats() -> None:
    assert roc_auc([0, 1], [0.0, 1.0]) == 1.0
    assert isinstance(average_precision([0, 1], [0.0, 1.0]), float)


@pytest.mark.parametrize("metric", [roc_auc, average_precision])
def test_a_single_class_is_refused_with_its_name(metric) -> None:
    with pytest.raises(ValueError, match=rf"{metric.__name__} needs both classes in y \(0 and 1\); y holds only 0s"):
        metric([0, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="y holds only 1s"):
        metric([1, 1], [0.1, 0.2])


@pytest.mark.parametrize("metric", [roc_auc, average_precision])
def test_mismatched_shapes_are_refused(metric) -> None:
    with pytest.raises(ValueError, match=r"same length, got shapes \(3,\) and \(2,\)"):
        metric([0, 1, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match="one-dimensional"):
        metric([[0, 1]], [[0.1, 0.2]])
