"""Staying logged in, in a real browser: reloads, a second tab at a deep link, log-out in one tab ending the other,
and a forged cookie refused. The database is read after the server stops (DuckDB allows one process per file)."""

import hashlib
import secrets

import duckdb
import pytest

from innovation_tracker.app import accounts
from innovation_tracker.ui.sessions import COOKIE
from tests.conftest import DEMO_TODAY
from tests.support.browser import SCREENSHOTS, Server, login

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def server(browser, seeded_path, tmp_path):
    """A server whose first visit was to the front door: on a freshly started server the very first request to a
    deep link loses its target (see tests/browser/test_browser.py, `shared_server`), whatever the session cookie
    says."""
    server = Server(seeded_path, DEMO_TODAY.isoformat(), tmp_path / "streamlit.log")
    server.db = seeded_path
    page = browser.new_page()
    page.goto(server.url, wait_until="domcontentloaded")
    page.get_by_role("button", name="Log in").wait_for(timeout=30_000)
    page.close()
    yield server
    server.stop()


def session_cookie(context) -> dict:
    found = [c for c in context.cookies() if c["name"] == COOKIE]
    assert len(found) == 1, context.cookies()
    return found[0]


def wait_logged_in(page, username: str) -> None:
    page.get_by_text(f"Logged in as {username}").wait_for(timeout=30_000)
    assert page.get_by_role("textbox", name="Username").count() == 0


def wait_for_cookie(page, context) -> dict:
    for _ in range(300):
        if any(c["name"] == COOKIE for c in context.cookies()):
            return session_cookie(context)
        page.wait_for_timeout(100)
    raise AssertionError(f"no {COOKIE} cookie was set: {context.cookies()}")


def test_a_session_survives_a_reload_and_a_second_tab_and_ends_everywhere_at_log_out(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    first = context.new_page()
    first.goto(server.url, wait_until="domcontentloaded")
    login(first, "demo-team-arts", accounts.DEMO_PASSWORD)
    cookie = wait_for_cookie(first, context)
    assert cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert not cookie["secure"], "served over plain HTTP here, so not Secure (it is over HTTPS)"
    assert len(cookie["value"]) >= 43, "at least 256 random bits, URL-safe base64"

    first.reload(wait_until="domcontentloaded")
    wait_logged_in(first, "demo-team-arts")
    first.get_by_role("heading", name="Arts on Referral (ARTS)").wait_for(timeout=30_000)  # a team lands on its project

    second = context.new_page()
    second.goto(f"{server.url}/timeline?project=ARTS", wait_until="domcontentloaded")
    wait_logged_in(second, "demo-team-arts")
    second.get_by_role("heading", name="Project timeline").wait_for(timeout=30_000)
    assert "project=ARTS" in second.url
    assert second.get_by_text("ARTS", exact=False).count() > 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    second.screenshot(path=str(SCREENSHOTS / "session_second_tab.png"), full_page=True)

    second.get_by_role("button", name="Log out").click()
    second.get_by_role("textbox", name="Username").wait_for(timeout=30_000)

    # The first tab is still drawn as logged in; its next interaction finds the session ended.
    first.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Project timeline").click()
    first.get_by_role("textbox", name="Username").wait_for(timeout=30_000)
    first.get_by_text("Your session has ended").wait_for(timeout=30_000)
    # the old sidebar goes once the run has finished (under load it may linger a moment as a stale element)
    first.get_by_text("Logged in as").wait_for(state="detached", timeout=30_000)
    first.screenshot(path=str(SCREENSHOTS / "session_ended_other_tab.png"), full_page=True)
    first.reload(wait_until="domcontentloaded")
    first.get_by_role("textbox", name="Username").wait_for(timeout=30_000)
    assert not any(c["name"] == COOKIE for c in context.cookies()), "log-out clears the cookie"
    assert first.locator('[data-testid="stException"]').count() == 0, server.output()
    context.close()
    server.stop()

    con = duckdb.connect(str(server.db))
    rows = con.execute("SELECT * FROM login_session WHERE username = 'demo-team-arts'").fetchall()
    con.close()
    assert len(rows) == 1
    stored = {str(value) for value in rows[0]}
    assert cookie["value"] not in " ".join(stored), "the sessions table never holds the raw token"
    assert hashlib.sha256(cookie["value"].encode()).hexdigest() in stored
    assert rows[0][6] is not None, "revoked at log-out"


def test_a_forged_cookie_is_refused_and_cleared(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    host = server.url.split("//", 1)[1].split(":")[0]
    forged = secrets.token_urlsafe(32)
    context.add_cookies([{"name": COOKIE, "value": forged, "domain": host, "path": "/", "sameSite": "Strict"}])
    page = context.new_page()
    page.goto(f"{server.url}/timeline?project=ARTS", wait_until="domcontentloaded")
    page.get_by_role("textbox", name="Username").wait_for(timeout=30_000)
    assert page.get_by_text("Logged in as").count() == 0
    for _ in range(300):
        if not any(c["name"] == COOKIE for c in context.cookies()):
            break
        page.wait_for_timeout(100)
    assert not any(c["name"] == COOKIE for c in context.cookies()), "a refused cookie is cleared"
    # The deep link still leads to its page after logging in.
    login(page, "demo-team-arts", accounts.DEMO_PASSWORD)
    page.get_by_role("heading", name="Project timeline").wait_for(timeout=30_000)
    assert "project=ARTS" in page.url
    context.close()
