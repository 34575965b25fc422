"""Project timeline and Compare projects, rendered by AppTest on the demo and on an empty study."""

import datetime as dt

from innovation_tracker import storage
from innovation_tracker.domain import analysis
from innovation_tracker.domain.model import AccountRole, Viewer
from tests.conftest import DEMO_TODAY, EVALUATOR
from tests.support.apptest import open_page

TEAM = Viewer("demo-team-arts", AccountRole.TEAM, frozenset({"ARTS"}))


def texts(at):
    kinds = ("markdown", "caption", "info", "warning", "success")
    return " ".join(str(e.value) for kind in kinds for e in at.get(kind))


def test_timeline_follows_the_project_in_the_url(monkeypatch, seeded_path):
    at = open_page(monkeypatch, seeded_path, "pages/timeline.py", project="CARE")
    assert at.title[0].value == "Project timeline"
    assert at.selectbox[0].value == "CARE"
    assert at.query_params["project"] == ["CARE"] or at.query_params["project"] == "CARE"
    con = storage.connect(seeded_path)
    people = con.execute("SELECT count(*) FROM participant WHERE project_code = 'CARE'").fetchone()[0]
    done = con.execute(
        "SELECT count(*) FROM interview JOIN participant USING (participant_code)"
        " WHERE project_code = 'CARE' AND interview.status = 'completed'"
    ).fetchone()[0]
    con.close()
    shown = {m.label: m.value for m in at.metric}
    assert shown["Participants"] == str(people)
    assert shown["Interviews completed"] == str(done)
    headers = [h.value for h in at.header]
    assert headers == [
        "Interviews over the year",
        "Barriers and facilitators",
        "Sustainability",
        "What changed",
        "Evidence",
    ]
    assert len(at.get("plotly_chart")) == 4


def test_what_changed_lists_every_factor_cited_at_either_wave(monkeypatch, seeded_path):
    at = open_page(monkeypatch, seeded_path, "pages/timeline.py", project="ARTS")
    changes = next(d.value for d in at.dataframe if "change" in d.value.columns)
    con = storage.connect(seeded_path)
    stats = storage.factor_stats(con, EVALUATOR, "ARTS")
    rounds = storage.completed_rounds(con, EVALUATOR, DEMO_TODAY)
    finished = rounds[rounds.project_code == "ARTS"].wave.tolist()
    expected = analysis.wave_changes(stats, storage.list_factors(con), "ARTS", *finished[-2:])
    con.close()
    assert [s.value for s in at.selectbox[1:3]] == finished[-2:]
    assert len(changes) == len(expected) > 0
    assert set(changes.change) <= {c.capitalize() for c in analysis.CHANGE_CLASSES}
    assert "emerged" in texts(at) and "0.5" in texts(at)


def test_a_team_asking_for_another_project_sees_only_its_own(monkeypatch, seeded_path):
    at = open_page(monkeypatch, seeded_path, "pages/timeline.py", viewer=TEAM, project="PEER")
    assert [w.value for w in at.warning] == [
        "The link's project parameter (“PEER”) is not valid: it takes the code of a project you can see."
        " Showing the page without it."
    ]
    assert at.selectbox[0].options == ["ARTS · Arts on Referral"]
    assert "Peer Support" not in texts(at)


def test_timeline_on_an_empty_study(monkeypatch, empty_study):
    at = open_page(monkeypatch, empty_study, "pages/timeline.py", today=dt.date(2025, 3, 1))
    assert "No projects to show yet" in at.info[0].value


def test_compare_recomputes_the_papers_tables(monkeypatch, seeded_path):
    at = open_page(monkeypatch, seeded_path, "pages/compare.py")
    table = at.table[0].value
    assert len(table) == 47
    known = table[table["Projects in the paper (of 11)"] != "—"]
    assert (known["Projects citing"].astype(str) == known["Projects in the paper (of 11)"]).all()
    assert table.set_index("Factor").loc["Champion's committed action", "Projects citing"] == 11
    assert table.set_index("Factor").loc["Champion's committed action", "% of projects"] == "100%"
    assert len(at.get("plotly_chart")) == 2


def test_compare_filters_by_setting(monkeypatch, seeded_path):
    at = open_page(monkeypatch, seeded_path, "pages/compare.py")
    at.multiselect[0].set_value(["voluntary"]).run()
    con = storage.connect(seeded_path)
    voluntary = con.execute("SELECT count(*) FROM project WHERE setting = 'voluntary'").fetchone()[0]
    con.close()
    assert f"{voluntary} of 11 projects match the filters." in texts(at)
    table = at.table[0].value
    assert 0 < table["Projects citing"].max() <= voluntary


def test_compare_on_an_empty_study(monkeypatch, empty_study):
    at = open_page(monkeypatch, empty_study, "pages/compare.py", today=dt.date(2025, 3, 1))
    assert "No projects to compare yet" in at.info[0].value


def test_overview_warnings_link_to_the_timeline(monkeypatch, seeded_path):
    at = open_page(monkeypatch, seeded_path, "pages/overview.py")
    links = at.get("page_link")
    assert links, "early warnings are shown as links"
    assert all(link.proto.page.endswith("timeline") or "timeline" in link.proto.page for link in links)
    con = storage.connect(seeded_path)
    overdue = storage.overdue_by_project(con, EVALUATOR, DEMO_TODAY)
    con.close()
    labels = " ".join(link.proto.label for link in links)
    for row in overdue.itertuples():
        assert f"**{row.project_code}** · {row.overdue} follow-up" in labels
