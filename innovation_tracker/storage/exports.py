"""Reads behind exports for analysts: aggregated in SQL and scoped by viewer like every other read."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pandas as pd

from innovation_tracker.domain.escape import ESCAPED, PLAIN_NUMBER
from innovation_tracker.domain.model import Viewer
from innovation_tracker.storage.access import query, scope_params, scoped_read, scoped_sql
from innovation_tracker.storage.db import Connection
from innovation_tracker.storage.study import EXPORT_SQL

WIDE_KEYS = ("project_code", "wave", "wave_label", "n_interviews")
_FACTOR_CODE = re.compile(r"[a-z][a-z0-9_]*")


def _factor_column(code: str) -> str:
    # The schema's CHECK guarantees the pattern; checking again keeps the code safe to write into the SQL.
    if not _FACTOR_CODE.fullmatch(code):
        raise ValueError(f"unexpected factor code {code!r}")
    return f"factor_{code}" if code in WIDE_KEYS else code


def wide_sql(con: Connection) -> str:
    codes = [row[0] for row in con.execute("SELECT factor_code FROM factor ORDER BY position").fetchall()]
    means = "".join(
        f", round(avg(r.rating) FILTER (WHERE r.factor_code = '{code}'), 3) AS \"{_factor_column(code)}\""
        for code in codes
    )
    return f"""
        SELECT p.project_code, i.wave, any_value(w.label) AS wave_label,
               count(DISTINCT i.interview_id) AS n_interviews{means}
        FROM interview i JOIN participant p USING (participant_code) JOIN wave w ON w.wave = i.wave
        LEFT JOIN factor_rating r ON r.interview_id = i.interview_id
        WHERE i.status = 'completed'
        GROUP BY p.project_code, i.wave, w.position
        ORDER BY p.project_code, w.position
        """


@scoped_read
def wide_table(con: Connection, viewer: Viewer) -> pd.DataFrame:
    """One row per project × wave with a completed interview: how many, and each factor's mean rating."""
    return query(con, viewer, wide_sql(con))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# The escaping rule (docs/data-formats.md; escape.neutralise): text that starts with = + - @, a tab or a carriage
# return, after any apostrophes, gets one more apostrophe in front unless it is a plain number, so no spreadsheet
# runs it as a formula and an import takes exactly one off again. The patterns are domain.escape's: written once.
NEUTRALISE = (
    f"CASE WHEN regexp_matches({{c}}, {_literal(ESCAPED)}) AND NOT regexp_matches({{c}}, "
    f"{_literal(PLAIN_NUMBER)}) THEN '''' || {{c}} ELSE {{c}} END AS {{c}}"
)


def export_queries(con: Connection, viewer: Viewer) -> dict[str, tuple[str, dict]]:
    """Each exported table's query as `viewer` may see it, formulas neutralised in its text columns in SQL:
    (sql, parameters). The same queries feed the files and the benchmark's floor."""
    out = {}
    for table, sql in {**EXPORT_SQL, "wide": wide_sql(con)}.items():
        scoped, params = scoped_sql(viewer, sql), scope_params(viewer, None)
        columns = con.execute(f"DESCRIBE {scoped}", params).fetchall()
        select = ", ".join(
            NEUTRALISE.format(c=_quoted(name)) if kind == "VARCHAR" else _quoted(name) for name, kind, *_ in columns
        )
        out[table] = (f"SELECT {select} FROM ({scoped}) AS q", params)
    return out


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def copy_export(con: Connection, viewer: Viewer, out_dir: Path, fmt: str) -> dict[str, int]:
    """The study as `viewer` may see it (`export_queries`), written by DuckDB itself: a file per table (csv,
    parquet), or one workbook through openpyxl's write-only mode (xlsx). Rows written per table."""
    queries = export_queries(con, viewer)
    if fmt == "xlsx":
        return _workbook(con, queries, out_dir / "study.xlsx")
    # DuckDB quotes a value holding `#` unless told there are no comments; PostgreSQL (and every reader the import
    # uses) has no comments either: the same bytes on both backends.
    options = "FORMAT csv, HEADER, COMMENT ''" if fmt == "csv" else "FORMAT parquet"
    counts = {}
    for table, (sql, params) in queries.items():
        target = str(out_dir / f"{table}.{fmt}").replace("'", "''")
        counts[table] = con.execute(f"COPY ({sql}) TO '{target}' ({options})", params).fetchall()[0][0]
    return counts


# Excel's sheets end at row 1,048,576: a longer table carries on in sheets named "factor_ratings (2)" and so on,
# each with the header row; an import reads them back as the one table (importer.sheet_table).
XLSX_ROWS = 1_048_576


def _workbook(con: Connection, queries: dict[str, tuple[str, dict]], path: Path) -> dict[str, int]:
    # Write-only mode streams each row to a temporary file; with lxml installed openpyxl serialises through it
    # with a third of the Python calls of its pure-Python fallback (benchmarks/results/transfer-s100-xlsx.md).
    # Per cell, openpyxl's own work is then the whole cost.
    workbook = openpyxl.Workbook(write_only=True)
    counts = {}
    for table, (sql, params) in queries.items():
        result = con.execute(sql, params)
        header = [d[0] for d in result.description]
        sheet, room, sheets = workbook.create_sheet(table), XLSX_ROWS - 1, 1
        sheet.append(header)
        n = 0
        while batch := result.fetchmany(10_000):
            while batch:
                if not room:
                    sheets += 1
                    sheet, room = workbook.create_sheet(f"{table} ({sheets})"), XLSX_ROWS - 1
                    sheet.append(header)
                part, batch = batch[:room], batch[room:]
                for row in part:
                    sheet.append(row)
                room -= len(part)
                n += len(part)
        counts[table] = n
    workbook.save(path)
    return counts
