"""mlcourse.exercises.cache: inputs kept per (exercise, seed) and their pristine copy."""
from __future__ import annotations

import gc

import pytest

from mlcourse.exercises import cache


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_answer_gets_a_new_copy_of_the_same_kept_inputs_on_every_call():
    owner, made = object(), []

    def make():
        made.append(1)
        return [{"rows": [1, 2, 3]}, None]

    inputs, first = cache.prepared(owner, ("ex", 1), make)
    again, second = cache.prepared(owner, ("ex", 1), make)
    assert len(made) == 1 and again is inputs
    assert first == second == inputs and first[0] is not second[0] and first[0] is not inputs[0]
    first[0]["rows"].append(4)
    assert cache.prepared(owner, ("ex", 1), make)[1][0] == {"rows": [1, 2, 3]}
    # Another owner (the lesson's definitions loaded again) draws its own.
    cache.prepared(object(), ("ex", 1), make)
    assert len(made) == 2


def test_the_collector_is_paused_while_the_copy_is_built_and_back_afterwards(monkeypatch):
    seen = []

    def to_plain(x):
        seen.append(gc.isenabled())
        return x

    monkeypatch.setattr(cache, "to_plain", to_plain)
    assert gc.isenabled()
    cache.prepared(object(), ("ex", 2), lambda: [[1]])
    assert seen == [False] and gc.isenabled()

    def broken(x):
        raise ValueError("too large")

    monkeypatch.setattr(cache, "to_plain", broken)
    with pytest.raises(ValueError, match="too large"):
        cache.prepared(object(), ("ex", 3), lambda: [[1]])
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off():
    gc.disable()
    try:
        cache.prepared(object(), ("ex", 4), lambda: [[1]])
        assert not gc.isenabled()
    finally:
        gc.enable()
