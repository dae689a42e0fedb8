"""The tensor scope's value codec: numbers as fixed-width base-36 text, one string per slice.

Values travel as text: each value a fixed-width base-36 code (:data:`CODE_WIDTH` characters,
:data:`CODE_LEVELS` steps across the data's range: rounded to within 1/120 000 000 of it), a
slice's values one string. The browser then takes in one row per slice, not one per value: a
server slider that sends a new tensor costs it a few hundred rows instead of tens of thousands
of objects.

Both ends of the format live here, so that a change to it is made in one place: the encoder
(:func:`encoded`, run by the server), the decoder the browser runs (:func:`browser_decoder`,
Vega-Lite transforms) and the same decoding in Python (:func:`decoded`, for tests).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CODE_WIDTH = 5
CODE_GAP = 36**CODE_WIDTH - 1  # "zzzzz": a missing value (NaN or infinite), drawn as a gap
CODE_LEVELS = CODE_GAP - 1
_DIGITS = np.frombuffer(b"0123456789abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)


def encoded(rows: list[np.ndarray], plays: list[np.ndarray]) -> pd.DataFrame:
    """``rows`` (2-D blocks, one row per slice) as the values table: ``play``, ``s`` (the row's
    values as fixed-width base-36 codes), and the decoding ``lo`` and ``q``: a value is
    ``lo + int(code, 36) * q``, and the code :data:`CODE_GAP` is a missing one (NaN or
    infinite in the data; the browser draws a gap). One scale for all rows, from the range of
    the data's finite values."""
    every = np.concatenate([r.reshape(-1) for r in rows]).astype(np.float64)
    finite = every[np.isfinite(every)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 0.0
    q = (hi - lo) / CODE_LEVELS if hi > lo else 1.0
    texts = []
    for block in rows:
        block = block.astype(np.float64)
        with np.errstate(invalid="ignore"):
            codes = np.clip(np.rint((block - lo) / q), 0, CODE_LEVELS)
        codes = np.where(np.isfinite(block), codes, CODE_GAP).astype(np.int64)
        digits = np.stack([(codes // 36**k) % 36 for k in range(CODE_WIDTH - 1, -1, -1)], axis=-1)
        chars = _DIGITS[digits].reshape(len(block), -1)
        texts += [bytes(r).decode("ascii") for r in chars]
    n = len(texts)
    return pd.DataFrame({"play": np.concatenate(plays), "s": texts, "lo": np.full(n, lo), "q": np.full(n, q)})


def browser_decoder(shown: str, values: str) -> list[dict]:
    """The Vega-Lite transforms by which each point finds the row of the slice ``shown`` (a
    Vega expression: the play parameter, or a fixed index) in the dataset named ``values``,
    or the row of play -1 when the point's line does not move (``datum.moves`` is 0), and
    decodes its own value (code number ``datum.i`` of that row's string) into ``y``; a gap
    code becomes null."""
    return [
        {"calculate": f"datum.moves ? {shown} : -1", "as": "k"},
        {"lookup": "k", "from": {"data": {"name": values}, "key": "play", "fields": ["s", "lo", "q"]}},
        {
            "calculate": f"parseInt(substring(datum.s, datum.i * {CODE_WIDTH}, datum.i * {CODE_WIDTH} + {CODE_WIDTH}), 36)",
            "as": "code",
        },
        {"calculate": f"datum.code == {CODE_GAP} ? null : datum.lo + datum.code * datum.q", "as": "y"},
    ]


def decoded(values: pd.DataFrame | list[dict]) -> dict[int, np.ndarray]:
    """The values table back as numbers, ``{play: values of that slice}`` (play -1: the
    unmoving lines; NaN: a missing value), decoded as the browser decodes them. For tests."""
    rows = values.to_dict(orient="records") if isinstance(values, pd.DataFrame) else values
    out = {}
    for r in rows:
        s = r["s"]
        codes = np.array([int(s[k : k + CODE_WIDTH], 36) for k in range(0, len(s), CODE_WIDTH)])
        out[int(r["play"])] = np.where(codes == CODE_GAP, np.nan, r["lo"] + codes.astype(np.float64) * r["q"])
    return out


def encoded_count(rows: pd.DataFrame | list[dict]) -> int | None:
    """How many values a values table encodes (its columns ``s`` and ``q`` mark it as one), or
    None for any other table (DataFrame or records)."""
    if isinstance(rows, pd.DataFrame):
        if "s" in rows.columns and "q" in rows.columns:
            return sum(map(len, rows["s"])) // CODE_WIDTH
        return None
    if rows and isinstance(rows[0], dict) and "s" in rows[0] and "q" in rows[0]:
        return sum(len(r["s"]) for r in rows) // CODE_WIDTH
    return None
