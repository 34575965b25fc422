"""Pages over a portfolio too large to list in one picker (more than page_content.PICKER_LIMIT projects)."""

import pytest

from benchmarks import portfolio
from innovation_tracker import page_content
from tests.apptest import open_page
from tests.conftest import DEMO_TODAY

SCALE = 40  # 440 projects: past the picker's limit of 400


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    path = tmp_path_factory.mktemp("large") / "portfolio.duckdb"
    counts = portfolio.build(path, SCALE, DEMO_TODAY)
    assert counts["projects"] == 11 * SCALE > page_content.PICKER_LIMIT
    return path


def test_the_picker_asks_for_part_of_a_name_and_offers_the_matches(monkeypatch, large):
    at = open_page(monkeypatch, large, "pages/timeline.py")
    find = at.text_input(key="Project:find")
    assert find.label == "Find a project among 440"
    picker = at.selectbox[0]
    assert len(picker.options) == page_content.PICKER_LIMIT
    assert any("The first 400 of 440 matches" in c.value for c in at.caption)
    at = find.input("care-003").run()
    # The project on screen stays first and chosen while the matches are offered after it.
    assert at.selectbox[0].value == "ARTS"
    assert at.selectbox[0].options[1:] == [f"CARE-{n:04d} · Carers Connect #{n}" for n in range(30, 40)]
    at = at.selectbox[0].select("CARE-0034").run()
    assert at.query_params["project"] in ("CARE-0034", ["CARE-0034"])
    assert at.header[0].value == "Interviews over the year"


def test_a_deep_link_to_a_project_past_the_first_screen_is_chosen(monkeypatch, large):
    at = open_page(monkeypatch, large, "pages/log-interview.py", project="WEB-0039")
    assert at.selectbox[0].value == "WEB-0039"
    assert at.selectbox[0].options[0].startswith("WEB-0039 · ")


def test_a_search_that_matches_nothing_says_so_and_still_offers_projects(monkeypatch, large):
    at = open_page(monkeypatch, large, "pages/milestones.py")
    at = at.text_input(key="Project:find").input("no such project").run()
    assert any("No project matches “no such project”" in c.value for c in at.caption)
    assert len(at.selectbox[0].options) == page_content.PICKER_LIMIT


def test_the_matrix_reads_and_shows_one_screen_of_projects_at_a_time(monkeypatch, large):
    at = open_page(monkeypatch, large, "pages/matrix.py")
    screen = at.number_input(key="matrix:screen")
    assert screen.label == "Projects, screen (of 9)"  # 440 projects, 50 a screen
    table = at.dataframe[0].value
    assert len(table) == 50 and table.index[0].startswith("ARTS · ")
    at = screen.set_value(9).run()
    table = at.dataframe[0].value
    assert len(table) == 40  # the last screen: projects 401–440
    assert table.index[-1].startswith("WEB-0039 · ")
    assert any(c.value.startswith("40 projects shown;") for c in at.caption)
