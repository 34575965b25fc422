"""Data-quality checks over the whole study, and the audit log: reads only, aggregated in SQL."""

from __future__ import annotations

import datetime as dt
import uuid

import pandas as pd

from innovation_tracker.domain.model import Viewer
from innovation_tracker.storage.access import query, scope_params, scoped_read, scoped_sql
from innovation_tracker.storage.db import Connection
from innovation_tracker.storage.kept import kept_by_project, only_projects
from innovation_tracker.storage.portfolio import WAVE_STATUS_SQL


@kept_by_project(order=("project_code",))  # then participant and wave, as each project's rows are read
@scoped_read
def interviews_without_ratings(con: Connection, viewer: Viewer, only: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Completed interviews that no factor was coded for (of the projects `only` names, when given)."""
    within, params = only_projects(only, "p.project_code", "AND")
    return query(
        con,
        viewer,
        f"""
        SELECT p.project_code, i.participant_code, i.wave, w.label AS wave_label, i.interview_id, i.interview_date,
               i.interviewer
        FROM interview i JOIN participant p USING (participant_code) JOIN wave w USING (wave)
        WHERE i.status = 'completed'
          AND NOT EXISTS (SELECT 1 FROM factor_rating r WHERE r.interview_id = i.interview_id){within}
        ORDER BY p.project_code, i.participant_code, w.position
        """,
        params,
    )


# The checks that need the schedule read it from `{s}`: a CTE over WAVE_STATUS_SQL when one check runs alone, or
# a temporary table holding it once when `schedule_checks` runs them all.
UNSCORED_SQL = """
    rounds AS (
        SELECT project_code, wave, any_value(wave_label) AS wave_label, any_value(position) AS position,
               max(window_close) AS round_closed
        FROM {s} WHERE status <> 'withdrawn' GROUP BY project_code, wave
    )
    SELECT r.project_code, r.wave, r.wave_label, r.round_closed,
           (SELECT count(*) FROM indicator) - count(v.indicator_code) AS missing,
           (SELECT count(*) FROM indicator) AS indicators
    FROM rounds r
    LEFT JOIN indicator_value v ON v.project_code = r.project_code AND v.wave = r.wave
    WHERE r.round_closed < $today
    GROUP BY r.project_code, r.wave, r.wave_label, r.round_closed, r.position
    HAVING count(v.indicator_code) < (SELECT count(*) FROM indicator)
    ORDER BY r.project_code, r.position
"""
OUTSIDE_SQL = """
    outside AS (
        SELECT project_code, participant_code, wave, wave_label, interview_id, interview_date, window_open,
               window_close,
               CASE WHEN interview_date < window_open THEN interview_date - window_open
                    ELSE interview_date - window_close END AS days_outside, position
        FROM {s}
        WHERE interview_id IS NOT NULL AND (interview_date < window_open OR interview_date > window_close)
    )
    SELECT project_code, participant_code, wave, wave_label, interview_id, interview_date, window_open, window_close,
           days_outside
    FROM outside ORDER BY project_code, participant_code, position
"""
LOST_SQL = """
    flagged AS (
        SELECT *, status IN ('missed', 'overdue') AS lost,
               row_number() OVER (PARTITION BY participant_code ORDER BY position)
               - row_number() OVER (PARTITION BY participant_code, status IN ('missed', 'overdue')
                                    ORDER BY position) AS run
        FROM {s} WHERE status <> 'upcoming'
    ),
    runs AS (
        SELECT participant_code, any_value(project_code) AS project_code, any_value(role) AS role,
               count(*) AS consecutive, string_agg(wave_label, ', ' ORDER BY position) AS waves,
               max(position) AS last_position
        FROM flagged WHERE lost GROUP BY participant_code, run HAVING count(*) >= 2
    )
    SELECT project_code, participant_code, role, consecutive, waves
    FROM (SELECT *, row_number() OVER (PARTITION BY participant_code ORDER BY consecutive DESC,
                                       last_position DESC) AS longest FROM runs) AS ranked
    WHERE longest = 1
    ORDER BY project_code, participant_code
"""


def _check_alone(con: Connection, viewer: Viewer, check: str, today: dt.date) -> pd.DataFrame:
    return query(con, viewer, f"WITH s AS ({WAVE_STATUS_SQL}), " + check.format(s="s"), {"today": today})


@scoped_read
def waves_without_sustainability(con: Connection, viewer: Viewer, today: dt.date) -> pd.DataFrame:
    """Project × wave whose round is over (every participant's window has closed) but whose indicators are not
    all scored."""
    return _check_alone(con, viewer, UNSCORED_SQL, today)


@scoped_read
def out_of_window_interviews(con: Connection, viewer: Viewer, today: dt.date) -> pd.DataFrame:
    """Interviews held outside their wave's window; `days_outside` is negative when early, positive when late."""
    return _check_alone(con, viewer, OUTSIDE_SQL, today)


@scoped_read
def lost_to_follow_up(con: Connection, viewer: Viewer, today: dt.date) -> pd.DataFrame:
    """Participants with two or more consecutive waves missed or overdue, with the longest such run."""
    return _check_alone(con, viewer, LOST_SQL, today)


@kept_by_project(order=("project_code",))  # then as each check's SQL orders a project's rows
@scoped_read
def schedule_checks(
    con: Connection, viewer: Viewer, today: dt.date, only: tuple[str, ...] | None = None
) -> dict[str, pd.DataFrame]:
    """`waves_without_sustainability`, `out_of_window_interviews` and `lost_to_follow_up` at once, under those
    names, from one computation of the schedule (a temporary table of this connection, dropped at the end): the
    data-quality page needs all three, and each alone computes the whole portfolio's schedule. Of the projects
    `only` names, when given: kept per project, so after a save only its project's schedule is computed again."""
    name = f"schedule_{uuid.uuid4().hex}"
    within, params = only_projects(only, "w.project_code", "AND")
    schedule = scoped_sql(viewer, WAVE_STATUS_SQL + within)
    con.execute(f"CREATE TEMP TABLE {name} AS {schedule}", scope_params(viewer, {"today": today, **params}))
    try:
        checks = {"waves_without_sustainability": UNSCORED_SQL, "out_of_window_interviews": OUTSIDE_SQL,
                  "lost_to_follow_up": LOST_SQL}  # fmt: skip
        return {
            key: query(con, viewer, "WITH " + sql.format(s=name), {"today": today} if "$today" in sql else None)
            for key, sql in checks.items()
        }
    finally:
        con.execute(f"DROP TABLE IF EXISTS temp.{name}")


# Entries about a participant who asked for erasure keep who did what and when, never what was said.
ERASED = "(SELECT entity_key FROM audit_entry WHERE action = 'erase' AND entity = 'participant')"
MENTIONS_ERASED = (
    f"(a.entity = 'participant' AND a.entity_key IN {ERASED})"
    f" OR json_extract_string(a.before, '$.participant_code') IN {ERASED}"
    f" OR json_extract_string(a.after, '$.participant_code') IN {ERASED}"
    f" OR json_extract_string(a.before, '$.interview[0].participant_code') IN {ERASED}"
)


@scoped_read
def audit_log(
    con: Connection,
    viewer: Viewer,
    entity: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """The newest audit entries first, filtered; before/after are JSON text (hidden for erased participants)."""
    return query(
        con,
        viewer,
        f"""
        SELECT a.audit_id, a.changed_at, a.actor, a.action, a.entity, a.entity_key,
               CASE WHEN {MENTIONS_ERASED} THEN NULL ELSE a.before::VARCHAR END AS before,
               CASE WHEN {MENTIONS_ERASED} THEN NULL ELSE a.after::VARCHAR END AS after
        FROM audit_entry a
        WHERE ($entity IS NULL OR a.entity = $entity) AND ($actor IS NULL OR a.actor = $actor)
          AND ($action IS NULL OR a.action = $action)
          AND ($since IS NULL OR a.changed_at >= $since::DATE)
          AND ($until IS NULL OR a.changed_at < $until::DATE + 1)
        ORDER BY a.audit_id DESC LIMIT $limit
        """,
        {"entity": entity, "actor": actor, "action": action, "since": since, "until": until, "limit": limit},
    )


@scoped_read
def audit_choices(con: Connection, viewer: Viewer) -> dict[str, list[str]]:
    """The entities, actors and actions that occur in the log, for its filters."""
    found = query(
        con,
        viewer,
        "SELECT DISTINCT 'entity' AS field, entity AS value FROM audit_entry"
        " UNION SELECT DISTINCT 'actor', actor FROM audit_entry"
        " UNION SELECT DISTINCT 'action', action FROM audit_entry",
    )
    return {field: sorted(found.loc[found.field == field, "value"]) for field in ("entity", "actor", "action")}


@scoped_read
def restorable_deletions(con: Connection, viewer: Viewer) -> pd.DataFrame:
    """Deletions of projects, participants, interviews and milestones whose record has not come back since."""
    return query(
        con,
        viewer,
        """
        SELECT a.audit_id, a.changed_at, a.actor, a.entity, a.entity_key
        FROM audit_entry a
        WHERE a.action = 'delete' AND a.entity IN ('project', 'participant', 'interview', 'milestone')
          AND NOT EXISTS (SELECT 1 FROM audit_entry r WHERE r.action IN ('restore', 'create')
                          AND r.entity = a.entity AND r.entity_key = a.entity_key AND r.audit_id > a.audit_id)
        ORDER BY a.audit_id DESC
        """,
    )
