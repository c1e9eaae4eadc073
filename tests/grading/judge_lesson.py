"""A lesson whose verdict misbehaves on purpose, for the bounded judging tests.

Loaded by ``tests/grading/test_judge.py`` as lesson ``98_judged``; the judge's
worker process loads it from this file, as it would an instructor's own lesson.
"""
from __future__ import annotations

import time

from mlcourse.exercises import probes
from mlcourse.exercises.engine import Exercise, Value, holds


def _verdict(got, inputs):
    # What a learner's data can make an unlucky verdict do: run for ever, or swell.
    if got == "spin":
        while True:
            time.sleep(0.01)
    if got == "grow":
        hoard = [bytearray(64 * 2**20) for _ in range(1000)]
        return f"kept {len(hoard)} blocks"
    return None if got == "right" else f"expected 'right', got {got!r}"


ECHO = Exercise(
    id="judged.echo",
    title="Say the right word",
    points=1,
    answer=Value("word"),
    tests=[holds("the word", probes.as_given, _verdict)],
)
