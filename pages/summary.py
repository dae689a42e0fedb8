"""Summary: the whole algorithm as one diagram of its stages, each with its measured figure
and its claims' verdicts.

Run by ``st.navigation`` as a script: number-free prose first; then :func:`show` loads the
model, takes the stages' figures from :mod:`lens.story.summary` (``ui.data.facts``) and each
stage's claims from ``ui.claims`` (the per-claim cache the other pages fill), and draws the
diagram (:mod:`ui.figures.summary`). The page formats; it computes nothing.
"""

from __future__ import annotations

import streamlit as st

from ui.data import route_through_app

route_through_app()

st.title("Summary: the algorithm in one picture")
st.markdown(
    """
The earlier pages follow one input pair through the network a stage at a time. Here the
stages stand together, in the order the signal meets them: the embedding turns each token
into waves, attention brings the waves of a and b together at the "=" position, the MLP's
ReLU combines them, its neurons fall into groups by frequency, and the unembedding reads the
answer c off their output. Each box gives the figure measured on the loaded model that shows
the stage at work, and the verdicts of the claims that test it: a claim that **holds** is
true of this model; one that **fails** is not, and its measured number says by how much.
"""
)


def _stage_list(f, results) -> None:
    from ui import claims
    from ui.figures.summary import figure_text
    from ui.theme import math_names, num

    for i, stage in enumerate(f.stages):
        verdicts = "; ".join(
            f"{claims.verdict(results[c])} `{c}` (measured {num(results[c].value)})" for c in stage.claims
        )
        # The names are the diagram's too, where they are plain text: in prose, math.
        line = math_names(f"**{stage.title}**: {stage.does}. {figure_text(stage, f)}.")
        st.markdown(f"{i + 1}. {line} {verdicts}.")


def show() -> None:
    from ui import charts, claims, data
    from ui.figures.summary import diagram_spec
    from ui.theme import listing

    data.current_run()  # surfaces a refused checkpoint or a missing default
    source = data.current_source()
    f = data.facts("summary", source)
    st.markdown(
        f"On this model (p = {f.p}, a residual stream of d_model = {f.d_model} dimensions, "
        f"{f.n_heads} attention heads and d_mlp = {f.d_mlp} neurons), the key frequencies are "
        f"{listing(f.key_freqs)}."
    )
    results = {cid: claims.claim(source, cid) for stage in f.stages for cid in stage.claims}
    charts.show(diagram_spec(f, results), key="summary.diagram")
    st.subheader("The stages, in words")
    _stage_list(f, results)
    held = sum(r.holds for r in results.values())
    st.markdown(
        f"Of these {len(results)} claims, {held} hold on this model. Every claim of the "
        "explanation, with how it is measured, is on the **Claims** page; the terms used here "
        "are defined in the **Glossary**."
    )
    st.page_link("pages/glossary.py", label="Glossary", icon=":material/menu_book:")


show()
