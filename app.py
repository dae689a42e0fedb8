"""Entry point: routes to one page per section of the explanation, nothing else.

Run with ``streamlit run app.py`` (the embedded model) or
``streamlit run app.py -- --checkpoint PATH`` (any prime p, either checkpoint format).
"""

from pathlib import Path

import streamlit as st

from ui import links, nav, theme, upload
from ui.data import checkpoint, current_source, freeze_long_lived, refusal

HERE = Path(__file__).parent
# Each file is named for its URL path. Streamlit's old folder-based multipage mode, which it
# uses for the first run after a start (see ui.data.route_through_app), finds pages by
# file name, so a deep link then still reaches the right file.
SECTIONS = [
    # (file, title, icon, url path)
    ("basics.py", "Basics", ":material/waves:", "basics"),
    ("attention.py", "Attention", ":material/center_focus_strong:", "attention"),
    ("wave-transforms.py", "Wave Transforms", ":material/tune:", "wave-transforms"),
    ("relu.py", "ReLU", ":material/show_chart:", "relu"),
    ("neurons.py", "Neurons", ":material/hub:", "neurons"),
    ("grokking.py", "Grokking", ":material/timeline:", "grokking"),
    # The laboratory: the reader's own experiments, then every claim of the story, tested.
    ("trace.py", "Trace one example", ":material/route:", "trace"),
    ("ablation-lab.py", "Ablation lab", ":material/science:", "ablation-lab"),
    ("clock-or-pizza.py", "Clock or pizza?", ":material/local_pizza:", "clock-or-pizza"),
    ("claims.py", "Claims", ":material/fact_check:", "claims"),
    # The close: the whole algorithm in one diagram, each stage with its figure and verdict.
    ("summary.py", "Summary", ":material/account_tree:", "summary"),
]
# Beside the path, not on it (no page links to it as "next"): the terms every page uses.
REFERENCE = [("glossary.py", "Glossary", ":material/menu_book:", "glossary")]

st.set_page_config(page_title="How a transformer learns modular addition", page_icon="〰️", layout="wide")
st.html(theme.PAGE_CSS)  # style tags only: Streamlit puts them where they take no space

pages = [
    st.Page(HERE / "pages" / file, title=title, icon=icon, url_path=url)
    for file, title, icon, url in [*SECTIONS, *REFERENCE]
]
# The root URL shows Basics too. Streamlit serves its default page only at "/", so a hidden
# default page runs the same file there and "/basics" stays a working deep link.
home = st.Page(
    HERE / "pages" / "basics.py",
    title="Basics",
    icon=SECTIONS[0][2],
    url_path="home",
    default=True,
    visibility="hidden",
)
page = st.navigation([home, *pages])

links.new_page()
nav.follow(SECTIONS)
notices = st.container()  # above the page: what a deep link asked for that the page ignored
page.run()
links.show_notices(notices)
nav.next_link(page)  # every page ends with a link to the next section (ui/nav.py)

# After the page, not before: naming the model vets its checkpoint (a load that can take a
# second), and the page's prose must not wait for it. An upload is handled by the uploader's
# callback, before the page runs (ui/upload.py), so the page already shows it.
with st.sidebar:
    source = current_source()
    p = f" (p = {checkpoint(source).p})" if refusal(source) is None else ""  # a missing default: no p
    if name := upload.active_name(st.session_state):
        st.caption(f"Model: your upload: `{name}`{p}")
    else:
        st.caption(f"Model: `{Path(source).name}`{p}")
    upload.sidebar()
    links.share_button()

freeze_long_lived()  # no full GC pass walks the imported modules again (see its docstring)
