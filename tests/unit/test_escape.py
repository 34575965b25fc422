"""One escape per sink (innovation_tracker/domain/escape.py): each makes hostile text inert and reads as typed, ordinary
labels stay as they were, and every figure puts what users typed through `escape_plotly` exactly once.

The pages and the HTML report, on a study whose every text field is hostile: tests/pages/test_hostile_text.py."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest

from innovation_tracker.domain import analysis, codebook
from innovation_tracker.domain.escape import escape_html, escape_markdown, escape_plotly, plotly_plain
from innovation_tracker.domain.model import DEFAULT_WAVES, Factor, FactorKind, label_of
from innovation_tracker.ui.text import markdown_cells
from innovation_tracker.views import charts
from tests.support.factor_stats import stat, stats_frame
from tests.support.rendered import live_markup, text_of

HOSTILE = '<a href="//ev.il">Board</a> <img src=x onerror=alert(1)> <b>bold</b> [x](https://ev.il/a) **x** R&D "q"'
ORDINARY = ["3-month follow-up", "Champion's committed action", "service_users_engaged", "Funding: 2025/26 (est.)"]


@pytest.mark.parametrize("typed", [HOSTILE, "R&D", "&amp; is how HTML writes &", "a < b > c", *ORDINARY])
def test_plotly_text_reads_as_typed_and_holds_no_tag(typed):
    escaped = escape_plotly(typed)
    assert "<" not in escaped and ">" not in escaped
    assert plotly_plain(escaped) == typed
    assert "&quot;" not in escaped, "Plotly does not decode &quot;: it would read as written"


@pytest.mark.parametrize("typed", ORDINARY)
def test_ordinary_labels_are_left_as_they_are(typed):
    assert escape_plotly(typed) == escape_html(typed).replace("&#x27;", "'") == typed


def test_escaping_is_once_per_sink():
    assert escape_plotly("R&D") == "R&amp;D"
    assert escape_html('R&D "lab"') == "R&amp;D &quot;lab&quot;"
    assert text_of(escape_markdown("R&D")) == "R&D"
    assert plotly_plain("Wave<br>one &amp; <b>two</b>") == "Wave one & two"


def test_a_table_for_st_table_has_every_text_escaped_and_numbers_left_alone():
    frame = pd.DataFrame({"Factor **x**": [HOSTILE, "Team expertise"], "Projects": [3, 4]}, index=["[a](b)", "ok"])
    shown = markdown_cells(frame)
    assert [text_of(c) for c in shown.columns] == ["Factor **x**", "Projects"]
    assert [text_of(v) for v in shown.iloc[:, 0]] == [HOSTILE, "Team expertise"]
    assert [text_of(v) for v in shown.index] == ["[a](b)", "ok"]
    assert not [m for v in [*shown.iloc[:, 0], *shown.columns, *shown.index] for m in live_markup(v)]
    assert list(shown.Projects) == [3, 4] and shown.Projects.dtype == frame.Projects.dtype


# Every chart, drawn from hostile labels: the study's waves, a codebook (labels and domains), indicators (labels and
# the words of their levels), a project's name, a milestone's title and an excerpt.
def hostile(text: str) -> str:
    return f'{text} <a href="//ev.il">{text}</a> <img src=x onerror=alert(1)> <b>b</b> R&D'


FAC, BAR = FactorKind.FACILITATOR, FactorKind.BARRIER
FACTORS = [
    Factor("c_team", hostile("context"), FAC, hostile("Team expertise")),
    Factor("p_champion", hostile("process"), FAC, hostile("Champion action")),
    Factor("c_instability", hostile("context"), BAR, hostile("Instability")),
]
WAVES = [replace(w, label=hostile(w.label)) for w in DEFAULT_WAVES]
INDICATORS = [
    replace(i, label=hostile(i.label), description=f"0 {hostile('none')}, 1 some, 2 most, 3 all")
    if i.indicator_code == "funding_beyond_grant"
    else replace(i, label=hostile(i.label))
    for i in codebook.load_indicators()
]
STATS = stats_frame(
    stat("P1", "baseline", "c_team", 2, 1),
    stat("P1", "month_3", "c_team", 2),
    stat("P1", "baseline", "c_instability", -2),
    stat("P1", "month_3", "p_champion", 1, 1, 2),
    stat("P2", "month_3", "c_team", -1),
)


def completion():
    rows = [(w.wave, w.label, n, s, 3) for n, w in enumerate(WAVES[:2]) for s in ("completed", "due")]
    by_wave = pd.DataFrame(rows, columns=["wave", "wave_label", "position", "status", "participants"])
    return charts.completion_chart(by_wave)


def outlook():
    grid = pd.DataFrame(
        [("P1", hostile("Arts on prescription"), w.wave, w.label, n, "amber") for n, w in enumerate(WAVES[:2])],
        columns=["project_code", "name", "wave", "wave_label", "position", "value"],
    )
    return charts.outlook_grid_chart(grid)


def heatmap():
    evidence = pd.DataFrame({"factor_code": ["c_team"], "wave": ["baseline"], "excerpt": [hostile("quote")]})
    return charts.factor_heatmap(analysis.factor_trajectory(STATS, FACTORS, WAVES, "P1"), evidence)


def indicators():
    values = pd.DataFrame(
        [("P1", "baseline", "funding_beyond_grant", "0"), ("P1", "month_3", "outlook", "amber")],
        columns=["project_code", "wave", "indicator_code", "value"],
    )
    return charts.indicator_small_multiples(values, INDICATORS, WAVES)


def timeline():
    schedule = pd.DataFrame(
        {
            "participant_code": ["P01", "P01"],
            "role": ["manager", "manager"],
            "wave": ["baseline", "month_3"],
            "due_date": pd.to_datetime(["2025-01-10", "2025-04-11"]),
            "window_open": pd.to_datetime(["2025-01-10", "2025-03-21"]),
            "window_close": pd.to_datetime(["2025-02-09", "2025-05-02"]),
            "status": ["completed", "due"],
            "interview_date": pd.to_datetime(["2025-01-12", None]),
        }
    )
    milestones = pd.DataFrame({"milestone_date": pd.to_datetime(["2025-03-15"]), "title": [hostile("Board")]})
    return charts.timeline_chart(schedule, milestones, WAVES, today="2025-04-01")


def citations():
    projects = pd.DataFrame({"project_code": ["P1", "P2"], "setting": ["nhs", "nhs"]})
    cited = pd.DataFrame([("P1", "c_team"), ("P2", "p_champion")], columns=["project_code", "factor_code"])
    counts = analysis.citation_counts(cited, projects, FACTORS)
    first, last = (charts.wave_tick(w.label, None, w.wave, sep=", ") for w in (WAVES[0], WAVES[3]))
    return charts.citation_chart(counts, counts, first, last)


def matrix():
    title = f"Mean rating · {charts.wave_tick(WAVES[1].label, None, 'month_3', sep=', ')}"
    return charts.change_matrix_chart(analysis.change_matrix(STATS, "month_3", "month_3"), "mean_b", FACTORS, title)


CHARTS = {
    "completion": completion,
    "outlook grid": outlook,
    "factor heat map": heatmap,
    "barriers and facilitators": lambda: charts.barriers_facilitators_chart(analysis.net_balance(STATS, WAVES), WAVES),
    "net balance": lambda: charts.net_balance_chart(analysis.net_balance(STATS, WAVES), WAVES),
    "indicators": indicators,
    "timeline": timeline,
    "citations": citations,
    "change matrix": matrix,
}


def strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


@pytest.mark.parametrize("build", CHARTS.values(), ids=CHARTS)
def test_a_chart_shows_hostile_labels_as_text_escaped_once(build):
    shown = strings(json.loads(build().to_json()))
    typed = [s for s in shown if "ev.il" in s]
    assert typed, "the chart shows the hostile labels"
    for text in typed:
        assert "<a " not in text and "<img" not in text and "<b>b</b>" not in text, text
        assert "&amp;amp;" not in text and "&amp;lt;" not in text and "&quot;" not in text, text
        assert "R&D" not in text, text  # escaped: "R&amp;D", which Plotly shows as R&D


def unwrapped(text: str) -> str:
    return "".join(plotly_plain(text).split())


def test_what_a_reader_sees_of_the_axes_is_what_was_typed():
    heat = heatmap().data[0]
    assert [plotly_plain(x) for x in heat.x] == [w.label for w in WAVES]
    team, champion, instability = (f.label for f in FACTORS)
    # Wrapped onto lines of 28 characters (a long word is cut): the same characters, line breaks aside.
    assert [unwrapped(y) for y in heat.y[1]] == ["".join(t.split()) for t in (team, instability, champion)]
    assert {plotly_plain(y) for y in heat.y[0]} == {
        f"{label_of(f.domain)} {kind}"
        for f, kind in ((FACTORS[0], "facilitators"), (FACTORS[2], "barriers"), (FACTORS[1], "facilitators"))
    }
    bars = charts.barriers_facilitators_chart(analysis.net_balance(STATS, WAVES), WAVES)
    assert [plotly_plain(c) for c in bars.layout.xaxis.categoryarray] == [w.label for w in WAVES]
    assert [plotly_plain(x) for x in bars.data[0].x] == [w.label for w in WAVES[:2]]
    panels = [plotly_plain(a.text) for a in indicators().layout.annotations]
    assert panels == [i.label for i in INDICATORS]
    (milestone,) = [a.text for a in timeline().layout.annotations if a.text != "today"]
    assert plotly_plain(milestone) == "Board <a…"  # cut short at a word, then escaped: no entity is cut


def test_ordinary_labels_reach_a_chart_unchanged():
    factors = [
        replace(f, label=label) for f, label in zip(FACTORS, ["Team expertise", "Champion", "Instability"], strict=True)
    ]
    heat = charts.factor_heatmap(analysis.factor_trajectory(STATS, factors, list(DEFAULT_WAVES), "P1")).data[0]
    assert list(heat.x) == [w.label for w in DEFAULT_WAVES]
    assert sorted(heat.y[1]) == ["Champion", "Instability", "Team expertise"]
