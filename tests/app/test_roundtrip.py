"""Export → import into a new database → export again gives the same files, in every format."""

import csv
import datetime
import shutil

import pyarrow.parquet as pq
import pytest

from innovation_tracker import storage
from innovation_tracker.app import service
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.formats import tidy
from tests.conftest import DEMO_TODAY, EVALUATOR
from tests.support import postgres

FUNDER = Viewer("test-funder", AccountRole.FUNDER)

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
def test_export_import_export_reproduces_the_study(seeded, database, tmp_path, fmt):
    first = service.export_study(seeded, EVALUATOR, tmp_path / "first", fmt)
    con = storage.connect(database)
    service.import_files(con, first, today=DEMO_TODAY, actor="test")
    for table in tidy.TABLES:
        left = storage.read_table(seeded, EVALUATOR, table)
        right = storage.read_table(con, EVALUATOR, table)
        assert left.equals(right), table
    second = service.export_study(con, EVALUATOR, tmp_path / "second", "csv")
    again = service.export_study(seeded, EVALUATOR, tmp_path / "again", "csv")
    for a, b in zip(again, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_spreadsheet_formulas_are_neutralised_and_restored(seeded, database, tmp_path):
    seeded.execute("UPDATE interview SET summary = '=HYPERLINK(\"http://x\")' WHERE interview_id = 1")
    seeded.execute("UPDATE interview SET summary = '@SUM(1)' WHERE interview_id = 2")
    seeded.execute("UPDATE interview SET summary = '-1+2' WHERE interview_id = 3")
    service.export_study(seeded, EVALUATOR, tmp_path / "out")
    text = (tmp_path / "out" / "interviews.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and "'@SUM(1)" in text and "'-1+2" in text
    ratings = (tmp_path / "out" / "factor_ratings.csv").read_text(encoding="utf-8")
    assert ",-2," in ratings or ",-1," in ratings, "numbers are never prefixed"
    con = storage.connect(database)
    service.import_files(con, sorted((tmp_path / "out").glob("*.csv")), today=DEMO_TODAY, actor="test")
    assert con.execute("SELECT summary FROM interview WHERE interview_id IN (1, 2, 3) ORDER BY 1").fetchall() == [
        ("-1+2",),
        ('=HYPERLINK("http://x")',),
        ("@SUM(1)",),
    ]


def test_a_tab_or_carriage_return_in_front_is_neutralised_and_a_negative_number_stays_a_number(
    seeded, database, tmp_path
):
    texts = {1: "\t=1+1", 2: "\r=cmd|' /C calc'!A0", 3: "-2", 4: "-1.5", 5: "+44 20 7946 0000"}
    for interview_id, text in texts.items():
        seeded.execute("UPDATE interview SET summary = ? WHERE interview_id = ?", [text, interview_id])
    service.export_study(seeded, EVALUATOR, tmp_path / "out")
    with open(tmp_path / "out" / "interviews.csv", encoding="utf-8", newline="") as file:
        written = {int(row["interview_id"]): row["summary"] for row in csv.DictReader(file)}
    assert {i: written[i] for i in texts} == {
        1: "'\t=1+1",
        2: "'\r=cmd|' /C calc'!A0",
        3: "-2",  # a spreadsheet reads the number -2: no formula runs
        4: "-1.5",
        5: "'+44 20 7946 0000",
    }
    con = storage.connect(database)
    service.import_files(con, sorted((tmp_path / "out").glob("*.csv")), today=DEMO_TODAY, actor="test")
    back = con.execute("SELECT interview_id, summary FROM interview WHERE interview_id <= 5").fetchall()
    assert dict(back) == texts


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


def test_a_table_longer_than_an_excel_sheet_carries_on_in_more_sheets_and_imports_back(
    seeded, database, tmp_path, monkeypatch
):
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
    con = storage.connect(database)
    service.import_files(con, [path], today=DEMO_TODAY, actor="test")
    for table in tidy.TABLES:
        assert storage.read_table(seeded, EVALUATOR, table).equals(storage.read_table(con, EVALUATOR, table)), table


# Text a CSV writer must get right: quotes, commas, a `#`, line breaks, tabs, backslashes, padding, an empty text
# (quoted, "") against a NULL (nothing).
AWKWARD = [
    "UPDATE project SET name = 'Arts #1, \"the\" group', host_organisation = 'Trust #2' WHERE project_code = 'ARTS'",
    "UPDATE project SET host_organisation = NULL WHERE project_code = 'CARE'",
    "UPDATE interview SET summary = 'line one' || chr(10) || 'line two' || chr(13) || chr(10) WHERE interview_id = 1",
    "UPDATE interview SET summary = '' WHERE interview_id = 2",
    "UPDATE interview SET summary = '  padded ' || chr(9) || 'tab; semi \\ back' WHERE interview_id = 3",
]


def _both_exports(demo_file, demo_template, tmp_path, viewer, fmt):
    """Copies of the demo study on DuckDB and PostgreSQL, given the same awkward text, exported by each
    (copy_export itself)."""
    duck = tmp_path / "demo.duckdb"
    shutil.copyfile(demo_file, duck)
    url = postgres.create_database(postgres.server_or_skip(), template=demo_template)
    out = {}
    try:
        for name, target in (("duckdb", duck), ("postgresql", url)):
            folder = tmp_path / name
            folder.mkdir()
            con = storage.connect(target)
            try:
                for sql in AWKWARD:
                    con.execute(sql)
                out[name] = (folder, storage.copy_export(con, viewer, folder, fmt))
            finally:
                con.close()
    finally:
        postgres.drop_database(url)
    return out


@pytest.mark.parametrize("viewer", [EVALUATOR, FUNDER], ids=["evaluator", "funder"])
def test_the_csv_files_are_the_same_bytes_on_both_backends(demo_file, demo_template, tmp_path, viewer):
    """Dates, booleans (true/false, not t/f), NULLs, empty texts, whole and rounded means (1.0, -0.333), quoting."""
    both = _both_exports(demo_file, demo_template, tmp_path, viewer, "csv")
    (duck, duck_counts), (pg, pg_counts) = both["duckdb"], both["postgresql"]
    assert pg_counts == duck_counts and duck_counts["factor_ratings"] > 1000
    for table in duck_counts:
        assert (pg / f"{table}.csv").read_bytes() == (duck / f"{table}.csv").read_bytes(), table
    wide = (pg / "wide.csv").read_text(encoding="utf-8")
    study = (pg / "study.csv").read_text(encoding="utf-8").splitlines()[1]
    assert ".0," in wide or wide.count(".0\n") > 0, "a whole mean is written 1.0, as DuckDB writes it"
    assert study.endswith(",true,false"), "is_demo, neutral_mixed as DuckDB spells booleans"
    projects = (pg / "projects.csv").read_text(encoding="utf-8")
    assert (
        'ARTS,"Arts #1, ""the"" group",community,Trust #2,' in projects
        and "\nCARE,Carers Connect,voluntary,,external," in projects
    )
    if viewer is EVALUATOR:
        interviews = (pg / "interviews.csv").read_bytes()
        assert b',"line one\nline two\r\n"\n' in interviews and b',""\n' in interviews


def test_parquet_has_the_same_columns_types_and_values_on_both_backends(demo_file, demo_template, tmp_path):
    both = _both_exports(demo_file, demo_template, tmp_path, EVALUATOR, "parquet")
    (duck, duck_counts), (pg, pg_counts) = both["duckdb"], both["postgresql"]
    assert pg_counts == duck_counts
    for table in duck_counts:
        left, right = pq.read_table(duck / f"{table}.parquet"), pq.read_table(pg / f"{table}.parquet")
        # DuckDB marks a column "required" when it wrote no NULL into it; the types and values are the same.
        assert [(f.name, f.type) for f in right.schema] == [(f.name, f.type) for f in left.schema], table
        assert right.to_pylist() == left.to_pylist(), table
    assert pq.read_schema(pg / "factor_ratings.parquet").field("rating").type == "int8"


def test_importing_either_backends_export_gives_the_same_database(demo_file, demo_template, tmp_path):
    both = _both_exports(demo_file, demo_template, tmp_path, EVALUATOR, "parquet")
    tables = {}
    for name, (folder, _) in both.items():
        con = storage.connect(tmp_path / f"{name}.duckdb")
        service.import_files(con, sorted(folder.glob("*.parquet")), today=DEMO_TODAY, actor="test")
        tables[name] = {table: storage.read_table(con, EVALUATOR, table) for table in tidy.TABLES}
        con.close()
    for table in tidy.TABLES:
        assert tables["postgresql"][table].equals(tables["duckdb"][table]), table
    assert len(tables["postgresql"]["factor_ratings"]) > 1000
