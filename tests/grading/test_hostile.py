"""Bad and hostile submissions, graded together in one batch.

Every case is a learner folder in the same ``mlcourse grade`` run (two jobs),
so each test also shows that the rest of the batch was unaffected. The demo
lesson has three exercises: ``double`` (2 points), ``total`` (1) and
``clean`` (2). Each case states the score its answers deserve.
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import mlcourse
from mlcourse import cli

TOKEN = uuid.uuid4().hex[:8]
ESCAPES = [
    Path(f"/root/mlcourse-escape-{TOKEN}.txt"),
    Path(mlcourse.__file__).resolve().parent.parent / f"mlcourse-escape-{TOKEN}.txt",
    Path(f"/var/tmp/mlcourse-escape-{TOKEN}.txt"),
]

WRONG = {
    "demo.double": "def double(x):\n    return 0",
    "demo.total": "total = 0",
    "demo.clean": "def clean(df):\n    return df",
}

PATCHES = """
import numpy as np, pandas as pd
import mlcourse.exercises.compare as _cmp, mlcourse.exercises.engine as _eng, mlcourse.exercises.plain as _pl
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
pd.DataFrame.equals = lambda self, other: True
pd.testing.assert_frame_equal = lambda *a, **k: None
_cmp.Compare.__call__ = lambda self, expected, got: None
_eng.Exercise.judge = lambda self, probed, inputs: _eng.Result(self.id, self.title, self.points, 'passed', self.points)
_eng.Exercise.probe = lambda self, ns, inputs: {
    'answer': 'present', 'type': 'a number', 'tests': [{'ok': True, 'value': 6}] * len(self.tests)
}
_pl.to_plain = lambda obj, _depth=0: 6
"""

TRANSFORMER = """
import ast
def _rewrite(lines):
    return ["double = lambda x: 2 * x\\n", "total = 55\\n", "clean = lambda df: df.dropna().reset_index(drop=True)\\n"]
get_ipython().input_transformers_cleanup.append(_rewrite)
get_ipython().input_transformers_post.append(_rewrite)
class _Fix(ast.NodeTransformer):
    def visit_Module(self, node):
        return ast.parse("double = lambda x: 2 * x\\ntotal = 55")
get_ipython().ast_transformers.append(_Fix())
"""

FAKE_RESULTS = """
import json, os
print(json.dumps({"score": 5, "tests": [{"name": "demo.double", "score": 2, "max_score": 2, "status": "passed"}]}))
fake = {"token": "0", "probe": {"answer": "present", "tests": [{"ok": True, "value": 6}, {"ok": True, "value": 6}]}}
for fd in range(3, 64):
    try:
        os.write(fd, (json.dumps(fake) + "\\n").encode())
    except OSError:
        pass
"""

ALWAYS_EQUAL = {
    "demo.double": "class Anything:\n    def __eq__(self, other):\n        return True\n\ndef double(x):\n    return Anything()",
    "demo.total": "class Anything(int):\n    def __eq__(self, other):\n        return True\ntotal = Anything(1)",
    "demo.clean": (
        "import pandas as pd\nclass Frame(pd.DataFrame):\n    def equals(self, other):\n        return True\n"
        "    def __eq__(self, other):\n        return True\ndef clean(df):\n    return Frame({'a': [0]})"
    ),
}


def _code(source: str, cid: str) -> dict:
    return {"cell_type": "code", "id": cid, "metadata": {}, "source": source, "outputs": [], "execution_count": None}


def _answer_cells(nb):
    return [c for c in nb["cells"] if c.get("metadata", {}).get("mlcourse", {}).get("exercise")]


def _insert_after_setup(nb, source):
    nb["cells"].insert(2, _code(source, f"added-{uuid.uuid4().hex[:6]}"))


def cases(make, answers, subs: Path, out: Path) -> dict[str, tuple[object, float]]:
    """name -> (notebook or raw content, expected score)."""

    def with_answer(ex_id, extra):
        return make(answers={**answers, ex_id: answers[ex_id] + "\n" + extra})

    def big(nb):
        nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "x" * 50_000_000}]

    def strip_all_metadata(nb):
        nb["metadata"] = {}
        for c in nb["cells"]:
            c["metadata"] = {}

    def strip_prompts(nb):
        for c in _answer_cells(nb):
            c["metadata"] = {}
            c["id"] = "mine-" + c["id"]
            c["source"] = "\n".join(line for line in c["source"].splitlines() if not line.startswith("#"))

    def edit_checks(nb):
        for c in nb["cells"]:
            if c["metadata"].get("mlcourse", {}).get("check"):
                c["source"] = "double = lambda x: 2 * x\nprint('✅ passed')"

    def delete_clean(nb):
        nb["cells"].remove(_answer_cells(nb)[2])

    def reorder(nb):
        a = _answer_cells(nb)
        i, j = nb["cells"].index(a[0]), nb["cells"].index(a[2])
        nb["cells"][i], nb["cells"][j] = nb["cells"][j], nb["cells"][i]

    def duplicate(nb):
        first = _answer_cells(nb)[0]
        wrong = copy.deepcopy(first)
        wrong["source"] = WRONG["demo.double"]
        nb["cells"].insert(nb["cells"].index(first), wrong)

    def draft_raises(nb):
        # A failed draft of an answer, then the answer: the last one decides.
        first = _answer_cells(nb)[0]
        draft = copy.deepcopy(first)
        draft["source"] = "def double(x):\n    return 2 * x\nprint(double('oops') + 1)"
        nb["cells"].insert(nb["cells"].index(first), draft)

    def same_ids(nb):
        for c in nb["cells"]:
            c["id"] = "same"

    escapes = [out / "correct" / "99_demo" / "results.json", out / "gradebook.db", subs / "correct" / "99_demo.ipynb", *ESCAPES]
    write_outside = (
        "import pathlib\nfor t in %r:\n    try:\n        pathlib.Path(t).write_text('{\"score\": 100}')\n"
        "    except Exception:\n        pass\n" % [str(p) for p in escapes]
    ) + "for t in ['../../escape.txt', '/tmp/escape.txt']:\n    try:\n        open(t, 'w').write('x')\n    except Exception:\n        pass"

    nb3 = json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": []}]})
    return {
        # the rest of the batch
        "correct": (make(), 5),
        "untouched": (make(answers={}), 0),
        # broken files
        "not_json": ("this is not JSON {", 0),
        "json_not_notebook": ('{"hello": "world"}', 0),
        "nbformat3": (nb3, 0),
        "empty": ("", 0),
        "big_50mb": (make(edit=big), 5),
        # broken structure
        "duplicate_ids": (make(edit=same_ids), 5),
        "answer_deleted": (make(edit=delete_clean), 3),
        "answers_reordered": (make(edit=reorder), 5),
        "answer_duplicated": (make(edit=duplicate), 5),
        "answer_draft_raises": (make(edit=draft_raises), 5),
        "metadata_stripped": (make(edit=strip_all_metadata), 5),
        "names_only": (make(edit=strip_prompts), 5),
        "check_cells_edited": (make(answers={**answers, "demo.double": WRONG["demo.double"]}, edit=edit_checks), 3),
        # runaway code
        "infinite_loop": (with_answer("demo.total", "while True:\n    pass"), 4),
        "sys_exit": (with_answer("demo.double", "import sys\nsys.exit()"), 3),
        "os_exit": (with_answer("demo.total", "import os\nos._exit(0)"), 4),
        "alloc_30gb": (with_answer("demo.clean", "import numpy as np\nbig = np.ones(30 * 2**30 // 8)"), 3),
        "print_100mb": (with_answer("demo.double", "print('x' * 100_000_000)"), 3),
        "crash_in_added_cell": (make(edit=lambda nb: _insert_after_setup(nb, "import ctypes\nctypes.string_at(0)")), 5),
        "probe_never_returns": (make(answers={**answers, "demo.double": "def double(x):\n    while True:\n        pass"}), 3),
        # cheating
        "always_equal": (make(answers=ALWAYS_EQUAL), 0),
        "monkeypatch_wrong": (make(answers={**WRONG, "demo.double": WRONG["demo.double"] + "\n" + PATCHES}), 0),
        "monkeypatch_right": (with_answer("demo.double", PATCHES), 5),
        "input_transformer": (make(answers=WRONG, edit=lambda nb: _insert_after_setup(nb, TRANSFORMER)), 0),
        "fake_results": (
            make(answers={**answers, "demo.double": WRONG["demo.double"]}, edit=lambda nb: _insert_after_setup(nb, FAKE_RESULTS)),
            3,
        ),
        "write_outside": (make(edit=lambda nb: _insert_after_setup(nb, write_outside)), 5),
    }


class Batch:
    def __init__(self, root: Path, expected: dict, status: int, stdout: str, junit: Path, shas: dict) -> None:
        self.out = root / "out"
        self.subs = root / "subs"
        self.expected = expected
        self.status = status
        self.stdout = stdout
        self.junit = junit
        self.shas = shas

    def results(self, name: str) -> dict:
        return json.loads((self.out / name / "99_demo" / "results.json").read_text())

    def test(self, name: str, exercise: str) -> dict:
        return next(t for t in self.results(name)["tests"] if t["extra_data"]["exercise"] == exercise)


@pytest.fixture(scope="module")
def batch(tmp_path_factory, demo_lessons, make_submission, answers, write_nb) -> Batch:
    import hashlib

    root = tmp_path_factory.mktemp("hostile")
    subs, out = root / "subs", root / "out"
    expected = {}
    shas = {}
    for name, (nb, score) in cases(make_submission, answers, subs, out).items():
        path = write_nb(subs / name / "99_demo.ipynb", nb)
        shas[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        expected[name] = score
    junit = root / "junit.xml"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = cli.main(
            ["grade", str(subs), "--out", str(out), "--jobs", "2", "--timeout", "3", "--total-timeout", "60",
             "--memory", "2048", "--max-output", "5", "--junit", str(junit), "--quiet"]
        )
    yield Batch(root, expected, status, stdout.getvalue(), junit, shas)
    for p in ESCAPES:
        p.unlink(missing_ok=True)


CASES = [
    "correct", "untouched", "not_json", "json_not_notebook", "nbformat3", "empty", "big_50mb", "duplicate_ids",
    "answer_deleted", "answers_reordered", "answer_duplicated", "answer_draft_raises", "metadata_stripped", "names_only",
    "check_cells_edited",
    "infinite_loop", "sys_exit", "os_exit", "alloc_30gb", "print_100mb", "crash_in_added_cell", "probe_never_returns",
    "always_equal", "monkeypatch_wrong", "monkeypatch_right", "input_transformer", "fake_results", "write_outside",
]


@pytest.mark.parametrize("name", CASES)
def test_each_case_gets_exactly_the_marks_its_answers_deserve(batch, name):
    res = batch.results(name)
    assert res["score"] == batch.expected[name], json.dumps(res, indent=1)[:3000]
    assert sum(t["score"] for t in res["tests"]) == res["score"]


def test_the_batch_completes_with_exit_status_0(batch):
    assert batch.status == 0
    assert len(list(batch.out.glob("*/99_demo/results.json"))) == len(CASES)
    for name in CASES:
        assert f"\n{name} " in "\n" + batch.stdout, name


@pytest.mark.parametrize(
    "name, needle",
    [("not_json", "not valid JSON"), ("json_not_notebook", "not a Jupyter notebook"), ("nbformat3", "nbformat 3"), ("empty", "empty")],
)
def test_broken_files_say_why(batch, name, needle):
    res = batch.results(name)
    assert needle in res["output"]
    assert all(t["status"] == "failed" and needle in t["output"] for t in res["tests"])


def test_untouched_notebook_is_not_attempted_everywhere(batch):
    assert {t["extra_data"]["status"] for t in batch.results("untouched")["tests"]} == {"not attempted"}


def test_deleted_answer_cell_has_a_message(batch):
    t = batch.test("answer_deleted", "demo.clean")
    assert t["extra_data"]["status"] == "not attempted" and "no answer cell" in t["output"]


@pytest.mark.parametrize(
    "name, exercise, needle",
    [
        ("infinite_loop", "demo.total", "time limit"),
        ("sys_exit", "demo.double", "sys.exit()"),
        ("os_exit", "demo.total", "exit status 0"),
        ("alloc_30gb", "demo.clean", "out of memory"),
        ("print_100mb", "demo.double", "output limit"),
        ("probe_never_returns", "demo.double", "time limit"),
    ],
)
def test_runaway_code_zeroes_only_its_exercise_with_the_reason(batch, name, exercise, needle):
    t = batch.test(name, exercise)
    assert t["score"] == 0 and needle in t["output"], t
    others = [x for x in batch.results(name)["tests"] if x["extra_data"]["exercise"] != exercise]
    assert all(x["status"] == "passed" for x in others)


def test_a_crash_in_an_added_cell_zeroes_nothing(batch):
    res = batch.results("crash_in_added_cell")
    assert "SIGSEGV" in res["output"] and "a cell you added" in res["output"]


def test_always_equal_objects_are_named_in_the_message(batch):
    assert "Anything" in batch.test("always_equal", "demo.double")["output"]


def test_printed_fake_results_never_count(batch):
    assert batch.test("fake_results", "demo.double")["status"] == "failed"


def test_nothing_was_written_outside_the_working_directory(batch):
    assert batch.results("correct")["score"] == 5  # not {"score": 100}
    import hashlib
    import sqlite3

    assert hashlib.sha256((batch.subs / "correct" / "99_demo.ipynb").read_bytes()).hexdigest() == batch.shas["correct"]
    rows = sqlite3.connect(batch.out / "gradebook.db").execute("SELECT count(*) FROM grades").fetchone()[0]
    assert rows >= 3 * len(CASES) - 3 * 4  # broken files without a lesson still get rows
    leaked = [p for p in ESCAPES if p.exists()]
    assert not leaked, leaked
    assert not (batch.subs / "escape.txt").exists() and not Path("/tmp/escape.txt").exists()


def test_gradebook_junit_and_csv(batch, tmp_path):
    import csv
    import sqlite3

    db = sqlite3.connect(batch.out / "gradebook.db")
    learners = {r[0] for r in db.execute("SELECT DISTINCT learner FROM grades")}
    assert learners == set(CASES)
    cols = [r[1] for r in db.execute("PRAGMA table_info(grades)")]
    for c in ("learner", "lesson", "exercise", "score", "max", "status", "message", "sha256", "graded_at", "grader_version"):
        assert c in cols
    root = ET.parse(batch.junit).getroot()
    assert root.tag == "testsuites" and len(root) == len(CASES)
    assert int(root.get("failures")) + int(root.get("errors")) > 0
    target = tmp_path / "grades.csv"
    assert cli.main(["gradebook", str(batch.out), "--csv", str(target)]) == 0
    rows = list(csv.DictReader(target.open()))
    assert {r["learner"] for r in rows} == set(CASES)
    correct = [r for r in rows if r["learner"] == "correct"]
    assert sum(float(r["score"]) for r in correct) == 5


def test_a_second_run_skips_what_is_already_graded(batch):
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = cli.main(["grade", str(batch.subs), "--out", str(batch.out), "--quiet"])
    assert status == 0
    assert f"{len(CASES)} submission(s): 0 graded, {len(CASES)} already graded" in stdout.getvalue()


# -- issue 17: the same batch without checkpoints and fork points, and with a fork point before every cell
@pytest.fixture(scope="module")
def variants(batch):
    from mlcourse.grading.batch import Options, run
    from mlcourse.grading.sandbox import Limits

    limits = Limits(cell_timeout=3, total_timeout=60, memory_mb=2048, output_mb=5)
    out = {}
    for name, options in {"fresh": {"checkpoints": 0, "point_gap": None}, "points": {"point_gap": 0.0}}.items():
        # The same grader secret: the same hidden inputs, so the same messages.
        report = run(Options(paths=[batch.subs], out=batch.out.parent / f"out-{name}", jobs=2, limits=limits, progress=False,
                             secret_file=batch.out / "grader-secret.key", **options))
        out[name] = (batch.out.parent / f"out-{name}", {o.submission.learner: o.graded for o in report.outcomes})
    return out


def _shown(folder: Path, name: str) -> tuple:
    res = json.loads((folder / name / "99_demo" / "results.json").read_text())
    return res["score"], res["output"], [(t["name"], t["score"], t["status"], t["output"]) for t in res["tests"]]


@pytest.mark.parametrize("name", CASES)
def test_each_case_is_graded_the_same_with_and_without_checkpoints_and_fork_points(batch, variants, name):
    for folder, _ in variants.values():
        assert _shown(folder, name) == _shown(batch.out, name)


def test_the_hostile_cases_were_replayed_from_fork_points(variants):
    _, points = variants["points"]
    _, fresh = variants["fresh"]
    assert sum(g.resumes for g in points.values() if g) > 0
    assert all(g.resumes == 0 and g.shared_cells == 0 for g in fresh.values() if g)
