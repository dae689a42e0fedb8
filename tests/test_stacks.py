"""lens.stacks.RunningStack (running sums computed a slice at a time) and the scope's value
ranges over it, against the dense numpy computation."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from lens.stacks import CHUNK, RunningStack


def _waves(n: int = 2 * CHUNK + 5, p: int = 11, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, p, p)).astype(np.float32)
    x.setflags(write=False)
    return x


def _dense(x: np.ndarray, w: np.ndarray, relu: bool, cumulative: bool, scale: float = 1.0) -> np.ndarray:
    y = (np.maximum(x, 0) if relu else x).astype(np.float64) * (w * scale)[:, None, None]
    return np.cumsum(y, axis=0) if cumulative else y


@pytest.mark.parametrize("relu", [True, False])
@pytest.mark.parametrize("cumulative", [True, False])
def test_every_index_matches_the_dense_stack(relu, cumulative):
    x = _waves()
    w = np.random.default_rng(1).normal(size=len(x))
    s = RunningStack(x, w, relu=relu, cumulative=cumulative, scale=3.0)
    dense = _dense(x, w, relu, cumulative, 3.0)
    assert s.shape == x.shape and s.ndim == 3 and len(s) == len(x)
    for k in (0, 1, CHUNK - 1, CHUNK, len(x) - 1, -1):
        np.testing.assert_allclose(s[k], dense[k], rtol=1e-5, atol=1e-5)
        assert s[k].dtype == np.float32
    # the trailing axes are picked first; a slice of the neuron axis gives the whole column
    np.testing.assert_allclose(s[5, 3], dense[5, 3], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(s[:, 4, :], dense[:, 4, :], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(s[2:9, :, 7], dense[2:9, :, 7], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(s), dense, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.concatenate(list(s.blocks(7))), dense, rtol=1e-5, atol=1e-5)
    if cumulative:
        np.testing.assert_allclose(s.total(), dense[-1], rtol=1e-12, atol=1e-9)


def test_bad_indices_and_weights_are_refused():
    x = _waves(n=4)
    s = RunningStack(x, np.ones(4), relu=True, cumulative=True)
    for bad in (4, -5):
        with pytest.raises(IndexError):
            s[bad]
    with pytest.raises(IndexError):
        s[..., 0]
    with pytest.raises(ValueError):
        RunningStack(x, np.ones(3), relu=True, cumulative=True)


def test_the_stack_holds_its_waves_without_copying_them():
    x = _waves()
    s = RunningStack(x, np.ones(len(x)), relu=True, cumulative=True)
    assert s.waves is x and not s.weights.flags.writeable


@pytest.mark.parametrize("view", ["space", "fourier", "magnitude"])
def test_value_range_of_a_stack_is_that_of_the_dense_stack(view):
    from ui.scope_tables import value_range

    x = _waves()
    w = np.random.default_rng(2).normal(size=len(x))
    s = RunningStack(x, w, relu=True, cumulative=True)
    dense = np.asarray(s)
    assert value_range(s, view) == pytest.approx(value_range(dense, view), rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("view", ["space", "fourier", "magnitude"])
def test_value_range_in_blocks_equals_the_one_pass_float64_range(view, monkeypatch):
    """Read in blocks of rows (a few here, to cross block edges), strided or not, the range
    is the one of the whole tensor in float64."""
    from lens.fourier import basis
    from ui import scope_tables

    monkeypatch.setattr(scope_tables, "RANGE_ROWS", 7)
    x = np.random.default_rng(3).normal(size=(5, 6, 13)).astype(np.float32)
    x[1, 2, 3] = np.nan
    p = x.shape[-1]
    v = x.reshape(-1, p).astype(np.float64)
    if view != "space":
        v = v @ basis(p).T
        if view == "magnitude":
            v = scope_tables._magnitude(v)
    v = v[np.isfinite(v)]
    lo, hi = float(v.min()), float(v.max())
    if view == "magnitude":
        lo = 0.0
    if view == "fourier":
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    for arr in (x, np.moveaxis(np.moveaxis(x, 0, 1).copy(), 0, 1)):  # contiguous, then strided
        assert scope_tables.value_range(arr, view) == pytest.approx((lo, hi), rel=1e-12, abs=1e-12)


def test_the_scope_memoises_ranges_only_of_what_cannot_change():
    from ui import scope_widget

    frozen = _waves(n=3)
    r1 = scope_widget._range(frozen, "space")
    assert id(frozen) in scope_widget._RANGES
    assert scope_widget._range(frozen, "space") == r1
    key = id(frozen)
    del frozen
    gc.collect()
    assert key not in scope_widget._RANGES  # gone with its array
    mutable = np.zeros((2, 5))
    assert scope_widget._range(mutable, "space") == (-1.0, 1.0)
    mutable[0, 0] = 5.0
    assert scope_widget._range(mutable, "space") == (0.0, 5.0)  # recomputed: it may change
    assert id(mutable) not in scope_widget._RANGES


def test_a_block_stack_is_its_dense_array_by_index_block_and_range():
    from lens.stacks import BlockStack
    from ui.scope_tables import value_range

    dense = np.random.default_rng(4).normal(size=(9, 5, 7))
    calls = []

    def rows(lo, hi):
        calls.append((lo, hi))
        return dense[lo:hi]

    s = BlockStack(dense.shape, rows)
    assert s.shape == dense.shape and len(s) == 9 and s.ndim == 3
    np.testing.assert_array_equal(s[3], dense[3].astype(np.float32))
    assert calls[-1] == (3, 4)  # one row computed for one row asked
    np.testing.assert_array_equal(s[-1, 2], dense[-1, 2].astype(np.float32))
    np.testing.assert_array_equal(s[2:6, :, 1], dense[2:6, :, 1].astype(np.float32))
    np.testing.assert_array_equal(s[::2], dense[::2].astype(np.float32))
    np.testing.assert_array_equal(np.concatenate(list(s.blocks(4))), dense.astype(np.float32))
    np.testing.assert_array_equal(np.asarray(s), dense.astype(np.float32))
    for view in ("space", "fourier", "magnitude"):
        assert value_range(s, view) == pytest.approx(value_range(dense.astype(np.float32), view))
    for bad in (9, -10):
        with pytest.raises(IndexError):
            s[bad]
    with pytest.raises(ValueError):
        BlockStack((9, 5, 7), lambda lo, hi: dense[lo:hi, :4])[0]  # a block of the wrong shape


@pytest.mark.parametrize("view", ["space", "fourier", "magnitude"])
def test_what_the_scope_ships_of_a_stack_is_the_float64_sum_to_display_precision(view):
    """A slice of a running sum is float32 (summed in float64); through a scope's view and the
    base-36 codes it decodes to the float64 dense computation within a millionth of the range,
    far below a pixel of a chart."""
    from ui.scope import decoded, scope_chart
    from ui.scope_tables import view_values

    x = _waves(n=40, p=13)
    w = np.random.default_rng(5).normal(size=len(x))
    s = RunningStack(x, w, relu=True, cumulative=True)
    k = 33
    exact = view_values(_dense(x, w, relu=True, cumulative=True)[k], view)  # [a, b'] float64
    chart = scope_chart({"sum": s[k]}, play="a", x_axis="b", view=view)
    rows = decoded(chart.datasets["values"])
    got = np.stack([rows[i] for i in range(len(x[0]))])
    span = float(exact.max() - exact.min())
    np.testing.assert_allclose(got, exact, rtol=0, atol=1e-6 * span)
