"""HAN explorer: `streamlit run app.py`. The pages, with real titles and icons, in the sidebar's navigation.

Each page is a script of its own in pages/ (they also run alone, e.g. under streamlit's AppTest).
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="HAN explorer", layout="wide")
PAGES = [
    st.Page("pages/0_Models.py", title="Models", icon=":material/view_module:", url_path="Models", default=True),
    st.Page("pages/1_Document.py", title="Document", icon=":material/description:", url_path="Document"),
    st.Page(
        "pages/2_Word_attention.py", title="Word attention", icon=":material/bar_chart:", url_path="Word_attention"
    ),
    st.Page("pages/3_Compare.py", title="Compare", icon=":material/compare_arrows:", url_path="Compare"),
    st.Page("pages/4_Faithfulness.py", title="Faithfulness", icon=":material/fact_check:", url_path="Faithfulness"),
]
st.navigation(PAGES).run()
