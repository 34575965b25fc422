"""Study settings changed in the app: the study's details, the codebook, the indicator set and the waves.

Every change is one audited transaction (before → after in the audit log). Codes are keys that ratings, scores and
interviews point at, so a code is never changed; a factor or indicator with data is retired, not deleted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd

from innovation_tracker.domain.errors import NotFound, Problem, ValidationError
from innovation_tracker.domain.model import Factor, Indicator, Wave
from innovation_tracker.storage.db import Connection, record_audit, write


def _row(con: Connection, sql: str, params: list) -> dict | None:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    found = cursor.fetchone()
    return None if found is None else {n: _plain(v) for n, v in zip(names, found, strict=True)}


def _plain(value):
    return value.isoformat() if isinstance(value, dt.date) else value


def _audited_update(con: Connection, actor: str, table: str, key_column: str, key: str | None, changes: dict) -> None:
    where, params = (f" WHERE {key_column} = ?", [key]) if key is not None else ("", [])
    columns = "*"

    def work(cur):
        before = _row(cur, f"SELECT {columns} FROM {table}{where}", params)
        if before is None:
            raise NotFound(f"{table.capitalize()} {key} does not exist (deleted by someone else?)")
        sets = ", ".join(f"{c} = ?" for c in changes)
        cur.execute(f"UPDATE {table} SET {sets}{where}", [*changes.values(), *params])
        after = _row(cur, f"SELECT {columns} FROM {table}{where}", params)
        record_audit(cur, actor, "update", table, key, before=before, after=after)

    write(con, work)


def update_study(con: Connection, actor: str, changes: dict) -> None:
    """Change the study's name, funder, start or end date."""
    _audited_update(con, actor, "study", "study_id", None, changes)


def _add(con: Connection, actor: str, table: str, key_column: str, row: dict) -> None:
    names = list(row)

    def work(cur):
        position = cur.execute(f"SELECT coalesce(max(position), 0) + 1 FROM {table}").fetchall()[0][0]
        marks = ", ".join("?" for _ in names)
        cur.execute(
            f"INSERT INTO {table} ({', '.join(names)}, position) VALUES ({marks}, ?)", [*row.values(), position]
        )
        record_audit(cur, actor, "create", table, row[key_column], after={**row, "position": position})

    write(con, work)


def add_factor(con: Connection, actor: str, factor: Factor) -> None:
    row = dataclasses.asdict(factor) | {"kind": factor.kind.value}
    del row["retired"]
    _add(con, actor, "factor", "factor_code", row)


def update_factor(con: Connection, actor: str, factor_code: str, changes: dict) -> None:
    """Change a factor's label or definition (`description`); its code and kind stay."""
    _audited_update(con, actor, "factor", "factor_code", factor_code, changes)


def add_indicator(con: Connection, actor: str, indicator: Indicator) -> None:
    row = dataclasses.asdict(indicator) | {"value_type": indicator.value_type.value}
    del row["retired"]
    _add(con, actor, "indicator", "indicator_code", row)


def update_indicator(con: Connection, actor: str, indicator_code: str, changes: dict) -> None:
    """Change an indicator's label or description; its code and scale stay."""
    _audited_update(con, actor, "indicator", "indicator_code", indicator_code, changes)


def set_retired(con: Connection, actor: str, table: str, code: str, retired: bool) -> None:
    """Retire a factor or indicator (`table`), or bring it back, audited as a change of its `retired` flag."""
    column = f"{table}_code"

    def work(cur):
        if _row(cur, f"SELECT {column} FROM {table} WHERE {column} = ?", [code]) is None:
            raise NotFound(f"{table.capitalize()} {code} does not exist")
        was = cur.execute(f"SELECT count(*) FROM retired_{table} WHERE {column} = ?", [code]).fetchall()[0][0] > 0
        if was == retired:
            return
        if retired:
            cur.execute(f"INSERT INTO retired_{table} ({column}) VALUES (?)", [code])
        else:
            cur.execute(f"DELETE FROM retired_{table} WHERE {column} = ?", [code])
        record_audit(cur, actor, "update", table, code, before={"retired": was}, after={"retired": retired})

    write(con, work)


def add_wave(con: Connection, actor: str, wave: Wave) -> None:
    row = dataclasses.asdict(wave) | {"default_mode": wave.default_mode.value}
    _add(con, actor, "wave", "wave", row)


def update_wave(con: Connection, actor: str, wave: str, changes: dict) -> None:
    """Change a wave's label, timing (offset and window) or default mode; its code stays."""
    _audited_update(con, actor, "wave", "wave", wave, changes)


def replace_codebook(con: Connection, actor: str, factors: list[Factor], neutral_mixed: bool, names: tuple) -> None:
    """A new study's codebook swapped for another before anything is coded (the first administrator's choice):
    refused once a rating or a retired factor points at the old one. `names` (before, after) go in the audit."""

    def work(cur):
        used = cur.execute(
            "SELECT (SELECT count(*) FROM factor_rating) + (SELECT count(*) FROM retired_factor)"
        ).fetchall()[0][0]
        if used:
            raise ValidationError(
                Problem("codebook_in_use", "the codebook can be chosen only before any interview is coded", "codebook")
            )
        before = cur.execute("SELECT count(*), any_value(s.neutral_mixed) FROM factor, study s").fetchall()[0]
        cur.execute("DELETE FROM factor")
        for position, f in enumerate(factors, start=1):
            cur.execute(
                "INSERT INTO factor (factor_code, domain, kind, label, description, paper_projects, position)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [f.factor_code, f.domain, f.kind.value, f.label, f.description, f.paper_projects, position],
            )
        cur.execute("UPDATE study SET neutral_mixed = ?", [neutral_mixed])
        record_audit(
            cur,
            actor,
            "update",
            "study",
            "codebook",
            before={"codebook": names[0], "factors": before[0], "neutral_mixed": bool(before[1])},
            after={"codebook": names[1], "factors": len(factors), "neutral_mixed": neutral_mixed},
        )

    write(con, work)


def uses_of(con: Connection, table: str, code: str) -> int:
    """How many stored records point at a factor (ratings), an indicator (scores) or a wave (interviews)."""
    sql = {
        "factor": "SELECT count(*) FROM factor_rating WHERE factor_code = ?",
        "indicator": "SELECT count(*) FROM indicator_value WHERE indicator_code = ?",
        "wave": "SELECT count(*) FROM interview WHERE wave = ?",
    }[table]
    return con.execute(sql, [code]).fetchall()[0][0]


def schedule_inputs(con: Connection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every participant (enrolment, withdrawal) and every recorded interview (wave, status, date), to recompute
    schedules under changed waves."""
    people = con.execute(
        "SELECT participant_code, project_code, enrolment_date, withdrawal_date FROM participant ORDER BY ALL"
    ).df()
    interviews = con.execute("SELECT participant_code, wave, status, interview_date FROM interview ORDER BY ALL").df()
    return people, interviews
