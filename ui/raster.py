"""Maps of p x p cells drawn as one image instead of p² marks.

A Vega-Lite heat map of the 12 769 pairs (a, b) at p = 113 is 12 769 rect marks: the
browser evaluates their transforms and draws them one by one, about half a second on a
classroom laptop, and again on every redraw. The same map as one PNG is one image mark:
drawn in a few milliseconds, and sent inside the spec (a data URL), so a chart whose only
change is a small overlay keeps its spec and the browser just swaps that overlay's rows.

Footgun: the browser scales the image to the plot with smoothing on (Vega-Lite has no
switch for it), which would blur neighbouring cells together; each cell is therefore
written as a square of pixels, enough for the image to be about ``IMAGE_PX`` wide (4 x 4 at
p = 113), so the scaling is small and the blur stays inside the cell's edge; a large p gets
one pixel a cell, so the image never grows past what the plot can show.
"""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np

IMAGE_PX = 452  # about the plot's width on a laptop


def png_bytes(rgb: np.ndarray) -> bytes:
    """An 8-bit RGB PNG of ``rgb`` [rows, cols, 3] (uint8), unfiltered, zlib level 9."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected [rows, cols, 3] RGB, got shape {rgb.shape}")
    h, w, _ = rgb.shape
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rgb.reshape(h, 3 * w)], axis=1)  # filter 0

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8 bits, RGB, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
        + chunk(b"IEND", b"")
    )


def cells_data_url(rgb: np.ndarray, cell_px: int | None = None) -> str:
    """``rgb`` [rows, cols, 3], each cell written as ``cell_px`` square pixels (default: about
    ``IMAGE_PX`` across in all, at least 1), as a PNG data URL."""
    if cell_px is None:
        cell_px = max(1, round(IMAGE_PX / max(rgb.shape[:2])))
    big = np.repeat(np.repeat(np.asarray(rgb, dtype=np.uint8), cell_px, axis=0), cell_px, axis=1)
    return "data:image/png;base64," + base64.b64encode(png_bytes(big)).decode("ascii")


def hex_rgb(colour: str) -> np.ndarray:
    """``"#RRGGBB"`` as a uint8 [3] array."""
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)


def sinebow(t: np.ndarray) -> np.ndarray:
    """d3's cyclic "sinebow" colour scheme at ``t`` in [0, 1] (Vega's ``sinebow``), uint8 [..., 3],
    so an image matches a legend drawn by Vega with that scheme."""
    angle = (0.5 - np.asarray(t, dtype=np.float64)) * np.pi
    channels = [np.sin(angle + k * np.pi / 3) ** 2 for k in range(3)]
    return np.clip(np.round(255 * np.stack(channels, axis=-1)), 0, 255).astype(np.uint8)


def grid_layer(url: str, n_rows: int, n_cols: int, x_title: str, y_title: str, ticks: list[int]) -> dict:
    """An image layer covering cells 0..n_cols-1 (x) by 0..n_rows-1 (y, row 0 at the top), with
    quantitative scales whose integer positions are the cells' centres."""

    def position(n: int, title: str, axis_extra: dict, reverse: bool) -> dict:
        return {
            "datum": -0.5,
            "type": "quantitative",
            "title": title,
            "scale": {"domain": [-0.5, n - 0.5], "nice": False, "zero": False, "reverse": reverse},
            "axis": {"values": ticks, **axis_extra},
        }

    return {
        "data": {"values": [{"url": url}]},
        "mark": {"type": "image", "aspect": False},
        "encoding": {
            "x": position(n_cols, x_title, {"labelAngle": 0}, False),
            "x2": {"datum": n_cols - 0.5},
            "y": position(n_rows, y_title, {}, True),
            "y2": {"datum": n_rows - 0.5},
            "url": {"field": "url", "type": "nominal"},
        },
    }
