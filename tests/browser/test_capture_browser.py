"""Fieldwork in a real browser: log a 6-month follow-up that is overdue, and see it leave the fieldwork list.

The setup deletes EMPL-02's (missed) 6-month record from a copy of the demo, so that follow-up is overdue.
"""

import re
import time

import pytest

from innovation_tracker import storage
from innovation_tracker.app import accounts
from tests.conftest import DEMO_TODAY
from tests.support.browser import CHROMIUM_ARGS, SCREENSHOTS, Server, chromium_or_skip, heatmap_cells, login

pytestmark = pytest.mark.browser
PAGES = {
    "Log an interview": "log_interview",
    "Sustainability": "sustainability",
    "Milestones": "milestones",
    "Fieldwork": "fieldwork",
    "Projects and participants": "manage",
    "Data quality": "data_quality",
    "Audit log": "audit",
}


NEW_FACTORS_SQL = """
    SELECT label, kind FROM factor
    WHERE kind IN ('facilitator', 'barrier') AND factor_code NOT IN (
        SELECT r.factor_code FROM factor_rating r JOIN interview i USING (interview_id)
        JOIN participant p USING (participant_code) WHERE p.project_code = 'EMPL')
    ORDER BY kind DESC, position
"""


@pytest.fixture
def server(seeded_path, tmp_path):
    con = storage.connect(seeded_path)
    (interview_id,) = con.execute(
        "SELECT interview_id FROM interview WHERE participant_code = 'EMPL-02' AND wave = 'month_6'"
    ).fetchone()
    storage.delete_interview(con, "test-setup", interview_id)
    # A facilitator and a barrier EMPL has never cited: once rated, each is a new row of its heat map.
    new = con.execute(NEW_FACTORS_SQL).fetchall()
    con.close()
    server = Server(seeded_path, DEMO_TODAY.isoformat(), tmp_path / "streamlit.log")
    server.db = seeded_path
    server.new_factors = [next(label for label, kind in new if kind == k) for k in ("facilitator", "barrier")]
    yield server
    server.stop()


@pytest.fixture
def page(server):
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        page.goto(server.url, wait_until="domcontentloaded")
        login(page, "demo-evaluator", accounts.DEMO_PASSWORD)
        yield page
        browser.close()


def choose(page, label, text):
    page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first.click()
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    time.sleep(1)


def open_page(page, title):
    page.get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title if title != "Sustainability" else "Sustainability scores").wait_for(
        timeout=30_000
    )
    time.sleep(1.5)


def fieldwork_rows(page):
    open_page(page, "Fieldwork")
    return page.locator('[data-testid="stDataFrame"]').all_inner_texts()


def test_logging_an_overdue_6_month_follow_up_takes_it_off_the_fieldwork_list(page, server):
    overdue = page
    open_page(overdue, "Fieldwork")
    overdue.get_by_text("Overdue ·").first.wait_for(timeout=30_000)
    assert overdue.locator('[data-testid="stMetricValue"]').first.inner_text().strip() != "0"
    open_page(page, "Log an interview")
    choose(page, "Project", "EMPL")
    choose(page, "Participant", "EMPL-02")
    choose(page, "Wave", "6-month")
    page.get_by_text("New 6-month follow-up").wait_for(timeout=30_000)
    for part, value in (("month", "01"), ("day", "05")):
        page.get_by_role("spinbutton", name=f"{part}, Interview date").click()
        page.keyboard.type(value)
    page.get_by_label("Duration (minutes)").fill("35")
    page.get_by_label("Summary notes").fill("Six months on: the job coach is still in post.")
    for group in page.get_by_role("radiogroup").all():  # the factors EMPL-02 cited at 3 months: still so
        if group.get_by_role("radio", name=re.compile("^still so")).count():
            group.get_by_role("radio", name=re.compile("^still so")).click()
            time.sleep(0.6)
    facilitator, barrier = server.new_factors
    for factor, rating in ((facilitator, "+2"), (barrier, "−1")):
        page.get_by_role("textbox", name="Search the codebook").fill(factor)
        time.sleep(1.5)
        page.get_by_role("radiogroup", name=f"Rating of {factor}").get_by_role("radio", name=rating, exact=True).click()
        time.sleep(1.5)
    page.get_by_role("button", name="Save interview").click()
    page.get_by_text("Edit the 6-month follow-up").wait_for(timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0, server.output()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "log_interview_saved.png"), full_page=True)
    calls = fieldwork_rows(page)
    assert not any("EMPL-02" in text and "6-month" in text for text in calls), calls
    page.goto(f"{server.url}/timeline?project=EMPL", wait_until="domcontentloaded")  # still logged in (the cookie)
    page.get_by_role("heading", name="What changed").wait_for(timeout=30_000)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 4", timeout=30_000)
    cells = heatmap_cells(page)
    month_6 = cells["waves"].index("6-month follow-up")
    for label, mean in ((facilitator, 2), (barrier, -1)):
        assert label in cells["factors"], f"{label} is a new row of the heat map"
        assert cells["z"][cells["factors"].index(label)][month_6] == mean
    open_page(page, "Log an interview")
    page.get_by_role("link", name="Log out").count()  # the session is still logged in


@pytest.mark.parametrize("title", list(PAGES))
def test_each_capture_page_renders_for_an_evaluator(page, server, title):
    open_page(page, title)
    assert page.locator('[data-testid="stException"]').count() == 0, server.output()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{PAGES[title]}.png"), full_page=True)
