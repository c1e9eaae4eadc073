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
grader judges each exercise directly. Demonstration cells are left out unless
the learner's code may read what they make (:mod:`.demos`). An exercise without an answer cell gets
the template's stub (so later cells run as in an untouched notebook) and scores
0 with a message.

:func:`rebuild` runs :data:`STEPS` in order, each a small function of the
work so far; :data:`RECOGNISERS` decide, in order, what each submitted cell is.

Examples
--------
>>> sorted(defined_names("import numpy as np\\ndef f(x):\\n    return x\\nk, n = 1, 2"))
['f', 'k', 'n', 'np']
"""
from __future__ import annotations

import ast
import functools
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mlcourse.exercises import notebook as nbio
from mlcourse.exercises.engine import Exercise
from mlcourse.grading import demos
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
    demo: bool = False  # a lesson's demonstration cell (:mod:`.demos`)

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
    left_out: list[str] = field(default_factory=list)  # demonstration cells not run (:mod:`.demos`)

    def stub_for(self, exercises: Sequence[str]) -> PlannedCell:
        """The template's version of an answer cell, to stand in for a dropped one."""
        source = "\n\n".join(self.stubs[e] for e in exercises if e in self.stubs)
        return PlannedCell(source, STUB, tuple(exercises), "the lesson's stub")


# A cell larger than this is not parsed with ``ast`` (its memory grows about a
# hundredfold): the learner's notebook is untrusted input too. One bound for
# the rebuild and the demonstrations' analysis.
MAX_PARSED = demos.MAX_ANALYSED


def defined_names(source: str) -> set[str]:
    """Names a cell binds at top level (functions, classes, assignments, imports)."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    try:
        if len(code) > MAX_PARSED:
            raise ValueError("too large to parse")
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
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


# --------------------------------------------------------------------------
# The rebuild, one step at a time
# --------------------------------------------------------------------------
@dataclass
class _Work:
    """What the steps of :func:`rebuild` read and fill in, in order."""

    template: dict
    submission: dict
    exercises: Sequence[Exercise]
    run_demos: bool = False
    # the template, indexed (step 1)
    t_cells: list[tuple[int, dict]] = field(default_factory=list)
    t_sources: dict[int, str] = field(default_factory=dict)
    t_answer: dict[str, int] = field(default_factory=dict)
    t_check: dict[str, int] = field(default_factory=dict)
    t_by_id: dict[str, int] = field(default_factory=dict)
    t_by_source: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    stubs: dict[str, str] = field(default_factory=dict)
    # the submission, classified (steps 2-3): cell index -> (kind, detail)
    s_cells: list[tuple[int, dict]] = field(default_factory=list)
    kinds: dict[int, tuple] = field(default_factory=dict)
    claimed: set[int] = field(default_factory=set)
    how: dict[str, str] = field(default_factory=dict)  # exercise -> how its answer was recognised
    # the order (step 4)
    added_after: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    answers_for: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    # the result (steps 5-6)
    cells: list[PlannedCell] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [ex.id for ex in self.exercises]

    def answer_name(self, ex_id: str) -> str:
        return next(ex.answer.name for ex in self.exercises if ex.id == ex_id)

    def edited_note(self, s: int, t: int) -> str:
        if nbio.check_id(self.template["cells"][t]) is not None:
            return f"Cell {s + 1} of your notebook is an edited check cell; grading never runs check cells."
        return (
            f"Cell {s + 1} of your notebook is the lesson's cell \"{_first_line(self.t_sources[t])}\", edited; "
            "the lesson's own version was run instead."
        )


def _index_template(w: _Work) -> None:
    """Answer cells (and their stubs), check cells, and every other cell by id and by source."""
    known = set(w.ids)
    w.t_cells = [(i, c) for i, c in enumerate(w.template["cells"]) if c.get("cell_type") == "code"]
    w.t_sources = {i: nbio.source(c) for i, c in w.t_cells}
    for i, cell in w.t_cells:
        ex = nbio.exercise_id(cell)
        if ex in known and ex not in w.t_answer:
            w.t_answer[ex] = i
            w.stubs[ex] = w.t_sources[i]
            continue
        check = nbio.check_id(cell)
        if check is not None:
            w.t_check.setdefault(check, i)
        if isinstance(cell.get("id"), str):
            w.t_by_id.setdefault(cell["id"], i)
        w.t_by_source[_normal(w.t_sources[i])].append(i)


# Each recogniser looks at one submitted cell and returns its kind, or None to
# let the next one try; a cell no recogniser claims is a cell the learner added.
def _as_answer(w: _Work, s: int, cell: dict, src: str) -> tuple | None:
    """An answer cell: by its metadata, else by its ``# Exercise <id>:`` prompt lines."""
    known = set(w.ids)
    meta = nbio.exercise_id(cell)
    found = [meta] if meta in known else []
    found += [p for p in PROMPT.findall(src) if p in known and p not in found]
    if not found:
        return None
    for ex in found:
        w.how.setdefault(ex, "metadata" if ex == meta else "prompt")
    return (ANSWER, tuple(found))


def _as_check(w: _Work, s: int, cell: dict, src: str) -> tuple | None:
    """A check cell (never run: the grader judges directly)."""
    check = nbio.check_id(cell)
    if check is None:
        return None
    t = w.t_check.get(check)
    if t is not None and _normal(src) != _normal(w.t_sources[t]):
        w.notes.append(f"Cell {s + 1} of your notebook is an edited check cell; grading never runs check cells.")
    return (TEMPLATE, t)


def _as_lesson_cell_by_id(w: _Work, s: int, cell: dict, src: str) -> tuple | None:
    """A lesson cell, by its cell id: the template's version runs, edited or not."""
    t = w.t_by_id.get(cell.get("id")) if isinstance(cell.get("id"), str) else None
    if t is None or t in w.claimed:
        return None
    w.claimed.add(t)
    if _normal(src) != _normal(w.t_sources[t]):
        w.notes.append(w.edited_note(s, t))
    return (TEMPLATE, t)


def _as_lesson_cell_by_source(w: _Work, s: int, cell: dict, src: str) -> tuple | None:
    """A lesson cell whose id changed, by its unchanged source."""
    same = [t for t in w.t_by_source.get(_normal(src), []) if t not in w.claimed]
    if not same:
        return None
    w.claimed.add(same[0])
    return (TEMPLATE, same[0])


RECOGNISERS = (_as_answer, _as_check, _as_lesson_cell_by_id, _as_lesson_cell_by_source)


def _classify(w: _Work) -> None:
    """Each non-empty code cell of the submission: answer, lesson cell or added."""
    w.s_cells = [
        (i, c) for i, c in enumerate(w.submission["cells"]) if c.get("cell_type") == "code" and nbio.source(c).strip()
    ]
    for s, cell in w.s_cells:
        src = nbio.source(cell)
        w.kinds[s] = next((k for k in (r(w, s, cell, src) for r in RECOGNISERS) if k is not None), (ADDED,))


def _answers_by_name(w: _Work) -> None:
    """Exercises still without an answer: an added cell (or one whose metadata
    and prompt were stripped) that defines the answer's name."""
    names: dict[int, set[str]] = {}  # parsed once per cell
    for ex in w.ids:
        if ex in w.how:
            continue
        for s, cell in w.s_cells:
            if w.kinds[s][0] != ADDED:
                continue
            if s not in names:
                names[s] = defined_names(nbio.source(cell))
            if w.answer_name(ex) in names[s]:
                w.kinds[s] = (ANSWER, (ex,))
                w.how[ex] = "name"
                break


def _anchor(w: _Work) -> None:
    """Order: template order; an added cell runs after the lesson cell it follows."""
    anchor = -1
    for s, _ in w.s_cells:
        kind = w.kinds[s]
        if kind[0] == ANSWER:
            for ex in kind[1]:
                w.answers_for[ex].append(s)
            positions = [w.t_answer[e] for e in kind[1] if e in w.t_answer]
            anchor = min(positions) if positions else anchor
        elif kind[0] == TEMPLATE:
            anchor = kind[1] if kind[1] is not None else anchor
        else:
            w.added_after[anchor].append(s)


def _emit(w: _Work) -> None:
    """The cells to run: lesson cells, answers (or stubs), added cells; check cells never."""
    sources = {s: nbio.source(c) for s, c in w.s_cells}
    emitted: set[int] = set()

    def emit_added(t: int) -> None:
        for s in w.added_after.get(t, []):
            w.cells.append(PlannedCell(sources[s], ADDED, (), f"cell {s + 1} of your notebook"))

    def emit_answer(s: int) -> None:
        if s not in emitted:
            emitted.add(s)
            w.cells.append(PlannedCell(sources[s], ANSWER, w.kinds[s][1], f"cell {s + 1} of your notebook"))

    answer_at = {t: ex for ex, t in w.t_answer.items()}
    emit_added(-1)
    for t, _cell in w.t_cells:
        if t in answer_at:
            ex = answer_at[t]
            if w.answers_for.get(ex):
                for s in w.answers_for[ex]:
                    emit_answer(s)
            else:
                w.cells.append(PlannedCell(w.t_sources[t], STUB, (ex,), f"lesson cell {t + 1}"))
        elif nbio.check_id(w.template["cells"][t]) is None:
            where = f"lesson cell {t + 1} ({_first_line(w.t_sources[t])})"
            w.cells.append(PlannedCell(w.t_sources[t], TEMPLATE, (), where, demos.is_demo(w.template["cells"][t])))
        emit_added(t)
    # Answers to exercises the template has no cell for still run, last.
    for ex in w.ids:
        for s in w.answers_for.get(ex, []):
            emit_answer(s)


# The learner's cells analysed for the demonstrations they read or change, in
# all: past this much source, the rest may do anything (every demonstration
# runs). A submission is untrusted input: its size bounds nothing else here.
MAX_ANALYSED_TOTAL = 1_000_000


@functools.lru_cache(maxsize=512)
def _demo_facts(source: str) -> tuple[frozenset[str], frozenset[str]]:
    """What a (trusted) demonstration cell binds or changes, and reads first: the same for every submission."""
    return frozenset(demos.binds(source) | demos.changed_names(source)), frozenset(demos.free_reads(source))


def _leave_out_demos(w: _Work) -> None:
    """Demonstration cells nothing after them may read are not run (:mod:`.demos`)."""
    if w.run_demos or not any(c.demo for c in w.cells):
        return
    budget = MAX_ANALYSED_TOTAL
    described = []
    for c in w.cells:
        if c.demo:
            described.append(("demo", *_demo_facts(c.source)))
        elif c.origin in (ANSWER, ADDED):
            budget -= len(c.source)
            read, dynamic = demos.reads(c.source) if budget >= 0 else (set(), True)
            bound = None if dynamic else demos.touches(c.source)
            described.append(("learner", bound, None if dynamic else read))
        else:
            described.append(("lesson", set(), set()))
    keep = set(demos.kept(described))
    w.left_out = [c.where for i, c in enumerate(w.cells) if c.demo and i not in keep]
    w.cells = [c for i, c in enumerate(w.cells) if not c.demo or i in keep]


def _report(w: _Work) -> None:
    """A missing answer scores 0 with a message; doubled and recognised answers get a note."""
    for ex in w.ids:
        found = w.answers_for.get(ex, [])
        name = w.answer_name(ex)
        if not found:
            w.missing[ex] = (
                f"Your notebook has no answer cell for {ex}: no cell has its metadata, its "
                f"'# Exercise {ex}:' line, or defines `{name}`. Was the cell deleted? "
                "Copy the exercise's cell from a fresh copy of the lesson, answer it, and submit again."
            )
        elif len(found) > 1:
            where = ", ".join(str(s + 1) for s in found)
            w.notes.append(
                f"Your notebook has {len(found)} answer cells for {ex} (cells {where}); all of them ran, "
                "in that order, so the last definition counts."
            )
        if w.how.get(ex) == "prompt":
            w.notes.append(f"The answer cell for {ex} had lost its metadata; it was recognised by its '# Exercise' line.")
        elif w.how.get(ex) == "name":
            w.notes.append(f"The answer cell for {ex} was recognised because it defines `{name}`.")


# The rebuild's steps, in order: the grader's own pipeline in miniature.
STEPS: tuple[tuple[str, Callable[[_Work], None]], ...] = (
    ("index the template", _index_template),
    ("classify the submission's cells", _classify),
    ("recognise answers by the name they define", _answers_by_name),
    ("place each cell", _anchor),
    ("emit the cells to run", _emit),
    ("leave out the demonstrations nothing reads", _leave_out_demos),
    ("report missing and doubled answers", _report),
)


def rebuild(template: dict, submission: dict, exercises: Sequence[Exercise], *, run_demos: bool = False) -> Plan:
    """Rebuild the notebook to run from the template and the submission.

    Parameters
    ----------
    template : dict
        The lesson's learner template (trusted).
    submission : dict
        The learner's notebook (untrusted; parsed by :mod:`.discover`).
    exercises : sequence of Exercise
        The lesson's exercises.
    run_demos : bool
        Run the lesson's demonstration cells too (default: only those the
        learner's cells may read from, :mod:`.demos`).

    Returns
    -------
    Plan
        The cells to run, in order, and per-exercise problems.
    """
    work = _Work(template, submission, exercises, run_demos)
    for _, step in STEPS:
        step(work)
    return Plan(cells=work.cells, missing=work.missing, notes=work.notes, stubs=work.stubs, left_out=work.left_out)


def load_template(lesson: str) -> dict:
    """The lesson's learner template, as released with the package."""
    return nbio.read(nbio.lesson_path(lesson, "notebooks"))
