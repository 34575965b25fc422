"""The shelf (storage/shelf.py): on PostgreSQL a server that has not read the portfolio yet takes the frame another
server stored, brought up to date for the projects written since, and gets exactly what reading it afresh gives;
never a frame made for another scope, from another database, or before an erasure."""

import datetime as dt
import os
import subprocess
import sys

import pandas as pd
import pytest

from innovation_tracker import storage
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.storage import backup, shelf
from innovation_tracker.storage.postgres import PostgresDatabase
from tests.storage.test_kept import EVALUATOR, FUNDER, TEAM, Versioned, an_interview, assert_same, rate, read_afresh
from tests.support import postgres
from tests.support.browser import ROOT


@pytest.fixture
def url(request):
    server = postgres.server_or_skip()
    made = postgres.create_database(server, template=request.getfixturevalue("demo_template"))
    yield made
    postgres.drop_database(made)


class Watched:
    """What the shelf was asked to store and what it gave back, over every server in the test."""

    def __init__(self, monkeypatch):
        self.put, self.found, self.refreshed = [], [], []
        monkeypatch.setattr(shelf, "WORTH_SHELVING_S", 0.0)  # the demo's reads are quick: shelve them all
        put, get = PostgresDatabase.shelf_put, PostgresDatabase.shelf_get

        def counted_put(database, key, version, stamp, payload):
            self.put.append(key)
            return put(database, key, version, stamp, payload)

        def counted_get(database, key):
            found = get(database, key)
            if found is not None:
                self.found.append(key)
            return found

        through = shelf.through

        def counted_through(con, key, build, refresh):
            def counted_refresh(since, version, earlier):
                self.refreshed.append(storage.changed_projects(con, since, version))
                return refresh(since, version, earlier)

            return through(con, key, build, counted_refresh)

        monkeypatch.setattr(shelf, "through", counted_through)
        monkeypatch.setattr(PostgresDatabase, "shelf_put", counted_put)
        monkeypatch.setattr(PostgresDatabase, "shelf_get", counted_get)

    def clear(self):
        self.put.clear()
        self.found.clear()
        self.refreshed.clear()


@pytest.fixture
def watched(monkeypatch):
    return Watched(monkeypatch)


def server(url):
    """A new server on the database: its own pool and an empty result cache."""
    con = storage.connect(url)
    return con, Versioned(con)


def test_a_second_server_takes_the_portfolio_from_the_shelf_instead_of_reading_it(url, watched):
    first, first_store = server(url)
    first_store.reads()
    assert watched.put, "the first server shelved what it read"
    shelved = set(watched.put)
    watched.clear()

    second, second_store = server(url)
    taken = second_store.reads()
    assert watched.put == [], "the second server read nothing in full"
    assert set(watched.found) == shelved
    assert_same(taken, read_afresh(second))
    first.close(), second.close()


def test_after_a_write_the_shelved_frame_is_brought_up_to_date_for_the_written_project_only(url, watched):
    first, first_store = server(url)
    before = first_store.reads()
    rate(first, an_interview(first, "ARTS")[0], -2)  # one project's ratings change
    watched.clear()

    second, second_store = server(url)
    after = second_store.reads()
    assert watched.put == [] and watched.found
    assert set(watched.refreshed) == {frozenset({"ARTS"})} and len(watched.refreshed) == len(watched.found)
    assert second_store.refreshed == [], "nothing was kept in the second server's memory before"
    assert_same(after, read_afresh(second))
    assert not before["wave_balance"].equals(after["wave_balance"])  # the change shows
    first.close(), second.close()


def test_after_a_write_that_names_no_single_project_the_portfolio_is_read_again(url, watched):
    first, first_store = server(url)
    first_store.reads()
    storage.set_finished_round_share(first, "tester", 0.5)  # a study setting: every project may read differently
    watched.clear()

    second, second_store = server(url)
    after = second_store.reads()
    assert watched.put, "read again in full, and shelved at the new version"
    assert_same(after, read_afresh(second))
    first.close(), second.close()


def test_a_frame_is_never_taken_for_another_scope(url, watched):
    first, first_store = server(url)
    first_store.reads(EVALUATOR)
    watched.clear()
    other_team = Viewer("demo-team-beat", AccountRole.TEAM, frozenset({"BEAT"}))
    for viewer in (FUNDER, TEAM, other_team):
        con, store = server(url)
        seen = store.reads(viewer)
        assert watched.found == [], f"{viewer.username} was given a frame read for an evaluator"
        assert_same(seen, read_afresh(con, viewer))
        if viewer.role is AccountRole.TEAM:
            assert set(seen["cited_factors"].project_code) == set(viewer.projects)
        con.close()
    first.close()


def test_a_frame_from_a_database_since_replaced_is_not_used(url, watched):
    """A restore, or another study loaded under the same URL, can bring back the same audit ids with other data: the
    frame's version must still name the audit entry it was read at."""
    first, first_store = server(url)
    first_store.reads()
    version = storage.data_version(first)
    first.execute("UPDATE audit_entry SET actor = 'someone else' WHERE audit_id = ?", [version])
    watched.clear()

    second, second_store = server(url)
    after = second_store.reads()
    assert watched.found and set(watched.put) == set(watched.found), "each frame found was read again instead"
    assert_same(after, read_afresh(second))
    first.close(), second.close()


def test_erasing_a_participant_empties_the_shelf(url, watched):
    first, first_store = server(url)
    first_store.reads()
    count = "SELECT count(*) FROM innovation_tracker_shelf.frame"
    assert first.execute(count).fetchone()[0] > 0
    participant = an_interview(first, "ARTS")[1]
    storage.erase_participant(first, "tester", participant, dt.date(2025, 9, 1))
    assert first.execute(count).fetchone()[0] == 0
    first.close()


def test_a_backup_leaves_the_shelf_out(url, watched, tmp_path):
    con, store = server(url)
    store.reads()
    counts = backup.create_backup(con, tmp_path / "backup")
    assert "frame" not in counts and not any("shelf" in name for name in counts)
    assert not list((tmp_path / "backup").glob("frame*"))
    con.close()


def test_the_shelf_name_of_a_key_is_the_same_in_every_process():
    """A team's scope holds a set of project codes, whose order Python varies from process to process."""
    key = ("kept", "m", "read", (("de-identified", "team", frozenset({"ARTS", "BEAT", "CARE", "PEER", "WEB"})),), ())
    codes = sorted(key[3][0][2])
    program = (
        "from innovation_tracker.storage import shelf; "
        f"print(shelf.digest(('kept', 'm', 'read', (('de-identified', 'team', frozenset({codes!r})),), ())))"
    )
    names = {
        subprocess.run(
            [sys.executable, "-c", program],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert names == {shelf.digest(key)}
    assert shelf.digest(key) != shelf.digest((*key[:3], (("de-identified", "team", frozenset({"ARTS"})),), ()))


def test_only_frames_that_come_back_equal_are_shelved():
    frame = pd.DataFrame({"project_code": ["ARTS", "BEAT"], "n": [1, 2], "when": [dt.date(2025, 1, 1), None]})
    assert pd.testing.assert_frame_equal(shelf._decoded(shelf.encode(frame)), frame) is None
    both = {"a": frame, "b": frame.iloc[:0]}
    back = shelf._decoded(shelf.encode(both))
    assert list(back) == ["a", "b"] and back["b"].columns.tolist() == frame.columns.tolist()
    assert shelf.encode(pd.DataFrame({"mixed": [1, "one"]})) is None  # Arrow refuses it: not shelved
    assert shelf.encode(pd.Series([1, 2])) is None  # not a frame


def test_a_shelf_that_cannot_be_read_or_written_leaves_the_pages_as_they_are(url, watched, monkeypatch, caplog):
    import psycopg

    def broken(*args):
        raise psycopg.OperationalError("the shelf's table is gone")

    monkeypatch.setattr(PostgresDatabase, "shelf_get", broken)
    monkeypatch.setattr(PostgresDatabase, "shelf_put", broken)
    con, store = server(url)
    assert_same(store.reads(), read_afresh(con))
    assert "The shelf of kept frames was not used: the shelf's table is gone" in caplog.text
    con.close()


def test_a_frame_brought_up_to_date_over_many_writes_is_shelved_again_at_the_newer_version(url, watched, monkeypatch):
    monkeypatch.setattr(shelf, "RESHELVE_AFTER", 1)
    first, first_store = server(url)
    first_store.reads()
    rate(first, an_interview(first, "ARTS")[0], -2)
    watched.clear()
    second, second_store = server(url)
    after = second_store.reads()
    assert watched.found and set(watched.put) == set(watched.found)
    version = storage.data_version(second)
    stored = first.execute("SELECT DISTINCT data_version FROM innovation_tracker_shelf.frame").fetchall()
    assert stored == [(version,)]
    assert_same(after, read_afresh(second))
    first.close(), second.close()


def test_a_frame_read_before_an_erasure_is_not_shelved_after_it(url, watched, monkeypatch):
    """A build that began before an erasure and stores its frame after it (the shelf emptied in between) would put
    back what the participant said, at the old version. The build is held open across the erasure: the real kept
    reads of one server, the erasure by another server between the first read's start and its store."""
    first, first_store = server(url)
    eraser = storage.connect(url)
    participant = an_interview(first, "ARTS")[1]
    rated = "SELECT count(*) FROM factor_rating JOIN interview USING (interview_id) WHERE participant_code = ?"
    their_ratings = first.execute(rated, [participant]).fetchone()[0]
    arts = lambda balance: balance.query("project_code == 'ARTS'").n_ratings.sum()  # noqa: E731
    arts_before = arts(storage.wave_balance(first, EVALUATOR))
    assert their_ratings > 0
    through, erased = shelf.through, []

    def held_open_across_an_erasure(con, key, build, refresh):
        def build_then_erase():
            value = build()  # read while the participant's words are there
            if not erased:
                storage.erase_participant(eraser, "tester", participant, dt.date(2025, 9, 1))
                erased.append(storage.data_version(eraser))
            return value

        return through(con, key, build_then_erase, refresh)

    monkeypatch.setattr(shelf, "through", held_open_across_an_erasure)
    first_store.reads()
    assert erased
    stored = first.execute("SELECT data_version FROM innovation_tracker_shelf.frame").fetchall()
    assert [v for (v,) in stored if v <= erased[0]] == [], "no frame read before the erasure, or during it, is kept"

    monkeypatch.setattr(shelf, "through", through)
    second, second_store = server(url)
    after = second_store.reads()
    assert_same(after, read_afresh(second))
    assert arts(after["wave_balance"]) == arts_before - their_ratings, "their ratings are counted no more"
    first.close(), second.close(), eraser.close()
