"""What a tensor scope sends the browser: the numbers each view draws, and the datasets.

A view is what the scope draws along the last axis: the values themselves ("space", and
"heatmap" for a stack of rows), their signed amplitudes on the real Fourier basis
("fourier"), or the length of each frequency's pair ("magnitude"). :func:`value_range` is the
fixed value range over a whole tensor in a view.

The datasets have fixed names (:data:`POINTS`, :data:`VALUES`, :data:`MARKERS`,
:data:`INFO`), and each is built here from slices the server has picked: the points of one
slice and every slice's values (:func:`data_tables`, the values encoded by
``ui/scope_codec.py``), the markers (:func:`marker_table`) and the rows the title, the
value range and the opening play index are read from (:func:`info_table`). The Vega-Lite
layers that draw them are in ``ui/scope_layers.py``; ``ui/scope.py`` puts the two together.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from lens.fourier import basis, basis_freqs, basis_labels, n_freqs, to_fourier
from ui.scope_codec import encoded
from ui.theme import text_px, wrapped

VIEWS = ("space", "fourier", "magnitude", "heatmap")
FOURIER_VIEWS = ("fourier", "magnitude")
# The views drawn along x as lines or stems: they share one spec (ui/scope_layers.py), so a
# change among them only sends new rows; each point carries its view's code.
LINE_VIEWS = ("space", "fourier", "magnitude")
VIEW_CODES = {view: code for code, view in enumerate(LINE_VIEWS)}

# The datasets of every scope, by role. The names never change with the data: when a
# server-side slider moves, the spec stays the same and the browser swaps rows in the chart
# it has instead of building a new one. Everything that follows a server index (the title's
# indices and captions, the y range, the opening play index) is read from ``info``.
POINTS, VALUES, MARKERS, INFO = "points", "values", "markers", "info"


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


RANGE_ROWS = 4096  # rows of p values per block of value_range: ~4 MB of float64 at p = 113


def value_range(x: Any, view: str) -> tuple[float, float]:
    """Global (min, max) of what ``view`` draws over all of ``x``: a fixed y domain.

    ``x`` is an array, or a stack computed a block at a time (anything with ``shape`` and
    ``blocks()``, e.g. :class:`lens.stacks.RunningStack`). Either way it is read in blocks of
    :data:`RANGE_ROWS` rows of the last axis, so what this allocates is bounded by a block
    (float64 there: the Fourier amplitudes of float32 values), not by the whole tensor."""
    lo, hi = np.inf, -np.inf
    for block in _row_blocks(x):
        if view in FOURIER_VIEWS:
            # One 2-D matmul: numpy's batched matmul over [..., p, p] stacks is ~10x slower.
            v = block @ basis(block.shape[-1]).T
            if view == "magnitude":
                v = _magnitude(v)
        else:
            v = block
        # Over the finite values only: a NaN or an infinity is drawn as a gap, not as the range.
        finite = np.isfinite(v)
        if not finite.all():
            v = v[finite]
        if v.size:
            lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
    if lo > hi:  # nothing finite
        lo, hi = 0.0, 0.0
    if view == "magnitude":
        lo = 0.0
    if view == "fourier":  # stems grow from 0: keep it in range
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi <= lo:
        lo, hi = lo - 1.0, hi + 1.0
    return lo, hi


def _row_blocks(x: Any):
    """``x`` as 2-D blocks ``[rows, last axis]`` of at most :data:`RANGE_ROWS` rows."""
    if hasattr(x, "blocks") and not isinstance(x, np.ndarray):
        n_last = x.shape[-1]
        per = max(1, RANGE_ROWS // max(1, int(np.prod(x.shape[1:-1], dtype=np.int64))))
        for block in x.blocks(per):
            yield block.reshape(-1, n_last)
        return
    x = np.asarray(x)
    if x.ndim < 2 or x.flags.c_contiguous:  # rows of a view: nothing copied
        flat = x.reshape(-1, x.shape[-1]) if x.ndim else x.reshape(1, 1)
        for lo in range(0, len(flat), RANGE_ROWS):
            yield flat[lo : lo + RANGE_ROWS]
        return
    # A strided view (a transposed run, say): a whole reshape would copy all of it.
    per = int(np.prod(x.shape[1:-1], dtype=np.int64))
    if per > RANGE_ROWS:
        for sub in x:
            yield from _row_blocks(sub)
        return
    step = max(1, RANGE_ROWS // max(1, per))
    for lo in range(0, len(x), step):
        yield x[lo : lo + step].reshape(-1, x.shape[-1])


# ----------------------------------------------------------------------------- tables


def _labels(names: Sequence[str], codes: np.ndarray) -> pd.Categorical:
    """A string column as a categorical: built and shipped (an Arrow dictionary) without
    a Python string per row."""
    return pd.Categorical.from_codes(codes, categories=pd.Index(list(names), dtype=object))


def data_tables(
    lines: dict[str, np.ndarray], idx: np.ndarray, view: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The points of one slice, and every slice's values.

    ``points``: one row per point drawn in a slice: ``i`` (its position in its row of
    values), ``moves`` (1, or 0 for a line equal on every slice), ``line`` (or the heatmap's
    ``row``), ``x`` [, ``component``], and in the line views ``view`` (:data:`VIEW_CODES`:
    which of their layers draws it). ``values``: one row per slice (``play``, its index),
    then one row (play -1) for the unmoving lines; see :func:`ui.scope_codec.encoded`.

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
    if view in VIEW_CODES:
        cols["view"] = np.full(moves.size, VIEW_CODES[view], dtype=np.int8)
    points = pd.DataFrame({"i": i, "moves": moves.astype(np.int8), **cols})
    flat = vals.reshape(n_play, -1)
    rows = [flat[:, moves]] + ([flat[:1, ~moves]] if (~moves).any() else [])
    plays = [np.asarray(idx, dtype=np.int32)] + ([np.array([-1], dtype=np.int32)] if (~moves).any() else [])
    return points, encoded(rows, plays)


def marker_table(idx: np.ndarray, per_slice: list[list[Marker]], x_max: float) -> pd.DataFrame:
    """One row per marker per play slice (``play``: the slice's index; -1 for markers shown on
    every slice). A label sits left of its rule (``right``) in the right fifth, so that it is not
    clipped, and where a neighbouring rule would cross it on the right (:func:`label_sides`);
    each label takes the top-most row (``ypix``, in pixels from the top) where it overlaps no
    other label of its slice, reckoned on a phone's narrow plot (:func:`label_rows`), so wider
    plots have room to spare. Both are computed here, not in the browser, so the text layers
    only filter."""
    ordered = [sorted(ms, key=lambda m: m.x) for ms in per_slice]
    counts = np.array([len(ms) for ms in ordered], dtype=np.int64)
    flat = [m for ms in ordered for m in ms]
    x = np.array([m.x for m in flat], dtype=np.float64)
    texts = [m.label for m in flat]
    names = sorted(set(texts))
    codes = np.searchsorted(np.array(names, dtype=object), np.array(texts, dtype=object)) if flat else []
    starts = np.cumsum(counts) - counts
    right = np.zeros(len(flat), dtype=bool)
    rows = np.zeros(len(flat), dtype=np.int16)
    placed: dict[tuple, tuple] = {}  # slices with the same markers (often all 113) share a layout
    for s0, n in zip(starts, counts, strict=True):
        xs, ts = x[s0 : s0 + n], texts[s0 : s0 + n]
        seen = (tuple(xs), tuple(ts))
        if seen not in placed:
            sides = label_sides(xs, ts, x_max)
            placed[seen] = (sides, label_rows(xs, ts, sides, x_max))
        right[s0 : s0 + n], rows[s0 : s0 + n] = placed[seen]
    return pd.DataFrame(
        {
            "play": np.repeat(np.asarray(idx, dtype=np.int32), counts),
            "x": x,
            "label": _labels(names, np.asarray(codes, dtype=np.int32)),
            "ypix": (4 + LABEL_ROW_PX * rows).astype(np.int16),
            "right": right,
        }
    )


# How wide a marker label is assumed to be: a bold 14 px character is at most ~8.5 px, the
# label sits 5 px off its rule, and 6 px keeps neighbours apart; on a plot 280 px wide (a
# phone's, after the y axis), the narrowest a scope is drawn.
LABEL_CHAR_PX, LABEL_PAD_PX, NARROW_PLOT_PX, LABEL_ROW_PX = 8.5, 11, 280, 17


# A label's text line is 14 px tall (FONT); 4 px keep the data off it; the y scale pads its
# range by 6 px at each end (ui/scope_layers.py, ``padding``).
LABEL_TEXT_PX, LABEL_GAP_PX, Y_PAD_PX = 15, 4, 6


def label_headroom(y_domain: tuple[float, float], table: pd.DataFrame, height: int) -> tuple[float, float]:
    """``y_domain`` raised at the top so that the data stay below the marker labels' rows.

    The labels sit in rows at the top of the plot (``ypix``, pixels from its top edge): a stem
    or a line as high as the range would run through them. With the range's top moved up,
    the highest value is drawn under the lowest label row on a plot ``height`` px tall (the
    y scale keeps ``Y_PAD_PX`` at each end), whatever the plot's width. No labels: unchanged."""
    lo, hi = float(y_domain[0]), float(y_domain[1])
    if not len(table) or not hi > lo:
        return y_domain
    block = float(table["ypix"].max()) + LABEL_TEXT_PX + LABEL_GAP_PX  # px from the top
    r = min(0.5, max(0.0, (block - Y_PAD_PX) / max(1.0, height - 2 * Y_PAD_PX)))
    return (lo, (hi - r * lo) / (1 - r))


def label_sides(x: np.ndarray, labels: list[str], x_max: float) -> np.ndarray:
    """Which labels sit left of their rule: those in the right fifth (a label there would be
    clipped), and those whose box on the right would be crossed by another marker's rule
    when the left side is free of rules and inside the plot (key frequencies 41 and 42: the
    label "41" was drawn across the rule at 42 on any plot narrower than ~1600 px). Reckoned on
    a phone's narrow plot, where a label spans the most axis units: a rule clear of a box
    there is clear of it on every wider plot."""
    x = np.asarray(x, dtype=np.float64)
    right = x > 0.8 * x_max
    per_unit = NARROW_PLOT_PX / max(float(x_max), 1e-9)
    for i, (xi, text) in enumerate(zip(x, labels, strict=True)):
        w = (LABEL_CHAR_PX * len(text) + LABEL_PAD_PX) / per_unit  # the box's width in units
        others = np.delete(x, i)
        if right[i] or not _crossed(others, xi, xi + w):
            continue
        right[i] = xi - w >= 0 and not _crossed(others, xi - w, xi)
    return right


def _crossed(rules: np.ndarray, lo: float, hi: float) -> bool:
    """Whether a rule of ``rules`` runs strictly inside (lo, hi)."""
    return bool(((rules > lo) & (rules < hi)).any())


def label_rows(x: np.ndarray, labels: list[str], right: np.ndarray, x_max: float) -> np.ndarray:
    """For markers at ``x`` (ascending) on an axis 0..``x_max``, the row of each label: the
    first row where its box (to the right of its rule, or to the left where ``right``)
    overlaps no box already placed there. As many rows as that takes."""
    per_unit = NARROW_PLOT_PX / max(float(x_max), 1e-9)  # pixels per axis unit
    placed: list[list[tuple[float, float]]] = []  # per row, the boxes in pixels
    out = np.zeros(len(labels), dtype=np.int16)
    for i, (xi, text, r) in enumerate(zip(x, labels, right, strict=True)):
        w = LABEL_CHAR_PX * len(text) + LABEL_PAD_PX
        lo, hi = (xi * per_unit - w, xi * per_unit) if r else (xi * per_unit, xi * per_unit + w)
        row = next((k for k, boxes in enumerate(placed) if all(hi <= a or lo >= b for a, b in boxes)), None)
        if row is None:
            placed.append([])
            row = len(placed) - 1
        placed[row].append((lo, hi))
        out[i] = row
    return out


# Things counted by number are named as the pages name them: "neuron 342", "head 0" (as in
# the legends and the prose); an index along any other axis reads "a = 5".
NUMBERED_AXES = ("neuron", "head")


def index_text(axis: str, value: object) -> str:
    """How a title names ``axis`` at ``value`` ("neuron 342", "a = 5"); with ``value`` "", the
    text the browser appends the play index to."""
    return f"{axis} {value}" if axis in NUMBERED_AXES else f"{axis} = {value}"


def info_table(
    title: str | None,
    fixed: Mapping[str, int] | None,
    play: str | None,
    idx: np.ndarray,
    captions: list[str],
    start: int,
    y_domain: tuple[float, float],
    frame: Mapping[str, Any] | None = None,
    labels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per play slice (one row without a play axis): the title's index line (the play
    index is appended live, or the slice's own label ``at`` when ``labels`` are given), the
    caption; and, on every row, the title, the opening play index and the value range (the y
    axis, or a heat map's colours). ``frame``: the line views' x range and axis titles, on
    every row, and ``zero`` (whether the y = 0 rule is drawn) on the first
    (:func:`ui.scope_layers.line_view_frame`)."""
    parts = [index_text(k, v) for k, v in (fixed or {}).items()]
    if play and labels is None:
        parts.append(index_text(play, ""))
    elif play:
        parts.append("")  # the label follows the fixed indices
    head = ", ".join(parts)
    lo, hi = float(y_domain[0]), float(y_domain[1])
    n = len(idx)
    # For a plot narrower than a row's longest line (wrap_px): the title and the caption as
    # phone-width lines (ui.theme.wrapped), which the browser splits at the newlines.
    wrap_px = [max(text_px(title or ""), text_px(c)) for c in captions]
    cols: dict[str, Any] = {
        "title": _labels([title or ""], np.zeros(n, dtype=np.int8)),
        "title_w": _labels([wrapped(title or "")], np.zeros(n, dtype=np.int8)),
        "caption_w": pd.Categorical([wrapped(c) for c in captions]),
        "wrap_px": np.asarray(wrap_px, dtype=np.int32),
        "head": _labels([head], np.zeros(n, dtype=np.int8)),
        "caption": pd.Categorical(captions),
        "start": np.full(n, start, dtype=np.int32),
        "lo": np.full(n, lo),
        "hi": np.full(n, hi),
    }
    if labels is not None:
        cols["at"] = pd.Categorical([str(s) for s in labels])
    for name, value in (frame or {}).items():
        if name == "zero":  # one rule, not one per row
            cols[name] = np.array([bool(value)] + [False] * (n - 1))
        elif isinstance(value, str):
            cols[name] = _labels([value], np.zeros(n, dtype=np.int8))
        else:
            cols[name] = np.full(n, float(value))
    return pd.DataFrame(cols)
