"""Data capture: every rule of the study checked on save, then one audited write.

What the data-entry pages call. No streamlit and no duckdb here: a broken rule raises `ValidationError` whose
problems name the field (the column name, or `ratings` with a row number) so a page can show each message next to
its widget. When any rule is broken nothing is written.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

import pandas as pd

from . import schedule, storage
from .domain import (
    RATING_LABELS,
    Factor,
    InterviewStatus,
    MilestoneKind,
    Mode,
    Novelty,
    ProjectStatus,
    Relation,
    Role,
    Setting,
    Study,
    Viewer,
    check_duration,
    check_interview_date,
    check_rating,
    label_of,
    normalise_indicator_value,
    parse_date,
    parse_enum,
    require,
)
from .errors import AccessDenied, NotFound, Problem, ValidationError

PROJECT_CODE = re.compile(r"[A-Z][A-Z0-9_-]{0,15}")
PARTICIPANT_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
OPEN_STATUSES = ("due", "overdue", "upcoming")


@dataclass(frozen=True)
class Saved:
    """What a save did: the record's key, and a note for the user (an interview outside its window)."""

    key: str
    note: str | None = None


def require_editor(viewer: Viewer) -> None:
    if not viewer.edits_study_data:
        raise AccessDenied(f"Only evaluators and admins change study data; {viewer.username} is a {viewer.role}.")


def require_milestone_editor(viewer: Viewer, project_code: str) -> None:
    if not viewer.edits_milestones_of(project_code):
        raise AccessDenied(f"{viewer.username} may not change the milestones of project {project_code}.")


def _text(value: object) -> str | None:
    text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value).strip()
    return text or None


def _enum(values: dict, field: str, enum: type[StrEnum], problems: list, required: bool = True) -> str | None:
    if not required and _text(values.get(field)) is None:
        return None
    member, found = parse_enum(enum, values.get(field), field)
    problems += found
    return None if member is None else member.value


def _date(values: dict, field: str, problems: list, required: bool = True) -> dt.date | None:
    value, found = parse_date(values.get(field), field, required=required)
    problems += found
    return value


def _not_future(value: dt.date | None, field: str, what: str, today: dt.date) -> list[Problem]:
    if value is not None and value > today:
        return [Problem("future_date", f"{what} {value} is in the future (today is {today})", field, value=value)]
    return []


def _in_study(value: dt.date | None, field: str, what: str, study: Study) -> list[Problem]:
    if value is not None and not study.start_date <= value <= study.end_date:
        message = f"{what} {value} is outside the study window {study.start_date} to {study.end_date}"
        return [Problem("study_window", message, field, value=value)]
    return []


def _study(con: storage.Connection) -> Study:
    study = storage.get_study(con)
    if study is None:
        raise NotFound("This database holds no study yet: create one with `python -m innovation_tracker init`.")
    return study


# Projects


def check_project(values: dict, study: Study, *, new: bool, taken: set[str]) -> dict:
    """The project as stored, or a ValidationError naming every broken rule."""
    problems: list[Problem] = []
    row = {
        "name": _text(values.get("name")),
        "setting": _enum(values, "setting", Setting, problems),
        "host_organisation": _text(values.get("host_organisation")),
        "relation_to_statutory": _enum(values, "relation_to_statutory", Relation, problems),
        "start_date": _date(values, "start_date", problems, required=False),
        "status": _enum(values, "status", ProjectStatus, problems),
        "innovation_type": _text(values.get("innovation_type")),
        "novelty": _enum(values, "novelty", Novelty, problems, required=False),
    }
    if row["name"] is None:
        problems.append(Problem("required", "a project needs a name", "name"))
    if row["start_date"] is not None and row["start_date"] > study.end_date:
        problems.append(Problem("after_study", f"start date {row['start_date']} is after the study ends", "start_date"))
    if new:
        code = _text(values.get("project_code")) or ""
        problems += _check_code(
            code,
            PROJECT_CODE,
            taken,
            "project_code",
            "project code",
            "1–16 upper-case letters, digits, - or _, starting with a letter (for example ARTS)",
        )
        row = {"project_code": code, **row}
    require(problems)
    return row


def _check_code(code: str, pattern: re.Pattern, taken: set[str], field: str, what: str, rule: str) -> list[Problem]:
    if not pattern.fullmatch(code):
        return [Problem("code_format", f"{what} '{code}' must be {rule}", field, value=code)]
    if code in taken:
        return [Problem("exists", f"{what} '{code}' is already in the study", field, value=code)]
    return []


def create_project(con: storage.Connection, viewer: Viewer, values: dict) -> Saved:
    require_editor(viewer)
    taken = set(storage.list_projects(con, viewer).project_code)
    row = check_project(values, _study(con), new=True, taken=taken)
    storage.add_project(con, viewer.username, row)
    return Saved(row["project_code"])


def edit_project(con: storage.Connection, viewer: Viewer, project_code: str, values: dict) -> Saved:
    require_editor(viewer)
    row = check_project(values, _study(con), new=False, taken=set())
    storage.update_project(con, viewer.username, project_code, row)
    return Saved(project_code)


def remove_project(con: storage.Connection, viewer: Viewer, project_code: str) -> dict[str, int]:
    require_editor(viewer)
    return storage.delete_project(con, viewer.username, project_code)


# Participants


def _participant(con: storage.Connection, viewer: Viewer, project_code: str, participant_code: str) -> dict:
    people = storage.list_participants(con, viewer, project_code)
    found = people[people.participant_code == participant_code]
    if found.empty:
        raise NotFound(f"participant {participant_code} is not in project {project_code}")
    row = found.iloc[0].to_dict()
    for column in ("enrolment_date", "consent_date", "withdrawal_date"):
        row[column] = None if pd.isna(row[column]) else pd.Timestamp(row[column]).date()
    return row


def _interviews(con: storage.Connection, viewer: Viewer, project_code: str, participant_code: str) -> pd.DataFrame:
    found = storage.project_interviews(con, viewer, project_code)
    found = found[found.participant_code == participant_code].copy()
    found["interview_date"] = pd.to_datetime(found["interview_date"]).dt.date
    return found


def check_participant_dates(values: dict, study: Study, today: dt.date, first_interview: dt.date | None) -> dict:
    problems: list[Problem] = []
    enrolment = _date(values, "enrolment_date", problems)
    consent = _date(values, "consent_date", problems, required=False)
    problems += _not_future(enrolment, "enrolment_date", "enrolment date", today)
    problems += _in_study(enrolment, "enrolment_date", "enrolment date", study)
    problems += _not_future(consent, "consent_date", "consent date", today)
    if enrolment is not None and first_interview is not None and enrolment > first_interview:
        message = f"enrolment date {enrolment} is after their first interview on {first_interview}"
        problems.append(Problem("before_enrolment", message, "enrolment_date"))
    return {"enrolment_date": enrolment, "consent_date": consent, "problems": problems}


def enrol_participant(con: storage.Connection, viewer: Viewer, values: dict, today: dt.date) -> Saved:
    """Enrol a participant under a pseudonymous code (never a name)."""
    require_editor(viewer)
    study = _study(con)
    problems: list[Problem] = []
    code = _text(values.get("participant_code")) or ""
    project = _text(values.get("project_code")) or ""
    if project not in set(storage.list_projects(con, viewer).project_code):
        problems.append(Problem("unknown_reference", f"project '{project}' does not exist", "project_code"))
    taken = _all_participant_codes(con, viewer)
    rule = "1–32 letters, digits, - or _ (a pseudonymous code such as ARTS-07, never a name)"
    problems += _check_code(code, PARTICIPANT_CODE, taken, "participant_code", "participant code", rule)
    role = _enum(values, "role", Role, problems)
    dates = check_participant_dates(values, study, today, None)
    require(problems + dates.pop("problems"))
    row = {"participant_code": code, "project_code": project, "role": role, **dates, "status": "active"}
    storage.add_participant(con, viewer.username, row)
    return Saved(code)


def _all_participant_codes(con: storage.Connection, viewer: Viewer) -> set[str]:
    return set(storage.read_table(con, viewer, "participants").participant_code)


def edit_participant(
    con: storage.Connection, viewer: Viewer, project_code: str, participant_code: str, values: dict, today: dt.date
) -> Saved:
    """Change a participant's role, enrolment and consent dates (the code and project are fixed)."""
    require_editor(viewer)
    _participant(con, viewer, project_code, participant_code)
    done = _interviews(con, viewer, project_code, participant_code)
    first = min(done.interview_date) if len(done) else None
    problems: list[Problem] = []
    role = _enum(values, "role", Role, problems)
    dates = check_participant_dates(values, _study(con), today, first)
    require(problems + dates.pop("problems"))
    storage.update_participant(con, viewer.username, participant_code, {"role": role, **dates})
    return Saved(participant_code)


def check_withdrawal(person: dict, withdrawal_date: object, last_interview: dt.date | None, today: dt.date) -> dt.date:
    problems: list[Problem] = []
    when = _date({"withdrawal_date": withdrawal_date}, "withdrawal_date", problems)
    if person["status"] == "withdrawn":
        problems.append(Problem("withdrawn", f"{person['participant_code']} withdrew on {person['withdrawal_date']}"))
    problems += _not_future(when, "withdrawal_date", "withdrawal date", today)
    if when is not None and when < person["enrolment_date"]:
        message = f"withdrawal date {when} is before the enrolment date {person['enrolment_date']}"
        problems.append(Problem("date_order", message, "withdrawal_date", value=when))
    elif when is not None and last_interview is not None and when < last_interview:
        message = f"withdrawal date {when} is before their last interview on {last_interview}"
        problems.append(Problem("after_withdrawal", message, "withdrawal_date", value=when))
    require(problems)
    return when


def withdraw(
    con: storage.Connection,
    viewer: Viewer,
    project_code: str,
    participant_code: str,
    withdrawal_date: object,
    today: dt.date,
    *,
    erase: bool = False,
) -> Saved:
    """Withdraw a participant: their later waves become `withdrawn`. With `erase`, what they said is deleted too."""
    require_editor(viewer)
    person = _participant(con, viewer, project_code, participant_code)
    done = _interviews(con, viewer, project_code, participant_code)
    last = None if erase or done.empty else max(done.interview_date)
    when = check_withdrawal(person, withdrawal_date, last, today)
    if erase:
        erased = storage.erase_participant(con, viewer.username, participant_code, when)
        return Saved(participant_code, f"{erased} interview(s) and their ratings were erased")
    storage.withdraw_participant(con, viewer.username, participant_code, when)
    return Saved(participant_code)


def remove_participant(con: storage.Connection, viewer: Viewer, project_code: str, participant_code: str) -> dict:
    require_editor(viewer)
    _participant(con, viewer, project_code, participant_code)
    return storage.delete_participant(con, viewer.username, participant_code)


# Interviews and their factor ratings

KIND_ORDER = ("barrier", "either", "facilitator")


def factor_choices(factors: list[Factor]) -> dict[str, str]:
    """Display label -> factor code, grouped by domain (in codebook order) and then by kind."""
    domains = list(dict.fromkeys(f.domain for f in factors))
    ordered = sorted(factors, key=lambda f: (domains.index(f.domain), KIND_ORDER.index(f.kind.value)))
    return {f"{label_of(f.domain)} · {f.kind.value} · {f.label}": f.factor_code for f in ordered}


def rating_label(rating: int) -> str:
    return f"{rating:+d} {RATING_LABELS[rating]}"


def _blank(value: object) -> bool:
    return _text(value) is None


def check_ratings(rows: pd.DataFrame, factors: list[Factor], coder: str) -> list[dict]:
    """Rating rows as stored; `rows` has factor (display label or code), rating, evidence, shareable.

    Rows left wholly blank are ignored, so an empty row added by mistake is no error.
    """
    choices = factor_choices(factors)
    by_code = {f.factor_code: f for f in factors}
    problems: list[Problem] = []
    stored: list[dict] = []
    seen: dict[str, int] = {}
    for n, row in enumerate(rows.to_dict("records"), start=1):
        if _blank(row.get("factor")) and _blank(row.get("rating")):
            continue
        code = choices.get(_text(row.get("factor")) or "", _text(row.get("factor")) or "")
        found = [
            Problem(p.rule, f"row {n}: {p.message}", "ratings", n, value=p.value)
            for p in check_rating(row.get("rating"), by_code.get(code), code or "(none chosen)")
        ]
        if code in seen:
            message = f"row {n}: '{by_code[code].label}' is rated twice (also in row {seen[code]}); keep one"
            found.append(Problem("duplicate", message, "ratings", n))
        seen.setdefault(code, n)
        problems += found
        if not found:
            shareable = bool(row.get("shareable")) if not _blank(row.get("shareable")) else False
            evidence = _text(row.get("evidence"))
            stored.append(
                {
                    "factor_code": code,
                    "rating": int(float(row["rating"])),
                    "evidence": evidence,
                    "shareable": shareable,
                    "coder": coder,
                }
            )
    require(problems)
    return stored


def check_interview(values: dict, person: dict, study: Study, today: dt.date, taken: dict[str, dt.date]) -> dict:
    """The interview as stored. `taken` maps the waves this participant already has an interview for to its date."""
    problems: list[Problem] = []
    wave = _text(values.get("wave"))
    if wave in taken:
        message = f"{person['participant_code']} already has a {wave} interview (on {taken[wave]}): one per wave"
        problems.append(Problem("duplicate", message, "wave", value=wave))
    when = _date(values, "interview_date", problems)
    if when is not None:
        problems += check_interview_date(
            when,
            today=today,
            enrolment_date=person["enrolment_date"],
            withdrawal_date=person["withdrawal_date"],
            study=study,
        )
    duration, found = check_duration(values.get("duration_min"))
    row = {
        "participant_code": person["participant_code"],
        "wave": wave,
        "interview_date": when,
        "mode": _enum(values, "mode", Mode, problems),
        "interviewer": _text(values.get("interviewer")),
        "duration_min": duration,
        "status": _enum(values, "status", InterviewStatus, problems),
        "summary": _text(values.get("summary")),
    }
    require(problems + found)
    return row


def _check_ratings_allowed(status: str, ratings: list[dict]) -> None:
    if ratings and status != InterviewStatus.COMPLETED:
        message = (
            f"a {status} interview carries no ratings: remove the {len(ratings)} rating row(s) or mark it completed"
        )
        raise ValidationError(Problem("not_completed", message, "ratings"))


def _window_note(con, person: dict, study: Study, today: dt.date, row: dict, others: pd.DataFrame) -> str | None:
    recorded = {w: (s, d) for w, s, d in zip(others.wave, others.status, others.interview_date, strict=True)}
    recorded[row["wave"]] = (row["status"], row["interview_date"])
    for due in schedule.participant_schedule(
        storage.list_waves(con),
        enrolment_date=person["enrolment_date"],
        interviews=recorded,
        withdrawal_date=person["withdrawal_date"],
        study_end=study.end_date,
        today=today,
    ):
        if due.wave == row["wave"]:
            return schedule.window_message(due.label, due.days_outside, due.window_open, due.window_close)
    return None


def _known_wave(con: storage.Connection, wave: str | None) -> None:
    if wave not in {w.wave for w in storage.list_waves(con)}:
        raise ValidationError(Problem("unknown_reference", f"'{wave}' is not a wave of the study's schedule", "wave"))


def log_interview(
    con: storage.Connection,
    viewer: Viewer,
    project_code: str,
    participant_code: str,
    values: dict,
    ratings: pd.DataFrame,
    today: dt.date,
) -> Saved:
    """Record an interview and its ratings; the note says how far outside its wave's window it was, if it was."""
    require_editor(viewer)
    study = _study(con)
    person = _participant(con, viewer, project_code, participant_code)
    _known_wave(con, _text(values.get("wave")))
    others = _interviews(con, viewer, project_code, participant_code)
    row = _checked(values, ratings, person, study, today, others, con, viewer)
    interview_id = storage.add_interview(con, viewer.username, row["interview"], row["ratings"])
    return Saved(str(interview_id), _window_note(con, person, study, today, row["interview"], others))


def _checked(values, ratings, person, study, today, others, con, viewer) -> dict:
    """Every rule of the form at once: the interview's fields and every rating row."""
    problems: list[Problem] = []
    taken = dict(zip(others.wave, others.interview_date, strict=True))
    interview = rated = None
    try:
        interview = check_interview(values, person, study, today, taken)
    except ValidationError as error:
        problems += error.problems
    try:
        rated = check_ratings(ratings, storage.list_factors(con), viewer.username)
        status = interview["status"] if interview else _text(values.get("status"))
        _check_ratings_allowed(status, rated)
    except ValidationError as error:
        problems += error.problems
    require(problems)
    return {"interview": interview, "ratings": rated}


def edit_interview(
    con: storage.Connection,
    viewer: Viewer,
    project_code: str,
    interview_id: int,
    values: dict,
    ratings: pd.DataFrame,
    today: dt.date,
) -> Saved:
    """Change an interview and replace its ratings; its participant and wave stay as they are."""
    require_editor(viewer)
    study = _study(con)
    current = _interview(con, viewer, project_code, interview_id)
    person = _participant(con, viewer, project_code, current["participant_code"])
    others = _interviews(con, viewer, project_code, current["participant_code"])
    others = others[others.interview_id != interview_id]
    row = _checked({**values, "wave": current["wave"]}, ratings, person, study, today, others, con, viewer)
    changes = {k: v for k, v in row["interview"].items() if k not in ("participant_code", "wave")}
    storage.update_interview(con, viewer.username, interview_id, changes, row["ratings"])
    return Saved(str(interview_id), _window_note(con, person, study, today, row["interview"], others))


def _interview(con: storage.Connection, viewer: Viewer, project_code: str, interview_id: int) -> dict:
    found = storage.project_interviews(con, viewer, project_code)
    found = found[found.interview_id == int(interview_id)]
    if found.empty:
        raise NotFound(f"interview {interview_id} is not in project {project_code} (deleted by someone else?)")
    return found.iloc[0].to_dict()


def remove_interview(con: storage.Connection, viewer: Viewer, project_code: str, interview_id: int) -> dict:
    require_editor(viewer)
    _interview(con, viewer, project_code, interview_id)
    return storage.delete_interview(con, viewer.username, int(interview_id))


def proposed_wave(participant_schedule: pd.DataFrame) -> str | None:
    """The wave to log next: one due now, else the earliest overdue or upcoming; None when all are recorded."""
    rows = participant_schedule.sort_values("position")
    for statuses in (("due",), ("overdue", "upcoming")):
        found = rows[rows.status.isin(statuses)]
        if not found.empty:
            return found.iloc[0]["wave"]
    return None


def proposed_interviewer(interviews: pd.DataFrame) -> str | None:
    """Whoever held the participant's latest interview usually rings them next."""
    known = interviews.dropna(subset=["interviewer"]).sort_values("position")
    return None if known.empty else known.iloc[-1]["interviewer"]


# Sustainability indicators


def score_sustainability(
    con: storage.Connection, viewer: Viewer, project_code: str, wave: str, values: dict[str, object]
) -> Saved:
    """Score a project's indicators for a wave; a blank value clears that indicator's score."""
    require_editor(viewer)
    if project_code not in set(storage.list_projects(con, viewer).project_code):
        raise NotFound(f"project {project_code} does not exist")
    _known_wave(con, wave)
    problems: list[Problem] = []
    stored: dict[str, str | None] = {}
    for indicator in storage.list_indicators(con):
        code = indicator.indicator_code
        if code not in values:
            continue
        if _blank(values[code]):
            stored[code] = None
            continue
        value, found = normalise_indicator_value(indicator, values[code])
        problems += [Problem(p.rule, f"{indicator.label}: {p.message}", code, value=p.value) for p in found]
        stored[code] = value
    require(problems)
    storage.set_indicator_values(con, viewer.username, project_code, wave, stored)
    return Saved(f"{project_code}/{wave}")


# Milestones


def check_milestone(values: dict, study: Study) -> dict:
    problems: list[Problem] = []
    when = _date(values, "milestone_date", problems)
    if when is not None and when > study.end_date:
        message = f"milestone date {when} is after the study window closed on {study.end_date}"
        problems.append(Problem("after_study", message, "milestone_date", value=when))
    title = _text(values.get("title"))
    if title is None:
        problems.append(Problem("required", "a milestone needs a title", "title"))
    elif len(title) > 120:
        problems.append(Problem("too_long", f"the title is {len(title)} characters; keep it to 120", "title"))
    row = {
        "milestone_date": when,
        "kind": _enum(values, "kind", MilestoneKind, problems),
        "title": title,
        "notes": _text(values.get("notes")),
    }
    require(problems)
    return row


def _milestone(con: storage.Connection, viewer: Viewer, project_code: str, milestone_id: int) -> None:
    if int(milestone_id) not in set(storage.list_milestones(con, viewer, project_code).milestone_id):
        raise NotFound(f"milestone {milestone_id} is not in project {project_code} (deleted by someone else?)")


def create_milestone(con: storage.Connection, viewer: Viewer, project_code: str, values: dict) -> Saved:
    require_milestone_editor(viewer, project_code)
    if project_code not in set(storage.list_projects(con, viewer).project_code):
        raise NotFound(f"project {project_code} does not exist")
    row = check_milestone(values, _study(con))
    return Saved(str(storage.add_milestone(con, viewer.username, {"project_code": project_code, **row})))


def edit_milestone(
    con: storage.Connection, viewer: Viewer, project_code: str, milestone_id: int, values: dict
) -> Saved:
    require_milestone_editor(viewer, project_code)
    _milestone(con, viewer, project_code, milestone_id)
    row = check_milestone(values, _study(con))
    storage.update_milestone(con, viewer.username, int(milestone_id), row)
    return Saved(str(milestone_id))


def remove_milestone(con: storage.Connection, viewer: Viewer, project_code: str, milestone_id: int) -> dict:
    require_milestone_editor(viewer, project_code)
    _milestone(con, viewer, project_code, milestone_id)
    return storage.delete_milestone(con, viewer.username, int(milestone_id))


# The audit log


def restore(con: storage.Connection, viewer: Viewer, audit_id: int) -> dict[str, int]:
    """Put back a deleted project, participant, interview or milestone (with its children) from the audit log."""
    require_editor(viewer)
    return storage.restore_deleted(con, viewer.username, int(audit_id))


def previous_ratings(
    ratings: pd.DataFrame, participant_code: str, wave: str, wave_order: list[str]
) -> tuple[str | None, pd.DataFrame]:
    """The participant's ratings at their last rated wave before `wave`, with that wave's label."""
    rank = ratings.wave.map({w: n for n, w in enumerate(wave_order)})
    mine = ratings[(ratings.participant_code == participant_code) & (rank < wave_order.index(wave))]
    if mine.empty:
        return None, mine
    last = mine[rank[mine.index] == rank[mine.index].max()]
    return last.wave_label.iloc[0], last


def rating_rows(ratings: pd.DataFrame, factors: list[Factor]) -> pd.DataFrame:
    """Stored ratings as the rows of the entry table (factor shown by its display label)."""
    labels = {code: label for label, code in factor_choices(factors).items()}
    return pd.DataFrame(
        {
            "factor": ratings.factor_code.map(labels).astype(object),
            "rating": ratings.rating.astype(object),
            "evidence": ratings.evidence.astype(object).where(ratings.evidence.notna(), None),
            "shareable": ratings.shareable.astype(bool),
        }
    ).reset_index(drop=True)
