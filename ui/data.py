"""The one data layer between the pages and `lens`: which checkpoint, its run, every cache.

Which checkpoint: ``streamlit run app.py -- --checkpoint PATH`` (a run directory, a
``.safetensors`` file, or an original progress-measures ``.pth``), else the environment
variable ``LENS_CHECKPOINT``, else the embedded default run in ``assets/``. A checkpoint that
is refused is reported once on the page and the default model is shown instead.

A reader may also upload a checkpoint (``ui/upload.py``): it is this session's alone,
named by ``st.session_state[UPLOAD_KEY]`` (a path in the upload's temporary folder), and
:func:`current_source` returns it while that path exists. Deep links never name it.

Caching: the model and its full-dataset run are a ``st.cache_resource`` shared by every
session, keyed by the checkpoint's path string (never by a tensor). They must never be
mutated: analyses return new arrays. Uploads have caches of their own, of
``UPLOAD_ENTRIES`` models, so that readers uploading files never evict the default model
(every other reader's), and ten uploads never hold ten models; :func:`forget` drops an
upload's entries when its folder is removed. The run uses lens's numpy engine, which needs neither
torch nor TransformerLens (seconds and about 400 MB to import); tests hold it to the
TransformerLens model. Imports happen inside the cached functions, so the prose of a page
reaches the browser before they finish.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import tempfile
import threading

# One BLAS thread. Every widget change runs dozens of small matrix products (Fourier views
# of 113 x 113 slices); on a machine with two busy cores, OpenBLAS's thread hand-off made
# each one take ~16 ms instead of ~0.2 ms (measured), while the model's full run is as fast
# on one thread (0.23 s either way). Read when numpy is first imported, which in a
# `streamlit run` process is after this line (app.py imports this module first).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar  # noqa: E402

import streamlit as st  # noqa: E402

from lens.paths import CREATE_DEFAULT, DEFAULT_RUN  # noqa: E402
from ui.bounded import BytesLRU, return_freed_memory  # noqa: E402

return_freed_memory()  # process-wide, before any analysis allocates (see its docstring)

if TYPE_CHECKING:  # pragma: no cover
    from lens.checkpoint import Checkpoint
    from lens.run import Run


T = TypeVar("T")
# Memory bounds, all pages and checkpoints together (issue 13: one reader moving every widget
# must stay under 600 MB on a 1 GB instance; see bench/memory.py for what they give).
DERIVED_BYTES = 48 * 2**20  # pickled tables, specs and facts (st.cache_data's own measure)
SHARED_BYTES = 96 * 2**20  # the shared read-only arrays

# Uploaded checkpoints (ui/upload.py): the session-state key naming this session's upload,
# the prefix of its temporary folder (how a path is known to be an upload), and how many
# uploaded models the process keeps loaded and run, all sessions together. An upload that
# was evicted is loaded and run again from its folder the next time its reader needs it.
UPLOAD_KEY = "lens.upload"
UPLOAD_PREFIX = "lens-upload-"
UPLOAD_ENTRIES = 2

_FROZEN = {"modules": 0}
_FREEZE_LOCK = threading.Lock()


def freeze_long_lived() -> None:
    """Exempt what is alive now from Python's full garbage collections, once per new import.

    Call it after a script run. A full (generation 2) collection walks every object the
    collector tracks, and after Streamlit, pandas, pyarrow and the pages' modules are
    imported that is a few hundred thousand objects: measured in this app, each such pass
    stopped the server for 80-180 ms, a few times per page visit and in the middle of widget
    changes. ``gc.freeze`` moves the objects alive now (modules, classes, caches' contents)
    to a generation the collector never walks, so later passes see only what was made
    since. It runs only when new modules have been imported since the last time, i.e. on a
    page's first run in this process, so per-run objects are not frozen over and over (a
    cycle that was already garbage when frozen is never freed; that is one page's worth of
    import leftovers, once)."""
    import gc

    n = len(sys.modules)
    if n == _FROZEN["modules"]:
        return
    with _FREEZE_LOCK:
        if n != _FROZEN["modules"]:
            gc.freeze()
            _FROZEN["modules"] = n


def requested_checkpoint() -> str | None:
    """The checkpoint named on the command line (after ``--``) or in ``LENS_CHECKPOINT``."""
    argv = sys.argv[1:]
    for i, arg in enumerate(argv):
        if arg == "--checkpoint" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--checkpoint="):
            return arg.split("=", 1)[1]
    return os.environ.get("LENS_CHECKPOINT") or None


def is_upload(source: str) -> bool:
    """Whether ``source`` lies in an upload's temporary folder (``ui/upload.py``)."""
    try:  # the first folder under the one tempfile.mkdtemp writes in
        first = Path(source).relative_to(tempfile.gettempdir()).parts[0]
    except (ValueError, IndexError):
        return False
    return first.startswith(UPLOAD_PREFIX)


def _vet(source: str) -> tuple["Checkpoint | None", str | None]:
    from lens.checkpoint import CheckpointError, load

    try:
        return load(source), None
    except CheckpointError as err:
        return None, str(err)


@st.cache_resource(show_spinner=False, max_entries=8)
def _vetted(source: str) -> tuple["Checkpoint | None", str | None]:
    """``source`` loaded and checked once: (checkpoint, None), or (None, why it was refused,
    one line). Cached, so a bad path is read once and a good one is not read twice (once
    to vet it, once to run it)."""
    return _vet(source)


@st.cache_resource(show_spinner=False, max_entries=UPLOAD_ENTRIES)
def _vetted_upload(source: str) -> tuple["Checkpoint | None", str | None]:
    """:func:`_vetted` for uploads, in a cache of their own (see the module doc)."""
    return _vet(source)


def _vetting(source: str) -> tuple["Checkpoint | None", str | None]:
    return _vetted_upload(source) if is_upload(source) else _vetted(source)


def refusal(source: str) -> str | None:
    """Why ``source`` cannot be used (one line), or None."""
    return _vetting(source)[1]


def checkpoint(source: str) -> "Checkpoint":
    """The validated weights of ``source`` (no model run: for what needs only p and W)."""
    ckpt, why = _vetting(source)
    if ckpt is None:
        raise ValueError(why)
    return ckpt


def _run_model(source: str) -> "Run":
    from lens.run import run_model

    return run_model(checkpoint(source), engine="numpy", all_positions=False)


_RUNNING = "Running the model on all p × p inputs…"


@st.cache_resource(show_spinner=_RUNNING, max_entries=4)
def _run_shared(source: str) -> "Run":
    return _run_model(source)


@st.cache_resource(show_spinner=_RUNNING, max_entries=UPLOAD_ENTRIES)
def _run_upload(source: str) -> "Run":
    return _run_model(source)


def run(source: str) -> "Run":
    """The full-dataset run of ``source`` (lens's numpy engine), shared by every session:
    never mutate it. An upload's run is cached apart (see the module doc)."""
    return _run_upload(source) if is_upload(source) else _run_shared(source)


def forget(source: str) -> None:
    """Drop what the caches hold for the upload ``source`` (its folder is being removed):
    its vetted checkpoint, its run and its shared arrays. Its derived tables (``_derived``,
    a ``st.cache_data`` that can be cleared only by full key) are not reachable by source;
    they are bounded by entries and bytes and age out. Safe to call from any thread (a
    session's end runs it outside any script run)."""
    _SHARED.drop(lambda k: k[1] == source)
    if is_upload(source):
        # Per-key clears of global caches: they touch no session state.
        _vetted_upload.clear(source)
        _run_upload.clear(source)


def session_upload() -> str | None:
    """This session's uploaded checkpoint while its file is still there, else None."""
    try:
        upload = st.session_state.get(UPLOAD_KEY)
    except Exception:  # noqa: BLE001 - no session (a bare import, a test): no upload
        return None
    if isinstance(upload, str) and is_upload(upload) and Path(upload).exists():
        return upload
    return None


def current_source() -> str:
    """The path string of the checkpoint every page shows (the cache key for derived data):
    this session's upload when it has one, else the one named at start, else the default."""
    if (upload := session_upload()) is not None and refusal(upload) is None:
        return upload
    wanted = requested_checkpoint()
    if wanted and refusal(wanted) is None:
        return str(Path(wanted).resolve())
    return str(DEFAULT_RUN)


def refusal_notice() -> None:
    """Tell the reader (once per run) why a checkpoint they asked for was refused."""
    wanted = requested_checkpoint()
    if wanted and (why := refusal(wanted)):
        st.error(f"The checkpoint you asked for was refused, so the default model is shown. {why}")


def checked_source() -> str:
    """:func:`current_source`, after :func:`refusal_notice`. Stops the page with a clear
    message when even the default model is unavailable. Loads the checkpoint but does not
    run it."""
    refusal_notice()
    source = current_source()
    if source == str(DEFAULT_RUN) and not (DEFAULT_RUN / "config.json").is_file():
        st.error(
            f"The embedded default model is missing from `assets/default-run`. Create it with "
            f"`{CREATE_DEFAULT}`, or start the app with "
            "`streamlit run app.py -- --checkpoint PATH`."
        )
        st.stop()
    return source


def current_run() -> "Run":
    """The full-dataset run of the current checkpoint (see :func:`checked_source`)."""
    return run(checked_source())


# ---------------------------------------------------------------- derived data
# Every table, figure and fact a page shows goes through one of the three functions below,
# keyed by the function's qualified name and cheap arguments (a path string, ints, strings,
# tuples of those): never by a tensor or a model. One cache each, bounded by entries and
# bytes, so memory levels off however a reader moves the widgets.


def _name(fn: Callable) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


@st.cache_data(max_entries=256, max_size=DERIVED_BYTES, show_spinner=False)
def _derived(name: str, source: str | None, args: tuple, _fn: Callable) -> Any:
    # ``name`` keys the cache (``_fn``, with its leading underscore, is not hashed).
    return _fn(run(source), *args) if source is not None else _fn(*args)


def of_run(fn: Callable[..., T], source: str, *args: Any) -> T:
    """``fn(run, *args)`` for the checkpoint ``source``, cached (a copy per call: safe to
    change). For tables, chart specs and facts: what a page formats."""
    return _derived(_name(fn), source, args, fn)


def of_args(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` cached, for what needs no model (a hand-made wave, an idealised model)."""
    return _derived(_name(fn), None, args, fn)


_SHARED = BytesLRU(SHARED_BYTES)


def shared_of_run(fn: Callable[..., T], source: str, *args: Any) -> T:
    """``fn(run, *args)`` computed once per process and handed to every session as the same
    read-only arrays: for the big tensors a scope slices on every widget change, where
    :func:`of_run`'s copy (an unpickling of megabytes) would cost more than the change.
    Bounded by bytes (:class:`ui.bounded.BytesLRU`), not by entries."""
    return _SHARED.get((_name(fn), source, args), lambda: fn(run(source), *args))


_PREFETCH: "list[tuple[Callable, str, Run, tuple]]" = []
_PREFETCH_WAKE = threading.Condition()


def prefetch_of_run(fn: Callable[..., Any], source: str, choices: Sequence[tuple]) -> None:
    """Compute ``shared_of_run(fn, source, *args)`` for each ``args`` in ``choices`` in the
    background, one at a time, so that the reader's next pick among a handful of choices (the
    Neurons page's key frequencies) is a cache hit instead of seconds of work. Only for the
    shared checkpoint (an upload is one session's, and may be forgotten meanwhile), and only
    into room the cache has: a prefetch never evicts an entry (``BytesLRU.get(evict=False)``).
    Returns at once."""
    if is_upload(source):
        return
    model = run(source)  # here, in the script's thread: the worker makes no Streamlit call
    with _PREFETCH_WAKE:
        queued = {(f, s, a) for f, s, _, a in _PREFETCH}
        for args in choices:
            if (fn, source, args) not in queued and not _SHARED.has((_name(fn), source, args)):
                _PREFETCH.append((fn, source, model, args))
        _PREFETCH_WAKE.notify()
    _prefetcher()


@st.cache_resource(show_spinner=False, max_entries=1)
def _prefetcher() -> threading.Thread:
    """The one background worker of :func:`prefetch_of_run` (started on first use)."""

    def work() -> None:
        while True:
            with _PREFETCH_WAKE:
                while not _PREFETCH:
                    _PREFETCH_WAKE.wait()
                fn, source, model, args = _PREFETCH.pop(0)
            try:
                _SHARED.get((_name(fn), source, args), functools.partial(fn, model, *args), evict=False)
            except Exception:  # a reader who asks computes it again, and sees the error
                logging.getLogger(__name__).exception("prefetch of %s%s failed", _name(fn), args)

    worker = threading.Thread(target=work, name="lens-prefetch", daemon=True)
    worker.start()
    return worker


def facts(section: str, source: str):
    """The typed, frozen facts of ``section`` (``lens.story.facts``) for ``source``."""
    from lens import story

    return of_run(story.facts_function(section), source)


def report(source: str) -> dict:
    """The CLI's report (key frequencies, losses, accuracy, ablations) for ``source``."""
    from lens.report import report as lens_report

    return of_run(lens_report, source)


def current_report() -> dict:
    current_run()  # surfaces refusals and a missing default before computing
    return report(current_source())


def route_through_app() -> None:
    """Make sure this page runs under ``app.py``'s navigation. Call it first on every page.

    Footgun: a folder named ``pages/`` beside the entry file switches Streamlit into its old
    multipage mode for every script run until some run calls ``st.navigation``. The first
    visitor after a server start who deep-links to ``/relu`` would get this file run on its
    own (no router, no layout, the sidebar listing every file in ``pages/``), and so would
    everyone after them until someone opened ``/``. Leaving that mode and rerunning sends the
    same URL through ``app.py``.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


# ---------------------------------------------------------------- training history
# The Grokking page reads a run's ``history.json``, not a model run: the current checkpoint's
# own when it is a run directory that has one, else the embedded default run's. Keyed by the
# run directory's path string and the file's modification time, so a finished or resumed
# run is read again.


def _history_stamp(run_dir: Path) -> int:
    """Changes whenever ``history.json`` is rewritten (a finished or resumed run)."""
    from lens.checkpoint import HISTORY_FILE

    try:
        return (run_dir / HISTORY_FILE).stat().st_mtime_ns
    except OSError:
        return 0


def _first_line(err: Exception) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__


@st.cache_data(max_entries=4, show_spinner=False)
def _history(run_dir: str, stamp: int) -> tuple:
    """``(History, GrokkingFacts, None)``, or ``(None, None, one-line reason)``. ``stamp`` keys
    the cache to the file's modification time."""
    from lens.checkpoint import HISTORY_FILE
    from lens.history import load_history
    from lens.story.grokking import facts

    try:
        h = load_history(run_dir)
    except FileNotFoundError as err:
        return None, None, str(err)
    except (OSError, ValueError, TypeError, KeyError, IndexError) as err:  # CheckpointError is a ValueError
        return None, None, _first_line(err)
    try:
        return h, facts(h), None
    except (ValueError, TypeError, KeyError, IndexError) as err:
        return None, None, f"{Path(run_dir) / HISTORY_FILE}: could not be summarised: {_first_line(err)}"


def _history_figure(run_dir: str, stamp: int, fn: Callable, *args: Any) -> dict:
    from ui import charts

    h, f, why = _history(run_dir, stamp)
    if h is None:
        raise ValueError(why)
    return charts.spec(fn(h, f, *args))


def of_history(fn: Callable[..., Any], h, *args: Any) -> dict:
    """``ui.charts.spec(fn(h, facts, *args))`` for the training history ``h`` (one that
    :func:`history` read) and its facts, cached like :func:`of_run`, keyed by ``h``'s run
    directory, its ``history.json``'s modification time and ``args``. A history's charts
    hold every evaluation step: building them through Altair on every rerun cost the
    Grokking page ~2.5 s of server CPU per run under load (bench/load.py, profiled)."""
    run_dir = str(h.run_dir)
    stamp = _history_stamp(Path(run_dir))
    return _derived(
        _name(fn) + "@history",
        None,
        (run_dir, stamp, *args),
        lambda *a: _history_figure(a[0], a[1], fn, *a[2:]),
    )


def history(run_dir: str) -> tuple:
    """The training history of the run directory ``run_dir`` and its facts, cached:
    ``(History, GrokkingFacts, None)``, or ``(None, None, why it could not be read, one
    line)``. Never raises for a bad file."""
    return _history(run_dir, _history_stamp(Path(run_dir)))


def history_for(source: str) -> tuple:
    """``(History, GrokkingFacts, label)``: the history to show for the checkpoint ``source``
    and a label naming whose it is (markdown).

    ``source``'s own when it is a run directory with a readable ``history.json``; otherwise
    the page says why (a one-line error for a broken history, a note for a checkpoint that
    has none) and the embedded default run's is shown. Stops the page, with a message, when
    the default run has none either."""
    from lens.checkpoint import HISTORY_FILE

    path = Path(source)
    if path != DEFAULT_RUN:
        if path.is_dir() and (path / HISTORY_FILE).is_file():
            h, f, why = history(str(path))
            if h is not None:
                return h, f, f"the current model's own run, `{path.name}`"
            st.error(f"The training history of the current model could not be read. {why}")
        what = (
            "is a run directory without a `history.json`"
            if path.is_dir()
            else "is a single checkpoint file, which holds the final weights only"
        )
        st.info(
            "Training history is available only for run directories written by "
            f"`python -m lens.train`. The current model, `{path.name}`, {what}. Shown below "
            "instead: the history of **the embedded default run** (`assets/default-run`), a "
            "different training run from the model on the other pages."
        )
    h, f, why = history(str(DEFAULT_RUN))
    if h is None:
        if not (DEFAULT_RUN / HISTORY_FILE).is_file():
            st.warning(
                "The embedded default run has no training history yet "
                f"(`assets/default-run/{HISTORY_FILE}`). `{CREATE_DEFAULT}` writes it when "
                "training ends."
            )
        else:
            st.error(f"The default run's training history could not be read. {why}")
        st.stop()
    return h, f, "the embedded default run (`assets/default-run`)"


def current_history() -> tuple:
    """:func:`history_for` the current checkpoint, after :func:`refusal_notice`."""
    refusal_notice()
    return history_for(current_source())


@st.cache_data(max_entries=12, show_spinner=False)
def weights_summary(path: str):
    """:func:`lens.training_story.weights_summary` of the run directory ``path`` (a kept
    snapshot or a final model), cached: losses, accuracies and W_E's spectrum on all p * p
    pairs. Raises :class:`lens.checkpoint.CheckpointError` for a refused checkpoint (not
    cached)."""
    from lens.story.grokking import weights_summary as summary

    return summary(path)


@st.cache_data(max_entries=16, max_size=4 * 2**20, show_spinner=False)
def _summaries_spec(name: str, paths: tuple[str, ...], args: tuple, _fn: Callable) -> dict:
    # ``name`` keys the cache (``_fn``, with its leading underscore, is not hashed).
    from ui.charts import spec

    return spec(_fn(*(weights_summary(p) for p in paths), *args))


def summaries_spec(builder: Callable[..., Any], paths: Sequence[str], *args: Any) -> dict:
    """``ui.charts.spec(builder(*summaries, *args))`` with the :func:`weights_summary` of each
    of ``paths``, cached by the builder's name, the paths and ``args``: the Grokking page
    draws its snapshot chart on every rerun, and building it cost about 0.1 s. Raises
    :class:`lens.checkpoint.CheckpointError` as :func:`weights_summary` does."""
    return _summaries_spec(_name(builder), tuple(map(str, paths)), args, builder)
