"""Journeys in a real browser: Debian's Chromium, through Playwright, against `streamlit run`."""

import re
import shutil

import pytest

from innovation_tracker import storage
from innovation_tracker.app import accounts
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.ui.navigation import pages_for
from tests.conftest import DEMO_TODAY, EVALUATOR
from tests.support.browser import SCREENSHOTS, Server, login, login_page_gone

pytestmark = pytest.mark.browser


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
    login(page, "demo-evaluator", accounts.DEMO_PASSWORD)
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


DEMO_VIEWERS = {
    "demo-admin": Viewer("demo-admin", AccountRole.ADMIN),
    "demo-evaluator": Viewer("demo-evaluator", AccountRole.EVALUATOR),
    "demo-funder": Viewer("demo-funder", AccountRole.FUNDER),
    "demo-team-arts": Viewer("demo-team-arts", AccountRole.TEAM, frozenset({"ARTS"})),
}


@pytest.fixture(scope="module")
def shared_server(browser, demo_file, tmp_path_factory):
    """One server for the journeys that only read (logging in writes nothing but audit entries). Its first visit
    is to the front door: see `test_a_first_visit_to_a_deep_link_goes_through_the_log_in_gate` for why."""
    folder = tmp_path_factory.mktemp("shared_server")
    shutil.copy(demo_file, folder / "demo.duckdb")
    server = Server(folder / "demo.duckdb", DEMO_TODAY.isoformat(), folder / "streamlit.log")
    page = browser.new_page()
    page.goto(server.url, wait_until="domcontentloaded")
    page.get_by_role("button", name="Log in").wait_for(timeout=30_000)
    page.close()
    yield server
    server.stop()


def nav_titles(page):
    # Each link's text is its icon's ligature name, then its title.
    return [text.split("\n")[-1] for text in page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()]


def test_the_log_in_form_refuses_a_wrong_password(browser, shared_server):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(shared_server.url, wait_until="domcontentloaded")
    page.get_by_role("textbox", name="Username").fill("demo-evaluator")
    page.get_by_role("textbox", name="Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Unknown username or wrong password.").wait_for(timeout=30_000)
    assert page.locator('[data-testid="stSidebarNavLink"]').count() == 0
    assert page.get_by_role("heading", name="Portfolio overview").count() == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "login.png"))
    page.close()


@pytest.mark.parametrize("username", list(DEMO_VIEWERS))
def test_each_demo_role_sees_its_own_pages(browser, shared_server, username):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(shared_server.url, wait_until="domcontentloaded")
    login(page, username, accounts.DEMO_PASSWORD)
    team = DEMO_VIEWERS[username].role == AccountRole.TEAM
    landing = "Arts on Referral (ARTS)" if team else "Portfolio overview"  # a team lands on its own project
    page.get_by_role("heading", name=landing).wait_for(timeout=30_000)
    page.locator('[data-testid="stSidebarNavLink"]').first.wait_for(timeout=30_000)
    shown = nav_titles(page)
    titles = [spec.team_title if team and spec.team_title else spec.title for spec in pages_for(DEMO_VIEWERS[username])]
    assert shown == titles
    assert {"Our project" if team else "Portfolio overview", "Project timeline", "Compare projects"} <= set(shown)
    assert ("Users" in shown) == (username == "demo-admin")
    role = DEMO_VIEWERS[username].role.value.capitalize()
    assert page.get_by_text(re.compile(f"Logged in as {username} · {role}")).count() == 1
    assert page.locator('[data-testid="stException"]').count() == 0, shared_server.output()
    page.close()


def test_a_team_account_asking_for_the_users_page_gets_its_own_overview(browser, shared_server):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(f"{shared_server.url}/users", wait_until="domcontentloaded")
    login(page, "demo-team-arts", accounts.DEMO_PASSWORD)
    page.get_by_role("heading", name="Arts on Referral (ARTS)").wait_for(timeout=30_000)  # its own project
    login_page_gone(page)  # its hint names demo-evaluator
    assert page.get_by_role("heading", name="Users").count() == 0
    assert page.get_by_text("demo-evaluator").count() == 0
    page.close()


def test_a_deep_link_opens_its_page_once_logged_in(browser, shared_server):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(f"{shared_server.url}/timeline?project=BEAT", wait_until="domcontentloaded")
    login(page, "demo-evaluator", accounts.DEMO_PASSWORD)
    page.get_by_role("heading", name="Project timeline").wait_for(timeout=30_000)
    assert "project=BEAT" in page.url
    page.close()


def test_an_admin_adds_an_account_who_then_logs_in_and_out(browser, server):
    admin = browser.new_page(viewport={"width": 1400, "height": 2000})
    admin.goto(server.url, wait_until="domcontentloaded")
    login(admin, "demo-admin", accounts.DEMO_PASSWORD)
    admin.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Users").click()
    admin.get_by_role("heading", name="Users").wait_for(timeout=30_000)
    form = admin.locator('[data-testid="stForm"]').first
    form.get_by_role("textbox", name="Username").fill("nadia")
    form.get_by_role("textbox", name="E-mail").fill("nadia@example.org")
    form.get_by_role("textbox", name="Password").fill("a long enough password")
    form.get_by_role("button", name="Add account").click()
    admin.get_by_text("Added the account nadia.").wait_for(timeout=30_000)
    assert admin.locator('[data-testid="stException"]').count() == 0, server.output()
    admin.close()

    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(server.url, wait_until="domcontentloaded")
    login(page, "nadia", "a long enough password")
    page.locator('[data-testid="stSidebarNavLink"]').first.wait_for(timeout=30_000)
    assert nav_titles(page) == [spec.title for spec in pages_for(Viewer("nadia", AccountRole.FUNDER))]
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Log in").wait_for(timeout=30_000)
    # The form can paint before the end of the run that hides the navigation: wait for the links to go.
    from playwright.sync_api import expect

    expect(page.locator('[data-testid="stSidebarNavLink"]')).to_have_count(0, timeout=30_000)
    page.close()


def test_a_first_visit_to_a_deep_link_goes_through_the_log_in_gate(browser, seeded_path, tmp_path):
    server = Server(seeded_path, DEMO_TODAY.isoformat(), tmp_path / "streamlit.log")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server.url}/overview", wait_until="domcontentloaded")
        # The login page's title paints before its form: wait for the button itself.
        page.get_by_role("button", name="Log in").wait_for(timeout=30_000)
        assert page.get_by_role("heading", name="Portfolio overview").count() == 0
        assert page.locator('[data-testid="stMetric"]').count() == 0
        page.close()
    finally:
        server.stop()


def test_a_first_visit_straight_to_the_users_page_shows_no_accounts(browser, seeded_path, tmp_path):
    """A fresh server's first request, straight to an admin page: the login form, nothing of the page."""
    server = Server(seeded_path, DEMO_TODAY.isoformat(), tmp_path / "streamlit.log")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server.url}/users", wait_until="domcontentloaded")
        page.locator('[data-testid="stMain"] h1').first.wait_for(timeout=30_000)
        page.get_by_role("button", name="Log in").wait_for(timeout=30_000)
        assert page.get_by_role("heading", name="Users").count() == 0
        assert page.get_by_role("button", name="Add account").count() == 0
        page.close()
    finally:
        server.stop()
