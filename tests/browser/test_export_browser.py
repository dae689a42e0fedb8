"""Every chart's take-away in a real browser: the toolbar's PNG, the CSV and SVG buttons under
the chart (ui/export.py). Each download is read back: a PNG with its signature and a size,
the CSV byte for byte as the server's export of that chart, the SVG as an SVG document.

Run with ``pytest tests/browser/test_export_browser.py`` (see conftest.py for the skip
policy). The SVG test needs vl-convert-python (requirements.txt) and skips, saying so,
without it.
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from browser_harness import CHART, REFERENCE, WsWatch, wait_idle

pytestmark = pytest.mark.browser

# Streamlit draws each download button twice (a wide and a narrow layout), one of them hidden.
DOWNLOAD = '[data-testid="stDownloadButton"] button'


@pytest.fixture(scope="module")
def basics(app_server, chromium):
    page = chromium.new_page()
    ws = WsWatch().attach(page)
    page.goto(f"{app_server.url}/basics", wait_until="domcontentloaded", timeout=60_000)
    wait_idle(page, ws, since=0, timeout=240)
    page.wait_for_function(
        """(sel) => [...document.querySelectorAll(sel)].length >= 4 &&
            [...document.querySelectorAll(sel)].every((c) => {
                const m = c.querySelector('canvas, svg.marks');
                return m && m.getBoundingClientRect().width > 0;
            })""",
        arg=CHART,
        timeout=60_000,
    )
    yield page
    page.close()


def _download(page, click) -> bytes:
    with page.expect_download(timeout=60_000) as info:
        click()
    return Path(info.value.path()).read_bytes()


def _spectrum():
    """The Basics spectrum chart's spec and the CSV the server makes of it, computed here on
    the model the test server shows (the reference checkpoint beside the repository)."""
    if not REFERENCE.is_file():
        pytest.skip(f"reference checkpoint absent at {REFERENCE}")
    from lens.checkpoint import load
    from lens.run import run_model
    from ui import export
    from ui.figures.basics import spectrum_spec

    spec = spectrum_spec(run_model(load(str(REFERENCE)), engine="numpy", all_positions=False))
    return spec, export.csv_bytes(spec)


def test_the_toolbar_downloads_a_png_of_the_chart(basics):
    chart = basics.locator(CHART).last  # the spectrum
    # The chart's frame holds its toolbar (shown on hover). In the middle of the window, the
    # toolbar above the chart is clear of the app's header.
    frame = basics.locator(f'[data-testid="stFullScreenFrame"]:has({CHART})').last
    chart.evaluate("(e) => e.scrollIntoView({block: 'center'})")
    chart.hover()
    button = frame.get_by_role("button", name="Download as PNG")
    button.wait_for(state="visible", timeout=10_000)
    # A DOM click on the button itself: the toolbar can sit over the canvas's edge, and a
    # pointer click there may land on the canvas instead.
    png = _download(basics, lambda: button.dispatch_event("click"))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    box = chart.bounding_box()
    assert width >= box["width"] * 0.9 and height > 100


def test_the_csv_button_downloads_the_charts_data_with_its_axis_titles(basics):
    spec, expected = _spectrum()
    buttons = basics.locator(f"{DOWNLOAD}:visible", has_text="Data (CSV)")
    assert buttons.count() == basics.locator(CHART).count()  # one per chart
    buttons.last.evaluate("(e) => e.scrollIntoView({block: 'center'})")
    got = _download(basics, buttons.last.click)
    assert got == expected
    header = got.decode().splitlines()[0].split(",")
    x_title = (
        spec["layer"][0]["encoding"]["x"]["title"] if "layer" in spec else spec["encoding"]["x"]["title"]
    )
    assert x_title in header


def test_the_svg_button_downloads_an_svg_of_the_chart(basics):
    from ui import export

    if not export.svg_available():
        pytest.skip("vl-convert-python is not installed (requirements.txt lists it): no SVG export")
    buttons = basics.locator(f"{DOWNLOAD}:visible", has_text="Image (SVG)")
    assert buttons.count() == basics.locator(CHART).count()
    buttons.last.evaluate("(e) => e.scrollIntoView({block: 'center'})")
    svg = _download(basics, buttons.last.click).decode()
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg") and float(root.get("width")) > 0
    spec, _ = _spectrum()
    assert "frequency" in svg


def test_an_image_maps_csv_button_downloads_one_row_per_pair(basics):
    """The answer map is one image (ui/raster.py): its CSV still holds its p² cells, named by
    the map's axes and its tooltip (ui/figures/basics.answer_cells)."""
    buttons = basics.locator(f"{DOWNLOAD}:visible", has_text="Data (CSV)")
    buttons.first.evaluate("(e) => e.scrollIntoView({block: 'center'})")  # the first chart: the answer map
    rows = _download(basics, buttons.first.click).decode().splitlines()
    assert rows[0] == "a,b,answer c"
    p = round((len(rows) - 1) ** 0.5)
    assert p * p == len(rows) - 1 and p > 2
    a, b, c = (int(v) for v in rows[1 + 3 * p + 5].split(","))  # the pair (3, 5)
    assert (a, b, c) == (3, 5, 8 % p)
