"""Marker labels keep clear of the data: the scope's value range leaves room above the data
for the labels' rows (ui/scope_tables.label_headroom), and of the other markers' rules (a label
goes left where a neighbouring rule would cross it: ui/scope_tables.label_sides).
tests/browser/test_labels_browser.py checks the same on the chart Vega draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ui.scope import Marker, scope_chart
from ui.scope_tables import LABEL_GAP_PX, LABEL_TEXT_PX, Y_PAD_PX, label_headroom


def _px_from_top(value: float, lo: float, hi: float, height: int) -> float:
    """Where the y scale (padded by Y_PAD_PX at each end, no nice) draws ``value``."""
    return Y_PAD_PX + (hi - value) / (hi - lo) * (height - 2 * Y_PAD_PX)


@pytest.mark.parametrize("rows", [1, 3, 5])
@pytest.mark.parametrize("domain", [(-1.0, 1.0), (0.0, 4.0), (-3.0, -1.0)])
def test_the_highest_value_is_drawn_under_the_lowest_label_row(rows, domain):
    height = 320
    table = pd.DataFrame({"ypix": 4 + 17 * np.arange(rows)})
    lo, hi = label_headroom(domain, table, height)
    assert lo == domain[0] and hi > domain[1]
    block = table["ypix"].max() + LABEL_TEXT_PX + LABEL_GAP_PX
    assert _px_from_top(domain[1], lo, hi, height) == pytest.approx(block)


def test_no_labels_no_headroom():
    assert label_headroom((-1.0, 2.0), pd.DataFrame({"ypix": []}), 320) == (-1.0, 2.0)


def test_a_scope_with_labels_ranges_above_its_data_and_one_without_does_not():
    rng = np.random.default_rng(0)
    wave = rng.normal(size=31)
    marked = scope_chart(
        {"w": wave}, x_axis="token", view="fourier", markers=[Marker(3.0, "f = 3", "fourier")]
    )
    plain = scope_chart({"w": wave}, x_axis="token", view="fourier")
    top = {
        name: float(c.vega_lite()["datasets"]["info"]["hi"][0])
        for name, c in (("marked", marked), ("plain", plain))
    }
    assert top["marked"] > top["plain"]


def test_a_label_moves_left_of_its_rule_where_a_neighbouring_rule_would_cross_it():
    """Key frequencies 41 and 42: "41" on the right of its rule ran across the rule at 42 on
    any plot narrower than ~1600 px. It goes to the left when that side is clear; a label with
    rules on both sides stays right; the right fifth stays left whatever its neighbours."""
    from ui.scope_tables import label_sides, marker_table

    x = np.array([14.0, 35.0, 41.0, 42.0, 52.0])
    labels = ["14", "35", "41", "42", "52"]
    assert label_sides(x, labels, 56).tolist() == [False, False, True, False, True]
    # Three rules a unit apart: the first goes left; the middle one has rules on both sides
    # and keeps the right; the last is clear on the right.
    assert label_sides(np.array([10.0, 11.0, 12.0]), ["a", "b", "c"], 56).tolist() == [True, False, False]
    # Too near the left edge to go left.
    assert label_sides(np.array([0.0, 1.0]), ["0", "1"], 56).tolist() == [False, False]
    table = marker_table(np.array([-1]), [[Marker(v, t) for v, t in zip(x, labels, strict=True)]], 56)
    assert table["right"].tolist() == [False, False, True, False, True]
