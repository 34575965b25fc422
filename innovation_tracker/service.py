"""The product's API: what the CLI and the pages call. Each function is one user action, all or nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from . import storage, tidy
from .codebook import load_codebook, load_indicators
from .domain import DEFAULT_WAVES, Study, Viewer
from .importer import Reference, prepare, read_file
from .errors import Problem, ValidationError

SYSTEM_ACTOR = "system"


def reference(con: storage.Connection) -> Reference:
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
    files: dict[str, str] | None = None,
) -> dict[str, int]:
    """Check everything first; write everything in one transaction, or nothing."""
    text = {table: pd.DataFrame({c: tidy.as_text(frame[c]) for c in frame.columns}) for table, frame in tables.items()}
    ready = prepare(text, reference(con), today, files)
    return storage.write(con, lambda cur: storage.insert_frames(cur, ready, actor=actor, source=source))


def import_files(con: storage.Connection, paths: Iterable[Path], *, today: dt.date, actor: str) -> dict[str, int]:
    tables: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise ValidationError(Problem("missing_file", f"{path} does not exist", file=str(path)))
        for table, frame in read_file(path).items():
            if table in tables:
                raise ValidationError(
                    Problem(
                        "duplicate_table", f"{table} is given twice ({files[table]} and {path.name})", file=path.name
                    )
                )
            tables[table] = frame
            files[table] = path.name if path.suffix.lower() != ".xlsx" else f"{path.name} [{table}]"
    if not tables:
        raise ValidationError(Problem("no_files", "no files to import"))
    return import_tables(
        con, tables, today=today, actor=actor, source=", ".join(sorted(set(files.values()))), files=files
    )


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
    from .demo import demo_tables

    if not storage.is_empty(con):
        raise ValidationError(Problem("not_empty", "the database already holds a study; the demo needs a new one"))
    return import_tables(con, demo_tables(today), today=today, actor=actor, source="demo")


def export_study(con: storage.Connection, viewer: Viewer, out_dir: Path, fmt: str = "csv") -> list[Path]:
    """The study as `viewer` may see it, one tidy file per table (or one workbook)."""
    frames = {table: storage.read_table(con, viewer, table) for table in tidy.TABLES}
    return tidy.write_tables(frames, Path(out_dir), fmt)
