"""Helpers for the AppTest page tests (basics, attention, wave transforms).

AppTest sees a chart only as its Vega-Lite spec (element type ``vega_lite_chart`` in
Streamlit 1.67; older releases called it ``arrow_vega_lite_chart``) plus its data, shipped as
Arrow datasets. These helpers read both, so a test can say "this widget changed that chart".
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

APP = Path(__file__).resolve().parent.parent / "app.py"


def routed_pages() -> list[str]:
    """The URL paths ``app.py`` routes, in its order (its ``SECTIONS`` then ``REFERENCE``), read
    from its source: the one list of pages, which the app itself cannot be imported for."""
    import ast

    tree = ast.parse(APP.read_text())
    found = {
        t.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name) and t.id in ("SECTIONS", "REFERENCE")
    }
    return [url for *_, url in found["SECTIONS"] + found["REFERENCE"]]


CHART_TYPES = ("vega_lite_chart", "arrow_vega_lite_chart")
MAX_POINTS = 50_000  # the browser budget per chart (ui/scope.py)


@dataclass
class Chart:
    spec: dict
    frames: list[pd.DataFrame]
    fingerprint: str  # spec and data together: changes when either does

    @property
    def text(self) -> str:
        """The spec as JSON plus every string in the data (titles, captions, marker labels)."""
        labels = [
            str(v)
            for df in self.frames
            for col in df.columns
            if df[col].dtype == object or isinstance(df[col].dtype, pd.CategoricalDtype)
            for v in df[col].unique()
        ]
        return json.dumps(self.spec, ensure_ascii=False) + "\n" + "\n".join(labels)

    @property
    def title(self) -> str:
        """The chart's title as text (see :func:`title_text`)."""
        return title_text(self.spec, self.frames)

    @property
    def opening(self) -> int:
        """The play index a scope opens on: the browser reads it from the scope's info rows."""
        (start,) = {int(v) for df in self.frames if "start" in df.columns for v in df["start"]}
        return start

    @property
    def rows(self) -> int:
        inline = (
            len(self.spec.get("data", {}).get("values", [])) if isinstance(self.spec.get("data"), dict) else 0
        )
        return sum(len(df) for df in self.frames) + inline


def title_text(spec: dict, frames: list[pd.DataFrame]) -> str:
    """A chart's title lines as text. A scope writes its title, indices and caption in its info
    rows (the browser reads them there, per play slice: here the first slice's); any other
    chart has its title in the spec (a string, or an expression kept as written)."""
    info = [df for df in frames if {"title", "head", "caption"} <= set(df.columns)]
    if info:
        return "\n".join(str(info[0][col][0]) for col in ("title", "head", "caption"))
    t = spec.get("title", "")
    t = t.get("text", "") if isinstance(t, dict) else t
    return t["expr"] if isinstance(t, dict) else str(t)


def charts(at) -> list[Chart]:
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    out = []
    for kind in CHART_TYPES:
        for el in at.get(kind):
            frames = [convert_arrow_bytes_to_pandas_df(ds.data.data) for ds in el.proto.datasets]
            h = hashlib.sha256(el.proto.spec.encode())
            for ds in el.proto.datasets:
                h.update(ds.data.data)
            out.append(Chart(json.loads(el.proto.spec), frames, h.hexdigest()))
    return out


def scope_slices(frames: list[pd.DataFrame]) -> dict[int, "np.ndarray"]:
    """A scope's values, decoded as the browser decodes them: ``{play index: that slice's
    values}`` (play -1: the lines that are the same on every slice, sent once). Beside them
    it sends the points of one slice (their line and x), which look their values up."""
    from ui.scope_codec import decoded

    (values,) = [df for df in frames if {"play", "s", "lo", "q"} <= set(df.columns)]
    return decoded(values)


def scope_values(frames: list[pd.DataFrame]) -> int:
    """How many values a scope ships (every browser-side slice, the unmoving lines once)."""
    return sum(len(v) for v in scope_slices(frames).values())


def chart_with(at, needle: str) -> Chart:
    """The one chart whose spec or data labels contain ``needle`` (e.g. a title)."""
    found = [c for c in charts(at) if needle in c.text]
    assert len(found) == 1, f"expected one chart containing {needle!r}, found {len(found)}"
    return found[0]


def markdown(at) -> str:
    return "\n".join(m.value for m in at.markdown)


@contextmanager
def reference_env(path: Path):
    """``LENS_CHECKPOINT`` pointing at ``path`` for the duration (restored afterwards)."""
    old = os.environ.get("LENS_CHECKPOINT")
    os.environ["LENS_CHECKPOINT"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("LENS_CHECKPOINT", None)
        else:
            os.environ["LENS_CHECKPOINT"] = old


@contextmanager
def no_checkpoint_env():
    """No ``LENS_CHECKPOINT`` for the duration: the app shows its embedded default model."""
    old = os.environ.pop("LENS_CHECKPOINT", None)
    try:
        yield
    finally:
        if old is not None:
            os.environ["LENS_CHECKPOINT"] = old


def open_page(page: str | None, params: dict | None = None):
    """A fresh session of the whole app opened straight on ``page`` (``None``: the default
    page), with ``params`` in its URL's query string.

    The model run is cached process-wide by ``st.cache_resource``, so only the first call in
    a test session pays for it."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=180)
    at.query_params.update(params or {})
    if page is not None:
        at.switch_page(page)
    at.run()
    return at


def tiny_run_dir(tmp_path: Path, p: int) -> Path:
    """A tiny sinusoidal model for prime ``p`` saved as a run directory (milliseconds), so a
    page can be opened on a p other than the reference's."""
    from tiny_models import make_checkpoint

    from lens.checkpoint import save_run

    ck = make_checkpoint(p)
    return save_run(tmp_path / f"tiny-p{p}", ck.weights, ck.split)


def app_run(path: Path):
    """The run the app has cached for the checkpoint at ``path`` (the same object the pages use)."""
    from ui.data import run as cached_run

    return cached_run(str(Path(path).resolve()))
