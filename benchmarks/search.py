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
from innovation_tracker.domain import AccountRole, Viewer

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
