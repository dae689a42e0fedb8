"""What a training history says, as numbers a page can quote (pure numpy/pandas, no torch).

:mod:`lens.history` records the curves and per-checkpoint summaries of a run; this module
reads them back as *facts*: phase spans, the values of each progress measure at the phase
boundaries, peaks, and shares of W_E's energy and of the neurons that sit on the final
model's key frequencies. The Grokking page quotes these; nothing here assumes p = 113, a
frequency or a run length.

Footguns: phase boundaries are evaluation steps (:func:`lens.history.phases`), but the
per-checkpoint summaries exist only at the scheduled checkpoints, so a value "at" a boundary
is read at the first checkpoint at or after it, and the facts carry that checkpoint's own
step.
Any boundary not reached is None, and so is every fact that depends on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
    """The name of the phase holding ``step`` ("after <last>" past the last known span)."""
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


def facts(h: History) -> dict:
    """Every number the Grokking page quotes, from the history alone.

    Keys whose inputs are missing (a boundary not reached, an empty table) are None.
    """
    c, ck = h.curves, h.checkpoints
    ph = {k: h.phases.get(k) for k in ("memorised", "cleanup_start", "grokked", "cleanup_end")}
    out: dict = {
        "p": h.p,
        "key_freqs": list(h.key_freqs),
        "chance_loss": math.log(h.p),
        **ph,
        "grok_wall_s": _f(h.grok["wall_s"]) if isinstance(h.grok.get("wall_s"), (int, float)) else None,
        "n_checkpoints": len(ck),
        "n_snapshots": len(h.snapshot_steps),
    }
    if c.empty:
        return out
    last = c.iloc[-1]
    out.update(
        last_step=int(last["step"]),
        final_train_loss=_f(last["train_loss"]),
        final_test_loss=_f(last["test_loss"]),
        final_train_acc=_f(last["train_acc"]),
        final_test_acc=_f(last["test_acc"]),
    )
    best = int(np.nanargmax(c["test_acc"].to_numpy()))
    out.update(best_test_acc=_f(c["test_acc"].iloc[best]), best_test_acc_step=int(c["step"].iloc[best]))

    m = ph["memorised"]
    if m is not None:
        at_m = nearest(c, m)
        after = c[c["step"] >= m]
        peak = int(np.nanargmax(after["test_loss"].to_numpy()))
        out.update(
            test_acc_at_memorised=_f(at_m["test_acc"]),
            test_loss_at_memorised=_f(at_m["test_loss"]),
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

    if ck.empty:
        return out
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
    n_freqs = h.p // 2
    out.update(
        energy_key_share_start=_f(shares_e[0]),
        energy_key_share_final=_f(shares_e[-1]),
        neuron_key_share_start=_f(shares_n[0]),
        neuron_key_share_final=_f(shares_n[-1]),
        neuron_key_share_chance=len(h.key_freqs) / n_freqs if n_freqs else None,
        d_mlp=int(h.neurons[-1, 1:].sum()),
    )
    for name in ("memorised", "cleanup_start"):
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
                train_loss_max_until_excluded_peak=_f(during["train_loss"].max()),
            )
    return out
