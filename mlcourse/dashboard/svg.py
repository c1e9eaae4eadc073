"""Step 2 of the dashboard: small plots as inline SVG, where looking beats reading.

Each function returns one ``<svg>`` element as text, sized in pixels, with a
``<title>`` on every mark (the browser shows it on hover) and a ``role="img"``
label for screen readers. Every number drawn comes from the caller; every text
is escaped.

Examples
--------
>>> svg = status_bar({"passed": 3, "failed": 1, "error": 0, "not attempted": 0})
>>> svg.count("<rect"), "75% passed" in svg
(2, True)
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

COLOURS = {"passed": "#2e7d32", "failed": "#d84315", "error": "#6a1b9a", "not attempted": "#9e9e9e"}


def _pct(n: float, total: float) -> str:
    return f"{100 * n / total:.0f}%" if total else "0%"


def status_bar(counts: Mapping[str, int], width: int = 260, height: int = 16) -> str:
    """One stacked bar: the share of learners per status."""
    total = sum(counts.values())
    label = ", ".join(f"{_pct(n, total)} {s}" for s, n in counts.items() if n)
    parts = [f'<svg class="bar" width="{width}" height="{height}" role="img" aria-label="{escape(label or "no answers")}">']
    x = 0.0
    for status, n in counts.items():
        if not n:
            continue
        w = width * n / total
        parts.append(
            f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" fill="{COLOURS.get(status, "#607d8b")}">'
            f"<title>{n} {escape(status)} ({_pct(n, total)})</title></rect>"
        )
        x += w
    if not total:
        parts.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#eeeeee"><title>no answers</title></rect>')
    parts.append("</svg>")
    return "".join(parts)


def histogram(values: Sequence[float], top: float, bins: int = 10, width: int = 320, height: int = 110,
              label: str = "score") -> str:
    """How many values fall in each of ``bins`` equal bins over [0, top] (``top`` itself in the last)."""
    counts = [0] * bins
    for v in values:
        i = int(bins * v / top) if top else 0
        counts[min(max(i, 0), bins - 1)] += 1
    most = max(counts) or 1
    plot_h = height - 22
    bw = width / bins
    parts = [f'<svg class="hist" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(label)} distribution of {len(values)} learners">']
    for i, n in enumerate(counts):
        h = plot_h * n / most
        lo, hi = top * i / bins, top * (i + 1) / bins
        parts.append(
            f'<rect x="{i * bw + 1:.1f}" y="{plot_h - h:.1f}" width="{bw - 2:.1f}" height="{h:.1f}" fill="#1565c0">'
            f"<title>{n} learner(s) with {escape(label)} {lo:g}–{hi:g}</title></rect>"
        )
    parts.append(f'<line x1="0" y1="{plot_h}" x2="{width}" y2="{plot_h}" stroke="#555"/>')
    for i in (0, bins // 2, bins):
        x = min(max(i * bw, 8), width - 8)
        parts.append(f'<text x="{x:.0f}" y="{height - 6}" font-size="11" text-anchor="middle">{top * i / bins:g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def timeline(points: Sequence[tuple[str, str, float]], lessons: Sequence[str], width: int = 520, height: int = 140) -> str:
    """A learner's submissions in order: one dot per (graded_at, lesson, share of points), a line per lesson."""
    if not points:
        return ""
    palette = ["#1565c0", "#2e7d32", "#d84315", "#6a1b9a", "#00838f", "#ef6c00", "#5d4037", "#ad1457"]
    n = len(points)
    plot_h = height - 20
    step = (width - 40) / max(n - 1, 1)
    parts = [f'<svg class="timeline" width="{width}" height="{height}" role="img" aria-label="{n} submissions over time">',
             f'<line x1="30" y1="{plot_h}" x2="{width - 5}" y2="{plot_h}" stroke="#555"/>',
             '<text x="2" y="12" font-size="10">100%</text>', f'<text x="2" y="{plot_h}" font-size="10">0%</text>']
    last: dict[str, tuple[float, float]] = {}
    for i, (when, lesson, share) in enumerate(points):
        colour = palette[lessons.index(lesson) % len(palette)] if lesson in lessons else "#607d8b"
        x, y = 35 + i * step, plot_h - (plot_h - 10) * max(0.0, min(share, 1.0))
        if lesson in last:
            px, py = last[lesson]
            parts.append(f'<line x1="{px:.1f}" y1="{py:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="{colour}"/>')
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}">'
                     f"<title>{escape(lesson)}: {100 * share:.0f}% ({escape(when)})</title></circle>")
        last[lesson] = (x, y)
    parts.append("</svg>")
    return "".join(parts)
