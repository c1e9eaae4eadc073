"""Threshold conditions, ``metric op number``: written, parsed and checked one way in the monitor stage.

The service's alerts (:class:`mlcourse.monitor.service.Alert`, e.g.
``"latency_p95_ms > 250"``) and the rows of a retraining policy
(:class:`mlcourse.monitor.retraining.Rule`, e.g. ``"drift_share >= 0.5"``)
are both a :class:`Threshold`: the same four comparisons, the same checks on
what is given and the same messages, naming which of the two was mistyped.
It sits below both and imports nothing heavy.

Examples
--------
>>> t = Threshold.parse("error_rate >= 0.02")
>>> t, t.holds(0.05), t.holds(0.01)
(Threshold(metric='error_rate', op='>=', threshold=0.02), True, False)
>>> Threshold.parse("error_rate => 0.02")
Traceback (most recent call last):
...
ValueError: write a condition as 'metric op number' with op in ['<', '<=', '>', '>='], got 'error_rate => 0.02'
"""
from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

__all__ = ["NEGATION", "OPS", "Threshold"]

#: The comparisons a condition may use.
OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
}
#: Each comparison's opposite, for saying why a condition did not hold.
NEGATION: dict[str, str] = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}

_T = TypeVar("_T", bound="Threshold")


@dataclass(frozen=True)
class Threshold:
    """``metric op threshold``: holds when the metric's value compares so with the threshold.

    Parameters
    ----------
    metric : str
        The name of the value to compare.
    op : {">", ">=", "<", "<="}
    threshold : float
        A finite number.

    Raises
    ------
    ValueError
        An unknown ``op`` or a threshold that is not a finite number.
    """

    metric: str
    op: str
    threshold: float

    #: What a subclass is called in its messages ("alert", "rule").
    kind: ClassVar[str] = "condition"

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"op must be one of {sorted(OPS)}, got {self.op!r}")
        if not isinstance(self.threshold, numbers.Real) or not math.isfinite(float(self.threshold)):
            raise ValueError(f"threshold must be a finite number, got {self.threshold!r}")

    @classmethod
    def parse(cls: type[_T], text: str, **kwargs: Any) -> _T:
        """``"latency_p95_ms > 250"`` -> ``cls("latency_p95_ms", ">", 250.0, **kwargs)``."""
        parts = str(text).split()
        if len(parts) != 3 or parts[1] not in OPS:
            raise ValueError(f"write {_article(cls.kind)} {cls.kind} as 'metric op number' with op in {sorted(OPS)}, "
                             f"got {text!r}")
        try:
            value = float(parts[2])
        except ValueError:
            raise ValueError(f"{cls.kind} threshold must be a number, got {parts[2]!r} in {text!r}") from None
        return cls(parts[0], parts[1], value, **kwargs)

    def holds(self, value: float) -> bool:
        """Whether ``value op threshold``."""
        return bool(OPS[self.op](float(value), float(self.threshold)))


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
