"""The Agreement and Double coding pages in AppTest, as every role: the figures shown are agreement.py's on the units
spelled out from the tables; funders see statistics only; a team its own project; editors code blind (the form never
shows the first coding) and reconcile, and the consensus becomes the rating in force."""

import re

import pytest

from innovation_tracker import storage
from innovation_tracker.app import double_coding
from innovation_tracker.domain import agreement
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.ui.navigation import pages_for
from tests.app.test_double_coding import units_from_tables
from tests.support.apptest import everything_shown, open_page

ADMIN = Viewer("demo-admin", AccountRole.ADMIN)
EVALUATOR = Viewer("demo-evaluator", AccountRole.EVALUATOR)
FUNDER = Viewer("demo-funder", AccountRole.FUNDER)
TEAM = Viewer("demo-team-arts", AccountRole.TEAM, frozenset({"ARTS"}))
PAGE, CODING = "pages/agreement.py", "pages/double-coding.py"


@pytest.fixture(scope="module")
def oracle(demo_file):
    con = storage.connect(demo_file)
    units = units_from_tables(con)
    others = con.execute("SELECT project_code, name FROM project WHERE project_code <> 'ARTS'").fetchall()
    con.close()
    return units, others


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def expected_metrics(units) -> dict[str, str]:
    row = agreement.agreement(units).iloc[0]
    return {
        "Double-coded interviews": None,
        "Units compared": f"{int(row.n_units):,}",
        "Percent agreement": f"{row.percent_agreement:.1%}",
        "Cohen's kappa (cited)": f"{row.kappa_cited:.2f}",
        "Krippendorff's alpha (rating)": f"{row.alpha_rating:.2f}",
    }


@pytest.mark.parametrize("viewer", [ADMIN, EVALUATOR, FUNDER], ids=["admin", "evaluator", "funder"])
def test_the_page_shows_agreement_py_on_the_same_data(monkeypatch, seeded_path, oracle, viewer):
    units, _ = oracle
    at = open_page(monkeypatch, seeded_path, PAGE, viewer)
    shown = metrics(at)
    expected = expected_metrics(units)
    assert {k: v for k, v in shown.items() if k != "Double-coded interviews"} == {
        k: v for k, v in expected.items() if k != "Double-coded interviews"
    }
    assert shown["Double-coded interviews"] == "46"
    by_project = at.dataframe[0].value
    per_project = agreement.agreement(units, ["project_code"]).set_index("project_code")
    assert len(by_project) == 11
    for row in by_project.itertuples():
        assert row._6 == f"{per_project.loc[row.Project, 'kappa_cited']:.2f}"  # Kappa (cited)
        assert row.Units == per_project.loc[row.Project, "n_units"]
    by_factor = at.dataframe[1].value
    per_factor = agreement.agreement(units, ["factor_code"])
    assert len(by_factor) == len(per_factor) == 47
    editors = viewer.edits_study_data
    assert ("Reconciliation" in [h.value for h in at.subheader]) == editors
    if not editors:  # statistics only: no excerpt, reason or coder's name
        text = everything_shown(at)
        assert "Demo: discussed" not in text and "P. Shah" not in text and "A. Byrne" not in text


def test_a_team_sees_its_own_projects_agreement_only(monkeypatch, seeded_path, oracle):
    units, others = oracle
    at = open_page(monkeypatch, seeded_path, PAGE, TEAM)
    mine = units[units.project_code == "ARTS"]
    shown = metrics(at)
    for label, value in expected_metrics(mine).items():
        if value is not None:
            assert shown[label] == value
    assert list(at.dataframe[0].value.Project) == ["ARTS"]
    text = everything_shown(at)
    for code, name in others:
        assert not re.search(rf"\b{code}\b", text) and name not in text


def test_a_chosen_wave_narrows_the_figures(monkeypatch, seeded_path, oracle):
    units, _ = oracle
    con = storage.connect(seeded_path)
    at_wave = units_from_tables(con, "baseline")
    con.close()
    at = open_page(monkeypatch, seeded_path, PAGE)
    at.selectbox(key="agreement:wave").set_value("baseline").run()
    assert not at.exception
    assert metrics(at)["Units compared"] == f"{len(at_wave):,}"
    assert metrics(at)["Krippendorff's alpha (rating)"] == expected_metrics(at_wave)["Krippendorff's alpha (rating)"]


@pytest.mark.parametrize("viewer", [EVALUATOR, FUNDER], ids=["evaluator", "funder"])
def test_an_empty_study_explains_double_coding(monkeypatch, empty_study, viewer):
    at = open_page(monkeypatch, empty_study, PAGE, viewer)
    assert "Nothing is double-coded yet. **Double coding** is how a team" in at.info[-1].value
    assert ("Start one on the Double coding page" in at.info[-1].value) == viewer.edits_study_data


def test_only_editors_are_offered_the_double_coding_page():
    for viewer, offered in ((ADMIN, True), (EVALUATOR, True), (FUNDER, False), (TEAM, False)):
        assert ("double-coding" in {p.url_path for p in pages_for(viewer)}) == offered
        assert "agreement" in {p.url_path for p in pages_for(viewer)}


def test_an_evaluator_codes_blind_then_reconciles_and_the_consensus_is_in_force(monkeypatch, seeded_path):
    con = storage.connect(seeded_path)
    candidates = storage.second_coding_candidates(con, EVALUATOR, "ARTS")
    with_evidence = con.execute(
        "SELECT interview_id, any_value(evidence) FROM factor_rating WHERE evidence IS NOT NULL"
        " AND list_contains(?::INTEGER[], interview_id) GROUP BY 1 ORDER BY 1 LIMIT 1",
        [[int(i) for i in candidates.interview_id]],
    ).fetchone()
    interview_id, quote = with_evidence
    first = dict(
        con.execute("SELECT factor_code, rating FROM factor_rating WHERE interview_id = ?", [interview_id]).fetchall()
    )
    factors = {f.factor_code: f for f in storage.list_factors(con)}
    extra = next(c for c, f in factors.items() if f.kind == "facilitator" and c not in first)
    con.close()

    at = open_page(monkeypatch, seeded_path, CODING, EVALUATOR)
    at.selectbox(key="dc:interview:ARTS").set_value(interview_id).run()
    at.button(key="dc:start").click().run()
    assert not at.exception
    assert at.multiselect(key=f"blind:{interview_id}:factors").value == []
    assert quote not in everything_shown(at)  # nothing of the first coding on the blind form
    assert "You are coding blind" in at.caption[0].value or any("You are coding blind" in c.value for c in at.caption)

    at.multiselect(key=f"blind:{interview_id}:factors").set_value([extra]).run()
    at.selectbox(key=f"blind:{interview_id}:rating:{extra}").set_value(2).run()
    at.text_input(key=f"blind:{interview_id}:evidence:{extra}").input("It made all the difference").run()
    at.button(key=f"blind:{interview_id}:save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]

    at.query_params["interview"] = str(interview_id)
    at.session_state["dc:mode"] = "Reconcile"
    at.run()
    assert at.selectbox(key="dc:reconcile").value == interview_id
    shown = everything_shown(at)
    assert "It made all the difference" in shown and quote in shown  # both codings, now that both are saved
    form = f"consensus:{interview_id}"
    at.selectbox(key=f"{form}:choice:{extra}").set_value(1).run()
    at.button(key=f"{form}:save").click().run()
    assert [e.value for e in at.error if "why" in e.value]  # a reason is required, nothing saved
    at.text_input(key=f"{form}:reason:{extra}").input("Both heard it; a facilitator, not a strong one").run()
    at.button(key=f"{form}:save").click().run()
    assert not at.exception and not [e.value for e in at.error]
    assert "Consensus: +1, by demo-evaluator" in everything_shown(at)

    con = storage.connect(seeded_path)
    in_force = con.execute(
        "SELECT rating, evidence FROM factor_rating WHERE interview_id = ? AND factor_code = ?", [interview_id, extra]
    ).fetchone()
    assert in_force == (1, "It made all the difference")
    tables = double_coding.agreement_tables(con, EVALUATOR)
    assert int(tables.overall.iloc[0].n_interviews) == 47
    con.close()
