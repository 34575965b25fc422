"""Nothing typed is lost (issue 14): incomplete lines are named and nothing is saved, a completed interview needs
its ratings or an explicit "no factors discussed", a save from a stale form is refused with what changed (projects,
participants, interviews, sustainability scores), drafts are kept per user, and contact details follow the rules."""

import datetime as dt
import threading

import pandas as pd
import pytest

from innovation_tracker import storage
from innovation_tracker.app import capture
from innovation_tracker.domain.errors import ValidationError
from innovation_tracker.domain.model import AccountRole, FactorKind, Viewer
from tests.support.small_study import EDITOR, NO_RATINGS, build, interview

TODAY = dt.date(2025, 6, 20)
OTHER = Viewer("other", AccountRole.EVALUATOR)
PROJECT = {"name": "Arts on prescription", "setting": "community", "relation_to_statutory": "external",
           "status": "active"}  # fmt: skip


@pytest.fixture
def small(study_db):
    build(study_db)
    return study_db


def problems(action):
    with pytest.raises(ValidationError) as caught:
        action()
    return caught.value.problems


def lines(*rows):
    columns = ["factor", "rating", "evidence", "shareable", "line", "field", "carried", "mark"]
    return pd.DataFrame(list(rows), columns=columns).astype(object)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("ctx_team_expertise", None, None, False, "New factor 'Team expertise'", "line:a", None, None),
         "New factor 'Team expertise': 'Team expertise' has no rating; choose one"),
        (("ctx_team_expertise", None, "a quote", False, "New factor 'Team expertise'", "line:a", None, None),
         "New factor 'Team expertise': 'Team expertise' has evidence but no rating; choose one"),
        ((None, None, "a quote", False, None, None, None, None),
         "row 1: evidence or a rating with no factor; choose one"),
        (("ctx_team_expertise", None, None, False, "Carried forward line 1 (Team expertise)", "line:a", 2, None),
         "Carried forward line 1 (Team expertise): mark it still so, changed (choose the new rating) or not mentioned"),
        (("ctx_team_expertise", None, "said it", False, "Carried forward line 1 (Team expertise)", "line:a", 2,
          "absent"),
         "Carried forward line 1 (Team expertise): it is marked not mentioned but has evidence; rate it or clear the "
         "evidence"),
    ],
    ids=["no-rating", "evidence-no-rating", "evidence-no-factor", "carried-unmarked", "absent-with-evidence"],
)  # fmt: skip
def test_every_incomplete_line_is_named_and_nothing_is_saved(small, row, message):
    before = storage.table_counts(small)
    found = problems(
        lambda: capture.log_interview(
            small, EDITOR, "ART", "ART-03", interview("month_3", "2025-06-12", "x"), lines(row), TODAY
        )
    )
    assert message in [p.message for p in found], found
    assert storage.table_counts(small) == before


def test_the_same_factor_twice_is_named_with_both_lines(small):
    rows = lines(
        ("ctx_team_expertise", 2, None, False, "Line A", "line:a", None, None),
        ("ctx_team_expertise", 1, None, False, "Line B", "line:b", None, None),
    )
    found = problems(
        lambda: capture.log_interview(
            small, EDITOR, "ART", "ART-03", interview("month_3", "2025-06-12", "x"), rows, TODAY
        )
    )
    assert [p.message for p in found] == ["Line B: 'Team expertise' is rated twice (also in Line A); keep one"]


def test_a_completed_interview_with_no_ratings_needs_the_tick_and_a_tick_with_ratings_is_refused(small):
    held = interview("month_3", "2025-06-12", "x")
    found = problems(lambda: capture.log_interview(small, EDITOR, "ART", "ART-03", held, NO_RATINGS, TODAY))
    assert [(p.rule, p.field) for p in found] == [("no_ratings", "no_factors")]
    rated = lines(("ctx_team_expertise", 2, None, False, "L", "line:a", None, None))
    ticked = {**held, "no_factors": True}
    found = problems(lambda: capture.log_interview(small, EDITOR, "ART", "ART-03", ticked, rated, TODAY))
    assert [(p.rule, p.field) for p in found] == [("contradiction", "no_factors")]
    capture.log_interview(small, EDITOR, "ART", "ART-03", ticked, NO_RATINGS, TODAY)
    missed = interview("month_3", "2025-05-14", "x", "missed")
    capture.edit_interview(small, EDITOR, "ART", 3, missed, NO_RATINGS, TODAY)  # a missed call needs no tick


def test_carried_forward_marks_become_ratings(small):
    factors = storage.list_factors(small)
    previous = storage.project_ratings(small, EDITOR, "ART").query(
        "participant_code == 'ART-01' and wave == 'baseline'"
    )
    carried = capture.carried_forward(previous, factors)
    assert [(c.factor.factor_code, c.rating, c.evidence) for c in carried] == [
        ("ctx_team_expertise", 2, "=they know their stuff"),
        ("ctx_resource_limits", -1, None),
    ]
    assert capture.carry_options(FactorKind.BARRIER, -1) == ("still", -2, "absent")
    assert capture.carry_options(FactorKind.EITHER, 1) == ("still", -2, -1, 2, "absent")
    marks = {"ctx_team_expertise": "still", "ctx_resource_limits": "absent", "po_social_interaction": 1}
    rows = capture.coding_rows(carried, marks, {"po_social_interaction": "tea"}, {"po_social_interaction": True}, {})
    stored = capture.check_ratings(rows, factors, "ed")
    assert [(r["factor_code"], r["rating"], r["evidence"], r["shareable"]) for r in stored] == [
        ("ctx_team_expertise", 2, None, False),
        ("po_social_interaction", 1, "tea", True),
    ]
    again = capture.marks_of(pd.DataFrame({"factor_code": ["ctx_team_expertise", "po_social_interaction"],
                                           "rating": [1, 1]}), carried)  # fmt: skip
    assert again == {"ctx_team_expertise": 1, "ctx_resource_limits": "absent", "po_social_interaction": 1}


def test_the_codebook_is_searched_over_names_and_definitions_and_grouped(small):
    factors = storage.list_factors(small)
    groups = capture.codebook_groups(factors)
    assert [g for g, _ in groups] == [
        "Context · barriers", "Context · facilitators", "Process outcome · barriers", "Process outcome · facilitators",
    ]  # fmt: skip
    assert sum(len(members) for _, members in groups) == 47
    by_definition = capture.codebook_groups(factors, "restructuring")
    assert [f.label for _, members in by_definition for f in members] == ["Instability"]
    assert capture.codebook_groups(factors, "no such words at all") == []


def edit_values(**changes):
    return {"interview_date": dt.date(2025, 2, 3), "mode": "face_to_face", "status": "completed",
            "interviewer": "A. Byrne", "duration_min": 30, "summary": "notes", **changes}  # fmt: skip


def test_a_stale_interview_save_is_refused_with_what_changed(small):
    rated = storage.project_ratings(small, EDITOR, "ART").query("interview_id == 1")
    rows = pd.DataFrame({"factor": rated.factor_code, "rating": rated.rating, "evidence": rated.evidence,
                         "shareable": rated.shareable})  # fmt: skip
    interview_row = storage.project_interviews(small, EDITOR, "ART").query("interview_id == 1").iloc[0]
    assert interview_row.version == 0
    opened = capture.interview_snapshot(interview_row.to_dict(), rated)
    capture.edit_interview(small, OTHER, "ART", 1, edit_values(duration_min=45), rows, TODAY, version=0, opened=opened)
    before = storage.table_counts(small)
    found = problems(
        lambda: capture.edit_interview(
            small, EDITOR, "ART", 1, edit_values(summary="mine"), rows.iloc[:1], TODAY, version=0, opened=opened
        )
    )
    (problem,) = found
    assert problem.rule == "changed_meanwhile" and problem.value == 1
    assert problem.message.startswith("other saved this interview at ")
    assert "What they changed: Duration (minutes): 30 → 45." in problem.message
    assert storage.table_counts(small) == before
    assert storage.project_interviews(small, EDITOR, "ART").query("interview_id == 1").iloc[0].summary == "notes"
    capture.edit_interview(small, EDITOR, "ART", 1, edit_values(summary="mine"), rows, TODAY, version=1)
    assert storage.project_interviews(small, EDITOR, "ART").query("interview_id == 1").iloc[0].version == 2


def test_stale_saves_of_projects_participants_and_scores_are_refused(small):
    capture.edit_project(small, OTHER, "ART", {**PROJECT, "status": "stalled"}, version=0)
    opened = {"Status": "active"}
    found = problems(lambda: capture.edit_project(small, EDITOR, "ART", PROJECT, version=0, opened=opened))
    assert "Status: active → stalled" in found[0].message
    assert storage.list_projects(small, EDITOR).status.tolist() == ["stalled"]

    person = {"role": "service_user", "enrolment_date": dt.date(2025, 2, 1)}
    capture.edit_participant(small, OTHER, "ART", "ART-01", {**person, "telephone": "01632 960001"}, TODAY, version=0)
    found = problems(lambda: capture.edit_participant(small, EDITOR, "ART", "ART-01", person, TODAY, version=0))
    assert "Telephone: — → 01632 960001" in found[0].message

    capture.score_sustainability(small, OTHER, "ART", "baseline", {"outlook": "green"}, version=0)
    found = problems(
        lambda: capture.score_sustainability(small, EDITOR, "ART", "baseline", {"outlook": "red"}, version=0)
    )
    assert "Evaluator's outlook: — → green" in found[0].message or "→ green" in found[0].message
    assert storage.indicator_scores(small, EDITOR, "ART", "baseline").set_index("indicator_code").value["outlook"] == (
        "green"
    )


def test_two_saves_racing_from_the_same_version_keep_one_and_refuse_the_other(tmp_path):
    from tests.conftest import make_empty_study

    path = make_empty_study(tmp_path / "race.duckdb", dt.date(2025, 1, 1), dt.date(2026, 6, 30))
    con = storage.connect(path)
    build(con)
    results, barrier = [], threading.Barrier(2)

    def save(name, status):
        cursor = con.cursor()
        barrier.wait()
        try:
            capture.edit_project(cursor, Viewer(name, AccountRole.EVALUATOR), "ART", {**PROJECT, "status": status},
                                 version=0)  # fmt: skip
            results.append((name, "saved"))
        except ValidationError as error:
            results.append((name, error.problems[0].rule))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            results.append((name, repr(error)))

    threads = [threading.Thread(target=save, args=(n, s)) for n, s in (("a", "stalled"), ("b", "closed"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcome for _, outcome in results) == ["changed_meanwhile", "saved"], results
    winner = next(name for name, outcome in results if outcome == "saved")
    assert storage.list_projects(con, EDITOR).status.tolist() == [{"a": "stalled", "b": "closed"}[winner]]
    con.close()


def test_drafts_are_kept_per_user_and_deleted_on_save(small):
    storage.set_draft(small, "ed", "interview:ART-03:month_3", title="ART-03 · 3-month", params={"wave": "month_3"},
                      content={"summary": "half"}, participant_code="ART-03")  # fmt: skip
    storage.set_draft(small, "other", "interview:ART-03:month_3", title="t", params={}, content={"summary": "theirs"})
    mine = storage.list_drafts(small, EDITOR)
    assert [(d["form"], d["content"], d["params"]) for d in mine] == [
        ("interview:ART-03:month_3", {"summary": "half"}, {"wave": "month_3"})
    ]
    assert storage.list_drafts(small, Viewer("fun", AccountRole.FUNDER)) == []
    held = interview("month_3", "2025-06-12", "x", no_factors=True)
    capture.log_interview(small, EDITOR, "ART", "ART-03", held, NO_RATINGS, TODAY, draft="interview:ART-03:month_3")
    assert storage.list_drafts(small, EDITOR) == []
    assert [d["content"] for d in storage.list_drafts(small, OTHER)] == [{"summary": "theirs"}], "others' stay"


def test_a_refused_save_keeps_the_draft(small):
    storage.set_draft(small, "ed", "f", title="t", params={}, content={"summary": "half"})
    problems(lambda: capture.log_interview(small, EDITOR, "ART", "ART-03", interview("month_3", "2025-06-12", "x"),
                                           NO_RATINGS, TODAY, draft="f"))  # fmt: skip
    assert len(storage.list_drafts(small, EDITOR)) == 1


@pytest.mark.parametrize(
    ("values", "field"),
    [({"telephone": "call me"}, "telephone"), ({"email": "not-an-address"}, "email"),
     ({"call_times": "x" * 121}, "call_times")],
)  # fmt: skip
def test_contact_details_are_checked(small, values, field):
    person = {"role": "service_user", "enrolment_date": dt.date(2025, 2, 1), **values}
    found = problems(lambda: capture.edit_participant(small, EDITOR, "ART", "ART-01", person, TODAY))
    assert [p.field for p in found] == [field]


def test_erasure_removes_contact_details_and_drafts(small):
    person = {"role": "service_user", "enrolment_date": dt.date(2025, 2, 1), "telephone": "01632 960123",
              "email": "art-01@example.org", "call_times": "mornings"}  # fmt: skip
    capture.edit_participant(small, EDITOR, "ART", "ART-01", person, TODAY)
    storage.set_draft(
        small, "ed", "interview:ART-01:month_6", title="t", params={}, content={}, participant_code="ART-01"
    )
    assert storage.contact_details(small, EDITOR).telephone.tolist() == ["01632 960123"]
    capture.withdraw(small, EDITOR, "ART", "ART-01", dt.date(2025, 6, 1), TODAY, erase=True)
    assert storage.contact_details(small, EDITOR).empty
    assert storage.list_drafts(small, EDITOR) == []


def test_deleting_a_participant_keeps_their_contact_details_restorable(small):
    person = {"role": "caregiver", "enrolment_date": dt.date(2025, 3, 1), "telephone": "01632 960777"}
    capture.edit_participant(small, EDITOR, "ART", "ART-03", person, TODAY)
    capture.remove_participant(small, EDITOR, "ART", "ART-03")
    assert storage.contact_details(small, EDITOR).empty
    (audit_id,) = small.execute("SELECT max(audit_id) FROM audit_entry WHERE action = 'delete'").fetchone()
    capture.restore(small, EDITOR, audit_id)
    assert storage.contact_details(small, EDITOR).telephone.tolist() == ["01632 960777"]


def test_the_current_round_is_where_most_participants_are():
    plan = pd.DataFrame(
        {
            "participant_code": ["a", "a", "b", "b", "c", "c"],
            "wave": ["baseline", "month_3"] * 3,
            "status": ["completed", "due", "completed", "upcoming", "completed", "overdue"],
            "interview_date": [dt.date(2025, 1, 1), None, dt.date(2025, 1, 1), None, dt.date(2025, 1, 1), None],
        }
    )
    assert capture.current_round(plan, ["baseline", "month_3"]) == "month_3"  # a and c are due at 3 months
    assert capture.current_round(plan.assign(status="upcoming").iloc[[1, 3, 5]], ["baseline", "month_3"]) is None
    done = plan.assign(status=["completed", "upcoming"] * 3)
    assert capture.current_round(done, ["baseline", "month_3"]) == "baseline"
