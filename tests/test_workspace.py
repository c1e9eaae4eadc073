"""`mlcourse start`, step 1: the learner's own copy, never overwriting her work."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from mlcourse import workspace
from mlcourse.errors import CLIError
from mlcourse.paths import lessons_dir
from mlcourse.workspace import MANIFEST, fresh_copy, next_lesson, populate, resolve_lesson, sync

LESSONS = sorted(p.stem for p in lessons_dir("notebooks").glob("*.ipynb"))


def mlcourse(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mlcourse", *args], capture_output=True, text=True, **kw)


@pytest.fixture
def course(tmp_path, monkeypatch) -> Path:
    """A copy of the course's templates that a test can 'update'."""
    folder = tmp_path / "course"
    shutil.copytree(lessons_dir("notebooks"), folder)
    monkeypatch.setattr(workspace, "lessons_dir", lambda kind="notebooks": folder)
    return folder


def update(template: Path, text: str = "new cell") -> None:
    nb = json.loads(template.read_text())
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": [text]})
    template.write_text(json.dumps(nb))


def test_populate_copies_every_learner_notebook(tmp_path):
    copied, kept = populate(tmp_path / "work")
    assert sorted(p.stem for p in copied) == LESSONS and kept == []


def test_populate_never_overwrites_the_learners_file(tmp_path):
    work = tmp_path / "work"
    populate(work)
    mine = sorted(work.glob("*.ipynb"))[0]
    mine.write_text("my answers")
    copied, kept = populate(work)
    assert copied == [] and mine in kept
    assert mine.read_text() == "my answers"


def test_manifest_records_the_sha256_of_each_copy(tmp_path):
    import hashlib

    work = tmp_path / "work"
    sync(work)
    files = json.loads((work / MANIFEST).read_text())["files"]
    assert sorted(files) == [f"{lesson}.ipynb" for lesson in LESSONS]
    for name, entry in files.items():
        assert entry["sha256"] == hashlib.sha256((work / name).read_bytes()).hexdigest()


def test_a_course_update_adds_new_lessons_refreshes_untouched_ones_and_names_changed_ones(course, tmp_path):
    work = tmp_path / "work"
    sync(work)
    mine = work / "01_data.ipynb"
    update(mine, "my note")
    my_text = mine.read_text()
    update(course / "01_data.ipynb")  # changed upstream, and by the learner
    update(course / "02_train.ipynb")  # changed upstream, untouched by the learner
    shutil.copy(course / "06_interview_prep.ipynb", course / "07_new_lesson.ipynb")

    result = sync(work)
    assert [p.name for p in result.added] == ["07_new_lesson.ipynb"]
    assert [p.name for p in result.refreshed] == ["02_train.ipynb"]
    assert [p.name for p in result.changed_upstream] == ["01_data.ipynb"]
    assert mine.read_text() == my_text  # never overwritten
    assert (work / "02_train.ipynb").read_bytes() == (course / "02_train.ipynb").read_bytes()

    # Said once; the next start is quiet about the same update, but names a newer one.
    assert sync(work).changed_upstream == []
    update(course / "01_data.ipynb", "another change")
    assert [p.name for p in sync(work).changed_upstream] == ["01_data.ipynb"]
    assert mine.read_text() == my_text


def test_the_learners_edits_alone_are_not_reported_as_course_changes(course, tmp_path):
    work = tmp_path / "work"
    sync(work)
    (work / "03_deploy.ipynb").write_text("{}")
    result = sync(work)
    assert result.changed_upstream == [] and result.refreshed == []
    assert (work / "03_deploy.ipynb").read_text() == "{}"


def test_a_workspace_without_manifest_or_with_a_broken_one_keeps_every_file(course, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "01_data.ipynb").write_text("older work")
    update(course / "01_data.ipynb")
    result = sync(work)
    assert (work / "01_data.ipynb").read_text() == "older work"
    assert [p.name for p in result.kept] == ["01_data.ipynb"]
    (work / MANIFEST).write_text("{not json")
    update(course / "01_data.ipynb", "again")
    result = sync(work)
    assert (work / "01_data.ipynb").read_text() == "older work"
    assert json.loads((work / MANIFEST).read_text())["format"] == 1  # rebuilt


def test_a_deleted_lesson_comes_back(tmp_path):
    work = tmp_path / "work"
    sync(work)
    (work / "04_monitor.ipynb").unlink()
    assert [p.name for p in sync(work).added] == ["04_monitor.ipynb"]


def test_fresh_copy_goes_beside_the_learners_never_over_it(tmp_path):
    work = tmp_path / "work"
    sync(work)
    (work / "01_data.ipynb").write_text("broken")
    day = date(2026, 12, 4)
    first = fresh_copy(work, "01_data", day)
    second = fresh_copy(work, "01", day)
    assert first.name == "01_data (fresh 2026-12-04).ipynb"
    assert second.name == "01_data (fresh 2026-12-04 2).ipynb"
    assert first.read_bytes() == second.read_bytes() == (lessons_dir("notebooks") / "01_data.ipynb").read_bytes()
    assert (work / "01_data.ipynb").read_text() == "broken"


@pytest.mark.parametrize("name", ["01_data", "01_data.ipynb", "01", "1", "data"])
def test_resolve_lesson_accepts_the_usual_spellings(name):
    assert resolve_lesson(name) == "01_data"


def test_an_unknown_lesson_lists_the_lessons():
    with pytest.raises(CLIError) as err:
        resolve_lesson("99_nope")
    for lesson in LESSONS:
        assert lesson in str(err.value)


def test_start_fresh_with_an_unknown_lesson_lists_the_lessons_and_writes_nothing(tmp_path):
    proc = mlcourse("start", "--dir", str(tmp_path / "w"), "--no-launch", "--fresh", "99_nope")
    assert proc.returncode == 2 and "unknown lesson '99_nope'" in proc.stderr
    assert all(lesson in proc.stderr for lesson in LESSONS)
    assert not (tmp_path / "w").exists()


def test_start_fresh_reports_the_copy_and_keeps_the_learners(tmp_path):
    work = tmp_path / "w"
    mlcourse("start", "--dir", str(work), "--no-launch", check=True)
    (work / "02_train.ipynb").write_text("mine")
    proc = mlcourse("start", "--dir", str(work), "--no-launch", "--fresh", "02_train")
    assert proc.returncode == 0, proc.stderr
    (copy,) = work.glob("02_train (fresh *).ipynb")
    assert f"a fresh copy of 02_train: {copy.name}" in proc.stdout
    assert (work / "02_train.ipynb").read_text() == "mine"


def test_next_lesson_is_the_first_not_finished(tmp_path, isolated_home):
    from mlcourse.exercises import exercises_of

    work = tmp_path / "work"
    sync(work)
    assert next_lesson(work).name == "00_lifecycle_overview.ipynb"
    isolated_home.mkdir(parents=True, exist_ok=True)
    passed = {ex.id: {"status": "passed", "score": ex.points} for ex in exercises_of("00_lifecycle_overview")}
    (isolated_home / "progress.json").write_text(json.dumps(passed))
    assert next_lesson(work).name == "01_data.ipynb"
    # One exercise failed after passing: the lesson is not finished.
    first = next(iter(passed))
    passed[first]["status"] = "failed"
    (isolated_home / "progress.json").write_text(json.dumps(passed))
    assert next_lesson(work).name == "00_lifecycle_overview.ipynb"


def test_start_without_launch_reports_and_exits_zero(tmp_path):
    proc = mlcourse("start", "--dir", str(tmp_path / "w"), "--no-launch")
    assert proc.returncode == 0, proc.stderr
    assert "Your workspace" in proc.stdout and "added 01_data.ipynb" in proc.stdout


def test_start_on_a_file_is_a_one_line_error(tmp_path):
    target = tmp_path / "afile"
    target.write_text("x")
    proc = mlcourse("start", "--dir", str(target), "--no-launch")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "is a file" in proc.stderr
    assert "Traceback" not in proc.stderr
