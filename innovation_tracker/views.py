"""Finished page content: reads, analysis and figures put together for one page. `ui.view` caches the result
whole until the next write, so a rerun of the page only draws it.

At portfolio scale (thousands of projects) a page must stay readable and light for the browser: figures show the
projects that most need attention, and the full lists are tables that the page shows a screen at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from . import analysis, charts, fieldwork, storage
from .domain import RAG_VALUES, Viewer, label_of

OUTLOOK_SHOWN = 30  # projects in the outlook grid: a taller one cannot be read
BALANCE_SHOWN = 5  # best and worst projects drawn in the net balance chart when there are more than twice this
RISK_ORDER = {value: n for n, value in enumerate(RAG_VALUES)}  # red first


@dataclass(frozen=True)
class Overview:
    completion: go.Figure
    projects: int
    outlook_table: pd.DataFrame
    outlook_figure: go.Figure | None
    outlook_shown: int
    warnings: pd.DataFrame
    balance_figure: go.Figure | None
    balance_shown: int


def chosen_projects(projects: pd.DataFrame, settings: Sequence[str], statuses: Sequence[str]) -> pd.DataFrame:
    chosen = analysis.filter_projects(projects, settings or None, None)
    return chosen[chosen.status.isin(statuses)] if statuses else chosen


def overview(
    con: storage.Connection, viewer: Viewer, today: dt.date, settings: tuple = (), statuses: tuple = ()
) -> Overview:
    """The portfolio overview for the projects in the chosen settings and statuses (all when none is chosen)."""
    waves = storage.list_waves(con)
    projects = storage.project_list(con, viewer)
    codes = chosen_projects(projects, settings, statuses).project_code
    grid = _among(storage.outlook_grid(con, viewer), codes, len(projects))
    balance = storage.wave_balance(con, viewer)
    warnings = analysis.early_warnings(
        overdue=storage.overdue_by_project(con, viewer, today),
        outlook=grid.dropna(subset=["value"])[["project_code", "wave", "value"]],
        balance=balance,
        scored=storage.scored_waves(con, viewer),
        completed_waves=storage.completed_rounds(con, viewer, today),
        waves=waves,
    )
    balance = _among(balance, codes, len(projects))
    shown_grid = most_at_risk(grid, OUTLOOK_SHOWN)
    shown_balance = best_and_worst(balance, BALANCE_SHOWN)
    return Overview(
        completion=charts.completion_chart(storage.completion_by_wave(con, viewer, today)),
        projects=len(codes),
        outlook_table=outlook_table(_among(storage.outlook_table(con, viewer), codes, len(projects)), waves),
        outlook_figure=charts.outlook_grid_chart(shown_grid) if grid["value"].notna().any() else None,
        outlook_shown=shown_grid.project_code.nunique(),
        warnings=_among(warnings, codes, len(projects)).reset_index(drop=True),
        balance_figure=None if balance.empty else charts.net_balance_chart(shown_balance, waves),
        balance_shown=shown_balance.project_code.nunique(),
    )


def _latest(frame: pd.DataFrame, column: str) -> pd.Series:
    """Each project's value of `column` at its latest wave that has one."""
    known = frame.dropna(subset=[column]).sort_values(["project_code", "position"])
    return known.drop_duplicates("project_code", keep="last").set_index("project_code")[column]


def most_at_risk(grid: pd.DataFrame, limit: int) -> pd.DataFrame:
    """The grid's rows for at most `limit` projects: those whose latest outlook is worst (red, amber, green, then
    never scored), by code within each."""
    risk = _latest(grid, "value").map(RISK_ORDER)
    order = pd.DataFrame({"project_code": grid.project_code.unique()})
    order["risk"] = order.project_code.map(risk).fillna(len(RISK_ORDER))
    keep = order.sort_values(["risk", "project_code"]).project_code.head(limit)
    return grid[grid.project_code.isin(keep)]


def best_and_worst(balance: pd.DataFrame, each: int) -> pd.DataFrame:
    """The balance rows of every project when there are few, else of the `each` highest and lowest latest nets."""
    latest = _latest(balance, "net").sort_values(kind="stable")
    if len(latest) <= 2 * each:
        return balance
    keep = set(latest.index[:each]) | set(latest.index[-each:])
    return balance[balance.project_code.isin(keep)]


def outlook_table(table: pd.DataFrame, waves) -> pd.DataFrame:
    """`storage.outlook_table` with its wave columns named by their labels."""
    return table.reset_index(drop=True).rename(columns={w.wave: w.label for w in waves}).fillna("—")


def _among(frame: pd.DataFrame, codes: pd.Series, of: int) -> pd.DataFrame:
    """The rows of the chosen projects; all of them, without looking, when every project is chosen."""
    return frame if len(codes) == of else frame[frame.project_code.isin(codes)]


@dataclass(frozen=True)
class Fieldwork:
    calls: pd.DataFrame  # fieldwork.call_list, plus role_label
    workload: pd.DataFrame  # for all calls; a page narrowed down by interviewer or project computes its own


def fieldwork_calls(con: storage.Connection, viewer: Viewer, today: dt.date) -> Fieldwork:
    calls = fieldwork.call_list(storage.wave_status(con, viewer, today), today)
    calls = calls.assign(role_label=calls.role.map(label_of))
    return Fieldwork(calls, fieldwork.workload(calls))


@dataclass(frozen=True)
class Timeline:
    participants: int
    completed: int
    overdue: int
    schedule_figure: go.Figure | None  # None: nobody enrolled
    heatmap: go.Figure | None  # None: nothing rated
    balance_figure: go.Figure | None
    indicators_figure: go.Figure | None  # None: nothing scored


def timeline(con: storage.Connection, viewer: Viewer, project_code: str, today: dt.date) -> Timeline:
    """The project timeline's figures: building them took most of a rerun of the page."""
    waves, factors = storage.list_waves(con), storage.list_factors(con)
    schedule = storage.project_schedule(con, viewer, project_code, today)
    stats = storage.factor_stats(con, viewer, project_code)
    values = storage.indicator_values(con, viewer, project_code)
    figure = None
    if not schedule.empty:
        figure = charts.timeline_chart(schedule, storage.milestones(con, viewer, project_code), waves, today)
    heatmap = balance = None
    if not stats.empty:
        evidence = storage.evidence(con, viewer, project_code)
        trajectory = analysis.factor_trajectory(stats, factors, waves, project_code)
        heatmap = charts.factor_heatmap(trajectory, evidence[evidence.shareable][["factor_code", "wave", "excerpt"]])
        balance = charts.barriers_facilitators_chart(analysis.net_balance(stats, waves, factors))
    indicators = None
    if not values.empty:
        indicators = charts.indicator_small_multiples(values, storage.list_indicators(con), waves)
    return Timeline(
        participants=schedule.participant_code.nunique(),
        completed=int((schedule.status == "completed").sum()),
        overdue=int((schedule.status == "overdue").sum()),
        schedule_figure=figure,
        heatmap=heatmap,
        balance_figure=balance,
        indicators_figure=indicators,
    )
