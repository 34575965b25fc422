"""Who is using the app. (Being built: local accounts, first-run admin, single sign-on.)"""

from __future__ import annotations

import streamlit as st

from ..domain import Viewer

SESSION_KEY = "viewer"


def current_viewer() -> Viewer | None:
    return st.session_state.get(SESSION_KEY)


def require_viewer() -> Viewer:
    viewer = current_viewer()
    if viewer is None:
        st.title("Innovation tracker")
        st.warning("Please log in.")
        st.stop()
    return viewer
