"""Log an interview: the next wave due is proposed, factor ratings go in a table, and the participant's previous
ratings sit beside the form. Choosing a wave that is already recorded opens that interview for editing."""

import pandas as pd
import streamlit as st

from innovation_tracker import capture, page_content, storage, ui
from innovation_tracker.domain import InterviewStatus, Mode, label_of
from innovation_tracker.ui import forms
from innovation_tracker.ui.text import escape_markdown

ui.page_gate()  # first: a page run without dashboard.py's login goes to the login

st.title("Log an interview")
con, viewer, today = ui.connection(), ui.viewer(), ui.today()
forms.show_flash()
study = forms.require_study(con)
projects = ui.shared(page_content.project_choices)
forms.require_projects(projects.codes)

choose_project, choose_person, choose_wave = st.columns(3)
project = ui.pick_project("Project", where=choose_project, wanted=st.query_params.get("project"))
people = ui.shared(page_content.participant_choices, project)
if not people.codes:
    st.info(f"No participants are enrolled in {escape_markdown(project)} yet.", icon=":material/info:")
    st.page_link(
        "pages/manage.py", label="Enrol a participant", icon=":material/person_add:", query_params={"project": project}
    )
    st.stop()
person = choose_person.selectbox(
    "Participant",
    people.codes,
    index=people.position(st.query_params.get("participant")),
    format_func=people.label,
    key=f"log:person:{project}",
)

waves = {w.wave: w for w in ui.reference(storage.list_waves)}
planned = ui.shared(page_content.participant_plan, project, person, today)
plan, proposed = planned.schedule, planned.proposed
wave_codes = list(waves)
wanted = st.query_params.get("wave", proposed)
wave = choose_wave.selectbox(
    "Wave",
    wave_codes,
    index=wave_codes.index(wanted) if wanted in wave_codes else 0,
    format_func=planned.labels.get,
    key=f"log:wave:{person}",
)
if wave in plan.index:
    slot = plan.loc[wave]
    st.caption(f"Due {slot.due_date:%d %b %Y} · window {slot.window_open:%d %b %Y} to {slot.window_close:%d %b %Y}")

interviews = ui.read(storage.project_interviews, project)
mine = interviews[interviews.participant_code == person]
existing = mine[mine.wave == wave].iloc[0] if (mine.wave == wave).any() else None
ratings = ui.read(storage.project_ratings, project)
factors = ui.reference(storage.list_factors)
choices = capture.factor_choices(factors)
if existing is not None:
    table = capture.rating_rows(ratings[ratings.interview_id == existing.interview_id], factors)
else:
    table = pd.DataFrame({"factor": [], "rating": [], "evidence": [], "shareable": []}).astype(
        {"factor": object, "rating": object, "evidence": object, "shareable": bool}
    )

form = f"interview:{person}:{wave}"
entry, previous = st.columns([5, 2], gap="large")
with entry, st.form(form, clear_on_submit=False):
    if existing is not None:
        st.subheader(f"Edit the {escape_markdown(waves[wave].label.lower())} of {existing.interview_date:%d %b %Y}")
    else:
        st.subheader(f"New {escape_markdown(waves[wave].label.lower())}")
    left, right = st.columns(2)
    with left:
        held_on = st.date_input(
            "Interview date",
            value=existing.interview_date if existing is not None else min(today, study.end_date),
            key=f"{form}:interview_date",
        )
        forms.field_errors(form, "interview_date")
        modes = [m.value for m in Mode]
        mode = st.selectbox(
            "Mode",
            modes,
            index=modes.index(existing["mode"] if existing is not None else waves[wave].default_mode.value),
            format_func=label_of,
            key=f"{form}:mode",
        )
        forms.field_errors(form, "mode")
        statuses = [s.value for s in InterviewStatus]
        status = st.selectbox(
            "Status",
            statuses,
            index=statuses.index(existing.status) if existing is not None else 0,
            format_func=label_of,
            key=f"{form}:status",
        )
        forms.field_errors(form, "status")
    with right:
        interviewer = st.text_input(
            "Interviewer",
            value=existing.interviewer
            if existing is not None and pd.notna(existing.interviewer)
            else capture.proposed_interviewer(mine) or viewer.username,
            key=f"{form}:interviewer",
        )
        duration = st.number_input(
            "Duration (minutes)",
            value=int(existing.duration_min) if existing is not None and pd.notna(existing.duration_min) else None,
            step=1,
            key=f"{form}:duration_min",
        )
        forms.field_errors(form, "duration_min")
        forms.field_errors(form, "wave")
    summary = st.text_area(
        "Summary notes",
        value=existing.summary if existing is not None and pd.notna(existing.summary) else "",
        key=f"{form}:summary",
    )
    st.markdown("**Factor ratings** · −2 strong barrier, −1 barrier, +1 facilitator, +2 strong facilitator")
    edited = st.data_editor(
        table,
        num_rows="dynamic",
        hide_index=True,
        key=f"{form}:ratings",
        column_config={
            "factor": st.column_config.SelectboxColumn(
                "Factor (domain · kind · label)", options=list(choices), required=True, width="large"
            ),
            "rating": st.column_config.SelectboxColumn(
                "Rating", options=[-2, -1, 1, 2], format_func=capture.rating_label, required=True
            ),
            "evidence": st.column_config.TextColumn("Evidence excerpt", width="large"),
            "shareable": st.column_config.CheckboxColumn("Shareable", default=False),
        },
    )
    forms.field_errors(form, "ratings")
    forms.other_errors(form, ["interview_date", "mode", "status", "duration_min", "wave", "ratings"])
    submitted = st.form_submit_button("Save interview", type="primary")

values = {
    "wave": wave,
    "interview_date": held_on,
    "mode": mode,
    "status": status,
    "interviewer": interviewer,
    "duration_min": duration,
    "summary": summary,
}
if submitted and existing is None:
    forms.save(
        form,
        lambda: capture.log_interview(con, viewer, project, person, values, edited, today),
        f"Saved the {waves[wave].label.lower()} of {person}",
    )
elif submitted:
    forms.save(
        form,
        lambda: capture.edit_interview(con, viewer, project, int(existing.interview_id), values, edited, today),
        f"Updated the {waves[wave].label.lower()} of {person}",
    )

with previous:
    shown_wave, shown = capture.previous_ratings(ratings, person, wave, wave_codes)
    if shown_wave is None:
        st.info("No earlier ratings for this participant.", icon=":material/history:")
    else:
        st.markdown(f"**Ratings at the {escape_markdown(shown_wave.lower())}**")
        st.dataframe(
            shown.assign(rating=shown.rating.map(capture.rating_label))[["label", "kind", "rating", "evidence"]],
            hide_index=True,
            column_config={"label": "Factor", "kind": "Kind", "rating": "Rating", "evidence": "Evidence"},
        )

if existing is not None:
    with st.expander("Delete this interview"):
        st.write("Deletes the interview and its ratings. An evaluator can restore them from the audit log.")
        sure = st.checkbox("Yes, delete it", key=f"{form}:delete-confirm")
        if st.button("Delete interview", disabled=not sure, key=f"{form}:delete"):
            forms.save(
                f"{form}:delete",
                lambda: capture.remove_interview(con, viewer, project, int(existing.interview_id)),
                f"Deleted the {waves[wave].label.lower()} of {person}",
            )
        forms.other_errors(f"{form}:delete", [])
