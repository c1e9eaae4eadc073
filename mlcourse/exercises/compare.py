"""Comparing plain data, with messages written for the learner.

Never a bare ``==``: both sides are plain data (see :mod:`.plain`), so types are
compared first and values second. Floats get tolerances; arrays, series and
frames are compared element-wise as what they are, and the message says where
they first differ.

Examples
--------
>>> from mlcourse.exercises.plain import to_plain
>>> Compare()(to_plain(0.5), to_plain(0.5000000001)) is None
True
>>> Compare()(to_plain(3), to_plain("3"))
"expected a number, got a string ('3')"
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mlcourse.errors import missing_and_extra
from mlcourse.exercises.plain import TAG, kind

_MAX_SHOWN = 60


def show(plain: Any, limit: int = _MAX_SHOWN) -> str:
    """A short rendering of plain data for messages, written as Python would print the value.

    Tuples, sets and dicts with other keys than strings print as themselves,
    never as their tagged plain form; a frame, series or large array is named
    with its size instead of printed.

    Examples
    --------
    >>> from mlcourse.exercises.plain import to_plain
    >>> show(to_plain([("amount", 3), {1, 2}, {4: "x"}, None]))
    "[('amount', 3), {1, 2}, {4: 'x'}, None]"
    >>> show(to_plain(tuple(range(100))), limit=20)
    '(0, 1, 2, 3, 4, 5...'
    """
    text = _render(plain, limit + 1, top=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _render(plain: Any, budget: int, top: bool = False) -> str:
    """``plain`` as Python would print it; stops adding items once ``budget`` characters are written."""
    if isinstance(plain, list):
        return _items("[", plain, "]", budget)
    if isinstance(plain, dict):
        tag = plain.get(TAG)
        if tag is None:
            return _pairs([[k, v] for k, v in plain.items()], budget)
        items = plain.get("items")
        if tag == "tuple" and isinstance(items, list):
            return _items("(", items, ",)" if len(items) == 1 else ")", budget)
        if tag == "set" and isinstance(items, list):
            return _items("{", items, "}", budget) if items else "set()"
        if tag == "dict" and isinstance(items, list):
            return _pairs(items, budget)
        described = _described(plain, tag)
        return described if top else f"<{described}>"
    return repr(plain)


def _described(plain: dict, tag: Any) -> str:
    """What a value without a short printed form is, in words."""
    if tag == "DataFrame":
        rows = len(plain.get("index", []))
        return f"a DataFrame with {rows} row{'' if rows == 1 else 's'} and columns {_render(plain.get('columns'), 200)}"
    if tag == "Series":
        return f"a Series of {len(plain.get('data', []))} values"
    if tag == "ndarray":
        shape = tuple(plain.get("shape", []))
        data = plain.get("data")
        if len(shape) == 1 and isinstance(data, list) and len(data) <= 10:
            return f"array({_items('[', data, ']', 200)})"
        return f"an array of shape {shape}"
    if tag == "object":
        return str(plain.get("repr"))
    if tag == "function":
        return f"the function {plain.get('name')}"
    if tag == "datetime":
        return str(plain.get("value"))
    if tag == "timedelta":
        return f"{plain.get('seconds')!r} seconds"
    if tag == "ellipsis":
        return "..."
    return str(tag)


def _items(open_: str, items: list, close: str, budget: int) -> str:
    parts: list[str] = []
    used = len(open_)
    for item in items:
        if used > budget:
            parts.append("...")
            break
        text = _render(item, budget - used)
        parts.append(text)
        used += len(text) + 2
    return open_ + ", ".join(parts) + close


def _pairs(pairs: list, budget: int) -> str:
    parts: list[str] = []
    used = 1
    for pair in pairs:
        if used > budget:
            parts.append("...")
            break
        key, value = (pair[0], pair[1]) if isinstance(pair, list) and len(pair) == 2 else (pair, None)
        text = f"{_render(key, budget - used)}: {_render(value, budget - used)}"
        parts.append(text)
        used += len(text) + 2
    return "{" + ", ".join(parts) + "}"


def _is_number(v: Any) -> bool:
    return type(v) in (int, float)


def _close(a: float, b: float, rtol: float, atol: float) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if isinstance(b, float) and math.isnan(b):
        return False
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= atol + rtol * abs(b)


@dataclass(frozen=True)
class Compare:
    """Compare an expected and a received value, both as plain data.

    Parameters
    ----------
    rtol, atol : float
        Relative and absolute tolerance for floats.
    ignore_order : bool
        Treat lists (and frame rows) as multisets.
    check_index : bool
        Compare the index of series and frames.
    ignore_column_order : bool
        Frames may list the same columns in any order.
    strict_numbers : bool
        When True an int answer to a float question (or the reverse) fails.

    Examples
    --------
    >>> Compare(rtol=1e-2)(1.0, 1.005) is None
    True
    """

    rtol: float = 1e-6
    atol: float = 1e-9
    ignore_order: bool = False
    check_index: bool = False
    ignore_column_order: bool = False
    strict_numbers: bool = False

    def __call__(self, expected: Any, got: Any) -> str | None:
        return self.diff(expected, got, where="")

    # -- helpers -------------------------------------------------------------
    def _at(self, where: str) -> str:
        return f" at {where}" if where else ""

    def diff(self, expected: Any, got: Any, where: str) -> str | None:
        """Return None when equal, else a sentence naming the first difference."""
        if _is_number(expected) and type(expected) is not bool:
            if not _is_number(got) or type(got) is bool:
                return f"expected a number{self._at(where)}, got {kind(got)} ({show(got)})"
            if self.strict_numbers and type(expected) is not type(got):
                return f"expected {'an integer' if type(expected) is int else 'a float'}{self._at(where)}, got {got!r}"
            if not _close(float(got), float(expected), self.rtol, self.atol):
                return f"expected {expected!r}{self._at(where)}, got {got!r}"
            return None
        if type(expected) is bool:
            if type(got) is not bool:
                return f"expected True or False{self._at(where)}, got {kind(got)} ({show(got)})"
            return None if got is expected else f"expected {expected}{self._at(where)}, got {got}"
        if expected is None:
            return None if got is None else f"expected None{self._at(where)}, got {show(got)}"
        if type(expected) is str:
            if type(got) is not str:
                return f"expected a string{self._at(where)}, got {kind(got)} ({show(got)})"
            return None if got == expected else f"expected {expected!r}{self._at(where)}, got {got!r}"
        if type(expected) is list:
            return self._list(expected, got, where)
        if type(expected) is dict:
            tag = expected.get(TAG)
            if tag is None:
                return self._mapping(expected, got, where)
            if not (type(got) is dict and got.get(TAG) == tag):
                if tag == "tuple" and type(got) is list:
                    return self._list(expected["items"], got, where)  # a list answers a tuple question
                return f"expected {kind(expected)}{self._at(where)}, got {kind(got)} ({show(got)})"
            method = getattr(self, f"_tag_{tag}", None)
            if method is None:
                return None if expected == got else f"expected {show(expected)}{self._at(where)}, got {show(got)}"
            return method(expected, got, where)
        return f"cannot compare {kind(expected)}"  # pragma: no cover - plain data has no other kinds

    def _list(self, expected: list, got: Any, where: str) -> str | None:
        if type(got) is dict and got.get(TAG) == "tuple":
            got = got["items"]
        elif type(got) is dict and got.get(TAG) == "ndarray" and len(got.get("shape", [])) == 1:
            got = got["data"]
        if type(got) is not list:
            return f"expected a list{self._at(where)}, got {kind(got)} ({show(got)})"
        if len(got) != len(expected):
            extra = ""
            if self.ignore_order or all(type(v) is str for v in expected + got):
                missing = [v for v in expected if v not in got]
                unexpected = [v for v in got if v not in expected]
                parts = []
                if missing:
                    parts.append(f"missing {show(missing)}")
                if unexpected:
                    parts.append(f"unexpected {show(unexpected)}")
                extra = (": " + "; ".join(parts)) if parts else ""
            return f"expected {len(expected)} items{self._at(where)}, got {len(got)}{extra}"
        if self.ignore_order:
            try:
                key = lambda v: (str(type(v)), repr(v))  # noqa: E731
                expected, got = sorted(expected, key=key), sorted(got, key=key)
            except Exception:  # pragma: no cover - repr of plain data does not fail
                pass
        for i, (e, g) in enumerate(zip(expected, got)):
            d = self.diff(e, g, f"{where}[{i}]" if where else f"item {i}")
            if d:
                return d
        return None

    def _mapping(self, expected: dict, got: Any, where: str) -> str | None:
        if type(got) is not dict or TAG in got:
            return f"expected a dict{self._at(where)}, got {kind(got)} ({show(got)})"
        parts = missing_and_extra([k for k in expected if k not in got], [k for k in got if k not in expected],
                                  lambda keys: f"missing keys {show(keys, 200)}",
                                  lambda keys: f"unexpected keys {show(keys, 200)}")
        if parts:
            return f"the dict{self._at(where)} has " + " and ".join(parts)
        for k in expected:
            d = self.diff(expected[k], got[k], f"{where}[{k!r}]" if where else f"key {k!r}")
            if d:
                return d
        return None

    def _values(self, exp: list, got: list, label: str) -> str | None:
        if len(exp) != len(got):
            return f"{label} has {len(got)} values, expected {len(exp)}"
        bad = []
        for i, (e, g) in enumerate(zip(exp, got)):
            if self.diff(e, g, "") is not None:
                bad.append(i)
        if not bad:
            return None
        i = bad[0]
        return f"{label} differs in {len(bad)} of {len(exp)} values; first at position {i}: expected {show(exp[i])}, got {show(got[i])}"

    def _tag_ndarray(self, expected: dict, got: dict, where: str) -> str | None:
        if list(expected["shape"]) != list(got.get("shape", [])):
            return f"expected an array of shape {tuple(expected['shape'])}{self._at(where)}, got shape {tuple(got.get('shape', []))}"
        return self._values(expected["data"], got.get("data", []), f"the array{self._at(where)}")

    def _tag_Series(self, expected: dict, got: dict, where: str) -> str | None:
        if self.check_index and expected["index"] != got.get("index"):
            return f"the Series{self._at(where)} has a different index than expected"
        return self._values(expected["data"], got.get("data", []), f"the Series{self._at(where)}")

    def _tag_tuple(self, expected: dict, got: dict, where: str) -> str | None:
        return self._list(expected["items"], got["items"], where)

    def _tag_set(self, expected: dict, got: dict, where: str) -> str | None:
        return Compare(self.rtol, self.atol, ignore_order=True)._list(expected["items"], got["items"], where)

    def _tag_dict(self, expected: dict, got: dict, where: str) -> str | None:
        # Keys that are not strings: matched by their printed form, then values compared key by key.
        exp = {show(k, 200): (k, v) for k, v in expected["items"]}
        mine = {show(k, 200): v for k, v in got["items"]}
        parts = missing_and_extra([exp[k][0] for k in exp if k not in mine], [k for k in mine if k not in exp],
                                  lambda keys: f"missing keys {show(keys, 200)}",
                                  lambda shown: f"unexpected keys [{', '.join(shown)}]")
        if parts:
            return f"the dict{self._at(where)} has " + " and ".join(parts)
        for k, (_, v) in exp.items():
            d = self.diff(v, mine[k], f"{where}[{k}]" if where else f"key {k}")
            if d:
                return d
        return None

    def _tag_datetime(self, expected: dict, got: dict, where: str) -> str | None:
        if expected.get("value") == got.get("value"):
            return None
        return f"expected {expected.get('value')}{self._at(where)}, got {got.get('value')}"

    def _tag_DataFrame(self, expected: dict, got: dict, where: str) -> str | None:
        ecols, gcols = list(expected["columns"]), list(got.get("columns", []))
        if ecols != gcols:
            parts = missing_and_extra([c for c in ecols if c not in gcols], [c for c in gcols if c not in ecols],
                                      lambda cols: f"missing columns {show(cols, 200)}",
                                      lambda cols: f"unexpected columns {show(cols, 200)}")
            if parts:
                return "the DataFrame has " + " and ".join(parts)
            if not self.ignore_column_order:
                return f"the DataFrame's columns are in a different order: expected {show(ecols, 200)}, got {show(gcols, 200)}"
        erows, grows = len(expected["index"]), len(got.get("index", []))
        if erows != grows:
            return f"expected a DataFrame with {erows} rows, got {grows} rows"
        if self.check_index and expected["index"] != got.get("index"):
            return "the DataFrame's index differs from the expected one (did you reset or reorder it?)"
        gdata = dict(zip(gcols, got.get("data", [])))
        edata = dict(zip(ecols, expected["data"]))
        if self.ignore_order:
            # Compare rows as a multiset: sort both by every column's repr.
            erow = sorted(zip(*[edata[c] for c in ecols]), key=repr)
            grow = sorted(zip(*[gdata[c] for c in ecols]), key=repr)
            edata = {c: [r[i] for r in erow] for i, c in enumerate(ecols)}
            gdata = {c: [r[i] for r in grow] for i, c in enumerate(ecols)}
        for c in ecols:
            d = self._values(edata[c], gdata.get(c, []), f"column {c!r}")
            if d:
                return d
        return None
