"""Exercises of lesson 03, Deploy: package, validate, score in batches, gate, route and roll back.

Seven declarative exercises, in the order the lesson asks them:

* ``deploy.save_with_hash``: write a model with joblib plus a JSON sidecar
  holding its metadata, library versions and the file's SHA-256;
* ``deploy.load_verified``: load such a model only after its hash checks out
  (a swapped file that runs code on load must be refused *before* loading);
* ``deploy.validate_record``: every problem of one request against a feature
  schema (missing and unknown fields, wrong types, NaN/inf, unknown categories);
* ``deploy.score_in_chunks``: a batch job that scores a frame chunk by chunk,
  keeping every id with its score, in order;
* ``deploy.promotion_gate``: promote a candidate only when it beats the
  incumbent on held-out data by a margin *and* passes every behavioural test;
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

This module is the lesson's answer key; what the grading child runs is in
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
from mlcourse.exercises.compare import show
from mlcourse.exercises.deploy.probes import (
    BATCH_FEATURES,
    batch_scores,
    chunk_probe,
    gate_probe,
    installed_versions,
    load_probe,
    records_probe,
    rollback_probe,
    route_probe,
    save_probe,
    service_probe,
    sha256_bytes,
    sha256_file,
    sidecar_path,
    slice_probe,
    small_model,
    tests_probe,
)
from mlcourse.exercises.engine import Exercise, Function, holds
from mlcourse.exercises.plain import TAG, from_plain, kind
from mlcourse.metrics import average_precision, roc_auc

#: The libraries whose versions a model's sidecar records (module name -> import name).
LIBRARIES = ("sklearn", "numpy", "joblib")


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


def _fingerprint(*arrays: Any) -> str:
    """A key for values computed from big arrays (kept between the answers a test suite tries on one input)."""
    h = hashlib.sha1()
    for a in arrays:
        a = np.asarray(a)
        h.update("\x1f".join(map(str, a.tolist())).encode() if a.dtype.kind in "OUS"
                 else np.ascontiguousarray(a, dtype=float).tobytes())
        h.update(b"|")
    return h.hexdigest()


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


def _save_inputs_path(rng: np.random.Generator) -> dict:
    return _save_inputs(rng, "pathlib")


def _save_verdict(got: Any, a: dict) -> str | None:
    if not isinstance(got, dict) or "files" not in got:
        return "the check could not read your answer"
    name = a["file"]
    files = got["files"]
    if name not in files:
        return f"no model file {name!r} was written: joblib.dump(model, path) writes it (files found: {files})"
    if "reload_error" in got:
        return f"the file {name!r} does not load back with joblib.load ({got['reload_error']}): write it with joblib.dump(model, path)"
    if got.get("same_predictions") is not True:
        return "the model loaded back from your file predicts differently from the one saved: dump the model itself"
    side = name + ".json"
    if "sidecar_error" in got:
        return f"the sidecar {side!r} is not valid JSON ({got['sidecar_error']}): write it with json.dump"
    meta = got.get("sidecar")
    if meta is None:
        return (
            f"no sidecar {side!r} next to the model (files found: {files}): write the metadata to str(path) + '.json'"
            + (" (with a pathlib.Path, `path + '.json'` fails: use str(path) + '.json')" if a["path_kind"] == "pathlib" else "")
        )
    if not isinstance(meta, dict):
        return f"the sidecar should hold a JSON object (a dict), got {kind(meta)}"
    digest = meta.get("sha256")
    actual = got.get("actual_sha256")
    if digest is None:
        return "the sidecar has no 'sha256' key: record the file's SHA-256 (hashlib.sha256(...).hexdigest())"
    if not isinstance(digest, str):
        return f"'sha256' should be the hex digest as a string, got {kind(digest)}: use .hexdigest(), not .digest()"
    if digest != actual:
        if digest == got.get("pickle_sha256"):
            cause = ("you hashed pickle.dumps(model), not the file: joblib writes different bytes. Hash the file "
                     "after writing it: hashlib.sha256(open(path, 'rb').read()).hexdigest()")
        elif digest == got.get("path_sha256"):
            cause = "you hashed the path string, not the file's contents: open the file in binary mode and hash its bytes"
        elif digest == sha256_bytes(b""):
            cause = "that is the SHA-256 of zero bytes: hash the file after joblib.dump has written it"
        elif len(digest) == 32:
            cause = "a 32-digit digest is MD5: use hashlib.sha256"
        elif digest.lower() == actual:
            cause = "write the digest in lower case, as hexdigest() gives it"
        else:
            cause = "hash the file's bytes exactly as they are on disk, after writing it (open(path, 'rb'))"
        return f"the sidecar's sha256 {digest[:12]}... is not the SHA-256 of the model file ({actual[:12]}...): {cause}"
    missing = [k for k in a["metadata"] if k not in meta]
    if missing:
        return f"the sidecar lacks {missing} from `metadata`: copy every key of `metadata` into it"
    changed = [k for k in a["metadata"] if meta[k] != a["metadata"][k]]
    if changed:
        return f"the sidecar changed the metadata under {changed}: store the values as given"
    versions = meta.get("versions")
    if not isinstance(versions, dict):
        return ("the sidecar has no 'versions' dict: record the versions of sklearn, numpy and joblib "
                "(a pickled model is only guaranteed to load with the library versions that wrote it)")
    want = got.get("versions") or {}
    for lib in LIBRARIES:
        if lib not in versions:
            return f"'versions' lacks {lib!r}: record {', '.join(LIBRARIES)} (e.g. sklearn.__version__)"
        if versions[lib] != want.get(lib):
            return f"'versions'[{lib!r}] is {versions[lib]!r} but {want.get(lib)!r} is installed: use {lib}.__version__"
    returned = got.get("returned")
    if returned is None:
        return "your function returned None: return the metadata dict you wrote to the sidecar"
    if returned != meta:
        return f"return the dict you wrote to the sidecar; you returned {show(returned)}"
    return None


save_with_hash = Exercise(
    id="deploy.save_with_hash",
    title="Save a model with its metadata and SHA-256",
    points=2,
    answer=Function("save_with_hash"),
    tests=[
        holds("a fresh model saved to a str path", save_probe, _save_verdict, inputs=_save_inputs),
        holds("a fresh model saved to a pathlib.Path", save_probe, _save_verdict, inputs=_save_inputs_path),
    ],
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


@_drawn_once
def _load_intact(rng: np.random.Generator) -> dict:
    return _load_inputs(rng, "intact")


@_drawn_once
def _load_swapped(rng: np.random.Generator) -> dict:
    return _load_inputs(rng, "swapped")


@_drawn_once
def _load_appended(rng: np.random.Generator) -> dict:
    return _load_inputs(rng, "appended")


@_drawn_once
def _load_no_sidecar(rng: np.random.Generator) -> dict:
    return _load_inputs(rng, "no_sidecar")


def _load_verdict(got: Any, a: dict) -> str | None:
    if not isinstance(got, dict) or "code_ran" not in got:
        return "the check could not read your answer"
    case = a["case"]
    raised = got.get("raised")
    if case == "intact":
        if raised:
            extra = ""
            if got.get("is_value_error"):
                extra = (" Your hash of the intact file differs from the recorded one: hash the file's bytes exactly as "
                         "on disk (open(path, 'rb')), not the loaded model or the path.")
            elif raised in ("FileNotFoundError", "KeyError"):
                extra = " The sidecar is str(path) + '.json' and its hash is under the key 'sha256'."
            return f"an intact model was refused: your function raised {raised}: {got.get('message')}.{extra}"
        if got.get("returned_kind") in (None, "NoneType"):
            return "your function returned None for an intact file: did you forget `return model`?"
        if "same_predictions" not in got:
            return (f"your function returned a {got.get('returned_kind')}, not the model: return what joblib.load "
                    "gives back")
        if got["same_predictions"] is not True:
            return "the model you returned predicts differently from the one that was saved"
        return None
    if got.get("code_ran"):
        noticed = [str(n) for n in got.get("noticed") or [] if isinstance(n, str)]
        if raised:
            return (
                f"your function refused the swapped file ({raised}), but only after loading it: loading already ran "
                "code (it created a folder next to the model). pickle and joblib execute code while loading, so "
                "compare the file's SHA-256 with the sidecar's first and call joblib.load only when they match"
            )
        if noticed:
            return (
                f"your function noticed the mismatch ({noticed[0]}) but loaded the file anyway, and loading it ran code "
                "(it created a folder next to the model). A warning or a message does not stop joblib.load from "
                "running what the file holds: raise ValueError instead, before loading"
            )
        return (
            "your function unpickled the swapped file without checking its hash first: loading it ran code (it created a "
            "folder next to the model). pickle and joblib execute code while loading, so compare the file's SHA-256 "
            "with the sidecar first, and call joblib.load only when they match"
        )
    if case == "no_sidecar":
        if raised:
            return None
        return ("a model file without its sidecar was loaded: with no recorded hash there is nothing to verify "
                "against, so refuse it (opening the missing sidecar raises, which is fine)")
    what = {"swapped": "a model file swapped for another one", "appended": "a model file with bytes appended"}[case]
    if not raised:
        noticed = [str(n) for n in got.get("noticed") or [] if isinstance(n, str)]
        if noticed:
            return (f"{what} was loaded: your function noticed ({noticed[0]}) but went on to load it; a warning "
                    "lets a bad model into service. Raise ValueError when the hashes differ")
        tail = ""
        if case == "appended" and got.get("loads_anyway"):
            tail = (" joblib.load reads this file without complaint (it stops at the end of the pickle), so only the "
                    "hash notices.")
        return f"{what} was loaded: compare its SHA-256 with the sidecar's and raise ValueError when they differ.{tail}"
    if not got.get("is_value_error"):
        hint = " (an `assert` is skipped under `python -O`, so it cannot guard a model)" if raised == "AssertionError" else ""
        return f"{what} was refused with {raised}; raise ValueError{hint} so callers can catch a bad model explicitly"
    return None


load_verified = Exercise(
    id="deploy.load_verified",
    title="Load a model only after its hash checks out",
    points=3,
    answer=Function("load_verified"),
    tests=[
        holds("an intact model file", load_probe, _load_verdict, inputs=_load_intact),
        holds("a model file swapped for one that runs code on load", load_probe, _load_verdict, inputs=_load_swapped),
        holds("a model file with bytes appended", load_probe, _load_verdict, inputs=_load_appended),
        holds("a model file without its sidecar", load_probe, _load_verdict, inputs=_load_no_sidecar),
    ],
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
PROBLEMS = ("missing", "unknown", "wrong_type", "not_finite", "not_allowed")
_NUMERIC_PREFIXES = ("int", "uint", "float")


def is_numeric_dtype(dtype: str) -> bool:
    return str(dtype).startswith(_NUMERIC_PREFIXES)


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


def _pairs(plain: Any) -> list | None:
    """The learner's problems as a list of (field, problem) pairs, or None when the shape is wrong."""
    if isinstance(plain, dict) and plain.get(TAG) == "tuple":
        plain = plain["items"]
    if not isinstance(plain, list):
        return None
    pairs = []
    for item in plain:
        if isinstance(item, dict) and item.get(TAG) == "tuple":
            item = item["items"]
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)):
            return None
        pairs.append((item[0], item[1]))
    return pairs


def _read_as_text(spec: dict, value: Any, reported: list[str]) -> bool:
    """Whether a numeric field other than int64/float64 was judged by the text rule (what a list of dtype names
    such as ("int64", "float64"), or a prefix test without "uint", does)."""
    if not is_numeric_dtype(spec["dtype"]) or spec["dtype"] in ("int64", "float64"):
        return False
    return reported == ([] if isinstance(value, str) else ["wrong_type"])


def _show_value(v: Any) -> str:
    if isinstance(v, float) and not math.isfinite(v):
        return "float('nan')" if math.isnan(v) else ("float('inf')" if v > 0 else "float('-inf')")
    return repr(v)


def _show_record(rec: dict) -> str:
    return "{" + ", ".join(f"{k!r}: {_show_value(v)}" for k, v in rec.items()) + "}"


def _why(missed: tuple, extra: list, rec: dict, schema: Sequence[dict] = ()) -> str:
    field, problem = missed
    value = rec.get(field)
    spec = next((f for f in schema if f["name"] == field), None)
    if spec is not None and _read_as_text(spec, value, [p for f, p in extra if f == field]):
        return (f"{field!r} has dtype {spec['dtype']!r}, which is numeric (every dtype starting with int, uint or "
                f"float), so {_show_value(value)} must be checked as a number: test the dtype's prefix "
                "(dtype.startswith(('int', 'uint', 'float'))), not a list of names")
    if problem == "wrong_type" and isinstance(value, bool):
        return (f"{value} is not a number here: in Python bool is a subclass of int, so isinstance(True, (int, float)) "
                "is True. Refuse booleans before the number test")
    if problem == "wrong_type" and isinstance(value, str):
        return ("a string where a number belongs is a wrong type even when it looks like one: refuse it rather than "
                "convert it (a client that sends '12.5' has a bug that will bite elsewhere)")
    if problem == "wrong_type" and value is None:
        if (field, "missing") in extra:
            return "a key that is present with the value None (JSON null) is 'wrong_type'; 'missing' is for absent keys"
        return "None (JSON null) is neither a number nor a string: report it as 'wrong_type'"
    if problem == "wrong_type":
        return f"{value!r} is a {type(value).__name__}, but this field takes text"
    if problem == "not_finite" and isinstance(value, float) and math.isnan(value):
        return (
            "NaN passed unnoticed: NaN compares unequal to everything, itself included, "
            "so `value == float('nan')` is always False. Use math.isfinite(value)"
        )
    if problem == "not_finite":
        return "infinity is not finite either: math.isnan(inf) is False; math.isfinite refuses NaN and ±inf alike"
    if problem == "unknown":
        return "a field the schema does not know must be reported: a typo in a client's field name would otherwise be silently ignored"
    if problem == "not_allowed":
        return "the value is not among the field's categories (the comparison is exact: case and spaces count)"
    return "a field of the schema that the record lacks is 'missing'"


def _records_verdict(got: Any, cases: list) -> str | None:
    if not isinstance(got, list) or len(got) != len(cases):
        return "the check could not read your answers"
    for (rec, schema), answer in zip(cases, got):
        where = f"[record {_show_record(rec)}]"
        pairs = _pairs(answer)
        if answer is None:
            return f"your function returned None: return a list (an empty one when the record is fine) {where}"
        if pairs is None:
            return (f"expected a list of (field, problem) pairs such as [('amount', 'missing')], got {kind(answer)} "
                    f"({show(answer)}) {where}")
        expected = reference_problems(rec, schema)
        bad_names = [p for _, p in pairs if p not in PROBLEMS]
        if bad_names:
            return f"{bad_names[0]!r} is not one of the problem names {list(PROBLEMS)} {where}"
        if len(set(pairs)) != len(pairs):
            return f"a problem is listed twice: {pairs} {where}"
        missed = [p for p in expected if p not in pairs]
        extra = [p for p in pairs if p not in expected]
        if not missed and not extra:
            continue
        if missed and len(pairs) == 1 and len(expected) > 1:
            return (f"you reported {pairs} but the record has {len(expected)} problems {sorted(expected)}: keep "
                    f"going after the first one and report all of them {where}")
        if missed:
            return f"missed {missed[0]}: {_why(missed[0], extra, rec, schema)} {where}"
        if not expected:
            return f"this record is fine, but you reported {extra}: {_extra_why(extra[0], rec, schema)} {where}"
        return f"reported {extra[0]}, which is not a problem here: {_extra_why(extra[0], rec, schema)} {where}"
    return None


def _extra_why(pair: tuple, rec: dict, schema: Sequence[dict]) -> str:
    field, problem = pair
    value = rec.get(field)
    spec = next((f for f in schema if f["name"] == field), None)
    if spec is not None and is_numeric_dtype(spec["dtype"]) and isinstance(value, (int, float)) and not isinstance(value, bool):
        dtype = spec["dtype"]
        if dtype not in ("int64", "float64"):
            kind_ = "unsigned integer" if dtype.startswith("uint") else "integer" if dtype.startswith("int") else "float"
            return (f"{field!r} has dtype {dtype!r}, a numeric ({kind_}) dtype: every dtype starting with int, uint "
                    f"or float takes numbers, and {_show_value(value)} is one. Test the dtype's prefix "
                    "(dtype.startswith(('int', 'uint', 'float'))), not a list of names")
        return (f"{field!r} has dtype {dtype!r} and {_show_value(value)} is a number: ints and floats are both "
                "numbers (an int64 feature may arrive as 12 or 12.0)")
    if spec is not None and not is_numeric_dtype(spec["dtype"]) and spec.get("categories") is None:
        return "this text field lists no categories, so any string is allowed"
    if problem == "missing" and value is None and field in rec:
        return "the key is present (its value is None): that is 'wrong_type', not 'missing'"
    return "compare with the rules above"


validate_record = Exercise(
    id="deploy.validate_record",
    title="Every problem of one request",
    points=3,
    answer=Function("validate_record"),
    tests=[
        holds("well-formed records", records_probe, _records_verdict, inputs=_cases_good),
        holds("a missing field and an unknown field", records_probe, _records_verdict, inputs=_cases_fields),
        holds("wrong types: a string, a bool and None for numbers, a number for text", records_probe,
              _records_verdict, inputs=_cases_types),
        holds("NaN and ±infinity", records_probe, _records_verdict, inputs=_cases_finite),
        holds("values outside a field's categories", records_probe, _records_verdict, inputs=_cases_categories),
        holds("several problems in one record", records_probe, _records_verdict, inputs=_cases_many),
    ],
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
#: The request fields of the service the learner writes, and what each takes (the task's table).
SERVICE_FIELDS: dict[str, dict[str, Any]] = {
    "amount": {"type": "number", "gt": 0},
    "hour": {"type": "integer", "ge": 0, "le": 23},
    "account_age_days": {"type": "integer", "ge": 0},
    "customer_age": {"type": "integer", "ge": 18, "le": 100},
    "is_foreign": {"type": "integer", "ge": 0, "le": 1},
    "merchant_category": {"type": "text", "categories": ["electronics", "fuel", "gambling", "grocery", "online_retail",
                                                         "pharmacy", "restaurants", "travel"]},
    "country": {"type": "text", "categories": None},
    "channel": {"type": "text", "categories": ["chip", "contactless", "online", "swipe"]},
}


def _rule_text(field: str) -> str:
    spec = SERVICE_FIELDS[field]
    if spec["type"] == "text":
        cats = spec["categories"]
        return "any text" if cats is None else "one of " + ", ".join(repr(c) for c in cats)
    bounds = []
    if "gt" in spec:
        bounds.append(f"> {spec['gt']}")
    if "ge" in spec:
        bounds.append(f">= {spec['ge']}")
    if "le" in spec:
        bounds.append(f"<= {spec['le']}")
    return f"{'a number' if spec['type'] == 'number' else 'an integer'} " + " and ".join(bounds)


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


def _detail_names(body: Any, field: str) -> bool:
    """Whether a 422 answer names ``field``: in FastAPI's detail (each error's ``loc``), else anywhere in its text."""
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list) and detail and all(isinstance(d, dict) and "loc" in d for d in detail):
        return any(field in [str(x) for x in d["loc"]] for d in detail if isinstance(d.get("loc"), list))
    return field in json.dumps(body)


def _expected_probability(seed: int, body: str) -> float:
    from mlcourse.exercises.deploy.probes import service_model

    return float(service_model(seed).predict_proba(pd.DataFrame([json.loads(body)]))[0, 1])


_ACCEPTED_WHY = {
    "missing": "every field is required: declare each one without a default value",
    "string number": "pydantic turns '12.5' into 12.5 unless the model is strict: add "
                     "model_config = ConfigDict(strict=True) to the request model (a client that sends numbers as "
                     "strings has a bug the service should report, not hide)",
    "bool": "in lax mode pydantic reads true as 1: a strict model (ConfigDict(strict=True)) refuses booleans for "
            "integers",
    "null": "None is not an integer: declare the field as `int`, not Optional[int]",
    "number for text": "declare the field as str (or a Literal of its categories): a strict str refuses numbers",
    "text for number": "declare the field as float",
    "range": "give the field its bounds with Field(ge=..., le=...) (or gt= for a strict bound)",
    "category": "declare the field as a Literal of its allowed values, e.g. Literal['chip', 'contactless', 'online', "
                "'swipe']",
    "extra": "refuse fields the model does not declare: model_config = ConfigDict(extra='forbid')",
}


def _why_accepted(request: dict) -> str:
    record, field, what = json.loads(request["body"]), request["field"], request["what"]
    if field == "*extra":
        return _ACCEPTED_WHY["extra"]
    if "without" in what:
        return _ACCEPTED_WHY["missing"]
    value = record.get(field)
    if isinstance(value, bool):
        return _ACCEPTED_WHY["bool"]
    if value is None:
        return _ACCEPTED_WHY["null"]
    if SERVICE_FIELDS[field]["type"] == "text":
        return _ACCEPTED_WHY["number for text"] if not isinstance(value, str) else _ACCEPTED_WHY["category"]
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return _ACCEPTED_WHY["text for number"]
        return _ACCEPTED_WHY["string number"]
    return f"`{field}` takes {_rule_text(field)}: {_ACCEPTED_WHY['range']}"


def _first_problem(body: Any) -> str:
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        loc = ".".join(str(x) for x in detail[0].get("loc", []) if x != "body")
        return f"{loc}: {detail[0].get('msg', '')}"[:160]
    return show(body)


def _refused_why(request: dict, body: Any) -> str:
    record, text = json.loads(request["body"]), json.dumps(body)
    if "country" in text and record.get("country") not in ("US", "GB", "DE", "FR", "ES", "NL", "CA", "MX"):
        return " `country` takes any text: the model scores a country it never saw"
    if "amount" in text and isinstance(record.get("amount"), int):
        return " an amount sent as a whole number is still a number: declare `amount` as float (JSON has one kind of number)"
    for field in ("hour", "customer_age", "account_age_days", "is_foreign", "amount"):
        spec = SERVICE_FIELDS[field]
        if field in text and record.get(field) in (spec.get("ge"), spec.get("le")):
            return f" `{field}` = {record[field]!r} is allowed ({_rule_text(field)}): the bounds are inclusive (ge, le)"
    return ""


def _service_verdict(got: Any, a: dict) -> str | None:
    if not isinstance(got, dict) or "responses" not in got:
        return "the check could not read your answer"
    if got.get("app") in (None, "NoneType"):
        return "make_app returned None: did you forget `return app`?"
    if a["openapi"]:
        return _openapi_verdict(got.get("openapi"))
    if not isinstance(got["responses"], list) or len(got["responses"]) != len(a["requests"]):
        return f"make_app should return the FastAPI app it built, got {got.get('app')}"
    for request, r in zip(a["requests"], got["responses"]):
        where = f"[POST /predict with {request['what']}: {request['body']}]"
        status, body = r.get("status"), r.get("body")
        if "raised" in r:
            tip = ""
            if "DataFrame" in str(r["raised"]):
                tip = (": the model takes a DataFrame of payments, one row each, e.g. "
                       "model.predict_proba(pd.DataFrame([payment.model_dump()]))[:, 1]")
            elif request["expect"] == 422:
                tip = (": bad input should never reach your code; declare the endpoint's body as your pydantic model "
                       "so FastAPI refuses it with 422 first")
            return f"your app failed (a 500 for the client) with {r['raised']}{tip} {where}"
        if request["expect"] == 200:
            if status != 200:
                return (f"a valid payment was refused with {status} ({_first_problem(body)})."
                        f"{_refused_why(request, body)} {where}")
            problem = _probability_problem(body, a["seed"], request["body"])
            if problem:
                return f"{problem} {where}"
            continue
        if status == 200:
            return f"{request['what']} was accepted (200): {_why_accepted(request)} {where}"
        if status != 422:
            return (f"expected 422 (FastAPI's answer to a body that fails validation), got {status}: let the request "
                    f"model refuse bad input rather than answering it yourself {where}")
        field = request["field"]
        if field != "*extra" and not _detail_names(body, field):
            return (f"the 422 does not name the field at fault (`{field}`): keep FastAPI's validation error, whose "
                    f"`detail` lists each problem with its field ({_first_problem(body)}) {where}")
    return None


def _probability_problem(body: Any, seed: int, sent: str) -> str | None:
    if not isinstance(body, dict) or "fraud_probability" not in body:
        return f"the answer should be a JSON object {{'fraud_probability': p}}, got {show(body)}"
    p = body["fraud_probability"]
    if type(p) not in (int, float) or isinstance(p, bool):
        return f"'fraud_probability' should be a number, got {kind(p)} ({show(p)}): return float(p)"
    expected = _expected_probability(seed, sent)
    if abs(p - expected) <= 1e-9:
        return None
    if p in (0, 1):
        return (f"'fraud_probability' is {p}, a label: use model.predict_proba(X)[:, 1], the probability of fraud, "
                "not predict")
    if abs(p - (1.0 - expected)) <= 1e-9:
        return "'fraud_probability' is P(not fraud): take column 1 of predict_proba, not column 0"
    return f"'fraud_probability' should be the model's probability {expected:.6f}, got {p:.6f}"


def _openapi_verdict(doc: Any) -> str | None:
    if not isinstance(doc, dict) or doc.get("status") != 200 or not isinstance(doc.get("body"), dict):
        return "GET /openapi.json did not return the app's OpenAPI document: build the app with FastAPI()"
    spec = doc["body"]
    post = (spec.get("paths") or {}).get("/predict", {}).get("post") if isinstance(spec.get("paths"), dict) else None
    if not isinstance(post, dict):
        return "/openapi.json lists no POST /predict: declare the endpoint with @app.post('/predict')"
    try:
        schema = post["requestBody"]["content"]["application/json"]["schema"]
    except (KeyError, TypeError):
        return ("/openapi.json documents no JSON body for POST /predict: take the body as a parameter typed with your "
                "pydantic model (def predict(payment: Payment)), so FastAPI validates and documents it")
    schema = _resolve_ref(spec, schema)
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict) or not props:
        return ("the request body of POST /predict is documented without fields (a plain dict?): type it with your "
                "pydantic model so clients can see, and FastAPI can check, every field")
    missing = [f for f in SERVICE_FIELDS if f not in props]
    if missing:
        return f"the documented request body lacks {missing}: the request model declares every feature"
    optional = [f for f in SERVICE_FIELDS if f not in (schema.get("required") or [])]
    if optional:
        return f"the documented request body makes {optional} optional: every field is required (no default values)"
    return None


def _resolve_ref(spec: dict, schema: Any) -> Any:
    for _ in range(5):
        if not (isinstance(schema, dict) and isinstance(schema.get("$ref"), str)):
            return schema
        node: Any = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        schema = node
    return schema


serve_app = Exercise(
    id="deploy.serve_app",
    title="Write the service: a pydantic request model and POST /predict",
    points=4,
    answer=Function("make_app"),
    tests=[
        holds("valid payments", service_probe, _service_verdict, inputs=_service_good, public=True),
        holds("payments with a field missing", service_probe, _service_verdict, inputs=_service_missing),
        holds("payments with a value of the wrong type", service_probe, _service_verdict, inputs=_service_types),
        holds("values at and just beyond each bound", service_probe, _service_verdict, inputs=_service_ranges),
        holds("unknown categories and an unknown field", service_probe, _service_verdict, inputs=_service_categories),
        holds("the OpenAPI document", service_probe, _service_verdict, inputs=_service_openapi),
    ],
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


def _chunk_verdict(got: Any, a: tuple) -> str | None:
    frame, chunk, id_column = a
    n = len(frame)
    where = f"[a frame of {n} rows, chunk_size={chunk}, id_column={id_column!r}]"
    if not isinstance(got, dict) or "result" not in got:
        return "the check could not read your answer"
    plain = got["result"]
    if got.get("changed") is True:
        return (f"your function changed the caller's frame in place (a column added, dropped or overwritten, or its "
                f"index reset): the caller still uses that frame after the job. Leave `frame` as it is and build "
                f"the result as a new DataFrame {where}")
    if plain is None:
        return f"your function returned None: did you forget a `return` statement? {where}"
    if not (isinstance(plain, dict) and plain.get(TAG) == "DataFrame"):
        return f"expected a DataFrame with columns [{id_column!r}, 'score'], got {kind(plain)} ({show(plain)}) {where}"
    result = from_plain(plain)
    calls = [int(c) for c in got.get("calls", [])]
    cols = [str(c) for c in result.columns]
    if sorted(cols) != sorted([id_column, "score"]):
        hint = ""
        if "transaction_id" in cols and id_column != "transaction_id":
            hint = " (the id column is the one named by `id_column`, not always 'transaction_id')"
        return f"expected the columns [{id_column!r}, 'score'], got {cols}{hint} {where}"
    expected = reference_chunks(frame, chunk, id_column)
    big = [c for c in calls if c > chunk]
    if big:
        return (f"the model was called with {big[0]} rows at once, but chunk_size is {chunk}: score at most chunk_size "
                f"rows per call, so the job's memory stays bounded however large the input {where}")
    ids = result[id_column].astype(str).tolist()
    want = expected[id_column].astype(str).tolist()
    if len(ids) < n:
        lost = n - len(ids)
        cause = ""
        if lost == n % chunk:
            cause = (f" Exactly the last, partial chunk ({lost} rows) is gone: loop with range(0, len(frame), "
                     "chunk_size), which includes the start of the final short chunk")
        elif lost == 1 or lost == len(calls):
            cause = " One row per chunk went missing: chunk boundaries are off by one (iloc[start:start + size] is end-exclusive)"
        return f"expected {n} rows (one per input row), got {len(ids)}.{cause} {where}"
    if len(ids) > n:
        cause = ""
        if len(set(ids)) < len(ids):
            cause = (" Some rows were scored twice: chunks overlap. `.loc[a:b]` includes b and follows the index "
                     "labels; slice positions with `.iloc[start:start + chunk_size]`")
        return f"expected {n} rows (one per input row), got {len(ids)}.{cause} {where}"
    if sorted(ids) != sorted(want):
        if len(set(ids)) < len(ids):
            return (f"some ids appear twice and others not at all: the chunks did not cover the rows exactly once. With "
                    f"a shuffled index, `.loc[start:stop]` picks rows by label; use `.iloc` {where}")
        return f"the ids differ from the input's {where}"
    if ids != want:
        if ids == sorted(want):
            return (f"the rows come back sorted by id, not in the input's order: keep the frame's order (the caller "
                    f"lines the scores up with its own rows) {where}")
        return f"the rows come back in a different order than the input's: keep the frame's row order {where}"
    scores = result["score"].to_numpy(dtype=float)
    exp = expected["score"].to_numpy()
    if np.allclose(scores, exp, rtol=0, atol=1e-9):
        if len(calls) != -(-n // chunk):
            return (f"the model was called {len(calls)} times; scoring {n} rows in chunks of {chunk} takes "
                    f"{-(-n // chunk)} calls: score each chunk once {where}")
        return None
    if set(np.unique(scores)).issubset({0.0, 1.0}):
        return (f"the scores are 0/1 labels: use model.predict_proba(X)[:, 1], the probability of fraud, not predict "
                f"{where}")
    if np.allclose(scores, 1.0 - exp, atol=1e-9):
        return f"the scores are P(not fraud): take column 1 of predict_proba, not column 0 {where}"
    if np.allclose(np.sort(scores), np.sort(exp), atol=1e-9):
        return (f"the scores are right but attached to the wrong ids: when you put the ids and the scores together, "
                f"line them up by position (e.g. chunk[id_column].to_numpy()), not by index label {where}")
    i = int(np.flatnonzero(~np.isclose(scores, exp, rtol=0, atol=1e-9))[0])
    return f"the score of id {want[i]!r} should be {exp[i]:.6f}, got {scores[i]:.6f} {where}"


score_in_chunks = Exercise(
    id="deploy.score_in_chunks",
    title="A batch job: score a frame chunk by chunk",
    points=2,
    answer=Function("score_in_chunks"),
    tests=[
        holds("a fresh shuffled frame", chunk_probe, _chunk_verdict, inputs=_chunk_inputs_fresh),
        holds("a frame that splits into whole chunks, ids in 'request_id'", chunk_probe, _chunk_verdict,
              inputs=_chunk_inputs_exact),
        holds("a frame smaller than one chunk", chunk_probe, _chunk_verdict, inputs=_chunk_inputs_small),
    ],
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


def _outcomes(got: Any, key: str) -> list[dict] | None:
    items = got.get(key) if isinstance(got, dict) else None
    if not isinstance(items, list) or not all(isinstance(o, dict) and isinstance(o.get("test"), str)
                                              and isinstance(o.get("outcome"), str) for o in items):
        return None
    return items


def _failure_text(o: dict) -> str:
    if o["outcome"] == "stub":
        return f"{o['test']} is still the stub: write it (or delete it)"
    if o["outcome"] == "error":
        return f"{o['test']} could not run: {o.get('error', '')}. The fixtures are data, model and serve"
    line = f" at `{o['line']}`" if o.get("line") else ""
    return f"{o['test']} failed with {o.get('error') or 'AssertionError'}{line}"


def _tests_verdict(got: Any, a: dict) -> str | None:
    outcomes = _outcomes(got, "outcomes")
    if outcomes is None or not isinstance(got.get("tests"), list):
        return "the check could not read your tests' outcomes"
    if not outcomes:
        return ("no test functions were found: pytest runs functions whose names start with `test`, such as "
                "test_directional(model, data)")
    if a["fault"] is None:
        bad = [o for o in outcomes if o["outcome"] not in ("passed", "skipped")]
        if bad:
            more = f" ({len(bad) - 1} more test{'s' if len(bad) > 2 else ''} fail too)" if len(bad) > 1 else ""
            return (f"your tests must pass on the correct pipeline, but {_failure_text(bad[0])}{more}: a test that "
                    "fails on a good model blocks every release, so loosen its threshold or fix its logic")
        if all(o["outcome"] == "skipped" for o in outcomes):
            return "every test was skipped: a skipped test checks nothing"
        return None
    on_correct = _outcomes(got, "on_correct")
    if on_correct is None:
        return "the check could not read your tests' outcomes"
    failed_here = {o["test"] for o in outcomes if o["outcome"] in ("failed", "error")}
    sound = {o["test"] for o in on_correct if o["outcome"] == "passed"}
    if failed_here & sound:
        return None
    name, advice = GRADED_FAULTS[a["kind"]][0].name, GRADED_FAULTS[a["kind"]][1]
    message = f"your tests did not notice {name}: {advice}"
    if failed_here:
        message += (f" ({sorted(failed_here)[0]} fails on it, but it fails on the correct pipeline too, so it tells "
                    "nothing about this fault)")
    return message


pipeline_tests = Exercise(
    id="deploy.pipeline_tests",
    title="Write the tests: a data, a minimum-functionality, an invariance and a directional test",
    points=4,
    answer=Function("test_data"),
    tests=[
        holds("the correct pipeline (every test must pass)", tests_probe, _tests_verdict, inputs=_tests_correct,
              public=True),
        holds(GRADED_FAULTS["amount"][0].name, tests_probe, _tests_verdict, inputs=_tests_amount),
        holds(GRADED_FAULTS["labels"][0].name, tests_probe, _tests_verdict, inputs=_tests_labels),
        holds(GRADED_FAULTS["unseen"][0].name, tests_probe, _tests_verdict, inputs=_tests_unseen),
        holds(GRADED_FAULTS["skew"][0].name, tests_probe, _tests_verdict, inputs=_tests_skew),
    ],
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


def _pr_auc(y: np.ndarray, s: np.ndarray) -> float:
    # scikit-learn's average_precision_score, ties included, without its input checks (ten times faster)
    return float(average_precision(y, s))


def _roc_auc(y: np.ndarray, s: np.ndarray) -> float:
    return float(roc_auc(y, s))


def reference_gate(y_true: Any, incumbent_scores: Any, candidate_scores: Any, behaviour: dict,
                   min_gain: float = 0.01) -> tuple[bool, list[str]]:
    """The promotion gate: a PR-AUC gain of at least ``min_gain`` and every behavioural test passed."""
    y = np.asarray(y_true)
    gain = _pr_auc(y, np.asarray(candidate_scores)) - _pr_auc(y, np.asarray(incumbent_scores))
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
    if (_pr_auc(y, b) > _pr_auc(y, a)) != better:
        a, b = b, a
    return y, a, b


def _suite(rng: np.random.Generator, n_failed: int) -> dict:
    names = [str(x) for x in rng.choice(_BEHAVIOUR_POOL, size=int(rng.integers(3, 6)), replace=False)]
    failed = set(rng.choice(names, size=n_failed, replace=False).tolist()) if n_failed else set()
    return {name: name not in failed for name in names}


@_drawn_once
def _gate_clear(rng: np.random.Generator) -> tuple:
    y, inc, cand = _gate_pair(rng, better=True, big=True)
    gain = _pr_auc(y, cand) - _pr_auc(y, inc)
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
    gain = max(_pr_auc(y, cand) - _pr_auc(y, inc), _roc_auc(y, cand) - _roc_auc(y, inc))
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
    roc_gain = _roc_auc(y, cand) - _roc_auc(y, inc)
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


def _unpack_gate(plain: Any) -> tuple[Any, Any] | None:
    if isinstance(plain, dict) and plain.get(TAG) == "tuple":
        plain = plain["items"]
    if isinstance(plain, list) and len(plain) == 2:
        return plain[0], plain[1]
    return None


def _gate_verdict(got: Any, a: tuple) -> str | None:
    y, inc, cand, behaviour, min_gain = a
    y, inc, cand = np.asarray(y), np.asarray(inc), np.asarray(cand)
    pr_gain = _pr_auc(y, cand) - _pr_auc(y, inc)
    roc_gain = _roc_auc(y, cand) - _roc_auc(y, inc)
    failed = [k for k, v in behaviour.items() if not v]
    passed = [k for k, v in behaviour.items() if v]
    where = (f"[PR-AUC incumbent {_pr_auc(y, inc):.4f}, candidate {_pr_auc(y, cand):.4f} (gain {pr_gain:+.4f}), "
             f"min_gain={min_gain}, behaviour {behaviour}]")
    if got is None:
        return f"your function returned None: return a pair (promote, reasons) {where}"
    pair = _unpack_gate(got)
    if pair is None:
        return f"expected a pair (promote, reasons), got {kind(got)} ({show(got)}) {where}"
    decision, reasons = pair
    if type(decision) is not bool:
        return f"the first item should be True or False, got {kind(decision)} ({show(decision)}) {where}"
    if isinstance(reasons, dict) and reasons.get(TAG) == "tuple":
        reasons = reasons["items"]
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        return f"the reasons should be a list of strings (one per failure), got {kind(reasons)} ({show(reasons)}) {where}"
    expected, _ = reference_gate(y, inc, cand, behaviour, min_gain)
    if decision != expected:
        if decision and not behaviour:
            return (f"no behavioural tests were run, yet you promoted: all([]) is True in Python, so an empty suite "
                    f"passes silently. A gate must refuse when nothing was tested, and say so {where}")
        if decision and failed and pr_gain >= min_gain:
            return (f"the candidate failed {failed[0]!r} but you promoted it: a better PR-AUC does not excuse a failed "
                    f"behavioural test; every test must pass {where}")
        if decision and 0 < pr_gain < min_gain:
            if roc_gain >= min_gain:
                return (f"the candidate gains only {pr_gain:+.4f} PR-AUC, below min_gain (its ROC-AUC gain is "
                        f"{roc_gain:+.4f}: did you compare ROC-AUC? The gate uses PR-AUC, "
                        f"average_precision_score) {where}")
            return (f"the candidate gains only {pr_gain:+.4f} PR-AUC, less than min_gain={min_gain}: a gain that small "
                    f"is within the noise of a held-out estimate and does not pay for the risk of a release; promote "
                    f"only when gain >= min_gain {where}")
        if decision and pr_gain < 0:
            return (f"the candidate is worse than the incumbent (PR-AUC gain {pr_gain:+.4f}) but you promoted it: the "
                    f"gain is candidate minus incumbent {where}")
        if not decision and pr_gain == min_gain and not failed and behaviour:
            roc = (f"; if you compared ROC-AUC, its gain here is only {roc_gain:+.4f}: the gate uses PR-AUC"
                   if roc_gain < min_gain else "")
            return (f"you refused a candidate whose PR-AUC gain is exactly min_gain ({min_gain:g}): the gain must be "
                    f"*at least* min_gain, so a gain equal to it promotes (refuse only when gain < min_gain){roc} {where}")
        if not decision and pr_gain >= min_gain and not failed and behaviour:
            if roc_gain < min_gain:
                return (f"you refused a candidate that gains {pr_gain:+.4f} PR-AUC and passes every test (its ROC-AUC "
                        f"gain is {roc_gain:+.4f}: did you compare ROC-AUC? The gate uses PR-AUC) {where}")
            return (f"you refused a candidate that gains {pr_gain:+.4f} PR-AUC (min_gain {min_gain}) and passes every "
                    f"behavioural test. Is the gain computed as candidate minus incumbent, with "
                    f"average_precision_score(y_true, scores)? Your reasons: {reasons} {where}")
        return f"expected promote={expected}, got {decision} {where}"
    if decision:
        if reasons:
            return f"a promoted candidate has no reasons against it: return (True, []), got reasons {reasons} {where}"
        return None
    missing = []
    if pr_gain < min_gain and not any("pr-auc" in r.lower() for r in reasons):
        missing.append("the PR-AUC gain below min_gain (a reason containing 'PR-AUC')")
    for name in failed:
        if not any(name in r for r in reasons):
            missing.append(f"the failed test {name!r} (a reason containing its name)")
    if not behaviour and not reasons:
        missing.append("the empty behavioural suite")
    if missing:
        many = " Report every failure, not only the first:" if len(reasons) == 1 and (len(failed) + (pr_gain < min_gain)) > 1 else ""
        return f"the reasons {reasons} do not mention {missing[0]}.{many} {where}"
    praised = [name for name in passed if any(name in r for r in reasons)]
    if praised:
        return f"the reasons name {praised[0]!r}, which passed: list failures only {where}"
    return None


promotion_gate = Exercise(
    id="deploy.promotion_gate",
    title="A promotion gate: better on held-out data and every behavioural test passed",
    points=3,
    answer=Function("promotion_gate"),
    tests=[
        holds("a clearly better candidate that passes every test", gate_probe, _gate_verdict, inputs=_gate_clear),
        holds("a better candidate that fails one behavioural test", gate_probe, _gate_verdict, inputs=_gate_fails_test),
        holds("a candidate whose gain is below min_gain", gate_probe, _gate_verdict, inputs=_gate_small_gain),
        holds("a worse candidate that also fails two tests", gate_probe, _gate_verdict, inputs=_gate_worse),
        holds("a better candidate with an empty behavioural suite", gate_probe, _gate_verdict, inputs=_gate_empty),
        holds("a candidate that lifts frauds to the very top of the ranking", gate_probe, _gate_verdict,
              inputs=_gate_top),
        holds("a candidate whose gain is exactly min_gain", gate_probe, _gate_verdict, inputs=_gate_on_margin),
    ],
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
        before, after = _pr_auc(y[rows], inc[rows]), _pr_auc(y[rows], cand[rows])
        if before - after > max_drop:
            reasons.append(f"slice {value!r}: PR-AUC {after:.4f} vs {before:.4f} ({after - before:+.4f})")
    return not reasons, reasons


def _slice_facts(a: dict) -> dict[str, dict]:
    """Per slice: frauds, rows, and the PR-AUC and ROC-AUC of both models."""
    return _slice_facts_of(_fingerprint(a["y"], a["incumbent"], a["candidate"], a["slices"]), a)


_FACTS: dict[str, dict] = {}


def _slice_facts_of(key: str, a: dict) -> dict[str, dict]:
    if key not in _FACTS:
        if len(_FACTS) > 256:
            _FACTS.clear()
        _FACTS[key] = _compute_slice_facts(a)
    return _FACTS[key]


def _compute_slice_facts(a: dict) -> dict[str, dict]:
    y, inc, cand = (np.asarray(a[k]) for k in ("y", "incumbent", "candidate"))
    groups = np.asarray(a["slices"], dtype=object)
    facts = {}
    for value in sorted(set(groups.tolist())):
        rows = groups == value
        yy = y[rows]
        both = 0 < yy.sum() < len(yy)
        facts[value] = {
            "frauds": int(yy.sum()), "rows": int(rows.sum()),
            "pr_inc": _pr_auc(yy, inc[rows]) if both else math.nan, "pr_cand": _pr_auc(yy, cand[rows]) if both else math.nan,
            "roc_inc": _roc_auc(yy, inc[rows]) if both else math.nan,
            "roc_cand": _roc_auc(yy, cand[rows]) if both else math.nan,
        }
    return facts


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
        if accept is None or accept(_slice_facts(case), case):
            return case


def _drop(f: dict, metric: str = "pr") -> float:
    return f[f"{metric}_inc"] - f[f"{metric}_cand"]


def _overall_up(case: dict) -> bool:
    y, inc, cand = (np.asarray(case[k]) for k in ("y", "incumbent", "candidate"))
    return _pr_auc(y, cand) > _pr_auc(y, inc) + 0.01


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
        return (_drop(tail) < max_drop - 0.01 and _drop(tail, "roc") > max_drop + 0.02
                and max(-_drop(facts[n]) for n in (names[0], names[3])) > max_drop + 0.01)

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
                       lambda facts, case: _drop(facts[worse]) > max_drop + 0.05 and _overall_up(case))


@_drawn_once
def _slice_two_worse(rng: np.random.Generator) -> dict:
    names = _slice_names(rng, 4)
    plan = [(nm, int(rng.integers(500, 900)), int(rng.integers(30, 60)), "down" if i < 2 else "up")
            for i, nm in enumerate(names)]
    return _slice_case(rng, plan, 0.05, 20,
                       lambda facts, case: min(_drop(facts[n]) for n in names[:2]) > 0.1)


@_drawn_once
def _slice_few_frauds(rng: np.random.Generator) -> dict:
    """A slice with many rows but fewer frauds than min_positives, far worse on it: not judged, so promoted."""
    names = _slice_names(rng, 3)
    m = int(rng.integers(10, 25))
    plan = [(names[0], int(rng.integers(800, 1200)), int(rng.integers(3, m)), "down")]
    plan += [(nm, int(rng.integers(500, 900)), int(rng.integers(m + 15, m + 50)), "up") for nm in names[1:]]
    return _slice_case(rng, plan, 0.05, m, lambda facts, case: _drop(facts[names[0]]) > 0.1)


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
        if max(_pr_auc(y_, c_) - _pr_auc(y_, i_) for _, y_, i_, c_ in others) > max_drop + 0.02:
            break
    case = _slice_pack(rng, [(names[0], y, high, low), *others], max_drop, 4)
    case["plan"] = {names[0]: "margin", **{nm: "up" for nm in names[1:]}}
    return case


def _slice_verdict(got: Any, a: dict) -> str | None:
    facts = _slice_facts(a)
    max_drop, m = a["max_drop"], a["min_positives"]
    where = f"[{len(facts)} slices, max_drop={max_drop:g}, min_positives={m}]"
    if got is None:
        return f"your function returned None: did you forget a `return` statement? Return (promote, reasons) {where}"
    pair = _unpack_gate(got)
    if pair is None:
        return f"expected a pair (promote, reasons), got {kind(got)} ({show(got)}) {where}"
    decision, reasons = pair
    if type(decision) is not bool:
        return f"the first item should be True or False, got {kind(decision)} ({show(decision)}) {where}"
    if isinstance(reasons, dict) and reasons.get(TAG) == "tuple":
        reasons = reasons["items"]
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        return f"the reasons should be a list of strings (one per slice), got {kind(reasons)} ({show(reasons)}) {where}"
    bad = [s for s, f in facts.items() if f["frauds"] >= m and _drop(f) > max_drop]
    expected = not bad  # what reference_slice_gate decides, from the facts computed once

    def about(s: str) -> str:
        f = facts[s]
        return (f"slice {s!r} ({f['frauds']} frauds in {f['rows']} rows): PR-AUC {f['pr_cand']:.4f} against "
                f"{f['pr_inc']:.4f} ({-_drop(f):+.4f})")

    named = [s for s in facts if any(s in r for r in reasons)]
    if decision and not expected:
        overall = ""
        if _overall_up(a):
            overall = (" The candidate is better on all rows together: compare each slice's rows on their own, "
                       "which is where an average hides a loss")
        return f"{about(bad[0])}, worse by more than max_drop, yet you promoted the candidate.{overall} {where}"
    if not decision and expected:
        wrong = [s for s in named if s not in bad] or [s for s in facts if s not in bad]
        s = wrong[0]
        f, how = facts[s], a["plan"].get(s)
        if how == "margin":
            return (f"{about(s)}: it lost exactly max_drop, and the rule refuses only a drop of *more than* max_drop "
                    f"(a relative drop, divided by the incumbent's PR-AUC, is not the rule either) {where}")
        if f["frauds"] < m:
            return (f"{about(s)}: it has fewer frauds than min_positives={m}, too few to judge, so skip it (count "
                    f"frauds, y_true == 1 in the slice, not rows) {where}")
        if how == "tail":
            return (f"{about(s)}: its PR-AUC dropped by less than max_drop (its ROC-AUC dropped by "
                    f"{_drop(f, 'roc'):.4f}: did you compare ROC-AUC? The gate uses PR-AUC) {where}")
        if _drop(f) < 0:
            return f"{about(s)}: it got *better*; the drop is the incumbent's PR-AUC minus the candidate's {where}"
        return f"you refused the candidate, but no slice lost more than max_drop ({about(s)}) {where}"
    if decision:
        if reasons:
            return f"a promoted candidate has no reasons against it: return (True, []), got {reasons} {where}"
        return None
    missing = [s for s in bad if s not in named]
    if missing:
        every = " Report every slice that got worse, not only the first:" if named else ""
        return f"the reasons do not name {about(missing[0])}.{every} {where}"
    extra = [s for s in named if s not in bad]
    if extra:
        return f"the reasons name slice {extra[0]!r}, which did not get worse beyond the margin: list failures only {where}"
    return None


slice_gate = Exercise(
    id="deploy.slice_gate",
    title="Slices in the gate: no group of payments may get worse",
    points=3,
    answer=Function("slice_gate"),
    tests=[
        holds("a candidate no slice gets worse with", slice_probe, _slice_verdict, inputs=_slice_all_fine, public=True),
        holds("a candidate better overall but far worse on one slice", slice_probe, _slice_verdict,
              inputs=_slice_one_worse),
        holds("a candidate worse on two slices", slice_probe, _slice_verdict, inputs=_slice_two_worse),
        holds("a slice with fewer frauds than min_positives", slice_probe, _slice_verdict, inputs=_slice_few_frauds),
        holds("a slice that loses exactly max_drop", slice_probe, _slice_verdict, inputs=_slice_on_margin),
    ],
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
ROLES = ("candidate", "incumbent")


def reference_route(user_id: str, fraction: float) -> str:
    """The lesson's router: SHA-256 of the id as a point in [0, 1), below ``fraction`` goes to the candidate."""
    digest = hashlib.sha256(str(user_id).encode("utf-8")).digest()
    return "candidate" if int.from_bytes(digest[:8], "big") / 2.0**64 < fraction else "incumbent"


def _char_sum_share(ids: Sequence[str], fraction: float) -> float:
    """The share a router built on the sum of the id's character codes sends to the candidate (a weak hash)."""
    sums = np.array([sum(map(ord, u)) for u in ids])
    return float(np.mean(sums % 100 < fraction * 100))


@_drawn_once
def _route_fresh(rng: np.random.Generator) -> dict:
    """20 000 random ids at three fractions; at least one fraction is one where a character-sum router's share
    is off by more than the tolerance, so that weak hash fails here on every seed."""
    ids = [f"{int(x):016x}" for x in rng.integers(0, 2**63, size=20_000)]
    while True:
        fractions = sorted([round(float(rng.uniform(0.03, 0.1)), 3), round(float(rng.uniform(0.15, 0.35)), 3),
                            round(float(rng.uniform(0.4, 0.6)), 3)])
        if max(abs(_char_sum_share(ids, f) - f) for f in fractions) > 0.03:
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
        if abs(_char_sum_share(ids, fraction) - fraction) > 0.1 and abs(1 / round(1 / fraction) - fraction) > 0.035:
            return {"ids": ids, "fractions": [fraction], "again": 1_000, "tolerance": 0.025}


@_drawn_once
def _route_edges(rng: np.random.Generator) -> dict:
    ids = [f"acct-{int(x)}" for x in rng.integers(0, 10**9, size=2_000)]
    return {"ids": ids, "fractions": [0.0, 1.0], "again": 500, "tolerance": 0.0}


def _route_verdict(got: Any, a: dict) -> str | None:
    if not isinstance(got, dict) or "answers" not in got:
        return "the check could not read your answer"
    if got.get("hash"):
        return (
            "your router uses Python's built-in hash(): for strings it is salted per process (PYTHONHASHSEED), so "
            "two server workers, or the same server after a restart, send the same user to different versions. Use a "
            "stable hash of the id, such as hashlib.sha256(user_id.encode()).digest()"
        )
    ids, fractions = a["ids"], a["fractions"]
    answers = got["answers"]
    for f, answer in zip(fractions, answers):
        bad = [x for x in answer if not (isinstance(x, str) and x in ROLES)]
        if bad:
            return f"route must return 'candidate' or 'incumbent', got {show(bad[0])} [fraction={f}]"
    repeat = got.get("again", [])
    first = answers[0][: len(repeat)]
    flips = sum(1 for x, y in zip(first, repeat) if x != y)
    if flips:
        return (
            f"not sticky: {flips} of {len(repeat)} users got a different version on a second call with the same "
            f"fraction ({fractions[0]}). Did you draw random.random()? A canary must place each user by their id "
            "alone, so one user always sees one version"
        )
    for f, answer in zip(fractions, answers):
        share = sum(x == "candidate" for x in answer) / len(answer)
        if f in (0.0, 1.0):
            if share != f:
                return (f"with fraction={f:g} {'no' if f == 0 else 'every'} user should reach the candidate, but "
                        f"{share:.1%} did [{len(answer)} ids]")
            continue
        if abs(share - f) > a["tolerance"]:
            sample = ", ".join(repr(i) for i in ids[:2])
            cause = ("ids that look alike (user-1, user-2, ...) must still spread evenly: a weak hash such as a sum of "
                     "character codes clusters them; use hashlib.sha256") if ids[0].startswith("user-") else (
                     "map each id to a point spread evenly over [0, 1) and compare it with the fraction")
            return (f"with fraction={f} about {f:.0%} of users should reach the candidate, but {share:.1%} of "
                    f"{len(answer)} ids ({sample}, ...) did: {cause}")
    order = sorted(range(len(fractions)), key=lambda i: fractions[i])
    for lo, hi in zip(order, order[1:]):
        if fractions[lo] in (0.0, 1.0) or fractions[hi] in (0.0, 1.0):
            continue
        moved = sum(1 for x, y in zip(answers[lo], answers[hi]) if x == "candidate" and y == "incumbent")
        if moved:
            return (
                f"raising the fraction from {fractions[lo]} to {fractions[hi]} moved {moved} users from the candidate "
                "back to the incumbent: a ramp-up should only add users. Compare one fixed point per user "
                "(its bucket in [0, 1)) with the fraction"
            )
    return None


route = Exercise(
    id="deploy.route",
    title="A sticky canary router",
    points=2,
    answer=Function("route"),
    tests=[
        holds("20 000 fresh user ids at three fractions", route_probe, _route_verdict, inputs=_route_fresh),
        holds("10 000 sequential ids user-1, user-2, ...", route_probe, _route_verdict, inputs=_route_sequential),
        holds("fractions 0 and 1", route_probe, _route_verdict, inputs=_route_edges),
    ],
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


_ROLLBACK_WHY = {
    "too_early": "the candidate has served fewer than min_requests requests: a few requests say little (3 errors in "
    "9 requests is noise), so wait and return False until it has served min_requests",
    "at_minimum": "the candidate has served exactly min_requests requests, which is enough to judge (>=), and its error "
    "rate is far above the incumbent's",
    "rate_not_count_up": "compare error *rates* (errors / requests), not counts: the candidate has fewer errors than "
    "the incumbent only because it served far fewer requests",
    "rate_not_count_down": "compare error *rates* (errors / requests), not counts: the candidate has more errors only "
    "because it served more requests; its rate is lower",
    "error_boundary": "the error rate rose by exactly max_error_increase: the rule rolls back when it is worse by "
    "*more than* the margin (>), so this is allowed",
    "incumbent_empty": "an incumbent that has served no requests has an error rate of 0 (guard the division), and "
    "the candidate's rate is far above it",
    "healthy": "the candidate is within both margins",
    "slow": "the candidate's p95 latency is worse than the incumbent's by more than max_p95_increase_ms",
    "latency_boundary": "the p95 latency rose by exactly max_p95_increase_ms, which is allowed (the rule says *more "
    "than*)",
    "faster": "the candidate is faster and no more error-prone",
    "no_latency_yet": "the incumbent has no p95 yet (NaN): skip the latency comparison rather than roll back "
    "(any comparison with NaN is False, which does exactly that)",
}


def _rollback_verdict(got: Any, cases: list) -> str | None:
    if not isinstance(got, dict) or "answers" not in got:
        return "the check could not read your answer"
    for c, answer in zip(cases, got["answers"]):
        where = (f"[incumbent {c['incumbent']}, candidate {c['candidate']}, min_requests={c['rule']['min_requests']}, "
                 f"max_error_increase={c['rule']['max_error_increase']}, "
                 f"max_p95_increase_ms={c['rule']['max_p95_increase_ms']:g}]")
        if answer is None:
            return f"your function returned None: did you forget a `return` statement? {where}"
        if type(answer) is not bool:
            return f"should_rollback must return True or False, got {kind(answer)} ({show(answer)}) {where}"
        expected = reference_rollback(c["incumbent"], c["candidate"], **c["rule"])
        if answer != expected:
            return f"expected {expected}, got {answer}: {_ROLLBACK_WHY[c['kind']]} {where}"
    return None


should_rollback = Exercise(
    id="deploy.should_rollback",
    title="The canary's rollback rule",
    points=2,
    answer=Function("should_rollback"),
    tests=[
        holds("candidates below and at min_requests", rollback_probe, _rollback_verdict, inputs=_rollback_waiting),
        holds("error rates, counts and the margin's edge", rollback_probe, _rollback_verdict, inputs=_rollback_errors),
        holds("p95 latencies", rollback_probe, _rollback_verdict, inputs=_rollback_latency),
    ],
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
