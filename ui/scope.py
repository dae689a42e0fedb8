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

A spec that a server slider does not change. The datasets have fixed names (points,
values, markers, info) and whatever follows the server's indices (the title, the index
line and the captions, the value range, the opening play index) is read by expressions from
the ``info`` rows; so when a server-side slider moves, the spec is the same and the browser
swaps rows into the chart it has (keeping the reader's play position) instead of building a
new one. Values travel as text (see :func:`_encoded`), one row per slice.

Point budget (:data:`MAX_POINTS`, 50 000 points to the browser per chart). The cost of one
play slice is lines x points per line (+ its markers). If all slices do not fit, the play
axis is *subsampled with a stride* (every k-th index from 0, whatever the opening index,
which moves to the nearest kept slice; the slider's step becomes k). With
``subsample=False``, or when one slice alone exceeds the budget, :func:`scope_chart` raises
``ValueError``. The final spec is checked with :func:`point_count` before it is returned.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from lens.fourier import basis, basis_freqs, basis_labels, n_freqs, to_fourier
from ui.theme import CHART_TITLE_FONT, FONT, LINE_WIDTH, PALETTE, TITLE_FONT

MAX_POINTS = 50_000

VIEWS = ("space", "fourier", "magnitude", "heatmap")
FOURIER_VIEWS = ("fourier", "magnitude")

SWEEP_SECONDS = 8.0  # one full pass of the play axis
MIN_TICK_MS = 40  # the timer never fires faster than this (25 frames per second)...
MAX_TICK_MS = 1000  # ...nor slower: a play axis of 3 heads steps once a second


@dataclass(frozen=True)
class Marker:
    """A labelled vertical rule.

    ``x`` is a token index in the space and heatmap views, a frequency in the Fourier and
    magnitude views. ``view`` is "space", "fourier" (both Fourier views) or "any".
    """

    x: float
    label: str
    view: str = "space"

    def shows_in(self, view: str) -> bool:
        if self.view == "any":
            return True
        if self.view == "fourier":
            return view in FOURIER_VIEWS
        return view in ("space", "heatmap")


def play_param_name(axis: str) -> str:
    """Name of the browser-side parameter that holds the play index, e.g. ``play_c``."""
    return "play_" + re.sub(r"\W", "_", axis)


def playing_param_name(axis: str) -> str:
    """Name of the browser-side boolean that runs the sweep, e.g. ``playing_c``."""
    return "playing_" + re.sub(r"\W", "_", axis)


# ----------------------------------------------------------------------------- transforms


def view_values(x: np.ndarray, view: str) -> np.ndarray:
    """The numbers a view draws, along the last axis of ``x``.

    space and heatmap: ``x`` itself. fourier: signed amplitudes on the real orthonormal
    basis ``[1, sin 1, cos 1, ...]`` (:func:`lens.fourier.to_fourier`). magnitude: the length
    of each frequency's (sin, cos) pair on that basis, frequencies 0..p // 2, so the squares
    sum to the signal's energy (this is |FFT| x sqrt(2 / p) for 0 < f < p / 2, not the raw
    |FFT| of :func:`lens.fourier.magnitude_spectrum`).
    """
    x = np.asarray(x, dtype=np.float64)
    if view in ("space", "heatmap"):
        return x
    amp = to_fourier(x, axis=-1)
    if view == "fourier":
        return amp
    if view == "magnitude":
        return _magnitude(amp)
    raise ValueError(f"unknown view {view!r}; expected one of {VIEWS}")


def _magnitude(amp: np.ndarray) -> np.ndarray:
    """Per-frequency length of the (sin f, cos f) amplitude pair, frequencies 0..p // 2."""
    return np.sqrt((amp**2) @ _frequency_of_row(amp.shape[-1]))


@lru_cache(maxsize=16)
def _frequency_of_row(p: int) -> np.ndarray:
    """[p, p // 2 + 1]: 1 where a basis row (const, sin 1, cos 1, ...) has that frequency."""
    out = np.zeros((p, n_freqs(p) + 1))
    out[np.arange(p), basis_freqs(p)] = 1.0
    out.setflags(write=False)
    return out


def value_range(x: np.ndarray, view: str) -> tuple[float, float]:
    """Global (min, max) of what ``view`` draws over all of ``x``: a fixed y domain."""
    x = np.asarray(x)
    if view in FOURIER_VIEWS:
        # One 2-D matmul: numpy's batched matmul over [..., p, p] stacks is ~10x slower.
        p = x.shape[-1]
        v = x.reshape(-1, p) @ basis(p).T
        if view == "magnitude":
            v = _magnitude(v)
    else:
        v = x
    # Over the finite values only: a NaN or an infinity is drawn as a gap, not as the range.
    finite = v[np.isfinite(v)] if not np.isfinite(v).all() else v
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if view == "magnitude":
        lo = 0.0
    if view == "fourier":  # stems grow from 0: keep it in range
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi <= lo:
        lo, hi = lo - 1.0, hi + 1.0
    return lo, hi


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
    if isinstance(rows, pd.DataFrame):
        if "s" in rows.columns and "q" in rows.columns:
            return sum(map(len, rows["s"])) // CODE_WIDTH
        return len(rows)
    if rows and isinstance(rows[0], dict) and "s" in rows[0] and "q" in rows[0]:
        return sum(len(r["s"]) for r in rows) // CODE_WIDTH
    return len(rows)


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
# The datasets of every scope, by role. The names never change with the data: when a
# server-side slider moves, the spec stays the same and the browser swaps rows in the chart
# it has instead of building a new one. Everything that follows a server index (the title's
# indices and captions, the y range, the opening play index) is read from ``info``.
POINTS, VALUES, MARKERS, INFO = "points", "values", "markers", "info"
# Values travel as text: each value a fixed-width base-36 code (CODE_WIDTH characters, CODE_LEVELS
# steps across the data's range: rounded to within 1/120 000 000 of it), a slice's values
# one string. The browser then takes in one row per slice, not one per value: a server slider
# that sends a new tensor costs it a few hundred rows instead of tens of thousands of objects.
CODE_WIDTH = 5
CODE_GAP = 36**CODE_WIDTH - 1  # "zzzzz": a missing value (NaN or infinite), drawn as a gap
CODE_LEVELS = CODE_GAP - 1
_DIGITS = np.frombuffer(b"0123456789abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
_ZERO = {"values": [{"y": 0.0}]}  # the y = 0 baseline of the Fourier views (no play column)


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
    """Raise if ``spec`` (JSON-ready) is not a valid Vega-Lite spec."""
    import altair as alt  # only tests validate: keep Altair's schema off the app's path

    alt.TopLevelSpec.validate(spec)


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


def _labels(names: Sequence[str], codes: np.ndarray) -> pd.Categorical:
    """A string column as a categorical: built and shipped (an Arrow dictionary) without
    a Python string per row."""
    return pd.Categorical.from_codes(codes, categories=pd.Index(list(names), dtype=object))


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


def axis(title: str | None, **kw: Any) -> dict:
    """An axis readable on a projector. A title of one to three characters ("a", "b") is
    written upright and larger: turned on its side, a single letter is easy to miss."""
    out: dict[str, Any] = {"title": title, "labelFontSize": FONT, "titleFontSize": TITLE_FONT}
    if title is not None and len(title) <= 3:
        out.update(titleFontSize=FONT + 4, titleFontWeight="bold")
    out.update(kw)
    return out


def _upright(ax: dict) -> dict:
    """A y axis whose short title stands upright beside the labels."""
    if ax.get("title") is not None and len(ax["title"]) <= 3:
        ax.update(titleAngle=0, titleAlign="right", titleBaseline="middle")
    return ax


def _js(s: str) -> str:
    """A string literal for a Vega expression (JSON's escapes are valid there)."""
    return json.dumps(s)


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

    # Budget: rows per slice in this view, markers included.
    n_x = first.shape[-1] if view not in ("magnitude",) else n_freqs(first.shape[-1]) + 1
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
    step = int(idx[1] - idx[0]) if len(idx) > 1 else 1
    if len(idx) > 1 and np.any(np.diff(idx) != step):
        raise ValueError("play_index must be evenly spaced")

    pname = play_param_name(play) if has_play else None
    points_table, values_table = _frame(lines, idx, view)
    datasets: dict[str, pd.DataFrame] = {POINTS: points_table, VALUES: values_table}
    # The slice shown: each point finds its slice's row (an unmoving line's points, the row
    # of play -1) and decodes its own value from that row's string.
    shown = pname if has_play else str(int(idx[0]))
    select = [
        {"calculate": f"datum.moves ? {shown} : -1", "as": "k"},
        {"lookup": "k", "from": {"data": {"name": VALUES}, "key": "play", "fields": ["s", "lo", "q"]}},
        {
            "calculate": f"parseInt(substring(datum.s, datum.i * {CODE_WIDTH}, datum.i * {CODE_WIDTH} + {CODE_WIDTH}), 36)",
            "as": "code",
        },
        {"calculate": f"datum.code == {CODE_GAP} ? null : datum.lo + datum.code * datum.q", "as": "y"},
    ]
    row = f"({pname} - {int(idx[0])}) / {step}" if has_play else "0"
    layers = _layers(
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
            table = _marker_frame(np.array([-1]), per_slice_markers[:1], x_max)
        else:
            table = _marker_frame(idx, per_slice_markers, x_max)
        datasets[MARKERS] = table
        under, over = _marker_layers({"name": MARKERS})
        if has_play:
            for lyr in under + over:
                lyr["transform"] = [
                    {"filter": f"datum.play == {pname} || datum.play < 0"},
                    *lyr.get("transform", []),
                ]
        # Rules under the lines (so they do not hide a stem at the same x), but over a
        # heatmap's opaque cells; labels always on top.
        layers = (layers + under if view == "heatmap" else under + layers) + over

    datasets[INFO] = _info(title, fixed, play, idx, per_slice_captions, start, y_domain)
    # An invisible layer that draws nothing: it makes Vega-Lite keep the info dataset, which
    # only expressions read (the title, the y range, the opening play index).
    layers.append({"data": {"name": INFO}, "mark": {"type": "text", "opacity": 0}})

    spec: dict[str, Any] = {
        "$schema": SCHEMA_URL,
        "layer": layers,
        "height": height,
        "title": _title(bool(title), fixed, play, pname, row, captions is not None, note),
        # fit-x: the width follows the container, ``height`` stays the plot's own height
        # (Streamlit's default "fit" would squeeze the plot under a multi-line title).
        "autosize": {"type": "fit-x", "contains": "padding"},
        "config": {
            "legend": {
                "labelFontSize": FONT,
                "titleFontSize": FONT,
                "symbolStrokeWidth": LINE_WIDTH,
                "labelLimit": 0,  # legend names are written to be read whole
            },
            "view": {"strokeWidth": 0},
            "mark": {"aria": False},
        },
        "usermeta": {"embedOptions": {"renderer": "canvas"}},
    }
    if has_play:
        _add_play(spec, play, pname, idx, step, autoplay, sweep_seconds)
    chart = ScopeChart(spec, datasets)

    n = point_count(chart)
    if n > max_points:  # not an assert: it must hold under python -O too
        raise RuntimeError(f"scope would send {n} points to the browser, over {max_points}")
    return chart


def _info(
    title: str | None,
    fixed: Mapping[str, int] | None,
    play: str | None,
    idx: np.ndarray,
    captions: list[str],
    start: int,
    y_domain: tuple[float, float],
) -> pd.DataFrame:
    """One row per play slice (one row without a play axis): the title's index line (the play
    index is appended live), the caption; and, on every row, the title, the opening play
    index and the value range (the y axis, or a heat map's colours)."""
    parts = [f"{k} = {v}" for k, v in (fixed or {}).items()]
    head = ", ".join(parts + ([f"{play} = "] if play else []))
    lo, hi = float(y_domain[0]), float(y_domain[1])
    n = len(idx)
    return pd.DataFrame(
        {
            "title": _labels([title or ""], np.zeros(n, dtype=np.int8)),
            "head": _labels([head], np.zeros(n, dtype=np.int8)),
            "caption": pd.Categorical(captions),
            "start": np.full(n, start, dtype=np.int32),
            "lo": np.full(n, lo),
            "hi": np.full(n, hi),
        }
    )


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


def _frame(lines: dict[str, np.ndarray], idx: np.ndarray, view: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The points of one slice, and every slice's values.

    ``points``: one row per point drawn in a slice: ``i`` (its position in its row of
    values), ``moves`` (1, or 0 for a line equal on every slice), ``line`` (or the heatmap's
    ``row``), ``x`` [, ``component``]. ``values``: one row per slice (``play``, its index),
    then one row (play -1) for the unmoving lines; see :func:`_encoded`.

    In the browser each point looks up the row of the slice shown (Vega's lookup, a hash
    join over a few hundred rows) and decodes its value from it: a scrub step evaluates a
    couple of small expressions per point drawn, never a pass over every slice's values
    (Streamlit runs Vega with its expression *interpreter*, slow per call), and a new tensor
    from the server is a few hundred rows for the browser to take in.
    """
    names = list(lines)
    n_lines = len(lines)
    vals = np.stack([view_values(a, view).astype(np.float32) for a in lines.values()], axis=1)
    n_play, n_x = vals.shape[0], vals.shape[-1]  # vals: [play, line, (row,) x']
    cols: dict[str, Any]
    if view == "heatmap":
        n_row = vals.shape[2]
        cols = {
            "row": np.repeat(np.arange(n_row, dtype=np.int16), n_x),
            "x": np.tile(np.arange(n_x, dtype=np.int16), n_row),
        }
    elif view == "space":
        cols = {
            "line": _labels(names, np.repeat(np.arange(n_lines, dtype=np.int8), n_x)),
            "x": np.tile(np.arange(n_x, dtype=np.int16), n_lines),
        }
    else:
        if view == "fourier":
            p = n_x
            labels = basis_labels(p)
            # sin f left of f, cos f right of it; the constant and an even p's lone cosine centred.
            side = np.array([0.0] + [-0.22 if k.startswith("sin") else 0.22 for k in labels[1:]])
            if p % 2 == 0:
                side[-1] = 0.0
            x = basis_freqs(p) + side
        else:
            x = np.arange(n_x, dtype=np.float64)
        # Several lines share a frequency: spread them a little.
        offsets = (np.arange(n_lines) - (n_lines - 1) / 2) * (0.3 / n_lines)
        cols = {
            "line": _labels(names, np.repeat(np.arange(n_lines, dtype=np.int8), n_x)),
            "x": (np.tile(x, n_lines) + np.repeat(offsets, n_x)).astype(np.float32),
        }
        if view == "fourier":
            cols["component"] = _labels(labels, np.tile(np.arange(p, dtype=np.int16), n_lines))
    # A line that is the same on every slice (an input drawn beside its transforms, say)
    # is sent once, in a row of its own (play -1; its points have ``moves`` 0).
    moving = np.array(
        [
            # compared before the Fourier transform: BLAS may round equal rows differently
            not np.array_equal(a, np.broadcast_to(a[:1], a.shape))
            for a in lines.values()
        ]
    )
    if n_play == 1:
        moving[:] = True
    per_line = vals[0, 0].size
    moves = np.repeat(moving, per_line)
    i = np.empty(moves.size, dtype=np.int32)
    i[moves] = np.arange(int(moves.sum()))
    i[~moves] = np.arange(int((~moves).sum()))
    points = pd.DataFrame({"i": i, "moves": moves.astype(np.int8), **cols})
    flat = vals.reshape(n_play, -1)
    rows = [flat[:, moves]] + ([flat[:1, ~moves]] if (~moves).any() else [])
    plays = [np.asarray(idx, dtype=np.int32)] + ([np.array([-1], dtype=np.int32)] if (~moves).any() else [])
    return points, _encoded(rows, plays)


def _encoded(rows: list[np.ndarray], plays: list[np.ndarray]) -> pd.DataFrame:
    """``rows`` (2-D blocks, one row per slice) as the values table: ``play``, ``s`` (the row's
    values as fixed-width base-36 codes), and the decoding ``lo`` and ``q``: a value is
    ``lo + int(code, 36) * q``, and the code :data:`CODE_GAP` is a missing one (NaN or
    infinite in the data; the browser draws a gap). One scale for all rows, from the range of
    the data's finite values."""
    every = np.concatenate([r.reshape(-1) for r in rows]).astype(np.float64)
    finite = every[np.isfinite(every)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 0.0
    q = (hi - lo) / CODE_LEVELS if hi > lo else 1.0
    texts = []
    for block in rows:
        block = block.astype(np.float64)
        with np.errstate(invalid="ignore"):
            codes = np.clip(np.rint((block - lo) / q), 0, CODE_LEVELS)
        codes = np.where(np.isfinite(block), codes, CODE_GAP).astype(np.int64)
        digits = np.stack([(codes // 36**k) % 36 for k in range(CODE_WIDTH - 1, -1, -1)], axis=-1)
        chars = _DIGITS[digits].reshape(len(block), -1)
        texts += [bytes(r).decode("ascii") for r in chars]
    n = len(texts)
    return pd.DataFrame({"play": np.concatenate(plays), "s": texts, "lo": np.full(n, lo), "q": np.full(n, q)})


def decoded(values: pd.DataFrame | list[dict]) -> dict[int, np.ndarray]:
    """The values table back as numbers, ``{play: values of that slice}`` (play -1: the
    unmoving lines; NaN: a missing value), decoded as the browser decodes them. For tests."""
    rows = values.to_dict(orient="records") if isinstance(values, pd.DataFrame) else values
    out = {}
    for r in rows:
        s = r["s"]
        codes = np.array([int(s[k : k + CODE_WIDTH], 36) for k in range(0, len(s), CODE_WIDTH)])
        out[int(r["play"])] = np.where(codes == CODE_GAP, np.nan, r["lo"] + codes.astype(np.float64) * r["q"])
    return out


def _layers(
    data: dict,
    select: list[dict],
    view: str,
    names: list[str],
    x_axis: str,
    row_axis: str | None,
    x_title: str | None,
    y_title: str | None,
    row_title: str | None,
    signed: bool | None,
    height: int,
    n_x: int,
    n_row: int = 0,
) -> list[dict]:
    """The data layers. Their value range is read from the info dataset (a server-side
    slider changes it without changing the spec); ``signed`` picks a heat map's colours:
    a diverging scheme centred on 0, or a sequential one."""
    domain = [{"expr": f"data('{INFO}')[0].lo"}, {"expr": f"data('{INFO}')[0].hi"}]
    color = {
        "field": "line",
        "type": "nominal",
        "scale": {"domain": names, "range": PALETTE[: max(1, len(names))]},
        "legend": {"title": None, "orient": "top", "symbolType": "stroke"} if len(names) > 1 else None,
    }
    y_scale = {"domain": domain, "nice": False, "zero": False, "padding": 6}

    if view == "heatmap":
        if signed:  # the info dataset holds a range symmetric about 0
            cscale: dict[str, Any] = {"domain": domain, "scheme": "blueorange", "domainMid": 0}
        else:
            cscale = {"domain": domain, "scheme": "viridis"}
        # Quantitative cell edges (x +- 0.5, computed in the browser) rather than ordinal
        # bands: markers at half-integer positions such as c/2 then land where they belong.
        rect = {
            "data": data,
            "mark": {"type": "rect"},
            "encoding": {
                "x": {
                    "field": "x0",
                    "type": "quantitative",
                    "axis": axis(x_title or x_axis, tickMinStep=1),
                    "scale": {"domain": [-0.5, n_x - 0.5], "nice": False, "zero": False},
                },
                "x2": {"field": "x1"},
                "y": {
                    "field": "r0",
                    "type": "quantitative",
                    "axis": _upright(axis(row_title or row_axis or "row", tickMinStep=1)),
                    "scale": {"domain": [-0.5, n_row - 0.5], "nice": False, "zero": False, "reverse": True},
                },
                "y2": {"field": "r1"},
                "color": {
                    "field": "y",
                    "type": "quantitative",
                    "scale": cscale,
                    "legend": {"title": y_title or "value", "gradientLength": max(120, height - 60)},
                },
                "tooltip": [
                    {"field": "row", "type": "ordinal", "title": row_axis or "row"},
                    {"field": "x", "type": "ordinal", "title": x_axis},
                    {"field": "y", "type": "quantitative", "title": "value", "format": ".4g"},
                ],
            },
            "transform": [
                # Cell edges once, before the slice's values are looked up on each step.
                {"calculate": "datum.x - 0.5", "as": "x0"},
                {"calculate": "datum.x + 0.5", "as": "x1"},
                {"calculate": "datum.row - 0.5", "as": "r0"},
                {"calculate": "datum.row + 0.5", "as": "r1"},
                *select,
            ],
        }
        return [rect]

    if view == "space":
        line = {
            "data": data,
            "mark": {"type": "line", "strokeWidth": LINE_WIDTH, "interpolate": "linear"},
            "encoding": {
                "x": {
                    "field": "x",
                    "type": "quantitative",
                    "axis": axis(x_title or x_axis, tickMinStep=1),
                    "scale": {"domain": [0, n_x - 1], "nice": False},
                },
                "y": {
                    "field": "y",
                    "type": "quantitative",
                    "axis": _upright(axis(y_title or "value")),
                    "scale": y_scale,
                },
                "color": color,
                "tooltip": [
                    {"field": "line", "type": "nominal"},
                    {"field": "x", "type": "quantitative", "title": x_axis},
                    {"field": "y", "type": "quantitative", "format": ".4g"},
                ],
            },
            "transform": select,
        }
        return [line]

    k = n_freqs(n_x)
    x = {
        "field": "x",
        "type": "quantitative",
        "axis": axis(
            x_title or "frequency" + ("   (sin left, cos right)" if view == "fourier" else ""), tickMinStep=1
        ),
        "scale": {"domain": [-0.5, k + 0.5], "nice": False},
    }
    tip: list[dict] = [{"field": "line", "type": "nominal"}]
    if view == "fourier":
        tip += [
            {"field": "component", "type": "nominal"},
            {"field": "y", "type": "quantitative", "title": "amplitude", "format": ".4g"},
        ]
        ytitle = y_title + " (amplitude)" if y_title else "amplitude"
    else:
        tip += [
            {"field": "x", "type": "quantitative", "title": "frequency", "format": ".0f"},
            {"field": "y", "type": "quantitative", "title": "|amplitude|", "format": ".4g"},
        ]
        ytitle = "|" + (y_title or "amplitude") + "|"
    zero = {
        "data": _ZERO,
        "mark": {"type": "rule", "color": "#888", "strokeWidth": 1},
        "encoding": {"y": {"field": "y", "type": "quantitative"}},
    }
    stems = {
        "data": data,
        "mark": {"type": "rule", "strokeWidth": LINE_WIDTH},
        "encoding": {
            "x": x,
            "y": {"field": "y", "type": "quantitative", "axis": _upright(axis(ytitle)), "scale": y_scale},
            "y2": {"datum": 0},
            "color": color,
            "tooltip": tip,
        },
        "transform": select,
    }
    return [stems, zero]


def _marker_frame(idx: np.ndarray, per_slice: list[list[Marker]], x_max: float) -> pd.DataFrame:
    """One row per marker per play slice (``play``: the slice's index; -1 for markers shown on
    every slice). Labels are staggered in three rows (``ypix``, in pixels from the top) so
    neighbours do not overwrite each other; labels in the right fifth (``right``) sit left of
    their rule so they are not clipped. Both are computed here, not in the browser, so the
    text layers only filter."""
    ordered = [sorted(ms, key=lambda m: m.x) for ms in per_slice]
    counts = np.array([len(ms) for ms in ordered], dtype=np.int64)
    flat = [m for ms in ordered for m in ms]
    x = np.array([m.x for m in flat], dtype=np.float64)
    texts = [m.label for m in flat]
    names = sorted(set(texts))
    codes = np.searchsorted(np.array(names, dtype=object), np.array(texts, dtype=object)) if flat else []
    # position of each marker within its slice: 0, 1, 2, ... restarting at every slice
    rank = np.arange(len(flat)) - np.repeat(np.cumsum(counts) - counts, counts)
    return pd.DataFrame(
        {
            "play": np.repeat(np.asarray(idx, dtype=np.int32), counts),
            "x": x,
            "label": _labels(names, np.asarray(codes, dtype=np.int32)),
            "ypix": (4 + 17 * (rank % 3)).astype(np.int16),
            "right": x > 0.8 * x_max,
        }
    )


def _marker_layers(data: dict) -> tuple[list[dict], list[dict]]:
    """Dashed rules (drawn under the data) and their labels (over it)."""
    rule = {
        "data": data,
        "mark": {"type": "rule", "color": "#333333", "strokeWidth": 2, "strokeDash": [6, 4], "opacity": 0.7},
        "encoding": {"x": {"field": "x", "type": "quantitative"}},
    }
    labels = []
    for align, dx, test in (("left", 5, "!datum.right"), ("right", -5, "datum.right")):
        labels.append(
            {
                "data": data,
                "mark": {
                    "type": "text",
                    "align": align,
                    "baseline": "top",
                    "dx": dx,
                    "fontSize": FONT,
                    "fontWeight": "bold",
                    "color": "#222222",
                },
                "encoding": {
                    "x": {"field": "x", "type": "quantitative"},
                    "y": {"field": "ypix", "type": "quantitative", "scale": None},
                    "text": {"field": "label", "type": "nominal"},
                },
                "transform": [{"filter": test}],
            }
        )
    return [rule], labels


def _add_play(
    spec: dict,
    play: str,
    pname: str,
    idx: np.ndarray,
    step: int,
    autoplay: bool,
    sweep_seconds: float,
) -> None:
    """The play parameters. The opening index is read from the info dataset (``start_<axis>``),
    not written in the spec: when the server changes it, the play index follows; when the
    server changes anything else, a reader's scrub position stays where it was."""
    lo, hi = int(idx[0]), int(idx[-1])
    running = playing_param_name(play)
    opening = "start_" + pname.removeprefix("play_")
    first = {"name": opening, "expr": f"data('{INFO}')[0].start"}
    scrub = {
        "name": pname,
        "expr": opening,  # with a binding, Vega-Lite makes this the initial value only
        "bind": {"input": "range", "min": lo, "max": hi, "step": step, "name": f"{play} "},
    }
    toggle = {
        "name": running,
        "value": bool(autoplay),
        "bind": {"input": "checkbox", "name": f"▶ play {play} "},
    }
    tick_ms = int(np.clip(round(1000 * sweep_seconds / max(1, len(idx))), MIN_TICK_MS, MAX_TICK_MS))
    handlers = [
        # Vega's timer event stream; the update wraps to the first slice after the last.
        {
            "events": {"type": "timer", "throttle": tick_ms},
            "update": f"{running} ? ({pname} + {step} > {hi} ? {lo} : {pname} + {step}) : {pname}",
        },
        # A new opening index from the server moves the play index there.
        {"events": {"signal": opening}, "update": opening},
    ]
    spec["params"] = [first, scrub, toggle]
    spec["usermeta"]["scope"] = {
        "play": play,
        "param": pname,
        "toggle": running,
        "tick_ms": tick_ms,
        "timers": {pname: handlers},
    }


def _title(
    title: bool,
    fixed: Mapping[str, int] | None,
    play: str | None,
    pname: str | None,
    row: str,
    captions: bool,
    note: str | None,
) -> dict:
    """Title lines: the title, the indices (the play index appended live), the caption, all
    from the info dataset's row ``row``; then a note, the only text written in the spec."""
    info = f"data('{INFO}')[{row}]"
    exprs: list[str] = []
    if title:
        exprs.append(f"{info}.title")
    if play:
        exprs.append(f"{info}.head + {pname}")
    elif fixed:
        exprs.append(f"{info}.head")
    if captions:
        exprs.append(f"{info}.caption")
    if note:
        exprs.append(_js(note))
    return {
        "text": {"expr": "[" + ", ".join(exprs) + "]"} if exprs else "",
        "anchor": "start",
        "fontSize": CHART_TITLE_FONT,
        "fontWeight": "normal",
        "lineHeight": 22,
        "offset": 10,
    }
