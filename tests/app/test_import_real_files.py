"""Real files as people save them, and the inputs that used to end in a traceback: every one is a plan (exit 0)
or a list of problems (exit 2) naming file, row and column; duplicates name both rows."""

from __future__ import annotations

import pandas as pd
import pytest

from innovation_tracker import storage
from innovation_tracker.app import service
from innovation_tracker.cli import main
from innovation_tracker.domain.errors import ValidationError
from innovation_tracker.domain.model import SYSTEM_VIEWER
from innovation_tracker.formats import tidy
from tests.app.test_import import INTERVIEWS, PARTICIPANTS, PROJECTS, RATINGS, TODAY
from tests.app.test_redcap import flat_export
from tests.conftest import DEMO_TODAY, EVALUATOR


def put(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def increment(folder):
    return [
        put(folder, "projects.csv", PROJECTS),
        put(folder, "participants.csv", PARTICIPANTS),
        put(folder, "interviews.csv", INTERVIEWS),
        put(folder, "factor_ratings.csv", RATINGS),
    ]


def cli(db, *paths, today=TODAY, extra=()):
    return main(["import", "--db", str(db), *extra, *map(str, paths), "--today", today.isoformat()])


def problems_of(study_db, paths, today=TODAY):
    before = storage.table_counts(study_db)
    with pytest.raises(ValidationError) as error:
        service.import_files(study_db, paths, today=today, actor="test")
    assert storage.table_counts(study_db) == before
    return error.value.problems


def test_the_same_increment_imported_twice_is_unchanged_the_second_time(study_db, tmp_path):
    paths = increment(tmp_path / "a")
    assert service.import_files(study_db, paths, today=TODAY, actor="test")["factor_ratings"] == 2
    plan = service.plan_import(study_db, service.read_paths(paths), today=TODAY)
    assert {t: (len(p.new), p.unchanged, len(p.changed)) for t, p in plan.tables.items()} == {
        "projects": (0, 1, 0),
        "participants": (0, 2, 0),
        "interviews": (0, 3, 0),
        "factor_ratings": (0, 2, 0),
    }
    assert service.apply_import(study_db, plan, actor="test") == {}


def test_a_participant_given_twice_with_ratings_in_the_same_import_is_two_rows_named(study_db, tmp_path):
    twice = PARTICIPANTS + "ART-01,ART,service_user,2025-02-01,active,2025-02-01,\n"
    paths = increment(tmp_path / "a")
    paths[1] = put(tmp_path / "b", "participants.csv", twice)
    problems = problems_of(study_db, paths)
    [problem] = [p for p in problems if p.rule == "duplicate"]
    assert (problem.file, problem.row, problem.field) == ("participants.csv", 4, "participant_code")
    assert "participant code ART-01 is given twice: here and on row 2 of participants.csv" in problem.message


def test_an_interview_given_twice_with_ratings_in_the_same_import_is_two_rows_named(study_db, tmp_path):
    twice = INTERVIEWS + "1,ART-01,ART,baseline,2025-02-05,face_to_face,R. Patel,50,completed\n"
    paths = increment(tmp_path / "a")
    paths[2] = put(tmp_path / "b", "interviews.csv", twice)
    problems = problems_of(study_db, paths)
    rows = {(p.row, p.field) for p in problems if p.rule == "duplicate"}
    assert rows == {(5, "interview_id"), (5, "wave")}
    assert all("here and on row 2 of interviews.csv" in p.message for p in problems if p.rule == "duplicate")


def test_one_table_in_two_files_is_one_table_and_a_key_in_both_names_both_files(study_db, tmp_path):
    first, second = PARTICIPANTS.splitlines(keepends=True)[:2], PARTICIPANTS.splitlines(keepends=True)[::2]
    a = put(tmp_path / "a", "participants.csv", "".join(first))
    b = put(tmp_path / "b", "participants.csv", "".join(second))
    projects = put(tmp_path, "projects.csv", PROJECTS)
    plan = service.plan_import(study_db, service.read_paths([projects, a, b]), today=TODAY)
    assert len(plan.tables["participants"].new) == 2
    again = put(tmp_path / "c", "participants.csv", "".join(first))
    problems = problems_of(study_db, [projects, a, again])
    [problem] = problems
    assert (problem.file, problem.row) == (str(again), 2)
    assert f"is given twice: here and on row 2 of {a}" in problem.message


def test_a_key_the_study_holds_under_another_interview_names_the_stored_one(study_db, tmp_path):
    service.import_files(study_db, increment(tmp_path / "a"), today=TODAY, actor="test")
    other = INTERVIEWS.splitlines()[0] + "\n7,ART-01,ART,baseline,2025-02-05,face_to_face,R. Patel,50,completed\n"
    [problem] = problems_of(study_db, [put(tmp_path / "b", "interviews.csv", other)])
    assert (problem.row, problem.field, problem.rule) == (2, "interview_id", "duplicate")
    assert "ART-01 already has a baseline interview in the study: interview 1, not 7" in problem.message


def test_excels_trailing_separator_rows_and_blank_lines_are_not_rows(study_db, tmp_path):
    text = PARTICIPANTS.replace("\n", "\r\n") + ",,,,,,\r\n,,,,,,\r\n\r\n\r\n"
    paths = [put(tmp_path, "projects.csv", PROJECTS), put(tmp_path, "participants.csv", text)]
    assert service.import_files(study_db, paths, today=TODAY, actor="test") == {"projects": 1, "participants": 2}


def test_header_cells_are_trimmed_and_an_unknown_column_is_a_notice(study_db, tmp_path, capsys):
    header, *rows = PROJECTS.splitlines()
    spaced = ", ".join(f" {c} " for c in header.split(",")) + ",Notes from Sam"
    text = "\n".join([spaced, *(r + ",call back" for r in rows)]) + "\n"
    path = put(tmp_path, "projects.csv", text)
    plan = service.plan_import(study_db, service.read_paths([path]), today=TODAY)
    assert plan.notices == ["projects.csv: ignored column: Notes from Sam"]
    assert len(plan.tables["projects"].new) == 1
    db = tmp_path / "db.duckdb"
    storage.connect(db).close()
    assert main(["init", "--db", str(tmp_path / "i.duckdb"), "--start", "2025-01-01", "--end", "2026-06-30"]) == 0
    capsys.readouterr()
    assert cli(tmp_path / "i.duckdb", path) == 0
    assert "notice: projects.csv: ignored column: Notes from Sam" in capsys.readouterr().out


def test_text_starting_with_an_apostrophe_and_a_formula_sign_survives_export_and_import(study_db, tmp_path):
    texts = ["=SUM(A1:A3)", "'=kept as typed", "''+two apostrophes", "-minus", "@home", "'plain quote", "fine"]
    header = PROJECTS.splitlines()[0]
    # Written as the escaping rule has it (an export would write them so); stored exactly as the texts above.
    rows = [f"P{n},{tidy.neutralise(t)},community,,external,,active" for n, t in enumerate(texts)]
    path = put(tmp_path, "projects.csv", "\n".join([header, *rows]) + "\n")
    service.import_files(study_db, [path], today=TODAY, actor="test")
    assert [n for (n,) in study_db.execute("SELECT name FROM project ORDER BY project_code").fetchall()] == texts
    for fmt in ("csv", "parquet", "xlsx"):
        out = tmp_path / f"out-{fmt}"
        paths = service.export_study(study_db, SYSTEM_VIEWER, out, fmt)
        other = storage.connect(tmp_path / f"copy-{fmt}.duckdb")
        wanted = [p for p in paths if p.stem in ("study", "waves", "codebook", "indicators", "projects")]
        service.import_files(other, wanted if fmt != "xlsx" else paths, today=TODAY, actor="test")
        names = other.execute("SELECT name FROM project ORDER BY project_code").fetchall()
        assert [n for (n,) in names] == texts, fmt
        other.close()
    written = (tmp_path / "out-csv" / "projects.csv").read_text().splitlines()
    assert "P0,'=SUM(A1:A3)" in written[1] and "P1,''=kept as typed" in written[2] and "P6,fine" in written[7]


@pytest.fixture
def redcap_setup(demo_file, tmp_path):
    source = storage.connect(demo_file)
    project = service.redcap_project(source, EVALUATOR)
    tables = {t: storage.read_table(source, EVALUATOR, t) for t in ("participants", "interviews", "factor_ratings")}
    waves = storage.list_waves(source)
    paths = service.export_study(source, EVALUATOR, tmp_path / "setup")
    source.close()
    wanted = {"study.csv", "waves.csv", "codebook.csv", "indicators.csv", "projects.csv"}
    con = storage.connect(tmp_path / "target.duckdb")
    service.import_files(con, [p for p in paths if p.name in wanted], today=DEMO_TODAY, actor="test")
    yield con, project, tables, waves
    con.close()


def test_redcap_fields_and_instruments_of_another_study_are_a_notice_and_never_stored(redcap_setup, tmp_path):
    con, project, tables, waves = redcap_setup
    frame = pd.read_csv(pd.io.common.StringIO(flat_export(project, tables, waves)), dtype=str, keep_default_na=False)
    frame.insert(5, "phone_number", "")
    frame["contact_complete"] = ""
    frame.loc[0, "phone_number"] = "07700 900123"
    contact = frame.iloc[[0]].copy()
    contact.loc[:, [c for c in frame.columns if c not in ("record_id", "redcap_event_name")]] = ""
    contact[["redcap_repeat_instrument", "redcap_repeat_instance", "phone_number"]] = [
        "contact_log",
        "1",
        "07700 900456",
    ]
    frame = pd.concat([frame, contact], ignore_index=True)
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False)
    plan = service.plan_import(con, service.read_paths([path]), today=DEMO_TODAY)
    assert plan.notices == [
        "export.csv: ignored field(s) not in this study, not stored: phone_number, contact_complete",
        "export.csv: ignored 1 row(s) of repeating instrument(s) not in this study: contact_log",
    ]
    service.apply_import(con, plan, actor="test")
    assert len(tables["factor_ratings"]) == storage.table_counts(con)["factor_ratings"]
    out = service.export_study(con, SYSTEM_VIEWER, tmp_path / "out")
    assert not any("07700" in p.read_text() for p in out)
    assert (
        con.execute("SELECT count(*) FROM audit_entry WHERE CAST(after AS VARCHAR) LIKE '%07700%'").fetchone()[0] == 0
    )


def test_an_unknown_choice_label_lists_the_valid_labels(redcap_setup, tmp_path):
    con, project, tables, waves = redcap_setup
    text = flat_export(project, tables, waves, labels=True)
    frame = pd.read_csv(pd.io.common.StringIO(text), dtype=str, keep_default_na=False)
    row = int((frame.role != "").to_numpy().nonzero()[0][0])
    frame.loc[row, "role"] = "Nurse"
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False)
    [problem] = problems_of(con, [path], today=DEMO_TODAY)
    assert (problem.file, problem.row, problem.field, problem.rule) == ("export.csv", row + 2, "role", "allowed_values")
    assert "'Nurse' is not a choice of role; the choices are: service_user (Service user); caregiver (Caregiver)" in (
        problem.message
    )


def test_a_blank_record_id_is_reported_against_the_record_id_column(redcap_setup, tmp_path):
    con, project, tables, waves = redcap_setup
    frame = pd.read_csv(pd.io.common.StringIO(flat_export(project, tables, waves)), dtype=str, keep_default_na=False)
    frame.loc[3, "record_id"] = ""
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False)
    problems = problems_of(con, [path], today=DEMO_TODAY)
    assert problems[0].field == "record_id" and problems[0].row == 5
    assert "the record id is blank" in problems[0].message


def test_a_redcap_export_giving_a_row_twice_names_both_rows_for_each_form(redcap_setup, tmp_path):
    """Last month's rows repeated inside one export (a copy-paste, two exports joined): the participant form, an
    interview form and a factor rating instance each filled in twice are problems naming both export rows; the
    importer used to end in a KeyError for the first two."""
    con, project, tables, waves = redcap_setup
    frame = pd.read_csv(pd.io.common.StringIO(flat_export(project, tables, waves)), dtype=str, keep_default_na=False)
    first = frame.record_id == frame.record_id.iloc[0]
    participant = int(frame.index[first & (frame.role != "")][0])
    interview = int(
        frame.index[first & (frame.interview_date != "") & (frame.redcap_event_name != "baseline_arm_1")][0]
    )
    rating = int(frame.index[first & (frame.redcap_repeat_instrument == "factor_rating")][0])
    frame = pd.concat([frame, frame.iloc[[participant, interview, rating]]], ignore_index=True)
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False)
    problems = problems_of(con, [path], today=DEMO_TODAY)
    end = len(frame) + 1  # the export's last row number (row 1 is the header)
    found = {(p.row, p.field, p.rule): p.message for p in problems}
    assert found == {
        (
            end - 2,
            "record_id",
            "duplicate",
        ): f"the participant form of this record is filled in on row {participant + 2} too",
        (end - 2, "redcap_event_name", "duplicate"): (  # the baseline row holds the baseline interview as well
            f"this record's interview form for this event is filled in on row {participant + 2} too"
        ),
        (end - 1, "redcap_event_name", "duplicate"): (
            f"this record's interview form for this event is filled in on row {interview + 2} too"
        ),
        (end, "redcap_repeat_instance", "duplicate"): (
            f"this record, event and repeat instance are on row {rating + 2} too"
        ),
    }
    assert {p.file for p in problems} == {"export.csv"}


def test_a_redcap_export_names_rows_stored_with_other_values_among_its_other_problems(redcap_setup, tmp_path):
    """REDCap's conventions (an unknown event) are checked with the study's rules and the stored rows: a participant
    stored with other values is named in the same refusal, not after the event is fixed."""
    con, project, tables, waves = redcap_setup
    path = tmp_path / "export.csv"
    path.write_text(flat_export(project, tables, waves), encoding="utf-8")
    service.import_files(con, [path], today=DEMO_TODAY, actor="test")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    person = int((frame.role != "").to_numpy().nonzero()[0][0])
    stored_role = frame.loc[person, "role"]
    frame.loc[person, "role"] = "caregiver" if stored_role != "caregiver" else "manager"
    other = int((frame.record_id != frame.record_id.iloc[person]).to_numpy().nonzero()[0][0])
    frame.loc[other, "redcap_event_name"] = "month_99_arm_1"
    frame.to_csv(path, index=False)
    problems = problems_of(con, [path], today=DEMO_TODAY)
    found = {(p.rule, p.file, p.row, p.field): p for p in problems}
    assert ("unknown_event", "export.csv", other + 2, "redcap_event_name") in found
    changed = found[("changed", "export.csv", person + 2, "record_id")]
    assert changed.value == frame.loc[person, "record_id"]
    assert f"role '{stored_role}' → '{frame.loc[person, 'role']}'" in changed.message
