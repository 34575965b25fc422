"""Double coding on a real demo database: a second coder codes blind (nothing of the first coding reaches them until
both are saved), both codings are kept as they were, the consensus becomes the rating in force (audited), agreement
is counted in SQL and matches `agreement.py` on units spelled out from the tables, and every role reads only what it
may."""

import math

import numpy as np
import pandas as pd
import pytest

from innovation_tracker import storage
from innovation_tracker.app import capture, double_coding
from innovation_tracker.domain import agreement
from innovation_tracker.domain.errors import AccessDenied, ValidationError
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.formats import demo
from tests.conftest import DEMO_TODAY, EVALUATOR

SECOND = Viewer("second-coder", AccountRole.EVALUATOR)
FUNDER = Viewer("demo-funder", AccountRole.FUNDER)
TEAM = Viewer("demo-team-arts", AccountRole.TEAM, frozenset({"ARTS"}))


def candidate(con, project="ARTS"):
    """The first interview of `project` waiting for a second coding, and its first coding straight from the table."""
    found = storage.second_coding_candidates(con, EVALUATOR, project)
    interview_id = int(found.interview_id.iloc[0])
    first = con.execute(
        "SELECT factor_code, rating, evidence FROM factor_rating WHERE interview_id = ? ORDER BY factor_code",
        [interview_id],
    ).df()
    return interview_id, first


def lines(*rows):
    return pd.DataFrame(
        [{"factor": f, "rating": r, "evidence": e, "shareable": s} for f, r, e, s in rows],
        columns=["factor", "rating", "evidence", "shareable"],
    )


def other_factor(con, first, kind="facilitator"):
    return next(f for f in storage.list_factors(con) if f.kind == kind and f.factor_code not in set(first.factor_code))


def test_the_second_coder_reads_nothing_of_the_first_coding_until_both_are_saved(seeded):
    interview_id, first = candidate(seeded)
    assert len(first) > 0
    project = storage.blind_interview(seeded, SECOND, interview_id)["project_code"]
    double_coding.start(seeded, SECOND, interview_id)

    blind = storage.blind_interview(seeded, SECOND, interview_id)
    assert not {"rating", "evidence", "ratings"} & set(blind)
    theirs = storage.project_ratings(seeded, SECOND, project)
    assert interview_id not in set(theirs.interview_id)
    everything = storage.read_table(seeded, SECOND, "factor_ratings")
    assert interview_id not in set(everything.interview_id)
    interviews = storage.project_interviews(seeded, SECOND, project)
    assert interviews.set_index("interview_id").loc[interview_id, "ratings"] == 0
    audit = storage.audit_log(seeded, SECOND, limit=100_000)
    assert not ((audit.entity == "interview") & (audit.entity_key == str(interview_id))).any()
    assert storage.coding_pairs(seeded, SECOND, interview_id).empty
    # Everyone else still reads the rating in force.
    assert set(
        storage.project_ratings(seeded, EVALUATOR, project).query("interview_id == @interview_id").factor_code
    ) == set(first.factor_code)

    double_coding.save(
        seeded, SECOND, interview_id, lines((first.factor_code.iloc[0], int(first.rating.iloc[0]), None, False))
    )
    assert interview_id in set(storage.project_ratings(seeded, SECOND, project).interview_id)
    pairs = storage.coding_pairs(seeded, SECOND, interview_id)
    assert set(pairs.factor_code) == set(first.factor_code)


def test_the_first_coding_cannot_be_overwritten_from_a_blind_coders_form(seeded):
    interview_id, _ = candidate(seeded)
    double_coding.start(seeded, SECOND, interview_id)
    with pytest.raises(ValidationError, match="coding interview .* blind"):
        storage.update_interview(seeded, SECOND.username, interview_id, {}, [])
    assert seeded.execute("SELECT count(*) FROM factor_rating WHERE interview_id = ?", [interview_id]).fetchone()[0] > 0


def test_who_may_code_a_second_time(seeded):
    interview_id, first = candidate(seeded)
    first_coder = seeded.execute("SELECT any_value(coder) FROM factor_rating WHERE interview_id = ?", [interview_id])
    with pytest.raises(ValidationError, match="coded interview .* first"):
        double_coding.start(seeded, Viewer(first_coder.fetchone()[0], AccountRole.EVALUATOR), interview_id)
    with pytest.raises(AccessDenied):
        double_coding.start(seeded, FUNDER, interview_id)
    double_coding.start(seeded, SECOND, interview_id)
    with pytest.raises(ValidationError, match="second-coder is already coding"):
        double_coding.start(seeded, EVALUATOR, interview_id)
    missed = seeded.execute("SELECT min(interview_id) FROM interview WHERE status <> 'completed'").fetchone()[0]
    with pytest.raises(ValidationError, match="not completed"):
        double_coding.start(seeded, SECOND, missed)
    double_coding.give_up(seeded, SECOND, interview_id)
    double_coding.start(seeded, EVALUATOR, interview_id)  # free again


def test_a_blind_coding_is_checked_by_the_codebooks_rules_and_nothing_is_saved_on_error(seeded):
    interview_id, first = candidate(seeded)
    facilitator = other_factor(seeded, first)
    double_coding.start(seeded, SECOND, interview_id)
    with pytest.raises(ValidationError) as error:
        double_coding.save(seeded, SECOND, interview_id, lines((facilitator.factor_code, -1, "a quote", True)))
    [problem] = error.value.problems
    assert problem.rule == "rating_sign" and facilitator.label in problem.message
    with pytest.raises(ValidationError, match="No factors were discussed"):
        double_coding.save(seeded, SECOND, interview_id, lines())
    assert (
        seeded.execute("SELECT count(*) FROM coding_rating WHERE interview_id = ?", [interview_id]).fetchone()[0] == 0
    )
    assert storage.blind_interview(seeded, SECOND, interview_id)["saved_at"] is pd.NaT or pd.isna(
        storage.blind_interview(seeded, SECOND, interview_id)["saved_at"]
    )


def test_both_independent_codings_are_kept_as_they_were(seeded):
    interview_id, first = candidate(seeded)
    facilitator = other_factor(seeded, first)
    double_coding.start(seeded, SECOND, interview_id)
    double_coding.save(seeded, SECOND, interview_id, lines((facilitator.factor_code, 2, "new words", False)))
    kept = seeded.execute(
        "SELECT coding, factor_code, rating FROM coding_rating WHERE interview_id = ? ORDER BY ALL", [interview_id]
    ).fetchall()
    expected = sorted(
        [(1, c, int(r)) for c, r in zip(first.factor_code, first.rating, strict=True)]
        + [(2, facilitator.factor_code, 2)]
    )
    assert kept == expected
    # The first coder edits their coding afterwards: the kept codings do not move.
    storage.update_interview(seeded, EVALUATOR.username, interview_id, {}, [])
    assert (
        seeded.execute(
            "SELECT coding, factor_code, rating FROM coding_rating WHERE interview_id = ? ORDER BY ALL", [interview_id]
        ).fetchall()
        == expected
    )


def test_the_consensus_becomes_the_rating_in_force_and_is_audited(seeded):
    interview_id, first = candidate(seeded)
    project = storage.blind_interview(seeded, EVALUATOR, interview_id)["project_code"]
    kept, dropped = first.iloc[0], first.iloc[1]
    facilitator = other_factor(seeded, first)
    other = -1 if kept.rating < 0 else (1 if kept.rating == 2 else 2)
    double_coding.start(seeded, SECOND, interview_id)
    double_coding.save(
        seeded,
        SECOND,
        interview_id,
        lines((kept.factor_code, other, None, False), (facilitator.factor_code, 1, "said only to me", True)),
    )
    pairs = storage.coding_pairs(seeded, EVALUATOR, interview_id)
    assert set(double_coding.disagreements(pairs).factor_code) == set(first.factor_code) | {facilitator.factor_code}

    before = storage.factor_stats(seeded, EVALUATOR, project)
    n = double_coding.reconcile(
        seeded,
        EVALUATOR,
        interview_id,
        {
            kept.factor_code: (other, "the second coder heard it right"),
            dropped.factor_code: (double_coding.NOT_CITED, "only a passing mention"),
            facilitator.factor_code: (1, "it was said"),
        },
    )
    assert n == 3
    in_force = dict(
        seeded.execute(
            "SELECT factor_code, rating FROM factor_rating WHERE interview_id = ?", [interview_id]
        ).fetchall()
    )
    assert in_force[kept.factor_code] == other
    assert dropped.factor_code not in in_force
    assert in_force[facilitator.factor_code] == 1
    evidence = seeded.execute(
        "SELECT evidence, shareable FROM factor_rating WHERE interview_id = ? AND factor_code = ?",
        [interview_id, facilitator.factor_code],
    ).fetchone()
    assert evidence == ("said only to me", True)
    # The trajectories read the consensus.
    after = storage.factor_stats(seeded, EVALUATOR, project)
    wave = storage.blind_interview(seeded, EVALUATOR, interview_id)["wave"]
    row = after[(after.wave == wave) & (after.factor_code == facilitator.factor_code)]
    was = before[(before.wave == wave) & (before.factor_code == facilitator.factor_code)]
    assert int(row.n.iloc[0]) == (int(was.n.iloc[0]) if len(was) else 0) + 1
    # Audited: who, why, the rating before and after.
    audit = storage.audit_log(seeded, EVALUATOR, entity="consensus")
    mine = audit[audit.entity_key == str(interview_id)]
    assert len(mine) == 3 and set(mine.actor) == {EVALUATOR.username}
    assert any("only a passing mention" in a and '"rating": null' in a for a in mine["after"])
    assert any(f'"rating": {int(dropped.rating)}' in b for b in mine["before"])
    # The comparison still compares the original codings.
    again = storage.coding_pairs(seeded, EVALUATOR, interview_id).set_index("factor_code")
    assert again.loc[kept.factor_code, "rating_1"] == kept.rating
    assert again.loc[kept.factor_code, "consensus"] == other


def test_reconciliation_rules(seeded):
    interview_id, first = candidate(seeded)
    kept = first.iloc[0]
    double_coding.start(seeded, SECOND, interview_id)
    double_coding.save(seeded, SECOND, interview_id, lines((kept.factor_code, int(kept.rating), None, False)))
    dropped = first.iloc[1]
    with pytest.raises(ValidationError) as error:
        double_coding.reconcile(
            seeded,
            EVALUATOR,
            interview_id,
            {kept.factor_code: (int(kept.rating), "agreed"), dropped.factor_code: (int(dropped.rating), " ")},
        )
    rules = sorted(p.rule for p in error.value.problems)
    assert rules == ["not_a_disagreement", "required"]
    wrong_sign = -2 if dropped.rating > 0 else 2
    kind = storage.list_factors(seeded)
    if {f.factor_code: f for f in kind}[dropped.factor_code].kind != "either":
        with pytest.raises(ValidationError, match="rating_sign|must be"):
            double_coding.reconcile(seeded, EVALUATOR, interview_id, {dropped.factor_code: (wrong_sign, "why")})
    for viewer in (FUNDER, TEAM):
        with pytest.raises(AccessDenied):
            double_coding.reconcile(seeded, viewer, interview_id, {dropped.factor_code: (1, "why")})
    assert seeded.execute("SELECT count(*) FROM consensus WHERE interview_id = ?", [interview_id]).fetchone()[0] == 0


def units_from_tables(con, wave=None):
    """Every unit (factor × double-coded interview) spelled out in Python from the raw tables: the oracle."""
    pairs = con.execute(
        "SELECT c.interview_id, p.project_code, i.wave FROM coding c JOIN interview i USING (interview_id)"
        " JOIN participant p USING (participant_code) WHERE c.coding = 2 AND c.saved_at IS NOT NULL"
    ).df()
    if wave is not None:
        pairs = pairs[pairs.wave == wave]
    codings = con.execute("SELECT interview_id, coding, factor_code, rating FROM coding_rating").df()
    retired = {r[0] for r in con.execute("SELECT factor_code FROM retired_factor").fetchall()}
    rated = {(i, c, f): r for i, c, f, r in codings.itertuples(index=False)}
    rows = []
    for interview_id, project in zip(pairs.interview_id, pairs.project_code, strict=True):
        for factor in storage.list_factors(con):
            code = factor.factor_code
            first, second = rated.get((interview_id, 1, code)), rated.get((interview_id, 2, code))
            if code in retired and first is None and second is None:
                continue
            rows.append(
                {
                    "project_code": project,
                    "factor_code": code,
                    "rating_1": math.nan if first is None else float(first),
                    "rating_2": math.nan if second is None else float(second),
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("wave", [None, "baseline", "month_6"])
def test_agreement_counted_in_sql_matches_agreement_py_on_the_units(seeded, wave):
    units = units_from_tables(seeded, wave)
    tables = double_coding.agreement_tables(seeded, EVALUATOR, wave)
    for found, by in ((tables.overall, []), (tables.by_project, ["project_code"]), (tables.by_factor, ["factor_code"])):
        expected = agreement.agreement(units, by)
        assert len(found) == len(expected) > 0
        merged = (
            found.merge(expected, on=by, suffixes=("", "_oracle")) if by else found.join(expected.add_suffix("_oracle"))
        )
        for column in ("n_units", "percent_agreement", "kappa_cited", "n_rated_by_both", "alpha_rating"):
            assert np.allclose(
                merged[column].astype(float), merged[f"{column}_oracle"].astype(float), atol=1e-9, equal_nan=True
            )


def test_retired_factors_count_only_where_a_coding_cited_them(seeded):
    cited = seeded.execute(
        "SELECT factor_code FROM coding_rating GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]
    never = seeded.execute(
        "SELECT factor_code FROM factor WHERE factor_code NOT IN (SELECT factor_code FROM coding_rating) LIMIT 1"
    ).fetchone()
    storage.set_retired(seeded, "someone", "factor", cited, True)
    if never is not None:
        storage.set_retired(seeded, "someone", "factor", never[0], True)
    units = units_from_tables(seeded)
    tables = double_coding.agreement_tables(seeded, EVALUATOR)
    assert int(tables.overall.n_units.iloc[0]) == len(units) < 46 * 47
    by_factor = tables.by_factor.set_index("factor_code")
    assert by_factor.loc[cited, "n_units"] == (units.factor_code == cited).sum() < 46
    assert never is None or never[0] not in by_factor.index
    expected = agreement.agreement(units, ["factor_code"]).set_index("factor_code")
    assert np.allclose(
        by_factor.alpha_rating.astype(float), expected.alpha_rating.astype(float), atol=1e-9, equal_nan=True
    )
    assert np.allclose(
        by_factor.kappa_cited.astype(float), expected.kappa_cited.astype(float), atol=1e-9, equal_nan=True
    )


def test_agreement_from_counts_equals_agreement_on_random_codings():
    rng = np.random.default_rng(16)
    for _ in range(200):
        n = int(rng.integers(2, 80))
        codes = np.array([-2, -1, 1, 2, np.nan])
        units = pd.DataFrame(
            {
                "group": rng.choice(["a", "b"], n),
                "rating_1": rng.choice(codes, n, p=[0.1, 0.15, 0.15, 0.1, 0.5]),
                "rating_2": rng.choice(codes, n, p=[0.1, 0.15, 0.15, 0.1, 0.5]),
            }
        )
        counts = units.groupby(["group", "rating_1", "rating_2"], dropna=False).size().rename("units").reset_index()
        expected = agreement.agreement(units, ["group"])
        found = agreement.agreement_from_counts(counts, ["group"])
        for column in ("n_units", "percent_agreement", "kappa_cited", "n_rated_by_both", "alpha_rating"):
            assert np.allclose(found[column].astype(float), expected[column].astype(float), atol=1e-9, equal_nan=True)


def test_each_role_reads_agreement_within_its_scope(seeded):
    everyone = double_coding.agreement_tables(seeded, EVALUATOR)
    funder = double_coding.agreement_tables(seeded, FUNDER)
    pd.testing.assert_frame_equal(funder.overall, everyone.overall)
    pd.testing.assert_frame_equal(funder.by_factor, everyone.by_factor)
    team = double_coding.agreement_tables(seeded, TEAM)
    assert list(team.by_project.project_code) == ["ARTS"]
    arts = everyone.by_project[everyone.by_project.project_code == "ARTS"].iloc[0]
    assert team.overall.iloc[0].n_units == arts.n_units
    assert team.overall.iloc[0].alpha_rating == pytest.approx(arts.alpha_rating, abs=1e-12)
    # Text stays with the editors: no evidence and no reasons for funders and teams.
    reconciled = seeded.execute("SELECT interview_id FROM consensus LIMIT 1").fetchone()[0]
    for viewer in (FUNDER, TEAM):
        pairs = storage.coding_pairs(seeded, viewer, reconciled)
        assert pairs.evidence_1.isna().all() and pairs.evidence_2.isna().all() and pairs.reason.isna().all()
    assert storage.coding_pairs(seeded, EVALUATOR, reconciled).reason.notna().any()
    assert set(storage.coding_queue(seeded, TEAM).project_code) <= {"ARTS"}


def test_the_demo_is_double_coded_without_changing_its_ratings_in_force(seeded):
    tables = demo.demo_tables(DEMO_TODAY)
    stored = seeded.execute("SELECT interview_id, factor_code, rating FROM factor_rating ORDER BY ALL").fetchall()
    planned = sorted(
        (int(i), f, int(r))
        for i, f, r in zip(
            tables["factor_ratings"].interview_id,
            tables["factor_ratings"].factor_code,
            tables["factor_ratings"].rating,
            strict=True,
        )
    )
    assert stored == planned
    queue = storage.coding_queue(seeded, EVALUATOR)
    completed = seeded.execute("SELECT count(*) FROM interview WHERE status = 'completed'").fetchone()[0]
    assert len(queue) == len(demo.second_codings(tables).interview_id.unique()) and len(queue) >= completed // 6
    waiting = queue[queue.disagreements > queue.reconciled]
    assert len(waiting) == demo.UNRECONCILED
    consensus = seeded.execute(
        "SELECT count(*) FROM consensus c LEFT JOIN coding_rating a ON a.interview_id = c.interview_id"
        " AND a.coding = 1 AND a.factor_code = c.factor_code WHERE c.rating IS DISTINCT FROM a.rating"
    ).fetchone()[0]
    assert consensus == 0  # reconciled to the first coding
    missing_as_text = "SELECT count(*) FROM coding_rating WHERE evidence IN ('nan', 'None', '')"
    assert seeded.execute(missing_as_text).fetchone()[0] == 0
    overall = double_coding.agreement_tables(seeded, EVALUATOR).overall.iloc[0]
    assert 0.6 < overall.alpha_rating < 1 and 0.6 < overall.kappa_cited < 1


def test_erasure_erases_both_codings_and_deleting_an_interview_can_be_undone(seeded):
    queue = storage.coding_queue(seeded, EVALUATOR)
    row = queue[queue.reconciled > 0].iloc[0]
    interview_id, person = int(row.interview_id), row.participant_code
    second_words = seeded.execute(
        "SELECT count(*) FROM coding_rating WHERE interview_id = ?", [interview_id]
    ).fetchone()[0]
    assert second_words > 0
    deleted = storage.delete_interview(seeded, "someone", interview_id)
    assert deleted["coding_rating"] == second_words and deleted["consensus"] == row.reconciled
    assert seeded.execute("SELECT count(*) FROM coding WHERE interview_id = ?", [interview_id]).fetchone()[0] == 0
    audit_id = seeded.execute("SELECT max(audit_id) FROM audit_entry WHERE action = 'delete'").fetchone()[0]
    storage.restore_deleted(seeded, "someone", audit_id)
    assert (
        seeded.execute("SELECT count(*) FROM coding_rating WHERE interview_id = ?", [interview_id]).fetchone()[0]
        == second_words
    )

    project = row.project_code
    capture.withdraw(seeded, EVALUATOR, project, person, DEMO_TODAY, DEMO_TODAY, erase=True)
    theirs = "SELECT interview_id FROM interview WHERE participant_code = $p"
    for table in ("coding", "coding_rating", "consensus"):
        assert (
            seeded.execute(
                f"SELECT count(*) FROM {table} WHERE interview_id IN ({theirs}) OR interview_id = $i",
                {"p": person, "i": interview_id},
            ).fetchone()[0]
            == 0
        )
    about = seeded.execute(
        "SELECT count(*) FROM audit_entry WHERE entity IN ('second_coding', 'consensus') AND entity_key = ?"
        " AND (before IS NOT NULL AND NOT contains(before::VARCHAR, 'erased_participant')"
        "      OR after IS NOT NULL AND NOT contains(after::VARCHAR, 'erased_participant'))",
        [str(interview_id)],
    ).fetchone()[0]
    assert about == 0


def test_an_empty_study_has_no_agreement(tmp_path):
    from tests.conftest import make_empty_study

    con = storage.connect(make_empty_study(tmp_path / "empty.duckdb"))
    tables = double_coding.agreement_tables(con, EVALUATOR)
    assert tables.empty and storage.coding_queue(con, EVALUATOR).empty
    con.close()


def test_service_demo_helper_is_deterministic():
    first = demo.second_codings(demo.demo_tables(DEMO_TODAY))
    again = demo.second_codings(demo.demo_tables(DEMO_TODAY))
    pd.testing.assert_frame_equal(first, again)
    assert first.groupby("interview_id").coder.nunique().max() == 1
