"""The Import and export page: AppTest for what each role is offered, a real browser for uploads and downloads."""

import datetime as dt
import io
import shutil
import zipfile

import pandas as pd
import pytest
from pypdf import PdfReader

from innovation_tracker import storage
from innovation_tracker.app import accounts, service
from innovation_tracker.domain.model import AccountRole, Study, Viewer
from tests.conftest import DEMO_TODAY, EVALUATOR
from tests.support import apptest
from tests.support.browser import SCREENSHOTS, Server, login

PAGE = "pages/import-export.py"
ADMIN = Viewer("demo-admin", AccountRole.ADMIN)
FUNDER = Viewer("demo-funder", AccountRole.FUNDER)
TEAM = Viewer("demo-team-arts", AccountRole.TEAM, frozenset({"ARTS"}))


def open_page(monkeypatch, path, viewer=EVALUATOR):
    return apptest.open_page(monkeypatch, path, PAGE, viewer)


def click(at, label):
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def audit_entries(path, action):
    con = storage.connect(path)
    try:
        return con.execute(
            "SELECT actor, entity FROM audit_entry WHERE action = ? ORDER BY audit_id", [action]
        ).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize(
    "viewer, tabs",
    [
        (ADMIN, ["Export", "Reports", "Import", "REDCap", "Backup"]),
        (EVALUATOR, ["Export", "Reports", "Import", "REDCap"]),
        (FUNDER, ["Export", "Reports"]),
        (TEAM, ["Export", "Reports"]),
    ],
    ids=["admin", "evaluator", "funder", "team"],
)
def test_each_role_is_offered_what_it_may_take(monkeypatch, seeded_path, viewer, tabs):
    at = open_page(monkeypatch, seeded_path, viewer)
    assert at.title[0].value == "Import and export"
    assert [t.label for t in at.tabs] == tabs
    assert ("Check files" in [b.label for b in at.button]) is False, "nothing to check before an upload"


def test_a_teams_export_holds_its_own_project_de_identified(monkeypatch, seeded_path):
    at = click(open_page(monkeypatch, seeded_path, TEAM), "Prepare export")
    name, data = at.session_state["export_file"]
    assert name == "study-csv.zip"
    archive = zipfile.ZipFile(io.BytesIO(data))
    read = {n: pd.read_csv(archive.open(n), dtype=str, keep_default_na=False) for n in archive.namelist()}
    assert set(read["projects.csv"].project_code) == {"ARTS"}
    assert set(read["wide.csv"].project_code) == {"ARTS"} and "n_interviews" in read["wide.csv"].columns
    assert read["participants.csv"].participant_code.str.startswith("ARTS · ").all()
    assert (read["interviews.csv"].summary == "").all()
    assert audit_entries(seeded_path, "export")[-1] == ("demo-team-arts", "study")


def test_an_evaluator_builds_an_html_report_of_a_project(monkeypatch, seeded_path):
    at = open_page(monkeypatch, seeded_path)
    at.selectbox(key="report_scope").set_value("CARE")
    at.selectbox(key="report_wave").set_value("month_6")
    at.radio(key="report_format").set_value("html")
    at = click(at.run(), "Build report")
    name, data = at.session_state["report_file"]
    assert name == "report-CARE-month_6.html"
    assert "Carers Connect (CARE) · 6-month follow-up" in data.decode("utf-8")
    assert audit_entries(seeded_path, "report")[-1] == ("test-evaluator", "project")


def test_an_admin_downloads_a_backup(monkeypatch, seeded_path):
    at = click(open_page(monkeypatch, seeded_path, ADMIN), "Prepare backup")
    name, data = at.session_state["backup_file"]
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert name == "tracker-backup.zip" and {"manifest.json", "user_account.parquet"} <= set(names)
    assert audit_entries(seeded_path, "export")[-1] == ("demo-admin", "backup")


def test_the_redcap_tab_shows_the_dictionary(monkeypatch, seeded_path):
    at = open_page(monkeypatch, seeded_path)
    dictionary = at.dataframe[0].value
    assert list(dictionary["Variable / Field Name"][:2]) == ["record_id", "project"]
    assert {"factor", "rating", "shareable"} <= set(dictionary["Variable / Field Name"])


@pytest.mark.parametrize("viewer", [ADMIN, EVALUATOR, FUNDER, TEAM], ids=["admin", "evaluator", "funder", "team"])
def test_the_page_renders_on_an_empty_study_and_without_one(monkeypatch, tmp_path, viewer):
    empty = tmp_path / "empty.duckdb"
    con = storage.connect(empty)
    service.init_study(con, Study("Empty", dt.date(2025, 1, 1), dt.date(2026, 4, 1)))
    con.close()
    bare = tmp_path / "bare.duckdb"
    storage.connect(bare).close()
    for path in (empty, bare):
        at = click(open_page(monkeypatch, path, viewer), "Prepare export")
        assert at.session_state["export_file"][0].endswith(".zip")


@pytest.fixture
def server(demo_file, tmp_path):
    shutil.copy(demo_file, tmp_path / "demo.duckdb")
    server = Server(tmp_path / "demo.duckdb", DEMO_TODAY.isoformat(), tmp_path / "streamlit.log")
    yield server
    server.stop()


def open_in_browser(browser, server, username="demo-evaluator"):
    page = browser.new_page(viewport={"width": 1400, "height": 2400}, accept_downloads=True)
    page.goto(server.url, wait_until="domcontentloaded")
    login(page, username, accounts.DEMO_PASSWORD)
    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text="Import and export").click()
    page.get_by_role("heading", name="Import and export").wait_for(timeout=30_000)
    return page


@pytest.mark.browser
def test_a_report_is_built_and_downloaded_from_the_page(browser, server):
    page = open_in_browser(browser, server)
    page.get_by_role("tab", name="Reports").click()
    page.get_by_role("combobox", name="Report on").click()
    page.get_by_role("option", name="ARTS · Arts on Referral").click()
    page.get_by_role("button", name="Build report").click()
    download_button = page.get_by_role("button", name="Download report")
    download_button.wait_for(timeout=90_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "import_export_report.png"), full_page=True)
    with page.expect_download(timeout=30_000) as info:
        download_button.click()
    download = info.value
    assert download.suggested_filename == "report-ARTS-month_9.pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(download.path()).pages)
    assert "Arts on Referral (ARTS) · 9-month follow-up" in text and "Sustainability indicators" in text
    assert page.locator('[data-testid="stException"]').count() == 0, server.output()
    page.close()


@pytest.mark.browser
def test_an_upload_is_previewed_refused_or_imported(browser, server, tmp_path):
    page = open_in_browser(browser, server)
    page.get_by_role("tab", name="Import").click()
    bad = tmp_path / "participants.csv"
    bad.write_bytes("participant_code,project_code\nNÉ,ARTS\n".encode("latin-1"))
    page.locator('input[type="file"]').set_input_files(str(bad))
    page.get_by_role("button", name="Check files").click()
    page.get_by_text("Nothing was imported.").wait_for(timeout=30_000)
    assert page.get_by_text("Problems found: nothing will be imported").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "import_export_problems.png"), full_page=True)
    page.get_by_role("button", name="Remove participants.csv").click()
    page.get_by_text("Nothing was imported.").wait_for(state="detached", timeout=30_000)
    good = tmp_path / "projects.csv"
    good.write_text(
        "project_code,name,setting,host_organisation,relation_to_statutory,start_date,status\n"
        "NEWP,New peer project,community,Mind,external,2025-06-01,active\n",
        encoding="utf-8",
    )
    page.locator('input[type="file"]').set_input_files(str(good))
    page.get_by_role("button", name="Check files").click()
    page.get_by_text("Import plan").wait_for(timeout=30_000)
    page.screenshot(path=str(SCREENSHOTS / "import_export_preview.png"), full_page=True)
    page.get_by_role("button", name="Import: add 1 row").click()
    page.get_by_text("Imported: 1 row added to projects.").wait_for(timeout=30_000)

    # Next month the same file again, with the project renamed: the plan shows the change and refuses it ...
    page.get_by_role("button", name="Remove projects.csv").click()
    page.get_by_text("Apply changes to stored rows").wait_for(state="detached", timeout=30_000)
    renamed = tmp_path / "next" / "projects.csv"
    renamed.parent.mkdir()
    renamed.write_text(good.read_text().replace("New peer project", "Peer project (renamed)"), encoding="utf-8")
    page.locator('input[type="file"]').set_input_files(str(renamed))
    page.get_by_role("button", name="Check files").click()
    page.get_by_text("1 row(s) differ from what is stored").wait_for(timeout=30_000)
    table = page.locator('[data-testid="stTable"]')
    assert "Peer project (renamed)" in table.inner_text() and "New peer project" in table.inner_text()
    assert page.get_by_role("button", name="Import: change 1 row").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "import_export_refused_change.png"), full_page=True)
    # ... until the user asks for changes to be applied, and checks again.
    page.get_by_test_id("stCheckbox").get_by_text("Apply changes to stored rows").click()
    page.get_by_role("button", name="Check files").click()
    page.get_by_role("button", name="Import: change 1 row").wait_for(timeout=30_000)
    page.screenshot(path=str(SCREENSHOTS / "import_export_update_plan.png"), full_page=True)
    page.get_by_role("button", name="Import: change 1 row").click()
    page.get_by_text("Imported: 1 row changed in projects.").wait_for(timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0, server.output()
    page.close()
    server.stop()
    con = storage.connect(tmp_path / "demo.duckdb")
    assert con.execute("SELECT name FROM project WHERE project_code = 'NEWP'").fetchone() == ("Peer project (renamed)",)
    update = con.execute(
        "SELECT actor, before->>'name', after->>'name' FROM audit_entry WHERE action = 'update' AND entity = 'project'"
    ).fetchall()
    assert update == [("demo-evaluator", "New peer project", "Peer project (renamed)")]
    con.close()
