"""Checking tidy tables before anything is written: every problem found, with its file, row, column and rule.

Pure (pandas, pyarrow + domain): the caller gives what the database already holds as a `Reference`, and gets back typed
frames ready to load, or a `ValidationError` listing every problem. Checks are vectorised so a million ratings
take seconds, and only the rows that break a rule become `Problem`s.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from innovation_tracker.domain import codebook as codebook_module
from innovation_tracker.domain.errors import Problem, ValidationError
from innovation_tracker.domain.escape import NEUTRALISED
from innovation_tracker.domain.model import (
    MIXED,
    FactorKind,
    Indicator,
    InterviewStatus,
    MilestoneKind,
    Mode,
    Novelty,
    ParticipantStatus,
    ProjectStatus,
    Relation,
    Role,
    Setting,
    Study,
    Wave,
    label_of,
    normalise_indicator_value,
    rating_scale_text,
    text_limit,
    too_long_message,
)
from innovation_tracker.formats import tidy

MAX_PROBLEMS = 500
LONG_VALUE_SHOWN = 40  # characters of an over-long cell quoted in its problem
MAX_INT = 2**31 - 1
TRUE_TEXT = {"true", "yes", "y", "1"}
FALSE_TEXT = {"false", "no", "n", "0", ""}
LONE_CR = re.compile(rb"\r(?!\n)")


@dataclass
class Reference:
    """What the database already holds, for checking references and duplicates."""

    study: Study | None = None
    waves: list[Wave] = field(default_factory=list)
    factors: list = field(default_factory=list)
    indicators: list[Indicator] = field(default_factory=list)
    projects: set[str] = field(default_factory=set)
    participants: pd.DataFrame | None = None  # participant_code, project_code, enrolment_date, withdrawal_date
    interviews: pd.DataFrame | None = None  # interview_id, participant_code, project_code, wave, status
    max_milestone_id: int = 0
    ratings: pd.DataFrame | None = None  # interview_id, factor_code of the ratings already stored


@dataclass
class Origin:
    """Where each row of a table came from: the file and the row number in it, and the file's own name for each
    column (a REDCap field). A table given in two files, or made from a REDCap export, is checked as one table,
    and every problem still names the file and row a person can open."""

    name: str
    files: list[str]
    file_of: np.ndarray
    row_of: np.ndarray
    fields: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_file(cls, file: str, n: int, *, rows=None, fields=None) -> Origin:
        rows = np.arange(2, n + 2) if rows is None else np.asarray(rows, dtype=np.int64)
        return cls(file, [file], np.zeros(n, dtype=np.int64), rows, dict(fields or {}))

    def then(self, other: Origin) -> Origin:
        """This table's rows followed by `other`'s (the same table given again in another file)."""
        files = [*self.files, *other.files]
        return Origin(
            f"{self.name} + {other.name}",
            files,
            np.concatenate([self.file_of, other.file_of + len(self.files)]),
            np.concatenate([self.row_of, other.row_of]),
            {**other.fields, **self.fields},
        )

    def at(self, pos: int) -> tuple[str, int]:
        if 0 <= pos < len(self.row_of):
            return self.files[int(self.file_of[pos])], int(self.row_of[pos])
        return self.name, pos + 2

    def describe(self, pos: int) -> str:
        file, row = self.at(pos)
        return f"row {row} of {file}"


class Report:
    """Collects problems; stops collecting (but keeps counting) after MAX_PROBLEMS. Problems about a table with an
    `Origin` are pointed at the file, row and column the rows came from.

    It also remembers every cell that broke a rule (`flagged`), listed or not, so that the plan compares a row with
    the stored one on its other cells only; and the tables that could not be checked (`unverified`: a file that
    could not be read, or lacks columns), whose rows other tables may refer to without a problem being reported."""

    def __init__(self, origins: dict[str, Origin] | None = None, unverified: Iterable[str] = ()) -> None:
        self.problems: list[Problem] = []
        self.total = 0
        self.origins: dict[str | None, Origin] = {origin.name: origin for origin in (origins or {}).values()}
        self.unverified: set[str] = set(unverified)
        self.files: dict[str, str] = {}  # table -> the name its problems are reported under
        self._cells: dict[tuple[str, str], list[np.ndarray]] = {}

    def add(self, problem: Problem) -> None:
        self.total += 1
        if problem.file is not None and problem.field is not None and problem.row is not None and problem.row >= 2:
            self.flag(problem.file, problem.field, [problem.row - 2])
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(self._located(problem))

    def flag(self, file: str, column: str, positions) -> None:
        """The cells of `column` at `positions` (of the table reported as `file`) broke a rule."""
        self._cells.setdefault((file, column), []).append(np.asarray(positions, dtype=np.int64))

    def flagged(self, table: str) -> dict[str, np.ndarray]:
        """Column -> the positions of `table`'s cells that broke a rule."""
        file = self.files.get(table, f"{table}.csv")
        return {column: np.concatenate(parts) for (f, column), parts in self._cells.items() if f == file}

    def _located(self, problem: Problem) -> Problem:
        origin = self.origins.get(problem.file)
        if origin is None:
            return problem
        file, row = (origin.files[0], problem.row) if len(origin.files) == 1 else (problem.file, problem.row)
        if problem.row is not None and problem.row >= 2:
            file, row = origin.at(problem.row - 2)
        named = problem.field if problem.field is None else origin.fields.get(problem.field, problem.field)
        return replace(problem, file=file, row=row, field=named)

    def where(self, file: str, pos: int) -> str:
        """A row named as a person finds it: 'row 7 of participants.csv'."""
        origin = self.origins.get(file)
        return origin.describe(pos) if origin else f"row {pos + 2} of {file}"

    def rows(self, mask: pd.Series, frame: pd.DataFrame, file: str, column: str, rule: str, message) -> None:
        """One problem per row where `mask` holds; `message(value)` words it."""
        positions = np.flatnonzero(mask.to_numpy(dtype=bool, na_value=False))
        if not len(positions):
            return
        self.total += len(positions)
        self.flag(file, column, positions)
        for pos in positions[: max(0, MAX_PROBLEMS - len(self.problems))]:
            value = frame[column].iloc[pos] if column in frame.columns else None
            self.problems.append(self._located(Problem(rule, message(value), column, int(pos) + 2, file, value)))

    def raise_if_any(self) -> None:
        if self.problems:
            raise refusal(self.problems, self.total)


def refusal(problems: list[Problem], total: int) -> ValidationError:
    """The error that lists `problems`, saying how many there are in all when only the first are listed."""
    error = ValidationError(problems)
    if total > len(problems):
        error.message += f" … {total} problems in all; the first {len(problems)} are listed"
    return error


def read_file(path: Path) -> dict[str, pd.DataFrame]:
    """A tidy CSV (named after its table), Parquet file, or an Excel workbook with a sheet per table, as text."""
    return read_upload(path.name, path.read_bytes())


def read_upload(name: str, data: bytes) -> dict[str, pd.DataFrame]:
    """`read_file` for bytes that arrive without a path (an upload). Derived tables (`wide`) are skipped. A workbook
    gives its sheets by name: a long table's continuation sheets by their own name (`sheet_table`)."""
    suffix = Path(name).suffix.lower()
    if suffix == ".xlsx":
        return _read_workbook(name, data)
    if suffix not in (".csv", ".parquet"):
        raise ValidationError(Problem("file_type", "only .csv, .xlsx and .parquet files can be imported", file=name))
    if Path(name).stem.lower() in tidy.DERIVED_TABLES:
        return {}
    table = _table_for(Path(name))
    if suffix == ".parquet":
        return {table: _read_parquet(name, data)}
    return {table: read_csv_text(data, name)}


def _read_workbook(name: str, data: bytes) -> dict[str, pd.DataFrame]:
    if not data:
        raise ValidationError(Problem("empty_file", "the file is empty: it needs a sheet per table", file=name))
    try:
        sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises zipfile, KeyError, ValueError … for anything that is not .xlsx
        raise ValidationError(
            Problem(
                "file_format",
                "the file cannot be read as an Excel workbook (.xlsx); save it from Excel as 'Excel Workbook'",
                file=name,
            )
        ) from exc
    sheets = {str(k).strip().lower(): v for k, v in sheets.items()}
    sheets = {k: v for k, v in sheets.items() if sheet_table(k) not in tidy.DERIVED_TABLES}
    unknown = [sheet for sheet in sheets if sheet_table(sheet) not in tidy.TABLES]
    if unknown:
        raise ValidationError(
            Problem(
                "unknown_table",
                f"sheet(s) {unknown} are not tables of the study; expected {', '.join(tidy.TABLES)}",
                file=name,
            )
        )
    return {sheet: _text_frame(frame) for sheet, frame in sheets.items()}


_CONTINUED = re.compile(r"(.+?) \(\d+\)")


def sheet_table(sheet: str) -> str:
    """The table a workbook sheet holds: its name, or the name before ' (2)', ' (3)' … on the sheets that carry
    on a table longer than Excel's 1,048,576 rows (the export writes them so; `storage.exports.XLSX_ROWS`)."""
    continued = _CONTINUED.fullmatch(sheet)
    return continued.group(1) if continued else sheet


def _read_parquet(name: str, data: bytes) -> pd.DataFrame:
    if not data:
        raise ValidationError(Problem("empty_file", "the file is empty", file=name))
    try:
        return _text_frame(pd.read_parquet(io.BytesIO(data)))
    except Exception as exc:  # pyarrow's errors are many and not all share a base class
        raise ValidationError(
            Problem("file_format", f"the file is not a readable Parquet file: {exc}", file=name)
        ) from exc


def _table_for(path: Path) -> str:
    table = path.stem.lower()
    if table not in tidy.TABLES:
        raise ValidationError(
            Problem(
                "unknown_table",
                f"'{path.name}' is not named after a table of the study; "
                f"expected one of {', '.join(t + path.suffix for t in tidy.TABLES)}",
                file=path.name,
            )
        )
    return table


def header_names(data: bytes) -> list[str]:
    """The first row of a CSV, read leniently: enough to tell what kind of file it is before checking it."""
    first = data[:65536].decode("utf-8-sig", errors="replace").splitlines()[:1]
    return [c.strip() for c in next(csv.reader(first), [])] if first else []


def read_csv_text(data: bytes, name: str, *, repeated_columns: bool = False) -> pd.DataFrame:
    """A UTF-8 CSV as text. A repeated column name is refused unless asked for (REDCap's label headers repeat
    "Complete?"); pandas then numbers the repeats ("Complete?.1")."""
    text = _decode(data, name)
    if not text or text.isspace():
        raise ValidationError(Problem("empty_file", "the file is empty: it needs a header row", file=name))
    header = _first_line(text)
    if "," not in header and any(sep in header for sep in (";", "\t", "|")):
        found = next(sep for sep in (";", "\t", "|") if sep in header)
        shown = "tab" if found == "\t" else f"'{found}'"
        raise ValidationError(
            Problem("delimiter", f"columns are separated by {shown}; the tidy format uses commas", row=1, file=name)
        )
    if not repeated_columns:
        _check_header(header, name)
    frame = None if repeated_columns else _read_regular_csv(data, header)
    return _text_frame(_read_any_csv(text, name) if frame is None else frame)


def _first_line(text: str) -> str:
    """`text.splitlines()[0]` without splitting a whole (large) file."""
    size = 4096
    while True:
        lines = text[:size].splitlines()
        # Only a line followed by another is sure to be whole (a prefix may end half-way through it, or its "\r\n").
        if len(lines) > 1 or size >= len(text):
            return lines[0]
        size *= 4


def _read_regular_csv(data: bytes, header: str) -> pd.DataFrame | None:
    """pyarrow's parser, several times faster than pandas' on a large file, for a file it reads the way pandas does:
    named columns, every row as wide as the header, no NUL byte, no lone carriage return, no quote left open. None
    for anything else, which pandas reads (and words the problems of); tests/app/test_import_fast_paths.py holds the
    two parsers to the same result."""
    names = next(csv.reader([header]), [])
    if len(names) < 2 or "" in names or len(set(names)) < len(names) or b"\x00" in data:
        return None
    if b"\r" in data and LONE_CR.search(data):  # pandas reads the line after an empty "\r" line oddly
        return None
    # pyarrow ends a quote left open at the end of the file quietly, where pandas refuses the file: a last row of
    # our own only comes back as a row when every quote was closed.
    end = [f"\x01end{n}" for n in range(len(names))]
    options = pacsv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()),
        null_values=[],
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        table = pacsv.read_csv(
            io.BytesIO(data.removeprefix(codecs.BOM_UTF8) + ("\n" + ",".join(end)).encode()),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=options,
        )
    except pa.ArrowException:
        return None
    if table.num_rows < 2 or table.column_names != names or set(table.schema.types) != {pa.string()}:
        return None
    if [column[-1].as_py() for column in table.columns] != end:
        return None
    return table.slice(0, table.num_rows - 1).to_pandas()


def _read_any_csv(text: str, name: str) -> pd.DataFrame:
    try:
        # Rows longer than the header would otherwise become an index and shift every value one column along.
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(
                io.StringIO(text), dtype=str, keep_default_na=False, quoting=csv.QUOTE_MINIMAL, index_col=False
            )
    except pd.errors.ParserWarning:
        raise ValidationError(_long_row(text, name)) from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise ValidationError(Problem("csv_format", f"the file is not valid CSV: {exc}", file=name)) from exc


def _long_row(text: str, name: str) -> Problem:
    # newline="" as csv wants, so a stray carriage return is a field character rather than a csv.Error.
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        width = len(next(reader))
        for number, fields in enumerate(reader, start=2):
            if len(fields) > width:
                message = f"row {number} has {len(fields)} values but the header {width} names"
                return Problem("csv_format", f"the file is not valid CSV: {message}", row=number, file=name)
    except csv.Error as exc:
        return Problem("csv_format", f"the file is not valid CSV: {exc}", file=name)
    return Problem("csv_format", "the file is not valid CSV: a row has more values than the header names", file=name)


def _decode(data: bytes, name: str) -> str:
    """UTF-8, with or without a byte order mark; anything else is refused rather than guessed (and mangled)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValidationError(
            Problem("encoding", "the file is UTF-16 text, not UTF-8; save it as 'CSV UTF-8' and try again", file=name)
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        raise ValidationError(
            Problem(
                "encoding",
                f"the file is not UTF-8 text: byte 0x{data[exc.start]:02X} on row {row} cannot be read (Latin-1 or "
                "Windows-1252?); save it as 'CSV UTF-8' and try again",
                row=row,
                file=name,
                value=f"0x{data[exc.start]:02X}",
            )
        ) from exc


def _check_header(header: str, name: str) -> None:
    names = [c.strip() for c in next(csv.reader([header]), [])]
    repeated = sorted({c for c in names if names.count(c) > 1})
    if repeated:
        raise ValidationError(
            Problem("duplicate_columns", f"column(s) {', '.join(repeated)} appear more than once", row=1, file=name)
        )


def _text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({str(c).strip(): _restored(tidy.as_text(frame[c]).str.strip()) for c in frame.columns})
    return _without_trailing_blank_rows(out.reset_index(drop=True))


def _without_trailing_blank_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Excel saves rows it once formatted as separators only (`,,,,`) at the end of a CSV: they are not rows."""
    if frame.empty or len(frame.columns) == 0:
        return frame
    filled = (frame != "").any(axis=1).to_numpy()
    if filled[-1]:
        return frame
    last = np.flatnonzero(filled)
    return frame.iloc[: (last[-1] + 1 if len(last) else 0)]


def unknown_columns(table: str, frame: pd.DataFrame, file: str) -> list[str]:
    """Notices for the columns of a tidy file that no table column matches: they are not imported."""
    known = set(tidy.columns(table))
    return [f"{file}: ignored column: {c}" for c in frame.columns if c not in known]


def _restored(text: pd.Series) -> pd.Series:
    """`tidy.restore_neutralised` over a whole column at once."""
    if not text.str.startswith("'").any():  # the usual case, and a much cheaper test than the pattern
        return text
    neutralised = text.str.match(NEUTRALISED)
    return text.where(~neutralised, text.str.slice(1)) if neutralised.any() else text


def check_columns(table: str, frame: pd.DataFrame, file: str, report: Report) -> bool:
    missing = [c for c in tidy.required_columns(table) if c not in frame.columns]
    if missing:
        report.add(Problem("missing_columns", f"missing column(s): {', '.join(missing)}", row=1, file=file))
        return False
    if frame.empty and table not in ("waves", "codebook", "indicators"):
        return True
    return True


def check_lengths(table: str, frame: pd.DataFrame, file: str, report: Report) -> pd.DataFrame:
    """Every cell of the table's columns within its column's limit (`domain.TEXT_LIMITS`, and OTHER_CELL_LIMIT
    for dates, numbers and choices): a longer cell is named with its length and the limit, and quoted only by its
    start. Returns the table with each longer cell cut to that start, for the checks that follow."""
    shortened = frame
    for column in frame.columns.intersection(tidy.columns(table)):
        lengths = frame[column].str.len()
        long = (lengths > text_limit(column)).to_numpy(dtype=bool, na_value=False)
        positions = np.flatnonzero(long)
        if not len(positions):
            continue
        room = max(0, MAX_PROBLEMS - len(report.problems))
        report.total += max(0, len(positions) - room)
        starts = frame[column].str.slice(0, LONG_VALUE_SHOWN) + "…"
        for pos in positions[:room]:
            message = too_long_message(column, int(lengths.iloc[pos]))
            report.add(Problem("too_long", message, column, int(pos) + 2, file, starts.iloc[pos]))
        shortened = shortened.assign(**{column: frame[column].where(~long, starts)})
    return shortened


def _enum(frame, column, enum: type[StrEnum], file, report, required=True) -> pd.Series:
    """Normalise an enumerated column (codes or their labels, any case); report what is not allowed."""
    lookup = {}
    for member in enum:
        lookup[member.value] = member.value
        lookup[label_of(member.value).lower()] = member.value
    text = frame[column] if column in frame.columns else pd.Series([""] * len(frame), dtype=str)
    values = text.str.lower().map(lookup)
    bad = values.isna() & ((text != "") | required)
    allowed = ", ".join(m.value for m in enum)
    report.rows(
        bad,
        frame,
        file,
        column,
        "allowed_values",
        lambda v: f"'{v}' is not one of: {allowed}" if v else f"{column} is required (one of: {allowed})",
    )
    return values.where(values.notna(), None)


def _dates(frame, column, file, report, required=True) -> pd.Series:
    text = frame[column] if column in frame.columns else pd.Series([""] * len(frame), dtype=str)
    parsed = pd.to_datetime(text.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    report.rows(
        parsed.isna() & (text != ""),
        frame,
        file,
        column,
        "date_format",
        lambda v: f"'{v}' is not a date in the form YYYY-MM-DD",
    )
    if required:
        report.rows(text == "", frame, file, column, "required", lambda v: f"{column} is required (YYYY-MM-DD)")
    return parsed


def _ints(frame, column, file, report, required=True, low=None, high=None) -> pd.Series:
    text = frame[column] if column in frame.columns else pd.Series([""] * len(frame), dtype=str)
    numbers = _numbers(text)
    bad = (numbers.isna() & (text != "")) | (numbers.notna() & (numbers % 1 != 0))
    report.rows(bad, frame, file, column, "whole_number", lambda v: f"'{v}' is not a whole number")
    # The database stores these as 32-bit integers; a larger number would fail there rather than here.
    huge = ~bad & (numbers.abs() > MAX_INT)
    report.rows(huge, frame, file, column, "range", lambda v: f"{v} is too large (at most {MAX_INT})")
    bad = bad | huge
    if required:
        report.rows(text == "", frame, file, column, "required", lambda v: f"{column} is required")
    ok = numbers.notna() & ~bad
    if low is not None:
        report.rows(ok & (numbers < low), frame, file, column, "range", lambda v: f"{v} is below the minimum {low}")
    if high is not None:
        report.rows(ok & (numbers > high), frame, file, column, "range", lambda v: f"{v} is above the maximum {high}")
    return numbers.where(~bad).astype("Int64")


def _numbers(text: pd.Series) -> pd.Series:
    """`pd.to_numeric(text, errors="coerce")`; plain whole numbers (the usual column) without it, as it
    converts every value to a Python object on the way."""
    values = pa.array(text.where(text != "", None), type=pa.string(), from_pandas=True)
    # Only digits after an optional minus: pyarrow's cast also takes "0x1F", which pandas does not.
    if pc.any(pc.invert(pc.match_substring_regex(values, r"^-?[0-9]{1,18}$"))).as_py():
        return pd.to_numeric(text, errors="coerce")
    return pd.Series(pc.cast(values, pa.int64()).to_numpy(zero_copy_only=False).astype(float), index=text.index)


def _lookup(text: pd.Series, mapping: dict) -> pd.Series:
    """`text.map(mapping)`, looked up once per distinct value: a million ratings name a few dozen factors."""
    codes, distinct = pd.factorize(text)
    return pd.Series(pd.Series(distinct).map(mapping).array.take(codes, allow_fill=True), index=text.index)


def _bools(frame, column, file, report) -> pd.Series:
    text = frame[column].str.lower() if column in frame.columns else pd.Series([""] * len(frame), dtype=str)
    bad = ~text.isin(TRUE_TEXT | FALSE_TEXT)
    report.rows(bad, frame, file, column, "yes_no", lambda v: f"'{v}' must be true or false")
    return text.isin(TRUE_TEXT)


def _required_text(frame, column, file, report) -> pd.Series:
    text = frame[column]
    report.rows(text == "", frame, file, column, "required", lambda v: f"{column} is required")
    return text


def _optional_text(frame, column) -> pd.Series:
    if column not in frame.columns:
        return pd.Series([None] * len(frame), dtype=object)
    return frame[column].where(frame[column] != "", None)


def _duplicates(frame, keys: list[str], file, report, what: str) -> None:
    """A key given twice in the import (one file, or two files of the same table): both rows are named."""
    dup = frame.duplicated(subset=keys, keep="first").to_numpy()
    if not dup.any():
        return
    first = frame.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    first_pos = pd.Series(np.arange(len(frame))).groupby(first).transform("first").to_numpy()
    positions = np.flatnonzero(dup)
    room = max(0, MAX_PROBLEMS - len(report.problems))
    report.total += max(0, len(positions) - room)
    report.flag(file, keys[-1], positions)
    for pos in positions[:room]:
        key = ", ".join(str(frame[k].iloc[pos]) for k in keys)
        message = f"{what} {key} is given twice: here and on {report.where(file, int(first_pos[pos]))}"
        report.add(Problem("duplicate", message, keys[-1], int(pos) + 2, file, frame[keys[-1]].iloc[pos]))


# What each kind of reference points at: a table given in the import that could not be checked has keys nobody
# knows, so a reference to it that is not found is not reported (the table's own problem is).
REFERENCED = {"project": "projects", "participant": "participants", "wave": "waves", "factor": "codebook",
              "indicator": "indicators", "interview": "interviews"}  # fmt: skip


def _exists(frame, column, known: set, file, report, what: str) -> pd.Series:
    present = frame[column].isin(known)
    report.rows(
        ~present & (frame[column] != "") & (REFERENCED[what] not in report.unverified),
        frame,
        file,
        column,
        "unknown_reference",
        lambda v: f"{what} '{v}' does not exist in the study or in the import",
    )
    return present


def _prepare_study(frame, file, ref: Reference, report) -> tuple[pd.DataFrame, Study | None]:
    found_before = report.total
    if len(frame) != 1:
        report.add(Problem("one_row", f"study must have exactly one row, not {len(frame)}", file=file))
        return frame.iloc[0:0], ref.study
    start = _dates(frame, "start_date", file, report)
    end = _dates(frame, "end_date", file, report)
    name = _required_text(frame, "name", file, report)
    if start.notna().all() and end.notna().all() and not (end > start).all():
        report.add(Problem("date_order", "end_date must be after start_date", "end_date", 2, file))
    out = pd.DataFrame(
        {
            "name": name,
            "funder": _optional_text(frame, "funder"),
            "start_date": start,
            "end_date": end,
            "is_demo": _bools(frame, "is_demo", file, report),
            "neutral_mixed": _bools(frame, "neutral_mixed", file, report),
        }
    )
    if report.total > found_before or out.empty:
        return out.iloc[0:0], ref.study
    study = Study(
        out.name[0],
        out.start_date[0].date(),
        out.end_date[0].date(),
        out.funder[0],
        bool(out.is_demo[0]),
        bool(out.neutral_mixed[0]),
    )
    if ref.study is not None:
        if (study.name, study.start_date, study.end_date) != (ref.study.name, ref.study.start_date, ref.study.end_date):
            report.add(
                Problem(
                    "different_study",
                    f"the database already holds the study '{ref.study.name}' "
                    f"({ref.study.start_date} to {ref.study.end_date}); import into a new database "
                    "to load another study",
                    file=file,
                )
            )
        return out.iloc[0:0], ref.study
    return out, study


def _prepare_waves(frame, file, ref: Reference, report) -> tuple[pd.DataFrame, list[Wave]]:
    found_before = report.total
    codes = frame["wave"]
    bad = ~codes.str.fullmatch(r"[a-z][a-z0-9_]*")
    report.rows(
        bad,
        frame,
        file,
        "wave",
        "code_format",
        lambda v: f"wave code '{v}' must be lower case letters, digits and _, starting with a letter",
    )
    _duplicates(frame, ["wave"], file, report, "wave")
    out = pd.DataFrame(
        {
            "wave": codes,
            "label": _required_text(frame, "label", file, report),
            "position": range(1, len(frame) + 1),
            "offset_days": _ints(frame, "offset_days", file, report, low=0),
            "window_before_days": _ints(frame, "window_before_days", file, report, low=0),
            "window_after_days": _ints(frame, "window_after_days", file, report, low=0),
            "default_mode": _enum(frame, "default_mode", Mode, file, report),
        }
    )
    if frame.empty:
        report.add(Problem("empty", "the schedule needs at least one wave", file=file))
    if report.total > found_before:
        return out.iloc[0:0], ref.waves
    waves = [
        Wave(
            r.wave,
            r.label,
            int(r.offset_days),
            int(r.window_before_days),
            int(r.window_after_days),
            Mode(r.default_mode),
        )
        for r in out.itertuples()
    ]
    if ref.waves:
        if waves != ref.waves:
            report.add(
                Problem(
                    "different_schedule",
                    "the waves differ from the study's schedule; change the schedule "
                    "in the settings, not through an import",
                    file=file,
                )
            )
        return out.iloc[0:0], ref.waves
    return out, waves


def _prepare_reference_list(table, frame, file, ref_items, parse, report):
    """Codebook or indicator set: parsed by the codebook module's row rules, loaded only into an empty study."""
    try:
        items = parse(frame.to_dict("records"), file)
    except ValidationError as error:
        for problem in error.problems:
            report.add(problem)
        return frame.iloc[0:0], ref_items
    if ref_items:
        if "retired" not in frame.columns:  # a file from before the flag was exported says nothing about it
            ref_items = [replace(item, retired=False) for item in ref_items]
        if items != ref_items:
            report.add(
                Problem(
                    "different_" + table,
                    f"{file} differs from the study's {table}; change it in the settings, not through an import",
                    file=file,
                )
            )
        return frame.iloc[0:0], ref_items
    records = [{**vars(item), "position": n} for n, item in enumerate(items, start=1)]
    out = pd.DataFrame.from_records(records)
    for column in ("kind", "value_type"):
        if column in out.columns:
            out[column] = out[column].map(str)
    return out, items


def _prepare_projects(frame, file, ref: Reference, report) -> tuple[pd.DataFrame, set[str]]:
    codes = frame["project_code"]
    report.rows(
        ~codes.str.fullmatch(r"[A-Z][A-Z0-9_-]{0,15}"),
        frame,
        file,
        "project_code",
        "code_format",
        lambda v: f"project code '{v}' must be 1–16 upper-case letters, digits, - or _, starting with a letter",
    )
    _duplicates(frame, ["project_code"], file, report, "project code")
    out = pd.DataFrame(
        {
            "project_code": codes,
            "name": _required_text(frame, "name", file, report),
            "setting": _enum(frame, "setting", Setting, file, report),
            "host_organisation": _optional_text(frame, "host_organisation"),
            "relation_to_statutory": _enum(frame, "relation_to_statutory", Relation, file, report),
            "start_date": _dates(frame, "start_date", file, report, required=False),
            "status": _enum(frame, "status", ProjectStatus, file, report),
            "innovation_type": _optional_text(frame, "innovation_type"),
            "novelty": _enum(frame, "novelty", Novelty, file, report, required=False),
        }
    )
    return out, ref.projects | set(codes)


def _prepare_participants(frame, file, ref: Reference, study: Study | None, today, report) -> pd.DataFrame:
    codes = frame["participant_code"]
    report.rows(
        ~codes.str.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}"),
        frame,
        file,
        "participant_code",
        "code_format",
        lambda v: f"participant code '{v}' must be 1–32 letters, digits, - or _ (a pseudonymous code, never a name)",
    )
    _duplicates(frame, ["participant_code"], file, report, "participant code")
    _exists(frame, "project_code", ref.projects, file, report, "project")
    enrolment = _dates(frame, "enrolment_date", file, report)
    consent = _dates(frame, "consent_date", file, report, required=False)
    withdrawal = _dates(frame, "withdrawal_date", file, report, required=False)
    status = _enum(frame, "status", ParticipantStatus, file, report)
    report.rows(
        (status == "withdrawn") & withdrawal.isna() & (frame.get("withdrawal_date", "") == ""),
        frame,
        file,
        "withdrawal_date",
        "withdrawal_date",
        lambda v: "a withdrawn participant needs a withdrawal_date",
    )
    report.rows(
        (status == "active") & withdrawal.notna(),
        frame,
        file,
        "withdrawal_date",
        "withdrawal_date",
        lambda v: f"withdrawal_date {v} is set but the status is active; set the status to withdrawn",
    )
    report.rows(
        withdrawal < enrolment,
        frame,
        file,
        "withdrawal_date",
        "date_order",
        lambda v: f"withdrawal date {v} is before the enrolment date",
    )
    report.rows(
        enrolment > pd.Timestamp(today),
        frame,
        file,
        "enrolment_date",
        "future_date",
        lambda v: f"enrolment date {v} is in the future (today is {today})",
    )
    report.rows(
        withdrawal > pd.Timestamp(today),
        frame,
        file,
        "withdrawal_date",
        "future_date",
        lambda v: f"withdrawal date {v} is in the future (today is {today}); record a withdrawal when it happens",
    )
    if study is not None:
        outside = (enrolment < pd.Timestamp(study.start_date)) | (enrolment > pd.Timestamp(study.end_date))
        report.rows(
            outside,
            frame,
            file,
            "enrolment_date",
            "study_window",
            lambda v: f"enrolment date {v} is outside the study window {study.start_date} to {study.end_date}",
        )
    return pd.DataFrame(
        {
            "participant_code": codes,
            "project_code": frame["project_code"],
            "role": _enum(frame, "role", Role, file, report),
            "enrolment_date": enrolment,
            "consent_date": consent,
            "status": status,
            "withdrawal_date": withdrawal,
        }
    )


def _prepare_interviews(
    frame, file, ref: Reference, study: Study | None, waves: list[Wave], people: pd.DataFrame, today: dt.date, report
) -> pd.DataFrame:
    ids = _ints(frame, "interview_id", file, report, low=1)
    _duplicates(frame, ["interview_id"], file, report, "interview")
    present = _exists(frame, "participant_code", set(people.participant_code), file, report, "participant")
    _exists(frame, "wave", {w.wave for w in waves}, file, report, "wave")
    _duplicates(frame, ["participant_code", "wave"], file, report, "the interview of participant and wave")
    if ref.interviews is not None and len(ref.interviews):
        _stored_interview_clashes(frame, ids, ref.interviews, file, report)
    # A participant given twice is already reported; one row each keeps `person` aligned with `frame`.
    person = frame[["participant_code"]].merge(
        people.drop_duplicates("participant_code"), how="left", on="participant_code"
    )
    mismatch = present & (frame["project_code"] != "") & (person["project_code"] != frame["project_code"])
    report.rows(
        mismatch,
        frame,
        file,
        "project_code",
        "mismatch",
        lambda v: f"project_code '{v}' is not the participant's project",
    )
    date = _dates(frame, "interview_date", file, report)
    _interview_date_rules(frame, file, date, person, study, today, report)
    out = pd.DataFrame(
        {
            "interview_id": ids,
            "participant_code": frame["participant_code"],
            "wave": frame["wave"],
            "interview_date": date,
            "mode": _enum(frame, "mode", Mode, file, report),
            "interviewer": _optional_text(frame, "interviewer"),
            "duration_min": _ints(frame, "duration_min", file, report, required=False, low=1, high=600),
            "status": _enum(frame, "status", InterviewStatus, file, report),
            "summary": _optional_text(frame, "summary"),
        }
    )
    return out


def _stored_interview_clashes(frame, ids: pd.Series, stored: pd.DataFrame, file, report) -> None:
    """An interview is the same one when its id is: its participant and wave cannot move, and another id cannot
    take a participant's wave that a stored interview holds. Both rows are named."""
    stored = stored.assign(interview_id=stored.interview_id.astype("Int64"))
    by_id = pd.DataFrame({"interview_id": ids}).merge(
        stored[["interview_id", "participant_code", "wave"]], how="left", on="interview_id"
    )
    moved = by_id["participant_code"].notna() & (
        (by_id["participant_code"] != frame["participant_code"]) | (by_id["wave"] != frame["wave"])
    )
    report.rows(
        moved,
        frame,
        file,
        "interview_id",
        "duplicate",
        lambda v: f"interview {v} is stored for another participant or wave; an import cannot move an interview",
    )
    by_key = frame[["participant_code", "wave"]].merge(
        stored[["participant_code", "wave", "interview_id"]], how="left", on=["participant_code", "wave"]
    )
    other = by_key["interview_id"].notna() & ids.notna() & (by_key["interview_id"] != ids)
    other = other.fillna(False)
    clashes = np.flatnonzero(other.to_numpy())
    report.total += max(0, len(clashes) - MAX_PROBLEMS)
    report.flag(file, "interview_id", clashes)
    for pos in clashes[:MAX_PROBLEMS]:
        stored_id = by_key["interview_id"].iloc[pos]
        report.add(
            Problem(
                "duplicate",
                f"participant {frame['participant_code'].iloc[pos]} already has a {frame['wave'].iloc[pos]} "
                f"interview in the study: interview {stored_id}, not {ids.iloc[pos]} (one per participant and wave)",
                "interview_id",
                int(pos) + 2,
                file,
                frame["interview_id"].iloc[pos],
            )
        )


def _interview_date_rules(frame, file, date, person, study, today, report) -> None:
    """The same rules as `domain.check_interview_date`, over whole columns."""
    column = "interview_date"
    enrolment = pd.to_datetime(person["enrolment_date"])
    withdrawal = pd.to_datetime(person["withdrawal_date"])
    report.rows(
        date > pd.Timestamp(today),
        frame,
        file,
        column,
        "future_date",
        lambda v: f"interview date {v} is in the future (today is {today})",
    )
    early = date < enrolment
    report.rows(
        early,
        frame,
        file,
        column,
        "before_enrolment",
        lambda v: f"interview date {v} is before the participant's enrolment",
    )
    report.rows(
        date > withdrawal,
        frame,
        file,
        column,
        "after_withdrawal",
        lambda v: f"interview date {v} is after the participant withdrew",
    )
    if study is not None:
        report.rows(
            date < pd.Timestamp(study.start_date),
            frame,
            file,
            column,
            "before_study",
            lambda v: f"interview date {v} is before the study started on {study.start_date}",
        )
        report.rows(
            date > pd.Timestamp(study.end_date),
            frame,
            file,
            column,
            "after_study",
            lambda v: f"interview date {v} is after the study window closed on {study.end_date}",
        )


def _prepare_ratings(frame, file, factors, interviews: pd.DataFrame, report, neutral_mixed=False) -> pd.DataFrame:
    ids = _ints(frame, "interview_id", file, report)
    by_code = {f.factor_code: f for f in factors}
    known_factor = _exists(frame, "factor_code", set(by_code), file, report, "factor")
    _duplicates(frame, ["interview_id", "factor_code"], file, report, "interview and factor")
    found = pd.DataFrame({"interview_id": ids}).merge(
        interviews.assign(interview_id=interviews.interview_id.astype("Int64")), how="left", on="interview_id"
    )
    has_interview = found["participant_code"].notna() & ids.notna()
    report.rows(
        ~has_interview & ids.notna() & ("interviews" not in report.unverified),
        frame,
        file,
        "interview_id",
        "unknown_reference",
        lambda v: f"interview {v} does not exist in the study or in the import",
    )
    report.rows(
        has_interview & (found["status"] != "completed"),
        frame,
        file,
        "interview_id",
        "not_completed",
        lambda v: f"interview {v} was not completed, so it cannot carry ratings",
    )
    for column in ("project_code", "participant_code", "wave"):
        if column in frame.columns:
            # an interview whose participant is unknown has no project to match: that is its own problem
            wrong = has_interview & found[column].notna() & (frame[column] != "") & (frame[column] != found[column])
            report.rows(
                wrong, frame, file, column, "mismatch", lambda v, c=column: f"{c} '{v}' does not match interview's {c}"
            )
    for column in ("domain", "kind"):
        if column in frame.columns:
            expected = _lookup(frame["factor_code"], {code: str(getattr(f, column)) for code, f in by_code.items()})
            wrong = known_factor & (frame[column] != "") & (frame[column] != expected)
            report.rows(
                wrong,
                frame,
                file,
                column,
                "mismatch",
                lambda v, c=column: f"{c} '{v}' does not match the codebook's {c} for this factor",
            )
    rating, mixed = _rating_rules(frame, file, by_code, known_factor, report, neutral_mixed)
    return pd.DataFrame(
        {
            "interview_id": ids,
            "factor_code": frame["factor_code"],
            "rating": rating,
            "evidence": _optional_text(frame, "evidence"),
            "shareable": _bools(frame, "shareable", file, report) if "shareable" in frame.columns else False,
            "coder": _optional_text(frame, "coder"),
            "mixed": mixed,
        }
    )


def _rating_rules(frame, file, by_code, known_factor, report, neutral_mixed=False) -> tuple[pd.Series, pd.Series]:
    """The same rules as `domain.check_rating`, over whole columns. X (mixed) is written "X" in the rating column
    or as `mixed` true with rating 0 (as exported); both only where the codebook declares them."""
    text = frame["rating"].str.strip()
    x_given = text.str.upper() == MIXED
    flagged = _bools(frame, "mixed", file, report) if "mixed" in frame.columns else pd.Series(False, index=frame.index)
    rating = _ints(frame.assign(rating=text.where(~x_given, "0")), "rating", file, report)
    mixed = x_given | flagged
    scale = rating_scale_text(neutral_mixed)
    if neutral_mixed:
        out_of_range = (rating.abs() > 2).fillna(False)
        report.rows(
            flagged & ~x_given & (rating != 0).fillna(False),
            frame,
            file,
            "mixed",
            "rating_range",
            lambda v: "a mixed (X) rating has rating 0 or X",
        )
    else:
        out_of_range = rating.isin([0]).fillna(False) | (rating.abs() > 2).fillna(False) | mixed
    report.rows(
        out_of_range,
        frame,
        file,
        "rating",
        "rating_range",
        lambda v: f"rating {v} must be {scale}" + ("" if neutral_mixed else " (absent factors get no rating, not 0)"),
    )
    kind = _lookup(frame["factor_code"], {code: f.kind.value for code, f in by_code.items()})
    positive = (rating > 0).fillna(False)
    negative = (rating < 0).fillna(False)
    for wrong_sign, factor_kind, need in (
        (positive, FactorKind.BARRIER, "negative (−1 or −2)"),
        (negative, FactorKind.FACILITATOR, "positive (+1 or +2)"),
    ):
        mask = known_factor & wrong_sign & (kind == factor_kind.value)
        report.rows(
            mask,
            frame,
            file,
            "rating",
            "rating_sign",
            lambda v, k=factor_kind, n=need: f"rating {v}: the factor is a {k.value}, so its rating must be {n}",
        )
    return rating, mixed


def _prepare_sustainability(frame, file, projects, waves, indicators: list[Indicator], report) -> pd.DataFrame:
    _exists(frame, "project_code", projects, file, report, "project")
    _exists(frame, "wave", {w.wave for w in waves}, file, report, "wave")
    by_code = {i.indicator_code: i for i in indicators}
    known = _exists(frame, "indicator_code", set(by_code), file, report, "indicator")
    _duplicates(frame, ["project_code", "wave", "indicator_code"], file, report, "project, wave and indicator")
    values = pd.Series([None] * len(frame), dtype=object)
    # Few distinct (indicator, value) pairs exist, so check each pair once.
    pairs = frame.loc[known, ["indicator_code", "value"]].drop_duplicates()
    canonical = {}
    for code, raw in pairs.itertuples(index=False):
        canonical[(code, raw)] = normalise_indicator_value(by_code[code], raw)
    for pos, (code, raw) in enumerate(zip(frame["indicator_code"], frame["value"], strict=True)):
        if (code, raw) in canonical:
            value, problems = canonical[(code, raw)]
            values.iloc[pos] = value
            for p in problems:
                report.add(Problem(p.rule, p.message, "value", pos + 2, file, raw))
    return pd.DataFrame(
        {
            "project_code": frame["project_code"],
            "wave": frame["wave"],
            "indicator_code": frame["indicator_code"],
            "value": values,
        }
    )


def _prepare_milestones(frame, file, projects, study, ref: Reference, report) -> pd.DataFrame:
    _exists(frame, "project_code", projects, file, report, "project")
    date = _dates(frame, "milestone_date", file, report)
    if study is not None:
        report.rows(
            date > pd.Timestamp(study.end_date),
            frame,
            file,
            "milestone_date",
            "after_study",
            lambda v: f"milestone date {v} is after the study window closed on {study.end_date}",
        )
    return pd.DataFrame(
        {
            "milestone_id": range(ref.max_milestone_id + 1, ref.max_milestone_id + 1 + len(frame)),
            "project_code": frame["project_code"],
            "milestone_date": date,
            "kind": _enum(frame, "kind", MilestoneKind, file, report),
            "title": _required_text(frame, "title", file, report),
            "notes": _optional_text(frame, "notes"),
        }
    )


def prepare(
    tables: dict[str, pd.DataFrame], ref: Reference, today: dt.date, origins: dict[str, Origin] | None = None
) -> dict[str, pd.DataFrame]:
    """Check every table against the rules and against what exists; typed frames in load order, or raise."""
    out, report = check(tables, ref, today, origins)
    report.raise_if_any()
    return out


def check(
    tables: dict[str, pd.DataFrame],
    ref: Reference,
    today: dt.date,
    origins: dict[str, Origin] | None = None,
    *,
    unreadable: Iterable[str] = (),
) -> tuple[dict[str, pd.DataFrame], Report]:
    """Every rule over every table, whatever else is wrong: the typed frames in load order (a cell that breaks a
    rule is blank or as given, and flagged in the report) and the report of every problem, so that one refusal
    lists them all.

    Rows whose key the study already holds are checked like any other row (they may be unchanged, or changes):
    the plan (`sync`) tells them apart. What a row refers to may be in the study or in the same import, and a row
    of the import stands in for the stored row with its key. A table that cannot be checked (in `unreadable`, its
    file could not be read; or it lacks columns) is left out, and so are the problems of rows that refer to what
    it might hold: its own problem says what to fix first.
    """
    origins = origins or {}
    report = Report(origins, unreadable)
    files = {table: origin.name for table, origin in origins.items()}
    report.files = dict(files)
    unknown = [t for t in tables if t not in tidy.TABLES]
    for table in unknown:
        report.add(Problem("unknown_table", f"'{table}' is not a table of the study", file=files.get(table, table)))
    present = {
        t: f for t, f in tables.items() if t in tidy.TABLES and check_columns(t, f, files.get(t, f"{t}.csv"), report)
    }
    report.unverified |= {t for t in tables if t in tidy.TABLES and t not in present}
    given = set(tables) | report.unverified
    # Listed with every other problem, not before them; a cell past its limit is checked further by its start only,
    # so a rule it also breaks quotes 40 characters, not a megabyte.
    present = {table: check_lengths(table, frame, files.get(table, f"{table}.csv"), report)
               for table, frame in present.items()}  # fmt: skip

    def name(table):
        return files.get(table, f"{table}.csv")

    out: dict[str, pd.DataFrame] = {}
    study, waves, factors, indicators = ref.study, ref.waves, ref.factors, ref.indicators
    if "study" in present:
        out["study"], study = _prepare_study(present["study"], name("study"), ref, report)
    if study is None and "study" not in given:
        report.add(
            Problem(
                "no_study",
                "the database holds no study yet: include study.csv (name, start_date, end_date) or run `init` first",
                file=name("study"),
            )
        )
    if "waves" in present:
        out["waves"], waves = _prepare_waves(present["waves"], name("waves"), ref, report)
    if "codebook" in present:
        out["codebook"], factors = _prepare_reference_list(
            "codebook", present["codebook"], name("codebook"), ref.factors, codebook_module.parse_codebook, report
        )
    if "indicators" in present:
        out["indicators"], indicators = _prepare_reference_list(
            "indicators",
            present["indicators"],
            name("indicators"),
            ref.indicators,
            codebook_module.parse_indicators,
            report,
        )
    # A schedule, codebook or indicator set given for a new study but refused: what refers to it is not checked.
    for table, items in (("waves", waves), ("codebook", factors), ("indicators", indicators)):
        if table in given and not items:
            report.unverified.add(table)
    projects = ref.projects
    if "projects" in present:
        out["projects"], projects = _prepare_projects(present["projects"], name("projects"), ref, report)
    people = ref.participants if ref.participants is not None else _empty_people()
    people = people.assign(
        enrolment_date=pd.to_datetime(people.enrolment_date), withdrawal_date=pd.to_datetime(people.withdrawal_date)
    )
    if "participants" in present:
        scoped = Reference(**{**vars(ref), "projects": projects})
        new_people = _prepare_participants(present["participants"], name("participants"), scoped, study, today, report)
        out["participants"] = new_people
        kept = people[~people.participant_code.isin(set(new_people.participant_code))]
        incoming = new_people.drop_duplicates("participant_code")[people.columns]
        people = pd.concat([kept, incoming], ignore_index=True) if len(kept) else incoming.reset_index(drop=True)
    interviews = ref.interviews if ref.interviews is not None else _empty_interviews()
    if "interviews" in present:
        new = _prepare_interviews(present["interviews"], name("interviews"), ref, study, waves, people, today, report)
        out["interviews"] = new
        added = new.drop_duplicates("interview_id").merge(
            people[["participant_code", "project_code"]], how="left", on="participant_code"
        )
        kept = interviews[~interviews.interview_id.astype("Int64").isin(new.interview_id.dropna())]
        interviews = pd.concat([kept, added[interviews.columns]], ignore_index=True)
    if "factor_ratings" in present:
        out["factor_ratings"] = _prepare_ratings(
            present["factor_ratings"],
            name("factor_ratings"),
            factors,
            interviews,
            report,
            neutral_mixed=bool(study and study.neutral_mixed),
        )
    if "sustainability" in present:
        out["sustainability"] = _prepare_sustainability(
            present["sustainability"], name("sustainability"), projects, waves, indicators, report
        )
    if "milestones" in present:
        out["milestones"] = _prepare_milestones(present["milestones"], name("milestones"), projects, study, ref, report)
    return {t: out[t] for t in tidy.TABLES if t in out}, report


def _empty_people() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype=object) for c in ("participant_code", "project_code", "enrolment_date", "withdrawal_date")}
    )


def _empty_interviews() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "interview_id": pd.Series(dtype="Int64"),
            **{c: pd.Series(dtype=object) for c in ("participant_code", "project_code", "wave", "status")},
        }
    )
