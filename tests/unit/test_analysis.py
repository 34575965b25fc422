"""The trajectory analyses on small hand-made frames whose every number can be worked out on paper."""

import math

import numpy as np
import pandas as pd
import pytest

from innovation_tracker.domain import analysis
from innovation_tracker.domain.model import DEFAULT_WAVES, Factor, FactorKind
from tests.support.factor_stats import stat, stats_frame

FAC, BAR, EITHER = FactorKind.FACILITATOR, FactorKind.BARRIER, FactorKind.EITHER
# Deliberately not in display order: domains and kinds are interleaved, as in the real codebook.
FACTORS = [
    Factor("c_team", "context", FAC, "Team expertise", paper_projects=10),
    Factor("p_champion", "process_outcome", FAC, "Champion action", paper_projects=11),
    Factor("c_instability", "context", BAR, "Instability", paper_projects=6),
    Factor("c_networks", "context", FAC, "Strong networks", paper_projects=3),
    Factor("c_goal", "context", FAC, "Shared goal", paper_projects=5),
    Factor("p_jealousy", "process_outcome", BAR, "Professional jealousy", paper_projects=2),
    Factor("p_comms", "process_outcome", EITHER, "Communication"),
]
DISPLAY_ORDER = ["c_team", "c_networks", "c_goal", "c_instability", "p_champion", "p_jealousy", "p_comms"]
WAVES = list(DEFAULT_WAVES)
WAVE_CODES = [w.wave for w in WAVES]
LABELS = {w.wave: w.label for w in WAVES}


def records(frame, columns):
    """Rows as tuples with NaN turned into None, so expected values can be written literally."""
    return [tuple(None if pd.isna(v) else v for v in row) for row in frame[columns].itertuples(index=False)]


STATS = stats_frame(
    stat("P1", "month_3", "p_champion", 2, 2, 1),
    stat("P1", "baseline", "c_team", 2, 1),
    stat("P1", "baseline", "c_instability", -2, -1, -1),
    stat("P1", "month_3", "c_team", 1),
    stat("P1", "month_3", "p_comms", 1, -1),
    stat("P2", "baseline", "c_goal", 2),
    stat("P2", "month_6", "c_goal", 1, 1),
)


class TestFactorTrajectory:
    def test_one_row_per_cited_factor_and_wave_in_display_order(self):
        out = analysis.factor_trajectory(STATS, FACTORS, WAVES, "P1")
        assert list(out.columns) == analysis.TRAJECTORY_COLUMNS
        cited = ["c_team", "c_instability", "p_champion", "p_comms"]
        assert list(out.factor_code) == [code for code in cited for _ in WAVES]
        assert list(out.wave) == WAVE_CODES * len(cited)
        assert list(out.wave_label[:5]) == [w.label for w in WAVES]

    def test_counts_and_means_where_cited_and_gaps_elsewhere(self):
        out = analysis.factor_trajectory(STATS, FACTORS, WAVES, "P1").set_index(["factor_code", "wave"])
        assert out.loc[("c_team", "baseline"), "mean_rating"] == 1.5
        assert out.loc[("c_team", "month_3"), "mean_rating"] == 1.0
        assert out.loc[("c_instability", "baseline"), ["n", "n_barrier", "n_facilitator"]].tolist() == [3, 3, 0]
        assert out.loc[("c_instability", "baseline"), "mean_rating"] == pytest.approx(-4 / 3)
        assert out.loc[("p_champion", "month_3"), "mean_rating"] == pytest.approx(5 / 3)
        assert out.loc[("p_comms", "month_3"), ["n", "n_barrier", "n_facilitator", "mean_rating"]].tolist() == [
            2,
            1,
            1,
            0.0,
        ]
        gap = out.loc[("c_team", "month_6")]
        assert [gap.n, gap.n_barrier, gap.n_facilitator] == [0, 0, 0]
        assert math.isnan(gap.mean_rating)

    def test_carries_the_codebook_label_domain_and_kind(self):
        out = analysis.factor_trajectory(STATS, FACTORS, WAVES, "P1").drop_duplicates("factor_code")
        assert records(out, ["label", "domain", "kind"]) == [
            ("Team expertise", "context", "facilitator"),
            ("Instability", "context", "barrier"),
            ("Champion action", "process_outcome", "facilitator"),
            ("Communication", "process_outcome", "either"),
        ]

    def test_other_projects_never_leak_in(self):
        out = analysis.factor_trajectory(STATS, FACTORS, WAVES, "P2")
        assert set(out.factor_code) == {"c_goal"}
        assert out.n.tolist() == [1, 0, 2, 0, 0]

    @pytest.mark.parametrize("project", ["P9", "P1"])
    def test_nothing_rated_gives_an_empty_frame_with_the_columns(self, project):
        stats = STATS if project == "P9" else STATS.iloc[0:0]
        out = analysis.factor_trajectory(stats, FACTORS, WAVES, project)
        assert out.empty
        assert list(out.columns) == analysis.TRAJECTORY_COLUMNS


class TestNetBalance:
    def test_weights_per_project_and_wave_in_schedule_order(self):
        out = analysis.net_balance(STATS.iloc[::-1], WAVES)
        assert records(out, ["project_code", "wave", "facilitator_weight", "barrier_weight", "net", "n_ratings"]) == [
            ("P1", "baseline", 3, 4, -1, 5),
            ("P1", "month_3", 7, 1, 6, 6),
            ("P2", "baseline", 2, 0, 2, 1),
            ("P2", "month_6", 2, 0, 2, 2),
        ]
        assert list(out.wave_label) == [LABELS[w] for w in out.wave]
        assert list(out.position) == [0, 1, 0, 2]

    def test_a_wave_without_ratings_has_no_row(self):
        out = analysis.net_balance(STATS, WAVES)
        assert "month_3" not in set(out[out.project_code == "P2"].wave)

    def test_by_domain_splits_each_wave(self):
        out = analysis.net_balance(STATS, WAVES, FACTORS, by_domain=True)
        p1 = out[out.project_code == "P1"]
        assert records(p1, ["wave", "domain", "facilitator_weight", "barrier_weight", "net", "n_ratings"]) == [
            ("baseline", "context", 3, 4, -1, 5),
            ("month_3", "context", 1, 0, 1, 1),
            ("month_3", "process_outcome", 6, 1, 5, 5),
        ]

    def test_by_domain_needs_the_codebook(self):
        with pytest.raises(ValueError, match="factors"):
            analysis.net_balance(STATS, WAVES, by_domain=True)

    def test_empty_stats(self):
        out = analysis.net_balance(STATS.iloc[0:0], WAVES)
        assert out.empty
        assert {"facilitator_weight", "barrier_weight", "net", "n_ratings"} <= set(out.columns)


CHANGE_STATS = stats_frame(
    stat("P1", "baseline", "c_team", 1, 2),  # 1.5 -> 2.0: +0.5, improved at the threshold
    stat("P1", "month_6", "c_team", 2, 2),
    stat("P1", "baseline", "c_networks", 1, 1),  # 1.0 -> 2.0: +1.0, improved
    stat("P1", "month_6", "c_networks", 2),
    stat("P1", "baseline", "c_instability", -1, -2),  # -1.5 -> -2.0: worsened at the threshold
    stat("P1", "month_6", "c_instability", -2, -2),
    stat("P1", "baseline", "p_champion", 2, 1),  # 1.5 -> 1.33: steady
    stat("P1", "month_6", "p_champion", 2, 1, 1),
    stat("P1", "baseline", "p_jealousy", -1),  # gone at month 6
    stat("P1", "month_6", "c_goal", 1),  # new at month 6
    stat("P1", "month_3", "p_comms", 2),  # a wave not compared
    stat("P2", "month_6", "p_comms", -2),  # another project
)


class TestWaveChanges:
    def test_classes_sizes_and_order(self):
        out = analysis.wave_changes(CHANGE_STATS, FACTORS, "P1", "baseline", "month_6")
        assert list(out.columns) == analysis.CHANGE_COLUMNS
        assert records(out, ["factor_code", "change", "n_a", "n_b"]) == [
            ("c_goal", "emerged", 0, 1),
            ("p_jealousy", "disappeared", 1, 0),
            ("c_networks", "improved", 2, 1),
            ("c_team", "improved", 2, 2),
            ("c_instability", "worsened", 2, 2),
            ("p_champion", "steady", 2, 3),
        ]
        by_code = out.set_index("factor_code")
        assert by_code.loc["c_networks", ["mean_a", "mean_b", "delta"]].tolist() == [1.0, 2.0, 1.0]
        assert by_code.loc["c_instability", "delta"] == -0.5
        assert by_code.loc["p_champion", "delta"] == pytest.approx(4 / 3 - 1.5)
        assert math.isnan(by_code.loc["c_goal", "mean_a"]) and by_code.loc["c_goal", "mean_b"] == 1.0
        assert math.isnan(by_code.loc["p_jealousy", "delta"])
        assert by_code.loc["p_jealousy", ["label", "domain", "kind"]].tolist() == [
            "Professional jealousy",
            "process_outcome",
            "barrier",
        ]

    @pytest.mark.parametrize(
        ("ratings_a", "ratings_b", "expected"),
        [
            ((1,), (2,), "improved"),
            ((2,), (1,), "worsened"),
            ((1, 2), (1, 1, 2), "steady"),  # 1.5 -> 1.33
            ((1, 1), (1, 2), "improved"),  # exactly +0.5
            ((1, 2), (1, 1), "worsened"),  # exactly -0.5
            ((-1, 1), (-1, 1), "steady"),
            ((), (-1,), "emerged"),
            ((2,), (), "disappeared"),
            # 0.2 -> 0.7 is 0.49999999999999994 in floating point: still a rise of half a point.
            ((1, 1, 1, -1, -1), (1,) * 9 + (-2,), "improved"),
            ((1,) * 9 + (-2,), (1, 1, 1, -1, -1), "worsened"),
        ],
    )
    def test_threshold(self, ratings_a, ratings_b, expected):
        rows = [stat("P1", "baseline", "p_comms", *ratings_a)] if ratings_a else []
        rows += [stat("P1", "month_3", "p_comms", *ratings_b)] if ratings_b else []
        out = analysis.wave_changes(stats_frame(*rows), FACTORS, "P1", "baseline", "month_3")
        assert out.change.tolist() == [expected]

    def test_float_edge_really_is_below_the_threshold(self):
        assert analysis.CHANGE_THRESHOLD > 7 / 10 - 1 / 5  # the means 0.7 and 0.2

    def test_nothing_cited_at_either_wave(self):
        out = analysis.wave_changes(CHANGE_STATS, FACTORS, "P1", "month_9", "month_12")
        assert out.empty
        assert list(out.columns) == analysis.CHANGE_COLUMNS

    def test_every_class_has_a_plain_english_explanation(self):
        assert list(analysis.CHANGE_CLASSES) == ["emerged", "disappeared", "improved", "worsened", "steady"]
        assert all(text.endswith(".") and len(text) > 20 for text in analysis.CHANGE_CLASSES.values())
        assert analysis.CHANGE_THRESHOLD == 0.5


PROJECTS = pd.DataFrame(
    [
        ("P1", "One", "nhs", "internal", "active"),
        ("P2", "Two", "community", "external", "active"),
        ("P3", "Three", "voluntary", "external", "stalled"),
        ("P4", "Four", "nhs", "external", "mainstreamed"),
    ],
    columns=["project_code", "name", "setting", "relation_to_statutory", "status"],
)
CITATIONS = pd.DataFrame(
    [
        ("P1", "c_goal"),
        ("P2", "c_goal"),
        ("P2", "c_networks"),
        ("P3", "c_networks"),
        ("P1", "c_instability"),
        ("P4", "p_champion"),
        ("P1", "c_goal"),  # a duplicate counts once
        ("P9", "c_team"),  # a project outside the set (e.g. not visible) is not counted
    ],
    columns=["project_code", "factor_code"],
)


class TestCitationCounts:
    def test_whole_portfolio_in_the_papers_order(self):
        out = analysis.citation_counts(CITATIONS, PROJECTS, FACTORS)
        assert list(out.columns) == analysis.CITATION_COLUMNS
        assert records(out, ["factor_code", "projects_citing", "percent", "paper_projects"]) == [
            ("c_goal", 2, 50.0, 5),  # ties on 2 go by label: Shared goal before Strong networks
            ("c_networks", 2, 50.0, 3),
            ("c_team", 0, 0.0, 10),
            ("c_instability", 1, 25.0, 6),
            ("p_champion", 1, 25.0, 11),
            ("p_jealousy", 0, 0.0, 2),
            ("p_comms", 0, 0.0, None),
        ]
        assert str(out.paper_projects.dtype) == "Int64"

    @pytest.mark.parametrize(
        ("setting", "relation", "expected"),
        [
            ("nhs", None, {"c_goal": (1, 50.0), "c_instability": (1, 50.0), "p_champion": (1, 50.0)}),
            (None, "external", {"c_goal": (1, 100 / 3), "c_networks": (2, 200 / 3), "p_champion": (1, 100 / 3)}),
            (["nhs", "community"], "external", {"c_goal": (1, 50.0), "c_networks": (1, 50.0), "p_champion": (1, 50.0)}),
            (
                [],
                [],
                {"c_goal": (2, 50.0), "c_networks": (2, 50.0), "c_instability": (1, 25.0), "p_champion": (1, 25.0)},
            ),
        ],
    )
    def test_filters(self, setting, relation, expected):
        out = analysis.citation_counts(CITATIONS, PROJECTS, FACTORS, setting=setting, relation=relation)
        cited = out[out.projects_citing > 0].set_index("factor_code")
        assert set(cited.index) == set(expected)
        for code, (count, percent) in expected.items():
            assert cited.loc[code, "projects_citing"] == count
            assert cited.loc[code, "percent"] == pytest.approx(percent)

    def test_an_empty_selection_gives_zero_not_a_division_error(self):
        out = analysis.citation_counts(CITATIONS, PROJECTS, FACTORS, setting="voluntary", relation="internal")
        assert len(out) == len(FACTORS)
        assert out.projects_citing.tolist() == [0] * len(FACTORS)
        assert out.percent.tolist() == [0.0] * len(FACTORS)


class TestChangeMatrix:
    def test_means_and_difference_only_where_both_waves_rated(self):
        out = analysis.change_matrix(CHANGE_STATS, "baseline", "month_6")
        assert list(out.columns) == analysis.MATRIX_COLUMNS
        assert records(out, analysis.MATRIX_COLUMNS) == [
            ("P1", "c_goal", None, 1.0, None),
            ("P1", "c_instability", -1.5, -2.0, -0.5),
            ("P1", "c_networks", 1.0, 2.0, 1.0),
            ("P1", "c_team", 1.5, 2.0, 0.5),
            ("P1", "p_champion", 1.5, pytest.approx(4 / 3), pytest.approx(4 / 3 - 1.5)),
            ("P1", "p_jealousy", -1.0, None, None),
            ("P2", "p_comms", None, -2.0, None),
        ]

    @pytest.mark.parametrize("stats", [STATS.iloc[0:0], CHANGE_STATS[CHANGE_STATS.wave == "month_12"]])
    def test_no_ratings_at_either_wave(self, stats):
        out = analysis.change_matrix(stats, "baseline", "month_3")
        assert out.empty
        assert list(out.columns) == analysis.MATRIX_COLUMNS

    def test_the_same_wave_twice_is_the_matrix_at_that_wave(self):
        out = analysis.change_matrix(CHANGE_STATS, "month_3", "month_3")
        assert records(out, analysis.MATRIX_COLUMNS) == [("P1", "p_comms", 2.0, 2.0, 0.0)]


def balance_frame(*rows):
    frame = pd.DataFrame(list(rows), columns=["project_code", "wave", "net", "n_ratings"])
    return frame.assign(wave_label=frame.wave.map(LABELS))


class TestEarlyWarnings:
    def test_balance_is_compared_only_between_finished_rounds(self):
        balance = balance_frame(("P1", "baseline", 9, 6), ("P1", "month_3", 2, 2), ("P1", "month_6", 1, 6))
        kwargs = dict(overdue=None, outlook=None, scored=None, waves=WAVES)
        unfinished = pd.DataFrame({"project_code": ["P1"], "wave": ["baseline"]})
        out = analysis.early_warnings(balance=balance, completed_waves=unfinished, **kwargs)
        assert "balance_worsened" not in set(out.kind)
        finished = pd.DataFrame({"project_code": ["P1", "P1"], "wave": ["baseline", "month_6"]})
        out = analysis.early_warnings(balance=balance, completed_waves=finished, **kwargs)
        out = out[out.kind == "balance_worsened"]
        assert out.message.tolist() == ["Net factor balance fell from +9 (Baseline) to +1 (6-month follow-up)"]

    def test_every_kind_sorted_by_project_then_kind(self):
        out = analysis.early_warnings(
            overdue=pd.DataFrame({"project_code": ["P1", "P2", "P3"], "overdue": [0, 3, 1]}),
            outlook=pd.DataFrame(
                [
                    ("P1", "month_3", "amber"),
                    ("P1", "baseline", "green"),
                    ("P2", "baseline", "amber"),
                    ("P2", "month_3", "red"),
                    ("P2", "month_6", "green"),
                    ("P3", "baseline", "green"),
                    ("P3", "month_3", None),
                    ("P3", "month_6", "red"),
                ],
                columns=["project_code", "wave", "value"],
            ),
            balance=balance_frame(
                ("P1", "month_3", 1, 4),
                ("P1", "baseline", 5, 6),
                ("P2", "baseline", -2, 3),
                ("P2", "month_6", -4, 3),
                ("P3", "baseline", 7, 2),
                ("P4", "baseline", 2, 2),
                ("P4", "month_3", 2, 2),
            ),
            scored=pd.DataFrame({"project_code": ["P1", "P1"], "wave": ["baseline", "month_3"]}),
            completed_waves=pd.DataFrame(
                {"project_code": ["P1", "P1", "P1", "P2"], "wave": ["baseline", "month_3", "month_6", "baseline"]}
            ),
            waves=WAVES,
        )
        assert list(out.columns) == analysis.WARNING_COLUMNS
        assert records(out, analysis.WARNING_COLUMNS) == [
            ("P1", "outlook_worsened", "month_3", "Outlook fell from green (Baseline) to amber (3-month follow-up)"),
            (
                "P1",
                "balance_worsened",
                "month_3",
                "Net factor balance fell from +5 (Baseline) to +1 (3-month follow-up)",
            ),
            (
                "P1",
                "missing_scores",
                "month_6",
                "6-month follow-up round is finished but no sustainability indicators were scored",
            ),
            ("P2", "overdue", None, "3 follow-ups overdue"),
            (
                "P2",
                "missing_scores",
                "baseline",
                "Baseline round is finished but no sustainability indicators were scored",
            ),
            ("P3", "overdue", None, "1 follow-up overdue"),
            # The unscored 3-month wave is skipped: the drop is measured against the last wave that was scored.
            ("P3", "outlook_worsened", "month_6", "Outlook fell from green (Baseline) to red (6-month follow-up)"),
        ]

    def test_a_by_domain_balance_is_judged_on_the_whole_net(self):
        baseline = [stat("P1", "baseline", "c_team", 2), stat("P1", "baseline", "p_jealousy", -1)]
        # Context falls 2 -> 1 but process rises -1 -> +2: the net rises from 1 to 3, so no warning.
        better = stats_frame(*baseline, stat("P1", "month_3", "c_team", 1), stat("P1", "month_3", "p_champion", 2))
        balance = analysis.net_balance(better, WAVES, FACTORS, by_domain=True)
        assert analysis.early_warnings(None, None, balance, None, None, WAVES).empty
        worse = stats_frame(*baseline, stat("P1", "month_3", "c_team", 2), stat("P1", "month_3", "p_jealousy", -2))
        balance = analysis.net_balance(worse, WAVES, FACTORS, by_domain=True)
        out = analysis.early_warnings(None, None, balance, None, None, WAVES)
        assert out.message.tolist() == ["Net factor balance fell from +1 (Baseline) to 0 (3-month follow-up)"]

    def test_nothing_to_report(self):
        out = analysis.early_warnings(None, None, None, None, None, WAVES)
        assert out.empty
        assert list(out.columns) == analysis.WARNING_COLUMNS

    def test_empty_frames_are_as_good_as_none(self):
        empty = pd.DataFrame(columns=["project_code", "wave"])
        out = analysis.early_warnings(
            pd.DataFrame(columns=["project_code", "overdue"]),
            pd.DataFrame(columns=["project_code", "wave", "value"]),
            analysis.net_balance(STATS.iloc[0:0], WAVES),
            empty,
            empty,
            WAVES,
        )
        assert out.empty

    def test_every_kind_is_explained(self):
        assert list(analysis.WARNING_KINDS) == ["overdue", "outlook_worsened", "balance_worsened", "missing_scores"]


def test_means_are_plain_floats_not_integers():
    out = analysis.factor_trajectory(STATS, FACTORS, WAVES, "P1")
    assert out.mean_rating.dtype == np.float64


class TestFilters:
    PROJECTS = pd.DataFrame(
        {
            "project_code": ["A", "B", "C"],
            "setting": ["nhs", "voluntary", "nhs"],
            "relation_to_statutory": ["internal", "external", "external"],
        }
    )

    @pytest.mark.parametrize(
        "settings, relations, expected",
        [
            (None, None, ["A", "B", "C"]),
            ([], [], ["A", "B", "C"]),
            (["nhs"], None, ["A", "C"]),
            (["nhs"], ["external"], ["C"]),
            (["community"], None, []),
        ],
    )
    def test_filter_projects(self, settings, relations, expected):
        assert analysis.filter_projects(self.PROJECTS, settings, relations).project_code.tolist() == expected

    def test_filter_evidence_combines_filters(self):
        evidence = pd.DataFrame(
            {
                "factor_label": ["F1", "F1", "F2"],
                "wave_label": ["Baseline", "3-month", "Baseline"],
                "role": ["manager", "service_user", "manager"],
                "excerpt": ["a", "b", "c"],
            }
        )
        assert analysis.filter_evidence(evidence).excerpt.tolist() == ["a", "b", "c"]
        assert analysis.filter_evidence(evidence, ["F1"], None, ["manager"]).excerpt.tolist() == ["a"]
        assert analysis.filter_evidence(evidence, None, ["Baseline"]).excerpt.tolist() == ["a", "c"]
