"""The tensor scope's Streamlit wrapper: widgets for the server-side axes, then the chart.

What runs where:
- the play axis is shipped whole (within the point budget) and scrubbed/played in the
  browser (``ui/scope.py``): moving it never reruns the script;
- every other axis is a Streamlit slider keyed ``f"{key}.{axis}"``; moving one reruns the
  script (call the scope inside a fragment to rerun only its section), which slices the
  array and sends new data for the same spec: the browser keeps its chart and the reader's
  play position, and swaps the rows;
- the view is a segmented control keyed ``f"{key}.view"`` (none when only one view applies).
  A change among the line views (space, Fourier, magnitude) reruns the script too, but sends
  new rows for the same spec (``ui/scope.py``): the browser keeps its chart, the reader's play
  position and Play. A change to or from the heatmap builds a new chart (its own spec);
- the chart's element has a fixed height (:func:`ui.scope.element_height`), so that
  fullscreen resizes the chart to the window instead of building it anew.

Deep links (``ui/links.py``): the view and every server slider are choices of the page, so
"Link to this view" writes them and a link opens on them, as ``<link>.view`` and
``<link>.<axis>`` (spaces in an axis name as ``_``), ``link`` defaulting to ``key`` without
its page prefix (``attention.resid_mid`` -> ``resid_mid.view``); ``link_axes`` names an
axis's parameter outright (Attention's ``head``). Each is remembered for the session too.
The browser-side play position is not a server choice, and the server never learns it.

The y (or colour) range is computed over the whole tensor in the chosen view, so neither
the browser's play slider nor a server slider makes the axis jump.
"""

from __future__ import annotations

import weakref
from contextlib import nullcontext
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import streamlit as st

from ui import charts, export
from ui.scope import (
    FOURIER_VIEWS,
    MAX_POINTS,
    Marker,
    element_height,
    fit_play_axis,
    scope_chart,
    value_range,
)

# Axes indexed by a token (0..p-1): the Fourier views make sense along them.
TOKEN_AXES = {"a", "b", "c", "token", "tokens", "n", "x"}

# Below this many browser-side slices, a strided play axis is not worth animating: the
# play axis then becomes a server-side slider like the others.
MIN_PLAY_SLICES = 8

PLAY_HELP = (
    "The axis the Play button and the slider under the chart move along; the others get sliders above it."
)

VIEW_LABELS = {"space": "space", "fourier": "Fourier", "magnitude": "magnitude", "heatmap": "heatmap"}


def show_scope(
    data: Any,
    axes: Sequence[str],
    *,
    key: str,
    play: str | None = None,
    start: dict[str, int] | None = None,
    view: str = "space",
    markers: Callable[[dict[str, int]], list[Marker]] | None = None,
    caption: Callable[[dict[str, int]], str] | None = None,
    play_label: Callable[[dict[str, int]], str] | None = None,
    play_title: str | None = None,
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    heatmap: bool = False,
    fourier: bool | None = None,
    height: int = 320,
    autoplay: bool = False,
    max_points: int = MAX_POINTS,
    row_title: str | None = None,
    link: str | None = None,
    link_axes: Mapping[str, str] | None = None,
) -> None:
    """Draw ``data`` with a slider per axis, a browser-side play axis and a view toggle.

    ``data``: one array or ``{legend name: array}`` of one shape (an array, or a stack computed
    a slice at a time, :class:`lens.stacks.RunningStack`), axes named by ``axes`` (the last is x; with ``heatmap`` the last two are the heatmap's rows and columns). ``play``
    names an axis scrubbed in the browser (not the drawn ones). ``start`` gives opening
    indices. ``markers`` and ``caption`` are called with the full index dict of every
    browser-side slice (play axis included). ``fourier`` allows the Fourier views (default:
    the last axis is a token axis, named in :data:`TOKEN_AXES`).

    Titles: ``x_title`` the x axis; ``y_title`` the value (y axis of the line views, colour
    legend of the heatmap); ``row_title`` the heatmap's y axis (default its axis name). A
    ``y_title`` equal to the heatmap's row axis name is read as the row title.

    ``play_label``: called like ``caption``, what the title says of the browser-side slice
    shown instead of "<play> = <index>" (ReLU: the cut, "cut = +0.53", not its step), and
    ``play_title`` the play slider's label (ReLU: "threshold step").

    ``link``, ``link_axes``: the URL parameters' names (see the module docstring).
    """
    from ui import links

    lines = _as_lines(data, y_title)
    shape = next(iter(lines.values())).shape
    axes = list(axes)
    if len(axes) != len(shape):
        raise ValueError(f"{len(axes)} axis names for data of shape {shape}")
    if len(set(axes)) != len(axes):
        raise ValueError(f"axis names must be distinct: {axes}")
    drawn = axes[-2:] if heatmap else axes[-1:]
    if heatmap and len(axes) < 2:
        raise ValueError("heatmap needs at least two axes")
    if play is not None and (play not in axes or play in drawn):
        raise ValueError(f"play axis {play!r} must be one of {axes} and not a drawn axis {drawn}")
    if heatmap and row_title is None and y_title is not None and y_title == axes[-2]:
        row_title, y_title = y_title, None  # y_title="a" on an [.., a, b] heatmap names the rows
    start = {a: int(np.clip(i, 0, shape[axes.index(a)] - 1)) for a, i in (start or {}).items() if a in axes}
    if fourier is None:
        fourier = axes[-1] in TOKEN_AXES and shape[-1] >= 3

    views = (["heatmap"] if heatmap else []) + ["space"] + (["fourier", "magnitude"] if fourier else [])
    if heatmap and view == "space":  # heatmap=True means "draw it as a heatmap" unless told otherwise
        view = "heatmap"
    if view not in views:
        view = views[0]
    prefix = link or key.split(".", 1)[-1]
    names = {a: (link_axes or {}).get(a, f"{prefix}.{a.replace(' ', '_')}") for a in axes}
    if len(views) > 1:
        why = f"this chart's views are {', '.join(views)}"
        opening = links.choice_param(f"{prefix}.view", views, view, key=f"{key}.view", why=why)
        chosen = st.segmented_control(
            "view",
            views,
            default=opening,
            required=True,
            key=f"{key}.view",
            format_func=VIEW_LABELS.get,
            label_visibility="collapsed",
        )
        chosen = chosen or view
        links.keep(f"{prefix}.view", chosen, view, key=f"{key}.view")
    else:  # one view: a control with a single option would only puzzle
        chosen = view

    drawn = axes[-2:] if chosen == "heatmap" else axes[-1:]
    n_drawn = len(drawn)
    if play is not None:
        play = _play_axis(play, [a for a in axes if a not in drawn and shape[axes.index(a)] > 1], key, prefix)

    # Is the play axis worth shipping, given the budget? Else it is served like the others.
    browser_play = play
    note = None
    if play is not None:
        n_play = shape[axes.index(play)]
        n_x = shape[-1]  # every line view counts as the space view: they share one spec
        cost = len(lines) * n_x * (shape[-2] if chosen == "heatmap" else 1) + 8
        if cost > max_points:
            browser_play = None
        else:
            kept = fit_play_axis(n_play, cost, start.get(play, 0), max_points)
            if len(kept) < min(n_play, MIN_PLAY_SLICES):
                browser_play = None
                note = f"{play} has its own slider above the chart: {n_play} slices are too many to play in one go"

    server_axes = [a for a in axes[: len(axes) - n_drawn] if a != browser_play]
    index: dict[str, int] = {}
    sliders = [a for a in server_axes if shape[axes.index(a)] > 1]
    # Side by side when there are several; one slider gets the full width and no columns (two
    # fewer elements for the browser to redraw on every change).
    # A wide gap: side by side with the small one, two sliders read as one with two thumbs.
    cols = st.columns(min(3, len(sliders)), gap="large") if len(sliders) > 1 else []
    for ax in server_axes:
        n = shape[axes.index(ax)]
        value = int(np.clip(start.get(ax, 0), 0, n - 1))
        if n > 1:
            default = value
            value = links.int_param(names[ax], 0, n - 1, default, key=f"{key}.{ax}")
            with cols[sliders.index(ax) % len(cols)] if cols else nullcontext():
                value = st.slider(ax, 0, n - 1, value, key=f"{key}.{ax}")
            links.keep(names[ax], int(value), default, key=f"{key}.{ax}")
        index[ax] = int(value)

    # Slice on the server: fixed axes picked, play axis (if any) moved to the front.
    order = ([axes.index(browser_play)] if browser_play else []) + [axes.index(a) for a in drawn]
    picks = tuple(index.get(a, slice(None)) for a in axes)
    kept_axes = [a for a in axes if a not in index]  # order after integer indexing
    perm = [kept_axes.index(axes[i]) for i in order]
    slices = {name: np.transpose(arr[picks], perm) for name, arr in lines.items()}

    # Fixed range over the whole tensor in this view, so no slider moves the axis.
    y_domain = _global_range(lines, chosen)

    play_vals = list(range(shape[axes.index(browser_play)])) if browser_play else [None]
    per_markers = None
    per_captions = None
    per_labels = None
    if markers is not None or caption is not None or (play_label is not None and browser_play):
        full = [dict(index, **({browser_play: i} if browser_play else {})) for i in play_vals]
        if markers is not None:
            per_markers = [markers(ix) for ix in full]
            if not browser_play:
                per_markers = per_markers[0]
        if caption is not None:
            per_captions = [caption(ix) for ix in full]
            if not browser_play:
                per_captions = per_captions[0]
        if play_label is not None and browser_play:
            per_labels = [play_label(ix) for ix in full]

    chart = scope_chart(
        slices,
        x_axis=axes[-1],
        row_axis=axes[-2] if chosen == "heatmap" else None,
        play=browser_play,
        play_start=start.get(browser_play, 0) if browser_play else None,
        fixed=index,
        view=chosen,
        markers=per_markers,
        captions=per_captions,
        play_labels=per_labels,
        play_title=play_title if per_labels is not None else None,
        title=title,
        x_title=x_title,
        y_title=y_title,
        row_title=row_title if chosen == "heatmap" else None,
        y_domain=y_domain,
        height=height,
        max_points=max_points,
        autoplay=autoplay,
        note=note,
    )
    drawn_spec = chart.vega_lite()
    st.vega_lite_chart(charts.shipped_datasets(drawn_spec), width="stretch", height=element_height(chart))
    # Its data as drawn (this view, every browser-side slice) and its picture, on a click.
    shown_axes = ([browser_play] if browser_play else []) + drawn
    titles = {
        axes[-1]: x_title or axes[-1],
        **({axes[-2]: row_title or axes[-2]} if chosen == "heatmap" else {}),
    }
    export.scope_buttons(
        drawn_spec, lambda: export.scope_table(slices, chosen, shown_axes, titles), key=f"{key}.export"
    )


def _play_axis(play: str, candidates: list[str], key: str, prefix: str) -> str:
    """The axis the browser plays: the page's ``play`` unless the reader picks another of the
    ``candidates`` (every non-drawn axis with more than one index) in a control keyed
    ``f"{key}.play"``, linked as ``<link>.play``. The axis given up gets a slider like the
    others; one that does not fit the point budget is served too (see :func:`show_scope`)."""
    from ui import links

    if play not in candidates:
        candidates = [play, *candidates]
    if len(candidates) < 2:
        return play
    if st.session_state.get(f"{key}.play") not in (None, *candidates):  # another view drew it
        del st.session_state[f"{key}.play"]
    why = f"this chart can play along {', '.join(candidates)}"
    opening = links.choice_param(f"{prefix}.play", candidates, play, key=f"{key}.play", why=why)
    chosen = st.segmented_control(
        "play along", candidates, default=opening, required=True, key=f"{key}.play", help=PLAY_HELP
    )
    chosen = chosen or play
    links.keep(f"{prefix}.play", chosen, play, key=f"{key}.play")
    return chosen


def _as_lines(data: Any, y_title: str | None) -> dict[str, Any]:
    """``{legend name: array}``. An array stays as given, and so does a stack computed a slice
    at a time (``shape``, indexing and ``blocks()``: :class:`lens.stacks.RunningStack`):
    only the slices the chart shows are ever computed."""
    items = data.items() if isinstance(data, Mapping) else [(y_title or "value", data)]
    lines = {str(k): v if _is_stack(v) else np.asarray(v) for k, v in items}
    shapes = {tuple(v.shape) for v in lines.values()}
    if len(shapes) != 1:
        raise ValueError(f"all arrays must have one shape, got {sorted(shapes)}")
    return lines


def _is_stack(v: Any) -> bool:
    return not isinstance(v, np.ndarray) and hasattr(v, "blocks") and hasattr(v, "shape")


# Value ranges already computed, per object and view: a pass over a whole tensor (in a
# Fourier view, a matrix product over every row of it) on every rerun cost tens of ms of
# server CPU per scope for a number that cannot change. Only for what cannot change: a
# read-only array (the shared ones, ``ui.data.shared_of_run``) or a stack; an entry goes
# when its object does (``weakref.finalize``), so this holds a few floats per live tensor.
_RANGES: dict[int, dict[str, tuple[float, float]]] = {}


def _range(arr: Any, view: str) -> tuple[float, float]:
    if isinstance(arr, np.ndarray) and arr.flags.writeable:
        return value_range(arr, view)
    key = id(arr)
    memo = _RANGES.get(key)
    if memo is None:
        memo = _RANGES.setdefault(key, {})
        weakref.finalize(arr, _RANGES.pop, key, None)
    if view not in memo:
        memo[view] = value_range(arr, view)
    return memo[view]


def _global_range(lines: dict[str, Any], view: str) -> tuple[float, float]:
    lo, hi = np.inf, -np.inf
    for arr in lines.values():
        a, b = _range(arr, view)
        lo, hi = min(lo, a), max(hi, b)
    return float(lo), float(hi)


__all__ = ["show_scope", "Marker", "FOURIER_VIEWS"]
