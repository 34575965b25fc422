"""Compare projects: which factors each project cites, how they moved, and the paper's Tables 2 and 3 recomputed."""

import pandas as pd
import streamlit as st

from innovation_tracker import analysis, charts, storage, ui
from innovation_tracker.domain import Relation, Setting, label_of

MATRIX_SHOWN = 40  # projects across the matrix: wider cannot be read

st.title("Compare projects")
con = ui.connection()
ui.demo_banner(con)
projects = ui.read(storage.project_list)
if projects.empty:
    st.info("No projects to compare yet. Add projects and log interviews to see them side by side.")
    st.stop()

waves = storage.list_waves(con)
factors = storage.list_factors(con)
labels = {w.wave: w.label for w in waves}
settings_col, relation_col = st.columns(2)
settings = settings_col.multiselect("Setting", [s.value for s in Setting], format_func=label_of)
relations = relation_col.multiselect(
    "Relation to statutory services", [r.value for r in Relation], format_func=label_of
)
chosen = analysis.filter_projects(projects, settings, relations)
st.caption(f"{len(chosen)} of {len(projects)} projects match the filters.")

st.header("Project × factor")
prefix = st.text_input("Project codes starting with", help="Narrow down the matrix to some projects").strip().upper()
matrix_codes = chosen.project_code[chosen.project_code.str.startswith(prefix)] if prefix else chosen.project_code
if len(matrix_codes) > MATRIX_SHOWN:
    st.caption(
        f"The matrix shows the first {MATRIX_SHOWN} of {len(matrix_codes)} projects by code: narrow down with the "
        "filters above or by the start of the codes."
    )
stats = ui.read(storage.factor_stats_of, tuple(matrix_codes.head(MATRIX_SHOWN)))
if stats.empty:
    st.info("No ratings for the projects chosen yet.")
else:
    mode = st.radio("Show", ["Mean rating at one wave", "Change between two waves"], horizontal=True)
    rated = [w.wave for w in waves if w.wave in set(stats.wave)]
    if mode == "Mean rating at one wave":
        wave = st.selectbox("Wave", rated, index=len(rated) - 1, format_func=labels.get)
        matrix = analysis.change_matrix(stats, wave, wave)
        figure = charts.change_matrix_chart(matrix, value="mean_b", factors=factors)
    else:
        first, second = st.columns(2)
        wave_a = first.selectbox("From", rated, index=0, format_func=labels.get)
        wave_b = second.selectbox("To", rated, index=len(rated) - 1, format_func=labels.get)
        matrix = analysis.change_matrix(stats, wave_a, wave_b)
        figure = charts.change_matrix_chart(matrix, value="diff", factors=factors)
    st.plotly_chart(figure, width="stretch")

st.header("How many projects cite each factor")
scope = st.selectbox(
    "Counted over",
    ["whole", *[w.wave for w in waves]],
    format_func=lambda w: "The whole year" if w == "whole" else labels[w],
)


def citation_counts(wave):
    citing = ui.read(storage.projects_citing, wave, tuple(settings), tuple(relations))
    return analysis.citation_table(citing.set_index("factor_code").projects_citing, len(chosen), factors)


counts = citation_counts(None if scope == "whole" else scope)
st.table(
    counts.assign(
        domain=counts.domain.map(label_of),
        kind=counts.kind.map(label_of),
        percent=counts.percent.map("{:.0f}%".format),
        paper_projects=counts.paper_projects.map(lambda n: "—" if pd.isna(n) else str(int(n))),
    )[["domain", "kind", "label", "projects_citing", "percent", "paper_projects"]].rename(
        columns={
            "domain": "Domain",
            "kind": "Kind",
            "label": "Factor",
            "projects_citing": "Projects citing",
            "percent": "% of projects",
            "paper_projects": "Projects in the paper (of 11)",
        }
    ),
    hide_index=True,
)
st.caption(
    "Brooks, Pilgrim & Rogers (2011), Tables 2 and 3, counted the projects citing each factor over the year; "
    "the last column gives their figure."
)
rated_waves = [w for w in waves if w.wave in set(stats.wave)]
if len(rated_waves) >= 2:
    first, latest = rated_waves[0], rated_waves[-1]
    counts_a, counts_b = citation_counts(first.wave), citation_counts(latest.wave)
    st.plotly_chart(charts.citation_chart(counts_a, counts_b, first.label, latest.label), width="stretch")
