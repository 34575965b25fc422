"""The schema keeps its own integrity, whatever code writes to it."""

import threading

import pytest

from innovation_tracker import storage
from innovation_tracker.domain.errors import ConflictError, StorageError

PROJECT = (
    "INSERT INTO project (project_code, name, setting, relation_to_statutory, status)"
    " VALUES ('ART', 'Arts', 'community', 'external', 'active')"
)
PARTICIPANT = (
    "INSERT INTO participant (participant_code, project_code, role, enrolment_date, status)"
    " VALUES ('ART-01', 'ART', 'service_user', DATE '2025-02-01', 'active')"
)
INTERVIEW = (
    "INSERT INTO interview (interview_id, participant_code, wave, interview_date, mode, status)"
    " VALUES ({id}, 'ART-01', 'baseline', DATE '2025-02-03', 'face_to_face', 'completed')"
)


@pytest.fixture
def one_interview(study_db):
    for sql in (PROJECT, PARTICIPANT, INTERVIEW.format(id=1)):
        study_db.execute(sql)
    return study_db


def rating(con, value, factor="ctx_team_expertise"):
    with storage.transaction(con):
        con.execute("INSERT INTO factor_rating (interview_id, factor_code, rating) VALUES (1, ?, ?)", [factor, value])


@pytest.mark.parametrize("value", [3, -3])
def test_ratings_outside_minus_two_to_two_are_refused(one_interview, value):
    with pytest.raises(StorageError, match="CHECK constraint"):
        rating(one_interview, value)
    assert one_interview.execute("SELECT count(*) FROM factor_rating").fetchone()[0] == 0


def test_the_table_keeps_x_as_0_and_leaves_whether_0_is_allowed_to_the_codebooks_rule(one_interview):
    """Migration 0010: 0 (neutral) and X (mixed, stored as 0) are allowed by the table; whether the study's codebook
    declares them is checked on every write by `domain.check_rating` (tests/app/test_cfir.py)."""
    with pytest.raises(StorageError, match="CHECK constraint"), storage.transaction(one_interview):
        one_interview.execute(
            "INSERT INTO factor_rating (interview_id, factor_code, rating, mixed)"
            " VALUES (1, 'ctx_team_expertise', 1, TRUE)"
        )
    rating(one_interview, 0)
    assert one_interview.execute("SELECT rating, mixed FROM factor_rating").fetchall() == [(0, False)]


@pytest.mark.parametrize("value", [-2, -1, 1, 2])
def test_ratings_in_range_are_stored(one_interview, value):
    rating(one_interview, value)
    assert one_interview.execute("SELECT rating FROM factor_rating").fetchone()[0] == value


def test_one_interview_per_participant_and_wave(one_interview):
    with pytest.raises(StorageError, match="already exists"), storage.transaction(one_interview):
        one_interview.execute(INTERVIEW.format(id=2))
    assert one_interview.execute("SELECT count(*) FROM interview").fetchone()[0] == 1


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE project SET setting = 'private' WHERE project_code = 'ART'",
        "UPDATE participant SET role = 'friend' WHERE participant_code = 'ART-01'",
        "UPDATE interview SET mode = 'carrier_pigeon'",
        "UPDATE interview SET status = 'maybe'",
        "UPDATE participant SET status = 'withdrawn'",
        "INSERT INTO factor_rating (interview_id, factor_code, rating) VALUES (1, 'no_such_factor', 1)",
        "INSERT INTO interview (interview_id, participant_code, wave, interview_date, mode, status)"
        " VALUES (5, 'NOBODY', 'month_3', DATE '2025-05-01', 'telephone', 'completed')",
    ],
)
def test_enumerations_and_references_are_enforced(one_interview, sql):
    before = storage.table_counts(one_interview)
    with pytest.raises(StorageError), storage.transaction(one_interview):
        one_interview.execute(sql)
    assert storage.table_counts(one_interview) == before
    assert one_interview.execute("SELECT setting FROM project").fetchone()[0] == "community"


def test_a_transaction_commits_all_or_nothing(one_interview):
    with pytest.raises(StorageError), storage.transaction(one_interview):
        one_interview.execute("INSERT INTO milestone VALUES (1, 'ART', DATE '2025-03-01', 'launch', 'Launch', NULL)")
        one_interview.execute("INSERT INTO milestone VALUES (1, 'ART', DATE '2025-03-02', 'launch', 'Again', NULL)")
    assert one_interview.execute("SELECT count(*) FROM milestone").fetchone()[0] == 0


def test_concurrent_writers_to_one_row_conflict_and_write_retries(tmp_path, study_db):
    for sql in (PROJECT, PARTICIPANT, INTERVIEW.format(id=1)):
        study_db.execute(sql)
    first, second = study_db.cursor(), study_db.cursor()
    first.execute("BEGIN TRANSACTION")
    first.execute("UPDATE interview SET duration_min = 10")
    with pytest.raises(ConflictError), storage.transaction(second):
        second.execute("UPDATE interview SET duration_min = 20")
    first.execute("COMMIT")

    results, errors = [], []

    def bump(n):
        cur = study_db.cursor()
        try:
            storage.write(cur, lambda c: c.execute("UPDATE interview SET duration_min = coalesce(duration_min, 0) + 1"))
            results.append(n)
        except ConflictError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=bump, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = study_db.execute("SELECT duration_min FROM interview").fetchone()[0]
    assert stored == 10 + len(results), "every write reported as done is in the database"
    assert len(results) + len(errors) == 8


def test_the_portfolio_balance_is_the_sum_of_every_rating(seeded):
    """`wave_balance` sums per interview before joining: it must still equal the ratings summed one by one."""
    from tests.conftest import EVALUATOR

    ratings = seeded.execute(
        "SELECT p.project_code, i.wave, r.rating FROM factor_rating r JOIN interview i USING (interview_id)"
        " JOIN participant p USING (participant_code)"
    ).df()
    expected = {}
    for (project, wave), group in ratings.groupby(["project_code", "wave"]):
        positive, negative = group.rating[group.rating > 0].sum(), group.rating[group.rating < 0].sum()
        expected[(project, wave)] = (int(positive), int(-negative), int(group.rating.sum()), len(group))
    balance = storage.wave_balance(seeded, EVALUATOR)
    found = {
        (r.project_code, r.wave): (int(r.facilitator_weight), int(r.barrier_weight), int(r.net), int(r.n_ratings))
        for r in balance.itertuples()
    }
    assert found == expected
    assert len(found) > 30
