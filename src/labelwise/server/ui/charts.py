"""Server-side SVG charts for the dashboard: no JavaScript, no chart library.

Each function returns a ready ``Markup`` fragment. Two rules keep them safe under the
page's Content-Security-Policy (``style-src 'self'``, no inline script):

- every piece of text that came from data (class names, usernames) goes through
  ``markupsafe.escape``;
- geometry uses SVG attributes and colours come from classes in the stylesheet, never
  ``style=""`` attributes, which the policy would block.

Charts scale with their container (``viewBox`` plus ``width="100%"``), so the same
markup serves a 1280-px screen and a 390-px phone. Each carries a ``<title>`` and an
``aria-label``; the page also shows the numbers in tables, for screen readers and for
anyone who wants the exact value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True)
class CurvePoint:
    """One point of a learning curve: ``y`` in [0, 1] with an optional interval."""

    x: float
    y: float
    low: float | None = None
    high: float | None = None
    note: str = ""


def _num(value: float) -> str:
    """A coordinate with two decimals: enough for a screen, short in the markup."""
    return f"{value:.2f}".rstrip("0").rstrip(".") or "0"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]: steps of 1, 2 or 5 times a power of ten.

    Parameters
    ----------
    low, high : float
        The data range; ``high`` is raised to ``low + 1`` when the range is empty.
    count : int
        About how many ticks to return.
    """
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(count - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 5.0, 10.0) if m * power >= raw)
    # The epsilon keeps 0.6 / 0.1 = 5.999… from starting the ticks one step early.
    first = math.floor(low / step + 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _tick_text(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e4 else f"{value / 1000:g}k"


def bar(fraction: float, *, label: str, tone: str = "primary") -> Markup:
    """A one-line horizontal bar filled to ``fraction`` (clipped to [0, 1]).

    Parameters
    ----------
    fraction : float
        Share of the full width to fill.
    label : str
        What the bar shows, for ``aria-label`` and the hover title (escaped).
    tone : str
        Stylesheet class of the filled part: ``primary``, ``secondary``, ``warn``.
    """
    width = 100.0 * min(max(fraction, 0.0), 1.0)
    text = escape(label)
    return Markup(
        f'<svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" role="img" '
        f'aria-label="{text}"><title>{text}</title>'
        f'<rect class="track" width="100" height="8"/>'
        f'<rect class="fill {escape(tone)}" width="{_num(width)}" height="8"/></svg>'
    )


def stacked_bar(parts: Sequence[tuple[str, int, str]], *, label: str) -> Markup:
    """One bar split into consecutive parts, e.g. labeled / skipped / flagged / left.

    Parameters
    ----------
    parts : sequence of (name, count, tone)
        Drawn left to right; a part's width is its share of the sum of all counts.
    label : str
        Summary for ``aria-label`` (escaped).
    """
    total = sum(count for _, count, _ in parts)
    x = 0.0
    rects = []
    for name, count, tone in parts:
        if count <= 0 or total == 0:
            continue
        width = 100.0 * count / total
        rects.append(
            f'<rect class="fill {escape(tone)}" x="{_num(x)}" width="{_num(width)}" '
            f'height="8"><title>{escape(name)}: {count:,}</title></rect>'
        )
        x += width
    text = escape(label)
    return Markup(
        f'<svg class="bar stacked" viewBox="0 0 100 8" preserveAspectRatio="none" '
        f'role="img" aria-label="{text}"><rect class="track" width="100" height="8"/>'
        + "".join(rects)
        + "</svg>"
    )


# Learning-curve canvas, in viewBox units.
_W, _H = 960.0, 320.0
_LEFT, _RIGHT, _TOP, _BOTTOM = 64.0, 20.0, 16.0, 52.0


@dataclass(frozen=True)
class CurveSeries:
    """One line of a learning curve, drawn in the stylesheet's ``tone`` class."""

    name: str
    points: Sequence[CurvePoint]
    tone: str = "primary"


def learning_curve(
    series: Sequence[CurveSeries], *, x_label: str, y_label: str, title: str
) -> Markup:
    """Accuracy against labels: per series, a line through its points over their band.

    Parameters
    ----------
    series : sequence of CurveSeries
        Each in order of ``x``; a band joins the points that have ``low`` and ``high``.
        All series share the axes.
    x_label, y_label, title : str
        Axis captions and the chart's accessible name (escaped).

    Returns
    -------
    Markup
        An ``<svg>``; empty when no series has a point (the page says why instead).
    """
    points = [p for s in series for p in s.points]
    if not points:
        return Markup("")
    xs = [p.x for p in points]
    lows = [p.low if p.low is not None else p.y for p in points]
    highs = [p.high if p.high is not None else p.y for p in points]
    # Start the axis at 0 unless that would squeeze the points into its last quarter
    # (a project's first model often comes after many labels).
    x_start = 0.0 if min(xs) < 0.25 * max(xs) else min(xs)
    x_ticks = nice_ticks(x_start, max(xs), 6)
    y_floor = max(0.0, math.floor(min(lows) * 10) / 10)
    y_ticks = nice_ticks(y_floor, max(1.0 if max(highs) > 0.9 else max(highs), y_floor + 0.1), 6)
    x_min, x_max, y_min, y_max = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def sx(value: float) -> float:
        return _LEFT + plot_w * (value - x_min) / (x_max - x_min)

    def sy(value: float) -> float:
        return _TOP + plot_h * (1.0 - (value - y_min) / (y_max - y_min))

    parts = [
        f'<svg class="chart curve" viewBox="0 0 {_num(_W)} {_num(_H)}" width="100%" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for tick in y_ticks:
        y = sy(tick)
        parts.append(
            f'<line class="grid" x1="{_num(_LEFT)}" x2="{_num(_W - _RIGHT)}" '
            f'y1="{_num(y)}" y2="{_num(y)}"/>'
            f'<text class="tick" x="{_num(_LEFT - 6)}" y="{_num(y + 4)}" '
            f'text-anchor="end">{_tick_text(tick)}</text>'
        )
    for tick in x_ticks:
        parts.append(
            f'<text class="tick" x="{_num(sx(tick))}" y="{_num(_H - _BOTTOM + 22)}" '
            f'text-anchor="middle">{_tick_text(tick)}</text>'
        )
    parts.append(
        f'<line class="axis" x1="{_num(_LEFT)}" x2="{_num(_W - _RIGHT)}" '
        f'y1="{_num(_H - _BOTTOM)}" y2="{_num(_H - _BOTTOM)}"/>'
        f'<text class="caption" x="{_num(_LEFT + plot_w / 2)}" y="{_num(_H - 6)}" '
        f'text-anchor="middle">{escape(x_label)}</text>'
        f'<text class="caption" transform="translate(18 {_num(_TOP + plot_h / 2)}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    # Every band first, then every line: a later series' band must not hide a line.
    for layer in (_band, _marks):
        for line in series:
            parts.append(f'<g class="series {escape(line.tone)}">')
            parts.extend(layer(line.points, sx, sy))
            parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


_Scale = Callable[[float], float]


def _band(points: Sequence[CurvePoint], sx: _Scale, sy: _Scale) -> list[str]:
    """The interval band through the points that have one (two at least)."""
    banded = [p for p in points if p.low is not None and p.high is not None]
    if len(banded) < 2:
        return []
    upper = [f"{_num(sx(p.x))},{_num(sy(p.high or 0.0))}" for p in banded]
    lower = [f"{_num(sx(p.x))},{_num(sy(p.low or 0.0))}" for p in reversed(banded)]
    return [f'<polygon class="band" points="{" ".join(upper + lower)}"/>']


def _marks(points: Sequence[CurvePoint], sx: _Scale, sy: _Scale) -> list[str]:
    """Whiskers, the line and the dots (each dot titled with its note)."""
    parts = []
    banded = [p for p in points if p.low is not None and p.high is not None]
    for p in banded:
        parts.append(
            f'<line class="whisker" x1="{_num(sx(p.x))}" x2="{_num(sx(p.x))}" '
            f'y1="{_num(sy(p.low or 0.0))}" y2="{_num(sy(p.high or 0.0))}"/>'
        )
    if len(points) >= 2:
        path = " ".join(f"{_num(sx(p.x))},{_num(sy(p.y))}" for p in points)
        parts.append(f'<polyline class="line" points="{path}"/>')
    for p in points:
        parts.append(
            f'<circle class="dot" cx="{_num(sx(p.x))}" cy="{_num(sy(p.y))}" r="4">'
            f"<title>{escape(p.note)}</title></circle>"
        )
    return parts


# Histogram canvas, in viewBox units: small, to be shown as small multiples.
_HW, _HH, _HBASE = 200.0, 96.0, 78.0


def histogram(counts: Sequence[int], *, y_max: int, title: str) -> Markup:
    """Bars over equal-width bins of [0, 1], on a shared vertical scale.

    Parameters
    ----------
    counts : sequence of int
        Items per bin, first bin at 0.
    y_max : int
        The count at full height; pass the same value to every small multiple so they
        compare at a glance.
    title : str
        The chart's accessible name (escaped).
    """
    bins = len(counts)
    if bins == 0:
        return Markup("")
    width = _HW / bins
    top = max(y_max, 1)
    parts = [
        f'<svg class="chart histogram" viewBox="0 0 {_num(_HW)} {_num(_HH)}" width="100%" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, count in enumerate(counts):
        height = (_HBASE - 4) * count / top
        low, high = i / bins, (i + 1) / bins
        parts.append(
            f'<rect class="fill primary" x="{_num(i * width + 0.5)}" '
            f'y="{_num(_HBASE - height)}" width="{_num(width - 1)}" height="{_num(height)}">'
            f"<title>margin {low:.2f}–{high:.2f}: {count:,} items</title></rect>"
        )
    parts.append(
        f'<line class="axis" x1="0" x2="{_num(_HW)}" y1="{_num(_HBASE)}" y2="{_num(_HBASE)}"/>'
        f'<text class="tick" x="1" y="{_num(_HH - 2)}">0</text>'
        f'<text class="tick" x="{_num(_HW / 2)}" y="{_num(_HH - 2)}" '
        f'text-anchor="middle">0.5</text>'
        f'<text class="tick" x="{_num(_HW - 1)}" y="{_num(_HH - 2)}" text-anchor="end">1</text>'
        "</svg>"
    )
    return Markup("".join(parts))
