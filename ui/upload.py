"""Upload your own checkpoint: the sidebar's file uploader, for this reader's session alone.

A reader drops a ``.pth`` (the original progress-measures layout), a ``.safetensors`` or a
``.zip`` of a run directory into the sidebar. The file is untrusted input:

1. refused before anything is written when it is over ``MAX_UPLOAD_BYTES`` (64 MB; the
   server refuses more too, ``server.maxUploadSize`` in ``.streamlit/config.toml``) or has
   another extension;
2. written only into a fresh temporary folder of its own (``tempfile.mkdtemp``, prefix
   ``ui.data.UPLOAD_PREFIX``) under a sanitised name; a zip is extracted there by
   :func:`lens.checkpoint.extract_zip` (caps on entries, sizes and ratios; no ``..``, no
   symlinks) and kept as a run directory, so the Grokking page can show its own history;
3. validated by :func:`lens.checkpoint.load`, which refuses with a one-line
   :class:`~lens.checkpoint.CheckpointError`; and refused too when its full-dataset run
   would be larger than ``MAX_RUN_BYTES`` (a prime p in the thousands fits in 64 MB of
   weights but not its p * p run in a shared 1 GB instance).

A refused file shows its one-line reason, naming the reader's file (never the temporary
folder), and the reader keeps the model they had. An accepted one becomes this session's
checkpoint: ``st.session_state[ui.data.UPLOAD_KEY]`` names it, every page reads it through
``ui.data.current_source``, and no other session sees it. Deep links never name it
(``ui/links.py`` writes only a page's choices).

The work happens in the uploader's ``on_change`` callback, which Streamlit runs before the
script: the page of that very run already shows the new model, although the widget is
drawn after the page, at the end of the sidebar. Once handled, Streamlit's own in-memory
copy of the file is dropped (up to 64 MB per reader for the whole session otherwise); the
widget keeps showing the file's name.

Lifetime of a folder (:class:`UploadFolder`). It is removed, with what the caches hold for
it (``ui.data.forget``), when:

- the reader uploads another file that is accepted (the old one goes), or clears the
  uploader: the default model comes back at once, and the folder goes on the next script
  run (:func:`clear`: the browser's uploader empties itself for a moment whenever a file is
  dropped over another, and a refused replacement must leave the reader their model);
- the session ends. Streamlit 1.67 has no session-end callback as such; what it has is
  ``st.cache_resource(scope="session", on_release=...)``: a session's resources are
  released, calling ``on_release``, when its websocket disconnects (a closed tab, a dropped
  connection, a server shutting the session down). Each folder is held by such a resource
  (:func:`_held`). That is public, documented API, unlike the runtime's session manager
  (``runtime.get_instance()._session_mgr``, private) or a ``weakref.finalize`` on
  session state (which runs only whenever the session's state is garbage-collected). The
  cost: a connection that drops and reconnects ends the upload too; the next run says so
  and the reader uploads the file again.
- a server that was killed cannot release anything, so each folder records the id of the
  process that made it, and the first upload in a new process removes folders whose
  process is gone (:func:`sweep_orphans`).

The pure part (:func:`accept`, :func:`clear`, :class:`UploadFolder`) takes any mapping as
session state and any object with ``name`` and ``getvalue()`` as the file, so it is tested
without Streamlit (tests/test_upload.py).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Callable, MutableMapping, Protocol

import streamlit as st

from ui import data

MAX_UPLOAD_MB = 64
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 2**20
# An upload's full-dataset run (lens.run, numpy engine, "=" position only) must fit here: the
# default p = 113 model's is 88 MB. Two uploaded runs at most are held (ui.data.UPLOAD_ENTRIES).
MAX_RUN_BYTES = 160 * 2**20
# What a zip may inflate to in all (lens.checkpoint.extract_zip also caps entries and ratios).
MAX_ZIP_BYTES = 2 * MAX_UPLOAD_BYTES
TYPES = ("pth", "safetensors", "zip")

WIDGET_KEY = "upload"
NAME_KEY = "lens.upload.name"  # the reader's file name, sanitised (for the sidebar caption)
FOLDER_KEY = "lens.upload.folder"  # the UploadFolder holding this session's upload
ERROR_KEY = "lens.upload.error"  # the one-line refusal of the last file, until the next change
ENDED_KEY = "lens.upload.ended"  # the name of an upload that ended with a dropped connection
STANDBY_KEY = "lens.upload.standby"  # an upload set aside when the uploader emptied (see clear)
OWNER_FILE = ".owner-pid"


class UploadedFileLike(Protocol):
    name: str

    def getvalue(self) -> bytes: ...


class UploadFolder:
    """A temporary folder holding one upload. :meth:`remove` deletes it and drops what the
    caches hold for its checkpoint; it is idempotent and safe from any thread."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=data.UPLOAD_PREFIX))
        (self.path / OWNER_FILE).write_text(str(os.getpid()))
        self.source: str | None = None  # the checkpoint path inside, once written

    def exists(self) -> bool:
        return self.path.is_dir()

    def remove(self) -> None:
        if self.source is not None:
            data.forget(self.source)
        shutil.rmtree(self.path, ignore_errors=True)

    def __repr__(self) -> str:  # shown by Streamlit's cache stats, never to readers
        return f"UploadFolder({str(self.path)!r})"


def display_name(name: str) -> str:
    """The uploaded file's name made safe to store and show: its last path part, characters
    other than letters, digits and ``._-+()`` replaced by ``_``, at most 80 characters with
    the extension kept (lowercased)."""
    base = re.split(r"[/\\]", str(name))[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = re.sub(r"[^\w.+()-]+", "_", stem, flags=re.ASCII).strip("._") or "upload"
    ext = re.sub(r"[^a-z0-9]+", "", ext.lower())
    return f"{stem[:70]}.{ext}" if ext else stem[:70]


def _size(uploaded: UploadedFileLike) -> int:
    size = getattr(uploaded, "size", None)  # Streamlit's UploadedFile knows it without a copy
    return int(size) if isinstance(size, int) else len(uploaded.getvalue())


def run_bytes(cfg) -> int:
    """The bytes of a model's full-dataset run (lens.run with ``all_positions=False``):
    per input, the pattern and z of every head, four d_model streams, two d_mlp ones and
    the logits, as float32."""
    per_input = 3 * cfg.n_heads + cfg.n_heads * cfg.d_head + 4 * cfg.d_model + 2 * cfg.d_mlp + cfg.p
    return cfg.p * cfg.p * per_input * 4


def _store(uploaded: UploadedFileLike, name: str, folder: UploadFolder) -> tuple[str, Path]:
    """Write the upload into ``folder``; returns (the checkpoint's path, the file written).
    A zip is extracted into a folder named after it and then deleted."""
    from lens.checkpoint import extract_zip

    stored = folder.path / name
    stored.write_bytes(uploaded.getvalue())
    if stored.suffix != ".zip":
        return str(stored), stored
    try:
        run_dir = extract_zip(stored, folder.path / stored.stem, max_bytes=MAX_ZIP_BYTES)
    finally:
        stored.unlink(missing_ok=True)
    return str(run_dir), stored


def _readable(message: str, name: str, stored: Path, folder: UploadFolder) -> str:
    """A refusal naming the reader's file, not the temporary folder: ``run.zip!run/x`` for a
    member of a zip, ``file.pth`` for the file itself."""
    message = message.replace(str(stored), name)  # the file itself, and lens's "x.zip!member"
    if stored.suffix == ".zip":  # a member of the extracted run directory
        message = message.replace(f"{folder.path / stored.stem}{os.sep}", f"{name}!")
    return message.replace(f"{folder.path}{os.sep}", "").replace(str(folder.path), name)


def accept(
    uploaded: UploadedFileLike,
    state: MutableMapping,
    hold: Callable[[UploadFolder], None] | None = None,
) -> str | None:
    """Validate ``uploaded`` and, when it is sound, make it this session's checkpoint.

    Returns None on success, else the one-line refusal (also left in ``state[ERROR_KEY]``);
    a refusal leaves every other key of ``state`` as it was, and removes the new folder.
    ``hold(folder)`` ties a new folder to the session's end (:func:`_held` in the app).
    On success the previous upload's folder is removed."""
    from lens.checkpoint import CheckpointError

    name = display_name(uploaded.name)
    size = _size(uploaded)
    why = None
    if not name.endswith(tuple(f".{t}" for t in TYPES)):
        why = f"{name}: file: expected a .pth, .safetensors or .zip file"
    elif size > MAX_UPLOAD_BYTES:
        why = f"{name}: file: expected at most {MAX_UPLOAD_MB} MB, found {size / 2**20:.1f} MB"
    if why is not None:
        state[ERROR_KEY] = why
        return why
    folder = UploadFolder()
    stored = folder.path / name
    try:
        source, stored = _store(uploaded, name, folder)
        folder.source = source
        why = data.refusal(source)  # lens.checkpoint.load, through the uploads' own cache
        if why is None:
            cfg = data.checkpoint(source).cfg
            if run_bytes(cfg) > MAX_RUN_BYTES:
                why = (
                    f"{name}: model: expected a model whose run on all p × p inputs fits in "
                    f"{MAX_RUN_BYTES // 2**20} MB here, found p = {cfg.p}, d_mlp = {cfg.d_mlp} "
                    f"({run_bytes(cfg) / 2**20:.0f} MB); `python -m lens report --checkpoint FILE` "
                    "reads it on your own machine"
                )
    except CheckpointError as err:  # extract_zip's refusals
        why = str(err)
    except OSError as err:  # the disk is full, say: refused, and logged as any error is
        why = f"{name}: file: could not be stored on the server ({err.strerror or type(err).__name__})"
    if why is not None:
        folder.remove()
        why = _readable(why, name, stored, folder)
        _restore(state)  # the file replaced the one the reader had: they keep that one
        state[ERROR_KEY] = why
        return why
    previous = [state.get(FOLDER_KEY), (state.get(STANDBY_KEY) or {}).get(FOLDER_KEY)]
    if hold is not None:
        hold(folder)
    state[FOLDER_KEY] = folder
    state[data.UPLOAD_KEY] = source
    state[NAME_KEY] = name
    for key in (ERROR_KEY, ENDED_KEY, STANDBY_KEY):
        state.pop(key, None)
    for old in previous:
        if isinstance(old, UploadFolder) and old is not folder:
            old.remove()
    return None


_CURRENT = (FOLDER_KEY, data.UPLOAD_KEY, NAME_KEY)


def clear(state: MutableMapping) -> None:
    """The uploader was emptied: the pages show the default model again.

    Streamlit's uploader also empties itself for a moment when a reader drops a file over
    the one it holds (it removes the old file, sends the empty value, then sends the new
    file once it has arrived), so the upload is not removed here but set aside: restored if
    the new file is refused (the reader keeps the model they had), removed if it is
    accepted, and otherwise removed by :func:`settle` one script run later."""
    current = {key: state.pop(key) for key in _CURRENT if key in state}
    for key in (ERROR_KEY, ENDED_KEY):
        state.pop(key, None)
    if isinstance(current.get(FOLDER_KEY), UploadFolder):
        old = state.get(STANDBY_KEY)
        if old is not None and old.get(FOLDER_KEY) is not current[FOLDER_KEY]:
            old[FOLDER_KEY].remove()
        state[STANDBY_KEY] = {**current, "runs": 0}


def _restore(state: MutableMapping) -> None:
    standby = state.pop(STANDBY_KEY, None)
    if standby is not None and FOLDER_KEY not in state and standby[FOLDER_KEY].exists():
        state.update({key: standby[key] for key in _CURRENT})


def settle(state: MutableMapping) -> None:
    """Once per script run: an upload set aside by :func:`clear` one run ago, with no new
    file since, was really cleared; its folder is removed."""
    standby = state.get(STANDBY_KEY)
    if standby is None:
        return
    if standby["runs"] >= 1:
        state.pop(STANDBY_KEY)[FOLDER_KEY].remove()
    else:
        standby["runs"] += 1


def active_name(state: MutableMapping) -> str | None:
    """The name of this session's upload while it is the current checkpoint, else None."""
    folder = state.get(FOLDER_KEY)
    if isinstance(folder, UploadFolder) and folder.exists() and data.session_upload() is not None:
        return state.get(NAME_KEY)
    return None


def sweep_orphans(root: str | os.PathLike | None = None) -> list[Path]:
    """Remove upload folders under ``root`` (the temporary folder) whose process has gone
    (a server that was killed could not release them). Returns what it removed. Folders of
    live processes, this one's included, are left alone."""
    removed = []
    for folder in Path(root or tempfile.gettempdir()).glob(f"{data.UPLOAD_PREFIX}*"):
        try:
            pid = int((folder / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not ours to judge (being made, or not an upload folder after all)
        if pid == os.getpid() or _alive(pid):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


# ---------------------------------------------------------------- the Streamlit side


@st.cache_resource(scope="session", max_entries=1, on_release=UploadFolder.remove, show_spinner=False)
def _held(path: str, _folder: UploadFolder) -> UploadFolder:
    """Holds this session's upload folder until the session disconnects, when Streamlit calls
    ``on_release`` (``UploadFolder.remove``). One entry: holding a new folder releases the
    previous one (already removed by :func:`accept`; removing twice is harmless)."""
    return _folder


def _hold(folder: UploadFolder) -> None:
    _held(str(folder.path), folder)


_SWEPT = {"done": False}


def _drop_streamlit_copy(uploaded) -> None:
    """Free Streamlit's in-memory copy of a handled file (the widget keeps its name)."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    file_id = getattr(uploaded, "file_id", None)
    if ctx is not None and file_id is not None:
        ctx.uploaded_file_mgr.remove_file(ctx.session_id, file_id)


def _on_change() -> None:
    """The uploader's callback, run before the script (so the page already shows the result)."""
    state = st.session_state
    uploaded = state.get(WIDGET_KEY)
    if uploaded is None:
        clear(state)
        return
    if not hasattr(uploaded, "getvalue"):
        # Streamlit's copy was dropped after it was read (_drop_streamlit_copy), and the browser
        # still names the file: the next widget change reports it as a DeletedFile. Nothing new
        # was uploaded, so the session keeps its model.
        return
    if not _SWEPT["done"]:
        _SWEPT["done"] = True
        sweep_orphans()
    try:
        accept(uploaded, state, hold=_hold)
    finally:
        _drop_streamlit_copy(uploaded)


def sidebar() -> None:
    """The uploader and what became of the last file. Call it inside ``with st.sidebar``."""
    state = st.session_state
    settle(state)
    folder = state.get(FOLDER_KEY)
    if isinstance(folder, UploadFolder) and not folder.exists():
        # Released with a dropped connection (see the module doc): say so once, then forget it.
        state[ENDED_KEY] = state.get(NAME_KEY, "your file")
        for key in (FOLDER_KEY, data.UPLOAD_KEY, NAME_KEY):
            state.pop(key, None)
    st.file_uploader(
        "Upload your own checkpoint",
        type=list(TYPES),
        key=WIDGET_KEY,
        on_change=_on_change,
        max_upload_size=MAX_UPLOAD_MB,
        help=(
            "A `.pth` in the original progress-measures layout, a `.safetensors`, or a `.zip` "
            f"of a run directory; any prime p; at most {MAX_UPLOAD_MB} MB. It is used for your "
            "session alone, and deleted when you leave."
        ),
    )
    if why := state.get(ERROR_KEY):
        st.sidebar.error(f"That file was refused, so the model stays as it was. {why}")
    elif ended := state.pop(ENDED_KEY, None):  # said once
        st.sidebar.info(
            f"Your upload `{ended}` ended when the connection dropped, so the default model is "
            "shown. Upload it again to keep exploring it."
        )
