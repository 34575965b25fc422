"""One computation of a portfolio-wide read per data version, however many page builds ask for it.

A page's content is built by several functions (the overview and its status table, Compare's matrix, citation table
and chart), and each reads what it needs: the schedule's counts, the ratings' balance, the citations. Built one after
another they asked the database for the same portfolio-wide result up to three times, which on PostgreSQL at
S = 1000 is seconds each. A read marked `@kept` is computed once while `keeping(store)` is in force (the UI's result
cache, at the current data version: `ui.shared` sets it around every build) and shared by every build, session and
thread until the next write. Outside `keeping` (the CLI, reports, tests) a kept read simply runs.

Keys are the read's name and its arguments after the connection, the viewer (always the first of them for a
scoped read) as the scope the access rules give it (`_scope`): what is kept for one viewer is given to another only
when the rules give both the same rows.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import Any, ParamSpec, TypeVar, cast

import numpy as np
import pandas as pd

from innovation_tracker.domain.model import Viewer
from innovation_tracker.storage import shelf
from innovation_tracker.storage.access import BLIND_CODINGS
from innovation_tracker.storage.db import changed_projects

P = ParamSpec("P")
# Past this many written projects a kept frame is read whole again instead of spliced. Reading some projects by
# code grows with their number: at S = 1000 the citations of 2,000 of 11,000 projects took 0.29 s against 1.4 s for
# all on DuckDB, and 0.72 s against 4.6 s on PostgreSQL; the splice itself grows with it too.
MOST_PROJECTS_REREAD = 2000
T = TypeVar("T")

# (key, build, refresh) -> the kept value, built when absent; with a `refresh`, a value kept at an earlier version
# may be brought up to date by refresh(earlier_version, version, earlier_value) instead (ui/results.py)
Store = Callable[[Hashable, Callable[[], Any], Callable[[int, int, Any], Any] | None], Any]

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
    return _keeper(read, None)


def kept_by_project(order: tuple[str, ...]) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Mark `read(con, viewer, …, only=None)`, a frame (or a dict of frames) with a `project_code` column whose
    rows for a project depend only on that project's records, as kept and brought up to date after a write by
    re-reading only the projects written since (`only=` those codes; the audit entries name them,
    storage.changed_projects) and putting their rows in place of the old ones (a caller's own `only=`, a screen of
    projects, is kept as asked: only the written projects among them are read again), sorted by `order` as the
    read's own ORDER BY. A write that names no single project (the study's settings, an import, a delete) makes it
    read every project again. At S = 1000 that is a few milliseconds per project instead of seconds for the
    portfolio on PostgreSQL. There, the whole portfolio's frame is also shared with the other servers through the
    database (storage/shelf.py), so only the first server to need it reads it all."""

    def mark(read: Callable[P, T]) -> Callable[P, T]:
        return _keeper(read, order)

    return mark


def _keeper(read: Callable[P, T], order: tuple[str, ...] | None) -> Callable[P, T]:
    @functools.wraps(read)
    def reader(*args: P.args, **kwargs: P.kwargs) -> T:
        store = _store.get()
        if store is None:
            return read(*args, **kwargs)
        scope = _scope(store, args[0], args[1]) if len(args) > 1 and isinstance(args[1], Viewer) else args[1:2]
        key: Hashable = ("kept", read.__module__, read.__qualname__, (scope, *args[2:]), tuple(sorted(kwargs.items())))
        try:
            hash(key)
        except TypeError:  # a list among the arguments
            key = repr(key)

        asked = cast(Iterable[str] | None, kwargs.get("only"))  # a caller's own narrowing (a screen of the matrix)

        def refresh(since: int, version: int, earlier: Any) -> Any:
            changed = changed_projects(args[0], since, version)  # type: ignore[arg-type]
            if changed is None:
                return None
            if asked is not None:
                changed = changed & frozenset(asked)  # only the written projects among those asked
            if not changed:
                return earlier
            if len(changed) > MOST_PROJECTS_REREAD:
                return None  # a sync of the whole portfolio, or a frame from the shelf many writes old
            partial_read: Callable[..., Any] = read
            fresh = partial_read(*args, **{**kwargs, "only": tuple(sorted(changed))})
            if isinstance(earlier, dict):  # several frames read together, each in `order`
                spliced = {key: _spliced(earlier[key], fresh[key], changed, order or ()) for key in earlier}
                return None if any(frame is None for frame in spliced.values()) else spliced
            return _spliced(earlier, fresh, changed, order or ())

        def build() -> Any:
            return read(*args, **kwargs)

        if order is not None and asked is None and shelf.available(args[0]):
            # the whole portfolio, on PostgreSQL: another server (or this one before a restart) may have read it
            build = partial(shelf.through, args[0], key, build, refresh)
        value = store(key, build, None if order is None else refresh)
        if isinstance(value, pd.DataFrame | pd.Series):
            return value.copy(deep=False)
        if isinstance(value, dict):
            return {k: v.copy(deep=False) if isinstance(v, pd.DataFrame) else v for k, v in value.items()}  # type: ignore[return-value]
        return value

    return reader


def _scope(store: Store, con: Any, viewer: Viewer) -> Hashable:
    """What a scoped read's result depends on of its viewer (storage/access.py): two viewers with the same scope
    share one kept result, so the portfolio is read once per server, not once per user. Funders see the same
    de-identified study, and a team its projects; editors of one role see the same study, except one with a blind
    second coding in progress (they read nothing of that interview's first coding), who keeps their own. Whether
    they have one is asked once per data version (only a write starts or saves a coding)."""
    if not viewer.identified:
        return ("de-identified", viewer.role, viewer.projects)
    blind = store(("kept", "blind", viewer.username), partial(_coding_blind, con, viewer.username), None)
    return ("identified", viewer.role, viewer.username if blind else None)


def _coding_blind(con: Any, username: str) -> bool:
    return con.execute(BLIND_CODINGS.format(coder="?") + " LIMIT 1", [username]).fetchone() is not None


def only_projects(only: tuple[str, ...] | None, column: str, where: str = "WHERE") -> tuple[str, dict[str, list[str]]]:
    """The condition (after `where`) that keeps the rows of the projects `only` names, with its parameter, for a
    `kept_by_project` read: nothing when `only` is None (every project)."""
    if only is None:
        return "", {}
    return f" {where} list_contains($only::VARCHAR[], {column})", {"only": list(only)}


def in_context(call: Callable[[], T]) -> Callable[[], T]:
    """`call` bound to this thread's context, for a worker thread: reads it runs stay kept."""
    context = contextvars.copy_context()
    return lambda: context.run(call)


def _spliced(earlier: pd.DataFrame, fresh: pd.DataFrame, changed: frozenset[str], order: tuple[str, ...]):
    """`earlier` with the rows of the `changed` projects replaced by `fresh`, in `order`; None (read it all) when
    the two do not have the same columns and types. A frame in project order is cut at each changed project's rows
    (found by binary search) and put together again, which at 714,000 rows takes a tenth of the time of filtering
    every row and sorting them all."""
    if list(fresh.columns) != list(earlier.columns):
        return None
    if len(fresh):
        try:
            fresh = fresh.astype(earlier.dtypes.to_dict())
        except (TypeError, ValueError):
            return None
    codes = earlier.project_code
    # once as a NumPy array: each check or search of the (Arrow) column would convert its 714,000 strings again
    values = codes.to_numpy(dtype=object)
    if order[:1] == ("project_code",) and (len(values) < 2 or bool((values[1:] >= values[:-1]).all())):
        if len(fresh) > 1:
            fresh = fresh.sort_values(list(order), kind="stable")
        pieces, at = [], 0
        wanted = sorted(changed)
        starts, ends = np.searchsorted(values, wanted, side="left"), np.searchsorted(values, wanted, side="right")
        spans = list(zip(starts.tolist(), ends.tolist(), strict=True))
        if _unchanged([earlier.iloc[start:end] for start, end in spans], fresh):
            return earlier
        for code, (start, end) in zip(wanted, spans, strict=True):
            pieces += [earlier.iloc[at:start], fresh[fresh.project_code == code]]
            at = end
        pieces.append(earlier.iloc[at:])
        return pd.concat([piece for piece in pieces if len(piece)] or [earlier.iloc[:0]], ignore_index=True)
    written = codes.isin(changed)
    if _unchanged([earlier[written]], fresh):
        return earlier
    rows = earlier[~written]
    if len(fresh):
        rows = pd.concat([rows, fresh], ignore_index=True)
    if order:  # a database may sort text by a locale: from here on the frame is in byte order
        rows = rows.sort_values(list(order), kind="stable")
    return rows.reset_index(drop=True)


def _unchanged(old: list[pd.DataFrame], fresh: pd.DataFrame) -> bool:
    """Whether the written projects' rows read again (`fresh`, in order) are the rows kept for them (`old`): then
    the kept frame stands as it is. Most writes leave most reads as they were (a new outlook changes no agreement
    count), and putting a frame of 287,000 rows together again cost 10–25 ms a read after every save."""
    if sum(len(piece) for piece in old) != len(fresh):
        return False
    kept = pd.concat(old, ignore_index=True) if len(old) > 1 else old[0].reset_index(drop=True)
    return kept.equals(fresh.reset_index(drop=True))


def together(con: Any, **reads: Callable[[Any], object]) -> dict[str, Any]:
    """Run independent reads side by side, each on its own cursor: DuckDB works while Python turns the previous
    result into a frame. On two cores a portfolio page's reads take about two thirds of the time one after another
    takes."""

    def run(read):
        cursor = con.cursor()
        try:
            return read(cursor)
        finally:
            cursor.close()

    with ThreadPoolExecutor(max_workers=3) as pool:
        # each in this thread's context, so the reads stay kept (storage.kept) as they would be here
        futures = {name: pool.submit(in_context(partial(run, read))) for name, read in reads.items()}
        return {name: future.result() for name, future in futures.items()}
