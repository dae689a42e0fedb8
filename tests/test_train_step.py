"""The trainer's hand-written step (``lens.train_step``) against autograd through ``lens.forward``.

Small primes and the embedded run's final weights (losses near 1e-7, where the float64
cross-entropy matters); seconds in all. Speed is measured in ``bench/train.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lens import checkpoint, task
from lens import train as T
from lens.history import DEFAULT_RUN
from lens.train_step import CHUNK_ROWS, Flat, Step


def split_tensors(p: int, frac: float, seed: int, train: bool = True):
    mask = task.seeded_split(p, frac, seed)
    mask = mask if train else ~mask
    data, labels = task.dataset(p)[mask], task.labels(p)[mask]
    return torch.as_tensor(data[:, 0]), torch.as_tensor(data[:, 1]), torch.as_tensor(labels)


def autograd(P: dict, a, b, y):
    """Loss, accuracy and gradients the way the trainer computed them before lens.train_step."""
    Pr = {k: v.detach().clone().requires_grad_(True) for k, v in P.items()}
    logits = T.forward(Pr, a, b)
    loss = F.cross_entropy(logits.double(), y)
    loss.backward()
    acc = float((logits.argmax(1) == y).double().mean())
    return float(loss.detach()), acc, {k: v.grad for k, v in Pr.items()}


def random_params(cfg, seed: int) -> dict:
    P = T.init_params(cfg, seed)
    gen = torch.Generator().manual_seed(seed + 100)
    # Biases the initialisation leaves at zero, so their gradients' paths are checked too.
    P["b_in"] = torch.randn(cfg.d_mlp, generator=gen) / 10
    P["b_out"] = torch.randn(cfg.d_model, generator=gen) / 10
    return P


def assert_close_grads(mine: dict, theirs: dict, rtol: float = 2e-5) -> None:
    for k, g in theirs.items():
        scale = float(g.abs().max())
        assert scale > 0, k  # a gradient that is all zero would check nothing
        np.testing.assert_allclose(mine[k].numpy(), g.numpy(), rtol=rtol, atol=rtol * scale, err_msg=k)


@pytest.mark.parametrize(
    ("p", "dims", "lanes", "chunk_rows"),
    [
        (13, {}, 1, None),
        (13, {}, 2, 7),  # four chunks per lane, of 6 and 7 rows
        (23, {"d_model": 32, "n_heads": 2, "d_head": 16, "d_mlp": 64}, 3, 10),
        (113, {}, 2, CHUNK_ROWS),  # the default shape and chunking
    ],
)
def test_step_matches_autograd(p, dims, lanes, chunk_rows):
    torch.set_num_threads(1)
    cfg = T.Recipe(p=p, **dims).cfg
    a, b, y = split_tensors(p, 0.3, 0)
    P = random_params(cfg, seed=p)
    flat = Flat(P)
    step = Step(cfg, a, b, y, lanes=lanes, chunk_rows=chunk_rows)
    loss, acc = step(flat, accuracy=True)
    step.close()
    ref_loss, ref_acc, ref_grads = autograd(P, a, b, y)
    assert loss == pytest.approx(ref_loss, rel=1e-6)
    assert acc == ref_acc
    assert_close_grads(flat.grads, ref_grads)


def test_forward_only_and_determinism():
    """backward=False gives the same loss and leaves the gradient alone; two lanes give the
    same bits every time."""
    torch.set_num_threads(1)
    cfg = T.Recipe(p=31).cfg
    a, b, y = split_tensors(31, 0.3, 1)
    flat = Flat(random_params(cfg, seed=2))
    step = Step(cfg, a, b, y, lanes=2, chunk_rows=40)
    loss, acc = step(flat, accuracy=True)
    grad = flat.grad.clone()
    flat.grad.fill_(7.0)
    assert step(flat, backward=False, accuracy=True) == (loss, acc)
    assert (flat.grad == 7.0).all()
    for _ in range(3):
        assert step(flat)[0] == loss
        assert torch.equal(flat.grad, grad)
    step.close()


@pytest.mark.skipif(not (DEFAULT_RUN / "model.safetensors").is_file(), reason="default run not trained yet")
def test_step_at_tiny_losses():
    """The embedded run's final weights: train loss near 1e-7, where float32 cross-entropy
    would round the correct class's probability to 1. Against the whole forward and backward
    in float64, the step's loss and gradients are as close as autograd's float32 ones."""
    torch.set_num_threads(1)
    ck = checkpoint.load(DEFAULT_RUN)
    P = {k: torch.as_tensor(v) for k, v in ck.weights.items()}
    a, b, y = split_tensors(ck.p, ck.split["frac"], ck.split["seed"])
    flat = Flat(P)
    step = Step(ck.cfg, a, b, y, lanes=2)
    loss, acc = step(flat, accuracy=True)
    step.close()
    exact_loss, _, exact = autograd({k: v.double() for k, v in P.items()}, a, b, y)
    f32_loss, f32_acc, f32 = autograd(P, a, b, y)
    assert exact_loss < 1e-5 and acc == f32_acc == 1.0
    assert abs(loss - exact_loss) <= max(abs(f32_loss - exact_loss), 1e-6 * exact_loss)

    def error(g, k):
        return float((g.double() - exact[k]).norm() / exact[k].norm())

    for k in exact:
        # 1.5e-5 for b_in, the largest (autograd's float32: 7e-4), measured
        assert error(flat.grads[k], k) <= max(error(f32[k], k), 1e-4), k


def test_flat_views_and_the_fused_update():
    """The weights are views of one tensor; AdamW over it (fused) is the per-weight foreach
    update of the previous trainer to rounding."""
    cfg = T.Recipe(p=13).cfg
    P0 = T.init_params(cfg, 0)
    flat = Flat(P0)
    assert all(torch.equal(flat.params[k], P0[k]) for k in P0)
    assert flat.params["W_U"].data_ptr() != P0["W_U"].data_ptr()  # a copy, not the caller's
    moments = torch.arange(flat.data.numel(), dtype=torch.float32)
    assert torch.equal(flat.join(flat.split(moments)), moments)

    recipe = T.Recipe(p=13)
    gen = torch.Generator().manual_seed(1)
    grads = [{k: torch.randn(v.shape, generator=gen) for k, v in P0.items()} for _ in range(30)]
    Pr = {k: v.clone().requires_grad_(True) for k, v in P0.items()}
    per_weight = torch.optim.AdamW(
        [Pr[k] for k in T.WEIGHT_NAMES],
        lr=0.0,
        betas=(recipe.beta1, recipe.beta2),
        weight_decay=recipe.weight_decay,
        foreach=True,
    )
    fused = T.make_optimizer(flat, recipe)
    for i, g in enumerate(grads):
        for opt in (per_weight, fused):
            for group in opt.param_groups:
                group["lr"] = recipe.lr_at(i)
        for k in Pr:
            Pr[k].grad = g[k].clone()
        flat.grad.copy_(flat.join(g))
        per_weight.step()
        fused.step()
    for k in Pr:
        np.testing.assert_allclose(
            flat.params[k].numpy(), Pr[k].detach().numpy(), rtol=0, atol=1e-6, err_msg=k
        )
    assert not torch.equal(flat.params["W_E"], P0["W_E"])  # the updates moved the weights


def test_lanes_flush_subnormals_as_the_caller_does():
    """torch.set_flush_denormal acts on the calling thread; the lanes' threads, started by
    the first step, inherit it (else late training would run slower on every lane but one)."""
    cfg = T.Recipe(p=13).cfg
    a, b, y = split_tensors(13, 0.5, 0)
    # float32's smallest subnormal, 1.4e-45, from its bits: torch.tensor([1e-45]) would be
    # flushed to 0 by the conversion if this thread flushes already (as after lens.train ran)
    subnormal = torch.tensor([1], dtype=torch.int32).view(torch.float32)
    for flush in (True, False):
        torch.set_flush_denormal(flush)
        try:
            step = Step(cfg, a, b, y, lanes=2)
            step(Flat(T.init_params(cfg, 0)))
            seen = step.pool.submit(lambda: float(subnormal * 1.0)).result()
            step.close()
        finally:
            torch.set_flush_denormal(True)
        assert (seen == 0.0) == flush, (flush, seen)


def test_an_empty_split_gives_nan_as_before():
    """--frac 1 leaves no test rows: the loss and accuracy of nothing are nan (as
    F.cross_entropy of no rows was), not a division by zero."""
    cfg = T.Recipe(p=13).cfg
    none = torch.zeros(0, dtype=torch.long)
    flat = Flat(T.init_params(cfg, 0))
    flat.grad.fill_(1.0)
    loss, acc = Step(cfg, none, none, none, lanes=2)(flat, accuracy=True)
    assert np.isnan(loss) and np.isnan(acc) and (flat.grad == 0).all()
