"""The framework matrix: projects as rows, factors (or domains) as columns, one cell per project × factor holding
what a qualitative evaluator's framework or rapid-analysis matrix holds — the mean rating, its trend since the
previous finished round, how many participants cited it, and the excerpts behind it.

Built from scoped reads (`storage.matrix_cells`, `storage.matrix_excerpts`, `storage.factor_stats`,
`storage.completed_rounds`), so a team sees only its own row and funders only shareable text. `ui.shared` keeps a
built matrix until the next write.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from innovation_tracker import storage
from innovation_tracker.domain.analysis import CHANGE_THRESHOLD
from innovation_tracker.domain.model import Viewer, label_of
from innovation_tracker.formats import tidy

TREND_UP, TREND_DOWN, TREND_STEADY, TREND_NEW = "↑", "↓", "→", "new"
EMPTY = "—"
_EPSILON = 1e-9


@dataclass(frozen=True)
class Matrix:
    wave: str | None
    by_domain: bool
    cells: pd.DataFrame  # project_code, column (factor code or domain), mean, n_participants, n_excerpts, trend
    rows: tuple[str, ...]  # project codes, in order: every project the viewer sees (or those shown), cited or not
    row_labels: dict[str, str]
    columns: tuple[str, ...]  # factor codes of the domain (or the domains), in codebook order
    column_labels: dict[str, str]


def _signed(value: float) -> str:
    return f"{value:+.1f}".replace("-", "−") if abs(value) >= 0.05 else "0.0"


def cell_text(mean: float, trend: str, n_participants: int) -> str:
    """ "+1.5 ↑ · 3 cited": mean rating, trend since the previous finished round (if any), participants citing."""
    arrow = f" {trend}" if trend else ""
    return f"{_signed(mean)}{arrow} · {n_participants} cited"


def _trend(latest: pd.Series, before: pd.Series, had_before: pd.Series) -> np.ndarray:
    """No arrow without two finished rounds, or when the factor was not cited at the later one; "new" when it was
    cited at the later round only; else up, down or steady by `CHANGE_THRESHOLD`."""
    delta = latest - before
    return np.select(
        [~had_before.to_numpy(), latest.isna().to_numpy(), before.isna().to_numpy(),
         (delta >= CHANGE_THRESHOLD - _EPSILON).to_numpy(), (delta <= -CHANGE_THRESHOLD + _EPSILON).to_numpy()],
        ["", "", TREND_NEW, TREND_UP, TREND_DOWN],
        default=TREND_STEADY,
    )  # fmt: skip


def _wave_means(sums: pd.DataFrame) -> pd.DataFrame:
    """Mean rating per project × wave × column (factor, or domain: all its factors' ratings together)."""
    return sums.assign(mean=sums.total / sums.n)[["project_code", "wave", "column", "mean"]]


def _rounds_compared(finished: pd.DataFrame, order: dict[str, int], wave: str | None) -> pd.DataFrame:
    """Per project, the wave the trend is measured at (`wave`, or its latest finished round when None) and the
    finished round before it. Whole columns: at 11,000 projects a loop over them took seconds."""
    frame = finished.assign(position=finished.wave.map(order)).sort_values(["project_code", "position"], kind="stable")
    if wave is None:
        last_two = frame.groupby("project_code", sort=False).tail(2)
        latest = last_two.drop_duplicates("project_code", keep="last")[["project_code", "wave"]]
        before = last_two[last_two.duplicated("project_code", keep="last")][["project_code", "wave"]]
        out = latest.rename(columns={"wave": "latest"}).merge(before.rename(columns={"wave": "before"}))
    else:
        before = frame[frame.position < order[wave]].drop_duplicates("project_code", keep="last")
        out = pd.DataFrame({"project_code": before.project_code, "latest": wave, "before": before.wave})
    return out[["project_code", "latest", "before"]].reset_index(drop=True)


def build(
    con: storage.Connection,
    viewer: Viewer,
    wave: str | None,
    domain: str | None,
    today: dt.date,
    shown: tuple[str, ...] | None = None,
) -> Matrix:
    """The matrix at `wave` (None: over the whole year) with the factors of `domain` as columns (None: the
    domains themselves): of every project the viewer sees, or of those `shown` (a screen of the page), whose
    ratings alone are then read. At S = 1000 a screen of 50 projects reads 0.5% of the ratings: PostgreSQL took
    8 s to aggregate all 1.7 million for a page that shows 50 rows."""
    by_domain = domain is None
    factors = storage.list_factors(con)
    order = {w.wave: n for n, w in enumerate(storage.list_waves(con))}
    narrowed = {} if shown is None else {"only": tuple(sorted(shown))}
    read = storage.together(
        con,
        projects=lambda c: storage.project_list(c, viewer),
        cells=lambda c: storage.matrix_cells(c, viewer, wave, by_domain, **narrowed),
        rounds=lambda c: storage.completed_rounds(c, viewer, today),
        sums=lambda c: storage.wave_means(c, viewer, domain, **narrowed),
    )
    projects, cells = read["projects"], read["cells"]
    if shown is not None:
        projects = projects[projects.project_code.isin(shown)]
    compared = _rounds_compared(read["rounds"], order, wave)
    means = _wave_means(read["sums"])
    latest = compared.merge(means, left_on=["project_code", "latest"], right_on=["project_code", "wave"])
    before = compared.merge(means, left_on=["project_code", "before"], right_on=["project_code", "wave"])
    paired = latest[["project_code", "column", "mean"]].merge(
        before[["project_code", "column", "mean"]], on=["project_code", "column"], how="left", suffixes=("", "_before")
    )
    cells = cells.merge(paired, on=["project_code", "column"], how="left", suffixes=("", "_latest"))
    had_before = cells.project_code.isin(compared.project_code)
    cells["trend"] = _trend(cells.mean_latest, cells.mean_before, had_before)
    if by_domain:
        columns = tuple(dict.fromkeys(f.domain for f in factors))
        column_labels = {d: label_of(d) for d in columns}
    else:
        chosen = [f for f in factors if f.domain == domain]
        columns = tuple(f.factor_code for f in chosen)
        # A codebook whose factors are all `either` (CFIR) says nothing by naming the kind.
        one_kind = len({f.kind for f in factors}) == 1
        column_labels = {
            f.factor_code: f.label if one_kind else f"{f.label} ({label_of(f.kind).lower()})" for f in chosen
        }
        cells = cells[cells.column.isin(columns)]
    rows = tuple(projects.project_code)
    labels = dict(zip(projects.project_code, projects.project_code + " · " + projects.name, strict=True))
    kept = ["project_code", "column", "mean", "n_participants", "n_excerpts", "trend"]
    return Matrix(wave, by_domain, cells[kept].reset_index(drop=True), rows, labels, columns, column_labels)


def screen(
    con: storage.Connection,
    viewer: Viewer,
    wave: str | None,
    domain: str | None,
    today: dt.date,
    shown: tuple[str, ...] | None = None,
) -> Screen:
    """A screen of the matrix (`build`) with its `table` and counts, made together so that a page keeps them
    (`ui.shared`) and a rerun only draws them: the table's cell texts took a rerun a fifth of its time."""
    matrix = build(con, viewer, wave, domain, today, shown)
    drawn = table(matrix)
    cited = int(matrix.cells.project_code.isin(matrix.rows).sum())
    return Screen(matrix, drawn, cited, int((drawn == EMPTY).sum().sum()))


@dataclass(frozen=True)
class Screen:
    matrix: Matrix
    table: pd.DataFrame  # as `table` makes it
    cited: int  # cells with a rating
    not_cited: int


def table(matrix: Matrix, rows: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The matrix as the page shows it: one row per project (labelled "CODE · name"), a column per factor or
    domain, each cell "+1.5 ↑ · 3 cited" or "—" where nothing was cited."""
    rows = matrix.rows if rows is None else rows
    text = matrix.cells.assign(
        text=[
            cell_text(m, t, n)
            for m, t, n in zip(matrix.cells["mean"], matrix.cells.trend, matrix.cells.n_participants, strict=True)
        ]
    )
    wide = text.pivot(index="project_code", columns="column", values="text")
    wide = wide.reindex(index=list(rows), columns=list(matrix.columns)).astype(object).fillna(EMPTY)
    wide.index = [matrix.row_labels[code] for code in wide.index]
    wide.columns = [matrix.column_labels[c] for c in wide.columns]
    return wide


def excel(con: storage.Connection, viewer: Viewer, wave: str | None, today: dt.date) -> bytes:
    """The matrix as an Excel workbook, one sheet per domain: each cell holds its summary and, below it, every
    excerpt the viewer may read, wrapped so the sheet reads as a framework matrix when opened."""
    factors = storage.list_factors(con)
    excerpts = storage.matrix_excerpts(con, viewer, wave)
    quotes = (
        excerpts.assign(
            line="“" + excerpts.evidence + "” (" + excerpts.wave_label + ", " + excerpts.participant_code + ")"
        )
        .groupby(["project_code", "factor_code"])
        .line.agg("\n".join)
    )
    book = Workbook()
    book.remove(book.active)
    for domain in dict.fromkeys(f.domain for f in factors):
        matrix = build(con, viewer, wave, domain, today)
        sheet = book.create_sheet(title=label_of(domain)[:31])
        sheet.append(["Project", *[tidy.neutralise(matrix.column_labels[c]) for c in matrix.columns]])
        summaries = {
            (r.project_code, r.column): cell_text(r.mean, r.trend, r.n_participants) for r in matrix.cells.itertuples()
        }
        for code in matrix.rows:
            row = [tidy.neutralise(matrix.row_labels[code])]
            for column in matrix.columns:
                summary = summaries.get((code, column))
                quoted = quotes.get((code, column))
                row.append(EMPTY if summary is None else summary + ("" if quoted is None else "\n" + quoted)[:32_000])
            sheet.append(row)
        _format(sheet, len(matrix.columns))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _format(sheet, n_columns: int) -> None:
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in sheet.iter_rows():
        for cell in row:
            cell.alignment = wrap
            if cell.data_type == "f":  # text that looks like a formula stays text
                cell.data_type = "s"
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 34
    for n in range(2, n_columns + 2):
        sheet.column_dimensions[get_column_letter(n)].width = 42
    sheet.freeze_panes = "B2"
