"""Import and export at scale: the product's validated import of a ratings CSV against DuckDB's plain `read_csv`
of the same file, and the tidy export of a whole study."""

from __future__ import annotations

import datetime as dt
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from innovation_tracker import storage
from innovation_tracker.app import service
from innovation_tracker.domain.model import SYSTEM_VIEWER, Study

START, END = dt.date(2025, 1, 1), dt.date(2026, 6, 30)
RATINGS_PER_INTERVIEW = 10
WAVE_OFFSETS = "[('baseline', 0), ('month_3', 91), ('month_6', 182), ('month_9', 273), ('month_12', 365)]"
PEOPLE_PER_PROJECT = 100

# Every interview completed on its due date; the ratings obey their factor's kind, so the import finds no problem
# and the benchmark times the whole path: read, check, write.
PEOPLE_SQL = """
INSERT INTO project (project_code, name, setting, relation_to_statutory, status)
SELECT 'P' || lpad(n::VARCHAR, 5, '0'), 'Project ' || n, 'community', 'external', 'active'
FROM range($projects) t(n);
INSERT INTO participant (participant_code, project_code, role, enrolment_date, status)
SELECT 'P' || lpad((n // $per)::VARCHAR, 5, '0') || '-' || lpad((n % $per)::VARCHAR, 3, '0'),
       'P' || lpad((n // $per)::VARCHAR, 5, '0'), 'service_user', DATE '2025-01-10' + (n % 50)::INTEGER, 'active'
FROM range($projects * $per) t(n);
INSERT INTO interview (interview_id, participant_code, wave, interview_date, mode, status)
SELECT row_number() OVER (ORDER BY p.participant_code, o.offset_days), p.participant_code, o.wave,
       p.enrolment_date + o.offset_days, 'telephone', 'completed'
FROM participant p CROSS JOIN (SELECT unnest(WAVES, recursive := true)) o(wave, offset_days);
"""
RATINGS_SQL = """
COPY (
    SELECT i.interview_id, p.project_code, i.participant_code, i.wave, f.factor_code, f.domain, f.kind,
           CASE f.kind WHEN 'barrier' THEN -1 - (i.interview_id + j) % 2
                       WHEN 'facilitator' THEN 1 + (i.interview_id + j) % 2
                ELSE CASE WHEN (i.interview_id + j) % 2 = 0 THEN 1 ELSE -2 END END AS rating,
           '' AS evidence
    FROM interview i JOIN participant p USING (participant_code) CROSS JOIN range($per_interview) r(j)
    JOIN factor f ON f.position = (i.interview_id * 7 + j * 4) % (SELECT count(*) FROM factor) + 1
    ORDER BY i.interview_id, j
) TO '{path}' (HEADER, DELIMITER ',')
"""


def ratings_study(folder: Path, ratings: int) -> tuple[Path, Path]:
    """A study holding the interviews that `ratings` ratings need, and the ratings CSV (factor_ratings.csv)."""
    interviews = ratings // RATINGS_PER_INTERVIEW
    projects = max(1, interviews // (5 * PEOPLE_PER_PROJECT))
    db, csv = folder / "import.duckdb", folder / "factor_ratings.csv"
    db.unlink(missing_ok=True)
    con = storage.connect(db)
    service.init_study(con, Study("Import benchmark", START, END))
    sql = PEOPLE_SQL.replace("WAVES", WAVE_OFFSETS).replace("$projects", str(projects))
    con.execute(sql.replace("$per", str(PEOPLE_PER_PROJECT)))
    con.execute(RATINGS_SQL.replace("$per_interview", str(RATINGS_PER_INTERVIEW)).replace("{path}", str(csv)))
    con.execute("CHECKPOINT")
    con.close()
    return db, csv


def time_import(folder: Path, ratings: int) -> dict[str, float]:
    """Seconds for the validated import and for a plain `read_csv` into a table, and how many rows each loaded;
    and, as the floor no import into this schema can go below, DuckDB's own INSERT of the same file into the
    `factor_rating` table with its keys and checks (no validation of ours at all)."""
    db, csv = ratings_study(folder, ratings)
    floor_db = folder / "import-floor.duckdb"
    shutil.copyfile(db, floor_db)
    plain = duckdb.connect()
    started = time.perf_counter()
    plain.execute(f"CREATE TABLE plain AS SELECT * FROM read_csv('{csv}')")
    plain_s = time.perf_counter() - started
    plain_rows = plain.execute("SELECT count(*) FROM plain").fetchone()[0]
    plain.close()
    con = storage.connect(db)
    started = time.perf_counter()
    counts = service.import_files(con, [csv], today=END, actor="benchmark")
    import_s = time.perf_counter() - started
    con.close()
    raw = duckdb.connect(floor_db)
    started = time.perf_counter()
    raw.execute("BEGIN TRANSACTION")
    raw.execute(
        "INSERT INTO factor_rating (interview_id, factor_code, rating, evidence)"
        f" SELECT interview_id, factor_code, rating, evidence FROM read_csv('{csv}')"
    )
    raw.execute("COMMIT")
    insert_s = time.perf_counter() - started
    raw.close()
    floor_db.unlink()
    return {
        "rows": plain_rows,
        "imported": counts.get("factor_ratings", 0),
        "import_s": import_s,
        "plain_s": plain_s,
        "insert_s": insert_s,
    }


def time_export(db: Path, formats: tuple[str, ...] = ("csv", "parquet"), rounds: int = 1) -> dict:
    """The product's export per format against the floor: DuckDB's own `COPY` of the same queries (the contract's,
    as the system sees them) with no formula neutralising and no audit. With `rounds` > 1 the two alternate
    (export, floor, export, floor …) so both see the same load on a shared machine; the medians are reported and
    the ratio is the median of the per-round ratios. Excel, when asked, has no COPY: it is timed once, on its own
    (openpyxl's write-only mode), with its cell count."""
    con = storage.connect(db)
    out: dict = {}
    try:
        for fmt in formats:
            exports, floors, ratios = [], [], []
            for _ in range(1 if fmt == "xlsx" else rounds):
                with tempfile.TemporaryDirectory() as folder:
                    started = time.perf_counter()
                    paths = service.export_study(con, SYSTEM_VIEWER, Path(folder), fmt)
                    exports.append(time.perf_counter() - started)
                    size = sum(p.stat().st_size for p in paths)
                if fmt != "xlsx":
                    floors.append(_copy_floor(con, fmt))
                    ratios.append(exports[-1] / floors[-1])
            row = {"export_s": statistics.median(exports), "files": len(paths), "megabytes": size / 1e6}
            if fmt == "xlsx":
                import openpyxl.xml

                cells = _cells(con)
                row |= {"cells": cells, "us_per_cell": exports[0] / cells * 1e6, "lxml": bool(openpyxl.xml.LXML)}
            else:
                row |= {"floor_s": statistics.median(floors), "ratio": statistics.median(ratios)}
                row |= {"rounds": rounds, "exports_s": exports, "floors_s": floors, "ratios": ratios}
            out[fmt] = row
    finally:
        con.close()
    return {**out.get("csv", {}), "formats": out}


def _cells(con) -> int:
    """Non-empty cells of the exported tables (header rows included): what openpyxl writes one by one."""
    total = 0
    for sql in {**storage.EXPORT_SQL, "wide": storage.wide_sql(con)}.values():
        columns = [name for name, *_ in con.execute(f"DESCRIBE {sql}").fetchall()]
        counted = " + ".join(f'count("{c}")' for c in columns)
        total += con.execute(f"SELECT {counted} + {len(columns)} FROM ({sql})").fetchone()[0]
    return total


def _copy_floor(con, fmt: str) -> float:
    queries = {**storage.EXPORT_SQL, "wide": storage.wide_sql(con)}
    options = "FORMAT csv, HEADER" if fmt == "csv" else "FORMAT parquet"
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        for table, sql in queries.items():
            con.execute(f"COPY ({sql}) TO '{Path(folder) / f'{table}.{fmt}'}' ({options})")
        return time.perf_counter() - started


def time_reimport(folder: Path, scale: int = 100, new_share: float = 0.01, rounds: int = 1) -> dict:
    """A team's monthly re-import: the S-study's tidy export imported into a new database (the first import), then
    the same files again with `new_share` more participants, their interviews and ratings (the next month's
    cumulative export: everything unchanged plus 1% new). Seconds for each, and what the second plan found; with
    `rounds` > 1, each round a new database (first import, then re-import), medians and the median ratio."""
    from benchmarks import portfolio

    source = portfolio.cached(folder, scale)
    con = storage.connect(source)
    first_dir, second_dir = folder / f"reimport-s{scale}-first", folder / f"reimport-s{scale}-second"
    for d in (first_dir, second_dir):
        shutil.rmtree(d, ignore_errors=True)
    service.export_study(con, SYSTEM_VIEWER, first_dir)
    con.close()
    _with_new_rows(first_dir, second_dir, new_share)
    target = folder / f"reimport-s{scale}.duckdb"
    firsts, agains = [], []
    for _ in range(rounds):
        target.unlink(missing_ok=True)
        con = storage.connect(target)
        try:
            started = time.perf_counter()
            files = sorted(first_dir.glob("*.csv"))
            first = service.import_files(con, files, today=portfolio.DEMO_TODAY, actor="benchmark")
            firsts.append(time.perf_counter() - started)
            started = time.perf_counter()
            uploads = service.read_paths(sorted(second_dir.glob("*.csv")))
            plan = service.plan_import(con, uploads, today=portfolio.DEMO_TODAY)
            second = service.apply_import(con, plan, actor="benchmark")
            agains.append(time.perf_counter() - started)
        finally:
            con.close()
            target.unlink(missing_ok=True)
    return {
        "scale": scale,
        "first_s": statistics.median(firsts),
        "reimport_s": statistics.median(agains),
        "ratio": statistics.median(a / f for a, f in zip(agains, firsts, strict=True)),
        "rounds": rounds,
        "firsts_s": firsts,
        "reimports_s": agains,
        "first_rows": sum(first.values()),
        "new_rows": sum(second.values()),
        "unchanged_rows": sum(t.unchanged for t in plan.tables.values()),
    }


def _with_new_rows(first: Path, second: Path, share: float) -> None:
    """`first`'s files plus copies of `share` of its participants (new codes) with their interviews and ratings."""
    con = duckdb.connect()
    second.mkdir(parents=True)
    for path in first.glob("*.csv"):
        shutil.copyfile(path, second / path.name)

    def read(name):
        return f"read_csv('{first / name}', all_varchar = true)"

    n = con.execute(f"SELECT count(*) FROM {read('participants.csv')}").fetchone()[0]
    take = max(1, int(n * share))
    top = con.execute(f"SELECT max(interview_id::INTEGER) FROM {read('interviews.csv')}").fetchone()[0]
    con.execute(
        f"CREATE TABLE people AS SELECT * FROM {read('participants.csv')} ORDER BY participant_code LIMIT {take}"
    )
    con.execute(
        f"CREATE TABLE talks AS SELECT i.*, row_number() OVER (ORDER BY i.interview_id::INTEGER) + {top} AS new_id"
        f" FROM {read('interviews.csv')} i JOIN people USING (participant_code)"
    )
    new = "participant_code || '-N'"
    copies = {
        "participants.csv": f"SELECT * REPLACE ({new} AS participant_code) FROM people",
        "interviews.csv": f"SELECT * EXCLUDE (new_id) REPLACE (new_id::VARCHAR AS interview_id, {new} AS"
        " participant_code) FROM talks",
        "factor_ratings.csv": f"SELECT r.* REPLACE (t.new_id::VARCHAR AS interview_id, r.participant_code || '-N'"
        f" AS participant_code) FROM {read('factor_ratings.csv')} r JOIN talks t USING (interview_id)",
    }
    for name, sql in copies.items():
        con.execute(f"COPY (SELECT * FROM {read(name)} UNION ALL ({sql})) TO '{second / name}' (FORMAT csv, HEADER)")
    con.close()
