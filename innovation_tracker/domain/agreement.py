"""Agreement between two coders of the same interviews: the statistics an evaluation team reports to defend its
coding. Pure functions over paired codes; double coding itself (a second, blind coder) builds on these.

A *unit* is one factor of the codebook in one double-coded interview. Each coder either cited the factor (gave it a
rating) or did not. Three measures, each with its n:

- **percent agreement**: the share of units on which the two coders agree (cited or not; and, where both cited,
  on the rating);
- **Cohen's kappa** on whether the factor was cited: agreement beyond what the coders' own citing rates would give
  by chance, (p_o − p_e) / (1 − p_e);
- **Krippendorff's alpha (ordinal)** on the rating, over the units at least one coder rated (a unit rated by one
  coder only carries no pairable value and drops out, as alpha allows): 1 − D_o / D_e with the ordinal distance
  built from the ratings' marginal frequencies (Krippendorff 2011, "Computing Krippendorff's alpha-reliability").

A measure that chance alone would make perfect (every unit in one category) is undefined and given as NaN.

CFIR's X (mixed; stored as rating 0 with a `mixed` flag) counts as cited, and as a code of its own for percent
agreement (X against X agrees, X against 0 does not). It is no point on the ordinal scale, so alpha leaves out every
unit where either coder rated X (`n_rated_by_both` counts the units alpha is over).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from innovation_tracker.domain.model import MIXED_CODE


def percent_agreement(first: Sequence | np.ndarray, second: Sequence | np.ndarray) -> float:
    """Share of units with equal codes; NaN (missing) counts as a code of its own, "not cited"."""
    a, b = _pair(first, second)
    if len(a) == 0:
        return math.nan
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    return float(same.mean())


def cohen_kappa(first: Sequence, second: Sequence) -> float:
    """Cohen's kappa for two coders' nominal codes of the same units (no missing codes)."""
    a, b = _pair(first, second)
    if len(a) == 0 or np.isnan(a).any() or np.isnan(b).any():
        raise ValueError("Cohen's kappa needs a code from both coders for every unit")
    categories = np.union1d(a, b)
    observed = float((a == b).mean())
    expected = float(sum((a == c).mean() * (b == c).mean() for c in categories))
    return math.nan if expected == 1 else (observed - expected) / (1 - expected)


def krippendorff_alpha_ordinal(first: Sequence | np.ndarray, second: Sequence | np.ndarray) -> float:
    """Krippendorff's alpha with the ordinal metric for two coders; NaN marks a unit a coder did not code."""
    a, b = _pair(first, second)
    both = ~np.isnan(a) & ~np.isnan(b)
    return _ordinal_alpha(a[both], b[both], np.ones(int(both.sum())))


def _ordinal_alpha(a: np.ndarray, b: np.ndarray, weights: np.ndarray) -> float:
    """Alpha over pairable units given as value pairs (a, b), each standing for `weights` units."""
    return float(_ordinal_alphas(np.zeros(len(a), dtype=np.int64), 1, a, b, weights)[0])


def _ordinal_alphas(group: np.ndarray, n_groups: int, a: np.ndarray, b: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Krippendorff's ordinal alpha of every group at once, from pairable units (a, b) of group `group` (0 …
    n_groups − 1), each standing for `weights` units; NaN where chance alone would agree. Every group's coincidence
    matrix is built over the values seen in any
    group: a value a group never has adds nothing to its ordinal distances (its marginal is 0), so each alpha is
    the one its own values give. Looping over 11,000 projects took a second; this takes milliseconds."""
    values = np.union1d(a, b)
    if len(values) < 2:
        return np.full(n_groups, np.nan)
    first, second = np.searchsorted(values, a), np.searchsorted(values, b)
    coincidences = np.zeros((n_groups, len(values), len(values)))
    np.add.at(coincidences, (group, first, second), weights)
    np.add.at(coincidences, (group, second, first), weights)
    marginals = coincidences.sum(axis=2)
    total = marginals.sum(axis=1)
    cumulative = np.concatenate([np.zeros((n_groups, 1)), np.cumsum(marginals, axis=1)], axis=1)
    index = np.arange(len(values))
    low, high = np.minimum.outer(index, index), np.maximum.outer(index, index)
    between = cumulative[:, high + 1] - cumulative[:, low]
    distance = (between - (marginals[:, :, None] + marginals[:, None, :]) / 2) ** 2
    observed = (coincidences * distance).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = (marginals[:, :, None] * marginals[:, None, :] * distance).sum(axis=(1, 2)) / (total - 1)
        return np.where(expected == 0, np.nan, 1 - observed / expected)


def _codes(rating: np.ndarray, mixed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ratings with their X flags as the statistics take them (`domain.agreement_value`): nominal codes (X a code
    of its own, NaN not cited) and ordinal values (X and not cited both NaN)."""
    return np.where(mixed, MIXED_CODE, rating), np.where(mixed, np.nan, rating)


def _flags(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[column].astype("boolean").fillna(False).to_numpy(dtype=bool)


def _pair(first: Sequence | np.ndarray, second: Sequence | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(pd.to_numeric(pd.Series(first, dtype="object"), errors="coerce"), dtype=float)
    b = np.asarray(pd.to_numeric(pd.Series(second, dtype="object"), errors="coerce"), dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"the coders coded different numbers of units ({len(a)} and {len(b)})")
    return a, b


def agreement(pairs: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Per group of `by` (the whole table when empty), from one row per unit with columns `rating_1` and
    `rating_2` (NaN where that coder did not cite the factor), and optionally `mixed_1`, `mixed_2` (the rating is
    X): n units, percent agreement, Cohen's kappa on citing, the n of units rated by both on the scale (neither X),
    and Krippendorff's alpha (ordinal) on the rating."""
    groups = pairs.groupby(list(by), sort=True) if by else [((), pairs)]
    rows = []
    for key, group in groups:
        nominal_1, ordinal_1 = _codes(group.rating_1.to_numpy(dtype=float), _flags(group, "mixed_1"))
        nominal_2, ordinal_2 = _codes(group.rating_2.to_numpy(dtype=float), _flags(group, "mixed_2"))
        cited_1, cited_2 = (~np.isnan(nominal_1)).astype(float), (~np.isnan(nominal_2)).astype(float)
        both = ~np.isnan(ordinal_1) & ~np.isnan(ordinal_2)
        rows.append(
            {
                **dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True)),
                "n_units": len(group),
                "percent_agreement": percent_agreement(nominal_1, nominal_2),
                "kappa_cited": cohen_kappa(cited_1, cited_2),
                "n_rated_by_both": int(both.sum()),
                "alpha_rating": krippendorff_alpha_ordinal(ordinal_1, ordinal_2),
            }
        )
    return pd.DataFrame(rows)


def agreement_from_counts(counts: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """`agreement` from counts aggregated in SQL (`storage.agreement_counts`): one row per group of `by` and pair of
    codes (`rating_1`, `rating_2`, NaN where that coder did not cite the factor; optionally `mixed_1`, `mixed_2`,
    the rating is X) with the number of `units` that had them, and optionally the group's `n_interviews`. The same
    statistics as `agreement` on the units spelled out, without bringing every unit out of the database; vectorised
    over groups (11,000 projects at S = 1000), alpha's coincidences too (`_ordinal_alphas`)."""
    columns = ["n_units", "percent_agreement", "kappa_cited", "n_rated_by_both", "alpha_rating"]
    if counts.empty:
        return pd.DataFrame(columns=[*by, "n_interviews", *columns])
    first, ordinal_1 = _codes(counts.rating_1.to_numpy(dtype=float), _flags(counts, "mixed_1"))
    second, ordinal_2 = _codes(counts.rating_2.to_numpy(dtype=float), _flags(counts, "mixed_2"))
    units = counts.units.to_numpy(dtype=float)
    cited_1, cited_2 = ~np.isnan(first), ~np.isnan(second)
    both = ~np.isnan(ordinal_1) & ~np.isnan(ordinal_2)  # alpha's units: rated by both, neither X
    frame = pd.DataFrame(
        {
            "group": counts.groupby(list(by), sort=True).ngroup().to_numpy() if by else np.zeros(len(counts), int),
            "n": units,
            "same": units * ((first == second) | (~cited_1 & ~cited_2)),
            "same_citing": units * (cited_1 == cited_2),
            "cited_1": units * cited_1,
            "cited_2": units * cited_2,
            "both": units * both,
        }
    )
    sums = frame.groupby("group", sort=True).sum()
    n = sums.n.to_numpy()
    p1, p2 = sums.cited_1.to_numpy() / n, sums.cited_2.to_numpy() / n
    expected = p1 * p2 + (1 - p1) * (1 - p2)
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(expected == 1, np.nan, (sums.same_citing.to_numpy() / n - expected) / (1 - expected))
    alpha = _ordinal_alphas(frame.group.to_numpy()[both], len(sums), ordinal_1[both], ordinal_2[both], units[both])
    keys = counts.assign(_group=frame.group.to_numpy()).drop_duplicates("_group").sort_values("_group")
    result = pd.DataFrame({column: keys[column].to_numpy() for column in by})
    if "n_interviews" in counts:
        result["n_interviews"] = counts.groupby(frame.group.to_numpy()).n_interviews.max().to_numpy().astype(int)
    else:
        result["n_interviews"] = None
    result["n_units"] = n.astype(int)
    result["percent_agreement"] = sums.same.to_numpy() / n
    result["kappa_cited"] = kappa.astype(float)
    result["n_rated_by_both"] = sums.both.to_numpy().astype(int)
    result["alpha_rating"] = np.array(alpha, dtype=float)
    return result
