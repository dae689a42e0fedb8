"""Checkpoint file -> every spectrum the pages need: ``lens`` against the seed's way.

    python bench/analysis.py [--checkpoint PATH] [--repeat N]

Both pipelines start from the file and do the same analyses (key frequencies, neuron
frequencies / phases, filter responses, the three ablations, resid_mid c-order spectra,
2-D spectra of resid_mid and resid_post):

- ``lens``: :func:`lens.checkpoint.load`, :func:`lens.run.run_model` (batched, "=" only),
  then :mod:`lens.analysis` in numpy;
- ``seed way``: the notebook's approach: one ``run_with_cache`` over all p * p inputs with
  the full TransformerLens cache at every position, then complex FFTs in torch on float32.

Imports (torch, TransformerLens) are paid before timing starts. Each pipeline runs
``--repeat`` times, alternating; each stage's fastest repeat is reported, on two clocks:
wall time and this process's CPU time (all threads; steadier on a shared machine). Writes ``bench/results/analysis.json``.

Then every claim of :mod:`lens.claims` (``evaluate_all``) on the numpy engine's run, as the
app evaluates them, claim by claim, against a baseline measured in the same run: the numpy
forward pass over all p * p inputs that the claims read (``run_model(ck, engine="numpy")``).
Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lens.paths import default_run  # noqa: E402

REFERENCE = ROOT.parent / "shared" / "reference" / "nanda_end_run_data.pth"
STAGES = (
    "load + run",
    "key frequencies",
    "neuron table",
    "filter responses",
    "ablations",
    "c-order spectra",
    "2-D spectra",
)


class Laps:
    """Wall time and this process's CPU time (all threads) per stage. The CPU time is the
    steadier figure on a shared machine: other people's work stretches wall time only."""

    def __init__(self):
        self.out: dict[str, dict[str, float]] = {}
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __call__(self, name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.out[name] = {"wall": wall - self.wall, "cpu": cpu - self.cpu}
        self.wall, self.cpu = wall, cpu


def lens_pipeline(path: Path) -> dict[str, dict[str, float]]:
    from lens import analysis as A
    from lens.checkpoint import load
    from lens.run import run_model

    lap = Laps()

    run = run_model(load(path))
    lap("load + run")
    kf = A.key_frequencies(run)
    lap("key frequencies")
    table = A.neuron_table(run, kf)
    A.neuron_phases(run, A.neurons_of_frequency(run, kf, kf[0]), kf[0], a=0)
    lap("neuron table")
    A.filter_responses(run, "embed")
    A.filter_responses(run, "ov")
    lap("filter responses")
    A.ablations(run, kf)
    A.losses(run)
    lap("ablations")
    A.c_order_spectrum(run, "resid_mid")
    lap("c-order spectra")
    A.spectrum_2d_ab(run, "resid_mid")
    A.spectrum_2d_ab(run, "resid_post")
    lap("2-D spectra")
    assert len(table) == run.cfg.d_mlp
    return lap.out


def seed_pipeline(path: Path) -> dict[str, dict[str, float]]:
    """The notebook's route, in torch. Weights come through lens.checkpoint (the seed's own
    state-dict shuffling has no TransformerLens 4 equivalent), everything after is torch."""
    import torch

    from lens import task
    from lens.checkpoint import load
    from lens.model import build_bridge

    lap = Laps()

    ck = load(path)
    p = ck.p
    bridge = build_bridge(ck.weights, ck.cfg)
    tokens = torch.as_tensor(task.dataset(p))
    with torch.no_grad():
        logits, cache = bridge.run_with_cache(tokens)  # full cache, every position, one go
    logits = logits[:, -1]
    w = {k: torch.as_tensor(v) for k, v in ck.weights.items()}
    labels = torch.as_tensor(task.labels(p))
    is_train = torch.as_tensor(task.split_mask(p, ck.split))

    def inputs_last(x):  # [p*p, ...] -> [..., a, b]
        x = x.reshape(p, p, *x.shape[1:])
        return x.movedim(0, -1).movedim(0, -1)

    def ce(lg, y):
        return -lg.double().log_softmax(-1).gather(-1, y[:, None]).mean().item()

    lap("load + run")

    # key frequencies: the seed's top-5 of |FFT| over W_E including the "=" column (114 points)
    spec = torch.fft.fft(w["W_E"].T, dim=-1).abs()[..., : (p + 1) // 2 + 1].sum(0)
    key = spec[1:].topk(5).indices.sort().values + 1
    lap("key frequencies")

    pre = inputs_last(cache["blocks.0.mlp.hook_pre"][:, -1])  # [neuron, a, b]
    mags = torch.fft.fft(pre, dim=-1).abs().sum(-2)[..., key]  # [neuron, key]
    neuron_freqs = key[mags.argmax(-1)]
    f0 = int(key[0])
    freq_pre = pre[neuron_freqs == f0]
    fx = torch.fft.fft(freq_pre[..., 0, :])[..., f0]
    torch.angle(fx).sort()
    lap("neuron table")

    resp = w["W_E"][:p] @ w["W_in"]
    torch.fft.fft(resp.T, dim=-1).abs()
    ov = torch.stack([w["W_E"][:p] @ w["W_V"][h] @ w["W_O"][h] @ w["W_in"] for h in range(ck.cfg.n_heads)])
    torch.fft.fft(ov.transpose(-1, -2), dim=-1).abs()
    lap("filter responses")

    post = cache["blocks.0.mlp.hook_post"][:, -1]
    resid_mid = cache["blocks.0.hook_resid_mid"][:, -1]
    kset = set(key.tolist())

    def remove(freqs):
        x = torch.fft.fft(inputs_last(post))
        f = torch.tensor(freqs)
        x[..., f] = 0
        x[..., p - f] = 0
        x = torch.fft.ifft(x).real  # [neuron, a, b] -> [p*p, neuron]
        return x.movedim(-1, 0).movedim(-1, 0).reshape(p * p, -1)

    def losses(h_post):
        lg = (resid_mid + h_post @ w["W_out"] + w["b_out"]) @ w["W_U"]
        return [ce(lg, labels), ce(lg[is_train], labels[is_train]), ce(lg[~is_train], labels[~is_train])]

    sd = set()
    for f1 in kset:
        for f2 in kset:
            for s in (f1 + f2, abs(f1 - f2)):
                s %= p
                sd.add(min(s, p - s))
    losses(post)
    losses(remove(sorted(sd - {0} - kset)))
    losses(remove([f for f in range(1, p // 2 + 1) if f not in kset]))
    ce(logits, labels)
    lap("ablations")

    c_idx = torch.as_tensor(task.c_order(p))
    torch.fft.fft(inputs_last(resid_mid[c_idx]), dim=-1)
    lap("c-order spectra")

    torch.fft.fft2(inputs_last(resid_mid)).abs()
    torch.fft.fft2(inputs_last(cache["blocks.0.hook_resid_post"][:, -1])).abs()
    lap("2-D spectra")
    del cache
    return lap.out


def claims_timing(path: Path, repeat: int) -> dict:
    """Fastest of ``repeat`` evaluations of each claim (wall and CPU seconds), their total,
    and the baseline: the numpy forward pass the claims read, timed the same way."""
    from lens.checkpoint import load
    from lens.claims import CLAIMS, evaluate
    from lens.run import run_model

    ck = load(path)
    per: dict[str, dict[str, float]] = {}
    base = {"wall": float("inf"), "cpu": float("inf")}
    for _ in range(repeat):
        lap = Laps()
        run = run_model(ck, engine="numpy")
        lap("forward")
        base = {c: min(base[c], lap.out["forward"][c]) for c in base}
        for claim_id, claim in CLAIMS.items():
            evaluate(claim, run)
            lap(claim_id)
            prev = per.get(claim_id, {"wall": float("inf"), "cpu": float("inf")})
            per[claim_id] = {c: min(prev[c], lap.out[claim_id][c]) for c in prev}
    total = {c: sum(t[c] for t in per.values()) for c in ("wall", "cpu")}
    return {"p": ck.p, "claims": per, "total": total, "baseline_numpy_forward": base}


def print_claims(timing: dict) -> None:
    base, total = timing["baseline_numpy_forward"], timing["total"]
    print(f"\nclaims at p = {timing['p']} (numpy engine), fastest per claim; ratio = claim / forward pass")
    print(f"{'':30}{'wall s':>9}{'cpu s':>9}{'ratio':>8}")
    print(f"{'baseline: numpy forward':30}{base['wall']:>9.3f}{base['cpu']:>9.3f}{1:>8.2f}")
    for claim_id, t in timing["claims"].items():
        print(f"{claim_id:30}{t['wall']:>9.3f}{t['cpu']:>9.3f}{t['cpu'] / base['cpu']:>8.2f}")
    ratio = total["cpu"] / base["cpu"]
    print(f"{'every claim (evaluate_all)':30}{total['wall']:>9.3f}{total['cpu']:>9.3f}{ratio:>8.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, help="default: the reference if present, else the default run")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "analysis.json")
    args = ap.parse_args(argv)
    path = args.checkpoint or (REFERENCE if REFERENCE.is_file() else default_run())
    if not path.exists():
        print(f"no checkpoint at {path}; pass --checkpoint PATH", file=sys.stderr)
        return 2

    t0 = time.perf_counter()
    import torch
    import transformer_lens  # noqa: F401  - paid once, outside the timings

    import lens.analysis  # noqa: F401

    imports_s = time.perf_counter() - t0

    runs: dict[str, list] = {"lens": [], "seed_way": []}
    for _ in range(args.repeat):
        runs["lens"].append(lens_pipeline(path))
        runs["seed_way"].append(seed_pipeline(path))

    def best(name: str, clock: str) -> dict[str, float]:
        """Stage by stage, the fastest of the repeats on this clock."""
        return {s: min(r[s][clock] for r in runs[name]) for s in STAGES}

    print(f"checkpoint {path}")
    print(
        f"torch threads {torch.get_num_threads()}, repeat {args.repeat}, fastest per stage; "
        "ratio = seed way / lens (above 1: lens is faster)"
    )
    result_clocks = {}
    for clock in ("wall", "cpu"):
        lb, sb = best("lens", clock), best("seed_way", clock)
        tl, ts = sum(lb.values()), sum(sb.values())
        print(f"\n{clock + ' s':20}{'lens':>10}{'seed way':>12}{'ratio':>8}")
        for stage in STAGES:
            print(f"{stage:20}{lb[stage]:>10.3f}{sb[stage]:>12.3f}{sb[stage] / lb[stage]:>8.2f}")
        print(f"{'total':20}{tl:>10.3f}{ts:>12.3f}{ts / tl:>8.2f}")
        result_clocks[clock] = {
            "stages": {s: {"lens_s": lb[s], "seed_way_s": sb[s]} for s in STAGES},
            "total": {"lens_s": tl, "seed_way_s": ts, "ratio_seed_over_lens": ts / tl},
        }

    claims = claims_timing(path, args.repeat)
    print_claims(claims)

    result = {
        "checkpoint": str(path),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            # numpy's BLAS threads: on a busy 2-core machine its threaded small GEMMs can stall
            # (an excluded-loss product took 0.27 s against 1 ms single-threaded).
            "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            "load_average": os.getloadavg(),
        },
        "imports_s": imports_s,
        "repeat": args.repeat,
        **result_clocks,
        "claims": claims,
        "all_runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
