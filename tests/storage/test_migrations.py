"""Migrations on both backends: each applied once, in order, with its record; a failing one rolls back; a database
left at any earlier version upgrades to the same schema as a new one."""

import pytest

from innovation_tracker import storage
from innovation_tracker.domain.errors import StorageError
from tests.support import postgres


@pytest.fixture
def target(backend, tmp_path):
    """A database with nothing in it, not even the schema: a new file, or a new PostgreSQL database."""
    with postgres.blank_database(backend, tmp_path / "a.duckdb") as target:
        yield target


@pytest.fixture
def second_target(backend, tmp_path):
    with postgres.blank_database(backend, tmp_path / "b.duckdb") as target:
        yield target


def tables(con):
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def columns(con) -> list[tuple]:
    """Every column of the app's tables: table, name, position, type, nullable, in a comparable order."""
    return con.execute(
        "SELECT table_name, column_name, ordinal_position, data_type, is_nullable FROM information_schema.columns"
        " WHERE table_schema = 'main' AND table_catalog = current_database() ORDER BY table_name, ordinal_position"
    ).fetchall()


def test_connect_applies_every_migration_and_records_it(target):
    con = storage.connect(target)
    shipped = [version for version, _, _ in storage.shipped_migrations()]
    recorded = [r[0] for r in con.execute("SELECT version FROM schema_migration ORDER BY version").fetchall()]
    assert recorded == shipped
    assert storage.schema_version(con) == shipped[-1]
    assert {
        "study",
        "wave",
        "project",
        "participant",
        "interview",
        "factor",
        "factor_rating",
        "indicator",
        "indicator_value",
        "milestone",
        "user_account",
        "user_project",
        "audit_entry",
    } <= tables(con)


def test_reapplying_does_nothing(target):
    path = target
    storage.connect(path).close()
    con = storage.connect(path)
    assert storage.migrate(con) == []
    assert con.execute("SELECT count(*) FROM schema_migration").fetchone()[0] == len(storage.shipped_migrations())


def test_a_failing_migration_rolls_back_completely(target):
    con = storage.connect(target)
    before = storage.schema_version(con)
    broken = (
        9001,
        "broken",
        "CREATE TABLE half_done (x INTEGER); INSERT INTO half_done VALUES (1); "
        "ALTER TABLE project ADD COLUMN extra INTEGER; SELECT no_such_column FROM half_done;",
    )
    with pytest.raises(StorageError, match="9001_broken failed and was rolled back"):
        storage.migrate(con, extra=[broken])
    assert "half_done" not in tables(con)
    assert "extra" not in {r[0] for r in con.execute("DESCRIBE project").fetchall()}
    assert storage.schema_version(con) == before


def test_migrate_to_stops_at_the_given_version_and_later_upgrades(target):
    path = target
    con = storage.connect(path, migrate_to=0)
    assert storage.schema_version(con) == 0
    assert "project" not in tables(con)
    assert storage.migrate(con) == [v for v, _, _ in storage.shipped_migrations()]


@pytest.mark.parametrize("version", [v for v, _, _ in storage.shipped_migrations()][:-1])
def test_a_database_left_at_any_version_upgrades_to_the_schema_of_a_new_one(target, second_target, version):
    con = storage.connect(target, migrate_to=version)
    assert storage.schema_version(con) == version
    con.close()
    upgraded = storage.connect(target)
    new = storage.connect(second_target)
    try:
        later = [v for v, _, _ in storage.shipped_migrations() if v > version]
        recorded = [r[0] for r in upgraded.execute("SELECT version FROM schema_migration ORDER BY 1").fetchall()]
        assert recorded[-len(later) :] == later
        assert columns(upgraded) == columns(new)
        assert len(columns(new)) > 100
    finally:
        upgraded.close()
        new.close()
