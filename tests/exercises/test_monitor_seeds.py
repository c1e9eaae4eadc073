"""Lesson 04's answers on thirty secret seeds: every seed gives the same verdict.

The reference (the solutions notebook's answer cell), the answers written
differently and the typical wrong answers of ``answers_monitor.py`` are each
executed in a fresh namespace (the lesson's imports, as a learner's kernel has
them) and checked with the exercise's own ``run`` on seeds drawn as the grader
draws them. A right answer passes with full marks on every seed; a wrong one
gets the same status, the same score and its message on every seed. Each
seed's inputs are made once and shared by all the answers (the verdicts never
change them, and each answer's probe gets its own copy, as in ``Exercise.run``).
"""
from __future__ import annotations

import copy
import hashlib
import linecache
from collections import Counter
from pathlib import Path

import pytest

from mlcourse.exercises import exercises_of, guard, notebook
from mlcourse.exercises.engine import ERROR, FAILED, PASSED, Exercise
from mlcourse.exercises.plain import from_plain, to_plain
from mlcourse.exercises.testing import module_from_file
from mlcourse.grading.seeds import seed as secret_seed

N_SEEDS = 30
# The wrong answers run on every seed here; the rest are tried in the lesson (test_monitor.py).
SEEDED_WRONG = {"monitor.backtest_policies": 3, "monitor.output_alerts": 5, "monitor.should_retrain": 4, "monitor.feature_drift": 4}


A = module_from_file(Path(__file__).with_name("answers_monitor.py"))
EXERCISES = {e.id: e for e in exercises_of("04_monitor")}
STATUS = {"failed": FAILED, "error": ERROR}


def seeds(ex_id: str) -> list[int]:
    return [secret_seed(b"l04-multi-seed-test-secret", f"learner-{i}", "04_monitor", ex_id) for i in range(N_SEEDS)]


def reference_source(ex_id: str) -> str:
    """The solution region of the exercise's answer cell (the cell's set-up lines around it need the lesson)."""
    nb = notebook.read(notebook.lesson_path("04_monitor", "solutions"))
    for _i, cell, found in notebook.answer_cells(nb):
        if found == ex_id:
            lines = notebook.source(cell).splitlines()
            return "\n".join("\n".join(lines[b + 1:e]) for b, e, _indent in notebook.regions(notebook.source(cell)))
    raise LookupError(ex_id)


@pytest.fixture(scope="module")
def prelude() -> dict:
    namespace: dict = {}
    exec(A.PRELUDE, namespace)
    return namespace


def namespace_of(prelude: dict, source: str) -> dict:
    """The answer executed in a fresh namespace, its source kept where the forbid check reads a cell's."""
    namespace = dict(prelude)
    filename = f"<answer-{hashlib.sha256(source.encode()).hexdigest()[:12]}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(compile(source, filename, "exec"), namespace)
    return namespace


class Runs:
    """``Exercise.run`` on shared inputs: each (exercise, seed)'s inputs, and their plain form, are made once.

    What ``run`` does, step by step (the probe gets its own copy of the inputs,
    rebuilt from plain data; the forbid check reads the answer's cell), minus
    remaking the inputs and their plain round trip for every answer: turning a
    large frame into plain data and back costs more than most answers. Each
    answer gets a deep copy of the one round trip. ``test_runs_match_exercise_run``
    keeps it honest.
    """

    def __init__(self) -> None:
        self.inputs: dict = {}

    def run(self, ex: Exercise, namespace: dict, seed: int):
        key = (ex.id, seed)
        if key not in self.inputs:
            made = ex.make_inputs(seed)
            self.inputs[key] = (made, [from_plain(to_plain(x)) if x is not None else None for x in made])
        inputs, rebuilt = self.inputs[key]
        copies = copy.deepcopy(rebuilt)  # what from_plain(to_plain(x)) gives, without redoing it per answer
        probed = ex.probe(namespace, copies)
        sources = []
        if ex.forbid:
            source = guard.defining_source(namespace.get(ex.answer.name))
            sources = [("", source)] if source else []
        return ex.judge(probed, inputs, answer_sources=sources)


@pytest.fixture(scope="module")
def runs() -> Runs:
    return Runs()


def _verdicts(ex_id, answers, prelude, runs):
    ex = EXERCISES[ex_id]
    namespaces = [namespace_of(prelude, source) for source in answers]
    out = [[] for _ in answers]
    for s in seeds(ex_id):  # seed by seed: answers to one exercise share what a seed builds
        for i, ns in enumerate(namespaces):
            out[i].append(runs.run(ex, ns, s))
    return out


def test_runs_match_exercise_run(prelude, runs):
    for ex_id in ("monitor.psi", "monitor.latency_slo"):
        ex = EXERCISES[ex_id]
        for source in (reference_source(ex_id), A.WRONG[ex_id][0].source, A.WRONG[ex_id][-1].source):
            ns = namespace_of(prelude, source)
            s = seeds(ex_id)[0]
            assert runs.run(ex, ns, s).to_dict() == ex.run(ns, seed=s).to_dict()


@pytest.mark.parametrize("ex_id", sorted(A.WRONG))
def test_same_verdict_on_every_secret_seed(ex_id, prelude, runs):
    wrong = A.WRONG[ex_id][:SEEDED_WRONG.get(ex_id, len(A.WRONG[ex_id]))]
    right = [reference_source(ex_id), *A.RIGHT[ex_id]]
    results = _verdicts(ex_id, right + [w.source for w in wrong], prelude, runs)
    for i, per_seed in enumerate(results[:len(right)]):
        bad = [r.message for r in per_seed if not (r.status == PASSED and r.score == r.points)]
        assert not bad, (f"right answer {i} fails on {len(bad)} of {N_SEEDS} seeds", bad[:2])
    for w, per_seed in zip(wrong, results[len(right):]):
        verdicts = Counter((str(r.status), r.score) for r in per_seed)
        assert len(verdicts) == 1, (w.says, verdicts, [r.message for r in per_seed][:3])
        (status, score), = verdicts
        assert status == STATUS[w.status] and score < per_seed[0].points, (w.says, verdicts)
        if w.score is not None:
            assert score == pytest.approx(w.score), (w.says, score)
        for r in per_seed:
            missing = [p for p in w.says if p not in r.message]
            assert not missing, (missing, r.message)
