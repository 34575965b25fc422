"""Double coding: a second, blind coding of an interview, the consensus where the two codings disagree, and the
counts that agreement is computed from (migration 0009).

`factor_rating` holds the rating in force; `coding_rating` keeps both independent codings as they were when the
second was saved; `consensus` the agreed rating of each disagreement. Every write is one audited transaction.
Reads are scoped like every read (storage/access.py): funders and teams get counts only (no evidence, no reasons),
a team only its own projects, and a coder who has started a blind second coding gets no read of that interview's
first coding until theirs is saved.
"""

from __future__ import annotations

import pandas as pd

from ..domain import Viewer
from ..errors import NotFound, Problem, ValidationError
from .access import query, scoped_read
from .db import Connection, record_audit, write
from .records import _check_version, _rows

_CODING_2 = "SELECT coder, saved_at FROM coding WHERE interview_id = ? AND coding = 2"


def _second(cur: Connection, interview_id: int) -> tuple[str, object] | None:
    return cur.execute(_CODING_2, [interview_id]).fetchone()


def _interview_exists(cur: Connection, interview_id: int) -> str:
    found = cur.execute("SELECT status FROM interview WHERE interview_id = ?", [interview_id]).fetchone()
    if found is None:
        raise NotFound(f"interview {interview_id} does not exist (deleted by someone else?)")
    return found[0]


def _first_coders(cur: Connection, interview_id: int) -> set[str]:
    """Who coded the rating in force (the `coder` of its rows; empty for an interview with no ratings)."""
    found = cur.execute(
        "SELECT DISTINCT coder FROM factor_rating WHERE interview_id = ? AND coder IS NOT NULL", [interview_id]
    ).fetchall()
    return {r[0] for r in found}


def create_second_coding(con: Connection, actor: str, interview_id: int) -> None:
    """`actor` starts coding the interview blind: from now on every read made for them hides its first coding."""

    def work(cur):
        if _interview_exists(cur, interview_id) != "completed":
            raise ValidationError(
                Problem("not_completed", f"interview {interview_id} was not completed: nothing to code")
            )
        if actor in _first_coders(cur, interview_id):
            message = f"{actor} coded interview {interview_id} first; a second coding must be someone else's"
            raise ValidationError(Problem("same_coder", message))
        held = _second(cur, interview_id)
        if held is not None and held[0] == actor and held[1] is None:
            return
        if held is not None:
            state = "saved a second coding of" if held[1] is not None else "is already coding"
            raise ValidationError(Problem("taken", f"{held[0]} {state} interview {interview_id}"))
        cur.execute("INSERT INTO coding (interview_id, coding, coder) VALUES (?, 2, ?)", [interview_id, actor])
        record_audit(cur, actor, "create", "second_coding", str(interview_id), after={"coder": actor, "saved": False})

    write(con, work)


def delete_second_coding(con: Connection, actor: str, interview_id: int) -> None:
    """Give up a second coding not yet saved (it held no ratings yet)."""

    def work(cur):
        held = _second(cur, interview_id)
        if held is None or held[0] != actor or held[1] is not None:
            raise NotFound(f"{actor} has no second coding of interview {interview_id} in progress")
        cur.execute("DELETE FROM coding WHERE interview_id = ? AND coding = 2", [interview_id])
        record_audit(cur, actor, "delete", "second_coding", str(interview_id), before={"coder": actor, "saved": False})

    write(con, work)


def record_second_coding(con: Connection, actor: str, interview_id: int, ratings: list[dict]) -> None:
    """Save `actor`'s blind coding (rows of factor_code, rating, evidence, shareable, already checked against the
    codebook), and keep the first coding as it stands now beside it: from here on both are fixed, and agreement
    compares them."""

    def work(cur):
        held = _second(cur, interview_id)
        if held is None or held[0] != actor or held[1] is not None:
            raise ValidationError(
                Problem("not_started", f"{actor} has no second coding of interview {interview_id} in progress")
            )
        first = _rows(
            cur,
            "SELECT factor_code, rating, evidence, shareable, mixed FROM factor_rating WHERE interview_id = ?"
            " ORDER BY factor_code",
            [interview_id],
        )
        coders = ", ".join(sorted(_first_coders(cur, interview_id))) or "(not recorded)"
        cur.execute(
            "INSERT INTO coding (interview_id, coding, coder, saved_at) VALUES (?, 1, ?, now())", [interview_id, coders]
        )
        for coding, rows in ((1, first), (2, ratings)):
            for row in rows:
                cur.execute(
                    "INSERT INTO coding_rating (interview_id, coding, factor_code, rating, evidence, shareable, mixed)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        interview_id,
                        coding,
                        row["factor_code"],
                        row["rating"],
                        row["evidence"],
                        row["shareable"],
                        bool(row.get("mixed", False)),
                    ],
                )
        cur.execute("UPDATE coding SET saved_at = now() WHERE interview_id = ? AND coding = 2", [interview_id])
        after = {"coder": actor, "saved": True, "first_coder": coders, "first_coding": first, "ratings": ratings}
        record_audit(cur, actor, "update", "second_coding", str(interview_id), before=None, after=after)

    write(con, work)


def set_consensus(con: Connection, actor: str, interview_id: int, decisions: list[dict]) -> None:
    """Record the agreed rating (None: not cited) of each disagreement, with why, and make it the rating in force.
    `decisions` are checked already (the factor is a disagreement of this interview, the rating fits its kind); a
    decision's `mixed` (X, with rating 0) goes with its rating into the consensus and the rating in force."""

    def work(cur):
        for decision in decisions:
            code, rating, reason = decision["factor_code"], decision["rating"], decision["reason"]
            mixed = rating is not None and bool(decision.get("mixed", False))
            before = _rows(
                cur,
                "SELECT rating, mixed, evidence, shareable, coder FROM factor_rating"
                " WHERE interview_id = ? AND factor_code = ?",
                [interview_id, code],
            )
            earlier = _rows(
                cur,
                "SELECT rating, mixed, reason, decided_by FROM consensus WHERE interview_id = ? AND factor_code = ?",
                [interview_id, code],
            )
            cur.execute(
                "INSERT INTO consensus (interview_id, factor_code, rating, mixed, reason, decided_by)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET rating = excluded.rating, mixed = excluded.mixed,"
                " reason = excluded.reason, decided_by = excluded.decided_by, decided_at = now()",
                [interview_id, code, rating, mixed, reason, actor],
            )
            if rating is None:
                cur.execute(
                    "DELETE FROM factor_rating WHERE interview_id = ? AND factor_code = ?", [interview_id, code]
                )
            elif before:
                cur.execute(
                    "UPDATE factor_rating SET rating = ?, mixed = ? WHERE interview_id = ? AND factor_code = ?",
                    [rating, mixed, interview_id, code],
                )
            else:  # cited by the second coding only: its evidence comes with it
                cur.execute(
                    "INSERT INTO factor_rating (interview_id, factor_code, rating, evidence, shareable, coder, mixed)"
                    " SELECT interview_id, factor_code, ?, evidence, shareable, ?, ? FROM coding_rating"
                    " WHERE interview_id = ? AND coding = 2 AND factor_code = ?",
                    [rating, actor, mixed, interview_id, code],
                )
            record_audit(
                cur,
                actor,
                "update",
                "consensus",
                str(interview_id),
                before={"factor_code": code, "rating_in_force": before[0] if before else None, "consensus": earlier},
                after={"factor_code": code, "rating": rating, "mixed": mixed, "reason": reason},
            )
        _check_version(cur, actor, "interview", str(interview_id), None)  # a form opened before now is stale

    write(con, work)


@scoped_read
def coding_queue(con: Connection, viewer: Viewer) -> pd.DataFrame:
    """Every double-coded interview (or one being coded blind): who coded it first and second, whether the second
    is saved, how many disagreements it has and how many of them are reconciled."""
    return query(
        con,
        viewer,
        """
        WITH _unit AS (
            -- X (mixed, stored as 0) is a code of its own: X against 0 is a disagreement
            SELECT interview_id, factor_code,
                   max(CASE WHEN mixed THEN 10 ELSE rating END) FILTER (WHERE coding = 1) AS r1,
                   max(CASE WHEN mixed THEN 10 ELSE rating END) FILTER (WHERE coding = 2) AS r2,
                   count(*) FILTER (WHERE coding = 1) AS c1,
                   count(*) FILTER (WHERE coding = 2) AS c2
            FROM coding_rating GROUP BY ALL
        ), _disagree AS (
            SELECT u.interview_id, count(*) AS disagreements, count(c.factor_code) AS reconciled
            FROM _unit u LEFT JOIN consensus c USING (interview_id, factor_code)
            WHERE u.c1 <> u.c2 OR u.r1 <> u.r2 GROUP BY ALL
        )
        SELECT s.interview_id, p.project_code, i.participant_code, i.wave, w.label AS wave_label, w.position,
               i.interview_date, f.coder AS first_coder, s.coder AS second_coder, s.started_at, s.saved_at,
               coalesce(d.disagreements, 0) AS disagreements, coalesce(d.reconciled, 0) AS reconciled
        FROM coding s JOIN interview i USING (interview_id) JOIN participant p USING (participant_code)
             JOIN wave w ON w.wave = i.wave
             LEFT JOIN coding f ON f.interview_id = s.interview_id AND f.coding = 1
             LEFT JOIN _disagree d ON d.interview_id = s.interview_id
        WHERE s.coding = 2
        ORDER BY s.saved_at IS NOT NULL, coalesce(d.disagreements, 0) - coalesce(d.reconciled, 0) = 0,
                 p.project_code, i.participant_code, w.position
        """,
    )


@scoped_read
def second_coding_candidates(con: Connection, viewer: Viewer, project_code: str) -> pd.DataFrame:
    """A project's completed interviews that no one has started to code a second time, with who coded them first
    (names only: nothing of the coding itself)."""
    return query(
        con,
        viewer,
        """
        SELECT i.interview_id, i.participant_code, i.wave, w.label AS wave_label, i.interview_date,
               (SELECT string_agg(DISTINCT r.coder, ', ' ORDER BY r.coder) FROM factor_rating r
                WHERE r.interview_id = i.interview_id) AS first_coder
        FROM interview i JOIN participant p USING (participant_code) JOIN wave w ON w.wave = i.wave
        WHERE p.project_code = $project AND i.status = 'completed'
          AND i.interview_id NOT IN (SELECT interview_id FROM coding WHERE coding = 2)
        ORDER BY i.participant_code, w.position
        """,
        {"project": project_code},
    )


@scoped_read
def blind_interview(con: Connection, viewer: Viewer, interview_id: int) -> dict:
    """What the second coder works from: the interview (participant, wave, date, mode, summary) and the state of
    the second coding; never the first coding's ratings or evidence."""
    found = query(
        con,
        viewer,
        """
        SELECT i.interview_id, p.project_code, i.participant_code, i.wave, w.label AS wave_label, i.interview_date,
               i.mode, i.interviewer, i.status, i.summary, s.coder AS second_coder, s.saved_at
        FROM interview i JOIN participant p USING (participant_code) JOIN wave w ON w.wave = i.wave
             LEFT JOIN coding s ON s.interview_id = i.interview_id AND s.coding = 2
        WHERE i.interview_id = $interview
        """,
        {"interview": interview_id},
    )
    if found.empty:
        raise NotFound(f"interview {interview_id} does not exist or is not yours to see")
    return found.iloc[0].to_dict()


@scoped_read
def coding_pairs(con: Connection, viewer: Viewer, interview_id: int) -> pd.DataFrame:
    """Both codings of a double-coded interview side by side, one row per factor either cited, with the consensus
    and the rating in force; empty until the second coding is saved (so nothing shows while it is blind)."""
    return query(
        con,
        viewer,
        """
        WITH _saved AS (SELECT interview_id FROM coding WHERE interview_id = $interview AND coding = 2
                        AND saved_at IS NOT NULL),
        _factor AS (SELECT DISTINCT factor_code FROM coding_rating WHERE interview_id IN (SELECT * FROM _saved))
        SELECT u.factor_code, f.label, f.domain, f.kind, f.position,
               a.rating AS rating_1, a.mixed AS mixed_1, a.evidence AS evidence_1,
               b.rating AS rating_2, b.mixed AS mixed_2, b.evidence AS evidence_2,
               c.rating AS consensus, c.mixed AS consensus_mixed, c.reason, c.decided_by, c.decided_at,
               r.rating AS in_force, r.mixed AS in_force_mixed
        FROM _factor u JOIN factor f USING (factor_code)
             LEFT JOIN coding_rating a ON a.interview_id = $interview AND a.coding = 1 AND a.factor_code = u.factor_code
             LEFT JOIN coding_rating b ON b.interview_id = $interview AND b.coding = 2 AND b.factor_code = u.factor_code
             LEFT JOIN consensus c ON c.interview_id = $interview AND c.factor_code = u.factor_code
             LEFT JOIN factor_rating r ON r.interview_id = $interview AND r.factor_code = u.factor_code
        ORDER BY f.position
        """,
        {"interview": interview_id},
    )


@scoped_read
def agreement_counts(con: Connection, viewer: Viewer, wave: str | None = None) -> pd.DataFrame:
    """Agreement's raw material, aggregated in SQL in one pass: per `level` (overall, project or factor), group and
    pair of codes (rating_1, rating_2; NULL where that coding did not cite the factor; mixed_1, mixed_2: that rating
    is X, stored as 0), how many units had them, and
    the group's double-coded interviews (`n_interviews`). A unit is a factor × a double-coded interview (both codings
    saved), at `wave` or at every wave: every factor of the codebook not retired, and a retired one where either
    coding cited it.

    Only the units a coding cited are read; those neither cited are counted as the units offered less the units
    cited, so the query never spells out factors × interviews."""
    return query(
        con,
        viewer,
        """
        WITH _pair AS (
            -- Scoped by the viewer's projects (the `project` shadow); the pseudonyms the shadowed participants
            -- would compute are not needed for counts.
            SELECT c.interview_id, p.project_code
            FROM coding c JOIN main.interview i USING (interview_id) JOIN main.participant p USING (participant_code)
            WHERE c.coding = 2 AND c.saved_at IS NOT NULL AND ($wave IS NULL OR i.wave = $wave)
              AND p.project_code IN (SELECT project_code FROM project)
        ), _active AS (
            SELECT factor_code FROM factor WHERE factor_code NOT IN (SELECT factor_code FROM retired_factor)
        ), _cited AS (
            SELECT d.project_code, r.interview_id, r.factor_code,
                   max(r.rating) FILTER (WHERE r.coding = 1) AS rating_1,
                   max(r.rating) FILTER (WHERE r.coding = 2) AS rating_2,
                   bool_or(r.mixed) FILTER (WHERE r.coding = 1) AS mixed_1,
                   bool_or(r.mixed) FILTER (WHERE r.coding = 2) AS mixed_2
            FROM coding_rating r JOIN _pair d USING (interview_id) GROUP BY ALL
        ), _cells AS (
            SELECT project_code, factor_code, rating_1, rating_2, mixed_1, mixed_2, count(*) AS units,
                   factor_code IN (SELECT factor_code FROM _active) AS offered
            FROM _cited GROUP BY ALL
        ), _group AS (
            SELECT CASE WHEN grouping(project_code) = 0 THEN 'project'
                        WHEN grouping(factor_code) = 0 THEN 'factor' ELSE 'overall' END AS level,
                   coalesce(project_code, '') AS project_key, coalesce(factor_code, '') AS factor_key,
                   rating_1, rating_2, mixed_1, mixed_2, sum(units) AS units,
                   coalesce(sum(units) FILTER (WHERE offered), 0) AS offered_units
            FROM _cells
            GROUP BY GROUPING SETS ((project_code, rating_1, rating_2, mixed_1, mixed_2),
                                    (factor_code, rating_1, rating_2, mixed_1, mixed_2),
                                    (rating_1, rating_2, mixed_1, mixed_2))
        ), _n AS (
            SELECT count(*) AS pairs, (SELECT count(*) FROM _active) AS active FROM _pair
        ), _offered AS (
            SELECT 'overall' AS level, '' AS project_key, '' AS factor_key, pairs * active AS offered,
                   pairs AS n_interviews FROM _n
            UNION ALL
            SELECT 'project', project_code, '', count(*) * (SELECT active FROM _n), count(*) FROM _pair GROUP BY ALL
            UNION ALL
            SELECT 'factor', '', factor_code, n.pairs, n.pairs FROM _active, _n n WHERE n.pairs > 0
            UNION ALL
            SELECT 'factor', '', factor_code, 0, count(DISTINCT interview_id) FROM _cited
            WHERE factor_code NOT IN (SELECT factor_code FROM _active) GROUP BY ALL
        ), _cited_sum AS (
            SELECT level, project_key, factor_key, sum(offered_units) AS cited FROM _group GROUP BY ALL
        ), _counts AS (
            SELECT g.level, g.project_key, g.factor_key, g.rating_1, g.rating_2, g.mixed_1, g.mixed_2, g.units,
                   o.n_interviews
            FROM _group g JOIN _offered o USING (level, project_key, factor_key)
            UNION ALL
            SELECT o.level, o.project_key, o.factor_key, NULL, NULL, NULL, NULL, o.offered - coalesce(k.cited, 0),
                   o.n_interviews
            FROM _offered o LEFT JOIN _cited_sum k USING (level, project_key, factor_key)
            WHERE o.offered - coalesce(k.cited, 0) > 0
        )
        SELECT c.level, nullif(c.project_key, '') AS project_code, pr.name AS project_name,
               nullif(c.factor_key, '') AS factor_code, f.label AS factor_label, f.domain,
               c.rating_1, c.rating_2, c.mixed_1, c.mixed_2, c.units, c.n_interviews
        FROM _counts c LEFT JOIN project pr ON pr.project_code = c.project_key
             LEFT JOIN factor f ON f.factor_code = c.factor_key
        ORDER BY ALL
        """,
        {"wave": wave},
    )
