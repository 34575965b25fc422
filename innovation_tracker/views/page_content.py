"""Finished page content: reads, analysis and figures put together for one page. `ui.shared` keeps the result
whole until the next write, so a rerun of the page only draws it.

At portfolio scale (thousands of projects) a page must stay readable and light for the browser: figures show the
projects that most need attention, and the full lists are tables that the page shows a screen at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pandas as pd
import plotly.graph_objects as go

from innovation_tracker import storage
from innovation_tracker.app import capture, service
from innovation_tracker.domain import analysis, display
from innovation_tracker.domain.model import RAG_VALUES, InterviewStatus, Viewer, Wave, label_of
from innovation_tracker.formats import fieldwork, redcap, tidy
from innovation_tracker.views import charts

OUTLOOK_SHOWN = 30  # projects in the outlook grid: a taller one cannot be read
BALANCE_SHOWN = 8  # best and worst projects drawn in the net balance chart when there are more than twice this
RISK_ORDER = {value: n for n, value in enumerate(RAG_VALUES)}  # red first


@dataclass(frozen=True)
class Overview:
    headline: dict[str, int]  # analysis.headline, for all projects whatever the filters
    completion: go.Figure
    completion_text: str  # the chart's text alternative
    progress: pd.DataFrame  # analysis.round_progress of the portfolio
    latest_finished: str | None  # the wave of the latest finished round
    projects: int
    outlook_figure: go.Figure | None
    outlook_shown: int
    outlook_text: str
    warnings: pd.DataFrame
    balance_figure: go.Figure | None
    balance_shown: int  # projects drawn in the balance chart
    balance_missing: tuple[str, ...]  # chosen projects with no rating at any wave: not drawn, listed by name
    balance_text: str


def chosen_projects(projects: pd.DataFrame, settings: Sequence[str], statuses: Sequence[str]) -> pd.DataFrame:
    chosen = analysis.filter_projects(projects, settings or None, None)
    return chosen[chosen.status.isin(statuses)] if statuses else chosen


def _portfolio_reads(con: storage.Connection, viewer: Viewer, today: dt.date) -> dict[str, Any]:
    return storage.together(
        con,
        projects=lambda c: storage.project_list(c, viewer),
        rounds=lambda c: storage.round_counts(c, viewer, today),  # the schedule, computed once for all that follows
        grid=lambda c: storage.outlook_grid(c, viewer),
        balance=lambda c: storage.wave_balance(c, viewer),
        scored=lambda c: storage.scored_waves(c, viewer),
        table=lambda c: storage.outlook_table(c, viewer),
        people=lambda c: storage.people_counts(c, viewer),
    )


@storage.kept
def _portfolio_state(con: storage.Connection, viewer: Viewer, today: dt.date) -> dict[str, Any]:
    """The portfolio reads and what the overview and its status table both derive from them (the balance per
    interview, the round progress, the early warnings): derived once per data version, not once by each."""
    threshold = storage.finished_round_share(con)
    read = _portfolio_reads(con, viewer, today)
    return {
        **read,
        "waves": storage.list_waves(con),
        "per_interview": balance_per_interview(con, viewer, today),
        "progress": analysis.round_progress(read["rounds"], threshold),
        "warnings": early_warnings(con, viewer, today),
    }


def _of_projects(frame: pd.DataFrame, only: tuple[str, ...] | None) -> pd.DataFrame:
    return frame if only is None else frame[frame.project_code.isin(only)]


@storage.kept_by_project(order=("project_code", "position"))
def balance_per_interview(
    con: storage.Connection, viewer: Viewer, today: dt.date, only: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """`analysis.per_interview` of every project (or those `only` names): derived per project, so after a write
    only the projects written are derived again."""
    read = _portfolio_reads(con, viewer, today)
    rounds = _of_projects(read["rounds"], only)
    return analysis.per_interview(_of_projects(read["balance"], only), analysis.interviews_done(rounds))


@storage.kept_by_project(order=("project_code", "position"))
def progress_by_project(
    con: storage.Connection, viewer: Viewer, today: dt.date, only: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """`analysis.round_progress(by_project=True)` of every project (or those `only` names): after a write only the
    projects written are counted again (over the whole portfolio it took 40 ms after every save at S = 1000)."""
    rounds = _of_projects(_portfolio_reads(con, viewer, today)["rounds"], only)
    return analysis.round_progress(rounds, storage.finished_round_share(con), by_project=True)


@storage.kept_by_project(order=("project_code",))
def early_warnings(
    con: storage.Connection, viewer: Viewer, today: dt.date, only: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """The early warnings of every project (or those `only` names), each project's from its own rounds, outlook,
    balance and scores: after a write only the projects written are checked again (a third of a second at
    S = 1000 for them all)."""
    read = {name: _of_projects(read, only) for name, read in _portfolio_reads(con, viewer, today).items()
            if name in ("rounds", "grid", "scored")}  # fmt: skip
    balance = _of_projects(balance_per_interview(con, viewer, today), only)
    progress = _of_projects(progress_by_project(con, viewer, today), only)
    return _warnings_of(read, balance, storage.list_waves(con), analysis.finished_of(progress))


def _warnings_of(read: dict, balance: pd.DataFrame, waves, finished: pd.DataFrame) -> pd.DataFrame:
    rounds, grid = read["rounds"], read["grid"]
    return analysis.early_warnings(
        overdue=analysis.overdue_per_project(rounds),
        outlook=grid.dropna(subset=["value"])[["project_code", "wave", "value"]],
        balance=balance,
        scored=read["scored"],
        completed_waves=finished,
        waves=waves,
    )


def name_list(codes: Sequence[str], limit: int = 12) -> str:
    codes = list(codes)
    more = f" and {len(codes) - limit:,} more" if len(codes) > limit else ""
    return ", ".join(codes[:limit]) + more


def overview(
    con: storage.Connection, viewer: Viewer, today: dt.date, settings: tuple = (), statuses: tuple = ()
) -> Overview:
    """The portfolio overview for the projects in the chosen settings and statuses (all when none is chosen)."""
    read = _portfolio_state(con, viewer, today)
    waves, projects, rounds, progress = read["waves"], read["projects"], read["rounds"], read["progress"]
    codes = chosen_projects(projects, settings, statuses).project_code
    grid = _among(read["grid"], codes, len(projects))
    warnings = _among(read["warnings"], codes, len(projects)).reset_index(drop=True)
    balance = _among(read["per_interview"], codes, len(projects))
    # each project's latest outlook and balance, found once for the chart's choice and the sentence under it
    latest_outlook, latest_balance = _latest(grid, "value"), _latest(balance, "net_per_interview")
    shown_grid = most_at_risk(grid, OUTLOOK_SHOWN, latest_outlook)
    shown_balance = best_and_worst(balance, BALANCE_SHOWN, latest_balance)
    by_wave = analysis.completion_per_wave(rounds)
    # as lists: iterating Arrow-backed columns boxes each of 66,000 values (40 ms after every save at S = 1000)
    missing = tuple(sorted(set(codes.tolist()) - set(balance.project_code.unique().tolist())))
    return Overview(
        headline=analysis.headline(rounds, read["people"]),
        completion=charts.drawn(charts.completion_chart, by_wave, progress),
        completion_text=completion_text(progress),
        progress=progress,
        latest_finished=analysis.latest_finished(progress),
        projects=len(codes),
        outlook_figure=charts.drawn(charts.outlook_grid_chart, shown_grid) if grid["value"].notna().any() else None,
        outlook_shown=shown_grid.project_code.nunique(),
        outlook_text=outlook_text(grid, waves, latest_outlook),
        warnings=warnings,
        balance_figure=None
        if balance.empty
        else charts.drawn(charts.net_balance_chart, shown_balance, waves, progress),
        balance_shown=shown_balance.project_code.nunique(),
        balance_missing=missing,
        balance_text=balance_text(balance, waves, latest_balance),
    )


@dataclass(frozen=True)
class OverviewTables:
    """The overview's full tables, each behind an expander: built when one is opened, not with every overview (at
    S = 1000 they took 60 ms of each rerun after a save)."""

    outlook: pd.DataFrame  # every chosen project's outlook at each wave
    warnings: pd.DataFrame  # every warning, as the page's table shows them
    balance: pd.DataFrame  # the data behind the balance chart


def overview_tables(
    con: storage.Connection, viewer: Viewer, today: dt.date, settings: tuple = (), statuses: tuple = ()
) -> OverviewTables:
    read = _portfolio_state(con, viewer, today)
    projects, waves = read["projects"], read["waves"]
    codes = chosen_projects(projects, settings, statuses).project_code
    warnings = _among(read["warnings"], codes, len(projects))
    kinds = {kind: label_of(kind) for kind in warnings.kind.unique()}
    return OverviewTables(
        outlook=outlook_table(_among(read["table"], codes, len(projects)), waves),
        warnings=warnings.assign(kind=warnings.kind.map(kinds))[["project_code", "kind", "message"]].reset_index(
            drop=True
        ),
        balance=balance_table(_among(read["per_interview"], codes, len(projects)), waves),
    )


def completion_text(progress: pd.DataFrame) -> str:
    """The completion chart in one sentence per wave."""
    if progress.empty:
        return "No participant is enrolled yet."
    parts = [
        f"{row.wave_label}: {analysis.progress_text(int(row.done), int(row.expected), bool(row.finished))}"
        for row in progress.itertuples()
    ]
    return "Interviews done of those expected, per wave: " + "; ".join(parts) + "."


def outlook_text(grid: pd.DataFrame, waves, latest: pd.Series) -> str:
    """The outlook grid in one sentence: how many projects are red, amber and green at their latest scored wave
    (`latest`: `_latest(grid, "value")`)."""
    if latest.empty:
        return "No outlook scored yet."
    counts = latest.value_counts()
    parts = [f"{int(counts.get(v, 0))} {v}" for v in RAG_VALUES]
    unscored = grid.project_code.nunique() - len(latest)
    tail = f"; {unscored} never scored" if unscored else ""
    return f"Latest outlook of each project: {', '.join(parts)}{tail}."


def balance_table(balance: pd.DataFrame, waves) -> pd.DataFrame:
    """The data behind the net balance chart: a row per project, the net balance per interview at each wave."""
    if balance.empty:
        return pd.DataFrame(columns=["Project"])
    wide = balance.pivot_table(index="project_code", columns="wave", values="net_per_interview", aggfunc="first")
    wide = wide.reindex(columns=[w.wave for w in waves if w.wave in wide.columns])
    out = wide.apply(display.signed_column).reset_index()
    return out.rename(columns={"project_code": "Project", **{w.wave: w.label for w in waves}})


def balance_text(balance: pd.DataFrame, waves, latest: pd.Series) -> str:
    """The balance chart in one sentence (`latest`: `_latest(balance, "net_per_interview")`)."""
    if balance.empty:
        return "No factor ratings yet."
    if latest.empty:
        return "No completed interview has ratings yet."
    above = int((latest.round(1) > 0).sum())
    return (
        f"At their latest rated wave, {above} of {len(latest)} projects have more facilitator than barrier weight "
        f"per interview; the highest is {latest.idxmax()} ({display.signed(latest.max())}), the lowest "
        f"{latest.idxmin()} ({display.signed(latest.min())})."
    )


@dataclass(frozen=True)
class StatusNow:
    """The funders' "status now" table at one round (`analysis.status_now`)."""

    wave: str | None  # None: no round to report on yet
    wave_label: str
    finished: bool
    progress: str  # "35 of 64 done · in progress"
    frame: pd.DataFrame  # analysis.status_now
    table: pd.DataFrame  # as the page and the funder report show it


STATUS_HEADERS = {
    "risk": "Risk rank",
    "project": "Project",
    "round_done": "Interviews done",
    "outlook": "Outlook",
    "outlook_change": "Outlook change",
    "net_per_interview": "Net balance per interview",
    "net_change": "Change in net balance",
    "overdue": "Follow-ups overdue",
    "warnings": "Open early warnings",
}


_OUTLOOK_WORDS = {value: value.capitalize() for value in RAG_VALUES}
_CHANGE_WORDS = {change: change.capitalize() for change in analysis.OUTLOOK_CHANGES if change != "not scored"}


def status_display(frame: pd.DataFrame) -> pd.DataFrame:
    """`analysis.status_now` as people read it: "CODE · name", outlook words, signed numbers, "—" for nothing."""
    out = frame.assign(
        project=frame.project_code + " · " + frame.name.astype(str),
        # each distinct value once: a portfolio's table has 11,000 rows and a handful of words
        outlook=frame.outlook.map(_OUTLOOK_WORDS).fillna(display.EMPTY).astype(str),
        outlook_change=frame.outlook_change.map(_CHANGE_WORDS).fillna(display.EMPTY).astype(str),
        net_per_interview=display.signed_column(frame.net_per_interview),
        net_change=display.signed_column(frame.net_change),
    )
    return out[list(STATUS_HEADERS)].rename(columns=STATUS_HEADERS)


def status_now(
    con: storage.Connection,
    viewer: Viewer,
    today: dt.date,
    wave: str | None = None,
    settings: tuple = (),
    statuses: tuple = (),
) -> StatusNow:
    """Every chosen project's status at round `wave`, by default the latest finished round, most at risk first."""
    read = _portfolio_state(con, viewer, today)
    waves, progress = read["waves"], read["progress"]
    wave = wave or analysis.latest_finished(progress)
    labels = {w.wave: w.label for w in waves}
    if wave is None or wave not in labels:
        empty = pd.DataFrame(columns=analysis.STATUS_COLUMNS)
        return StatusNow(None, "", False, "", empty, status_display(empty))
    codes = chosen_projects(read["projects"], settings, statuses).project_code
    frame = analysis.by_risk(_among(status_by_project(con, viewer, today, wave), codes, len(read["projects"])))
    row = progress[progress.wave == wave]
    finished = bool(row.finished.iloc[0]) if len(row) else False
    text = analysis.progress_text(int(row.done.iloc[0]), int(row.expected.iloc[0]), finished) if len(row) else ""
    return StatusNow(wave, labels[wave], finished, text, frame, status_display(frame))


@storage.kept_by_project(order=("project_code",))
def status_by_project(
    con: storage.Connection, viewer: Viewer, today: dt.date, wave: str, only: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """`analysis.status_rows` at round `wave` of every project (or those `only` names), in code order: after a
    write only the projects written are derived again (for the whole portfolio it took 0.12 s after every save at
    S = 1000)."""
    read = _portfolio_reads(con, viewer, today)
    return analysis.status_rows(
        _of_projects(read["projects"], only),
        _of_projects(read["grid"], only)[["project_code", "wave", "value"]],
        _of_projects(balance_per_interview(con, viewer, today), only),
        _of_projects(progress_by_project(con, viewer, today), only),
        analysis.overdue_per_project(_of_projects(read["rounds"], only)),
        _of_projects(early_warnings(con, viewer, today), only),
        storage.list_waves(con),
        wave,
    )


def _latest(frame: pd.DataFrame, column: str) -> pd.Series:
    """Each project's value of `column` at its latest wave that has one."""
    known = frame.dropna(subset=[column]).sort_values(["project_code", "position"])
    return known.drop_duplicates("project_code", keep="last").set_index("project_code")[column]


def most_at_risk(grid: pd.DataFrame, limit: int, latest: pd.Series) -> pd.DataFrame:
    """The grid's rows for at most `limit` projects: those whose latest outlook (`latest`: `_latest(grid, "value")`)
    is worst (red, amber, green, then never scored), by code within each."""
    risk = latest.map(RISK_ORDER)
    order = pd.DataFrame({"project_code": grid.project_code.unique()})
    order["risk"] = order.project_code.map(risk).fillna(len(RISK_ORDER))
    keep = order.sort_values(["risk", "project_code"]).project_code.head(limit)
    return grid[grid.project_code.isin(keep)]


def best_and_worst(balance: pd.DataFrame, each: int, latest: pd.Series) -> pd.DataFrame:
    """The balance rows of every project when there are few, else of the `each` highest and lowest latest nets
    (`latest`: `_latest(balance, "net_per_interview")`)."""
    latest = latest.sort_values(kind="stable")
    if len(latest) <= 2 * each:
        return balance
    keep = set(latest.index[:each]) | set(latest.index[-each:])
    return balance[balance.project_code.isin(keep)]


def outlook_table(table: pd.DataFrame, waves) -> pd.DataFrame:
    """`storage.outlook_table` with its wave columns named by their labels."""
    out = table.reset_index(drop=True).rename(columns={w.wave: w.label for w in waves}).fillna("—")
    return display.readable(out)


def _among(frame: pd.DataFrame, codes: pd.Series, of: int) -> pd.DataFrame:
    """The rows of the chosen projects; all of them, without looking, when every project is chosen."""
    return frame if len(codes) == of else frame[frame.project_code.isin(codes)]


@dataclass(frozen=True)
class Choices:
    """What a picker offers (projects, participants), in code order, each with its label."""

    codes: tuple[str, ...]
    labels: dict[str, str]
    positions: dict[str, int] = field(init=False, repr=False)
    # The label of a code: a selectbox calls it once per option on every rerun, 11,000 times at portfolio scale,
    # so it is the dictionary's own lookup rather than a Python function.
    label: Callable[[str], str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "positions", {code: n for n, code in enumerate(self.codes)})
        object.__setattr__(self, "label", self.labels.__getitem__)

    def position(self, code: str | None) -> int:
        """Where `code` is among the choices (a deep link's project), else 0: the first project."""
        return 0 if code is None else self.positions.get(code, 0)


def project_choices(con: storage.Connection, viewer: Viewer) -> Choices:
    """The projects the viewer sees, each labelled "CODE · name"."""
    projects = storage.project_list(con, viewer)
    codes = tuple(projects.project_code.tolist())
    names = projects.name.tolist()
    return Choices(codes, {code: f"{code} · {name}" for code, name in zip(codes, names, strict=True)})


PICKER_LIMIT = 400  # projects offered in one picker; with more, the page first asks for part of a code or name


def matching_projects(con: storage.Connection, viewer: Viewer, text: str) -> tuple[tuple[str, ...], int]:
    """The first PICKER_LIMIT projects whose "CODE · name" contains `text` (any case), and how many match."""
    choices = project_choices(con, viewer)
    wanted = text.casefold()
    found = [code for code in choices.codes if wanted in choices.labels[code].casefold()]
    return tuple(found[:PICKER_LIMIT]), len(found)


def participant_choices(con: storage.Connection, viewer: Viewer, project_code: str) -> Choices:
    """A project's participants, each labelled "CODE · Role"."""
    people = storage.list_participants(con, viewer, project_code)
    codes = tuple(people.participant_code.tolist())
    roles = people.role.tolist()
    return Choices(codes, {code: f"{code} · {label_of(role)}" for code, role in zip(codes, roles, strict=True)})


@dataclass(frozen=True)
class ParticipantPlan:
    """One participant's waves as the interview log offers them."""

    schedule: pd.DataFrame  # storage.project_schedule's rows for the participant, indexed by wave
    proposed: str | None  # capture.proposed_wave: the wave to log next
    labels: dict[str, str]  # every wave: "<label> · <status>", and "(next due)" on the proposed one


def participant_plan(
    con: storage.Connection, viewer: Viewer, project_code: str, participant_code: str, today: dt.date
) -> ParticipantPlan:
    plan = storage.project_schedule(con, viewer, project_code, today)
    plan = plan[plan.participant_code == participant_code]
    proposed = capture.proposed_wave(plan)
    status = dict(zip(plan.wave, plan.status, strict=True))
    labels = {
        w.wave: f"{w.label} · {status.get(w.wave, 'outside the study')}" + (" (next due)" if w.wave == proposed else "")
        for w in storage.list_waves(con)
    }
    return ParticipantPlan(plan.set_index("wave"), proposed, labels)


@dataclass(frozen=True)
class CodingSetup:
    """What the interview form of one participant at one wave starts from: kept per data version, so a click in the
    form (a rating, a group opened) redraws it without filtering the project's ratings again."""

    existing: pd.Series | None  # the interview already logged at this wave (storage.project_interviews), if any
    stored: pd.DataFrame  # its ratings (storage.project_ratings)
    offered: tuple  # the factors offered for coding: not retired, or retired but rated here
    last_wave: str | None  # the label of the participant's last rated wave before this one
    carried: tuple  # capture.Carried: what they cited then, in codebook order
    started: dict[str, Any]  # each field's starting value (`forms.defaults`), marks and evidence included
    snapshot: dict[str, str] | None  # the stored interview in words (what a save after someone else's compares)


def coding_setup(
    con: storage.Connection, viewer: Viewer, project_code: str, participant_code: str, wave: str, today: dt.date
) -> CodingSetup:
    interviews = storage.project_interviews(con, viewer, project_code)
    mine = interviews[interviews.participant_code == participant_code]
    found = mine[mine.wave == wave]
    existing = found.iloc[0] if len(found) else None
    ratings = storage.project_ratings(con, viewer, project_code)
    stored = ratings[ratings.interview_id == existing.interview_id] if existing is not None else ratings.iloc[0:0]
    # A retired factor is not offered for new coding; one this interview already rates stays, so nothing is lost.
    rated = set(stored.factor_code)
    offered = tuple(f for f in storage.list_factors(con) if not f.retired or f.factor_code in rated)
    waves = storage.list_waves(con)
    last_wave, last = capture.previous_ratings(ratings, participant_code, wave, [w.wave for w in waves])
    carried = tuple(capture.carried_forward(last, list(offered)))
    if existing is None:
        study = storage.get_study(con)
        default_mode = next(w.default_mode.value for w in waves if w.wave == wave)
        started = {
            "interview_date": today if study is None else min(today, study.end_date),
            "mode": default_mode,
            "status": InterviewStatus.COMPLETED.value,
            "interviewer": capture.proposed_interviewer(mine) or viewer.username,
            "duration_min": None,
            "summary": "",
            "no_factors": False,
        }
        return CodingSetup(None, stored, offered, last_wave, carried, started, None)
    started = {
        "interview_date": existing.interview_date.date(),
        "mode": existing["mode"],
        "status": existing.status,
        "interviewer": existing.interviewer if pd.notna(existing.interviewer) else "",
        "duration_min": int(existing.duration_min) if pd.notna(existing.duration_min) else None,
        "summary": existing.summary if pd.notna(existing.summary) else "",
        "no_factors": existing.status == InterviewStatus.COMPLETED and stored.empty,
    }
    started |= {f"mark:{code}": mark for code, mark in capture.marks_of(stored, list(carried)).items()}
    for code, evidence, shareable in zip(stored.factor_code, stored.evidence, stored.shareable, strict=True):
        started[f"evidence:{code}"] = "" if pd.isna(evidence) else evidence
        started[f"share:{code}"] = bool(shareable)
    snapshot = capture.interview_snapshot(existing.to_dict(), stored)
    return CodingSetup(existing, stored, offered, last_wave, carried, started, snapshot)


def project_caption(con: storage.Connection, viewer: Viewer, project_code: str) -> str:
    """One line on a project: its setting, host, relation to statutory services and status (plain text)."""
    projects = storage.project_list(con, viewer)
    project = projects[projects.project_code == project_code].iloc[0]
    return (
        f"{label_of(project.setting)} · host: {display.text_or(project.host_organisation, 'not recorded')} · "
        f"{label_of(project.relation_to_statutory)} to statutory services · status: {label_of(project.status)}"
    )


def wave_changes_table(
    con: storage.Connection, viewer: Viewer, project_code: str, wave_a: str, wave_b: str
) -> pd.DataFrame:
    """How each factor's mean rating moved between two waves of one project (`analysis.wave_changes`), as the
    timeline's table shows it: the change and the kind in words."""
    stats = storage.factor_stats(con, viewer, project_code)
    changes = analysis.wave_changes(stats, storage.list_factors(con), project_code, wave_a, wave_b)
    return changes[["change", "label", "kind", "mean_a", "mean_b", "delta", "n_a", "n_b"]].assign(
        change=changes.change.str.capitalize(), kind=display.labels(changes.kind)
    )


def evidence_table(con: storage.Connection, viewer: Viewer, project_code: str) -> pd.DataFrame:
    """A project's excerpts (`storage.evidence`) as the timeline's table shows them, each rating as "+2" or "X" and
    "—" for an excerpt not recorded (or not shared)."""
    evidence = storage.evidence(con, viewer, project_code)
    return evidence.assign(rating=display.ratings(evidence), excerpt=evidence.excerpt.fillna(display.EMPTY))


def redcap_files(con: storage.Connection, viewer: Viewer) -> tuple[bytes, pd.DataFrame]:
    """The REDCap project files as one zip, and the columns of the data dictionary the page shows."""
    files = service.redcap_project(con, viewer)
    archive = tidy.zip_files({f"{name}.csv": data for name, data in redcap.csv_files(files).items()})
    return archive, files["data_dictionary"].iloc[:, [0, 1, 3, 4]]


Link = tuple[str, tuple[tuple[str, str], ...]]  # a label, and the query parameters of the page that fixes it


@dataclass(frozen=True)
class Quality:
    """The data-quality checks, each as the links the page shows: what to fix, and where."""

    unrated: tuple[Link, ...]  # completed interviews with no ratings
    unscored: tuple[Link, ...]  # finished rounds without sustainability scores
    outside: tuple[Link, ...]  # interviews outside their window
    lost: tuple[Link, ...]  # participants who missed two or more waves in a row


def quality(con: storage.Connection, viewer: Viewer, today: dt.date) -> Quality:
    read = storage.together(
        con,
        checks=lambda c: storage.schedule_checks(c, viewer, today),
        unrated=lambda c: storage.interviews_without_ratings(c, viewer),
    )
    checks = read["checks"]

    def links(frame: pd.DataFrame, label, params) -> tuple[Link, ...]:
        return tuple((label(r), tuple(params(r).items())) for r in frame.itertuples())

    def late(days: int) -> str:
        count = abs(days)
        return f"{count} day{'' if count == 1 else 's'} {'early' if days < 0 else 'late'}"

    return Quality(
        unrated=links(
            read["unrated"],
            lambda r: (
                f"{r.project_code} · {r.participant_code} · {r.wave_label} of {r.interview_date:%d %b %Y}: code it"
            ),
            lambda r: {"project": r.project_code, "participant": r.participant_code, "wave": r.wave},
        ),
        unscored=links(
            checks["waves_without_sustainability"],
            lambda r: (
                f"{r.project_code} · {r.wave_label} (round closed {r.round_closed:%d %b %Y}): "
                f"{r.missing} of {r.indicators} indicators unscored"
            ),
            lambda r: {"project": r.project_code, "wave": r.wave},
        ),
        outside=links(
            checks["out_of_window_interviews"],
            lambda r: (
                f"{r.project_code} · {r.participant_code} · {r.wave_label} on {r.interview_date:%d %b %Y}: "
                + late(r.days_outside)
            ),
            lambda r: {"project": r.project_code, "participant": r.participant_code, "wave": r.wave},
        ),
        lost=links(
            checks["lost_to_follow_up"],
            lambda r: f"{r.project_code} · {r.participant_code}: {r.consecutive} in a row ({r.waves})",
            lambda r: {"project": r.project_code, "participant": r.participant_code},
        ),
    )


@dataclass(frozen=True)
class Fieldwork:
    calls: pd.DataFrame  # fieldwork.call_list, plus role_label
    workload: pd.DataFrame
    by_category: dict[str, pd.DataFrame]  # the calls of each of fieldwork.CATEGORIES
    interviewers: tuple[str, ...]  # everyone with a call, to narrow the page down by
    projects: tuple[str, ...]


def fieldwork_calls(con: storage.Connection, viewer: Viewer, today: dt.date) -> Fieldwork:
    calls = fieldwork.call_list(storage.call_candidates(con, viewer, today, fieldwork.HORIZON_DAYS), today)
    roles = {role: label_of(role) for role in calls.role.unique()}
    calls = fieldwork.with_contacts(calls, storage.contact_details(con, viewer))  # none for funders and teams
    return fieldwork_of(calls.assign(role_label=calls.role.map(roles)))


def fieldwork_of(calls: pd.DataFrame) -> Fieldwork:
    """The fieldwork page's content for `calls` (all of them, or those of some interviewers or projects)."""
    return Fieldwork(
        calls=calls,
        workload=fieldwork.workload(calls),
        by_category={category: calls[calls.category == category] for category in fieldwork.CATEGORIES},
        interviewers=tuple(sorted(calls.interviewer.unique())),
        projects=tuple(sorted(calls.project_code.unique())),
    )


@dataclass(frozen=True)
class Timeline:
    participants: int
    completed: int
    overdue: int
    schedule_figure: go.Figure | None  # None: nobody enrolled
    heatmap: go.Figure | None  # None: nothing rated
    balance_figure: go.Figure | None
    indicators_figure: go.Figure | None  # None: nothing scored
    rated_waves: frozenset[str]  # waves with at least one rating
    finished_waves: frozenset[str]  # waves whose round of interviews is finished for this project
    schedule_text: str = ""  # text alternatives of the figures
    heatmap_text: str = ""
    balance_text: str = ""
    balance_table: pd.DataFrame | None = None  # the data behind the balance chart
    indicators_text: str = ""


def timeline(con: storage.Connection, viewer: Viewer, project_code: str, today: dt.date) -> Timeline:
    """The project timeline's figures: building them took most of a rerun of the page, and after a save most of
    its rerun, so each is made again only when its data changed (`charts.drawn`: a new outlook redraws the
    indicators, not the heatmap)."""
    waves, factors = storage.list_waves(con), storage.list_factors(con)
    schedule = storage.project_schedule(con, viewer, project_code, today)
    stats = storage.factor_stats(con, viewer, project_code)
    values = storage.indicator_values(con, viewer, project_code)
    counts = storage.round_counts(con, viewer, today, project_code)
    threshold = storage.finished_round_share(con)
    progress = analysis.round_progress(counts, threshold)
    finished = analysis.finished_rounds(counts, threshold)
    figure = None
    if not schedule.empty:
        figure = charts.drawn(
            charts.timeline_chart, schedule, storage.milestones(con, viewer, project_code), waves, today
        )
    heatmap = balance_figure = balance = None
    heatmap_text = ""
    if not stats.empty:
        evidence = storage.evidence(con, viewer, project_code)
        trajectory = analysis.factor_trajectory(stats, factors, waves, project_code)
        shareable = evidence[evidence.shareable][["factor_code", "wave", "excerpt"]]
        heatmap = charts.drawn(charts.factor_heatmap, trajectory, shareable, progress)
        heatmap_text = _heatmap_text(trajectory, waves)
        balance = analysis.per_interview(analysis.net_balance(stats, waves), analysis.interviews_done(counts))
        balance_figure = charts.drawn(charts.barriers_facilitators_chart, balance, waves, progress)
    indicators = None
    if not values.empty:
        indicators = charts.drawn(charts.indicator_small_multiples, values, storage.list_indicators(con), waves)
    return Timeline(
        participants=schedule.participant_code.nunique(),
        completed=int((schedule.status == "completed").sum()),
        overdue=int((schedule.status == "overdue").sum()),
        schedule_figure=figure,
        heatmap=heatmap,
        balance_figure=balance_figure,
        indicators_figure=indicators,
        rated_waves=frozenset(stats.wave),
        finished_waves=frozenset(finished.wave),
        schedule_text=_schedule_text(schedule, today),
        heatmap_text=heatmap_text,
        balance_text=_project_balance_text(balance) if balance is not None else "",
        balance_table=_wave_balance_table(balance, progress) if balance is not None else None,
        indicators_text=_indicators_text(values, storage.list_indicators(con), waves),
    )


def _schedule_text(schedule: pd.DataFrame, today: dt.date) -> str:
    if schedule.empty:
        return ""
    counts = schedule.status.value_counts()
    parts = [f"{int(counts[s])} {s}" for s in analysis.SCHEDULE_STATUSES if s in counts]
    return (
        f"{schedule.participant_code.nunique()} participants × {schedule.wave.nunique()} waves as of "
        f"{display.date_text(today)}: " + ", ".join(parts) + "."
    )


def _heatmap_text(trajectory: pd.DataFrame, waves) -> str:
    rated = trajectory.dropna(subset=["mean_rating"])
    if rated.empty:
        return ""
    latest_wave = rated.sort_values("wave").wave  # any; the latest in schedule order follows
    order = {w.wave: n for n, w in enumerate(waves)}
    latest_wave = max(set(latest_wave), key=cast("Callable[[str], int]", order.get))
    at = rated[rated.wave == latest_wave].sort_values("mean_rating")
    label = {w.wave: w.label for w in waves}[latest_wave]
    worst, best = at.iloc[0], at.iloc[-1]
    strongest = (
        f"the strongest barrier {worst.label} ({display.signed(worst.mean_rating)})"
        if worst.mean_rating < 0
        else "no factor was a barrier on average"
    )
    top = (
        f"the strongest facilitator was {best.label} ({display.signed(best.mean_rating)})"
        if best.mean_rating > 0
        else "no factor was a facilitator on average"
    )
    return (
        f"{trajectory.factor_code.nunique()} factors cited over the year. At the {label}, {len(at)} were cited; "
        f"{top}; {strongest}."
    )


def _project_balance_text(balance: pd.DataFrame) -> str:
    parts = [f"{r.wave_label} {display.signed(r.net_per_interview)}" for r in balance.itertuples()]
    return "Net balance per interview, by wave: " + ", ".join(parts) + "."


def _wave_balance_table(balance: pd.DataFrame, progress: pd.DataFrame) -> pd.DataFrame:
    per = balance.merge(progress[["wave", "done", "expected", "finished"]], on="wave", how="left")
    return pd.DataFrame(
        {
            "Wave": per.wave_label,
            "Interviews done": [f"{d} of {e}" for d, e in zip(per.done, per.expected, strict=True)],
            "Round": per.finished.map({True: "Finished", False: "In progress"}).fillna("—"),
            "Facilitators per interview": per.facilitators_per_interview.map(lambda v: display.number(v, 1)),
            "Barriers per interview": per.barriers_per_interview.map(lambda v: display.number(v, 1)),
            "Net balance per interview": per.net_per_interview.map(display.signed),
            "Mean rating": per.mean_rating.map(lambda v: display.signed(v, 2)),
            "Ratings (count)": per.n_ratings.astype(int),
        }
    )


def _indicators_text(values: pd.DataFrame, indicators, waves) -> str:
    if values.empty:
        return ""
    order = {w.wave: n for n, w in enumerate(waves)}
    latest = max(set(values.wave), key=cast("Callable[[str], int]", order.get))
    label = {w.wave: w.label for w in waves}[latest]
    names = {i.indicator_code: i.label for i in indicators}
    at = values[values.wave == latest]
    parts = [f"{names.get(r.indicator_code, r.indicator_code)} {r.value}" for r in at.itertuples()]
    return f"Scores at the {label}: " + "; ".join(parts) + "."


MATRIX_SHOWN = 40  # projects across the compare page's matrix: wider cannot be read


@dataclass(frozen=True)
class Comparison:
    """The compare page's projects: how many match the filters, and those drawn in the matrix."""

    projects: int
    chosen: int
    matrix_codes: tuple[str, ...]  # the first MATRIX_SHOWN chosen projects whose codes start with the prefix
    matching_prefix: int
    rated_waves: tuple[str, ...]  # waves with ratings among the matrix's projects
    progress: pd.DataFrame  # analysis.round_progress of the chosen projects
    finished_waves: tuple[str, ...]  # waves whose round is finished, in schedule order
    default_wave: str | None  # the latest finished round with ratings, else the latest rated wave


def comparison(
    con: storage.Connection, viewer: Viewer, settings: tuple, relations: tuple, prefix: str, today: dt.date
) -> Comparison:
    projects = storage.project_list(con, viewer)
    chosen = analysis.filter_projects(projects, list(settings), list(relations))
    codes = chosen.project_code[chosen.project_code.str.startswith(prefix)] if prefix else chosen.project_code
    shown = tuple(codes.head(MATRIX_SHOWN).tolist())
    stats = storage.factor_stats_of(con, viewer, shown)
    waves = storage.list_waves(con)
    rated = tuple(w.wave for w in waves if w.wave in set(stats.wave))
    progress = chosen_progress(con, viewer, settings, relations, today)
    finished = tuple(w.wave for w in waves if w.wave in set(progress.wave[progress.finished.astype(bool)]))
    default = next((w for w in reversed(rated) if w in finished), rated[-1] if rated else None)
    return Comparison(len(projects), len(chosen), shown, len(codes), rated, progress, finished, default)


def chosen_progress(
    con: storage.Connection, viewer: Viewer, settings: tuple, relations: tuple, today: dt.date
) -> pd.DataFrame:
    """`analysis.round_progress` of the projects in the chosen settings and relations."""
    counts = storage.round_counts(con, viewer, today)
    if settings or relations:  # else every project is chosen (and matching 55,000 codes against 11,000 takes time)
        projects = analysis.filter_projects(storage.project_list(con, viewer), list(settings), list(relations))
        counts = counts[counts.project_code.isin(set(projects.project_code))]
    return analysis.round_progress(counts, storage.finished_round_share(con))


@dataclass(frozen=True)
class Matrix:
    figure: go.Figure
    drawn: tuple[str, ...]  # projects with a value in the matrix
    missing: tuple[str, ...]  # projects asked for with no ratings at the wave(s): listed by name, never dropped
    text: str  # the figure's text alternative


def change_matrix_figure(
    con: storage.Connection,
    viewer: Viewer,
    codes: tuple[str, ...],
    wave_a: str,
    wave_b: str,
    settings: tuple = (),
    relations: tuple = (),
    today: dt.date | None = None,
) -> Matrix:
    """The project × factor matrix: mean ratings at one wave (`wave_a == wave_b`) or their change between two. A
    round still in progress says so in the title, with its completeness."""
    waves = {w.wave: w for w in storage.list_waves(con)}
    progress = None if today is None else chosen_progress(con, viewer, settings, relations, today)
    matrix = analysis.change_matrix(storage.factor_stats_of(con, viewer, codes), wave_a, wave_b)
    value = "mean_b" if wave_a == wave_b else "diff"
    shown = matrix.dropna(subset=[value])
    drawn = tuple(sorted(set(shown.project_code)))
    missing = tuple(c for c in codes if c not in set(drawn))
    labels = [charts.wave_tick(waves[w].label, progress, w, sep=", ") for w in dict.fromkeys((wave_a, wave_b))]
    title = (
        f"Mean rating by project and factor · {labels[0]}"
        if value == "mean_b"
        else f"Change in mean rating · {' → '.join(labels)}"
    )
    matrix = matrix[matrix.project_code.isin(set(drawn))]
    figure = charts.change_matrix_chart(matrix, value=value, factors=storage.list_factors(con), title=title)
    if len(shown):
        top = shown.groupby("factor_code")[value].mean().sort_values()
        names = {f.factor_code: f.label for f in storage.list_factors(con)}
        text = (
            f"{len(drawn)} projects and {shown.factor_code.nunique()} factors drawn. On average across them, "
            f"highest: {names.get(top.index[-1], top.index[-1])} ({display.signed(top.iloc[-1])}); lowest: "
            f"{names.get(top.index[0], top.index[0])} ({display.signed(top.iloc[0])})."
        )
    else:
        text = "Nothing to draw."
    return Matrix(charts.frozen(figure), drawn, missing, text)


def citation_counts(
    con: storage.Connection, viewer: Viewer, wave: str | None, settings: tuple, relations: tuple
) -> pd.DataFrame:
    """`analysis.citation_table` of the projects in the chosen settings and relations, at one wave or (None) over
    the whole year."""
    projects = storage.project_list(con, viewer)
    chosen = len(analysis.filter_projects(projects, list(settings), list(relations)))
    citing = storage.projects_citing(con, viewer, wave, settings, relations)
    return analysis.citation_table(citing.set_index("factor_code").projects_citing, chosen, storage.list_factors(con))


def citation_display(
    con: storage.Connection, viewer: Viewer, wave: str | None, settings: tuple, relations: tuple
) -> pd.DataFrame:
    """The citation table as the compare page shows it, next to the paper's counts (a codebook without them, such
    as CFIR 2.0, has no such column)."""
    counts = citation_counts(con, viewer, wave, settings, relations)
    shown = counts.assign(
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
    )
    return shown if counts.paper_projects.notna().any() else shown.drop(columns="Projects in the paper (of 11)")


def citation_figure(
    con: storage.Connection,
    viewer: Viewer,
    first: Wave,
    latest: Wave,
    settings: tuple,
    relations: tuple,
    today: dt.date | None = None,
) -> go.Figure:
    """How many projects cite each factor at two waves (by default the first and the latest finished rounds), each
    labelled with its completeness."""
    progress = None if today is None else chosen_progress(con, viewer, settings, relations, today)
    counts_a = citation_counts(con, viewer, first.wave, settings, relations)
    counts_b = citation_counts(con, viewer, latest.wave, settings, relations)
    label_a = charts.wave_tick(first.label, progress, first.wave, sep=", ")
    label_b = charts.wave_tick(latest.label, progress, latest.wave, sep=", ")
    return charts.frozen(charts.citation_chart(counts_a, counts_b, label_a, label_b))


@dataclass(frozen=True)
class ProjectHome:
    """A project team's landing page: its project, not a portfolio."""

    code: str
    name: str
    caption: str
    outlook: str  # "Amber at the 6-month follow-up", or "not scored yet"
    participants: int
    completed: int
    overdue: int
    rounds: pd.DataFrame  # a row per wave: interviews done of expected, finished or in progress
    next_followups: pd.DataFrame  # the follow-ups overdue, due now and coming next, soonest first


NEXT_SHOWN = 10


def project_home(con: storage.Connection, viewer: Viewer, project_code: str, today: dt.date) -> ProjectHome:
    projects = storage.project_list(con, viewer)
    project = projects[projects.project_code == project_code].iloc[0]
    schedule = storage.project_schedule(con, viewer, project_code, today)
    grid = storage.outlook_grid(con, viewer)
    scored = grid[(grid.project_code == project_code) & grid.value.notna()].sort_values("position")
    outlook = (
        f"{str(scored.value.iloc[-1]).capitalize()} at the {scored.wave_label.iloc[-1]}"
        if len(scored)
        else "not scored yet"
    )
    progress = analysis.round_progress(
        storage.round_counts(con, viewer, today, project_code), storage.finished_round_share(con)
    )
    rounds = pd.DataFrame(
        {
            "Wave": progress.wave_label,
            "Interviews done": [f"{d} of {e}" for d, e in zip(progress.done, progress.expected, strict=True)],
            "Round": progress.finished.map({True: "Finished", False: "In progress"}),
        }
    )
    upcoming = schedule[schedule.status.isin(["overdue", "due", "upcoming"])].sort_values(
        ["due_date", "participant_code"]
    )
    upcoming = upcoming.head(NEXT_SHOWN)
    next_followups = pd.DataFrame(
        {
            "Participant": upcoming.participant_code.astype(str),
            "Wave": upcoming.wave_label.astype(str),
            "Due": display.dates_text(upcoming.due_date),
            "Window": display.dates_text(upcoming.window_open) + " to " + display.dates_text(upcoming.window_close),
            "Status": display.labels(upcoming.status),
        }
    )
    return ProjectHome(
        code=project_code,
        name=str(project["name"]),
        caption=project_caption(con, viewer, project_code),
        outlook=outlook,
        participants=schedule.participant_code.nunique(),
        completed=int((schedule.status == "completed").sum()),
        overdue=int((schedule.status == "overdue").sum()),
        rounds=rounds,
        next_followups=next_followups.reset_index(drop=True),
    )
