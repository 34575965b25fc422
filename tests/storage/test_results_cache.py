"""The cache of reads and views (`ui.results`): kept for the newest data version only, never handing a page
another run's object to change; what a page draws of them converted once (`ui.as_arrow`) and made readable once."""

import datetime as dt
import gc
import threading

import pandas as pd
import pytest

from innovation_tracker import storage
from innovation_tracker.domain import display
from innovation_tracker.ui import _ARROW as ARROW_KEPT
from innovation_tracker.ui import _private, as_arrow
from innovation_tracker.ui.results import ResultCache


def counting_build(value):
    calls = []

    def build():
        calls.append(1)
        return value

    return build, calls


def test_a_result_is_built_once_per_version_and_key():
    cache = ResultCache()
    build, calls = counting_build("a")
    assert [cache.get(1, "k", build) for _ in range(3)] == ["a", "a", "a"]
    assert len(calls) == 1
    other, other_calls = counting_build("b")
    assert cache.get(1, "other", other) == "b"
    assert len(other_calls) == 1


def test_a_newer_version_drops_every_older_result():
    cache = ResultCache()
    cache.get(1, "k", lambda: "old")
    cache.get(1, "j", lambda: "old too")
    assert cache.get(2, "k", lambda: "new") == "new"
    assert len(cache) == 1  # "j" of version 1 is gone with it


def test_a_result_built_for_an_older_version_is_returned_but_not_kept():
    cache = ResultCache()
    cache.get(5, "k", lambda: "current")
    assert cache.get(4, "k", lambda: "stale") == "stale"  # a run that read its version before a write
    assert cache.get(5, "k", lambda: "rebuilt") == "current"


def test_the_least_recently_used_result_goes_first_when_full():
    cache = ResultCache(max_entries=2)
    cache.get(1, "a", lambda: 1)
    cache.get(1, "b", lambda: 2)
    cache.get(1, "a", lambda: "again")  # "a" is now the most recent
    cache.get(1, "c", lambda: 3)
    assert cache.get(1, "a", lambda: "rebuilt") == 1
    assert cache.get(1, "b", lambda: "rebuilt") == "rebuilt"


def test_threads_asking_at_once_all_get_the_result():
    cache = ResultCache()
    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get(1, "k", lambda: "x"))) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["x"] * 16


def test_a_read_is_a_private_copy_a_page_may_change():
    kept = pd.DataFrame({"project_code": ["ARTS", "CARE"], "n": [1, 2]})
    mine = _private(kept)
    mine["n"] = mine.n * 10
    mine.loc[0, "project_code"] = "XXXX"
    mine["extra"] = 1
    assert kept.to_dict("list") == {"project_code": ["ARTS", "CARE"], "n": [1, 2]}
    counts = {"projects": 3, "codes": ["A"]}
    copied = _private(counts)
    copied["codes"].append("B")
    assert counts == {"projects": 3, "codes": ["A"]}


def test_every_transaction_moves_the_write_counter(db):
    before = storage.local_writes()
    with storage.transaction(db) as con:
        con.execute("SELECT 1")
    assert storage.local_writes() > before
    failed = storage.local_writes()
    try:
        with storage.transaction(db):
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    assert storage.local_writes() > failed  # a rollback too: the count only has to move when a write may have


def test_sessions_asking_for_the_same_result_at_once_share_one_build():
    cache = ResultCache()
    started, release = threading.Event(), threading.Event()
    builds = []

    def slow():
        builds.append(1)
        started.set()
        release.wait(5)
        return "built"

    results = []
    first = threading.Thread(target=lambda: results.append(cache.get(1, "k", slow)))
    first.start()
    started.wait(5)
    others = [threading.Thread(target=lambda: results.append(cache.get(1, "k", slow))) for _ in range(5)]
    for t in others:
        t.start()
    release.set()
    for t in [first, *others]:
        t.join()
    assert results == ["built"] * 6
    assert len(builds) == 1


def test_a_failed_build_is_not_kept_and_the_next_ask_builds_again():
    cache = ResultCache()

    def broken():
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        cache.get(1, "k", broken)
    assert cache.get(1, "k", lambda: "built") == "built"


def test_a_kept_frame_is_converted_to_arrow_once_and_its_rows_as_asked():
    frame = pd.DataFrame({"code": [f"P{n}" for n in range(120)], "n": range(120)})
    whole = as_arrow(frame)
    assert as_arrow(frame) is whole  # the same frame: converted once
    assert whole.to_pandas().equals(frame)
    screen = as_arrow(frame, 50, 100)
    assert as_arrow(frame, 50, 100) is screen and screen.num_rows == 50
    assert screen.column("code").to_pylist()[0] == "P50"
    copy = frame.copy()  # another frame (as `ui.read` hands out): converted on its own
    assert as_arrow(copy) is not whole and as_arrow(copy).equals(whole)
    # This test's own entries: other tests' frames may go from the module-wide dictionary at the same collection
    own = {(id(frame), 0, None), (id(frame), 50, 100), (id(copy), 0, None)}
    assert own <= set(ARROW_KEPT)
    del frame, copy
    gc.collect()
    assert not own & set(ARROW_KEPT)  # what was kept went with its frames


def test_rows_arrow_cannot_convert_are_left_to_streamlit():
    mixed = pd.DataFrame({"value": [1, "one", 2.5]}, dtype=object)
    assert as_arrow(mixed) is mixed


def test_a_table_reads_as_people_read_it():
    frame = pd.DataFrame(
        {
            "project_code": ["ARTS", None],
            "role": ["service_user", None],
            "start_date": pd.to_datetime(["2025-11-04", None]),
            "consent_date": [dt.date(2025, 5, 6), None],
            "notes": ["", "seen"],
            "participants": [6, 5],
        }
    )
    shown = display.readable(frame)
    assert list(shown.columns) == ["Project", "Role", "Start date", "Consented", "Notes", "Participants"]
    assert shown.to_dict("list") == {
        "Project": ["ARTS", "—"],
        "Role": ["Service user", "—"],
        "Start date": ["4 Nov 2025", "—"],
        "Consented": ["6 May 2025", "—"],
        "Notes": ["—", "seen"],
        "Participants": [6, 5],
    }
    assert pd.api.types.is_integer_dtype(shown.Participants)
