"""A real `streamlit run` on a free port and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = ROOT / "tests" / "screenshots"


def chromium_or_skip() -> str:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if os.environ.get("INNOVATION_TRACKER_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required here (INNOVATION_TRACKER_REQUIRE_BROWSER is set) but not installed")
        pytest.skip("Chromium is not installed (CI installs Debian's chromium)")
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`streamlit run dashboard.py` against a given database (a DuckDB file or a `postgresql://` URL); fails with the
    server's output if it dies. `env` adds environment variables; with `wait=False` the caller waits for health
    (`wait_for_health`), so that several servers start together."""

    def __init__(
        self,
        db: Path | str,
        today: str,
        log: Path,
        extra_args: tuple[str, ...] = (),
        port: int | None = None,
        env: dict[str, str] | None = None,
        wait: bool = True,
    ):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        env = {**os.environ, "INNOVATION_TRACKER_DB": str(db), "INNOVATION_TRACKER_TODAY": today, **(env or {})}
        self.log = log.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "dashboard.py",
                "--server.headless",
                "true",
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
                *extra_args,
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        if wait:
            self.wait_for_health()

    def wait_for_health(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.process.returncode}:\n{self.output()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                if r.read() == b"ok":
                    return
            time.sleep(0.3)
        raise RuntimeError(f"streamlit did not become healthy in {timeout}s:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def login(page, username: str, password: str, timeout: float = 30_000) -> None:
    """Log in through the form and wait for the sidebar to say who is logged in. Until that run ends, the log-in
    page's elements may still be on screen (its demo accounts hint names `demo-evaluator`): `login_page_gone`."""
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text(f"Logged in as {username}").wait_for(timeout=timeout)


def login_page_gone(page, timeout: float = 60_000) -> None:
    """Wait until the log-in page's demo accounts hint has left the screen: 0.6 s after the sidebar said who had
    logged in, it was still there (measured for a deep link to a page the account may not open)."""
    page.get_by_text("Demo accounts (this database only)").wait_for(state="detached", timeout=timeout)


def heatmap_cells(page) -> dict | None:
    """The factor heat map's data as the browser holds it: factor labels, wave labels and mean ratings."""
    return page.evaluate(
        """() => {
            for (const plot of document.querySelectorAll('.js-plotly-plot')) {
                const trace = (plot.data || []).find(t => t.type === 'heatmap');
                if (trace && plot.layout.title.text.includes('Barriers and facilitators by wave')) {
                    const labels = Array.isArray(trace.y[0]) ? trace.y[trace.y.length - 1] : trace.y;
                    const z = trace.z.map(r => Array.from(r));
                    return {factors: Array.from(labels), waves: Array.from(trace.x), z: z};
                }
            }
            return null;
        }"""
    )


def pick_in_grid(page, grid, x: float, y: float, text: str) -> None:
    """Choose `text` in a select cell of an st.data_editor grid: open the cell's editor, type, confirm."""
    box = grid.bounding_box()
    page.mouse.dblclick(box["x"] + x, box["y"] + y)
    editor = page.locator("#portal input").first
    editor.wait_for(timeout=10_000)
    editor.press_sequentially(text, delay=30)
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)
