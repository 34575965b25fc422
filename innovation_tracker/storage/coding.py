"""Double coding: a second, blind coding of an interview, the consensus where the two codings disagree, and the
counts that agreement is computed from (migration 0009).

`factor_rating` holds the rating in force; `coding_rating` keeps both independent codings as they were when the
second was saved; `consensus` the agreed rating of each disagreement. Every write is one audited transaction.
Reads are scoped like every read (storage/access.py): funders and teams get counts only (no evidence, no reasons),
a team only its own projects, and a coder who has started a blind second coding gets no read of that interview's
first coding until theirs is saved.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from innovation_tracker.domain.errors import NotFound, Problem, ValidationError
from innovation_tracker.domain.model import Viewer
from innovation_tracker.storage.access import query, scoped_read
from innovation_tracker.storage.db import Connection, record_audit, write
from innovation_tracker.storage.kept import kept_by_project, only_projects
from innovation_tracker.storage.records import _check_version, _rows
from innovation_tracker.storage.study import list_factors
from innovation_tracker.storage.trajectory import project_list

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
    is saved, how many disagreements it has and how many of them are reconciled. The unsaved first, then those
    with disagreements left to reconcile, each by project, participant and wave."""
    queue = coding_queue_by_project(con, viewer)
    order = queue.assign(_saved=queue.saved_at.notna(), _settled=queue.disagreements == queue.reconciled)
    order = order.sort_values(["_saved", "_settled", "project_code", "participant_code", "position"], kind="stable")
    return queue.loc[order.index].reset_index(drop=True)


@kept_by_project(order=("project_code", "participant_code", "position"))
@scoped_read
def coding_queue_by_project(con: Connection, viewer: Viewer, only: tuple[str, ...] | None = None) -> pd.DataFrame:
    """`coding_queue` in project, participant and wave order: kept per project, so a save reads its project's
    double codings again, not the portfolio's. Of the projects `only` names, when given."""
    within, params = only_projects(only, "p.project_code", "AND")
    narrowed = (
        " WHERE interview_id IN (SELECT i.interview_id FROM interview i JOIN participant p USING (participant_code)"
        f" WHERE TRUE{within})"
        if within
        else ""
    )
    return query(
        con,
        viewer,
        f"""
        WITH _unit AS (
            -- X (mixed, stored as 0) is a code of its own: X against 0 is a disagreement
            SELECT interview_id, factor_code,
                   max(CASE WHEN mixed THEN 10 ELSE rating END) FILTER (WHERE coding = 1) AS r1,
                   max(CASE WHEN mixed THEN 10 ELSE rating END) FILTER (WHERE coding = 2) AS r2,
                   count(*) FILTER (WHERE coding = 1) AS c1,
                   count(*) FILTER (WHERE coding = 2) AS c2
            FROM coding_rating{narrowed} GROUP BY ALL
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
        WHERE s.coding = 2{within}
        ORDER BY p.project_code, i.participant_code, w.position
        """,
        params,
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


@kept_by_project(order=("project_code", "factor_code", "rating_1", "rating_2", "mixed_1", "mixed_2"))
@scoped_read
def agreement_cells(
    con: Connection, viewer: Viewer, wave: str | None = None, only: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Per project, factor and pair of codes the two saved codings gave it (rating_1, rating_2: NULL where that
    coding did not cite the factor; mixed_1, mixed_2: the rating is X, stored as 0), how many double-coded
    interviews at `wave` (every wave when None) had them, in `units`. Only the units a coding cited are read. Of
    the projects `only` names, when given: kept per project, so a save re-reads only its project."""
    within, params = only_projects(only, "p.project_code", "AND")
    return query(
        con,
        viewer,
        f"""
        WITH _pair AS (
            -- Scoped by the viewer's projects (the `project` shadow); the pseudonyms the shadowed participants
            -- would compute are not needed for counts.
            SELECT c.interview_id, p.project_code
            FROM coding c JOIN main.interview i USING (interview_id) JOIN main.participant p USING (participant_code)
            WHERE c.coding = 2 AND c.saved_at IS NOT NULL AND ($wave IS NULL OR i.wave = $wave)
              AND p.project_code IN (SELECT project_code FROM project){within}
        ), _cited AS (
            SELECT d.project_code, r.interview_id, r.factor_code,
                   max(r.rating) FILTER (WHERE r.coding = 1) AS rating_1,
                   max(r.rating) FILTER (WHERE r.coding = 2) AS rating_2,
                   bool_or(r.mixed) FILTER (WHERE r.coding = 1) AS mixed_1,
                   bool_or(r.mixed) FILTER (WHERE r.coding = 2) AS mixed_2
            FROM coding_rating r JOIN _pair d USING (interview_id) GROUP BY ALL
        )
        SELECT project_code, factor_code, rating_1, rating_2, mixed_1, mixed_2, count(*) AS units
        FROM _cited GROUP BY ALL ORDER BY ALL
        """,
        {"wave": wave, **params},
    )


@kept_by_project(order=("project_code",))
@scoped_read
def agreement_pairs(
    con: Connection, viewer: Viewer, wave: str | None = None, only: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Per project, its double-coded interviews (both codings saved) at `wave` (every wave when None), in
    `n_interviews`: a unit is a factor of one of them. Of the projects `only` names, when given."""
    within, params = only_projects(only, "p.project_code", "AND")
    return query(
        con,
        viewer,
        f"""
        SELECT p.project_code, count(*) AS n_interviews
        FROM coding c JOIN main.interview i USING (interview_id) JOIN main.participant p USING (participant_code)
        WHERE c.coding = 2 AND c.saved_at IS NOT NULL AND ($wave IS NULL OR i.wave = $wave)
          AND p.project_code IN (SELECT project_code FROM project){within}
        GROUP BY p.project_code ORDER BY p.project_code
        """,
        {"wave": wave, **params},
    )


COUNT_COLUMNS = [
    "level", "project_code", "project_name", "factor_code", "factor_label", "domain",
    "rating_1", "rating_2", "mixed_1", "mixed_2", "units", "n_interviews",
]  # fmt: skip
# A coding's code of a unit as one small integer: ratings −2…+2 as 0…4, X (mixed) 5, not cited 6; a pair of them
# as code_1 × 7 + code_2. Sums per group and pair are then counts over integer keys.
_RATING_OF = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 0.0, np.nan])
_MIXED_OF = pd.array([False, False, False, False, False, True, None], dtype="boolean")
_X, _NOT_CITED, _N_CODES = 5, 6, 7


def _code(rating: pd.Series, mixed: pd.Series) -> np.ndarray:
    value = rating.to_numpy(dtype=float, na_value=np.nan)
    x = mixed.astype("boolean").fillna(False).to_numpy(dtype=bool)
    return np.where(np.isnan(value), _NOT_CITED, np.where(x, _X, np.nan_to_num(value) + 2)).astype(np.int64)


@scoped_read
def agreement_counts(con: Connection, viewer: Viewer, wave: str | None = None) -> pd.DataFrame:
    """Agreement's raw material: per `level` (overall, project or factor), group and pair of codes (rating_1,
    rating_2; NULL where that coding did not cite the factor; mixed_1, mixed_2: that rating is X, stored as 0),
    how many units had them, and the group's double-coded interviews (`n_interviews`). A unit is a factor × a
    double-coded interview (both codings saved), at `wave` or at every wave: every factor of the codebook not
    retired, and a retired one where either coding cited it.

    Counted per project in SQL (`agreement_cells`, `agreement_pairs`: kept per project, so a save counts its
    project again, not the portfolio's 46,000 double-coded interviews at S = 1000) and summed here into the three
    levels over integer keys. The units neither coding cited are the units offered less those cited, so nothing
    ever spells out factors × interviews."""
    cells, pairs = agreement_cells(con, viewer, wave), agreement_pairs(con, viewer, wave)
    factors = list_factors(con)
    active = sorted(f.factor_code for f in factors if not f.retired)
    n_pairs = int(pairs.n_interviews.sum())
    if n_pairs == 0:
        return pd.DataFrame(columns=COUNT_COLUMNS)
    pair = _code(cells.rating_1, cells.mixed_1) * _N_CODES + _code(cells.rating_2, cells.mixed_2)
    units = cells.units.to_numpy(dtype=np.int64)
    offered = cells.factor_code.isin(active).to_numpy()
    projects = pairs.project_code.to_numpy(dtype=object)
    per_project = pairs.n_interviews.to_numpy(dtype=np.int64)
    retired = sorted(set(cells.factor_code[~offered]))
    retired_citing = cells[~offered].groupby("factor_code").units.sum().reindex(retired).to_numpy(dtype=np.int64)
    factor_keys = np.array([*active, *retired], dtype=object)
    # each group's labels as arrays beside its keys: a level takes them by position, as it takes its keys
    names = project_list(con, viewer).set_index("project_code").name.reindex(projects).to_numpy(dtype=object)
    by_code = {f.factor_code: f for f in factors}
    factor_labels = {
        "factor_label": np.array([by_code[c].label if c in by_code else None for c in factor_keys], dtype=object),
        "domain": np.array([by_code[c].domain if c in by_code else None for c in factor_keys], dtype=object),
    }
    levels = [
        _level("project", projects, _positions(cells.project_code, projects), pair, units, offered,
               per_project * len(active), per_project, {"project_name": names}),
        _level("factor", factor_keys, _positions(cells.factor_code, factor_keys), pair, units, offered,
               np.array([n_pairs] * len(active) + [0] * len(retired), dtype=np.int64),
               np.concatenate([np.full(len(active), n_pairs, dtype=np.int64), retired_citing]), factor_labels),
        _level("overall", np.array([None], dtype=object), np.zeros(len(cells), dtype=np.int64), pair, units, offered,
               np.array([n_pairs * len(active)]), np.array([n_pairs]), {}),
    ]  # fmt: skip
    counts = pd.concat(levels, ignore_index=True)
    counts = counts.astype({column: "str" for column in COUNT_COLUMNS[:6]})  # missing: NaN, as the codes
    return counts[COUNT_COLUMNS].sort_values(COUNT_COLUMNS, na_position="last", kind="stable", ignore_index=True)


_LABELS = ("project_name", "factor_label", "domain")  # of a project or a factor, by a level's own group
_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' own "str"


def _positions(values: pd.Series, keys: np.ndarray) -> np.ndarray:
    """The position of each of `values` among `keys` (-1 where absent), as `pd.Index(keys).get_indexer(values)`
    but looked up by Arrow on its own strings: 8 ms against 64 ms for 287,000 cells at S = 1000, after every save."""
    found = pc.index_in(pa.array(values, type=pa.string()), value_set=pa.array(keys, type=pa.string()))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _level(
    level: str,
    keys: np.ndarray,
    at: np.ndarray,
    pair: np.ndarray,
    units: np.ndarray,
    offered: np.ndarray,
    offered_units: np.ndarray,
    n_interviews: np.ndarray,
    labels: dict[str, np.ndarray],
) -> pd.DataFrame:
    """One level of `agreement_counts`: the units per group (`keys`; each cell's group at `at`) and pair of codes,
    and per group the units of offered factors (`offered_units`) that neither coding cited; `labels`: a column per
    label of the groups (`_LABELS`), aligned with `keys`."""
    key = at.astype(np.int64) * _N_CODES**2 + pair
    found, where = np.unique(key, return_inverse=True)
    summed = np.bincount(where, weights=units).astype(np.int64)
    group, pairs = found // _N_CODES**2, found % _N_CODES**2
    cited = np.bincount(at, weights=units * offered, minlength=len(keys)).astype(np.int64)
    rest = np.flatnonzero(offered_units - cited > 0)
    group = np.concatenate([group, rest])
    pairs = np.concatenate([pairs, np.full(len(rest), _NOT_CITED * _N_CODES + _NOT_CITED)])
    first, second = pairs // _N_CODES, pairs % _N_CODES

    def text(values: np.ndarray | None, at: np.ndarray = group) -> pd.api.extensions.ExtensionArray:
        # each row's text taken by Arrow from the groups' own: 3 ms against 24 ms through Python strings for
        # 100,000 rows (the table's six text columns were most of recounting it after a save)
        if values is None:
            return pd.array(pa.nulls(len(at), pa.string()), dtype=_TEXT)
        return pd.array(pa.array(values, type=pa.string(), from_pandas=True).take(pa.array(at)), dtype=_TEXT)

    return pd.DataFrame(
        {
            "level": text(np.array([level], dtype=object), np.zeros(len(group), dtype=np.int64)),
            "project_code": text(keys if level == "project" else None),
            "factor_code": text(keys if level == "factor" else None),
            **{column: text(labels.get(column)) for column in _LABELS},
            "rating_1": _RATING_OF[first],
            "rating_2": _RATING_OF[second],
            "mixed_1": _MIXED_OF[first],
            "mixed_2": _MIXED_OF[second],
            "units": np.concatenate([summed, (offered_units - cited)[rest]]),
            "n_interviews": n_interviews[group],
        }
    )
