"""Plain data: the round trip and the type information that defeats impostors."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlcourse.exercises.plain import MAX_ITEMS, Opaque, PlainError, from_plain, kind, to_plain


class AlwaysEqual:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


@pytest.mark.parametrize(
    "value",
    [None, True, 0, -3, 2.5, "text", [1, "a", None], {"k": [1, 2]}, (1, 2), {3, 1}, {1: "a"}],
)
def test_builtin_round_trip(value):
    plain = to_plain(value)
    assert from_plain(json.loads(json.dumps(plain))) == value


def test_numpy_scalars_become_python_numbers():
    assert type(to_plain(np.float64(1.5))) is float
    assert type(to_plain(np.int32(4))) is int
    assert type(to_plain(np.bool_(True))) is bool
    assert to_plain(np.str_("x")) == "x"


def test_array_round_trip_keeps_dtype_and_shape():
    a = np.arange(6, dtype="float32").reshape(2, 3)
    back = from_plain(json.loads(json.dumps(to_plain(a))))
    assert back.dtype == np.float32 and back.shape == (2, 3)
    np.testing.assert_array_equal(back, a)


def test_frame_round_trip_with_mixed_dtypes_and_missing_values():
    df = pd.DataFrame(
        {
            "amount": [1.5, np.nan, 3.0],
            "n": [1, 2, 3],
            "city": ["a", None, "c"],
            "when": pd.to_datetime(["2026-01-01", None, "2026-01-03"]),
            "flag": [True, False, True],
        },
        index=[10, 11, 12],
    )
    back = from_plain(json.loads(json.dumps(to_plain(df))))
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    assert list(back.dtypes.astype(str))[:2] == ["float64", "int64"]
    assert str(back["when"].dtype).startswith("datetime64")


def test_series_round_trip():
    s = pd.Series([1.0, 2.0], index=["a", "b"], name="x")
    back = from_plain(to_plain(s))
    pd.testing.assert_series_equal(back, s)


def test_always_equal_object_keeps_its_identity():
    plain = to_plain(AlwaysEqual())
    assert plain["__plain__"] == "object"
    assert "AlwaysEqual" in kind(plain)
    assert isinstance(from_plain(plain), Opaque)


def test_hostile_repr_does_not_break_conversion():
    class Bad:
        def __repr__(self):
            raise RuntimeError("no")

    assert "unrepresentable" in to_plain(Bad())["repr"]


def test_too_large_answer_is_refused():
    with pytest.raises(PlainError, match="too large"):
        to_plain(np.zeros(MAX_ITEMS + 1))


@pytest.mark.parametrize(
    "bad",
    [
        {"__plain__": "DataFrame", "columns": ["a"], "dtypes": [], "index": [], "data": []},
        {"__plain__": "ndarray", "dtype": "float64", "shape": [3], "data": [1]},
        {"__plain__": "ndarray", "dtype": "not-a-dtype", "shape": [1], "data": [1]},
        {"__plain__": "tuple"},
        object(),
    ],
)
def test_malformed_plain_data_raises_plain_error(bad):
    with pytest.raises(PlainError):
        from_plain(bad)


def test_frame_columns_take_the_short_cut_to_the_same_plain_cells():
    """Numeric and text columns are converted in bulk: the cells are what converting each value gives."""
    from mlcourse.exercises.plain import _cell

    df = pd.DataFrame(
        {
            "f": [1.5, np.nan, np.inf, -0.0],
            "f32": np.array([1.5, np.nan, 2.25, 3.0], dtype="float32"),
            "i": np.array([1, -2, 3, 2**62], dtype="int64"),
            "u": np.array([1, 2, 3, 2**63], dtype="uint64"),
            "b": [True, False, True, False],
            "text": ["a", None, "c", "d"],
            "obj": pd.Series(["a", 1, None, 2.5], dtype=object),
            "nullable": pd.array([1, None, 3, 4], dtype="Int64"),
            "when": pd.to_datetime(["2026-01-01", None, "2026-01-03", "2026-01-04"]),
        }
    )
    plain = to_plain(df)
    for name, cells in zip(plain["columns"], plain["data"]):
        slow = [_cell(v) for v in df[name].tolist()]
        assert [type(c) for c in cells] == [type(c) for c in slow], name
        assert json.dumps(cells) == json.dumps(slow), name
    back = from_plain(json.loads(json.dumps(plain)))
    pd.testing.assert_frame_equal(back[["f", "i", "u", "b", "text"]], df[["f", "i", "u", "b", "text"]], check_dtype=False)


def _cell_by_cell(values: list, dtype: str) -> pd.Series:
    """The datetime column as rebuilding each cell on its own makes it (the path the bulk parse must agree with)."""
    from mlcourse.exercises.plain import _rebuild_dt

    return pd.Series([_rebuild_dt(v) for v in values], dtype="object").astype(dtype)


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(pd.to_datetime(["2026-01-01 00:00:00", None, "2026-01-03 04:05:06.789"], format="ISO8601")),
        pd.Series(pd.date_range("1969-12-31 23:00", periods=5, freq="17min", unit="ns")),
        pd.Series(pd.date_range("2026-03-28", periods=4, freq="D", tz="Europe/Paris")),  # crosses a change of UTC offset
        pd.Series(pd.date_range("2026-01-01", periods=3, freq="h", tz="UTC")),
        pd.Series(pd.to_datetime(["2026-01-01 00:00:00.000000001", None]).astype("datetime64[ns]")),
        pd.Series(pd.to_datetime(["2026-01-01", "2026-06-01"]).astype("datetime64[s]")),
        pd.Series([pd.NaT, pd.NaT], dtype="datetime64[ns]"),
    ],
    ids=["naive-with-nat", "before-1970", "zoned-dst", "utc", "nanoseconds", "seconds", "all-nat"],
)
def test_datetime_columns_cross_in_bulk_as_cell_by_cell(column):
    """Datetime columns take a bulk path both ways; the plain cells and the rebuilt column are what the cell-by-cell path gives."""
    from mlcourse.exercises.plain import _cell

    plain = to_plain(column)
    assert json.dumps(plain["data"]) == json.dumps([_cell(v) for v in column.tolist()])
    back = from_plain(json.loads(json.dumps(plain)))
    pd.testing.assert_series_equal(back, column, check_names=False, check_index_type=False)
    pd.testing.assert_series_equal(back, _cell_by_cell(plain["data"], plain["dtype"]), check_index_type=False)


@pytest.mark.parametrize(
    "values, dtype",
    [
        ([{"__plain__": "datetime", "value": "yesterday"}], "datetime64[ns]"),  # hand-made, not ISO
        (["2026-01-01T00:00:00+01:00", "2026-07-01T00:00:00+02:00"], "datetime64[ns, Europe/Paris]"),  # bare texts, two offsets
        ([{"__plain__": "datetime", "value": "2026-01-01T00:00:00"}], "datetime64[ns, UTC]"),  # naive text, zoned dtype
    ],
)
def test_datetime_cells_the_bulk_parse_refuses_fall_back_to_the_same_outcome(values, dtype):
    from mlcourse.exercises.plain import _column

    try:
        expected = _cell_by_cell(values, dtype)
    except Exception as exc:  # the cell-by-cell path refuses: the bulk path must refuse alike
        with pytest.raises(type(exc)):
            _column(values, dtype, 0)
    else:
        pd.testing.assert_series_equal(_column(values, dtype, 0), expected)
