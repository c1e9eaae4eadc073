"""mlcourse.monitor.drift: drift statistics against scipy and hand computation, test choice, report."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon as scipy_js
from scipy.stats import chisquare, ks_2samp, norm, wasserstein_distance

from mlcourse.monitor.drift import (
    DRIFT_TESTS,
    DriftReport,
    DriftResult,
    chi2_test,
    choose_test,
    drift_report,
    jensen_shannon,
    ks_test,
    naive_mean_drift,
    psi,
    wasserstein,
    z_test,
)


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(42)


def sturges_shares(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
    return np.histogram(ref, edges)[0] / ref.size, np.histogram(cur, edges)[0] / cur.size


# --------------------------------------------------------------------------- against scipy


@pytest.mark.parametrize(("n_ref", "n_cur", "shift"), [(50, 40, 0.0), (300, 700, 0.3), (5000, 2000, 0.05)])
def test_ks_matches_scipy(rng, n_ref, n_cur, shift) -> None:
    ref = rng.normal(size=n_ref)
    cur = rng.normal(loc=shift, size=n_cur)
    expected = ks_2samp(ref, cur)
    got = ks_test(ref, cur)
    assert got.test == "ks"
    assert got.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert got.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert got.threshold == 0.05
    assert got.drifted == (expected.pvalue <= 0.05)


@pytest.mark.parametrize(
    ("ref", "cur"),
    [
        (np.random.default_rng(1).normal(size=800), np.random.default_rng(2).normal(0.4, 1.3, size=500)),
        (
            np.random.default_rng(3).integers(0, 10, size=400).astype(float),
            np.random.default_rng(4).integers(0, 12, size=900).astype(float),
        ),
        (np.random.default_rng(5).exponential(size=3000), np.random.default_rng(6).exponential(size=3000)),
    ],
)
def test_wasserstein_matches_scipy(ref, cur) -> None:
    expected = wasserstein_distance(ref, cur) / np.std(ref)
    got = wasserstein(ref, cur)
    assert got.statistic == pytest.approx(expected, rel=1e-12)
    assert got.drifted == (expected >= 0.1)
    assert got.p_value is None and got.reason is None


def test_wasserstein_large_columns_match_scipy_in_the_report(rng) -> None:
    # Large enough for drift_report's threaded path.
    n = 150_000
    ref = pd.DataFrame({"a": rng.normal(size=n), "b": rng.gamma(2.0, size=n)})
    cur = pd.DataFrame({"a": rng.normal(0.05, size=n // 2), "b": rng.gamma(2.2, size=n // 2)})
    table = drift_report(ref, cur).table.set_index("feature")
    for col in ("a", "b"):
        expected = wasserstein_distance(ref[col], cur[col]) / np.std(ref[col])
        assert table.loc[col, "test"] == "wasserstein"
        assert table.loc[col, "statistic"] == pytest.approx(expected, rel=1e-12)


def test_jensen_shannon_matches_scipy_on_sturges_bins(rng) -> None:
    ref = rng.normal(size=1500)
    cur = rng.normal(0.3, size=700)
    ref_pct, cur_pct = sturges_shares(ref, cur)
    got = jensen_shannon(ref, cur)
    assert got.statistic == pytest.approx(scipy_js(ref_pct, cur_pct), rel=1e-12)
    assert got.threshold == 0.1


def test_jensen_shannon_categorical_matches_scipy() -> None:
    ref = ["x"] * 30 + ["y"] * 50 + ["z"] * 20
    cur = ["x"] * 10 + ["y"] * 30 + ["w"] * 10  # "z" vanished, "w" is new
    # shares over the values x, y, z, w; empty bins stay empty for JS
    expected = scipy_js([0.3, 0.5, 0.2, 0.0], [0.2, 0.6, 0.0, 0.2])
    got = jensen_shannon(ref, cur)
    assert got.statistic == pytest.approx(expected, rel=1e-12)
    assert got.drifted


def test_chi2_matches_scipy() -> None:
    ref = ["a"] * 40 + ["b"] * 35 + ["c"] * 25
    cur = ["a"] * 20 + ["b"] * 10 + ["c"] * 20
    expected = chisquare([20, 10, 20], [40 * 0.5, 35 * 0.5, 25 * 0.5])
    got = chi2_test(ref, cur)
    assert got.statistic == pytest.approx(expected.statistic)
    assert got.p_value == pytest.approx(expected.pvalue)
    assert got.drifted == (expected.pvalue <= 0.05)


def test_chi2_value_unseen_in_reference_has_a_reason() -> None:
    got = chi2_test(["a", "b"] * 20, ["a", "b", "new"] * 10)
    assert got.drifted and got.p_value == 0.0 and math.isinf(got.statistic)
    assert "new" in got.reason


def test_z_test_by_hand() -> None:
    ref = np.array([0] * 60 + [1] * 40)
    cur = np.array([0] * 45 + [1] * 55)
    p1, p2 = 0.4, 0.55
    pooled = (40 + 55) / 200
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 100))
    got = z_test(ref, cur)
    assert got.statistic == pytest.approx(z)
    assert got.p_value == pytest.approx(2 * (1 - norm.cdf(abs(z))))
    assert got.drifted == (got.p_value < 0.05)
    assert z_test(["yes"] * 10, ["yes"] * 20).p_value == 1.0
    with pytest.raises(ValueError, match="at most two distinct values"):
        z_test([0, 1, 2], [0, 1])


# --------------------------------------------------------------------------- PSI by hand


def test_psi_small_example_by_hand() -> None:
    ref = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    cur = ["a"] * 40 + ["b"] * 30 + ["c"] * 30
    expected = (
        (0.5 - 0.4) * math.log(0.5 / 0.4)
        + (0.3 - 0.3) * math.log(0.3 / 0.3)
        + (0.2 - 0.3) * math.log(0.2 / 0.3)
    )
    got = psi(ref, cur)
    assert got == DriftResult("psi", pytest.approx(expected), 0.1, False)
    assert round(got.statistic, 6) == 0.062861  # 0.1*ln(1.25) + 0.1*ln(1.5)


def test_psi_few_numeric_values_get_one_bin_each() -> None:
    ref = np.repeat([1.0, 2.0, 3.0], [60, 30, 10])
    cur = np.repeat([1.0, 2.0, 3.0], [30, 30, 40])
    expected = (0.6 - 0.3) * math.log(0.6 / 0.3) + 0 + (0.1 - 0.4) * math.log(0.1 / 0.4)
    got = psi(ref, cur)
    assert got.statistic == pytest.approx(expected)
    assert got.drifted


def test_psi_empty_bin_gets_1e_4() -> None:
    # cur has no "b": its share becomes 1e-4 (its smallest non-zero share, 1.0, is > 1e-4)
    got = psi(["a"] * 4 + ["b"] * 6, ["a"] * 10)
    expected = (0.4 - 1.0) * math.log(0.4 / 1.0) + (0.6 - 1e-4) * math.log(0.6 / 1e-4)
    assert got.statistic == pytest.approx(expected)


def test_psi_empty_bin_below_1e_4_uses_min_share_over_a_million() -> None:
    ref = ["a"] * 19_999 + ["c"]  # smallest share 5e-5 <= 1e-4 -> fill 5e-11
    cur = ["a"] * 9_999 + ["b"]  # smallest share 1e-4 <= 1e-4 -> fill 1e-10
    r = {"a": 19_999 / 20_000, "b": 5e-5 / 1e6, "c": 5e-5}
    c = {"a": 9_999 / 10_000, "b": 1e-4, "c": 1e-4 / 1e6}
    expected = sum((r[k] - c[k]) * math.log(r[k] / c[k]) for k in r)
    assert psi(ref, cur).statistic == pytest.approx(expected, rel=1e-12)


def test_psi_many_numeric_values_use_sturges_bins_over_both(rng) -> None:
    ref = rng.normal(size=1000)
    cur = rng.normal(0.5, size=400)
    ref_pct, cur_pct = sturges_shares(ref, cur)
    fill = lambda p: np.where(p == 0, p[p > 0].min() / 1e6 if p[p > 0].min() <= 1e-4 else 1e-4, p)  # noqa: E731
    ref_pct, cur_pct = fill(ref_pct), fill(cur_pct)
    expected = float(np.sum((ref_pct - cur_pct) * np.log(ref_pct / cur_pct)))
    got = psi(ref, cur)
    assert got.statistic == pytest.approx(expected, rel=1e-12)
    assert got.drifted
    # explicit bins: ten equal-width bins over both samples
    ten = np.histogram_bin_edges(np.concatenate([ref, cur]), bins=10)
    assert psi(ref, cur, bins=10).statistic == pytest.approx(psi(ref, cur, bins=ten).statistic)


# --------------------------------------------------------------------------- choosing a test


@pytest.mark.parametrize(
    ("ref", "cur", "expected"),
    [
        (np.arange(1000) % 7, np.arange(100) % 7, "ks"),  # small reference, numeric, 7 values
        (np.arange(1000) % 5, np.arange(100) % 5, "chisquare"),  # 5 values is not > 5
        (np.arange(1000) % 5, np.arange(100) % 6, "ks"),  # the 6th value is only in current
        (np.arange(1000) % 3, np.arange(100) % 3, "chisquare"),
        (np.arange(1000) % 2, np.arange(100) % 2, "z"),
        (np.array(list("abcdefg") * 100), np.array(list("abc") * 10), "chisquare"),  # categorical
        (np.array(list("ab") * 100), np.array(list("ab") * 10), "z"),
        (np.arange(1001) % 7, np.arange(100) % 7, "wasserstein"),  # large reference
        (np.arange(1001) % 5, np.arange(100) % 5, "jensenshannon"),
        (np.array(list("abcdefg") * 200), np.array(list("abc") * 10), "jensenshannon"),
    ],
)
def test_choose_test_rules(ref, cur, expected) -> None:
    assert choose_test(ref, cur) == expected


def test_choose_test_categorical_override() -> None:
    codes = np.arange(500) % 9
    assert choose_test(codes, codes) == "ks"
    assert choose_test(codes, codes, categorical=True) == "chisquare"


# --------------------------------------------------------------------------- the report


def test_shifted_feature_flagged_unshifted_not(rng) -> None:
    n = 5000
    ref = pd.DataFrame({"moved": rng.normal(size=n), "still": rng.normal(size=n), "code": rng.integers(0, 3, n)})
    cur = pd.DataFrame({"moved": rng.normal(0.6, size=n), "still": rng.normal(size=n), "code": rng.integers(0, 3, n)})
    report = drift_report(ref, cur)
    assert isinstance(report, DriftReport)
    table = report.table.set_index("feature")
    assert list(report.table.columns[:6]) == ["feature", "test", "statistic", "p_value", "threshold", "drifted"]
    assert table.loc["moved", "test"] == "wasserstein" and table.loc["moved", "drifted"]
    assert not table.loc["still", "drifted"]
    assert table.loc["code", "test"] == "jensenshannon" and not table.loc["code", "drifted"]
    assert report.drifted_features == ["moved"]
    assert report.share == pytest.approx(1 / 3) and not report.dataset_drift
    assert "1 of 3 features drifted" in report.summary()


def test_small_windows_use_p_value_tests(rng) -> None:
    ref = pd.DataFrame({"x": rng.normal(size=500), "flag": rng.integers(0, 2, 500), "kind": rng.choice(list("abc"), 500)})
    cur = pd.DataFrame({"x": rng.normal(1.0, size=200), "flag": rng.integers(0, 2, 200), "kind": rng.choice(list("abc"), 200)})
    table = drift_report(ref, cur).table.set_index("feature")
    assert table["test"].to_dict() == {"x": "ks", "flag": "z", "kind": "chisquare"}
    assert table.loc["x", "drifted"]
    assert table.loc["x", "p_value"] == pytest.approx(ks_2samp(ref["x"], cur["x"]).pvalue)


def test_report_with_fixed_and_per_column_tests(rng) -> None:
    ref = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.normal(size=3000)})
    cur = pd.DataFrame({"b": rng.normal(size=800), "a": rng.normal(size=800)})  # column order is free
    assert set(drift_report(ref, cur, tests="psi").table["test"]) == {"psi"}
    mixed = drift_report(ref, cur, tests={"a": "ks"}).table.set_index("feature")
    assert mixed["test"].to_dict() == {"a": "ks", "b": "wasserstein"}
    with pytest.raises(ValueError, match="unknown drift test 'bogus'"):
        drift_report(ref, cur, tests="bogus")


def test_dataset_drift_at_half(rng) -> None:
    ref = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000)})
    cur = pd.DataFrame({"a": rng.normal(1.0, size=2000), "b": rng.normal(size=2000)})
    report = drift_report(ref, cur)
    assert report.share == 0.5 and report.dataset_drift


def test_nan_and_inf_are_dropped(rng) -> None:
    ref = rng.normal(size=2000)
    cur = rng.normal(size=2000)
    dirty = ref.copy()
    dirty[:100] = np.nan
    dirty[100:110] = np.inf
    assert wasserstein(dirty, cur).statistic == pytest.approx(wasserstein(ref[110:], cur).statistic)
    frame = drift_report(pd.DataFrame({"x": dirty}), pd.DataFrame({"x": cur}))
    assert math.isfinite(frame.table.loc[0, "statistic"])


def test_constant_column_is_handled(rng) -> None:
    same = wasserstein(np.full(50, 3.0), np.full(30, 3.0))
    assert same.statistic == 0.0 and not same.drifted
    assert "floored" in same.reason or "0.001" in same.reason
    moved = wasserstein(np.full(50, 3.0), np.full(30, 3.5))
    assert moved.statistic == pytest.approx(0.5 / 0.001) and moved.drifted

    for n in (500, 3000):
        ref = pd.DataFrame({"const": np.ones(n), "x": rng.normal(size=n)})
        cur = pd.DataFrame({"const": np.ones(n // 2), "x": rng.normal(size=n // 2)})
        table = drift_report(ref, cur).table.set_index("feature")
        assert np.isfinite(table["statistic"]).all()
        assert not table.loc["const", "drifted"]
    report = drift_report(ref, cur, tests="wasserstein")
    row = report.table.set_index("feature").loc["const"]
    assert row["statistic"] == 0.0 and isinstance(row["reason"], str)


def test_every_row_has_a_finite_statistic_or_a_reason() -> None:
    ref = pd.DataFrame({"kind": ["a", "b"] * 50})
    cur = pd.DataFrame({"kind": ["a", "b", "c"] * 20})
    row = drift_report(ref, cur, tests="chisquare").table.iloc[0]
    assert not math.isfinite(row["statistic"]) and "c" in row["reason"]


def test_bad_inputs_name_the_problem(rng) -> None:
    ref = pd.DataFrame({"a": rng.normal(size=50), "b": rng.normal(size=50)})
    with pytest.raises(ValueError, match=r"different columns.*only in reference: \['b'\].*only in current: \['c'\]"):
        drift_report(ref, ref.rename(columns={"b": "c"}))
    with pytest.raises(ValueError, match="current window is empty"):
        drift_report(ref, ref.iloc[:0])
    with pytest.raises(ValueError, match="reference window is empty"):
        drift_report(ref.iloc[:0], ref)
    with pytest.raises(ValueError, match=r"column 'b'.*current window has only NaN"):
        drift_report(ref, ref.assign(b=np.nan))
    with pytest.raises(ValueError, match=r"column 'a'.*reference window has only NaN"):
        drift_report(ref.assign(a=np.inf), ref)
    with pytest.raises(TypeError, match="DataFrame"):
        drift_report(ref.to_numpy(), ref)
    with pytest.raises(ValueError, match=r"column 'kind'.*needs a numeric column"):
        drift_report(pd.DataFrame({"kind": list("ab") * 5}), pd.DataFrame({"kind": list("ab") * 5}), tests="ks")
    with pytest.raises(ValueError, match="empty"):
        psi([], [1.0, 2.0])
    with pytest.raises(ValueError, match="bins apply to numeric data only"):
        psi(["a", "b"], ["a", "a"], bins=5)
    with pytest.raises(ValueError, match="'speed'.*only NaN"):
        ks_test(pd.Series([np.nan, np.nan], name="speed"), [1.0, 2.0])


def test_plot_draws_each_drifted_feature(rng) -> None:
    from matplotlib.figure import Figure

    n = 1500
    ref = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(list("xyz"), n)})
    cur = pd.DataFrame({"a": rng.normal(1, size=n), "b": rng.normal(size=n), "c": rng.choice(list("xz"), n)})
    report = drift_report(ref, cur)
    assert report.drifted_features == ["a", "c"]
    fig = report.plot()
    assert isinstance(fig, Figure)
    titled = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert [t.split(":")[0] for t in titled] == ["a", "c"]
    quiet = drift_report(ref, ref).plot()
    assert "No drifted features" in quiet.axes[0].texts[0].get_text()


def test_naive_mean_misses_opposite_shifts(rng) -> None:
    n = 3000
    ref = pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd"))
    cur = pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd"))
    cur["a"] += 1.0
    cur["b"] -= 1.0
    ref_mean, cur_mean, alert = naive_mean_drift(ref, cur)
    assert not alert and abs(ref_mean - cur_mean) < 0.1
    report = drift_report(ref, cur)
    assert report.drifted_features == ["a", "b"]
    with pytest.raises(ValueError, match="empty"):
        naive_mean_drift(ref, ref.iloc[:0])
    assert naive_mean_drift([[0.0, 0.0]], [[0.5, 0.5]]) == (0.0, 0.5, True)


# --------------------------------------------------------------------------- against evidently
#
# tests/fixtures/evidently_reference.json holds values computed once with
# evidently (see tests/fixtures/make_evidently_reference.py for how, and in
# which environment). The datasets are rebuilt here from the same seeds.

import importlib.util  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

FIXTURES = Path(__file__).parent.parent / "fixtures"
EVIDENTLY = json.loads((FIXTURES / "evidently_reference.json").read_text(encoding="utf-8"))


def _load_maker():
    path = FIXTURES / "make_evidently_reference.py"
    spec = importlib.util.spec_from_file_location("make_evidently_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def evidently_data() -> dict:
    maker = _load_maker()
    return maker.make_datasets()


def _num(x) -> float:
    return float(x)  # "inf" / "nan" are spelled out in the JSON; float() reads them


def _agrees(got: float, expected: float) -> bool:
    if math.isnan(expected) or math.isinf(expected):
        return got == expected or (math.isnan(expected) and math.isnan(got))
    return math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12)


def test_fixture_data_is_rebuilt_exactly(evidently_data) -> None:
    maker = _load_maker()
    assert set(evidently_data) == set(EVIDENTLY["checksums"])
    for name, ds in evidently_data.items():
        for side in ("reference", "current"):
            for col in ds[side].columns:
                assert maker.checksum(ds[side][col]) == EVIDENTLY["checksums"][name][side][col], (name, side, col)
    assert EVIDENTLY["made_with"]["evidently"].startswith("0.6")


# evidently's chi-square of a column holding one value in both windows is
# NaN (zero degrees of freedom); the course reports p = 1 with a reason instead.
_CHI2_ONE_VALUE = {("categorical_small", "single"), ("constant", "const_same"), ("constant_small", "const_same")}


def _evidently_cases(kind: str, name):
    """Parametrise a test by the stored reference's cases of ``kind``, each case named ``name(case)``."""
    return pytest.mark.parametrize("case", EVIDENTLY[kind], ids=[name(case) for case in EVIDENTLY[kind]])


@_evidently_cases("stattests", lambda e: f"{e['dataset']}-{e['column']}-{e['test']}")
def test_each_stattest_matches_evidently(evidently_data, case) -> None:
    ds = evidently_data[case["dataset"]]
    ref, cur = ds["reference"][case["column"]], ds["current"][case["column"]]
    kwargs = {"categorical": case["categorical"]} if case["test"] in ("psi", "jensenshannon") else {}
    got = DRIFT_TESTS[case["test"]](ref, cur, **kwargs)
    expected = _num(case["drift_score"])
    assert got.test == case["test"]
    assert got.threshold == case["threshold"]
    if case["test"] == "chisquare" and (case["dataset"], case["column"]) in _CHI2_ONE_VALUE:
        assert math.isnan(expected) and not case["drifted"]
        assert got.p_value == 1.0 and not got.drifted and "one value" in got.reason
        return
    assert _agrees(got.score, expected), (got, expected)
    assert got.drifted == case["drifted"]
    if "z_statistic" in case:
        assert got.statistic == pytest.approx(_num(case["z_statistic"]), rel=1e-9)


@_evidently_cases("reports", lambda r: f"{r['dataset']}-{r['stattest'] or 'auto'}")
def test_drift_report_matches_evidently(evidently_data, case) -> None:
    ds = evidently_data[case["dataset"]]
    ref, cur = ds["reference"], ds["current"]
    numeric_codes = [c for c in ds["categorical"] if pd.api.types.is_numeric_dtype(ref[c])]
    report = drift_report(ref, cur, tests=case["stattest"], categorical=numeric_codes)
    table = report.table.set_index("feature")
    assert list(table.index) == [c["column"] for c in case["columns"]]
    for col in case["columns"]:
        row = table.loc[col["column"]]
        score = row["p_value"] if pd.notna(row["p_value"]) else row["statistic"]
        assert row["test"] == col["test"], col
        assert row["threshold"] == col["threshold"]
        assert _agrees(float(score), _num(col["drift_score"])), (col, dict(row))
        assert bool(row["drifted"]) == col["drifted"], col
    assert report.share == pytest.approx(case["share_of_drifted_columns"], rel=1e-12)
    assert report.dataset_drift == case["dataset_drift"]


def test_psi_counts_distinct_values_in_the_reference_only(evidently_data) -> None:
    # The reference holds 15 values, both samples together hundreds. evidently
    # (get_binned_data: reference_data.nunique() > 20) gives one bin per value
    # here; Sturges bins over the union would give a very different number.
    ds = evidently_data["binning"]
    ref = ds["reference"]["ref15_union_many"].to_numpy()
    cur = ds["current"]["ref15_union_many"].to_numpy()
    assert len(np.unique(ref)) == 15 and len(np.unique(np.concatenate([ref, cur]))) > 20
    expected = next(e for e in EVIDENTLY["stattests"]
                    if e["dataset"] == "binning" and e["column"] == "ref15_union_many" and e["test"] == "psi")
    assert psi(ref, cur).statistic == pytest.approx(expected["drift_score"], rel=1e-12)
    assert abs(psi(ref, cur, bins="sturges").statistic - expected["drift_score"]) > 1.0


def test_chi2_drift_is_strictly_below_the_threshold() -> None:
    # evidently: chi-square and Z drift when p < threshold, KS when p <= threshold.
    ref = ["a"] * 40 + ["b"] * 35 + ["c"] * 25
    cur = ["a"] * 20 + ["b"] * 10 + ["c"] * 20
    p = chi2_test(ref, cur).p_value
    assert not chi2_test(ref, cur, threshold=p).drifted
    assert chi2_test(ref, cur, threshold=p * (1 + 1e-9)).drifted
    x, y = np.arange(10.0), np.arange(10.0) + 5
    p_ks = ks_test(x, y).p_value
    assert ks_test(x, y, threshold=p_ks).drifted
