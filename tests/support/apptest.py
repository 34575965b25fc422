"""Opening a page of the app in AppTest, as a given viewer, on a given database and date."""

from __future__ import annotations

from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest, app_test
from streamlit.util import calc_hash

from innovation_tracker.ui import navigation
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
    """The app on the database at `path` as `viewer` (None: nobody is logged in), on `today`, after its first run,
    at `page` (a file under pages/) if one is given, with `query` as the URL's parameters: a logged-in viewer's first
    run is at the page's own address, as when a deep link is opened (no run of the landing page first). `secrets`
    and `user` stand in for secrets.toml and a single sign-on identity. With `check`, the app must have raised
    nothing."""
    monkeypatch.setenv("INNOVATION_TRACKER_DB", str(path))
    monkeypatch.setenv("INNOVATION_TRACKER_TODAY", today.isoformat())
    at = AppTest.from_file("../../dashboard.py", default_timeout=120)
    if viewer is not None:
        at.session_state["viewer"] = viewer
    if secrets is not None:
        at.secrets = secrets
    if user is not None:
        at.user = user
    for key, value in query.items():
        at.query_params[key] = value
    if page is not None and viewer is not None and (address := _address(page, viewer)) is not None:
        at._page_hash = address
        page = None
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    if check:
        assert not at.exception, [e.value for e in at.exception]
    return at


def _address(page, viewer) -> str | None:
    """The hash of the URL path under which navigation registers `page` for `viewer` (what `switch_page` resolves
    after a first run), or None for a page the viewer's role does not have: that one goes through a first run and
    `switch_page`, which refuses a page the run did not register."""
    for spec in navigation.pages_for(viewer):
        if spec.path == page:
            return calc_hash(spec.url_path)
    return None


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


def open_tab(at: AppTest, key: str, label: str) -> AppTest:
    """`at` after a click on the tab `label` of the tabs keyed `key`: a page draws only its open tab."""
    at.session_state[key] = label
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_codebook(at: AppTest) -> AppTest:
    """Log an interview with every group of its codebook open, as a coder opens them: a closed group is not drawn
    (its key: "log:group:<group>:False", the group as its label reads before the count)."""
    for box in at.expander:
        group, _, count = box.label.rpartition(" · ")
        if group and count.replace(",", "").isdigit():
            at.session_state[f"log:group:{group}:False"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at
