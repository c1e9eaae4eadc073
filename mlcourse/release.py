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

PROMPT = nbio.PROMPT
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


def _check_demos(solution: dict, lesson: str, path: Path) -> None:
    """Demonstration cells the grader could not leave out safely stop the release (:mod:`mlcourse.grading.demos`)."""
    from mlcourse.exercises import exercises_of
    from mlcourse.grading import demos

    try:
        names = [ex.answer.name for ex in exercises_of(lesson)]
    except (KeyError, ValueError, ImportError):  # a lesson without definitions yet: no answers to protect
        names = []
    found = demos.problems(solution["cells"], names)
    if found:
        raise ReleaseError(
            f"{path}: " + "; ".join(found) + ". Remove the cell's \"demo\" mark, or move what later cells need into a cell of its own."
        )


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
        _check_demos(solution, lesson, path)
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


# ==========================================================================
# The graded edition: mlcourse release --edition graded --out DIR
# ==========================================================================
# A graded cohort installs a learner wheel without the answer key: no checks.py,
# no solutions notebook. Its in-notebook checks run each exercise's public tests
# on their fixed inputs, against expected values computed here, at release time,
# from the full definitions (see mlcourse.exercises.edition, the learner's side).
# The grader, on the instructor's full installation, runs public and hidden tests.

GRADED_README = """# {title}

The graded edition of mlcourse {version}, released {when} for lessons {lessons}.

Learners install the wheel and start as usual:

    python3 -m venv .venv && .venv/bin/pip install {wheel} && .venv/bin/mlcourse start

It holds no solutions and no answer key: `ex.NAME.check()` runs each exercise's public
tests (the visible example), `.solution()` says solutions are off, and `.hint()` gives
hints in the lessons where they are on ({hints}). Grade the submitted notebooks with
`mlcourse grade` on the instructor's full installation: it runs the public and the hidden
tests. `notebooks/` holds the same learner notebooks, for an LMS or a JupyterHub.
"""


@dataclass
class GradedRelease:
    """What ``release --edition graded`` wrote."""

    out: Path
    wheel: Path
    notebooks: list[Path]
    edition: dict


def _public_check(ex, test, inputs) -> dict:
    """How the edition stores one public test's judgement; ReleaseError when it cannot."""
    from mlcourse.exercises import probes
    from mlcourse.exercises.edition import compare_settings
    from mlcourse.exercises.engine import called_with
    from mlcourse.exercises.plain import to_plain

    ref = test.reference
    if ref is not None and ref.compare is not None:
        if test.inputs is None:  # value_is: the expected value is the answer itself
            return {"kind": "value", "expected": to_plain(ref.expected(None)), "compare": compare_settings(ref.compare),
                    "reveal": bool(ref.reveal)}
        describe = ref.describe or called_with
        return {"kind": "returns", "expected": to_plain(ref.expected(inputs)), "compare": compare_settings(ref.compare),
                "tail": describe(inputs), "keeps_inputs": bool(ref.keeps_inputs)}
    try:
        name = probes.qualified_name(test.verdict)
    except ValueError:
        raise ReleaseError(
            f"{ex.id}: the public test {test.name!r} has a verdict the graded edition cannot ship (it is not a function "
            "at the top of the lesson's probes.py): move it there, taking the expected value as its third argument "
            "(holds(..., expected=...)) when it needs one, or use returns() / value_is()"
        ) from None
    check: dict = {"kind": "verdict", "verdict": name}
    if ref is not None:
        check["expected"] = to_plain(ref.expected(inputs))
    return check


def edition_exercise(ex, hints_on: bool) -> dict:
    """One exercise as the graded edition stores it: its public tests, on the notebook's fixed inputs."""
    from mlcourse.exercises import probes
    from mlcourse.exercises.plain import to_plain

    inputs = ex.make_inputs()  # the notebook's seed: the inputs the self-paced check shows too
    tests = []
    for i in ex.public_tests:
        test = ex.tests[i]
        tests.append({
            "name": test.name,
            "probe": probes.qualified_name(test.probe),
            "weight": test.weight,
            "has_inputs": test.inputs is not None,
            "inputs": to_plain(inputs[i]) if test.inputs is not None else None,
            "check": _public_check(ex, test, inputs[i]),
        })
    return {
        "id": ex.id,
        "title": ex.title,
        "points": ex.points,
        "answer": {"name": ex.answer.name, "kind": ex.answer.kind},
        "forbid": list(ex.forbid),
        "on_error": dict(ex.on_error),
        "hints": list(ex.hints) if hints_on else [],
        "review": bool(ex.review),
        "hidden_tests": len(ex.tests) - len(tests),
        "tests": tests,
    }


def without_public_tests(lessons: list[str]) -> list[str]:
    """The exercises of ``lessons`` that mark no test public (a graded edition needs one each)."""
    from mlcourse.exercises import exercises_of

    return [ex.id for lesson in lessons for ex in exercises_of(lesson) if not ex.public_tests]


def build_edition(lessons: list[str], hints_off: set[str]) -> dict:
    """The graded edition's ``edition.json`` for ``lessons``; ReleaseError naming every exercise without a public test."""
    import mlcourse
    from mlcourse.exercises import exercises_of
    from mlcourse.exercises.edition import EDITION, FORMAT

    missing = without_public_tests(lessons)
    if missing:
        raise ReleaseError(
            f"{len(missing)} exercise(s) mark no public test, and a graded edition runs only public tests in the "
            f"notebook: {', '.join(missing)}. Mark each one's visible example public (returns(..., public=True), "
            "value_is(..., public=True) or holds(..., public=True)), or leave their lessons out of the edition"
        )
    return {
        "edition": EDITION,
        "format": FORMAT,
        "mlcourse": mlcourse.__version__,
        "lessons": {
            lesson: {"hints": lesson not in hints_off,
                     "exercises": [edition_exercise(ex, lesson not in hints_off) for ex in exercises_of(lesson)]}
            for lesson in lessons
        },
    }


def graded_release(
    out: Path, lessons: list[str] | None = None, hints_off: list[str] | None = None, solutions: Path | None = None
) -> GradedRelease:
    """Write the graded edition into ``out``: ``notebooks/``, the learner wheel, ``edition.json``, ``README.md``."""
    import json
    import time

    import mlcourse
    from mlcourse.exercises.catalog import LESSONS
    from mlcourse.grading.wheel import WheelError, build_wheel, learner_files
    from mlcourse.paths import lessons_dir

    solutions = solutions or lessons_dir("solutions")
    if not solutions.is_dir():
        raise ReleaseError(f"no solutions folder at {solutions}; pass --solutions")
    available = [p.stem for p in sorted(solutions.glob("*.ipynb"))]
    chosen = list(lessons) if lessons else [name for name in LESSONS if name in available]
    unknown = sorted(set(chosen) - set(available)) + sorted(set(hints_off or ()) - set(LESSONS))
    if unknown:
        raise ReleaseError(f"no such lesson: {', '.join(unknown)}; the lessons are {', '.join(available)}")
    chosen = [name for name in LESSONS if name in chosen]  # course order
    off = set(hints_off if hints_off is not None else ())
    edition = build_edition(chosen, off)
    notebooks: dict[str, str] = {}
    for lesson in chosen:
        path = solutions / f"{lesson}.ipynb"
        try:
            nb = learner_notebook(nbio.read(path), str(path))
        except nbio.NotebookError as exc:
            raise ReleaseError(str(exc)) from None
        nb.setdefault("metadata", {}).setdefault("mlcourse", {})["edition"] = "graded"
        notebooks[path.name] = nbio.dumps(nb)
    edition_text = json.dumps(edition, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("mlcourse-*.whl"):
        old.unlink()
    try:
        wheel = build_wheel(out, learner_files(notebooks, {"edition.json": edition_text.encode("utf-8")}), local="graded")
    except WheelError as exc:
        raise ReleaseError(str(exc)) from None
    (out / "notebooks").mkdir(exist_ok=True)
    written = []
    for name, text in notebooks.items():
        (out / "notebooks" / name).write_text(text, encoding="utf-8")
        written.append(out / "notebooks" / name)
    (out / "edition.json").write_text(edition_text, encoding="utf-8")
    hints = ", ".join(f"{lesson} {'on' if lesson not in off else 'off'}" for lesson in chosen)
    (out / "README.md").write_text(GRADED_README.format(
        title="mlcourse, graded edition", version=mlcourse.__version__, when=time.strftime("%Y-%m-%d"),
        lessons=", ".join(chosen), wheel=wheel.name, hints=hints), encoding="utf-8")
    return GradedRelease(out, wheel, written, edition)


def graded_main(out: Path | None, lessons: list[str] | None = None, hints_off: list[str] | None = None,
                solutions: Path | None = None) -> int:
    """``mlcourse release --edition graded --out DIR``: write it, or say in one line why not."""
    if out is None:
        print("mlcourse release: error: --edition graded needs --out DIR, the folder to write it into", file=sys.stderr)
        return 2
    try:
        done = graded_release(out, lessons, hints_off, solutions)
    except (ReleaseError, nbio.NotebookError) as exc:
        print(f"mlcourse release: error: {exc}", file=sys.stderr)
        return 2
    counts = {name: len(entry["exercises"]) for name, entry in done.edition["lessons"].items()}
    print(f"wrote the graded edition into {out}: {done.wheel.name} ({done.wheel.stat().st_size / 1e6:.1f} MB) and "
          f"{len(done.notebooks)} learner notebook(s)")
    for name, n in counts.items():
        on = "hints on" if done.edition["lessons"][name]["hints"] else "hints off"
        print(f"  {name}: {n} exercise(s), public tests only in the notebook, {on}, solutions off")
    print("Give learners the wheel (README.md says how); grade their notebooks with `mlcourse grade` here.")
    return 0
