"""Whole-database copies through DuckDB's EXPORT DATABASE / IMPORT DATABASE (schema, sequences and every table,
`schema_migration` and the audit log included, as Parquet)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import duckdb

from ..errors import StorageError
from .db import Connection
from .dialect import is_postgres


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _row_counts(con: Connection) -> dict[str, int]:
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'"
        " ORDER BY table_name"
    ).fetchall()
    return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for (t,) in tables}


POSTGRES_BACKUP = (
    "The app's backup and restore work on DuckDB files. Back up a PostgreSQL database with pg_dump"
    " (pg_dump -Fc -f tracker.dump DATABASE_URL) and restore it with pg_restore into a new database."
)


def create_backup(con: Connection, out_dir: Path) -> dict[str, int]:
    """Write the whole database into `out_dir` (which must be empty or new); the row count of every table."""
    if not isinstance(con, duckdb.DuckDBPyConnection):
        raise StorageError(POSTGRES_BACKUP)
    try:
        con.execute("BEGIN TRANSACTION")
        # One transaction, so the counts and the files describe the same moment.
        counts = _row_counts(con)
        con.execute(f"EXPORT DATABASE {_literal(out_dir)} (FORMAT parquet)")
        con.execute("COMMIT")
    except duckdb.Error as exc:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise StorageError(f"The backup could not be written to {out_dir}: {exc}") from exc
    return counts


def restore_backup(path: Path, backup_dir: Path) -> dict[str, int]:
    """A new database file at `path` from a backup folder; the row count of every table. Never overwrites."""
    if is_postgres(str(path)):
        raise StorageError(POSTGRES_BACKUP)
    if path.exists():
        raise StorageError(f"{path} already exists; restore into a new file so nothing is overwritten")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path))
    except duckdb.Error as exc:
        raise StorageError(f"Cannot create the database {path}: {exc}") from exc
    try:
        con.execute(f"IMPORT DATABASE {_literal(backup_dir)}")
        return _row_counts(con)
    except duckdb.Error as exc:
        con.close()
        _remove(path)
        raise StorageError(f"The backup in {backup_dir} could not be restored: {exc}") from exc
    finally:
        with contextlib.suppress(duckdb.Error):
            con.close()


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
