"""The probes of lesson 03 (Deploy): what the grading child runs.

Files are written into the probe's own temporary folder, never the working
directory; models handed to the learner's functions are built here from a
seed (a small logistic regression, or :class:`ChunkModel`, a stand-in that
scores rows with the data generator's own fraud rule and records the size of
every call), so inputs stay plain data. Nothing here knows an answer to an
exercise: the model file and sidecar ``deploy.load_verified`` is given are
written where the verdict runs (that is ``deploy.save_with_hash``'s answer)
and arrive here as bytes.

The verdicts live here too (the graded edition ships them to run the public
tests without the answer key): each reads a probe's plain report and, where
it needs the right answer, takes it as its third argument; the references,
the inputs and the faulty pipelines the grader uses stay in
:mod:`mlcourse.exercises.deploy.checks`.
"""
from __future__ import annotations

import builtins
import contextlib
import hashlib
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlcourse.exercises.compare import show
from mlcourse.exercises.plain import TAG, from_plain, kind
from mlcourse.metrics import average_precision, roc_auc

# The package folder: frames from files under it are not the learner's.
_PACKAGE = str(Path(__file__).resolve().parents[2])


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def installed_versions() -> dict[str, str]:
    import joblib
    import sklearn

    return {"sklearn": sklearn.__version__, "numpy": np.__version__, "joblib": joblib.__version__}


# --------------------------------------------------------------------------
# deploy.save_with_hash and deploy.load_verified
# --------------------------------------------------------------------------


def sidecar_path(path: str | os.PathLike[str]) -> str:
    """Where a model's metadata lives: the model's path plus ``.json``."""
    return str(path) + ".json"


def _draws(seed: int, names: Sequence[str]) -> tuple[np.ndarray, float, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=len(names)), float(rng.normal(scale=0.5)), rng.normal(size=(25, len(names)))


def small_model(seed: int, names: Sequence[str]) -> tuple[Any, np.ndarray]:
    """A small fitted classifier (a logistic regression) and rows to predict, both from ``seed``.

    Its weights are drawn rather than fitted: a fit would cost more than the
    rest of a check, and what the exercises need is a model that saves, loads
    and predicts like any fitted one.
    """
    from sklearn.linear_model import LogisticRegression

    w, b, rows = _draws(seed, names)
    model = LogisticRegression()
    model.classes_ = np.array([0, 1])
    model.coef_, model.intercept_ = w[None, :], np.array([b])
    model.n_features_in_ = len(names)
    model.n_iter_ = np.array([0], dtype=np.int32)
    return model, rows


def save_probe(fn: Any, a: dict) -> dict:
    """Save a fresh model with the learner's function in a private folder; report what landed on disk."""
    import pickle

    import joblib

    model, X = small_model(a["seed"], a["metadata"]["feature_names"])
    folder = tempfile.mkdtemp(prefix="mlcourse-save-")
    try:
        path = os.path.join(folder, a["file"])
        target = Path(path) if a["path_kind"] == "pathlib" else path
        returned = fn(model, target, json.loads(json.dumps(a["metadata"])))
        out: dict[str, Any] = {"returned": returned, "files": sorted(os.listdir(folder))}
        if os.path.isfile(path):
            out["actual_sha256"] = sha256_file(path)
            try:
                again = joblib.load(path)
                out["same_predictions"] = bool(np.array_equal(again.predict_proba(X), model.predict_proba(X)))
            except Exception as exc:  # the learner's file may hold anything
                out["reload_error"] = f"{type(exc).__name__}: {exc}"[:200]
        side = sidecar_path(path)
        if os.path.isfile(side):
            try:
                with open(side, encoding="utf-8") as f:
                    out["sidecar"] = json.load(f)
            except ValueError as exc:
                out["sidecar_error"] = str(exc)[:200]
        out["pickle_sha256"] = sha256_bytes(pickle.dumps(model))
        out["path_sha256"] = sha256_bytes(str(path).encode())
        out["versions"] = installed_versions()
        return out
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


class _RunsOnLoad:
    """Unpickling this object creates a folder: a harmless stand-in for code that runs while a file loads."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


# Warnings libraries raise on their own (an unclosed file, a deprecation), not the learner's function.
_LIBRARY_WARNINGS = (ResourceWarning, DeprecationWarning, PendingDeprecationWarning, FutureWarning, ImportWarning)
_ABOUT_THE_CHECK = ("hash", "sha", "digest", "checksum", "mismatch", "match", "differ", "tamper", "integrity", "verif",
                    "corrupt", "modified", "changed")


@contextlib.contextmanager
def _noticed() -> Iterator[list]:
    """What the learner's function said while it ran: warnings, log records of level WARNING and up, and
    printed lines (a function that notices a bad file and says so, yet loads it, is told exactly that)."""
    import io
    import logging
    import warnings

    said: list[str] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            with contextlib.suppress(Exception):
                said.append(f"logged {record.levelname}: {record.getMessage()}"[:200])

    keep, root, printed = _Keep(logging.WARNING), logging.getLogger(), io.StringIO()
    root.addHandler(keep)
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(printed):
            warnings.simplefilter("always")
            yield said
    finally:
        root.removeHandler(keep)
        said[:0] = [f"warned: {w.message}"[:200] for w in caught if not issubclass(w.category, _LIBRARY_WARNINGS)]
        said.extend(f"printed: {line}"[:200] for line in printed.getvalue().splitlines() if line.strip())
        # Only what speaks of the check counts (a function that always prints "loading..." noticed nothing).
        said[:] = [s for s in said if any(word in s.lower() for word in _ABOUT_THE_CHECK)]


def load_probe(fn: Any, a: dict) -> dict:
    """Write the model file and sidecar (made where the verdict runs), damage them as the case says, and load
    the model with the learner's function."""
    import base64
    import io

    import joblib

    # The model as saved (the bytes are made where the verdict runs, from the same seed), and rows to predict.
    model = joblib.load(io.BytesIO(base64.b64decode(a["model_bytes"])))
    X = _draws(a["seed"], a["names"])[2]
    folder = tempfile.mkdtemp(prefix="mlcourse-load-")
    marker = os.path.join(folder, "code-ran-on-load")
    try:
        path = os.path.join(folder, a["file"])
        for target, data in ((path, a["model_bytes"]), (sidecar_path(path), a["sidecar_bytes"])):
            with open(target, "wb") as fh:
                fh.write(base64.b64decode(data))
        loads_anyway = None
        if a["case"] == "swapped":
            joblib.dump(_RunsOnLoad(marker), path)
        elif a["case"] == "appended":
            with open(path, "ab") as f:
                f.write(b"\x00 a few bytes someone added")
            try:
                loads_anyway = bool(np.array_equal(joblib.load(path).predict(X), model.predict(X)))
            except Exception:
                loads_anyway = False
        elif a["case"] == "no_sidecar":
            os.remove(sidecar_path(path))
        out: dict[str, Any] = {"loads_anyway": loads_anyway}
        try:
            with _noticed() as noticed:
                returned = fn(path)
        except NotImplementedError:  # the untouched stub (or the learner's own): the engine reports it
            raise
        except Exception as exc:  # refusing is the right answer for three of the cases
            out["raised"] = type(exc).__name__
            out["is_value_error"] = isinstance(exc, ValueError)
            out["message"] = str(exc)[:300]
        else:
            out["returned_kind"] = type(returned).__name__
            if hasattr(returned, "predict_proba"):
                try:
                    out["same_predictions"] = bool(np.allclose(returned.predict_proba(X), model.predict_proba(X)))
                except Exception as exc:
                    out["predict_error"] = f"{type(exc).__name__}: {exc}"[:200]
        out["code_ran"] = os.path.exists(marker)
        # The folder is a fresh temporary one: named in the message, it would make the same answer read differently
        # on every check (and between the notebook and the grader). The file name is what the learner wrote.
        out["noticed"] = [str(n).replace(folder + os.sep, "").replace(folder, "the model's folder") for n in noticed[:3]]
        return out
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------
# deploy.validate_record, deploy.score_in_chunks, deploy.promotion_gate
# --------------------------------------------------------------------------
def records_probe(fn: Any, cases: list) -> list:
    return [fn(record, schema) for record, schema in cases]


#: The model's inputs in the batch exercise (those of mlcourse.train.fraud_model).
BATCH_FEATURES = ["amount", "hour", "account_age_days", "customer_age", "is_foreign", "merchant_category", "country",
                  "channel"]


def batch_scores(frame: pd.DataFrame) -> np.ndarray:
    """The stand-in model's fraud scores: the data generator's own rule."""
    from mlcourse.data.generate import fraud_probability

    return fraud_probability(frame)


class ChunkModel:
    """A fitted-classifier stand-in for the batch exercise.

    It scores rows with the data generator's fraud rule, refuses input that a
    Pipeline fitted on a DataFrame would refuse (an array, unknown or missing
    columns), and records the number of rows of every call.
    """

    classes_ = np.array([0, 1])

    def __init__(self) -> None:
        self.feature_names_in_ = np.array(BATCH_FEATURES, dtype=object)
        self.calls: list[int] = []

    def __repr__(self) -> str:
        return "ChunkModel(a fitted fraud classifier)"

    def _check(self, X: Any) -> None:
        if hasattr(X, "shape") and len(X.shape) and X.shape[0] == 0:
            raise ValueError(f"Found array with 0 sample(s) (shape={tuple(X.shape)}) while a minimum of 1 is required.")
        if not hasattr(X, "columns"):
            raise ValueError(
                f"this model was fitted on a DataFrame: pass the feature columns as a DataFrame, not "
                f"{type(X).__name__} (its column names tell the model which value is which)"
            )
        cols = [str(c) for c in X.columns]
        unseen = [c for c in cols if c not in BATCH_FEATURES]
        missing = [c for c in BATCH_FEATURES if c not in cols]
        if unseen or missing:
            raise ValueError(
                "The feature names should match those that were passed during fit."
                + (f" Feature names unseen at fit time: {unseen}." if unseen else "")
                + (f" Feature names seen at fit time, yet now missing: {missing}." if missing else "")
            )

    def predict_proba(self, X: Any) -> np.ndarray:
        self._check(X)
        self.calls.append(len(X))
        p = batch_scores(X)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        self._check(X)
        self.calls.append(len(X))
        return (batch_scores(X) >= 0.5).astype(int)


def chunk_probe(fn: Any, a: tuple) -> dict:
    """Score the frame with the learner's function; report its result, the size of every model call, and whether
    the caller's frame came back changed (its values, columns, index or order)."""
    from mlcourse.exercises.compare import Compare
    from mlcourse.exercises.plain import to_plain

    frame, chunk, id_column = a
    before = to_plain(frame)
    model = ChunkModel()
    result = fn(model, frame, chunk, id_column)
    changed = Compare(rtol=0.0, atol=0.0, check_index=True, strict_numbers=True)(before, to_plain(frame))
    return {"result": result, "calls": list(model.calls), "changed": changed is not None}


def gate_probe(fn: Any, a: tuple) -> Any:
    y, inc, cand, behaviour, min_gain = a
    return fn(y, inc, cand, behaviour, min_gain=min_gain)


# --------------------------------------------------------------------------
# deploy.route and deploy.should_rollback
# --------------------------------------------------------------------------


def _learner_frame(frame: Any) -> bool:
    """Is this frame the learner's code (not the standard library, numpy, pandas or mlcourse)?"""
    filename = frame.f_code.co_filename
    if "site-packages" in filename or filename.startswith(sys.base_prefix) or filename.startswith(sys.prefix):
        return False
    return not filename.startswith(_PACKAGE)


@contextlib.contextmanager
def _watch_hash() -> Iterator[list]:
    """Record calls of the built-in hash() made from the learner's own code."""
    original = builtins.hash
    calls: list[str] = []

    def recorder(obj: Any) -> int:
        caller = sys._getframe(1)
        if _learner_frame(caller) and isinstance(obj, str):
            calls.append(obj)
        return original(obj)

    builtins.hash = recorder
    try:
        yield calls
    finally:
        builtins.hash = original


def _names_builtin_hash(fn: Any) -> bool:
    """Does ``fn``'s code name the built-in hash (without a global of that name shadowing it)?"""
    import types

    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    names: set[str] = set()
    stack = [code]
    while stack:
        c = stack.pop()
        names.update(c.co_names)
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    if "hash" not in names:
        return False
    g = getattr(fn, "__globals__", {}) or {}
    return "hash" not in g or g["hash"] is builtins.hash


def _route_all(fn: Any, ids: Sequence[str], fraction: float) -> list:
    return [fn(u, fraction) for u in ids]


def route_probe(fn: Any, a: dict) -> dict:
    out: dict[str, Any] = {}
    with _watch_hash() as hashed:
        out["answers"] = [_route_all(fn, a["ids"], f) for f in a["fractions"]]
        again = list(a["ids"][: a["again"]])[::-1]
        out["again"] = _route_all(fn, again, a["fractions"][0])[::-1]
    out["hash"] = bool(hashed) or _names_builtin_hash(fn)
    return out


def rollback_probe(fn: Any, cases: list) -> dict:
    return {"answers": [fn(dict(c["incumbent"]), dict(c["candidate"]), **c["rule"]) for c in cases]}


# --------------------------------------------------------------------------
# deploy.serve_app: the learner's FastAPI service, through TestClient
# --------------------------------------------------------------------------
#: Rows the model handed to ``make_app`` is trained on (see :func:`service_model`).
SERVICE_ROWS = 2_000


def service_model(seed: int) -> Any:
    """The model ``deploy.serve_app`` hands to the learner's ``make_app``: the lesson's small fraud scorer."""
    from mlcourse.deploy.faults import build

    return build(seed, n_rows=SERVICE_ROWS).model


def _json_or_text(response: Any) -> Any:
    try:
        return response.json()
    except Exception:  # not JSON: its text, cut short
        return {"__text__": str(response.text)[:500]}


def service_probe(fn: Any, a: dict) -> dict:
    """Build the learner's app for a fresh model, send it the test's requests (and, when asked, read its
    OpenAPI document); report each answer's status and body, or the exception the app raised."""
    from fastapi.testclient import TestClient

    app = fn(service_model(a["seed"]))
    out: dict[str, Any] = {"app": type(app).__name__, "responses": []}
    if not (callable(app) and hasattr(app, "openapi") and hasattr(app, "routes")):
        return out
    with TestClient(app, raise_server_exceptions=True) as client:
        for request in a["requests"]:
            try:
                r = client.post("/predict", content=request["body"], headers={"Content-Type": "application/json"})
            except Exception as exc:  # the learner's endpoint raised: a 500 in a real server
                out["responses"].append({"status": 500, "raised": f"{type(exc).__name__}: {exc}"[:300]})
            else:
                out["responses"].append({"status": int(r.status_code), "body": _json_or_text(r)})
        if a.get("openapi"):
            try:
                r = client.get("/openapi.json")
                out["openapi"] = {"status": int(r.status_code), "body": _json_or_text(r)}
            except Exception as exc:
                out["openapi"] = {"status": 500, "raised": f"{type(exc).__name__}: {exc}"[:300]}
    return out


# --------------------------------------------------------------------------
# deploy.pipeline_tests: the learner's tests, run on a correct and a faulty pipeline
# --------------------------------------------------------------------------


def tests_probe(fn: Any, a: dict) -> dict:
    """Run every ``test*`` function of the learner's namespace (the one ``fn`` was defined in) on the pipeline
    the test names; for a faulty pipeline, also run the tests that failed on it on the correct one (a test that
    fails everywhere catches nothing). Returns the test names and plain outcomes."""
    from mlcourse.deploy import faults
    from mlcourse.exercises.engine import stub_message

    namespace = getattr(fn, "__globals__", None) or {}
    tests = faults.collect(namespace)
    fault = faults.Fault.from_plain(a["fault"]) if a.get("fault") else None
    outcomes = faults.run_tests(tests, faults.build(a["seed"], fault), namespace)
    if outcomes and all(o["outcome"] == "stub" for o in outcomes):
        raise NotImplementedError(stub_message("deploy.pipeline_tests"))
    out: dict[str, Any] = {"tests": sorted(tests), "outcomes": outcomes}
    if fault is not None:
        failing = sorted({o["test"].split("[", 1)[0] for o in outcomes if o["outcome"] in ("failed", "error")})
        correct = faults.build(a["seed"])
        out["on_correct"] = [o for name in failing for o in faults.run_one(name, tests[name], correct, namespace)]
    return out


# --------------------------------------------------------------------------
# deploy.slice_gate
# --------------------------------------------------------------------------


def slice_probe(fn: Any, a: dict) -> Any:
    """Call the learner's slice gate with numpy arrays (the slices as an array of strings)."""
    return fn(np.asarray(a["y"], dtype=int), np.asarray(a["incumbent"], dtype=float),
              np.asarray(a["candidate"], dtype=float), np.asarray(a["slices"], dtype=object),
              max_drop=a["max_drop"], min_positives=a["min_positives"])


# --------------------------------------------------------------------------
# The verdicts: what a probe's report means, shared by the notebook, the grader and the graded edition
# --------------------------------------------------------------------------
# A verdict that needs the right answer takes it as its third argument (the answer key computes it with the
# exercise's reference), so the graded edition can run the public tests with the value stored at release.


#: The libraries whose versions a model's sidecar records (module name -> import name).
LIBRARIES = ("sklearn", "numpy", "joblib")


def fingerprint(*arrays: Any) -> str:
    """A key for values computed from big arrays (kept between the answers a test suite tries on one input)."""
    h = hashlib.sha1()
    for a in arrays:
        a = np.asarray(a)
        h.update("\x1f".join(map(str, a.tolist())).encode() if a.dtype.kind in "OUS"
                 else np.ascontiguousarray(a, dtype=float).tobytes())
        h.update(b"|")
    return h.hexdigest()


def save_verdict(got: Any, a: dict) -> str | None:
    """``deploy.save_with_hash``: the files the learner's function wrote, read back by :func:`save_probe`."""
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


def load_verdict(got: Any, a: dict) -> str | None:
    """``deploy.load_verified``: what the learner's function did with the case's file (see :func:`load_probe`)."""
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


PROBLEMS = ("missing", "unknown", "wrong_type", "not_finite", "not_allowed")


_NUMERIC_PREFIXES = ("int", "uint", "float")


def is_numeric_dtype(dtype: str) -> bool:
    return str(dtype).startswith(_NUMERIC_PREFIXES)


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


def records_verdict(got: Any, cases: list, expected: list) -> str | None:
    """``deploy.validate_record``: the learner's problems for each (record, schema) case against ``expected``,
    the reference's (a list of (field, problem) pairs per case)."""
    if not isinstance(got, list) or len(got) != len(cases):
        return "the check could not read your answers"
    for (rec, schema), answer, right in zip(cases, got, expected):
        where = f"[record {_show_record(rec)}]"
        pairs = _pairs(answer)
        if answer is None:
            return f"your function returned None: return a list (an empty one when the record is fine) {where}"
        if pairs is None:
            return (f"expected a list of (field, problem) pairs such as [('amount', 'missing')], got {kind(answer)} "
                    f"({show(answer)}) {where}")
        expected = _pairs(right) or []
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


def service_verdict(got: Any, a: dict) -> str | None:
    """``deploy.serve_app``: the app's answers to the test's requests, or its OpenAPI document."""
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


def chunk_verdict(got: Any, a: tuple, right: Any) -> str | None:
    """``deploy.score_in_chunks``: the learner's result, model calls and frame against ``right``, the reference's
    result (a DataFrame, as plain data)."""
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
    expected = from_plain(right)
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


def tests_verdict(got: Any, a: dict, fault: Any) -> str | None:
    """``deploy.pipeline_tests``: on the correct pipeline (``fault`` None) every test must pass; on a faulty one,
    some test must fail that passes on the correct one. ``fault`` is ``[name, advice]``: what the pipeline does
    wrong, and what a test that catches it checks (the answer key's, sent only with the hidden tests)."""
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
    name, advice = fault
    message = f"your tests did not notice {name}: {advice}"
    if failed_here:
        message += (f" ({sorted(failed_here)[0]} fails on it, but it fails on the correct pipeline too, so it tells "
                    "nothing about this fault)")
    return message


def pr_auc(y: np.ndarray, s: np.ndarray) -> float:
    # scikit-learn's average_precision_score, ties included, without its input checks (ten times faster)
    return float(average_precision(y, s))


def roc_auc_of(y: np.ndarray, s: np.ndarray) -> float:
    return float(roc_auc(y, s))


def _unpack_gate(plain: Any) -> tuple[Any, Any] | None:
    if isinstance(plain, dict) and plain.get(TAG) == "tuple":
        plain = plain["items"]
    if isinstance(plain, list) and len(plain) == 2:
        return plain[0], plain[1]
    return None


def _gate_answer(got: Any, where: str, one_per: str, when_none: str) -> str | tuple[bool, list[str]]:
    """A gate's answer read as (promote, reasons), or what is wrong with its form (``where`` ends the message;
    ``when_none`` is what to do when the answer returned None)."""
    if got is None:
        return f"your function returned None: {when_none} {where}"
    pair = _unpack_gate(got)
    if pair is None:
        return f"expected a pair (promote, reasons), got {kind(got)} ({show(got)}) {where}"
    decision, reasons = pair
    if type(decision) is not bool:
        return f"the first item should be True or False, got {kind(decision)} ({show(decision)}) {where}"
    if isinstance(reasons, dict) and reasons.get(TAG) == "tuple":
        reasons = reasons["items"]
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        return f"the reasons should be a list of strings (one per {one_per}), got {kind(reasons)} ({show(reasons)}) {where}"
    return decision, reasons


def gate_verdict(got: Any, a: tuple, expected: bool) -> str | None:
    """``deploy.promotion_gate``: the learner's (promote, reasons) against ``expected``, the reference's decision."""
    y, inc, cand, behaviour, min_gain = a
    y, inc, cand = np.asarray(y), np.asarray(inc), np.asarray(cand)
    pr_gain = pr_auc(y, cand) - pr_auc(y, inc)
    roc_gain = roc_auc_of(y, cand) - roc_auc_of(y, inc)
    failed = [k for k, v in behaviour.items() if not v]
    passed = [k for k, v in behaviour.items() if v]
    where = (f"[PR-AUC incumbent {pr_auc(y, inc):.4f}, candidate {pr_auc(y, cand):.4f} (gain {pr_gain:+.4f}), "
             f"min_gain={min_gain}, behaviour {behaviour}]")
    answer = _gate_answer(got, where, "failure", "return a pair (promote, reasons)")
    if isinstance(answer, str):
        return answer
    decision, reasons = answer
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


def slice_facts(a: dict) -> dict[str, dict]:
    """Per slice: frauds, rows, and the PR-AUC and ROC-AUC of both models."""
    return _slice_facts_of(fingerprint(a["y"], a["incumbent"], a["candidate"], a["slices"]), a)


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
            "pr_inc": pr_auc(yy, inc[rows]) if both else math.nan, "pr_cand": pr_auc(yy, cand[rows]) if both else math.nan,
            "roc_inc": roc_auc_of(yy, inc[rows]) if both else math.nan,
            "roc_cand": roc_auc_of(yy, cand[rows]) if both else math.nan,
        }
    return facts


def slice_drop(f: dict, metric: str = "pr") -> float:
    return f[f"{metric}_inc"] - f[f"{metric}_cand"]


def better_overall(case: dict) -> bool:
    y, inc, cand = (np.asarray(case[k]) for k in ("y", "incumbent", "candidate"))
    return pr_auc(y, cand) > pr_auc(y, inc) + 0.01


def slice_verdict(got: Any, a: dict, expected: bool) -> str | None:
    """``deploy.slice_gate``: the learner's (promote, reasons) against ``expected``, the reference's decision;
    the slices at fault are read from the inputs."""
    facts = slice_facts(a)
    max_drop, m = a["max_drop"], a["min_positives"]
    where = f"[{len(facts)} slices, max_drop={max_drop:g}, min_positives={m}]"
    answer = _gate_answer(got, where, "slice", "did you forget a `return` statement? Return (promote, reasons)")
    if isinstance(answer, str):
        return answer
    decision, reasons = answer
    bad = [s for s, f in facts.items() if f["frauds"] >= m and slice_drop(f) > max_drop]

    def about(s: str) -> str:
        f = facts[s]
        return (f"slice {s!r} ({f['frauds']} frauds in {f['rows']} rows): PR-AUC {f['pr_cand']:.4f} against "
                f"{f['pr_inc']:.4f} ({-slice_drop(f):+.4f})")

    named = [s for s in facts if any(s in r for r in reasons)]
    if decision and not expected:
        overall = ""
        if better_overall(a):
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
                    f"{slice_drop(f, 'roc'):.4f}: did you compare ROC-AUC? The gate uses PR-AUC) {where}")
        if slice_drop(f) < 0:
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


ROLES = ("candidate", "incumbent")


def route_verdict(got: Any, a: dict) -> str | None:
    """``deploy.route``: sticky, the right share at each fraction, and a ramp-up that only adds users."""
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


def rollback_verdict(got: Any, cases: list, expected: list) -> str | None:
    """``deploy.should_rollback``: the learner's answer on each case against ``expected``, the reference's."""
    if not isinstance(got, dict) or "answers" not in got:
        return "the check could not read your answer"
    for c, answer, right in zip(cases, got["answers"], expected):
        where = (f"[incumbent {c['incumbent']}, candidate {c['candidate']}, min_requests={c['rule']['min_requests']}, "
                 f"max_error_increase={c['rule']['max_error_increase']}, "
                 f"max_p95_increase_ms={c['rule']['max_p95_increase_ms']:g}]")
        if answer is None:
            return f"your function returned None: did you forget a `return` statement? {where}"
        if type(answer) is not bool:
            return f"should_rollback must return True or False, got {kind(answer)} ({show(answer)}) {where}"
        if answer != right:
            return f"expected {right}, got {answer}: {_ROLLBACK_WHY[c['kind']]} {where}"
    return None
