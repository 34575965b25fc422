"""A cached DuckDB portfolio copied into a fresh PostgreSQL database, in bulk.

The database is created on a server named by URL (as tests/support/postgres.py does), migrated by
`storage.connect(url)` (the app's own migrations, so the schema is the one the app runs on), then each table is
copied whole: DuckDB writes the table as CSV (`COPY … TO`, hundreds of MB a second) and psycopg streams the file
into `COPY … FROM STDIN`, parents
before children. As pg_restore does, the foreign keys are dropped for the copy and added back after it, in the same
transaction: PostgreSQL then checks each key once over the whole table (a join) instead of row by row through its
triggers (at S = 1000 that took the 1.7 million ratings' copy from minutes to seconds). Sequences are then moved past
the ids loaded, and the tables analysed (PostgreSQL plans from statistics, which a bulk load leaves stale).
"""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import duckdb
import psycopg

from innovation_tracker import storage

CHUNK = 1 << 20

# Child → parent edges of the schema's foreign keys, read from PostgreSQL's catalogue (the migrations made them).
FOREIGN_KEYS_SQL = """
SELECT child.relname, parent.relname, c.conname, pg_get_constraintdef(c.oid)
FROM pg_constraint c
JOIN pg_class child ON child.oid = c.conrelid
JOIN pg_class parent ON parent.oid = c.confrelid
JOIN pg_namespace n ON n.oid = child.relnamespace
WHERE c.contype = 'f' AND n.nspname = 'main' AND c.conrelid <> c.confrelid
"""
TABLES_SQL = (
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'BASE TABLE'"
)
COLUMNS_SQL = """
SELECT column_name FROM information_schema.columns
WHERE table_schema = 'main' AND table_name = %s ORDER BY ordinal_position
"""
SEQUENCES_SQL = """
SELECT s.relname, t.relname, a.attname
FROM pg_depend d
JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_class t ON t.oid = d.refobjid
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = 'main'
"""
# Sequences used as a column's DEFAULT nextval('…') (created apart from their table, so not "owned" by it).
DEFAULT_SEQUENCES_SQL = """
SELECT substring(column_default FROM 'nextval\\(''(?:main\\.)?([a-z_]+)''') AS seq, table_name, column_name
FROM information_schema.columns
WHERE table_schema = 'main' AND column_default LIKE 'nextval(%%'
"""


def database_url(server: str, name: str) -> str:
    parts = urlsplit(server)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def create_database(server: str, prefix: str = "bench") -> str:
    """A new empty database on `server`; its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database_url(server, "postgres"), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return database_url(server, name)


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(database_url(url, "postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def parents_first(tables: list[str], edges: list[tuple[str, str]]) -> list[str]:
    """`tables` ordered so that every table comes after the tables its foreign keys reference."""
    parents = {t: {p for c, p in edges if c == t and p in tables} for t in tables}
    ordered: list[str] = []
    while len(ordered) < len(tables):
        ready = sorted(t for t in tables if t not in ordered and parents[t] <= set(ordered))
        if not ready:
            raise ValueError(f"foreign keys form a cycle among {sorted(set(tables) - set(ordered))}")
        ordered += ready
    return ordered


def load(duckdb_file: Path, url: str, log=print) -> dict[str, str | float | int]:
    """Copy every table of the DuckDB database `duckdb_file` into the PostgreSQL database `url` (migrated here,
    expected new): the rows copied and the seconds taken."""
    started = time.perf_counter()
    storage.connect(url).close()  # the app's migrations, on PostgreSQL
    migrated = time.perf_counter()
    source = duckdb.connect(str(duckdb_file), read_only=True)
    rows = 0
    try:
        with psycopg.connect(url, options="-c search_path=main") as pg, tempfile.TemporaryDirectory() as tmp:
            tables = [t for (t,) in pg.execute(TABLES_SQL).fetchall() if t != "schema_migration"]
            keys = pg.execute(FOREIGN_KEYS_SQL).fetchall()
            order = parents_first(tables, [(child, parent) for child, parent, _, _ in keys])
            for child, _, name, _ in keys:
                pg.execute(f'ALTER TABLE main."{child}" DROP CONSTRAINT "{name}"')
            # The migrations may have seeded rows (none today): the copy replaces them. Truncated in this transaction,
            # a table takes COPY … FREEZE: its rows are written frozen and visible to all, as after a VACUUM.
            pg.execute("TRUNCATE " + ", ".join(f'main."{t}"' for t in order))
            for table in order:
                columns = [c for (c,) in pg.execute(COLUMNS_SQL, (table,)).fetchall()]
                quoted = ", ".join(f'"{c}"' for c in columns)
                csv = Path(tmp) / f"{table}.csv"
                written = source.execute(
                    f"COPY (SELECT {quoted} FROM main.\"{table}\") TO '{csv}' (FORMAT csv, HEADER false)"
                ).fetchone()
                rows += written[0] if written else 0
                into = f'COPY main."{table}" ({quoted}) FROM STDIN (FORMAT csv, FREEZE)'
                with pg.cursor() as cur, cur.copy(into) as copy, csv.open("rb") as f:
                    while chunk := f.read(CHUNK):
                        copy.write(chunk)
                csv.unlink()
            for child, _, name, definition in keys:  # each checked over its whole table here
                pg.execute(f'ALTER TABLE main."{child}" ADD CONSTRAINT "{name}" {definition}')
            sequences = pg.execute(SEQUENCES_SQL).fetchall() + pg.execute(DEFAULT_SEQUENCES_SQL).fetchall()
            for sequence, table, column in {s for s in sequences if s[0]}:
                last = f'SELECT max("{column}") FROM main."{table}"'
                pg.execute(f"SELECT setval('main.{sequence}', coalesce(({last}), 0) + 1, false)")
            pg.commit()
        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute("VACUUM ANALYZE")
    finally:
        source.close()
    done = time.perf_counter()
    log(
        f"PostgreSQL: migrated in {migrated - started:.1f} s,"
        f" {rows:,} rows copied and analysed in {done - migrated:.1f} s"
    )
    name = urlsplit(url).path.lstrip("/")
    return {"database": name, "rows": rows, "migrate_s": migrated - started, "load_s": done - migrated}
