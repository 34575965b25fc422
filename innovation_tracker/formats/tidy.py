"""The tidy file contract (DESIGN §5): one table per file, these columns first and in this order.

The contract's columns come first; the extra columns after them carry what an export needs so that
importing it reproduces the study exactly. The same layout is the import template.
"""

from __future__ import annotations

import functools
import io
import zipfile

import pandas as pd

from innovation_tracker.domain.escape import (  # the spreadsheet sink's rule, written once
    FORMULA_STARTS,
    neutralise,
)

# table name -> (contract columns, extra columns). Order is the load order (parents before children).
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "study": ((), ("name", "funder", "start_date", "end_date", "is_demo", "neutral_mixed")),
    "waves": (("wave", "label", "offset_days", "window_before_days", "window_after_days", "default_mode"), ()),
    "codebook": (("factor_code", "domain", "kind", "label", "description"), ("paper_projects", "retired")),
    "indicators": (
        (),
        ("indicator_code", "label", "value_type", "min_value", "max_value", "better", "description", "retired"),
    ),
    "projects": (
        ("project_code", "name", "setting", "host_organisation", "relation_to_statutory", "start_date", "status"),
        ("innovation_type", "novelty"),
    ),
    "participants": (
        ("participant_code", "project_code", "role", "enrolment_date", "status"),
        ("consent_date", "withdrawal_date"),
    ),
    "interviews": (
        (
            "interview_id",
            "participant_code",
            "project_code",
            "wave",
            "interview_date",
            "mode",
            "interviewer",
            "duration_min",
            "status",
        ),
        ("summary",),
    ),
    "factor_ratings": (
        (
            "interview_id",
            "project_code",
            "participant_code",
            "wave",
            "factor_code",
            "domain",
            "kind",
            "rating",
            "evidence",
        ),
        ("shareable", "coder", "mixed"),
    ),
    "sustainability": (("project_code", "wave", "indicator_code", "value"), ()),
    "milestones": ((), ("project_code", "milestone_date", "kind", "title", "notes")),
}

# Tables an export adds for analysts that are computed from the others: import skips them.
DERIVED_TABLES = frozenset({"wide"})

DATE_COLUMNS = frozenset(
    {"start_date", "end_date", "enrolment_date", "consent_date", "withdrawal_date", "interview_date", "milestone_date"}
)


def columns(table: str) -> list[str]:
    contract, extra = TABLES[table]
    return [*contract, *extra]


# Columns added after files were first exported: files written before them are still read (as false).
OPTIONAL_COLUMNS = frozenset({"neutral_mixed", "retired"})


def required_columns(table: str) -> list[str]:
    """Columns an import file must have: the contract's, or all for tables the contract does not name."""
    contract, extra = TABLES[table]
    return list(contract) if contract else [c for c in extra if c not in OPTIONAL_COLUMNS]


FORMATS = ("csv", "xlsx", "parquet")


def neutralised(frame: pd.DataFrame, keep: pd.DataFrame | None = None) -> pd.DataFrame:
    """`frame` as a file the app hands out holds it: every text cell through `neutralise`; numbers, dates and the
    cells `keep` (booleans shaped like `frame`) marks stay as they are."""
    out = frame.copy()
    for n in range(frame.shape[1]):
        values = frame.iloc[:, n]
        if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
            changed = values.map(neutralise, na_action="ignore")
            if keep is not None:
                changed = changed.where(~keep.iloc[:, n].to_numpy(dtype=bool), values)
            out.isetitem(n, changed)
    return out


def csv_bytes(frame: pd.DataFrame, keep: pd.DataFrame | None = None) -> bytes:
    """A CSV file the app hands out (a download, a file the CLI writes): UTF-8, a header, formulas neutralised, and
    lines ended by CRLF as RFC 4180 has it: Python's writer quotes a cell holding a carriage return only when the
    line end holds one, and a lone carriage return left bare ends the row in a spreadsheet."""
    return neutralised(frame, keep).to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def restore_neutralised(value: str) -> str:
    """Undo `neutralise` on import so that export → import reproduces the text exactly."""
    if len(value) > 1 and value[0] == "'" and value.lstrip("'").startswith(FORMULA_STARTS):
        return value[1:]
    return value


def as_text(series: pd.Series) -> pd.Series:
    """Any column as text the way the CSV export writes it: ISO dates, whole numbers without '.0', '' for missing."""
    if isinstance(series.dtype, pd.StringDtype):
        # Already text (a CSV read as str): skip the per-cell work below, which dominates a 100k-row import.
        return series.fillna("").astype(str)
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.strftime("%Y-%m-%d").fillna("")
    if pd.api.types.is_bool_dtype(series):
        return series.map({True: "true", False: "false"}).fillna("").astype(str)
    if pd.api.types.is_float_dtype(series) and series.dropna().mod(1).eq(0).all():
        series = series.astype("Int64")
    text = series.astype(object).map(lambda v: "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v))
    if series.dtype == object:
        text = text.map(lambda v: v[:10] if len(v) == 19 and v.endswith(" 00:00:00") else v)
    return text.astype(str)


def template_frames() -> dict[str, pd.DataFrame]:
    """The import template: every table with its header row and no data, in load order."""
    return {table: pd.DataFrame({c: pd.Series(dtype=str) for c in columns(table)}) for table in TABLES}


@functools.cache  # the same bytes every time: built once per process, not on every rerun of the page
def template_xlsx() -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for table, frame in template_frames().items():
            frame.to_excel(writer, sheet_name=table, index=False)
    return buffer.getvalue()


@functools.cache
def template_zip() -> bytes:
    files = template_frames().items()
    return zip_files({f"{t}.csv": csv_bytes(f) for t, f in files})


def zip_files(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()
