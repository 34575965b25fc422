"""Which pages exist for whom. A page a role may not use is never registered, so not even its URL opens it."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ..domain import AccountRole, Viewer

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


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/overview.py", "Portfolio overview", ":material/dashboard:", "overview", EVERYONE),
)


def pages_for(viewer: Viewer) -> list[PageSpec]:
    return [spec for spec in PAGES if viewer.role in spec.roles]


def run(viewer: Viewer) -> None:
    sections: dict[str, list] = {}
    for n, spec in enumerate(pages_for(viewer)):
        page = st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path, default=n == 0)
        sections.setdefault(spec.section, []).append(page)
    st.navigation(sections).run()
