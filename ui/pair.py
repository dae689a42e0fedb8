"""The pair (a, b) a page follows: two linked number inputs, and a map whose click sets them.

Basics and Trace both pick one input pair this way. The inputs open on the link's ``a`` and
``b`` (:mod:`ui.links`), else on the page's default; a click on a map of pairs
(``ui.figures.basics``' clickable cells) sets them in its ``on_select`` callback, which
Streamlit runs before the rerun's widgets exist, so the inputs then open on the clicked pair.
"""

from __future__ import annotations

from typing import Any, Callable

import streamlit as st


def show_map(chart_spec: dict, chart_key: str, prefix: str, p: int, table: Callable[[], Any]) -> None:
    """Draw a map of pairs whose click picks the pair of the inputs keyed ``<prefix>.a`` and
    ``<prefix>.b``; only its click selection reports to the server (hovering stays in the
    browser). ``table``: its cells for the CSV download (``ui.charts.show``)."""
    from ui import charts
    from ui.figures.basics import SELECTION

    charts.show(
        chart_spec,
        key=chart_key,
        on_select=on_click(chart_key, prefix, p),
        selection=[SELECTION],
        table=table,
    )


def on_click(chart_key: str, prefix: str, p: int) -> Callable[[], None]:
    """The ``on_select`` callback of the map drawn under ``chart_key``: a valid clicked cell
    becomes the pair of the inputs keyed ``<prefix>.a`` and ``<prefix>.b``."""

    def pick() -> None:
        from ui.figures.basics import clicked

        event = st.session_state.get(chart_key) or {}
        if (pair := clicked(event.get("selection"), p)) is not None:
            st.session_state[f"{prefix}.a"], st.session_state[f"{prefix}.b"] = pair

    return pick


def inputs(prefix: str, p: int, default_a: int, default_b: int) -> tuple[int, int]:
    """The two number inputs, side by side and deep-linked as ``a`` and ``b``."""
    from ui import links

    c1, c2 = st.columns(2)
    a = links.number_input(c1, "a", "a", 0, p - 1, default_a, key=f"{prefix}.a")
    b = links.number_input(c2, "b", "b", 0, p - 1, default_b, key=f"{prefix}.b")
    return a, b
