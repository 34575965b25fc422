"""Backup and restore give an identical database: every table, the audit log, accounts and applied migrations."""

import json
import zipfile

import pytest

from innovation_tracker import storage
from innovation_tracker.app import backup
from innovation_tracker.cli import main
from innovation_tracker.domain.errors import AccessDenied, TrackerError
from innovation_tracker.domain.model import SYSTEM_VIEWER, AccountRole, Viewer
from tests.conftest import EVALUATOR
from tests.support import postgres

ADMIN = Viewer("demo-admin", AccountRole.ADMIN)


@pytest.fixture
def new_database(backend, tmp_path):
    """Where a restore goes: a file that does not exist yet, or a new PostgreSQL database with no tables."""
    with postgres.blank_database(backend, tmp_path / "restored.duckdb") as target:
        yield target


def tables(con) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            " AND table_type = 'BASE TABLE' AND table_catalog = current_database() ORDER BY table_name"
        ).fetchall()
    ]


def contents(target) -> dict[str, list[tuple]]:
    con = storage.connect(target)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables(con)}
    finally:
        con.close()


def is_empty(target) -> bool:
    """No file, or a PostgreSQL database with no tables (as it was before a refused restore)."""
    if storage.is_postgres(str(target)):
        from innovation_tracker.storage.postgres import has_tables

        return not has_tables(str(target))
    return not target.exists()


def test_backup_then_restore_reproduces_every_table(seeded, seeded_database, new_database, tmp_path):
    counts = backup.backup(seeded, ADMIN, tmp_path / "backup")
    seeded.close()
    restored = new_database
    assert backup.restore(tmp_path / "backup", restored) == counts
    original, copy = contents(seeded_database), contents(restored)
    assert set(copy) >= {"audit_entry", "user_account", "user_project", "schema_migration", "factor_rating"}
    for table in original:
        assert copy[table] == original[table], table
    assert counts["factor_rating"] == len(original["factor_rating"]) > 1000
    assert len(original["user_account"]) > 0 and len(original["schema_migration"]) > 0


def test_the_backup_is_audited_and_the_restored_audit_log_carries_on(seeded, new_database, tmp_path):
    backup.backup(seeded, ADMIN, tmp_path / "backup")
    last = seeded.execute("SELECT max(audit_id) FROM audit_entry").fetchone()[0]
    entry = seeded.execute("SELECT actor, action, entity FROM audit_entry WHERE audit_id = ?", [last]).fetchone()
    assert entry == ("demo-admin", "export", "backup")
    backup.restore(tmp_path / "backup", new_database)
    con = storage.connect(new_database)
    storage.record_audit(con, "someone", "export", "study", None)
    assert con.execute("SELECT max(audit_id) FROM audit_entry").fetchone()[0] == last + 1
    assert storage.schema_version(con) == storage.schema_version(seeded)
    assert storage.read_table(con, EVALUATOR, "interviews").equals(storage.read_table(seeded, EVALUATOR, "interviews"))
    con.close()


def test_restore_never_overwrites_an_existing_file(seeded, tmp_path):
    backup.backup(seeded, ADMIN, tmp_path / "backup")
    existing = tmp_path / "existing.duckdb"
    existing.write_bytes(b"precious")
    with pytest.raises(TrackerError, match="already exists"):
        backup.restore(tmp_path / "backup", existing)
    assert existing.read_bytes() == b"precious"


def test_restore_never_writes_into_a_postgresql_database_that_has_tables(seeded, tmp_path, demo_template):
    backup.backup(seeded, ADMIN, tmp_path / "backup")
    url = postgres.create_database(postgres.server_or_skip(), template=demo_template)
    try:
        before = contents(url)
        with pytest.raises(TrackerError, match="already has tables.*nothing is overwritten"):
            backup.restore(tmp_path / "backup", url)
        assert contents(url) == before
    finally:
        postgres.drop_database(url)


def test_the_zip_download_restores_too(seeded, seeded_database, new_database, tmp_path):
    archive = tmp_path / "backup.zip"
    archive.write_bytes(backup.backup_zip(seeded, ADMIN))
    names = zipfile.ZipFile(archive).namelist()
    assert {"manifest.json", "schema.sql", "load.sql", "factor_rating.parquet"} <= set(names)
    seeded.close()
    backup.restore(archive, new_database)
    assert contents(new_database) == contents(seeded_database)


@pytest.mark.parametrize("role", [AccountRole.EVALUATOR, AccountRole.FUNDER, AccountRole.TEAM])
def test_only_admins_back_up(seeded, tmp_path, role):
    before = seeded.execute("SELECT count(*) FROM audit_entry").fetchone()[0]
    with pytest.raises(AccessDenied):
        backup.backup(seeded, Viewer("someone", role, frozenset({"ARTS"})), tmp_path / "backup")
    assert not (tmp_path / "backup").exists()
    assert seeded.execute("SELECT count(*) FROM audit_entry").fetchone()[0] == before


def test_a_folder_that_is_not_empty_is_refused(seeded, tmp_path):
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "notes.txt").write_text("mine")
    with pytest.raises(TrackerError, match="not empty"):
        backup.backup(seeded, ADMIN, tmp_path / "backup")


def test_a_damaged_backup_is_refused_and_leaves_no_file(seeded, new_database, tmp_path):
    backup.backup(seeded, ADMIN, tmp_path / "backup")
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    manifest["tables"]["factor_rating"] += 1
    (tmp_path / "backup" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(TrackerError, match="differ from the backup's manifest"):
        backup.restore(tmp_path / "backup", new_database)
    assert is_empty(new_database)
    with pytest.raises(TrackerError, match="is not a backup"):
        backup.restore(tmp_path, tmp_path / "other.duckdb")


def test_a_backup_from_a_newer_version_is_refused(seeded, tmp_path):
    backup.backup(seeded, ADMIN, tmp_path / "backup")
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    manifest["schema_version"] = 999
    (tmp_path / "backup" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(TrackerError, match="newer version"):
        backup.restore(tmp_path / "backup", tmp_path / "restored.duckdb")


def test_backup_and_restore_from_the_command_line(seeded_database, new_database, tmp_path, capsys):
    assert main(["backup", "--db", str(seeded_database), "--out", str(tmp_path / "b")]) == 0
    assert "factor rating" in capsys.readouterr().out
    assert main(["restore", str(tmp_path / "b"), "--db", str(new_database)]) == 0
    assert contents(new_database) == contents(seeded_database)
    assert main(["restore", str(tmp_path / "b"), "--db", str(new_database)]) == 1
    assert "so nothing is overwritten" in capsys.readouterr().err


def test_the_system_viewer_may_back_up(seeded, tmp_path):
    assert backup.backup(seeded, SYSTEM_VIEWER, tmp_path / "b")["study"] == 1


def test_no_session_survives_a_restore(seeded, new_database, tmp_path):
    """A session that was live when the backup was taken and ended afterwards (log-out) stays ended: the restored
    database starts with no one logged in."""
    import datetime as dt

    from innovation_tracker.app import sessions

    now = dt.datetime(2026, 12, 1, 9, 0)
    limits = sessions.Limits()
    started = sessions.start(seeded, ADMIN, "password", now=now, limits=limits)
    backup.backup(seeded, ADMIN, tmp_path / "backup")
    sessions.end_all(seeded, ADMIN.username, now=now)
    assert sessions.resume(seeded, started.token, now=now, limits=limits) is None
    seeded.close()
    backup.restore(tmp_path / "backup", new_database)
    con = storage.connect(new_database)
    try:
        assert sessions.resume(con, started.token, now=now, limits=limits) is None
        assert con.execute("SELECT count(*) FROM login_session").fetchone()[0] == 0
    finally:
        con.close()


@pytest.mark.parametrize("direction", ["duckdb to postgresql", "postgresql to duckdb"])
def test_a_backup_restores_across_backends(seeded_path, demo_template, tmp_path, direction):
    """The migration path from the embedded file to a shared PostgreSQL database (docs/deployment.md), and back."""
    url = postgres.create_database(postgres.server_or_skip(), template=demo_template)
    empty = postgres.create_database(postgres.server_or_skip())
    source, target = (seeded_path, empty) if direction.startswith("duckdb") else (url, tmp_path / "moved.duckdb")
    try:
        con = storage.connect(source)
        counts = backup.backup(con, ADMIN, tmp_path / "backup")
        con.close()
        assert backup.restore(tmp_path / "backup", target) == counts
        assert contents(target) == contents(source)
        assert counts["factor_rating"] > 1000 and counts["audit_entry"] > 0
        con = storage.connect(target)
        try:
            last = con.execute("SELECT max(audit_id) FROM audit_entry").fetchone()[0]
            storage.record_audit(con, "someone", "export", "study", None)
            assert con.execute("SELECT max(audit_id) FROM audit_entry").fetchone()[0] == last + 1
            assert storage.read_table(con, EVALUATOR, "factor_ratings").shape[0] == counts["factor_rating"]
        finally:
            con.close()
    finally:
        postgres.drop_database(url)
        postgres.drop_database(empty)


def test_a_backup_of_an_older_schema_restores_and_is_brought_up_to_date(backend, new_database, tmp_path):
    """Restore runs the migrations up to the backup's version, loads it, then the later ones (on either backend)."""
    old = tmp_path / "old.duckdb"
    con = storage.connect(old, migrate_to=8)
    con.execute(
        "INSERT INTO study (name, start_date, end_date) VALUES ('Old study', DATE '2025-01-01', DATE '2026-01-01')"
    )
    con.execute(
        "INSERT INTO project (project_code, name, setting, relation_to_statutory) VALUES"
        " ('OLD', 'Old project', 'nhs', 'internal')"
    )
    counts = backup.backup(con, ADMIN, tmp_path / "backup")
    con.close()
    assert json.loads((tmp_path / "backup" / "manifest.json").read_text())["schema_version"] == 8
    assert backup.restore(tmp_path / "backup", new_database) == counts
    con = storage.connect(new_database)
    try:
        assert storage.schema_version(con) == max(v for v, _, _ in storage.shipped_migrations())
        assert con.execute("SELECT name, neutral_mixed FROM study").fetchall() == [("Old study", False)]
        assert con.execute("SELECT project_code, name FROM project").fetchall() == [("OLD", "Old project")]
    finally:
        con.close()
