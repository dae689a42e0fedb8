"""The model's shape, derived from a checkpoint's weights, never assumed to be p = 113."""

from __future__ import annotations

from dataclasses import asdict, dataclass

# The canonical weight names, in TransformerLens's conventions (weights multiply on the
# right: x @ W). Every checkpoint format is converted to exactly these names and shapes.
WEIGHT_NAMES = (
    "W_E",  # [p + 1, d_model]; the last row embeds the "=" token
    "W_pos",  # [n_ctx, d_model]
    "W_Q",  # [n_heads, d_model, d_head]
    "W_K",  # [n_heads, d_model, d_head]
    "W_V",  # [n_heads, d_model, d_head]
    "W_O",  # [n_heads, d_head, d_model]
    "W_in",  # [d_model, d_mlp]
    "b_in",  # [d_mlp]
    "W_out",  # [d_mlp, d_model]
    "b_out",  # [d_model]
    "W_U",  # [d_model, p]; no column for "="
)


@dataclass(frozen=True)
class ModelConfig:
    """Dimensions of the one-layer, LayerNorm-free, ReLU transformer on (a + b) mod p.

    Footgun: ``d_vocab`` is p + 1 (the "=" token is id p) but ``d_vocab_out`` is p.
    """

    p: int
    d_model: int = 128
    n_heads: int = 4
    d_head: int = 32
    d_mlp: int = 512
    n_ctx: int = 3

    @property
    def d_vocab(self) -> int:
        return self.p + 1

    @property
    def d_vocab_out(self) -> int:
        return self.p

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape every canonical weight must have for this configuration."""
        p, d, h, dh, m = self.p, self.d_model, self.n_heads, self.d_head, self.d_mlp
        return {
            "W_E": (p + 1, d),
            "W_pos": (self.n_ctx, d),
            "W_Q": (h, d, dh),
            "W_K": (h, d, dh),
            "W_V": (h, d, dh),
            "W_O": (h, dh, d),
            "W_in": (d, m),
            "b_in": (m,),
            "W_out": (m, d),
            "b_out": (d,),
            "W_U": (d, p),
        }

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_shapes(cls, shapes: dict[str, tuple[int, ...]]) -> "ModelConfig":
        """Read the dimensions off canonical weight shapes (callers validate afterwards)."""
        n_heads, d_model, d_head = shapes["W_Q"]
        return cls(
            p=shapes["W_U"][1],
            d_model=d_model,
            n_heads=n_heads,
            d_head=d_head,
            d_mlp=shapes["W_in"][1],
            n_ctx=shapes["W_pos"][0],
        )
