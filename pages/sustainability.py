"""Sustainability: score a project's indicators for a wave, with the previous wave's scores beside each one."""

import pandas as pd
import streamlit as st

from innovation_tracker import storage, ui
from innovation_tracker.app import capture
from innovation_tracker.ui import forms
from innovation_tracker.ui.text import escape_markdown
from innovation_tracker.views import page_content

ui.page_gate()  # first: a page run without dashboard.py's login goes to the login

NOT_SCORED = "not scored"

st.title("Sustainability scores")
con, viewer = ui.connection(), ui.viewer()
forms.show_flash()
forms.require_study(con)
projects = ui.shared(page_content.project_choices)
forms.require_projects(projects.codes)

waves = {w.wave: w.label for w in ui.reference(storage.list_waves)}
choose_project, choose_wave = st.columns(2)
project = ui.pick_project("Project", where=choose_project, link=True)
current = capture.current_round(ui.read(storage.project_schedule, project, ui.today()), list(waves))
wanted = ui.link_param("wave", waves, "the code of a wave of the schedule, such as baseline") or current
wave = choose_wave.selectbox(
    "Wave",
    list(waves),
    index=list(waves).index(wanted) if wanted in waves else 0,
    format_func=waves.get,
)
scores = ui.read(storage.indicator_scores, project, wave)
round_note = (
    f"{escape_markdown(project)}'s current round is the **{escape_markdown(waves[current].lower())}**"
    if current
    else "nobody is due yet"
)
st.caption(
    f"Score each indicator after the wave's round of interviews: {round_note} (the wave most of its participants "
    "are due at or were last interviewed at), where the form opens. Leave an indicator blank to clear its score."
)

form = f"sustainability:{project}:{wave}"
version, opened = forms.base(form, int(scores.version.iloc[0]) if len(scores) else 0, capture.scores_snapshot(scores))
entered = {}
with st.form(form, clear_on_submit=False, enter_to_submit=False):
    for row in scores.itertuples():
        field, before = st.columns([3, 1], vertical_alignment="center")
        current = None if pd.isna(row.value) else row.value
        with field:
            key = f"{form}:{row.indicator_code}"
            label = escape_markdown(row.label)
            about = escape_markdown(row.description) if isinstance(row.description, str) else None
            if row.value_type == "count":
                entered[row.indicator_code] = st.number_input(
                    label, value=None if current is None else int(current), step=1, help=about, key=key
                )
            else:
                if row.value_type == "ordinal":
                    options = [None, *(str(n) for n in range(int(row.min_value), int(row.max_value) + 1))]
                elif row.value_type == "boolean":
                    options = [None, "yes", "no"]
                else:
                    options = [None, "red", "amber", "green"]
                entered[row.indicator_code] = st.selectbox(
                    label,
                    options,
                    index=options.index(current) if current in options else 0,
                    format_func=lambda v: NOT_SCORED if v is None else v,
                    help=about,
                    key=key,
                )
            forms.field_errors(form, row.indicator_code)
        previous = NOT_SCORED if pd.isna(row.previous_value) else row.previous_value
        before.caption(
            f"{escape_markdown(row.previous_wave)}: **{escape_markdown(previous)}**"
            if isinstance(row.previous_wave, str)
            else "first wave: nothing before"
        )
    forms.other_errors(form, list(scores.indicator_code))
    submitted = st.form_submit_button("Save scores", type="primary")
if submitted:
    forms.save(
        form,
        lambda: capture.score_sustainability(con, viewer, project, wave, entered, version=version, opened=opened),
        f"Saved the {waves[wave].lower()} scores of {project}",
    )
