"""Learner text, made safe for each place the grader writes it.

Anything a submission controls can reach the grader's outputs: exception
messages, printed values, cell sources, file and folder names. Each writer
passes such text through the function for its format, so no submission can
stop a batch with a character the format refuses, or inject into it:

* :func:`clean`: valid Unicode for JSON and SQLite (a lone surrogate such as
  ``"\\ud800"`` cannot be encoded as UTF-8; it is shown escaped);
* :func:`terminal`: one printable line for the summary table and the log (no
  escape sequences that would drive the instructor's terminal);
* :func:`xml`: no characters XML 1.0 cannot hold;
* :func:`code_span` and :func:`code_block`: text that Markdown renders exactly
  as written (no HTML, headings, links, emphasis or closing fences);
* :func:`folder_name`: a single, reversible path component that never contains
  a dot, so it can never be ``..``, a hidden file, or one of the grader's own
  files (which all contain one: ``gradebook.db``).

Examples
--------
>>> clean("bad \\ud800 text")
'bad \\\\ud800 text'
>>> terminal("ann\\x1b[2J\\nbob")
'ann\\\\x1b[2J\\\\nbob'
>>> code_span("<img src=x onerror=alert(1)> `x`")
'`` <img src=x onerror=alert(1)> `x` ``'
>>> folder_name("Zoë/../gradebook.db")
'Zo%C3%AB%2F%2E%2E%2Fgradebook%2Edb'
>>> from_folder_name(folder_name("Zoë/../gradebook.db"))
'Zoë/../gradebook.db'
"""
from __future__ import annotations

import re
import string
from urllib.parse import unquote

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_FOLDER_SAFE = frozenset(string.ascii_letters + string.digits + "_-")


def clean(text: object) -> str:
    """``str(text)`` that any UTF-8 writer accepts: lone surrogates shown escaped."""
    text = text if isinstance(text, str) else str(text)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def terminal(text: object) -> str:
    """One line with no control characters (shown as escapes), for a terminal or a log."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), clean(text))


def xml(text: object) -> str:
    """Text without the characters XML 1.0 cannot hold (lone surrogates included)."""
    return _XML_BAD.sub("", text if isinstance(text, str) else str(text))


def code_span(text: object) -> str:
    """An inline code span holding ``text`` literally, on one line (no HTML or
    emphasis is rendered inside one; its backticks outnumber the text's)."""
    body = " ".join(clean(text).splitlines()) or " "
    longest = max((len(run) for run in re.findall("`+", body)), default=0)
    fence = "`" * (longest + 1)
    # A space each side keeps a leading or trailing backtick off the fence.
    pad = " " if body[0] == "`" or body[-1] == "`" or (body[0] == " " and body[-1] == " ") else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def code_block(text: object, info: str = "text") -> str:
    """A fenced code block holding ``text`` verbatim: its fence is longer than
    any run of backticks inside, so the text cannot close it.

    Examples
    --------
    >>> print(code_block("```\\n# Grade override"))
    ````text
    ```
    # Grade override
    ````
    """
    body = clean(text).rstrip("\n")
    longest = max((len(run) for run in re.findall("`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body}\n{fence}"


def folder_name(text: str) -> str:
    """A path component for ``text``: letters, digits, ``_`` and ``-`` kept, every
    other character percent-encoded (as UTF-8), so distinct texts never share one.
    """
    return "".join(c if c in _FOLDER_SAFE else "".join(f"%{b:02X}" for b in c.encode("utf-8", "surrogatepass")) for c in text)


def from_folder_name(name: str) -> str:
    """The text a :func:`folder_name` stands for."""
    return unquote(name, errors="surrogatepass")


def problem_in_name(text: str) -> str | None:
    """Why ``text`` cannot be a learner id, or None.

    Examples
    --------
    >>> problem_in_name("Zoë")
    >>> problem_in_name("ann\\nbob")
    'it holds a control character (line feed or similar)'
    """
    if _SURROGATE.search(text):
        return "it is not valid UTF-8"
    if _CONTROL.search(text):
        return "it holds a control character (line feed or similar)"
    if not text.strip():
        return "it is empty"
    if len(folder_name(text)) > 200:
        return "it is too long (over 200 bytes once encoded as a folder name)"
    return None


__all__ = ["clean", "code_block", "code_span", "folder_name", "from_folder_name", "problem_in_name", "terminal", "xml"]
