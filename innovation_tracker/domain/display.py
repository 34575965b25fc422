"""How numbers, dates and stored codes read on a page or in a report: one place, so every table speaks alike.

Pure: no streamlit, no storage. Files keep ISO dates and stored codes; only what people read goes through here.
"""

from __future__ import annotations

import datetime as dt
from typing import SupportsFloat, TypeAlias

import pandas as pd

from innovation_tracker.domain.model import label_of, rating_text, rating_value

EMPTY = "—"
MINUS = "−"  # a typographic minus: columns of signed numbers line up
_FEW = 1000  # rows of a table: up to this many, `readable` builds Python lists rather than casting columns

NumberLike: TypeAlias = SupportsFloat | str | None  # what float() reads, or nothing


def signed(number: NumberLike, digits: int = 1) -> str:
    """+1.5, −0.5, 0 (never "-0" or "+0.0"), "—" for nothing."""
    if number is None or pd.isna(number):
        return EMPTY
    text = f"{float(number):+.{digits}f}"
    return "0" if float(text) == 0 else text.replace("-", MINUS)


def signed_column(values: pd.Series, digits: int = 1) -> pd.Series:
    """`signed` of every value of a column, each distinct value formatted once: a portfolio's thousands of
    balances take a few hundred distinct values once rounded, so this is a lookup per row, not a format."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64").round(digits)
    shown = {value: signed(value, digits) for value in numbers.dropna().unique()}
    return numbers.map(shown).fillna(EMPTY).astype(object)


def number(value: NumberLike, digits: int = 0) -> str:
    """A plain number with thousands separators, never "-0"; "—" for nothing."""
    if value is None or pd.isna(value):
        return EMPTY
    text = f"{float(value):,.{digits}f}"
    return ("0" if float(value) == 0 or text.strip("-0.,") == "" else text).replace("-", MINUS)


def text_or(value: object, default: str = EMPTY) -> str:
    """A stored text, or `default` where there is none (never "None" or "nan")."""
    if value is None or (not isinstance(value, str) and pd.isna(value)) or str(value).strip() == "":
        return default
    return str(value)


def percent(share: NumberLike) -> str:
    """A share (0..1) as "45%"."""
    return EMPTY if share is None or pd.isna(share) else f"{100 * float(share):.0f}%"


def date_text(value: object) -> str:
    """4 Nov 2026 (no time part, no leading zero); "—" for nothing."""
    if value is None or (not isinstance(value, dt.date) and pd.isna(value)):
        return EMPTY
    when = pd.Timestamp(value)
    return f"{when.day} {when:%b %Y}"


def dates_text(column: pd.Series) -> pd.Series:
    """A column of dates as `date_text`, a distinct value at a time."""
    return column.map({v: date_text(v) for v in column.dropna().unique()}).astype(object).fillna(EMPTY).astype(str)


def labels(column: pd.Series) -> pd.Series:
    """Stored codes (`service_user`, `nhs`) as their labels, "—" for nothing."""
    return column.map({v: label_of(str(v)) for v in column.dropna().unique()}).astype(object).fillna(EMPTY).astype(str)


HEADERS = {
    "project_code": "Project",
    "name": "Name",
    "setting": "Setting",
    "relation_to_statutory": "Relation to statutory services",
    "host_organisation": "Host organisation",
    "innovation_type": "Innovation",
    "novelty": "New or existing",
    "start_date": "Start date",
    "status": "Status",
    "project_status": "Status",
    "participant_code": "Participant",
    "role": "Role",
    "enrolment_date": "Enrolled",
    "consent_date": "Consented",
    "withdrawal_date": "Withdrew",
    "wave": "Wave",
    "wave_label": "Wave",
    "interview_date": "Interview date",
    "due_date": "Due",
    "window_open": "Window opens",
    "window_close": "Window closes",
    "mode": "Mode",
    "interviewer": "Interviewer",
    "duration_min": "Minutes",
    "factor_code": "Factor",
    "label": "Factor",
    "domain": "Domain",
    "kind": "Kind",
    "rating": "Rating",
    "excerpt": "Excerpt",
    "milestone_date": "Date",
    "title": "Title",
    "notes": "Notes",
    "email": "E-mail",
}
CODED = {"setting", "relation_to_statutory", "novelty", "status", "project_status", "role", "mode", "domain", "kind"}


def header(column: str) -> str:
    """A readable column header: the known ones by name, any other from its code ("days_late" → "Days late")."""
    return HEADERS.get(column, column.replace("_", " ").capitalize())


def readable(frame: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """A table as people read it: coded columns as labels, dates as "4 Nov 2026", "—" for empty, readable headers.
    Numbers stay numbers (the page's table sorts them). Built a Python list per column: a page's table is a few
    dozen rows, for which pandas' vectorised maps and casts cost ten times the work (15 ms for 50 projects). A
    whole portfolio's table (over `_FEW` rows) is still mapped and cast a column at a time."""
    out = frame[columns] if columns is not None else frame
    few = len(out) <= _FEW
    data: dict[int, object] = {}
    for at, (column, values) in enumerate(out.items()):
        if column in CODED:
            data[at] = _each_distinct(values.tolist(), lambda v: label_of(str(v))) if few else labels(values)
        elif pd.api.types.is_datetime64_any_dtype(values) or (values.dtype == object and _all_dates(values)):
            data[at] = _each_distinct(values.tolist(), date_text) if few else dates_text(values)
        elif pd.api.types.is_numeric_dtype(values):
            data[at] = values.array
        elif few:
            texts, gaps = map(str, values.tolist()), values.isna().tolist()
            data[at] = [EMPTY if gap or text == "" else text for text, gap in zip(texts, gaps, strict=True)]
        else:
            data[at] = values.astype(object).where(values.notna() & (values.astype(str) != ""), EMPTY).astype(str)
    shown = pd.DataFrame(data, index=out.index)
    shown.columns = [header(str(column)) for column in out.columns]  # two columns may read alike ("Wave")
    return shown


def _each_distinct(values: list, show) -> list[str]:
    """`show(value)` of each value, each distinct one shown once; "—" for nothing."""
    shown: dict[object, str] = {}
    return [shown[v] if v in shown else shown.setdefault(v, EMPTY if _missing(v) else show(v)) for v in values]


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _all_dates(values: pd.Series) -> bool:
    """A column of dates (and gaps), with at least one date."""
    present = values.dropna().tolist()
    return bool(present) and all(isinstance(v, dt.date) for v in present)


def ratings(frame: pd.DataFrame) -> list[str]:
    """Each row's rating as people read it: "+2", "−1", "0" (neutral), "X" (mixed, stored as 0 with `mixed`)."""
    mixed = frame["mixed"] if "mixed" in frame.columns else pd.Series(False, index=frame.index)
    return [rating_text(rating_value(int(r), bool(m))) for r, m in zip(frame.rating, mixed.fillna(False), strict=True)]
