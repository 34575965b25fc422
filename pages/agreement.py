"""Agreement between coders: for the interviews coded twice, blind, how far the two codings agree, per factor, per
project and overall, at a wave or over all waves, each figure with its n. Editors see everything and reach the
double coding from here; funders see the statistics (no text); a project team sees its own project's."""

import streamlit as st

from innovation_tracker import storage, ui
from innovation_tracker.app import double_coding
from innovation_tracker.ui.text import escape_markdown

ui.page_gate()  # first: a page run without dashboard.py's login goes to the login

st.title("Agreement between coders")
con, viewer = ui.connection(), ui.viewer()
waves = ui.reference(storage.list_waves)
wave_labels = {None: "All waves", **{w.wave: w.label for w in waves}}
wave = st.selectbox("At", list(wave_labels), format_func=wave_labels.get, key="agreement:wave")
tables = ui.shared(double_coding.agreement_tables, wave)

if tables.empty:
    st.info(
        "Nothing is double-coded"
        + ("" if wave is None else f" at the {escape_markdown(wave_labels[wave].lower())}")
        + " yet. **Double coding** is how a team shows its coding can be trusted: a second evaluator codes an"
        " interview again, independently and *blind* (without seeing the first coding), and this page then measures"
        " how far the two codings agree, per factor, per project and overall: the percent of factors on which they"
        " agree, Cohen's kappa on whether each factor was cited, and Krippendorff's alpha on the ratings."
        + (
            " Start one on the Double coding page: choose an interview someone else coded and code it blind."
            if viewer.edits_study_data
            else " The evaluators double-code a share of the interviews; the figures appear here once they have."
        ),
        icon=":material/rule:",
    )
    if viewer.edits_study_data:
        st.page_link("pages/double-coding.py", label="Code an interview blind", icon=":material/visibility_off:")
    st.stop()

overall = tables.overall.iloc[0]
interviews, units, percent, kappa, alpha = st.columns(5)
interviews.metric("Double-coded interviews", f"{int(overall.n_interviews):,}")
units.metric(
    "Units compared", f"{int(overall.n_units):,}", help="A unit is one factor of the codebook in one interview"
)
percent.metric("Percent agreement", double_coding.percent(overall.percent_agreement), help=f"n = {overall.n_units:,}")
kappa.metric("Cohen's kappa (cited)", double_coding.shown(overall.kappa_cited), help=f"n = {overall.n_units:,}")
alpha.metric(
    "Krippendorff's alpha (rating)",
    double_coding.shown(overall.alpha_rating),
    help=f"n = {overall.n_rated_by_both:,} units rated by both coders (X, mixed, left out)",
)
st.caption(
    f"Overall{'' if wave is None else ' at the ' + escape_markdown(wave_labels[wave].lower())}:"
    f" {int(overall.n_units):,} units"
    f" (factors × double-coded interviews), {int(overall.n_rated_by_both):,} of them rated by both coders."
    " **Percent agreement**: the two codings agree on whether the factor was cited and, where both cited it, on the"
    " rating. **Cohen's kappa**: agreement on citing beyond chance (1 perfect, 0 no better than chance)."
    " **Krippendorff's alpha** (ordinal): agreement on the ratings where both coders rated the factor (1 perfect;"
    " 0.8 or more is usually taken as reliable, 0.667 as the least for tentative conclusions). Where the codebook"
    " has CFIR's X (mixed), X counts as cited and as a rating of its own (X and X agree, X and 0 do not), but X is"
    " no point on the −2..+2 scale, so alpha leaves out every unit either coder rated X. — where every unit"
    " fell in one category, so chance alone would agree. See the [glossary](glossary)."
)

st.subheader("By project")
st.dataframe(ui.as_arrow(tables.project_table), hide_index=True, width="stretch")
st.subheader("By factor")
st.dataframe(ui.as_arrow(tables.factor_table), hide_index=True, width="stretch")

if viewer.edits_study_data:
    queue = ui.read(storage.coding_queue)
    saved = queue[queue.saved_at.notna()]
    waiting = int((saved.disagreements - saved.reconciled).gt(0).sum())
    st.subheader("Reconciliation")
    st.markdown(
        f"{len(saved):,} interviews are double-coded; **{waiting:,}** still have disagreements to reconcile."
        " The consensus becomes the rating the trajectories use; the figures above always compare the two original,"
        " independent codings."
    )
    st.page_link("pages/double-coding.py", label="Double coding and reconciliation", icon=":material/rule:")
