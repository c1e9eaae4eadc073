"""Discovery and rebuild: which cells run, without running anything."""
from __future__ import annotations

import copy
import json

import pytest

from mlcourse.grading import discover
from mlcourse.grading.rebuild import ADDED, ANSWER, STUB, TEMPLATE, defined_names, rebuild


@pytest.fixture
def exercises(demo_lessons):
    from mlcourse.exercises import exercises_of

    return exercises_of("99_demo")


def _sources(plan, origin=None):
    return [c.source for c in plan.cells if origin is None or c.origin == origin]


def _answer_cells(nb):
    return [c for c in nb["cells"] if c.get("metadata", {}).get("mlcourse", {}).get("exercise")]


# -- discovery ---------------------------------------------------------------
def test_learner_ids_come_from_folders_and_stems(tmp_path, write_nb, make_submission):
    nb = make_submission()
    write_nb(tmp_path / "subs" / "ann" / "anything.ipynb", nb)
    write_nb(tmp_path / "subs" / "bob.ipynb", nb)
    write_nb(tmp_path / "subs" / "cy" / "week1" / "x.ipynb", nb)
    write_nb(tmp_path / "subs" / "ann" / ".ipynb_checkpoints" / "anything-checkpoint.ipynb", nb)
    found = {p.name: learner for p, learner in discover.find_notebooks([tmp_path / "subs"])}
    # The path relative to the folder named: cy/week1/x.ipynb is not "week1".
    assert found == {"anything.ipynb": "ann", "bob.ipynb": "bob", "x.ipynb": "cy/week1"}
    # A file named on the command line: the folder holding it.
    [(path, learner)] = discover.find_notebooks([tmp_path / "subs" / "ann" / "anything.ipynb"])
    assert learner == "ann"


def test_lesson_comes_from_metadata_not_file_name(tmp_path, write_nb, make_submission):
    sub = discover.load(write_nb(tmp_path / "ann" / "02_train.ipynb", make_submission()), "ann")
    assert sub.error is None and sub.lesson == "99_demo" and len(sub.sha256) == 64


def test_lesson_is_inferred_when_metadata_is_gone(tmp_path, write_nb, make_submission):
    nb = make_submission()
    nb["metadata"] = {}
    for c in nb["cells"]:
        c["metadata"] = {}
    sub = discover.load(write_nb(tmp_path / "ann" / "x.ipynb", nb), "ann")
    assert sub.lesson == "99_demo" and "metadata was missing" in sub.note


@pytest.mark.parametrize(
    "content, expected",
    [
        ("this is not json", "not valid JSON"),
        ('{"hello": 1}', "not a Jupyter notebook"),
        (json.dumps({"nbformat": 3, "worksheets": [{"cells": []}], "metadata": {}}), "nbformat 3"),
        ("", "empty"),
        (b"\xff\xfe\x00garbage", "not a text file"),
        ("[" * 100_000 + "]" * 100_000, "cannot be parsed"),
        (json.dumps({"nbformat": 4, "cells": [], "metadata": {"mlcourse": {"lesson": "no_such"}}}), "cannot tell which lesson"),
    ],
    ids=["not-json", "json-not-notebook", "nbformat3", "empty", "binary", "deep-json", "unknown-lesson"],
)
def test_broken_files_are_submissions_with_a_reason(tmp_path, write_nb, demo_lessons, content, expected):
    sub = discover.load(write_nb(tmp_path / "ann" / "01_data.ipynb", content), "ann")
    assert sub.notebook is None and expected in sub.error
    assert sub.lesson == "01_data"  # names its results; never a crash


def test_oversized_file_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(discover, "MAX_BYTES", 10)
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps({"cells": []}) + " " * 20)
    assert "not graded" in discover.load(path, "x").error


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        discover.find_notebooks([tmp_path / "nope"])


# -- rebuild -------------------------------------------------------------------
def test_untouched_notebook_rebuilds_to_the_template_without_check_cells(demo_template, exercises):
    plan = rebuild(demo_template, copy.deepcopy(demo_template), exercises)
    assert not plan.missing and not plan.notes
    assert [c.origin for c in plan.cells] == [TEMPLATE, ANSWER, ANSWER, ANSWER, TEMPLATE]
    assert not any(".check()" in s for s in _sources(plan))


def test_edited_setup_and_check_cells_have_no_effect(demo_template, exercises, make_submission):
    def edit(nb):
        nb["cells"][1]["source"] = "import numpy as np\nnp.allclose = lambda *a, **k: True"
        for c in nb["cells"]:
            if c["metadata"].get("mlcourse", {}).get("check"):
                c["source"] = "double = lambda x: 2 * x\nprint('✅ passed')"

    plan = rebuild(demo_template, make_submission(edit=edit), exercises)
    text = "\n".join(_sources(plan))
    assert "np.allclose" not in text and "✅" not in text
    assert any("edited" in n for n in plan.notes)


def test_answer_found_by_prompt_when_metadata_is_stripped(demo_template, exercises, make_submission):
    nb = make_submission(edit=lambda nb: [c.update(metadata={}, id=f"new-{i}") for i, c in enumerate(nb["cells"])])
    plan = rebuild(demo_template, nb, exercises)
    assert not plan.missing
    assert sorted(e for c in plan.cells if c.origin == ANSWER for e in c.exercises) == ["demo.clean", "demo.double", "demo.total"]
    assert any("'# Exercise' line" in n for n in plan.notes)


def test_answer_found_by_defined_name_without_metadata_or_prompt(demo_template, exercises, answers, make_submission):
    def edit(nb):
        for c in _answer_cells(nb):
            c["metadata"] = {}
            c["id"] = "renamed-" + c["id"]
            c["source"] = "\n".join(line for line in c["source"].splitlines() if not line.startswith("#"))

    plan = rebuild(demo_template, make_submission(edit=edit), exercises)
    assert not plan.missing
    assert {c.exercises[0] for c in plan.cells if c.origin == ANSWER} == {"demo.double", "demo.total", "demo.clean"}
    assert any("defines `total`" in n for n in plan.notes)


def test_deleted_answer_cell_is_missing_and_replaced_by_the_stub(demo_template, exercises, make_submission):
    nb = make_submission(edit=lambda nb: nb["cells"].remove(_answer_cells(nb)[2]))
    plan = rebuild(demo_template, nb, exercises)
    assert list(plan.missing) == ["demo.clean"] and "no answer cell" in plan.missing["demo.clean"]
    assert [c.exercises for c in plan.cells if c.origin == STUB] == [("demo.clean",)]


def test_reordered_answer_cells_run_in_lesson_order(demo_template, exercises, make_submission):
    def edit(nb):
        cells = _answer_cells(nb)
        i, j = nb["cells"].index(cells[0]), nb["cells"].index(cells[2])
        nb["cells"][i], nb["cells"][j] = nb["cells"][j], nb["cells"][i]

    plan = rebuild(demo_template, make_submission(edit=edit), exercises)
    assert [c.exercises[0] for c in plan.cells if c.origin == ANSWER] == ["demo.double", "demo.total", "demo.clean"]


def test_duplicated_answer_cells_all_run_in_order(demo_template, exercises, make_submission):
    def edit(nb):
        first = _answer_cells(nb)[0]
        wrong = copy.deepcopy(first)
        wrong["source"] = "def double(x):\n    return 0"
        nb["cells"].insert(nb["cells"].index(first), wrong)

    plan = rebuild(demo_template, make_submission(edit=edit), exercises)
    doubles = [c.source for c in plan.cells if c.exercises == ("demo.double",)]
    assert len(doubles) == 2 and "return 0" in doubles[0] and "2 * x" in doubles[1]
    assert any("2 answer cells for demo.double" in n for n in plan.notes)


def test_added_cells_follow_the_lesson_cell_they_followed(demo_template, exercises, make_submission):
    def edit(nb):
        first = _answer_cells(nb)[0]
        mine = {"cell_type": "code", "id": "mine", "metadata": {}, "source": "helper = 1", "outputs": [], "execution_count": None}
        top = {"cell_type": "code", "id": "top", "metadata": {}, "source": "import math", "outputs": [], "execution_count": None}
        nb["cells"].insert(nb["cells"].index(first) + 1, mine)
        nb["cells"].insert(0, top)

    plan = rebuild(demo_template, make_submission(edit=edit), exercises)
    origins = [(c.origin, c.source.splitlines()[0]) for c in plan.cells]
    assert origins[0] == (ADDED, "import math")
    i = next(k for k, c in enumerate(plan.cells) if c.exercises == ("demo.double",))
    assert plan.cells[i + 1].origin == ADDED and plan.cells[i + 1].source == "helper = 1"


def test_duplicated_cell_ids_do_not_confuse_the_rebuild(demo_template, exercises, make_submission):
    def edit(nb):
        for c in nb["cells"]:
            c["id"] = "same"

    plan = rebuild(demo_template, make_submission(edit=edit), exercises)
    assert not plan.missing
    assert [c.origin for c in plan.cells] == [TEMPLATE, ANSWER, ANSWER, ANSWER, TEMPLATE]


def test_defined_names_survive_syntax_errors_and_magics():
    assert defined_names("%matplotlib inline\nx = 1\nif True:\n    y = 2") == {"x", "y"}
    assert defined_names("def f(x)\n    return x\nk = 3") == {"f", "k"}


def test_a_huge_cell_is_never_parsed_with_ast(monkeypatch):
    # A 100 MB notebook is untrusted input too: ast's memory grows about a
    # hundredfold, so a huge cell is read with the regular expression only.
    import ast

    from mlcourse.grading import rebuild as rb

    def refuse(*args, **kwargs):
        raise AssertionError("ast.parse was called on a huge cell")

    huge = "def double(x):\n    return 2 * x\n" + "y = 1\n" * (rb.MAX_PARSED // 6 + 1)
    monkeypatch.setattr(ast, "parse", refuse)
    assert {"double", "y"} <= defined_names(huge)

