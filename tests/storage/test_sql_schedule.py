"""The SQL that computes every participant's schedule agrees with the pure `schedule` module."""

import datetime as dt

import pytest

from innovation_tracker import storage
from innovation_tracker.domain import schedule
from tests.conftest import DEMO_TODAY, EVALUATOR


@pytest.mark.parametrize("offset_days", [-200, -60, 0, 45, 200])
def test_sql_and_python_schedules_agree_on_every_demo_participant(seeded, offset_days):
    today = DEMO_TODAY + dt.timedelta(days=offset_days)
    sql = storage.wave_status(seeded, EVALUATOR, today)
    study = storage.get_study(seeded)
    waves = storage.list_waves(seeded)
    people = seeded.execute("SELECT participant_code, enrolment_date, withdrawal_date FROM participant").fetchall()
    interviews = {}
    for code, wave, status, date in seeded.execute(
        "SELECT participant_code, wave, status, interview_date FROM interview"
    ).fetchall():
        interviews.setdefault(code, {})[wave] = (status, date)
    expected = []
    for code, enrolment, withdrawal in people:
        for due in schedule.participant_schedule(
            waves,
            enrolment_date=enrolment,
            interviews=interviews.get(code, {}),
            withdrawal_date=withdrawal,
            study_end=study.end_date,
            today=today,
        ):
            expected.append((code, due.wave, due.due_date, due.window_open, due.window_close, due.status.value))
    got = [
        (r.participant_code, r.wave, r.due_date.date(), r.window_open.date(), r.window_close.date(), r.status)
        for r in sql.itertuples()
    ]
    assert sorted(got) == sorted(expected)
    assert len(got) == 65 * 5


def test_headline_counts_add_up(seeded):
    counts = storage.headline_counts(seeded, EVALUATOR, DEMO_TODAY)
    statuses = storage.wave_status(seeded, EVALUATOR, DEMO_TODAY).status.value_counts()
    assert counts["interviews_done"] == statuses["completed"]
    assert counts["overdue"] == statuses["overdue"] > 0
    assert counts["due"] == statuses["due"] > 0
    assert counts["interviews_done"] < counts["interviews_scheduled"]
