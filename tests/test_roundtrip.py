"""Export → import into a new database → export again gives the same files, in every format."""

import datetime

import pytest

from innovation_tracker import service, storage, tidy
from tests.conftest import DEMO_TODAY, EVALUATOR

CONTRACT = {
    "projects": "project_code,name,setting,host_organisation,relation_to_statutory,start_date,status",
    "participants": "participant_code,project_code,role,enrolment_date,status",
    "interviews": "interview_id,participant_code,project_code,wave,interview_date,mode,interviewer,duration_min,status",
    "factor_ratings": "interview_id,project_code,participant_code,wave,factor_code,domain,kind,rating,evidence",
    "sustainability": "project_code,wave,indicator_code,value",
    "codebook": "factor_code,domain,kind,label,description",
    "waves": "wave,label,offset_days,window_before_days,window_after_days,default_mode",
}


def test_csv_headers_honour_the_contract(seeded, tmp_path):
    service.export_study(seeded, EVALUATOR, tmp_path / "out")
    for table, header in CONTRACT.items():
        first_line = (tmp_path / "out" / f"{table}.csv").read_text(encoding="utf-8").splitlines()[0]
        assert first_line.startswith(header), table


def test_csv_dates_are_iso_and_counts_match_the_database(seeded, tmp_path):
    service.export_study(seeded, EVALUATOR, tmp_path / "out")
    lines = (tmp_path / "out" / "interviews.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) - 1 == seeded.execute("SELECT count(*) FROM interview").fetchone()[0]
    first_date = lines[1].split(",")[4]
    assert len(first_date) == 10 and first_date[4] == "-" and first_date[7] == "-"


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_export_import_export_reproduces_the_study(seeded, tmp_path, fmt):
    first = service.export_study(seeded, EVALUATOR, tmp_path / "first", fmt)
    con = storage.connect(tmp_path / "copy.duckdb")
    service.import_files(con, first, today=DEMO_TODAY, actor="test")
    for table in tidy.TABLES:
        left = storage.read_table(seeded, EVALUATOR, table)
        right = storage.read_table(con, EVALUATOR, table)
        assert left.equals(right), table
    second = service.export_study(con, EVALUATOR, tmp_path / "second", "csv")
    again = service.export_study(seeded, EVALUATOR, tmp_path / "again", "csv")
    for a, b in zip(again, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_spreadsheet_formulas_are_neutralised_and_restored(seeded, tmp_path):
    seeded.execute("UPDATE interview SET summary = '=HYPERLINK(\"http://x\")' WHERE interview_id = 1")
    seeded.execute("UPDATE interview SET summary = '@SUM(1)' WHERE interview_id = 2")
    seeded.execute("UPDATE interview SET summary = '-1+2' WHERE interview_id = 3")
    service.export_study(seeded, EVALUATOR, tmp_path / "out")
    text = (tmp_path / "out" / "interviews.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and "'@SUM(1)" in text and "'-1+2" in text
    ratings = (tmp_path / "out" / "factor_ratings.csv").read_text(encoding="utf-8")
    assert ",-2," in ratings or ",-1," in ratings, "numbers are never prefixed"
    con = storage.connect(tmp_path / "copy.duckdb")
    service.import_files(con, sorted((tmp_path / "out").glob("*.csv")), today=DEMO_TODAY, actor="test")
    assert con.execute("SELECT summary FROM interview WHERE interview_id IN (1, 2, 3) ORDER BY 1").fetchall() == [
        ("-1+2",),
        ('=HYPERLINK("http://x")',),
        ("@SUM(1)",),
    ]


def test_xlsx_neutralises_formulas(seeded, tmp_path):
    import openpyxl

    seeded.execute("UPDATE interview SET summary = '=1+1' WHERE interview_id = 1")
    [path] = service.export_study(seeded, EVALUATOR, tmp_path / "out", "xlsx")
    sheet = openpyxl.load_workbook(path)["interviews"]
    header = [c.value for c in sheet[1]]
    row = {h: c.value for h, c in zip(header, sheet[2], strict=True)}
    assert row["interview_id"] == 1 and row["summary"] == "'=1+1"
    assert isinstance(row["interview_date"], datetime.datetime), "dates stay dates for analysts"
    assert sheet.cell(2, header.index("summary") + 1).data_type == "s"


def test_a_table_longer_than_an_excel_sheet_carries_on_in_more_sheets_and_imports_back(seeded, tmp_path, monkeypatch):
    import openpyxl

    from innovation_tracker.storage import exports

    # Excel's sheets end at row 1,048,576 (S = 1000 holds 1.7 million ratings); a sheet of 31 rows here, the
    # same rule at a size a test can write.
    monkeypatch.setattr(exports, "XLSX_ROWS", 31)
    ratings = seeded.execute("SELECT count(*) FROM factor_rating").fetchone()[0]
    [path] = service.export_study(seeded, EVALUATOR, tmp_path / "out", "xlsx")
    book = openpyxl.load_workbook(path, read_only=True)
    continued = [name for name in book.sheetnames if name.startswith("factor_ratings")]
    assert continued == ["factor_ratings", *(f"factor_ratings ({n})" for n in range(2, len(continued) + 1))]
    assert len(continued) == -(-ratings // 30) > 2
    assert [c.value for c in next(book[continued[-1]].iter_rows(max_row=1))][:2] == ["interview_id", "project_code"]
    assert sum(len(list(book[name].iter_rows(min_row=2))) for name in continued) == ratings
    con = storage.connect(tmp_path / "copy.duckdb")
    service.import_files(con, [path], today=DEMO_TODAY, actor="test")
    for table in tidy.TABLES:
        assert storage.read_table(seeded, EVALUATOR, table).equals(storage.read_table(con, EVALUATOR, table)), table
