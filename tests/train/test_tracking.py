"""The local MLflow store the lessons track and register models in."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from mlcourse.train import tracking

mlflow = pytest.importorskip("mlflow")


def test_each_store_is_its_own_database(tmp_path):
    a, b = tracking.local_store(tmp_path / "a"), tracking.local_store(tmp_path / "b")
    a.client().create_experiment("only-in-a")
    assert a.client().get_experiment_by_name("only-in-a") is not None
    assert b.client().get_experiment_by_name("only-in-a") is None
    assert (tmp_path / "a" / tracking.DB_NAME).is_file() and a.uri.endswith("/a/mlflow.db")


def test_a_folder_holding_a_store_is_reused_as_it_is(tmp_path):
    first = tracking.local_store(tmp_path)
    first.client().create_experiment("kept")
    again = tracking.local_store(tmp_path)
    assert again.client().get_experiment_by_name("kept") is not None


def test_artifacts_stay_inside_the_store_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MLflow's own default would be ./mlruns here
    store = tracking.local_store(tmp_path / "store")
    default = store.client().get_experiment("0").artifact_location
    named = store.client().get_experiment(store.experiment("named")).artifact_location
    for location in (default, named):
        assert location.startswith((tmp_path / "store" / "artifacts").as_uri()), location
    assert not (tmp_path / "mlruns").exists()


def test_activate_puts_the_previous_tracking_uri_and_experiment_back(tmp_path):
    outer, inner = tracking.local_store(tmp_path / "outer"), tracking.local_store(tmp_path / "inner")
    with outer.activate("lesson"):
        with inner.activate("probe"):
            with mlflow.start_run() as run:
                mlflow.log_metric("m", 1.0)
            assert mlflow.get_tracking_uri() == inner.uri
        assert mlflow.get_tracking_uri() == outer.uri and mlflow.get_registry_uri() == outer.uri
        with mlflow.start_run() as later:
            pass
        assert later.info.experiment_id == outer.experiment("lesson")
    assert inner.client().get_run(run.info.run_id).data.metrics == {"m": 1.0}
    assert outer.client().search_runs([outer.experiment("lesson")])[0].info.run_id == later.info.run_id


def test_log_model_records_the_flavor_requirements_without_a_second_python(tmp_path):
    from sklearn.linear_model import LogisticRegression

    store = tracking.local_store(tmp_path)
    model = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    with store.activate("models"), mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="model")
        loaded = mlflow.sklearn.load_model(info.model_uri)
        requirements = mlflow.pyfunc.get_model_dependencies(info.model_uri)
    assert loaded.predict([[2.5]]).tolist() == [1]
    with open(requirements) as f:
        names = {line.split("==")[0] for line in f.read().split()}
    assert {"scikit-learn", "skops"} <= names and mlflow.models.infer_pip_requirements is tracking.default_requirements


def test_importing_mlcourse_switches_mlflow_telemetry_off_before_mlflow_loads():
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK", "CI")}
    env = {k: v for k, v in env.items() if not k.startswith("PYTEST")}
    code = ("import mlcourse, os, json, mlflow\nfrom mlflow.telemetry import get_telemetry_client\n"
            "print(json.dumps([os.environ.get('MLFLOW_DISABLE_TELEMETRY'), get_telemetry_client() is None]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["true", True]


def test_closing_a_store_lets_go_of_its_files():
    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    stores = [tracking.local_store() for _ in range(3)]
    for store in stores:  # warm: MLflow's own modules and caches
        store.client().search_experiments()
        store.close()
    before = open_files()
    for _ in range(15):
        store = tracking.local_store()
        with store.activate("check"):
            store.client().search_runs([store.experiment("check")])
        store.close()
        assert not store.folder.exists()  # a throwaway store's folder goes with it
    assert open_files() <= before + 2  # one engine per store left open would be 15 or more
