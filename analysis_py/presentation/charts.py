"""Inline SVG for the report: interval bars on a shared axis, and lines over time.

Axes get "nice" ticks (1, 2, 2.5 or 5 times a power of ten) and keep their labels inside
the drawing. Values beyond an axis are clipped to it and marked with an arrow, so one
interval hundreds of percent wide does not flatten the others.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from analysis_py.formats import missing, number, percent

#: Width and height (px) of an interval bar; the axis above a column of them is as wide.
BAR_WIDTH, BAR_HEIGHT, BAR_PAD = 200, 22, 22
MUTED, ZERO_LINE = "#57606a", "#8c959f"
#: Width (px) of a character of a tick label, generously: DejaVu Sans at 11-13 px.
CHAR_WIDTH = 8.0
VERDICT_COLOURS = {
    "better": "#1a7f37",
    "worse": "#cf222e",
    "inconclusive": "#57606a",
    "no_result": "#8c959f",
    "unhealthy": "#8c959f",
}


def nice_step(span: float, count: int) -> float:
    """A step of 1, 2, 2.5 or 5 times a power of ten, giving about ``count`` intervals.

    >>> nice_step(1.42, 4), nice_step(0.9, 4), nice_step(30, 5)
    (0.5, 0.25, 10)
    """
    raw = span / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw - 1e-12)


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Ticks at a nice step from at or below ``low`` to at or above ``high``.

    >>> nice_ticks(-0.12, 0.86)
    [-0.25, 0.0, 0.25, 0.5, 0.75, 1.0]
    """
    if not high > low:
        low, high = low - 0.5, high + 0.5
    step = nice_step(high - low, count)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(i * step, 12) + 0.0 for i in range(first, last + 1)]


@dataclass(frozen=True)
class Axis:
    """A linear axis from ``ticks[0]`` to ``ticks[-1]``, drawn over ``start``..``end`` px."""

    ticks: tuple[float, ...]
    start: float
    end: float
    relative: bool = True
    #: Room (px) for tick labels beyond each end of the axis.
    margin: float = 0.0

    @property
    def low(self) -> float:
        """The lowest value on the axis."""
        return self.ticks[0]

    @property
    def high(self) -> float:
        """The highest value on the axis."""
        return self.ticks[-1]

    def position(self, value: float) -> float:
        """Where a value lands, clipped to the axis."""
        value = min(max(value, self.low), self.high)
        return self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start)

    def labels_fit(self, gap: float = 8.0) -> bool:
        """Whether neighbouring tick labels keep ``gap`` px apart.

        Labels at the ends of the axis align inwards (see :func:`_anchor`). A vertical axis
        (drawn upwards) needs a line of text per label.
        """
        if self.end < self.start:
            positions = [self.position(t) for t in self.ticks]
            steps = [a - b for a, b in zip(positions, positions[1:], strict=False)]
            return min(steps, default=math.inf) >= 2 * gap + 4
        extents = []
        for tick in self.ticks:
            x, text = self.position(tick), self.label(tick)
            width = len(text) * CHAR_WIDTH
            share_left = {"start": 0.0, "middle": 0.5, "end": 1.0}[_anchor(x, self, text)]
            extents.append((x - width * share_left, x + width * (1 - share_left)))
        pairs = zip(extents, extents[1:], strict=False)
        return all(right + gap <= left for (_, right), (left, _) in pairs)

    def label(self, value: float) -> str:
        """A tick's label: whole percents (or numbers) with a sign, 0 without one."""
        if value == 0:
            return "0%" if self.relative else "0"
        if self.relative:
            digits = 0 if all(abs(t * 100 - round(t * 100)) < 1e-9 for t in self.ticks) else 1
            return percent(value, digits)
        return ("+" if value > 0 else "") + number(value)


def axis_for(
    values: Sequence[float],
    *,
    start: float,
    end: float,
    relative: bool = True,
    limits: tuple[float, float] = (-1.0, 2.0),
    margin: float = 0.0,
) -> Axis:
    """An axis over the finite ``values`` and 0, with as many ticks as fit their labels.

    On the relative scale it runs at most from -100% to +200% (``limits``), so that one wild
    interval does not squeeze the others.
    """
    finite = [v for v in values if not missing(v) and math.isfinite(v)]
    low, high = min([0.0, *finite]), max([0.0, *finite])
    if relative:
        low, high = max(low, limits[0]), min(high, limits[1])
    for count in (5, 4, 3, 2, 1):
        axis = Axis(tuple(nice_ticks(low, high, count)), start, end, relative, margin)
        if axis.labels_fit():
            break
    return axis


def _arrow(x: float, y: float, pointing: int, colour: str) -> str:
    """A small arrowhead at ``x`` pointing left (-1) or right (+1): the value goes on."""
    return (
        f'<path d="M {x:.1f} {y - 5} L {x + 6 * pointing:.1f} {y} L {x:.1f} {y + 5} Z" '
        f'fill="{colour}"/>'
    )


def interval_bar(
    estimate: float, lower: float, upper: float, axis: Axis, *, verdict: str, title: str
) -> str:
    """One row's interval as a small SVG on the table's shared axis.

    A line from lower to upper, a dot at the estimate, a dashed line at 0, and arrows where
    a bound lies beyond the axis. Its colour repeats the verdict the row says in words.
    """
    colour = VERDICT_COLOURS.get(verdict, MUTED)
    y = BAR_HEIGHT / 2
    zero = axis.position(0.0)
    parts = [
        f'<svg class="bar" xmlns="http://www.w3.org/2000/svg" width="{BAR_WIDTH}" '
        f'height="{BAR_HEIGHT}" viewBox="0 0 {BAR_WIDTH} {BAR_HEIGHT}" role="img">'
        f"<title>{html.escape(title)}</title>",
        f'<line x1="{zero:.1f}" y1="0" x2="{zero:.1f}" y2="{BAR_HEIGHT}" '
        f'stroke="{ZERO_LINE}" stroke-dasharray="3 2"/>',
    ]
    low = -math.inf if missing(lower) else lower
    high = math.inf if missing(upper) else upper
    if not (missing(lower) and missing(upper)):
        x1, x2 = axis.position(low), axis.position(high)
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y}" x2="{x2:.1f}" y2="{y}" stroke="{colour}" '
            'stroke-width="4" stroke-linecap="butt"/>'
        )
        if low < axis.low:
            parts.append(_arrow(x1, y, -1, colour))
        if high > axis.high:
            parts.append(_arrow(x2, y, 1, colour))
    if not missing(estimate):
        parts.append(
            f'<circle cx="{axis.position(estimate):.1f}" cy="{y}" r="5" fill="{colour}" '
            'stroke="white" stroke-width="1.5"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def axis_strip(axis: Axis) -> str:
    """The tick labels above a column of interval bars (same width and positions)."""
    parts = [
        f'<svg class="bar-axis" xmlns="http://www.w3.org/2000/svg" width="{BAR_WIDTH}" '
        f'height="16" viewBox="0 0 {BAR_WIDTH} 16" aria-hidden="true">'
    ]
    for tick in axis.ticks:
        anchor = _anchor(axis.position(tick), axis, axis.label(tick))
        parts.append(
            f'<text x="{axis.position(tick):.1f}" y="12" font-size="11" '
            f'text-anchor="{anchor}" fill="{MUTED}">{axis.label(tick)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _anchor(x: float, axis: Axis, text: str) -> str:
    """Where a tick label anchors: centred on its tick, or inwards at the axis's ends.

    A centred label that would reach beyond the axis and its margin aligns inwards instead,
    so that no sign is cut off.
    """
    half = len(text) * CHAR_WIDTH / 2
    if x - half < min(axis.start, axis.end) - axis.margin:
        return "start"
    if x + half > max(axis.start, axis.end) + axis.margin:
        return "end"
    return "middle"


def bar_axis(values: Sequence[float]) -> Axis:
    """The shared axis of a column of interval bars."""
    return axis_for(values, start=BAR_PAD, end=BAR_WIDTH - BAR_PAD, margin=BAR_PAD)


@dataclass(frozen=True)
class Series:
    """A line over days with its interval band; values on the relative scale (or not)."""

    days: Sequence[float]
    estimate: Sequence[float]
    lower: Sequence[float]
    upper: Sequence[float]
    relative: bool = True


#: The over-time chart's size and margins (px in its viewBox).
CHART = {"width": 420, "height": 226, "left": 60, "right": 18, "top": 20, "bottom": 30}


def time_series_chart(series: Series, title: str) -> str:
    """The cumulative effect day by day as a line, with its interval as a band.

    The band is the interval the verdict reads; a dashed line marks 0. Both axes have nice
    ticks, their labels inside the drawing.
    """
    width, height = CHART["width"], CHART["height"]
    bottom = height - CHART["bottom"]
    y_axis = axis_for(
        [*series.lower, *series.upper, *series.estimate],
        start=bottom,
        end=CHART["top"],
        relative=series.relative,
    )
    first, last = min(series.days), max(series.days)
    day_ticks = _day_ticks(first, last)
    x_axis = Axis(
        (day_ticks[0], day_ticks[-1]),
        CHART["left"],
        width - CHART["right"],
        relative=False,
        margin=CHART["right"],
    )

    def point(day: float, value: float) -> str:
        return f"{x_axis.position(day):.1f},{y_axis.position(value):.1f}"

    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img"><title>{html.escape(title)}</title>',
        *_grid(y_axis, x_axis, day_ticks, bottom),
    ]
    band = _band(series, point)
    if band:
        parts.append(f'<polygon points="{band}" fill="#0969da" opacity="0.18"/>')
    line = " ".join(
        point(d, v) for d, v in zip(series.days, series.estimate, strict=True) if not missing(v)
    )
    parts.append(f'<polyline points="{line}" fill="none" stroke="#0969da" stroke-width="2"/>')
    bounds = [v for v in (*series.lower, *series.upper) if not missing(v)]
    if any(v < y_axis.low or v > y_axis.high for v in bounds):
        # The axis stops at -100% and +200%: say where the band runs on beyond it.
        parts.append(
            f'<text x="{x_axis.end}" y="12" font-size="12" text-anchor="end" '
            f'fill="{MUTED}">band cut at the axis ends</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _day_ticks(first: float, last: float) -> list[float]:
    """The first and last days shown, and round days between them.

    The round days are multiples of a nice step (1, 2, 7, 14 or 28 days), left out when too
    close to the first or last day.

    >>> _day_ticks(3, 28)
    [3, 14, 21, 28]
    """
    span = max(last - first, 1)
    step = next((s for s in (1, 2, 7, 14, 28) if span / s <= 5), 56)
    inside = [
        d
        for d in range(int(math.ceil(first / step)) * step, int(last) + 1, step)
        if d - first >= step and last - d >= step / 2
    ]
    return [first, *inside, last] if last > first else [first]


def _grid(y_axis: Axis, x_axis: Axis, day_ticks: list[float], bottom: float) -> list[str]:
    parts = []
    for tick in y_axis.ticks:
        y = y_axis.position(tick)
        style = f'stroke="{ZERO_LINE}" stroke-dasharray="4 3"' if tick == 0 else 'stroke="#eaeef2"'
        parts.append(
            f'<line x1="{x_axis.start}" y1="{y:.1f}" x2="{x_axis.end}" y2="{y:.1f}" {style}/>'
        )
        parts.append(
            f'<text x="{x_axis.start - 6}" y="{y + 4:.1f}" font-size="13" text-anchor="end" '
            f'fill="{MUTED}">{y_axis.label(tick)}</text>'
        )
    for day in day_ticks:
        x = x_axis.position(day)
        parts.append(
            f'<text x="{x:.1f}" y="{bottom + 20}" font-size="13" '
            f'text-anchor="{_anchor(x, x_axis, f"day {day:g}")}" fill="{MUTED}">day {day:g}</text>'
        )
    return parts


def _band(series: Series, point: Callable[[float, float], str]) -> str:
    """The interval band's polygon: the upper bounds forwards, the lower ones back.

    An unbounded (one-sided) bound runs along the edge of the chart.
    """
    rows = [
        (d, -math.inf if missing(lo) else lo, math.inf if missing(up) else up)
        for d, lo, up in zip(series.days, series.lower, series.upper, strict=True)
        if not (missing(lo) and missing(up))
    ]
    if not rows:
        return ""
    upper = [point(d, up) for d, _, up in rows]
    lower = [point(d, lo) for d, lo, _ in reversed(rows)]
    return " ".join(upper + lower)
