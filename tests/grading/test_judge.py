"""Bounded judging (:mod:`mlcourse.grading.judge`): the learner's data cannot stall or swell the grader."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from mlcourse.exercises.engine import ERROR, PASSED
from mlcourse.grading.judge import Judges
from mlcourse.grading.limits import Limits

LESSON = "98_judged"


@pytest.fixture(scope="module")
def echo(lesson_kit, tmp_path_factory):
    module = lesson_kit.load("mlcourse_grading_judge_lesson", Path(__file__).with_name("judge_lesson.py"))
    mp = pytest.MonkeyPatch()
    solution = lesson_kit.notebook(LESSON, "import math", {"judged.echo": 'word = "right"'})
    lesson_kit.install(mp, tmp_path_factory.mktemp("lessons"), LESSON, "judged", module, solution)
    yield module.ECHO
    mp.undo()


@pytest.fixture(scope="module")
def judges(echo):
    judges = Judges(Limits(judge_seconds=3, judge_memory_mb=256))
    judges.judge(echo, LESSON, 1, _probe(echo, "right"))
    if judges.started == 0:
        # Judged in this process instead, the endless and the swelling verdicts below would take the test run down.
        pytest.fail("no judging worker started")
    yield judges
    judges.close()


def _probe(ex, word):
    # The plain data the grading child sends back for this answer.
    return ex.probe({"word": word}, ex.make_inputs(1))


def test_a_worker_gives_the_same_verdict_as_the_exercise_itself(echo, judges):
    for word in ("right", "wrong"):
        inputs = echo.make_inputs(1)
        here = echo.judge(_probe(echo, word), inputs)
        there = judges.judge(echo, LESSON, 1, _probe(echo, word))
        assert (there.status, there.score, there.message) == (here.status, here.score, here.message)
    assert there.status != PASSED and "expected 'right', got 'wrong'" in there.message
    assert judges.started >= 1  # judged in a worker, not in this process


class _IPythonMain:
    """Like IPython's stand-in for ``__main__``: a plain object, no ``__spec__``."""


@pytest.mark.parametrize("where", ["a deleted folder", "an IPython shell"])
def test_workers_start_where_the_grader_runs(echo, tmp_path, monkeypatch, where):
    if where == "a deleted folder":
        gone = tmp_path / "gone"
        gone.mkdir()
        monkeypatch.chdir(gone)
        gone.rmdir()
    else:
        monkeypatch.setitem(sys.modules, "__main__", _IPythonMain())
    judges = Judges(Limits(judge_seconds=30))
    try:
        assert judges.judge(echo, LESSON, 1, _probe(echo, "right")).status == PASSED
        assert judges.started == 1
    finally:
        judges.close()


def test_a_verdict_that_never_ends_is_cut_off_and_the_next_one_is_judged(echo, judges):
    t0 = time.monotonic()
    result = judges.judge(echo, LESSON, 1, _probe(echo, "spin"))
    assert time.monotonic() - t0 < 60  # bounded: a generous bound, not a speed claim
    assert result.status == ERROR and result.score == 0
    assert "took longer than the grader allows (3 s)" in result.message
    started = judges.started
    after = judges.judge(echo, LESSON, 1, _probe(echo, "right"))
    assert after.status == PASSED and judges.started == started + 1  # the stuck worker was replaced


def test_a_verdict_that_swells_fails_in_its_worker_not_in_the_grader(echo, judges):
    result = judges.judge(echo, LESSON, 1, _probe(echo, "grow"))
    assert result.status == ERROR and result.score == 0
    assert "more memory than the grader allows (256 MB)" in result.message or "stopped the grader's checking" in result.message
    assert judges.judge(echo, LESSON, 1, _probe(echo, "right")).status == PASSED


def test_the_submission_deadline_bounds_judging_too(echo, judges):
    result = judges.judge(echo, LESSON, 1, _probe(echo, "spin"), deadline=time.monotonic() + 0.5)
    assert result.status == ERROR and "took longer than the grader allows (0.5 s)" in result.message


def test_limits_name_the_judging_bounds():
    assert Limits().judge_seconds == 30 and Limits().judge_memory_mb == 1024


def test_in_a_batch_a_submission_that_stalls_its_judge_costs_only_its_own_marks(echo, tmp_path):
    from mlcourse import paths
    from mlcourse.exercises import notebook as nbio
    from mlcourse.grading.batch import Options, run

    words = {"ada": "right", "eve": "spin", "zoe": "right", "max": "grow"}
    for who, word in words.items():
        nb = nbio.read(paths.lessons_dir("notebooks") / f"{LESSON}.ipynb")
        for _, cell, _ in nbio.answer_cells(nb):
            cell["source"] = f"word = {word!r}"
        (tmp_path / "subs" / who).mkdir(parents=True)
        (tmp_path / "subs" / who / f"{LESSON}.ipynb").write_text(nbio.dumps(nb))
    limits = Limits(cell_timeout=30, judge_seconds=3, judge_memory_mb=256)
    report = run(Options(paths=[tmp_path / "subs"], out=tmp_path / "out", jobs=2, limits=limits, progress=False))
    graded = {o.submission.learner: o.graded for o in report.outcomes}
    assert {who: g.score for who, g in graded.items()} == {"ada": 1, "eve": 0, "zoe": 1, "max": 0}
    assert "took longer than the grader allows (3 s)" in graded["eve"].results[0].message
    assert graded["max"].results[0].status == ERROR
    assert all(g.error is None for g in graded.values())


# --------------------------------------------------------------------------
# Inputs drawn once, in the worker that judges them
# --------------------------------------------------------------------------
DRAWN = "97_drawn"


@pytest.fixture(scope="module")
def drawn(lesson_kit, tmp_path_factory):
    module = lesson_kit.load("mlcourse_grading_drawn_lesson", Path(__file__).with_name("drawn_lesson.py"))
    mp = pytest.MonkeyPatch()
    answers = {"drawn.total": "def total(numbers):\n    return sum(numbers)", "drawn.broken": 'word = "right"'}
    solution = lesson_kit.notebook(DRAWN, "import math", answers)
    lesson_kit.install(mp, tmp_path_factory.mktemp("lessons"), DRAWN, "drawn", module, solution)
    yield module
    mp.undo()


def _draws(module, seed: int) -> int:
    """How many times any process drew TOTAL's inputs for ``seed``."""
    import numpy as np

    mark = module.draw_mark(np.random.default_rng([seed, 0]))
    path = module.DRAWS / str(mark)
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_worker_draws_the_inputs_once_and_judges_with_them(drawn, judges):
    from mlcourse.exercises.plain import from_plain

    seed = int.from_bytes(os.urandom(6), "big")
    total = drawn.TOTAL
    there = judges.draw([total], DRAWN, {total.id: seed})
    assert _draws(drawn, seed) == 1  # drawn in the worker, not here
    status, plain = there[total.id]
    assert status == "ok"
    # The child gets the same plain data the grader drew before, and judging in the same worker draws nothing again.
    started = judges.started
    for answer, verdict in ((sum, PASSED), (max, "failed")):
        probed = total.probe({"total": answer}, from_plain(plain))
        assert judges.judge(total, DRAWN, seed, probed).status == verdict
        here = total.judge(probed, total.make_inputs(seed))
        assert here.status == verdict
    assert judges.started == started
    # The first verdict used the kept draw; the second (kept no more) drew again, as did `here` twice.
    assert _draws(drawn, seed) == 1 + 1 + 2
    assert from_plain(plain)[0] == total.make_inputs(seed)[0]


def test_a_definition_that_cannot_make_its_inputs_says_so_as_before(drawn, judges):
    from mlcourse.grading.verdict import _unprepared

    there = judges.draw([drawn.BROKEN, drawn.TOTAL], DRAWN, {drawn.BROKEN.id: 3, drawn.TOTAL.id: 3})
    assert there[drawn.BROKEN.id] == ("raised", "ValueError: the table is missing")
    assert there[drawn.TOTAL.id][0] == "ok"  # one exercise's bug costs only that exercise
    # The learner's message is the one the grader gave when it drew the inputs itself.
    with pytest.raises(ValueError) as raised:
        drawn.BROKEN.make_inputs(3)
    assert _unprepared(raised.value) == _unprepared(there[drawn.BROKEN.id][1])
    assert _unprepared(raised.value) == "The grader could not prepare this exercise (ValueError: the table is missing)."


def test_judging_reports_the_workers_cpu_per_thread(drawn, judges):
    before = judges.cpu()
    judges.draw([drawn.TOTAL], DRAWN, {drawn.TOTAL.id: 5})
    assert judges.cpu() > before


def test_in_a_batch_inputs_drawn_in_a_worker_grade_as_before(drawn, tmp_path):
    from mlcourse import paths
    from mlcourse.exercises import notebook as nbio
    from mlcourse.grading.batch import Options, run

    answers = {"right": "def total(numbers):\n    return sum(numbers)", "wrong": "def total(numbers):\n    return max(numbers)"}
    for who, answer in answers.items():
        nb = nbio.read(paths.lessons_dir("notebooks") / f"{DRAWN}.ipynb")
        for _, cell, ex_id in nbio.answer_cells(nb):
            cell["source"] = answer if ex_id == "drawn.total" else 'word = "right"'
        (tmp_path / "subs" / who).mkdir(parents=True)
        (tmp_path / "subs" / who / f"{DRAWN}.ipynb").write_text(nbio.dumps(nb))
    report = run(Options(paths=[tmp_path / "subs"], out=tmp_path / "out", jobs=1, limits=Limits(cell_timeout=30), progress=False))
    graded = {o.submission.learner: o.graded for o in report.outcomes}
    for who, g in graded.items():
        total, broken = g.results
        assert total.status == (PASSED if who == "right" else "failed")
        assert (broken.status, broken.score) == (ERROR, 0)
        assert broken.message == "The grader could not prepare this exercise (ValueError: the table is missing)."
        assert g.error is None and g.timing["judge_cpu"] > 0


def test_a_worker_started_ahead_is_the_one_that_judges(echo):
    judges = Judges(Limits(judge_seconds=30))
    try:
        judges.prestart()
        judges.prestart()  # once is enough
        assert judges.judge(echo, LESSON, 1, _probe(echo, "right")).status == PASSED
        assert judges.started == 1  # the first verdict waited for that worker instead of starting another
    finally:
        judges.close()
