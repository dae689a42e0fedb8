"""The Attention page's scopes: the lines each draws, its markers and its captions.

The scopes themselves are drawn by :func:`ui.scope_widget.show_scope`; what is here is what
the page hands it. Markers and captions are functions of the browser-side slice's index
dict (``{"c": 11, ...}``), called once per slice when the spec is built.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from lens.story.attention import Examples, RowAmplitudes, WaveDemo, default_a
from lens.waves import symmetry_points
from ui.scope import Marker
from ui.theme import num, pct

Index = dict[str, int]


def mirror_markers(c: int, p: int, a: int | None = None) -> list[Marker]:
    """Markers at the two mirror points of answer c; with ``a``, also at the example a and its
    partner b = (c - a) mod p, which sit mirrored about them."""
    m1, m2 = symmetry_points(c, p)
    pair = [] if a is None else [Marker(a, "a"), Marker((c - a) % p, "b")]
    return [*pair, Marker(m1, "c/2"), Marker(m2, "c/2 + p/2")]


# ---------------------------------------------------------------- the pairs that share an answer


def examples_lines(ex: Examples) -> dict[str, np.ndarray]:
    """The two tokens of every row, [c, row] each."""
    return {"a": ex.a, "b = (c − a) mod p": ex.b}


def examples_markers(p: int) -> Callable[[Index], list[Marker]]:
    return lambda idx: mirror_markers(idx["c"], p)


def examples_caption(p: int, ex: Examples) -> Callable[[Index], str]:
    """The example rows k and c − k, the self-paired row and the mirror points of answer c."""

    def caption(idx: Index) -> str:
        c, me = idx["c"], ex.self_paired[idx["c"]]
        m1, m2 = symmetry_points(c, p)
        k = default_a(p, c)
        return (
            f"row {k} holds ({k}, {(c - k) % p}), row {(c - k) % p} holds ({(c - k) % p}, {k}); "
            f"row {me} holds a = b = {me}; mirror points {num(m1, 'g')} and {num(m2, 'g')}"
        )

    return caption


# ---------------------------------------------------------------- resid_mid in c-order


def resid_mid_markers(p: int) -> Callable[[Index], list[Marker]]:
    """The mirror points of c, and the example pair p/8 either side of c/2."""
    return lambda idx: mirror_markers(idx["c"], p, default_a(p, idx["c"]))


def resid_mid_caption(p: int) -> Callable[[Index], str]:
    def caption(idx: Index) -> str:
        c = idx["c"]
        a = default_a(p, c)
        m1, m2 = symmetry_points(c, p)
        return (
            f"example ({a}, {(c - a) % p}) and its swap; "
            f"mirror points c/2 = {num(m1, 'g')} and c/2 + p/2 = {num(m2, 'g')}"
        )

    return caption


# ---------------------------------------------------------------- a wave plus its reflection


def wave_lines(demo: WaveDemo) -> dict[str, np.ndarray]:
    """The wave, its reflection and their sum, [c, n] each, drawn apart (w 3 higher, the sum
    4 lower) so the three curves do not overlap."""
    rows = demo.rows
    return {"w(n) + 3": rows[0] + 3, "w(c − n)": rows[1], "w(n) + w(c − n) − 4": rows[2] - 4}


def wave_markers(p: int) -> Callable[[Index], list[Marker]]:
    return lambda idx: mirror_markers(idx.get("c", 0), p)


def wave_caption(p: int) -> Callable[[Index], str]:
    def caption(idx: Index) -> str:
        cc = idx.get("c", 0)
        m1, m2 = symmetry_points(cc, p)
        return f"c = {cc}, c/2 = {num(m1, 'g')}, c/2 + p/2 = {num(m2, 'g')}"

    return caption


# ---------------------------------------------------------------- the idealised picture


def ideal_lines(ideal: np.ndarray, key_freqs: list[int], freq: int, rows: RowAmplitudes, c: int) -> dict:
    """The seed's cosine for ``freq``, from :func:`lens.story.attention.ideal`'s rows (one per
    key frequency, then their sum), beside the model's row for answer c along the same
    frequency's direction, scaled by the largest |A(c)| so that a row the fit matches exactly
    reaches +-1 where A(c) is largest. [a, n] each (the model's row does not depend on a)."""
    i = key_freqs.index(freq)
    model = rows.rows[i, c] / _largest(rows.amplitude[i])
    return {
        f"seed's ideal, f = {freq}": ideal[i],
        "model's row ÷ largest |A|": np.broadcast_to(model, ideal[i].shape),
    }


def _largest(x: np.ndarray) -> float:
    m = float(np.abs(x).max())
    return m if m > 0 else 1.0


def ideal_markers(p: int, c: int) -> Callable[[Index], list[Marker]]:
    """Answer c's mirror points, and the example a (the play axis) with its partner b."""
    return lambda idx: mirror_markers(c, p, idx.get("a", 0))


def ideal_caption(p: int, c: int) -> Callable[[Index], str]:
    def caption(idx: Index) -> str:
        aa = idx.get("a", 0)
        return f"{aa} + {(c - aa) % p} mod {p} = {c}"

    return caption


# ---------------------------------------------------------------- the amplitude A(c)


def amplitude_lines(rows: RowAmplitudes, freq: int) -> dict[str, np.ndarray]:
    """A(c) over the answers for one key frequency and its half-frequency fit, [c] each,
    scaled by the largest |A(c)|."""
    i = rows.key_freqs.index(freq)
    m = _largest(rows.amplitude[i])
    return {"A(c) ÷ largest |A|": rows.amplitude[i] / m, "half-frequency wave fitted": rows.half_wave[i] / m}


def amplitude_markers(c: int) -> Callable[[Index], list[Marker]]:
    return lambda idx: [Marker(c, f"c = {c}")]


def amplitude_caption(p: int, rows: RowAmplitudes, freq: int, c: int) -> Callable[[Index], str]:
    """Where the row of answer c peaks, read off the sign of A(c)."""
    i = rows.key_freqs.index(freq)
    amp = rows.amplitude[i, c] / _largest(rows.amplitude[i])
    m1, m2 = symmetry_points(c, p)
    if amp > 0:
        where = f"the row peaks at c/2 = {num(m1, 'g')}"
    elif freq % 2:  # cos(w (n - c/2)) at n = c/2 + p/2 is cos(pi f) = -1 for odd f
        where = f"c/2 = {num(m1, 'g')} is a trough and the peak is at c/2 + p/2 = {num(m2, 'g')}"
    else:
        where = f"c/2 = {num(m1, 'g')} and c/2 + p/2 = {num(m2, 'g')} are both troughs"
    shares = pct(rows.positive_share[i])
    text = (
        f"f = {freq}: A({c}) = {num(amp, '+.2f')} of its largest, so {where}; "
        f"A(c) > 0 for {shares} of the answers and changes sign {int(rows.sign_changes[i])} times"
    )
    return lambda idx: text


# ---------------------------------------------------------------- the heads' frequency gates


def gate_lines(scores: np.ndarray) -> dict[str, np.ndarray]:
    """Each head's score on a token, [token] each (``scores`` [head, token])."""
    return {f"head {h}": row for h, row in enumerate(scores)}


def gate_markers(gate_freq: list[int | None]) -> Callable[[Index], list[Marker]]:
    """Each head's leading frequency, in the Fourier views (none for a flat head)."""
    marks = [Marker(f, str(f), view="fourier") for f in sorted({f for f in gate_freq if f is not None})]
    return lambda idx: marks


def gate_caption(gate_freq: list[int | None], gate_share: np.ndarray) -> Callable[[Index], str]:
    """Each head's leading frequency and its share of the score's energy."""
    text = "; ".join(
        f"head {h}: " + ("flat" if f is None else f"{pct(s)} at f = {f}")
        for h, (f, s) in enumerate(zip(gate_freq, gate_share, strict=True))
    )
    return lambda idx: text


# ---------------------------------------------------------------- attention weights and the swap


def head_caption(mean_to: np.ndarray, gaps: np.ndarray) -> Callable[[Index], str]:
    """One head's mean weights (``mean_to`` [head, key]) and mean |a − b| gap (``gaps`` [head])."""

    def caption(idx: Index) -> str:
        h = idx.get("head", 0)
        return (
            f"head {h}: mean weight on a {num(mean_to[h, 0], '.3f')}, on b {num(mean_to[h, 1], '.3f')}, "
            f"on = {num(mean_to[h, 2], '.3f')}; mean |a − b| = {num(gaps[h], '.3f')}"
        )

    return caption


def swap_lines(resid_mid_swap: tuple[np.ndarray, np.ndarray, np.ndarray]) -> dict[str, np.ndarray]:
    """r(a, b), r(b, a) and their difference, [d_model, a, b] each
    (:func:`lens.story.attention.resid_mid_swap`)."""
    r_ab, r_ba, r_diff = resid_mid_swap
    return {"r(a, b)": r_ab, "r(b, a)": r_ba, "r(a, b) − r(b, a)": r_diff}
