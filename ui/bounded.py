"""A process-wide cache bounded by bytes, for the read-only arrays every session shares.

``st.cache_resource`` bounds only the number of entries, and one entry of the Neurons page
(a frequency group's filtered streams) is tens of megabytes while one of Attention's is a
few: an entry count that is safe for one is wasteful or dangerous for the other. This cache
evicts the least recently used entries once their arrays together pass ``budget`` bytes,
whatever they are. Values are made read-only before they are shared (see ``read_only``).
Plain Python, so it is tested without Streamlit.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

MMAP_THRESHOLD = 256 * 2**10
TRIM_THRESHOLD = 2**20


def return_freed_memory() -> bool:
    """Make glibc give freed big buffers back to the kernel instead of keeping them.

    By default glibc raises its mmap threshold each time a mapped buffer is freed, up to
    32 MB, so after the first few analyses every array under 32 MB comes from the heap, and a
    freed heap is rarely handed back: the server's resident memory then climbs to the sum of
    its past peaks. A fixed threshold keeps every buffer over 256 KB mapped (returned on
    free) and trims the heap past 1 MB free. Measured with bench/memory.py (one reader, every
    widget of every page twice round): peak 842 -> 634 MB in the first round, at the cost of
    a page fault per 4 KB of each new big array (well under a millisecond per widget change).
    The trainer wants the opposite and sets its own (lens.train.configure). Returns whether
    the settings took (not glibc: nothing to do)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-3, MMAP_THRESHOLD)) and bool(libc.mallopt(-1, TRIM_THRESHOLD))
    except (OSError, AttributeError):
        return False


def nbytes(obj: Any, _seen: set | None = None) -> int:
    """The bytes of the numpy arrays inside ``obj`` (dicts, lists, tuples, dataclasses),
    each array counted once; views of one base count their own size (an upper bound)."""
    import numpy as np  # here, not at import: the app's first paint does not need numpy

    seen = set() if _seen is None else _seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    if isinstance(obj, dict):
        return sum(nbytes(v, seen) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(nbytes(v, seen) for v in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return sum(nbytes(getattr(obj, f.name), seen) for f in dataclasses.fields(obj))
    return 0


def read_only(obj: Any) -> Any:
    """``obj`` with every numpy array in it (through dicts, lists, tuples and dataclasses)
    made read-only: an accidental write by one reader raises instead of changing what every
    other reader sees."""
    import numpy as np

    if isinstance(obj, np.ndarray):
        obj.setflags(write=False)
    elif isinstance(obj, dict):
        for v in obj.values():
            read_only(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            read_only(v)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            read_only(getattr(obj, f.name))
    return obj


class BytesLRU:
    """Least-recently-used entries, evicted past ``budget`` bytes of arrays (the newest entry
    is always kept, even alone over the budget). Thread-safe, and one computation per key:
    a session that asks for a key another is computing waits for that result instead of
    computing it again (a class opening the same page at once computes it once)."""

    def __init__(self, budget: int):
        self.budget = budget
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Event] = {}
        self.held = 0
        self.computed = 0  # how many values ``make`` produced (tests: one per key)

    def get(self, key: Hashable, make: Callable[[], Any], *, evict: bool = True) -> Any:
        """The value under ``key``, made by ``make`` if missing. ``evict=False`` (a prefetch):
        a value that would push older entries out is returned but not kept."""
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key][0]
                done = self._computing.get(key)
                if done is None:
                    done = self._computing[key] = threading.Event()
                    break
            done.wait()  # another session makes it; if that failed, the loop makes it here
        try:
            value = read_only(make())
            self.computed += 1
            size = nbytes(value)
            with self._lock:
                if not evict and self._items and self.held + size > self.budget:
                    return value
                self._items[key] = (value, size)
                self.held += size
                while self.held > self.budget and len(self._items) > 1:
                    _, (_, old) = self._items.popitem(last=False)
                    self.held -= old
            return value
        finally:
            with self._lock:
                self._computing.pop(key, None)
            done.set()

    def has(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items or key in self._computing

    def drop(self, match: Callable[[Hashable], bool]) -> int:
        """Remove every entry whose key ``match``es (a checkpoint that is gone); returns how many."""
        with self._lock:
            gone = [k for k in self._items if match(k)]
            for k in gone:
                self.held -= self._items.pop(k)[1]
        return len(gone)

    def __len__(self) -> int:
        return len(self._items)
