"""Shortcut detection (mlcourse.exercises.guard): run-time sentinels and the source check."""
from __future__ import annotations

import functools
import importlib
import json

import pandas as pd
import pytest

from mlcourse.exercises import LESSONS, all_exercises, exercises_of, find
from mlcourse.exercises import notebook as nbio
from mlcourse.exercises.engine import FAILED, PASSED
from mlcourse.exercises.guard import (
    Sentinels,
    ShortcutCall,
    forbidden_in_source,
    resolve,
    source_problem,
    tampering_in_source,
)

FINGERPRINT = find("data.fingerprint")  # forbids mlcourse.data.validation.fingerprint


def _refused(call) -> bool:
    try:
        call()
    except ShortcutCall:
        return True
    return False


# -- run time -------------------------------------------------------------------
def test_a_sentinel_refuses_every_path_to_the_function_then_puts_it_back():
    import mlcourse.data.validation as validation
    from mlcourse.data.validation import fingerprint as taken_before

    df = pd.DataFrame({"a": [1, 2]})
    expected = validation.fingerprint(df)
    guard = Sentinels.resolve(["mlcourse.data.validation.fingerprint"])
    paths = {
        "a reference taken before": lambda: taken_before(df),
        "the module attribute": lambda: validation.fingerprint(df),
        "getattr(importlib.import_module(...))": (
            lambda: getattr(importlib.import_module("mlcourse.data.validation"), "finger" + "print")(df)
        ),
        "a partial": functools.partial(taken_before, df),
    }
    for what, call in paths.items():
        with guard.refusing() as called:
            assert _refused(call), what
        assert called == ["mlcourse.data.validation.fingerprint"], what
    assert validation.fingerprint(df) == taken_before(df) == expected


def test_a_class_is_refused_through_its_methods_and_a_wrapped_function_through_what_it_wraps():
    from sklearn import metrics

    from mlcourse.monitor.retraining import RetrainPolicy

    guard = Sentinels.resolve(["mlcourse.monitor.retraining.RetrainPolicy", "sklearn.metrics.accuracy_score"])
    with guard.refusing() as called:
        assert _refused(lambda: RetrainPolicy.scheduled(every_days=14))
        assert _refused(lambda: metrics.accuracy_score.__wrapped__([0, 1], [0, 1]))
    assert called == ["mlcourse.monitor.retraining.RetrainPolicy", "sklearn.metrics.accuracy_score"]
    assert RetrainPolicy.scheduled(every_days=14).name and metrics.accuracy_score([0, 1], [0, 1]) == 1.0


def test_taking_the_sentinel_away_while_the_answer_runs_counts_as_a_call():
    import mlcourse.data.validation as validation

    real = validation.fingerprint.__code__
    guard = Sentinels.resolve(["mlcourse.data.validation.fingerprint"])
    with guard.refusing() as called:
        validation.fingerprint.__code__ = real  # what a dodging answer would do
        validation.fingerprint(pd.DataFrame({"a": [1]}))
    assert called == ["mlcourse.data.validation.fingerprint"]
    assert validation.fingerprint.__code__ is real


def test_exercise_run_fails_every_dodge_with_the_package_message(monkeypatch):
    import mlcourse.data.validation as validation

    honest = (
        "import hashlib\ndef fingerprint(df):\n"
        "    content = (list(df.columns), [str(t) for t in df.dtypes], df.to_numpy().tolist())\n"
        "    return hashlib.sha256(repr(content).encode()).hexdigest()\n"
    )
    dodges = {
        "direct": "from mlcourse.data.validation import fingerprint as fp\ndef fingerprint(df):\n    return fp(df)\n",
        "taken before": "def fingerprint(df):\n    return kept(df)\n",
        "import_module": (
            "import importlib\ndef fingerprint(df):\n"
            "    return getattr(importlib.import_module('mlcourse.data.validation'), 'finger' + 'print')(df)\n"
        ),
        "code swapped back": "def fingerprint(df):\n    validation.fingerprint.__code__ = saved\n    return validation.fingerprint(df)\n",
        "swallowed refusal": (
            "def fingerprint(df):\n    try:\n        return validation.fingerprint(df)\n    except BaseException:\n        return 'x'\n"
        ),
    }
    ns: dict = {}
    exec(honest, ns)
    assert FINGERPRINT.run(ns).status == PASSED
    for what, source in dodges.items():
        ns = {"kept": validation.fingerprint, "validation": validation, "saved": validation.fingerprint.__code__}
        exec(source, ns)
        r = FINGERPRINT.run(ns)
        assert r.status == FAILED and r.score == 0, (what, r.message)
        assert "mlcourse.data.validation.fingerprint, the package's own version" in r.message, (what, r.message)


def test_resolving_leaves_short_spellings_and_unknown_packages_alone():
    assert resolve("data.load_sources") == []  # the lesson's alias: the source check's job
    assert resolve("nosuchpackage.f") == [] and resolve("mlcourse.data.validation.no_such_name") == []


def test_every_forbidden_name_of_the_package_names_a_function():
    for _, ex in all_exercises():
        for name in ex.forbid:
            if name.startswith(("mlcourse.", "sklearn.")):
                assert resolve(name), f"{ex.id}: forbid names {name}, which is no function (renamed?)"


# -- the source -------------------------------------------------------------------
@pytest.mark.parametrize(
    "source, found",
    [
        ("from mlcourse.data import load_sources\ndef f(p):\n    return 1", {"mlcourse.data.load_sources"}),
        ("import mlcourse.data as md\ndef f(p):\n    return md.load_sources(p)", {"mlcourse.data.load_sources"}),
        ("from mlcourse import data as d\nf = lambda p: d._join(*p)", {"mlcourse.data.generate._join"}),
        ("def f(p):\n    return data.load_sources(p)", {"mlcourse.data.load_sources"}),
        ("def f(p):\n    return mlcourse.stages.load_sources(p)", {"mlcourse.data.load_sources"}),
        ("def f(p):\n    data = read(p)\n    return data", set()),
    ],
)
def test_forbidden_names_in_the_source(source, found):
    forbid = ["mlcourse.data.load_sources", "data.load_sources", "mlcourse.data.generate._join"]
    assert forbidden_in_source(source, forbid) == found


@pytest.mark.parametrize(
    "source, finding",
    [
        ("f.__code__ = g.__code__", "`__code__`"),
        ("h = fn.__globals__['x']", "`__globals__`"),
        ("c = fn.__closure__[0].cell_contents", "`__closure__`"),
        ("import importlib\nm = importlib.import_module('mlcourse.data')", "`importlib`"),
        ("from importlib.util import spec_from_file_location", "`importlib`"),
        ("import sys\nm = sys.modules['mlcourse.data']", "`sys.modules`"),
        ("import gc\nobjs = gc.get_objects()", "`gc`"),
        ("import ctypes", "`ctypes`"),
        ("x = getattr(f, '__co' + 'de__')", "`getattr()` with a computed name"),
        ("x = getattr(f, '__code__')", "`__code__`"),
        ("exec(open('x.py').read())", "`exec()`"),
        ("import subprocess\nsubprocess.run(['python', '-c', 'x'])", "`subprocess`"),
        ("import os\nos.system('python x.py')", "`os.system`"),
        ("!python -c 'print(1)'", "a shell command (`!`)"),
        ("%run other.py", "`%run`"),
        ("%%time\nimport gc", "`gc`"),
        ("from mlcourse.exercises import guard", "`mlcourse.exercises.guard`"),
        ("import mlcourse.exercises.data.checks as c", "`mlcourse.exercises.data.checks`"),
        ("from mlcourse.exercises.notebook import solution_source", "`mlcourse.exercises.notebook`"),
        ("import pickle\nobj = pickle.loads(blob)", "`pickle.loads`"),
        ("frame = err.__traceback__.tb_frame.f_back", "`__traceback__`"),
    ],
)
def test_tampering_is_found(source, finding):
    assert finding in tampering_in_source(source), tampering_in_source(source)


@pytest.mark.parametrize(
    "source",
    [
        "%matplotlib inline\nimport numpy as np\ndef f(x):\n    return np.sqrt(x)",
        "%%time\ndef f(x):\n    return x + 1",
        "code = 3\ntypes = df.dtypes\nprint(code, types)",
        "import pickle, joblib, hashlib\nh = hashlib.sha256(pickle.dumps(model)).hexdigest()\njoblib.dump(model, p)",
        "from mlcourse.exercises import lesson\nex = lesson('01_data')\nex.fingerprint.check()",
        "value = getattr(model, 'feature_names_in_', None)",
        "this is not python at all (",
    ],
)
def test_ordinary_code_is_not_tampering(source):
    assert tampering_in_source(source) == []


def test_the_source_problem_prefers_the_forbidden_name_and_says_where_tampering_is():
    forbid = ["mlcourse.data.validation.fingerprint"]
    answer = [("cell 5 of your notebook", "def fingerprint(df):\n    return mlcourse.data.validation.fingerprint(df)")]
    assert "mlcourse.data.validation.fingerprint" in source_problem(forbid, answer)
    other = [("cell 2 of your notebook", "import gc")]
    message = source_problem(forbid, [("cell 5 of your notebook", "def fingerprint(df):\n    return 1")], other)
    assert "`gc` (cell 2 of your notebook)" in message
    assert source_problem([], answer, other) is None  # an exercise that forbids nothing is never judged on this


@pytest.mark.parametrize("lesson", list(LESSONS))
def test_the_solutions_answer_cells_are_never_flagged(lesson):
    solution = nbio.read(nbio.lesson_path(lesson, "solutions"))
    exercises = {ex.id: ex for ex in exercises_of(lesson)}
    for _, cell, ex_id in nbio.answer_cells(solution):
        source = nbio.without_markers(nbio.source(cell))
        assert tampering_in_source(source) == [], (ex_id, tampering_in_source(source))
        assert not forbidden_in_source(source, exercises[ex_id].forbid), ex_id


# -- what the grading child is told -------------------------------------------------
def test_every_exercise_has_a_spec_of_plain_names_only():
    from mlcourse.exercises.engine import plan_from_spec

    for _, ex in all_exercises():
        spec = json.loads(json.dumps(ex.spec()))
        assert set(spec) == {"id", "title", "answer", "forbid", "tests"}
        modules = {t["probe"].rpartition(".")[0] for t in spec["tests"]}
        assert all(m.endswith(".probes") for m in modules), (ex.id, modules)
        plan = plan_from_spec(spec, {m: importlib.import_module(m) for m in modules})
        assert plan.probes == tuple(t.probe for t in ex.tests)


def test_a_probe_the_child_cannot_load_by_name_is_refused_with_the_exercise_named():
    from mlcourse.exercises.engine import Exercise, Function, holds

    ex = Exercise(id="demo.x", title="x", points=1, answer=Function("f"),
                  tests=[holds("t", lambda f, a: f(), lambda got, a: None)])
    with pytest.raises(ValueError, match="demo.x: the probe .* lives outside the modules"):
        ex.spec()


def test_a_probe_name_resolves_only_in_the_allowed_modules():
    from mlcourse.exercises import probes

    with pytest.raises(ValueError):
        probes.resolve("mlcourse.exercises.data.checks.reference_join", {})
    with pytest.raises(ValueError):
        probes.resolve("os.system", {"os": importlib.import_module("os")})
    with pytest.raises(ValueError):
        probes.resolve("mlcourse.exercises.probes.__class__", {probes.__name__: probes})


def test_the_verdict_needs_no_word_from_the_probe_to_see_a_shortcut():
    """A probe report that claims a clean pass (what a hostile child could forge) still fails on the sources."""
    import hashlib

    def honest(df):
        return hashlib.sha256(repr((list(df.columns), [str(t) for t in df.dtypes], df.to_numpy().tolist())).encode()).hexdigest()

    inputs = FINGERPRINT.make_inputs(3)
    clean = json.loads(json.dumps(FINGERPRINT.probe({"fingerprint": honest}, inputs)))
    assert FINGERPRINT.judge(clean, inputs).status == PASSED
    cell = [("cell 9 of your notebook", "def fingerprint(df):\n    return validation.fingerprint(df)")]
    r = FINGERPRINT.judge(clean, inputs, answer_sources=cell)
    assert r.status == FAILED and r.score == 0 and "mlcourse.data.validation.fingerprint" in r.message
    other = [("cell 3 of your notebook", "import ctypes")]
    r = FINGERPRINT.judge(clean, inputs, answer_sources=[("cell 9", "def fingerprint(df):\n    return 1")], other_sources=other)
    assert r.status == FAILED and "`ctypes` (cell 3 of your notebook)" in r.message
    refused = {**clean, "tests": [{"ok": False, "kind": "shortcut", "called": ["mlcourse.data.validation.fingerprint"]}] * len(inputs)}
    assert "the package's own version" in FINGERPRINT.judge(refused, inputs).message
