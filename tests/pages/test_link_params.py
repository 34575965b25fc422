"""A link's query parameters are checked on every page that reads them (issue 24): junk, a typo or something the
viewer may not see is said to be not valid, with what the parameter takes, and the page carries on with its
default view: never an exception, never another project's data."""

from __future__ import annotations

import pytest

from innovation_tracker import storage
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.ui import navigation
from tests.conftest import EVALUATOR
from tests.support.apptest import everything_shown, open_page

TEAM = Viewer("demo-team-arts", AccountRole.TEAM, frozenset({"ARTS"}))
ADMIN = Viewer("demo-admin", AccountRole.ADMIN)
JUNK = {"project": "NOPE", "participant": "NOPE-99", "wave": "99", "interview": "abc", "tab": "junk"}


def invalid(name: str, value: str, expected: str) -> str:
    return f"The link's {name} parameter (“{value}”) is not valid: it takes {expected}. Showing the page without it."


PROJECT = "the code of a project you can see"
WAVE = "the code of a wave of the schedule, such as baseline"
INTERVIEW = "the id of an interview coded twice"


def warnings(at) -> list[str]:
    return [w.value for w in at.warning]


@pytest.mark.parametrize(
    "page, query, junk, expected",
    [
        ("pages/timeline.py", {"project": "NOPE"}, "project", PROJECT),
        ("pages/milestones.py", {"project": "NOPE"}, "project", PROJECT),
        ("pages/sustainability.py", {"project": "NOPE"}, "project", PROJECT),
        ("pages/sustainability.py", {"project": "CARE", "wave": "99"}, "wave", WAVE),
        ("pages/log-interview.py", {"project": "NOPE"}, "project", PROJECT),
        ("pages/log-interview.py", {"project": "CARE", "wave": "99"}, "wave", WAVE),
        ("pages/log-interview.py", {"project": "ARTS", "participant": "CARE-01"}, "participant",
         "the code of a participant of ARTS"),
        ("pages/double-coding.py", {"interview": "abc"}, "interview", INTERVIEW),
        ("pages/double-coding.py", {"interview": "999999"}, "interview", INTERVIEW),
        ("pages/double-coding.py", {"project": "NOPE"}, "project", PROJECT),
        ("pages/manage.py", {"project": "NOPE"}, "project", PROJECT),
        ("pages/manage.py", {"tab": "junk"}, "tab", "projects or participants"),
        ("pages/manage.py", {"project": "CARE", "tab": "participants", "participant": "NOPE-99"}, "participant",
         "the code of a participant of CARE"),
    ],
    ids=lambda v: v.removeprefix("pages/") if isinstance(v, str) and v.startswith("pages/") else None,
)  # fmt: skip
def test_a_junk_parameter_is_named_and_the_page_shows_its_default_view(
    monkeypatch, seeded_path, page, query, junk, expected
):
    at = open_page(monkeypatch, seeded_path, page, **query)
    assert invalid(junk, query[junk], expected) in warnings(at)
    without = open_page(monkeypatch, seeded_path, page, **{k: v for k, v in query.items() if k != junk})
    assert not [w for w in warnings(without) if "link's" in w]
    assert [b.value for b in at.selectbox] == [b.value for b in without.selectbox]
    assert [r.value for r in at.radio] == [r.value for r in without.radio]


def test_a_junk_project_shows_the_first_project(monkeypatch, seeded_path):
    at = open_page(monkeypatch, seeded_path, "pages/timeline.py", project="NOPE")
    assert at.selectbox[0].value == at.selectbox[0].options[0].split(" · ")[0] == "ARTS"
    assert at.query_params["project"] in ("ARTS", ["ARTS"])


def test_a_team_linked_to_another_project_sees_none_of_it(monkeypatch, seeded_path):
    for page in ("pages/timeline.py", "pages/milestones.py"):
        at = open_page(monkeypatch, seeded_path, page, viewer=TEAM, project="PEER")
        assert invalid("project", "PEER", PROJECT) in warnings(at)
        assert at.selectbox[0].value == "ARTS"
        shown = everything_shown(at)
        assert "Peer Support" not in shown and "PEER-0" not in shown


def test_a_long_junk_value_is_quoted_only_by_its_start(monkeypatch, seeded_path):
    at = open_page(monkeypatch, seeded_path, "pages/timeline.py", project="X" * 5_000)
    assert invalid("project", "X" * 80 + "…", PROJECT) in warnings(at)


def test_a_valid_interview_opens_its_reconciliation(monkeypatch, seeded_path):
    con = storage.connect(seeded_path)
    queue = storage.coding_queue(con, EVALUATOR)
    con.close()
    saved = queue[queue.saved_at.notna()]
    interview = int(saved.interview_id.iloc[0])
    at = open_page(monkeypatch, seeded_path, "pages/double-coding.py", interview=str(interview))
    assert not at.warning
    assert at.radio(key="dc:mode").value == "Reconcile"
    assert at.selectbox(key="dc:reconcile").value == interview


def test_valid_parameters_raise_no_warning(monkeypatch, seeded_path):
    at = open_page(monkeypatch, seeded_path, "pages/log-interview.py", project="ARTS", participant="ARTS-02",
                   wave="month_3")  # fmt: skip
    assert not [w for w in warnings(at) if "link's" in w]
    assert [b.value for b in at.selectbox[:3]] == ["ARTS", "ARTS-02", "month_3"]


@pytest.mark.parametrize("spec", navigation.PAGES, ids=lambda spec: spec.url_path)
def test_every_page_takes_junk_in_every_parameter_without_an_exception(monkeypatch, seeded_path, spec):
    viewer = ADMIN if spec.url_path == "users" else EVALUATOR
    at = open_page(monkeypatch, seeded_path, spec.path, viewer=viewer, **JUNK)
    assert at.title, "the page drew nothing"
    assert "NOPE" not in " ".join(str(b.value) for b in at.selectbox)
