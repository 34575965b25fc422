"""Framework matrix: projects as rows, the factors of a domain (or the domains) as columns; each cell the mean
rating, its trend since the previous finished round and how many participants cited it; the excerpts behind a cell
on selection; the whole matrix as an Excel workbook, one sheet per domain."""

import streamlit as st

from innovation_tracker import storage, ui
from innovation_tracker.domain import display
from innovation_tracker.domain.model import label_of
from innovation_tracker.ui.downloads import deferred, download_button
from innovation_tracker.ui.text import escape_markdown, markdown_cells
from innovation_tracker.views import framework_matrix

ui.page_gate()  # first: a page run without dashboard.py's login goes to the login

ROWS_PER_SCREEN = 50

st.title("Framework matrix")
con, viewer, today = ui.connection(), ui.viewer(), ui.today()
ui.demo_banner(con)
factors = ui.reference(storage.list_factors)
codes = tuple(ui.read(storage.project_list).project_code)  # the matrix's rows, in its order
if not codes or not factors:
    st.info(
        "The matrix fills in as interviews are coded: a row per project, a column per factor, and in each cell the"
        " mean rating, its trend and the excerpts behind it. Add projects and log interviews first.",
        icon=":material/grid_on:",
    )
    st.stop()

waves = ui.reference(storage.list_waves)
wave_labels = {None: "Across the year", **{w.wave: w.label for w in waves}}
domains = list(dict.fromkeys(f.domain for f in factors))
pick_wave, pick_columns = st.columns(2)
wave = pick_wave.selectbox("At", list(wave_labels), format_func=wave_labels.get, key="matrix:wave")
domain = pick_columns.selectbox(
    "Columns",
    [None, *domains],
    format_func=lambda d: "Domains" if d is None else f"Factors: {label_of(d)}",
    index=1 if domains else 0,
    key="matrix:columns",
)
shown = None  # every project fits on one screen
if len(codes) > ROWS_PER_SCREEN:
    screens = -(-len(codes) // ROWS_PER_SCREEN)
    screen = st.columns(4)[0].number_input(f"Projects, screen (of {screens:,})", 1, screens, 1, key="matrix:screen")
    shown = codes[(screen - 1) * ROWS_PER_SCREEN : screen * ROWS_PER_SCREEN]
drawn = ui.shared(framework_matrix.screen, wave, domain, today, shown)  # only the screen's ratings are read
matrix, table = drawn.matrix, drawn.table
st.caption(
    "Each cell: mean rating (−2 strong barrier … +2 strong facilitator) · trend since the project's previous finished"
    " round (↑ up by 0.5 or more, ↓ down by 0.5 or more, → steady, new: not cited then; none: not cited at the"
    " latest finished round, or no earlier one) · participants citing it."
    " Select a cell to read its excerpts" + ("." if viewer.identified else " (those marked shareable).")
)
rows = matrix.rows
event = st.dataframe(
    ui.as_arrow(table),
    on_select="rerun",
    selection_mode="single-cell",
    key="matrix:table",
    width="stretch",
    height=35 * (len(table) + 1) + 3,  # every project on the screen, no inner scrolling
)
st.caption(f"{len(rows):,} projects shown; {drawn.cited:,} cells cited, {drawn.not_cited:,} not.")

selected = event.selection.get("cells", []) if event else []
if selected and domain is not None:
    row, column = selected[0]
    project, factor = rows[row], matrix.columns[table.columns.get_loc(column)]
    st.subheader(escape_markdown(f"{matrix.row_labels[project]} · {matrix.column_labels[factor]}"))
    excerpts = ui.read(storage.cell_excerpts, project, factor, wave)
    if excerpts.empty:
        st.info("No excerpt was recorded for this cell" + ("." if viewer.identified else " or shared."))
    else:
        shown_excerpts = excerpts.assign(role=excerpts.role.map(label_of), rating=display.ratings(excerpts))
        shown_excerpts = shown_excerpts.drop(columns="mixed")  # shown as X in the rating
        shown_excerpts = shown_excerpts.rename(
            columns={
                "wave_label": "Wave",
                "participant_code": "Participant",
                "role": "Role",
                "rating": "Rating",
                "evidence": "Excerpt",
            }
        )
        # wrapped: excerpts are read in full; st.table renders its cells as markdown
        st.table(markdown_cells(shown_excerpts), hide_index=True)
elif selected:
    st.info("Choose the factors of one domain as columns to read the excerpts behind a cell.")

download_button(
    "Download the matrix (Excel, one sheet per domain)",
    deferred(framework_matrix.excel, wave, today),  # built on the click: every excerpt of every cell
    file_name=f"framework-matrix-{wave or 'year'}.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    icon=":material/download:",
)
