"""PostgreSQL for the tests that run on both backends: a server named by INNOVATION_TRACKER_TEST_PG (a URL, as
`.ci/pg-cluster start` prints it), on which each test gets a database of its own, dropped afterwards.

Where no server is named the PostgreSQL variants skip, unless INNOVATION_TRACKER_REQUIRE_POSTGRES=1 (CI) makes the
missing server a failure."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

SERVER_ENV = "INNOVATION_TRACKER_TEST_PG"
REQUIRE_ENV = "INNOVATION_TRACKER_REQUIRE_POSTGRES"


def server_or_skip() -> str:
    url = os.environ.get(SERVER_ENV)
    if url:
        return url
    message = f"no PostgreSQL server for the tests ({SERVER_ENV} is not set; see .ci/pg-cluster)"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(message)
    pytest.skip(message)


def database_url(server: str, name: str) -> str:
    """`server`'s URL with the database `name` (the socket folder and user kept)."""
    parts = urlsplit(server)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _admin(server: str):
    import psycopg

    return psycopg.connect(database_url(server, "postgres"), autocommit=True)


def create_database(server: str, template: str | None = None) -> str:
    """A new empty database (or a copy of `template`) on `server`; its URL."""
    name = f"it_{uuid.uuid4().hex[:16]}"
    with _admin(server) as admin:
        # FILE_COPY: a small database is copied several times faster than by writing it through the WAL.
        admin.execute(f"CREATE DATABASE {name} STRATEGY FILE_COPY" + (f" TEMPLATE {template}" if template else ""))
    return database_url(server, name)


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with _admin(url) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def name_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


@contextlib.contextmanager
def blank_database(backend: str, path: Path) -> Iterator[str | Path]:
    """A database with nothing in it, not even the schema: `path` (a DuckDB file not made yet) or a new
    PostgreSQL database, dropped afterwards."""
    if backend == "duckdb":
        yield path
        return
    url = create_database(server_or_skip())
    try:
        yield url
    finally:
        drop_database(url)
