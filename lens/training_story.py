"""What a training history says, as numbers a page can quote (pure numpy/pandas, no torch).

:mod:`lens.history` records the curves and per-checkpoint summaries of a run; this module
reads them back as *facts* (:class:`GrokkingFacts`, from :func:`facts`): phase spans, the
values of each progress measure at the phase boundaries, peaks, and shares of W_E's energy
and of the neurons that sit on the final model's key frequencies. The Grokking page quotes
these (``lens.story.grokking`` re-exports :func:`facts`); :func:`weights_summary` runs one
kept snapshot. Nothing here assumes p = 113, a frequency or a run length.

Footguns: phase boundaries are evaluation steps (:func:`lens.history.phases`), but the
per-checkpoint summaries exist only at the scheduled checkpoints, so a value "at" a boundary
is read at the first checkpoint at or after it, and the facts carry that checkpoint's own
step.
Any boundary not reached is None, and so is every fact that depends on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from jaxtyping import Float, Int

from .history import History

# (name, boundary that starts it, boundary that ends it); None starts at step 0.
PHASES = (
    ("memorisation", None, "memorised"),
    ("circuit formation", "memorised", "cleanup_start"),
    ("clean-up", "cleanup_start", "cleanup_end"),
)


@dataclass(frozen=True)
class Span:
    name: str
    start: int
    end: int


def phase_spans(phases: dict[str, int | None], last_step: int) -> list[Span]:
    """The phases whose start is known, in order. A phase whose end was not reached runs to
    ``last_step``; a phase whose start was not reached (and every later one) is left out."""
    spans = []
    for name, begin, end in PHASES:
        start = 0 if begin is None else phases.get(begin)
        if start is None:
            break
        stop = phases.get(end)
        spans.append(Span(name, int(start), int(stop if stop is not None else last_step)))
        if stop is None:
            break
    return spans


def phase_of(step: int, spans: list[Span]) -> str:
    """The name of the phase holding ``step`` ("after <last>" past the last known span);
    step 0, before any update, is "initialisation" rather than the first phase."""
    if step == 0:
        return "initialisation"
    for s in spans:
        if s.start <= step < s.end or (s is spans[-1] and step == s.end):
            return s.name
    if spans and step > spans[-1].end:
        return f"after {spans[-1].name}"
    return "unlabelled"


def nearest(table: pd.DataFrame, step: int) -> pd.Series:
    """The row of ``table`` (a ``step`` column) nearest to ``step``; the earlier on a tie."""
    steps = table["step"].to_numpy()
    return table.iloc[int(np.argmin(np.abs(steps - step) * 2 + (steps > step)))]


def at_or_after(table: pd.DataFrame, step: int) -> pd.Series:
    """The first row of ``table`` at or after ``step`` (the last row if there is none)."""
    later = np.flatnonzero(table["step"].to_numpy() >= step)
    return table.iloc[int(later[0]) if len(later) else len(table) - 1]


def key_share(rows: np.ndarray, key_freqs: list[int], skip_constant: bool) -> np.ndarray:
    """Per row, the fraction of the total held by the key-frequency columns (index = freq).

    ``skip_constant`` leaves column 0 (frequency 0, or the unused neuron column) out of the
    total."""
    rows = np.asarray(rows, dtype=np.float64)
    body = rows[:, 1:] if skip_constant else rows
    total = body.sum(axis=1)
    key = rows[:, list(key_freqs)].sum(axis=1) if key_freqs else np.zeros(len(rows))
    return np.divide(key, total, out=np.zeros_like(key), where=total > 0)


def fourier_norms(spectrum: np.ndarray, p: int) -> np.ndarray:
    """W_E's norm per frequency from :func:`lens.fourier.frequency_energy` (which sums to
    p * ||W_E||^2): sqrt(energy / p), so the squares sum to ||W_E||^2."""
    return np.sqrt(np.maximum(np.asarray(spectrum, dtype=np.float64), 0.0) / p)


def _f(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


# The story's checkpoints (see GrokkingFacts.milestones): the boundaries that have per-checkpoint
# values, in order.
BOUNDARIES = ("memorised", "cleanup_start")


@dataclass(frozen=True)
class GrokkingFacts:
    """Every number the Grokking page quotes, read from one run's training history.

    Steps are training steps. "Curves" are the evaluations every few steps (train and test
    split of the run's own seeded split); "checkpoints" are the scheduled, denser-early
    summaries. A value read "at" a phase boundary from the checkpoints is read at the first
    checkpoint at or after it (its step is ``ck_<boundary>``); from the curves, at the
    evaluation nearest to it. Anything whose inputs are missing (a boundary not reached, no
    evaluations, no checkpoints, a non-finite value) is None.
    """

    p: int
    """The modulus of the run."""
    key_freqs: list[int]
    """The final model's key frequencies (1..p // 2), used for every checkpoint."""
    chance_loss: float
    """ln p: the cross-entropy of guessing uniformly."""
    memorised: int | None
    """First evaluation step with 100% training accuracy (end of memorisation)."""
    cleanup_start: int | None
    """Step where the test loss, on a log scale, has come 10% of the way from its peak down to
    its final value (start of clean-up)."""
    grokked: int | None
    """First evaluation step with test accuracy >= :data:`lens.metrics.GROK_ACC`."""
    cleanup_end: int | None
    """Step where the test loss has come 90% of the way (end of clean-up)."""
    grok_wall_s: float | None
    """Wall-clock seconds of training when the run grokked, as the trainer recorded them."""
    n_checkpoints: int
    """Rows of the per-checkpoint table."""
    n_snapshots: int
    """Checkpoint steps whose full weights the run kept."""
    train_frac: float | None = None
    """Fraction of the p * p pairs in the training split (the run's recorded split or recipe)."""
    weight_decay: float | None = None
    """AdamW's weight decay of the recipe."""
    spans: tuple[Span, ...] = ()
    """The phases whose start was reached, in order (:func:`phase_spans`, to ``last_step``)."""
    neuron_key_share_chance: float | None = None
    """len(key_freqs) / (p // 2): the key frequencies' share under an even spread over the
    frequencies 1..p // 2, of neurons or of W_E's energy alike."""

    # -- the curves (empty when the history holds no evaluations)
    last_step: int | None = None
    """The last evaluation step (the run's length)."""
    final_train_loss: float | None = None
    """Train loss at ``last_step``."""
    final_test_loss: float | None = None
    """Test loss at ``last_step``."""
    final_train_acc: float | None = None
    """Train accuracy at ``last_step``."""
    final_test_acc: float | None = None
    """Test accuracy at ``last_step``."""
    best_test_acc: float | None = None
    """Highest test accuracy of the curves."""
    best_test_acc_step: int | None = None
    """Its (first) step."""
    test_acc_at_memorised: float | None = None
    """Test accuracy at the evaluation nearest ``memorised``."""
    test_loss_at_memorised: float | None = None
    """Test loss there."""
    memorised_test_loss_above_chance: bool | None = None
    """Verdict: ``test_loss_at_memorised`` > ``chance_loss`` (worse than guessing)."""
    test_loss_peak: float | None = None
    """Highest test loss from ``memorised`` on."""
    test_loss_peak_step: int | None = None
    """Its step."""
    test_loss_at_cleanup_start: float | None = None
    """Test loss at the evaluation nearest ``cleanup_start``."""
    test_acc_at_cleanup_start: float | None = None
    """Test accuracy there."""
    weight_norm_at_cleanup_start: float | None = None
    """Total weight norm there."""
    test_loss_at_cleanup_end: float | None = None
    """Test loss at the evaluation nearest ``cleanup_end``."""
    test_acc_at_cleanup_end: float | None = None
    """Test accuracy there."""
    weight_norm_at_cleanup_end: float | None = None
    """Total weight norm there."""
    weight_norm_start: float | None = None
    """Total weight norm (root of the sum of all squared weights) at the first evaluation."""
    weight_norm_peak: float | None = None
    """Its maximum."""
    weight_norm_peak_step: int | None = None
    """The step of the maximum."""
    weight_norm_final: float | None = None
    """At ``last_step``."""
    weight_norm_drop: float | None = None
    """1 - weight_norm_final / weight_norm_peak: how far below its peak the norm ends."""

    # -- the checkpoints (empty when the history holds none)
    first_checkpoint: int | None = None
    """Step of the first checkpoint."""
    last_checkpoint: int | None = None
    """Step of the last checkpoint."""
    gini_start: float | None = None
    """Gini coefficient of W_E's Fourier norms at the first checkpoint (0: all frequencies
    equal; near 1: a few hold everything)."""
    gini_final: float | None = None
    """At the last checkpoint."""
    restricted_final: float | None = None
    """Nanda et al.'s restricted loss (all p * p pairs, key-frequency logit parts only) at the
    last checkpoint."""
    excluded_final: float | None = None
    """Excluded loss (training pairs, key-frequency logit parts removed) at the last checkpoint."""
    energy_key_share_start: float | None = None
    """Share of W_E's energy (frequency 0 left out) on the key frequencies, first checkpoint."""
    energy_key_share_final: float | None = None
    """The same at the last checkpoint."""
    neuron_key_share_start: float | None = None
    """Share of the MLP neurons whose dominant frequency is a key frequency, first checkpoint."""
    neuron_key_share_final: float | None = None
    """The same at the last checkpoint."""
    d_mlp: int | None = None
    """MLP neurons (the count of the last checkpoint's neuron table)."""
    ck_memorised: int | None = None
    """First checkpoint step at or after ``memorised``; the ``*_at_memorised`` checkpoint
    values below are read there."""
    restricted_at_memorised: float | None = None
    """Restricted loss at ``ck_memorised``."""
    excluded_at_memorised: float | None = None
    """Excluded loss at ``ck_memorised``."""
    train_loss_at_ck_memorised: float | None = None
    """Train loss at ``ck_memorised``."""
    test_loss_at_ck_memorised: float | None = None
    """Test loss at ``ck_memorised``."""
    gini_at_memorised: float | None = None
    """Gini coefficient at ``ck_memorised``."""
    energy_key_share_at_memorised: float | None = None
    """Key frequencies' share of W_E's energy at ``ck_memorised``."""
    neuron_key_share_at_memorised: float | None = None
    """Key frequencies' share of the neurons at ``ck_memorised``."""
    circuit_weak_at_memorised: bool | None = None
    """Verdict: the restricted loss at ``ck_memorised`` is above half of ``chance_loss`` (the
    wave circuit alone is of little use yet)."""
    ck_cleanup_start: int | None = None
    """First checkpoint step at or after ``cleanup_start``."""
    restricted_at_cleanup_start: float | None = None
    """Restricted loss at ``ck_cleanup_start``."""
    excluded_at_cleanup_start: float | None = None
    """Excluded loss at ``ck_cleanup_start``."""
    train_loss_at_ck_cleanup_start: float | None = None
    """Train loss at ``ck_cleanup_start``."""
    test_loss_at_ck_cleanup_start: float | None = None
    """Test loss at ``ck_cleanup_start``."""
    gini_at_cleanup_start: float | None = None
    """Gini coefficient at ``ck_cleanup_start``."""
    energy_key_share_at_cleanup_start: float | None = None
    """Key frequencies' share of W_E's energy at ``ck_cleanup_start``."""
    neuron_key_share_at_cleanup_start: float | None = None
    """Key frequencies' share of the neurons at ``ck_cleanup_start``."""
    circuit_ahead_at_cleanup_start: bool | None = None
    """Verdict: the restricted loss at ``ck_cleanup_start`` is below a tenth of the test loss
    there (the circuit is in place before the test loss shows it)."""
    excluded_peak: float | None = None
    """Highest excluded loss from ``ck_memorised`` on."""
    excluded_peak_step: int | None = None
    """Its checkpoint step."""
    excluded_peak_above_chance: bool | None = None
    """Verdict: ``excluded_peak`` > ``chance_loss``."""
    train_loss_max_until_excluded_peak: float | None = None
    """Highest train loss of the curves from ``ck_memorised`` to ``excluded_peak_step``."""

    # -- per checkpoint, for the scope (index = row of the checkpoint table)
    checkpoint_steps: Int[np.ndarray, " checkpoint"] = field(default_factory=lambda: np.zeros(0, np.int64))
    """Step of each checkpoint."""
    checkpoint_test_acc: Float[np.ndarray, " checkpoint"] = field(default_factory=lambda: np.zeros(0))
    """Test accuracy at each checkpoint."""
    energy_key_shares: Float[np.ndarray, " checkpoint"] = field(default_factory=lambda: np.zeros(0))
    """Key frequencies' share of W_E's energy (frequency 0 left out) at each checkpoint."""
    neuron_key_shares: Float[np.ndarray, " checkpoint"] = field(default_factory=lambda: np.zeros(0))
    """Key frequencies' share of the neurons at each checkpoint."""
    W_E_norms: Float[np.ndarray, "checkpoint freq"] = field(default_factory=lambda: np.zeros((0, 0)))
    """W_E's norm per frequency 0..p // 2 at each checkpoint (:func:`fourier_norms`; the squares
    of a row sum to ||W_E||^2), float32."""

    def milestones(self, measure: str) -> list[tuple[int, float | None]]:
        """``(checkpoint step, value)`` of ``measure`` ("gini", "energy_key_share" or
        "neuron_key_share") at the first checkpoint, at ``ck_memorised`` and
        ``ck_cleanup_start`` where reached, and at the last checkpoint; empty without
        checkpoints."""
        if self.first_checkpoint is None:
            return []
        out = [(self.first_checkpoint, getattr(self, f"{measure}_start"))]
        for name in BOUNDARIES:
            step = getattr(self, f"ck_{name}")
            if step is not None:
                out.append((step, getattr(self, f"{measure}_at_{name}")))
        out.append((self.last_checkpoint, getattr(self, f"{measure}_final")))
        return out


def _number(d: object, key: str) -> float | None:
    v = d.get(key) if isinstance(d, dict) else None
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def facts(h: History) -> GrokkingFacts:
    """Every number the Grokking page quotes, from the history alone (see :class:`GrokkingFacts`)."""
    c, ck = h.curves, h.checkpoints
    ph = {k: h.phases.get(k) for k in ("memorised", "cleanup_start", "grokked", "cleanup_end")}
    recipe, split = h.meta.get("recipe"), h.meta.get("split")
    frac = _number(split, "frac")
    n_freqs = h.p // 2
    out: dict = {
        "p": h.p,
        "key_freqs": list(h.key_freqs),
        "chance_loss": math.log(h.p),
        **ph,
        "grok_wall_s": _f(h.grok["wall_s"]) if isinstance(h.grok.get("wall_s"), (int, float)) else None,
        "n_checkpoints": len(ck),
        "n_snapshots": len(h.snapshot_steps),
        "train_frac": frac if frac is not None else _number(recipe, "frac"),
        "weight_decay": _number(recipe, "weight_decay"),
        "neuron_key_share_chance": len(h.key_freqs) / n_freqs if n_freqs else None,
    }
    if c.empty:
        return GrokkingFacts(**out)
    last = c.iloc[-1]
    out.update(
        last_step=int(last["step"]),
        final_train_loss=_f(last["train_loss"]),
        final_test_loss=_f(last["test_loss"]),
        final_train_acc=_f(last["train_acc"]),
        final_test_acc=_f(last["test_acc"]),
        spans=tuple(phase_spans(h.phases, int(last["step"]))),
    )
    best = int(np.nanargmax(c["test_acc"].to_numpy()))
    out.update(best_test_acc=_f(c["test_acc"].iloc[best]), best_test_acc_step=int(c["step"].iloc[best]))

    m = ph["memorised"]
    if m is not None:
        at_m = nearest(c, m)
        after = c[c["step"] >= m]
        peak = int(np.nanargmax(after["test_loss"].to_numpy()))
        loss_m = _f(at_m["test_loss"])
        out.update(
            test_acc_at_memorised=_f(at_m["test_acc"]),
            test_loss_at_memorised=loss_m,
            memorised_test_loss_above_chance=None if loss_m is None else loss_m > out["chance_loss"],
            test_loss_peak=_f(after["test_loss"].iloc[peak]),
            test_loss_peak_step=int(after["step"].iloc[peak]),
        )
    for name in ("cleanup_start", "cleanup_end"):
        if ph[name] is not None:
            row = nearest(c, ph[name])
            out[f"test_loss_at_{name}"] = _f(row["test_loss"])
            out[f"test_acc_at_{name}"] = _f(row["test_acc"])
            out[f"weight_norm_at_{name}"] = _f(row["weight_norm"])

    w = c["weight_norm"].to_numpy()
    wi = int(np.nanargmax(w))
    out.update(
        weight_norm_start=_f(w[0]),
        weight_norm_peak=_f(w[wi]),
        weight_norm_peak_step=int(c["step"].iloc[wi]),
        weight_norm_final=_f(w[-1]),
    )
    if out["weight_norm_peak"] and out["weight_norm_final"] is not None:
        out["weight_norm_drop"] = 1 - out["weight_norm_final"] / out["weight_norm_peak"]

    if ck.empty:
        return GrokkingFacts(**out)
    first_ck, last_ck = ck.iloc[0], ck.iloc[-1]
    out.update(
        first_checkpoint=int(first_ck["step"]),
        last_checkpoint=int(last_ck["step"]),
        gini_start=_f(first_ck["gini_W_E"]),
        gini_final=_f(last_ck["gini_W_E"]),
        restricted_final=_f(last_ck["restricted_loss"]),
        excluded_final=_f(last_ck["excluded_loss"]),
    )
    shares_e = key_share(h.spectrum, h.key_freqs, skip_constant=True)
    shares_n = key_share(h.neurons, h.key_freqs, skip_constant=True)
    out.update(
        energy_key_share_start=_f(shares_e[0]),
        energy_key_share_final=_f(shares_e[-1]),
        neuron_key_share_start=_f(shares_n[0]),
        neuron_key_share_final=_f(shares_n[-1]),
        d_mlp=int(h.neurons[-1, 1:].sum()),
        checkpoint_steps=ck["step"].to_numpy().astype(np.int64),
        checkpoint_test_acc=ck["test_acc"].to_numpy().astype(np.float64),
        energy_key_shares=shares_e,
        neuron_key_shares=shares_n,
        W_E_norms=fourier_norms(h.spectrum, h.p).astype(np.float32),
    )
    for name in BOUNDARIES:
        if ph[name] is None:
            continue
        row = at_or_after(ck, ph[name])
        i = int(np.flatnonzero(ck["step"].to_numpy() == row["step"])[0])
        out.update(
            {
                f"ck_{name}": int(row["step"]),
                f"restricted_at_{name}": _f(row["restricted_loss"]),
                f"excluded_at_{name}": _f(row["excluded_loss"]),
                f"train_loss_at_ck_{name}": _f(row["train_loss"]),
                f"test_loss_at_ck_{name}": _f(row["test_loss"]),
                f"gini_at_{name}": _f(row["gini_W_E"]),
                f"energy_key_share_at_{name}": _f(shares_e[i]),
                f"neuron_key_share_at_{name}": _f(shares_n[i]),
            }
        )
    if out.get("ck_memorised") is not None:
        r_m = out["restricted_at_memorised"]
        out["circuit_weak_at_memorised"] = r_m is not None and r_m > out["chance_loss"] / 2
    if out.get("ck_cleanup_start") is not None:
        r_cs, t_cs = out["restricted_at_cleanup_start"], out["test_loss_at_ck_cleanup_start"]
        out["circuit_ahead_at_cleanup_start"] = r_cs is not None and t_cs is not None and r_cs < t_cs / 10
    if m is not None:
        later = ck[ck["step"] >= out["ck_memorised"]]
        ex = later["excluded_loss"].to_numpy()
        if np.isfinite(ex).any():
            j = int(np.nanargmax(ex))
            peak_step = int(later["step"].iloc[j])
            during = c[(c["step"] >= out["ck_memorised"]) & (c["step"] <= peak_step)]
            out.update(
                excluded_peak=_f(ex[j]),
                excluded_peak_step=peak_step,
                excluded_peak_above_chance=_f(ex[j]) is not None and _f(ex[j]) > out["chance_loss"],
                train_loss_max_until_excluded_peak=_f(during["train_loss"].max()),
            )
    return GrokkingFacts(**out)


def default_snapshot(snapshot_steps: list[int], spans: tuple[Span, ...] | list[Span]) -> int:
    """The kept snapshot a reader sees first: the one nearest the middle of circuit formation
    (the earlier on a tie), or the middle one where that phase was not reached."""
    snaps = list(snapshot_steps)
    if not snaps:
        raise ValueError("no snapshots")
    target = (spans[1].start + spans[1].end) // 2 if len(spans) >= 2 else snaps[len(snaps) // 2]
    return min(snaps, key=lambda s: (abs(s - target), s))


# ---------------------------------------------------------------- one set of weights


@dataclass(frozen=True)
class WeightsSummary:
    """Losses, accuracies and W_E's spectrum of one set of weights (a snapshot or a final
    model), run on all p * p pairs."""

    p: int
    """The modulus."""
    step: int | None
    """The training step recorded in the checkpoint's provenance, if any."""
    loss: dict[str, float]
    """Cross-entropy (float64) on the "all", "train" and "test" splits (the checkpoint's own)."""
    acc: dict[str, float]
    """Accuracy on the same splits."""
    energy: Float[np.ndarray, " freq"]
    """W_E's Fourier energy per frequency 0..p // 2 (:func:`lens.fourier.frequency_energy`
    over the token axis of ``W_E[:p]``)."""
    norms: Float[np.ndarray, " freq"]
    """W_E's norm per frequency (:func:`fourier_norms` of ``energy``)."""

    def key_share(self, key_freqs: list[int]) -> float:
        """The share of ``energy`` (frequency 0 left out) on ``key_freqs``."""
        return float(key_share(self.energy[None], key_freqs, skip_constant=True)[0])


def weights_summary(path: str) -> WeightsSummary:
    """:class:`WeightsSummary` of the checkpoint at ``path``, run with lens's numpy engine
    (no torch). Raises :class:`lens.checkpoint.CheckpointError` for a refused checkpoint."""
    from . import analysis, fourier
    from .checkpoint import load
    from .run import logits_run

    ck = load(path)
    run = logits_run(ck)  # the logits alone: a snapshot's activations are never read here
    p = ck.p
    energy = fourier.frequency_energy(np.asarray(ck.weights["W_E"][:p], dtype=np.float64), axis=0)
    prov = ck.meta.get("provenance", {}) if isinstance(ck.meta, dict) else {}
    step = prov.get("step") if isinstance(prov, dict) else None
    return WeightsSummary(
        p=p,
        step=step if isinstance(step, int) else None,
        loss=analysis.losses(run),
        acc=analysis.accuracies(run),
        energy=energy,
        norms=fourier_norms(energy, p),
    )
