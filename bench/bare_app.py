"""The bare baseline for bench/app.py: one Streamlit slider and one Altair chart of 113 points.

It imports nothing of the project, so its timings are what Streamlit, Altair and the browser
cost by themselves; the app's timings are judged against them.
"""

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

P = 113

st.markdown("# Bare page\nOne slider, one chart of 113 points: the baseline the app is measured against.")
f = st.slider("Frequency", 1, P // 2, 14, key="bare.f")
x = np.arange(P)
data = pd.DataFrame({"x": x, "y": np.cos(2 * np.pi * f * x / P)})
chart = alt.Chart(data).mark_line(point=True).encode(x="x:Q", y="y:Q").properties(height=320)
st.altair_chart(chart, width="stretch")
