"""The loader against the fuzz corpus: time and memory per refusal, category by category.

    python bench/fuzz.py [--seed 0] [--repeat 3] [--out bench/results/fuzz.json]

Writes the corpus of ``tests/fuzz_corpus.py`` (300 malformed files) into a temporary folder
(in a process of its own: it needs torch), then loads it one category at a time, each in a
fresh process that has first imported the loader and loaded the sound originals (a run
directory, a ``.pth``, a ``.safetensors``, a zip): so the resident-memory figures count what
the category's refusals add to a warm loader, not imports. (This parent stays small and never
imports torch: Linux carries a parent's peak into ``ru_maxrss`` across fork and exec.) Per category: the slowest and the 95th-percentile refusal (wall time,
the fastest of ``--repeat`` passes), the peak resident memory of the process
(``ru_maxrss``) and its rise over the warm baseline. The baseline, measured the same way in
the same run: loading the sound originals, which is what a refusal is compared with.

Targets (issue 13): every refusal within 1 s, and bounded memory (here: a rise of at most
64 MB, the upload cap, over the warm baseline). Nothing here asserts; it reports.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

TARGET_S = 1.0
TARGET_RSS_MB = 64.0


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(0.95 * len(xs)) - 1))]


def child(manifest: Path, category: str, repeat: int) -> dict:
    """In a fresh process: warm up on the sound files, then time every case of ``category``."""
    from lens.checkpoint import CheckpointError, load

    doc = json.loads(manifest.read_text())
    for case in doc["valid"]:
        load(case["path"])
    baseline = rss_mb()
    cases = doc["valid"] if category == "valid" else [c for c in doc["cases"] if c["category"] == category]
    times: dict[str, float] = {}
    worst: dict[str, float] = {}
    refused = crashed = loaded = 0
    for r in range(repeat):
        for case in cases:
            before = rss_mb()
            t0 = time.perf_counter()
            try:
                load(case["path"])
                outcome = "loaded"
            except CheckpointError:
                outcome = "refused"
            except Exception:
                outcome = "crashed"
            dt = time.perf_counter() - t0
            times[case["name"]] = min(times.get(case["name"], dt), dt)
            worst[case["name"]] = max(worst.get(case["name"], 0.0), rss_mb() - before)
            if r == 0:
                refused += outcome == "refused"
                crashed += outcome == "crashed"
                loaded += outcome == "loaded"
    slowest = max(times, key=times.get)
    hungriest = max(worst, key=worst.get)
    return {
        "category": category,
        "files": len(cases),
        "refused": refused,
        "loaded": loaded,
        "crashed": crashed,
        "max_s": times[slowest],
        "slowest": slowest,
        "p95_s": p95(list(times.values())),
        "median_s": sorted(times.values())[len(times) // 2],
        "peak_rss_mb": rss_mb(),
        "warm_baseline_rss_mb": baseline,
        "rss_rise_mb": rss_mb() - baseline,
        "largest_single_rise_mb": worst[hungriest],
        "hungriest": hungriest,
    }


def write_corpus(folder: Path, seed: int) -> None:
    from fuzz_corpus import CATEGORIES, build, build_valid

    (folder / "marker").mkdir()
    cases = build(folder / "corpus", folder / "marker" / "pwned", seed=seed)
    valid = build_valid(folder / "valid")
    rows = [{"category": c.category, "name": c.name, "path": str(c.path)} for c in cases]
    good = [{"category": c.category, "name": c.name, "path": str(c.path)} for c in valid]
    doc = {"cases": rows, "valid": good, "categories": list(CATEGORIES)}
    (folder / "manifest.json").write_text(json.dumps(doc))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "fuzz.json")
    ap.add_argument("--child", nargs=2, metavar=("MANIFEST", "CATEGORY"), help=argparse.SUPPRESS)
    ap.add_argument("--build", type=Path, metavar="FOLDER", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(Path(args.child[0]), args.child[1], args.repeat)))
        return 0
    if args.build:
        write_corpus(args.build, args.seed)
        return 0

    with tempfile.TemporaryDirectory(prefix="lens-fuzz-bench-") as tmp:
        tmp = Path(tmp)
        manifest = tmp / "manifest.json"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--seed", str(args.seed), "--build", str(tmp)], check=True)
        built_s = time.perf_counter() - t0
        doc = json.loads(manifest.read_text())
        cases, categories = doc["cases"], doc["categories"]
        parent_rss = rss_mb()
        rows = []
        for category in ("valid", *categories):
            res = subprocess.run(
                [sys.executable, __file__, "--repeat", str(args.repeat), "--child", str(manifest), category],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if res.returncode != 0:
                print(res.stderr[-3000:], file=sys.stderr)
                return 1
            rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
        marker_clean = not list((tmp / "marker").iterdir())

    base, fuzz = rows[0], rows[1:]
    print(
        f"{len(cases)} files in {len(fuzz)} categories, written in {built_s:.1f} s; fastest of {args.repeat} passes"
    )
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; this parent's peak {parent_rss:.0f} MB"
    )
    head = f"{'category':18}{'files':>6}{'refused':>8}{'max ms':>9}{'p95 ms':>9}{'peak RSS MB':>13}{'rise MB':>9}  slowest"
    print(head)
    print("-" * len(head))
    for r in rows:
        name = "baseline: valid" if r is base else r["category"]
        print(
            f"{name:18}{r['files']:>6}{(r['loaded'] if r is base else r['refused']):>8}"
            f"{1000 * r['max_s']:>9.1f}{1000 * r['p95_s']:>9.1f}{r['peak_rss_mb']:>13.1f}"
            f"{r['rss_rise_mb']:>9.1f}  {r['slowest']}"
        )
    worst_s = max(r["max_s"] for r in fuzz)
    worst_rise = max(r["rss_rise_mb"] for r in fuzz)
    all_refused = all(r["refused"] == r["files"] for r in fuzz)
    print(
        f"\nrefused: {sum(r['refused'] for r in fuzz)}/{len(cases)} (target all: {'met' if all_refused else 'MISSED'}); "
        f"slowest refusal {1000 * worst_s:.1f} ms (target {1000 * TARGET_S:.0f} ms: "
        f"{'met' if worst_s < TARGET_S else 'MISSED'}); largest memory rise over the warm loader "
        f"{worst_rise:.1f} MB (target {TARGET_RSS_MB:.0f} MB: {'met' if worst_rise <= TARGET_RSS_MB else 'MISSED'}); "
        f"marker {'absent' if marker_clean else 'PRESENT'}"
    )
    print(
        f"baseline: loading the {base['files']} sound files takes at most {1000 * base['max_s']:.1f} ms "
        f"and the warm loader holds {base['warm_baseline_rss_mb']:.0f} MB"
    )
    out = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg()[0],
            "python": platform.python_version(),
        },
        "seed": args.seed,
        "repeat": args.repeat,
        "files": len(cases),
        "built_s": built_s,
        "baseline_valid": base,
        "categories": fuzz,
        "targets": {"max_s": TARGET_S, "rss_rise_mb": TARGET_RSS_MB},
        "met": {
            "all_refused": all_refused,
            "time": worst_s < TARGET_S,
            "memory": worst_rise <= TARGET_RSS_MB,
        },
        "marker_absent": marker_clean,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
