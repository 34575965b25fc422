"""A CFIR 2.0 study end to end in a real browser: a study made with `init --codebook cfir2` (plus two coded
projects), an evaluator codes a new participant's baseline with −2, +2, 0 and X, and then reads the timeline, the
framework matrix and the comparison. Screenshots (tall viewport) land in tests/screenshots/cfir_*.png."""

import csv
import datetime as dt
import time

import pytest

from innovation_tracker import storage
from innovation_tracker.app import accounts, capture, service
from innovation_tracker.domain.model import SYSTEM_VIEWER
from tests.conftest import EVALUATOR
from tests.support import cfir_study
from tests.support.browser import SCREENSHOTS, Server, heatmap_cells, login

pytestmark = pytest.mark.browser
TIMEOUT = 60_000
PASSWORD = "cfir-evaluator-1"
CODED = {  # construct: (label, rating as the form names it, rating as exported, mixed)
    "ins_available_resources_funding": ("Available resources: funding", "−2", "-2", "false"),
    "inn_relative_advantage": ("Innovation relative advantage", "+2", "2", "false"),
    "ins_culture_learning": ("Culture: learning-centredness", "0", "0", "false"),
    "ind_mid_level_leaders": ("Mid-level leaders", "X", "0", "true"),
}
SEARCH = {
    "ins_available_resources_funding": "funding",
    "inn_relative_advantage": "better than",
    "ins_culture_learning": "psychological",
    "ind_mid_level_leaders": "moderate authority",
}


@pytest.fixture
def server(tmp_path):
    path = tmp_path / "cfir.duckdb"
    cfir_study.build(path)
    con = storage.connect(path)
    accounts.add_account(con, SYSTEM_VIEWER, "eva", role="evaluator", password=PASSWORD)
    values = {"participant_code": "PEER-04", "project_code": "PEER", "role": "caregiver",
              "enrolment_date": dt.date(2025, 8, 20)}  # fmt: skip
    capture.enrol_participant(con, cfir_study.EDITOR, values, cfir_study.BUILT_ON)
    con.close()
    server = Server(path, cfir_study.BUILT_ON.isoformat(), tmp_path / "streamlit.log")
    server.db = path
    yield server
    server.stop()


def settle(page, seconds=1.0):
    time.sleep(0.3)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=TIMEOUT)
    time.sleep(seconds)


def test_a_cfir_interview_with_0_and_x_is_coded_and_read_on_the_timeline_matrix_and_compare(browser, server, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 3200})
    page.goto(server.url, wait_until="domcontentloaded")
    login(page, "eva", PASSWORD, timeout=TIMEOUT)
    page.goto(f"{server.url}/log-interview?project=PEER&participant=PEER-04&wave=baseline", wait_until="commit")
    search = page.get_by_role("textbox", name="Search the codebook")
    search.wait_for(timeout=TIMEOUT)
    settle(page)
    for code, (label, shown, _, _) in CODED.items():
        search.fill(SEARCH[code])
        settle(page, 0.8)
        group = page.get_by_role("radiogroup", name=f"Rating of {label}")
        group.get_by_role("radio", name=shown, exact=True).click()
        settle(page, 0.5)
    page.get_by_role("button", name="Save interview").click()
    page.get_by_text("Edit the baseline").wait_for(timeout=TIMEOUT)
    assert page.locator('[data-testid="stException"]').count() == 0, server.output()

    page.goto(f"{server.url}/timeline?project=PEER", wait_until="commit")
    page.get_by_role("heading", name="What changed").wait_for(timeout=TIMEOUT)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 3", timeout=TIMEOUT)
    settle(page, 3)
    cells = heatmap_cells(page)
    assert cells is not None and cells["waves"][0].startswith("Baseline")
    by_label = dict(zip(cells["factors"], cells["z"], strict=True))
    # Baseline means with PEER-04 added: funding −2 (all four), mid-level leaders X (all four) → 0.
    assert by_label["Mid-level leaders"][0] == 0 and by_label["Available resources: funding"][0] == -2
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "cfir_timeline.png"), full_page=True)

    page.goto(f"{server.url}/matrix", wait_until="commit")
    page.get_by_role("heading", name="Framework matrix").wait_for(timeout=TIMEOUT)
    settle(page, 2)
    page.screenshot(path=str(SCREENSHOTS / "cfir_matrix.png"), full_page=True)
    page.goto(f"{server.url}/compare", wait_until="commit")
    page.get_by_role("heading", name="How many projects cite each factor").wait_for(timeout=TIMEOUT)
    settle(page, 2)
    assert page.get_by_text("Projects in the paper").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "cfir_compare.png"), full_page=True)
    assert page.locator('[data-testid="stException"]').count() == 0, server.output()
    page.close()

    server.stop()
    con = storage.connect(server.db)
    service.export_study(con, EVALUATOR, tmp_path / "export")
    con.close()
    with (tmp_path / "export" / "factor_ratings.csv").open(encoding="utf-8") as handle:
        stored = {
            r["factor_code"]: (r["rating"], r["mixed"])
            for r in csv.DictReader(handle)
            if r["participant_code"] == "PEER-04"
        }
    assert stored == {code: (rating, mixed) for code, (_, _, rating, mixed) in CODED.items()}
