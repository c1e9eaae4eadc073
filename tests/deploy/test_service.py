"""mlcourse.deploy.service.ModelService: same predictions as the model, clear errors for bad input."""
from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression

from mlcourse.deploy.registry import save_model
from mlcourse.deploy.service import InvalidInput, ModelService

FEATURES = ["f0", "f1", "f2", "f3"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(rng.normal(size=(300, 4)), columns=FEATURES)


@pytest.fixture(scope="module")
def labels(frame) -> np.ndarray:
    return (frame["f0"] - frame["f2"] > 0).astype(int).to_numpy()


@pytest.fixture(scope="module")
def forest(frame, labels) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=20, random_state=0).fit(frame, labels)


@pytest.fixture()
def service(forest) -> ModelService:
    return ModelService(forest, FEATURES, version="test:v1")


def test_predictions_equal_the_models(service, forest, frame) -> None:
    expected = forest.predict(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. sklearn's "X does not have valid feature names"
        singles = [service.predict(row) for row in frame.head(30).to_dict("records")]
        by_position = [service.predict(list(row)) for row in frame.head(30).to_numpy()]
        from_array = [service.predict(row) for row in frame.head(30).to_numpy()]
        batch_frame = service.predict_batch(frame)
        batch_shuffled = service.predict_batch(frame[FEATURES[::-1]])
        batch_array = service.predict_batch(frame.to_numpy())
        batch_records = service.predict_batch(frame.to_dict("records"))
    assert singles == by_position == from_array == expected[:30].tolist()
    assert isinstance(singles[0], int)
    for got in (batch_frame, batch_shuffled, batch_array, batch_records):
        np.testing.assert_array_equal(got, expected)


def test_mapping_order_does_not_matter(service, frame, forest) -> None:
    record = frame.iloc[5].to_dict()
    reordered = {k: record[k] for k in reversed(FEATURES)}
    assert service.predict(reordered) == forest.predict(frame.iloc[[5]])[0]
    assert service.predict(frame.iloc[5]) == service.predict(record)  # a Series works too


def test_model_without_feature_names(frame) -> None:
    y = frame.to_numpy() @ np.array([1.0, 2.0, 0.0, -1.0])
    model = LinearRegression().fit(frame.to_numpy(), y)
    svc = ModelService(model, FEATURES)
    assert svc.predict(frame.iloc[0].to_dict()) == pytest.approx(model.predict(frame.to_numpy()[:1])[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(svc.predict_batch(frame), model.predict(frame.to_numpy()))


def test_from_registry(tmp_path, forest, frame) -> None:
    save_model(forest, "rf", registry=tmp_path, alias="production")
    svc = ModelService.from_registry("rf", registry=tmp_path)
    assert svc.version == "rf:v1"
    assert svc.feature_names == FEATURES
    assert svc.metadata["sha256"]
    np.testing.assert_array_equal(svc.predict_batch(frame), forest.predict(frame))


def test_from_registry_uses_mlcourse_home(forest) -> None:
    save_model(forest, "rf")
    save_model(forest, "rf", alias="candidate")
    assert ModelService.from_registry("rf", "candidate").version == "rf:v2"
    assert ModelService.from_registry("rf", None).version == "rf:v2"


GOOD = {"f0": 0.1, "f1": -0.2, "f2": 0.3, "f3": 1.0}


@pytest.mark.parametrize(
    ("record", "field", "message"),
    [
        ({k: v for k, v in GOOD.items() if k != "f2"}, "f2", "missing"),
        ({**GOOD, "f9": 1.0}, "f9", "unknown"),
        ({**GOOD, "f1": "0.5"}, "f1", "must be a number, got str"),
        ({**GOOD, "f3": None}, "f3", "got null"),
        ({**GOOD, "f0": True}, "f0", "got bool"),
        ({**GOOD, "f2": math.nan}, "f2", "NaN"),
        ({**GOOD, "f1": math.inf}, "f1", "infinite"),
        ({**GOOD, "f3": -np.inf}, "f3", "infinite"),
        ([0.1, 0.2, "x", 0.4], "f2", "got str"),
        ([0.1, 0.2, 0.3, float("nan")], "f3", "NaN"),
    ],
)
def test_bad_record_names_the_field(service, record, field, message) -> None:
    with pytest.raises(InvalidInput, match=message) as info:
        service.predict(record)
    assert field in str(info.value)
    assert field in info.value.fields
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("record", [[0.1, 0.2, 0.3], [0.1] * 5, np.zeros(3)])
def test_wrong_count(service, record) -> None:
    with pytest.raises(InvalidInput, match=r"expected 4 values .*got \d"):
        service.predict(record)


@pytest.mark.parametrize("record", ["f0=1", 3.0, np.zeros((2, 4))])
def test_wrong_shape_of_record(service, record) -> None:
    with pytest.raises(InvalidInput):
        service.predict(record)


def test_batch_errors_name_the_field(service, frame) -> None:
    with pytest.raises(InvalidInput, match="missing feature.*f1") as info:
        service.predict_batch(frame.drop(columns="f1"))
    assert info.value.fields == ["f1"]

    with pytest.raises(InvalidInput, match="unknown feature.*extra"):
        service.predict_batch(frame.assign(extra=1.0))

    text = frame.astype({"f3": str})
    with pytest.raises(InvalidInput, match="non-numeric.*f3") as info:
        service.predict_batch(text)
    assert info.value.fields == ["f3"]

    holes = frame.copy()
    holes.loc[7, "f2"] = np.nan
    with pytest.raises(InvalidInput, match=r"f2.*row 7.*NaN") as info:
        service.predict_batch(holes)
    assert info.value.fields == ["f2"]

    inf = frame.to_numpy().copy()
    inf[3, 0] = np.inf
    with pytest.raises(InvalidInput, match=r"f0.*row 3.*infinite"):
        service.predict_batch(inf)

    with pytest.raises(InvalidInput, match="expected 4 columns, got 3"):
        service.predict_batch(frame.to_numpy()[:, :3])

    records = frame.head(3).to_dict("records")
    records[1]["f0"] = "oops"
    with pytest.raises(InvalidInput, match=r"row 1: feature 'f0'"):
        service.predict_batch(records)


@pytest.mark.parametrize("empty", [[], np.empty((0, 4)), pd.DataFrame(columns=FEATURES)])
def test_empty_batch(service, empty) -> None:
    with pytest.raises(InvalidInput, match="empty batch"):
        service.predict_batch(empty)


def test_constructor_checks_the_schema(forest) -> None:
    with pytest.raises(ValueError, match="do not match"):
        ModelService(forest, ["f0", "f1", "f2", "zz"])
    with pytest.raises(ValueError, match="duplicates"):
        ModelService(forest, ["f0", "f0", "f1", "f2"])
    with pytest.raises(TypeError, match="predict"):
        ModelService(object(), FEATURES)


# --------------------------------------------------------------------------- text features, ONNX, probabilities


@pytest.fixture(scope="module")
def fraud(tmp_path_factory):
    from mlcourse.deploy.default_model import train_default_model

    root = tmp_path_factory.mktemp("registry")
    train_default_model(registry=root, n_rows=3_000, n_estimators=10, max_depth=5)
    return root


def test_registered_fraud_model_serves_through_onnx(fraud) -> None:
    from mlcourse.train.fraud_model import FEATURES, example_frame

    fast = ModelService.from_registry("fraud-detector", registry=fraud)
    slow = ModelService.from_registry("fraud-detector", registry=fraud, onnx=False)
    assert (fast.backend, slow.backend) == ("onnx", "sklearn")
    assert fast.feature_names == FEATURES and fast.feature_dtypes["country"] == "str"
    assert "US" in fast.categories["country"]
    rows = example_frame(300)
    np.testing.assert_array_equal(fast.predict_batch(rows), slow.predict_batch(rows))
    np.testing.assert_allclose(fast.predict_proba_batch(rows), slow.predict_proba_batch(rows), atol=1e-5)
    assert fast.describe()["onnx_sha256"] and fast.schema()[0] == {"name": "amount", "dtype": "float64", "categories": None}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"country": "XX"}, "country", "must be one of"),
        ({"country": 3}, "country", "must be a string, got int"),
        ({"channel": None}, "channel", "got null"),
        ({"amount": "12"}, "amount", "must be a number"),
        ({"amount": 1e39}, "amount", "out of range"),
        ({"amount": 10**400}, "amount", "infinite"),
    ],
)
def test_text_and_number_checks_name_the_field(fraud, change, field, message) -> None:
    from mlcourse.train.fraud_model import example_records

    service = ModelService.from_registry("fraud-detector", registry=fraud)
    with pytest.raises(InvalidInput, match=message) as info:
        service.predict({**example_records(1)[0], **change})
    assert info.value.fields == [field]


def test_frame_with_bad_text_column(fraud) -> None:
    from mlcourse.train.fraud_model import example_frame

    service = ModelService.from_registry("fraud-detector", registry=fraud)
    rows = example_frame(20)
    rows.loc[4, "channel"] = "fax"
    with pytest.raises(InvalidInput, match=r"'channel' must be one of .*row 4 is 'fax'"):
        service.predict_batch(rows)
    rows.loc[4, "channel"] = None
    with pytest.raises(InvalidInput, match=r"'channel' must hold strings; row 4 is missing"):
        service.predict_batch(rows)
    big = example_frame(20)
    big.loc[2, "amount"] = 1e300
    with pytest.raises(InvalidInput, match=r"row 2, 'amount' is out of range"):
        service.predict_batch(big)


def test_predict_proba_and_schema_checks(service, forest, frame) -> None:
    np.testing.assert_allclose(service.predict_proba(frame.iloc[0].to_dict()), forest.predict_proba(frame.iloc[[0]])[0])
    np.testing.assert_allclose(service.predict_proba_batch(frame), forest.predict_proba(frame))
    regressor = ModelService(LinearRegression().fit(frame, frame["f0"]), FEATURES)
    with pytest.raises(AttributeError, match="predict_proba"):
        regressor.predict_proba(frame.iloc[0].to_dict())
    with pytest.raises(ValueError, match="not text features"):
        ModelService(forest, FEATURES, categories={"f0": ["a"]})
    with pytest.raises(ValueError, match="unknown feature"):
        ModelService(forest, FEATURES, feature_dtypes={"zz": "str"})


def test_onnx_true_exports_in_memory(service, forest, frame) -> None:
    fast = ModelService(forest, FEATURES, onnx=True, version="rf:onnx")
    assert fast.backend == "onnx" and "onnx" in repr(fast)
    np.testing.assert_array_equal(fast.predict_batch(frame), forest.predict(frame))


# --------------------------------------------------------------------------- the schema recorded at training


IMPOSSIBLE = [
    ({"hour": 3.5}, "hour", "must be a whole number (int64); got 3.5"),
    ({"hour": 99}, "hour", "must be from 0 to 23; got 99"),
    ({"is_foreign": 7}, "is_foreign", "must be from 0 to 1; got 7"),
    ({"amount": -5}, "amount", "must be from 0 to "),
    ({"customer_age": 200}, "customer_age", "must be from "),
]


@pytest.mark.parametrize(("change", "field", "message"), IMPOSSIBLE, ids=[c[1] for c in IMPOSSIBLE])
def test_values_outside_the_training_schema_are_refused(fraud, change, field, message) -> None:
    from mlcourse.train.fraud_model import example_records

    service = ModelService.from_registry("fraud-detector", registry=fraud)
    good = example_records(1)[0]
    with pytest.raises(InvalidInput, match=re.escape(message)) as info:
        service.predict({**good, **change})
    assert info.value.fields == [field]
    low, high = service.ranges[field]
    assert service.predict({**good, field: int(high)}) in (0, 1)  # the edge itself is accepted
    assert service.predict({**good, "hour": 12.0}) in (0, 1)  # a whole float is a whole number


def test_frames_are_checked_against_ranges_and_integer_types(fraud) -> None:
    from mlcourse.train.fraud_model import example_frame

    service = ModelService.from_registry("fraud-detector", registry=fraud)
    rows = example_frame(30).astype({"hour": float})
    rows.loc[7, "hour"] = 2.5
    with pytest.raises(InvalidInput, match=r"'hour' must hold whole numbers \(int64\); row 7 is 2.5"):
        service.predict_batch(rows)
    rows = example_frame(30)
    rows.loc[[3, 9], "customer_age"] = 250
    with pytest.raises(InvalidInput, match=r"'customer_age' must be from \d+ to \d+; row 3 is 250 \(2 row\(s\) outside\)"):
        service.predict_batch(rows)
    described = {f["name"]: f for f in service.describe()["features"]}
    assert described["hour"] == {"name": "hour", "dtype": "int64", "categories": None, "integer": True, "min": 0.0,
                                 "max": 23.0}
    assert described["amount"]["integer"] is False and described["amount"]["min"] == 0.0
    assert described["country"]["min"] is None


def test_ranges_must_name_numeric_features(forest) -> None:
    with pytest.raises(ValueError, match="not a numeric feature"):
        ModelService(forest, FEATURES, ranges={"nope": (0, 1)})
