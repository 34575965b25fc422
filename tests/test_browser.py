"""Journeys in a real browser: Debian's Chromium, through Playwright, against `streamlit run`."""

import re

import pytest

from innovation_tracker import storage
from tests.browser import CHROMIUM_ARGS, SCREENSHOTS, Server, chromium_or_skip
from tests.conftest import DEMO_TODAY, EVALUATOR

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def server(seeded_path, tmp_path):
    con = storage.connect(seeded_path)
    expected = storage.headline_counts(con, EVALUATOR, DEMO_TODAY)
    con.close()
    server = Server(seeded_path, DEMO_TODAY.isoformat(), tmp_path / "streamlit.log")
    server.expected = expected
    yield server
    server.stop()


def metric_value(page, label):
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label)
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def test_the_overview_shows_the_databases_counts(browser, server):
    page = browser.new_page(viewport={"width": 1400, "height": 2200})
    page.goto(server.url, wait_until="domcontentloaded")
    page.get_by_role("heading", name="Portfolio overview").wait_for(timeout=30_000)
    page.locator('[data-testid="stMetric"]').first.wait_for(timeout=30_000)
    page.locator(".js-plotly-plot").nth(1).wait_for(timeout=30_000)
    expected = server.expected
    assert metric_value(page, "Projects") == str(expected["projects"]) == "11"
    assert metric_value(page, "Participants") == str(expected["participants"]) == "65"
    done, scheduled = expected["interviews_done"], expected["interviews_scheduled"]
    assert metric_value(page, "Interviews done") == f"{done} / {scheduled}"
    assert metric_value(page, "Follow-ups overdue") == str(expected["overdue"])
    assert page.get_by_text(re.compile("Demo data")).count() >= 1
    assert page.locator('[data-testid="stException"]').count() == 0, server.output()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "overview.png"), full_page=True)
    page.close()
