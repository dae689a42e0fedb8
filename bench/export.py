"""What the export buttons cost a widget change: the same changes with and without them.

    python bench/export.py [--changes 12] [--json bench/results/export.json]

For each case (a page and one of its server widgets), one AppTest session of the whole app
opens the page, then moves the widget back and forth ``--changes`` times, timing each rerun
(``AppTest.run``: the script's own time, no browser). The two arms alternate change by change
in the same session: "with" as the app is (every chart's CSV and SVG buttons,
``ui/export.py``); "without" with ``ui.export.buttons`` and ``ui.export.scope_buttons``
replaced by no-ops. Prints p50 / p95 per arm and their ratio, writes JSON; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

# (page file, widget kind, key, two values to move between)
CASES = [
    ("basics.py", "number_input", "basics.a", (3, 4)),
    ("attention.py", "slider", "attention.c", (10, 11)),
    ("grokking.py", "segmented_control", "grokking.step_axis", ("log", "linear")),
]


def _percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def _widget(at, kind: str, key: str):
    for w in getattr(at, kind):
        if w.key == key:
            return w
    return None


def run_case(page: str, kind: str, key: str, values: tuple, changes: int) -> dict:
    from page_testing import open_page

    from ui import export

    real = (export.buttons, export.scope_buttons)
    at = open_page(f"pages/{page}")
    if _widget(at, kind, key) is None:
        return {"page": page, "key": key, "error": "widget not found"}
    times: dict[str, list[float]] = {"with": [], "without": []}
    for i in range(2 * changes + 2):  # the first two (one per arm) warm up and are dropped
        arm = "with" if i % 2 == 0 else "without"
        if arm == "without":
            export.buttons = export.scope_buttons = lambda *a, **k: None
        try:
            _widget(at, kind, key).set_value(values[(i // 2) % 2])
            t = time.perf_counter()
            at.run()
            dt = time.perf_counter() - t
        finally:
            export.buttons, export.scope_buttons = real
        if at.exception:
            return {"page": page, "key": key, "error": at.exception[0].message[:200]}
        if i >= 2:
            times[arm].append(1000 * dt)
    out = {"page": page, "key": key, "changes": changes}
    for arm, xs in times.items():
        out[arm] = {"p50_ms": statistics.median(xs), "p95_ms": _percentile(xs, 0.95)}
    out["ratio_p50"] = out["with"]["p50_ms"] / out["without"]["p50_ms"]
    return out


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--changes", type=int, default=12, help="changes per arm and case")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "export.json"))
    args = ap.parse_args(argv)
    results = [run_case(*case, args.changes) for case in CASES]
    print(
        f"{'page':<14} {'widget':<16} {'with p50':>9} {'p95':>7} {'without p50':>12} {'p95':>7} {'ratio':>6}"
    )
    for r in results:
        if "error" in r:
            print(f"{r['page']:<14} {r['key']:<16} error: {r['error']}")
            continue
        w, wo = r["with"], r["without"]
        print(
            f"{r['page']:<14} {r['key']:<16} {w['p50_ms']:>7.1f}ms {w['p95_ms']:>5.1f}ms "
            f"{wo['p50_ms']:>10.1f}ms {wo['p95_ms']:>5.1f}ms {r['ratio_p50']:>6.2f}"
        )
    from load import write_json

    write_json({"cases": results}, args.json)
    return results


if __name__ == "__main__":
    main()
