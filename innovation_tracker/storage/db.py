"""Opening the database, migrating it, and running writes safely.

This package is the only code that imports duckdb. Every duckdb error is turned into one of the app's own
errors here, with a message a user can act on.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import TypeVar

import duckdb

from innovation_tracker.domain.errors import ConflictError, DatabaseUnavailable, StorageError, TrackerError
from innovation_tracker.storage.dialect import is_postgres

Connection = duckdb.DuckDBPyConnection
T = TypeVar("T")

MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
CONFLICT_RETRIES = 8
_log = logging.getLogger(__name__)


def shipped_migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every migration shipped in the package, in order."""
    found = []
    for entry in resources.files("innovation_tracker.storage.migrations").iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found)


def connect(path: str | Path = ":memory:", *, migrate_to: int | None = None) -> Connection:
    """Open (creating if needed) the database at `path` and bring its schema up to date.

    A file that another process holds, that is damaged or not a DuckDB database, or that a newer version of this
    app has written (its schema is newer than the migrations shipped here) is refused with a plain message, and
    nothing in it is changed. A `postgresql://` URL opens that PostgreSQL database instead (storage/postgres.py)."""
    if is_postgres(str(path)):
        return _postgres(str(path), migrate_to)
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path))
    except duckdb.Error as exc:
        raise _open_error(path, exc) from exc
    try:
        _refuse_truncated(con, path)
        refuse_newer(con)
        migrate(con, migrate_to=migrate_to)
    except StorageError:
        con.close()
        raise
    except duckdb.Error as exc:
        con.close()
        raise _open_error(path, exc) from exc
    return con


def _postgres(url: str, migrate_to: int | None) -> Connection:
    from innovation_tracker.storage.postgres import PostgresDatabase

    con = PostgresDatabase(url, migrate_to=migrate_to, max_size=4).cursor()
    con.owns_database = True
    return con  # type: ignore[return-value]  # the same interface as a DuckDB connection (storage/postgres.py)


def _open_error(path: str | Path, exc: duckdb.Error) -> StorageError:
    _log.warning("Opening %s failed: %s", path, exc)
    text = str(exc)
    if "lock" in text.lower() and ("conflicting" in text.lower() or "could not set lock" in text.lower()):
        return DatabaseUnavailable(
            "The database file is in use by another program (a running dashboard, or a command line run?):"
            " DuckDB lets one process at a time open a database file. Stop that program, then try again."
        )
    if "permission denied" in text.lower() or "read-only" in text.lower():
        return DatabaseUnavailable(
            "The database file cannot be opened for writing (permission denied, or a read-only disk)."
            " Give this program write access to the file and its folder, then try again."
        )
    if _disk_full(text):
        return DatabaseUnavailable(DISK_FULL)
    return DatabaseUnavailable(
        "The database file is damaged or is not a database of this app, and was not opened."
        " Restore it from a backup (python -m innovation_tracker restore BACKUP --db NEW_FILE) and point"
        " INNOVATION_TRACKER_DB at the restored file; keep the damaged file for inspection."
    )


_HEADERS = 3 * 4096  # DuckDB's main header and its two database headers come before the blocks


def _refuse_truncated(con: Connection, path: str | Path) -> None:
    """DuckDB reads blocks only when a query needs them, so a file cut short opens and fails later, after the
    log-in. The tables' metadata names every block that holds their data (without reading it): a file that ends
    before the last of them has been cut short."""
    if str(path) == ":memory:":
        return
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'"
    ).fetchall()
    if not tables:
        return
    blocks = " UNION ALL ".join(
        f"SELECT max(block_id) FILTER (WHERE persistent) AS block FROM pragma_storage_info('{name}')"
        for (name,) in tables
    )
    last = con.execute(f"SELECT max(block) FROM ({blocks})").fetchall()[0][0]  # one query: half the time of one each
    if last is None:
        return
    block_size = con.execute("SELECT block_size FROM pragma_database_size()").fetchall()[0][0]
    if Path(path).stat().st_size < _HEADERS + (last + 1) * block_size:
        raise _open_error(path, duckdb.IOException("the file ends before the last block of its tables"))


def refuse_newer(con: Connection) -> None:
    """A database migrated by a newer version of the app is refused before anything is written to it, on either
    backend (information_schema names the table on both). (No message names the file or URL: messages reach the
    browser, and the server's log names it.)"""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main'"
        " AND table_name = 'schema_migration' AND table_catalog = current_database()"
    ).fetchall()[0][0]
    if not exists:
        return
    newest = con.execute("SELECT coalesce(max(version), 0) FROM schema_migration").fetchall()[0][0]
    known = max(version for version, _, _ in shipped_migrations())
    if newest > known:
        raise DatabaseUnavailable(
            f"The database was last changed by a newer version of this app (its schema is at version {newest};"
            f" this version knows versions up to {known}). Nothing was changed: open it with the newer version,"
            " or restore an older backup."
        )


def _ensure_migration_table(con: Connection) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migration ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
    )


def schema_version(con: Connection) -> int:
    _ensure_migration_table(con)
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_migration").fetchall()[0][0]


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


DISK_FULL = (
    "The database file could not be written: the disk is full (or the file has reached its size limit)."
    " The last change was not saved. Free some space; the dashboard reopens the database at the next click."
)


def _disk_full(text: str) -> bool:
    text = text.lower()
    return "no space left" in text or "file too large" in text or "disk full" in text or "disk quota" in text


def translate(exc: duckdb.Error) -> TrackerError:
    """The app's own error for a DuckDB error: a message a user can act on, with no SQL, path or traceback (those
    go to the server's log)."""
    text = str(exc)
    _log.warning("Database error: %s", text)
    if "COMMIT succeeded" in text:
        return DatabaseUnavailable(SAVED_BUT_STOPPED)
    if _disk_full(text) or isinstance(exc, duckdb.FatalException):
        return DatabaseUnavailable(DISK_FULL if _disk_full(text) else INVALIDATED)
    if isinstance(exc, duckdb.TransactionException) or "Conflict" in text:
        return ConflictError("Someone else changed the same record at the same moment. Please try again.")
    if isinstance(exc, duckdb.ConstraintException):
        return StorageError(f"The database refused the change: {_constraint_message(text)}")
    if "Corrupt database file" in text or "Could not read enough bytes" in text:
        return DatabaseUnavailable(
            "Part of the database file is damaged. Restore it from a backup (python -m innovation_tracker restore)."
        )
    return StorageError("The database could not do that. Please try again; if it keeps failing, tell an administrator.")


SAVED_BUT_STOPPED = (
    "Your change was saved, but the database then could not write its file (often a full disk) and stopped."
    " Free some disk space; the dashboard reopens the database at the next click."
)
INVALIDATED = (
    "The database stopped after a failed write (often a full disk). Nothing more can be saved until it is reopened;"
    " the dashboard reopens it at the next click. Free some disk space if it is full."
)


def _constraint_message(text: str) -> str:
    if "Duplicate key" in text:
        return "a record with the same key already exists (" + text.split("Duplicate key", 1)[1].strip(" :") + ")"
    if "foreign key" in text.lower():
        return "it refers to a record that does not exist, or a record still referred to elsewhere"
    if "CHECK constraint" in text:
        table = re.search(r"on table (\w+)", text)
        where = f" of the {table.group(1)} table" if table else ""
        return f"a value breaks a rule{where} (CHECK constraint)"
    return "a value breaks one of its rules"


class Database:
    """One process's connection to a database file, shared by every session, each run taking its own cursor.

    DuckDB invalidates an open database for good after a write it could not finish (a checkpoint that failed for a
    full disk); every later query then fails. Before handing out a cursor this checks the connection and, if it
    was invalidated, opens the file again, so the app recovers without a restart."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._postgres = None
        self._checked = -1  # DuckDB: `local_writes()` when the connection was last found working
        self._version = (-1, 0)  # DuckDB: `local_writes()` and the data version read then
        if is_postgres(self.path):  # a pool of PostgreSQL connections (storage/postgres.py)
            from innovation_tracker.storage.postgres import PostgresDatabase

            self._postgres = PostgresDatabase(self.path)
            return
        self._con = connect(self.path)

    @property
    def shared(self) -> bool:
        """Whether other processes may write to this database while this one runs (PostgreSQL)."""
        return self._postgres is not None

    def cursor(self) -> Connection:
        """A new cursor. DuckDB gives up on a database only after a write it could not finish, so the connection
        is checked (0.4 ms) only when this process has written since it last was."""
        if self._postgres is not None:
            return self._postgres.cursor()  # type: ignore[return-value]
        with self._lock:
            writes = local_writes()
            if writes != self._checked:
                try:
                    self._con.execute("SELECT 1")
                except duckdb.Error as exc:
                    _log.warning("Reopening %s after: %s", self.path, exc)
                    with contextlib.suppress(duckdb.Error):
                        self._con.close()
                    self._con = connect(self.path)
                self._checked = writes
            return self._con.cursor()

    def data_version(self, cursor: Connection) -> int:
        """`data_version(cursor)`, asked of the database only when it may have changed: on PostgreSQL always (other
        servers write), on DuckDB when this process has written since it last asked (no other process can: DuckDB
        lets one process at a time open a file for writing). The count is read before the version, so a write
        that ends in between makes the next call ask again."""
        if self._postgres is not None:
            return data_version(cursor)
        writes = local_writes()
        known_writes, known = self._version
        if writes == known_writes:
            return known
        version = data_version(cursor)
        self._version = (writes, version)
        return version

    def close(self) -> None:
        if self._postgres is not None:
            self._postgres.close()
            return
        with self._lock:
            self._con.close()


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
_named_locks: dict[str, threading.Lock] = {}
_named_locks_guard = threading.Lock()


@contextlib.contextmanager
def exclusive(con: Connection, name: str) -> Iterator[None]:
    """Hold the lock called `name`, one holder at a time among every process using this database, for the
    duration (a first start that builds the demo study, say, whose caller re-checks under the lock that it is
    still needed). On PostgreSQL it is an advisory lock, which every server shares; a DuckDB file is open in one
    process only, so there a lock within the process is enough."""
    shared = getattr(con, "exclusive", None)  # a PostgreSQL connection (storage/postgres.py)
    if shared is not None:
        with shared(name):
            yield
        return
    with _named_locks_guard:
        lock = _named_locks.setdefault(name, threading.Lock())
    with lock:
        yield


@contextlib.contextmanager
def time_limit(con: Connection, seconds: float) -> Iterator[None]:
    """Cancel a statement on `con` inside the block that runs longer than `seconds`, with `duckdb.InterruptException`.
    On PostgreSQL a statement holds a pooled connection and a server worker while it runs; DuckDB answers the reads
    this guards (the search) in a fraction of the limit, so there it changes nothing."""
    limited = getattr(con, "time_limit", None)  # a PostgreSQL connection (storage/postgres.py)
    if limited is None:
        yield
        return
    with limited(seconds):
        yield


@contextlib.contextmanager
def transaction(con: Connection) -> Iterator[Connection]:
    """One atomic write: everything inside commits together or not at all. Write transactions run one at a time
    (per process here; across processes on PostgreSQL, by its adapter's lock), so they commit in the order they
    drew their audit ids and the newest id committed is a data version no later commit can slip under."""
    with _write_order:
        yield from _transaction(con)


_write_order = threading.RLock()  # reentrant: a write may open another on a second cursor of the same thread


def _transaction(con: Connection) -> Iterator[Connection]:
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
    values = [actor, action, entity, key, _json(before), _json(after)]
    project = _project_of(con, action, entity, key, before, after)
    if project is None:  # the column is left out when empty: a database before migration 13 has no such column
        con.execute(
            "INSERT INTO audit_entry (actor, action, entity, entity_key, before, after) VALUES (?, ?, ?, ?, ?, ?)",
            values,
        )
    else:
        con.execute(
            "INSERT INTO audit_entry (actor, action, entity, entity_key, before, after, project_code)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [*values, project],
        )


# How to find the one project a write of an entity changed, from its key, once the write is done.
_PROJECT_OF = {
    "interview": "SELECT p.project_code FROM interview i JOIN participant p USING (participant_code)"
    " WHERE i.interview_id = CAST(? AS BIGINT)",
    "participant": "SELECT project_code FROM participant WHERE participant_code = ?",
    "milestone": "SELECT project_code FROM milestone WHERE milestone_id = CAST(? AS BIGINT)",
    "project": "SELECT project_code FROM project WHERE project_code = ?",
}
_PROJECT_OF["second_coding"] = _PROJECT_OF["consensus"] = _PROJECT_OF["interview"]
_MOVES = ("project_code", "participant_code")  # a change of these moves a record to another project


def _project_of(
    con: Connection, action: str, entity: str, key: str | None, before: dict | None, after: dict | None
) -> str | None:
    """The project that this write changed, when it is one project: the audit entry's `project_code`. NULL (None)
    when it is not known for sure: a delete (the row is gone), a record moved between projects, a study-wide change,
    an import. A NULL makes kept reads re-read every project (storage/kept.py), so a wrong None costs time, never
    correctness; a wrong project would show stale numbers, hence the caution."""
    if key is None or action not in ("create", "update", "restore", "erase"):
        return None
    if before and after and any(f in before and f in after and before[f] != after[f] for f in _MOVES):
        return None
    if entity == "sustainability":  # keyed "PROJECT/wave"
        return key.rsplit("/", 1)[0]
    sql = _PROJECT_OF.get(entity)
    if sql is None:
        return None
    found = con.execute(sql, [key]).fetchall()
    return found[0][0] if found else None


def _json(values: dict | None) -> str | None:
    return None if values is None else json.dumps(values, default=str, sort_keys=True)


# Audit entries of actions that change no study data (storage/kept.py brings nothing up to date for them).
NO_DATA_CHANGE = ("login", "login_failed", "logout", "export", "report")


def changed_projects(con: Connection, since: int, until: int) -> frozenset[str] | None:
    """The projects whose records the writes audited after id `since`, up to `until`, changed; None when one of
    them changed something that is not one project's records (the study and its settings, an import, a delete,
    a record moved between projects), so every project must be read again. Log-ins, exports, reports and account
    changes change no project. (Write transactions commit in audit-id order: `transaction`.)"""
    if until < since:
        return None
    rows = con.execute(
        "SELECT DISTINCT project_code FROM audit_entry WHERE audit_id > ? AND audit_id <= ?"
        f" AND action NOT IN {NO_DATA_CHANGE!r} AND entity <> 'user_account'",
        [since, until],
    ).fetchall()
    codes = {row[0] for row in rows}
    return None if None in codes else frozenset(codes)


def data_version(con: Connection) -> int:
    return con.execute("SELECT coalesce(max(audit_id), 0) FROM audit_entry").fetchall()[0][0]
