"""Plain data: the only thing that crosses from a learner's objects to a verdict.

A check is split in two halves. The *probe* runs where the learner's objects
live and turns whatever it gets back into plain data with :func:`to_plain`:
JSON-compatible numbers, strings, lists and dicts, with a small tagged dict for
arrays, frames, series, timestamps and anything else. The *verdict* only ever
sees that plain data. This is what lets the grader judge in its own process
without unpickling (and so without running) anything the learner made.

Type information survives the trip on purpose: an object whose ``__eq__``
always returns True becomes ``{"__plain__": "object", ...}`` and can never pass
for a number or a frame.

Examples
--------
>>> import numpy as np
>>> to_plain(np.float64(0.5))
0.5
>>> to_plain(np.array([1, 2]))["__plain__"]
'ndarray'
>>> from_plain(to_plain((1, "a")))
(1, 'a')
"""
from __future__ import annotations

import math
import numbers
from typing import Any

TAG = "__plain__"
# A probe's answer is judged, not stored: a bound on its size keeps a runaway
# answer (a billion-row frame) from exhausting the grader.
MAX_ITEMS = 2_000_000


class PlainError(ValueError):
    """Raised when an object cannot be turned into plain data or back."""


def _qualname(obj: Any) -> str:
    cls = type(obj)
    module = getattr(cls, "__module__", "") or ""
    name = getattr(cls, "__qualname__", cls.__name__)
    return f"{module}.{name}" if module and module != "builtins" else name


def _safe_repr(obj: Any, limit: int = 200) -> str:
    try:
        text = repr(obj)
    except Exception as exc:  # a hostile __repr__ must not break the probe
        text = f"<unrepresentable {_qualname(obj)}: {type(exc).__name__}>"
    if not isinstance(text, str):
        text = f"<{_qualname(obj)}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _number(value: Any) -> Any:
    # Exact type checks: subclasses of int/float could override comparisons.
    if type(value) is bool:
        return value
    if type(value) is int:
        return value
    if type(value) is float:
        return value
    return None


def _scalar(value: Any) -> Any:
    """Convert one array element or scalar to plain data."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency
        np = None
    if np is not None and isinstance(value, np.generic):
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):
            return float(value)
        if isinstance(value, np.str_):
            return str(value)
        if isinstance(value, np.datetime64):
            return _datetime(value)
        if isinstance(value, np.timedelta64):
            return {TAG: "timedelta", "seconds": float(value / np.timedelta64(1, "s"))}
    return to_plain(value)


def _datetime(value: Any) -> dict:
    import pandas as pd

    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        return {TAG: "datetime", "value": None}
    return {TAG: "datetime", "value": ts.isoformat()}


def _check_size(n: int) -> None:
    if n > MAX_ITEMS:
        raise PlainError(f"the answer is too large to check ({n:,} values; the limit is {MAX_ITEMS:,})")


def to_plain(obj: Any, _depth: int = 0) -> Any:
    """Turn ``obj`` into plain, JSON-compatible data that keeps its type.

    Parameters
    ----------
    obj : object
        Anything a learner's code returned.

    Returns
    -------
    object
        ``None``, bool, int, float, str, list, or a dict. Non-JSON types become
        dicts tagged with ``"__plain__"``: ``ndarray``, ``DataFrame``,
        ``Series``, ``datetime``, ``tuple``, ``set``, ``dict`` (non-string
        keys), ``function`` and, for anything unknown, ``object``.

    Examples
    --------
    >>> to_plain({"a": [1, 2.5, None]})
    {'a': [1, 2.5, None]}
    """
    if _depth > 50:
        raise PlainError("the answer is nested too deeply to check")
    if obj is None:
        return None
    plain = _number(obj)
    if plain is not None:
        return plain
    if type(obj) is str:
        return obj
    if obj is Ellipsis:
        return {TAG: "ellipsis"}
    mod = type(obj).__module__ or ""
    if mod.startswith("numpy"):
        import numpy as np

        if isinstance(obj, np.ndarray):
            _check_size(obj.size)
            if obj.dtype.kind == "M":
                data = [_datetime(v) for v in obj.ravel()]
                return {TAG: "ndarray", "dtype": str(obj.dtype), "shape": list(obj.shape), "data": data}
            if obj.dtype.kind in "biuf":
                return {TAG: "ndarray", "dtype": str(obj.dtype), "shape": list(obj.shape), "data": obj.ravel().tolist()}
            return {
                TAG: "ndarray",
                "dtype": str(obj.dtype),
                "shape": list(obj.shape),
                "data": [_scalar(v) for v in obj.ravel().tolist()],
            }
        if isinstance(obj, np.generic):
            return _scalar(obj)
    if mod.startswith("pandas"):
        import pandas as pd

        if isinstance(obj, pd.DataFrame):
            _check_size(obj.size)
            columns = [_scalar(c) for c in obj.columns]
            return {
                TAG: "DataFrame",
                "columns": columns,
                "dtypes": [str(t) for t in obj.dtypes],
                "index": [_scalar(v) for v in obj.index.tolist()],
                "data": [_cells(obj.iloc[:, i]) for i in range(obj.shape[1])],
            }
        if isinstance(obj, pd.Series):
            _check_size(obj.size)
            return {
                TAG: "Series",
                "name": _scalar(obj.name) if obj.name is not None else None,
                "dtype": str(obj.dtype),
                "index": [_scalar(v) for v in obj.index.tolist()],
                "data": _cells(obj),
            }
        if isinstance(obj, pd.Timestamp) or obj is pd.NaT:
            return _datetime(obj)
        if isinstance(obj, pd.Index):
            _check_size(obj.size)
            return {TAG: "ndarray", "dtype": str(obj.dtype), "shape": [len(obj)], "data": [_scalar(v) for v in obj.tolist()]}
    import datetime as _dt

    if type(obj) in (_dt.datetime, _dt.date):
        return _datetime(obj)
    if type(obj) is list:
        _check_size(len(obj))
        return [to_plain(v, _depth + 1) for v in obj]
    if type(obj) is tuple:
        _check_size(len(obj))
        return {TAG: "tuple", "items": [to_plain(v, _depth + 1) for v in obj]}
    if type(obj) in (set, frozenset):
        _check_size(len(obj))
        items = [to_plain(v, _depth + 1) for v in obj]
        try:
            items.sort(key=lambda v: (str(type(v)), str(v)))
        except Exception:
            pass
        return {TAG: "set", "items": items}
    if type(obj) is dict:
        _check_size(len(obj))
        if all(type(k) is str for k in obj) and TAG not in obj:
            return {k: to_plain(v, _depth + 1) for k, v in obj.items()}
        return {TAG: "dict", "items": [[to_plain(k, _depth + 1), to_plain(v, _depth + 1)] for k, v in obj.items()]}
    if callable(obj) and type(obj).__name__ in ("function", "builtin_function_or_method", "method"):
        return {TAG: "function", "name": getattr(obj, "__qualname__", "?"), "module": getattr(obj, "__module__", None)}
    return {TAG: "object", "class": _qualname(obj), "repr": _safe_repr(obj)}


def _cells(values: Any) -> list:
    """A series' (or a frame column's) values as plain cells: what :func:`_cell` makes of each.

    Numbers and text take a short cut (a frame of tens of thousands of values
    crosses to the verdict, and back, in every check): a NumPy integer, bool
    or float column's ``tolist()`` already holds Python numbers, and a text
    value is its own plain form.
    """
    import numpy as np

    dtype = values.dtype
    items = values.tolist()
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return items
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return [None if v != v else v for v in items]  # NaN is the only value unequal to itself
    if getattr(dtype, "kind", None) == "M":
        # Naive or zoned datetimes: tolist() holds Timestamps and NaT, each made plain as _cell would.
        import pandas as pd

        nat = pd.NaT
        return [None if v is nat else {TAG: "datetime", "value": v.isoformat()} for v in items]
    return [v if type(v) is str else _cell(v) for v in items]


def _cell(value: Any) -> Any:
    """One value of a frame or series; missing values become None."""
    if value is None:
        return None
    if type(value) is float and math.isnan(value):
        return None
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
    except ImportError:  # pragma: no cover
        pass
    return _scalar(value)


def from_plain(data: Any, _depth: int = 0) -> Any:
    """Rebuild Python objects from :func:`to_plain` output.

    Only trusted constructors are used (lists, dicts, numpy and pandas), so
    rebuilding never executes code chosen by whoever produced ``data``.
    An ``object`` tag cannot be rebuilt and stays a :class:`Opaque`.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1, 2]})
    >>> from_plain(to_plain(df)).equals(df)
    True
    """
    if _depth > 60:
        raise PlainError("plain data nested too deeply")
    if data is None or type(data) in (bool, int, float, str):
        return data
    if type(data) is list:
        return [from_plain(v, _depth + 1) for v in data]
    if type(data) is not dict:
        raise PlainError(f"not plain data: {type(data).__name__}")
    tag = data.get(TAG)
    if tag is None:
        return {k: from_plain(v, _depth + 1) for k, v in data.items()}
    try:
        return _REBUILD[tag](data, _depth)
    except KeyError as exc:
        raise PlainError(f"malformed plain data for tag {tag!r}: missing {exc}") from None
    except PlainError:
        raise
    except Exception as exc:
        raise PlainError(f"malformed plain data for tag {tag!r}: {exc}") from None


class Opaque:
    """Stand-in for an object that has no plain form (its class and repr)."""

    def __init__(self, cls: str, text: str) -> None:
        self.cls = cls
        self.text = text

    def __repr__(self) -> str:
        return f"<{self.cls} {self.text}>"


def _rebuild_dt(value: Any) -> Any:
    import pandas as pd

    if isinstance(value, dict) and value.get(TAG) == "datetime":
        value = value.get("value")
    return pd.NaT if value is None else pd.Timestamp(value)


def _rebuild_ndarray(d: dict, depth: int) -> Any:
    import numpy as np

    dtype = np.dtype(d["dtype"])
    shape = tuple(int(s) for s in d["shape"])
    if dtype.kind == "M":
        values = [_rebuild_dt(v) for v in d["data"]]
        return np.array(values, dtype=dtype).reshape(shape)
    if dtype.kind in "biuf":
        return np.array(d["data"], dtype=dtype).reshape(shape)
    values = [from_plain(v, depth + 1) for v in d["data"]]
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr.reshape(shape)


_SCALARS = (bool, int, float, str)


def _column(values: list, dtype: str, depth: int) -> Any:
    import pandas as pd

    if dtype.startswith("datetime64"):
        return _datetime_column(values, dtype)
    # Numbers, text and None are their own rebuilt form: only tagged values need from_plain.
    rebuilt = [v if v is None or type(v) in _SCALARS else from_plain(v, depth + 1) for v in values]
    try:
        return pd.Series(rebuilt, dtype=dtype)
    except (TypeError, ValueError):
        # e.g. an int column that gained a None: fall back to what pandas infers
        return pd.Series(rebuilt)


def _datetime_column(values: list, dtype: str) -> Any:
    """A datetime column rebuilt from its plain cells, parsed in bulk where every cell is an ISO text or None.

    Anything else (hand-made plain data, mixed UTC offsets) takes the cell-by-cell
    path, which gives the same values or the same error.
    """
    import pandas as pd

    texts = [v.get("value") if type(v) is dict and v.get(TAG) == "datetime" else v for v in values]
    if all(t is None or type(t) is str for t in texts):
        try:
            return pd.Series(pd.to_datetime(texts, format="ISO8601")).astype(dtype)
        except (TypeError, ValueError, OverflowError):
            pass
    return pd.Series([_rebuild_dt(v) for v in values], dtype="object").astype(dtype)


def _rebuild_frame(d: dict, depth: int) -> Any:
    import pandas as pd

    columns = [from_plain(c, depth + 1) for c in d["columns"]]
    dtypes = list(d["dtypes"])
    data = d["data"]
    if not (len(columns) == len(dtypes) == len(data)):
        raise PlainError("DataFrame columns, dtypes and data differ in length")
    index = pd.Index([from_plain(v, depth + 1) for v in d["index"]])
    series = [_column(col, dt, depth).set_axis(index) if len(col) == len(index) else None for col, dt in zip(data, dtypes)]
    if any(s is None for s in series):
        raise PlainError("DataFrame column length differs from its index")
    frame = pd.concat(series, axis=1) if series else pd.DataFrame(index=index)
    frame.columns = columns
    return frame


def _rebuild_series(d: dict, depth: int) -> Any:
    import pandas as pd

    index = pd.Index([from_plain(v, depth + 1) for v in d["index"]])
    if len(index) != len(d["data"]):
        raise PlainError("Series data length differs from its index")
    s = _column(d["data"], d["dtype"], depth).set_axis(index)
    s.name = from_plain(d.get("name"), depth + 1)
    return s


_REBUILD = {
    "ndarray": _rebuild_ndarray,
    "DataFrame": _rebuild_frame,
    "Series": _rebuild_series,
    "datetime": lambda d, depth: _rebuild_dt(d),
    "timedelta": lambda d, depth: __import__("pandas").Timedelta(seconds=float(d["seconds"])),
    "tuple": lambda d, depth: tuple(from_plain(v, depth + 1) for v in d["items"]),
    "set": lambda d, depth: {from_plain(v, depth + 1) for v in d["items"]},
    "dict": lambda d, depth: {from_plain(k, depth + 1): from_plain(v, depth + 1) for k, v in d["items"]},
    "ellipsis": lambda d, depth: Ellipsis,
    "function": lambda d, depth: Opaque("function", str(d.get("name"))),
    "object": lambda d, depth: Opaque(str(d.get("class")), str(d.get("repr"))),
}


def kind(plain: Any) -> str:
    """A learner-readable name for the kind of value plain data holds.

    Examples
    --------
    >>> kind(3), kind(2.5), kind("x"), kind(to_plain([1]))
    ('a number', 'a number', 'a string', 'a list')
    """
    if plain is None:
        return "None"
    if type(plain) is bool:
        return "a bool (True/False)"
    if isinstance(plain, numbers.Number):
        return "a number"
    if type(plain) is str:
        return "a string"
    if type(plain) is list:
        return "a list"
    if type(plain) is dict:
        tag = plain.get(TAG)
        names = {
            "ndarray": "a NumPy array",
            "DataFrame": "a pandas DataFrame",
            "Series": "a pandas Series",
            "datetime": "a timestamp",
            "timedelta": "a time difference",
            "tuple": "a tuple",
            "set": "a set",
            "dict": "a dict",
            "ellipsis": "... (the unfinished placeholder)",
            "function": "a function",
        }
        if tag is None:
            return "a dict"
        if tag == "object":
            return f"an object of class {plain.get('class')}"
        return names.get(tag, f"a {tag}")
    return type(plain).__name__
