"""Basics' charts: the two p x p maps of every pair (one image each) and the embedding's spectrum.

Each builder returns a styled Vega-Lite dict (``ui.charts.spec``/``style``), cached by the
page through ``ui.data.of_args`` / ``of_run`` and drawn with ``ui.charts.show``. The answer
map is the first chart a new reader waits for, so it needs nothing but p and imports no
Altair (importing, building and validating Altair would add half a second; the tests
validate the dict).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ui.theme import PALETTE

if TYPE_CHECKING:  # pragma: no cover
    from lens.run import Run
    from lens.story.basics import BasicsFacts

# Okabe-Ito blue for training pairs, light grey for test pairs, vermillion for wrong answers.
SPLIT_COLOURS = {"train": PALETTE[0], "test": "#e0e0e0", "model wrong": PALETTE[5]}
SPECTRUM_KINDS = {
    "key frequency": PALETTE[5],
    "harmonic (2f)": PALETTE[1],
    "subharmonic (f/2)": PALETTE[2],
    "other": "#999999",
}


def _legend_layer(field: str, values: list, scale: dict, kind: str, title: str) -> dict:
    """An invisible layer whose only job is the colour legend of an image map."""
    return {
        "data": {"values": [{field: v} for v in values]},
        "mark": {"type": "square", "opacity": 0},
        "encoding": {
            "color": {
                "field": field,
                "type": kind,
                "scale": scale,
                "title": title,
                # the legend's symbols would inherit the invisible mark's opacity
                "legend": {"symbolOpacity": 1, "symbolSize": 220, "symbolStrokeWidth": 0},
            }
        },
    }


SELECTION = "cell"  # the maps' click selection: Streamlit reports the clicked (a, b) under this name
# Set by the pointer's first pass over a map's image: until then its p² hover cells are
# filtered out, so a map opens as one image (the cells cost ~0.2 s to lay out, measured with
# vl-convert on p = 113, and Basics opens with two maps). Never reported to Streamlit
# (``ui.charts.show`` passes ``selection_mode=[SELECTION]``).
ARMED = "armed"


def _hover_layer(p: int, fields: list[tuple[str, str]], strings: dict[str, object]) -> dict:
    """An invisible cell over every pair, for the tooltip and the click that picks a pair.

    Why cells: the map is one image (``ui/raster.py``), which tells neither a tooltip nor a
    click which pair is under the pointer. The p² rects are generated in the browser (a
    ``sequence``: a = i // p, b = i % p), so no rows travel; per-pair facts are read out of
    values passed as parameters (``strings``: packed text, or an object keyed by the pair's
    index a * p + b for the few pairs that need one), a few kilobytes instead of p² rows.
    They are invisible (opacity 0, but filled, which is what Vega's hit test looks at) and
    drawn last, so every click lands on one. ``fields``: (tooltip title, Vega expression of ``datum.i``, ``datum.a``,
    ``datum.b``), in tooltip order."""
    calc = [
        # No cells until the pointer has been over the image (ARMED): Vega re-runs this
        # filter when that selection's store fills.
        {"filter": f"length(data('{ARMED}_store')) > 0"},
        {"calculate": f"floor(datum.i / {p})", "as": "a"},
        {"calculate": f"datum.i % {p}", "as": "b"},
        {"calculate": "datum.b - 0.5", "as": "x0"},
        {"calculate": "datum.b + 0.5", "as": "x1"},
        {"calculate": "datum.a - 0.5", "as": "y0"},
        {"calculate": "datum.a + 0.5", "as": "y1"},
        *({"calculate": expr, "as": title} for title, expr in fields),
    ]
    return {
        "data": {"sequence": {"start": 0, "stop": p * p, "as": "i"}},
        "params": [
            {
                "name": SELECTION,
                "select": {
                    "type": "point",
                    "fields": ["a", "b"],
                    "on": "click",
                    "toggle": False,
                    "clear": False,
                },
            },
            *({"name": name, "value": value} for name, value in strings.items()),
        ],
        "transform": calc,
        # Opacity 0 draws nothing but keeps the cells under the pointer (tooltips, clicks).
        # aria off: an ARIA description per cell would cost more than drawing p² cells.
        "mark": {"type": "rect", "opacity": 0, "color": "black", "cursor": "pointer", "aria": False},
        "encoding": {
            # The image layer's titles: a shared scale joins its layers' differing titles.
            "x": {"field": "x0", "type": "quantitative", "title": "b"},
            "x2": {"field": "x1"},
            "y": {"field": "y0", "type": "quantitative", "title": "a"},
            "y2": {"field": "y1"},
            "tooltip": [
                {"field": "a", "type": "quantitative"},
                {"field": "b", "type": "quantitative"},
                *({"field": title, "type": "nominal"} for title, _ in fields),
            ],
        },
    }


def _grid_spec(p: int, url: str, legend: dict, hover: dict) -> dict:
    from ui.charts import style
    from ui.raster import grid_layer
    from ui.scope import SCHEMA_URL

    cells = grid_layer(url, p, p, "b", "a", list(range(0, p, 10)))
    # The image says nothing under the pointer: the hover layer does.
    cells["mark"]["tooltip"] = None
    # Any pointer (mouse or touch) over the image arms the hover cells (see ARMED).
    cells["params"] = [{"name": ARMED, "select": {"type": "point", "on": "pointerover", "clear": False}}]
    # The strings are variable parameters, which Vega-Lite takes at the top level only.
    strings = [q for q in hover["params"] if "select" not in q]
    hover = {**hover, "params": [q for q in hover["params"] if "select" in q]}
    # Three layers, so the chosen pair is added as a fourth later (:func:`picked`).
    out = {"$schema": SCHEMA_URL, "layer": [cells, legend, hover], "height": 420}
    if strings:
        out["params"] = strings
    return style(out)


def _answer_field(p: int) -> tuple[str, str]:
    return ("answer c", f"(datum.a + datum.b) % {p}")


def answer_grid_spec(p: int) -> dict:
    """Every pair (a, b) as a cell coloured by its answer c, as one image (ui/raster.py)."""
    from ui.raster import cells_data_url, sinebow

    c = np.add.outer(np.arange(p), np.arange(p)) % p  # [a, b]
    # c is cyclic (p - 1 sits next to 0), so a cyclic colour scheme.
    scale = {"scheme": "sinebow", "domain": [0, p]}
    legend = _legend_layer("c", [0, p - 1], scale, "quantitative", "c = (a + b) mod p")
    return _grid_spec(p, cells_data_url(sinebow(c / p)), legend, _hover_layer(p, [_answer_field(p)], {}))


def bits_base32(bits: np.ndarray) -> str:
    """Booleans as base-32 text, 5 per character, the first in the lowest bit (the browser
    reads bit i as ``floor(parseInt(char i // 5, 32) / 2^(i % 5)) % 2``)."""
    padded = np.zeros(-(-len(bits) // 5) * 5, dtype=np.int64)
    padded[: len(bits)] = np.asarray(bits, dtype=bool)
    values = (padded.reshape(-1, 5) << np.arange(5)).sum(axis=1)
    return "".join("0123456789abcdefghijklmnopqrstuv"[v] for v in values)


def split_grid_spec(run: Run) -> dict:
    """Every pair coloured by its split, and the pairs the model gets wrong in a third colour
    (the legend names only what is drawn)."""
    from lens.story.basics import model_answers, wrong_answers
    from ui.raster import cells_data_url, hex_rgb

    p = run.p
    kind = np.where(run.train_mask, 0, 1)
    wrong = wrong_answers(run)
    answers = model_answers(run)
    # The model's answer travels only where it is wrong (none for a grokked model), and the
    # split as 5 bits per base-32 character: ~2.6 kB for p = 113 instead of ~51 kB, re-sent
    # with every pick of a pair (the outline changes the spec's data).
    misses = {str(int(i)): int(answers[i]) for i in np.flatnonzero(wrong)}
    says = f"(isValid(model_wrong[datum.i]) ? model_wrong[datum.i] : (datum.a + datum.b) % {p})"
    bit = "floor(parseInt(substring(train_bits, floor(datum.i / 5), floor(datum.i / 5) + 1), 32) / pow(2, datum.i % 5)) % 2"
    hover = _hover_layer(
        p,
        [
            _answer_field(p),
            ("split", f"{bit} == 1 ? 'train' : 'test'"),
            ("model says", f"{says} + (isValid(model_wrong[datum.i]) ? ' (wrong)' : ' (right)')"),
        ],
        {"train_bits": bits_base32(run.train_mask), "model_wrong": misses},
    )
    kind[wrong] = 2
    names = list(SPLIT_COLOURS)[: 3 if wrong.any() else 2]
    palette = np.stack([hex_rgb(c) for c in SPLIT_COLOURS.values()])
    scale = {"domain": names, "range": [SPLIT_COLOURS[n] for n in names]}
    legend = _legend_layer("split", names, scale, "nominal", "split")
    return _grid_spec(p, cells_data_url(palette[kind.reshape(p, p)]), legend, hover)


def answer_cells(p: int):
    """The answer map's cells as a table for its CSV: one row per pair, a-major, named as the
    map names them (its axes a and b, its tooltip's answer c)."""
    import pandas as pd

    a, b = np.divmod(np.arange(p * p), p)
    return pd.DataFrame({"a": a, "b": b, _answer_field(p)[0]: (a + b) % p})


def split_cells(run: Run):
    """The split map's cells as a table for its CSV: :func:`answer_cells` with each pair's
    split, the model's answer and whether it is right (the map's legend and tooltip)."""
    from lens.story.basics import model_answers

    out = answer_cells(run.p)
    out["split"] = np.where(run.train_mask, "train", "test")
    out["model says"] = model_answers(run)
    out["correct"] = out["model says"] == out[_answer_field(run.p)[0]]
    return out


def clicked(selection: object, p: int) -> tuple[int, int] | None:
    """The pair a click on a map picked, from Streamlit's selection state (``event.selection``
    or ``st.session_state[key].selection``): None when nothing valid is selected (it comes
    from the browser: anything malformed or outside 0..p-1 is None)."""
    try:
        rows = selection.get(SELECTION) or []  # type: ignore[union-attr]
        a, b = rows[-1]["a"], rows[-1]["b"]
        if not all(isinstance(v, (int, float)) and float(v).is_integer() for v in (a, b)):
            return None
        a, b = int(a), int(b)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return None
    return (a, b) if 0 <= a < p and 0 <= b < p else None


def picked(base: dict, a: int, b: int) -> dict:
    """A grid spec with the pair (a, b) outlined: a one-row dataset, not a rebuilt chart. The
    hover cells stay on top (under the outline a click would not reach them)."""
    import pandas as pd

    from ui.charts import with_layer

    out = with_layer(
        base,
        {
            "mark": {"type": "point", "shape": "square", "size": 160, "color": "black", "strokeWidth": 3},
            "encoding": {
                "x": {"field": "b", "type": "quantitative"},
                "y": {"field": "a", "type": "quantitative"},
                "tooltip": [
                    {"field": "a", "type": "quantitative"},
                    {"field": "b", "type": "quantitative"},
                ],
            },
        },
        pd.DataFrame({"a": [a], "b": [b]}),
    )
    *below, hover, outline = out["layer"]
    return {**out, "layer": [*below, outline, hover]}


def spectrum_chart(f: BasicsFacts):
    """Share of the embedding's energy per frequency 1..p//2, the key frequencies, their
    harmonics and subharmonics coloured (an ``alt.Chart``)."""
    import altair as alt
    import pandas as pd

    p = f.task.p
    freqs = list(range(1, p // 2 + 1))
    kind = []
    for q in freqs:
        if q in f.key_freqs:
            kind.append("key frequency")
        elif q in f.harm_only:
            kind.append("harmonic (2f)")
        elif q in f.sub_only:
            kind.append("subharmonic (f/2)")
        else:
            kind.append("other")
    df = pd.DataFrame({"frequency": freqs, "share": f.share[1:], "kind": kind})
    top = float(df["share"].max()) if len(df) else 1.0
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X(
                "frequency:Q",
                title="frequency (cycles over the p tokens)",
                scale=alt.Scale(domain=[0, p // 2 + 1]),
            ),
            # Headroom above the tallest bar, so it does not touch the frame.
            y=alt.Y(
                "share:Q",
                title="share of W_E's energy",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, top * 1.15], nice=False),
            ),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=list(SPECTRUM_KINDS), range=list(SPECTRUM_KINDS.values())),
                title=None,
                legend=alt.Legend(orient="top"),
            ),
            tooltip=["frequency", alt.Tooltip("share:Q", format=".2%"), "kind"],
        )
        .properties(height=300)
    )


def spectrum_spec(run: Run) -> dict:
    """:func:`spectrum_chart` of ``run``'s facts, as a styled dict."""
    from lens.story.basics import facts
    from ui.charts import spec

    return spec(spectrum_chart(facts(run)))
