"""The study's reference data (schedule, codebook, indicators) and whole-table loads and reads."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd

from innovation_tracker.domain.model import (
    Factor,
    FactorKind,
    Indicator,
    IndicatorType,
    Mode,
    Study,
    Viewer,
    Wave,
)
from innovation_tracker.storage.access import DEFAULT_MIN_ROLE_GROUP, query, scoped_read
from innovation_tracker.storage.db import Connection, record_audit

# tidy table -> (database table, columns stored). Derived columns (a rating's project, wave, domain …) are
# checked on import but not stored twice.
STORED: dict[str, tuple[str, tuple[str, ...]]] = {
    "study": ("study", ("name", "funder", "start_date", "end_date", "is_demo", "neutral_mixed")),
    "waves": (
        "wave",
        ("wave", "label", "position", "offset_days", "window_before_days", "window_after_days", "default_mode"),
    ),
    "codebook": ("factor", ("factor_code", "domain", "kind", "label", "description", "paper_projects", "position")),
    "indicators": (
        "indicator",
        ("indicator_code", "label", "value_type", "min_value", "max_value", "better", "description", "position"),
    ),
    "projects": (
        "project",
        (
            "project_code",
            "name",
            "setting",
            "host_organisation",
            "relation_to_statutory",
            "start_date",
            "status",
            "innovation_type",
            "novelty",
        ),
    ),
    "participants": (
        "participant",
        ("participant_code", "project_code", "role", "enrolment_date", "consent_date", "status", "withdrawal_date"),
    ),
    "interviews": (
        "interview",
        (
            "interview_id",
            "participant_code",
            "wave",
            "interview_date",
            "mode",
            "interviewer",
            "duration_min",
            "status",
            "summary",
        ),
    ),
    "factor_ratings": (
        "factor_rating",
        ("interview_id", "factor_code", "rating", "evidence", "shareable", "coder", "mixed"),
    ),
    "sustainability": ("indicator_value", ("project_code", "wave", "indicator_code", "value")),
    "milestones": ("milestone", ("milestone_id", "project_code", "milestone_date", "kind", "title", "notes")),
}

# What an export writes: the contract's columns first (DESIGN §5), then the extras that make a round trip exact.
EXPORT_SQL: dict[str, str] = {
    "study": "SELECT name, funder, start_date, end_date, is_demo, coalesce(neutral_mixed, FALSE) AS neutral_mixed"
    " FROM study",
    "waves": "SELECT wave, label, offset_days, window_before_days, window_after_days, default_mode"
    " FROM wave ORDER BY position",
    "codebook": "SELECT factor_code, domain, kind, label, description, paper_projects,"
    " factor_code IN (SELECT factor_code FROM retired_factor) AS retired FROM factor ORDER BY position",
    "indicators": "SELECT indicator_code, label, value_type, min_value, max_value, better, description,"
    " indicator_code IN (SELECT indicator_code FROM retired_indicator) AS retired FROM indicator ORDER BY position",
    "projects": "SELECT project_code, name, setting, host_organisation, relation_to_statutory, start_date, status,"
    " innovation_type, novelty FROM project ORDER BY project_code",
    "participants": "SELECT participant_code, project_code, role, enrolment_date, status, consent_date,"
    " withdrawal_date FROM participant ORDER BY project_code, participant_code",
    "interviews": "SELECT i.interview_id, i.participant_code, p.project_code, i.wave, i.interview_date, i.mode,"
    " i.interviewer, i.duration_min, i.status, i.summary"
    " FROM interview i JOIN participant p USING (participant_code) ORDER BY i.interview_id",
    "factor_ratings": "SELECT r.interview_id, p.project_code, i.participant_code, i.wave, r.factor_code, f.domain,"
    " f.kind, r.rating, r.evidence, r.shareable, r.coder, r.mixed"
    " FROM factor_rating r JOIN interview i USING (interview_id)"
    " JOIN participant p USING (participant_code) JOIN factor f USING (factor_code)"
    " ORDER BY r.interview_id, f.position",
    "sustainability": "SELECT v.project_code, v.wave, v.indicator_code, v.value FROM indicator_value v"
    " JOIN wave w USING (wave) JOIN indicator d USING (indicator_code)"
    " ORDER BY v.project_code, w.position, d.position",
    "milestones": "SELECT project_code, milestone_date, kind, title, notes FROM milestone"
    " ORDER BY project_code, milestone_date, milestone_id",
}


@scoped_read
def read_table(con: Connection, viewer: Viewer, table: str) -> pd.DataFrame:
    """A whole tidy table as the viewer may see it (a funder's export is de-identified)."""
    return query(con, viewer, EXPORT_SQL[table])


def insert_frames(con: Connection, frames: dict[str, pd.DataFrame], *, actor: str, source: str) -> dict[str, int]:
    """Append validated frames (keyed by tidy table name, in load order) inside the caller's transaction."""
    counts = {}
    for table, frame in frames.items():
        if frame.empty:
            continue
        target, stored = STORED[table]
        missing = [c for c in stored if c not in frame.columns]
        if missing:
            raise ValueError(f"{table}: columns {missing} were not prepared for loading")
        incoming = frame[list(stored)]
        con.register("incoming", incoming)
        try:
            names = ", ".join(stored)
            con.execute(f"INSERT INTO {target} ({names}) SELECT {names} FROM incoming")
        finally:
            con.unregister("incoming")
        if table in ("codebook", "indicators") and "retired" in frame.columns:
            key = f"{target}_code"
            retired = frame.loc[frame["retired"].fillna(False).astype(bool), key].tolist()
            if retired:
                con.executemany(f"INSERT INTO retired_{target} ({key}) VALUES (?)", [[code] for code in retired])
        counts[table] = len(frame)
    if counts:
        record_audit(con, actor, "import", "study", source, after=counts)
    return counts


def get_study(con: Connection) -> Study | None:
    row = con.execute("SELECT name, start_date, end_date, funder, is_demo, neutral_mixed FROM study").fetchone()
    return None if row is None else Study(row[0], row[1], row[2], row[3], bool(row[4]), bool(row[5]))


def neutral_mixed(con: Connection) -> bool:
    """Whether the study's codebook declares CFIR's 0 (neutral) and X (mixed) ratings."""
    row = con.execute("SELECT neutral_mixed FROM study").fetchone()
    return bool(row and row[0])


def min_role_group(con: Connection) -> int:
    """k: the fewest participants of a project who may share a role that funders and teams see (see access.py)."""
    row = con.execute("SELECT min_role_group FROM study").fetchone()
    return DEFAULT_MIN_ROLE_GROUP if row is None or row[0] is None else int(row[0])


def set_min_role_group(con: Connection, k: int) -> None:
    con.execute("UPDATE study SET min_role_group = ?", [k])


def list_waves(con: Connection) -> list[Wave]:
    rows = con.execute(
        "SELECT wave, label, offset_days, window_before_days, window_after_days, default_mode"
        " FROM wave ORDER BY position"
    ).fetchall()
    return [Wave(r[0], r[1], r[2], r[3], r[4], Mode(r[5])) for r in rows]


def list_factors(con: Connection) -> list[Factor]:
    rows = con.execute(
        "SELECT factor_code, domain, kind, label, coalesce(description, ''), paper_projects,"
        " factor_code IN (SELECT factor_code FROM retired_factor) FROM factor ORDER BY position"
    ).fetchall()
    return [Factor(r[0], r[1], FactorKind(r[2]), r[3], r[4], r[5], r[6]) for r in rows]


def list_indicators(con: Connection) -> list[Indicator]:
    rows = con.execute(
        "SELECT indicator_code, label, value_type, min_value, max_value, better, coalesce(description, ''),"
        " indicator_code IN (SELECT indicator_code FROM retired_indicator) FROM indicator ORDER BY position"
    ).fetchall()
    return [Indicator(r[0], r[1], IndicatorType(r[2]), r[3], r[4], r[5], r[6], r[7]) for r in rows]


def table_counts(con: Connection) -> dict[str, int]:
    return {
        table: con.execute(f"SELECT count(*) FROM {target}").fetchall()[0][0] for table, (target, _) in STORED.items()
    }


def known_participants(con: Connection) -> pd.DataFrame:
    """What an import of interviews needs to check dates against: enrolment, withdrawal, project."""
    return con.execute("SELECT participant_code, project_code, enrolment_date, withdrawal_date FROM participant").df()


def known_interviews(con: Connection) -> pd.DataFrame:
    return con.execute(
        "SELECT i.interview_id, i.participant_code, p.project_code, i.wave, i.status"
        " FROM interview i JOIN participant p USING (participant_code)"
    ).df()


def known_keys(con: Connection, table: str, column: str) -> set[str]:
    target, stored = STORED[table]
    if column not in stored:
        raise ValueError(f"{column} is not a column of {table}")
    return {str(r[0]) for r in con.execute(f"SELECT {column} FROM {target}").fetchall()}


def max_milestone_id(con: Connection) -> int:
    return con.execute("SELECT coalesce(max(milestone_id), 0) FROM milestone").fetchall()[0][0]


def is_empty(con: Connection) -> bool:
    return con.execute("SELECT count(*) FROM study").fetchall()[0][0] == 0


# What makes an incoming row the same row as a stored one (an import re-reads a cumulative export every month).
KEYS: dict[str, tuple[str, ...]] = {
    "projects": ("project_code",),
    "participants": ("participant_code",),
    "interviews": ("interview_id",),
    "factor_ratings": ("interview_id", "factor_code"),
    "sustainability": ("project_code", "wave", "indicator_code"),
    "milestones": ("project_code", "milestone_date", "kind", "title"),
}
# Columns an import may change that point at another table (DuckDB indexes them).
FOREIGN_KEYS = {"participants": ("project_code",)}
# How the audit log names a row of each table (as a form edit does).
ENTITY = {
    "projects": "project",
    "participants": "participant",
    "interviews": "interview",
    "factor_ratings": "factor_rating",
    "sustainability": "sustainability",
    "milestones": "milestone",
}


def compared_columns(table: str) -> tuple[str, ...]:
    """The stored columns an import may change: all but the key (and a milestone's own id)."""
    return tuple(c for c in STORED[table][1] if c not in KEYS[table] and c != "milestone_id")


def _column_types(con: Connection, target: str) -> dict[str, str]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ?",
        [target],
    ).fetchall()
    return dict(rows)


def _typed_incoming(con: Connection, table: str, view: str) -> str:
    """`view`'s columns cast to the stored table's types: a comparison of like with like."""
    target, stored = STORED[table]
    types = _column_types(con, target)
    columns = ", ".join(f"CAST({c} AS {types[c]}) AS {c}" for c in stored if c != "milestone_id")
    return f"SELECT _pos, {columns} FROM {view}"


def _match(table: str, left: str = "i", right: str = "s") -> str:
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in KEYS[table])


def compare_rows(con: Connection, table: str, frame: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame, int]:
    """Each incoming row against the stored row with its key: 0 new, 1 unchanged, 2 changed (per row, in order);
    the stored rows behind the changed ones (with `_pos`, the incoming row's position); and how many stored rows
    of the table the incoming frame does not hold."""
    target, stored = STORED[table]
    incoming = frame[[c for c in stored if c != "milestone_id"]].assign(_pos=range(len(frame)))
    con = con.cursor()  # its own cursor: the caller's may hold an unfinished result
    con.register("_incoming_raw", incoming)
    try:
        typed = _typed_incoming(con, table, "_incoming_raw")
        differs = " OR ".join(f"i.{c} IS DISTINCT FROM s.{c}" for c in compared_columns(table)) or "FALSE"
        status = con.execute(
            f"WITH i AS ({typed}) SELECT i._pos, min(CASE WHEN s._found IS NULL THEN 0 WHEN {differs} THEN 2"
            f" ELSE 1 END) AS status FROM i LEFT JOIN (SELECT *, TRUE AS _found FROM {target}) s ON {_match(table)}"
            " GROUP BY i._pos ORDER BY i._pos"
        ).fetchnumpy()["status"]
        status = pd.Series(np.asarray(status, dtype=np.int8))
        changed = pd.DataFrame({"_pos": np.flatnonzero(status.to_numpy() == 2)})
        con.register("_changed_pos", changed)
        before = con.execute(
            f"WITH i AS ({typed}) SELECT DISTINCT ON (i._pos) i._pos, s.* FROM i JOIN {target} s ON {_match(table)}"
            " WHERE i._pos IN (SELECT _pos FROM _changed_pos) ORDER BY i._pos"
        ).df()
        absent = con.execute(
            f"WITH i AS ({typed}) SELECT count(*) FROM {target} s WHERE NOT EXISTS"
            f" (SELECT 1 FROM i WHERE {_match(table)})"
        ).fetchall()[0][0]
    finally:
        con.close()
    return status, before, int(absent)


def update_rows(con: Connection, table: str, frame: pd.DataFrame, *, actor: str, source: str) -> int:
    """Apply changed rows (matched by key) inside the caller's transaction, each audited before → after as a form
    edit is."""
    if frame.empty:
        return 0
    target, stored = STORED[table]
    columns = [c for c in stored if c != "milestone_id"]
    con.register("_changes_raw", frame[columns].assign(_pos=range(len(frame))))
    try:
        typed = _typed_incoming(con, table, "_changes_raw")
        key = " || '/' || ".join(f"CAST(i.{k} AS VARCHAR)" for k in KEYS[table])
        row = ", ".join(f"'{c}', {{a}}.{c}" for c in stored if c != "milestone_id")
        con.execute(
            "INSERT INTO audit_entry (actor, action, entity, entity_key, before, after)"
            f" SELECT $actor, 'update', $entity, {key},"
            f" json_object({row.format(a='s')}, 'source', $source), json_object({row.format(a='i')}, 'source', $source)"
            f" FROM ({typed}) i JOIN {target} s ON {_match(table)}",
            {"actor": actor, "entity": ENTITY[table], "source": source},
        )
        # A foreign-key column apart, and only where it differs: DuckDB rewrites a row whose indexed column is set,
        # even to the same value, and then refuses the row as still referenced by others.
        plain = [c for c in compared_columns(table) if c not in FOREIGN_KEYS.get(table, ())]
        sets = ", ".join(f"{c} = i.{c}" for c in plain)
        con.execute(f"UPDATE {target} AS s SET {sets} FROM ({typed}) AS i WHERE {_match(table)}")
        for c in FOREIGN_KEYS.get(table, ()):
            con.execute(
                f"UPDATE {target} AS s SET {c} = i.{c} FROM ({typed}) AS i"
                f" WHERE {_match(table)} AND i.{c} IS DISTINCT FROM s.{c}"
            )
    finally:
        with contextlib.suppress(Exception):  # after a refused statement the transaction only takes a rollback
            con.unregister("_changes_raw")
    return len(frame)
