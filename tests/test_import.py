"""Imports are all or nothing: every problem is named (file, row, column, rule) and nothing is written."""

import datetime as dt

import pytest

from innovation_tracker import service, storage
from innovation_tracker.errors import ValidationError

TODAY = dt.date(2025, 12, 1)
PROJECTS = (
    "project_code,name,setting,host_organisation,relation_to_statutory,start_date,status\n"
    "ART,Arts on prescription,community,Arts Trust,external,2024-10-01,active\n"
)
PARTICIPANTS = (
    "participant_code,project_code,role,enrolment_date,status,consent_date,withdrawal_date\n"
    "ART-01,ART,service_user,2025-02-01,active,2025-02-01,\n"
    "ART-02,ART,manager,2025-02-03,withdrawn,2025-02-03,2025-07-01\n"
)
INTERVIEWS = (
    "interview_id,participant_code,project_code,wave,interview_date,mode,interviewer,duration_min,status\n"
    "1,ART-01,ART,baseline,2025-02-05,face_to_face,R. Patel,50,completed\n"
    "2,ART-01,ART,month_3,2025-05-07,telephone,R. Patel,30,completed\n"
    "3,ART-02,ART,baseline,2025-02-10,face_to_face,R. Patel,45,missed\n"
)
RATINGS = (
    "interview_id,project_code,participant_code,wave,factor_code,domain,kind,rating,evidence\n"
    "1,ART,ART-01,baseline,ctx_team_expertise,context,facilitator,2,They know what they are doing\n"
    "2,ART,ART-01,month_3,ctx_instability,context,barrier,-1,\n"
)


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def loaded(study_db, tmp_path):
    files = [
        write(tmp_path, n, t)
        for n, t in (
            ("projects.csv", PROJECTS),
            ("participants.csv", PARTICIPANTS),
            ("interviews.csv", INTERVIEWS),
            ("factor_ratings.csv", RATINGS),
        )
    ]
    counts = service.import_files(study_db, files, today=TODAY, actor="test")
    assert counts == {"projects": 1, "participants": 2, "interviews": 3, "factor_ratings": 2}
    return study_db


def refused(con, tmp_path, name, text, encoding="utf-8"):
    before = storage.table_counts(con)
    audit = con.execute("SELECT count(*) FROM audit_entry").fetchone()[0]
    with pytest.raises(ValidationError) as error:
        service.import_files(con, [write(tmp_path / "bad", name, text, encoding)], today=TODAY, actor="test")
    assert storage.table_counts(con) == before
    assert con.execute("SELECT count(*) FROM audit_entry").fetchone()[0] == audit
    return error.value.problems


@pytest.fixture(autouse=True)
def bad_dir(tmp_path):
    (tmp_path / "bad").mkdir()


def test_the_import_is_audited_and_stored(loaded):
    assert loaded.execute("SELECT rating FROM factor_rating ORDER BY interview_id").fetchall() == [(2,), (-1,)]
    actor, action, after = loaded.execute(
        "SELECT actor, action, after FROM audit_entry WHERE entity_key LIKE '%ratings%'"
    ).fetchone()
    assert (actor, action) == ("test", "import") and '"factor_ratings": 2' in after


@pytest.mark.parametrize(
    "name, row, field, rule, message",
    [
        (
            "factor_ratings.csv",
            "3,ART,ART-01,month_3,no_such_factor,,,1,",
            "factor_code",
            "unknown_reference",
            "factor 'no_such_factor' does not exist",
        ),
        (
            "factor_ratings.csv",
            "3,ART,ART-01,month_3,ctx_instability,,,2,",
            "rating",
            "rating_sign",
            "rating 2: the factor is a barrier, so its rating must be negative (−1 or −2)",
        ),
        (
            "factor_ratings.csv",
            "2,ART,ART-01,month_3,ctx_team_expertise,,,-1,",
            "rating",
            "rating_sign",
            "rating -1: the factor is a facilitator, so its rating must be positive (+1 or +2)",
        ),
        (
            "factor_ratings.csv",
            "2,ART,ART-01,month_3,ctx_team_expertise,,,0,",
            "rating",
            "rating_range",
            "rating 0 must be −2, −1, +1 or +2",
        ),
        (
            "factor_ratings.csv",
            "3,ART,ART-02,baseline,ctx_team_expertise,,,1,",
            "interview_id",
            "not_completed",
            "interview 3 was not completed, so it cannot carry ratings",
        ),
        (
            "factor_ratings.csv",
            "99,ART,ART-01,month_3,ctx_team_expertise,,,1,",
            "interview_id",
            "unknown_reference",
            "interview 99 does not exist",
        ),
        (
            "factor_ratings.csv",
            "2,ART,ART-01,month_6,ctx_team_expertise,,,1,",
            "wave",
            "mismatch",
            "wave 'month_6' does not match interview's wave",
        ),
        (
            "interviews.csv",
            "4,ART-01,ART,month_3,2025-05-08,telephone,,,completed",
            "interview_id",
            "duplicate",
            "participant ART-01 already has a month_3 interview in the study: interview 2, not 4",
        ),
        (
            "interviews.csv",
            "4,NOBODY,ART,month_6,2025-08-01,telephone,,,completed",
            "participant_code",
            "unknown_reference",
            "participant 'NOBODY' does not exist",
        ),
        (
            "interviews.csv",
            "4,ART-01,ART,month_6,2026-08-01,telephone,,,completed",
            "interview_date",
            "future_date",
            "interview date 2026-08-01 is in the future",
        ),
        (
            "interviews.csv",
            "4,ART-01,ART,month_6,2025-01-20,telephone,,,completed",
            "interview_date",
            "before_enrolment",
            "interview date 2025-01-20 is before the participant's enrolment",
        ),
        (
            "interviews.csv",
            "4,ART-02,ART,month_6,2025-08-01,telephone,,,completed",
            "interview_date",
            "after_withdrawal",
            "interview date 2025-08-01 is after the participant withdrew",
        ),
        (
            "interviews.csv",
            "4,ART-01,ART,month_6,2025-08-01,pigeon,,,completed",
            "mode",
            "allowed_values",
            "'pigeon' is not one of: face_to_face, telephone, video",
        ),
        (
            "interviews.csv",
            "4,ART-01,ART,month_6,01/08/2025,telephone,,,completed",
            "interview_date",
            "date_format",
            "'01/08/2025' is not a date in the form YYYY-MM-DD",
        ),
        (
            "interviews.csv",
            "4,ART-01,ART,month_6,2025-08-01,telephone,,900,completed",
            "duration_min",
            "range",
            "900 is above the maximum 600",
        ),
        (
            "participants.csv",
            "ART-01,ART,service_user,2025-03-01,active,,",
            "participant_code",
            "changed",
            "participant_code ART-01 is stored with other values (enrolment_date '2025-02-01' → '2025-03-01'",
        ),
        (
            "participants.csv",
            "ART-09,ART,service_user,2024-06-01,active,,",
            "enrolment_date",
            "study_window",
            "enrolment date 2024-06-01 is outside the study window 2025-01-01 to 2026-06-30",
        ),
        (
            "participants.csv",
            "ART-09,ART,service_user,2025-03-01,withdrawn,,",
            "withdrawal_date",
            "withdrawal_date",
            "a withdrawn participant needs a withdrawal_date",
        ),
        (
            "participants.csv",
            "ART-09,ART,service_user,2025-03-01,withdrawn,,2026-01-05",
            "withdrawal_date",
            "future_date",
            "withdrawal date 2026-01-05 is in the future",
        ),
        (
            "participants.csv",
            "ART-09,NOPE,service_user,2025-03-01,active,,",
            "project_code",
            "unknown_reference",
            "project 'NOPE' does not exist",
        ),
        (
            "projects.csv",
            "art,Lower case,community,,external,,active",
            "project_code",
            "code_format",
            "project code 'art' must be 1–16 upper-case letters",
        ),
    ],
)
def test_each_broken_rule_is_named_and_nothing_is_written(loaded, tmp_path, name, row, field, rule, message):
    header = {
        "factor_ratings.csv": RATINGS,
        "interviews.csv": INTERVIEWS,
        "participants.csv": PARTICIPANTS,
        "projects.csv": PROJECTS,
    }[name].splitlines()[0]
    problems = refused(loaded, tmp_path, name, f"{header}\n{row}\n")
    problem = next(p for p in problems if p.rule == rule)
    assert (problem.file, problem.row, problem.field) == (name, 2, field)
    assert message in problem.message


def test_an_interview_after_the_study_window_is_refused(loaded, tmp_path):
    row = "4,ART-01,ART,month_12,2026-07-02,telephone,,,completed"
    before = storage.table_counts(loaded)
    with pytest.raises(ValidationError) as error:
        service.import_files(
            loaded,
            [write(tmp_path / "bad", "interviews.csv", INTERVIEWS.splitlines()[0] + "\n" + row + "\n")],
            today=dt.date(2026, 8, 1),
            actor="test",
        )
    assert [p.rule for p in error.value.problems] == ["after_study"]
    assert "after the study window closed on 2026-06-30" in error.value.problems[0].message
    assert storage.table_counts(loaded) == before


def test_one_bad_row_among_good_ones_stops_the_whole_import(loaded, tmp_path):
    header = INTERVIEWS.splitlines()[0]
    good = "4,ART-01,ART,month_6,2025-08-01,telephone,,30,completed"
    bad = "5,ART-01,ART,month_9,2025-11-01,telephone,,30,finished"
    problems = refused(loaded, tmp_path, "interviews.csv", f"{header}\n{good}\n{bad}\n")
    assert [(p.row, p.field) for p in problems] == [(3, "status")]


def test_duplicates_within_the_file_are_named(loaded, tmp_path):
    header = INTERVIEWS.splitlines()[0]
    rows = (
        "4,ART-01,ART,month_6,2025-08-01,telephone,,,completed\n5,ART-01,ART,month_6,2025-08-02,telephone,,,completed"
    )
    problems = refused(loaded, tmp_path, "interviews.csv", f"{header}\n{rows}\n")
    assert [(p.row, p.rule) for p in problems] == [(3, "duplicate")]


@pytest.mark.parametrize(
    "name, text, encoding, rule, message",
    [
        ("projects.csv", "project_code,name\nÅRT,Kunst\n", "latin-1", "encoding", "not UTF-8"),
        ("projects.csv", "project_code;name;setting\nART;Arts;community\n", "utf-8", "delimiter", "separated by ';'"),
        ("projects.csv", "project_code\tname\nART\tArts\n", "utf-8", "delimiter", "separated by tab"),
        ("projects.csv", "", "utf-8", "empty_file", "the file is empty"),
        (
            "projects.csv",
            "project_code,name\nART2,Arts\n",
            "utf-8",
            "missing_columns",
            "missing column(s): setting, host_organisation, relation_to_statutory, start_date, status",
        ),
        ("people.csv", "a,b\n1,2\n", "utf-8", "unknown_table", "is not named after a table"),
    ],
)
def test_unreadable_files_are_refused_with_a_clear_message(loaded, tmp_path, name, text, encoding, rule, message):
    [problem] = refused(loaded, tmp_path, name, text, encoding)
    assert problem.rule == rule and message in problem.message and problem.file == name


def test_utf8_with_a_byte_order_mark_is_read(loaded, tmp_path):
    text = "\ufeff" + PROJECTS.splitlines()[0] + "\nCAFE,Café crisis,voluntary,Sanctuary,external,,active\n"
    service.import_files(loaded, [write(tmp_path, "projects.csv", text)], today=TODAY, actor="test")
    assert loaded.execute("SELECT name FROM project WHERE project_code = 'CAFE'").fetchone() == ("Café crisis",)


def test_importing_into_a_database_without_a_study_asks_for_one(db, tmp_path):
    with pytest.raises(ValidationError, match="the database holds no study yet"):
        service.import_files(db, [write(tmp_path, "projects.csv", PROJECTS)], today=TODAY, actor="test")
    assert storage.table_counts(db)["projects"] == 0
