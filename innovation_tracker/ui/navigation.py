"""Which pages exist for whom. A page a role may not use is never registered, so not even its URL opens it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.ui import WANTED_PAGE, demo_banner, timings

EVERYONE = frozenset(AccountRole)
EDITORS = frozenset({AccountRole.ADMIN, AccountRole.EVALUATOR})
ADMINS = frozenset({AccountRole.ADMIN})


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    url_path: str
    roles: frozenset[AccountRole]
    section: str = "Follow the projects"
    team_title: str | None = None  # what a project team sees it called, when not `title`


PAGES: tuple[PageSpec, ...] = (
    PageSpec(
        "pages/overview.py",
        "Portfolio overview",
        ":material/dashboard:",
        "overview",
        EVERYONE,
        team_title="Our project",
    ),
    PageSpec("pages/timeline.py", "Project timeline", ":material/timeline:", "timeline", EVERYONE),
    PageSpec("pages/compare.py", "Compare projects", ":material/compare:", "compare", EVERYONE),
    PageSpec("pages/matrix.py", "Framework matrix", ":material/grid_on:", "matrix", EVERYONE),
    PageSpec("pages/search.py", "Search the evidence", ":material/search:", "search", EVERYONE),
    PageSpec("pages/agreement.py", "Agreement between coders", ":material/handshake:", "agreement", EVERYONE),
    PageSpec("pages/log-interview.py", "Log an interview", ":material/mic:", "log-interview", EDITORS, "Collect data"),
    PageSpec(
        "pages/double-coding.py", "Double coding", ":material/visibility_off:", "double-coding", EDITORS, "Collect data"
    ),
    PageSpec("pages/sustainability.py", "Sustainability", ":material/eco:", "sustainability", EDITORS, "Collect data"),
    PageSpec("pages/milestones.py", "Milestones", ":material/flag:", "milestones", EVERYONE, "Collect data"),
    PageSpec("pages/fieldwork.py", "Fieldwork", ":material/call:", "fieldwork", EDITORS, "Collect data"),
    PageSpec("pages/manage.py", "Projects and participants", ":material/groups:", "manage", EDITORS, "Collect data"),
    PageSpec("pages/import-export.py", "Import and export", ":material/sync_alt:", "import-export", EVERYONE, "Data"),
    PageSpec("pages/data-quality.py", "Data quality", ":material/rule:", "data-quality", EDITORS, "Administration"),
    PageSpec("pages/settings.py", "Study settings", ":material/tune:", "settings", EDITORS, "Administration"),
    PageSpec("pages/audit.py", "Audit log", ":material/history:", "audit", EDITORS, "Administration"),
    PageSpec("pages/users.py", "Users", ":material/group:", "users", ADMINS, "Administration"),
    PageSpec("pages/glossary.py", "Glossary", ":material/menu_book:", "glossary", EVERYONE, "Help"),
)


def pages_for(viewer: Viewer) -> list[PageSpec]:
    return [spec for spec in PAGES if viewer.role in spec.roles]


_SESSION_KEY = "_navigation:pages"


def run(viewer: Viewer) -> None:
    """Navigate among the viewer's pages. The `st.Page` objects are made once per session and role: making them
    took a tenth of a light page's rerun. They are not shared between sessions, since navigating marks them."""
    kept = st.session_state.get(_SESSION_KEY)
    if kept is None or kept[0] != viewer.role:
        sections, by_path = _sections(viewer)
        kept = (viewer.role, sections, by_path)
        st.session_state[_SESSION_KEY] = kept
    current = st.navigation(kept[1], expanded=True)  # every page in view: "View more" hid the admin pages
    wanted = st.session_state.pop(WANTED_PAGE, None)
    if wanted is not None:
        chosen = [page for pages in kept[1].values() for page in pages if Path(str(page._page)).resolve() == wanted]
        if chosen and chosen[0] is not current:
            st.switch_page(chosen[0], query_params=st.query_params.to_dict())
    with timings.page_run(current.url_path):
        demo_banner()  # once, above every page
        current.run()


def page(path: str):
    """The session's `st.Page` of `path` ("pages/timeline.py") for `st.page_link`, or `path` itself when the viewer
    has no such page: given the page, a link skips resolving its file on disk, a third of a millisecond that the
    overview's 25 warnings paid on every rerun."""
    kept = st.session_state.get(_SESSION_KEY)
    return kept[2].get(path, path) if kept is not None else path


def readable_captions() -> None:
    """Once per run, before anything else (the login too): captions that pass WCAG's contrast."""
    st.html(READABLE_CAPTIONS)


# Streamlit's captions are a grey (#828180 on white, 3.9:1) and their links a pale blue (3:1), below the 4.5:1 that
# WCAG asks of text (axe-core's "color-contrast"). Captions here carry the charts' text alternatives, so they take
# the theme's own text colour, slightly faded, and their links are underlined; light and dark alike.
READABLE_CAPTIONS = """<style>
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p,
[data-testid="stCaptionContainer"] code, [data-testid="stCaptionContainer"] a { color: inherit !important; }
[data-testid="stCaptionContainer"] { color: var(--readable-caption, inherit) !important; opacity: 0.82; }
[data-testid="stCaptionContainer"] a { text-decoration: underline; }
</style>"""


def _sections(viewer: Viewer) -> tuple[dict[str, list], dict[str, Any]]:
    """The viewer's pages by section, and by file ("pages/timeline.py")."""
    sections: dict[str, list] = {}
    by_path: dict[str, Any] = {}
    for n, spec in enumerate(pages_for(viewer)):
        title = spec.team_title if viewer.role == AccountRole.TEAM and spec.team_title else spec.title
        page = st.Page(spec.path, title=title, icon=spec.icon, url_path=spec.url_path, default=n == 0)
        sections.setdefault(spec.section, []).append(page)
        by_path[spec.path] = page
    return sections, by_path
