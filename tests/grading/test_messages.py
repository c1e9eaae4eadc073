"""The grader bounds what a child sends before it reads it (issue 11, class 3)."""
from __future__ import annotations

import json

import pytest

from mlcourse.grading import messages


@pytest.fixture
def no_parse(monkeypatch):
    """json.loads must not even be reached."""

    def refuse(*args, **kwargs):
        raise AssertionError("json.loads ran on a message that should have been refused unread")

    monkeypatch.setattr(messages.json, "loads", refuse)


@pytest.mark.parametrize(
    "line, needle",
    [
        (b"x" * (messages.MAX_REPLY + 1), "bytes"),
        (b'{"a": [' + b"[]," * (messages.MAX_CONTAINERS + 1) + b"[]]}", "lists and objects"),
        (b'{"a": [' + b"0," * (messages.MAX_VALUES + 1) + b"0]}", "values"),
    ],
    ids=["too-large", "too-many-containers", "too-many-values"],
)
def test_counted_bounds_refuse_before_parsing(no_parse, line, needle):
    limit = messages.MAX_REPLY if needle == "bytes" else messages.MAX_PROBE
    assert needle in messages.accept(line, limit)


def test_parsed_bounds():
    assert "deep" in messages.accept(b'{"a": ' + b"[" * 150 + b"]" * 150 + b"}", messages.MAX_PROBE)
    assert "string" in messages.accept(json.dumps({"a": "x" * (messages.MAX_STRING + 1)}).encode(), messages.MAX_PROBE)
    assert messages.accept(b"[1, 2]", messages.MAX_REPLY) == "not a JSON object"
    assert messages.accept(b"{nope", messages.MAX_REPLY) == "not JSON"


def test_the_largest_legitimate_probe_fits():
    # Two 20,000-row frames of 12 columns, as the lessons' biggest answers are.
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    from mlcourse.exercises.plain import to_plain

    df = pd.DataFrame(np.random.default_rng(0).normal(size=(20_000, 10)), columns=[f"f{i}" for i in range(10)])
    df["merchant"] = "m_" + pd.Series(np.arange(20_000) % 500).astype(str)
    df["ts"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(20_000), unit="min")
    value = to_plain(df)
    probe = {"probe": {"answer": "present", "tests": [{"ok": True, "value": value}, {"ok": True, "value": value}]}}
    line = json.dumps(probe).encode()
    assert isinstance(messages.accept(line, messages.MAX_PROBE), dict)
    assert isinstance(messages.accept(line, messages.MAX_REPLY), str)  # a cell's answer is never that big


def test_a_cell_answer_keeps_known_fields_with_learner_sized_texts():
    got = messages.cell_reply({"status": "error", "ename": "E" * 1000, "evalue": "v", "before_exec": True, "probe": {"x": 1}})
    assert set(got) == {"status", "ename", "evalue", "before_exec"} and len(got["ename"]) == 200
    assert "not true or false" in messages.cell_reply({"status": "ok", "changed": "yes"})
    assert "not text" in messages.cell_reply({"status": "error", "evalue": ["x"]})
