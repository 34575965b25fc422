"""The data-entry pages driven by AppTest against real DuckDB files: every form through success and through its
error paths, with the message shown next to the field and the database unchanged."""

import datetime as dt

import pytest

from innovation_tracker import storage
from innovation_tracker.app import capture, service
from innovation_tracker.domain.model import AccountRole, Study, Viewer
from tests.conftest import DEMO_TODAY
from tests.support.apptest import open_codebook, open_page
from tests.support.small_study import EDITOR, build

TODAY = dt.date(2025, 6, 20)
FUNDER = Viewer("fun", AccountRole.FUNDER)
TEAM = Viewer("team", AccountRole.TEAM, frozenset({"ART"}))
PAGES = ["log-interview", "manage", "sustainability", "milestones", "fieldwork", "data-quality", "audit"]
LABEL = "Context · facilitator · Team expertise"


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.duckdb"
    con = storage.connect(path)
    service.init_study(con, Study("Test study", dt.date(2025, 1, 1), dt.date(2026, 6, 30), "Test funder"))
    build(con)
    con.close()
    return path


def page(monkeypatch, path, name, viewer=EDITOR, today=TODAY, **params):
    return open_page(monkeypatch, path, f"pages/{name}.py", viewer, today, **params)


def run(at_or_widget):
    at = at_or_widget.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def db(path):
    """Row counts and every row of the study's tables, read through a fresh connection."""
    con = storage.connect(path)
    try:
        tables = ("project", "participant", "interview", "factor_rating", "indicator_value", "milestone", "audit_entry")
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables} | {
            "counts": storage.table_counts(con)
        }
    finally:
        con.close()


def query(path, sql):
    con = storage.connect(path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def errors(at):
    return [e.value for e in at.error]


def submit(at):
    return run(at.form_submit_button[0].click())


def toasts(at):
    return [t.value for t in at.toast]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_on_the_small_study(monkeypatch, small, name):
    at = page(monkeypatch, small, name)
    assert at.title and not errors(at)


EMPTY_STATES = {
    "log-interview": "No projects yet",
    "manage": "No projects yet",
    "sustainability": "No projects yet",
    "milestones": "No projects to show yet",
    "fieldwork": "No projects yet",
    "data-quality": "No projects yet",
    "audit": "Nothing deleted is waiting to be restored",
}


@pytest.mark.parametrize("name", PAGES)
def test_every_page_explains_an_empty_study(monkeypatch, tmp_path, name):
    path = tmp_path / "empty.duckdb"
    con = storage.connect(path)
    service.init_study(con, Study("Empty", dt.date(2025, 1, 1), dt.date(2026, 4, 1)))
    con.close()
    at = page(monkeypatch, path, name)
    shown = [i.value for i in at.info] + [c.value for c in at.caption]
    assert any(EMPTY_STATES[name] in text for text in shown), shown


@pytest.mark.parametrize("name", PAGES)
def test_every_page_explains_a_database_without_a_study(monkeypatch, tmp_path, name):
    path = tmp_path / "bare.duckdb"
    storage.connect(path).close()
    at = page(monkeypatch, path, name)
    assert "python -m innovation_tracker init" in at.warning[0].value


def log_page(monkeypatch, path, person="ART-03"):
    at = page(monkeypatch, path, "log-interview", project="ART", participant=person)
    wave = next(s for s in at.selectbox if s.label == "Wave").value
    return at, f"interview:{person}:{wave}"


def code(at, form, factor_code, mark, evidence=None, shareable=False):
    """Code a factor as the coder does: one choice of rating (or mark), then the evidence and flag beside it. A
    factor not carried forward nor coded yet is in its (closed) group of the codebook: open it first."""
    if not [c for c in at.segmented_control if c.key == f"{form}:mark:{factor_code}"]:
        at = open_codebook(at)
    at = run(at.segmented_control(key=f"{form}:mark:{factor_code}").set_value(mark))
    if evidence is not None:
        at = run(at.text_input(key=f"{form}:evidence:{factor_code}").input(evidence))
    if shareable:
        at = run(at.checkbox(key=f"{form}:share:{factor_code}").check())
    return at


def save(at, form):
    return run(at.button(key=f"log:save:{form}").click())


def test_logging_the_proposed_follow_up_with_ratings(monkeypatch, small):
    at, form = log_page(monkeypatch, small)
    assert form == "interview:ART-03:month_3", "the wave due now is proposed"
    assert at.selectbox(key=f"{form}:mode").value == "telephone", "follow-ups default to the telephone"
    at.date_input(key=f"{form}:interview_date").set_value(dt.date(2025, 6, 12))
    at.number_input(key=f"{form}:duration_min").set_value(35)
    at = code(at, form, "ctx_team_expertise", 2, "they know what they are doing", shareable=True)
    assert at.segmented_control(key=f"{form}:mark:ctx_team_expertise").options == ["+1", "+2"], "a facilitator's signs"
    at = save(at, form)
    assert toasts(at) == ["Saved the 3-month follow-up of ART-03"]
    assert not errors(at) and not at.warning
    assert query(
        small,
        "SELECT wave, interview_date, mode, duration_min, interviewer FROM interview WHERE participant_code = 'ART-03'",
    ) == [("month_3", dt.date(2025, 6, 12), "telephone", 35, "ed")]
    assert query(
        small,
        "SELECT factor_code, rating, evidence, shareable, coder FROM factor_rating JOIN interview"
        " USING (interview_id) WHERE participant_code = 'ART-03'",
    ) == [("ctx_team_expertise", 2, "they know what they are doing", True, "ed")]
    assert "Edit the 3-month follow-up" in at.subheader[0].value, "the saved interview is shown at once"
    assert query(small, "SELECT count(*) FROM form_draft") == [(0,)], "the draft went with the save"


def test_an_interview_outside_its_window_is_saved_and_the_user_told(monkeypatch, small):
    at, form = log_page(monkeypatch, small)
    at.selectbox(key="log:wave:ART-03").set_value("baseline")
    at = run(at)
    form = "interview:ART-03:baseline"
    at.date_input(key=f"{form}:interview_date").set_value(dt.date(2025, 4, 10))
    at.checkbox(key=f"{form}:no_factors").check()
    at = save(at, form)
    assert toasts(at) == ["Saved the baseline of ART-03"]
    assert at.warning[0].value == "Baseline interview is 10 days after its window closed (2025-03-31)"
    assert query(small, "SELECT count(*) FROM interview WHERE participant_code = 'ART-03'") == [(1,)]


def field_widget(at, form, field):
    return at.date_input(key=f"{form}:{field}") if field == "interview_date" else at.number_input(key=f"{form}:{field}")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("interview_date", dt.date(2025, 6, 21), "interview date 2025-06-21 is in the future (today is 2025-06-20)"),
        ("interview_date", dt.date(2025, 2, 1), "is before the participant's enrolment on 2025-03-01"),
        ("duration_min", 0, "duration 0 must be between 1 and 600 minutes"),
    ],
    ids=["future", "before-enrolment", "duration"],
)
def test_a_broken_rule_shows_under_its_field_and_nothing_is_saved(monkeypatch, small, field, value, message):
    before = db(small)
    at, form = log_page(monkeypatch, small)
    at = code(at, form, "ctx_team_expertise", 1, "a quote")
    widget = (
        at.date_input(key=f"{form}:{field}") if field == "interview_date" else at.number_input(key=f"{form}:{field}")
    )
    widget.set_value(value)
    at = save(at, form)
    shown = errors(at)
    assert any(message in text for text in shown), shown
    assert any(text.startswith("**Nothing was saved.**") for text in shown)
    assert not toasts(at)
    assert {t: v for t, v in db(small).items() if t != "counts"} == {t: v for t, v in before.items() if t != "counts"}
    widget = (
        at.date_input(key=f"{form}:{field}") if field == "interview_date" else at.number_input(key=f"{form}:{field}")
    )
    assert widget.value == value, "the form keeps what the user typed"
    assert at.text_input(key=f"{form}:evidence:ctx_team_expertise").value == "a quote"


def test_a_completed_interview_without_ratings_needs_the_no_factors_tick(monkeypatch, small):
    before = db(small)
    at, form = log_page(monkeypatch, small)
    at = save(at, form)
    assert any("tick “No factors were discussed”" in e for e in errors(at)), errors(at)
    assert db(small)["interview"] == before["interview"]
    at.checkbox(key=f"{form}:no_factors").check()
    at = save(at, form)
    assert toasts(at) == ["Saved the 3-month follow-up of ART-03"]
    assert query(small, "SELECT count(*) FROM interview WHERE participant_code = 'ART-03'") == [(1,)]


def test_evidence_without_a_rating_and_an_unmarked_carried_factor_are_named(monkeypatch, small):
    at = page(monkeypatch, small, "log-interview", project="ART", participant="ART-02", wave="month_6")
    form = "interview:ART-02:month_6"
    at = code(at, form, "ctx_team_expertise", 2, "we have the skills")
    at = run(at.segmented_control(key=f"{form}:mark:ctx_team_expertise").set_value(None))  # the rating undone
    assert at.text_input(key=f"{form}:evidence:ctx_team_expertise").value == "we have the skills", "typing stays"
    before = db(small)
    at = save(at, form)
    shown = errors(at)
    assert any("New factor 'Team expertise': 'Team expertise' has evidence but no rating" in e for e in shown), shown
    assert db(small)["interview"] == before["interview"]


def test_a_carried_forward_factor_must_be_marked(monkeypatch, small):
    at = page(monkeypatch, small, "log-interview", project="ART", participant="ART-01", wave="month_6")
    form = "interview:ART-01:month_6"
    at.date_input(key=f"{form}:interview_date").set_value(dt.date(2025, 6, 20))
    marks = [c for c in at.segmented_control if c.key.startswith(f"{form}:mark:")][:2]
    assert [m.options for m in marks] == [
        ["still so (+2)", "+1", "not mentioned"],
        ["still so (−1)", "−2", "not mentioned"],
    ]
    at = save(at, form)
    assert any("Carried forward line 1 (Team expertise): mark it still so" in e for e in errors(at)), errors(at)
    at = run(at.segmented_control(key=f"{form}:mark:ctx_team_expertise").set_value("still"))
    at = run(at.segmented_control(key=f"{form}:mark:ctx_resource_limits").set_value(-2))
    at = save(at, form)
    assert toasts(at) == ["Saved the 6-month follow-up of ART-01"], errors(at)
    assert query(
        small,
        "SELECT factor_code, rating FROM factor_rating JOIN interview USING (interview_id)"
        " WHERE participant_code = 'ART-01' AND wave = 'month_6' ORDER BY 1",
    ) == [("ctx_resource_limits", -2), ("ctx_team_expertise", 2)]


def test_a_missed_call_is_saved_without_ratings(monkeypatch, small):
    at, form = log_page(monkeypatch, small)
    at = code(at, form, "ctx_team_expertise", 1)
    at.selectbox(key=f"{form}:status").set_value("missed")
    at = run(at)
    assert not at.segmented_control, "a missed call is not coded"
    at = save(at, form)
    assert toasts(at) == ["Saved the 3-month follow-up of ART-03"], errors(at)
    assert query(
        small,
        "SELECT status, (SELECT count(*) FROM factor_rating r WHERE r.interview_id = i.interview_id)"
        " FROM interview i WHERE participant_code = 'ART-03'",
    ) == [("missed", 0)]


def test_editing_and_deleting_an_interview(monkeypatch, small):
    at, form = log_page(monkeypatch, small, "ART-01")
    at.selectbox(key="log:wave:ART-01").set_value("baseline")
    at = run(at)
    form = "interview:ART-01:baseline"
    assert at.segmented_control(key=f"{form}:mark:ctx_team_expertise").value == 2, "stored ratings are loaded"
    at.text_area(key=f"{form}:summary").input("Revised notes")
    at = save(at, form)
    assert toasts(at) == ["Updated the baseline of ART-01"]
    assert query(small, "SELECT summary FROM interview WHERE interview_id = 1") == [("Revised notes",)]
    assert query(small, "SELECT count(*) FROM factor_rating WHERE interview_id = 1") == [(2,)]
    at.checkbox(key=f"{form}:delete-confirm").check()
    at = run(at)
    at = run(at.button(key=f"{form}:delete").click())
    assert toasts(at) == ["Deleted the baseline of ART-01"]
    assert query(small, "SELECT count(*) FROM interview WHERE interview_id = 1") == [(0,)]


def test_the_previous_waves_ratings_are_carried_forward_with_rating_and_excerpt(monkeypatch, small):
    at, _ = log_page(monkeypatch, small, "ART-01")
    shown = [m.value for m in at.markdown]
    assert any(text.startswith("**Carried forward from the baseline** · 2 factors") for text in shown), shown
    assert "1. **Team expertise** :blue-badge[facilitator]" in shown
    assert "2. **Limited resources** :orange-badge[barrier]" in shown
    notes = [c.value for c in at.caption]
    assert any(n.startswith("Last time +2 strong facilitator") for n in notes), notes


def test_a_save_after_someone_elses_is_refused_with_what_they_changed(monkeypatch, small):
    at, _ = log_page(monkeypatch, small, "ART-01")
    at.selectbox(key="log:wave:ART-01").set_value("baseline")
    at = run(at)
    form = "interview:ART-01:baseline"
    at.text_area(key=f"{form}:summary").input("Mine")
    at = run(at)
    con = storage.connect(small)  # someone else saves the same interview meanwhile
    other = Viewer("other", AccountRole.EVALUATOR)
    stored = con.execute("SELECT factor_code AS factor, rating, evidence, shareable FROM factor_rating").df()
    values = {
        "interview_date": dt.date(2025, 3, 5),
        "mode": "telephone",
        "status": "completed",
        "interviewer": "C. Diaz",
        "duration_min": 50,
        "summary": "Theirs",
    }
    capture.edit_interview(con, other, "ART", 1, values, stored[stored.index < 2], TODAY, version=0)
    con.close()
    at = save(at, form)
    shown = " ".join(errors(at))
    assert "other saved this interview at" in shown, shown
    assert "Summary notes: notes → Theirs" in shown and "Duration (minutes): 30 → 50" in shown
    assert query(small, "SELECT summary, duration_min FROM interview WHERE interview_id = 1") == [("Theirs", 50)]
    assert at.text_area(key=f"{form}:summary").value == "Mine", "what was typed stays"
    at = save(at, form)
    assert toasts(at) == ["Updated the baseline of ART-01"], "a second save goes over theirs, knowingly"
    assert query(small, "SELECT summary FROM interview WHERE interview_id = 1") == [("Mine",)]


def test_a_draft_is_offered_back_after_a_lost_session(monkeypatch, small):
    at, form = log_page(monkeypatch, small)
    at.text_area(key=f"{form}:summary").input("Said the coach left in May")
    at = code(at, form, "ctx_team_expertise", 2, "they know their stuff")
    assert query(small, "SELECT username, form, title FROM form_draft") == [("ed", form, "ART-03 · 3-month follow-up")]
    again, _ = log_page(monkeypatch, small)  # a new session: the old one was lost
    assert any("Unsaved draft" in w.value for w in again.warning)
    assert not again.segmented_control, "the form waits until the draft is restored or discarded"
    again = run(again.button(key=f"_forms:restore:{form}").click())
    assert again.text_area(key=f"{form}:summary").value == "Said the coach left in May"
    assert again.text_input(key=f"{form}:evidence:ctx_team_expertise").value == "they know their stuff"
    again = save(again, form)
    assert toasts(again) == ["Saved the 3-month follow-up of ART-03"], errors(again)
    assert query(small, "SELECT count(*) FROM form_draft") == [(0,)]
    assert query(small, "SELECT summary FROM interview WHERE participant_code = 'ART-03'") == [
        ("Said the coach left in May",)
    ]


def test_a_discarded_draft_is_deleted(monkeypatch, small):
    at, form = log_page(monkeypatch, small)
    at.text_area(key=f"{form}:summary").input("Half a thought")
    at = run(at)
    again, _ = log_page(monkeypatch, small)
    again = run(again.button(key=f"_forms:discard:{form}").click())
    assert query(small, "SELECT count(*) FROM form_draft") == [(0,)]
    assert again.text_area(key=f"{form}:summary").value == ""


def test_creating_a_project_and_a_code_format_error(monkeypatch, small):
    at = page(monkeypatch, small, "manage")
    form = "project:(new)"
    at.text_input(key=f"{form}:project_code").input("bad code")
    at.text_input(key=f"{form}:name").input("Peer support")
    before = db(small)
    at = submit(at)
    assert any("project code 'bad code' must be 1–16 upper-case letters" in e for e in errors(at))
    assert db(small) == before
    assert at.text_input(key=f"{form}:name").value == "Peer support"
    at.text_input(key=f"{form}:project_code").input("PEER")
    at = submit(at)
    assert toasts(at) == ["Added project PEER"]
    assert query(small, "SELECT project_code, name, setting FROM project WHERE project_code = 'PEER'") == [
        ("PEER", "Peer support", "nhs")
    ]


def test_only_the_open_tab_is_drawn_and_a_participant_link_opens_theirs(monkeypatch, small):
    at = page(monkeypatch, small, "manage")
    assert [t.label for t in at.tabs] == ["Projects", "Participants"]
    assert at.text_input(key="project:(new):project_code").value == ""
    assert not [w for w in at.text_input if w.key.startswith("participant:")]  # the closed tab is not drawn
    at.session_state["manage:tab"] = "Participants"
    at = run(at)
    assert at.text_input(key="participant:ART:(new):participant_code").value == ""
    assert not [w for w in at.text_input if w.key.startswith("project:")]
    linked = page(monkeypatch, small, "manage", project="ART", participant="ART-01")  # Data quality's link
    assert linked.selectbox(key="manage:person:ART").value == "ART-01"
    assert not [w for w in linked.text_input if w.key.startswith("project:")]


def test_enrolling_and_the_participant_rules(monkeypatch, small):
    at = page(monkeypatch, small, "manage", project="ART", tab="participants")
    form = "participant:ART:(new)"
    at.text_input(key=f"{form}:participant_code").input("ART-04")
    at.date_input(key=f"{form}:enrolment_date").set_value(dt.date(2025, 7, 1))
    before = db(small)
    at = submit_named(at, "Enrol")
    assert any("enrolment date 2025-07-01 is in the future" in e for e in errors(at))
    assert db(small) == before
    at.date_input(key=f"{form}:enrolment_date").set_value(dt.date(2025, 6, 1))
    at = submit_named(at, "Enrol")
    assert toasts(at) == ["Enrolled ART-04 in ART"]
    assert query(small, "SELECT role, enrolment_date, status FROM participant WHERE participant_code = 'ART-04'") == [
        ("service_user", dt.date(2025, 6, 1), "active")
    ]


def submit_named(at, label):
    return run(next(b for b in at.form_submit_button if b.label == label).click())


def test_withdrawing_with_and_without_erasure(monkeypatch, small):
    at = page(monkeypatch, small, "manage", project="ART", participant="ART-01")
    leave = "withdraw:ART-01"
    at.date_input(key=f"{leave}:withdrawal_date").set_value(dt.date(2025, 4, 1))
    before = db(small)
    at = submit_named(at, "Withdraw")
    assert any("withdrawal date 2025-04-01 is before their last interview on 2025-05-01" in e for e in errors(at))
    assert db(small) == before
    at.checkbox(key=f"{leave}:erase").check()
    at = submit_named(at, "Withdraw")
    assert toasts(at) == ["ART-01 withdrawn and their interviews erased"]
    assert query(small, "SELECT count(*) FROM interview WHERE participant_code = 'ART-01'") == [(0,)]
    assert query(small, "SELECT action, before, after FROM audit_entry WHERE action = 'erase'") == [
        ("erase", None, None)
    ]
    assert any("ART-01 withdrew on 01 Apr 2025" in i.value for i in at.info)


def test_deleting_a_project_then_restoring_it_from_the_audit_log(monkeypatch, small):
    before = db(small)
    at = page(monkeypatch, small, "manage", project="ART")
    at.checkbox(key="project:ART:delete-confirm").check()
    at = run(at)
    at = run(at.button(key="project:ART:delete").click())
    assert toasts(at) == ["Deleted project ART"]
    assert query(small, "SELECT count(*) FROM participant") == [(0,)]
    at = page(monkeypatch, small, "audit")
    assert at.selectbox[-1].label == "Deleted record"
    at = run(at.button[0].click())
    (restored,) = toasts(at)
    assert restored.startswith("Restored #") and restored.endswith(": project ART")
    after = db(small)
    assert {t: after[t] for t in ("project", "participant", "interview", "factor_rating")} == {
        t: before[t] for t in ("project", "participant", "interview", "factor_rating")
    }


def test_scoring_sustainability_with_previous_values_and_a_range_error(monkeypatch, small):
    con = storage.connect(small)
    capture.score_sustainability(con, EDITOR, "ART", "baseline", {"outlook": "amber", "service_users_engaged": 4})
    con.close()
    at = page(monkeypatch, small, "sustainability", project="ART", wave="month_3")
    form = "sustainability:ART:month_3"
    assert any(c.value == "Baseline: **amber**" for c in at.caption), "the previous wave's value is beside it"
    at.number_input(key=f"{form}:service_users_engaged").set_value(-2)
    at.selectbox(key=f"{form}:outlook").set_value("green")
    before = db(small)
    at = submit(at)
    assert any("service_users_engaged must be at least 0, not -2" in e for e in errors(at))
    assert db(small) == before
    at.number_input(key=f"{form}:service_users_engaged").set_value(6)
    at = submit(at)
    assert toasts(at) == ["Saved the 3-month follow-up scores of ART"]
    assert query(small, "SELECT indicator_code, value FROM indicator_value WHERE wave = 'month_3' ORDER BY 1") == [
        ("outlook", "green"),
        ("service_users_engaged", "6"),
    ]


def test_milestones_for_an_evaluator_a_team_and_a_funder(monkeypatch, small):
    at = page(monkeypatch, small, "milestones", viewer=TEAM)
    form = "milestone:ART:(new milestone)"
    before = db(small)
    at = submit(at)
    assert any("a milestone needs a title" in e for e in errors(at))
    assert db(small) == before
    at.text_input(key=f"{form}:title").input("Launch event")
    at.date_input(key=f"{form}:date").set_value(dt.date(2026, 7, 2))
    at = submit(at)
    assert any("milestone date 2026-07-02 is after the study window closed on 2026-06-30" in e for e in errors(at))
    at.date_input(key=f"{form}:date").set_value(dt.date(2025, 3, 2))
    at = submit(at)
    assert toasts(at) == ["Added “Launch event” to ART"]
    assert query(small, "SELECT kind, milestone_date, title FROM milestone") == [
        ("funding_decision", dt.date(2025, 3, 2), "Launch event")
    ]
    funder = page(monkeypatch, small, "milestones", viewer=FUNDER)
    assert not funder.form_submit_button and funder.dataframe[0].value.shape[0] == 1
    assert any("Read-only" in c.value for c in funder.caption)


def test_fieldwork_lists_calls_and_offers_both_files(monkeypatch, small):
    at = page(monkeypatch, small, "fieldwork")
    shown = {m.label: m.value for m in at.metric}
    assert shown == {"Overdue": "1", "Due now": "1", "Upcoming (next 30 days)": "1", "Missed": "1"}
    assert [b.label for b in at.download_button] == ["Call list (CSV)", "Calls to make (.ics calendar)"]
    assert [s.value for s in at.subheader][1:] == [
        "Overdue · 1",
        "Due now · 1",
        "Upcoming (next 30 days) · 1",
        "Missed · 1",
    ]


def test_data_quality_links_each_problem_to_where_it_is_fixed(monkeypatch, small):
    at = page(monkeypatch, small, "data-quality")
    shown = {m.label: m.value for m in at.metric}
    assert shown["Interviews not coded"] == "2"  # ART-01's 3-month and ART-02's baseline
    links = [
        (
            link.value,
            link.proto.page,
            dict(link.proto.query_string and [p.split("=") for p in link.proto.query_string.split("&")]),
        )
        for link in at.page_link
    ]
    assert any(
        label.startswith("ART · ART-01 · 3-month follow-up")
        and params == {"project": "ART", "participant": "ART-01", "wave": "month_3"}
        for label, _, params in links
    ), links


def test_sustainability_opens_at_the_projects_current_round_with_last_waves_scores(monkeypatch, seeded_path):
    con = storage.connect(seeded_path)
    plan = storage.project_schedule(con, EDITOR, "ARTS", DEMO_TODAY)
    waves = [w.wave for w in storage.list_waves(con)]
    current = capture.current_round(plan, waves)
    previous = storage.indicator_scores(con, EDITOR, "ARTS", current)
    con.close()
    assert current not in (None, "baseline"), "nine months in, the demo's ARTS is past its baseline"
    at = page(monkeypatch, seeded_path, "sustainability", today=DEMO_TODAY, project="ARTS")
    assert next(s for s in at.selectbox if s.label == "Wave").value == current
    label = previous.previous_wave.iloc[0]
    shown = [c.value for c in at.caption]
    for value in previous.previous_value.fillna("not scored"):
        assert f"{label}: **{value}**" in shown, shown
    assert any(f"current round is the **{previous_label(current)}**" in text for text in shown), shown


def previous_label(wave):
    return {"month_3": "3-month follow-up", "month_6": "6-month follow-up", "month_9": "9-month follow-up",
            "month_12": "12-month follow-up"}[wave]  # fmt: skip
