"""Reads behind exports for analysts: aggregated in SQL and scoped by viewer like every other read."""

from __future__ import annotations

import re

import pandas as pd

from ..domain import Viewer
from .access import query, scoped_read
from .db import Connection

WIDE_KEYS = ("project_code", "wave", "wave_label", "n_interviews")
_FACTOR_CODE = re.compile(r"[a-z][a-z0-9_]*")


def _factor_column(code: str) -> str:
    # The schema's CHECK guarantees the pattern; checking again keeps the code safe to write into the SQL.
    if not _FACTOR_CODE.fullmatch(code):
        raise ValueError(f"unexpected factor code {code!r}")
    return f"factor_{code}" if code in WIDE_KEYS else code


@scoped_read
def wide_table(con: Connection, viewer: Viewer) -> pd.DataFrame:
    """One row per project × wave with a completed interview: how many, and each factor's mean rating."""
    codes = [row[0] for row in con.execute("SELECT factor_code FROM factor ORDER BY position").fetchall()]
    means = "".join(
        f", round(avg(r.rating) FILTER (WHERE r.factor_code = '{code}'), 3) AS \"{_factor_column(code)}\""
        for code in codes
    )
    return query(
        con,
        viewer,
        f"""
        SELECT p.project_code, i.wave, any_value(w.label) AS wave_label,
               count(DISTINCT i.interview_id) AS n_interviews{means}
        FROM interview i JOIN participant p USING (participant_code) JOIN wave w ON w.wave = i.wave
        LEFT JOIN factor_rating r ON r.interview_id = i.interview_id
        WHERE i.status = 'completed'
        GROUP BY p.project_code, i.wave, w.position
        ORDER BY p.project_code, w.position
        """,
    )
