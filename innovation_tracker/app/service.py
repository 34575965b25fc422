"""The product's API: what the CLI and the pages call. Each function is one user action, all or nothing."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from innovation_tracker import storage
from innovation_tracker.app import accounts, sync
from innovation_tracker.domain.codebook import load_codebook_and_scale, load_indicators
from innovation_tracker.domain.errors import AccessDenied, ConflictError, Problem, ValidationError
from innovation_tracker.domain.model import DEFAULT_WAVES, SYSTEM_VIEWER, Study, Viewer, require
from innovation_tracker.formats import redcap, tidy
from innovation_tracker.formats.importer import (
    Origin,
    Reference,
    Report,
    check,
    header_names,
    prepare,
    read_csv_text,
    read_upload,
    refusal,
    sheet_table,
    unknown_columns,
)

SYSTEM_ACTOR = "system"
# The largest file an import reads, in MB of 2**20 bytes: the same as Streamlit's upload limit, set in
# .streamlit/config.toml (server.maxUploadSize). The S = 1000 benchmark study's factor_ratings.csv is 188 of them; a
# larger table comes in several files (they are checked as one table), or as Parquet.
MAX_FILE_MB = 200


def file_size_problem(name: str, size: int) -> Problem | None:
    """A file larger than an import reads, named with its size and the limit (nothing of it is read)."""
    if size <= MAX_FILE_MB * 2**20:
        return None
    message = (
        f"the file is {size / 2**20:,.0f} MB; an import reads files of at most {MAX_FILE_MB} MB each. Split a"
        " large table into several files named after it, in different folders (they are checked as one table), or"
        " export it as Parquet"
    )
    return Problem("file_size", message, file=name)


def reference(con: storage.Connection) -> Reference:
    """What an import is checked against."""
    return Reference(
        study=storage.get_study(con),
        waves=storage.list_waves(con),
        factors=storage.list_factors(con),
        indicators=storage.list_indicators(con),
        projects=storage.known_keys(con, "projects", "project_code"),
        participants=storage.known_participants(con),
        interviews=storage.known_interviews(con),
        max_milestone_id=storage.max_milestone_id(con),
    )


def import_tables(
    con: storage.Connection,
    tables: dict[str, pd.DataFrame],
    *,
    today: dt.date,
    actor: str,
    source: str,
) -> dict[str, int]:
    """Tables made by the app itself (init, demo) into a new study: checked first, written in one transaction."""
    text = {table: pd.DataFrame({c: tidy.as_text(frame[c]) for c in frame.columns}) for table, frame in tables.items()}
    ready = prepare(text, reference(con), today)
    return storage.write(con, lambda cur: storage.insert_frames(cur, ready, actor=actor, source=source))


def init_study(
    con: storage.Connection,
    study: Study,
    *,
    actor: str = SYSTEM_ACTOR,
    codebook_path: Path | str | None = None,
    indicators_path: Path | None = None,
) -> dict[str, int]:
    """An empty study with the default schedule, codebook and indicator set (or the given CSVs). `codebook_path`
    may also name a built-in codebook (`brooks2011`, `cfir2`); a codebook that declares CFIR's neutral (0) and
    mixed (X) ratings gives the study that scale."""
    factors, neutral_mixed = load_codebook_and_scale(codebook_path)
    tables = {
        "study": pd.DataFrame([vars(replace(study, neutral_mixed=neutral_mixed))]),
        "waves": pd.DataFrame([{**vars(w), "default_mode": w.default_mode.value} for w in DEFAULT_WAVES]),
        "codebook": pd.DataFrame([vars(f) for f in factors]),
        "indicators": pd.DataFrame([vars(i) for i in load_indicators(indicators_path)]),
    }
    return import_tables(con, tables, today=max(dt.date.today(), study.start_date), actor=actor, source="init")


def load_demo(con: storage.Connection, *, today: dt.date, actor: str = SYSTEM_ACTOR) -> dict[str, int]:
    from innovation_tracker.formats.demo import contact_details, demo_tables, second_codings

    if not storage.is_empty(con):
        raise ValidationError(Problem("not_empty", "the database already holds a study; the demo needs a new one"))
    tables = demo_tables(today)
    counts = import_tables(con, tables, today=today, actor=actor, source="demo")
    storage.set_contacts(con, actor, contact_details(tables["participants"]))
    accounts.create_demo_accounts(con, actor)
    _demo_double_coding(con, second_codings(tables), actor)
    return counts


def start_demo_if_new(con: storage.Connection, *, today: dt.date) -> bool:
    """Build the demo study in a database that holds no study and no account yet (a first start); whether it did.
    Servers started together on one PostgreSQL database each call this at start: the first to take the lock
    builds the demo while the others wait, and they then find it built."""
    with storage.exclusive(con, "first-start"):
        if not storage.is_empty(con) or storage.count_accounts(con) > 0:
            return False
        load_demo(con, today=today)
        return True


def _demo_double_coding(con: storage.Connection, second: pd.DataFrame, actor: str) -> None:
    """Store the demo's blind second codings and reconcile their disagreements to the first coding (so the ratings
    in force stay the demo's), except in the last few interviews, which are left for the team to reconcile."""
    from innovation_tracker.app.double_coding import disagreements
    from innovation_tracker.formats.demo import CONSENSUS_REASON, UNRECONCILED

    left: list[int] = []
    for interview_id, rows in reversed(list(second.groupby("interview_id", sort=True))):
        coder, key = rows.coder.iloc[0], int(interview_id)
        storage.create_second_coding(con, coder, key)
        ratings = [
            {
                "factor_code": r.factor_code,
                "rating": int(r.rating),
                "evidence": None if pd.isna(r.evidence) else r.evidence,
                "shareable": bool(r.shareable),
            }
            for r in rows.itertuples()
        ]
        storage.record_second_coding(con, coder, key, ratings)
        open_ones = disagreements(storage.coding_pairs(con, SYSTEM_VIEWER, key))
        if open_ones.empty:
            continue
        if len(left) < UNRECONCILED:
            left.append(key)
            continue
        decisions = [
            {"factor_code": code, "rating": None if pd.isna(first) else int(first), "reason": CONSENSUS_REASON}
            for code, first in zip(open_ones.factor_code, open_ones.rating_1, strict=True)
        ]
        storage.set_consensus(con, actor, key, decisions)


def export_study(con: storage.Connection, viewer: Viewer, out_dir: Path, fmt: str = "csv") -> list[Path]:
    """The study as `viewer` may see it, one tidy file per table (or one workbook), plus the wide table; audited."""
    if fmt not in tidy.FORMATS:
        raise ValidationError(Problem("format", f"format must be one of {', '.join(tidy.FORMATS)}"))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = storage.copy_export(con, viewer, out_dir, fmt)
    audit(con, viewer, "export", "study", fmt, counts)
    return [out_dir / "study.xlsx"] if fmt == "xlsx" else [out_dir / f"{table}.{fmt}" for table in counts]


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


def set_finished_round_share(con: storage.Connection, viewer: Viewer, share: float) -> float:
    """Set the share of a round's interviews (0.5 to 1) that makes it finished before every window has closed, so
    that comparisons default to it. Admins and evaluators only; audited."""
    if not viewer.edits_study_data:
        raise AccessDenied("Only administrators and evaluators can change the study's settings.")
    if storage.get_study(con) is None:
        raise ValidationError(Problem("no_study", "there is no study to set this for", "finished_round_share"))
    storage.set_finished_round_share(con, viewer.username, share)
    return share


def audit(con: storage.Connection, viewer: Viewer, action: str, entity: str, key: str | None, after: dict) -> None:
    """Record that `viewer` took data out (an export, a report, a backup)."""
    storage.write(con, lambda cur: storage.record_audit(cur, viewer.username, action, entity, key, after=after))


@dataclass
class Batch:
    """Files read, and REDCap exports recognised, as tidy text tables; not yet checked against the study. What
    could not be read or recognised is kept as problems, file by file, with the tables those files would have
    given (`unreadable`): the other files are still checked, and the refusal names everything at once."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    unreadable: set[str] = field(default_factory=set)

    def add(self, table: str, frame: pd.DataFrame, origin: Origin) -> None:
        """A table given in two files is one table to check: each row keeps its own file and row."""
        if table in self.tables:
            origin = self.origins[table].then(origin)
            frame = pd.concat([self.tables[table], frame], ignore_index=True).fillna("")
        self.tables[table] = frame
        self.origins[table] = origin

    def refuse(self, problems: list[Problem], tables: Iterable[str]) -> None:
        self.problems += problems
        self.unreadable |= set(tables)


def read_import(con: storage.Connection, uploads: Iterable[tuple[str, bytes]]) -> Batch:
    """Read and recognise: tidy CSV/Parquet files, an Excel workbook, or REDCap flat exports (name, bytes)."""
    batch = Batch()
    exports = []
    uploads = list(uploads)
    require([p for name, data in uploads if (p := file_size_problem(name, len(data))) is not None])
    for name, data in uploads:
        batch.names.append(name)
        export = Path(name).suffix.lower() == ".csv" and redcap.is_export(header_names(data))
        try:
            if export:
                exports.append((name, read_csv_text(data, name, repeated_columns=True)))
                continue
            workbook = Path(name).suffix.lower() == ".xlsx"
            for sheet, frame in read_upload(name, data).items():
                table = sheet_table(sheet) if workbook else sheet
                file = f"{name} [{sheet}]" if workbook else name
                batch.notices += unknown_columns(table, frame, file)
                batch.add(table, frame, Origin.of_file(file, len(frame)))
        except ValidationError as error:
            batch.refuse(error.problems, REDCAP_TABLES if export else _tables_of(name))
    for name, frame in exports:
        try:
            conversion = redcap.convert(frame, name, _redcap_context(con, batch.tables))
        except ValidationError as error:
            batch.refuse(error.problems, REDCAP_TABLES)
            continue
        batch.notices += conversion.notices
        batch.problems += conversion.problems
        for table, converted in conversion.tables.items():
            batch.add(table, converted, conversion.origin(table))
    if not batch.tables:
        raise ValidationError(
            batch.problems or Problem("no_files", "nothing to import: no file holds a table of the study")
        )
    return batch


REDCAP_TABLES = frozenset(redcap.TIDY_TO_FIELD)


def _tables_of(name: str) -> set[str]:
    """The tables a file that could not be read would have given: a workbook may hold any."""
    path = Path(name)
    if path.suffix.lower() == ".xlsx":
        return set(tidy.TABLES)
    return {path.stem.lower()} & set(tidy.TABLES)


def _redcap_context(con: storage.Connection, batch: dict[str, pd.DataFrame]) -> redcap.Context:
    """What a REDCap export is converted against: the study plus whatever the same import adds before it."""
    projects = storage.project_list(con, SYSTEM_VIEWER)
    names = dict(zip(projects.project_code, projects.name, strict=True))
    if "projects" in batch and {"project_code", "name"} <= set(batch["projects"].columns):
        names |= dict(zip(batch["projects"].project_code, batch["projects"].name, strict=False))
    stored = storage.known_interviews(con)
    ids = [stored.interview_id.max()]
    if "interviews" in batch and "interview_id" in batch["interviews"].columns:
        ids.append(pd.to_numeric(batch["interviews"]["interview_id"], errors="coerce").max())
    top = max((int(i) for i in ids if pd.notna(i) and abs(i) < 2**31), default=0)
    known = {(p, w): int(i) for p, w, i in zip(stored.participant_code, stored.wave, stored.interview_id, strict=True)}
    return redcap.Context(
        storage.get_study(con),
        storage.list_waves(con),
        storage.list_factors(con),
        names,
        next_interview_id=top + 1,
        interviews=known,
    )


def check_import(con: storage.Connection, batch: Batch, *, today: dt.date) -> tuple[dict[str, pd.DataFrame], Report]:
    """Every rule checked against the study, whatever else is wrong: the typed tables and the report of every
    problem (file, row, column, rule)."""
    text = {t: pd.DataFrame({c: tidy.as_text(f[c]) for c in f.columns}) for t, f in batch.tables.items()}
    return check(text, reference(con), today, batch.origins, unreadable=batch.unreadable)


def plan_import(
    con: storage.Connection, uploads: Iterable[tuple[str, bytes]], *, today: dt.date, update: bool = False
) -> sync.Plan:
    """Read → recognise → check → plan: what the import would write (nothing is written), or a `ValidationError`
    that names every problem of the files at once: what could not be read, every broken rule, and every row stored
    with other values (unless updates were asked for), so that the files are fixed in one go."""
    batch = read_import(con, uploads)
    checked, report = check_import(con, batch, today=today)
    given = {table: len(frame) for table, frame in batch.tables.items()}
    plan = sync.plan(con, checked, given, batch.origins, update=update, flagged=report.flagged)
    plan.source = ", ".join(batch.names)
    plan.notices = batch.notices
    if batch.problems or report.problems:
        raise _refusal(batch, report, plan)
    return plan


def _refusal(batch: Batch, report: Report, plan: sync.Plan) -> ValidationError:
    """Everything wrong with the files: what could not be read or recognised first, then file by file (in load
    order) the broken rules and the rows stored with other values. A cell REDCap's conventions already refused is
    named once."""
    named = {(p.file, p.row, p.field) for p in batch.problems if p.row is not None}
    checks = [p for p in report.problems if (p.file, p.row, p.field) not in named]
    changes = plan.refused
    order = _file_order(batch.origins)
    problems = batch.problems + sorted(checks + changes, key=lambda p: order.get(p.file, -1))
    unlisted = report.total - len(report.problems)
    if not plan.update:
        unlisted += sum(t.unlisted_changes for t in plan.tables.values())
    return refusal(problems, len(problems) + unlisted)


def _file_order(origins: dict[str, Origin]) -> dict[str | None, int]:
    """Each file's place in the load order: that of the first table it holds."""
    order: dict[str | None, int] = {}
    for position, table in enumerate(tidy.TABLES):
        for file in origins[table].files if table in origins else ():
            order.setdefault(file, position)
    return order


def apply_import(con: storage.Connection, plan: sync.Plan, *, actor: str) -> dict[str, int]:
    """Write exactly `plan` in one transaction: its new rows, and its changes when it was made with updates.
    Refused when it holds changes it may not apply, or when the study changed since it was made."""
    if plan.refused:
        raise ValidationError(plan.refused)

    def work(cur):
        if storage.data_version(cur.cursor()) != plan.version:
            raise ConflictError("The study changed since these files were checked; check them again.")
        counts = storage.insert_frames(cur, {t: p.new for t, p in plan.tables.items()}, actor=actor, source=plan.source)
        for table, table_plan in plan.tables.items():
            if plan.update and len(table_plan.changed):
                updated = storage.update_rows(cur, table, table_plan.changed, actor=actor, source=plan.source)
                counts[f"{table} updated"] = updated
        return counts

    return storage.write(con, work, retries=1)


def import_files(
    con: storage.Connection, paths: Iterable[Path], *, today: dt.date, actor: str, update: bool = False
) -> dict[str, int]:
    """Plan and write in one go (the CLI's `import`; `--dry-run` stops at `plan_import`)."""
    plan = plan_import(con, read_paths(paths), today=today, update=update)
    return apply_import(con, plan, actor=actor)


def read_paths(paths: Iterable[Path]) -> list[tuple[str, bytes]]:
    """Files as (name, bytes); a missing file, a folder or an unreadable file is a problem, not a traceback."""
    uploads, problems = [], []
    paths = [Path(p) for p in paths]
    names = [p.name for p in paths]
    for path in paths:
        # Two files of the same name (a/participants.csv, b/participants.csv) are told apart by their paths.
        name = path.name if names.count(path.name) == 1 else str(path)
        try:
            too_large = file_size_problem(str(path), path.stat().st_size) if path.is_file() else None
            if too_large is not None:
                problems.append(too_large)
                continue
            uploads.append((name, path.read_bytes()))
        except FileNotFoundError:
            problems.append(Problem("missing_file", "no such file", file=str(path)))
        except IsADirectoryError:
            problems.append(Problem("not_a_file", "this is a folder, not a file", file=str(path)))
        except OSError as exc:
            problems.append(Problem("unreadable", f"cannot be read: {exc.strerror}", file=str(path)))
    if problems:
        raise ValidationError(problems)
    return uploads


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
    for name, data in redcap.csv_files(redcap_project(con, viewer)).items():
        path = out if name == "data_dictionary" else out.with_name(f"{out.stem}_{name}.csv")
        path.write_bytes(data)
        written.append(path)
    return written


def import_as(con: storage.Connection, viewer: Viewer, plan: sync.Plan) -> dict[str, int]:
    """`apply_import` for a logged-in user: only admins and evaluators change study data."""
    if not viewer.edits_study_data:
        raise AccessDenied("Only evaluators and admins can import data.")
    return apply_import(con, plan, actor=viewer.username)


def problems_csv(problems: list[Problem]) -> bytes:
    """The problem list as a download: the cells it quotes are the user's, so formulas are neutralised."""
    return tidy.csv_bytes(problem_frame(problems))


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
