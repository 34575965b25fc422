"""Every kind of bad file is refused whole, with file, row, column, value and rule, by the service and by the CLI,
and the database is left exactly as it was."""

import datetime as dt
import io
import subprocess
import sys

import pandas as pd
import pytest

from innovation_tracker import storage
from innovation_tracker.app import service
from innovation_tracker.cli import main
from innovation_tracker.domain.errors import ValidationError
from innovation_tracker.domain.model import Study
from tests.app.test_import import INTERVIEWS, PARTICIPANTS, PROJECTS, RATINGS
from tests.conftest import EVALUATOR

TODAY = dt.date(2026, 8, 1)  # after the study closed, so "after the study window" is not also "in the future"
HEADERS = {name: text.splitlines()[0] for name, text in
           (("projects", PROJECTS), ("participants", PARTICIPANTS), ("interviews", INTERVIEWS),
            ("factor_ratings", RATINGS))}  # fmt: skip


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A study (2025-01-01 to 2026-06-30) with one project, two participants, three interviews, two ratings."""
    folder = tmp_path_factory.mktemp("base")
    path = folder / "base.duckdb"
    con = storage.connect(path)
    service.init_study(con, Study("Test study", dt.date(2025, 1, 1), dt.date(2026, 6, 30), "Test funder"))
    files = []
    for name, text in (("projects", PROJECTS), ("participants", PARTICIPANTS), ("interviews", INTERVIEWS),
                       ("factor_ratings", RATINGS)):  # fmt: skip
        files.append(folder / f"{name}.csv")
        files[-1].write_text(text, encoding="utf-8")
    service.import_files(con, files, today=dt.date(2025, 12, 1), actor="test")
    con.close()
    return path


@pytest.fixture
def db_path(base, tmp_path):
    path = tmp_path / "study.duckdb"
    path.write_bytes(base.read_bytes())
    return path


def rows(table: str, *lines: str) -> bytes:
    return (HEADERS[table] + "\n" + "\n".join(lines) + "\n").encode("utf-8")


def workbook(sheets: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for sheet, text in sheets.items():
            pd.read_csv(io.StringIO(text), dtype=str).to_excel(writer, sheet_name=sheet, index=False)
    return buffer.getvalue()


def parquet(text: str) -> bytes:
    buffer = io.BytesIO()
    pd.read_csv(io.StringIO(text), dtype=str).to_parquet(buffer, index=False)
    return buffer.getvalue()


# name, content, then what the first problem must say: rule, file, row, column, value, words in the message
CASES = {
    "unknown factor": (
        "factor_ratings.csv", rows("factor_ratings", "1,ART,ART-01,baseline,no_such_factor,,,1,"),
        ("unknown_reference", "factor_ratings.csv", 2, "factor_code", "no_such_factor", "factor 'no_such_factor'"),
    ),
    "rating sign against the factor's kind": (
        "factor_ratings.csv", rows("factor_ratings", "1,ART,ART-01,baseline,ctx_instability,,,2,"),
        ("rating_sign", "factor_ratings.csv", 2, "rating", "2", "the factor is a barrier, so its rating must be"),
    ),
    "a rating the study holds with another value": (
        "factor_ratings.csv", rows("factor_ratings", "1,ART,ART-01,baseline,ctx_team_expertise,,,1,"),
        ("changed", "factor_ratings.csv", 2, "factor_code", "ctx_team_expertise", "rating '2' → '1'"),
    ),
    "interview after the study window": (
        "interviews.csv", rows("interviews", "4,ART-01,ART,month_12,2026-07-02,telephone,,,completed"),
        ("after_study", "interviews.csv", 2, "interview_date", "2026-07-02", "after the study window closed on"),
    ),
    "enrolment before the study window": (
        "participants.csv", rows("participants", "ART-09,ART,service_user,2024-06-01,active,,"),
        ("study_window", "participants.csv", 2, "enrolment_date", "2024-06-01", "outside the study window"),
    ),
    "duplicate participant and wave (in the study)": (
        "interviews.csv", rows("interviews", "4,ART-01,ART,month_3,2025-05-08,telephone,,,completed"),
        ("duplicate", "interviews.csv", 2, "interview_id", "4", "a month_3 interview in the study: interview 2"),
    ),
    "duplicate participant and wave (in the file)": (
        "interviews.csv",
        rows("interviews", "4,ART-01,ART,month_6,2025-08-01,telephone,,,completed",
             "5,ART-01,ART,month_6,2025-08-02,telephone,,,completed"),
        ("duplicate", "interviews.csv", 3, "wave", "month_6", "is given twice: here and on row 2 of interviews.csv"),
    ),
    "unknown participant": (
        "interviews.csv", rows("interviews", "4,NOBODY,ART,month_6,2025-08-01,telephone,,,completed"),
        ("unknown_reference", "interviews.csv", 2, "participant_code", "NOBODY", "participant 'NOBODY' does not"),
    ),
    "Latin-1 encoding": (
        "projects.csv", "project_code,name\nCAFE,Café\n".encode("latin-1"),
        ("encoding", "projects.csv", 2, None, "0xE9", "not UTF-8"),
    ),
    "Windows-1252 quotes": (
        "projects.csv", "project_code,name\nQ,\u201cquoted\u201d\n".encode("cp1252"),
        ("encoding", "projects.csv", 2, None, "0x93", "save it as 'CSV UTF-8'"),
    ),
    "UTF-16": (
        "projects.csv", PROJECTS.encode("utf-16"),
        ("encoding", "projects.csv", None, None, None, "UTF-16"),
    ),
    "semicolons": (
        "projects.csv", PROJECTS.replace(",", ";").encode("utf-8"),
        ("delimiter", "projects.csv", 1, None, None, "separated by ';'"),
    ),
    "tabs": (
        "participants.csv", PARTICIPANTS.replace(",", "\t").encode("utf-8"),
        ("delimiter", "participants.csv", 1, None, None, "separated by tab"),
    ),
    "missing columns": (
        "interviews.csv", b"interview_id,participant_code,wave\n4,ART-01,month_6\n",
        ("missing_columns", "interviews.csv", 1, None, None, "project_code, interview_date, mode, interviewer"),
    ),
    "empty file": ("projects.csv", b"", ("empty_file", "projects.csv", None, None, None, "the file is empty")),
    "only a byte order mark": (
        "projects.csv", b"\xef\xbb\xbf\n\n", ("empty_file", "projects.csv", None, None, None, "the file is empty"),
    ),
    "a column twice": (
        "projects.csv", b"project_code,name,name\nA,B,C\n",
        ("duplicate_columns", "projects.csv", 1, None, None, "name appear more than once"),
    ),
    "ragged rows": (
        "projects.csv", (HEADERS["projects"] + "\nA,B,nhs,,internal,,active,x,y,z\n").encode("utf-8"),
        ("csv_format", "projects.csv", 2, None, None, "row 2 has 10 values but the header 7 names"),
    ),
    "not named after a table": ("people.csv", b"a,b\n1,2\n", ("unknown_table", "people.csv", None, None, None,
                                                              "is not named after a table")),
    "a file type that is not imported": (
        "projects.txt", PROJECTS.encode("utf-8"), ("file_type", "projects.txt", None, None, None, ".csv, .xlsx"),
    ),
    "a damaged workbook": (
        "study.xlsx", b"PK\x03\x04 this is not a workbook",
        ("file_format", "study.xlsx", None, None, None, "cannot be read as an Excel workbook"),
    ),
    "an empty workbook file": ("study.xlsx", b"", ("empty_file", "study.xlsx", None, None, None, "is empty")),
    "a workbook sheet that is no table": (
        "study.xlsx", workbook({"people": "a,b\n1,2\n"}),
        ("unknown_table", "study.xlsx", None, None, None, "['people'] are not tables"),
    ),
    "a workbook sheet without its columns": (
        "study.xlsx", workbook({"projects": "project_code,name\nB,Beat\n"}),
        ("missing_columns", "study.xlsx [projects]", 1, None, None, "missing column(s): setting"),
    ),
    "a bad rating in a workbook": (
        "study.xlsx", workbook({"factor_ratings": HEADERS["factor_ratings"] + "\n1,ART,ART-01,baseline,nope,,,1,\n"}),
        ("unknown_reference", "study.xlsx [factor_ratings]", 2, "factor_code", "nope", "factor 'nope' does not"),
    ),
    "a damaged Parquet file": (
        "projects.parquet", b"PAR1 not really",
        ("file_format", "projects.parquet", None, None, None, "not a readable Parquet file"),
    ),
    "a Parquet file without its columns": (
        "projects.parquet", parquet("project_code,name\nB,Beat\n"),
        ("missing_columns", "projects.parquet", 1, None, None, "missing column(s): setting"),
    ),
}  # fmt: skip


def snapshot(path) -> dict:
    con = storage.connect(path)
    try:
        counts = storage.table_counts(con)
        counts["audit"] = con.execute("SELECT count(*) FROM audit_entry").fetchone()[0]
        counts["max_interview"] = con.execute("SELECT max(interview_id) FROM interview").fetchone()[0]
        return counts
    finally:
        con.close()


@pytest.mark.parametrize("case", list(CASES))
def test_the_service_refuses_the_file_and_changes_nothing(db_path, tmp_path, case):
    name, content, (rule, file, row, field, value, words) = CASES[case]
    path = tmp_path / name
    path.write_bytes(content)
    before = snapshot(db_path)
    con = storage.connect(db_path)
    with pytest.raises(ValidationError) as error:
        service.import_files(con, [path], today=TODAY, actor="test")
    con.close()
    problem = error.value.problems[0]
    assert (problem.rule, problem.file, problem.row, problem.field) == (rule, file, row, field)
    assert value is None or str(problem.value) == value
    assert words in problem.message
    assert snapshot(db_path) == before


@pytest.mark.parametrize("case", list(CASES))
def test_the_cli_exits_non_zero_with_the_same_report(db_path, tmp_path, case, capsys):
    name, content, _ = CASES[case]
    path = tmp_path / name
    path.write_bytes(content)
    con = storage.connect(db_path)
    with pytest.raises(ValidationError) as error:
        service.import_files(con, [path], today=TODAY, actor="test")
    con.close()
    before = snapshot(db_path)
    assert main(["import", "--db", str(db_path), "--today", TODAY.isoformat(), str(path)]) == 2
    err = capsys.readouterr().err
    assert "nothing was written" in err
    assert [line.removeprefix("  - ") for line in err.splitlines()[1:]] == [str(p) for p in error.value.problems]
    assert snapshot(db_path) == before


def test_a_real_process_exits_2_and_lists_every_problem(db_path, tmp_path):
    path = tmp_path / "factor_ratings.csv"
    path.write_bytes(
        rows("factor_ratings", "1,ART,ART-01,baseline,nope,,,1,", "1,ART,ART-01,baseline,ctx_instability,,,2,")
    )
    before = snapshot(db_path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "innovation_tracker",
            "import",
            "--db",
            str(db_path),
            "--today",
            "2026-08-01",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert "factor_ratings.csv, row 2, factor_code: factor 'nope' does not exist" in result.stderr
    assert "factor_ratings.csv, row 3, rating: rating 2: the factor is a barrier" in result.stderr
    assert snapshot(db_path) == before


def test_one_bad_file_among_good_ones_stops_them_all(db_path, tmp_path):
    good = tmp_path / "projects.csv"
    good.write_text(HEADERS["projects"] + "\nNEW,New project,nhs,,internal,,active\n", encoding="utf-8")
    bad = tmp_path / "participants.csv"
    bad.write_bytes("participant_code,project_code\nNÉ,NEW\n".encode("latin-1"))
    before = snapshot(db_path)
    con = storage.connect(db_path)
    with pytest.raises(ValidationError, match="not UTF-8"):
        service.import_files(con, [good, bad], today=TODAY, actor="test")
    con.close()
    assert snapshot(db_path) == before


def test_utf8_with_and_without_a_byte_order_mark_is_read_unmangled(db_path, tmp_path):
    con = storage.connect(db_path)
    for code, prefix in (("CAFE", "\ufeff"), ("NAIVE", "")):
        path = tmp_path / "projects.csv"
        path.write_text(prefix + HEADERS["projects"] + f"\n{code},Café naïve – “quoted”,voluntary,,external,,active\n",
                        encoding="utf-8")  # fmt: skip
        service.import_files(con, [path], today=TODAY, actor="test")
    names = con.execute("SELECT DISTINCT name FROM project WHERE project_code IN ('CAFE', 'NAIVE')").fetchall()
    con.close()
    assert names == [("Café naïve – “quoted”",)]


def test_the_wide_table_of_an_export_is_skipped_on_import(db_path, tmp_path):
    con = storage.connect(db_path)
    paths = service.export_study(con, EVALUATOR, tmp_path / "out")
    assert "wide.csv" in [p.name for p in paths]
    fresh = storage.connect(tmp_path / "copy.duckdb")
    counts = service.import_files(fresh, paths, today=TODAY, actor="test")
    assert "wide" not in counts and counts["factor_ratings"] == 2
    fresh.close()
    con.close()
