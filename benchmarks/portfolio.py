"""Synthetic portfolios at scale S: the demo study (S = 1) copied S - 1 more times under suffixed codes.

Everything after the demo is bulk SQL (`INSERT … SELECT … CROSS JOIN range()`), never row by row, so S = 1000
(11,000 projects, 1.7 million ratings) builds in well under a minute. The copies are exact, which is what a
benchmark wants: every project has a realistic year (done, due and overdue follow-ups, a withdrawal, outlooks
that worsen), and the work a page does grows with S alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from innovation_tracker import storage
from innovation_tracker.app import service

DEMO_TODAY = dt.date(2026, 3, 2)

# table -> SELECT list that turns a demo row into its k-th copy ($k, with the suffix in `sfx`).
SUFFIX = "'-' || lpad(k::VARCHAR, 4, '0')"
COPIES = {
    "project": "project_code || sfx, name || ' #' || k, setting, host_organisation, relation_to_statutory,"
    " start_date, status, innovation_type, novelty",
    "participant": "participant_code || sfx, project_code || sfx, role, enrolment_date, consent_date, status,"
    " withdrawal_date",
    "interview": "interview_id + k * $ids, participant_code || sfx, wave, interview_date, mode, interviewer,"
    " duration_min, status, summary",
    "factor_rating": "interview_id + k * $ids, factor_code, rating, evidence, shareable, coder, mixed",
    "coding": "interview_id + k * $ids, coding, coder, started_at, saved_at",
    "coding_rating": "interview_id + k * $ids, coding, factor_code, rating, evidence, shareable, mixed",
    "consensus": "interview_id + k * $ids, factor_code, rating, reason, decided_by, decided_at, mixed",
    "indicator_value": "project_code || sfx, wave, indicator_code, value",
    "milestone": "milestone_id + k * $milestones, project_code || sfx, milestone_date, kind, title, notes",
}


def build(path: Path, scale: int, today: dt.date = DEMO_TODAY) -> dict[str, int]:
    """A new database at `path` holding the demo study S times over; the table counts."""
    path = Path(path)
    if path.exists():
        path.unlink()
    con = storage.connect(path)
    try:
        service.load_demo(con, today=today)
        if scale > 1:
            storage.write(con, lambda cur: _copy(cur, scale))
        con.execute("CHECKPOINT")
        return storage.table_counts(con)
    finally:
        con.close()


def _copy(con: storage.Connection, scale: int) -> None:
    ids = con.execute("SELECT max(interview_id) FROM interview").fetchone()[0]
    milestones = con.execute("SELECT max(milestone_id) FROM milestone").fetchone()[0]
    # Parents first, so every foreign key finds its row; each table is copied from its demo rows only.
    for table, select in COPIES.items():
        select = select.replace("$ids", str(ids)).replace("$milestones", str(milestones))
        con.execute(
            f"INSERT INTO {table} SELECT {select} FROM"
            f" (SELECT *, {SUFFIX} AS sfx FROM {table} CROSS JOIN range(1, $scale) r(k))",
            {"scale": scale},
        )
    storage.record_audit(con, "benchmark", "import", "study", f"synthetic portfolio x{scale}", after={"scale": scale})


def cached(folder: Path, scale: int) -> Path:
    """The portfolio at `scale` in `folder`, built once and reused while the code that made it is unchanged."""
    path = Path(folder) / f"portfolio-s{scale}.duckdb"
    stamp = path.with_suffix(".built")
    if path.exists() and stamp.exists() and stamp.read_text() == _fingerprint():
        return path
    build(path, scale)
    stamp.write_text(_fingerprint())
    return path


def _fingerprint() -> str:
    """The schema and this file: a portfolio built by other code is rebuilt."""
    versions = ",".join(str(v) for v, _, _ in storage.shipped_migrations())
    return f"{versions}:{Path(__file__).stat().st_mtime_ns}:{DEMO_TODAY}"


def main() -> None:
    parser = argparse.ArgumentParser(description="Build a synthetic portfolio database at scale S.")
    parser.add_argument("--scale", type=int, default=100, help="1 is the demo size; 100 is 1,100 projects")
    parser.add_argument("--db", type=Path, required=True, help="the database file to create (replaced if present)")
    args = parser.parse_args()
    started = time.perf_counter()
    counts = build(args.db, args.scale)
    print(f"built {args.db} at S={args.scale} in {time.perf_counter() - started:.1f} s: {counts}")


if __name__ == "__main__":
    main()
