"""REDCap round trip: the data dictionary, and a flat export made here the way REDCap makes one, imported back."""

import csv
import io
import re

import pandas as pd
import pytest

from innovation_tracker import storage
from innovation_tracker.app import service
from innovation_tracker.cli import main
from innovation_tracker.domain.errors import ValidationError
from innovation_tracker.formats import redcap
from tests.conftest import DEMO_TODAY, EVALUATOR

STANDARD_COLUMNS = [
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
]  # fmt: skip
# REDCap field -> the tidy column it carries.
PARTICIPANT_FIELDS = {
    "project": "project_code", "role": "role", "enrolment_date": "enrolment_date", "consent_date": "consent_date",
    "participant_status": "status", "withdrawal_date": "withdrawal_date",
}  # fmt: skip
INTERVIEW_FIELDS = {
    "interview_date": "interview_date", "interview_mode": "mode", "interviewer": "interviewer",
    "duration_min": "duration_min", "interview_status": "status", "summary": "summary",
}  # fmt: skip
RATING_FIELDS = {"factor": "factor_code", "rating": "rating", "evidence": "evidence", "shareable": "shareable",
                 "coder": "coder"}  # fmt: skip
REDCAP_SYSTEM = ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"]


@pytest.fixture(scope="module")
def demo(demo_file):
    con = storage.connect(demo_file)
    project = service.redcap_project(con, EVALUATOR)
    tables = {t: storage.read_table(con, EVALUATOR, t) for t in ("participants", "interviews", "factor_ratings")}
    waves = storage.list_waves(con)
    yield project, tables, waves
    con.close()


def by_field(dictionary: pd.DataFrame) -> dict[str, pd.Series]:
    return {row["Variable / Field Name"]: row for _, row in dictionary.iterrows()}


def choices(cell: str) -> dict[str, str]:
    return dict(part.split(", ", 1) for part in cell.split(" | ")) if cell else {}


def test_the_dictionary_has_redcaps_18_columns_and_the_record_id_first(demo):
    dictionary = demo[0]["data_dictionary"]
    assert list(dictionary.columns) == STANDARD_COLUMNS
    assert dictionary.iloc[0]["Variable / Field Name"] == "record_id"
    names = list(dictionary["Variable / Field Name"])
    assert len(names) == len(set(names)) and all(re.fullmatch(r"[a-z][a-z0-9_]{0,25}", n) for n in names)
    assert dictionary["Field Label"].is_unique, "labels name the columns of a labels export"
    assert list(dict.fromkeys(dictionary["Form Name"])) == ["participant", "interview", "factor_rating"]
    assert set(dictionary["Field Type"]) <= {"text", "notes", "dropdown", "yesno"}


def test_factor_rating_fields_follow_the_codebook(demo, demo_file):
    fields = by_field(demo[0]["data_dictionary"])
    con = storage.connect(demo_file)
    factors = storage.list_factors(con)
    con.close()
    assert fields["factor"]["Field Type"] == "dropdown"
    assert choices(fields["factor"]["Choices, Calculations, OR Slider Labels"]) == {
        f.factor_code: f.label for f in factors
    }
    assert fields["rating"]["Choices, Calculations, OR Slider Labels"] == (
        "-2, Strong barrier | -1, Barrier | 1, Facilitator | 2, Strong facilitator"
    )
    assert fields["shareable"]["Field Type"] == "yesno"
    assert fields["evidence"]["Field Type"] == "notes"
    assert {fields[n]["Form Name"] for n in ("factor", "rating", "evidence", "shareable")} == {"factor_rating"}


def test_dates_are_validated_within_the_study_and_withdrawal_is_branched(demo, demo_file):
    con = storage.connect(demo_file)
    study = storage.get_study(con)
    con.close()
    fields = by_field(demo[0]["data_dictionary"])
    for name in ("enrolment_date", "consent_date", "withdrawal_date", "interview_date"):
        assert fields[name]["Text Validation Type OR Show Slider Number"] == "date_ymd"
        assert fields[name]["Text Validation Min"] == study.start_date.isoformat()
        assert fields[name]["Text Validation Max"] == study.end_date.isoformat()
    assert fields["withdrawal_date"]["Branching Logic (Show field only if...)"] == "[participant_status] = 'withdrawn'"
    assert choices(fields["project"]["Choices, Calculations, OR Slider Labels"])["ARTS"] == "Arts on Referral"


def test_events_are_named_from_the_waves_and_mapped_to_instruments(demo):
    project, _, waves = demo
    mapping = project["instrument_event_mapping"]
    assert list(mapping.columns) == ["arm_num", "unique_event_name", "form"]
    events = [f"{w.wave}_arm_1" for w in waves]
    assert events[:2] == ["baseline_arm_1", "month_3_arm_1"]
    assert list(mapping.itertuples(index=False, name=None))[:3] == [
        (1, "baseline_arm_1", "participant"),
        (1, "baseline_arm_1", "interview"),
        (1, "baseline_arm_1", "factor_rating"),
    ]
    assert set(mapping[mapping.form == "factor_rating"].unique_event_name) == set(events)
    assert list(project["events"].unique_event_name) == events
    assert list(project["events"].day_offset) == [w.offset_days for w in waves]
    assert set(project["repeating_instruments"].form_name) == {"factor_rating"}


def test_the_cli_writes_the_dictionary_and_the_mapping_next_to_it(demo_file, tmp_path, capsys):
    out = tmp_path / "redcap" / "dictionary.csv"
    assert main(["redcap-dictionary", "--db", str(demo_file), "--out", str(out)]) == 0
    header = next(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert header == STANDARD_COLUMNS
    mapping = (tmp_path / "redcap" / "dictionary_instrument_event_mapping.csv").read_text(encoding="utf-8")
    assert mapping.splitlines()[:2] == ["arm_num,unique_event_name,form", "1,baseline_arm_1,participant"]
    assert (tmp_path / "redcap" / "dictionary_events.csv").is_file()
    assert "dictionary_instrument_event_mapping.csv" in capsys.readouterr().out


def flat_export(project: dict, tables: dict, waves, *, labels=False, dag=False, label_headers=False) -> str:
    """What REDCap's "Export data" gives for this project: a row per record and event with data, then a row per
    repeating instance; blank cells for other instruments' fields; raw codes, or labels when asked."""
    dictionary = project["data_dictionary"]
    fields = by_field(dictionary)
    forms = list(dict.fromkeys(dictionary["Form Name"]))
    columns = REDCAP_SYSTEM + (["redcap_data_access_group"] if dag else [])
    for form in forms:
        columns += [n for n, f in fields.items() if f["Form Name"] == form and n != "record_id"]
        columns.append(f"{form}_complete")
    columns.insert(0, columns.pop(0))

    def value(name, raw):
        if raw is None or (not isinstance(raw, str) and pd.isna(raw)) or raw == "":
            return ""
        raw = str(raw)
        if name == "shareable":
            raw = "1" if raw == "True" or raw == "true" else "0"
            return ("Yes" if raw == "1" else "No") if labels else raw
        options = choices(fields[name]["Choices, Calculations, OR Slider Labels"]) if name in fields else {}
        return options.get(raw, raw) if labels and options else raw

    def complete(filled):
        return ("Complete" if labels else "2") if filled else ""

    def event(wave):
        return f"{wave} (Arm 1: Arm 1)" if labels else f"{wave}_arm_1"

    interviews = tables["interviews"].set_index(["participant_code", "wave"])
    ratings = tables["factor_ratings"]
    rows = []
    for person in tables["participants"].sort_values("participant_code").itertuples():
        for n, wave in enumerate(waves):
            key = (person.participant_code, wave.wave)
            interview = interviews.loc[key] if key in interviews.index else None
            if n > 0 and interview is None:
                continue
            row = dict.fromkeys(columns, "")
            row.update(record_id=person.participant_code, redcap_event_name=event(wave.wave))
            if dag:
                row["redcap_data_access_group"] = person.project_code.lower()
            if n == 0:
                for name, column in PARTICIPANT_FIELDS.items():
                    row[name] = value(name, getattr(person, column))
                row["participant_complete"] = complete(True)
            if interview is not None:
                for name, column in INTERVIEW_FIELDS.items():
                    row[name] = value(name, interview[column])
                row["interview_complete"] = complete(True)
            rows.append(row)
            if interview is None:
                continue
            mine = ratings[ratings.interview_id == interview["interview_id"]]
            for instance, rating in enumerate(mine.itertuples(), start=1):
                repeat = dict.fromkeys(columns, "")
                repeat.update(record_id=person.participant_code, redcap_event_name=event(wave.wave))
                repeat["redcap_repeat_instrument"] = "Factor rating" if labels else "factor_rating"
                repeat["redcap_repeat_instance"] = str(instance)
                if dag:
                    repeat["redcap_data_access_group"] = person.project_code.lower()
                for name, column in RATING_FIELDS.items():
                    repeat[name] = value(name, getattr(rating, column))
                repeat["factor_rating_complete"] = complete(True)
                rows.append(repeat)
    frame = pd.DataFrame(rows, columns=columns)
    if label_headers:
        frame.columns = [_label_header(c, fields) for c in columns]
    return frame.to_csv(index=False, lineterminator="\n")


def _label_header(column: str, fields: dict) -> str:
    system = {"redcap_event_name": "Event Name", "redcap_repeat_instrument": "Repeat Instrument",
              "redcap_repeat_instance": "Repeat Instance", "redcap_data_access_group": "Data Access Group"}  # fmt: skip
    if column in system:
        return system[column]
    if column.endswith("_complete"):
        return "Complete?"
    return fields[column]["Field Label"]


@pytest.fixture
def target(demo_file, tmp_path):
    """A new database holding the demo's study, schedule, codebook, indicators and projects, and nothing else."""
    source = storage.connect(demo_file)
    paths = service.export_study(source, EVALUATOR, tmp_path / "setup")
    source.close()
    wanted = {"study.csv", "waves.csv", "codebook.csv", "indicators.csv", "projects.csv"}
    con = storage.connect(tmp_path / "target.duckdb")
    service.import_files(con, [p for p in paths if p.name in wanted], today=DEMO_TODAY, actor="test")
    yield con
    con.close()


def comparable(tables: dict) -> dict[str, pd.DataFrame]:
    """Interview ids are assigned on import, so compare on the natural keys instead."""
    interviews = tables["interviews"].drop(columns="interview_id")
    ratings = tables["factor_ratings"].drop(columns="interview_id")
    return {
        "participants": tables["participants"].sort_values("participant_code").reset_index(drop=True),
        "interviews": interviews.sort_values(["participant_code", "wave"]).reset_index(drop=True),
        "factor_ratings": ratings.sort_values(["participant_code", "wave", "factor_code"]).reset_index(drop=True),
    }


@pytest.mark.parametrize(
    "variant",
    [dict(), dict(labels=True), dict(dag=True), dict(labels=True, dag=True, label_headers=True)],
    ids=["raw", "labels", "data-access-group", "labels-with-label-headers"],
)
def test_a_flat_export_imports_back_exactly(demo, target, tmp_path, variant):
    project, tables, waves = demo
    path = tmp_path / "InnovationTracker_DATA_2026-03-02_1200.csv"
    path.write_text(flat_export(project, tables, waves, **variant), encoding="utf-8")
    counts = service.import_files(target, [path], today=DEMO_TODAY, actor="test")
    assert counts == {name: len(frame) for name, frame in tables.items()}
    imported = {t: storage.read_table(target, EVALUATOR, t) for t in tables}
    expected, got = comparable(tables), comparable(imported)
    for table in tables:
        pd.testing.assert_frame_equal(got[table], expected[table], check_dtype=False, obj=table)
    source = target.execute(
        "SELECT entity_key FROM audit_entry WHERE action = 'import' ORDER BY audit_id DESC"
    ).fetchone()
    assert source == (path.name,)


def test_interview_ids_continue_after_the_studys_highest(demo, target, tmp_path):
    project, tables, waves = demo
    first = tables["participants"].participant_code.iloc[0]
    one = {
        "participants": tables["participants"][tables["participants"].participant_code == first],
        "interviews": tables["interviews"][tables["interviews"].participant_code == first].iloc[:1],
        "factor_ratings": tables["factor_ratings"].iloc[0:0],
    }
    path = tmp_path / "redcap.csv"
    path.write_text(flat_export(project, one, waves), encoding="utf-8")
    service.import_files(target, [path], today=DEMO_TODAY, actor="test")
    assert target.execute("SELECT min(interview_id), max(interview_id) FROM interview").fetchone() == (1, 1)
    second = tables["participants"].participant_code.iloc[1]
    two = {
        "participants": tables["participants"][tables["participants"].participant_code == second],
        "interviews": tables["interviews"][tables["interviews"].participant_code == second],
        "factor_ratings": tables["factor_ratings"].iloc[0:0],
    }
    path.write_text(flat_export(project, two, waves), encoding="utf-8")
    service.import_files(target, [path], today=DEMO_TODAY, actor="test")
    ids = [r[0] for r in target.execute("SELECT interview_id FROM interview ORDER BY 1").fetchall()]
    assert ids == list(range(1, 1 + len(ids))) and len(ids) == 1 + len(two["interviews"])


def refused(con, tmp_path, text):
    before = storage.table_counts(con)
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as error:
        service.import_files(con, [path], today=DEMO_TODAY, actor="test")
    assert storage.table_counts(con) == before
    return error.value.problems


def edit(text: str, record: str, column: str, new: str, instance: str = "") -> tuple[str, int]:
    """Change one cell of a REDCap CSV; also returns the file row (header = 1) that was changed."""
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    match = (frame.record_id == record) & (frame.redcap_repeat_instance == instance)
    position = int(match.to_numpy().nonzero()[0][0])
    frame.loc[position, column] = new
    return frame.to_csv(index=False, lineterminator="\n"), position + 2


@pytest.mark.parametrize(
    "record, instance, column, new, field, rule, message",
    [
        ("ARTS-02", "1", "factor", "no_such_factor", "factor", "allowed_values",
         "'no_such_factor' is not a choice of factor; the choices are: ctx_"),
        ("ARTS-02", "", "interview_date", "2027-01-01", "interview_date", "future_date", "is in the future"),
        ("ARTS-02", "", "redcap_event_name", "month_99_arm_1", "redcap_event_name", "unknown_event", "not one of"),
        ("ARTS-02", "", "project", "NOPE", "project", "allowed_values", "'NOPE' is not a choice of project"),
        ("ARTS-02", "", "participant_complete", "7", "participant_complete", "allowed_values", "form status"),
        ("ARTS-02", "1", "interview_mode", "telephone", "interview_mode", "sparse_row", "belongs to the interview"),
        ("ARTS-02", "", "redcap_repeat_instrument", "interview", "redcap_repeat_instrument", "repeat_instrument",
         "only factor_rating repeats"),
    ],
)  # fmt: skip
def test_a_bad_cell_is_named_by_the_exports_own_row_and_field(
    demo, target, tmp_path, record, instance, column, new, field, rule, message
):
    project, tables, waves = demo
    text, row = edit(flat_export(project, tables, waves), record, column, new, instance)
    problems = refused(target, tmp_path, text)
    problem = next(p for p in problems if p.rule == rule)
    assert (problem.file, problem.row, problem.field) == ("export.csv", row, field)
    assert message in problem.message


def test_a_rating_against_the_factors_kind_is_refused_with_the_tidy_message(demo, target, tmp_path):
    project, tables, waves = demo
    ratings = tables["factor_ratings"]
    barrier = ratings[ratings.kind == "barrier"].iloc[0]
    mine = ratings[ratings.interview_id == barrier.interview_id].reset_index(drop=True)
    instance = str(int(mine.index[mine.factor_code == barrier.factor_code][0]) + 1)
    text, row = edit(flat_export(project, tables, waves), barrier.participant_code, "rating", "2", instance)
    [problem] = refused(target, tmp_path, text)
    assert (problem.rule, problem.row, problem.field) == ("rating_sign", row, "rating")
    assert "the factor is a barrier, so its rating must be negative" in problem.message


def test_ratings_without_their_interview_are_refused(demo, target, tmp_path):
    project, tables, waves = demo
    text = flat_export(project, tables, waves)
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    month_3 = (frame.record_id == "ARTS-02") & (frame.redcap_event_name == "month_3_arm_1")
    parent = int(month_3[(frame.redcap_repeat_instrument == "")].idxmax())
    frame = frame.drop(index=parent)
    problems = refused(target, tmp_path, frame.to_csv(index=False, lineterminator="\n"))
    assert {p.rule for p in problems} == {"no_interview"}
    assert "enter the interview" in problems[0].message and problems[0].row == parent + 2


def test_a_missing_redcap_column_is_named(target, tmp_path):
    [problem] = refused(target, tmp_path, "record_id,redcap_event_name,interview_date\nX,baseline_arm_1,2025-06-01\n")
    assert problem.rule == "missing_columns" and "redcap_repeat_instrument, redcap_repeat_instance" in problem.message


@pytest.mark.parametrize(
    "columns, expected",
    [
        (["record_id", "redcap_event_name", "project"], True),
        (["Participant code", "Event Name", "Repeat Instrument", "Repeat Instance"], True),
        (["interview_id", "participant_code", "wave"], False),
    ],
)
def test_exports_are_told_apart_from_tidy_files_by_their_columns(columns, expected):
    assert redcap.is_export(columns) is expected


def test_a_later_export_adds_interviews_to_participants_already_in_the_study(demo, target, tmp_path):
    project, tables, waves = demo
    person = tables["participants"].iloc[[0]]
    mine = tables["interviews"][tables["interviews"].participant_code == person.participant_code.iloc[0]]
    path = tmp_path / "export.csv"
    first = {"participants": person, "interviews": mine.iloc[:1], "factor_ratings": tables["factor_ratings"].iloc[0:0]}
    path.write_text(flat_export(project, first, waves), encoding="utf-8")
    service.import_files(target, [path], today=DEMO_TODAY, actor="test")
    later = {**first, "interviews": mine.iloc[1:2]}
    frame = pd.read_csv(io.StringIO(flat_export(project, later, waves)), dtype=str, keep_default_na=False)
    assert frame.participant_complete.iloc[0] == "2", "the first event's row carries the participant form"
    without_participant = frame.iloc[1:]
    path.write_text(without_participant.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
    assert service.import_files(target, [path], today=DEMO_TODAY, actor="test") == {"interviews": 1}
    waves_done = target.execute("SELECT wave FROM interview ORDER BY interview_id").fetchall()
    assert [w for (w,) in waves_done] == list(mine.wave.iloc[:2])
