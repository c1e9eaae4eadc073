"""The progress file: a corrupted one is set aside and reported, a reset keeps a backup."""
from __future__ import annotations

import json
import subprocess
import sys
import warnings
from types import SimpleNamespace

import pytest

from mlcourse.exercises import store
from mlcourse.paths import progress_file


def result(exercise: str, status: str = "passed", score: float = 1.0) -> SimpleNamespace:
    return SimpleNamespace(exercise=exercise, status=status, score=score, points=1.0)


def test_a_corrupted_progress_file_is_set_aside_and_reported_never_overwritten():
    path = progress_file()
    path.write_text('{"data.a": {"status": "passed"')  # cut short
    with pytest.warns(UserWarning) as caught:
        store.record(result("data.b"))
    (aside,) = path.parent.glob("progress.unreadable-*.json")
    assert aside.read_text() == '{"data.a": {"status": "passed"'  # the learner's data, intact
    message = str(caught[0].message)
    assert str(path) in message and str(aside) in message and "could not be read" in message
    # The new file holds the new result only, and reading it warns no more.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list(store.load()) == ["data.b"]


def test_a_file_that_is_not_an_object_is_set_aside_too():
    path = progress_file()
    path.write_text("[1, 2]")
    with pytest.warns(UserWarning, match="not a JSON object"):
        assert store.load() == {}
    assert len(list(path.parent.glob("progress.unreadable-*.json"))) == 1
    assert not path.exists()


def test_two_corrupted_files_in_the_same_second_both_survive():
    path = progress_file()
    for text in ("first {", "second {"):
        path.write_text(text)
        with pytest.warns(UserWarning):
            store.load()
    kept = sorted(p.read_text() for p in path.parent.glob("progress.unreadable-*.json"))
    assert kept == ["first {", "second {"]


def test_a_file_that_cannot_be_moved_aside_is_not_saved_over(monkeypatch):
    path = progress_file()
    path.write_text("broken {")

    def refuse(src, dst):  # as in a folder the learner may not write
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(store.os, "rename", refuse)
    with pytest.warns(UserWarning, match="nor move it aside"):
        store.record(result("data.b"))
    assert path.read_text() == "broken {"
    with pytest.raises(OSError), pytest.warns(UserWarning):
        store.reset()
    assert path.read_text() == "broken {"


def test_reset_clears_what_is_chosen_and_keeps_a_backup():
    for ex in ("data.a", "data.b", "train.c"):
        store.record(result(ex))
    before = progress_file().read_text()
    cleared, backup = store.reset(lambda ex: ex.startswith("data."))
    assert cleared == ["data.a", "data.b"]
    assert list(store.load()) == ["train.c"]
    assert backup.read_text() == before and backup.name.startswith("progress.before-reset-")
    assert store.reset(lambda ex: ex.startswith("data.")) == ([], None)
    cleared, _ = store.reset()
    assert cleared == ["train.c"] and store.load() == {}


def mlcourse(*args: str) -> subprocess.CompletedProcess:
    # Stdin is closed: a reset never waits for an answer.
    return subprocess.run([sys.executable, "-m", "mlcourse", *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)


def test_progress_reset_command_says_what_it_reset(isolated_home):
    from mlcourse.exercises import exercises_of

    data_ids = [ex.id for ex in exercises_of("01_data")][:2]
    train_id = exercises_of("02_train")[0].id
    for ex in [*data_ids, train_id]:
        store.record(result(ex))
    proc = mlcourse("progress", "--reset", "01_data")
    assert proc.returncode == 0, proc.stderr
    assert f"Reset the progress of 01_data: 2 exercise(s) cleared ({', '.join(sorted(data_ids))})" in proc.stdout
    assert "kept in" in proc.stdout and str(isolated_home) in proc.stdout
    assert list(json.loads(progress_file().read_text())) == [train_id]

    proc = mlcourse("progress", "--reset", "01_data")
    assert proc.returncode == 0 and "Nothing to reset: no progress recorded for 01_data." in proc.stdout
    proc = mlcourse("progress", "--reset")
    assert proc.returncode == 0 and f"Reset the progress of all lessons: 1 exercise(s) cleared ({train_id})" in proc.stdout
    bad = mlcourse("progress", "--reset", "99_nope")
    assert bad.returncode == 2 and "unknown lesson '99_nope'" in bad.stderr and "01_data" in bad.stderr


def test_progress_command_reports_a_corrupted_file(isolated_home):
    progress_file().write_text("not json")
    proc = mlcourse("progress", "01_data")
    assert proc.returncode == 0
    assert "set aside as" in proc.stderr and "progress.unreadable-" in proc.stderr
    assert "Progress in 01_data" in proc.stdout


def test_a_check_that_judged_nothing_never_replaces_a_judged_result():
    store.record(result("data.keep", "failed", 0.5))
    store.record(result("data.keep", "not attempted", 0.0))  # a fresh copy of the lesson, Run All
    assert (store.load()["data.keep"]["status"], store.load()["data.keep"]["score"]) == ("failed", 0.5)
    store.record(result("data.keep", "passed", 1.0))
    assert store.load()["data.keep"]["status"] == "passed"
    store.record(result("data.new", "not attempted", 0.0))
    assert store.load()["data.new"]["status"] == "not attempted"
