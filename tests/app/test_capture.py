"""The rules of DESIGN §2, checked by `capture` on every save: each broken rule is named, on its field, and nothing
is written."""

import datetime as dt

import pandas as pd
import pytest

from innovation_tracker import storage
from innovation_tracker.app import capture
from innovation_tracker.domain.errors import AccessDenied, ValidationError
from innovation_tracker.domain.model import AccountRole, Viewer
from tests.support.small_study import EDITOR, NO_RATINGS, build, interview, ratings

TODAY = dt.date(2025, 6, 20)
FUNDER = Viewer("fun", AccountRole.FUNDER)
TEAM = Viewer("team", AccountRole.TEAM, frozenset({"ART"}))


@pytest.fixture
def small(study_db):
    build(study_db)
    return study_db


def snapshot(con):
    tables = ("project", "participant", "interview", "factor_rating", "indicator_value", "milestone", "audit_entry")
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}


def refused(con, action, rule, field):
    """`action` breaks `rule` on `field` and changes nothing."""
    before = snapshot(con)
    with pytest.raises(ValidationError) as caught:
        action()
    assert (rule, field) in [(p.rule, p.field) for p in caught.value.problems], caught.value.problems
    assert snapshot(con) == before
    return caught.value


LOG = capture.log_interview


@pytest.mark.parametrize(
    ("person", "values", "rows", "rule", "field"),
    [
        ("ART-03", interview("baseline", "2025-06-21", "x"), NO_RATINGS, "future_date", "interview_date"),
        ("ART-03", interview("baseline", "2025-02-28", "x"), NO_RATINGS, "before_enrolment", "interview_date"),
        ("ART-01", interview("month_3", "2025-06-10", "x"), NO_RATINGS, "duplicate", "wave"),
        ("ART-03", interview("baseline", "2025-03-02", "x", duration_min=0), NO_RATINGS, "duration", "duration_min"),
        ("ART-03", interview("baseline", "2025-03-02", "x", duration_min=601), NO_RATINGS, "duration", "duration_min"),
        (
            "ART-03",
            interview("baseline", "2025-03-02", "x", duration_min="half an hour"),
            NO_RATINGS,
            "duration",
            "duration_min",
        ),
        ("ART-03", interview("baseline", "2025-03-02", "x", mode="pigeon"), NO_RATINGS, "allowed_values", "mode"),
        ("ART-03", interview("baseline", None, "x"), NO_RATINGS, "required", "interview_date"),
        (
            "ART-03",
            interview("baseline", "2025-03-02", "x"),
            ratings(("ctx_team_expertise", -1, None, False)),
            "rating_sign",
            "ratings",
        ),
        (
            "ART-03",
            interview("baseline", "2025-03-02", "x"),
            ratings(("ctx_resource_limits", 2, None, False)),
            "rating_sign",
            "ratings",
        ),
        (
            "ART-03",
            interview("baseline", "2025-03-02", "x"),
            ratings(("ctx_team_expertise", 0, None, False)),
            "rating_range",
            "ratings",
        ),
        (
            "ART-03",
            interview("baseline", "2025-03-02", "x"),
            ratings(("ctx_team_expertise", 3, None, False)),
            "rating_range",
            "ratings",
        ),
        (
            "ART-03",
            interview("baseline", "2025-03-02", "x"),
            ratings(("no_such_factor", 1, None, False)),
            "unknown_factor",
            "ratings",
        ),
        (
            "ART-03",
            interview("baseline", "2025-03-02", "x"),
            ratings(("ctx_team_expertise", 1, None, False), ("ctx_team_expertise", 2, None, False)),
            "duplicate",
            "ratings",
        ),
        (
            "ART-03",
            interview("baseline", "2025-03-02", "x", status="missed"),
            ratings(("ctx_team_expertise", 1, None, False)),
            "not_completed",
            "ratings",
        ),
    ],
    ids=[
        "future",
        "before-enrolment",
        "second-per-wave",
        "duration-0",
        "duration-601",
        "duration-text",
        "mode",
        "no-date",
        "facilitator-negative",
        "barrier-positive",
        "zero",
        "three",
        "unknown-factor",
        "rated-twice",
        "missed-with-ratings",
    ],
)
def test_a_broken_interview_rule_is_named_on_its_field(small, person, values, rows, rule, field):
    refused(small, lambda: LOG(small, EDITOR, "ART", person, values, rows, TODAY), rule, field)


def test_every_problem_of_a_form_is_reported_at_once(small):
    values = interview("baseline", "2025-06-30", "x", duration_min=0)
    error = refused(
        small,
        lambda: LOG(small, EDITOR, "ART", "ART-03", values, ratings(("ctx_team_expertise", -2, None, False)), TODAY),
        "future_date",
        "interview_date",
    )
    assert {p.field for p in error.problems} == {"interview_date", "duration_min", "ratings"}
    assert "row 1" in str(error.for_field("ratings")[0])


def test_dates_after_withdrawal_and_outside_the_study_are_refused(small):
    capture.withdraw(small, EDITOR, "ART", "ART-03", dt.date(2025, 4, 1), TODAY)
    refused(
        small,
        lambda: LOG(small, EDITOR, "ART", "ART-03", interview("baseline", "2025-04-02", "x"), NO_RATINGS, TODAY),
        "after_withdrawal",
        "interview_date",
    )
    late = dt.date(2026, 7, 10)
    refused(
        small,
        lambda: LOG(small, EDITOR, "ART", "ART-01", interview("month_12", "2026-07-01", "x"), NO_RATINGS, late),
        "after_study",
        "interview_date",
    )


def test_an_interview_outside_its_window_is_saved_with_a_note(small):
    saved = LOG(
        small,
        EDITOR,
        "ART",
        "ART-03",
        interview("baseline", "2025-06-10", "x"),
        ratings(("ctx_team_expertise", 1, "quote", True), (None, None, None, None)),
        TODAY,
    )
    assert saved.note == "Baseline interview is 71 days after its window closed (2025-03-31)"
    stored = small.execute(
        "SELECT rating, evidence, shareable, coder FROM factor_rating WHERE interview_id = ?", [int(saved.key)]
    ).fetchall()
    assert stored == [(1, "quote", True, "ed")]


def test_an_interview_inside_its_window_has_no_note(small):
    saved = LOG(
        small, EDITOR, "ART", "ART-03", interview("baseline", "2025-03-20", "x", no_factors=True), NO_RATINGS, TODAY
    )
    assert saved.note is None


def test_factors_can_be_chosen_by_their_display_label(small):
    label = next(k for k, v in capture.factor_choices(storage.list_factors(small)).items() if v == "ctx_instability")
    assert label == "Context · barrier · Instability"
    saved = LOG(
        small,
        EDITOR,
        "ART",
        "ART-03",
        interview("baseline", "2025-03-20", "x"),
        ratings((label, -2, None, False)),
        TODAY,
    )
    assert small.execute(
        "SELECT factor_code FROM factor_rating WHERE interview_id = ?", [int(saved.key)]
    ).fetchall() == [("ctx_instability",)]


def test_factor_choices_are_grouped_by_domain_then_kind(small):
    labels = list(capture.factor_choices(storage.list_factors(small)))
    groups = list(dict.fromkeys(label.rsplit(" · ", 1)[0] for label in labels))
    assert groups == [
        "Context · barrier",
        "Context · facilitator",
        "Process outcome · barrier",
        "Process outcome · facilitator",
    ]


def test_editing_an_interview_replaces_its_ratings_and_keeps_its_wave(small):
    interview_id = small.execute(
        "SELECT interview_id FROM interview WHERE participant_code = 'ART-01' AND wave = 'baseline'"
    ).fetchone()[0]
    capture.edit_interview(
        small,
        EDITOR,
        "ART",
        interview_id,
        interview("month_9", "2025-02-04", "A. Byrne"),
        ratings(("ctx_instability", -1, None, False)),
        TODAY,
    )
    row = small.execute("SELECT wave, interview_date FROM interview WHERE interview_id = ?", [interview_id]).fetchone()
    assert row == ("baseline", dt.date(2025, 2, 4))
    assert small.execute(
        "SELECT factor_code, rating FROM factor_rating WHERE interview_id = ?", [interview_id]
    ).fetchall() == [("ctx_instability", -1)]


def test_proposed_wave_and_interviewer(small):
    plan = storage.project_schedule(small, EDITOR, "ART", TODAY)
    assert capture.proposed_wave(plan[plan.participant_code == "ART-03"]) == "month_3"  # due beats overdue
    assert capture.proposed_wave(plan[plan.participant_code == "ART-01"]) == "month_6"
    interviews = storage.project_interviews(small, EDITOR, "ART")
    assert capture.proposed_interviewer(interviews[interviews.participant_code == "ART-01"]) == "M. Nowak"


def test_previous_ratings_come_from_the_last_rated_wave_before(small):
    every = storage.project_ratings(small, EDITOR, "ART")
    order = [w.wave for w in storage.list_waves(small)]
    label, rows = capture.previous_ratings(every, "ART-01", "month_6", order)
    assert label == "Baseline" and list(rows.factor_code) == ["ctx_team_expertise", "ctx_resource_limits"]
    assert capture.previous_ratings(every, "ART-01", "baseline", order)[0] is None


@pytest.mark.parametrize(
    ("values", "rule", "field"),
    [
        ({"project_code": "art"}, "code_format", "project_code"),
        ({"project_code": "ART"}, "exists", "project_code"),
        ({"project_code": "NEW", "name": " "}, "required", "name"),
        ({"project_code": "NEW", "setting": "private"}, "allowed_values", "setting"),
        ({"project_code": "NEW", "start_date": dt.date(2027, 1, 1)}, "after_study", "start_date"),
    ],
)
def test_project_rules(small, values, rule, field):
    project = {"name": "New", "setting": "nhs", "relation_to_statutory": "internal", "status": "active", **values}
    refused(small, lambda: capture.create_project(small, EDITOR, project), rule, field)


@pytest.mark.parametrize(
    ("values", "rule", "field"),
    [
        ({"participant_code": "Jane Smith"}, "code_format", "participant_code"),
        ({"participant_code": "ART-01"}, "exists", "participant_code"),
        ({"enrolment_date": dt.date(2025, 6, 21)}, "future_date", "enrolment_date"),
        ({"enrolment_date": dt.date(2024, 12, 31)}, "study_window", "enrolment_date"),
        ({"consent_date": dt.date(2025, 7, 1)}, "future_date", "consent_date"),
        ({"role": "friend"}, "allowed_values", "role"),
        ({"project_code": "NOPE"}, "unknown_reference", "project_code"),
    ],
)
def test_participant_rules(small, values, rule, field):
    person = {
        "participant_code": "ART-09",
        "project_code": "ART",
        "role": "caregiver",
        "enrolment_date": dt.date(2025, 3, 1),
        **values,
    }
    refused(small, lambda: capture.enrol_participant(small, EDITOR, person, TODAY), rule, field)


def test_enrolment_cannot_move_after_the_first_interview(small):
    refused(
        small,
        lambda: capture.edit_participant(
            small, EDITOR, "ART", "ART-01", {"role": "service_user", "enrolment_date": dt.date(2025, 2, 5)}, TODAY
        ),
        "before_enrolment",
        "enrolment_date",
    )


@pytest.mark.parametrize(
    ("when", "rule"),
    [
        (dt.date(2025, 1, 31), "date_order"),
        (dt.date(2025, 4, 30), "after_withdrawal"),
        (dt.date(2025, 6, 21), "future_date"),
        (None, "required"),
    ],
)
def test_withdrawal_rules(small, when, rule):
    refused(small, lambda: capture.withdraw(small, EDITOR, "ART", "ART-01", when, TODAY), rule, "withdrawal_date")


def test_erasure_allows_a_withdrawal_date_before_the_last_interview(small):
    capture.withdraw(small, EDITOR, "ART", "ART-01", dt.date(2025, 4, 30), TODAY, erase=True)
    assert small.execute("SELECT count(*) FROM interview WHERE participant_code = 'ART-01'").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"service_users_engaged": -1}, "service_users_engaged"),
        ({"embedded_in_host": 6}, "embedded_in_host"),
        ({"outlook": "purple"}, "outlook"),
        ({"champion_in_post": "maybe"}, "champion_in_post"),
        ({"adoption_elsewhere": 1.5}, "adoption_elsewhere"),
    ],
)
def test_indicator_ranges(small, values, field):
    refused(
        small, lambda: capture.score_sustainability(small, EDITOR, "ART", "month_3", values), "indicator_value", field
    )


def test_scores_are_stored_in_canonical_form(small):
    capture.score_sustainability(
        small,
        EDITOR,
        "ART",
        "month_3",
        {"champion_in_post": "Yes", "outlook": "GREEN", "embedded_in_host": "3", "adoption_elsewhere": ""},
    )
    scores = storage.indicator_scores(small, EDITOR, "ART", "month_3").set_index("indicator_code").value
    assert scores[["champion_in_post", "outlook", "embedded_in_host"]].tolist() == ["yes", "green", "3"]
    assert pd.isna(scores["adoption_elsewhere"])


@pytest.mark.parametrize(
    ("values", "rule", "field"),
    [
        ({"title": ""}, "required", "title"),
        ({"milestone_date": dt.date(2026, 7, 1)}, "after_study", "milestone_date"),
        ({"kind": "party"}, "allowed_values", "kind"),
        ({"milestone_date": None}, "required", "milestone_date"),
    ],
)
def test_milestone_rules(small, values, rule, field):
    milestone = {"kind": "launch", "milestone_date": dt.date(2025, 3, 1), "title": "Launch", **values}
    refused(small, lambda: capture.create_milestone(small, EDITOR, "ART", milestone), rule, field)


def test_only_editors_write_study_data(small):
    before = snapshot(small)
    for viewer in (FUNDER, TEAM):
        with pytest.raises(AccessDenied):
            LOG(small, viewer, "ART", "ART-03", interview("baseline", "2025-03-20", "x"), NO_RATINGS, TODAY)
        with pytest.raises(AccessDenied):
            capture.score_sustainability(small, viewer, "ART", "month_3", {"outlook": "red"})
        with pytest.raises(AccessDenied):
            capture.remove_project(small, viewer, "ART")
        with pytest.raises(AccessDenied):
            capture.restore(small, viewer, 1)
    assert snapshot(small) == before


def test_a_team_edits_only_its_own_projects_milestones(small):
    capture.create_project(
        small,
        EDITOR,
        {
            "project_code": "OTH",
            "name": "Other",
            "setting": "nhs",
            "relation_to_statutory": "internal",
            "status": "active",
        },
    )
    launch = {"kind": "launch", "milestone_date": dt.date(2025, 3, 1), "title": "Launch"}
    saved = capture.create_milestone(small, TEAM, "ART", launch)
    capture.edit_milestone(small, TEAM, "ART", int(saved.key), {**launch, "title": "Launched"})
    with pytest.raises(AccessDenied):
        capture.create_milestone(small, TEAM, "OTH", launch)
    with pytest.raises(AccessDenied):
        capture.create_milestone(small, FUNDER, "ART", launch)
    capture.remove_milestone(small, TEAM, "ART", int(saved.key))
    assert small.execute("SELECT count(*) FROM milestone").fetchone()[0] == 0
