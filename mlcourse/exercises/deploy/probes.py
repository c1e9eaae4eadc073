"""The probes of lesson 03 (Deploy): what the grading child runs.

Files are written into the probe's own temporary folder, never the working
directory; models handed to the learner's functions are built here from a
seed (a small logistic regression, or :class:`ChunkModel`, a stand-in that
scores rows with the data generator's own fraud rule and records the size of
every call), so inputs stay plain data. Nothing here knows an answer to an
exercise: the model file and sidecar ``deploy.load_verified`` is given are
written where the verdict runs (that is ``deploy.save_with_hash``'s answer)
and arrive here as bytes. The verdicts are in
:mod:`mlcourse.exercises.deploy.checks`.
"""
from __future__ import annotations

import builtins
import contextlib
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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
        out["noticed"] = noticed[:3]
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
