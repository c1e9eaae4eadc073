"""Who submitted what: learner ids, what discovery reads and what it refuses
(issue 11, classes 2 and 4), without running anything."""
from __future__ import annotations

import os
import threading

import pytest

from mlcourse.grading import discover, text
from mlcourse.grading.results import OWN_FILES, submission_dir


def _ids(root):
    return {str(p.relative_to(root)): learner for p, learner in discover.find_notebooks([root])}


def test_ids_are_the_folder_path_relative_to_the_named_root(tmp_path, write_nb, make_submission):
    nb = make_submission()
    write_nb(tmp_path / "alice" / "x.ipynb", nb)
    write_nb(tmp_path / "zed" / "alice" / "x.ipynb", nb)
    write_nb(tmp_path / "Zoë" / "x.ipynb", nb)
    write_nb(tmp_path / "Zoé" / "x.ipynb", nb)
    ids = _ids(tmp_path)
    assert ids["alice/x.ipynb"] == "alice" and ids["zed/alice/x.ipynb"] == "zed/alice"
    assert ids["Zoë/x.ipynb"] == "Zoë" and ids["Zoé/x.ipynb"] == "Zoé"
    assert len(set(ids.values())) == 4


def test_folder_names_are_reversible_distinct_and_never_the_graders_own():
    tricky = ["alice", "zed/alice", "zed%2Falice", "Zoë", "Zoé", "..", ".", ".hidden", "gradebook.db", "a b", "🙂", "x" * 60]
    names = [text.folder_name(t) for t in tricky]
    assert len(set(names)) == len(tricky)
    assert all(text.from_folder_name(n) == t for n, t in zip(names, tricky))
    assert all("." not in n and "/" not in n for n in names)
    # every file the grader writes in OUT holds a dot, which no learner's folder does
    assert all("." in own for own in OWN_FILES)
    assert submission_dir(__import__("pathlib").Path("out"), "gradebook.db", "99_demo").parts == ("out", "gradebook%2Edb", "99_demo")


def test_two_notebooks_of_one_learner_and_lesson_are_both_refused(tmp_path, write_nb, make_submission, demo_lessons):
    write_nb(tmp_path / "ann" / "first.ipynb", make_submission())
    write_nb(tmp_path / "ann" / "second.ipynb", make_submission(answers={}))
    write_nb(tmp_path / "bob" / "first.ipynb", make_submission())
    subs = {s.path.name + s.learner: s for s in discover.discover([tmp_path])}
    assert subs["first.ipynbann"].refused and subs["second.ipynbann"].refused
    assert "first.ipynb" in subs["first.ipynbann"].refused and "second.ipynb" in subs["first.ipynbann"].refused
    assert subs["first.ipynbbob"].refused is None and subs["first.ipynbbob"].notebook is not None


def test_symlinked_notebooks_earn_nothing(tmp_path, write_nb, make_submission, demo_lessons):
    real = write_nb(tmp_path / "subs" / "bob" / "99_demo.ipynb", make_submission())
    (tmp_path / "subs" / "eve").mkdir()
    (tmp_path / "subs" / "eve" / "99_demo.ipynb").symlink_to(real)
    (tmp_path / "subs" / "mal").mkdir()
    (tmp_path / "subs" / "mal" / "99_demo.ipynb").symlink_to("/dev/zero")
    # a linked folder is not entered at all
    (tmp_path / "subs" / "copy").symlink_to(tmp_path / "subs" / "bob")
    subs = {s.learner: s for s in discover.discover([tmp_path / "subs"])}
    assert set(subs) == {"bob", "eve", "mal"}
    for name in ("eve", "mal"):
        assert subs[name].notebook is None and "symbolic link" in subs[name].error and subs[name].sha256 == ""
    assert subs["bob"].notebook is not None
    # named on the command line, a link is refused the same way
    [named] = discover.discover([tmp_path / "subs" / "eve" / "99_demo.ipynb"])
    assert "symbolic link" in named.error


def test_a_fifo_never_blocks_discovery(tmp_path, write_nb, make_submission, demo_lessons):
    (tmp_path / "ann").mkdir()
    os.mkfifo(tmp_path / "ann" / "99_demo.ipynb")
    write_nb(tmp_path / "bob" / "99_demo.ipynb", make_submission())
    found = []
    t = threading.Thread(target=lambda: found.extend(discover.discover([tmp_path])), daemon=True)
    t.start()
    t.join(timeout=20)
    if t.is_alive():  # unblock the reader so the test process can end
        fd = os.open(tmp_path / "ann" / "99_demo.ipynb", os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail("discovery blocked on a FIFO")
    subs = {s.learner: s for s in found}
    assert "not a regular file" in subs["ann"].error and subs["bob"].notebook is not None


def test_ids_that_are_not_text_are_refused_with_a_reason(tmp_path, write_nb, make_submission, demo_lessons):
    nb = make_submission()
    write_nb(tmp_path / os.fsdecode(b"bad\xffname") / "x.ipynb", nb)
    write_nb(tmp_path / "two\nlines" / "x.ipynb", nb)
    write_nb(tmp_path / "fine" / "x.ipynb", nb)
    subs = {s.path.parent.name: s for s in discover.discover([tmp_path])}
    assert "not valid UTF-8" in subs[os.fsdecode(b"bad\xffname")].refused
    assert "control character" in subs["two\nlines"].refused
    assert subs["fine"].refused is None


def test_reads_are_capped_while_reading_too(tmp_path, monkeypatch):
    path = tmp_path / "x.ipynb"
    path.write_bytes(b"{" + b" " * 100)
    with pytest.raises(OSError, match="not graded"):
        discover.read_capped(path, limit=50)
    assert discover.read_capped(path, limit=200) == path.read_bytes()


def test_a_bug_reading_one_file_costs_that_file_only(tmp_path, write_nb, make_submission, demo_lessons, monkeypatch):
    write_nb(tmp_path / "ann" / "x.ipynb", make_submission())
    write_nb(tmp_path / "bob" / "x.ipynb", make_submission())
    real = discover.load

    def flaky(path, learner):
        if learner == "ann":
            raise KeyError("a bug")
        return real(path, learner)

    monkeypatch.setattr(discover, "load", flaky)
    subs = {s.learner: s for s in discover.discover([tmp_path])}
    assert "could not read this file (KeyError)" in subs["ann"].error and subs["bob"].notebook is not None
