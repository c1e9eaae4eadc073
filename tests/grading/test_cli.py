"""``mlcourse grade`` and ``mlcourse gradebook`` as commands: exit status,
skipping, --force, outputs, and the grader's own failures."""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import signal
import xml.etree.ElementTree as ET

import pytest

from mlcourse import cli
from mlcourse.grading import results as res
from mlcourse.grading.batch import Progress, format_seconds
from mlcourse.grading.discover import load
from mlcourse.grading.sandbox import Limits, warn_once
from mlcourse.grading.verdict import Grader


def grade(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["grade", *argv])
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def small(tmp_path_factory, demo_lessons, make_submission, write_nb):
    root = tmp_path_factory.mktemp("small")
    write_nb(root / "subs" / "ann" / "99_demo.ipynb", make_submission())
    write_nb(root / "subs" / "bob.ipynb", make_submission(answers={}))
    status, out, _ = grade(str(root / "subs"), "--out", str(root / "out"), "--jobs", "2", "--timeout", "10", "--quiet")
    assert status == 0, out
    return root


def test_results_files_follow_gradescope_schema(small):
    data = json.loads((small / "out" / "ann" / "99_demo" / "results.json").read_text())
    assert data["score"] == 5 and isinstance(data["output"], str)
    for t in data["tests"]:
        assert set(t) >= {"name", "score", "max_score", "status", "output"}
        assert t["status"] in ("passed", "failed")
    bob = json.loads((small / "out" / "bob" / "99_demo" / "results.json").read_text())
    assert bob["score"] == 0 and all(t["status"] == "failed" for t in bob["tests"])
    feedback = (small / "out" / "bob" / "99_demo" / "feedback.md").read_text()
    assert "Score: 0 / 5" in feedback and "not attempted" in feedback and "demo.clean" in feedback


def test_force_grades_again_and_replaces_rows(small):
    import sqlite3

    db = small / "out" / "gradebook.db"
    before = sqlite3.connect(db).execute("SELECT count(*), max(graded_at) FROM grades").fetchone()
    ann = str(small / "subs" / "ann" / "99_demo.ipynb")  # a file: its learner is its folder's name
    status, out, _ = grade(ann, "--out", str(small / "out"), "--quiet")
    assert status == 0 and "0 graded, 1 already graded" in out
    status, out, _ = grade(ann, "--out", str(small / "out"), "--force", "--quiet")
    assert status == 0 and "1 graded, 0 already graded" in out
    after = sqlite3.connect(db).execute("SELECT count(*) FROM grades").fetchone()
    assert after[0] == before[0]  # replaced, not duplicated


def test_gradebook_export_latest_and_all(small, tmp_path):
    target = tmp_path / "g.csv"
    assert cli.main(["gradebook", str(small / "out"), "--csv", str(target)]) == 0
    lines = target.read_text().splitlines()
    assert lines[0].startswith("learner,lesson,exercise") and len(lines) == 1 + 6
    assert cli.main(["gradebook", str(small / "out"), "--csv", str(target), "--all"]) == 0


def test_the_grader_failing_to_run_is_exit_status_2(small, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    status, _, err = grade(str(small / "subs"), "--out", str(blocker / "out"))
    assert status == 2 and "cannot write to the output folder" in err
    status, _, err = grade(str(tmp_path / "missing"), "--out", str(tmp_path / "o"))
    assert status == 2 and "no such file or folder" in err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "gradebook.db").write_text("this is not a database" * 100)
    status, _, err = grade(str(small / "subs"), "--out", str(broken))
    assert status == 2 and "gradebook" in err
    assert cli.main(["gradebook", str(tmp_path / "nothing"), "--csv", str(tmp_path / "x.csv")]) == 2


def test_no_notebooks_is_not_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    status, out, _ = grade(str(tmp_path / "empty"), "--out", str(tmp_path / "o"))
    assert status == 0 and "no notebooks found" in out


def test_fallback_without_namespaces_warns_once_and_grades(zygote, demo_lessons, make_submission, write_nb, tmp_path, caplog):
    import mlcourse.grading.sandbox as sandbox

    sandbox._warned.discard("fallback")
    grader = Grader(zygote, Limits(cell_timeout=10), namespaces=False)
    subs = [load(write_nb(tmp_path / n / "99_demo.ipynb", make_submission()), n) for n in ("a", "b")]
    with caplog.at_level(logging.WARNING, logger="mlcourse.grading"):
        graded = [grader.grade(s) for s in subs]
    assert [g.score for g in graded] == [5, 5] and {g.isolation for g in graded} == {"fallback"}
    warnings = [r for r in caplog.records if "namespaces are not available" in r.getMessage()]
    assert len(warnings) == 1


def test_a_dead_fork_server_is_replaced(zygote, demo_lessons, make_submission, write_nb, tmp_path):
    grader = Grader(zygote, Limits(cell_timeout=10))
    sub = load(write_nb(tmp_path / "a" / "99_demo.ipynb", make_submission()), "a")
    os.kill(zygote.hello["pid"], signal.SIGKILL)
    assert grader.grade(sub).score == 5
    assert zygote.starts >= 2


def test_junit_xml_is_valid_even_with_control_characters():
    rec = res.Record("ann", "99_demo", "abc", 1.0, None, [
        {"exercise": "demo.x", "status": "failed", "message": "bad \x00\x1b[31m value", "score": 0, "max": 1},
        {"exercise": "demo.y", "status": "error", "message": "boom", "score": 0, "max": 1},
        {"exercise": "demo.z", "status": "passed", "message": "", "score": 1, "max": 1},
    ])
    root = ET.fromstring(res.junit_xml([rec]))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "1")


def test_progress_and_time_formatting():
    stream = io.StringIO()
    p = Progress(2, stream=stream)
    p.step("ann/01_data: 3/5")
    p.step("bob/01_data: 5/5")
    assert "[1/2] ann/01_data: 3/5" in stream.getvalue() and "[2/2]" in stream.getvalue()
    assert format_seconds(3.25) == "3.2s" and format_seconds(125) == "2m05s"
    warn_once("test-key", "once")  # no error, logged once


def test_a_crash_mid_batch_loses_nothing_already_graded(small, tmp_path, monkeypatch):
    import sqlite3

    from mlcourse.grading import batch

    real = batch.write_submission
    calls = []

    def crash_on_second(out, graded):
        calls.append(graded.learner)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the grading machine going down, say
        return real(out, graded)

    monkeypatch.setattr(batch, "write_submission", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        batch.run(batch.Options(paths=[small / "subs"], out=tmp_path / "out", jobs=1, progress=False, limits=Limits(cell_timeout=10)))
    db = sqlite3.connect(tmp_path / "out" / "gradebook.db")
    assert [r[0] for r in db.execute("SELECT DISTINCT learner FROM grades")] == calls[:1]
    monkeypatch.setattr(batch, "write_submission", real)
    report = batch.run(batch.Options(paths=[small / "subs"], out=tmp_path / "out", jobs=1, progress=False, limits=Limits(cell_timeout=10)))
    assert len(report.skipped) == 1 and len(report.graded) == 1  # picks up where it stopped


def test_a_submission_whose_results_cannot_be_saved_does_not_stop_the_batch(small, tmp_path, monkeypatch):
    from mlcourse.grading import batch

    real = batch.write_submission

    def fail_for_ann(out, graded):
        if graded.learner == "ann":
            raise OSError(28, "No space left on device")
        return real(out, graded)

    monkeypatch.setattr(batch, "write_submission", fail_for_ann)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        opts = batch.Options(paths=[small / "subs"], out=tmp_path / "out", jobs=1, progress=False, limits=Limits(cell_timeout=10))
        status = batch.main(opts)
    assert status == 1  # the instructor must notice
    assert "NOT SAVED: OSError: [Errno 28] No space left on device" in out.getvalue() and "1 NOT SAVED" in out.getvalue()
    assert (tmp_path / "out" / "bob" / "99_demo" / "results.json").is_file()
    assert not (tmp_path / "out" / "ann").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--checkpoints", "-1"], "--checkpoints must be 0 (none) or more"),
     (["--checkpoint-memory", "0"], "--checkpoint-memory must be positive")],
)
def test_bad_checkpoint_options_are_refused_with_what_to_give(tmp_path, argv, message):
    status, _, err = grade(str(tmp_path), "--out", str(tmp_path / "out"), *argv)
    assert status != 0 and message in err
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_checkpoint_options_reach_the_batch(tmp_path, monkeypatch):
    from mlcourse.grading import batch

    seen = []
    monkeypatch.setattr(batch, "main", lambda opts: seen.append(opts) or 0)
    assert grade(str(tmp_path), "--checkpoints", "0", "--checkpoint-memory", "256")[0] == 0
    assert grade(str(tmp_path))[0] == 0
    assert (seen[0].checkpoints, seen[0].checkpoint_mb) == (0, 256)
    assert (seen[1].checkpoints, seen[1].checkpoint_mb) == (batch.CHECKPOINTS, batch.CHECKPOINT_MB)
