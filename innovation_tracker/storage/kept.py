"""One computation of a portfolio-wide read per data version, however many page builds ask for it.

A page's content is built by several functions (the overview and its status table, Compare's matrix, citation table
and chart), and each reads what it needs: the schedule's counts, the ratings' balance, the citations. Built one after
another they asked the database for the same portfolio-wide result up to three times, which on PostgreSQL at
S = 1000 is seconds each. A read marked `@kept` is computed once while `keeping(store)` is in force (the UI's result
cache, at the current data version: `ui.shared` sets it around every build) and shared by every build, session and
thread until the next write. Outside `keeping` (the CLI, reports, tests) a kept read simply runs.

Keys are the read's name and its arguments after the connection, so the viewer (always the first of them for a
scoped read) is part of the key: nothing kept for one viewer is ever given to another.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import pandas as pd

P = ParamSpec("P")
T = TypeVar("T")

Store = Callable[[Hashable, Callable[[], Any]], Any]  # (key, build) -> the kept value, built when absent

_store: contextvars.ContextVar[Store | None] = contextvars.ContextVar("kept_reads", default=None)


@contextmanager
def keeping(store: Store) -> Iterator[None]:
    """Within this block, `@kept` reads are looked up in (and added to) `store`."""
    token = _store.set(store)
    try:
        yield
    finally:
        _store.reset(token)


def kept(read: Callable[P, T]) -> Callable[P, T]:
    """Mark `read(con, *args)` as kept while `keeping` is in force. The value is shared, so a frame is handed out as
    a shallow copy (copy-on-write: a caller's change never reaches the kept frame), a dict as a copy."""

    @functools.wraps(read)
    def reader(*args: P.args, **kwargs: P.kwargs) -> T:
        store = _store.get()
        if store is None:
            return read(*args, **kwargs)
        key: Hashable = ("kept", read.__module__, read.__qualname__, args[1:], tuple(sorted(kwargs.items())))
        try:
            hash(key)
        except TypeError:  # a list among the arguments
            key = repr(key)
        value = store(key, lambda: read(*args, **kwargs))
        if isinstance(value, pd.DataFrame | pd.Series):
            return value.copy(deep=False)
        return dict(value) if isinstance(value, dict) else value  # type: ignore[return-value]

    return reader


def in_context(call: Callable[[], T]) -> Callable[[], T]:
    """`call` bound to this thread's context, for a worker thread: reads it runs stay kept."""
    context = contextvars.copy_context()
    return lambda: context.run(call)
