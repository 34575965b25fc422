"""Every page through AppTest: its cold first render, its warm rerun and its rerun right after a write.

The floor is the rerun of an empty Streamlit page in the same process, so ratios do not depend on the machine.
"Cold" means the caches of reads and views are empty but the shared connection is open, as for the first
visitor of a page on a running server; "after a write" follows an audited write (a sustainability score),
which invalidates every cached read, as any save by any user does.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import statistics
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner.script_cache import ScriptCache
from streamlit.testing.v1 import AppTest, app_test, local_script_runner

from innovation_tracker import storage, ui
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.storage import shelf
from innovation_tracker.ui import navigation
from tests.support.apptest import as_served

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = str(ROOT / "dashboard.py")
EMPTY_PAGE = "import streamlit as st\n\nst.title('Empty page')\n"
TIMEOUT_S = 300

EVALUATOR = Viewer("demo-evaluator", AccountRole.EVALUATOR)
ADMIN = Viewer("demo-admin", AccountRole.ADMIN)
TEAM = Viewer("demo-team-arts", AccountRole.TEAM, frozenset({"ARTS"}))


@dataclass
class PageTiming:
    page: str
    viewer: str
    cold_s: float
    warm_s: float
    after_write_s: float
    floor_s: float
    backend: str = "duckdb"
    # PostgreSQL: the cold render of the first server, with no frame on the shelf yet (storage/shelf.py); `cold_s`
    # is then a server's first render with the frames another server shelved. On DuckDB there is no shelf.
    first_server_cold_s: float | None = None


def _timed(run: Callable[[], AppTest]) -> float:
    started = time.perf_counter()
    at = run()
    elapsed = time.perf_counter() - started
    if at.exception:
        raise RuntimeError(f"the page raised: {[e.value for e in at.exception]}")
    return elapsed


@contextmanager
def server_script_cache() -> Iterator[None]:
    """Compile each script once, as a server does. AppTest makes a new ScriptCache on every run, so without this
    every rerun would also pay for compiling dashboard.py and the page's file, which no server rerun does."""
    shared = ScriptCache()
    saved = app_test.ScriptCache, local_script_runner.ScriptCache
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: shared
    try:
        yield
    finally:
        app_test.ScriptCache, local_script_runner.ScriptCache = saved


def cases() -> list[tuple[navigation.PageSpec, Viewer]]:
    """Every page as an evaluator (the Users page, which evaluators cannot open, as an admin), then the overview
    as a project team, whose reads are scoped by the access rules."""
    found = [(spec, EVALUATOR if EVALUATOR.role in spec.roles else ADMIN) for spec in navigation.PAGES]
    return [*found, (navigation.PAGES[0], TEAM)]


def _writer(db: str | Path) -> Callable[[], None]:
    """An audited write through the app's own connection: the first project's outlook, changed each time."""
    con = ui._shared_connection(str(db)).cursor()
    project = con.execute("SELECT min(project_code) FROM project").fetchone()[0]
    outlooks = iter(["red", "amber", "green"] * 1000)

    def write() -> None:
        storage.set_indicator_values(con, "benchmark", project, "baseline", {"outlook": next(outlooks)})

    return write


def time_pages(
    db: str | Path | dict[str, str | Path], today: dt.date, repeats: int, log=print, skip: Collection[str] = ()
) -> list[PageTiming]:
    """Each page's timings on each backend (`db` is one database, or backend name -> database: a DuckDB file or a
    PostgreSQL URL). The floor is measured with each page, one empty rerun before each of the page's warm reruns:
    the load of a shared machine drifts, and a ratio is only fair against a floor taken under the same load. With
    several backends each page is timed on one backend right after the other, for the same reason. Pages titled in
    `skip` are left out."""
    targets = db if isinstance(db, dict) else {"duckdb": db}
    saved = {name: os.environ.get(name) for name in (ui.DB_ENV, ui.TODAY_ENV)}
    try:
        with server_script_cache():
            return _time_pages(targets, today, repeats, log, set(skip))
    finally:  # the pages read their database and date from the environment: leave it as it was
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _time_pages(targets: dict[str, str | Path], today: dt.date, repeats: int, log, skip: set[str]) -> list[PageTiming]:
    os.environ[ui.TODAY_ENV] = today.isoformat()
    st.cache_data.clear()
    st.cache_resource.clear()
    as_served()
    sessions: dict[tuple[str, str], AppTest] = {}
    writers: dict[str, Callable[[], None]] = {}
    empty = AppTest.from_string(EMPTY_PAGE, default_timeout=TIMEOUT_S)
    empty.run()
    timings = []
    at: AppTest | None = None
    write: Callable[[], None] | None = None
    for spec, viewer in cases():
        if spec.title in skip:
            continue
        for backend, db in targets.items():
            os.environ[ui.DB_ENV] = str(db)
            if (backend, viewer.username) not in sessions:
                at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT_S)
                at.session_state["viewer"] = viewer
                at.run()
                sessions[backend, viewer.username] = at
            at = sessions[backend, viewer.username]
            write = writers.get(backend) or writers.setdefault(backend, _writer(db))
            at.switch_page(spec.path)
            st.cache_data.clear()
            ui.clear_results()
            first_cold = None
            if storage.is_postgres(str(db)):
                cursor = ui._shared_connection(str(db)).cursor()
                shelf.forget(cursor)  # nothing read by any server yet
                cursor.close()
                first_cold = _timed(at.run)
                ui.clear_results()  # a second server: nothing in its memory, the first one's frames shelved
            cold = _timed(at.run)
            floors, warms = [], []
            for _ in range(max(repeats, 5)):
                floors.append(_timed(empty.run))
                warms.append(_timed(at.run))
            floor_here, warm = statistics.median(floors), statistics.median(warms)
            after = []
            for _ in range(repeats):
                write()
                after.append(_timed(at.run))
            after_s = statistics.median(after)
            timing = PageTiming(spec.title, viewer.role.value, cold, warm, after_s, floor_here, backend, first_cold)
            timings.append(timing)
            first = "" if first_cold is None else f" (first server {first_cold:.3f} s)"
            log(f"  {spec.title} ({viewer.role.value}, {backend}): cold {cold:.3f} s{first}, warm {warm:.3f} s "
                f"({warm / floor_here:.1f}× the floor), after a write {timing.after_write_s:.3f} s")  # fmt: skip
    # Let go of every cursor on the database (the writers', the AppTest sessions'): while one lives, DuckDB keeps
    # the file locked against the server that the memory measurement starts next; PostgreSQL's pools are closed.
    del sessions, writers, empty, at, write
    for db in targets.values():
        if storage.is_postgres(str(db)):
            ui._shared_connection(str(db)).close()
    st.cache_resource.clear()
    gc.collect()
    return timings
