"""Agreement statistics against a worked example computed by hand and against established implementations used
as oracles (scikit-learn's `cohen_kappa_score`, the `krippendorff` package), to 1e-9."""

import math

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from innovation_tracker.domain.agreement import (
    agreement,
    cohen_kappa,
    krippendorff_alpha_ordinal,
    percent_agreement,
)

NAN = math.nan
RATINGS = [-2, -1, 1, 2]

# Ten units (factor × interview). Coder 1 cites six factors, coder 2 six; they agree on citing for eight units,
# and on five units both gave a rating: (1, 2), (−1, −1), (−2, −1), (1, 1), (2, 2).
FIRST = [1, 1, NAN, NAN, -1, NAN, -2, 1, NAN, 2]
SECOND = [2, NAN, NAN, NAN, -1, NAN, -1, 1, 1, 2]
FIRST_PAIRED = [2, 1, -1, -2, 1]
SECOND_PAIRED = [2, 2, -1, -1, 1]


def test_the_worked_example_by_hand():
    cited_1 = [0 if math.isnan(x) else 1 for x in FIRST]
    cited_2 = [0 if math.isnan(x) else 1 for x in SECOND]
    # p_o = 8/10; p_e = 0.6 × 0.6 + 0.4 × 0.4 = 0.52; kappa = 0.28 / 0.48
    assert cohen_kappa(cited_1, cited_2) == pytest.approx(7 / 12, abs=1e-12)
    # Coincidences over the pairable units give marginals n(−2) = 1, n(−1) = 3, n(1) = 3, n(2) = 3 (n = 10);
    # ordinal δ²: (1, 2) = (6 − 3)² = 9 and (−2, −1) = (4 − 2)² = 4, so Σ o·δ² = 2·9 + 2·4 = 26; over all pairs
    # Σ n_c·n_k·δ² = 1530, so D_e ∝ 1530 / 9 = 170 and alpha = 1 − 26 / 170 = 72 / 85.
    assert krippendorff_alpha_ordinal(FIRST, SECOND) == pytest.approx(72 / 85, abs=1e-12)
    assert krippendorff_alpha_ordinal(FIRST_PAIRED, SECOND_PAIRED) == pytest.approx(72 / 85, abs=1e-12)
    # Equal codes, "not cited" included: units 3, 4, 5, 6, 8 and 10.
    assert percent_agreement(FIRST, SECOND) == pytest.approx(0.6)


def test_the_worked_example_against_the_oracles():
    cited_1 = [0 if math.isnan(x) else 1 for x in FIRST]
    cited_2 = [0 if math.isnan(x) else 1 for x in SECOND]
    assert cohen_kappa(cited_1, cited_2) == pytest.approx(cohen_kappa_score(cited_1, cited_2), abs=1e-9)
    oracle = krippendorff.alpha(reliability_data=[FIRST, SECOND], level_of_measurement="ordinal")
    assert krippendorff_alpha_ordinal(FIRST, SECOND) == pytest.approx(oracle, abs=1e-9)


units = st.integers(min_value=2, max_value=60)


@st.composite
def coded_pairs(draw):
    n = draw(units)
    codes = st.sampled_from([*RATINGS, NAN])
    first = draw(st.lists(codes, min_size=n, max_size=n))
    second = draw(st.lists(codes, min_size=n, max_size=n))
    return first, second


@settings(max_examples=300, deadline=None)
@given(coded_pairs())
def test_kappa_on_citing_matches_scikit_learn(pair):
    cited_1 = [0 if math.isnan(x) else 1 for x in pair[0]]
    cited_2 = [0 if math.isnan(x) else 1 for x in pair[1]]
    ours = cohen_kappa(cited_1, cited_2)
    if len(set(cited_1) | set(cited_2)) < 2:  # one category only: chance agreement is perfect, kappa undefined
        assert math.isnan(ours)
        return
    assert ours == pytest.approx(cohen_kappa_score(cited_1, cited_2), abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(coded_pairs())
def test_ordinal_alpha_matches_the_krippendorff_package(pair):
    first, second = pair
    ours = krippendorff_alpha_ordinal(first, second)
    both = [(a, b) for a, b in zip(first, second, strict=True) if not (math.isnan(a) or math.isnan(b))]
    if len({v for p in both for v in p}) < 2:  # fewer than two values to disagree about: alpha is undefined
        assert math.isnan(ours)
        return
    oracle = krippendorff.alpha(reliability_data=[first, second], level_of_measurement="ordinal")
    assert ours == pytest.approx(oracle, abs=1e-9)


def test_kappa_needs_both_codes_and_the_same_units():
    with pytest.raises(ValueError, match="both coders"):
        cohen_kappa([1, NAN], [1, 0])
    with pytest.raises(ValueError, match="different numbers of units"):
        percent_agreement([1, 0], [1])


def test_agreement_per_group_has_each_measure_with_its_n():
    pairs = pd.DataFrame(
        {
            "project_code": ["A"] * 10 + ["B"] * 5,
            "rating_1": FIRST + FIRST_PAIRED,
            "rating_2": SECOND + SECOND_PAIRED,
        }
    )
    table = agreement(pairs, ["project_code"])
    assert list(table.project_code) == ["A", "B"]
    assert list(table.n_units) == [10, 5] and list(table.n_rated_by_both) == [5, 5]
    assert table.alpha_rating.tolist() == pytest.approx([72 / 85, 72 / 85])
    assert table.kappa_cited.iloc[0] == pytest.approx(7 / 12) and math.isnan(table.kappa_cited.iloc[1])
    overall = agreement(pairs)
    assert overall.n_units.iloc[0] == 15
    oracle = krippendorff.alpha(
        reliability_data=[FIRST + FIRST_PAIRED, SECOND + SECOND_PAIRED], level_of_measurement="ordinal"
    )
    assert overall.alpha_rating.iloc[0] == pytest.approx(oracle, abs=1e-9)
    assert overall.percent_agreement.iloc[0] == pytest.approx((6 + 3) / 15)
    assert np.isfinite(overall.kappa_cited.iloc[0])
