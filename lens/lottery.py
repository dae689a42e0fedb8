"""How each neuron picked its frequency: read off a run's kept snapshots.

He et al. 2026 describe the frequency an MLP neuron ends on as a *lottery ticket*: decided by
which key frequency is already strongest in that neuron at initialisation, and then amplified
by training. This module measures that on a training run's snapshots
(``snapshots/step-N/``, :mod:`lens.history`).

Per snapshot (:func:`snapshot_neurons`, on lens's numpy engine, no torch):

- each neuron's **dominant frequency**: the frequency 1..p // 2 with the most energy in its
  pre-activation along b, summed over a (:func:`lens.neurons.dominant_frequencies` over all
  frequencies, as the history's ``neurons_per_freq``, so early snapshots compare with late
  ones);
- its energy at each **key frequency** (those of the final model, :class:`History.key_freqs`);
- the **excluded loss per key frequency**: Nanda et al.'s excluded loss
  (:func:`lens.progress.excluded_loss`, training pairs) with only that frequency's sum
  directions removed, and with all of them removed.

Over the snapshots (:func:`lottery`):

- **settled**: a neuron's frequency is settled at the first snapshot from which its dominant
  frequency never changes again (the last snapshot at the latest). With snapshots far apart,
  "settled at step s" means somewhere after the previous kept step and at or before s.
- **ticket rate** at a snapshot: among the neurons whose final dominant frequency is a key
  frequency, the share whose strongest *key-frequency* component at that snapshot is the
  frequency they end with. At the last snapshot it is 1 by construction, so it is measured
  at every snapshot but the last.
- **chance**: the rate expected if the final frequency were independent of the ranking at
  that snapshot. The baseline permutes the final frequencies among the same neurons, which
  keeps how many neurons end on each frequency and how many start with each one on top; its
  mean is exactly ``sum_k n_k m_k / N**2`` (n_k neurons with k on top, m_k ending on k), which
  is ``1 / K`` only when either count is even over the K key frequencies. The 95% range and
  the one-sided p-value (share of permutations at least as high as measured, counting the
  measurement itself) come from ``PERMUTATIONS`` seeded permutations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from jaxtyping import Bool, Float, Int

from . import fourier, progress
from .neurons import neuron_frequency_energy
from .run import Run

PERMUTATIONS = 2000
SEED = 0


@dataclass(frozen=True)
class SnapshotNeurons:
    """What one snapshot says about its neurons (see the module docstring)."""

    dominant: Int[np.ndarray, " neuron"]
    """Each neuron's strongest frequency 1..p // 2 along b."""
    key_top: Int[np.ndarray, " neuron"]
    """Which key frequency (an index into ``key_freqs``) has the most energy along b in each
    neuron: its strongest key-frequency component."""
    excluded: Float[np.ndarray, " key"]
    """The excluded loss (training pairs) with one key frequency's sum directions removed."""
    excluded_all: float
    """The excluded loss with every key frequency's removed (Nanda et al.'s)."""


def snapshot_neurons(run: Run, key_freqs: Sequence[int]) -> SnapshotNeurons:
    """:class:`SnapshotNeurons` of a model run on all p * p pairs, for the run's final
    ``key_freqs``."""
    keys = [int(k) for k in key_freqs]
    energy = neuron_frequency_energy(run.by_ab("pre"))  # [neuron, 0..p // 2]
    dominant = 1 + energy[:, 1 : fourier.n_freqs(run.p) + 1].argmax(axis=1)
    train = run.train_mask
    excluded = [progress.excluded_loss(run.logits, run.labels, train, [k]) for k in keys]
    return SnapshotNeurons(
        dominant=dominant.astype(np.int64),
        key_top=energy[:, keys].argmax(axis=1).astype(np.int64)
        if keys
        else np.zeros(len(dominant), np.int64),
        excluded=np.asarray(excluded, dtype=np.float64),
        excluded_all=progress.excluded_loss(run.logits, run.labels, train, keys) if keys else float("nan"),
    )


def snapshot_neurons_at(path: str, key_freqs: tuple[int, ...]) -> SnapshotNeurons:
    """:func:`snapshot_neurons` of the checkpoint at ``path`` (a kept snapshot), run with
    lens's numpy engine. Raises :class:`lens.checkpoint.CheckpointError` if it is refused."""
    from .checkpoint import load
    from .run import logits_run

    return snapshot_neurons(logits_run(load(path), keep=("pre",)), key_freqs)  # all it reads


# ---------------------------------------------------------------- over the snapshots


@dataclass(frozen=True)
class TicketRate:
    """The lottery measured at one snapshot, beside its chance level."""

    step: int
    rate: float
    """Share of the counted neurons whose strongest key frequency here is their final one."""
    chance: float
    """The permutation baseline's mean (exact): the rate if the two were independent."""
    chance_low: float
    chance_high: float
    """The permutation baseline's 2.5% and 97.5% quantiles."""
    p_value: float
    """One-sided: ``(1 + reached) / (1 + permutations)``."""
    reached: int
    """How many permutations reach a rate at least ``rate``."""
    permutations: int
    uniform: float
    """1 / K, the naive chance level of K equally likely key frequencies."""
    neurons: int
    """How many neurons are counted (those ending on a key frequency)."""

    @property
    def above_chance(self) -> bool:
        """Whether the measured rate lies above 97.5% of the permutations."""
        return bool(self.neurons and self.rate > self.chance_high)


def settle_index(dominant: Int[np.ndarray, "neuron snapshot"]) -> Int[np.ndarray, " neuron"]:
    """Per neuron, the first snapshot index from which its dominant frequency never changes."""
    d = np.asarray(dominant)
    n, s = d.shape
    if s == 0:
        return np.zeros(n, dtype=np.int64)
    differs = d != d[:, -1:]  # [neuron, snapshot]: not yet on the final frequency
    any_differs = differs.any(axis=1)
    last_differs = s - 1 - np.argmax(differs[:, ::-1], axis=1)
    return np.where(any_differs, last_differs + 1, 0).astype(np.int64)


def ticket_rate(
    step: int,
    top: Int[np.ndarray, " neuron"],
    final: Int[np.ndarray, " neuron"],
    n_keys: int,
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
) -> TicketRate:
    """The share of neurons with ``top == final``, against the permutation baseline (see the
    module docstring); ``top`` and ``final`` cover only the neurons counted."""
    top, final = np.asarray(top), np.asarray(final)
    n = len(final)
    if n == 0:
        nan = float("nan")
        return TicketRate(step, nan, nan, nan, nan, nan, 0, permutations, 1 / n_keys if n_keys else nan, 0)
    rate = float((top == final).mean())
    freqs = np.union1d(top, final)
    n_top = np.array([(top == k).sum() for k in freqs])
    n_final = np.array([(final == k).sum() for k in freqs])
    chance = float((n_top * n_final).sum() / n**2)
    rng = np.random.default_rng(seed)
    shuffled = rng.permuted(np.broadcast_to(final, (permutations, n)), axis=1)
    perm = (shuffled == top).mean(axis=1)
    low, high = np.quantile(perm, [0.025, 0.975])
    reached = int((perm >= rate - 1e-12).sum())
    p_value = (1 + reached) / (1 + permutations)
    return TicketRate(
        step, rate, chance, float(low), float(high), p_value, reached, permutations, 1 / n_keys, n
    )


@dataclass(frozen=True)
class Lottery:
    """Every neuron's frequency over a run's snapshots, and what the lottery says about it.

    Arrays are indexed [neuron, snapshot] with snapshots in ``steps`` order; "final" is the
    last snapshot.
    """

    p: int
    key_freqs: tuple[int, ...]
    steps: tuple[int, ...]
    dominant: Int[np.ndarray, "neuron snapshot"]
    """Each neuron's dominant frequency 1..p // 2 at each snapshot."""
    order: Int[np.ndarray, " neuron"]
    """Neurons sorted by final frequency (key frequencies first, in order), then by the
    snapshot where they settle, then by index: the heatmap's rows."""
    on_key: Bool[np.ndarray, " neuron"]
    """Whether the neuron's final dominant frequency is a key frequency."""
    settle: Int[np.ndarray, " neuron"]
    """The snapshot index where each neuron's frequency is settled (:func:`settle_index`)."""
    settle_counts: tuple[int, ...]
    """Per snapshot, how many neurons settle there."""
    settled_share: tuple[float, ...]
    """Per snapshot, the share of all neurons settled by then (cumulative)."""
    median_settle_step: int | None
    """The step by which half the neurons are settled (the lower median of their settle steps)."""
    tickets: tuple[TicketRate, ...]
    """The ticket rate at every snapshot but the last."""
    excluded: Float[np.ndarray, "snapshot key"]
    """The excluded loss without each key frequency, per snapshot."""
    excluded_all: Float[np.ndarray, " snapshot"]
    """The excluded loss without all key frequencies, per snapshot."""

    @property
    def neurons(self) -> int:
        return int(self.dominant.shape[0])

    @property
    def final(self) -> Int[np.ndarray, " neuron"]:
        return self.dominant[:, -1]

    @property
    def at_init(self) -> TicketRate | None:
        """The ticket rate at step 0, if the run kept its initialisation."""
        return self.tickets[0] if self.tickets and self.tickets[0].step == 0 else None

    @property
    def early(self) -> TicketRate | None:
        """The ticket rate at the first kept snapshot after step 0 (None if there is none
        before the last)."""
        return next((t for t in self.tickets if t.step > 0), None)

    @property
    def final_counts(self) -> dict[int, int]:
        """How many neurons end on each key frequency."""
        return {k: int((self.final == k).sum()) for k in self.key_freqs}

    @property
    def never_changed(self) -> int:
        """Neurons whose dominant frequency is the same at every kept snapshot."""
        return int((self.settle == 0).sum())


def lottery(
    steps: Sequence[int],
    snaps: Sequence[SnapshotNeurons],
    key_freqs: Sequence[int],
    p: int,
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
) -> Lottery:
    """:class:`Lottery` of the snapshots ``snaps`` taken at ``steps`` (ascending), for the
    final model's ``key_freqs``."""
    if len(steps) != len(snaps) or not snaps:
        raise ValueError(
            f"expected one snapshot per step (at least one), found {len(snaps)} for {len(steps)}"
        )
    steps = tuple(int(s) for s in steps)
    keys = tuple(int(k) for k in key_freqs)
    dominant = np.stack([s.dominant for s in snaps], axis=1)
    final = dominant[:, -1]
    on_key = np.isin(final, keys)
    settle = settle_index(dominant)
    rank = np.array([keys.index(f) if f in keys else len(keys) + int(f) for f in final])
    order = np.lexsort((np.arange(len(final)), settle, rank))
    counts = np.bincount(settle, minlength=len(steps))
    tickets = []
    for i, (step, snap) in enumerate(zip(steps[:-1], snaps[:-1], strict=True)):
        top = np.asarray(keys)[snap.key_top] if keys else final
        tickets.append(ticket_rate(step, top[on_key], final[on_key], len(keys), permutations, seed + i))
    ordered = np.sort(settle)
    median = steps[int(ordered[(len(ordered) - 1) // 2])] if len(ordered) else None
    return Lottery(
        p=int(p),
        key_freqs=keys,
        steps=steps,
        dominant=dominant,
        order=order.astype(np.int64),
        on_key=on_key,
        settle=settle,
        settle_counts=tuple(int(c) for c in counts),
        settled_share=tuple(float(x) for x in np.cumsum(counts) / max(len(final), 1)),
        median_settle_step=median,
        tickets=tuple(tickets),
        excluded=np.stack([s.excluded for s in snaps]),
        excluded_all=np.array([s.excluded_all for s in snaps], dtype=np.float64),
    )


def lottery_at(paths: tuple[str, ...], steps: tuple[int, ...], key_freqs: tuple[int, ...], p: int) -> Lottery:
    """:func:`lottery` of the kept snapshots at ``paths`` (one per step, ascending), each run
    with :func:`snapshot_neurons_at`: everything from cheap arguments, so the UI caches the
    whole (the permutations cost ~0.1 s, too much to repeat on every rerun of a page)."""
    if len(paths) != len(steps):
        raise ValueError(f"expected one path per step, found {len(paths)} for {len(steps)}")
    return lottery(steps, [snapshot_neurons_at(path, key_freqs) for path in paths], key_freqs, p)


# ---------------------------------------------------------------- recorded in the run directory
# Measuring a snapshot means running it on all p * p pairs: about a second each at p = 113,
# twenty seconds for a run's kept snapshots, too long for a reader's first visit. The trainer
# records the measurements once, when training ends (``lottery.json`` beside ``history.json``),
# and the Grokking page reads them back; a run without the file is measured on the page.

RECORD_FILE = "lottery.json"
RECORD_FORMAT = "grokking-lens-lottery/1"
RECORD_MAX_BYTES = 8 * 2**20


def record(run_dir: str | Path) -> Path:
    """Measure every kept snapshot of the run in ``run_dir`` (:func:`snapshot_neurons_at`) for
    its final key frequencies (``history.json``'s) and write ``lottery.json``; returns its path.
    ``python -m lens.lottery RUN_DIR`` does this for a run trained before the file existed."""
    from .checkpoint import atomic_write_bytes
    from .history import load_history, snapshot_dir

    h = load_history(run_dir)
    keys = tuple(int(k) for k in h.key_freqs)
    steps = [int(s) for s in h.snapshot_steps]
    snaps = [snapshot_neurons_at(str(snapshot_dir(h.run_dir, s)), keys) for s in steps]
    doc = {
        "format": RECORD_FORMAT,
        "p": int(h.p),
        "key_freqs": list(keys),
        "steps": steps,
        "dominant": [s.dominant.tolist() for s in snaps],
        "key_top": [s.key_top.tolist() for s in snaps],
        "excluded": [[_finite(x) for x in s.excluded] for s in snaps],
        "excluded_all": [_finite(s.excluded_all) for s in snaps],
    }
    path = Path(run_dir) / RECORD_FILE
    atomic_write_bytes(path, (json.dumps(doc, separators=(",", ":")) + "\n").encode())
    return path


def recorded(
    run_dir: str | Path, steps: Sequence[int], key_freqs: Sequence[int], p: int
) -> list[SnapshotNeurons] | None:
    """The measurements :func:`record` wrote for these kept ``steps`` and ``key_freqs``, or None
    when the run has none or they were taken for other snapshots or key frequencies (a run
    pruned or retrained since). The file is untrusted: a malformed one raises
    :class:`lens.checkpoint.CheckpointError` with a one-line reason."""
    from .checkpoint import CheckpointError
    from .history import read_json

    path = Path(run_dir) / RECORD_FILE
    if not path.is_file():
        return None
    doc = read_json(path, RECORD_MAX_BYTES)
    if not isinstance(doc, dict) or doc.get("format") != RECORD_FORMAT:
        raise CheckpointError(path, "format", f"expected {RECORD_FORMAT!r}")
    keys = [int(k) for k in key_freqs]
    if doc.get("p") != p or doc.get("key_freqs") != keys or doc.get("steps") != [int(s) for s in steps]:
        return None
    n_snaps, n_keys = len(doc["steps"]), len(keys)
    dominant = _int_table(path, doc, "dominant", n_snaps, 1, p // 2)
    top = _int_table(path, doc, "key_top", n_snaps, 0, max(n_keys - 1, 0))
    if top.shape != dominant.shape:
        raise CheckpointError(path, "key_top", f"expected shape {dominant.shape}, found {top.shape}")
    excluded = _float_table(path, doc.get("excluded"), "excluded", (n_snaps, n_keys))
    excluded_all = _float_table(path, doc.get("excluded_all"), "excluded_all", (n_snaps,))
    return [SnapshotNeurons(dominant[i], top[i], excluded[i], float(excluded_all[i])) for i in range(n_snaps)]


def lottery_of_run(run_dir: str, steps: tuple[int, ...], key_freqs: tuple[int, ...], p: int) -> Lottery:
    """:func:`lottery` of the run's kept snapshots at ``steps``: from its ``lottery.json`` when
    that matches them, else measured snapshot by snapshot (:func:`lottery_at`)."""
    from .history import snapshot_dir

    snaps = recorded(run_dir, steps, key_freqs, p)
    if snaps is None:
        return lottery_at(tuple(str(snapshot_dir(run_dir, s)) for s in steps), steps, key_freqs, p)
    return lottery(steps, snaps, key_freqs, p)


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _int_table(path: Path, doc: dict, key: str, rows: int, lo: int, hi: int) -> np.ndarray:
    from .checkpoint import CheckpointError

    value = doc.get(key)
    ok = (
        isinstance(value, list)
        and len(value) == rows
        and all(isinstance(r, list) and r for r in value)
        and len({len(r) for r in value}) <= 1
        and all(isinstance(x, int) and not isinstance(x, bool) and lo <= x <= hi for r in value for x in r)
    )
    if not ok:
        raise CheckpointError(path, key, f"expected {rows} equal rows of integers in {lo}..{hi}")
    return np.asarray(value, dtype=np.int64).reshape(rows, -1)


def _float_table(path: Path, value: object, key: str, shape: tuple[int, ...]) -> np.ndarray:
    from .checkpoint import CheckpointError

    try:
        arr = np.asarray(
            [[np.nan if x is None else x for x in r] for r in value]
            if len(shape) == 2
            else [np.nan if x is None else x for x in value],  # type: ignore[union-attr]
            dtype=np.float64,
        )
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.shape != shape:
        raise CheckpointError(path, key, f"expected numbers of shape {shape}")
    return arr


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m lens.lottery", description=record.__doc__.split("\n")[0])
    ap.add_argument("run_dir", type=Path, help="a run directory written by python -m lens.train")
    print(record(ap.parse_args(argv).run_dir))


if __name__ == "__main__":
    main()
