"""A run's training history: curves, per-checkpoint summaries, snapshots, and the default run.

``history.json`` in a run directory (written by :func:`write_history` at the end of
``python -m lens.train``) holds, compactly (floats rounded to 5 significant digits):

- ``curves``: step, train/test loss and accuracy, weight norm and wall time at every
  evaluation step (every 10 steps by default); losses are float64 cross-entropy;
- ``checkpoints``: for each scheduled checkpoint (dense where things change, see
  :class:`lens.train.Schedule`): train/test/all loss and accuracy, total weight norm, the Gini
  coefficient of W_E's Fourier norms, Nanda et al.'s restricted and excluded losses
  (:mod:`lens.progress`), and two [checkpoint, frequency 0..p // 2] tables: W_E's Fourier
  energy and the number of neurons whose dominant frequency it is;
- ``key_freqs`` (of the final model; used for every checkpoint), ``phases``, ``grok``;
- ``snapshots``: the checkpoint steps whose full weights are kept, each a run directory
  ``snapshots/step-NNNNNN`` that :func:`lens.checkpoint.load` reads.

Loading never imports torch; the file is untrusted and every field is checked.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from jaxtyping import Bool, Float, Int

from . import fourier, metrics, progress, task
from .checkpoint import HISTORY_FILE, SNAPSHOT_DIR, STATE_FILE, CheckpointError, atomic_write_bytes
from .config import ModelConfig
from .paths import DEFAULT_RUN  # noqa: F401  (one definition, in lens.paths; re-exported)

FORMAT = "grokking-lens-history/1"
MAX_BYTES = 32 * 1024 * 1024

CURVE_KEYS = ("step", "train_loss", "train_acc", "test_loss", "test_acc", "weight_norm", "wall_s")
SCALAR_KEYS = (
    "step",
    "train_loss",
    "test_loss",
    "all_loss",
    "train_acc",
    "test_acc",
    "all_acc",
    "weight_norm",
    "gini_W_E",
    "restricted_loss",
    "excluded_loss",
)


def snapshot_dir(run_dir: Path | str, step: int) -> Path:
    return Path(run_dir) / SNAPSHOT_DIR / f"step-{step:06d}"


# ---------------------------------------------------------------- summaries


def checkpoint_summary(
    weights: dict[str, np.ndarray], cfg: ModelConfig, train: Bool[np.ndarray, " p_sq"], key_freqs: list[int]
) -> dict:
    """Everything the history keeps about one checkpoint (see the module docstring).

    Neurons are assigned to the frequency 1..p // 2 with the most energy in their
    pre-activation along b (:func:`lens.neurons.dominant_frequencies` over *all* frequencies,
    so early checkpoints are comparable with late ones). The Gini coefficient is over the
    norms of W_E's number rows projected on the p real Fourier basis vectors.
    """
    import torch

    from .forward import forward
    from .neurons import dominant_frequencies

    p = cfg.p
    data, labels = task.dataset(p), task.labels(p)
    P = {k: torch.as_tensor(v) for k, v in weights.items()}
    with torch.no_grad():
        logits_t, pre_t = forward(P, torch.as_tensor(data[:, 0]), torch.as_tensor(data[:, 1]), with_pre=True)
    logits, pre = logits_t.double().numpy(), pre_t.numpy()
    loss = metrics.by_split(metrics.cross_entropy, logits, labels, train)
    acc = metrics.by_split(metrics.accuracy, logits, labels, train)
    w_e = np.asarray(weights["W_E"][:p], dtype=np.float64)
    pre_ab = np.moveaxis(pre.reshape(p, p, -1), -1, 0)  # [neuron, a, b]
    dominant = dominant_frequencies(pre_ab, range(1, fourier.n_freqs(p) + 1))
    return {
        **{f"{s}_loss": loss[s] for s in ("train", "test", "all")},
        **{f"{s}_acc": acc[s] for s in ("train", "test", "all")},
        "weight_norm": math.sqrt(
            sum(float(np.sum(np.asarray(v, np.float64) ** 2)) for v in weights.values())
        ),
        "gini_W_E": fourier.gini(np.linalg.norm(fourier.to_fourier(w_e, axis=0), axis=1)),
        "restricted_loss": progress.restricted_loss(logits, labels, key_freqs) if key_freqs else float("nan"),
        "excluded_loss": progress.excluded_loss(logits, labels, train, key_freqs)
        if key_freqs
        else float("nan"),
        "spectrum_W_E": fourier.frequency_energy(w_e, axis=0),
        "neurons_per_freq": np.bincount(dominant, minlength=fourier.n_freqs(p) + 1),
    }


def phases(curves: pd.DataFrame) -> dict[str, int | None]:
    """Heuristic phase boundaries (steps), read off the curves; Nanda et al. chose theirs by eye.

    - ``memorised``: first step with 100 % training accuracy (end of memorisation);
    - ``cleanup_start``: after that, the first step where log10 of the test loss has fallen
      10 % of the way from its peak to its final value (end of circuit formation);
    - ``grokked``: first step with test accuracy >= 99.9 %;
    - ``cleanup_end``: first step where it has fallen 90 % of that way.
    Any boundary not reached is None. Footgun: the last two depend on how long the run was.
    """
    out: dict[str, int | None] = {
        "memorised": None,
        "cleanup_start": None,
        "grokked": None,
        "cleanup_end": None,
    }
    if curves.empty:
        return out
    step = curves["step"].to_numpy()
    hit = np.flatnonzero(curves["train_acc"].to_numpy() >= 1.0)
    if len(hit):
        out["memorised"] = int(step[hit[0]])
    hit = np.flatnonzero(curves["test_acc"].to_numpy() >= metrics.GROK_ACC)
    if len(hit):
        out["grokked"] = int(step[hit[0]])
    if out["memorised"] is not None:
        after = curves[curves["step"] >= out["memorised"]]
        log_test = np.log10(np.maximum(after["test_loss"].to_numpy(), 1e-30))
        peak_i = int(np.argmax(log_test))
        peak, final = log_test[peak_i], log_test[-1]
        if peak - final > 1.0:  # the test loss fell by more than a decade: it grokked
            steps_after = after["step"].to_numpy()
            for name, frac in (("cleanup_start", 0.1), ("cleanup_end", 0.9)):
                below = np.flatnonzero(log_test[peak_i:] <= peak - frac * (peak - final))
                out[name] = int(steps_after[peak_i + below[0]])
    return out


def write_history(run_dir: Path | str) -> Path:
    """Summarise every checkpoint of a run (its snapshots) and write ``history.json``.

    Reads the training log from ``train_state.safetensors`` and the key frequencies from
    the run's current ``model.safetensors``. A checkpoint whose snapshot was pruned keeps
    the row of the existing ``history.json`` when that was computed with the same key
    frequencies, and is dropped (with a warning) otherwise.
    """
    from safetensors import safe_open

    from .checkpoint import load

    run_dir = Path(run_dir)
    final = load(run_dir)
    p = final.p
    with safe_open(str(run_dir / STATE_FILE), framework="np") as fh:
        meta = fh.metadata() or {}
        log = {k: fh.get_tensor(f"log/{k}") for k in CURVE_KEYS}
        ck_steps = [int(s) for s in fh.get_tensor("checkpoints")]
    key_freqs = fourier.key_frequencies(final.weights["W_E"][:p])
    train = task.split_mask(p, final.split)
    old = _old_rows(run_dir, key_freqs)
    rows = []
    for step in ck_steps:
        snap = snapshot_dir(run_dir, step)
        if (snap / "model.safetensors").is_file():
            ck = load(snap)
            rows.append({"step": step, **checkpoint_summary(ck.weights, ck.cfg, train, key_freqs)})
        elif step in old:
            rows.append(old[step])
        else:
            print(
                f"warning: {snap}: no snapshot and no earlier summary; checkpoint left out", file=sys.stderr
            )
    curves = pd.DataFrame({k: np.asarray(v, dtype=np.float64) for k, v in log.items()})
    curves["step"] = curves["step"].astype(int)
    doc = {
        "format": FORMAT,
        "p": p,
        "model": final.cfg.to_dict(),
        "split": final.split,
        "recipe": json.loads(meta.get("recipe", "{}")),
        "key_freqs": key_freqs,
        "grok": json.loads(meta.get("grok", "{}")),
        "phases": phases(curves),
        "curves": {k: _compact(curves[k].to_numpy(), k) for k in CURVE_KEYS},
        "checkpoints": {
            k: _compact(np.array([r[k] for r in rows], dtype=np.float64), k) for k in SCALAR_KEYS
        },
        "spectrum_W_E": [_compact(np.asarray(r["spectrum_W_E"]), "") for r in rows],
        "neurons_per_freq": [[int(n) for n in r["neurons_per_freq"]] for r in rows],
        "snapshots": [s for s in ck_steps if (snapshot_dir(run_dir, s) / "model.safetensors").is_file()],
    }
    path = run_dir / HISTORY_FILE
    atomic_write_bytes(path, (json.dumps(doc, separators=(",", ":"), allow_nan=True) + "\n").encode())
    return path


def _compact(x: np.ndarray, key: str) -> list:
    """Round to 5 significant digits (steps stay integers) so the JSON stays small."""
    if key == "step":
        return [int(v) for v in x]
    return [float(f"{v:.5g}") if math.isfinite(v) else None for v in np.asarray(x, dtype=np.float64)]


def _old_rows(run_dir: Path, key_freqs: list[int]) -> dict[int, dict]:
    try:
        h = load_history(run_dir)
    except (CheckpointError, FileNotFoundError):
        return {}
    if h.key_freqs != key_freqs:
        return {}
    rows = {}
    for i, rec in enumerate(h.checkpoints.to_dict("records")):
        rows[int(rec["step"])] = {
            **rec,
            "step": int(rec["step"]),
            "spectrum_W_E": h.spectrum[i],
            "neurons_per_freq": h.neurons[i],
        }
    return rows


def prune_snapshots(run_dir: Path | str, keep: int) -> list[int]:
    """Delete all but ``keep`` snapshots (the summaries in ``history.json`` stay).

    Kept: the first and last checkpoints and those nearest the phase boundaries, then
    log-spaced steps (He et al. 2026's lottery is decided in the first hundred steps, the
    clean-up takes thousands), then evenly spaced ones until ``keep`` are chosen. Returns the
    kept steps.
    """
    run_dir = Path(run_dir)
    h = load_history(run_dir)
    steps = list(h.snapshot_steps)
    if len(steps) > keep:
        targets = [steps[0], steps[-1], *[s for s in h.phases.values() if s is not None]]
        if h.phases.get("memorised") is not None and h.phases.get("cleanup_start") is not None:
            targets.append((h.phases["memorised"] + h.phases["cleanup_start"]) // 2)
        targets += list(np.geomspace(max(steps[1], 1), steps[-1], max(keep, 2)))
        targets += list(np.linspace(steps[0], steps[-1], max(keep, 2)))
        chosen: list[int] = []
        for t in targets:
            near = min(steps, key=lambda s: (abs(s - t), s))
            if near not in chosen:
                chosen.append(near)
            if len(chosen) == keep:
                break
        for s in steps:
            if s not in chosen:
                shutil.rmtree(snapshot_dir(run_dir, s))
        doc = json.loads((run_dir / HISTORY_FILE).read_text(encoding="utf-8"))
        doc["snapshots"] = sorted(chosen)
        atomic_write_bytes(run_dir / HISTORY_FILE, (json.dumps(doc, separators=(",", ":")) + "\n").encode())
        steps = sorted(chosen)
    return steps


# ---------------------------------------------------------------- loading


@dataclass
class History:
    """A loaded ``history.json``. Tables are indexed by checkpoint (rows of ``checkpoints``)."""

    run_dir: Path
    p: int
    key_freqs: list[int]
    curves: pd.DataFrame  # one row per evaluation step: CURVE_KEYS
    checkpoints: pd.DataFrame  # one row per checkpoint: SCALAR_KEYS
    spectrum: Float[np.ndarray, "checkpoint freq"]  # W_E's Fourier energy, frequencies 0..p // 2
    neurons: Int[np.ndarray, "checkpoint freq"]  # neurons per dominant frequency (index 0 unused)
    snapshot_steps: list[int]
    phases: dict[str, int | None]
    grok: dict
    meta: dict = field(default_factory=dict, repr=False)

    def snapshot_path(self, step: int) -> Path:
        """The run directory of the kept snapshot nearest to ``step``."""
        if not self.snapshot_steps:
            raise CheckpointError(
                self.run_dir, "snapshots", "expected at least one kept snapshot, found none"
            )
        best = min(self.snapshot_steps, key=lambda s: (abs(s - step), s))
        return snapshot_dir(self.run_dir, best)


def read_json(path: Path, max_bytes: int) -> object:
    """The JSON document in ``path`` (an untrusted file of at most ``max_bytes``); raises
    :class:`CheckpointError` (one line) for a size out of range or text that is not JSON."""
    size = path.stat().st_size
    if not 0 < size <= max_bytes:
        raise CheckpointError(path, "file", f"expected 1..{max_bytes} bytes, found {size}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(path, "json", f"expected valid JSON, found {err}") from None


def load_history(run_dir: Path | str = DEFAULT_RUN) -> History:
    """Read and check ``history.json``; raise :class:`CheckpointError` (one line) if it is bad."""
    run_dir = Path(run_dir)
    path = run_dir / HISTORY_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no training history")
    doc = read_json(path, MAX_BYTES)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(
            path,
            "format",
            f"expected {FORMAT!r}, found {str(doc.get('format') if isinstance(doc, dict) else doc)[:40]!r}",
        )
    p = doc.get("p")
    if not isinstance(p, int) or not task.is_prime(p):
        raise CheckpointError(path, "p", f"expected a prime, found {p!r}")
    curves = _table(path, doc, "curves", CURVE_KEYS)
    checkpoints = _table(path, doc, "checkpoints", SCALAR_KEYS)
    n_ck, n_f = len(checkpoints), p // 2 + 1
    spectrum = _matrix(path, doc, "spectrum_W_E", (n_ck, n_f), np.float64)
    neurons = _matrix(path, doc, "neurons_per_freq", (n_ck, n_f), np.int64)
    key_freqs = doc.get("key_freqs")
    if not isinstance(key_freqs, list) or not all(isinstance(f, int) and 0 < f <= p // 2 for f in key_freqs):
        raise CheckpointError(
            path, "key_freqs", f"expected frequencies in 1..{p // 2}, found {str(key_freqs)[:60]}"
        )
    snaps = doc.get("snapshots", [])
    if not isinstance(snaps, list) or not all(isinstance(s, int) for s in snaps):
        raise CheckpointError(path, "snapshots", "expected a list of steps")
    ph = doc.get("phases", {})
    ph = (
        {k: v for k, v in ph.items() if isinstance(k, str) and (v is None or isinstance(v, int))}
        if isinstance(ph, dict)
        else {}
    )
    grok = doc.get("grok") if isinstance(doc.get("grok"), dict) else {}
    meta = {k: doc[k] for k in ("model", "split", "recipe") if k in doc}
    return History(run_dir, p, key_freqs, curves, checkpoints, spectrum, neurons, snaps, ph, grok, meta)


def _table(path: Path, doc: dict, key: str, columns: tuple[str, ...]) -> pd.DataFrame:
    raw = doc.get(key)
    if not isinstance(raw, dict):
        raise CheckpointError(path, key, "expected an object of columns")
    cols = {}
    for c in columns:
        v = raw.get(c)
        if not isinstance(v, list) or not all(x is None or isinstance(x, (int, float)) for x in v):
            raise CheckpointError(path, f"{key}.{c}", "expected a list of numbers")
        cols[c] = np.array([np.nan if x is None else x for x in v], dtype=np.float64)
    lengths = {len(v) for v in cols.values()}
    if len(lengths) > 1:
        raise CheckpointError(path, key, f"expected columns of one length, found lengths {sorted(lengths)}")
    df = pd.DataFrame(cols)
    df["step"] = df["step"].astype(np.int64)
    return df


def _matrix(path: Path, doc: dict, key: str, shape: tuple[int, int], dtype) -> np.ndarray:
    raw = doc.get(key)
    try:
        arr = np.array([[np.nan if x is None else x for x in row] for row in raw], dtype=dtype)
    except (TypeError, ValueError):
        raise CheckpointError(path, key, f"expected a {shape[0]} x {shape[1]} table of numbers") from None
    if arr.shape != shape and not (shape[0] == 0 and arr.size == 0):
        raise CheckpointError(path, key, f"expected shape {shape}, found {arr.shape}")
    return arr.reshape(shape)
