"""The log-in gate and the Users page, rendered by AppTest against real DuckDB files."""

import datetime as dt
import json
from dataclasses import replace

import pytest
import streamlit as st

from innovation_tracker import storage
from innovation_tracker.app import accounts
from innovation_tracker.domain.model import AccountRole, Viewer
from tests.conftest import DEMO_TODAY, make_empty_study
from tests.support.apptest import open_page
from tests.support.rendered import text_of

DEMO_ADMIN = Viewer("demo-admin", AccountRole.ADMIN)
SSO_SECRETS = {
    "auth": {
        "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
        "cookie_secret": "not a secret, only a test",
        "client_id": "innovation-tracker",
        "client_secret": "not a secret either",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
    }
}


def start(monkeypatch, path, *, viewer=None, secrets=None, user=None, today=DEMO_TODAY):
    return open_page(monkeypatch, path, viewer=viewer, today=today, secrets=secrets, user=user)


def run(target):
    """Run the app (or the app of a widget just clicked or set) and fail on any exception it shows."""
    at = target.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def field(at, label):
    return next(t for t in at.text_input if t.label == label)


def button(at, label):
    return next(b for b in at.button if text_of(b.label) == label)


def log_in(at, username, password):
    field(at, "Username").input(username)
    field(at, "Password").input(password)
    return run(button(at, "Log in").click())


def titles(at):
    return [t.value for t in at.title]


def errors(at):
    """The error messages shown, as a reader sees them, without the form's 'Nothing was saved' heading."""
    shown = [text_of(e.value) for e in at.error]
    return [e for e in shown if not e.startswith("Nothing was saved.")]


def toasts(at):
    return [text_of(t.value) for t in at.toast]


def logged_in(at):
    return at.session_state.get("viewer")


def test_the_log_in_form_comes_before_any_page(monkeypatch, seeded_path):
    at = start(monkeypatch, seeded_path)
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert [b.label for b in at.button] == ["Log in"]
    assert "Portfolio overview" not in titles(at) and not at.metric
    assert logged_in(at) is None
    assert any("demo-evaluator" in c.value for c in at.caption), "the demo database names its demo accounts"


@pytest.mark.parametrize(
    ("username", "password"), [("demo-evaluator", "wrong password"), ("nobody", "innovation-demo")]
)
def test_a_wrong_password_or_an_unknown_username_gets_the_same_message(monkeypatch, seeded_path, username, password):
    at = log_in(start(monkeypatch, seeded_path), username, password)
    assert errors(at) == [accounts.WRONG_CREDENTIALS]
    assert logged_in(at) is None and "Portfolio overview" not in titles(at)


def test_logging_in_opens_the_overview_as_that_account(monkeypatch, seeded_path):
    at = log_in(start(monkeypatch, seeded_path), "demo-evaluator", "innovation-demo")
    assert logged_in(at) == Viewer("demo-evaluator", AccountRole.EVALUATOR)
    assert titles(at) == ["Portfolio overview"]
    assert at.metric[0].value == "11"
    assert any("Logged in as demo-evaluator · Evaluator" in text_of(c.value) for c in at.sidebar.caption)


def test_five_wrong_passwords_lock_the_account(monkeypatch, seeded_path):
    at = start(monkeypatch, seeded_path)
    for _ in range(4):
        assert errors(log_in(at, "demo-funder", "not the password")) == [accounts.WRONG_CREDENTIALS]
    assert errors(log_in(at, "demo-funder", "not the password")) == [accounts.WRONG_CREDENTIALS]
    assert errors(log_in(at, "demo-funder", "innovation-demo")) == [accounts.WRONG_CREDENTIALS]
    assert storage.connect(seeded_path).execute(
        "SELECT locked_until IS NOT NULL FROM user_account WHERE username = 'demo-funder'"
    ).fetchone() == (True,)
    assert logged_in(at) is None


def test_logging_out_returns_to_the_form_and_is_audited(monkeypatch, seeded_path):
    at = log_in(start(monkeypatch, seeded_path), "demo-funder", "innovation-demo")
    at = run(at.sidebar.button(key="log_out").click())
    assert logged_in(at) is None
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    con = storage.connect(seeded_path)
    actions = [r[0] for r in con.execute("SELECT action FROM audit_entry WHERE actor = 'demo-funder'").fetchall()]
    assert actions == ["login", "logout"]


def test_a_deactivated_account_is_logged_out_at_its_next_click(monkeypatch, seeded_path):
    at = log_in(start(monkeypatch, seeded_path), "demo-funder", "innovation-demo")
    con = storage.connect(seeded_path)
    accounts.set_active(con, DEMO_ADMIN, "demo-funder", False)
    at = run(at)
    assert logged_in(at) is None
    assert any("Your account has been deactivated" in i.value for i in at.info)


def test_a_new_study_without_accounts_asks_for_the_first_admin_and_nothing_else(monkeypatch, tmp_path):
    path = make_empty_study(tmp_path / "empty.duckdb")
    at = start(monkeypatch, path, today=dt.date(2025, 3, 1))
    assert titles(at) == ["Set up the first administrator"]
    assert [t.label for t in at.text_input] == [
        "Username",
        "Display name",
        "E-mail (optional)",
        "Password",
        "Repeat password",
    ]
    assert not at.sidebar.button and not at.metric and not at.info


def test_the_first_admin_form_explains_what_is_wrong_and_saves_nothing(monkeypatch, tmp_path):
    path = make_empty_study(tmp_path / "empty.duckdb")
    at = start(monkeypatch, path, today=dt.date(2025, 3, 1))
    field(at, "Username").input("Root Admin")
    field(at, "Password").input("too short")
    field(at, "Repeat password").input("too short")
    at = run(button(at, "Create administrator").click())
    assert errors(at) == [
        "Username format: 'root admin' is not a valid username: use 2 to 64 lower-case letters, digits, '.', '_'"
        " or '-', starting with a letter or digit",
        "Password length: a password needs at least 10 characters (this one has 9)",
    ]
    field(at, "Username").input("root")
    field(at, "Password").input("long enough now")
    at = run(button(at, "Create administrator").click())
    assert errors(at) == ["Password repeat: the two passwords differ"]
    assert logged_in(at) is None
    assert storage.count_accounts(storage.connect(path)) == 0


def test_the_first_admin_is_created_once_and_logged_in(monkeypatch, tmp_path):
    path = tmp_path / "bare.duckdb"
    storage.connect(path).close()
    at = start(monkeypatch, path)
    field(at, "Username").input("root")
    field(at, "Password").input("long enough now")
    field(at, "Repeat password").input("long enough now")
    at = run(button(at, "Create administrator").click())
    assert logged_in(at) == Viewer("root", AccountRole.ADMIN)
    assert titles(at) == ["Portfolio overview"]
    st.cache_resource.clear()
    again = start(monkeypatch, path)
    assert [t.label for t in again.text_input] == ["Username", "Password"]
    assert logged_in(log_in(again, "root", "long enough now")) == Viewer("root", AccountRole.ADMIN)


def test_single_sign_on_offers_its_button_instead_of_the_form(monkeypatch, seeded_path):
    at = start(monkeypatch, seeded_path, secrets=SSO_SECRETS, user={"is_logged_in": False})
    assert [b.label for b in at.button] == ["Log in with single sign-on"]
    assert not at.text_input and logged_in(at) is None


def test_single_sign_on_takes_role_and_projects_from_the_account_with_that_e_mail(monkeypatch, seeded_path):
    user = {"is_logged_in": True, "email": "Demo-Team-Arts@Example.org", "name": "Arts team"}
    at = start(monkeypatch, seeded_path, secrets=SSO_SECRETS, user=user)
    assert logged_in(at) == Viewer("demo-team-arts", AccountRole.TEAM, frozenset({"ARTS"}))
    assert titles(at) == ["Arts on Referral (ARTS)"]  # a team lands on its own project


def test_single_sign_on_without_an_account_shows_no_access(monkeypatch, seeded_path):
    user = {"is_logged_in": True, "email": "stranger@example.org"}
    at = start(monkeypatch, seeded_path, secrets=SSO_SECRETS, user=user)
    assert titles(at) == ["No access"]
    assert "You signed in as stranger@example.org, but no active account" in errors(at)[0]
    assert [b.label for b in at.button] == ["Log out"]
    assert logged_in(at) is None and not at.metric


def test_under_single_sign_on_the_first_admin_is_whoever_signs_in_first(monkeypatch, tmp_path):
    path = make_empty_study(tmp_path / "empty.duckdb")
    user = {"is_logged_in": True, "email": "Founder@Example.org"}
    at = start(monkeypatch, path, secrets=SSO_SECRETS, user=user, today=dt.date(2025, 3, 1))
    assert titles(at) == ["Set up the first administrator"]
    assert [(t.label, t.value, t.disabled) for t in at.text_input][-1] == ("E-mail", "Founder@Example.org", True)
    assert "Password" not in [t.label for t in at.text_input]
    field(at, "Username").input("founder")
    at = run(button(at, "Create administrator").click())
    assert logged_in(at) == Viewer("founder", AccountRole.ADMIN)
    created = account(path, "founder")
    assert (created.email, created.password_hash) == ("Founder@Example.org", None)


def users_page(monkeypatch, path):
    at = start(monkeypatch, path, viewer=DEMO_ADMIN)
    return run(at.switch_page("pages/users.py"))


def account(path, username):
    con = storage.connect(path)
    try:
        return storage.get_account(con, username)
    finally:
        con.close()


def account_count(path):
    con = storage.connect(path)
    try:
        return storage.count_accounts(con)
    finally:
        con.close()


def test_the_users_page_lists_every_account(monkeypatch, seeded_path):
    at = users_page(monkeypatch, seeded_path)
    assert titles(at) == ["Users"]
    table = at.dataframe[0].value
    assert len(table) == 14
    assert list(table.columns) == ["username", "display_name", "email", "role", "projects", "active", "locked_until"]
    assert table.set_index("username").loc["demo-team-arts", "projects"] == "ARTS"


def test_adding_an_account_with_mistakes_says_what_is_wrong_and_saves_nothing(monkeypatch, seeded_path):
    at = users_page(monkeypatch, seeded_path)
    at.text_input(key="add_account:username").input("New Person")
    at.selectbox(key="add_account:role").select(AccountRole.TEAM)
    at.text_input(key="add_account:password").input("short")
    at = run(button(at, "Add account").click())
    assert errors(at) == [
        "Username format: 'new person' is not a valid username: use 2 to 64 lower-case letters, digits, '.', '_'"
        " or '-', starting with a letter or digit",
        "Team projects: a team account needs at least one project",
        "Password length: a password needs at least 10 characters (this one has 5)",
    ]
    assert account_count(seeded_path) == 14


def test_adding_an_account(monkeypatch, seeded_path):
    at = users_page(monkeypatch, seeded_path)
    at.text_input(key="add_account:username").input("tess")
    at.text_input(key="add_account:email").input("tess@example.org")
    at.selectbox(key="add_account:role").select(AccountRole.TEAM)
    at.multiselect(key="add_account:projects").select("BEAT")
    at.text_input(key="add_account:password").input("a long enough password")
    at = run(button(at, "Add account").click())
    assert toasts(at) == ["Added the account tess."]
    assert "tess" in at.dataframe[0].value.username.tolist()
    assert at.text_input(key="add_account:username").value == ""
    added = account(seeded_path, "tess")
    assert (added.role, added.projects, added.email) == (AccountRole.TEAM, frozenset({"BEAT"}), "tess@example.org")


def test_changing_an_account_against_the_rules_saves_nothing(monkeypatch, seeded_path):
    at = users_page(monkeypatch, seeded_path)
    at = run(at.selectbox(key="change_account").select("demo-evaluator"))
    assert at.text_input(key="change_account:demo-evaluator:email").value == "demo-evaluator@example.org"
    at.selectbox(key="change_account:demo-evaluator:role").select(AccountRole.TEAM)
    at.text_input(key="change_account:demo-evaluator:email").input("DEMO-FUNDER@example.org")
    at = run(button(at, "Save changes").click())
    assert errors(at) == [
        "Email taken: DEMO-FUNDER@example.org is already the e-mail of another account",
        "Team projects: a team account needs at least one project",
    ]
    unchanged = account(seeded_path, "demo-evaluator")
    assert (unchanged.role, unchanged.email) == (AccountRole.EVALUATOR, "demo-evaluator@example.org")


def test_changing_a_team_accounts_projects(monkeypatch, seeded_path):
    at = users_page(monkeypatch, seeded_path)
    at = run(at.selectbox(key="change_account").select("demo-team-arts"))
    at.multiselect(key="change_account:demo-team-arts:projects").set_value(["ARTS", "BEAT"])
    at = run(button(at, "Save changes").click())
    assert toasts(at) == ["Saved the changes to demo-team-arts: projects."]
    assert account(seeded_path, "demo-team-arts").projects == {"ARTS", "BEAT"}


def test_a_short_new_password_is_refused(monkeypatch, seeded_path):
    before = account(seeded_path, "demo-funder").password_hash
    at = users_page(monkeypatch, seeded_path)
    at = run(at.selectbox(key="change_account").select("demo-funder"))
    at.text_input(key="reset_password:demo-funder:password").input("tiny")
    at = run(button(at, "Reset password").click())
    assert errors(at) == ["Password length: a password needs at least 10 characters (this one has 4)"]
    assert account(seeded_path, "demo-funder").password_hash == before


def test_an_admin_cannot_deactivate_their_own_account_but_can_others(monkeypatch, seeded_path):
    at = users_page(monkeypatch, seeded_path)
    assert at.selectbox(key="change_account").value == "demo-admin"
    at = run(button(at, "Deactivate demo-admin").click())
    assert errors(at) == ["Own account: you cannot deactivate the account you are logged in with"]
    assert account(seeded_path, "demo-admin").active
    at = run(at.selectbox(key="change_account").select("demo-funder"))
    at = run(button(at, "Deactivate demo-funder").click())
    assert toasts(at) == ["demo-funder is deactivated: it can no longer log in."]
    assert not account(seeded_path, "demo-funder").active
    assert [text_of(b.label) for b in at.button if "activate" in b.label] == ["Reactivate demo-funder"]


def last(widgets, label):
    """The last widget with this label: the Users page's change form comes after its add form."""
    return [w for w in widgets if text_of(w.label) == label][-1]


def test_the_change_form_follows_the_account_picker_and_saves_only_what_changed(monkeypatch, seeded_path):
    con = storage.connect(seeded_path)
    accounts.change_account(con, DEMO_ADMIN, "demo-team-arts", projects=["ARTS", "BEAT"])
    con.close()
    before = account(seeded_path, "demo-team-arts")
    at = users_page(monkeypatch, seeded_path)
    at = run(at.selectbox(key="change_account").select("demo-funder"))
    assert last(at.text_input, "Display name").value == "Demo funder"
    at = run(at.selectbox(key="change_account").select("demo-team-arts"))
    assert last(at.text_input, "Display name").value == "Demo team of ARTS"
    assert last(at.text_input, "E-mail").value == "demo-team-arts@example.org"
    assert last(at.selectbox, "Role").value == AccountRole.TEAM
    assert last(at.multiselect, "Projects").value == ["ARTS", "BEAT"]
    last(at.text_input, "Display name").input("The ARTS team")
    at = run(button(at, "Save changes").click())
    assert account(seeded_path, "demo-team-arts") == replace(before, display_name="The ARTS team")
    con = storage.connect(seeded_path)
    old, new = con.execute(
        "SELECT before, after FROM audit_entry WHERE entity_key = 'demo-team-arts' AND action = 'update'"
        " ORDER BY audit_id DESC LIMIT 1"
    ).fetchone()
    con.close()
    changed = {k for k, v in json.loads(new).items() if json.loads(old)[k] != v}
    assert changed == {"display_name"}


def test_locked_accounts_are_listed_for_the_admin_to_unlock(monkeypatch, seeded_path):
    con = storage.connect(seeded_path)
    for _ in range(accounts.MAX_FAILED_ATTEMPTS):
        with pytest.raises(accounts.LoginFailed):
            accounts.log_in(con, "demo-team-arts", "not the password", now=dt.datetime.now())
    con.close()
    at = users_page(monkeypatch, seeded_path)
    assert "Locked accounts" in [s.value for s in at.subheader]
    assert any(text_of(m.value).startswith("demo-team-arts, locked until") for m in at.markdown)
    at = run(at.button(key="unlock:demo-team-arts").click())
    assert toasts(at) == ["demo-team-arts is unlocked and can log in again."]
    assert "Locked accounts" not in [s.value for s in at.subheader]
    assert account(seeded_path, "demo-team-arts").locked_until is None
    con = storage.connect(seeded_path)
    actor, after = con.execute(
        "SELECT actor, after FROM audit_entry WHERE entity_key = 'demo-team-arts' ORDER BY audit_id DESC LIMIT 1"
    ).fetchone()
    con.close()
    assert (actor, json.loads(after)) == ("demo-admin", {"failed_attempts": 0, "locked_until": None})
