"""PostgreSQL as the shared store of several app servers (and the CLI while they run).

`PostgresDatabase` holds a connection pool (psycopg_pool). Its `cursor()` hands out a `PostgresConnection`: the
same small interface the storage layer uses on a DuckDB cursor (`execute(sql, params)` returning something with
`fetchall`, `fetchone`, `fetchmany`, `df`, `fetchnumpy`, `description`; `executemany`, `register`, `unregister`,
`cursor`, `close`), so the SQL in storage/ is written once. Each statement's SQL goes through
`dialect.to_postgres`.

A `PostgresConnection` borrows a pooled connection for one statement at a time and gives it back with the whole
result read, so an idle session holds none. It keeps one (is "pinned") from `BEGIN` to `COMMIT`/`ROLLBACK`, and
while a registered frame or temporary table lives. Transactions run at REPEATABLE READ: like DuckDB, a transaction
that updates a row another committed after its snapshot fails (a conflict, retried by `storage.write`), which is
what the optimistic-concurrency check of record versions relies on across servers.

PostgreSQL's errors are raised as DuckDB's exception classes (ConstraintException, TransactionException, …) with
DuckDB's wording where storage/ reads it, so the storage layer's `except` clauses and `db.translate` serve both.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import re
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import psycopg
import psycopg.errors as pg_errors
from psycopg.types.string import TextLoader
from psycopg_pool import ConnectionPool

from innovation_tracker.domain.errors import DatabaseUnavailable
from innovation_tracker.storage import dialect
from innovation_tracker.storage.code_version import shelf_code

_log = logging.getLogger(__name__)

POOL_MIN, POOL_MAX = 1, 16
ADVISORY_LOCKS = 7141  # the first half of the two-part keys of this app's advisory locks (`exclusive`)
# The advisory lock that puts write transactions in a row across every process (see `PostgresConnection.execute`).
WRITE_ORDER = "SELECT pg_advisory_lock(7142, 0)"
WRITE_ORDER_END = "SELECT pg_advisory_unlock(7142, 0)"
_ordering = threading.local()  # how many write transactions this thread has open, over every connection
# How long a write waits for a row another transaction holds before it counts as a conflict (which `storage.write`
# retries): DuckDB refuses at once; waiting a little spares most retries without stalling a page.
LOCK_TIMEOUT = "300ms"
# A page's reads are short and planned afresh each time: JIT compiling them (PostgreSQL's default above a plan cost of
# 100,000, which the portfolio's aggregates pass at S = 1000) cost more than it saved, 13–15 s against 8–11 s for the
# schedule's counts on a loaded 2-core machine. And 4 MB of work memory sent the 325,000-row schedule's sort to disk;
# 32 MB still split the citations' 714,000 groups into five batches on disk (3.0 s, against 2.6 s in memory: a hash
# may use twice work_mem, so 64 MB holds their 82 MB).
SESSION_SETTINGS = "-c jit=off -c work_mem=64MB"
# The texts the evidence search looks in, as its reads spell them (storage/search.py): excerpts as editors read
# them and as funders and teams do (the shareable ones only: storage/access.py), and interview summaries.
SEARCH_INDEXES = (
    ("factor_rating_evidence_words", "factor_rating", "lower(evidence)"),
    ("factor_rating_shared_words", "factor_rating", "lower(CASE WHEN shareable THEN evidence END)"),
    ("interview_summary_words", "interview", "lower(summary)"),
)
SHELF_SCHEMA = "innovation_tracker_shelf"
_DATES = {1082}  # date
_TIMESTAMPS = {1114, 1184}  # timestamp, timestamptz
_NUMERIC = {1700}


def _configure(conn: psycopg.Connection) -> None:
    # JSON comes back as its text, as DuckDB returns it (storage/ parses it where it needs to).
    conn.adapters.register_loader("json", TextLoader)
    conn.adapters.register_loader("jsonb", TextLoader)


class PostgresDatabase:
    """One process's pool of connections to a PostgreSQL database, migrated when opened."""

    def __init__(self, url: str, *, migrate_to: int | None = None, max_size: int = POOL_MAX) -> None:
        self.path = url
        self.shelf_ready = False  # storage/shelf.py: made below, with the tables
        self._pool = _open_pool(url, max_size)
        self._lock = threading.Lock()
        self._translations: dict[tuple[str, bool], str] = {}
        self.catalogue = dialect.Catalogue()
        from innovation_tracker.storage.db import migrate, refuse_newer  # db imports this module

        con = self.cursor()
        try:
            # Servers started together would otherwise race to create the same tables (one would fail).
            with self.exclusive("migrate"):
                con.execute_native(dialect.POSTGRES_COMPAT)
                refuse_newer(con)  # type: ignore[arg-type]  # the same interface
                migrate(con, migrate_to=migrate_to)  # type: ignore[arg-type]  # the same interface
                self.search_indexes()
                self.shelf_ready = self._make_shelf()
        except BaseException:
            self._pool.close()
            raise

    def search_indexes(self) -> None:
        """The trigram indexes that let the evidence search (`contains(lower(text), word)`, a LIKE on PostgreSQL)
        find its matches without reading every excerpt: at S = 1000 an evaluator's search read 1.7 million ratings
        in 0.6–1.0 s. pg_trgm ships with PostgreSQL and is a trusted extension (a database owner may create it);
        where it cannot be created the search still works, by reading every excerpt, and the log says why. Made
        once (IF NOT EXISTS), at S = 1000 in about 15 s."""
        with self._pool.connection() as conn:
            conn.autocommit = True
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            except psycopg.Error as exc:
                _log.warning("The evidence search reads every excerpt: pg_trgm could not be created (%s)", exc)
                return
            found = conn.execute(
                "SELECT n.nspname FROM pg_opclass c JOIN pg_namespace n ON n.oid = c.opcnamespace"
                " JOIN pg_am a ON a.oid = c.opcmethod WHERE c.opcname = 'gin_trgm_ops' AND a.amname = 'gin'"
            ).fetchone()
            if found is None:
                return
            made = set()

            def exists(relation: str) -> bool:
                found = conn.execute("SELECT to_regclass(%s)", [f"{dialect.POSTGRES_SCHEMA}.{relation}"]).fetchone()
                return found is not None and found[0] is not None

            for name, table, expression in SEARCH_INDEXES:
                if exists(name):
                    continue
                if not exists(table):
                    continue  # a database migrated only part of the way (`migrate_to`): made when it is upgraded
                try:
                    conn.execute(
                        f"CREATE INDEX IF NOT EXISTS {name} ON {dialect.POSTGRES_SCHEMA}.{table}"
                        f' USING gin (({expression}) "{found[0]}".gin_trgm_ops)'
                    )
                except psycopg.Error as exc:  # an early schema without the column: made when it is upgraded
                    _log.info("Search index %s not made yet: %s", name, exc)
                    continue
                made.add(table)
            # PostgreSQL keeps statistics of an indexed expression, which tell the planner how many excerpts a word
            # matches (without them it planned 19,000 matches as a handful, one lookup at a time: 0.36 s, not 0.29)
            for table in sorted(made):
                conn.execute(f"ANALYZE {dialect.POSTGRES_SCHEMA}.{table}")

    # The shelf (storage/shelf.py): kept frames stored for the other servers and for restarts, in a schema of its
    # own, so a backup (the `main` schema's tables) and the migrations never see it.
    def _make_shelf(self) -> bool:
        """Create the shelf where it is missing; False (and the log says why) where this role may not."""
        try:
            with self._pool.connection() as conn:
                conn.autocommit = True
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SHELF_SCHEMA}")
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {SHELF_SCHEMA}.frame (key text PRIMARY KEY, data_version bigint"
                    " NOT NULL, stamp text NOT NULL, code text NOT NULL, made_at timestamptz NOT NULL DEFAULT now(),"
                    " payload bytea NOT NULL)"
                )
                # frames made by code no server runs any more (kept a day, for servers still being replaced)
                conn.execute(
                    f"DELETE FROM {SHELF_SCHEMA}.frame WHERE made_at < now() - interval '1 day' AND code <> %s",
                    [shelf_code()],
                )
            return True
        except psycopg.Error as exc:
            _log.warning("Kept frames are not shared between servers: the shelf could not be made (%s)", exc)
            return False

    def shelf_get(self, key: str) -> tuple[int, str, bytes] | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                f"SELECT data_version, stamp, payload FROM {SHELF_SCHEMA}.frame WHERE key = %s", [key]
            ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]), bytes(row[2]))

    def shelf_put(self, key: str, version: int, stamp: str, payload: bytes) -> bool:
        """Keep the newest frame of `key`: a server that built an older one after another's newer keeps none. A
        frame whose read began at `version` is not kept at all if a participant was erased at or after it: it may
        hold what they said (read before the erasure) or their emptied interviews (read between its two
        transactions). Whether it was kept.

        The erasure is looked for in the transaction that stores the frame, which first takes the shelf's table
        in ROW EXCLUSIVE mode; `shelf_clear` takes it in EXCLUSIVE mode. So a store either ends before an erasure's
        clearing begins (and is cleared) or finds the erasure's audit entry (and stores nothing)."""
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(f"LOCK TABLE {SHELF_SCHEMA}.frame IN ROW EXCLUSIVE MODE")
            erased = conn.execute(
                f"SELECT EXISTS (SELECT 1 FROM {dialect.POSTGRES_SCHEMA}.audit_entry"
                " WHERE audit_id >= %s AND action = 'erase')",
                [version],
            ).fetchone()
            if erased is None or erased[0]:
                return False
            conn.execute(
                f"INSERT INTO {SHELF_SCHEMA}.frame AS f (key, data_version, stamp, code, payload)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (key) DO UPDATE SET data_version = excluded.data_version,"
                " stamp = excluded.stamp, code = excluded.code, made_at = now(), payload = excluded.payload"
                " WHERE f.data_version <= excluded.data_version",
                [key, version, stamp, shelf_code(), payload],
            )
            return True

    def shelf_clear(self) -> None:
        """Empty the shelf, after a store in progress has ended (see `shelf_put`)."""
        if self.shelf_ready:
            with self._pool.connection() as conn, conn.transaction():
                conn.execute(f"LOCK TABLE {SHELF_SCHEMA}.frame IN EXCLUSIVE MODE")
                conn.execute(f"DELETE FROM {SHELF_SCHEMA}.frame")

    @contextlib.contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold PostgreSQL's advisory lock called `name` (every process on this database waits for it) for the
        duration: a session lock on a pooled connection of its own, so the work inside may use any connection."""
        key = (ADVISORY_LOCKS, _signed32(zlib.crc32(name.encode())))
        with self._pool.connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s, %s)", key)
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", key)

    def refresh_catalogue(self) -> None:
        with self._pool.connection() as conn:
            columns = conn.execute(dialect.CATALOGUE_SQL).fetchall()
            keys = conn.execute(dialect.PRIMARY_KEY_SQL).fetchall()
        with self._lock:
            self.catalogue = dialect.catalogue_of(columns, keys)
            self._translations.clear()

    def translate(self, sql: str, params: bool) -> str:
        key = (sql, params)
        found = self._translations.get(key)
        if found is None:
            found = dialect.to_postgres(sql, self.catalogue, params=params)
            with self._lock:
                if len(self._translations) > 4096:
                    self._translations.clear()
                self._translations[key] = found
        return found

    def cursor(self) -> PostgresConnection:
        return PostgresConnection(self)

    def close(self) -> None:
        self._pool.close()


def _open_pool(url: str, max_size: int) -> ConnectionPool:
    kwargs: dict[str, Any] = {
        "autocommit": True,
        "cursor_factory": psycopg.ClientCursor,
        "options": f"-c search_path={dialect.POSTGRES_SCHEMA},public -c timezone=UTC {SESSION_SETTINGS}",
    }
    pool = ConnectionPool(
        url, min_size=POOL_MIN, max_size=max_size, kwargs=kwargs, configure=_configure, open=False, timeout=30
    )
    try:
        pool.open(wait=True, timeout=15)
    except Exception as exc:
        pool.close()
        _log.warning("Opening %s failed: %s", _safe(url), exc)
        raise DatabaseUnavailable(
            "The PostgreSQL database could not be reached (is the server running, does the database exist, and may"
            " this user connect?). Check INNOVATION_TRACKER_DB, then try again."
        ) from exc
    return pool


def _signed32(number: int) -> int:
    return number - 2**32 if number >= 2**31 else number


def _safe(url: str) -> str:
    """The URL without a password, for the log."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


class Result:
    """A statement's whole result, read before its connection went back to the pool."""

    def __init__(self, description, rows: list[tuple]) -> None:
        self.description = description
        self._rows = rows
        self._at = 0

    def fetchall(self) -> list[tuple]:
        rows, self._at = self._rows[self._at :], len(self._rows)
        return rows

    def fetchone(self) -> tuple | None:
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    def fetchmany(self, size: int = 1) -> list[tuple]:
        rows = self._rows[self._at : self._at + size]
        self._at += len(rows)
        return rows

    def df(self) -> pd.DataFrame:
        names = [d.name for d in self.description or ()]
        frame = pd.DataFrame.from_records(self.fetchall(), columns=names, coerce_float=True)
        for n, d in enumerate(self.description or ()):
            column = frame.iloc[:, n]
            if d.type_code in _DATES or d.type_code in _TIMESTAMPS:
                frame[frame.columns[n]] = pd.to_datetime(column).astype("datetime64[us]")
            elif d.type_code in _NUMERIC:
                floats = pd.to_numeric(column, errors="coerce").astype("float64")
                whole = floats.notna().all() and (floats == floats.round()).all()
                frame[frame.columns[n]] = floats.astype("int64") if whole and len(floats) else floats
        return frame

    def fetchnumpy(self) -> dict[str, np.ndarray]:
        frame = self.df()
        return {name: frame[name].to_numpy() for name in frame.columns}


class PostgresConnection:
    """The storage layer's view of one session's connection (see the module's doc)."""

    def __init__(self, database: PostgresDatabase) -> None:
        self.database = database
        self._conn: psycopg.Connection | None = None
        self._pins = 0
        self._ordered = False  # holds the write-order lock (from BEGIN to COMMIT or ROLLBACK)
        self._temps: set[str] = set()
        self._schema_changed = False
        self.owns_database = False  # `storage.connect` hands out a connection that closes its pool with it

    def _end_order(self, ordered: bool) -> None:
        """Let the next write transaction begin (a broken connection's lock ended with its session)."""
        if ordered and self._conn is not None and not self._conn.closed:
            with contextlib.suppress(psycopg.Error):
                if self._conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    self._conn.rollback()
                self._conn.execute(WRITE_ORDER_END)

    # Connections: borrowed per statement, kept while pinned.
    def _borrow(self) -> psycopg.Connection:
        if self._conn is None:
            self._conn = self.database._pool.getconn()
        return self._conn

    def _give_back(self) -> None:
        if self._conn is not None and self._pins == 0:
            conn, self._conn = self._conn, None
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                with contextlib.suppress(psycopg.Error):
                    conn.rollback()
            if self._temps:
                self._temps.clear()
                with contextlib.suppress(psycopg.Error):
                    conn.execute("DISCARD TEMP")
            self.database._pool.putconn(conn)
            if self._schema_changed:
                self._schema_changed = False
                self.database.refresh_catalogue()

    def execute(self, sql: str, params: Sequence | dict | None = None) -> Result:
        command = sql.strip().rstrip(";").upper()
        if command in ("BEGIN", "BEGIN TRANSACTION"):
            # Write transactions commit one after another, in the order their audit ids were drawn: the data
            # version is the newest audit id (`storage.data_version`), and a reader that saw id 101 committed while
            # 100 was still open would keep results without 100's change as current until the next write. The lock
            # is taken before BEGIN, so the transaction's snapshot includes every write committed before it. A
            # transaction opened inside another on the same thread (another connection) does not wait for it.
            depth = getattr(_ordering, "depth", 0)
            self._pins += 1
            try:
                if depth == 0:
                    self._run(WRITE_ORDER, None)  # on its own (autocommit): a session lock, before the snapshot
                    self._ordered = True
                result = self._run(
                    f"BEGIN ISOLATION LEVEL REPEATABLE READ; SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'", None
                )
            except BaseException:
                ordered, self._ordered = self._ordered, False
                self._end_order(ordered)
                self._pins = max(self._pins - 1, 0)
                self._give_back()
                raise
            _ordering.depth = depth + 1
            return result
        elif command in ("COMMIT", "ROLLBACK"):
            try:
                return self._run(sql, None)
            finally:
                _ordering.depth = max(getattr(_ordering, "depth", 1) - 1, 0)
                ordered, self._ordered = self._ordered, False
                self._end_order(ordered)
                self._pins = max(self._pins - 1, 0)
                self._give_back()
        file_copy = _COPY_TO_FILE.match(sql)
        if file_copy:
            return self._copy_to_file(file_copy, params)
        describe = _DESCRIBE.match(sql)
        if describe:
            return self._describe(describe.group(1), params)
        temp = _TEMP_TABLE.match(sql)
        if temp:
            self._pins += 1
            self._temps.add(temp.group(1).lower())
        dropped = _DROP_TEMP.match(sql)
        try:
            return self._run(self.database.translate(sql, params is not None), params)
        finally:
            if dropped and dropped.group(1).lower() in self._temps:
                self._temps.discard(dropped.group(1).lower())
                self._pins = max(self._pins - 1, 0)
            self._give_back()

    def execute_native(self, sql: str) -> None:
        """PostgreSQL's own SQL, as it is (no rewriting): creating the compatibility functions at start-up, which
        the caller serialises with other servers doing the same (`PostgresDatabase.exclusive`)."""
        conn = self._borrow()
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
        except psycopg.Error as exc:
            raise _as_duckdb(exc) from exc
        finally:
            self._give_back()
        self.database.refresh_catalogue()

    def _run(self, sql: str, params) -> Result:
        conn = self._borrow()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                while cur.nextset():
                    pass
                if cur.description is None:  # DuckDB answers a write with the number of rows it changed
                    return Result(None, [(cur.rowcount,)])
                return Result(cur.description, cur.fetchall())
        except psycopg.Error as exc:
            raise _as_duckdb(exc) from exc
        finally:
            if _DDL.search(sql):
                self._schema_changed = True

    # DuckDB's statements that name a file on the client, or describe a query: the files and the answers are the
    # same on PostgreSQL, so exports.py and backup.py write one statement for both (docs/architecture.md).
    def _describe(self, query: str, params) -> Result:
        """`DESCRIBE query` (or a table's name): (column_name, column_type) in DuckDB's type names, from the
        query's description."""
        if re.fullmatch(r"[\w.\"]+", query):
            query = f"SELECT * FROM {query}"
        columns = self._columns(self.database.translate(query, params is not None), params)
        return Result(None, [(name, _DUCKDB_TYPES.get(oid, "VARCHAR")) for name, oid in columns])

    def _columns(self, translated: str, params) -> list[tuple[str, int]]:
        conn = self._borrow()
        try:
            with conn.cursor() as cur:
                cur.execute(f"SELECT * FROM ({translated}) AS q LIMIT 0", params)
                return [(d.name, d.type_code) for d in cur.description or ()]
        except psycopg.Error as exc:
            raise _as_duckdb(exc) from exc
        finally:
            self._give_back()

    def _copy_to_file(self, found: re.Match, params) -> Result:
        """`COPY (query) TO 'file' (FORMAT csv, HEADER | FORMAT parquet)`, written on this (the client's) side as
        DuckDB writes it: `COPY … TO STDOUT` streamed to the file (CSV with DuckDB's spelling of booleans and
        floats, so the bytes are the same), or through pyarrow into Parquet with DuckDB's column types. Memory stays
        at one block of rows. Answers the number of rows written, as DuckDB does."""
        query, path, options = found.group(1), found.group(2).replace("''", "'"), found.group(3).lower()
        translated = self.database.translate(query, params is not None)
        columns = self._columns(translated, params)
        self._pins += 1  # the probe and the copy see the same transaction, when one is open
        conn = self._borrow()
        try:
            with conn.cursor() as cur:
                if "parquet" in options:
                    copy_sql = f"COPY ({translated}) TO STDOUT WITH (FORMAT csv, HEADER)"
                    with cur.copy(copy_sql, params) as copy:
                        rows = _parquet_from_csv(copy, columns, path)
                else:
                    select = ", ".join(_duckdb_csv_text(name, oid) for name, oid in columns)
                    copy_sql = f"COPY (SELECT {select} FROM ({translated}) AS q) TO STDOUT WITH (FORMAT csv, HEADER)"
                    with open(path, "wb") as out, cur.copy(copy_sql, params) as copy:
                        for block in copy:
                            out.write(block)
                    rows = cur.rowcount
            return Result(None, [(rows,)])
        except psycopg.Error as exc:
            raise _as_duckdb(exc) from exc
        finally:
            self._pins = max(self._pins - 1, 0)
            self._give_back()

    def copy_from_parquet(self, table: str, path: str) -> int:
        """Append a Parquet file's rows to `table` (its columns by name) through `COPY … FROM STDIN`, a batch at a
        time; the rows loaded. For restores: DuckDB reads Parquet itself (`COPY t FROM 'f.parquet'`)."""
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        if not re.fullmatch(r"\w+", table):
            raise ValueError(f"not a table name: {table}")
        source = pq.ParquetFile(path)
        names = ", ".join(f'"{name}"' for name in source.schema_arrow.names)
        conn = self._borrow()
        n = 0
        try:
            with conn.cursor() as cur, cur.copy(f'COPY "{table}" ({names}) FROM STDIN WITH (FORMAT csv)') as copy:
                # pyarrow quotes every text value and leaves NULL bare: PostgreSQL's CSV reads "" as an empty text
                # and nothing as NULL, so both survive.
                options = pacsv.WriteOptions(include_header=False)
                for batch in source.iter_batches(batch_size=50_000):
                    batch = _storage_types(batch)
                    buffer = io.BytesIO()
                    pacsv.write_csv(batch, buffer, options)
                    copy.write(buffer.getvalue())
                    n += batch.num_rows
            return n
        except psycopg.Error as exc:
            raise _as_duckdb(exc) from exc
        finally:
            self._give_back()

    def executemany(self, sql: str, rows: Iterable[Sequence]) -> None:
        conn = self._borrow()
        try:
            with conn.cursor() as cur:
                cur.executemany(self.database.translate(sql, True), list(rows))
        except psycopg.Error as exc:
            raise _as_duckdb(exc) from exc
        finally:
            self._give_back()

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """Make `frame` a (temporary) table called `name` for the statements that follow, as DuckDB's
        `register` makes it a view: typed like the same-named columns of the schema where it has them."""
        if not re.fullmatch(r"\w+", name):
            raise ValueError(f"not a table name: {name}")
        columns = [str(c) for c in frame.columns]
        values = [_plain_column(frame[c]) for c in frame.columns]
        types = []
        for column, column_values, dtype in zip(columns, values, frame.dtypes, strict=True):
            known = self.database.catalogue.type_of_column(column)
            types.append(known or dialect.postgres_type(column_values, dtype))
        values = [_as_type(v, t) for v, t in zip(values, types, strict=True)]
        self._pins += 1
        self._temps.add(name.lower())
        conn = self._borrow()
        try:
            with conn.cursor() as cur:
                spec = ", ".join(f'"{c}" {t}' for c, t in zip(columns, types, strict=True))
                cur.execute(f"DROP TABLE IF EXISTS pg_temp.{name}")
                cur.execute(f"CREATE TEMP TABLE {name} ({spec})")
                quoted = ", ".join(f'"{c}"' for c in columns)
                with cur.copy(f"COPY {name} ({quoted}) FROM STDIN") as copy:
                    for row in zip(*values, strict=True):
                        copy.write_row(row)
        except psycopg.Error as exc:
            raise _as_duckdb(exc) from exc

    def unregister(self, name: str) -> None:
        try:
            if self._conn is not None and name.lower() in self._temps:
                with self._conn.cursor() as cur:
                    cur.execute(f"DROP TABLE IF EXISTS pg_temp.{name}")
        except psycopg.Error as exc:
            raise _as_duckdb(exc) from exc
        finally:
            if name.lower() in self._temps:
                self._temps.discard(name.lower())
                self._pins = max(self._pins - 1, 0)
            self._give_back()

    def cursor(self) -> PostgresConnection:
        return PostgresConnection(self.database)

    def exclusive(self, name: str) -> contextlib.AbstractContextManager[None]:
        return self.database.exclusive(name)

    @contextlib.contextmanager
    def time_limit(self, seconds: float) -> Iterator[None]:
        """PostgreSQL's `statement_timeout` for the statements inside, on one connection kept for them."""
        self._pins += 1
        conn = self._borrow()
        try:
            conn.execute(f"SET statement_timeout = {max(1, round(seconds * 1000))}")
            yield
        finally:
            with contextlib.suppress(psycopg.Error):
                if conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
                    conn.rollback()
                conn.execute("RESET statement_timeout")
            self._pins = max(self._pins - 1, 0)
            self._give_back()

    def close(self) -> None:
        self._pins = 0
        self._give_back()
        if self.owns_database:
            self.owns_database = False
            self.database.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


_COPY_TO_FILE = re.compile(r"\s*COPY\s+\((.*)\)\s+TO\s+'((?:[^']|'')*)'\s*\(([^()]*)\)\s*;?\s*$", re.I | re.S)
_DESCRIBE = re.compile(r"\s*DESCRIBE\s+(.*?)\s*;?\s*$", re.I | re.S)

# PostgreSQL's type oids as DuckDB names the types the schema declares. SMALLINT is DuckDB's TINYINT (the dialect
# renames it; the schema has no other) and `numeric` is what an average is on PostgreSQL and a DOUBLE on DuckDB.
_DUCKDB_TYPES = {
    16: "BOOLEAN",
    20: "BIGINT",
    21: "TINYINT",
    23: "INTEGER",
    25: "VARCHAR",
    1043: "VARCHAR",
    114: "JSON",
    3802: "JSON",
    700: "FLOAT",
    701: "DOUBLE",
    1700: "DOUBLE",
    1082: "DATE",
    1114: "TIMESTAMP",
    1184: "TIMESTAMP WITH TIME ZONE",
}


def _duckdb_csv_text(name: str, oid: int) -> str:
    """A column as DuckDB's CSV writer spells it: booleans `true`/`false` (PostgreSQL: `t`/`f`), a whole float with
    `.0` (PostgreSQL: `1`), every other float the shortest text that reads back the same (both do this)."""
    column = '"' + name.replace('"', '""') + '"'
    kind = _DUCKDB_TYPES.get(oid)
    if kind == "BOOLEAN":
        text = f"CASE WHEN {column} THEN 'true' WHEN NOT {column} THEN 'false' END"
    elif kind in ("DOUBLE", "FLOAT"):
        value = f"CAST({column} AS DOUBLE PRECISION)"
        text = (
            f"CASE WHEN {value} = trunc({value}) AND abs({value}) < 1e15"
            f" THEN CAST(CAST({value} AS BIGINT) AS TEXT) || '.0' ELSE CAST({value} AS TEXT) END"
        )
    else:
        return column
    return f"{text} AS {column}"


def _arrow_type(oid: int):
    import pyarrow as pa

    return {
        "BOOLEAN": pa.bool_(),
        "BIGINT": pa.int64(),
        "TINYINT": pa.int8(),
        "INTEGER": pa.int32(),
        "FLOAT": pa.float32(),
        "DOUBLE": pa.float64(),
        "DATE": pa.date32(),
        "TIMESTAMP": pa.timestamp("us"),
        "TIMESTAMP WITH TIME ZONE": pa.timestamp("us", tz="UTC"),
    }.get(_DUCKDB_TYPES.get(oid, "VARCHAR"), pa.string())


class _CopyReader(io.RawIOBase):
    """`COPY … TO STDOUT`'s blocks as a file pyarrow reads."""

    def __init__(self, copy) -> None:
        self._blocks = iter(copy)
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._left:
            block = next(self._blocks, None)
            if block is None:
                return 0
            self._left = bytes(block)
        n = min(len(target), len(self._left))
        target[:n] = self._left[:n]
        self._left = self._left[n:]
        return n


def _parquet_from_csv(copy, columns: list[tuple[str, int]], path: str) -> int:
    """PostgreSQL's CSV (`t`/`f`, NULL bare, "" an empty text) into a Parquet file typed as DuckDB types the
    columns, a block at a time."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    schema = pa.schema([(name, _arrow_type(oid)) for name, oid in columns])
    reader = pacsv.open_csv(
        io.BufferedReader(_CopyReader(copy), buffer_size=1 << 20),
        read_options=pacsv.ReadOptions(use_threads=False, block_size=1 << 22),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=schema,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )
    n = 0
    with pq.ParquetWriter(path, schema) as writer:
        for batch in reader:
            writer.write_batch(batch)
            n += batch.num_rows
    return n


def _storage_types(batch):
    """DuckDB writes JSON columns as Arrow's JSON extension type, which pyarrow's CSV writer refuses: its text."""
    import pyarrow as pa

    if not any(isinstance(field.type, pa.BaseExtensionType) for field in batch.schema):
        return batch
    columns = [c.storage if isinstance(c.type, pa.BaseExtensionType) else c for c in batch.columns]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def has_tables(url: str) -> bool:
    """Whether the database at `url` holds any table of its own (a restore goes into an empty one only); the shelf
    of kept frames, which holds nothing of the study's own, does not count."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            found = conn.execute(
                "SELECT count(*) FROM information_schema.tables"
                " WHERE table_schema NOT IN ('pg_catalog', 'information_schema', %s)",
                [SHELF_SCHEMA],
            ).fetchone()
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(
            "The PostgreSQL database could not be reached (is the server running, does the database exist, and may"
            " this user connect?)."
        ) from exc
    return bool(found and found[0])


_TEMP_TABLE = re.compile(r"\s*CREATE\s+TEMP(?:ORARY)?\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.IGNORECASE)
_DROP_TEMP = re.compile(r"\s*DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:temp\.|pg_temp\.)?(\w+)", re.IGNORECASE)
_DDL = re.compile(r"^\s*(?:CREATE|ALTER|DROP)\s+(?!TEMP)", re.IGNORECASE | re.MULTILINE)


def _plain_column(series: pd.Series) -> list:
    """A frame's column as Python values psycopg can send: NULL for missing, dates as dates, numbers as numbers."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return [None if pd.isna(v) else v.to_pydatetime() for v in series]
    if pd.api.types.is_bool_dtype(series):
        return [None if pd.isna(v) else bool(v) for v in series]
    if pd.api.types.is_integer_dtype(series):
        return [None if pd.isna(v) else int(v) for v in series]
    if pd.api.types.is_float_dtype(series):
        return [None if pd.isna(v) else float(v) for v in series]
    out: list = []
    for v in series.astype(object):
        if v is None or (not isinstance(v, list | tuple | dict) and pd.isna(v)):
            out.append(None)
        elif isinstance(v, pd.Timestamp):
            out.append(v.to_pydatetime())
        elif isinstance(v, np.generic):
            out.append(v.item())
        else:
            out.append(v)
    return out


def _as_type(values: list, kind: str) -> list:
    """Values fit for a column of type `kind` (DuckDB casts these on insert; COPY does not)."""
    if kind in ("smallint", "integer", "bigint"):
        return [int(v) if isinstance(v, float) and v.is_integer() else v for v in values]
    if kind == "date":
        return [v.date() if isinstance(v, dt.datetime) else v for v in values]
    return values


def _as_duckdb(exc: psycopg.Error) -> duckdb.Error:
    """PostgreSQL's error as the DuckDB error class storage/ handles, worded as DuckDB words it where storage/
    reads the words (a duplicate key names "column: value")."""
    text = str(exc).strip()
    if isinstance(exc, pg_errors.UniqueViolation):
        detail = exc.diag.message_detail or ""
        found = re.match(r"Key \((.*)\)=\((.*)\) already exists", detail)
        key = f'"{found.group(1)}: {found.group(2)}"' if found else detail
        return duckdb.ConstraintException(f"Constraint Error: Duplicate key {key} violates primary key constraint")
    if isinstance(exc, pg_errors.ForeignKeyViolation):
        return duckdb.ConstraintException(f"Constraint Error: Violates foreign key constraint: {text}")
    if isinstance(exc, pg_errors.CheckViolation):
        table = exc.diag.table_name or ""
        return duckdb.ConstraintException(f"Constraint Error: CHECK constraint failed on table {table}: {text}")
    if isinstance(exc, pg_errors.NotNullViolation | pg_errors.IntegrityError):
        return duckdb.ConstraintException(f"Constraint Error: {text}")
    if isinstance(exc, pg_errors.SerializationFailure | pg_errors.DeadlockDetected | pg_errors.LockNotAvailable):
        return duckdb.TransactionException(f"TransactionContext Error: Conflict: {text}")
    if isinstance(exc, pg_errors.QueryCanceled):  # `statement_timeout` (storage.time_limit)
        return duckdb.InterruptException(f"INTERRUPT Error: {text}")
    if isinstance(exc, pg_errors.DiskFull):
        return duckdb.IOException(f"No space left on device: {text}")
    if isinstance(exc, psycopg.OperationalError):
        return duckdb.ConnectionException(f"Connection Error: {text}")
    if isinstance(exc, pg_errors.InvalidTextRepresentation | pg_errors.DatetimeFieldOverflow):
        return duckdb.ConversionException(f"Conversion Error: {text}")
    return duckdb.Error(text)
