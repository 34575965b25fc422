"""Portfolio-wide reads, aggregated in SQL so pages stay fast at any size."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from innovation_tracker.domain import analysis
from innovation_tracker.domain.errors import Problem, ValidationError
from innovation_tracker.domain.model import Viewer
from innovation_tracker.storage.access import query, query_one, scoped_read
from innovation_tracker.storage.db import Connection, record_audit, write
from innovation_tracker.storage.kept import kept, kept_by_project, only_projects

# The rules of `schedule.participant_schedule`, in SQL, for every participant at once. A test checks that the
# two agree on every participant of the demo study.
WAVE_STATUS_SQL = """
WITH baseline_wave AS (
    SELECT wave FROM wave WHERE offset_days = 0 ORDER BY position LIMIT 1
), anchored AS (
    SELECT p.participant_code, p.project_code, p.role, p.enrolment_date, p.withdrawal_date,
           b.interview_date AS baseline_date
    FROM participant p
    LEFT JOIN interview b ON b.participant_code = p.participant_code AND b.status = 'completed'
                          AND b.wave = (SELECT wave FROM baseline_wave)
), due AS (
    SELECT a.*, w.wave, w.position, w.label AS wave_label,
           CASE WHEN w.offset_days = 0 THEN a.enrolment_date
                ELSE coalesce(a.baseline_date, a.enrolment_date) END + w.offset_days AS due_date,
           w.window_before_days, w.window_after_days
    FROM anchored a CROSS JOIN wave w
), windowed AS (
    SELECT d.*, d.due_date - d.window_before_days AS window_open,
           least(d.due_date + d.window_after_days, s.end_date) AS window_close, s.end_date AS study_end
    FROM due d CROSS JOIN study s
)
SELECT w.participant_code, w.project_code, w.role, w.wave, w.position, w.wave_label, w.due_date,
       w.window_open, w.window_close, i.interview_id, i.interview_date, i.interviewer,
       CASE WHEN i.status = 'completed' THEN 'completed'
            WHEN i.status IN ('missed', 'declined') THEN 'missed'
            WHEN w.withdrawal_date IS NOT NULL AND w.withdrawal_date <= w.window_close THEN 'withdrawn'
            WHEN $today < w.window_open THEN 'upcoming'
            WHEN $today <= w.window_close THEN 'due'
            ELSE 'overdue' END AS status
FROM windowed w
LEFT JOIN interview i ON i.participant_code = w.participant_code AND i.wave = w.wave
WHERE w.window_open <= w.study_end
"""


@scoped_read
def wave_status(con: Connection, viewer: Viewer, today: dt.date) -> pd.DataFrame:
    """Every participant × wave with its due date, window and status at `today`."""
    sql = WAVE_STATUS_SQL + " ORDER BY w.project_code, w.participant_code, w.position"
    return query(con, viewer, sql, {"today": today})


@kept_by_project(order=("project_code", "participant_code", "position"))
@scoped_read
def call_candidates(
    con: Connection, viewer: Viewer, today: dt.date, horizon_days: int, only: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """The participant × wave rows a call list is made of (overdue, due, missed, and upcoming with a window opening
    within `horizon_days`), each with the interviewer of the participant's latest interview before that wave. The
    rest of the schedule (most of it, at portfolio scale) never leaves the database. Of the projects `only` names,
    when given."""
    within, params = only_projects(only, "w.project_code", "AND")
    sql = f"""
        WITH s AS ({WAVE_STATUS_SQL}{within}), marked AS (
            SELECT *, substr(max(CASE WHEN interviewer IS NOT NULL THEN lpad(position::VARCHAR, 6, '0') || interviewer
                                      END) OVER (
                PARTITION BY participant_code ORDER BY position ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
            ), 7) AS previous_interviewer  -- the last interviewer named before this wave (portable IGNORE NULLS)
            FROM s
        )
        SELECT * FROM marked
        WHERE status IN ('overdue', 'due', 'missed')
           OR (status = 'upcoming' AND window_open <= CAST($today AS DATE) + CAST($horizon AS INTEGER))
        ORDER BY project_code, participant_code, position
    """
    return query(con, viewer, sql, {"today": today, "horizon": horizon_days, **params})


@kept_by_project(order=("project_code", "position"))
@scoped_read
def round_counts(
    con: Connection,
    viewer: Viewer,
    today: dt.date,
    project_code: str | None = None,
    only: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Per project × wave: how many participants are at each status at `today` (a column per status of
    `analysis.SCHEDULE_STATUSES`), and `scheduled`, the interviews done or due by then (withdrawals excluded). One
    pass over the schedule, from which the portfolio's summaries are derived (`analysis.completion_per_wave`, …).
    Of one project when `project_code` is given, or of the projects `only` names: the schedule of the others is
    then never computed."""
    one = " AND w.project_code = $project" if project_code is not None else ""
    params: dict[str, object] = {"today": today} | ({"project": project_code} if project_code is not None else {})
    within, only_params = only_projects(only, "w.project_code", "AND")
    one += within
    params |= only_params
    per_status = ", ".join(f"count(*) FILTER (WHERE status = '{s}') AS {s}" for s in analysis.SCHEDULE_STATUSES)
    sql = f"""
        WITH s AS ({WAVE_STATUS_SQL}{one})
        SELECT project_code, wave, any_value(wave_label) AS wave_label, any_value(position) AS position, {per_status},
               count(*) FILTER (WHERE status = 'completed' OR (status <> 'withdrawn' AND due_date <= $today))
                   AS scheduled
        FROM s GROUP BY project_code, wave ORDER BY project_code, position
    """
    return query(con, viewer, sql, params)


@scoped_read
def headline_counts(con: Connection, viewer: Viewer, today: dt.date) -> dict[str, int]:
    return analysis.headline(round_counts(con, viewer, today), people_counts(con, viewer))


@kept
@scoped_read
def people_counts(con: Connection, viewer: Viewer) -> dict[str, int]:
    """How many projects and participants the viewer sees, and how many of the participants withdrew."""
    row = query_one(
        con,
        viewer,
        "SELECT (SELECT count(*) FROM project), (SELECT count(*) FROM participant),"
        " (SELECT count(*) FROM participant WHERE status = 'withdrawn')",
    )
    assert row is not None  # a SELECT of subqueries, with no FROM of its own, always yields one row
    return dict(zip(("projects", "participants", "withdrawn"), (int(v or 0) for v in row), strict=True))


@scoped_read
def completion_by_wave(con: Connection, viewer: Viewer, today: dt.date) -> pd.DataFrame:
    """Per wave: how many participants are at each status (completed, missed, overdue, due, upcoming, withdrawn)."""
    return analysis.completion_per_wave(round_counts(con, viewer, today))


@kept_by_project(order=("project_code", "position"))
@scoped_read
def outlook_grid(
    con: Connection, viewer: Viewer, indicator_code: str = "outlook", only: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Every project × wave (of the projects `only` names, if given), with the indicator's value where one was
    scored (NULL where not)."""
    within, params = only_projects(only, "p.project_code")
    return query(
        con,
        viewer,
        f"""
        SELECT p.project_code, p.name, p.status AS project_status, w.wave, w.label AS wave_label, w.position,
               v.value
        FROM project p CROSS JOIN wave w
        LEFT JOIN indicator_value v ON v.project_code = p.project_code AND v.wave = w.wave
                                    AND v.indicator_code = $indicator{within}
        ORDER BY p.project_code, w.position
        """,
        {"indicator": indicator_code, **params},
    )


@kept_by_project(order=("project_code",))
@scoped_read
def outlook_table(
    con: Connection, viewer: Viewer, indicator_code: str = "outlook", only: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """`outlook_grid` as a table: a row per project, a column per wave (named by its code) holding the value."""
    waves = [row[0] for row in con.execute("SELECT wave FROM wave ORDER BY position").fetchall()]
    # Wave codes match [a-z][a-z0-9_]* (a CHECK in the schema), so they are safe as column names.
    columns = "".join(f", max(v.value) FILTER (WHERE v.wave = '{w}') AS \"{w}\"" for w in waves)
    within, params = only_projects(only, "p.project_code")
    return query(
        con,
        viewer,
        f"""
        SELECT p.project_code, any_value(p.name) AS name, any_value(p.status) AS project_status{columns}
        FROM project p LEFT JOIN indicator_value v ON v.project_code = p.project_code
                                                  AND v.indicator_code = $indicator{within}
        GROUP BY p.project_code ORDER BY p.project_code
        """,
        {"indicator": indicator_code, **params},
    )


def finished_round_share(con: Connection) -> float:
    """The study's threshold for a finished round (`analysis.round_progress`): 0.8 unless set, or with no study."""
    row = con.execute("SELECT finished_round_share FROM study").fetchone()
    return float(row[0]) if row and row[0] is not None else analysis.FINISHED_SHARE


def set_finished_round_share(con: Connection, actor: str, share: float) -> None:
    """Change the study's finished-round threshold (a share from 0.5 to 1), audited."""
    if not 0.5 <= share <= 1:
        message = f"the share of interviews that finishes a round must be between 0.5 and 1, not {share:g}"
        raise ValidationError(Problem("range", message, field="finished_round_share", value=share))

    def work(cur: Connection) -> None:
        before = finished_round_share(cur)
        cur.execute("UPDATE study SET finished_round_share = ?", [share])
        record_audit(cur, actor, "update", "study", "finished_round_share", {"share": before}, {"share": share})

    write(con, work)


@scoped_read
def round_progress(con: Connection, viewer: Viewer, today: dt.date, by_project: bool = False) -> pd.DataFrame:
    """`analysis.round_progress` of the viewer's projects at `today`, with the study's threshold."""
    return analysis.round_progress(round_counts(con, viewer, today), finished_round_share(con), by_project=by_project)
