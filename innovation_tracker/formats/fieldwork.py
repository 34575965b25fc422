"""Fieldwork: who to ring, when, and for which wave. Pure: a schedule frame in, call lists and files out.

The schedule is `storage.call_candidates`: the participant × wave rows that may need a call, each with its window,
its status at `today` and `previous_interviewer`, whoever held the participant's latest interview before that wave.
These lists are for evaluators only, so participants appear under their codes, with how to reach them.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from icalendar import Calendar, Event

from innovation_tracker.formats import tidy

HORIZON_DAYS = 30
CATEGORIES = {
    "overdue": "Overdue",
    "due": "Due now",
    "upcoming": f"Upcoming (next {HORIZON_DAYS} days)",
    "missed": "Missed",
}
UNASSIGNED = "(no interviewer yet)"
CSV_COLUMNS = (
    "category", "interviewer", "project_code", "participant_code", "role", "wave", "wave_label", "due_date",
    "window_open", "window_close", "when", "telephone", "email", "call_times",
)  # fmt: skip
CONTACT_COLUMNS = ("telephone", "email", "call_times")
CALENDAR_CATEGORIES = ("due", "upcoming")


def _dates(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    out = frame.copy()
    for column in columns:
        out[column] = pd.to_datetime(out[column]).dt.date
    return out


def _category(status: pd.DataFrame, today: dt.date, horizon: int) -> pd.Series:
    soon = status.window_open <= today + dt.timedelta(days=horizon)
    category = status.status.where(status.status.isin(["overdue", "due", "missed"]))
    return category.mask((status.status == "upcoming") & soon, "upcoming")


def _days(n: pd.Series) -> pd.Series:
    return n.astype(str) + np.where(n == 1, " day", " days")


def _when(calls: pd.DataFrame, today: dt.date) -> pd.Series:
    """How far each call is from its window, in words, worked out a column at a time (a portfolio has tens of
    thousands of calls)."""
    since_close = pd.Series([(today - d).days for d in calls.window_close], index=calls.index, dtype="int64")
    until_open = pd.Series([(d - today).days for d in calls.window_open], index=calls.index, dtype="int64")
    missed = calls.interview_date[calls.category == "missed"]
    missed_on = pd.Series("missed", index=calls.index, dtype=object)
    missed_on[missed.index] = ["missed" if pd.isna(d) else f"missed on {d}" for d in missed]
    return pd.Series(
        np.select(
            [calls.category == "overdue", calls.category == "due", calls.category == "upcoming"],
            [
                "window closed " + _days(since_close) + " ago",
                "window closes in " + _days(-since_close),
                "window opens in " + _days(until_open),
            ],
            default=missed_on.astype(object),
        ),
        index=calls.index,
    )


def call_list(status: pd.DataFrame, today: dt.date, horizon: int = HORIZON_DAYS) -> pd.DataFrame:
    """Overdue, due, upcoming (window opening within `horizon` days) and missed follow-ups, by interviewer.

    The interviewer of a call still to make is whoever held that participant's previous interview; a missed call
    keeps the interviewer who recorded it.
    """
    if status.empty:
        return pd.DataFrame(columns=[*(c for c in CSV_COLUMNS if c not in CONTACT_COLUMNS), "interview_date"])
    frame = _dates(status, ("due_date", "window_open", "window_close", "interview_date"))
    frame["category"] = _category(frame, today, horizon)
    frame["interviewer"] = frame.interviewer.where(frame.status == "missed").fillna(frame.previous_interviewer)
    frame["interviewer"] = frame.interviewer.fillna(UNASSIGNED)
    calls = frame[frame.category.notna()].copy()
    calls["when"] = _when(calls, today) if len(calls) else []
    calls["order"] = calls.category.map(list(CATEGORIES).index)
    calls = calls.sort_values(["order", "interviewer", "project_code", "due_date", "participant_code"])
    return calls[[c for c in CSV_COLUMNS if c not in CONTACT_COLUMNS] + ["interview_date"]].reset_index(drop=True)


def with_contacts(calls: pd.DataFrame, contacts: pd.DataFrame) -> pd.DataFrame:
    """The calls with how to reach each participant (blank where none is recorded)."""
    known = contacts.set_index("participant_code")
    out = calls.copy()
    for column in CONTACT_COLUMNS:
        out[column] = calls.participant_code.map(known[column]) if len(known) else None
    return out


def workload(calls: pd.DataFrame) -> pd.DataFrame:
    """Interviewer × project: how many calls of each category."""
    counts = calls.pivot_table(
        index=["interviewer", "project_code"], columns="category", values="wave", aggfunc="count", fill_value=0
    )
    counts = counts.reindex(columns=list(CATEGORIES), fill_value=0).rename(columns=CATEGORIES)
    return counts.reset_index().rename(columns={"interviewer": "Interviewer", "project_code": "Project"})


def calls_csv(calls: pd.DataFrame) -> bytes:
    """The call list as CSV, ISO dates, with spreadsheet formulas neutralised."""
    return tidy.csv_bytes(calls.reindex(columns=list(CSV_COLUMNS)))


def calls_ics(calls: pd.DataFrame, study_name: str, today: dt.date) -> bytes:
    """One all-day event per call still to make, on its due date; the UID is stable per participant × wave so a
    calendar that imports the file again updates the events instead of doubling them."""
    calendar = Calendar()
    calendar.add("prodid", "-//innovation_tracker//fieldwork//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{study_name}: follow-up calls")
    stamp = dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC)
    for row in calls[calls.category.isin(CALENDAR_CATEGORIES)].itertuples():
        calendar.add_component(_event(row, stamp))
    return calendar.to_ical()


def _event(row, stamp: dt.datetime) -> Event:
    event = Event()
    event.add("uid", f"{row.participant_code}-{row.wave}@innovation-tracker")
    event.add("dtstamp", stamp)
    event.add("dtstart", row.due_date)
    event.add("dtend", row.due_date + dt.timedelta(days=1))
    event.add("summary", f"{row.wave_label} call: {row.participant_code} ({row.project_code})")
    event.add(
        "description",
        f"Window {row.window_open.isoformat()} to {row.window_close.isoformat()}. "
        f"Interviewer: {row.interviewer}. Role: {row.role.replace('_', ' ')}.",
    )
    return event
