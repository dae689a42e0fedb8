"""The model's forward pass in torch, at the ``=`` position: what the trainer differentiates.

Its own module so that what reads a run (``lens.history``) can evaluate checkpoints the way
training did without importing the trainer. Importing it imports torch.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int

from .config import ModelConfig

Params = dict[str, torch.Tensor]


def forward(
    P: Params, a: Int[torch.Tensor, " N"], b: Int[torch.Tensor, " N"], with_pre: bool = False
) -> Float[torch.Tensor, "N p"] | tuple[Float[torch.Tensor, "N p"], Float[torch.Tensor, "N d_mlp"]]:
    """Logits at the ``=`` position for inputs ``[a, b, =]``; the model of :mod:`lens.model`.

    Only position 2 is computed past the attention scores (nothing else reaches the logits),
    and its pre-attention residual is one vector, so q is one vector per head and the keys
    and values of positions 0 and 1 are [p, ...] tables indexed by a and b.
    With ``with_pre`` the MLP pre-activations [N, d_mlp] come back too.
    """
    W_E, W_pos, W_K, W_V = P["W_E"], P["W_pos"], P["W_K"], P["W_V"]
    n_heads, _, d_head = W_K.shape
    p = P["W_U"].shape[1]
    eq = W_E[p] + W_pos[2]  # [d]: the "=" residual, the same for every input
    x0 = W_E[:p] + W_pos[0]  # [p, d]: position 0 holding token a (row a)
    x1 = W_E[:p] + W_pos[1]  # [p, d]: position 1 holding token b
    q = torch.einsum("d,hde->he", eq, P["W_Q"])
    qk = torch.einsum("hde,he->dh", W_K, q) / math.sqrt(d_head)  # score of residual x = x @ qk
    scores = torch.stack(
        [(x0 @ qk)[a], (x1 @ qk)[b], (eq @ qk).expand(len(a), n_heads)], dim=-1
    )  # [N, head, key position]
    pattern = scores.softmax(dim=-1)
    v0 = torch.einsum("pd,hde->phe", x0, W_V)  # [p, head, d_head]
    v1 = torch.einsum("pd,hde->phe", x1, W_V)
    v2 = torch.einsum("d,hde->he", eq, W_V)
    z = pattern[..., 0, None] * v0[a] + pattern[..., 1, None] * v1[b] + pattern[..., 2, None] * v2
    resid_mid = eq + z.flatten(1) @ P["W_O"].flatten(0, 1)
    pre = torch.addmm(P["b_in"], resid_mid, P["W_in"])
    # In place when pre is not wanted: one [N, d_mlp] buffer fewer per step.
    post = F.relu(pre) if with_pre else pre.relu_()
    logits = (resid_mid + torch.addmm(P["b_out"], post, P["W_out"])) @ P["W_U"]
    return (logits, pre) if with_pre else logits


def forward_flops(cfg: ModelConfig, n: int) -> int:
    """Floating-point operations of one :func:`forward` on ``n`` inputs (matmuls only; the
    [p, ...] tables are counted once). A training step costs about three times this."""
    p, d, h, dh, m = cfg.p, cfg.d_model, cfg.n_heads, cfg.d_head, cfg.d_mlp
    tables = 2 * p * d * h * (1 + dh)  # scores and values at positions 0 and 1
    per_input = d * h * dh + d * m + m * d + d * p  # W_O, W_in, W_out, W_U
    return 2 * (tables + n * per_input)
