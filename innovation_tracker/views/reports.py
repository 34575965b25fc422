"""Reports for one project at a chosen wave, and for the whole portfolio: a PDF or a self-contained HTML file.

Built from the same scoped reads as the pages, with the viewer, so a funder's or a team's report holds only what
they may see. Whoever asks, a report names participants by role only and quotes only excerpts marked shareable,
because reports travel. A report is assembled once as a list of blocks (headings, text, tables, figures, quotes);
`to_html` and `to_pdf` lay the same blocks out. The PDF's figures are PNGs drawn by kaleido in Chromium.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from fpdf import FPDF
from fpdf.fonts import FontFace

from innovation_tracker import storage
from innovation_tracker.app.service import audit
from innovation_tracker.domain import analysis, display
from innovation_tracker.domain.errors import NotFound, TrackerError
from innovation_tracker.domain.escape import escape_html, plotly_plain
from innovation_tracker.domain.model import (
    RAG_VALUES,
    Indicator,
    IndicatorType,
    Viewer,
    Wave,
    indicator_score,
    label_of,
)
from innovation_tracker.views import charts

FORMATS = ("pdf", "html")
STATUSES = ("completed", "missed", "overdue", "due", "upcoming", "withdrawn")
MAX_EXCERPTS = 40
FIGURE_WIDTH_PX = 900
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame
    caption: str = ""


@dataclass(frozen=True)
class Figure:
    figure: go.Figure
    caption: str = ""

    @property
    def text(self) -> str:
        """The figure's text alternative, printed under it: what its rows, columns and lines are."""
        return figure_text(self.figure)


def figure_text(figure: go.Figure) -> str:
    """What a figure shows, in words (plain text, as a reader of the figure sees it): a heat map's rows and
    columns, the named lines or bars, a panel's titles. A reader of the PDF's text (a screen reader, a search) finds
    every project and factor the picture shows."""
    parts: list[str] = []
    for trace in figure.data:
        if trace.type == "heatmap":
            rows = list(trace.y) if trace.y is not None else []
            if len(rows) == 2 and isinstance(rows[0], list | tuple):
                rows = list(rows[1])  # a two-level axis: the group, then the label
            parts.append("Rows: " + "; ".join(plotly_plain(r) for r in rows) + ".")
            parts.append("Columns: " + "; ".join(plotly_plain(c) for c in (trace.x or ())) + ".")
    named = [t.name for t in figure.data if t.type != "heatmap" and t.name and t.showlegend is not False]
    if named:
        parts.append("Lines and bars: " + ", ".join(dict.fromkeys(plotly_plain(n) for n in named)) + ".")
    panels = [a.text for a in figure.layout.annotations if a.text and a.showarrow is not True]
    if len(panels) > 1:
        parts.append("Panels: " + "; ".join(plotly_plain(p) for p in panels) + ".")
    return " ".join(parts)


@dataclass(frozen=True)
class Quote:
    text: str
    source: str


Block = Heading | Text | Table | Figure | Quote


@dataclass
class Report:
    title: str
    subtitle: str
    file_stem: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]


def _ignore(fraction: float, message: str) -> None:
    """The default progress callback: nobody is watching."""


def build(
    con: storage.Connection,
    viewer: Viewer,
    *,
    today: dt.date,
    project_code: str | None = None,
    wave: str | None = None,
    fmt: str = "pdf",
    progress: Progress = _ignore,
) -> tuple[str, bytes]:
    """A report as (file name, bytes), audited as taken out by `viewer`."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    progress(0.05, "Reading the data")
    if project_code:
        report = project_report(con, viewer, project_code, wave, today=today)
    else:
        report = portfolio_report(con, viewer, wave, today=today)
    data = to_pdf(report, progress) if fmt == "pdf" else to_html(report)
    entity = "project" if project_code else "portfolio"
    audit(con, viewer, "report", entity, report.file_stem, {"format": fmt, "wave": wave, "project": project_code})
    progress(1.0, "Report ready")
    return f"{report.file_stem}.{fmt}", data


def _chosen_wave(
    waves: Sequence[Wave], requested: str | None, used: Sequence[pd.Series], finished: str | None = None
) -> int:
    """The requested wave's position; by default the latest finished round (`finished`), else the latest wave
    that holds any data."""
    codes = [w.wave for w in waves]
    if not codes:
        raise NotFound("The study has no waves yet.")
    if requested:
        if requested not in codes:
            raise NotFound(f"There is no wave '{requested}'; the study's waves are {', '.join(codes)}.")
        return codes.index(requested)
    if finished in codes:
        return codes.index(finished)
    seen = set().union(*(set(s.dropna()) for s in used)) if used else set()
    return max((n for n, code in enumerate(codes) if code in seen), default=0)


def _round_state(progress: pd.DataFrame, wave: Wave) -> tuple[bool, str]:
    """Whether `wave`'s round is finished, and its completeness in words ("35 of 64 interviews done")."""
    row = progress[progress.wave == wave.wave]
    if row.empty:
        return False, "no interview expected yet"
    done, expected, finished = int(row.done.iloc[0]), int(row.expected.iloc[0]), bool(row.finished.iloc[0])
    return finished, f"{done} of {expected} interviews done" + ("" if finished else ", round in progress")


def _subtitle(con: storage.Connection, viewer: Viewer, today: dt.date) -> str:
    study = storage.get_study(con)
    name = study.name if study else "No study"
    scope = "all projects" if viewer.all_projects else "projects " + ", ".join(sorted(viewer.projects))
    pooled = (
        ""
        if viewer.identified
        else f"; roles held by fewer than {storage.min_role_group(con)} participants of a project appear as Stakeholder"
    )
    return (
        f"{name} · as of {display.date_text(today)} · prepared for {viewer.username} "
        f"({label_of(viewer.role)}, {scope}) · "
        f"participants appear by role only{pooled}; excerpts only where marked shareable"
    )


def _signed(number: float, digits: int = 1) -> str:
    if pd.isna(number):
        return "—"
    text = f"{number:+.{digits}f}"
    return "0" if float(text) == 0 else text.replace("-", "−")


def _count_table(statuses: pd.DataFrame, waves: Sequence[Wave]) -> pd.DataFrame:
    """Waves down, interview statuses across, participants in the cells."""
    counts = statuses.pivot_table(index="wave", columns="status", values="n", aggfunc="sum", fill_value=0)
    counts = counts.reindex(index=[w.wave for w in waves], columns=list(STATUSES), fill_value=0).fillna(0)
    out = counts.astype(int).rename(columns=str.capitalize).reset_index(drop=True)
    out.insert(0, "Wave", [w.label for w in waves])
    return out


def project_report(
    con: storage.Connection, viewer: Viewer, project_code: str, wave: str | None = None, *, today: dt.date
) -> Report:
    projects = storage.project_list(con, viewer)
    if project_code not in set(projects.project_code):
        raise NotFound(f"There is no project '{project_code}' among the projects you can see.")
    project = projects.set_index("project_code").loc[project_code]
    waves = storage.list_waves(con)
    stats = storage.factor_stats(con, viewer, project_code)
    schedule = storage.project_schedule(con, viewer, project_code, today)
    values = storage.indicator_values(con, viewer, project_code)
    done = schedule.loc[schedule.status == "completed", "wave"]
    counts = storage.round_counts(con, viewer, today, project_code)
    progress = analysis.round_progress(counts, storage.finished_round_share(con))
    at = _chosen_wave(waves, wave, [stats.wave, values.wave, done], analysis.latest_finished(progress))
    upto, chosen = list(waves[: at + 1]), waves[at]
    stats = stats[stats.wave.isin([w.wave for w in upto])]
    evidence = storage.evidence(con, viewer, project_code)
    evidence = evidence[evidence.shareable.astype(bool)]
    finished, state = _round_state(progress, chosen)
    report = Report(
        f"{project['name']} ({project_code}) · {chosen.label}" + ("" if finished else " (in progress)"),
        _subtitle(con, viewer, today),
        f"report-{project_code}-{chosen.wave}",
    )
    balance = analysis.per_interview(analysis.net_balance(stats, upto), analysis.interviews_done(counts))
    finished_waves = set(progress.wave[progress.finished.astype(bool)])
    report.blocks += _project_status(project, schedule, upto, chosen, today)
    report.blocks += [Text(f"The {chosen.label.lower()}: {state}.")]
    report.blocks += _project_indicators(values, storage.list_indicators(con), upto)
    report.blocks += _project_factors(stats, storage.list_factors(con), upto, project_code, evidence, balance, progress)
    report.blocks += _project_changes(stats, storage.list_factors(con), upto, project_code, finished_waves)
    report.blocks += _project_excerpts(evidence, chosen)
    return report


def _project_status(project: pd.Series, schedule: pd.DataFrame, upto, chosen: Wave, today: dt.date) -> list[Block]:
    facts = (
        f"Status: {label_of(project.status)} · {label_of(project.setting)} setting · host: "
        f"{_text(project.host_organisation, 'not recorded')} · {label_of(project.relation_to_statutory)} to statutory "
        f"services · innovation: {_text(project.innovation_type, 'not recorded')}"
    )
    blocks: list[Block] = [Heading("Status and fieldwork"), Text(facts)]
    if schedule.empty:
        return [*blocks, Text("No participants are enrolled in this project yet.")]
    statuses = schedule.groupby(["wave", "status"], as_index=False).size().rename(columns={"size": "n"})
    at = schedule[schedule.wave == chosen.wave]
    n = at.status.value_counts().reindex(list(STATUSES), fill_value=0)
    summary = (
        f"At the {chosen.label.lower()}: {n.completed} of {len(at)} participants interviewed, "
        f"{n.missed} missed, {n.overdue} overdue, {n.due} due now, {n.withdrawn} withdrawn."
    )
    caption = f"Participants by interview status at each wave, as of {display.date_text(today)}."
    return [*blocks, Text(summary), Table(_count_table(statuses, upto), caption)]


def _text(value: object, default: str) -> str:
    return default if value is None or (not isinstance(value, str) and pd.isna(value)) or value == "" else str(value)


def indicator_change(indicator: Indicator, before: str | None, after: str | None) -> str:
    """How an indicator moved between two waves, in words a reader can check against the two values."""
    if after is None:
        return "not scored"
    if before is None:
        return "first score"
    delta = indicator_score(indicator, after) - indicator_score(indicator, before)
    direction = 1 if indicator.better in ("higher", "yes", "green") else -1
    word = "no change" if delta == 0 else ("better" if delta * direction > 0 else "worse")
    numeric = indicator.value_type in (IndicatorType.ORDINAL, IndicatorType.COUNT)
    return f"{_signed(delta, 0)}, {word}" if numeric and delta else word


def _project_indicators(values: pd.DataFrame, indicators: list[Indicator], upto: list[Wave]) -> list[Block]:
    chosen = upto[-1]
    blocks: list[Block] = [Heading("Sustainability indicators")]
    values = values[values.wave.isin([w.wave for w in upto])]
    if values.empty:
        return [*blocks, Text("No sustainability indicators have been scored for this project yet.")]
    previous = upto[-2] if len(upto) > 1 else None
    lookup = {(r.wave, r.indicator_code): r.value for r in values.itertuples()}
    rows = []
    for ind in indicators:
        before = lookup.get((previous.wave, ind.indicator_code)) if previous else None
        after = lookup.get((chosen.wave, ind.indicator_code))
        rows.append((ind.label, before or "—", after or "—", indicator_change(ind, before, after)))
    headers = ["Indicator", previous.label if previous else "Previous wave", chosen.label, "Change"]
    table = Table(pd.DataFrame(rows, columns=headers), f"Scores at the {chosen.label.lower()} and the wave before.")
    figure = Figure(charts.indicator_small_multiples(values, indicators, upto))
    return [*blocks, table, figure]


def _project_factors(
    stats, factors, upto: list[Wave], project_code: str, evidence: pd.DataFrame, balance, progress
) -> list[Block]:
    blocks: list[Block] = [Heading("Barriers and facilitators")]
    if stats.empty:
        return [*blocks, Text("No factor has been rated for this project yet.")]
    trajectory = analysis.factor_trajectory(stats, factors, upto, project_code)
    heatmap = charts.factor_heatmap(trajectory, evidence[["factor_code", "wave", "excerpt"]], progress)
    caption = (
        "Mean rating of each factor cited, by wave: −2 strong barrier … +2 strong facilitator; "
        "grey: nobody cited the factor at that wave. Under each wave: interviews done of those expected."
    )
    bars = charts.barriers_facilitators_chart(balance, upto, progress)
    bars_caption = (
        "Facilitator and barrier weight per completed interview (sums of ratings divided by the interviews done), "
        "so rounds of different sizes compare."
    )
    return [*blocks, Figure(heatmap, caption), Figure(bars, bars_caption)]


def _previous_rated(stats: pd.DataFrame, upto: list[Wave], finished: set[str] | None = None) -> Wave | None:
    """The latest wave before the chosen one with ratings (and, given `finished`, whose round is finished)."""
    rated = set(stats.wave)
    return next((w for w in reversed(upto[:-1]) if w.wave in rated and (finished is None or w.wave in finished)), None)


def _project_changes(stats, factors, upto: list[Wave], project_code: str, finished: set[str]) -> list[Block]:
    chosen, previous = upto[-1], _previous_rated(stats, upto, finished)
    if chosen.wave not in finished:
        return [
            Heading("What changed"),
            Text(
                f"The {chosen.label.lower()} round is still in progress: a factor not yet mentioned by those still "
                "to be interviewed would look as if it had disappeared, so changes are reported once it is finished."
            ),
        ]
    if previous is None or chosen.wave not in set(stats.wave):
        return [Heading("What changed"), Text("There are not yet ratings at two finished rounds to compare.")]
    changes = analysis.wave_changes(stats, factors, project_code, previous.wave, chosen.wave)
    moved = changes[changes.change != "steady"]
    title = f"What changed since the {previous.label.lower()}"
    steady = int((changes.change == "steady").sum())
    if moved.empty:
        return [Heading(title), Text(f"Nothing moved: all {steady} factors cited at both waves held steady.")]
    table = pd.DataFrame(
        {
            "Change": moved.change.str.capitalize(),
            "Factor": moved.label,
            "Kind": moved.kind.map(label_of),
            previous.label: moved.mean_a.map(_signed),
            chosen.label: moved.mean_b.map(_signed),
        }
    )
    caption = " ".join(f"{name.capitalize()}: {meaning}" for name, meaning in analysis.CHANGE_CLASSES.items())
    return [Heading(title), Text(f"{len(moved)} factors moved; {steady} held steady."), Table(table, caption)]


def _project_excerpts(evidence: pd.DataFrame, chosen: Wave) -> list[Block]:
    heading = Heading(f"Shareable excerpts from the {chosen.label.lower()}")
    at = evidence[evidence.wave == chosen.wave]
    if at.empty:
        return [heading, Text("No excerpt from this wave is marked shareable.")]
    quotes: list[Block] = [
        Quote(str(r.excerpt), f"{r.factor_label} · rated {_signed(r.rating, 0)} · {label_of(r.role)}")
        for r in at.head(MAX_EXCERPTS).itertuples()
    ]
    more = [Text(f"… and {len(at) - MAX_EXCERPTS} more.")] if len(at) > MAX_EXCERPTS else []
    return [heading, *quotes, *more]


def portfolio_report(con: storage.Connection, viewer: Viewer, wave: str | None = None, *, today: dt.date) -> Report:
    waves = storage.list_waves(con)
    factors = storage.list_factors(con)
    stats = storage.factor_stats(con, viewer)
    values = storage.indicator_values(con, viewer)
    rounds = storage.round_counts(con, viewer, today)
    threshold = storage.finished_round_share(con)
    progress = analysis.round_progress(rounds, threshold)
    by_wave = analysis.completion_per_wave(rounds)
    done = by_wave.loc[by_wave.status == "completed", "wave"]
    at = _chosen_wave(waves, wave, [stats.wave, values.wave, done], analysis.latest_finished(progress))
    upto, chosen = list(waves[: at + 1]), waves[at]
    codes = [w.wave for w in upto]
    stats = stats[stats.wave.isin(codes)]
    finished, state = _round_state(progress, chosen)
    one = not viewer.all_projects and len(viewer.projects) == 1
    title = f"{'Project' if one else 'Portfolio'} report · {chosen.label}" + ("" if finished else " (in progress)")
    report = Report(title, _subtitle(con, viewer, today), f"report-portfolio-{chosen.wave}")
    projects = storage.project_list(con, viewer)
    full_grid = storage.outlook_grid(con, viewer)
    grid = full_grid[full_grid.wave.isin(codes)]
    balance = analysis.per_interview(analysis.net_balance(stats, upto, factors), analysis.interviews_done(rounds))
    project_progress = analysis.round_progress(rounds, threshold, by_project=True)
    warnings = analysis.early_warnings(
        overdue=analysis.overdue_per_project(rounds),
        outlook=full_grid.dropna(subset=["value"])[["project_code", "wave", "value"]],
        balance=balance,
        scored=storage.scored_waves(con, viewer),
        completed_waves=analysis.finished_rounds(rounds, threshold),
        waves=waves,
    )
    status = analysis.status_now(
        projects,
        full_grid[["project_code", "wave", "value"]],
        balance,
        project_progress,
        analysis.overdue_per_project(rounds),
        warnings,
        waves,
        chosen.wave,
    )
    report.blocks += _portfolio_fieldwork(
        analysis.headline(rounds, storage.people_counts(con, viewer)), by_wave, progress, upto, today
    )
    report.blocks += [Text(f"The {chosen.label.lower()}: {state}.")]
    report.blocks += _portfolio_status(status, grid, chosen)
    named = values[values.wave.isin(codes)].merge(projects[["project_code", "name"]], on="project_code", how="left")
    report.blocks += _portfolio_indicators(named, storage.list_indicators(con), upto)
    report.blocks += _portfolio_factors(stats, factors, balance, upto, progress, projects)
    report.blocks += _portfolio_changes(stats, factors, projects, upto, project_progress)
    report.blocks += _portfolio_warnings(warnings, projects, today)
    return report


def _portfolio_fieldwork(
    counts: dict, by_wave: pd.DataFrame, progress: pd.DataFrame, upto: list[Wave], today: dt.date
) -> list[Block]:
    summary = (
        f"{counts['projects']} projects, {counts['participants']} participants ({counts['withdrawn']} withdrawn). "
        f"{counts['interviews_done']} interviews done of {counts['interviews_scheduled']} scheduled so far; "
        f"{counts['overdue']} follow-ups overdue and {counts['due']} due now."
    )
    shown = by_wave[by_wave.wave.isin([w.wave for w in upto])]
    table = _count_table(shown.rename(columns={"participants": "n"}), upto)
    state = {r.wave: "Finished" if r.finished else "In progress" for r in progress.itertuples()}
    table["Round"] = [state.get(w.wave, "—") for w in upto]
    caption = (
        f"Participants by interview status at each wave, as of {display.date_text(today)}. A round is finished when "
        "every window has closed or enough of its interviews are done."
    )
    return [Heading("Fieldwork"), Text(summary), Table(table, caption)]


def _portfolio_status(status: pd.DataFrame, grid: pd.DataFrame, chosen: Wave) -> list[Block]:
    """The funders' "status now" at the chosen round, and the outlook grid."""
    heading = Heading(f"Status at the {chosen.label.lower()}")
    if status.empty:
        return [heading, Text("No projects yet.")]
    shown = status.assign(
        project=status.project_code + " · " + status.name.astype(str),
        outlook=status.outlook.map(_outlook),
        outlook_change=status.outlook_change.map(lambda v: "—" if v == "not scored" else str(v).capitalize()),
        net_per_interview=status.net_per_interview.map(display.signed),
        net_change=status.net_change.map(display.signed),
    )
    table = shown[
        ["risk", "project", "round_done", "outlook", "outlook_change", "net_per_interview", "net_change", "overdue",
         "warnings"]
    ].rename(
        columns={
            "risk": "Risk",
            "project": "Project",
            "round_done": "Interviews done",
            "outlook": "Outlook",
            "outlook_change": "Outlook change",
            "net_per_interview": "Net per interview",
            "net_change": "Change",
            "overdue": "Overdue",
            "warnings": "Warnings",
        }
    )  # fmt: skip
    caption = (
        "Most at risk first. Outlook and net balance per completed interview at this round, each with its change "
        "since the round before; follow-ups overdue and open early warnings as of today."
    )
    figure = Figure(charts.outlook_grid_chart(grid)) if grid["value"].notna().any() else None
    return [heading, Table(table, caption), *([figure] if figure else [])]


def _outlook(value: object) -> str:
    return str(value).capitalize() if isinstance(value, str) and value in RAG_VALUES else "—"


def _portfolio_indicators(values: pd.DataFrame, indicators: list[Indicator], upto: list[Wave]) -> list[Block]:
    chosen, previous = upto[-1], (upto[-2] if len(upto) > 1 else None)
    heading = Heading(f"Sustainability indicators at the {chosen.label.lower()}")
    if values.empty:
        return [heading, Text("No sustainability indicators have been scored yet.")]
    lookup = {(r.project_code, r.wave, r.indicator_code): r.value for r in values.itertuples()}
    rows = []
    names = dict(zip(values.project_code, values.get("name", values.project_code), strict=True))
    for code in sorted(values.project_code.unique()):
        cells = [f"{code} · {names[code]}" if names[code] != code else code]
        for ind in indicators:
            after = lookup.get((code, chosen.wave, ind.indicator_code))
            before = lookup.get((code, previous.wave, ind.indicator_code)) if previous else None
            change = indicator_change(ind, before, after)
            cells.append("—" if after is None else f"{after} ({change})")
        rows.append(cells)
    table = pd.DataFrame(rows, columns=["Project", *[i.label for i in indicators]])
    caption = "Each score with its change since the wave before (better, worse, no change, or first score)."
    # One panel per indicator with a line per project is unreadable for a portfolio: the table says it all.
    return [heading, Table(table, caption)]


def _portfolio_factors(
    stats: pd.DataFrame, factors, balance: pd.DataFrame, upto: list[Wave], progress, projects
) -> list[Block]:
    chosen = upto[-1]
    heading = Heading("Barriers and facilitators")
    if stats.empty:
        return [heading, Text("No factor has been rated yet.")]
    balance_caption = (
        "Net balance per completed interview: (facilitator weight − barrier weight) ÷ interviews done at the wave."
    )
    not_rated = sorted(set(projects.project_code) - set(balance.project_code))
    if not_rated:
        balance_caption += " Not drawn, no ratings yet: " + ", ".join(not_rated) + "."
    matrix = analysis.change_matrix(stats, chosen.wave, chosen.wave)
    drawn = sorted(set(matrix.dropna(subset=["mean_b"]).project_code))
    missing = sorted(set(projects.project_code) - set(drawn))
    label = charts.wave_tick(chosen.label, progress, chosen.wave, sep=", ")
    heatmap = charts.change_matrix_chart(
        matrix[matrix.project_code.isin(drawn)], "mean_b", factors, title=f"Mean rating of each factor · {label}"
    )
    heat_caption = "Projects across, factors down; grey: not rated at this wave."
    if missing:
        heat_caption += f" No ratings at the {chosen.label.lower()} yet: " + ", ".join(missing) + "."
    return [
        heading,
        Figure(charts.net_balance_chart(balance, upto, progress), balance_caption),
        Figure(heatmap, heat_caption),
    ]


def _portfolio_changes(stats: pd.DataFrame, factors, projects: pd.DataFrame, upto: list[Wave], progress) -> list[Block]:
    """Per project, what changed between its two latest finished rounds up to the chosen wave."""
    heading = Heading("What changed between each project's last two finished rounds")
    finished = progress[progress.finished.astype(bool)]
    rows, pending = [], []
    codes = {w.wave for w in upto}
    names = dict(zip(projects.project_code, projects.name, strict=True))
    for code in projects.project_code:
        mine = stats[stats.project_code == code]
        done = [w for w in upto if w.wave in set(finished.wave[finished.project_code == code]) & set(mine.wave)]
        done = [w for w in done if w.wave in codes]
        if len(done) < 2:
            pending.append(code)
            continue
        before, after = done[-2], done[-1]
        changes = analysis.wave_changes(mine, factors, code, before.wave, after.wave).change.value_counts()
        name = f"{code} · {names[code]}"
        rows.append((name, before.label, after.label, *[int(changes.get(c, 0)) for c in analysis.CHANGE_CLASSES]))
    if not rows:
        return [heading, Text("No project has two finished rounds with ratings yet.")]
    columns = ["Project", "From", "To", *[c.capitalize() for c in analysis.CHANGE_CLASSES]]
    caption = "Number of factors in each class of change; rounds still in progress are left out."
    if pending:
        caption += " Fewer than two finished rounds with ratings: " + ", ".join(pending) + "."
    return [heading, Table(pd.DataFrame(rows, columns=columns), caption)]


def _portfolio_warnings(warnings: pd.DataFrame, projects: pd.DataFrame, today: dt.date) -> list[Block]:
    heading = Heading(f"Early warnings as of {display.date_text(today)}")
    if warnings.empty:
        return [heading, Text("No warnings.")]
    names = dict(zip(projects.project_code, projects.name, strict=True))
    table = pd.DataFrame(
        {"Project": warnings.project_code.map(lambda c: f"{c} · {names.get(c, '')}"), "Warning": warnings.message}
    )
    return [heading, Table(table)]


def to_html(report: Report) -> bytes:
    """One self-contained file: plotly.js is embedded once, with the first figure, and works offline."""
    body = []
    first_figure = True
    for block in report.blocks:
        if isinstance(block, Figure):
            body.append(_html_figure(block, include_plotlyjs=first_figure))
            first_figure = False
        else:
            body.append(_html_block(block))
    page = HTML_PAGE.format(
        title=escape_html(report.title), subtitle=escape_html(report.subtitle), body="\n".join(body)
    )
    return page.encode("utf-8")


def for_report(figure: go.Figure) -> go.Figure:
    """A copy of a dashboard figure laid out for print: the light report template, named explicitly (a process that
    has imported Streamlit makes Streamlit's template the default, whose axes do not make room for their labels,
    so project and factor names were cut off), with every axis making room for its labels."""
    fig = go.Figure(figure)
    fig.update_layout(template=pio.templates[charts.REPORT_TEMPLATE])
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def _html_figure(block: Figure, include_plotlyjs: bool) -> str:
    div = for_report(block.figure).to_html(
        full_html=False, include_plotlyjs=include_plotlyjs, config={"displaylogo": False}, default_width="100%"
    )
    words = " ".join(part for part in (block.caption, block.text) if part)
    caption = f"<figcaption>{escape_html(words)}</figcaption>" if words else ""
    return f"<figure>{div}{caption}</figure>"


def _html_block(block: Heading | Text | Table | Quote) -> str:
    if isinstance(block, Heading):
        return f"<h2>{escape_html(block.text)}</h2>"
    if isinstance(block, Text):
        return f"<p>{escape_html(block.text)}</p>"
    if isinstance(block, Quote):
        return f"<blockquote>“{escape_html(block.text)}”<footer>{escape_html(block.source)}</footer></blockquote>"
    numeric = [_numeric(block.frame[c]) for c in block.frame.columns]
    head = "".join(
        f"<th{' class=num' if n else ''}>{escape_html(str(c))}</th>"
        for c, n in zip(block.frame.columns, numeric, strict=True)
    )
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if n else ''}>{escape_html(str(v))}</td>" for v, n in zip(row, numeric, strict=True)
        )
        + "</tr>"
        for row in block.frame.itertuples(index=False)
    )
    caption = f"<caption>{escape_html(block.caption)}</caption>" if block.caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


HTML_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: "Source Sans Pro", "DejaVu Sans", Arial, sans-serif; max-width: 1000px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }}
h1 {{ margin-bottom: 0.2em; }} h2 {{ margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }}
.subtitle {{ color: #555; }}
table {{ border-collapse: collapse; margin: 0.8em 0; width: 100%; font-size: 0.92em; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }}
th {{ background: #f0f0f0; }} caption, figcaption {{ caption-side: bottom; color: #555; font-size: 0.9em;
      text-align: left; padding-top: 0.3em; }}
figure {{ margin: 1em 0; }} .num {{ text-align: right; }}
blockquote {{ border-left: 4px solid #56B4E9; margin: 0.8em 0; padding: 0.2em 1em; background: #f7fbfe; }}
blockquote footer {{ color: #555; font-size: 0.9em; margin-top: 0.3em; }}
</style></head>
<body><h1>{title}</h1><p class="subtitle">{subtitle}</p>
{body}
</body></html>
"""


_KALEIDO = threading.Lock()


@contextlib.contextmanager
def _chromium() -> Iterator[None]:
    """One Chromium for all of a report's figures (~2 s to start, then a fraction of a second a figure)."""
    import kaleido
    from kaleido.errors import ChromeNotFoundError

    # kaleido's server is one per process: two reports at once take turns.
    with _KALEIDO:
        try:
            kaleido.start_sync_server(silence_warnings=True)
        except ChromeNotFoundError as exc:
            raise TrackerError(
                "PDF reports need Chromium (Debian: apt-get install chromium); the HTML report works without it."
            ) from exc
        try:
            yield
        finally:
            kaleido.stop_sync_server(silence_warnings=True)


def figure_png(figure: go.Figure) -> tuple[bytes, int, int]:
    """A figure as a PNG at twice its pixel size (sharp in print), with the size it was laid out at."""
    import kaleido

    height = int(figure.layout.height or 500)
    opts = dict(format="png", width=FIGURE_WIDTH_PX, height=height, scale=2)
    return kaleido.calc_fig_sync(for_report(figure).to_dict(), opts=opts), FIGURE_WIDTH_PX, height


def to_pdf(report: Report, progress: Progress = _ignore) -> bytes:
    pngs = {}
    figures = report.figures
    if figures:
        with _chromium():
            for n, block in enumerate(figures):
                progress(0.1 + 0.8 * n / len(figures), f"Drawing figure {n + 1} of {len(figures)}")
                pngs[id(block)] = figure_png(block.figure)
    progress(0.92, "Laying out the PDF")
    return _PdfWriter(report, pngs).render()


FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf"}
PLAIN = str.maketrans({"−": "-", "…": "...", "“": '"', "”": '"', "‘": "'", "’": "'", "—": "-", "–": "-", "→": "->"})


class _PdfWriter:
    """Lays the blocks out on A4 with fpdf2: DejaVu Sans where installed (all of Unicode), else Helvetica."""

    def __init__(self, report: Report, pngs: dict[int, tuple[bytes, int, int]]):
        self.report, self.pngs = report, pngs
        self.pdf = FPDF(format="A4")
        self.pdf.set_title(report.title)
        self.pdf.set_creator("innovation_tracker")
        self.pdf.set_auto_page_break(auto=True, margin=15)
        self.family = self._fonts()
        title = self.clean(report.title)
        self.pdf.footer = lambda: self._footer(title)  # type: ignore[method-assign]  # FPDF calls self.footer()

    def _fonts(self) -> str:
        folder = next((d for d in FONT_DIRS if all((d / f).is_file() for f in FONT_FILES.values())), None)
        if folder is None:
            return "helvetica"
        for style, name in FONT_FILES.items():
            self.pdf.add_font("dejavu", style, str(folder / name))
        return "dejavu"

    def clean(self, text: str) -> str:
        """Helvetica knows Latin-1 only; DejaVu needs no help."""
        if self.family != "helvetica":
            return text
        return text.translate(PLAIN).encode("latin-1", "replace").decode("latin-1")

    def _footer(self, title: str) -> None:
        pdf = self.pdf
        pdf.set_y(-12)
        pdf.set_font(self.family, "", 8)
        pdf.set_text_color(110)
        pdf.cell(0, 6, f"{title} · page {pdf.page_no()}/{{nb}}", align="C")
        pdf.set_text_color(0)

    def render(self) -> bytes:
        pdf = self.pdf
        pdf.add_page()
        pdf.set_font(self.family, "B", 17)
        pdf.multi_cell(0, 8, self.clean(self.report.title), new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.set_font(self.family, "", 9)
        pdf.set_text_color(90)
        pdf.multi_cell(0, 4.5, self.clean(self.report.subtitle), new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.set_text_color(0)
        blocks = self.report.blocks
        for n, block in enumerate(blocks):
            if isinstance(block, Heading) and n + 1 < len(blocks):
                self._keep_with(blocks[n + 1])
            self._block(block)
        return bytes(pdf.output())

    def _keep_with(self, following: Block) -> None:
        """A heading starts a new page when what it introduces would not start on this one."""
        needed = 12 + (self._figure_size(following)[1] if isinstance(following, Figure) else 25)
        if self.pdf.get_y() + needed > self.pdf.h - self.pdf.b_margin:
            self.pdf.add_page()

    def _block(self, block: Block) -> None:
        pdf = self.pdf
        if isinstance(block, Heading):
            pdf.ln(4)
            pdf.set_font(self.family, "B", 13)
            pdf.multi_cell(0, 7, self.clean(block.text), new_x="LMARGIN", new_y="NEXT", align="L")
            pdf.ln(1)
        elif isinstance(block, Text):
            pdf.set_font(self.family, "", 10)
            pdf.multi_cell(0, 5, self.clean(block.text), new_x="LMARGIN", new_y="NEXT", align="L")
            pdf.ln(1.5)
        elif isinstance(block, Quote):
            self._quote(block)
        elif isinstance(block, Table):
            self._table(block)
        else:
            self._figure(block)

    def _quote(self, block: Quote) -> None:
        pdf = self.pdf
        pdf.set_x(pdf.l_margin + 4)
        pdf.set_font(self.family, "I", 10)
        pdf.multi_cell(0, 5, self.clean(f"“{block.text}”"), new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.set_x(pdf.l_margin + 4)
        pdf.set_font(self.family, "", 8.5)
        pdf.set_text_color(90)
        pdf.multi_cell(0, 4.5, self.clean(block.source), new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.set_text_color(0)
        pdf.ln(1.5)

    def _table(self, block: Table) -> None:
        pdf = self.pdf
        columns = len(block.frame.columns)
        pdf.set_font(self.family, "", 9 if columns <= 7 else 7.5)
        heading = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))
        with pdf.table(
            headings_style=heading,
            col_widths=self._column_widths(block.frame),
            text_align=tuple("RIGHT" if _numeric(block.frame[c]) else "LEFT" for c in block.frame.columns),
            line_height=4.6 if columns <= 7 else 3.8,
            padding=1,
        ) as table:
            table.row([self.clean(str(c)) for c in block.frame.columns])
            for values in block.frame.itertuples(index=False):
                table.row([self.clean(str(v)) for v in values])
        if block.caption:
            pdf.set_font(self.family, "", 8)
            pdf.set_text_color(90)
            pdf.multi_cell(0, 4, self.clean(block.caption), new_x="LMARGIN", new_y="NEXT", align="L")
            pdf.set_text_color(0)
        pdf.ln(2)

    def _column_widths(self, frame: pd.DataFrame) -> tuple[float, ...]:
        """Widths in mm: every heading word fits on a line; the room left goes to the columns whose cells are long."""
        pdf, padding = self.pdf, 3.0
        size = pdf.font_size_pt
        pdf.set_font(self.family, "B", size)
        least = [max(pdf.get_string_width(w) for w in self.clean(str(c)).split() or ["-"]) + padding for c in frame]
        pdf.set_font(self.family, "", size)
        wanted = [
            max(low, float(frame[c].map(lambda v: pdf.get_string_width(self.clean(str(v)))).quantile(0.9)) + padding)
            if len(frame)
            else low
            for c, low in zip(frame.columns, least, strict=True)
        ]
        room = pdf.w - pdf.l_margin - pdf.r_margin
        spare, extra = room - sum(least), sum(wanted) - sum(least)
        if spare <= 0 or extra <= 0:
            return tuple(least) if spare <= 0 else tuple(w * room / sum(wanted) for w in wanted)
        share = min(1.0, spare / extra)
        widths = [low + (want - low) * share for low, want in zip(least, wanted, strict=True)]
        return tuple(w * room / sum(widths) for w in widths)

    def _words(self, block: Figure) -> list[tuple[str, float, float, int]]:
        """The lines under a figure: its caption and its text alternative (text, font size, line height, grey)."""
        words = [(block.caption, 8, 4, 90)] if block.caption else []
        return words + ([("Text alternative. " + block.text, 7, 3.4, 110)] if block.text else [])

    def _words_height(self, block: Figure) -> float:
        pdf, total = self.pdf, 0.0
        for text, size, line, _ in self._words(block):
            pdf.set_font(self.family, "", size)
            total += cast(float, pdf.multi_cell(0, line, self.clean(text), dry_run=True, output="HEIGHT"))
        return total

    def _figure_size(self, block: Figure) -> tuple[float, float]:
        """Width and height in mm: the text width, shrunk to fit a page (with the words under it) when it is tall."""
        pdf = self.pdf
        _, width_px, height_px = self.pngs[id(block)]
        width = pdf.w - pdf.l_margin - pdf.r_margin
        height = width * height_px / width_px
        room = pdf.h - pdf.t_margin - pdf.b_margin - 8 - self._words_height(block)
        return (width * room / height, room) if height > room else (width, height)

    def _figure(self, block: Figure) -> None:
        """The figure with its caption and text alternative on the same page."""
        pdf = self.pdf
        png = self.pngs[id(block)][0]
        width, height = self._figure_size(block)
        if pdf.get_y() + height + self._words_height(block) > pdf.h - pdf.b_margin:
            pdf.add_page()
        pdf.image(io.BytesIO(png), x=pdf.l_margin, w=width, h=height, alt_text=block.text or None)
        for text, size, line, grey in self._words(block):
            pdf.set_font(self.family, "", size)
            pdf.set_text_color(grey)
            pdf.multi_cell(0, line, self.clean(text), new_x="LMARGIN", new_y="NEXT", align="L")
            pdf.set_text_color(0)
        pdf.ln(2)


NUMBER = r"^[+−-]?\d+(\.\d+)?$|^—$"


def _numeric(column: pd.Series) -> bool:
    text = column.astype(str)
    return bool(text.str.match(NUMBER).all()) and not (text == "—").all()
