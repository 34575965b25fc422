"""Every page × every role: which pages exist, that each renders, and that a team sees only its own project."""

import datetime as dt
import re

import pytest

from innovation_tracker import storage
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.ui.navigation import PAGES, pages_for
from tests.conftest import DEMO_TODAY
from tests.support.apptest import everything_shown, open_page

VIEWERS = {
    "admin": Viewer("demo-admin", AccountRole.ADMIN),
    "evaluator": Viewer("demo-evaluator", AccountRole.EVALUATOR),
    "funder": Viewer("demo-funder", AccountRole.FUNDER),
    "team": Viewer("demo-team-arts", AccountRole.TEAM, frozenset({"ARTS"})),
}
READERS = {
    "overview",
    "timeline",
    "compare",
    "matrix",
    "search",
    "agreement",
    "milestones",
    "import-export",
    "glossary",
}
EXPECTED = {
    "admin": {spec.url_path for spec in PAGES},
    "evaluator": {spec.url_path for spec in PAGES} - {"users"},
    "funder": READERS,
    "team": READERS,
}


@pytest.mark.parametrize("role", VIEWERS)
def test_each_role_is_offered_exactly_its_pages(role):
    assert {spec.url_path for spec in pages_for(VIEWERS[role])} == EXPECTED[role]


def render(monkeypatch, path, viewer, page, today=DEMO_TODAY):
    return open_page(monkeypatch, path, page, viewer, today, check=False)


@pytest.fixture(scope="module")
def other_projects(demo_file):
    con = storage.connect(demo_file)
    rows = con.execute("SELECT project_code, name FROM project WHERE project_code <> 'ARTS'").fetchall()
    con.close()
    return rows


CASES = [(role, spec.path) for role in VIEWERS for spec in PAGES]


@pytest.mark.parametrize("role, page", CASES, ids=[f"{r}-{p.split('/')[-1][:-3]}" for r, p in CASES])
def test_every_page_renders_for_every_role_that_has_it(monkeypatch, seeded_path, other_projects, role, page):
    viewer = VIEWERS[role]
    allowed = page in {spec.path for spec in pages_for(viewer)}
    if not allowed:
        with pytest.raises(Exception):  # noqa: B017 - Streamlit refuses a page that is not registered
            render(monkeypatch, seeded_path, viewer, page)
        return
    at = render(monkeypatch, seeded_path, viewer, page)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title, "every page has a title"
    if role == "team":
        shown = everything_shown(at)
        for code, name in other_projects:
            assert not re.search(rf"\b{code}\b", shown), f"{page} shows {code} to the ARTS team"
            assert name not in shown, f"{page} shows {name} to the ARTS team"


@pytest.mark.parametrize("spec", PAGES, ids=[spec.url_path for spec in PAGES])
def test_every_page_has_an_empty_state(monkeypatch, empty_study, spec):
    at = render(monkeypatch, empty_study, VIEWERS["admin"], spec.path, dt.date(2025, 3, 1))
    assert not at.exception, [e.value for e in at.exception]
    assert at.title
