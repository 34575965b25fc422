"""Log an interview as fast as the conversation: the factors the participant cited last time come first, each
marked still so, changed or not mentioned with one choice; every other factor is one search and one choice away,
with its definition on hand; evidence and the shareable flag sit beside each rating. Nothing typed is lost: an
incomplete line is named and nothing is saved, a draft is kept in the database while typing, and a save made
after someone else's is refused with what they changed. Choosing a wave already recorded opens it for editing."""

import streamlit as st

from innovation_tracker import storage, ui
from innovation_tracker.app import capture
from innovation_tracker.domain.model import InterviewStatus, Mode, label_of
from innovation_tracker.ui import forms
from innovation_tracker.ui.text import escape_markdown
from innovation_tracker.views import page_content

ui.page_gate()  # first: a page run without dashboard.py's login goes to the login

DETAILS = ("interview_date", "mode", "status", "interviewer", "duration_min", "summary", "no_factors")
KIND_BADGE = {
    "barrier": ":orange-badge[barrier]",
    "facilitator": ":blue-badge[facilitator]",
    "either": ":gray-badge[either]",
}


def open_draft(params: dict) -> None:
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith("log:")]:
        del st.session_state[key]
    st.query_params.from_dict(params)
    st.rerun()


st.title("Log an interview")
con, viewer, today = ui.connection(), ui.viewer(), ui.today()
forms.show_flash()
study = forms.require_study(con)
projects = ui.shared(page_content.project_choices)
forms.require_projects(projects.codes)

choose_project, choose_person, choose_wave = st.columns(3)
project = ui.pick_project("Project", where=choose_project, link=True)
people = ui.shared(page_content.participant_choices, project)
if not people.codes:
    st.info(f"No participants are enrolled in {escape_markdown(project)} yet.", icon=":material/info:")
    st.page_link(
        "pages/manage.py",
        label="Enrol a participant",
        icon=":material/person_add:",
        query_params={"project": project, "tab": "participants"},
    )
    st.stop()
# A link's participant belongs to the link's project: once another project is picked, it is not asked about.
linked = st.query_params.get("project") in (None, project)
wanted_person = (
    ui.link_param("participant", people.codes, f"the code of a participant of {project}") if linked else None
)
person = choose_person.selectbox(
    "Participant",
    people.codes,
    index=people.position(wanted_person),
    format_func=people.label,
    key=f"log:person:{project}",
)
waves = {w.wave: w for w in ui.reference(storage.list_waves)}
planned = ui.shared(page_content.participant_plan, project, person, today)
wave_codes = list(waves)
wanted = ui.link_param("wave", waves, "the code of a wave of the schedule, such as baseline") or planned.proposed
wave = choose_wave.selectbox(
    "Wave",
    wave_codes,
    index=wave_codes.index(wanted) if wanted in wave_codes else 0,
    format_func=planned.labels.get,
    key=f"log:wave:{person}",
)
if wave in planned.schedule.index:
    slot = planned.schedule.loc[wave]
    st.caption(f"Due {slot.due_date:%d %b %Y} · window {slot.window_open:%d %b %Y} to {slot.window_close:%d %b %Y}")

form = f"interview:{person}:{wave}"
forms.other_drafts(form, open_draft)
if forms.offer_draft(form):
    st.stop()

setup = ui.shared(page_content.coding_setup, project, person, wave, today)
existing, stored, offered, carried = setup.existing, setup.stored, list(setup.offered), list(setup.carried)
last_wave = setup.last_wave
factors = ui.reference(storage.list_factors)
by_code = {f.factor_code: f for f in factors}
labels = {f.factor_code: f.label for f in factors}
carried_codes = {c.factor.factor_code for c in carried}
# What the form shows before anything is typed: the stored interview, or a new one's proposals.
started = dict(setup.started)
if existing is not None:
    version, opened = forms.base(form, existing.version, setup.snapshot)
else:
    version, opened = None, None
forms.defaults(form, started)


# The form's values as this run started, read once: each `st.session_state.get` costs about 80 µs, and the lines'
# marks, evidence and shareable flags were read 300 times a run (a fifth of the page's warm rerun).
state = st.session_state.to_dict()


def mark_of(code: str):
    return state.get(f"{form}:mark:{code}")


def evidence_of(code: str) -> str:
    return state.get(f"{form}:evidence:{code}") or ""


def rating_control(factor, options, last_rating=None) -> None:
    """One choice codes a factor: a compact row of the ratings its kind allows (and, carried forward, still so and
    not mentioned). The same call wherever the factor shows, so its value follows it."""
    st.segmented_control(
        f"Rating of {escape_markdown(factor.label)}",
        options,
        format_func=lambda option: capture.option_label(option, last_rating),
        key=f"{form}:mark:{factor.factor_code}",
        help=escape_markdown(factor.description) if factor.description else None,
        label_visibility="collapsed",
        persist_state="page",
    )


def evidence_fields(factor) -> None:
    code = factor.factor_code
    st.text_input(
        f"Evidence for {escape_markdown(factor.label)}",
        key=f"{form}:evidence:{code}",
        max_chars=ui.max_chars("evidence", started.get(f"evidence:{code}")),
        placeholder="Evidence excerpt (a short quote)",
        label_visibility="collapsed",
        live=True,
        persist_state="page",
    )


def coding_line(factor, options, title: str, note: str | None = None, last_rating=None) -> None:
    """A factor's line: name and kind (definition in the tooltip), the rating choice, evidence, shareable."""
    code = factor.factor_code
    name, choice, words, share = st.columns([2.5, 3.3, 3.2, 1.3], vertical_alignment="center")
    name.markdown(
        f"{title} {KIND_BADGE[factor.kind.value]}",
        help=escape_markdown(factor.description) if factor.description else None,
    )
    if note:
        name.caption(note)
    with choice:
        rating_control(factor, options, last_rating)
    active = mark_of(code) not in (None, capture.CARRY_ABSENT) or evidence_of(code)
    if active:
        with words:
            evidence_fields(factor)
        share.checkbox("Shareable", key=f"{form}:share:{code}", persist_state="page")
    forms.field_errors(form, f"line:{code}")


if existing is not None:
    st.subheader(f"Edit the {escape_markdown(waves[wave].label.lower())} of {existing.interview_date:%d %b %Y}")
else:
    st.subheader(f"New {escape_markdown(waves[wave].label.lower())}")

when, how, status_column, who, minutes = st.columns([1.3, 1.2, 1.2, 1.5, 1])
when.date_input("Interview date", key=f"{form}:interview_date", format="DD/MM/YYYY")
how.selectbox("Mode", [m.value for m in Mode], format_func=label_of, key=f"{form}:mode")
status_column.selectbox("Status", [s.value for s in InterviewStatus], format_func=label_of, key=f"{form}:status")
who.text_input(
    "Interviewer", key=f"{form}:interviewer", max_chars=ui.max_chars("interviewer", started.get("interviewer"))
)
minutes.number_input("Duration (minutes)", step=1, key=f"{form}:duration_min")
for column, field in ((when, "interview_date"), (how, "mode"), (status_column, "status"), (minutes, "duration_min")):
    with column:
        forms.field_errors(form, field)
forms.field_errors(form, "wave")
st.text_area(
    "Summary notes", key=f"{form}:summary", height=90, max_chars=ui.max_chars("summary", started.get("summary"))
)
completed = st.session_state[f"{form}:status"] == InterviewStatus.COMPLETED

if not completed:
    st.info("A missed or declined interview carries no factor ratings.", icon=":material/phone_missed:")
else:
    with st.container(border=True):
        if carried:
            st.markdown(
                f"**Carried forward from the {escape_markdown(last_wave.lower())}** · {len(carried)} factors"
                f" {escape_markdown(person)}"
                " cited then. "
                "Mark each: *still so*, the new rating if it changed, or *not mentioned*. A *shareable* excerpt may "
                "be quoted to funders and project teams."
            )
            for n, item in enumerate(carried, start=1):
                excerpt = f" · “{escape_markdown(item.evidence)}”" if item.evidence else ""
                note = f"Last time {capture.rating_label(item.rating)}{excerpt}"
                options = capture.carry_options(item.factor.kind, item.rating, study.neutral_mixed)
                coding_line(item.factor, options, f"{n}. **{escape_markdown(item.factor.label)}**", note, item.rating)
        else:
            st.caption(
                f"Nothing to carry forward: {escape_markdown(person)} has no rated interview before the"
                f" {escape_markdown(waves[wave].label.lower())}."
            )

    with st.container(border=True):
        new_codes = [
            code for code in by_code if code not in carried_codes and (mark_of(code) is not None or evidence_of(code))
        ]
        st.markdown(f"**New this time** · {len(new_codes)} factor{'s' if len(new_codes) != 1 else ''}")
        if study.neutral_mixed:
            st.caption(
                "This codebook rates −2 … +2 with **0** (neutral: it came up but pulled neither way) and **X** (mixed:"
                " it pulled both ways about equally); the sign says whether a factor helped or hindered."
            )
        for code in new_codes:
            factor = by_code[code]
            coding_line(
                factor,
                capture.rating_options(factor.kind, study.neutral_mixed),
                f"**{escape_markdown(factor.label)}**",
                escape_markdown(label_of(factor.domain)),
            )
        search = st.text_input(
            "Search the codebook",
            key="log:search",
            placeholder="A word from a factor's name or definition",
            icon=":material/search:",
            max_chars=ui.max_chars("label"),
            live=True,
        )
        groups = capture.codebook_groups([f for f in offered if f.factor_code not in carried_codes], search)
        if not groups:
            st.caption(f"No factor's name or definition contains “{escape_markdown(search)}”.")
        for group, members in groups:
            shown = [f for f in members if f.factor_code not in new_codes]
            if not shown:
                continue
            # Drawn only when open: a codebook of 47 factors took most of the page's rerun. A search opens them all
            # (another key, so its own first state); a rating given stays while a group is closed (persist_state).
            searching = bool(search.strip())
            box = st.expander(
                f"{escape_markdown(group)} · {len(shown)}",
                expanded=searching,
                key=f"log:group:{group}:{searching}",
                on_change="rerun",
            )
            if not box.open:
                continue
            with box:
                for factor in shown:
                    name, choice = st.columns([5, 3], vertical_alignment="center")
                    name.markdown(f"**{escape_markdown(factor.label)}** {KIND_BADGE[factor.kind.value]}")
                    if factor.description:
                        name.caption(escape_markdown(factor.description))
                    with choice:
                        rating_control(factor, capture.rating_options(factor.kind, study.neutral_mixed))

    st.checkbox("No factors were discussed", key=f"{form}:no_factors", help="Save a completed interview unrated")
    forms.field_errors(form, "no_factors")


def coding_of():
    """The form's coding as rating lines, made when a save needs them (a frame built on every run cost 3 ms)."""
    if not completed:
        return capture.coding_rows([], {}, {}, {}, labels)
    marks = {code: mark_of(code) for code in by_code if mark_of(code) is not None}
    evidence = {code: evidence_of(code) for code in by_code if evidence_of(code)}
    shareable = {code: bool(state.get(f"{form}:share:{code}")) for code in by_code}
    return capture.coding_rows(carried, marks, evidence, shareable, labels)


values = {field: st.session_state[f"{form}:{field}"] for field in DETAILS} | {"wave": wave}

forms.other_errors(form, [])
saving = st.button("Save interview", type="primary", icon=":material/save:", key=f"log:save:{form}")
coding = tuple(
    k.removeprefix(f"{form}:")
    for prefix in ("mark", "evidence", "share")
    for k in state
    if str(k).startswith(f"{form}:{prefix}:")
)
forms.keep_draft(
    form,
    forms.typed(form, [*DETAILS, *coding], started),
    forms.typed(form, [], started),
    title=f"{person} · {waves[wave].label}",
    params={"project": project, "participant": person, "wave": wave},
    participant=person,
)
if saving and existing is None:
    forms.save(
        form,
        lambda: capture.log_interview(con, viewer, project, person, values, coding_of(), today, draft=form),
        f"Saved the {waves[wave].label.lower()} of {person}",
    )
elif saving:
    forms.save(
        form,
        lambda: capture.edit_interview(
            con,
            viewer,
            project,
            int(existing.interview_id),
            values,
            coding_of(),
            today,
            version=version,
            opened=opened,
            draft=form,
        ),
        f"Updated the {waves[wave].label.lower()} of {person}",
    )

if existing is not None:
    forms.delete_button(
        form,
        "this interview",
        "Deletes the interview and its ratings. An evaluator can restore them from the audit log.",
        lambda: capture.remove_interview(con, viewer, project, int(existing.interview_id)),
        f"Deleted the {waves[wave].label.lower()} of {person}",
    )
