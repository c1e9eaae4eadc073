"""Stage 3, testing before rollout: a pipeline to test, the faults a release can carry, and a runner for tests.

Lesson 03 has learners write pytest-style tests for a fraud pipeline and
grades the tests by the faults they catch. This module holds what both the
lesson and its check need:

* :func:`build`: a small pipeline under test, trained from a seed on
  :func:`mlcourse.data.make_transactions` (logarithm of the amount, scaled
  numbers and one-hot categories into a logistic regression), with its two
  ways in: ``model.predict_proba`` on a frame (the batch path) and
  :attr:`PipelineUnderTest.serve` on one record (the online path);
* :class:`Fault`: what can go wrong between the data and the answer, as
  plain settings: features the model never sees, labels flipped by the
  labelling step, an encoder that refuses categories it has not seen, an
  online path that changes a feature the batch path leaves alone
  (training-serving skew);
* :func:`collect` and :func:`run_tests`: find pytest-style test functions
  and call each with the fixtures it names (``data``, ``model``, ``serve``,
  or the learner's own ``@pytest.fixture`` functions), with pytest's
  outcomes: passed, failed (an ``assert`` or any other exception), error (a
  fixture that does not exist), skipped. Outcomes are plain data.

Which faults grade the exercise is the answer key's business
(:mod:`mlcourse.exercises.deploy.checks`); :data:`LESSON_FAULTS` are the ones
the lesson shows.

Examples
--------
>>> system = build(0, n_rows=1_000)
>>> def test_scores_are_probabilities(model, data):
...     p = model.predict_proba(data.head(50))[:, 1]
...     assert ((0 <= p) & (p <= 1)).all()
>>> def test_night_owl(model, owl):
...     pass
>>> [(o["test"], o["outcome"]) for o in run_tests(
...     {"test_scores_are_probabilities": test_scores_are_probabilities, "test_night_owl": test_night_owl}, system)]
[('test_scores_are_probabilities', 'passed'), ('test_night_owl', 'error')]
"""
from __future__ import annotations

import copy
import functools
import inspect
import itertools
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from mlcourse.train.fraud_model import CATEGORICAL_FEATURES, FEATURES, NUMERIC_FEATURES, TARGET

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["FIXTURES", "LESSON_FAULTS", "Fault", "PipelineUnderTest", "build", "collect", "online_path", "run_tests"]

#: The fixtures a test may ask for, by parameter name, and what each is.
FIXTURES = {
    "data": "the training table (the features and is_fraud), a fresh copy for each test",
    "model": "the fitted Pipeline: model.predict_proba(frame)[:, 1] is the batch path",
    "serve": "the online path: serve(record) takes one payment as a dict and returns its fraud probability",
}


@dataclass(frozen=True)
class Fault:
    """What goes wrong in one pipeline (the defaults: nothing).

    Parameters
    ----------
    name : str
        What the fault is, in words a learner reads ("a model that ignores `amount`").
    ignore : tuple of str
        Features the model is trained without (it accepts them and never looks at them).
    flip_labels : bool
        The labelling step inverts ``is_fraud`` before training (the ``data`` fixture shows the flipped labels).
    unknown : str
        The encoder's ``handle_unknown``: ``"ignore"`` scores a category it never saw, ``"error"`` raises.
    skew : tuple
        ``(feature, factor, offset)``: the online path sends ``feature * factor + offset`` to the model
        (``hour`` wraps around midnight); the batch path sends the value as it is.

    Examples
    --------
    >>> Fault("amounts in cents online", skew=("amount", 100.0, 0.0)).plain()["skew"]
    ['amount', 100.0, 0.0]
    >>> Fault.from_plain(Fault("x", ignore=("hour",)).plain()) == Fault("x", ignore=("hour",))
    True
    """

    name: str = "the correct pipeline"
    ignore: tuple[str, ...] = ()
    flip_labels: bool = False
    unknown: str = "ignore"
    skew: tuple = ()

    def __post_init__(self) -> None:
        unknown_features = [f for f in self.ignore if f not in FEATURES]
        if unknown_features:
            raise ValueError(f"Fault.ignore names columns the model does not have: {unknown_features}")
        if self.unknown not in ("ignore", "error"):
            raise ValueError(f"Fault.unknown must be 'ignore' or 'error', got {self.unknown!r}")
        if self.skew and (len(self.skew) != 3 or self.skew[0] not in NUMERIC_FEATURES):
            raise ValueError(f"Fault.skew must be (numeric feature, factor, offset), got {self.skew!r}")

    def plain(self) -> dict[str, Any]:
        """The fault as JSON-ready data (how it travels to the grading child)."""
        d = asdict(self)
        return {**d, "ignore": list(d["ignore"]), "skew": list(d["skew"])}

    @classmethod
    def from_plain(cls, d: Mapping[str, Any]) -> Fault:
        """The fault :meth:`plain` described."""
        return cls(name=str(d.get("name", cls.name)), ignore=tuple(str(f) for f in d.get("ignore", ())),
                   flip_labels=bool(d.get("flip_labels", False)), unknown=str(d.get("unknown", "ignore")),
                   skew=tuple(d.get("skew", ())))


#: The faults the lesson shows (the exercise is graded on others).
LESSON_FAULTS = (
    Fault("a model that ignores `is_foreign`", ignore=("is_foreign",)),
    Fault("an online path that reads `hour` five hours ahead (a time-zone slip)", skew=("hour", 1.0, 5.0)),
)


class PipelineUnderTest:
    """A trained pipeline with its batch path (``model``), its online path (:attr:`serve`) and its training data.

    Made by :func:`build`; :meth:`fixtures` hands a test fresh copies, so a
    test that changes its ``data`` or ``model`` cannot change the next test's.
    """

    def __init__(self, data: pd.DataFrame, model: Any, fault: Fault, seed: int) -> None:
        self.data = data
        self.model = model
        self.fault = fault
        self.seed = seed
        #: The online path: one payment (a dict) in, its fraud probability out. A plain function that holds the
        #: model and what the path does to a record, not the pipeline (a test given it cannot read which fault
        #: this pipeline carries off ``serve.__self__``).
        self.serve = online_path(model, fault.skew)

    def __repr__(self) -> str:
        return f"<PipelineUnderTest seed={self.seed}: {self.fault.name}>"

    def fixtures(self) -> dict[str, Any]:
        """Fresh fixtures for one test: ``data`` and ``model`` are copies, ``serve`` is the online path."""
        return {"data": self.data.copy(), "model": copy.deepcopy(self.model), "serve": self.serve}


def online_path(model: Any, skew: tuple = ()) -> Callable[[Mapping[str, Any]], float]:
    """The online path of a pipeline: ``serve(record)`` scores one payment given as a dict with ``model``.

    ``skew`` is :attr:`Fault.skew`: ``(feature, factor, offset)`` changes that
    feature on the way in (``hour`` wraps around midnight); empty, the record
    reaches the model as it is.

    Examples
    --------
    >>> class Echo:
    ...     def score_record(self, row):
    ...         return row["hour"]
    >>> online_path(Echo())({"hour": 22}), online_path(Echo(), ("hour", 1.0, 5.0))({"hour": 22})
    (22, 3.0)
    """
    feature, factor, offset = skew if skew else (None, 1.0, 0.0)

    def serve(record: Mapping[str, Any]) -> float:
        row = dict(record)
        if feature is not None and feature in row:
            value = row[feature] * factor + offset
            row[feature] = value % 24 if feature == "hour" else value
        return model.score_record(row)

    return serve


class FraudScorer:
    """A small logistic fraud model with its own feature steps, fast enough to test many times over.

    It reads the logarithm of the amount, a night flag (before 6 am), how new
    the account is, the other numbers scaled, and one-hot categories, and
    answers like a fitted scikit-learn classifier: ``predict_proba(frame)``
    (a DataFrame with the feature columns, in any order, extra columns
    ignored) gives one row ``[P(legit), P(fraud)]`` per payment. A category
    it has not seen scores as none of the known ones (``unknown="ignore"``)
    or raises ``ValueError`` (``unknown="error"``), like ``OneHotEncoder``.

    Examples
    --------
    >>> from mlcourse.data.generate import make_transactions
    >>> table = make_transactions(2_000, seed=1)
    >>> scorer = FraudScorer(FEATURES).fit(table, table["is_fraud"])
    >>> scorer.predict_proba(table.head(3)).shape
    (3, 2)
    >>> FraudScorer(FEATURES, unknown="error").fit(table, table["is_fraud"]).predict_proba(
    ...     table.head(1).assign(channel="fax"))
    Traceback (most recent call last):
    ...
    ValueError: Found unknown categories ['fax'] in column 'channel' during transform
    """

    classes_ = (0, 1)

    def __init__(self, features: list[str] | tuple[str, ...], unknown: str = "ignore") -> None:
        self.features = [f for f in FEATURES if f in features]
        self.unknown = unknown

    def __repr__(self) -> str:
        return f"FraudScorer(a fitted logistic fraud model on {len(self.features)} features)"

    def _design(self, X: Any) -> Any:
        import pandas as pd

        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"predict_proba takes a DataFrame of payments (one row each), not {type(X).__name__}")
        missing = [f for f in FEATURES if f not in X.columns]
        if missing:
            raise ValueError(f"the frame lacks the feature columns {missing}")
        return self._matrix({f: X[f].to_numpy() for f in FEATURES}, len(X))

    def _matrix(self, columns: Mapping[str, Any], n: int) -> Any:
        """The model's inputs as numbers, from one array per feature."""
        import numpy as np

        parts = []
        for f in (f for f in NUMERIC_FEATURES if f in self.features):
            x = np.asarray(columns[f], dtype=float)
            if f == "amount":
                x = np.log1p(np.maximum(x, 0.0))
            elif f == "hour":
                x = (x < 6).astype(float)
            elif f == "account_age_days":
                x = np.exp(-np.maximum(x, 0.0) / 30.0)
            parts.append(x[:, None])
        for f in (f for f in CATEGORICAL_FEATURES if f in self.features):
            index = self.index_[f]
            codes = np.array([index.get(v, -1) if isinstance(v, str) else -1 for v in columns[f]], dtype=int)
            if self.unknown == "error" and (codes < 0).any():
                unseen = sorted({str(v) for v, c in zip(columns[f], codes) if c < 0})
                raise ValueError(f"Found unknown categories {unseen} in column {f!r} during transform")
            parts.append((codes[:, None] == np.arange(len(index))[None, :]).astype(float))
        return np.hstack(parts) if parts else np.zeros((n, 0))

    def score_record(self, record: Mapping[str, Any]) -> float:
        """P(fraud) of one payment given as a dict (what the online path calls)."""
        import numpy as np

        missing = [f for f in FEATURES if f not in record]
        if missing:
            raise ValueError(f"the record lacks the feature fields {missing}")
        z = ((self._matrix({f: [record[f]] for f in FEATURES}, 1) - self.mean_) / self.scale_) @ self.coef_
        return float(1.0 / (1.0 + np.exp(-(z[0] + self.intercept_))))

    def fit(self, X: Any, y: Any) -> FraudScorer:
        import numpy as np
        from sklearn.linear_model import LogisticRegression

        self.levels_ = {f: sorted(str(v) for v in X[f].dropna().unique()) for f in CATEGORICAL_FEATURES}
        self.index_ = {f: {v: i for i, v in enumerate(levels)} for f, levels in self.levels_.items()}
        design = self._design(X)
        self.mean_, self.scale_ = design.mean(axis=0), design.std(axis=0)
        self.scale_[self.scale_ == 0] = 1.0
        fitted = LogisticRegression(solver="newton-cg", max_iter=1_000).fit((design - self.mean_) / self.scale_, np.asarray(y))
        self.coef_, self.intercept_ = fitted.coef_[0], float(fitted.intercept_[0])
        self.feature_names_in_ = np.array(FEATURES, dtype=object)
        return self

    def predict_proba(self, X: Any) -> Any:
        import numpy as np

        z = ((self._design(X) - self.mean_) / self.scale_) @ self.coef_ + self.intercept_
        p = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> Any:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


@functools.lru_cache(maxsize=48)
def _fitted(seed: int, ignore: tuple[str, ...], flip_labels: bool, n_rows: int) -> tuple[pd.DataFrame, FraudScorer]:
    from mlcourse.data.generate import make_transactions

    data = make_transactions(n_rows, seed=seed)[[*FEATURES, TARGET]].reset_index(drop=True)
    if flip_labels:
        data[TARGET] = 1 - data[TARGET]
    model = FraudScorer([f for f in FEATURES if f not in ignore]).fit(data, data[TARGET])
    return data, model


def build(seed: int, fault: Fault | None = None, n_rows: int = 4_000) -> PipelineUnderTest:
    """The pipeline under test, trained on ``make_transactions(n_rows, seed)``, carrying ``fault`` (or none).

    The same arguments give the same pipeline. Trained models are kept for
    the process (tests get copies through :meth:`PipelineUnderTest.fixtures`),
    and faults that leave training alone (the encoder's ``unknown``, the
    online path's ``skew``) reuse the correct pipeline's fit.

    Examples
    --------
    >>> build(0, Fault("no amount", ignore=("amount",)), n_rows=1_000).model
    FraudScorer(a fitted logistic fraud model on 7 features)
    """
    fault = fault or Fault()
    data, model = _fitted(int(seed), tuple(sorted(fault.ignore)), bool(fault.flip_labels), int(n_rows))
    if fault.unknown != "ignore":
        model = copy.copy(model)
        model.unknown = fault.unknown
    return PipelineUnderTest(data, model, fault, int(seed))


# --------------------------------------------------------------------------- running tests


def collect(namespace: Mapping[str, Any]) -> dict[str, Callable[..., Any]]:
    """The test functions of a namespace, as pytest collects them from a module: functions named ``test*``.

    Examples
    --------
    >>> def test_a(): pass
    >>> def helper(): pass
    >>> sorted(collect({"test_a": test_a, "helper": helper, "test_value": 3}))
    ['test_a']
    """
    return {name: obj for name, obj in namespace.items()
            if isinstance(name, str) and name.startswith("test") and inspect.isfunction(obj)}


def _fixture_function(obj: Any) -> Callable[..., Any] | None:
    """The function behind a ``@pytest.fixture`` object, or None when ``obj`` is not one."""
    unwrap = getattr(type(obj), "_get_wrapped_function", None)
    if unwrap is not None:
        return obj._get_wrapped_function()
    if getattr(obj, "_pytestfixturefunction", None) is not None:  # pytest < 8.4
        return getattr(obj, "__wrapped__", obj)
    return None


def _cases(fn: Callable[..., Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(id, parameters)`` for each case of a test: one, or the product of its ``parametrize`` marks."""
    axes = []
    for mark in reversed(getattr(fn, "pytestmark", None) or []):
        if getattr(mark, "name", None) != "parametrize" or len(mark.args) < 2:
            continue
        names, values = mark.args[0], list(mark.args[1])
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else [str(n) for n in names]
        ids = mark.kwargs.get("ids")
        axis = []
        for i, value in enumerate(values):
            if _is_param_set(value):  # pytest.param(..., id=...)
                own_id, cells = value.id, tuple(value.values)
            else:
                own_id, cells = None, tuple(value) if len(names) > 1 else (value,)
            row = dict(zip(names, cells))
            label = own_id or (ids[i] if isinstance(ids, (list, tuple)) and i < len(ids) else "-".join(
                _id_part(v, n, i) for n, v in row.items()))
            axis.append((str(label), row))
        axes.append(axis)
    if not axes:
        yield "", {}
        return
    for combo in itertools.product(*axes):
        yield "[" + "-".join(label for label, _ in combo) + "]", {k: v for _, row in combo for k, v in row.items()}


def _is_param_set(value: Any) -> bool:
    return type(value).__name__ == "ParameterSet"


def _id_part(value: Any, name: str, i: int) -> str:
    if isinstance(value, (int, float, str, bool)) and len(str(value)) <= 20:
        return str(value)
    return f"{name}{i}"


def _skipped(fn: Callable[..., Any]) -> bool:
    return any(getattr(m, "name", None) == "skip" for m in getattr(fn, "pytestmark", None) or [])


class _FixtureMissing(LookupError):
    pass


def _resolve(name: str, given: dict[str, Any], namespace: Mapping[str, Any], teardown: list, depth: int = 0) -> Any:
    """The value of fixture ``name``: one of ``given``, or the learner's ``@pytest.fixture`` of that name."""
    if name in given:
        return given[name]
    fixture = _fixture_function(namespace.get(name)) if depth < 20 else None
    if fixture is None:
        known = ", ".join([*FIXTURES, *(n for n, o in namespace.items() if _fixture_function(o) is not None)])
        raise _FixtureMissing(f"fixture '{name}' not found (available: {known})")
    kwargs = {p: _resolve(p, given, namespace, teardown, depth + 1) for p in inspect.signature(fixture).parameters}
    value = fixture(**kwargs)
    if inspect.isgenerator(value):  # a yield fixture: set up now, tear down after the test
        teardown.append(value)
        value = next(value)
    given[name] = value  # one value per test, shared by everything that asks for it
    return value


def _where(exc: BaseException) -> str:
    """The learner's line that raised (the last frame outside the libraries)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "site-packages" not in f.filename and "/lib/python" not in f.filename and f.filename != __file__]
    return (frames[-1].line or "").strip()[:200] if frames else ""


def _describe(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:
        text = "<unprintable message>"
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def _is_stub(exc: BaseException) -> bool:
    return isinstance(exc, NotImplementedError) and "not attempted yet" in str(exc)


def _outcome_of(exc: BaseException) -> str:
    kind = type(exc).__name__
    if kind in ("Skipped",):
        return "skipped"
    if _is_stub(exc):
        return "stub"
    return "failed"


def run_one(name: str, fn: Callable[..., Any], system: PipelineUnderTest,
            namespace: Mapping[str, Any] | None = None) -> list[dict[str, str]]:
    """Run one test function (each of its parametrized cases) on ``system``; see :func:`run_tests`."""
    namespace = namespace if namespace is not None else getattr(fn, "__globals__", {})
    out = []
    for case, params in _cases(fn):
        test = name + case
        if _skipped(fn):
            out.append({"test": test, "outcome": "skipped", "error": "", "line": ""})
            continue
        given = {**system.fixtures(), **params}
        teardown: list = []
        try:
            kwargs = {p: _resolve(p, given, namespace, teardown) for p in inspect.signature(fn).parameters}
        except _FixtureMissing as exc:
            out.append({"test": test, "outcome": "error", "error": str(exc), "line": ""})
            continue
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - a learner's fixture may raise anything
            out.append({"test": test, "outcome": "error", "error": f"a fixture raised {_describe(exc)}",
                        "line": _where(exc)})
            continue
        try:
            fn(**kwargs)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - pytest.fail and pytest.skip raise BaseExceptions
            out.append({"test": test, "outcome": _outcome_of(exc), "error": _describe(exc), "line": _where(exc)})
        else:
            out.append({"test": test, "outcome": "passed", "error": "", "line": ""})
        finally:
            for gen in reversed(teardown):
                try:
                    next(gen, None)
                except Exception:  # noqa: BLE001 - a teardown's failure does not change the test's outcome here
                    pass
    return out


def run_tests(tests: Mapping[str, Callable[..., Any]], system: PipelineUnderTest,
              namespace: Mapping[str, Any] | None = None) -> list[dict[str, str]]:
    """Run pytest-style test functions on ``system``, as pytest would; one plain outcome per test case.

    Each test is called with the fixtures its parameters name: those of
    :data:`FIXTURES`, its ``parametrize`` values, and any ``@pytest.fixture``
    of ``namespace`` (by default the test's own module globals). An outcome
    is ``{"test", "outcome", "error", "line"}``: ``outcome`` is ``passed``,
    ``failed`` (an assertion or any exception, as pytest counts it),
    ``error`` (a fixture that is missing or raised), ``skipped``, or ``stub``
    (the lesson's untouched stub); ``error`` and ``line`` say what was raised
    and on which line of the test.
    """
    out = []
    for name, fn in tests.items():
        out.extend(run_one(name, fn, system, namespace))
    return out


def table(tests: Mapping[str, Callable[..., Any]], systems: Mapping[str, PipelineUnderTest]) -> pd.DataFrame:
    """Which test catches which pipeline: one row per test case, one column per pipeline, "pass"/"FAIL"/...

    Examples
    --------
    >>> def test_probability(serve, data):
    ...     assert 0 <= serve(data.iloc[0].to_dict()) <= 1
    >>> table({"test_probability": test_probability}, {"correct": build(0, n_rows=1_000)}).to_dict()
    {'correct': {'test_probability': 'pass'}}
    """
    import pandas as pd

    shown = {"passed": "pass", "failed": "FAIL", "error": "ERROR", "skipped": "skip", "stub": "not written"}
    columns = {}
    for label, system in systems.items():
        columns[label] = {o["test"]: shown[o["outcome"]] for o in run_tests(tests, system)}
    frame = pd.DataFrame(columns)
    frame.index.name = "test"
    return frame
