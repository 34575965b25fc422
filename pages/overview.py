"""Portfolio overview: where every project and every follow-up stands today. A project team lands on its project."""

import streamlit as st

from innovation_tracker import storage, ui
from innovation_tracker.domain.model import AccountRole, ProjectStatus, Setting, label_of
from innovation_tracker.ui import navigation
from innovation_tracker.ui.text import escape_markdown
from innovation_tracker.views import page_content

ui.page_gate()  # first: a page run without dashboard.py's login goes to the login

WARNING_ICONS = {
    "overdue": ":material/schedule:",
    "outlook_worsened": ":material/trending_down:",
    "balance_worsened": ":material/balance:",
    "missing_scores": ":material/rule:",
}
WARNINGS_SHOWN = 25
GLOSSARY = "[Glossary](glossary)"

con = ui.connection()
study = ui.reference(storage.get_study)
if study is None:
    st.title("Portfolio overview")
    st.warning(
        "This database holds no study yet. Create one with `python -m innovation_tracker init --db PATH`, "
        "or start with the demo: `python -m innovation_tracker demo --db PATH`."
    )
    st.stop()

today = ui.today()
if ui.viewer().role == AccountRole.TEAM:
    choices = ui.shared(page_content.project_choices)
    if not choices.codes:
        st.title("Your project")
        st.info("Your account is not linked to a project yet: ask the evaluation team to link it.")
        st.stop()
    code = choices.codes[0] if len(choices.codes) == 1 else ui.pick_project("Project")
    home = ui.shared(page_content.project_home, code, today)
    st.title(escape_markdown(f"{home.name} ({home.code})"))
    st.caption(escape_markdown(home.caption))
    st.caption(f"{escape_markdown(study.name)} · figures as of {today:%-d %b %Y}")
    people, done, late, outlook = st.columns(4)
    people.metric("Participants", home.participants)
    done.metric("Interviews completed", home.completed)
    late.metric("Follow-ups overdue", home.overdue)
    outlook.metric("Latest outlook", escape_markdown(home.outlook.split(" at ")[0]), help=escape_markdown(home.outlook))
    st.header("The year so far")
    st.dataframe(ui.as_arrow(home.rounds), hide_index=True)
    st.caption(f"A round is finished when every window has closed or enough interviews are done ({GLOSSARY}).")
    st.header("Next follow-ups")
    if home.next_followups.empty:
        st.success("No follow-up is due or coming up.")
    else:
        st.dataframe(ui.as_arrow(home.next_followups), hide_index=True)
    st.page_link("pages/timeline.py", label="The project's timeline", icon=":material/timeline:")
    st.stop()

st.title("Portfolio overview")
st.caption(
    f"{escape_markdown(study.name)} · {study.start_date:%-d %b %Y} to {study.end_date:%-d %b %Y}"
    f" · figures as of {today:%-d %b %Y}"
)
if ui.read(storage.people_counts)["projects"] == 0:
    st.info("No projects yet. Add projects and enrol participants, or import them from the tidy CSV template.")
    st.stop()

headline = st.container()
filters = st.columns(2)
settings = filters[0].multiselect("Setting", [s.value for s in Setting], format_func=label_of, placeholder="All")
statuses = filters[1].multiselect(
    "Project status", [s.value for s in ProjectStatus], format_func=label_of, placeholder="All"
)
overview = ui.shared(page_content.overview, today, tuple(settings), tuple(statuses))


def tables() -> page_content.OverviewTables:
    """The full tables behind the overview's expanders, built when one of them is open."""
    return ui.shared(page_content.overview_tables, today, tuple(settings), tuple(statuses))


counts = overview.headline
projects, people, interviews, alerts = headline.columns([1, 1, 1.6, 1])  # "224,000 / 232,000" needs the room
projects.metric("Projects", f"{counts['projects']:,}")
people.metric(
    "Participants",
    f"{counts['participants']:,}",
    help=f"{counts['withdrawn']:,} withdrawn" if counts["withdrawn"] else None,
)
done, scheduled = counts["interviews_done"], counts["interviews_scheduled"]
interviews.metric(
    "Interviews done / scheduled so far",
    f"{done:,} / {scheduled:,}",
    help="Completed interviews, against every wave whose due date has passed (withdrawals excluded).",
)
alerts.metric(
    "Follow-ups overdue", f"{counts['overdue']:,}", help=f"{counts['due']:,} more are due now, within their window."
)

if settings or statuses:
    shown = f"{overview.projects:,} of {counts['projects']:,}"
    st.caption(f"{shown} projects match the filters (the counts above are for all).")
st.plotly_chart(overview.completion, width="stretch")
st.caption(escape_markdown(overview.completion_text) + f" Finished rounds and windows: {GLOSSARY}.")

st.header("Status now")
waves = ui.reference(storage.list_waves)
labels = {w.wave: w.label for w in waves}
round_options = [w.wave for w in waves if w.wave in set(overview.progress.wave)]
if not round_options:
    st.info("No round of interviews has begun yet.")
else:
    default = overview.latest_finished or round_options[0]
    chosen = st.selectbox(
        "Follow-up point",
        round_options,
        index=round_options.index(default),
        format_func=lambda w: labels[w] + (" (latest finished round)" if w == overview.latest_finished else ""),
    )
    status = ui.shared(page_content.status_now, today, chosen, tuple(settings), tuple(statuses))
    marker = "" if status.finished else " — **in progress**: its figures are not final"
    st.caption(
        f"Each project at the **{escape_markdown(status.wave_label)}** ({status.progress}){marker}, most at risk first:"
        " outlook and "
        f"net balance per interview, each with its change since the round before; follow-ups overdue and open early "
        f"warnings as of today. Click a column to sort. Terms: {GLOSSARY}."
    )
    ui.paginated(status.table, "overview:status-page", hide_index=True)

if overview.outlook_figure is not None:
    st.plotly_chart(overview.outlook_figure, width="stretch")
    st.caption(escape_markdown(overview.outlook_text) + f" Outlook: {GLOSSARY}.")
    if overview.outlook_shown < overview.projects:
        st.caption(
            f"The {overview.outlook_shown} projects of {overview.projects:,} whose latest outlook is worst; "
            "narrow down with the filters above, or read every project's outlook in the table below."
        )
        every = st.expander(f"Outlook of all {overview.projects:,} projects", key="overview:outlook", on_change="rerun")
        if every.open:  # its table is built when it is opened (`tables`)
            with every:
                ui.paginated(tables().outlook, "overview:outlook-page", hide_index=True)
else:
    st.info("No sustainability outlook has been scored yet. Scores appear here wave by wave once entered.")

st.header("Early warnings")
warnings = overview.warnings
if warnings.empty:
    st.success("No warnings: nothing is overdue, no project's outlook or balance fell, every finished wave is scored.")
for warning in warnings.head(WARNINGS_SHOWN).itertuples():
    st.page_link(
        navigation.page("pages/timeline.py"),
        label=f"**{escape_markdown(warning.project_code)}** · {escape_markdown(warning.message)}",
        icon=WARNING_ICONS.get(warning.kind, ":material/warning:"),
        query_params={"project": warning.project_code},
    )
if len(warnings) > WARNINGS_SHOWN:
    every = st.expander(f"All {len(warnings)} warnings", key="overview:warnings", on_change="rerun")
    if every.open:
        with every:
            ui.paginated(
                tables().warnings,
                "overview:warnings-page",
                hide_index=True,
                column_config={"project_code": "Project", "kind": "Warning", "message": "What happened"},
            )

st.header("Net balance per interview over the waves")
if overview.balance_figure is None:
    st.info("No factor ratings yet.")
else:
    st.plotly_chart(overview.balance_figure, width="stretch")
    caption = (
        "Per completed interview: the sum of facilitator ratings minus the weight of barrier ratings, divided by the "
        f"interviews done at that wave, so projects of any size compare ({GLOSSARY}). "
    )
    caption += escape_markdown(overview.balance_text)
    if overview.balance_shown < overview.projects - len(overview.balance_missing):
        caption += (
            f" Drawn for the {overview.balance_shown} projects with the highest and lowest latest balance of"
            f" {overview.projects:,}; narrow down with the filters above to see others."
        )
    st.caption(caption)
    if overview.balance_missing:
        st.caption(
            f"Not drawn, no ratings yet ({len(overview.balance_missing)}): "
            + escape_markdown(page_content.name_list(overview.balance_missing))
            + "."
        )
    behind = st.expander("Data behind this chart", key="overview:balance", on_change="rerun")
    if behind.open:
        with behind:
            ui.paginated(tables().balance, "overview:balance-page", hide_index=True)
