"""Demonstration cells (mlcourse/grading/demos.py): which names a cell reads and
binds, which demonstrations a submission keeps, the release check, and the
rebuild leaving out the rest. Grades with and without them are compared on the
real lessons in test_real_lessons.py."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from mlcourse.exercises import LESSONS, exercises_of
from mlcourse.exercises import notebook as nbio
from mlcourse.grading import demos
from mlcourse.grading.rebuild import rebuild

REPO = Path(__file__).resolve().parents[2]


# -- what a learner's cell reads -------------------------------------------
@pytest.mark.parametrize(
    "source, names",
    [
        # a function's parameters and locals are its own, not the notebook's
        ("def f(frame, k=3):\n    total = frame.sum()\n    return total * k\n", set()),
        ("def f(frame):\n    return frame * SCALE\n", {"SCALE"}),
        ("x = collapse.mean()", {"collapse"}),
        ("x = 1\ny = x + 1", {"x"}),
        ("def f(rows):\n    return [r * w for r in rows]\n", {"w"}),  # inside a comprehension
        ("class C:\n    size = LIMIT\n    def g(self):\n        return self.size + OTHER\n", {"LIMIT", "OTHER"}),
        ("lambda q: q + offset", {"offset"}),
        ("%timeit fit(history)", {"timeit", "fit", "history"}),  # a magic's arguments are read
        ("!echo $project", {"echo", "project"}),
        ("import numpy as np\nnp.zeros(3)", {"np"}),
    ],
)
def test_a_cell_reads_the_notebook_names_it_uses_and_not_its_locals(source, names):
    read, dynamic = demos.reads(source)
    assert read == names and not dynamic


@pytest.mark.parametrize(
    "source",
    [
        "x = globals()['collapse']",
        "x = eval('coll' + 'apse')",
        "exec('print(collapse)')",
        "import sys\nx = sys.modules['__main__'].collapse",
        "import __main__\nx = __main__.collapse",
        "x = Out[38]",
        "x = _38",
        "x = _",
        "def f():\n    pass\nx = f.__globals__['collapse']",
        "x = vars()['collapse']",
        "%run -i other.py",
        "%who",
        "def broken(:\n    pass",  # does not parse: it may be anything
        "x = 1\n" * 40_000,  # too large to analyse
    ],
)
def test_a_cell_that_reaches_the_namespace_without_naming_the_variable_may_read_anything(source):
    assert demos.reads(source)[1] is True


@pytest.mark.parametrize(
    "source, names",
    [
        ("import numpy as np\nfrom os import path as p", {"np", "p"}),
        ("fig, (left, right) = plt.subplots(1, 2)", {"fig", "left", "right"}),
        ("for k, v in d.items():\n    pass", {"k", "v"}),
        ("with open(f) as handle:\n    pass", {"handle"}),
        ("def f():\n    global made\n    made = 1", {"f", "made"}),
        ("if (n := 3):\n    pass", {"n"}),
        ("quiet = {name: value for name, value in env.items()}", {"quiet"}),  # the comprehension's names are its own
        ("try:\n    x = 1\nexcept ValueError as err:\n    pass", {"x", "err"}),
        ("class Model:\n    layers = 3", {"Model"}),
    ],
)
def test_a_demonstration_binds_its_top_level_names_and_its_declared_globals(source, names):
    assert demos.binds(source) == names


# -- which demonstrations a submission keeps ---------------------------------
def _demo(source):
    return ("demo", demos.binds(source) | demos.changed_names(source), demos.free_reads(source))


def _learner(source):
    read, dynamic = demos.reads(source)
    if dynamic:
        return ("learner", None, None)
    return ("learner", demos.touches(source), read)


LESSON = ("lesson", set(), set())


def test_a_demonstration_runs_only_when_a_later_learner_cell_reads_what_it_binds():
    cells = [_demo("collapse = slow()"), _demo("kinds = slower()"), LESSON, _learner("def f(x):\n    return x + 1")]
    assert demos.kept(cells) == []
    cells[-1] = _learner("def f(x):\n    return x + len(kinds)")
    assert demos.kept(cells) == [1]


def test_a_learner_cell_before_a_demonstration_does_not_keep_it():
    # Run in order, the learner's cell could not have seen it either.
    assert demos.kept([_learner("print(collapse)"), _demo("collapse = slow()")]) == []


def test_a_kept_demonstration_keeps_those_it_reads_from():
    cells = [_demo("project = make()"), _demo("v1 = digest(project)"), _demo("other = 3"), _learner("assert v1")]
    assert demos.kept(cells) == [0, 1]


def test_a_cell_that_may_read_anything_keeps_every_demonstration_before_it():
    cells = [_demo("a = 1"), _demo("b = 2"), _learner("x = globals()"), _demo("c = 3")]
    assert demos.kept(cells)[:2] == [0, 1]


@pytest.mark.parametrize(
    "learner, kept",
    [
        ("df = df.dropna()", [1]),  # the demonstration reads what the learner rebound: it runs, as it would have
        ("df['ratio'] = 0", [1]),  # ... or changed
        ("df.drop(columns=['x'], inplace=True)", [1]),
        ("globals()['df'] = None", [1, 2]),  # may have changed anything
        ("def clean(frame):\n    frame = frame.dropna()\n    return frame", []),  # its own names only
        ("table = df.describe()", []),  # reads df, changes nothing of it
        ("import df", []),  # a plain import binds the module itself, the same for every cell
        ("import numpy as df", [1]),
    ],
)
def test_a_demonstration_reading_what_a_learner_s_cell_changed_runs(learner, kept):
    cells = [_learner(learner), _demo("plot(df['amount'])"), _demo("fig = make()\nfig.show()")]
    assert demos.kept(cells) == kept


def test_a_demonstration_that_binds_the_name_before_reading_it_is_not_influenced():
    assert demos.kept([_learner("df = None"), _demo("df = load()\nplot(df)")]) == []
    # ... and a learner's cell after it cannot have influenced it.
    assert demos.kept([_demo("plot(df)"), _learner("df = None")]) == []


def test_a_kept_demonstration_passes_the_influence_on():
    cells = [_learner("rows = rows[:10]"), _demo("summary = describe(rows)"), _demo("plot(summary)")]
    assert demos.kept(cells) == [1, 2]


# -- the release check ----------------------------------------------------------
def _code(source, **mlcourse):
    return {"cell_type": "code", "source": source, "metadata": {"mlcourse": mlcourse} if mlcourse else {}}


@pytest.mark.parametrize(
    "cells, problem",
    [
        ([_code("collapse = slow()", demo=True), _code("print(collapse.mean())")], "reads collapse, bound by demonstration"),
        # read, then bound, in one statement: it needs the demonstration's value
        ([_code("n = 3", demo=True), _code("n = n + 1")], "reads n, bound by demonstration"),
        ([_code("def helper():\n    return kinds\n", demo=True), _code("kinds = helper()")], "reads helper"),
        ([_code("print(total(3))", demo=True)], "uses the answer total"),
        ([_code("total = 1", demo=True, exercise="demo.total")], "also an answer or check cell"),
        ([_code("print(collect(globals()))", demo=True)], "reads the notebook's namespace wholesale (globals)"),
    ],
)
def test_the_release_refuses_a_demonstration_the_grader_could_not_leave_out(cells, problem):
    found = demos.problems(cells, ["total"])
    assert any(problem in p for p in found), found


@pytest.mark.parametrize(
    "later",
    [
        "fig, ax = plt.subplots()\nax.bar(k, v)",
        "for fig, ax in pairs:\n    ax.plot(fig)",  # a loop's variables are bound before its body
        "if ready:\n    fig = plt.figure()\n    ax = fig.gca()\n    print(ax)",
        "with plt.style.context('ggplot') as fig:\n    ax = 1\n    print(fig, ax)",
    ],
)
def test_a_later_cell_that_binds_a_name_before_reading_it_does_not_need_the_demonstration(later):
    cells = [
        _code("fig, ax = plt.subplots()\nax.plot(x)", demo=True),
        _code(later),
        _code("print(fig)", check="demo.total"),  # check cells never run while grading
    ]
    assert demos.problems(cells, ["total"]) == []


@pytest.mark.parametrize(
    "demo, changed",
    [
        ("df['ratio'] = df['a'] / df['b']", "df"),
        ("rng.normal(size=3)", "rng"),  # the generator's state: later draws differ
        ("np.random.seed(1)", "np.random"),
        ("model.fit(X, y)", "model"),
        ("frame.drop(columns=['x'], inplace=True)", "frame"),
        ("history.append(0.5)", "history"),
        ("del settings['debug']", "settings"),
    ],
)
def test_the_release_refuses_a_demonstration_that_changes_what_a_lesson_cell_made(demo, changed):
    cells = [_code("df = rng = model = frame = history = settings = make()"), _code(demo, demo=True)]
    found = demos.problems(cells, [])
    assert len(found) == 1 and f"changes {changed}, made before it" in found[0], found


def test_a_demonstration_may_change_what_it_or_another_demonstration_made():
    cells = [
        _code("log = open_log()\nmine = []\nmine.append(1)", demo=True),
        _code("log.write('x')\nimport numpy as np\nnp.zeros(3).sort()", demo=True),
        _code("print('done')"),
    ]
    assert demos.problems(cells, []) == []


def test_the_release_stops_on_a_demonstration_that_later_cells_need(tmp_path):
    from mlcourse.release import ReleaseError, plan

    nb = copy.deepcopy(nbio.read(REPO / "solutions" / "00_lifecycle_overview.ipynb"))
    setup = next(c for c in nb["cells"] if c["cell_type"] == "code" and not nbio.exercise_id(c))
    setup.setdefault("metadata", {}).setdefault("mlcourse", {})["demo"] = True
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "00_lifecycle_overview.ipynb").write_text(nbio.dumps(nb))
    with pytest.raises(ReleaseError, match="bound by demonstration cell .*Remove the cell's \"demo\" mark"):
        plan(tmp_path / "solutions", tmp_path / "notebooks")


@pytest.mark.parametrize("lesson", sorted(LESSONS))
def test_every_lessons_demonstrations_can_be_left_out(lesson):
    path = REPO / "solutions" / f"{lesson}.ipynb"
    if not path.exists():
        pytest.skip(f"{lesson} is not written yet")
    nb = nbio.read(path)
    assert demos.problems(nb["cells"], [ex.answer.name for ex in exercises_of(lesson)]) == []


@pytest.mark.parametrize("lesson", ["01_data", "04_monitor"])
def test_the_heavy_lessons_mark_their_slow_demonstrations(lesson):
    # What issue 17's speed rests on: the DVC session, the KS experiment, the feedback loop.
    nb = nbio.read(REPO / "notebooks" / f"{lesson}.ipynb")
    marked = "\n".join(nbio.source(c) for c in nb["cells"] if demos.is_demo(c))
    assert {"01_data": 'sh("dvc", "checkout")', "04_monitor": "ks_pvalue_collapse"}[lesson] in marked
    assert "run_feedback_loop" in marked or lesson == "01_data"


# -- the rebuild ----------------------------------------------------------------------
@pytest.fixture
def shown(demo_template):
    """The demo lesson's template with two demonstrations before its tail cell."""
    nb = copy.deepcopy(demo_template)
    cells = nb["cells"]
    cells.insert(len(cells) - 1, _code("slow_table = list(range(5))", demo=True))
    cells.insert(len(cells) - 1, _code("slow_sum = sum(slow_table)", demo=True))
    return nb


@pytest.fixture
def exercises(demo_lessons):
    return exercises_of("99_demo")


def test_a_demonstration_that_changes_what_the_learner_reads_is_kept_with_the_one_that_made_it(shown, exercises):
    shown = copy.deepcopy(shown)
    shown["cells"].insert(len(shown["cells"]) - 1, _code("slow_table.append(5)", demo=True))
    plan = rebuild(shown, _added(shown, "print(len(slow_table))"), exercises)
    assert [c.source for c in plan.cells if c.demo] == ["slow_table = list(range(5))", "slow_table.append(5)"]


def _added(nb, source):
    nb = copy.deepcopy(nb)
    nb["cells"].append(_code(source))
    return nb


def test_the_rebuild_leaves_out_demonstrations_nothing_reads(shown, exercises):
    plan = rebuild(shown, copy.deepcopy(shown), exercises)
    assert not any("slow_" in c.source for c in plan.cells)
    assert len(plan.left_out) == 2 and all(w.startswith("lesson cell") for w in plan.left_out)
    everything = rebuild(shown, copy.deepcopy(shown), exercises, run_demos=True)
    assert [c.source for c in everything.cells if c.demo] == ["slow_table = list(range(5))", "slow_sum = sum(slow_table)"]
    assert everything.left_out == []


@pytest.mark.parametrize(
    "added, kept",
    [
        ("print(slow_sum)", ["slow_table", "slow_sum"]),  # and what that one reads
        ("print(slow_table[0])", ["slow_table"]),
        ("print(globals()['slow_sum'])", ["slow_table", "slow_sum"]),
        ("def mine(x):\n    slow_sum = x\n    return slow_sum", []),  # a local of the same name
    ],
)
def test_a_learner_cell_that_reads_a_demonstration_keeps_it(shown, exercises, added, kept):
    plan = rebuild(shown, _added(shown, added), exercises)
    ran = [c.source.split(" =")[0] for c in plan.cells if c.demo]
    assert ran == kept
    assert len(plan.left_out) == 2 - len(kept)


def test_past_the_analysis_budget_the_learner_s_cells_may_read_anything(shown, exercises, monkeypatch):
    from mlcourse.grading import rebuild as rebuild_module

    monkeypatch.setattr(rebuild_module, "MAX_ANALYSED_TOTAL", 50)
    sub = _added(_added(shown, "x = 1"), "y = 2  # " + "z" * 60)  # the second goes past the budget
    plan = rebuild(shown, sub, exercises)
    assert plan.left_out == [] and [c.source.split(" =")[0] for c in plan.cells if c.demo] == ["slow_table", "slow_sum"]
    # Under it, the same cells keep nothing.
    monkeypatch.setattr(rebuild_module, "MAX_ANALYSED_TOTAL", 10_000)
    assert len(rebuild(shown, sub, exercises).left_out) == 2
