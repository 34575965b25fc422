"""Access rules applied where data is read (DESIGN §4).

Every read of study data goes through `query`, which puts common table expressions in front of the SQL that
shadow the study's tables (`project`, `participant`, `interview`, …) with what the viewer may see. A read
function is therefore written once, against the plain table names, and cannot forget the rules:
- a team sees only its own projects, and everything hanging off them;
- funders and teams see participants as "<PROJECT> · <Role> <letter>", never their codes, no interview
  summaries, and only evidence marked shareable;
- only admins and evaluators see the audit log, participants' contact details (telephone, e-mail, call times) and
  unsaved drafts; only admins see accounts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import pandas as pd

from ..domain import AccountRole, Role, Viewer, label_of
from .db import Connection

F = TypeVar("F", bound=Callable)

# Every public read of study data registers here; a test calls each one as a team and as a funder.
SCOPED_READS: dict[str, Callable] = {}

ROLE_LABEL = "CASE {col} " + " ".join(f"WHEN '{r.value}' THEN '{label_of(r.value)}'" for r in Role) + " END"
PSEUDONYM = (
    "{alias}.project_code || ' · ' || " + ROLE_LABEL.replace("{col}", "{alias}.role") + " || ' ' || "
    "CASE WHEN n <= 26 THEN chr(64 + n::INTEGER) ELSE n::VARCHAR END"
)


def scoped_read(fn: F) -> F:
    """Mark `fn(con, viewer, …)` as a read of study data that is scoped to the viewer."""
    SCOPED_READS[fn.__name__] = fn
    return fn


def _project_filter(viewer: Viewer) -> str:
    return "TRUE" if viewer.all_projects else "list_contains($scope_projects::VARCHAR[], project_code)"


def scope_ctes(viewer: Viewer) -> str:
    """The shadowing CTEs for `viewer`, or '' for those who see everything."""
    if viewer.identified:
        shadows = []
        if viewer.role != AccountRole.ADMIN:
            shadows.append("user_account AS (SELECT * FROM main.user_account WHERE FALSE)")
            shadows.append("user_project AS (SELECT * FROM main.user_project WHERE FALSE)")
        return ", ".join(shadows)
    pseudonym = PSEUDONYM.format(alias="p")
    return ", ".join(
        [
            f"project AS (SELECT * FROM main.project WHERE {_project_filter(viewer)})",
            "_pseudonym AS (SELECT p.participant_code AS real_code, " + pseudonym + " AS pseudo FROM ("
            " SELECT *, row_number() OVER (PARTITION BY project_code, role ORDER BY enrolment_date, participant_code)"
            " AS n FROM main.participant) p WHERE p.project_code IN (SELECT project_code FROM project))",
            "participant AS (SELECT p.* REPLACE (m.pseudo AS participant_code) FROM main.participant p"
            " JOIN _pseudonym m ON m.real_code = p.participant_code)",
            "interview AS (SELECT i.* REPLACE (m.pseudo AS participant_code, NULL::VARCHAR AS summary)"
            " FROM main.interview i JOIN _pseudonym m ON m.real_code = i.participant_code)",
            "factor_rating AS (SELECT r.* REPLACE (CASE WHEN r.shareable THEN r.evidence END AS evidence)"
            " FROM main.factor_rating r WHERE r.interview_id IN (SELECT interview_id FROM interview))",
            "indicator_value AS (SELECT * FROM main.indicator_value WHERE project_code IN"
            " (SELECT project_code FROM project))",
            "milestone AS (SELECT * FROM main.milestone WHERE project_code IN (SELECT project_code FROM project))",
            "audit_entry AS (SELECT * FROM main.audit_entry WHERE FALSE)",
            # Identifiers and identified drafts: never read by funders or teams.
            "participant_contact AS (SELECT * FROM main.participant_contact WHERE FALSE)",
            "form_draft AS (SELECT * FROM main.form_draft WHERE FALSE)",
            "record_version AS (SELECT * FROM main.record_version WHERE FALSE)",
            "user_account AS (SELECT * FROM main.user_account WHERE FALSE)",
            "user_project AS (SELECT * FROM main.user_project WHERE FALSE)",
        ]
    )


_LEADING_WITH = re.compile(r"^\s*WITH\s+", re.IGNORECASE)


def scoped_sql(viewer: Viewer, sql: str) -> str:
    ctes = scope_ctes(viewer)
    if not ctes:
        return sql
    if _LEADING_WITH.match(sql):
        return "WITH " + ctes + ", " + _LEADING_WITH.sub("", sql, count=1)
    return "WITH " + ctes + " " + sql


def scope_params(viewer: Viewer, params: dict | None) -> dict:
    params = dict(params or {})
    if not viewer.identified and not viewer.all_projects:
        params["scope_projects"] = sorted(viewer.projects)
    return params


def query(con: Connection, viewer: Viewer, sql: str, params: dict | None = None) -> pd.DataFrame:
    """Run a read as `viewer` sees the study; named parameters ($name) only."""
    return con.execute(scoped_sql(viewer, sql), scope_params(viewer, params)).df()


def query_one(con: Connection, viewer: Viewer, sql: str, params: dict | None = None) -> tuple | None:
    return con.execute(scoped_sql(viewer, sql), scope_params(viewer, params)).fetchone()
