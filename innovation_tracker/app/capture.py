"""Data capture: every rule of the study checked on save, then one audited write.

What the data-entry pages call. No streamlit and no duckdb here: a broken rule raises `ValidationError` whose
problems name the field (the column name, or `ratings` with a row number) so a page can show each message next to
its widget. When any rule is broken nothing is written.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

import pandas as pd

from innovation_tracker import storage
from innovation_tracker.domain import schedule
from innovation_tracker.domain.errors import AccessDenied, EditConflict, NotFound, Problem, ValidationError
from innovation_tracker.domain.model import (
    MIXED,
    RATING_LABELS,
    Factor,
    FactorKind,
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
    check_length,
    check_lengths,
    check_rating,
    label_of,
    normalise_indicator_value,
    parse_date,
    parse_enum,
    rating_text,
    rating_value,
    require,
    stored_rating,
)

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


def snapshot_of(row: dict | None, labels: dict[str, str]) -> dict[str, str]:
    """A record as the form showed it, field label -> value in words: what `changed_meanwhile` compares."""
    if row is None:
        return {}
    return {label: _shown(row.get(field)) for field, label in labels.items()}


def _shown(value: object) -> str:
    if value is None or (not isinstance(value, str | dict | list) and pd.isna(value)):
        return "—"
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def changed_meanwhile(conflict: EditConflict, what: str, opened: dict | None, now: dict) -> ValidationError:
    """The refusal of a save made from a stale form: who saved `what` since, when, and each field that changed
    between the form as it was opened and what is stored now. The form's entries stay as typed; saving again
    then saves over the other person's changes knowingly (the problem's value is the version now stored)."""
    opened = opened or {}
    changes = [
        f"{field}: {opened.get(field, '—')} → {now.get(field, '—')}"
        for field in dict.fromkeys([*opened, *now])
        if opened.get(field, "—") != now.get(field, "—")
    ]
    when = f" at {conflict.at:%H:%M:%S}" if isinstance(conflict.at, dt.datetime) else ""
    message = (
        f"{conflict.by or 'someone'} saved {what}{when}, after you opened this form. "
        + ("What they changed: " + "; ".join(changes) + ". " if changes else "")
        + "Nothing of yours was saved and your entries are still in the form: compare them with the changes, "
        "then save again to keep yours."
    )
    return ValidationError(Problem("changed_meanwhile", message, value=conflict.version))


# Projects

PROJECT_FIELDS = {
    "name": "Name",
    "setting": "Setting",
    "relation_to_statutory": "Relation to statutory services",
    "status": "Status",
    "novelty": "New, expansion or existing",
    "host_organisation": "Host organisation",
    "innovation_type": "Innovation type",
    "start_date": "Start date",
}


def check_project(values: dict, study: Study, *, new: bool, taken: set[str]) -> dict:
    """The project as stored, or a ValidationError naming every broken rule."""
    problems: list[Problem] = []
    row: dict[str, Any] = {
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
    problems += check_lengths(row, ("name", "host_organisation", "innovation_type"))
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


def edit_project(
    con: storage.Connection,
    viewer: Viewer,
    project_code: str,
    values: dict,
    *,
    version: int | None = None,
    opened: dict | None = None,
) -> Saved:
    """Change a project. With `version` (as read when the form was opened), a save after someone else's is
    refused with what they changed (compared with `opened`, the form's `snapshot_of` the project then)."""
    require_editor(viewer)
    row = check_project(values, _study(con), new=False, taken=set())
    try:
        storage.update_project(con, viewer.username, project_code, row, version=version)
    except EditConflict as conflict:
        now = storage.list_projects(con, viewer).set_index("project_code").loc[project_code].to_dict()
        raise changed_meanwhile(conflict, f"project {project_code}", opened, snapshot_of(now, PROJECT_FIELDS)) from None
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


PARTICIPANT_FIELDS = {
    "role": "Stakeholder role",
    "enrolment_date": "Enrolment date",
    "consent_date": "Consent date",
    "status": "Status",
    "withdrawal_date": "Withdrawal date",
    "telephone": "Telephone",
    "email": "E-mail",
    "call_times": "Preferred call times",
}
TELEPHONE = re.compile(r"\+?[0-9][0-9 ()-]{5,22}[0-9]")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def check_contact(values: dict) -> tuple[dict, list[Problem]]:
    """A participant's contact details: telephone, e-mail, preferred call times (all optional)."""
    contact = {field: _text(values.get(field)) for field in storage.CONTACT_COLUMNS}
    problems = []
    if contact["telephone"] and not TELEPHONE.fullmatch(contact["telephone"]):
        message = f"telephone '{contact['telephone']}' must be 7–24 digits, spaces, brackets or dashes (01632 960123)"
        problems.append(Problem("telephone_format", message, "telephone"))
    if contact["email"] and (not EMAIL.fullmatch(contact["email"]) or len(contact["email"]) > 254):
        problems.append(Problem("email_format", f"'{contact['email']}' is not an e-mail address", "email"))
    problems += check_length(contact["call_times"], "call_times")
    return contact, problems


def enrol_participant(con: storage.Connection, viewer: Viewer, values: dict, today: dt.date) -> Saved:
    """Enrol a participant under a pseudonymous code (never a name), with how to reach them if given."""
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
    contact, found = check_contact(values)
    require(problems + dates.pop("problems") + found)
    row = {"participant_code": code, "project_code": project, "role": role, **dates, "status": "active"}
    storage.add_participant(con, viewer.username, row, contact)
    return Saved(code)


def _all_participant_codes(con: storage.Connection, viewer: Viewer) -> set[str]:
    return set(storage.read_table(con, viewer, "participants").participant_code)


def edit_participant(
    con: storage.Connection,
    viewer: Viewer,
    project_code: str,
    participant_code: str,
    values: dict,
    today: dt.date,
    *,
    version: int | None = None,
    opened: dict | None = None,
) -> Saved:
    """Change a participant's role, enrolment and consent dates and contact details (the code and project are
    fixed). With `version`, a save after someone else's is refused with what they changed (see `edit_project`)."""
    require_editor(viewer)
    _participant(con, viewer, project_code, participant_code)
    done = _interviews(con, viewer, project_code, participant_code)
    first = min(done.interview_date) if len(done) else None
    problems: list[Problem] = []
    role = _enum(values, "role", Role, problems)
    dates = check_participant_dates(values, _study(con), today, first)
    contact, found = check_contact(values)
    require(problems + dates.pop("problems") + found)
    try:
        storage.update_participant(
            con, viewer.username, participant_code, {"role": role, **dates}, version=version, contact=contact
        )
    except EditConflict as conflict:
        now = snapshot_of(_participant(con, viewer, project_code, participant_code), PARTICIPANT_FIELDS)
        raise changed_meanwhile(conflict, f"participant {participant_code}", opened, now) from None
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
    assert when is not None  # a required date is None only with a problem, and require raised on it
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


def rating_label(rating: int | str) -> str:
    """ "+2 strong facilitator", "0 neutral", "X mixed"."""
    return f"{rating_text(rating)} {RATING_LABELS[rating]}"


def rating_values(ratings: pd.DataFrame) -> list[int | str]:
    """Stored ratings (`rating`, and `mixed` where read) as the form shows them: −2..+2, or "X" for mixed."""
    mixed = ratings["mixed"] if "mixed" in ratings.columns else pd.Series(False, index=ratings.index)
    return [rating_value(int(r), bool(m)) for r, m in zip(ratings.rating, mixed.fillna(False), strict=True)]


def _blank(value: object) -> bool:
    return _text(value) is None


def _line(row: dict, n: int) -> tuple[str, str]:
    """How a message names a rating line (the form's own name for it, else its row number), and its field."""
    return row.get("line") or f"row {n}", row.get("field") or "ratings"


def check_ratings(rows: pd.DataFrame, factors: list[Factor], coder: str, neutral_mixed: bool = False) -> list[dict]:
    """Rating lines as stored; `rows` has factor (display label or code), rating, evidence, shareable, and may name
    each line (`line`, as the form shows it) and the field its messages go under (`field`). A carried-forward line
    (`carried` = last wave's rating) must be marked (`mark`: still, changed, absent).

    Only a line left wholly blank is ignored. Any incomplete line is an error naming it: a factor with no rating,
    evidence with no factor (or with a factor marked not mentioned), the same factor twice, a carried-forward
    factor left unmarked.
    """
    choices = factor_choices(factors)
    by_code = {f.factor_code: f for f in factors}
    problems: list[Problem] = []
    stored: list[dict] = []
    seen: dict[str, str] = {}
    for n, row in enumerate(rows.to_dict("records"), start=1):
        line, field = _line(row, n)
        factor, rating, evidence = _text(row.get("factor")), row.get("rating"), _text(row.get("evidence"))
        carried = row.get("carried") is not None and not _blank(row.get("carried"))
        if carried and _blank(row.get("mark")):
            message = f"{line}: mark it still so, changed (choose the new rating) or not mentioned"
            problems.append(Problem("unmarked", message, field, n))
            continue
        if carried and row.get("mark") == CARRY_ABSENT:
            if evidence is not None:
                message = f"{line}: it is marked not mentioned but has evidence; rate it or clear the evidence"
                problems.append(Problem("evidence_without_rating", message, field, n))
            continue
        if factor is None and _blank(rating) and evidence is None:
            continue
        problems += [Problem(p.rule, f"{line}: {p.message}", field, n) for p in check_length(evidence, "evidence")]
        if factor is None:
            problems.append(Problem("required", f"{line}: evidence or a rating with no factor; choose one", field, n))
            continue
        code = choices.get(factor, factor)
        if _blank(rating):
            name = by_code[code].label if code in by_code else factor
            what = "has evidence but no rating" if evidence is not None else "has no rating"
            problems.append(Problem("required", f"{line}: '{name}' {what}; choose one", field, n))
            continue
        found = [
            Problem(p.rule, f"{line}: {p.message}", field, n, value=p.value)
            for p in check_rating(rating, by_code.get(code), code, neutral_mixed=neutral_mixed)
        ]
        if code in seen:
            message = f"{line}: '{by_code[code].label}' is rated twice (also in {seen[code]}); keep one"
            found.append(Problem("duplicate", message, field, n))
        seen.setdefault(code, line)
        problems += found
        if not found:
            shareable = bool(row.get("shareable")) if not _blank(row.get("shareable")) else False
            value, mixed = stored_rating(cast(int | str, rating))
            stored.append(
                {
                    "factor_code": code,
                    "rating": value,
                    "mixed": mixed,
                    "evidence": evidence,
                    "shareable": shareable,
                    "coder": coder,
                }
            )
    require(problems)
    return stored


# Coding an interview against the codebook, with the previous wave carried forward

CARRY_STILL = "still"
CARRY_ABSENT = "absent"
ALLOWED = {FactorKind.BARRIER: (-2, -1), FactorKind.FACILITATOR: (1, 2), FactorKind.EITHER: (-2, -1, 1, 2)}


def rating_options(kind: FactorKind | str, neutral_mixed: bool = False) -> tuple[int | str, ...]:
    """The ratings a factor of this kind may take: a barrier −2/−1, a facilitator +1/+2, either all four; where the
    codebook declares them, also 0 (neutral) and X (mixed), between the negative and the positive ones."""
    allowed: tuple[int | str, ...] = ALLOWED[FactorKind(kind)]
    if not neutral_mixed:
        return allowed
    return (*(r for r in allowed if int(r) < 0), 0, MIXED, *(r for r in allowed if int(r) > 0))


def carry_options(kind: FactorKind | str, last: int | str, neutral_mixed: bool = False) -> tuple[object, ...]:
    """A carried-forward factor's marks: still so (last time's rating again), each other rating its kind allows
    (changed), or not mentioned."""
    return (CARRY_STILL, *(r for r in rating_options(kind, neutral_mixed) if r != last), CARRY_ABSENT)


def option_label(option: object, last: int | str | None = None) -> str:
    """How a rating control names an option: "+2", "0", "X", "still so (−1)", "not mentioned"."""
    if option == CARRY_STILL:
        return f"still so ({rating_text(cast(int | str, last))})"
    if option == CARRY_ABSENT:
        return "not mentioned"
    return rating_text(cast(int | str, option))  # the other options are ratings


def codebook_groups(factors: list[Factor], search: str = "") -> list[tuple[str, list[Factor]]]:
    """The codebook as the coder browses it: "Domain · kind" groups in codebook order (barriers, either,
    facilitators), keeping only factors whose label or definition contains every word of `search`."""
    words = search.casefold().split()
    domains = list(dict.fromkeys(f.domain for f in factors))
    found = [f for f in factors if all(w in f"{f.label} {f.description}".casefold() for w in words)]
    groups: dict[str, list[Factor]] = {}
    for f in sorted(found, key=lambda f: (domains.index(f.domain), KIND_ORDER.index(f.kind.value))):
        kind = {"barrier": "barriers", "facilitator": "facilitators", "either": "either way"}[f.kind.value]
        groups.setdefault(f"{label_of(f.domain)} · {kind}", []).append(f)
    return list(groups.items())


@dataclass(frozen=True)
class Carried:
    """A factor the participant cited at their previous interview: what the coder marks this time."""

    factor: Factor
    rating: int | str  # last time's (X for mixed)
    evidence: str | None  # last time's excerpt


def carried_forward(previous: pd.DataFrame, factors: list[Factor]) -> list[Carried]:
    """The previous interview's ratings (`previous_ratings`) as lines to mark, in codebook order."""
    by_code = {f.factor_code: f for f in factors}
    values = rating_values(previous)
    return [
        Carried(by_code[code], rating, None if pd.isna(evidence) else str(evidence))
        for code, rating, evidence in zip(previous.factor_code, values, previous.evidence, strict=True)
        if code in by_code
    ]


def coding_rows(
    carried: list[Carried], marks: dict, evidence: dict, shareable: dict, labels: dict[str, str]
) -> pd.DataFrame:
    """The form's coding as rating lines for `check_ratings`: each carried-forward factor (marked or not), then
    every other factor given a rating or evidence. `marks`, `evidence` and `shareable` map factor codes to what the
    form holds: a mark (CARRY_STILL, a rating, CARRY_ABSENT) or a rating, the excerpt, the flag; `labels` names
    each factor."""
    rows = []
    carried_codes = {c.factor.factor_code for c in carried}
    for n, item in enumerate(carried, start=1):
        code, mark = item.factor.factor_code, marks.get(item.factor.factor_code)
        rating = item.rating if mark == CARRY_STILL else None if mark in (None, CARRY_ABSENT) else mark
        label = "changed" if mark not in (None, CARRY_STILL, CARRY_ABSENT) else mark
        rows.append(
            {
                "factor": code,
                "rating": rating,
                "evidence": evidence.get(code),
                "shareable": bool(shareable.get(code)),
                "line": f"Carried forward line {n} ({item.factor.label})",
                "field": f"line:{code}",
                "carried": item.rating,
                "mark": label,
            }
        )
    for code in dict.fromkeys([*marks, *evidence]):
        if code in carried_codes or (marks.get(code) is None and not _text(evidence.get(code))):
            continue
        rows.append(
            {
                "factor": code,
                "rating": marks.get(code),
                "evidence": evidence.get(code),
                "shareable": bool(shareable.get(code)),
                "line": f"New factor '{labels.get(code, code)}'",
                "field": f"line:{code}",
                "carried": None,
                "mark": None,
            }
        )
    columns = ["factor", "rating", "evidence", "shareable", "line", "field", "carried", "mark"]
    return pd.DataFrame(rows, columns=columns).astype(object)


def marks_of(stored: pd.DataFrame, carried: list[Carried]) -> dict:
    """An interview's stored ratings as the form's marks: a carried-forward factor rated as last time is still so,
    rated otherwise changed (its rating), not rated not mentioned; every other factor its rating."""
    ratings = dict(zip(stored.factor_code, rating_values(stored), strict=True))
    marks: dict = {}
    for item in carried:
        code = item.factor.factor_code
        now = ratings.pop(code, None)
        marks[code] = CARRY_ABSENT if now is None else CARRY_STILL if now == item.rating else now
    return {**marks, **ratings}


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
    require(problems + found + check_lengths(row, ("interviewer", "summary")))
    return row


def _check_ratings_allowed(status: str | None, ratings: list[dict], no_factors: bool) -> None:
    if ratings and status != InterviewStatus.COMPLETED:
        message = (
            f"a {status} interview carries no ratings: remove the {len(ratings)} rating row(s) or mark it completed"
        )
        raise ValidationError(Problem("not_completed", message, "ratings"))
    if status == InterviewStatus.COMPLETED and not ratings and not no_factors:
        message = (
            "a completed interview with no factor ratings: rate the factors discussed, or tick “No factors were "
            "discussed” if none were"
        )
        raise ValidationError(Problem("no_ratings", message, "no_factors"))
    if ratings and no_factors:
        message = (
            f"“No factors were discussed” is ticked but {len(ratings)} factor(s) are rated: untick it or clear them"
        )
        raise ValidationError(Problem("contradiction", message, "no_factors"))


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
    *,
    draft: str | None = None,
) -> Saved:
    """Record an interview and its ratings; the note says how far outside its wave's window it was, if it was.

    A completed interview needs ratings or `values["no_factors"]` (nobody forgets to code it). The viewer's
    draft of the form (`draft`, the form's name) goes in the same transaction."""
    require_editor(viewer)
    study = _study(con)
    person = _participant(con, viewer, project_code, participant_code)
    _known_wave(con, _text(values.get("wave")))
    others = _interviews(con, viewer, project_code, participant_code)
    row = _checked(values, ratings, person, study, today, others, con, viewer)
    mine = None if draft is None else (viewer.username, draft)
    interview_id = storage.add_interview(con, viewer.username, row["interview"], row["ratings"], draft=mine)
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
        rated = check_ratings(ratings, storage.list_factors(con), viewer.username, study.neutral_mixed)
        status = interview["status"] if interview else _text(values.get("status"))
        _check_ratings_allowed(status, rated, bool(values.get("no_factors")))
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
    *,
    version: int | None = None,
    opened: dict | None = None,
    draft: str | None = None,
) -> Saved:
    """Change an interview and replace its ratings; its participant and wave stay as they are. With `version`
    (as read when the form was opened), a save after someone else's is refused with what they changed since the
    form showed `opened` (`interview_snapshot`)."""
    require_editor(viewer)
    study = _study(con)
    current = _interview(con, viewer, project_code, interview_id)
    person = _participant(con, viewer, project_code, current["participant_code"])
    others = _interviews(con, viewer, project_code, current["participant_code"])
    others = others[others.interview_id != interview_id]
    row = _checked({**values, "wave": current["wave"]}, ratings, person, study, today, others, con, viewer)
    changes = {k: v for k, v in row["interview"].items() if k not in ("participant_code", "wave")}
    mine = None if draft is None else (viewer.username, draft)
    try:
        storage.update_interview(
            con, viewer.username, interview_id, changes, row["ratings"], version=version, draft=mine
        )
    except EditConflict as conflict:
        now = interview_snapshot(
            _interview(con, viewer, project_code, interview_id),
            storage.project_ratings(con, viewer, project_code).query("interview_id == @interview_id"),
        )
        raise changed_meanwhile(conflict, "this interview", opened, now) from None
    return Saved(str(interview_id), _window_note(con, person, study, today, row["interview"], others))


INTERVIEW_FIELDS = {
    "interview_date": "Interview date",
    "mode": "Mode",
    "status": "Status",
    "interviewer": "Interviewer",
    "duration_min": "Duration (minutes)",
    "summary": "Summary notes",
}


def interview_snapshot(interview: dict, ratings: pd.DataFrame) -> dict[str, str]:
    """An interview and its ratings in words, field by field (what `changed_meanwhile` compares)."""
    shown = snapshot_of(interview, INTERVIEW_FIELDS)
    for label, rating, evidence in zip(ratings.label, rating_values(ratings), ratings.evidence, strict=True):
        excerpt = "" if pd.isna(evidence) else f" “{evidence}”"
        shown[f"Rating of {label}"] = option_label(rating) + excerpt
    return shown


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
    con: storage.Connection,
    viewer: Viewer,
    project_code: str,
    wave: str,
    values: dict[str, object],
    *,
    version: int | None = None,
    opened: dict | None = None,
) -> Saved:
    """Score a project's indicators for a wave; a blank value clears that indicator's score. With `version`, a
    save after someone else's is refused with what they changed (compared with `opened`, `scores_snapshot`)."""
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
    try:
        storage.set_indicator_values(con, viewer.username, project_code, wave, stored, version=version)
    except EditConflict as conflict:
        now = scores_snapshot(storage.indicator_scores(con, viewer, project_code, wave))
        raise changed_meanwhile(conflict, f"the scores of {project_code} at this wave", opened, now) from None
    return Saved(f"{project_code}/{wave}")


def scores_snapshot(scores: pd.DataFrame) -> dict[str, str]:
    return {label: _shown(value) for label, value in zip(scores.label, scores.value, strict=True)}


def current_round(plan: pd.DataFrame, waves: list[str]) -> str | None:
    """A project's current round: the wave most of its participants are at, each participant being at the latest
    wave they are due for (due or overdue now) or were interviewed at; ties go to the later wave. None when
    nobody is at any wave yet. `plan` is `storage.project_schedule`'s rows."""
    order = {w: n for n, w in enumerate(waves)}
    at: dict[str, str] = {}  # participant -> the latest wave reached; a few dozen rows: plain Python, not pandas
    columns = (plan.participant_code.tolist(), plan.wave.tolist(), plan.status.tolist(), plan.interview_date.notna())
    for participant, wave, status, held in zip(*columns, strict=True):
        if (status in ("due", "overdue") or held) and (
            participant not in at or order.get(wave, len(order)) >= order.get(at[participant], len(order))
        ):
            at[participant] = wave
    if not at:
        return None
    counts = Counter(at.values())
    most = max(counts.values())
    return max((wave for wave, n in counts.items() if n == most), key=lambda wave: order.get(wave, len(order)))


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
    row = {
        "milestone_date": when,
        "kind": _enum(values, "kind", MilestoneKind, problems),
        "title": title,
        "notes": _text(values.get("notes")),
    }
    require(problems + check_lengths(row, ("title", "notes")))
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
