"""Projects and participants: create and edit projects, enrol participants under pseudonymous codes, record a
withdrawal (or an erasure of what a participant said), and delete what was entered by mistake."""

import pandas as pd
import streamlit as st

from innovation_tracker import storage, ui
from innovation_tracker.app import capture
from innovation_tracker.domain import display
from innovation_tracker.domain.model import Novelty, ProjectStatus, Relation, Role, Setting, label_of
from innovation_tracker.ui import forms
from innovation_tracker.ui.text import escape_markdown
from innovation_tracker.views import page_content

ui.page_gate()  # first: a page run without dashboard.py's login goes to the login

NEW = "(new)"


def pick(label: str, options: list[str], key: str, field: str, row) -> str | None:
    """A selectbox over enum values showing the stored value of `row` (or the first)."""
    current = None if row is None or pd.isna(row[field]) else row[field]
    chosen = st.selectbox(
        label,
        options,
        index=options.index(current) if current in options else 0,
        format_func=lambda v: "—" if v is None else label_of(v),
        key=key,
    )
    return chosen


def stored(row, field: str, default=None):
    return default if row is None or pd.isna(row[field]) else row[field]


st.title("Projects and participants")
con, viewer, today = ui.connection(), ui.viewer(), ui.today()
forms.show_flash()
study = forms.require_study(con)
projects = ui.shared(storage.list_projects)  # shown, never changed
choices = ui.shared(page_content.project_choices)
# Only the open tab is drawn (its rerun is half the page's). A link to a participant opens their tab.
tab = ui.link_param("tab", ("projects", "participants"), "projects or participants")
to_people = "participant" in st.query_params or tab == "participants"
projects_tab, people_tab = st.tabs(
    ["Projects", "Participants"], key="manage:tab", on_change="rerun", default="Participants" if to_people else None
)

if projects_tab.open:
    with projects_tab:
        if projects.empty:
            st.info("No projects yet: add the first one below.", icon=":material/info:")
        else:
            shown_columns = [
                "project_code",
                "name",
                "setting",
                "status",
                "host_organisation",
                "start_date",
                "participants",
            ]
            ui.paginated(projects[shown_columns], "manage:projects-page", shown=display.readable, hide_index=True)
        chosen = ui.pick_project("Project to edit", key="manage:project", link=True, none=NEW)
        project = NEW if chosen is None else chosen
        row = None if chosen is None else projects.iloc[choices.position(chosen)].to_dict()
        form = f"project:{project}"
        if row is not None:
            version, opened = forms.base(form, row["version"], capture.snapshot_of(row, capture.PROJECT_FIELDS))
        with st.form(form, clear_on_submit=False, enter_to_submit=False):
            st.subheader("New project" if row is None else f"Edit {escape_markdown(project)}")
            if row is None:
                code = st.text_input(
                    "Project code",
                    key=f"{form}:project_code",
                    help="1–16 upper-case letters, e.g. ARTS",
                    max_chars=ui.max_chars("project_code"),
                )
                forms.field_errors(form, "project_code")
            name = st.text_input(
                "Name",
                value=stored(row, "name", ""),
                key=f"{form}:name",
                max_chars=ui.max_chars("name", stored(row, "name")),
            )
            forms.field_errors(form, "name")
            left, right = st.columns(2)
            with left:
                setting = pick("Setting", [s.value for s in Setting], f"{form}:setting", "setting", row)
                relation = pick(
                    "Relation to statutory services",
                    [r.value for r in Relation],
                    f"{form}:relation",
                    "relation_to_statutory",
                    row,
                )
                status = pick("Status", [s.value for s in ProjectStatus], f"{form}:status", "status", row)
                novelty = pick(
                    "New, expansion or existing", [None, *(n.value for n in Novelty)], f"{form}:novelty", "novelty", row
                )
            with right:
                host = st.text_input(
                    "Host organisation",
                    value=stored(row, "host_organisation", ""),
                    key=f"{form}:host",
                    max_chars=ui.max_chars("host_organisation", stored(row, "host_organisation")),
                )
                forms.field_errors(form, "host_organisation")
                kind = st.text_input(
                    "Innovation type",
                    value=stored(row, "innovation_type", ""),
                    key=f"{form}:type",
                    max_chars=ui.max_chars("innovation_type", stored(row, "innovation_type")),
                )
                forms.field_errors(form, "innovation_type")
                start = st.date_input("Start date", value=stored(row, "start_date"), key=f"{form}:start_date")
                forms.field_errors(form, "start_date")
            forms.other_errors(form, ["project_code", "name", "host_organisation", "innovation_type", "start_date"])
            submitted = st.form_submit_button("Save project", type="primary")
        values = {
            "name": name,
            "setting": setting,
            "relation_to_statutory": relation,
            "status": status,
            "novelty": novelty,
            "host_organisation": host,
            "innovation_type": kind,
            "start_date": start,
        }
        if submitted and row is None:
            values["project_code"] = code
            forms.save(form, lambda: capture.create_project(con, viewer, values), lambda s: f"Added project {s.key}")
        elif submitted:
            forms.save(
                form,
                lambda: capture.edit_project(con, viewer, project, values, version=version, opened=opened),
                f"Saved project {project}",
            )
        if row is not None:
            forms.delete_button(
                form,
                f"project {project}",
                "Deletes the project with its participants, interviews, ratings, scores and milestones. "
                "An evaluator can restore all of it from the audit log.",
                lambda: capture.remove_project(con, viewer, project),
                f"Deleted project {project}",
            )

if people_tab.open:
    with people_tab:
        if projects.empty:
            st.info("Participants are enrolled into a project: add a project first.", icon=":material/info:")
            st.stop()
        project = ui.pick_project("Project", key="manage:people-project", link=True)
        people = ui.read(storage.list_participants, project)
        if people.empty:
            st.info(f"No participants enrolled in {escape_markdown(project)} yet.", icon=":material/info:")
        else:
            shown_columns = [
                "participant_code",
                "role",
                "enrolment_date",
                "consent_date",
                "status",
                "withdrawal_date",
                "interviews",
                "telephone",
                "email",
                "call_times",
            ]
            st.dataframe(display.readable(people, shown_columns), hide_index=True)
        options = [NEW, *people.participant_code]
        # A link's participant belongs to the link's project: once another project is picked, it is not asked about.
        linked = st.query_params.get("project") in (None, project)
        wanted = (
            ui.link_param("participant", options[1:], f"the code of a participant of {project}") if linked else None
        )
        person = st.selectbox(
            "Participant",
            options,
            index=options.index(wanted) if wanted in options else 0,
            key=f"manage:person:{project}",
        )
        row = None if person == NEW else people.set_index("participant_code").loc[person].to_dict()
        form = f"participant:{project}:{person}"
        if row is not None:
            shown = {**row, "participant_code": person}
            version, opened = forms.base(form, row["version"], capture.snapshot_of(shown, capture.PARTICIPANT_FIELDS))
        with st.form(form, clear_on_submit=False, enter_to_submit=False):
            st.subheader(
                f"Enrol a participant in {escape_markdown(project)}"
                if row is None
                else f"Edit {escape_markdown(person)}"
            )
            if row is None:
                code = st.text_input(
                    "Participant code",
                    key=f"{form}:participant_code",
                    help="A pseudonymous code such as ARTS-07: never a name",
                    max_chars=ui.max_chars("participant_code"),
                )
                forms.field_errors(form, "participant_code")
            role = pick("Stakeholder role", [r.value for r in Role], f"{form}:role", "role", row)
            left, right = st.columns(2)
            enrolled = left.date_input(
                "Enrolment date", value=stored(row, "enrolment_date", today), key=f"{form}:enrolment_date"
            )
            with left:
                forms.field_errors(form, "enrolment_date")
            consented = right.date_input("Consent date", value=stored(row, "consent_date"), key=f"{form}:consent_date")
            with right:
                forms.field_errors(form, "consent_date")
            st.markdown("**How to reach them** · identifiers: only evaluators and admins see them")
            phone, mail, times = st.columns(3)
            with phone:
                telephone = st.text_input(
                    "Telephone",
                    value=stored(row, "telephone", ""),
                    key=f"{form}:telephone",
                    max_chars=ui.max_chars("telephone", stored(row, "telephone")),
                )
                forms.field_errors(form, "telephone")
            with mail:
                email = st.text_input(
                    "E-mail",
                    value=stored(row, "email", ""),
                    key=f"{form}:email",
                    max_chars=ui.max_chars("email", stored(row, "email")),
                )
                forms.field_errors(form, "email")
            with times:
                call_times = st.text_input(
                    "Preferred call times",
                    value=stored(row, "call_times", ""),
                    key=f"{form}:call_times",
                    max_chars=ui.max_chars("call_times", stored(row, "call_times")),
                )
                forms.field_errors(form, "call_times")
            forms.other_errors(
                form, ["participant_code", "enrolment_date", "consent_date", "telephone", "email", "call_times"]
            )
            submitted = st.form_submit_button("Enrol" if row is None else "Save participant", type="primary")
        values = {
            "project_code": project,
            "role": role,
            "enrolment_date": enrolled,
            "consent_date": consented,
            "telephone": telephone,
            "email": email,
            "call_times": call_times,
        }
        if submitted and row is None:
            values["participant_code"] = code
            forms.save(
                form,
                lambda: capture.enrol_participant(con, viewer, values, today),
                lambda s: f"Enrolled {s.key} in {project}",
            )
        elif submitted:
            forms.save(
                form,
                lambda: capture.edit_participant(
                    con, viewer, project, person, values, today, version=version, opened=opened
                ),
                f"Saved {person}",
            )

        if row is not None and row["status"] == "withdrawn":
            st.info(
                f"{escape_markdown(person)} withdrew on {row['withdrawal_date']:%d %b %Y}: their later waves are not"
                " followed up.",
                icon=":material/person_off:",
            )
        elif row is not None:
            leave = f"withdraw:{person}"
            with st.form(leave, clear_on_submit=False, enter_to_submit=False):
                st.subheader(f"Withdraw {escape_markdown(person)}")
                when = st.date_input("Withdrawal date", value=today, key=f"{leave}:withdrawal_date")
                forms.field_errors(leave, "withdrawal_date")
                erase = st.checkbox(
                    "Erase what they said and how to reach them: delete their interviews, ratings and contact details "
                    "(the audit log keeps only that an erasure happened, when and by whom)",
                    key=f"{leave}:erase",
                )
                forms.other_errors(leave, ["withdrawal_date"])
                gone = st.form_submit_button("Withdraw")
            if gone:
                forms.save(
                    leave,
                    lambda: capture.withdraw(con, viewer, project, person, when, today, erase=erase),
                    f"{person} withdrawn" + (" and their interviews erased" if erase else ""),
                )
        if row is not None:
            forms.delete_button(
                form,
                person,
                "For a participant enrolled by mistake: deletes them with their interviews and ratings. "
                "An evaluator can restore them from the audit log. To honour a request to be forgotten, "
                "withdraw them with erasure instead.",
                lambda: capture.remove_participant(con, viewer, project, person),
                f"Deleted {person}",
            )
