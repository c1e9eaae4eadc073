"""Lesson 03 (Deploy) exercises, each tried three ways inside the lesson itself:
the learner's stub, the solution, and typical wrong answers with the message that names the mistake."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlcourse.exercises import exercises_of
from mlcourse.exercises.engine import ERROR, FAILED, NOT_ATTEMPTED, PASSED, stub_message
from mlcourse.exercises.testing import module_from_file, walk

answers = module_from_file(Path(__file__).with_name("deploy_answers.py"))


def _bank(ex_id: str, i: int) -> str:
    """The bank's ``i``-th typical wrong answer to ``ex_id``, checked here for its whole message."""
    return answers.BANK[ex_id][1][i].source


# -- deploy.save_with_hash / deploy.load_verified ----------------------------------------------
SAVE_PICKLE_HASH = _bank("deploy.save_with_hash", 0)  # you hashed pickle.dumps(model), not the file
SAVE_PATH_HASH = _bank("deploy.save_with_hash", 1)  # you hashed the path string
SAVE_PLUS_JSON = '''
def save_with_hash(model, path, metadata):
    joblib.dump(model, path)
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    record = {**metadata, "sha256": digest,
              "versions": {"sklearn": sklearn.__version__, "numpy": np.__version__, "joblib": joblib.__version__}}
    with open(path + ".json", "w") as f:
        json.dump(record, f)
    return record
'''
SAVE_NO_VERSIONS = _bank("deploy.save_with_hash", 2)  # no 'versions' dict
SAVE_SHORTCUT = '''
from mlcourse.deploy import registry
def save_with_hash(model, path, metadata):
    mv = registry.save_model(model, "x", registry=str(path) + "-reg")
    return mv.metadata
'''
LOAD_THEN_CHECK = _bank("deploy.load_verified", 0)  # but only after loading it
LOAD_NO_CHECK = _bank("deploy.load_verified", 1)  # without checking its hash first: loading it ran code
LOAD_ASSERT = _bank("deploy.load_verified", 3)  # python -O
LOAD_TEXT_MODE = _bank("deploy.load_verified", 4)  # an intact model was refused
LOAD_SHORTCUT = '''
def load_verified(path):
    from mlcourse.deploy.registry import load_model
    return load_model(path)
'''
VR_BOOL = _bank("deploy.validate_record", 0)  # bool is a subclass of int
VR_NAN_EQ = _bank("deploy.validate_record", 1)  # NaN compares unequal to everything
VR_ISNAN = _bank("deploy.validate_record", 2)  # math.isnan(inf) is False
VR_FIRST = _bank("deploy.validate_record", 7)  # report all of them
VR_NO_UNKNOWN = _bank("deploy.validate_record", 5)  # a typo in a client's field name
# None taken for missing, and a number given as text converted instead of refused
VR_COERCE = answers._VR_BASE.replace("if n not in record:", "if n not in record or record[n] is None:").replace(
    "            if isinstance(v, bool) or not isinstance(v, (int, float)):\n",
    "            try:\n                v = float(v)\n            except (TypeError, ValueError):\n"
    "                problems.append((n, \"wrong_type\")); continue\n            if isinstance(record[n], bool):\n",
)
VR_NONE_MISSING = _bank("deploy.validate_record", 6)  # 'missing' is for absent keys
VR_CRASH = VR_BOOL.replace(
    'if not isinstance(v, (int, float)):\n                problems.append((n, "wrong_type"))\n            elif not math.isfinite(v):',
    'if not math.isfinite(v):',
)
CH_DROP_LAST = _bank("deploy.score_in_chunks", 0)  # the last, partial chunk
CH_LOC = '''
def score_in_chunks(model, frame, chunk_size=1000, id_column="transaction_id"):
    parts = []
    for start in range(0, len(frame), chunk_size):
        chunk = frame.loc[start:start + chunk_size - 1]
        if len(chunk):
            parts.append(pd.DataFrame({id_column: chunk[id_column].to_numpy(),
                                       "score": model.predict_proba(chunk.drop(columns=[id_column]))[:, 1]}))
    return pd.concat(parts, ignore_index=True)
'''
CH_ALL_AT_ONCE = _bank("deploy.score_in_chunks", 1)  # score at most chunk_size rows per call
CH_SORTED = _bank("deploy.score_in_chunks", 2)  # sorted by id, not in the input's order
CH_LABELS = _bank("deploy.score_in_chunks", 5)  # 0/1 labels
CH_WITH_ID = CH_SORTED.replace("    frame = frame.sort_values(id_column)\n", "").replace("chunk.drop(columns=[id_column])", "chunk")
CH_MISALIGNED = '''
def score_in_chunks(model, frame, chunk_size=1000, id_column="transaction_id"):
    scores = []
    for start in range(0, len(frame), chunk_size):
        chunk = frame.iloc[start:start + chunk_size]
        scores.append(pd.Series(model.predict_proba(chunk.drop(columns=[id_column]))[:, 1]))
    out = frame[[id_column]].copy()
    out["score"] = pd.concat(scores, ignore_index=True)
    return out
'''
G_NO_BEHAVIOUR = _bank("deploy.promotion_gate", 0)  # a better PR-AUC does not excuse a failed behavioural test
G_NO_MIN_GAIN = '''
def promotion_gate(y_true, incumbent_scores, candidate_scores, behaviour, min_gain=0.01):
    gain = average_precision_score(y_true, candidate_scores) - average_precision_score(y_true, incumbent_scores)
    reasons = [] if gain > 0 else [f"PR-AUC gain {gain:.4f}"]
    reasons += [f"failed: {n}" for n, ok in behaviour.items() if not ok]
    if not behaviour:
        reasons.append("no behavioural tests")
    return not reasons, reasons
'''
G_ALL_EMPTY = '''
def promotion_gate(y_true, incumbent_scores, candidate_scores, behaviour, min_gain=0.01):
    gain = average_precision_score(y_true, candidate_scores) - average_precision_score(y_true, incumbent_scores)
    reasons = [] if gain >= min_gain else [f"PR-AUC gain {gain:.4f}"]
    reasons += [f"failed: {n}" for n, ok in behaviour.items() if not ok]
    return all(behaviour.values()) and gain >= min_gain, reasons
'''
G_ROC = (
    ("from sklearn.metrics import roc_auc_score\n" + G_ALL_EMPTY)
    .replace("average_precision_score", "roc_auc_score")
    .replace(
        "return all(behaviour.values()) and gain >= min_gain, reasons",
        "if not behaviour:\n        reasons.append('no tests')\n    return not reasons, reasons",
    )
)
G_FIRST_REASON = _bank("deploy.promotion_gate", 5)  # Report every failure, not only the first
G_SWAPPED = (
    G_ALL_EMPTY.replace(
        "average_precision_score(y_true, candidate_scores) - average_precision_score(y_true, incumbent_scores)",
        "average_precision_score(y_true, incumbent_scores) - average_precision_score(y_true, candidate_scores)",
    )
    .replace(
        "return all(behaviour.values()) and gain >= min_gain, reasons",
        "if not behaviour:\n        reasons.append('no tests')\n    return not reasons, reasons",
    )
)
R_RANDOM = _bank("deploy.route", 0)  # not sticky
R_HASH = _bank("deploy.route", 1)  # PYTHONHASHSEED
R_ORD_SUM = _bank("deploy.route", 2)  # should reach the candidate
R_MODULO = '''
def route(user_id, fraction):
    h = int(hashlib.sha256(user_id.encode()).hexdigest(), 16)
    return "candidate" if fraction > 0 and h % round(1 / fraction) == 0 else "incumbent"
'''
R_BOOL = _bank("deploy.route", 3)  # 'candidate' or 'incumbent'
R_SHORTCUT = '''
from mlcourse.deploy.rollout import routes_to_candidate
def route(user_id, fraction):
    return "candidate" if routes_to_candidate(user_id, fraction) else "incumbent"
'''
RB_COUNTS = _bank("deploy.should_rollback", 0)  # compare error *rates*
RB_NO_WAIT = _bank("deploy.should_rollback", 1)  # wait and return False until it has served min_requests
RB_ZERO_DIV = _bank("deploy.should_rollback", 2)  # guard the division
RB_GE = _bank("deploy.should_rollback", 3)  # *more than*
RB_SHORTCUT = '''
def should_rollback(incumbent, candidate, min_requests=100, max_error_increase=0.01, max_p95_increase_ms=20.0):
    return bool(rollout.should_rollback(incumbent, candidate, rollout.RollbackRule(min_requests, max_error_increase, max_p95_increase_ms)))
'''
RB_DECISION = '''
def should_rollback(incumbent, candidate, min_requests=100, max_error_increase=0.01, max_p95_increase_ms=20.0):
    if candidate["requests"] < min_requests:
        return "keep"
    rate = lambda s: s["errors"] / s["requests"] if s["requests"] else 0.0
    if rate(candidate) - rate(incumbent) > max_error_increase:
        return "rollback"
    return "rollback" if candidate["p95_ms"] - incumbent["p95_ms"] > max_p95_increase_ms else "keep"
'''

S_SHORTCUT = '''
def make_app(model):
    from mlcourse.deploy.service import ModelService
    return create_app(ModelService(model, FEATURES), prediction_log=False)
'''
SL_NONE = answers._SLICE_BASE.replace("    return len(reasons) == 0, reasons", "    print(reasons)")
_STUB = stub_message("deploy.pipeline_tests")
T_STUBS_LEFT = f'''
def test_data(data):
    assert 0.005 <= data["is_fraud"].mean() <= 0.10

def test_minimum_functionality(model):
    raise NotImplementedError("{_STUB}")

def test_invariance(model, serve, data):
    raise NotImplementedError("{_STUB}")

def test_directional(model, data):
    raise NotImplementedError("{_STUB}")
'''

# The answers written for this file (above), each checked for its own message below.
OWN = {
    "deploy.save_with_hash": [SAVE_PICKLE_HASH, SAVE_PATH_HASH, SAVE_PLUS_JSON, SAVE_NO_VERSIONS, SAVE_SHORTCUT],
    "deploy.load_verified": [LOAD_THEN_CHECK, LOAD_NO_CHECK, LOAD_ASSERT, LOAD_TEXT_MODE, LOAD_SHORTCUT],
    "deploy.validate_record": [VR_BOOL, VR_NAN_EQ, VR_ISNAN, VR_FIRST, VR_NO_UNKNOWN, VR_COERCE, VR_NONE_MISSING,
                               VR_CRASH],
    "deploy.serve_app": [S_SHORTCUT],
    "deploy.score_in_chunks": [CH_DROP_LAST, CH_LOC, CH_ALL_AT_ONCE, CH_SORTED, CH_LABELS, CH_WITH_ID, CH_MISALIGNED],
    "deploy.pipeline_tests": [T_STUBS_LEFT],
    "deploy.promotion_gate": [G_NO_BEHAVIOUR, G_NO_MIN_GAIN, G_ALL_EMPTY, G_ROC, G_FIRST_REASON, G_SWAPPED],
    "deploy.slice_gate": [SL_NONE],
    "deploy.route": [R_RANDOM, R_HASH, R_ORD_SUM, R_MODULO, R_BOOL, R_SHORTCUT],
    "deploy.should_rollback": [RB_COUNTS, RB_NO_WAIT, RB_ZERO_DIV, RB_GE, RB_SHORTCUT, RB_DECISION],
}
# Then the shared bank's typical wrong answers and correct alternatives (tests/exercises/deploy_answers.py). The
# alternatives come last: a name one of them adds (a test function of its own) stays in the lesson's namespace.
WRONG = {
    ex_id: [*own, *(w.source for w in answers.BANK[ex_id][1]), *answers.BANK[ex_id][0]] for ex_id, own in OWN.items()
}


def _split(tried, ex_id):
    """(own answers, bank alternatives, bank wrong answers) of one exercise's results."""
    results = tried[ex_id].wrong
    n_own, n_wrong = len(OWN[ex_id]), len(answers.BANK[ex_id][1])
    return results[:n_own], results[n_own + n_wrong:], results[n_own:n_own + n_wrong]


@pytest.fixture(scope="module")
def tried():
    return walk("03_deploy", WRONG)


def test_every_exercise_of_the_lesson_is_tried(tried):
    assert set(tried) == {e.id for e in exercises_of("03_deploy")} == set(WRONG) == set(answers.BANK)


@pytest.mark.parametrize("ex_id", sorted(WRONG))
def test_alternative_answers_get_full_marks_in_the_lesson(tried, ex_id):
    _, alternatives, _ = _split(tried, ex_id)
    assert len(alternatives) >= 2
    for r in alternatives:
        assert r.status == PASSED and r.score == r.points, r.message


@pytest.mark.parametrize("ex_id", sorted(WRONG))
def test_typical_wrong_answers_fail_with_their_message_in_the_lesson(tried, ex_id):
    _, _, wrong = _split(tried, ex_id)
    assert len(wrong) >= 3
    for r, w in zip(wrong, answers.BANK[ex_id][1]):
        assert r.status in (FAILED, ERROR) and r.score < r.points, w.source
        assert w.says in r.message, (w.says, r.message)
        assert "__plain__" not in r.message


@pytest.mark.parametrize("ex_id", sorted(WRONG))
def test_stub_is_not_attempted_and_solution_gets_full_marks(tried, ex_id):
    t = tried[ex_id]
    assert t.stub.status == NOT_ATTEMPTED and t.stub.score == 0
    assert t.solution.status == PASSED and t.solution.score == t.solution.points


def test_no_message_names_a_temporary_folder(tried):
    """The probes work in fresh temporary folders: a message naming one would read differently on every check
    (and between the notebook and the grader) for the same answer."""
    import os
    import tempfile

    scratch = re.compile(re.escape(tempfile.gettempdir() + os.sep) + r"mlcourse-|mlcourse-load-")
    for ex_id, t in tried.items():
        for r in (t.stub, t.solution, *t.wrong):
            assert not scratch.search(r.message or ""), (ex_id, r.message)
    warned = _split(tried, "deploy.load_verified")[2][[w.says for w in answers.BANK["deploy.load_verified"][1]].index(
        "noticed the mismatch (warned: ")]
    assert re.search(r"\(warned: [\w.-]+\.joblib: SHA-256 mismatch\)", warned.message), warned.message


def test_save_with_hash_wrong_answers_are_named(tried):
    pickled, path_hash, plus_json, no_versions, shortcut = _split(tried, "deploy.save_with_hash")[0]
    assert pickled.status == FAILED and pickled.score == 0 and "you hashed pickle.dumps(model), not the file" in pickled.message
    assert path_hash.status == FAILED and "you hashed the path string" in path_hash.message
    # Only the pathlib.Path test fails: `path + ".json"` works for a str.
    assert plus_json.status == ERROR and 0 < plus_json.score < plus_json.points
    assert "str(path) + '.json'" in plus_json.message and "TypeError" in plus_json.message
    assert no_versions.status == FAILED and "no 'versions' dict" in no_versions.message
    assert shortcut.status == FAILED and shortcut.score == 0 and "mlcourse.deploy.registry.save_model" in shortcut.message


def test_load_verified_wrong_answers_are_named(tried):
    load_first, no_check, asserted, path_hash, shortcut = _split(tried, "deploy.load_verified")[0]
    assert no_check.status == FAILED and "without checking its hash first: loading it ran code" in no_check.message
    assert load_first.status == FAILED and "refused the swapped file (ValueError), but only after loading it" in (
        load_first.message)
    # Checking after loading still refuses the appended bytes; it is the code that ran which fails it.
    assert 0 < load_first.score < load_first.points
    assert asserted.status == FAILED and "AssertionError" in asserted.message and "python -O" in asserted.message
    assert path_hash.status == FAILED and "an intact model was refused" in path_hash.message
    assert "open(path, 'rb')" in path_hash.message
    assert shortcut.status == FAILED and shortcut.score == 0 and "mlcourse.deploy.registry.load_model" in shortcut.message


def test_validate_record_wrong_answers_are_named(tried):
    as_bool, nan_eq, isnan, first, no_unknown, coerce, none_missing, crash = _split(tried, "deploy.validate_record")[0]
    assert "bool is a subclass of int" in as_bool.message
    assert "NaN compares unequal to everything" in nan_eq.message and "math.isfinite" in nan_eq.message
    assert "math.isnan(inf) is False" in isnan.message
    assert "report all of them" in first.message
    assert "a typo in a client's field name" in no_unknown.message
    assert "refuse it rather than convert it" in coerce.message
    assert "'missing' is for absent keys" in none_missing.message
    assert crash.status == ERROR and "TypeError" in crash.message and "check the type first" in crash.message
    for r in (as_bool, nan_eq, isnan, first, no_unknown, coerce, none_missing):
        assert r.status == FAILED and 0 < r.score < r.points  # each mistake costs only the tests it shows in


def test_score_in_chunks_wrong_answers_are_named(tried):
    drop_last, by_label, at_once, by_id, labels, with_id, misaligned = _split(tried, "deploy.score_in_chunks")[0]
    assert drop_last.status == FAILED and "the last, partial chunk" in drop_last.message
    assert by_label.status == ERROR and "slice *positions* with .iloc" in by_label.message
    assert at_once.status == FAILED and "score at most chunk_size rows per call" in at_once.message
    assert by_id.status == FAILED and by_id.score == 0 and "sorted by id, not in the input's order" in by_id.message
    assert labels.status == FAILED and labels.score == 0 and "0/1 labels" in labels.message
    assert with_id.status == ERROR and with_id.score == 0 and "drop the id column" in with_id.message
    assert misaligned.status == FAILED and "attached to the wrong ids" in misaligned.message


def test_promotion_gate_wrong_answers_are_named(tried):
    no_behaviour, no_min_gain, all_empty, roc, first_reason, swapped = _split(tried, "deploy.promotion_gate")[0]
    assert "a better PR-AUC does not excuse a failed behavioural test" in no_behaviour.message
    assert "less than min_gain" in no_min_gain.message
    assert "all([]) is True" in all_empty.message
    assert "did you compare ROC-AUC?" in roc.message
    assert "Report every failure, not only the first" in first_reason.message
    assert "candidate minus incumbent" in swapped.message
    for r in (no_behaviour, no_min_gain, all_empty, roc, first_reason, swapped):
        assert r.status == FAILED and 0 < r.score < r.points


def test_route_wrong_answers_are_named(tried):
    random_draw, builtin_hash, ord_sum, modulo, as_bool, shortcut = _split(tried, "deploy.route")[0]
    assert random_draw.status == FAILED and "not sticky" in random_draw.message and "random.random()" in random_draw.message
    assert builtin_hash.status == FAILED and builtin_hash.score == 0 and "PYTHONHASHSEED" in builtin_hash.message
    assert ord_sum.status == FAILED and "should reach the candidate" in ord_sum.message
    assert modulo.status == FAILED and "should reach the candidate" in modulo.message
    assert as_bool.status == FAILED and as_bool.score == 0 and "'candidate' or 'incumbent'" in as_bool.message
    assert shortcut.status == FAILED and shortcut.score == 0 and "mlcourse.deploy.rollout.routes_to_candidate" in shortcut.message


def test_should_rollback_wrong_answers_are_named(tried):
    counts, no_wait, zero_div, greater_equal, shortcut, strings = _split(tried, "deploy.should_rollback")[0]
    assert counts.status == FAILED and "compare error *rates*" in counts.message
    assert no_wait.status == FAILED and "wait and return False until it has served min_requests" in no_wait.message
    assert zero_div.status == ERROR and "ZeroDivisionError" in zero_div.message and "guard the division" in zero_div.message
    assert greater_equal.status == FAILED and "*more than*" in greater_equal.message
    assert shortcut.status == FAILED and shortcut.score == 0 and "mlcourse.deploy.rollout.should_rollback" in shortcut.message
    assert strings.status == FAILED and strings.score == 0 and "must return True or False" in strings.message


def test_serve_app_shortcut_is_refused(tried):
    (shortcut,) = _split(tried, "deploy.serve_app")[0]
    assert shortcut.status == FAILED and shortcut.score == 0 and "create_app" in shortcut.message


def test_pipeline_tests_left_as_stubs_fail_on_the_correct_pipeline(tried):
    (stubs_left,) = _split(tried, "deploy.pipeline_tests")[0]
    # test_data catches the flipped labels; the three stubs left below it fail everywhere and catch nothing else.
    assert stubs_left.status == FAILED and stubs_left.score == pytest.approx(0.8)
    assert "is still the stub: write it (or delete it)" in stubs_left.message


def test_slice_gate_forgotten_return_is_named(tried):
    (printed,) = _split(tried, "deploy.slice_gate")[0]
    assert printed.status == FAILED and printed.score == 0 and "forget a `return`" in printed.message


def test_the_lesson_removes_its_working_folder_only_when_the_kernel_stops():
    """Issue 12: after Run All, going back to any cell must work, so no cell deletes what earlier cells made;
    the working folder goes at kernel exit (atexit)."""
    from mlcourse.exercises import notebook as nbio

    nb = nbio.read(nbio.lesson_path("03_deploy", "solutions"))
    deleting = re.compile(r"\b(rmtree|rmdir|unlink|remove|close)\b|\bdel\s+workdir\b")
    lines = [line for cell in nb["cells"] if cell["cell_type"] == "code"
             for line in nbio.source(cell).splitlines() if deleting.search(line)]
    assert lines, "the lesson cleans up somewhere"
    assert [line for line in lines if "atexit.register" not in line] == []
    assert any("atexit.register(shutil.rmtree, workdir" in line for line in lines)
    assert any("atexit.register(api.state.prediction_log.close)" in line for line in lines)
