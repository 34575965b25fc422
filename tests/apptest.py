"""Opening a page of the app in AppTest, as a given viewer, on a given database and date."""

from __future__ import annotations

from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest, app_test

from tests.conftest import DEMO_TODAY, EVALUATOR


def open_page(
    monkeypatch,
    path,
    page=None,
    viewer=EVALUATOR,
    today=DEMO_TODAY,
    *,
    check=True,
    secrets=None,
    user=None,
    **query,
) -> AppTest:
    """The app on the database at `path` as `viewer` (None: nobody is logged in), on `today`, after its first run;
    then `page` (a file under pages/), if one is given, with `query` as the URL's parameters. `secrets` and `user`
    stand in for secrets.toml and a single sign-on identity. With `check`, the app must have raised nothing."""
    monkeypatch.setenv("INNOVATION_TRACKER_DB", str(path))
    monkeypatch.setenv("INNOVATION_TRACKER_TODAY", today.isoformat())
    at = AppTest.from_file("../dashboard.py", default_timeout=120)
    if viewer is not None:
        at.session_state["viewer"] = viewer
    if secrets is not None:
        at.secrets = secrets
    if user is not None:
        at.user = user
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    if check:
        assert not at.exception, [e.value for e in at.exception]
    return at


def everything_shown(at) -> str:
    """All the page shows: text of every element, table contents, chart specs."""
    parts = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            walk(child)
        if getattr(node, "type", None) in ("dataframe", "table"):
            parts.append(node.value.to_csv())
        elif hasattr(node, "proto"):
            parts.append(str(node.proto))

    walk(at._tree)
    return "\n".join(parts)


class _ServedPagesManager(PagesManager):
    """AppTest forgets, before every run, that `st.navigation` was ever called (it resets
    `PagesManager.uses_pages_directory`), so with a `pages/` folder beside the entry script each run would be a
    fresh server's first, in the old folder mode. Given this subclass, AppTest resets the subclass's flag and leaves
    the process-wide one alone: runs behave as on a server that has served its first request."""


def as_served() -> None:
    """Make AppTest runs navigate as a running server does (see `_ServedPagesManager`)."""
    app_test.PagesManager = _ServedPagesManager
    PagesManager.uses_pages_directory = False
