import pytest

from innovation_tracker import storage
from innovation_tracker.errors import StorageError


def tables(con):
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def test_connect_applies_every_migration_and_records_it(tmp_path):
    con = storage.connect(tmp_path / "a.duckdb")
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


def test_reapplying_does_nothing(tmp_path):
    path = tmp_path / "a.duckdb"
    storage.connect(path).close()
    con = storage.connect(path)
    assert storage.migrate(con) == []
    assert con.execute("SELECT count(*) FROM schema_migration").fetchone()[0] == len(storage.shipped_migrations())


def test_a_failing_migration_rolls_back_completely(tmp_path):
    con = storage.connect(tmp_path / "a.duckdb")
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


def test_migrate_to_stops_at_the_given_version_and_later_upgrades(tmp_path):
    path = tmp_path / "a.duckdb"
    con = storage.connect(path, migrate_to=0)
    assert storage.schema_version(con) == 0
    assert "project" not in tables(con)
    assert storage.migrate(con) == [v for v, _, _ in storage.shipped_migrations()]
