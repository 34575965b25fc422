"""Compare projects: which factors each project cites, how they moved, and the paper's Tables 2 and 3 recomputed."""

import streamlit as st

from innovation_tracker import storage, ui
from innovation_tracker.domain.model import Relation, Setting, label_of
from innovation_tracker.ui.text import escape_markdown, markdown_cells
from innovation_tracker.views import page_content

ui.page_gate()  # first: a page run without dashboard.py's login goes to the login

st.title("Compare projects")
con = ui.connection()
if not ui.shared(page_content.project_choices).codes:
    st.info("No projects to compare yet. Add projects and log interviews to see them side by side.")
    st.stop()

waves = ui.reference(storage.list_waves)
labels = {w.wave: w.label for w in waves}
settings_col, relation_col = st.columns(2)
settings = tuple(settings_col.multiselect("Setting", [s.value for s in Setting], format_func=label_of))
relations = tuple(
    relation_col.multiselect("Relation to statutory services", [r.value for r in Relation], format_func=label_of)
)
prefix = ""
matrix_header = st.container()
with matrix_header:
    st.header("Project × factor")
    prefix = st.text_input(
        "Project codes starting with",
        help="Narrow down the matrix to some projects",
        max_chars=ui.max_chars("project_code"),
    ).strip()
compared = ui.shared(page_content.comparison, settings, relations, prefix.upper(), ui.today())


def wave_name(wave: str) -> str:
    return labels[wave] + ("" if wave in compared.finished_waves else " (in progress)")


settings_col.caption(f"{compared.chosen:,} of {compared.projects:,} projects match the filters.")

with matrix_header:
    if compared.matching_prefix > page_content.MATRIX_SHOWN:
        st.caption(
            f"The matrix shows the first {page_content.MATRIX_SHOWN} of {compared.matching_prefix:,} projects by code: "
            "narrow down with the filters above or by the start of the codes."
        )
    rated = list(compared.rated_waves)
    if not rated:
        st.info("No ratings for the projects chosen yet.")
    else:
        default = rated.index(compared.default_wave)
        mode = st.radio("Show", ["Mean rating at one wave", "Change between two waves"], horizontal=True)
        if mode == "Mean rating at one wave":
            wave = st.selectbox("Wave", rated, index=default, format_func=wave_name)
            wave_a = wave_b = wave
        else:
            first, second = st.columns(2)
            wave_a = first.selectbox("From", rated, index=0, format_func=wave_name)
            wave_b = second.selectbox("To", rated, index=default, format_func=wave_name)
        matrix = ui.shared(
            page_content.change_matrix_figure, compared.matrix_codes, wave_a, wave_b, settings, relations, ui.today()
        )
        st.plotly_chart(matrix.figure, width="stretch")
        which = labels[wave_b] if wave_a == wave_b else f"{labels[wave_a]} and the {labels[wave_b]}"
        st.caption(
            f"{len(matrix.drawn)} of {len(compared.matrix_codes)} projects shown. {escape_markdown(matrix.text)} "
            "Mean rating from −2 (strong barrier) to +2 (strong facilitator); grey: not rated. "
            "Finished rounds: [Glossary](glossary)."
        )
        if matrix.missing:
            missing = page_content.name_list(matrix.missing, 40)
            st.caption(f"No ratings at the {escape_markdown(which)} yet: {escape_markdown(missing)}.")

st.header("How many projects cite each factor")
scope = st.selectbox(
    "Counted over",
    ["whole", *[w.wave for w in waves]],
    format_func=lambda w: "The whole year" if w == "whole" else wave_name(w),
)
citations = ui.shared(page_content.citation_display, None if scope == "whole" else scope, settings, relations)
st.table(markdown_cells(citations), hide_index=True)  # st.table renders its cells as markdown
paper = "Projects in the paper (of 11)" in citations.columns
st.caption(
    (
        "Brooks, Pilgrim & Rogers (2011), Tables 2 and 3, counted the projects citing each factor over the year; "
        "the last column gives their figure. "
        if paper
        else "Projects citing each factor of the codebook (a 0, neutral, or X, mixed, rating counts as citing it). "
    )
    + "A wave still in progress has fewer citing projects only because not everyone has been interviewed yet."
)
finished = [w for w in waves if w.wave in compared.finished_waves and w.wave in compared.rated_waves]
if len(finished) >= 2:
    figure = ui.shared(page_content.citation_figure, finished[0], finished[-1], settings, relations, ui.today())
    st.plotly_chart(figure, width="stretch")
    st.caption(
        "Projects citing each factor (a count) at the first and the latest finished rounds"
        f" ({escape_markdown(finished[0].label)} and {escape_markdown(finished[-1].label)}); the table above holds the"
        " same counts for any wave."
    )
