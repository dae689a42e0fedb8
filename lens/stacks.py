"""Stacks of waves computed a slice at a time, for what a chart shows one slice of.

A running sum over a group's neurons (:func:`lens.waves.running_sums`) is ``[neuron, a, b]``:
at p = 113 and 209 neurons, 10.7 MB per curve in float32, three curves per chart and one
chart per residual direction a reader picks. The page shows one neuron slice of it at a time
(the neuron axis is a server slider), so :class:`RunningStack` holds only the waves it sums
(the group's own read-only pre-activations, shared) and their weights, and computes what is
asked for when it is asked: ``stack[k]`` is the sum over neurons 0..k, a few milliseconds.

It behaves like a read-only float32 array for what the tensor scope needs: ``shape``,
``ndim``, ``dtype``, ``len``, basic indexing (ints and slices; the trailing axes are picked
before anything is summed, so ``stack[:, a]`` costs one row per neuron), ``np.asarray``
(the whole stack, for tests), and :meth:`RunningStack.blocks`, consecutive neuron blocks
computed with a carried total, for a pass over every value (a chart's fixed value range)
without holding the stack.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np
from jaxtyping import Float

CHUNK = 32  # neurons per product: bounds what one slice allocates (CHUNK * p * p float64)


class RunningStack:
    """``[neuron, *rest]``: slice k is ``sum_{j <= k} w_j f(x_j)`` (``cumulative``), or
    ``scale * w_k f(x_k)`` alone; ``f`` is the ReLU (``relu``) or the identity.

    ``waves`` is held, not copied: pass a read-only array (it is shared by every reader).
    Values are float32 (what a chart draws); the sums are accumulated in float64."""

    def __init__(
        self,
        waves: Float[np.ndarray, "neuron ..."],
        weights: Float[np.ndarray, " neuron"],
        *,
        relu: bool,
        cumulative: bool,
        scale: float = 1.0,
    ):
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (len(waves),):
            raise ValueError(f"weights: expected shape ({len(waves)},), found {weights.shape}")
        self.waves = waves
        self.weights = weights * scale
        self.relu, self.cumulative = relu, cumulative
        self.weights.setflags(write=False)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.waves.shape)

    @property
    def ndim(self) -> int:
        return self.waves.ndim

    dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return len(self.waves)

    def _f(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0, dtype=np.float64) if self.relu else x.astype(np.float64)

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        if any(k is Ellipsis or k is None for k in key):
            raise IndexError("a RunningStack takes ints and slices only")
        first, rest = (key[0], key[1:]) if key else (slice(None), ())
        sub = self.waves[(slice(None), *rest)]  # the trailing axes first: f and sums commute
        n = len(sub)
        if isinstance(first, slice):
            return self._all(sub)[first]
        k = int(first)
        if not -n <= k < n:
            raise IndexError(f"index {k} out of range for {n} neurons")
        k %= n
        if not self.cumulative:
            return (self.weights[k] * self._f(sub[k])).astype(np.float32)
        return self._sum(sub, k + 1).astype(np.float32)

    def _sum(self, sub: np.ndarray, n: int) -> np.ndarray:
        """``sum_{j < n} w_j f(sub_j)`` in float64, ``CHUNK`` neurons at a time."""
        acc = np.zeros(sub.shape[1:])
        for lo in range(0, n, CHUNK):
            hi = min(lo + CHUNK, n)
            acc += np.tensordot(self.weights[lo:hi], self._f(sub[lo:hi]), axes=1)
        return acc

    def total(self) -> np.ndarray:
        """``sum_j w_j f(x_j)`` over every neuron, float64 (the last slice of the running sum)."""
        return self._sum(self.waves, len(self.waves))

    def _all(self, sub: np.ndarray) -> np.ndarray:
        out = np.empty(sub.shape, dtype=np.float32)
        for lo, block in self._blocks(sub, CHUNK):
            out[lo : lo + len(block)] = block
        return out

    def _blocks(self, sub: np.ndarray, rows: int) -> Iterator[tuple[int, np.ndarray]]:
        carry = np.zeros(sub.shape[1:])
        for lo in range(0, len(sub), rows):
            hi = min(lo + rows, len(sub))
            block = self.weights[lo:hi].reshape(-1, *[1] * (sub.ndim - 1)) * self._f(sub[lo:hi])
            if self.cumulative:
                np.cumsum(block, axis=0, out=block)
                block += carry
                carry = block[-1].copy()
            yield lo, block.astype(np.float32)

    def blocks(self, rows: int = CHUNK) -> Iterator[np.ndarray]:
        """The stack as consecutive float32 blocks of ``rows`` neurons, first to last."""
        for _, block in self._blocks(self.waves, rows):
            yield block

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self._all(self.waves)
        return out if dtype is None else out.astype(dtype)

    def __repr__(self) -> str:
        kind = ("running sum" if self.cumulative else "each") + (" after the ReLU" if self.relu else "")
        return f"RunningStack({kind}, shape={self.shape})"


class BlockStack:
    """``[k, *rest]`` float32 whose rows ``lo:hi`` are ``block(lo, hi)`` (any float dtype,
    computed when asked for): for a tensor a chart shows one row of at a time (a residual
    direction picked by a slider) and that is cheap to compute a row at a time.

    ``block`` must be a pure function of its arguments over read-only inputs (it is shared
    by every reader). Indexing, ``np.asarray`` and :meth:`blocks` as for
    :class:`RunningStack`."""

    def __init__(self, shape: tuple[int, ...], block: Callable[[int, int], np.ndarray]):
        self._shape = tuple(int(n) for n in shape)
        self.block = block

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def ndim(self) -> int:
        return len(self._shape)

    dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return self._shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        if any(k is Ellipsis or k is None for k in key):
            raise IndexError("a BlockStack takes ints and slices only")
        first, rest = (key[0], key[1:]) if key else (slice(None), ())
        n = len(self)
        if isinstance(first, slice):
            lo, hi, step = first.indices(n)
            if step != 1:
                return np.asarray(self)[(first, *rest)]
            return self._rows(lo, max(lo, hi))[(slice(None), *rest)]
        k = int(first)
        if not -n <= k < n:
            raise IndexError(f"index {k} out of range for {n} rows")
        k %= n
        return self._rows(k, k + 1)[0][rest]

    def _rows(self, lo: int, hi: int) -> np.ndarray:
        out = np.asarray(self.block(lo, hi)).astype(np.float32, copy=False)
        if out.shape != (hi - lo, *self._shape[1:]):
            raise ValueError(f"block({lo}, {hi}) gave shape {out.shape}")
        return out

    def blocks(self, rows: int = CHUNK) -> Iterator[np.ndarray]:
        """The stack as consecutive float32 blocks of ``rows`` rows, first to last."""
        for lo in range(0, len(self), rows):
            yield self._rows(lo, min(lo + rows, len(self)))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self._rows(0, len(self))
        return out if dtype is None else out.astype(dtype)

    def __repr__(self) -> str:
        return f"BlockStack(shape={self.shape})"
