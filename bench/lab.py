"""The ablation lab's time: one ablation with its 20 random controls, at every hook, against a
baseline measured in the same run: one numpy forward pass over all p * p inputs (what the
app runs once per checkpoint, ``run_model(ck, engine="numpy")``).

    python bench/lab.py [--checkpoint PATH] [--repeat N] [--controls N]

The checkpoint defaults to the embedded default run (p = 113). For each hook the lab's
opening edit (the key frequencies, remove, everything involving f) and the claims' product
test (post only) are timed through :func:`lens.lab.ablate`, as the page calls it (uncached).
Each timing is the fastest of ``--repeat``, on two clocks: wall time and this process's CPU
time (steadier on a shared machine). The target is 2 s of wall time for an ablation with its
20 controls at p = 113. One BLAS thread, as the app runs (ui/data.py). Nothing asserts;
writes ``bench/results/lab.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as ui/data.py sets it for the app

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_S = 2.0


def _best(fn, repeat: int) -> dict[str, float]:
    wall, cpu = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return {"wall_s": min(wall), "cpu_s": min(cpu)}


def main() -> None:
    from lens import lab
    from lens.analysis import key_frequencies
    from lens.checkpoint import load
    from lens.paths import default_run
    from lens.run import run_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--controls", type=int, default=lab.N_CONTROLS)
    args = ap.parse_args()

    ck = load(args.checkpoint or default_run())
    run = run_model(ck, engine="numpy", all_positions=False)
    keys = key_frequencies(run)
    baseline = _best(lambda: run_model(ck, engine="numpy", all_positions=False), args.repeat)

    cases = [(hook, "all") for hook in lab.HOOKS] + [("post", "products")]
    rows = []
    for hook, comp in cases:
        t = _best(
            lambda h=hook, c=comp: lab.ablate(run, h, keys, "remove", c, n_controls=args.controls),
            args.repeat,
        )
        rows.append({"hook": hook, "components": comp, **t, "vs_forward": t["wall_s"] / baseline["wall_s"]})

    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"p = {ck.p}, key frequencies {keys}, {args.controls} controls, best of {args.repeat}, "
        f"load average {load1:.1f}, {os.cpu_count()} cores"
    )
    print(
        f"baseline: one numpy forward pass {baseline['wall_s'] * 1000:.0f} ms wall, {baseline['cpu_s'] * 1000:.0f} ms CPU"
    )
    print(
        f"{'hook':<12}{'components':<12}{'wall s':>8}{'CPU s':>8}{'x forward':>11}  target {TARGET_S:.0f} s"
    )
    for r in rows:
        met = "met" if r["wall_s"] <= TARGET_S else "MISSED"
        print(
            f"{r['hook']:<12}{r['components']:<12}{r['wall_s']:>8.2f}{r['cpu_s']:>8.2f}{r['vs_forward']:>11.1f}  {met}"
        )
    out = ROOT / "bench" / "results" / "lab.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "p": ck.p,
                "checkpoint": str(args.checkpoint or "embedded default run"),
                "key_frequencies": keys,
                "controls": args.controls,
                "repeat": args.repeat,
                "load_average": load1,
                "cpus": os.cpu_count(),
                "machine": platform.processor() or platform.machine(),
                "target_s": TARGET_S,
                "baseline_forward": baseline,
                "ablations": rows,
            },
            indent=2,
        )
    )
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
