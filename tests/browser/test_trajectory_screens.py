"""The face of the dashboard in a real browser: light and dark themes, a phone's width, the demo banner on every
page, and an axe-core accessibility check over every page as an evaluator and as a team."""

import shutil

import pytest

from innovation_tracker.app import accounts
from innovation_tracker.ui.navigation import PAGES, pages_for
from tests.conftest import DEMO_TODAY, EVALUATOR
from tests.support.browser import SCREENSHOTS, Server, login

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TEAM_USER = "demo-team-arts"


@pytest.fixture(scope="module")
def server(demo_file, tmp_path_factory):
    folder = tmp_path_factory.mktemp("screens")
    shutil.copy(demo_file, folder / "demo.duckdb")
    server = Server(folder / "demo.duckdb", DEMO_TODAY.isoformat(), folder / "streamlit.log")
    yield server
    server.stop()


def open_as(browser, server, path, username, *, width=1400, scheme="light"):
    context = browser.new_context(viewport={"width": width, "height": 2400}, color_scheme=scheme)
    page = context.new_page()
    page.goto(f"{server.url}/{path}", wait_until="domcontentloaded")
    login(page, username, accounts.DEMO_PASSWORD)
    return page


def go_to(page, spec, team: bool):
    """Open a page through the sidebar, as a person does (a reload would start a new session, logged out)."""
    title = spec.team_title if team and spec.team_title else spec.title
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    page.get_by_role("heading", level=1).first.wait_for(timeout=90_000)
    page.wait_for_timeout(2500)


def settle(page, charts: int = 0):
    page.wait_for_selector('[data-testid="stMain"]', timeout=90_000)
    if charts:
        page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot').length >= {charts}", timeout=90_000)
    page.wait_for_timeout(1500)


def luminance(css: str) -> float:
    """Relative brightness (0 black … 1 white) of an `rgb(…)`/`rgba(…)` colour."""
    values = [float(v) for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3]]
    return (0.2126 * values[0] + 0.7152 * values[1] + 0.0722 * values[2]) / 255


def chart_colours(page) -> list[dict]:
    """Per plot: the page's background behind it, the plot's own background, and its title's fill."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(plot => {
            const bg = plot.querySelector('.main-svg rect.bg');
            const title = plot.querySelector('.gtitle');
            let node = plot, page = 'rgba(0, 0, 0, 0)';
            while (node && (page === 'rgba(0, 0, 0, 0)' || page === 'transparent')) {
                page = getComputedStyle(node).backgroundColor; node = node.parentElement;
            }
            return {page, paper: getComputedStyle(plot.querySelector('.main-svg')).backgroundColor,
                    title: title ? getComputedStyle(title).fill : null};
        })"""
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("path", "charts"), [("overview", 3), ("timeline?project=ARTS", 4)])
def test_charts_follow_the_theme_and_screenshots_are_kept(browser, server, scheme, path, charts):
    page = open_as(browser, server, path, "demo-evaluator", scheme=scheme)
    settle(page, charts)
    assert page.locator('[data-testid="stException"]').count() == 0, server.output()
    name = path.split("?")[0]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}-{scheme}.png", full_page=True, timeout=120_000)
    for colours in chart_colours(page):
        page_light = luminance(colours["page"]) > 0.5
        assert colours["title"] is not None
        # The title reads against the page: dark on light, light on dark.
        assert (luminance(colours["title"]) < 0.5) == page_light, colours
    page.context.close()


@pytest.mark.parametrize("path", ["overview", "timeline?project=ARTS"])
def test_a_phone_width_page_stays_readable(browser, server, path):
    page = open_as(browser, server, path, "demo-evaluator", width=390)
    settle(page, 3)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=SCREENSHOTS / f"{path.split('?')[0]}-390.png", full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, "the page scrolls sideways at 390 px"
    page.context.close()


def test_the_team_lands_on_its_project_with_the_demo_banner_on_every_page(browser, server):
    page = open_as(browser, server, "", TEAM_USER)
    page.get_by_role("heading", name="Next follow-ups").wait_for(timeout=90_000)
    assert "Portfolio" not in page.get_by_role("heading", level=1).first.inner_text()
    page.screenshot(path=SCREENSHOTS / "team-landing.png", full_page=True)
    from innovation_tracker.domain.model import AccountRole, Viewer

    team = Viewer(TEAM_USER, AccountRole.TEAM, frozenset({"ARTS"}))
    for spec in pages_for(team):
        go_to(page, spec, team=True)
        page.get_by_text("Demo data.").first.wait_for(timeout=90_000)
        assert page.get_by_text("Demo data.").count() == 1, spec.url_path
    page.context.close()


AXE_IMPACTS = ("serious", "critical")


@pytest.mark.parametrize(("username", "viewer"), [("demo-evaluator", EVALUATOR), (TEAM_USER, None)])
def test_no_serious_or_critical_accessibility_violations(browser, server, username, viewer):
    from axe_playwright_python.sync_playwright import Axe

    from innovation_tracker.domain.model import AccountRole, Viewer

    viewer = viewer or Viewer(TEAM_USER, AccountRole.TEAM, frozenset({"ARTS"}))
    axe = Axe()
    page = open_as(browser, server, "", username)
    found = {}
    for spec in pages_for(viewer):
        go_to(page, spec, team=viewer.role == AccountRole.TEAM)
        page.wait_for_timeout(2000)
        results = axe.run(page, context={"exclude": [[s] for s in KNOWN_EXCLUDED]})
        bad = [v for v in results.response["violations"] if v["impact"] in AXE_IMPACTS]
        if bad:
            found[spec.url_path] = [(v["id"], v["impact"], len(v["nodes"]), v["nodes"][0]["target"]) for v in bad]
    page.context.close()
    assert not found, found


# Parts of the page that Streamlit itself draws and this project cannot change; each is listed, with why, in the
# docs/user-guide.md ("Accessibility").
KNOWN_EXCLUDED: tuple[str, ...] = ('[data-testid="stSidebarNavItems"]',)
assert {spec.url_path for spec in PAGES}  # every page is reached through navigation
