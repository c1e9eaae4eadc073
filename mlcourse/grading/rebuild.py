"""Step 2 of grading: rebuild the notebook from the trusted template.

The cells that run come from the lesson's learner template, except:

* **answer cells**, taken from the submission. An answer cell is found by its
  metadata (``mlcourse.exercise``), else by the stub's prompt line
  (``# Exercise <id>: ...``), else, for an exercise still without one, by a
  cell that defines the exercise's answer name at top level;
* **cells the learner added**, run after the lesson cell they follow in the
  submission.

Everything else, setup cells and check cells included, is the template's own
version, so editing them has no effect. Check cells are not run at all: the
grader judges each exercise directly. An exercise without an answer cell gets
the template's stub (so later cells run as in an untouched notebook) and scores
0 with a message.

Examples
--------
>>> sorted(defined_names("import numpy as np\\ndef f(x):\\n    return x\\nk, n = 1, 2"))
['f', 'k', 'n', 'np']
"""
from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from mlcourse.exercises import notebook as nbio
from mlcourse.exercises.engine import Exercise
from mlcourse.grading.discover import PROMPT

TEMPLATE, ANSWER, ADDED, STUB = "template", "answer", "added", "stub"


@dataclass
class PlannedCell:
    """One cell of the rebuilt notebook.

    ``origin`` is ``"template"``, ``"answer"`` (from the submission),
    ``"added"`` (a cell the learner added) or ``"stub"`` (the template's answer
    cell, standing in for a missing or dropped one). ``exercises`` lists the
    exercises whose answer this cell holds.
    """

    source: str
    origin: str
    exercises: tuple[str, ...] = ()
    where: str = ""

    def describe(self) -> str:
        if self.origin == ANSWER:
            return f"{self.where} (your answer to {', '.join(self.exercises)})"
        if self.origin == ADDED:
            return f"{self.where} (a cell you added)"
        return self.where


@dataclass
class Plan:
    """The rebuilt notebook and what the rebuild found."""

    cells: list[PlannedCell]
    missing: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    stubs: dict[str, str] = field(default_factory=dict)

    def stub_for(self, exercises: Sequence[str]) -> PlannedCell:
        """The template's version of an answer cell, to stand in for a dropped one."""
        source = "\n\n".join(self.stubs[e] for e in exercises if e in self.stubs)
        return PlannedCell(source, STUB, tuple(exercises), "the lesson's stub")


def defined_names(source: str) -> set[str]:
    """Names a cell binds at top level (functions, classes, assignments, imports)."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        # A cell that does not parse can still be recognised as an answer; it
        # will then fail to run and say so.
        pattern = r"^(?:async\s+)?(?:def|class)\s+(\w+)|^(\w+)\s*(?::[^=\n]*)?=(?!=)"
        return {a or b for a, b in re.findall(pattern, code, re.M)}
    names: set[str] = set()

    def targets(node: ast.AST) -> None:
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                targets(elt)
        elif isinstance(node, ast.Starred):
            targets(node.value)

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    targets(t)
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                targets(node.target)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    names.add((alias.asname or alias.name).split(".")[0])
            elif isinstance(node, (ast.If, ast.Try, ast.With)):
                visit(node.body)
                visit(getattr(node, "orelse", []))

    visit(tree.body)
    return names


def _normal(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line.strip()[:60]
    return ""


def rebuild(template: dict, submission: dict, exercises: Sequence[Exercise]) -> Plan:
    """Rebuild the notebook to run from the template and the submission.

    Parameters
    ----------
    template : dict
        The lesson's learner template (trusted).
    submission : dict
        The learner's notebook (untrusted; parsed by :mod:`.discover`).
    exercises : sequence of Exercise
        The lesson's exercises.

    Returns
    -------
    Plan
        The cells to run, in order, and per-exercise problems.
    """
    ids = [ex.id for ex in exercises]
    known = set(ids)
    answer_name = {ex.id: ex.answer.name for ex in exercises}

    # -- the template ---------------------------------------------------------
    t_cells = [(i, c) for i, c in enumerate(template["cells"]) if c.get("cell_type") == "code"]
    t_answer: dict[str, int] = {}
    t_check: dict[str, int] = {}
    t_by_id: dict[str, int] = {}
    t_by_source: dict[str, list[int]] = defaultdict(list)
    stubs: dict[str, str] = {}
    for i, cell in t_cells:
        ex = nbio.exercise_id(cell)
        check = nbio.check_id(cell)
        if ex in known and ex not in t_answer:
            t_answer[ex] = i
            stubs[ex] = nbio.source(cell)
            continue
        if check is not None:
            t_check.setdefault(check, i)
        if isinstance(cell.get("id"), str):
            t_by_id.setdefault(cell["id"], i)
        t_by_source[_normal(nbio.source(cell))].append(i)
    t_sources = {i: nbio.source(c) for i, c in t_cells}

    # -- classify the submission's cells ----------------------------------------
    kinds: dict[int, tuple] = {}
    claimed: set[int] = set()
    notes: list[str] = []
    s_cells = [
        (i, c) for i, c in enumerate(submission["cells"]) if c.get("cell_type") == "code" and nbio.source(c).strip()
    ]
    how: dict[str, str] = {}
    for s, cell in s_cells:
        src = nbio.source(cell)
        meta = nbio.exercise_id(cell)
        found = [meta] if meta in known else []
        found += [p for p in PROMPT.findall(src) if p in known and p not in found]
        if found:
            kinds[s] = (ANSWER, tuple(found))
            for ex in found:
                how.setdefault(ex, "metadata" if ex == meta else "prompt")
            continue
        check = nbio.check_id(cell)
        if check is not None:
            t = t_check.get(check)
            kinds[s] = (TEMPLATE, t)
            if t is not None and _normal(src) != _normal(t_sources[t]):
                notes.append(f"Cell {s + 1} of your notebook is an edited check cell; grading never runs check cells.")
            continue
        t = t_by_id.get(cell.get("id")) if isinstance(cell.get("id"), str) else None
        if t is not None and t not in claimed:
            claimed.add(t)
            kinds[s] = (TEMPLATE, t)
            if _normal(src) != _normal(t_sources[t]):
                if nbio.check_id(template["cells"][t]) is not None:
                    notes.append(f"Cell {s + 1} of your notebook is an edited check cell; grading never runs check cells.")
                else:
                    notes.append(
                        f"Cell {s + 1} of your notebook is the lesson's cell \"{_first_line(t_sources[t])}\", edited; "
                        "the lesson's own version was run instead."
                    )
            continue
        same = [t for t in t_by_source.get(_normal(src), []) if t not in claimed]
        if same:
            claimed.add(same[0])
            kinds[s] = (TEMPLATE, same[0])
            continue
        kinds[s] = (ADDED,)

    # Exercises still without an answer: a cell the learner added (or whose
    # metadata and prompt were stripped) that defines the answer's name.
    for ex in ids:
        if ex in how:
            continue
        for s, cell in s_cells:
            if kinds[s][0] == ADDED and answer_name[ex] in defined_names(nbio.source(cell)):
                kinds[s] = (ANSWER, (ex,))
                how[ex] = "name"
                break

    # -- order: template order, added cells after the lesson cell they follow ---
    added_after: dict[int, list[int]] = defaultdict(list)
    answers_for: dict[str, list[int]] = defaultdict(list)
    anchor = -1
    for s, _ in s_cells:
        kind = kinds[s]
        if kind[0] == ANSWER:
            for ex in kind[1]:
                answers_for[ex].append(s)
            positions = [t_answer[e] for e in kind[1] if e in t_answer]
            anchor = min(positions) if positions else anchor
        elif kind[0] == TEMPLATE:
            anchor = kind[1] if kind[1] is not None else anchor
        else:
            added_after[anchor].append(s)

    sources = {s: nbio.source(c) for s, c in s_cells}
    cells: list[PlannedCell] = []
    emitted: set[int] = set()
    missing: dict[str, str] = {}

    def emit_added(t: int) -> None:
        for s in added_after.get(t, []):
            cells.append(PlannedCell(sources[s], ADDED, (), f"cell {s + 1} of your notebook"))

    def emit_answer(s: int) -> None:
        if s not in emitted:
            emitted.add(s)
            cells.append(PlannedCell(sources[s], ANSWER, kinds[s][1], f"cell {s + 1} of your notebook"))

    answer_at = {t: ex for ex, t in t_answer.items()}
    emit_added(-1)
    for t, _cell in t_cells:
        if t in answer_at:
            ex = answer_at[t]
            if answers_for.get(ex):
                for s in answers_for[ex]:
                    emit_answer(s)
            else:
                cells.append(PlannedCell(t_sources[t], STUB, (ex,), f"lesson cell {t + 1}"))
        elif nbio.check_id(template["cells"][t]) is not None:
            pass  # the grader judges directly
        else:
            cells.append(PlannedCell(t_sources[t], TEMPLATE, (), f"lesson cell {t + 1} ({_first_line(t_sources[t])})"))
        emit_added(t)
    # Answers to exercises the template has no cell for still run, last.
    for ex in ids:
        for s in answers_for.get(ex, []):
            emit_answer(s)

    for ex in ids:
        found = answers_for.get(ex, [])
        if not found:
            missing[ex] = (
                f"Your notebook has no answer cell for {ex}: no cell has its metadata, its "
                f"'# Exercise {ex}:' line, or defines `{answer_name[ex]}`. Was the cell deleted? "
                "Copy the exercise's cell from a fresh copy of the lesson, answer it, and submit again."
            )
        elif len(found) > 1:
            where = ", ".join(str(s + 1) for s in found)
            notes.append(
                f"Your notebook has {len(found)} answer cells for {ex} (cells {where}); all of them ran, "
                "in that order, so the last definition counts."
            )
        if how.get(ex) == "prompt":
            notes.append(f"The answer cell for {ex} had lost its metadata; it was recognised by its '# Exercise' line.")
        elif how.get(ex) == "name":
            notes.append(f"The answer cell for {ex} was recognised because it defines `{answer_name[ex]}`.")
    return Plan(cells=cells, missing=missing, notes=notes, stubs=stubs)


def load_template(lesson: str) -> dict:
    """The lesson's learner template, as released with the package."""
    return nbio.read(nbio.lesson_path(lesson, "notebooks"))
