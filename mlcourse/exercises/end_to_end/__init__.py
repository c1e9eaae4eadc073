"""Exercises of lesson 05, End to end.

``probes.py`` is what the grading child runs; ``checks.py`` holds the
definitions, references and verdicts (the answer key: never loaded there);
``client.py`` holds :class:`~mlcourse.exercises.end_to_end.client.InProcessClient`,
which the lesson imports from here.
"""
from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Loaded on first use: this package must stay light, and never load the answer key.
    if name in ("InProcessClient", "InProcessResponse"):
        from mlcourse.exercises.end_to_end import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
