"""One viewer per tab: what a viewer prepared leaves the tab with them, and a download checks its session when it is
served. AppTest against real DuckDB files, through the real log-in form; the browser journeys are in
tests/browser/test_one_viewer_per_tab_browser.py."""

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from innovation_tracker import storage
from innovation_tracker.app import accounts, sessions
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.ui import WANTED_PAGE, auth, downloads
from tests.support.apptest import open_page
from tests.support.rendered import text_of

DEMO_ADMIN = Viewer("demo-admin", AccountRole.ADMIN)
EVALUATOR = Viewer("demo-evaluator", AccountRole.EVALUATOR)
PREPARED = {"export_file": "Prepare export", "backup_file": "Prepare backup"}


def run(target) -> AppTest:
    at = target.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def log_in(at: AppTest, username: str) -> AppTest:
    next(t for t in at.text_input if t.label == "Username").input(username)
    next(t for t in at.text_input if t.label == "Password").input(accounts.DEMO_PASSWORD)
    return run(next(b for b in at.button if text_of(b.label) == "Log in").click())


def click(at: AppTest, label: str) -> AppTest:
    return run(next(b for b in at.button if text_of(b.label) == label).click())


def import_export(at: AppTest) -> AppTest:
    at.switch_page("pages/import-export.py")
    return run(at)


def prepared_as_admin(monkeypatch, path) -> AppTest:
    """demo-admin logged in through the form, with every download of Import and export prepared in the tab."""
    at = log_in(open_page(monkeypatch, path, viewer=None), "demo-admin")
    at = import_export(at)
    for key, label in PREPARED.items():
        at = click(at, label)
        assert key in at.session_state, key
    return at


def leftovers(at: AppTest, monkeypatch, path) -> set[str]:
    """What the tab holds beyond what a new tab at the log-in page holds, and beyond the gate's own keys."""
    fresh = open_page(monkeypatch, path, viewer=None)
    return set(at.session_state.to_dict()) - set(fresh.session_state.to_dict()) - auth.SURVIVES_A_CHANGE_OF_VIEWER


def offered_downloads(at: AppTest) -> list[str]:
    return [text_of(b.proto.label) for b in at.get("download_button")]


def test_log_out_leaves_nothing_of_the_viewer_in_the_tab(monkeypatch, seeded_path):
    at = prepared_as_admin(monkeypatch, seeded_path)
    assert any(label.startswith("Download export") for label in offered_downloads(at))
    at = run(at.sidebar.button(key="log_out").click())
    assert leftovers(at, monkeypatch, seeded_path) == set(), "log-out keeps only the gate's own keys"
    assert auth.CLEAR_KEY in at.session_state


def test_the_next_user_of_the_tab_is_offered_nothing_the_last_one_prepared(monkeypatch, seeded_path):
    at = prepared_as_admin(monkeypatch, seeded_path)
    at = run(at.sidebar.button(key="log_out").click())
    at = import_export(log_in(at, "demo-team-arts"))
    assert at.session_state["viewer"] == Viewer("demo-team-arts", AccountRole.TEAM, frozenset({"ARTS"}))
    assert not set(PREPARED) & set(at.session_state.to_dict())
    assert "Prepare export" in [text_of(b.label) for b in at.button], "the team's own export is offered to prepare"
    assert offered_downloads(at) == [], "nothing prepared by demo-admin is offered"


def test_a_lowered_role_ends_the_session_and_the_next_log_in_starts_empty(monkeypatch, seeded_path):
    at = prepared_as_admin(monkeypatch, seeded_path)
    with storage.connect(seeded_path) as con:
        accounts.change_account(con, DEMO_ADMIN, "demo-evaluator", role=AccountRole.ADMIN)  # a second admin first
        accounts.change_account(con, Viewer("demo-evaluator", AccountRole.ADMIN), "demo-admin", role="funder")
    at = run(at)
    assert "viewer" not in at.session_state
    assert leftovers(at, monkeypatch, seeded_path) == set()
    at = log_in(at, "demo-admin")
    assert at.session_state["viewer"].role is AccountRole.FUNDER
    assert not set(PREPARED) & set(at.session_state.to_dict())


def test_the_list_of_what_survives_a_change_of_viewer_is_the_gates_own_keys():
    assert {auth.CLEAR_KEY, auth.NOTICE_KEY, WANTED_PAGE} == auth.SURVIVES_A_CHANGE_OF_VIEWER
    assert not {auth.SESSION_KEY, auth.TOKEN_KEY, auth.COOKIE_KEY, auth.METHOD_KEY} & auth.SURVIVES_A_CHANGE_OF_VIEWER


def _guard_script():
    import streamlit as st

    from innovation_tracker.ui import downloads

    st.session_state["guard"] = downloads.session_guard()


@pytest.fixture
def guarded(monkeypatch, seeded_path):
    """A download's session check, drawn in a run of demo-evaluator's live session, and that session's hash."""
    monkeypatch.setenv("INNOVATION_TRACKER_DB", str(seeded_path))
    with storage.connect(seeded_path) as con:
        started = sessions.start(con, EVALUATOR, "password", now=dt.datetime.now(), limits=sessions.Limits())
    at = AppTest.from_function(_guard_script, default_timeout=60)
    at.session_state["viewer"] = EVALUATOR
    at.session_state[auth.TOKEN_KEY] = started.token_hash
    at = run(at)
    return at.session_state["guard"]


def test_a_download_is_served_while_its_session_is_live(guarded):
    guarded()  # no exception: the same viewer, still logged in


@pytest.mark.parametrize(
    "change",
    [
        lambda con: accounts.change_account(con, DEMO_ADMIN, "demo-evaluator", role="funder"),
        lambda con: accounts.set_active(con, DEMO_ADMIN, "demo-evaluator", False),
        lambda con: sessions.end_all(con, "demo-evaluator", now=dt.datetime.now()),
        lambda con: accounts.set_password(con, DEMO_ADMIN, "demo-evaluator", "another password"),
    ],
    ids=["lowered to funder", "deactivated", "logged out elsewhere", "password changed"],
)
def test_a_download_is_refused_once_its_session_has_ended_or_changed(guarded, seeded_path, change):
    with storage.connect(seeded_path) as con:
        change(con)
    with pytest.raises(sessions.SessionEnded, match="Log in again"):
        guarded()


def test_a_download_drawn_without_a_session_is_refused(monkeypatch, seeded_path):
    monkeypatch.setenv("INNOVATION_TRACKER_DB", str(seeded_path))
    at = AppTest.from_function(_guard_script, default_timeout=60)
    at.session_state["viewer"] = EVALUATOR
    at = run(at)
    with pytest.raises(sessions.SessionEnded):
        at.session_state["guard"]()


def test_every_download_of_every_page_goes_through_the_guarded_button():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sources = {path: path.read_text() for path in [*root.glob("pages/*.py"), root / "dashboard.py"]}
    sources |= {path: path.read_text() for path in (root / "innovation_tracker").rglob("*.py")}
    direct = [str(p) for p, text in sources.items() if ".download_button(" in text and p.name != "downloads.py"]
    assert direct == [], "call innovation_tracker.ui.downloads.download_button, which checks the session"
    assert downloads.download_button.__module__ == "innovation_tracker.ui.downloads"
