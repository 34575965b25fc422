import datetime as dt

import pytest

from innovation_tracker.domain.codebook import load_codebook, load_indicators
from innovation_tracker.domain.model import (
    Factor,
    FactorKind,
    Role,
    Study,
    check_duration,
    check_interview_date,
    check_rating,
    indicator_score,
    normalise_indicator_value,
    parse_enum,
)

BARRIER = Factor("ctx_instability", "context", FactorKind.BARRIER, "Instability")
FACILITATOR = Factor("ctx_team_expertise", "context", FactorKind.FACILITATOR, "Team expertise")
EITHER = Factor("cfir_tension", "inner_setting", FactorKind.EITHER, "Tension for change")
STUDY = Study("S", dt.date(2025, 1, 1), dt.date(2026, 3, 31))
D = dt.date


@pytest.mark.parametrize(
    "factor, rating", [(BARRIER, -2), (BARRIER, -1), (FACILITATOR, 1), (FACILITATOR, 2), (EITHER, -2), (EITHER, 2)]
)
def test_ratings_that_agree_with_the_factor_kind_pass(factor, rating):
    assert check_rating(rating, factor, factor.factor_code) == []


@pytest.mark.parametrize(
    "factor, rating, rule, message",
    [
        (BARRIER, 1, "rating_sign", "'Instability' is a barrier, so its rating must be negative (−1 or −2), not +1"),
        (BARRIER, 2, "rating_sign", "'Instability' is a barrier, so its rating must be negative (−1 or −2), not +2"),
        (
            FACILITATOR,
            -1,
            "rating_sign",
            "'Team expertise' is a facilitator, so its rating must be positive (+1 or +2), not -1",
        ),
        (FACILITATOR, 0, "rating_range", "rating 0 must be −2, −1, +1 or +2 (absent factors get no rating, not 0)"),
        (EITHER, 3, "rating_range", "rating 3 must be −2, −1, +1 or +2 (absent factors get no rating, not 0)"),
        (EITHER, "1.5", "rating_range", "rating '1.5' must be a whole number −2, −1, +1 or +2"),
        (None, 1, "unknown_factor", "factor 'nope' is not in the study's codebook"),
    ],
)
def test_ratings_that_break_a_rule_say_which(factor, rating, rule, message):
    [problem] = check_rating(rating, factor, "nope", row=7)
    assert (problem.rule, problem.message, problem.row) == (rule, message, 7)


ENROLMENT, TODAY = D(2025, 2, 1), D(2025, 12, 1)


def check(date, enrolment=ENROLMENT, withdrawal=None, today=TODAY):
    return check_interview_date(date, today=today, enrolment_date=enrolment, withdrawal_date=withdrawal, study=STUDY)


@pytest.mark.parametrize(
    "date, kwargs, rule, message",
    [
        (D(2025, 12, 2), {}, "future_date", "interview date 2025-12-02 is in the future (today is 2025-12-01)"),
        (
            D(2025, 1, 31),
            {},
            "before_enrolment",
            "interview date 2025-01-31 is before the participant's enrolment on 2025-02-01",
        ),
        (
            D(2025, 6, 2),
            {"withdrawal": D(2025, 6, 1)},
            "after_withdrawal",
            "interview date 2025-06-02 is after the participant withdrew on 2025-06-01",
        ),
        (
            D(2024, 12, 31),
            {"enrolment": D(2024, 12, 1)},
            "before_study",
            "interview date 2024-12-31 is before the study started on 2025-01-01",
        ),
        (
            D(2026, 4, 1),
            {"today": D(2026, 5, 1)},
            "after_study",
            "interview date 2026-04-01 is after the study window closed on 2026-03-31",
        ),
    ],
)
def test_interview_dates_that_break_a_rule_are_refused(date, kwargs, rule, message):
    [problem] = check(date, **kwargs)
    assert (problem.rule, problem.field, problem.message) == (rule, "interview_date", message)


@pytest.mark.parametrize(
    "date, kwargs",
    [
        (D(2025, 12, 1), {}),  # today itself
        (D(2025, 2, 1), {}),  # the enrolment day
        (D(2025, 6, 1), {"withdrawal": D(2025, 6, 1)}),  # the withdrawal day
        (D(2026, 3, 31), {"today": D(2026, 5, 1)}),  # the study's last day
    ],
)
def test_interview_dates_on_the_boundaries_are_accepted(date, kwargs):
    assert check(date, **kwargs) == []


@pytest.mark.parametrize(
    "code, value, expected",
    [
        ("funding_beyond_grant", "3", "3"),
        ("funding_beyond_grant", "0", "0"),
        ("funding_beyond_grant", "2.0", "2"),
        ("champion_in_post", "Yes", "yes"),
        ("champion_in_post", "false", "no"),
        ("outlook", "GREEN", "green"),
        ("service_users_engaged", "140", "140"),
    ],
)
def test_indicator_values_are_normalised(code, value, expected):
    indicator = {i.indicator_code: i for i in load_indicators()}[code]
    assert normalise_indicator_value(indicator, value) == (expected, [])


@pytest.mark.parametrize(
    "code, value, message",
    [
        ("funding_beyond_grant", "4", "funding_beyond_grant must be 0–3, not 4"),
        ("embedded_in_host", "0", "embedded_in_host must be 1–5, not 0"),
        ("service_users_engaged", "-1", "service_users_engaged must be at least 0, not -1"),
        ("champion_in_post", "maybe", "champion_in_post takes yes or no, not 'maybe'"),
        ("outlook", "blue", "outlook takes red, amber or green, not 'blue'"),
        ("host_stability", "2.5", "host_stability takes a whole number, not '2.5'"),
    ],
)
def test_bad_indicator_values_say_what_is_allowed(code, value, message):
    indicator = {i.indicator_code: i for i in load_indicators()}[code]
    value_out, [problem] = normalise_indicator_value(indicator, value, row=3)
    assert value_out is None and problem.message == message and problem.row == 3


def test_indicator_scores_order_outlook_and_booleans():
    by_code = {i.indicator_code: i for i in load_indicators()}
    assert [indicator_score(by_code["outlook"], v) for v in ("red", "amber", "green")] == [1.0, 2.0, 3.0]
    assert indicator_score(by_code["champion_in_post"], "yes") == 1.0


@pytest.mark.parametrize(
    "text, expected",
    [("service_user", Role.SERVICE_USER), ("Service user", Role.SERVICE_USER), ("MANAGER", Role.MANAGER)],
)
def test_enums_accept_codes_and_labels(text, expected):
    assert parse_enum(Role, text, "role") == (expected, [])


def test_unknown_enum_values_list_the_allowed_ones():
    _, [problem] = parse_enum(Role, "friend", "role", row=4)
    assert problem.message == (
        "'friend' is not one of: service_user, caregiver, commissioner, health_professional, "
        "non_health_professional, manager"
    )


@pytest.mark.parametrize(
    "text, expected, rule",
    [("45", 45, None), ("", None, None), ("0", None, "duration"), ("601", None, "duration"), ("ten", None, "duration")],
)
def test_durations(text, expected, rule):
    minutes, problems = check_duration(text)
    assert minutes == expected and [p.rule for p in problems] == ([rule] if rule else [])


def test_the_default_codebook_is_the_papers_model():
    factors = load_codebook()
    assert len(factors) == 47
    assert {f.domain for f in factors} == {"context", "process_outcome"}
    by_code = {f.factor_code: f for f in factors}
    assert by_code["po_champion_action"].paper_projects == 11
    assert by_code["ctx_instability"].kind == FactorKind.BARRIER
    assert by_code["po_social_interaction"].paper_projects is None
