"""lens.torchfile reads what torch.save writes, bit for bit, without torch; hostile files are
refused before anything in them runs. torch is imported here only to write files and compare."""

import io
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from lens import checkpoint, torchfile
from lens.torchfile import TorchFileError

ROOT = Path(__file__).resolve().parent.parent


def assert_same(ours: object, theirs: object, where: str = "top") -> None:
    """``ours`` (lens.torchfile) is ``theirs`` (torch.load) with every tensor as numpy: same
    container types and keys in order, same dtypes and shapes, same bytes."""
    if isinstance(theirs, torch.Tensor):
        expected = (theirs.float() if theirs.dtype == torch.bfloat16 else theirs).detach().numpy()
        assert type(ours) is np.ndarray, f"{where}: {type(ours).__name__}"
        assert ours.dtype == expected.dtype, f"{where}: {ours.dtype} != {expected.dtype}"
        assert ours.shape == expected.shape, f"{where}: {ours.shape} != {expected.shape}"
        assert ours.tobytes() == expected.tobytes(), f"{where}: values differ"  # NaN-safe, bit for bit
        assert ours.flags.c_contiguous and ours.flags.owndata and ours.flags.writeable, where
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs), f"{where}: {type(ours).__name__} != {type(theirs).__name__}"
        assert list(ours) == list(theirs), f"{where}: keys differ"
        for k in theirs:
            assert_same(ours[k], theirs[k], f"{where}[{k!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    else:
        assert type(ours) is type(theirs) and (ours == theirs or ours != ours and theirs != theirs), where


def saved_and_loaded(path: Path, obj: object) -> tuple[object, object]:
    torch.save(obj, path)
    return torchfile.load(path), torch.load(path, map_location="cpu", weights_only=True)


# ---------------------------------------------------------------- what torch writes


def test_reference_checkpoint_equals_torch_load(reference_path):
    ours = torchfile.load(reference_path)
    theirs = torch.load(reference_path, map_location="cpu", weights_only=True)
    assert_same(ours, theirs)
    assert ours["config"]["p"] == 113 and ours["state_dicts"][-1]["unembed.W_U"].shape == (128, 114)


def test_every_plain_dtype(tmp_path):
    special = [0.0, -0.0, 1.0, -2.5, 1e-40, 3e38, float("inf"), -float("inf"), float("nan")]
    obj = {
        name: torch.tensor(special, dtype=dt)
        for name, dt in [
            ("f32", torch.float32),
            ("f64", torch.float64),
            ("f16", torch.float16),
            ("bf16", torch.bfloat16),  # widened to float32, exactly
        ]
    }
    gen = torch.Generator().manual_seed(0)
    obj["bf16_random"] = torch.randn(7, 5, generator=gen).to(torch.bfloat16)
    obj["i64"] = torch.tensor([-(2**63), -1, 0, 2**63 - 1])
    obj["i32"] = torch.tensor([-(2**31), 7], dtype=torch.int32)
    obj["i16"] = torch.tensor([-3, 300], dtype=torch.int16)
    obj["i8"] = torch.tensor([-128, 127], dtype=torch.int8)
    obj["u8"] = torch.tensor([0, 255], dtype=torch.uint8)
    obj["bool"] = torch.tensor([True, False, True])
    for bits in (16, 32, 64):  # no legacy storage class: written with _rebuild_tensor_v3
        obj[f"u{bits}"] = torch.tensor([0, 1, 2**bits - 1], dtype=getattr(torch, f"uint{bits}"))
    obj["scalar"] = torch.tensor(2.5)
    obj["empty"] = torch.zeros(0, 3)
    ours, theirs = saved_and_loaded(tmp_path / "dtypes.pth", obj)
    assert_same(ours, theirs)
    assert ours["bf16"].dtype == np.float32 and ours["scalar"].shape == ()


def test_views_offsets_and_shared_storage(tmp_path):
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    obj = {
        "base": base,
        "transposed": base.t(),  # strides (1, 6)
        "block": base[1:3, 2:5],  # storage offset 8, non-contiguous
        "row": base[2],  # shares base's storage
        "every_other": base[:, ::2],
        "expanded": torch.ones(3, 1).expand(3, 4),  # stride 0
        "bf16_t": torch.randn(3, 5).to(torch.bfloat16).t(),
    }
    ours, theirs = saved_and_loaded(tmp_path / "views.pth", obj)
    assert theirs["row"].untyped_storage().data_ptr() == theirs["base"].untyped_storage().data_ptr()
    assert_same(ours, theirs)
    np.testing.assert_array_equal(ours["block"], [[8, 9, 10], [14, 15, 16]])
    # documented: views are copies, so the shared storage is no longer shared
    assert not np.shares_memory(ours["row"], ours["base"])
    ours["row"][0] = -1
    assert ours["base"][2, 0] == 12


def test_containers_state_dicts_and_parameters(tmp_path):
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4), torch.nn.Embedding(5, 2))
    obj = {
        "state": net.state_dict(),
        "nested": {"list": [torch.ones(2), {"deep": OrderedDict(a=torch.zeros(1), b=[1, 2.5, "x"])}]},
        "tuple": (1, "x", None, 2.5, True),
        "param": torch.nn.Parameter(torch.full((2, 2), 3.0)),
        "losses": [4.5, float("nan"), 1e-7],
        "config": {"p": 113, "frac_train": 0.3, "fn_name": "add", "save_models": True},
    }
    ours, theirs = saved_and_loaded(tmp_path / "nested.pth", obj)
    assert_same(ours, theirs)
    assert type(ours["state"]) is OrderedDict and type(ours["param"]) is np.ndarray


def test_a_module_state_dict_saved_alone(tmp_path):
    model = torch.nn.Linear(6, 3, dtype=torch.float64)
    ours, theirs = saved_and_loaded(tmp_path / "sd.pt", model.state_dict())
    assert_same(ours, theirs)


# ---------------------------------------------------------------- hand-written checkpoints
# A small writer of torch's zip layout, so that a test can say exactly what the file holds.


class Ref:
    """A storage reference: pickled as torch's persistent id."""

    def __init__(self, storage_class, key: str, numel: int, location: str = "cpu"):
        self.id = ("storage", storage_class, key, location, numel)


class Tensor:
    """Pickles as a call to torch's rebuild function (by reference, as torch writes it)."""

    def __init__(self, ref, offset, size, stride, *extra, func=torch._utils._rebuild_tensor_v2):
        self.args, self.func = (ref, offset, size, stride, False, OrderedDict(), *extra), func

    def __reduce__(self):
        return self.func, self.args


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.id if isinstance(obj, Ref) else None


def write_zip(path: Path, pkl: bytes, blobs: dict, byteorder: bytes | None = b"little", **zip_args) -> Path:
    with zipfile.ZipFile(path, "w", **zip_args) as zf:
        zf.writestr("archive/data.pkl", pkl)
        if byteorder is not None:
            zf.writestr("archive/byteorder", byteorder)
        for key, blob in blobs.items():
            zf.writestr(f"archive/data/{key}", blob)
        zf.writestr("archive/version", "3\n")
    return path


def write_checkpoint(path: Path, obj: object, blobs: dict, **kw) -> Path:
    buf = io.BytesIO()
    _Pickler(buf, protocol=2).dump(obj)
    return write_zip(path, buf.getvalue(), blobs, **kw)


def test_hand_written_file_matches_torch_load(tmp_path):
    """The writer above makes files torch itself reads the same way (so the tests below,
    which use it, test the format and not a private dialect)."""
    data = np.arange(10, dtype="<f4")
    obj = {"w": Tensor(Ref(torch.FloatStorage, "0", 10, "cuda:0"), 2, (2, 3), (1, 2))}
    path = write_checkpoint(tmp_path / "hand.pth", obj, {"0": data.tobytes()})
    assert_same(torchfile.load(path), torch.load(path, map_location="cpu", weights_only=True))
    np.testing.assert_array_equal(torchfile.load(path)["w"], [[2, 4, 6], [3, 5, 7]])


def test_big_endian_file_is_byte_swapped(tmp_path):
    f32 = np.array([1.5, -2.0, 3e38, np.inf], dtype=">f4")
    i64 = np.array([1, -2, 2**40], dtype=">i8")
    bf16 = (np.array([1.0, -0.5, 3.0], dtype="<f4").view("<u4") >> 16).astype(">u2")
    obj = {
        "f32": Tensor(Ref(torch.FloatStorage, "0", 4), 0, (2, 2), (2, 1)),
        "i64": Tensor(Ref(torch.LongStorage, "1", 3), 0, (3,), (1,)),
        "bf16": Tensor(Ref(torch.BFloat16Storage, "2", 3), 0, (3,), (1,)),
    }
    blobs = {"0": f32.tobytes(), "1": i64.tobytes(), "2": bf16.tobytes()}
    path = write_checkpoint(tmp_path / "big.pth", obj, blobs, byteorder=b"big")
    ours = torchfile.load(path)
    np.testing.assert_array_equal(ours["f32"], f32.astype("=f4").reshape(2, 2))
    np.testing.assert_array_equal(ours["i64"], [1, -2, 2**40])
    np.testing.assert_array_equal(ours["bf16"], [1.0, -0.5, 3.0])
    assert all(a.dtype.isnative for a in ours.values())
    assert_same(ours, torch.load(path, map_location="cpu", weights_only=True))


def refused(path: Path, *words: str, **kw) -> str:
    with pytest.raises(TorchFileError) as info:
        torchfile.load(path, **kw)
    msg = str(info.value)
    assert "\n" not in msg and len(msg) < 300, msg
    for word in words:
        assert word in msg, msg
    return msg


def test_storage_blob_shorter_than_declared(tmp_path):
    obj = {"w": Tensor(Ref(torch.FloatStorage, "0", 10), 0, (10,), (1,))}
    path = write_checkpoint(tmp_path / "short.pth", obj, {"0": np.zeros(9, "<f4").tobytes()})
    refused(path, "archive/data/0", "36 bytes", "declares 40")


def test_view_beyond_its_storage(tmp_path):
    blob = {"0": np.zeros(6, "<f4").tobytes()}
    for name, (offset, size, stride) in {
        "shape": (0, (3, 3), (3, 1)),
        "offset": (4, (3,), (1,)),
        "stride": (0, (2, 2), (5, 1)),
    }.items():
        obj = {"w": Tensor(Ref(torch.FloatStorage, "0", 6), offset, size, stride)}
        path = write_checkpoint(tmp_path / f"{name}.pth", obj, blob)
        refused(path, "needs", "the storage holds 6")


@pytest.mark.parametrize(
    "offset, size, stride",
    [
        (-1, (2,), (1,)),
        (0, (-2,), (1,)),
        (0, (2,), (-1,)),
        (0, (2, 1), (1,)),
        (0, [2], [1]),
        (0, (2.0,), (1,)),
    ],
)
def test_malformed_view(tmp_path, offset, size, stride):
    obj = {"w": Tensor(Ref(torch.FloatStorage, "0", 6), offset, size, stride)}
    refused(write_checkpoint(tmp_path / "m.pth", obj, {"0": bytes(24)}), "expected")


def test_malformed_storage_references(tmp_path):
    class Odd(Ref):
        def __init__(self, pid):
            self.id = pid

    cases = {
        "typename": ("module", torch.FloatStorage, "0", "cpu", 1),
        "short": ("storage", torch.FloatStorage, "0"),
        "class": ("storage", "FloatStorage", "0", "cpu", 1),  # a string, not the global
        "dtype": ("storage", torch.uint16, "0", "cpu", 1),  # a dtype, not a storage class
        "missing": ("storage", torch.FloatStorage, "7", "cpu", 1),
        "numel": ("storage", torch.FloatStorage, "0", "cpu", -1),
    }
    for name, pid in cases.items():
        path = write_checkpoint(
            tmp_path / f"{name}.pth", {"w": Tensor(Odd(pid), 0, (1,), (1,))}, {"0": bytes(4)}
        )
        refused(path)


def test_v3_accepts_only_the_new_dtypes(tmp_path):
    ref = Ref(torch.UntypedStorage, "0", 8)
    ok = {"w": Tensor(ref, 0, (4,), (1,), torch.uint16, func=torch._utils._rebuild_tensor_v3)}
    path = write_checkpoint(tmp_path / "u16.pth", ok, {"0": np.arange(4, dtype="<u2").tobytes()})
    np.testing.assert_array_equal(torchfile.load(path)["w"], np.arange(4, dtype=np.uint16))
    # torch writes float32 with _rebuild_tensor_v2; the dtype global is not on the list
    bad = {"w": Tensor(ref, 0, (2,), (1,), torch.float32, func=torch._utils._rebuild_tensor_v3)}
    path = write_checkpoint(tmp_path / "f32v3.pth", bad, {"0": bytes(8)})
    refused(path, "refused: pickle wants global torch.float32")
    # a typed storage handed to v3, an untyped one handed to v2
    mixed = {
        "w": Tensor(
            Ref(torch.FloatStorage, "0", 2), 0, (2,), (1,), torch.uint16, func=torch._utils._rebuild_tensor_v3
        )
    }
    refused(write_checkpoint(tmp_path / "mixed.pth", mixed, {"0": bytes(8)}), "untyped storage")
    untyped_v2 = {"w": Tensor(ref, 0, (2,), (1,))}
    refused(write_checkpoint(tmp_path / "uv2.pth", untyped_v2, {"0": bytes(8)}), "typed storage")


def test_unlisted_torch_features_are_refused(tmp_path):
    for name, obj, glob in [
        ("set", {"s": {1, 2}}, "__builtin__.set"),
        ("slice", {"s": slice(1, 2)}, "__builtin__.slice"),
        ("bytes", {"b": b"raw"}, "_codecs.encode"),  # how protocol 2 writes bytes
        ("complex", {"c": torch.zeros(2, dtype=torch.complex64)}, "torch.ComplexFloatStorage"),
        ("sparse", {"s": torch.eye(3).to_sparse()}, "torch._utils._rebuild_sparse_tensor"),
    ]:
        torch.save(obj, tmp_path / f"{name}.pth")
        refused(tmp_path / f"{name}.pth", f"refused: pickle wants global {glob}")


# ---------------------------------------------------------------- hostile files


def global_call(module: str, name: str, arg: str, protocol: int = 2) -> bytes:
    """A pickle that calls module.name(arg): GLOBAL (protocol 2) or STACK_GLOBAL (protocol 4)."""

    def unicode(s: str) -> bytes:
        b = s.encode()
        return b"X" + struct.pack("<I", len(b)) + b

    if protocol == 2:
        fn = b"c" + f"{module}\n{name}\n".encode()
    else:
        fn = unicode(module) + unicode(name) + b"\x93"  # STACK_GLOBAL
    return bytes([0x80, protocol]) + fn + unicode(arg) + b"\x85R."


@pytest.mark.parametrize(
    "module, name, protocol",
    [
        ("os", "system", 2),
        ("posix", "system", 2),
        ("posix", "system", 4),
        ("builtins", "eval", 2),
        ("builtins", "eval", 4),
    ],
)
def test_code_in_the_pickle_never_runs(tmp_path, module, name, protocol):
    marker = tmp_path / "pwned"
    if name == "eval":
        arg = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    else:
        arg = f"touch '{marker}'"
    payload = global_call(module, name, arg, protocol)
    path = write_zip(tmp_path / "evil.pth", payload, {})
    refused(path, f"refused: pickle wants global {module}.{name}")
    with pytest.raises(checkpoint.CheckpointError, match="pickle"):
        checkpoint.load(path)
    assert not marker.exists()
    pickle.loads(payload)  # the payload is live: an unrestricted unpickler runs it
    assert marker.exists()


def test_build_cannot_alter_the_whitelisted_objects(tmp_path):
    """BUILD sets attributes on the object below it; the shared markers have none to set."""
    head = b"\x80\x02ctorch\nFloatStorage\n"
    for state in (
        b"}X\x04\x00\x00\x00diskX\x03\x00\x00\x00<f8s",
        b"N}X\x04\x00\x00\x00diskX\x03\x00\x00\x00<f8s\x86",
    ):
        refused(write_zip(tmp_path / "build.pth", head + state + b"b.", {}), "Error")
    assert torchfile._LEGACY_STORAGES["FloatStorage"].disk == "<f4"
    # and attributes set on a whitelisted function reach only that load's fresh copy
    pkl = b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n}X\x01\x00\x00\x00xK\x01sb."
    first = torchfile.load(write_zip(tmp_path / "f.pth", pkl, {}))
    second = torchfile.load(write_zip(tmp_path / "g.pth", pkl[: pkl.index(b"}")] + b".", {}))
    assert first.x == 1 and not hasattr(second, "x") and first is not second


def test_not_a_zip_is_refused_with_the_way_out(tmp_path):
    raw = tmp_path / "legacy.pth"
    raw.write_bytes(pickle.dumps({"w": [1.0, 2.0]}, protocol=2))
    refused(raw, "not a torch zip checkpoint", "re-save it with a recent torch")
    rng = np.random.default_rng(0)
    (tmp_path / "noise.pth").write_bytes(rng.bytes(5000))
    refused(tmp_path / "noise.pth", "not a torch zip checkpoint")
    (tmp_path / "pk.pth").write_bytes(b"PK\x03\x04" + rng.bytes(5000))
    refused(tmp_path / "pk.pth", "damaged zip")


def test_damaged_zips(tmp_path):
    good = tmp_path / "good.pth"
    torch.save({"w": torch.ones(1000)}, good)
    data = good.read_bytes()
    (tmp_path / "trunc.pth").write_bytes(data[: len(data) // 2])
    refused(tmp_path / "trunc.pth", "damaged zip")
    blob = data.index(b"\x00\x00\x80?" * 16)  # inside the storage of ones: the CRC no longer matches
    (tmp_path / "flip.pth").write_bytes(data[:blob] + b"\x00\x00\x80@" + data[blob + 4 :])
    refused(tmp_path / "flip.pth", "BadZipFile")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
        zf.writestr("readme.txt", "hello")
    refused(tmp_path / "other.zip", "without <archive>/data.pkl")
    write_zip(tmp_path / "order.pth", pickle.dumps(1, protocol=2), {}, byteorder=b"middle")
    refused(tmp_path / "order.pth", "byteorder")


def test_zip_bomb_is_refused_before_it_inflates(tmp_path, monkeypatch):
    obj = {"w": Tensor(Ref(torch.FloatStorage, "0", 2**20), 0, (2**20,), (1,))}
    path = write_checkpoint(
        tmp_path / "bomb.pth", obj, {"0": bytes(4 * 2**20)}, compression=zipfile.ZIP_DEFLATED
    )
    assert path.stat().st_size < 20_000  # 4 MiB of zeros, deflated
    refused(path, "archive/data/0", "over the size limit", max_bytes=2**20)
    assert torchfile.load(path, max_bytes=8 * 2**20)["w"].nbytes == 4 * 2**20
    monkeypatch.setattr(checkpoint, "MAX_BYTES", 2**20)  # the loader passes its own limit down
    with pytest.raises(checkpoint.CheckpointError, match="over the size limit"):
        checkpoint.load(path)


def test_views_cannot_multiply_memory(tmp_path):
    ref = Ref(torch.FloatStorage, "0", 1)
    huge = {"w": Tensor(ref, 0, (10**6, 10**6), (0, 0))}  # 4 TB from one float, by stride 0
    refused(write_checkpoint(tmp_path / "huge.pth", huge, {"0": bytes(4)}), "size limit")
    ref = Ref(torch.FloatStorage, "0", 1024)
    many = [Tensor(ref, 0, (1024,), (1,)) for _ in range(300)]  # 300 copies of 4 KiB
    path = write_checkpoint(tmp_path / "many.pth", many, {"0": bytes(4096)})
    refused(path, "size limit", max_bytes=1_000_000)
    assert len(torchfile.load(path, max_bytes=2_000_000)) == 300


# ---------------------------------------------------------------- no torch on the way


def test_loading_the_reference_does_not_import_torch(reference_path):
    code = (
        "import sys; from lens.checkpoint import load; "
        f"ck = load({str(reference_path)!r}); "
        "assert ck.p == 113; assert 'torch' not in sys.modules, 'torch was imported'"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr


def test_the_reader_module_does_not_import_torch():
    code = "import sys, lens.torchfile; print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env
    )
    assert res.stdout.strip() == "[]", res.stderr
