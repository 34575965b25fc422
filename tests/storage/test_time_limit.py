"""A read past its time limit is cancelled, and the search turns that into a refusal a person can act on, so no
search holds a pooled PostgreSQL connection for seconds. DuckDB answers every search in a fraction of the limit
(benchmarks/results/search-bounds.md), so there the limit changes nothing."""

import duckdb
import pytest

from innovation_tracker import storage
from innovation_tracker.domain.errors import ValidationError
from innovation_tracker.storage import search
from tests.conftest import EVALUATOR


def on_postgres(con) -> bool:
    return getattr(con, "time_limit", None) is not None


def test_a_statement_past_its_time_limit_is_cancelled_and_the_connection_stays_usable(db):
    if not on_postgres(db):
        with storage.time_limit(db, 0.05):
            assert db.execute("SELECT 41 + 1").fetchone() == (42,)  # nothing to cancel on DuckDB
        return
    with pytest.raises(duckdb.InterruptException), storage.time_limit(db, 0.05):
        db.execute("SELECT pg_sleep(2)")
    assert db.execute("SELECT 41 + 1").fetchone() == (42,)
    assert db.execute("SELECT current_setting('statement_timeout')").fetchone() == ("0",)


def test_a_search_still_running_at_its_limit_is_refused_with_what_to_do(seeded, monkeypatch):
    if not on_postgres(seeded):
        pytest.skip("DuckDB answers every search well within the limit; there is nothing to cancel")

    def slow(con, *args):
        con.execute("SELECT pg_sleep(2)")
        raise AssertionError("the search should have been cancelled")

    monkeypatch.setattr(search, "SEARCH_SECONDS", 0.05)
    monkeypatch.setattr(search, "_search", slow)
    with pytest.raises(ValidationError) as refused:
        storage.search_evidence(seeded, EVALUATOR, "the")
    assert [(p.rule, p.message) for p in refused.value.problems] == [("search_too_broad", search.TOO_BROAD)]
    assert "add a word" in search.TOO_BROAD


def test_a_search_within_its_limit_answers_as_before(seeded):
    page = storage.search_evidence(seeded, EVALUATOR, "phone")
    assert page.total > 0 and len(page.rows) == min(page.total, 20)
