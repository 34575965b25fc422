"""Issue 24, item 4: text that users type reaches every sink escaped for that sink, and reads as typed.

A hostile value goes into every text field a user can edit (study, waves, codebook, indicators, a project, its
milestones, interviews, excerpts, double codings, accounts, contacts, drafts) of the demo study, on DuckDB and on
PostgreSQL. Then every page is opened for every role, and everything the page would render is sorted by how
Streamlit renders it: as markdown (bodies, labels, tooltips, radio and segmented-control options, `st.table` cells),
as Plotly's subset of HTML (every string of a chart's spec), as HTML (`st.html`), or as plain text (`st.dataframe`
cells, selectbox options, typed values). In none may the hostile text become a link or an element, and nowhere may
it read otherwise than as typed (`R&D`, never `R&amp;D` or `R\\&D`). The HTML report is checked the same way."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from google.protobuf.descriptor import FieldDescriptor

from innovation_tracker import storage
from innovation_tracker.app import accounts, double_coding
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.ui.navigation import pages_for
from innovation_tracker.views import reports
from tests.conftest import DEMO_TODAY
from tests.support import postgres
from tests.support.apptest import open_page, open_tab
from tests.support.browser import SCREENSHOTS, Server, login
from tests.support.rendered import html_of, text_of

MARK = "zq"  # in every hostile value, found in any case (some pages lower-case a wave's label)


def hostile(field: str) -> str:
    """A value that is a live link, an image with a script, bold text and a coloured directive wherever it is not
    escaped (markdown, Plotly's HTML, HTML), with an ampersand that must read as one. `field` names it, inside the
    link, so that a label cut short (a milestone's title on the timeline) still carries both."""
    return (
        f'<a href="//ev.il">Zq {field}</a> <img src=x onerror=alert(1)> <b>Zq</b> [Zq](https://ev.il/a) **Zq**'
        " :red[Zq] R&D"
    )


VIEWERS = {
    "admin": Viewer("demo-admin", AccountRole.ADMIN),
    "evaluator": Viewer("demo-evaluator", AccountRole.EVALUATOR),
    "funder": Viewer("demo-funder", AccountRole.FUNDER),
    "team": Viewer("demo-team-arts", AccountRole.TEAM, frozenset({"ARTS"})),
}
# A username may hold only [a-z0-9._-], which is enough for an autolink.
HOSTILE_USERNAME = "www.ev.il.zq"
WAVES = ("baseline", "month_3", "month_6", "month_9", "month_12")  # the demo's
HOSTILE_IDS: dict[str, int] = {}  # records the deeper states open (`deeper`), found when the study is made


def make_hostile(con: storage.Connection) -> None:
    """Every text field a user can type into, hostile: all of the study's reference data, and the records of ARTS
    (which its team sees too), its excerpts made shareable so that funders and teams see them."""
    con.execute("UPDATE study SET name = ?, funder = ?", [hostile("study name"), hostile("study funder")])
    for (wave,) in con.execute("SELECT wave FROM wave").fetchall():
        con.execute("UPDATE wave SET label = ? WHERE wave = ?", [hostile(f"wave {wave}"), wave])
    for (domain,) in con.execute("SELECT DISTINCT domain FROM factor").fetchall():
        con.execute("UPDATE factor SET domain = ? WHERE domain = ?", [hostile(f"domain {domain}"), domain])
    for (code,) in con.execute("SELECT factor_code FROM factor").fetchall():
        con.execute(
            "UPDATE factor SET label = ?, description = ? WHERE factor_code = ?",
            [hostile(f"factor {code}"), hostile(f"definition {code}"), code],
        )
    for code, description in con.execute("SELECT indicator_code, description FROM indicator").fetchall():
        # An ordinal's words for its levels ("0 none, 1 bid made") label its chart's axis: the first one hostile.
        words = re.sub(r"^(\d+) ", rf"\1 {hostile('level ' + code)} ", description, count=1)
        con.execute(
            "UPDATE indicator SET label = ?, description = ? WHERE indicator_code = ?",
            [hostile(f"indicator {code}"), words if words != description else hostile(f"about {code}"), code],
        )
    con.execute(
        "UPDATE project SET name = ?, host_organisation = ?, innovation_type = ? WHERE project_code = 'ARTS'",
        [hostile("project name"), hostile("host"), hostile("innovation")],
    )
    con.execute(
        "UPDATE milestone SET title = ?, notes = ? WHERE project_code = 'ARTS'", [hostile("title"), hostile("notes")]
    )
    arts = "SELECT interview_id FROM interview JOIN participant USING (participant_code) WHERE project_code = 'ARTS'"
    con.execute(f"UPDATE interview SET summary = ?, interviewer = ? WHERE interview_id IN ({arts})",
                [hostile("summary"), hostile("interviewer")])  # fmt: skip
    con.execute(f"UPDATE factor_rating SET evidence = ?, shareable = TRUE, coder = ? WHERE interview_id IN ({arts})",
                [hostile("excerpt"), hostile("coder")])  # fmt: skip
    con.execute(f"UPDATE coding_rating SET evidence = ?, shareable = TRUE WHERE interview_id IN ({arts})",
                [hostile("coding excerpt")])  # fmt: skip
    con.execute(f"UPDATE coding SET coder = ? WHERE coding = 1 AND interview_id IN ({arts})", [hostile("first coder")])
    con.execute(f"UPDATE consensus SET reason = ? WHERE interview_id IN ({arts})", [hostile("reason")])
    con.execute(
        "UPDATE participant_contact SET telephone = ?, email = ?, call_times = ? WHERE participant_code IN"
        " (SELECT participant_code FROM participant WHERE project_code = 'ARTS')",
        [hostile("telephone"), hostile("contact email"), hostile("call times")],
    )
    con.execute("UPDATE user_account SET display_name = ?, email = ?", [hostile("display name"), hostile("e-mail")])
    con.execute(
        "INSERT INTO user_account (username, display_name, role, active) VALUES (?, ?, 'team', TRUE)",
        [HOSTILE_USERNAME, hostile("new account")],
    )
    con.execute("INSERT INTO user_project (username, project_code) VALUES (?, 'ARTS')", [HOSTILE_USERNAME])
    con.execute("UPDATE user_account SET locked_until = TIMESTAMP '2099-01-01' WHERE username = ?", [HOSTILE_USERNAME])
    for viewer in VIEWERS.values():  # a draft of another interview than the one the page opens on
        con.execute(
            "INSERT INTO form_draft (username, form, title, participant_code, params, content)"
            " VALUES (?, 'interview:ARTS-09:month_12', ?, 'ARTS-09', ?, '{}')",
            [viewer.username, hostile("draft"), json.dumps({"project": "ARTS"})],
        )
    # An audited change, so that the audit log holds hostile text; a blind second coding in progress for each
    # editor, so that Double coding shows its form.
    first = con.execute(f"SELECT min(interview_id) FROM ({arts}) AS arts").fetchone()[0]
    storage.update_interview(con, "demo-evaluator", first, {"summary": hostile("audited summary")})
    for viewer in (VIEWERS["admin"], VIEWERS["evaluator"]):
        candidates = storage.second_coding_candidates(con, viewer, "ARTS")
        double_coding.start(con, viewer, int(candidates.interview_id.iloc[0]))


def reconcilable(con: storage.Connection) -> int:
    """An ARTS interview coded twice, whose disagreements Double coding lists for reconciling."""
    queue = storage.coding_queue(con, VIEWERS["evaluator"])
    saved = queue[queue.saved_at.notna() & (queue.project_code == "ARTS")]
    return int(saved.interview_id.iloc[0])


@pytest.fixture(scope="module")
def hostile_database(backend, request, tmp_path_factory):
    """The demo study with every user-typed field hostile, for the module's reads: a file, or a PostgreSQL copy."""
    if backend == "duckdb":
        target = tmp_path_factory.mktemp("hostile") / "hostile.duckdb"
        target.write_bytes(request.getfixturevalue("demo_file").read_bytes())
    else:
        target = postgres.create_database(postgres.server_or_skip(), template=request.getfixturevalue("demo_template"))
    con = storage.connect(target)
    make_hostile(con)
    HOSTILE_IDS["reconcile"] = reconcilable(con)
    con.close()
    yield target
    if backend != "duckdb":
        postgres.drop_database(target)


# What Streamlit renders as markdown: element bodies, labels, tooltips, deltas, and the options of radios, select
# sliders and segmented controls. Selectbox and multiselect options are plain text (Streamlit 1.67 draws them as
# text); so are text, code and whatever a widget holds.
MARKDOWN_FIELDS = {"body", "label", "help", "delta", "content", "captions"}
MARKDOWN_OPTIONS = {"radio", "select_slider", "slider", "button_group"}
PLAIN_FIELDS = {"default", "value", "raw_value", "placeholder", "options", "default_value"}
PLAIN_TYPES = {"text", "code", "json", "exception"}


def _strings(message) -> Iterator[tuple[str, str]]:
    """Every string in a protobuf message, with the name of the field holding it."""
    for field, value in message.ListFields():
        items = value if field.is_repeated else [value]
        for item in items:
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                yield from _strings(item)
            elif field.type == FieldDescriptor.TYPE_STRING:
                yield field.name, item


def sinks(at) -> Iterator[tuple[str, str, str]]:
    """(how it renders, where, text) for everything the page shows: "markdown", "plotly", "html" or "plain"."""

    def walk(node) -> Iterator[tuple[str, str, str]]:
        kind = getattr(node, "type", "")
        if kind in ("dataframe", "table"):
            frame = node.value
            sink = "markdown" if kind == "table" else "plain"  # st.table renders its cells as markdown
            for column in frame.columns:
                yield sink, f"{kind} header", str(column)
            for column in frame.columns:
                for value in frame[column].dropna().astype(str):
                    yield sink, f"{kind} cell", value
        elif kind == "plotly_chart":
            yield from (("plotly", "chart", s) for s in _json_strings(json.loads(node.proto.spec)))
        elif kind == "html":
            yield "html", "html", node.proto.body
        elif getattr(node, "proto", None) is not None:
            for name, text in _strings(node.proto):
                if kind in PLAIN_TYPES:
                    yield "plain", f"{kind}.{name}", text
                elif name in MARKDOWN_FIELDS or (name == "options" and kind in MARKDOWN_OPTIONS):
                    yield "markdown", f"{kind}.{name}", text
                elif name in PLAIN_FIELDS:
                    yield "plain", f"{kind}.{name}", text
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    yield from walk(at._tree)


def _json_strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


LIVE_HTML = re.compile(r"<a\b|<img\b|<b>zq", re.IGNORECASE)  # what the hostile HTML is, unescaped
# What a text escaped twice, or for another sink, shows its reader: an entity, a markdown escape, a word joiner.
MISREAD = re.compile(r"&amp;|&lt;|&gt;|&quot;|&#|\\[\\<>\[\]*_:`]|\u2060")


def problems_of(sink: str, text: str) -> list[str]:
    """What is wrong with `text` in `sink`, when it holds hostile text: live markup, or text not as typed."""
    if MARK not in text.lower():
        return []
    if sink == "markdown":
        rendered, shown = html_of(text), text_of(text)
        live = [m.group() for m in re.finditer(r"<a\b[^>]*ev\.il[^>]*>|<img\b[^>]*>|<b>", rendered)]
        live += [m.group() for m in re.finditer(r"<(strong|em|del|s)>zq<", rendered, re.IGNORECASE)]
        autolinks = re.findall(r"(?:https?|ftp)://ev\.il|www\.ev\.il", text.replace("\\", ""))
        directives = re.findall(r"(?<!\\):red\[", text)
        misread = MISREAD.findall(shown)
        return [f"live {x}" for x in live + autolinks + directives] + [f"reads {x!r}" for x in misread]
    if sink in ("plotly", "html"):
        # Escaped twice; and Plotly decodes only &amp; &lt; &gt; and numeric entities, so &quot; reads as written.
        entities = re.findall(r"&amp;(?:amp|lt|gt|quot|#)" + ("|&quot;" if sink == "plotly" else ""), text)
        return [f"live {m.group()}" for m in LIVE_HTML.finditer(text)] + [f"reads {e!r}" for e in entities]
    return [f"reads {x!r}" for x in MISREAD.findall(text)]


def hostile_problems(at) -> tuple[list[str], dict[str, int]]:
    """Every problem in the page's sinks, and how many strings with hostile text each kind of sink held."""
    found: dict[str, None] = {}  # each problem once, in the order met
    seen: dict[str, int] = {}
    for sink, where, text in sinks(at):
        if MARK in text.lower():
            seen[sink] = seen.get(sink, 0) + 1
        problems = problems_of(sink, text)
        if problems:
            found[f"{sink} {where}: {', '.join(dict.fromkeys(problems))} in {text[:160]!r}"] = None
    return list(found), seen


def _rerun(at, **state):
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def deeper(page: str, at) -> Iterator:
    """The states of `page` beyond the first that show more user text: a search, a selection, a tab, a form."""
    if page == "pages/overview.py":
        yield _rerun(at, **{"overview:warnings": True, "overview:outlook": True, "overview:balance": True})
    elif page == "pages/compare.py":
        yield at.radio[0].set_value("Change between two waves").run()
    elif page == "pages/matrix.py":
        first = at.dataframe[0].value.columns[0]
        yield _rerun(at, **{"matrix:table": {"selection": {"rows": [], "columns": [], "cells": [[0, first]]}}})
    elif page == "pages/search.py":
        yield at.text_input(key="search:text").input("zq").run()
    elif page == "pages/milestones.py" and any(box.key == "milestones:choice:ARTS" for box in at.selectbox):
        picker = at.selectbox(key="milestones:choice:ARTS")
        yield picker.select(next(o for o in picker.options if MARK in o.lower())).run()
    elif page == "pages/log-interview.py":
        person = at.selectbox(key="log:person:ARTS").value
        form = f"interview:{person}:{at.selectbox(key=f'log:wave:{person}').value}"
        marks = {f"{form}:mark:ctx_team_expertise": 1, f"{form}:evidence:ctx_team_expertise": hostile("typed")}
        _rerun(at, **marks)
        yield at.text_input(key="log:search").input("zq").run()  # every group of the codebook open
    elif page == "pages/double-coding.py":
        blind = int(at.selectbox(key="dc:continue").value)
        yield _rerun(at, **{f"blind:{blind}:factors": ["ctx_team_expertise", "ctx_safe_environment"]})
        yield _rerun(at, **{"dc:mode": "Reconcile", "dc:reconcile": HOSTILE_IDS["reconcile"]})
    elif page == "pages/settings.py":
        for tab in ("Codebook", "Indicators", "Waves"):
            yield open_tab(at, "settings:tab", tab)
    elif page == "pages/manage.py":
        for tab in ("Projects", "Participants"):
            yield open_tab(at, "manage:tab", tab)
    elif page == "pages/agreement.py":
        for wave in WAVES:  # the figures at each wave, double-coded or not
            yield _rerun(at, **{"agreement:wave": wave})
    elif page == "pages/users.py":
        yield at.selectbox(key="change_account").select(HOSTILE_USERNAME).run()


CASES = [(role, spec.path) for role in VIEWERS for spec in pages_for(VIEWERS[role])]


@pytest.mark.parametrize("role, page", CASES, ids=[f"{r}-{p.split('/')[-1][:-3]}" for r, p in CASES])
def test_every_page_shows_hostile_text_escaped_for_every_role(monkeypatch, hostile_database, role, page):
    at = open_page(monkeypatch, hostile_database, page, VIEWERS[role], project="ARTS")
    found, seen = hostile_problems(at)
    assert seen.get("markdown"), f"{page} showed {role} no hostile text: the sweep would prove nothing"
    for chart in at.get("plotly_chart"):  # every chart draws waves, factors or projects: all hostile
        assert any(MARK in s.lower() for s in _json_strings(json.loads(chart.proto.spec)))
    for state in deeper(page, at):
        assert not state.exception, [e.value for e in state.exception]
        found += [f for f in hostile_problems(state)[0] if f not in found]
    assert not found, "\n".join(found)


def plotted(page: str) -> Iterator[tuple[list, dict]]:
    """The data and layout of every figure an HTML file draws (`Plotly.newPlot(id, data, layout, config)`)."""
    decoder = json.JSONDecoder()
    for call in re.finditer(r'Plotly\.newPlot\(\s*"[^"]*",\s*', page):
        data, end = decoder.raw_decode(page, call.end())
        layout, _ = decoder.raw_decode(page, page.index("{", end))
        yield data, layout


@pytest.mark.parametrize("role", VIEWERS)
def test_the_html_report_shows_hostile_text_escaped(hostile_database, role):
    con = storage.connect(hostile_database)
    try:
        made = {
            "project": reports.project_report(con, VIEWERS[role], "ARTS", today=DEMO_TODAY),
            "portfolio": reports.portfolio_report(con, VIEWERS[role], today=DEMO_TODAY),
        }
    finally:
        con.close()
    for name, report in made.items():
        page = reports.to_html(report).decode()
        outside = re.sub(r"<script\b[^>]*>.*?</script>", "", page, flags=re.DOTALL)
        found = [f"{name} page: {p}" for p in problems_of("html", outside)]
        for figure in report.figures:
            strings = _json_strings(json.loads(reports.for_report(figure.figure).to_json()))
            found += [f"{name} figure: {p} in {s[:120]!r}" for s in strings for p in problems_of("plotly", s)]
            found += [f"{name} figure text: {p}" for p in problems_of("plain", figure.text)]
        for data, layout in plotted(page):  # the figures as the file carries them
            found += [
                f"{name} file's figure: {p}" for s in _json_strings([data, layout]) for p in problems_of("plotly", s)
            ]
        assert not found, "\n".join(found)
        assert MARK in outside.lower() and len(list(plotted(page))) == len(report.figures) > 0


# What the browser makes of it: Streamlit's markdown and Plotly's own renderer, not only the specs sent to them.
LIVE_IN_BROWSER = """() => {
    const main = document.querySelector('[data-testid="stMain"]');
    const hrefs = [...main.querySelectorAll('a')].map(a => a.getAttribute('href') || a.getAttribute('xlink:href'));
    const bold = [...main.querySelectorAll('strong, b, tspan')].filter(e =>
        e.textContent.trim().toLowerCase() === 'zq' && (e.tagName !== 'tspan' || /bold/.test(e.getAttribute('style'))));
    return {
        links: hrefs.filter(h => (h || '').includes('ev.il')),
        images: main.querySelectorAll('img[src="x"], image[href="x"]').length,
        bold: bold.length,
        charts: main.querySelectorAll('.js-plotly-plot').length,
        chartText: [...main.querySelectorAll('.js-plotly-plot text')].map(t => t.textContent).join('\\n'),
        text: main.innerText.replaceAll('\\u2060', ''),
    };
}"""


@pytest.mark.browser
def test_in_a_browser_hostile_text_is_text_in_charts_and_markdown(browser, seeded_path, tmp_path):
    con = storage.connect(seeded_path)
    make_hostile(con)
    con.close()
    server = Server(seeded_path, DEMO_TODAY.isoformat(), tmp_path / "streamlit.log")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 4000})
        page.goto(server.url)
        page.get_by_role("textbox", name="Username").wait_for(timeout=60_000)
        login(page, "demo-team-arts", accounts.DEMO_PASSWORD)
        for address, charts in (("timeline?project=ARTS", 4), ("glossary", 0), ("compare", 2)):
            page.goto(f"{server.url}/{address}")
            page.locator("h1").first.wait_for(timeout=60_000)
            if charts:
                page.locator(".js-plotly-plot .main-svg").nth(charts - 1).wait_for(timeout=60_000)
            page.wait_for_timeout(1_000)  # the last charts' text drawn
            shown = page.evaluate(LIVE_IN_BROWSER)
            assert (shown["links"], shown["images"], shown["bold"]) == ([], 0, 0), address
            assert shown["charts"] >= charts
            assert "Zq wave" in shown["text"] and "R&D" in shown["text"] and "&amp;" not in shown["text"]
            if charts:  # Plotly shows the tags as text, and the ampersand as one
                assert '<a href="//ev.il">' in shown["chartText"] and "R&D" in shown["chartText"], address
                assert "&amp;" not in shown["chartText"] and "&lt;" not in shown["chartText"], address
            assert page.locator("[data-testid='stException']").count() == 0
        page.screenshot(path=str(SCREENSHOTS / "compare-hostile.png"), full_page=True)
    finally:
        server.stop()
