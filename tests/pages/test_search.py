"""Search across the evidence: what each role finds, the filters, paging, the highlighted results page, and the
journey from a result to its project's timeline in a real browser."""

import re
from dataclasses import replace

import pytest

from innovation_tracker import storage
from innovation_tracker.app import accounts
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.storage import SearchFilters, search_evidence, search_words
from innovation_tracker.views import evidence_search
from tests.conftest import DEMO_TODAY, EVALUATOR
from tests.support.apptest import open_page
from tests.support.browser import SCREENSHOTS, Server, login

FUNDER = Viewer("fun", AccountRole.FUNDER)
TEAM_EMPL = Viewer("team", AccountRole.TEAM, frozenset({"EMPL"}))
UNSHARED = "Other teams asked why we got the money and they didn't."  # LIAS-01's baseline, not shareable
PHONE = "Half the young people only have a phone with no data."  # EMPL: three shareable, one not


def expected(con, where: str, params=()):
    """Ratings whose evidence matches `where`, read straight from the tables (the oracle)."""
    sql = (
        "SELECT count(*) FROM factor_rating r JOIN interview i USING (interview_id)"
        " JOIN participant p USING (participant_code) WHERE " + where
    )
    return con.execute(sql, list(params)).fetchone()[0]


@pytest.mark.parametrize(
    "text, words",
    [("Money", ("money",)), ('  funding "host  organisation" funding ', ("funding", "host  organisation")), ("", ())],
)
def test_search_words_are_lower_case_distinct_and_quotes_make_a_phrase(text, words):
    assert search_words(text) == words


def test_an_evaluator_finds_every_excerpt_with_every_word_in_any_case(seeded):
    found = search_evidence(seeded, EVALUATOR, "PHONE no DATA", SearchFilters(summaries=False), limit=100)
    oracle = expected(seeded, "lower(r.evidence) LIKE '%phone%' AND lower(r.evidence) LIKE '%no data%'")
    assert found.total == len(found.rows) == oracle == 4
    assert set(found.rows.text) == {PHONE}
    assert set(found.rows.participant_code) == {"EMPL-02", "EMPL-04", "EMPL-06"}
    assert list(found.rows.interview_date) == sorted(found.rows.interview_date, reverse=True)


def test_a_funder_finds_only_shareable_excerpts_and_never_a_participant_code(seeded):
    found = search_evidence(seeded, FUNDER, "phone with no data", limit=100)
    assert found.total == expected(seeded, "r.shareable AND r.evidence = ?", [PHONE]) == 3
    assert all(re.fullmatch(r"EMPL · [A-Za-z -]+ [A-Z]", code) for code in found.rows.participant_code)
    assert search_evidence(seeded, FUNDER, "why we got the money").total == 0
    assert search_evidence(seeded, EVALUATOR, "why we got the money").total == 1


def test_summaries_are_searched_for_editors_only(seeded):
    words = "main concern"
    editors = search_evidence(seeded, EVALUATOR, words, limit=1000)
    n_summaries = seeded.execute(
        "SELECT count(*) FROM interview WHERE contains(lower(summary), 'main concern')"
    ).fetchone()[0]
    assert n_summaries > 0
    assert (editors.rows.source == "summary").sum() == n_summaries
    assert search_evidence(seeded, FUNDER, words).total == 0
    assert search_evidence(seeded, TEAM_EMPL, words).total == 0
    assert search_evidence(seeded, EVALUATOR, words, SearchFilters(summaries=False)).total == 0


def test_a_team_finds_only_its_own_projects(seeded):
    found = search_evidence(seeded, TEAM_EMPL, "a", limit=1000)
    assert found.total == len(found.rows) > 0
    assert set(found.rows.project_code) == {"EMPL"}
    everyone = search_evidence(seeded, FUNDER, "a", limit=5000)
    assert set(everyone.rows.project_code) > {"EMPL"}


def test_filters_narrow_by_factor_wave_project_role_and_sign(seeded):
    everything = search_evidence(seeded, EVALUATOR, "e", SearchFilters(summaries=False), limit=5000).rows
    assert len(everything) == expected(seeded, "contains(lower(r.evidence), 'e')")
    factor, wave, project, role = everything.iloc[0][["factor_code", "wave", "project_code", "role"]]
    cases = [
        (SearchFilters(factors=(factor,)), everything.factor_code == factor),
        (SearchFilters(waves=(wave,)), everything.wave == wave),
        (SearchFilters(projects=(project, "NOPE")), everything.project_code == project),
        (SearchFilters(roles=(role,), summaries=False), everything.role == role),
        (SearchFilters(sign="barrier"), everything.rating < 0),
        (SearchFilters(sign="facilitator", waves=(wave,)), (everything.rating > 0) & (everything.wave == wave)),
    ]
    for filters, wanted in cases:
        found = search_evidence(seeded, EVALUATOR, "e", replace(filters, summaries=False), limit=5000)
        assert found.total == int(wanted.sum()) > 0, filters
    with pytest.raises(ValueError, match="unknown rating sign"):
        search_evidence(seeded, EVALUATOR, "e", SearchFilters(sign="sideways"))  # neutral and mixed are signs now


def test_pages_cover_every_match_once_and_a_page_past_the_end_keeps_the_total(seeded):
    whole = search_evidence(seeded, EVALUATOR, "the", SearchFilters(summaries=False), limit=10_000)
    pages = [search_evidence(seeded, EVALUATOR, "the", SearchFilters(summaries=False), 7, n * 7) for n in range(3)]
    assert [len(p.rows) for p in pages] == [7, 7, 7]
    assert {p.total for p in pages} == {whole.total}
    keys = [tuple(r) for p in pages for r in p.rows[["interview_id", "factor_code"]].itertuples(index=False)]
    assert keys == [tuple(r) for r in whole.rows[["interview_id", "factor_code"]].head(21).itertuples(index=False)]
    beyond = search_evidence(seeded, EVALUATOR, "the", SearchFilters(summaries=False), 10, whole.total + 5)
    assert beyond.rows.empty and beyond.total == whole.total


@pytest.mark.parametrize(
    "text, filters",
    [
        ("the", SearchFilters()),
        ("we", SearchFilters(sign="barrier")),
        ("to", SearchFilters(waves=("month_6", "month_9"))),
        ("phone", SearchFilters(projects=("LIAS", "EMPL"))),
        ("zebra crossing", SearchFilters()),
    ],
)
@pytest.mark.parametrize("viewer", [FUNDER, TEAM_EMPL], ids=["funder", "team"])
def test_a_de_identified_search_built_within_the_pages_projects_is_the_one_step_search(seeded, viewer, text, filters):
    """Funders' and teams' pages are built in two steps (which projects, then their pseudonyms); every page, and
    the total, must be what the one-step search over the whole study gives."""
    from innovation_tracker.storage.search import _search_page

    words = search_words(text)
    whole = _search_page(seeded, viewer, words, filters, limit=1000, offset=0)
    assert (whole.total > 0) == (text != "zebra crossing")
    for offset in range(0, whole.total + 7, 7):
        page = search_evidence(seeded, viewer, text, filters, limit=7, offset=offset)
        assert page.total == whole.total
        assert page.rows.to_dict("records") == whole.rows.iloc[offset : offset + 7].to_dict("records")


def test_highlight_escapes_markup_and_marks_every_word_in_any_case():
    text = "Funding <script>alert(1)</script> and [link](http://x) **FUNDING**"
    shown = evidence_search.highlight(text, ("funding", "script"))
    assert "<script>" not in shown
    assert shown.count("<mark>") == 4
    assert shown.startswith("<mark>Funding</mark> &lt;<mark>script</mark>&gt;")
    assert "[link](http://x) **<mark>FUNDING</mark>**" in shown


def test_the_search_page_shows_highlighted_results_with_links_to_the_timeline(monkeypatch, seeded_path):
    at = open_page(monkeypatch, seeded_path, "pages/search.py")
    assert at.info[-1].value == "Type a word or a phrase to search the evidence."
    at.text_input(key="search:text").input('"phone with no data"').run()
    assert not at.exception
    assert at.main.caption[-1].value == "4 matches, newest first; 1–4 shown."
    shown = [h.proto.body for h in at.get("html") if h.proto.body.startswith("<div><strong>")]
    assert len(shown) == 4
    assert all("<mark>phone with no data</mark>" in body for body in shown)
    assert all(body.startswith("<div><strong>EMPL</strong> · EMPL-0") for body in shown)
    assert "Service users lack internet access · −2 strong barrier" in shown[0]
    links = [link for link in at.get("page_link") if "timeline" in link.proto.label]
    assert [link.proto.label for link in links] == ["EMPL's timeline"] * 4


def test_a_funder_on_the_search_page_sees_pseudonyms_and_no_summaries(monkeypatch, seeded_path):
    at = open_page(monkeypatch, seeded_path, "pages/search.py", viewer=FUNDER)
    assert "Include interview summaries" not in [c.label for c in at.checkbox]
    at.text_input(key="search:text").input("phone with no data").run()
    bodies = [h.proto.body for h in at.get("html") if h.proto.body.startswith("<div><strong>")]
    assert len(bodies) == 3
    assert not any(re.search(r"EMPL-\d\d", body) for body in bodies)
    assert all(
        re.match(r"<div><strong>EMPL</strong> · [A-Za-z -]+ [A-Z] · [^·]+ · \d+ \w{3} \d{4}<br>", b) for b in bodies
    )
    assert not [link for link in at.get("page_link") if link.proto.label == "Open the interview"]


def test_the_search_page_says_when_nothing_matches(monkeypatch, seeded_path):
    at = open_page(monkeypatch, seeded_path, "pages/search.py")
    at.text_input(key="search:text").input("zebra crossing").run()
    assert [w.value for w in at.warning] == ["Nothing matches. Try fewer words, or fewer filters."]


def test_the_search_page_of_an_empty_study_explains_what_it_will_search(monkeypatch, empty_study):
    at = open_page(monkeypatch, empty_study, "pages/search.py", today=DEMO_TODAY)
    assert "Nothing to search yet" in at.info[-1].value


@pytest.mark.browser
@pytest.mark.slow
def test_a_search_leads_from_an_excerpt_to_its_projects_timeline(browser, seeded_path, tmp_path):
    server = Server(seeded_path, DEMO_TODAY.isoformat(), tmp_path / "streamlit.log")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 2000})
        page.goto(f"{server.url}/search", wait_until="domcontentloaded")
        login(page, "demo-funder", accounts.DEMO_PASSWORD)
        page.get_by_role("heading", name="Search the evidence").wait_for(timeout=30_000)
        box = page.get_by_role("textbox", name="Words to find")
        box.fill('"Phone with no data"')
        box.press("Enter")
        page.get_by_text("3 matches, newest first").wait_for(timeout=30_000)
        marks = page.locator("mark")
        marks.nth(2).wait_for(timeout=30_000)
        assert marks.count() == 3 and marks.first.inner_text() == "phone with no data"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "search.png"), full_page=True)
        page.get_by_role("link", name="EMPL's timeline").first.click()
        page.get_by_role("heading", name="Project timeline").wait_for(timeout=30_000)
        assert page.url.endswith("/timeline?project=EMPL")
        assert page.locator('[data-testid="stException"]').count() == 0, server.output()
    finally:
        server.stop()


def test_results_come_newest_first_then_by_project_participant_and_the_codebooks_order(seeded):
    """The page's rows are chosen before their labels are joined (storage/search.py): the order and the labels
    must be those of the whole result."""
    found = search_evidence(seeded, EVALUATOR, "the", limit=10_000).rows
    factors = storage.list_factors(seeded)
    position = {f.factor_code: n for n, f in enumerate(factors)}
    keys = [
        (-r.interview_date.toordinal(), r.project_code, r.participant_code, r.source, position.get(r.factor_code, 999))
        for r in found.itertuples()
    ]
    assert len(keys) > 20 and keys == sorted(keys)
    labels = {f.factor_code: f.label for f in factors}
    excerpts = found[found.source == "excerpt"]
    assert list(excerpts.factor_label) == [labels[code] for code in excerpts.factor_code]
    waves = {w.wave: w.label for w in storage.list_waves(seeded)}
    assert list(found.wave_label) == [waves[wave] for wave in found.wave]
