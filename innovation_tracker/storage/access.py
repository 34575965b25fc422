"""Access rules applied where data is read (DESIGN §4).

Every read of study data goes through `query`, which puts common table expressions in front of the SQL that
shadow the study's tables (`project`, `participant`, `interview`, …) with what the viewer may see. A read
function is therefore written once, against the plain table names, and cannot forget the rules:
- a team sees only its own projects, and everything hanging off them;
- funders and teams see participants as "<PROJECT> · <Role> <letter>", never their codes, no interview
  summaries, and only evidence marked shareable;
- for them, a role held by fewer than k participants of a project (the study's `min_role_group`, default 3) is
  pooled into "Stakeholder", in pseudonyms and in the `role` column alike, so no breakdown by role, chart, export
  or report built on these reads can single out the project's one manager. Should the pooled group itself be
  smaller than k, the next smallest roles join it until it is not (or the project has fewer than k participants);
- double coding is blind: a coder with a second coding in progress reads nothing of that interview's first
  coding (its ratings, evidence and audit entries) until theirs is saved; funders and teams read the codings as
  counts only, without evidence or the reasons given for a consensus;
- only admins and evaluators see the audit log, participants' contact details (telephone, e-mail, call times) and
  unsaved drafts; only admins see accounts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import TypeVar

import pandas as pd

from innovation_tracker.domain.model import AccountRole, Role, Viewer, label_of
from innovation_tracker.storage.db import Connection

F = TypeVar("F", bound=Callable)

# Every public read of study data registers here; a test calls each one as a team and as a funder.
SCOPED_READS: dict[str, Callable] = {}

POOLED_ROLE = "stakeholder"
DEFAULT_MIN_ROLE_GROUP = 3
ROLE_LABEL = (
    "CASE {col} "
    + " ".join(f"WHEN '{r}' THEN '{label_of(r)}'" for r in [*(r.value for r in Role), POOLED_ROLE])
    + " END"
)
PSEUDONYM = (
    "{alias}.project_code || ' · ' || " + ROLE_LABEL.replace("{col}", "{alias}.role") + " || ' ' || "
    "CASE WHEN n <= 26 THEN chr(64 + n::INTEGER) ELSE n::VARCHAR END"
)


# Per project and role, the role funders and teams see: itself, or "stakeholder" where it is held by fewer than k
# participants (k = the study's min_role_group), together with the next smallest roles while the pool is below k.
_POOLED_ROLES = (
    "_role_count AS (SELECT project_code, role, count(*) AS holders FROM main.participant"
    " WHERE project_code IN (SELECT project_code FROM project) GROUP BY ALL),"
    f" _k AS (SELECT coalesce((SELECT min_role_group FROM main.study), {DEFAULT_MIN_ROLE_GROUP}) AS k),"
    " _role_rank AS (SELECT c.*, _k.k,"
    " coalesce(sum(holders) OVER (PARTITION BY project_code ORDER BY holders, role"
    " ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before,"
    " sum(holders) FILTER (WHERE holders < _k.k) OVER (PARTITION BY project_code) AS small"
    " FROM _role_count c, _k),"
    " _pooled_role AS (SELECT project_code, role,"
    f" CASE WHEN small > 0 AND (holders < k OR before < k) THEN '{POOLED_ROLE}' ELSE role END AS shown"
    " FROM _role_rank)"
)


def scoped_read(fn: F) -> F:
    """Mark `fn(con, viewer, …)` as a read of study data that is scoped to the viewer."""
    SCOPED_READS[fn.__name__] = fn
    return fn


def _project_filter(viewer: Viewer, within: bool) -> str:
    mine = "TRUE" if viewer.all_projects else "list_contains($scope_projects::VARCHAR[], project_code)"
    return mine + (" AND list_contains($scope_within::VARCHAR[], project_code)" if within else "")


def _ratings_filter(viewer: Viewer, within: bool) -> str:
    """Ratings of the viewer's projects. A viewer of every project needs no filter, and sparing it the semi-join
    on the pseudonymised interviews halves a funder's search across 1.7 million ratings."""
    narrowed = within or not viewer.all_projects
    return " WHERE r.interview_id IN (SELECT interview_id FROM interview)" if narrowed else ""


# The interviews a coder is coding blind: their second codings not yet saved (`{coder}`: a quoted name or `?`).
BLIND_CODINGS = "SELECT interview_id FROM main.coding WHERE coding = 2 AND saved_at IS NULL AND coder = {coder}"


def _blind_shadows(viewer: Viewer) -> list[str]:
    """Double coding is blind: while a coder has a second coding of an interview in progress (migration 0009),
    every read made for them hides that interview's first coding, its ratings and evidence and the audit entries
    that hold them, until their own coding is saved."""
    me = "'" + viewer.username.replace("'", "''") + "'"
    return [
        f"_blind AS ({BLIND_CODINGS.format(coder=me)})",
        "factor_rating AS (SELECT * FROM main.factor_rating"
        " WHERE interview_id NOT IN (SELECT interview_id FROM _blind))",
        "audit_entry AS (SELECT * FROM main.audit_entry WHERE entity NOT IN ('interview', 'second_coding', 'consensus')"
        " OR entity_key NOT IN (SELECT interview_id::VARCHAR FROM _blind))",
    ]


def _interview_key(narrowed: bool) -> str:
    """The interviews a viewer may see, keyed by project without any participant's identity: what a read needs to
    narrow a search (or any scan of ratings) to a few projects before the pseudonyms of those projects are built.
    Every participant belongs to a project, so a viewer of every project needs no filter."""
    where = " WHERE x.project_code IN (SELECT project_code FROM project)" if narrowed else ""
    return (
        "interview_key AS (SELECT i.interview_id, i.wave, i.interview_date, x.project_code"
        " FROM main.interview i JOIN main.participant x USING (participant_code)" + where + ")"
    )


def scope_ctes(viewer: Viewer, within: bool = False) -> str:
    """The shadowing CTEs for `viewer`, narrowed to the projects in `$scope_within` if `within`. A CTE that a
    read does not name costs nothing: DuckDB plans only those it uses."""
    if viewer.identified:
        if within:  # nothing is pseudonymised for them, so there is nothing to spare by narrowing
            raise ValueError("only a de-identified read can be narrowed to some projects")
        shadows = [_interview_key(narrowed=False), *_blind_shadows(viewer)]
        if viewer.role != AccountRole.ADMIN:
            shadows.append("user_account AS (SELECT * FROM main.user_account WHERE FALSE)")
            shadows.append("user_project AS (SELECT * FROM main.user_project WHERE FALSE)")
        return ", ".join(shadows)
    pseudonym = PSEUDONYM.format(alias="p")
    return ", ".join(
        [
            f"project AS (SELECT * FROM main.project WHERE {_project_filter(viewer, within)})",
            _interview_key(narrowed=within or not viewer.all_projects),
            _POOLED_ROLES,
            "_pseudonym AS (SELECT p.participant_code AS real_code, p.role AS shown_role, " + pseudonym + " AS pseudo"
            " FROM (SELECT x.participant_code, x.project_code, r.shown AS role, row_number() OVER"
            " (PARTITION BY x.project_code, r.shown ORDER BY x.enrolment_date, x.participant_code) AS n"
            " FROM main.participant x JOIN _pooled_role r USING (project_code, role)) p)",
            "participant AS (SELECT p.* REPLACE (m.pseudo AS participant_code, m.shown_role AS role)"
            " FROM main.participant p JOIN _pseudonym m ON m.real_code = p.participant_code)",
            "interview AS (SELECT i.* REPLACE (m.pseudo AS participant_code, NULL::VARCHAR AS summary)"
            " FROM main.interview i JOIN _pseudonym m ON m.real_code = i.participant_code)",
            "factor_rating AS (SELECT r.* REPLACE (CASE WHEN r.shareable THEN r.evidence END AS evidence)"
            " FROM main.factor_rating r" + _ratings_filter(viewer, within) + ")",
            "indicator_value AS (SELECT * FROM main.indicator_value WHERE project_code IN"
            " (SELECT project_code FROM project))",
            "milestone AS (SELECT * FROM main.milestone WHERE project_code IN (SELECT project_code FROM project))",
            "audit_entry AS (SELECT * FROM main.audit_entry WHERE FALSE)",
            # Double coding: counts only (no evidence, no reasons), of the interviews they see.
            "coding AS (SELECT * FROM main.coding WHERE interview_id IN (SELECT interview_id FROM interview))",
            "coding_rating AS (SELECT r.* REPLACE (NULL::VARCHAR AS evidence) FROM main.coding_rating r"
            " WHERE r.interview_id IN (SELECT interview_id FROM interview))",
            "consensus AS (SELECT c.* REPLACE (NULL::VARCHAR AS reason) FROM main.consensus c"
            " WHERE c.interview_id IN (SELECT interview_id FROM interview))",
            # Identifiers and identified drafts: never read by funders or teams.
            "participant_contact AS (SELECT * FROM main.participant_contact WHERE FALSE)",
            "form_draft AS (SELECT * FROM main.form_draft WHERE FALSE)",
            "record_version AS (SELECT * FROM main.record_version WHERE FALSE)",
            "user_account AS (SELECT * FROM main.user_account WHERE FALSE)",
            "user_project AS (SELECT * FROM main.user_project WHERE FALSE)",
        ]
    )


_LEADING_WITH = re.compile(r"^\s*WITH\s+", re.IGNORECASE)


def scoped_sql(viewer: Viewer, sql: str, within: bool = False) -> str:
    ctes = scope_ctes(viewer, within)
    if not ctes:
        return sql
    if _LEADING_WITH.match(sql):
        return "WITH " + ctes + ", " + _LEADING_WITH.sub("", sql, count=1)
    return "WITH " + ctes + " " + sql


def scope_params(viewer: Viewer, params: dict | None, within: Collection[str] | None = None) -> dict:
    params = dict(params or {})
    if not viewer.identified and not viewer.all_projects:
        params["scope_projects"] = sorted(viewer.projects)
    if within is not None:
        params["scope_within"] = sorted(within)
    return params


def query(
    con: Connection, viewer: Viewer, sql: str, params: dict | None = None, within: Collection[str] | None = None
) -> pd.DataFrame:
    """Run a read as `viewer` sees the study; named parameters ($name) only. `within` narrows the read to those
    projects (of the ones the viewer may see): a funder's pseudonyms are then built for those projects only, and
    they are the same as in the whole study, since a pseudonym depends only on its own project."""
    narrowed = within is not None
    return con.execute(scoped_sql(viewer, sql, narrowed), scope_params(viewer, params, within)).df()


def query_one(con: Connection, viewer: Viewer, sql: str, params: dict | None = None) -> tuple | None:
    return con.execute(scoped_sql(viewer, sql), scope_params(viewer, params)).fetchone()


def query_rows(con: Connection, viewer: Viewer, sql: str, params: dict | None = None) -> list[tuple]:
    """`query` as plain rows: for a small read on every run of a page, which a data frame would make three times
    slower (1 ms against 2.7 ms for the drafts list)."""
    return con.execute(scoped_sql(viewer, sql), scope_params(viewer, params)).fetchall()
