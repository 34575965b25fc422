"""The second built-in codebook (CFIR 2.0), its kind `either`, the neutral (0) and mixed (X) ratings a codebook may
declare, and the codebook chosen at `init` and on a new study's first-admin setup: real DuckDB files, real pages."""

import datetime as dt
import json
import math
import subprocess
import sys
from importlib import resources

import pandas as pd
import pytest

from innovation_tracker import storage
from innovation_tracker.app import capture, service, study_settings
from innovation_tracker.domain import analysis, codebook
from innovation_tracker.domain.errors import ValidationError
from innovation_tracker.domain.model import (
    AccountRole,
    FactorKind,
    Study,
    Viewer,
    agreement_value,
    check_rating,
)
from innovation_tracker.formats import redcap
from innovation_tracker.storage import SearchFilters
from innovation_tracker.ui.navigation import PAGES
from tests.conftest import EVALUATOR, make_empty_study
from tests.support import cfir_study
from tests.support.apptest import open_page
from tests.support.rendered import text_of

ROOT = resources.files("innovation_tracker").joinpath("..")
CFIR_DOMAINS = ["innovation", "outer_setting", "inner_setting", "individuals", "implementation_process"]
ADMIN = Viewer("root", AccountRole.ADMIN)


def test_the_cfir_codebook_holds_five_domains_every_construct_either_and_declares_0_and_x():
    factors, neutral_mixed = codebook.load_codebook_and_scale("cfir2")
    assert neutral_mixed is True
    assert list(dict.fromkeys(f.domain for f in factors)) == CFIR_DOMAINS
    per_domain = pd.Series([f.domain for f in factors]).value_counts().to_dict()
    # Constructs (and sub-constructs) of Damschroder et al. 2022, Table 3.
    assert per_domain == {
        "innovation": 8, "outer_setting": 7 + 3, "inner_setting": 11 + 10, "individuals": 9 + 4,
        "implementation_process": 9 + 6,
    }  # fmt: skip
    assert {f.kind for f in factors} == {FactorKind.EITHER}
    labels = {f.label for f in factors}
    assert {"Tension for change", "Culture: learning-centredness", "Engaging: recipients", "Innovation cost"} <= labels
    text = resources.files("innovation_tracker.domain.defaults").joinpath("codebook_cfir2.csv").read_text()
    assert "Damschroder LJ, Reardon CM, Widerquist MAO, Lowery J" in text and "2022;17:75" in text
    brooks, brooks_scale = codebook.load_codebook_and_scale("brooks2011")
    assert (len(brooks), brooks_scale) == (47, False)


def test_a_codebook_file_may_start_with_comments_and_must_declare_both_extra_ratings_or_none(tmp_path):
    good = tmp_path / "mine.csv"
    good.write_text(
        "# My own codebook\n# ratings: neutral, mixed\nfactor_code,domain,kind,label,description,retired\n"
        "a_one,first,either,One,,false\nb_two,second,barrier,Two,,true\n"
    )
    factors, scale = codebook.load_codebook_and_scale(good)
    assert scale and [(f.factor_code, f.retired) for f in factors] == [("a_one", False), ("b_two", True)]
    bad = tmp_path / "bad.csv"
    bad.write_text("# ratings: neutral\nfactor_code,domain,kind,label\na_one,first,either,One\n")
    with pytest.raises(ValidationError) as refused:
        codebook.load_codebook_and_scale(bad)
    assert refused.value.problems[0].rule == "scale" and "both or none" in refused.value.problems[0].message


@pytest.mark.parametrize(
    "rating, neutral_mixed, rule",
    [
        (2, False, None), (-1, True, None), (0, True, None), ("X", True, None), ("x", True, None),
        (0, False, "rating_range"), ("X", False, "rating_range"), (3, True, "rating_range"),
        ("Y", True, "rating_range"),
    ],
)  # fmt: skip
def test_one_rating_rule_takes_0_and_x_only_from_a_codebook_that_declares_them(rating, neutral_mixed, rule):
    either = codebook.load_codebook_and_scale("cfir2")[0][0]
    problems = check_rating(rating, either, either.factor_code, neutral_mixed=neutral_mixed)
    assert [p.rule for p in problems] == ([rule] if rule else [])
    if rule and not neutral_mixed:
        assert "−2, −1, +1 or +2" in problems[0].message


def test_init_offers_the_built_in_codebooks_by_name_and_still_takes_a_path(tmp_path):
    def init(db, *more):
        done = subprocess.run(
            [sys.executable, "-m", "innovation_tracker", "init", "--db", str(db), "--start", "2026-01-05", *more],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        con = storage.connect(db)
        found = (len(storage.list_factors(con)), storage.get_study(con).neutral_mixed)
        con.close()
        return found

    assert init(tmp_path / "cfir.duckdb", "--codebook", "cfir2") == (67, True)
    assert init(tmp_path / "brooks.duckdb", "--codebook", "brooks2011") == (47, False)
    assert init(tmp_path / "default.duckdb") == (47, False)
    own = tmp_path / "own.csv"
    own.write_text("factor_code,domain,kind,label,description\nx_one,alpha,barrier,One,\n")
    assert init(tmp_path / "own.duckdb", "--codebook", str(own)) == (1, False)
    helped = subprocess.run(
        [sys.executable, "-m", "innovation_tracker", "init", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "cfir2" in helped and "brooks2011" in helped


def test_a_cfir_interview_stores_0_and_x_and_the_trajectories_count_them_as_cited_and_as_0(cfir):
    ratings = storage.read_table(cfir, EVALUATOR, "factor_ratings")
    first = ratings[ratings.interview_id == 1].set_index("factor_code")
    assert first.loc["ind_mid_level_leaders", ["rating", "mixed"]].tolist() == [0, True]
    assert first.loc["ins_culture_learning", ["rating", "mixed"]].tolist() == [0, False]
    stats = storage.factor_stats(cfir, EVALUATOR, "PEER")
    trajectory = analysis.factor_trajectory(stats, storage.list_factors(cfir), storage.list_waves(cfir), "PEER")
    row = trajectory.set_index(["factor_code", "wave"])
    # Mixed at baseline by all three: cited three times, neither barrier nor facilitator, mean 0.
    assert row.loc[("ind_mid_level_leaders", "baseline"), ["n", "n_barrier", "n_facilitator"]].tolist() == [3, 0, 0]
    assert row.loc[("ind_mid_level_leaders", "baseline"), "mean_rating"] == 0
    # The funding barrier turns into a facilitator: the sign of the rating says which, the kind is either.
    assert row.loc[("ins_available_resources_funding", "baseline"), ["n_barrier", "mean_rating"]].tolist() == [3, -2]
    assert row.loc[("ins_available_resources_funding", "month_6"), ["n_facilitator", "mean_rating"]].tolist() == [3, 1]
    balance = analysis.net_balance(stats, storage.list_waves(cfir)).set_index("wave")
    # Baseline: +2 × 3 (advantage) against −2 × 3 (funding) and −1 × 2 (planning); 0 and X add nothing.
    assert balance.loc["baseline", ["facilitator_weight", "barrier_weight", "n_ratings"]].tolist() == [6, 8, 14]


def test_a_brooks_study_refuses_0_and_x_naming_the_line(monkeypatch, empty_study):
    con = storage.connect(empty_study)
    capture.create_project(con, EVALUATOR, {"project_code": "ART", "name": "Arts", "setting": "community",
                                              "relation_to_statutory": "external", "status": "active"})  # fmt: skip
    person = {"participant_code": "ART-01", "project_code": "ART", "role": "manager",
              "enrolment_date": dt.date(2025, 2, 1)}  # fmt: skip
    capture.enrol_participant(con, EVALUATOR, person, dt.date(2025, 3, 1))
    values = {"wave": "baseline", "interview_date": dt.date(2025, 2, 3), "mode": "telephone", "status": "completed"}
    rows = pd.DataFrame(
        [("ctx_team_expertise", "X", None, False)], columns=["factor", "rating", "evidence", "shareable"]
    )
    with pytest.raises(ValidationError) as refused:
        capture.log_interview(con, EVALUATOR, "ART", "ART-01", values, rows, dt.date(2025, 3, 1))
    assert "rating X (mixed) is not in this study's codebook" in refused.value.problems[0].message
    assert storage.table_counts(con)["interviews"] == 0
    con.close()


def test_export_and_import_carry_x_0_and_the_retired_flag_exactly(cfir, tmp_path):
    study_settings.retire_factor(cfir, EVALUATOR, "prc_planning")
    before = tmp_path / "before"
    service.export_study(cfir, EVALUATOR, before)
    exported = pd.read_csv(before / "factor_ratings.csv")
    assert set(exported.loc[exported.mixed, "rating"]) == {0} and exported.mixed.sum() == 3 + 2 + 3 + 3
    book = pd.read_csv(before / "codebook.csv").set_index("factor_code")
    assert book.retired.sum() == 1 and book.loc["prc_planning", "retired"]
    assert pd.read_csv(before / "study.csv").neutral_mixed.tolist() == [True]
    copy = storage.connect(tmp_path / "copy.duckdb")
    files = [p for p in before.iterdir() if p.name != "wide.csv"]
    service.import_files(copy, files, today=cfir_study.BUILT_ON, actor="test")
    again = tmp_path / "again"
    service.export_study(copy, EVALUATOR, again)
    for file in files:
        assert (again / file.name).read_text() == file.read_text(), file.name
    assert {f.factor_code for f in storage.list_factors(copy) if f.retired} == {"prc_planning"}
    copy.close()


def test_an_import_takes_x_in_the_rating_column_and_refuses_it_for_brooks(cfir, tmp_path, study_db):
    folder = tmp_path / "x"
    service.export_study(cfir, EVALUATOR, folder)
    ratings = pd.read_csv(folder / "factor_ratings.csv", dtype=str, keep_default_na=False)
    ratings["rating"] = ratings.rating.where(ratings.mixed != "true", "X")
    ratings.drop(columns="mixed").to_csv(folder / "factor_ratings.csv", index=False)
    copy = storage.connect(tmp_path / "copy.duckdb")
    files = [p for p in folder.iterdir() if p.name != "wide.csv"]
    service.import_files(copy, files, today=cfir_study.BUILT_ON, actor="test")
    assert storage.read_table(copy, EVALUATOR, "factor_ratings").mixed.sum() == 11
    copy.close()
    one = ratings[ratings.rating == "X"].head(1).assign(factor_code="ctx_team_expertise", domain="", kind="")
    one.drop(columns="mixed").to_csv(tmp_path / "factor_ratings.csv", index=False)
    with pytest.raises(ValidationError) as refused:
        service.import_files(study_db, [tmp_path / "factor_ratings.csv"], today=cfir_study.BUILT_ON, actor="t")
    assert any(p.field == "rating" and "−2, −1, +1 or +2" in p.message for p in refused.value.problems)


def test_the_search_filters_neutral_and_mixed_excerpts(cfir):
    mixed = storage.search_evidence(cfir, EVALUATOR, "grant", SearchFilters(sign="mixed"))
    assert mixed.total == 2 and mixed.rows.mixed.all()
    assert storage.search_evidence(cfir, EVALUATOR, "grant", SearchFilters(sign="facilitator")).total == 0
    neutral = storage.search_evidence(cfir, EVALUATOR, "managers", SearchFilters(sign="neutral"))
    assert neutral.total == 0  # the managers' excerpt is mixed, not neutral


def test_the_redcap_dictionary_offers_0_and_x_only_for_a_codebook_that_declares_them(cfir, study_db):
    def rating_choices(con):
        dictionary = redcap.data_dictionary(storage.get_study(con), storage.list_factors(con), {})
        return dictionary.loc[dictionary.iloc[:, 0] == "rating"].iloc[0, 5]

    assert (
        rating_choices(cfir)
        == "-2, Strong barrier | -1, Barrier | 0, Neutral | X, Mixed | 1, Facilitator | 2, Strong facilitator"
    )
    assert "X, Mixed" not in rating_choices(study_db) and "0, Neutral" not in rating_choices(study_db)


def test_agreement_takes_x_as_its_own_code_and_as_missing_on_the_ordinal_scale():
    assert agreement_value(0, False, ordinal=True) == 0.0
    assert math.isnan(agreement_value(0, True, ordinal=True))
    assert agreement_value(0, True, ordinal=False) != agreement_value(0, False, ordinal=False)


def test_migration_0010_keeps_every_rating_of_an_older_database(seeded):
    ratings = storage.read_table(seeded, EVALUATOR, "factor_ratings")
    assert len(ratings) > 0 and not ratings.mixed.any() and (ratings.rating != 0).all()
    applied = [v for (v,) in seeded.execute("SELECT version FROM schema_migration ORDER BY version").fetchall()]
    assert 10 in applied


def test_the_log_interview_page_offers_0_and_x_on_a_cfir_study(monkeypatch, cfir_path):
    query = {"project": "PEER", "participant": "PEER-01", "wave": "month_9"}
    at = open_page(monkeypatch, cfir_path, "pages/log-interview.py", today=dt.date(2025, 11, 3), **query)
    control = next(c for c in at.get("segmented_control") if c.label == "Rating of Mid-level leaders")
    shown = [o.content.replace("−", "-") for o in control.proto.options]
    assert shown[:3] == ["still so (+2)", "-2", "-1"] and "0" in shown and "X" in shown
    assert any("0** (neutral" in text_of(c.value) or "(neutral" in c.value for c in at.caption)


def test_a_brooks_study_offers_no_0_or_x(monkeypatch, seeded_path):
    query = {"project": "EMPL", "participant": "EMPL-01", "wave": "month_12"}
    at = open_page(monkeypatch, seeded_path, "pages/log-interview.py", **query)
    options = {o.content for c in at.get("segmented_control") for o in c.proto.options}
    assert "0" not in options and "X" not in options


def test_the_timeline_shows_x_in_its_evidence_and_the_glossary_explains_0_and_x(monkeypatch, cfir_path):
    at = open_page(monkeypatch, cfir_path, "pages/timeline.py", today=cfir_study.BUILT_ON, project="PEER")
    evidence = next(d.value for d in at.dataframe if "excerpt" in d.value.columns)
    mixed = evidence[evidence.factor_label == "Mid-level leaders"]
    assert set(mixed.rating) >= {"X", "+2"}
    at = open_page(monkeypatch, cfir_path, "pages/glossary.py", today=cfir_study.BUILT_ON)
    headers = [h.value for h in at.header]
    assert "Neutral (0) and mixed (X) ratings" in headers
    text = " ".join(m.value for m in at.markdown)
    assert "count as **0** in every sum and mean" in text and "This study's codebook uses them." in [
        c.value for c in at.caption
    ]


def test_the_matrix_reads_the_five_cfir_domains(monkeypatch, cfir_path):
    at = open_page(monkeypatch, cfir_path, "pages/matrix.py", today=cfir_study.BUILT_ON)
    columns = at.selectbox[1]
    assert columns.options[1:] == [
        "Factors: Innovation", "Factors: Outer setting", "Factors: Inner setting", "Factors: Individuals",
        "Factors: Implementation process",
    ]  # fmt: skip
    table = at.dataframe[0].value
    assert "Innovation relative advantage" in table.columns and "(either)" not in " ".join(table.columns)


def test_the_first_admin_chooses_the_codebook_of_a_new_study(monkeypatch, tmp_path):
    path = make_empty_study(tmp_path / "new.duckdb")
    at = open_page(monkeypatch, path, viewer=None, today=dt.date(2025, 3, 1))
    choice = at.radio(key="first_admin:codebook")
    assert choice.value == "brooks2011" and len(choice.options) == 2 and choice.options[1].startswith("CFIR 2.0")
    at.text_input(key="first_admin:username").input("root")
    at.text_input(key="first_admin:password").input("long enough now")
    at.text_input(key="first_admin:repeat").input("long enough now")
    choice.set_value("cfir2")
    at = at.button[0].click().run()
    assert not at.exception
    con = storage.connect(path)
    assert (len(storage.list_factors(con)), storage.get_study(con).neutral_mixed) == (67, True)
    before, after = con.execute(
        "SELECT before, after FROM audit_entry WHERE entity = 'study' AND entity_key = 'codebook'"
    ).fetchone()
    assert json.loads(before)["codebook"] == "brooks2011" and json.loads(after) == {
        "codebook": "cfir2", "factors": 67, "neutral_mixed": True,
    }  # fmt: skip
    con.close()


def test_the_codebook_is_no_longer_offered_once_an_interview_is_coded(monkeypatch, cfir, tmp_path):
    assert not study_settings.codebook_choosable(cfir)
    with pytest.raises(ValidationError, match="before any interview is coded"):
        study_settings.choose_codebook(cfir, ADMIN, "brooks2011")
    study = Study("Fresh", dt.date(2025, 1, 1), dt.date(2026, 1, 1))
    fresh = storage.connect(tmp_path / "fresh.duckdb")
    service.init_study(fresh, study, codebook_path="cfir2")
    assert study_settings.codebook_choosable(fresh) and study_settings.current_codebook(fresh) == "cfir2"
    fresh.close()


def test_the_compare_page_counts_projects_citing_cfir_constructs_without_the_papers_column(monkeypatch, cfir_path):
    at = open_page(monkeypatch, cfir_path, "pages/compare.py", today=cfir_study.BUILT_ON)
    assert not at.exception
    table = at.table[0].value
    assert "Projects in the paper (of 11)" not in table.columns
    cited = table.set_index("Factor")["Projects citing"].astype(int)
    # Relative advantage: rated by both projects (CLIN only ever X or 0); financing: PEER's X at 3 months.
    assert cited["Innovation relative advantage"] == 2 and cited["Financing"] == 1
    assert any("X, mixed, rating counts as citing" in c.value for c in at.caption)


@pytest.mark.parametrize("spec", PAGES, ids=[spec.url_path for spec in PAGES])
def test_every_page_renders_on_a_cfir_study(monkeypatch, cfir_path, spec):
    viewer = ADMIN if spec.url_path == "users" else EVALUATOR
    at = open_page(monkeypatch, cfir_path, spec.path, viewer=viewer, today=cfir_study.BUILT_ON, project="PEER")
    assert not at.exception, [e.value for e in at.exception]
