"""Double coding on a CFIR 2.0 study, whose codebook has 0 (neutral) and X (mixed): X survives the blind second
coding, the copy of the first coding and the consensus (stored as rating 0 with `mixed`, never a plain 0); X against
0 is a disagreement; X against X agrees in percent agreement; alpha, which has no place for X, leaves those units
out. Real DuckDB file built through `init --codebook cfir2` and `capture`; the page in AppTest."""

import duckdb
import krippendorff
import numpy as np
import pandas as pd
import pytest

from innovation_tracker import storage
from innovation_tracker.app import double_coding
from innovation_tracker.domain import agreement
from innovation_tracker.domain.model import AccountRole, Viewer
from tests.support.apptest import everything_shown, open_page

SECOND = Viewer("second-coder", AccountRole.EVALUATOR)
# PEER-01's baseline, coded first by cfir_study: funding −2, relative advantage +2, learning culture 0,
# mid-level leaders X, planning −1.
FIRST = {
    "ins_available_resources_funding": -2,
    "inn_relative_advantage": 2,
    "ins_culture_learning": 0,
    "ind_mid_level_leaders": "X",
    "prc_planning": -1,
}
# The blind second coding: learning culture X (first 0: a disagreement), mid-level leaders X (first X: agreement),
# planning −2 (first −1: a disagreement).
SECOND_CODING = {**FIRST, "ins_culture_learning": "X", "prc_planning": -2}


def peer_baseline(con) -> int:
    return con.execute(
        "SELECT interview_id FROM interview WHERE participant_code = 'PEER-01' AND wave = 'baseline'"
    ).fetchone()[0]


def lines(ratings: dict) -> pd.DataFrame:
    return pd.DataFrame(
        [{"factor": code, "rating": rating, "evidence": None, "shareable": False} for code, rating in ratings.items()],
        columns=["factor", "rating", "evidence", "shareable"],
    )


def code_second(con) -> int:
    interview_id = peer_baseline(con)
    double_coding.start(con, SECOND, interview_id)
    double_coding.save(con, SECOND, interview_id, lines(SECOND_CODING))
    return interview_id


def test_x_is_kept_in_both_codings_and_x_against_0_is_a_disagreement(cfir):
    interview_id = code_second(cfir)
    stored = cfir.execute(
        "SELECT coding, factor_code, rating, mixed FROM coding_rating WHERE interview_id = ?"
        " AND factor_code IN ('ins_culture_learning', 'ind_mid_level_leaders') ORDER BY ALL",
        [interview_id],
    ).fetchall()
    assert stored == [
        (1, "ind_mid_level_leaders", 0, True),  # the first coding's X, copied as X
        (1, "ins_culture_learning", 0, False),
        (2, "ind_mid_level_leaders", 0, True),
        (2, "ins_culture_learning", 0, True),  # the blind coder's X, not a plain 0
    ]
    pairs = storage.coding_pairs(cfir, SECOND, interview_id)
    assert set(double_coding.disagreements(pairs).factor_code) == {"ins_culture_learning", "prc_planning"}
    queue = storage.coding_queue(cfir, SECOND).set_index("interview_id")
    assert queue.loc[interview_id, "disagreements"] == 2


def test_a_consensus_of_x_is_rating_0_with_mixed_in_force(cfir):
    interview_id = code_second(cfir)
    decisions = {"ins_culture_learning": ("X", "Both pulls came up equally"), "prc_planning": (-2, "Worse than -1")}
    assert double_coding.reconcile(cfir, SECOND, interview_id, decisions) == 2
    in_force = cfir.execute(
        "SELECT factor_code, rating, mixed FROM factor_rating WHERE interview_id = ? ORDER BY factor_code",
        [interview_id],
    ).fetchall()
    assert ("ins_culture_learning", 0, True) in in_force
    assert ("ind_mid_level_leaders", 0, True) in in_force and ("prc_planning", -2, False) in in_force
    consensus = cfir.execute(
        "SELECT factor_code, rating, mixed FROM consensus WHERE interview_id = ? ORDER BY 1", [interview_id]
    ).fetchall()
    assert consensus == [("ins_culture_learning", 0, True), ("prc_planning", -2, False)]
    pairs = storage.coding_pairs(cfir, SECOND, interview_id).set_index("factor_code")
    culture = pairs.loc["ins_culture_learning"]
    assert double_coding.shown_rating(culture.consensus, culture.consensus_mixed) == "X"
    assert double_coding.shown_rating(culture.rating_1, culture.mixed_1) == 0
    audit = storage.audit_log(cfir, SECOND, entity="consensus")
    assert audit.after.str.contains('"mixed": true').any()


def test_reconciling_back_to_0_clears_mixed(cfir):
    interview_id = code_second(cfir)
    double_coding.reconcile(cfir, SECOND, interview_id, {"ins_culture_learning": ("X", "at first")})
    double_coding.reconcile(cfir, SECOND, interview_id, {"ins_culture_learning": (0, "on reflection, neutral")})
    assert cfir.execute(
        "SELECT rating, mixed FROM factor_rating WHERE interview_id = ? AND factor_code = 'ins_culture_learning'",
        [interview_id],
    ).fetchone() == (0, False)


def test_the_tables_refuse_x_with_a_nonzero_rating(cfir):
    interview_id = code_second(cfir)
    for sql in (
        "UPDATE coding_rating SET rating = -1 WHERE interview_id = ? AND factor_code = 'ind_mid_level_leaders'",
        "INSERT INTO consensus (interview_id, factor_code, rating, mixed, reason, decided_by)"
        " VALUES (?, 'inn_complexity', 1, TRUE, 'r', 'x')",
    ):
        with pytest.raises(duckdb.ConstraintException):
            cfir.execute(sql, [interview_id])


def test_agreement_counts_x_as_cited_and_as_its_own_code_and_alpha_leaves_x_units_out(cfir):
    code_second(cfir)
    tables = double_coding.agreement_tables(cfir, SECOND)
    overall = tables.overall.iloc[0]
    offered = cfir.execute("SELECT count(*) FROM factor").fetchone()[0]
    assert int(overall.n_units) == offered
    # Two disagreements (X vs 0, −2 vs −1); X vs X agrees.
    assert overall.percent_agreement == pytest.approx((offered - 2) / offered, abs=1e-12)
    assert overall.kappa_cited == pytest.approx(1.0)  # both cited the same five factors, X included
    # Alpha over the three units rated on the scale by both: funding, relative advantage, planning.
    assert int(overall.n_rated_by_both) == 3
    oracle = krippendorff.alpha(reliability_data=[[-2, 2, -1], [-2, 2, -2]], level_of_measurement="ordinal")
    assert overall.alpha_rating == pytest.approx(oracle, abs=1e-9)
    as_zero = agreement.krippendorff_alpha_ordinal([-2, 2, 0, 0, -1], [-2, 2, 0, 0, -2])  # X wrongly taken as 0
    assert abs(as_zero - overall.alpha_rating) > 1e-3
    leaders = tables.by_factor.set_index("factor_code").loc["ind_mid_level_leaders"]
    assert leaders.percent_agreement == 1.0 and int(leaders.n_rated_by_both) == 0


def test_agreement_from_counts_equals_agreement_on_random_codings_with_x():
    rng = np.random.default_rng(11)
    codes = np.array([-2, -1, 0, 0, 1, 2, np.nan])  # the second 0 is X
    for _ in range(100):
        n = int(rng.integers(2, 60))
        picks = [rng.choice(len(codes), n) for _ in range(2)]
        units = pd.DataFrame(
            {
                "group": rng.choice(["a", "b"], n),
                "rating_1": codes[picks[0]],
                "rating_2": codes[picks[1]],
                "mixed_1": picks[0] == 3,
                "mixed_2": picks[1] == 3,
            }
        )
        counts = (
            units.groupby(["group", "rating_1", "rating_2", "mixed_1", "mixed_2"], dropna=False)
            .size()
            .rename("units")
            .reset_index()
        )
        expected = agreement.agreement(units, ["group"])
        found = agreement.agreement_from_counts(counts, ["group"])
        for column in ("n_units", "percent_agreement", "kappa_cited", "n_rated_by_both", "alpha_rating"):
            assert np.allclose(found[column].astype(float), expected[column].astype(float), atol=1e-9, equal_nan=True)
        # alpha is the alpha of the units neither coder rated X
        for group, rows in units.groupby("group"):
            kept = rows[~rows.mixed_1 & ~rows.mixed_2]
            alone = agreement.krippendorff_alpha_ordinal(kept.rating_1, kept.rating_2)
            got = float(found.set_index("group").loc[group, "alpha_rating"])
            assert np.isclose(got, alone, atol=1e-9, equal_nan=True)


def test_the_page_offers_x_to_the_blind_coder_shows_it_and_reconciles_to_x(monkeypatch, cfir_path):
    con = storage.connect(cfir_path)
    interview_id = peer_baseline(con)
    con.close()
    at = open_page(monkeypatch, cfir_path, "pages/double-coding.py", SECOND, project="PEER")
    at.selectbox(key="dc:interview:PEER").set_value(interview_id).run()
    at.button(key="dc:start").click().run()
    form = f"blind:{interview_id}"
    at.multiselect(key=f"{form}:factors").set_value(list(SECOND_CODING)).run()
    assert "X" in at.selectbox(key=f"{form}:rating:ins_culture_learning").options
    for code, rating in SECOND_CODING.items():
        at.selectbox(key=f"{form}:rating:{code}").set_value(rating).run()
    at.button(key=f"{form}:save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]

    at.query_params["interview"] = str(interview_id)
    at.session_state["dc:mode"] = "Reconcile"
    at.run()
    shown = everything_shown(at)
    assert "ed: **0**" in shown and "second-coder: **X**" in shown  # learning culture, X against 0
    consensus = f"consensus:{interview_id}"
    at.selectbox(key=f"{consensus}:choice:ins_culture_learning").set_value("X").run()
    at.text_input(key=f"{consensus}:reason:ins_culture_learning").input("It pulled both ways").run()
    at.button(key=f"{consensus}:save").click().run()
    assert not at.exception and not [e.value for e in at.error]
    assert "Consensus: X, by second-coder" in everything_shown(at)
    con = storage.connect(cfir_path)
    assert con.execute(
        "SELECT rating, mixed FROM factor_rating WHERE interview_id = ? AND factor_code = 'ins_culture_learning'",
        [interview_id],
    ).fetchone() == (0, True)
    con.close()
