"""Search across the evidence: excerpts of every project (and, for those who may read them, interview summaries).

The search runs behind the viewer's shadowing CTEs like every other read, so a team finds only its own projects,
funders and teams find only shareable excerpts under pseudonyms, and summaries (which the CTEs blank for them)
are never searched on their behalf. Matching is case-insensitive and every word must occur, as written (`%` and
`_` are no wildcards). DuckDB scans the excerpts with `contains` (its full-text extension cannot be installed
offline, and a scan of 1.7 million excerpts takes milliseconds); on PostgreSQL `contains` is an escaped LIKE that
the trigram indexes made at start-up serve (storage/postgres.py, `SEARCH_INDEXES`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb
import pandas as pd

from innovation_tracker.domain.errors import Problem, ValidationError
from innovation_tracker.domain.model import Viewer, check_search, require
from innovation_tracker.storage.access import query, query_one, scoped_read
from innovation_tracker.storage.db import Connection, time_limit

RESULT_COLUMNS = [
    "source",
    "interview_id",
    "project_code",
    "participant_code",
    "role",
    "wave",
    "wave_label",
    "interview_date",
    "factor_code",
    "factor_label",
    "rating",
    "mixed",
    "text",
]


@dataclass(frozen=True)
class SearchFilters:
    """What narrows a search; an empty tuple (or None) means no narrowing."""

    factors: tuple[str, ...] = ()
    waves: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    # "facilitator" (rating > 0), "barrier" (rating < 0), "neutral" (0) or "mixed" (X), the last two where the
    # codebook declares them
    sign: str | None = None
    summaries: bool = True  # search interview summaries too (only where the viewer may read them)


@dataclass(frozen=True)
class SearchPage:
    total: int
    rows: pd.DataFrame


def search_words(text: str) -> tuple[str, ...]:
    """The distinct lower-case words of a query, in order; quotes group words into one phrase."""
    words: list[str] = []
    for n, part in enumerate(text.split('"')):
        pieces = [part.strip()] if n % 2 else part.split()
        words += [p.lower() for p in pieces if p.strip() and p.lower() not in words]
    return tuple(words)


# A word holding three letters or digits in a row gives a trigram that PostgreSQL's index finds it by.
INDEXED_WORD = re.compile(r"[^\W_]{3}")


def _texts(table: str, column: str, words: tuple[str, ...], params: dict) -> str:
    """The rows of `table` whose text `column` contains every one of `words` (lower case), as a subquery.

    The words a trigram serves are tested as `contains(lower(column), word)`, the form PostgreSQL's indexes answer.
    The others ("a", "gp", "--") are tested after them, on the text lowered once: tested the same way, each was
    answered through the index by every row, and every text was lowered again for each word, so 20 one-letter
    words took 6 s at S = 1000. `OFFSET 0` keeps PostgreSQL from moving their test back down into the scan."""
    indexed: list[int] = []
    other: list[int] = []
    for n, word in enumerate(words):
        params[f"w{n}"] = word
        (indexed if INDEXED_WORD.search(word) else other).append(n)
    found = " ".join(f"AND contains(lower(x.{column}), $w{n})" for n in indexed)
    rows = f"SELECT x.* FROM {table} x WHERE x.{column} IS NOT NULL AND x.{column} <> '' {found}"
    if not other:
        return rows
    tests = " AND ".join(f"contains(t.low, $w{n})" for n in other)
    return f"SELECT t.* FROM (SELECT x.*, lower(x.{column}) AS low FROM ({rows}) x OFFSET 0) t WHERE {tests}"


def _conditions(filters: SearchFilters, params: dict) -> tuple[list[str], list[str]]:
    """The search's conditions on a row `h` besides its words (`_texts`): those on the rating itself (factor,
    sign), and those on its interview and participant (wave, project, role)."""
    on_rating: list[str] = []
    on_interview: list[str] = []
    for column, chosen, where in (
        ("factor_code", filters.factors, on_rating),
        ("wave", filters.waves, on_interview),
        ("project_code", filters.projects, on_interview),
        ("role", filters.roles, on_interview),
    ):
        if chosen:
            params[column] = list(chosen)
            where.append(f"list_contains(${column}::VARCHAR[], h.{column})")
    if filters.sign == "facilitator":
        on_rating.append("h.rating > 0")
    elif filters.sign == "barrier":
        on_rating.append("h.rating < 0")
    elif filters.sign == "neutral":
        on_rating.append("h.rating = 0 AND NOT h.mixed")
    elif filters.sign == "mixed":
        on_rating.append("h.mixed")
    elif filters.sign is not None:
        raise ValueError(f"unknown rating sign {filters.sign!r}: use facilitator, barrier, neutral or mixed")
    return on_rating, on_interview


# The longest a search may run: past it, it is refused and asks for more words or a filter. A word that most of a
# large study holds ("the" among 1.7 million excerpts) took 1-2 s on PostgreSQL, and held a pooled connection.
SEARCH_SECONDS = 0.8
TOO_BROAD = (
    "This search matches too much of the study to answer in time: add a word, put a phrase in quotes, or narrow it"
    " by factor, wave, project or role."
)


@scoped_read
def search_evidence(
    con: Connection,
    viewer: Viewer,
    text: str,
    filters: SearchFilters = SearchFilters(),
    limit: int = 20,
    offset: int = 0,
) -> SearchPage:
    """One page of the excerpts (and summaries) that contain every word of `text`, newest interview first, with
    the number of matches in all. An empty query matches nothing. A query longer than a search takes
    (`domain.check_search`: 200 characters, 20 words) is refused with a `ValidationError` before any SQL is made:
    each word is one more test of every excerpt, and thousands of them held a connection for minutes. A search
    still running after `SEARCH_SECONDS` is cancelled and refused the same way (`storage.time_limit`)."""
    require(check_search(text))
    try:
        with time_limit(con, SEARCH_SECONDS):
            return _search(con, viewer, text, filters, limit, offset)
    except duckdb.InterruptException as cancelled:
        raise ValidationError(Problem("search_too_broad", TOO_BROAD, field="text")) from cancelled


def _search(con: Connection, viewer: Viewer, text: str, filters: SearchFilters, limit: int, offset: int) -> SearchPage:
    words = search_words(text)
    if not words:
        return SearchPage(0, pd.DataFrame(columns=RESULT_COLUMNS))
    if viewer.identified or filters.roles:
        return _search_page(con, viewer, words, filters, limit, offset)
    # De-identified viewers: pseudonyms cost a pass over every participant and interview of the projects they are
    # built for. So first find, without them, how many excerpts match and which projects the page's rows belong
    # to (the page's order starts with the interview date and the project), then build the page within those
    # projects only. A pseudonym depends only on its own project, so the page is the same. (A role filter needs
    # the pooled roles of every project, so it takes the one-step way.)
    params: dict = {"rows": limit + offset}
    on_rating, on_interview = _conditions(filters, params)
    total, projects = query_one(
        con,
        viewer,
        f"""
        WITH r AS MATERIALIZED (
            SELECT h.interview_id FROM (SELECT interview_id, factor_code, rating, mixed
                                        FROM ({_texts("factor_rating", "evidence", words, params)}) e) h
            WHERE {" AND ".join(on_rating or ["TRUE"])}
        ),
        k AS MATERIALIZED (SELECT * FROM interview_key WHERE interview_id IN (SELECT interview_id FROM r)),
        found AS (SELECT h.* FROM (SELECT k.project_code, k.wave, k.interview_date FROM r JOIN k USING (interview_id)) h
                  WHERE {" AND ".join(on_interview or ["TRUE"])})
        SELECT (SELECT count(*) FROM found),
               (SELECT list(DISTINCT project_code) FROM
                   (SELECT project_code FROM found ORDER BY interview_date DESC, project_code LIMIT $rows) page)
        """,
        params,
    ) or (0, None)
    if not projects:
        return SearchPage(int(total), pd.DataFrame(columns=RESULT_COLUMNS))
    return SearchPage(int(total), _search_page(con, viewer, words, filters, limit, offset, within=projects).rows)


def _search_page(
    con: Connection,
    viewer: Viewer,
    words: tuple[str, ...],
    filters: SearchFilters,
    limit: int,
    offset: int,
    within: list[str] | None = None,
) -> SearchPage:
    """The page in one step, behind the viewer's shadows (narrowed to the projects `within`, if given)."""
    params: dict = {"limit": limit, "offset": offset}
    where = " AND ".join(sum(_conditions(filters, params), []) or ["TRUE"])
    summaries = viewer.identified and filters.summaries and not (filters.factors or filters.sign)
    summary_part = (
        f"""
        UNION ALL
        SELECT 'summary', i.interview_id, p.project_code, i.participant_code, p.role, i.wave, i.interview_date,
               NULL, NULL, NULL, i.summary
        FROM ({_texts("interview", "summary", words, params)}) i JOIN participant p USING (participant_code)"""
        if summaries
        else ""
    )
    found = f"""
        WITH h AS (
            SELECT 'excerpt' AS source, r.interview_id, p.project_code, i.participant_code, p.role, i.wave,
                   i.interview_date, r.factor_code, r.rating, r.mixed, r.evidence AS text
            FROM ({_texts("factor_rating", "evidence", words, params)}) r JOIN interview i USING (interview_id)
                 JOIN participant p USING (participant_code){summary_part}
        ),
        found AS (SELECT h.* FROM h WHERE {where})
    """
    # The page's rows are chosen first, ordered by the factor's place in the codebook (one list, read once), and
    # only those 20 are joined to their wave's and factor's labels: PostgreSQL expects a handful of matches for a
    # common phrase (its estimate for a trigram LIKE), and joined all 19,000 to the factors by a nested loop.
    rows = query(
        con,
        viewer,
        found
        + """,
        codebook AS (SELECT array_agg(factor_code ORDER BY position) AS codes FROM factor),
        page AS (
            SELECT f.*, array_position((SELECT codes FROM codebook), f.factor_code) AS factor_position,
                   count(*) OVER () AS total
            FROM found f
            ORDER BY f.interview_date DESC, f.project_code, f.participant_code, f.source, factor_position
            LIMIT $limit OFFSET $offset
        )
        SELECT p.source, p.interview_id, p.project_code, p.participant_code, p.role, p.wave, w.label AS wave_label,
               p.interview_date, p.factor_code, fa.label AS factor_label, p.rating, p.mixed, p.text, p.total
        FROM page p JOIN wave w USING (wave) LEFT JOIN factor fa USING (factor_code)
        ORDER BY p.interview_date DESC, p.project_code, p.participant_code, p.source, p.factor_position
        """,
        params,
        within,
    )
    if len(rows):
        total = int(rows.total.iloc[0])
    elif offset == 0:
        total = 0
    else:  # a page past the last match has no row to carry the total: count apart (only then)
        counted = {k: v for k, v in params.items() if k not in ("limit", "offset")}
        total = int(query(con, viewer, found + " SELECT count(*) AS n FROM found", counted, within).n.iloc[0])
    return SearchPage(total, rows[RESULT_COLUMNS].reset_index(drop=True))
