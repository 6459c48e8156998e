"""Small server-rendered SVG charts for the home page: pure functions from numbers to an
SVG string, so they need no JavaScript, pass the CSP, and are tested as text.

Every chart is an ``<svg role="img">`` labelled by its ``<title>`` and ``<desc>`` (the
desc states the figures in words, for screen readers); colours are presentation
attributes, because the CSP forbids inline styles.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

OPENED_FILL = "#1f6feb"
RESOLVED_FILL = "#2da44e"
MEDIAN_FILL = "#8250df"
P90_FILL = "#d4a72c"
AXIS = "#57606a"


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value``."""
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step:
            return step
    return value


def _fmt_hours(hours: float) -> str:
    if hours < 1:
        return f"{round(hours * 60)} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} d"


def weekly_chart(weeks: Sequence[tuple[date, int, int]], chart_id: str = "weekly") -> str:
    """Grouped bars: cases opened and resolved per week."""
    width, height = 640, 220
    left, right, top, bottom = 36, 10, 28, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(weeks), 1)
    peak = _nice_max(max([max(o, r) for _, o, r in weeks] or [0]))
    slot = plot_w / n
    bar = max(1.0, slot * 0.38)
    total_o = sum(o for _, o, _ in weeks)
    total_r = sum(r for _, _, r in weeks)
    first = weeks[0][0].isoformat() if weeks else ""
    last = weeks[-1][0].isoformat() if weeks else ""
    title = f"Cases opened and resolved per week, {len(weeks)} weeks from {first}"
    desc = (f"{total_o} cases opened and {total_r} resolved in {len(weeks)} weeks "
            f"(weeks starting {first} to {last}); the busiest week had "
            f"{max([max(o, r) for _, o, r in weeks] or [0])}.")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    for frac in (0, 0.5, 1):
        y = top + plot_h - frac * plot_h
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#d0d7de" stroke-width="1"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="{AXIS}">{peak * frac:g}</text>')
    for i, (start, opened, resolved) in enumerate(weeks):
        x = left + i * slot + slot * 0.1
        for j, (count, fill, label) in enumerate(
                ((opened, OPENED_FILL, "opened"), (resolved, RESOLVED_FILL, "resolved"))):
            h = plot_h * count / peak
            parts.append(
                f'<rect x="{x + j * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{fill}"><title>Week of {start.isoformat()}: '
                f'{count} {label}</title></rect>')
        if i % 4 == 0:
            parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" font-size="11" '
                         f'fill="{AXIS}">{start.strftime("%d %b")}</text>')
    parts.append(f'<rect x="{left}" y="6" width="10" height="10" fill="{OPENED_FILL}"/>'
                 f'<text x="{left + 14}" y="15" font-size="12" fill="#24292f">Opened</text>'
                 f'<rect x="{left + 80}" y="6" width="10" height="10" fill="{RESOLVED_FILL}"/>'
                 f'<text x="{left + 94}" y="15" font-size="12" fill="#24292f">Resolved</text>')
    parts.append("</svg>")
    return "".join(parts)


def response_chart(stats: Sequence[tuple[str, int, float, float]],
                   chart_id: str = "response") -> str:
    """Horizontal bars per category: median and 90th percentile of Amazon's answer time.

    ``stats`` rows are ``(category, answers counted, median hours, p90 hours)``."""
    row_h, left, right, top = 34, 220, 90, 30
    width = 640
    height = top + row_h * max(len(stats), 1) + 10
    plot_w = width - left - right
    peak = max([p90 for *_, p90 in stats] or [1]) or 1
    title = "How long Amazon takes to answer, by category (median and 90th percentile)"
    if stats:
        desc = "; ".join(f"{c}: median {_fmt_hours(m)}, 90th percentile {_fmt_hours(p)} "
                         f"over {n} answers" for c, n, m, p in stats)
    else:
        desc = "No answers from Amazon recorded yet."
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
        f'<rect x="{left}" y="6" width="10" height="10" fill="{MEDIAN_FILL}"/>'
        f'<text x="{left + 14}" y="15" font-size="12" fill="#24292f">Median</text>'
        f'<rect x="{left + 80}" y="6" width="10" height="10" fill="{P90_FILL}"/>'
        f'<text x="{left + 94}" y="15" font-size="12" fill="#24292f">90th percentile</text>',
    ]
    if not stats:
        parts.append(f'<text x="10" y="{top + 16}" font-size="12" fill="{AXIS}">'
                     'No answers from Amazon yet.</text>')
    for i, (category, count, median, p90) in enumerate(stats):
        y = top + i * row_h
        label = category if len(category) <= 30 else category[:29] + "…"
        parts.append(f'<text x="{left - 6}" y="{y + 18}" text-anchor="end" font-size="12" '
                     f'fill="#24292f">{escape(label)}</text>')
        for j, (value, fill, name) in enumerate(
                ((median, MEDIAN_FILL, "median"), (p90, P90_FILL, "90th percentile"))):
            w = max(1.0, plot_w * value / peak)
            parts.append(
                f'<rect x="{left}" y="{y + 4 + j * 12}" width="{w:.1f}" height="11" '
                f'fill="{fill}"><title>{escape(category)}: {name} {_fmt_hours(value)} '
                f'({count} answers)</title></rect>')
        parts.append(f'<text x="{width - right + 6}" y="{y + 18}" font-size="11" '
                     f'fill="{AXIS}">{_fmt_hours(median)} / {_fmt_hours(p90)}</text>')
    parts.append("</svg>")
    return "".join(parts)
