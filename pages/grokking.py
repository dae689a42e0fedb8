"""Grokking: how the model learned, read from its training history.

Run by ``st.navigation`` as a script: number-free prose first, then :func:`show` writes the
sections that quote the history (:func:`ui.data.current_history`: the current model's run
directory's ``history.json``, else the embedded default run's, labelled as such; a broken
history is reported in one line). Every number is a field of
:class:`lens.training_story.GrokkingFacts`, every chart comes from :mod:`ui.figures.grokking`.
Nothing here imports torch (snapshots run on lens's numpy engine) or assumes p = 113.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from ui.data import route_through_app

route_through_app()

st.title("Grokking: how the model learned")
st.markdown(
    """
The other pages take apart a finished model. This one watches it being made. Trained on only
a fraction of all pairs, a model like this first **memorises**: it gets its training pairs
right and most unseen pairs wrong. Then, long after its training loss has bottomed out, the
test loss collapses and it answers pairs it never saw. This late, sudden-looking
generalisation is called **grokking**.

Nanda et al. showed that nothing sudden happens inside. The wave circuit of the other pages
grows steadily while the model still looks like a lookup table from outside, and weight decay
then clears the memorised table away. Their *progress measures* make this visible. Below,
they are read from the recorded history of a real training run: its loss curves, the
progress measures, the embedding's spectrum and the neurons' frequencies at checkpoints
along the way, and full snapshots of the weights that you can compare with the final model.
"""
)

# Imported after the prose, so that it reaches the browser first (altair and pandas take about
# a second on a cold start).
from lens.checkpoint import CheckpointError  # noqa: E402
from lens.history import snapshot_dir  # noqa: E402
from lens.training_story import default_snapshot, phase_of  # noqa: E402
from ui import charts, data, links  # noqa: E402
from ui.figures import grokking as fig  # noqa: E402
from ui.figures.grokking import GROK_PCT  # noqa: E402
from ui.scope import Marker  # noqa: E402
from ui.scope_widget import show_scope  # noqa: E402
from ui.theme import listing, num, pct  # noqa: E402

if TYPE_CHECKING:  # pragma: no cover
    from lens.history import History
    from lens.training_story import GrokkingFacts

VS_CHANCE = {None: "", True: "worse than", False: "better than"}  # test loss against ln p


def _milestones(f: GrokkingFacts, measure: str, fmt) -> str:
    """ "a at step 0, b at step 300 and c at step 25,000": ``measure`` at the story's checkpoints."""
    return listing(f"{fmt(v)} at step {s:,}" for s, v in f.milestones(measure))


# ---------------------------------------------------------------- sections


def _loss_and_accuracy(h: History, f: GrokkingFacts, whose: str) -> fig.Scale:
    """The run, its phases in words, the step-axis control and the two curve charts; returns
    the step axis the later charts share."""
    st.header("Loss and accuracy")
    st.markdown(_the_run(f, whose))
    st.markdown(_the_phases(f))
    st.caption(
        "Phase boundaries are computed from the curves (Nanda et al. placed theirs by eye): "
        "memorisation ends at the first step with 100% training accuracy; clean-up starts when "
        "the test loss, on a log scale, has come down 10% of the way from its peak to its final "
        "value, and ends when it has come 90% of the way. The last two depend on how long the "
        "run was."
    )
    axis = st.segmented_control(
        "Step axis",
        fig.AXES,
        default=links.choice_param("axis", fig.AXES, fig.AXES[0], key="grokking.step_axis"),
        required=True,
        key="grokking.step_axis",
        help="log: a symmetric log scale, which stretches the first few hundred steps where memorisation happens",
    )
    links.keep("axis", axis or fig.AXES[0], fig.AXES[0], key="grokking.step_axis")
    scale = (axis or fig.AXES[0], f.last_step)
    charts.show(data.of_history(fig.loss_chart, h, scale), key="grokking.loss")
    charts.show(data.of_history(fig.accuracy_chart, h, scale), key="grokking.accuracy")
    return scale


def _the_run(f: GrokkingFacts, whose: str) -> str:
    p = f.p
    frac = "" if f.train_frac is None else f", trained on {pct(f.train_frac, 0)} of the {p * p:,} pairs"
    wd = "" if f.weight_decay is None else f" of AdamW with weight decay {f.weight_decay:g}"
    return (
        f"Shown: the history of {whose}, p = {p}{frac} for {f.last_step:,} full-batch steps{wd}. Its "
        "key frequencies (those of the final model, used for every checkpoint below) are "
        f"{listing(f.key_freqs)}."
    )


def _the_phases(f: GrokkingFacts) -> str:
    """Memorisation, circuit formation and clean-up as the curves show them from outside."""
    m, cs, ce, grok = f.memorised, f.cleanup_start, f.cleanup_end, f.grokked
    para = []
    if m is not None:
        para.append(
            f"**Memorisation.** Training accuracy first reaches 100% at step **{m:,}**. At that step "
            f"the test accuracy is {pct(f.test_acc_at_memorised, 1)} and the test loss "
            f"{num(f.test_loss_at_memorised)}, {VS_CHANCE[f.memorised_test_loss_above_chance]} "
            f"guessing uniformly (ln p = {f.chance_loss:.2f}). The test loss goes on rising, to "
            f"{num(f.test_loss_peak)} at step {f.test_loss_peak_step:,}: the model is confidently "
            "wrong about the pairs it has not seen."
        )
    else:
        para.append("In this run the training accuracy never reached 100%.")
    if m is not None and cs is not None:
        para.append(
            f"**Circuit formation** (steps {m:,} to {cs:,}). From outside little happens: the test "
            f"accuracy is {pct(f.test_acc_at_cleanup_start, 1)} at step {cs:,}, where the test loss "
            f"is {num(f.test_loss_at_cleanup_start)}. The progress measures below show what is "
            "happening inside."
        )
    if cs is not None:
        end = ce if ce is not None else f.last_step
        para.append(
            f"**Clean-up** (steps {cs:,} to {end:,}). The test loss falls from "
            f"{num(f.test_loss_at_cleanup_start)} to "
            f"{num(f.test_loss_at_cleanup_end if ce is not None else f.final_test_loss)}."
        )
    if grok is not None:
        wall = f.grok_wall_s
        when = f", after {wall / 60:.1f} minutes of training" if wall is not None else ""
        para.append(
            f"Test accuracy first reaches {GROK_PCT} at step **{grok:,}**{when}; by the last step, "
            f"{f.last_step:,}, it is {pct(f.final_test_acc, 2)} and the test loss "
            f"{num(f.final_test_loss, '.2g')}."
        )
    else:
        para.append(
            f"In this run test accuracy never reached {GROK_PCT}: its best is "
            f"{pct(f.best_test_acc, 1)}, at step {f.best_test_acc_step:,}."
        )
    return "\n\n".join(para)


def _progress_measures(h: History, f: GrokkingFacts, scale: fig.Scale) -> None:
    """What the restricted and excluded losses are, what they say in this run, their chart."""
    st.header("Progress measures")
    st.markdown(
        f"""
A grokking model's logits are built from waves. For the right answer c to win, the logit for
c must be large when c = a + b, and the model writes it as a sum of $\\cos(w(a + b - c))$ over
its key frequencies w. Expanding that cosine, each logit varies with the inputs like
$\\cos(w(a + b))$ and $\\sin(w(a + b))$. Nanda et al. built two losses on this, and watched two
simpler quantities beside them:

- **Restricted loss**: keep, of every logit, only its average and its parts along $\\cos(w(a + b))$
  and $\\sin(w(a + b))$ for the key frequencies ({listing(f.key_freqs)}); drop everything else; score
  all p² pairs. *How good would the model be with its wave circuit alone?*
- **Excluded loss**: remove exactly those parts and keep everything else; score the training
  pairs. *How well does the model still fit its training data without the wave circuit*,
  that is, by memorisation alone?
- **Total weight norm**: the square root of the sum of the squares of every weight. Weight
  decay pulls it down at every step; a memorised lookup table needs large weights.
- **Gini coefficient of $W_E$'s Fourier norms**: split the embedding into its p Fourier
  components (its parts along the constant and each frequency's sine and cosine), take the
  norm of each, and measure how unequal they are: 0 when every component is equally strong, close to 1 when a few hold everything. A sparse, wave-based
  embedding has a high Gini coefficient.
"""
    )
    sentences = []
    if f.ck_memorised is not None:
        verdict = (
            "the wave circuit alone is of little use yet"
            if f.circuit_weak_at_memorised
            else "the wave circuit alone already does far better than guessing"
        )
        sentences.append(
            f"At step {f.ck_memorised:,}, the first checkpoint after memorisation, the restricted "
            f"loss is {num(f.restricted_at_memorised)}, against {f.chance_loss:.2f} for guessing "
            f"uniformly: {verdict}."
        )
        if f.ck_cleanup_start is not None:
            ahead = f.circuit_ahead_at_cleanup_start
            sentences.append(
                f"By step {f.ck_cleanup_start:,}, where clean-up starts, it is "
                f"{num(f.restricted_at_cleanup_start)} while the test loss is "
                f"{'still ' if ahead else ''}{num(f.test_loss_at_ck_cleanup_start)}"
                + (": the circuit is in place before the test loss shows it." if ahead else ".")
            )
        sentences.append(f"At the end it is {num(f.restricted_final, '.2g')}.")
    if f.excluded_peak_step is not None:
        worse = f.excluded_peak_above_chance
        sentences.append(
            f"The excluded loss rises from {num(f.excluded_at_memorised)} at step "
            f"{f.ck_memorised:,} to {num(f.excluded_peak)} at step {f.excluded_peak_step:,}"
            + (f", worse than guessing ({f.chance_loss:.2f})," if worse else "")
            + f" while the training loss stays below {num(f.train_loss_max_until_excluded_peak, '.2g')}. "
            + (
                "Without those few frequencies the model can no longer recall even the pairs it "
                "trained on: it fits them through the key frequencies and no longer by memorisation."
                if worse
                else "The model fits its training pairs more and more through the key frequencies "
                "and less and less through anything else."
            )
        )
    if sentences:
        st.markdown(" ".join(sentences))
    charts.show(data.of_history(fig.progress_chart, h, scale), key="grokking.progress")


def _weight_norm_and_gini(h: History, f: GrokkingFacts, scale: fig.Scale) -> None:
    text = (
        f"The weight norm starts at {f.weight_norm_start:.1f}, peaks at {f.weight_norm_peak:.1f} "
        f"at step {f.weight_norm_peak_step:,} and ends at {f.weight_norm_final:.1f}, "
        f"{pct(f.weight_norm_drop, 0)} below its peak."
    )
    if f.cleanup_start is not None and f.weight_norm_at_cleanup_start is not None:
        end = f.weight_norm_at_cleanup_end if f.cleanup_end is not None else f.weight_norm_final
        text += f" During clean-up it falls from {f.weight_norm_at_cleanup_start:.1f} to {end:.1f}."
    gini = _milestones(f, "gini", lambda v: f"{v:.2f}")
    st.markdown(f"{text} The Gini coefficient is {gini}.")
    left, right = st.columns(2)
    with left:
        charts.show(data.of_history(fig.norm_chart, h, scale), key="grokking.norm")
    with right:
        charts.show(data.of_history(fig.gini_chart, h, scale), key="grokking.gini")


def _spectrum(h: History, f: GrokkingFacts) -> None:
    """W_E's energy per frequency over training: the heatmap, then a scope that plays it."""
    p = f.p
    st.header("The embedding's spectrum over training")
    shares = _milestones(f, "energy_key_share", lambda v: pct(v, 0))
    st.markdown(
        f"""
Every number token's embedding is a row of $W_E$; read down the {p} tokens, each of its
columns is a signal, and its energy splits over the frequencies 0..{p // 2}. At
initialisation the energy is spread over all of them. The share held by the key frequencies
{listing(f.key_freqs)} (frequency 0, the average over tokens, left out) is
{shares}; an even spread would give them
{pct(f.neuron_key_share_chance or 0.0, 0)}.
"""
    )
    charts.show(data.of_history(fig.spectrum_heatmap, h), key="grokking.heatmap")
    st.markdown(
        "Press **play** (or drag the slider) to step through the checkpoints and "
        "watch the key frequencies (marked) rise out of the noise."
    )
    steps = f.checkpoint_steps

    def caption(ix: dict) -> str:
        i = ix["checkpoint"]
        return (
            f"step {int(steps[i]):,} ({phase_of(int(steps[i]), f.spans)}) · "
            f"test accuracy {pct(float(f.checkpoint_test_acc[i]), 1)} · key frequencies hold "
            f"{pct(float(f.energy_key_shares[i]), 0)} of the energy"
        )

    show_scope(
        f.W_E_norms,
        ("checkpoint", "frequency"),
        key="grokking.spectrum_scope",
        play="checkpoint",
        view="space",
        fourier=False,
        markers=lambda ix: [Marker(float(k), str(k), "space") for k in f.key_freqs],
        caption=caption,
        title="W_E's norm per frequency, checkpoint by checkpoint",
        x_title="frequency",
        y_title="norm of W_E at this frequency",
        height=340,
    )


def _neurons(h: History, f: GrokkingFacts, scale: fig.Scale) -> None:
    p = f.p
    st.header("Neurons gather on the key frequencies")
    shares = _milestones(f, "neuron_key_share", lambda v: pct(v, 0))
    st.markdown(
        f"""
Each of the {f.d_mlp} MLP neurons is assigned the frequency (1..{p // 2}) with the most
energy in its pre-activation along b. The share of neurons whose strongest frequency is a key
frequency is {shares}; an even spread would
give {pct(f.neuron_key_share_chance, 0)}.
"""
    )
    charts.show(data.of_history(fig.neuron_chart, h, scale), key="grokking.neurons")


@st.fragment  # a new snapshot reruns this section only
def _snapshots(h: History, f: GrokkingFacts) -> None:
    """Pick a kept snapshot; run it and the final model on all pairs; compare their spectra."""
    st.header("Snapshots")
    snaps = list(h.snapshot_steps)
    if not snaps:
        st.info("This run kept no snapshots of its weights.")
        return
    st.markdown(
        f"""
The trainer kept the full weights at {len(snaps)} steps. Pick one to run it on all {f.p * f.p:,}
pairs and compare its embedding's spectrum with the final model's.
"""
    )
    default = default_snapshot(snaps, f.spans)
    chosen = st.selectbox(
        "Snapshot",
        snaps,
        index=snaps.index(
            links.choice_param(
                "snapshot",
                snaps,
                default,
                key="grokking.snapshot",
                why="this run kept no snapshot at that step",
            )
        ),
        format_func=lambda s: f"step {s:,} ({phase_of(s, f.spans)})",
        key="grokking.snapshot",
    )
    chosen = int(chosen)
    links.keep("snapshot", chosen, default, key="grokking.snapshot")
    try:
        with st.spinner("Running the snapshot on all pairs…"):
            snap = data.weights_summary(str(snapshot_dir(h.run_dir, chosen)))
            final = data.weights_summary(str(h.run_dir))
    except (CheckpointError, OSError, ValueError) as err:
        st.error(str(err).splitlines()[0] if str(err) else type(err).__name__)
        return
    final_step = final.step if final.step is not None else f.last_step
    if chosen == final_step:
        st.markdown(
            f"Step {chosen:,} is the end of training: this snapshot is the final model itself, "
            f"{pct(final.acc['train'], 1)} right on the training pairs and {pct(final.acc['test'], 1)} "
            f"on the test pairs (test loss {num(final.loss['test'], '.2g')}). Pick an earlier step "
            "to compare it with."
        )
        return
    st.markdown(
        f"At step {chosen:,} ({phase_of(chosen, f.spans)}) the model answers "
        f"{pct(snap.acc['train'], 1)} of its training pairs and **{pct(snap.acc['test'], 1)}** of the "
        f"test pairs correctly (test loss {num(snap.loss['test'])}); the final model "
        f"{pct(final.acc['train'], 1)} and {pct(final.acc['test'], 1)} (test loss "
        f"{num(final.loss['test'], '.2g')}). The key frequencies hold {pct(snap.key_share(f.key_freqs), 0)} "
        f"of this snapshot's embedding energy, against {pct(final.key_share(f.key_freqs), 0)} in the "
        "final model."
    )
    chart = data.summaries_spec(
        fig.snapshot_chart,
        (snapshot_dir(h.run_dir, chosen), h.run_dir),
        f"step {chosen:,}",
        f"final model (step {final_step:,})",
        list(f.key_freqs),
    )
    charts.show(chart, key="grokking.snapshot_chart")


def _lottery(h: History, f: GrokkingFacts) -> None:
    """Each neuron's dominant frequency at every kept snapshot (:func:`lens.lottery.lottery_of_run`:
    the run's recorded measurements, else each snapshot run; one cache entry keyed by path strings): the heatmap, when it settles, the
    lottery against chance, and the excluded loss per key frequency."""
    from lens import lottery
    from ui import charts
    from ui.figures import lottery as lfig

    st.header("How each neuron picked its frequency")
    steps = list(h.snapshot_steps)
    if len(steps) < 2 or not f.key_freqs:
        st.info(
            "Following each neuron needs at least two kept snapshots and key frequencies; this run "
            "lacks one or the other."
        )
        return
    keys = tuple(f.key_freqs)
    try:
        with st.spinner(f"Reading every neuron at the {len(steps)} kept snapshots…"):
            lot = data.of_args(lottery.lottery_of_run, str(h.run_dir), tuple(steps), keys, f.p)
    except (CheckpointError, OSError, ValueError) as err:
        st.error(str(err).splitlines()[0] if str(err) else type(err).__name__)
        return
    st.markdown(
        f"""
The chart above counts the neurons on each frequency; this section follows each one. At every
kept snapshot each of the {lot.neurons} neurons gets its dominant frequency, as above (the
frequency 1..{f.p // 2} with the most energy in its pre-activation along b). He et al. (2026)
describe the frequency a neuron ends with as a **lottery ticket**: already the strongest of
the key frequencies in that neuron at initialisation, and then amplified by training. If that
is so, a neuron's final frequency should be its strongest key-frequency component at step 0
more often than chance.
"""
    )
    # One int array (neuron, then its frequency at each step), not a tuple of tuples: the
    # cache hashes an array's bytes at once, and thousands of small ints one by one.
    order = np.asarray(lot.order, dtype=np.int64)
    rows = np.column_stack([order, np.asarray(lot.dominant, dtype=np.int64)[order]])
    charts.show(data.of_args(lfig.heatmap_spec, lot.steps, keys, rows), key="grokking.lottery_heatmap")
    st.caption(
        f"{len(steps)} columns, one per snapshot this run kept (steps {listing(f'{s:,}' for s in steps)}), "
        "so a change shown between two columns happened somewhere between those steps. A run "
        "trained with `python -m lens.train` today keeps log-spaced snapshots from step 0 (steps 1, 2, "
        "5, 10, 20, 50, … and the phase boundaries; `--keep-snapshots`), which snapshots are kept "
        "never changes the weights, and each one's neurons are measured when training ends "
        "(`python -m lens.lottery RUN_DIR` for an older run)."
    )
    ends = listing(f"{k} ({n})" for k, n in lot.final_counts.items())
    st.markdown(
        f"**When each frequency is settled.** {_on_key(lot)} (neurons per frequency: {ends}). A "
        "neuron's frequency is settled at the first kept snapshot from which it never changes. "
        f"{lot.never_changed} neurons have the same frequency at every kept snapshot; half are "
        f"settled by step {lot.median_settle_step:,} ({phase_of(lot.median_settle_step, f.spans)}), "
        f"and {lot.settle_counts[-1]} only at the last, step {lot.steps[-1]:,}."
    )
    charts.show(data.of_args(lfig.settle_spec, lot.steps, lot.settle_counts), key="grokking.lottery_settle")
    st.markdown(_tickets(lot, f))
    t = lot.tickets
    charts.show(
        data.of_args(
            lfig.tickets_spec,
            tuple(x.step for x in t),
            tuple(x.rate for x in t),
            tuple(x.chance for x in t),
            tuple(x.chance_low for x in t),
            tuple(x.chance_high for x in t),
            t[0].uniform,
            lottery.PERMUTATIONS,
        ),
        key="grokking.lottery_tickets",
    )
    last = listing(f"{num(float(v))} without {k}" for k, v in zip(keys, lot.excluded[-1], strict=True))
    st.markdown(
        "**The excluded loss, one key frequency at a time.** The progress measures above remove every "
        "key frequency's $\\cos(w(a + b))$ and $\\sin(w(a + b))$ parts from the logits at once; here one "
        f"frequency at a time, at each kept snapshot, scored on the training pairs. At step "
        f"{lot.steps[-1]:,} the training loss is {last}, and {num(float(lot.excluded_all[-1]))} "
        "without all of them."
    )
    charts.show(
        data.of_args(
            lfig.excluded_spec,
            lot.steps,
            keys,
            tuple(tuple(float(v) for v in r) for r in lot.excluded),
            tuple(float(v) for v in lot.excluded_all),
        ),
        key="grokking.lottery_excluded",
    )


def _on_key(lot) -> str:
    n, on = lot.neurons, int(lot.on_key.sum())
    if on == n:
        return f"All {n} neurons end on a key frequency"
    return f"{on} of the {n} neurons end on a key frequency (the lottery below counts only these)"


def _tickets(lot, f: GrokkingFacts) -> str:
    """The lottery's rate against chance at initialisation (or the first kept step) and early on."""
    sentences = []
    first = lot.at_init or lot.tickets[0]
    if lot.at_init is None:
        sentences.append(
            f"This run did not keep its initialisation, so the ranking is read at its first kept step, "
            f"{first.step:,}."
        )
    for i, t in enumerate(dict.fromkeys(x for x in (first, lot.early) if x is not None)):
        when = (
            "at initialisation (step 0)"
            if t.step == 0
            else f"at step {t.step:,} ({phase_of(t.step, f.spans)})"
        )
        head = (
            f"Of the {t.neurons} neurons that end on a key frequency, **{pct(t.rate, 1)}** had it as "
            f"their strongest key-frequency component {when}"
            if i == 0
            else f"Read {when} instead, the rate is **{pct(t.rate, 1)}**"
        )
        verdict = "more often than chance" if t.above_chance else "no more often than chance would give"
        sentences.append(
            f"{head}, against **{pct(t.chance, 1)}** by chance (95% of permutations between "
            f"{pct(t.chance_low, 1)} and {pct(t.chance_high, 1)}; {t.reached:,} of {t.permutations:,} "
            f"permutations reach it; 1 / K = {pct(t.uniform, 1)}): {verdict}."
        )
        if i == 0 and t.above_chance and t.rate < 0.5:
            sentences.append(
                "The ticket tilts the draw without deciding it: most of these neurons end on a "
                "frequency that was not their strongest then."
            )
    return (
        "**The lottery, against chance.** Chance is the rate expected if a neuron's final frequency "
        "did not depend on which key frequency was strongest in it at that step: the final "
        "frequencies shuffled among the same neurons, which keeps how many end on each frequency "
        "and how many start with each on top (1 / K, for K key frequencies, only when those counts "
        f"are even). {' '.join(sentences)}"
    )


# ---------------------------------------------------------------- the page


def show() -> None:
    h, f, whose = data.current_history()
    if f.last_step is None:
        st.warning(
            f"{h.run_dir / 'history.json'}: the history holds no evaluations, so there is nothing to plot."
        )
        return
    scale = _loss_and_accuracy(h, f, whose)
    if f.first_checkpoint is None:
        st.info("The history holds no checkpoints, so there are no progress measures to show.")
        return
    _progress_measures(h, f, scale)
    _weight_norm_and_gini(h, f, scale)
    _spectrum(h, f)
    _neurons(h, f, scale)
    _snapshots(h, f)
    _lottery(h, f)


show()
