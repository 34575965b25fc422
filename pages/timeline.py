"""Project timeline: one project's year — interviews, barriers and facilitators, sustainability, what changed."""

import streamlit as st

from innovation_tracker import storage, ui
from innovation_tracker.domain import analysis
from innovation_tracker.domain.model import label_of
from innovation_tracker.ui.text import escape_markdown
from innovation_tracker.views import page_content

ui.page_gate()  # first: a page run without dashboard.py's login goes to the login

st.title("Project timeline")
con = ui.connection()
projects = ui.shared(page_content.project_choices)
if not projects.codes:
    st.info("No projects to show yet. Once projects are added and interviews logged, each one's year appears here.")
    st.stop()

code = ui.pick_project("Project", link=True)
st.query_params["project"] = code
st.caption(escape_markdown(ui.shared(page_content.project_caption, code)))

today = ui.today()
waves = ui.reference(storage.list_waves)
timeline = ui.shared(page_content.timeline, code, today)

st.header("Interviews over the year")
if timeline.schedule_figure is None:
    st.info("No participants are enrolled in this project yet.")
else:
    people, interviews, late = st.columns(3)
    people.metric("Participants", timeline.participants)
    interviews.metric("Interviews completed", timeline.completed)
    late.metric("Follow-ups overdue", timeline.overdue)
    st.plotly_chart(timeline.schedule_figure, width="stretch")
    st.caption(escape_markdown(timeline.schedule_text) + " Windows and due dates: [Glossary](glossary).")

st.header("Barriers and facilitators")
if timeline.heatmap is None:
    st.info("No factor has been rated for this project yet: ratings appear here after the first coded interview.")
    st.stop()
evidence = ui.shared(page_content.evidence_table, code)  # shown, never changed
st.plotly_chart(timeline.heatmap, width="stretch")
st.caption(
    "Mean rating of each factor cited, by wave: −2 strong barrier … +2 strong facilitator. "
    "Grey cells: nobody cited the factor at that wave. Under each wave, how many of its interviews are done; hover "
    "for the share of participants interviewed who cited the factor. "
    + escape_markdown(timeline.heatmap_text)
    + " [Glossary](glossary)."
)
st.plotly_chart(timeline.balance_figure, width="stretch")
st.caption(
    "Facilitator and barrier weight per completed interview, so rounds of different sizes compare. "
    + escape_markdown(timeline.balance_text)
    + " Net balance: [Glossary](glossary)."
)
with st.expander("Data behind this chart"):
    st.dataframe(ui.as_arrow(timeline.balance_table), hide_index=True)

st.header("Sustainability")
if timeline.indicators_figure is None:
    st.info("No sustainability indicators have been scored for this project yet.")
else:
    st.plotly_chart(timeline.indicators_figure, width="stretch")
    st.caption(escape_markdown(timeline.indicators_text))

st.header("What changed")
rated_waves = [w for w in waves if w.wave in timeline.rated_waves]
if len(rated_waves) < 2:
    st.info("Only one wave has ratings so far; changes appear once a follow-up has been coded.")
else:
    labels = {w.wave: w.label for w in rated_waves}
    # A round still in progress looks as if factors disappeared: by default compare the last two finished rounds.
    finished = [n for n, w in enumerate(labels) if w in timeline.finished_waves]
    before, after = finished[-2:] if len(finished) >= 2 else (len(labels) - 2, len(labels) - 1)

    def wave_name(wave: str) -> str:
        return labels[wave] + ("" if wave in timeline.finished_waves else " (in progress)")

    first, second = st.columns(2)
    wave_a = first.selectbox("From", list(labels), index=before, format_func=wave_name)
    wave_b = second.selectbox("To", list(labels), index=after, format_func=wave_name)
    unfinished = [labels[w] for w in dict.fromkeys((wave_a, wave_b)) if w not in timeline.finished_waves]
    if unfinished:
        st.warning(
            f"The {escape_markdown(' and the '.join(unfinished))} round is **in progress**: a factor not yet mentioned"
            " by those still to be interviewed shows as disappeared.",
            icon=":material/hourglass_top:",
        )
    st.dataframe(
        ui.as_arrow(ui.shared(page_content.wave_changes_table, code, wave_a, wave_b)),
        hide_index=True,
        column_config={
            "change": "Change",
            "label": "Factor",
            "kind": "Kind",
            "mean_a": st.column_config.NumberColumn(f"Mean at {labels[wave_a]}", format="%.2f"),
            "mean_b": st.column_config.NumberColumn(f"Mean at {labels[wave_b]}", format="%.2f"),
            "delta": st.column_config.NumberColumn("Change", format="%+.2f"),
            "n_a": "Rated by (from)",
            "n_b": "Rated by (to)",
        },
    )
    st.caption(" · ".join(f"**{name}**: {meaning}" for name, meaning in analysis.CHANGE_CLASSES.items()))

st.header("Evidence")
if evidence.empty:
    st.info("No excerpts you may read have been recorded for this project.")
else:
    by_factor, by_wave, by_role = st.columns(3)
    chosen_factors = by_factor.multiselect("Factor", sorted(evidence.factor_label.unique()))
    chosen_waves = by_wave.multiselect("Wave", [w.label for w in waves if w.wave in set(evidence.wave)])
    chosen_roles = by_role.multiselect("Role", sorted(evidence.role.unique()), format_func=label_of)
    shown = analysis.filter_evidence(evidence, chosen_factors, chosen_waves, chosen_roles)
    if not ui.viewer().identified:
        st.caption(ui.pooling_note())
    st.dataframe(
        ui.as_arrow(shown),
        hide_index=True,
        column_order=["wave_label", "factor_label", "rating", "participant", "excerpt"],
        column_config={
            "wave_label": "Wave",
            "factor_label": "Factor",
            "rating": st.column_config.TextColumn(
                "Rating", help="−2 … +2; 0 neutral, X mixed where the codebook has them"
            ),
            "participant": "Participant",
            "excerpt": st.column_config.TextColumn("Excerpt", width="large"),
        },
    )
