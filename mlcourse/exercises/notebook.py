"""Reading lesson notebooks as plain JSON, and finding their solution regions.

Deliberately free of nbformat: ``import nbformat`` costs about a second through
jsonschema, and this module sits on the learner's path (``solution()``).

An answer cell carries ``{"mlcourse": {"exercise": "<id>"}}`` in its metadata;
its solution sits between a ``# BEGIN SOLUTION`` and an ``# END SOLUTION`` line.
A check cell carries ``{"mlcourse": {"check": "<id>"}}``. In a learner's
notebook an answer cell also starts its answer with a :data:`PROMPT` line,
which is what a kernel sees of it (cell metadata never reaches the kernel).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: The line ``mlcourse release`` writes first into a learner's answer cell, naming its exercise.
PROMPT = "# Exercise {id}: {title} ({points})."
#: That line found in a cell's source: its exercise id (a learner may change the rest of the line).
PROMPT_LINE = re.compile(r"^[ \t]*#\s*Exercise\s+([A-Za-z0-9_.\-]+)\s*:", re.M)
BEGIN = re.compile(r"^(?P<indent>[ \t]*)#\s*BEGIN SOLUTION\s*$")
END = re.compile(r"^[ \t]*#\s*END SOLUTION\s*$")


class NotebookError(ValueError):
    """A lesson notebook that cannot be used, with the reason."""


def read(path: Path | str) -> dict:
    """Load a notebook file as a dict, with a clear error for a broken file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise NotebookError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise NotebookError(f"{path}: not a text file (expected a .ipynb notebook, which is JSON)") from None
    return loads(text, str(path))


def loads(text: str, name: str = "notebook") -> dict:
    """Parse notebook JSON text, checking the parts mlcourse relies on."""
    if not text.strip():
        raise NotebookError(f"{name}: the file is empty; save the notebook again from Jupyter")
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"{name}: not valid JSON (line {exc.lineno}: {exc.msg}); is it a .ipynb notebook?") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        if isinstance(nb, dict) and "worksheets" in nb:
            raise NotebookError(f"{name}: an nbformat 3 notebook; open and save it in a current Jupyter to upgrade it to version 4")
        raise NotebookError(f"{name}: JSON but not a Jupyter notebook (no 'cells' list)")
    major = nb.get("nbformat")
    if major != 4:
        raise NotebookError(f"{name}: nbformat {major} is not supported; save it from a current Jupyter (version 4)")
    for i, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise NotebookError(f"{name}: cell {i} is not a valid notebook cell")
        src = cell.get("source", "")
        if isinstance(src, list):
            if not all(isinstance(s, str) for s in src):
                raise NotebookError(f"{name}: cell {i} has a malformed source")
            cell["source"] = "".join(src)
        elif not isinstance(src, str):
            raise NotebookError(f"{name}: cell {i} has a malformed source")
        if not isinstance(cell.get("metadata", {}), dict):
            cell["metadata"] = {}
    return nb


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def meta(cell: dict) -> dict:
    """The cell's ``mlcourse`` metadata (empty when absent or malformed)."""
    m = cell.get("metadata", {}).get("mlcourse", {})
    return m if isinstance(m, dict) else {}


def exercise_id(cell: dict) -> str | None:
    value = meta(cell).get("exercise")
    return value if isinstance(value, str) else None


def check_id(cell: dict) -> str | None:
    value = meta(cell).get("check")
    return value if isinstance(value, str) else None


def lesson_of(nb: dict) -> str | None:
    m = nb.get("metadata", {}).get("mlcourse", {})
    value = m.get("lesson") if isinstance(m, dict) else None
    return value if isinstance(value, str) else None


def answer_cells(nb: dict) -> Iterator[tuple[int, dict, str]]:
    """Yield ``(index, cell, exercise_id)`` for every answer cell."""
    for i, cell in enumerate(nb["cells"]):
        ex = exercise_id(cell)
        if ex and cell.get("cell_type") == "code":
            yield i, cell, ex


def regions(text: str) -> list[tuple[int, int, str]]:
    """Line spans ``(begin, end, indent)`` of every solution region.

    ``begin`` and ``end`` index the marker lines themselves.

    Examples
    --------
    >>> regions("x = 1\\n# BEGIN SOLUTION\\ny = 2\\n# END SOLUTION\\n")
    [(1, 3, '')]
    """
    lines = text.splitlines()
    found = []
    start = None
    indent = ""
    for i, line in enumerate(lines):
        m = BEGIN.match(line)
        if m:
            if start is not None:
                raise NotebookError(f"line {i + 1}: BEGIN SOLUTION inside another solution region")
            start, indent = i, m.group("indent")
        elif END.match(line):
            if start is None:
                raise NotebookError(f"line {i + 1}: END SOLUTION without a BEGIN SOLUTION")
            found.append((start, i, indent))
            start = None
    if start is not None:
        raise NotebookError(f"line {start + 1}: BEGIN SOLUTION without an END SOLUTION")
    return found


def solution_text(text: str) -> str:
    """The code inside the solution regions of a cell, dedented."""
    import textwrap

    lines = text.splitlines()
    parts = []
    for begin, end, _ in regions(text):
        parts.append(textwrap.dedent("\n".join(lines[begin + 1 : end])))
    return "\n\n".join(parts).strip("\n") + "\n"


def without_markers(text: str) -> str:
    """The cell as it runs in the solutions notebook: the markers removed."""
    return "\n".join(line for line in text.splitlines() if not (BEGIN.match(line) or END.match(line)))


def find_answer_cell(nb: dict, ex_id: str) -> dict | None:
    for _, cell, found in answer_cells(nb):
        if found == ex_id:
            return cell
    return None


def solution_source(exercise_id: str) -> str:
    """One correct answer, read from the lesson's solutions notebook (what ``.solution()`` shows)."""
    from mlcourse.exercises.catalog import lesson_of

    path = lesson_path(lesson_of(exercise_id), "solutions")
    cell = find_answer_cell(read(path), exercise_id)
    if cell is None:
        raise KeyError(f"{path} has no answer cell for {exercise_id}")
    return solution_text(source(cell))


def lesson_path(lesson: str, kind: str = "notebooks") -> Path:
    from mlcourse.paths import lessons_dir

    return lessons_dir(kind) / f"{lesson}.ipynb"


def dumps(nb: dict[str, Any]) -> str:
    """Serialise a notebook the way Jupyter and nbformat do (stable diffs)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
