"""Portfolio-wide reads computed once per data version however many page builds ask (storage/kept.py), and the
citations counted for every wave in one pass: the same numbers as counting each wave on its own."""

import datetime as dt

import pandas as pd
import pytest

from innovation_tracker import page_content, storage
from innovation_tracker.domain import AccountRole, Viewer
from innovation_tracker.ui.results import ResultCache

EVALUATOR = Viewer("demo-evaluator", AccountRole.EVALUATOR)
FUNDER = Viewer("demo-funder", AccountRole.FUNDER)
TEAM = Viewer("demo-team-arts", AccountRole.TEAM, frozenset({"ARTS"}))
TODAY = dt.date(2026, 3, 2)


@pytest.fixture
def con(demo_database):
    database = storage.connect(demo_database)
    yield database
    database.close()


class Counted:
    """A store that counts the reads it had to compute."""

    def __init__(self):
        self.cache, self.built = ResultCache(), []

    def __call__(self, key, build):
        def counted():
            self.built.append(key[2] if isinstance(key, tuple) else key)
            return build()

        return self.cache.get(1, key, counted)


def test_page_builds_share_one_computation_of_each_portfolio_read(con):
    store = Counted()
    with storage.keeping(store):
        first = page_content.overview(con, EVALUATOR, TODAY)
        page_content.status_now(con, EVALUATOR, TODAY)
        page_content.comparison(con, EVALUATOR, (), (), "", TODAY)
        page_content.citation_display(con, EVALUATOR, None, (), ())
        waves = storage.list_waves(con)
        page_content.citation_figure(con, EVALUATOR, waves[0], waves[-1], (), (), TODAY)
        again = page_content.overview(con, EVALUATOR, TODAY)
    # the schedule's counts were asked for by the overview, the status table, the comparison and the figure
    assert store.built.count("round_counts") == 1
    assert store.built.count("citations_by_wave") == 1
    assert store.built.count("wave_balance") == 1
    assert store.built.count("project_list") == 1
    assert first.headline == again.headline
    assert first.balance_table.equals(again.balance_table)


def test_a_kept_read_is_not_read_again_while_kept(con, demo_database):
    store = Counted()
    with storage.keeping(store):
        counts = storage.round_counts(con, EVALUATOR, TODAY)
        other = storage.connect(demo_database)
        other.close()  # a closed connection: a read that reached the database would fail
        assert storage.round_counts(other, EVALUATOR, TODAY).equals(counts)
    with pytest.raises(Exception, match="(?i)closed"):  # outside `keeping` the read runs, on the closed connection
        storage.round_counts(other, EVALUATOR, TODAY)


def test_each_viewer_has_their_own_kept_results(con):
    store = Counted()
    with storage.keeping(store):
        everyone = storage.project_list(con, EVALUATOR)
        team = storage.project_list(con, TEAM)
        funder = storage.people_counts(con, FUNDER)
        evaluator = storage.people_counts(con, EVALUATOR)
    assert len(everyone) == 11 and team.project_code.tolist() == ["ARTS"]
    assert store.built.count("project_list") == 2 and store.built.count("people_counts") == 2
    assert funder == evaluator  # counts are not identifying: the same numbers, kept apart all the same


def test_a_caller_changing_its_result_leaves_the_kept_one_alone(con):
    store = Counted()
    with storage.keeping(store):
        projects = storage.project_list(con, EVALUATOR)
        projects["name"] = "changed"
        projects.loc[:, "setting"] = "changed"
        counts = storage.people_counts(con, EVALUATOR)
        counts["projects"] = -1
        assert len(storage.project_list(con, EVALUATOR)) == 11
        kept = storage.project_list(con, EVALUATOR)
        assert "changed" not in set(kept.name) | set(kept.setting)
        assert storage.people_counts(con, EVALUATOR)["projects"] == 11


def _counted_alone(con, viewer, wave, settings=(), relations=()):
    """The citations of one wave (None: the year) counted the plain way: every rating with its project, in pandas."""
    ratings = storage.read_table(con, viewer, "factor_ratings")
    projects = storage.project_list(con, viewer).set_index("project_code")
    if wave is not None:
        ratings = ratings[ratings.wave == wave]
    if settings:
        ratings = ratings[ratings.project_code.map(projects.setting).isin(settings)]
    if relations:
        ratings = ratings[ratings.project_code.map(projects.relation_to_statutory).isin(relations)]
    counted = ratings.groupby("factor_code").project_code.nunique()
    return counted.rename("projects_citing").reset_index().sort_values("factor_code", ignore_index=True)


@pytest.mark.parametrize("viewer", [EVALUATOR, FUNDER, TEAM], ids=["evaluator", "funder", "team"])
@pytest.mark.parametrize(
    "settings,relations", [((), ()), (("voluntary",), ()), ((), ("external", "internal"))], ids=["all", "vol", "rel"]
)
def test_citations_of_every_wave_in_one_pass_equal_each_counted_alone(con, viewer, settings, relations):
    waves = [w.wave for w in storage.list_waves(con)]
    for wave in [None, *waves]:
        got = storage.projects_citing(con, viewer, wave, settings, relations)
        expected = _counted_alone(con, viewer, wave, settings, relations)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    whole = storage.projects_citing(con, viewer, None, settings, relations)
    if viewer is EVALUATOR and not settings and not relations:
        # the demo's year: every factor cited somewhere, and the paper's figure for those it gives
        assert len(whole) == len(storage.list_factors(con))
