"""``mlcourse release``: write the learner notebooks from the solutions.

``solutions/NN_topic.ipynb`` is the only lesson file an author edits. Releasing
turns each into ``notebooks/NN_topic.ipynb``:

* every solution region becomes a prompt comment plus a stub that runs without
  error: a function keeps its signature and docstring and raises
  ``NotImplementedError`` only when called; an assigned name becomes ``...``;
* all outputs and execution counts are cleared;
* cell ids, metadata and check cells are kept.

``mlcourse release --check`` writes nothing and exits 1, naming each learner
notebook that is missing or out of date.
"""
from __future__ import annotations

import ast
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from mlcourse.exercises import notebook as nbio
from mlcourse.exercises.engine import points_text, stub_message

PROMPT = "# Exercise {id}: {title} ({points})."
PROMPT_2 = "# Write your answer below, then run the check cell that follows."


class ReleaseError(ValueError):
    """A solutions notebook that cannot be released, with the reason."""


def _split_lines(text: str) -> list[str]:
    # Jupyter stores sources as a list of lines, each but the last ending in "\n".
    lines = text.splitlines(keepends=True)
    if lines and lines[-1].endswith("\n"):
        lines[-1] = lines[-1][:-1]
    return lines


def stub_region(code: str, exercise_id: str, indent: str = "") -> list[str]:
    """Replace one solution region's code with stubs.

    Parameters
    ----------
    code : str
        The code between the markers, dedented.
    exercise_id : str
        Named in the stub's message.
    indent : str
        The markers' indentation; an indented region (inside a function body)
        becomes a single ``raise NotImplementedError``.

    Returns
    -------
    list of str
        The stub lines (without newlines), indented like the region.

    Examples
    --------
    >>> print("\\n".join(stub_region("def f(x):\\n    '''Double x.'''\\n    return 2 * x\\n", "demo.f")))
    def f(x):
        '''Double x.'''
        raise NotImplementedError("demo.f: not attempted yet. Replace this line with your code, then run the check cell.")
    >>> stub_region("k = 3\\n", "demo.k")
    ['k = ...']
    """
    message = stub_message(exercise_id)
    if indent:
        return [f'{indent}raise NotImplementedError("{message}")']
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise ReleaseError(f"{exercise_id}: the solution region does not parse (line {exc.lineno}: {exc.msg})") from None
    lines = code.splitlines()
    out: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            body0 = node.body[0]
            keep_doc = (
                isinstance(body0, ast.Expr)
                and isinstance(body0.value, ast.Constant)
                and isinstance(body0.value.value, str)
            )
            header_end = body0.lineno - 1  # lines before the body (signature, possibly multi-line)
            out.extend(lines[first - 1 : header_end])
            body_indent = " " * body0.col_offset
            if keep_doc:
                out.extend(lines[body0.lineno - 1 : body0.end_lineno])
            if isinstance(node, ast.ClassDef):
                out.append(f"{body_indent}pass  # {message}")
            else:
                out.append(f'{body_indent}raise NotImplementedError("{message}")')
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in _names(target):
                    out.append(f"{name} = ...")
    return out


def _names(target: ast.AST) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for elt in target.elts for n in _names(elt)]
    return []


def learner_source(text: str, exercise_id: str, title: str, points: float) -> str:
    """The learner version of one answer cell's source."""
    lines = text.splitlines()
    spans = nbio.regions(text)
    if not spans:
        raise ReleaseError(f"{exercise_id}: the answer cell has no '# BEGIN SOLUTION' / '# END SOLUTION' region")
    out: list[str] = []
    prompt_done = False
    pos = 0
    for begin, end, indent in spans:
        out.extend(lines[pos:begin])
        if not prompt_done:
            out.append(indent + PROMPT.format(id=exercise_id, title=title, points=points_text(points)))
            out.append(indent + PROMPT_2)
            prompt_done = True
        code = textwrap.dedent("\n".join(lines[begin + 1 : end]))
        out.extend(stub_region(code, exercise_id, indent))
        pos = end + 1
    out.extend(lines[pos:])
    return "\n".join(out)


def learner_notebook(solution: dict, name: str = "notebook") -> dict:
    """Build the learner notebook (a dict) from a solutions notebook (a dict)."""
    from mlcourse.exercises import find

    nb = {k: v for k, v in solution.items() if k != "cells"}
    cells = []
    seen: set[str] = set()
    for cell in solution["cells"]:
        new = dict(cell)
        src = nbio.source(cell)
        ex_id = nbio.exercise_id(cell)
        if cell.get("cell_type") == "code":
            if ex_id:
                if ex_id in seen:
                    raise ReleaseError(f"{name}: two answer cells for {ex_id}")
                seen.add(ex_id)
                try:
                    ex = find(ex_id)
                except KeyError:
                    raise ReleaseError(f"{name}: answer cell for {ex_id}, which no exercise definition declares") from None
                src = learner_source(src, ex_id, ex.title, ex.points)
            elif nbio.regions(src):
                raise ReleaseError(f"{name}: a cell has a solution region but no 'mlcourse.exercise' metadata")
            new["outputs"] = []
            new["execution_count"] = None
        elif nbio.regions(src):
            raise ReleaseError(f"{name}: solution regions belong in code cells")
        new["source"] = _split_lines(src)
        cells.append(new)
    nb["cells"] = cells
    return nb


@dataclass
class Plan:
    """What a release would write, and what is out of date."""

    outputs: dict[Path, str] = field(default_factory=dict)
    stale: list[Path] = field(default_factory=list)
    orphans: list[Path] = field(default_factory=list)


def plan(solutions: Path, notebooks: Path) -> Plan:
    if not solutions.is_dir():
        raise ReleaseError(f"no solutions folder at {solutions}; run from the course repository or pass --solutions")
    result = Plan()
    sources = sorted(solutions.glob("*.ipynb"))
    for path in sources:
        try:
            solution = nbio.read(path)
        except nbio.NotebookError as exc:
            raise ReleaseError(str(exc)) from None
        lesson = nbio.lesson_of(solution)
        if lesson != path.stem:
            raise ReleaseError(f"{path}: notebook metadata must say mlcourse.lesson = {path.stem!r} (found {lesson!r})")
        target = notebooks / path.name
        text = nbio.dumps(learner_notebook(solution, str(path)))
        result.outputs[target] = text
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            result.stale.append(target)
    names = {p.name for p in sources}
    if notebooks.is_dir():
        result.orphans = sorted(p for p in notebooks.glob("*.ipynb") if p.name not in names)
    return result


def execute(paths: list[Path], timeout: int = 600) -> None:
    """Run solutions notebooks top to bottom and store their outputs in place.

    Each runs in a fresh kernel, in a temporary working directory, with a fresh
    ``$MLCOURSE_HOME``, exactly as nbval will re-run it, so the stored outputs
    never depend on the author's own progress or files.
    """
    import os
    import tempfile

    import nbformat
    from nbclient import NotebookClient

    for path in paths:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            cell.metadata.pop("execution", None)  # run timings would churn every diff
        with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as cwd:
            old = os.environ.get("MLCOURSE_HOME")
            os.environ["MLCOURSE_HOME"] = home
            try:
                NotebookClient(
                    nb, timeout=timeout, kernel_name="python3", record_timing=False, resources={"metadata": {"path": cwd}}
                ).execute()
            finally:
                if old is None:
                    os.environ.pop("MLCOURSE_HOME", None)
                else:
                    os.environ["MLCOURSE_HOME"] = old
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = _merge_streams(cell.outputs)
        nbformat.write(nb, path)
        print(f"executed {path}")


def _merge_streams(outputs: list) -> list:
    """Join consecutive stdout (or stderr) chunks, so a re-run with the same
    output stores the same file however the kernel happened to flush."""
    merged: list = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if (
            out.get("output_type") == "stream"
            and prev is not None
            and prev.get("output_type") == "stream"
            and prev.get("name") == out.get("name")
        ):
            prev["text"] = prev["text"] + out["text"]
        else:
            merged.append(out)
    return merged


def main(
    solutions: Path | None = None,
    notebooks: Path | None = None,
    check: bool = False,
    run: bool = False,
    lessons: list[str] | None = None,
) -> int:
    """Run ``mlcourse release`` (``check=True`` for ``--check``, ``run=True`` for ``--execute``).

    ``lessons`` limits ``--execute`` to those lesson stems; the learner
    notebooks are always all regenerated. Returns the exit status.
    """
    solutions = solutions or Path("solutions")
    notebooks = notebooks or Path("notebooks")
    if run and not check:
        chosen = sorted(solutions.glob("*.ipynb"))
        if lessons:
            unknown = sorted(set(lessons) - {p.stem for p in chosen})
            if unknown:
                print(f"mlcourse release: error: no solutions notebook for {', '.join(unknown)}", file=sys.stderr)
                return 2
            chosen = [p for p in chosen if p.stem in lessons]
        try:
            execute(chosen)
        except Exception as exc:  # a failing cell: show it and release nothing
            print(f"mlcourse release: error: executing the solutions failed: {exc}", file=sys.stderr)
            return 1
    try:
        p = plan(solutions, notebooks)
    except (ReleaseError, nbio.NotebookError) as exc:
        print(f"mlcourse release: error: {exc}", file=sys.stderr)
        return 2
    if check:
        for path in p.stale:
            why = "missing" if not path.exists() else "out of date"
            print(f"{path}: {why}; run `mlcourse release`")
        for path in p.orphans:
            print(f"{path}: has no solutions notebook; delete it or add solutions/{path.name}")
        if p.stale or p.orphans:
            return 1
        print(f"{len(p.outputs)} learner notebook(s) up to date")
        return 0
    notebooks.mkdir(parents=True, exist_ok=True)
    for path in p.stale:
        tmp = path.with_suffix(".ipynb.tmp")
        tmp.write_text(p.outputs[path], encoding="utf-8")
        tmp.replace(path)
        print(f"wrote {path}")
    for path in p.orphans:
        print(f"warning: {path} has no solutions notebook", file=sys.stderr)
    print(f"{len(p.outputs)} learner notebook(s): {len(p.stale)} written, {len(p.outputs) - len(p.stale)} unchanged")
    return 0
