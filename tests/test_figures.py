"""The course's figures: the lifecycle loop and the effort chart."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mlcourse import figures  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts]


def test_lifecycle_has_the_four_stages_in_order():
    assert list(figures.LIFECYCLE) == ["Data", "Train", "Deploy", "Monitor"]
    assert set(figures.STAGE_COLORS) == set(figures.LIFECYCLE)


def test_diagram_draws_every_stage_and_activity_and_the_feedback_label():
    fig = figures.lifecycle_diagram()
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    texts = _texts(fig)
    for stage, activities in figures.LIFECYCLE.items():
        assert stage in texts
        for activity in activities:
            assert activity in texts
    assert figures.FEEDBACK_LABEL in texts


def test_diagram_arrows_go_left_to_right_and_the_loop_goes_back_from_monitor_to_data():
    fig = figures.lifecycle_diagram()
    ax = fig.axes[0]
    names = [t for t in ax.texts if t.get_text() in figures.LIFECYCLE]
    x_of = {t.get_text(): t.get_position()[0] for t in names}
    assert [n for n, _ in sorted(x_of.items(), key=lambda kv: kv[1])] == list(figures.LIFECYCLE)
    steps = [p for p in ax.patches if p.get_gid() == "step"]
    loops = [p for p in ax.patches if p.get_gid() == "feedback"]
    assert len(steps) == 3 and len(loops) == 1
    for arrow in steps:
        (x0, _), (x1, _) = arrow._posA_posB
        assert x0 < x1
    (start, _), (end, _) = loops[0]._posA_posB
    assert start == pytest.approx(x_of["Monitor"]) and end == pytest.approx(x_of["Data"])


def test_diagram_takes_other_stages_and_rejects_a_single_one():
    fig = figures.lifecycle_diagram({"Collect": ["a"], "Fit": ["b"], "Serve": []}, feedback="again")
    ax = fig.axes[0]
    assert sum(p.get_gid() == "step" for p in ax.patches) == 2
    assert "again" in _texts(fig) and "Fit" in _texts(fig)
    with pytest.raises(ValueError, match="at least two stages"):
        figures.lifecycle_diagram({"Only": ["x"]})


def test_effort_chart_says_illustrative_and_labels_percentages_that_sum_to_100():
    fig = figures.effort_chart()
    ax = fig.axes[0]
    assert "illustrative" in ax.get_title()
    widths = [bar.get_width() for bar in ax.patches]
    assert len(widths) == len(figures.EFFORT_SHARES)
    assert sum(widths) == pytest.approx(100.0)
    y_of = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks())}
    assert sorted(y_of, key=y_of.get, reverse=True) == list(figures.EFFORT_SHARES)  # top to bottom as given
    labels = [t.get_text() for t in ax.texts]
    assert labels == [f"{v:.0f}%" for v in figures.EFFORT_SHARES.values()]
    model_code = next(w for k, w in zip(figures.EFFORT_SHARES, widths) if k.startswith("Train"))
    assert model_code == min(widths)  # the point of the chart: the model code is the smallest share


def test_effort_chart_normalises_weights_and_colours_by_stage():
    fig = figures.effort_chart({"Data: x": 3, "Monitor: y": 1})
    bars = fig.axes[0].patches
    assert [b.get_width() for b in bars] == pytest.approx([75.0, 25.0])
    assert matplotlib.colors.to_hex(bars[0].get_facecolor()) == figures.STAGE_COLORS["Data"].lower()
    assert matplotlib.colors.to_hex(bars[1].get_facecolor()) == figures.STAGE_COLORS["Monitor"].lower()


@pytest.mark.parametrize("shares, message", [({}, "at least one"), ({"a": -1, "b": 2}, "non-negative"), ({"a": 0}, "all be zero")])
def test_effort_chart_rejects_bad_shares(shares, message):
    with pytest.raises(ValueError, match=message):
        figures.effort_chart(shares)
