"""The double-coding journey in a real browser: a second coder codes an interview blind, the Agreement page shows
the figures with it, a disagreement is reconciled, and the project's timeline shows the consensus."""

import shutil

import pytest

from innovation_tracker import storage
from innovation_tracker.app import accounts
from innovation_tracker.domain.model import AccountRole, Viewer
from tests.conftest import DEMO_TODAY
from tests.support.browser import SCREENSHOTS, Server, heatmap_cells, login

pytestmark = pytest.mark.browser

EVALUATOR = Viewer("demo-evaluator", AccountRole.EVALUATOR)


def plan(con):
    """The interview the page proposes first (ARTS), a facilitator ARTS cites elsewhere but its first coding did not,
    and that factor's ratings at the interview's wave before the consensus."""
    candidate = storage.second_coding_candidates(con, EVALUATOR, "ARTS").iloc[0]
    interview_id = int(candidate.interview_id)
    first = {
        r[0]
        for r in con.execute("SELECT factor_code FROM factor_rating WHERE interview_id = ?", [interview_id]).fetchall()
    }
    stats = storage.factor_stats(con, EVALUATOR, "ARTS")
    factors = {f.factor_code: f for f in storage.list_factors(con)}
    at_wave = stats[stats.wave == candidate.wave]
    extra = next(
        c
        for c in stats.factor_code.unique()
        if factors[c].kind == "facilitator" and c not in first and c in set(at_wave.factor_code)
    )
    row = at_wave[at_wave.factor_code == extra].iloc[0]
    return candidate, factors[extra], int(row.n), int(row.positive_sum + row.negative_sum)


def choose(page, label: str, option: str) -> None:
    page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first.click()
    page.get_by_role("option", name=option, exact=True).click()


def test_code_blind_see_agreement_reconcile_and_the_timeline_shows_the_consensus(browser, demo_file, tmp_path):
    shutil.copy(demo_file, tmp_path / "demo.duckdb")
    con = storage.connect(tmp_path / "demo.duckdb")
    candidate, factor, n_before, sum_before = plan(con)
    con.close()
    server = Server(tmp_path / "demo.duckdb", DEMO_TODAY.isoformat(), tmp_path / "streamlit.log")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        page.goto(f"{server.url}/agreement", wait_until="domcontentloaded")
        login(page, "demo-evaluator", accounts.DEMO_PASSWORD)
        page.get_by_text("Double-coded interviews", exact=True).wait_for(timeout=30_000)
        assert page.locator('[data-testid="stMetricValue"]').first.inner_text() == "46"
        page.get_by_role("link", name="Double coding", exact=True).click()
        page.get_by_role("button", name="Start blind coding").click()
        page.get_by_text("You are coding blind").wait_for(timeout=30_000)
        page.locator('[data-testid="stMultiSelect"]').first.click()
        page.keyboard.type(factor.label)
        page.keyboard.press("Enter")
        page.keyboard.press("Escape")
        choose(page, "Rating", "+1")
        page.get_by_role("button", name="Save my coding").click()
        page.get_by_text("Saved your blind coding").wait_for(timeout=30_000)

        page.goto(f"{server.url}/agreement", wait_until="domcontentloaded")
        page.get_by_text("Double-coded interviews", exact=True).wait_for(timeout=30_000)
        assert page.locator('[data-testid="stMetricValue"]').first.inner_text() == "47"

        page.goto(f"{server.url}/double-coding?interview={int(candidate.interview_id)}", wait_until="domcontentloaded")
        page.get_by_role("button", name="Save the consensus").wait_for(timeout=30_000)
        choose(page, f"Agreed rating of {factor.label}", "+1")
        reason = page.get_by_role("textbox", name=f"Why, for {factor.label}")
        reason.fill("Both coders heard it once the recording was replayed")
        reason.press("Tab")
        page.get_by_role("button", name="Save the consensus").click()
        page.get_by_text("Consensus: +1, by demo-evaluator").wait_for(timeout=30_000)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "double_coding_reconciled.png"), full_page=True)

        page.goto(f"{server.url}/timeline?project=ARTS", wait_until="domcontentloaded")
        page.get_by_role("heading", name="Project timeline").wait_for(timeout=30_000)
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 4", timeout=60_000)
        cells = heatmap_cells(page)
        row = next(n for n, label in enumerate(cells["factors"]) if factor.label in label)
        column = next(n for n, label in enumerate(cells["waves"]) if label.startswith(candidate.wave_label))
        assert cells["z"][row][column] == pytest.approx((sum_before + 1) / (n_before + 1), abs=1e-9)
        assert page.locator('[data-testid="stException"]').count() == 0, server.output()
    finally:
        server.stop()
