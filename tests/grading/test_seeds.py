"""The grader secret and the seeds derived from it (issue 11, class 9)."""
from __future__ import annotations

import stat

import pytest

from mlcourse.grading import gradescope, seeds


def test_the_secret_is_made_once_private_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv(seeds.ENV, raising=False)
    first = seeds.grader_secret(tmp_path)
    path = tmp_path / seeds.FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first) >= 32
    assert seeds.grader_secret(tmp_path) == first


def test_an_option_or_the_environment_gives_the_secret(tmp_path, monkeypatch):
    given = tmp_path / "key"
    given.write_text("a-secret-of-the-course-2026\n")
    monkeypatch.setenv(seeds.ENV, "another-secret-from-the-env")
    assert seeds.grader_secret(tmp_path / "out", given) == b"a-secret-of-the-course-2026"
    assert seeds.grader_secret(tmp_path / "out") == b"another-secret-from-the-env"
    assert not (tmp_path / "out" / seeds.FILE_NAME).exists()
    monkeypatch.setenv(seeds.ENV, "short")
    with pytest.raises(seeds.SecretError, match="too short"):
        seeds.grader_secret(tmp_path)


def test_seeds_differ_per_learner_lesson_exercise_and_secret():
    base = seeds.seed(b"s" * 32, "ann", "01_data", "data.a")
    assert 0 <= base < 2**63
    others = [
        seeds.seed(b"s" * 32, "bob", "01_data", "data.a"),
        seeds.seed(b"s" * 32, "ann", "02_train", "data.a"),
        seeds.seed(b"s" * 32, "ann", "01_data", "data.b"),
        seeds.seed(b"t" * 32, "ann", "01_data", "data.a"),
        seeds.seed(b"s" * 32, "Ann", "01_data", "data.a"),
    ]
    assert len({base, *others}) == 6


def test_the_gradescope_runner_passes_the_bundles_secret_under_the_graders_name(demo_lessons):
    assert gradescope.SECRET_ENV == seeds.ENV
    config = gradescope.bundle_config(None)
    assert len(config["grader_secret"]) == 64 and config["grader_secret"] != gradescope.bundle_config(None)["grader_secret"]
