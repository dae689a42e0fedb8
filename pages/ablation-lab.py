"""Ablation lab: remove or keep chosen frequencies at any hook, and compare with random sets.

Run by ``st.navigation`` as a script: number-free prose first (what an ablation is, why it
needs random controls), then :func:`show` wires the widgets and writes the result. Every
number comes from :mod:`lens.lab` (the ablation, its controls, the presets, the parsing of a
typed set); the table and charts from :mod:`ui.figures.ablation_lab`, the whole view cached by
``ui.data.of_run`` keyed by (checkpoint, hook, set, mode, components).

Deep links: ``hook``, ``freqs`` (``5,8,44``), ``mode`` and ``components`` (``/ablation-lab?
hook=pre&freqs=5&mode=keep&components=along_b``); a malformed one is ignored, with a notice.
"""

from __future__ import annotations

from functools import partial

import streamlit as st

from ui.data import route_through_app

route_through_app()

st.title("Ablation lab")
st.markdown(
    r"""
The other pages say which frequencies this model computes with. An **ablation** tests such a
statement by cutting: take one activation inside the model (a *hook*), treat each of its
channels as a function of the input pair (a, b), remove some of its Fourier components over
(a, b), run the rest of the model on the edited activation, and measure the loss again. If
the model needed what was removed, the loss rises and pairs start to fail.

A rise alone proves little. Removing *anything* from a finely tuned network may hurt it, so
every ablation here stands beside **random controls**: the same edit, at the same hook, with
20 random frequency sets of the same size (drawn from the frequencies you did not choose,
seeded, so the same choice always meets the same controls). A frequency is **causal** only
if removing it hurts more than removing random ones; one whose removal hurts no more than
the controls' is incidental, however large the loss.

What you choose:

- **the hook**: where the edit is made, from the embedding to the logits;
- **the frequencies**: typed (`5, 8, 44` or a range `10-14`) or picked, or one click on a
  preset (the key frequencies, their harmonics 2f, their sum and difference frequencies);
- **the mode**: *remove* the chosen frequencies, or *keep only* them;
- **the components** over (a, b): *along a* (the frequency removed from every wave over a),
  *along b* (the seed notebook's edit), the *one-axis parts* (what is a function of a alone
  or of b alone), the *2-D products* (±f, ±f) (an a-wave times a b-wave), or *everything
  involving f*. Keeping only leaves the constant and everything outside the chosen family.

The seed's three ablations and the claims' product test are presets too, one click each. The
shared model is never changed: every ablation edits a copy.
"""
)

HOOK_KEY, MODE_KEY, COMP_KEY, FREQS_KEY, TYPED_KEY = (
    "lab.hook",
    "lab.mode",
    "lab.components",
    "lab.freqs",
    "lab.typed",
)
TYPED_ERROR = "lab.typed_error"
FREQUENCY_PRESETS = {
    "key": "Key frequencies",
    "harmonics": "Harmonics 2f",
    "sum_difference": "Sum/difference",
}


def _typed(p: int) -> None:
    """The text box's callback: a valid set replaces the picked one; a bad one says why."""
    from lens.lab import parse_frequencies

    try:
        st.session_state[FREQS_KEY] = list(parse_frequencies(st.session_state[TYPED_KEY], p))
        st.session_state[TYPED_ERROR] = None
    except ValueError as err:
        st.session_state[TYPED_ERROR] = str(err)


def _set_frequencies(freqs: tuple) -> None:
    st.session_state[FREQS_KEY] = list(freqs)
    st.session_state[TYPED_ERROR] = None


def _apply_preset(preset, freqs: tuple) -> None:
    st.session_state[HOOK_KEY] = preset.hook
    st.session_state[MODE_KEY] = preset.mode
    st.session_state[COMP_KEY] = preset.components
    _set_frequencies(freqs)


def _opening(p: int, default: tuple) -> tuple:
    """The frequency set the URL names (``freqs=5,8,44``), else the remembered one, else
    ``default``."""
    from lens.lab import parse_frequencies
    from ui import links

    def parse(values) -> tuple | None:
        try:
            return parse_frequencies(values[0].replace(",", " "), p) if len(values) == 1 else None
        except ValueError:
            return None

    why = f"it is not a set of frequencies from 1 to {p // 2}"
    return links.param("freqs", parse, default, key=FREQS_KEY, why=why)


def _widgets(source: str, p: int, sets: dict) -> tuple:
    from lens import lab
    from ui import data as state
    from ui import links

    keys = sets["key"]
    defaults = {HOOK_KEY: "post", MODE_KEY: "remove", COMP_KEY: "all"}
    opening = {
        HOOK_KEY: links.choice_param("hook", list(lab.HOOKS), "post", key=HOOK_KEY),
        MODE_KEY: links.choice_param("mode", list(lab.MODES), "remove", key=MODE_KEY),
        COMP_KEY: links.choice_param("components", list(lab.COMPONENTS), "all", key=COMP_KEY),
        FREQS_KEY: list(_opening(p, keys)),
    }
    for key, value in opening.items():  # first run on this page: the URL's view, else the default
        st.session_state.setdefault(key, value)

    st.subheader("Presets")
    cols = st.columns(len(FREQUENCY_PRESETS))
    for col, (name, label) in zip(cols, FREQUENCY_PRESETS.items(), strict=True):
        col.button(
            f"{label} ({len(sets[name])})",
            key=f"lab.set.{name}",
            on_click=_set_frequencies,
            args=(sets[name],),
            disabled=not sets[name],
            width="stretch",
        )
    cols = st.columns(len(lab.PRESETS))
    for col, (name, preset) in zip(cols, lab.PRESETS.items(), strict=True):
        col.button(
            preset.label,
            key=f"lab.preset.{name}",
            help=preset.what[0].upper() + preset.what[1:] + ".",
            on_click=_apply_preset,
            args=(preset, state.of_run(lab.preset_frequencies, source, name)),
            width="stretch",
        )

    st.subheader("Your ablation")
    left, right = st.columns([1, 2])
    hook = left.selectbox("hook", list(lab.HOOKS), format_func=lab.HOOKS.get, key=HOOK_KEY)
    mode = left.radio("mode", list(lab.MODES), format_func=lab.MODES.get, horizontal=True, key=MODE_KEY)
    comp = right.radio("components", list(lab.COMPONENTS), format_func=lab.COMPONENTS.get, key=COMP_KEY)
    label = lambda f: f"{f} (key)" if f in keys else str(f)  # noqa: E731
    picked = right.multiselect(
        f"frequencies (1 to {p // 2})", list(range(1, p // 2 + 1)), format_func=label, key=FREQS_KEY
    )
    right.text_input(
        "or type them",
        key=TYPED_KEY,
        placeholder="e.g. 5, 8, 44 or 10-14, then Enter",
        on_change=_typed,
        args=(p,),
    )
    if why := st.session_state.get(TYPED_ERROR):
        right.warning(f"Not read: {why} The frequencies above are unchanged.", icon=":material/error:")
    freqs = tuple(sorted(picked))
    links.keep("hook", hook, defaults[HOOK_KEY], key=HOOK_KEY)
    links.keep("mode", mode, defaults[MODE_KEY], key=MODE_KEY)
    links.keep("components", comp, defaults[COMP_KEY], key=COMP_KEY)
    links.keep("freqs", lab.format_frequencies(freqs), lab.format_frequencies(keys), key=FREQS_KEY)
    return hook, freqs, mode, comp


def _verdict(r) -> str:
    """Where the chosen set falls among its controls, in words (numbers from lens.lab)."""
    from lens.lab import STAT_SPLIT
    from ui.theme import num, pct

    n = len(r.controls)
    if not n:
        return "With no frequency chosen there is nothing to compare: the model is shown as it is."
    lo, hi = r.control_range
    pool = "from the frequencies you did not choose" if r.from_outside else "from every frequency"
    head = (
        f"The {n} random sets of {len(r.freqs)} frequenc{'y' if len(r.freqs) == 1 else 'ies'} ({pool}) "
        f"give a {STAT_SPLIT} loss of {num(r.control_mean, '.3g')} on average "
        f"(standard deviation {num(r.control_sd, '.3g')}, from {num(lo, '.3g')} to {num(hi, '.3g')}); "
        f"the chosen set's is **{num(r.loss[STAT_SPLIT], '.3g')}**, rank {r.rank} of {n + 1} "
        f"(above {pct(r.percentile, 0)} of the controls)."
    )
    if r.mode == "remove":
        if r.percentile == 1.0:
            tail = "Removing them hurts more than removing any random set: by this test they are causal."
        elif r.percentile >= 0.9:
            tail = "Removing them hurts more than most random sets, not all."
        else:
            tail = "Removing them hurts no more than removing random frequencies: by this test they are incidental."
    elif r.percentile == 0.0 and r.rank == n + 1:
        tail = "Keeping only them does better than keeping any random set: they carry what the model needs."
    else:
        tail = "Some random sets do as well when kept alone: these frequencies are not what sets the model apart."
    return f"{head} {tail}"


def show() -> None:
    from lens import lab
    from ui import charts
    from ui import data as state
    from ui.figures import ablation_lab as fig
    from ui.theme import listing, num, pct

    source = state.checked_source()
    p = state.checkpoint(source).p
    sets = state.of_run(lab.frequency_presets, source)
    st.markdown(
        f"The model works modulo p = {p}; its key frequencies are {listing(sets['key'])} "
        f"(the lab opens on them, removed everywhere they appear from the neurons' output)."
    )
    hook, freqs, mode, comp = _widgets(source, p, sets)

    # A status, not a spinner: it shows at once (a spinner waits half a second) and says,
    # once done, what ran; the computation is cached, so a repeat only flashes it.
    with st.status(f"Ablating, and running {lab.N_CONTROLS} random controls…", expanded=False) as status:
        view = state.of_run(fig.lab_view, source, hook, freqs, mode, comp)
        r = view.result
        status.update(
            label=f"Ablation done, with {len(r.controls)} random control{'' if len(r.controls) == 1 else 's'}.",
            state="complete",
        )
        st.caption(
            f"{1 + len(r.controls)} edits at {lab.HOOKS[hook]}, each followed by the rest of the model "
            "over every pair: the chosen set, then each random set of the same size."
        )

    st.subheader("What happened")
    what = "Removing" if mode == "remove" else "Keeping only"
    st.markdown(
        f"{what} {listing(freqs)} ({lab.COMPONENTS[comp]}) at **{lab.HOOKS[hook]}**: the test loss "
        f"goes from {num(r.own_loss['test'], '.3g')} to **{num(r.loss['test'], '.3g')}** and test "
        f"accuracy from {pct(r.own_accuracy['test'], 1)} to **{pct(r.accuracy['test'], 1)}**; "
        f"{r.n_wrong} of the {p * p} pairs are now answered wrong."
    )
    st.table(view.table)
    st.markdown(_verdict(r))
    if r.controls:
        charts.show(view.controls, key="lab.controls")
    st.subheader("Which pairs fail")
    st.markdown(
        "Every pair (a, b), a down and b across, coloured where the ablated model's top answer "
        "is not (a + b) mod p, by whether the pair was one the model trained on."
    )
    charts.show(view.wrong_map, key="lab.map", table=partial(fig.wrong_cells, r))  # the image's cells


show()
