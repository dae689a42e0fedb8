"""The tensor scope: one chart builder for every section (pure Altair, numpy and pandas).

A scope draws a stack of same-shape arrays ("lines") over their last axis. One other axis,
the *play axis*, is shipped whole to the browser and scrubbed there: a Vega-Lite parameter
``play_<axis>`` bound to a range input picks the slice, and a second parameter
``playing_<axis>`` bound to a checkbox lets a Vega timer sweep it. No server round trip is
involved in scrubbing or playing. Every other axis was fixed by the caller (in the app: a
Streamlit slider, see ``ui/scope_widget.py``).

Why a plain dict, and how the play button works. Vega-Lite has no timer, but a top-level
variable parameter is compiled to a Vega signal by copying every property it does not know
(``const {expr, bind, ...rest} = param``, vega-lite ``src/parameter.ts``), so an ``on``
handler with Vega's ``timer`` event stream reaches Vega untouched. The schema forbids
``on``, so :class:`ScopeChart` keeps the handler in ``usermeta["scope"]["timers"]`` and moves
it into the parameter only in the spec it hands out (:meth:`ScopeChart.vega_lite`,
:meth:`ScopeChart.to_dict`), after any validation. The spec is written as a dict, not built
from Altair objects: Altair's construction, copies and schema validation cost ~100-200 ms
per scope on every rerun, the dict ~1 ms; ``tests/test_scope.py`` validates the dicts
against the Vega-Lite schema instead. The app draws it with ``st.vega_lite_chart``.

Rendering: the scope asks vega-embed for the canvas renderer (``usermeta.embedOptions``,
which Streamlit passes through): a scrub step then repaints one canvas instead of patching
hundreds of SVG nodes. Marks skip their ARIA descriptions (computed per item on every
step; a canvas exposes only the chart's accessible name anyway).

A spec that neither a server slider nor a change of view changes. The datasets have fixed
names (points, values, markers, info) and whatever follows the server's indices (the title,
the index line and the captions, the value range, the opening play index) is read by
expressions from the ``info`` rows; so when a server-side slider moves, the spec is the same
and the browser swaps rows into the chart it has (keeping the reader's play position and
Play) instead of building a new one; a spec that changes is a new chart, its play position
lost. The three line views (space, Fourier, magnitude: :data:`LINE_VIEWS`) share one spec
too: it holds the layers of all three (a line; the Fourier view's stems; the magnitude
view's stems; the y = 0 rule), each keeping the points of its own view (the points carry
their view's code), and the x range and axis titles are read from the info rows
(``ui/scope_layers.py``); so a change among them, made by the server-side view control
(``ui/scope_widget.py``), sends the drawn view's rows only (one view's points: no more data
than before) and keeps the chart. The heatmap view has a spec of its own. Values travel as
text (see ``ui/scope_codec.py``), one row per slice.

Why not a toggle in the browser (a Vega parameter bound to a radio)? It would have to ship
every view's values at once (three times the data, within the same budget: fewer slices), and
the server would still have to learn the view, for the link ("Link to this view" writes
``<link>.view``) and the CSV of the drawn view, through a selection reported by
``st.vega_lite_chart(on_select=...)``: a rerun all the same. The server-side control with a
spec shared by the views costs a rerun that sends rows, and keeps the chart.

The element's height (:func:`element_height`). A scope's element is given a fixed height
(the chart, whose own ``height`` includes its title, legend and x axis, plus the play
bindings), and the chart fills it ("fit"). Streamlit then sizes the chart by its container
in the page and in fullscreen alike, and the switch to fullscreen only resizes it (to the
window's height less the bindings': it fits the window); a chart sized by its content is
built anew on that switch (Streamlit's key for the chart includes whether its height comes
from the container), its play position lost.

Point budget (:data:`MAX_POINTS`, 50 000 points to the browser per chart). The cost of one
play slice is lines x points per line (+ its markers), the line views all counted as the
space view (so that they keep the same slices and share a spec). If all slices do not fit, the play
axis is *subsampled with a stride* (every k-th index from 0, whatever the opening index,
which moves to the nearest kept slice; the slider's step becomes k). With
``subsample=False``, or when one slice alone exceeds the budget, :func:`scope_chart` raises
``ValueError``. The final spec is checked with :func:`point_count` before it is returned.

Where the parts live. This module is the scope's public face: :func:`scope_chart` (which
checks its arguments, fits the play axis into the budget and assembles the spec),
:class:`ScopeChart`, the point budget and :func:`validate_spec`; every public name of the
parts below is importable from here too.

- ``ui/scope_tables.py``: the views (what each draws, :func:`value_range`), :class:`Marker`,
  and the datasets the browser receives, by name;
- ``ui/scope_codec.py``: the fixed-width base-36 text the values travel as, with the decoder
  the browser runs and the same decoding in Python (:func:`decoded`, for tests);
- ``ui/scope_layers.py``: the Vega-Lite pieces: data layers, marker layers, the play
  parameters and their timer, the title, the axes;
- ``ui/scope_widget.py``: the Streamlit wrapper (server-side sliders, the view control).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from lens.fourier import n_freqs
from ui.scope_codec import CODE_GAP, CODE_LEVELS, CODE_WIDTH, browser_decoder, decoded, encoded_count
from ui.scope_layers import (
    MAX_TICK_MS,
    MIN_TICK_MS,
    SWEEP_SECONDS,
    add_play,
    axis,
    data_layers,
    line_view_frame,
    marker_layers,
    play_param_name,
    playing_param_name,
    title_spec,
)
from ui.scope_tables import (
    FOURIER_VIEWS,
    INFO,
    LINE_VIEWS,
    MARKERS,
    POINTS,
    VALUES,
    VIEWS,
    Marker,
    data_tables,
    info_table,
    label_headroom,
    marker_table,
    value_range,
    view_values,
)
from ui.theme import FONT, INK, LINE_WIDTH

# The scope's API, defined here or in its parts, and imported from here (``n_freqs`` too:
# ui/scope_widget.py takes it with the rest).
__all__ = [
    "CODE_GAP",
    "CODE_LEVELS",
    "CODE_WIDTH",
    "FOURIER_VIEWS",
    "LINE_VIEWS",
    "INFO",
    "MARKERS",
    "MAX_POINTS",
    "MAX_TICK_MS",
    "MIN_TICK_MS",
    "POINTS",
    "SCHEMA_URL",
    "SWEEP_SECONDS",
    "VALUES",
    "VIEWS",
    "Marker",
    "ScopeChart",
    "axis",
    "decoded",
    "element_height",
    "fit_play_axis",
    "n_freqs",
    "play_param_name",
    "playing_param_name",
    "point_count",
    "scope_chart",
    "validate_spec",
    "value_range",
    "view_values",
]

MAX_POINTS = 50_000


# ----------------------------------------------------------------------------- budget


def fit_play_axis(
    n_play: int, slice_cost: int, start: int = 0, max_points: int = MAX_POINTS, subsample: bool = True
) -> np.ndarray:
    """Positions along the play axis that the browser gets: all, or every k-th (start kept).

    ``slice_cost`` is the number of rows one play slice costs. Raises ``ValueError`` when one
    slice alone is over budget, or when subsampling is needed and ``subsample`` is False.
    """
    if slice_cost > max_points:
        raise ValueError(
            f"one slice costs {slice_cost} points, over the browser budget of {max_points}: "
            "draw fewer lines or a smaller slice"
        )
    if n_play * slice_cost <= max_points:
        return np.arange(n_play)
    if not subsample:
        raise ValueError(
            f"{n_play} play slices x {slice_cost} points = {n_play * slice_cost} > {max_points}; "
            "pass subsample=True to keep every k-th slice"
        )
    fit = max_points // slice_cost
    stride = math.ceil(n_play / fit)
    while len(range(start % stride, n_play, stride)) > fit:
        stride += 1
    return np.arange(start % stride, n_play, stride)


def point_count(obj: Any) -> int:
    """Points a chart sends to the browser: the rows of its datasets, except that a scope's
    values table counts every value it encodes (not its rows, one per slice). Or the
    elements of array data.

    Accepts a :class:`ScopeChart`, an Altair chart, a spec dict, an ndarray or a dict of
    ndarrays.
    """
    if isinstance(obj, np.ndarray):
        return int(obj.size)
    if isinstance(obj, Mapping) and obj and all(isinstance(v, np.ndarray) for v in obj.values()):
        return int(sum(v.size for v in obj.values()))
    if isinstance(obj, ScopeChart):
        return int(sum(_points_in(df) for df in obj.datasets.values()) + _inline_rows(obj.spec))
    if hasattr(obj, "to_dict") and not isinstance(obj, Mapping):  # an Altair chart
        return _frame_rows(obj)
    return int(sum(_points_in(rows) for rows in obj.get("datasets", {}).values()) + _inline_rows(obj))


def _points_in(rows: pd.DataFrame | list[dict]) -> int:
    """Rows, or for a scope's values table (column ``s`` of codes) the values encoded."""
    n = encoded_count(rows)
    return len(rows) if n is None else n


def _frame_rows(chart: Any) -> int:
    """Rows of every distinct DataFrame in an Altair chart and its layers (no serialisation)."""
    seen: dict[int, int] = {}

    def walk(c: Any) -> None:
        data = getattr(c, "data", None)
        if isinstance(data, pd.DataFrame):
            seen[id(data)] = len(data)
        for key in ("layer", "vconcat", "hconcat", "concat"):
            subs = getattr(c, key, None)
            for sub in subs if isinstance(subs, list) else []:
                walk(sub)

    walk(chart)
    return sum(seen.values())


def _inline_rows(spec: Any) -> int:
    if isinstance(spec, dict):
        n = (
            len(spec["data"]["values"])
            if isinstance(spec.get("data"), dict) and "values" in spec["data"]
            else 0
        )
        return n + sum(_inline_rows(v) for k, v in spec.items() if k not in ("data", "datasets"))
    if isinstance(spec, list):
        return sum(_inline_rows(v) for v in spec)
    return 0


# ----------------------------------------------------------------------------- chart
SCHEMA_URL = "https://vega.github.io/schema/vega-lite/v6.json"


class ScopeChart:
    """A scope's Vega-Lite layer spec (a plain dict) and its data (named DataFrames).

    ``spec`` references each dataset as ``{"data": {"name": ...}}``; ``datasets`` maps those
    names to DataFrames. The play timer lives in ``usermeta["scope"]["timers"]`` (valid
    Vega-Lite) and is moved into its parameter as ``on`` by :meth:`vega_lite` and
    :meth:`to_dict`, the specs handed out.
    """

    def __init__(self, spec: dict, datasets: dict[str, pd.DataFrame]):
        self.spec = spec
        self.datasets = datasets

    def properties(self, **kwargs: Any) -> "ScopeChart":
        """A copy with top-level properties set (``height=...``, ``title=...``)."""
        return ScopeChart({**self.spec, **kwargs}, self.datasets)

    def vega_lite(self) -> dict:
        """The spec for ``st.vega_lite_chart``: datasets as DataFrames, timers in place."""
        return _with_timers({**self.spec, "datasets": dict(self.datasets)})

    def to_dict(self, validate: bool = False, **_: Any) -> dict:
        """A JSON-ready spec, datasets as lists of records (Altair's format).

        ``validate``: check it against the Vega-Lite schema first (jsonschema via Altair;
        slow, for tests), before the timers, which the schema forbids, go in."""
        spec = {**self.spec, "datasets": {k: _records(df) for k, df in self.datasets.items()}}
        if validate:
            validate_spec(spec)
        return _with_timers(spec)


def validate_spec(spec: dict) -> None:
    """Raise if ``spec`` (JSON-ready) is not a valid Vega-Lite spec.

    An axis title that is a Vega signal (the line views read theirs from the info dataset,
    ``ui/scope_layers.py``) is checked as text: Vega-Lite compiles such a title as it is,
    but its JSON schema lists text only."""
    import altair as alt  # only tests validate: keep Altair's schema off the app's path

    alt.TopLevelSpec.validate(_signal_titles_as_text(spec))


def _signal_titles_as_text(node: Any) -> Any:
    if isinstance(node, list):
        return [_signal_titles_as_text(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _signal_titles_as_text(v) for k, v in node.items() if k != "datasets"}
    if "datasets" in node:
        out["datasets"] = node["datasets"]
    axis_title = out.get("axis", {}).get("title") if isinstance(out.get("axis"), dict) else None
    if isinstance(axis_title, dict) and set(axis_title) == {"signal"}:
        out["axis"] = {**out["axis"], "title": axis_title["signal"]}
    return out


def _with_timers(spec: dict) -> dict:
    timers = spec.get("usermeta", {}).get("scope", {}).get("timers", {})
    if timers and "params" in spec:
        spec["params"] = [
            {**p, "on": timers[p["name"]]} if p["name"] in timers else p for p in spec["params"]
        ]
    return spec


def _records(df: pd.DataFrame) -> list[dict]:
    floats = {c: np.float64 for c in df.columns if df[c].dtype.kind == "f"}
    return df.astype(floats).to_dict(orient="records")


def _lines(slices: np.ndarray | Mapping[str, np.ndarray], name: str) -> dict[str, np.ndarray]:
    if isinstance(slices, Mapping):
        out = {str(k): np.asarray(v, dtype=np.float64) for k, v in slices.items()}
    else:
        out = {name: np.asarray(slices, dtype=np.float64)}
    if not out:
        raise ValueError("no data to draw")
    shapes = {v.shape for v in out.values()}
    if len(shapes) != 1:
        raise ValueError(f"all lines must have one shape, got {sorted(shapes)}")
    return out


def scope_chart(
    slices: np.ndarray | Mapping[str, np.ndarray],
    *,
    x_axis: str = "x",
    row_axis: str | None = None,
    play: str | None = None,
    play_index: Sequence[int] | None = None,
    play_start: int | None = None,
    fixed: Mapping[str, int] | None = None,
    view: str = "space",
    markers: Sequence[Marker] | Sequence[Sequence[Marker]] | None = None,
    captions: str | Sequence[str] | None = None,
    play_labels: Sequence[str] | None = None,
    play_title: str | None = None,
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    row_title: str | None = None,
    y_domain: tuple[float, float] | None = None,
    height: int = 320,
    max_points: int = MAX_POINTS,
    subsample: bool = True,
    autoplay: bool = False,
    sweep_seconds: float = SWEEP_SECONDS,
    note: str | None = None,
) -> ScopeChart:
    """Build the scope chart for slices the caller has already picked on the server.

    Args:
        slices: one array, or ``{legend name: array}`` of one shape. Line views: ``[play, x]``
            with ``play`` given, else ``[x]``. Heatmap view: ``[play, row, x]`` or ``[row, x]``
            (one array only).
        x_axis: the name of the last axis (e.g. "a"); ``row_axis`` the heatmap's rows.
        play: the name of the leading axis scrubbed in the browser, or None.
        play_index: the index along the original play axis of each slice (default
            0..n-1); must be evenly spaced.
        play_start: the opening play index (default the first).
        fixed: the indices the server picked on the other axes, shown in the title.
        view: "space", "fourier", "magnitude" (need a last axis of length p) or "heatmap".
        markers: one list for all slices, or one list per play slice; markers whose
            ``view`` does not match are dropped.
        captions: one string, or one per play slice (shown under the title, following the
            play index).
        play_labels: one per play slice: what the title's index line says of the slice
            shown (e.g. "cut = +0.53") instead of "<play> = <index>"; the slider still moves
            the index.
        play_title: the play slider's label (default ``play``), e.g. "threshold step" where
            ``play_labels`` say what the step stands for.
        x_title, y_title: the x axis title (default ``x_axis``) and the value's title (the y
            axis, or the heatmap's colour legend); ``row_title``: the heatmap's y axis title
            (default ``row_axis``).
        y_domain: the fixed value range (y, or colour for heatmaps); default: global over
            ``slices`` in this view. Pass the range over the whole tensor so server-side
            sliders do not move it either.
        max_points, subsample: the browser budget; see the module docstring.
        autoplay: start with the sweep running (the "play" checkbox ticked).
        sweep_seconds: duration of one full pass of the play axis.
        note: an extra line for the title (e.g. that the play axis was subsampled).

    Returns a :class:`ScopeChart` (a Vega-Lite layer spec and its DataFrames).
    """
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; expected one of {VIEWS}")
    lines = _lines(slices, y_title or "value")
    first = next(iter(lines.values()))
    core_ndim = 2 if view == "heatmap" else 1
    if view == "heatmap" and len(lines) != 1:
        raise ValueError("the heatmap view draws one array; got " + ", ".join(lines))
    has_play = play is not None
    if first.ndim != core_ndim + has_play:
        raise ValueError(
            f"{view} view with play={play!r} needs arrays of {core_ndim + has_play} axes, got shape {first.shape}"
        )
    if not has_play:
        lines = {k: v[None] for k, v in lines.items()}
    n_play = next(iter(lines.values())).shape[0]
    idx = np.arange(n_play) if play_index is None else np.asarray(play_index, dtype=int)
    if len(idx) != n_play:
        raise ValueError(f"play_index has {len(idx)} entries for {n_play} slices")
    start = int(idx[0]) if play_start is None else int(play_start)
    if start not in idx:
        raise ValueError(f"play_start {start} is not among the play indices")
    if view in FOURIER_VIEWS and first.shape[-1] < 3:
        raise ValueError("the Fourier views need a token axis along x")

    per_slice_markers = _per_slice(markers, n_play, "markers")
    per_slice_markers = [[m for m in ms if m.shows_in(view)] for ms in per_slice_markers]
    per_slice_captions = _per_slice_captions(captions, n_play)
    if play_labels is not None and (not has_play or len(play_labels) != n_play):
        raise ValueError(f"play_labels: {len(play_labels)} for {n_play} play slices of play axis {play!r}")

    # Budget: rows per slice, markers included; the line views all count as the space view
    # (the magnitude view's fewer stems would keep more slices), so that they share a spec.
    n_x = first.shape[-1]
    cells = n_x * (first.shape[-2] if view == "heatmap" else 1)
    cost = len(lines) * cells + max((len(ms) for ms in per_slice_markers), default=0)
    # The table of the points of one slice (their line, x, ...) is sent too. The kept slices
    # do not depend on the opening one (the spec must not), which snaps to the nearest kept.
    room = max_points - len(lines) * cells
    keep = fit_play_axis(n_play, cost, 0, room, subsample)
    if y_domain is None:
        y_domain = value_range(np.stack(list(lines.values())), view)
    if view == "heatmap" and y_domain[0] < 0:  # diverging colours: symmetric about 0
        m = max(abs(float(y_domain[0])), abs(float(y_domain[1])))
        y_domain = (-m, m)

    if len(keep) < n_play:
        stride = int(keep[1] - keep[0])
        note = (
            (note + "  ·  ") if note else ""
        ) + f"{play}: every {stride} (browser budget {max_points:,} points)"
    lines = {k: v[keep] for k, v in lines.items()}
    idx = idx[keep]
    start = int(idx[np.argmin(np.abs(idx - start))])
    per_slice_markers = [per_slice_markers[i] for i in keep]
    per_slice_captions = [per_slice_captions[i] for i in keep]
    labels = None if play_labels is None else [str(play_labels[i]) for i in keep]
    step = int(idx[1] - idx[0]) if len(idx) > 1 else 1
    if len(idx) > 1 and np.any(np.diff(idx) != step):
        raise ValueError("play_index must be evenly spaced")

    pname = play_param_name(play) if has_play else None
    points_table, values_table = data_tables(lines, idx, view)
    datasets: dict[str, pd.DataFrame] = {POINTS: points_table, VALUES: values_table}
    # The slice shown: each point finds its slice's row (an unmoving line's points, the row
    # of play -1) and decodes its own value from that row's string.
    shown = pname if has_play else str(int(idx[0]))
    select = browser_decoder(shown, VALUES)
    row = f"({pname} - {int(idx[0])}) / {step}" if has_play else "0"
    layers = data_layers(
        {"name": POINTS},
        select,
        view,
        list(lines),
        x_axis,
        row_axis,
        x_title,
        y_title,
        row_title,
        (y_domain[0] < 0) if view == "heatmap" else None,
        height,
        first.shape[-1],
        n_row=first.shape[-2] if view == "heatmap" else 0,
    )

    if markers is not None:
        x_max = n_freqs(first.shape[-1]) if view in FOURIER_VIEWS else first.shape[-1] - 1
        if all(ms == per_slice_markers[0] for ms in per_slice_markers):
            # The same markers on every slice: sent once (play -1), left alone by a scrub step.
            table = marker_table(np.array([-1]), per_slice_markers[:1], x_max)
        else:
            table = marker_table(idx, per_slice_markers, x_max)
        datasets[MARKERS] = table
        if view != "heatmap":  # room above the data for the labels (a heat map's range is colour)
            y_domain = label_headroom(y_domain, table, height)
        under, over = marker_layers({"name": MARKERS})
        if has_play:
            for lyr in under + over:
                lyr["transform"] = [
                    {"filter": f"datum.play == {pname} || datum.play < 0"},
                    *lyr.get("transform", []),
                ]
        # Rules under the lines (so they do not hide a stem at the same x), but over a
        # heatmap's opaque cells; labels always on top.
        layers = (layers + under if view == "heatmap" else under + layers) + over

    frame = line_view_frame(view, x_axis, x_title, y_title, first.shape[-1]) if view in LINE_VIEWS else None
    datasets[INFO] = info_table(title, fixed, play, idx, per_slice_captions, start, y_domain, frame, labels)
    # An invisible layer that draws nothing: it makes Vega-Lite keep the info dataset, which
    # only expressions read (the title, the y range, the opening play index).
    layers.append({"data": {"name": INFO}, "mark": {"type": "text", "opacity": 0}})

    title_lines = bool(title) + (has_play or bool(fixed)) + (captions is not None) + bool(note)
    spec: dict[str, Any] = {
        "$schema": SCHEMA_URL,
        "layer": layers,
        # The whole chart's height: the plot's ``height`` and what surrounds it (the title, a
        # legend on top, the x axis), so that "fit" leaves the plot about ``height`` tall.
        "height": height + chrome_height(title_lines, len(lines) > 1 and view != "heatmap"),
        "title": title_spec(
            bool(title), fixed, play, pname, row, captions is not None, note, labels is not None
        ),
        # fit: the chart, title and axes included, fills the height it is given. Its element
        # has a fixed height (:func:`element_height`), so Streamlit gives it that height less
        # the sliders', and in fullscreen the window's less theirs: it fits either way.
        "autosize": {"type": "fit", "contains": "padding"},
        "config": {
            "legend": {
                "labelFontSize": FONT,
                "titleFontSize": FONT,
                "symbolStrokeWidth": LINE_WIDTH,
                "labelLimit": 0,  # legend names are written to be read whole
                "labelColor": INK,
                "titleColor": INK,
            },
            "view": {"strokeWidth": 0},
            "mark": {"aria": False},
        },
        "usermeta": {"embedOptions": {"renderer": "canvas"}},
    }
    if has_play:
        add_play(spec, play, pname, idx, step, autoplay, sweep_seconds, play_title)
    chart = ScopeChart(spec, datasets)

    n = point_count(chart)
    if n > max_points:  # not an assert: it must hold under python -O too
        raise RuntimeError(f"scope would send {n} points to the browser, over {max_points}")
    return chart


# What surrounds a scope's plot, in pixels (measured in Chromium at the app's font sizes):
# each title line and the title's offset, a legend on top, the x axis with its title, and the
# padding (Streamlit's 20 px at the bottom, Vega's 5 px elsewhere). And the play axis' two
# bindings (the slider, the play checkbox) under the chart.
TITLE_LINE_PX, TITLE_OFFSET_PX, LEGEND_PX, X_AXIS_PX, PAD_PX = 22, 10, 30, 52, 30
BINDINGS_PX = 62


def chrome_height(title_lines: int, legend: bool) -> int:
    """Pixels around a plot: title lines, a legend on top, the x axis, the padding."""
    title = TITLE_LINE_PX * title_lines + (TITLE_OFFSET_PX if title_lines else 0)
    return title + (LEGEND_PX if legend else 0) + X_AXIS_PX + PAD_PX


def element_height(chart: "ScopeChart") -> int:
    """The height to give a scope's element (``st.vega_lite_chart(height=...)``): the chart
    and its play bindings. A fixed element height is what keeps the chart in fullscreen:
    Streamlit then sizes the chart by its container both in the page and in fullscreen, and
    only resizes it on the switch, where a chart sized by its content is built anew (its
    play position lost)."""
    has_play = any(p.get("bind", {}).get("input") == "range" for p in chart.spec.get("params", []))
    return int(chart.spec["height"]) + (BINDINGS_PX if has_play else 0)


def _per_slice(items: Any, n: int, what: str) -> list[list[Marker]]:
    if not items:
        return [[] for _ in range(n)]
    if isinstance(items[0], Marker):
        return [list(items) for _ in range(n)]
    if len(items) != n:
        raise ValueError(f"{what}: {len(items)} lists for {n} play slices")
    return [list(ms) for ms in items]


def _per_slice_captions(captions: str | Sequence[str] | None, n: int) -> list[str]:
    if captions is None:
        return [""] * n
    if isinstance(captions, str):
        return [captions] * n
    if len(captions) != n:
        raise ValueError(f"captions: {len(captions)} for {n} play slices")
    return [str(c) for c in captions]
