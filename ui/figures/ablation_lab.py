"""The ablation lab's view: one ablation's result, its table, the controls chart and the map of
the pairs it breaks.

:func:`lab_view` runs the ablation (:func:`lens.lab.ablate`) and builds everything the page
draws from it, so the page caches the whole view with one ``ui.data.of_run`` call keyed by
(checkpoint, hook, set, mode, components). The map is one PNG image (``ui.raster``), laid out
like Basics' maps (a rows, b columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ui.theme import MUTED, PALETTE

if TYPE_CHECKING:  # pragma: no cover
    from lens.lab import LabResult
    from lens.run import Run

# The map's categories: the pairs still right, and the wrong ones by split.
MAP_COLOURS = {"right": "#e8e8e8", "wrong, training pair": PALETTE[0], "wrong, test pair": PALETTE[5]}
CONTROL_COLOURS = {"random set": "#999999", "chosen set": PALETTE[5]}


@dataclass(frozen=True)
class LabView:
    result: LabResult
    table: object  # a pandas DataFrame of formatted numbers
    controls: dict  # Vega-Lite spec: the controls' losses, the chosen set marked
    wrong_map: dict  # Vega-Lite spec: the p x p map of failing pairs


def lab_view(run: Run, hook: str, freqs: tuple, mode: str, components: str) -> LabView:
    """The ablation and its controls, with its table and charts (for ``ui.data.of_run``)."""
    from lens.lab import ablate

    result = ablate(run, hook, freqs, mode, components)
    return LabView(result, result_table(result), controls_spec(result), wrong_map_spec(result))


def result_table(r: LabResult):
    """Loss and accuracy on train, test and all pairs: the model, the ablation and the
    controls' mean (rows), as text."""
    import pandas as pd

    from lens.lab import SPLITS
    from ui.theme import num, pct

    rows = {"the model": (r.own_loss, r.own_accuracy), "after the ablation": (r.loss, r.accuracy)}
    if r.controls:
        mean = {s: float(np.mean(r.control_loss[s])) for s in SPLITS}
        acc = {s: float(np.mean(r.control_accuracy[s])) for s in SPLITS}
        rows[f"random sets (mean of {len(r.controls)})"] = (mean, acc)
    data = {f"loss, {s}": [num(loss[s], ".3g") for loss, _ in rows.values()] for s in SPLITS}
    data.update({f"accuracy, {s}": [pct(acc[s], 1) for _, acc in rows.values()] for s in SPLITS})
    return pd.DataFrame(data, index=list(rows))


def controls_spec(r: LabResult) -> dict:
    """Each random set's test loss as a dot on a log axis, the chosen set as a larger mark and
    the model's own loss as a dashed rule (tooltips name each set's frequencies)."""
    import altair as alt
    import pandas as pd

    from lens.lab import STAT_SPLIT, format_frequencies
    from ui.charts import spec

    loss = r.control_loss[STAT_SPLIT]
    floor = 1e-12  # a log axis cannot show 0
    df = pd.DataFrame(
        {
            "loss": [max(v, floor) for v in (*loss, r.loss[STAT_SPLIT])],
            "set": [format_frequencies(c) for c in r.controls] + [format_frequencies(r.freqs) or "none"],
            "kind": ["random set"] * len(loss) + ["chosen set"],
        }
    )
    own = pd.DataFrame({"loss": [max(r.own_loss[STAT_SPLIT], floor)], "what": ["the model's own loss"]})
    x = alt.X("loss:Q", title=f"{STAT_SPLIT} loss (log scale)", scale=alt.Scale(type="log"))
    dots = (
        alt.Chart(df)
        .mark_point(filled=True, opacity=0.85)
        .encode(
            x=x,
            y=alt.Y("kind:N", title=None, sort=list(CONTROL_COLOURS)),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=list(CONTROL_COLOURS), range=list(CONTROL_COLOURS.values())),
                legend=alt.Legend(orient="top", title=None),
            ),
            size=alt.Size(
                "kind:N", scale=alt.Scale(domain=list(CONTROL_COLOURS), range=[120, 400]), legend=None
            ),
            tooltip=[alt.Tooltip("set:N", title="frequencies"), alt.Tooltip("loss:Q", format=".3g")],
        )
    )
    rule = (
        alt.Chart(own)
        .mark_rule(strokeDash=[6, 4], color=MUTED, strokeWidth=2)
        .encode(x="loss:Q", tooltip=[alt.Tooltip("what:N", title=""), alt.Tooltip("loss:Q", format=".3g")])
    )
    return spec(
        (rule + dots).properties(height=170, title="The chosen set beside random sets of the same size")
    )


def _legend(names: list[str]) -> dict:
    """An invisible layer that only draws the map's colour legend."""
    return {
        "data": {"values": [{"pair": n} for n in names]},
        "mark": {"type": "square", "opacity": 0},
        "encoding": {
            "color": {
                "field": "pair",
                "type": "nominal",
                "scale": {"domain": names, "range": [MAP_COLOURS[n] for n in names]},
                "title": "after the ablation",
                "legend": {"symbolOpacity": 1, "symbolSize": 220, "symbolStrokeWidth": 0},
            }
        },
    }


def wrong_map_spec(r: LabResult) -> dict:
    """Every pair (a, b) as a cell: still right, or wrong (coloured by its split), one image."""
    from ui.charts import style
    from ui.raster import cells_data_url, grid_layer, hex_rgb
    from ui.scope import SCHEMA_URL

    p = r.p
    kind = np.where(r.wrong, np.where(r.train, 1, 2), 0)
    palette = np.stack([hex_rgb(c) for c in MAP_COLOURS.values()])
    names = [n for i, n in enumerate(MAP_COLOURS) if i == 0 or (kind == i).any()]
    cells = grid_layer(cells_data_url(palette[kind]), p, p, "b", "a", list(range(0, p, 10)))
    return style({"$schema": SCHEMA_URL, "layer": [cells, _legend(names)], "height": 420})


def wrong_cells(r: LabResult):
    """The map's cells as a table for its CSV: one row per pair (a, b), a-major, with its
    answer, its split and what the map colours it by (its legend's title and names)."""
    import pandas as pd

    p = r.p
    a, b = np.divmod(np.arange(p * p), p)
    train = np.asarray(r.train).ravel()
    wrong = np.asarray(r.wrong).ravel()
    after = np.array(list(MAP_COLOURS), dtype=object)[np.where(wrong, np.where(train, 1, 2), 0)]
    return pd.DataFrame(
        {
            "a": a,
            "b": b,
            "answer c": (a + b) % p,
            "split": np.where(train, "train", "test"),
            "after the ablation": after,
        }
    )
