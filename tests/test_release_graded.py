"""``mlcourse release --edition graded``: a learner wheel without the answer key.

The edition is released for real (lessons 00, 01, 05 and 06, the ones that mark
their public tests; 06 with its hints off), its wheel unzipped, and the lessons
checked from it in a separate Python whose ``mlcourse`` is the unzipped one.
"""
from __future__ import annotations

import ast
import copy
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mlcourse.exercises import LESSONS, exercises_of
from mlcourse.exercises import notebook as nbio
from mlcourse.release import ReleaseError, graded_release, without_public_tests

REPO = Path(__file__).resolve().parents[1]
GRADED = ["00_lifecycle_overview", "01_data", "05_end_to_end", "06_interview_prep"]



@pytest.fixture(scope="module")
def edition(tmp_path_factory, cli_run):
    out = tmp_path_factory.mktemp("graded")
    status, stdout, stderr = cli_run("release", "--edition", "graded", "--out", str(out), *GRADED, "--no-hints", "06_interview_prep")
    assert status == 0, stderr
    wheel = next(out.glob("mlcourse-*+graded-py3-none-any.whl"))
    assert wheel.name in stdout and "06_interview_prep: 10 exercise(s)" in stdout
    site = out / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    return out, wheel, site


def _flat(text: str) -> str:
    """Each line without its indentation: a region matches however deep its cell indents it."""
    return "\n".join(line.strip() for line in text.splitlines())


def wheel_texts(wheel: Path) -> dict[str, str]:
    """Every file of a wheel as searchable text (a notebook: its cells' sources and text outputs)."""
    texts = {}
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            text = zf.read(name).decode("utf-8", errors="replace")
            if name.endswith(".ipynb"):
                nb = json.loads(text)
                parts = [nbio.source(c) for c in nb["cells"]]
                parts += ["".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", [])]
                text = "\n".join(parts)
            texts[name] = _flat(text)
    return texts


def answer_key_functions() -> dict[str, str]:
    """Every function and class defined at the top of every lesson's checks.py: name -> its source."""
    found = {}
    for package in LESSONS.values():
        text = (REPO / "mlcourse" / "exercises" / package / "checks.py").read_text()
        for node in ast.parse(text).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                found[f"{package}.{node.name}"] = _flat(ast.get_source_segment(text, node))
    return found


def solution_regions() -> list[str]:
    """The code of every solution region of every lesson."""
    regions = []
    for path in sorted((REPO / "solutions").glob("*.ipynb")):
        for _, cell, _ in nbio.answer_cells(nbio.read(path)):
            regions.append(_flat(nbio.solution_text(nbio.source(cell))).strip())
    return regions


def test_the_graded_wheel_holds_no_solution_and_no_reference(edition, tmp_path):
    from mlcourse.grading.wheel import build_wheel

    _, wheel, _ = edition
    graded = wheel_texts(wheel)
    assert "mlcourse/_lessons/edition.json" in graded
    assert {f"mlcourse/_lessons/notebooks/{name}.ipynb" for name in GRADED} <= set(graded)
    assert not [n for n in graded if n.endswith("/checks.py") or "/_lessons/solutions/" in n]
    assert "mlcourse/exercises/overview/probes.py" in graded and "mlcourse/grading/verdict.py" in graded
    functions, regions = answer_key_functions(), solution_regions()
    references = [name.split(".")[1] for name in functions if "reference" in name]
    assert len(functions) > 100 and len(references) >= 10
    assert len(regions) == sum(len(exercises_of(n)) for n in LESSONS)
    # The same search finds them all in the self-paced wheel: it can fail.
    full = "\n".join(wheel_texts(build_wheel(tmp_path)).values())
    assert all(source in full for source in functions.values())
    assert all(f"def {name}(" in full for name in references)
    assert all(r in full for r in regions)
    everything = "\n".join(graded.values())
    assert [name for name, source in functions.items() if source in everything] == []
    assert [name for name in references if re.search(rf"(?<![\w.]){name}\b", everything)] == []  # not even named
    assert [r[:60] for r in regions if r in everything] == []


def test_a_lesson_without_public_tests_cannot_be_released(tmp_path, cli_run, fingerprint_without_public_test):
    lacking = without_public_tests(list(LESSONS))
    assert fingerprint_without_public_test in lacking
    with pytest.raises(ReleaseError) as info:
        graded_release(tmp_path / "out", ["00_lifecycle_overview", "01_data"])
    assert "data.fingerprint" in str(info.value) and "overview." not in str(info.value)
    assert not (tmp_path / "out").exists()  # nothing half-written
    status, _, err = cli_run("release", "--edition", "graded", "--out", str(tmp_path / "x"), "01_data")
    assert status == 2 and "mark no public test" in err and "data.fingerprint" in err
    status, _, err = cli_run("release", "--edition", "graded")
    assert status == 2 and "needs --out" in err


SCRIPT = r'''
import contextlib, io, json, sys
from mlcourse.exercises import edition, lesson
assert edition.installed()
answers = json.loads(sys.stdin.read())
out = {}
for lesson_name, cases in answers.items():
    ex = lesson(lesson_name)
    for exercise_id, sources in cases.items():
        short = exercise_id.split(".", 1)[1]
        results = []
        for source in sources:
            ns = {}
            exec(source, ns)
            r = getattr(ex, short).run(ns)
            results.append({"status": str(r.status), "tests": [[t.name, str(t.status), t.message] for t in r.tests],
                            "render": r.render()})
        out[exercise_id] = results
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        first = next(iter(ex))
        first.hint()
        first.solution()
    out[lesson_name] = text.getvalue()
print(json.dumps(out))
'''

# Answers tried in both editions: the solution (from the solutions notebook) and typical wrong ones.
WRONG = {
    "overview.stage_order": ['stages = ["Data", "Deploy", "Train", "Monitor"]', 'stages = ("Data", "Train")'],
    "overview.next_stage": [
        "def next_stage(stage):\n    order = ['Data', 'Train', 'Deploy', 'Monitor']\n    return order[order.index(stage) + 1]",
        "def next_stage(stage):\n    return stage",
    ],
    "interview.skew": ['answer_skew = "c"', 'answer_skew = "z"', 'answer_skew = {"a", "b"}'],
    "interview.star_answer": ['star_answer = {"situation": "x"}'],
}


def _tries() -> dict[str, dict[str, list[str]]]:
    tries: dict[str, dict[str, list[str]]] = {}
    for exercise_id, wrong in WRONG.items():
        lesson_name = next(n for n, p in LESSONS.items() if exercise_id.startswith(p + "."))
        solution = nbio.solution_source(exercise_id)
        tries.setdefault(lesson_name, {})[exercise_id] = [solution, *wrong]
    return tries


def test_checks_in_the_graded_edition_run_the_public_tests_as_the_full_definitions_do(edition):
    _, _, site = edition
    tries = _tries()
    env = dict(os.environ, PYTHONPATH=str(site), MLCOURSE_HOME=str(site.parent / "home"))
    proc = subprocess.run([sys.executable, "-c", SCRIPT], input=json.dumps(tries), env=env, capture_output=True,
                          text=True, timeout=300, cwd=site.parent)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    for lesson_name, cases in tries.items():
        for exercise_id, sources in cases.items():
            full = next(e for e in exercises_of(lesson_name) if e.id == exercise_id)
            public = [full.tests[i].name for i in full.public_tests]
            for source, graded in zip(sources, got[exercise_id]):
                ns: dict = {}
                exec(source, ns)
                whole = {t.name: t for t in full.run(ns).tests}
                # Only the public tests ran, each with the full definition's verdict.
                assert [t[0] for t in graded["tests"]] == public or graded["status"] == "not attempted"
                for name, status, message in graded["tests"]:
                    assert whole[name].status == status, (exercise_id, source, name)
                    if status != "passed" and full.tests[[t.name for t in full.tests].index(name)].reference is None:
                        assert whole[name].message == message  # a public verdict: word for word
                assert "public tests" in graded["render"] or graded["status"] == "not attempted"
                assert ".solution()" not in graded["render"]
    solutions_off = "Solutions are turned off"
    assert "Hint 1 of" in got["00_lifecycle_overview"] and solutions_off in got["00_lifecycle_overview"]
    assert "Hints are turned off" in got["06_interview_prep"] and solutions_off in got["06_interview_prep"]
    # The solution passes; the swapped stages pass the public form test only, and the grader has a hidden one.
    stage = got["overview.stage_order"]
    assert stage[0]["status"] == "passed" and stage[1]["status"] == "passed" and stage[2]["status"] == "failed"
    assert "the grader adds 1 hidden test;" in stage[1]["render"]
    nxt = got["overview.next_stage"]
    assert nxt[0]["status"] == "passed" and nxt[1]["status"] == "error" and nxt[2]["status"] == "failed"
    assert "expected 'Train', got 'Data' [called with 'Data']" in nxt[2]["render"]


def test_the_grader_refuses_to_run_in_the_graded_edition(edition, tmp_path):
    _, _, site = edition
    env = dict(os.environ, PYTHONPATH=str(site), MLCOURSE_HOME=str(tmp_path / "home"))
    proc = subprocess.run([sys.executable, "-m", "mlcourse", "grade", str(REPO / "notebooks" / "00_lifecycle_overview.ipynb"),
                           "--out", str(tmp_path / "graded")], env=env, capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 2 and "graded learner edition" in proc.stderr and "no answer key" in proc.stderr


def _filled(learner_nb: dict, answers: dict[str, str]) -> dict:
    nb = copy.deepcopy(learner_nb)
    for cell in nb["cells"]:
        ex = nbio.exercise_id(cell)
        if ex in answers:
            cell["source"] = answers[ex]
    return nb


def test_both_editions_answers_get_the_same_score_from_the_full_grader(edition, tmp_path, cli_run):
    out, _, _ = edition
    lesson_name = "00_lifecycle_overview"
    graded_nb = nbio.read(out / "notebooks" / f"{lesson_name}.ipynb")
    paced_nb = nbio.read(REPO / "notebooks" / f"{lesson_name}.ipynb")
    assert graded_nb["metadata"]["mlcourse"]["edition"] == "graded"
    answer_sets = {
        "solved": {ex.id: nbio.solution_source(ex.id) for ex in exercises_of(lesson_name)},
        "mixed": {"overview.stage_order": WRONG["overview.stage_order"][0], "overview.next_stage": WRONG["overview.next_stage"][0]},
    }
    subs = tmp_path / "subs"
    for name, answers in answer_sets.items():
        for edition_name, nb in (("graded", graded_nb), ("paced", paced_nb)):
            target = subs / f"{name}-{edition_name}" / f"{lesson_name}.ipynb"
            target.parent.mkdir(parents=True)
            target.write_text(nbio.dumps(_filled(nb, answers)))
    status, _, err = cli_run("grade", str(subs), "--out", str(tmp_path / "graded"), "--quiet", "--jobs", "2")
    assert status == 0, err
    scores = {}
    for folder in subs.iterdir():
        results = json.loads((tmp_path / "graded" / folder.name / lesson_name / "results.json").read_text())
        scores[folder.name] = [(t["name"], t["score"]) for t in results["tests"]]
    assert scores["solved-graded"] == scores["solved-paced"] and sum(s for _, s in scores["solved-paced"]) == 5
    assert scores["mixed-graded"] == scores["mixed-paced"]
    assert 0 < sum(s for _, s in scores["mixed-paced"]) < 5
