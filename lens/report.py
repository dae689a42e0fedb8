"""The model's headline figures as one plain dict (the CLI's ``--json`` and the app's summary)."""

from __future__ import annotations

import math

from .ablation import ablations, accuracies, losses
from .analysis import embedding_key_energy, key_frequencies, neuron_frequencies
from .neurons import neurons_per_frequency
from .run import Run

KEYS = (
    "p",
    "key_frequencies",
    "loss",
    "accuracy",
    "key_frequency_energy",
    "neurons_per_frequency",
    "ablations",
)


def report(run: Run) -> dict:
    """JSON-ready summary of a run. Keys (in this order):

    - ``p`` (int), ``key_frequencies`` (ascending ints, :func:`lens.analysis.key_frequencies`);
    - ``loss`` and ``accuracy``: ``{"all", "train", "test"}`` floats (float64 losses, the
      checkpoint's own split);
    - ``key_frequency_energy``: fraction of ``W_E[:p]``'s squared norm in the key
      frequencies; the denominator includes the constant (all of the squared norm);
    - ``neurons_per_frequency``: ``{str(freq): count}`` by dominant key frequency (string
      keys so the dict survives a JSON round trip unchanged);
    - ``ablations``: ``{regular, without_sum_difference, only_key_frequencies}`` each
      ``{"all", "train", "test"}`` losses (:func:`lens.ablation.ablations`).
    """
    kf = key_frequencies(run)
    counts = neurons_per_frequency(neuron_frequencies(run, kf))
    return {
        "p": int(run.p),
        "key_frequencies": [int(f) for f in kf],
        "loss": losses(run),
        "accuracy": accuracies(run),
        "key_frequency_energy": embedding_key_energy(run, kf),
        "neurons_per_frequency": {str(f): int(n) for f, n in counts.items()},
        "ablations": ablations(run, kf),
    }


def to_json_safe(x):
    """NaN/Inf (e.g. the loss of an empty test split) -> None, so ``json.dumps`` emits
    strict JSON rather than the non-standard ``NaN`` token."""
    if isinstance(x, dict):
        return {k: to_json_safe(v) for k, v in x.items()}
    if isinstance(x, list):
        return [to_json_safe(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def format_report(rep: dict, source: str = "") -> str:
    """A short human-readable table of :func:`report`'s dict."""
    split = ("all", "train", "test")
    lines = []
    if source:
        lines.append(f"checkpoint  {source}")
    lines += [
        f"p           {rep['p']}",
        f"key freqs   {', '.join(map(str, rep['key_frequencies']))}"
        f"   ({rep['key_frequency_energy']:.1%} of W_E's squared norm)",
        "neurons     " + ", ".join(f"{f}: {n}" for f, n in rep["neurons_per_frequency"].items()),
        "",
        f"{'':26}" + "".join(f"{s:>12}" for s in split),
        f"{'accuracy':26}" + "".join(f"{rep['accuracy'][s]:>12.2%}" for s in split),
        f"{'loss':26}" + "".join(f"{rep['loss'][s]:>12.3e}" for s in split),
    ]
    names = {
        "regular": "ablation: none",
        "without_sum_difference": "ablation: no sum/diff",
        "only_key_frequencies": "ablation: only key freqs",
    }
    for key, label in names.items():
        lines.append(f"{label:26}" + "".join(f"{rep['ablations'][key][s]:>12.3e}" for s in split))
    return "\n".join(lines)
