"""Fieldwork: the follow-up calls overdue, due now, upcoming and missed, by interviewer and project, with each
call's window; the list as CSV and the calls still to make as a calendar file."""

import streamlit as st

from innovation_tracker import ui
from innovation_tracker.formats import fieldwork
from innovation_tracker.ui import forms
from innovation_tracker.ui.downloads import download_button
from innovation_tracker.views import page_content

ui.page_gate()  # first: a page run without dashboard.py's login goes to the login

COLUMNS = {
    "interviewer": "Interviewer",
    "project_code": "Project",
    "participant_code": "Participant",
    "role_label": "Role",
    "wave_label": "Wave",
    "due_date": st.column_config.DateColumn("Due", format="D MMM YYYY"),
    "window_open": st.column_config.DateColumn("Window opens", format="D MMM YYYY"),
    "window_close": st.column_config.DateColumn("Window closes", format="D MMM YYYY"),
    "when": "When",
    "telephone": "Telephone",
    "email": "E-mail",
    "call_times": "Call times",
}
ROWS = 50


def call_table(rows, table: str) -> None:
    """A table of calls, a page at a time; selecting a call opens Log an interview with its project, participant
    and wave filled in."""
    pages = max(1, -(-len(rows) // ROWS))
    page = 1
    if pages > 1:
        page = st.columns(4)[0].number_input(
            f"Page (of {pages:,})", min_value=1, max_value=pages, value=1, step=1, key=f"{table}-page"
        )
    shown = rows.iloc[(page - 1) * ROWS : page * ROWS]
    chosen = st.dataframe(
        ui.as_arrow(rows, (page - 1) * ROWS, page * ROWS),  # converted once per data version while unfiltered
        hide_index=True,
        column_order=list(COLUMNS),
        column_config=COLUMNS,
        key=table,
        on_select="rerun",
        selection_mode="single-row",
    )
    if chosen.selection.rows:
        call = shown.iloc[chosen.selection.rows[0]]
        params = {"project": call.project_code, "participant": call.participant_code, "wave": call.wave}
        st.switch_page("pages/log-interview.py", query_params=params)


st.title("Fieldwork")
con, today = ui.connection(), ui.today()
study = forms.require_study(con)
forms.require_projects(ui.shared(page_content.project_choices).codes)
everything = ui.shared(page_content.fieldwork_calls, today)
st.caption(
    f"As of {today:%d %b %Y}. The interviewer of a call is whoever held that participant's previous interview. "
    "Select a call (the box at the start of its row) to log its interview."
)

interviewers, projects = st.columns(2)
chosen_people = interviewers.multiselect("Interviewers", everything.interviewers, placeholder="All")
chosen_projects = projects.multiselect("Projects", everything.projects, placeholder="All")
shown = everything
if chosen_people or chosen_projects:
    calls = everything.calls
    if chosen_people:
        calls = calls[calls.interviewer.isin(chosen_people)]
    if chosen_projects:
        calls = calls[calls.project_code.isin(chosen_projects)]
    shown = page_content.fieldwork_of(calls)
calls = shown.calls

for column, (category, title) in zip(st.columns(len(fieldwork.CATEGORIES)), fieldwork.CATEGORIES.items(), strict=True):
    column.metric(title, len(shown.by_category[category]))
if calls.empty:
    st.success("No follow-up is overdue, due, upcoming in the next 30 days or missed.", icon=":material/task_alt:")
    st.stop()

csv_file, calendar_file = st.columns(2)
download_button(
    "Call list (CSV)",
    lambda: fieldwork.calls_csv(calls),  # made when clicked: a portfolio's call list takes a while to write
    file_name=f"call-list-{today}.csv",
    mime="text/csv",
    icon=":material/download:",
    where=csv_file,
)
download_button(
    "Calls to make (.ics calendar)",
    lambda: fieldwork.calls_ics(calls, study.name, today),
    file_name=f"calls-{today}.ics",
    mime="text/calendar",
    icon=":material/event:",
    where=calendar_file,
)

st.subheader("By interviewer and project")
ui.paginated(shown.workload, "fieldwork:workload-page", hide_index=True)
for category, title in fieldwork.CATEGORIES.items():
    rows = shown.by_category[category]
    if rows.empty:
        continue
    st.subheader(f"{title} · {len(rows)}")
    call_table(rows, f"fieldwork:{category}")
