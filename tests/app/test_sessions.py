"""Staying logged in: session tokens, their limits and their revocation, on a real DuckDB file; and the log-in gate
keeping its session in the database (AppTest). The browser journeys are in test_sessions_browser.py."""

import datetime as dt
import hashlib
import secrets

import pytest

from innovation_tracker import storage
from innovation_tracker.app import accounts, sessions
from innovation_tracker.domain.errors import TrackerError
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.ui import auth
from tests.conftest import DEMO_TODAY
from tests.support.apptest import open_page

NOW = dt.datetime(2026, 3, 2, 9, 30)
LIMITS = sessions.Limits(idle=dt.timedelta(hours=8), absolute=dt.timedelta(days=7))
ADMIN = Viewer("root", AccountRole.ADMIN)
PASSWORD = "correct horse battery"
TESS = Viewer("tess", AccountRole.TEAM, frozenset({"ART", "BEE"}))


@pytest.fixture
def con(study_db):
    """Two projects, an admin (`root`) and a team account linked to both projects (`tess`)."""
    study_db.execute(
        "INSERT INTO project (project_code, name, setting, relation_to_statutory)"
        " VALUES ('ART', 'Arts on prescription', 'community', 'external'), ('BEE', 'Beehive', 'nhs', 'internal')"
    )
    accounts.create_first_admin(study_db, "root", PASSWORD)
    accounts.add_account(study_db, ADMIN, "tess", role="team", projects=["ART", "BEE"], password=PASSWORD)
    return study_db


def start(con, viewer=TESS, now=NOW):
    return sessions.start(con, viewer, "password", now=now, limits=LIMITS)


def resume(con, token, now=NOW):
    live = sessions.resume(con, token, now=now, limits=LIMITS)
    return None if live is None else live.viewer


def test_a_token_has_256_random_bits_and_only_its_hash_is_stored(con):
    started = start(con)
    assert len(started.token) >= 43 and started.token != start(con).token
    assert started.token_hash == hashlib.sha256(started.token.encode()).hexdigest()
    assert started.expires_at == NOW + dt.timedelta(days=7)
    rows = con.execute("SELECT * FROM login_session").fetchall()
    assert len(rows) == 2
    assert not any(started.token in str(value) for row in rows for value in row)
    row = con.execute(
        "SELECT username, method, created_at, last_seen, expires_at, revoked_at FROM login_session"
        " WHERE token_hash = ?",
        [started.token_hash],
    ).fetchone()
    assert row == ("tess", "password", NOW, NOW, NOW + dt.timedelta(days=7), None)


def test_a_token_resumes_its_session_as_the_account_stands(con):
    started = start(con)
    assert resume(con, started.token, NOW + dt.timedelta(hours=1)) == TESS
    live = sessions.check(con, started.token_hash, now=NOW, limits=LIMITS)
    assert live is not None and live.method == "password"


@pytest.mark.parametrize(
    "token",
    [secrets.token_urlsafe(32), "", "x" * 300, "' OR 1=1 --"],
    ids=["random", "empty", "too long", "sql"],
)
def test_a_forged_token_is_refused(con, token):
    start(con)
    assert resume(con, token) is None


def test_a_stored_hash_used_as_the_token_is_refused(con):
    started = start(con)
    assert resume(con, started.token_hash) is None


def test_a_session_ends_at_its_absolute_limit_however_busy(con):
    started = start(con)
    for hours in range(0, 7 * 24, 6):
        assert resume(con, started.token, NOW + dt.timedelta(hours=hours, minutes=1)) == TESS
    assert resume(con, started.token, NOW + dt.timedelta(days=7)) is None


def test_a_session_ends_after_the_idle_limit_and_activity_keeps_it(con):
    started = start(con)
    assert resume(con, started.token, NOW + dt.timedelta(hours=7, minutes=59)) == TESS
    # seen at 7:59, so alive until 15:59 after the log-in
    assert resume(con, started.token, NOW + dt.timedelta(hours=15, minutes=58)) == TESS
    assert resume(con, started.token, NOW + dt.timedelta(hours=23, minutes=59)) is None


def test_a_rerun_writes_last_seen_at_most_once_a_minute(con):
    started = start(con)
    writes = storage.local_writes()
    for seconds in range(0, 60, 5):
        assert resume(con, started.token, NOW + dt.timedelta(seconds=seconds)) == TESS
    assert storage.local_writes() == writes, "checks within a minute only read"
    resume(con, started.token, NOW + dt.timedelta(minutes=2))
    last_seen = con.execute("SELECT last_seen FROM login_session").fetchone()[0]
    assert last_seen == NOW + dt.timedelta(minutes=2)


def test_logging_out_ends_every_session_of_the_account_and_no_other(con):
    laptop, phone, admin = start(con), start(con), start(con, ADMIN)
    sessions.end_all(con, "tess", now=NOW)
    assert resume(con, laptop.token) is None and resume(con, phone.token) is None
    assert resume(con, admin.token) == ADMIN


@pytest.mark.parametrize(
    "change",
    [
        lambda con: accounts.set_active(con, ADMIN, "tess", False),
        lambda con: accounts.set_password(con, ADMIN, "tess", "another good password"),
        lambda con: accounts.change_account(con, ADMIN, "tess", role="funder", projects=[]),
        lambda con: accounts.change_account(con, ADMIN, "tess", role="team", projects=["ART"]),
    ],
    ids=["deactivation", "password", "role", "projects"],
)
def test_an_account_change_ends_its_sessions(con, change):
    started, admin = start(con), start(con, ADMIN)
    change(con)
    assert resume(con, started.token) is None
    assert con.execute("SELECT revoked_at IS NOT NULL FROM login_session WHERE username = 'tess'").fetchone()[0]
    assert resume(con, admin.token) == ADMIN


def test_a_session_ended_by_deactivation_stays_ended_after_reactivation(con):
    started = start(con)
    accounts.set_active(con, ADMIN, "tess", False)
    accounts.set_active(con, ADMIN, "tess", True)
    assert resume(con, started.token) is None
    assert accounts.log_in(con, "tess", PASSWORD, now=NOW) == TESS, "a new log-in works"


def test_an_account_changed_behind_the_services_back_ends_its_sessions_for_good(con):
    """The account stamp: a write that forgets to revoke (raw SQL here) still ends the sessions, and changing the
    account back does not bring them back."""
    started = start(con)
    con.execute("DELETE FROM user_project WHERE username = 'tess' AND project_code = 'BEE'")
    assert resume(con, started.token) is None
    con.execute("INSERT INTO user_project VALUES ('tess', 'BEE')")
    assert resume(con, started.token) is None


def test_a_forged_token_costs_no_write(con):
    start(con)
    writes = storage.local_writes()
    for _ in range(5):
        assert resume(con, secrets.token_urlsafe(32)) is None
    assert storage.local_writes() == writes


def test_limits_must_be_positive():
    with pytest.raises(ValueError):
        sessions.Limits(idle=dt.timedelta(0))


def test_the_gate_keeps_its_session_in_the_database_and_ends_it_when_the_account_changes(monkeypatch, seeded_path):
    at = open_page(monkeypatch, seeded_path, viewer=None, today=DEMO_TODAY)
    next(t for t in at.text_input if t.label == "Username").input("demo-funder")
    next(t for t in at.text_input if t.label == "Password").input(accounts.DEMO_PASSWORD)
    at = next(b for b in at.button if b.label == "Log in").click().run()
    assert at.session_state["viewer"] == Viewer("demo-funder", AccountRole.FUNDER)
    hashed = at.session_state[auth.TOKEN_KEY]
    token, _ = at.session_state[auth.COOKIE_KEY]
    assert hashlib.sha256(token.encode()).hexdigest() == hashed
    con = storage.connect(seeded_path)
    assert con.execute("SELECT count(*) FROM login_session WHERE token_hash = ?", [hashed]).fetchone()[0] == 1
    assert not con.execute(
        "SELECT count(*) FROM login_session WHERE list_contains([token_hash, username, method], ?)", [token]
    ).fetchone()[0]

    accounts.change_account(con, Viewer("demo-admin", AccountRole.ADMIN), "demo-funder", role="evaluator")
    at = at.run()
    assert not at.exception
    assert "viewer" not in at.session_state
    assert any("Your session has ended" in i.value for i in at.info)
    assert [t.label for t in at.text_input] == ["Username", "Password"]


def test_sessions_ended_a_month_ago_are_forgotten_when_a_new_one_starts(con):
    old = start(con, now=NOW - dt.timedelta(days=40))
    recent = start(con, now=NOW - dt.timedelta(days=3))
    sessions.end_all(con, "tess", now=NOW - dt.timedelta(days=2))
    start(con, ADMIN)
    kept = {row[0] for row in con.execute("SELECT token_hash FROM login_session").fetchall()}
    assert old.token_hash not in kept and recent.token_hash in kept and len(kept) == 2


def test_the_limits_are_settings_of_the_environment(monkeypatch):
    from innovation_tracker.ui import sessions as cookies

    monkeypatch.delenv(cookies.IDLE_ENV, raising=False)
    monkeypatch.delenv(cookies.ABSOLUTE_ENV, raising=False)
    assert cookies.limits() == sessions.Limits(dt.timedelta(hours=8), dt.timedelta(days=7))
    monkeypatch.setenv(cookies.IDLE_ENV, "0.5")
    monkeypatch.setenv(cookies.ABSOLUTE_ENV, "1")
    assert cookies.limits() == sessions.Limits(dt.timedelta(minutes=30), dt.timedelta(days=1))
    for wrong in ("eight", "0", "-1"):
        monkeypatch.setenv(cookies.IDLE_ENV, wrong)
        with pytest.raises(
            TrackerError,
            match=f"INNOVATION_TRACKER_SESSION_IDLE_HOURS must be a positive number of hours .it is '{wrong}'",
        ):
            cookies.limits()
