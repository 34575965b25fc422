"""Pages over a portfolio too large to list in one picker (more than page_content.PICKER_LIMIT projects)."""

import pytest

from benchmarks import portfolio
from innovation_tracker import storage
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.views import page_content
from tests.conftest import DEMO_TODAY
from tests.support.apptest import open_page

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


def test_the_overviews_full_tables_are_built_when_their_expander_is_opened(monkeypatch, large):
    """At portfolio scale the overview's three full tables (every project's outlook, every warning, the data behind
    the balance chart) sit behind expanders, and each is drawn only once its expander is open: a page that built
    them with every overview spent a tenth of each rerun after a save on tables nobody had opened."""
    con = storage.connect(large)
    outlooks = dict(
        con.execute(
            "SELECT project_code, value FROM indicator_value WHERE indicator_code = 'outlook' AND wave = 'baseline'"
        ).fetchall()
    )
    con.close()
    at = open_page(monkeypatch, large, "pages/overview.py")
    labels = [box.label for box in at.expander]
    assert "Outlook of all 440 projects" in labels and "Data behind this chart" in labels
    warnings = next(label for label in labels if label.startswith("All ") and label.endswith(" warnings"))
    assert len(at.dataframe) == 1  # the status table; the three behind the expanders are not drawn

    for key, pages in (("overview:outlook", 9), ("overview:balance", 9)):
        at.session_state[key] = True
        at.run()
        assert not at.exception
        assert f"Page (of {pages})" in [n.label for n in at.number_input]
    at.session_state["overview:warnings"] = True
    at.run()
    assert len(at.dataframe) == 4
    outlook, listed, balance = (frame.value for frame in at.dataframe[1:])  # in the order of the page
    assert len(outlook) == len(balance) == 50  # a screen of 440 projects
    first = outlook.iloc[0]
    assert first["Baseline"] == outlooks.get(first["Project"], "—")
    assert list(balance.columns[:2]) == ["Project", "Baseline"]
    assert len(listed) == min(50, int(warnings.split()[1].replace(",", "")))
    assert list(listed.columns) == ["project_code", "kind", "message"]


def test_past_the_pickers_limit_an_account_takes_typed_project_codes(monkeypatch, large):
    """A multiselect of 11,000 projects sent every one to the browser on every rerun (two of them were half the
    Users page's rerun at S = 1000): past the limit it lists an account's own projects and takes codes typed in,
    and the form's check names a code that is no project's."""
    con = storage.connect(large)
    first, second = (row[0] for row in con.execute("SELECT project_code FROM project ORDER BY 1 LIMIT 2").fetchall())
    con.close()
    at = open_page(monkeypatch, large, "pages/users.py", viewer=Viewer("boss", AccountRole.ADMIN))
    picker = at.multiselect(key="add_account:projects")
    assert picker.options == [] and "440 projects are too many to list" in picker.help
    at.text_input(key="add_account:username").input("tess")
    at.selectbox(key="add_account:role").select(AccountRole.TEAM)
    at.text_input(key="add_account:password").input("a long enough password")
    at.multiselect(key="add_account:projects").set_value([first, "NO-SUCH"])
    at = next(b for b in at.button if "Add account" in str(b.label)).click().run()
    assert any("no project has the code NO-SUCH" in str(e.value) for e in at.error)
    at.multiselect(key="add_account:projects").set_value([first, second])
    at = next(b for b in at.button if "Add account" in str(b.label)).click().run()
    assert not at.exception
    con = storage.connect(large)
    assert storage.get_account(con, "tess").projects == {first, second}
    con.close()
    at = at.selectbox(key="change_account").select("tess").run()
    assert at.multiselect(key="change_account:tess:projects").options == sorted([first, second])
