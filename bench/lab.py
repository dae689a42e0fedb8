"""The ablation lab's time: one ablation with its 20 random controls at every hook, against a
baseline measured in the same run: one numpy forward pass over all p * p inputs (what the
app runs once per checkpoint, ``run_model(ck, engine="numpy")``).

    python bench/lab.py [--checkpoint PATH] [--repeat N] [--controls N] [--before COMMIT]

The checkpoint defaults to the embedded default run (p = 113). For each hook the lab's
opening edit (the key frequencies, remove, everything involving f) and the claims' product
test (post only) go through :func:`lens.lab.ablate` as the page calls it (uncached),
``--repeat`` times, in rounds (every hook once per round, so a change in the machine's load
reaches every hook alike). Each row gives the wall time's median and 95th percentile and
the median CPU time of this process (steadier on a shared machine); the pooled row pools
every ablation. The target: 2 s of wall time for an ablation with its 20 controls at
p = 113, judged on each hook's p95.

``--before COMMIT`` times the engine of ``lens/lab.py`` at that commit too (read with
``git show``, run on today's ``lens``), interleaved with the current one in each round, so
both meet the same load. One BLAS thread, as the app runs (ui/data.py). Nothing asserts;
writes ``bench/results/lab.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
import types
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as ui/data.py sets it for the app

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_S = 2.0


def _timed(fn) -> tuple[float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def _quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile, linear between order statistics (numpy's default)."""
    import numpy as np

    return float(np.quantile(values, q)) if values else float("nan")


def _summary(wall: list[float], cpu: list[float]) -> dict[str, float]:
    return {
        "wall_p50_s": _quantile(wall, 0.5),
        "wall_p95_s": _quantile(wall, 0.95),
        "cpu_p50_s": _quantile(cpu, 0.5),
        "n": len(wall),
    }


def _old_lab(commit: str) -> types.ModuleType:
    """``lens/lab.py`` as it was at ``commit``, its relative imports read from today's lens."""
    src = subprocess.run(
        ["git", "show", f"{commit}:lens/lab.py"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    src = re.sub(
        r"^from \.(\w*) import", lambda m: f"from lens{'.' + m[1] if m[1] else ''} import", src, flags=re.M
    )
    module = types.ModuleType(f"lab_at_{commit}")
    module.__dict__["__name__"] = module.__name__
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(src, f"{commit}:lens/lab.py", "exec"), module.__dict__)
    return module


def _load_average() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


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
    ap.add_argument("--before", default=None, help="a commit whose lens/lab.py to time alongside")
    args = ap.parse_args()

    ck = load(args.checkpoint or default_run())
    run = run_model(ck, engine="numpy", all_positions=False)
    keys = key_frequencies(run)
    engines = {"now": lab}
    if args.before:
        engines[args.before] = _old_lab(args.before)
    cases = [(hook, "all") for hook in lab.HOOKS] + [("post", "products")]
    times = {(name, case): ([], []) for name in engines for case in cases}
    base_wall, base_cpu = [], []
    load_start = _load_average()
    for engine in engines.values():  # warm: first-use costs (imports, caches) out of the rounds
        engine.ablate(run, "pre", keys, "remove", "all", n_controls=1)
    for _ in range(args.repeat):
        w, c = _timed(lambda: run_model(ck, engine="numpy", all_positions=False))
        base_wall.append(w)
        base_cpu.append(c)
        for hook, comp in cases:
            for name, engine in engines.items():
                w, c = _timed(
                    lambda e=engine, h=hook, k=comp: e.ablate(
                        run, h, keys, "remove", k, n_controls=args.controls
                    )
                )
                times[name, (hook, comp)][0].append(w)
                times[name, (hook, comp)][1].append(c)
    load_end = _load_average()

    baseline = _summary(base_wall, base_cpu)
    results = {}
    for name in engines:
        rows = []
        for hook, comp in cases:
            s = _summary(*times[name, (hook, comp)])
            s["vs_forward"] = s["wall_p50_s"] / baseline["wall_p50_s"]
            rows.append({"hook": hook, "components": comp, **s, "met": s["wall_p95_s"] <= TARGET_S})
        pooled = _summary(
            [w for case in cases for w in times[name, case][0]],
            [c for case in cases for c in times[name, case][1]],
        )
        results[name] = {"ablations": rows, "pooled": pooled, "all_met": all(r["met"] for r in rows)}

    print(
        f"p = {ck.p}, key frequencies {keys}, {args.controls} controls, {args.repeat} rounds, "
        f"load average {load_start:.1f} at the start and {load_end:.1f} at the end, {os.cpu_count()} cores"
    )
    print(
        f"baseline: one numpy forward pass, wall p50 {baseline['wall_p50_s'] * 1000:.0f} ms, "
        f"p95 {baseline['wall_p95_s'] * 1000:.0f} ms, CPU p50 {baseline['cpu_p50_s'] * 1000:.0f} ms"
    )
    head = f"{'engine':<9}{'hook':<12}{'components':<11}{'wall p50':>9}{'p95':>7}{'CPU p50':>9}{'x fwd':>7}"
    print(f"{head}  target p95 <= {TARGET_S:.0f} s")
    for name, res in results.items():
        for r in res["ablations"] + [{"hook": "pooled", "components": "", **res["pooled"]}]:
            met = "" if "met" not in r else ("met" if r["met"] else "NOT MET")
            x = f"{r['vs_forward']:>7.1f}" if "vs_forward" in r else " " * 7
            print(
                f"{name:<9}{r['hook']:<12}{r['components']:<11}{r['wall_p50_s']:>9.2f}"
                f"{r['wall_p95_s']:>7.2f}{r['cpu_p50_s']:>9.2f}{x}  {met}"
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
                "rounds": args.repeat,
                "load_average": {"start": load_start, "end": load_end},
                "cpus": os.cpu_count(),
                "machine": platform.processor() or platform.machine(),
                "target_s": TARGET_S,
                "baseline_forward": baseline,
                "engines": results,
            },
            indent=2,
        )
    )
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
