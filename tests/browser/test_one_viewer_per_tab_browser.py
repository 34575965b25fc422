"""One viewer per tab, in Chromium against `streamlit run`: the next user of a tab is offered nothing the last one
prepared; a download drawn for an account that has since been lowered or deactivated is refused when clicked; every
download button delivers its file, click after click; no table offers its own CSV; and no request leaves the app's
own origin, on any page, for any role."""

from __future__ import annotations

import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from innovation_tracker.app import accounts
from tests.conftest import DEMO_TODAY
from tests.support import postgres
from tests.support.browser import ROOT, Server, login

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT = 90_000
EXCEPTION = '[data-testid="stException"]'
ALL_PAGES = {
    "demo-admin": [
        "Portfolio overview", "Project timeline", "Compare projects", "Framework matrix", "Search the evidence",
        "Agreement between coders", "Log an interview", "Double coding", "Sustainability", "Milestones", "Fieldwork",
        "Projects and participants", "Import and export", "Data quality", "Study settings", "Audit log", "Users",
        "Glossary",
    ],
    "demo-funder": [
        "Portfolio overview", "Project timeline", "Compare projects", "Framework matrix", "Search the evidence",
        "Agreement between coders", "Milestones", "Import and export", "Glossary",
    ],
    "demo-team-arts": [
        "Our project", "Project timeline", "Compare projects", "Framework matrix", "Search the evidence",
        "Agreement between coders", "Milestones", "Import and export", "Glossary",
    ],
}  # fmt: skip


@pytest.fixture
def server(seeded_path, tmp_path):
    server = Server(seeded_path, DEMO_TODAY.isoformat(), tmp_path / "streamlit.log")
    yield server
    server.stop()


def new_page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 2000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    return page


def settled(page) -> None:
    """The script run has finished (Streamlit shows its status widget while one runs) and raised nothing."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=TIMEOUT)
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()


def open_page(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title).first.click()
    page.wait_for_url(lambda url: True)
    settled(page)


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    settled(page)


def sign_in(page, server, username: str) -> None:
    page.goto(server.url, wait_until="domcontentloaded")
    login(page, username, accounts.DEMO_PASSWORD, timeout=TIMEOUT)
    settled(page)


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("textbox", name="Username").wait_for()
    settled(page)


def download(page, name: str, timeout: float = 60_000):
    with page.expect_download(timeout=timeout) as info:
        page.get_by_role("button", name=name).first.click()
    return info.value


def prepare_export(page) -> None:
    open_page(page, "Import and export")
    page.get_by_role("button", name="Prepare export").click()
    page.get_by_role("button", name="Download export").wait_for()


def offered(page) -> list[str]:
    return [text.strip() for text in page.locator('[data-testid="stDownloadButton"] button').all_inner_texts()]


def test_the_next_user_of_a_tab_is_offered_nothing_of_the_last_one(browser, server):
    page = new_page(browser)
    sign_in(page, server, "demo-admin")
    prepare_export(page)
    open_tab(page, "Reports")
    page.get_by_text("HTML", exact=True).click()
    page.get_by_role("button", name="Build report").click()
    page.get_by_role("button", name="Download report").wait_for()
    open_tab(page, "Backup")
    page.get_by_role("button", name="Prepare backup").click()
    page.get_by_role("button", name="Download backup").wait_for()
    assert download(page, "Download backup").suggested_filename == "tracker-backup.zip"

    log_out(page)
    login(page, "demo-team-arts", accounts.DEMO_PASSWORD, timeout=TIMEOUT)
    settled(page)
    open_page(page, "Import and export")
    for tab in ("Export", "Reports"):
        open_tab(page, tab)
        assert not [label for label in offered(page) if "Download" in label], (tab, offered(page))
    assert page.get_by_role("tab", name="Backup").count() == 0
    assert page.get_by_text("tracker-backup.zip").count() == 0
    assert page.get_by_text("study-csv.zip").count() == 0


@pytest.fixture
def pg_server(tmp_path, demo_template):
    url = postgres.create_database(postgres.server_or_skip(), template=demo_template)
    server = Server(url, DEMO_TODAY.isoformat(), tmp_path / "streamlit.log")
    server.db = url
    yield server
    server.stop()
    postgres.drop_database(url)


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "innovation_tracker", *args], cwd=ROOT, check=True, capture_output=True)


def refused(page, name: str) -> bool:
    """Clicking `name` delivers no file within 15 s."""
    try:
        download(page, name, timeout=15_000)
    except PlaywrightTimeout:
        return True
    return False


def test_a_download_drawn_for_an_account_since_lowered_and_deactivated_is_refused(browser, pg_server):
    """The review's case, on PostgreSQL: an evaluator's open Framework matrix, while the command line sets the
    account to funder and deactivates it. The workbook would hold 65 participant codes and every private excerpt."""
    page = new_page(browser)
    sign_in(page, pg_server, "demo-evaluator")
    open_page(page, "Framework matrix")
    button = "Download the matrix (Excel, one sheet per domain)"
    assert download(page, button).suggested_filename.endswith(".xlsx"), "served while the session is live"
    cli("users", "set-role", "demo-evaluator", "funder", "--db", pg_server.db)
    cli("users", "deactivate", "demo-evaluator", "--db", pg_server.db)
    assert refused(page, button)
    assert "SessionEnded: This download belongs to a session that has ended" in pg_server.output()


def test_a_download_is_refused_in_a_tab_whose_session_ended_in_another(browser, server):
    """On DuckDB (one process per file, so no command line while the server runs): log-out in a second tab ends
    every session of the account, and the first tab's drawn call list is then refused."""
    first = new_page(browser)
    sign_in(first, server, "demo-evaluator")
    open_page(first, "Fieldwork")
    assert download(first, "Call list (CSV)").suggested_filename.startswith("call-list-")
    second = first.context.browser.new_context().new_page()
    sign_in(second, server, "demo-evaluator")
    log_out(second)
    assert refused(first, "Call list (CSV)")
    assert refused(first, "Calls to make (.ics calendar)")


DOWNLOADS = {
    "Fieldwork": ["Call list (CSV)", "Calls to make (.ics calendar)"],
    "Framework matrix": ["Download the matrix (Excel, one sheet per domain)"],
    "Import and export": ["Download export"],
}


def test_a_hundred_clicks_on_every_download_button_deliver_a_hundred_files(browser, server):
    """The review's loop (glossary, then the page, then its buttons) that left a button spinning 4 times in 70."""
    page = new_page(browser)
    sign_in(page, server, "demo-evaluator")
    prepare_export(page)
    names: list[str] = []
    clicks = 0
    while clicks < 100:
        for title, buttons in DOWNLOADS.items():
            open_page(page, "Glossary")
            open_page(page, title)
            for name in buttons:
                if clicks < 100:
                    names.append(download(page, name, timeout=30_000).suggested_filename)
                    clicks += 1
    assert len(names) == 100
    assert {name.rsplit("-", 1)[0] if name.startswith("call") else name for name in names} >= {
        "framework-matrix-year.xlsx",
        "study-csv.zip",
    }
    assert "not found" not in server.output()


def test_no_table_offers_its_own_csv_download(browser, server):
    page = new_page(browser)
    sign_in(page, server, "demo-evaluator")
    open_page(page, "Milestones")
    table = page.locator('[data-testid="stDataFrame"]').first
    table.hover()
    page.wait_for_timeout(500)
    toolbar = page.locator('[data-testid="stElementToolbar"]').first
    assert toolbar.count() == 1, "the table's toolbar shows on hover"
    assert toolbar.get_by_role("button", name="Download as CSV").count() == 0


def test_no_request_leaves_the_apps_own_origin(browser, server):
    origin = urlsplit(server.url).netloc
    for username, titles in ALL_PAGES.items():
        page = new_page(browser)
        hosts: dict[str, str] = {}
        page.on("request", lambda request, hosts=hosts: hosts.setdefault(urlsplit(request.url).netloc, request.url))
        sign_in(page, server, username)
        for title in titles:
            open_page(page, title)
        page.reload()
        settled(page)
        time.sleep(1)
        assert set(hosts) == {origin}, (username, hosts)
        page.context.close()
