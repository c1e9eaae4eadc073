"""Comparisons: types first, tolerances for floats, messages that say where."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mlcourse.exercises.compare import Compare
from mlcourse.exercises.plain import to_plain

cmp = Compare()


def test_numbers_with_tolerance_and_numpy_scalars():
    assert cmp(0.3, to_plain(np.float64(0.1 + 0.2))) is None
    assert cmp(3, to_plain(np.int64(3))) is None
    assert "expected 0.5, got 0.6" in cmp(0.5, 0.6)


def test_type_mismatches_are_named():
    assert cmp(3, "3").startswith("expected a number, got a string")
    assert cmp(1, True).startswith("expected a number, got a bool")
    assert cmp("a", None).startswith("expected a string, got None")


def test_always_equal_object_fails_every_comparison():
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    got = to_plain(AlwaysEqual())
    for expected in (1, "x", [1], to_plain(pd.DataFrame({"a": [1]}))):
        msg = cmp(to_plain(expected), got)
        assert msg is not None and "AlwaysEqual" in msg


def test_frames_name_missing_columns_rows_and_first_difference():
    exp = to_plain(pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]}))
    assert "missing columns ['b']" in cmp(exp, to_plain(pd.DataFrame({"a": [1.0, 2.0, 3.0]})))
    assert "3 rows, got 2 rows" in cmp(exp, to_plain(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})))
    msg = cmp(exp, to_plain(pd.DataFrame({"a": [1.0, 2.5, 3.0], "b": ["x", "y", "z"]})))
    assert "column 'a' differs in 1 of 3 values; first at position 1: expected 2.0, got 2.5" in msg
    assert cmp(exp, to_plain(pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]}))) is None


def test_frame_row_order_can_be_ignored():
    exp = to_plain(pd.DataFrame({"a": [1, 2]}))
    got = to_plain(pd.DataFrame({"a": [2, 1]}))
    assert cmp(exp, got) is not None
    assert Compare(ignore_order=True)(exp, got) is None


def test_lists_and_dicts():
    assert "expected 2 items" in cmp(["a", "b"], ["a"])
    assert "missing ['b']" in cmp(["a", "b"], ["a"])
    assert Compare(ignore_order=True)([1, 2], [2, 1]) is None
    assert "missing keys ['b']" in cmp({"a": 1, "b": 2}, {"a": 1})


def test_arrays_compare_shape_then_values():
    exp = to_plain(np.array([[1.0, 2.0]]))
    assert "shape" in cmp(exp, to_plain(np.array([1.0, 2.0])))
    assert cmp(exp, to_plain(np.array([[1.0, 2.0000000001]]))) is None
