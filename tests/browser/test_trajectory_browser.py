"""Deep links and trajectories in a real browser (Chromium through Playwright against `streamlit run`)."""

import shutil

import pytest

from innovation_tracker import storage
from innovation_tracker.app import accounts
from tests.conftest import DEMO_TODAY, EVALUATOR
from tests.support.browser import SCREENSHOTS, Server, heatmap_cells, login

pytestmark = pytest.mark.browser


def start_server(demo_file, folder):
    shutil.copy(demo_file, folder / "demo.duckdb")
    return Server(folder / "demo.duckdb", DEMO_TODAY.isoformat(), folder / "streamlit.log")


@pytest.fixture(scope="module")
def server(demo_file, tmp_path_factory):
    server = start_server(demo_file, tmp_path_factory.mktemp("trajectory_server"))
    yield server
    server.stop()


def open_as(browser, server, path, username="demo-evaluator"):
    page = browser.new_page(viewport={"width": 1400, "height": 3000})
    page.goto(f"{server.url}/{path}", wait_until="domcontentloaded")
    login(page, username, accounts.DEMO_PASSWORD)
    return page


def test_a_deep_link_on_a_fresh_server_goes_through_the_login_and_lands_on_the_page(browser, demo_file, tmp_path):
    server = start_server(demo_file, tmp_path)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.goto(f"{server.url}/timeline?project=CARE", wait_until="domcontentloaded")
        page.get_by_role("textbox", name="Username").wait_for(timeout=30_000)
        body = page.locator("body").inner_text()
        assert "Carers Connect" not in body and "CARE-0" not in body
        login(page, "demo-evaluator", accounts.DEMO_PASSWORD)
        page.get_by_role("heading", name="Project timeline").wait_for(timeout=30_000)
        assert "project=CARE" in page.url
        assert page.locator('[data-testid="stException"]').count() == 0, server.output()
        page.close()
    finally:
        server.stop()


def test_a_deep_link_opens_the_projects_timeline_with_one_heat_map_row_per_factor(browser, server, demo_file):
    con = storage.connect(demo_file)
    cited = storage.factor_stats(con, EVALUATOR, "CARE").factor_code.nunique()
    con.close()
    page = open_as(browser, server, "timeline?project=CARE")
    page.get_by_role("heading", name="Project timeline").wait_for(timeout=30_000)
    page.get_by_role("heading", name="What changed").wait_for(timeout=30_000)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 4", timeout=30_000)
    cells = heatmap_cells(page)
    assert cells is not None and len(cells["factors"]) == cited > 0
    assert cells["waves"][0] == "Baseline"
    assert "project=CARE" in page.url
    assert page.locator('[data-testid="stException"]').count() == 0, server.output()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "timeline.png"), full_page=True)
    page.close()


def test_compare_shows_the_papers_citation_counts(browser, server, demo_file):
    con = storage.connect(demo_file)
    expected = {label: paper for label, paper in con.execute("SELECT label, paper_projects FROM factor").fetchall()}
    con.close()
    page = open_as(browser, server, "compare")
    page.get_by_role("heading", name="How many projects cite each factor").wait_for(timeout=30_000)
    table = page.locator('[data-testid="stTable"] table')
    table.wait_for(timeout=30_000)
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    rows = [[c.strip() for c in row.locator("td, th").all_inner_texts()] for row in table.locator("tbody tr").all()]
    assert len(rows) == 47
    at = {name: headers.index(name) for name in ("Factor", "Projects citing", "Projects in the paper (of 11)")}
    for row in rows:
        paper = expected[row[at["Factor"]]]
        if paper is not None:
            assert row[at["Projects citing"]] == row[at["Projects in the paper (of 11)"]] == str(paper)
    assert page.locator('[data-testid="stException"]').count() == 0, server.output()
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 2", timeout=30_000)
    page.screenshot(path=str(SCREENSHOTS / "compare.png"), full_page=True)
    page.close()


def test_a_team_editing_the_url_sees_nothing_of_another_project(browser, server):
    page = open_as(browser, server, "timeline?project=PEER", username="demo-team-arts")
    page.get_by_text(
        "The link's project parameter (“PEER”) is not valid: it takes the code of a project you can see."
    ).wait_for(timeout=30_000)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 1", timeout=30_000)
    # Its own project is shown: the schedule chart draws a row per participant (drawn after the chart appears).
    page.get_by_text("ARTS · Service user A").first.wait_for(timeout=30_000)
    body = page.locator("body").inner_text()
    assert "Peer Support on the Wards" not in body
    assert "PEER-0" not in body
    page.close()
