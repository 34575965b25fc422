"""Search across the evidence, as the Search page shows it: one page of results, each as safe HTML with the words
found highlighted, and where it leads (the project's timeline; for editors, the interview itself).

Built from `storage.search_evidence`, which is scoped to the viewer; `ui.shared` keeps a built page until the next
write. Text typed by users is HTML-escaped (`escape_html`) before the highlights are put in, so an excerpt can never
become markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from innovation_tracker import storage
from innovation_tracker.domain.escape import escape_html
from innovation_tracker.domain.model import RATING_LABELS, Viewer, label_of, rating_text, rating_value
from innovation_tracker.storage import SearchFilters

RESULTS_PER_PAGE = 20


@dataclass(frozen=True)
class Result:
    html: str
    project_code: str
    participant_code: str
    wave: str
    source: str


@dataclass(frozen=True)
class ResultsPage:
    words: tuple[str, ...]
    total: int
    page: int
    pages: int
    results: tuple[Result, ...]


def highlight(text: str, words: tuple[str, ...]) -> str:
    """`text` HTML-escaped, with every occurrence of any of `words` (any case) in <mark>."""
    if not words:
        return escape_html(text)
    pattern = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.IGNORECASE)
    out, end = [], 0
    for match in pattern.finditer(text):
        out += [escape_html(text[end : match.start()]), f"<mark>{escape_html(match.group())}</mark>"]
        end = match.end()
    out.append(escape_html(text[end:]))
    return "".join(out)


def _date(value) -> str:
    return f"{value.day} {value:%b %Y}" if value is not None and value == value else "—"


def _result_html(row, words: tuple[str, ...]) -> str:
    prefix = f"{row.project_code} · "
    who = str(row.participant_code)
    # A pseudonym ("EMPL · Service user A") already names the project and the role; a code does not.
    people = [who.removeprefix(prefix)] if who.startswith(prefix) else [who, label_of(row.role)]
    where = " · ".join(escape_html(part) for part in (*people, str(row.wave_label), _date(row.interview_date)))
    if row.source == "summary":
        what = "Interview summary"
    else:
        rating = rating_value(int(row.rating), bool(row.mixed))
        what = f"{escape_html(str(row.factor_label))} · {rating_text(rating)} {RATING_LABELS[rating]}"
    return (
        f"<div><strong>{escape_html(row.project_code)}</strong> · {where}<br><em>{what}</em></div>"
        f'<blockquote style="margin:0.3rem 0 0 0">{highlight(str(row.text), words)}</blockquote>'
    )


def results_page(con: storage.Connection, viewer: Viewer, text: str, filters: SearchFilters, page: int) -> ResultsPage:
    """Page `page` (from 1) of what `text` finds under `filters`, ready to draw."""
    words = storage.search_words(text)
    found = storage.search_evidence(
        con, viewer, text, filters, limit=RESULTS_PER_PAGE, offset=(max(page, 1) - 1) * RESULTS_PER_PAGE
    )
    results = tuple(
        Result(_result_html(row, words), row.project_code, row.participant_code, row.wave, row.source)
        for row in found.rows.itertuples()
    )
    pages = max(1, -(-found.total // RESULTS_PER_PAGE))
    return ResultsPage(words, found.total, page, pages, results)
