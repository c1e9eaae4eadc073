"""mlcourse.deploy.registry: versions with metadata, hash-checked loading, aliases, atomic saves."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression

from mlcourse.deploy import registry as reg
from mlcourse.deploy.registry import (
    LoadedModel,
    ModelIntegrityError,
    ModelNotFoundError,
    aliases_path,
    get_alias,
    get_aliases,
    list_models,
    load_model,
    model_names,
    promote,
    registry_root,
    resolve_version,
    save_model,
    set_alias,
    version_number,
)

FEATURES = ["a", "b", "c"]


@pytest.fixture()
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=FEATURES)
    y = (X["a"] + 0.5 * X["b"] > 0).astype(int).to_numpy()
    return X, y


@pytest.fixture()
def model(data):
    X, y = data
    return LogisticRegression().fit(X, y)


def test_round_trip_keeps_model_and_metadata(tmp_path: Path, model, data) -> None:
    X, _ = data
    saved = save_model(
        model,
        "clf",
        registry=tmp_path,
        metrics={"accuracy": np.float64(0.9)},
        feature_dtypes={c: "float64" for c in FEATURES},
        data_fingerprint="abc123",
        extra={"note": "first"},
    )
    assert saved.version == 1
    assert saved.path == tmp_path / "clf" / "v1"
    assert sorted(p.name for p in saved.path.iterdir()) == ["metadata.json", "model.joblib"]

    loaded = load_model("clf", registry=tmp_path)
    assert isinstance(loaded, LoadedModel)
    np.testing.assert_array_equal(loaded.model.predict(X), model.predict(X))

    meta = json.loads((saved.path / "metadata.json").read_text())
    assert meta == loaded.metadata
    assert meta["name"] == "clf" and meta["version"] == 1
    created = datetime.fromisoformat(meta["created_at"])
    assert created.utcoffset() == timezone.utc.utcoffset(None)
    assert meta["metrics"] == {"accuracy": 0.9}
    # Feature names default to what the estimator was fitted with.
    assert meta["feature_names"] == FEATURES
    assert meta["feature_dtypes"] == {c: "float64" for c in FEATURES}
    assert meta["data_fingerprint"] == "abc123"
    assert meta["extra"] == {"note": "first"}
    assert meta["versions"]["sklearn"] == sklearn.__version__
    assert meta["versions"]["numpy"] == np.__version__
    assert {"python", "mlcourse"} <= set(meta["versions"])
    expected_sha = hashlib.sha256((saved.path / "model.joblib").read_bytes()).hexdigest()
    assert meta["sha256"] == expected_sha == saved.sha256

    model2, meta2 = load_model("clf", 1, registry=tmp_path)  # unpacks as a pair
    assert meta2["version"] == 1 and type(model2) is LogisticRegression


def test_default_registry_follows_mlcourse_home(isolated_home: Path, model) -> None:
    saved = save_model(model, "clf")
    assert saved.path == isolated_home / "registry" / "clf" / "v1"
    assert load_model("clf").version == 1


def test_versions_increment_and_resolve(tmp_path: Path, model) -> None:
    for _ in range(3):
        save_model(model, "clf", registry=tmp_path)
    assert load_model("clf", registry=tmp_path).version == 3
    assert load_model("clf", 2, registry=tmp_path).version == 2
    assert load_model("clf", "v1", registry=tmp_path).version == 1
    with pytest.raises(ModelNotFoundError, match="no version 7"):
        load_model("clf", 7, registry=tmp_path)
    with pytest.raises(ModelNotFoundError, match="no model named 'other'"):
        load_model("other", registry=tmp_path)


def test_tampered_file_is_refused_before_unpickling(tmp_path: Path, model, monkeypatch) -> None:
    saved = save_model(model, "clf", registry=tmp_path)
    with open(saved.path / "model.joblib", "ab") as fh:
        fh.write(b"tampered")

    def must_not_load(*args, **kwargs):
        raise AssertionError("joblib.load ran on a file whose hash did not match")

    monkeypatch.setattr(joblib, "load", must_not_load)
    with pytest.raises(ModelIntegrityError, match="sha256"):
        load_model("clf", registry=tmp_path)


def test_swapped_model_file_is_refused(tmp_path: Path, model, data) -> None:
    X, y = data
    first = save_model(model, "clf", registry=tmp_path)
    other = LogisticRegression(C=0.01).fit(X, y)
    joblib.dump(other, first.path / "model.joblib")
    with pytest.raises(ModelIntegrityError):
        load_model("clf", registry=tmp_path)


def test_missing_model_file_is_an_integrity_error(tmp_path: Path, model) -> None:
    saved = save_model(model, "clf", registry=tmp_path)
    (saved.path / "model.joblib").unlink()
    with pytest.raises(ModelIntegrityError, match="missing"):
        load_model("clf", registry=tmp_path)


def test_sklearn_version_mismatch_warns(tmp_path: Path, model) -> None:
    saved = save_model(model, "clf", registry=tmp_path)
    meta_path = saved.path / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["versions"]["sklearn"] = "0.0.1"
    meta_path.write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match=r"scikit-learn 0\.0\.1"):
        loaded = load_model("clf", registry=tmp_path)
    assert loaded.version == 1


def test_matching_versions_do_not_warn(tmp_path: Path, model, recwarn) -> None:
    save_model(model, "clf", registry=tmp_path)
    load_model("clf", registry=tmp_path)
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def test_aliases_promote_and_roll_back(tmp_path: Path, model) -> None:
    save_model(model, "clf", registry=tmp_path)
    save_model(model, "clf", registry=tmp_path, alias="candidate")
    assert get_alias("clf", "candidate", registry=tmp_path) == 2

    assert set_alias("clf", "production", 1, registry=tmp_path) is None
    assert load_model("clf", "production", registry=tmp_path).version == 1
    previous = set_alias("clf", "production", 2, registry=tmp_path)
    assert previous == 1
    assert load_model("clf", "production", registry=tmp_path).version == 2
    set_alias("clf", "production", previous, registry=tmp_path)  # rollback
    assert get_alias("clf", "production", registry=tmp_path) == 1

    stored = json.loads((tmp_path / "clf" / "aliases.json").read_text())
    assert stored == {"candidate": 2, "production": 1}
    table = list_models(tmp_path).set_index("version")
    assert table.loc[1, "aliases"] == "production"
    assert table.loc[2, "aliases"] == "candidate"


def test_alias_errors(tmp_path: Path, model) -> None:
    save_model(model, "clf", registry=tmp_path)
    with pytest.raises(ModelNotFoundError, match="no alias 'production'"):
        get_alias("clf", "production", registry=tmp_path)
    with pytest.raises(ModelNotFoundError, match="no alias 'production'"):
        load_model("clf", "production", registry=tmp_path)
    with pytest.raises(ModelNotFoundError, match="no version 5"):
        set_alias("clf", "production", 5, registry=tmp_path)
    with pytest.raises(ValueError, match="looks like a version"):
        set_alias("clf", "v2", 1, registry=tmp_path)


def test_crash_mid_save_leaves_nothing_behind(tmp_path: Path, model, monkeypatch) -> None:
    save_model(model, "clf", registry=tmp_path)
    set_alias("clf", "production", 1, registry=tmp_path)
    aliases_before = (tmp_path / "clf" / "aliases.json").read_text()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(joblib, "dump", crash)
    with pytest.raises(OSError, match="disk full"):
        save_model(model, "clf", registry=tmp_path, alias="candidate")
    with pytest.raises(OSError, match="disk full"):
        save_model(model, "fresh", registry=tmp_path, alias="production")

    left = sorted(p.name for p in (tmp_path / "clf").iterdir() if p.name != ".lock")
    assert left == ["aliases.json", "history.jsonl", "v1"]
    assert (tmp_path / "clf" / "aliases.json").read_text() == aliases_before
    assert list((tmp_path / "fresh").iterdir()) == []  # no version, no temp folder, no alias
    assert list_models(tmp_path)["name"].tolist() == ["clf"]

    monkeypatch.undo()
    assert save_model(model, "clf", registry=tmp_path).version == 2


def test_list_models(tmp_path: Path, model) -> None:
    assert list_models(tmp_path).empty
    save_model(model, "b-model", registry=tmp_path, metrics={"f1": 0.5})
    save_model(model, "a-model", registry=tmp_path)
    save_model(model, "a-model", registry=tmp_path)
    table = list_models(tmp_path)
    assert list(table.columns) == ["name", "version", "created_at", "aliases", "metrics", "sha256"]
    assert list(zip(table["name"], table["version"])) == [("a-model", 1), ("a-model", 2), ("b-model", 1)]
    assert table.iloc[2]["metrics"] == {"f1": 0.5}


@pytest.mark.parametrize("bad", ["../escape", "", ".hidden", "a/b", "x" * 200])
def test_unsafe_names_are_rejected(tmp_path: Path, model, bad: str) -> None:
    with pytest.raises(ValueError, match="invalid model name"):
        save_model(model, bad, registry=tmp_path)
    assert not any(tmp_path.parent.glob("escape"))


def test_feature_dtypes_as_sequence_needs_names(tmp_path: Path, model) -> None:
    saved = save_model(model, "clf", registry=tmp_path, feature_names=FEATURES,
                       feature_dtypes=["float64", "float64", "int64"])
    assert saved.metadata["feature_dtypes"]["c"] == "int64"
    with pytest.raises(ValueError, match="one dtype per feature"):
        save_model(model, "clf", registry=tmp_path, feature_names=FEATURES, feature_dtypes=["float64"])


def test_module_documents_the_pickle_risk() -> None:
    doc = (reg.__doc__ or "") + (load_model.__doc__ or "")
    assert "execute" in doc and "skops" in doc


# --------------------------------------------------------------------------- promotion, history, ONNX


def test_promote_rollback_and_history(tmp_path: Path, model) -> None:
    for _ in range(3):
        save_model(model, "clf", registry=tmp_path)
    assert reg.promote("clf", 1, registry=tmp_path) is None
    assert reg.promote("clf", "v2", registry=tmp_path, note="better recall") == 1
    assert reg.promote("clf", 3, registry=tmp_path) == 2
    assert get_alias("clf", "production", registry=tmp_path) == 3
    # Rollbacks stack: 3 -> 2 -> 1, then there is nothing before v1.
    assert reg.rollback("clf", registry=tmp_path) == 2
    assert reg.rollback("clf", registry=tmp_path) == 1
    with pytest.raises(ModelNotFoundError, match="no earlier version"):
        reg.rollback("clf", registry=tmp_path)
    assert get_alias("clf", "production", registry=tmp_path) == 1
    history = reg.alias_history("clf", registry=tmp_path)
    assert history["action"].tolist() == ["promote", "promote", "promote", "rollback", "rollback"]
    assert history["to"].tolist() == [1, 2, 3, 2, 1]
    assert history["note"].tolist()[1] == "better recall"
    assert reg.get_aliases("clf", registry=tmp_path) == {"production": 1}


def test_rollback_of_a_candidate_alias_and_unknown_model(tmp_path: Path, model) -> None:
    save_model(model, "clf", registry=tmp_path, alias="candidate")
    save_model(model, "clf", registry=tmp_path, alias="candidate")
    assert reg.rollback("clf", "candidate", registry=tmp_path) == 1
    with pytest.raises(ModelNotFoundError, match="no model named 'nope'"):
        reg.rollback("nope", registry=tmp_path)


def test_promote_refuses_a_tampered_version(tmp_path: Path, model) -> None:
    save_model(model, "clf", registry=tmp_path, alias="production")
    bad = save_model(model, "clf", registry=tmp_path)
    (bad.path / "model.joblib").write_bytes(b"evil")
    with pytest.raises(ModelIntegrityError, match="v2: model.joblib does not match"):
        reg.promote("clf", 2, registry=tmp_path)
    assert get_alias("clf", "production", registry=tmp_path) == 1
    with pytest.raises(ModelIntegrityError):
        reg.verify_model("clf", 2, registry=tmp_path)
    assert reg.verify_model("clf", 1, registry=tmp_path).version == 1


def test_get_version_reads_metadata_only(tmp_path: Path, model, monkeypatch) -> None:
    save_model(model, "clf", registry=tmp_path, metrics={"f1": 0.7}, alias="production")
    monkeypatch.setattr(joblib, "load", lambda *a, **k: pytest.fail("get_version must not unpickle"))
    mv = reg.get_version("clf", "production", registry=tmp_path)
    assert (mv.label, mv.metadata["metrics"], mv.feature_names, mv.has_onnx) == ("clf:v1", {"f1": 0.7}, FEATURES, False)


def test_data_gives_dtypes_categories_and_fingerprint(tmp_path: Path) -> None:
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from mlcourse.data.validation import fingerprint

    X = pd.DataFrame({"amount": [1.0, 50.0, 3.0, 70.0], "hour": [1, 2, 3, 4],
                      "channel": pd.array(["chip", "online", "chip", "online"], dtype="str")})
    pipe = make_pipeline(make_column_transformer((OneHotEncoder(), ["channel"]), remainder="passthrough"),
                         LogisticRegression()).fit(X, [0, 1, 0, 1])
    meta = save_model(pipe, "pipe", registry=tmp_path, data=X).metadata
    assert meta["feature_names"] == ["amount", "hour", "channel"]
    assert meta["feature_dtypes"] == {"amount": "float64", "hour": "int64", "channel": "str"}
    assert meta["feature_categories"] == {"channel": ["chip", "online"]}
    assert meta["data_fingerprint"] == fingerprint(X)
    with pytest.raises(ValueError, match="no column"):
        save_model(pipe, "pipe", registry=tmp_path, data=X.drop(columns="hour"))


def test_onnx_export_is_stored_hashed_and_checked(tmp_path: Path, model, data) -> None:
    X, _ = data
    saved = save_model(model, "clf", registry=tmp_path, onnx=True)
    assert sorted(p.name for p in saved.path.iterdir()) == ["metadata.json", "model.joblib", "model.onnx"]
    assert saved.metadata["onnx"]["sha256"] == hashlib.sha256((saved.path / "model.onnx").read_bytes()).hexdigest()
    assert {"skl2onnx", "onnxruntime"} <= set(saved.metadata["versions"])
    fast = reg.load_onnx("clf", registry=tmp_path)
    np.testing.assert_array_equal(fast.predict(X), model.predict(X))
    (saved.path / "model.onnx").write_bytes(b"not onnx")
    with pytest.raises(ModelIntegrityError, match="model.onnx does not match"):
        reg.load_onnx("clf", registry=tmp_path)
    plain = save_model(model, "clf", registry=tmp_path)
    with pytest.raises(ModelNotFoundError, match="no ONNX export"):
        reg.load_onnx("clf", plain.version, registry=tmp_path)


def test_numpy_and_joblib_mismatches_warn_too(tmp_path: Path, model) -> None:
    saved = save_model(model, "clf", registry=tmp_path)
    meta_path = saved.path / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["versions"].update(numpy="1.0.0", joblib="0.1")
    meta_path.write_text(json.dumps(meta))
    with pytest.warns(UserWarning) as caught:
        load_model("clf", registry=tmp_path)
    messages = " ".join(str(w.message) for w in caught)
    assert "numpy 1.0.0" in messages and "joblib 0.1" in messages


# --------------------------------------------------------------------------- the query API


def test_registry_root_defaults_to_the_home_folder(isolated_home: Path, tmp_path: Path) -> None:
    assert registry_root() == isolated_home / "registry"
    assert registry_root(tmp_path / "reg") == tmp_path / "reg"
    assert registry_root(str(tmp_path)) == tmp_path


def test_model_names_lists_model_folders_only(tmp_path: Path, model) -> None:
    assert model_names(tmp_path / "missing") == []
    save_model(model, "zeta", registry=tmp_path)
    save_model(model, "alpha", registry=tmp_path)
    (tmp_path / ".lock-dir").mkdir()          # hidden: not a model name
    (tmp_path / "notes.txt").write_text("x")  # a file, not a model folder
    assert model_names(tmp_path) == ["alpha", "zeta"]
    assert sorted(set(list_models(tmp_path)["name"])) == model_names(tmp_path)


def test_resolve_version_follows_numbers_and_aliases(tmp_path: Path, model) -> None:
    save_model(model, "clf", registry=tmp_path, alias="production")
    save_model(model, "clf", registry=tmp_path, alias="candidate")
    save_model(model, "clf", registry=tmp_path)
    assert resolve_version("clf", registry=tmp_path) == 3
    assert [resolve_version("clf", v, registry=tmp_path) for v in (1, "2", "v3")] == [1, 2, 3]
    assert resolve_version("clf", "candidate", registry=tmp_path) == 2
    promote("clf", 3, registry=tmp_path)
    assert resolve_version("clf", "production", registry=tmp_path) == 3
    assert get_aliases("clf", registry=tmp_path) == {"production": 3, "candidate": 2}
    with pytest.raises(ModelNotFoundError, match="no alias 'staging'"):
        resolve_version("clf", "staging", registry=tmp_path)
    with pytest.raises(ModelNotFoundError, match="no version 9"):
        resolve_version("clf", 9, registry=tmp_path)
    with pytest.raises(ValueError, match="invalid model name"):
        resolve_version("../clf", registry=tmp_path)


def test_aliases_path_is_the_file_alias_moves_replace(tmp_path: Path, model) -> None:
    path = aliases_path("clf", tmp_path)
    assert path == tmp_path / "clf" / "aliases.json" and not path.exists()
    save_model(model, "clf", registry=tmp_path, alias="production")
    assert json.loads(path.read_text(encoding="utf-8")) == {"production": 1}
    with pytest.raises(ValueError, match="invalid model name"):
        aliases_path("a/b", tmp_path)


@pytest.mark.parametrize("ref, number", [(3, 3), ("3", 3), ("v12", 12), ("production", None), ("v", None),
                                         ("candidate", None), (True, None)])
def test_version_number_tells_a_version_from_an_alias(ref, number) -> None:
    assert version_number(ref) == number


# --------------------------------------------------------------------------- the recorded feature schema


def test_data_gives_integer_types_ranges_with_the_margin_and_an_example(tmp_path: Path) -> None:
    X = pd.DataFrame({
        "age": [20, 60, 40],
        "amount": [5.0, 105.0, 50.0],
        "delta": [-10.0, 10.0, 0.0],
        "channel": ["chip", "online", "chip"],
    })
    model = LogisticRegression().fit(X[["age", "amount", "delta"]], [0, 1, 0])
    saved = save_model(model, "clf", registry=tmp_path, data=X[["age", "amount", "delta"]])
    meta = saved.metadata
    assert meta["feature_dtypes"] == {"age": "int64", "amount": "float64", "delta": "float64"}
    ranges = meta["feature_ranges"]
    # width 40, margin 0.5 -> 20 on each side, clamped at 0 (never negative in training)
    assert ranges["age"] == {"min": 0, "max": 80, "seen_min": 20, "seen_max": 60}
    assert ranges["amount"] == {"min": 0.0, "max": 155.0, "seen_min": 5.0, "seen_max": 105.0}
    # a feature seen on both sides of zero widens both ways
    assert ranges["delta"]["min"] == -20.0 and ranges["delta"]["max"] == 20.0
    assert meta["range_margin"] == reg.RANGE_MARGIN == 0.5
    assert meta["input_example"] == {"age": 20, "amount": 5.0, "delta": -10.0}
    assert isinstance(meta["input_example"]["age"], int)


def test_integer_ranges_round_inward_and_given_ranges_override(tmp_path: Path) -> None:
    X = pd.DataFrame({"hour": [0, 23, 5], "flag": [0, 1, 1]})
    model = LogisticRegression().fit(X, [0, 1, 0])
    meta = save_model(model, "clf", registry=tmp_path, data=X).metadata
    assert meta["feature_ranges"]["flag"] == {"min": 0, "max": 1, "seen_min": 0, "seen_max": 1}
    assert meta["feature_ranges"]["hour"]["max"] == 34  # 23 + 11.5, rounded down
    meta = save_model(model, "clf", registry=tmp_path, data=X, feature_ranges={"hour": (0, 23)}).metadata
    assert meta["feature_ranges"]["hour"] == {"min": 0, "max": 23, "seen_min": 0, "seen_max": 23}
    meta = save_model(model, "clf", registry=tmp_path, data=X, range_margin=0.0).metadata
    assert meta["feature_ranges"]["hour"]["max"] == 23 and meta["range_margin"] == 0.0
    with pytest.raises(ValueError, match="unknown feature 'minute'"):
        save_model(model, "clf", registry=tmp_path, data=X, feature_ranges={"minute": (0, 59)})
    with pytest.raises(ValueError, match="low <= high"):
        save_model(model, "clf", registry=tmp_path, data=X, feature_ranges={"hour": (23, 0)})


def test_without_data_no_ranges_are_recorded(tmp_path: Path, model) -> None:
    meta = save_model(model, "clf", registry=tmp_path, feature_names=FEATURES).metadata
    assert meta["feature_ranges"] is None and meta["input_example"] is None and meta["range_margin"] is None


# --------------------------------------------------------------------------- damaged files


def test_truncated_metadata_is_an_integrity_error_naming_the_file(tmp_path: Path, model) -> None:
    saved = save_model(model, "clf", registry=tmp_path, feature_names=FEATURES)
    meta_path = saved.path / "metadata.json"
    meta_path.write_text(meta_path.read_text()[:27])
    for call in (lambda: load_model("clf", 1, registry=tmp_path), lambda: reg.verify_model("clf", 1, registry=tmp_path),
                 lambda: reg.get_version("clf", 1, registry=tmp_path)):
        with pytest.raises(reg.CorruptFileError) as info:
            call()
        assert str(meta_path) in str(info.value) and "not valid JSON" in str(info.value)
        assert info.value.path == meta_path
    assert list_models(tmp_path)["version"].tolist() == [1]  # still listed


def test_metadata_of_another_version_is_refused(tmp_path: Path, model) -> None:
    first = save_model(model, "clf", registry=tmp_path, feature_names=FEATURES)
    second = save_model(model, "clf", registry=tmp_path, feature_names=FEATURES)
    (second.path / "metadata.json").write_bytes((first.path / "metadata.json").read_bytes())
    with pytest.raises(reg.CorruptFileError, match="describes clf v1, not clf v2"):
        reg.verify_model("clf", 2, registry=tmp_path)
    (second.path / "metadata.json").write_text('{"name": "clf"}')
    with pytest.raises(reg.CorruptFileError, match="has no sha256"):
        reg.verify_model("clf", 2, registry=tmp_path)


def test_a_corrupt_aliases_file_is_named_then_set_aside_and_rebuilt(tmp_path: Path, model) -> None:
    save_model(model, "clf", registry=tmp_path, alias="production")
    save_model(model, "clf", registry=tmp_path, alias="candidate")
    promote("clf", 2, registry=tmp_path)
    path = aliases_path("clf", tmp_path)
    damaged = path.read_text()[:20]
    path.write_text(damaged)
    with pytest.raises(reg.CorruptFileError, match="aliases.json is not valid JSON"):
        get_aliases("clf", registry=tmp_path)
    moved, rebuilt = reg.recover_aliases("clf", registry=tmp_path)
    assert rebuilt == {"production": 2, "candidate": 2} == get_aliases("clf", registry=tmp_path)
    assert moved.parent == path.parent and moved.name.startswith("aliases.corrupt-") and moved.read_text() == damaged
    assert reg.recover_aliases("clf", registry=tmp_path) is None  # a sound file is left alone
    path.write_text('["production"]')
    moved_again, _ = reg.recover_aliases("clf", registry=tmp_path)
    assert moved_again != moved and moved.exists()  # never overwrites an earlier one


def test_last_good_version_walks_the_alias_history_back(tmp_path: Path, model) -> None:
    for _ in range(3):
        save_model(model, "clf", registry=tmp_path, alias="production")
    save_model(model, "clf", registry=tmp_path, alias="candidate")  # another alias: not a fallback
    good, refused = reg.last_good_version("clf", registry=tmp_path, exclude=[3])
    assert good.version == 2 and refused == []
    with open(tmp_path / "clf" / "v2" / "model.joblib", "ab") as fh:
        fh.write(b"!")
    good, refused = reg.last_good_version("clf", registry=tmp_path, exclude=[3])
    assert good.version == 1 and len(refused) == 1 and "clf v2: model.joblib does not match" in refused[0]
    (tmp_path / "clf" / "v1" / "model.joblib").unlink()
    good, refused = reg.last_good_version("clf", registry=tmp_path, exclude=[3])
    assert good is None and len(refused) == 2
