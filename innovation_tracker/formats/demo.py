"""The demo study (DESIGN §6): eleven synthetic projects followed for a year, seen about nine months in.

Every date is a day offset from the study's start and only turned into a date at the end, so a different
`today` moves the whole study without changing anything else. One `random.Random(DEMO_SEED)` drives all the
variation, consumed in a fixed order, so the same `today` always gives the same tables.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import cast

import pandas as pd

from innovation_tracker.domain import codebook
from innovation_tracker.domain.model import (
    DEFAULT_WAVES,
    Factor,
    FactorKind,
    Indicator,
    InterviewStatus,
    MilestoneKind,
    Mode,
    Novelty,
    ParticipantStatus,
    ProjectStatus,
    Relation,
    Role,
    Setting,
    label_of,
    normalise_indicator_value,
)
from innovation_tracker.formats import tidy

DEMO_SEED = 2011
STUDY_NAME = "Demo evaluation — synthetic data"
FUNDER = "Demo Innovation Fund (synthetic)"
TODAY_DAY = 300  # about nine months in: month_9 is under way, month_12 still ahead
STUDY_DAYS = 460
LAST_BASELINE_DAY = 70  # keeps every participant's month_12 window inside the study
CITE_PROBABILITY = 0.4

SU, CG, CM = Role.SERVICE_USER, Role.CAREGIVER, Role.COMMISSIONER
HP, NH, MG = Role.HEALTH_PROFESSIONAL, Role.NON_HEALTH_PROFESSIONAL, Role.MANAGER


@dataclass(frozen=True)
class Profile:
    code: str
    name: str
    innovation_type: str
    setting: Setting
    relation: Relation
    host: str
    novelty: Novelty
    started_days_before: int
    status: ProjectStatus
    trajectory: str  # a key of FACTOR_PATTERNS and INDICATOR_PATHS
    enrol_from: int  # day the first participant (always the manager) joins
    enrol_span: int  # the others join within this many days
    roles: tuple[Role, ...]
    users_engaged: int  # service users taking part at baseline


PROJECTS: tuple[Profile, ...] = (
    Profile(
        "ARTS",
        "Arts on Referral",
        "Arts-based mental-health groups",
        Setting.COMMUNITY,
        Relation.EXTERNAL,
        "Millbrook Community Arts Trust",
        Novelty.EXPANSION,
        420,
        ProjectStatus.ACTIVE,
        "steady",
        0,
        6,
        (MG, SU, SU, SU, NH, HP),
        18,
    ),
    Profile(
        "PEER",
        "Peer Support on the Wards",
        "Peer support workers in inpatient care",
        Setting.NHS,
        Relation.INTERNAL,
        "Northvale Mental Health NHS Trust",
        Novelty.NEW,
        150,
        ProjectStatus.MAINSTREAMED,
        "mainstream",
        0,
        6,
        (MG, SU, SU, HP, HP, HP, CM),
        30,
    ),
    Profile(
        "SENT",
        "Second Helping Café",
        "User-led social enterprise",
        Setting.VOLUNTARY,
        Relation.EXTERNAL,
        "Phoenix Service User Co-operative",
        Novelty.NEW,
        200,
        ProjectStatus.MAINSTREAMED,
        "mainstream",
        2,
        14,
        (MG, SU, SU, SU, SU, NH, CM),
        12,
    ),
    Profile(
        "LIAS",
        "Primary Care Liaison",
        "Mental-health liaison workers in GP practices",
        Setting.NHS,
        Relation.INTERNAL,
        "Southdale Community Health NHS Trust",
        Novelty.EXPANSION,
        380,
        ProjectStatus.MAINSTREAMED,
        "mainstream",
        6,
        16,
        (MG, SU, HP, HP, HP, CM),
        40,
    ),
    Profile(
        "SANC",
        "Evening Sanctuary",
        "Out-of-hours crisis sanctuary",
        Setting.VOLUNTARY,
        Relation.EXTERNAL,
        "Harbour Crisis Charity",
        Novelty.NEW,
        120,
        ProjectStatus.STALLED,
        "stall",
        10,
        18,
        (MG, SU, SU, NH, NH, CM),
        25,
    ),
    Profile(
        "GROW",
        "Growing Together",
        "Community allotment and horticulture",
        Setting.COMMUNITY,
        Relation.EXTERNAL,
        "Greenway Allotment Association",
        Novelty.NEW,
        90,
        ProjectStatus.ACTIVE,
        "steady",
        14,
        20,
        (MG, SU, SU, NH, CG),
        15,
    ),
    Profile(
        "WEB",
        "Young Minds Online",
        "Online self-help and chat for young people",
        Setting.NHS,
        Relation.INTERNAL,
        "Northvale Child and Adolescent Mental Health Service",
        Novelty.NEW,
        240,
        ProjectStatus.ACTIVE,
        "steady",
        18,
        20,
        (MG, SU, SU, HP, CG),
        60,
    ),
    Profile(
        "CARE",
        "Carers Connect",
        "Carers' support network",
        Setting.VOLUNTARY,
        Relation.EXTERNAL,
        "Westshire Carers Alliance",
        Novelty.EXPANSION,
        500,
        ProjectStatus.ACTIVE,
        "rehost",
        24,
        20,
        (MG, CG, CG, CG, SU, NH),
        20,
    ),
    Profile(
        "RSCH",
        "Service Users as Researchers",
        "Service-user-led research",
        Setting.NHS,
        Relation.INTERNAL,
        "Northvale Mental Health NHS Trust, Research and Development",
        Novelty.NEW,
        180,
        ProjectStatus.ACTIVE,
        "steady",
        28,
        20,
        (MG, SU, SU, SU, HP, HP),
        8,
    ),
    Profile(
        "EMPL",
        "Work Steps",
        "Employment support",
        Setting.COMMUNITY,
        Relation.INTERNAL,
        "Eastfield Borough Council Employment Service",
        Novelty.EXISTING,
        700,
        ProjectStatus.STALLED,
        "stall",
        32,
        22,
        (MG, SU, SU, NH, CM, HP),
        22,
    ),
    Profile(
        "BEAT",
        "Soundhouse",
        "Community music studio",
        Setting.COMMUNITY,
        Relation.EXTERNAL,
        "Soundhouse Youth and Community Centre",
        Novelty.NEW,
        60,
        ProjectStatus.ACTIVE,
        "steady",
        38,
        20,
        (MG, SU, SU, NH, HP),
        14,
    ),
)

ALL = " ".join(p.code for p in PROJECTS)

# Which projects cite each factor over the year: as many as `paper_projects` in the codebook (Tables 2 and 3),
# chosen to fit each project (independent hosts are the external ones, internet access matters online …).
CITATIONS: dict[str, str] = {
    "ctx_team_expertise": "ARTS PEER SENT LIAS SANC GROW WEB CARE RSCH BEAT",
    "ctx_supportive_team": "ARTS PEER SENT LIAS GROW CARE RSCH BEAT",
    "ctx_core_business_fit": "ARTS PEER SENT LIAS SANC WEB CARE BEAT",
    "ctx_champion_position": "PEER SENT LIAS SANC WEB RSCH",
    "ctx_independent_host": "ARTS SENT SANC GROW CARE BEAT",
    "ctx_common_goal": "ARTS PEER SENT GROW CARE",
    "ctx_safe_environment": "ARTS PEER SANC GROW BEAT",
    "ctx_management_buy_in": "PEER SENT LIAS GROW WEB",
    "ctx_flat_hierarchy": "ARTS SENT GROW CARE BEAT",
    "ctx_innovative_host": "PEER SENT WEB",
    "ctx_strong_networks": "GROW CARE EMPL",
    "ctx_builds_on_existing": "ARTS LIAS CARE",
    "ctx_policy_drivers": "PEER LIAS EMPL",
    "ctx_devolved_control": "SENT LIAS RSCH",
    "ctx_partnership_working": "LIAS GROW",
    "po_champion_action": ALL,
    "po_service_user_role": ALL,
    "po_funder_support": ALL,
    "po_external_validation": "ARTS PEER SENT LIAS WEB CARE RSCH BEAT",
    "po_staff_role": "ARTS PEER LIAS SANC GROW WEB RSCH EMPL",
    "po_flexible_delivery": "SANC GROW WEB CARE EMPL BEAT",
    "po_supportive_constellation": "ARTS PEER SENT LIAS RSCH",
    "po_open_communication": "PEER SENT GROW CARE BEAT",
    "po_documentation": "ARTS PEER SENT LIAS RSCH",
    "po_social_interaction": "ARTS GROW BEAT",
    "ctx_instability": "PEER SANC WEB CARE RSCH EMPL BEAT",
    "ctx_resource_limits": "ARTS SANC WEB CARE EMPL BEAT",
    "ctx_corporate_resistance": "PEER LIAS WEB RSCH EMPL",
    "ctx_large_org_inertia": "PEER WEB RSCH EMPL",
    "ctx_hierarchy": "LIAS WEB RSCH EMPL",
    "ctx_bureaucracy": "PEER WEB RSCH EMPL",
    "ctx_risk_aversion": "SANC WEB",
    "ctx_user_internet_access": "WEB EMPL",
    "ctx_business_awareness": "SENT BEAT",
    "ctx_staff_turnover": "SANC EMPL",
    "po_frontline_resistance": "ARTS PEER LIAS SANC WEB RSCH EMPL",
    "po_service_user_resistance": "GROW WEB RSCH EMPL",
    "po_entrepreneur_role_new": "PEER LIAS WEB RSCH",
    "po_low_expectations": "ARTS PEER LIAS EMPL",
    "po_middle_manager_resistance": "PEER RSCH EMPL",
    "po_costs_underestimated": "SANC GROW BEAT",
    "po_professional_jealousy": "PEER LIAS SANC",
    "po_poor_communication": "CARE RSCH EMPL",
    "po_rhetoric_gap": "WEB EMPL",
    "po_artistic_vs_therapeutic": "ARTS BEAT",
    "po_too_complex": "SENT RSCH",
    "po_funder_low_influence": "SANC EMPL",
}

# Strength of a cited factor at baseline, month_3, month_6, month_9, month_12 (None: not cited at that wave).
# The sign comes from the factor's kind.
FACTOR_PATTERNS: dict[str, dict[str, tuple[int | None, ...]]] = {
    "mainstream": {"facilitator": (1, 2, 2, 2, 2), "barrier": (1, 1, None, None, None)},
    "steady": {"facilitator": (1, 1, 1, 2, 2), "barrier": (1, 1, 1, None, None)},
    "stall": {"facilitator": (2, 1, 1, None, None), "barrier": (1, 1, 2, 2, 2)},
    "rehost": {"facilitator": (1, 1, 1, 1, 2), "barrier": (1, 1, 1, 1, None)},
}
FADING = (2, 1, None, None, None)  # initial resistance that wears off once people see the project work
EMERGING = (None, 1, 2, 1, None)  # trouble brought by the host's reorganisation
LOST = (2, 2, None, None, None)  # what went with the champion
LATE = (None, None, 1, 2, 2)
PATTERN_OVERRIDES: dict[tuple[str, str], tuple[int | None, ...]] = {
    ("ARTS", "po_frontline_resistance"): FADING,
    ("ARTS", "po_low_expectations"): FADING,
    ("PEER", "po_frontline_resistance"): FADING,
    ("LIAS", "po_frontline_resistance"): FADING,
    ("LIAS", "po_low_expectations"): FADING,
    ("GROW", "po_service_user_resistance"): FADING,
    ("WEB", "po_service_user_resistance"): FADING,
    ("RSCH", "po_service_user_resistance"): FADING,
    ("CARE", "ctx_instability"): EMERGING,
    ("CARE", "po_poor_communication"): EMERGING,
    ("SANC", "ctx_champion_position"): LOST,
    ("SANC", "ctx_staff_turnover"): LATE,
}

# Sustainability at baseline, month_3, month_6, month_9, month_12. service_users_engaged is a multiple of the
# project's baseline number.
INDICATOR_PATHS: dict[str, dict[str, tuple[object, ...]]] = {
    "mainstream": {
        "funding_beyond_grant": (1, 2, 3, 3, 3),
        "embedded_in_host": (2, 3, 4, 5, 5),
        "management_support": (3, 4, 4, 5, 5),
        "champion_in_post": ("yes",) * 5,
        "host_stability": (3,) * 5,
        "service_users_engaged": (1.0, 1.3, 1.6, 1.8, 2.0),
        "adoption_elsewhere": (0, 0, 1, 2, 3),
        "outlook": ("amber", "amber", "green", "green", "green"),
    },
    "steady": {
        "funding_beyond_grant": (0, 1, 1, 2, 2),
        "embedded_in_host": (2, 2, 3, 3, 3),
        "management_support": (3, 3, 4, 4, 4),
        "champion_in_post": ("yes",) * 5,
        "host_stability": (3,) * 5,
        "service_users_engaged": (1.0, 1.2, 1.3, 1.4, 1.4),
        "adoption_elsewhere": (0, 0, 0, 1, 1),
        "outlook": ("amber", "amber", "amber", "green", "green"),
    },
    "stall": {
        "funding_beyond_grant": (1, 1, 0, 0, 0),
        "embedded_in_host": (2, 2, 1, 1, 1),
        "management_support": (3, 2, 2, 1, 1),
        "champion_in_post": ("yes",) * 5,
        "host_stability": (3, 3, 2, 2, 2),
        "service_users_engaged": (1.0, 0.8, 0.5, 0.3, 0.2),
        "adoption_elsewhere": (0,) * 5,
        "outlook": ("amber", "amber", "red", "red", "red"),
    },
    "rehost": {
        "funding_beyond_grant": (1, 1, 1, 2, 2),
        "embedded_in_host": (3, 2, 2, 3, 3),
        "management_support": (4, 2, 3, 4, 4),
        "champion_in_post": ("yes",) * 5,
        "host_stability": (3, 1, 2, 3, 3),
        "service_users_engaged": (1.0, 0.9, 1.0, 1.2, 1.3),
        "adoption_elsewhere": (0, 0, 0, 1, 1),
        "outlook": ("amber", "red", "amber", "green", "green"),
    },
}
INDICATOR_OVERRIDES: dict[tuple[str, str], tuple[object, ...]] = {
    ("SANC", "champion_in_post"): ("yes", "yes", "no", "no", "no"),
}
SUSTAINABILITY_GAP = ("BEAT", "month_3")  # a round nobody scored: the data-quality check should flag it

MILESTONES: tuple[tuple[str, int, MilestoneKind, str, str | None], ...] = (
    ("PEER", 3, MilestoneKind.LAUNCH, "First peer support workers start on the wards", None),
    ("SANC", 5, MilestoneKind.LAUNCH, "Sanctuary opens four evenings a week", None),
    ("GROW", 10, MilestoneKind.LAUNCH, "First allotment plots handed over", None),
    ("SENT", 12, MilestoneKind.LAUNCH, "Café opens to the public", None),
    ("RSCH", 15, MilestoneKind.LAUNCH, "First service-user researchers trained", None),
    ("WEB", 20, MilestoneKind.LAUNCH, "Website and chat go live", None),
    ("BEAT", 30, MilestoneKind.LAUNCH, "Studio opens for sessions", None),
    (
        "CARE",
        85,
        MilestoneKind.HOST_REORGANISATION,
        "Host charity merges into a regional alliance",
        "Coordinator's line management unclear for several weeks",
    ),
    ("SANC", 140, MilestoneKind.CHAMPION_LEFT, "Project champion leaves", "Post left vacant"),
    ("CARE", 150, MilestoneKind.OTHER, "Network moves to the new host", "Same team, new premises"),
    ("EMPL", 165, MilestoneKind.FUNDING_DECISION, "Continuation bid turned down", None),
    ("LIAS", 175, MilestoneKind.FUNDING_DECISION, "Commissioners fund liaison in every practice", None),
    ("PEER", 190, MilestoneKind.FUNDING_DECISION, "Trust agrees recurrent funding for peer workers", None),
    ("SENT", 205, MilestoneKind.FUNDING_DECISION, "Council catering contract awarded", None),
    ("SANC", 220, MilestoneKind.FUNDING_DECISION, "Bid for continuation funding rejected", None),
    ("ARTS", 240, MilestoneKind.FUNDING_DECISION, "Small grant for a second weekly group", None),
    ("CARE", 250, MilestoneKind.FUNDING_DECISION, "New host funds the coordinator post", None),
)

# Gaps in fieldwork: (participant, wave) -> what happened instead of an interview.
GAPS: dict[tuple[str, str], InterviewStatus] = {
    ("PEER-05", "month_3"): InterviewStatus.MISSED,
    ("BEAT-04", "month_3"): InterviewStatus.MISSED,
    ("GROW-03", "month_6"): InterviewStatus.MISSED,
    ("EMPL-02", "month_6"): InterviewStatus.MISSED,
    ("EMPL-05", "month_6"): InterviewStatus.DECLINED,
}
WITHDRAWAL = ("SANC-04", 25)  # withdraws this many days after the month_3 call
OVERDUE_COUNT = 2  # month_9 calls whose window closed with nobody ringing

INTERVIEWERS = ("A. Byrne", "M. Nowak", "P. Shah")
CODERS = ("A. Byrne", "P. Shah")
EVIDENCE_PROBABILITY = 0.3
SHAREABLE_PROBABILITY = 0.6

QUOTES: dict[str, str] = {
    "ctx_team_expertise": "She has run groups like this for years and it shows.",
    "ctx_supportive_team": "We cover for each other; nobody is left on their own with it.",
    "ctx_core_business_fit": "It is exactly what the organisation exists to do.",
    "ctx_independent_host": "Being outside the Trust, people trust us more.",
    "ctx_safe_environment": "It is the one place I feel safe enough to talk.",
    "ctx_management_buy_in": "The directors keep asking how it is going, and they mean it.",
    "ctx_flat_hierarchy": "If we want to change something we decide at the Monday meeting.",
    "po_champion_action": "The lead just keeps pushing until doors open.",
    "po_service_user_role": "Service users run the sessions now, not us.",
    "po_funder_support": "The fund's officer rings every month, and not only to check up on us.",
    "po_external_validation": "Once the national report mentioned us, the board listened.",
    "po_staff_role": "The ward staff started referring people themselves.",
    "po_flexible_delivery": "We moved the sessions to evenings when people asked.",
    "po_social_interaction": "It's not therapy, it's people. That's why I come.",
    "ctx_instability": "Nobody knows who we will report to after the merger.",
    "ctx_resource_limits": "Two part-time staff can't cover five evenings a week.",
    "ctx_corporate_resistance": "HR took four months to approve one job description.",
    "ctx_large_org_inertia": "Everything has to go through three committees.",
    "ctx_bureaucracy": "The forms were written for routine services, not for this.",
    "ctx_user_internet_access": "Half the young people only have a phone with no data.",
    "ctx_staff_turnover": "We have had three coordinators in a year.",
    "po_frontline_resistance": "At first the nurses thought we were there to replace them.",
    "po_service_user_resistance": "I didn't see the point of it to begin with.",
    "po_low_expectations": "Staff expected it to fizzle out by Christmas.",
    "po_costs_underestimated": "We budgeted for the rent but not the heating.",
    "po_professional_jealousy": "Other teams asked why we got the money and they didn't.",
    "po_artistic_vs_therapeutic": "The artists want a good exhibition; the clinicians want outcomes.",
}
MISSED_NOTE = "No answer after three call attempts in the window."
DECLINED_NOTE = "Declined this follow-up; happy to be contacted for the next one."

INT_COLUMNS = frozenset(
    {
        "offset_days",
        "window_before_days",
        "window_after_days",
        "paper_projects",
        "min_value",
        "max_value",
        "interview_id",
        "duration_min",
        "rating",
    }
)
BOOL_COLUMNS = frozenset({"is_demo", "shareable", "neutral_mixed", "retired", "mixed"})


@dataclass
class _Person:
    code: str
    project: Profile
    role: Role
    enrolled: int
    baseline: int
    interviewer: str
    withdrawn: int | None = None


@dataclass
class _Contact:
    person: _Person
    wave: int  # position in DEFAULT_WAVES
    day: int
    status: InterviewStatus
    mode: Mode
    interviewer: str
    duration: int | None
    interview_id: int = 0
    coder: str = ""
    summary: str | None = None
    ratings: list[tuple[Factor, int]] = field(default_factory=list)


def demo_tables(today: dt.date) -> dict[str, pd.DataFrame]:
    """The demo study as tidy tables (one per key of `tidy.TABLES`), with `today` about nine months in."""
    rng = random.Random(DEMO_SEED)
    start = today - dt.timedelta(days=TODAY_DAY)
    factors = codebook.load_codebook()
    indicators = codebook.load_indicators()
    people = _people(rng)
    contacts = _contacts(people, rng)
    ratings = _ratings(contacts, factors, rng)
    for contact in contacts:
        contact.summary = _summary(contact)
    day = _dater(start)
    rows = {
        "study": [_study_row(start)],
        "waves": [_wave_row(w) for w in DEFAULT_WAVES],
        "codebook": [_factor_row(f) for f in factors],
        "indicators": [_indicator_row(i) for i in indicators],
        "projects": [_project_row(p, day) for p in PROJECTS],
        "participants": [_participant_row(p, day) for p in people],
        "interviews": [_interview_row(c, day) for c in contacts],
        "factor_ratings": ratings,
        "sustainability": _sustainability(people, contacts, indicators),
        "milestones": [_milestone_row(m, day) for m in MILESTONES],
    }
    return {table: _frame(table, rows[table]) for table in tidy.TABLES}


def _dater(start: dt.date):
    return lambda offset: None if offset is None else start + dt.timedelta(days=offset)


def _people(rng: random.Random) -> list[_Person]:
    people = []
    for profile in PROJECTS:
        others = sorted(profile.enrol_from + rng.randint(1, profile.enrol_span) for _ in profile.roles[1:])
        days = [profile.enrol_from, *others]
        for number, (role, enrolled) in enumerate(zip(profile.roles, days, strict=True), start=1):
            # managers are the way in, so they are interviewed first and quickly
            lag = rng.randint(0, 5) if role == MG else _baseline_lag(rng)
            baseline = min(enrolled + lag, max(enrolled, LAST_BASELINE_DAY))
            code = f"{profile.code}-{number:02d}"
            people.append(_Person(code, profile, role, enrolled, baseline, rng.choice(INTERVIEWERS)))
    return people


def _baseline_lag(rng: random.Random) -> int:
    return rng.randint(15, 28) if rng.random() < 0.1 else rng.randint(0, 14)


def _follow_up_jitter(rng: random.Random, wave: int) -> int:
    # a few month_3 and month_6 calls slip just outside the ±21-day window
    if wave in (1, 2) and rng.random() < 0.06:
        return rng.choice((-1, 1)) * rng.randint(22, 26)
    # people drift away late in a study, so interviewers ring early for the last rounds
    return rng.randint(-14, 14) if wave < 3 else rng.randint(-14, 7)


def _contacts(people: list[_Person], rng: random.Random) -> list[_Contact]:
    overdue = _overdue(people, rng)
    contacts = []
    for person in people:
        contacts.append(_contact(person, 0, person.baseline, InterviewStatus.COMPLETED, rng))
        for wave in range(1, len(DEFAULT_WAVES)):
            day = person.baseline + DEFAULT_WAVES[wave].offset_days + _follow_up_jitter(rng, wave)
            if day > TODAY_DAY or (person.withdrawn is not None and day > person.withdrawn):
                break
            if (person.code, wave) in overdue:
                continue
            status = GAPS.get((person.code, DEFAULT_WAVES[wave].wave), InterviewStatus.COMPLETED)
            contacts.append(_contact(person, wave, day, status, rng))
            if person.code == WITHDRAWAL[0] and wave == 1:
                person.withdrawn = day + WITHDRAWAL[1]
    contacts.sort(key=lambda c: (c.day, c.person.code, c.wave))
    for number, contact in enumerate(contacts, start=1):
        contact.interview_id = number
        contact.coder = rng.choice(CODERS) if contact.status == InterviewStatus.COMPLETED else ""
    return contacts


def _overdue(people: list[_Person], rng: random.Random) -> list[tuple[str, int]]:
    """A few month_9 calls nobody made, among those whose window has already closed."""
    month_9 = 3
    wave = DEFAULT_WAVES[month_9]
    closed = [
        p.code
        for p in people
        if p.baseline + wave.offset_days + wave.window_after_days < TODAY_DAY and p.code != WITHDRAWAL[0]
    ]
    return [(code, month_9) for code in rng.sample(closed, min(OVERDUE_COUNT, len(closed)))]


def _contact(person: _Person, wave: int, day: int, status: InterviewStatus, rng: random.Random) -> _Contact:
    duration: int | None
    if wave == 0:
        mode, duration = Mode.FACE_TO_FACE, rng.randint(40, 90)
    else:
        mode = Mode.VIDEO if rng.random() < 0.08 else Mode.TELEPHONE
        duration = rng.randint(15, 45)
    interviewer = rng.choice(INTERVIEWERS) if rng.random() < 0.15 else person.interviewer
    if status != InterviewStatus.COMPLETED:
        duration = None
    return _Contact(person, wave, day, status, mode, interviewer, duration)


def _citation_plan(factors: list[Factor]) -> dict[str, list[tuple[Factor, tuple[int | None, ...]]]]:
    """project -> the factors it cites, each with its strength at every wave."""
    plan: dict[str, list[tuple[Factor, tuple[int | None, ...]]]] = {p.code: [] for p in PROJECTS}
    trajectory = {p.code: p.trajectory for p in PROJECTS}
    for factor in factors:
        side = "barrier" if factor.kind == FactorKind.BARRIER else "facilitator"
        for project in CITATIONS.get(factor.factor_code, "").split():
            default = FACTOR_PATTERNS[trajectory[project]][side]
            plan[project].append((factor, PATTERN_OVERRIDES.get((project, factor.factor_code), default)))
    return plan


def _ratings(contacts: list[_Contact], factors: list[Factor], rng: random.Random) -> list[dict]:
    plan = _citation_plan(factors)
    completed = [c for c in contacts if c.status == InterviewStatus.COMPLETED]
    for contact in completed:
        for factor, pattern in plan[contact.person.project.code]:
            strength = pattern[contact.wave]
            if strength is not None and rng.random() < CITE_PROBABILITY:
                contact.ratings.append((factor, _rating(factor, strength, rng)))
    _force_every_citation(completed, plan, rng)
    position = {f.factor_code: n for n, f in enumerate(factors)}
    rows = []
    for contact in completed:
        contact.ratings.sort(key=lambda pair: position[pair[0].factor_code])
        rows += [_rating_row(contact, factor, rating, rng) for factor, rating in contact.ratings]
    return rows


def _force_every_citation(completed: list[_Contact], plan: dict, rng: random.Random) -> None:
    """A project that cites a factor must show it at least once, or the Table 2/3 counts drift; and every
    coded interview names at least one factor."""
    for project, cited in plan.items():
        mine = [c for c in completed if c.person.project.code == project]
        for factor, pattern in cited:
            if any(f is factor for c in mine for f, _ in c.ratings):
                continue
            first = next(c for c in mine if pattern[c.wave] is not None)
            first.ratings.append((factor, _rating(factor, pattern[first.wave], rng)))
        for contact in mine:
            if not contact.ratings:
                factor, pattern = next((f, p) for f, p in cited if p[contact.wave] is not None)
                contact.ratings.append((factor, _rating(factor, pattern[contact.wave], rng)))


def _rating(factor: Factor, strength: int, rng: random.Random) -> int:
    # people rarely agree on strength, so one in seven ratings is a notch off the project's pattern
    if rng.random() < 0.15:
        strength = 3 - strength
    return -strength if factor.kind == FactorKind.BARRIER else strength


def _rating_row(contact: _Contact, factor: Factor, rating: int, rng: random.Random) -> dict:
    evidence, shareable = None, False
    quote = QUOTES.get(factor.factor_code)
    if quote is not None and rng.random() < EVIDENCE_PROBABILITY:
        evidence, shareable = quote, rng.random() < SHAREABLE_PROBABILITY
    return {
        "interview_id": contact.interview_id,
        "project_code": contact.person.project.code,
        "participant_code": contact.person.code,
        "wave": DEFAULT_WAVES[contact.wave].wave,
        "factor_code": factor.factor_code,
        "domain": factor.domain,
        "kind": factor.kind.value,
        "rating": rating,
        "evidence": evidence,
        "shareable": shareable,
        "coder": contact.coder,
    }


def _summary(contact: _Contact) -> str:
    if contact.status == InterviewStatus.MISSED:
        return MISSED_NOTE
    if contact.status == InterviewStatus.DECLINED:
        return DECLINED_NOTE
    text = f"{DEFAULT_WAVES[contact.wave].label} ({label_of(contact.person.role).lower()})."
    best = max(contact.ratings, key=lambda pair: pair[1], default=None)
    worst = min(contact.ratings, key=lambda pair: pair[1], default=None)
    if best is not None and best[1] > 0:
        text += f" Most positive about: {best[0].label.lower()}."
    if worst is not None and worst[1] < 0:
        text += f" Main concern: {worst[0].label.lower()}."
    return text


def _settled(person: _Person, wave: int, recorded: set[tuple[str, int]]) -> bool:
    """Nothing more will come of this participant's call at this wave."""
    if (person.code, wave) in recorded:
        return True
    w = DEFAULT_WAVES[wave]
    closes = person.baseline + w.offset_days + w.window_after_days
    return closes < TODAY_DAY or (person.withdrawn is not None and person.withdrawn <= closes)


def _sustainability(people: list[_Person], contacts: list[_Contact], indicators: list[Indicator]) -> list[dict]:
    """Evaluators score a project once every participant's call for that wave is done or lost."""
    recorded = {(c.person.code, c.wave) for c in contacts}
    rows = []
    for profile in PROJECTS:
        mine = [p for p in people if p.project is profile]
        for wave in range(len(DEFAULT_WAVES)):
            name = DEFAULT_WAVES[wave].wave
            if (profile.code, name) == SUSTAINABILITY_GAP or not all(_settled(p, wave, recorded) for p in mine):
                continue
            rows += [
                {
                    "project_code": profile.code,
                    "wave": name,
                    "indicator_code": i.indicator_code,
                    "value": _indicator_value(profile, i, wave),
                }
                for i in indicators
            ]
    return rows


def _indicator_value(profile: Profile, indicator: Indicator, wave: int) -> str:
    path = INDICATOR_PATHS[profile.trajectory][indicator.indicator_code]
    value = INDICATOR_OVERRIDES.get((profile.code, indicator.indicator_code), path)[wave]
    if indicator.indicator_code == "service_users_engaged":
        value = round(profile.users_engaged * cast(float, value))  # its path holds multiples
    text, problems = normalise_indicator_value(indicator, value)
    if problems:
        raise ValueError(f"demo data for {profile.code} breaks a rule: {problems[0]}")
    assert text is not None  # None comes only with problems
    return text


def _study_row(start: dt.date) -> dict:
    end = start + dt.timedelta(days=STUDY_DAYS)
    return {"name": STUDY_NAME, "funder": FUNDER, "start_date": start, "end_date": end, "is_demo": True}


def _wave_row(wave) -> dict:
    return {
        "wave": wave.wave,
        "label": wave.label,
        "offset_days": wave.offset_days,
        "window_before_days": wave.window_before_days,
        "window_after_days": wave.window_after_days,
        "default_mode": wave.default_mode.value,
    }


def _factor_row(factor: Factor) -> dict:
    return {
        "factor_code": factor.factor_code,
        "domain": factor.domain,
        "kind": factor.kind.value,
        "label": factor.label,
        "description": factor.description or None,
        "paper_projects": factor.paper_projects,
    }


def _indicator_row(indicator: Indicator) -> dict:
    return {
        "indicator_code": indicator.indicator_code,
        "label": indicator.label,
        "value_type": indicator.value_type.value,
        "min_value": indicator.min_value,
        "max_value": indicator.max_value,
        "better": indicator.better,
        "description": indicator.description or None,
    }


def _project_row(p: Profile, day) -> dict:
    return {
        "project_code": p.code,
        "name": p.name,
        "setting": p.setting.value,
        "host_organisation": p.host,
        "relation_to_statutory": p.relation.value,
        "start_date": day(-p.started_days_before),
        "status": p.status.value,
        "innovation_type": p.innovation_type,
        "novelty": p.novelty.value,
    }


def _participant_row(p: _Person, day) -> dict:
    status = ParticipantStatus.ACTIVE if p.withdrawn is None else ParticipantStatus.WITHDRAWN
    return {
        "participant_code": p.code,
        "project_code": p.project.code,
        "role": p.role.value,
        "enrolment_date": day(p.enrolled),
        "status": status.value,
        "consent_date": day(p.enrolled),
        "withdrawal_date": day(p.withdrawn),
    }


def _interview_row(c: _Contact, day) -> dict:
    return {
        "interview_id": c.interview_id,
        "participant_code": c.person.code,
        "project_code": c.person.project.code,
        "wave": DEFAULT_WAVES[c.wave].wave,
        "interview_date": day(c.day),
        "mode": c.mode.value,
        "interviewer": c.interviewer,
        "duration_min": c.duration,
        "status": c.status.value,
        "summary": c.summary,
    }


def _milestone_row(milestone: tuple, day) -> dict:
    project, offset, kind, title, notes = milestone
    return {"project_code": project, "milestone_date": day(offset), "kind": kind.value, "title": title, "notes": notes}


def _frame(table: str, rows: list[dict]) -> pd.DataFrame:
    # object columns keep dates as datetime.date and missing text as None rather than pandas' NaN
    columns = tidy.columns(table)
    # Columns the demo leaves out (a retired flag, a mixed rating) take their empty value.
    frame = pd.DataFrame([[row.get(c) for c in columns] for row in rows], columns=columns, dtype=object)
    for column in columns:
        if column in INT_COLUMNS:
            frame[column] = frame[column].astype("Int64")
        elif column in BOOL_COLUMNS:
            frame[column] = frame[column].astype(bool)
    return frame


CALL_TIMES = ("Weekday mornings", "Weekday afternoons", "Evenings after 6 pm", "Tuesdays and Thursdays",
              "Any time before 4 pm")  # fmt: skip


def contact_details(participants: pd.DataFrame) -> pd.DataFrame:
    """Synthetic ways to reach each demo participant that reach nobody: Ofcom's drama numbers (01632 960000 to
    960999, never allocated) and e-mail at example.org (reserved by RFC 2606)."""
    codes = sorted(participants.participant_code)
    if len(codes) > 1000:
        raise ValueError("the drama range holds 1,000 numbers")
    step = max(1, 1000 // max(len(codes), 1))
    return pd.DataFrame(
        {
            "participant_code": codes,
            "telephone": [f"01632 960{n * step:03d}" for n in range(len(codes))],
            "email": [f"{code.lower()}@example.org" for code in codes],
            "call_times": [CALL_TIMES[n % len(CALL_TIMES)] for n in range(len(codes))],
        }
    )


# Double coding: every fifth completed interview is coded a second time, blind, by the other coder. People who code
# the same interview agree on most factors but not all: now and then one leaves out a factor the other cited, rates
# it a notch stronger or weaker, or cites a factor the project raises elsewhere.
DOUBLE_CODED_EVERY = 5
SECOND_DROPS, SECOND_SHIFTS, SECOND_ADDS = 0.08, 0.14, 0.3
UNRECONCILED = 3  # the last double-coded interviews with disagreements are left for the team to reconcile
CONSENSUS_REASON = "Demo: discussed by both coders, who kept the first coding"


def second_codings(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The demo's blind second codings (interview_id, factor_code, rating, evidence, shareable, coder),
    deterministic: every fifth completed interview, coded by the coder who did not code it first."""
    rng = random.Random(DEMO_SEED + 16)
    ratings = tables["factor_ratings"]
    chosen = sorted(i for i in ratings.interview_id.unique() if i % DOUBLE_CODED_EVERY == 2)
    rows = []
    for interview_id in chosen:
        first = ratings[ratings.interview_id == interview_id]
        coder = next(c for c in CODERS if c != first.coder.iloc[0])
        mine = []
        for r in first.itertuples():
            draw = rng.random()
            if draw < SECOND_DROPS:
                continue
            rating = int(r.rating)
            if draw < SECOND_DROPS + SECOND_SHIFTS:  # a notch off, on the same side
                rating = (3 - abs(rating)) * (1 if rating > 0 else -1)
            mine.append((r.factor_code, rating, r.evidence, bool(r.shareable)))
        elsewhere = ratings[
            (ratings.project_code == first.project_code.iloc[0]) & ~ratings.factor_code.isin(first.factor_code)
        ]
        if (rng.random() < SECOND_ADDS or not mine) and not elsewhere.empty:
            extra = elsewhere.iloc[rng.randrange(len(elsewhere))]
            mine.append((extra.factor_code, int(extra.rating), None, False))
        rows += [
            {"interview_id": int(interview_id), "factor_code": code, "rating": rating,
             "evidence": None if pd.isna(evidence) else evidence, "shareable": shareable, "coder": coder}
            for code, rating, evidence, shareable in mine
        ]  # fmt: skip
    return pd.DataFrame(rows)
