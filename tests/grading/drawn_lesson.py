"""A lesson whose inputs are drawn from the seed, for the tests of drawing them in a judging worker.

Loaded by ``tests/grading/test_judge.py`` as lesson ``97_drawn``; the judge's
worker process loads it from this file. Every draw of :data:`TOTAL`'s inputs
leaves a mark in :data:`DRAWS` (a file named after the draw's first number),
so a test can count the draws a worker made in its own process.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from mlcourse.exercises import probes
from mlcourse.exercises.engine import Exercise, Function, Value, holds, returns

DRAWS = Path(tempfile.gettempdir()) / "mlcourse-test-draws"


def draw_mark(rng) -> int:
    """The number naming a draw: the first one its generator gives."""
    return int(rng.integers(2**62))


def _numbers(rng) -> tuple:
    mark = draw_mark(rng)
    DRAWS.mkdir(exist_ok=True)
    with open(DRAWS / str(mark), "a") as f:
        f.write("drawn\n")
    return ([int(x) for x in rng.integers(0, 100, 6)],)


def _no_inputs(rng) -> tuple:
    raise ValueError("the table is missing")


TOTAL = Exercise(
    id="drawn.total",
    title="Add the numbers up",
    points=1,
    answer=Function("total"),
    tests=[returns("six seeded numbers", _numbers, sum)],
)

BROKEN = Exercise(
    id="drawn.broken",
    title="An exercise whose inputs cannot be made",
    points=1,
    answer=Value("word"),
    tests=[holds("the word", probes.as_given, lambda got, inputs: None, inputs=_no_inputs)],
)
