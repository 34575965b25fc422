"""Study settings in a real browser: an evaluator adds a factor, relabels one, retires one and re-times a wave, then
sees the results where they matter: Log an interview no longer offers the retired factor (and offers the new one),
and the audit log shows each change before → after."""

import time

import pytest

from innovation_tracker.app import accounts
from tests.conftest import DEMO_TODAY
from tests.support.browser import CHROMIUM_ARGS, SCREENSHOTS, Server, chromium_or_skip, login

pytestmark = pytest.mark.browser
TIMEOUT = 60_000


@pytest.fixture
def server(seeded_path, tmp_path):
    server = Server(seeded_path, DEMO_TODAY.isoformat(), tmp_path / "streamlit.log")
    server.db = seeded_path
    yield server
    server.stop()


@pytest.fixture
def page(server):
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        page.goto(f"{server.url}/settings", wait_until="domcontentloaded")
        login(page, "demo-evaluator", accounts.DEMO_PASSWORD)
        page.get_by_role("heading", name="Study settings").wait_for(timeout=TIMEOUT)
        yield page
        browser.close()


def form(page, button):
    return page.locator('[data-testid="stForm"]').filter(has=page.get_by_role("button", name=button))


def choose(page, label, text):
    page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first.click()
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    time.sleep(1.5)


def saved(page, text):
    page.get_by_text(text).first.wait_for(timeout=TIMEOUT)
    time.sleep(1)


def no_exception(page, server):
    assert page.locator('[data-testid="stException"]').count() == 0, server.output()


def test_an_evaluator_changes_the_codebook_and_a_wave_and_sees_the_results(page, server):
    page.get_by_role("tab", name="Codebook").click()
    adding = form(page, "Add the factor")
    adding.get_by_role("textbox", name="Code").fill("ctx_peer_network")
    adding.get_by_role("textbox", name="Label").fill("Peer network")
    adding.get_by_role("button", name="Add the factor").click()
    saved(page, "Factor added")

    page.get_by_role("tab", name="Codebook").click()
    choose(page, "Factor", "Supportive team")
    editing = form(page, "Save the label and definition")
    editing.get_by_role("textbox", name="Label").fill("A supportive team")
    editing.get_by_role("button", name="Save the label and definition").click()
    saved(page, "Supportive team saved")

    page.get_by_role("tab", name="Codebook").click()
    choose(page, "Factor", "Team expertise")
    form(page, "Retire").get_by_role("button", name="Retire").click()
    saved(page, "Team expertise retired: its ratings stay")

    page.get_by_role("tab", name="Waves").click()
    choose(page, "Wave", "3-month follow-up")
    timing = form(page, "Save the wave")
    timing.get_by_role("spinbutton", name="Window opens, days before").fill("28")
    timing.get_by_role("spinbutton", name="Window closes, days after").fill("28")
    timing.get_by_role("button", name="Save the wave").click()
    saved(page, "3-month follow-up saved: schedules follow")
    no_exception(page, server)

    # Log an interview: the retired factor is no longer offered; the new one is.
    page.goto(f"{server.url}/log-interview?project=EMPL&participant=EMPL-01&wave=month_12", wait_until="commit")
    search = page.get_by_role("textbox", name="Search the codebook")
    search.wait_for(timeout=TIMEOUT)
    search.fill("expertise")
    page.get_by_text("No factor's name or definition contains").wait_for(timeout=TIMEOUT)
    search.fill("peer network")
    page.get_by_text("Peer network", exact=True).first.wait_for(timeout=TIMEOUT)
    no_exception(page, server)

    # The audit log: each change before → after.
    page.goto(f"{server.url}/audit", wait_until="commit")
    page.get_by_role("heading", name="Audit log").wait_for(timeout=TIMEOUT)
    choose(page, "Entity", "factor")
    shown = page.locator('[data-testid="stJson"]')
    shown.nth(1).get_by_text("true").wait_for(timeout=TIMEOUT)  # the newest factor change: retired false → true
    assert "retired" in shown.nth(0).inner_text() and "false" in shown.nth(0).inner_text()
    # Newest first: the entry before the retirement is the relabelling.
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Show one entry in full").click()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.get_by_text("A supportive team").first.wait_for(timeout=TIMEOUT)
    assert "Supportive team" in shown.nth(0).inner_text()
    page.screenshot(path=str(SCREENSHOTS / "settings_audit.png"), full_page=True)
    no_exception(page, server)
