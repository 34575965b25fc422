"""Figures are checked by their data: what is on each axis, the values, the colours, the words."""

import datetime as dt

import pandas as pd
import pytest

from innovation_tracker.domain import analysis, codebook
from innovation_tracker.domain.model import DEFAULT_WAVES, Factor, FactorKind
from innovation_tracker.views import charts
from tests.support.factor_stats import stat, stats_frame

FAC, BAR = FactorKind.FACILITATOR, FactorKind.BARRIER
FACTORS = [
    Factor("c_team", "context", FAC, "Team expertise"),
    Factor("p_champion", "process_outcome", FAC, "Champion action"),
    Factor("c_instability", "context", BAR, "Instability"),
    Factor("p_jealousy", "process_outcome", BAR, "Professional jealousy"),
]
WAVES = list(DEFAULT_WAVES)
WAVE_LABELS = [w.label for w in WAVES]
INDICATORS = codebook.load_indicators()

STATS = stats_frame(
    stat("P1", "baseline", "c_team", 2, 1),
    stat("P1", "month_3", "c_team", 2),
    stat("P1", "baseline", "c_instability", -2),
    stat("P1", "month_3", "p_champion", 1, 1, 2),
    stat("P1", "month_3", "p_jealousy", -1),
    stat("P2", "baseline", "c_team", -1, 1),
    stat("P2", "month_6", "c_team", 2),
    stat("P2", "month_6", "p_jealousy", -2),
)


def test_one_diverging_scale_from_barrier_orange_through_white_to_facilitator_blue():
    assert charts.RATING_SCALE[0] == [0.0, charts.OKABE_ITO["vermillion"]]
    assert charts.RATING_SCALE[2] == [0.5, "#FFFFFF"]
    assert charts.RATING_SCALE[-1] == [1.0, "#0072B2"]
    assert [stop for stop, _ in charts.RATING_SCALE] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert charts.BARRIER_COLOUR == "#D55E00"  # vermillion
    assert charts.FACILITATOR_COLOUR == "#0072B2"


class TestFactorHeatmap:
    def figure(self, evidence=None):
        return charts.factor_heatmap(analysis.factor_trajectory(STATS, FACTORS, WAVES, "P1"), evidence)

    def test_factors_down_grouped_by_domain_and_kind_waves_across(self):
        heat = self.figure().data[0]
        assert list(heat.x) == WAVE_LABELS
        groups, labels = heat.y
        assert list(labels) == ["Team expertise", "Instability", "Champion action", "Professional jealousy"]
        assert list(groups) == [
            "Context facilitators",
            "Context barriers",
            "Process/outcome facilitators",
            "Process/outcome barriers",
        ]

    def test_mean_ratings_with_blanks_where_not_cited(self):
        heat = self.figure().data[0]
        assert [list(row) for row in heat.z] == [
            [1.5, 2.0, None, None, None],
            [-2.0, None, None, None, None],
            [None, pytest.approx(4 / 3), None, None, None],
            [None, -1.0, None, None, None],
        ]
        assert list(heat.text[0]) == ["+1.5", "+2.0", "", "", ""]
        assert list(heat.text[1][:2]) == ["−2.0", ""]

    def test_colour_scale_and_words_on_the_colour_bar(self):
        fig = self.figure()
        heat = fig.data[0]
        assert (heat.zmin, heat.zmax) == (-2, 2)
        assert [list(stop) for stop in heat.colorscale] == charts.RATING_SCALE
        assert list(heat.colorbar.tickvals) == [-2, -1, 0, 1, 2]
        assert list(heat.colorbar.ticktext) == [
            "−2<br>strong barrier",
            "−1<br>barrier",
            "0<br>neutral or mixed",
            "+1<br>facilitator",
            "+2<br>strong facilitator",
        ]
        assert heat.colorbar.orientation == "h", "across the bottom: a phone's width goes to the cells"
        assert fig.layout.plot_bgcolor == charts.NOT_CITED

    def test_hover_carries_n_mean_and_an_escaped_excerpt(self):
        evidence = pd.DataFrame(
            {
                "factor_code": ["c_team", "c_team", "p_champion"],
                "wave": ["baseline", "baseline", "month_3"],
                "excerpt": ["The team <really> knows", "second quote, not shown", "She keeps pushing"],
            }
        )
        heat = self.figure(evidence).data[0]
        assert list(heat.customdata[0][0]) == [
            "cited by 2",
            "+1.5",
            "“The team &lt;really&gt; knows”",
            "Team expertise",
        ]
        assert list(heat.customdata[2][1]) == ["cited by 3", "+1.3", "“She keeps pushing”", "Champion action"]
        assert list(heat.customdata[0][2]) == ["cited by 0", "—", "", "Team expertise"]
        assert "customdata[0]" in heat.hovertemplate and "customdata[2]" in heat.hovertemplate

    def test_with_the_rounds_progress_the_hover_gives_the_share_citing(self):
        progress = pd.DataFrame(
            {
                "wave": ["baseline", "month_3"],
                "wave_label": ["Baseline", "3-month follow-up"],
                "done": [4, 6],
                "expected": [4, 8],
                "finished": [True, False],
            }
        )
        trajectory = analysis.factor_trajectory(STATS[STATS.project_code == "P1"], FACTORS, WAVES, "P1")
        heat = charts.factor_heatmap(trajectory, None, progress)
        assert heat.data[0].customdata[0][0][0] == "cited by 2 of 4 interviewed (50%)"
        assert list(heat.layout.xaxis.ticktext[:2]) == [
            "Baseline<br>4 of 4 done",
            "3-month<br>follow-up<br>6 of 8 done<br>in progress",
        ]

    def test_long_excerpts_are_shortened_and_wrapped(self):
        evidence = pd.DataFrame({"factor_code": ["c_team"], "wave": ["baseline"], "excerpt": ["word " * 200]})
        quote = self.figure(evidence).data[0].customdata[0][0][2]
        assert quote.endswith("…”")
        assert len(quote) < 300
        assert all(len(line) <= 60 for line in quote.split("<br>"))

    def test_height_grows_with_the_rows_so_forty_stay_readable(self):
        stats = stats_frame(*[stat("P1", "baseline", f"f{n:02}", 1) for n in range(40)])
        factors = [Factor(f"f{n:02}", "context", FAC, f"Factor {n}") for n in range(40)]
        fig = charts.factor_heatmap(analysis.factor_trajectory(stats, factors, WAVES, "P1"))
        assert fig.layout.height >= 40 * 24
        assert self.figure().layout.height < fig.layout.height

    def test_title_and_wave_labels_wrapped_on_top(self):
        fig = self.figure()
        assert fig.layout.title.text == "Barriers and facilitators by wave (mean rating)"
        assert fig.layout.xaxis.side == "top"
        assert list(fig.layout.xaxis.ticktext)[1] == "3-month<br>follow-up"


class TestBarriersFacilitators:
    def test_barriers_below_zero_facilitators_above_net_as_a_line(self):
        balance = analysis.net_balance(STATS[STATS.project_code == "P1"], WAVES)
        fig = charts.barriers_facilitators_chart(balance)
        barriers, facilitators, net = fig.data
        assert list(barriers.x) == ["Baseline", "3-month follow-up"]
        assert list(barriers.y) == [-2, -1]
        assert list(facilitators.y) == [3, 6]
        assert list(net.y) == [1, 5]
        assert barriers.marker.color == charts.BARRIER_COLOUR
        assert facilitators.marker.color == charts.FACILITATOR_COLOUR
        assert list(barriers.text) == ["2", "1"]
        assert fig.layout.barmode == "relative"
        assert list(fig.layout.xaxis.ticktext) == ["Baseline<br><b>net +1</b>", "3-month follow-up<br><b>net +5</b>"]

    def test_all_waves_on_the_axis_when_given_and_domains_summed(self):
        balance = analysis.net_balance(STATS[STATS.project_code == "P2"], WAVES, FACTORS, by_domain=True)
        fig = charts.barriers_facilitators_chart(balance, WAVES)
        assert list(fig.data[0].y) == [-1, -2]
        assert list(fig.data[1].y) == [1, 2]
        assert list(fig.data[2].y) == [0, 0]
        assert list(fig.layout.xaxis.categoryarray) == WAVE_LABELS
        assert list(fig.layout.xaxis.ticktext) == [
            "Baseline<br><b>net 0</b>",
            "3-month follow-up",
            "6-month follow-up<br><b>net 0</b>",
            "9-month follow-up",
            "12-month follow-up",
        ]


def indicator_rows(*rows):
    return pd.DataFrame(list(rows), columns=["project_code", "wave", "indicator_code", "value"])


class TestIndicatorSmallMultiples:
    VALUES = indicator_rows(
        ("P1", "baseline", "funding_beyond_grant", "0"),
        ("P1", "month_6", "funding_beyond_grant", "2"),
        ("P1", "baseline", "champion_in_post", "yes"),
        ("P1", "month_3", "champion_in_post", "no"),
        ("P1", "baseline", "service_users_engaged", "12"),
        ("P1", "month_3", "service_users_engaged", "30"),
        ("P1", "baseline", "outlook", "amber"),
        ("P1", "month_3", "outlook", "green"),
    )

    def axis(self, fig, code):
        n = [i.indicator_code for i in INDICATORS].index(code) + 1
        return fig.layout[f"yaxis{n if n > 1 else ''}"]

    def trace(self, fig, code):
        n = [i.indicator_code for i in INDICATORS].index(code)
        return fig.data[n]

    def test_one_panel_per_indicator_with_its_title(self):
        fig = charts.indicator_small_multiples(self.VALUES, INDICATORS, WAVES)
        assert len(fig.data) == len(INDICATORS)
        assert [a.text for a in fig.layout.annotations] == [i.label for i in INDICATORS]
        assert list(fig.data[0].x) == ["Baseline", "3-month", "6-month", "9-month", "12-month"]
        assert not any(trace.showlegend for trace in fig.data)

    @pytest.mark.parametrize(
        ("code", "y", "text"),
        [
            ("funding_beyond_grant", [0.0, None, 2.0, None, None], ["0", "not scored", "2"]),
            ("champion_in_post", [1.0, 0.0, None, None, None], ["yes", "no", "not scored"]),
            ("outlook", [2.0, 3.0, None, None, None], ["amber", "green", "not scored"]),
            ("adoption_elsewhere", [None] * 5, ["not scored"] * 3),
        ],
    )
    def test_values_over_the_waves_with_gaps(self, code, y, text):
        trace = self.trace(charts.indicator_small_multiples(self.VALUES, INDICATORS, WAVES), code)
        assert list(trace.y) == y
        assert list(trace.text)[:3] == text

    @pytest.mark.parametrize(
        ("code", "axis_range", "tickvals", "ticktext"),
        [
            ("funding_beyond_grant", [-0.3, 3.3], [0, 1, 2, 3], ["0 none", "1 bid made", "2 partial", "3 secured"]),
            # padded by 8% of the scale; the levels' words from the description, wrapped
            (
                "embedded_in_host",
                [0.68, 5.32],
                [1, 2, 3, 4, 5],
                ["1 not at all", "2", "3", "4", "5 part of<br>routine service"],
            ),
            ("champion_in_post", [-0.3, 1.3], [0, 1], ["no", "yes"]),
            ("outlook", [0.7, 3.3], [1, 2, 3], ["red", "amber", "green"]),
            ("service_users_engaged", [-2.4, 32.4], None, None),  # counts run from 0 to the most seen
            ("adoption_elsewhere", [-0.3, 1.3], [0, 1], None),  # nothing seen yet: 0..1
        ],
    )
    def test_each_axis_in_the_indicators_own_terms(self, code, axis_range, tickvals, ticktext):
        axis = self.axis(charts.indicator_small_multiples(self.VALUES, INDICATORS, WAVES), code)
        assert list(axis.range) == pytest.approx(axis_range)
        assert (None if axis.tickvals is None else list(axis.tickvals)) == tickvals
        assert (None if axis.ticktext is None else list(axis.ticktext)) == ticktext

    def test_rag_points_wear_their_colour(self):
        trace = self.trace(charts.indicator_small_multiples(self.VALUES, INDICATORS, WAVES), "outlook")
        assert list(trace.marker.color)[:2] == [charts.RAG_COLOURS["amber"], charts.RAG_COLOURS["green"]]

    def test_several_projects_get_a_line_each_and_one_legend(self):
        values = pd.concat([self.VALUES, indicator_rows(("P2", "baseline", "outlook", "red"))])
        fig = charts.indicator_small_multiples(values, INDICATORS, WAVES)
        assert len(fig.data) == 2 * len(INDICATORS)
        assert [t.name for t in fig.data if t.showlegend] == ["P1", "P2"]
        assert fig.data[0].line.color != fig.data[1].line.color

    def test_height_for_four_rows_of_two(self):
        assert charts.indicator_small_multiples(self.VALUES, INDICATORS, WAVES).layout.height == 110 + 230 * 4


SCHEDULE = pd.DataFrame(
    [
        ("P01", "manager", "baseline", "Baseline", "2025-01-01", "2025-01-01", "2025-01-31", "completed", "2025-01-10"),
        ("P01", "manager", "month_3", "3-month follow-up", "2025-04-11", "2025-03-21", "2025-05-02", "overdue", None),
        ("P02", "service_user", "baseline", "Baseline", "2025-02-01", "2025-02-01", "2025-03-03", "missed", None),
        (
            "P02",
            "service_user",
            "month_3",
            "3-month follow-up",
            "2025-05-03",
            "2025-04-12",
            "2025-05-24",
            "upcoming",
            None,
        ),
    ],
    columns=[
        "participant_code",
        "role",
        "wave",
        "wave_label",
        "due_date",
        "window_open",
        "window_close",
        "status",
        "interview_date",
    ],
)
DATE_COLUMNS = ["due_date", "window_open", "window_close", "interview_date"]
SCHEDULE[DATE_COLUMNS] = SCHEDULE[DATE_COLUMNS].apply(pd.to_datetime)
MILESTONES = pd.DataFrame(
    {
        "milestone_date": pd.to_datetime(["2025-03-15", "2025-02-20"]),
        "kind": ["funding_decision", "launch"],
        "title": ["Commissioners agree to fund a second year of the service", "Launch"],
    }
)
DAY_MS = 24 * 3600 * 1000


class TestTimeline:
    def figure(self, **kwargs):
        return charts.timeline_chart(SCHEDULE, MILESTONES, WAVES, **kwargs)

    def traces(self, fig):
        return {trace.name: trace for trace in fig.data}

    def test_windows_are_bands_from_open_to_close(self):
        band = self.traces(self.figure())["Interview window"]
        assert band.type == "bar" and band.orientation == "h"
        assert list(band.y) == ["P01 · Manager", "P01 · Manager", "P02 · Service user", "P02 · Service user"]
        assert list(band.base) == ["2025-01-01", "2025-03-21", "2025-02-01", "2025-04-12"]
        assert list(band.x) == [31 * DAY_MS, 43 * DAY_MS, 31 * DAY_MS, 43 * DAY_MS]
        assert band.marker.color == charts.WINDOW_COLOUR

    def test_due_dates_hollow_and_what_happened_filled_by_status(self):
        traces = self.traces(self.figure())
        due = traces["Due date"]
        assert due.marker.symbol == "circle-open"
        assert list(due.x) == ["2025-01-01", "2025-04-11", "2025-02-01", "2025-05-03"]
        completed = traces["Completed (interview date)"]
        assert (list(completed.x), list(completed.y)) == (["2025-01-10"], ["P01 · Manager"])
        assert completed.marker.color == charts.STATUS_COLOURS["completed"]
        overdue = traces["Overdue"]
        assert list(overdue.x) == ["2025-04-11"]  # no interview: shown at its due date
        assert overdue.marker.color == charts.STATUS_COLOURS["overdue"]
        assert overdue.marker.symbol == "triangle-up"
        assert traces["Missed"].marker.symbol == "x"
        # Upcoming is the hollow due marker alone; statuses that do not occur get no legend entry.
        assert set(traces) == {
            "Interview window",
            "Due date",
            "Completed (interview date)",
            "Overdue",
            "Missed",
            "Milestone",
        }

    def test_milestones_are_dashed_lines_with_short_labels_in_date_order(self):
        fig = self.figure()
        assert [(s.x0, s.line.dash) for s in fig.layout.shapes] == [("2025-02-20", "dash"), ("2025-03-15", "dash")]
        assert [a.text for a in fig.layout.annotations] == ["Launch", "Commissioners agree to fund…"]
        assert self.traces(fig)["Milestone"].line.dash == "dash"

    def test_today_is_a_solid_line(self):
        fig = self.figure(today=dt.date(2025, 4, 1))
        assert [(s.x0, s.line.dash) for s in fig.layout.shapes][-1] == ("2025-04-01", "solid")
        assert fig.layout.annotations[-1].text == "today"

    def test_participants_in_order_one_row_each_and_no_role_twice(self):
        fig = self.figure()
        assert list(fig.layout.yaxis.categoryarray) == ["P01 · Manager", "P02 · Service user"]
        pseudonymous = SCHEDULE.assign(participant_code=["P1 · Manager A"] * 2 + ["P1 · Service user A"] * 2)
        rows = charts.timeline_chart(pseudonymous, None, WAVES).data[0].y
        assert list(dict.fromkeys(rows)) == ["P1 · Manager A", "P1 · Service user A"]

    def test_plain_dates_work_as_well_as_timestamps(self):
        dated = SCHEDULE.copy()
        for column in DATE_COLUMNS:
            dated[column] = [None if pd.isna(v) else v.date() for v in SCHEDULE[column]]
        fig = charts.timeline_chart(dated, MILESTONES.iloc[0:0], WAVES)
        assert list(fig.data[0].base) == ["2025-01-01", "2025-03-21", "2025-02-01", "2025-04-12"]
        assert not fig.layout.shapes


def balance_for(projects):
    rows = [stat(p, w, "c_team", 1) for n, p in enumerate(projects) for w in ("baseline", "month_3")[: 1 + n % 2]]
    return analysis.net_balance(stats_frame(*rows), WAVES)


class TestNetBalanceChart:
    def test_one_line_per_project_named_in_the_legend(self):
        fig = charts.net_balance_chart(analysis.net_balance(STATS, WAVES))
        p1, p2 = fig.data
        assert (p1.name, list(p1.x), list(p1.y)) == ("P1", ["Baseline", "3-month follow-up"], [1, 5])
        assert (p2.name, list(p2.x), list(p2.y)) == ("P2", ["Baseline", "6-month follow-up"], [0, 0])
        assert p1.text is None  # labels at the lines' ends overprinted one another
        assert p1.showlegend is not False
        assert list(fig.layout.xaxis.categoryarray) == ["Baseline", "3-month follow-up", "6-month follow-up"]

    def test_zero_line_stands_out(self):
        axis = charts.net_balance_chart(analysis.net_balance(STATS, WAVES)).layout.yaxis
        assert axis.zeroline and axis.zerolinewidth >= 2

    def test_beyond_eight_projects_dash_and_marker_change_too(self):
        fig = charts.net_balance_chart(balance_for([f"P{n:02}" for n in range(10)]))
        assert len(fig.data) == 10
        colours = [t.line.color for t in fig.data]
        assert len(set(colours[:8])) == 8 and colours[8] == colours[0]
        assert [t.line.dash for t in fig.data] == ["solid"] * 8 + ["dash"] * 2
        assert fig.data[8].marker.symbol != fig.data[0].marker.symbol
        assert charts.OKABE_ITO["yellow"] not in colours

    def test_by_domain_balance_is_summed_per_wave(self):
        fig = charts.net_balance_chart(analysis.net_balance(STATS, WAVES, FACTORS, by_domain=True))
        assert list(fig.data[0].y) == [1, 5]

    def test_all_waves_on_the_axis_when_given(self):
        fig = charts.net_balance_chart(analysis.net_balance(STATS, WAVES), WAVES)
        assert list(fig.layout.xaxis.categoryarray) == WAVE_LABELS


PROJECTS = pd.DataFrame(
    {
        "project_code": ["P1", "P2", "P3"],
        "name": ["One", "Two", "Three"],
        "setting": ["nhs", "community", "voluntary"],
        "relation_to_statutory": ["internal", "external", "external"],
        "status": ["active"] * 3,
    }
)


def citations(*pairs):
    return pd.DataFrame(list(pairs), columns=["project_code", "factor_code"])


class TestCitationChart:
    def figure(self):
        baseline = analysis.citation_counts(
            citations(("P1", "c_team"), ("P2", "c_team"), ("P3", "c_instability")), PROJECTS, FACTORS
        )
        latest = analysis.citation_counts(citations(("P1", "p_champion"), ("P3", "c_team")), PROJECTS, FACTORS)
        return charts.citation_chart(baseline, latest, "Baseline", "9-month follow-up")

    def test_two_waves_side_by_side_in_the_order_of_the_first_table(self):
        first, second = self.figure().data
        assert (first.name, second.name) == ("Baseline", "9-month follow-up")
        assert first.orientation == second.orientation == "h"
        assert list(first.y[1]) == ["Team expertise", "Instability", "Champion action", "Professional jealousy"]
        assert list(first.y[1]) == list(second.y[1])
        assert list(first.x) == [2, 1, 0, 0]
        assert list(second.x) == [1, 0, 1, 0]
        assert first.marker.color != second.marker.color

    def test_percent_in_the_hover_and_counts_as_text(self):
        first, second = self.figure().data
        assert [list(c) for c in second.customdata][0] == ["Team expertise", pytest.approx(100 / 3)]
        assert list(first.text) == ["2", "1", "0", "0"]

    def test_layout(self):
        fig = self.figure()
        assert fig.layout.barmode == "group"
        assert fig.layout.title.text == "Projects citing each factor (count): Baseline and 9-month follow-up"
        assert fig.layout.xaxis.title.text == "projects citing (a count)"
        assert fig.layout.height == 180 + 30 * 4


class TestChangeMatrixChart:
    MATRIX = analysis.change_matrix(STATS, "baseline", "month_3")

    def test_difference_from_minus_four_to_four(self):
        heat = charts.change_matrix_chart(self.MATRIX, factors=FACTORS).data[0]
        assert (heat.zmin, heat.zmax) == (-4, 4)
        assert list(heat.x) == ["P1", "P2"]
        assert list(heat.y[1]) == ["Team expertise"]  # only factors with a difference somewhere
        assert [list(row) for row in heat.z] == [[0.5, None]]
        assert [list(c) for c in heat.colorscale] == charts.RATING_SCALE
        assert list(heat.colorbar.ticktext)[0] == "−4<br>much worse"

    @pytest.mark.parametrize(("value", "z"), [("mean_a", [[1.5, 0.0], [-2.0, None]]), ("mean_b", None)])
    def test_means_from_minus_two_to_two(self, value, z):
        heat = charts.change_matrix_chart(self.MATRIX, value=value, factors=FACTORS).data[0]
        assert (heat.zmin, heat.zmax) == (-2, 2)
        if z is not None:
            assert list(heat.y[1]) == ["Team expertise", "Instability"]
            assert [list(row) for row in heat.z] == z
        else:
            assert list(heat.y[1]) == ["Team expertise", "Champion action", "Professional jealousy"]
            assert [list(row) for row in heat.z] == [[2.0, None], [pytest.approx(4 / 3), None], [-1.0, None]]

    def test_without_the_codebook_rows_are_factor_codes(self):
        heat = charts.change_matrix_chart(self.MATRIX, value="mean_a").data[0]
        assert list(heat.y) == ["c_instability", "c_team"]

    def test_an_unknown_value_is_refused(self):
        with pytest.raises(ValueError, match="diff, mean_a, mean_b"):
            charts.change_matrix_chart(self.MATRIX, value="delta")


EMPTY_STATS = STATS.iloc[0:0]


@pytest.mark.parametrize(
    ("build", "title"),
    [
        (
            lambda: charts.factor_heatmap(analysis.factor_trajectory(EMPTY_STATS, FACTORS, WAVES, "P1")),
            "Barriers and facilitators by wave (mean rating)",
        ),
        (
            lambda: charts.barriers_facilitators_chart(analysis.net_balance(EMPTY_STATS, WAVES)),
            "Barriers and facilitators per wave (sums)",
        ),
        (lambda: charts.indicator_small_multiples(indicator_rows(), [], WAVES), "Sustainability indicators by wave"),
        (lambda: charts.timeline_chart(SCHEDULE.iloc[0:0], MILESTONES, WAVES), "Scheduled and actual interviews"),
        (
            lambda: charts.net_balance_chart(analysis.net_balance(EMPTY_STATS, WAVES)),
            "Net balance of facilitators over barriers (sums)",
        ),
        (
            lambda: charts.change_matrix_chart(analysis.change_matrix(EMPTY_STATS, "baseline", "month_3")),
            "Change in mean rating between the two waves",
        ),
    ],
)
def test_no_data_gives_a_titled_figure_that_says_so(build, title):
    fig = build()
    assert fig.layout.title.text == title
    assert fig.data == ()
    assert len(fig.layout.annotations) == 1 and fig.layout.annotations[0].text.startswith("No")


def test_indicators_scored_but_not_for_any_project_still_draw_every_panel():
    fig = charts.indicator_small_multiples(indicator_rows(), INDICATORS, WAVES)
    assert len(fig.layout.annotations) == len(INDICATORS)
    assert fig.data == ()


def test_a_frozen_figure_gives_the_same_dict_made_once():
    made = charts.net_balance_chart(
        pd.DataFrame({"project_code": ["A", "A"], "wave": ["baseline", "month_3"], "wave_label": ["Baseline", "3"],
                      "position": [0, 1], "facilitator_weight": [3, 4], "barrier_weight": [1, 2], "net": [2, 2],
                      "n_ratings": [2, 3]}),
        list(DEFAULT_WAVES),
    )  # fmt: skip
    expected = made.to_dict()
    frozen = charts.frozen(made)
    assert frozen is made and isinstance(frozen, charts.FrozenFigure)
    assert frozen.to_dict() == expected
    assert frozen.to_dict() is frozen.to_dict()
    assert charts.frozen(None) is None


def balance_rows(net_at_month_3: float) -> pd.DataFrame:
    return pd.DataFrame(
        {"project_code": ["A", "A"], "wave": ["baseline", "month_3"], "wave_label": ["Baseline", "3"],
         "position": [0, 1], "facilitator_weight": [3, 4], "barrier_weight": [1, 2], "net": [2, net_at_month_3],
         "n_ratings": [2, 3]}
    )  # fmt: skip


def test_a_chart_is_drawn_again_only_when_what_it_is_drawn_from_changed():
    first = charts.drawn(charts.net_balance_chart, balance_rows(2), WAVES)
    assert isinstance(first, charts.FrozenFigure)
    assert first.to_dict() == charts.net_balance_chart(balance_rows(2), WAVES).to_dict()
    # the same values held another way (as a write's splice leaves them: pieces put together) give the same figure
    spliced = pd.concat([balance_rows(2).iloc[:1], balance_rows(2).iloc[1:]])
    assert charts.drawn(charts.net_balance_chart, spliced, WAVES) is first
    changed = charts.drawn(charts.net_balance_chart, balance_rows(3), WAVES)
    assert changed is not first and list(changed.data[0].y) != list(first.data[0].y)
    # another function of the same data, or the same one with other arguments, is another figure
    assert charts.drawn(charts.net_balance_chart, balance_rows(2), WAVES[:2]) is not first
    assert charts.drawn(charts.net_balance_chart, balance_rows(2), WAVES) is first
