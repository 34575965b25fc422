from datetime import date

import pytest

from innovation_tracker.domain.model import DEFAULT_WAVES, InterviewStatus, Mode, Wave
from innovation_tracker.domain.schedule import (
    DueStatus,
    WaveDue,
    days_outside_window,
    due_date_for,
    participant_schedule,
    window_for,
    window_message,
)

D = date.fromisoformat
WAVES = {w.wave: w for w in DEFAULT_WAVES}
FAR_END = "2030-12-31"


def schedule(
    enrolment, interviews=None, *, withdrawal=None, study_end=FAR_END, today="2025-01-01", waves=DEFAULT_WAVES
):
    rows = participant_schedule(
        waves,
        enrolment_date=D(enrolment),
        interviews={w: (s, D(d)) for w, (s, d) in (interviews or {}).items()},
        withdrawal_date=None if withdrawal is None else D(withdrawal),
        study_end=D(study_end),
        today=D(today),
    )
    return {row.wave: row for row in rows}


@pytest.mark.parametrize(
    ("wave", "due", "window"),
    [
        ("baseline", "2025-01-01", ("2025-01-01", "2025-01-31")),
        ("month_3", "2025-04-02", ("2025-03-12", "2025-04-23")),
        ("month_12", "2025-02-28", ("2025-02-07", "2025-03-21")),
    ],
)
def test_window_for_default_waves(wave, due, window):
    assert window_for(WAVES[wave], D(due)) == (D(window[0]), D(window[1]))


@pytest.mark.parametrize(
    ("wave", "baseline_date", "expected"),
    [
        ("baseline", None, "2025-01-01"),
        ("baseline", "2025-01-20", "2025-01-01"),
        ("month_3", None, "2025-04-02"),
        ("month_3", "2025-01-20", "2025-04-21"),
        ("month_6", "2025-01-20", "2025-07-21"),
        ("month_9", "2025-01-20", "2025-10-20"),
        ("month_12", "2025-01-20", "2026-01-20"),
    ],
)
def test_due_date_for_anchors_follow_ups_on_actual_baseline(wave, baseline_date, expected):
    baseline = None if baseline_date is None else D(baseline_date)
    assert due_date_for(WAVES[wave], enrolment_date=D("2025-01-01"), baseline_date=baseline) == D(expected)


@pytest.mark.parametrize(
    ("today", "status"),
    [
        ("2025-03-11", DueStatus.UPCOMING),
        ("2025-03-12", DueStatus.DUE),
        ("2025-04-02", DueStatus.DUE),
        ("2025-04-23", DueStatus.DUE),
        ("2025-04-24", DueStatus.OVERDUE),
    ],
)
def test_follow_up_status_at_window_bounds(today, status):
    rows = schedule("2025-01-01", {"baseline": ("completed", "2025-01-01")}, today=today)
    assert (rows["month_3"].window_open, rows["month_3"].window_close) == (D("2025-03-12"), D("2025-04-23"))
    assert rows["month_3"].status == status


@pytest.mark.parametrize(
    ("today", "status"),
    [
        ("2024-12-31", DueStatus.UPCOMING),
        ("2025-01-01", DueStatus.DUE),
        ("2025-01-31", DueStatus.DUE),
        ("2025-02-01", DueStatus.OVERDUE),
    ],
)
def test_baseline_status_at_window_bounds(today, status):
    assert schedule("2025-01-01", today=today)["baseline"].status == status


def test_full_schedule_before_baseline_is_anchored_on_enrolment():
    rows = schedule("2025-01-01", today="2025-01-10")
    assert list(rows) == ["baseline", "month_3", "month_6", "month_9", "month_12"]
    assert [r.due_date for r in rows.values()] == [
        D("2025-01-01"),
        D("2025-04-02"),
        D("2025-07-02"),
        D("2025-10-01"),
        D("2026-01-01"),
    ]
    assert [r.status for r in rows.values()] == [DueStatus.DUE] + [DueStatus.UPCOMING] * 4
    assert rows["month_3"] == WaveDue(
        "month_3", "3-month follow-up", D("2025-04-02"), D("2025-03-12"), D("2025-04-23"), DueStatus.UPCOMING, None, 0
    )


def test_late_baseline_reanchors_follow_ups():
    rows = schedule("2025-01-01", {"baseline": ("completed", "2025-01-20")}, today="2025-02-01")
    assert rows["baseline"] == WaveDue(
        "baseline",
        "Baseline",
        D("2025-01-01"),
        D("2025-01-01"),
        D("2025-01-31"),
        DueStatus.COMPLETED,
        D("2025-01-20"),
        0,
    )
    assert [r.due_date for r in rows.values()][1:] == [
        D("2025-04-21"),
        D("2025-07-21"),
        D("2025-10-20"),
        D("2026-01-20"),
    ]
    assert (rows["month_3"].window_open, rows["month_3"].window_close) == (D("2025-03-31"), D("2025-05-12"))


def test_baseline_after_its_window_is_late_and_still_anchors_follow_ups():
    rows = schedule("2025-01-01", {"baseline": ("completed", "2025-02-10")}, today="2025-02-10")
    assert rows["baseline"].status == DueStatus.COMPLETED
    assert rows["baseline"].days_outside == 10
    assert rows["month_3"].due_date == D("2025-05-12")


@pytest.mark.parametrize("status", ["missed", "declined", InterviewStatus.MISSED])
def test_missed_baseline_leaves_follow_ups_on_enrolment(status):
    rows = schedule("2025-01-01", {"baseline": (status, "2025-01-20")}, today="2025-02-01")
    assert rows["baseline"].status == DueStatus.MISSED
    assert rows["month_3"].due_date == D("2025-04-02")


@pytest.mark.parametrize(
    ("recorded", "status"),
    [("completed", DueStatus.COMPLETED), ("missed", DueStatus.MISSED), ("declined", DueStatus.MISSED)],
)
def test_recorded_interview_sets_status_whatever_today(recorded, status):
    interviews = {"baseline": ("completed", "2025-01-01"), "month_3": (recorded, "2025-04-25")}
    rows = schedule("2025-01-01", interviews, today="2025-12-01", withdrawal="2025-05-01")
    assert rows["month_3"].status == status
    assert rows["month_3"].interview_date == D("2025-04-25")
    assert rows["month_3"].days_outside == 2


def test_unknown_interview_status_is_refused():
    with pytest.raises(ValueError):
        schedule("2025-01-01", {"baseline": ("done", "2025-01-05")})


def test_leap_day_baseline_twelve_months_on_is_28_february():
    rows = schedule("2024-02-20", {"baseline": ("completed", "2024-02-29")}, today="2024-03-01")
    assert rows["month_3"].due_date == D("2024-05-30")
    assert rows["month_12"].due_date == D("2025-02-28")
    assert (rows["month_12"].window_open, rows["month_12"].window_close) == (D("2025-02-07"), D("2025-03-21"))


def test_follow_up_crossing_february_of_a_leap_year():
    rows = schedule("2023-12-01", today="2023-12-01")
    assert rows["month_3"].due_date == D("2024-03-01")
    assert (rows["month_3"].window_open, rows["month_3"].window_close) == (D("2024-02-09"), D("2024-03-22"))


def test_withdrawal_excuses_later_waves_only():
    interviews = {"baseline": ("completed", "2025-01-01"), "month_3": ("completed", "2025-04-01")}
    rows = schedule("2025-01-01", interviews, withdrawal="2025-08-15", today="2025-09-01")
    assert {w: r.status for w, r in rows.items()} == {
        "baseline": DueStatus.COMPLETED,
        "month_3": DueStatus.COMPLETED,
        "month_6": DueStatus.OVERDUE,
        "month_9": DueStatus.WITHDRAWN,
        "month_12": DueStatus.WITHDRAWN,
    }


@pytest.mark.parametrize(
    ("withdrawal", "status"),
    [("2025-07-22", DueStatus.WITHDRAWN), ("2025-07-23", DueStatus.WITHDRAWN), ("2025-07-24", DueStatus.OVERDUE)],
)
def test_withdrawal_on_window_close(withdrawal, status):
    rows = schedule("2025-01-01", {"baseline": ("completed", "2025-01-01")}, withdrawal=withdrawal, today="2025-08-01")
    assert rows["month_6"].window_close == D("2025-07-23")
    assert rows["month_6"].status == status


def test_wave_completed_before_withdrawal_in_same_window_stays_completed():
    interviews = {"baseline": ("completed", "2025-01-01"), "month_6": ("completed", "2025-06-20")}
    rows = schedule("2025-01-01", interviews, withdrawal="2025-06-25", today="2025-07-01")
    assert rows["month_6"].status == DueStatus.COMPLETED
    assert rows["month_9"].status == DueStatus.WITHDRAWN


def test_future_withdrawal_date_still_withdraws_open_wave():
    rows = schedule(
        "2025-01-01", {"baseline": ("completed", "2025-01-01")}, withdrawal="2025-03-01", today="2025-03-15"
    )
    assert rows["month_3"].status == DueStatus.WITHDRAWN


@pytest.mark.parametrize(
    ("study_end", "waves", "month_9_close"),
    [
        ("2026-01-22", ["baseline", "month_3", "month_6", "month_9", "month_12"], "2025-10-22"),
        ("2025-12-11", ["baseline", "month_3", "month_6", "month_9", "month_12"], "2025-10-22"),
        ("2025-12-10", ["baseline", "month_3", "month_6", "month_9"], "2025-10-22"),
        ("2025-10-01", ["baseline", "month_3", "month_6", "month_9"], "2025-10-01"),
        ("2025-09-10", ["baseline", "month_3", "month_6", "month_9"], "2025-09-10"),
        ("2025-09-09", ["baseline", "month_3", "month_6"], None),
    ],
)
def test_study_end_drops_and_clips_waves(study_end, waves, month_9_close):
    rows = schedule("2025-01-01", {"baseline": ("completed", "2025-01-01")}, study_end=study_end)
    assert list(rows) == waves
    if month_9_close is not None:
        assert rows["month_9"].window_open == D("2025-09-10")
        assert rows["month_9"].window_close == D(month_9_close)
        assert rows["month_9"].due_date == D("2025-10-01")


def test_month_12_clipped_to_study_end():
    rows = schedule("2025-01-01", {"baseline": ("completed", "2025-01-01")}, study_end="2025-12-31")
    assert (rows["month_12"].window_open, rows["month_12"].window_close) == (D("2025-12-11"), D("2025-12-31"))


@pytest.mark.parametrize(("today", "status"), [("2025-10-01", DueStatus.DUE), ("2025-10-02", DueStatus.OVERDUE)])
def test_clipped_window_is_overdue_after_study_end(today, status):
    rows = schedule("2025-01-01", {"baseline": ("completed", "2025-01-01")}, study_end="2025-10-01", today=today)
    assert rows["month_9"].status == status


@pytest.mark.parametrize(
    ("interview", "expected"),
    [
        ("2024-12-05", -5),
        ("2024-12-09", -1),
        ("2024-12-10", 0),
        ("2024-12-20", 0),
        ("2025-01-21", 0),
        ("2025-01-22", 1),
        ("2025-02-02", 12),
    ],
)
def test_days_outside_window(interview, expected):
    assert days_outside_window(D(interview), D("2024-12-10"), D("2025-01-21")) == expected


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (12, "3-month follow-up interview is 12 days after its window closed (2025-01-21)"),
        (1, "3-month follow-up interview is 1 day after its window closed (2025-01-21)"),
        (-5, "3-month follow-up interview is 5 days before its window opened (2024-12-10)"),
        (-1, "3-month follow-up interview is 1 day before its window opened (2024-12-10)"),
        (0, None),
    ],
)
def test_window_message(days, expected):
    assert window_message("3-month follow-up", days, D("2024-12-10"), D("2025-01-21")) == expected


def test_early_follow_up_in_schedule_has_message():
    interviews = {"baseline": ("completed", "2025-01-01"), "month_3": ("completed", "2025-03-02")}
    row = schedule("2025-01-01", interviews, today="2025-03-02")["month_3"]
    assert row.days_outside == -10
    assert window_message(row.label, row.days_outside, row.window_open, row.window_close) == (
        "3-month follow-up interview is 10 days before its window opened (2025-03-12)"
    )


CUSTOM = (
    Wave("intake", "Intake", 0, 7, 14, Mode.FACE_TO_FACE),
    Wave("month_6", "Six months", 180, 30, 10, Mode.TELEPHONE),
)


@pytest.mark.parametrize(
    ("interviews", "today", "follow_up"),
    [
        ({}, "2025-03-01", (DueStatus.UPCOMING, "2025-09-06", "2025-08-07", "2025-09-16")),
        (
            {"intake": ("completed", "2025-03-05")},
            "2025-08-01",
            (DueStatus.UPCOMING, "2025-09-01", "2025-08-02", "2025-09-11"),
        ),
        (
            {"intake": ("completed", "2025-03-05")},
            "2025-08-02",
            (DueStatus.DUE, "2025-09-01", "2025-08-02", "2025-09-11"),
        ),
        (
            {"intake": ("completed", "2025-03-05")},
            "2025-09-12",
            (DueStatus.OVERDUE, "2025-09-01", "2025-08-02", "2025-09-11"),
        ),
    ],
)
def test_custom_two_wave_schedule(interviews, today, follow_up):
    rows = schedule("2025-03-10", interviews, today=today, waves=CUSTOM)
    assert list(rows) == ["intake", "month_6"]
    intake = rows["intake"]
    assert (intake.due_date, intake.window_open, intake.window_close) == (
        D("2025-03-10"),
        D("2025-03-03"),
        D("2025-03-24"),
    )
    assert intake.days_outside == 0
    status, due, window_open, window_close = follow_up
    six = rows["month_6"]
    assert (six.label, six.status, six.due_date) == ("Six months", status, D(due))
    assert (six.window_open, six.window_close) == (D(window_open), D(window_close))


def test_custom_schedule_without_baseline_wave_counts_from_enrolment():
    waves = (
        Wave("call_1", "First call", 30, 5, 5, Mode.TELEPHONE),
        Wave("call_2", "Second call", 60, 5, 5, Mode.TELEPHONE),
    )
    rows = schedule("2025-01-01", {"call_1": ("completed", "2025-02-10")}, today="2025-02-10", waves=waves)
    assert rows["call_1"].due_date == D("2025-01-31")
    assert rows["call_1"].days_outside == 5
    assert rows["call_2"].due_date == D("2025-03-02")
