"""lens.claims: each claim passed and failed by hand-built models, the machinery, the
published and embedded models' verdicts, and the CLI.

The hand-built models are in ``claim_models`` (see its docstring): a Pizza (constant
attention, ReLU of the summed waves), the same with a gated attention, a linear MLP, random
output phases, a decoy frequency or a noisy embedding; a Square (ReLU-made x^2, ghost
peaks of half strength) and a Clock (a and b kept apart, ReLU-made products). Each claim's
test names the model that passes it and the one that fails it.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from claim_models import checkpoint, run_of, wave_model

from lens import ablation, fourier, progress
from lens.claims import (
    CLAIMS,
    SECTIONS,
    Claim,
    Measured,
    clock_pizza,
    evaluate,
    evaluate_all,
    format_table,
    to_json,
)
from lens.claims.core import compare
from lens.run import Run, run_model

P, FREQS = 13, [2, 5]
IDS = [
    "embedding-sparse",
    "float32-loss",
    "swap-symmetry",
    "attention-weights-equal",
    "attention-peaks-at-c-half",
    "attention-additive",
    "attention-products-in-logits",
    "relu-products-essential",
    "relu-products-sufficient",
    "relu-harmonics-unneeded",
    "neurons-one-frequency",
    "phase-alignment",
    "logits-sum-of-cosines",
    "every-key-frequency-needed",
    "majority-vote",
    "ghost-peaks",
    "clock-or-pizza",
]
MODELS = {
    "pizza": dict(scale=3.0),
    "gated": dict(scale=3.0, attention="gated"),
    "linear": dict(scale=3.0, bias=5.0),  # b_in so large the ReLU never clips: a linear MLP
    "random_psi": dict(scale=3.0, random_output_phase=True),
    "noisy_embedding": dict(scale=3.0, embed_noise=0.3),
    "square": dict(scale=3.0, mlp="square"),
    "clock": dict(scale=3.0, mlp="product", attention="split"),
    "sharp_clock": dict(scale=10.0, mlp="product", attention="split"),  # test loss ~5e-9
    "decoy_clock": dict(scale=3.0, mlp="product", attention="split", decoy=4),
}


@pytest.fixture(scope="module")
def runs() -> dict[str, Run]:
    out = {name: run_of(wave_model(P, FREQS, **kw), name) for name, kw in MODELS.items()}
    # Three frequencies and a per-answer bias the size of one frequency's margin: no single
    # frequency's part of the logits gets most answers right, all three together do.
    vote = dict(scale=3.0, mlp="product", attention="split", class_noise=2.0)
    out["voting_clock"] = run_of(wave_model(P, [1, 3, 4], **vote), "voting_clock")
    return out


def result(runs, model: str, claim_id: str):
    return evaluate(CLAIMS[claim_id], runs[model])


# (claim, a model that passes it, one that fails it, what the failing model lacks)
PASS_FAIL = [
    ("embedding-sparse", "pizza", "decoy_clock", "a loud frequency nothing reads: key, yet 2/3"),
    ("embedding-sparse", "clock", "noisy_embedding", "broadband noise in W_E"),
    ("float32-loss", "sharp_clock", "pizza", "a loss near 0.3, where float32 is exact enough"),
    ("swap-symmetry", "gated", "clock", "a and b written to different slots"),
    ("attention-weights-equal", "pizza", "gated", "token-dependent scores"),
    ("attention-additive", "pizza", "gated", "weights that depend on both tokens"),
    ("attention-additive", "clock", "gated", "(the clock's weights differ but are fixed)"),
    ("relu-products-essential", "clock", "linear", "a ReLU that never clips"),
    ("relu-products-essential", "square", "decoy_clock", "products at the frequency it uses, not the key"),
    ("relu-products-sufficient", "clock", "decoy_clock", "products at a frequency that is not key"),
    ("relu-harmonics-unneeded", "pizza", "decoy_clock", "its signal is a non-key frequency"),
    ("neurons-one-frequency", "pizza", "decoy_clock", "neurons at a frequency that is not key"),
    ("phase-alignment", "pizza", "random_psi", "output phases drawn at random"),
    ("phase-alignment", "square", "clock", "(u - v)^2 neurons, read out with psi = 2 phi + pi"),
    ("logits-sum-of-cosines", "clock", "pizza", "the |cos(w (a - b) / 2)| envelope"),
    ("every-key-frequency-needed", "clock", "pizza", "too soft: its own loss is already 0.3"),
    ("every-key-frequency-needed", "clock", "decoy_clock", "the key frequency carries nothing"),
    ("majority-vote", "voting_clock", "clock", "each frequency alone already gets every answer"),
    ("ghost-peaks", "square", "clock", "no squares of one input, no ghosts"),
    ("clock-or-pizza", "clock", "pizza", "a pizza"),
]


@pytest.mark.parametrize("claim_id, passes, fails, why", PASS_FAIL, ids=[f"{c[0]}:{c[2]}" for c in PASS_FAIL])
def test_each_claim_passes_and_fails(runs, claim_id, passes, fails, why):
    good, bad = result(runs, passes, claim_id), result(runs, fails, claim_id)
    assert good.holds, (passes, good.value, good.threshold, good.statement)
    assert not bad.holds, (fails, why, bad.value, bad.threshold, bad.statement)
    claim = CLAIMS[claim_id]
    assert good.statement == claim.statement.format_map({**_words(good), **_fields(claim, runs[passes])})
    assert bad.statement != good.statement


def _words(r) -> dict:
    return {"value": r.value, "threshold": r.threshold, "tolerance": r.tolerance}


def _fields(claim: Claim, run: Run) -> dict:
    return claim.measure(run).fields


# Claims whose passing and failing models are built in their own test files.
COVERED_ELSEWHERE = {
    "attention-peaks-at-c-half": "tests/test_claims_prose_attention.py",
    "attention-products-in-logits": "tests/test_claims_waves.py",
}


def test_every_claim_covered_both_ways():
    assert {c[0] for c in PASS_FAIL} | set(COVERED_ELSEWHERE) == set(IDS)


# ---------------------------------------------------------------- the numbers behind verdicts


def test_hand_built_values_are_the_designed_ones(runs):
    assert result(runs, "pizza", "embedding-sparse").value == pytest.approx(1.0)
    assert result(runs, "decoy_clock", "embedding-sparse").value == pytest.approx(2 / 3, abs=1e-6)
    assert result(runs, "pizza", "swap-symmetry").value < 1e-6
    assert result(runs, "gated", "swap-symmetry").value < 1e-6  # unequal weights, still symmetric
    assert result(runs, "pizza", "attention-weights-equal").value < 1e-6  # exactly 1/3 each
    assert result(runs, "clock", "attention-weights-equal").value == pytest.approx(1.0, abs=1e-6)
    assert result(runs, "pizza", "attention-additive").value < 1e-9
    assert result(runs, "gated", "attention-additive").value > 0.05
    assert result(runs, "pizza", "phase-alignment").value == pytest.approx(1.0, abs=1e-6)
    assert result(runs, "clock", "phase-alignment").value < 1e-3  # +1 and -1 cancel exactly
    assert result(runs, "clock", "logits-sum-of-cosines").value > 0.99
    # a pizza's correct logit is its envelope |cos(w (a - b) / 2)|: (2/pi)^2 / (1/2) = 0.81
    assert result(runs, "pizza", "logits-sum-of-cosines").value == pytest.approx(0.81, abs=0.02)
    assert result(runs, "clock", "ghost-peaks").value == pytest.approx(0.0, abs=0.15)
    linear = result(runs, "linear", "relu-products-essential")
    own = linear.details["own"]["loss"]["test"]
    assert linear.value == pytest.approx(own, rel=1e-6)  # nothing to remove: no products


def test_clock_and_pizza_verdicts(runs):
    pizza = result(runs, "pizza", "clock-or-pizza").details
    assert pizza["verdict"] == "pizza"
    assert pizza["gradient_symmetricity"] == pytest.approx(1.0, abs=1e-9)  # constant attention
    assert pizza["distance_irrelevance"] < 0.3
    clock = result(runs, "clock", "clock-or-pizza").details
    assert clock["verdict"] == "clock" and clock["distance_irrelevance"] > 0.8
    assert clock_pizza.verdict(0.99, 0.9) == "mixed" and clock_pizza.verdict(0.5, 0.2) == "mixed"


def test_majority_vote_details(runs):
    d = result(runs, "voting_clock", "majority-vote").details
    assert set(d["alone"]) == {"1", "3", "4"}
    assert max(d["alone"].values()) < 0.5 and d["together"] == 1.0


# ---------------------------------------------------------------- the measures, checked independently


def _torch_input_gradients(w: dict[str, np.ndarray], triples: np.ndarray):
    """d logit_c / d x_0 and d x_1 by torch autograd, through a forward written out here."""
    torch = pytest.importorskip("torch")
    t = {k: torch.tensor(v, dtype=torch.float64) for k, v in w.items()}
    p = t["W_U"].shape[1]
    g0, g1 = [], []
    for a, b, c in triples:
        x = torch.stack([t["W_E"][a] + t["W_pos"][0], t["W_E"][b] + t["W_pos"][1]]).requires_grad_()
        xs = torch.cat([x, (t["W_E"][p] + t["W_pos"][2])[None]])  # [pos, d_model]
        q = torch.einsum("d,hde->he", xs[2], t["W_Q"])
        k = torch.einsum("kd,hde->hke", xs, t["W_K"])
        v = torch.einsum("kd,hde->hke", xs, t["W_V"])
        pattern = torch.softmax(torch.einsum("he,hke->hk", q, k) / math.sqrt(q.shape[1]), dim=-1)
        resid = xs[2] + torch.einsum("hk,hke,hed->d", pattern, v, t["W_O"])
        resid = resid + torch.relu(resid @ t["W_in"] + t["b_in"]) @ t["W_out"] + t["b_out"]
        (grad,) = torch.autograd.grad((resid @ t["W_U"])[c], x)
        g0.append(grad[0].numpy())
        g1.append(grad[1].numpy())
    return np.stack(g0), np.stack(g1)


@pytest.mark.parametrize("model", ["gated", "random"])
def test_input_gradients_match_autograd(model, runs):
    if model == "random":
        from tiny_models import make_checkpoint

        run = run_model(make_checkpoint(13), engine="numpy")
    else:
        run = runs[model]
    triples = clock_pizza.sample_triples(run.p, 40, seed=1)
    ours = clock_pizza.input_gradients(run, triples)
    theirs = _torch_input_gradients(run.weights, triples)
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(o, t, rtol=1e-4, atol=1e-5 * np.abs(t).max())


def test_gradient_symmetricity_in_blocks_is_the_same_number(monkeypatch):
    """The triples go through the gradients a block at a time (memory); each row is its own
    triple, so any block size gives the same mean as all at once."""
    from tiny_models import make_checkpoint

    run = run_model(make_checkpoint(13), engine="numpy")
    monkeypatch.setattr(clock_pizza, "GRADIENT_BLOCK", 10**6)
    whole = clock_pizza.gradient_symmetricity(run, n=300)
    monkeypatch.setattr(clock_pizza, "GRADIENT_BLOCK", 7)
    assert clock_pizza.gradient_symmetricity(run, n=300) == pytest.approx(whole, rel=1e-12, abs=1e-15)


def test_sum_of_cosines_is_the_least_squares_fit(runs):
    run = runs["square"]
    z = run.logits.astype(np.float64)
    z = z - z.mean(axis=1, keepdims=True)
    a, b = np.divmod(np.arange(P * P), P)
    x = np.stack([np.cos(2 * np.pi * f * ((a + b)[:, None] - np.arange(P)) / P).ravel() for f in FREQS], 1)
    alpha, *_ = np.linalg.lstsq(x, z.ravel(), rcond=None)
    r2 = 1 - ((z.ravel() - x @ alpha) ** 2).sum() / (z**2).sum()
    res = result(runs, "square", "logits-sum-of-cosines")
    assert res.value == pytest.approx(r2, abs=1e-9)
    assert [res.details["per_frequency"][str(f)]["alpha"] for f in FREQS] == pytest.approx(alpha)


def test_filter_2d_is_fft2_masking():
    x = np.random.default_rng(0).normal(size=(3, P, P))
    keep = ablation.product_masks(P, [2, 5])["products"] | ablation.product_masks(P, [])["one_axis"]
    spec = np.fft.fft2(x)
    fold = np.minimum(np.arange(P), P - np.arange(P))
    mask = keep[fold[:, None], fold[None, :]]
    np.testing.assert_allclose(fourier.filter_2d(x, keep), np.fft.ifft2(spec * mask).real, atol=1e-12)
    power = fourier.power_2d(x)
    assert power.sum() == pytest.approx(P * P * (x**2).sum())
    assert fourier.fold_power_2d(power).sum() == pytest.approx(power.sum())


def test_filtering_the_readout_equals_filtering_the_neurons(runs):
    run = runs["pizza"]
    keep = ~ablation.product_masks(P, FREQS)["products"]
    post = fourier.filter_2d(run.by_ab("post"), keep)  # [neuron, a, b]
    direct = ablation.logits_from_post(run, ablation.ab_to_rows(post))
    np.testing.assert_allclose(ablation.logits_with_post_filtered_2d(run, keep), direct, atol=1e-9)
    everything = np.ones_like(keep)
    np.testing.assert_allclose(ablation.logits_with_post_filtered_2d(run, everything), run.logits, atol=1e-4)


def test_excluded_loss_matches_progress(runs):
    run = runs["clock"]
    res = result(runs, "clock", "every-key-frequency-needed")
    for f in FREQS:
        want = progress.excluded_loss(run.logits, run.labels, run.train_mask, [f])
        assert res.details["per_frequency"][str(f)]["excluded_loss"] == pytest.approx(want)
    assert res.value == min(d["excluded_loss"] for d in res.details["per_frequency"].values())


def test_distance_irrelevance_on_logits_made_to_order():
    ck = checkpoint(wave_model(P, FREQS))
    a, b = np.divmod(np.arange(P * P), P)
    rng = np.random.default_rng(0)
    by_distance = np.zeros((P * P, P), dtype=np.float32)
    by_distance[np.arange(P * P), (a + b) % P] = rng.normal(size=P)[(a - b) % P]
    assert clock_pizza.distance_irrelevance(Run(ck, by_distance, {})) == pytest.approx(0.0, abs=1e-6)
    by_sum = np.zeros((P * P, P), dtype=np.float32)
    by_sum[np.arange(P * P), (a + b) % P] = rng.normal(size=P)[(a + b) % P]
    assert clock_pizza.distance_irrelevance(Run(ck, by_sum, {})) == pytest.approx(1.0, abs=1e-6)


# ---------------------------------------------------------------- the machinery


def test_registry():
    assert list(CLAIMS) == sorted(IDS, key=lambda i: SECTIONS.index(CLAIMS[i].section))
    assert set(CLAIMS) == set(IDS)
    for claim in CLAIMS.values():
        assert claim.section in SECTIONS and claim.method and "\n" not in claim.method
        assert claim.statement != claim.fails_statement
    with pytest.raises(ValueError, match="section"):
        Claim("x", "nowhere", lambda run: Measured(0.0), 0.0, "at_least", "", "", "")


def test_compare_directions():
    assert compare(1.0, 1.0, "at_least") and not compare(0.9, 1.0, "at_least")
    assert compare(1.0, 1.0, "at_most") and not compare(1.1, 1.0, "at_most")
    assert compare(0.6, 0.5, "near", 0.2) and not compare(0.8, 0.5, "near", 0.2)
    assert compare(0.5, 1.0, "far", 0.1) and not compare(0.95, 1.0, "far", 0.1)
    assert not any(compare(float("nan"), 0.0, d, 1.0) for d in ("at_least", "at_most", "near", "far"))


def test_results_are_plain_and_json_safe(runs):
    run = runs["clock"]
    acts, logits = {k: v.copy() for k, v in run.acts.items()}, run.logits.copy()
    results = evaluate_all(run)
    for k, v in acts.items():  # measuring changes nothing in the shared run
        np.testing.assert_array_equal(run.acts[k], v)
    np.testing.assert_array_equal(run.logits, logits)
    assert [r.id for r in results] == list(CLAIMS)
    for r in results:
        assert type(r.value) is float and type(r.holds) is bool and type(r.threshold) is float
        assert r.statement and "{" not in r.statement and "n/a" not in r.statement
        with pytest.raises(AttributeError):
            r.value = 0.0  # frozen
    parsed = json.loads(to_json(results))
    assert [d["id"] for d in parsed] == list(CLAIMS)
    keys = {"id", "section", "statement", "value", "threshold", "holds", "details", "method"}
    assert all(keys <= set(d) for d in parsed)


def test_an_unmeasurable_claim_says_n_a_and_fails():
    claim = Claim(
        "x",
        "basics",
        lambda run: Measured(float("nan"), {"y": np.nan}),
        0.5,
        "at_least",
        "holds at {value:.1%} with {missing}",
        "fails at {value:.1%} with {missing:.2f}",
        "m",
    )
    r = evaluate(claim, None)
    assert not r.holds and r.statement == "fails at n/a with n/a"
    assert json.loads(json.dumps(r.to_dict(), allow_nan=False))["details"] == {"y": None}


def test_a_model_without_key_frequencies_is_measured_without_crashing():
    w = wave_model(P, FREQS)
    w["W_E"][:P] = 0.0  # a constant embedding: no key frequency
    results = evaluate_all(run_of(w, "flat"))
    assert len(results) == len(CLAIMS)
    json.loads(to_json(results))


def test_format_table(runs):
    text = format_table(evaluate_all(runs["pizza"]), "header line")
    assert text.startswith("header line")
    for claim_id in CLAIMS:
        assert claim_id in text
    assert "holds" in text and "FAILS" in text


# ---------------------------------------------------------------- real models


@pytest.fixture(scope="module")
def ref_claims(reference_path):
    from lens.checkpoint import load

    return {r.id: r for r in evaluate_all(run_model(load(reference_path), engine="numpy"))}


REFERENCE_VERDICTS = {
    "embedding-sparse": False,  # 92.7%: the harmonic 31 = 2 x 41 holds 5.5%
    "float32-loss": True,
    "swap-symmetry": True,
    "attention-weights-equal": False,  # the seed's claim: about 0.5 per head
    "attention-peaks-at-c-half": False,  # A(c) changes sign: about half the answers peak at c/2 + p/2
    "attention-additive": False,  # 10% cross terms
    "attention-products-in-logits": True,  # about 0.33 of the cos(w(a+b-c)) term
    "relu-products-essential": True,
    "relu-products-sufficient": True,
    "relu-harmonics-unneeded": True,
    "neurons-one-frequency": True,
    "phase-alignment": True,
    "logits-sum-of-cosines": True,
    "every-key-frequency-needed": True,
    "majority-vote": True,
    "ghost-peaks": False,  # about 0: the model suppresses them
    "clock-or-pizza": True,
}


def test_published_model_verdicts(ref_claims):
    assert {k: r.holds for k, r in ref_claims.items()} == REFERENCE_VERDICTS


def test_published_model_numbers(ref_claims):
    emb = ref_claims["embedding-sparse"]
    assert emb.value == pytest.approx(0.927, abs=0.002)
    other = emb.details["strongest_other"]
    assert other["frequency"] == 31 and other["harmonic_of"] == 41
    assert other["share"] == pytest.approx(0.055, abs=0.002)
    assert other["of_strongest_key"] == pytest.approx(0.25, abs=0.01)  # a quarter of the strongest key
    add = ref_claims["attention-additive"]
    assert 0.05 < add.value < 0.15 and add.details["key_products_of_cross"] > 0.9
    assert [h["dominant_frequency"] for h in add.details["heads"]] == [35, 42, 52, 42]
    essential = ref_claims["relu-products-essential"]
    # above chance (ln 113 = 4.73): without the products the logits point away from the answer
    assert essential.value == pytest.approx(5.43, abs=0.05) and essential.value > math.log(113)
    assert essential.details["without_products"]["accuracy"]["test"] < 0.1
    assert ref_claims["relu-products-sufficient"].value < 3e-7
    own = ref_claims["relu-products-sufficient"].details["own"]
    assert own["loss"]["train"] == pytest.approx(9.77e-8, rel=0.01) and own["accuracy"]["all"] == 1.0
    assert ref_claims["float32-loss"].details["ratio"]["train"] == pytest.approx(0.52, abs=0.05)
    assert ref_claims["every-key-frequency-needed"].value > 100 * 9.77e-8
    assert abs(ref_claims["ghost-peaks"].value) < 0.05
    assert ref_claims["clock-or-pizza"].details["verdict"] == "clock"


def test_embedded_model_verdicts():
    from lens.checkpoint import load
    from lens.paths import default_run

    results = {r.id: r for r in evaluate_all(run_model(load(default_run()), engine="numpy"))}
    failing = {k for k, r in results.items() if not r.holds}
    assert failing == {
        "attention-weights-equal",
        "attention-peaks-at-c-half",
        "attention-additive",
        "ghost-peaks",
    }
    assert results["relu-products-essential"].value == pytest.approx(5.1, abs=0.1)
    assert results["attention-additive"].value == pytest.approx(0.071, abs=0.005)


# ---------------------------------------------------------------- the command line


def test_cli_json(tmp_path, capsys):
    from lens.__main__ import main
    from lens.checkpoint import save_run

    split = {"kind": "seeded", "frac": 0.3, "seed": 0}
    path = save_run(tmp_path / "clock", wave_model(P, FREQS, **MODELS["clock"]), split)
    assert main(["claims", "--checkpoint", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    parsed = json.loads(out)  # exactly one JSON document
    assert isinstance(parsed, list) and len(parsed) == len(CLAIMS)
    for item in parsed:
        assert {"id", "section", "statement", "value", "threshold", "holds", "details"} <= set(item)
        assert isinstance(item["holds"], bool) and isinstance(item["statement"], str)
    assert main(["claims", "--checkpoint", str(path)]) == 0
    text = capsys.readouterr().out
    assert f"checkpoint  {path}" in text and "clock-or-pizza" in text


def test_cli_refuses_a_bad_checkpoint(tmp_path, capsys):
    from lens.__main__ import main

    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"PK\x03\x04 not a zip")
    assert main(["claims", "--checkpoint", str(bad), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1 and str(bad) in captured.err
