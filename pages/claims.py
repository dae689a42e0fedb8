"""Claims: every claim of the explanation, tested on the loaded model, grouped by section.

Run by ``st.navigation`` as a script: number-free prose first (what a claim is, how to run
them from a terminal, what tells a clock from a pizza), so it reaches the browser before any
claim is measured; then :func:`show` measures them all (``ui.claims.all_claims``, cached per
checkpoint) and lists them. Counts, groups and table rows come from :mod:`lens.claims.table`;
the page only writes them out.

Each section is a subheader whose anchor is the section's name (``basics``, ``attention``,
``wave-transforms``, ``relu``, ``neurons``, ``logits``), so ``/claims#relu`` opens on the
ReLU page's claims.
"""

from __future__ import annotations

import streamlit as st

from ui.data import route_through_app

route_through_app()

# section -> (its name here: the page's title, the page's file in pages/; None: no page)
SECTION_PAGES = {
    "basics": ("Basics", "basics.py"),
    "attention": ("Attention", "attention.py"),
    "wave-transforms": ("Wave Transforms", "wave-transforms.py"),
    "relu": ("ReLU", "relu.py"),
    "neurons": ("Neurons", "neurons.py"),
    "logits": ("The logits", None),
}
LOGITS_NOTE = (
    "Claims about the readout as a whole, which no single page owns: whether the logits are a sum "
    "of cosines, whether every key frequency is needed, how the frequencies vote, whether ghost "
    "peaks appear, and whether the model is a clock or a pizza."
)

st.title("Claims: the story, tested")
st.markdown(
    """
Every page of this explanation makes statements about the model: that its embedding is
mostly a few frequencies, that what attention hands on is symmetric in a and b, that the
ReLU's products carry the answer. Each such statement is a **claim**: a measurement made on the loaded model, a
threshold, and a direction (at least, at most, near or far from the threshold). A claim
**holds** on a model when the measured value lies on the right side of its threshold, and
**fails** when it does not.

The text of the other pages was written looking at two models, the embedded default and the
published model of Nanda et al. (2023), but a checkpoint you bring may behave differently, and
an explanation that asserts what its model contradicts is worse than none. So every sentence
there that states a measured fact is written from that claim's verdict on the model you
loaded: where the claim holds, the page says it; where it fails, the page says so, with the
measured number. Beside each such sentence a card gives, in one line, the claim's id, its
verdict, the value against the threshold and how it was measured. This page lists every
claim at once, grouped by the page it belongs to.

The same claims from a terminal, as a table or as one JSON list (one object per claim:
`id`, `section`, `statement`, `value`, `threshold`, `holds`, `details`):

```bash
python -m lens claims --checkpoint PATH
python -m lens claims --checkpoint PATH --json
```

Without `--checkpoint` they are measured on the embedded default model.
"""
)

st.header("Clock or pizza")
st.markdown(
    r"""
Zhong et al. (2023) found that networks trained on modular addition settle on one of two
algorithms: a **clock**, Nanda et al.'s, which composes the angles of a and b so that its
correct logit depends on a + b alone, and a **pizza**, which averages the two embeddings
first, so that its correct logit also depends on the distance a − b and its gradients with
respect to a's and b's embeddings are equal. Their two measures tell the two apart:
*distance irrelevance*, how little the correct logit varies with a − b at a fixed a + b (high
for a clock, low for a pizza), and *gradient symmetricity*, the cosine between those two
gradients (near 1 for a pizza, lower for a clock).
"""
)

# What the verdict means for the rest of the explanation (details["verdict"] of clock-or-pizza).
VERDICT_MEANS = {
    "clock": "The other pages follow a clock, so they describe the right family of algorithm for this model.",
    "pizza": (
        "The other pages follow a clock; this model runs a pizza, so their account of how the answer "
        "is read out does not describe it, whatever their individual claims say."
    ),
    "mixed": (
        "The other pages follow a clock; this model lies between the two families, so read their "
        "account of how the answer is read out with that in mind."
    ),
}


def _clock_or_pizza(source: str) -> None:
    from ui import claims
    from ui.theme import math_names

    result = claims.claim(source, "clock-or-pizza")
    means = VERDICT_MEANS.get(result.details.get("verdict"), "")
    st.markdown(
        f"{math_names(result.statement)} {means} Its card is with the claims about [the logits](#logits), below."
    )


def _summary_line(s) -> str:
    """The top line, natural for any count (a lens.claims.table.Summary)."""
    if s.held == s.total:
        head = f"All {s.total} claims hold on this model."
    elif s.held == 0:
        head = f"None of the {s.total} claims holds on this model."
    else:
        head = f"**{s.held} of {s.total} claims hold on this model.**"
    if not s.failing:
        return head
    failing = ", ".join(f"`{i}`" for i in s.failing)
    return f"{head} {'It fails' if len(s.failing) == 1 else 'Failing'}: {failing}."


def _overview(source: str, results) -> None:
    from pathlib import Path

    from lens.claims import to_json
    from lens.claims.table import rows, summary

    st.header("Every claim on this model")
    st.markdown(_summary_line(summary(results)))
    names = {s: title for s, (title, _) in SECTION_PAGES.items()}
    st.dataframe(
        rows(results, names),
        hide_index=True,
        width="stretch",
        column_config={
            "value": st.column_config.NumberColumn(format="%.3g"),
            "threshold": st.column_config.NumberColumn(format="%.3g"),
        },
    )
    st.download_button(
        "Download every claim as JSON",
        data=to_json(results),
        file_name=f"claims-{Path(source).stem}.json",
        mime="application/json",
        icon=":material/download:",
        on_click="ignore",  # a download changes nothing on the page: no rerun
        key="claims.download",
    )


def _section(section: str, results) -> None:
    from lens.claims.table import summary
    from ui import claims
    from ui.theme import math_names

    title, page = SECTION_PAGES[section]
    st.subheader(title, anchor=section)
    s = summary(results)
    if section == "logits":
        st.markdown(LOGITS_NOTE)
    if page is not None:
        st.page_link(f"pages/{page}", label=f"The {title} page", icon=":material/arrow_forward:")
    st.caption(f"{s.held} of {s.total} {'holds' if s.total == 1 else 'hold'} on this model.")
    for result in results:
        st.markdown(math_names(result.statement))
        claims.card(result)


def show() -> None:
    from lens.claims.table import by_section
    from ui import claims
    from ui import data as state

    state.current_run()  # surfaces a refused checkpoint or a missing default
    source = state.current_source()
    _clock_or_pizza(source)
    results = claims.all_claims(source)
    _overview(source, results)
    for section, group in by_section(results).items():
        _section(section, group)


show()
