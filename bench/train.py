"""Training speed: ``lens.train``'s step against a reference loop, and against the machine.

    python bench/train.py [--steps 200] [--threads N] [--p 113]

In one process, from the same initial weights and with the same recipe (full batch over the
30 % training split, float64 cross-entropy, AdamW lr 1e-3 wd 1.0 betas (0.9, 0.98), warm-up):

- ``lens.train``: the trainer's step (:mod:`lens.train_step`: only the ``=`` position past
  the attention scores, the backward by hand, one lane per thread, fused AdamW);
- ``autograd``: the trainer's previous step, the same forward (:func:`lens.forward.forward`)
  differentiated by autograd, torch's threads inside each op, foreach AdamW per weight;
- ``reference``: the full forward at every position through the TransformerLens model of
  :mod:`lens.model`, logits read at position 2 (biases the architecture lacks stay zero).

Each loop runs ``--steps`` timed steps after 5 untimed ones, on two clocks: wall time and
this process's CPU time (all threads; steadier on a shared machine, where other people's
work stretches wall time only). The floating-point work per step (matmuls: forward, and
twice that backward) is set against this machine's matrix-multiply throughput, measured here
in the same run, on both clocks, on a [4096 x 4096] product and on the trainer's MLP shape.

When the default run exists, it also times steps from its final weights (losses near 1e-7,
where float32 subnormals appear) with and without ``torch.set_flush_denormal``, and reports
its recorded time to grok. Writes ``bench/results/train.json``. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as lens.train does, before torch loads

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from lens import task  # noqa: E402
from lens import train as T  # noqa: E402
from lens.history import DEFAULT_RUN  # noqa: E402
from lens.train_step import Flat, Step  # noqa: E402


@contextmanager
def torch_threads(n: int):
    """torch's intra-op threads for the loops that use them (lens.train's step runs its own
    lanes of single-threaded ops, so configure() leaves torch at one thread)."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def clocks(fn, n: int) -> dict[str, float]:
    for _ in range(5):
        fn()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        fn()
    return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu, "steps": n}


def matmul_gflops(m: int, k: int, n: int, reps: int = 20) -> dict[str, float]:
    """Best of 5 rounds, per wall second and per CPU second (all threads)."""
    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(3):
        a @ b
    wall = cpu = float("inf")
    for _ in range(5):
        t, c = time.perf_counter(), time.process_time()
        for _ in range(reps):
            a @ b
        wall = min(wall, (time.perf_counter() - t) / reps)
        cpu = min(cpu, (time.process_time() - c) / reps)
    flop = 2 * m * k * n / 1e9
    return {"per_s": flop / wall, "per_cpu_s": flop / cpu}


def reference_flops(cfg, n: int) -> int:
    """Matmul FLOPs of the full forward at all 3 positions (attention over <= 3 keys)."""
    d, h, dh, m, p = cfg.d_model, cfg.n_heads, cfg.d_head, cfg.d_mlp, cfg.p
    per_pos = 3 * d * h * dh + 2 * h * 3 * dh + h * dh * d + 2 * d * m + d * p
    return 2 * n * 3 * per_pos


def data(recipe):
    mask = task.seeded_split(recipe.p, recipe.frac, recipe.seed)
    d = torch.as_tensor(task.dataset(recipe.p)[mask])
    return d, torch.as_tensor(task.labels(recipe.p)[mask])


def trainer_step(recipe, params):
    """lens.train's update: Step (forward and gradient) and the optimiser, as the loop runs them."""
    tokens, y = data(recipe)
    flat = Flat(params)
    stepper = Step(recipe.cfg, tokens[:, 0], tokens[:, 1], y, lanes=T.lanes())
    opt = T.make_optimizer(flat, recipe)
    step = [0]

    def run():
        for g in opt.param_groups:
            g["lr"] = recipe.lr_at(step[0])
        loss, _ = stepper(flat)
        opt.step()
        step[0] += 1
        return loss

    return run


def autograd_step(recipe, params):
    """The trainer's previous update: the same forward through autograd, per-weight AdamW."""
    tokens, y = data(recipe)
    a, b = tokens[:, 0], tokens[:, 1]
    P = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    opt = torch.optim.AdamW(
        [P[k] for k in T.WEIGHT_NAMES],
        lr=recipe.lr_at(0),
        betas=(recipe.beta1, recipe.beta2),
        weight_decay=recipe.weight_decay,
        foreach=True,
    )
    step = [0]

    def run():
        for g in opt.param_groups:
            g["lr"] = recipe.lr_at(step[0])
        loss = F.cross_entropy(T.forward(P, a, b).double(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step[0] += 1
        return float(loss.detach())

    return run


def reference_step(recipe, params):
    from lens.model import build_bridge

    tokens, y = data(recipe)
    bridge = build_bridge(T.to_numpy(params), recipe.cfg)
    bridge.train()
    trained = []
    for name, prm in bridge.named_parameters():
        # q/k/v/o and unembedding biases do not exist in the architecture: keep them at zero.
        keep = name.endswith("weight") or ".mlp." in name
        prm.requires_grad_(keep)
        if keep:
            trained.append(prm)
    opt = torch.optim.AdamW(
        trained,
        lr=recipe.lr_at(0),
        betas=(recipe.beta1, recipe.beta2),
        weight_decay=recipe.weight_decay,
        foreach=True,
    )
    step = [0]

    def run():
        for g in opt.param_groups:
            g["lr"] = recipe.lr_at(step[0])
        loss = F.cross_entropy(bridge(tokens)[:, -1].double(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step[0] += 1
        return float(loss.detach())

    return run


def timed(fn, steps: int, threads: int) -> dict[str, float]:
    with torch_threads(threads):
        return clocks(fn, steps)


def once(fn, threads: int) -> float:
    with torch_threads(threads):
        return fn()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--p", type=int, default=113)
    ap.add_argument("--rounds", type=int, default=2, help="the loops take turns, --steps split over rounds")
    args = ap.parse_args()
    T.configure(args.threads, "cpu")
    threads = T.lanes()
    recipe = T.Recipe(p=args.p)
    cfg = recipe.cfg
    n_train = int(task.seeded_split(recipe.p, recipe.frac, recipe.seed).sum())
    params = T.init_params(cfg, recipe.seed)

    with torch_threads(threads):
        peak = matmul_gflops(4096, 4096, 4096, reps=3)
        mlp = matmul_gflops(n_train, cfg.d_model, cfg.d_mlp)
    fns = {
        "lens.train": (trainer_step(recipe, params), 1),
        "autograd": (autograd_step(recipe, params), threads),
        "reference": (reference_step(recipe, params), threads),
    }
    # Same start, same recipe: the losses agree step by step (to float32 rounding).
    losses = [[once(f, n) for f, n in fns.values()] for _ in range(3)]
    # Interleaved, in rounds: a burst of other people's work then stretches every loop alike.
    results = {name: [] for name in fns}
    for _ in range(args.rounds):
        for name, (fn, n) in fns.items():
            results[name].append(timed(fn, args.steps // args.rounds, n))
    runs = {
        name: {k: sum(r[k] for r in rs) for k in ("wall_s", "cpu_s", "steps")} for name, rs in results.items()
    }
    rows = {}
    for name, r, flops in (
        ("lens.train", runs["lens.train"], 3 * T.forward_flops(cfg, n_train)),
        ("autograd", runs["autograd"], 3 * T.forward_flops(cfg, n_train)),
        ("reference", runs["reference"], 3 * reference_flops(cfg, n_train)),
    ):
        rate, cpu_rate = r["steps"] / r["wall_s"], r["steps"] / r["cpu_s"]
        rows[name] = {
            **r,
            "steps_per_s": rate,
            "steps_per_cpu_s": cpu_rate,
            "gflop_per_step": flops / 1e9,
            "gflop_per_s": flops * rate / 1e9,
            "gflop_per_cpu_s": flops * cpu_rate / 1e9,
            # Against the big product's throughput, on each clock: wall time counts the cores
            # other people took; CPU time does not.
            "utilisation_wall": flops * rate / 1e9 / peak["per_s"],
            "utilisation_cpu": flops * cpu_rate / 1e9 / peak["per_cpu_s"],
        }
    out = {
        "threads": threads,
        "p": recipe.p,
        "n_train": n_train,
        "machine": T.machine(),
        "load_average": os.getloadavg(),
        "matmul_gflop": {"4096^3": peak, f"{n_train}x{cfg.d_model}x{cfg.d_mlp}": mlp},
        "first_losses": losses,
        "loops": rows,
        "speedup_wall": rows["lens.train"]["steps_per_s"] / rows["reference"]["steps_per_s"],
        "speedup_cpu": rows["lens.train"]["steps_per_cpu_s"] / rows["reference"]["steps_per_cpu_s"],
        "speedup_wall_vs_autograd": rows["lens.train"]["steps_per_s"] / rows["autograd"]["steps_per_s"],
        "round_steps_per_s": {name: [r["steps"] / r["wall_s"] for r in rs] for name, rs in results.items()},
    }

    print(
        f"p = {recipe.p}, {n_train} training inputs, {out['threads']} threads, {args.steps} steps per loop, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"matmul throughput: {peak['per_s']:.0f} GFLOP/s wall, {peak['per_cpu_s']:.0f} per CPU-s (4096^3); "
        f"{mlp['per_s']:.0f} / {mlp['per_cpu_s']:.0f} (the MLP's {n_train}x128x512)"
    )
    print(
        f"{'loop':<12}{'steps/s':>9}{'steps/cpu-s':>13}{'GFLOP/step':>12}{'GFLOP/s':>9}"
        f"{'GFLOP/cpu-s':>13}{'of peak (wall)':>16}{'of peak (cpu)':>15}"
    )
    for name, r in rows.items():
        print(
            f"{name:<12}{r['steps_per_s']:>9.1f}{r['steps_per_cpu_s']:>13.1f}{r['gflop_per_step']:>12.2f}"
            f"{r['gflop_per_s']:>9.0f}{r['gflop_per_cpu_s']:>13.0f}{100 * r['utilisation_wall']:>15.0f}%"
            f"{100 * r['utilisation_cpu']:>14.0f}%"
        )
    print(
        f"speed-up over reference: {out['speedup_wall']:.1f}x wall, {out['speedup_cpu']:.1f}x CPU time; "
        f"over autograd: {out['speedup_wall_vs_autograd']:.1f}x wall"
    )
    for name, rates in out["round_steps_per_s"].items():
        print(f"  {name} steps/s per round: " + ", ".join(f"{r:.1f}" for r in rates))

    if (DEFAULT_RUN / "model.safetensors").is_file():
        from lens.checkpoint import load

        ck = load(DEFAULT_RUN)
        late = {k: torch.as_tensor(v) for k, v in ck.weights.items()}
        flush = {}
        for on in (False, True, False, True):
            torch.set_flush_denormal(on)
            r = clocks(trainer_step(recipe, late), max(args.steps // 4, 10))
            flush.setdefault("on" if on else "off", []).append(r["steps"] / r["cpu_s"])
        torch.set_flush_denormal(True)
        out["late_training_steps_per_cpu_s"] = {k: max(v) for k, v in flush.items()}
        print(
            f"late training (default run's final weights): {max(flush['off']):.1f} steps/cpu-s without "
            f"flushing subnormals, {max(flush['on']):.1f} with"
        )
        prov = ck.meta.get("provenance", {})
        grok = prov.get("grok") or {}
        if grok:
            out["default_run"] = {
                "grok_step": grok.get("step"),
                "grok_wall_s": grok.get("wall_s"),
                "grok_cpu_s": grok.get("cpu_s"),
                # At this bench's step rate, not measured: evaluation adds ~4 %.
                "grok_projected_s": grok.get("step", 0) / rows["lens.train"]["steps_per_s"],
                "steps": prov.get("step"),
                "wall_s": prov.get("wall_s"),
                "threads": prov.get("threads"),
                "cpu": prov.get("machine", {}).get("cpu"),
            }
            print(
                f"default run: test accuracy >= 99.9 % at step {grok.get('step')} after {grok.get('wall_s')} s; "
                f"{prov.get('step')} steps in {prov.get('wall_s')} s on {prov.get('threads')} threads; "
                f"at this bench's step rate its grok step takes {out['default_run']['grok_projected_s']:.0f} s"
            )

    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "train.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {results / 'train.json'}")


if __name__ == "__main__":
    main()
