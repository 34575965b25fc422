"""Portfolio-wide reads computed once per data version however many page builds ask (storage/kept.py), and the
citations counted for every wave in one pass: the same numbers as counting each wave on its own."""

import datetime as dt
import sys
import threading
import time

import pandas as pd
import psycopg
import pytest

from innovation_tracker import storage
from innovation_tracker.domain.model import AccountRole, Viewer
from innovation_tracker.ui.results import ResultCache
from innovation_tracker.views import page_content

EVALUATOR = Viewer("demo-evaluator", AccountRole.EVALUATOR)
FUNDER = Viewer("demo-funder", AccountRole.FUNDER)
TEAM = Viewer("demo-team-arts", AccountRole.TEAM, frozenset({"ARTS"}))
TODAY = dt.date(2026, 3, 2)


@pytest.fixture
def con(demo_database):
    database = storage.connect(demo_database)
    yield database
    database.close()


def is_blind_check(key):
    """The key of whether an editor has a blind coding in progress (storage.kept._scope), asked once a version."""
    return isinstance(key, tuple) and key[:2] == ("kept", "blind")


class Counted:
    """A store that counts the reads it had to compute."""

    def __init__(self):
        self.cache, self.built = ResultCache(), []

    def __call__(self, key, build, refresh=None):
        def counted():
            if not is_blind_check(key):
                self.built.append(key[2] if isinstance(key, tuple) else key)
            return build()

        return self.cache.get(1, key, counted, refresh)


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
    assert first.balance_text == again.balance_text


def test_a_kept_read_is_not_read_again_while_kept(con, demo_database):
    store = Counted()
    with storage.keeping(store):
        counts = storage.round_counts(con, EVALUATOR, TODAY)
        other = storage.connect(demo_database)
        other.close()  # a closed connection: a read that reached the database would fail
        assert storage.round_counts(other, EVALUATOR, TODAY).equals(counts)
    with pytest.raises(Exception, match="(?i)closed"):  # outside `keeping` the read runs, on the closed connection
        storage.round_counts(other, EVALUATOR, TODAY)


def test_viewers_share_a_kept_result_only_when_the_access_rules_give_them_the_same_rows(con):
    store = Counted()
    others = {
        "another evaluator": Viewer("another-evaluator", AccountRole.EVALUATOR),
        "an admin": Viewer("demo-admin", AccountRole.ADMIN),
        "another funder": Viewer("another-funder", AccountRole.FUNDER),
        "a team of another project": Viewer("demo-team-beat", AccountRole.TEAM, frozenset({"BEAT"})),
        "another member of the same team": Viewer("arts-2", AccountRole.TEAM, frozenset({"ARTS"})),
    }
    viewers = (EVALUATOR, FUNDER, TEAM, *others.values())
    with storage.keeping(store):
        kept = [storage.project_list(con, viewer) for viewer in viewers]
    # evaluators share, funders share, a team shares with its own project's members: 5 scopes for 8 viewers
    assert store.built.count("project_list") == 5
    for viewer, frame in zip(viewers, kept, strict=True):
        pd.testing.assert_frame_equal(frame, storage.project_list(con, viewer), obj=viewer.username)
    assert kept[-2].project_code.tolist() == ["BEAT"]


def test_an_editor_coding_blind_keeps_their_own_results_without_the_first_coding(changing):
    from innovation_tracker.app import double_coding
    from tests.app.test_double_coding import SECOND, candidate

    con = changing
    interview_id, first = candidate(con, "CARE")
    double_coding.start(con, SECOND, interview_id)
    store = Versioned(con)
    store.version = storage.data_version(con)
    with storage.keeping(store):
        mine = storage.wave_balance(con, SECOND)
        everyone = storage.wave_balance(con, EVALUATOR)
        again = storage.wave_balance(con, Viewer("another-evaluator", AccountRole.EVALUATOR))
    assert store.built.count("wave_balance") == 2  # the blind coder's own, and the other editors' shared one
    pd.testing.assert_frame_equal(mine, storage.wave_balance(con, SECOND))
    pd.testing.assert_frame_equal(again, everyone)
    care = lambda frame: frame[frame.project_code == "CARE"].n_ratings.sum()  # noqa: E731
    assert care(mine) == care(everyone) - len(first)  # the first coding's ratings are hidden from them


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


# After a write: kept reads re-read only the projects the new audit entries name (storage.kept_by_project).

REFRESHED = (
    "round_counts",
    "wave_balance",
    "cited_factors",
    "outlook_grid",
    "outlook_table",
    "scored_waves",
    "project_list",
    "schedule_checks",
    "balance_per_interview",
    "progress_by_project",
    "early_warnings",
    "status_by_project",
)


class Versioned:
    """The UI's store (ui._kept_build): the result cache at the database's current data version, recording which
    kept reads were built in full and which were brought up to date for some projects."""

    def __init__(self, con):
        self.con, self.cache, self.built, self.refreshed = con, ResultCache(), [], []

    def __call__(self, key, build, refresh=None):
        name = key[2]

        def counted():
            if not is_blind_check(key):
                self.built.append(name)
            return build()

        def counted_refresh(since, version, earlier):
            value = refresh(since, version, earlier)
            if value is not None:
                self.refreshed.append((name, storage.changed_projects(self.con.cursor(), since, version)))
            return value

        return self.cache.get(self.version, key, counted, counted_refresh if refresh else None)

    def reads(self, viewer=EVALUATOR):
        self.version = storage.data_version(self.con)  # read once per run, as ui._Run does
        with storage.keeping(self):
            return {
                "round_counts": storage.round_counts(self.con, viewer, TODAY),
                "wave_balance": storage.wave_balance(self.con, viewer),
                "cited_factors": storage.cited_factors(self.con, viewer),
                "citations_by_wave": storage.citations_by_wave(self.con, viewer),
                "overview": page_content.overview_tables(self.con, viewer, TODAY).balance,
                "status": page_content.status_now(self.con, viewer, TODAY).table,
                "progress": page_content.progress_by_project(self.con, viewer, TODAY),
                "outlook_table": storage.outlook_table(self.con, viewer),
                "calls": storage.call_candidates(self.con, viewer, TODAY, 28),
                "unrated": storage.interviews_without_ratings(self.con, viewer),
                **{f"quality {k}": v for k, v in storage.schedule_checks(self.con, viewer, TODAY).items()},
            }


def read_afresh(con, viewer=EVALUATOR):
    return {
        "round_counts": storage.round_counts(con, viewer, TODAY),
        "wave_balance": storage.wave_balance(con, viewer),
        "cited_factors": storage.cited_factors(con, viewer),
        "citations_by_wave": storage.citations_by_wave(con, viewer),
        "overview": page_content.overview_tables(con, viewer, TODAY).balance,
        "status": page_content.status_now(con, viewer, TODAY).table,
        "progress": page_content.progress_by_project(con, viewer, TODAY),
        "outlook_table": storage.outlook_table(con, viewer),
        "calls": storage.call_candidates(con, viewer, TODAY, 28),
        "unrated": storage.interviews_without_ratings(con, viewer),
        **{f"quality {k}": v for k, v in storage.schedule_checks(con, viewer, TODAY).items()},
    }


def assert_same(kept, afresh):
    for name, frame in afresh.items():
        got = kept[name]
        if name == "cited_factors":  # a set of rows: its order is the database's
            got, frame = (f.sort_values(list(f.columns), ignore_index=True) for f in (got, frame))
        pd.testing.assert_frame_equal(got, frame, check_dtype=False, obj=name)


@pytest.fixture
def changing(seeded):
    return seeded


def an_interview(con, project):
    return con.execute(
        "SELECT i.interview_id, i.participant_code FROM interview i JOIN participant p USING (participant_code)"
        " WHERE p.project_code = ? AND i.status = 'completed' ORDER BY i.interview_id LIMIT 1",
        [project],
    ).fetchone()


def rate(con, interview_id, rating):
    ratings = [{"factor_code": "ctx_team_expertise", "rating": rating, "evidence": None, "shareable": False}]
    storage.update_interview(con, "tester", interview_id, {}, ratings)


WRITES = {
    "ratings replaced": (lambda con: rate(con, an_interview(con, "ARTS")[0], -2), {"ARTS"}),
    "outlook scored": (
        lambda con: storage.set_indicator_values(con, "tester", "BEAT", "month_6", {"outlook": "red"}),
        {"BEAT"},
    ),
    "participant withdrawn": (
        lambda con: storage.withdraw_participant(con, "tester", an_interview(con, "CARE")[1], dt.date(2025, 9, 1)),
        {"CARE"},
    ),
    "two projects written one after the other": (
        lambda con: (rate(con, an_interview(con, "PEER")[0], 1), rate(con, an_interview(con, "WEB")[0], 2)),
        {"PEER", "WEB"},
    ),
    "a log-in, an export and a report change nothing": (
        lambda con: (
            storage.write(con, lambda cur: storage.record_audit(cur, "x", "login", "user_account", "x")),
            storage.write(con, lambda cur: storage.record_audit(cur, "x", "export", "study", "csv")),
            storage.write(con, lambda cur: storage.record_audit(cur, "x", "report", "project", "ARTS")),
        ),
        set(),
    ),
}


@pytest.mark.parametrize("write", list(WRITES))
def test_after_a_write_kept_reads_are_brought_up_to_date_for_its_projects_only(changing, write):
    con = changing
    store = Versioned(con)
    before = store.reads()
    assert set(REFRESHED) <= set(store.built)  # the first reads are read in full
    action, projects = WRITES[write]
    action(con)
    store.built.clear()
    after = store.reads()
    assert_same(after, read_afresh(con))
    refreshed = dict(store.refreshed)
    for name in REFRESHED:
        assert name not in store.built, f"{name} was read in full after {write}"
        assert refreshed[name] == frozenset(projects)
    if write.startswith(("ratings", "two")):  # the page shows the change
        assert not before["wave_balance"].equals(after["wave_balance"])
    if write.startswith("participant"):
        assert not before["round_counts"].equals(after["round_counts"])


@pytest.mark.parametrize(("project", "read_again"), [("ARTS", True), ("CARE", False)])
def test_a_screen_of_projects_is_read_again_only_when_a_write_changed_one_of_them(
    changing, monkeypatch, project, read_again
):
    con = changing
    store = Versioned(con)
    screen = ("ARTS", "BEAT")

    def cells():
        store.version = storage.data_version(con)
        with storage.keeping(store):
            return storage.matrix_cells(con, EVALUATOR, None, False, only=screen)

    before = cells()
    assert set(before.project_code) == set(screen)
    queries = []
    real_query = storage.matrix.query
    monkeypatch.setattr(storage.matrix, "query", lambda *a, **k: queries.append(a[3]) or real_query(*a, **k))
    rate(con, an_interview(con, project)[0], -2)
    after = cells()
    assert "matrix_cells" not in store.built[1:]  # never read in full again
    assert len(queries) == int(read_again)
    if read_again:
        assert queries[0]["only"] == ["ARTS"]  # the written project, not the whole screen
    pd.testing.assert_frame_equal(after, storage.matrix_cells(con, EVALUATOR, None, False, only=screen))
    assert before.equals(after) != read_again


def test_agreement_and_the_coding_queue_after_a_second_coding_are_read_again_for_its_project_only(changing):
    from innovation_tracker.app import double_coding
    from tests.app.test_double_coding import SECOND, candidate, lines, other_factor

    con = changing
    store = Versioned(con)

    def counts():
        store.version = storage.data_version(con)
        with storage.keeping(store):
            return {
                **{wave: storage.agreement_counts(con, EVALUATOR, wave) for wave in (None, "baseline")},
                "queue": storage.coding_queue(con, EVALUATOR),
            }

    before = counts()
    assert {"agreement_cells", "agreement_pairs"} <= set(store.built)
    interview_id, first = candidate(con, "BEAT")
    double_coding.start(con, SECOND, interview_id)
    double_coding.save(con, SECOND, interview_id, lines((other_factor(con, first).factor_code, 2, "a quote", False)))
    store.built.clear()
    after = counts()
    assert not store.built  # nothing read in full
    refreshed = dict(store.refreshed)
    for read in ("agreement_cells", "agreement_pairs", "coding_queue_by_project"):
        assert refreshed[read] == frozenset({"BEAT"})
    for wave in (None, "baseline"):
        pd.testing.assert_frame_equal(after[wave], storage.agreement_counts(con, EVALUATOR, wave))
    pd.testing.assert_frame_equal(after["queue"], storage.coding_queue(con, EVALUATOR))
    assert len(after["queue"]) == len(before["queue"]) + 1
    assert not before[None].equals(after[None])
    overall = after[None][after[None].level == "overall"]
    assert overall.n_interviews.max() == before[None][before[None].level == "overall"].n_interviews.max() + 1


STUDY_WIDE = {
    "a factor relabelled": lambda con: storage.update_factor(con, "tester", "ctx_team_expertise", {"label": "Skills"}),
    "an interview deleted": lambda con: storage.delete_interview(con, "tester", an_interview(con, "ARTS")[0]),
    "a participant moved to another project": lambda con: storage.update_participant(
        con, "tester", "ARTS-NEW", {"project_code": "BEAT"}
    ),
}
NEWCOMER = {
    "participant_code": "ARTS-NEW",
    "project_code": "ARTS",
    "role": "manager",
    "enrolment_date": dt.date(2025, 6, 1),
    "consent_date": dt.date(2025, 6, 1),
    "status": "active",
}


@pytest.mark.parametrize("write", list(STUDY_WIDE))
def test_a_write_that_names_no_single_project_reads_every_project_again(changing, write):
    con = changing
    storage.add_participant(con, "tester", NEWCOMER)  # enrolled, not yet interviewed: DuckDB lets them move
    store = Versioned(con)
    store.reads()
    STUDY_WIDE[write](con)
    store.built.clear()
    after = store.reads()
    assert_same(after, read_afresh(con))
    assert set(REFRESHED) <= set(store.built)
    assert not store.refreshed


def test_each_audit_entry_names_the_project_it_changed(changing):
    con = changing
    since = storage.data_version(con)
    storage.add_participant(con, "tester", NEWCOMER)
    rate(con, an_interview(con, "LIAS")[0], 1)
    now = con.execute(
        "SELECT value FROM indicator_value"
        " WHERE project_code = 'SENT' AND wave = 'month_6' AND indicator_code = 'outlook'"
    ).fetchall()
    storage.set_indicator_values(con, "tester", "SENT", "month_6", {"outlook": "red" if now != [("red",)] else "green"})
    storage.update_participant(con, "tester", "ARTS-NEW", {"project_code": "GROW"})
    storage.update_factor(con, "tester", "ctx_team_expertise", {"label": "Skills"})
    rows = con.execute(
        "SELECT entity, project_code FROM audit_entry WHERE audit_id > ? ORDER BY audit_id", [since]
    ).fetchall()
    assert rows == [
        ("participant", "ARTS"),
        ("interview", "LIAS"),
        ("sustainability", "SENT"),
        ("participant", None),  # moved from ARTS to GROW: two projects
        ("factor", None),  # the codebook: every project
    ]
    assert storage.changed_projects(con, since, since + 3) == frozenset({"ARTS", "LIAS", "SENT"})
    assert storage.changed_projects(con, since + 1, since + 3) == frozenset({"LIAS", "SENT"})
    assert storage.changed_projects(con, since, since + 4) is None


def test_write_transactions_commit_in_the_order_of_their_audit_ids(seeded, seeded_database):
    """The second writer cannot draw an audit id while the first is open: else a reader could see id 101 committed
    while 100 was not, and keep results without 100's change as current."""
    other = storage.connect(seeded_database)
    opened, release, order = threading.Event(), threading.Event(), []

    def slow(cur):
        storage.record_audit(cur, "first", "update", "project", "ARTS")
        opened.set()
        release.wait(10)
        order.append("first")

    def quick(cur):
        storage.record_audit(cur, "second", "update", "project", "BEAT")
        order.append("second")

    first = threading.Thread(target=storage.write, args=(seeded, slow))
    first.start()
    assert opened.wait(10)
    second = threading.Thread(target=storage.write, args=(other, quick))
    second.start()
    time.sleep(0.5)
    assert order == []  # the second write waits for the first to commit
    release.set()
    first.join(10)
    second.join(10)
    other.close()
    assert order == ["first", "second"]
    ids = seeded.execute("SELECT actor FROM audit_entry WHERE actor IN ('first', 'second') ORDER BY audit_id")
    assert [r[0] for r in ids.fetchall()] == ["first", "second"]


def test_a_write_waits_for_another_server_holding_the_write_order(seeded, seeded_database, backend):
    """Across processes on PostgreSQL: a write waits while another session holds the write-order lock."""
    if backend != "postgresql":
        pytest.skip("a DuckDB file is written by one process")
    holder = psycopg.connect(seeded_database, autocommit=True)
    holder.execute("SELECT pg_advisory_lock(7142, 0)")
    done = threading.Event()
    writer = threading.Thread(
        target=lambda: (storage.set_indicator_values(seeded, "t", "ARTS", "month_6", {"outlook": "red"}), done.set())
    )
    writer.start()
    assert not done.wait(0.7)
    holder.execute("SELECT pg_advisory_unlock(7142, 0)")
    assert done.wait(10)
    writer.join()
    holder.close()


def test_past_so_many_written_projects_a_kept_frame_is_read_whole_again(changing, monkeypatch):
    module = sys.modules["innovation_tracker.storage.kept"]  # `storage.kept` is the decorator of that name
    monkeypatch.setattr(module, "MOST_PROJECTS_REREAD", 1)
    con = changing
    store = Versioned(con)
    store.reads()
    rate(con, an_interview(con, "PEER")[0], 1)
    rate(con, an_interview(con, "WEB")[0], 2)  # two projects: more than the limit
    store.built.clear()
    after = store.reads()
    assert set(REFRESHED) <= set(store.built)
    assert not [name for name, _ in store.refreshed if name in REFRESHED]
    assert_same(after, read_afresh(con))


@pytest.mark.parametrize("in_order", [True, False], ids=["in project order", "in a database's own order"])
def test_a_projects_rows_read_again_unchanged_leave_the_kept_frame_as_it_is(in_order):
    from innovation_tracker.storage.kept import _spliced

    earlier = pd.DataFrame({"project_code": ["A", "B", "B", "C"], "n": [1, 2, 3, 4], "w": ["x", None, "y", "z"]})
    if not in_order:  # a database may sort by a locale: not byte order, so the rows are found by value
        earlier = earlier.iloc[[3, 0, 1, 2]].reset_index(drop=True)
    same = pd.DataFrame({"project_code": ["B", "B"], "n": [2, 3], "w": [None, "y"]})
    assert _spliced(earlier, same, frozenset({"B"}), ("project_code",)) is earlier
    changed = _spliced(earlier, same.assign(n=[2, 5]), frozenset({"B"}), ("project_code",))
    assert changed is not earlier and changed[changed.project_code == "B"].n.tolist() == [2, 5]
    fewer = _spliced(earlier, same.iloc[:1], frozenset({"B"}), ("project_code",))
    assert fewer.project_code.tolist().count("B") == 1 and len(fewer) == 3
    gone = _spliced(earlier, same.iloc[:0], frozenset({"B", "C"}), ("project_code",))
    assert sorted(gone.project_code) == ["A"]
