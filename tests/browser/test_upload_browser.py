"""Upload your own checkpoint, in a real browser, with two readers at once.

Reader A uploads a good checkpoint (a tiny p = 13 model saved as a single ``.safetensors``)
and sees p = 13 while reader B, in a second browser context (its own cookies, its own
Streamlit session), still sees the default model (p = 113). A then uploads garbage, gets the
one-line refusal, and keeps p = 13. When A's tab closes, the server removes A's upload
folder (Streamlit's session-scoped ``on_release``, see ui/upload.py).

The app runs in a server of this module's own, whose temporary folder (``TMPDIR``) is a fresh
one, so that the test sees every upload folder the server makes. The browsers run in a
thread of their own: Playwright's sync API refuses a second instance in a thread whose event
loop the session's ``chromium`` fixture (tests/browser/conftest.py) may already hold.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from browser_harness import CHROMIUM_ARGS, ConsoleWatch, StreamlitServer, app_env

pytestmark = pytest.mark.browser

PREFIX = "lens-upload-"  # ui.data.UPLOAD_PREFIX (not imported: that would import streamlit's app layer)
SIDEBAR = '[data-testid="stSidebar"]'
CAPTION = f'{SIDEBAR} [data-testid="stCaptionContainer"]'
FILE_INPUT = f'{SIDEBAR} input[type="file"]'
SIDEBAR_ERROR = f'{SIDEBAR} [data-testid="stAlertContentError"]'


def tiny_safetensors() -> bytes:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from safetensors.numpy import save
    from tiny_models import make_checkpoint

    return save(make_checkpoint(13).weights)


def _caption(page) -> str:
    texts = [t.strip() for t in page.locator(CAPTION).all_inner_texts()]
    return next((t for t in texts if t.startswith("Model:")), "")


def _wait_caption(page, needle: str, timeout: float = 120.0) -> float:
    """Seconds until the sidebar's model caption contains ``needle``."""
    start = time.perf_counter()
    page.wait_for_function(
        """([sel, needle]) => [...document.querySelectorAll(sel)].some(
            (e) => e.innerText.startsWith('Model:') && e.innerText.includes(needle))""",
        arg=[CAPTION, needle],
        timeout=timeout * 1000,
    )
    return time.perf_counter() - start


def _upload(page, name: str, content: bytes) -> None:
    page.locator(FILE_INPUT).set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": content}]
    )


def _folders(root: Path) -> list[Path]:
    return sorted(root.glob(f"{PREFIX}*"))


def _story(chromium_path: str, base: str, tmp: Path) -> dict:
    from playwright.sync_api import sync_playwright

    seen: dict = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        try:
            ctx_a = browser.new_context(viewport={"width": 1400, "height": 1000})
            ctx_b = browser.new_context(viewport={"width": 1400, "height": 1000})
            a, b = ctx_a.new_page(), ctx_b.new_page()
            console = {"A": ConsoleWatch(origin=base).attach(a), "B": ConsoleWatch(origin=base).attach(b)}
            for page in (a, b):
                page.goto(base, wait_until="domcontentloaded", timeout=60_000)
            for page in (a, b):
                _wait_caption(page, "(p = 113)", timeout=240)
            seen["before"] = {"A": _caption(a), "B": _caption(b)}

            t0 = time.perf_counter()
            _upload(a, "tiny-p13.safetensors", tiny_safetensors())
            _wait_caption(a, "(p = 13)")
            seen["upload_s"] = time.perf_counter() - t0
            seen["after_upload"] = {"A": _caption(a), "B": _caption(b), "folders": len(_folders(tmp))}
            seen["url_a"] = a.url
            b.reload(wait_until="domcontentloaded")  # a fresh run of B's page: still the default
            _wait_caption(b, "(p = 113)")
            seen["b_after_reload"] = _caption(b)

            t0 = time.perf_counter()
            _upload(a, "garbage.pth", os.urandom(4096))
            a.locator(SIDEBAR_ERROR).first.wait_for(timeout=60_000)
            seen["refusal_s"] = time.perf_counter() - t0
            seen["refusal"] = [t.strip() for t in a.locator(SIDEBAR_ERROR).all_inner_texts()]
            a.wait_for_timeout(500)
            seen["after_garbage"] = {"A": _caption(a), "B": _caption(b), "folders": len(_folders(tmp))}

            # A widget change after the upload: the browser still names the uploaded file,
            # which Streamlit then reports as deleted (its copy was dropped once read).
            box = a.locator('[data-testid="stNumberInput"] input').first
            box.click()
            box.press("ArrowUp")
            a.wait_for_timeout(3000)
            _wait_caption(a, "(p = 13)")
            seen["after_widget"] = {
                "A": _caption(a),
                "exceptions": a.locator('[data-testid="stException"]').count(),
                "errors": [t.strip() for t in a.locator(SIDEBAR_ERROR).all_inner_texts()],
            }
            seen["console"] = {k: list(v.errors) for k, v in console.items()}

            t0 = time.perf_counter()
            ctx_a.close()  # A leaves: the websocket closes and the session's resources go
            while _folders(tmp) and time.perf_counter() - t0 < 30:
                time.sleep(0.1)
            left = [f.name for f in _folders(tmp)]
            seen["after_close"] = {"folders": len(left), "left": left, "seconds": time.perf_counter() - t0}
            ctx_b.close()
        finally:
            browser.close()
    return seen


@contextmanager
def _removed(folder: Path):
    try:
        yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def story(chromium_path):
    tmp = Path(tempfile.mkdtemp(prefix="upload-browser-tmp-"))
    env = {**app_env(), "TMPDIR": str(tmp)}
    with StreamlitServer("app.py", env=env) as server, _removed(tmp):
        server.wait_healthy(timeout=120)
        out: dict = {}

        def go() -> None:
            try:
                out["seen"] = _story(chromium_path, server.url, tmp)
            except BaseException as err:  # noqa: BLE001 - re-raised in the test's thread
                out["error"] = err

        worker = threading.Thread(target=go, daemon=True)
        worker.start()
        worker.join(timeout=600)
        log = server.log()
    if (err := out.get("error")) is not None:
        raise RuntimeError(f"the browser story failed: {err!r}\nserver log:\n{log}") from err
    assert "seen" in out, f"the browser story did not finish in 600 s\nserver log:\n{log}"
    print(f"\nupload round trip {out['seen']['upload_s']:.2f} s, refusal {out['seen']['refusal_s']:.2f} s, "
          f"folder removed {out['seen']['after_close']['seconds']:.2f} s after A's tab closed")  # fmt: skip
    return out["seen"]


def test_an_upload_is_for_reader_a_alone(story):
    assert "your upload" not in story["before"]["A"] and "(p = 113)" in story["before"]["B"]
    assert story["after_upload"]["A"] == "Model: your upload: tiny-p13.safetensors (p = 13)"
    assert "(p = 113)" in story["after_upload"]["B"] and "upload" not in story["after_upload"]["B"]
    assert "(p = 113)" in story["b_after_reload"]
    assert story["after_upload"]["folders"] == 1


def test_garbage_is_refused_in_one_line_and_a_keeps_the_model(story):
    (refusal,) = story["refusal"]
    assert refusal.startswith("That file was refused, so the model stays as it was. garbage.pth: ")
    assert "\n" not in refusal and PREFIX not in refusal
    assert story["after_garbage"]["A"] == "Model: your upload: tiny-p13.safetensors (p = 13)"
    assert "(p = 113)" in story["after_garbage"]["B"]
    assert story["after_garbage"]["folders"] == 1  # the refused file's folder is already gone


def test_a_widget_change_after_the_upload_keeps_it(story):
    after = story["after_widget"]
    assert after["exceptions"] == 0 and "(p = 13)" in after["A"], after


def test_no_link_names_the_upload(story):
    assert "tiny" not in story["url_a"] and PREFIX not in story["url_a"]


def test_the_folder_goes_when_the_session_ends(story):
    assert story["after_close"]["folders"] == 0, story["after_close"]["left"]


def test_consoles_are_clean(story):
    assert story["console"] == {"A": [], "B": []}
