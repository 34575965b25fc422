"""Search across the evidence at scale: the first page of results, straight from storage (no kept results), for an
evaluator (every excerpt and summary), a funder (shareable excerpts under pseudonyms) and a team (one project).

"Warm" means the database has answered the same search once before (its pages are in memory); the page itself
would keep the result until the next write (`ui.shared`), so a repeated search costs nothing there.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from innovation_tracker import storage
from innovation_tracker.domain.errors import ValidationError
from innovation_tracker.domain.model import (
    SEARCH_MAX_CHARS,
    SEARCH_MAX_WORDS,
    AccountRole,
    Viewer,
    search_word_count,
)

QUERIES = {"common (every month)": "every month", "rare (money)": "money", "no match": "zebra crossing"}
VIEWERS = {
    "evaluator": Viewer("bench-evaluator", AccountRole.EVALUATOR),
    "funder": Viewer("bench-funder", AccountRole.FUNDER),
    "team": Viewer("bench-team", AccountRole.TEAM, frozenset({"CARE"})),
}
TARGET_S = 0.3


def time_search(db: Path, repeats: int = 5) -> list[dict]:
    con = storage.connect(db)
    try:
        rows = []
        for who, viewer in VIEWERS.items():
            for what, text in QUERIES.items():
                found = storage.search_evidence(con, viewer, text)  # warms the database's pages
                times = []
                for _ in range(repeats):
                    started = time.perf_counter()
                    storage.search_evidence(con, viewer, text)
                    times.append(time.perf_counter() - started)
                rows.append({"viewer": who, "query": what, "matches": found.total, "warm_s": statistics.median(times)})
        return rows
    finally:
        con.close()


def markdown_rows(rows: list[dict]) -> list[str]:
    lines = ["", "| search, first page of 20 | viewer | matches | warm (s) | < 0.3 s |", "|---|---|---:|---:|:---:|"]
    for row in rows:
        ok = "✓" if row["warm_s"] < TARGET_S else "✗"
        lines.append(f"| {row['query']} | {row['viewer']} | {row['matches']:,} | {row['warm_s']:.3f} | {ok} |")
    return lines


# Searches at the limits (domain.check_search): the longest a search may be, and each a worst case of its own kind.
BOUNDS_TARGET_S = 1.0


def _words_of(texts: list[str]) -> list[list[str]]:
    return [list(dict.fromkeys(w.strip('.,;:!?“”"()').lower() for w in text.split())) for text in texts]


def _fit(words: list[str], chars: int = SEARCH_MAX_CHARS, count: int = SEARCH_MAX_WORDS) -> str:
    """As many of `words` (in order) as fit in one search: at most `count` words and `chars` characters."""
    chosen: list[str] = []
    for word in words:
        if word and len(chosen) < count and len(" ".join([*chosen, word])) <= chars:
            chosen.append(word)
    return " ".join(chosen)


def bound_queries(con: storage.Connection) -> dict[str, str]:
    """The searches at the limits, made from the study's own excerpts (the portfolio is the demo copied S times):
    - the (up to 20) longest words of the longest excerpt or summary: every word matches that text, so every test
      runs on every row that holds it;
    - the 20 longest words that occur most often, which no single excerpt holds together: each word's test runs on
      the many rows the words before it left;
    - 20 one-letter words, and 20 two-letter words: each matches nearly every text, and no trigram serves them;
    - the 20 most common three-letter words: each is a single trigram, found in many texts;
    - a quoted phrase of 20 words and 200 characters that matches nothing: one long test of every row;
    - 20 long words that occur nowhere: 20 tests of every row, whatever a database makes of them."""
    texts = _texts(con)
    longest = max(_words_of(list(texts)), key=lambda words: len(" ".join(words)))
    counts = _word_counts(texts)
    common = sorted((w for w in counts if len(w) >= 5), key=lambda w: (-counts[w], -len(w), w))
    three = sorted((w for w in counts if len(w) == 3 and w.isalpha()), key=lambda w: (-counts[w], w))
    nowhere = [f"zq{n:02d}" + "x" * 5 for n in range(SEARCH_MAX_WORDS)]
    return {
        "words of the longest text": _fit(sorted(longest, key=len, reverse=True)),
        "20 common long words": _fit(common),
        "20 one-letter words": " ".join("etaoinsrhldcumfpgwyb"),
        "20 two-letter words": "an in on it is at to of or be he we me my no so up us do go",
        "20 common three-letter words": _fit(three),
        "a phrase of 20 words, 200 characters": '"'
        + " ".join([f"phrase{n:03d}" for n in range(19)] + ["phrase19"])
        + '"',
        "20 long words found nowhere": _fit(nowhere),
    }


TEXTS_SQL = (
    "SELECT evidence, count(*) FROM factor_rating WHERE evidence IS NOT NULL AND evidence <> '' GROUP BY evidence"
    " UNION ALL SELECT summary, count(*) FROM interview WHERE summary IS NOT NULL AND summary <> '' GROUP BY summary"
)


def _texts(con: storage.Connection) -> dict[str, int]:
    """Every distinct excerpt and summary, with how many rows hold it."""
    found: dict[str, int] = {}
    for text, rows in con.execute(TEXTS_SQL).fetchall():
        found[text] = found.get(text, 0) + int(rows)
    return found


def _word_counts(texts: dict[str, int]) -> dict[str, int]:
    """How many rows hold each word."""
    counts: dict[str, int] = {}
    for words, rows in zip(_words_of(list(texts)), texts.values(), strict=True):
        for word in words:
            counts[word] = counts.get(word, 0) + rows
    return counts


REFUSED = {"21 words (refused)": " ".join(f"w{n}" for n in range(SEARCH_MAX_WORDS + 1)), "2,000 words (refused)":
           " ".join(f"w{n}" for n in range(2_000))}  # fmt: skip


def common_queries(con: storage.Connection) -> dict[str, str]:
    """Short searches that match most of the study: their cost is the number of matches, not their length."""
    counts = _word_counts(_texts(con))
    three = sorted((w for w in counts if len(w) == 3 and w.isalpha()), key=lambda w: (-counts[w], w))
    return {"the commonest three-letter word": three[0], "one common letter": "e"}


def time_bounds(target, repeats: int = 5) -> list[dict]:
    """Each search at the limits, for each viewer: the first answer (the query never asked before) and the median
    of `repeats` more; and the refusals of longer searches, which run no SQL."""
    con = storage.connect(target)
    try:
        rows = []
        queries = bound_queries(con)
        common = common_queries(con)
        for who, viewer in VIEWERS.items():
            for what, text in {**queries, **REFUSED, **common}.items():
                assert len(text) <= SEARCH_MAX_CHARS or what in REFUSED, (what, len(text))
                times, found, too_broad = [], None, False
                for _ in range(repeats + 1):
                    started = time.perf_counter()
                    try:
                        found = storage.search_evidence(con, viewer, text).total
                    except ValidationError as refused:
                        found = None
                        too_broad = too_broad or refused.problems[0].rule == "search_too_broad"
                    times.append(time.perf_counter() - started)
                rows.append(
                    {
                        "viewer": who,
                        "query": what,
                        "kind": "limit" if what in queries else "refused" if what in REFUSED else "common",
                        "words": search_word_count(text),
                        "chars": len(text),
                        "matches": found,
                        "too_broad": too_broad,  # cancelled at its time limit (storage.search.SEARCH_SECONDS)
                        "first_s": times[0],
                        "warm_s": statistics.median(times[1:]),
                    }
                )
        return rows
    finally:
        con.close()


def bounds_markdown(result: dict) -> str:
    names, counts = result["backends"], result["counts"]
    title = {"duckdb": "DuckDB", "postgres": "PostgreSQL"}
    lines = [
        f"# Searches at their limits, S = {result['scale']}",
        "",
        f"{result['when']} · {result['machine']} · {counts['projects']:,} projects, {counts['interviews']:,}"
        f" interviews, {counts['factor_ratings']:,} ratings · `python -m benchmarks --scale {result['scale']}"
        f" --search-bounds --backend {result['backend_arg']}`",
        "",
        f"A search takes at most {SEARCH_MAX_WORDS} words and {SEARCH_MAX_CHARS} characters"
        " (`domain.check_search`); a longer one is refused before any SQL. First page of 20, straight from storage"
        " (the page keeps a result until the next write). *First*: the query never asked before in this process;"
        f" *warm*: the median of {result['repeats']} more. Target: every search answers, with results or a refusal,"
        f" within {BOUNDS_TARGET_S:.0f} s. *Too broad*: still running at the search's time limit, so cancelled and"
        " refused with what to do (`storage.search.SEARCH_SECONDS`); *matches* are the first backend's.",
        "",
    ]
    head = "| search | viewer | words | chars | matches |"
    rule = "|---|---|---:|---:|---:|"
    for b in names:
        head += f" {title[b]} first | warm |"
        rule += "---:|---:|"
    lines += [head, rule]
    first = result["search"][names[0]]
    for n, row in enumerate(first):
        matches = "refused" if row["matches"] is None else f"{row['matches']:,}"
        cells = "".join(
            f" {result['search'][b][n]['first_s']:.3f} s | {result['search'][b][n]['warm_s']:.3f} s"
            f"{' (too broad)' if result['search'][b][n].get('too_broad') else ''} |"
            for b in names
        )
        lines.append(f"| {row['query']} | {row['viewer']} | {row['words']:,} | {row['chars']:,} | {matches} |{cells}")
    lines += ["", "| slowest answer (first or warm) | " + " | ".join(title[b] for b in names) + " |"]
    lines.append("|---|" + "---:|" * len(names))
    for kind, label in (
        ("limit", "searches at the limits (20 words, 200 characters)"),
        ("refused", "searches past the limits (refused)"),
        ("common", "one common word or letter"),
    ):
        cells = []
        for b in names:
            mine = [r for r in result["search"][b] if r.get("kind") == kind]
            worst = max(mine, key=lambda r: max(r["first_s"], r["warm_s"]))
            seconds = max(worst["first_s"], worst["warm_s"])
            ok = "✓" if seconds < BOUNDS_TARGET_S else "✗"
            cells.append(f"{seconds:.3f} s ({worst['query']}, {worst['viewer']}) {ok}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)
