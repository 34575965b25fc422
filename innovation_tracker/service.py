"""The product's API: what the CLI and the pages call. Each function is one user action, all or nothing."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import accounts, redcap, storage, tidy
from .codebook import load_codebook, load_indicators
from .domain import DEFAULT_WAVES, SYSTEM_VIEWER, Study, Viewer
from .errors import AccessDenied, Problem, ValidationError
from .importer import Reference, header_names, prepare, read_csv_text, read_upload

SYSTEM_ACTOR = "system"


def reference(con: storage.Connection, *, with_ratings: bool = False) -> Reference:
    """What an import is checked against; the stored ratings only when the import adds ratings."""
    ratings = storage.known_ratings(con) if with_ratings else None
    return Reference(
        study=storage.get_study(con),
        waves=storage.list_waves(con),
        factors=storage.list_factors(con),
        indicators=storage.list_indicators(con),
        projects=storage.known_keys(con, "projects", "project_code"),
        participants=storage.known_participants(con),
        interviews=storage.known_interviews(con),
        max_milestone_id=storage.max_milestone_id(con),
        ratings=ratings,
    )


def import_tables(
    con: storage.Connection,
    tables: dict[str, pd.DataFrame],
    *,
    today: dt.date,
    actor: str,
    source: str,
    files: dict[str, str] | None = None,
) -> dict[str, int]:
    """Check everything first; write everything in one transaction, or nothing."""
    text = {table: pd.DataFrame({c: tidy.as_text(frame[c]) for c in frame.columns}) for table, frame in tables.items()}
    ready = prepare(text, reference(con, with_ratings="factor_ratings" in tables), today, files)
    return storage.write(con, lambda cur: storage.insert_frames(cur, ready, actor=actor, source=source))


def import_files(con: storage.Connection, paths: Iterable[Path], *, today: dt.date, actor: str) -> dict[str, int]:
    uploads = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise ValidationError(Problem("missing_file", f"{path} does not exist", file=str(path)))
        uploads.append((path.name, path.read_bytes()))
    return run_import(con, read_import(con, uploads), today=today, actor=actor)


def init_study(
    con: storage.Connection,
    study: Study,
    *,
    actor: str = SYSTEM_ACTOR,
    codebook_path: Path | None = None,
    indicators_path: Path | None = None,
) -> dict[str, int]:
    """An empty study with the default schedule, codebook and indicator set (or the given CSVs)."""
    tables = {
        "study": pd.DataFrame([vars(study)]),
        "waves": pd.DataFrame([{**vars(w), "default_mode": w.default_mode.value} for w in DEFAULT_WAVES]),
        "codebook": pd.DataFrame([vars(f) for f in load_codebook(codebook_path)]),
        "indicators": pd.DataFrame([vars(i) for i in load_indicators(indicators_path)]),
    }
    return import_tables(con, tables, today=max(dt.date.today(), study.start_date), actor=actor, source="init")


def load_demo(con: storage.Connection, *, today: dt.date, actor: str = SYSTEM_ACTOR) -> dict[str, int]:
    from .demo import contact_details, demo_tables

    if not storage.is_empty(con):
        raise ValidationError(Problem("not_empty", "the database already holds a study; the demo needs a new one"))
    tables = demo_tables(today)
    counts = import_tables(con, tables, today=today, actor=actor, source="demo")
    storage.set_contacts(con, actor, contact_details(tables["participants"]))
    accounts.create_demo_accounts(con, actor)
    return counts


def export_study(con: storage.Connection, viewer: Viewer, out_dir: Path, fmt: str = "csv") -> list[Path]:
    """The study as `viewer` may see it, one tidy file per table (or one workbook), plus the wide table; audited."""
    frames = {table: storage.read_table(con, viewer, table) for table in tidy.TABLES}
    frames["wide"] = storage.wide_table(con, viewer)
    paths = tidy.write_tables(frames, Path(out_dir), fmt)
    audit(con, viewer, "export", "study", fmt, {table: len(frame) for table, frame in frames.items()})
    return paths


MIN_ROLE_GROUP_RANGE = range(1, 51)


def set_min_role_group(con: storage.Connection, viewer: Viewer, k: int) -> int:
    """Set k, the fewest participants of a project who may share a role that funders and teams see (roles held by
    fewer are pooled as "Stakeholder"); k = 1 turns pooling off. Admins and evaluators only; audited."""
    if not viewer.edits_study_data:
        raise AccessDenied("Only administrators and evaluators can change the study's settings.")
    if storage.get_study(con) is None:
        raise ValidationError(Problem("no_study", "there is no study to set this for", "min_role_group"))
    if not isinstance(k, int) or k not in MIN_ROLE_GROUP_RANGE:
        first, last = MIN_ROLE_GROUP_RANGE[0], MIN_ROLE_GROUP_RANGE[-1]
        raise ValidationError(
            Problem("range", f"k must be a whole number from {first} to {last} (got {k!r})", "min_role_group")
        )

    def work(cur: storage.Connection) -> int:
        before = storage.min_role_group(cur)
        if before != k:
            storage.set_min_role_group(cur, k)
            storage.record_audit(
                cur,
                viewer.username,
                "update",
                "study",
                "min_role_group",
                {"min_role_group": before},
                {"min_role_group": k},
            )
        return k

    return storage.write(con, work)


def audit(con: storage.Connection, viewer: Viewer, action: str, entity: str, key: str | None, after: dict) -> None:
    """Record that `viewer` took data out (an export, a report, a backup)."""
    storage.write(con, lambda cur: storage.record_audit(cur, viewer.username, action, entity, key, after=after))


@dataclass
class ImportPlan:
    """Files read (and REDCap exports converted) into tidy tables, not yet checked against the study."""

    tables: dict[str, pd.DataFrame]
    files: dict[str, str]
    names: list[str]
    conversions: list[redcap.Conversion] = field(default_factory=list)

    @property
    def source(self) -> str:
        return ", ".join(self.names)

    def located(self, error: ValidationError) -> ValidationError:
        """`prepare`'s problems in converted tables, pointed back at the REDCap export's rows and fields."""
        problems = error.problems
        for conversion in self.conversions:
            problems = [conversion.locate(p) for p in problems]
        out = ValidationError(problems)
        out.message += _more(error)
        return out


def _more(error: ValidationError) -> str:
    return error.message[error.message.index(" … ") :] if " … " in error.message else ""


def read_import(con: storage.Connection, uploads: Iterable[tuple[str, bytes]]) -> ImportPlan:
    """Read uploaded files (name, bytes): tidy CSV/Parquet, an Excel workbook, or a REDCap flat export."""
    plan = ImportPlan({}, {}, [])
    exports = []
    for name, data in uploads:
        plan.names.append(name)
        if Path(name).suffix.lower() == ".csv" and redcap.is_export(header_names(data)):
            exports.append((name, read_csv_text(data, name, repeated_columns=True)))
            continue
        workbook = Path(name).suffix.lower() == ".xlsx"
        for table, frame in read_upload(name, data).items():
            _add_table(plan, table, frame, f"{name} [{table}]" if workbook else name)
    for name, frame in exports:
        conversion = redcap.convert(frame, name, _redcap_context(con, plan.tables))
        plan.conversions.append(conversion)
        for table, converted in conversion.tables.items():
            _add_table(plan, table, converted, conversion.name(table))
    if not plan.tables:
        raise ValidationError(Problem("no_files", "nothing to import: no file holds a table of the study"))
    return plan


def _add_table(plan: ImportPlan, table: str, frame: pd.DataFrame, file: str) -> None:
    if table in plan.tables:
        raise ValidationError(
            Problem("duplicate_table", f"{table} is given twice ({plan.files[table]} and {file})", file=file)
        )
    plan.tables[table] = frame
    plan.files[table] = file


def _redcap_context(con: storage.Connection, batch: dict[str, pd.DataFrame]) -> redcap.Context:
    """What a REDCap export is converted against: the study plus whatever the same import adds before it."""
    projects = storage.project_list(con, SYSTEM_VIEWER)
    names = dict(zip(projects.project_code, projects.name, strict=True))
    if "projects" in batch and {"project_code", "name"} <= set(batch["projects"].columns):
        names |= dict(zip(batch["projects"].project_code, batch["projects"].name, strict=True))
    ids = [storage.known_interviews(con).interview_id.max()]
    if "interviews" in batch:
        ids.append(pd.to_numeric(batch["interviews"].get("interview_id"), errors="coerce").max())
    top = max((int(i) for i in ids if pd.notna(i)), default=0)
    return redcap.Context(
        storage.get_study(con), storage.list_waves(con), storage.list_factors(con), names, next_interview_id=top + 1
    )


def check_import(con: storage.Connection, plan: ImportPlan, *, today: dt.date) -> dict[str, pd.DataFrame]:
    """Every rule checked against the study; the typed frames that would be added (a preview), or raise."""
    text = {t: pd.DataFrame({c: tidy.as_text(f[c]) for c in f.columns}) for t, f in plan.tables.items()}
    try:
        return prepare(text, reference(con, with_ratings="factor_ratings" in plan.tables), today, plan.files)
    except ValidationError as error:
        raise plan.located(error) from None


def run_import(con: storage.Connection, plan: ImportPlan, *, today: dt.date, actor: str) -> dict[str, int]:
    """Check everything first; write everything in one transaction, or nothing."""
    ready = check_import(con, plan, today=today)
    return storage.write(con, lambda cur: storage.insert_frames(cur, ready, actor=actor, source=plan.source))


def export_download(con: storage.Connection, viewer: Viewer, fmt: str) -> tuple[str, bytes]:
    """The export as one download: the workbook for xlsx, a zip of the files for csv and parquet."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = export_study(con, viewer, Path(tmp), fmt)
        if fmt == "xlsx":
            return "study.xlsx", paths[0].read_bytes()
        return f"study-{fmt}.zip", tidy.zip_files({p.name: p.read_bytes() for p in paths})


def redcap_project(con: storage.Connection, viewer: Viewer) -> dict[str, pd.DataFrame]:
    """The REDCap data dictionary for this study, and the event files that go with it."""
    projects = storage.project_list(con, viewer)
    waves = storage.list_waves(con)
    names = dict(zip(projects.project_code, projects.name, strict=True))
    return {
        "data_dictionary": redcap.data_dictionary(storage.get_study(con), storage.list_factors(con), names),
        "instrument_event_mapping": redcap.instrument_event_mapping(waves),
        "events": redcap.events(waves),
        "repeating_instruments": redcap.repeating_instruments(waves),
    }


def write_redcap_dictionary(con: storage.Connection, viewer: Viewer, out: Path) -> list[Path]:
    """The dictionary at `out`; the other files next to it, named after it (`<stem>_events.csv`, …)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in redcap_project(con, viewer).items():
        path = out if name == "data_dictionary" else out.with_name(f"{out.stem}_{name}.csv")
        frame.to_csv(path, index=False, lineterminator="\n")
        written.append(path)
    return written


def import_as(con: storage.Connection, viewer: Viewer, plan: ImportPlan, *, today: dt.date) -> dict[str, int]:
    """`run_import` for a logged-in user: only admins and evaluators change study data."""
    if not viewer.edits_study_data:
        raise AccessDenied("Only evaluators and admins can import data.")
    return run_import(con, plan, today=today, actor=viewer.username)


def problem_frame(problems: list[Problem]) -> pd.DataFrame:
    """Problems as a table a user can sort and search: where (file, row, column), what (value) and which rule."""
    return pd.DataFrame(
        {
            "File": [p.file or "" for p in problems],
            "Row": pd.array([p.row for p in problems], dtype="Int64"),
            "Column": [p.field or "" for p in problems],
            "Value": ["" if p.value is None else str(p.value) for p in problems],
            "Rule": [p.rule for p in problems],
            "Problem": [p.message for p in problems],
        }
    )
