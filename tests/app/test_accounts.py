"""Accounts and logging in: hashing, password rules, lockout, roles and projects, audit, demo accounts, CLI."""

import datetime as dt
import getpass
import io
import json

import pytest
from argon2 import PasswordHasher, extract_parameters

from innovation_tracker import storage
from innovation_tracker.app import accounts
from innovation_tracker.cli import main
from innovation_tracker.domain.errors import AccessDenied, ValidationError
from innovation_tracker.domain.model import PASSWORD_MAX_LENGTH, AccountRole, Viewer

NOW = dt.datetime(2026, 3, 2, 9, 30)
ADMIN = Viewer("root", AccountRole.ADMIN)
PASSWORD = "correct horse battery"


@pytest.fixture
def con(study_db):
    """A study with two projects and one admin account (`root`)."""
    study_db.execute(
        "INSERT INTO project (project_code, name, setting, relation_to_statutory)"
        " VALUES ('ART', 'Arts on prescription', 'community', 'external'), ('BEE', 'Beehive', 'nhs', 'internal')"
    )
    accounts.create_first_admin(study_db, "root", PASSWORD)
    return study_db


def audit(con, action=None):
    sql = "SELECT actor, action, entity_key, before, after FROM audit_entry WHERE entity = 'user_account'"
    rows = con.execute(sql + " ORDER BY audit_id").fetchall()
    return [r for r in rows if action is None or r[1] == action]


def failed_login(con, username, password="wrong password", now=NOW):
    with pytest.raises(accounts.LoginFailed) as failure:
        accounts.log_in(con, username, password, now=now)
    return failure.value.message


def problems(error: ValidationError):
    return {(p.field, p.rule): p.message for p in error.problems}


def test_passwords_are_stored_as_argon2id_hashes(con):
    accounts.add_account(con, ADMIN, "ann", role="evaluator", password=PASSWORD)
    stored = con.execute("SELECT password_hash FROM user_account WHERE username = 'ann'").fetchone()[0]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert accounts.password_matches(stored, PASSWORD)
    assert not accounts.password_matches(stored, PASSWORD.upper())
    assert not accounts.password_matches(None, PASSWORD)


@pytest.mark.parametrize(("password", "accepted"), [("", False), ("123456789", False), ("1234567890", True)])
def test_a_password_needs_ten_characters(con, password, accepted):
    if accepted:
        accounts.add_account(con, ADMIN, "ann", role="funder", password=password)
        return
    with pytest.raises(ValidationError) as error:
        accounts.add_account(con, ADMIN, "ann", role="funder", password=password)
    expected = f"a password needs at least 10 characters (this one has {len(password)})"
    assert problems(error.value) == {("password", "password_length"): expected}
    assert storage.get_account(con, "ann") is None


@pytest.mark.parametrize("username", ["a", "-ann", "ann smith", "ann@x", "é-ann", "a" * 65])
def test_usernames_must_have_the_allowed_form(con, username):
    with pytest.raises(ValidationError) as error:
        accounts.add_account(con, ADMIN, username, role="funder", password=PASSWORD)
    assert ("username", "username_format") in problems(error.value)


def test_usernames_are_taken_in_lower_case_and_only_once(con):
    accounts.add_account(con, ADMIN, " Ann.Smith ", role="funder", password=PASSWORD)
    assert storage.get_account(con, "ann.smith").role == AccountRole.FUNDER
    with pytest.raises(ValidationError) as error:
        accounts.add_account(con, ADMIN, "ann.smith", role="evaluator", password=PASSWORD)
    assert problems(error.value) == {("username", "username_taken"): "there is already an account 'ann.smith'"}


@pytest.mark.parametrize(
    ("role", "projects", "rule", "message"),
    [
        ("team", [], "team_projects", "a team account needs at least one project"),
        ("funder", ["ART"], "team_projects", "only team accounts have projects; a funder sees them all"),
        ("team", ["ART", "ZED"], "unknown_project", "no project has the code ZED"),
    ],
)
def test_roles_and_projects_must_agree(con, role, projects, rule, message):
    with pytest.raises(ValidationError) as error:
        accounts.add_account(con, ADMIN, "ann", role=role, projects=projects, password=PASSWORD)
    assert problems(error.value) == {("projects", rule): message}
    assert storage.get_account(con, "ann") is None


def test_only_an_admin_manages_accounts(con):
    evaluator = Viewer("eve", AccountRole.EVALUATOR)
    with pytest.raises(AccessDenied):
        accounts.add_account(con, evaluator, "ann", role="admin", password=PASSWORD)
    with pytest.raises(AccessDenied):
        accounts.set_password(con, evaluator, "root", "another password")
    assert storage.list_accounts(con, evaluator, NOW).empty
    assert storage.list_accounts(con, ADMIN, NOW).username.tolist() == ["root"]


def test_a_good_login_returns_the_viewer_and_is_audited(con):
    accounts.add_account(con, ADMIN, "tess", role="team", projects=["BEE", "ART"], password=PASSWORD)
    viewer = accounts.log_in(con, "Tess", PASSWORD, now=NOW)
    assert viewer == Viewer("tess", AccountRole.TEAM, frozenset({"ART", "BEE"}))
    assert audit(con, "login")[-1][:3] == ("tess", "login", "tess")


def test_wrong_password_and_unknown_username_get_the_same_message(con):
    assert failed_login(con, "root") == failed_login(con, "nobody") == accounts.WRONG_CREDENTIALS
    assert accounts.WRONG_CREDENTIALS.startswith("Unknown username or wrong password.")
    rows = audit(con, "login_failed")
    assert [(r[0], r[2], json.loads(r[4])["reason"]) for r in rows] == [
        (accounts.ANONYMOUS, "root", "wrong_password"),
        (accounts.ANONYMOUS, "nobody", "unknown_username"),
    ]


class Recorded:
    """A connection that notes the statements it is given before running them (any backend)."""

    def __init__(self, con) -> None:
        self._con, self.statements = con, []

    def execute(self, sql, *params):
        self.statements.append(" ".join(str(sql).split()))
        return self._con.execute(sql, *params)

    def __getattr__(self, name):
        return getattr(self._con, name)


def test_unknown_wrong_locked_and_deactivated_take_the_same_work(con, monkeypatch):
    """No timing oracle: each refusal checks one password (the account's, or a decoy with the same parameters) and
    runs the same statements; the audit still says why, and only the wrong password counts a failure."""
    accounts.add_account(con, ADMIN, "ann", role="funder", password=PASSWORD)
    accounts.add_account(con, ADMIN, "lou", role="team", projects=["ART"], password=PASSWORD)
    accounts.add_account(con, ADMIN, "dee", role="evaluator", password=PASSWORD)
    accounts.set_active(con, ADMIN, "dee", False)
    storage.write(con, lambda cur: storage.lock_account(cur, "lou", NOW + dt.timedelta(minutes=10)))
    hashed: list[str] = []
    verify, make = PasswordHasher.verify, PasswordHasher.hash
    monkeypatch.setattr(PasswordHasher, "verify", lambda self, h, p: hashed.append("verify") or verify(self, h, p))
    monkeypatch.setattr(PasswordHasher, "hash", lambda self, p, **kw: hashed.append("hash") or make(self, p, **kw))
    work = {}
    for name in ("nobody", "ann", "lou", "dee"):
        recorded, hashed[:] = Recorded(con), []
        assert failed_login(recorded, name, PASSWORD if name != "ann" else "wrong password") == (
            accounts.WRONG_CREDENTIALS
        )
        work[name] = (list(hashed), recorded.statements)
    assert work["nobody"] == work["ann"] == work["lou"] == work["dee"]
    assert work["ann"][0] == ["verify"]
    reasons = [(r[2], json.loads(r[4])) for r in audit(con, "login_failed")]
    assert reasons == [
        ("nobody", {"reason": "unknown_username"}),
        ("ann", {"reason": "wrong_password", "failed_attempts": 1}),
        ("lou", {"reason": "locked", "until": "2026-03-02 09:40:00"}),
        ("dee", {"reason": "inactive"}),
    ]
    assert [storage.get_account(con, name).failed_attempts for name in ("ann", "lou", "dee")] == [1, 0, 0]
    assert extract_parameters(accounts._DECOY_HASH) == extract_parameters(accounts.hash_password(PASSWORD))


def test_a_password_past_the_longest_is_refused_after_the_same_one_check(con, monkeypatch):
    checked: list[int] = []
    verify = PasswordHasher.verify
    monkeypatch.setattr(PasswordHasher, "verify", lambda self, h, p: checked.append(len(p)) or verify(self, h, p))
    assert failed_login(con, "root", PASSWORD + "x" * 1_000_000) == accounts.WRONG_CREDENTIALS
    assert checked == [PASSWORD_MAX_LENGTH + 1]
    with pytest.raises(ValidationError) as refused:
        accounts.set_password(con, ADMIN, "root", "p" * (PASSWORD_MAX_LENGTH + 1))
    assert problems(refused.value) == {
        ("password", "password_length"): "a password has at most 1,024 characters (this one has 1,025)"
    }


def test_five_failures_lock_the_account_for_fifteen_minutes(con):
    for attempt in range(1, 5):
        assert failed_login(con, "root", now=NOW + dt.timedelta(seconds=attempt)) == accounts.WRONG_CREDENTIALS
    assert failed_login(con, "root", now=NOW + dt.timedelta(seconds=5)) == accounts.WRONG_CREDENTIALS
    assert storage.get_account(con, "root").locked_until == NOW + dt.timedelta(minutes=15, seconds=5)
    # While locked even the right password is refused, with the same message as any other failure.
    assert failed_login(con, "root", PASSWORD, now=NOW + dt.timedelta(minutes=14, seconds=6)) == (
        accounts.WRONG_CREDENTIALS
    )
    assert accounts.log_in(con, "root", PASSWORD, now=NOW + dt.timedelta(minutes=15, seconds=5)).username == "root"
    failures = [json.loads(r[4]) for r in audit(con, "login_failed")]
    assert [f.get("failed_attempts") for f in failures] == [1, 2, 3, 4, 5, None]
    assert failures[4]["locked_until"] == "2026-03-02 09:45:05" and failures[5]["reason"] == "locked"


def test_a_successful_login_starts_the_count_again(con):
    for _ in range(4):
        failed_login(con, "root")
    accounts.log_in(con, "root", PASSWORD, now=NOW)
    for _ in range(4):
        assert failed_login(con, "root") == accounts.WRONG_CREDENTIALS
    assert storage.get_account(con, "root").locked_until is None


def test_after_a_lock_runs_out_five_more_attempts_are_allowed(con):
    for _ in range(5):
        failed_login(con, "root")
    later = NOW + accounts.LOCKOUT
    for _ in range(4):
        assert failed_login(con, "root", now=later) == accounts.WRONG_CREDENTIALS
    failed_login(con, "root", now=later)
    assert storage.get_account(con, "root").locked_until == later + accounts.LOCKOUT


def test_a_new_password_lifts_a_lock(con):
    accounts.add_account(con, ADMIN, "ann", role="funder", password=PASSWORD)
    for _ in range(5):
        failed_login(con, "ann")
    accounts.set_password(con, ADMIN, "ann", "a brand new password")
    assert accounts.log_in(con, "ann", "a brand new password", now=NOW).username == "ann"
    before, after = audit(con, "update")[-1][3:]
    assert json.loads(after) == {"locked_until": None, "password": "reset"}
    assert "$argon2" not in before + after


def test_a_deactivated_account_cannot_log_in_and_says_nothing_more(con):
    accounts.add_account(con, ADMIN, "ann", role="funder", password=PASSWORD)
    accounts.set_active(con, ADMIN, "ann", False)
    assert failed_login(con, "ann", PASSWORD) == accounts.WRONG_CREDENTIALS
    assert accounts.current_viewer(con, "ann") is None
    accounts.set_active(con, ADMIN, "ann", True)
    assert accounts.log_in(con, "ann", PASSWORD, now=NOW).role == AccountRole.FUNDER


def test_changes_are_audited_before_and_after_without_the_hash(con):
    accounts.add_account(con, ADMIN, "tess", role="team", projects=["ART"], email="tess@example.org", password=PASSWORD)
    accounts.change_account(con, ADMIN, "tess", role="team", projects=["BEE"], email="T.Ess@example.org")
    account = storage.get_account(con, "tess")
    assert account.projects == {"BEE"} and account.email == "T.Ess@example.org"
    actor, _, key, before, after = audit(con, "update")[-1]
    assert (actor, key) == ("root", "tess")
    assert json.loads(before)["projects"] == ["ART"] and json.loads(after)["projects"] == ["BEE"]
    assert not any("$argon2" in (r[3] or "") + (r[4] or "") for r in audit(con))


def test_an_unchanged_account_is_not_audited(con):
    accounts.add_account(con, ADMIN, "ann", role="funder", password=PASSWORD)
    accounts.change_account(con, ADMIN, "ann", role="funder")
    assert audit(con, "update") == []


def test_e_mail_addresses_are_unique_whatever_their_case(con):
    accounts.add_account(con, ADMIN, "ann", role="funder", email="Ann@Example.org", password=PASSWORD)
    with pytest.raises(ValidationError) as error:
        accounts.add_account(con, ADMIN, "bob", role="funder", email="ann@example.ORG", password=PASSWORD)
    assert ("email", "email_taken") in problems(error.value)
    with pytest.raises(ValidationError) as error:
        accounts.add_account(con, ADMIN, "bob", role="funder", email="not an address", password=PASSWORD)
    assert ("email", "email_format") in problems(error.value)


def test_single_sign_on_maps_an_e_mail_to_its_account(con):
    accounts.add_account(con, ADMIN, "tess", role="team", projects=["ART"], email="Tess@Example.org", password=PASSWORD)
    assert accounts.log_in_by_email(con, "tess@example.ORG") == Viewer("tess", AccountRole.TEAM, frozenset({"ART"}))
    with pytest.raises(accounts.NoAccess, match="no active account of this dashboard has that e-mail"):
        accounts.log_in_by_email(con, "stranger@example.org")
    accounts.set_active(con, ADMIN, "tess", False)
    with pytest.raises(accounts.NoAccess):
        accounts.log_in_by_email(con, "tess@example.org")
    reasons = [json.loads(r[4])["reason"] for r in audit(con, "login_failed")]
    assert reasons == ["no_account", "inactive"]


def test_the_last_active_admin_stays_an_admin(con):
    with pytest.raises(ValidationError, match="only active administrator"):
        accounts.change_account(con, ADMIN, "root", role="evaluator")
    accounts.add_account(con, ADMIN, "ann", role="admin", password=PASSWORD)
    with pytest.raises(ValidationError, match="cannot deactivate the account you are logged in with"):
        accounts.set_active(con, ADMIN, "root", False)
    accounts.change_account(con, Viewer("ann", AccountRole.ADMIN), "root", role="evaluator")
    assert storage.get_account(con, "root").role == AccountRole.EVALUATOR


def test_the_first_admin_can_be_created_only_once(db):
    assert not accounts.has_accounts(db)
    with pytest.raises(ValidationError) as error:
        accounts.create_first_admin(db, "root", "short")
    assert ("password", "password_length") in problems(error.value)
    assert not accounts.has_accounts(db)
    assert accounts.create_first_admin(db, "root", PASSWORD) == Viewer("root", AccountRole.ADMIN)
    with pytest.raises(ValidationError, match="an administrator already exists"):
        accounts.create_first_admin(db, "intruder", PASSWORD)
    assert [r[:3] for r in audit(db)] == [("root", "create", "root"), ("root", "login", "root")]


def test_the_demo_database_has_the_demo_accounts(demo_file):
    con = storage.connect(demo_file)
    try:
        codes = sorted(r[0] for r in con.execute("SELECT project_code FROM project").fetchall())
        usernames = [r[0] for r in con.execute("SELECT username FROM user_account").fetchall()]
        found = {u: (storage.get_account(con, u).role, storage.get_account(con, u).projects) for u in usernames}
    finally:
        con.close()
    expected = {
        "demo-admin": (AccountRole.ADMIN, frozenset()),
        "demo-evaluator": (AccountRole.EVALUATOR, frozenset()),
        "demo-funder": (AccountRole.FUNDER, frozenset()),
    } | {f"demo-team-{code.lower()}": (AccountRole.TEAM, frozenset({code})) for code in codes}
    assert len(codes) == 11 and found == expected


@pytest.mark.parametrize("username", ["demo-admin", "demo-evaluator", "demo-funder", "demo-team-arts"])
def test_every_demo_account_logs_in_with_the_demo_password(seeded, username):
    viewer = accounts.log_in(seeded, username, accounts.DEMO_PASSWORD, now=NOW)
    assert viewer.username == username
    assert viewer.projects == ({"ARTS"} if username == "demo-team-arts" else set())


def test_the_demo_accounts_share_one_hash(seeded):
    assert seeded.execute("SELECT count(DISTINCT password_hash) FROM user_account").fetchone()[0] == 1


def test_an_older_database_keeps_its_accounts_through_the_e_mail_migration(tmp_path):
    path = tmp_path / "old.duckdb"
    old = storage.connect(path, migrate_to=1)
    old.execute(
        "INSERT INTO project (project_code, name, setting, relation_to_statutory) VALUES ('ART','A','nhs','internal')"
    )
    old.execute("INSERT INTO user_account (username, role, email) VALUES ('tess', 'team', 'tess@example.org')")
    old.execute("INSERT INTO user_project VALUES ('tess', 'ART')")
    old.close()
    con = storage.connect(path)
    accounts.change_account(con, ADMIN, "tess", role="team", projects=["ART"], email="new@example.org")
    assert storage.get_account(con, "tess").email == "new@example.org"
    assert storage.get_account(con, "tess").projects == {"ART"}


def test_exports_and_downloads_can_be_audited(con):
    accounts.audit_event(con, Viewer("eve", AccountRole.EVALUATOR), "export", "study", None, {"format": "csv"})
    row = con.execute("SELECT actor, action, entity, after FROM audit_entry ORDER BY audit_id DESC LIMIT 1").fetchone()
    assert row == ("eve", "export", "study", '{"format": "csv"}')


def cli(monkeypatch, capsys, *args, stdin=""):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_users_commands_on_the_command_line(con, database, monkeypatch, capsys):
    path = str(database)  # the CLI's --db: the DuckDB file, or the PostgreSQL URL
    con.close()
    code, out, _ = cli(
        monkeypatch, capsys, "users", "add", "--db", path, "tess", "--role", "team", "--project", "ART",
        "--email", "tess@example.org", "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0 and out.strip() == "Added team account tess for ART"
    code, out, _ = cli(monkeypatch, capsys, "users", "list", "--db", path)
    assert out.splitlines()[0] == "username\trole\tprojects\te-mail\tstate"
    assert "tess\tteam\tART\ttess@example.org\tactive" in out.splitlines()
    code, out, _ = cli(monkeypatch, capsys, "users", "set-role", "--db", path, "tess", "funder")
    assert code == 0 and out.strip() == "tess is now a funder account"
    code, _, err = cli(
        monkeypatch, capsys, "users", "set-password", "--db", path, "tess", "--password-stdin", stdin="x"
    )
    assert code == 2 and "password: a password needs at least 10 characters (this one has 1)" in err
    code, _, _ = cli(monkeypatch, capsys, "users", "deactivate", "--db", path, "tess")
    assert code == 0
    con = storage.connect(path)
    account = storage.get_account(con, "tess")
    assert (account.role, account.projects, account.active) == (AccountRole.FUNDER, frozenset(), False)
    assert accounts.password_matches(account.password_hash, PASSWORD)
    assert audit(con, "update")[-1][0] == f"os:{getpass.getuser()}"


def test_users_add_asks_for_the_password_twice(con, database, monkeypatch, capsys):
    path = str(database)  # the CLI's --db: the DuckDB file, or the PostgreSQL URL
    con.close()
    answers = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    code, _, err = cli(monkeypatch, capsys, "users", "add", "--db", path, "ann", "--role", "funder")
    assert code == 1 and "The two passwords differ" in err
    answers = iter([PASSWORD, PASSWORD])
    code, out, _ = cli(monkeypatch, capsys, "users", "add", "--db", path, "ann", "--role", "funder")
    assert code == 0 and out.strip() == "Added funder account ann"
