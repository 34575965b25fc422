"""Whole-database copies (schema, sequences and every table, `schema_migration` and the audit log included, as
Parquet), in the folder layout of DuckDB's EXPORT DATABASE on both backends: `schema.sql` (DuckDB's DDL),
`load.sql` (a `COPY table FROM 'table.parquet'` per table, parents before children) and a Parquet file per table.

- DuckDB writes it with EXPORT DATABASE and reads it with IMPORT DATABASE.
- PostgreSQL writes it in one REPEATABLE READ transaction, a table at a time (the adapter turns `COPY (…) TO
  'file' (FORMAT parquet)` into `COPY … TO STDOUT` through pyarrow); `schema.sql` and `load.sql` are DuckDB's own,
  from an empty in-memory DuckDB database migrated to the same version, with the sequences' next values put in.
  A restore into PostgreSQL runs the migrations up to the backup's version on a new, empty database, then loads
  the tables in `load.sql`'s order and sets the sequences to `schema.sql`'s values, in one transaction.

So a backup of either backend restores into either: that is how a team moves from the embedded file to a shared
PostgreSQL database (docs/deployment.md).

These are the two backends' own ways of reading and writing a whole database, so each has its branch here (the
adapter cannot hide EXPORT/IMPORT DATABASE: PostgreSQL has no statement that writes or reads a folder).
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from pathlib import Path

import duckdb

from innovation_tracker.domain.errors import StorageError
from innovation_tracker.storage.db import Connection, connect, migrate
from innovation_tracker.storage.dialect import is_postgres


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _row_counts(con: Connection) -> dict[str, int]:
    tables = _table_names(con)
    return {t: con.execute(f'SELECT count(*) FROM main."{t}"').fetchall()[0][0] for t in tables}


def _table_names(con: Connection) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        " AND table_type = 'BASE TABLE' AND table_catalog = current_database() ORDER BY table_name"
    ).fetchall()
    return [r[0] for r in rows]


def create_backup(con: Connection, out_dir: Path) -> dict[str, int]:
    """Write the whole database into `out_dir` (which must be empty or new); the row count of every table."""
    if not isinstance(con, duckdb.DuckDBPyConnection):
        return _postgres_backup(con, out_dir)
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


_LOAD = re.compile(r"COPY\s+(\"?\w+\"?)\s+FROM\s+'((?:[^']|'')*)'", re.IGNORECASE)
_SEQUENCE = re.compile(r"(CREATE SEQUENCE (\w+) [^;]*?\bSTART )(\d+)", re.IGNORECASE)


def _duckdb_layout(version: int) -> tuple[str, list[str]]:
    """DuckDB's `schema.sql` for schema `version`, and its tables in `load.sql`'s order (parents first)."""
    scratch = duckdb.connect()
    try:
        migrate(scratch, migrate_to=version)
        with tempfile.TemporaryDirectory() as tmp:
            scratch.execute(f"EXPORT DATABASE {_literal(Path(tmp))} (FORMAT parquet)")
            schema = (Path(tmp) / "schema.sql").read_text(encoding="utf-8")
            load = (Path(tmp) / "load.sql").read_text(encoding="utf-8")
    finally:
        scratch.close()
    return schema, [table.strip('"') for table, _ in _LOAD.findall(load)]


def _postgres_backup(con: Connection, out_dir: Path) -> dict[str, int]:
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        con.execute("BEGIN TRANSACTION")  # REPEATABLE READ: every file and count is of the same snapshot
        version = con.execute("SELECT coalesce(max(version), 0) FROM schema_migration").fetchall()[0][0]
        schema, order = _duckdb_layout(version)
        tables = _table_names(con)
        if sorted(order) != tables:
            raise StorageError(
                f"The database's tables {tables} are not those of schema version {version} ({sorted(order)});"
                " it was changed outside the app, and was not backed up."
            )
        counts = _row_counts(con)
        for table in order:
            target = _literal(out_dir / f"{table}.parquet")
            con.execute(f'COPY (SELECT * FROM main."{table}") TO {target} (FORMAT parquet)')
        starts = {}
        for name in {m.group(2) for m in _SEQUENCE.finditer(schema)}:
            last, called = con.execute(f"SELECT last_value, is_called FROM main.{name}").fetchall()[0]
            starts[name] = last + 1 if called else last
        con.execute("COMMIT")
    except duckdb.Error as exc:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise StorageError(f"The backup could not be written to {out_dir}: {exc}") from exc
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    schema = _SEQUENCE.sub(lambda m: m.group(1) + str(starts[m.group(2)]), schema)
    (out_dir / "schema.sql").write_text(schema, encoding="utf-8")
    load = "".join(f"COPY {t} FROM {_literal(out_dir / f'{t}.parquet')} (FORMAT 'parquet');\n" for t in order)
    (out_dir / "load.sql").write_text(load, encoding="utf-8")
    return counts


def restore_backup(
    target: str | Path, backup_dir: Path, *, version: int, expected: dict[str, int] | None = None
) -> dict[str, int]:
    """A new database at `target` (a DuckDB file that does not exist yet, or an empty PostgreSQL database) from a
    backup folder made on either backend; the row count of every table. Never overwrites. With `expected`, row
    counts that differ are refused and nothing is left behind."""
    if is_postgres(str(target)):
        return _postgres_restore(str(target), backup_dir, version, expected)
    path = Path(target)
    if path.exists():
        raise StorageError(f"{path} already exists; restore into a new file so nothing is overwritten")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path))
    except duckdb.Error as exc:
        raise StorageError(f"Cannot create the database {path}: {exc}") from exc
    try:
        con.execute(f"IMPORT DATABASE {_literal(backup_dir)}")
        counts = _row_counts(con)
    except duckdb.Error as exc:
        con.close()
        _remove(path)
        raise StorageError(f"The backup in {backup_dir} could not be restored: {exc}") from exc
    finally:
        with contextlib.suppress(duckdb.Error):
            con.close()
    if expected is not None and counts != expected:
        _remove(path)
        raise StorageError(_differ(counts, expected))
    return counts


def _differ(counts: dict[str, int], expected: dict[str, int]) -> str:
    return f"the restored row counts {counts} differ from the backup's manifest {expected}"


def _postgres_restore(url: str, folder: Path, version: int, expected: dict[str, int] | None) -> dict[str, int]:
    from innovation_tracker.storage.postgres import SHELF_SCHEMA, has_tables

    if has_tables(url):
        raise StorageError(
            "That PostgreSQL database already has tables; restore into a new, empty database (createdb) so nothing"
            " is overwritten"
        )
    load = (folder / "load.sql").read_text(encoding="utf-8")
    schema = (folder / "schema.sql").read_text(encoding="utf-8")
    order = [(table.strip('"'), Path(file.replace("''", "'")).name) for table, file in _LOAD.findall(load)]
    starts = {m.group(2): int(m.group(3)) for m in _SEQUENCE.finditer(schema)}
    con = connect(url, migrate_to=version)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("DELETE FROM schema_migration")  # the backup's own record of its migrations replaces it
            for table, file in order:
                con.copy_from_parquet(table, str(folder / file))  # type: ignore[attr-defined]  # the adapter's
            for name, start in starts.items():
                con.execute("SELECT setval(?, ?, false)", [f"main.{name}", start])
            counts = _row_counts(con)
            if expected is not None and counts != expected:
                raise StorageError(_differ(counts, expected))
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise
    except BaseException as exc:
        # The database was empty: leave it so (the migrations' tables and functions go with their schema).
        with contextlib.suppress(duckdb.Error):
            con.execute("DROP SCHEMA IF EXISTS main CASCADE")
            con.execute(f"DROP SCHEMA IF EXISTS {SHELF_SCHEMA} CASCADE")
        if isinstance(exc, duckdb.Error):
            raise StorageError(f"The backup in {folder} could not be restored: {exc}") from exc
        raise
    finally:
        con.close()
    return counts


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)
