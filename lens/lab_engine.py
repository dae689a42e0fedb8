"""The ablation lab's engine (:mod:`lens.lab` holds the choices, the controls and the result):
a 2-D Fourier filter over (a, b) that serves many frequency sets from one signal, and the
logits after an edit at any hook, recomputed from there on.

Speed is the point: an ablation with its 20 random controls is 21 edits of one activation,
each followed by the rest of the forward pass over all p * p pairs. So what does not depend
on the edit is computed once per ablation (:class:`Hook`): the model upstream of the hook,
attention's key and value tables, the readout. Each edit then costs the few lines of the
signal's transform that it touches (:class:`Spectrum`) and the part of the forward pass the edit
really changes, run over tiles of pairs so that every step stays in the CPU's
cache (measured on this project's 2-core machine at p = 113: the attention hooks' mixing and
readout took 30 ms of CPU per edit in blocks against 55 ms in one piece; ``bench/lab.py``
times whole ablations).

The results are those of :func:`lens.run.forward_from` on the edited activation, to
float32 rounding (``tests/lab_reference.py`` keeps that step-by-step path to compare).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import fourier
from .run import Run

# Which part of the forward pass an edit at each hook re-runs (see :class:`Hook`).
STAGES = {
    "embed": "attention",
    "scores": "attention",
    "pattern": "attention",
    "attn_out": "mlp",
    "resid_mid": "mlp",
    "pre": "mlp",
    "post": "linear",
    "mlp_out": "linear",
    "resid_post": "linear",
    "logits": "linear",
}
BLOCK_BYTES = 1 << 20  # one block of rows a: about a megabyte, inside a core's L2


@lru_cache(maxsize=8)
def _basis(p: int, dtype: str) -> np.ndarray:
    out = fourier.basis(p).astype(dtype)
    out.setflags(write=False)
    return out


def _tiles(p: int, bytes_per_pair: int) -> list[tuple[int, int, int, int]]:
    """``(a0, a1, b0, b1)``: tiles of the p x p pairs, each about :data:`BLOCK_BYTES`, b in
    three strips. Tiles, not whole rows of a: a line's share over b is then read a strip at
    a time, which keeps it in cache too (measured: 37 against 50 ms per edit at resid_mid)."""
    width = -(-p // 3)
    height = max(1, min(p, BLOCK_BYTES // max(1, width * bytes_per_pair)))
    return [
        (a0, min(p, a0 + height), b0, min(p, b0 + width))
        for a0 in range(0, p, height)
        for b0 in range(0, p, width)
    ]


# ---------------------------------------------------------------- the filter


def _cover(
    m: np.ndarray, limit: float = np.inf
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]] | None:
    """Lines that cover the selected bins ``m`` ``[basis row a, basis row b]``, greedily (the
    row or column with the most bins left first): ``{row: its bins}``, ``{column: its bins}``,
    every bin in exactly one line; ``None`` once more than ``limit`` lines would be needed.
    The lab's masks are unions of a few rows, columns and 2 x 2 blocks, which this covers
    with the fewest lines."""
    left = np.array(m, dtype=bool)
    rows: dict[int, np.ndarray] = {}
    cols: dict[int, np.ndarray] = {}
    while True:
        per_row, per_col = left.sum(axis=1), left.sum(axis=0)
        r, c = int(per_row.argmax()), int(per_col.argmax())
        if per_row[r] == 0:
            return rows, cols
        if len(rows) + len(cols) >= limit:
            return None
        if per_row[r] >= per_col[c]:
            rows[r], left[r] = left[r].copy(), False
        else:
            cols[c], left[:, c] = left[:, c].copy(), False


def _line_cost(bins: np.ndarray) -> int:
    """Work to build one line's share from its transform: nothing for a full line, else
    a projection on the fewer of its bins or the others."""
    k = int(bins.sum())
    return 0 if k == len(bins) else 2 * min(k, len(bins) - k)


def _project(full: np.ndarray, bins: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``full`` ``[p, d]`` (one line of a transform, its other axis in space) with only the
    basis rows ``bins`` of that axis."""
    k = int(bins.sum())
    if k == len(bins):
        return full
    if k <= len(bins) - k:
        sel = b[bins]
        return sel.T @ (sel @ full)
    sel = b[~bins]
    return full - sel.T @ (sel @ full)


class Spectrum:
    """A signal ``x`` ``[a, b, d]`` (float32 or float64, never written) to filter on the real
    Fourier basis over (a, b), per channel, once per :meth:`plan`.

    A filter keeps the bins ``keep`` of each channel's 2-D spectrum. The selected part (the
    kept bins or the removed ones, whichever is cheaper) is a sum over lines: a basis row r
    of a contributes ``B[r, a] * G_r[b, d]``, a basis row c of b ``B[c, b] * Y_c[a, d]``.
    Each line's share comes from that line of the transform along its own axis (a full line
    as it is, a partial one through its few bins), so an edit of a handful of frequencies
    costs a few rank-one products per channel, not four full transforms.

    A plan transforms only its own lines (:meth:`rows_of_a`, :meth:`columns_of_b`), never the
    whole signal: an ablation's 21 edits read about 1.5 transforms' worth of lines in all, and
    keeping both full transforms for them was the one-reader memory peak (64 MB at the
    ``attn_out`` hook, p = 113, against about 2 MB of lines per edit; with the split below,
    an ablation there went from 123 to 37 MB over what is held, its time unchanged within
    the noise of ``bench/lab.py``). ``whole``: transform the whole signal along each axis
    once, on first use, and read every plan's lines from it, for a small signal (the linear
    stage's p logit channels, 11.5 MB in float64 at p = 113), where the memory is small and
    no line is transformed twice."""

    def __init__(self, x: np.ndarray, whole: bool = False):
        if x.ndim != 3 or x.shape[0] != x.shape[1]:
            raise ValueError(f"expected a signal [a, b, channel] over p x p pairs, found {x.shape}")
        self.x, self.p = x, x.shape[0]
        self.b = _basis(self.p, x.dtype.name)
        self.whole = whole
        self._along_a = self._along_b = None

    def rows_of_a(self, rows: list[int]) -> np.ndarray:
        """The basis rows ``rows`` of the transform along a: ``[len(rows), b, d]``."""
        p = self.p
        if not self.whole:
            return (self.b[rows] @ self.x.reshape(p, -1)).reshape(len(rows), p, -1)
        if self._along_a is None:
            self._along_a = (self.b @ self.x.reshape(p, -1)).reshape(self.x.shape)
        return self._along_a[rows]

    def columns_of_b(self, cols: list[int]) -> np.ndarray:
        """The basis rows ``cols`` of the transform along b: ``[a, len(cols), d]``."""
        if not self.whole:
            return np.matmul(self.b[cols], self.x)
        if self._along_b is None:
            self._along_b = np.matmul(self.b, self.x)  # [a, row b, d]
        return self._along_b[:, cols]

    def plan(self, keep: np.ndarray) -> Plan:
        """How to build the signal with only the folded bins ``keep`` (``[K + 1, K + 1]``,
        as :func:`lens.fourier.filter_2d`)."""
        rows = fourier.basis_freqs(self.p)
        kept = np.asarray(keep, dtype=bool)[np.ix_(rows, rows)]  # [basis row a, basis row b]
        best = (np.inf, True, {}, {})
        # The selection with fewer bins first: its cost bounds the search for the other's cover.
        for selects_kept, m in sorted(((True, kept), (False, ~kept)), key=lambda o: int(o[1].sum())):
            if (found := _cover(m, limit=best[0])) is None:
                continue
            lines = list(found[0].values()) + list(found[1].values())
            cost = len(lines) + sum(_line_cost(v) for v in lines) / self.p + (0 if selects_kept else 1)
            if cost < best[0]:
                best = (cost, selects_kept, *found)
        return Plan(self, *best[1:])

    def filtered(self, keep: np.ndarray) -> np.ndarray:
        return self.plan(keep).block(0, self.p)


class Plan:
    """One filter of a :class:`Spectrum`, built block by block of rows a."""

    def __init__(self, s: Spectrum, selects_kept: bool, by_row: dict, by_col: dict):
        self.s, self.selects_kept = s, selects_kept
        self.by_row, self.by_col = by_row, by_col  # the cover: any signal of this p can share it
        p, d, b = s.p, s.x.shape[2], s.b
        self.rows = self.cols = None
        if by_row:
            at = s.rows_of_a(list(by_row))  # [lines, b, d]
            self.rows = b[list(by_row)]  # [lines, a]
            self.g = np.stack([_project(at[i], v, b) for i, v in enumerate(by_row.values())])
        if by_col:
            bt = s.columns_of_b(list(by_col))  # [a, lines, d]
            self.cols = np.ascontiguousarray(b[list(by_col)].T)  # [b, lines]
            self.y = np.stack([_project(bt[:, i], v, b) for i, v in enumerate(by_col.values())], axis=1)
        self.shape = (p, d)

    def block(self, a0: int, a1: int, b0: int = 0, b1: int | None = None) -> np.ndarray:
        """The tile ``[a0:a1, b0:b1]`` of the filtered signal ``[a1 - a0, b1 - b0, d]``: a
        new array."""
        p, d = self.shape
        b1 = p if b1 is None else b1
        shape = (a1 - a0, b1 - b0, d)
        part = None
        if self.rows is not None:
            g = self.g[:, b0:b1].reshape(len(self.g), -1)
            part = (self.rows[:, a0:a1].T @ g).reshape(shape)
        if self.cols is not None:
            by_col = np.matmul(self.cols[b0:b1], self.y[a0:a1])  # [b, lines] @ [a, lines, d]
            part = by_col if part is None else np.add(part, by_col, out=part)
        if part is None:
            part = np.zeros(shape, dtype=self.s.x.dtype)
        if self.selects_kept:
            return part
        return np.subtract(self.s.x[a0:a1, b0:b1], part, out=part)


def filter_ab(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``x`` ``[a, b, d]`` (float32 or float64, kept) with only the folded bins ``keep`` of its
    2-D spectrum over (a, b), per channel: the same as :func:`lens.fourier.filter_2d` (to
    1e-12 in float64), through :class:`Spectrum`."""
    return Spectrum(x).filtered(keep)


def _filter_tokens(table: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """``table`` ``[token, ...]`` with only the frequencies ``kept`` (``[K + 1]``) along the
    token axis, through whichever of the kept or removed basis rows are fewer."""
    p = table.shape[0]
    rows = np.asarray(kept, dtype=bool)[fourier.basis_freqs(p)]
    return _project(table.reshape(p, -1), rows, _basis(p, table.dtype.name)).reshape(table.shape)


def _softmax(scores: np.ndarray) -> np.ndarray:
    """Over the last axis (the three keys; the "=" query sees them all)."""
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


# ---------------------------------------------------------------- the hooks


class Hook:
    """One hook's signal over (a, b) and the logits ``[N, p]`` after an edit of it (:meth:`logits`).
    Built once per ablation and shared by its controls. Three stages, each an exact rewrite
    of the forward pass from the hook on:

    - ``linear`` (``post`` onwards): the logits are linear in the hook, and the filter
      commutes with any linear map over channels, so the p logit channels are filtered
      instead of the hook's, in float64.
    - ``mlp`` (``attn_out``, ``resid_mid``, ``pre``): the filter also commutes with ``W_in``
      and keeps the constant bin (0, 0), where the biases and the "=" token's residual
      live, so ``filter(resid_mid) @ W_in + b_in == filter(pre)``, and ``attn_out`` differs
      from ``resid_mid`` by a constant. The neurons' pre-activations are filtered directly
      (for ``attn_out`` and ``resid_mid``, with the residual's logits ``resid_mid @ W_U``, a
      second spectrum through the same cover), then one ReLU and one product with
      ``W_out @ W_U``, in float32.
    - ``attention`` (``embed``, ``scores``, ``pattern``): at "=" the attention output is a
      pattern-weighted sum over the three keys of per-(position, token) value tables. Taken
      through ``W_O`` and on through ``W_in`` and ``W_U`` once, the tables give the
      pre-activations and the residual's logits as products over n_heads, not two products
      over d_model for every pair. Each head's pattern sums to 1 over the keys (an edit that
      keeps the constant keeps the sum), so the "=" key's share is a constant. At ``embed``
      the tables are linear in the embedding too: the edit filters them along the tokens
      (the bins (fa, 0) at a's position, (0, fb) at b's).
    """

    def __init__(self, run: Run, hook: str):
        if hook not in STAGES:
            raise ValueError(f"hook must be one of {list(STAGES)}, not {hook!r}")
        self.run, self.hook, self.stage, p = run, hook, STAGES[hook], run.p
        w = {k: v.astype(np.float64) for k, v in run.weights.items()}
        acts = run.acts
        self.base = None  # what the logits add that the edit does not change
        self.residual = None  # attn_out, resid_mid: the residual's logits, filtered alike
        if self.stage == "linear":
            if hook == "logits":
                flat = run.logits.astype(np.float64)
            elif hook == "resid_post":
                flat = acts["resid_post"].astype(np.float64) @ w["W_U"]
            elif hook == "mlp_out":
                flat = acts["mlp_out"].astype(np.float64) @ w["W_U"]
                self.base = acts["resid_mid"].astype(np.float64) @ w["W_U"]
            else:
                flat = acts["post"].astype(np.float64) @ (w["W_out"] @ w["W_U"])
                self.base = (acts["resid_mid"].astype(np.float64) + w["b_out"]) @ w["W_U"]
            self.spectrum = Spectrum(_read_only(flat.reshape(p, p, -1)), whole=True)
            return
        self.d_mlp = w["W_in"].shape[1]
        self.readout = (w["W_out"] @ w["W_U"]).astype(np.float32)  # [d_mlp, p]
        bias = w["b_out"] @ w["W_U"]  # the MLP's output bias, read out: [p]
        if hook == "pre":
            self.base = ((acts["resid_mid"] + w["b_out"]) @ w["W_U"]).astype(np.float32)
            flat = acts["pre"]  # the shared run's array: viewed, read only
        elif self.stage == "mlp":
            # Two spectra planned alike, not one of their concatenation: the pre-activations
            # stay the shared run's read-only array (a concatenated copy was 32 MB more at
            # p = 113, and this hook was the one-reader memory peak).
            self.base = bias.astype(np.float32)
            resid = (acts["resid_mid"] @ w["W_U"]).astype(np.float32)
            self.residual = Spectrum(_read_only(resid.reshape(p, p, -1)))
            flat = acts["pre"]
        else:
            self._attention_tables(w, bias)
            if hook == "embed":
                return
            if hook == "scores":
                flat = self._scores_of(self.tables[0][:, :, 0], self.tables[1][:, :, 0]).reshape(p * p, -1)
            else:
                flat = acts["pattern"]  # [N, head, key]
        self.spectrum = Spectrum(_read_only(np.asarray(flat, dtype=np.float32).reshape(p, p, -1)))

    def _attention_tables(self, w: dict, bias: np.ndarray) -> None:
        """Per-token tables ``[token, head, 1 + C]`` at keys 0 (a) and 1 (b): the scaled
        score, then the value through ``W_O`` and on through ``W_in`` (d_mlp channels) and
        ``W_U`` (p), less the "=" key's; and the constant ``[C]`` every pair adds."""
        p, dh = self.run.p, w["W_Q"].shape[2]
        through = np.concatenate(
            [np.einsum("hed,dm->hem", w["W_O"], w["W_in"]), np.einsum("hed,dc->hec", w["W_O"], w["W_U"])],
            axis=-1,
        )  # [head, d_head, C]
        eq = w["W_E"][p] + w["W_pos"][2]  # the "=" token at its position: every pair's query
        q = np.einsum("d,hde->he", eq, w["W_Q"]) / np.sqrt(dh)
        t_eq = np.einsum("d,hde,hec->hc", eq, w["W_V"], through)  # [head, C]
        self.s_eq = np.einsum("d,hde,he->h", eq, w["W_K"], q)
        const = np.concatenate([eq @ w["W_in"] + w["b_in"], eq @ w["W_U"] + bias]) + t_eq.sum(axis=0)
        self.const = const.astype(np.float32)
        self.tables = []
        for pos in (0, 1):
            x = w["W_E"][:p] + w["W_pos"][pos]  # [token, d_model]
            s = np.einsum("vhe,he->vh", np.einsum("vd,hde->vhe", x, w["W_K"]), q)
            t = np.matmul(np.einsum("vd,hde->hve", x, w["W_V"]), through).transpose(1, 0, 2) - t_eq
            self.tables.append(np.concatenate([s[:, :, None], t], axis=-1))
        self.values = self._values(self.tables)

    def _values(self, tables: list) -> tuple[np.ndarray, np.ndarray]:
        """Key a's value table with the constant as one more head ``[token, head + 1, C]``
        (its pattern weight is 1), and key b's ``[token, head, C]``, float32."""
        t0, t1 = (tab[:, :, 1:] for tab in tables)
        t0 = np.concatenate([t0, np.broadcast_to(self.const, (len(t0), 1, t0.shape[2]))], axis=1)
        return np.ascontiguousarray(t0, dtype=np.float32), np.ascontiguousarray(t1, dtype=np.float32)

    def _scores_of(self, s0: np.ndarray, s1: np.ndarray) -> np.ndarray:
        """Attention's scaled scores ``[a, b, head, key]`` from the per-token score tables."""
        p, h = s0.shape
        out = np.empty((p, p, h, 3), dtype=np.float32)
        out[..., 0], out[..., 1], out[..., 2] = s0[:, None], s1[None, :], self.s_eq
        return out

    def logits(self, keep: np.ndarray, labels: np.ndarray | None = None):
        """The logits ``[N, p]`` (a-major) with only the folded bins ``keep`` of the hook's
        spectrum; ``keep`` keeps the constant (0, 0), as every :func:`lens.lab.keep_mask`.
        (Given ``labels``, what :meth:`losses` returns.)"""
        if not np.asarray(keep)[0, 0]:
            raise ValueError("an ablation keeps the constant bin (0, 0)")
        p = self.run.p
        if self.stage == "linear":
            out = self.spectrum.filtered(keep).reshape(p * p, -1)
            return out if self.base is None else np.add(out, self.base, out=out)
        if self.stage == "mlp":
            plans = [self.spectrum.plan(keep)]
            if self.residual is not None:  # the residual's logits, through the same cover
                plans.append(Plan(self.residual, plans[0].selects_kept, plans[0].by_row, plans[0].by_col))

            def parts(*tile: int) -> tuple[np.ndarray, np.ndarray | None]:
                blocks = [plan.block(*tile) for plan in plans]
                return blocks[0], blocks[1] if len(blocks) > 1 else None

            return self._tail(parts, sum(plan.shape[1] for plan in plans), labels)
        t0, t1 = self.values
        if self.hook == "embed":
            tabs = [
                _filter_tokens(tab, k) for tab, k in zip(self.tables, (keep[:, 0], keep[0, :]), strict=True)
            ]
            pattern = _softmax(self._scores_of(tabs[0][:, :, 0], tabs[1][:, :, 0]))
            t0, t1 = self._values(tabs)
        elif self.hook == "scores":
            pattern = _softmax(self.spectrum.filtered(keep).reshape(p, p, -1, 3))
        else:
            pattern = self.spectrum.filtered(keep).reshape(p, p, -1, 3)
        w0 = np.concatenate([pattern[..., 0], np.ones((p, p, 1), np.float32)], axis=-1)  # [a, b, head + 1]
        w1 = np.ascontiguousarray(pattern[..., 1].transpose(1, 0, 2))  # [b, a, head]

        d = self.d_mlp

        def parts(a0: int, a1: int, b0: int, b1: int) -> tuple[np.ndarray, np.ndarray]:
            out = np.matmul(w0[a0:a1, b0:b1], t0[a0:a1])  # over a: [a, b, head + 1] @ [a, head + 1, C]
            by_b = np.matmul(w1[b0:b1, a0:a1], t1[b0:b1])  # over b: [b, a, head] @ [b, head, C]
            out = np.add(out, by_b.transpose(1, 0, 2), out=out).reshape(-1, out.shape[-1])
            return out[:, :d], out[:, d:]  # the pre-activations, the residual's logits: views

        return self._tail(parts, t0.shape[2], labels)

    def losses(self, keep: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each pair's cross-entropy ``[N]`` (float64) and whether its top answer is wrong
        ``[N]``, after the edit ``keep`` (:meth:`logits`), scored block by block while the
        logits are in cache: the same numbers as :func:`losses` of the logits."""
        if self.stage == "linear":
            return losses(self.logits(keep), labels, overwrite=True)
        return self.logits(keep, labels)

    def _tail(self, parts, channels: int, labels: np.ndarray | None = None):
        """The logits from what ``parts(a0, a1, b0, b1)`` gives for a tile of pairs, float32:
        its pre-activations (d_mlp channels) and the residual's logits (p channels, or None;
        ``channels`` counts both, for the tile's size): the ReLU, then ``W_out @ W_U``, a
        tile at a time. Given ``labels``, each tile's :func:`losses` instead of the logits."""
        p, d = self.run.p, self.d_mlp
        logits = np.empty((p, p, p), dtype=np.float32)
        each, wrong = np.empty((p, p)), np.empty((p, p), dtype=bool)
        base = None if self.base is None else np.broadcast_to(self.base, (p * p, p)).reshape(p, p, p)
        by_ab = None if labels is None else labels.reshape(p, p)
        for a0, a1, b0, b1 in _tiles(p, channels * 4):
            pre, extra = parts(a0, a1, b0, b1)
            pre = pre.reshape(-1, d)  # a view: every part is a new array, scratch here
            tile = (slice(a0, a1), slice(b0, b1))
            np.maximum(pre, 0, out=pre)
            out = pre @ self.readout
            if base is not None:
                out += base[tile].reshape(out.shape)
            if extra is not None:
                out += extra.reshape(-1, p)
            if by_ab is None:
                logits[tile] = out.reshape(a1 - a0, b1 - b0, p)
            else:
                e, w = losses(out, by_ab[tile].ravel())
                each[tile], wrong[tile] = e.reshape(a1 - a0, -1), w.reshape(a1 - a0, -1)
        return logits.reshape(p * p, p) if labels is None else (each.ravel(), wrong.ravel())


def _read_only(x: np.ndarray) -> np.ndarray:
    x = x.view()
    x.flags.writeable = False
    return x


def losses(logits: np.ndarray, labels: np.ndarray, overwrite: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Each row's cross-entropy ``[N]`` (float64) and whether its argmax is not the label
    (``overwrite``: ``logits`` may be used as scratch).

    Float64 logits are scored in float64 (log-sum-exp, as :mod:`lens.metrics`). Float32 ones
    (the model's float32 forward) in float32, about 3x faster, written so that a loss near
    1e-7 keeps its digits: ``log1p`` of the other classes' exponentials beside the top
    class's, never ``log`` of a sum that rounds to 1 (tests hold it to float64 within 1e-5)."""
    z = np.asarray(logits)
    rows = np.arange(len(z))
    if z.dtype == np.float32:
        top = z.argmax(axis=1)
        m = z[rows, top]
        e = np.exp(z - m[:, None])
        e[rows, top] = 0
        return (m - z[rows, labels]).astype(np.float64) + np.log1p(e.sum(axis=1)), top != labels
    z = np.array(z, dtype=np.float64, copy=None if overwrite else True)
    top = z.argmax(axis=1)
    z -= z[rows, top][:, None]
    shifted = z[rows, labels]
    return np.log(np.exp(z, out=z).sum(axis=1)) - shifted, top != labels


def by_split(each: np.ndarray, wrong: np.ndarray, train: np.ndarray) -> tuple[dict, dict, np.ndarray]:
    """Mean loss and accuracy on train, test and all pairs (float64 means), and ``wrong``."""
    parts = {"train": train, "test": ~train, "all": np.ones_like(train)}
    loss = {s: float(each[m].mean()) if m.any() else float("nan") for s, m in parts.items()}
    acc = {s: float(1 - wrong[m].mean()) if m.any() else float("nan") for s, m in parts.items()}
    return loss, acc, wrong


def score(logits: np.ndarray, labels: np.ndarray, train: np.ndarray) -> tuple[dict, dict, np.ndarray]:
    """Cross-entropy and accuracy on train, test and all pairs, and which pairs are wrong
    ``[N]`` (:func:`losses`, :func:`by_split`)."""
    return by_split(*losses(logits, labels), train)
