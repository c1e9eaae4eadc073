"""Errors, and pieces of error messages, shared across the package (the base layer: imports nothing)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


class CLIError(Exception):
    """A problem the user can fix; printed as one line, exit status 2."""


def missing_and_extra(
    missing: Sequence[Any],
    extra: Sequence[Any],
    say_missing: Callable[[Sequence[Any]], str],
    say_extra: Callable[[Sequence[Any]], str],
) -> list[str]:
    """The parts of a message about names that are missing and names that should not be there.

    One part for each of ``missing`` and ``extra`` that is not empty, worded
    by ``say_missing`` / ``say_extra``; no parts when the names match. Used
    for a request's features, a frame's columns and a dict's keys alike.

    Examples
    --------
    >>> missing_and_extra(["age"], [], lambda m: f"missing {m}", lambda e: f"unknown {e}")
    ["missing ['age']"]
    >>> "; ".join(missing_and_extra(["age"], ["agee"], lambda m: f"missing {m}", lambda e: f"unknown {e}"))
    "missing ['age']; unknown ['agee']"
    >>> missing_and_extra([], [], str, str)
    []
    """
    parts = []
    if missing:
        parts.append(say_missing(missing))
    if extra:
        parts.append(say_extra(extra))
    return parts
