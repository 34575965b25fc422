"""Faults: a process killed in the middle of a large import, and a database made by the first migration."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks import transfer
from innovation_tracker import storage

ROOT = Path(__file__).resolve().parents[2]
RATINGS = 300_000
KILL_POINTS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9)  # fractions of the time from the import's first write to its exit
# When a row was written differs between two runs of the same import; everything else must match.
VOLATILE = {"audit_entry": " EXCLUDE (changed_at)", "schema_migration": " EXCLUDE (applied_at)"}


def fingerprint(path: Path) -> dict[str, tuple[int, int]]:
    """Every table's row count and the sum of its rows' hashes: equal fingerprints, equal contents."""
    con = storage.connect(path)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        return {
            t: con.execute(
                f"SELECT count(*), coalesce(sum(hash(x)), 0) FROM (SELECT *{VOLATILE.get(t, '')} FROM {t}) x"
            ).fetchone()
            for t in tables
        }
    finally:
        con.close()


def start_import(db: Path, csv: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "innovation_tracker", "import", "--db", str(db), "--today",
               transfer.END.isoformat(), str(csv)]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def written(db: Path, size: int) -> bool:
    """Whether the import has begun writing: DuckDB writes a large insert's row groups into the database file
    before the commit, and the commit into the WAL."""
    wal = db.with_name(db.name + ".wal")
    return db.stat().st_size > size or (wal.exists() and wal.stat().st_size > 0)


def write_window(db: Path, csv: Path) -> float:
    """How long the import writes: from its first write to its exit."""
    size = db.stat().st_size
    process = start_import(db, csv)
    began = None
    while process.poll() is None:
        if began is None and written(db, size):
            began = time.perf_counter()
        time.sleep(0.002)
    assert process.returncode == 0, process.stderr.read().decode()
    assert began is not None, "the import finished before any write was seen"
    return time.perf_counter() - began


def kill_inside_write(db: Path, csv: Path, delay: float) -> bool:
    """Start an import, wait for its first write, SIGKILL it `delay` seconds later; whether it was still running."""
    size = db.stat().st_size
    process = start_import(db, csv)
    while process.poll() is None and not written(db, size):
        time.sleep(0.002)
    time.sleep(delay)
    running = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return running


@pytest.fixture(scope="module")
def large_import(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kill")
    db, csv = transfer.ratings_study(folder, RATINGS)
    finished = folder / "finished.duckdb"
    shutil.copy(db, finished)
    window = write_window(finished, csv)
    return db, csv, fingerprint(db), fingerprint(finished), window


@pytest.mark.slow  # a 300,000-rating import, killed part-way: a scale import
def test_a_killed_import_leaves_the_database_exactly_as_before(large_import, tmp_path):
    pristine, csv, before, complete, window = large_import
    assert before != complete and complete["factor_rating"][0] == before["factor_rating"][0] + RATINGS
    outcomes = []
    for point in KILL_POINTS:
        db = tmp_path / f"killed-{point}.duckdb"
        shutil.copy(pristine, db)
        inside = kill_inside_write(db, csv, point * window)
        after = fingerprint(db)
        assert after in (before, complete), f"killed at {point:.0%} of the write: the database holds a partial import"
        outcomes.append((inside, after == before))
    # The kills must have hit the write itself, not only the reading and checking before it or the exit after.
    assert sum(inside and untouched for inside, untouched in outcomes) >= 3, outcomes


@pytest.mark.slow  # a 300,000-rating import, killed part-way: a scale import
def test_a_killed_import_can_be_run_again(large_import, tmp_path):
    pristine, csv, before, complete, window = large_import
    db = tmp_path / "again.duckdb"
    shutil.copy(pristine, db)
    assert kill_inside_write(db, csv, 0.3 * window)
    process = start_import(db, csv)
    assert process.wait(timeout=120) == 0, process.stderr.read().decode()
    assert fingerprint(db) == complete


def test_a_database_at_the_first_migration_upgrades_with_nothing_lost(tmp_path, demo_file):
    """The demo's rows, written into a database at migration 1 (today's code writes today's schema, so the rows
    are copied column by column), survive the upgrade to the newest schema unchanged."""
    path = tmp_path / "old.duckdb"
    con = storage.connect(path, migrate_to=1)
    assert storage.schema_version(con) == 1
    con.execute(f"ATTACH '{demo_file}' AS demo (READ_ONLY)")
    core = ["study", "wave", "factor", "indicator", "project", "participant", "interview", "factor_rating",
            "indicator_value", "milestone", "user_account", "user_project", "audit_entry"]  # fmt: skip
    for table in core:
        columns = ", ".join(r[1] for r in con.execute(f"PRAGMA table_info('{table}')").fetchall())
        con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM demo.{table}")
    con.execute("DETACH demo")
    exported = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in ("project", "interview")}
    assert len(exported["interview"]) > 200
    con.close()
    old = fingerprint(path)
    con = storage.connect(path)
    assert storage.schema_version(con) == storage.shipped_migrations()[-1][0]
    for table, rows in exported.items():
        assert con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() == rows, table
    con.close()
    new = fingerprint(path)
    assert {t: v for t, v in new.items() if t != "schema_migration"} == {
        t: v for t, v in old.items() if t != "schema_migration"
    }
    assert new["schema_migration"][0] == len(storage.shipped_migrations())
