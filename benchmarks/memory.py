"""Peak resident memory of the app: `streamlit run` on a portfolio, driven through the main pages in Chromium."""

from __future__ import annotations

import time
from pathlib import Path

from innovation_tracker.app import accounts
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, Server, login

MAIN_PAGES = ("Project timeline", "Compare projects", "Fieldwork", "Data quality", "Log an interview", "Audit log")
PAGE_TIMEOUT_MS = 180_000


def _settled(page) -> None:
    """Wait until the script run has finished: Streamlit shows its status widget while one is running."""
    time.sleep(0.5)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=PAGE_TIMEOUT_MS)
    if page.locator('[data-testid="stException"]').count():
        raise RuntimeError(page.locator('[data-testid="stException"]').first.inner_text())


def peak_memory(db: Path, today: str, log_dir: Path, log=print) -> dict[str, float]:
    """VmHWM (peak resident set) of the server process after an evaluator has opened every main page."""
    from playwright.sync_api import sync_playwright

    server = Server(db, today, log_dir / "memory-streamlit.log")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(server.url, wait_until="domcontentloaded")
            login(page, "demo-evaluator", accounts.DEMO_PASSWORD, timeout=PAGE_TIMEOUT_MS)
            page.get_by_role("heading", name="Portfolio overview").wait_for()
            _settled(page)
            for title in MAIN_PAGES:
                page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title).click()
                page.locator('[data-testid="stMain"] h1').filter(has_text=title.split()[0]).first.wait_for()
                _settled(page)
                log(f"  opened {title}: peak {_status(server.process.pid)['VmHWM'] / 1024:.0f} MB")
            browser.close()
        status = _status(server.process.pid)
    finally:
        server.stop()
    return {"peak_mb": status["VmHWM"] / 1024, "resident_mb": status["VmRSS"] / 1024}


def _status(pid: int) -> dict[str, int]:
    """The kB figures of /proc/PID/status."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            found[key] = int(value.split()[0])
    return found
