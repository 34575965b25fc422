"""Fieldwork lists on a frozen `today`, against dates worked out by hand for a small study (see small_study.py)."""

import datetime as dt

import pytest
from icalendar import Calendar

from innovation_tracker import storage
from innovation_tracker.app import capture
from innovation_tracker.formats import fieldwork
from tests.support.small_study import EDITOR, NO_RATINGS, build, interview

TODAY = dt.date(2025, 6, 20)
D = dt.date


@pytest.fixture
def small(study_db):
    build(study_db)
    return study_db


def calls_at(con, today=TODAY):
    return fieldwork.call_list(storage.call_candidates(con, EDITOR, today, fieldwork.HORIZON_DAYS), today)


def test_every_category_matches_the_hand_computed_schedule(small):
    calls = calls_at(small)
    got = [
        (r.category, r.participant_code, r.wave, r.interviewer, r.due_date, r.window_open, r.window_close, r.when)
        for r in calls.itertuples()
    ]
    assert got == [
        # enrolled 1 Mar, baseline window 1–31 Mar never used: closed 81 days before 20 June
        (
            "overdue",
            "ART-03",
            "baseline",
            fieldwork.UNASSIGNED,
            D(2025, 3, 1),
            D(2025, 3, 1),
            D(2025, 3, 31),
            "window closed 81 days ago",
        ),
        # no baseline, so the 3-month wave counts from enrolment: 1 Mar + 91 = 31 May, ±21 days
        (
            "due",
            "ART-03",
            "month_3",
            fieldwork.UNASSIGNED,
            D(2025, 5, 31),
            D(2025, 5, 10),
            D(2025, 6, 21),
            "window closes in 1 day",
        ),
        # baseline 3 Feb + 182 = 4 Aug; the window opens 14 Jul, 24 days ahead; M. Nowak held the previous interview
        (
            "upcoming",
            "ART-01",
            "month_6",
            "M. Nowak",
            D(2025, 8, 4),
            D(2025, 7, 14),
            D(2025, 8, 25),
            "window opens in 24 days",
        ),
        (
            "missed",
            "ART-02",
            "month_3",
            "C. Diaz",
            D(2025, 5, 14),
            D(2025, 4, 23),
            D(2025, 6, 4),
            "missed on 2025-05-14",
        ),
    ]


def test_a_window_opening_after_the_horizon_is_not_yet_upcoming(small):
    # ART-02's 6-month window opens 23 Jul, 33 days after 20 Jun; a day later is 32, still out; 3 days later, in
    assert "ART-02" not in set(calls_at(small)[lambda c: c.category == "upcoming"].participant_code)
    later = calls_at(small, TODAY + dt.timedelta(days=3))
    assert ("ART-02", "month_6") in set(zip(later.participant_code, later.wave, strict=True))


def test_logging_a_call_takes_it_off_the_list(small):
    capture.log_interview(
        small,
        EDITOR,
        "ART",
        "ART-03",
        interview("baseline", "2025-06-18", "E. Fox", no_factors=True),
        NO_RATINGS,
        TODAY,
    )
    calls = calls_at(small)
    assert ("ART-03", "baseline") not in set(zip(calls.participant_code, calls.wave, strict=True))
    # the baseline now anchors ART-03's follow-ups: 18 Jun + 91 = 17 Sep, far off; and E. Fox rings next
    assert ("ART-03", "month_3") not in set(zip(calls.participant_code, calls.wave, strict=True))


def test_a_withdrawn_participant_gets_no_more_calls(small):
    capture.withdraw(small, EDITOR, "ART", "ART-03", D(2025, 6, 19), TODAY)
    calls = calls_at(small)
    assert list(calls.participant_code) == ["ART-03", "ART-01", "ART-02"]  # the overdue baseline was owed before
    assert list(calls.category) == ["overdue", "upcoming", "missed"]


def test_workload_counts_calls_by_interviewer_and_project(small):
    work = fieldwork.workload(calls_at(small)).set_index("Interviewer")
    assert work.loc["M. Nowak", "Upcoming (next 30 days)"] == 1
    assert work.loc["C. Diaz", "Missed"] == 1
    assert work.loc[fieldwork.UNASSIGNED, ["Overdue", "Due now"]].tolist() == [1, 1]


def test_the_csv_call_list_has_iso_dates_and_no_live_formulas(small):
    interview_id = int(
        small.execute(
            "SELECT interview_id FROM interview WHERE wave = 'month_3' AND participant_code = 'ART-02'"
        ).fetchone()[0]
    )
    capture.edit_interview(
        small, EDITOR, "ART", interview_id, interview("month_3", "2025-05-14", "=1+1", "missed"), NO_RATINGS, TODAY
    )
    text = fieldwork.calls_csv(calls_at(small)).decode()
    lines = text.splitlines()
    assert lines[0] == ",".join(fieldwork.CSV_COLUMNS)
    assert lines[1] == (
        "overdue,(no interviewer yet),ART,ART-03,caregiver,baseline,Baseline,2025-03-01,2025-03-01,"
        "2025-03-31,window closed 81 days ago,,,"
    )
    assert lines[4].startswith("missed,'=1+1,ART,ART-02,manager,month_3,")
    assert len(lines) == 5


def test_the_calendar_has_one_all_day_event_per_call_to_make(small):
    calendar = Calendar.from_ical(fieldwork.calls_ics(calls_at(small), "Test study", TODAY))
    events = {str(e["uid"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {"ART-03-month_3@innovation-tracker", "ART-01-month_6@innovation-tracker"}
    call = events["ART-01-month_6@innovation-tracker"]
    assert call.decoded("dtstart") == D(2025, 8, 4) and call.decoded("dtend") == D(2025, 8, 5)
    assert "2025-07-14 to 2025-08-25" in str(call["description"])
    assert "M. Nowak" in str(call["description"])
    assert str(call["summary"]) == "6-month follow-up call: ART-01 (ART)"


def test_the_calendar_uids_stay_the_same_from_one_day_to_the_next(small):
    first = Calendar.from_ical(fieldwork.calls_ics(calls_at(small), "S", TODAY))
    later = TODAY + dt.timedelta(days=1)
    second = Calendar.from_ical(fieldwork.calls_ics(calls_at(small, later), "S", later))
    assert {str(e["uid"]) for e in first.walk("VEVENT")} == {str(e["uid"]) for e in second.walk("VEVENT")}


def test_an_empty_study_has_no_calls(study_db):
    calls = calls_at(study_db)
    assert calls.empty
    assert fieldwork.calls_csv(calls).decode().splitlines() == [",".join(fieldwork.CSV_COLUMNS)]
    assert Calendar.from_ical(fieldwork.calls_ics(calls, "S", TODAY)).walk("VEVENT") == []
