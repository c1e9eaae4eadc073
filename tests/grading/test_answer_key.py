"""The answer key stays out of the grading child, and a forbidden shortcut cannot be dodged.

One ``mlcourse grade`` batch (two jobs) holds learners of two lessons:

* the real lesson 00 (``stage_order`` 1 point, ``activity_stage`` 2,
  ``next_stage`` 2): answers that exec the solution, read or import the answer
  key, ask for the solution, or dig it out of the git history;
* ``98_shortcut`` (``shortcut_lesson.py``: ``bucket`` 2 points, which forbids
  the package's own ``canary_bucket``; ``double`` 1): every dodge of issue 11
  and a few more.

Each hostile learner answers one exercise honestly, so each case also shows
that the damage stays in the exercises attacked; honest learners of both
lessons come before and after them.
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import os
from pathlib import Path

import pytest

from mlcourse import cli
from mlcourse.exercises import notebook as nbio

HERE = Path(__file__).parent
OVERVIEW = "00_lifecycle_overview"
SHORTCUT = "98_shortcut"

# -- lesson 00: the answer key itself ---------------------------------------------
SOLVED = {
    "overview.stage_order": 'stages = ["Data", "Train", "Deploy", "Monitor"]',
}
ROOT = "import pathlib, mlcourse\nroot = pathlib.Path(mlcourse.__file__).resolve().parent\n"
ATTACKS = {
    "exec_solution": ROOT + (
        "import json\n"
        "for folder in (root.parent / 'solutions', root / '_lessons' / 'solutions'):\n"
        "    try:\n"
        "        nb = json.loads((folder / '00_lifecycle_overview.ipynb').read_text())\n"
        "    except OSError:\n"
        "        continue\n"
        "    for cell in nb['cells']:\n"
        "        if cell['metadata'].get('mlcourse', {}).get('exercise', '').startswith('overview.'):\n"
        "            exec(''.join(cell['source']))\n"
        "from mlcourse.exercises.notebook import solution_source\n"
        "exec(solution_source('overview.activity_stage'))\n"
        "exec(solution_source('overview.next_stage'))\n"
    ),
    "read_checks": ROOT + (
        "key = {}\n"
        "exec((root / 'exercises' / 'overview' / 'checks.py').read_text(), key)\n"
        "activity_stage = {a: s for a, (s, _) in key['ACTIVITIES'].items()}\n"
        "next_stage = key['reference_next_stage']\n"
    ),
    "import_checks": (
        "from mlcourse.exercises.overview.checks import ACTIVITIES, reference_next_stage as next_stage\n"
        "activity_stage = {a: s for a, (s, _) in ACTIVITIES.items()}\n"
    ),
    "ask_for_the_solution": (
        "import contextlib, io\n"
        "for name in ('activity_stage', 'next_stage'):\n"
        "    shown = io.StringIO()\n"
        "    with contextlib.redirect_stdout(shown):\n"
        "        getattr(ex, name).solution()\n"
        "    exec(shown.getvalue().split('\\n', 1)[-1])\n"
    ),
    "git_history": ROOT + (
        "import subprocess\n"
        "source = subprocess.run(['git', '-C', str(root), 'show', 'HEAD:mlcourse/exercises/overview/checks.py'],\n"
        "                        capture_output=True, text=True).stdout\n"
        "key = {}\n"
        "exec(source, key)\n"
        "activity_stage = {a: s for a, (s, _) in key['ACTIVITIES'].items()}\n"
        "next_stage = key['reference_next_stage']\n"
    ),
}

# -- 98_shortcut: the dodges ---------------------------------------------------------
BUCKET = (
    "import hashlib\n"
    "def bucket(user_id):\n"
    "    digest = hashlib.sha256(user_id.encode()).digest()\n"
    "    return int.from_bytes(digest[:8], 'big') / 2**64"
)
DOUBLE = "def double(x):\n    return 2 * x"
PACKAGE = "mlcourse.deploy.rollout.canary_bucket, the package's own version"
# name -> (cell added after the setup, or None; the answer to bucket; what the message names)
DODGES = {
    "direct": (None, "from mlcourse.deploy.rollout import canary_bucket\ndef bucket(user_id):\n    return canary_bucket(user_id)", PACKAGE),
    "alias": (None, "b = rollout.canary_bucket\ndef bucket(user_id):\n    return b(user_id)", PACKAGE),
    "taken_before": ("_keep = rollout.canary_bucket", "def bucket(user_id):\n    return _keep(user_id)", PACKAGE),
    "import_module": (
        None,
        "import importlib\ndef bucket(user_id):\n"
        "    return getattr(importlib.import_module('mlcourse.deploy.rollout'), 'canary_' + 'bucket')(user_id)",
        PACKAGE,
    ),
    "sys_modules": (
        None, "import sys\ndef bucket(user_id):\n    return sys.modules['mlcourse.deploy.rollout'].canary_bucket(user_id)", PACKAGE,
    ),
    # The next two name nothing forbidden in the answer: the message comes from the run-time evidence.
    "code_swapped_back": (
        "_keep = rollout.canary_bucket\n_saved = _keep.__code__",
        "def bucket(user_id):\n    _keep.__code__ = _saved\n    return _keep(user_id)",
        PACKAGE,
    ),
    "checker_code_replaced": (
        "import contextlib\nfrom mlcourse.exercises import guard\n_keep = rollout.canary_bucket\n"
        "@contextlib.contextmanager\ndef _nothing(self):\n    yield []\n"
        "guard.Sentinels.refusing.__wrapped__.__code__ = _nothing.__wrapped__.__code__",
        "def bucket(user_id):\n    return _keep(user_id)",
        PACKAGE,
    ),
    "another_python": (
        None,
        "import subprocess, sys\ndef bucket(user_id):\n"
        "    code = f'from mlcourse.deploy.rollout import canary_bucket as c; print(c({user_id!r}))'\n"
        "    return float(subprocess.run([sys.executable, '-c', code], capture_output=True, text=True).stdout)",
        "`subprocess`",
    ),
}


def _code(source: str, meta: dict | None = None, cid: str = "") -> dict:
    return {"cell_type": "code", "id": cid or f"c{abs(hash(source)) % 10**8}", "metadata": meta or {}, "source": source,
            "outputs": [], "execution_count": None}


def _shortcut_solutions() -> dict:
    cells = [_code("from mlcourse.deploy import rollout", cid="s-setup")]
    for ex_id, answer in (("shortcut.bucket", BUCKET), ("shortcut.double", DOUBLE)):
        cells.append(_code(f"# BEGIN SOLUTION\n{answer}\n# END SOLUTION", {"mlcourse": {"exercise": ex_id}}, ex_id))
    return {"cells": cells, "metadata": {"mlcourse": {"lesson": SHORTCUT}}, "nbformat": 4, "nbformat_minor": 5}


def _fill(template: dict, answers: dict[str, str], added: str | None = None) -> dict:
    nb = copy.deepcopy(template)
    for cell in nb["cells"]:
        ex_id = nbio.exercise_id(cell)
        if ex_id in answers:
            cell["source"] = answers[ex_id]
    if added:
        nb["cells"].insert(1, _code(added, cid="added-1"))
    return nb


@pytest.fixture(scope="module")
def lessons(tmp_path_factory, lesson_kit):
    """Install 98_shortcut beside the real lessons for this module (as conftest does for the demo)."""
    from mlcourse import paths

    module = lesson_kit.load("mlcourse_grading_shortcut_lesson", HERE / "shortcut_lesson.py")
    mp = pytest.MonkeyPatch()
    real = paths.lessons_dir
    lessons_dir = lesson_kit.install(mp, tmp_path_factory.mktemp("lessons"), SHORTCUT, "shortcut", module, _shortcut_solutions())
    yield {
        OVERVIEW: nbio.read(real("notebooks") / f"{OVERVIEW}.ipynb"),
        SHORTCUT: nbio.read(lessons_dir("notebooks") / f"{SHORTCUT}.ipynb"),
        "solutions": nbio.read(real("solutions") / f"{OVERVIEW}.ipynb"),
    }
    mp.undo()


@pytest.fixture(scope="module")
def batch(lessons, tmp_path_factory) -> dict:
    """Grade every case in one batch; return {learner: (results.json, expected score)} and the exit status."""
    root = tmp_path_factory.mktemp("answer-key")
    solved = {ex: nbio.without_markers(nbio.source(c)) for _, c, ex in nbio.answer_cells(lessons["solutions"])}
    cases: dict[str, tuple[str, dict, float]] = {
        "honest-00-first": (OVERVIEW, _fill(lessons[OVERVIEW], solved), 5),
        "honest-98-first": (SHORTCUT, _fill(lessons[SHORTCUT], {"shortcut.bucket": BUCKET, "shortcut.double": DOUBLE}), 3),
    }
    for name, attack in ATTACKS.items():
        answers = {**SOLVED, "overview.activity_stage": attack, "overview.next_stage": attack}
        cases[f"00-{name}"] = (OVERVIEW, _fill(lessons[OVERVIEW], answers), 1)
    for name, (added, answer, _) in DODGES.items():
        cases[f"98-{name}"] = (SHORTCUT, _fill(lessons[SHORTCUT], {"shortcut.bucket": answer, "shortcut.double": DOUBLE}, added), 1)
    cases["honest-00-last"] = cases["honest-00-first"]
    cases["honest-98-last"] = cases["honest-98-first"]
    for learner, (lesson, nb, _) in cases.items():
        path = root / "subs" / learner / f"{lesson}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(nb))
    out = root / "out"
    with contextlib.redirect_stdout(io.StringIO()):
        status = cli.main(["grade", str(root / "subs"), "--out", str(out), "--jobs", "2", "--timeout", "20", "--quiet"])
    results = {learner: json.loads((out / learner / lesson / "results.json").read_text()) for learner, (lesson, _, _) in cases.items()}
    return {"status": status, "results": results, "expected": {k: v[2] for k, v in cases.items()}}


def _test(results: dict, exercise: str) -> dict:
    return next(t for t in results["tests"] if t["extra_data"]["exercise"] == exercise)


def test_the_batch_completes_and_honest_learners_keep_full_marks(batch):
    assert batch["status"] == 0
    for learner in ("honest-00-first", "honest-00-last", "honest-98-first", "honest-98-last"):
        assert batch["results"][learner]["score"] == batch["expected"][learner], batch["results"][learner]


@pytest.mark.parametrize("name", list(ATTACKS))
def test_the_answer_key_gives_no_marks(batch, name):
    res = batch["results"][f"00-{name}"]
    assert res["score"] == 1, json.dumps(res, indent=1)[:3000]  # stage_order, answered honestly, only
    assert _test(res, "overview.stage_order")["status"] == "passed"
    for ex in ("overview.activity_stage", "overview.next_stage"):
        assert _test(res, ex)["score"] == 0


@pytest.mark.parametrize("name", list(DODGES))
def test_every_dodge_of_the_forbidden_function_fails_that_exercise_only(batch, name):
    res = batch["results"][f"98-{name}"]
    bucket = _test(res, "shortcut.bucket")
    assert bucket["score"] == 0 and DODGES[name][2] in bucket["output"], bucket
    assert _test(res, "shortcut.double")["status"] == "passed"
    assert res["score"] == 1


@pytest.mark.parametrize("name", [n for n, (added, _, _) in DODGES.items() if added is None])
def test_the_notebook_check_gives_the_same_verdict_as_the_grader(lessons, batch, name):
    from mlcourse.exercises.testing import walk

    answer = DODGES[name][1]
    tried = walk(SHORTCUT, {"shortcut.bucket": [answer]})["shortcut.bucket"].wrong[0]
    graded = _test(batch["results"][f"98-{name}"], "shortcut.bucket")
    assert (tried.status, tried.score) == ("failed", 0) == (graded["extra_data"]["status"], graded["score"])
    assert DODGES[name][2] in tried.message



@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="a grader without namespaces protects the key as root")
def test_without_namespaces_a_root_grader_makes_the_answer_key_private_before_learner_code(lessons, tmp_path, restored_modes):
    import mlcourse
    from mlcourse.grading.batch import Options, run
    from mlcourse.grading.sandbox import Limits

    checks = Path(mlcourse.__file__).resolve().parent / "exercises" / "overview" / "checks.py"
    os.chmod(checks, 0o644)
    answers = dict(SOLVED)
    answers["overview.next_stage"] = (
        f"import pathlib\nseen = pathlib.Path({str(checks)!r}).stat().st_mode & 0o077\n"
        "def next_stage(stage):\n    assert seen == 0, 'the answer key was readable'\n"
        "    order = ['Data', 'Train', 'Deploy', 'Monitor']\n"
        "    if stage not in order:\n        raise ValueError(f'unknown stage: {stage!r}')\n"
        "    return order[(order.index(stage) + 1) % 4]"
    )
    path = tmp_path / "subs" / "fallback" / f"{OVERVIEW}.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(_fill(lessons[OVERVIEW], answers)))
    report = run(Options(paths=[tmp_path / "subs"], out=tmp_path / "out", jobs=1, progress=False, namespaces=False,
                         limits=Limits(cell_timeout=30)))
    graded = report.outcomes[0].graded
    assert graded.isolation == "fallback"
    # The learner's code saw a private answer key: protection came before the first cell.
    assert {r.exercise: r.status for r in graded.results}["overview.next_stage"] == "passed", graded.results
    assert checks.stat().st_mode & 0o077 == 0
