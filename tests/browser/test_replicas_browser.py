"""Two app servers on one PostgreSQL database (issue 17), in Chromium: started together on a new database they build
one demo; a score saved through one shows on the other at its next rerun; two evaluators saving the same scores
on the two servers, the second is told and nothing is lost; the command line imports a file while both run and
both show it at the next rerun."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from innovation_tracker import storage
from innovation_tracker.app import accounts
from innovation_tracker.views import page_content
from tests.conftest import DEMO_TODAY, EVALUATOR
from tests.support import postgres
from tests.support.browser import ROOT, Server, login

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT = 120_000  # the first visit builds the demo on PostgreSQL, on a machine shared with other suites
EXCEPTION = '[data-testid="stException"]'
ENGAGED = "Service users engaged"
CHANGED_MEANWHILE = "after you opened this form"


@pytest.fixture(scope="module")
def replicas(browser, tmp_path_factory):
    """A new PostgreSQL database and two `streamlit run` servers on it, started together."""
    url = postgres.create_database(postgres.server_or_skip())
    logs = tmp_path_factory.mktemp("replicas")
    servers = [Server(url, DEMO_TODAY.isoformat(), logs / f"server-{n}.log", wait=False) for n in "ab"]
    try:
        for server in servers:
            server.wait_for_health()
        yield url, servers
    finally:
        for server in servers:
            server.stop()
        postgres.drop_database(url)


def visit(browser, server: Server):
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(server.url, wait_until="commit")
    return page


def settled(page) -> None:
    """The script run has finished (Streamlit shows its status widget while one runs) and raised nothing."""
    time.sleep(0.5)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=TIMEOUT)
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).first.inner_text()


def open_page(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title).click()
    heading = "Sustainability scores" if title == "Sustainability" else title
    page.get_by_role("heading", name=heading).first.wait_for(timeout=TIMEOUT)
    settled(page)


def engaged(page):
    return page.locator('[data-testid="stForm"]').first.get_by_role("spinbutton", name=ENGAGED)


def save_scores(page, value: int | None) -> None:
    if value is not None:
        engaged(page).fill(str(value))
    page.locator('[data-testid="stForm"]').first.get_by_role("button", name="Save scores").click()
    page.get_by_text("Saved the").or_(page.get_by_text(CHANGED_MEANWHILE)).first.wait_for(timeout=TIMEOUT)
    settled(page)


def audited_scores(url: str) -> list[tuple[str, str, str]]:
    """(actor, record, service users engaged) of every audited save of scores, oldest first."""
    con = storage.connect(url)
    try:
        return con.execute(
            "SELECT actor, entity_key, json_extract_string(after, '$.service_users_engaged') FROM audit_entry"
            " WHERE entity = 'sustainability' AND action = 'update' ORDER BY audit_id"
        ).fetchall()
    finally:
        con.close()


def stored_engaged(url: str, record: str) -> str | None:
    project, wave = record.split("/")
    con = storage.connect(url)
    try:
        scores = storage.indicator_scores(con, EVALUATOR, project, wave).set_index("indicator_code")
        return scores.loc["service_users_engaged", "value"]
    finally:
        con.close()


def milestone_table(page, project: str, until: list[str] = ()) -> str:
    """The text of the Milestones page's table (or its note that there are none), once the grid has drawn its
    cells (and, with `until`, once it shows those titles or 30 s have passed)."""
    deadline = time.monotonic() + 30
    while True:
        # The grid draws on a canvas; its cells are also in an accessible table, hidden, that text_content reads.
        shown = " ".join(t.text_content() or "" for t in page.locator('[data-testid="stDataFrame"]').all())
        empty = page.get_by_text(f"No milestones recorded for {project} yet").count() > 0
        if (shown.strip() or empty) and all(t in shown for t in until) or time.monotonic() > deadline:
            return shown
        time.sleep(0.5)


def assert_quiet(servers: list[Server]) -> None:
    for server in servers:
        assert "Traceback" not in server.output(), server.output()


def test_a_score_saved_on_one_server_shows_on_the_other_and_a_stale_save_is_refused(browser, replicas):
    url, servers = replicas
    on_a, on_b = visit(browser, servers[0]), visit(browser, servers[1])  # each server's first run, together
    for page in (on_a, on_b):
        page.get_by_role("textbox", name="Username").wait_for(timeout=TIMEOUT)
    con = storage.connect(url)
    built = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in ("study", "project", "participant")}
    con.close()
    assert built == {"study": 1, "project": 11, "participant": 65}, "one demo study, built by one of the servers"

    login(on_a, "demo-evaluator", accounts.DEMO_PASSWORD, timeout=TIMEOUT)
    login(on_b, "demo-admin", accounts.DEMO_PASSWORD, timeout=TIMEOUT)
    open_page(on_a, "Sustainability")
    save_scores(on_a, 41)
    assert on_a.get_by_text("Saved the").first.is_visible()
    open_page(on_b, "Sustainability")  # server B's next run of the page
    assert engaged(on_b).input_value() == "41"

    # Both forms are open at the same version now: A saves first, B's save is refused and says what A changed.
    save_scores(on_a, 43)
    save_scores(on_b, 44)
    refusal = on_b.get_by_text(CHANGED_MEANWHILE).first
    assert refusal.is_visible()
    assert "demo-evaluator saved the scores of" in refusal.inner_text()
    assert f"{ENGAGED}: 41 → 43" in refusal.inner_text()
    assert "Nothing of yours was saved" in refusal.inner_text()
    record = audited_scores(url)[-1][1]
    assert stored_engaged(url, record) == "43"
    assert engaged(on_b).input_value() == "44", "B's entry is still in the form"

    save_scores(on_b, None)  # saving again keeps B's entry, knowingly
    # waited for: the refusal above is still on screen while this save runs, and satisfies save_scores' wait
    on_b.get_by_text("Saved the").first.wait_for(timeout=TIMEOUT)
    assert stored_engaged(url, record) == "44"
    open_page(on_a, "Portfolio overview")
    open_page(on_a, "Sustainability")
    assert engaged(on_a).input_value() == "44"
    assert audited_scores(url) == [
        ("demo-evaluator", record, "41"),
        ("demo-evaluator", record, "43"),
        ("demo-admin", record, "44"),
    ], "every save that was confirmed is audited once, the refused one not at all"
    assert_quiet(servers)


def test_the_command_line_imports_while_both_servers_run(browser, replicas, tmp_path):
    url, servers = replicas
    pages = [visit(browser, server) for server in servers]
    for page in pages:
        login(page, "demo-evaluator", accounts.DEMO_PASSWORD, timeout=TIMEOUT)
        open_page(page, "Milestones")
    con = storage.connect(url)
    project = page_content.project_choices(con, EVALUATOR).codes[0]  # the project the page opens at
    con.close()
    titles = ["Commissioners renewed the grant (imported)", "Second site asked to adopt (imported)"]
    upload = tmp_path / "milestones.csv"
    upload.write_text(
        "project_code,milestone_date,kind,title,notes\n"
        f"{project},{DEMO_TODAY.replace(day=1).isoformat()},funding_decision,{titles[0]},from the command line\n"
        f"{project},{DEMO_TODAY.isoformat()},other,{titles[1]},\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "innovation_tracker", "import", "--db", url, str(upload)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 new" in done.stdout and "Imported" in done.stdout, done.stdout
    for page in pages:
        assert not any(title in milestone_table(page, project) for title in titles)  # not before the next run
        open_page(page, "Portfolio overview")
        open_page(page, "Milestones")  # the next run, on each server
        shown = milestone_table(page, project, until=titles)
        assert all(title in shown for title in titles), shown
    assert_quiet(servers)
