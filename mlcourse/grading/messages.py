"""What the grader accepts from a child, checked before anything else reads it.

The child is the learner's process: every byte it sends is hostile until shown
otherwise. A message is one line, ``<token> <JSON>``; the grader
(:class:`~mlcourse.grading.sandbox.Session`) takes it in this order, each step
cheap and bounded before the next, costlier one:

1. **the token**: a line that does not start with the one-time token of the
   request in flight is dropped unread (and counted);
2. **the size**: at most :data:`MAX_REPLY` bytes (:data:`MAX_PROBE` for the
   answer to a probe: two 20,000-row frames of a dozen columns);
3. **the shape, by counting**: the number of containers and of values the JSON
   can hold is read off its brackets and commas, so parsing it cannot take
   more than a few times its size in memory;
4. **the parse**, then **the tree**: depth, string lengths;
5. **the fields**: a cell's answer has only known fields, of known types, and
   its texts are cut to a length a learner can read.

Only then does the verdict (:mod:`.verdict`) rebuild objects from the data or
judge it.

Examples
--------
>>> accept(b'{"status": "ok"}', MAX_REPLY)
{'status': 'ok'}
>>> accept(b"[" * 5000 + b"]" * 5000, MAX_REPLY)
'JSON nested 5,000 deep (the most is 100)'
"""
from __future__ import annotations

import json
from typing import Any

MAX_REPLY = 256 * 1024  # a cell's answer, an acknowledgement, the child's hello
MAX_PROBE = 16 * 1024 * 1024  # a 20,000-row frame of 12 columns is about 5.6 MB of JSON
MAX_CONTAINERS = 200_000  # lists and objects in one message
MAX_VALUES = 2_000_000  # numbers, strings, list items and object entries
MAX_DEPTH = 100
MAX_STRING = 256 * 1024
MAX_BOGUS = 10_000  # forged or stray lines tolerated on a child's private pipe

# The fields of a cell's answer and how much of each a learner is shown.
CELL_TEXT = {"status": 16, "ename": 200, "evalue": 2_000, "traceback": 20_000}
CELL_FLAGS = ("before_exec", "changed", "memory")


def accept(line: bytes, limit: int) -> dict | str:
    """The message in ``line`` (the part after the token), or why it is refused.

    Examples
    --------
    >>> accept(b'{"a": "' + b"x" * (MAX_STRING + 1) + b'"}', MAX_PROBE)
    'a string of 262,145 characters (the most is 262,144)'
    """
    if len(line) > limit:
        return f"a message of {len(line):,} bytes (the most is {limit:,})"
    containers = line.count(b"[") + line.count(b"{")
    if containers > MAX_CONTAINERS:
        return f"{containers:,} lists and objects (the most is {MAX_CONTAINERS:,})"
    values = line.count(b",") + line.count(b":")
    if values > MAX_VALUES:
        return f"{values:,} values (the most is {MAX_VALUES:,})"
    try:
        msg = json.loads(line)
    except RecursionError:
        return f"JSON nested {containers:,} deep (the most is {MAX_DEPTH})"
    except (ValueError, UnicodeDecodeError):
        return "not JSON"
    if not isinstance(msg, dict):
        return "not a JSON object"
    problem = _tree_problem(msg)
    return problem if problem else msg


def _tree_problem(root: Any) -> str | None:
    """Depth and string lengths of a parsed message, walked without recursion."""
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"JSON nested over {MAX_DEPTH} deep"
        if isinstance(node, str):
            if len(node) > MAX_STRING:
                return f"a string of {len(node):,} characters (the most is {MAX_STRING:,})"
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, dict):
            stack.extend((k, depth + 1) for k in node)
            stack.extend((v, depth + 1) for v in node.values())
    return None


def cell_reply(msg: dict) -> dict | str:
    """A cell's answer with only its known fields, texts cut short; or why it is refused.

    Examples
    --------
    >>> cell_reply({"status": "error", "ename": "ValueError", "evalue": "x" * 5000, "extra": 1})["evalue"][-3:]
    '...'
    >>> cell_reply({"status": "maybe"})
    "a cell status 'maybe'"
    """
    status = msg.get("status")
    if status not in ("ok", "error"):
        return f"a cell status {str(status)[:20]!r}"
    out: dict = {}
    for key, most in CELL_TEXT.items():
        value = msg.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            return f"a cell answer whose {key} is not text"
        out[key] = value if len(value) <= most else value[: most - 3] + "..."
    for key in CELL_FLAGS:
        if key in msg:
            if not isinstance(msg[key], bool):
                return f"a cell answer whose {key} is not true or false"
            out[key] = msg[key]
    return out


__all__ = ["MAX_BOGUS", "MAX_PROBE", "MAX_REPLY", "accept", "cell_reply"]
