"""ui.bounded: the byte-bounded cache every session's shared arrays go through."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ui.bounded import BytesLRU, nbytes, read_only


@dataclasses.dataclass(frozen=True)
class Holder:
    a: np.ndarray
    parts: dict


def test_nbytes_counts_each_array_once_through_containers_and_dataclasses():
    x = np.zeros(100, np.float32)
    obj = Holder(x, {"y": np.zeros((10, 10), np.float64), "again": x, "n": 3})
    assert nbytes(obj) == 400 + 800
    assert nbytes([obj, (x,)]) == 1200


def test_read_only_reaches_arrays_inside_dataclasses():
    obj = read_only(Holder(np.zeros(3), {"y": [np.ones(2)]}))
    with pytest.raises(ValueError):
        obj.a[0] = 1
    with pytest.raises(ValueError):
        obj.parts["y"][0][0] = 1


def test_least_recently_used_entries_go_once_the_budget_is_passed():
    made = []
    cache = BytesLRU(budget=3000)

    def make(k):
        made.append(k)
        return np.zeros(1000 // 8, np.float64)  # 1000 bytes

    for k in "abc":
        cache.get(k, lambda k=k: make(k))
    cache.get("a", lambda: make("a"))  # a is now the most recent: b is the oldest
    cache.get("d", lambda: make("d"))  # 4000 bytes > 3000: b goes
    assert made == ["a", "b", "c", "d"] and cache.held == 3000 and len(cache) == 3
    cache.get("b", lambda: make("b"))  # b is computed again, c goes
    cache.get("a", lambda: make("a"))
    assert made == ["a", "b", "c", "d", "b"]


def test_an_entry_over_the_budget_alone_is_kept_until_the_next():
    cache = BytesLRU(budget=10)
    big = cache.get("big", lambda: np.zeros(100))
    assert cache.get("big", lambda: None) is big and len(cache) == 1
    cache.get("next", lambda: np.zeros(100))
    assert len(cache) == 1 and cache.held == 800


def test_values_come_back_read_only_and_drop_removes_by_key():
    cache = BytesLRU(budget=10**6)
    v = cache.get(("f", "/ckpt/a", ()), lambda: {"x": np.ones(4)})
    assert not v["x"].flags.writeable
    cache.get(("f", "/ckpt/b", ()), lambda: {"x": np.ones(4)})
    assert cache.drop(lambda k: k[1] == "/ckpt/a") == 1 and len(cache) == 1 and cache.held == 32


def test_glibc_is_told_to_return_freed_big_buffers():
    import platform

    from ui.bounded import return_freed_memory

    took = return_freed_memory()
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert took
    else:
        assert took is False


def test_sessions_asking_at_once_compute_a_key_once_and_share_it():
    import threading
    import time

    cache = BytesLRU(budget=10**6)
    started = threading.Event()

    def slow():
        started.set()
        time.sleep(0.3)
        return np.ones(8)

    got = []
    first = threading.Thread(target=lambda: got.append(cache.get("k", slow)))
    first.start()
    started.wait()
    others = [threading.Thread(target=lambda: got.append(cache.get("k", slow))) for _ in range(4)]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join()
    assert cache.computed == 1 and len(got) == 5 and all(v is got[0] for v in got)


def test_a_failed_computation_lets_the_next_asker_try_again():
    cache = BytesLRU(budget=10**6)
    with pytest.raises(RuntimeError):
        cache.get("k", lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    assert not cache.has("k")
    assert cache.get("k", lambda: np.ones(2))[0] == 1


def test_a_prefetch_never_pushes_an_entry_out():
    cache = BytesLRU(budget=2000)
    cache.get("a", lambda: np.zeros(125))  # 1000 bytes
    cache.get("b", lambda: np.zeros(125), evict=False)  # fits: kept
    v = cache.get("c", lambda: np.zeros(125), evict=False)  # would evict a: returned, not kept
    assert v.shape == (125,) and not cache.has("c") and cache.has("a") and cache.has("b")
    assert cache.held == 2000
