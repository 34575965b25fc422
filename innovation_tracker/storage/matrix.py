"""The framework matrix's reads: per project × factor, the ratings at a wave (or over the year) and the excerpts
behind them. Scoped like every read: a team sees its own projects, and funders and teams only shareable excerpts."""

from __future__ import annotations

import pandas as pd

from innovation_tracker.domain.model import Viewer
from innovation_tracker.storage.access import query, scoped_read
from innovation_tracker.storage.db import Connection
from innovation_tracker.storage.kept import kept_by_project, only_projects

_WAVE_FILTER = "($wave IS NULL OR i.wave = $wave)"


@kept_by_project(order=("project_code", "column"))
@scoped_read
def matrix_cells(
    con: Connection,
    viewer: Viewer,
    wave: str | None = None,
    by_domain: bool = False,
    only: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Per project × factor (or × domain: all its factors together) cited at `wave` (every wave when None): the
    mean rating, how many ratings and excerpts, and how many participants cited it, in a column named "column".
    Summed per participant first, then per cell: count(DISTINCT participant) per cell made PostgreSQL sort every
    rating. Of the projects `only` names, when given."""
    column = "f.domain" if by_domain else "r.factor_code"
    within, params = only_projects(only, "p.project_code", "AND")
    return query(
        con,
        viewer,
        f"""
        SELECT project_code, "column", CAST(sum(total) AS DOUBLE) / sum(n) AS mean, sum(n) AS n_ratings,
               count(*) AS n_participants, sum(n_excerpts) AS n_excerpts
        FROM (
            SELECT p.project_code, {column} AS "column", i.participant_code, sum(r.rating) AS total,
                   count(*) AS n, count(r.evidence) AS n_excerpts
            FROM factor_rating r JOIN interview i USING (interview_id) JOIN participant p USING (participant_code)
                 JOIN factor f ON f.factor_code = r.factor_code
            WHERE {_WAVE_FILTER}{within}
            GROUP BY p.project_code, {column}, i.participant_code
        ) AS per_participant
        GROUP BY project_code, "column" ORDER BY project_code, "column"
        """,
        {"wave": wave, **params},
    )


@scoped_read
def cell_excerpts(
    con: Connection, viewer: Viewer, project_code: str, factor_code: str, wave: str | None = None
) -> pd.DataFrame:
    """The excerpts behind one cell of the matrix, in wave order (funders and teams: shareable ones only)."""
    return query(
        con,
        viewer,
        f"""
        SELECT w.label AS wave_label, i.participant_code, p.role, r.rating, r.mixed, r.evidence
        FROM factor_rating r JOIN interview i USING (interview_id) JOIN participant p USING (participant_code)
             JOIN wave w ON w.wave = i.wave
        WHERE p.project_code = $project AND r.factor_code = $factor AND {_WAVE_FILTER} AND r.evidence IS NOT NULL
        ORDER BY w.position, i.participant_code
        """,
        {"project": project_code, "factor": factor_code, "wave": wave},
    )


@scoped_read
def matrix_excerpts(con: Connection, viewer: Viewer, wave: str | None = None) -> pd.DataFrame:
    """Every excerpt of every cell (for the Excel matrix), in project, factor and wave order."""
    return query(
        con,
        viewer,
        f"""
        SELECT p.project_code, r.factor_code, w.label AS wave_label, i.participant_code, r.rating, r.evidence
        FROM factor_rating r JOIN interview i USING (interview_id) JOIN participant p USING (participant_code)
             JOIN wave w ON w.wave = i.wave
        WHERE {_WAVE_FILTER} AND r.evidence IS NOT NULL
        ORDER BY p.project_code, r.factor_code, w.position, i.participant_code
        """,
        {"wave": wave},
    )
