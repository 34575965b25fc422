"""Data quality: what is missing or out of line in the study, each item linking to the page where it is fixed."""

import streamlit as st

from innovation_tracker import storage, ui, views
from innovation_tracker.ui import forms

LINKS_SHOWN = 25


def links(rows, page: str, label, params, icon: str) -> None:
    """One link per row (the first LINKS_SHOWN) to `page`, preselected through its query parameters."""
    for row in list(rows.itertuples())[:LINKS_SHOWN]:
        st.page_link(page, label=label(row), query_params=params(row), icon=icon)
    if len(rows) > LINKS_SHOWN:
        st.caption(f"… and {len(rows) - LINKS_SHOWN} more.")


st.title("Data quality")
con, today = ui.connection(), ui.today()
forms.require_study(con)
forms.require_projects(ui.view(views.project_choices).codes)
unrated = ui.read(storage.interviews_without_ratings)
unscored = ui.read(storage.waves_without_sustainability, today)
outside = ui.read(storage.out_of_window_interviews, today)
lost = ui.read(storage.lost_to_follow_up, today)

counts = st.columns(4)
counts[0].metric("Interviews not coded", len(unrated))
counts[1].metric("Rounds not scored", len(unscored))
counts[2].metric("Out of window", len(outside))
counts[3].metric("Lost to follow-up", len(lost))
if not (len(unrated) or len(unscored) or len(outside) or len(lost)):
    st.success("Nothing to fix: every check passes.", icon=":material/verified:")

st.subheader("Completed interviews with no ratings")
if unrated.empty:
    st.caption("None: every completed interview has its factors coded.")
links(
    unrated,
    "views/log_interview.py",
    lambda r: f"{r.project_code} · {r.participant_code} · {r.wave_label} of {r.interview_date:%d %b %Y}: code it",
    lambda r: {"project": r.project_code, "participant": r.participant_code, "wave": r.wave},
    ":material/edit_note:",
)

st.subheader("Finished rounds without sustainability scores")
if unscored.empty:
    st.caption("None: every finished round is scored.")
links(
    unscored,
    "views/sustainability.py",
    lambda r: (
        f"{r.project_code} · {r.wave_label} (round closed {r.round_closed:%d %b %Y}): "
        f"{r.missing} of {r.indicators} indicators unscored"
    ),
    lambda r: {"project": r.project_code, "wave": r.wave},
    ":material/monitoring:",
)

st.subheader("Interviews outside their window")
if outside.empty:
    st.caption("None: every interview was held inside its window.")
links(
    outside,
    "views/log_interview.py",
    lambda r: (
        f"{r.project_code} · {r.participant_code} · {r.wave_label} on {r.interview_date:%d %b %Y}: "
        + (f"{-r.days_outside} days early" if r.days_outside < 0 else f"{r.days_outside} days late")
    ),
    lambda r: {"project": r.project_code, "participant": r.participant_code, "wave": r.wave},
    ":material/event_busy:",
)

st.subheader("Participants lost to follow-up")
st.caption("Two or more waves in a row missed or overdue. Log the calls, or record a withdrawal.")
if lost.empty:
    st.caption("None: nobody has missed two waves in a row.")
links(
    lost,
    "views/manage.py",
    lambda r: f"{r.project_code} · {r.participant_code}: {r.consecutive} in a row ({r.waves})",
    lambda r: {"project": r.project_code, "participant": r.participant_code},
    ":material/person_off:",
)
