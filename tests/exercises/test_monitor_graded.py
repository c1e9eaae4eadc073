"""Lesson 04 outside the notebook: the grader's verdicts, and the graded edition.

* ``mlcourse grade`` on a learner notebook with right and wrong answers gives each
  exercise the verdict the notebook's own check gives;
* ``mlcourse release --edition graded`` ships the lesson, and its public checks (the
  notebook's examples) judge as the full definitions do: the edition is released for
  real, its wheel unzipped, and the solution, a correct answer written differently and
  every typical wrong answer of ``answers_monitor.py`` checked from it in a separate
  Python whose ``mlcourse`` is the unzipped one.
"""
from __future__ import annotations

import contextlib
import copy
import importlib.util
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mlcourse import cli
from mlcourse.exercises import exercises_of
from mlcourse.exercises import notebook as nbio
from mlcourse.exercises.testing import walk

REPO = Path(__file__).resolve().parents[2]

LESSON = "04_monitor"


def load(name: str):
    """A helper module next to this file (the tests import by path, not as a package)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


A = load("answers_monitor")

# Wrong in form: the public check of the value answer (never how good the policies are) must catch it.
FORM_WRONG = {"monitor.backtest_policies": ['policies = [RetrainPolicy.scheduled(every_days=14)]',
                                            'policies = RetrainPolicy.scheduled(every_days=14)']}

SCRIPT = r'''
import json, sys
from mlcourse.exercises import edition, lesson
assert edition.installed()
prelude, answers = json.loads(sys.stdin.read())
ex = lesson("04_monitor")
out = {}
for exercise_id, sources in answers.items():
    results = []
    for source in sources:
        ns = {}
        exec(prelude, ns)
        exec(source, ns)
        r = getattr(ex, exercise_id.split(".", 1)[1]).run(ns)
        results.append({"status": str(r.status), "tests": [[t.name, str(t.status), t.message] for t in r.tests],
                        "render": r.render()})
    out[exercise_id] = results
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("graded")
    text, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(text), contextlib.redirect_stderr(err):
        status = cli.main(["release", "--edition", "graded", "--out", str(out), LESSON])
    assert status == 0, err.getvalue()
    assert f"{LESSON}: 7 exercise(s)" in text.getvalue()
    wheel = next(out.glob("mlcourse-*+graded-py3-none-any.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert "mlcourse/exercises/monitor/probes.py" in names
        assert "mlcourse/exercises/monitor/checks.py" not in names  # the answer key stays home
        zf.extractall(out / "site")
    return out / "site"


def test_every_exercise_marks_a_public_test_that_earns_nothing_on_its_own():
    for ex in exercises_of(LESSON):
        assert ex.public_tests, ex.id
        hidden = [t for i, t in enumerate(ex.tests) if i not in ex.public_tests]
        assert hidden and sum(t.weight for t in hidden) > 0, ex.id
        if ex.id != "monitor.psi":  # psi's public test is a fresh-input returns() test with its points
            assert all(ex.tests[i].weight == 0 for i in ex.public_tests), ex.id
            assert ex.public_tests[-1] == len(ex.tests) - 1, ex.id  # placed last


def test_public_checks_pass_the_solution_and_catch_wrong_answers_as_the_full_definitions_do(site):
    tries = {}
    for ex in exercises_of(LESSON):
        wrong = [w.source for w in A.WRONG[ex.id]] + FORM_WRONG.get(ex.id, [])
        tries[ex.id] = [nbio.solution_source(ex.id), A.RIGHT[ex.id][0], *wrong]
    env = dict(os.environ, PYTHONPATH=str(site), MLCOURSE_HOME=str(site.parent / "home"))
    proc = subprocess.run([sys.executable, "-c", SCRIPT], input=json.dumps([A.PRELUDE, tries]), env=env,
                          capture_output=True, text=True, timeout=600, cwd=site.parent)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    for ex in exercises_of(LESSON):
        public = [ex.tests[i].name for i in ex.public_tests]
        statuses = []
        for source, graded in zip(tries[ex.id], got[ex.id]):
            ns: dict = {}
            exec(A.PRELUDE, ns)
            exec(source, ns)
            whole = {t.name: t for t in ex.run(ns).tests}
            assert [t[0] for t in graded["tests"]] == public, ex.id
            for name, status, message in graded["tests"]:
                assert whole[name].status == status, (ex.id, source, name, message)
                if ex.tests[[t.name for t in ex.tests].index(name)].reference is None or status == "passed":
                    assert whole[name].message == message
                assert "__plain__" not in message
            assert ".solution()" not in graded["render"]
            statuses.append(graded["status"])
        assert statuses[0] == statuses[1] == "passed", (ex.id, got[ex.id][0]["render"])
        assert "failed" in statuses[2:] or "error" in statuses[2:], ex.id  # the example catches a wrong answer


# One wrong answer in the learner's notebook (the errors counted in the latency percentiles); the rest solved.
WRONG_IN_NOTEBOOK = "monitor.latency_slo"


def test_the_grader_gives_the_notebooks_verdicts(tmp_path):
    wrong = A.WRONG[WRONG_IN_NOTEBOOK][0]
    solved = {ex: nbio.without_markers(nbio.source(c))
              for _, c, ex in nbio.answer_cells(nbio.read(REPO / "solutions" / f"{LESSON}.ipynb"))}
    nb = copy.deepcopy(nbio.read(REPO / "notebooks" / f"{LESSON}.ipynb"))
    for cell in nb["cells"]:
        ex_id = nbio.exercise_id(cell)
        if ex_id:  # the wrong answer is typed below the stub, in the cell with its set-up lines
            cell["source"] = nbio.source(cell) + "\n" + wrong.source if ex_id == WRONG_IN_NOTEBOOK else solved[ex_id]
    target = tmp_path / "subs" / "learner" / f"{LESSON}.ipynb"
    target.parent.mkdir(parents=True)
    target.write_text(nbio.dumps(nb))
    with contextlib.redirect_stdout(io.StringIO()):
        status = cli.main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--quiet"])
    assert status == 0
    results = json.loads((tmp_path / "out" / "learner" / LESSON / "results.json").read_text())
    graded = {t["extra_data"]["exercise"]: t for t in results["tests"]}
    tried = walk(LESSON, {WRONG_IN_NOTEBOOK: [wrong.source]})
    for ex in exercises_of(LESSON):
        mine = tried[ex.id].wrong[0] if ex.id == WRONG_IN_NOTEBOOK else tried[ex.id].solution
        assert (graded[ex.id]["extra_data"]["status"], graded[ex.id]["score"]) == (str(mine.status), mine.score), ex.id
    told = graded[WRONG_IN_NOTEBOOK]
    assert told["score"] < told["max_score"] and all(p in told["output"] for p in wrong.says), told["output"]
