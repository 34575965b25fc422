"""Opening the database, migrating it, and running writes safely.

This package is the only code that imports duckdb. Every duckdb error is turned into one of the app's own
errors here, with a message a user can act on.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import TypeVar

import duckdb

from ..errors import ConflictError, StorageError, TrackerError

Connection = duckdb.DuckDBPyConnection
T = TypeVar("T")

MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
CONFLICT_RETRIES = 8


def shipped_migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every migration shipped in the package, in order."""
    found = []
    for entry in resources.files("innovation_tracker.storage.migrations").iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found)


def connect(path: str | Path = ":memory:", *, migrate_to: int | None = None) -> Connection:
    """Open (creating if needed) the database at `path` and bring its schema up to date."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path))
    except duckdb.IOException as exc:
        raise StorageError(
            f"Cannot open the database {path}: {exc}. Another program (a running dashboard?) may hold it;"
            " DuckDB allows one process per database file."
        ) from exc
    migrate(con, migrate_to=migrate_to)
    return con


def _ensure_migration_table(con: Connection) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migration ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
    )


def schema_version(con: Connection) -> int:
    _ensure_migration_table(con)
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_migration").fetchone()[0]


def migrate(
    con: Connection, *, migrate_to: int | None = None, extra: list[tuple[int, str, str]] | None = None
) -> list[int]:
    """Apply the migrations not yet recorded, each in its own transaction together with its record.

    `extra` lets tests add migrations (for instance one that fails half-way) without shipping them.
    """
    _ensure_migration_table(con)
    applied = {row[0] for row in con.execute("SELECT version FROM schema_migration").fetchall()}
    done = []
    for version, name, sql in sorted([*shipped_migrations(), *(extra or [])]):
        if version in applied or (migrate_to is not None and version > migrate_to):
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_migration (version, name) VALUES (?, ?)", [version, name])
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise StorageError(f"Migration {version:04d}_{name} failed and was rolled back: {exc}") from exc
        done.append(version)
    return done


def translate(exc: duckdb.Error) -> TrackerError:
    text = str(exc)
    if isinstance(exc, duckdb.TransactionException) or "Conflict" in text:
        return ConflictError("Someone else changed the same record at the same moment. Please try again.")
    if isinstance(exc, duckdb.ConstraintException):
        return StorageError(f"The database refused the change: {_constraint_message(text)}")
    return StorageError(f"The database could not do that: {text}")


def _constraint_message(text: str) -> str:
    if "Duplicate key" in text:
        return "a record with the same key already exists (" + text.split("Duplicate key", 1)[1].strip(" :") + ")"
    if "foreign key" in text.lower():
        return "it refers to a record that does not exist, or a record still referred to elsewhere (" + text + ")"
    return text


class _WriteCounter:
    """How many transactions this process has ended. DuckDB lets one process at a time open a database file for
    writing, so while this number stands still no one has written, and a script run may keep using the data
    version it read (see `ui`), instead of asking the database again before every cached read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def bump(self) -> None:
        with self._lock:
            self._count += 1

    def __call__(self) -> int:
        return self._count


local_writes = _WriteCounter()


@contextlib.contextmanager
def transaction(con: Connection) -> Iterator[Connection]:
    """One atomic write: everything inside commits together or not at all."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException as exc:
        con.execute("ROLLBACK")
        if isinstance(exc, duckdb.Error):
            raise translate(exc) from exc
        raise
    else:
        try:
            con.execute("COMMIT")
        except duckdb.Error as exc:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise translate(exc) from exc
    finally:
        local_writes.bump()


def write(con: Connection, work: Callable[[Connection], T], *, retries: int = CONFLICT_RETRIES) -> T:
    """Run `work` in a transaction, retrying when a concurrent writer wins a conflict."""
    for attempt in range(retries):
        try:
            with transaction(con) as cur:
                return work(cur)
        except ConflictError:
            if attempt == retries - 1:
                raise
            time.sleep(0.01 * 2**attempt)
    raise AssertionError("unreachable")


def record_audit(
    con: Connection,
    actor: str,
    action: str,
    entity: str,
    key: str | None,
    before: dict | None = None,
    after: dict | None = None,
) -> None:
    con.execute(
        "INSERT INTO audit_entry (actor, action, entity, entity_key, before, after) VALUES (?, ?, ?, ?, ?, ?)",
        [actor, action, entity, key, _json(before), _json(after)],
    )


def _json(values: dict | None) -> str | None:
    return None if values is None else json.dumps(values, default=str, sort_keys=True)


def data_version(con: Connection) -> int:
    return con.execute("SELECT coalesce(max(audit_id), 0) FROM audit_entry").fetchone()[0]
