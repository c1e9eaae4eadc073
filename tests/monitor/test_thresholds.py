"""One threshold condition for the monitor stage: service alerts and retraining rules parse and check alike."""
from __future__ import annotations

import math

import numpy as np
import pytest

from mlcourse.monitor.retraining import MonitoringState, Rule
from mlcourse.monitor.service import Alert
from mlcourse.monitor.thresholds import NEGATION, OPS, Threshold


@pytest.mark.parametrize(("op", "below", "at", "above"), [
    (">", False, False, True), (">=", False, True, True), ("<", True, False, False), ("<=", True, True, False),
])
def test_each_comparison_and_its_negation(op, below, at, above) -> None:
    t = Threshold("x", op, 1.0)
    assert (t.holds(0.5), t.holds(1.0), t.holds(1.5)) == (below, at, above)
    opposite = Threshold("x", NEGATION[op], 1.0)
    assert [opposite.holds(v) for v in (0.5, 1.0, 1.5)] == [not below, not at, not above]


@pytest.mark.parametrize("cls", [Threshold, Alert, Rule])
def test_parse_gives_the_class_it_was_called_on(cls) -> None:
    parsed = cls.parse("drift_share >= 0.5")
    assert type(parsed) is cls
    assert (parsed.metric, parsed.op, parsed.threshold) == ("drift_share", ">=", 0.5)


@pytest.mark.parametrize(("cls", "written"), [(Alert, "an alert"), (Rule, "a rule"), (Threshold, "a condition")])
def test_a_mistyped_condition_names_what_it_is(cls, written) -> None:
    with pytest.raises(ValueError, match=f"^write {written} as 'metric op number' with op in "
                                         r"\['<', '<=', '>', '>='\], got 'drift_share => 0.5'$"):
        cls.parse("drift_share => 0.5")
    with pytest.raises(ValueError, match=f"^write {written} as"):
        cls.parse("drift_share >= 0.5 today")
    with pytest.raises(ValueError, match=rf"^{cls.kind} threshold must be a number, got 'half' in 'drift_share >= half'$"):
        cls.parse("drift_share >= half")


@pytest.mark.parametrize("cls", [Alert, Rule])
@pytest.mark.parametrize(("op", "threshold", "message"), [
    ("=>", 1.0, r"op must be one of \['<', '<=', '>', '>='\], got '=>'"),
    (">", math.nan, "threshold must be a finite number, got nan"),
    (">", math.inf, "threshold must be a finite number, got inf"),
    (">", "1", "threshold must be a finite number, got '1'"),
])
def test_bad_op_or_threshold_is_refused(cls, op, threshold, message) -> None:
    with pytest.raises(ValueError, match=message):
        cls("drift_share", op, threshold)


def test_numpy_thresholds_are_accepted() -> None:
    assert Alert("error_rate", ">", np.float32(0.5)).check(0.75) is True
    assert Rule("new_labels", ">=", np.int64(100)).check(MonitoringState(new_labels=100))[0] is True


def test_alert_and_rule_keep_their_own_behaviour() -> None:
    assert Alert.parse("error_rate >= 0.02", min_requests=50) == Alert("error_rate", ">=", 0.02, min_requests=50)
    assert Alert("error_rate", ">", 0.1).check(None) is None
    with pytest.raises(ValueError, match="unknown state metric 'latency'"):
        Rule.parse("latency > 3")
    assert Rule.parse("drift_share >= 0.5").check(MonitoringState(drift_share=0.25)) == (
        False, "drift_share 0.25 < 0.5")
    assert set(OPS) == set(NEGATION)
