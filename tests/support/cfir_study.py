"""A small CFIR 2.0 study for tests, screenshots and the browser journey, built through `init --codebook cfir2` and
`capture` so it obeys every rule.

Study 2025-01-01 to 2026-06-30, built on 2025-09-01. Two projects, three participants each, interviewed at baseline,
3 and 6 months. Constructs are rated −2..+2, 0 (neutral) and X (mixed):
- PEER (community): funding starts as a strong barrier and becomes a facilitator; mid-level leaders go from mixed to
  facilitating; learning culture is neutral at baseline.
- CLIN (nhs): complexity stays a barrier and worsens; relative advantage is mixed throughout.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from innovation_tracker import storage
from innovation_tracker.app import capture, service
from innovation_tracker.domain.model import AccountRole, Study, Viewer

EDITOR = Viewer("ed", AccountRole.EVALUATOR)
BUILT_ON = dt.date(2025, 9, 1)
WAVE_DATES = {"baseline": "2025-02-03", "month_3": "2025-05-05", "month_6": "2025-08-04"}

# project -> wave -> [(construct, rating, excerpt or None)], the same for its three participants but the third, who
# leaves the last line out (so counts differ).
RATINGS = {
    "PEER": {
        "baseline": [
            ("ins_available_resources_funding", -2, "We have no money past March."),
            ("inn_relative_advantage", 2, "Nothing else reaches these people."),
            ("ins_culture_learning", 0, None),
            ("ind_mid_level_leaders", "X", "Some managers back us, others block us."),
            ("prc_planning", -1, None),
        ],
        "month_3": [
            ("ins_available_resources_funding", -1, "A bid is in."),
            ("inn_relative_advantage", 2, None),
            ("ind_mid_level_leaders", 1, None),
            ("out_financing", "X", "The grant helps but its rules slow us."),
        ],
        "month_6": [
            ("ins_available_resources_funding", 1, "Part of the bid came through."),
            ("inn_relative_advantage", 1, None),
            ("ind_mid_level_leaders", 2, "Our manager now chairs the steering group."),
            ("prc_reflecting_evaluating", 0, None),
        ],
    },
    "CLIN": {
        "baseline": [
            ("inn_complexity", -1, "Too many steps for a ward round."),
            ("inn_relative_advantage", "X", None),
            ("ins_tension_for_change", 2, "Everyone knows the old way fails."),
        ],
        "month_3": [
            ("inn_complexity", -2, "Staff skip half the steps."),
            ("inn_relative_advantage", "X", None),
            ("ins_compatibility", -1, None),
        ],
        "month_6": [
            ("inn_complexity", -2, None),
            ("inn_relative_advantage", 0, None),
            ("ins_compatibility", -2, "It does not fit the rota."),
        ],
    },
}
PROJECTS = {
    "PEER": ("Peer support navigators", "community", "external"),
    "CLIN": ("Clinic decision aid", "nhs", "internal"),
}
ROLES = ("service_user", "manager", "health_professional")


def ratings(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        [(code, rating, excerpt, excerpt is not None) for code, rating, excerpt in rows],
        columns=["factor", "rating", "evidence", "shareable"],
    )


def build(path) -> None:
    """A CFIR study with its interviews at `path` (a new file)."""
    con = storage.connect(path)
    service.init_study(con, Study("CFIR study", dt.date(2025, 1, 1), dt.date(2026, 6, 30)), codebook_path="cfir2")
    for project, (name, setting, relation) in PROJECTS.items():
        capture.create_project(
            con,
            EDITOR,
            {
                "project_code": project,
                "name": name,
                "setting": setting,
                "relation_to_statutory": relation,
                "status": "active",
            },
        )
        for n, role in enumerate(ROLES, start=1):
            code = f"{project}-0{n}"
            capture.enrol_participant(
                con,
                EDITOR,
                {
                    "participant_code": code,
                    "project_code": project,
                    "role": role,
                    "enrolment_date": dt.date(2025, 2, 1),
                },
                BUILT_ON,
            )
            for wave, day in WAVE_DATES.items():
                rows = RATINGS[project][wave][: None if n < 3 else -1]
                values = {
                    "wave": wave,
                    "interview_date": dt.date.fromisoformat(day),
                    "mode": "face_to_face" if wave == "baseline" else "telephone",
                    "status": "completed",
                    "interviewer": "R. Osei",
                    "duration_min": 40,
                    "summary": "",
                }
                capture.log_interview(con, EDITOR, project, code, values, ratings(rows), BUILT_ON)
    con.close()
