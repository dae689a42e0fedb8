"""The ReLU page's charts: what the threshold-sweep scope draws, and the ablations' losses.

The sweep itself is computed in :func:`lens.story.relu.sweep`; here it becomes the scope's
lines and dashed markers. The ablation chart shows five edits of the post-ReLU activations:
the seed's three (:attr:`lens.story.relu.ReluFacts.ablations`) and the two product
ablations, read from the details of the claims ``relu-products-essential`` and
``relu-products-sufficient`` (:mod:`lens.claims.relu`: measured there once, not again here).
The page caches the chart through ``ui.data.of_args`` on its fifteen losses and ln p (a tuple
of floats: a cheap key).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ui.scope import Marker
from ui.theme import MUTED, PALETTE, num

if TYPE_CHECKING:  # pragma: no cover
    from lens.story.relu import Sweep

# The seed's ablations (lens.story.relu.ABLATIONS) and the product ablations
# (lens.ablation.PRODUCT_ABLATIONS), as the table and the chart name them.
SEED_ABLATIONS = {
    "regular": "regular",
    "without_sum_difference": "without sum/difference frequencies (along b)",
    "only_key_frequencies": "only key frequencies (along b)",
}
PRODUCT_ABLATIONS = {
    "without_products": "without the products (±f, ±f)",
    "only_products": "only constant + one-axis parts + products",
}
ABLATIONS = {**SEED_ABLATIONS, **PRODUCT_ABLATIONS}
SPLITS = ("all", "train", "test")


def with_products(
    seed: dict, essential_details: dict, sufficient_details: dict
) -> dict[str, dict[str, float]]:
    """The five ablations' losses per split, ``ABLATIONS`` order: the seed's three and the
    product ablations from the two claims' ``details`` (``without_products`` /
    ``only_products`` -> ``loss``). A loss that was not measured (None in the JSON-safe
    details, or missing) is NaN."""

    def splits(losses: dict | None) -> dict[str, float]:
        losses = losses or {}
        return {s: float("nan") if losses.get(s) is None else float(losses[s]) for s in SPLITS}

    out = {name: splits(seed.get(name)) for name in SEED_ABLATIONS}
    out["without_products"] = splits(essential_details.get("without_products", {}).get("loss"))
    out["only_products"] = splits(sufficient_details.get("only_products", {}).get("loss"))
    return out


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


def ablation_spec(losses: tuple[tuple[float, ...], ...], chance: float) -> dict:
    """The five ablations' losses per split (:func:`ablation_losses`) as dots on a log axis
    (they span seven orders of magnitude: 1e-7 for the model, about 5 without its products),
    with a dashed rule at ``chance`` (ln p, a uniform guess). A loss that is NaN or not
    positive is left out (a log axis cannot place it)."""
    import altair as alt
    import pandas as pd

    from ui.charts import spec

    labels = list(ABLATIONS.values())
    long = pd.DataFrame(
        [
            {"ablation": label, "split": s, "loss": loss}
            for label, row in zip(labels, losses, strict=True)
            for s, loss in zip(SPLITS, row, strict=True)
            if loss == loss and loss > 0  # not NaN, and placeable on a log axis
        ],
        columns=["ablation", "split", "loss"],
    )
    x = alt.X(
        "loss:Q",
        title="cross-entropy loss (float64, log scale)",
        scale=alt.Scale(type="log"),
        axis=alt.Axis(format=".0e"),
    )
    dots = (
        alt.Chart(long)
        .mark_point(filled=True, size=140, opacity=1)
        .encode(
            y=alt.Y("ablation:N", sort=labels, title=None, axis=alt.Axis(labelLimit=420)),
            yOffset=alt.YOffset("split:N", sort=list(SPLITS)),
            x=x,
            color=alt.Color(
                "split:N",
                sort=list(SPLITS),
                scale=alt.Scale(domain=list(SPLITS), range=PALETTE[:3]),
                legend=alt.Legend(orient="top", title=None),
            ),
            shape=alt.Shape("split:N", sort=list(SPLITS), legend=None),
            tooltip=["ablation:N", "split:N", alt.Tooltip("loss:Q", format=".3e")],
        )
    )
    guess = pd.DataFrame({"loss": [float(chance)], "label": [f"uniform guess: ln p = {num(chance, '.2f')}"]})
    rule = alt.Chart(guess).mark_rule(strokeDash=[6, 4], color=MUTED, strokeWidth=2).encode(x=x)
    text = (
        alt.Chart(guess)
        .mark_text(align="right", baseline="top", dx=-6, dy=4, color=MUTED, fontSize=13)
        .encode(x=x, y=alt.value(0), text="label:N")
    )
    return spec(alt.layer(dots, rule, text).properties(height=60 * len(labels)))
