"""Entry point: page config and navigation over the pages the viewer may see. Nothing else lives here."""

import streamlit as st

st.set_page_config(page_title="Innovation tracker", page_icon=":material/timeline:", layout="wide")

pages = [
    st.Page(
        "pages/overview.py", title="Portfolio overview", icon=":material/dashboard:", url_path="overview", default=True
    ),
]
st.navigation(pages).run()
