"""Exercises of lesson 06, interview preparation.

``probes.py`` is what the grading child runs; ``checks.py`` holds the
definitions, the questions' right options and the verdicts (the answer key:
never loaded there); ``review.py`` holds :func:`review_star`, the STAR
self-review the lesson imports from here.
"""
from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Loaded on first use: this package must stay light, and never load the answer key.
    if name in ("review_star", "star_problems", "stage_mentions", "STAGE_WORDS"):
        from mlcourse.exercises.interview import review

        return getattr(review, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
