"""Reports: a project at a wave and the portfolio, as PDF (text extracted and checked) and self-contained HTML."""

import io
import re

import pytest
from pypdf import PdfReader

from innovation_tracker import storage
from innovation_tracker.cli import main
from innovation_tracker.domain.errors import NotFound
from innovation_tracker.domain.model import AccountRole, Indicator, IndicatorType, Viewer
from innovation_tracker.views import reports
from tests.conftest import DEMO_TODAY, EVALUATOR
from tests.support.browser import chromium_or_skip

FUNDER = Viewer("demo-funder", AccountRole.FUNDER)
TEAM = Viewer("demo-team-arts", AccountRole.TEAM, frozenset({"ARTS"}))


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def indicator_rows(con, project: str, before: str, after: str) -> list[tuple[str, str, str]]:
    """(label, value before, value after) for every indicator, straight from the database."""
    return [
        (label, b or "—", a or "—")
        for label, b, a in con.execute(
            """
            SELECT d.label, max(v.value) FILTER (WHERE v.wave = $before), max(v.value) FILTER (WHERE v.wave = $after)
            FROM indicator d LEFT JOIN indicator_value v ON v.indicator_code = d.indicator_code
                 AND v.project_code = $project
            GROUP BY d.label, d.position ORDER BY d.position
            """,
            {"project": project, "before": before, "after": after},
        ).fetchall()
    ]


@pytest.fixture(scope="module")
def project_pdf(demo_file):
    chromium_or_skip()
    con = storage.connect(demo_file)
    name, data = reports.build(con, EVALUATOR, today=DEMO_TODAY, project_code="ARTS", wave="month_6", fmt="pdf")
    rows = indicator_rows(con, "ARTS", "month_3", "month_6")
    project_name = con.execute("SELECT name FROM project WHERE project_code = 'ARTS'").fetchone()[0]
    con.close()
    return name, data, rows, project_name


def test_the_pdf_names_the_project_the_wave_and_the_indicator_values(project_pdf):
    name, data, rows, project_name = project_pdf
    assert name == "report-ARTS-month_6.pdf" and data.startswith(b"%PDF")
    text = pdf_text(data)
    assert f"{project_name} (ARTS) · 6-month follow-up" in text
    assert "Indicator 3-month follow-up 6-month follow-up Change" in text
    lines = text.splitlines()
    for label, before, after in rows:
        line = next(line for line in lines if line.startswith(label + " "))
        assert line.startswith(f"{label} {before} {after} "), line


def test_the_pdf_has_every_section_and_embeds_the_figures(project_pdf):
    _, data, _, _ = project_pdf
    reader = PdfReader(io.BytesIO(data))
    text = pdf_text(data)
    headings = [
        "Status and fieldwork",
        "Sustainability indicators",
        "Barriers and facilitators",
        "What changed since the 3-month follow-up",
        "Shareable excerpts from the 6-month follow-up",
    ]
    assert all(heading in text for heading in headings)
    assert sum(len(page.images) for page in reader.pages) == 3, "indicators, heat map, barriers and facilitators"
    assert re.search(r"At the 6-month follow-up: \d+ of \d+ participants interviewed", text)


def test_the_status_table_matches_the_schedule(demo_file):
    con = storage.connect(demo_file)
    schedule = storage.project_schedule(con, EVALUATOR, "ARTS", DEMO_TODAY)
    report = reports.project_report(con, EVALUATOR, "ARTS", "month_6", today=DEMO_TODAY)
    con.close()
    table = next(b for b in report.blocks if isinstance(b, reports.Table)).frame
    assert list(table.Wave) == ["Baseline", "3-month follow-up", "6-month follow-up"]
    for wave, row in zip(["baseline", "month_3", "month_6"], table.itertuples(), strict=True):
        assert row.Completed == int(((schedule.wave == wave) & (schedule.status == "completed")).sum())


def test_the_report_quotes_only_shareable_excerpts_at_the_wave(demo_file):
    con = storage.connect(demo_file)
    report = reports.project_report(con, EVALUATOR, "ARTS", "month_6", today=DEMO_TODAY)
    shared, unshared = (
        {r[0] for r in con.execute(
            "SELECT r.evidence FROM factor_rating r JOIN interview i USING (interview_id) JOIN participant p"
            " USING (participant_code) WHERE p.project_code = 'ARTS' AND i.wave = 'month_6' AND r.evidence"
            " IS NOT NULL AND r.shareable = ?", [flag]).fetchall()}
        for flag in (True, False)
    )  # fmt: skip
    con.close()
    quotes = {b.text for b in report.blocks if isinstance(b, reports.Quote)}
    assert quotes == shared and not quotes & unshared


def test_the_html_report_is_self_contained_with_plotly_once(demo_file):
    con = storage.connect(demo_file)
    name, data = reports.build(con, EVALUATOR, today=DEMO_TODAY, project_code="ARTS", fmt="html")
    con.close()
    page = data.decode("utf-8")
    assert name == "report-ARTS-month_9.html", "by default the latest wave with data"
    assert page.count("Plotly.newPlot(") == 3
    assert len(re.findall(r"\* plotly\.js v\d", page)) == 1, "the library is embedded once"
    assert not re.search(r"<script[^>]+src=", page), "nothing is loaded from the network"
    assert "Arts on Referral (ARTS) · 9-month follow-up" in page


def report_content(report: reports.Report) -> str:
    """Everything a report shows (its blocks and the figures' data), without plotly.js around it."""
    parts = [report.title, report.subtitle]
    for block in report.blocks:
        if isinstance(block, reports.Table):
            parts.append(block.frame.to_csv(index=False))
        elif isinstance(block, reports.Figure):
            parts.append(block.figure.to_json())
        else:
            parts.append(str(block))
    return "\n".join(parts)


@pytest.mark.parametrize("viewer", [FUNDER, TEAM], ids=["funder", "team"])
def test_de_identified_viewers_get_de_identified_reports(demo_file, viewer):
    con = storage.connect(demo_file)
    codes = [r[0] for r in con.execute("SELECT participant_code FROM participant").fetchall()]
    unshared = {r[0] for r in con.execute(
        "SELECT DISTINCT evidence FROM factor_rating WHERE evidence IS NOT NULL AND NOT shareable"
        " EXCEPT SELECT evidence FROM factor_rating WHERE shareable").fetchall()}  # fmt: skip
    summaries = {
        r[0] for r in con.execute("SELECT DISTINCT summary FROM interview WHERE summary IS NOT NULL").fetchall()
    }
    shown = [
        reports.project_report(con, viewer, "ARTS", today=DEMO_TODAY),
        reports.portfolio_report(con, viewer, today=DEMO_TODAY),
    ]
    con.close()
    any_code = re.compile(r"\b(?:" + "|".join(map(re.escape, codes)) + r")\b")
    for report in shown:
        content = report_content(report)
        assert not any_code.search(content)
        assert not [e for e in unshared if e in content] and not [s for s in summaries if s in content]


def test_a_team_cannot_report_on_another_project(demo_file):
    con = storage.connect(demo_file)
    with pytest.raises(NotFound, match="no project 'BEAT' among the projects you can see"):
        reports.build(con, TEAM, today=DEMO_TODAY, project_code="BEAT", fmt="html")
    portfolio = reports.portfolio_report(con, TEAM, today=DEMO_TODAY)
    con.close()
    tables = [b.frame for b in portfolio.blocks if isinstance(b, reports.Table) and "Project" in b.frame.columns]
    assert tables and all(set(t.Project.str[:4]) == {"ARTS"} for t in tables)


def test_an_unknown_wave_is_named(demo_file):
    con = storage.connect(demo_file)
    with pytest.raises(NotFound, match="no wave 'month_99'; the study's waves are baseline, month_3"):
        reports.build(con, EVALUATOR, today=DEMO_TODAY, wave="month_99", fmt="html")
    con.close()


def test_the_portfolio_report_covers_every_project(demo_file):
    con = storage.connect(demo_file)
    report = reports.portfolio_report(con, FUNDER, "month_6", today=DEMO_TODAY)
    projects = [r[0] for r in con.execute("SELECT project_code FROM project ORDER BY 1").fetchall()]
    outlook = dict(con.execute(
        "SELECT project_code, value FROM indicator_value WHERE indicator_code = 'outlook' AND wave = 'month_6'"
    ).fetchall())  # fmt: skip
    con.close()
    assert report.title == "Portfolio report · 6-month follow-up"
    table = next(b.frame for b in report.blocks if isinstance(b, reports.Table) and "Risk" in b.frame.columns)
    assert sorted(p.split(" · ")[0] for p in table.Project) == projects
    assert table.Risk.tolist() == list(range(1, len(projects) + 1))
    shown = dict(zip(table.Project.str.split(" · ").str[0], table["Outlook"], strict=True))
    assert shown == {p: outlook[p].capitalize() if p in outlook else "—" for p in projects}
    order = {"Red": 0, "Amber": 1, "Green": 2, "—": 3}
    assert table.Outlook.map(order).is_monotonic_increasing, "most at risk first"
    assert len(report.figures) == 3, "outlook grid, net balance, factor matrix"


def test_reports_are_audited(seeded):
    before = seeded.execute("SELECT count(*) FROM audit_entry WHERE action = 'report'").fetchone()[0]
    reports.build(seeded, FUNDER, today=DEMO_TODAY, fmt="html")
    actor, entity, key = seeded.execute(
        "SELECT actor, entity, entity_key FROM audit_entry WHERE action = 'report' ORDER BY audit_id DESC"
    ).fetchone()
    # By default the latest finished round: the 9-month round is under way at DEMO_TODAY.
    assert (actor, entity, key) == ("demo-funder", "portfolio", "report-portfolio-month_6")
    assert seeded.execute("SELECT count(*) FROM audit_entry WHERE action = 'report'").fetchone()[0] == before + 1


def test_an_empty_study_still_gives_a_report(study_db):
    report = reports.portfolio_report(study_db, EVALUATOR, today=DEMO_TODAY)
    assert any("No projects yet" in b.text for b in report.blocks if isinstance(b, reports.Text))
    assert reports.to_html(report).startswith(b"<!DOCTYPE html>")


def test_the_cli_writes_a_portfolio_pdf(seeded_path, tmp_path, capsys):
    chromium_or_skip()
    out = tmp_path / "portfolio.pdf"
    assert main(["report", "--db", str(seeded_path), "--out", str(out), "--wave", "month_3",
                 "--today", DEMO_TODAY.isoformat()]) == 0  # fmt: skip
    text = pdf_text(out.read_bytes())
    assert "Portfolio report · 3-month follow-up" in text and "Early warnings as of 2 Mar 2026" in text
    assert "Report written to" in capsys.readouterr().out


OUTLOOK = Indicator("outlook", "Outlook", IndicatorType.RAG, None, None, "higher")
FUNDING = Indicator("funding", "Funding", IndicatorType.ORDINAL, 0, 3, "higher")
WAITING = Indicator("waiting", "Waiting list", IndicatorType.COUNT, 0, None, "lower")
CHAMPION = Indicator("champion", "Champion", IndicatorType.BOOLEAN, None, None, "higher")


@pytest.mark.parametrize(
    "indicator, before, after, expected",
    [
        (FUNDING, "1", "2", "+1, better"),
        (FUNDING, "3", "1", "−2, worse"),
        (FUNDING, "2", "2", "no change"),
        (WAITING, "10", "4", "−6, better"),
        (OUTLOOK, "amber", "red", "worse"),
        (OUTLOOK, "red", "green", "better"),
        (CHAMPION, "yes", "no", "worse"),
        (FUNDING, None, "2", "first score"),
        (FUNDING, "2", None, "not scored"),
    ],
)
def test_indicator_change_in_words(indicator, before, after, expected):
    assert reports.indicator_change(indicator, before, after) == expected


def test_the_pdf_falls_back_to_helvetica_where_dejavu_is_not_installed(monkeypatch):
    monkeypatch.setattr(reports, "FONT_DIRS", ())
    report = reports.Report("Café · −2 … “quoted” → ü", "subtitle", "stem")
    report.blocks += [reports.Heading("Ratings"), reports.Quote("It’s – fine", "Factor · rated −1 · Manager")]
    text = pdf_text(reports.to_pdf(report))
    assert 'Café · -2 ... "quoted" -> ü' in text and "It's - fine" in text and "rated -1" in text
