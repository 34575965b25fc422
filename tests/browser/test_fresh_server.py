"""A page URL as the very first request a freshly started server gets.

With page files in `pages/`, Streamlit runs its old folder mode until some run has called `st.navigation`, so the
first request for `/audit` runs `pages/audit.py` on its own, without `dashboard.py`'s login. Each page's first call,
`ui.page_gate()`, must send such a run to the login before it reads or draws anything: only the login shows, and
nothing the server sends over the websocket carries a project name, a participant code or an excerpt."""

from pathlib import Path

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest, app_test

from innovation_tracker import storage
from innovation_tracker.app import accounts
from innovation_tracker.ui import navigation
from tests.conftest import DEMO_TODAY, EVALUATOR
from tests.support.browser import Server, login

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FIRST_REQUESTS = ["audit", "users", "timeline?project=ARTS", "import-export", "log-interview?project=CARE", "overview"]


@pytest.fixture(scope="module")
def secrets(demo_file):
    """What only a logged-in user may see: every project's name, every participant code, and excerpts."""
    con = storage.connect(demo_file)
    try:
        projects = storage.read_table(con, EVALUATOR, "projects")
        participants = storage.read_table(con, EVALUATOR, "participants")
        ratings = storage.read_table(con, EVALUATOR, "factor_ratings")
    finally:
        con.close()
    excerpts = ratings.evidence.dropna().str.slice(0, 30)
    return {*projects.name, *participants.participant_code, *excerpts.head(200)}


@pytest.mark.parametrize("forced", [False, True], ids=["browser", "forced-page-name"])
@pytest.mark.parametrize("address", FIRST_REQUESTS)
def test_a_page_url_as_a_fresh_servers_first_request_shows_only_the_login(
    browser, seeded_path, tmp_path, secrets, address, forced
):
    """As the browser asks for the page, and as a hand-made client would: every rerun request names the page
    (`page_name`) rather than the entry script's hash."""
    server = Server(seeded_path, DEMO_TODAY.isoformat(), tmp_path / "streamlit.log")
    frames: list[bytes] = []
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.on("websocket", lambda ws: ws.on("framereceived", lambda data: frames.append(_bytes(data))))
        if forced:
            page.route_web_socket("**/_stcore/stream", lambda ws: _name_the_page(ws, address.split("?")[0]))
        page.goto(f"{server.url}/{address}", wait_until="domcontentloaded")
        page.get_by_role("button", name="Log in").wait_for(timeout=30_000)
        page.wait_for_timeout(1500)  # anything a page run sent before the gate would have arrived by now
        body = page.locator("body").inner_text()
        assert page.get_by_role("textbox", name="Password").count() == 1
        assert page.locator('[data-testid="stException"]').count() == 0, server.output()
        page.close()
    finally:
        server.stop()
    received = b"".join(frames)
    assert received, "the browser received nothing over the websocket"
    leaked = sorted(s for s in secrets if s.encode() in received or s in body)
    assert leaked == [], f"/{address} sent study data before the login: {leaked[:10]}"


def _name_the_page(ws, page_name: str) -> None:
    server = ws.connect_to_server()

    def to_server(message):
        if isinstance(message, bytes):
            back = BackMsg()
            back.ParseFromString(message)
            if back.HasField("rerun_script"):
                back.rerun_script.page_script_hash = ""
                back.rerun_script.page_name = page_name
                message = back.SerializeToString()
        server.send(message)

    ws.on_message(to_server)


def _bytes(data) -> bytes:
    return data if isinstance(data, bytes) else data.encode()


@pytest.mark.parametrize("name", ["audit", "users", "timeline", "import-export", "log-interview", "overview"])
def test_a_page_file_run_on_its_own_shows_nothing_of_the_study(monkeypatch, seeded_path, name):
    """A page file run as a script of its own (no `dashboard.py`, no login) stops at its first call, `page_gate`:
    no title of its own, no data, only where to log in."""
    monkeypatch.setenv("INNOVATION_TRACKER_DB", str(seeded_path))
    monkeypatch.setenv("INNOVATION_TRACKER_TODAY", DEMO_TODAY.isoformat())
    at = AppTest.from_file(f"../../pages/{name}.py", default_timeout=60).run()
    assert not at.exception
    assert [t.value for t in at.title] == []
    assert [i.value for i in at.info] == [
        "Open the dashboard (`streamlit run dashboard.py`) and log in to see this page."
    ]
    assert len(at.main) == 1


def test_a_page_sent_through_the_entry_page_opens_after_it_with_its_query(monkeypatch, seeded_path):
    """In folder mode (AppTest forgets `st.navigation` before every run, as a fresh server would not have it yet) a
    request for a page runs the page file itself; its gate sends the run through `dashboard.py`, and the
    navigation then opens the page asked for, with the URL's query, rather than the first page."""
    monkeypatch.setattr(app_test, "PagesManager", PagesManager)
    monkeypatch.setenv("INNOVATION_TRACKER_DB", str(seeded_path))
    monkeypatch.setenv("INNOVATION_TRACKER_TODAY", DEMO_TODAY.isoformat())
    at = AppTest.from_file("../../dashboard.py", default_timeout=60)
    at.session_state["viewer"] = EVALUATOR
    at.run()
    at.query_params["project"] = "CARE"
    at.switch_page("pages/timeline.py").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Project timeline"]
    assert at.selectbox[0].value == "CARE"


def test_every_page_file_is_named_as_its_address():
    """Before a fresh server's first `st.navigation`, Streamlit knows a page by its file name only: a page whose
    address differs from its file name (`/log-interview` served by `log_interview.py`) is "not found" there."""
    assert [Path(spec.path).stem for spec in navigation.PAGES] == [spec.url_path for spec in navigation.PAGES]


@pytest.mark.parametrize("address", ["log-interview?project=CARE", "import-export", "data-quality"])
def test_a_bookmarked_address_as_a_fresh_servers_first_request_opens_its_page_after_the_login(
    browser, seeded_path, tmp_path, address
):
    server = Server(seeded_path, DEMO_TODAY.isoformat(), tmp_path / "streamlit.log")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.goto(f"{server.url}/{address}", wait_until="domcontentloaded")
        login(page, "demo-evaluator", accounts.DEMO_PASSWORD)
        title = next(spec.title for spec in navigation.PAGES if spec.url_path == address.split("?")[0])
        page.get_by_role("heading", name=title).first.wait_for(timeout=30_000)
        assert page.get_by_text("Page not found").count() == 0
        assert page.url.split("/")[-1] == address
        assert page.locator('[data-testid="stException"]').count() == 0, server.output()
        page.close()
    finally:
        server.stop()
