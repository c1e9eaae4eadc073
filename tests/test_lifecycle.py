"""`mlcourse lifecycle` reproduces the outline's figures and shows the drift its check misses."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mlcourse.deploy.registry import load_model
from mlcourse.lifecycle import SHIFT_DOWN, SHIFT_UP, SPREAD_FEATURE, data_stage, main, train_stage

# sklearn's classification_report exactly as the lesson outline prints it.
OUTLINE_REPORT = """\
              precision    recall  f1-score   support

           0       0.94      0.93      0.94       204
           1       0.93      0.94      0.93       196

    accuracy                           0.94       400
   macro avg       0.93      0.94      0.93       400
weighted avg       0.94      0.94      0.94       400
"""


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLCOURSE_HOME": str(home), "PYTHONWARNINGS": "default"}
    return subprocess.run(
        [sys.executable, "-m", "mlcourse.cli", "lifecycle", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture(scope="module")
def lifecycle_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    base = tmp_path_factory.mktemp("lifecycle")
    out = base / "run"
    return run_cli("--out", str(out), home=base / "home"), out


def test_exits_zero_quietly(lifecycle_run) -> None:
    result, _ = lifecycle_run
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "Warning" not in result.stdout


@pytest.mark.parametrize(
    "figure",
    [
        "Data shape: (2000, 21)",
        "class 0 -> 1002",
        "class 1 -> 998",
        "Accuracy on the test rows: 0.9350",
        "Prediction: 1\n",
        "Training mean: -0.004\n",
        "Production mean: -0.002\n",
        "[-2.56758512 -0.26884104 -0.53058036  0.2715822   0.29151146]",
    ],
)
def test_outline_figures_appear_exactly(lifecycle_run, figure: str) -> None:
    result, _ = lifecycle_run
    assert figure in result.stdout


def test_classification_report_appears_exactly(lifecycle_run) -> None:
    result, _ = lifecycle_run
    assert OUTLINE_REPORT in result.stdout


def test_stages_in_order(lifecycle_run) -> None:
    result, _ = lifecycle_run
    positions = [result.stdout.index(f"STAGE {i}/4") for i in range(1, 5)]
    assert positions == sorted(positions)


def test_artifacts(lifecycle_run) -> None:
    _, out = lifecycle_run
    for name in ("lifecycle.json", "drift_stable.csv", "drift_hidden.csv", "drift_hidden.png"):
        assert (out / name).is_file(), name
    figures = json.loads((out / "lifecycle.json").read_text())
    assert figures["shape"] == [2000, 21]
    assert figures["class_counts"] == {"0": 1002, "1": 998}
    assert figures["accuracy_text"] == "0.9350"
    assert figures["classification_report"] == OUTLINE_REPORT
    assert figures["prediction"] == 1
    assert f"{figures['naive']['train_mean']:.3f}" == "-0.004"
    assert f"{figures['naive']['prod_mean']:.3f}" == "-0.002"

    # The saved model loads (hash checked) with its metadata and is the production one.
    loaded = load_model("outline-forest", "production", registry=out / "registry")
    assert loaded.metadata["metrics"]["accuracy"] == pytest.approx(0.935)
    assert loaded.feature_names == [f"feat_{i}" for i in range(20)]
    assert loaded.metadata["data_fingerprint"] == figures["data_fingerprint"]


def test_hidden_drift_naive_stable_per_feature_flags(lifecycle_run) -> None:
    result, out = lifecycle_run
    figures = json.loads((out / "lifecycle.json").read_text())
    hidden = figures["hidden_drift"]
    changed = [*SHIFT_UP, *SHIFT_DOWN, SPREAD_FEATURE]
    assert hidden["naive"]["alert"] is False
    assert abs(hidden["naive"]["train_mean"] - hidden["naive"]["prod_mean"]) < 0.1
    assert sorted(hidden["per_feature"]["caught"]) == sorted(changed)

    table = pd.read_csv(out / "drift_hidden.csv").set_index("feature")
    assert table.loc[changed, "drifted"].all()
    stable = pd.read_csv(out / "drift_stable.csv").set_index("feature")
    assert not stable.loc[changed, "drifted"].any()
    assert f"{len(changed)} of {len(changed)} changed features caught; the naive check saw nothing" in result.stdout


def test_out_is_a_file(tmp_path: Path) -> None:
    taken = tmp_path / "taken.txt"
    taken.write_text("not a folder")
    result = run_cli("--out", str(taken), home=tmp_path / "home")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines == [f"mlcourse lifecycle: error: --out {taken} is a file; choose a folder"]
    assert "Traceback" not in result.stderr
    assert taken.read_text() == "not a folder"


def test_out_cannot_be_created(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(blocker / "below") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert captured.err.startswith("mlcourse lifecycle: error: --out ")
    assert "choose a folder" in captured.err


def test_each_stage_runs_alone_and_prints_its_part_of_the_report(lifecycle_run) -> None:
    # run() is one function per stage: called by hand, the first two print
    # exactly their sections of the CLI's report and hand on what comes next.
    result, _ = lifecycle_run
    lines: list[str] = []

    def say(line: str = "") -> None:
        lines.append(line)

    split, data_figures = data_stage(say)
    assert lines[:2] == ["", "STAGE 1/4  DATA"]
    assert data_figures["n_train"] == len(split.X_train) == 1600
    data_section = "\n".join(lines)
    lines.clear()
    _, train_figures = train_stage(split, say)
    assert lines[:2] == ["", "STAGE 2/4  TRAIN"]
    assert train_figures["accuracy_text"] == "0.9350"
    assert data_section + "\n" + "\n".join(lines) + "\nSTAGE 3/4  DEPLOY" in result.stdout
