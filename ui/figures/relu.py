"""The ReLU page's charts: what the threshold-sweep scope draws, and the ablations' bars.

The sweep itself is computed in :func:`lens.story.relu.sweep`; here it becomes the scope's
lines and dashed markers. The ablation chart is cached by the page through
``ui.data.of_args`` on its nine losses (a tuple of floats: a cheap key), so it is built once
per checkpoint without computing the ablations a second time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ui.scope import Marker
from ui.theme import PALETTE

if TYPE_CHECKING:  # pragma: no cover
    from lens.story.relu import Sweep

# lens.story.relu.ABLATIONS, as the table and the chart name them.
ABLATIONS = {
    "regular": "regular",
    "without_sum_difference": "without sum/difference frequencies",
    "only_key_frequencies": "only key frequencies",
}
SPLITS = ("all", "train", "test")


def sweep_lines(sw: Sweep) -> dict[str, np.ndarray]:
    """The scope's two lines over (threshold, n): the clipped signal and the input (the same
    at every threshold: a read-only broadcast view, which the scope sends once)."""
    return {
        "after the ReLU": sw.after_centred,
        "input": np.broadcast_to(sw.input, sw.after_centred.shape),
    }


def sweep_markers(sw: Sweep) -> list[Marker]:
    """Dashed rules in the Fourier views: "f₁ = 14", "2f₁ = |f₁−f₂| = 2", ..."""
    return [Marker(float(f), " = ".join(names) + f" = {f}", view="fourier") for f, names in sw.markers]


def ablation_losses(ablations: dict[str, dict[str, float]]) -> tuple[tuple[float, ...], ...]:
    """The ablations' losses as rows (``ABLATIONS`` order) of (all, train, test): the cache
    key of :func:`ablation_spec`."""
    return tuple(tuple(float(ablations[r][s]) for s in SPLITS) for r in ABLATIONS)


def ablation_spec(losses: tuple[tuple[float, ...], ...]) -> dict:
    """The three ablations' losses per split (:func:`ablation_losses`), as grouped bars."""
    import altair as alt
    import pandas as pd

    from ui.charts import spec

    labels = list(ABLATIONS.values())
    long = pd.DataFrame(
        [
            {"ablation": label, "split": s, "loss": loss}
            for label, row in zip(labels, losses, strict=True)
            for s, loss in zip(SPLITS, row, strict=True)
        ]
    )
    chart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("ablation:N", sort=labels, title=None, axis=alt.Axis(labelLimit=360)),
            yOffset=alt.YOffset("split:N", sort=list(SPLITS)),
            x=alt.X("loss:Q", title="cross-entropy loss (float64)", axis=alt.Axis(format=".1e")),
            color=alt.Color(
                "split:N",
                sort=list(SPLITS),
                scale=alt.Scale(range=PALETTE[:3]),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=["ablation:N", "split:N", alt.Tooltip("loss:Q", format=".3e")],
        )
        .properties(height=300)
    )
    return spec(chart)
