"""Fresh checks in a real IPython shell: a check after a failed run of its answer cell says so,
a restarted kernel shows the stored result, and tracebacks name the cell."""
from __future__ import annotations

import re

import pytest

from mlcourse.exercises import cells, lesson
from mlcourse.exercises import store as progress
from mlcourse.exercises.engine import Exercise, Function, Value, returns, value_is

K = Exercise(id="demo.cells_k", title="Pick k", points=2, answer=Value("k"), tests=[value_is("k", lambda: 5)])
DOUBLE = Exercise(
    id="demo.cells_double", title="Double it", points=1, answer=Function("double"),
    tests=[returns("a small number", lambda rng: (int(rng.integers(1, 9)),), lambda x: 2 * x)],
)
K_CELL = "# Exercise demo.cells_k: Pick k (2 points).\n# Write your answer below, then run the check cell that follows.\n"
DOUBLE_CELL = "# Exercise demo.cells_double: Double it (1 point).\n"


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    sh.reset(new_session=False)
    cells.forget()
    assert cells.watch(sh)
    sh.user_ns.update(K=K, DOUBLE=DOUBLE)
    yield sh
    cells.unwatch(sh)
    cells.forget()
    sh.reset(new_session=False)


def run(sh, source: str):
    return sh.run_cell(source, store_history=True)


def check(sh, capsys, exercise: str = "K") -> str:
    capsys.readouterr()
    assert run(sh, f"{exercise}.check()").success
    return capsys.readouterr().out


def test_a_check_after_a_failed_run_of_the_answer_cell_says_so_instead_of_judging_the_old_answer(shell, capsys):
    run(shell, K_CELL + "k = 5\n")
    assert "passed" in check(shell, capsys)

    broken = run(shell, K_CELL + "k = (5\n")  # a syntax error: the old k = 5 is still in memory
    assert not broken.success and shell.user_ns["k"] == 5
    out = check(shell, capsys)
    assert "error" in out and "passed" not in out
    assert f"your last run of this answer cell ([{broken.execution_count}]) failed (SyntaxError:" in out
    assert "fix it and run it again" in out
    assert progress.load()["demo.cells_k"]["status"] == "error"

    run(shell, K_CELL + "k = 5\n")
    assert "passed" in check(shell, capsys)


def test_an_answer_cell_that_raises_after_defining_the_answer_counts_as_failed(shell, capsys):
    run(shell, K_CELL + "k = 5\nprint(1 / 0)\n")
    out = check(shell, capsys)
    assert "failed (ZeroDivisionError: division by zero)" in out and "passed" not in out


def test_cells_without_the_prompt_line_and_a_check_inside_the_answer_cell_are_judged_as_they_are(shell, capsys):
    run(shell, K_CELL + "k = (5\n")
    run(shell, "k = 5\n")  # no prompt line: not the answer cell, so the failed run still stands
    assert "your last run of this answer cell" in check(shell, capsys)
    capsys.readouterr()
    run(shell, K_CELL + "k = 5\nK.check()\n")  # the cell is running: judge what it has defined
    assert "passed" in capsys.readouterr().out


def test_after_a_restart_a_stored_pass_is_shown_as_such_and_kept(shell, capsys):
    run(shell, K_CELL + "k = 5\n")
    check(shell, capsys)
    shell.reset(new_session=False)  # what a kernel restart does to the learner's variables
    cells.forget()
    shell.user_ns.update(K=K)
    out = check(shell, capsys)
    assert re.search(r"^✓ Pick k \[demo\.cells_k\]: passed earlier \(2 / 2 points\)", out, re.M), out
    assert "Run the answer cell again" in out and "not defined yet" not in out
    entry = progress.load()["demo.cells_k"]
    assert (entry["status"], entry["score"]) == ("passed", 2.0)


def test_a_never_checked_answer_after_a_restart_is_still_not_attempted(shell, capsys):
    out = check(shell, capsys, "DOUBLE")
    assert "not attempted" in out and "`double` is not defined yet" in out


def test_a_traceback_names_the_answer_cell_by_its_number(shell, capsys):
    cell = run(shell, DOUBLE_CELL + "def double(x):\n    y = x * 2\n    return y / 0\n")
    helper = run(shell, "def helper(x):\n    return x[0]\n")
    out = check(shell, capsys, "DOUBLE")
    assert f"answer cell [{cell.execution_count}], line 4, in double" in out, out
    assert "ipython-input" not in out
    run(shell, DOUBLE_CELL + "def double(x):\n    return helper(x)\n")
    out = check(shell, capsys, "DOUBLE")
    assert f"  cell [{helper.execution_count}], line 2, in helper" in out, out


def test_lesson_starts_watching_the_cells_once():
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    cells.unwatch(sh)
    try:
        sh.run_cell("from mlcourse.exercises import lesson\nex = lesson('00_lifecycle_overview')\nex2 = lesson('01_data')")
        lesson("02_train")
        assert sh.events.callbacks["post_run_cell"].count(cells._after) == 1
        assert sh.events.callbacks["pre_run_cell"].count(cells._before) == 1
    finally:
        cells.unwatch(sh)
    assert cells._after not in sh.events.callbacks["post_run_cell"]


def test_outside_ipython_there_is_nothing_to_watch():
    assert cells.watch(object()) is False


def test_a_fix_in_a_cell_without_the_prompt_line_supersedes_the_failed_run(shell, capsys):
    cells.watch(shell, answers={"demo.cells_k": "k"})
    run(shell, K_CELL + "k = (5\n")
    assert "your last run of this answer cell" in check(shell, capsys)
    run(shell, "print(k == 5)\n")  # uses k, defines nothing: the failed run still stands
    assert "your last run of this answer cell" in check(shell, capsys)
    run(shell, "k = 5\n")  # the learner deleted the prompt line while fixing the cell
    assert "passed" in check(shell, capsys)
