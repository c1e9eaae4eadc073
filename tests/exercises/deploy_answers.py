"""Answers to lesson 03's exercises, as a learner would type them into the answer cells.

For each exercise: correct answers written differently from the solution (another library, another loop, another
valid convention), and typical wrong answers, each with the words the learner must be told. The solution itself is
read from the solutions notebook by the tests. Used by ``test_deploy.py`` (in the lesson) and
``test_deploy_seeds.py`` (on many secret seeds, each answer in a fresh namespace that holds the lesson's imports).
"""
from __future__ import annotations

from dataclasses import dataclass

#: What the lesson's first cells define, for answers run outside the notebook: its imports, and the two one-row
#: frames of its behavioural tests (the tests exercise uses them).
PRELUDE = '''
import hashlib
import json
import math
import re
import shutil
from pathlib import Path
from typing import Literal

import joblib
import numpy as np
import pandas as pd
import sklearn
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field
from sklearn.metrics import average_precision_score

from mlcourse.deploy import faults, registry, rollout
from mlcourse.train.fraud_model import FEATURES

TEXTBOOK_FRAUD = pd.DataFrame([{"amount": 950.0, "hour": 3, "account_age_days": 2, "customer_age": 21, "is_foreign": 1,
                                "merchant_category": "electronics", "country": "GB", "channel": "online"}])
TEXTBOOK_SAFE = pd.DataFrame([{"amount": 12.0, "hour": 14, "account_age_days": 2_500, "customer_age": 45,
                               "is_foreign": 0, "merchant_category": "grocery", "country": "US", "channel": "chip"}])
'''


@dataclass(frozen=True)
class Wrong:
    """A wrong answer and the fragment of the message the learner must see (on every seed)."""

    source: str
    says: str


# ============================================================================ deploy.save_with_hash
SAVE_ALTERNATIVES = [
    # pathlib throughout, the file hashed in blocks, the versions from a loop
    '''
def save_with_hash(model, path, metadata):
    path = Path(path)
    joblib.dump(model, path)
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    record = dict(metadata)
    record["sha256"] = digest.hexdigest()
    record["versions"] = {name: module.__version__ for name, module in
                          [("sklearn", sklearn), ("numpy", np), ("joblib", joblib)]}
    Path(str(path) + ".json").write_text(json.dumps(record, indent=1))
    return record
''',
    # read the whole file at once, copy the metadata with .copy() and update()
    '''
def save_with_hash(model, path, metadata):
    joblib.dump(model, str(path))
    sidecar = metadata.copy()
    sidecar.update(sha256=hashlib.sha256(Path(path).read_bytes()).hexdigest(),
                   versions={"numpy": np.__version__, "joblib": joblib.__version__, "sklearn": sklearn.__version__})
    with open(f"{path}.json", "w") as out:
        json.dump(sidecar, out)
    return sidecar
''',
]
_VERSIONS = '"versions": {"sklearn": sklearn.__version__, "numpy": np.__version__, "joblib": joblib.__version__}'


def _save(digest='hashlib.sha256(open(path, "rb").read())', versions=",\n              " + _VERSIONS,
          ret="    return record\n", head=""):
    """A learner's save_with_hash that hashes ``digest`` and writes ``versions`` (after the digest), then ``ret``."""
    return f'''
{head}def save_with_hash(model, path, metadata):
    joblib.dump(model, path)
    record = {{**metadata, "sha256": {digest}.hexdigest(){versions}}}
    with open(str(path) + ".json", "w") as f:
        json.dump(record, f)
{ret}'''


SAVE_WRONG = [
    Wrong(_save(digest="hashlib.sha256(pickle.dumps(model))", head="import pickle\n"),
          "you hashed pickle.dumps(model), not the file"),
    Wrong(_save(digest="hashlib.sha256(str(path).encode())"), "you hashed the path string"),
    Wrong(_save(versions=""), "no 'versions' dict"),
    Wrong(_save(digest='hashlib.md5(open(path, "rb").read())'), "a 32-digit digest is MD5"),
    Wrong(_save(ret=""), "return the metadata dict you wrote"),
]

# ============================================================================ deploy.load_verified
LOAD_ALTERNATIVES = [
    # pathlib, a constant-time comparison, a ValueError subclass of its own
    '''
import hmac

class TamperedModel(ValueError):
    """The model file is not the one that was saved."""

def load_verified(path):
    path = Path(path)
    recorded = json.loads(Path(f"{path}.json").read_text())["sha256"]
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if not hmac.compare_digest(actual, recorded):
        raise TamperedModel(f"{path.name} does not match its recorded SHA-256; not loading it")
    return joblib.load(path)
''',
    # hashed in blocks; the check in a helper; the model loaded from an open file
    '''
def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(65536):
            h.update(chunk)
    return h.hexdigest()

def load_verified(path):
    with open(str(path) + ".json") as f:
        meta = json.load(f)
    if file_sha256(path) != meta.get("sha256"):
        raise ValueError("refusing " + str(path) + ": hash mismatch")
    with open(path, "rb") as f:
        return joblib.load(f)
''',
]
LOAD_WRONG = [
    Wrong('''
def load_verified(path):
    model = joblib.load(path)
    expected = json.load(open(str(path) + ".json"))["sha256"]
    if hashlib.sha256(open(path, "rb").read()).hexdigest() != expected:
        raise ValueError("hash mismatch")
    return model
''', "but only after loading it"),
    Wrong('''
def load_verified(path):
    json.load(open(str(path) + ".json"))
    return joblib.load(path)
''', "without checking its hash first: loading it ran code"),
    Wrong('''
import warnings
def load_verified(path):
    expected = json.load(open(str(path) + ".json"))["sha256"]
    if hashlib.sha256(open(path, "rb").read()).hexdigest() != expected:
        warnings.warn(f"{path}: SHA-256 mismatch")
    return joblib.load(path)
''', "noticed the mismatch (warned: "),
    Wrong('''
def load_verified(path):
    expected = json.load(open(str(path) + ".json"))["sha256"]
    assert hashlib.sha256(open(path, "rb").read()).hexdigest() == expected, "hash mismatch"
    return joblib.load(path)
''', "python -O"),
    Wrong('''
def load_verified(path):
    expected = json.load(open(str(path) + ".json"))["sha256"]
    if hashlib.sha256(str(path).encode()).hexdigest() != expected:
        raise ValueError("hash mismatch")
    return joblib.load(path)
''', "an intact model was refused"),
]

# ============================================================================ deploy.validate_record
VR_ALTERNATIVES = [
    # numbers.Real and a regular expression for the numeric dtypes; unknown keys by set difference
    '''
import numbers

def validate_record(record, schema):
    problems = []
    for field in schema:
        name, dtype = field["name"], field["dtype"]
        if name not in record:
            problems.append((name, "missing"))
            continue
        value = record[name]
        if re.match(r"(u?int|float)", dtype):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                problems.append((name, "wrong_type"))
            elif math.isnan(value) or math.isinf(value):
                problems.append((name, "not_finite"))
        else:
            if type(value) is not str:
                problems.append((name, "wrong_type"))
            elif field.get("categories") is not None and value not in set(field["categories"]):
                problems.append((name, "not_allowed"))
    unknown = set(record) - {f["name"] for f in schema}
    problems.extend((key, "unknown") for key in sorted(unknown))
    return problems
''',
    # a table of per-kind checks; numpy's isfinite on real numbers
    '''
def problem_with(value, field):
    numeric = any(field["dtype"].startswith(p) for p in ("int", "uint", "float"))
    if numeric:
        if type(value) not in (int, float):
            return "wrong_type"
        return None if np.isfinite(value) else "not_finite"
    if not isinstance(value, str):
        return "wrong_type"
    allowed = field["categories"]
    return "not_allowed" if allowed is not None and value not in allowed else None

def validate_record(record, schema):
    fields = {f["name"]: f for f in schema}
    out = [(name, "missing") for name in fields if name not in record]
    for name, value in record.items():
        if name not in fields:
            out.append((name, "unknown"))
        else:
            problem = problem_with(value, fields[name])
            if problem:
                out.append((name, problem))
    return out
''',
]
_VR_BASE = '''
def validate_record(record, schema):
    problems = []
    names = [f["name"] for f in schema]
    for f in schema:
        n = f["name"]
        if n not in record:
            problems.append((n, "missing")); continue
        v = record[n]
        if f["dtype"].startswith(("int", "uint", "float")):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                problems.append((n, "wrong_type"))
            elif not math.isfinite(v):
                problems.append((n, "not_finite"))
        elif not isinstance(v, str):
            problems.append((n, "wrong_type"))
        elif f["categories"] is not None and v not in f["categories"]:
            problems.append((n, "not_allowed"))
    return problems + [(k, "unknown") for k in record if k not in names]
'''
VR_WRONG = [
    Wrong(_VR_BASE.replace('if isinstance(v, bool) or not isinstance(v, (int, float)):',
                           'if not isinstance(v, (int, float)):'), "bool is a subclass of int"),
    Wrong(_VR_BASE.replace('elif not math.isfinite(v):', 'elif v == float("nan") or v in (float("inf"), float("-inf")):'),
          "NaN compares unequal to everything"),
    Wrong(_VR_BASE.replace('elif not math.isfinite(v):', 'elif math.isnan(v):'), "math.isnan(inf) is False"),
    Wrong(_VR_BASE.replace('startswith(("int", "uint", "float"))', 'startswith(("int", "float"))'),
          "has dtype 'uint"),
    Wrong(_VR_BASE.replace('f["dtype"].startswith(("int", "uint", "float"))', 'f["dtype"] in ("int64", "float64")'),
          "not a list of names"),
    Wrong(_VR_BASE.replace('    return problems + [(k, "unknown") for k in record if k not in names]', '    return problems'),
          "a typo in a client's field name"),
    Wrong(_VR_BASE.replace('if n not in record:', 'if n not in record or record[n] is None:'),
          "'missing' is for absent keys"),
    Wrong('''
def validate_record(record, schema):
    for f in schema:
        n = f["name"]
        if n not in record:
            return [(n, "missing")]
        v = record[n]
        if f["dtype"].startswith(("int", "uint", "float")):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                return [(n, "wrong_type")]
            if not math.isfinite(v):
                return [(n, "not_finite")]
        elif not isinstance(v, str):
            return [(n, "wrong_type")]
        elif f["categories"] is not None and v not in f["categories"]:
            return [(n, "not_allowed")]
    return [(k, "unknown") for k in record if k not in [f["name"] for f in schema]][:1]
''', "report all of them"),
]

# ============================================================================ deploy.serve_app
_SERVE_BASE = '''
class Payment(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    amount: float = Field(gt=0)
    hour: int = Field(ge=0, le=23)
    account_age_days: int = Field(ge=0)
    customer_age: int = Field(ge=18, le=100)
    is_foreign: int = Field(ge=0, le=1)
    merchant_category: Literal["electronics", "fuel", "gambling", "grocery", "online_retail", "pharmacy",
                               "restaurants", "travel"]
    country: str
    channel: Literal["chip", "contactless", "online", "swipe"]

def make_app(model):
    app = FastAPI()

    @app.post("/predict")
    def predict(payment: Payment):
        p = model.predict_proba(pd.DataFrame([payment.model_dump()]))[0, 1]
        return {"fraud_probability": float(p)}

    return app
'''
SERVE_ALTERNATIVES = [
    # strict field types and Annotated bounds, an async endpoint, the columns put in FEATURES order
    '''
from typing import Annotated
from pydantic import StrictFloat, StrictInt, StrictStr

Category = Literal["electronics", "fuel", "gambling", "grocery", "online_retail", "pharmacy", "restaurants", "travel"]

class Transaction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Annotated[StrictFloat, Field(gt=0)]
    hour: Annotated[StrictInt, Field(ge=0, le=23)]
    account_age_days: Annotated[StrictInt, Field(ge=0)]
    customer_age: Annotated[StrictInt, Field(ge=18, le=100)]
    is_foreign: Annotated[StrictInt, Field(ge=0, le=1)]
    merchant_category: Category
    country: StrictStr
    channel: Literal["chip", "contactless", "online", "swipe"]

def make_app(model):
    service = FastAPI(title="fraud scoring", version="1")

    @service.post("/predict")
    async def score(tx: Transaction) -> dict:
        frame = pd.DataFrame([tx.model_dump()])[FEATURES]
        return {"fraud_probability": model.predict_proba(frame)[:, 1].item()}

    return service
''',
    # a plain-dict model_config, the model declared inside make_app, a response model
    '''
def make_app(model):
    class Request(BaseModel):
        model_config = {"strict": True, "extra": "forbid"}
        channel: Literal["chip", "contactless", "online", "swipe"]
        merchant_category: Literal["electronics", "fuel", "gambling", "grocery", "online_retail", "pharmacy",
                                   "restaurants", "travel"]
        country: str
        amount: float = Field(..., gt=0.0)
        hour: int = Field(..., ge=0, lt=24)
        account_age_days: int = Field(..., ge=0)
        customer_age: int = Field(..., ge=18, le=100)
        is_foreign: int = Field(..., ge=0, le=1)

    class Answer(BaseModel):
        fraud_probability: float

    app = FastAPI()

    @app.post("/predict", response_model=Answer)
    def predict(body: Request):
        row = body.model_dump()
        return Answer(fraud_probability=float(model.predict_proba(pd.DataFrame([row]))[0][1]))

    return app
''',
]
SERVE_WRONG = [
    Wrong(_SERVE_BASE.replace('    model_config = ConfigDict(strict=True, extra="forbid")\n',
                              '    model_config = ConfigDict(extra="forbid")\n'), "unless the model is strict"),
    Wrong(_SERVE_BASE.replace("hour: int = Field(ge=0, le=23)", "hour: int")
          .replace("customer_age: int = Field(ge=18, le=100)", "customer_age: int")
          .replace("account_age_days: int = Field(ge=0)", "account_age_days: int")
          .replace("is_foreign: int = Field(ge=0, le=1)", "is_foreign: int"), "Field(ge=..., le=...)"),
    Wrong(_SERVE_BASE.replace("customer_age: int = Field(ge=18, le=100)", "customer_age: int = Field(gt=18, lt=100)"),
          "the bounds are inclusive"),
    Wrong(_SERVE_BASE.replace('channel: Literal["chip", "contactless", "online", "swipe"]', "channel: str"),
          "as a Literal of its allowed values"),
    Wrong(_SERVE_BASE.replace('    model_config = ConfigDict(strict=True, extra="forbid")\n',
                              '    model_config = ConfigDict(strict=True)\n'), "extra='forbid'"),
    Wrong(_SERVE_BASE.replace("    country: str\n",
                              '    country: Literal["US", "GB", "DE", "FR", "ES", "NL", "CA", "MX"]\n'),
          "`country` takes any text"),
    Wrong(_SERVE_BASE.replace("p = model.predict_proba(pd.DataFrame([payment.model_dump()]))[0, 1]",
                              "p = model.predict(pd.DataFrame([payment.model_dump()]))[0]"), "a label"),
    Wrong('''
def make_app(model):
    app = FastAPI()

    @app.post("/predict")
    def predict(payment: dict):
        return {"fraud_probability": float(model.predict_proba(pd.DataFrame([payment]))[0, 1])}

    return app
''', "your app failed (a 500 for the client)"),
    Wrong(_SERVE_BASE.replace("    return app\n", ""), "did you forget `return app`"),
]

# ============================================================================ deploy.score_in_chunks
CH_ALTERNATIVES = [
    # numpy's array_split into the fewest chunks of at most chunk_size rows, frames glued with pd.concat
    '''
def score_in_chunks(model, frame, chunk_size=1000, id_column="transaction_id"):
    n_chunks = max(1, -(-len(frame) // chunk_size))
    pieces = []
    for part in np.array_split(np.arange(len(frame)), n_chunks):
        chunk = frame.iloc[part]
        pieces.append(pd.DataFrame({id_column: chunk[id_column].values,
                                    "score": model.predict_proba(chunk.drop(columns=id_column))[:, 1]}))
    return pd.concat(pieces, ignore_index=True)
''',
    # a while loop over a copy with a fresh index, lists extended row by row
    '''
def score_in_chunks(model, frame, chunk_size=1000, id_column="transaction_id"):
    rows = frame.reset_index(drop=True)
    features = [c for c in rows.columns if c != id_column]
    ids, scores = [], []
    start = 0
    while start < len(rows):
        chunk = rows[start:start + chunk_size]
        ids.extend(chunk[id_column].tolist())
        scores.extend(model.predict_proba(chunk[features])[:, 1].tolist())
        start += chunk_size
    return pd.DataFrame({id_column: ids, "score": scores})
''',
]
def _chunks(head="", score="model.predict_proba(chunk.drop(columns=[id_column]))[:, 1]"):
    """A learner's score_in_chunks that runs ``head`` first and scores each chunk with ``score``."""
    return f'''
def score_in_chunks(model, frame, chunk_size=1000, id_column="transaction_id"):
{head}    ids, scores = [], []
    for start in range(0, len(frame), chunk_size):
        chunk = frame.iloc[start:start + chunk_size]
        ids.append(chunk[id_column].to_numpy())
        scores.append({score})
    return pd.DataFrame({{id_column: np.concatenate(ids), "score": np.concatenate(scores)}})
'''


CH_WRONG = [
    Wrong('''
def score_in_chunks(model, frame, chunk_size=1000, id_column="transaction_id"):
    parts = []
    for i in range(len(frame) // chunk_size):
        chunk = frame.iloc[i * chunk_size:(i + 1) * chunk_size]
        parts.append(pd.DataFrame({id_column: chunk[id_column].to_numpy(),
                                   "score": model.predict_proba(chunk.drop(columns=[id_column]))[:, 1]}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[id_column, "score"])
''', "the last, partial chunk"),
    Wrong('''
def score_in_chunks(model, frame, chunk_size=1000, id_column="transaction_id"):
    return pd.DataFrame({id_column: frame[id_column].to_numpy(),
                         "score": model.predict_proba(frame.drop(columns=[id_column]))[:, 1]})
''', "score at most chunk_size rows per call"),
    Wrong(_chunks(head="    frame = frame.sort_values(id_column)\n"), "sorted by id, not in the input's order"),
    Wrong('''
def score_in_chunks(model, frame, chunk_size=1000, id_column="transaction_id"):
    features = frame.drop(columns=[id_column])
    frame["score"] = 0.0
    for start in range(0, len(frame), chunk_size):
        frame.iloc[start:start + chunk_size, frame.columns.get_loc("score")] = (
            model.predict_proba(features.iloc[start:start + chunk_size])[:, 1])
    return frame[[id_column, "score"]].reset_index(drop=True)
''', "changed the caller's frame in place"),
    Wrong(_chunks(head="    frame.index = range(len(frame))\n"), "changed the caller's frame in place"),
    Wrong(_chunks(score="model.predict(chunk.drop(columns=[id_column]))"), "0/1 labels"),
]

# ============================================================================ deploy.pipeline_tests
TESTS_ALTERNATIVES = [
    # pytest's own tools: a fixture of the learner's, parametrize, approx
    '''
import pytest

@pytest.fixture
def payments(data):
    return data[FEATURES].sample(60, random_state=1)

def test_data(data):
    assert data[FEATURES].isna().sum().sum() == 0
    assert data["amount"].min() > 0
    assert set(data["hour"]) <= set(range(24))
    assert data["is_fraud"].mean() == pytest.approx(0.0525, abs=0.0475)

def test_minimum_functionality(model):
    assert model.predict_proba(TEXTBOOK_FRAUD)[:, 1].item() > 0.5
    assert model.predict_proba(TEXTBOOK_SAFE)[:, 1].item() < 0.1

@pytest.mark.parametrize("i", range(8))
def test_invariance(model, serve, payments, i):
    one = payments.iloc[[i]]
    assert serve(one.iloc[0].to_dict()) == pytest.approx(model.predict_proba(one)[0, 1], abs=1e-6)

def test_unseen_category_still_scores(model, payments):
    p = model.predict_proba(payments.assign(merchant_category="space travel"))[:, 1]
    assert ((p >= 0) & (p <= 1)).all()

def test_directional(model, payments):
    higher = payments.assign(amount=payments["amount"] * 3)
    assert (model.predict_proba(higher)[:, 1] > model.predict_proba(payments)[:, 1]).all()
''',
    # plain loops over records, one payment at a time
    '''
def test_data(data):
    share = float(data["is_fraud"].mean())
    assert 0.005 <= share <= 0.1, share
    for column in FEATURES:
        assert not data[column].isna().any(), column
    assert data["amount"].gt(0).all() and data["hour"].ge(0).all() and data["hour"].le(23).all()

def test_minimum_functionality(model):
    fraud = model.predict_proba(TEXTBOOK_FRAUD)[0][1]
    safe = model.predict_proba(TEXTBOOK_SAFE)[0][1]
    assert fraud > 0.5, fraud
    assert safe < 0.1, safe

def test_invariance(model, serve, data):
    records = data[FEATURES].iloc[:15].to_dict(orient="records")
    for record in records:
        batch = model.predict_proba(pd.DataFrame([record]))[0, 1]
        assert abs(serve(record) - batch) <= 1e-6
    stranger = dict(records[0], country="XX")
    assert 0.0 <= serve(stranger) <= 1.0

def test_directional(model, data):
    for record in data[FEATURES].iloc[:40].to_dict(orient="records"):
        base = model.predict_proba(pd.DataFrame([record]))[0, 1]
        more = model.predict_proba(pd.DataFrame([{**record, "amount": record["amount"] * 3}]))[0, 1]
        assert more > base
''',
]
_TESTS_BASE = '''
def test_data(data):
    assert data[FEATURES].notna().all().all()
    assert (data["amount"] > 0).all() and data["hour"].between(0, 23).all()
    assert 0.005 <= data["is_fraud"].mean() <= 0.10

def test_minimum_functionality(model):
    assert model.predict_proba(TEXTBOOK_FRAUD)[0, 1] > 0.5
    assert model.predict_proba(TEXTBOOK_SAFE)[0, 1] < 0.1

def test_invariance(model, serve, data):
    rows = data[FEATURES].head(20)
    batch = model.predict_proba(rows)[:, 1]
    online = [serve(record) for record in rows.to_dict("records")]
    assert np.allclose(online, batch, rtol=0, atol=1e-6)
    unseen = model.predict_proba(rows.assign(country="ZZ"))[:, 1]
    assert np.isfinite(unseen).all()

def test_directional(model, data):
    rows = data[FEATURES].head(200)
    before = model.predict_proba(rows)[:, 1]
    after = model.predict_proba(rows.assign(amount=rows["amount"] * 3))[:, 1]
    assert (after > before).all()
'''
TESTS_WRONG = [
    Wrong(_TESTS_BASE.replace("assert (after > before).all()", "assert (after >= before).all()"),
          "did not notice a model that ignores `amount`"),
    Wrong(_TESTS_BASE.replace('''    online = [serve(record) for record in rows.to_dict("records")]
    assert np.allclose(online, batch, rtol=0, atol=1e-6)''', '''    moved = model.predict_proba(rows.assign(channel="chip"))[:, 1]
    assert np.isfinite(moved).all() and np.isfinite(batch).all()'''),
          "did not notice an online path that receives amounts in cents"),
    Wrong(_TESTS_BASE.replace('''    unseen = model.predict_proba(rows.assign(country="ZZ"))[:, 1]
    assert np.isfinite(unseen).all()''', '''    try:
        unseen = model.predict_proba(rows.assign(country="ZZ"))[:, 1]
        assert np.isfinite(unseen).all()
    except ValueError:
        pass  # an unknown country may be refused'''), "did not notice a pipeline that crashes on a category"),
    Wrong(_TESTS_BASE.replace("assert model.predict_proba(TEXTBOOK_SAFE)[0, 1] < 0.1",
                              "assert model.predict_proba(TEXTBOOK_SAFE)[0, 1] < 1e-6"),
          "your tests must pass on the correct pipeline, but test_minimum_functionality failed"),
    Wrong(_TESTS_BASE.replace("def test_directional(model, data):", "def test_directional(pipeline, data):\n"
                              "    model = pipeline.model"),
          "fixture 'pipeline' not found"),
]

# ============================================================================ deploy.promotion_gate
GATE_ALTERNATIVES = [
    # average precision by hand: sort by score, precision at each fraud, averaged
    '''
def average_precision(y, scores):
    order = np.argsort(-np.asarray(scores), kind="stable")
    hits = np.asarray(y)[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision[hits == 1].mean())

def promotion_gate(y_true, incumbent_scores, candidate_scores, behaviour, min_gain=0.01):
    reasons = []
    gain = average_precision(y_true, candidate_scores) - average_precision(y_true, incumbent_scores)
    if not gain >= min_gain:
        reasons.append(f"PR-AUC gain of {gain:.4f} does not reach {min_gain}")
    if len(behaviour) == 0:
        reasons.append("the behavioural suite is empty")
    reasons.extend(f"{test} failed" for test, ok in behaviour.items() if not ok)
    return (len(reasons) == 0, reasons)
''',
    # both PR-AUCs named, the verdict from one boolean expression
    '''
def promotion_gate(y_true, incumbent_scores, candidate_scores, behaviour, min_gain=0.01):
    old = average_precision_score(y_true, incumbent_scores)
    new = average_precision_score(y_true, candidate_scores)
    failed = sorted(name for name, passed in behaviour.items() if passed is False)
    promote = new >= old + min_gain and bool(behaviour) and not failed
    reasons = []
    if new < old + min_gain:
        reasons.append(f"PR-AUC {new:.3f} vs {old:.3f}: less than {min_gain} better")
    if not behaviour:
        reasons.append("nothing was tested")
    reasons += [f"failed: {name}" for name in failed]
    return promote, reasons
''',
]
_GATE_BASE = '''
def promotion_gate(y_true, incumbent_scores, candidate_scores, behaviour, min_gain=0.01):
    gain = average_precision_score(y_true, candidate_scores) - average_precision_score(y_true, incumbent_scores)
    reasons = [] if gain >= min_gain else [f"PR-AUC gain {gain:.4f}"]
    if not behaviour:
        reasons.append("no behavioural tests")
    reasons += [f"failed: {n}" for n, ok in behaviour.items() if not ok]
    return not reasons, reasons
'''
GATE_WRONG = [
    Wrong('''
def promotion_gate(y_true, incumbent_scores, candidate_scores, behaviour, min_gain=0.01):
    gain = average_precision_score(y_true, candidate_scores) - average_precision_score(y_true, incumbent_scores)
    if gain < min_gain:
        return False, [f"PR-AUC gain {gain:.4f} below {min_gain}"]
    return True, []
''', "a better PR-AUC does not excuse a failed behavioural test"),
    Wrong(_GATE_BASE.replace("if gain >= min_gain", "if gain > 0"), "less than min_gain"),
    Wrong(_GATE_BASE.replace('''    if not behaviour:
        reasons.append("no behavioural tests")
''', ""), "all([]) is True"),
    Wrong("from sklearn.metrics import roc_auc_score\n" + _GATE_BASE.replace("average_precision_score", "roc_auc_score"),
          "did you compare ROC-AUC?"),
    Wrong(_GATE_BASE.replace("if gain >= min_gain", "if gain > min_gain"), "exactly min_gain"),
    Wrong('''
def promotion_gate(y_true, incumbent_scores, candidate_scores, behaviour, min_gain=0.01):
    gain = average_precision_score(y_true, candidate_scores) - average_precision_score(y_true, incumbent_scores)
    if gain < min_gain:
        return False, [f"PR-AUC gain {gain:.4f}"]
    if not behaviour:
        return False, ["no behavioural tests"]
    for n, ok in behaviour.items():
        if not ok:
            return False, [f"failed: {n}"]
    return True, []
''', "Report every failure, not only the first"),
    Wrong(_GATE_BASE.replace(
        "average_precision_score(y_true, candidate_scores) - average_precision_score(y_true, incumbent_scores)",
        "average_precision_score(y_true, incumbent_scores) - average_precision_score(y_true, candidate_scores)"),
        "candidate minus incumbent"),
]

# ============================================================================ deploy.slice_gate
SLICE_ALTERNATIVES = [
    # pandas groupby over a frame of the four arrays
    '''
def slice_gate(y_true, incumbent_scores, candidate_scores, slices, max_drop=0.05, min_positives=20):
    table = pd.DataFrame({"y": y_true, "old": incumbent_scores, "new": candidate_scores, "slice": slices})
    reasons = []
    for name, rows in table.groupby("slice"):
        if rows["y"].sum() < min_positives:
            continue
        drop = average_precision_score(rows["y"], rows["old"]) - average_precision_score(rows["y"], rows["new"])
        if drop > max_drop:
            reasons.append(f"{name} lost {drop:.3f} PR-AUC")
    return not reasons, reasons
''',
    # average precision by hand, slices in first-seen order
    '''
def ap(y, s):
    order = np.argsort(-s)
    y = y[order]
    precision_at = np.cumsum(y) / (np.arange(len(y)) + 1)
    return precision_at[y == 1].sum() / y.sum()

def slice_gate(y_true, incumbent_scores, candidate_scores, slices, max_drop=0.05, min_positives=20):
    reasons = []
    for name in dict.fromkeys(slices.tolist()):
        mask = np.array([s == name for s in slices])
        y = np.asarray(y_true)[mask]
        if int(y.sum()) >= min_positives:
            old, new = ap(y, incumbent_scores[mask]), ap(y, candidate_scores[mask])
            if old - new > max_drop:
                reasons.append(f"slice {name}: {old:.3f} -> {new:.3f}")
    return (False, reasons) if reasons else (True, [])
''',
]
_SLICE_BASE = '''
def slice_gate(y_true, incumbent_scores, candidate_scores, slices, max_drop=0.05, min_positives=20):
    reasons = []
    for value in np.unique(slices):
        rows = slices == value
        if y_true[rows].sum() < min_positives:
            continue
        drop = average_precision_score(y_true[rows], incumbent_scores[rows]) - average_precision_score(
            y_true[rows], candidate_scores[rows])
        if drop > max_drop:
            reasons.append(f"slice {value}: -{drop:.4f}")
    return len(reasons) == 0, reasons
'''
SLICE_WRONG = [
    Wrong('''
def slice_gate(y_true, incumbent_scores, candidate_scores, slices, max_drop=0.05, min_positives=20):
    drop = average_precision_score(y_true, incumbent_scores) - average_precision_score(y_true, candidate_scores)
    return (drop <= max_drop, [] if drop <= max_drop else [f"PR-AUC dropped by {drop:.3f}"])
''', "compare each slice's rows on their own"),
    Wrong(_SLICE_BASE.replace("if drop > max_drop:", "if drop >= max_drop:"), "*more than* max_drop"),
    Wrong(_SLICE_BASE.replace('''        if y_true[rows].sum() < min_positives:
            continue
''', ""), "too few to judge"),
    Wrong(_SLICE_BASE.replace("if y_true[rows].sum() < min_positives:", "if rows.sum() < min_positives:"),
          "count frauds, y_true == 1 in the slice, not rows"),
    Wrong(_SLICE_BASE.replace("drop = average_precision_score(y_true[rows], incumbent_scores[rows]) - average_precision_score(\n"
                              "            y_true[rows], candidate_scores[rows])",
                              "drop = average_precision_score(y_true[rows], candidate_scores[rows]) - average_precision_score(\n"
                              "            y_true[rows], incumbent_scores[rows])"), "it got *better*"),
    Wrong(_SLICE_BASE.replace("            reasons.append(f\"slice {value}: -{drop:.4f}\")",
                              "            return False, [f\"slice {value}: -{drop:.4f}\"]"), "Report every slice"),
    Wrong("from sklearn.metrics import roc_auc_score\n" + _SLICE_BASE.replace("average_precision_score", "roc_auc_score"),
          "did you compare ROC-AUC?"),
]

# ============================================================================ deploy.route
ROUTE_ALTERNATIVES = [
    # md5, 10 000 buckets
    '''
def route(user_id, fraction):
    bucket = int(hashlib.md5(user_id.encode()).hexdigest(), 16) % 10_000
    return "candidate" if bucket < fraction * 10_000 else "incumbent"
''',
    # random.Random seeded with the id: a str seed goes through SHA-512, the same in every process
    '''
import random

def route(user_id, fraction):
    return "candidate" if random.Random(user_id).random() < fraction else "incumbent"
''',
]
ROUTE_WRONG = [
    Wrong('''
import random
def route(user_id, fraction):
    return "candidate" if random.random() < fraction else "incumbent"
''', "not sticky"),
    Wrong('''
def route(user_id, fraction):
    return "candidate" if hash(user_id) % 10_000 < fraction * 10_000 else "incumbent"
''', "PYTHONHASHSEED"),
    Wrong('''
def route(user_id, fraction):
    return "candidate" if sum(map(ord, user_id)) % 100 < fraction * 100 else "incumbent"
''', "should reach the candidate"),
    Wrong('''
def route(user_id, fraction):
    return int.from_bytes(hashlib.sha256(user_id.encode()).digest()[:8], "big") / 2**64 < fraction
''', "'candidate' or 'incumbent'"),
]

# ============================================================================ deploy.should_rollback
ROLLBACK_ALTERNATIVES = [
    # max(1, n) as the guard, NaN made explicit
    '''
def should_rollback(incumbent, candidate, min_requests=100, max_error_increase=0.01, max_p95_increase_ms=20.0):
    if candidate["requests"] < min_requests:
        return False
    increase = candidate["errors"] / max(1, candidate["requests"]) - incumbent["errors"] / max(1, incumbent["requests"])
    if increase > max_error_increase:
        return True
    slower = candidate["p95_ms"] - incumbent["p95_ms"]
    return not math.isnan(slower) and slower > max_p95_increase_ms
''',
    # one boolean expression, the division guarded with try/except
    '''
def rate(stats):
    try:
        return stats["errors"] / stats["requests"]
    except ZeroDivisionError:
        return 0.0

def should_rollback(incumbent, candidate, min_requests=100, max_error_increase=0.01, max_p95_increase_ms=20.0):
    enough = candidate["requests"] >= min_requests
    worse_errors = rate(candidate) > rate(incumbent) + max_error_increase
    worse_latency = candidate["p95_ms"] > incumbent["p95_ms"] + max_p95_increase_ms
    return bool(enough and (worse_errors or worse_latency))
''',
]
_ROLLBACK_WAITS = '    if candidate["requests"] < min_requests:\n        return False\n'
_RATE = '    rate = lambda s: s["errors"] / s["requests"] if s["requests"] else 0.0\n'


def _rollback(errors_worse, waits=_ROLLBACK_WAITS, slower=">"):
    """A learner's should_rollback that first ``waits``, then rolls back when ``errors_worse`` or the p95 is ``slower``."""
    return f'''
def should_rollback(incumbent, candidate, min_requests=100, max_error_increase=0.01, max_p95_increase_ms=20.0):
{waits}{errors_worse}
        return True
    return candidate["p95_ms"] - incumbent["p95_ms"] {slower} max_p95_increase_ms
'''


ROLLBACK_WRONG = [
    Wrong(_rollback('    if candidate["errors"] > incumbent["errors"]:'), "compare error *rates*"),
    Wrong(_rollback(_RATE + '    if rate(candidate) - rate(incumbent) > max_error_increase:', waits=""),
          "wait and return False until it has served min_requests"),
    Wrong(_rollback('    if candidate["errors"] / candidate["requests"] - incumbent["errors"] / incumbent["requests"]'
                    ' > max_error_increase:'), "guard the division"),
    Wrong(_rollback(_RATE + '    if rate(candidate) - rate(incumbent) >= max_error_increase:', slower=">="), "*more than*"),
]

#: Exercise id -> (correct answers other than the solution, wrong answers).
BANK: dict[str, tuple[list[str], list[Wrong]]] = {
    "deploy.save_with_hash": (SAVE_ALTERNATIVES, SAVE_WRONG),
    "deploy.load_verified": (LOAD_ALTERNATIVES, LOAD_WRONG),
    "deploy.validate_record": (VR_ALTERNATIVES, VR_WRONG),
    "deploy.serve_app": (SERVE_ALTERNATIVES, SERVE_WRONG),
    "deploy.score_in_chunks": (CH_ALTERNATIVES, CH_WRONG),
    "deploy.pipeline_tests": (TESTS_ALTERNATIVES, TESTS_WRONG),
    "deploy.promotion_gate": (GATE_ALTERNATIVES, GATE_WRONG),
    "deploy.slice_gate": (SLICE_ALTERNATIVES, SLICE_WRONG),
    "deploy.route": (ROUTE_ALTERNATIVES, ROUTE_WRONG),
    "deploy.should_rollback": (ROLLBACK_ALTERNATIVES, ROLLBACK_WRONG),
}
