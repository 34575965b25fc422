"""Data quality: what is missing or out of line in the study, each item linking to the page where it is fixed."""

import streamlit as st

from innovation_tracker import ui
from innovation_tracker.ui import forms, navigation
from innovation_tracker.ui.text import escape_markdown
from innovation_tracker.views import page_content

ui.page_gate()  # first: a page run without dashboard.py's login goes to the login

LINKS_SHOWN = 10  # links per screen of a check; a longer list is paged


def links(check: str, items: tuple, page: str, icon: str) -> None:
    """A screen of links (LINKS_SHOWN) to `page`, each preselecting what to fix through the page's query parameters."""
    pages = max(1, -(-len(items) // LINKS_SHOWN))
    screen = 1
    if pages > 1:
        screen = st.columns(4)[0].number_input(
            f"Page (of {pages:,}; {len(items):,} in all)", min_value=1, max_value=pages, value=1, key=f"quality:{check}"
        )
    for label, params in items[(screen - 1) * LINKS_SHOWN : screen * LINKS_SHOWN]:
        st.page_link(navigation.page(page), label=escape_markdown(label), query_params=dict(params), icon=icon)


st.title("Data quality")
con, today = ui.connection(), ui.today()
forms.require_study(con)
forms.require_projects(ui.shared(page_content.project_choices).codes)
found = ui.shared(page_content.quality, today)

counts = st.columns(4)
counts[0].metric("Interviews not coded", len(found.unrated))
counts[1].metric("Rounds not scored", len(found.unscored))
counts[2].metric("Out of window", len(found.outside))
counts[3].metric("Lost to follow-up", len(found.lost))
if not (found.unrated or found.unscored or found.outside or found.lost):
    st.success("Nothing to fix: every check passes.", icon=":material/verified:")

st.subheader("Completed interviews with no ratings")
if not found.unrated:
    st.caption("None: every completed interview has its factors coded.")
links("unrated", found.unrated, "pages/log-interview.py", ":material/edit_note:")

st.subheader("Finished rounds without sustainability scores")
if not found.unscored:
    st.caption("None: every finished round is scored.")
links("unscored", found.unscored, "pages/sustainability.py", ":material/monitoring:")

st.subheader("Interviews outside their window")
if not found.outside:
    st.caption("None: every interview was held inside its window.")
links("outside", found.outside, "pages/log-interview.py", ":material/event_busy:")

st.subheader("Participants lost to follow-up")
st.caption("Two or more waves in a row missed or overdue. Log the calls, or record a withdrawal.")
if not found.lost:
    st.caption("None: nobody has missed two waves in a row.")
links("lost", found.lost, "pages/manage.py", ":material/person_off:")
