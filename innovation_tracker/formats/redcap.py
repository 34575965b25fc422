"""The REDCap round trip (DESIGN §5): a data dictionary for a longitudinal REDCap project whose record is the
participant, and the conversion of that project's flat CSV export back into tidy tables.

Pure (pandas + domain). The project has one arm, an event per wave (`baseline_arm_1`, `month_3_arm_1`, …), a
`participant` instrument in the first event, an `interview` instrument in every event and a repeating
`factor_rating` instrument in every event. The export follows REDCap's conventions: one row per record and event
for the non-repeating instruments, one more row per instance of a repeating one, blank fields that belong to
other instruments, and values either as raw codes or as their labels. The converted tables then go through the
importer's `prepare` like any tidy file, so the rules and messages are the same; only the rows are mapped back
to the export's own row numbers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from innovation_tracker.domain.errors import Problem, ValidationError
from innovation_tracker.domain.model import (
    Factor,
    InterviewStatus,
    Mode,
    ParticipantStatus,
    Role,
    Study,
    Wave,
    label_of,
)
from innovation_tracker.formats import tidy
from innovation_tracker.formats.importer import Origin

DICTIONARY_COLUMNS = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
PARTICIPANT, INTERVIEW, RATING = "participant", "interview", "factor_rating"
FORMS = {PARTICIPANT: "Participant", INTERVIEW: "Interview", RATING: "Factor rating"}
RECORD, EVENT, REPEAT_FORM, REPEAT_INSTANCE, DAG = (
    "record_id",
    "redcap_event_name",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "redcap_data_access_group",
)
REQUIRED_COLUMNS = (RECORD, EVENT, REPEAT_FORM, REPEAT_INSTANCE)
# What a REDCap export with label headers ("CSV (labels)") calls its own columns.
SYSTEM_LABELS = {
    "event name": EVENT,
    "repeat instrument": REPEAT_FORM,
    "repeat instance": REPEAT_INSTANCE,
    "data access group": DAG,
}
COMPLETE_CHOICES = {"0": "Incomplete", "1": "Unverified", "2": "Complete"}
RATING_CHOICES = {"-2": "Strong barrier", "-1": "Barrier", "1": "Facilitator", "2": "Strong facilitator"}
# A codebook that declares CFIR's extra ratings (study.neutral_mixed) adds 0 and X between the signs.
NEUTRAL_MIXED_CHOICES = {
    "-2": "Strong barrier",
    "-1": "Barrier",
    "0": "Neutral",
    "X": "Mixed",
    "1": "Facilitator",
    "2": "Strong facilitator",
}
YESNO_CHOICES = {"1": "Yes", "0": "No"}
IGNORED = "\x00ignored"  # a row of an instrument this study does not hold
ARM_SUFFIX = re.compile(r"\s*\(arm \d+[^)]*\)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Field:
    """One field of the REDCap project, and the tidy column it fills (`table.column`)."""

    name: str
    form: str
    field_type: str
    label: str
    tidy: str
    choices: dict[str, str] = field(default_factory=dict)
    validation: str = ""
    minimum: str = ""
    maximum: str = ""
    required: bool = False
    branching: str = ""
    note: str = ""
    section: str = ""
    identifier: bool = False  # REDCap's "Identifier?": left out of its de-identified exports

    def dictionary_row(self) -> list[str]:
        choices = " | ".join(f"{code}, {choice_label(text)}" for code, text in self.choices.items())
        if self.field_type == "yesno":
            choices = ""
        return [
            self.name,
            self.form,
            self.section,
            self.field_type,
            self.label,
            choices,
            self.note,
            self.validation,
            self.minimum,
            self.maximum,
            "y" if self.identifier else "",
            self.branching,
            "y" if self.required else "",
            "",
            "",
            "",
            "",
            f"Innovation tracker: {self.tidy}",
        ]


def choice_label(text: str) -> str:
    """REDCap separates choices with '|', so a label may not contain one."""
    return str(text).replace("|", "/").strip()


def _enum_choices(enum) -> dict[str, str]:
    return {member.value: label_of(member.value) for member in enum}


def event_name(wave: str, arm: int = 1) -> str:
    return f"{wave}_arm_{arm}"


def rating_choices(study: Study | None) -> dict[str, str]:
    return dict(NEUTRAL_MIXED_CHOICES if study is not None and study.neutral_mixed else RATING_CHOICES)


def fields(study: Study | None, factors: Sequence[Factor], projects: dict[str, str]) -> list[Field]:
    """The project's fields in dictionary order (REDCap wants the record id first)."""
    start, end = (study.start_date.isoformat(), study.end_date.isoformat()) if study else ("", "")
    date: dict[str, Any] = dict(field_type="text", validation="date_ymd", minimum=start, maximum=end)
    # REDCap's raw choice codes take letters, digits and _ only; other project codes are typed in as text.
    project = (
        dict(field_type="dropdown", choices=dict(projects))
        if projects and all(re.fullmatch(r"\w+", code) for code in projects)
        else dict(field_type="text", note="The project's code in the tracker")
    )
    return [
        Field(RECORD, PARTICIPANT, "text", "Participant code", "participants.participant_code",
              note="Pseudonymous code, never a name", section="Participant"),
        Field("project", PARTICIPANT, label="Project", tidy="participants.project_code", required=True, **project),
        Field("role", PARTICIPANT, "dropdown", "Stakeholder role", "participants.role", _enum_choices(Role),
              required=True),
        Field("enrolment_date", PARTICIPANT, label="Enrolment date", tidy="participants.enrolment_date",
              required=True, **date),
        Field("consent_date", PARTICIPANT, label="Consent date", tidy="participants.consent_date", **date),
        Field("participant_status", PARTICIPANT, "dropdown", "Participant status", "participants.status",
              _enum_choices(ParticipantStatus), note="Blank means active"),
        Field("withdrawal_date", PARTICIPANT, label="Withdrawal date", tidy="participants.withdrawal_date",
              branching="[participant_status] = 'withdrawn'", **date),
        Field("telephone", PARTICIPANT, "text", "Telephone", "participant_contact.telephone", validation="phone",
              note="For follow-up calls; an identifier", identifier=True),
        Field("email", PARTICIPANT, "text", "E-mail", "participant_contact.email", validation="email",
              note="An identifier", identifier=True),
        Field("call_times", PARTICIPANT, "text", "Preferred call times", "participant_contact.call_times",
              note="An identifier", identifier=True),
        Field("interview_date", INTERVIEW, label="Interview date", tidy="interviews.interview_date",
              section="Interview at this wave", required=True, **date),
        Field("interview_mode", INTERVIEW, "dropdown", "Mode", "interviews.mode", _enum_choices(Mode), required=True),
        Field("interviewer", INTERVIEW, "text", "Interviewer", "interviews.interviewer"),
        Field("duration_min", INTERVIEW, "text", "Duration (minutes)", "interviews.duration_min",
              validation="integer", minimum="1", maximum="600"),
        Field("interview_status", INTERVIEW, "dropdown", "Interview status", "interviews.status",
              _enum_choices(InterviewStatus), required=True),
        Field("summary", INTERVIEW, "notes", "Summary notes", "interviews.summary",
              note="Seen only by evaluators and admins"),
        Field("factor", RATING, "dropdown", "Factor", "factor_ratings.factor_code",
              {f.factor_code: f.label for f in factors}, required=True,
              section="One factor the participant described (add an instance per factor)"),
        Field("rating", RATING, "dropdown", "Rating", "factor_ratings.rating", rating_choices(study), required=True,
              note="Barriers take negative ratings, facilitators positive"
              + ("; 0 neutral, X mixed" if study is not None and study.neutral_mixed else "")),
        Field("evidence", RATING, "notes", "Evidence (a short quote)", "factor_ratings.evidence"),
        Field("shareable", RATING, "yesno", "Excerpt may be shown to funders and project teams",
              "factor_ratings.shareable", dict(YESNO_CHOICES)),
        Field("coder", RATING, "text", "Coder", "factor_ratings.coder"),
    ]  # fmt: skip


def data_dictionary(study: Study | None, factors: Sequence[Factor], projects: dict[str, str]) -> pd.DataFrame:
    """The REDCap data dictionary: the standard 18 columns, one row per field."""
    return pd.DataFrame(
        [f.dictionary_row() for f in fields(study, factors, projects)], columns=list(DICTIONARY_COLUMNS)
    )


def instrument_event_mapping(waves: Sequence[Wave]) -> pd.DataFrame:
    """The participant form is filled once, at the first wave; interviews and ratings at every wave."""
    rows = [(1, event_name(waves[0].wave), PARTICIPANT)] if waves else []
    for wave in waves:
        rows += [(1, event_name(wave.wave), INTERVIEW), (1, event_name(wave.wave), RATING)]
    return pd.DataFrame(rows, columns=["arm_num", "unique_event_name", "form"])


def events(waves: Sequence[Wave]) -> pd.DataFrame:
    """REDCap's event import format. The event name is the wave's code, so REDCap derives `<wave>_arm_1` from it."""
    return pd.DataFrame(
        [
            (w.wave, 1, w.offset_days, w.window_before_days, w.window_after_days, event_name(w.wave), w.label)
            for w in waves
        ],
        columns=["event_name", "arm_num", "day_offset", "offset_min", "offset_max", "unique_event_name",
                 "custom_event_label"],
    )  # fmt: skip


def repeating_instruments(waves: Sequence[Wave]) -> pd.DataFrame:
    return pd.DataFrame(
        [(event_name(w.wave), RATING, "[factor]") for w in waves],
        columns=["event_name", "form_name", "custom_form_label"],
    )


CHOICES = DICTIONARY_COLUMNS[5]
# A choice list that starts with a number code: the rating's ("-2, Strong barrier | -1, Barrier | …").
NUMBERED_CHOICES = r"^-?[0-9]+, "


def csv_files(files: dict[str, pd.DataFrame]) -> dict[str, bytes]:
    """The project's files (`data_dictionary`, `events`, …) as the CSV the app hands out, spreadsheet formulas
    neutralised in every cell (`tidy.csv_bytes`: a wave label "=1+1" is written "'=1+1"), except a choice list that
    starts with a number code: REDCap would take an apostrophe in front of "-2" as part of the code, and such a
    list is the rating's, none of the study's own text (project and factor lists start with their codes, which
    start with a letter)."""
    out = {}
    for name, frame in files.items():
        keep = None
        if CHOICES in frame.columns:
            keep = pd.DataFrame(False, index=frame.index, columns=frame.columns)
            keep[CHOICES] = frame[CHOICES].str.match(NUMBERED_CHOICES)
        out[name] = tidy.csv_bytes(frame, keep)
    return out


def is_export(columns: Sequence[str]) -> bool:
    """A REDCap flat export, with raw headers or with label headers."""
    names = {str(c).strip().lower() for c in columns}
    return {RECORD, EVENT} <= names or {"event name", "repeat instrument"} <= names


@dataclass(frozen=True)
class Context:
    """What the conversion needs from the study: its schedule, codebook, projects and existing people."""

    study: Study | None
    waves: list[Wave]
    factors: list[Factor]
    projects: dict[str, str]
    next_interview_id: int = 1
    interviews: dict[tuple[str, str], int] = field(default_factory=dict)  # (participant, wave) -> stored id


@dataclass
class Conversion:
    """Tidy tables made from one REDCap export, the export's row number behind each tidy row, notices about what
    the export holds that this study does not (other instruments and fields: never stored), and the problems of
    rows that break REDCap's conventions (the tables hold the rows that could be converted; the import's checks
    still run over them, so one refusal names everything)."""

    file: str
    tables: dict[str, pd.DataFrame]
    rows: dict[str, np.ndarray]
    notices: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def origin(self, table: str) -> Origin:
        """Where each row of a converted table came from, and the export's field behind each tidy column."""
        rows = self.rows[table]
        return Origin(f"{self.file} [{table}]", [self.file], np.zeros(len(rows), np.int64), rows, TIDY_TO_FIELD[table])


TIDY_TO_FIELD = {
    "participants": {"participant_code": RECORD, "project_code": "project", "status": "participant_status"},
    "interviews": {
        "participant_code": RECORD,
        "wave": EVENT,
        "interview_id": EVENT,
        "mode": "interview_mode",
        "status": "interview_status",
    },
    "factor_ratings": {"participant_code": RECORD, "wave": EVENT, "interview_id": EVENT, "factor_code": "factor"},
}


def convert(frame: pd.DataFrame, file: str, context: Context) -> Conversion:
    """Participants, interviews and factor ratings from a flat export (text frame), with the problems of its rows;
    a `ValidationError` when the export lacks REDCap's own columns."""
    known = fields(context.study, context.factors, context.projects)
    frame = _raw_headers(frame, known)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValidationError(
            Problem("missing_columns", f"missing REDCap column(s): {', '.join(missing)}", row=1, file=file)
        )
    notices, frame = _outside_the_study(frame, known, file)
    frame = frame.assign(**{f.name: frame.get(f.name, "") for f in known}).reset_index(drop=True)
    problems: list[Problem] = _blank_records(frame, file)
    decoded = _decode_choices(frame, known, file, problems)
    ours = frame[[f.name for f in known if f.name != RECORD]]
    waves = _waves_of_events(frame, context.waves, (ours != "").any(axis=1), file, problems)
    repeating = _repeating_rows(frame, file, problems)
    problems += _completion_problems(frame, file)
    problems += _misplaced_values(frame, known, repeating, file)
    source = pd.Series(np.arange(len(frame)) + 2)
    participants, people_rows = _participants(decoded, frame, ~repeating, context.projects, file, problems)
    interviews, interview_rows = _interviews(decoded, waves, ~repeating, context, file, problems)
    # an instance given again is refused above: it is not also a rating given twice
    repeated = np.isin(np.arange(len(frame)) + 2, [row for row, _ in _repeats(_instance_key(frame), repeating)])
    ratings, rating_rows = _ratings(decoded, frame, waves, repeating & ~repeated, interviews, file, problems)
    tables = {"participants": participants, "interviews": interviews, "factor_ratings": ratings}
    rows = {
        "participants": source[people_rows].to_numpy(),
        "interviews": source[interview_rows].to_numpy(),
        "factor_ratings": source[rating_rows].to_numpy(),
    }
    keep = [t for t, f in tables.items() if not f.empty]
    return Conversion(file, {t: tables[t] for t in keep}, {t: rows[t] for t in keep}, notices, problems)


def _outside_the_study(frame: pd.DataFrame, known: list[Field], file: str) -> tuple[list[str], pd.DataFrame]:
    """Fields and instruments of the REDCap project that this study does not hold (a contact form with phone
    numbers, say): named in a notice, dropped here, never stored. Rows of another repeating instrument go too."""
    ours = {f.name for f in known} | {RECORD, EVENT, REPEAT_FORM, REPEAT_INSTANCE, DAG}
    ours |= {f"{form}_complete" for form in FORMS}
    extra = [c for c in frame.columns if c not in ours]
    notices = []
    if extra:
        notices.append(f"{file}: ignored field(s) not in this study, not stored: {', '.join(map(str, extra))}")
    form = frame[REPEAT_FORM].str.strip().str.lower() if REPEAT_FORM in frame.columns else None
    if form is not None:
        other = (form != "") & ~form.isin({*FORMS, *(label.lower() for label in FORMS.values())})
        if other.any():
            names = sorted(set(frame.loc[other, REPEAT_FORM]))
            notices.append(
                f"{file}: ignored {int(other.sum())} row(s) of repeating instrument(s) not in this study: "
                + ", ".join(names)
            )
            # Blanked rather than dropped, so every other row keeps its row number in the export.
            frame = frame.copy()
            frame.loc[other, [c for c in frame.columns if c not in (RECORD, EVENT)]] = ""
            frame.loc[other, REPEAT_FORM] = IGNORED
    return notices, frame.drop(columns=extra)


def _blank_records(frame: pd.DataFrame, file: str) -> list[Problem]:
    blank = (frame[RECORD].str.strip() == "") & (frame.drop(columns=[RECORD]) != "").any(axis=1)
    return [
        Problem(
            "required",
            "the record id is blank: every row needs its participant's record id",
            RECORD,
            int(p) + 2,
            file,
            "",
        )
        for p in np.flatnonzero(blank.to_numpy())[:500]
    ]


def _raw_headers(frame: pd.DataFrame, known: list[Field]) -> pd.DataFrame:
    """Label headers ("Participant code", "Event Name", "Complete?" …) back to field names."""
    if RECORD in frame.columns or EVENT in frame.columns:
        return frame
    by_label = {f.label.lower(): f.name for f in known} | SYSTEM_LABELS
    forms = iter(f"{form}_complete" for form in FORMS)
    names = {}
    for column in frame.columns:
        text = str(column).strip()
        if re.fullmatch(r"Complete\?(\.\d+)?", text):
            names[column] = next(forms, text)
        else:
            names[column] = by_label.get(text.lower(), text)
    return frame.rename(columns=names)


def _lookup(choices: dict[str, str]) -> dict[str, str]:
    """Raw code or label, any case, to the raw code."""
    table = {choice_label(label).lower(): code for code, label in choices.items()}
    return table | {code.lower(): code for code in choices}


def _decode_choices(frame: pd.DataFrame, known: list[Field], file: str, problems: list[Problem]) -> pd.DataFrame:
    """Every field as raw codes; a value that matches neither a code nor a label is a problem that lists the
    field's choices."""
    out = {}
    for f in known:
        text = frame[f.name]
        if f.choices:
            decoded = text.str.lower().map(_lookup(f.choices))
            unknown = decoded.isna() & (text != "")
            if f.field_type != "yesno" and unknown.any():
                valid = "; ".join(f"{code} ({choice_label(label)})" for code, label in f.choices.items())
                for pos in np.flatnonzero(unknown.to_numpy())[:500]:
                    value = text.iloc[pos]
                    message = f"'{value}' is not a choice of {f.name}; the choices are: {valid}"
                    problems.append(Problem("allowed_values", message, f.name, int(pos) + 2, file, value))
            out[f.name] = decoded.fillna(text)
        else:
            out[f.name] = text
    out["shareable"] = out["shareable"].map({"1": "true", "0": "false"}).fillna(out["shareable"])
    return pd.DataFrame(out)


def _waves_of_events(frame, waves: list[Wave], filled: pd.Series, file: str, problems: list[Problem]) -> pd.Series:
    lookup = {}
    for wave in waves:
        for name in (wave.wave, event_name(wave.wave), wave.label):
            lookup[name.lower()] = wave.wave
    text = frame[EVENT].map(lambda v: ARM_SUFFIX.sub("", v).lower())
    found = text.map(lookup)
    expected = ", ".join(event_name(w.wave) for w in waves)
    for pos in np.flatnonzero((found.isna() & filled).to_numpy())[:500]:
        value = frame[EVENT].iloc[pos]
        message = f"event '{value}' is not one of the study's waves ({expected})" if value else "the event is blank"
        problems.append(Problem("unknown_event", message, EVENT, int(pos) + 2, file, value))
    return found


def _repeating_rows(frame, file: str, problems: list[Problem]) -> pd.Series:
    form = frame[REPEAT_FORM].str.lower()
    repeating = form.isin({RATING, FORMS[RATING].lower()})
    for pos in np.flatnonzero((~repeating & (form != "") & (form != IGNORED)).to_numpy()):
        value = frame[REPEAT_FORM].iloc[pos]
        message = f"'{value}' is not a repeating instrument of this project; only {RATING} repeats"
        problems.append(Problem("repeat_instrument", message, REPEAT_FORM, int(pos) + 2, file, value))
    instance = pd.to_numeric(frame[REPEAT_INSTANCE], errors="coerce")
    bad = repeating & ~(instance >= 1).fillna(False)
    for pos in np.flatnonzero(bad.to_numpy()):
        value = frame[REPEAT_INSTANCE].iloc[pos]
        message = f"repeat instance '{value}' must be a whole number from 1 on a {RATING} row"
        problems.append(Problem("repeat_instance", message, REPEAT_INSTANCE, int(pos) + 2, file, value))
    key = _instance_key(frame)
    for row, first in _repeats(key, repeating):
        message = f"this record, event and repeat instance are on row {first} too"
        problems.append(Problem("duplicate", message, REPEAT_INSTANCE, row, file, key.iloc[row - 2, 3]))
    return repeating


def _instance_key(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[[RECORD, EVENT, REPEAT_FORM, REPEAT_INSTANCE]]


def _repeats(keys: pd.DataFrame, mask: pd.Series) -> list[tuple[int, int]]:
    """(row, first row) of every row under `mask` whose key an earlier row under `mask` has: export row numbers."""
    rows = keys[mask.to_numpy()].astype(str)
    if rows.empty:
        return []
    twice = rows.duplicated(keep="first").to_numpy()
    if not twice.any():
        return []
    group = rows.groupby(list(rows.columns), sort=False).ngroup().to_numpy()
    first = pd.Series(rows.index.to_numpy()).groupby(group).transform("first").to_numpy()
    return [(int(rows.index[i]) + 2, int(first[i]) + 2) for i in np.flatnonzero(twice)[:500]]


def _completion_problems(frame, file: str) -> list[Problem]:
    allowed = _lookup(COMPLETE_CHOICES)
    problems = []
    for form in FORMS:
        column = f"{form}_complete"
        if column not in frame.columns:
            continue
        bad = ~frame[column].str.lower().isin(set(allowed) | {""})
        for pos in np.flatnonzero(bad.to_numpy()):
            value = frame[column].iloc[pos]
            message = f"'{value}' is not a form status: 0 Incomplete, 1 Unverified or 2 Complete"
            problems.append(Problem("allowed_values", message, column, int(pos) + 2, file, value))
    return problems


def _misplaced_values(frame, known: list[Field], repeating: pd.Series, file: str) -> list[Problem]:
    """A repeating row carries only its instrument's fields, and the other rows never carry them."""
    problems = []
    for f in known:
        if f.name == RECORD:
            continue
        wrong_row = ~repeating if f.form == RATING else repeating
        for pos in np.flatnonzero((wrong_row & (frame[f.name] != "")).to_numpy()):
            where = "on a row that is not a factor_rating instance" if f.form == RATING else "on a factor_rating row"
            message = f"'{f.name}' belongs to the {f.form} instrument but has a value {where}"
            problems.append(Problem("sparse_row", message, f.name, int(pos) + 2, file, frame[f.name].iloc[pos]))
    return problems


def _filled(decoded: pd.DataFrame, form: str, rows: pd.Series) -> pd.Series:
    names = [f for f in _FORM_FIELDS[form] if f in decoded.columns]
    return rows & (decoded[names] != "").any(axis=1)


_FORM_FIELDS = {
    PARTICIPANT: ["project", "role", "enrolment_date", "consent_date", "participant_status", "withdrawal_date"],
    INTERVIEW: ["interview_date", "interview_mode", "interviewer", "duration_min", "interview_status", "summary"],
    RATING: ["factor", "rating", "evidence", "shareable", "coder"],
}


def _participants(decoded, frame, rows, projects: dict[str, str], file: str, problems: list[Problem]):
    """A participant row where the participant form has data; a record without one must already be in the study."""
    mask = _filled(decoded, PARTICIPANT, rows)
    for pos, first in _repeats(decoded[[RECORD]], mask):
        message = f"the participant form of this record is filled in on row {first} too"
        problems.append(Problem("duplicate", message, RECORD, pos, file, decoded[RECORD].iloc[pos - 2]))
    d = decoded[mask]
    project = d["project"]
    if DAG in frame.columns:
        # A project left blank is taken from the data access group, when the group is named after the project.
        group = frame.loc[mask, DAG].str.lower().map(_lookup(projects)).fillna("")
        project = project.where(project != "", group)
    implied = pd.Series(np.where(d["withdrawal_date"] != "", "withdrawn", "active"), index=d.index)
    status = d["participant_status"].where(d["participant_status"] != "", implied)
    out = pd.DataFrame(
        {
            "participant_code": d[RECORD],
            "project_code": project,
            "role": d["role"],
            "enrolment_date": d["enrolment_date"],
            "status": status,
            "consent_date": d["consent_date"],
            "withdrawal_date": d["withdrawal_date"],
        }
    )
    return out.reset_index(drop=True), mask


def _interviews(decoded, waves: pd.Series, rows, context: Context, file: str, problems: list[Problem]):
    """An interview row per record and event with the interview form filled; a stored interview keeps its id."""
    mask = _filled(decoded, INTERVIEW, rows) & waves.notna()
    keys = pd.DataFrame({"record": decoded[RECORD], "wave": waves})
    for pos, first in _repeats(keys, mask):
        message = f"this record's interview form for this event is filled in on row {first} too"
        problems.append(Problem("duplicate", message, EVENT, pos, file, waves.iloc[pos - 2]))
    d = decoded[mask]
    stored = [context.interviews.get((p, w)) for p, w in zip(d[RECORD], waves[mask], strict=True)]
    fresh = iter(range(context.next_interview_id, context.next_interview_id + len(d)))
    out = pd.DataFrame(
        {
            "interview_id": [str(i if i is not None else next(fresh)) for i in stored],
            "participant_code": d[RECORD],
            "project_code": "",
            "wave": waves[mask],
            "interview_date": d["interview_date"],
            "mode": d["interview_mode"],
            "interviewer": d["interviewer"],
            "duration_min": d["duration_min"],
            "status": d["interview_status"],
            "summary": d["summary"],
        }
    )
    return out.reset_index(drop=True), mask


def _ratings(decoded, frame, waves: pd.Series, rows, interviews: pd.DataFrame, file: str, problems: list[Problem]):
    mask = _filled(decoded, RATING, rows) & waves.notna()
    ids = interviews.drop_duplicates(["participant_code", "wave"]).set_index(["participant_code", "wave"])
    ids = ids["interview_id"]
    keys = pd.MultiIndex.from_arrays([decoded[RECORD], waves])
    interview_id = pd.Series(ids.reindex(keys).to_numpy(), index=decoded.index)
    orphan = mask & interview_id.isna()
    for pos in np.flatnonzero(orphan.to_numpy()):
        message = (
            f"factor ratings for {decoded[RECORD].iloc[pos]} at {waves.iloc[pos]} but the interview form of that "
            "event is empty: enter the interview (date, mode, status) in REDCap first"
        )
        problems.append(Problem("no_interview", message, EVENT, int(pos) + 2, file, frame[EVENT].iloc[pos]))
    d = decoded[mask]
    out = pd.DataFrame(
        {
            "interview_id": interview_id[mask].fillna(""),
            "project_code": "",
            "participant_code": d[RECORD],
            "wave": waves[mask],
            "factor_code": d["factor"],
            "domain": "",
            "kind": "",
            "rating": d["rating"],
            "evidence": d["evidence"],
            "shareable": d["shareable"],
            "coder": d["coder"],
        }
    )
    return out.reset_index(drop=True), mask
