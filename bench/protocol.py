"""A Streamlit reader that speaks the browser's own websocket protocol, for bench/load.py.

One :class:`Reader` is one browser tab, without the browser: it opens the app's websocket
(``ws://HOST:PORT/_stcore/stream``), sends the ``BackMsg`` protobufs Streamlit's frontend
sends, and reads the ``ForwardMsg`` stream back, so that a load test measures the server and
not 25 Chromium processes sharing two cores.

What it does, as the frontend does it (Streamlit 1.67):

- **XSRF.** ``GET /_stcore/health`` sets the ``_streamlit_xsrf`` cookie. The websocket goes
  out with that cookie, a same-origin ``Origin`` header and the subprotocols
  ``["streamlit", <cookie value>]`` (the server reads the second entry as the XSRF token:
  ``starlette_websocket._parse_subprotocols``). An upload is a multipart ``PUT`` carrying the
  cookie and the same token in ``X-Xsrftoken``; without them the server answers 403.
- **A script run** is a ``BackMsg.rerun_script`` holding a ``ClientState``: the page
  (``page_name``, the URL path, on a first visit; ``page_script_hash`` from the
  ``navigation`` message when switching), the query string the app last wrote
  (``page_info_changed``), the fragment a widget lives in (``Delta.fragment_id``: a widget in
  an ``st.fragment`` reruns only that fragment), the hashes of the large elements already
  received (``cached_message_hashes``: the server then sends a ``ref_hash`` instead of the
  element again, as it does to a browser), and the state of **every** widget the page holds,
  not just the one that moved (the frontend's ``WidgetStateManager`` sends them all, and
  forgets those a full run no longer draws).
- **A run ends** with ``script_finished``. ``FINISHED_EARLY_FOR_RERUN`` is not the end (the
  app reruns itself, e.g. ``ui.data.route_through_app`` on a fresh server's first run); the
  interaction ends at the next ``FINISHED_SUCCESSFULLY`` / ``FINISHED_FRAGMENT_RUN_SUCCESSFULLY``
  / ``FINISHED_WITH_COMPILE_ERROR``.
- **Widgets** come from the run's ``new_element`` deltas: each widget proto carries its ``id``
  and its range or options, from which :func:`pick` draws a new value in the wire format its
  serde reads (slider: ``double_array_value``; select slider, segmented control:
  ``string_array_value`` of formatted options; selectbox, radio: ``string_value``; number
  input: ``double_value``; checkbox, toggle: ``bool_value``).
- **An upload** is ``BackMsg.file_urls_request`` -> ``ForwardMsg.file_urls_response`` (a
  file id and an upload URL), the ``PUT``, then a rerun whose uploader state names the file
  (``FileUploaderState.uploaded_file_info``).

At the end, the checkpoints the uploading readers drop (:func:`upload_files`, built from
tests/tiny_models.py and ``lens.checkpoint``: the repository and ``tests/`` on ``sys.path``, as
bench/load.py sets them) and the server's upload folders left on disk (:func:`upload_folders`).

What counts as an error in a run: an ``exception`` element (the app's uncaught exception; with
``client.showErrorDetails = "none"`` its text is generic, the traceback is in the server
log), an error alert (``st.error``), a compile error, ``page_not_found``, a timeout, a closed
connection, or a failed HTTP request.
"""

from __future__ import annotations

import asyncio
import io
import random
import tempfile
import time
import urllib.request
import uuid
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ButtonGroup_pb2 import ButtonGroup
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.Common_pb2 import FileURLs, UploadedFileInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState

XSRF_COOKIE = "_streamlit_xsrf"
# The element kinds a reader moves (buttons, triggers and the uploader are left alone: a
# reader uploads on purpose, not at random).
MOVABLE = ("slider", "number_input", "selectbox", "radio", "button_group", "checkbox")
WIDGET_KINDS = (*MOVABLE, "file_uploader", "button", "multiselect", "text_input", "text_area")
FINAL = {
    ForwardMsg.FINISHED_SUCCESSFULLY: "ok",
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY: "ok",
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR: "compile error",
}
CACHE_ENTRIES = 256  # large elements remembered for cached_message_hashes (the frontend: by age)


def xsrf_cookie(base_url: str, timeout: float = 10.0) -> str:
    """The ``_streamlit_xsrf`` cookie value the server sets on ``/_stcore/health``
    (empty when XSRF protection is off)."""
    with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=timeout) as r:
        for header in r.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(header)
            if XSRF_COOKIE in jar:
                return jar[XSRF_COOKIE].value
    return ""


@dataclass
class Widget:
    """A widget the page drew in its last run: its element kind, proto and fragment."""

    id: str
    kind: str
    proto: object
    fragment_id: str = ""


@dataclass
class Run:
    """What one interaction (one rerun, or an upload and its rerun) brought back."""

    action: str  # "open", "page", "widget", "upload"
    seconds: float = 0.0
    status: str = "ok"  # "ok", "compile error", "timeout", "closed", "http <code>", ...
    exceptions: list[str] = field(default_factory=list)
    error_alerts: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # markdown and captions of the run
    messages: int = 0
    bytes: int = 0
    refs: int = 0  # elements sent as a ref_hash (already in this reader's cache)
    detail: str = ""  # page or widget moved
    ended: float = 0.0  # time.perf_counter() when it ended

    @property
    def errors(self) -> list[str]:
        out = [] if self.status == "ok" else [f"{self.action}: {self.status} ({self.detail})"]
        out += [f"exception on {self.detail}: {m}" for m in self.exceptions]
        out += [f"error alert on {self.detail}: {m[:200]}" for m in self.error_alerts]
        return out


def _options_of(w: Widget) -> list[str]:
    p = w.proto
    if w.kind == "button_group":
        return [o.content for o in p.options]
    return list(getattr(p, "options", []))


def _spread(lo: float, hi: float, step: float, rng: random.Random) -> float:
    n = max(0, int(round((hi - lo) / step)))
    return lo + step * rng.randint(0, n)


def pick(w: Widget, rng: random.Random, current: WidgetState | None) -> WidgetState | None:
    """A new state for ``w``, in its wire format, different from ``current`` when the widget
    allows another value. None for a widget a reader does not move."""
    for _ in range(8):
        state = _draw(w, rng, current)
        if state is None or current is None or state.SerializeToString() != current.SerializeToString():
            return state
    return state


def _draw(w: Widget, rng: random.Random, current: WidgetState | None) -> WidgetState | None:
    p = w.proto
    s = WidgetState(id=w.id)
    if getattr(p, "disabled", False):
        return None
    if w.kind == "slider":
        n = max(1, len(p.default))  # a range slider holds two values
        if p.options:  # st.select_slider: the formatted options
            picks = sorted(rng.randrange(len(p.options)) for _ in range(n))
            s.string_array_value.data.extend(p.options[i] for i in picks)
        elif p.data_type in (Slider.INT, Slider.FLOAT):
            step = p.step or (1.0 if p.data_type == Slider.INT else (p.max - p.min) / 100 or 1.0)
            s.double_array_value.data.extend(sorted(_spread(p.min, p.max, step, rng) for _ in range(n)))
        else:
            return None  # dates and times: none in this app
    elif w.kind == "number_input":
        step = p.step or (1.0 if p.data_type == NumberInput.INT else 0.01)
        lo = p.min if p.has_min else p.default - 20 * step
        hi = p.max if p.has_max else p.default + 20 * step
        s.double_value = _spread(lo, hi, step, rng)
    elif w.kind in ("selectbox", "radio"):
        if not p.options:
            return None
        s.string_value = rng.choice(list(p.options))
    elif w.kind == "button_group":
        options = _options_of(w)
        if not options:
            return None
        if p.click_mode == ButtonGroup.MULTI_SELECT:
            s.string_array_value.data.extend(o for o in options if rng.random() < 0.5)
        else:
            s.string_array_value.data.append(rng.choice(options))
    elif w.kind == "checkbox":
        was = current.bool_value if current is not None else (p.value if p.set_value else p.default)
        s.bool_value = not was
    else:
        return None
    return s


class Reader:
    """One tab of the app over Streamlit's websocket protocol (see the module docstring).

    Methods are coroutines and run one at a time per reader; each returns a :class:`Run`
    timed from the message sent to the final ``script_finished``."""

    def __init__(self, base_url: str, cookie: str, *, timeout: float = 60.0, name: str = "reader"):
        self.base_url = base_url.rstrip("/")
        self.ws_url = self.base_url.replace("http", "ws", 1) + "/_stcore/stream"
        self.cookie = cookie
        self.timeout = timeout
        self.name = name
        self.ws = None
        self.session_id = ""
        self.pages: dict[str, str] = {}  # url path -> page_script_hash (from navigation)
        self.page_hash = ""
        self.query_string = ""
        self.widgets: dict[str, Widget] = {}
        self.states: dict[str, WidgetState] = {}
        self._cache: OrderedDict[str, ForwardMsg] = OrderedDict()
        self._run_widgets: dict[str, Widget] = {}
        self._fragment = ""

    # -- connection ------------------------------------------------------------------

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        # The Host header is the URL's, so this Origin is same-origin, as a browser's is.
        headers = {"Origin": self.base_url}
        if self.cookie:
            headers["Cookie"] = f"{XSRF_COOKIE}={self.cookie}"
        self.ws = await connect(
            self.ws_url,
            subprotocols=["streamlit", self.cookie] if self.cookie else ["streamlit"],
            additional_headers=headers,
            max_size=None,  # a p x p heat map's Arrow frame is well over websockets' 1 MiB default
            ping_interval=None,
            open_timeout=self.timeout,
            compression=None,
        )

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None

    # -- interactions ----------------------------------------------------------------

    async def open(self, url_path: str = "", query_string: str = "") -> Run:
        """A first visit to ``/url_path?query_string`` (a deep link, or the root)."""
        self.query_string = query_string
        return await self._rerun(
            Run("open", detail=url_path or "/"), page_name=url_path, page_hash="", widget_states=[]
        )

    async def switch_page(self, url_path: str) -> Run:
        """A click in the navigation: the page by its script hash, the query string cleared."""
        self.query_string = ""
        return await self._rerun(
            Run("page", detail=url_path), page_name="", page_hash=self.pages.get(url_path, ""), fragment=""
        )

    async def move(self, widget: Widget, state: WidgetState) -> Run:
        """The reader sets ``widget`` to ``state`` (in its fragment, when it has one)."""
        self.states[widget.id] = state
        label = getattr(widget.proto, "label", "") or widget.id
        return await self._rerun(
            Run("widget", detail=f"{self.page_path()}: {label}"), fragment=widget.fragment_id
        )

    async def upload(self, widget: Widget, name: str, data: bytes) -> Run:
        """Drop a file on the uploader ``widget``: ask for an upload URL, ``PUT`` the file,
        rerun with the uploader's new state. Timed from the request to the rerun's end."""
        run = Run("upload", detail=name)
        start = time.perf_counter()
        request_id = uuid.uuid4().hex
        msg = BackMsg()
        msg.file_urls_request.request_id = request_id
        msg.file_urls_request.file_names.append(name)
        msg.file_urls_request.session_id = self.session_id
        await self.ws.send(msg.SerializeToString())
        response = await self._read(run, lambda m: m.file_urls_response.response_id == request_id)
        if response is None or not response.file_urls_response.file_urls:
            run.status = (
                run.status if response is None else f"no upload url ({response.file_urls_response.error_msg})"
            )
            run.ended = time.perf_counter()
            run.seconds = run.ended - start
            return run
        urls = response.file_urls_response.file_urls[0]
        code = await asyncio.to_thread(self._put, urls.upload_url, name, data)
        if code not in (200, 204):
            run.status = f"http {code}"
            run.ended = time.perf_counter()
            run.seconds = run.ended - start
            return run
        state = WidgetState(id=widget.id)
        info: UploadedFileInfo = state.file_uploader_state_value.uploaded_file_info.add()
        info.file_id, info.name, info.size = urls.file_id, name, len(data)
        info.file_urls.CopyFrom(
            FileURLs(file_id=urls.file_id, upload_url=urls.upload_url, delete_url=urls.delete_url)
        )
        self.states[widget.id] = state
        await self._rerun(run, fragment=widget.fragment_id, start=start)
        return run

    def _put(self, upload_url: str, name: str, data: bytes) -> int:
        """The multipart ``PUT`` the frontend's uploader sends (field ``file``)."""
        import requests  # a Streamlit dependency

        headers = {"X-Xsrftoken": self.cookie} if self.cookie else {}
        cookies = {XSRF_COOKIE: self.cookie} if self.cookie else {}
        try:
            r = requests.put(
                self.base_url + upload_url,
                files={"file": (name, data, "application/octet-stream")},
                headers=headers,
                cookies=cookies,
                timeout=self.timeout,
            )
        except requests.RequestException:
            return -1  # no answer at all (refused, reset, timed out)
        return r.status_code

    # -- what the page holds ---------------------------------------------------------

    def page_path(self) -> str:
        return next((path for path, h in self.pages.items() if h == self.page_hash), self.page_hash[:8])

    def movable(self) -> list[Widget]:
        return [w for w in self.widgets.values() if w.kind in MOVABLE]

    def uploader(self) -> Widget | None:
        return next((w for w in self.widgets.values() if w.kind == "file_uploader"), None)

    # -- the protocol ----------------------------------------------------------------

    async def _rerun(
        self,
        run: Run,
        *,
        page_name: str = "",
        page_hash: str | None = None,
        fragment: str = "",
        widget_states: list[WidgetState] | None = None,
        start: float | None = None,
    ) -> Run:
        cs = ClientState()
        cs.query_string = self.query_string
        cs.page_name = page_name
        cs.page_script_hash = self.page_hash if page_hash is None else page_hash
        cs.fragment_id = fragment
        states = list(self.states.values()) if widget_states is None else widget_states
        cs.widget_states.widgets.extend(states)
        cs.cached_message_hashes.extend(self._cache.keys())
        msg = BackMsg()
        msg.rerun_script.CopyFrom(cs)
        start = time.perf_counter() if start is None else start
        self._fragment = fragment
        await self.ws.send(msg.SerializeToString())
        await self._read(
            run, lambda m: m.WhichOneof("type") == "script_finished" and m.script_finished in FINAL
        )
        run.ended = time.perf_counter()
        run.seconds = run.ended - start
        return run

    async def _read(self, run: Run, done) -> ForwardMsg | None:
        """Handle ForwardMsgs until ``done(msg)``; returns that message (None on a timeout or
        a closed connection, noted in ``run.status``)."""
        from websockets.exceptions import ConnectionClosed

        deadline = time.monotonic() + self.timeout
        while True:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), max(0.0, deadline - time.monotonic()))
            except (TimeoutError, asyncio.TimeoutError):
                run.status = "timeout"
                return None
            except ConnectionClosed as err:
                run.status = f"closed ({err.rcvd.code if err.rcvd else 'no close frame'})"
                return None
            msg = ForwardMsg.FromString(raw)
            run.messages += 1
            run.bytes += len(raw)
            self._handle(msg, run)
            if done(msg):
                return msg

    def _handle(self, msg: ForwardMsg, run: Run) -> None:
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":
            run.refs += 1
            cached = self._cache.get(msg.ref_hash)
            if cached is None:
                run.exceptions.append(f"unknown ref_hash {msg.ref_hash}")
                return
            self._cache.move_to_end(msg.ref_hash)
            msg, kind = cached, "delta"
        elif msg.metadata.cacheable and msg.hash:
            self._cache[msg.hash] = msg
            self._cache.move_to_end(msg.hash)
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        if kind == "new_session":
            ns = msg.new_session
            if ns.initialize.session_id:
                self.session_id = ns.initialize.session_id
            self.page_hash = ns.page_script_hash
            self._run_widgets = {}
            run.texts.clear()
        elif kind == "navigation":
            self.pages = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
            self.page_hash = msg.navigation.page_script_hash or self.page_hash
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "page_not_found":
            run.exceptions.append(f"page not found: {msg.page_not_found.page_name}")
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self._element(msg.delta.new_element, msg.delta.fragment_id, run)
        elif kind == "script_finished" and msg.script_finished in FINAL:
            if msg.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                run.status = FINAL[msg.script_finished]
            if msg.script_finished == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                gone = [i for i, w in self.widgets.items() if w.fragment_id == self._fragment]
                for i in gone:
                    self.widgets.pop(i, None)
                self.widgets.update(self._run_widgets)
            else:  # a full run: what it did not draw is gone (the frontend's removeInactive)
                self.widgets = dict(self._run_widgets)
            self.states = {i: s for i, s in self.states.items() if i in self.widgets}
            self._run_widgets = {}

    def _element(self, el, fragment_id: str, run: Run) -> None:
        kind = el.WhichOneof("type")
        if kind in WIDGET_KINDS:
            proto = getattr(el, kind)
            self._run_widgets[proto.id] = Widget(proto.id, kind, proto, fragment_id)
        elif kind == "exception":
            run.exceptions.append(f"{el.exception.type}: {el.exception.message}"[:300])
        elif kind == "alert" and el.alert.format == Alert.ERROR:
            run.error_alerts.append(el.alert.body)
        elif kind == "markdown":
            run.texts.append(el.markdown.body)


# ---------------------------------------------------------------- what readers upload

UPLOAD_PRIMES = [31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89]
FULL_PRIMES = [97, 101, 103, 107, 109, 113, 127]
FULL_DIMS = {"d_model": 128, "n_heads": 4, "d_head": 32, "d_mlp": 512}  # the reference's size


def upload_files(k: int, model: str) -> list[tuple[str, bytes]]:
    """``k`` different checkpoints, one per uploading reader: a prime each, alternately a
    ``.safetensors`` and a ``.zip`` of a run directory (config.json with its checksum)."""
    from safetensors.numpy import save
    from tiny_models import make_checkpoint, sinusoid_weights

    from lens.checkpoint import save_run

    primes = FULL_PRIMES if model == "full" else UPLOAD_PRIMES
    out = []
    for i in range(k):
        p = primes[i % len(primes)]
        freqs = [f for f in (1, 3, 5, 14, 35, 41) if f <= p // 2][: 3 if model == "tiny" else 5]
        if model == "full":
            weights = sinusoid_weights(p, freqs, seed=i, **FULL_DIMS)
        else:
            weights = make_checkpoint(p, freqs, seed=i).weights  # TINY_DIMS
        name = f"reader{i}-p{p}"
        if i % 2 == 0:
            out.append((f"{name}.safetensors", save(weights)))
            continue
        with tempfile.TemporaryDirectory() as tmp:
            run_dir = save_run(Path(tmp) / name, weights, {"kind": "seeded", "frac": 0.3, "seed": i})
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                for f in sorted(run_dir.rglob("*")):
                    zf.write(f, f"{name}/{f.relative_to(run_dir)}")
        out.append((f"{name}.zip", buf.getvalue()))
    return out


def upload_folders(pid: int) -> list[Path]:
    """The server's upload folders still on disk (ui/upload.py: prefix, owner pid inside)."""
    from ui.data import UPLOAD_PREFIX

    found = []
    for folder in Path(tempfile.gettempdir()).glob(f"{UPLOAD_PREFIX}*"):
        try:
            if int((folder / ".owner-pid").read_text()) == pid:
                found.append(folder)
        except (OSError, ValueError):
            continue
    return found
