"""The demo study (DESIGN §6) checked on its frames: shape, domain rules, trajectories and the paper's counts."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pandas as pd
import pytest

from innovation_tracker.domain import codebook
from innovation_tracker.domain.model import (
    DEFAULT_WAVES,
    FactorKind,
    InterviewStatus,
    MilestoneKind,
    Mode,
    Novelty,
    ParticipantStatus,
    ProjectStatus,
    Relation,
    Role,
    Setting,
    Study,
    check_interview_date,
    normalise_indicator_value,
)
from innovation_tracker.domain.schedule import DueStatus, participant_schedule
from innovation_tracker.formats import importer, tidy
from innovation_tracker.formats.demo import demo_tables

TODAY = dt.date(2025, 6, 1)
OTHER_TODAY = dt.date(2026, 2, 14)
POSITION = {w.wave: n for n, w in enumerate(DEFAULT_WAVES)}
WAVES = {w.wave: w for w in DEFAULT_WAVES}
FACTORS = codebook.load_codebook()
KIND = {f.factor_code: f.kind for f in FACTORS}
INDICATORS = {i.indicator_code: i for i in codebook.load_indicators()}
RESISTANCE = ("po_frontline_resistance", "po_service_user_resistance", "po_low_expectations")


@pytest.fixture(scope="module")
def demo() -> dict[str, pd.DataFrame]:
    return demo_tables(TODAY)


@pytest.fixture(scope="module")
def schedules(demo) -> dict[str, list]:
    study = demo["study"].iloc[0]
    interviews = demo["interviews"]
    out = {}
    for person in demo["participants"].itertuples():
        mine = interviews[interviews.participant_code == person.participant_code]
        out[person.participant_code] = participant_schedule(
            DEFAULT_WAVES,
            enrolment_date=person.enrolment_date,
            interviews={i.wave: (i.status, i.interview_date) for i in mine.itertuples()},
            withdrawal_date=person.withdrawal_date,
            study_end=study.end_date,
            today=TODAY,
        )
    return out


def completed(demo) -> pd.DataFrame:
    interviews = demo["interviews"]
    return interviews[interviews.status == InterviewStatus.COMPLETED]


def latest_completed_wave(demo, project: str) -> str:
    mine = completed(demo)
    return max(mine[mine.project_code == project].wave, key=POSITION.get)


def ratings_at(demo, project: str, wave: str) -> pd.DataFrame:
    ratings = demo["factor_ratings"]
    return ratings[(ratings.project_code == project) & (ratings.wave == wave)]


def indicator_path(demo, project: str, indicator: str) -> list[str]:
    """The indicator's values over the scored waves, in schedule order."""
    values = demo["sustainability"]
    mine = values[(values.project_code == project) & (values.indicator_code == indicator)]
    return [v for _, v in sorted(zip(mine.wave.map(POSITION), mine.value, strict=True))]


def projects_with(demo, column: str, value: str) -> list[str]:
    projects = demo["projects"]
    return list(projects.project_code[projects[column] == value])


def test_every_table_has_the_contract_columns_in_order(demo):
    assert list(demo) == list(tidy.TABLES)
    for table, frame in demo.items():
        assert list(frame.columns) == tidy.columns(table), table


def test_dates_are_dates_and_text_is_text(demo):
    for table, frame in demo.items():
        for column in frame.columns:
            values = [v for v in frame[column] if v is not None]
            if column in tidy.DATE_COLUMNS:
                assert all(type(v) is dt.date for v in values), (table, column)
            elif frame[column].dtype == object:
                assert all(isinstance(v, str) for v in values), (table, column)
            else:
                assert frame[column].dtype in ("Int64", "bool"), (table, column)


def test_study_is_labelled_synthetic_and_spans_every_participants_year(demo):
    study = demo["study"].iloc[0]
    assert len(demo["study"]) == 1
    assert study["name"] == "Demo evaluation — synthetic data"
    assert study.funder == "Demo Innovation Fund (synthetic)"
    assert bool(study.is_demo) is True
    assert study.start_date == TODAY - dt.timedelta(days=300)
    assert study.end_date == study.start_date + dt.timedelta(days=460)


def test_schedule_codebook_and_indicators_are_the_defaults(demo):
    waves = demo["waves"]
    assert list(waves.wave) == [w.wave for w in DEFAULT_WAVES]
    assert list(waves.offset_days) == [w.offset_days for w in DEFAULT_WAVES]
    assert list(waves.default_mode) == [w.default_mode.value for w in DEFAULT_WAVES]
    book = demo["codebook"]
    assert list(book.factor_code) == [f.factor_code for f in FACTORS]
    assert list(book.kind) == [f.kind.value for f in FACTORS]
    assert [None if pd.isna(v) else int(v) for v in book.paper_projects] == [f.paper_projects for f in FACTORS]
    assert list(demo["indicators"].indicator_code) == list(INDICATORS)


def test_portfolio_counts(demo):
    projects, people = demo["projects"], demo["participants"]
    assert len(projects) == 11
    assert len(people) == 65
    assert set(people.role) == {r.value for r in Role}
    assert set(projects.setting) == {s.value for s in Setting}
    assert set(projects.relation_to_statutory) == {r.value for r in Relation}
    assert set(people.project_code) == set(projects.project_code)


def test_every_project_has_a_service_user_and_a_manager(demo):
    roles = demo["participants"].groupby("project_code").role.agg(set)
    for project, present in roles.items():
        assert {Role.SERVICE_USER.value, Role.MANAGER.value} <= present, project


def test_codes_are_pseudonymous(demo):
    projects, people = demo["projects"], demo["participants"]
    assert projects.project_code.is_unique and people.participant_code.is_unique
    assert all(re.fullmatch(r"[A-Z]{3,5}", code) for code in projects.project_code)
    for person in people.itertuples():
        assert re.fullmatch(rf"{person.project_code}-\d\d", person.participant_code)


@pytest.mark.parametrize(
    ("table", "column", "enum"),
    [
        ("projects", "setting", Setting),
        ("projects", "relation_to_statutory", Relation),
        ("projects", "novelty", Novelty),
        ("projects", "status", ProjectStatus),
        ("participants", "role", Role),
        ("participants", "status", ParticipantStatus),
        ("interviews", "mode", Mode),
        ("interviews", "status", InterviewStatus),
        ("factor_ratings", "kind", FactorKind),
        ("milestones", "kind", MilestoneKind),
    ],
)
def test_enumerated_columns_hold_only_allowed_values(demo, table, column, enum):
    assert set(demo[table][column]) <= {m.value for m in enum}


def test_projects_started_before_the_study_with_host_and_type(demo):
    start = demo["study"].start_date.iloc[0]
    for project in demo["projects"].itertuples():
        assert project.start_date < start
        assert project.host_organisation and project.innovation_type and project.name


def test_participants_enrolled_in_the_first_sixty_days(demo):
    start = demo["study"].start_date.iloc[0]
    for person in demo["participants"].itertuples():
        assert 0 <= (person.enrolment_date - start).days < 60
        assert person.consent_date <= person.enrolment_date


def test_interview_dates_obey_the_domain_rules(demo):
    row = demo["study"].iloc[0]
    study = Study(row["name"], row.start_date, row.end_date, row.funder, bool(row.is_demo))
    people = demo["participants"].set_index("participant_code")
    for interview in demo["interviews"].itertuples():
        person = people.loc[interview.participant_code]
        problems = check_interview_date(
            interview.interview_date,
            today=TODAY,
            enrolment_date=person.enrolment_date,
            withdrawal_date=person.withdrawal_date,
            study=study,
        )
        assert problems == [], interview


def test_one_interview_per_participant_and_wave(demo):
    interviews = demo["interviews"]
    assert not interviews.duplicated(["participant_code", "wave"]).any()
    owner = demo["participants"].set_index("participant_code").project_code
    assert (interviews.participant_code.map(owner) == interviews.project_code).all()


def test_interview_ids_count_from_one_in_date_participant_wave_order(demo):
    interviews = demo["interviews"]
    keys = zip(
        interviews.interview_date,
        interviews.participant_code,
        interviews.wave.map(POSITION),
        interviews.interview_id,
        strict=True,
    )
    order = sorted(keys)
    assert [row[3] for row in order] == list(range(1, len(interviews) + 1))


def test_baselines_face_to_face_within_thirty_days_of_enrolment(demo):
    interviews = demo["interviews"]
    baselines = interviews[interviews.wave == "baseline"].merge(demo["participants"], on="participant_code")
    assert len(baselines) == 65
    assert (baselines.status_x == InterviewStatus.COMPLETED).all()
    assert (baselines["mode"] == Mode.FACE_TO_FACE).all()
    lags = [(b.interview_date - b.enrolment_date).days for b in baselines.itertuples()]
    assert min(lags) >= 0 and max(lags) <= 30


def test_follow_ups_by_telephone_with_an_occasional_video_call(demo):
    follow_ups = demo["interviews"][lambda f: f.wave != "baseline"]
    modes = Counter(follow_ups["mode"])
    assert set(modes) == {Mode.TELEPHONE.value, Mode.VIDEO.value}
    assert modes[Mode.VIDEO.value] < modes[Mode.TELEPHONE.value] / 5


def test_follow_ups_mostly_inside_their_window(schedules):
    outside = [due.days_outside for rows in schedules.values() for due in rows if due.interview_date is not None]
    late_or_early = [days for days in outside if days != 0]
    assert 1 <= len(late_or_early) <= len(outside) // 10
    assert all(abs(days) <= 7 for days in late_or_early)


def test_exactly_one_withdrawal_with_nothing_after_it(demo):
    people = demo["participants"]
    withdrawn = people[people.status == ParticipantStatus.WITHDRAWN]
    assert len(withdrawn) == 1
    assert people.withdrawal_date.notna().sum() == 1
    person = withdrawn.iloc[0]
    assert person.enrolment_date <= person.withdrawal_date <= TODAY
    mine = demo["interviews"][lambda f: f.participant_code == person.participant_code]
    assert len(mine) >= 1 and (mine.interview_date <= person.withdrawal_date).all()


def test_fieldwork_has_missed_calls_and_one_refusal(demo):
    interviews = demo["interviews"]
    statuses = Counter(interviews.status)
    assert statuses[InterviewStatus.MISSED.value] >= 1
    assert statuses[InterviewStatus.DECLINED.value] == 1
    gaps = interviews[interviews.status != InterviewStatus.COMPLETED]
    assert gaps.duration_min.isna().all()
    assert (gaps.wave != "baseline").all()


def test_today_falls_about_nine_months_in(schedules):
    by_wave = Counter((due.wave, due.status) for rows in schedules.values() for due in rows)
    assert by_wave["baseline", DueStatus.COMPLETED] == 65
    for wave in ("month_3", "month_6"):
        assert by_wave[wave, DueStatus.COMPLETED] >= 58
        assert by_wave[wave, DueStatus.DUE] == by_wave[wave, DueStatus.UPCOMING] == 0
    assert by_wave["month_9", DueStatus.COMPLETED] >= 10
    assert by_wave["month_9", DueStatus.DUE] >= 10
    assert 1 <= by_wave["month_9", DueStatus.OVERDUE] <= 4
    assert by_wave["month_12", DueStatus.COMPLETED] == 0


def test_schedules_at_today_show_every_status(schedules):
    assert len(schedules) == 65
    statuses = {due.status for rows in schedules.values() for due in rows}
    assert statuses == set(DueStatus)


def test_ratings_are_signed_by_the_factors_kind(demo):
    ratings = demo["factor_ratings"]
    assert set(ratings.rating) == {-2, -1, 1, 2}
    for row in ratings.itertuples():
        if KIND[row.factor_code] == FactorKind.BARRIER:
            assert row.rating < 0, row
        elif KIND[row.factor_code] == FactorKind.FACILITATOR:
            assert row.rating > 0, row


def test_every_completed_interview_is_coded(demo):
    assert set(completed(demo).interview_id) == set(demo["factor_ratings"].interview_id)


def test_ratings_match_their_interview_and_the_codebook(demo):
    ratings = demo["factor_ratings"]
    assert not ratings.duplicated(["interview_id", "factor_code"]).any()
    keys = ["interview_id", "project_code", "participant_code", "wave"]
    joined = ratings.merge(completed(demo)[keys], on=keys, how="left", indicator=True)
    assert (joined._merge == "both").all()
    joined = ratings.merge(
        demo["codebook"][["factor_code", "domain", "kind"]], on="factor_code", how="left", suffixes=("", "_book")
    )
    assert (joined.domain == joined.domain_book).all() and (joined.kind == joined.kind_book).all()


@pytest.mark.parametrize("factor", FACTORS, ids=lambda f: f.factor_code)
def test_projects_citing_each_factor_match_the_paper(demo, factor):
    ratings = demo["factor_ratings"]
    citing = ratings[ratings.factor_code == factor.factor_code].project_code.nunique()
    if factor.paper_projects is None:
        assert 1 <= citing <= 11
    else:
        assert citing == factor.paper_projects


def test_citations_fit_the_projects(demo):
    ratings = demo["factor_ratings"]
    types = demo["projects"].set_index("project_code").innovation_type.str.lower()

    def citing(code):
        return set(ratings.project_code[ratings.factor_code == code])

    assert citing("ctx_independent_host") == set(projects_with(demo, "relation_to_statutory", "external"))
    assert any("online" in types[p] for p in citing("ctx_user_internet_access"))
    assert all(re.search("arts|music", types[p]) for p in citing("po_artistic_vs_therapeutic"))
    assert all(re.search("arts|music|horticulture", types[p]) for p in citing("po_social_interaction"))
    assert len(citing("po_social_interaction")) == 3


def test_same_today_gives_the_same_tables(demo):
    again = demo_tables(TODAY)
    for table in tidy.TABLES:
        pd.testing.assert_frame_equal(demo[table], again[table])


def test_another_today_shifts_every_date_and_nothing_else(demo):
    shifted = demo_tables(OTHER_TODAY)
    delta = OTHER_TODAY - TODAY
    for table in tidy.TABLES:
        for column in tidy.columns(table):
            before, after = demo[table][column], shifted[table][column]
            if column in tidy.DATE_COLUMNS:
                moved = [None if v is None else v + delta for v in before]
                assert moved == list(after), (table, column)
            else:
                pd.testing.assert_series_equal(before, after)


def test_sustainability_values_are_canonical(demo):
    for row in demo["sustainability"].itertuples():
        value, problems = normalise_indicator_value(INDICATORS[row.indicator_code], row.value)
        assert problems == [] and value == row.value, row


def test_every_scored_round_has_the_full_indicator_set(demo):
    values = demo["sustainability"]
    assert not values.duplicated(["project_code", "wave", "indicator_code"]).any()
    for key, group in values.groupby(["project_code", "wave"]):
        assert list(group.indicator_code) == list(INDICATORS), key


def test_sustainability_scored_for_every_finished_round_but_one(demo, schedules):
    owner = demo["participants"].set_index("participant_code").project_code
    pending = {
        (owner[code], due.wave)
        for code, rows in schedules.items()
        for due in rows
        if due.status in (DueStatus.DUE, DueStatus.UPCOMING)
    }
    finished = {(p, w.wave) for p in demo["projects"].project_code for w in DEFAULT_WAVES} - pending
    scored = set(zip(demo["sustainability"].project_code, demo["sustainability"].wave, strict=True))
    assert scored <= finished
    missing = finished - scored
    assert len(missing) == 1 and next(iter(missing))[1] != "baseline"
    assert {w for _, w in scored} == {"baseline", "month_3", "month_6", "month_9"}


def test_mainstreamed_projects_secure_funding_and_turn_green(demo):
    mainstreamed = projects_with(demo, "status", ProjectStatus.MAINSTREAMED)
    assert len(mainstreamed) >= 2
    for project in mainstreamed:
        funding = indicator_path(demo, project, "funding_beyond_grant")
        assert funding[0] < "3" and funding[-1] == "3", project
        assert indicator_path(demo, project, "outlook")[-1] == "green", project
        latest = latest_completed_wave(demo, project)
        assert ratings_at(demo, project, latest).rating.mean() > ratings_at(demo, project, "baseline").rating.mean()


def test_stalled_projects_turn_red_and_their_balance_worsens(demo):
    stalled = projects_with(demo, "status", ProjectStatus.STALLED)
    assert len(stalled) >= 2
    for project in stalled:
        assert indicator_path(demo, project, "outlook")[-1] == "red", project
        latest = latest_completed_wave(demo, project)
        assert ratings_at(demo, project, latest).rating.mean() < ratings_at(demo, project, "baseline").rating.mean()


def test_a_project_changes_host_after_a_reorganisation(demo):
    milestones = demo["milestones"]
    reorganised = milestones.project_code[milestones.kind == MilestoneKind.HOST_REORGANISATION]
    assert len(reorganised) == 1
    project = reorganised.iloc[0]
    cited_at = set(demo["factor_ratings"].query("project_code == @project and factor_code == 'ctx_instability'").wave)
    assert "baseline" not in cited_at and cited_at & {"month_3", "month_6"}
    stability = [int(v) for v in indicator_path(demo, project, "host_stability")]
    lowest = stability.index(min(stability))
    assert stability[0] > stability[lowest] < stability[-1]


def test_the_champion_leaves_a_stalled_project(demo):
    milestones = demo["milestones"]
    project = milestones.project_code[milestones.kind == MilestoneKind.CHAMPION_LEFT].iloc[0]
    assert project in projects_with(demo, "status", ProjectStatus.STALLED)
    champion = indicator_path(demo, project, "champion_in_post")
    assert champion[0] == "yes" and champion[-1] == "no"


def test_initial_resistance_fades_in_several_projects(demo):
    faded = set()
    for project in demo["projects"].project_code:
        latest = latest_completed_wave(demo, project)
        at_start, at_end = ratings_at(demo, project, "baseline"), ratings_at(demo, project, latest)
        for code in RESISTANCE:
            if (at_start[at_start.factor_code == code].rating == -2).any() and code not in set(at_end.factor_code):
                faded.add(project)
    assert len(faded) >= 2


def test_milestones_fall_inside_the_study_up_to_today(demo):
    start = demo["study"].start_date.iloc[0]
    milestones = demo["milestones"]
    assert all(start <= d <= TODAY for d in milestones.milestone_date)
    assert {MilestoneKind.LAUNCH, MilestoneKind.FUNDING_DECISION} <= set(milestones.kind)
    assert set(milestones.project_code) <= set(demo["projects"].project_code)


def test_evidence_coders_interviewers_and_summaries(demo):
    ratings = demo["factor_ratings"]
    quoted = ratings[ratings.evidence.notna()]
    assert 0 < len(quoted) < len(ratings)
    assert set(quoted.shareable) == {True, False}
    assert not ratings.shareable[ratings.evidence.isna()].any()
    assert 2 <= ratings.coder.nunique() <= 3
    assert demo["interviews"].interviewer.nunique() == 3
    assert all(isinstance(s, str) and s for s in completed(demo).summary)


def test_the_product_import_accepts_the_demo(demo):
    text = {table: pd.DataFrame({c: tidy.as_text(frame[c]) for c in frame.columns}) for table, frame in demo.items()}
    ready = importer.prepare(text, importer.Reference(), TODAY)
    assert {table: len(frame) for table, frame in ready.items()} == {t: len(f) for t, f in demo.items()}
