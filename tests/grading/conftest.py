"""Fixtures for the grader's tests: a small demo lesson and submissions of it.

The demo lesson (``99_demo``, exercises ``demo.*`` in ``demo_lesson.py``) is
registered in :data:`mlcourse.exercises.LESSONS` and its learner template is
written to a temporary lessons folder, exactly as ``mlcourse release`` would.
Submissions are built from its solution cells, so each test states only what
it changes. The lesson is installed per test module and removed after it.
"""
from __future__ import annotations

import copy
import importlib.util
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

HERE = Path(__file__).parent
DEMO = "99_demo"

SETUP = "import numpy as np\nimport pandas as pd\n\nsample = pd.DataFrame({'a': [1.0, None, 3.0]})\nsample"
ANSWERS = {
    "demo.double": 'def double(x):\n    """Twice x."""\n    return 2 * x',
    "demo.total": "total = sum(range(11))",
    "demo.clean": "def clean(df):\n    return df.dropna().reset_index(drop=True)",
}


def _cell(kind: str, source: str, cid: str, meta: dict | None = None) -> dict:
    cell = {"cell_type": kind, "id": cid, "metadata": meta or {}, "source": source}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


def solutions_notebook(lesson: str = DEMO, setup: str = SETUP, answers: dict | None = None, tail: str | None = None) -> dict:
    """A lesson's solutions notebook: the setup cell, then per exercise a title, its answer and its check."""
    answers = ANSWERS if answers is None else answers
    cells = [_cell("markdown", f"# Lesson {lesson}", "d-00"), _cell("code", setup, "d-01")]
    n = 2
    for ex_id, answer in answers.items():
        cells.append(_cell("markdown", f"### {ex_id}", f"d-{n:02d}"))
        src = f"# BEGIN SOLUTION\n{answer}\n# END SOLUTION"
        cells.append(_cell("code", src, f"d-{n + 1:02d}", {"mlcourse": {"exercise": ex_id}}))
        short = ex_id.split(".")[1]
        cells.append(_cell("code", f"ex.{short}.check()", f"d-{n + 2:02d}", {"mlcourse": {"check": ex_id}}))
        n += 3
    if tail is None and lesson == DEMO:
        tail = "if isinstance(total, int):\n    print('total is', total)"
    if tail:
        cells.append(_cell("code", tail, f"d-{n:02d}"))
    return {
        "cells": cells,
        "metadata": {"mlcourse": {"lesson": lesson}, "kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def load_lesson_module(name: str, file: Path):
    """Import a test lesson's definitions from its file, under ``name``."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, file)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def install_lesson(mp: pytest.MonkeyPatch, root: Path, lesson: str, short: str, module, solution: dict) -> Callable[..., Path]:
    """Put a test lesson beside the real ones, as ``mlcourse release`` would; return the patched ``lessons_dir``.

    Its definitions (``module``) become ``mlcourse.exercises.<short>.checks``;
    its solutions and learner notebooks are written to ``root``, where the
    real lessons are linked. ``mp.undo()`` takes it all away again.
    """
    from mlcourse import exercises, paths
    from mlcourse.exercises import notebook as nbio
    from mlcourse.release import learner_notebook

    mp.setitem(exercises.LESSONS, lesson, short)
    mp.setitem(sys.modules, f"mlcourse.exercises.{short}.checks", module)  # the lesson's answer key
    real = paths.lessons_dir

    def lessons_dir(kind: str = "notebooks") -> Path:
        # The real lessons stay where they are; the test one lives in root.
        folder = root / kind
        folder.mkdir(exist_ok=True)
        for nb in real(kind).glob("*.ipynb"):
            target = folder / nb.name
            if not target.exists():
                target.symlink_to(nb)
        return folder

    mp.setattr(paths, "lessons_dir", lessons_dir)
    (lessons_dir("solutions") / f"{lesson}.ipynb").write_text(nbio.dumps(solution))
    (lessons_dir("notebooks") / f"{lesson}.ipynb").write_text(nbio.dumps(learner_notebook(solution)))
    return lessons_dir


def _load_demo_module():
    return load_lesson_module("mlcourse_grading_demo_lesson", HERE / "demo_lesson.py")


@pytest.fixture(scope="session")
def lesson_kit():
    """What a test module needs to install a lesson of its own: ``install``, ``notebook``, ``load``."""
    from types import SimpleNamespace

    return SimpleNamespace(install=install_lesson, notebook=solutions_notebook, load=load_lesson_module)


def run_cell(session, source: str) -> dict:
    """Run ``source`` as a cell in a grading child's ``session``; the child's message (it must have run it)."""
    reply = session.request({"op": "cell", "source": source})
    assert reply.kind == "ok", (reply.kind, reply.detail)
    return reply.message


def child_value(session, expr: str):
    """Evaluate ``expr`` in the child; its (short) JSON comes back as an exception's text."""
    msg = run_cell(session, f"import json as _j\n_v = _j.dumps({expr})\nassert False, _v")
    assert msg.get("ename") == "AssertionError", msg
    return json.loads(msg["evalue"])


@pytest.fixture(scope="session")
def child():
    """Cells run in a grading child from the trusted side: ``run(session, source)``, ``value(session, expr)``."""
    from types import SimpleNamespace

    return SimpleNamespace(run=run_cell, value=child_value)


@pytest.fixture(scope="session")
def demo_module():
    return _load_demo_module()


@pytest.fixture(scope="module")
def demo_lessons(tmp_path_factory: pytest.TempPathFactory, demo_module) -> Path:
    """Install the demo lesson for one test module; return its lessons root.

    Module-scoped on purpose: the root test run shares this process with the
    rest of the suite, which must never see the demo lesson in LESSONS.
    """
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("lessons")
    install_lesson(mp, root, DEMO, "demo", demo_module, solutions_notebook())
    yield root
    mp.undo()


@pytest.fixture(scope="module")
def demo_template(demo_lessons: Path) -> dict:
    return json.loads((demo_lessons / "notebooks" / f"{DEMO}.ipynb").read_text())


@pytest.fixture(scope="module")
def make_submission(demo_template: dict) -> Callable[..., dict]:
    """``make_submission(answers={...}, edit=callable)``: the learner template
    with answer cells filled in (all correct by default) and any edit applied."""

    def make(answers: dict | None = None, edit: Callable[[dict], None] | None = None) -> dict:
        nb = copy.deepcopy(demo_template)
        chosen = dict(ANSWERS) if answers is None else answers
        for cell in nb["cells"]:
            ex_id = cell.get("metadata", {}).get("mlcourse", {}).get("exercise")
            if ex_id in chosen and chosen[ex_id] is not None:
                src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                prompt = "\n".join(line for line in src.splitlines() if line.startswith("# "))
                cell["source"] = f"{prompt}\n{chosen[ex_id]}"
        if edit:
            edit(nb)
        return nb

    return make


def write(path: Path, nb: dict | str | bytes) -> Path:
    """Write a notebook (dict), or raw text or bytes, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(nb, bytes):
        path.write_bytes(nb)
    elif isinstance(nb, str):
        path.write_text(nb)
    else:
        path.write_text(json.dumps(nb, indent=1))
    return path


@pytest.fixture(scope="session")
def write_nb() -> Callable[[Path, dict | str | bytes], Path]:
    return write


@pytest.fixture(scope="session")
def answers() -> dict:
    """The demo lesson's correct answers, by exercise id."""
    return dict(ANSWERS)


@pytest.fixture(scope="session")
def zygote():
    """One fork server for the tests that drive the sandbox directly."""
    from mlcourse.grading.sandbox import Zygote

    z = Zygote()
    z.start()
    yield z
    z.close()


@pytest.fixture(scope="session", autouse=True)
def _answer_key_modes_restored():
    """A grader running as root without namespaces makes the answer key private (files 0600): put the
    checkout's modes back after the grading tests."""
    from mlcourse.exercises import answer_key_paths

    saved = {}
    for path in [*answer_key_paths(), *HERE.glob("*_lesson.py")]:  # the test lessons are answer keys too
        for p in [path, *(path.rglob("*") if path.is_dir() else [])]:
            if not p.is_symlink():
                saved[p] = p.stat().st_mode & 0o7777
    yield
    for p, mode in saved.items():
        try:
            os.chmod(p, mode)
        except OSError:
            pass
