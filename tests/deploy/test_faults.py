"""mlcourse.deploy.faults: the pipeline under test, its faults, and the runner of pytest-style tests."""
from __future__ import annotations

import numpy as np
import pytest

from mlcourse.deploy import faults
from mlcourse.deploy.faults import Fault, build, collect, run_tests
from mlcourse.train.fraud_model import FEATURES

N = 1_500


def _records(system, n=20):
    return system.data[FEATURES].head(n).to_dict("records")


def test_the_same_arguments_give_the_same_pipeline_and_tests_get_copies():
    a, b = build(5, n_rows=N), build(5, n_rows=N)
    rows = a.data[FEATURES].head(30)
    assert np.array_equal(a.model.predict_proba(rows), b.model.predict_proba(rows))
    given = a.fixtures()
    given["data"]["amount"] = -1.0
    assert (a.data["amount"] > 0).all()  # a test that changes its data cannot change the next test's


def test_the_correct_pipelines_two_paths_agree_and_skew_changes_only_the_online_one():
    correct = build(2, n_rows=N)
    batch = correct.model.predict_proba(correct.data[FEATURES].head(20))[:, 1]
    assert np.allclose([correct.serve(r) for r in _records(correct)], batch, rtol=0, atol=1e-9)
    skewed = build(2, Fault("cents", skew=("amount", 100.0, 0.0)), n_rows=N)
    assert np.array_equal(skewed.model.predict_proba(skewed.data[FEATURES].head(20))[:, 1], batch)
    assert not np.allclose([skewed.serve(r) for r in _records(skewed)], batch, atol=1e-6)


def test_faults_change_what_they_say():
    ignoring = build(2, Fault("no amount", ignore=("amount",)), n_rows=N)
    rows = ignoring.data[FEATURES].head(50)
    p = ignoring.model.predict_proba(rows)[:, 1]
    assert np.array_equal(ignoring.model.predict_proba(rows.assign(amount=rows["amount"] * 3))[:, 1], p)
    flipped = build(2, Fault("flipped", flip_labels=True), n_rows=N)
    assert flipped.data["is_fraud"].mean() > 0.5 > build(2, n_rows=N).data["is_fraud"].mean()
    strict = build(2, Fault("strict", unknown="error"), n_rows=N)
    with pytest.raises(ValueError, match="unknown categories"):
        strict.model.predict_proba(rows.head(1).assign(country="ZZ"))
    assert np.isfinite(build(2, n_rows=N).model.predict_proba(rows.head(1).assign(country="ZZ"))).all()


def test_the_online_path_does_not_tell_which_fault_it_carries():
    served = build(2, Fault("cents", skew=("amount", 100.0, 0.0)), n_rows=N).fixtures()["serve"]
    assert not hasattr(served, "__self__")
    assert "cents" not in repr([c.cell_contents for c in served.__closure__ or ()])


@pytest.mark.parametrize("bad", [dict(ignore=("colour",)), dict(unknown="maybe"), dict(skew=("channel", 2.0, 0.0))])
def test_a_fault_that_makes_no_sense_is_refused_with_its_setting_named(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        Fault("x", **bad)


def test_the_runner_reports_pytest_outcomes_as_plain_data():
    import pytest as real_pytest

    @real_pytest.fixture
    def few(data):
        yield data.head(5)

    def test_passes(model, few):
        assert len(model.predict_proba(few)) == 5

    def test_fails(serve, data):
        assert serve(data[FEATURES].iloc[0].to_dict()) > 2, "no probability is above 2"

    def test_crashes(model):
        model.predict_proba("not a frame")

    @real_pytest.mark.parametrize("hour", [3, 30])
    def test_hours(hour):
        assert 0 <= hour <= 23

    @real_pytest.mark.skip(reason="later")
    def test_skipped():
        raise AssertionError

    def test_unknown_fixture(owl):
        pass

    namespace = {"few": few, "test_passes": test_passes, "test_fails": test_fails, "test_crashes": test_crashes,
                 "test_hours": test_hours, "test_skipped": test_skipped, "test_unknown_fixture": test_unknown_fixture,
                 "helper": lambda: None}
    outcomes = run_tests(collect(namespace), build(1, n_rows=N), namespace)
    got = {o["test"]: o["outcome"] for o in outcomes}
    assert got == {"test_passes": "passed", "test_fails": "failed", "test_crashes": "failed", "test_hours[3]": "passed",
                   "test_hours[30]": "failed", "test_skipped": "skipped", "test_unknown_fixture": "error"}
    by_name = {o["test"]: o for o in outcomes}
    assert "no probability is above 2" in by_name["test_fails"]["error"]
    assert by_name["test_crashes"]["error"].startswith("TypeError") and "not a frame" in by_name["test_crashes"]["line"]
    assert "fixture 'owl' not found" in by_name["test_unknown_fixture"]["error"]
    assert all(isinstance(v, str) for o in outcomes for v in o.values())


def test_the_lessons_faults_are_not_the_graders():
    from mlcourse.exercises.deploy.checks import GRADED_FAULTS

    graded = {f.plain()["name"] for f, _ in GRADED_FAULTS.values()}
    assert not graded & {f.name for f in faults.LESSON_FAULTS}
    assert not {tuple(f.ignore) for f, _ in GRADED_FAULTS.values() if f.ignore} & {tuple(f.ignore) for f in faults.LESSON_FAULTS}
