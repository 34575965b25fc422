"""The only package code that imports streamlit: the shared connection, caching, and page furniture."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import streamlit as st

from .. import service, storage
from ..domain import Viewer
from ..errors import TrackerError

DB_ENV = "INNOVATION_TRACKER_DB"
TODAY_ENV = "INNOVATION_TRACKER_TODAY"
DEFAULT_DB = Path("data/tracker.duckdb")


def database_path() -> Path:
    return Path(os.environ.get(DB_ENV, DEFAULT_DB))


def today() -> dt.date:
    """The date the app works to: the real date unless INNOVATION_TRACKER_TODAY pins it (demos, tests)."""
    pinned = os.environ.get(TODAY_ENV)
    return dt.date.fromisoformat(pinned) if pinned else dt.date.today()


@st.cache_resource(show_spinner=False)
def _shared_connection(path: str) -> storage.Connection:
    """One connection per process; a database that does not exist yet starts as the demo study."""
    first_start = not Path(path).exists()
    con = storage.connect(path)
    if first_start:
        service.load_demo(con, today=today())
    return con


def connection() -> storage.Connection:
    """A cursor for this script run: DuckDB connections must not be shared between threads."""
    return _shared_connection(str(database_path())).cursor()


def viewer() -> Viewer:
    """The logged-in viewer. Every scoped read asks for it, so nothing is read without a login, even by a page
    that somehow runs without dashboard.py's gate (the page files live in views/, not pages/, so that Streamlit
    never serves them in its old folder mode, which runs a file of pages/ directly on a server's first request)."""
    current = st.session_state.get("viewer")
    if current is None:
        st.warning("Please log in to see this page.")
        st.stop()
    return current


def read(query, *args):
    """`query(con, viewer, *args)` as the logged-in viewer, cached until the next write: every write is audited, so
    the audit's newest id is a version number for the whole database."""
    con = connection()
    key = f"{query.__module__}.{query.__qualname__}"
    return _cached_read(key, str(database_path()), storage.data_version(con), viewer(), args, _query=query)


@st.cache_data(show_spinner=False, max_entries=512)
def _cached_read(key: str, path: str, version: int, who: Viewer, args: tuple, _query):
    return _query(connection(), who, *args)


def view(build, *args):
    """`build(con, viewer, *args)` cached like `read`, but shared rather than copied on every rerun: what a page
    only shows (figures, tables) and must never change. Unpickling figures and large frames cost a rerun more than
    drawing them, so pages put their finished content here."""
    con = connection()
    key = f"{build.__module__}.{build.__qualname__}"
    return _shared_view(key, str(database_path()), storage.data_version(con), viewer(), args, _build=build)


@st.cache_resource(show_spinner=False, max_entries=128)
def _shared_view(key: str, path: str, version: int, who: Viewer, args: tuple, _build):
    return _build(connection(), who, *args)


def paginated(frame, key: str, rows: int = 50, **dataframe_args) -> None:
    """A long table a page at a time: the browser gets `rows` rows, however many the table has."""
    pages = max(1, -(-len(frame) // rows))
    page = 1
    if pages > 1:
        page = st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, value=1, step=1, key=key)
    st.dataframe(frame.iloc[(page - 1) * rows : page * rows], **dataframe_args)


def demo_banner(con: storage.Connection) -> None:
    study = storage.get_study(con)
    if study is not None and study.is_demo:
        st.info(
            f"**Demo data.** *{study.name}* is synthetic: no real project, participant or interview is shown.",
            icon=":material/science:",
        )


def show_error(error: TrackerError) -> None:
    st.error(f"**{error.title}.** {error.message}")
