"""The framework matrix: cell values against the tables, trends between finished rounds, what each role sees,
the page with a cell's excerpts, and the Excel workbook as opened."""

import io
import re

import pandas as pd
import pytest
from openpyxl import load_workbook

from innovation_tracker import storage
from innovation_tracker.app import accounts
from innovation_tracker.domain.model import AccountRole, Viewer, label_of
from innovation_tracker.views import framework_matrix
from tests.conftest import DEMO_TODAY, EVALUATOR
from tests.support.apptest import open_page
from tests.support.browser import SCREENSHOTS, Server, login

FUNDER = Viewer("fun", AccountRole.FUNDER)
TEAM = Viewer("team", AccountRole.TEAM, frozenset({"CARE"}))
FACTOR = "ctx_team_expertise"


def oracle(con, project, factor, wave=None):
    """Mean rating and participants citing, straight from the tables."""
    return con.execute(
        "SELECT avg(r.rating), count(DISTINCT i.participant_code) FROM factor_rating r JOIN interview i"
        " USING (interview_id) JOIN participant p USING (participant_code)"
        " WHERE p.project_code = ? AND r.factor_code = ? AND (? IS NULL OR i.wave = ?)",
        [project, factor, wave, wave],
    ).fetchone()


def cell(matrix, project, column):
    found = matrix.cells[(matrix.cells.project_code == project) & (matrix.cells.column == column)]
    return None if found.empty else found.iloc[0]


@pytest.mark.parametrize("wave", [None, "baseline", "month_6"])
def test_every_cell_holds_the_mean_and_the_participants_citing(seeded, wave):
    matrix = framework_matrix.build(seeded, EVALUATOR, wave, "context", DEMO_TODAY)
    assert len(matrix.rows) == 11 and matrix.columns[0] == FACTOR
    for project in matrix.rows:
        for factor in matrix.columns:
            mean, participants = oracle(seeded, project, factor, wave)
            found = cell(matrix, project, factor)
            if participants == 0:
                assert found is None
            else:
                assert found["mean"] == pytest.approx(mean, abs=1e-12)
                assert found.n_participants == participants


def test_the_trend_compares_the_latest_finished_round_with_the_one_before(seeded):
    finished = storage.completed_rounds(seeded, EVALUATOR, DEMO_TODAY)
    rounds = finished[finished.project_code == "ARTS"].wave.tolist()
    assert rounds == ["baseline", "month_3", "month_6", "month_9"]
    matrix = framework_matrix.build(seeded, EVALUATOR, None, "context", DEMO_TODAY)
    checked = 0
    for factor in matrix.columns:
        found = cell(matrix, "ARTS", factor)
        if found is None:
            continue
        latest, _ = oracle(seeded, "ARTS", factor, "month_9")
        before, _ = oracle(seeded, "ARTS", factor, "month_6")
        if latest is None:
            expected = ""
        elif before is None:
            expected = "new"
        else:
            delta = latest - before
            expected = "↑" if delta >= 0.5 else "↓" if delta <= -0.5 else "→"
        assert found.trend == expected, factor
        checked += 1
    assert checked >= 5


def test_the_table_reads_as_text_with_a_dash_where_nothing_was_cited(seeded):
    matrix = framework_matrix.build(seeded, EVALUATOR, None, "context", DEMO_TODAY)
    table = framework_matrix.table(matrix)
    assert list(table.index)[:2] == ["ARTS · Arts on Referral", "BEAT · Soundhouse"]
    assert table.columns[0] == "Team expertise (facilitator)"
    mean, participants = oracle(seeded, "ARTS", FACTOR)
    trend = cell(matrix, "ARTS", FACTOR).trend
    assert table.iloc[0, 0] == f"{mean:+.1f} {trend} · {participants} cited"
    assert (table == "—").sum().sum() == len(matrix.rows) * len(matrix.columns) - len(matrix.cells)
    assert all(re.fullmatch(r"—|[+−]\d\.\d( (↑|↓|→|new))? · \d+ cited|0\.0.*", v) for v in table.to_numpy().ravel())


def test_domains_as_columns_pool_every_factor_of_the_domain(seeded):
    matrix = framework_matrix.build(seeded, EVALUATOR, None, None, DEMO_TODAY)
    assert matrix.columns == ("context", "process_outcome")
    mean = seeded.execute(
        "SELECT avg(r.rating) FROM factor_rating r JOIN interview i USING (interview_id) JOIN participant p"
        " USING (participant_code) JOIN factor f USING (factor_code) WHERE p.project_code = 'EMPL'"
        " AND f.domain = 'context'"
    ).fetchone()[0]
    assert cell(matrix, "EMPL", "context")["mean"] == pytest.approx(mean)


def test_a_team_sees_its_row_and_a_funder_only_shareable_excerpts(seeded):
    team = framework_matrix.build(seeded, TEAM, None, "context", DEMO_TODAY)
    assert team.rows == ("CARE",) and set(team.cells.project_code) == {"CARE"}
    everyone = storage.cell_excerpts(seeded, EVALUATOR, "CARE", FACTOR)
    shared = storage.cell_excerpts(seeded, FUNDER, "CARE", FACTOR)
    expected = seeded.execute(
        "SELECT count(*) FROM factor_rating r JOIN interview i USING (interview_id) JOIN participant p"
        " USING (participant_code) WHERE p.project_code = 'CARE' AND r.factor_code = ? AND r.evidence IS NOT NULL"
        " AND r.shareable",
        [FACTOR],
    ).fetchone()[0]
    assert len(shared) == expected < len(everyone)
    assert not shared.participant_code.str.contains(r"CARE-\d\d").any()


def test_the_workbook_has_a_sheet_per_domain_with_summaries_and_wrapped_excerpts(seeded):
    book = load_workbook(io.BytesIO(framework_matrix.excel(seeded, EVALUATOR, None, DEMO_TODAY)))
    assert book.sheetnames == ["Context", "Process outcome"]
    sheet = book["Context"]
    assert sheet["A1"].value == "Project" and sheet["B1"].value == "Team expertise (facilitator)"
    assert sheet["A4"].value == "CARE · Carers Connect"
    text = sheet["B4"].value
    summary, *quotes = text.split("\n")
    mean, participants = oracle(seeded, "CARE", FACTOR)
    assert summary.startswith(f"{mean:+.1f}") and summary.endswith(f"· {participants} cited")
    excerpts = storage.cell_excerpts(seeded, EVALUATOR, "CARE", FACTOR)
    assert len(quotes) == len(excerpts) and quotes[0].startswith("“" + excerpts.evidence.iloc[0] + "”")
    assert sheet["B4"].alignment.wrap_text and sheet.freeze_panes == "B2"
    funder_book = load_workbook(io.BytesIO(framework_matrix.excel(seeded, FUNDER, None, DEMO_TODAY)))
    unshared = seeded.execute(
        "SELECT evidence FROM factor_rating WHERE NOT shareable AND evidence IS NOT NULL"
        " EXCEPT SELECT evidence FROM factor_rating WHERE shareable"
    ).fetchall()
    everything = "\n".join(str(c.value) for ws in funder_book for row in ws.iter_rows() for c in row)
    assert unshared and not any(e in everything for (e,) in unshared)


def test_the_page_shows_the_matrix_and_a_selected_cells_excerpts(monkeypatch, seeded_path):
    at = open_page(monkeypatch, seeded_path, "pages/matrix.py")
    shown = at.dataframe[0].value
    assert shown.index[2] == "CARE · Carers Connect" and shown.columns[0] == "Team expertise (facilitator)"
    assert at.main.caption[-1].value.startswith("11 projects shown;")
    at.session_state["matrix:table"] = {"selection": {"rows": [], "columns": [], "cells": [[2, shown.columns[0]]]}}
    at.run()
    assert not at.exception
    assert [h.value for h in at.subheader] == ["CARE · Carers Connect · Team expertise (facilitator)"]
    excerpts = at.table[0].value
    con = storage.connect(seeded_path)
    expected = storage.cell_excerpts(con, EVALUATOR, "CARE", FACTOR)
    con.close()
    assert list(excerpts.Excerpt) == list(expected.evidence)
    assert list(excerpts.columns) == ["Wave", "Participant", "Role", "Rating", "Excerpt"]
    assert at.get("download_button")[0].proto.label == "Download the matrix (Excel, one sheet per domain)"


def test_the_matrix_page_of_an_empty_study_says_how_it_fills_in(monkeypatch, empty_study):
    at = open_page(monkeypatch, empty_study, "pages/matrix.py", today=DEMO_TODAY)
    assert "The matrix fills in as interviews are coded" in at.info[-1].value


@pytest.mark.browser
@pytest.mark.slow
def test_a_funder_selects_a_cell_and_reads_its_shareable_excerpts(browser, seeded_path, tmp_path):
    con = storage.connect(seeded_path)
    expected = storage.cell_excerpts(con, FUNDER, "BEAT", FACTOR)
    sheets = [label_of(d)[:31] for d in dict.fromkeys(f.domain for f in storage.list_factors(con))]
    con.close()
    assert len(expected) == 3
    server = Server(seeded_path, DEMO_TODAY.isoformat(), tmp_path / "streamlit.log")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.goto(f"{server.url}/matrix", wait_until="domcontentloaded")
        login(page, "demo-funder", accounts.DEMO_PASSWORD)
        grid = page.locator('[data-testid="stDataFrame"]').first
        grid.wait_for(timeout=30_000)
        page.get_by_text("11 projects shown;").wait_for(timeout=30_000)
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 330, box["y"] + 35 * 2 + 17)  # BEAT's row, the first factor's column
        page.get_by_role("heading", name="BEAT · Soundhouse · Team expertise (facilitator)").wait_for(timeout=30_000)
        excerpts = page.locator('[data-testid="stTable"] tbody tr')
        excerpts.first.wait_for(timeout=30_000)
        assert [row.inner_text().split("\t")[-1].strip() for row in excerpts.all()] == list(expected.evidence)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "matrix.png"), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0, server.output()
        # The workbook is built when the button is clicked (not on every run), as the funder may read it.
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="Download the matrix (Excel, one sheet per domain)").click()
        book = load_workbook(io.BytesIO(download.value.path().read_bytes()))
        assert book.sheetnames == sheets
        cells = [str(c.value) for row in book.worksheets[0].iter_rows() for c in row if c.value]
        assert any(expected.evidence.iloc[0] in cell for cell in cells)
    finally:
        server.stop()


@pytest.mark.parametrize("domain", [None, "context"])
def test_a_screen_of_projects_holds_the_same_cells_as_the_whole_matrix(seeded, domain):
    whole = framework_matrix.build(seeded, EVALUATOR, None, domain, DEMO_TODAY)
    screen = framework_matrix.build(seeded, EVALUATOR, None, domain, DEMO_TODAY, ("CARE", "ARTS"))
    assert screen.rows == ("ARTS", "CARE")  # in the matrix's order, whatever the order asked
    expected = whole.cells[whole.cells.project_code.isin(screen.rows)].reset_index(drop=True)
    assert len(expected) > 0
    pd.testing.assert_frame_equal(screen.cells, expected)
    assert framework_matrix.table(screen).equals(framework_matrix.table(whole, screen.rows))
