"""Double coding: a second coder codes an interview blind, the two codings are compared, and a consensus settles
each disagreement. What the Double coding and Agreement pages call; no streamlit, no duckdb.

- **Blind.** A second coding is started (`start`), typed and saved (`save`) without the first coding ever being
  read for its coder: the form reads only the interview (`storage.blind_interview`), and from `start` until the
  save every read made for that coder hides the interview's first coding (storage/access.py).
- **Both codings kept.** On saving, the first coding as it stands is kept beside the second (`coding_rating`);
  agreement compares those two, whatever reconciliation does afterwards.
- **Reconciliation** (`reconcile`): each disagreement (a factor cited by one coding only, or rated differently)
  gets an agreed rating, or "not cited", and a reason; it becomes the rating in force (`factor_rating`), which
  the trajectories, the matrix, search and exports read. Audited with who, when, why and the rating before.
- **Agreement** (`agreement_tables`): per factor, per project and overall, at a wave or over all waves, counted in
  SQL and turned into percent agreement, Cohen's kappa on citing and Krippendorff's alpha (ordinal) on the rating
  by `agreement.py`.

Ratings are checked by the codebook's one rule (`domain.check_rating`, through `capture.check_ratings`), as the
first coding's are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from innovation_tracker import storage
from innovation_tracker.app import capture
from innovation_tracker.domain import agreement
from innovation_tracker.domain.errors import NotFound, Problem, ValidationError
from innovation_tracker.domain.model import (
    Factor,
    Viewer,
    check_length,
    check_rating,
    label_of,
    rating_value,
    require,
    stored_rating,
)

NOT_CITED = "not cited"


def start(con: storage.Connection, viewer: Viewer, interview_id: int) -> None:
    """Start coding an interview blind (editors; not its first coder; one second coder per interview)."""
    capture.require_editor(viewer)
    storage.blind_interview(con, viewer, int(interview_id))  # exists and is the viewer's to see
    storage.create_second_coding(con, viewer.username, int(interview_id))


def give_up(con: storage.Connection, viewer: Viewer, interview_id: int) -> None:
    capture.require_editor(viewer)
    storage.delete_second_coding(con, viewer.username, int(interview_id))


def offered_factors(factors: list[Factor]) -> list[Factor]:
    """The factors a new coding may cite: the codebook without retired factors."""
    return [f for f in factors if not f.retired]


def save(
    con: storage.Connection, viewer: Viewer, interview_id: int, rows: pd.DataFrame, *, no_factors: bool = False
) -> None:
    """Save the viewer's blind coding. `rows`: factor (code or the form's label), rating, evidence, shareable,
    optionally `line`/`field` naming each line for messages. Every line is checked by the codebook's rules; a coding
    that cites nothing needs `no_factors`. Nothing is saved when any rule is broken."""
    capture.require_editor(viewer)
    interview = storage.blind_interview(con, viewer, int(interview_id))
    if interview["second_coder"] != viewer.username or not pd.isna(interview["saved_at"]):
        raise ValidationError(
            Problem("not_started", f"start the second coding of interview {interview_id} before saving it")
        )
    neutral_mixed = storage.neutral_mixed(con)
    rated = capture.check_ratings(rows, offered_factors(storage.list_factors(con)), viewer.username, neutral_mixed)
    if not rated and not no_factors:
        message = "no factor is rated: rate the factors discussed, or tick “No factors were discussed” if none were"
        raise ValidationError(Problem("no_ratings", message, "no_factors"))
    if rated and no_factors:
        message = f"“No factors were discussed” is ticked but {len(rated)} factor(s) are rated: untick it or clear them"
        raise ValidationError(Problem("contradiction", message, "no_factors"))
    stored = [{k: r[k] for k in ("factor_code", "rating", "mixed", "evidence", "shareable")} for r in rated]
    storage.record_second_coding(con, viewer.username, int(interview_id), stored)


def _mixed(pairs: pd.DataFrame, column: str) -> pd.Series:
    if column not in pairs.columns:
        return pd.Series(False, index=pairs.index)
    return pairs[column].astype("boolean").fillna(False).astype(bool)


def disagreements(pairs: pd.DataFrame) -> pd.DataFrame:
    """The factors the two codings disagree on: cited by one only, or rated differently (`storage.coding_pairs`).
    X (mixed, stored as 0) is a rating of its own: X against 0 is a disagreement."""
    one_only = pairs.rating_1.isna() != pairs.rating_2.isna()
    both = pairs.rating_1.notna() & pairs.rating_2.notna()
    different = both & ((pairs.rating_1 != pairs.rating_2) | (_mixed(pairs, "mixed_1") != _mixed(pairs, "mixed_2")))
    return pairs[one_only | different]


def shown_rating(rating: object, mixed: object = False) -> int | str | None:
    """A stored rating (and its `mixed` flag) as the pages show it: −2..+2, "X", or None where not cited."""
    if rating is None or pd.isna(rating):
        return None
    return rating_value(int(rating), bool(mixed) if not pd.isna(mixed) else False)  # type: ignore[call-overload]


def consensus_options(kind: str, neutral_mixed: bool = False) -> tuple[object, ...]:
    """What a consensus may be: a rating the factor's kind allows (with 0 and X where the codebook declares them),
    or not cited."""
    return (*capture.rating_options(kind, neutral_mixed), NOT_CITED)


def reconcile(con: storage.Connection, viewer: Viewer, interview_id: int, decisions: dict[str, tuple]) -> int:
    """Record the agreed rating of disagreements: `decisions` maps factor code -> (rating or NOT_CITED, reason).
    Only editors; only after both codings are saved; each factor must be a disagreement of this interview, its
    rating must fit the factor's kind and a reason is required. Returns how many were recorded."""
    capture.require_editor(viewer)
    pairs = storage.coding_pairs(con, viewer, int(interview_id))
    if pairs.empty:
        raise NotFound(f"interview {interview_id} has no saved second coding to reconcile")
    open_ones = disagreements(pairs).set_index("factor_code")
    factors = {f.factor_code: f for f in storage.list_factors(con)}
    neutral_mixed = storage.neutral_mixed(con)
    problems: list[Problem] = []
    stored = []
    for code, (choice, reason) in decisions.items():
        label = factors[code].label if code in factors else code
        field = f"consensus:{code}"
        if code not in open_ones.index:
            problems.append(Problem("not_a_disagreement", f"'{label}': the two codings agree on it", field))
            continue
        if choice is None:
            problems.append(Problem("required", f"'{label}': choose the agreed rating (or not cited)", field))
            continue
        rating = None if choice == NOT_CITED else choice
        if rating is not None:
            problems += [
                Problem(p.rule, f"'{label}': {p.message}", field, value=p.value)
                for p in check_rating(rating, factors.get(code), code, neutral_mixed=neutral_mixed)
            ]
        if not str(reason or "").strip():
            problems.append(Problem("required", f"'{label}': say why the coders agreed on this rating", field))
        problems += [Problem(p.rule, f"'{label}': {p.message}", field) for p in check_length(reason, "reason")]
        agreed, mixed = (None, False) if rating is None or problems else stored_rating(rating)
        stored.append({"factor_code": code, "rating": agreed, "mixed": mixed, "reason": str(reason).strip()})
    if not decisions:
        problems.append(Problem("required", "choose the agreed rating of at least one disagreement"))
    require(problems)
    storage.set_consensus(con, viewer.username, int(interview_id), stored)
    return len(stored)


@dataclass(frozen=True)
class AgreementTables:
    """The Agreement page's figures: overall (one row), per project and per factor, each with its n."""

    overall: pd.DataFrame
    by_project: pd.DataFrame
    by_factor: pd.DataFrame

    @property
    def empty(self) -> bool:
        return self.overall.empty or int(self.overall.n_units.sum()) == 0

    # The tables as the page shows them, written out once: the figures are kept until the next write (ui.shared),
    # and writing 11,000 projects' statistics as text on every rerun cost a warm rerun 90 ms.
    @cached_property
    def project_table(self) -> pd.DataFrame:
        return readable(self.by_project, {"project_code": "Project", "project_name": "Name"})

    @cached_property
    def factor_table(self) -> pd.DataFrame:
        by_factor = self.by_factor.assign(domain=self.by_factor.domain.map(label_of))
        return readable(by_factor, {"factor_label": "Factor", "domain": "Domain"})


def agreement_tables(con: storage.Connection, viewer: Viewer, wave: str | None = None) -> AgreementTables:
    """Agreement between the two codings at `wave` (every wave when None), as the viewer may see it (a team: its
    own projects). Counted in SQL; the statistics are `agreement.agreement_from_counts`."""
    counts = storage.agreement_counts(con, viewer, wave)
    overall = agreement.agreement_from_counts(counts[counts.level == "overall"])
    by_project = agreement.agreement_from_counts(counts[counts.level == "project"], ["project_code", "project_name"])
    by_factor = agreement.agreement_from_counts(
        counts[counts.level == "factor"], ["factor_code", "factor_label", "domain"]
    )
    return AgreementTables(overall, by_project, by_factor)


def shown(value: float, digits: int = 2) -> str:
    """A statistic as the page writes it: "0.58", "—" when undefined (every unit in one category)."""
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


STAT_COLUMNS = {
    "n_interviews": "Interviews",
    "n_units": "Units",
    "percent_agreement": "Percent agreement",
    "kappa_cited": "Kappa (cited)",
    "n_rated_by_both": "Rated by both",
    "alpha_rating": "Alpha (rating)",
}


def percent(value: float) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.1%}"


def readable(frame: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """A statistics table as the page shows it: the group's labels, then each statistic with its n, as text
    ("96.1%", "0.94", "—" where a statistic is undefined)."""
    shown = frame[[*labels, *STAT_COLUMNS]].copy()
    shown["percent_agreement"] = shown.percent_agreement.map(percent)
    for column in ("kappa_cited", "alpha_rating"):
        shown[column] = shown[column].map(_shown_statistic)
    return shown.rename(columns={**labels, **STAT_COLUMNS})


def _shown_statistic(value: float) -> str:
    return shown(value)
