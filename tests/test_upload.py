"""Upload your own checkpoint (ui/upload.py, ui/data.py): the size cap, the per-session
temporary folder and its removal, refusals that leave the session's model as it was, and
the app's sidebar through AppTest (which drives ``st.file_uploader`` in Streamlit 1.67).
The two-reader end-to-end in a real browser is tests/browser/test_upload_browser.py.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from tiny_models import make_checkpoint

from ui import data, upload


class FakeUpload:
    """What the handler needs of Streamlit's UploadedFile: a name and the bytes."""

    def __init__(self, name: str, content: bytes, size: int | None = None):
        self.name, self._content = name, content
        self.size = len(content) if size is None else size
        self.reads = 0

    def getvalue(self) -> bytes:
        self.reads += 1
        return self._content


def safetensors_bytes(p: int = 13) -> bytes:
    from safetensors.numpy import save

    return save(make_checkpoint(p).weights)


def run_zip_bytes(tmp_path: Path, p: int = 13, folder: str = "tiny-run") -> bytes:
    from lens.checkpoint import save_run

    ck = make_checkpoint(p)
    run_dir = save_run(tmp_path / folder, ck.weights, ck.split)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for f in sorted(run_dir.rglob("*")):
            zf.write(f, f"{folder}/{f.relative_to(run_dir)}")
    return buf.getvalue()


@pytest.fixture
def tmp_root(tmp_path, monkeypatch):
    """tempfile's folder moved to a fresh one, so the test sees every upload folder made."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def folders(root: Path) -> list[Path]:
    return sorted(root.glob(f"{data.UPLOAD_PREFIX}*"))


# ---------------------------------------------------------------- the pure handler


def test_a_good_file_becomes_the_sessions_checkpoint(tmp_root):
    state: dict = {}
    held = []
    assert upload.accept(FakeUpload("tiny.safetensors", safetensors_bytes()), state, hold=held.append) is None
    source = state[data.UPLOAD_KEY]
    assert data.is_upload(source) and Path(source).is_file()
    assert state[upload.NAME_KEY] == "tiny.safetensors"
    assert held == [state[upload.FOLDER_KEY]]
    assert folders(tmp_root) == [state[upload.FOLDER_KEY].path]
    assert data.checkpoint(source).p == 13
    upload.clear(state)
    assert data.UPLOAD_KEY not in state  # the pages show the default model at once
    upload.settle(state)  # the run the clearing started
    assert folders(tmp_root) == [state[upload.STANDBY_KEY][upload.FOLDER_KEY].path]
    upload.settle(state)  # the next run: it was a real clear, not a file dropped over another
    assert folders(tmp_root) == [] and state == {}


def _gone(state: dict) -> None:
    upload.clear(state)
    upload.settle(state)
    upload.settle(state)


def test_a_file_dropped_over_the_upload_replaces_it_only_when_accepted(tmp_root):
    """The browser's uploader sends an empty value between the old file and the new one."""
    state: dict = {}
    upload.accept(FakeUpload("good.safetensors", safetensors_bytes(13)), state)
    good = dict(state)
    upload.clear(state)  # the old file removed, the new one still on its way
    upload.settle(state)  # that run completed
    assert upload.accept(FakeUpload("garbage.pth", b"junk"), state) is not None
    assert {k: v for k, v in state.items() if k != upload.ERROR_KEY} == good
    assert folders(tmp_root) == [good[upload.FOLDER_KEY].path]
    upload.clear(state)
    assert upload.accept(FakeUpload("other.safetensors", safetensors_bytes(7)), state) is None
    assert folders(tmp_root) == [state[upload.FOLDER_KEY].path] != [good[upload.FOLDER_KEY].path]
    assert upload.STANDBY_KEY not in state and data.checkpoint(state[data.UPLOAD_KEY]).p == 7
    _gone(state)
    assert folders(tmp_root) == []


def test_the_size_cap_refuses_before_anything_is_written(tmp_root):
    class Huge(FakeUpload):
        def getvalue(self) -> bytes:
            raise AssertionError("read although over the cap")

    state: dict = {"kept": 1}
    why = upload.accept(Huge("big.pth", b"", size=upload.MAX_UPLOAD_BYTES + 1), state)
    assert why == "big.pth: file: expected at most 64 MB, found 64.0 MB"
    assert folders(tmp_root) == []
    assert state == {"kept": 1, upload.ERROR_KEY: why}
    # The cap is the server's too.
    config = (Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text()
    assert "maxUploadSize = 64" in config and upload.MAX_UPLOAD_MB == 64


def test_a_file_exactly_at_the_cap_is_read(tmp_root):
    f = FakeUpload("edge.pth", b"\x00" * 16, size=upload.MAX_UPLOAD_BYTES)
    why = upload.accept(f, {})
    assert f.reads == 1 and "64 MB" not in why  # refused by the loader, not by the cap
    assert folders(tmp_root) == []


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("garbage.pth", b"not a checkpoint at all", "garbage.pth: file: expected a run directory"),
        ("garbage.safetensors", b"\xff" * 64, "garbage.safetensors: safetensors: expected a valid"),
        ("garbage.zip", b"PK\x03\x04 torn", "garbage.zip: zip: expected a readable zip archive"),
        ("notes.txt", b"hello", "notes.txt: file: expected a .pth, .safetensors or .zip file"),
    ],
)
def test_a_refused_file_leaves_the_session_as_it_was(tmp_root, name, content, expected):
    state: dict = {}
    assert upload.accept(FakeUpload("good.safetensors", safetensors_bytes()), state) is None
    before = dict(state)
    why = upload.accept(FakeUpload(name, content), state)
    assert why.startswith(expected), why
    assert "\n" not in why and str(tmp_root) not in why  # one line, naming the reader's file
    assert state == {**before, upload.ERROR_KEY: why}
    assert folders(tmp_root) == [before[upload.FOLDER_KEY].path]  # the refused file's is gone
    assert data.checkpoint(state[data.UPLOAD_KEY]).p == 13
    _gone(state)


def test_a_refusal_inside_a_zip_names_the_member_not_the_server_folder(tmp_root, tmp_path):
    raw = run_zip_bytes(tmp_path)
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(buf, "w") as out:
        for info in src.infolist():
            body = src.read(info)
            if info.filename.endswith("config.json"):
                body = b"{not json"
            out.writestr(info.filename, body)
    why = upload.accept(FakeUpload("broken.zip", buf.getvalue()), {})
    assert why.startswith("broken.zip!tiny-run/config.json: json: expected valid JSON"), why
    assert folders(tmp_root) == []


def test_a_zip_of_a_run_directory_is_kept_as_a_run_directory(tmp_root, tmp_path):
    state: dict = {}
    assert upload.accept(FakeUpload("my run.zip", run_zip_bytes(tmp_path, 31)), state) is None
    source = Path(state[data.UPLOAD_KEY])
    assert source.is_dir() and source.name == "tiny-run"  # the Grokking page reads runs
    assert state[upload.NAME_KEY] == "my_run.zip"
    assert not list(source.parent.glob("*.zip"))  # the archive itself is not kept
    assert data.checkpoint(str(source)).p == 31
    _gone(state)
    assert folders(tmp_root) == []


def test_another_upload_removes_the_first_and_its_cached_arrays(tmp_root):
    state: dict = {}
    upload.accept(FakeUpload("a.safetensors", safetensors_bytes(13)), state)
    first, first_source = state[upload.FOLDER_KEY], state[data.UPLOAD_KEY]
    data.shared_of_run(_logit_sum, first_source)
    assert any(k[1] == first_source for k in data._SHARED._items)
    upload.accept(FakeUpload("b.safetensors", safetensors_bytes(7)), state)
    assert not first.exists()
    assert not any(k[1] == first_source for k in data._SHARED._items)
    assert folders(tmp_root) == [state[upload.FOLDER_KEY].path]
    assert data.checkpoint(state[data.UPLOAD_KEY]).p == 7
    _gone(state)
    assert folders(tmp_root) == []


def _logit_sum(run):
    return run.logits.sum(axis=0)


def test_uploads_never_evict_the_default_model(tmp_root):
    default = str(data.DEFAULT_RUN)
    shared = data._run_shared(default)
    states = [{} for _ in range(data.UPLOAD_ENTRIES + 3)]
    for i, state in enumerate(states):
        upload.accept(FakeUpload(f"u{i}.safetensors", safetensors_bytes(13)), state)
        data.run(state[data.UPLOAD_KEY])
    assert data._run_shared(default) is shared  # still the same cached object
    for state in states:
        _gone(state)


def test_a_model_whose_run_would_not_fit_is_refused(tmp_root, monkeypatch):
    from lens.config import ModelConfig

    cfg = ModelConfig.from_shapes({k: v.shape for k, v in make_checkpoint(13).weights.items()})
    assert (
        upload.run_bytes(cfg)
        == 13 * 13 * (3 * cfg.n_heads + cfg.n_heads * cfg.d_head + 4 * cfg.d_model + 2 * cfg.d_mlp + 13) * 4
    )
    monkeypatch.setattr(upload, "MAX_RUN_BYTES", upload.run_bytes(cfg) - 1)
    state: dict = {}
    why = upload.accept(FakeUpload("wide.safetensors", safetensors_bytes()), state)
    assert why.startswith("wide.safetensors: model: expected a model whose run on all p × p inputs fits")
    assert "found p = 13" in why and data.UPLOAD_KEY not in state
    assert folders(tmp_root) == []


def test_the_default_p113_run_fits_the_upload_cap():
    cfg = data.checkpoint(str(data.DEFAULT_RUN)).cfg
    assert upload.run_bytes(cfg) <= upload.MAX_RUN_BYTES


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("model.safetensors", "model.safetensors"),
        ("../../etc/passwd.pth", "passwd.pth"),
        ("C:\\Users\\me\\run.ZIP", "run.zip"),
        ("`rm -rf`\n.pth", "rm_-rf.pth"),
        (".pth", "upload.pth"),
        ("a" * 300 + ".safetensors", "a" * 70 + ".safetensors"),
    ],
)
def test_display_name_is_safe_to_store_and_show(raw, shown):
    assert upload.display_name(raw) == shown


def test_is_upload_knows_only_upload_folders(tmp_root):
    assert data.is_upload(str(tmp_root / f"{data.UPLOAD_PREFIX}abc" / "x.pth"))
    assert not data.is_upload(str(tmp_root / "other" / "x.pth"))
    assert not data.is_upload(str(data.DEFAULT_RUN))
    assert not data.is_upload(str(tmp_root))


def test_orphans_of_a_dead_process_are_swept(tmp_root):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    orphan = tmp_root / f"{data.UPLOAD_PREFIX}orphan"
    orphan.mkdir()
    (orphan / upload.OWNER_FILE).write_text(dead.stdout.strip())
    (orphan / "x.pth").write_bytes(b"1")
    mine = upload.UploadFolder()
    stranger = tmp_root / f"{data.UPLOAD_PREFIX}no-owner"
    stranger.mkdir()
    assert upload.sweep_orphans() == [orphan]
    assert not orphan.exists() and mine.exists() and stranger.exists()
    mine.remove()


def test_no_session_no_upload():
    assert data.session_upload() is None
    assert data.current_source() in (
        str(data.DEFAULT_RUN),
        str(Path(data.requested_checkpoint() or "").resolve()),
    )


# ---------------------------------------------------------------- the app, through AppTest


@pytest.fixture
def app(tmp_root, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.delenv("LENS_CHECKPOINT", raising=False)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception
    return at


def caption(at) -> str:
    return next(c.value for c in at.sidebar.caption if c.value.startswith("Model:"))


def test_the_sidebar_upload_round_trip(app, tmp_root):
    at = app
    assert caption(at) == "Model: `default-run` (p = 113)"
    at.file_uploader(key="upload").set_value(
        ("tiny.safetensors", safetensors_bytes(13), "application/octet-stream")
    )
    at.run()
    assert not at.exception
    assert caption(at) == "Model: your upload: `tiny.safetensors` (p = 13)"
    source = at.session_state[data.UPLOAD_KEY]
    assert data.is_upload(source) and len(folders(tmp_root)) == 1
    # The page itself ran on the upload (the uploader's callback runs before the page).
    assert "113" not in " ".join(m.value for m in at.main.markdown)

    at.file_uploader(key="upload").set_value(("garbage.pth", b"\x80\x04 junk", "application/octet-stream"))
    at.run()
    assert not at.exception
    (error,) = [e.value for e in at.sidebar.error]
    assert error.startswith("That file was refused, so the model stays as it was. garbage.pth: ")
    assert str(tmp_root) not in error
    assert caption(at) == "Model: your upload: `tiny.safetensors` (p = 13)"
    assert at.session_state[data.UPLOAD_KEY] == source and len(folders(tmp_root)) == 1

    # A deep link names the page's choices only, never the upload.
    at.button(key="links.share").click()
    at.run()
    link = json.dumps(at.query_params)
    assert "tiny" not in link and data.UPLOAD_PREFIX not in link and "safetensors" not in link

    at.file_uploader(key="upload").set_value(None)
    at.run()
    assert not at.exception
    assert caption(at) == "Model: `default-run` (p = 113)" and data.UPLOAD_KEY not in at.session_state
    at.run()  # the reader's next move: the emptied uploader was a real clear (see upload.clear)
    assert folders(tmp_root) == []


def test_an_upload_released_with_the_session_falls_back_quietly(app, tmp_root):
    """What Streamlit does when the session disconnects (``on_release``), then a rerun."""
    at = app
    at.file_uploader(key="upload").set_value(
        ("tiny.safetensors", safetensors_bytes(13), "application/octet-stream")
    )
    at.run()
    at.session_state[upload.FOLDER_KEY].remove()  # the session cache's on_release
    at.run()
    assert not at.exception
    assert caption(at) == "Model: `default-run` (p = 113)"
    (info,) = [i.value for i in at.sidebar.info]
    assert "ended when the connection dropped" in info
    assert folders(tmp_root) == []


def test_forget_drops_the_uploads_cached_run(tmp_root, monkeypatch):
    calls = []
    real = data._run_model
    monkeypatch.setattr(data, "_run_model", lambda source: calls.append(source) or real(source))
    state: dict = {}
    upload.accept(FakeUpload("f.safetensors", safetensors_bytes(13)), state)
    source = state[data.UPLOAD_KEY]
    data.run(source)
    data.run(source)
    assert calls == [source]  # cached
    data.forget(source)
    data.run(source)
    assert calls == [source, source]  # forgotten, so run again
    _gone(state)


PAGES = sorted(p.name for p in (Path(__file__).resolve().parents[1] / "pages").glob("*.py"))


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_an_upload(app, page):
    at = app
    at.file_uploader(key="upload").set_value(
        ("tiny.safetensors", safetensors_bytes(13), "application/octet-stream")
    )
    at.run()
    at.switch_page(f"pages/{page}")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert caption(at) == "Model: your upload: `tiny.safetensors` (p = 13)"


@pytest.mark.parametrize("page", PAGES)
def test_a_page_seen_on_the_default_model_runs_on_a_smaller_upload(app, page):
    """Widget values chosen on the default model (neuron 175 of 512, say) must not break the
    same page once the reader uploads a smaller model in the same session."""
    at = app
    at.switch_page(f"pages/{page}")
    at.run()
    for slider in at.slider:  # every server slider to its largest value on the default model
        if slider.key and not slider.key.startswith("$$"):
            slider.set_value(slider.max)
    at.run()
    at.file_uploader(key="upload").set_value(
        ("tiny.safetensors", safetensors_bytes(13), "application/octet-stream")
    )
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert caption(at) == "Model: your upload: `tiny.safetensors` (p = 13)"
