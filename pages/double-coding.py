"""Double coding: code an interview a second time, blind to the first coding, then reconcile the disagreements.
Editors only. The blind form shows the interview (its summary notes) and the codebook, never the first coding;
from the moment a coder starts, every read the app makes for them hides that interview's first coding until theirs
is saved. Reconciling records the agreed rating of each disagreement, with why, and makes it the rating in force."""

import pandas as pd
import streamlit as st

from innovation_tracker import storage, ui
from innovation_tracker.app import capture, double_coding
from innovation_tracker.domain.model import label_of
from innovation_tracker.ui import forms
from innovation_tracker.ui.text import escape_markdown

ui.page_gate()  # first: a page run without dashboard.py's login goes to the login

CODE, RECONCILE = "Code an interview blind", "Reconcile"

st.title("Double coding")
con, viewer = ui.connection(), ui.viewer()
forms.show_flash()
forms.require_study(con)
factors = ui.reference(storage.list_factors)
by_code = {f.factor_code: f for f in factors}
neutral_mixed = ui.reference(storage.neutral_mixed)  # the codebook declares CFIR's 0 (neutral) and X (mixed)
queue = ui.read(storage.coding_queue)
mine = queue[(queue.second_coder == viewer.username) & queue.saved_at.isna()]
saved = queue[queue.saved_at.notna()]
# A link's interview is one with two saved codings, to reconcile (its id, as the queue gives it).
linked = ui.link_param("interview", {str(i) for i in saved.interview_id}, "the id of an interview coded twice")
wanted = None if linked is None else int(linked)
default = RECONCILE if wanted is not None else CODE
# A radio, not a segmented control: the segmented control's selected text fails WCAG contrast (axe, serious).
mode = st.radio(
    "Task",
    [CODE, RECONCILE],
    index=[CODE, RECONCILE].index(default),
    key="dc:mode",
    horizontal=True,
    label_visibility="collapsed",
)


def interview_label(row) -> str:
    return f"{row.participant_code} · {row.wave_label} · {row.interview_date:%d %b %Y}"


def blind_form(interview: dict) -> None:
    """The viewer's blind coding of `interview`: which factors were cited, each with its rating, evidence and
    shareable flag, checked by the codebook's rules on saving."""
    key = int(interview["interview_id"])
    form = f"blind:{key}"
    st.subheader(
        f"Coding {escape_markdown(interview['participant_code'])} · {escape_markdown(interview['wave_label'])}"
    )
    st.caption(
        f"Interview of {interview['interview_date']:%d %b %Y} · {label_of(interview['mode'])}"
        f" · interviewer {escape_markdown(str(interview['interviewer'] or '—'))}. You are coding blind: the first"
        " coding is hidden from you everywhere in the app until you save yours."
    )
    if isinstance(interview["summary"], str) and interview["summary"]:
        with st.container(border=True):
            st.markdown("**Summary notes**")
            st.markdown(escape_markdown(interview["summary"]))
    offered = double_coding.offered_factors(factors)
    choices = capture.factor_choices(offered)
    labels = {code: label for label, code in choices.items()}
    cited = st.multiselect(
        "Factors cited in this interview",
        list(labels),
        format_func=labels.get,
        key=f"{form}:factors",
        placeholder="Choose every factor the participant talked about",
    )
    lines = []
    for code in cited:
        factor = by_code[code]
        name, rating, words, share = st.columns([2.5, 1.6, 3.6, 1.2], vertical_alignment="center")
        name.markdown(
            f"**{escape_markdown(factor.label)}** · {factor.kind.value}",
            help=escape_markdown(factor.description) if factor.description else None,
        )
        rating.selectbox(
            f"Rating of {escape_markdown(factor.label)}",
            capture.rating_options(factor.kind, neutral_mixed),
            index=None,
            format_func=capture.option_label,
            key=f"{form}:rating:{code}",
            label_visibility="collapsed",
            placeholder="Rating",
        )
        words.text_input(
            f"Evidence for {escape_markdown(factor.label)}",
            key=f"{form}:evidence:{code}",
            max_chars=ui.max_chars("evidence"),
            placeholder="Evidence excerpt (a short quote)",
            label_visibility="collapsed",
        )
        share.checkbox("Shareable", key=f"{form}:share:{code}")
        forms.field_errors(form, f"line:{code}")
        lines.append(
            {
                "factor": code,
                "rating": st.session_state.get(f"{form}:rating:{code}"),
                "evidence": st.session_state.get(f"{form}:evidence:{code}") or None,
                "shareable": bool(st.session_state.get(f"{form}:share:{code}")),
                "line": factor.label,
                "field": f"line:{code}",
            }
        )
    no_factors = st.checkbox("No factors were discussed", key=f"{form}:no_factors")
    forms.field_errors(form, "no_factors")
    forms.other_errors(form, ["no_factors", *(f"line:{code}" for code in cited)])
    rows = pd.DataFrame(lines, columns=["factor", "rating", "evidence", "shareable", "line", "field"])
    save, give_up = st.columns([1, 4])
    if save.button("Save my coding", type="primary", icon=":material/save:", key=f"{form}:save"):
        forms.save(
            form,
            lambda: double_coding.save(con, viewer, key, rows, no_factors=no_factors),
            f"Saved your blind coding of {interview['participant_code']} · {interview['wave_label']}",
        )
    if give_up.button("Give up this coding", key=f"{form}:give_up"):
        forms.save(form, lambda: double_coding.give_up(con, viewer, key), "Gave up the second coding")


def code_blind() -> None:
    if not mine.empty:
        chosen = st.selectbox(
            "Your blind codings in progress",
            list(mine.interview_id),
            format_func=lambda i: (
                f"{mine.set_index('interview_id').loc[i].project_code} · "
                + interview_label(mine.set_index("interview_id").loc[i])
            ),
            key="dc:continue",
        )
        blind_form(storage.blind_interview(con, viewer, int(chosen)))
        st.divider()
    st.markdown(
        "**Start a second coding.** Choose an interview someone else coded. You will code it without seeing their"
        " ratings or evidence; both codings are then kept as they are, and the Agreement page compares them."
    )
    project = ui.pick_project("Project", key="dc:project", link=True)
    candidates = ui.read(storage.second_coding_candidates, project)
    coded_by_me = candidates.first_coder.fillna("").str.split(", ").map(lambda names: viewer.username in names)
    candidates = candidates[~coded_by_me]
    if candidates.empty:
        st.info(
            f"No interview of {escape_markdown(project)} is waiting for a second coding: every completed interview"
            " has one already, or you coded it first.",
            icon=":material/done_all:",
        )
        return
    rows = candidates.set_index("interview_id")
    chosen = st.selectbox(
        "Interview",
        list(rows.index),
        format_func=lambda i: interview_label(rows.loc[i]) + f" · coded first by {rows.loc[i].first_coder or '—'}",
        key=f"dc:interview:{project}",
    )
    if st.button("Start blind coding", icon=":material/visibility_off:", key="dc:start"):
        forms.save("dc:start", lambda: double_coding.start(con, viewer, int(chosen)), None)
    forms.other_errors("dc:start", [])


def reconcile() -> None:
    if saved.empty:
        st.info(
            "No interview has two saved codings yet. Once a second coder saves a blind coding, its disagreements"
            " with the first coding are listed here to reconcile.",
            icon=":material/rule:",
        )
        return
    rows = saved.set_index("interview_id")
    open_count = rows.disagreements - rows.reconciled
    options = list(rows.index)
    start = wanted if wanted is not None else int(open_count.idxmax())
    chosen = st.selectbox(
        "Double-coded interview",
        options,
        index=options.index(start),
        format_func=lambda i: (
            f"{rows.loc[i].project_code} · {interview_label(rows.loc[i])} · "
            + (f"{open_count.loc[i]} to reconcile" if open_count.loc[i] else "reconciled")
        ),
        key="dc:reconcile",
    )
    row = rows.loc[chosen]
    pairs = ui.read(storage.coding_pairs, int(chosen))
    st.caption(
        f"First coding by {escape_markdown(str(row.first_coder))}, second (blind) by"
        f" {escape_markdown(str(row.second_coder))}. They agree on {len(pairs) - row.disagreements} of the"
        f" {len(pairs)} factors either cited."
    )
    form = f"consensus:{chosen}"
    open_ones = double_coding.disagreements(pairs)
    if open_ones.empty:
        st.success("The two codings agree on every factor: nothing to reconcile.", icon=":material/done_all:")
    for item in open_ones.itertuples():
        with st.container(border=True):
            st.markdown(f"**{escape_markdown(item.label)}** · {item.kind}")
            first, second = st.columns(2)
            for column, who, rating, evidence in (
                (first, row.first_coder, double_coding.shown_rating(item.rating_1, item.mixed_1), item.evidence_1),
                (second, row.second_coder, double_coding.shown_rating(item.rating_2, item.mixed_2), item.evidence_2),
            ):
                said = "not cited" if rating is None else capture.option_label(rating)
                quote = "" if pd.isna(evidence) else f" · “{escape_markdown(str(evidence))}”"
                column.markdown(f"{escape_markdown(str(who))}: **{said}**{quote}")
            if not pd.isna(item.consensus) or pd.notna(item.decided_by):
                agreed_rating = double_coding.shown_rating(item.consensus, item.consensus_mixed)
                agreed = "not cited" if agreed_rating is None else capture.option_label(agreed_rating)
                st.caption(
                    f"Consensus: {agreed}, by {escape_markdown(str(item.decided_by))} on"
                    f" {item.decided_at:%d %b %Y %H:%M}: {escape_markdown(str(item.reason))}"
                )
            choice, reason = st.columns([1, 3])
            choice.selectbox(
                f"Agreed rating of {escape_markdown(item.label)}",
                double_coding.consensus_options(item.kind, neutral_mixed),
                index=None,
                format_func=lambda o: o if o == double_coding.NOT_CITED else capture.option_label(o),
                key=f"{form}:choice:{item.factor_code}",
                placeholder="Agreed rating",
            )
            reason.text_input(
                f"Why, for {escape_markdown(item.label)}",
                key=f"{form}:reason:{item.factor_code}",
                max_chars=ui.max_chars("reason"),
            )
            forms.field_errors(form, f"consensus:{item.factor_code}")
    if open_ones.empty:
        return
    decisions = {
        code: (st.session_state.get(f"{form}:choice:{code}"), st.session_state.get(f"{form}:reason:{code}"))
        for code in open_ones.factor_code
        if st.session_state.get(f"{form}:choice:{code}") is not None or st.session_state.get(f"{form}:reason:{code}")
    }
    forms.other_errors(form, [f"consensus:{code}" for code in open_ones.factor_code])
    if st.button("Save the consensus", type="primary", icon=":material/handshake:", key=f"{form}:save"):
        forms.save(
            form,
            lambda: double_coding.reconcile(con, viewer, int(chosen), decisions),
            lambda n: f"Recorded the consensus of {n} disagreement{'s' if n != 1 else ''}; it is the rating in force",
        )


if mode == RECONCILE:
    reconcile()
else:
    code_blind()
