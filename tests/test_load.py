"""Load: eight browser sessions use one server at once for about a minute, reading pages and saving milestones
and sustainability scores through the forms. No page shows an exception and every save that was confirmed is in
the database afterwards."""

from __future__ import annotations

import asyncio
import re
import statistics
import time

import pytest

from innovation_tracker import accounts, storage
from tests.browser import CHROMIUM_ARGS, Server, chromium_or_skip
from tests.conftest import DEMO_TODAY

pytestmark = pytest.mark.browser

SESSIONS = 8
DURATION_S = 60
READ_PAGES = ("Portfolio overview", "Project timeline", "Compare projects", "Fieldwork", "Data quality")
TIMEOUT_MS = 90_000
EXCEPTION = '[data-testid="stException"]'


async def settled(page) -> None:
    """The script run has finished (Streamlit shows its status widget while one runs) and raised nothing."""
    await asyncio.sleep(0.3)
    await page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=TIMEOUT_MS)
    assert await page.locator(EXCEPTION).count() == 0, await page.locator(EXCEPTION).first.inner_text()


async def open_page(page, title: str, times: list[float]) -> None:
    started = time.perf_counter()
    await page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title).click()
    heading = "Sustainability scores" if title == "Sustainability" else title
    await page.get_by_role("heading", name=heading).first.wait_for(timeout=TIMEOUT_MS)
    await settled(page)
    times.append(time.perf_counter() - started)


async def add_milestone(page, title: str) -> bool:
    """Fill in and save a new milestone; whether the app confirmed it was saved."""
    form = page.locator('[data-testid="stForm"]').first
    await form.get_by_role("textbox", name="Title").fill(title)
    await form.get_by_role("button", name="Save milestone").click()
    return await confirmed(page, f"Added “{title}”")


async def score(page, engaged: int) -> bool:
    """Save the first project's baseline count of service users engaged; whether the app confirmed it."""
    form = page.locator('[data-testid="stForm"]').first
    await form.get_by_role("spinbutton", name="Service users engaged").fill(str(engaged))
    await form.get_by_role("button", name="Save scores").click()
    return await confirmed(page, re.compile(r"Saved the .+ scores of"))


async def confirmed(page, text: str | re.Pattern) -> bool:
    saved = page.get_by_text(text).first
    refused = page.get_by_text("Nothing was saved").first
    await saved.or_(refused).wait_for(timeout=TIMEOUT_MS)
    await settled(page)
    return await saved.is_visible()


async def session(browser, url: str, number: int, deadline: float, log: dict) -> None:
    context = await browser.new_context(viewport={"width": 1400, "height": 1200})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(url, wait_until="domcontentloaded")
    await page.get_by_role("textbox", name="Username").fill("demo-evaluator")
    await page.get_by_role("textbox", name="Password").fill(accounts.DEMO_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.get_by_role("heading", name="Portfolio overview").wait_for(timeout=TIMEOUT_MS)
    await settled(page)
    step = 0
    while step == 0 or time.monotonic() < deadline:  # every session writes at least once, however slow
        await open_page(page, READ_PAGES[(number + step) % len(READ_PAGES)], log["times"])
        if step % 2 == 0:
            await open_page(page, "Milestones", log["times"])
            title = f"Load test {number}-{step}"
            (log["milestones"] if await add_milestone(page, title) else log["refused"]).append(title)
        else:
            await open_page(page, "Sustainability", log["times"])
            engaged = 1000 * number + step
            (log["scores"] if await score(page, engaged) else log["refused"]).append(engaged)
        step += 1
    await context.close()


async def drive(url: str, executable: str) -> dict:
    from playwright.async_api import async_playwright

    log = {"times": [], "milestones": [], "scores": [], "refused": []}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        deadline = time.monotonic() + DURATION_S
        await asyncio.gather(*(session(browser, url, n, deadline, log) for n in range(SESSIONS)))
        await browser.close()
    return log


def test_eight_sessions_at_once_lose_no_write(seeded_path, tmp_path, capsys):
    executable = chromium_or_skip()
    con = storage.connect(seeded_path)
    milestones_before = con.execute("SELECT count(*) FROM milestone").fetchone()[0]
    audit_before = con.execute("SELECT max(audit_id) FROM audit_entry").fetchone()[0]
    con.close()
    server = Server(seeded_path, DEMO_TODAY.isoformat(), tmp_path / "streamlit.log")
    try:
        log = asyncio.run(drive(server.url, executable))
    except Exception:
        print(server.output())
        raise
    finally:
        server.stop()
    output = server.log_path.read_text(errors="replace")
    assert "Traceback" not in output, output

    con = storage.connect(seeded_path)
    titles = {r[0] for r in con.execute("SELECT title FROM milestone WHERE title LIKE 'Load test %'").fetchall()}
    milestones = con.execute("SELECT count(*) FROM milestone").fetchone()[0]
    scored = [
        int(r[0])
        for r in con.execute(
            "SELECT json_extract_string(after, '$.service_users_engaged') FROM audit_entry"
            " WHERE audit_id > ? AND entity = 'sustainability' ORDER BY audit_id",
            [audit_before],
        ).fetchall()
    ]
    con.close()
    assert titles == set(log["milestones"]), "every confirmed milestone is stored, and nothing unconfirmed"
    assert milestones == milestones_before + len(log["milestones"])
    assert sorted(scored) == sorted(log["scores"]), "every confirmed score was written, and audited once"
    # Throughput depends on the machine; what must hold is that writes happened at all and none was lost.
    assert len(log["milestones"]) + len(log["scores"]) >= SESSIONS, log
    median = statistics.median(log["times"])
    with capsys.disabled():
        print(f"\n{SESSIONS} sessions for {DURATION_S} s: {len(log['times'])} pages, median {median:.2f} s,"
              f" slowest {max(log['times']):.2f} s; {len(log['milestones'])} milestones and {len(log['scores'])}"
              f" scores saved, {len(log['refused'])} refused")  # fmt: skip
