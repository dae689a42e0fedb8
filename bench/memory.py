"""Memory of one reader who moves every server-side widget of every page, twice round.

    python bench/memory.py [--checkpoint PATH] [--rounds 2] [--values 4] [--out bench/results/memory.json]

The reader is Streamlit's ``AppTest`` driving the real ``app.py`` in this process: the same
page scripts, caches and data layer as a server, without the browser. Each widget of each
page (sliders, number inputs, selects, radios, segmented controls, toggles, checkboxes) is set
through a few values spread over its range or choices; after each change the process's
resident memory is read. The peak is the kernel's high-water mark (VmHWM), reset at the start
of each round (``/proc/self/clear_refs``), so each round has its own.

Baseline, in the same run: the process after its first page (imports, the model's run): what
every later figure is compared with. Targets (issue 13): peak <= 600 MB; the second round adds
<= 5% to the first round's peak (memory levels off because every cache is bounded).
Prints a table and writes JSON; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
PAGES = [
    f"pages/{name}.py"
    for name in (
        "basics",
        "attention",
        "wave-transforms",
        "relu",
        "neurons",
        "grokking",
        "trace",
        "ablation-lab",
        "clock-or-pizza",
        "claims",
    )
]
KINDS = (
    "slider",
    "select_slider",
    "number_input",
    "selectbox",
    "radio",
    "button_group",
    "toggle",
    "checkbox",
)


def rss_mb() -> float:
    return _status("VmRSS")


def peak_mb() -> float:
    return _status("VmHWM")


def _status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Sampler:
    """Reads the resident memory every few milliseconds in a thread and keeps, per label (the
    widget change under way), the highest value seen: which change makes the peak."""

    def __init__(self, every_s: float = 0.005):
        import threading

        self.every_s, self.label, self.peaks = every_s, "start", {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            r = rss_mb()
            if r > self.peaks.get(self.label, 0.0):
                self.peaks[self.label] = r

    def top(self, n: int = 8) -> list[tuple[str, float]]:
        return sorted(self.peaks.items(), key=lambda kv: -kv[1])[:n]

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


SAMPLER: Sampler | None = None


def reset_peak() -> None:
    """Start a new high-water mark (Linux: writing 5 to clear_refs resets VmHWM)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def spread(values: list, n: int) -> list:
    """``n`` values spread evenly over ``values`` (ends included)."""
    if len(values) <= n:
        return list(values)
    return [values[round(i * (len(values) - 1) / (n - 1))] for i in range(n)]


def raw_options(w) -> list:
    """The values behind a choice widget's labels. AppTest lists the labels (``format_func``
    applied) but sets by value: invert a ``dict.get`` formatter, else try the label itself and
    its lower case."""
    fmt = getattr(w, "format_func", None)
    table = getattr(fmt, "__self__", None)
    if isinstance(table, dict):
        back = {v: k for k, v in table.items()}
        return [back.get(label, label) for label in w.options]
    out = []
    for label in w.options:
        head = label.split()[0] if label.split() else label
        numbers = [int(head)] if head.lstrip("-").isdigit() else []
        for cand in (label, label.lower(), *numbers):
            try:
                if fmt is None or str(fmt(cand)) == label:
                    out.append(cand)
                    break
            except Exception:
                continue
    return out


def values_of(w, n: int) -> list:
    kind = type(w).__name__.lower()
    if hasattr(w, "options") and w.options:
        return spread(raw_options(w), n)
    if kind in ("toggle", "checkbox"):
        return [not w.value, w.value]
    lo, hi = getattr(w, "min", None), getattr(w, "max", None)
    if lo is None or hi is None:
        return []
    if isinstance(lo, int) and isinstance(hi, int):
        return spread(list(range(lo, hi + 1)), n)
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


def widgets(at) -> list:
    out = []
    for kind in KINDS:
        try:
            out.extend(at.get(kind))
        except Exception:  # a kind this Streamlit's AppTest does not name
            continue
    return [w for w in out if getattr(w, "key", None) and not str(w.key).startswith("$$")]


def choose(w, v) -> None:
    """Set ``w`` to ``v``: an index for a select box (its labels may be formatted numbers,
    which no value lookup inverts), else the value."""
    if type(w).__name__ == "Selectbox" and isinstance(v, int) and not raw_options(w):
        w.select_index(v)
    else:
        w.set_value(v)


def candidates(w, n: int) -> list:
    if type(w).__name__ == "Selectbox" and not raw_options(w):
        return spread(list(range(len(w.options))), n)
    return values_of(w, n)


def drive_page(page: str, n_values: int, log: list, max_changes: int = 400) -> dict:
    """Every widget of ``page`` through ``n_values`` values, including widgets that appear
    only after another changed (Neurons' per-frequency sections)."""
    from page_testing import open_page

    t0 = time.perf_counter()
    if SAMPLER is not None:
        SAMPLER.label = f"{page} opened"
    at = open_page(page)
    changes, errors, done = 0, 0, set()
    while changes < max_changes:
        pending = [w for w in widgets(at) if w.key not in done]
        if not pending:
            break
        key = pending[0].key
        done.add(key)
        for v in candidates(pending[0], n_values):
            current = [w for w in widgets(at) if w.key == key]
            if not current:
                break
            if SAMPLER is not None:
                SAMPLER.label = f"{page} {key}={v!r}"
            try:
                choose(current[0], v)
                at.run()
                changes += 1
                errors += len(at.exception)
            except Exception as err:  # a value the widget refuses: count it, go on
                errors += 1
                log.append(f"{page} {key}={v!r}: {type(err).__name__}: {err}")
            log.append(f"{page} {key}={v!r}: rss {rss_mb():.0f} MB")
    return {"page": page, "changes": changes, "errors": errors, "seconds": time.perf_counter() - t0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", help="default: the embedded default model")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--values", type=int, default=4, help="values per widget")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "memory.json"))
    args = ap.parse_args()
    if args.checkpoint:
        os.environ["LENS_CHECKPOINT"] = str(Path(args.checkpoint).resolve())
    from page_testing import open_page

    global SAMPLER
    SAMPLER = Sampler()
    start_rss = rss_mb()
    open_page(PAGES[0])
    baseline = rss_mb()
    log: list[str] = []
    rounds = []
    for r in range(args.rounds):
        reset_peak()
        pages = [drive_page(page, args.values, log) for page in PAGES]
        rounds.append({"round": r + 1, "peak_mb": peak_mb(), "end_rss_mb": rss_mb(), "pages": pages})
    SAMPLER.stop()
    result = {
        "peak_changes": [{"change": k, "rss_mb": v} for k, v in SAMPLER.top(12)],
        "checkpoint": os.environ.get("LENS_CHECKPOINT", "default"),
        "python_start_rss_mb": start_rss,
        "baseline_rss_mb": baseline,
        "rounds": rounds,
        "peak_mb": max(r["peak_mb"] for r in rounds),
        "second_round_growth": (rounds[-1]["peak_mb"] / rounds[0]["peak_mb"] - 1)
        if len(rounds) > 1
        else None,
        "log": log,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"{'round':>5} {'peak MB':>8} {'end RSS MB':>10} {'changes':>8} {'errors':>6}")
    for r in rounds:
        ch = sum(p["changes"] for p in r["pages"])
        er = sum(p["errors"] for p in r["pages"])
        print(f"{r['round']:>5} {r['peak_mb']:>8.0f} {r['end_rss_mb']:>10.0f} {ch:>8} {er:>6}")
    print(
        f"baseline (after the first page) {baseline:.0f} MB; peak {result['peak_mb']:.0f} MB "
        f"({result['peak_mb'] / baseline:.2f}x baseline; target <= 600 MB)"
    )
    if result["second_round_growth"] is not None:
        print(
            f"second round's peak vs the first's: {100 * result['second_round_growth']:+.1f}% (target <= +5%)"
        )
    print("the changes during which memory was highest (sampled every 5 ms):")
    for row in result["peak_changes"][:8]:
        print(f"  {row['rss_mb']:>6.0f} MB  {row['change'][:90]}")
    for page in rounds[0]["pages"]:
        print(
            f"  {page['page']:<16} {page['changes']:>3} changes, {page['errors']} errors, {page['seconds']:.1f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
