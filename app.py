"""HAN explorer: `streamlit run app.py`. The pages, with real titles and icons, in the sidebar's navigation.

Each page is a script of its own in views/ (they also run alone, e.g. under streamlit's AppTest). Not in a folder
named pages/: Streamlit lists such a folder by itself, and a page opened by its own link on a freshly started server
(/Faithfulness) then ran alone under that listing ("app" above the file names, no icons) instead of through this
navigation.
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="HAN explorer", layout="wide")
PAGES = [
    st.Page("views/0_Models.py", title="Models", icon=":material/view_module:", url_path="Models", default=True),
    st.Page("views/1_Document.py", title="Document", icon=":material/description:", url_path="Document"),
    st.Page(
        "views/2_Word_attention.py", title="Word attention", icon=":material/bar_chart:", url_path="Word_attention"
    ),
    st.Page("views/3_Compare.py", title="Compare", icon=":material/compare_arrows:", url_path="Compare"),
    st.Page("views/4_Faithfulness.py", title="Faithfulness", icon=":material/fact_check:", url_path="Faithfulness"),
    st.Page("views/5_Data_set.py", title="Data set", icon=":material/table_view:", url_path="Data_set"),
]
st.navigation(PAGES).run()
