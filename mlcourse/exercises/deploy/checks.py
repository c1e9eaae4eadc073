"""Exercises of lesson 03, Deploy: package, validate, serve, score in batches, test, gate, route and roll back.

Ten declarative exercises, in the order the lesson asks them:

* ``deploy.save_with_hash``: write a model with joblib plus a JSON sidecar
  holding its metadata, library versions and the file's SHA-256;
* ``deploy.load_verified``: load such a model only after its hash checks out
  (a swapped file that runs code on load must be refused *before* loading);
* ``deploy.validate_record``: every problem of one request against a feature
  schema (missing and unknown fields, wrong types, NaN/inf, unknown categories);
* ``deploy.serve_app``: a FastAPI app with a strict pydantic request model,
  sent good and bad requests through ``TestClient``, its OpenAPI document read;
* ``deploy.score_in_chunks``: a batch job that scores a frame chunk by chunk,
  keeping every id with its score, in order, and leaving the caller's frame as it was;
* ``deploy.pipeline_tests``: the learner's pytest-style tests, run on the
  correct pipeline (all must pass) and on the faulty pipelines of
  :data:`GRADED_FAULTS` (not the lesson's), scored by the faults they catch;
* ``deploy.promotion_gate``: promote a candidate only when it beats the
  incumbent on held-out data by a margin *and* passes every behavioural test;
* ``deploy.slice_gate``: refuse a candidate that loses more than a margin of
  PR-AUC on some slice with enough frauds to judge;
* ``deploy.route``: the sticky canary router, on a stable hash of the user id;
* ``deploy.should_rollback``: the canary's rollback rule on per-version stats.

Every check runs on fresh inputs made at check time. Files are written by the
probe into its own temporary folder, never the working directory. Models
handed to the learner's functions are built by the probe from a seed (a small
logistic regression, or a stand-in classifier that scores rows with the data
generator's own fraud rule and records the size of every call), so inputs stay
plain data. Where the package already provides what the learner writes
(``mlcourse.deploy.registry``, ``mlcourse.deploy.rollout``), the exercise forbids it: the
package's version refuses to run while the answer is probed, and the answer's
source may not name it (see :mod:`mlcourse.exercises.guard`).

This module is the lesson's answer key: the inputs, the references and what
a verdict must be told about them (the expected value of a test, the advice
for each graded fault). What the grading child runs, and the verdicts (which
the graded edition ships for the public tests), are in
:mod:`mlcourse.exercises.deploy.probes`.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlcourse.deploy.faults import Fault
from mlcourse.exercises.deploy.probes import (
    BATCH_FEATURES,
    SERVICE_FIELDS,
    batch_scores,
    better_overall,
    chunk_probe,
    chunk_verdict,
    gate_probe,
    gate_verdict,
    installed_versions,
    is_numeric_dtype,
    load_probe,
    load_verdict,
    pr_auc,
    records_probe,
    records_verdict,
    roc_auc_of,
    rollback_probe,
    rollback_verdict,
    route_probe,
    route_verdict,
    save_probe,
    save_verdict,
    service_probe,
    service_verdict,
    sha256_file,
    sidecar_path,
    slice_drop,
    slice_facts,
    slice_probe,
    slice_verdict,
    small_model,
    tests_probe,
    tests_verdict,
)
from mlcourse.exercises.engine import Exercise, Function, holds
from mlcourse.exercises.plain import TAG, from_plain

# --------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------


def _drawn_once(make: Any) -> Any:
    """An input generator whose draws are kept for the process: the same seed gives the very same inputs without
    drawing them again. A check's inputs do not depend on the answer, so the many answers a test suite tries on
    one seed share them. Inputs are read-only: the engine hands the probe a copy and verdicts never change them.
    """

    @functools.lru_cache(maxsize=64)
    def drawn(key: int) -> Any:
        return make(np.random.default_rng(key))

    @functools.wraps(make)
    def inputs(rng: np.random.Generator) -> Any:
        return drawn(int(rng.integers(0, 2**63)))

    return inputs


def _each(probe: Any, verdict: Any, cases: Sequence[tuple], **shared: Any) -> list:
    """One ``holds`` test per case, ``(name, inputs)`` or ``(name, inputs, public)``, each judged by ``probe`` and
    ``verdict`` with the ``shared`` options (``expected=``)."""
    return [holds(name, probe, verdict, inputs=inputs, public=bool(public), **shared)
            for name, inputs, *public in cases]


def _array(plain: Any) -> np.ndarray | None:
    if isinstance(plain, dict) and plain.get(TAG) == "ndarray":
        return np.asarray(from_plain(plain))
    if isinstance(plain, list):
        try:
            return np.asarray(plain)
        except Exception:
            return None
    return None


# --------------------------------------------------------------------------
# deploy.save_with_hash and deploy.load_verified: a model file you can trust
# --------------------------------------------------------------------------
_FEATURE_POOL = ["amount", "hour", "account_age_days", "customer_age", "is_foreign", "risk_score", "n_prev_tx",
                 "days_since_last", "basket_size", "velocity_1h"]


def _save_inputs(rng: np.random.Generator, path_kind: str = "str") -> dict:
    k = int(rng.integers(2, 6))
    names = [str(n) for n in rng.choice(_FEATURE_POOL, size=k, replace=False)]
    metadata = {
        "name": str(rng.choice(["fraud-detector", "churn-model", "eta-estimator"])),
        "feature_names": names,
        "metrics": {"roc_auc": round(float(rng.uniform(0.7, 0.95)), 4), "pr_auc": round(float(rng.uniform(0.1, 0.5)), 4)},
        "trained_on": f"make_transactions(n_rows={int(rng.integers(2, 50)) * 1000}, seed={int(rng.integers(0, 999))})",
    }
    return {"seed": int(rng.integers(0, 100_000)), "metadata": metadata, "path_kind": path_kind,
            "file": str(rng.choice(["model.joblib", "forest-v3.joblib", "artifact.joblib"]))}


save_with_hash = Exercise(
    id="deploy.save_with_hash",
    title="Save a model with its metadata and SHA-256",
    points=2,
    answer=Function("save_with_hash"),
    tests=_each(save_probe, save_verdict, [
        ("a fresh model saved to a str path", _save_inputs, True),
        ("a fresh model saved to a pathlib.Path", functools.partial(_save_inputs, path_kind="pathlib")),
    ]),
    hints=(
        "Write the model first (`joblib.dump(model, path)`), then hash the *file*: "
        "`hashlib.sha256(open(path, 'rb').read()).hexdigest()` (or read it in blocks for big files).",
        "Build the record as `{**metadata, 'sha256': digest, 'versions': {'sklearn': sklearn.__version__, "
        "'numpy': np.__version__, 'joblib': joblib.__version__}}`.",
        "Write it with `json.dump(record, open(str(path) + '.json', 'w'))` (use a `with` block) and return `record`.",
    ),
    forbid=("mlcourse.deploy.registry.save_model", "registry.save_model", "mlcourse.deploy.registry._sha256", "registry._sha256"),
    on_error={
        "TypeError": "With a pathlib.Path, `path + '.json'` fails: build the sidecar's name as str(path) + '.json'. "
        "(json.dump also refuses bytes: store hexdigest(), a string.)",
    },
)


def reference_save(model: Any, path: str | os.PathLike[str], metadata: dict | None = None) -> dict:
    """What ``save_with_hash`` should do: joblib file, then a JSON sidecar with its SHA-256."""
    import joblib

    joblib.dump(model, path)
    record = {**(metadata or {}), "sha256": sha256_file(path), "versions": installed_versions()}
    with open(sidecar_path(path), "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2)
    return record


def _load_inputs(rng: np.random.Generator, case: str = "intact") -> dict:
    """A model saved the way the lesson specifies (its file's and sidecar's bytes), and the damage to do to it."""
    k = int(rng.integers(2, 6))
    names = [str(n) for n in rng.choice(_FEATURE_POOL, size=k, replace=False)]
    seed, file = int(rng.integers(0, 100_000)), str(rng.choice(["model.joblib", "forest-v3.joblib", "artifact.joblib"]))
    folder = tempfile.mkdtemp(prefix="mlcourse-load-")
    try:
        path = os.path.join(folder, file)
        reference_save(small_model(seed, names)[0], path, {"name": "demo", "feature_names": names})
        data = [base64.b64encode(Path(p).read_bytes()).decode("ascii") for p in (path, sidecar_path(path))]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"seed": seed, "names": names, "case": case, "file": file, "model_bytes": data[0], "sidecar_bytes": data[1]}


def _load_case(case: str) -> Any:
    """The inputs of one ``load_verified`` test: a model saved with ``case`` damage (drawn once per seed)."""
    return _drawn_once(functools.partial(_load_inputs, case=case))


load_verified = Exercise(
    id="deploy.load_verified",
    title="Load a model only after its hash checks out",
    points=3,
    answer=Function("load_verified"),
    tests=_each(load_probe, load_verdict, [
        ("an intact model file", _load_case("intact"), True),
        ("a model file swapped for one that runs code on load", _load_case("swapped")),
        ("a model file with bytes appended", _load_case("appended"), True),
        ("a model file without its sidecar", _load_case("no_sidecar")),
    ]),
    hints=(
        "Read the sidecar first: `meta = json.load(open(str(path) + '.json'))`; the expected hash is `meta['sha256']`.",
        "Hash the file's bytes (`open(path, 'rb')`) *before* calling joblib.load: loading a pickle runs code, so a "
        "check after loading comes too late.",
        "`if digest != meta['sha256']: raise ValueError(f'{path}: SHA-256 mismatch, refusing to load')`; "
        "otherwise `return joblib.load(path)`.",
    ),
    forbid=("mlcourse.deploy.registry.load_model", "registry.load_model", "mlcourse.deploy.registry.verify_model",
            "registry.verify_model", "mlcourse.deploy.registry._sha256", "registry._sha256", "mlcourse.deploy.registry._verified",
            "mlcourse.deploy.registry._check_file"),
    on_error={},
)


# --------------------------------------------------------------------------
# deploy.validate_record: every problem of one request
# --------------------------------------------------------------------------


def reference_problems(record: dict, schema: Sequence[dict]) -> list[tuple[str, str]]:
    """Every problem of ``record`` against ``schema``, as ``(field, problem)`` pairs."""
    problems = []
    names = [f["name"] for f in schema]
    for field in schema:
        name = field["name"]
        if name not in record:
            problems.append((name, "missing"))
            continue
        value = record[name]
        if is_numeric_dtype(field["dtype"]):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append((name, "wrong_type"))
            elif not math.isfinite(value):
                problems.append((name, "not_finite"))
        else:
            if not isinstance(value, str):
                problems.append((name, "wrong_type"))
            elif field.get("categories") is not None and value not in field["categories"]:
                problems.append((name, "not_allowed"))
    for key in record:
        if key not in names:
            problems.append((str(key), "unknown"))
    return problems


_FRAUD_SCHEMA = [
    {"name": "amount", "dtype": "float64", "categories": None},
    {"name": "hour", "dtype": "int64", "categories": None},
    {"name": "account_age_days", "dtype": "int64", "categories": None},
    {"name": "customer_age", "dtype": "int64", "categories": None},
    {"name": "is_foreign", "dtype": "int64", "categories": None},
    {"name": "merchant_category", "dtype": "str",
     "categories": ["electronics", "fuel", "gambling", "grocery", "online_retail", "pharmacy", "restaurants", "travel"]},
    {"name": "country", "dtype": "str", "categories": None},
    {"name": "channel", "dtype": "str", "categories": ["chip", "contactless", "online", "swipe"]},
]
_WORDS = ["speed", "weight", "colour", "region", "device", "plan", "score", "age", "tier", "lang", "size", "rate"]


#: Numeric dtypes beyond int64 and float64: every random schema has one of each kind (the task names them).
_UINTS = ("uint8", "uint16", "uint32", "uint64")
_OTHER_NUMBERS = ("float64", "int64", "int32", "int16")


def _random_schema(rng: np.random.Generator) -> list[dict]:
    """A schema of 5-7 fields alternating number and text; its 3-4 numbers always include a uint and a float32."""
    names = [str(w) for w in rng.choice(_WORDS, size=int(rng.integers(5, 8)), replace=False)]
    slots = (len(names) + 1) // 2
    numeric = [str(rng.choice(_UINTS)), "float32", *(str(d) for d in rng.choice(_OTHER_NUMBERS, size=2, replace=False))]
    numeric = [numeric[int(i)] for i in rng.permutation(slots)]
    schema = []
    for i, name in enumerate(names):
        if i % 2 == 0:
            schema.append({"name": name, "dtype": numeric.pop(), "categories": None})
        else:
            cats = None if rng.random() < 0.3 else [f"{name}-{c}" for c in "abcd"[: int(rng.integers(2, 5))]]
            schema.append({"name": name, "dtype": "str", "categories": cats})
    return schema


def _good_value(field: dict, rng: np.random.Generator) -> Any:
    if field["dtype"].startswith("uint"):  # a valid record puts no negative number into an unsigned field
        return int(rng.integers(0, 500)) if rng.random() < 0.5 else round(float(rng.uniform(0, 900)), 2)
    if is_numeric_dtype(field["dtype"]):
        return int(rng.integers(0, 500)) if rng.random() < 0.5 else round(float(rng.uniform(-50, 900)), 2)
    if field.get("categories"):
        return str(rng.choice(field["categories"]))
    return str(rng.choice(["US", "GB", "DE", "FR", "x", "other"]))


def _good_record(schema: Sequence[dict], rng: np.random.Generator) -> dict:
    return {f["name"]: _good_value(f, rng) for f in schema}


def _numeric(schema: Sequence[dict]) -> list[dict]:
    return [f for f in schema if is_numeric_dtype(f["dtype"])]


def _text(schema: Sequence[dict], with_categories: bool | None = None) -> list[dict]:
    out = [f for f in schema if not is_numeric_dtype(f["dtype"])]
    if with_categories is not None:
        out = [f for f in out if (f.get("categories") is not None) == with_categories]
    return out


def _pick(items: Sequence[Any], rng: np.random.Generator) -> Any:
    return items[int(rng.integers(0, len(items)))]


def _cases_good(rng: np.random.Generator) -> list:
    cases = []
    for schema in (_FRAUD_SCHEMA, _random_schema(rng), _random_schema(rng)):
        for _ in range(3):
            rec = _good_record(schema, rng)
            # Whole numbers as floats and ints alike are numbers.
            cases.append((rec, schema))
    return cases


def _cases_fields(rng: np.random.Generator) -> list:
    cases = []
    for schema in (_FRAUD_SCHEMA, _random_schema(rng)):
        rec = _good_record(schema, rng)
        del rec[_pick(schema, rng)["name"]]
        cases.append((rec, schema))
        rec = _good_record(schema, rng)
        rec[str(rng.choice(["user_agent", "Amount", "promo_code", "referrer"]))] = _good_value(_pick(schema, rng), rng)
        cases.append((rec, schema))
    return cases


def _cases_types(rng: np.random.Generator) -> list:
    cases = []
    for schema in (_FRAUD_SCHEMA, _random_schema(rng)):
        num = _pick(_numeric(schema), rng)
        rec = _good_record(schema, rng)
        rec[num["name"]] = str(_good_value(num, rng))  # "12.5": a string where a number belongs
        cases.append((rec, schema))
        rec = _good_record(schema, rng)
        rec[_pick(_numeric(schema), rng)["name"]] = bool(rng.random() < 0.5)
        cases.append((rec, schema))
        rec = _good_record(schema, rng)
        rec[_pick(schema, rng)["name"]] = None
        cases.append((rec, schema))
        rec = _good_record(schema, rng)
        rec[_pick(_text(schema), rng)["name"]] = int(rng.integers(0, 9))
        cases.append((rec, schema))
    return cases


def _cases_finite(rng: np.random.Generator) -> list:
    cases = []
    for schema in (_FRAUD_SCHEMA, _random_schema(rng)):
        for bad in (math.nan, math.inf, -math.inf):
            rec = _good_record(schema, rng)
            rec[_pick(_numeric(schema), rng)["name"]] = bad
            cases.append((rec, schema))
    return cases


def _cases_categories(rng: np.random.Generator) -> list:
    cases = []
    for schema in (_FRAUD_SCHEMA, _random_schema(rng), _random_schema(rng)):
        listed = _text(schema, True)
        if not listed:
            continue
        field = _pick(listed, rng)
        rec = _good_record(schema, rng)
        good = str(rng.choice(field["categories"]))
        rec[field["name"]] = str(rng.choice([good.upper(), good + " ", "fax", "unknown"]))
        cases.append((rec, schema))
        free = _text(schema, False)
        if free:  # a text field with no list of categories takes any string
            rec = _good_record(schema, rng)
            rec[_pick(free, rng)["name"]] = str(rng.choice(["ZZ", "somewhere", "n/a"]))
            cases.append((rec, schema))
    return cases


def _cases_many(rng: np.random.Generator) -> list:
    cases = []
    for schema in (_FRAUD_SCHEMA, _random_schema(rng), _random_schema(rng)):
        rec = _good_record(schema, rng)
        nums = _numeric(schema)
        # A field of a common dtype goes missing; the NaN lands in a uint or float32 field where the schema has
        # one, so an answer that reads those dtypes as text shows here on every seed.
        common = [f for f in nums if f["dtype"] in ("int64", "float64", "int32", "int16")]
        rare = [f for f in nums if f not in common]
        gone = _pick(common, rng)
        del rec[gone["name"]]
        rec[_pick(rare or [f for f in nums if f is not gone], rng)["name"]] = math.nan
        rec[_pick(_text(schema), rng)["name"]] = None
        rec["extra_" + str(rng.choice(_WORDS))] = 1
        cases.append((rec, schema))
    return cases


def _expected_problems(cases: list) -> list:
    return [reference_problems(rec, schema) for rec, schema in cases]


validate_record = Exercise(
    id="deploy.validate_record",
    title="Every problem of one request",
    points=3,
    answer=Function("validate_record"),
    tests=_each(records_probe, records_verdict, [
        ("well-formed records", _cases_good, True),
        ("a missing field and an unknown field", _cases_fields, True),
        ("wrong types: a string, a bool and None for numbers, a number for text", _cases_types),
        ("NaN and ±infinity", _cases_finite),
        ("values outside a field's categories", _cases_categories),
        ("several problems in one record", _cases_many),
    ], expected=_expected_problems),
    hints=(
        "Loop over the schema: an absent name is ('name', 'missing'); then loop over the record's keys for names the "
        "schema lacks ('unknown'). Collect everything in one list; never stop at the first problem.",
        "For a numeric dtype: `isinstance(v, bool) or not isinstance(v, (int, float))` is 'wrong_type' (check bool "
        "first: True is an int in Python); otherwise `not math.isfinite(v)` is 'not_finite'.",
        "For a text dtype: not a str is 'wrong_type'; a str not in `field['categories']` (when that is not None) is "
        "'not_allowed'. None is 'wrong_type' for both kinds.",
    ),
    forbid=("mlcourse.deploy.service.ModelService", "serving.ModelService", "mlcourse.deploy.app.request_model",
            "serving.request_model"),
    on_error={
        "TypeError": "math.isfinite (or isnan) raises on a string or None: check the type first and only test "
        "finiteness for real numbers.",
        "KeyError": "A record may lack a field: test `name in record` before reading record[name].",
    },
)


# --------------------------------------------------------------------------
# deploy.serve_app: write the service (FastAPI, a pydantic request model, /predict)
# --------------------------------------------------------------------------


def _on_a_bound(record: dict) -> bool:
    """Whether a payment holds a value on one of the service's bounds (is_foreign aside: both its values are)."""
    return any(record[f] in (spec.get("gt"), spec.get("ge"), spec.get("le")) for f, spec in SERVICE_FIELDS.items()
               if spec["type"] != "text" and f != "is_foreign")


@functools.lru_cache(maxsize=1)
def _payment_pool() -> list[dict]:
    """Realistic payments, none on a bound: the bounds are tested on purpose, in their own test, on every seed."""
    from mlcourse.train.fraud_model import example_records

    return [r for r in example_records(5_000, seed=4_242) if not _on_a_bound(r)]


def _payments(rng: np.random.Generator, n: int) -> list[dict]:
    """``n`` realistic request bodies, drawn from 5 000 payments (as the service's clients would send them)."""
    pool = _payment_pool()
    return [dict(pool[int(i)]) for i in rng.choice(len(pool), size=n, replace=False)]


#: The models handed to the learner's make_app are trained on one of these seeds (a model per check would cost
#: more than the check; the payments sent are fresh on every seed).
SERVICE_SEEDS = tuple(range(8))


def _request(record: dict, what: str, expect: int, field: str | None = None) -> dict:
    return {"body": json.dumps(record), "what": what, "expect": expect, "field": field}


def _service_inputs(rng: np.random.Generator, requests: list[dict], openapi: bool = False) -> dict:
    return {"seed": int(rng.choice(SERVICE_SEEDS)), "requests": requests, "openapi": openapi}


@_drawn_once
def _service_good(rng: np.random.Generator) -> dict:
    records = _payments(rng, 4)
    requests = [_request(r, "a payment", 200) for r in records[:2]]
    first = records[2]
    requests.append(_request({k: first[k] for k in reversed(list(first))}, "a payment with its fields in another order",
                             200))
    requests.append(_request({**records[3], "country": str(rng.choice(["ZZ", "BR", "JP", "NZ"]))},
                             "a payment from a country the training data never had", 200))
    requests.append(_request({**records[0], "amount": int(rng.integers(5, 500))},
                             "an amount sent as a whole number", 200))
    return _service_inputs(rng, requests)


@_drawn_once
def _service_missing(rng: np.random.Generator) -> dict:
    base = _payments(rng, 1)[0]
    fields = ["amount", "channel", str(rng.choice(["hour", "account_age_days", "customer_age", "is_foreign",
                                                   "merchant_category", "country"]))]
    return _service_inputs(rng, [_request({k: v for k, v in base.items() if k != f}, f"a payment without `{f}`", 422, f)
                                 for f in fields])


@_drawn_once
def _service_types(rng: np.random.Generator) -> dict:
    base = _payments(rng, 1)[0]
    cases = [
        ("amount", str(base["amount"]), "the amount sent as a string"),
        ("customer_age", str(base["customer_age"]), "the customer's age sent as a string"),
        ("hour", bool(rng.random() < 0.5), "a boolean for `hour`"),
        ("account_age_days", None, "null for `account_age_days`"),
        ("channel", int(rng.integers(0, 9)), "a number for `channel`"),
        ("amount", str(rng.choice(["twelve", "n/a", "12,50"])), "text for `amount`"),
    ]
    return _service_inputs(rng, [_request({**base, f: v}, what, 422, f) for f, v, what in cases])


@_drawn_once
def _service_ranges(rng: np.random.Generator) -> dict:
    base = _payments(rng, 1)[0]
    good = [("hour", 0), ("hour", 23), ("customer_age", 18), ("customer_age", 100), ("account_age_days", 0),
            ("is_foreign", 0), ("is_foreign", 1), ("amount", 0.01)]
    bad = [("hour", 24), ("hour", -1), ("customer_age", 17), ("customer_age", 101), ("account_age_days", -1),
           ("is_foreign", 2), ("amount", 0.0), ("amount", -round(float(rng.uniform(1, 99)), 2))]
    cases = [(f, v, 200) for f, v in good] + [(f, v, 422) for f, v in bad]
    order = rng.permutation(len(cases))
    return _service_inputs(rng, [_request({**base, f: v}, f"`{f}` = {v!r}", expect, f)
                                 for f, v, expect in (cases[int(i)] for i in order)])


@_drawn_once
def _service_categories(rng: np.random.Generator) -> dict:
    base = _payments(rng, 1)[0]
    cases = [
        _request({**base, "channel": str(rng.choice(["fax", "Online", "online ", "phone"]))},
                 "a channel that is not one of the four", 422, "channel"),
        _request({**base, "merchant_category": str(rng.choice(["Grocery", "casino", "books"]))},
                 "a merchant category that is not one of the eight", 422, "merchant_category"),
        _request({**base, str(rng.choice(["promo_code", "user_agent", "referrer"])): "x"}, "a field the service does not know",
                 422, "*extra"),
    ]
    return _service_inputs(rng, cases)


@_drawn_once
def _service_openapi(rng: np.random.Generator) -> dict:
    return _service_inputs(rng, [], openapi=True)


serve_app = Exercise(
    id="deploy.serve_app",
    title="Write the service: a pydantic request model and POST /predict",
    points=4,
    answer=Function("make_app"),
    tests=_each(service_probe, service_verdict, [
        ("valid payments", _service_good, True),
        ("payments with a field missing", _service_missing),
        ("payments with a value of the wrong type", _service_types),
        ("values at and just beyond each bound", _service_ranges),
        ("unknown categories and an unknown field", _service_categories),
        ("the OpenAPI document", _service_openapi),
    ]),
    hints=(
        "Declare `class Payment(BaseModel)` with one annotated field per feature, e.g. `hour: int = Field(ge=0, le=23)`, "
        "`channel: Literal['chip', 'contactless', 'online', 'swipe']`, and `model_config = ConfigDict(strict=True, "
        "extra='forbid')` so '12.5' and unknown fields are refused.",
        "Inside make_app: `app = FastAPI()`, then `@app.post('/predict')` on `def predict(payment: Payment):` — "
        "typing the parameter with your model is what makes FastAPI validate the body and answer 422.",
        "In predict: `p = model.predict_proba(pd.DataFrame([payment.model_dump()]))[0, 1]` and "
        "`return {'fraud_probability': float(p)}`; after the decorated function, `return app`.",
    ),
    forbid=("mlcourse.deploy.app.create_app", "create_app", "mlcourse.deploy.schemas.request_model",
            "mlcourse.deploy.app.request_model"),
    on_error={
        "AttributeError": "make_app takes the model and returns the FastAPI app: build the app inside it.",
    },
)


# --------------------------------------------------------------------------
# deploy.score_in_chunks: a batch job
# --------------------------------------------------------------------------


def reference_chunks(frame: pd.DataFrame, chunk_size: int, id_column: str) -> pd.DataFrame:
    """What ``score_in_chunks`` returns: the ids in the input's order with their scores."""
    return pd.DataFrame({id_column: frame[id_column].to_numpy(), "score": batch_scores(frame[BATCH_FEATURES])})


def _chunk_inputs(rng: np.random.Generator, *, n: int | None = None, chunk: int | None = None,
                  id_column: str = "transaction_id") -> tuple:
    from mlcourse.data.generate import make_transactions

    chunk = chunk or int(rng.integers(150, 400))
    n = n or int(chunk * rng.integers(3, 7) + rng.integers(1, chunk))
    seed = int(rng.integers(0, 100_000))
    frame = make_transactions(max(n, 1_000), seed=seed).head(n)
    frame = frame[["transaction_id", *BATCH_FEATURES]].rename(columns={"transaction_id": id_column})
    # Shuffled, with the shuffled index kept: the order to preserve is the frame's, not the ids'.
    frame = frame.sample(frac=1.0, random_state=seed)
    return frame, chunk, id_column


@_drawn_once
def _chunk_inputs_fresh(rng: np.random.Generator) -> tuple:
    return _chunk_inputs(rng)


@_drawn_once
def _chunk_inputs_exact(rng: np.random.Generator) -> tuple:
    chunk = int(rng.integers(100, 300))
    return _chunk_inputs(rng, n=chunk * int(rng.integers(3, 6)), chunk=chunk, id_column="request_id")


@_drawn_once
def _chunk_inputs_small(rng: np.random.Generator) -> tuple:
    return _chunk_inputs(rng, n=int(rng.integers(20, 90)), chunk=500)


def _expected_chunks(a: tuple) -> pd.DataFrame:
    return reference_chunks(*a)


score_in_chunks = Exercise(
    id="deploy.score_in_chunks",
    title="A batch job: score a frame chunk by chunk",
    points=2,
    answer=Function("score_in_chunks"),
    tests=_each(chunk_probe, chunk_verdict, [
        ("a fresh shuffled frame", _chunk_inputs_fresh),
        ("a frame that splits into whole chunks, ids in 'request_id'", _chunk_inputs_exact),
        ("a frame smaller than one chunk", _chunk_inputs_small, True),
    ], expected=_expected_chunks),
    hints=(
        "Loop `for start in range(0, len(frame), chunk_size)` and take `chunk = frame.iloc[start:start + chunk_size]` "
        "(positions, not index labels: the index may be in any order).",
        "Score `model.predict_proba(chunk.drop(columns=[id_column]))[:, 1]` and keep `chunk[id_column].to_numpy()` "
        "next to it.",
        "Concatenate the pieces in order (np.concatenate, or pd.concat of small frames with ignore_index=True) and "
        "return `pd.DataFrame({id_column: ids, 'score': scores})`.",
    ),
    on_error={
        "ValueError": "The model takes exactly its feature columns as a DataFrame: drop the id column "
        "(chunk.drop(columns=[id_column])) and do not convert to .values. An empty chunk is refused too: "
        "range(0, len(frame), chunk_size) never produces one.",
        "KeyError": "The frame's index is shuffled: .loc[start:stop] slices by index *label* (and fails, or picks the "
        "wrong rows); slice *positions* with .iloc[start:start + chunk_size]. Read the id column's name from `id_column`.",
    },
)


# --------------------------------------------------------------------------
# deploy.pipeline_tests: write the tests, graded by the faults they catch
# --------------------------------------------------------------------------
#: The faulty pipelines the learner's tests are graded on (not the lesson's: see mlcourse.deploy.faults), and what
#: to tell a learner whose tests let each one through.
GRADED_FAULTS: dict[str, tuple[Fault, str]] = {
    "amount": (
        Fault("a model that ignores `amount`", ignore=("amount",)),
        "a directional test must demand that a higher amount *raises* the score (a test that only forbids the score "
        "from falling passes a model that never looks at the amount)",
    ),
    "labels": (
        Fault("a pipeline whose labelling step flipped every label", flip_labels=True),
        "check the training data's fraud share (a few percent, never most rows) and that an obvious fraud scores "
        "high and an obvious safe payment low",
    ),
    "unseen": (
        Fault("a pipeline that crashes on a category it never saw", unknown="error"),
        "score a payment whose country or merchant category the model never saw, and require a probability, not an "
        "exception (a test that catches the exception and passes anyway proves nothing)",
    ),
    "skew": (
        Fault("an online path that receives amounts in cents (training-serving skew)", skew=("amount", 100.0, 0.0)),
        "score the same payments through serve(record) and through model.predict_proba(frame), and require the "
        "same probabilities (within 1e-6)",
    ),
}


#: The training tables the pipelines under test are built from: seeds of make_transactions on which the correct
#: pipeline keeps every promise the task states (tests/exercises/test_deploy.py checks each one), so a right test
#: passes on every secret seed.
PIPELINE_SEEDS = tuple(range(8))


def _tests_inputs(rng: np.random.Generator, fault: str | None = None) -> dict:
    return {"seed": int(rng.choice(PIPELINE_SEEDS)), "fault": GRADED_FAULTS[fault][0].plain() if fault else None,
            "kind": fault}


def _tests_correct(rng: np.random.Generator) -> dict:
    return _tests_inputs(rng)


def _tests_amount(rng: np.random.Generator) -> dict:
    return _tests_inputs(rng, "amount")


def _tests_labels(rng: np.random.Generator) -> dict:
    return _tests_inputs(rng, "labels")


def _tests_unseen(rng: np.random.Generator) -> dict:
    return _tests_inputs(rng, "unseen")


def _tests_skew(rng: np.random.Generator) -> dict:
    return _tests_inputs(rng, "skew")


def _fault_named(a: dict) -> list[str] | None:
    """What the verdict tells a learner whose tests let the input's fault through (None: the correct pipeline)."""
    return None if a["kind"] is None else [GRADED_FAULTS[a["kind"]][0].name, GRADED_FAULTS[a["kind"]][1]]


pipeline_tests = Exercise(
    id="deploy.pipeline_tests",
    title="Write the tests: a data, a minimum-functionality, an invariance and a directional test",
    points=4,
    answer=Function("test_data"),
    tests=_each(tests_probe, tests_verdict, [
        ("the correct pipeline (every test must pass)", _tests_correct, True),
        *((GRADED_FAULTS[fault][0].name, inputs) for fault, inputs in (("amount", _tests_amount), ("labels", _tests_labels),
                                                                       ("unseen", _tests_unseen), ("skew", _tests_skew))),
    ], expected=_fault_named),
    hints=(
        "Each test is a plain function whose parameters name the fixtures it needs (data, model, serve) and which "
        "fails through `assert`. Score frames with `model.predict_proba(frame)[:, 1]`.",
        "Directional: `after = model.predict_proba(rows.assign(amount=rows['amount'] * 3))[:, 1]` and require "
        "`(after > before).all()`: strictly higher, or a model that ignores the amount passes.",
        "Invariance: for a few rows, `serve(row)` (row from `rows.to_dict('records')`) must equal the batch "
        "probability within 1e-6; and a row with `country='ZZ'` must still get a probability.",
    ),
    on_error={},
)


# --------------------------------------------------------------------------
# deploy.promotion_gate: offline evidence before any traffic
# --------------------------------------------------------------------------
_BEHAVIOUR_POOL = [
    "MFT: textbook fraud scores high",
    "MFT: textbook safe payment scores low",
    "INV: country swap with is_foreign fixed",
    "INV: daytime hour shift",
    "DIR: higher amount never lowers the score",
    "DIR: brand-new account never lowers the score",
    "DIR: online instead of chip never lowers the score",
    "MFT: no missing or NaN scores",
]


def reference_gate(y_true: Any, incumbent_scores: Any, candidate_scores: Any, behaviour: dict,
                   min_gain: float = 0.01) -> tuple[bool, list[str]]:
    """The promotion gate: a PR-AUC gain of at least ``min_gain`` and every behavioural test passed."""
    y = np.asarray(y_true)
    gain = pr_auc(y, np.asarray(candidate_scores)) - pr_auc(y, np.asarray(incumbent_scores))
    reasons = []
    if gain < min_gain:
        reasons.append(f"PR-AUC gain {gain:+.4f} is below min_gain {min_gain}")
    if not behaviour:
        reasons.append("no behavioural tests were run")
    reasons += [f"behavioural test failed: {name}" for name, passed in behaviour.items() if not passed]
    return not reasons, reasons


def _dyadic_rankings(k: int = 4, top: int = 16) -> list[tuple[tuple[int, ...], float]]:
    """Ranks of ``k`` frauds within the ``top`` scores whose PR-AUC is a short binary fraction.

    Each precision at a fraud's rank (j / rank) is then exact in floating point, and so are the PR-AUC
    (their mean) and the difference of two of them: a margin case built from two such rankings puts the gain
    *exactly* on the margin, whatever order of operations an answer uses (a - b >= m, a >= b + m, ...).
    """
    from fractions import Fraction
    from itertools import combinations

    found = []
    for ranks in combinations(range(1, top + 1), k):
        precisions = [Fraction(j + 1, r) for j, r in enumerate(ranks)]
        if all(p.denominator & (p.denominator - 1) == 0 for p in precisions):
            found.append((ranks, float(sum(precisions) / k)))
    return found


_DYADIC = _dyadic_rankings()


def _ranked(order: np.ndarray) -> np.ndarray:
    """Distinct scores, highest first, for the rows in ``order`` (no ties: a tie would blur the ranks)."""
    scores = np.empty(len(order))
    scores[order] = np.round(np.linspace(0.99, 0.01, len(order)), 6)
    return scores


def _exact_pair(rng: np.random.Generator, n_neg: int, most: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                             float, float]:
    """Labels (4 frauds among ``n_neg`` legitimate rows, in random positions) and two score arrays whose PR-AUCs
    are exact binary fractions, the second higher than the first by at least 0.0625 and at most ``most``."""
    while True:
        a, b = (_DYADIC[int(i)] for i in rng.choice(len(_DYADIC), size=2, replace=False))
        if 0.0625 <= b[1] - a[1] <= most:
            break
    n = n_neg + 4
    y = np.zeros(n, dtype=int)
    y[rng.choice(n, size=4, replace=False)] = 1
    positives, negatives = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    arrays = []
    for ranks in (a[0], b[0]):
        order = np.empty(n, dtype=int)
        top = np.zeros(n, dtype=bool)
        top[[r - 1 for r in ranks]] = True
        order[top] = rng.permutation(positives)
        order[~top] = rng.permutation(negatives)
        arrays.append(_ranked(order))
    return y, arrays[0], arrays[1], a[1], b[1]


def _scores(rng: np.random.Generator, y: np.ndarray, signal: float) -> np.ndarray:
    raw = y * signal + rng.normal(size=len(y))
    return np.round(1.0 / (1.0 + np.exp(-(raw - 2.0))), 6)


def _gate_pair(rng: np.random.Generator, better: bool, big: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels and two score arrays; the candidate is clearly better, slightly better, or worse."""
    n = int(rng.integers(2_500, 4_000))
    y = (rng.random(n) < rng.uniform(0.04, 0.08)).astype(int)
    a = _scores(rng, y, 1.4)
    b = _scores(rng, y, 2.4 if big else 1.5)
    if (pr_auc(y, b) > pr_auc(y, a)) != better:
        a, b = b, a
    return y, a, b


def _suite(rng: np.random.Generator, n_failed: int) -> dict:
    names = [str(x) for x in rng.choice(_BEHAVIOUR_POOL, size=int(rng.integers(3, 6)), replace=False)]
    failed = set(rng.choice(names, size=n_failed, replace=False).tolist()) if n_failed else set()
    return {name: name not in failed for name in names}


@_drawn_once
def _gate_clear(rng: np.random.Generator) -> tuple:
    y, inc, cand = _gate_pair(rng, better=True, big=True)
    gain = pr_auc(y, cand) - pr_auc(y, inc)
    min_gain = round(min(float(rng.uniform(0.005, 0.02)), gain / 2), 4)
    return y, inc, cand, _suite(rng, 0), min_gain


@_drawn_once
def _gate_fails_test(rng: np.random.Generator) -> tuple:
    y, inc, cand, _, min_gain = _gate_clear(rng)
    return y, inc, cand, _suite(rng, 1), min_gain


@_drawn_once
def _gate_small_gain(rng: np.random.Generator) -> tuple:
    """A small gain, below min_gain whether it is measured in PR-AUC or ROC-AUC (the ROC-AUC mistake has tests
    of its own; here it must not decide by chance)."""
    y, inc, cand = _gate_pair(rng, better=True, big=False)
    gain = max(pr_auc(y, cand) - pr_auc(y, inc), roc_auc_of(y, cand) - roc_auc_of(y, inc))
    min_gain = round(gain + float(rng.uniform(0.005, 0.02)), 4)
    return y, inc, cand, _suite(rng, 0), min_gain


@_drawn_once
def _gate_worse(rng: np.random.Generator) -> tuple:
    y, inc, cand = _gate_pair(rng, better=False, big=True)
    return y, inc, cand, _suite(rng, 2), round(float(rng.uniform(0.005, 0.02)), 4)


@_drawn_once
def _gate_top(rng: np.random.Generator) -> tuple:
    """A candidate that lifts frauds from the upper ranks to the very top: a big PR-AUC gain, a small ROC-AUC one."""
    n = int(rng.integers(2_500, 4_000))
    y = (rng.random(n) < rng.uniform(0.04, 0.08)).astype(int)
    inc = _scores(rng, y, 1.4)
    rank = np.empty(n, dtype=int)
    rank[np.argsort(-inc, kind="stable")] = np.arange(n)
    positives = np.flatnonzero(y == 1)
    near_top = positives[(rank[positives] >= 0.02 * n) & (rank[positives] < 0.2 * n)]
    lifted = rng.choice(near_top, size=max(1, len(near_top) // 2), replace=False)
    cand = inc.copy()
    cand[lifted] = np.round(1.0 - 1e-6 * np.arange(1, len(lifted) + 1), 6)
    roc_gain = roc_auc_of(y, cand) - roc_auc_of(y, inc)
    min_gain = round(max(float(rng.uniform(0.03, 0.08)), roc_gain + 0.01), 4)
    return y, inc, cand, _suite(rng, 0), min_gain


@_drawn_once
def _gate_empty(rng: np.random.Generator) -> tuple:
    y, inc, cand, _, min_gain = _gate_clear(rng)
    return y, inc, cand, {}, min_gain


@_drawn_once
def _gate_on_margin(rng: np.random.Generator) -> tuple:
    """A candidate whose PR-AUC gain is exactly min_gain (both exact in floating point): "at least" promotes it."""
    # At least 200 legitimate rows keep the ROC-AUC gain below 12 / 200 = 0.06 < min_gain (the frauds sit in the
    # top 16), so an answer comparing ROC-AUC refuses here on every seed.
    y, inc, cand, ap_inc, ap_cand = _exact_pair(rng, int(rng.integers(200, 400)))
    return y, inc, cand, _suite(rng, 0), ap_cand - ap_inc


def _expected_gate(a: tuple) -> bool:
    return reference_gate(*a)[0]


promotion_gate = Exercise(
    id="deploy.promotion_gate",
    title="A promotion gate: better on held-out data and every behavioural test passed",
    points=3,
    answer=Function("promotion_gate"),
    tests=_each(gate_probe, gate_verdict, [
        ("a clearly better candidate that passes every test", _gate_clear, True),
        ("a better candidate that fails one behavioural test", _gate_fails_test),
        ("a candidate whose gain is below min_gain", _gate_small_gain),
        ("a worse candidate that also fails two tests", _gate_worse),
        ("a better candidate with an empty behavioural suite", _gate_empty),
        ("a candidate that lifts frauds to the very top of the ranking", _gate_top),
        ("a candidate whose gain is exactly min_gain", _gate_on_margin),
    ], expected=_expected_gate),
    hints=(
        "gain = average_precision_score(y_true, candidate_scores) - average_precision_score(y_true, incumbent_scores); "
        "it must be at least min_gain.",
        "Collect reasons in a list: one for a small gain (mention 'PR-AUC'), one per failed test (mention its name), "
        "and one when `behaviour` is empty (all([]) is True, which is exactly the trap).",
        "Return `(not reasons, reasons)`.",
    ),
    on_error={
        "ValueError": "average_precision_score takes the labels first and the scores second: "
        "average_precision_score(y_true, scores).",
    },
)


# --------------------------------------------------------------------------
# deploy.slice_gate: no slice may get worse beyond a margin
# --------------------------------------------------------------------------
_SLICE_NAMES = {
    "channel": ["chip", "contactless", "online", "swipe"],
    "country": ["US", "GB", "DE", "FR", "ES", "NL"],
    "age band": ["18-24", "25-39", "40-59", "60+"],
}


def reference_slice_gate(y_true: Any, incumbent_scores: Any, candidate_scores: Any, slices: Any,
                         max_drop: float = 0.05, min_positives: int = 20) -> tuple[bool, list[str]]:
    """Refuse a candidate whose PR-AUC on some slice is lower than the incumbent's by more than ``max_drop``;
    slices with fewer than ``min_positives`` frauds are not judged."""
    y, inc, cand = (np.asarray(v) for v in (y_true, incumbent_scores, candidate_scores))
    groups = np.asarray([str(g) for g in slices], dtype=object)
    reasons = []
    for value in sorted(set(groups)):
        rows = groups == value
        if int(y[rows].sum()) < min_positives:
            continue
        before, after = pr_auc(y[rows], inc[rows]), pr_auc(y[rows], cand[rows])
        if before - after > max_drop:
            reasons.append(f"slice {value!r}: PR-AUC {after:.4f} vs {before:.4f} ({after - before:+.4f})")
    return not reasons, reasons


def _distinct(rng: np.random.Generator, y: np.ndarray, signal: float) -> np.ndarray:
    """Scores with no ties (a tie would let two correct ways of computing PR-AUC disagree)."""
    while True:
        raw = y * signal + rng.normal(size=len(y))
        scores = np.round(1.0 / (1.0 + np.exp(-(raw - 2.0))), 9)
        if len(np.unique(scores)) == len(scores):
            return scores


def _slice_block(rng: np.random.Generator, n: int, positives: int, how: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One slice's labels and incumbent/candidate scores. The candidate moves only frauds, so its PR-AUC is
    surely higher ("up"), lower ("down", or less so: "dip"), the same ("same"), or barely changed while its ROC-AUC drops ("tail":
    the frauds ranked lowest pushed to the bottom)."""
    y = np.zeros(n, dtype=int)
    y[rng.choice(n, size=positives, replace=False)] = 1
    pos = np.flatnonzero(y == 1)
    while True:
        inc = _distinct(rng, y, 2.0)
        cand = inc.copy()
        if how == "up":
            cand[pos] = 1.0 - (1.0 - inc[pos]) * rng.uniform(0.05, 0.3, size=len(pos))
        elif how == "down":
            cand[pos] = inc[pos] * rng.uniform(0.02, 0.3, size=len(pos))
        elif how == "dip":
            cand[pos] = inc[pos] * rng.uniform(0.3, 0.7, size=len(pos))
        elif how == "tail":
            low = pos[inc[pos] < np.quantile(inc[pos], 0.15)]
            cand[low] = inc[low] * 1e-3
        cand = np.round(cand, 12)
        if len(np.unique(cand)) == len(cand):
            return y, inc, cand


def _slice_names(rng: np.random.Generator, k: int) -> list[str]:
    pool = _SLICE_NAMES[str(rng.choice(list(_SLICE_NAMES)))]
    return [str(x) for x in rng.choice(pool, size=min(k, len(pool)), replace=False)]


def _slice_pack(rng: np.random.Generator, parts: list[tuple], max_drop: float, min_positives: int) -> dict:
    names = np.concatenate([[name] * len(p[0]) for name, *p in parts])
    y, inc, cand = (np.concatenate([p[i] for p in parts]) for i in (1, 2, 3))
    order = rng.permutation(len(y))
    return {"y": y[order].tolist(), "incumbent": inc[order].tolist(), "candidate": cand[order].tolist(),
            "slices": names[order].tolist(), "max_drop": max_drop, "min_positives": min_positives}


def _slice_case(rng: np.random.Generator, plan: list[tuple[str, int, int, str]], max_drop: float, min_positives: int,
                accept: Any = None) -> dict:
    """Draw slices as ``plan`` says ((name, rows, frauds, how) each) until ``accept(facts, case)`` holds: every
    property a verdict relies on is made sure of here, so it holds on every seed."""
    while True:
        case = _slice_pack(rng, [(name, *_slice_block(rng, n, k, how)) for name, n, k, how in plan], max_drop,
                           min_positives)
        case["plan"] = {name: how for name, _, _, how in plan}
        if accept is None or accept(slice_facts(case), case):
            return case


@_drawn_once
def _slice_all_fine(rng: np.random.Generator) -> dict:
    """Better on some slices, unchanged on one, and one whose lowest-ranked frauds sank (its ROC-AUC drops by more
    than max_drop, its PR-AUC by far less): promoted."""
    names = _slice_names(rng, 4)
    hows = ["up", "same", "tail", "up"]
    plan = [(nm, int(rng.integers(500, 900)), int(rng.integers(30, 60)), how) for nm, how in zip(names, hows)]
    max_drop = 0.05

    def accept(facts: dict, case: dict) -> bool:
        tail = facts[names[2]]
        return (slice_drop(tail) < max_drop - 0.01 and slice_drop(tail, "roc") > max_drop + 0.02
                and max(-slice_drop(facts[n]) for n in (names[0], names[3])) > max_drop + 0.01)

    return _slice_case(rng, plan, max_drop, 20, accept)


@_drawn_once
def _slice_one_worse(rng: np.random.Generator) -> dict:
    """Better overall and on most slices, far worse on one: refused, naming that slice."""
    names = _slice_names(rng, int(rng.integers(3, 5)))
    worse = names[int(rng.integers(0, len(names)))]
    plan = [(nm, int(rng.integers(300, 500)) if nm == worse else int(rng.integers(600, 900)),
             int(rng.integers(22, 30)) if nm == worse else int(rng.integers(40, 70)), "dip" if nm == worse else "up")
            for nm in names]
    max_drop = round(float(rng.uniform(0.03, 0.08)), 3)
    return _slice_case(rng, plan, max_drop, 20,
                       lambda facts, case: slice_drop(facts[worse]) > max_drop + 0.05 and better_overall(case))


@_drawn_once
def _slice_two_worse(rng: np.random.Generator) -> dict:
    names = _slice_names(rng, 4)
    plan = [(nm, int(rng.integers(500, 900)), int(rng.integers(30, 60)), "down" if i < 2 else "up")
            for i, nm in enumerate(names)]
    return _slice_case(rng, plan, 0.05, 20,
                       lambda facts, case: min(slice_drop(facts[n]) for n in names[:2]) > 0.1)


@_drawn_once
def _slice_few_frauds(rng: np.random.Generator) -> dict:
    """A slice with many rows but fewer frauds than min_positives, far worse on it: not judged, so promoted."""
    names = _slice_names(rng, 3)
    m = int(rng.integers(10, 25))
    plan = [(names[0], int(rng.integers(800, 1200)), int(rng.integers(3, m)), "down")]
    plan += [(nm, int(rng.integers(500, 900)), int(rng.integers(m + 15, m + 50)), "up") for nm in names[1:]]
    return _slice_case(rng, plan, 0.05, m, lambda facts, case: slice_drop(facts[names[0]]) > 0.1)


@_drawn_once
def _slice_on_margin(rng: np.random.Generator) -> dict:
    """A slice whose PR-AUC drops by exactly max_drop (both exact in floating point): allowed ("more than")."""
    names = _slice_names(rng, 3)
    while True:
        # 200+ legitimate rows keep that slice's ROC-AUC drop below 0.06 <= max_drop (its frauds sit in the top 16).
        y, low, high, ap_low, ap_high = _exact_pair(rng, int(rng.integers(200, 400)), most=0.25)
        if ap_high < 1.0:  # a relative drop (drop / PR-AUC) then exceeds the margin: that mistake shows here
            break
    max_drop = ap_high - ap_low
    while True:  # the other slices improve by more than the margin: a drop computed the wrong way round shows
        others = [(nm, *_slice_block(rng, int(rng.integers(400, 700)), int(rng.integers(25, 50)), "up"))
                  for nm in names[1:]]
        if max(pr_auc(y_, c_) - pr_auc(y_, i_) for _, y_, i_, c_ in others) > max_drop + 0.02:
            break
    case = _slice_pack(rng, [(names[0], y, high, low), *others], max_drop, 4)
    case["plan"] = {names[0]: "margin", **{nm: "up" for nm in names[1:]}}
    return case


def _expected_slice(a: dict) -> bool:
    return reference_slice_gate(a["y"], a["incumbent"], a["candidate"], a["slices"], max_drop=a["max_drop"],
                                min_positives=a["min_positives"])[0]


slice_gate = Exercise(
    id="deploy.slice_gate",
    title="Slices in the gate: no group of payments may get worse",
    points=3,
    answer=Function("slice_gate"),
    tests=_each(slice_probe, slice_verdict, [
        ("a candidate no slice gets worse with", _slice_all_fine, True),
        ("a candidate better overall but far worse on one slice", _slice_one_worse),
        ("a candidate worse on two slices", _slice_two_worse),
        ("a slice with fewer frauds than min_positives", _slice_few_frauds),
        ("a slice that loses exactly max_drop", _slice_on_margin),
    ], expected=_expected_slice),
    hints=(
        "Loop over the slice values (`np.unique(slices)`); for each, `rows = slices == value` picks its rows from "
        "every array.",
        "Skip a slice when `y_true[rows].sum() < min_positives`; otherwise compare "
        "`average_precision_score(y_true[rows], incumbent_scores[rows])` with the candidate's.",
        "Add a reason naming the slice when incumbent minus candidate is *more than* max_drop, and return "
        "`(not reasons, reasons)`.",
    ),
    on_error={
        "ValueError": "average_precision_score takes the labels first and the scores second, for the same rows.",
        "TypeError": "y_true, the scores and slices are numpy arrays of the same length: index them with the same "
        "boolean mask (rows = slices == value).",
    },
)


# --------------------------------------------------------------------------
# deploy.route: the sticky canary router
# --------------------------------------------------------------------------


def reference_route(user_id: str, fraction: float) -> str:
    """The lesson's router: SHA-256 of the id as a point in [0, 1), below ``fraction`` goes to the candidate."""
    digest = hashlib.sha256(str(user_id).encode("utf-8")).digest()
    return "candidate" if int.from_bytes(digest[:8], "big") / 2.0**64 < fraction else "incumbent"


def _char_sums(ids: Sequence[str]) -> np.ndarray:
    """The sum of each id's character codes, all ids at once (a weak hash)."""
    codes = np.frombuffer("".join(ids).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    ends = np.cumsum([len(u) for u in ids])
    running = np.concatenate([[0], np.cumsum(codes)])
    return running[ends] - running[ends - np.array([len(u) for u in ids], dtype=np.int64)]


def _char_sum_share(sums: np.ndarray, fraction: float) -> float:
    """The share a router built on the sum of the id's character codes (``sums``) sends to the candidate."""
    return float(np.mean(sums % 100 < fraction * 100))


@_drawn_once
def _route_fresh(rng: np.random.Generator) -> dict:
    """20 000 random ids at three fractions; at least one fraction is one where a character-sum router's share
    is off by more than the tolerance, so that weak hash fails here on every seed."""
    ids = [f"{int(x):016x}" for x in rng.integers(0, 2**63, size=20_000)]
    sums = _char_sums(ids)
    while True:
        fractions = sorted([round(float(rng.uniform(0.03, 0.1)), 3), round(float(rng.uniform(0.15, 0.35)), 3),
                            round(float(rng.uniform(0.4, 0.6)), 3)])
        if max(abs(_char_sum_share(sums, f) - f) for f in fractions) > 0.03:
            break
    return {"ids": ids, "fractions": [fractions[1], fractions[0], fractions[2]], "again": 3_000, "tolerance": 0.02}


@_drawn_once
def _route_sequential(rng: np.random.Generator) -> dict:
    """10 000 sequential ids at a fraction where the weak routers' shares are far off: a character sum clusters
    look-alike ids, and "every k-th hash" gives 1/k, not the fraction."""
    while True:
        start = int(rng.integers(1, 90_000))
        ids = [f"user-{k}" for k in range(start, start + 10_000)]
        fraction = round(float(rng.uniform(0.08, 0.3)), 3)
        if abs(_char_sum_share(_char_sums(ids), fraction) - fraction) > 0.1 and abs(1 / round(1 / fraction) - fraction) > 0.035:
            return {"ids": ids, "fractions": [fraction], "again": 1_000, "tolerance": 0.025}


@_drawn_once
def _route_edges(rng: np.random.Generator) -> dict:
    ids = [f"acct-{int(x)}" for x in rng.integers(0, 10**9, size=2_000)]
    return {"ids": ids, "fractions": [0.0, 1.0], "again": 500, "tolerance": 0.0}


route = Exercise(
    id="deploy.route",
    title="A sticky canary router",
    points=2,
    answer=Function("route"),
    tests=_each(route_probe, route_verdict, [
        ("20 000 fresh user ids at three fractions", _route_fresh),
        ("10 000 sequential ids user-1, user-2, ...", _route_sequential, True),
        ("fractions 0 and 1", _route_edges),
    ]),
    hints=(
        "Turn the id into a number that is the same in every process: "
        "`hashlib.sha256(user_id.encode()).digest()`.",
        "Map it into [0, 1): `int.from_bytes(digest[:8], 'big') / 2**64`.",
        "Return 'candidate' when that point is below `fraction`, else 'incumbent': about `fraction` of users, "
        "always the same ones, and a larger fraction keeps everyone a smaller one had.",
    ),
    forbid=("mlcourse.deploy.rollout.routes_to_candidate", "rollout.routes_to_candidate", "mlcourse.deploy.rollout.canary_bucket",
            "rollout.canary_bucket"),
    on_error={
        "AttributeError": "user_id is a string: encode it to bytes (user_id.encode()) before hashing.",
        "TypeError": "hashlib wants bytes: hashlib.sha256(user_id.encode()).",
    },
)


# --------------------------------------------------------------------------
# deploy.should_rollback: when the canary must go
# --------------------------------------------------------------------------
def reference_rollback(incumbent: dict, candidate: dict, min_requests: int = 100, max_error_increase: float = 0.01,
                       max_p95_increase_ms: float = 20.0) -> bool:
    """:func:`mlcourse.deploy.rollout.should_rollback` with the given margins, as a bool."""
    from mlcourse.deploy.rollout import RollbackRule
    from mlcourse.deploy.rollout import should_rollback as package_rule

    rule = RollbackRule(min_requests=min_requests, max_error_rate_increase=max_error_increase,
                        max_latency_increase_ms=max_p95_increase_ms)
    return bool(package_rule(incumbent, candidate, rule))


def _stats(requests: int, errors: int, p95: float) -> dict:
    return {"requests": int(requests), "errors": int(errors), "p95_ms": float(p95)}


def _rule(rng: np.random.Generator) -> dict:
    return {"min_requests": int(rng.choice([50, 100, 200])), "max_error_increase": float(rng.choice([0.01, 0.02, 0.05])),
            "max_p95_increase_ms": float(rng.choice([10.0, 20.0, 50.0]))}


def _case(kind_: str, inc: dict, cand: dict, rule: dict) -> dict:
    return {"kind": kind_, "incumbent": inc, "candidate": cand, "rule": rule}


def _rollback_waiting(rng: np.random.Generator) -> list:
    cases = []
    for _ in range(2):
        rule = _rule(rng)
        m = rule["min_requests"]
        n = int(rng.integers(5, m))
        cases.append(_case("too_early", _stats(rng.integers(2_000, 9_000), rng.integers(0, 5), rng.uniform(3, 8)),
                           _stats(n, max(1, n // 3), rng.uniform(3, 8) + 100), rule))
        inc = _stats(rng.integers(2_000, 9_000), 0, 5.0)
        cases.append(_case("at_minimum", inc, _stats(m, m // 4, 6.0), rule))
    return cases


def _rollback_errors(rng: np.random.Generator) -> list:
    cases = []
    rule = _rule(rng)
    m, margin = rule["min_requests"], rule["max_error_increase"]
    p = float(rng.uniform(3, 8))
    # Fewer errors than the incumbent in count, a far higher rate: roll back.
    inc_n = int(rng.integers(60, 100)) * m
    inc = _stats(inc_n, int(inc_n * 0.004), p)
    cand_n = m + int(rng.integers(0, m))
    cand_err = int(math.ceil(cand_n * (0.004 + margin + 0.03)))
    cases.append(_case("rate_not_count_up", inc, _stats(cand_n, cand_err, p), rule))
    # More errors than the incumbent in count, a lower rate: keep.
    inc = _stats(1_000, 20, p)
    cand_n = int(rng.integers(3, 6)) * 1_000
    cases.append(_case("rate_not_count_down", inc, _stats(cand_n, int(cand_n * 0.015), p), rule))
    # Exactly at the margin, from an error-free incumbent: allowed ("more than").
    cases.append(_case("error_boundary", _stats(8_000, 0, p), _stats(m * 10, int(round(m * 10 * margin)), p), rule))
    # A brand-new service: the incumbent has served nothing yet.
    cases.append(_case("incumbent_empty", _stats(0, 0, math.nan),
                       _stats(m + 40, int((m + 40) * (margin + 0.05)), p), rule))
    # Clearly fine.
    cases.append(_case("healthy", _stats(5_000, 10, p), _stats(2 * m, 0, p + 1.0), rule))
    return cases


def _rollback_latency(rng: np.random.Generator) -> list:
    cases = []
    rule = _rule(rng)
    m, lat = rule["min_requests"], rule["max_p95_increase_ms"]
    base = float(rng.integers(3, 15))
    # Error rates equal (or better) throughout: only the latency decides.
    cases.append(_case("slow", _stats(4_000, 4, base), _stats(m * 3, 0, base + lat + float(rng.integers(5, 40))), rule))
    cases.append(_case("latency_boundary", _stats(4_000, 4, base), _stats(m * 3, 0, base + lat), rule))
    cases.append(_case("faster", _stats(4_000, 4, base + 30), _stats(m * 3, 0, base), rule))
    cases.append(_case("no_latency_yet", _stats(4_000, 4, math.nan), _stats(m * 2, 0, base + 300), rule))
    return cases


def _expected_rollbacks(cases: list) -> list[bool]:
    return [reference_rollback(c["incumbent"], c["candidate"], **c["rule"]) for c in cases]


should_rollback = Exercise(
    id="deploy.should_rollback",
    title="The canary's rollback rule",
    points=2,
    answer=Function("should_rollback"),
    tests=_each(rollback_probe, rollback_verdict, [
        ("candidates below and at min_requests", _rollback_waiting, True),
        ("error rates, counts and the margin's edge", _rollback_errors),
        ("p95 latencies", _rollback_latency),
    ], expected=_expected_rollbacks),
    hints=(
        "First: if candidate['requests'] < min_requests, return False (too early to judge).",
        "Error rates: errors / requests for each side (0 for a side with no requests). Roll back when the "
        "candidate's is higher by more than max_error_increase.",
        "Latency: roll back when candidate['p95_ms'] - incumbent['p95_ms'] > max_p95_increase_ms (a NaN makes the "
        "comparison False, which is what you want). Otherwise return False.",
    ),
    forbid=("mlcourse.deploy.rollout.should_rollback", "rollout.should_rollback"),
    on_error={
        "ZeroDivisionError": "An incumbent that has served no requests yet has an error rate of 0: guard the "
        "division (rate = errors / requests if requests else 0.0).",
        "KeyError": "The stats are dicts with the keys 'requests', 'errors' and 'p95_ms'.",
    },
)
