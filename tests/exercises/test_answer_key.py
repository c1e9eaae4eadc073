"""The answer key kept apart: probes load without it, graded runs never touch it, the grader can hide it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mlcourse
from mlcourse.exercises import LESSONS, all_exercises, answer_key_paths, protect_answer_key

PACKAGE = Path(mlcourse.__file__).resolve().parent


def _run(code: str, env: dict | None = None) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300,
        env={**os.environ, **(env or {})},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_every_probes_module_loads_without_the_answer_key():
    """What the grading child's fork server imports, in a fresh interpreter: no checks module, no reference."""
    found = _run(
        """
        import importlib, json, sys, types
        from mlcourse.exercises import LESSONS, lesson
        from mlcourse.exercises.catalog import probes_module_name
        import mlcourse.exercises.engine, mlcourse.exercises.probes, mlcourse.exercises.guard
        for name in LESSONS:
            importlib.import_module(probes_module_name(name))
        from mlcourse.exercises.interview import review_star  # what the lessons import from the packages
        from mlcourse.exercises.end_to_end import InProcessClient
        checks = sorted(m for m in sys.modules if m.startswith("mlcourse.") and m.endswith((".checks", ".testing")))
        references = sorted(
            f"{m.__name__}.{k}" for m in list(sys.modules.values()) if isinstance(m, types.ModuleType)
            and m.__name__.startswith("mlcourse.") for k, v in vars(m).items()
            if isinstance(v, types.FunctionType) and k.startswith("reference_")
        )
        print(json.dumps({"checks": checks, "references": references}))
        """
    )
    assert found == {"checks": [], "references": []}


def test_a_probe_never_imports_its_lessons_answer_key():
    for path in PACKAGE.glob("exercises/*/probes.py"):
        text = path.read_text()
        assert "checks" not in "".join(line for line in text.splitlines() if line.lstrip().startswith(("import", "from"))), path


def test_a_graded_run_gives_stand_ins_without_solutions_hints_or_progress():
    specs = [ex.spec() for _, ex in all_exercises() if ex.id.startswith("overview.")]
    seen = _run(
        f"""
        import contextlib, io, json, sys
        from mlcourse.exercises import catalog
        catalog.enter_graded_run({specs!r})
        from mlcourse.exercises import lesson
        ex = lesson("00_lifecycle_overview")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            ex.next_stage.solution()
            ex.next_stage.hint()
            ex.progress()
        next_stage = lambda stage: stage
        print(json.dumps({{
            "names": sorted(dir(ex)), "printed": out.getvalue(), "attempted": ex.next_stage.attempted(),
            "checks": sorted(m for m in sys.modules if m.endswith(".checks")),
        }}))
        """
    )
    assert seen["names"] == ["activity_stage", "next_stage", "progress", "stage_order"]
    assert seen["printed"].count("not available during grading") == 3, seen["printed"]
    assert seen["attempted"] is True and seen["checks"] == []


def test_the_answer_key_paths_name_every_checks_module_and_the_solutions():
    paths = set(answer_key_paths())
    for package in LESSONS.values():
        assert PACKAGE / "exercises" / package / "checks.py" in paths
    assert any(p.name == "solutions" and p.is_dir() for p in paths)
    assert not any(p.name == "probes.py" for p in paths)
    assert PACKAGE not in paths and PACKAGE / "exercises" not in paths



@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="making files private for another user needs root")
def test_as_root_the_answer_key_becomes_unreadable_to_an_unprivileged_user(restored_modes, in_forked_child):
    assert protect_answer_key() == []
    target = PACKAGE / "exercises" / "data" / "checks.py"
    solutions = next(p for p in answer_key_paths() if p.name == "solutions")
    assert target.stat().st_mode & 0o077 == 0 and solutions.stat().st_mode & 0o077 == 0
    notebook = next(solutions.glob("*.ipynb"))

    def look() -> dict:  # the grading child's situation: an unprivileged uid
        os.setgid(65534)
        os.setuid(65534)
        seen = {}
        for what, path in (("checks", target), ("solution", notebook)):
            try:
                path.read_bytes()
                seen[what] = "read"
            except PermissionError:
                seen[what] = "refused"
        probes = (PACKAGE / "exercises" / "data" / "probes.py").read_text()[:10]
        seen["probes"] = "read" if probes else "empty"
        return seen

    seen = in_forked_child(look)
    assert seen == {"checks": "refused", "solution": "refused", "probes": "read"}


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="the ordinary user's case")
def test_as_an_ordinary_user_protection_says_it_cannot_help():
    problems = protect_answer_key()
    assert problems and "ordinary user" in problems[0]
