"""Participants' contact details are identifiers (issue 14): admins and evaluators see them on the call list and
the participant's page; funders and project teams never see them, on any page, in any read, export or report, and
the REDCap dictionary marks them `Identifier? = y`. The demo's details reach nobody."""

import re

import pandas as pd
import pytest

from innovation_tracker import storage
from innovation_tracker.app import service
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.storage.access import SCOPED_READS, query
from innovation_tracker.ui.navigation import PAGES, pages_for
from innovation_tracker.views import reports
from tests.conftest import DEMO_TODAY
from tests.pages.test_pages_by_role import everything_shown
from tests.storage.test_access import as_text, calls
from tests.support.apptest import open_page

FUNDER = Viewer("demo-funder", AccountRole.FUNDER)
TEAM = Viewer("demo-team-arts", AccountRole.TEAM, frozenset({"ARTS"}))
EVALUATOR = Viewer("demo-evaluator", AccountRole.EVALUATOR)
DE_IDENTIFIED = {"funder": FUNDER, "team": TEAM}


@pytest.fixture(scope="module")
def contacts(demo_file):
    con = storage.connect(demo_file)
    found = con.execute("SELECT telephone, email, call_times FROM participant_contact").df()
    people = con.execute("SELECT count(*) FROM participant").fetchone()[0]
    con.close()
    assert len(found) == people == 65, "every demo participant has contact details"
    return found


def leaked(text: str, contacts: pd.DataFrame) -> list[str]:
    found = [value for value in [*contacts.telephone, *contacts.email] if value in text]
    return found + re.findall(r"01632 ?960\d{3}|[\w.-]+@example\.org", text)


def test_the_demo_gives_everyone_details_that_reach_nobody(contacts):
    assert contacts.telephone.str.fullmatch(r"01632 960\d{3}").all(), "Ofcom's drama range 01632 960000–960999"
    assert contacts.telephone.is_unique
    assert contacts.email.str.fullmatch(r"[a-z0-9-]+@example\.org").all(), "example.org is reserved"
    assert contacts.call_times.notna().all()


@pytest.mark.parametrize("role", DE_IDENTIFIED)
def test_no_read_gives_funders_or_teams_contact_details(demo_file, contacts, role):
    con = storage.connect(demo_file)
    try:
        for name, read in sorted(SCOPED_READS.items()):
            for args in calls(read):
                text = as_text(read(con, DE_IDENTIFIED[role], *args))
                assert not leaked(text, contacts), f"{name}{args} gives a {role} contact details"
        for table in ("participant_contact", "form_draft", "record_version"):  # any read written in future too
            assert query(con, DE_IDENTIFIED[role], f"SELECT * FROM {table}").empty, f"{table} is shadowed away"
        assert storage.contact_details(con, EVALUATOR).shape[0] == 65, "evaluators read them"
    finally:
        con.close()


@pytest.mark.parametrize("role", DE_IDENTIFIED)
def test_no_export_or_report_gives_funders_or_teams_contact_details(seeded, contacts, tmp_path, role):
    viewer = DE_IDENTIFIED[role]
    for fmt in ("csv", "xlsx", "parquet"):
        for path in service.export_study(seeded, viewer, tmp_path / fmt, fmt):
            if fmt == "csv":
                text = path.read_text(encoding="utf-8")
            else:
                sheets = pd.read_excel(path, sheet_name=None) if fmt == "xlsx" else {"": pd.read_parquet(path)}
                text = "\n".join(frame.to_csv() for frame in sheets.values())
            assert not leaked(text, contacts), f"{path.name} ({fmt}) gives a {role} contact details"
    project = "ARTS"
    for code in (None, project):
        _, html = reports.build(seeded, viewer, today=DEMO_TODAY, project_code=code, fmt="html")
        assert not leaked(html.decode("utf-8"), contacts), f"the {code or 'portfolio'} report"
    files = service.redcap_project(seeded, viewer)
    assert not leaked("\n".join(f.to_csv() for f in files.values()), contacts)


def test_the_redcap_dictionary_marks_contact_fields_as_identifiers(seeded):
    dictionary = service.redcap_project(seeded, EVALUATOR)["data_dictionary"].set_index("Variable / Field Name")
    identifiers = dictionary.index[dictionary["Identifier?"] == "y"].tolist()
    assert identifiers == ["telephone", "email", "call_times"]
    assert set(dictionary.loc[identifiers, "Form Name"]) == {"participant"}


CASES = [(role, spec.path) for role in DE_IDENTIFIED for spec in PAGES if spec in pages_for(DE_IDENTIFIED[role])]


@pytest.mark.slow
@pytest.mark.parametrize("role, page", CASES, ids=[f"{r}-{p.split('/')[-1][:-3]}" for r, p in CASES])
def test_no_page_shows_funders_or_teams_contact_details(monkeypatch, seeded_path, contacts, role, page):
    at = open_page(monkeypatch, seeded_path, page, DE_IDENTIFIED[role], project="ARTS")
    assert not leaked(everything_shown(at), contacts), f"{page} shows a {role} contact details"


def test_evaluators_see_them_on_the_call_list_and_the_participants_page(monkeypatch, seeded_path, contacts):
    calls_page = open_page(monkeypatch, seeded_path, "pages/fieldwork.py", EVALUATOR)
    shown = pd.concat([frame.value for frame in calls_page.dataframe[1:]])
    assert {"telephone", "email", "call_times"} <= set(shown.columns)
    assert shown.telephone.str.fullmatch(r"01632 960\d{3}").all()
    manage = open_page(monkeypatch, seeded_path, "pages/manage.py", EVALUATOR, project="ARTS", tab="participants")
    people = next(frame.value for frame in manage.dataframe if "Participant" in frame.value.columns)
    assert people.set_index("Participant").Telephone["ARTS-01"] == "01632 960000"
    assert manage.text_input(key="participant:ARTS:(new):telephone").value == ""
