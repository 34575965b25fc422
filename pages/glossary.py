"""Glossary: what the dashboard's measures and words mean. Open to every role; chart captions link here."""

import streamlit as st

from innovation_tracker import storage, ui
from innovation_tracker.domain import analysis
from innovation_tracker.ui.text import escape_markdown

ui.page_gate()  # first: a page run without dashboard.py's login goes to the login

st.title("Glossary")
ui.connection()
share = ui.reference(storage.finished_round_share)
waves = ui.reference(storage.list_waves)

st.header("Net balance")
st.markdown(
    "Each factor a participant mentions is rated from **−2** (strong barrier) to **+2** (strong facilitator); "
    "a factor not mentioned has no rating. At a wave, the **facilitator weight** is the sum of the positive ratings "
    "and the **barrier weight** the sum of the negative ones without their sign.\n\n"
    "- **Net balance per interview** = (facilitator weight − barrier weight) ÷ interviews completed at that wave. "
    "Above 0, facilitators outweigh barriers. Dividing by the interviews done lets projects of any size, and rounds "
    "still in progress, be compared.\n"
    "- **Mean rating** = sum of all ratings ÷ number of ratings, from −2 to +2.\n"
    "- **Share citing** a factor = participants who mentioned it ÷ participants interviewed at that wave.\n\n"
    "Sums and counts (projects citing a factor, ratings) are labelled as counts wherever they appear."
)

st.header("Neutral (0) and mixed (X) ratings")
st.markdown(
    "A codebook may declare two more ratings, as the Consolidated Framework for Implementation Research (CFIR 2.0) "
    "does; the Brooks 2011 codebook does not, and a study using it refuses them. Every CFIR construct can help or "
    "hinder (its kind is *either*), so the sign of a rating says which.\n\n"
    "- **0 neutral**: the participant spoke of the factor, but it pulled neither way.\n"
    "- **X mixed**: it pulled both ways about equally.\n\n"
    "How they enter the trajectories: both count as **cited** (share citing, participants citing, projects citing, "
    "what emerged or disappeared) and both count as **0** in every sum and mean. So they add nothing to the "
    "facilitator or barrier weight and to the net balance, count as neither a barrier nor a facilitator, and pull "
    "a factor's mean rating towards 0: a factor rated +2 by one participant and X by another has a mean of +1. The "
    "heat map's 0 therefore means *neutral or mixed on balance*. Tables of excerpts and exports keep the X "
    "(exports: rating 0 with `mixed` true; an import also takes X in the rating column). For agreement between "
    "two coders, X is a rating of its own: two coders agree only if both gave X; on Krippendorff's ordinal scale "
    "0 lies between −1 and +1 and X, which is no point on that scale, counts as missing."
)
if ui.reference(storage.neutral_mixed):
    st.caption("This study's codebook uses them.")

st.header("Outlook")
st.markdown(
    "The evaluator's overall judgement of the project's sustainability after each round:\n\n"
    "- **Green**: likely to be sustained beyond the grant;\n"
    "- **Amber**: at risk; some conditions for sustaining it are missing;\n"
    "- **Red**: unlikely to be sustained without a change.\n\n"
    "The outlook is written in words beside its colour everywhere, so colour is never the only cue. Its "
    "**change** since the round before is *better*, *same*, *worse*, or *first score*."
)

st.header("What changed: the change classes")
st.markdown(
    "Comparing a factor's mean rating at two waves:\n\n"
    + "\n".join(f"- **{name.capitalize()}**: {meaning}" for name, meaning in analysis.CHANGE_CLASSES.items())
)

st.header("Windows and due dates")
schedule = "; ".join(
    f"{escape_markdown(w.label)}: {w.offset_days} days after baseline,"
    f" window −{w.window_before_days}/+{w.window_after_days} days"
    for w in waves
)
st.markdown(
    "Each participant is followed from their own baseline interview. A follow-up's **due date** is the baseline "
    "date plus the wave's offset (from the enrolment date until the baseline has happened); its **window** runs "
    "from some days before to some days after the due date, and never past the study's end. A follow-up is "
    "**upcoming** before its window opens, **due** while it is open, **overdue** once it has closed without an "
    "interview, and **missed** when the call was made but no interview took place."
    + (f"\n\nThis study's schedule: {schedule}." if waves else "")
)

st.header("Finished rounds")
st.markdown(
    f"A round is everyone's interview at one wave. It counts as **finished** when its window has closed for every "
    f"participant, or when at least **{share:.0%}** of its interviews are done (a study setting). Comparisons — "
    "Compare projects, what changed, citation counts, reports, early warnings, status now — use the latest finished "
    "round unless you choose another; a round chosen before it has finished is marked **in progress**, because "
    "factors not yet mentioned by those still to be interviewed would look as if they had disappeared. Every wave "
    "says how complete it is: interviews done of those expected."
)

st.header("De-identification")
st.markdown(
    "Funders and project teams never see participant codes or names: participants appear as their project and "
    'role ("ARTS · Service user B"). They see no interview summaries, and only the evidence excerpts the evaluator '
    "marked **shareable**. A project team sees only its own project. Reports follow the same rules whoever takes "
    "them out, because reports travel."
)

st.header("Double coding and agreement")
st.markdown(
    "To show that its coding can be trusted, a team codes a share of the interviews twice. A second evaluator codes "
    "the interview again **blind**: the form shows the interview and the codebook, never the first coding, and from "
    "the moment they start, the app hides that interview's first coding from them everywhere until theirs is saved. "
    "Both codings are then kept exactly as they were.\n\n"
    "A **unit** is one factor of the codebook in one double-coded interview. On the Agreement page, per factor, per "
    "project and overall, each with its n:\n\n"
    "- **Percent agreement**: the share of units on which the two codings agree: both left the factor out, or both "
    "cited it with the same rating.\n"
    "- **Cohen's kappa (cited)**: agreement on *whether* the factor was cited, corrected for the agreement the two "
    "coders' own citing rates would give by chance: 1 is perfect, 0 no better than chance.\n"
    "- **Krippendorff's alpha (rating)**, ordinal: agreement on the ratings (−2 … +2, in order) over the units both "
    "coders rated. 1 is perfect; 0.8 or more is usually taken as reliable, 0.667 as the least for tentative "
    "conclusions.\n\n"
    "With a codebook that has X (mixed), X is a rating of its own: X against X agrees, X against 0 is a "
    "disagreement, and X counts as cited for kappa. X is no point on alpha's −2 … +2 scale, so alpha (and its n) "
    "leaves out every unit where either coder rated X.\n\n"
    "A figure shows — when every unit fell in one category, so that chance alone would agree.\n\n"
    "**Reconciliation**: the coders (or an evaluator) settle each **disagreement** (a factor cited by one coding "
    "only, or rated differently) with an agreed rating, or *not cited*, and a reason. Who, when and why are "
    "recorded and audited. Until then the first coding is the rating in force; the **consensus** then replaces it "
    "in the trajectories, the matrix, search and exports, while the agreement figures keep comparing the two "
    "original codings."
)
