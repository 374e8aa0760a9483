"""Server-side SVG charts: geometry, escaping, and no inline styles (the CSP forbids them)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labelwise.server.ui import charts

SVG = "{http://www.w3.org/2000/svg}"
EVIL = '<script>alert(1)</script>" onload="x'


def number(element: ET.Element, attribute: str) -> float:
    value = element.get(attribute)
    assert value is not None, attribute
    return float(value)


def parse(markup: object) -> ET.Element:
    # Parsing fails on any unescaped "<" or quote from the data: a strict escaping check.
    # str() first: Markup.replace would escape the namespace we add.
    return ET.fromstring(str(markup).replace("<svg ", f'<svg xmlns="{SVG[1:-1]}" ', 1))


class TestNiceTicks:
    @pytest.mark.parametrize(
        ("low", "high", "count", "expected"),
        [
            (0, 1, 6, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
            (0, 1000, 6, [0, 200, 400, 600, 800, 1000]),
            (0, 730, 6, [0, 200, 400, 600, 800]),
            (0.6, 1.0, 5, [0.6, 0.7, 0.8, 0.9, 1.0]),
        ],
    )
    def test_known_ranges(self, low, high, count, expected):
        assert charts.nice_ticks(low, high, count) == pytest.approx(expected)

    @given(
        st.floats(min_value=-1e6, max_value=1e6),
        st.floats(min_value=1e-3, max_value=1e6),
        st.integers(min_value=2, max_value=10),
    )
    def test_ticks_cover_the_range_in_equal_steps(self, low, span, count):
        ticks = charts.nice_ticks(low, low + span, count)
        assert len(ticks) >= 2
        steps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
        step = steps[0]
        assert max(steps) - min(steps) <= 1e-6 * step
        # Covered to within a millionth of a step (float noise in low / step).
        assert ticks[0] <= low + 1e-6 * step
        assert ticks[-1] >= low + span - 1e-6 * step

    def test_an_empty_range_still_gets_ticks(self):
        assert len(charts.nice_ticks(5, 5)) >= 2


class TestBar:
    def test_fill_width_is_the_fraction(self):
        root = parse(charts.bar(0.25, label="a"))
        fill = [r for r in root.iter(f"{SVG}rect") if "fill" in r.get("class", "")]
        assert fill[0].get("width") == "25"

    @pytest.mark.parametrize(("fraction", "width"), [(-1, "0"), (2, "100")])
    def test_fraction_is_clipped(self, fraction, width):
        root = parse(charts.bar(fraction, label="a"))
        assert [r.get("width") for r in root.iter(f"{SVG}rect")][-1] == width

    def test_label_is_escaped(self):
        markup = str(charts.bar(0.5, label=EVIL))
        assert "<script>" not in markup
        assert parse(markup).get("aria-label") == EVIL

    def test_stacked_parts_add_up_to_the_full_width(self):
        root = parse(charts.stacked_bar([("a", 3, "primary"), ("b", 1, "warn")], label="x"))
        parts = list(root.iter(f"{SVG}rect"))[1:]  # after the track
        assert [number(r, "width") for r in parts] == pytest.approx([75, 25])
        assert [number(r, "x") for r in parts] == pytest.approx([0, 75])


class TestLearningCurve:
    POINTS = [
        charts.CurvePoint(x=100, y=0.5, low=0.4, high=0.6, note="v1"),
        charts.CurvePoint(x=200, y=0.7, low=0.62, high=0.77, note=EVIL),
        charts.CurvePoint(x=400, y=0.8, low=0.74, high=0.85, note="v3"),
    ]

    def test_draws_points_band_and_line(self):
        line = charts.CurveSeries("audit", self.POINTS)
        root = parse(charts.learning_curve([line], x_label="labels", y_label="acc", title="t"))
        assert len(list(root.iter(f"{SVG}circle"))) == 3
        assert len(list(root.iter(f"{SVG}polygon"))) == 1
        assert len(list(root.iter(f"{SVG}polyline"))) == 1
        assert [t.text for t in root.iter(f"{SVG}title")][1:] == ["v1", EVIL, "v3"]

    def test_higher_accuracy_is_drawn_higher(self):
        root = parse(
            charts.learning_curve(
                [charts.CurveSeries("a", self.POINTS)], x_label="", y_label="", title=""
            )
        )
        ys = [number(c, "cy") for c in root.iter(f"{SVG}circle")]
        xs = [number(c, "cx") for c in root.iter(f"{SVG}circle")]
        assert ys[0] > ys[1] > ys[2]  # SVG's y grows downwards
        assert xs[0] < xs[1] < xs[2]

    def test_a_late_first_model_is_not_squeezed_into_the_corner(self):
        late = [charts.CurvePoint(x=x, y=0.9) for x in (116, 140, 168)]
        root = parse(
            charts.learning_curve([charts.CurveSeries("a", late)], x_label="", y_label="", title="")
        )
        xs = [number(c, "cx") for c in root.iter(f"{SVG}circle")]
        assert xs[-1] - xs[0] > 0.5 * 960  # spread over more than half the width

    def test_no_points_draws_nothing(self):
        assert charts.learning_curve([], x_label="", y_label="", title="") == ""
        empty = charts.CurveSeries("a", [])
        assert charts.learning_curve([empty], x_label="", y_label="", title="") == ""

    def test_series_share_the_axes_and_keep_their_tone(self):
        low = charts.CurveSeries("eval", [charts.CurvePoint(x=10, y=0.5)], "primary")
        high = charts.CurveSeries("audit", [charts.CurvePoint(x=10, y=0.9)], "secondary")
        root = parse(charts.learning_curve([low, high], x_label="", y_label="", title=""))
        dots = {
            g.get("class"): number(circle, "cy")
            for g in root.iter(f"{SVG}g")
            for circle in g.iter(f"{SVG}circle")
        }
        assert dots["series primary"] > dots["series secondary"]

    def test_every_band_is_drawn_before_any_line(self):
        banded = [charts.CurvePoint(x=x, y=0.5, low=0.4, high=0.6) for x in (1, 2, 3)]
        lines = [charts.CurveSeries("a", banded), charts.CurveSeries("b", banded, "secondary")]
        root = parse(charts.learning_curve(lines, x_label="", y_label="", title=""))
        order = [
            e.tag.removeprefix(SVG) for e in root.iter() if e.tag.endswith(("polygon", "polyline"))
        ]
        assert order == ["polygon", "polygon", "polyline", "polyline"]


class TestHistogram:
    def test_bar_heights_follow_counts_on_the_shared_scale(self):
        root = parse(charts.histogram([0, 5, 10], y_max=20, title="t"))
        heights = [number(r, "height") for r in root.iter(f"{SVG}rect")]
        assert heights[0] == 0
        assert heights[2] == pytest.approx(2 * heights[1])
        full = parse(charts.histogram([20], y_max=20, title="t"))
        assert number(next(full.iter(f"{SVG}rect")), "height") > heights[2]


def test_no_chart_uses_inline_styles():
    markups = [
        charts.bar(0.3, label="a"),
        charts.stacked_bar([("a", 1, "primary")], label="a"),
        charts.learning_curve(
            [charts.CurveSeries("s", TestLearningCurve.POINTS)], x_label="a", y_label="b", title="c"
        ),
        charts.histogram([1, 2, 3], y_max=3, title="h"),
    ]
    for markup in markups:
        assert not re.search(r"\sstyle=", str(markup))
