"""The tensor scope: one chart builder for every section (pure Altair, numpy and pandas).

A scope draws a stack of same-shape arrays ("lines") over their last axis. One other axis,
the *play axis*, is shipped whole to the browser and scrubbed there: a Vega-Lite parameter
``play_<axis>`` bound to a range input picks the slice, and a second parameter
``playing_<axis>`` bound to a checkbox lets a Vega timer sweep it. No server round trip is
involved in scrubbing or playing. Every other axis was fixed by the caller (in the app: a
Streamlit slider, see ``pages/scope_widget.py``).

Why the play button needs a subclass. Vega-Lite has no timer, but a top-level variable
parameter is compiled to a Vega signal by copying every property it does not know
(``const {expr, bind, ...rest} = param``, vega-lite ``src/parameter.ts``), so an ``on``
handler with Vega's ``timer`` event stream reaches Vega untouched. Altair validates params
against the Vega-Lite schema, which forbids ``on``; :class:`ScopeChart` therefore keeps the
handler in the chart's ``usermeta`` (which survives ``.properties()`` and copies) and moves
it into the parameter in :meth:`ScopeChart.to_dict`, after validation. ``st.altair_chart``
calls ``to_dict()`` on the chart it is given, so the handler reaches the browser. Nested in
another composition (``scope | other``) the handler is lost: the slider still works, the
checkbox does nothing.

Point budget (:data:`MAX_POINTS`, 50 000 rows to the browser per chart). The cost of one
play slice is lines x points per line (+ its markers). If all slices do not fit, the play
axis is *subsampled with a stride* (every k-th index, the opening index always kept; the
slider's step becomes k). With ``subsample=False``, or when one slice alone exceeds the
budget, :func:`scope_chart` raises ``ValueError``. The final spec is checked with
:func:`point_count` before it is returned.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from lens.fourier import basis, basis_freqs, basis_labels, n_freqs, to_fourier

MAX_POINTS = 50_000

VIEWS = ("space", "fourier", "magnitude", "heatmap")
FOURIER_VIEWS = ("fourier", "magnitude")

# Okabe-Ito: distinguishable under the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442"]

FONT = 14  # axis labels; titles are larger. Readable on a projector.
TITLE_FONT = 16
LINE_WIDTH = 3
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
    p = amp.shape[-1]
    sq = amp**2
    out = np.zeros(amp.shape[:-1] + (n_freqs(p) + 1,))
    out[..., 0] = sq[..., 0]
    for row, f in enumerate(basis_freqs(p)[1:], start=1):
        out[..., f] += sq[..., row]
    return np.sqrt(out)


def value_range(x: np.ndarray, view: str) -> tuple[float, float]:
    """Global (min, max) of what ``view`` draws over all of ``x``: a fixed y domain."""
    x = np.asarray(x, dtype=np.float64)
    if view in FOURIER_VIEWS:
        # One 2-D matmul: numpy's batched matmul over [..., p, p] stacks is ~10x slower.
        p = x.shape[-1]
        v = x.reshape(-1, p) @ basis(p).T
        if view == "magnitude":
            v = _magnitude(v)
    else:
        v = x
    lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
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
    """Rows a chart sends to the browser (all its datasets), or elements of array data.

    Accepts an Altair chart, a spec dict, an ndarray or a dict of ndarrays.
    """
    if isinstance(obj, np.ndarray):
        return int(obj.size)
    if isinstance(obj, Mapping) and obj and all(isinstance(v, np.ndarray) for v in obj.values()):
        return int(sum(v.size for v in obj.values()))
    if isinstance(obj, alt.TopLevelMixin):
        return _frame_rows(obj)
    total = sum(len(rows) for rows in obj.get("datasets", {}).values())
    return int(total + _inline_rows(obj))


def _frame_rows(chart: Any) -> int:
    """Rows of every distinct DataFrame in a chart and its layers (no serialisation)."""
    seen: dict[int, int] = {}

    def walk(c: Any) -> None:
        data = getattr(c, "data", alt.Undefined)
        if isinstance(data, pd.DataFrame):
            seen[id(data)] = len(data)
        for key in ("layer", "vconcat", "hconcat", "concat"):
            subs = getattr(c, key, alt.Undefined)
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
        return n + sum(_inline_rows(v) for k, v in spec.items() if k != "data")
    if isinstance(spec, list):
        return sum(_inline_rows(v) for v in spec)
    return 0


# ----------------------------------------------------------------------------- chart

_ZERO = pd.DataFrame({"y": [0.0]})  # the y = 0 baseline of the Fourier views (no play column)


class ScopeChart(alt.LayerChart):
    """A LayerChart whose play parameter gets a Vega timer handler after validation.

    The handler is kept in ``usermeta["scope"]["timers"]`` (schema-valid, copied with the
    chart) and moved into the matching top-level parameter as ``on`` by :meth:`to_dict`.
    """

    def to_dict(self, *args: Any, **kwargs: Any) -> dict:
        spec = super().to_dict(*args, **kwargs)
        if kwargs.get("format", "vega-lite") != "vega-lite":
            return spec
        meta = spec.get("usermeta", {}).get("scope", {})
        timers = meta.get("timers", {})
        for param in spec.get("params", []):
            if param.get("name") in timers:
                param["on"] = timers[param["name"]]
        return spec


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


def _axis(title: str, **kw: Any) -> alt.Axis:
    return alt.Axis(title=title, labelFontSize=FONT, titleFontSize=FONT + 1, **kw)


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

    Returns a :class:`ScopeChart` (an ``alt.LayerChart``).
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
    keep = fit_play_axis(n_play, cost, int(np.searchsorted(idx, start)), max_points, subsample)
    if y_domain is None:
        y_domain = value_range(np.stack(list(lines.values())), view)

    if len(keep) < n_play:
        stride = int(keep[1] - keep[0])
        note = (
            (note + "  ·  ") if note else ""
        ) + f"{play}: every {stride} (browser budget {max_points:,} points)"
    lines = {k: v[keep] for k, v in lines.items()}
    idx = idx[keep]
    per_slice_markers = [per_slice_markers[i] for i in keep]
    per_slice_captions = [per_slice_captions[i] for i in keep]
    step = int(idx[1] - idx[0]) if len(idx) > 1 else 1
    if len(idx) > 1 and np.any(np.diff(idx) != step):
        raise ValueError("play_index must be evenly spaced")

    data = _frame(lines, idx, view)
    pname = play_param_name(play) if has_play else None
    layers = _layers(
        data,
        view,
        list(lines),
        x_axis,
        row_axis,
        x_title,
        y_title,
        row_title,
        y_domain,
        height,
        first.shape[-1],
    )

    marker_rows = [
        {"play": int(i), "x": float(m.x), "label": m.label, "row": r % 3}
        for i, ms in zip(idx, per_slice_markers, strict=True)
        for r, m in enumerate(sorted(ms, key=lambda m: m.x))
    ]
    if marker_rows:
        x_max = n_freqs(first.shape[-1]) if view in FOURIER_VIEWS else first.shape[-1] - 1
        under, over = _marker_layers(pd.DataFrame(marker_rows), x_max)
        # Rules under the lines (so they do not hide a stem at the same x), but over a
        # heatmap's opaque cells; labels always on top.
        layers = (layers + under if view == "heatmap" else under + layers) + over
    if has_play:
        # Each layer has its own data: filter each by the play index, in the browser.
        layers = [
            lyr.transform_filter(f"datum.play == {pname}") if lyr.data is not _ZERO else lyr for lyr in layers
        ]

    chart = ScopeChart(layer=layers).properties(height=height)
    if has_play:
        chart = _add_play(chart, play, pname, idx, start, step, autoplay, sweep_seconds)
    chart = chart.properties(title=_title(title, fixed, play, pname, idx, per_slice_captions, note))
    chart = chart.configure_legend(labelFontSize=FONT, titleFontSize=FONT, symbolStrokeWidth=LINE_WIDTH)
    chart = chart.configure_view(strokeWidth=0)
    # fit-x: the width follows the container, ``height`` stays the plot's own height
    # (Streamlit's default "fit" would squeeze the plot under a multi-line title).
    chart = chart.properties(autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))

    n = point_count(chart)
    if n > max_points:  # not an assert: it must hold under python -O too
        raise RuntimeError(f"scope would send {n} points to the browser, over {max_points}")
    return chart


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


def _frame(lines: dict[str, np.ndarray], idx: np.ndarray, view: str) -> pd.DataFrame:
    """Long-form rows: line, play, x (position), y (value) [, row][, component]."""
    frames = []
    n_lines = len(lines)
    for i, (name, arr) in enumerate(lines.items()):
        vals = view_values(arr, view).astype(np.float32)  # [play, (row,) x']
        n_play, n_x = vals.shape[0], vals.shape[-1]
        cols: dict[str, Any] = {}
        if view == "heatmap":
            n_row = vals.shape[1]
            cols["play"] = np.repeat(idx, n_row * n_x)
            cols["row"] = np.tile(np.repeat(np.arange(n_row, dtype=np.int16), n_x), n_play)
            cols["x"] = np.tile(np.arange(n_x, dtype=np.int16), n_play * n_row)
            cols["value"] = vals.reshape(-1)
            frames.append(pd.DataFrame(cols))
            continue
        cols["line"] = name
        cols["play"] = np.repeat(idx, n_x)
        # Several lines share a frequency in the Fourier views: spread them a little.
        spread = (i - (n_lines - 1) / 2) * (0.3 / n_lines) if view in FOURIER_VIEWS else 0.0
        if view == "fourier":
            p = arr.shape[-1]
            freqs = basis_freqs(p).astype(np.float32)
            labels = basis_labels(p)
            side = np.array([0.0] + [-0.22 if s.startswith("sin") else 0.22 for s in labels[1:]], np.float32)
            if p % 2 == 0:
                side[-1] = 0.0
            cols["x"] = np.tile(freqs + side + spread, n_play).astype(np.float32)
            cols["component"] = np.tile(np.array(labels, dtype=object), n_play)
        elif view == "magnitude":
            cols["x"] = np.tile(np.arange(n_x, dtype=np.float32) + spread, n_play).astype(np.float32)
        else:
            cols["x"] = np.tile(np.arange(n_x, dtype=np.int16), n_play)
        cols["y"] = vals.reshape(-1)
        frames.append(pd.DataFrame(cols))
    df = pd.concat(frames, ignore_index=True)
    df["play"] = df["play"].astype(np.int32)
    return df


def _layers(
    data: pd.DataFrame,
    view: str,
    names: list[str],
    x_axis: str,
    row_axis: str | None,
    x_title: str | None,
    y_title: str | None,
    row_title: str | None,
    y_domain: tuple[float, float],
    height: int,
    n_x: int,
) -> list[alt.Chart]:
    base = alt.Chart(data)
    lo, hi = float(y_domain[0]), float(y_domain[1])
    color = alt.Color(
        "line:N",
        scale=alt.Scale(domain=names, range=PALETTE[: max(1, len(names))]),
        legend=alt.Legend(title=None, orient="top", symbolType="stroke") if len(names) > 1 else None,
    )
    y_scale = alt.Scale(domain=[lo, hi], nice=False, zero=False, padding=6)

    if view == "heatmap":
        n_row = int(data["row"].max()) + 1
        if lo >= 0:
            cscale = alt.Scale(domain=[lo, hi], scheme="viridis")
        else:
            m = max(abs(lo), abs(hi))
            cscale = alt.Scale(domain=[-m, m], scheme="blueorange", domainMid=0)
        # Quantitative cell edges (x +- 0.5, computed in the browser) rather than ordinal
        # bands: markers at half-integer positions such as c/2 then land where they belong.
        rect = base.mark_rect().encode(
            x=alt.X(
                "x0:Q",
                axis=_axis(x_title or x_axis, tickMinStep=1),
                scale=alt.Scale(domain=[-0.5, n_x - 0.5], nice=False, zero=False),
            ),
            x2="x1:Q",
            y=alt.Y(
                "r0:Q",
                axis=_axis(row_title or row_axis or "row", tickMinStep=1),
                scale=alt.Scale(domain=[-0.5, n_row - 0.5], nice=False, zero=False, reverse=True),
            ),
            y2="r1:Q",
            color=alt.Color(
                "value:Q",
                scale=cscale,
                legend=alt.Legend(title=y_title or "value", gradientLength=max(120, height - 60)),
            ),
            tooltip=[
                alt.Tooltip("row:O", title=row_axis or "row"),
                alt.Tooltip("x:O", title=x_axis),
                alt.Tooltip("value:Q", format=".4g"),
            ],
        )
        rect = rect.transform_calculate(
            x0="datum.x - 0.5", x1="datum.x + 0.5", r0="datum.row - 0.5", r1="datum.row + 0.5"
        )
        return [rect]

    if view == "space":
        line = base.mark_line(strokeWidth=LINE_WIDTH, interpolate="linear").encode(
            x=alt.X(
                "x:Q",
                axis=_axis(x_title or x_axis, tickMinStep=1),
                scale=alt.Scale(domain=[0, n_x - 1], nice=False),
            ),
            y=alt.Y("y:Q", axis=_axis(y_title or "value"), scale=y_scale),
            color=color,
            tooltip=[
                alt.Tooltip("line:N"),
                alt.Tooltip("x:Q", title=x_axis),
                alt.Tooltip("y:Q", format=".4g"),
            ],
        )
        return [line]

    k = n_freqs(n_x)
    x = alt.X(
        "x:Q",
        axis=_axis(
            x_title or "frequency" + ("   (sin left, cos right)" if view == "fourier" else ""), tickMinStep=1
        ),
        scale=alt.Scale(domain=[-0.5, k + 0.5], nice=False),
    )
    tip = [alt.Tooltip("line:N")]
    if view == "fourier":
        tip += [alt.Tooltip("component:N"), alt.Tooltip("y:Q", title="amplitude", format=".4g")]
        ytitle = y_title + " (amplitude)" if y_title else "amplitude"
    else:
        tip += [
            alt.Tooltip("x:Q", title="frequency", format=".0f"),
            alt.Tooltip("y:Q", title="|amplitude|", format=".4g"),
        ]
        ytitle = "|" + (y_title or "amplitude") + "|"
    zero = alt.Chart(_ZERO).mark_rule(color="#888", strokeWidth=1).encode(y="y:Q")
    stems = base.mark_rule(strokeWidth=LINE_WIDTH).encode(
        x=x,
        y=alt.Y("y:Q", axis=_axis(ytitle), scale=y_scale),
        y2=alt.datum(0),
        color=color,
        tooltip=tip,
    )
    return [stems, zero]


def _marker_layers(markers: pd.DataFrame, x_max: float) -> tuple[list[alt.Chart], list[alt.Chart]]:
    """Dashed rules (drawn under the data) and their labels (over it), staggered in three
    rows so neighbours do not overwrite each other; labels in the right fifth sit left of
    their rule so they are not clipped."""
    base = alt.Chart(markers)
    rule = base.mark_rule(color="#333333", strokeWidth=2, strokeDash=[6, 4], opacity=0.7).encode(x="x:Q")
    labels = []
    right = 0.8 * x_max
    for align, dx, test in (("left", 5, f"datum.x <= {right}"), ("right", -5, f"datum.x > {right}")):
        text = base.mark_text(
            align=align, baseline="top", dx=dx, fontSize=FONT, fontWeight="bold", color="#222222"
        ).encode(x="x:Q", y=alt.Y("ypix:Q", scale=None), text="label:N")
        labels.append(text.transform_filter(test).transform_calculate(ypix="4 + 17 * datum.row"))
    return [rule], labels


def _add_play(
    chart: ScopeChart,
    play: str,
    pname: str,
    idx: np.ndarray,
    start: int,
    step: int,
    autoplay: bool,
    sweep_seconds: float,
) -> ScopeChart:
    lo, hi = int(idx[0]), int(idx[-1])
    scrub = alt.param(
        name=pname,
        value=start,
        bind=alt.binding_range(min=lo, max=hi, step=step, name=f"{play} "),
    )
    running = playing_param_name(play)
    toggle = alt.param(name=running, value=bool(autoplay), bind=alt.binding_checkbox(name=f"▶ play {play} "))
    tick_ms = int(np.clip(round(1000 * sweep_seconds / max(1, len(idx))), MIN_TICK_MS, MAX_TICK_MS))
    # Vega's timer event stream; the update wraps to the first slice after the last.
    timer = [
        {
            "events": {"type": "timer", "throttle": tick_ms},
            "update": f"{running} ? ({pname} + {step} > {hi} ? {lo} : {pname} + {step}) : {pname}",
        }
    ]
    meta = {
        "scope": {
            "play": play,
            "param": pname,
            "toggle": running,
            "tick_ms": tick_ms,
            "timers": {pname: timer},
        }
    }
    return chart.add_params(scrub, toggle).properties(usermeta=meta)


def _title(
    title: str | None,
    fixed: Mapping[str, int] | None,
    play: str | None,
    pname: str | None,
    idx: np.ndarray,
    captions: list[str],
    note: str | None,
) -> alt.TitleParams:
    """Title lines: the title, the indices (play index live), the caption (live), a note."""
    parts = [f"{k} = {v}" for k, v in (fixed or {}).items()]
    exprs: list[str] = []
    if title:
        exprs.append(_js(title))
    if play:
        head = _js(", ".join(parts + [f"{play} = "]))
        exprs.append(f"{head} + {pname}")
    elif parts:
        exprs.append(_js(", ".join(parts)))
    if any(captions):
        if play and len(set(captions)) > 1:
            table = "[" + ",".join(_js(c) for c in captions) + "]"
            where = "[" + ",".join(str(int(i)) for i in idx) + "]"
            exprs.append(f"{table}[indexof({where}, {pname})]")
        else:
            exprs.append(_js(captions[0]))
    if note:
        exprs.append(_js(note))
    return alt.TitleParams(
        text=alt.ExprRef(expr="[" + ", ".join(exprs) + "]") if exprs else "",
        anchor="start",
        fontSize=TITLE_FONT,
        fontWeight="normal",
        lineHeight=22,
        offset=10,
    )
