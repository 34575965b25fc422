"""Portfolio overview: where every project and every follow-up stands today."""

import streamlit as st

from innovation_tracker import analysis, charts, storage, ui

WARNING_ICONS = {
    "overdue": ":material/schedule:",
    "outlook_worsened": ":material/trending_down:",
    "balance_worsened": ":material/balance:",
    "missing_scores": ":material/rule:",
}

st.title("Portfolio overview")
con = ui.connection()
ui.demo_banner(con)
study = storage.get_study(con)
if study is None:
    st.warning(
        "This database holds no study yet. Create one with `python -m innovation_tracker init --db PATH`, "
        "or start with the demo: `python -m innovation_tracker demo --db PATH`."
    )
    st.stop()

today = ui.today()
st.caption(f"{study.name} · {study.start_date:%d %b %Y} to {study.end_date:%d %b %Y} · figures as of {today:%d %b %Y}")
counts = ui.read(storage.headline_counts, today)
if counts["projects"] == 0:
    st.info("No projects yet. Add projects and enrol participants, or import them from the tidy CSV template.")
    st.stop()

projects, people, interviews, alerts = st.columns(4)
projects.metric("Projects", counts["projects"])
people.metric(
    "Participants", counts["participants"], help=f"{counts['withdrawn']} withdrawn" if counts["withdrawn"] else None
)
done, scheduled = counts["interviews_done"], counts["interviews_scheduled"]
interviews.metric(
    "Interviews done / scheduled so far",
    f"{done} / {scheduled}",
    help="Completed interviews, against every wave whose due date has passed (withdrawals excluded).",
)
alerts.metric("Follow-ups overdue", counts["overdue"], help=f"{counts['due']} more are due now, within their window.")

st.plotly_chart(charts.completion_chart(ui.read(storage.completion_by_wave, today)), width="stretch")
waves = storage.list_waves(con)
factors = storage.list_factors(con)
grid = ui.read(storage.outlook_grid)
if grid["value"].notna().any():
    st.plotly_chart(charts.outlook_grid_chart(grid), width="stretch")
else:
    st.info("No sustainability outlook has been scored yet. Scores appear here wave by wave once entered.")

st.header("Early warnings")
balance = analysis.net_balance(ui.read(storage.factor_stats), waves, factors)
warnings = analysis.early_warnings(
    overdue=ui.read(storage.overdue_by_project, today),
    outlook=grid.dropna(subset=["value"])[["project_code", "wave", "value"]],
    balance=balance,
    scored=ui.read(storage.scored_waves),
    completed_waves=ui.read(storage.completed_rounds, today),
    waves=waves,
)
if warnings.empty:
    st.success("No warnings: nothing is overdue, no project's outlook or balance fell, every finished wave is scored.")
for warning in warnings.itertuples():
    st.page_link(
        "pages/timeline.py",
        label=f"**{warning.project_code}** · {warning.message}",
        icon=WARNING_ICONS.get(warning.kind, ":material/warning:"),
        query_params={"project": warning.project_code},
    )

st.header("Net balance of factors over the waves")
if balance.empty:
    st.info("No factor ratings yet.")
else:
    st.plotly_chart(charts.net_balance_chart(balance), width="stretch")
    st.caption("Sum of facilitator ratings minus the weight of barrier ratings, per project and wave.")
