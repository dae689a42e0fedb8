"""Neurons: every number the page quotes, and the arrays its scopes draw.

:func:`facts` is the page's typed result for the whole model (the frequency groups;
``python -m lens facts neurons``). The rest of the page follows one group, picked by a
widget: :func:`group` computes that group's facts (:class:`GroupFacts`) together with the
arrays its scopes draw, once, because the filtered residual streams behind both cost most
of the time (about 0.5 s per group on the published model, against 0.26 s for the whole
neuron table and about 0.9 s for a group in all). The UI caches it per path string and
frequency (``ui.data.shared_of_run``). The running sums that also depend on a residual
direction (a server slider) are :meth:`NeuronGroup.weighted`'s, computed a slice at a time
over the group's own arrays (:mod:`lens.stacks`), so a reader sweeping the direction adds
nothing to what the process holds.

Conventions (see :mod:`lens.run`): every figure is over all p * p inputs (train and test
together), taken at the "=" position; ``[..., a, b]`` puts the token axes last. A neuron's
frequency is its dominant key frequency (:func:`lens.analysis.neuron_frequencies`); its phase
is read along b at a = 0 (:func:`lens.analysis.neuron_phases`). Token-dependence shares are
dicts keyed by :data:`lens.token_dependence.PARTS` (``"a"``, ``"b"``, ``"a + b"``, ``"a - b"``,
``"other"``), shares 0..1 of the energy with the constant over (a, b) left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np
from jaxtyping import Float, Int

from .. import analysis
from ..run import Run
from ..stacks import CHUNK, BlockStack, RunningStack
from ..token_dependence import (
    PARTS,
    shares_of_power,
    token_dependence,
    token_dependence_each,
)

WEAK_SHARE = 0.5  # a neuron with less of its energy than this at its own frequency is "weak"
PULLED_NAMES = ("resid_post", "resid_mid")  # the residual streams filtered down to one frequency


@dataclass(frozen=True)
class NeuronsFacts:
    """What the Neurons page states about the model as a whole: its neurons by frequency."""

    p: int
    """The modulus (number tokens 0..p-1)."""
    n_neurons: int
    """Neurons in the MLP (d_mlp)."""
    key_frequencies: list[int]
    """The key frequencies, read from the number-token embedding ``W_E[:p]``
    (:func:`lens.analysis.key_frequencies`), ascending."""
    neurons_per_frequency: Int[np.ndarray, " key"]
    """Per key frequency (in ``key_frequencies`` order), the neurons whose dominant key
    frequency it is; they add up to ``n_neurons``. A key frequency may have none."""
    mean_share: Float[np.ndarray, " key"]
    """Per key frequency, the mean over its neurons of the share (0..1) of a neuron's
    pre-activation energy along b (summed over a, constant left out) that sits at that
    frequency (the ``share`` column of :func:`lens.analysis.neuron_table`); 0 for a group
    without neurons."""
    weak_per_frequency: Int[np.ndarray, " key"]
    """Per key frequency, its neurons whose share is below :data:`WEAK_SHARE`."""
    mean_active: Float[np.ndarray, " key"]
    """Per key frequency, the mean over its neurons of the fraction (0..1) of the p * p inputs
    on which a neuron fires (post-ReLU activation > 0); 0 for a group without neurons."""
    group_frequencies: list[int]
    """The key frequencies that have at least one neuron, ascending: the groups the page can
    follow."""
    largest_group: int
    """The key frequency with the most neurons (the lowest one on a tie)."""
    smallest_group: int
    """The key frequency with the fewest neurons (the lowest one on a tie; possibly none)."""
    mean_share_all: float
    """The share (see ``mean_share``) averaged over every neuron."""
    weak: int
    """Neurons, over all groups, whose share is below :data:`WEAK_SHARE`."""
    dead: int
    """Neurons that never fire (post-ReLU activation 0) on any of the p * p inputs."""

    def neurons_of(self, freq: int) -> int:
        """How many neurons have the key frequency ``freq`` (0 for any other frequency)."""
        kf = list(self.key_frequencies)
        return int(self.neurons_per_frequency[kf.index(freq)]) if freq in kf else 0


@dataclass(frozen=True)
class GroupFacts:
    """What the Neurons page states about the group of one key frequency. The neuron axis is
    always the group's neurons in phase order (ascending ``phases``)."""

    freq: int
    """The key frequency f of the group."""
    neurons: Int[np.ndarray, " neuron"]
    """The neuron indices (0..d_mlp-1) of the group, in phase order."""
    phases: Float[np.ndarray, " neuron"]
    """Each neuron's phase in (-pi, pi] at frequency f, read along b at a = 0
    (:func:`lens.analysis.neuron_phases`), ascending."""
    amplitudes: Float[np.ndarray, " neuron"]
    """Each neuron's amplitude 2 |X_f| / p along b at a = 0."""
    max_gap_deg: float
    """The widest gap, in degrees, between neighbouring phases around the circle (0 for an
    empty group); evenly spaced phases give 360 / n."""
    a_b_phase_gap_deg: float
    """The median over the group of |phase along a (at b = 0) - phase along b (at a = 0)|,
    wrapped to [0, 180] degrees: 0 when the neuron is the same wave in a and in b."""
    d_model: int
    """Residual directions (columns of W_out)."""
    strongest_direction: int
    """The residual direction d whose column W_out[group, d] has the largest norm: where the
    direction slider opens."""
    ideal_pre_max: float
    """For n ideal neurons of frequency f (:func:`lens.analysis.mock_neurons`, n the group's
    size), the largest |value| of their plain sum over (a, b): rounding noise, since their
    evenly spaced phases cancel."""
    ideal_post: dict[str, float]
    """Token dependence (see the module doc) of the ideal neurons' sum after the ReLU."""
    ideal_open_a: int
    """The a at which the last ideal neuron, after the ReLU, has the most energy over b: where
    its running-sum chart opens."""
    weighted_pre: dict[str, Float[np.ndarray, " d_model"]]
    """Per residual direction d, the token dependence of sum_k W_out[k, d] * pre_k over the
    group's neurons k (no ReLU)."""
    weighted_post: dict[str, Float[np.ndarray, " d_model"]]
    """Per residual direction d, the token dependence of sum_k W_out[k, d] * relu(pre_k)."""
    weighted_open_a: Int[np.ndarray, " d_model"]
    """Per residual direction d, the a at which the last neuron's weighted, clipped wave
    W_out[k, d] * relu(pre_k) has the most energy over b (0 where its weight is 0)."""
    equal: dict[str, float]
    """Token dependence of the group's clipped neurons summed with equal weights."""
    residual: dict[str, float]
    """Token dependence of what the group adds to the residual stream,
    relu(pre[group]) @ W_out[group] + b_out (:func:`lens.analysis.neurons_to_residual`),
    energies summed over the d_model directions."""
    residual_strongest: int
    """The residual direction where that output varies most over (a, b)."""
    mid_share: float
    """Share (0..1) of ``resid_mid``'s energy over (a, b) (its constant over (a, b) left out,
    summed over directions) kept when only frequency f and the constant are kept along a and
    b (:func:`lens.analysis.pull_out_frequency`)."""
    post_share: float
    """The same for ``resid_post``."""
    mid_parts: dict[str, float]
    """Token dependence of ``resid_mid`` with only f (and the constant) kept."""
    post_parts: dict[str, float]
    """Token dependence of ``resid_post`` with only f (and the constant) kept."""
    pulled_strongest: int
    """The residual direction where the filtered ``resid_post`` varies most over (a, b)."""

    @property
    def n(self) -> int:
        """The group's size."""
        return len(self.neurons)


@dataclass(frozen=True)
class RunningSums:
    """Running sums over a group's neuron axis (:func:`lens.analysis.running_sums`), each
    ``[neuron, a, b]``: slice k sums the neurons 0..k, the last slice is the total. Each is a
    :class:`lens.stacks.RunningStack` over the group's own read-only waves: a slice is
    computed when it is asked for (float32 values, float64 sums), so a chart that shows one
    slice holds none of the ``[neuron, a, b]`` stacks (``np.asarray`` gives the whole one)."""

    with_relu: RunningStack
    """The running sum of the (weighted) clipped waves."""
    one_neuron: RunningStack
    """Each (weighted) clipped wave alone, times ``scale``."""
    without_relu: RunningStack
    """The running sum of the (weighted) waves without the ReLU."""
    scale: float
    """What ``one_neuron`` is multiplied by so that its peak matches the full clipped sum's
    (one neuron is about 1/n of it); 1 when every clipped wave is 0."""


@dataclass(frozen=True)
class NeuronGroup:
    """One group's facts and the read-only arrays its scopes draw (float32)."""

    facts: GroupFacts
    pre: Float[np.ndarray, "neuron a b"]
    """The group's pre-activations over (a, b), in phase order."""
    ideal: Float[np.ndarray, "neuron a b"]
    """n ideal neurons of frequency f (:func:`lens.analysis.mock_neurons`)."""
    ideal_sums: RunningSums
    """Their running sums, equal weights."""
    w_out: Float[np.ndarray, "neuron d_model"]
    """The group's rows of W_out (float64), in phase order: the weights of :meth:`weighted`."""
    residual: BlockStack
    """What the group adds to the residual stream (see ``GroupFacts.residual``),
    ``[d_model, a, b]``, computed a block of directions at a time from ``pre``."""
    pulled: dict[str, BlockStack]
    """``resid_post`` and ``resid_mid`` with only f (and the constant) kept along a and b,
    ``[d_model, a, b]``, filtered a block of directions at a time from the run's own arrays."""

    _weighted: dict = field(default_factory=dict, compare=False, repr=False)

    def weighted(self, direction: int) -> RunningSums:
        """The running sums of the group's neurons, each weighted by its output weight
        W_out[neuron, direction] (:func:`weighted_running`), over the group's own ``pre``:
        nothing ``[neuron, a, b]`` is allocated until a slice is asked for. Kept per
        direction with the group (a few KB each), so what a chart memoises about one (its
        value range) outlives the script run."""
        d = int(direction)
        if not 0 <= d < self.w_out.shape[1]:
            raise IndexError(f"direction {d} out of range for d_model {self.w_out.shape[1]}")
        if d not in self._weighted:  # two sessions at once: both compute, one is kept
            self._weighted.setdefault(d, running(self.pre, self.w_out[:, d]))
        return self._weighted[d]


# ---------------------------------------------------------------- the model as a whole


def facts(run: Run) -> NeuronsFacts:
    """The frequency groups of ``run``'s neurons, as the page's first section states them."""
    kf = [int(f) for f in analysis.key_frequencies(run)]
    table = analysis.neuron_table(run, kf)
    freq = table["frequency"].to_numpy()
    share = table["share"].to_numpy()
    active = table["active_fraction"].to_numpy()
    members = [freq == f for f in kf]
    counts = np.array([int(m.sum()) for m in members], dtype=int)
    mean = lambda x, m: float(x[m].mean()) if m.any() else 0.0  # noqa: E731
    return NeuronsFacts(
        p=run.p,
        n_neurons=len(table),
        key_frequencies=kf,
        neurons_per_frequency=counts,
        mean_share=np.array([mean(share, m) for m in members]),
        weak_per_frequency=np.array([int((share[m] < WEAK_SHARE).sum()) for m in members], dtype=int),
        mean_active=np.array([mean(active, m) for m in members]),
        group_frequencies=[f for f, n in zip(kf, counts, strict=True) if n > 0],
        largest_group=kf[int(np.argmax(counts))] if kf else 0,
        smallest_group=kf[int(np.argmin(counts))] if kf else 0,
        mean_share_all=float(share.mean()) if len(share) else 0.0,
        weak=int((share < WEAK_SHARE).sum()),
        dead=int((~table["ever_active"].to_numpy()).sum()),
    )


# ---------------------------------------------------------------- one group


def _wrap(angle: np.ndarray) -> np.ndarray:
    """Angles wrapped to [-pi, pi)."""
    return (np.asarray(angle) + np.pi) % (2 * np.pi) - np.pi


def _swapped(run: Run, neurons: np.ndarray) -> Run:
    """A run holding only ``neurons``' pre-activations (as neurons 0..n-1), with a and b
    swapped: its wave along b at a = 0 is the original's wave along a at b = 0. Lets
    :func:`lens.analysis.neuron_phases` (which reads along b) read the phase along a."""
    p = run.p
    rows = np.arange(p * p)
    swap = (rows % p) * p + rows // p  # row a * p + b of the swapped run is row b * p + a here
    return replace(run, acts={"pre": run.acts["pre"][:, neurons][swap]})


def _spread(x: Float[np.ndarray, "a b"]) -> float:
    return float(((x - x.mean()) ** 2).sum())


def _strongest(x: Float[np.ndarray, "d a b"]) -> int:
    """The direction along the first axis where ``x`` varies most over (a, b)."""
    spread = [_spread(d) for d in x]  # one direction at a time: no copy of x
    return int(np.argmax(spread)) if spread else 0


def _frozen(x: np.ndarray) -> np.ndarray:
    x.setflags(write=False)
    return x


def running(
    pre: Float[np.ndarray, "neuron a b"],
    weights: Float[np.ndarray, " neuron"] | None,
    exact: Float[np.ndarray, "neuron a b"] | None = None,
) -> RunningSums:
    """The running sums the page draws for ``pre`` (neurons in phase order, read-only: the
    stacks hold it) weighted by ``weights`` (equal when None). ``scale`` is computed in
    float64 from ``exact`` when given (the float64 waves ``pre`` was rounded from), else from
    ``pre``."""
    w = np.ones(len(pre)) if weights is None else np.asarray(weights, dtype=np.float64)
    src = pre if exact is None else exact
    peak = float(np.abs(RunningStack(src, w, relu=True, cumulative=True).total()).max()) if len(pre) else 0.0
    if len(pre):  # |w_k relu(x_k)| peaks where x_k does: relu(x) >= 0
        one = float((np.abs(w) * np.maximum(src.reshape(len(src), -1).max(axis=1), 0.0)).max())
    else:
        one = 0.0
    scale = float(peak / one) if one > 0 else 1.0
    return RunningSums(
        with_relu=RunningStack(pre, w, relu=True, cumulative=True),
        one_neuron=RunningStack(pre, w, relu=True, cumulative=False, scale=scale),
        without_relu=RunningStack(pre, w, relu=False, cumulative=True),
        scale=scale,
    )


def _open_a(last_wave: Float[np.ndarray, "... a b"]) -> np.ndarray:
    """Where a clipped wave has the most energy over b: at many a, one clipped neuron is 0 for
    every b, and its curve would be a flat line at the opening position."""
    return np.argmax((last_wave**2).sum(axis=-1), axis=-1)


def _phase_facts(run: Run, idx: np.ndarray, freq: int) -> dict:
    """The group's neurons in phase order, their phases and the phase statistics."""
    phases, amps = analysis.neuron_phases(run, idx, freq, a=0)  # along b, at a = 0
    order = analysis.phase_order(phases)
    idx, phases, amps = idx[order], phases[order], amps[order]
    # The phase along a (at b = 0), to compare with the phase along b.
    phase_a, _ = analysis.neuron_phases(_swapped(run, idx), np.arange(len(idx)), freq, a=0)
    if len(idx):
        gaps = np.diff(np.r_[phases, phases[0] + 2 * np.pi])  # phases are sorted
        max_gap = float(np.degrees(gaps.max()))
        ab_gap = float(np.degrees(np.median(np.abs(_wrap(phase_a - phases)))))
    else:
        max_gap = ab_gap = 0.0
    return {
        "neurons": idx,
        "phases": phases,
        "amplitudes": amps,
        "max_gap_deg": max_gap,
        "a_b_phase_gap_deg": ab_gap,
    }


def _weighted_facts(pre: np.ndarray, w_out: np.ndarray) -> dict:
    """Token dependence of the group's sums weighted by each column of ``w_out`` ([neuron,
    d_model]), with and without the ReLU; the same totals as :func:`running`'s last slices.
    Float64, a block of (a, b) columns at a time (the whole group in float64 would be two
    more copies of ``pre``, twice its size each)."""
    n, p = pre.shape[0], pre.shape[-1]
    flat = pre.reshape(n, p * p)
    totals = {"pre": np.empty((w_out.shape[1], p * p)), "post": np.empty((w_out.shape[1], p * p))}
    equal = np.empty(p * p)
    step = 4096
    for lo in range(0, p * p, step):
        cols = flat[:, lo : lo + step].astype(np.float64)
        totals["pre"][:, lo : lo + step] = w_out.T @ cols
        np.maximum(cols, 0.0, out=cols)
        totals["post"][:, lo : lo + step] = w_out.T @ cols
        equal[lo : lo + step] = cols.sum(axis=0)
    out = {}
    for name, total in totals.items():
        each = token_dependence_each(total.reshape(-1, p, p))  # one pass over every direction
        out[name] = {k: _frozen(np.ascontiguousarray(each[k], dtype=np.float64)) for k in PARTS}
    if n:
        last = np.maximum(flat[-1].astype(np.float64), 0.0).reshape(p, p)
        open_a = np.array([int(_open_a(w * last)) for w in w_out[-1]], dtype=int)
    else:
        open_a = np.zeros(w_out.shape[1], dtype=int)
    return {
        "pre": out["pre"],
        "post": out["post"],
        "open_a": open_a,
        "equal": token_dependence(equal.reshape(p, p)),
    }


def _pulled(run: Run, freq: int) -> tuple[dict, dict, int]:
    """``resid_post`` and ``resid_mid`` with only ``freq`` kept, as stacks computed a
    direction at a time (:class:`lens.stacks.BlockStack` over the run's own read-only
    activations: two filtered FFTs per slice), their facts, computed here in float64 a block
    of residual directions at a time, and the direction where the filtered ``resid_post``
    varies most."""
    var = lambda y: float(((y - y.mean(axis=(-2, -1), keepdims=True)) ** 2).sum())  # noqa: E731
    lines, out, spread = {}, {}, []
    for name in PULLED_NAMES:
        x_all = run.by_ab(name)  # [d_model, a, b], a view of the run

        def kept_rows(lo: int, hi: int, x_all=x_all) -> np.ndarray:
            return analysis.pull_out_frequency(x_all[lo:hi].astype(np.float64), freq)

        power = np.zeros(x_all.shape[-2:])
        v_kept = v_x = 0.0
        for lo in range(0, len(x_all), 16):
            kept = kept_rows(lo, lo + 16)
            power += analysis.pulled_power(x_all[lo : lo + 16], freq)
            v_kept, v_x = v_kept + var(kept), v_x + var(x_all[lo : lo + 16].astype(np.float64))
            if name == "resid_post":  # as the chart draws it: float32
                spread += [_spread(d) for d in kept.astype(np.float32)]
        lines[name] = BlockStack(x_all.shape, kept_rows)
        out[name] = (shares_of_power(power), v_kept / v_x if v_x > 0 else 0.0)
    return lines, out, int(np.argmax(spread)) if spread else 0


def _residual_stack(pre: np.ndarray, w_out: np.ndarray, b_out: np.ndarray) -> BlockStack:
    """``relu(pre) @ w_out + b_out`` viewed ``[d_model, a, b]``, a block of directions at a
    time from the group's own read-only ``pre`` ([neuron, a, b], whose ReLU is the run's
    ``post``), summed in float64 (:func:`lens.analysis.neurons_to_residual`'s numbers)."""
    n, p = pre.shape[0], pre.shape[-1]
    flat = pre.reshape(n, p * p)

    def rows(lo: int, hi: int) -> np.ndarray:
        acc = np.zeros((hi - lo, p * p))
        for c in range(0, n, CHUNK):
            acc += w_out[c : c + CHUNK, lo:hi].T @ np.maximum(flat[c : c + CHUNK], 0, dtype=np.float64)
        return (acc + b_out[lo:hi, None]).reshape(hi - lo, p, p)

    return BlockStack((w_out.shape[1], p, p), rows)


def group(run: Run, freq: int) -> NeuronGroup:
    """The group of key frequency ``freq`` (its neurons, possibly none): its facts and the
    arrays the page's scopes draw. About 0.4 s for the largest group of the published model."""
    kf = analysis.key_frequencies(run)
    idx = analysis.neurons_of_frequency(run, kf, freq)
    ph = _phase_facts(run, idx, freq)
    idx = ph["neurons"]
    pre = _frozen(run.by_ab("pre")[idx].astype(np.float32))  # [neuron, a, b]
    w_out = run.weights["W_out"][idx].astype(np.float64)  # [neuron, d_model]
    d_model = int(run.weights["W_out"].shape[1])

    # Each float64 intermediate is dropped once its facts are read: they are the transient
    # part of a group's memory (the float32 arrays kept are the held part).
    ideal = analysis.mock_neurons(run.p, freq, len(idx))  # float64: the facts below
    ideal32 = _frozen(ideal.astype(np.float32))  # what the scopes draw, and sum
    ideal_sums = running(ideal32, None, exact=ideal)
    ideal_pre_max = float(np.abs(ideal.sum(axis=0)).max())  # the plain sum's last slice
    ideal_post = token_dependence(np.maximum(ideal, 0.0).sum(axis=0))
    ideal_open_a = int(_open_a(np.maximum(ideal[-1], 0.0))) if len(idx) else 0
    del ideal
    weighted = _weighted_facts(pre, w_out)

    out = analysis.neurons_to_residual(run, idx)  # [d_model, a, b], float64: the facts
    residual, residual_strongest = token_dependence(out), _strongest(out)
    del out
    lines, pulled, pulled_strongest = _pulled(run, freq)
    gf = GroupFacts(
        freq=int(freq),
        neurons=_frozen(np.asarray(idx, dtype=int)),
        phases=_frozen(ph["phases"]),
        amplitudes=_frozen(ph["amplitudes"]),
        max_gap_deg=ph["max_gap_deg"],
        a_b_phase_gap_deg=ph["a_b_phase_gap_deg"],
        d_model=d_model,
        strongest_direction=int(np.argmax(np.linalg.norm(w_out, axis=0))) if len(idx) else 0,
        ideal_pre_max=ideal_pre_max,
        ideal_post=ideal_post,
        ideal_open_a=ideal_open_a,
        weighted_pre=weighted["pre"],
        weighted_post=weighted["post"],
        weighted_open_a=_frozen(weighted["open_a"]),
        equal=weighted["equal"],
        residual=residual,
        residual_strongest=residual_strongest,
        mid_share=pulled["resid_mid"][1],
        post_share=pulled["resid_post"][1],
        mid_parts=pulled["resid_mid"][0],
        post_parts=pulled["resid_post"][0],
        pulled_strongest=pulled_strongest,
    )
    return NeuronGroup(
        facts=gf,
        pre=pre,
        ideal=ideal32,
        ideal_sums=ideal_sums,
        w_out=_frozen(w_out),
        residual=_residual_stack(pre, _frozen(w_out), np.asarray(run.weights["b_out"], dtype=np.float64)),
        pulled=lines,
    )


def group_facts(run: Run, freq: int) -> GroupFacts:
    """The facts alone of :func:`group` (for a terminal or a test)."""
    return group(run, freq).facts


def weighted_running(run: Run, neurons: Sequence[int], direction: int) -> RunningSums:
    """The running sums of ``neurons`` (in the order given: phase order, ``GroupFacts.neurons``)
    each weighted by its output weight W_out[neuron, direction] (the page uses
    :meth:`NeuronGroup.weighted`, which sums the group's own ``pre``)."""
    idx = np.asarray(neurons, dtype=int)
    pre = _frozen(run.by_ab("pre")[idx].astype(np.float32))  # as the group's ``pre``
    return running(pre, run.weights["W_out"][idx, direction])
