"""Trace one example's charts: the clickable map of pairs, one input's vectors stage by stage,
its attention, its neurons by frequency and its logits, and what the scopes mark.

The spec builders take the run and cheap keys (``a``, ``b``, the neurons' frequencies as a
tuple) so the page caches them with ``ui.data.of_run``; they read the numbers from
:func:`lens.trace.trace`. The map is the exception: it needs only p (``ui.data.of_args``),
and the chosen pair is a one-row overlay (:func:`ui.figures.basics.picked`), so moving it
never rebuilds the map.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ui.scope import Marker
from ui.theme import MUTED, OTHER, PALETTE, num

if TYPE_CHECKING:  # pragma: no cover
    from lens.run import Run
    from lens.trace import TraceFacts

Index = dict[str, int]
KEY_COLOURS = {"a": PALETTE[0], "b": PALETTE[1], "=": OTHER}
ROLE_COLOURS = {"right answer c": PALETTE[2], "ghost 2a": PALETTE[0], "ghost 2b": PALETTE[1], "other": OTHER}


# ---------------------------------------------------------------- the map of pairs


def pick_map(base: dict, p: int, a: int, b: int) -> dict:
    """The answer map ``base`` (``ui.figures.basics.answer_grid_spec(p)``, whose cells take
    clicks) with (a, b) outlined."""
    from ui.figures.basics import picked

    return picked(base, a, b)


# ---------------------------------------------------------------- one input, stage by stage


def _trace(run: Run, a: int, b: int, nf: Sequence[int]) -> TraceFacts:
    from lens.trace import trace

    return trace(run, a, b, nf)


def stage_rows(t: TraceFacts) -> dict[str, np.ndarray]:
    """The d_model vectors of the trace, in the order of the forward pass, by row label."""
    return {
        f"W_E[a = {t.a}]": t.embed_a,
        f"W_E[b = {t.b}]": t.embed_b,
        "=, before attention": t.embed_eq,
        "attn_out": t.vectors["attn_out"],
        "resid_mid": t.vectors["resid_mid"],
        "mlp_out": t.vectors["mlp_out"],
        "resid_post": t.vectors["resid_post"],
    }


def _colours(field: str, names: list[str], colours: list[str] | None, title: str | None) -> dict:
    """A nominal colour channel in the order of ``names`` (``colours``, else the palette's), its
    legend above the plot."""
    scale = {"domain": names, **({"range": colours} if colours else {})}
    return {
        "field": field,
        "type": "nominal",
        "sort": names,
        "scale": scale,
        "title": title,
        "legend": {"orient": "top"},
    }


def trace_specs(run: Run, a: int, b: int, nf: tuple[int, ...]) -> dict[str, dict]:
    """The page's four charts of one input, {"stages", "attention", "neurons", "logits"}: one
    cache entry, so that a new pair runs the trace once, not once per chart."""
    t = _trace(run, a, b, nf)
    return {"stages": _stages(t), "attention": _attention(t), "neurons": _neurons(t), "logits": _logits(t)}


def stages_spec(run: Run, a: int, b: int, nf: tuple[int, ...]) -> dict:
    """One input's residual vectors, one row per stage, over the d_model directions (a heat
    map with a colour scale symmetric about 0)."""
    return _stages(_trace(run, a, b, nf))


def _stages(t: TraceFacts) -> dict:
    from ui.charts import dict_spec, frame_name

    rows = stage_rows(t)
    names = list(rows)
    df = pd.DataFrame(
        [(n, d, float(v)) for n, vec in rows.items() for d, v in enumerate(vec)],
        columns=["stage", "direction", "value"],
    )
    top = float(np.abs(df["value"]).max()) or 1.0
    body = {
        "data": {"name": frame_name(df)},
        "mark": {"type": "rect"},
        "encoding": {
            "x": {
                "field": "direction",
                "type": "ordinal",
                "title": "residual dimension",
                "axis": {"values": list(range(0, len(rows[names[0]]), 16)), "labelAngle": 0},
            },
            "y": {
                "field": "stage",
                "type": "nominal",
                "sort": names,
                "title": None,
                "axis": {"labelLimit": 0},
            },
            "color": {
                "field": "value",
                "type": "quantitative",
                "scale": {"scheme": "redblue", "domain": [-top, top], "reverse": True},
                "title": "value",
            },
            "tooltip": [
                {"field": "stage", "type": "nominal"},
                {"field": "direction", "type": "ordinal"},
                {"field": "value", "type": "quantitative", "format": ".3f"},
            ],
        },
        "height": 32 * len(names),
    }
    return dict_spec(body, df)


def attention_spec(run: Run, a: int, b: int, nf: tuple[int, ...]) -> dict:
    """Each head's attention weights from "=" on a, b and "=" (grouped bars)."""
    return _attention(_trace(run, a, b, nf))


def _attention(t: TraceFacts) -> dict:
    from lens.trace import KEYS
    from ui.charts import dict_spec, frame_name

    df = pd.DataFrame(
        [
            (f"head {h}", key, float(t.pattern[h, k]))
            for h in range(len(t.pattern))
            for k, key in enumerate(KEYS)
        ],
        columns=["head", "key", "weight"],
    )
    body = {
        "data": {"name": frame_name(df)},
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "head", "type": "nominal", "title": None, "axis": {"labelAngle": 0}},
            "xOffset": {"field": "key", "type": "nominal", "sort": list(KEYS)},
            "y": {
                "field": "weight",
                "type": "quantitative",
                "title": "attention weight",
                "scale": {"domain": [0, 1]},
            },
            "color": _colours("key", list(KEYS), list(KEY_COLOURS.values()), "attends to"),
            "tooltip": [
                {"field": "head", "type": "nominal"},
                {"field": "key", "type": "nominal"},
                {"field": "weight", "type": "quantitative", "format": ".3f"},
            ],
        },
        "height": 260,
    }
    return dict_spec(body, df)


def neurons_spec(run: Run, a: int, b: int, nf: tuple[int, ...]) -> dict:
    """Every neuron's pre-activation (pale) and post-activation (full colour) for this input,
    grouped by key frequency (x: the neurons sorted by frequency, then index)."""
    return _neurons(_trace(run, a, b, nf))


def _neurons(t: TraceFacts) -> dict:
    from ui.charts import dict_spec, frame_name

    order = t.neuron_order
    df = pd.DataFrame(
        {
            "position": np.arange(len(order)),
            "neuron": order,
            "frequency": [f"f = {int(f)}" for f in t.neuron_freq[order]],
            "pre": t.vectors["pre"][order],
            "post": t.vectors["post"][order],
        }
    )
    freqs = [f"f = {f}" for f in t.groups]
    palette = PALETTE[: len(freqs)] if len(freqs) <= len(PALETTE) else None
    shared = {
        "x": {
            "field": "position",
            "type": "quantitative",
            "title": "neurons, grouped by key frequency",
            "axis": {"labels": False, "ticks": False},
        },
        "color": _colours("frequency", freqs, palette, "neuron's key frequency"),
        "tooltip": [
            {"field": "neuron", "type": "quantitative"},
            {"field": "frequency", "type": "nominal"},
            {"field": "pre", "type": "quantitative", "format": ".3f"},
            {"field": "post", "type": "quantitative", "format": ".3f"},
        ],
    }
    pre = {
        "mark": {"type": "bar", "opacity": 0.3},
        "encoding": {**shared, "y": {"field": "pre", "type": "quantitative", "title": "activation"}},
    }
    post = {"mark": {"type": "bar"}, "encoding": {**shared, "y": {"field": "post", "type": "quantitative"}}}
    return dict_spec({"data": {"name": frame_name(df)}, "layer": [pre, post], "height": 280}, df)


def logits_spec(run: Run, a: int, b: int, nf: tuple[int, ...]) -> dict:
    """The logit of every answer c, the right answer and the ghost positions 2a and 2b
    coloured and labelled, the runner-up named (He et al. 2026's logit explorer)."""
    return _logits(_trace(run, a, b, nf))


def _logits(t: TraceFacts) -> dict:
    from ui.charts import dict_spec, frame_name

    role = np.array(["other"] * t.p, dtype=object)
    # Drawn in this order, so the right answer wins where positions coincide (a = b: 2a = c).
    role[t.ghosts[1]] = "ghost 2b"
    role[t.ghosts[0]] = "ghost 2a"
    role[t.c] = "right answer c"
    df = pd.DataFrame({"c": np.arange(t.p), "logit": t.logits, "role": role})
    labels = pd.DataFrame(
        [
            {"c": t.c, "logit": t.logits[t.c], "text": f"c = {t.c}"},
            *[
                {"c": g, "logit": t.logits[g], "text": name}
                for g, name in zip(t.ghosts, ("2a", "2b"), strict=True)
                if g != t.c
            ],
            *(
                [{"c": t.runner_up, "logit": t.logits[t.runner_up], "text": "runner-up"}]
                if t.runner_up not in (t.c, *t.ghosts)
                else []
            ),
        ]
    ).drop_duplicates("c")
    roles = [r for r in ROLE_COLOURS if r in set(role)]
    # Copied where used: ui.charts.style writes each axis's sizes into its encoding.
    x = {"field": "c", "type": "quantitative"}
    y = {"field": "logit", "type": "quantitative"}
    bars = {
        "data": {"name": frame_name(df)},
        "mark": {"type": "bar"},
        "encoding": {
            "x": {**x, "title": "answer c", "scale": {"domain": [-0.5, t.p - 0.5], "nice": False}},
            "y": {**y, "title": "logit"},
            "color": _colours("role", roles, [ROLE_COLOURS[r] for r in roles], None),
            "tooltip": [dict(x), {**y, "format": ".3f"}, {"field": "role", "type": "nominal"}],
        },
    }
    text = {
        "data": {"name": frame_name(labels)},
        "mark": {"type": "text", "dy": -10, "fontSize": 14, "color": MUTED},
        "encoding": {"x": dict(x), "y": dict(y), "text": {"field": "text", "type": "nominal"}},
    }
    title = f"margin to the runner-up (c = {t.runner_up}): {num(t.margin, '.3g')}"
    return dict_spec({"layer": [bars, text], "height": 320, "title": title}, df, labels)


# ---------------------------------------------------------------- what the scopes mark


def along_lines(along: Mapping[str, np.ndarray], names: Sequence[str]) -> dict[str, np.ndarray]:
    """The named lines of ``lens.trace.along_a``'s result, in that order."""
    return {name: along[name] for name in names}


def at_a(a: int, key_freqs: Sequence[int]) -> Callable[[Index], list[Marker]]:
    """Markers for a scope over a: the chosen a (space view) and the key frequencies
    (Fourier views)."""
    marks = [Marker(a, f"a = {a}")] + [Marker(f, str(f), view="fourier") for f in key_freqs]
    return lambda _ix: marks


def at_tokens(a: int, b: int, key_freqs: Sequence[int]) -> Callable[[Index], list[Marker]]:
    """Markers for the embedding scope over the tokens: a and b, and the key frequencies."""
    pair = [Marker(a, f"a = {a}")] if a == b else [Marker(a, "a"), Marker(b, "b")]
    marks = pair + [Marker(f, str(f), view="fourier") for f in key_freqs]
    return lambda _ix: marks


def at_answers(t: TraceFacts) -> Callable[[Index], list[Marker]]:
    """Markers for the logits over c: the right answer, the ghosts, the key frequencies."""
    marks = [Marker(t.c, f"c = {t.c}")]
    marks += [Marker(g, name) for g, name in zip(t.ghosts, ("2a", "2b"), strict=True) if g != t.c]
    marks += [Marker(f, str(f), view="fourier") for f in t.key_frequencies]
    return lambda _ix: marks


def group_neurons(t: TraceFacts, freq: int) -> np.ndarray:
    """The neurons of the group ``freq`` in the order ``lens.trace.group_along_a`` draws them."""
    return np.flatnonzero(t.neuron_freq == freq)


def neuron_caption(t: TraceFacts, freq: int) -> Callable[[Index], str]:
    """The scope's caption for one neuron of the group (the scope's axis ``member``: its
    position in the group): its index in the model and this input's values."""
    idx = group_neurons(t, freq)

    def caption(ix: Index) -> str:
        m = ix["member"]
        k = int(idx[m]) if len(idx) else 0
        pre, post = t.vectors["pre"][k], t.vectors["post"][k]
        state = "fires" if post > 0 else "is silent"
        return (
            f"member {m} of the group is neuron {k}: at (a, b) = ({t.a}, {t.b}) its pre-activation "
            f"is {num(pre, '.3g')}, so it {state}"
        )

    return caption
