"""The grader's limits are defined once: the CLI, the pytest plugin and the
Gradescope bundle all take their defaults and help from mlcourse.grading.limits."""
from __future__ import annotations

from dataclasses import fields

from mlcourse import cli, pytest_plugin
from mlcourse.grading import limits
from mlcourse.grading.limits import DEFAULTS, OPTIONS, Limits, default_args, from_options


def _grade_parser():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices["grade"]


def test_every_flagged_limit_is_an_option_of_mlcourse_grade_with_its_help():
    grade = _grade_parser()
    actions = {a.dest: a for a in grade._actions}
    flagged = [f.name for f in fields(Limits) if f.metadata.get("flag")]
    assert [o.name for o in OPTIONS] == flagged
    for opt in OPTIONS:
        action = actions[opt.name]
        assert action.option_strings == [opt.flag] and action.help == opt.help
    assert "(default: 60)" in actions["cell_timeout"].help and "(default: 4096)" in actions["memory_mb"].help


def test_no_option_given_means_the_defaults_and_options_override_them():
    args = _grade_parser().parse_args(["subs"])
    assert from_options({o.name: getattr(args, o.name) for o in OPTIONS}) == DEFAULTS
    args = _grade_parser().parse_args(["subs", "--timeout", "5", "--memory", "512", "--processes", "32"])
    got = from_options({o.name: getattr(args, o.name) for o in OPTIONS})
    assert (got.cell_timeout, got.memory_mb, got.processes, got.output_mb) == (5.0, 512, 32, DEFAULTS.output_mb)
    assert got.total_timeout == 300.0  # derived from the per-cell time, as documented


def test_the_pytest_plugin_takes_its_timeout_from_the_same_place():
    seen = {}

    class Group:
        def addoption(self, *names, **kwargs):
            seen[names[0]] = kwargs

    class Parser:
        def getgroup(self, *args):
            return Group()

    pytest_plugin.pytest_addoption(Parser())
    assert seen["--grade-timeout"]["default"] == DEFAULTS.cell_timeout
    assert limits.option("cell_timeout").help in seen["--grade-timeout"]["help"]


def test_the_gradescope_bundle_passes_the_default_limits(demo_lessons):
    from mlcourse.grading.gradescope import bundle_config

    config = bundle_config(None)
    assert config["grade_args"] == default_args() == ["--timeout", "60", "--memory", "4096"]
    args = _grade_parser().parse_args(["subs", *config["grade_args"]])
    assert from_options({o.name: getattr(args, o.name) for o in OPTIONS}) == DEFAULTS
