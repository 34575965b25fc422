"""A small hand-made study for the data-capture tests, built through `capture` so it obeys every rule.

Study 2025-01-01 to 2026-06-30, one project ART:
- ART-01 service user, enrolled 2025-02-01: baseline 2025-02-03 (A. Byrne, two ratings), 3-month 2025-05-01 (M. Nowak)
- ART-02 manager, enrolled 2025-02-10: baseline 2025-02-12 (C. Diaz), 3-month missed 2025-05-14 (C. Diaz)
- ART-03 caregiver, enrolled 2025-03-01: nothing yet
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from innovation_tracker.app import capture
from innovation_tracker.domain.model import AccountRole, Viewer

EDITOR = Viewer("ed", AccountRole.EVALUATOR)
BUILT_ON = dt.date(2025, 6, 1)
NO_RATINGS = pd.DataFrame(columns=["factor", "rating", "evidence", "shareable"])


def ratings(*rows: tuple) -> pd.DataFrame:
    """Rating rows as the entry table gives them: (factor code or label, rating, evidence, shareable)."""
    return pd.DataFrame(list(rows), columns=["factor", "rating", "evidence", "shareable"])


def interview(wave: str, date: str | None, interviewer: str, status: str = "completed", **more) -> dict:
    return {
        "wave": wave,
        "interview_date": date and dt.date.fromisoformat(date),
        "mode": "telephone",
        "status": status,
        "interviewer": interviewer,
        "duration_min": 30,
        "summary": "notes",
        **more,
    }


def build(con) -> None:
    capture.create_project(
        con,
        EDITOR,
        {
            "project_code": "ART",
            "name": "Arts on prescription",
            "setting": "community",
            "relation_to_statutory": "external",
            "status": "active",
        },
    )
    for code, role, enrolled in (
        ("ART-01", "service_user", "2025-02-01"),
        ("ART-02", "manager", "2025-02-10"),
        ("ART-03", "caregiver", "2025-03-01"),
    ):
        capture.enrol_participant(
            con,
            EDITOR,
            {
                "participant_code": code,
                "project_code": "ART",
                "role": role,
                "enrolment_date": dt.date.fromisoformat(enrolled),
            },
            BUILT_ON,
        )
    two = ratings(("ctx_team_expertise", 2, "=they know their stuff", True), ("ctx_resource_limits", -1, None, False))
    log = capture.log_interview
    log(
        con,
        EDITOR,
        "ART",
        "ART-01",
        interview("baseline", "2025-02-03", "A. Byrne", mode="face_to_face"),
        two,
        BUILT_ON,
    )
    log(
        con,
        EDITOR,
        "ART",
        "ART-01",
        interview("month_3", "2025-05-01", "M. Nowak", no_factors=True),
        NO_RATINGS,
        BUILT_ON,
    )
    log(
        con,
        EDITOR,
        "ART",
        "ART-02",
        interview("baseline", "2025-02-12", "C. Diaz", no_factors=True),
        NO_RATINGS,
        BUILT_ON,
    )
    log(con, EDITOR, "ART", "ART-02", interview("month_3", "2025-05-14", "C. Diaz", "missed"), NO_RATINGS, BUILT_ON)
