"""One run of the model over all p * p inputs, with the activations the analyses need.

Two engines compute the same activations (tests hold them to float32 rounding):
- ``"transformer_lens"``: the TransformerLens 4 model of :mod:`lens.model`, read through its
  hooks. The reference implementation, used by the CLI and the tests.
- ``"numpy"``: the same forward pass written out in numpy at the ``=`` position only. It needs
  neither torch nor TransformerLens, whose imports cost seconds and about 400 MB: the app
  uses it so the first chart of a cold start does not wait for them.

Everything is returned as float32 numpy arrays whose first axis is the example, in a-major
order (row ``a * p + b``). Only the ``=`` position (2) is kept for the activations after
attention: in a one-layer model nothing else reaches the logits. :meth:`Run.by_ab` and
:meth:`Run.by_ca` move the example axis to the end as two token axes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from jaxtyping import Bool, Float, Int

from . import task
from .checkpoint import Checkpoint

# Hook name -> the name used here, and how to slice it down to the "=" position.
HOOKS = {
    "hook_embed": "embed",  # [batch, pos, d_model], all positions kept
    "blocks.0.hook_resid_pre": "resid_pre",  # all positions kept
    "blocks.0.attn.hook_pattern": "pattern",  # [batch, head, query, key] -> query "="
    "blocks.0.attn.hook_z": "z",  # [batch, pos, head, d_head] -> "="
    "blocks.0.hook_attn_out": "attn_out",
    "blocks.0.hook_resid_mid": "resid_mid",
    "blocks.0.mlp.hook_pre": "pre",
    "blocks.0.mlp.hook_post": "post",
    "blocks.0.hook_mlp_out": "mlp_out",
    "blocks.0.hook_resid_post": "resid_post",
}
ALL_POSITIONS = {"embed", "resid_pre"}


@dataclass
class Run:
    """The full-dataset run. ``acts[name]`` has the example axis first.

    Shapes (N = p * p): embed, resid_pre [N, 3, d_model]; pattern [N, head, key] (query "=");
    z [N, head, d_head]; attn_out, resid_mid, mlp_out, resid_post [N, d_model];
    pre, post [N, d_mlp]; logits [N, p].
    """

    ck: Checkpoint
    logits: Float[np.ndarray, "N p"]
    acts: dict[str, np.ndarray] = field(repr=False)

    @property
    def p(self) -> int:
        return self.ck.p

    @property
    def cfg(self):
        return self.ck.cfg

    @property
    def weights(self) -> dict[str, np.ndarray]:
        return self.ck.weights

    @cached_property
    def labels(self) -> Int[np.ndarray, " N"]:
        return task.labels(self.p)

    @cached_property
    def train_mask(self) -> Bool[np.ndarray, " N"]:
        return task.split_mask(self.p, self.ck.split)

    def by_ab(self, x: np.ndarray | str) -> np.ndarray:
        """[N, *rest] -> [*rest, a, b] (the seed's ``inputs_last``)."""
        x = self.acts[x] if isinstance(x, str) else x
        x = x.reshape(self.p, self.p, *x.shape[1:])
        return np.moveaxis(np.moveaxis(x, 0, -1), 0, -1)

    def by_ca(self, x: np.ndarray | str) -> np.ndarray:
        """[N, *rest] -> [*rest, c, a] with b = (c - a) mod p (the seed's c-order view)."""
        x = self.acts[x] if isinstance(x, str) else x
        return self.by_ab(x[task.c_order(self.p)])


def run_model(
    ck: Checkpoint, engine: str = "transformer_lens", batch: int = 16384, all_positions: bool = True
) -> Run:
    """Run every input through the model and keep the activations (see the module doc).

    ``all_positions=False`` (numpy engine) leaves out ``embed`` and ``resid_pre``, the only
    activations kept at every position: 40 MB of the run's 130 MB at p = 113, and nothing
    the app reads (they are tables of W_E and W_pos, gathered)."""
    if engine == "numpy":
        logits, acts = _numpy_forward(ck)
        if not all_positions:
            acts = {k: v for k, v in acts.items() if k not in ALL_POSITIONS}
    elif engine == "transformer_lens":
        logits, acts = _transformer_lens_forward(ck, batch)
    else:
        raise ValueError(f"engine must be 'numpy' or 'transformer_lens', not {engine!r}")
    return Run(ck, logits, acts)


def _transformer_lens_forward(ck: Checkpoint, batch: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Through TransformerLens's hooks.

    Only the hooks in :data:`HOOKS` are cached (``names_filter``), so even one batch of all
    p * p inputs stays small (about 100 MB at p = 113, against about 1 GB for the full
    cache at every position). The default batch therefore covers p * p up to p = 127 in
    one pass: each extra batch costs a fixed TransformerBridge overhead that measured
    slower than the work itself (4 batches of 4096 took about 2.5x one batch of 12769).
    """
    import torch

    from .model import build_bridge

    bridge = build_bridge(ck.weights, ck.cfg)
    tokens = torch.as_tensor(task.dataset(ck.p))
    parts: dict[str, list[np.ndarray]] = {name: [] for name in HOOKS.values()}
    logits_parts = []
    with torch.no_grad():
        for start in range(0, len(tokens), batch):
            logits, cache = bridge.run_with_cache(
                tokens[start : start + batch], names_filter=lambda n: n in HOOKS
            )
            logits_parts.append(logits[:, -1].float().numpy())
            for hook, name in HOOKS.items():
                x = cache[hook]
                if name == "pattern":
                    x = x[:, :, -1, :]
                elif name not in ALL_POSITIONS:
                    x = x[:, -1]
                parts[name].append(x.float().numpy())
    acts = {name: np.concatenate(v) for name, v in parts.items()}
    return np.concatenate(logits_parts), acts


def _numpy_forward(ck: Checkpoint) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The forward pass in float32 numpy, at the ``=`` position (the only one that reaches
    the logits: attention is causal and there is one layer).

    Keys and values depend on a token and its position only, so they are computed once per
    (position, token) and gathered, rather than once per example.
    """
    w = ck.weights
    tokens = task.dataset(ck.p)  # [N, 3]
    embed = w["W_E"][tokens]  # [N, pos, d]
    resid_pre = embed + w["W_pos"][None]
    acts = {"embed": embed, "resid_pre": resid_pre}
    acts.update(attention(ck, tokens, w["W_E"][None]))
    del acts["scores"]  # not a hook the run keeps (the TransformerLens engine does not either)
    acts.update(_after_attention(w, resid_pre[:, -1], acts["attn_out"]))
    logits = acts.pop("logits")
    acts = {name: np.ascontiguousarray(x, dtype=np.float32) for name, x in acts.items()}
    return logits.astype(np.float32), acts


def logits_run(ck: Checkpoint, keep: tuple[str, ...] = (), rows: int = 2048) -> Run:
    """A :class:`Run` with the logits and only the activations named in ``keep`` (at "=":
    ``pattern``, ``z``, ``attn_out``, ``resid_mid``, ``pre``, ``post``, ``mlp_out``,
    ``resid_post``), by the numpy engine's forward pass over ``rows`` inputs at a time: for a
    snapshot that is analysed once and dropped (its losses, its neurons, its diagnostics).
    The whole pass at p = 113 peaks at ~130 MB of activations; this one at what it keeps
    plus a block's worth (~20 MB), for the same numbers to float32 rounding: each input's row
    goes through the same operations, but a BLAS may pick its kernel by the number of rows
    (OpenBLAS on an AMD EPYC rounds a 5-row block's products differently from the whole
    pass's, by about 5e-7 of the logits' scale; on an Intel Xeon they were bitwise equal)."""
    unknown = set(keep) - (set(HOOKS.values()) - ALL_POSITIONS)
    if unknown:
        raise ValueError(f"logits_run keeps activations at '=' only; not {sorted(unknown)}")
    w = ck.weights
    tokens = task.dataset(ck.p)
    n = len(tokens)
    out: dict[str, np.ndarray] = {}
    for lo in range(0, n, rows):
        t = tokens[lo : lo + rows]
        resid_eq = w["W_E"][t[:, -1]] + w["W_pos"][-1]
        acts = attention(ck, t, w["W_E"][None])
        acts.update(_after_attention(w, resid_eq, acts["attn_out"]))
        for name in ("logits", *keep):
            x = acts[name]
            if name not in out:
                out[name] = np.empty((n, *x.shape[1:]), dtype=np.float32)
            out[name][lo : lo + len(t)] = x
    logits = out.pop("logits")
    return Run(ck=ck, logits=logits, acts=out)


def attention(
    ck: Checkpoint, tokens, embed_tables, scores=None, pattern=None, exact: bool = True
) -> dict[str, np.ndarray]:
    """Attention at the ``=`` query over the inputs ``tokens`` (``task.dataset(p)``): scores
    (scaled, before the softmax), pattern ``[N, head, key]``, z and attn_out.

    ``embed_tables`` ``[pos, vocab, d_model]`` are the token embeddings each position sees
    (``W_E[None]`` for the model itself: every position reads the same table). Given
    ``scores`` (pre-softmax, scaled) or ``pattern``, attention continues from there.
    ``exact=False`` computes the query once (the "=" token at its position is every input's)
    and ``attn_out`` as one 2-D product: about twice as fast, the same to float32 rounding
    (the run itself keeps the exact path, so its activations do not move).
    """
    w, cfg = ck.weights, ck.cfg
    n_pos = tokens.shape[1]
    # Per-position tables over the vocabulary: [pos, vocab, head, d_head].
    table_in = embed_tables + w["W_pos"][:, None]
    v_table = np.einsum("svd,hde->svhe", table_in, w["W_V"])
    positions = np.arange(n_pos)[None]
    v = v_table[positions, tokens]  # [N, pos, head, d_head]
    if scores is None and pattern is None:
        k_table = np.einsum("svd,hde->svhe", table_in, w["W_K"])
        k = k_table[positions, tokens]
        if exact:
            q = np.einsum("nd,hde->nhe", table_in[-1][tokens[:, -1]], w["W_Q"])
            scores = np.einsum("nhe,nkhe->nhk", q, k)
        else:
            q = np.einsum("d,hde->he", table_in[-1][tokens[0, -1]], w["W_Q"])
            scores = np.einsum("he,nkhe->nhk", q, k)
        scores = scores / np.float32(np.sqrt(cfg.d_head))
    if pattern is None:
        shifted = scores - scores.max(axis=-1, keepdims=True)  # the last query sees every key: no mask
        pattern = np.exp(shifted)
        pattern /= pattern.sum(axis=-1, keepdims=True)
    z = np.einsum("nhk,nkhe->nhe", pattern, v)
    if exact:
        attn_out = np.einsum("nhe,hed->nd", z, w["W_O"])
    else:
        attn_out = z.reshape(len(z), -1) @ w["W_O"].reshape(-1, w["W_O"].shape[-1])
    return {"scores": scores, "pattern": pattern, "z": z, "attn_out": attn_out}


def _after_attention(w: dict, resid_eq, attn_out=None, resid_mid=None, pre=None, post=None, mlp_out=None):
    """The rest of the forward pass at ``=``, from the first of its arguments that is given
    (``resid_eq``, the residual stream before attention, with ``attn_out``; or ``resid_mid``
    onwards, which still needs ``resid_mid`` for the residual path). Returns every activation
    it computed and ``logits``."""
    out: dict[str, np.ndarray] = {}
    if attn_out is not None:
        resid_mid = out["resid_mid"] = resid_eq + attn_out
    if pre is None and post is None and mlp_out is None:
        pre = out["pre"] = resid_mid @ w["W_in"] + w["b_in"]
    if post is None and mlp_out is None:
        post = out["post"] = np.maximum(pre, 0)
    if mlp_out is None:
        mlp_out = out["mlp_out"] = post @ w["W_out"] + w["b_out"]
    resid_post = out["resid_post"] = resid_mid + mlp_out
    out["logits"] = resid_post @ w["W_U"]
    return out


# The hooks :func:`forward_from` can start from, in the order of the forward pass.
FORWARD_HOOKS = (
    "embed",
    "scores",
    "pattern",
    "attn_out",
    "resid_mid",
    "pre",
    "post",
    "mlp_out",
    "resid_post",
)


def forward_from(
    ck: Checkpoint, hook: str, value: np.ndarray, resid_mid: np.ndarray | None = None
) -> Float[np.ndarray, "N p"]:
    """The logits at ``=`` with the activation at ``hook`` replaced by ``value`` and the rest
    of the forward pass recomputed (the numpy engine's code, in ``value``'s dtype; the same
    logits as the run's to float32 rounding when ``value`` is unedited).

    ``value`` has the example axis first (a-major) like ``Run.acts``, except for
    ``"embed"``: the token embeddings each position reads, ``[pos, vocab, d_model]`` (the
    model's own: ``W_E`` at every position), so that the embedding of a (position 0) and of
    b (position 1) can differ. ``"scores"`` are attention's scaled scores before the softmax
    (``[N, head, key]``, query ``=``). Hooks after attention need the unedited ``resid_mid``
    for the residual path (``pre``, ``post``, ``mlp_out``).
    """
    w = ck.weights
    tokens = task.dataset(ck.p)
    if hook in ("embed", "scores", "pattern"):
        tables = value if hook == "embed" else w["W_E"][None]
        att = attention(ck, tokens, tables, exact=False, **({hook: value} if hook != "embed" else {}))
        resid_eq = w["W_E"][ck.p] + w["W_pos"][-1]  # the "=" token at its position: the same for all
        return _after_attention(w, resid_eq, att["attn_out"])["logits"]
    if hook == "attn_out":
        return _after_attention(w, w["W_E"][ck.p] + w["W_pos"][-1], value)["logits"]
    if hook == "resid_mid":
        return _after_attention(w, None, resid_mid=value)["logits"]
    if hook in ("pre", "post", "mlp_out"):
        if resid_mid is None:
            raise ValueError(f"forward_from({hook!r}) needs the unedited resid_mid")
        return _after_attention(w, None, resid_mid=resid_mid, **{hook: value})["logits"]
    if hook == "resid_post":
        return value @ w["W_U"]
    raise ValueError(f"hook must be one of {FORWARD_HOOKS}, not {hook!r}")
