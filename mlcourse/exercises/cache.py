"""What a check computes that does not depend on the answer, kept for the next check.

Where it stands: under :mod:`mlcourse.exercises.engine`, which asks here for a
test's inputs and reference values instead of computing them on every
``check()``. A learner checks the same exercise again and again with the same
seed, and most of a check's time goes into drawing fresh inputs (tables of
thousands of rows) and computing the reference answer on them (fitting a
model), none of which changes between checks.

* :func:`prepared` keeps, per (exercise, seed), the inputs every test draws
  and a pristine copy rebuilt from their plain data (as the grader's child
  rebuilds them); each check gets a deep copy of that, which costs a
  fraction of rebuilding it, so an answer that mutates its input still
  cannot reach the next check or the reference.
* :func:`collector_paused` keeps Python's cyclic garbage collector from
  walking the learner's whole kernel again and again while a check builds
  plain data and runs its verdicts.
* :func:`per_inputs` caches a function of a test's inputs (a reference
  value) by the identity of the inputs object: the verdict of a check gets
  the very same inputs object while it is kept here, so a reference is
  computed once per (exercise, seed). :func:`~mlcourse.exercises.engine.returns`
  caches its reference this way; a lesson's own verdict can wrap its
  reference computation with it too.

Verdicts must therefore never change their inputs (the lessons' tests check
this through :func:`mlcourse.exercises.testing.walk`). Both caches are small
and bounded, and hold plain data and the objects built from it only.

Examples
--------
>>> calls = []
>>> @per_inputs
... def total(xs):
...     calls.append(1)
...     return sum(xs)
>>> xs = [1, 2, 3]
>>> total(xs), total(xs), len(calls)
(6, 6, 1)
>>> total([1, 2, 3]), len(calls)  # another object with equal content is computed again
(6, 2)
"""
from __future__ import annotations

import contextlib
import copy
import functools
import gc
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from mlcourse.exercises.plain import from_plain, to_plain

T = TypeVar("T")

#: Prepared inputs kept (exercise, seed): a lesson's exercises with the notebook's seed, and a few more.
MAX_PREPARED = 32
#: Reference values kept per cached function.
MAX_PER_INPUTS = 8


class _Prepared:
    __slots__ = ("owner", "inputs", "pristine")

    def __init__(self, owner: object, inputs: list, pristine: list) -> None:
        self.owner = owner
        self.inputs = inputs
        self.pristine = pristine


_prepared: OrderedDict[Hashable, _Prepared] = OrderedDict()


@contextlib.contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector for the trusted steps of one check.

    Building plain data (tens of thousands of small dicts) and computing a
    verdict set off collections that walk every object of the learner's
    kernel (its frames, fitted models): in a lesson's kernel those cost more
    than the work itself. A check is short, and whatever cycles it leaves
    are collected once the collector is back. A collector the caller turned
    off stays off.

    Examples
    --------
    >>> import gc
    >>> with collector_paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def prepared(owner: object, key: Hashable, make: Callable[[], list], copies: bool = True) -> tuple[list, list | None]:
    """The inputs ``make()`` draws for ``key``, and a fresh copy of them for the answer to use.

    ``owner`` is the exercise: an entry made for another object with the same
    key (a lesson's definitions loaded again) is made anew.

    Returns
    -------
    inputs : list
        The same objects on every call while the entry is kept: what the
        verdicts judge with. Nobody may change them.
    copies : list or None
        A new deep copy of the inputs as rebuilt from plain data, for the
        learner's code to use (and change) as it likes (None when ``copies``
        is False).
    """
    entry = _prepared.get(key)
    if entry is None or entry.owner is not owner:
        inputs = make()
        with collector_paused():
            pristine = [from_plain(to_plain(x)) if x is not None else None for x in inputs]
        entry = _Prepared(owner, inputs, pristine)
        _prepared[key] = entry
        while len(_prepared) > MAX_PREPARED:
            _prepared.popitem(last=False)
    else:
        _prepared.move_to_end(key)
    return entry.inputs, (copy.deepcopy(entry.pristine) if copies else None)


def per_inputs(fn: Callable[[Any], T]) -> Callable[[Any], T]:
    """Cache ``fn(inputs)`` by the identity of ``inputs`` (see the module docstring).

    For a reference computed from a test's inputs alone, never from the
    answer. An entry keeps its inputs object alive, so an identity is never
    reused for another object while it is kept; an exception is not cached.
    """
    entries: OrderedDict[int, tuple[Any, T]] = OrderedDict()

    @functools.wraps(fn)
    def cached(inputs: Any) -> T:
        key = id(inputs)
        hit = entries.get(key)
        if hit is not None and hit[0] is inputs:
            entries.move_to_end(key)
            return hit[1]
        value = fn(inputs)
        entries[key] = (inputs, value)
        while len(entries) > MAX_PER_INPUTS:
            entries.popitem(last=False)
        return value

    cached.cache_clear = entries.clear  # type: ignore[attr-defined]
    return cached


def clear() -> None:
    """Forget every prepared input (the per-inputs caches empty as their entries age out)."""
    _prepared.clear()
