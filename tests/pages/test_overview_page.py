"""The Portfolio overview, rendered by AppTest against real DuckDB files."""

import datetime as dt

from innovation_tracker import storage
from innovation_tracker.app import service
from innovation_tracker.domain.model import Study
from tests.conftest import DEMO_TODAY, EVALUATOR
from tests.support.apptest import open_page


def render(monkeypatch, path, today=DEMO_TODAY):
    return open_page(monkeypatch, path, today=today)


def metrics(at):
    return {m.label: m.value for m in at.metric}


def test_overview_shows_the_databases_numbers(monkeypatch, seeded_path):
    con = storage.connect(seeded_path)
    counts = storage.headline_counts(con, EVALUATOR, DEMO_TODAY)
    projects = con.execute("SELECT count(*) FROM project").fetchone()[0]
    completed = con.execute("SELECT count(*) FROM interview WHERE status = 'completed'").fetchone()[0]
    con.close()
    at = render(monkeypatch, seeded_path)
    assert at.title[0].value == "Portfolio overview"
    shown = metrics(at)
    assert shown["Projects"] == str(projects) == "11"
    assert shown["Participants"] == "65"
    assert shown["Interviews done / scheduled so far"] == f"{completed} / {counts['interviews_scheduled']}"
    assert shown["Follow-ups overdue"] == str(counts["overdue"])
    assert any("Demo data" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) == 3


def test_a_new_database_starts_as_the_demo(monkeypatch, tmp_path):
    path = tmp_path / "data" / "tracker.duckdb"
    at = render(monkeypatch, path)
    assert path.exists()
    assert metrics(at)["Projects"] == "11"
    assert any("Demo data" in i.value for i in at.info)


def test_an_empty_study_says_how_to_begin(monkeypatch, tmp_path):
    path = tmp_path / "empty.duckdb"
    con = storage.connect(path)
    service.init_study(con, Study("Empty", dt.date(2025, 1, 1), dt.date(2026, 4, 1)))
    con.close()
    at = render(monkeypatch, path, dt.date(2025, 3, 1))
    assert not at.metric or metrics(at)["Projects"] == "0"
    assert any("No projects yet" in i.value for i in at.info)
    assert not any("Demo data" in i.value for i in at.info)


def test_a_database_without_a_study_explains_init(monkeypatch, tmp_path):
    path = tmp_path / "bare.duckdb"
    storage.connect(path).close()
    at = render(monkeypatch, path)
    assert "python -m innovation_tracker init" in at.warning[0].value


def test_a_write_by_anyone_shows_at_the_next_rerun_and_not_before(monkeypatch, seeded_path):
    """Pages keep their reads until the data changes: a second user's save (another session, here the app's own
    connection as `capture` uses it) must show at this user's next rerun, though nothing on this page changed."""
    from innovation_tracker import ui

    at = render(monkeypatch, seeded_path)
    assert metrics(at)["Projects"] == "11"
    at.run()
    assert metrics(at)["Projects"] == "11"
    other = ui._shared_connection(str(seeded_path)).cursor()
    storage.add_project(other, "someone-else", {"project_code": "NEWP", "name": "New project", "setting": "nhs",
                                                "relation_to_statutory": "internal", "status": "active"})  # fmt: skip
    at.run()
    assert metrics(at)["Projects"] == "12"
