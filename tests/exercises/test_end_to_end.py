"""Lesson 05 (End to end) exercises, each tried three ways inside the lesson itself:
the learner's stub, the solution, and typical wrong answers."""
from __future__ import annotations

import numpy as np
import pytest

from mlcourse.exercises import exercises_of
from mlcourse.exercises.engine import ERROR, FAILED, NOT_ATTEMPTED, PASSED

LESSON = "05_end_to_end"

# A wrong answer uses MLflow's deprecated registry stages, which MLflow warns about.
pytestmark = pytest.mark.filterwarnings("ignore:.*transition_model_version_stage.*:FutureWarning")

# -- end_to_end.run_pipeline ---------------------------------------------------
_PIPELINE = """
def run_pipeline(df, production_rows=100, threshold=0.1):
    X = {X}
    y = df["target"].to_numpy()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state={split_seed})
    model = RandomForestClassifier({forest}).fit({fit})
    train_mean = float({train_mean})
    production_mean = float({production_mean})
    return {{
        "n_train": len(X_train), "n_test": len(X_test), "model": model,
        "accuracy": accuracy_score(y_test, model.predict(X_test)),
        "first_prediction": int(model.predict(X_test[:1])[0]),
        "train_mean": train_mean, "production_mean": production_mean,
        "drift_alert": abs(train_mean - production_mean) > threshold,
    }}
"""


def _pipeline(X='df.drop(columns="target").to_numpy()', split_seed="42",
              forest="n_estimators=100, max_depth=10, random_state=42", fit="X_train, y_train",
              train_mean="X_train.mean()", production_mean="X_test[:production_rows].mean()"):
    return _PIPELINE.format(X=X, split_seed=split_seed, forest=forest, fit=fit, train_mean=train_mean,
                            production_mean=production_mean)


PIPELINE_NO_SEED = _pipeline(forest="n_estimators=100, max_depth=10")
PIPELINE_SPLIT_SEED = _pipeline(split_seed="0")
PIPELINE_TARGET_AS_FEATURE = _pipeline(X="df.to_numpy()")
PIPELINE_FIT_ON_ALL = _pipeline(fit="X, y")
PIPELINE_PRODUCTION_ALL_TEST = _pipeline(production_mean="X_test.mean()")
PIPELINE_DEFAULT_DEPTH = _pipeline(forest="n_estimators=100, random_state=42")
PIPELINE_MEAN_WITH_TARGET = _pipeline(train_mean="np.column_stack([X_train, y_train]).mean()")
PIPELINE_POPS_TARGET = """
def run_pipeline(df, production_rows=100, threshold=0.1):
    y = df.pop("target").to_numpy()
    X = df.to_numpy()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
    model = RandomForestClassifier(n_estimators=100, max_depth=10, random_state=42).fit(X_train, y_train)
    train_mean, production_mean = float(X_train.mean()), float(X_test[:production_rows].mean())
    return {"n_train": len(X_train), "n_test": len(X_test), "model": model,
            "accuracy": accuracy_score(y_test, model.predict(X_test)), "first_prediction": int(model.predict(X_test[:1])[0]),
            "train_mean": train_mean, "production_mean": production_mean,
            "drift_alert": abs(train_mean - production_mean) > threshold}
"""
PIPELINE_NO_RETURN = """
def run_pipeline(df, production_rows=100, threshold=0.1):
    X = df.drop(columns="target").to_numpy()
    model = RandomForestClassifier(n_estimators=100, max_depth=10, random_state=42)
"""

# -- end_to_end.drifted_features -----------------------------------------------
DRIFT_GLOBAL_MEAN = """
def drifted_features(reference, current, alpha=0.05):
    moved = abs(reference.to_numpy().mean() - current.to_numpy().mean()) > 0.1
    return list(reference.columns) if moved else []
"""
DRIFT_REVERSED = """
def drifted_features(reference, current, alpha=0.05):
    return [c for c in reference.columns if ks_2samp(reference[c], current[c]).pvalue > alpha]
"""
DRIFT_MEAN_PER_FEATURE = """
def drifted_features(reference, current, alpha=0.05):
    return [c for c in reference.columns if abs(reference[c].mean() - current[c].mean()) > 0.4]
"""
DRIFT_STATISTIC = """
def drifted_features(reference, current, alpha=0.05):
    return [c for c in reference.columns if ks_2samp(reference[c], current[c]).statistic > alpha]
"""
DRIFT_SHORTCUT = """
def drifted_features(reference, current, alpha=0.05):
    return monitoring.drift_report(reference, current, tests="ks", thresholds={"ks": alpha}).drifted_features
"""
DRIFT_RETURNS_PVALUES = """
def drifted_features(reference, current, alpha=0.05):
    return {c: ks_2samp(reference[c], current[c]).pvalue for c in reference.columns}
"""

# -- end_to_end.promote --------------------------------------------------------
_PROMOTE = """
from mlflow.tracking import MlflowClient

def promote(model_uri, name):
    client = MlflowClient()
    version = mlflow.register_model(model_uri, name)
    aliases = client.get_registered_model(name).aliases
    {keep}
    {move}
    return {ret}
"""


def _promote(keep='if "production" in aliases:\n        client.set_registered_model_alias(name, "previous", aliases["production"])',
             move='client.set_registered_model_alias(name, "production", version.version)', ret="int(version.version)"):
    return _PROMOTE.format(keep=keep, move=move, ret=ret)


PROMOTE_NO_PREVIOUS = _promote(keep="pass")
PROMOTE_COUNTS_VERSIONS = _promote(
    keep='if int(version.version) > 1:\n        client.set_registered_model_alias(name, "previous", int(version.version) - 1)')
PROMOTE_STAGES = _promote(move='client.transition_model_version_stage(name, version.version, "Production")')
PROMOTE_NO_RETURN = _promote(ret="None")
PROMOTE_FIRST_TIME_CRASH = """
from mlflow.tracking import MlflowClient

def promote(model_uri, name):
    client = MlflowClient()
    old = client.get_model_version_by_alias(name, "production").version
    version = mlflow.register_model(model_uri, name)
    client.set_registered_model_alias(name, "previous", old)
    client.set_registered_model_alias(name, "production", version.version)
    return int(version.version)
"""
PROMOTE_RIGHT_CLIENT = """
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

def promote(model_uri, name):
    client = MlflowClient()
    try:
        client.create_registered_model(name)
    except MlflowException:
        pass                                     # registered before
    try:
        live = client.get_model_version_by_alias(name, "production").version
    except MlflowException:
        live = None                              # nothing in production yet
    new = client.create_model_version(name, source=model_uri)
    if live is not None:
        client.set_registered_model_alias(name, "previous", live)
    client.set_registered_model_alias(name, "production", new.version)
    return str(new.version)
"""
PROMOTE_RIGHT_RETURNS_VERSION = """
def promote(model_uri, name):
    client = mlflow.MlflowClient()
    before = client.get_registered_model(name).aliases if client.search_registered_models(f"name = '{name}'") else {}
    registered = mlflow.register_model(model_uri, name)
    for alias, version in (("previous", before.get("production")), ("production", registered.version)):
        if version is not None:
            client.set_registered_model_alias(name, alias, version)
    return client.get_model_version(name, registered.version)
"""

# -- end_to_end.plan_retraining ------------------------------------------------
_PLAN = """
def plan_retraining(state, max_drop=0.1, max_drift_share=0.5, train_days=14, min_train_days=7):
    performance, drift = state["performance"], state["drift_share"]
    dropped = {dropped}
    drifted = drift is not None and drift >= max_drift_share
    if not (dropped or drifted):
        return {{"retrain": False, "window": None}}
    labelled_until = {labelled_until}
    start = labelled_until - train_days
    if state["drift_start_day"] is not None:
        start = {start}
    if {enough}:
        return {{"retrain": False, "window": None}}
    return {{"retrain": True, "window": [start, labelled_until]}}
"""


def _plan(dropped='performance is not None and state["baseline_performance"] - performance >= max_drop',
          labelled_until='state["today"] - state["label_delay_days"]',
          start='max(start, state["drift_start_day"])',
          enough="labelled_until - start < min_train_days"):
    return _PLAN.format(dropped=dropped, labelled_until=labelled_until, start=start, enough=enough)


PLAN_ENDS_TODAY = _plan(labelled_until='state["today"]')
PLAN_IGNORES_DRIFT = _plan(start="start")
PLAN_NO_MINIMUM = _plan(enough="False")
PLAN_MIN_NOT_MAX = _plan(start='min(start, state["drift_start_day"])')
PLAN_STRICT = _plan(dropped='performance is not None and state["baseline_performance"] - performance > max_drop')
PLAN_NONE_CRASH = _plan(dropped='state["baseline_performance"] - performance >= max_drop')
PLAN_RETURNS_BOOL = """
def plan_retraining(state, max_drop=0.1, max_drift_share=0.5, train_days=14, min_train_days=7):
    return state["drift_share"] is not None and state["drift_share"] >= max_drift_share
"""

RIGHT = {
    "end_to_end.run_pipeline": [
        """
def run_pipeline(df, production_rows=100, threshold=0.1):
    X, y = df.drop(columns="target"), df["target"]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
    model = RandomForestClassifier(random_state=42, max_depth=10, n_estimators=100)
    model.fit(X_train, y_train)
    train_mean = X_train.to_numpy().mean()
    production_mean = X_test.iloc[:production_rows].to_numpy().mean()
    return dict(n_train=len(X_train), n_test=len(X_test), model=model, accuracy=model.score(X_test, y_test),
                first_prediction=model.predict(X_test.iloc[[0]])[0].item(), train_mean=float(train_mean),
                production_mean=float(production_mean), drift_alert=bool(abs(train_mean - production_mean) > threshold))
""",
        """
def run_pipeline(df, production_rows=100, threshold=0.1):
    features = [c for c in df.columns if c != "target"]
    X_train, X_test, y_train, y_test = train_test_split(df[features].values, df["target"].values, test_size=0.2,
                                                        random_state=42)
    forest = RandomForestClassifier(n_estimators=100, max_depth=10, random_state=42).fit(X_train, y_train)
    predictions = forest.predict(X_test)
    means = np.mean(X_train), np.mean(X_test[0:production_rows])
    return {"n_train": X_train.shape[0], "n_test": X_test.shape[0], "model": forest,
            "accuracy": float((predictions == y_test).mean()), "first_prediction": int(predictions[0]),
            "train_mean": float(means[0]), "production_mean": float(means[1]),
            "drift_alert": bool(abs(means[0] - means[1]) > threshold)}
""",
    ],
    "end_to_end.drifted_features": [
        """
from scipy import stats

def drifted_features(reference, current, alpha=0.05):
    drifted = []
    for column in reference.columns:
        result = stats.kstest(reference[column].to_numpy(), current[column].to_numpy())  # two samples: KS 2-sample
        if result.pvalue <= alpha:
            drifted.append(column)
    return drifted
""",
        """
def drifted_features(reference, current, alpha=0.05):
    p_values = {c: ks_2samp(reference[c], current[c], method="auto").pvalue for c in current.columns}
    return [c for c in reference.columns if p_values[c] <= alpha]
""",
    ],
    "end_to_end.promote": [PROMOTE_RIGHT_CLIENT, PROMOTE_RIGHT_RETURNS_VERSION],
    "end_to_end.plan_retraining": [
        """
def plan_retraining(state, max_drop=0.1, max_drift_share=0.5, train_days=14, min_train_days=7):
    wait = {"retrain": False, "window": None}
    fired = False
    if state["performance"] is not None and state["baseline_performance"] - state["performance"] >= max_drop:
        fired = True
    if state["drift_share"] is not None and state["drift_share"] >= max_drift_share:
        fired = True
    if not fired:
        return wait
    end = state["today"] - state["label_delay_days"]
    begin = end - train_days if state["drift_start_day"] is None else max(end - train_days, state["drift_start_day"])
    return wait if end - begin < min_train_days else {"retrain": True, "window": [begin, end]}
""",
        """
def plan_retraining(state, max_drop=0.1, max_drift_share=0.5, train_days=14, min_train_days=7):
    s = dict(state)
    drop = None if s["performance"] is None else s["baseline_performance"] - s["performance"]
    triggers = [drop is not None and drop >= max_drop, (s["drift_share"] or 0) >= max_drift_share]
    labelled_until = s["today"] - s["label_delay_days"]
    starts = [labelled_until - train_days] + ([s["drift_start_day"]] if s["drift_start_day"] is not None else [])
    start = max(starts)
    if any(triggers) and labelled_until - start >= min_train_days:
        return {"retrain": True, "window": (start, labelled_until)}
    return {"retrain": False, "window": None}
""",
    ],
}

WRONG = {
    "end_to_end.run_pipeline": [
        PIPELINE_NO_SEED, PIPELINE_SPLIT_SEED, PIPELINE_TARGET_AS_FEATURE, PIPELINE_FIT_ON_ALL,
        PIPELINE_PRODUCTION_ALL_TEST, PIPELINE_DEFAULT_DEPTH, PIPELINE_MEAN_WITH_TARGET, PIPELINE_NO_RETURN,
        PIPELINE_POPS_TARGET,
    ],
    "end_to_end.promote": [PROMOTE_NO_PREVIOUS, PROMOTE_COUNTS_VERSIONS, PROMOTE_STAGES, PROMOTE_NO_RETURN,
                           PROMOTE_FIRST_TIME_CRASH],
    "end_to_end.drifted_features": [
        DRIFT_GLOBAL_MEAN, DRIFT_REVERSED, DRIFT_MEAN_PER_FEATURE, DRIFT_STATISTIC, DRIFT_SHORTCUT,
        DRIFT_RETURNS_PVALUES,
    ],
    "end_to_end.plan_retraining": [
        PLAN_ENDS_TODAY, PLAN_IGNORES_DRIFT, PLAN_NO_MINIMUM, PLAN_MIN_NOT_MAX, PLAN_STRICT, PLAN_NONE_CRASH,
        PLAN_RETURNS_BOOL,
    ],
}


def test_every_exercise_is_walked(tried):
    assert sorted(tried) == sorted(e.id for e in exercises_of(LESSON)) == sorted(WRONG) == sorted(RIGHT)
    assert all(len(RIGHT[k]) >= 2 and len(WRONG[k]) >= 3 for k in WRONG)


@pytest.mark.parametrize("ex_id", sorted(RIGHT))
def test_answers_written_differently_get_full_marks(tried, ex_id):
    for result in tried[ex_id].right:
        assert result.status == PASSED and result.score == result.points, result.render()


@pytest.mark.parametrize("ex_id", [e.id for e in exercises_of(LESSON)])
def test_stub_is_not_attempted_and_solution_gets_full_marks(tried, ex_id):
    t = tried[ex_id]
    assert t.stub.status == NOT_ATTEMPTED and t.stub.score == 0
    assert t.solution.status == PASSED, t.solution.render()
    assert t.solution.score == t.solution.points


# What each wrong answer (by its place in WRONG) must be told.
TOLD = {
    "end_to_end.run_pipeline": [
        "no random_state",
        "random_state=42",
        "the target among them",
        "trained on all 2000 rows",
        "all 400 test rows",
        "max_depth=None",
        "includes the 0/1 target column",
        "returned None",
        "changed the table it was given",
    ],
    "end_to_end.drifted_features": [
        "opposite shifts cancel out",
        "exactly the features that did NOT drift",
        "spread out around the same mean",
        "not its statistic",
        "Write the logic yourself",
        "must return a list of feature names",
    ],
    "end_to_end.promote": [
        "has no alias 'previous' now",
        "the newest before yours",
        "Stages are deprecated",
        "returned None",
        "MlflowException",
    ],
    "end_to_end.plan_retraining": [
        "have no labels yet",
        "before the drift on day 21",
        "Only 2 labelled day(s) since the drift on day 21",
        "Start at max(labelled_until - train_days, drift_start_day)",
        "compare with >=",
        "performance is None",
        "must return a dict",
    ],
}


def _wrong(tried, ex_id, i):
    result = tried[ex_id].wrong[i]
    assert result.status in (FAILED, ERROR), result.render()
    assert result.score < result.points
    return result


@pytest.mark.parametrize(("ex_id", "i", "expected"), [(ex_id, i, e) for ex_id, told in TOLD.items() for i, e in enumerate(told)])
def test_mistakes_are_named(tried, ex_id, i, expected):
    result = _wrong(tried, ex_id, i)
    assert expected in result.message, result.message


# -- end_to_end.run_pipeline ---------------------------------------------------
def test_run_pipeline_split_seed_message_points_at_the_split(tried):
    result = _wrong(tried, "end_to_end.run_pipeline", 1)
    assert "test_size=0.2, random_state=42" in result.message
    assert "the outline's table" in result.message


def test_run_pipeline_fresh_table_is_named(tried):
    result = _wrong(tried, "end_to_end.run_pipeline", 4)
    fresh = [t for t in result.tests if t.name == "a fresh make_classification table"][0]
    assert fresh.status == FAILED and "production_rows=" in fresh.message


# -- end_to_end.drifted_features -----------------------------------------------
def test_drifted_features_global_mean_fails_every_drifted_batch(tried):
    result = _wrong(tried, "end_to_end.drifted_features", 0)
    by_name = {t.name: t.status for t in result.tests}
    assert by_name["a batch where opposite shifts cancel in the global mean"] == FAILED
    assert by_name["another such batch, tested at alpha=0.01"] == FAILED


# -- end_to_end.promote --------------------------------------------------------
def test_promote_mistakes_earn_nothing_but_two_right_by_chance(tried):
    # Counting versions is right while production is the newest version; reading a missing alias breaks only
    # the first promotion of a model.
    for i, result in enumerate(tried["end_to_end.promote"].wrong):
        assert result.score == 0 or i in (1, 4), (i, result.render())


def test_promote_visible_example_alone_earns_nothing():
    from mlcourse.exercises.end_to_end import checks as end_to_end

    assert end_to_end.promote.public_tests == [0] and end_to_end.promote.tests[0].weight == 0


# -- end_to_end.plan_retraining ------------------------------------------------
def test_plan_retraining_none_crash_is_an_error_on_the_edge_cases(tried):
    result = _wrong(tried, "end_to_end.plan_retraining", 5)
    assert result.status == ERROR
    assert {t.name: t.status for t in result.tests}["edge cases"] == ERROR


def test_plan_retraining_strict_comparison_fails_only_the_edge_cases(tried):
    result = _wrong(tried, "end_to_end.plan_retraining", 4)
    assert {t.name: t.status for t in result.tests} == {
        "the feedback loop's own situations": PASSED,
        "fresh monitoring states": PASSED,
        "edge cases": FAILED,
    }
    assert 0 < result.score < result.points


def test_plan_retraining_min_instead_of_max_is_explained():
    from mlcourse.exercises.end_to_end import checks as end_to_end
    from mlcourse.exercises.end_to_end import probes

    case = end_to_end._loop_cases(None)[-1]  # day 49, drift on day 21: the full window is after the drift
    got = [{"retrain": True, "window": [21, 42], "keys": ["retrain", "window"]}]
    message = probes.plan_verdict(got, [case], end_to_end._expected_plans([case]))
    assert "expected {'retrain': True, 'window': [28, 42]}" in message and "not min(...)" in message


# -- the in-process client, used by the lesson when httpx is missing -----------
def test_in_process_client_answers_like_the_test_client(tmp_path):
    from fastapi.testclient import TestClient
    from sklearn.linear_model import LogisticRegression

    from mlcourse.deploy.app import create_app
    from mlcourse.deploy.service import ModelService
    from mlcourse.exercises.end_to_end import InProcessClient

    model = LogisticRegression().fit([[0.0], [10.0]], [0, 1])
    def app():
        return create_app(ModelService(model, ["amount"], version="demo:v1"), prediction_log=False)

    # One app each: an app makes a request id it has already seen unique, and both clients send the same ids.
    ours, theirs = InProcessClient(app()), TestClient(app())
    for i, (method, path, body) in enumerate([
        ("post", "/predict", {"amount": 9.0}),
        ("post", "/predict", {"amount": "nine"}),
        ("post", "/predict/batch", {"records": [{"amount": 1.0}, {"amount": 8.0}]}),
        ("get", "/health", None),
    ]):
        headers = {"X-Request-Id": f"same-id-{i}"}
        if method == "post":
            a, b = ours.post(path, json=body, headers=headers), theirs.post(path, json=body, headers=headers)
        else:
            a, b = ours.get(path, headers=headers), theirs.get(path, headers=headers)
        assert a.status_code == b.status_code
        got, want = a.json(), b.json()
        got.pop("uptime_s", None), want.pop("uptime_s", None)
        assert got == want
        assert a.headers.get("X-Model-Version") == b.headers.get("x-model-version")


# -- the same verdict on every secret seed -------------------------------------------
SEEDS = [int(s) for s in np.random.default_rng(20261205).integers(0, 2**31 - 1, 30)]
SEEDED_WRONG = {
    "end_to_end.run_pipeline": [PIPELINE_PRODUCTION_ALL_TEST, PIPELINE_MEAN_WITH_TARGET, PIPELINE_POPS_TARGET],
    "end_to_end.drifted_features": [DRIFT_GLOBAL_MEAN, DRIFT_MEAN_PER_FEATURE, DRIFT_STATISTIC],
    "end_to_end.promote": [PROMOTE_NO_PREVIOUS, PROMOTE_COUNTS_VERSIONS, PROMOTE_STAGES],
    "end_to_end.plan_retraining": [PLAN_ENDS_TODAY, PLAN_NO_MINIMUM, PLAN_STRICT],
}


@pytest.mark.parametrize("ex_id", sorted(SEEDED_WRONG))
def test_every_answer_gets_the_same_verdict_on_every_seed(seeded, ex_id, expect):
    expect.one_verdict_per_answer(seeded[ex_id], n_right=1 + len(RIGHT[ex_id]))  # the solution, then the alternatives


# -- the grader gives the notebook check's verdicts ----------------------------------
def test_the_grader_gives_the_notebook_check_s_verdicts(tried, grade_solutions, expect):
    wrong = {"end_to_end.promote": PROMOTE_NO_PREVIOUS, "end_to_end.run_pipeline": PIPELINE_DEFAULT_DEPTH}
    graded = grade_solutions(LESSON, wrong)
    right = tried["end_to_end.plan_retraining"].solution
    expect.graded_as_in_notebook(graded, {"end_to_end.plan_retraining": right,
                                          **{ex: tried[ex].wrong[WRONG[ex].index(source)] for ex, source in wrong.items()}})
    assert all(graded[ex_id].status == FAILED for ex_id in wrong), [graded[ex_id].render() for ex_id in wrong]
    assert "has no alias 'previous' now" in graded["end_to_end.promote"].message
    assert "max_depth=None" in graded["end_to_end.run_pipeline"].message
    assert (right.status, right.score) == (PASSED, right.points)
