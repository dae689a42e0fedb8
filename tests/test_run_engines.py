"""The app's numpy forward pass agrees with the TransformerLens model, activation by activation."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from lens import metrics
from lens.checkpoint import load
from lens.run import HOOKS, logits_run, run_model
from tests.tiny_models import make_checkpoint


def _assert_same_run(ck, rel: float = 1e-5) -> None:
    fast, ref = run_model(ck, engine="numpy"), run_model(ck, engine="transformer_lens")
    assert set(fast.acts) == set(ref.acts) == set(HOOKS.values())
    for name in ref.acts:
        a, b = fast.acts[name], ref.acts[name]
        assert a.shape == b.shape and a.dtype == np.float32, name
        scale = float(np.abs(b).max()) or 1.0
        assert float(np.abs(a - b).max()) <= rel * scale, name
    assert fast.logits.shape == ref.logits.shape
    assert (fast.logits.argmax(1) == ref.logits.argmax(1)).mean() > 0.999


@pytest.mark.parametrize("p", [7, 13, 31])
def test_engines_agree_on_tiny_models(p):
    _assert_same_run(make_checkpoint(p))


def test_engines_agree_on_the_reference(reference_path):
    ck = load(reference_path)
    _assert_same_run(ck)
    fast, ref = run_model(ck, engine="numpy"), run_model(ck)
    for split in ("all", "train", "test"):
        a = metrics.by_split(metrics.cross_entropy, fast.logits, fast.labels, fast.train_mask)[split]
        b = metrics.by_split(metrics.cross_entropy, ref.logits, ref.labels, ref.train_mask)[split]
        assert a == pytest.approx(b, rel=1e-4)


def _float32_equal(got: np.ndarray, want: np.ndarray) -> None:
    """Equal to float32 rounding of the values' scale: a BLAS may choose its kernel (and so
    its rounding) by a product's number of rows, as OpenBLAS does on an AMD EPYC."""
    np.testing.assert_allclose(got, want, rtol=0, atol=4e-6 * max(1.0, float(np.abs(want).max())))


@pytest.mark.parametrize("p", [7, 13, 31])
def test_the_blocked_logits_are_the_runs(p):
    """logits_run (a snapshot's losses on the Grokking page) computes block by block, a few
    rows here so that blocks and their edges are crossed, what the whole numpy pass does."""
    ck = make_checkpoint(p)
    full = run_model(ck, engine="numpy", all_positions=False)
    for rows in (5, 2048):
        blocked = logits_run(ck, rows=rows)
        assert blocked.acts == {} and blocked.logits.dtype == np.float32
        _float32_equal(blocked.logits, full.logits)
    kept = logits_run(ck, keep=("pre", "pattern", "z"), rows=5)
    assert set(kept.acts) == {"pre", "pattern", "z"}
    for name, x in kept.acts.items():
        assert x.dtype == np.float32, name
        _float32_equal(x, full.acts[name])
    with pytest.raises(ValueError):
        logits_run(ck, keep=("embed",))  # kept at every position: not what this pass holds


def test_numpy_engine_imports_neither_torch_nor_transformer_lens(tmp_path):
    from lens.checkpoint import save_run

    ck = make_checkpoint(13)
    save_run(tmp_path / "run", ck.weights, ck.split)
    code = (
        "import sys; from lens.checkpoint import load; from lens.run import run_model; "
        f"run_model(load({str(tmp_path / 'run')!r}), engine='numpy'); "
        "print(sorted(m for m in ('torch', 'transformer_lens') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="engine"):
        run_model(make_checkpoint(7), engine="jax")
