"""How a project's barriers, facilitators and sustainability move from wave to wave (DESIGN §3 "Project
timeline", "Compare projects", "Portfolio overview" alerts).

Pure functions over small frames that the storage layer has already aggregated in SQL, so every number here can
be checked by hand on a few rows. A mean rating is (sum of positive + sum of negative ratings) / ratings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from innovation_tracker.domain.display import signed
from innovation_tracker.domain.model import RAG_VALUES, Factor, Wave

CHANGE_THRESHOLD = 0.5
CHANGE_CLASSES = {
    "emerged": "Not mentioned at the earlier wave, mentioned at the later one.",
    "disappeared": "Mentioned at the earlier wave, no longer mentioned at the later one.",
    "improved": f"Mean rating rose by {CHANGE_THRESHOLD} or more: a facilitator grew stronger or a barrier eased.",
    "worsened": f"Mean rating fell by {CHANGE_THRESHOLD} or more: a barrier grew stronger or a facilitator weakened.",
    "steady": f"Mentioned at both waves; the mean rating moved by less than {CHANGE_THRESHOLD}.",
}
WARNING_KINDS = {
    "overdue": "Follow-up interviews whose window has closed without an interview.",
    "outlook_worsened": "The evaluator's outlook is lower than at the previous scored wave.",
    "balance_worsened": "The net balance per interview is lower than at the previous finished round with ratings.",
    "missing_scores": "A finished round has no sustainability scores for the project.",
}
# Means are ratios of small integers: 1.5 - 1.0 is exact, but 2/3-style means are not, so allow for rounding.
_EPSILON = 1e-9

TRAJECTORY_COLUMNS = [
    "factor_code",
    "label",
    "domain",
    "kind",
    "wave",
    "wave_label",
    "n",
    "n_barrier",
    "n_facilitator",
    "mean_rating",
]
CHANGE_COLUMNS = ["factor_code", "label", "domain", "kind", "mean_a", "mean_b", "n_a", "n_b", "delta", "change"]
CITATION_COLUMNS = ["factor_code", "label", "domain", "kind", "projects_citing", "percent", "paper_projects"]
MATRIX_COLUMNS = ["project_code", "factor_code", "mean_a", "mean_b", "diff"]
WARNING_COLUMNS = ["project_code", "kind", "wave", "message"]


def _factor_frame(factors: Sequence[Factor]) -> pd.DataFrame:
    """The codebook as a frame with sort keys: domains and kinds keep the order they first appear in."""
    frame = pd.DataFrame(
        {
            "factor_code": [f.factor_code for f in factors],
            "label": [f.label for f in factors],
            "domain": [f.domain for f in factors],
            "kind": [str(f.kind) for f in factors],
            "order": range(len(factors)),
        }
    )
    for column in ("domain", "kind"):
        first_seen = {value: n for n, value in enumerate(dict.fromkeys(frame[column]))}
        frame[f"{column}_order"] = frame[column].map(first_seen)
    return frame


def _wave_frame(waves: Sequence[Wave]) -> pd.DataFrame:
    return pd.DataFrame(
        {"wave": [w.wave for w in waves], "wave_label": [w.label for w in waves], "position": range(len(waves))}
    )


def _means(stats: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if stats.empty:
        # pandas 3 groups an empty frame on several string keys into arrays that a later merge cannot join.
        return stats[keys].assign(n=0, mean=np.nan)
    sums = stats.groupby(keys, as_index=False)[["n", "positive_sum", "negative_sum"]].sum()
    sums["mean"] = (sums.positive_sum + sums.negative_sum) / sums.n.where(sums.n > 0)
    return sums[[*keys, "n", "mean"]]


def factor_trajectory(
    stats: pd.DataFrame, factors: Sequence[Factor], waves: Sequence[Wave], project_code: str
) -> pd.DataFrame:
    """Every factor the project cited at any wave, at every wave: counts 0 and mean NaN where it was not cited."""
    wave_frame = _wave_frame(waves)
    mine = stats[(stats.project_code == project_code) & stats.wave.isin(wave_frame.wave)]
    meta = _factor_frame(factors)
    grid = meta[meta.factor_code.isin(mine.factor_code)].merge(wave_frame, how="cross")
    measures = ["n", "n_barrier", "n_facilitator", "positive_sum", "negative_sum"]
    grid = grid.merge(mine[["factor_code", "wave", *measures]], on=["factor_code", "wave"], how="left")
    counts = ["n", "n_barrier", "n_facilitator"]
    grid[counts] = grid[counts].fillna(0).astype(int)
    grid["mean_rating"] = (grid.positive_sum + grid.negative_sum) / grid.n.where(grid.n > 0)
    grid = grid.sort_values(["domain_order", "kind_order", "order", "position"])
    return grid[TRAJECTORY_COLUMNS].reset_index(drop=True)


def net_balance(
    stats: pd.DataFrame, waves: Sequence[Wave], factors: Sequence[Factor] | None = None, *, by_domain: bool = False
) -> pd.DataFrame:
    """Weight of facilitators (sum of positive ratings) against barriers (|sum of negative ratings|) per project
    and wave, optionally per domain (which needs `factors`). Waves without ratings have no row.

    `position` is the wave's place in the schedule, so charts can order waves without the schedule at hand.
    """
    frame = stats.merge(_wave_frame(waves), on="wave")
    keys = ["project_code", "position", "wave", "wave_label"]
    if by_domain:
        if factors is None:
            raise ValueError("net_balance by domain needs the codebook's factors to know each factor's domain")
        frame = frame.merge(_factor_frame(factors)[["factor_code", "domain", "domain_order"]], on="factor_code")
        keys += ["domain_order", "domain"]
    out = frame.groupby(keys, as_index=False).agg(
        facilitator_weight=("positive_sum", "sum"), negative=("negative_sum", "sum"), n_ratings=("n", "sum")
    )
    out["barrier_weight"] = -out.negative
    out["net"] = out.facilitator_weight - out.barrier_weight
    out = out.sort_values(keys).reset_index(drop=True)
    columns = ["project_code", "wave", "wave_label", "position", *(["domain"] if by_domain else [])]
    return out[[*columns, "facilitator_weight", "barrier_weight", "net", "n_ratings"]]


def _change_class(mean_a: pd.Series, mean_b: pd.Series) -> np.ndarray:
    delta = mean_b - mean_a
    return np.select(
        [
            mean_a.isna().to_numpy(),
            mean_b.isna().to_numpy(),
            (delta >= CHANGE_THRESHOLD - _EPSILON).to_numpy(),
            (delta <= -CHANGE_THRESHOLD + _EPSILON).to_numpy(),
        ],
        ["emerged", "disappeared", "improved", "worsened"],
        default="steady",
    )


def wave_changes(
    stats: pd.DataFrame, factors: Sequence[Factor], project_code: str, wave_a: str, wave_b: str
) -> pd.DataFrame:
    """What changed for one project between two waves, biggest movements first within each change class."""
    mine = stats[stats.project_code == project_code]
    means = [
        _means(mine[mine.wave == wave], ["factor_code"]).rename(columns={"n": f"n_{side}", "mean": f"mean_{side}"})
        for side, wave in (("a", wave_a), ("b", wave_b))
    ]
    both = _factor_frame(factors).merge(means[0].merge(means[1], on="factor_code", how="outer"), on="factor_code")
    both[["n_a", "n_b"]] = both[["n_a", "n_b"]].fillna(0).astype(int)
    both["delta"] = both.mean_b - both.mean_a
    both["change"] = _change_class(both.mean_a, both.mean_b)
    both["class_order"] = both.change.map({name: n for n, name in enumerate(CHANGE_CLASSES)})
    both["size"] = both.delta.abs()
    both = both.sort_values(
        ["class_order", "size", "order"], ascending=[True, False, True], na_position="last", kind="stable"
    )
    return both[CHANGE_COLUMNS].reset_index(drop=True)


def _as_set(value: str | Iterable[str]) -> set[str]:
    return {str(value)} if isinstance(value, str) else {str(v) for v in value}


def citation_counts(
    citations: pd.DataFrame,
    projects: pd.DataFrame,
    factors: Sequence[Factor],
    setting: str | Iterable[str] | None = None,
    relation: str | Iterable[str] | None = None,
) -> pd.DataFrame:
    """How many projects cite each codebook factor: the paper's Tables 2 and 3 recomputed from the data.

    `setting` and `relation` (to statutory services) take one value or several; None or empty means all.
    """
    chosen = projects
    for column, wanted in (("setting", setting), ("relation_to_statutory", relation)):
        if wanted is not None and _as_set(wanted):
            chosen = chosen[chosen[column].isin(_as_set(wanted))]
    codes = set(chosen.project_code)
    cited = citations[citations.project_code.isin(codes)].drop_duplicates(["project_code", "factor_code"])
    return citation_table(cited.groupby("factor_code").size(), len(codes), factors)


def citation_table(per_factor: pd.Series, n_projects: int, factors: Sequence[Factor]) -> pd.DataFrame:
    """`citation_counts` from projects citing each factor (a Series by factor code) already counted."""
    out = _factor_frame(factors)
    out["projects_citing"] = out.factor_code.map(per_factor).fillna(0).astype(int)
    out["percent"] = 100.0 * out.projects_citing / n_projects if n_projects else 0.0
    out["paper_projects"] = pd.array([f.paper_projects for f in factors], dtype="Int64")
    out = out.sort_values(
        ["domain_order", "kind_order", "projects_citing", "label"], ascending=[True, True, False, True]
    )
    return out[CITATION_COLUMNS].reset_index(drop=True)


def change_matrix(stats: pd.DataFrame, wave_a: str, wave_b: str) -> pd.DataFrame:
    """Project × factor mean ratings at two waves; `diff` only where the factor was rated at both."""
    sides = [
        _means(stats[stats.wave == wave], ["project_code", "factor_code"])
        .drop(columns="n")
        .rename(columns={"mean": f"mean_{side}"})
        for side, wave in (("a", wave_a), ("b", wave_b))
    ]
    out = sides[0].merge(sides[1], on=["project_code", "factor_code"], how="outer")
    out["diff"] = out.mean_b - out.mean_a
    return out.sort_values(["project_code", "factor_code"])[MATRIX_COLUMNS].reset_index(drop=True)


def _or_empty(frame: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=columns) if frame is None else frame


def _warnings(project_code, kind: str, wave, message) -> pd.DataFrame:
    """Warnings of one kind as rows of `WARNING_COLUMNS`, from aligned columns (or one value for every row)."""
    project_code = pd.Series(project_code).reset_index(drop=True)
    frame = pd.DataFrame({"project_code": project_code, "kind": kind})
    frame["wave"] = wave if wave is None else pd.Series(wave).reset_index(drop=True)
    frame["message"] = pd.Series(message).reset_index(drop=True)
    return frame[WARNING_COLUMNS]


def _overdue_warnings(overdue: pd.DataFrame) -> pd.DataFrame:
    late = overdue[overdue.overdue > 0]
    count = late.overdue.astype(int)
    message = count.astype(str) + np.where(count == 1, " follow-up overdue", " follow-ups overdue")
    return _warnings(late.project_code, "overdue", None, message)


def _last_two(frame: pd.DataFrame, positions: dict[str, int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """For each project, its previous and its latest row in schedule order, as two frames whose rows pair up by
    position (projects with only one row are left out).

    Whole-column operations only, and the callers compare and word whole columns: at thousands of projects,
    anything done once per project in Python took a page seconds.
    """
    frame = frame[frame.wave.isin(positions)].assign(position=lambda f: f.wave.map(positions))
    last = frame.sort_values(["project_code", "position"], kind="stable").groupby("project_code", sort=False).tail(2)
    previous = last[last.duplicated("project_code", keep="last")].reset_index(drop=True)
    latest = last[last.duplicated("project_code", keep="first")].reset_index(drop=True)
    return previous, latest


def _outlook_warnings(outlook: pd.DataFrame, waves: Sequence[Wave]) -> pd.DataFrame:
    labels = {w.wave: w.label for w in waves}
    scored = outlook[outlook.value.isin(RAG_VALUES)]
    previous, latest = _last_two(scored, {w.wave: n for n, w in enumerate(waves)})
    rank = {value: n for n, value in enumerate(RAG_VALUES)}
    fell = (latest.value.map(rank) < previous.value.map(rank)).to_numpy(dtype=bool)
    before, after = previous[fell], latest[fell]
    message = (
        "Outlook fell from " + before.value.astype(str) + " (" + before.wave.map(labels).astype(str) + ") to "
        + after.value.astype(str) + " (" + after.wave.map(labels).astype(str) + ")"
    )  # fmt: skip
    return _warnings(after.project_code, "outlook_worsened", after.wave, message)


def _balance_warnings(balance: pd.DataFrame, waves: Sequence[Wave]) -> pd.DataFrame:
    """Compared on the net balance per completed interview where the frame has it (`per_interview`): a round with
    fewer interviews has a smaller sum without anything having got worse. A bare `net_balance` is compared as is."""
    labels = {w.wave: w.label for w in waves}
    measure = "net_per_interview" if "net_per_interview" in balance.columns else "net"
    rated = balance[(balance.n_ratings > 0) & balance[measure].notna()]
    # A by-domain balance is summed back to one net per project and wave.
    totals = rated.groupby(["project_code", "wave"], as_index=False)[[measure]].sum()
    previous, latest = _last_two(totals, {w.wave: n for n, w in enumerate(waves)})
    # Rounded as shown: a fall that reads "+0.5 to +0.5" is no fall.
    fell = (latest[measure].round(1) < previous[measure].round(1)).to_numpy(dtype=bool)
    before, after = previous[fell], latest[fell]
    name = "Net balance per interview" if measure == "net_per_interview" else "Net factor balance"
    digits = 1 if measure == "net_per_interview" else 0

    def shown(value: float) -> str:
        return signed(value, digits)

    message = (
        name + " fell from " + before[measure].map(shown).astype(str) + " ("
        + before.wave.map(labels).astype(str) + ") to " + after[measure].map(shown).astype(str) + " ("
        + after.wave.map(labels).astype(str) + ")"
    )  # fmt: skip
    return _warnings(after.project_code, "balance_worsened", after.wave, message)


def _missing_score_warnings(scored: pd.DataFrame, completed: pd.DataFrame, waves: Sequence[Wave]) -> pd.DataFrame:
    labels = {w.wave: w.label for w in waves}
    pairs = ["project_code", "wave"]
    rounds = completed[pairs].drop_duplicates().merge(scored[pairs].drop_duplicates(), how="left", indicator=True)
    missing = rounds[rounds._merge == "left_only"]
    wave_label = missing.wave.map(lambda w: labels.get(w, w)).astype(str)
    message = wave_label + " round is finished but no sustainability indicators were scored"
    return _warnings(missing.project_code, "missing_scores", missing.wave, message)


def early_warnings(
    overdue: pd.DataFrame | None,
    outlook: pd.DataFrame | None,
    balance: pd.DataFrame | None,
    scored: pd.DataFrame | None,
    completed_waves: pd.DataFrame | None,
    waves: Sequence[Wave],
) -> pd.DataFrame:
    """Alerts for the portfolio overview, one row each, by project then in the order of `WARNING_KINDS`.

    Any input may be None (nothing of that kind to check). `wave` is empty for overdue counts. Balances are compared
    only between finished rounds (when `completed_waves` is given): a half-done round has fewer ratings, so its sum
    is smaller without anything having got worse.
    """
    pairs = ["project_code", "wave"]
    if balance is not None and completed_waves is not None:
        balance = balance.merge(completed_waves[pairs].drop_duplicates(), on=pairs)
    found = [
        _overdue_warnings(_or_empty(overdue, ["project_code", "overdue"])),
        _outlook_warnings(_or_empty(outlook, [*pairs, "value"]), waves),
        _balance_warnings(_or_empty(balance, [*pairs, "net", "n_ratings"]), waves),
        _missing_score_warnings(_or_empty(scored, pairs), _or_empty(completed_waves, pairs), waves),
    ]
    found = [frame.astype(object) for frame in found if len(frame)]
    out = pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=WARNING_COLUMNS)
    positions = {w.wave: n for n, w in enumerate(waves)}
    out = out.assign(
        kind_order=out.kind.map({kind: n for n, kind in enumerate(WARNING_KINDS)}),
        position=out.wave.map(positions).fillna(-1),
    )
    out = out.sort_values(["project_code", "kind_order", "position"], kind="stable")
    out = out[WARNING_COLUMNS].reset_index(drop=True)
    return out.astype({"project_code": "str", "kind": "str", "message": "str"}) if len(out) else out


def _matches(frame: pd.DataFrame, column: str, chosen: Iterable[str] | None) -> pd.Series:
    """Rows whose `column` is among `chosen`; every row when nothing is chosen (an empty filter is no filter)."""
    chosen = list(chosen or [])
    return frame[column].isin(chosen) if chosen else pd.Series(True, index=frame.index)


def filter_projects(projects: pd.DataFrame, settings=None, relations=None) -> pd.DataFrame:
    keep = _matches(projects, "setting", settings) & _matches(projects, "relation_to_statutory", relations)
    return projects[keep]


def filter_evidence(evidence: pd.DataFrame, factor_labels=None, wave_labels=None, roles=None) -> pd.DataFrame:
    if not (factor_labels or wave_labels or roles):
        return evidence  # the same frame: a page converts what it draws once per frame (ui.as_arrow)
    keep = (
        _matches(evidence, "factor_label", factor_labels)
        & _matches(evidence, "wave_label", wave_labels)
        & _matches(evidence, "role", roles)
    )
    return evidence[keep]


# The statuses of a participant × wave in the schedule (`storage.wave_status`), and the columns of
# `storage.round_counts`, which counts them per project × wave. The summaries below are derived from those counts.
SCHEDULE_STATUSES = ("completed", "missed", "overdue", "due", "upcoming", "withdrawn")


def completion_per_wave(counts: pd.DataFrame) -> pd.DataFrame:
    """Per wave, how many participants are at each status (statuses nobody is at are left out), in wave order."""
    columns = ["wave", "wave_label", "position", "status", "participants"]
    if counts.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "participants" else object) for c in columns})
    waves = counts.groupby("wave", sort=False)[["wave_label", "position"]].first()
    totals = counts.groupby("wave", sort=False)[list(SCHEDULE_STATUSES)].sum()
    long = totals.stack().rename("participants").reset_index().rename(columns={"level_1": "status"})
    long = long[long.participants > 0].join(waves, on="wave")
    return long.sort_values(["position", "status"], kind="stable")[columns].reset_index(drop=True)


def overdue_per_project(counts: pd.DataFrame) -> pd.DataFrame:
    """Per project with at least one follow-up overdue: how many."""
    overdue = counts.groupby("project_code", as_index=False, sort=True)["overdue"].sum()
    return overdue[overdue.overdue > 0].reset_index(drop=True)


FINISHED_SHARE = 0.8  # the default of the study setting `finished_round_share`
PROGRESS_COLUMNS = ["wave", "wave_label", "position", "done", "expected", "share", "closed", "finished"]


def round_progress(counts: pd.DataFrame, threshold: float = FINISHED_SHARE, *, by_project: bool = False):
    """How complete each round (a wave) is, for the portfolio or (`by_project`) per project × wave.

    `done` is the interviews completed; `expected` the participants the wave concerns (everyone not withdrawn by its
    window). A round is **finished** when its window has closed for every one of them (`closed`: nobody is still due
    or upcoming) or when at least `threshold` of its interviews are done. A round nobody is expected at is neither.
    """
    keys = ["project_code", "wave"] if by_project else ["wave"]
    columns = [*keys[:-1], *PROGRESS_COLUMNS]
    if counts.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    statuses = ["completed", "missed", "overdue", "due", "upcoming"]
    out = counts.groupby(keys, as_index=False, sort=False).agg(
        wave_label=("wave_label", "first"), position=("position", "first"), **{s: (s, "sum") for s in statuses}
    )
    out["done"] = out.completed.astype(int)
    out["expected"] = out[statuses].sum(axis=1).astype(int)
    out["share"] = out.done / out.expected.where(out.expected > 0)
    out["closed"] = (out.expected > 0) & (out.due + out.upcoming == 0)
    out["finished"] = out.closed | (out.share >= threshold - _EPSILON)
    return out.sort_values([*keys[:-1], "position"], kind="stable")[columns].reset_index(drop=True)


def finished_rounds(counts: pd.DataFrame, threshold: float = FINISHED_SHARE) -> pd.DataFrame:
    """Project × wave rounds that are finished (`round_progress`) and in which someone was interviewed."""
    return finished_of(round_progress(counts, threshold, by_project=True))


def finished_of(progress: pd.DataFrame) -> pd.DataFrame:
    """`finished_rounds` from the projects' `round_progress(by_project=True)`."""
    over = progress[progress.finished.astype(bool) & (progress.done > 0)]
    return over[["project_code", "wave"]].reset_index(drop=True)


def latest_finished(progress: pd.DataFrame) -> str | None:
    """The latest wave in schedule order whose round is finished (`round_progress` of the portfolio), or None."""
    done = progress[progress.finished.astype(bool)].sort_values("position")
    return None if done.empty else str(done.wave.iloc[-1])


def progress_text(done: int, expected: int, finished: bool) -> str:
    """How a chart or table states a round's completeness: "35 of 65 done · in progress"."""
    return f"{done:,} of {expected:,} done" + ("" if finished else " · in progress")


def per_interview(balance: pd.DataFrame, interviews: pd.DataFrame) -> pd.DataFrame:
    """`net_balance` (summed to one row per project and wave) made comparable across projects of any size.

    `interviews` holds the completed interviews per project and wave (`project_code`, `wave`, `interviews`):
    - **mean rating** = (sum of all ratings) / ratings, from −2 to +2;
    - **net balance per interview** = (sum of facilitator ratings − weight of barrier ratings) / completed interviews;
    - facilitator and barrier weight per interview likewise. The raw sums stay, as counts.
    Where no interview was completed the per-interview measures are NaN.
    """
    keys = ["project_code", "wave", "wave_label", "position"]
    measures = ["facilitator_weight", "barrier_weight", "net", "n_ratings"]
    out = balance.groupby(keys, as_index=False, sort=False)[measures].sum()
    got = interviews[["project_code", "wave", "interviews"]]
    out = out.merge(got, on=["project_code", "wave"], how="left")
    out["interviews"] = out.interviews.fillna(0).astype(int)
    per = out.interviews.where(out.interviews > 0)
    out["mean_rating"] = out.net / out.n_ratings.where(out.n_ratings > 0)
    out["net_per_interview"] = out.net / per
    out["facilitators_per_interview"] = out.facilitator_weight / per
    out["barriers_per_interview"] = out.barrier_weight / per
    return out.sort_values(["project_code", "position"], kind="stable").reset_index(drop=True)


def interviews_done(counts: pd.DataFrame) -> pd.DataFrame:
    """Completed interviews per project and wave, from `storage.round_counts`."""
    return counts[["project_code", "wave"]].assign(interviews=counts.completed.astype(int))


def share_citing(trajectory: pd.DataFrame, interviews: pd.Series) -> pd.Series:
    """Share of the participants interviewed at each wave who cited the factor (`n` / interviews at the wave;
    one rating per interview and factor). NaN where nobody was interviewed."""
    per_wave = trajectory.wave.map(interviews).astype(float)
    return trajectory.n / per_wave.where(per_wave > 0)


def headline(counts: pd.DataFrame, people: dict[str, int]) -> dict[str, int]:
    """The overview's headline numbers: projects, participants and withdrawals (`people`), and from the round
    counts the interviews done, those scheduled so far, and the follow-ups overdue and due now."""
    return people | {
        "interviews_done": int(counts.completed.sum()),
        "interviews_scheduled": int(counts.scheduled.sum()),
        "overdue": int(counts.overdue.sum()),
        "due": int(counts.due.sum()),
    }


STATUS_COLUMNS = [
    "risk",
    "project_code",
    "name",
    "round_done",
    "outlook",
    "outlook_change",
    "net_per_interview",
    "net_change",
    "overdue",
    "warnings",
]
OUTLOOK_CHANGES = ("worse", "same", "better", "first score", "not scored")


def _outlook_change(before: pd.Series, after: pd.Series) -> np.ndarray:
    rank = {value: n for n, value in enumerate(RAG_VALUES)}
    b, a = before.map(rank), after.map(rank)
    return np.select(
        [a.isna().to_numpy(), b.isna().to_numpy(), (a < b).to_numpy(), (a > b).to_numpy()],
        ["not scored", "first score", "worse", "better"],
        default="same",
    )


def status_now(
    projects: pd.DataFrame,
    outlook: pd.DataFrame,
    balance: pd.DataFrame,
    progress: pd.DataFrame,
    overdue: pd.DataFrame,
    warnings: pd.DataFrame,
    waves: Sequence[Wave],
    wave: str,
) -> pd.DataFrame:
    """The funders' "status now": one row per project at round `wave` (by default the latest finished round),
    most at risk first (`status_rows`, then `by_risk`)."""
    return by_risk(status_rows(projects, outlook, balance, progress, overdue, warnings, waves, wave))


def status_rows(
    projects: pd.DataFrame,
    outlook: pd.DataFrame,
    balance: pd.DataFrame,
    progress: pd.DataFrame,
    overdue: pd.DataFrame,
    warnings: pd.DataFrame,
    waves: Sequence[Wave],
    wave: str,
) -> pd.DataFrame:
    """One row per project at round `wave`, in the order of `projects`, each from that project's records alone
    (so a page may keep them per project, `page_content.status_by_project`):

    - `outlook` (project_code, wave, value): the evaluator's red/amber/green; its change since the round before
      (`OUTLOOK_CHANGES`);
    - `balance`: `per_interview`; the net balance per completed interview at `wave` and its change since the round
      before (NaN where either round has no interview);
    - `progress`: `round_progress(by_project=True)`, for "done of expected" at `wave`;
    - `overdue`: `overdue_per_project`; `warnings`: `early_warnings` (open warnings counted per project).
    """
    codes = [w.wave for w in waves]
    before = codes[codes.index(wave) - 1] if codes.index(wave) > 0 else None
    out = projects[["project_code", "name"]].reset_index(drop=True)

    def at(frame: pd.DataFrame, column: str, which: str | None) -> pd.Series:
        if which is None:
            return pd.Series(np.nan, index=out.index, dtype=object)
        rows = frame[frame.wave == which].drop_duplicates("project_code").set_index("project_code")[column]
        return out.project_code.map(rows)

    outlook = outlook[outlook.value.isin(RAG_VALUES)]
    out["outlook"] = at(outlook, "value", wave)
    out["outlook_change"] = _outlook_change(at(outlook, "value", before), out.outlook)
    net_now = at(balance, "net_per_interview", wave).astype(float)
    out["net_per_interview"] = net_now
    out["net_change"] = net_now - at(balance, "net_per_interview", before).astype(float)
    done, expected = at(progress, "done", wave), at(progress, "expected", wave)
    out["round_done"] = ["—" if pd.isna(e) else f"{int(d)} of {int(e)}" for d, e in zip(done, expected, strict=True)]
    out["overdue"] = out.project_code.map(overdue.set_index("project_code").overdue).fillna(0).astype(int)
    out["warnings"] = out.project_code.map(warnings.groupby("project_code").size()).fillna(0).astype(int)
    return out[STATUS_COLUMNS[1:]]


def by_risk(rows: pd.DataFrame) -> pd.DataFrame:
    """`status_rows` most at risk first. Risk order: red, amber, green, not scored; within each, an outlook that
    got worse, then the larger fall in net balance per interview, then the more follow-ups overdue; then by code.
    `risk` is that rank, 1 = most at risk."""
    rank = {value: n for n, value in enumerate(RAG_VALUES)}
    keys = pd.DataFrame(
        {
            "outlook": rows.outlook.map(rank).fillna(len(rank)),
            "worse": (rows.outlook_change != "worse").astype(int),
            "net_change": rows.net_change.fillna(0).round(1),
            "overdue": -rows.overdue,
            "code": rows.project_code,
        }
    )
    order = keys.sort_values(list(keys.columns), kind="stable").index
    out = rows.loc[order].reset_index(drop=True)
    out.insert(0, "risk", range(1, len(out) + 1))
    return out[STATUS_COLUMNS]
