"""Single sign-on for real: a local OpenID Connect provider (oidc-provider-mock) on loopback, `streamlit run`
configured for it through a secrets file, and Chromium going through the provider's own log-in form."""

import json
import re

import pytest

from innovation_tracker import storage
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.ui.navigation import pages_for
from tests.conftest import DEMO_TODAY
from tests.support.browser import Server, free_port

pytestmark = [
    pytest.mark.browser,
    # The mock provider still uses Authlib APIs that Authlib has deprecated; nothing of ours.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


@pytest.fixture(scope="module")
def provider():
    from oidc_provider_mock import run_server_in_thread

    # Any client id and secret are accepted; typing an e-mail on its form signs in as that e-mail.
    with run_server_in_thread() as server:
        yield server


@pytest.fixture
def sso_server(seeded_path, tmp_path, provider):
    port = free_port()
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "only for this test, never for real use"\n'
        'client_id = "innovation-tracker"\n'
        'client_secret = "only for this test"\n'
        f'server_metadata_url = "http://localhost:{provider.server_port}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    server = Server(
        seeded_path,
        DEMO_TODAY.isoformat(),
        tmp_path / "streamlit.log",
        extra_args=("--secrets.files", str(secrets)),
        port=port,
    )
    yield server
    server.stop()


def sign_in(browser, server, email):
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(server.url, wait_until="domcontentloaded")
    page.get_by_role("button", name="Log in with single sign-on").click(timeout=30_000)
    page.locator('input[name="sub"]').fill(email, timeout=30_000)
    page.get_by_role("button", name="Authorize").click()
    return page


def nav_titles(page):
    return [text.split("\n")[-1] for text in page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()]


def test_signing_in_opens_the_pages_of_the_account_with_that_e_mail(browser, sso_server, seeded_path):
    page = sign_in(browser, sso_server, "Demo-Funder@Example.org")
    page.get_by_role("heading", name="Portfolio overview").wait_for(timeout=30_000)
    page.get_by_text("Logged in as demo-funder · Funder").wait_for(timeout=30_000)
    assert nav_titles(page) == [spec.title for spec in pages_for(Viewer("demo-funder", AccountRole.FUNDER))]
    assert "Users" not in nav_titles(page)
    assert page.get_by_role("textbox", name="Password").count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0, sso_server.output()
    page.close()
    sso_server.stop()
    con = storage.connect(seeded_path)  # DuckDB lets one process hold the file: the server has stopped
    logins = con.execute("SELECT actor, after FROM audit_entry WHERE action = 'login'").fetchall()
    assert [(actor, json.loads(after)) for actor, after in logins] == [("demo-funder", {"method": "sso"})]


def test_an_e_mail_without_an_account_gets_no_access_and_can_log_out(browser, sso_server):
    page = sign_in(browser, sso_server, "stranger@example.org")
    page.get_by_role("heading", name="No access").wait_for(timeout=30_000)
    # escape_markdown puts a word joiner before the @, so markdown makes no mailto link of a typed address
    signed_in_as = re.compile("You signed in as stranger\u2060?@example\\.org, but no active account")
    page.get_by_text(signed_in_as).wait_for(timeout=30_000)
    assert page.locator('[data-testid="stSidebarNavLink"]').count() == 0
    assert page.get_by_role("heading", name="Portfolio overview").count() == 0
    page.get_by_role("button", name="Log out").click()
    # The provider's end-of-session page, which sends the browser back to the app.
    page.get_by_role("button", name="End session").click(timeout=30_000)
    page.get_by_role("button", name="Log in with single sign-on").wait_for(timeout=30_000)
    page.close()
