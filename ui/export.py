"""Every chart's take-away: its data as CSV and its picture as SVG, under the chart; PNG is in
the chart's own toolbar.

Where each comes from, and why (Streamlit 1.67):
- **PNG**: Streamlit's chart toolbar has "Download as PNG" (hover a chart), drawn by the
  browser from the chart it shows (vega's ``toImageURL``): no server cost, nothing to add.
- **SVG**: that toolbar offers PNG only, and Streamlit strips vega-embed's own export menu
  (``actions``) and every ``usermeta.embedOptions`` key but theme, renderer and padding
  (streamlit/streamlit#15806, #16512). So the SVG is rendered on the server with
  vl-convert (the Vega-Lite compiler and Vega renderer, bundled) when the reader asks for it:
  :func:`svg_text` runs only on a click. Where vl-convert is not installed, there is no
  SVG button.
- **CSV**: :func:`table` is the chart's data with each field named by its axis (or legend)
  title: what the reader sees on the chart. Also built only on a click. A p x p map drawn
  as one image (ui/raster.py) carries no rows for its cells, so its page hands
  :func:`buttons` a ``table`` callable that makes them (one row per pair, named by the map's
  axes and legend: ``ui.figures.basics.answer_cells`` and its kin).

Lazy on both counts: ``st.download_button(data=callable)`` runs the callable when the button
is pressed, on a thread of its own, and ``on_click="ignore"`` means a download never reruns
the page. A widget change pays for two small button elements only (see bench/export.py).
"""

from __future__ import annotations

import io
import re
from functools import cache
from typing import Any, Callable

import numpy as np
import pandas as pd
import streamlit as st

# Channels whose title is the axis or legend a reader reads the field by, strongest first.
TITLED_CHANNELS = (
    "x",
    "y",
    "x2",
    "y2",
    "theta",
    "radius",
    "color",
    "fill",
    "stroke",
    "size",
    "shape",
    "opacity",
)
VIEW_KEYS = ("layer", "hconcat", "vconcat", "concat")
SVG_WIDTH = 900  # px: a chart that fits the page's width has no width of its own off the page


def table(chart_spec: dict) -> pd.DataFrame:
    """The chart's data as one table whose columns are named by the chart's axis titles.

    Each named dataset's fields are renamed by the titles the views drawing it give them (an
    axis title first, then a legend's, then a tooltip's); a field without a title keeps its
    name. A chart of several datasets (a line and its markers) gives their rows one under the
    other, with a first column ``mark`` naming what draws them."""
    datasets = {k: _frame(v) for k, v in chart_spec.get("datasets", {}).items()}
    titles: dict[str, dict[str, str]] = {}
    marks: dict[str, str] = {}
    _collect(chart_spec, None, datasets, titles, marks)
    order = list(marks) + [k for k in datasets if k not in marks]
    parts = []
    for name in order:
        df = datasets[name]
        renames, taken = {}, set(df.columns)
        for field, title in titles.get(name, {}).items():
            if field in df.columns and title not in taken:
                renames[field] = title
                taken.add(title)
        parts.append((marks.get(name, "data"), df.rename(columns=renames)))
    if not parts:
        return pd.DataFrame()
    if len(parts) == 1:
        return parts[0][1]
    return pd.concat([df.assign(mark=m)[["mark", *df.columns]] for m, df in parts], ignore_index=True)


def csv_bytes(chart_spec: dict) -> bytes:
    """:func:`table` as UTF-8 CSV (no index column)."""
    out = io.StringIO()
    table(chart_spec).to_csv(out, index=False)
    return out.getvalue().encode("utf-8")


@cache
def svg_available() -> bool:
    """Whether vl-convert is installed (checked once per process)."""
    try:
        import vl_convert  # noqa: F401
    except ImportError:
        return False
    return True


def svg_text(chart_spec: dict) -> str:
    """The chart as an SVG document, rendered by vl-convert from the same spec (its opening
    state: a browser-side slider stands at its start)."""
    import vl_convert

    vl = {k: v for k, v in chart_spec.items() if k not in ("datasets", "usermeta")}
    if isinstance(vl.get("layer"), list):
        vl["layer"] = _drawn_layers(vl["layer"])
    vl["datasets"] = {k: _records(_frame(v)) for k, v in chart_spec.get("datasets", {}).items()}
    if not any(k in vl for k in ("hconcat", "vconcat", "concat")) and "width" not in vl:
        vl["width"] = SVG_WIDTH
    return vl_convert.vegalite_to_svg(vl)


def file_stem(chart_spec: dict, key: str | None) -> str:
    """A file name for the chart: its key ("relu.ablations" -> "relu-ablations"), else its
    title, else "chart"."""
    title = chart_spec.get("title", "")
    title = title.get("text", "") if isinstance(title, dict) else title
    base = key or (title if isinstance(title, str) else "") or "chart"
    return re.sub(r"[^A-Za-z0-9]+", "-", base).strip("-").lower()[:60] or "chart"


def buttons(
    chart_spec: dict, key: str | None = None, table: Callable[[], pd.DataFrame] | None = None
) -> None:
    """The chart's CSV (and SVG) download buttons, in one row under it.

    ``table``: the chart's data where its spec does not hold them (an image map's cells),
    called only when the CSV button is pressed; else :func:`table` of the spec."""
    stem = file_stem(chart_spec, key)
    base = key or f"export.{stem}.{_content_name(chart_spec)}"

    def csv() -> bytes:
        if table is None:
            return csv_bytes(chart_spec)
        return table().to_csv(index=False).encode("utf-8")

    with st.container(horizontal=True, gap="small"):
        _button("Data (CSV)", csv, f"{stem}.csv", "text/csv", f"{base}.csv")
        if svg_available():
            _button(
                "Image (SVG)", lambda: svg_text(chart_spec), f"{stem}.svg", "image/svg+xml", f"{base}.svg"
            )


def scope_table(
    lines: dict[str, np.ndarray],
    view: str,
    axes: list[str],
    titles: dict[str, str],
    play_index: np.ndarray | None = None,
) -> pd.DataFrame:
    """A scope's data as drawn in ``view``: one row per point, one column per axis (named by
    its title) and one per line (named by its legend name, or the value's title).

    ``lines``: ``{name: array}`` as the scope slices them, axes ``axes`` (the play axis
    first when there is one, the drawn axes last). ``titles`` renames axes. The last axis is
    the x axis: token indices in the space and heatmap views, the Fourier basis (1, sin 1,
    cos 1, ...) or the frequency in the other two."""
    from lens.fourier import basis_labels, n_freqs
    from ui.scope_tables import view_values

    vals = {k: view_values(v, view) for k, v in lines.items()}
    first = next(iter(vals.values()))
    n_x = first.shape[-1]
    p = next(iter(lines.values())).shape[-1]
    if view == "fourier":
        x_name, x_vals = "Fourier basis", np.asarray(basis_labels(p), dtype=object)
    elif view == "magnitude":
        x_name, x_vals = "frequency", np.arange(n_freqs(p) + 1)
    else:
        x_name, x_vals = titles.get(axes[-1], axes[-1]), np.arange(n_x)
    grids = np.meshgrid(*[np.arange(n) for n in first.shape], indexing="ij")
    cols: dict[str, Any] = {}
    for i, ax in enumerate(axes[:-1]):
        index = grids[i].ravel()
        if i == 0 and play_index is not None:
            index = np.asarray(play_index)[index]
        cols[titles.get(ax, ax)] = index
    cols[x_name] = x_vals[grids[-1].ravel()]
    for name, v in vals.items():
        cols[name if name not in cols else f"{name} (value)"] = v.ravel()
    return pd.DataFrame(cols)


def scope_buttons(chart_spec: dict, make_table: Callable[[], pd.DataFrame], key: str) -> None:
    """A scope's CSV (:func:`scope_table`, through ``make_table``) and SVG buttons."""
    stem = file_stem(chart_spec, key)

    def csv() -> bytes:
        return make_table().to_csv(index=False).encode("utf-8")

    with st.container(horizontal=True, gap="small"):
        _button("Data (CSV)", csv, f"{stem}.csv", "text/csv", f"{key}.csv")
        if svg_available():
            _button("Image (SVG)", lambda: svg_text(chart_spec), f"{stem}.svg", "image/svg+xml", f"{key}.svg")


# ---------------------------------------------------------------- internals


def _button(label: str, data: Callable[[], Any], file_name: str, mime: str, key: str) -> None:
    st.download_button(
        label,
        data=data,
        file_name=file_name,
        mime=mime,
        key=key,
        on_click="ignore",
        type="tertiary",
        icon=":material/download:",
    )


def _drawn_layers(layers: list) -> list:
    """``layers`` less those that only take the pointer (:func:`_hit_only`) and whose
    parameters (a click selection) no other layer reads."""
    import json

    def read_elsewhere(i: int) -> bool:
        others = json.dumps([v for j, v in enumerate(layers) if j != i], default=str)
        return any(f'"{q.get("name")}"' in others for q in layers[i].get("params", []))

    return [v for i, v in enumerate(layers) if not (_hit_only(v) and not read_elsewhere(i))]


def _hit_only(view: Any) -> bool:
    """A layer that draws nothing, shows no legend and reads no named dataset: the invisible
    cells an image map lays over its pairs for tooltips and clicks (generated in the
    browser, ui/figures/basics.py). A picture has no pointer: left out of the SVG, they
    would have been p² empty paths (1.7 MB at p = 113). A layer over a named dataset stays:
    expressions may read that dataset (the scope's info rows), and Vega-Lite keeps only the
    datasets some view draws."""
    if not isinstance(view, dict):
        return False
    mark, enc, data = view.get("mark"), view.get("encoding") or {}, view.get("data")
    return (
        isinstance(mark, dict)
        and mark.get("opacity") == 0
        and not (isinstance(data, dict) and "name" in data)
        and "x" in enc
        and not any(
            isinstance(enc.get(ch), dict) and enc[ch].get("legend", {}) is not None
            for ch in ("color", "fill", "stroke", "size", "shape", "opacity")
        )
    )


def _frame(data: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, (bytes, bytearray)):  # Arrow IPC bytes, as show() ships them
        from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

        return convert_arrow_bytes_to_pandas_df(bytes(data))
    return pd.DataFrame(data)


def _records(df: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts: NaN as null, timestamps as ISO text."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%dT%H:%M:%S")
    out = out.astype(object).where(out.notna(), None)
    return out.to_dict(orient="records")


def _title(d: dict) -> str | None:
    """A channel's title, or None. Blank counts as none: a chart that hides a title (null)
    reaches here as " " once Streamlit has drawn it (st.vega_lite_chart writes that into the
    spec it is given, nested dicts included)."""
    for guide in ("axis", "legend"):
        g = d.get(guide)
        if isinstance(g, dict) and isinstance(g.get("title"), str) and g["title"].strip():
            return g["title"]
    t = d.get("title")
    return t if isinstance(t, str) and t.strip() else None


def _collect(node: Any, inherited: str | None, datasets: dict, titles: dict, marks: dict) -> None:
    """Walk the views: for each dataset, the mark that first draws it and its fields' titles."""
    if isinstance(node, list):
        for n in node:
            _collect(n, inherited, datasets, titles, marks)
        return
    if not isinstance(node, dict):
        return
    data = node.get("data")
    name = data.get("name") if isinstance(data, dict) and data.get("name") in datasets else inherited
    enc = node.get("encoding")
    if name is not None and isinstance(enc, dict):
        mark = node.get("mark")
        marks.setdefault(name, (mark.get("type") if isinstance(mark, dict) else mark) or "data")
        named = titles.setdefault(name, {})
        channels = [c for c in TITLED_CHANNELS if c in enc] + [c for c in enc if c not in TITLED_CHANNELS]
        for ch in channels:
            for d in enc[ch] if isinstance(enc[ch], list) else [enc[ch]]:
                if isinstance(d, dict) and isinstance(d.get("field"), str) and (t := _title(d)):
                    named.setdefault(d["field"], t)
    for key in VIEW_KEYS:
        if key in node:
            _collect(node[key], name, datasets, titles, marks)
    if isinstance(node.get("spec"), dict):
        _collect(node["spec"], name, datasets, titles, marks)


def _content_name(chart_spec: dict) -> str:
    """A short name for an unkeyed chart, from its datasets' names (content hashes)."""
    import hashlib

    names = "\x1f".join(sorted(chart_spec.get("datasets", {})))
    return hashlib.blake2b(names.encode(), digest_size=4).hexdigest()
