"""Search the evidence: every excerpt (and, for evaluators, every interview summary) across projects and waves,
narrowed by factor, wave, project, role and sign, each result leading to its project's timeline."""

import streamlit as st

from innovation_tracker import storage, ui
from innovation_tracker.domain.errors import ValidationError
from innovation_tracker.domain.model import SEARCH_MAX_CHARS, SEARCH_MAX_WORDS, Role, label_of
from innovation_tracker.views import evidence_search, page_content

ui.page_gate()  # first: a page run without dashboard.py's login goes to the login

st.title("Search the evidence")
con, viewer = ui.connection(), ui.viewer()
ui.demo_banner(con)
choices = ui.shared(page_content.project_choices)
if not choices.codes:
    st.info(
        "Nothing to search yet. Excerpts appear here once interviews are logged with evidence: the quotes that"
        " back each factor rating.",
        icon=":material/search:",
    )
    st.stop()

editor = viewer.identified
st.caption(
    f"Every word must occur (any case); put a phrase in double quotes; up to {SEARCH_MAX_WORDS} words. "
    + (
        "Searches the evidence excerpts of every rating and the interview summaries."
        if editor
        else "Searches the excerpts marked shareable, with participants shown by role, never by code."
    )
)
text = st.text_input(
    "Words to find", placeholder='e.g. funding "host organisation"', key="search:text", max_chars=SEARCH_MAX_CHARS
)

factors, waves = ui.reference(storage.list_factors), ui.reference(storage.list_waves)
factor_labels = {f.factor_code: f"{f.label} ({label_of(f.kind)})" for f in factors}
wave_labels = {w.wave: w.label for w in waves}
with st.expander("Narrow down", expanded=False):
    left, right = st.columns(2)
    chosen_factors = left.multiselect("Factors", list(factor_labels), format_func=factor_labels.get)
    chosen_waves = right.multiselect("Waves", list(wave_labels), format_func=wave_labels.get)
    if len(choices.codes) <= page_content.PICKER_LIMIT:
        chosen_projects = left.multiselect("Projects", list(choices.codes), format_func=choices.label)
    else:
        typed = left.text_input(
            "Project codes (separated by commas)", help=f"{len(choices.codes):,} projects", max_chars=2_000
        )
        chosen_projects = [c.strip().upper() for c in typed.split(",") if c.strip()]
    chosen_roles = right.multiselect("Stakeholder roles", [r.value for r in Role], format_func=label_of)
    signs = {None: "Any", "facilitator": "Facilitators (+1, +2)", "barrier": "Barriers (−1, −2)"}
    if ui.reference(storage.neutral_mixed):  # a codebook with CFIR's 0 and X
        signs |= {"neutral": "Neutral (0)", "mixed": "Mixed (X)"}
    sign = left.radio("Ratings", list(signs), format_func=signs.get, horizontal=True)
    summaries = editor and right.checkbox("Include interview summaries", value=True)

filters = storage.SearchFilters(
    tuple(chosen_factors), tuple(chosen_waves), tuple(chosen_projects), tuple(chosen_roles), sign, summaries
)
if not storage.search_words(text):
    st.info("Type a word or a phrase to search the evidence.", icon=":material/search:")
    st.stop()

try:
    first = ui.shared(evidence_search.results_page, text, filters, 1)
except ValidationError as refused:  # longer than a search takes (domain.check_search): nothing was searched
    st.warning(refused.problems[0].message, icon=":material/block:")
    st.stop()
if first.total == 0:
    st.warning("Nothing matches. Try fewer words, or fewer filters.", icon=":material/search_off:")
    st.stop()
page = 1
if first.pages > 1:
    page = st.columns(4)[0].number_input(f"Page (of {first.pages:,})", min_value=1, max_value=first.pages, step=1)
found = first if page == 1 else ui.shared(evidence_search.results_page, text, filters, page)
shown_from = (found.page - 1) * evidence_search.RESULTS_PER_PAGE + 1
st.caption(f"{found.total:,} matches, newest first; {shown_from:,}–{shown_from + len(found.results) - 1:,} shown.")

for result in found.results:
    with st.container(border=True):
        st.html(result.html)
        links = st.columns(3 if editor else 2)
        links[0].page_link(
            "pages/timeline.py",
            label=f"{result.project_code}'s timeline",
            icon=":material/timeline:",
            query_params={"project": result.project_code},
        )
        if editor:
            links[1].page_link(
                "pages/log-interview.py",
                label="Open the interview",
                icon=":material/mic:",
                query_params={
                    "project": result.project_code,
                    "participant": result.participant_code,
                    "wave": result.wave,
                },
            )
