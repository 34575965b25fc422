"""The only package code that imports streamlit: the shared connection, caching, and page furniture."""

from __future__ import annotations

import copy
import datetime as dt
import os
import threading
import weakref
from collections.abc import Callable, Container, Hashable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar, TypeVarTuple

import pandas as pd
import pyarrow as pa
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from innovation_tracker import storage
from innovation_tracker.app import service
from innovation_tracker.domain.errors import TrackerError
from innovation_tracker.domain.model import Viewer, text_limit
from innovation_tracker.ui.results import ResultCache
from innovation_tracker.ui.text import escape_markdown
from innovation_tracker.views import page_content

T = TypeVar("T")
Args = TypeVarTuple("Args")

DB_ENV = "INNOVATION_TRACKER_DB"
TODAY_ENV = "INNOVATION_TRACKER_TODAY"
DEFAULT_DB = Path("data/tracker.duckdb")
ENTRY_SCRIPT = Path(__file__).resolve().parents[2] / "dashboard.py"
# Served by the app itself: a Material icon as page icon is fetched from a font host, and the app makes no outside
# request.
FAVICON = str(Path(__file__).with_name("favicon.png"))


def database_path() -> Path | str:
    """The DuckDB file, or the `postgresql://` URL (kept as text: a path would fold its `//`)."""
    target = os.environ.get(DB_ENV, str(DEFAULT_DB))
    return target if storage.is_postgres(target) else Path(target)


def today() -> dt.date:
    """The date the app works to: the real date unless INNOVATION_TRACKER_TODAY pins it (demos, tests)."""
    pinned = os.environ.get(TODAY_ENV)
    return dt.date.fromisoformat(pinned) if pinned else dt.date.today()


@st.cache_resource(show_spinner=False)
def _shared_connection(path: str) -> storage.Database:
    """One connection per process (reopened if DuckDB invalidates it); a database that does not exist yet starts as
    the demo study. A file that cannot be opened raises, and is tried again at the next run (errors are not kept)."""
    new_file = not storage.is_postgres(path) and not Path(path).exists()
    database = storage.Database(path)
    if new_file or database.shared:  # PostgreSQL: a database with no study and no account yet starts as the demo too
        service.start_demo_if_new(database.cursor(), today=today())
    return database


@st.cache_resource(show_spinner=False)
def _result_cache(path: str) -> ResultCache:
    """Reads and page content of one database, shared by every session (`st.cache_resource.clear()` empties it)."""
    return ResultCache()


@dataclass
class _Run:
    """What one script run reuses: its cursor, the result cache, and the data version while nobody writes."""

    marker: object  # Streamlit's per-run dict of cursors: a new run (or fragment run) has a new one
    target: str | None  # the database as INNOVATION_TRACKER_DB named it
    database: storage.Database
    cursor: storage.Connection
    results: ResultCache
    writes: int = -1  # storage.local_writes() when `version` was read
    version: int = 0

    def data_version(self) -> int:
        writes = storage.local_writes()
        if writes != self.writes:
            self.writes, self.version = writes, self.database.data_version(self.cursor)
        return self.version


# The run each script thread is in. A session's runs are made one after another on its script thread, so a thread
# has one run at a time; a page asks for it a dozen times a run, and session state cost 0.1 ms an ask.
_runs = threading.local()


def _this_run() -> _Run:
    ctx = get_script_run_ctx()
    marker = ctx.cursors if ctx is not None else None
    target = os.environ.get(DB_ENV)
    run: _Run | None = getattr(_runs, "run", None) if marker is not None else None
    if run is None or run.marker is not marker or run.target != target:
        path = str(database_path())
        database = _shared_connection(path)
        run = _Run(marker, target, database, database.cursor(), _result_cache(path))
        if marker is not None:
            _runs.run = run
    return run


# DuckDB: each viewer's drafts, with `storage.local_writes()` when they were read. Drafts are not audited, so the
# data version does not say when they change; but every write of this process counts, and no other process writes.
_DRAFTS: weakref.WeakKeyDictionary[storage.Database, dict[Viewer, tuple[int, list[dict]]]] = weakref.WeakKeyDictionary()


def my_drafts() -> list[dict]:
    """The viewer's unsaved drafts (`storage.list_drafts`), which a form page shows on every run: read again on
    DuckDB only after this process has written (2.4 ms a run saved), on PostgreSQL every time (other servers
    write). Shared, not copied: a caller changes nothing in them."""
    run, who = _this_run(), viewer()
    if run.database.shared:
        return storage.list_drafts(run.cursor, who)
    writes = storage.local_writes()
    kept = _DRAFTS.setdefault(run.database, {})
    found = kept.get(who)
    if found is None or found[0] != writes:
        found = kept[who] = (writes, storage.list_drafts(run.cursor, who))
    return found[1]


def connection() -> storage.Connection:
    """This script run's cursor: DuckDB connections must not be shared between threads."""
    return _this_run().cursor


_GATED_RUN = "_ui:gated_run"
WANTED_PAGE = "_ui:wanted_page"  # a page asked for by a run that page_gate sent to the entry page


def mark_gated_run() -> None:
    """Called by the login gate once it has let a viewer through: this script run may show them their pages."""
    ctx = get_script_run_ctx()
    st.session_state[_GATED_RUN] = ctx.cursors if ctx is not None else None


def page_gate() -> None:
    """The first call of every page. A page file in `pages/` can run without `dashboard.py`: on a freshly started
    server Streamlit runs its old folder mode until a run has called `st.navigation`, and a request for `/audit`
    could then run `pages/audit.py` directly. Such a run has not passed the login gate in this very run, so it is
    sent to the entry page (which shows the login) before it reads or draws anything; a page run as a script of
    its own (`streamlit run pages/audit.py`) only says where to log in."""
    ctx = get_script_run_ctx()
    if ctx is None or st.session_state.get(_GATED_RUN) is ctx.cursors:
        return
    if Path(ctx.main_script_path).resolve() == ENTRY_SCRIPT:
        info = ctx.pages_manager.get_pages().get(ctx.page_script_hash)
        if info is not None:  # after the login, navigation opens the page that was asked for (ui.navigation)
            st.session_state[WANTED_PAGE] = Path(info["script_path"]).resolve()
        st.switch_page(ENTRY_SCRIPT.name, query_params=st.query_params.to_dict())
    st.info("Open the dashboard (`streamlit run dashboard.py`) and log in to see this page.", icon=":material/lock:")
    st.stop()


def viewer() -> Viewer:
    """The logged-in viewer. Every scoped read asks for it, so nothing is read without a login, even by a page
    that somehow ran without `dashboard.py`'s gate (a second lock behind `page_gate`)."""
    current = st.session_state.get("viewer")
    if current is None:
        st.warning("Please log in to see this page.")
        st.stop()
    return current


def read(query: Callable[[storage.Connection, Viewer, *Args], T], *args: *Args) -> T:
    """`query(con, viewer, *args)` as the logged-in viewer, kept until the next write, and returned as this run's own
    copy: a page may change what it gets without changing what the next run gets."""
    return _private(shared(query, *args))


def shared(build: Callable[[storage.Connection, Viewer, *Args], T], *args: *Args) -> T:
    """`build(con, viewer, *args)` kept like `read`, but shared rather than copied: what a page only shows (figures,
    tables) and must never change. Pages put their finished content here, so a rerun only draws it."""
    run, who = _this_run(), viewer()
    key: Hashable = (build.__module__, build.__qualname__, who, args)
    try:
        hash(key)
    except TypeError:  # a list among the arguments
        key = repr(key)
    version = run.data_version()
    return run.results.get(version, key, lambda: _kept_build(run.results, version, build, run.cursor, who, *args))


def _kept_build(results: ResultCache, version: int, build: Callable[..., T], *args) -> T:
    """`build(*args)` with the portfolio-wide reads it makes (`storage.kept`) kept in `results` at `version`: the
    overview and its status table, or Compare's three parts, compute the schedule's counts once, not each."""
    with storage.keeping(lambda key, read, refresh: results.get(version, key, read, refresh)):
        return build(*args)


def reference(query: Callable[[storage.Connection, *Args], T], *args: *Args) -> T:
    """`query(con, *args)` for what every viewer may read alike (the study, its waves, factors and indicators),
    kept until the next write like `read`."""
    run = _this_run()
    key = (query.__module__, query.__qualname__, None, args)
    return _private(run.results.get(run.data_version(), key, lambda: query(run.cursor, *args)))


def _private(value):
    if isinstance(value, pd.DataFrame | pd.Series):
        return value.copy(deep=False)  # copy-on-write (pandas 3): changing the copy never changes the original
    if isinstance(value, str | int | float | bool | dt.date | type(None)) or _frozen(value):
        return value
    if isinstance(value, list) and all(_frozen(item) for item in value):
        return list(value)
    return copy.deepcopy(value)


def _frozen(value) -> bool:
    params = getattr(value, "__dataclass_params__", None)
    return params is not None and params.frozen


def clear_results() -> None:
    """Forget every kept read and piece of shared content (tests and the benchmark's cold render)."""
    _result_cache.clear()


def max_chars(field: str, shown: object = None) -> int:
    """A text widget's `max_chars` for `field` (`domain.TEXT_LIMITS`), and never below the length of the stored
    value it shows: Streamlit cuts a longer value to `max_chars` without a word, so a value stored before the limit
    keeps every character and its save names the limit instead."""
    return max(text_limit(field), len(shown) if isinstance(shown, str) else 0)


LINK_VALUE_SHOWN = 80  # characters of a link's value quoted back in the message (a longer one is cut)


def link_param(name: str, valid: Container[str], expected: str) -> str | None:
    """The value of the link's query parameter `name` when it is one of `valid`, else None (absent, or not valid).
    A value that is not valid (a typo, junk, or something the viewer may not see) is said to be so, with what the
    parameter takes (`expected`), and the page carries on with its default view. Nothing tells a value that
    exists for somebody else from one that exists nowhere."""
    value = st.query_params.get(name)
    if value is None or value in valid:
        return value
    shown = value if len(value) <= LINK_VALUE_SHOWN else value[:LINK_VALUE_SHOWN] + "…"
    st.warning(
        f"The link's {name} parameter (“{escape_markdown(shown)}”) is not valid: it takes {expected}."
        " Showing the page without it.",
        icon=":material/link_off:",
    )
    return None


def pick_project(
    label: str,
    *,
    where=None,
    key: str | None = None,
    none: str | None = None,
    link: bool = False,
):
    """A project picker over the projects the viewer sees, with `link` preselecting the project of the link's
    `project` parameter (a deep link; one the viewer cannot see is said to be not valid). With `none`, a first
    option (None) labelled so ("The whole portfolio", "(new)"). Past `page_content.PICKER_LIMIT` projects the page
    first asks for part of a code or name: a picker sends every option to the browser on every rerun, and 11,000 of
    them cost a rerun more than the rest of the page."""
    where = where or st
    choices = shared(page_content.project_choices)
    wanted = link_param("project", choices.labels, "the code of a project you can see") if link else None
    codes = choices.codes
    if len(codes) > page_content.PICKER_LIMIT:
        text = where.text_input(
            f"Find a project among {len(codes):,}",
            key=f"{key or label}:find",
            placeholder="Part of a code or a name",
            max_chars=text_limit("name"),
        ).strip()
        codes, matching = shared(page_content.matching_projects, text)
        if wanted in choices.labels and wanted not in codes:
            codes = (wanted, *codes)
        if not codes:
            codes = choices.codes[: page_content.PICKER_LIMIT]
            where.caption(
                f"No project matches “{escape_markdown(text)}”: the first {len(codes):,} by code are offered."
            )
        elif matching > len(codes):
            where.caption(f"The first {len(codes):,} of {matching:,} matches: type more to narrow down.")
    options = codes if none is None else (None, *codes)  # at most PICKER_LIMIT codes, and `none`
    label_of_code = choices.label if none is None else (lambda code: none if code is None else choices.labels[code])
    index = options.index(wanted) if wanted in options else 0
    return where.selectbox(label, options, index=index, format_func=label_of_code, key=key)


def pick_projects(label: str, *, key: str, chosen: Sequence[str] = (), help: str | None = None) -> list[str]:
    """A multiselect of the projects the viewer sees, starting with `chosen`. Past `page_content.PICKER_LIMIT`
    projects it offers only those chosen and takes codes typed in: a multiselect sends every option to the browser
    on every rerun, and two of 11,000 projects were half the Users page's rerun. A typed code that names no project
    is refused by the form's own check, which names it."""
    codes = shared(page_content.project_choices).codes
    if len(codes) <= page_content.PICKER_LIMIT:
        known = set(codes)
        return st.multiselect(label, codes, default=[c for c in chosen if c in known], key=key, help=help)
    typed = f"{len(codes):,} projects are too many to list: type a project's code and press Enter."
    return st.multiselect(
        label,
        sorted(chosen),
        default=sorted(chosen),
        key=key,
        help=f"{help}. {typed}" if help else typed,
        accept_new_options=True,
        placeholder="Type a project code",
    )


# (id(frame), first row, end) -> (a weak reference to the frame, those rows as Arrow); an entry goes with its frame
_ARROW: dict[tuple[int, int, int | None], tuple[weakref.ref, pa.Table]] = {}


def as_arrow(frame: pd.DataFrame, start: int = 0, stop: int | None = None) -> pa.Table | pd.DataFrame:
    """`frame`'s rows `start:stop` as the Arrow table `st.dataframe` sends to the browser (the same conversion,
    index included), converted once for as long as the frame lives. Content kept for a data version (`shared`)
    is drawn on every rerun, and converting it was most of drawing it: 2.6 of 3.4 ms for a screen of 50 calls,
    15 ms for a screen of the framework matrix. Rows Arrow cannot convert as they are come back as a frame, for
    Streamlit's own fixes."""
    key = (id(frame), start, stop)
    found = _ARROW.get(key)
    if found is not None and found[0]() is frame:
        return found[1]
    rows = frame if start == 0 and stop is None else frame.iloc[start:stop]
    try:
        table = pa.Table.from_pandas(rows)
    except (pa.ArrowException, OverflowError):
        return rows
    _ARROW[key] = (weakref.ref(frame, partial(_forget_arrow, key)), table)
    return table


def _forget_arrow(key: tuple[int, int, int | None], _gone: weakref.ref) -> None:
    _ARROW.pop(key, None)


def paginated(frame, key: str, rows: int = 50, shown=None, **dataframe_args) -> None:
    """A long table a page at a time: the browser gets `rows` rows, however many the table has. `shown`, if given,
    turns the page's rows into what the table shows (`display.readable`): only those rows, never all 11,000."""
    pages = max(1, -(-len(frame) // rows))
    page = 1
    if pages > 1:
        where = st.columns(4)[0]
        page = where.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, value=1, step=1, key=key)
    start = (page - 1) * rows
    if shown is None:
        st.dataframe(as_arrow(frame, start, start + rows), **dataframe_args)
    else:
        st.dataframe(shown(frame.iloc[start : start + rows]), **dataframe_args)


_BANNER_RUN = "_ui:banner_run"


def demo_banner(con: storage.Connection | None = None) -> None:
    """The demo banner, once per script run: navigation shows it above every page, so a page that still calls it
    adds nothing."""
    ctx = get_script_run_ctx()
    marker = ctx.cursors if ctx is not None else None
    if marker is not None and st.session_state.get(_BANNER_RUN) is marker:
        return
    if marker is not None:
        st.session_state[_BANNER_RUN] = marker
    study = reference(storage.get_study)
    if study is not None and study.is_demo:
        st.info(
            f"**Demo data.** *{escape_markdown(study.name)}* is synthetic: no real project, participant or interview"
            " is shown.",
            icon=":material/science:",
        )


def pooling_note() -> str:
    """What funders and teams are told about roles pooled for de-identification (see storage/access.py)."""
    k = reference(storage.min_role_group)
    return f"Roles held by fewer than {k} participants of a project appear as “Stakeholder”."


def show_error(error: TrackerError) -> None:
    st.error(f"**{error.title}.** {escape_markdown(error.message)}")
