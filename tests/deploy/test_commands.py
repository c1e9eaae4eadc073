"""`mlcourse registry`: list, show, promote, rollback, alias set, train; errors name the registry and what it holds."""
from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import pytest

import mlcourse.deploy.default_model as default_model
from mlcourse.cli import build_parser, main
from mlcourse.deploy.default_model import train_default_model
from mlcourse.deploy.registry import get_aliases


@pytest.fixture(scope="module")
def base_registry(tmp_path_factory):
    root = tmp_path_factory.mktemp("registry")
    train_default_model(registry=root, n_rows=2_000, n_estimators=5, max_depth=4)
    train_default_model(registry=root, n_rows=2_000, seed=1, n_estimators=5, max_depth=4, alias="candidate")
    return root


@pytest.fixture()
def registry(base_registry, tmp_path):
    return Path(shutil.copytree(base_registry, tmp_path / "registry"))


@pytest.fixture()
def small(monkeypatch):
    """`registry train` and the default model at a test's size."""
    original = default_model.train_default_model
    monkeypatch.setattr(default_model, "train_default_model",
                        lambda *a, **k: original(*a, **{**k, "n_rows": 2_000, "n_estimators": 5, "max_depth": 4}))


def _run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(["registry", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_and_show(registry, capsys) -> None:
    code, out, _ = _run(["list", "--registry", str(registry)], capsys)
    assert code == 0 and f"Registry {registry}" in out
    lines = [line for line in out.splitlines() if line.startswith("fraud-detector")]
    assert len(lines) == 2 and "production" in lines[0] and "candidate" in lines[1] and "roc_auc" in lines[0]
    code, out, _ = _run(["show", "fraud-detector", "--registry", str(registry)], capsys)
    assert code == 0 and out.startswith("fraud-detector:v1  (production)")
    assert "files match their recorded sha256" in out and "widened by 0.5 of their width" in out
    assert "    hour                 int64    0 to 23" in out
    assert "    channel              str      chip, contactless, online, swipe" in out
    code, out, _ = _run(["show", "fraud-detector", "candidate", "--registry", str(registry)], capsys)
    assert out.startswith("fraud-detector:v2  (candidate)")
    with open(registry / "fraud-detector" / "v2" / "model.joblib", "ab") as fh:
        fh.write(b"!")
    code, out, _ = _run(["show", "fraud-detector", "2", "--registry", str(registry)], capsys)
    assert code == 0 and "integrity     FAILS: fraud-detector v2: model.joblib does not match" in out


def test_promote_rollback_and_alias_set(registry, capsys) -> None:
    code, out, _ = _run(["promote", "fraud-detector", "candidate", "--registry", str(registry), "--note", "better"],
                        capsys)
    assert code == 0 and "fraud-detector: production -> v2 (was v1)" in out
    code, out, _ = _run(["rollback", "fraud-detector", "--registry", str(registry)], capsys)
    assert code == 0 and "fraud-detector: production -> v1 (rolled back from v2)" in out
    code, out, _ = _run(["alias", "set", "fraud-detector", "v1", "staging", "--registry", str(registry)], capsys)
    assert code == 0 and "fraud-detector: staging -> v1 (new)" in out
    assert get_aliases("fraud-detector", registry=registry) == {"production": 1, "candidate": 2, "staging": 1}
    history = (registry / "fraud-detector" / "history.jsonl").read_text().splitlines()
    assert json.loads(history[-3])["note"] == "better"


def test_promote_refuses_a_tampered_version(registry, capsys) -> None:
    with open(registry / "fraud-detector" / "v2" / "model.onnx", "ab") as fh:
        fh.write(b"!")
    code, _, err = _run(["promote", "fraud-detector", "2", "--registry", str(registry)], capsys)
    assert code == 2 and err.count("\n") == 1 and "model.onnx does not match its recorded sha256" in err
    assert get_aliases("fraud-detector", registry=registry)["production"] == 1


@pytest.mark.parametrize(("args", "message"), [
    (["show", "nope"], "no model named 'nope' in registry {root} (models: fraud-detector)"),
    (["promote", "nope", "1"], "no model named 'nope' in registry {root} (models: fraud-detector)"),
    (["rollback", "nope"], "no model named 'nope' in registry {root} (models: fraud-detector)"),
    (["show", "fraud-detector", "v9"], "model 'fraud-detector' has no version 9 in registry {root}; versions: v1, v2"),
    (["promote", "fraud-detector", "staging"],
     "model 'fraud-detector' has no alias 'staging' in registry {root}; aliases: candidate -> v2, production -> v1"),
    (["alias", "set", "fraud-detector", "7", "x"], "model 'fraud-detector' has no version 7 in registry {root}"),
])
def test_missing_names_name_the_registry_and_what_exists(registry, capsys, args, message) -> None:
    code, _, err = _run([*args, "--registry", str(registry)], capsys)
    assert code == 2 and err.count("\n") == 1
    assert message.format(root=registry) in err


def test_a_corrupt_aliases_file_is_set_aside_and_said(registry, capsys) -> None:
    (registry / "fraud-detector" / "aliases.json").write_text("{")
    code, out, _ = _run(["show", "fraud-detector", "--registry", str(registry)], capsys)
    assert code == 0 and "could not be read: the file was set aside as" in out
    assert "rebuilt from the alias history: candidate -> v2, production -> v1" in out


def test_train_registers_a_candidate_and_first_a_production_on_an_empty_registry(tmp_path, small, capsys) -> None:
    code, out, _ = _run(["train", "--registry", str(tmp_path), "--seed", "3", "--max-depth", "6"], capsys)
    assert code == 0
    assert "has no production fraud-detector yet: training the course's default model first" in out
    assert "Registered fraud-detector:v1 as 'production'." in out
    assert "Registered fraud-detector:v2 as 'candidate'" in out
    assert "Try it on a share of users: mlcourse serve --candidate candidate --canary 0.1" in out
    assert get_aliases("fraud-detector", registry=tmp_path) == {"production": 1, "candidate": 2}
    code, out, _ = _run(["train", "--registry", str(tmp_path), "--alias", "challenger"], capsys)
    assert "training the course's default model first" not in out and "as 'challenger'" in out
    code, _, err = _run(["train", "--registry", str(tmp_path), "--rows", "0"], capsys)
    assert code == 2 and "--rows must be at least 1" in err


def test_registry_without_a_subcommand_says_what_to_do(capsys) -> None:
    code, _, err = _run([], capsys)
    assert code == 2 and "choose a subcommand: list, show, promote, rollback, alias set, train" in err


def test_every_registry_subcommand_help_says_what_it_does_with_an_example(capsys) -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    registry = sub.choices["registry"]
    commands = next(a for a in registry._actions if a.dest == "registry_command")
    assert set(commands.choices) == {"list", "show", "promote", "rollback", "alias", "train"}
    for name in commands.choices:
        with pytest.raises(SystemExit):
            main(["registry", name, "--help"])
        text = capsys.readouterr().out
        description = text.partition("\n\n")[2].split("\n\n", 1)[0]
        assert len(description.split()) >= 10, f"registry {name} --help: {description!r}"
        assert f"  mlcourse registry {name}" in text, f"registry {name} --help has no example"


def test_train_uses_the_given_settings(tmp_path, monkeypatch, capsys) -> None:
    calls = []
    original = default_model.train_default_model

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **{**kwargs, "n_rows": 2_000, "n_estimators": 3, "max_depth": 3})

    monkeypatch.setattr(default_model, "train_default_model", spy)
    functools.partial(main)(["registry", "train", "--registry", str(tmp_path), "--alias", "production", "--seed", "5",
                             "--rows", "3000", "--n-estimators", "7", "--max-depth", "4"])
    assert calls == [{"registry": tmp_path, "n_rows": 3000, "seed": 5, "n_estimators": 7, "max_depth": 4,
                      "alias": "production"}]


def test_list_sets_a_corrupt_aliases_file_aside_and_says_so(registry, capsys) -> None:
    (registry / "fraud-detector" / "aliases.json").write_text("{")
    code, out, _ = _run(["list", "--registry", str(registry)], capsys)
    assert code == 0 and "The aliases of 'fraud-detector' could not be read: the file was set aside as" in out
    assert "candidate -> v2, production -> v1" in out
