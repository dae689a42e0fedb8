"""A room of readers at once: N protocol clients switch pages and move widgets for S seconds.

    python bench/load.py --readers 25 --seconds 60 [--uploads 5] [--think 2] [--json PATH]

It starts the app (``streamlit run app.py``, headless, on a free port, the project's own
``.streamlit/config.toml``: XSRF on, the upload cap), then N readers that speak Streamlit's own
websocket protocol (bench/protocol.py), so the server is measured and not N browsers sharing
the machine's cores. Each reader:

1. arrives ``--ramp`` seconds apart from the others in all, on a random page (a deep link);
2. if it is one of the ``--uploads`` K, uploads its own checkpoint through the sidebar's
   uploader (``PUT /_stcore/upload_file/...``, XSRF token and cookie as the frontend sends
   them): a tiny model (tests/tiny_models.py) for a different prime each, as a
   ``.safetensors`` or a ``.zip`` of a run directory in turn, or with ``--upload-model full``
   a model of the reference's size (d_model 128, d_mlp 512, p near 113), whose full-dataset
   run is ~85 MB like the default model's; and checks that the sidebar names the upload;
3. then, until S seconds are up, waits a think time (uniform in [think/2, 3 think/2]) and
   either switches to another page (``--switch`` of the time) or moves a random widget of
   the page to a new value (sliders, number inputs, selects, radios, segmented controls,
   toggles, checkboxes).

Before the readers, one visit to every page warms the server (a teacher who opened the app
first; ``--cold`` skips it), timed and reported apart. The server's resident memory (RSS of
the server process and its children, summed) is sampled every 100 ms from its start to its
end; the kernel's high-water mark of the server process (VmHWM) is read at the end as well.

Baseline, in the same run: the same readers against bench/bare_app.py (one slider, one
chart; the page switches there reload the one page, and uploads are skipped: it has no
uploader). The table gives both and their ratios.

Reported: interactions completed; errors (exceptions and error alerts in the ForwardMsgs,
compile errors, timeouts, closed connections, failed uploads); p50 / p95 / p99 / max latency
from the message sent to the final ``script_finished``, overall and per kind; peak memory;
server CPU seconds per interaction (less sensitive to a busy shared machine than latency);
the load average at start and end. Targets (issue 13) at 25 readers: 0 errors, p95 < 500 ms,
peak < 1 GB. Prints a table, writes JSON (default bench/results/load.json); asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "browser"), str(ROOT / "bench")]

from browser_harness import StreamlitServer, app_env  # noqa: E402
from protocol import Reader, Run, pick, upload_files, upload_folders, xsrf_cookie  # noqa: E402

TARGETS = {"errors": 0, "p95_ms": 500.0, "peak_rss_mb": 1024.0}


# ---------------------------------------------------------------- the server's memory


class MemorySampler:
    """RSS of a process and its children, summed, every ``interval`` seconds, in a thread."""

    def __init__(self, pid: int, interval: float = 0.1):
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, float]] = []  # (seconds since start, MB)
        self.marks: dict[str, float] = {}
        self.cpu: dict[str, float] = {}  # the server's CPU seconds at each mark
        self.client_cpu: dict[str, float] = {}  # this process's (the readers') CPU seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.t0 = time.perf_counter()

    def start(self) -> "MemorySampler":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def mark(self, name: str) -> None:
        self.marks[name] = time.perf_counter() - self.t0
        self.cpu[name] = cpu_seconds(self.pid)
        self.client_cpu[name] = time.process_time()

    def now_mb(self) -> float:
        return tree_rss_mb(self.pid)

    def _loop(self) -> None:
        while not self._stop.is_set():
            mb = tree_rss_mb(self.pid)
            if mb > 0:
                self.samples.append((time.perf_counter() - self.t0, mb))
            self._stop.wait(self.interval)

    def peak(self, since: str | None = None) -> float:
        t0 = self.marks.get(since, 0.0) if since else 0.0
        return max((mb for t, mb in self.samples if t >= t0), default=float("nan"))

    def series(self, step: float = 1.0) -> list[list[float]]:
        """One sample (the peak of each ``step``-second bin), for the JSON."""
        bins: dict[int, float] = {}
        for t, mb in self.samples:
            k = int(t / step)
            bins[k] = max(bins.get(k, 0.0), mb)
        return [[round(k * step, 1), round(mb, 1)] for k, mb in sorted(bins.items())]


def tree_rss_mb(pid: int) -> float:
    try:
        import psutil
    except ImportError:  # psutil is not a dependency of the app: read /proc instead
        return _proc_rss_kb(pid) / 1024
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total / 2**20


def _proc_rss_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0
    kb = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return kb + sum(_proc_rss_kb(int(c)) for c in children)


def hwm_mb(pid: int) -> float:
    """The kernel's high-water mark of the process's resident memory (VmHWM)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the process so far (its threads included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


# ---------------------------------------------------------------- readers


@dataclass
class Tally:
    runs: list[Run] = field(default_factory=list)
    uploads_accepted: int = 0
    warm: list[Run] = field(default_factory=list)


async def reader(
    i: int,
    base: str,
    cookie: str,
    start_at: float,
    deadline: float,
    args,
    upload: tuple[str, bytes] | None,
    tally: Tally,
) -> None:
    rng = random.Random(args.seed * 1000 + i)
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    r = Reader(base, cookie, timeout=args.timeout, name=f"reader{i}")
    try:
        await r.connect()
    except Exception as err:  # noqa: BLE001 - a refused handshake is a failed interaction
        tally.runs.append(Run("open", status=f"connect failed ({type(err).__name__}: {err})"))
        return
    try:
        run = await r.open(rng.choice(PAGES_HINT) if PAGES_HINT else "")
        tally.runs.append(run)
        pages = [p for p in r.pages if p] or [""]
        if upload is not None:
            widget = r.uploader()
            if widget is None:
                tally.runs.append(Run("upload", status="no uploader on the page", detail=upload[0]))
            else:
                run = await r.upload(widget, *upload)
                if run.status == "ok" and not any(f"your upload: `{upload[0]}`" in t for t in run.texts):
                    run.status = "upload not shown in the sidebar"
                tally.uploads_accepted += run.status == "ok" and not run.errors
                tally.runs.append(run)
        while time.monotonic() < deadline and r.ws is not None:
            await asyncio.sleep(rng.uniform(args.think / 2, 3 * args.think / 2))
            if time.monotonic() >= deadline:
                break
            movable = r.movable()
            if rng.random() < args.switch or not movable:
                here = r.page_path()
                others = [p for p in pages if p != here] or pages
                run = await r.switch_page(rng.choice(others))
            else:
                w = rng.choice(movable)
                state = pick(w, rng, r.states.get(w.id))
                if state is None:
                    continue
                run = await r.move(w, state)
            tally.runs.append(run)
            if run.status.startswith(("closed", "timeout")):
                break
    finally:
        await r.close()


PAGES_HINT: list[str] = []  # the app's url paths, learnt by the warm-up visit


async def warm_up(base: str, cookie: str, args, tally: Tally) -> None:
    """One visit to every page (the first to /), before the readers."""
    r = Reader(base, cookie, timeout=max(args.timeout, 120.0), name="warm-up")
    await r.connect()
    try:
        tally.warm.append(await r.open(""))
        PAGES_HINT[:] = [p for p in r.pages if p]
        if args.cold:
            return
        for path in PAGES_HINT:
            tally.warm.append(await r.switch_page(path))
    finally:
        await r.close()


async def drive(
    base: str, args, uploads: list[tuple[str, bytes]], tally: Tally, sampler: MemorySampler
) -> None:
    cookie = xsrf_cookie(base)
    await warm_up(base, cookie, args, tally)
    sampler.mark("readers")
    now = time.monotonic()
    deadline = now + args.seconds
    tasks = [
        reader(i, base, cookie, now + args.ramp * i / max(1, args.readers), deadline, args,
               uploads[i] if i < len(uploads) else None, tally)
        for i in range(args.readers)
    ]  # fmt: skip
    await asyncio.gather(*tasks)
    sampler.mark("done")


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000 if values else float("nan")


def by_page(done: list[Run]) -> dict:
    """p50 / p95 of the interactions on each page (a widget's detail is ``page: label``)."""
    pages: dict[str, list[float]] = {}
    for r in done:
        pages.setdefault(r.detail.split(":")[0] if r.action == "widget" else r.detail, []).append(r.seconds)
    return {
        page: {"n": len(xs), "p50_ms": round(pct(xs, 50), 1), "p95_ms": round(pct(xs, 95), 1)}
        for page, xs in sorted(pages.items())
    }


def summarise(tally: Tally, seconds: float) -> dict:
    done = [r for r in tally.runs if r.action != "open" and r.status == "ok"]
    errors = Counter(e for r in tally.runs for e in r.errors)
    lat = [r.seconds for r in done]
    by_kind = {}
    for kind in ("page", "widget", "upload", "open"):
        xs = [r.seconds for r in tally.runs if r.action == kind and r.status == "ok"]
        by_kind[kind] = {
            "n": len(xs),
            "p50_ms": round(pct(xs, 50), 1),
            "p95_ms": round(pct(xs, 95), 1),
            "max_ms": round(max(xs) * 1000, 1) if xs else None,
        }
    return {
        "interactions": len(done),
        "per_second": round(len(done) / seconds, 2),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors.most_common(20)),
        "p50_ms": round(pct(lat, 50), 1),
        "p95_ms": round(pct(lat, 95), 1),
        "p99_ms": round(pct(lat, 99), 1),
        "max_ms": round(max(lat) * 1000, 1) if lat else None,
        "by_kind": by_kind,
        "kb_per_interaction": round(sum(r.bytes for r in done) / max(1, len(done)) / 1024, 1),
        "refs_per_interaction": round(sum(r.refs for r in done) / max(1, len(done)), 2),
        "by_page": by_page(done),
        "slowest": [
            {"action": r.action, "detail": r.detail, "ms": round(r.seconds * 1000)}
            for r in sorted(done, key=lambda r: -r.seconds)[:10]
        ],
        "uploads_accepted": tally.uploads_accepted,
        "warm_up_s": [round(r.seconds, 2) for r in tally.warm],
        "warm_up_errors": [e for r in tally.warm for e in r.errors],
    }


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def timeline(tally: Tally, sampler: MemorySampler, step: float) -> list[dict]:
    """Per ``step`` seconds of the readers' phase: interactions ended, errors, p95 latency
    and the peak RSS in that bin (how memory and latency move as the run goes on)."""
    t0 = sampler.marks.get("readers", 0.0)
    end = sampler.marks.get("done", t0)
    out = []
    for k in range(int((end - t0) // step) + 1):
        lo, hi = t0 + k * step, t0 + (k + 1) * step
        runs = [r for r in tally.runs if r.ended and lo <= r.ended - sampler.t0 < hi]
        rss = [mb for t, mb in sampler.samples if lo <= t < hi]
        ok = [r.seconds for r in runs if r.status == "ok" and r.action != "open"]
        out.append(
            {
                "t_s": round(k * step, 1),
                "interactions": len(ok),
                "errors": sum(len(r.errors) for r in runs),
                "p95_ms": round(pct(ok, 95), 1) if ok else None,
                "peak_rss_mb": round(max(rss), 1) if rss else None,
            }
        )
    return out


def log_problems(text: str) -> dict[str, int]:
    """What the server logged as going wrong, counted: each traceback's last line (``XError:
    message``), with the innermost frame of the project's own code, and WARNING / ERROR lines."""
    out: Counter = Counter()
    frame = ""
    for line in ANSI.sub("", text).splitlines():
        line = line.strip(" │╭╰─")
        if m := re.search(r"(/(?:lens|ui|pages)/[\w./-]+\.py|app\.py):(\d+)", line):
            frame = f"{m.group(1).lstrip('/')}:{m.group(2)}"
        if re.match(r"^[A-Za-z_.]*(Error|Exception|Warning)\b.*: ", line):
            out[f"{line[:200]} (at {frame or '?'})"] += 1
            frame = ""
        elif re.search(r"\b(ERROR|WARNING)\b", line):
            out[re.sub(r"^[0-9-]+ [0-9:.]+ ", "", line)[:200]] += 1
    return dict(out.most_common(20))


def measure(script: str, args, uploads: list[tuple[str, bytes]]) -> dict:
    """One server, warm-up and readers; every figure of the table for ``script``."""
    server = StreamlitServer(script, env=app_env())
    server.start()
    try:
        started = server.wait_healthy()
        pid = server.proc.pid
        cpu0 = cpu_seconds(pid)
        sampler = MemorySampler(pid).start()
        tally = Tally()
        base = f"http://127.0.0.1:{server.port}"
        t0 = time.perf_counter()
        asyncio.run(drive(base, args, uploads, tally, sampler))
        wall = time.perf_counter() - t0
        cpu_readers = sampler.cpu["done"] - sampler.cpu["readers"]  # the warm-up left out
        client_cpu = sampler.client_cpu["done"] - sampler.client_cpu["readers"]
        time.sleep(args.settle)  # the sessions end, their uploads are released
        left = upload_folders(pid)
        result = summarise(tally, args.seconds)
        result.update(
            script=script,
            start_s=round(started, 2),
            peak_rss_mb=round(sampler.peak(), 1),
            peak_rss_readers_mb=round(sampler.peak("readers"), 1),
            idle_rss_mb=round(
                next((mb for t, mb in sampler.samples if t >= sampler.marks.get("readers", 0)), 0), 1
            ),
            end_rss_mb=round(sampler.now_mb(), 1),
            server_hwm_mb=round(hwm_mb(pid), 1),
            server_cpu_s=round(cpu_readers, 1),
            client_cpu_s=round(client_cpu, 1),
            warm_up_cpu_s=round(sampler.cpu["readers"] - cpu0, 1),
            cpu_ms_per_interaction=round(1000 * cpu_readers / max(1, result["interactions"]), 1),
            wall_s=round(wall, 1),
            upload_folders_left=len(left),
            readers_at_s=round(sampler.marks.get("readers", 0.0), 1),
            rss_series=sampler.series(),
            timeline=timeline(tally, sampler, args.bin),
        )
        sampler.stop()
    finally:
        server.stop()
        log = server.log_path.read_text(errors="replace") if server.log_path.exists() else ""
        if args.logs:
            Path(args.logs).mkdir(parents=True, exist_ok=True)
            (Path(args.logs) / f"load-{Path(script).stem}.log").write_text(ANSI.sub("", log))
        server.log_path.unlink(missing_ok=True)
    result["log_problems"] = log_problems(log)
    return result


# ---------------------------------------------------------------- report


ROWS = [
    ("interactions completed", "interactions", "{:.0f}"),
    ("interactions / s", "per_second", "{:.2f}"),
    ("errors", "errors", "{:.0f}"),
    ("p50 latency (ms)", "p50_ms", "{:.0f}"),
    ("p95 latency (ms)", "p95_ms", "{:.0f}"),
    ("p99 latency (ms)", "p99_ms", "{:.0f}"),
    ("max latency (ms)", "max_ms", "{:.0f}"),
    ("peak RSS, server + children (MB)", "peak_rss_mb", "{:.0f}"),
    ("RSS before the readers (MB)", "idle_rss_mb", "{:.0f}"),
    ("RSS after they left (MB)", "end_rss_mb", "{:.0f}"),
    ("server VmHWM (MB)", "server_hwm_mb", "{:.0f}"),
    ("server CPU per interaction (ms)", "cpu_ms_per_interaction", "{:.0f}"),
    ("server CPU, readers' phase (s)", "server_cpu_s", "{:.1f}"),
    ("readers' own CPU (s)", "client_cpu_s", "{:.1f}"),
    ("received per interaction (KB)", "kb_per_interaction", "{:.0f}"),
    ("uploads accepted", "uploads_accepted", "{:.0f}"),
    ("upload folders left", "upload_folders_left", "{:.0f}"),
]


def _fmt(fmt: str, v) -> str:
    return "-" if v is None or (isinstance(v, float) and np.isnan(v)) else fmt.format(v)


def table(app: dict, bare: dict | None) -> str:
    lines = [f"{'':36} {'app':>10} {'bare':>10} {'ratio':>7}"]
    for label, key, fmt in ROWS:
        a = app.get(key)
        b = bare.get(key) if bare else None
        ratio = f"{a / b:.2f}" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else "-"
        lines.append(f"{label:36} {_fmt(fmt, a):>10} {_fmt(fmt, b):>10} {ratio:>7}")
    for kind, k in app["by_kind"].items():
        lines.append(
            f"  {kind:10} n={k['n']:<5} p50 {_fmt('{:.0f}', k['p50_ms'])} ms, p95 {_fmt('{:.0f}', k['p95_ms'])} ms"
        )
    return "\n".join(lines)


def verdicts(app: dict) -> dict:
    return {
        "errors": app["errors"] <= TARGETS["errors"],
        "p95_ms": app["p95_ms"] < TARGETS["p95_ms"],
        "peak_rss_mb": app["peak_rss_mb"] < TARGETS["peak_rss_mb"],
    }


def parser(description: str = __doc__.split("\n\n")[0]) -> argparse.ArgumentParser:
    """The options of a run (bench/soak.py takes the same, with its own defaults)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--readers", type=int, default=25)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--uploads", type=int, default=0, help="how many of the readers upload a checkpoint")
    ap.add_argument("--upload-model", choices=("tiny", "full"), default="tiny")
    ap.add_argument("--think", type=float, default=2.0, help="mean seconds between a reader's interactions")
    ap.add_argument("--switch", type=float, default=0.25, help="share of interactions that switch page")
    ap.add_argument("--ramp", type=float, default=5.0, help="seconds over which the readers arrive")
    ap.add_argument(
        "--timeout", type=float, default=60.0, help="seconds before an interaction counts as failed"
    )
    ap.add_argument(
        "--settle", type=float, default=3.0, help="seconds after the readers leave, before the end"
    )
    ap.add_argument("--cold", action="store_true", help="no warm-up visit to every page")
    ap.add_argument("--no-baseline", action="store_true", help="skip the bare-page baseline")
    ap.add_argument("--app", default="app.py")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--logs", default="", help="a folder to keep the servers' logs in")
    ap.add_argument("--bin", type=float, default=10.0, help="seconds per bin of the JSON's timeline")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "load.json"))
    return ap


def write_json(result: dict, path: str) -> None:
    """The run's figures as JSON at ``path`` (folders made as needed)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"wrote {out}")


def main(argv: list[str] | None = None) -> dict:
    args = parser().parse_args(argv)

    load_start = os.getloadavg()
    uploads = upload_files(args.uploads, args.upload_model)
    print(f"{args.readers} readers, {args.seconds:.0f} s, {len(uploads)} uploads ({args.upload_model}), "
          f"think {args.think} s; load average {load_start[0]:.2f} on {os.cpu_count()} CPUs", flush=True)  # fmt: skip
    app = measure(args.app, args, uploads)
    bare = None if args.no_baseline else measure("bench/bare_app.py", args, [])
    load_end = os.getloadavg()
    result = {
        "command": "python bench/load.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "readers": args.readers,
        "seconds": args.seconds,
        "uploads": len(uploads),
        "upload_model": args.upload_model,
        "upload_sizes_kb": [round(len(d) / 1024, 1) for _, d in uploads],
        "think_s": args.think,
        "switch": args.switch,
        "ramp_s": args.ramp,
        "warm": not args.cold,
        "cpus": os.cpu_count(),
        "load_average": {"start": [round(x, 2) for x in load_start], "end": [round(x, 2) for x in load_end]},
        "targets": TARGETS,
        "meets": verdicts(app),
        "app": app,
        "bare": bare,
        "ratios": {
            key: round(app[key] / bare[key], 2)
            for key in ("p50_ms", "p95_ms", "peak_rss_mb", "cpu_ms_per_interaction", "per_second")
            if bare and isinstance(app.get(key), (int, float)) and bare.get(key)
        },
    }
    print(table(app, bare))
    print(f"load average: start {load_start[0]:.2f}, end {load_end[0]:.2f} ({os.cpu_count()} CPUs)")
    print("targets met:", ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in result["meets"].items()))
    for name, r in (("app", app), ("bare", bare)):
        if r and r["error_kinds"]:
            print(f"{name} errors:", *(f"  {n} x {e[:160]}" for e, n in r["error_kinds"].items()), sep="\n")
        if r and r["log_problems"]:
            print(f"{name} server log:", *(f"  {n} x {e}" for e, n in r["log_problems"].items()), sep="\n")
    if args.json:
        write_json(result, args.json)
    return result


if __name__ == "__main__":
    main()
