"""Opt-in timings of script runs, for load tests: with INNOVATION_TRACKER_TIMINGS=PATH each run of a page appends
a line `<unix time>\t<page>\t<seconds>` to PATH. The seconds run from the first line of `dashboard.py` (the log-in
check included) to the end of the page's script, however it ended (a save's `st.rerun`, an `st.stop`): the time
the server spent on the run, without the websocket and the browser's drawing. Runs that stop at the log-in form
are not counted. Off (and free) when the variable is not set."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator

import streamlit as st

ENV = "INNOVATION_TRACKER_TIMINGS"
_STARTED = "_timings:started"
_file_lock = threading.Lock()


def run_started() -> None:
    """The first call of every script run (dashboard.py)."""
    if os.environ.get(ENV):
        st.session_state[_STARTED] = time.perf_counter()


@contextlib.contextmanager
def page_run(page: str) -> Iterator[None]:
    path = os.environ.get(ENV)
    if not path:
        yield
        return
    started = st.session_state.get(_STARTED, time.perf_counter())
    try:
        yield
    finally:
        line = f"{time.time():.3f}\t{page}\t{time.perf_counter() - started:.4f}\n"
        with _file_lock, open(path, "a", encoding="utf-8") as out:
            out.write(line)
