"""The one-layer transformer as a TransformerLens 4 model.

TransformerLens 4 dropped ``HookedTransformer``; ``TransformerBridge`` wraps a small native
model whose layers are ``nn.Linear`` (weight ``[out, in]``) and keeps the familiar hook names
(``blocks.0.hook_resid_mid``, ``blocks.0.mlp.hook_pre``, ``blocks.0.attn.hook_pattern``).

Importing TransformerLens costs seconds and hundreds of MB, so it happens inside
:func:`build_bridge`, never at module import: the app's first paint must not wait for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from .config import ModelConfig

if TYPE_CHECKING:  # pragma: no cover
    from transformer_lens.model_bridge import TransformerBridge

Weights = dict[str, np.ndarray]


def bridge_config(cfg: ModelConfig):
    from transformer_lens import TransformerBridgeConfig

    return TransformerBridgeConfig(
        n_layers=1,
        n_heads=cfg.n_heads,
        d_model=cfg.d_model,
        d_head=cfg.d_head,
        d_mlp=cfg.d_mlp,
        act_fn="relu",
        normalization_type=None,
        d_vocab=cfg.d_vocab,
        d_vocab_out=cfg.d_vocab_out,
        n_ctx=cfg.n_ctx,
        seed=0,
    )


def native_state_dict(w: Weights, cfg: ModelConfig) -> dict[str, torch.Tensor]:
    """Canonical weights -> the native model's ``nn.Linear`` layout (weight ``[out, in]``).

    Every bias the original architecture lacks (q, k, v, o, unembedding) is zero.
    """
    h, d, dh = cfg.n_heads, cfg.d_model, cfg.d_head

    def t(x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float32)

    def qkv(name: str) -> torch.Tensor:
        # [heads, d_model, d_head] -> [heads * d_head, d_model], heads outermost.
        return t(w[name]).permute(0, 2, 1).reshape(h * dh, d)

    zeros_hd, zeros_d = torch.zeros(h * dh), torch.zeros(d)
    sd = {
        "tok_embed.weight": t(w["W_E"]),
        "pos.weight": t(w["W_pos"]),
        "layers.0.attn.q.weight": qkv("W_Q"),
        "layers.0.attn.q.bias": zeros_hd,
        "layers.0.attn.k.weight": qkv("W_K"),
        "layers.0.attn.k.bias": zeros_hd,
        "layers.0.attn.v.weight": qkv("W_V"),
        "layers.0.attn.v.bias": zeros_hd,
        # [heads, d_head, d_model] -> [d_model, heads * d_head]
        "layers.0.attn.o.weight": t(w["W_O"]).reshape(h * dh, d).T.contiguous(),
        "layers.0.attn.o.bias": zeros_d,
        "layers.0.mlp.fc_in.weight": t(w["W_in"]).T.contiguous(),
        "layers.0.mlp.fc_in.bias": t(w["b_in"]),
        "layers.0.mlp.fc_out.weight": t(w["W_out"]).T.contiguous(),
        "layers.0.mlp.fc_out.bias": t(w["b_out"]),
        "head.weight": t(w["W_U"]).T.contiguous(),
    }
    return sd


def build_bridge(w: Weights, cfg: ModelConfig) -> "TransformerBridge":
    """A TransformerLens bridge holding exactly these weights, in eval mode, on the CPU."""
    from transformer_lens.model_bridge import TransformerBridge
    from transformer_lens.model_bridge.sources._bridge_builder import build_bridge_from_module
    from transformer_lens.model_bridge.sources.native.model import NativeModel

    tl_cfg = bridge_config(cfg)
    native = NativeModel(tl_cfg)
    sd = native_state_dict(w, cfg)
    own = native.state_dict()
    # Any layer the native model has beyond ours (a head bias, say) must be zero.
    for key, value in own.items():
        sd.setdefault(key, torch.zeros_like(value))
    native.load_state_dict(sd, strict=True)
    bridge = build_bridge_from_module(
        native, architecture="TransformerLensNative", tl_config=tl_cfg, model_name="grokked"
    )
    assert isinstance(bridge, TransformerBridge)
    bridge.eval()
    return bridge
