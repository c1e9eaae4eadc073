"""Stage 4, monitoring: per-feature data-drift tests.

The statistics follow evidently's conventions (its "legacy" stattests), so a
learner's numbers agree with the tool they will meet at work, while the course
does not depend on evidently's changing API:

========================  =========================================  ==========================
test                      statistic                                  drift when
========================  =========================================  ==========================
``psi``                   sum (ref% - cur%) * ln(ref% / cur%)        statistic >= 0.1
``jensenshannon``         Jensen-Shannon distance (natural log)      statistic >= 0.1
``wasserstein``           W1 distance / max(std(reference), 0.001)   statistic >= 0.1
``ks``                    two-sample Kolmogorov-Smirnov              p-value <= 0.05
``chisquare``             chi-square of current vs reference counts  p-value < 0.05
``z``                     two-proportion Z-test                      p-value < 0.05
========================  =========================================  ==========================

Binning for ``psi`` and ``jensenshannon``: a numeric column whose reference
has more than 20 distinct values is cut into Sturges bins computed over both
samples together; any other column gets one bin per distinct value. (The 20
counts the reference's values only, as evidently's ``get_binned_data`` does,
not both samples'.) For PSI an empty bin is given a small share (the
smallest non-zero share / 1e6 when that is at most 1e-4, else 1e-4),
separately for each histogram, so the logarithm stays finite.

:func:`choose_test` picks a test the way evidently does, and
:func:`drift_report` runs one test per column. :func:`naive_mean_drift` is the
lesson outline's single global-mean check, kept to show what it misses.
NaN and infinite values are dropped before testing, as evidently does.

Agreement with evidently is tested, not assumed: ``tests/monitor/test_drift.py``
compares every test and whole reports with values computed by evidently 0.6.7
(``tests/fixtures/evidently_reference.json``). The one deliberate difference:
evidently's chi-square of a column holding a single value in both windows is
NaN; here it is p = 1 with a reason.

Why the tests are chosen as they are is shown by the lesson experiments in
:mod:`mlcourse.monitor.experiments`. Monitoring a running service from its
prediction log lives in :mod:`mlcourse.monitor.service`; retraining policies
and the feedback loop in :mod:`mlcourse.monitor.retraining`.
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlcourse.errors import missing_and_extra

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "DEFAULT_THRESHOLDS",
    "DRIFT_TESTS",
    "DriftReport",
    "DriftResult",
    "chi2_test",
    "choose_test",
    "drift_report",
    "jensen_shannon",
    "ks_test",
    "naive_mean_drift",
    "psi",
    "wasserstein",
    "z_test",
]

DEFAULT_THRESHOLDS: dict[str, float] = {
    "psi": 0.1,
    "jensenshannon": 0.1,
    "wasserstein": 0.1,
    "ks": 0.05,
    "chisquare": 0.05,
    "z": 0.05,
}
_ALIASES = {
    "chi2": "chisquare",
    "chi-square": "chisquare",
    "js": "jensenshannon",
    "jensen_shannon": "jensenshannon",
    "jensen-shannon": "jensenshannon",
    "wasserstein_norm": "wasserstein",
    "z_test": "z",
    "ks_test": "ks",
}
# evidently's cut-offs: histogram binning above this many reference values,
# and the reference size above which distances replace p-value tests.
_BIN_UNIQUE = 20
_SMALL_REFERENCE = 1000
_STD_FLOOR = 0.001


@dataclass(frozen=True)
class DriftResult:
    """The outcome of one drift test on one feature.

    ``statistic`` is the test's statistic (the distance, or KS's D, the
    chi-square or the Z value); for the p-value tests ``threshold`` applies
    to ``p_value``. ``reason`` explains anything unusual, such as a floored
    standard deviation or a value never seen in the reference.
    """

    test: str
    statistic: float
    threshold: float
    drifted: bool
    p_value: float | None = None
    reason: str | None = None

    @property
    def score(self) -> float:
        """The number compared with ``threshold`` (evidently's "drift score")."""
        return self.p_value if self.p_value is not None else self.statistic


# --------------------------------------------------------------------------- input handling


def _label(x: Any, fallback: str) -> str:
    name = getattr(x, "name", None)
    return f"column {name!r}" if name is not None else fallback


def _prepare(x: Any, window: str, column: str) -> np.ndarray:
    """1-D array without NaN/inf; numeric input becomes float64.

    Raises ValueError for an empty window or a column with no usable value.
    """
    if isinstance(x, (pd.Series, pd.Index)):
        # Nullable numeric dtypes (Int64, Float64) would come out as objects
        # holding pd.NA and be mistaken for categories.
        numeric = pd.api.types.is_numeric_dtype(x.dtype) and not pd.api.types.is_bool_dtype(x.dtype)
        arr = x.to_numpy(dtype=np.float64, na_value=np.nan) if numeric else x.to_numpy()
    else:
        arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{column}: expected one-dimensional data, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{column}: the {window} window is empty")
    if arr.dtype.kind in "iuf":
        arr = arr.astype(np.float64, copy=False)
        keep = np.isfinite(arr)
        if not keep.all():
            arr = arr[keep]
    else:
        keep = ~pd.isna(arr)
        if not keep.all():
            arr = arr[keep]
    if arr.size == 0:
        raise ValueError(f"{column}: the {window} window has only NaN/missing values")
    return arr


def _pair(reference: Any, current: Any) -> tuple[np.ndarray, np.ndarray, str]:
    column = _label(reference, _label(current, "data"))
    return _prepare(reference, "reference", column), _prepare(current, "current", column), column


def _is_numeric(arr: np.ndarray, categorical: bool | None) -> bool:
    if categorical is False and arr.dtype.kind != "f":
        raise ValueError(f"categorical=False needs numeric data, got dtype {arr.dtype}")
    if categorical is not None:
        return not categorical
    return arr.dtype.kind == "f"


def _more_unique_than(arr: np.ndarray, k: int) -> bool:
    """``len(unique(arr)) > k`` without hashing a million values when a prefix tells."""
    if arr.size <= k:
        return False
    if len(pd.unique(arr[: 50 * (k + 1)])) > k:
        return True
    return len(pd.unique(arr)) > k


def _n_unique_capped(ref: np.ndarray, cur: np.ndarray, cap: int) -> int:
    """Distinct values across both samples, counted exactly up to ``cap``."""
    head = np.concatenate((ref[: 50 * cap], cur[: 50 * cap]))
    n = len(pd.unique(head))
    if n >= cap:
        return n
    return len(pd.unique(np.concatenate((ref, cur))))


def _fill_zeros(percents: np.ndarray) -> np.ndarray:
    nonzero = percents[percents != 0]
    smallest = nonzero.min()
    fill = smallest / 1e6 if smallest <= 1e-4 else 1e-4
    return np.where(percents == 0, fill, percents)


def _binned(
    ref: np.ndarray,
    cur: np.ndarray,
    numeric: bool,
    bins: int | str | Iterable[float] | None,
    fill_zeros: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Share of each sample per bin, binned the evidently way (see the module doc)."""
    if bins is not None and not numeric:
        raise ValueError("bins apply to numeric data only; categories get one bin per value")
    if numeric and (bins is not None or _more_unique_than(ref, _BIN_UNIQUE)):
        if bins is None or isinstance(bins, (int, str)):
            edges = np.histogram_bin_edges(np.concatenate((ref, cur)), bins="sturges" if bins is None else bins)
            # Equal-width edges: give numpy the count and range so it takes its
            # arithmetic fast path; the counts equal those for the edge array.
            spec: dict[str, Any] = {"bins": len(edges) - 1, "range": (edges[0], edges[-1])}
        else:
            spec = {"bins": np.asarray(list(bins), dtype=float)}
        ref_counts = np.histogram(ref, **spec)[0]
        cur_counts = np.histogram(cur, **spec)[0]
    else:
        if ref.dtype.kind == "f" and cur.dtype.kind == "f":
            keys = np.unique(np.concatenate((ref, cur)))
            ref_counts = np.bincount(np.searchsorted(keys, ref), minlength=keys.size)
            cur_counts = np.bincount(np.searchsorted(keys, cur), minlength=keys.size)
        else:
            codes, uniques = pd.factorize(np.concatenate((ref.astype(object), cur.astype(object))))
            ref_counts = np.bincount(codes[: ref.size], minlength=len(uniques))
            cur_counts = np.bincount(codes[ref.size :], minlength=len(uniques))
    ref_pct = ref_counts / ref.size
    cur_pct = cur_counts / cur.size
    if fill_zeros:
        ref_pct, cur_pct = _fill_zeros(ref_pct), _fill_zeros(cur_pct)
    return ref_pct, cur_pct


# --------------------------------------------------------------------------- the tests


def psi(
    reference: Any,
    current: Any,
    bins: int | str | Iterable[float] | None = None,
    *,
    threshold: float = 0.1,
    categorical: bool | None = None,
) -> DriftResult:
    """Population Stability Index, sum over bins of (ref% - cur%) * ln(ref% / cur%).

    Parameters
    ----------
    reference, current : array-like
        The two samples; NaN and inf are dropped.
    bins : int, str or sequence of edges, optional
        ``None`` bins as evidently does (Sturges bins over both samples for a
        numeric column with more than 20 distinct reference values, else one
        bin per value); an int or a numpy rule name sets equal-width bins over
        both samples; a sequence gives the edges.
    threshold : float
        Drift when PSI >= threshold (0.1 by default; 0.25 is the classic
        "significant shift").
    categorical : bool, optional
        Force one bin per value (True) or numeric binning (False); by default
        numbers are numeric and anything else categorical.

    Returns
    -------
    DriftResult

    Examples
    --------
    >>> r = psi(["a"] * 50 + ["b"] * 50, ["a"] * 80 + ["b"] * 20)
    >>> round(r.statistic, 4), r.drifted
    (0.4159, True)
    """
    ref, cur, _ = _pair(reference, current)
    ref_pct, cur_pct = _binned(ref, cur, _is_numeric(ref, categorical), bins, fill_zeros=True)
    value = float(np.sum((ref_pct - cur_pct) * np.log(ref_pct / cur_pct)))
    return DriftResult("psi", value, threshold, value >= threshold)


def jensen_shannon(
    reference: Any,
    current: Any,
    bins: int | str | Iterable[float] | None = None,
    *,
    threshold: float = 0.1,
    categorical: bool | None = None,
) -> DriftResult:
    """Jensen-Shannon distance (natural log) between the binned samples.

    Binning as in :func:`psi`, but empty bins stay empty: the distance is
    finite without any fill. Equals
    ``scipy.spatial.distance.jensenshannon(ref_shares, cur_shares)``.

    Examples
    --------
    >>> r = jensen_shannon([0, 1] * 50, [0] * 90 + [1] * 10)
    >>> round(r.statistic, 3), r.drifted
    (0.319, True)
    """
    from scipy.spatial.distance import jensenshannon as _js

    ref, cur, _ = _pair(reference, current)
    ref_pct, cur_pct = _binned(ref, cur, _is_numeric(ref, categorical), bins, fill_zeros=False)
    value = float(_js(ref_pct, cur_pct))
    return DriftResult("jensenshannon", value, threshold, value >= threshold)


def _wasserstein_prepared(ref: np.ndarray, cur: np.ndarray, threshold: float) -> DriftResult:
    std = float(np.std(ref))
    norm = max(std, _STD_FLOOR)
    # scipy's 1-D formula, the integral of |F_ref - F_cur| over the merged
    # sample, in a few linear passes after sorting each sample once:
    # * both samples are sorted in place in one buffer, so a stable argsort
    #   of that buffer is a merge of two sorted runs (timsort: linear);
    # * walking the merged points, n_cur * F_ref - n_ref * F_cur (kept in
    #   exact integers, at most n_ref * n_cur) rises by n_cur at a reference
    #   point and falls by n_ref at a current one: a cumulative sum. Inside a
    #   group of tied values the gap to the next value is 0, so only the
    #   count at a group's last member matters, and there it is exact;
    # * no BLAS call (np.dot), so no BLAS threads fight drift_report's own.
    n_u, n_v = ref.size, cur.size
    merged = np.empty(n_u + n_v)
    merged[:n_u] = ref
    merged[n_u:] = cur
    merged[:n_u].sort()
    merged[n_u:].sort()
    order = np.argsort(merged, kind="stable")
    both = merged[order]
    gap = np.where(order[:-1] < n_u, n_v, -n_u)
    del order
    np.cumsum(gap, out=gap)
    np.abs(gap, out=gap)
    deltas = np.subtract(both[1:], both[:-1], out=merged[:-1])
    np.multiply(deltas, gap, out=deltas)
    distance = float(deltas.sum()) / (n_u * n_v)
    value = distance / norm
    reason = None
    if std < _STD_FLOOR:
        reason = f"reference std {std:.3g} < {_STD_FLOOR}; distance divided by {_STD_FLOOR} instead"
    return DriftResult("wasserstein", value, threshold, value >= threshold, reason=reason)


def wasserstein(reference: Any, current: Any, *, threshold: float = 0.1) -> DriftResult:
    """First Wasserstein distance divided by the reference's standard deviation.

    The standard deviation (``ddof=0``) is floored at 0.001, as evidently
    does, so a constant reference column gives a finite (large) value for
    any change instead of a division by zero; ``reason`` says so. The
    distance equals ``scipy.stats.wasserstein_distance``.

    Examples
    --------
    >>> r = wasserstein([0.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0])
    >>> round(r.statistic, 4), r.drifted
    (0.8944, True)
    """
    ref, cur, _ = _pair(reference, current)
    if ref.dtype.kind not in "f":
        raise ValueError(f"{_label(reference, 'data')}: wasserstein needs numeric data")
    return _wasserstein_prepared(ref, cur, threshold)


def ks_test(reference: Any, current: Any, *, threshold: float = 0.05) -> DriftResult:
    """Two-sample Kolmogorov-Smirnov test (``scipy.stats.ks_2samp``), two-sided.

    ``statistic`` is D, the largest gap between the two empirical CDFs;
    drift when the p-value is <= threshold. At large n the p-value collapses
    for shifts too small to matter, which is why evidently switches to a
    distance above 1,000 reference rows.

    Examples
    --------
    >>> r = ks_test([0.1, 0.2, 0.3, 0.4, 0.5], [0.6, 0.7, 0.8, 0.9, 1.0])
    >>> r.statistic, round(r.p_value, 4), r.drifted
    (1.0, 0.0079, True)
    """
    from scipy.stats import ks_2samp

    ref, cur, column = _pair(reference, current)
    if ref.dtype.kind not in "f":
        raise ValueError(f"{column}: the KS test needs numeric data")
    res = ks_2samp(ref, cur)
    p = float(res.pvalue)
    return DriftResult("ks", float(res.statistic), threshold, p <= threshold, p_value=p)


def chi2_test(reference: Any, current: Any, *, threshold: float = 0.05) -> DriftResult:
    """Chi-square test of the current counts against the reference's shares.

    The expected count of each value is its reference count scaled to the
    current sample size. Drift when the p-value is < threshold (strictly,
    as evidently does). A value absent from the reference makes the
    statistic infinite and the p-value 0; ``reason`` names such values. A
    column with one value in both windows gets p = 1 and a reason (scipy,
    and so evidently, return NaN there).

    Examples
    --------
    >>> r = chi2_test(["a", "b", "c"] * 30, ["a"] * 60 + ["b", "c"] * 15)
    >>> round(r.statistic, 1), r.drifted
    (45.0, True)
    """
    from scipy.stats import chisquare

    ref, cur, _ = _pair(reference, current)
    codes, uniques = pd.factorize(np.concatenate((ref.astype(object), cur.astype(object))))
    ref_counts = np.bincount(codes[: ref.size], minlength=len(uniques)).astype(float)
    cur_counts = np.bincount(codes[ref.size :], minlength=len(uniques)).astype(float)
    expected = ref_counts * (cur.size / ref.size)
    unseen = [uniques[i] for i in np.flatnonzero(ref_counts == 0)]
    if unseen:
        shown = ", ".join(repr(u) for u in unseen[:5]) + (" ..." if len(unseen) > 5 else "")
        return DriftResult(
            "chisquare", math.inf, threshold, True, p_value=0.0,
            reason=f"value(s) never seen in the reference: {shown}",
        )
    if len(uniques) < 2:
        # scipy (and so evidently) returns NaN: zero degrees of freedom.
        return DriftResult(
            "chisquare", 0.0, threshold, False, p_value=1.0,
            reason="only one value in both windows: nothing can have moved (evidently reports NaN)",
        )
    res = chisquare(cur_counts, expected)
    p = float(res.pvalue)
    # evidently's chi-square drifts on p < threshold (KS on p <= threshold).
    return DriftResult("chisquare", float(res.statistic), threshold, p < threshold, p_value=p)


def z_test(reference: Any, current: Any, *, threshold: float = 0.05) -> DriftResult:
    """Two-proportion Z-test for a column with at most two distinct values.

    Compares the share of one value (the smaller, after sorting) in the two
    samples with the pooled standard error; two-sided; drift when the
    p-value is < threshold (evidently's strict inequality for this test).

    Examples
    --------
    >>> r = z_test([0] * 50 + [1] * 50, [0] * 80 + [1] * 20)
    >>> round(r.statistic, 3), r.drifted
    (4.447, True)
    """
    from scipy.stats import norm

    ref, cur, column = _pair(reference, current)
    keys = pd.unique(np.concatenate((ref.astype(object), cur.astype(object))))
    if len(keys) > 2:
        raise ValueError(f"{column}: the Z-test needs at most two distinct values, found {len(keys)}")
    if len(keys) == 1:
        return DriftResult("z", 0.0, threshold, False, p_value=1.0)
    try:
        first = sorted(keys)[0]
    except TypeError:  # mixed types cannot be ordered; any fixed choice works
        first = sorted(keys, key=str)[0]
    p1 = float(np.mean(ref != first))
    p2 = float(np.mean(cur != first))
    n1, n2 = ref.size, cur.size
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    # 2 * sf(|z|) rather than 2 * (1 - cdf(|z|)): same value, no cancellation
    # for large |z|.
    p = float(2 * norm.sf(abs(z)))
    return DriftResult("z", float(z), threshold, p < threshold, p_value=p)


#: Every test by its evidently name, the names ``drift_report(tests=...)`` takes.
DRIFT_TESTS: dict[str, Callable[..., DriftResult]] = {
    "psi": psi,
    "jensenshannon": jensen_shannon,
    "wasserstein": wasserstein,
    "ks": ks_test,
    "chisquare": chi2_test,
    "z": z_test,
}


def _test_name(name: str) -> str:
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    if key not in DRIFT_TESTS:
        raise ValueError(f"unknown drift test {name!r}; choose from {sorted(DRIFT_TESTS)}")
    return key


def _choose(ref: np.ndarray, cur: np.ndarray, numeric: bool) -> str:
    n_values = _n_unique_capped(ref, cur, cap=6)
    if ref.size <= _SMALL_REFERENCE:
        if numeric and n_values > 5:
            return "ks"
        return "chisquare" if n_values > 2 else "z"
    return "wasserstein" if numeric and n_values > 5 else "jensenshannon"


def choose_test(reference: Any, current: Any, *, categorical: bool | None = None) -> str:
    """Pick the drift test evidently would, by size, type and cardinality.

    With n the number of distinct values across both samples:

    * reference <= 1,000 rows: numeric with n > 5 -> ``"ks"``; otherwise
      n > 2 -> ``"chisquare"``, else ``"z"``;
    * reference > 1,000 rows: numeric with n > 5 -> ``"wasserstein"``;
      otherwise ``"jensenshannon"``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> choose_test(rng.normal(size=500), rng.normal(size=500))
    'ks'
    >>> choose_test(rng.normal(size=5000), rng.normal(size=500))
    'wasserstein'
    >>> choose_test(["a", "b", "c"] * 10, ["a"] * 10)
    'chisquare'
    """
    ref, cur, _ = _pair(reference, current)
    return _choose(ref, cur, _is_numeric(ref, categorical))


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True, eq=False)
class DriftReport:
    """Per-feature drift results for two windows of the same table.

    Attributes
    ----------
    table : DataFrame
        One row per feature: feature, test, statistic, p_value, threshold,
        drifted, reason.
    share : float
        Share of features that drifted.
    dataset_drift : bool
        ``share >= drift_share`` (0.5 by default, as in evidently).
    """

    table: pd.DataFrame
    share: float
    dataset_drift: bool
    drift_share: float = 0.5
    reference: pd.DataFrame | None = field(default=None, repr=False)
    current: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def drifted_features(self) -> list[str]:
        return self.table.loc[self.table["drifted"], "feature"].tolist()

    def summary(self) -> str:
        """One line: how many features drifted and the dataset verdict."""
        n = len(self.table)
        k = int(self.table["drifted"].sum())
        verdict = "dataset drift" if self.dataset_drift else "no dataset drift"
        return f"{k} of {n} features drifted (share {self.share:.2f}, {verdict} at >= {self.drift_share:g})"

    def __str__(self) -> str:
        return self.summary() + "\n" + self.table.to_string(index=False)

    def _repr_html_(self) -> str:  # pragma: no cover - notebook display
        return f"<p>{self.summary()}</p>" + self.table.to_html(index=False)

    def plot(self, features: Iterable[str] | None = None, *, max_features: int = 12, ncols: int = 3) -> Figure:
        """Reference vs current distribution of each drifted feature.

        Numeric features are drawn as overlaid density histograms on shared
        bins, others as side-by-side bars of value shares.

        Parameters
        ----------
        features : iterable of str, optional
            Features to draw (default: the drifted ones).
        max_features : int
            At most this many panels.
        ncols : int
            Panels per row.

        Returns
        -------
        matplotlib.figure.Figure
        """
        # A bare Figure (no pyplot) renders in notebooks and saves to files
        # without touching the global pyplot state or picking a backend.
        from matplotlib.figure import Figure

        if self.reference is None or self.current is None:
            raise ValueError("this report was built without its data; nothing to plot")
        names = list(features) if features is not None else self.drifted_features
        names = names[:max_features]
        if not names:
            fig = Figure(figsize=(5, 1.6))
            ax = fig.add_subplot()
            ax.axis("off")
            ax.text(0.5, 0.5, "No drifted features", ha="center", va="center")
            return fig
        rows = self.table.set_index("feature")
        ncols = max(1, min(ncols, len(names)))
        nrows = math.ceil(len(names) / ncols)
        fig = Figure(figsize=(4.2 * ncols, 3.0 * nrows), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, name in zip(axes, names):
            ref = _prepare(self.reference[name], "reference", name)
            cur = _prepare(self.current[name], "current", name)
            if ref.dtype.kind == "f" and _more_unique_than(np.concatenate((ref, cur)), _BIN_UNIQUE):
                edges = np.histogram_bin_edges(np.concatenate((ref, cur)), bins=30)
                ax.hist(ref, bins=edges, density=True, alpha=0.55, label="reference")
                ax.hist(cur, bins=edges, density=True, alpha=0.55, label="current")
            else:
                ref_s = pd.Series(ref).value_counts(normalize=True)
                cur_s = pd.Series(cur).value_counts(normalize=True)
                keys = sorted(set(ref_s.index) | set(cur_s.index), key=str)
                pos = np.arange(len(keys))
                ax.bar(pos - 0.2, [ref_s.get(k, 0.0) for k in keys], width=0.4, label="reference")
                ax.bar(pos + 0.2, [cur_s.get(k, 0.0) for k in keys], width=0.4, label="current")
                ax.set_xticks(pos, [str(k) for k in keys])
                ax.set_ylabel("share")
            if name in rows.index:
                row = rows.loc[name]
                score = row["p_value"] if pd.notna(row["p_value"]) else row["statistic"]
                what = "p" if pd.notna(row["p_value"]) else "stat"
                ax.set_title(f"{name}: {row['test']} {what}={score:.3g}", fontsize=10)
            else:
                ax.set_title(str(name), fontsize=10)
            ax.legend(fontsize=8)
        for ax in axes[len(names):]:
            ax.axis("off")
        return fig


def _check_frames(reference_df: Any, current_df: Any) -> list[str]:
    for label, frame in (("reference_df", reference_df), ("current_df", current_df)):
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{label} must be a pandas DataFrame, got {type(frame).__name__}")
    ref_cols = [str(c) for c in reference_df.columns]
    cur_cols = [str(c) for c in current_df.columns]
    if len(set(ref_cols)) != len(ref_cols):
        raise ValueError("reference_df has duplicate column names")
    parts = missing_and_extra([c for c in ref_cols if c not in set(cur_cols)], [c for c in cur_cols if c not in set(ref_cols)],
                              lambda cols: f"only in reference: {cols}", lambda cols: f"only in current: {cols}")
    if parts:
        raise ValueError("the frames have different columns; " + "; ".join(parts))
    if not ref_cols:
        raise ValueError("the frames have no columns to compare")
    if len(reference_df) == 0:
        raise ValueError("the reference window is empty (0 rows)")
    if len(current_df) == 0:
        raise ValueError("the current window is empty (0 rows)")
    return ref_cols


def drift_report(
    reference_df: pd.DataFrame,
    current_df: pd.DataFrame,
    *,
    tests: str | Mapping[str, str] | None = None,
    categorical: Iterable[str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    drift_share: float = 0.5,
) -> DriftReport:
    """Test every column for drift between a reference and a current window.

    Parameters
    ----------
    reference_df, current_df : DataFrame
        Same columns (in any order); the reference is usually training data.
    tests : str or mapping, optional
        ``None`` picks each column's test with :func:`choose_test`; a name
        (``"ks"``, ``"psi"``, ...) applies to every column; a mapping
        ``{column: name}`` sets some columns and leaves the rest automatic.
    categorical : iterable of str, optional
        Numeric columns to treat as categories (codes, flags).
    thresholds : mapping, optional
        Per-test overrides of :data:`DEFAULT_THRESHOLDS`.
    drift_share : float
        Dataset drift when at least this share of columns drifted.

    Returns
    -------
    DriftReport
        ``.table``, ``.share``, ``.dataset_drift`` and ``.plot()``.

    Raises
    ------
    ValueError
        Different columns, an empty window, or a column that is all NaN in
        either window; the message names the column.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000)})
    >>> cur = pd.DataFrame({"a": rng.normal(size=2000) + 0.5, "b": rng.normal(size=2000)})
    >>> report = drift_report(ref, cur)
    >>> report.table[["feature", "test", "drifted"]].to_dict("records")
    [{'feature': 'a', 'test': 'wasserstein', 'drifted': True}, {'feature': 'b', 'test': 'wasserstein', 'drifted': False}]
    >>> report.share, report.dataset_drift
    (0.5, True)
    """
    columns = _check_frames(reference_df, current_df)
    cat = {str(c) for c in (categorical or ())}
    unknown = cat - set(columns)
    if unknown:
        raise ValueError(f"categorical names unknown column(s): {sorted(unknown)}")
    if isinstance(tests, Mapping):
        missing = [c for c in tests if str(c) not in set(columns)]
        if missing:
            raise ValueError(f"tests names unknown column(s): {missing}")
        chosen = {str(c): _test_name(t) for c, t in tests.items()}
    elif tests is not None:
        fixed = _test_name(tests)
        chosen = {c: fixed for c in columns}
    else:
        chosen = {}
    limits = {**DEFAULT_THRESHOLDS, **{_test_name(k): float(v) for k, v in (thresholds or {}).items()}}

    ref_df = reference_df.set_axis([str(c) for c in reference_df.columns], axis=1)
    cur_df = current_df.set_axis([str(c) for c in current_df.columns], axis=1)

    # Validate every column before the (possibly long) computation, so bad
    # input fails fast and names the column.
    prepared = []
    for col in columns:
        label = f"column {col!r}"
        ref = _prepare(ref_df[col], "reference", label)
        cur = _prepare(cur_df[col], "current", label)
        numeric = ref.dtype.kind == "f" and col not in cat
        test = chosen.get(col) or _choose(ref, cur, numeric)
        if test in ("wasserstein", "ks") and not numeric:
            raise ValueError(f"{label}: the {test} test needs a numeric column")
        prepared.append((col, ref, cur, numeric, test))

    def run(item: tuple[str, np.ndarray, np.ndarray, bool, str]) -> DriftResult:
        col, ref, cur, numeric, test = item
        threshold = limits[test]
        if test == "wasserstein":
            return _wasserstein_prepared(ref, cur, threshold)
        if test in ("psi", "jensenshannon"):
            return DRIFT_TESTS[test](ref, cur, threshold=threshold, categorical=not numeric)
        return DRIFT_TESTS[test](ref, cur, threshold=threshold)

    # numpy releases the GIL while sorting and searching, so large columns
    # run in parallel threads; small inputs are not worth the pool.
    cells = sum(r.size + c.size for _, r, c, _, _ in prepared)
    workers = min(len(prepared), os.cpu_count() or 1)
    if workers > 1 and cells > 200_000:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(run, prepared))
    else:
        results = [run(item) for item in prepared]

    rows = []
    for (col, *_), res in zip(prepared, results):
        reason = res.reason
        if reason is None and not math.isfinite(res.statistic):
            reason = "statistic is not finite"
        rows.append(
            {
                "feature": col,
                "test": res.test,
                "statistic": res.statistic,
                "p_value": np.nan if res.p_value is None else res.p_value,
                "threshold": res.threshold,
                "drifted": bool(res.drifted),
                "reason": reason,
            }
        )
    table = pd.DataFrame(rows, columns=["feature", "test", "statistic", "p_value", "threshold", "drifted", "reason"])
    share = float(table["drifted"].mean())
    return DriftReport(
        table=table,
        share=share,
        dataset_drift=share >= drift_share,
        drift_share=drift_share,
        reference=ref_df,
        current=cur_df,
    )


def naive_mean_drift(reference: Any, current: Any, threshold: float = 0.1) -> tuple[float, float, bool]:
    """The lesson outline's drift check: one mean over every value of every feature.

    Returns ``(reference_mean, current_mean, alert)`` with alert when the two
    means differ by more than ``threshold``. It is kept to show its blind
    spot: features shifting in opposite directions, or spreading out without
    moving, leave the global mean where it was. Use :func:`drift_report`.

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.zeros((100, 2))
    >>> cur = np.column_stack([np.ones(100), -np.ones(100)])   # both features moved
    >>> naive_mean_drift(ref, cur)
    (0.0, 0.0, False)
    """
    values = []
    for label, data in (("reference", reference), ("current", current)):
        arr = data.to_numpy(dtype=float) if isinstance(data, (pd.DataFrame, pd.Series)) else np.asarray(data, dtype=float)
        if arr.size == 0:
            raise ValueError(f"the {label} window is empty")
        values.append(float(arr.mean()))
    ref_mean, cur_mean = values
    return ref_mean, cur_mean, bool(abs(ref_mean - cur_mean) > threshold)
