"""The ablation lab's engine as it was before it was made fast (lens.lab at 5f8b569), kept as
an independent reference: every hook rebuilds the rest of the forward pass from the edited
activation with :func:`lens.run.forward_from`, one frequency set at a time, and scores in
float64. The filter is :func:`lens.fourier.filter_2d` (full transforms), not the lab's own.

Imported by the tests as ``lab_reference`` (pytest puts ``tests/`` on ``sys.path``).
"""

from __future__ import annotations

import numpy as np

from lens import fourier, task
from lens.lab import LINEAR_HOOKS
from lens.run import Run, attention, forward_from


def _filter(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``x`` ``[a, b, d]`` filtered per channel (float64)."""
    return np.moveaxis(fourier.filter_2d(np.moveaxis(x, -1, 0), keep), 0, -1)


def logits(run: Run, hook: str, keep: np.ndarray) -> np.ndarray:
    """The logits ``[N, p]`` with only the folded bins ``keep`` of ``hook``'s spectrum."""
    p, w = run.p, run.weights
    if hook == "embed":
        b, rows = fourier.basis(p), fourier.basis_freqs(p)
        x = w["W_E"][:p].astype(np.float64)
        tables = np.repeat(w["W_E"][None].astype(np.float64), 3, axis=0)
        for pos, kept in ((0, keep[:, 0]), (1, keep[0, :])):
            sel = b[kept[rows]]
            tables[pos, :p] = sel.T @ (sel @ x)
        return forward_from(run.ck, "embed", tables.astype(np.float32))
    w64 = {k: w[k].astype(np.float64) for k in ("W_out", "W_U", "b_out")}
    base = 0.0
    if hook == "logits":
        flat = run.logits.astype(np.float64)
    elif hook == "resid_post":
        flat = run.acts["resid_post"].astype(np.float64) @ w64["W_U"]
    elif hook == "mlp_out":
        flat = run.acts["mlp_out"].astype(np.float64) @ w64["W_U"]
        base = run.acts["resid_mid"].astype(np.float64) @ w64["W_U"]
    elif hook == "post":
        flat = run.acts["post"].astype(np.float64) @ (w64["W_out"] @ w64["W_U"])
        base = (run.acts["resid_mid"].astype(np.float64) + w64["b_out"]) @ w64["W_U"]
    elif hook == "scores":
        flat = attention(run.ck, task.dataset(p), w["W_E"][None])["scores"]
    else:
        flat = run.acts[hook]
    edited = _filter(np.asarray(flat, dtype=np.float64).reshape(p, p, -1), keep).reshape(flat.shape)
    if hook in LINEAR_HOOKS:
        return base + edited
    edited = edited.astype(np.float32)
    return forward_from(run.ck, hook, edited, resid_mid=run.acts.get("resid_mid"))


def losses(run: Run, hook: str, keep: np.ndarray) -> dict[str, float]:
    """Float64 cross-entropy on train, test and all pairs."""
    z = np.asarray(logits(run, hook, keep), dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    each = np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(z)), run.labels]
    train = run.train_mask
    return {"train": float(each[train].mean()), "test": float(each[~train].mean()), "all": float(each.mean())}
