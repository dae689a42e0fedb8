"""The pages' own Altair charts: one look, and a fast way to the browser.

One look: every chart a page draws with :func:`show` gets the scope's type sizes (axis labels
14 px, titles 15 px: readable on a projector), its colour-blind-safe palette (Okabe-Ito), no
truncated legend labels, and a height that is the plot's own (``autosize`` "fit-x"; Streamlit's
default "fit" squeezes the plot under a legend and an axis title into the given height). The
sizes are written on each axis and legend, not in ``config``, so no theme can override them.

Fast: an Altair chart costs tens of milliseconds to build and more to validate and serialise
(``to_dict``), on every rerun. :func:`spec` does that once; cache its result with
``st.cache_data`` keyed by cheap arguments (the checkpoint's path string, ints) and hand it to
:func:`show`, which passes the dict to ``st.vega_lite_chart`` (the same element as
``st.altair_chart``). What changes often (a highlighted point) is added to a cached spec as a
small layer whose dataset keeps its name (:func:`with_layer`): the spec stays the same, so the
browser replaces those rows in the chart it has, instead of drawing the whole chart again.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import threading
from collections import OrderedDict
from typing import Any, Callable

import pandas as pd
import streamlit as st

from ui import export
from ui.theme import FONT, INK, PALETTE, TITLE_FONT, text_px, wrapped

ARIA_ROWS = 5000  # Streamlit's own threshold
LEGEND_ENTRY_PX = 180  # the widest legend entry (symbol and label) a row must hold
LEGEND_CHANNELS = ("color", "fill", "stroke", "size", "shape", "opacity", "strokeDash")


def spec(chart: Any, *, validate: bool = False, canvas: bool = False) -> dict:
    """An Altair chart as a styled Vega-Lite dict whose data are named DataFrames.

    ``validate`` checks it against the schema. Off by default: it costs a noticeable part
    of a page's first run, and tests/test_charts.py validates every chart of every page.
    ``canvas``: draw on a canvas (vega-embed's option, which Streamlit passes on), for a chart
    that redraws on a browser-side slider: one repaint instead of patching SVG nodes."""
    frames: list[pd.DataFrame] = []
    out = _stand_ins(chart, frames).to_dict(validate=validate)
    names = {}
    for name, rows in out.get("datasets", {}).items():
        if rows and isinstance(rows[0], dict) and _ID in rows[0]:
            df = frames[rows[0][_ID]]
            names[name] = frame_name(df)
    # Each frame as a pickle round trip leaves it, which is what st.cache_data hands back on
    # every later run: the first run then ships the same Arrow bytes (a frame built by
    # concatenating string columns is chunked until pickled; Arrow writes one batch per chunk).
    out["datasets"] = {
        names.get(k, k): pickle.loads(pickle.dumps(frames[v[0][_ID]])) if k in names else v
        for k, v in out["datasets"].items()
    }
    _rename(out, names)
    if canvas:
        out.setdefault("usermeta", {}).setdefault("embedOptions", {})["renderer"] = "canvas"
    return style(out)


def dict_spec(body: dict, *frames: pd.DataFrame) -> dict:
    """A Vega-Lite dict written by hand (no Altair: ~1 ms instead of 50-200 ms for a chart
    rebuilt on every new input), styled like :func:`spec`'s. Its layers name their data with
    :func:`frame_name` of each frame in ``frames``, which become its datasets."""
    from ui.scope import SCHEMA_URL

    return style({"$schema": SCHEMA_URL, **body, "datasets": {frame_name(df): df for df in frames}})


def style(out: dict) -> dict:
    """Apply the shared look to a Vega-Lite dict, in place; returns it."""
    out.setdefault("usermeta", {}).setdefault("embedOptions", {}).setdefault("renderer", "canvas")
    config = out.setdefault("config", {})
    for default in ("continuousWidth", "continuousHeight"):  # Altair's theme, not ours
        config.get("view", {}).pop(default, None)
    config.setdefault("range", {}).setdefault("category", PALETTE)
    config.setdefault("view", {}).setdefault("strokeWidth", 0)
    legend = config.setdefault("legend", {})
    legend.setdefault("labelFontSize", FONT)
    legend.setdefault("titleFontSize", FONT)
    legend.setdefault("labelLimit", 0)
    legend.setdefault("labelColor", INK)
    legend.setdefault("titleColor", INK)
    out.setdefault("autosize", {"type": "fit-x", "contains": "padding"})
    # A single view (layers included) has "width" and "height" signals; a concatenation's
    # views have their own names for them, so nothing is cut there.
    single = not any(k in out for k in ("hconcat", "vconcat", "concat", "facet", "repeat"))
    title = out.get("title")
    if single and isinstance(title, (str, list)):
        out["title"] = {"text": title}
    if single and isinstance(out.get("title"), dict):
        out["title"].setdefault("limit", {"expr": "width"})  # cut at the plot's width, not the page's
        text = out["title"].get("text")
        if isinstance(text, str) and " " in text:  # on a narrow plot, phone-width lines, not a cut
            lines = json.dumps(wrapped(text).split("\n"))
            out["title"]["text"] = {"expr": f"width < {text_px(text)} ? {lines} : {json.dumps(text)}"}
    big = any(len(d) > ARIA_ROWS for d in out.get("datasets", {}).values() if hasattr(d, "__len__"))
    if big or any("bind" in p for p in out.get("params", [])):
        # Vega-Lite writes an ARIA description for every mark item, formatting its numbers,
        # on every update: for thousands of items, or on every step of a browser-side
        # slider, that costs more than the drawing. Streamlit turns it off for large charts
        # too; the chart keeps its accessible name.
        config.setdefault("mark", {}).setdefault("aria", False)
    _walk(out, limits=single)
    return out


def with_layer(base: dict, layer: dict, data: pd.DataFrame | None = None) -> dict:
    """``base`` (a layer spec) with one more layer on top; ``base`` is not changed.

    With ``data``, the layer draws it as a dataset named after the layer's position, a name
    that stays the same when only the data change: the spec is then unchanged, and the
    browser swaps the few rows into the chart already drawn instead of building it anew."""
    out = dict(base)
    if data is not None:
        name = f"layer-{len(base['layer'])}"
        layer = {**layer, "data": {"name": name}}
        out["datasets"] = {**base.get("datasets", {}), name: data}
    out["layer"] = [*base["layer"], layer]
    return out


def show(
    chart_spec: dict,
    *,
    key: str | None = None,
    on_select: Any = "ignore",
    selection: list[str] | None = None,
    table: Callable[[], pd.DataFrame] | None = None,
) -> None:
    """Draw a spec from :func:`spec` across the page width.

    Its datasets go to Streamlit as Arrow IPC bytes, which it ships as they are. A dataset
    named by its content (:func:`spec` names every frame ``data-<hash of its values>``) is
    converted once per process (:func:`arrow_bytes`), not on every rerun that draws it again
    (a fragment that redraws a fixed chart beside the one that changed).

    Under the chart, buttons download its data as CSV and its picture as SVG
    (:mod:`ui.export`, built only when pressed); its toolbar has Streamlit's PNG download.

    ``on_select``: Streamlit's (a callback, or "rerun"), for a chart whose selection the page
    reads back from ``st.session_state[key]``; ``selection``: the names of the selections that
    report to it (default: all of the chart's). ``table``: the chart's data for its CSV where
    the spec has no rows for them (an image map's cells; :func:`ui.export.buttons`)."""
    shipped = shipped_datasets(chart_spec)
    st.vega_lite_chart(shipped, width="stretch", key=key, on_select=on_select, selection_mode=selection)
    # Its data as CSV and its picture as SVG (ui/export.py), from the spec as shipped: its
    # content-named datasets are the Arrow bytes every session shares (arrow_bytes), so the
    # buttons' deferred callables, which a session holds until its next run, copy nothing.
    export.buttons(shipped, key=key, table=table)


ARROW_MEMO_BYTES = 32 * 2**20  # the converted datasets kept, at most (least recently used go)
_arrow_memo: OrderedDict[str, bytes] = OrderedDict()
_arrow_lock = threading.Lock()


def arrow_bytes(df: pd.DataFrame, name: str | None = None) -> bytes:
    """``df`` as the Arrow IPC bytes Streamlit would make of it. With a content name (from
    :func:`spec`: the same name means the same values, columns and dtypes) the bytes are
    remembered across reruns and sessions."""
    if name is None or not name.startswith(_CONTENT):
        return _arrow(df)
    with _arrow_lock:
        if name in _arrow_memo:
            _arrow_memo.move_to_end(name)
            return _arrow_memo[name]
    data = _arrow(df)
    with _arrow_lock:
        _arrow_memo[name] = data
        while sum(map(len, _arrow_memo.values())) > ARROW_MEMO_BYTES and len(_arrow_memo) > 1:
            _arrow_memo.popitem(last=False)
    return data


def shipped_datasets(spec: dict) -> dict:
    """``spec`` with its DataFrame datasets as Arrow bytes (:func:`arrow_bytes`), for
    ``st.vega_lite_chart``; ``spec`` itself is not changed."""
    datasets = spec.get("datasets")
    if not datasets:
        return spec
    converted = {k: arrow_bytes(v, k) if isinstance(v, pd.DataFrame) else v for k, v in datasets.items()}
    return {**spec, "datasets": converted}


def _arrow(df: pd.DataFrame) -> bytes:
    """The Arrow IPC bytes of ``df``'s columns (its index is never drawn), column by column.
    Streamlit's own conversion (``pa.Table.from_pandas``) writes pandas' schema metadata
    first, which is most of its time for a scope's small tables: measured at 1.8 against 0.9
    ms for a five-row marker table, 3.3 against 0.8 ms for 50 000 points; the frames read back
    equal. A column pyarrow cannot take this way goes through Streamlit's conversion."""
    import pyarrow as pa
    from streamlit.dataframe_util import convert_anything_to_arrow_bytes, convert_arrow_table_to_arrow_bytes

    try:
        table = pa.table({str(k): pa.array(col, from_pandas=True) for k, col in df.items()})
    except (pa.ArrowException, TypeError, ValueError):
        return convert_anything_to_arrow_bytes(df)
    return convert_arrow_table_to_arrow_bytes(table)


# ---------------------------------------------------------------- internals


_ID = "__lens_frame"
_CONTENT = "data-"  # the prefix of a dataset named by its content


def _stand_ins(chart: Any, frames: list[pd.DataFrame]) -> Any:
    """A shallow copy of ``chart`` whose DataFrames are one-row stand-ins tagged with their
    index in ``frames``. Altair still infers each field's type from the stand-in's dtypes,
    and serialises one row instead of thousands (nor refuses a frame over its row limit);
    :func:`spec` then puts the real frames back under names made from their content."""
    c = chart.copy(deep=False)
    data = c._get("data")
    if isinstance(data, pd.DataFrame):
        stand_in = data.head(1).copy() if len(data) else data.reindex([0])
        stand_in[_ID] = len(frames)
        # The index is never drawn: a plain one is not shipped (and pickles back the same).
        frames.append(data if isinstance(data.index, pd.RangeIndex) else data.reset_index(drop=True))
        c.data = stand_in
    for key in ("layer", "hconcat", "vconcat", "concat"):
        subs = c._get(key)
        if isinstance(subs, list):
            c[key] = [_stand_ins(s, frames) for s in subs]
    return c


def _rename(node: Any, names: dict[str, str]) -> None:
    """Point every ``{"data": {"name": old}}`` at its new name, in place."""
    if isinstance(node, list):
        for n in node:
            _rename(n, names)
    elif isinstance(node, dict):
        data = node.get("data")
        if isinstance(data, dict) and data.get("name") in names:
            node["data"] = {**data, "name": names[data["name"]]}
        for k, v in node.items():
            if k not in ("data", "datasets"):
                _rename(v, names)


def frame_name(df: pd.DataFrame) -> str:
    """A dataset name made of ``df``'s content (values, columns, dtypes): the same name means
    the same data, so its Arrow bytes are converted once (:func:`arrow_bytes`)."""
    h = hashlib.blake2b(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes(), digest_size=8)
    h.update("\x1f".join(map(str, df.columns)).encode())
    h.update("\x1f".join(map(str, df.dtypes)).encode())  # equal values, other types: another name
    return f"{_CONTENT}{h.hexdigest()}"


def _walk(node: Any, limits: bool = True) -> None:
    """Type sizes on every axis and legend of every view (layers and concatenations);
    ``limits``: cut axis titles at the plot's width and height (a single view's signals)."""
    if isinstance(node, list):
        for n in node:
            _walk(n, limits)
        return
    if not isinstance(node, dict):
        return
    enc = node.get("encoding")
    if isinstance(enc, dict):
        for ch in ("x", "y"):
            d = enc.get(ch)
            if not _has_guide(d, "axis"):
                continue
            ax = d.setdefault("axis", {})
            ax.setdefault("labelFontSize", FONT)
            ax.setdefault("titleFontSize", TITLE_FONT)
            ax.setdefault("labelColor", INK)
            ax.setdefault("titleColor", INK)
            # On a phone an axis title wider than the plot ran off the chart's left edge and
            # took the chart's title with it: cut it (with an ellipsis) at the plot's length.
            if limits:
                ax.setdefault("titleLimit", {"expr": "width" if ch == "x" else "height"})
            title = d.get("title", ax.get("title", d.get("field")))
            if isinstance(title, str) and len(title) <= 3:
                # A one-letter title ("a", "b") is easy to miss: larger, bold, and on the y
                # axis upright rather than on its side (as the scope writes it).
                ax.update(titleFontSize=FONT + 4, titleFontWeight="bold")
                if ch == "y":
                    ax.update(titleAngle=0, titleAlign="right", titleBaseline="middle")
        for ch in LEGEND_CHANNELS:
            d = enc.get(ch)
            if _has_guide(d, "legend"):
                lg = d.setdefault("legend", {})
                lg.setdefault("labelFontSize", FONT)
                lg.setdefault("titleFontSize", FONT)
                lg.setdefault("labelLimit", 0)
                lg.setdefault("labelColor", INK)
                lg.setdefault("titleColor", INK)
                if lg.get("orient") in ("top", "bottom"):
                    # A row of entries wider than a phone is cut off: wrap into as many
                    # columns as fit (an entry is at most ~180 px at these sizes).
                    lg.setdefault("columns", {"expr": f"max(1, floor(width / {LEGEND_ENTRY_PX}))"})
    for key in ("layer", "hconcat", "vconcat", "concat"):
        if key in node:
            _walk(node[key], limits)
    if isinstance(node.get("spec"), dict):
        _walk(node["spec"], limits)


def _has_guide(d: Any, guide: str) -> bool:
    """A channel definition of a field, an aggregate or a datum (the raster maps' image
    corners) whose axis/legend is not off."""
    return (
        isinstance(d, dict)
        and ("field" in d or "aggregate" in d or "datum" in d)
        and d.get(guide, {}) is not None
    )
