"""Several servers on one PostgreSQL database (issue 17), as processes racing each other.

The demo's first start: servers started together on one new PostgreSQL database build the demo once. Each server,
on its first page run, opens the database (migrating it) and builds the demo study if the database holds no study
and no account (`service.start_demo_if_new`, as `ui._shared_connection` calls it). Both steps run under an advisory
lock (`storage.exclusive`), and the second server re-checks under it, so it waits and then finds the demo built.

Lockout: guesses at one account's password sent to two servers at once get no more password checks than the
limit, as within one server."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
import time

import pytest

from innovation_tracker import storage
from innovation_tracker.app import accounts, service
from innovation_tracker.domain.model import Study
from tests.conftest import DEMO_TODAY
from tests.support import postgres

RACERS = 3
TABLES = ("study", "project", "participant", "interview", "user_account", "audit_entry", "schema_migration")


def _first_start(url: str, today: dt.date) -> tuple[str, object]:
    """One server's first start, as `ui._shared_connection` does it."""
    database = storage.Database(url)
    try:
        built = service.start_demo_if_new(database.cursor(), today=today)
    finally:
        database.close()
    return ("built" if built else "found", "")


def _race(task: str, url: str, racers: int) -> list:
    """`racers` fresh Python processes (servers started from a shell share nothing with this test process) run
    `task(url)` from the same moment; each one's outcome, or its error."""
    start = time.time() + 8  # every interpreter has imported the app by then
    code = (
        "import json, sys, time; from tests.storage import test_replicas as t; start = float(sys.argv[3]);"
        " time.sleep(max(0.0, start - time.time()));"
        " out = getattr(t, sys.argv[1])(sys.argv[2]); print('RESULT ' + json.dumps(out))"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, task, url, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(racers)
    ]
    outcomes = []
    for process in processes:
        out, err = process.communicate(timeout=240)
        found = [line[7:] for line in out.splitlines() if line.startswith("RESULT ")]
        outcomes.append(json.loads(found[0]) if found else ["error", err[-2000:]])
    return outcomes


def first_start(url: str) -> tuple[str, object]:
    return _first_start(url, DEMO_TODAY)


@pytest.fixture
def fresh_pg():
    url = postgres.create_database(postgres.server_or_skip())
    yield url
    postgres.drop_database(url)


def _counts(url: str) -> dict[str, int]:
    con = storage.connect(url)
    try:
        return {table: con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] for table in TABLES}
    finally:
        con.close()


def test_servers_started_together_build_one_demo(fresh_pg, tmp_path):
    outcomes = sorted(_race("first_start", fresh_pg, RACERS))
    assert [kind for kind, _ in outcomes] == ["built"] + ["found"] * (RACERS - 1), outcomes

    one_demo = tmp_path / "demo.duckdb"
    con = storage.connect(one_demo)
    service.load_demo(con, today=DEMO_TODAY)
    con.close()
    expected = _counts(str(one_demo))
    assert expected["study"] == 1 and expected["project"] == 11 and expected["participant"] == 65
    assert _counts(fresh_pg) == expected, "exactly one demo study, its accounts once, each migration once"


def test_a_database_with_a_study_or_an_account_is_left_alone(fresh_pg):
    con = storage.connect(fresh_pg)
    try:
        service.init_study(con, Study(name="Ours", start_date=dt.date(2026, 1, 5), end_date=dt.date(2027, 4, 5)))
        assert service.start_demo_if_new(con, today=DEMO_TODAY) is False
        assert con.execute("SELECT name FROM study").fetchall() == [("Ours",)]
        assert con.execute("SELECT count(*) FROM project").fetchall()[0][0] == 0
    finally:
        con.close()


def test_a_new_duckdb_file_starts_as_the_demo_once(tmp_path):
    con = storage.connect(tmp_path / "new.duckdb")
    try:
        assert service.start_demo_if_new(con, today=DEMO_TODAY) is True
        assert service.start_demo_if_new(con, today=DEMO_TODAY) is False
        assert con.execute("SELECT count(*) FROM project").fetchall()[0][0] == 11
        demo_accounts = con.execute("SELECT count(*) FROM user_account WHERE username LIKE 'demo-%'").fetchall()[0][0]
        assert demo_accounts == 3 + 11  # admin, evaluator, funder and a team account per project
        assert con.execute("SELECT count(*) FROM study").fetchall()[0][0] == 1
    finally:
        con.close()


GUESSES_PER_SERVER = 4


def guess(url: str) -> tuple[str, object]:
    """One server taking GUESSES_PER_SERVER wrong passwords for demo-funder at once (a thread per request)."""
    database = storage.Database(url)
    now = dt.datetime(2026, 3, 2, 12, 0)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            accounts.log_in(database.cursor(), "demo-funder", "not the password", now=now)
            outcomes.append("in")
        except accounts.LoginFailed:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt) for _ in range(GUESSES_PER_SERVER)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    database.close()
    return ("done", outcomes)


@pytest.fixture
def demo_pg(demo_template):
    url = postgres.create_database(postgres.server_or_skip(), template=demo_template)
    yield url
    postgres.drop_database(url)


def test_guesses_on_two_servers_at_once_get_no_more_checks_than_the_limit(demo_pg):
    outcomes = _race("guess", demo_pg, 2)
    assert [kind for kind, _ in outcomes] == ["done", "done"], outcomes
    assert sorted(o for _, found in outcomes for o in found) == ["refused"] * 2 * GUESSES_PER_SERVER

    con = storage.connect(demo_pg)
    try:
        reasons = [
            r[0]
            for r in con.execute(
                "SELECT json_extract_string(after, '$.reason') FROM audit_entry"
                " WHERE action = 'login_failed' AND entity_key = 'demo-funder' ORDER BY audit_id"
            ).fetchall()
        ]
        locked = con.execute("SELECT locked_until FROM user_account WHERE username = 'demo-funder'").fetchall()[0][0]
    finally:
        con.close()
    limit = accounts.MAX_FAILED_ATTEMPTS
    assert reasons == ["wrong_password"] * limit + ["locked"] * (2 * GUESSES_PER_SERVER - limit), reasons
    assert locked is not None
