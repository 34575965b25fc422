"""Trust findings of issue 11: lockout for every account and under parallel guesses, no account enumeration,
who the audit names, erasure that erases, user text shown literally, errors without internals, damaged and newer
databases. Real DuckDB files in tmp_path; pages through AppTest."""

from __future__ import annotations

import datetime as dt
import getpass
import io
import json
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import expect

from innovation_tracker import storage
from innovation_tracker.app import accounts, backup, capture
from innovation_tracker.cli import main as cli_main
from innovation_tracker.domain.errors import StorageError
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.ui.text import escape_markdown
from tests.conftest import DEMO_TODAY, make_empty_study
from tests.support.apptest import open_page
from tests.support.browser import SCREENSHOTS, Server, login
from tests.support.rendered import live_markup, text_of
from tests.support.small_study import EDITOR, build

NOW = dt.datetime(2026, 3, 2, 9, 30)
ADMIN = Viewer("root", AccountRole.ADMIN)
PASSWORD = "correct horse battery"
ROOT = Path(__file__).resolve().parents[2]
WRONG = "not the password at all"

# Every role, and team accounts linked to one project and to several: DuckDB's foreign-key checks treat an account
# that user_project references differently from one it does not.
ACCOUNTS = {
    "admin": ("admin", ()),
    "evaluator": ("evaluator", ()),
    "funder": ("funder", ()),
    "team-one": ("team", ("ART",)),
    "team-two": ("team", ("ART", "BEE")),
}


@pytest.fixture
def con(study_db):
    """A study with two projects, the admin `root`, and one account of each kind in ACCOUNTS."""
    study_db.execute(
        "INSERT INTO project (project_code, name, setting, relation_to_statutory)"
        " VALUES ('ART', 'Arts on prescription', 'community', 'external'), ('BEE', 'Beehive', 'nhs', 'internal')"
    )
    accounts.create_first_admin(study_db, "root", PASSWORD)
    for username, (role, projects) in ACCOUNTS.items():
        accounts.add_account(study_db, ADMIN, username, role=role, projects=projects, password=PASSWORD)
    return study_db


def attempt(con, username, password, now=NOW) -> str:
    """What the log-in form would say: 'in', or the failure's message."""
    try:
        accounts.log_in(con, username, password, now=now)
    except accounts.LoginFailed as failure:
        return failure.message
    return "in"


def failures(con, username) -> list[dict]:
    rows = con.execute(
        "SELECT actor, after FROM audit_entry WHERE action = 'login_failed' AND entity_key = ? ORDER BY audit_id",
        [username],
    ).fetchall()
    assert {actor for actor, _ in rows} <= {accounts.ANONYMOUS}
    return [json.loads(after) for _, after in rows]


@pytest.mark.parametrize("username", ACCOUNTS)
def test_five_wrong_passwords_lock_every_kind_of_account(con, username):
    for _ in range(accounts.MAX_FAILED_ATTEMPTS):
        assert attempt(con, username, WRONG) == accounts.WRONG_CREDENTIALS
    account = storage.get_account(con, username)
    assert account.locked_until == NOW + accounts.LOCKOUT
    assert [f["failed_attempts"] for f in failures(con, username)] == [1, 2, 3, 4, 5]
    # Locked: even the right password is refused, with the very same words.
    assert attempt(con, username, PASSWORD, NOW + dt.timedelta(minutes=14)) == accounts.WRONG_CREDENTIALS
    assert failures(con, username)[-1]["reason"] == "locked"
    assert attempt(con, username, PASSWORD, NOW + accounts.LOCKOUT) == "in"
    assert storage.get_account(con, username).failed_attempts == 0


def test_a_failed_attempt_shows_nothing_of_the_database_or_the_name(con):
    message = attempt(con, "team-two", WRONG)
    assert message == accounts.WRONG_CREDENTIALS
    assert "team-two" not in message and "Constraint" not in message and "Traceback" not in message


def concurrent_attempts(con, username, passwords, *, late=()) -> list[str]:
    """Every password tried at once from its own thread and cursor (as Streamlit runs sessions); those at the
    indexes in `late` start a moment after the others."""
    barrier = threading.Barrier(len(passwords))
    results: list[str | None] = [None] * len(passwords)

    def run(index: int, password: str) -> None:
        cursor = con.cursor()
        barrier.wait()
        if index in late:
            time.sleep(0.3)
        try:
            results[index] = attempt(cursor, username, password)
        except Exception as error:  # noqa: BLE001 - the test reports whatever escaped
            results[index] = f"{type(error).__name__}: {error}"
        finally:
            cursor.close()

    threads = [threading.Thread(target=run, args=(i, p)) for i, p in enumerate(passwords)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.slow
@pytest.mark.parametrize("username", ["admin", "team-two"])
def test_parallel_guesses_check_no_more_than_the_limit(con, username):
    results = concurrent_attempts(con, username, [WRONG] * 24)
    assert results == [accounts.WRONG_CREDENTIALS] * 24
    reasons = [f["reason"] for f in failures(con, username)]
    assert reasons.count("wrong_password") == accounts.MAX_FAILED_ATTEMPTS
    assert reasons.count("locked") == 24 - accounts.MAX_FAILED_ATTEMPTS
    assert storage.get_account(con, username).locked_until == NOW + accounts.LOCKOUT
    assert attempt(con, username, PASSWORD) == accounts.WRONG_CREDENTIALS


@pytest.mark.slow
@pytest.mark.parametrize("username", ["admin", "team-one"])
def test_a_right_password_among_parallel_guesses_does_not_pass_the_limit(con, username):
    passwords = [WRONG] * 19 + [PASSWORD]
    results = concurrent_attempts(con, username, passwords, late={19})
    assert results[:19] == [accounts.WRONG_CREDENTIALS] * 19
    assert results[19] == accounts.WRONG_CREDENTIALS, "the right password came after the limit was reached"
    # And in the audit's order: no log-in ever follows five failures in a row.
    rows = con.execute(
        "SELECT action, after FROM audit_entry WHERE entity_key = ? AND action IN ('login', 'login_failed')"
        " ORDER BY audit_id",
        [username],
    ).fetchall()
    in_a_row = 0
    for action, after in rows:
        if action == "login":
            assert in_a_row < accounts.MAX_FAILED_ATTEMPTS
            in_a_row = 0
        elif json.loads(after)["reason"] == "wrong_password":
            in_a_row += 1
    assert storage.get_account(con, username).locked_until == NOW + accounts.LOCKOUT


def timed(con, username, password, now=NOW) -> float:
    started = time.perf_counter()
    assert attempt(con, username, password, now) == accounts.WRONG_CREDENTIALS
    return time.perf_counter() - started


@pytest.mark.slow
def test_unknown_wrong_locked_and_deactivated_look_the_same(con):
    accounts.set_active(con, ADMIN, "funder", False)
    for _ in range(accounts.MAX_FAILED_ATTEMPTS):
        attempt(con, "evaluator", WRONG)
    cases = {
        "unknown": lambda: timed(con, "nobody", PASSWORD),
        "wrong": lambda: timed(con, "admin", WRONG),
        "locked": lambda: timed(con, "evaluator", PASSWORD),
        "deactivated": lambda: timed(con, "funder", PASSWORD),
    }
    times: dict[str, list[float]] = {case: [] for case in cases}
    for _ in range(4):  # interleaved, so a busy moment of the machine hits every case alike
        for case, run in cases.items():
            times[case].append(run())
        accounts.unlock_account(con, ADMIN, "admin")  # keep 'wrong' from turning into 'locked'
    medians = {case: statistics.median(values) for case, values in times.items()}
    assert max(medians.values()) < 2.5 * min(medians.values()), medians
    reasons = {name: failures(con, name)[-1]["reason"] for name in ("nobody", "admin", "evaluator", "funder")}
    assert reasons == {
        "nobody": "unknown_username",
        "admin": "wrong_password",
        "evaluator": "locked",
        "funder": "inactive",
    }


def test_an_admin_unlocks_an_account_and_it_is_audited(con):
    for _ in range(accounts.MAX_FAILED_ATTEMPTS):
        attempt(con, "team-one", WRONG)
    with pytest.raises(accounts.AccessDenied):
        accounts.unlock_account(con, Viewer("evaluator", AccountRole.EVALUATOR), "team-one")
    accounts.unlock_account(con, ADMIN, "team-one")
    assert storage.get_account(con, "team-one").locked_until is None
    actor, before, after = con.execute(
        "SELECT actor, before, after FROM audit_entry WHERE action = 'update' AND entity_key = 'team-one'"
    ).fetchone()
    assert actor == "root"
    assert json.loads(before)["locked_until"] == str(NOW + accounts.LOCKOUT)
    assert json.loads(after) == {"failed_attempts": 0, "locked_until": None}
    assert attempt(con, "team-one", PASSWORD) == "in"


# Finding 6: what users type is shown as typed wherever Streamlit renders markdown.
PAYLOAD = "[re-login here](http://x.example) **bold** :red[x] $y$"
TEAM_ARTS = Viewer("demo-team-arts", AccountRole.TEAM, frozenset({"ARTS"}))
ROLES = {
    "evaluator": Viewer("demo-evaluator", AccountRole.EVALUATOR),
    "funder": Viewer("demo-funder", AccountRole.FUNDER),
    "team": TEAM_ARTS,
}


def assert_literal(markdown: str, allowed: frozenset[str] = frozenset()) -> None:
    assert PAYLOAD in text_of(markdown), markdown
    assert set(live_markup(markdown)) <= allowed, markdown


@pytest.fixture
def payload_path(seeded_path):
    """The demo with the payload as the study's name, ARTS's host organisation and an ARTS milestone's title."""
    con = storage.connect(seeded_path)
    con.execute("UPDATE study SET name = ?", [PAYLOAD])
    con.execute("UPDATE project SET host_organisation = ? WHERE project_code = 'ARTS'", [PAYLOAD])
    values = {"kind": "other", "milestone_date": DEMO_TODAY, "title": PAYLOAD, "notes": ""}
    capture.create_milestone(con, TEAM_ARTS, "ARTS", values)
    con.close()
    return seeded_path


@pytest.mark.parametrize("role", ROLES)
def test_user_text_in_captions_is_shown_as_typed(monkeypatch, payload_path, role):
    at = open_page(monkeypatch, payload_path, "pages/timeline.py", ROLES[role], project="ARTS")
    captions = [c.value for c in at.caption if "host:" in text_of(c.value)]
    assert len(captions) == 1
    assert_literal(captions[0])
    assert_literal(next(i.value for i in at.info if "Demo data" in i.value), frozenset({"strong", "em"}))
    at = open_page(monkeypatch, payload_path, "pages/overview.py", ROLES[role])
    assert_literal(next(c.value for c in at.caption if "figures as of" in text_of(c.value)))


def test_a_project_asked_for_in_the_address_is_shown_as_typed(monkeypatch, payload_path):
    at = open_page(monkeypatch, payload_path, "pages/timeline.py", TEAM_ARTS, project=PAYLOAD)
    assert_literal(next(w.value for w in at.warning if "project parameter" in text_of(w.value)))


def test_milestone_titles_in_headings_checkboxes_and_toasts_are_shown_as_typed(monkeypatch, payload_path):
    at = open_page(monkeypatch, payload_path, "pages/milestones.py", TEAM_ARTS, project="ARTS")
    picker = at.selectbox(key="milestones:choice:ARTS")
    chosen = next(option for option in picker.options if PAYLOAD in option)
    at = picker.select(chosen).run()
    assert_literal(next(s.value for s in at.subheader if s.value.startswith("Edit")))
    assert_literal(next(c.label for c in at.checkbox if c.label.startswith("Yes, delete")))
    # A save's confirmation quotes the title.
    at.text_input(key=next(t.key for t in at.text_input if t.label == "Title")).input(PAYLOAD + " again")
    at = next(b for b in at.button if b.label == "Save milestone").click().run()
    assert not at.exception
    assert_literal(next(t.value for t in at.toast))


def test_form_messages_quote_what_was_typed_as_typed(monkeypatch, seeded_path):
    at = open_page(monkeypatch, seeded_path, "pages/users.py", Viewer("demo-admin", AccountRole.ADMIN))
    at.text_input(key="add_account:username").input("someone")
    at.text_input(key="add_account:email").input(PAYLOAD)
    at.text_input(key="add_account:password").input("long enough password")
    at = next(b for b in at.button if b.label == "Add account").click().run()
    message = next(e.value for e in at.error if PAYLOAD.split()[0] in text_of(e.value))
    assert PAYLOAD in text_of(message) and "a" not in live_markup(message)
    assert not [m for m in live_markup(message) if m != "strong"], message


# Finding 5: an erasure takes the participant's words out of every table, the audit log included.
SECRET_SUMMARY = "zebra marmalade confided"
SECRET_EXCERPT = "quokka lighthouse remark"


def tables_holding(con, *texts: str) -> dict[str, list[str]]:
    """For each text, the tables (every table of the file) that hold it in any column."""
    names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()]
    found: dict[str, list[str]] = {text: [] for text in texts}
    for name in names:
        for text in texts:
            # A table's alias is its row as a struct: cast to text, it holds every column, JSON included.
            sql = f'SELECT count(*) FROM "{name}" AS t WHERE contains(t::VARCHAR, ?)'
            if con.execute(sql, [text]).fetchone()[0]:
                found[text].append(name)
    return found


@pytest.fixture
def small(study_db):
    build(study_db)
    return study_db


def test_an_erasure_leaves_no_word_of_the_participant_in_any_table_or_later_backup(small, tmp_path):
    first, second = [
        r[0]
        for r in small.execute(
            "SELECT interview_id FROM interview WHERE participant_code = 'ART-01' ORDER BY interview_date"
        ).fetchall()
    ]
    # Words edited in before the erasure, in a summary and in an excerpt; one interview deleted and restored.
    storage.update_interview(small, "ed", first, {"summary": SECRET_SUMMARY})
    storage.update_interview(small, "ed", first, {"summary": "later words"})
    rating = small.execute("SELECT factor_code, rating FROM factor_rating WHERE interview_id = ?", [first]).fetchone()
    storage.update_interview(
        small,
        "ed",
        first,
        {},
        [{"factor_code": rating[0], "rating": rating[1], "evidence": SECRET_EXCERPT, "shareable": False}],
    )
    storage.delete_interview(small, "ed", second)
    assert tables_holding(small, SECRET_SUMMARY, SECRET_EXCERPT) == {
        SECRET_SUMMARY: ["audit_entry"],
        SECRET_EXCERPT: ["audit_entry", "factor_rating"],
    }
    other = small.execute("SELECT count(*) FROM audit_entry WHERE contains(after::VARCHAR, 'ART-02')").fetchone()

    capture.withdraw(small, EDITOR, "ART", "ART-01", dt.date(2025, 6, 1), dt.date(2025, 6, 20), erase=True)

    assert tables_holding(small, SECRET_SUMMARY, SECRET_EXCERPT, "later words") == {
        SECRET_SUMMARY: [],
        SECRET_EXCERPT: [],
        "later words": [],
    }
    # Who did what and when stays, and nobody else's history is touched.
    assert small.execute("SELECT count(*) FROM audit_entry WHERE entity_key = ?", [str(first)]).fetchone()[0] == 4
    assert (
        small.execute("SELECT count(*) FROM audit_entry WHERE contains(after::VARCHAR, 'ART-02')").fetchone() == other
    )
    backup.backup(small, ADMIN, tmp_path / "after")
    restored = tmp_path / "restored.duckdb"
    backup.restore(tmp_path / "after", restored)
    copy = storage.connect(restored)
    try:
        assert tables_holding(copy, SECRET_SUMMARY, SECRET_EXCERPT) == {SECRET_SUMMARY: [], SECRET_EXCERPT: []}
    finally:
        copy.close()


# Findings 7 and 8: plain messages, never internals; damaged, newer and failing databases.
def test_no_traceback_reaches_a_browser():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"


def file_state(path: Path) -> tuple[bytes, bytes | None]:
    wal = path.with_name(path.name + ".wal")
    return path.read_bytes(), wal.read_bytes() if wal.exists() else None


def newer(path: Path) -> Path:
    con = storage.connect(path)
    con.execute("INSERT INTO schema_migration (version, name) VALUES (9999, 'from_the_future')")
    con.execute("CHECKPOINT")
    con.close()
    return path


def truncated(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def not_a_database(path: Path) -> Path:
    path.write_bytes(b"Innovation tracker notes, not a database\n" * 500)
    return path


MESSAGES = {
    newer: "was last changed by a newer version of this app",
    truncated: "is damaged or is not a database of this app",
    not_a_database: "is damaged or is not a database of this app",
}


@pytest.mark.parametrize("spoil", MESSAGES, ids=lambda f: f.__name__)
def test_a_newer_or_damaged_database_is_refused_and_left_as_it_was(seeded_path, spoil):
    path = spoil(seeded_path)
    before = file_state(path)
    with pytest.raises(StorageError, match=MESSAGES[spoil]) as refused:
        storage.connect(path)
    assert "Traceback" not in refused.value.message and "IO Error" not in refused.value.message
    assert file_state(path) == before


CLI_COMMANDS = [
    ["users", "list", "--db", "{db}"],
    ["export", "--db", "{db}", "--out", "{out}"],
    ["import", "--db", "{db}", "{csv}"],
    ["backup", "--db", "{db}", "--out", "{out}"],
    ["report", "--db", "{db}", "--out", "{out}/r.html", "--format", "html"],
    ["redcap-dictionary", "--db", "{db}", "--out", "{out}/d.csv"],
    ["users", "add", "--db", "{db}", "tess", "--role", "funder", "--password-stdin"],
    ["demo", "--db", "{db}"],
    ["init", "--db", "{db}", "--name", "X", "--start", "2026-01-05"],
]


@pytest.mark.parametrize("spoil", MESSAGES, ids=lambda f: f.__name__)
def test_every_command_refuses_a_newer_or_damaged_database(seeded_path, tmp_path, spoil, monkeypatch, capsys):
    path = spoil(seeded_path)
    before = file_state(path)
    csv = tmp_path / "projects.csv"
    csv.write_text("project_code,name,setting,host_organisation,relation_to_statutory,start_date,status\n")
    for command in CLI_COMMANDS:
        args = [a.format(db=path, out=tmp_path / "out", csv=csv) for a in command]
        monkeypatch.setattr("sys.stdin", io.StringIO("a long password\na long password\n"))
        assert cli_main(args) == 1, args
        err = capsys.readouterr().err
        assert MESSAGES[spoil] in err and "Traceback" not in err, (args, err)
    assert file_state(path) == before


@pytest.mark.parametrize("spoil", [newer, truncated], ids=lambda f: f.__name__)
def test_the_app_refuses_a_damaged_or_newer_database_before_the_log_in(monkeypatch, seeded_path, spoil):
    path = spoil(seeded_path)
    at = open_page(monkeypatch, path, viewer=None)
    assert [t.value for t in at.title] == ["Innovation tracker"]
    assert any(MESSAGES[spoil] in text_of(e.value) for e in at.error)
    assert not any(str(path.parent) in e.value for e in at.error), "no server path reaches the browser"
    assert not at.text_input, "no log-in form in front of a database that cannot be used"


def test_a_locked_file_is_named_as_the_cause_only_when_it_is(seeded_path, tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys, time; c = duckdb.connect({str(seeded_path)!r}); print('held');"
            " sys.stdout.flush(); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StorageError, match="in use by another program") as refused:
            storage.connect(seeded_path)
        assert "damaged" not in refused.value.message
    finally:
        holder.kill()
        holder.wait()
    with pytest.raises(StorageError) as refused:
        storage.connect(truncated(seeded_path))
    assert "another program" not in refused.value.message.lower()


@pytest.fixture
def size_limit():
    """Make files this process writes stop growing past a size, as on a full disk (the write fails, EFBIG)."""
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    yield lambda limit: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    signal.signal(signal.SIGXFSZ, previous)


def test_after_a_write_fails_for_a_full_disk_the_app_reopens_the_database(seeded_path, size_limit):
    database = storage.Database(seeded_path)
    cur = database.cursor()
    cur.execute("CHECKPOINT")
    cur.execute("SET checkpoint_threshold = '1MB'")  # the next commit after this much is written checkpoints
    size_limit(seeded_path.stat().st_size)  # the log may grow, the main file may not: the checkpoint fails
    storage.write(cur, lambda c: c.execute("CREATE TABLE ballast AS SELECT md5(range::VARCHAR) FROM range(60000)"))
    with pytest.raises(StorageError) as failed:  # its commit checkpoints, which cannot grow the file
        storage.write(cur, lambda c: c.execute("INSERT INTO ballast VALUES ('one more')"))
    size_limit(resource.RLIM_INFINITY)
    assert "disk" in failed.value.message and "Traceback" not in failed.value.message
    with pytest.raises(Exception, match="invalidated"):  # DuckDB has given up on this database
        cur.execute("SELECT count(*) FROM project")
    # The next run's cursor comes from a reopened database: reading and writing work again, without a restart.
    again = database.cursor()
    assert again.execute("SELECT count(*) FROM project").fetchone()[0] == 11
    assert again.execute("SELECT count(*) FROM ballast").fetchone()[0] == 60001  # DuckDB: committed, then failed
    accounts.unlock_account(again, Viewer("demo-admin", AccountRole.ADMIN), "demo-funder")
    database.close()


# Finding 9: who did it.
def test_the_audit_names_the_account_or_the_operating_system_user(con, tmp_path, capsys):
    assert attempt(con, "nobody-here", WRONG) == accounts.WRONG_CREDENTIALS
    actor, key = con.execute(
        "SELECT actor, entity_key FROM audit_entry WHERE action = 'login_failed' ORDER BY audit_id DESC LIMIT 1"
    ).fetchone()
    assert (actor, key) == (accounts.ANONYMOUS, "nobody-here")
    with pytest.raises(accounts.NoAccess):
        accounts.log_in_by_email(con, "someone@example.org")
    actor, key = con.execute(
        "SELECT actor, entity_key FROM audit_entry WHERE action = 'login_failed' ORDER BY audit_id DESC LIMIT 1"
    ).fetchone()
    assert (actor, key) == (accounts.ANONYMOUS, "someone@example.org")
    path = tmp_path / "cli.duckdb"
    make_empty_study(path)
    csv = tmp_path / "projects.csv"
    csv.write_text(
        "project_code,name,setting,host_organisation,relation_to_statutory,start_date,status\n"
        "ZED,Zed,nhs,Host,internal,2025-02-01,active\n"
    )
    assert cli_main(["import", "--db", str(path), str(csv), "--actor", "Ann Evaluator"]) == 0
    copy = storage.connect(path)
    who = copy.execute("SELECT actor FROM audit_entry WHERE action = 'import' ORDER BY audit_id DESC").fetchone()
    copy.close()
    assert who == (f"Ann Evaluator (given by os:{getpass.getuser()})",)


@pytest.mark.parametrize(
    "typed",
    [
        "[re-login here](http://x.example)",
        "**bold** and __bold__ and *it* and _it_",
        ":red[x] :material/lock: :smile:",
        "`code` ~~gone~~ <b>html</b> &amp; $x^2$",
        "# heading",
        "- item",
        "12. item",
        "> quote",
        "back\\slash [a]",
        "ART-01: 2025-04-01, service_users_engaged (ok)!",
        "www.example.org and ann@example.org",
    ],
)
def test_escaped_text_renders_as_typed(typed):
    escaped = escape_markdown(typed)
    assert text_of(escaped) == typed
    assert live_markup(escaped) == []


@pytest.mark.slow
@pytest.mark.browser
def test_in_a_browser_user_text_is_literal_and_locked_accounts_are_listed(browser, payload_path, tmp_path):
    """Streamlit's own renderer (not only the markdown source) shows the payload as typed, for a team."""
    con = storage.connect(payload_path)
    for _ in range(accounts.MAX_FAILED_ATTEMPTS):
        attempt(con, "demo-team-beat", WRONG, dt.datetime.now())
    con.close()
    server = Server(payload_path, DEMO_TODAY.isoformat(), tmp_path / "streamlit.log")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        page.goto(server.url)  # a first request that runs st.navigation, so the deep link below is kept
        page.get_by_role("textbox", name="Username").wait_for(timeout=60_000)
        page.goto(f"{server.url}/timeline?project=ARTS")
        login(page, "demo-team-arts", accounts.DEMO_PASSWORD)
        caption = page.locator("[data-testid='stCaptionContainer']", has_text="host:").first
        caption.wait_for(timeout=60_000)
        assert PAYLOAD in caption.inner_text().replace("\u2060", "")
        banner = page.locator("[data-testid='stAlertContainer']", has_text="Demo data").first
        assert PAYLOAD in banner.inner_text().replace("\u2060", "")
        main = page.locator("[data-testid='stMain']").first
        assert main.locator("a[href*='x.example']").count() == 0
        assert main.locator("strong", has_text="bold").count() == 0
        assert main.locator(".katex").count() == 0
        page.screenshot(path=str(SCREENSHOTS / "timeline-payload.png"), full_page=True)
        assert page.locator("[data-testid='stException']").count() == 0

        admin = browser.new_page(viewport={"width": 1400, "height": 2400})
        admin.goto(f"{server.url}/users")
        login(admin, "demo-admin", accounts.DEMO_PASSWORD)
        admin.get_by_text("Locked accounts").wait_for(timeout=60_000)
        assert admin.get_by_text("demo-team-beat, locked until", exact=False).count() == 1
        admin.screenshot(path=str(SCREENSHOTS / "users-locked.png"), full_page=True)
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.browser
def test_in_a_browser_the_change_form_follows_the_picker_and_saves_one_field(browser, seeded_path, tmp_path):
    """The browser keeps a form's widget values by widget identity, which AppTest does not: picking another account
    must show that account's values there too, and a save must change only the field edited."""
    con = storage.connect(seeded_path)
    accounts.change_account(con, Viewer("demo-admin", AccountRole.ADMIN), "demo-team-arts", projects=["ARTS", "BEAT"])
    before = storage.get_account(con, "demo-team-arts")
    con.close()
    server = Server(seeded_path, DEMO_TODAY.isoformat(), tmp_path / "streamlit.log")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        page.goto(server.url)
        page.get_by_role("textbox", name="Username").wait_for(timeout=60_000)
        page.goto(f"{server.url}/users")
        login(page, "demo-admin", accounts.DEMO_PASSWORD)
        name = page.get_by_role("textbox", name="Display name").last
        name.wait_for(timeout=60_000)
        for account, shown in [("demo-funder", "Demo funder"), ("demo-team-arts", "Demo team of ARTS")]:
            page.locator("[data-testid='stSelectbox']", has_text="Account").click()
            page.get_by_role("option", name=account, exact=True).click()
            page.get_by_text(f"New password for {account}").wait_for(timeout=60_000)
            expect(name).to_have_value(shown, timeout=30_000)
        expect(page.get_by_role("textbox", name="E-mail").last).to_have_value("demo-team-arts@example.org")
        name.fill("The ARTS team")
        page.get_by_role("button", name="Save changes").click()
        page.get_by_text("Saved the changes to demo-team-arts: display name.").wait_for(timeout=60_000)
        page.screenshot(path=str(SCREENSHOTS / "users-change.png"), full_page=True)
    finally:
        server.stop()
    con = storage.connect(seeded_path)
    try:
        assert storage.get_account(con, "demo-team-arts") == replace(before, display_name="The ARTS team")
    finally:
        con.close()
