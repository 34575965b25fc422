"""Several servers on one PostgreSQL database (issue 17), as processes racing each other.

The demo's first start: servers started together on one new PostgreSQL database build the demo once. Each server,
on its first page run, opens the database (migrating it) and builds the demo study if the database holds no study
and no account (`service.start_demo_if_new`, as `ui._shared_connection` calls it). Both steps run under an advisory
lock (`storage.exclusive`), and the second server re-checks under it, so it waits and then finds the demo built.

Lockout: guesses at one account's password sent to two servers at once get no more password checks than the
limit, as within one server."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading

import pytest

from innovation_tracker import accounts, service, storage
from innovation_tracker.domain import Study
from tests import postgres
from tests.conftest import DEMO_TODAY

RACERS = 3
TABLES = ("study", "project", "participant", "interview", "user_account", "audit_entry", "schema_migration")


def _first_start(url: str, today: dt.date, barrier, results) -> None:
    """One server's first start, as `ui._shared_connection` does it, released together with the others."""
    try:
        barrier.wait(timeout=120)
        database = storage.Database(url)
        try:
            built = service.start_demo_if_new(database.cursor(), today=today)
        finally:
            database.close()
        results.put(("built" if built else "found", ""))
    except BaseException as exc:  # reported to the test, which shows it
        results.put(("error", f"{type(exc).__name__}: {exc}"))


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
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(RACERS), context.Queue()
    args = (fresh_pg, DEMO_TODAY, barrier, results)
    racers = [context.Process(target=_first_start, args=args) for _ in range(RACERS)]
    for racer in racers:
        racer.start()
    outcomes = sorted(results.get(timeout=300) for _ in racers)
    for racer in racers:
        racer.join(timeout=60)
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


def _guess(url: str, barrier, results) -> None:
    """One server taking GUESSES_PER_SERVER wrong passwords for demo-funder at once (a thread per request)."""
    try:
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
        barrier.wait(timeout=120)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        database.close()
        results.put(("done", outcomes))
    except BaseException as exc:
        results.put(("error", f"{type(exc).__name__}: {exc}"))


@pytest.fixture
def demo_pg(demo_template):
    url = postgres.create_database(postgres.server_or_skip(), template=demo_template)
    yield url
    postgres.drop_database(url)


def test_guesses_on_two_servers_at_once_get_no_more_checks_than_the_limit(demo_pg):
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    servers = [context.Process(target=_guess, args=(demo_pg, barrier, results)) for _ in range(2)]
    for server in servers:
        server.start()
    outcomes = [results.get(timeout=300) for _ in servers]
    for server in servers:
        server.join(timeout=60)
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
