"""Every file the app hands out goes through `download_button`: it checks the session when the file is served.

A download button's file is fetched after the run that drew it, sometimes long after: a tab left open on the
Framework matrix while the account is lowered to funder, or deactivated, would otherwise still hand out what was
drawn for the evaluator. So the file is built (or, if prepared earlier in the session, handed over) only on the
click, on Streamlit's own thread, and only if the session that drew the button is still live for exactly the same
viewer (`sessions.confirm`); otherwise the browser gets "Failed to generate file for download" and nothing else.

The click never reruns the script (`on_click="ignore"`): a rerun drawn while the browser fetches the file replaces
the button's deferred id, and the fetch then finds nothing ("Deferred file … not found").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, TypeVarTuple

import streamlit as st

from innovation_tracker import storage
from innovation_tracker.app import sessions
from innovation_tracker.domain.model import Viewer
from innovation_tracker.ui import _kept_build, _this_run, viewer
from innovation_tracker.ui import sessions as cookies
from innovation_tracker.ui.auth import TOKEN_KEY

T = TypeVar("T")
Args = TypeVarTuple("Args")
Payload = bytes | str


def download_button(
    label: str, data: Payload | Callable[[], Payload], *, file_name: str, mime: str, where: Any = None, **kwargs
) -> None:
    """A download of `data` (or of what `data()` returns, built on the click), served only to the session that
    drew it, as long as that session is live for the same viewer."""
    guard = session_guard()

    def serve() -> Payload:
        guard()
        if not callable(data):
            return data
        payload = data()
        guard()  # a long build: the account may have changed meanwhile
        return payload

    (where or st).download_button(label, serve, file_name=file_name, mime=mime, on_click="ignore", **kwargs)


def session_guard() -> Callable[[], None]:
    """A check, to run later on any thread, that this run's session is still live for this run's viewer."""
    run, who = _this_run(), viewer()
    hashed: str | None = st.session_state.get(TOKEN_KEY)
    database, limits = run.database, cookies.limits()

    def check() -> None:
        cursor = database.cursor()
        try:
            sessions.confirm(cursor, hashed, who, now=dt.datetime.now(), limits=limits)
        finally:
            cursor.close()

    return check


def deferred(build: Callable[[storage.Connection, Viewer, *Args], T], *args: *Args) -> Callable[[], T]:
    """`build(con, viewer, *args)` as `ui.shared` would give it, but built only when called: a download's `data`,
    which Streamlit calls on its own thread when the button is clicked, so a page does not build a large file on
    every run. The viewer and the data version are this run's, the cursor is the call's own."""
    run, who = _this_run(), viewer()
    version, database = run.data_version(), run.database
    key: Hashable = repr((build.__module__, build.__qualname__, who, args))

    def call() -> T:
        cursor = database.cursor()
        try:
            return run.results.get(version, key, lambda: _kept_build(run.results, version, build, cursor, who, *args))
        finally:
            cursor.close()

    return call
