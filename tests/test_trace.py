"""lens.trace: one input through every hook, against an independent forward pass of that input.

The trace reads the full-dataset run (rows a * p + b); here the same input is run on its own,
in float64 numpy written out from the weights (no lens.run code), and every stage must agree
to float32 rounding. Also: the ghost positions, the margin, the neuron groups, the arrays the
scopes draw, and the Trace page's figure builders.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from tiny_models import TINY_FREQS, make_checkpoint

from lens import fourier
from lens import trace as lt
from lens.analysis import key_frequencies, neuron_frequencies
from lens.run import run_model

PAIRS = [(0, 0), (1, 2), (3, 3), (5, 1)]


@pytest.fixture(scope="module", params=sorted(TINY_FREQS), ids=lambda p: f"p{p}")
def run(request):
    """A tiny model's run, through the app's engine (numpy, no all-position activations)."""
    return run_model(make_checkpoint(request.param), engine="numpy", all_positions=False)


def forward_one(w: dict, p: int, a: int, b: int) -> dict:
    """The model on the one input [a, b, =], float64, every hook at "=" (and the pattern)."""
    w = {k: np.asarray(v, dtype=np.float64) for k, v in w.items()}
    x = w["W_E"][[a, b, p]] + w["W_pos"]  # [pos, d_model]
    q = np.einsum("d,hde->he", x[2], w["W_Q"])
    k = np.einsum("sd,hde->she", x, w["W_K"])
    v = np.einsum("sd,hde->she", x, w["W_V"])
    scores = np.einsum("he,she->hs", q, k) / np.sqrt(w["W_Q"].shape[-1])
    pattern = np.exp(scores - scores.max(axis=1, keepdims=True))
    pattern /= pattern.sum(axis=1, keepdims=True)
    attn_out = np.einsum("hs,she,hed->d", pattern, v, w["W_O"])
    resid_mid = x[2] + attn_out
    pre = resid_mid @ w["W_in"] + w["b_in"]
    post = np.maximum(pre, 0)
    mlp_out = post @ w["W_out"] + w["b_out"]
    resid_post = resid_mid + mlp_out
    return {
        "start": x[2],
        "pattern": pattern,
        "attn_out": attn_out,
        "resid_mid": resid_mid,
        "pre": pre,
        "post": post,
        "mlp_out": mlp_out,
        "resid_post": resid_post,
        "logits": resid_post @ w["W_U"],
    }


def close(x, y) -> None:
    y = np.asarray(y)
    np.testing.assert_allclose(x, y, rtol=2e-4, atol=2e-5 * max(1.0, float(np.abs(y).max())))


@pytest.mark.parametrize("a, b", PAIRS)
def test_every_stage_equals_an_independent_forward_pass(run, a, b):
    p = run.p
    a, b = a % p, b % p
    ref = forward_one(run.weights, p, a, b)
    t = lt.trace(run, a, b)
    assert (t.p, t.a, t.b, t.c) == (p, a, b, (a + b) % p)
    close(t.embed_a, run.weights["W_E"][a])
    close(t.embed_b, run.weights["W_E"][b])
    close(t.embed_eq, ref["start"])
    close(t.pattern, ref["pattern"])
    for name in lt.RESIDUAL + lt.NEURON:
        close(t.vectors[name], ref[name])
    close(t.logits, ref["logits"])
    assert t.pred == int(np.argmax(ref["logits"]))
    # The direct contributions add up to the right answer's logit.
    assert sum(t.to_answer.values()) == pytest.approx(ref["logits"][t.c], rel=1e-4, abs=1e-4)
    z = ref["logits"] - ref["logits"].max()
    assert t.prob_c == pytest.approx(np.exp(z[t.c]) / np.exp(z).sum(), rel=1e-4, abs=1e-7)


@pytest.mark.parametrize("a, b", PAIRS)
def test_ghosts_margin_and_top_logits(run, a, b):
    p = run.p
    a, b = a % p, b % p
    t = lt.trace(run, a, b)
    assert t.ghosts == ((2 * a) % p, (2 * b) % p)
    assert t.ghost_logits == (float(t.logits[t.ghosts[0]]), float(t.logits[t.ghosts[1]]))
    others = [c for c in range(p) if c != t.c]
    best_other = max(others, key=lambda c: t.logits[c])
    assert t.runner_up == best_other
    assert t.margin == pytest.approx(t.logits[t.c] - t.logits[best_other])
    assert (t.margin > 0) == (t.pred == t.c)
    ranked = sorted(range(p), key=lambda c: -t.logits[c])
    assert [c for c, _ in t.top3] == ranked[:3]
    assert t.rank_of_ghosts == (ranked.index(t.ghosts[0]), ranked.index(t.ghosts[1]))
    if a == b:  # 2a = 2b = a + b: both ghosts sit on the answer
        assert t.ghosts == (t.c, t.c)


def test_neuron_groups(run):
    t = lt.trace(run, 1, 2)
    kf = key_frequencies(run)
    nf = neuron_frequencies(run, kf)
    np.testing.assert_array_equal(t.neuron_freq, nf)
    assert lt.neuron_frequencies(run) == tuple(int(f) for f in nf)
    assert t.groups == sorted(set(nf.tolist()))
    assert sum(t.group_size.values()) == len(nf)
    assert sum(t.group_firing.values()) == t.firing == int((t.vectors["post"] > 0).sum())
    assert sum(t.group_post_share.values()) == pytest.approx(1.0)
    assert t.loudest_group == max(t.groups, key=lambda f: t.group_post_share[f])
    # grouped: frequencies ascending along the order, indices ascending within a group
    order = t.neuron_order
    assert sorted(order.tolist()) == list(range(len(nf)))
    assert list(zip(nf[order], order, strict=True)) == sorted(zip(nf, range(len(nf)), strict=True))
    # the same result with the frequencies handed in (what the page does)
    t2 = lt.trace(run, 1, 2, lt.neuron_frequencies(run))
    np.testing.assert_array_equal(t2.neuron_order, order)


def test_key_shares_are_read_along_a_with_b_fixed(run):
    p, b = run.p, 2
    t = lt.trace(run, 1, b)
    kf = t.key_frequencies
    for name in lt.RESIDUAL:
        column = np.stack([forward_one(run.weights, p, a2, b)[name] for a2 in range(p)])  # [a, d]
        share = fourier.energy_share(column, axis=0)[kf].sum()
        assert t.key_share[name] == pytest.approx(share, rel=1e-3, abs=1e-6)
    assert t.key_share["logits"] == pytest.approx(fourier.energy_share(t.logits)[kf].sum())
    assert 0 <= t.embed_key_share <= 1
    assert t.embed_key_share > 0.99  # the tiny embedding is built from the key frequencies alone


def test_scope_arrays(run):
    p, b = run.p, 3 % run.p
    along = lt.along_a(run, b)
    d_model, n_heads = run.cfg.d_model, run.cfg.n_heads
    for a2 in (0, p - 1):
        ref = forward_one(run.weights, p, a2, b)
        for name in lt.RESIDUAL:
            assert along[name].shape == (d_model, p)
            close(along[name][:, a2], ref[name])
        for k, key in enumerate(lt.KEYS):
            assert along[f"on {key}"].shape == (n_heads, p)
            close(along[f"on {key}"][:, a2], ref["pattern"][:, k])
    nf = lt.neuron_frequencies(run)
    f = nf[0]
    idx = np.flatnonzero(np.asarray(nf) == f)
    g = lt.group_along_a(run, b, f, nf)
    assert g["pre"].shape == g["post"].shape == (len(idx), p)
    ref = forward_one(run.weights, p, 4 % p, b)
    close(g["pre"][:, 4 % p], ref["pre"][idx])
    close(g["post"][:, 4 % p], ref["post"][idx])


def test_a_pair_out_of_range_is_refused(run):
    with pytest.raises(ValueError):
        lt.trace(run, run.p, 0)
    with pytest.raises(ValueError):
        lt.trace(run, 0, -1)


def test_trace_leaves_the_run_untouched(run):
    before = {k: v.copy() for k, v in run.acts.items()}
    t = lt.trace(run, 1, 1)
    t.vectors["resid_mid"][:] = 0  # the trace holds copies
    t.logits[:] = 0
    for k, v in run.acts.items():
        np.testing.assert_array_equal(v, before[k])


# ---------------------------------------------------------------- the page's figures


def test_figures_are_valid_vega_lite_and_mark_what_they_say(run):
    from ui.figures import basics as basics_fig
    from ui.figures import trace as fig
    from ui.scope import validate_spec

    p = run.p
    nf = lt.neuron_frequencies(run)
    a, b = 1, 3 % p
    t = lt.trace(run, a, b, nf)
    for build in (fig.stages_spec, fig.attention_spec, fig.neurons_spec, fig.logits_spec):
        spec = build(run, a, b, nf)
        validate_spec({**spec, "datasets": {k: v.to_dict("records") for k, v in spec["datasets"].items()}})
    logits = fig.logits_spec(run, a, b, nf)
    frames = list(logits["datasets"].values())
    roles = next(df for df in frames if "role" in df.columns)
    assert roles.loc[roles["c"] == t.c, "role"].item() == "right answer c"
    for g, name in zip(t.ghosts, ("ghost 2a", "ghost 2b"), strict=True):
        if g != t.c and not (name == "ghost 2b" and g == t.ghosts[0]):
            assert roles.loc[roles["c"] == g, "role"].item() == name
    assert f"runner-up (c = {t.runner_up})" in json.dumps(logits["title"])
    rows = fig.stage_rows(t)
    assert len(rows) == 7 and all(v.shape == (run.cfg.d_model,) for v in rows.values())
    # the map: the answer image, the outline of (a, b), and the clickable cells on top
    m = fig.pick_map(basics_fig.answer_grid_spec(p), p, a, b)
    top = m["layer"][-1]
    assert top["params"][0]["name"] == basics_fig.SELECTION
    assert top["data"]["sequence"]["stop"] == p * p
    assert m["layer"][0]["mark"]["type"] == "image"
    validate_spec({**m, "datasets": {k: v.to_dict("records") for k, v in m["datasets"].items()}})


def test_a_click_on_the_map_reads_as_a_pair():
    from ui.figures.basics import SELECTION, clicked

    assert clicked({SELECTION: [{"a": 4, "b": 9}]}, 13) == (4, 9)
    assert clicked({SELECTION: [{"a": 1, "b": 2}, {"a": 4.0, "b": 9.0}]}, 13) == (4, 9)
    assert clicked({SELECTION: []}, 13) is None
    assert clicked({}, 13) is None
    assert clicked(None, 13) is None
    assert clicked({SELECTION: [{"a": 13, "b": 0}]}, 13) is None  # out of range
    assert clicked({SELECTION: [{"vgsid_": 3}]}, 13) is None
    assert clicked({SELECTION: [{"a": "x", "b": 1}]}, 13) is None
