"""Entry point: page config, login, and navigation over the pages the viewer may see. Nothing else lives here."""

import streamlit as st

from innovation_tracker.ui import FAVICON, auth, navigation, timings

timings.run_started()  # opt-in (INNOVATION_TRACKER_TIMINGS): the server-side time of each page run
st.set_page_config(page_title="Innovation tracker", page_icon=FAVICON, layout="wide")
navigation.readable_captions()
viewer = auth.require_viewer()
navigation.run(viewer)
