"""Coding a follow-up as fast as the conversation, in a real browser (issue 14), with every user action counted.

LIAS-05 is due their 9-month follow-up on the demo's `today` and cited six factors at their 6-month interview.
The evaluator logs in, opens Fieldwork, selects LIAS-05's call, and codes the follow-up: the six factors carried
forward (four still so, two changed) and two new ones found by searching the codebook, each with an excerpt. At
most 30 actions: a click, a key chord or one field's typing counts one. The stored ratings are then read back
through the study's export.
"""

import csv
import time

import pytest

from innovation_tracker import storage
from innovation_tracker.app import accounts, service
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.formats import fieldwork
from tests.conftest import DEMO_TODAY
from tests.support.browser import SCREENSHOTS, Server, login

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PERSON, WAVE = "LIAS-05", "month_9"
EVALUATOR = Viewer("demo-evaluator", AccountRole.EVALUATOR)
# Two factors LIAS-05 did not cite last time, each found by a word of its name or definition.
NEW = (("ctx_instability", "instability", -2, "Three restructures in a year; nobody knows who is in charge."),
       ("po_social_interaction", "social", 1, "The café mornings keep people coming back."))  # fmt: skip


class Actions:
    """Counts what the user does: each click, key chord and field's typing is one action."""

    def __init__(self, page):
        self.page, self.count = page, 0

    def click(self, locator):
        self.count += 1
        locator.click()

    def fill(self, locator, text):
        self.count += 1
        locator.fill(text)

    def press(self, locator, key):
        self.count += 1
        locator.press(key)


@pytest.fixture
def server(seeded_path, tmp_path):
    con = storage.connect(seeded_path)
    previous = storage.project_ratings(con, EVALUATOR, "LIAS")
    previous = previous[(previous.participant_code == PERSON) & (previous.wave == "month_6")]
    calls = fieldwork.call_list(storage.call_candidates(con, EVALUATOR, DEMO_TODAY, fieldwork.HORIZON_DAYS), DEMO_TODAY)
    labels = {f.factor_code: f.label for f in storage.list_factors(con)}
    con.close()
    due = calls[calls.category == "due"].reset_index(drop=True)
    row = due.index[(due.participant_code == PERSON) & (due.wave == WAVE)]
    assert len(previous) == 6 and len(row) == 1, "the demo has LIAS-05 due at 9 months, six factors cited before"
    server = Server(seeded_path, DEMO_TODAY.isoformat(), tmp_path / "streamlit.log")
    server.db, server.previous, server.row = seeded_path, previous.reset_index(drop=True), int(row[0])
    server.labels = labels
    yield server
    server.stop()


def settle(page, seconds=1.0):
    """Wait until Streamlit has finished its rerun (the status widget goes) and the page stops moving."""
    time.sleep(0.3)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000)
    time.sleep(seconds)


def test_a_follow_up_with_eight_factors_takes_at_most_30_actions(browser, server, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 2600})
    act = Actions(page)
    act.count += 1
    page.goto(server.url, wait_until="domcontentloaded")
    page.get_by_role("textbox", name="Username").wait_for(timeout=30_000)
    act.fill(page.get_by_role("textbox", name="Username"), "demo-evaluator")
    act.fill(page.get_by_role("textbox", name="Password"), accounts.DEMO_PASSWORD)
    act.click(page.get_by_role("button", name="Log in"))
    page.get_by_text("Logged in as demo-evaluator").wait_for(timeout=30_000)

    act.click(page.get_by_role("link", name="Fieldwork"))
    page.get_by_text("Due now ·").first.wait_for(timeout=30_000)
    settle(page)
    table = page.locator('[data-testid="stDataFrame"]').nth(2)  # after the workload and the overdue calls
    heading = page.get_by_role("heading", name="Due now ·")
    assert heading.count() == 1
    box = table.bounding_box()
    act.count += 1  # selecting the call: a click on its row's selection box
    page.mouse.click(box["x"] + 16, box["y"] + 35 + 35 * server.row + 17)
    page.get_by_text("New 9-month follow-up").wait_for(timeout=30_000)
    settle(page)
    assert page.get_by_text(f"Carried forward from the 6-month follow-up · 6 factors {PERSON}").count() == 1

    act.fill(page.get_by_label("Duration (minutes)"), "25")
    settle(page, 0.5)
    expected = {}
    labels = dict(zip(server.previous.factor_code, server.previous.label, strict=True))
    for n, (code, label, last) in enumerate(
        zip(server.previous.factor_code, server.previous.label, server.previous.rating, strict=True)
    ):
        group = page.get_by_role("radiogroup", name=f"Rating of {label}")
        if n < 4:
            act.click(group.get_by_role("radio", name=f"still so ({last:+d})".replace("-", "−")))
            expected[code] = (int(last), "", "false")
        else:
            changed = 1 if last == 2 else 2 if last == 1 else -1 if last == -2 else -2
            act.click(group.get_by_role("radio", name=f"{changed:+d}".replace("-", "−"), exact=True))
            expected[code] = (changed, "", "false")
        settle(page, 0.3)
    search = page.get_by_role("textbox", name="Search the codebook")
    for n, (code, word, rating, quote) in enumerate(NEW):
        act.fill(search, word)
        settle(page, 0.8)
        label = server.labels[code]
        labels[code] = label
        group = page.get_by_role("radiogroup", name=f"Rating of {label}")
        act.click(group.get_by_role("radio", name=f"{rating:+d}".replace("-", "−"), exact=True))
        settle(page, 0.5)
        evidence = page.get_by_role("textbox", name=f"Evidence for {label}")
        act.fill(evidence, quote)
        if n == 0:  # by keyboard: Enter keeps the excerpt and submits nothing, Tab goes to its Shareable, Space ticks
            act.press(evidence, "Enter")
            settle(page, 0.8)
            assert page.get_by_text("New 9-month follow-up").count() == 1, "Enter saved nothing"
            act.press(evidence, "Tab")
            focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
            assert focused == "Shareable", focused
            act.count += 1
            page.keyboard.press("Space")
        settle(page, 0.8)
        expected[code] = (rating, quote, str(n == 0).lower())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "log_interview_coded_1400.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 4200})  # a phone: the same form, one column
    settle(page)
    page.screenshot(path=str(SCREENSHOTS / "log_interview_coded_390.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 2600})
    settle(page)
    act.click(page.get_by_role("button", name="Save interview"))
    page.get_by_text("Edit the 9-month follow-up").wait_for(timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0, server.output()
    assert act.count <= 30, f"{act.count} actions"
    print(f"actions counted: {act.count}")
    page.close()

    server.stop()
    con = storage.connect(server.db)
    service.export_study(con, EVALUATOR, tmp_path / "export")
    con.close()
    with (tmp_path / "export" / "factor_ratings.csv").open(encoding="utf-8") as handle:
        stored = {
            r["factor_code"]: (int(r["rating"]), r["evidence"], r["shareable"])
            for r in csv.DictReader(handle)
            if r["participant_code"] == PERSON and r["wave"] == WAVE
        }
    assert stored == expected, {labels[c]: v for c, v in stored.items()}


def test_a_draft_typed_before_a_reload_is_offered_back(browser, server):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 2600})
    page.goto(server.url, wait_until="domcontentloaded")
    login(page, "demo-evaluator", accounts.DEMO_PASSWORD)
    page.get_by_role("link", name="Fieldwork").click()
    page.get_by_text("Due now ·").first.wait_for(timeout=30_000)
    settle(page)
    box = page.locator('[data-testid="stDataFrame"]').nth(2).bounding_box()
    page.mouse.click(box["x"] + 16, box["y"] + 35 + 35 * server.row + 17)
    page.get_by_text("New 9-month follow-up").wait_for(timeout=30_000)
    settle(page)
    page.get_by_label("Summary notes").fill("The coach left in May; the café still runs.")
    page.get_by_label("Summary notes").press("Control+Enter")  # a text area keeps its text on Ctrl+Enter or blur
    settle(page)
    first = server.previous.label.iloc[0]
    page.get_by_role("radiogroup", name=f"Rating of {first}").get_by_role("radio", name="not mentioned").click()
    settle(page)
    assert "log-interview" in page.url and "LIAS-05" in page.url
    page.context.clear_cookies()  # the session is lost (a reload alone keeps it, through the session cookie)
    page.reload(wait_until="domcontentloaded")
    login(page, "demo-evaluator", accounts.DEMO_PASSWORD)
    page.get_by_text("Unsaved draft.").wait_for(timeout=30_000)
    assert page.get_by_role("radiogroup").count() == 0, "the form waits for restore or discard"
    page.get_by_role("button", name="Restore the draft").click()
    page.get_by_text("New 9-month follow-up").wait_for(timeout=30_000)
    settle(page)
    summary = page.get_by_label("Summary notes")
    expect(summary).to_have_value("The coach left in May; the café still runs.", timeout=30_000)
    chosen = page.get_by_role("radiogroup", name=f"Rating of {first}").get_by_role("radio", name="not mentioned")
    expect(chosen).to_have_attribute("aria-checked", "true", timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0, server.output()
    page.close()
