"""Shared by the browser tests (tests/browser) and the benchmark (bench/app.py): start the app
with ``streamlit run`` in a subprocess, launch Debian's Chromium through Playwright (never a
downloaded browser), and watch what the page and the websocket do.

Nothing here asserts; the tests and the benchmark decide what the observations mean.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT.parent / "shared" / "reference" / "nanda_end_run_data.pth"
PORTS = range(8640, 8660)

# Chromium flags: no sandbox (root in a container), no GPU, and nothing that phones home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]

# The pages of app.py: (url path, title). The first is the default page.
PAGES = [
    ("basics", "Basics"),
    ("attention", "Attention"),
    ("wave-transforms", "Wave Transforms"),
    ("relu", "ReLU"),
    ("neurons", "Neurons"),
    ("grokking", "Grokking"),
]
# The navigation lists these, then the laboratory pages, Claims (which draws no chart: the
# chart tests and bench/app.py, which wait for a page's charts, use PAGES), the Summary that
# closes the path and the Glossary beside it.
NAV = [
    *PAGES,
    ("trace", "Trace one example"),
    ("ablation-lab", "Ablation lab"),
    ("clock-or-pizza", "Clock or pizza?"),
    ("claims", "Claims"),
    ("summary", "Summary"),
    ("glossary", "Glossary"),
]

CHART = '[data-testid="stVegaLiteChart"]'
# A chart counts as drawn once vega-embed has put a non-empty canvas or svg into it.
DRAWN_MARK = f"{CHART} canvas, {CHART} svg.marks"
SCRUB_INPUT = f'{CHART} .vega-bindings input[type="range"]'
# JavaScript that defines viewOf(element): the Vega view a Streamlit chart element holds, found
# through the element's React state (Streamlit keeps the view in a hook, and neither Streamlit
# nor vega-embed puts it on ``window``); null if none. For the scenegraph tests.
VIEW_OF_JS = r"""
  const isView = (v) => v && typeof v === 'object' && typeof v.scenegraph === 'function'
    && typeof v.signal === 'function';
  const viewOf = (el) => {
    for (const n of [el, ...el.querySelectorAll('*')]) {
      const k = Object.keys(n).find((key) => key.startsWith('__reactFiber$'));
      if (!k) continue;
      for (let f = n[k]; f; f = f.return) {
        for (let h = f.memoizedState; h && typeof h === 'object'; h = h.next) {
          const s = h.memoizedState;
          for (const c of [s, s && s.current, s && s.view, s && s.current && s.current.view]) {
            if (isView(c)) return c;
          }
        }
      }
    }
    return null;
  };
"""
EXCEPTION = '[data-testid="stException"]'
ERROR_ALERT = '[data-testid="stAlertContentError"]'
STATUS_WIDGET = '[data-testid="stStatusWidget"]'


def find_chromium() -> str | None:
    """The Chromium executable: $CHROMIUM_PATH, else chromium/chromium-browser on PATH, else
    Debian's /usr/bin/chromium. None when there is none."""
    wanted = os.environ.get("CHROMIUM_PATH")
    if wanted and Path(wanted).is_file():
        return wanted
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def _port_free(port: int) -> bool:
    """Nobody answers on the port and it can be bound on every interface (as Streamlit does)."""
    with socket.socket() as probe:
        probe.settimeout(0.2)
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return False
    for family, host in ((socket.AF_INET, ""), (socket.AF_INET6, "::")):
        try:
            with socket.socket(family) as s:
                s.bind((host, port))
        except OSError:
            if family == socket.AF_INET:
                return False
    return True


def free_port() -> int:
    """A free port: $LENS_BROWSER_PORT, else the first free one of 8640-8659, else one the OS picks."""
    if env := os.environ.get("LENS_BROWSER_PORT"):
        return int(env)
    for port in PORTS:
        if _port_free(port):
            return port
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def app_env() -> dict[str, str]:
    """The environment the app runs under: the reference checkpoint when it is beside the
    repository (deterministic, p = 113), else whatever model the app defaults to."""
    env = dict(os.environ)
    if "LENS_CHECKPOINT" not in env and REFERENCE.is_file():
        env["LENS_CHECKPOINT"] = str(REFERENCE)
    return env


class StreamlitServer:
    """``python -m streamlit run SCRIPT`` on a free port, headless, its output in a log file."""

    def __init__(self, script: str | Path = "app.py", port: int | None = None, env: dict | None = None):
        self.script = str(script)
        self.port = port or free_port()
        self.env = env if env is not None else app_env()
        self.url = f"http://localhost:{self.port}"
        self.log_path = Path(tempfile.mkstemp(prefix="streamlit-", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0

    def start(self) -> "StreamlitServer":
        cmd = [
            sys.executable, "-m", "streamlit", "run", self.script,
            "--server.port", str(self.port),
            "--server.headless", "true",
            # No usage-metrics fetch to an outside host (it cannot succeed offline and only
            # adds console noise); nothing of the app depends on it.
            "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none",
        ]  # fmt: skip
        self.started_at = time.perf_counter()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def wait_healthy(self, timeout: float = 120.0) -> float:
        """Seconds from start until ``/_stcore/health`` answers ok."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return time.perf_counter() - self.started_at
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"streamlit not healthy after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def __enter__(self) -> "StreamlitServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        self.log_path.unlink(missing_ok=True)


def launch_chromium(playwright, executable: str, width: int = 1400, height: int = 1000):
    """A headless Chromium context with a fresh, throwaway profile. Returns (context, profile dir)."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    context = playwright.chromium.launch_persistent_context(
        profile,
        executable_path=executable,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": width, "height": height},
    )
    return context, profile


def close_chromium(context, profile: str) -> None:
    try:
        context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


# -- what the page does ------------------------------------------------------------------------

# Installed before any page script: records, in page time (performance.now(), ms since the
# navigation started), when markdown text first appears, when each chart draws (canvas calls or
# svg mutations inside a Vega-Lite chart), and every websocket message in both directions
# (small ones with their bytes, so the Python side can decode the protobuf type).
INSTRUMENT_JS = r"""
(() => {
  if (window.__lens) return;
  const L = window.__lens = {firstMarkdown: null, firstChart: null, lastPaint: null, paintCount: 0, ws: []};
  const CHART = '[data-testid="stVegaLiteChart"]';
  const now = () => performance.now();
  const paint = () => {
    L.lastPaint = now();
    L.paintCount++;
  };
  // First prose and first chart: the first animation frame in which a markdown element with
  // text / a chart's canvas or svg of non-zero size is on screen (polled once per frame
  // until both are seen).
  const MD = '[data-testid="stMarkdown"] [data-testid="stMarkdownContainer"]';
  const MARK = `${CHART} canvas, ${CHART} svg.marks`;
  const poll = () => {
    if (L.firstMarkdown === null) {
      for (const md of document.querySelectorAll(MD)) {
        if (md.innerText.trim().length > 0) { L.firstMarkdown = now(); break; }
      }
    }
    if (L.firstChart === null) {
      for (const m of document.querySelectorAll(MARK)) {
        const r = m.getBoundingClientRect();
        if (r.width > 0 && r.height > 0) { L.firstChart = now(); break; }
      }
    }
    if (L.firstMarkdown === null || L.firstChart === null) requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
  // Canvas renderer: any drawing call on a canvas inside a chart (whether a canvas is in a
  // chart is looked up once per canvas, to keep the wrapper cheap).
  const inChart = new WeakMap();
  const proto = CanvasRenderingContext2D.prototype;
  for (const name of ['fillRect', 'clearRect', 'fill', 'stroke', 'fillText', 'drawImage']) {
    const orig = proto[name];
    proto[name] = function (...args) {
      const c = this.canvas;
      if (c) {
        let yes = inChart.get(c);
        if (yes === undefined || !yes) {
          yes = !!(c.isConnected && c.closest && c.closest(CHART));
          if (yes) inChart.set(c, true);
        }
        if (yes) paint();
      }
      return orig.apply(this, args);
    };
  }
  // SVG renderer: DOM mutations inside a chart (one paint per batch of mutation records).
  const seen = (node) => node && (node.nodeType === 1 ? node : node.parentElement);
  new MutationObserver((records) => {
    for (const rec of records) {
      const el = seen(rec.target);
      const chart = el && el.closest ? el.closest(CHART) : null;
      if (chart && chart.querySelector('svg.marks')) { paint(); break; }
    }
  }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  // The reader's last input (a key or a pointer press), for input -> redraw timings.
  L.lastInput = null;
  for (const type of ['keydown', 'pointerdown']) {
    document.addEventListener(type, () => { L.lastInput = now(); }, true);
  }
  // Websocket traffic.
  const toB64 = (buf) => {
    let s = '';
    const bytes = new Uint8Array(buf);
    for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s);
  };
  const record = (dir, data) => {
    const size = data.byteLength ?? data.size ?? data.length ?? 0;
    const entry = {t: now(), dir, size, b64: null};
    if (data instanceof ArrayBuffer && size <= 8192) entry.b64 = toB64(data);
    else if (ArrayBuffer.isView(data) && size <= 8192) entry.b64 = toB64(data.buffer.slice(data.byteOffset, data.byteOffset + size));
    L.ws.push(entry);
  };
  const Orig = window.WebSocket;
  const origSend = Orig.prototype.send;
  Orig.prototype.send = function (data) { record('sent', data); return origSend.call(this, data); };
  window.WebSocket = function (...args) {
    const ws = new Orig(...args);
    ws.addEventListener('message', (ev) => record('received', ev.data));
    return ws;
  };
  window.WebSocket.prototype = Orig.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})();
"""


def message_type(direction: str, payload: bytes | str | None) -> str | None:
    """The protobuf type of a Streamlit websocket message: a BackMsg (browser -> server, e.g.
    ``rerun_script``, ``app_heartbeat``) or a ForwardMsg (server -> browser, e.g. ``delta``,
    ``script_finished``). None when it cannot be decoded."""
    if payload is None:
        return None
    if isinstance(payload, str):
        payload = payload.encode("latin-1")
    try:
        if direction == "sent":
            from streamlit.proto.BackMsg_pb2 import BackMsg

            return BackMsg.FromString(payload).WhichOneof("type")
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        return ForwardMsg.FromString(payload).WhichOneof("type")
    except Exception:  # noqa: BLE001 - a partial or foreign frame: unknown type
        return None


@dataclass
class WsWatch:
    """Every frame on the page's Streamlit websocket (``/_stcore/stream``), seen by Playwright
    from outside the page, with its decoded message type."""

    frames: list[tuple[float, str, str | None]] = field(default_factory=list)  # (time, dir, type)

    def attach(self, page) -> "WsWatch":
        def on_ws(ws):
            if "/_stcore/stream" not in ws.url:
                return
            ws.on("framesent", lambda payload: self._add("sent", payload))
            ws.on("framereceived", lambda payload: self._add("received", payload))

        page.on("websocket", on_ws)
        return self

    def _add(self, direction: str, payload) -> None:
        self.frames.append((time.perf_counter(), direction, message_type(direction, payload)))

    def count(self, direction: str, kind: str, since: int = 0) -> int:
        return sum(1 for _, d, k in self.frames[since:] if d == direction and k == kind)


@dataclass
class ConsoleWatch:
    """Console errors and uncaught page errors, minus documented benign noise."""

    origin: str
    errors: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def attach(self, page) -> "ConsoleWatch":
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        return self

    def _on_console(self, msg) -> None:
        if msg.type != "error":
            return
        text = msg.text
        url = (msg.location or {}).get("url", "") or ""
        if why := benign(text, url, self.origin):
            self.ignored.append(f"{text[:160]} ({why})")
        else:
            self.errors.append(f"console.error: {text[:500]} @ {url}")


def benign(text: str, url: str, origin: str) -> str | None:
    """Why a console error is harmless noise, or None when it counts.

    - A resource on another host failing to load: the test machine is offline, and the app
      must not depend on an outside host (it is served from localhost); a resource of the app's
      own origin failing is NOT ignored.
    - Streamlit's usage-metrics config fetch: telemetry that the frontend tries even with usage
      stats off in some versions; it is not part of the app and cannot succeed offline.
    - A 404 on ``<page path>/_stcore/health`` or ``<page path>/_stcore/host-config``: opened at
      ``/attention``, Streamlit's frontend does not know the server's base path, so it probes
      each candidate (``/attention/``, then ``/``) and connects to the one that answers; the
      first probe's 404 is logged by Chromium. The probe at the root must still succeed (else
      the page would not connect, and other checks fail).
    """
    if (
        "404" in text
        and url.startswith(origin + "/")
        and re.fullmatch(r"/.+/_stcore/(health|host-config)", url[len(origin) :].split("?")[0])
    ):
        return "Streamlit probing the base path"
    if text.startswith("Failed to load resource") and url and not url.startswith(origin):
        return "outside host unreachable offline"
    if "metrics config" in text:
        return "Streamlit telemetry, offline"
    return None


def wait_idle(page, ws: WsWatch, since: int, timeout: float = 90.0, quiet: float = 0.6) -> None:
    """Wait until the server has finished a script run started after frame ``since`` and the
    websocket has then been silent for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
        if ws.count("received", "script_finished", since) == 0:
            continue
        last = ws.frames[-1][0] if ws.frames else 0.0
        if time.perf_counter() - last >= quiet:
            return
    raise TimeoutError(f"the app did not finish its script run within {timeout} s")


def charts_drawn(page) -> list[dict]:
    """Every Vega-Lite chart on the page with the size of its drawn canvas/svg."""
    return page.evaluate(
        """(sel) => [...document.querySelectorAll(sel)].map((c) => {
            const m = c.querySelector('canvas, svg.marks');
            const r = m ? m.getBoundingClientRect() : {width: 0, height: 0};
            return {tag: m ? m.tagName.toLowerCase() : null, width: r.width, height: r.height};
        })""",
        CHART,
    )


def screenshot_whole(page, path: str, max_height: int = 16000) -> None:
    """A screenshot of the whole page. Streamlit scrolls inside its main container, not the
    document, so a "full page" screenshot would stop at the viewport: the viewport is grown
    to the content's height for the shot, then restored."""
    size = page.viewport_size or {"width": 1400, "height": 1000}
    height = page.evaluate(
        """() => Math.max(document.documentElement.scrollHeight,
            ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"], '
                + '[data-testid="stMainBlockContainer"]')].map((e) => e.scrollHeight))"""
    )
    page.set_viewport_size(
        {"width": size["width"], "height": min(max(int(height), size["height"]), max_height)}
    )
    try:
        page.wait_for_timeout(800)
        page.screenshot(path=path)
    finally:
        page.set_viewport_size(size)
