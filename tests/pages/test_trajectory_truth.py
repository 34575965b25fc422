"""Trajectories that tell a funder the truth: comparable measures, finished rounds, projects never silently dropped,
a status-now table, the team's own landing page, and a glossary. Pure functions on hand-made frames whose numbers
can be worked out on paper; pages through AppTest on the demo study (DEMO_TODAY: the 9-month round is under way)."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from innovation_tracker import storage
from innovation_tracker.domain import analysis, display
from innovation_tracker.domain.errors import ValidationError
from innovation_tracker.domain.model import DEFAULT_WAVES, AccountRole, Viewer
from innovation_tracker.views import charts, page_content
from tests.conftest import DEMO_TODAY, EVALUATOR
from tests.support.apptest import open_page

WAVES = list(DEFAULT_WAVES)
FUNDER = Viewer("test-funder", AccountRole.FUNDER)


def counts(*rows):
    """round_counts rows: (project, wave, completed, missed, overdue, due, upcoming, withdrawn)."""
    positions = {w.wave: n for n, w in enumerate(WAVES)}
    labels = {w.wave: w.label for w in WAVES}
    frame = pd.DataFrame(
        rows, columns=["project_code", "wave", "completed", "missed", "overdue", "due", "upcoming", "withdrawn"]
    )
    frame["wave_label"] = frame.wave.map(labels)
    frame["position"] = frame.wave.map(positions)
    frame["scheduled"] = frame.completed
    return frame


def balance(*rows):
    """net_balance rows: (project, wave, facilitator weight, barrier weight, ratings)."""
    positions = {w.wave: n for n, w in enumerate(WAVES)}
    labels = {w.wave: w.label for w in WAVES}
    frame = pd.DataFrame(rows, columns=["project_code", "wave", "facilitator_weight", "barrier_weight", "n_ratings"])
    frame["net"] = frame.facilitator_weight - frame.barrier_weight
    frame["wave_label"] = frame.wave.map(labels)
    frame["position"] = frame.wave.map(positions)
    return frame


class TestComparableMeasures:
    def test_net_per_completed_interview_and_mean_rating(self):
        # A big project (10 interviews) and a small one (2) with the same balance per interview.
        sums = balance(("BIG", "baseline", 40, 10, 30), ("SMALL", "baseline", 8, 2, 6))
        done = pd.DataFrame({"project_code": ["BIG", "SMALL"], "wave": "baseline", "interviews": [10, 2]})
        out = analysis.per_interview(sums, done).set_index("project_code")
        assert out.loc["BIG", "net"] == 30 and out.loc["SMALL", "net"] == 6  # the sums stay, as counts
        assert out.loc["BIG", "net_per_interview"] == out.loc["SMALL", "net_per_interview"] == 3.0
        assert out.loc["BIG", "mean_rating"] == 1.0  # 30 / 30 ratings
        assert out.loc["SMALL", "facilitators_per_interview"] == 4.0
        assert out.loc["SMALL", "barriers_per_interview"] == 1.0

    def test_no_completed_interview_gives_no_per_interview_value(self):
        out = analysis.per_interview(
            balance(("P", "month_3", 2, 0, 1)), pd.DataFrame(columns=["project_code", "wave", "interviews"])
        )
        assert out.interviews.tolist() == [0]
        assert np.isnan(out.net_per_interview.iloc[0])

    def test_share_citing_is_participants_citing_over_interviewed(self):
        trajectory = pd.DataFrame({"wave": ["baseline", "month_3", "month_6"], "n": [3, 1, 0]})
        share = analysis.share_citing(trajectory, pd.Series({"baseline": 6, "month_3": 4, "month_6": 0}))
        assert share.iloc[:2].tolist() == [0.5, 0.25]
        assert np.isnan(share.iloc[2])


class TestFinishedRounds:
    ROUNDS = counts(
        ("A", "baseline", 6, 0, 0, 0, 0, 0),  # all done
        ("A", "month_3", 3, 1, 2, 0, 0, 0),  # windows closed for all, only half done: finished
        ("A", "month_6", 4, 0, 0, 1, 0, 1),  # 4 of 5 expected done: 80% — finished
        ("A", "month_9", 3, 0, 0, 1, 1, 0),  # 3 of 5 and windows open: in progress
        ("A", "month_12", 0, 0, 0, 0, 5, 0),
    )

    def test_closed_windows_or_the_threshold_finish_a_round(self):
        out = analysis.round_progress(self.ROUNDS).set_index("wave")
        assert out.finished.tolist() == [True, True, True, False, False]
        assert out.loc["month_6", ["done", "expected"]].tolist() == [4, 5]  # the withdrawal is not expected
        assert out.loc["month_9", "share"] == 0.6
        assert analysis.latest_finished(out.reset_index()) == "month_6"

    def test_the_threshold_is_a_setting(self):
        strict = analysis.round_progress(self.ROUNDS, threshold=0.9).set_index("wave")
        assert strict.finished.tolist() == [True, True, False, False, False]
        lenient = analysis.round_progress(self.ROUNDS, threshold=0.6).set_index("wave")
        assert lenient.finished.tolist() == [True, True, True, True, False]

    def test_progress_reads_done_of_expected_and_in_progress(self):
        assert analysis.progress_text(35, 64, False) == "35 of 64 done · in progress"
        assert analysis.progress_text(61, 64, True) == "61 of 64 done"

    def test_demo_nine_month_round_is_in_progress_and_six_month_finished(self, seeded):
        progress = storage.round_progress(seeded, EVALUATOR, DEMO_TODAY).set_index("wave")
        assert not progress.loc["month_9", "finished"]
        assert progress.loc["month_9", "done"] < 0.8 * progress.loc["month_9", "expected"]
        assert analysis.latest_finished(progress.reset_index()) == "month_6"

    def test_study_setting_is_stored_validated_and_audited(self, seeded):
        assert storage.finished_round_share(seeded) == 0.8
        with pytest.raises(ValidationError, match="between 0.5 and 1"):
            storage.set_finished_round_share(seeded, "tester", 0.2)
        assert storage.finished_round_share(seeded) == 0.8
        storage.set_finished_round_share(seeded, "tester", 0.5)
        assert storage.finished_round_share(seeded) == 0.5
        audit = seeded.execute("SELECT actor, entity FROM audit_entry ORDER BY audit_id DESC LIMIT 1").fetchone()
        assert audit == ("tester", "study")
        progress = storage.round_progress(seeded, EVALUATOR, DEMO_TODAY)
        assert analysis.latest_finished(progress) == "month_9"

    def test_the_cli_shows_and_sets_the_share_for_editors_only(self, seeded_path, capsys):
        from innovation_tracker.app import service
        from innovation_tracker.cli import main
        from innovation_tracker.domain.errors import AccessDenied

        assert main(["settings", "--db", str(seeded_path)]) == 0
        assert "finished-round-share = 0.8: a round counts as finished once 80% of its interviews" in (
            capsys.readouterr().out
        )
        assert main(["settings", "--db", str(seeded_path), "--finished-round-share", "1.5"]) == 2
        assert "must be between 0.5 and 1, not 1.5" in capsys.readouterr().err
        assert main(["settings", "--db", str(seeded_path), "--finished-round-share", "0.5"]) == 0
        assert "finished-round-share = 0.5" in capsys.readouterr().out
        con = storage.connect(seeded_path)
        try:
            assert storage.finished_round_share(con) == 0.5
            actor = con.execute(
                "SELECT actor FROM audit_entry WHERE entity_key = 'finished_round_share' ORDER BY audit_id DESC"
            ).fetchone()[0]
            assert actor.startswith("cli:")
            with pytest.raises(AccessDenied):
                service.set_finished_round_share(con, Viewer("f", AccountRole.FUNDER), 0.9)
            assert storage.finished_round_share(con) == 0.5
        finally:
            con.close()


class TestNoMinusZero:
    @pytest.mark.parametrize("value", [0.0, -0.0, -0.04, 0.04, np.float64(-0.0)])
    def test_signed_never_reads_minus_zero(self, value):
        assert display.signed(value) == "0"
        assert display.number(value) == "0"

    def test_signed_and_number(self):
        assert display.signed(-1.25, 1) == "−1.2"
        assert display.signed(0.5) == "+0.5"
        assert display.number(1234.0) == "1,234"
        assert display.signed(None) == display.number(float("nan")) == "—"

    def test_bar_labels_where_a_wave_has_no_barrier_rating(self):
        sums = balance(("P", "baseline", 6, 0, 3), ("P", "month_3", 4, 2, 3))
        done = pd.DataFrame({"project_code": "P", "wave": ["baseline", "month_3"], "interviews": [3, 2]})
        fig = charts.barriers_facilitators_chart(analysis.per_interview(sums, done), WAVES)
        texts = [t for trace in fig.data for t in (trace.text or ())]
        assert "-0" not in texts and "−0" not in texts
        barriers, facilitators, net = fig.data
        assert list(barriers.text) == ["0", "1.0"]
        assert list(barriers.y) == [0.0, -1.0]  # per interview: 2 / 2
        assert list(facilitators.y) == [2.0, 2.0]
        assert list(net.text) == ["+2.0", "+1.0"]
        assert "per interview" in fig.layout.title.text


class TestChartsSayWhatTheyShow:
    def test_net_balance_chart_plots_per_interview_with_formatted_hover(self):
        sums = balance(("BIG", "baseline", 89, 0, 54), ("SMALL", "baseline", 9, 0, 6))
        done = pd.DataFrame({"project_code": ["BIG", "SMALL"], "wave": "baseline", "interviews": [30, 3]})
        fig = charts.net_balance_chart(analysis.per_interview(sums, done), WAVES)
        by_name = {trace.name: trace for trace in fig.data}
        assert by_name["BIG"].y[0] == pytest.approx(89 / 30)
        assert by_name["SMALL"].y[0] == 3.0
        assert by_name["BIG"].customdata[0][0] == "+3.0"
        assert by_name["BIG"].customdata[0][1] == "30 interviews, 54 ratings"
        assert "89.0000" not in str(fig.to_dict())
        assert fig.layout.yaxis.title.text == "net balance per interview"

    def test_each_wave_states_its_completeness(self):
        progress = analysis.round_progress(TestFinishedRounds.ROUNDS)
        assert charts.wave_tick("9-month follow-up", progress, "month_9") == (
            "9-month follow-up<br>3 of 5 done<br>in progress"
        )
        assert charts.wave_tick("Baseline", progress, "baseline", sep=", ") == "Baseline, 6 of 6 done"
        fig = charts.completion_chart(
            pd.DataFrame(
                {
                    "wave": ["month_9"],
                    "wave_label": ["9-month follow-up"],
                    "position": [3],
                    "status": ["completed"],
                    "participants": [3],
                }
            ),
            progress,
        )
        assert list(fig.layout.yaxis.ticktext) == ["9-month follow-up<br>3 of 5 done<br>in progress"]

    def test_ordinal_scales_name_their_levels_on_the_axis(self, study_db):
        funding = next(i for i in storage.list_indicators(study_db) if i.indicator_code == "funding_beyond_grant")
        values = pd.DataFrame(
            {"project_code": "P", "wave": "baseline", "indicator_code": "funding_beyond_grant", "value": "2"}, index=[0]
        )
        fig = charts.indicator_small_multiples(values, [funding], WAVES)
        assert list(fig.layout.yaxis.ticktext) == ["0 none", "1 bid made", "2 partial", "3 secured"]

    def test_figures_leave_the_background_to_the_theme(self):
        fig = charts.net_balance_chart(balance(("P", "baseline", 1, 0, 1)))
        assert fig.layout.plot_bgcolor is None and fig.layout.paper_bgcolor is None


class TestStatusNow:
    def test_one_row_per_project_most_at_risk_first(self):
        projects = pd.DataFrame({"project_code": ["A", "B", "C", "D"], "name": ["Arts", "Beat", "Care", "Dens"]})
        outlook = pd.DataFrame(
            {
                "project_code": ["A", "A", "B", "B", "C", "C"],
                "wave": ["baseline", "month_3"] * 3,
                "value": ["green", "green", "green", "amber", "red", "red"],
            }
        )
        sums = balance(
            ("A", "baseline", 10, 0, 5), ("A", "month_3", 4, 0, 2),
            ("B", "baseline", 6, 0, 3), ("B", "month_3", 2, 4, 3),
        )  # fmt: skip
        done = pd.DataFrame(
            {"project_code": ["A", "A", "B", "B"], "wave": ["baseline", "month_3"] * 2, "interviews": [5, 2, 3, 3]}
        )
        progress = analysis.round_progress(
            counts(("A", "month_3", 2, 0, 1, 0, 0, 0), ("B", "month_3", 3, 0, 0, 0, 0, 0)), by_project=True
        )
        overdue = pd.DataFrame({"project_code": ["A"], "overdue": [1]})
        warnings = pd.DataFrame({"project_code": ["B", "B", "A"], "kind": "x", "wave": None, "message": "m"})
        out = analysis.status_now(
            projects, outlook, analysis.per_interview(sums, done), progress, overdue, warnings, WAVES, "month_3"
        )
        assert out.project_code.tolist() == ["C", "B", "A", "D"]  # red, amber (worse), green, never scored
        assert out.risk.tolist() == [1, 2, 3, 4]
        row = out.set_index("project_code")
        assert row.loc["B", "outlook_change"] == "worse"
        assert row.loc["A", "outlook_change"] == "same"
        assert row.loc["D", "outlook_change"] == "not scored"
        assert row.loc["B", "net_per_interview"] == pytest.approx(-2 / 3)
        assert row.loc["B", "net_change"] == pytest.approx(-2 / 3 - 2)
        assert row.loc["A", "net_change"] == 0  # 2 per interview at both
        assert row.loc["A", "round_done"] == "2 of 3"
        assert row.loc[["A", "B", "C"], "overdue"].tolist() == [1, 0, 0]
        assert row.loc[["A", "B"], "warnings"].tolist() == [1, 2]
        shown = page_content.status_display(out)
        assert shown.loc[1, "Net balance per interview"] == "−0.7"
        assert shown.loc[1, "Outlook change"] == "Worse"
        assert shown.loc[3, "Outlook"] == "—"
        assert shown.loc[0, "Project"] == "C · Care"


# Pages on the demo study ------------------------------------------------------------------------------------------


def test_every_demo_project_is_drawn_or_listed_on_the_overview(seeded):
    content = page_content.overview(seeded, EVALUATOR, DEMO_TODAY)
    drawn = {trace.name for trace in content.balance_figure.data}
    assert content.projects == 11
    assert len(drawn) + len(content.balance_missing) == 11
    assert content.balance_shown == len(drawn)
    assert not any(trace.text for trace in content.balance_figure.data)  # no end labels to overprint
    assert content.latest_finished == "month_6"
    assert "9-month follow-up: " in content.completion_text and "in progress" in content.completion_text


def test_status_now_defaults_to_the_latest_finished_round(monkeypatch, seeded_path):
    at = open_page(monkeypatch, seeded_path, viewer=FUNDER)
    point = next(s for s in at.selectbox if s.label == "Follow-up point")
    assert point.value == "month_6"
    table = next(d.value for d in at.dataframe if "Risk rank" in d.value.columns)
    assert len(table) == 11
    assert table["Risk rank"].tolist() == list(range(1, 12))
    assert (table.Project.str.contains(" · ")).all()
    con = storage.connect(seeded_path)
    expected = page_content.status_now(con, FUNDER, DEMO_TODAY, "month_6").table
    con.close()
    pd.testing.assert_frame_equal(table.reset_index(drop=True), expected, check_dtype=False)
    assert any("6-month follow-up" in c.value and "done" in c.value for c in at.caption)
    point.set_value("month_9").run()
    assert any("in progress" in c.value for c in at.caption)


def test_compare_defaults_to_the_latest_finished_round_and_lists_projects_not_drawn(monkeypatch, seeded_path):
    at = open_page(monkeypatch, seeded_path, "pages/compare.py", viewer=FUNDER)
    wave = next(s for s in at.selectbox if s.label == "Wave")
    assert wave.value == "month_6"
    assert wave.format_func("month_9") == "9-month follow-up (in progress)"
    wave.set_value("month_9").run()
    con = storage.connect(seeded_path)
    stats = storage.factor_stats(con, FUNDER)
    con.close()
    rated = sorted(set(stats[stats.wave == "month_9"].project_code))
    missing = sorted(set(stats.project_code) - set(rated))
    assert missing, "the demo has projects with no 9-month ratings yet"
    captions = [c.value for c in at.caption]
    assert f"{len(rated)} of 11 projects shown." in " ".join(captions)
    assert any(c.startswith("No ratings at the 9-month follow-up yet: " + ", ".join(missing)) for c in captions)


def test_team_lands_on_its_own_project(monkeypatch, seeded_path):
    team = Viewer("demo-team-arts", AccountRole.TEAM, frozenset({"ARTS"}))
    at = open_page(monkeypatch, seeded_path, viewer=team)
    con = storage.connect(seeded_path)
    name = con.execute("SELECT name FROM project WHERE project_code = 'ARTS'").fetchone()[0]
    schedule = storage.project_schedule(con, team, "ARTS", DEMO_TODAY)
    con.close()
    assert at.title[0].value == f"{name} (ARTS)"
    assert not at.multiselect  # no portfolio filters
    assert "Portfolio" not in " ".join(t.value for t in at.title)
    assert {m.label for m in at.metric} >= {"Participants", "Interviews completed", "Follow-ups overdue"}
    assert [h.value for h in at.header] == ["The year so far", "Next follow-ups"]
    following = at.dataframe[1].value
    waiting = schedule[schedule.status.isin(["overdue", "due", "upcoming"])]
    assert len(following) == min(10, len(waiting))
    assert following.Due.iloc[0] == display.date_text(waiting.due_date.min())
    assert not following.Participant.str.match(r"^[A-Z]+-\d").any()  # de-identified: role names, no codes


@pytest.mark.parametrize("viewer", [EVALUATOR, FUNDER, Viewer("t", AccountRole.TEAM, frozenset({"ARTS"}))])
def test_glossary_is_open_to_every_role_and_defines_the_terms(monkeypatch, seeded_path, viewer):
    at = open_page(monkeypatch, seeded_path, "pages/glossary.py", viewer=viewer)
    headers = [h.value for h in at.header]
    assert headers == [
        "Net balance",
        "Neutral (0) and mixed (X) ratings",
        "Outlook",
        "What changed: the change classes",
        "Windows and due dates",
        "Finished rounds",
        "De-identification",
        "Double coding and agreement",
    ]
    text = " ".join(m.value for m in at.markdown)
    assert "80%" in text and "in progress" in text
    assert all(name.capitalize() in text for name in analysis.CHANGE_CLASSES)
    assert sum("Demo data" in i.value for i in at.info) == 1


def test_dates_read_as_day_month_year():
    assert display.date_text(dt.date(2026, 11, 4)) == "4 Nov 2026"
    assert display.date_text(pd.Timestamp("2026-02-03 00:00:00")) == "3 Feb 2026"
    assert display.date_text(None) == "—"
    frame = pd.DataFrame(
        {
            "role": ["service_user", None],
            "setting": ["nhs", "voluntary"],
            "due_date": pd.to_datetime(["2026-02-03", None]),
            "host_organisation": ["Trust", None],
        }
    )
    shown = display.readable(frame)
    assert list(shown.columns) == ["Role", "Setting", "Due", "Host organisation"]
    assert shown.Role.tolist() == ["Service user", "—"]
    assert shown.Setting.tolist() == ["NHS", "Voluntary"]
    assert shown.Due.tolist() == ["3 Feb 2026", "—"]
    assert shown["Host organisation"].tolist() == ["Trust", "—"]


@pytest.mark.parametrize(("value", "shown"), [(None, "—"), (float("nan"), "—"), ("", "—"), ("Trust", "Trust")])
def test_empty_text_reads_as_a_dash(value, shown):
    assert display.text_or(value) == shown
