"""Lesson 03 in the graded edition: every exercise has public tests, and they judge as the full definitions do.

The edition is released for real (``mlcourse release --edition graded 03_deploy``), its wheel unzipped, and the
solution and the typical wrong answers of tests/exercises/deploy_answers.py checked from it in a separate Python
whose ``mlcourse`` is the unzipped one (no checks.py, no solutions notebook). Each public test must give the status,
and for a verdict that needs no stored value the very message, that the full definition gives.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mlcourse import cli
from mlcourse.exercises import exercises_of
from mlcourse.exercises import notebook as nbio
from mlcourse.release import without_public_tests

_spec = importlib.util.spec_from_file_location("deploy_answers", Path(__file__).with_name("deploy_answers.py"))
answers = sys.modules.setdefault(_spec.name, importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(answers)

LESSON = "03_deploy"

SCRIPT = r'''
import json, sys
from mlcourse.exercises import edition, lesson
assert edition.installed() and edition.lessons() == ["03_deploy"]
tries = json.loads(sys.stdin.read())
ex = lesson("03_deploy")
out = {}
for exercise_id, sources in tries["answers"].items():
    results = []
    for source in sources:
        ns = {}
        exec(compile(tries["prelude"], "<prelude>", "exec", dont_inherit=True), ns)
        exec(compile(source, "<answer cell>", "exec", dont_inherit=True), ns)
        r = getattr(ex, exercise_id.split(".", 1)[1]).run(ns)
        results.append({"status": str(r.status), "tests": [[t.name, str(t.status), t.message] for t in r.tests]})
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
    assert f"{LESSON}: 10 exercise(s)" in text.getvalue()
    wheel = next(out.glob("mlcourse-*+graded-py3-none-any.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert "mlcourse/exercises/deploy/probes.py" in names
        assert not [n for n in names if n.endswith("deploy/checks.py") or "/_lessons/solutions/" in n]
        zf.extractall(out / "site")
    return out / "site"


def test_every_exercise_of_the_lesson_marks_a_public_test():
    assert without_public_tests([LESSON]) == []
    for ex in exercises_of(LESSON):
        assert ex.public_tests, ex.id
        # A public test awards points on fresh inputs in the grader: its inputs are drawn, never the example alone.
        assert all(ex.tests[i].inputs is not None for i in ex.public_tests), ex.id


def _same(message: str) -> str:
    """A message's diagnosis: without what depends on the run's temporary folder (the hash of a path, the path
    itself), the inputs it ends with (the edition stores a record's keys sorted), and counts (a router that draws
    at random sends a different number of users each time)."""
    message = message.split(" [", 1)[0]
    message = re.sub(r"[0-9a-f]{12}\.\.\.", "<digest>...", re.sub(r"/\S*/", "<folder>/", message))
    return re.sub(r"\d+", "<n>", message)


def _compiled(source: str):
    return compile(source, "<answer cell>", "exec", dont_inherit=True)


def test_public_tests_in_the_graded_edition_judge_as_the_full_definitions(site):
    tries = {ex.id: [nbio.solution_source(ex.id), *(w.source for w in answers.BANK[ex.id][1])]
             for ex in exercises_of(LESSON)}
    env = dict(os.environ, PYTHONPATH=str(site), MLCOURSE_HOME=str(site.parent / "home"))
    proc = subprocess.run([sys.executable, "-c", SCRIPT], input=json.dumps({"prelude": answers.PRELUDE, "answers": tries}),
                          env=env, capture_output=True, text=True, timeout=600, cwd=site.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout)
    prelude: dict = {}
    exec(_compiled(answers.PRELUDE), prelude)
    for ex in exercises_of(LESSON):
        public = [ex.tests[i].name for i in ex.public_tests]
        caught = 0
        for k, (source, graded) in enumerate(zip(tries[ex.id], got[ex.id])):
            assert [t[0] for t in graded["tests"]] == public, ex.id
            if k == 0:  # the solution passes every public test
                assert graded["status"] == "passed", (ex.id, graded["tests"])
                continue
            ns = dict(prelude)
            exec(_compiled(source), ns)
            whole = {t.name: t for t in ex.run(ns).tests}
            for name, status, message in graded["tests"]:
                assert whole[name].status == status, (ex.id, source, name, message, whole[name].message)
                if status != "passed":
                    assert _same(message) == _same(whole[name].message), (ex.id, name)
                    assert "__plain__" not in message
            caught += graded["status"] != "passed"
        # The public tests can fail: some typical wrong answer fails one of them.
        assert caught >= 1, ex.id
