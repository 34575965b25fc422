"""Milestones: the dated events on a project's timeline (funding decisions, reorganisations, a champion leaving).

Evaluators edit every project's milestones and a project team its own; funders read them."""

import pandas as pd
import streamlit as st

from innovation_tracker import storage, ui
from innovation_tracker.app import capture
from innovation_tracker.domain import display
from innovation_tracker.domain.model import MilestoneKind, label_of
from innovation_tracker.ui import forms
from innovation_tracker.ui.text import escape_markdown
from innovation_tracker.views import page_content

ui.page_gate()  # first: a page run without dashboard.py's login goes to the login

NEW = "(new milestone)"

st.title("Milestones")
con, viewer, today = ui.connection(), ui.viewer(), ui.today()
forms.show_flash()
forms.require_study(con)
projects = ui.shared(page_content.project_choices)
if not projects.codes:
    st.info("No projects to show yet. Milestones belong to a project.", icon=":material/info:")
    st.stop()

project = ui.pick_project("Project", link=True)
milestones = ui.read(storage.list_milestones, project)
if milestones.empty:
    st.info(f"No milestones recorded for {escape_markdown(project)} yet.", icon=":material/flag:")
else:
    st.dataframe(display.readable(milestones, ["milestone_date", "kind", "title", "notes"]), hide_index=True)
if not viewer.edits_milestones_of(project):
    st.caption("Read-only: milestones are kept by the evaluators and by each project's own team.")
    st.stop()

titles = dict(zip(milestones.milestone_id.astype(int), milestones.title, strict=True))
choice = st.selectbox(
    "Milestone to edit", [NEW, *titles], format_func=lambda m: titles.get(m, m), key=f"milestones:choice:{project}"
)
row = None if choice == NEW else milestones.set_index("milestone_id").loc[choice]
form = f"milestone:{project}:{choice}"
kinds = [k.value for k in MilestoneKind]
with st.form(form, clear_on_submit=False, enter_to_submit=False):
    st.subheader("Add a milestone" if row is None else f"Edit “{escape_markdown(row.title)}”")
    left, right = st.columns(2)
    kind = left.selectbox(
        "Kind", kinds, index=kinds.index(row.kind) if row is not None else 0, format_func=label_of, key=f"{form}:kind"
    )
    when = right.date_input("Date", value=row.milestone_date if row is not None else today, key=f"{form}:date")
    with right:
        forms.field_errors(form, "milestone_date")
    title = st.text_input(
        "Title",
        value=row.title if row is not None else "",
        key=f"{form}:title",
        max_chars=ui.max_chars("title", row.title if row is not None else None),
    )
    forms.field_errors(form, "title")
    stored_notes = row.notes if row is not None and pd.notna(row.notes) else ""
    notes = st.text_area(
        "Notes", value=stored_notes, key=f"{form}:notes", max_chars=ui.max_chars("notes", stored_notes)
    )
    forms.field_errors(form, "notes")
    forms.other_errors(form, ["milestone_date", "title", "notes"])
    submitted = st.form_submit_button("Save milestone", type="primary")
values = {"kind": kind, "milestone_date": when, "title": title, "notes": notes}
if submitted and row is None:
    forms.save(form, lambda: capture.create_milestone(con, viewer, project, values), f"Added “{title}” to {project}")
elif submitted:
    forms.save(form, lambda: capture.edit_milestone(con, viewer, project, choice, values), f"Saved “{title}”")
if row is not None:
    forms.delete_button(
        form,
        f"“{row.title}”",
        "Deletes the milestone from the project's timeline. An evaluator can restore it from the audit log.",
        lambda: capture.remove_milestone(con, viewer, project, choice),
        f"Deleted “{row.title}”",
    )
