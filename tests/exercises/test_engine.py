"""The exercise engine on small, self-contained exercises."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlcourse.exercises import engine
from mlcourse.exercises import store as progress
from mlcourse.exercises.engine import (
    ERROR,
    FAILED,
    NOT_ATTEMPTED,
    PASSED,
    Exercise,
    Function,
    Mistake,
    Value,
    holds,
    returns,
    stub_message,
    value_is,
)


def _col_means(df):
    return df.mean().round(6).to_dict()


def demo(name: str, title: str, answer, tests: list, points: int = 1, **options) -> Exercise:
    """A one-off exercise ``demo.<name>`` for one test."""
    return Exercise(id=f"demo.{name}", title=title, points=points, answer=answer, tests=tests, **options)


MEANS = Exercise(
    id="demo.means",
    title="Column means",
    points=4,
    answer=Function("means"),
    tests=[
        returns("a fixed 2x2 frame", lambda rng: (pd.DataFrame({"a": [1.0, 3.0], "b": [2.0, 2.0]}),), _col_means),
        returns(
            "a random frame",
            lambda rng: (pd.DataFrame(rng.normal(size=(20, 3)), columns=list("xyz")),),
            _col_means,
            mistakes=[Mistake(lambda got, a, exp: isinstance(got, (int, float)), "Return one mean per column, not a single number.")],
        ),
    ],
    hints=["Use DataFrame.mean.", "Round to 6 decimals and return a dict."],
    forbid=(f"{__name__}._col_means",),
)

K = Exercise(id="demo.k", title="Pick k", points=1, answer=Value("k"), tests=[value_is("k", lambda: 5)])


def right(df):
    return df.mean().round(6).to_dict()


def test_right_answer_gets_full_marks():
    r = MEANS.run({"means": right})
    assert (r.status, r.score, r.passed) == (PASSED, 4, 2)


def test_stub_is_not_attempted():
    def means(df):
        raise NotImplementedError(stub_message("demo.means"))

    r = MEANS.run({"means": means})
    assert r.status == NOT_ATTEMPTED and r.score == 0
    assert MEANS.run({}).status == NOT_ATTEMPTED
    assert K.run({"k": ...}).status == NOT_ATTEMPTED


def test_hard_coded_answer_fails_the_fresh_input_and_scores_half():
    fixed = {"a": 2.0, "b": 2.0}
    r = MEANS.run({"means": lambda df: fixed})
    assert r.status == FAILED and r.score == 2
    assert "On a random frame" in r.message and "missing keys" in r.message


def test_known_mistake_is_explained():
    r = MEANS.run({"means": lambda df: float(df.values.mean())})
    assert "Return one mean per column" in r.tests[1].message


def test_forgot_return_is_explained():
    def means(df):
        df.mean().to_dict()

    assert "did you forget a `return`" in MEANS.run({"means": means}).message


def test_error_points_at_learners_line():
    def means(df):
        return df["nope"].mean()

    r = MEANS.run({"means": means})
    assert r.status == ERROR
    assert "KeyError" in r.message
    tb = r.tests[0].traceback
    assert "test_engine.py" in tb and 'df["nope"]' in tb
    assert "mlcourse/exercises" not in tb


def test_answer_that_mutates_its_input_cannot_change_the_reference():
    def means(df):
        result = df.mean().round(6).to_dict()
        df.iloc[:, :] = 0.0
        return result

    assert MEANS.run({"means": means}).status == PASSED


def test_shortcut_through_package_version_is_flagged():
    def means(df):
        return _col_means(df)

    r = MEANS.run({"means": means})
    assert r.status == FAILED and r.score == 0
    assert "already does what this exercise asks" in r.message


def test_seed_makes_messages_repeatable_and_grader_seed_changes_inputs():
    wrong = {"means": lambda df: {c: 0.0 for c in df.columns}}
    assert MEANS.run(wrong).message == MEANS.run(wrong).message
    a = MEANS.make_inputs(1)[1][0]
    b = MEANS.make_inputs(2)[1][0]
    assert not a.equals(b)


def test_probe_and_verdict_split_through_json():
    inputs = MEANS.make_inputs(123)
    probed = MEANS.probe({"means": right}, inputs)
    wire = json.loads(json.dumps(probed))
    assert MEANS.judge(wire, inputs).status == PASSED


def test_always_equal_object_gets_no_marks():
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    assert MEANS.run({"means": lambda df: AlwaysEqual()}).score == 0
    assert K.run({"k": AlwaysEqual()}).score == 0


def test_numpy_scalar_counts_as_number_but_string_does_not():
    assert K.run({"k": np.int64(5)}).status == PASSED
    r = K.run({"k": "5"})
    assert r.status == FAILED and "got a string" in r.message


@pytest.mark.parametrize(
    "probed",
    [None, {"answer": "present", "tests": "x"}, {"answer": "present", "tests": [1, 2]}, {"answer": "weird"}],
)
def test_malformed_probe_data_is_a_failure_not_a_crash(probed):
    r = MEANS.judge(probed, MEANS.make_inputs(0))
    assert r.status == FAILED and r.score == 0


def test_not_callable_answer():
    r = MEANS.run({"means": 3})
    assert r.status == FAILED and "should be a function" in r.message


def test_holds_free_form_test():
    ex = demo("sorted", "Sort", Function("f"), [
        holds("three lists", lambda f, _: [f([3, 1, 2]), f([]), f([1])],
              lambda got, _: None if got == [[1, 2, 3], [], [1]] else "not sorted"),
    ])
    assert ex.run({"f": sorted}).status == PASSED
    assert ex.run({"f": list}).message.endswith("not sorted")


def test_check_prints_status_and_records_progress(capsys):
    ns = {"means": right}
    exec("MEANS.check()", {"MEANS": MEANS, **ns})
    out = capsys.readouterr().out
    assert "passed" in out and "demo.means" in out
    assert progress.load()["demo.means"]["status"] == PASSED


def test_check_never_raises_even_if_the_check_breaks(capsys, monkeypatch):
    monkeypatch.setattr(Exercise, "run", lambda self, ns, seed=None: 1 / 0)
    exec("MEANS.check()", {"MEANS": MEANS})
    assert "the check itself failed" in capsys.readouterr().out


def test_hints_are_revealed_one_at_a_time(capsys):
    MEANS.hint()
    MEANS.hint()
    MEANS.hint()
    out = capsys.readouterr().out
    assert "Hint 1 of 2" in out and "Hint 2 of 2" in out and "last hint" in out
    assert progress.load()["demo.means"]["hints_shown"] == 2


def test_attempted_guard():
    def means(df):
        raise NotImplementedError("demo.means: not attempted yet. Replace this line with your code, then run the check cell.")

    assert stub_message("demo.means") in means.__code__.co_consts

    assert exec_attempted({"means": means}) is False
    assert exec_attempted({"means": right}) is True


def exec_attempted(ns):
    out = {}
    exec("out['v'] = MEANS.attempted()", {"MEANS": MEANS, "out": out, **ns})
    return out["v"]


def test_score_is_weighted_fraction():
    ex = demo("w", "w", Value("v"), [value_is("a", lambda: 1, weight=2), value_is("b", lambda: 3, probe=lambda v, _: v + 1)],
              points=3)
    r = ex.run({"v": 1})
    assert r.score == 2.0 and r.status == FAILED


def test_result_render_mentions_hint_on_failure():
    r = MEANS.run({"means": lambda df: {}})
    assert ".hint()" in r.render()
    assert engine.Result(**{**r.__dict__}).to_dict()["score"] == r.score


def test_shortcut_through_a_module_alias_or_a_helper_is_flagged(monkeypatch):
    import sys
    import types as _types

    fake = _types.ModuleType("mlcourse.fakestage")
    fake.col_means = _col_means
    monkeypatch.setitem(sys.modules, "mlcourse.fakestage", fake)
    ex = demo("means2", "Column means", Function("means"), MEANS.tests[:1], forbid=("mlcourse.fakestage.col_means",))
    ns: dict = {"fs": fake}
    exec("def helper(df):\n    return fs.col_means(df)\ndef means(df):\n    return helper(df)\n", ns)
    r = ex.run(ns)
    assert r.status == FAILED and "mlcourse.fakestage.col_means" in r.message
    ns2: dict = {}
    exec("def means(df):\n    return df.mean().round(6).to_dict()\n", ns2)
    assert ex.run(ns2).status == PASSED


def test_value_messages_never_reveal_the_expected_value():
    r = K.run({"k": 4})
    assert r.status == FAILED and "5" not in r.message and "4" in r.message
    assert "got a string" in K.run({"k": "x"}).message
    revealing = Exercise(id="demo.r", title="r", points=1, answer=Value("k"), tests=[value_is("k", lambda: 5, reveal=True)])
    assert "expected 5" in revealing.run({"k": 4}).message


# -- options the lessons use: inputs kept, public tests, review, forgotten return --------
def _without_nulls(df):
    return df.dropna().reset_index(drop=True)


NO_NULLS = demo("no_nulls", "Drop the rows with nulls, returning a new frame", Function("no_nulls"), [
    returns("a frame with one null", lambda rng: (pd.DataFrame({"a": [1.0, None, float(rng.integers(2, 9))]}),),
            _without_nulls, keeps_inputs=True, public=True),
    returns("an empty frame", lambda rng: (pd.DataFrame({"a": []}, dtype=float),), _without_nulls, keeps_inputs=True),
], points=2)


def test_an_answer_that_changes_its_input_in_place_fails_with_a_message_naming_it():
    def in_place(df):
        df.dropna(inplace=True)
        df.reset_index(drop=True, inplace=True)
        return df

    def copy_first(df):
        out = df.copy()
        out.dropna(inplace=True)
        return out.reset_index(drop=True)

    bad = NO_NULLS.run({"no_nulls": in_place})
    assert bad.status == FAILED and "changed its input in place" in bad.message and "df.copy()" in bad.message
    assert NO_NULLS.run({"no_nulls": copy_first}).status == PASSED
    assert NO_NULLS.run({"no_nulls": _without_nulls}).status == PASSED


def test_an_answer_that_mutates_and_returns_none_is_told_both_in_turn():
    def nothing(df):
        df.dropna(inplace=True)

    r = NO_NULLS.run({"no_nulls": nothing})
    assert r.status == FAILED and "changed its input in place" in r.message


def test_public_tests_are_the_ones_marked():
    assert NO_NULLS.public_tests == [0]
    assert MEANS.public_tests == []


def test_a_review_exercise_flags_attempted_answers_and_carries_their_text():
    essay = Exercise(
        id="demo.essay", title="Explain", points=2, answer=Value("essay"),
        tests=[holds("your text", probes_as_given(), lambda got, _: None if isinstance(got, str) else "write text")],
        review=True,
    )
    done = essay.run({"essay": "Because the labels arrive a week late."})
    assert done.needs_review and done.answer_text == "Because the labels arrive a week late."
    assert done.to_dict()["needs_review"] is True
    untouched = essay.run({"essay": ...})
    assert untouched.status == NOT_ATTEMPTED and not untouched.needs_review and untouched.answer_text == ""
    assert not MEANS.run({"means": right}).needs_review


def probes_as_given():
    from mlcourse.exercises import probes

    return probes.as_given


def test_a_function_that_returns_none_everywhere_is_told_it_forgot_return_even_behind_a_known_mistake():
    mistaken = Exercise(
        id="demo.double", title="Double", points=1, answer=Function("double"),
        tests=[
            holds(
                "two numbers",
                lambda fn, xs: [fn(x) for x in xs],
                lambda got, xs: None if got == [2 * x for x in xs] else "not doubled",
                inputs=lambda rng: [1, int(rng.integers(2, 9))],
            )
        ],
    )

    def no_return(x):
        x * 2

    r = mistaken.run({"double": no_return})
    assert r.status == FAILED and "not doubled" in r.message and "forget a `return`" in r.message
    r = mistaken.run({"double": lambda x: x * 3})
    assert "forget a `return`" not in r.message


def test_a_review_answer_text_is_the_whole_answer_readable():
    essay = Exercise(
        id="demo.essay", title="An answer in parts", points=1, answer=Value("essay"),
        tests=[holds("the parts", probes_as_given(), lambda got, _: None)], review=True,
    )
    long_text = "word " * 400
    answer = {"situation": long_text, "action": ["Data: we checked the labels.", "Training: a baseline first."]}
    text = essay.run({"essay": answer}).answer_text
    assert text.startswith("situation:\n" + long_text) and "action:\n- Data: we checked the labels." in text
    assert "__plain__" not in text and len(text) > 2_000


# -- what does not depend on the answer is computed once per (exercise, seed) -------------------
def test_inputs_and_references_are_computed_once_per_seed_however_often_the_learner_checks():
    calls = {"inputs": 0, "reference": 0}

    def inputs(rng):
        calls["inputs"] += 1
        return (pd.DataFrame({"a": rng.normal(size=5)}),)

    def reference(df):
        calls["reference"] += 1
        return df.mean().round(6).to_dict()

    ex = Exercise(id="demo.cached", title="c", points=1, answer=Function("means"), tests=[returns("a frame", inputs, reference)])
    for _ in range(3):
        assert ex.run({"means": right}).status == PASSED
        assert ex.run({"means": lambda df: {}}).status == FAILED
    assert calls == {"inputs": 1, "reference": 1}
    assert ex.run({"means": right}, seed=5).status == PASSED
    assert calls == {"inputs": 2, "reference": 2}
    assert ex.kept_inputs() is ex.kept_inputs() and ex.kept_inputs(5) is not ex.kept_inputs()


def test_an_answer_that_mutates_its_input_cannot_reach_the_kept_inputs_or_the_next_check():
    def vandal(df):
        result = df.mean().round(6).to_dict()
        df.iloc[:, :] = 99.0
        return result

    kept = pd.DataFrame(MEANS.kept_inputs()[1][0]).copy()
    assert MEANS.run({"means": vandal}).status == PASSED  # right values, computed on its own copy
    assert MEANS.kept_inputs()[1][0].equals(kept)
    seen = []
    assert MEANS.run({"means": lambda df: seen.append(df.copy()) or right(df)}).status == PASSED
    assert seen[1].equals(kept) and not (seen[1] == 99.0).any().any()


def test_a_value_exercise_computes_its_expected_value_once():
    calls = []
    ex = Exercise(id="demo.v1", title="v", points=1, answer=Value("v"), tests=[value_is("v", lambda: calls.append(1) or 7)])
    for v in (7, 8, 7):
        ex.run({"v": v})
    assert len(calls) == 1


def test_forgot_return_is_read_from_the_code_even_when_the_probe_gathers_several_results():
    gather = Exercise(
        id="demo.gather", title="g", points=1, answer=Function("f"),
        tests=[holds("two calls", lambda fn, _: {"first": fn(1), "second": fn(2), "n": 2},
                     lambda got, _: None if (got["first"], got["second"]) == (2, 4) else "not doubled")],
    )

    def no_return(x):
        x * 2

    def wrong_value(x):
        return x * 3

    r = gather.run({"f": no_return})
    assert r.status == FAILED and "forget a `return`" in r.message
    assert "forget a `return`" not in gather.run({"f": wrong_value}).message
    assert gather.probe({"f": no_return}, [None])["returns_value"] is False
    assert gather.probe({"f": wrong_value}, [None])["returns_value"] is True
    assert "returns_value" not in gather.probe({"f": len}, [None])  # a builtin: cannot tell, so nothing is said


def test_every_function_exercise_of_the_course_has_a_reference_that_returns_a_value():
    # The forgotten-return hint fires for any failing function without a `return` value:
    # it may never meet an exercise whose right answer has none.
    import ast

    from mlcourse.exercises import all_exercises
    from mlcourse.exercises.notebook import solution_source

    for _, ex in all_exercises():
        if ex.answer.kind != "function" or ex.answer.name.startswith("test_"):
            continue  # a pytest-style test function returns nothing by design: the hint is off for it
        tree = ast.parse(solution_source(ex.id))
        (fn,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == ex.answer.name]
        ns: dict = {}
        exec(compile(ast.Module(body=[fn], type_ignores=[]), "<solution>", "exec"), ns)
        assert engine.returns_a_value(ns[fn.name]), ex.id


def test_messages_never_show_plain_data_tags():
    pairs = Exercise(
        id="demo.pairs", title="p", points=1, answer=Function("pairs"),
        tests=[returns("a list", lambda rng: ([3, 1],), lambda xs: [(x, x * 2) for x in xs])],
    )
    r = pairs.run({"pairs": lambda xs: [(x, x) for x in xs]})
    assert r.status == FAILED and "__plain__" not in r.render() and "__plain__" not in r._repr_html_()
    r = pairs.run({"pairs": lambda xs: {1: (2, 3)}})
    assert "__plain__" not in r.message and "{1: (2, 3)}" in r.message


def test_verdicts_run_with_the_collector_paused_and_the_learner_code_without():
    import gc

    seen = {}

    def probe(f, _):
        seen["answer"] = gc.isenabled()
        return f([2, 1])

    def verdict(got, _):
        seen["verdict"] = gc.isenabled()
        return None if got == [1, 2] else "not sorted"

    ex = Exercise(id="demo.gc", title="Sort", points=1, answer=Function("f"), tests=[holds("a list", probe, verdict)])
    assert ex.run({"f": sorted}).status == PASSED
    assert seen == {"answer": True, "verdict": False} and gc.isenabled()
    assert ex.run({"f": lambda xs: 1 / 0}).status == ERROR and gc.isenabled()


def test_a_test_function_answer_is_never_told_it_forgot_return():
    def probe(f, _):
        try:
            f()
        except AssertionError:
            return "caught"
        return "missed"

    ex = Exercise(id="demo.tests", title="Write a test", points=1, answer=Function("test_it"),
                  tests=[holds("a fault", probe, lambda got, _: None if got == "caught" else "the fault got through")])

    def test_it():
        assert 1 + 1 == 2

    r = ex.run({"test_it": test_it})
    assert r.status == FAILED and "the fault got through" in r.message and "forget a `return`" not in r.message
