"""The ablation lab: remove (or keep only) chosen frequencies at any hook, recompute the rest of
the forward pass, and set the loss beside random frequency sets of the same size.

An ablation edits one activation as a function of the input pair (a, b): every channel of
the hook (a neuron, a residual dimension, a head's weight on one key) is a p x p signal,
and its 2-D Fourier spectrum over (a, b) is cut with a mask over folded frequency pairs
(fa, fb), frequencies 0..p // 2 (:func:`lens.fourier.filter_2d`'s convention). What the
components mean, for a chosen set S (each is a *family* of bins and the part of it that
belongs to S):

- ``along_a``: family every bin with fa != 0, chosen fa in S (S removed from each wave over a);
- ``along_b``: family fb != 0, chosen fb in S (the seed's ``remove_freqs_from_hook``);
- ``one_axis``: family (f, 0) and (0, f) for f != 0, chosen f in S: the parts that are a
  function of a alone or of b alone, which need no multiplication;
- ``products``: family every 2-D bin (both frequencies non-zero), chosen (f, f) for f in S:
  the four bins (+-f, +-f), the products of an a-wave and a b-wave of frequency f;
- ``all``: family every bin but the constant, chosen fa in S or fb in S (everything
  involving f).

``remove`` zeroes the chosen bins; ``keep`` zeroes the rest of the family (the constant and
everything outside the family stay). So (post, key frequencies, keep, along b) is the seed's
"only key frequencies", and (post, key, remove / keep, products) are the claims
``relu-products-essential`` / ``relu-products-sufficient``.

The shared run is never changed: every edit is a new array. Downstream of the hook the
forward pass is recomputed, as :func:`lens.run.forward_from` would from the edited
activation, by :class:`lens.lab_engine.Hook`, which shares all that does not depend on the
edit between the chosen set and its controls (the linear part from ``post`` on is a filter
of the p logit channels, as in :func:`lens.ablation.logits_with_post_filtered_2d`). The
embedding is a function of one token, so at ``embed`` the a-side bins (fa, 0) act on the
embedding of a (position 0) and the b-side bins (0, fb) on that of b (position 1); there
are no products to remove there.

Losses are cross-entropies on the checkpoint's split, averaged in float64: float64 logits
(``post`` onwards, and the model itself) in float64 as :mod:`lens.metrics`, the float32
logits of a recomputed forward pass in float32 with ``log1p`` (:func:`lens.lab_engine.losses`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from . import ablation, fourier
from .analysis import key_frequencies
from .lab_engine import Hook, by_split, score
from .lab_engine import filter_ab as filter_ab  # re-exported: the lab's filter
from .run import Run

HOOKS = {
    "embed": "embedding (W_E of a and of b)",
    "scores": "attention scores",
    "pattern": "attention pattern",
    "attn_out": "attn_out",
    "resid_mid": "resid_mid",
    "pre": "MLP pre-activation",
    "post": "MLP post-activation (after the ReLU)",
    "mlp_out": "mlp_out",
    "resid_post": "resid_post",
    "logits": "logits",
}
LINEAR_HOOKS = ("post", "mlp_out", "resid_post", "logits")  # the logits are linear in these
MODES = {"remove": "remove", "keep": "keep only"}
COMPONENTS = {
    "along_a": "along a",
    "along_b": "along b",
    "one_axis": "one-axis parts (f, 0) and (0, f)",
    "products": "2-D products (±f, ±f)",
    "all": "everything involving f",
}
SPLITS = ("train", "test", "all")
N_CONTROLS = 20
STAT_SPLIT = "test"  # the split controls are ranked on: pairs the model never trained on


# ---------------------------------------------------------------- frequency sets


def parse_frequencies(text: str, p: int) -> tuple[int, ...]:
    """A typed frequency set: whole numbers and ranges (``"5, 8 44"``, ``"10-14"``), each in
    1..p // 2, sorted and without repeats. Raises ``ValueError`` with a sentence naming the
    first bad entry (a frequency above p // 2 is named with the one it aliases to)."""
    k = fourier.n_freqs(p)
    out: set[int] = set()
    for token in [t for t in re.split(r"[\s,;]+", text.strip()) if t]:
        m = re.fullmatch(r"(\d{1,6})(?:\s*[-–]\s*(\d{1,6}))?", token)
        if not m:
            raise ValueError(f"“{token}” is not a whole number or a range like 10-14.")
        lo, hi = int(m[1]), int(m[2] or m[1])
        if lo > hi:
            raise ValueError(f"“{token}”: a range goes from low to high.")
        for f in (lo, hi):
            if f == 0:
                raise ValueError("0 is the constant, not a frequency: frequencies start at 1.")
            if p // 2 < f < p:
                raise ValueError(
                    f"{f} is above p // 2 = {k}: on {p} points it is the same as {p - f} (p − {f})."
                )
            if f >= p:
                raise ValueError(f"{f} is out of range: frequencies go from 1 to p // 2 = {k}.")
        out.update(range(lo, hi + 1))
    return tuple(sorted(out))


def format_frequencies(freqs: Sequence[int]) -> str:
    """``(5, 8, 44)`` -> ``"5,8,44"`` (what :func:`parse_frequencies` reads back)."""
    return ",".join(str(int(f)) for f in freqs)


def frequency_presets(run: Run) -> dict[str, tuple[int, ...]]:
    """The one-click sets: the key frequencies, their harmonics 2f and their sum and
    difference frequencies (both folded, key frequencies left out, as the seed does)."""
    keys = key_frequencies(run)
    return {
        "key": tuple(keys),
        "harmonics": tuple(sorted(set(fourier.harmonics(keys, run.p)) - set(keys) - {0})),
        "sum_difference": tuple(
            f for f in fourier.sum_and_difference_frequencies(keys, run.p) if f not in keys
        ),
    }


@dataclass(frozen=True)
class Preset:
    label: str
    hook: str
    freqs: str  # a key of frequency_presets, or "none"
    mode: str
    components: str
    what: str


PRESETS = {
    "regular": Preset("Seed: regular", "post", "none", "remove", "along_b", "the unedited model"),
    "without_sum_difference": Preset(
        "Seed: no sum/diff",
        "post",
        "sum_difference",
        "remove",
        "along_b",
        "the seed's ablation: sum and difference frequencies removed from the neurons along b",
    ),
    "only_key_frequencies": Preset(
        "Seed: only keys",
        "post",
        "key",
        "keep",
        "along_b",
        "the seed's ablation: every non-key frequency removed from the neurons along b",
    ),
    "without_products": Preset(
        "Product test",
        "post",
        "key",
        "remove",
        "products",
        "the claim relu-products-essential: the (±f, ±f) products of the key frequencies removed",
    ),
    "only_products": Preset(
        "Products suffice",
        "post",
        "key",
        "keep",
        "products",
        "the claim relu-products-sufficient: only one-axis parts and the key products kept",
    ),
}


def preset_frequencies(run: Run, name: str) -> tuple[int, ...]:
    which = PRESETS[name].freqs
    return () if which == "none" else frequency_presets(run)[which]


# ---------------------------------------------------------------- masks


def keep_mask(p: int, freqs: Sequence[int], mode: str, components: str) -> np.ndarray:
    """The folded bins ``[K + 1, K + 1]`` (fa, fb) an ablation keeps (see the module doc)."""
    k = fourier.n_freqs(p) + 1
    fa, fb = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    chosen_f = np.zeros(k, dtype=bool)
    chosen_f[[int(fourier.fold(f, p)) for f in freqs]] = True
    chosen_f[0] = False
    in_a, in_b = chosen_f[fa], chosen_f[fb]
    if components == "along_a":
        family, chosen = fa != 0, in_a
    elif components == "along_b":
        family, chosen = fb != 0, in_b
    elif components == "one_axis":
        family = (fa == 0) ^ (fb == 0)
        chosen = family & (in_a | in_b)
    elif components == "products":
        family = (fa != 0) & (fb != 0)
        chosen = ablation.product_masks(p, [f for f in range(1, k) if chosen_f[f]])["products"]
    elif components == "all":
        family, chosen = (fa != 0) | (fb != 0), in_a | in_b
    else:
        raise ValueError(f"components must be one of {list(COMPONENTS)}, not {components!r}")
    if mode == "remove":
        return ~chosen
    if mode == "keep":
        return ~(family & ~chosen)
    raise ValueError(f"mode must be one of {list(MODES)}, not {mode!r}")


# ---------------------------------------------------------------- ablations


def control_sets(
    p: int, freqs: Sequence[int], n: int = N_CONTROLS, seed: int = 0
) -> tuple[tuple[int, ...], ...]:
    """``n`` random sets of ``len(freqs)`` frequencies, seeded by (seed, p, size): drawn from
    the frequencies outside ``freqs`` when there are enough of them, else from all 1..p // 2.
    Empty for an empty set."""
    size = len(freqs)
    if size == 0:
        return ()
    every = np.arange(1, fourier.n_freqs(p) + 1)
    outside = np.setdiff1d(every, list(freqs))
    pool = outside if len(outside) >= size else every
    rng = np.random.default_rng([seed, p, size])
    return tuple(tuple(sorted(int(f) for f in rng.choice(pool, size, replace=False))) for _ in range(n))


@dataclass(frozen=True)
class LabResult:
    """One ablation and its random controls. Losses and accuracies are ``{split: value}``
    (train, test, all); ``wrong`` is ``[a, b]`` bool: the pairs whose argmax is not the answer
    after the ablation (``own_wrong``: before it). Controls are ranked on ``STAT_SPLIT`` loss."""

    hook: str
    freqs: tuple[int, ...]
    mode: str
    components: str
    p: int
    own_loss: dict
    own_accuracy: dict
    loss: dict
    accuracy: dict
    wrong: np.ndarray
    own_wrong: np.ndarray
    train: np.ndarray  # [a, b] bool: the training pairs
    controls: tuple[tuple[int, ...], ...]
    control_loss: dict  # {split: tuple of floats, one per control}
    control_accuracy: dict
    from_outside: bool  # controls drawn from outside the chosen set (else from every frequency)

    @property
    def control_mean(self) -> float:
        return float(np.mean(self.control_loss[STAT_SPLIT])) if self.controls else float("nan")

    @property
    def control_sd(self) -> float:
        return (
            float(np.std(self.control_loss[STAT_SPLIT], ddof=1)) if len(self.controls) > 1 else float("nan")
        )

    @property
    def control_range(self) -> tuple[float, float]:
        v = self.control_loss[STAT_SPLIT]
        return (float(min(v)), float(max(v))) if self.controls else (float("nan"), float("nan"))

    @property
    def rank(self) -> int:
        """1 + the number of controls whose loss is above the chosen set's (1: the worst)."""
        return 1 + sum(v > self.loss[STAT_SPLIT] for v in self.control_loss[STAT_SPLIT])

    @property
    def percentile(self) -> float:
        """The share of controls whose loss is below the chosen set's (nan without controls)."""
        v = self.control_loss[STAT_SPLIT]
        return float(np.mean([c < self.loss[STAT_SPLIT] for c in v])) if v else float("nan")

    @property
    def n_wrong(self) -> int:
        return int(self.wrong.sum())


def ablate(
    run: Run,
    hook: str,
    freqs: Sequence[int],
    mode: str = "remove",
    components: str = "all",
    n_controls: int = N_CONTROLS,
    seed: int = 0,
) -> LabResult:
    """The ablation (hook, freqs, mode, components) and ``n_controls`` random sets of the same
    size through the same edit (:func:`control_sets`). Never changes ``run``."""
    p = run.p
    freqs = tuple(sorted({int(f) for f in freqs}))
    if any(not 1 <= f <= p // 2 for f in freqs):
        raise ValueError(f"frequencies must lie in 1..{p // 2}: {freqs}")
    keep_mask(p, freqs, mode, components)  # checks mode and components before any work
    target = Hook(run, hook)
    labels, train = run.labels, run.train_mask
    own_loss, own_acc, own_wrong = score(run.logits.astype(np.float64), labels, train)
    loss, acc, wrong = by_split(*target.losses(keep_mask(p, freqs, mode, components), labels), train)
    sets = control_sets(p, freqs, n_controls, seed)
    c_loss = {s: [] for s in SPLITS}
    c_acc = {s: [] for s in SPLITS}
    for control in sets:
        cl, ca, _ = by_split(*target.losses(keep_mask(p, control, mode, components), labels), train)
        for s in SPLITS:
            c_loss[s].append(cl[s])
            c_acc[s].append(ca[s])
    outside = bool(sets) and not any(set(c) & set(freqs) for c in sets)
    return LabResult(
        hook=hook,
        freqs=freqs,
        mode=mode,
        components=components,
        p=p,
        own_loss=own_loss,
        own_accuracy=own_acc,
        loss=loss,
        accuracy=acc,
        wrong=wrong.reshape(p, p),
        own_wrong=own_wrong.reshape(p, p),
        train=train.reshape(p, p),
        controls=sets,
        control_loss={s: tuple(v) for s, v in c_loss.items()},
        control_accuracy={s: tuple(v) for s, v in c_acc.items()},
        from_outside=outside,
    )


def ablate_preset(run: Run, name: str, n_controls: int = N_CONTROLS, seed: int = 0) -> LabResult:
    """:func:`ablate` with the preset ``name``'s choices (:data:`PRESETS`)."""
    pr = PRESETS[name]
    return ablate(run, pr.hook, preset_frequencies(run, name), pr.mode, pr.components, n_controls, seed)
