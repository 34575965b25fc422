"""The benchmark at S = 1 with few repetitions, end to end, so that its command cannot rot."""

from __future__ import annotations

import json

import pytest

from benchmarks import __main__ as benchmark
from benchmarks import portfolio
from innovation_tracker import storage
from innovation_tracker.ui import navigation
from tests.browser import chromium_or_skip


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
