"""The study's concepts (DESIGN §2) and the rules every write must obey.

Pure Python: no streamlit, no duckdb. Validators return a list of `Problem`s (empty when all is well) so a
form or an import can show every broken rule at once; `require` turns them into a `ValidationError`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from innovation_tracker.domain.errors import Problem, ValidationError

E = TypeVar("E", bound=StrEnum)


class Setting(StrEnum):
    NHS = "nhs"
    COMMUNITY = "community"
    VOLUNTARY = "voluntary"


class Relation(StrEnum):
    INTERNAL = "internal"
    EXTERNAL = "external"


class Novelty(StrEnum):
    NEW = "new"
    EXPANSION = "expansion"
    EXISTING = "existing"


class ProjectStatus(StrEnum):
    ACTIVE = "active"
    MAINSTREAMED = "mainstreamed"
    CLOSED = "closed"
    STALLED = "stalled"


class Role(StrEnum):
    SERVICE_USER = "service_user"
    CAREGIVER = "caregiver"
    COMMISSIONER = "commissioner"
    HEALTH_PROFESSIONAL = "health_professional"
    NON_HEALTH_PROFESSIONAL = "non_health_professional"
    MANAGER = "manager"


class ParticipantStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class Mode(StrEnum):
    FACE_TO_FACE = "face_to_face"
    TELEPHONE = "telephone"
    VIDEO = "video"


class InterviewStatus(StrEnum):
    COMPLETED = "completed"
    MISSED = "missed"
    DECLINED = "declined"


class FactorKind(StrEnum):
    BARRIER = "barrier"
    FACILITATOR = "facilitator"
    EITHER = "either"


class IndicatorType(StrEnum):
    ORDINAL = "ordinal"
    BOOLEAN = "boolean"
    COUNT = "count"
    RAG = "rag"


class MilestoneKind(StrEnum):
    FUNDING_DECISION = "funding_decision"
    HOST_REORGANISATION = "host_reorganisation"
    LAUNCH = "launch"
    CHAMPION_LEFT = "champion_left"
    OTHER = "other"


RAG_VALUES = ("red", "amber", "green")
BOOLEAN_VALUES = ("no", "yes")
RATING_LABELS: dict[int | str, str] = {
    -2: "strong barrier",
    -1: "barrier",
    0: "neutral",
    1: "facilitator",
    2: "strong facilitator",
    "X": "mixed",
}
# CFIR's extra ratings, for a codebook that declares them (`# ratings: neutral, mixed`): 0 neutral, X mixed.
# X is stored as rating 0 with the `mixed` flag: it adds nothing to either weight and counts as cited.
MIXED = "X"
MAX_DURATION_MIN = 600

# The longest text each field takes, in characters (README "Limits"): forms refuse a longer value with the field
# and the limit named, and give their widgets the same `max_chars`; imports refuse such a cell before any other
# check. Codes follow their patterns; names and labels fit a line; the longer texts are a few paragraphs. The demo
# and the built-in codebooks stay far below (their longest summary is 138 characters, the longest definition 118).
TEXT_LIMITS: dict[str, int] = {
    "project_code": 16,
    "participant_code": 32,
    "username": 64,
    "wave": 64,
    "factor_code": 64,
    "indicator_code": 64,
    "telephone": 24,
    "call_times": 120,
    "title": 120,
    "name": 200,
    "funder": 200,
    "host_organisation": 200,
    "innovation_type": 200,
    "label": 200,
    "domain": 200,
    "display_name": 200,
    "interviewer": 200,
    "coder": 200,
    "email": 254,
    "description": 2_000,
    "reason": 2_000,
    "evidence": 4_000,
    "notes": 5_000,
    "summary": 10_000,
}
OTHER_CELL_LIMIT = 200  # any other column of an imported table: dates, numbers, choices, flags
PASSWORD_MAX_LENGTH = 1_024
# A search of the evidence: every word is one more pass over the excerpts (README "Search the evidence").
SEARCH_MAX_CHARS = 200
SEARCH_MAX_WORDS = 20


SPECIAL_LABELS = {"non_health_professional": "Non-health professional", "nhs": "NHS", "face_to_face": "Face to face"}


def label_of(value: str) -> str:
    """`health_professional` -> `Health professional`."""
    return SPECIAL_LABELS.get(str(value), str(value).replace("_", " ").capitalize())


@dataclass(frozen=True)
class Study:
    name: str
    start_date: dt.date
    end_date: dt.date
    funder: str | None = None
    is_demo: bool = False
    neutral_mixed: bool = False  # the codebook declares CFIR's 0 (neutral) and X (mixed) ratings


@dataclass(frozen=True)
class Wave:
    wave: str
    label: str
    offset_days: int
    window_before_days: int
    window_after_days: int
    default_mode: Mode


DEFAULT_WAVES: tuple[Wave, ...] = (
    Wave("baseline", "Baseline", 0, 0, 30, Mode.FACE_TO_FACE),
    Wave("month_3", "3-month follow-up", 91, 21, 21, Mode.TELEPHONE),
    Wave("month_6", "6-month follow-up", 182, 21, 21, Mode.TELEPHONE),
    Wave("month_9", "9-month follow-up", 273, 21, 21, Mode.TELEPHONE),
    Wave("month_12", "12-month follow-up", 365, 21, 21, Mode.TELEPHONE),
)


@dataclass(frozen=True)
class Factor:
    factor_code: str
    domain: str
    kind: FactorKind
    label: str
    description: str = ""
    paper_projects: int | None = None
    retired: bool = False  # kept with its ratings, no longer offered for new coding


@dataclass(frozen=True)
class Indicator:
    indicator_code: str
    label: str
    value_type: IndicatorType
    min_value: int | None
    max_value: int | None
    better: str
    description: str = ""
    retired: bool = False  # kept with its scores, no longer offered for new scoring


def parse_enum(enum: type[E], value: object, field: str, row: int | None = None) -> tuple[E | None, list[Problem]]:
    text = "" if value is None else str(value).strip()
    for member in enum:
        if text == member.value or text.lower() == member.value or text.lower() == label_of(member.value).lower():
            return member, []
    allowed = ", ".join(m.value for m in enum)
    return None, [Problem("allowed_values", f"'{text}' is not one of: {allowed}", field, row, value=value)]


def parse_date(
    value: object, field: str, row: int | None = None, required: bool = True
) -> tuple[dt.date | None, list[Problem]]:
    if isinstance(value, dt.datetime):
        return value.date(), []
    if isinstance(value, dt.date):
        return value, []
    text = "" if value is None else str(value).strip()
    if text in ("", "nan", "NaT", "None"):
        if required:
            return None, [Problem("required", "a date is required (YYYY-MM-DD)", field, row)]
        return None, []
    try:
        return dt.date.fromisoformat(text[:10]), []
    except ValueError:
        return None, [Problem("date_format", f"'{text}' is not a date in the form YYYY-MM-DD", field, row, value=value)]


def rating_value(rating: int, mixed: bool = False) -> int | str:
    """A stored rating as people read and type it: −2..+2, or "X" for mixed."""
    return MIXED if mixed else int(rating)


def stored_rating(value: int | str) -> tuple[int, bool]:
    """A checked rating value as stored: (rating, mixed); "X" is (0, True)."""
    if str(value).strip().upper() == MIXED:
        return 0, True
    return int(float(value)), False


def rating_text(value: int | str) -> str:
    """ "+2", "−1", "0", "X": the sign always shown, a true minus."""
    if value == MIXED:
        return MIXED
    return f"{int(value):+d}".replace("-", "−") if int(value) else "0"


MIXED_CODE = 10.0  # X as a nominal code (percent agreement): equal only to another X, never to a point on the scale


def agreement_value(rating: int, mixed: bool, *, ordinal: bool) -> float:
    """A rating as the agreement statistics take it. On the ordinal scale (Krippendorff's alpha) 0 is the midpoint
    between −1 and +1, and X is no point on it: it counts as missing (NaN). As a nominal code (percent agreement,
    whether two coders gave the same rating) X is a code of its own."""
    if mixed:
        return math.nan if ordinal else MIXED_CODE
    return float(rating)


def rating_scale_text(neutral_mixed: bool) -> str:
    return "−2, −1, 0, X, +1 or +2" if neutral_mixed else "−2, −1, +1 or +2"


def check_rating(
    rating: object, factor: Factor | None, factor_code: str, row: int | None = None, *, neutral_mixed: bool = False
) -> list[Problem]:
    """The one rule for a rating, wherever it is entered (forms, imports, a second coder): −2..+2 and never 0, with
    its sign agreeing with the factor's kind (a barrier negative, a facilitator positive, `either` both); when the
    codebook declares them (`neutral_mixed`), also 0 (neutral) and X (mixed), for a factor of any kind."""
    if factor is None:
        return [
            Problem(
                "unknown_factor",
                f"factor '{factor_code}' is not in the study's codebook",
                "factor_code",
                row,
                value=factor_code,
            )
        ]
    scale = rating_scale_text(neutral_mixed)
    if isinstance(rating, str) and rating.strip().upper() == MIXED:
        if neutral_mixed:
            return []
        message = f"rating X (mixed) is not in this study's codebook: use {scale} (absent factors get no rating)"
        return [Problem("rating_range", message, "rating", row, value=rating)]
    try:
        value = int(rating)  # type: ignore[call-overload]  # whatever a file held: what int() refuses is a problem
        if value != float(rating):  # type: ignore[arg-type]
            raise ValueError
    except (TypeError, ValueError, OverflowError, ArithmeticError):  # infinities and NaN (float or Decimal) too
        return [
            Problem(
                "rating_range",
                f"rating '{rating}' must be a whole number {scale}",
                "rating",
                row,
                value=rating,
            )
        ]
    if (value == 0 and not neutral_mixed) or not -2 <= value <= 2:
        absent = "" if neutral_mixed else " (absent factors get no rating, not 0)"
        return [
            Problem(
                "rating_range",
                f"rating {value} must be {scale}{absent}",
                "rating",
                row,
                value=rating,
            )
        ]
    if factor.kind == FactorKind.BARRIER and value > 0:
        return [
            Problem(
                "rating_sign",
                f"'{factor.label}' is a barrier, so its rating must be negative (−1 or −2), not +{value}",
                "rating",
                row,
                value=rating,
            )
        ]
    if factor.kind == FactorKind.FACILITATOR and value < 0:
        return [
            Problem(
                "rating_sign",
                f"'{factor.label}' is a facilitator, so its rating must be positive (+1 or +2), not {value}",
                "rating",
                row,
                value=rating,
            )
        ]
    return []


def check_interview_date(
    interview_date: dt.date,
    *,
    today: dt.date,
    enrolment_date: dt.date,
    withdrawal_date: dt.date | None,
    study: Study,
    row: int | None = None,
) -> list[Problem]:
    """Refuse dates in the future, before enrolment, after withdrawal, or outside the study window."""
    field = "interview_date"
    d = interview_date.isoformat()
    if interview_date > today:
        return [
            Problem(
                "future_date",
                f"interview date {d} is in the future (today is {today.isoformat()})",
                field,
                row,
                value=d,
            )
        ]
    if interview_date < enrolment_date:
        return [
            Problem(
                "before_enrolment",
                f"interview date {d} is before the participant's enrolment on {enrolment_date.isoformat()}",
                field,
                row,
                value=d,
            )
        ]
    if withdrawal_date is not None and interview_date > withdrawal_date:
        return [
            Problem(
                "after_withdrawal",
                f"interview date {d} is after the participant withdrew on {withdrawal_date.isoformat()}",
                field,
                row,
                value=d,
            )
        ]
    if interview_date < study.start_date:
        return [
            Problem(
                "before_study",
                f"interview date {d} is before the study started on {study.start_date.isoformat()}",
                field,
                row,
                value=d,
            )
        ]
    if interview_date > study.end_date:
        return [
            Problem(
                "after_study",
                f"interview date {d} is after the study window closed on {study.end_date.isoformat()}",
                field,
                row,
                value=d,
            )
        ]
    return []


def check_duration(duration: object, row: int | None = None) -> tuple[int | None, list[Problem]]:
    if duration is None or str(duration).strip() in ("", "nan", "None", "<NA>"):
        return None, []
    try:
        minutes = int(float(str(duration)))
        if minutes != float(str(duration)):
            raise ValueError
    except (ValueError, OverflowError):  # "inf" parses as a float but is no number of minutes
        return None, [
            Problem(
                "duration",
                f"duration '{duration}' must be a whole number of minutes",
                "duration_min",
                row,
                value=duration,
            )
        ]
    if not 1 <= minutes <= MAX_DURATION_MIN:
        return None, [
            Problem(
                "duration",
                f"duration {minutes} must be between 1 and {MAX_DURATION_MIN} minutes",
                "duration_min",
                row,
                value=duration,
            )
        ]
    return minutes, []


def normalise_indicator_value(
    indicator: Indicator, value: object, row: int | None = None
) -> tuple[str | None, list[Problem]]:
    """Canonical text for an indicator value: numbers as integers, yes/no, red/amber/green."""
    text = "" if value is None else str(value).strip().lower()
    code = indicator.indicator_code
    if indicator.value_type == IndicatorType.BOOLEAN:
        mapping = {"yes": "yes", "y": "yes", "true": "yes", "1": "yes", "no": "no", "n": "no", "false": "no", "0": "no"}
        if text in mapping:
            return mapping[text], []
        return None, [Problem("indicator_value", f"{code} takes yes or no, not '{value}'", "value", row, value=value)]
    if indicator.value_type == IndicatorType.RAG:
        if text in RAG_VALUES:
            return text, []
        return None, [
            Problem("indicator_value", f"{code} takes red, amber or green, not '{value}'", "value", row, value=value)
        ]
    try:
        number = float(text)
        if number != int(number):
            raise ValueError
        number = int(number)
    except (ValueError, OverflowError):  # "inf" and "nan" parse as floats but are no whole number
        return None, [
            Problem("indicator_value", f"{code} takes a whole number, not '{value}'", "value", row, value=value)
        ]
    low = (
        indicator.min_value
        if indicator.min_value is not None
        else (0 if indicator.value_type == IndicatorType.COUNT else None)
    )
    high = indicator.max_value
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"{low}–{high}" if high is not None else f"at least {low}"
        return None, [Problem("indicator_value", f"{code} must be {bounds}, not {number}", "value", row, value=value)]
    return str(number), []


def indicator_score(indicator: Indicator, value: str) -> float:
    """A number for charts and comparisons: booleans 0/1, red/amber/green 1/2/3."""
    if indicator.value_type == IndicatorType.BOOLEAN:
        return 1.0 if value == "yes" else 0.0
    if indicator.value_type == IndicatorType.RAG:
        return float(RAG_VALUES.index(value) + 1)
    return float(value)


def text_limit(field: str) -> int:
    return TEXT_LIMITS.get(field, OTHER_CELL_LIMIT)


def too_long_message(field: str, length: int) -> str:
    return f"{label_of(field)} is {length:,} characters long; the limit is {text_limit(field):,}"


def check_length(value: object, field: str, row: int | None = None) -> list[Problem]:
    """The one length rule for a text field (TEXT_LIMITS), wherever it is entered: forms, settings, accounts."""
    if isinstance(value, str) and len(value) > text_limit(field):
        return [Problem("too_long", too_long_message(field, len(value)), field, row)]
    return []


def check_lengths(values: dict, fields: tuple[str, ...] | None = None) -> list[Problem]:
    """`check_length` of each of `fields` (default: every field of `values` that has a limit)."""
    names = fields if fields is not None else tuple(f for f in values if f in TEXT_LIMITS)
    return [problem for field in names for problem in check_length(values.get(field), field)]


def search_word_count(text: str) -> int:
    """The words of a search as typed: a quoted phrase counts each of its words."""
    return len(text.replace('"', " ").split())


def check_search(text: str) -> list[Problem]:
    """A search of the evidence takes at most SEARCH_MAX_CHARS characters and SEARCH_MAX_WORDS words."""
    chars, words = len(text), search_word_count(text)
    if chars <= SEARCH_MAX_CHARS and words <= SEARCH_MAX_WORDS:
        return []
    message = (
        f"A search takes at most {SEARCH_MAX_WORDS} words and {SEARCH_MAX_CHARS} characters; this one has"
        f" {words:,} word{'' if words == 1 else 's'} and {chars:,} characters. Search for the few words that matter"
        " most."
    )
    return [Problem("search_too_long", message, "text")]


def require(problems: list[Problem]) -> None:
    if problems:
        raise ValidationError(problems)


class AccountRole(StrEnum):
    ADMIN = "admin"
    EVALUATOR = "evaluator"
    FUNDER = "funder"
    TEAM = "team"


@dataclass(frozen=True)
class Viewer:
    """Who is looking. Every read is scoped by this (DESIGN §4): teams see only their projects; funders and teams
    see participants de-identified, no summaries, and only excerpts marked shareable."""

    username: str
    role: AccountRole
    projects: frozenset[str] = frozenset()

    @property
    def identified(self) -> bool:
        """May see participant codes, interview summaries and every excerpt."""
        return self.role in (AccountRole.ADMIN, AccountRole.EVALUATOR)

    @property
    def all_projects(self) -> bool:
        return self.role != AccountRole.TEAM

    @property
    def edits_study_data(self) -> bool:
        return self.role in (AccountRole.ADMIN, AccountRole.EVALUATOR)

    def sees_project(self, project_code: str) -> bool:
        return self.all_projects or project_code in self.projects

    def edits_milestones_of(self, project_code: str) -> bool:
        return self.edits_study_data or (self.role == AccountRole.TEAM and project_code in self.projects)


SYSTEM_VIEWER = Viewer("system", AccountRole.ADMIN)
