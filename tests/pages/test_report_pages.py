"""Reports people can read: every page of the demo's portfolio report and of one project report drawn to PNG with
poppler's pdftoppm, and the PDF's text holding, in full, every project code and factor label its tables and charts
show (charts carry a text alternative under them)."""

import io
import re
import shutil
import subprocess

import pytest
from PIL import Image
from pypdf import PdfReader

from innovation_tracker import storage
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.views import reports
from tests.conftest import DEMO_TODAY
from tests.support.browser import chromium_or_skip

FUNDER = Viewer("demo-funder", AccountRole.FUNDER)
pytestmark = pytest.mark.slow


def shown_labels(report: reports.Report) -> tuple[set[str], set[str]]:
    """The project codes and factor labels that the report's tables and figures show."""
    codes, factors = set(), set()
    for block in report.blocks:
        if isinstance(block, reports.Table):
            if "Project" in block.frame.columns:
                codes |= {str(v).split(" · ")[0] for v in block.frame.Project}
            if "Factor" in block.frame.columns:
                factors |= set(block.frame.Factor.astype(str))
        elif isinstance(block, reports.Figure):
            for trace in block.figure.data:
                if trace.type == "heatmap":
                    rows = list(trace.y)
                    labels = list(rows[1]) if isinstance(rows[0], list | tuple) else rows
                    if all(" · " in str(r) for r in labels):  # the outlook grid: "CODE · name"
                        codes |= {str(r).split(" · ")[0] for r in labels}
                    else:
                        factors |= {" ".join(str(r).replace("<br>", " ").split()) for r in labels}  # wrapped
                        codes |= {str(c) for c in trace.x if re.fullmatch(r"[A-Z0-9]{2,10}", str(c))}
                elif trace.type == "scatter" and trace.name and re.fullmatch(r"[A-Z0-9]{2,10}", trace.name):
                    codes.add(trace.name)
    return codes, factors


@pytest.fixture(scope="module")
def rendered(demo_file, tmp_path_factory):
    chromium_or_skip()
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils (pdftoppm) is not installed")
    folder = tmp_path_factory.mktemp("reports")
    con = storage.connect(demo_file)
    made = {
        "portfolio": reports.portfolio_report(con, FUNDER, today=DEMO_TODAY),
        "project": reports.project_report(con, FUNDER, "ARTS", today=DEMO_TODAY),
    }
    all_codes = [r[0] for r in con.execute("SELECT project_code FROM project ORDER BY 1").fetchall()]
    con.close()
    out = {}
    for name, report in made.items():
        data = reports.to_pdf(report)
        path = folder / f"{name}.pdf"
        path.write_bytes(data)
        subprocess.run(["pdftoppm", "-r", "40", "-png", str(path), str(folder / name)], check=True)
        pages = PdfReader(io.BytesIO(data)).pages
        text = " ".join(" ".join(page.extract_text().split()) for page in pages)
        out[name] = (report, len(pages), sorted(folder.glob(f"{name}-*.png")), text)
    return out, all_codes


@pytest.mark.parametrize("name", ["portfolio", "project"])
def test_every_page_renders_to_png(rendered, name):
    report, pages, pngs, _ = rendered[0][name]
    assert len(pngs) == pages >= 3
    for png in pngs:
        image = Image.open(png).convert("L")
        assert image.getextrema()[0] < 100, f"{png.name} is blank"


@pytest.mark.parametrize("name", ["portfolio", "project"])
def test_every_project_code_and_factor_label_shown_is_in_the_text_in_full(rendered, name):
    report, _, _, text = rendered[0][name]
    codes, factors = shown_labels(report)
    assert codes and factors
    missing = sorted(c for c in codes if not re.search(rf"\b{re.escape(c)}\b", text))
    assert not missing, f"project codes not in the PDF text: {missing}"
    cut = sorted(f for f in factors if " ".join(f.split()) not in text)
    assert not cut, f"factor labels not in full in the PDF text: {cut}"


def test_the_portfolio_report_names_every_project_and_reads_no_minus_zero(rendered):
    (report, _, _, text), all_codes = rendered[0]["portfolio"], rendered[1]
    codes, factors = shown_labels(report)
    assert codes == set(all_codes)
    assert len(factors) > 30, "the factor matrix shows the codebook's factors"
    assert not re.search(r"(?<![\d.])[−-]0(?![.\d])", text), "a label reads -0"
    assert report.title == "Portfolio report · 6-month follow-up", "the latest finished round by default"
    assert "Status at the 6-month follow-up" in text and "Risk" in text
