"""Imports are all or nothing: every problem is named (file, row, column, rule) and nothing is written."""

import datetime as dt

import pandas as pd
import pytest

from innovation_tracker import storage
from innovation_tracker.app import service
from innovation_tracker.domain.errors import ValidationError
from innovation_tracker.domain.model import SYSTEM_VIEWER
from tests.conftest import DEMO_TODAY

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


# One refusal names every problem at once, rows stored with other values among them, whatever else is wrong in the
# same files: the user fixes the files in one go. The study is the demo's with project WEB's people, interviews and
# ratings not stored yet; an increment brings them.
INCREMENT = ("projects", "participants", "interviews", "factor_ratings")


@pytest.fixture(scope="module")
def demo_export(demo_file, tmp_path_factory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("demo_export")
    con = storage.connect(demo_file)
    service.export_study(con, SYSTEM_VIEWER, out)
    con.close()
    return {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in out.glob("*.csv") if p.stem != "wide"}


def webless(tables: dict[str, pd.DataFrame], web: bool) -> dict[str, pd.DataFrame]:
    """WEB's people, interviews and ratings only (`web`), or everything but them."""
    out = {}
    for table, frame in tables.items():
        if table in INCREMENT[1:]:
            frame = frame[(frame.project_code == "WEB") == web]
        out[table] = frame.reset_index(drop=True)
    return out


def csv_files(tables: dict[str, pd.DataFrame], folder) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for table, frame in tables.items():
        paths.append(folder / f"{table}.csv")
        frame.to_csv(paths[-1], index=False, lineterminator="\n")
    return paths


@pytest.fixture
def without_web(database, demo_export, tmp_path):
    con = storage.connect(database)
    service.import_files(con, csv_files(webless(demo_export, web=False), tmp_path / "base"), today=DEMO_TODAY,
                         actor="test")  # fmt: skip
    yield con
    con.close()


def refusal_of(con, paths) -> list:
    before = {**storage.table_counts(con), "audit": storage.data_version(con)}
    with pytest.raises(ValidationError) as error:
        service.import_files(con, paths, today=DEMO_TODAY, actor="test")
    assert {**storage.table_counts(con), "audit": storage.data_version(con)} == before, "nothing is written"
    return error.value.problems


def test_a_row_stored_with_other_values_is_named_among_the_other_problems_of_a_four_file_increment(
    without_web, demo_export, tmp_path
):
    """WEB-01 renamed ARTS-01 in participants.csv: the interviews of WEB-01 now name nobody, and ARTS-01 is a stored
    participant with other values. Both are named; participants.csv alone named the second, the four files only
    the first (the checks stopped the import before its rows were compared with the stored ones)."""
    increment = webless(demo_export, web=True)
    people = increment["participants"].copy()
    people.loc[people.participant_code == "WEB-01", "participant_code"] = "ARTS-01"
    increment["participants"] = people
    stored = without_web.execute(
        "SELECT project_code, enrolment_date FROM participant WHERE participant_code = 'ARTS-01'"
    ).fetchone()
    given = people[people.participant_code == "ARTS-01"].iloc[0]
    problems = refusal_of(without_web, csv_files({t: increment[t] for t in INCREMENT}, tmp_path / "increment"))

    [changed] = [p for p in problems if p.rule == "changed"]
    row = 2 + int(people.index[people.participant_code == "ARTS-01"][0])
    assert (changed.file, changed.row, changed.field, changed.value) == ("participants.csv", row, "participant_code",
                                                                         "ARTS-01")  # fmt: skip
    assert f"project_code '{stored[0]}' → '{given.project_code}'" in changed.message
    assert f"enrolment_date '{pd.Timestamp(stored[1]).date()}' → '{given.enrolment_date}'" in changed.message
    missing = [p for p in problems if p.rule == "unknown_reference"]
    assert missing and {(p.file, p.field, p.value) for p in missing} == {("interviews.csv", "participant_code",
                                                                          "WEB-01")}  # fmt: skip
    assert problems.index(changed) == 0, "file by file, in load order: participants before interviews"


def test_every_kind_of_problem_in_every_file_is_named_at_once(without_web, demo_export, tmp_path):
    tables = webless(demo_export, web=True)
    projects = demo_export["projects"].copy()
    beat = int(projects.index[projects.project_code == "BEAT"][0])
    projects.loc[beat, "setting"] = "hospital"  # a stored project, wrong only where it breaks a rule

    people = pd.concat([tables["participants"], demo_export["participants"].query("participant_code == 'ARTS-01'")],
                       ignore_index=True)  # fmt: skip
    arts = len(people) - 1
    stored_role = people.loc[arts, "role"]
    people.loc[arts, "role"] = "caregiver" if stored_role != "caregiver" else "manager"

    interviews = tables["interviews"].copy()
    interviews.loc[0, "interview_date"] = (DEMO_TODAY + dt.timedelta(days=1)).isoformat()
    interviews.loc[1, "participant_code"] = "NOBODY"

    ratings = demo_export["factor_ratings"].query("project_code == 'ARTS'").head(2).reset_index(drop=True)
    stored_rating = int(ratings.loc[0, "rating"])
    ratings.loc[0, "rating"] = str({2: 1, 1: 2, -1: -2, -2: -1}[stored_rating])  # the same sign, another strength
    ratings.loc[1, "rating"] = "300"  # would not fit the stored column: refused, and compared with nothing

    paths = csv_files({"projects": projects, "participants": people, "interviews": interviews,
                       "factor_ratings": ratings}, tmp_path / "files")  # fmt: skip
    sustainability = demo_export["sustainability"].drop(columns="value")
    paths += csv_files({"sustainability": sustainability}, tmp_path / "files")
    paths.append(tmp_path / "files" / "milestones.csv")
    paths[-1].write_bytes("project_code,milestone_date,kind,title,notes\nARTS,2025-06-01,launch,Café,\n"
                          .encode("latin-1"))  # fmt: skip

    problems = refusal_of(without_web, paths)
    found = {(p.rule, p.file, p.row, p.field) for p in problems}
    expected = {
        ("encoding", "milestones.csv", 2, None),
        ("allowed_values", "projects.csv", beat + 2, "setting"),
        ("changed", "participants.csv", arts + 2, "participant_code"),
        ("future_date", "interviews.csv", 2, "interview_date"),
        ("unknown_reference", "interviews.csv", 3, "participant_code"),
        ("changed", "factor_ratings.csv", 2, "factor_code"),
        ("rating_range", "factor_ratings.csv", 3, "rating"),
        ("missing_columns", "sustainability.csv", 1, None),
    }
    assert expected <= found, expected - found
    changes = {p.row: p.message for p in problems if p.rule == "changed"}
    assert set(changes) == {arts + 2, 2}, "BEAT and the rating of 300 differ only where they break a rule"
    assert f"role '{stored_role}' → '{people.loc[arts, 'role']}'" in changes[arts + 2]
    assert f"rating '{stored_rating}' → '{ratings.loc[0, 'rating']}'" in changes[2]
    files = list(dict.fromkeys(p.file for p in problems))
    assert files == ["milestones.csv", "projects.csv", "participants.csv", "interviews.csv", "factor_ratings.csv",
                     "sustainability.csv"]  # fmt: skip


def test_a_file_that_cannot_be_checked_leaves_the_others_checked_without_naming_its_rows_missing(loaded, tmp_path):
    """participants.csv lacks a column and projects.csv is not UTF-8: both are named, the other files are still
    checked, and what refers to the rows those two would have given is not reported as missing."""
    people = "participant_code,project_code,enrolment_date,status\nNEW-01,NEW,2025-03-01,active\n"
    interviews = INTERVIEWS.splitlines()[0] + "\n4,NEW-01,NEW,baseline,2025-03-02,carrier pigeon,,,completed\n"
    paths = [
        write(tmp_path / "bad", "projects.csv", PROJECTS.splitlines()[0] + "\nNEW,Café,nhs,,internal,,active\n",
              "latin-1"),
        write(tmp_path / "bad", "participants.csv", people),
        write(tmp_path / "bad", "interviews.csv", interviews),
    ]  # fmt: skip
    before = storage.table_counts(loaded)
    with pytest.raises(ValidationError) as error:
        service.import_files(loaded, paths, today=TODAY, actor="test")
    assert [(p.rule, p.file, p.row, p.field) for p in error.value.problems] == [
        ("encoding", "projects.csv", 2, None),
        ("missing_columns", "participants.csv", 1, None),
        ("allowed_values", "interviews.csv", 2, "mode"),
    ]
    assert storage.table_counts(loaded) == before
