"""When each participant's interviews fall due, and where each one stands (DESIGN §2 "Wave").

Pure functions over dates: the pages and the CLI pass in what they read from the database, so every rule
here can be tested by hand-computed dates without a database or a browser.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from innovation_tracker.domain.model import InterviewStatus, Wave


class DueStatus(StrEnum):
    COMPLETED = "completed"
    DUE = "due"
    UPCOMING = "upcoming"
    OVERDUE = "overdue"
    MISSED = "missed"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class WaveDue:
    wave: str
    label: str
    due_date: date
    window_open: date
    window_close: date
    status: DueStatus
    interview_date: date | None
    days_outside: int


def window_for(wave: Wave, due_date: date) -> tuple[date, date]:
    return due_date - timedelta(days=wave.window_before_days), due_date + timedelta(days=wave.window_after_days)


def due_date_for(wave: Wave, *, enrolment_date: date, baseline_date: date | None) -> date:
    """Follow-ups count from the baseline actually held, so a late baseline pushes them all back.

    A wave with offset 0 is the baseline itself, which can only be anchored on enrolment.
    """
    if wave.offset_days == 0 or baseline_date is None:
        anchor = enrolment_date
    else:
        anchor = baseline_date
    return anchor + timedelta(days=wave.offset_days)


def days_outside_window(interview_date: date, window_open: date, window_close: date) -> int:
    if interview_date < window_open:
        return (interview_date - window_open).days
    if interview_date > window_close:
        return (interview_date - window_close).days
    return 0


def _baseline_date(waves: Sequence[Wave], interviews: Mapping[str, tuple[str, date]]) -> date | None:
    baseline = next((w for w in waves if w.offset_days == 0), None)
    if baseline is None or baseline.wave not in interviews:
        return None
    status, interview_date = interviews[baseline.wave]
    # A missed or declined baseline leaves the follow-ups on enrolment: there is no interview to count from.
    return interview_date if InterviewStatus(status) == InterviewStatus.COMPLETED else None


def _status(
    recorded: str | None, window_open: date, window_close: date, withdrawal_date: date | None, today: date
) -> DueStatus:
    if recorded is not None:
        return DueStatus.COMPLETED if InterviewStatus(recorded) == InterviewStatus.COMPLETED else DueStatus.MISSED
    # A wave whose window closed before the withdrawal was already owed, so it stays overdue rather than excused.
    if withdrawal_date is not None and withdrawal_date <= window_close:
        return DueStatus.WITHDRAWN
    if today < window_open:
        return DueStatus.UPCOMING
    if today <= window_close:
        return DueStatus.DUE
    return DueStatus.OVERDUE


def participant_schedule(
    waves: Sequence[Wave],
    *,
    enrolment_date: date,
    interviews: Mapping[str, tuple[str, date]],
    withdrawal_date: date | None,
    study_end: date,
    today: date,
) -> list[WaveDue]:
    """One row per wave that can still happen inside the study, in schedule order.

    `interviews` maps a wave to its recorded (status, interview_date); statuses are InterviewStatus values.
    """
    baseline_date = _baseline_date(waves, interviews)
    schedule = []
    for wave in waves:
        due = due_date_for(wave, enrolment_date=enrolment_date, baseline_date=baseline_date)
        window_open, window_close = window_for(wave, due)
        if window_open > study_end:
            continue
        window_close = min(window_close, study_end)
        recorded, interview_date = interviews.get(wave.wave, (None, None))
        outside = 0 if interview_date is None else days_outside_window(interview_date, window_open, window_close)
        status = _status(recorded, window_open, window_close, withdrawal_date, today)
        schedule.append(WaveDue(wave.wave, wave.label, due, window_open, window_close, status, interview_date, outside))
    return schedule


def window_message(wave_label: str, days_outside: int, window_open: date, window_close: date) -> str | None:
    if days_outside == 0:
        return None
    days = abs(days_outside)
    unit = "day" if days == 1 else "days"
    if days_outside < 0:
        return f"{wave_label} interview is {days} {unit} before its window opened ({window_open.isoformat()})"
    return f"{wave_label} interview is {days} {unit} after its window closed ({window_close.isoformat()})"
