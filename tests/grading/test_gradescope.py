"""The Gradescope bundle (``mlcourse gradescope-bundle``) and the LMS export
(``mlcourse gradebook --wide``).

The bundle is built for real (its wheel and all), unzipped into a fake
``/autograder`` tree, and its ``run_autograder`` is run there as Gradescope
would, with ``MLCOURSE_AUTOGRADER_ROOT`` pointing at the fake tree and this
environment's ``mlcourse`` on PATH. ``setup.sh`` is only read, never run: it
installs from PyPI.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mlcourse.grading import gradescope as gs

REPO = Path(__file__).resolve().parents[2]
LESSON = "06_interview_prep"  # the fastest lesson to grade
BIN = Path(sys.executable).parent



@pytest.fixture(scope="module")
def bundle(tmp_path_factory, cli_run) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    learners = out.parent / "learners"
    status, stdout, stderr = cli_run("gradescope-bundle", str(out), "--lessons", LESSON, "--learner-edition", str(learners))
    assert status == 0, stderr
    assert f"{LESSON} (22 points)" in stdout
    # The graded edition of the same lesson, for the cohort: no solutions, no answer key.
    assert "learners' graded edition" in stdout and (learners / "notebooks" / f"{LESSON}.ipynb").is_file()
    with zipfile.ZipFile(next(learners.glob("mlcourse-*+graded-*.whl"))) as whl:
        names = whl.namelist()
    assert f"mlcourse/_lessons/notebooks/{LESSON}.ipynb" in names and not [n for n in names if n.endswith("checks.py")]
    return out


def test_the_learner_edition_needs_public_tests_and_stops_the_bundle(tmp_path, cli_run, fingerprint_without_public_test):
    status, _, err = cli_run("gradescope-bundle", str(tmp_path / "a.zip"), "--lessons", "01_data",
                             "--learner-edition", str(tmp_path / "learners"))
    assert status == 2 and "mark no public test" in err and "data.fingerprint" in err
    assert not (tmp_path / "a.zip").exists()


def autograder_tree(base: Path, bundle: Path, submission: dict[str, bytes | Path]) -> Path:
    """A fake /autograder: source/ (the unzipped bundle), submission/, results/."""
    root = base / "autograder"
    for sub in ("source", "submission", "results"):
        (root / sub).mkdir(parents=True)
    with zipfile.ZipFile(bundle) as zf:
        for info in zf.infolist():
            target = root / "source" / info.filename
            target.write_bytes(zf.read(info))
            target.chmod((info.external_attr >> 16) & 0o777)
    for name, content in submission.items():
        target = root / "submission" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copy(content, target)
        else:
            target.write_bytes(content)
    return root


def run_bundle(root: Path) -> tuple[dict, str]:
    """Run the bundle's run_autograder as Gradescope does (cwd /autograder)."""
    assert (BIN / "mlcourse").exists(), "the test needs this environment's mlcourse command"
    env = dict(os.environ, MLCOURSE_AUTOGRADER_ROOT=str(root), PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run(
        [str(root / "source" / gs.RUNNER_NAME)], cwd=root, env=env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((root / "results" / "results.json").read_text()), proc.stdout


SUBMISSIONS = {
    "solution": {f"{LESSON}.ipynb": REPO / "solutions" / f"{LESSON}.ipynb"},
    "untouched": {f"{LESSON}.ipynb": REPO / "notebooks" / f"{LESSON}.ipynb"},
    "unreadable": {f"{LESSON}.ipynb": b"this is not JSON {"},
    "empty": {},
    "pdf only": {"my work.pdf": b"%PDF-1.4", ".ipynb_checkpoints/x-checkpoint.ipynb": b"{}"},
}


@pytest.fixture(scope="module")
def graded(bundle, tmp_path_factory) -> dict[str, tuple[dict, str]]:
    """Every submission above, each in its own fake /autograder, run at once."""
    roots = {
        name: autograder_tree(tmp_path_factory.mktemp(name.replace(" ", "-")), bundle, files)
        for name, files in SUBMISSIONS.items()
    }
    with ThreadPoolExecutor(max_workers=len(roots)) as pool:
        futures = {name: pool.submit(run_bundle, root) for name, root in roots.items()}
        return {name: f.result() for name, f in futures.items()}


def test_bundle_holds_setup_runner_wheel_and_config(bundle):
    with zipfile.ZipFile(bundle) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        wheel = next(n for n in infos if n.endswith(".whl"))
        assert wheel.startswith("mlcourse-")
        for script in (gs.SETUP_NAME, gs.RUNNER_NAME):
            assert (infos[script].external_attr >> 16) & 0o111, f"{script} is not executable"
        setup = zf.read(gs.SETUP_NAME).decode()
        runner = zf.read(gs.RUNNER_NAME).decode()
        config = json.loads(zf.read(gs.CONFIG_NAME))
        with zf.open(wheel) as fh, zipfile.ZipFile(io.BytesIO(fh.read())) as whl:
            names = set(whl.namelist())
    # The wheel carries the grader and the lesson's template: no repository needed.
    assert {"mlcourse/grading/batch.py", f"mlcourse/_lessons/notebooks/{LESSON}.ipynb"} <= names
    # setup.sh installs the bundled wheel (its dependencies come from PyPI), nothing from our repository.
    assert f'wheel="$source_dir/{wheel}"' in setup
    assert '-m pip install -c "$source_dir/constraints.txt" "$wheel"' in setup
    assert "MLCOURSE_AUTOGRADER_ROOT:-/autograder" in setup and "-m venv" in setup
    assert "git+" not in setup and " -e " not in setup and str(REPO) not in setup
    assert f'for lesson in {LESSON}; do' in setup  # the self-check grades the bundled solution
    subprocess.run(["bash", "-n", "-c", setup], check=True)
    # run_autograder is this package's module, a Python script on its own.
    assert runner.startswith("#!/usr/bin/env python3\n")
    compile(runner, gs.RUNNER_NAME, "exec")
    assert config["lessons"] == [LESSON] and config["points"] == {LESSON: 22}


def test_solution_gets_full_marks(graded):
    results, stdout = graded["solution"]
    assert results["score"] == 22 == sum(t["max_score"] for t in results["tests"])
    assert {t["status"] for t in results["tests"]} == {"passed"} and len(results["tests"]) == 10
    for t in results["tests"]:
        assert {"name", "score", "max_score", "status", "output"} <= set(t)
    assert "22/22 points" in results["output"] and results["execution_time"] > 0
    assert "mlcourse grade" in stdout  # the same grader, as a command


def test_untouched_notebook_is_zero_and_not_attempted(graded):
    results, _ = graded["untouched"]
    assert results["score"] == 0 and sum(t["max_score"] for t in results["tests"]) == 22
    assert all(t["output"].startswith("Not attempted: ") for t in results["tests"]), results["tests"]
    assert {t["extra_data"]["status"] for t in results["tests"]} == {"not attempted"}


def test_empty_submission_says_what_to_upload(graded):
    results, _ = graded["empty"]
    assert results["score"] == 0
    assert "Your submission is empty" in results["output"] and f"{LESSON}.ipynb" in results["output"]
    # Every exercise is listed at 0, so the total stays the assignment's.
    assert sum(t["max_score"] for t in results["tests"]) == 22


def test_unreadable_notebook_scores_zero_with_the_reason(graded):
    results, _ = graded["unreadable"]
    assert results["score"] == 0
    assert "could not be graded" in results["output"] and "JSON" in results["output"]
    assert f"Upload your notebook {LESSON}.ipynb" in results["output"]
    assert sum(t["max_score"] for t in results["tests"]) == 22


def test_other_files_only_are_named(graded):
    results, _ = graded["pdf only"]
    assert results["score"] == 0
    assert "no Jupyter notebook" in results["output"] and "my work.pdf" in results["output"]
    assert "checkpoint" not in results["output"]


# ----------------------------------------------------------------------------
# Merging the grader's results (no grading needed)
# ----------------------------------------------------------------------------
def fake_results(lesson: str, scores: dict[str, float]) -> dict:
    return {
        "score": sum(scores.values()),
        "output": f"{lesson}: {sum(scores.values()):g} points",
        "tests": [
            {"name": ex, "score": s, "max_score": 2, "status": "passed" if s == 2 else "failed", "output": "",
             "extra_data": {"exercise": ex, "status": "passed" if s == 2 else "failed"}}
            for ex, s in scores.items()
        ],
        "extra_data": {"lesson": lesson, "grader_version": "mlcourse test"},
    }


CONFIG = {
    "lessons": ["06_interview_prep"],
    "exercises": {"06_interview_prep": [{"id": "i.a", "title": "A", "points": 2}, {"id": "i.b", "title": "B", "points": 2}]},
}


def test_merge_counts_the_better_of_two_notebooks_and_names_other_lessons():
    merged = gs.merge(
        [
            ("first.ipynb", fake_results("06_interview_prep", {"i.a": 2, "i.b": 0})),
            ("second.ipynb", fake_results("06_interview_prep", {"i.a": 2, "i.b": 2})),
            ("data.ipynb", fake_results("01_data", {"d.a": 2})),
        ],
        CONFIG,
    )
    assert merged["score"] == 4 and merged["extra_data"]["counted"] == ["second.ipynb"]
    assert "the best one, second.ipynb, counts" in merged["output"]
    assert "data.ipynb is lesson 01_data, which this assignment does not grade" in merged["output"]


def test_merge_of_a_missing_lesson_keeps_the_total():
    merged = gs.merge([("data.ipynb", fake_results("01_data", {"d.a": 2}))], CONFIG)
    assert merged["score"] == 0 and sum(t["max_score"] for t in merged["tests"]) == 4
    assert "no notebook of lesson 06_interview_prep" in merged["output"]
    assert "Upload your notebook 06_interview_prep.ipynb" in merged["output"]


def test_without_lessons_any_lesson_counts():
    merged = gs.merge(
        [("a.ipynb", fake_results("01_data", {"d.a": 2})), ("b.ipynb", fake_results("02_train", {"t.a": 1}))],
        {"lessons": None},
    )
    assert merged["score"] == 3 and merged["extra_data"]["counted"] == ["a.ipynb", "b.ipynb"]


def test_a_grader_that_cannot_run_still_writes_results(tmp_path, monkeypatch):
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    shutil.copy(REPO / "notebooks" / f"{LESSON}.ipynb", root / "submission")
    monkeypatch.setenv("PATH", str(tmp_path))  # no mlcourse command anywhere
    results = gs.run_autograder(root, config=CONFIG)
    assert results["score"] == 0 and "not your fault" in results["output"]
    assert json.loads((root / "results" / "results.json").read_text())["score"] == 0


def test_a_grader_that_hangs_is_stopped_in_time_with_its_children(tmp_path):
    fake = tmp_path / "mlcourse"
    marker = f"sleep 307 # {tmp_path.name}"
    fake.write_text(f"#!/bin/sh\n{marker} &\n{marker}\n")
    fake.chmod(0o755)
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    shutil.copy(REPO / "notebooks" / f"{LESSON}.ipynb", root / "submission")
    results = gs.run_autograder(root, config=dict(CONFIG, time_limit=1), mlcourse=str(fake))
    assert results["score"] == 0 and "took longer than 1 s" in results["output"]
    left = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "sleep 307" not in left


def test_bundle_command_errors_are_one_line(tmp_path, cli_run):
    status, _, err = cli_run("gradescope-bundle", str(tmp_path))
    assert status == 2 and "is a folder" in err and len(err.strip().splitlines()) == 1
    status, _, err = cli_run("gradescope-bundle", str(tmp_path / "a.zip"), "--lessons", "99_nope")
    assert status == 2 and "unknown or unreleased lesson '99_nope'" in err
    status, _, err = cli_run("gradescope-bundle", str(tmp_path / "a.zip"), "--wheel", str(tmp_path / "x.whl"))
    assert status == 2 and "not an mlcourse wheel" in err
    blocker = tmp_path / "file"
    blocker.write_text("")
    status, _, err = cli_run("gradescope-bundle", str(blocker / "a.zip"), "--lessons", LESSON)
    assert status == 2 and "cannot write" in err


# ----------------------------------------------------------------------------
# mlcourse gradebook --wide: one row per learner, for an LMS
# ----------------------------------------------------------------------------
@pytest.fixture
def gradebook_dir(tmp_path) -> Path:
    from mlcourse.grading.results import Gradebook

    book = Gradebook(tmp_path / "gradebook.db")
    book.close()
    db = sqlite3.connect(tmp_path / "gradebook.db")
    subs = [  # learner, lesson, sha, graded_at, {exercise: score}
        ("ann", "01_data", "a1", "2026-01-01T10:00:00", {"data.b": 1.0, "data.a": 2.0}),
        ("ann", "01_data", "a2", "2026-01-02T10:00:00", {"data.b": 3.0, "data.a": 2.0}),  # her latest
        ("ann", "06_interview_prep", "a3", "2026-01-02T11:00:00", {"interview.x": 4.0}),
        ("bob", "01_data", "b1", "2026-01-01T09:00:00", {"data.b": 0.0, "data.a": 0.5}),
        ("cy", "garbage", "c1", "2026-01-01T09:00:00", {"(notebook)": 0.0}),  # not a notebook at all
    ]
    with db:
        for learner, lesson, sha, at, scores in subs:
            db.execute(
                "INSERT INTO submissions VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (learner, lesson, sha, "v1", f"{learner}.ipynb", sum(scores.values()), 9.0, None, "[]", 1.0, "none", at),
            )
            for ex, score in scores.items():
                db.execute(
                    "INSERT INTO grades VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (learner, lesson, ex, ex, score, 4.0, "passed", "", sha, at, "v1"),
                )
    db.close()
    return tmp_path


def test_gradebook_wide_is_one_row_per_learner(gradebook_dir, tmp_path, cli_run):
    target = tmp_path / "wide.csv"
    status, out, err = cli_run("gradebook", str(gradebook_dir), "--csv", str(target), "--wide")
    assert status == 0, err
    assert "wrote 3 row(s)" in out
    with open(target, newline="") as fh:
        reader = csv.DictReader(fh)
        rows = {r["learner"]: r for r in reader}
        columns = reader.fieldnames
    assert columns == ["learner", "01_data", "data.b", "data.a", "06_interview_prep", "interview.x", "total"]
    assert rows["ann"] == {"learner": "ann", "01_data": "5", "data.b": "3", "data.a": "2",
                           "06_interview_prep": "4", "interview.x": "4", "total": "9"}
    # Not submitted is empty, not 0.
    assert rows["bob"]["06_interview_prep"] == "" and rows["bob"]["01_data"] == "0.5" and rows["bob"]["total"] == "0.5"
    assert rows["cy"]["total"] == "0" and rows["cy"]["01_data"] == ""


def test_gradebook_wide_and_all_do_not_mix(gradebook_dir, tmp_path, cli_run):
    status, _, err = cli_run("gradebook", str(gradebook_dir), "--csv", str(tmp_path / "w.csv"), "--wide", "--all")
    assert status == 2 and "cannot be combined with --all" in err
