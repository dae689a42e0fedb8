"""Read a torch zip checkpoint into plain Python containers of numpy arrays, without torch.

``torch.save`` has written a zip archive since torch 1.6::

    <prefix>/data.pkl         the pickled object; each tensor refers to a storage by key
    <prefix>/data/<key>       one raw storage blob per key (shared by every view of it)
    <prefix>/byteorder        "little" or "big" (absent in old files: little)
    <prefix>/version, .format_version, .storage_alignment, .data/serialization_id (ignored)

:func:`load` unpickles ``data.pkl`` with an unpickler that resolves only the globals in
:data:`ALLOWED` (mapped to this module's numpy functions, never to torch), reads each storage
blob once, and builds every tensor as an owned, C-contiguous numpy array. Any other global,
a malformed storage reference, or a view that does not fit its storage raises
:class:`TorchFileError` with a one-line message (e.g. ``refused: pickle wants global
posix.system``). Importing this module never imports torch.

Footguns:

- bfloat16 tensors come back as **float32** (numpy has no bfloat16; the widening is exact).
  Every other dtype keeps its width: float16 stays float16, bool stays bool.
- ``nn.Parameter`` comes back as a plain array; ``requires_grad``, backward hooks and the
  device a tensor was saved on (``cuda:0``...) are dropped: everything lands on the CPU.
- Views are copied: two tensors that shared one storage no longer share memory, so writing
  to one does not change the other (torch's loader would keep them aliased).
- Only the zip format is read. A legacy (torch < 1.6) file or a bare pickle is refused,
  with no fallback to torch: re-save it once with a recent torch
  (``torch.save(torch.load(f, weights_only=True), f)``).
- Big-endian files are byte-swapped to native order.
- Only what torch writes for plain tensors is allowed: tensor subclasses, sparse or
  quantized tensors, complex and float8 dtypes, tensor metadata, sets, slices and bytes
  (``_codecs.encode``) are refused.
- ``max_bytes`` bounds both what is read from the zip (uncompressed sizes, so a zip bomb is
  refused before it inflates) and the total size of the arrays built (so many views of one
  storage cannot multiply memory).
"""

from __future__ import annotations

import io
import os
import pickle
import reprlib
import struct
import zipfile
import zlib
from collections import OrderedDict
from typing import NamedTuple

import numpy as np

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
# zipfile builds a record for every entry of the archive's central directory when it opens
# it; a torch file has a few per tensor (the published run: 28 entries in 1.9 kB).
MAX_DIRECTORY_BYTES = 4 * 1024 * 1024


class TorchFileError(ValueError):
    """The file was refused. ``str(err)`` is one line saying why."""


class _Dtype(NamedTuple):
    """What a storage class or a ``torch.<dtype>`` global stands for. Immutable, with no
    ``__dict__``, so a pickle's BUILD opcode cannot alter the shared instances below."""

    name: str
    disk: str  # how one element is stored, little-endian
    convert: str = ""  # "bfloat16": uint16 bit patterns widened to float32; "bool": bytes != 0


# torch.save writes a legacy storage class for every dtype that has one (_rebuild_tensor_v2).
_LEGACY_STORAGES = {
    "FloatStorage": _Dtype("float32", "<f4"),
    "DoubleStorage": _Dtype("float64", "<f8"),
    "HalfStorage": _Dtype("float16", "<f2"),
    "BFloat16Storage": _Dtype("bfloat16", "<u2", "bfloat16"),
    "LongStorage": _Dtype("int64", "<i8"),
    "IntStorage": _Dtype("int32", "<i4"),
    "ShortStorage": _Dtype("int16", "<i2"),
    "CharStorage": _Dtype("int8", "<i1"),
    "ByteStorage": _Dtype("uint8", "<u1"),
    "BoolStorage": _Dtype("bool", "<u1", "bool"),
}
# Dtypes without a legacy storage class: torch (>= 2.3) writes an UntypedStorage of raw bytes
# and names the dtype as a global for _rebuild_tensor_v3. Only those numpy can hold are allowed.
_UNTYPED = _Dtype("untyped", "<u1")
_NEW_DTYPES = {
    "uint16": _Dtype("uint16", "<u2"),
    "uint32": _Dtype("uint32", "<u4"),
    "uint64": _Dtype("uint64", "<u8"),
}


class _Method(NamedTuple):
    """A whitelisted global served by a method of the current load's :class:`_Reader`."""

    name: str


#: The only globals a checkpoint's pickle may name, as (module, name). Why each is needed:
#: OrderedDict holds every state dict (and the empty backward-hooks dict of each tensor);
#: _rebuild_tensor_v2 and the legacy storage classes make every tensor torch.save writes for
#: the common dtypes; _rebuild_tensor_v3, UntypedStorage and torch.uint16/32/64 make tensors of
#: the newer unsigned dtypes; _rebuild_parameter makes an nn.Parameter saved outside a state dict.
_GLOBALS: dict[tuple[str, str], object] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _Method("rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_tensor_v3"): _Method("rebuild_tensor_v3"),
    ("torch._utils", "_rebuild_parameter"): _Method("rebuild_parameter"),
    ("torch.storage", "UntypedStorage"): _UNTYPED,
    **{("torch", k): v for k, v in _LEGACY_STORAGES.items()},
    **{("torch", k): v for k, v in _NEW_DTYPES.items()},
}
ALLOWED = frozenset(_GLOBALS)
_STORAGE_CLASSES = (_UNTYPED, *_LEGACY_STORAGES.values())


def _is_one_of(x: object, markers) -> bool:
    # identity, not ==: a plain tuple built by the pickle compares equal to a NamedTuple
    return any(x is m for m in markers)


class _Storage(NamedTuple):
    """One storage blob, read once and shared by every tensor that views it."""

    key: str
    kind: _Dtype
    data: bytes

    def __repr__(self) -> str:  # never the bytes: a message quoting a storage stays short
        return f"<{self.kind.name} storage {self.key!r} of {len(self.data)} bytes>"


# Messages quote what a hostile pickle handed over: bounded in depth and length *before*
# anything is built (repr() of a tuple nested 10 000 deep raises; of a huge string, is huge).
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 4, 80, 80, 40
_REPR.maxtuple = _REPR.maxlist = _REPR.maxdict = _REPR.maxset = 8


def _short(x: object) -> str:
    try:
        return _REPR.repr(x)
    except Exception:  # a repr that fails is no reason to fail differently
        return f"<{type(x).__name__}>"


def _shape(what: str, values: object, ndim: int | None = None) -> tuple[int, ...]:
    """``values`` checked to be a tuple of non-negative ints (of length ``ndim`` if given)."""
    if (
        type(values) is not tuple
        or (ndim is not None and len(values) != ndim)
        or any(type(v) is not int or v < 0 for v in values)
    ):
        raise TorchFileError(
            f"expected the tensor {what} as a tuple of non-negative ints, found {_short(values)}"[:200]
        )
    return values


class _Reader:
    """State of one load: the zip, the byte budgets, the storages read so far."""

    def __init__(self, zf: zipfile.ZipFile, prefix: str, max_bytes: int):
        self.zf, self.prefix, self.big_endian = zf, prefix, False
        self.read_left = max_bytes  # uncompressed bytes still allowed to be read from the zip
        self.build_left = max_bytes  # bytes of arrays still allowed to be built
        self.storages: dict[str, _Storage] = {}

    def read_entry(self, name: str, expected: int | None = None) -> bytes:
        """The bytes of one zip entry, checked against the budget *before* inflating it."""
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            raise TorchFileError(f"the archive has no entry {name}") from None
        if expected is not None and info.file_size != expected:
            raise TorchFileError(f"entry {name} holds {info.file_size} bytes, the pickle declares {expected}")
        if info.file_size > self.read_left:
            raise TorchFileError(f"entry {name} inflates to {info.file_size} bytes, over the size limit")
        self.read_left -= info.file_size
        with self.zf.open(info) as fh:  # zipfile stops at file_size, whatever the stream holds
            data = fh.read()
        if len(data) != info.file_size:
            raise TorchFileError(f"entry {name} is truncated")
        return data

    def persistent_load(self, pid: object) -> _Storage:
        """A tensor's storage reference: ``('storage', storage class, key, location, numel)``.

        numel counts elements of the storage class (bytes for UntypedStorage); the location
        (``cpu``, ``cuda:0``...) is ignored. Each key is read once, then shared."""
        if type(pid) is not tuple or len(pid) != 5 or pid[0] != "storage":
            raise TorchFileError(f"expected a storage reference, found {_short(pid)}"[:200])
        _, kind, key, location, numel = pid
        if not _is_one_of(kind, _STORAGE_CLASSES):
            raise TorchFileError(
                f"expected a storage class in a storage reference, found {_short(kind)}"[:200]
            )
        if type(key) is not str or type(location) is not str or type(numel) is not int or numel < 0:
            raise TorchFileError(f"malformed storage reference {_short(pid)}"[:200])
        if key in self.storages:
            storage = self.storages[key]
            if storage.kind is not kind:
                raise TorchFileError(f"storage {key} is read as both {storage.kind.name} and {kind.name}")
            return storage
        nbytes = numel * np.dtype(kind.disk).itemsize
        storage = _Storage(key, kind, self.read_entry(f"{self.prefix}/data/{key}", expected=nbytes))
        self.storages[key] = storage
        return storage

    def tensor(
        self, storage: _Storage, offset: object, size: object, stride: object, dtype: _Dtype
    ) -> np.ndarray:
        """An owned, C-contiguous copy of the view (offset, size, stride) of ``storage``,
        all three counted in elements of ``dtype`` as torch counts them."""
        what = f"on storage {storage.key}"
        if type(offset) is not int or offset < 0:
            raise TorchFileError(
                f"expected a non-negative storage offset for the tensor {what}, found {_short(offset)}"[:200]
            )
        size = _shape(f"size {what}", size)
        stride = _shape(f"stride {what}", stride, len(size))
        disk = np.dtype(dtype.disk).newbyteorder(">" if self.big_endian else "<")
        native = disk.newbyteorder("=")
        out = (
            np.dtype(np.float32)
            if dtype.convert == "bfloat16"
            else np.dtype(bool)
            if dtype.convert
            else native
        )
        count = 1
        for n in size:
            count *= n
        if count * out.itemsize > self.build_left:
            raise TorchFileError(f"the tensor {what} of shape {size} takes the arrays over the size limit")
        self.build_left -= count * out.itemsize
        if count == 0:
            return np.empty(size, dtype=out)
        if len(storage.data) % disk.itemsize:
            raise TorchFileError(
                f"storage {storage.key} of {len(storage.data)} bytes does not hold {dtype.name}"
            )
        numel = len(storage.data) // disk.itemsize
        extent = offset + sum((n - 1) * st for n, st in zip(size, stride, strict=True)) + 1
        if extent > numel:
            raise TorchFileError(
                f"the tensor {what} (shape {size}, stride {stride}, offset {offset}) needs {extent} "
                f"elements, the storage holds {numel}"
            )
        flat = np.frombuffer(storage.data, dtype=disk, count=extent - offset, offset=offset * disk.itemsize)
        view = np.lib.stride_tricks.as_strided(
            flat, shape=size, strides=tuple(st * disk.itemsize for st in stride), writeable=False
        )
        arr = np.array(view, dtype=native, order="C", copy=True)  # owned; byte-swapped if need be
        if dtype.convert == "bfloat16":  # bfloat16 is the high half of a float32: exact
            wide = np.empty(size, dtype=np.float32)  # owned, unlike a .view() of the shifted ints
            np.left_shift(arr.astype(np.uint32), 16, out=wide.view(np.uint32))
            return wide
        if dtype.convert == "bool":  # torch writes 0/1; any other byte is true, as in C
            return arr != 0
        return arr

    # -- the whitelisted functions (see _GLOBALS); arguments in torch._utils' order

    def rebuild_tensor_v2(self, storage, offset, size, stride, requires_grad, hooks, metadata=None):
        """torch._utils._rebuild_tensor_v2: a tensor typed by its legacy storage class."""
        if type(storage) is not _Storage or storage.kind is _UNTYPED:
            raise TorchFileError(
                f"expected a typed storage for _rebuild_tensor_v2, found {_short(storage)}"[:200]
            )
        if metadata:
            raise TorchFileError(f"tensor metadata is not supported, found {_short(metadata)}"[:200])
        return self.tensor(storage, offset, size, stride, storage.kind)

    def rebuild_tensor_v3(self, storage, offset, size, stride, requires_grad, hooks, dtype, metadata=None):
        """torch._utils._rebuild_tensor_v3: raw bytes typed by a ``torch.<dtype>`` global."""
        if type(storage) is not _Storage or storage.kind is not _UNTYPED:
            raise TorchFileError(
                f"expected an untyped storage for _rebuild_tensor_v3, found {_short(storage)}"[:200]
            )
        if not _is_one_of(dtype, _NEW_DTYPES.values()):
            raise TorchFileError(f"expected a dtype for _rebuild_tensor_v3, found {_short(dtype)}"[:200])
        if metadata:
            raise TorchFileError(f"tensor metadata is not supported, found {_short(metadata)}"[:200])
        return self.tensor(storage, offset, size, stride, dtype)

    @staticmethod
    def rebuild_parameter(data, requires_grad, hooks):
        """torch._utils._rebuild_parameter: an nn.Parameter is read as its data."""
        if type(data) is not np.ndarray:
            raise TorchFileError(f"expected a tensor inside a parameter, found {type(data).__name__}")
        return data


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, reader: _Reader):
        super().__init__(io.BytesIO(data))
        self._reader = reader
        self.persistent_load = reader.persistent_load  # type: ignore[method-assign]

    def find_class(self, module: str, name: str) -> object:
        found = _GLOBALS.get((module, name))
        if found is None:
            raise TorchFileError(f"refused: pickle wants global {module}.{name}"[:200])
        if isinstance(found, _Method):
            # A fresh function each time: a hostile BUILD opcode may set attributes on what
            # find_class returns, and that must not reach a module-level object.
            method = getattr(self._reader, found.name)
            return lambda *args: method(*args)
        return found


_PARSE_ERRORS = (
    pickle.UnpicklingError,
    EOFError,
    ValueError,  # includes UnicodeDecodeError
    TypeError,
    AttributeError,
    KeyError,
    IndexError,
    OverflowError,
    RuntimeError,  # zipfile: encrypted entries; also RecursionError, NotImplementedError
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    OSError,
)


def zip_directory_size(path: str | os.PathLike) -> int:
    """The size in bytes that a zip's end record declares for its central directory (what
    ``zipfile.ZipFile`` reads and parses on opening), or -1 when it cannot be read."""
    try:
        with open(path, "rb") as fh:
            end = zipfile._EndRecData(fh)  # the reader zipfile itself uses (zip64 included)
    except (OSError, AttributeError, ValueError, struct.error):
        return -1
    return int(end[zipfile._ECD_SIZE]) if end else -1


def load(path: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES) -> object:
    """The object ``torch.save`` wrote to ``path``, its tensors as numpy arrays.

    Raises :class:`TorchFileError` (one line) for anything else, including a legacy
    (torch < 1.6) checkpoint or a bare pickle. See the module docstring for what changes
    compared with ``torch.load``.
    """
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as fh:
            if fh.read(2) == b"PK":
                raise TorchFileError(
                    "a damaged zip archive (truncated?): its central directory is unreadable"
                )
        raise TorchFileError(
            "not a torch zip checkpoint (a legacy torch < 1.6 file or a bare pickle?); "
            "re-save it with a recent torch: torch.save(torch.load(f, weights_only=True), f)"
        )
    directory = zip_directory_size(path)
    if directory > MAX_DIRECTORY_BYTES:
        raise TorchFileError(f"the archive's directory takes {directory} bytes, over the limit")
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            prefix = names[0].split("/", 1)[0] if names else ""  # torch names the archive by its first entry
            if f"{prefix}/data.pkl" not in names:
                raise TorchFileError("a zip archive without <archive>/data.pkl: not a torch checkpoint")
            reader = _Reader(zf, prefix, max_bytes)
            if f"{prefix}/byteorder" in names:
                order = reader.read_entry(f"{prefix}/byteorder")
                if order not in (b"little", b"big"):
                    raise TorchFileError(f"expected byteorder 'little' or 'big', found {order[:20]!r}")
                reader.big_endian = order == b"big"
            data = reader.read_entry(f"{prefix}/data.pkl")
            return _Unpickler(data, reader).load()
    except TorchFileError:
        raise
    except _PARSE_ERRORS as err:
        first = (str(err).strip().splitlines() or [""])[0][:200]
        raise TorchFileError(f"{type(err).__name__}: {first}" if first else type(err).__name__) from None
