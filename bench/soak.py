"""A long run that watches the server's memory level off: readers for many minutes.

    python bench/soak.py [--readers 10] [--minutes 10] [--uploads 2] [--think 2] [--json PATH]

The readers, the warm-up and the measures are bench/load.py's (protocol clients that switch
pages, move widgets and upload checkpoints; RSS of the server and its children every 100 ms).
What a soak adds is time: the run is cut into minutes, and for each the table gives the
interactions, errors, p95 latency and peak RSS.

Baseline, in the same run: the RSS after the warm-up, before any reader, and the first
minutes' peak. Memory levels off when every cache is bounded: the peak of the last third of
the run is then within ``--tolerance`` (5%) of the peak of the middle third; a leak, or a
cache without a bound, keeps climbing. Prints a table, writes JSON (default
bench/results/soak.json); asserts nothing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load  # noqa: E402  (bench/load.py)


def thirds(series: list[list[float]], start: float, end: float) -> list[float]:
    """The peak RSS in each third of [start, end) (seconds since the server started)."""
    span = (end - start) / 3
    return [max((mb for t, mb in series if start + i * span <= t < start + (i + 1) * span), default=float("nan"))
            for i in range(3)]  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    ap = load.parser(__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument(
        "--tolerance", type=float, default=0.05, help="growth allowed from the middle third to the last"
    )
    ap.set_defaults(readers=10, uploads=2, json=str(load.ROOT / "bench" / "results" / "soak.json"), bin=60.0)
    args = ap.parse_args(argv)
    args.seconds = args.minutes * 60
    load_start = os.getloadavg()
    uploads = load.upload_files(args.uploads, args.upload_model)
    print(f"soak: {args.readers} readers for {args.minutes:g} min, {len(uploads)} uploads, think {args.think} s; "
          f"load average {load_start[0]:.2f} on {os.cpu_count()} CPUs", flush=True)  # fmt: skip
    app = load.measure(args.app, args, uploads)
    series = app["rss_series"]  # [seconds since start, peak MB of that second]
    readers_at = app["readers_at_s"]  # the warm-up left out
    peaks = thirds([s for s in series if s[0] >= readers_at], readers_at, series[-1][0] if series else 0.0)
    growth = peaks[2] / peaks[1] - 1 if peaks[1] else float("nan")
    result = {
        "command": "python bench/soak.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "readers": args.readers,
        "minutes": args.minutes,
        "uploads": len(uploads),
        "think_s": args.think,
        "cpus": os.cpu_count(),
        "load_average": {
            "start": [round(x, 2) for x in load_start],
            "end": [round(x, 2) for x in os.getloadavg()],
        },
        "idle_rss_mb": app["idle_rss_mb"],
        "thirds_peak_rss_mb": [round(p, 1) for p in peaks],
        "last_over_middle": round(growth, 4),
        "levels_off": bool(growth <= args.tolerance),
        "app": app,
    }
    print(f"{'from min':>8} {'interactions':>12} {'errors':>6} {'p95 ms':>8} {'peak MB':>8}")
    for row in app["timeline"]:
        p95 = "-" if row["p95_ms"] is None else f"{row['p95_ms']:.0f}"
        peak = "-" if row["peak_rss_mb"] is None else f"{row['peak_rss_mb']:.0f}"
        print(f"{row['t_s'] / 60:>8.1f} {row['interactions']:>12} {row['errors']:>6} {p95:>8} {peak:>8}")
    print(f"RSS before the readers {app['idle_rss_mb']:.0f} MB; peak by thirds "
          + " / ".join(f"{p:.0f}" for p in peaks)
          + f" MB; last third {growth:+.1%} over the middle: {'levels off' if result['levels_off'] else 'STILL CLIMBING'}")  # fmt: skip
    print(f"total: {app['interactions']} interactions, {app['errors']} errors, p95 {app['p95_ms']:.0f} ms")
    if args.json:
        load.write_json(result, args.json)
    return result


if __name__ == "__main__":
    main()
