"""The benchmark at S = 1 with few repetitions, end to end, so that its command cannot rot."""

from __future__ import annotations

import json

import psycopg
import pytest

from benchmarks import __main__ as benchmark
from benchmarks import pgload, portfolio
from innovation_tracker import storage
from innovation_tracker.ui import navigation
from tests.support import postgres
from tests.support.browser import chromium_or_skip


def test_a_portfolio_at_scale_s_is_the_demo_s_times_over(tmp_path):
    one = portfolio.build(tmp_path / "one.duckdb", 1)
    three = portfolio.build(tmp_path / "three.duckdb", 3)
    assert one["projects"] == 11 and one["participants"] == 65
    for table in ("projects", "participants", "interviews", "factor_ratings", "sustainability", "milestones"):
        assert three[table] == 3 * one[table], table
    con = storage.connect(tmp_path / "three.duckdb")
    assert con.execute("SELECT count(*) FROM project WHERE project_code LIKE 'ARTS%'").fetchone()[0] == 3
    con.close()


@pytest.mark.browser
def test_the_benchmark_runs_end_to_end_at_s_1(tmp_path, capsys):
    chromium_or_skip()
    args = benchmark.parse(["--scale", "1", "--repeats", "2", "--ratings", "20000", "--work", str(tmp_path / "work"),
                            "--out", str(tmp_path / "results")])  # fmt: skip
    result = benchmark.run(args, log=lambda *_: None)
    markdown, data = benchmark.write(result, args.out)
    pages = [(p["page"], p["viewer"]) for p in json.loads(data.read_text())["pages"]]
    assert pages[:-1] == [(s.title, "admin" if s.title == "Users" else "evaluator") for s in navigation.PAGES]
    assert pages[-1] == ("Portfolio overview", "team")
    for page in result["pages"]:
        assert page["warm_s"] > 0 and page["cold_s"] > 0 and page["after_write_s"] > 0
    assert result["import"]["imported"] == result["import"]["rows"] == 20_000
    assert result["import"]["insert_s"] > 0 and result["import"]["insert_ratio"] > 0
    assert result["export"]["files"] >= 7 and 0 < result["memory"]["peak_mb"] < 1536
    assert "| Portfolio overview | team |" in markdown.read_text()
    with capsys.disabled():
        print("\n" + markdown.read_text())


def test_tables_are_loaded_parents_first():
    edges = [("factor_rating", "interview"), ("interview", "participant"), ("participant", "project"),
             ("factor_rating", "factor"), ("interview", "wave")]  # fmt: skip
    order = pgload.parents_first(["factor_rating", "interview", "participant", "project", "factor", "wave"], edges)
    for child, parent in edges:
        assert order.index(parent) < order.index(child), (child, parent)
    with pytest.raises(ValueError, match="cycle among \\['a', 'b'\\]"):
        pgload.parents_first(["a", "b"], [("a", "b"), ("b", "a")])


def test_a_portfolio_is_copied_into_postgresql_row_for_row(tmp_path):
    server = postgres.server_or_skip()
    source = portfolio.cached(tmp_path, 2)
    url = pgload.create_database(server)
    try:
        loaded = pgload.load(source, url, log=lambda *_: None)
        duck, pg = storage.connect(source), storage.connect(url)
        try:
            assert storage.table_counts(pg) == storage.table_counts(duck)
            assert storage.table_counts(pg)["factor_ratings"] == 2 * 1694
            tables = [t for (t,) in duck.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'"
                                                 " AND table_name <> 'schema_migration'").fetchall()]  # fmt: skip
            total = 0
            for table in tables:
                mine = sorted(map(repr, duck.execute(f"SELECT * FROM {table}").fetchall()))
                theirs = sorted(map(repr, pg.execute(f"SELECT * FROM {table}").fetchall()))
                assert theirs == mine, table  # NULLs stay NULL, empty text stays empty, dates and JSON as they were
                total += len(mine)
            assert loaded["rows"] == total
            # The audit sequence was moved past the ids copied: the next audited write gets the next id.
            last = pg.execute("SELECT max(audit_id) FROM audit_entry").fetchone()[0]
            storage.set_indicator_values(pg, "benchmark", "ARTS", "baseline", {"outlook": "red"})
            assert pg.execute("SELECT max(audit_id) FROM audit_entry").fetchone()[0] == last + 1
        finally:
            duck.close()
            pg.close()
    finally:
        pgload.drop_database(url)


def test_the_benchmark_runs_on_both_backends_at_s_1(tmp_path, capsys):
    server = postgres.server_or_skip()
    args = benchmark.parse(["--scale", "1", "--repeats", "2", "--backend", "both", "--postgres", server,
                            "--work", str(tmp_path / "work"), "--out", str(tmp_path / "results")])  # fmt: skip
    result = benchmark.run_backends(args, log=lambda *_: None)
    markdown, data = benchmark.write_backends(result, args.out)
    assert (markdown.name, data.name) == ("s1-both.md", "s1-both.json")
    saved = json.loads(data.read_text())
    assert saved["backends"] == ["duckdb", "postgres"]
    assert saved["postgres_load"]["rows"] > 3000
    expected = [(s.title, "admin" if s.title == "Users" else "evaluator") for s in navigation.PAGES]
    expected.append(("Portfolio overview", "team"))
    for backend in ("duckdb", "postgres"):
        mine = [p for p in saved["pages"] if p["backend"] == backend]
        assert [(p["page"], p["viewer"]) for p in mine] == expected
        for page in mine:
            assert page["warm_ratio"] == pytest.approx(page["warm_s"] / page["floor_s"])
            assert page["after_write_s"] > 0 and page["cold_s"] > 0
        assert len(saved["search"][backend]) == 9
    # Both backends' searches found the same evidence (the copy is whole).
    assert [r["matches"] for r in saved["search"]["postgres"]] == [r["matches"] for r in saved["search"]["duckdb"]]
    text = markdown.read_text()
    assert "| page | viewer | DuckDB cold | warm rerun | after a write | met | PostgreSQL cold |" in text
    assert text.count("| Portfolio overview |") == 2
    # The benchmark's database was dropped from the server.
    name = saved["postgres_load"]["database"]
    assert name.startswith("bench_")
    with psycopg.connect(pgload.database_url(server, "postgres")) as admin:
        left = admin.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone()[0]
    assert left == 0
    with capsys.disabled():
        print("\n" + text)


def test_the_searches_at_their_limits_and_the_failed_log_ins_are_timed_on_both_backends(tmp_path):
    server = postgres.server_or_skip()
    common = ["--scale", "1", "--repeats", "1", "--backend", "both", "--postgres", server, "--work",
              str(tmp_path / "work"), "--out", str(tmp_path / "results")]  # fmt: skip
    benchmark.main([*common, "--search-bounds"])
    saved = json.loads((tmp_path / "results" / "search-bounds.json").read_text())
    for backend in ("duckdb", "postgres"):
        rows = saved["search"][backend]
        assert len(rows) == 3 * 11 and all(r["first_s"] > 0 and r["warm_s"] > 0 for r in rows)
        assert {r["query"] for r in rows if r["matches"] is None} == {"21 words (refused)", "2,000 words (refused)"}
        assert all(r["words"] <= 20 and r["chars"] <= 200 for r in rows if r["matches"] is not None)
    # Both backends found the same evidence (the copy is whole).
    assert [r["matches"] for r in saved["search"]["postgres"]] == [r["matches"] for r in saved["search"]["duckdb"]]
    assert (
        "| searches at the limits (20 words, 200 characters) |"
        in (tmp_path / "results" / "search-bounds.md").read_text()
    )
    benchmark.main([*common, "--login", "--attempts", "3"])
    saved = json.loads((tmp_path / "results" / "login-timing.json").read_text())
    for backend in ("duckdb", "postgres"):
        medians = saved["login"][backend]["medians_s"]
        assert list(medians) == ["unknown name", "wrong password", "locked account", "deactivated account"]
        assert all(seconds > 0 for seconds in medians.values())
    assert "| slowest ÷ fastest |" in (tmp_path / "results" / "login-timing.md").read_text()
