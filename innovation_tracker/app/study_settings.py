"""Changing the study as it goes: its details, codebook, indicator set and waves (the Settings page and its tests
call these). Every rule is checked before anything is written; each change is one audited transaction.

- A code is a key stored data points at: it is chosen once and never changed.
- A factor or indicator that has data is retired, never deleted: its ratings or scores stay and still show, but it
  is no longer offered for new coding or scoring.
- Schedules are computed from the waves whenever they are shown, so a new or re-timed wave moves every due date at
  once; a change that would leave a stored interview outside every window of its participant is refused, with
  those interviews listed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import cast

import pandas as pd

from innovation_tracker import storage
from innovation_tracker.app.capture import require_editor
from innovation_tracker.domain import schedule
from innovation_tracker.domain.codebook import BUILT_IN_CODEBOOKS, CODE_PATTERN, load_codebook_and_scale
from innovation_tracker.domain.errors import Problem, ValidationError
from innovation_tracker.domain.model import (
    Factor,
    FactorKind,
    Indicator,
    IndicatorType,
    Mode,
    Study,
    Viewer,
    Wave,
    check_length,
)

STRANDED_LISTED = 20


def _fail_on(problems: list[Problem]) -> None:
    if problems:
        raise ValidationError(problems)


def _required(value: str, field: str, what: str) -> list[Problem]:
    return [] if value.strip() else [Problem("required", f"{what} is required", field)]


def _texts(**values: str) -> list[Problem]:
    """Each text as it is stored (trimmed) within its field's limit (`domain.TEXT_LIMITS`)."""
    return [problem for field, value in values.items() for problem in check_length(value.strip(), field)]


def _new_code(con: storage.Connection, code: str, table: str, what: str) -> list[Problem]:
    if not CODE_PATTERN.match(code):
        return [Problem("code_format", f"{what} code '{code}' must be lower-case letters, digits and _", "code")]
    taken: dict[str, Callable[[storage.Connection], Sequence[object]]] = {
        "factor": storage.list_factors,
        "indicator": storage.list_indicators,
        "wave": storage.list_waves,
    }
    codes = {getattr(item, f"{table}_code" if table != "wave" else "wave") for item in taken[table](con)}
    return [Problem("duplicate", f"{what} code '{code}' is already in use", "code")] if code in codes else []


def change_study(
    con: storage.Connection, viewer: Viewer, *, name: str, funder: str, start_date: dt.date, end_date: dt.date
) -> None:
    """The study's name, funder and dates; every stored date must stay inside the new dates."""
    require_editor(viewer)
    problems = _required(name, "name", "The study's name") + _texts(name=name, funder=funder)
    if end_date <= start_date:
        problems.append(Problem("end_after_start", "the end date must be after the start date", "end_date"))
    first, last = con.execute(
        "SELECT least(min(enrolment_date), (SELECT min(interview_date) FROM interview)),"
        " greatest(max(enrolment_date), (SELECT max(interview_date) FROM interview)) FROM participant"
    ).fetchall()[0]
    if first is not None and first < start_date:
        problems.append(
            Problem("data_outside_study", f"data from {first:%-d %b %Y} would fall before the start", "start_date")
        )
    if last is not None and last > end_date:
        problems.append(
            Problem("data_outside_study", f"data from {last:%-d %b %Y} would fall after the end", "end_date")
        )
    _fail_on(problems)
    changes = {"name": name.strip(), "funder": funder.strip() or None, "start_date": start_date, "end_date": end_date}
    storage.update_study(con, viewer.username, changes)


def add_factor(
    con: storage.Connection, viewer: Viewer, *, code: str, domain: str, kind: str, label: str, description: str
) -> None:
    require_editor(viewer)
    code, domain = code.strip(), domain.strip().lower().replace(" ", "_")
    problems = _new_code(con, code, "factor", "Factor")
    problems += _required(domain, "domain", "A domain") + _required(label, "label", "A label")
    problems += _texts(domain=domain, label=label, description=description)
    if kind not in {k.value for k in FactorKind}:
        problems.append(Problem("allowed_values", f"kind must be barrier, facilitator or either, not '{kind}'", "kind"))
    _fail_on(problems)
    factor = Factor(code, domain, FactorKind(kind), label.strip(), description.strip())
    storage.add_factor(con, viewer.username, factor)


def edit_factor(con: storage.Connection, viewer: Viewer, code: str, *, label: str, description: str) -> None:
    require_editor(viewer)
    _fail_on(_required(label, "label", "A label") + _texts(label=label, description=description))
    storage.update_factor(con, viewer.username, code, {"label": label.strip(), "description": description.strip()})


def retire_factor(con: storage.Connection, viewer: Viewer, code: str, retired: bool = True) -> None:
    require_editor(viewer)
    storage.set_retired(con, viewer.username, "factor", code, retired)


def add_indicator(
    con: storage.Connection,
    viewer: Viewer,
    *,
    code: str,
    label: str,
    value_type: str,
    min_value: int | None,
    max_value: int | None,
    better: str,
    description: str,
) -> None:
    require_editor(viewer)
    code = code.strip()
    problems = _new_code(con, code, "indicator", "Indicator") + _required(label, "label", "A label")
    problems += _texts(label=label, description=description)
    if value_type not in {t.value for t in IndicatorType}:
        problems.append(Problem("allowed_values", "type must be one of ordinal, boolean, count, rag", "value_type"))
    elif value_type == IndicatorType.ORDINAL and (min_value is None or max_value is None or max_value <= min_value):
        problems.append(Problem("scale", "an ordinal scale needs a lowest and a higher highest value", "max_value"))
    if better not in ("higher", "lower"):
        problems.append(Problem("allowed_values", "better must be higher or lower", "better"))
    _fail_on(problems)
    kept = value_type == IndicatorType.ORDINAL
    indicator = Indicator(
        code,
        label.strip(),
        IndicatorType(value_type),
        min_value if kept else None,
        max_value if kept else None,
        better,
        description.strip(),
    )
    storage.add_indicator(con, viewer.username, indicator)


def edit_indicator(con: storage.Connection, viewer: Viewer, code: str, *, label: str, description: str) -> None:
    require_editor(viewer)
    _fail_on(_required(label, "label", "A label") + _texts(label=label, description=description))
    storage.update_indicator(con, viewer.username, code, {"label": label.strip(), "description": description.strip()})


def retire_indicator(con: storage.Connection, viewer: Viewer, code: str, retired: bool = True) -> None:
    require_editor(viewer)
    storage.set_retired(con, viewer.username, "indicator", code, retired)


def stranded(waves: Sequence[Wave], people: pd.DataFrame, interviews: pd.DataFrame, study_end: dt.date) -> pd.DataFrame:
    """The recorded interviews whose date falls inside no window of their participant's schedule under `waves`."""
    by_person = {code: group for code, group in interviews.groupby("participant_code")}
    found = []
    for person in people.itertuples():
        mine = by_person.get(person.participant_code)
        if mine is None:
            continue
        recorded = {r.wave: (r.status, pd.Timestamp(r.interview_date).date()) for r in mine.itertuples()}
        withdrawal = None if pd.isna(person.withdrawal_date) else pd.Timestamp(person.withdrawal_date).date()
        plan = schedule.participant_schedule(
            waves,
            enrolment_date=pd.Timestamp(person.enrolment_date).date(),
            interviews=recorded,
            withdrawal_date=withdrawal,
            study_end=study_end,
            today=study_end,
        )
        windows = [(due.window_open, due.window_close) for due in plan]
        for wave, (_status, day) in recorded.items():
            if not any(opens <= day <= closes for opens, closes in windows):
                found.append((person.project_code, person.participant_code, wave, day))
    return pd.DataFrame(found, columns=["project_code", "participant_code", "wave", "interview_date"])


def _check_schedule(con: storage.Connection, new_waves: list[Wave]) -> None:
    # Unchecked, as before: a database without a study fails on `end_date` below (the settings pages assume one).
    study = cast(Study, storage.get_study(con))
    people, interviews = storage.schedule_inputs(con)
    before = stranded(storage.list_waves(con), people, interviews, study.end_date)
    after = stranded(new_waves, people, interviews, study.end_date)
    newly = after.merge(before, how="left", indicator=True).query("_merge == 'left_only'").drop(columns="_merge")
    if newly.empty:
        return
    listed = "; ".join(
        f"{r.participant_code} {r.wave} on {r.interview_date:%-d %b %Y}"
        for r in newly.head(STRANDED_LISTED).itertuples()
    )
    more = f" and {len(newly) - STRANDED_LISTED:,} more" if len(newly) > STRANDED_LISTED else ""
    raise ValidationError(
        Problem(
            "strands_interviews",
            f"this would leave {len(newly):,} stored interviews outside every window: {listed}{more}",
            "offset_days",
        )
    )


def _wave_problems(label: str, offset: int, before: int, after: int) -> list[Problem]:
    problems = _required(label, "label", "A label") + _texts(label=label)
    if offset < 0 or before < 0 or after < 0:
        problems.append(Problem("not_negative", "the offset and the window's days cannot be negative", "offset_days"))
    return problems


def add_wave(
    con: storage.Connection, viewer: Viewer, *, code: str, label: str, offset: int, before: int, after: int, mode: str
) -> None:
    require_editor(viewer)
    code = code.strip()
    problems = _new_code(con, code, "wave", "Wave") + _wave_problems(label, offset, before, after)
    waves = storage.list_waves(con)
    if waves and offset <= max(w.offset_days for w in waves):
        problems.append(
            Problem("after_last", "a new wave comes after the last one: give a later offset", "offset_days")
        )
    _fail_on(problems)
    wave = Wave(code, label.strip(), offset, before, after, Mode(mode))
    _check_schedule(con, [*waves, wave])
    storage.add_wave(con, viewer.username, wave)


def retime_wave(
    con: storage.Connection, viewer: Viewer, code: str, *, label: str, offset: int, before: int, after: int, mode: str
) -> None:
    require_editor(viewer)
    waves = storage.list_waves(con)
    position = next(n for n, w in enumerate(waves) if w.wave == code)
    problems = _wave_problems(label, offset, before, after)
    earlier = waves[position - 1].offset_days if position > 0 else None
    later = waves[position + 1].offset_days if position + 1 < len(waves) else None
    if (earlier is not None and offset <= earlier) or (later is not None and offset >= later):
        problems.append(
            Problem("order", "waves keep their order: the offset must stay between its neighbours'", "offset_days")
        )
    _fail_on(problems)
    changed = Wave(code, label.strip(), offset, before, after, Mode(mode))
    _check_schedule(con, [changed if w.wave == code else w for w in waves])
    changes = {
        "label": changed.label,
        "offset_days": offset,
        "window_before_days": before,
        "window_after_days": after,
        "default_mode": changed.default_mode.value,
    }
    storage.update_wave(con, viewer.username, code, changes)


def current_codebook(con: storage.Connection) -> str | None:
    """Which built-in codebook (`brooks2011`, `cfir2`) the study holds, by its factor codes; None for another."""
    codes = [f.factor_code for f in storage.list_factors(con)]
    for name in BUILT_IN_CODEBOOKS:
        if codes == [f.factor_code for f in load_codebook_and_scale(name)[0]]:
            return name
    return None


def codebook_choosable(con: storage.Connection) -> bool:
    """A new study's codebook may still be swapped: a study, not the demo, and nothing coded against it yet."""
    study = storage.get_study(con)
    return study is not None and not study.is_demo and storage.table_counts(con).get("factor_ratings", 0) == 0


def choose_codebook(con: storage.Connection, viewer: Viewer, name: str) -> None:
    """Give a new study the built-in codebook `name` (the first administrator's choice); nothing happens when it
    already has it. Refused once an interview is coded."""
    require_editor(viewer)
    if name not in BUILT_IN_CODEBOOKS:
        allowed = ", ".join(BUILT_IN_CODEBOOKS)
        raise ValidationError(Problem("allowed_values", f"codebook must be one of {allowed}, not '{name}'", "codebook"))
    was = current_codebook(con)
    if was == name:
        return
    factors, neutral_mixed = load_codebook_and_scale(name)
    storage.replace_codebook(con, viewer.username, factors, neutral_mixed, (was or "own", name))
