"""Reads behind the project timeline, the comparison and the early warnings: aggregated in SQL, scoped by viewer."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from innovation_tracker.domain import analysis
from innovation_tracker.domain.model import Viewer
from innovation_tracker.storage.access import query, scoped_read
from innovation_tracker.storage.db import Connection
from innovation_tracker.storage.kept import kept, kept_by_project, only_projects
from innovation_tracker.storage.portfolio import WAVE_STATUS_SQL, finished_round_share, round_counts

PROJECT_FILTER = "($project IS NULL OR p.project_code = $project)"


@kept_by_project(order=("project_code",))
@scoped_read
def project_list(con: Connection, viewer: Viewer, only: tuple[str, ...] | None = None) -> pd.DataFrame:
    within, params = only_projects(only, "project_code")
    return query(
        con,
        viewer,
        "SELECT project_code, name, setting, relation_to_statutory, status, host_organisation, innovation_type,"
        f" novelty, start_date FROM project{within} ORDER BY project_code",
        params,
    )


@kept_by_project(order=("project_code", "wave", "factor_code"))
@scoped_read
def factor_stats(
    con: Connection, viewer: Viewer, project_code: str | None = None, only: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Per project × wave × factor: ratings, barrier and facilitator counts, and the sums of each sign. Of one
    project, or of the projects `only` names, when given."""
    within, params = only_projects(only, "p.project_code", "AND")
    return query(
        con,
        viewer,
        f"""
        SELECT p.project_code, i.wave, r.factor_code, count(*) AS n,
               count(*) FILTER (WHERE r.rating < 0) AS n_barrier,
               count(*) FILTER (WHERE r.rating > 0) AS n_facilitator,
               coalesce(sum(r.rating) FILTER (WHERE r.rating > 0), 0) AS positive_sum,
               coalesce(sum(r.rating) FILTER (WHERE r.rating < 0), 0) AS negative_sum
        FROM factor_rating r JOIN interview i USING (interview_id) JOIN participant p USING (participant_code)
        WHERE {PROJECT_FILTER}{within}
        GROUP BY ALL ORDER BY ALL
        """,
        {"project": project_code, **params},
    )


@scoped_read
def citations(con: Connection, viewer: Viewer, wave: str | None = None) -> pd.DataFrame:
    """Distinct project × factor pairs with at least one rating (at `wave`, or over the whole year)."""
    return query(
        con,
        viewer,
        """
        SELECT DISTINCT p.project_code, r.factor_code
        FROM factor_rating r JOIN interview i USING (interview_id) JOIN participant p USING (participant_code)
        WHERE $wave IS NULL OR i.wave = $wave
        ORDER BY ALL
        """,
        {"wave": wave},
    )


@scoped_read
def indicator_values(con: Connection, viewer: Viewer, project_code: str | None = None) -> pd.DataFrame:
    return query(
        con,
        viewer,
        f"""
        SELECT v.project_code, v.wave, v.indicator_code, v.value
        FROM indicator_value v JOIN project p USING (project_code) JOIN wave w USING (wave)
        JOIN indicator d USING (indicator_code)
        WHERE {PROJECT_FILTER} ORDER BY v.project_code, w.position, d.position
        """,
        {"project": project_code},
    )


@scoped_read
def milestones(con: Connection, viewer: Viewer, project_code: str | None = None) -> pd.DataFrame:
    return query(
        con,
        viewer,
        f"""
        SELECT m.milestone_id, m.project_code, m.milestone_date, m.kind, m.title, m.notes
        FROM milestone m JOIN project p USING (project_code)
        WHERE {PROJECT_FILTER} ORDER BY m.milestone_date, m.milestone_id
        """,
        {"project": project_code},
    )


@scoped_read
def evidence(con: Connection, viewer: Viewer, project_code: str) -> pd.DataFrame:
    """Every excerpt of a project the viewer may read (funders and teams: only those marked shareable)."""
    return query(
        con,
        viewer,
        """
        SELECT r.factor_code, f.label AS factor_label, f.domain, f.kind, i.wave, w.label AS wave_label,
               w.position AS wave_position, p.participant_code AS participant, p.role, r.rating,
               r.evidence AS excerpt, r.shareable, r.mixed
        FROM factor_rating r JOIN interview i USING (interview_id) JOIN participant p USING (participant_code)
        JOIN factor f USING (factor_code) JOIN wave w ON w.wave = i.wave
        WHERE p.project_code = $project AND r.evidence IS NOT NULL
        ORDER BY w.position, f.position, p.participant_code
        """,
        {"project": project_code},
    )


@scoped_read
def project_schedule(con: Connection, viewer: Viewer, project_code: str, today: dt.date) -> pd.DataFrame:
    """The project's participants × waves: due dates, windows, what happened (for the timeline)."""
    sql = WAVE_STATUS_SQL + " AND w.project_code = $project ORDER BY w.participant_code, w.position"
    return query(con, viewer, sql, {"today": today, "project": project_code})


@scoped_read
def overdue_by_project(con: Connection, viewer: Viewer, today: dt.date) -> pd.DataFrame:
    return analysis.overdue_per_project(round_counts(con, viewer, today))


@scoped_read
def completed_rounds(con: Connection, viewer: Viewer, today: dt.date, project_code: str | None = None) -> pd.DataFrame:
    """Project × wave rounds that are over: someone was interviewed and nobody is still due or upcoming. Of one
    project when `project_code` is given (the schedule of the others is then never computed)."""
    return analysis.finished_rounds(round_counts(con, viewer, today, project_code), finished_round_share(con))


@kept_by_project(order=("project_code", "wave"))
@scoped_read
def scored_waves(con: Connection, viewer: Viewer, only: tuple[str, ...] | None = None) -> pd.DataFrame:
    within, params = only_projects(only, "project_code")
    return query(con, viewer, f"SELECT DISTINCT project_code, wave FROM indicator_value{within} ORDER BY ALL", params)


@kept_by_project(order=("project_code", "position"))
@scoped_read
def wave_balance(con: Connection, viewer: Viewer, only: tuple[str, ...] | None = None) -> pd.DataFrame:
    """`analysis.net_balance` for every project and wave (or the projects `only` names), summed in SQL: a
    portfolio's ratings never leave the database, only one row per project and wave does."""
    of_projects, params = only_projects(only, "project_code")
    within = (
        f" WHERE interview_id IN (SELECT interview_id FROM interview JOIN participant USING (participant_code)"
        f"{of_projects})"
        if of_projects
        else ""
    )
    return query(
        con,
        viewer,
        # Summed per interview first: the joins then see one row per interview, not one per rating.
        f"""
        WITH per_interview AS (
            SELECT interview_id, coalesce(sum(rating) FILTER (WHERE rating > 0), 0) AS positive,
                   coalesce(sum(rating) FILTER (WHERE rating < 0), 0) AS negative, sum(rating) AS net,
                   count(*) AS n
            FROM factor_rating{within} GROUP BY interview_id
        )
        SELECT p.project_code, i.wave, any_value(w.label) AS wave_label, any_value(w.position) AS position,
               sum(r.positive) AS facilitator_weight, -sum(r.negative) AS barrier_weight, sum(r.net) AS net,
               sum(r.n)::BIGINT AS n_ratings
        FROM per_interview r JOIN interview i USING (interview_id) JOIN participant p USING (participant_code)
        JOIN wave w ON w.wave = i.wave
        GROUP BY p.project_code, i.wave ORDER BY p.project_code, position
        """,
        params,
    )


@scoped_read
def projects_citing(
    con: Connection, viewer: Viewer, wave: str | None = None, settings: tuple = (), relations: tuple = ()
) -> pd.DataFrame:
    """Per factor, how many projects (in the given settings and relations; all when none) cite it at `wave` or
    over the whole year: a slice of `citations_by_wave`, which counts every wave and the year in one pass."""
    counts = citations_by_wave(con, viewer, tuple(settings), tuple(relations))
    at = counts.wave.isna() if wave is None else counts.wave == wave
    return counts.loc[at, ["factor_code", "projects_citing"]].reset_index(drop=True)


@kept
@scoped_read
def citations_by_wave(con: Connection, viewer: Viewer, settings: tuple = (), relations: tuple = ()) -> pd.DataFrame:
    """Per factor and wave, and per factor over the whole year (`wave` NULL), how many projects in the given
    settings and relations (all when none) cite it: counted from `cited_factors` (which factors each project cited
    at each wave), which is read once and then only for the projects written since, so counting again after a save
    does not read every rating."""
    cited = cited_factors(con, viewer)
    if settings or relations:
        projects = project_list(con, viewer)
        chosen = analysis.filter_projects(projects, list(settings), list(relations))
        cited = cited[cited.project_code.isin(set(chosen.project_code))]
    per_wave = cited.groupby(["factor_code", "wave"], sort=False).size().rename("projects_citing").reset_index()
    # Over the year: the distinct factor × project pairs, as integer keys (dropping duplicate pairs of strings
    # from 714,000 rows took a sixth of a second)
    project, projects = pd.factorize(cited.project_code)
    factor, factors = pd.factorize(cited.factor_code)
    cites = np.zeros((len(factors), len(projects)), dtype=bool)
    cites[factor, project] = True
    per_factor = cites.sum(axis=1)
    per_year = pd.DataFrame({"factor_code": factors, "wave": None, "projects_citing": per_factor})
    counts = pd.concat([per_wave, per_year[["factor_code", "wave", "projects_citing"]]], ignore_index=True)
    counts["projects_citing"] = counts.projects_citing.astype("int64")
    return counts.sort_values(["factor_code", "wave"], na_position="last", ignore_index=True)


@kept_by_project(order=("project_code",))
@scoped_read
def cited_factors(con: Connection, viewer: Viewer, only: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Which factors each project (or each of the projects `only` names) cited at each wave: one row per project,
    wave and factor with a rating. The distinct triples are found in SQL (count(DISTINCT) per group made PostgreSQL
    sort every rating); the compare page counts them per wave and over the year (`citations_by_wave`). In project
    order, so that bringing it up to date after a write cuts and joins it instead of sorting it all again."""
    within, params = only_projects(only, "p.project_code")
    return query(
        con,
        viewer,
        f"""
        SELECT p.project_code, i.wave, r.factor_code
        FROM factor_rating r JOIN interview i USING (interview_id) JOIN participant p USING (participant_code){within}
        GROUP BY p.project_code, i.wave, r.factor_code
        """,
        params,
    ).sort_values("project_code", kind="stable", ignore_index=True)  # in pandas: PostgreSQL's sort cost 2 s here


@kept_by_project(order=("project_code", "wave", "column"))
@scoped_read
def wave_means(
    con: Connection,
    viewer: Viewer,
    domain: str | None = None,
    only: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Per project × wave, the sum and number of ratings of each factor of `domain` (None: of each domain, all its
    factors together) in a column named "column": the framework matrix's trends. Summed in SQL, so a domain's
    cells leave the database as one row, not one per factor. Of the projects `only` names, when given."""
    column = "f.domain" if domain is None else "r.factor_code"
    within, params = only_projects(only, "p.project_code", "AND")
    return query(
        con,
        viewer,
        f"""
        SELECT p.project_code, i.wave, {column} AS "column", sum(r.rating) AS total, count(*) AS n
        FROM factor_rating r JOIN interview i USING (interview_id) JOIN participant p USING (participant_code)
             JOIN factor f ON f.factor_code = r.factor_code
        WHERE ($domain IS NULL OR f.domain = $domain){within}
        GROUP BY p.project_code, i.wave, {column}
        """,
        {"domain": domain, **params},
    ).sort_values(["project_code", "wave", "column"], kind="stable", ignore_index=True)


@kept
@scoped_read
def factor_stats_of(con: Connection, viewer: Viewer, project_codes: tuple = ()) -> pd.DataFrame:
    """`factor_stats` for the given projects only."""
    return query(
        con,
        viewer,
        """
        SELECT p.project_code, i.wave, r.factor_code, count(*) AS n,
               count(*) FILTER (WHERE r.rating < 0) AS n_barrier,
               count(*) FILTER (WHERE r.rating > 0) AS n_facilitator,
               coalesce(sum(r.rating) FILTER (WHERE r.rating > 0), 0) AS positive_sum,
               coalesce(sum(r.rating) FILTER (WHERE r.rating < 0), 0) AS negative_sum
        FROM factor_rating r JOIN interview i USING (interview_id) JOIN participant p USING (participant_code)
        WHERE list_contains($projects::VARCHAR[], p.project_code)
        GROUP BY ALL ORDER BY ALL
        """,
        {"projects": list(project_codes)},
    )
