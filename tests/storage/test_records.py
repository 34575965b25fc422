"""Writes of single records: each one audited with before and after, deletions restorable, erasure leaving nothing
of what was said."""

import datetime as dt
import json

import pytest

from innovation_tracker import storage
from innovation_tracker.app import capture
from innovation_tracker.domain.errors import NotFound, ValidationError
from tests.support.small_study import EDITOR, build

TODAY = dt.date(2025, 6, 20)


@pytest.fixture
def small(study_db):
    build(study_db)
    return study_db


def audit(con, **where):
    sql = "SELECT action, entity, entity_key, before, after, actor FROM audit_entry"
    if where:
        sql += " WHERE " + " AND ".join(f"{k} = ?" for k in where)
    rows = con.execute(sql + " ORDER BY audit_id", list(where.values())).fetchall()
    return [
        (a, e, k, json.loads(b) if b else None, json.loads(af) if af else None, who) for a, e, k, b, af, who in rows
    ]


def rows(con, sql):
    return con.execute(sql).fetchall()


def everything(con):
    tables = ("project", "participant", "interview", "factor_rating", "indicator_value", "milestone")
    return {t: sorted(map(repr, rows(con, f"SELECT * FROM {t}"))) for t in tables}


def first_interview(con):
    return rows(con, "SELECT interview_id FROM interview WHERE participant_code = 'ART-01' AND wave = 'baseline'")[0][0]


def test_creating_records_audits_their_values(small):
    created = audit(small, action="create")
    assert [(a, e, k) for a, e, k, *_ in created] == [
        ("create", "project", "ART"),
        ("create", "participant", "ART-01"),
        ("create", "participant", "ART-02"),
        ("create", "participant", "ART-03"),
        ("create", "interview", "1"),
        ("create", "interview", "2"),
        ("create", "interview", "3"),
        ("create", "interview", "4"),
    ]
    after = created[4][4]
    assert after["participant_code"] == "ART-01" and after["interview_date"] == "2025-02-03"
    assert [r["factor_code"] for r in after["ratings"]] == ["ctx_team_expertise", "ctx_resource_limits"]
    assert {who for *_, who in created} == {"ed"}


def test_interview_ids_count_up_from_the_largest(small):
    assert [r[0] for r in rows(small, "SELECT interview_id FROM interview ORDER BY 1")] == [1, 2, 3, 4]


def test_an_update_keeps_before_and_after_and_replaces_ratings(small):
    interview_id = first_interview(small)
    storage.update_interview(
        small,
        "ed",
        interview_id,
        {"duration_min": 45},
        [{"factor_code": "ctx_supportive_team", "rating": 1, "evidence": None, "shareable": False, "coder": "ed"}],
    )
    assert rows(small, f"SELECT factor_code FROM factor_rating WHERE interview_id = {interview_id}") == [
        ("ctx_supportive_team",)
    ]
    ((_, _, key, before, after, _),) = audit(small, action="update", entity="interview")
    assert key == str(interview_id)
    assert (before["duration_min"], after["duration_min"]) == (30, 45)
    assert len(before["ratings"]) == 2 and len(after["ratings"]) == 1


def test_a_project_can_be_renamed_while_participants_point_at_it(small):
    storage.update_project(small, "ed", "ART", {"name": "Arts and minds", "status": "stalled"})
    assert rows(small, "SELECT name, status FROM project") == [("Arts and minds", "stalled")]


def test_key_columns_cannot_be_changed(small):
    with pytest.raises(ValueError, match="cannot change"):
        storage.update_project(small, "ed", "ART", {"project_code": "ARX"})


@pytest.mark.parametrize(
    ("delete", "entity"),
    [
        (lambda con: storage.delete_project(con, "ed", "ART"), "project"),
        (lambda con: storage.delete_participant(con, "ed", "ART-01"), "participant"),
        (lambda con: storage.delete_interview(con, "ed", first_interview(con)), "interview"),
    ],
    ids=["project", "participant", "interview"],
)
def test_a_deletion_is_restored_whole_from_the_audit_log(small, delete, entity):
    storage.set_indicator_values(small, "ed", "ART", "baseline", {"outlook": "amber", "champion_in_post": "yes"})
    storage.add_milestone(
        small,
        "ed",
        {
            "project_code": "ART",
            "milestone_date": dt.date(2025, 3, 1),
            "kind": "launch",
            "title": "Launch",
            "notes": None,
        },
    )
    before = everything(small)
    removed = delete(small)
    assert everything(small) != before
    assert removed[entity] == 1
    deleted = storage.restorable_deletions(small, EDITOR)
    assert list(deleted.entity) == [entity]
    restored = capture.restore(small, EDITOR, int(deleted.audit_id[0]))
    assert restored == removed
    assert everything(small) == before
    assert storage.restorable_deletions(small, EDITOR).empty
    assert audit(small, action="restore")[0][1] == entity


def test_a_project_deletion_takes_everything_under_it(small):
    removed = storage.delete_project(small, "ed", "ART")
    assert removed == {"project": 1, "participant": 3, "interview": 4, "factor_rating": 2}
    assert all(not v for v in everything(small).values())


def test_restoring_twice_is_refused(small):
    storage.delete_interview(small, "ed", first_interview(small))
    audit_id = int(storage.restorable_deletions(small, EDITOR).audit_id[0])
    capture.restore(small, EDITOR, audit_id)
    with pytest.raises(ValidationError, match="exists again already"):
        capture.restore(small, EDITOR, audit_id)


def test_a_child_cannot_come_back_before_its_parent(small):
    storage.delete_interview(small, "ed", first_interview(small))
    interview_entry = int(storage.restorable_deletions(small, EDITOR).audit_id[0])
    storage.delete_participant(small, "ed", "ART-01")
    with pytest.raises(ValidationError, match="restore participant ART-01 first"):
        capture.restore(small, EDITOR, interview_entry)


def test_only_deletions_can_be_restored(small):
    create = small.execute("SELECT min(audit_id) FROM audit_entry WHERE action = 'create'").fetchone()[0]
    with pytest.raises(ValidationError, match="not a deletion"):
        capture.restore(small, EDITOR, create)
    with pytest.raises(NotFound):
        capture.restore(small, EDITOR, 99999)


def test_withdrawal_keeps_what_was_said(small):
    capture.withdraw(small, EDITOR, "ART", "ART-01", dt.date(2025, 6, 1), TODAY)
    assert rows(small, "SELECT status, withdrawal_date FROM participant WHERE participant_code = 'ART-01'") == [
        ("withdrawn", dt.date(2025, 6, 1))
    ]
    assert rows(small, "SELECT count(*) FROM interview WHERE participant_code = 'ART-01'") == [(2,)]
    statuses = storage.wave_status(small, EDITOR, TODAY).query("participant_code == 'ART-01'")
    assert list(statuses.status) == ["completed", "completed", "withdrawn", "withdrawn", "withdrawn"]


def test_erasure_deletes_what_was_said_and_audits_only_that_it_happened(small):
    storage.delete_interview(small, "ed", first_interview(small))  # a deletion whose snapshot holds ART-01's words
    capture.withdraw(small, EDITOR, "ART", "ART-01", dt.date(2025, 6, 1), TODAY, erase=True)
    assert rows(small, "SELECT count(*) FROM interview WHERE participant_code = 'ART-01'") == [(0,)]
    assert rows(small, "SELECT count(*) FROM factor_rating") == [(0,)]
    assert rows(small, "SELECT status FROM participant WHERE participant_code = 'ART-01'") == [("withdrawn",)]
    ((action, entity, key, before, after, who),) = audit(small, action="erase")
    assert (action, entity, key, before, after, who) == ("erase", "participant", "ART-01", None, None, "ed")
    shown = storage.audit_log(small, EDITOR).to_csv()
    assert "they know their stuff" not in shown and "2025-02-03" not in shown
    deleted = storage.restorable_deletions(small, EDITOR)
    with pytest.raises(ValidationError, match="asked for erasure"):
        capture.restore(small, EDITOR, int(deleted.audit_id[0]))


def test_sustainability_scores_are_upserted_and_cleared(small):
    storage.set_indicator_values(small, "ed", "ART", "baseline", {"outlook": "red", "adoption_elsewhere": "0"})
    storage.set_indicator_values(small, "ed", "ART", "baseline", {"outlook": "green", "adoption_elsewhere": None})
    assert rows(small, "SELECT indicator_code, value FROM indicator_value") == [("outlook", "green")]
    first, second = audit(small, entity="sustainability")[-2:]
    assert second[3] == {"outlook": "red", "adoption_elsewhere": "0"} and second[4] == {"outlook": "green"}
    assert first[3] == {}


def test_saving_the_same_scores_again_writes_nothing(small):
    storage.set_indicator_values(small, "ed", "ART", "baseline", {"outlook": "red"})
    count = len(audit(small))
    storage.set_indicator_values(small, "ed", "ART", "baseline", {"outlook": "red"})
    assert len(audit(small)) == count


def test_no_storage_function_updates_or_deletes_an_audit_row():
    from pathlib import Path

    import innovation_tracker.storage as package

    for path in Path(package.__file__).parent.glob("*.py"):
        text = path.read_text().lower()
        if path.name == "records.py":
            # The one exception: an erasure takes the participant's words out of earlier entries.
            erasure = text[text.index("def _forget_in_audit(") : text.index("def _their_interviews(")]
            assert text.count("update audit_entry") == erasure.count("update audit_entry") == 1
            text = text.replace(erasure, "")
        assert "update audit_entry" not in text and "delete from audit_entry" not in text, path.name


def test_the_audit_log_filters_by_entity_actor_action_and_date(small):
    storage.update_project(small, "someone-else", "ART", {"name": "Renamed"})
    log = storage.audit_log(small, EDITOR, entity="project", actor="someone-else", action="update")
    assert list(log.entity_key) == ["ART"]
    # The study's first entries may date from the day before (its template is made once per test process).
    first, today = small.execute("SELECT min(changed_at)::DATE, current_date FROM audit_entry").fetchone()
    assert len(storage.audit_log(small, EDITOR, since=first, until=today)) == len(storage.audit_log(small, EDITOR))
    assert "ART" in list(storage.audit_log(small, EDITOR, since=today, until=today, entity="project").entity_key)
    assert storage.audit_log(small, EDITOR, until=first - dt.timedelta(days=1)).empty
    assert storage.audit_log(small, EDITOR, since=today + dt.timedelta(days=1)).empty
    choices = storage.audit_choices(small, EDITOR)
    assert choices["actor"] == ["ed", "someone-else", "system"]
    assert "update" in choices["action"] and "interview" in choices["entity"]


def test_a_deletion_cut_short_between_levels_is_completed_by_restore(small):
    interview_id = first_interview(small)
    before = everything(small)
    storage.delete_interview(small, "ed", interview_id)
    snapshot = audit(small, action="delete")[0][3]["interview"][0]
    # as if the process had died after the first level: the ratings are gone, the interview row is not
    small.execute(
        f"INSERT INTO interview ({', '.join(snapshot)}) VALUES ({', '.join('?' * len(snapshot))})",
        list(snapshot.values()),
    )
    restored = capture.restore(small, EDITOR, int(storage.restorable_deletions(small, EDITOR).audit_id[0]))
    assert restored == {"factor_rating": 2}
    assert everything(small) == before
