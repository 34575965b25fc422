"""Figures: data in, plotly Figure out. One colour-blind-safe palette (Okabe & Ito) used everywhere.

Plotly renders a subset of HTML in every text of a figure (titles, ticks, categories, legend names, annotations,
hover text), so every text a user typed (wave, factor, indicator, project and domain labels, milestone titles,
excerpts) goes in through `escape_plotly`, once: the functions here take text as typed, except where a parameter says
it is Plotly text already (what `wave_tick` returns).
"""

from __future__ import annotations

import hashlib
import math
import pickle
import re
import textwrap
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import ParamSpec, cast

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from innovation_tracker.domain.display import number, percent, signed
from innovation_tracker.domain.escape import escape_plotly
from innovation_tracker.domain.model import (
    BOOLEAN_VALUES,
    RAG_VALUES,
    Factor,
    Indicator,
    IndicatorType,
    Wave,
    indicator_score,
    label_of,
)

OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "grey": "#999999",
}
STATUS_COLOURS = {
    "completed": OKABE_ITO["bluish_green"],
    "missed": OKABE_ITO["vermillion"],
    "overdue": OKABE_ITO["orange"],
    "due": OKABE_ITO["sky_blue"],
    "upcoming": "#DDDDDD",
    "withdrawn": OKABE_ITO["grey"],
}
STATUS_ORDER = tuple(STATUS_COLOURS)
RAG_COLOURS = {"red": OKABE_ITO["vermillion"], "amber": OKABE_ITO["yellow"], "green": OKABE_ITO["bluish_green"]}
NOT_SCORED = "#BBBBBB"
# Grey lines that read on a light and on a dark background: the figures leave background, grid and font colours to
# the active theme (Streamlit's, or `REPORT_TEMPLATE` in a report).
NEUTRAL = "#888888"
FONT = dict(family="Source Sans Pro, sans-serif", size=14)
REPORT_TEMPLATE = "plotly_white"
P = ParamSpec("P")


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0),
        height=height,
        font=FONT,
        margin=dict(l=10, r=10, t=50, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, title=None, traceorder="normal"),
    )
    return fig


def wave_tick(
    label: str, progress: pd.DataFrame | None, wave: str | None = None, sep: str = "<br>", width: int | None = None
) -> str:
    """A wave's label (as typed) as Plotly text, with how complete its round is: "9-month follow-up<br>35 of 64 done ·
    in progress"; wrapped at `width` characters if given. `progress` is `analysis.round_progress` (of the portfolio
    or of one project); without it, the label alone."""
    shown = _wrap_tick(label, width) if width else escape_plotly(label)
    if progress is None or progress.empty:
        return shown
    rows = progress[progress.wave == wave] if wave is not None else progress[progress.wave_label == label]
    if rows.empty:
        return shown
    row = rows.iloc[0]
    done = f"{int(row.done):,} of {int(row.expected):,} done"
    # On an axis each part has a line of its own, so neighbouring waves' labels do not run into each other.
    return f"{shown}{sep}{done}" + ("" if bool(row.finished) else (sep if sep == "<br>" else " · ") + "in progress")


def _escaped(values) -> list:
    """Each text of `values` as Plotly text (`escape_plotly`); gaps and numbers as they are."""
    return [escape_plotly(v) if isinstance(v, str) else v for v in values]


def completion_chart(by_wave: pd.DataFrame, progress: pd.DataFrame | None = None) -> go.Figure:
    """Stacked bars, one per wave: participants completed, missed, overdue, due, upcoming, withdrawn; with
    `progress`, each wave says how many of its interviews are done and whether its round is still in progress."""
    waves = by_wave.sort_values("position").drop_duplicates("wave")[["wave", "wave_label"]]
    ticks = [wave_tick(label, progress, wave) for wave, label in zip(waves.wave, waves.wave_label, strict=True)]
    labels = _escaped(waves.wave_label)
    fig = go.Figure()
    for status in STATUS_ORDER:
        counts = by_wave[by_wave.status == status].set_index("wave")["participants"]
        values = [int(counts.get(w, 0)) for w in waves.wave]
        fig.add_bar(
            name=status.capitalize(),
            y=labels,
            x=values,
            orientation="h",
            marker_color=STATUS_COLOURS[status],
            text=[v or "" for v in values],
            textposition="inside",
            # Dark figures on the light bars, white on the dark ones: legible in either theme.
            insidetextfont=dict(color="#000000" if status in ("upcoming", "due", "overdue") else "#FFFFFF"),
            hovertemplate="%{y}: %{x} " + status + "<extra></extra>",
        )
    fig.update_layout(barmode="stack", bargap=0.25)
    fig.update_yaxes(autorange="reversed", tickvals=labels, ticktext=ticks)
    fig.update_xaxes(title="participants (a count)")
    _layout(fig, "Follow-up completion by wave", 160 + 60 * len(waves))
    # Room for the legend to wrap onto a second and third row on a narrow screen without covering the title.
    return fig.update_layout(margin=dict(t=100))


def outlook_grid_chart(grid: pd.DataFrame) -> go.Figure:
    """Projects down, waves across; each cell the outlook in colour and in words, so colour is never the only cue."""
    waves = grid.sort_values("position").drop_duplicates("wave")
    projects = sorted(grid.project_code.unique())
    # "CODE · name" on every row, wrapped so that a phone's width still leaves room for the cells.
    labels = {
        row.project_code: _wrap_tick(f"{row.project_code} · {row.name}", 24)
        for row in grid.drop_duplicates("project_code").itertuples()
    }
    codes: dict[str | None, int] = {None: 0, **{value: n + 1 for n, value in enumerate(RAG_VALUES)}}
    lookup = {(r.project_code, r.wave): (None if pd.isna(r.value) else r.value) for r in grid.itertuples()}
    z = [[codes.get(lookup.get((p, w)), 0) for w in waves.wave] for p in projects]
    text = [[escape_plotly((lookup.get((p, w)) or "—").capitalize()) for w in waves.wave] for p in projects]
    colours = [NOT_SCORED, RAG_COLOURS["red"], RAG_COLOURS["amber"], RAG_COLOURS["green"]]
    scale = [[i / 4 + edge / 4, colour] for i, colour in enumerate(colours) for edge in (0, 1)]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=_escaped(waves.wave_label),
            y=[labels[p] for p in projects],
            text=text,
            texttemplate="%{text}",
            textfont=dict(color="#000000"),  # black reads on every outlook colour, in either theme
            colorscale=scale,
            zmin=-0.5,
            zmax=3.5,
            showscale=False,
            xgap=3,
            ygap=3,
            hovertemplate="%{y}<br>%{x}: %{text}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(
        side="top",
        tickangle=0,
        tickvals=_escaped(waves.wave_label),
        ticktext=[_wrap_tick(w) for w in waves.wave_label],
    )
    _layout(fig, "Sustainability outlook by wave", 160 + 40 * len(projects))
    return fig.update_layout(margin=dict(t=90))


RATING_SCALE = [
    [0.0, OKABE_ITO["vermillion"]],
    [0.25, OKABE_ITO["orange"]],
    [0.5, "#FFFFFF"],
    [0.75, OKABE_ITO["sky_blue"]],
    [1.0, OKABE_ITO["blue"]],
]
BARRIER_COLOUR = OKABE_ITO["vermillion"]
FACILITATOR_COLOUR = OKABE_ITO["blue"]
NET_COLOUR = OKABE_ITO["reddish_purple"]  # reads on light and dark backgrounds alike
NOT_CITED = "#E6E6E6"
WINDOW_COLOUR = "#D6E6F4"
RATING_TICKS = {
    -2: "−2 strong barrier",
    -1: "−1 barrier",
    0: "0 neutral or mixed",
    1: "+1 facilitator",
    2: "+2 strong facilitator",
}
DIFF_TICKS = {-4: "−4 much worse", -2: "−2 worse", 0: "0 no change", 2: "+2 better", 4: "+4 much better"}
DOMAIN_LABELS = {"process_outcome": "Process/outcome"}
KIND_PLURALS = {"barrier": "barriers", "facilitator": "facilitators"}
# Okabe–Ito without yellow, which vanishes as a thin line on white; black takes its place.
PROJECT_COLOURS = tuple(OKABE_ITO[c] for c in ("blue", "orange", "bluish_green", "vermillion", "reddish_purple"))
PROJECT_COLOURS += (OKABE_ITO["sky_blue"], "#8C6D31", OKABE_ITO["grey"])  # a brown for black, lost on dark
PROJECT_DASHES = ("solid", "dash", "dot", "dashdot")
PROJECT_SYMBOLS = ("circle", "square", "diamond", "triangle-up")
STATUS_SYMBOLS = {
    "completed": "circle",
    "missed": "x",
    "overdue": "triangle-up",
    "due": "square",
    "withdrawn": "diamond",
}
STATUS_NAMES = {
    "completed": "Completed (interview date)",
    "missed": "Missed",
    "overdue": "Overdue",
    "due": "Due now",
    "withdrawn": "Withdrawn",
}


def domain_label(domain: str) -> str:
    return DOMAIN_LABELS.get(domain, label_of(domain))


def _empty_figure(title: str, message: str, height: int = 220) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title, height)


def _signed(value: float, digits: int = 1) -> str:
    """Ratings read as +1.5 / −0.5 (never "-0"); a typographic minus keeps the columns of numbers aligned."""
    return signed(value, digits)


def _group_label(domain: str, kind: str) -> str:
    # Codebooks whose factors are all "either" (CFIR) group by domain alone.
    kind_text = KIND_PLURALS.get(kind)
    # One line: a two-line label overflows a group of one factor.
    return domain_label(domain) + (f" {kind_text}" if kind_text else "")


def _factor_axis(rows: pd.DataFrame) -> list[list[str]]:
    """A two-level (multicategory) axis: domain and kind as the group, the factor's full label within it (wrapped
    onto a second line when long, so that narrow screens keep room for the cells)."""
    return [
        [escape_plotly(_group_label(d, k)) for d, k in zip(rows.domain, rows.kind, strict=True)],
        [_wrap_tick(label, 28) for label in rows.label],
    ]


def _excerpt_lookup(evidence: pd.DataFrame | None) -> dict[tuple[str, str], str]:
    """One excerpt per factor × wave for the hover, shortened and escaped so a quote cannot break the markup."""
    if evidence is None or evidence.empty:
        return {}
    quotes = evidence.dropna(subset=["excerpt"]).drop_duplicates(["factor_code", "wave"])
    return {(r.factor_code, r.wave): _hover_quote(r.excerpt) for r in quotes.itertuples()}


def _hover_quote(text: str, width: int = 60, limit: int = 240) -> str:
    short = textwrap.shorten(str(text), width=limit, placeholder=" …")
    return "<br>".join(escape_plotly(line) for line in textwrap.wrap(f"“{short}”", width))


def _rating_colorbar(ticks: dict[int, str]) -> dict:
    # No title: the words on the ticks say what the colours mean. Across the bottom rather than down the side, so a
    # phone's width goes to the cells (the waves or projects are on the top axis).
    words = [text.replace(" ", "<br>", 1) for text in ticks.values()]
    return dict(
        tickvals=list(ticks), ticktext=words, thickness=12, orientation="h", y=-0.01, yanchor="top", len=0.8, x=0.5
    )


def _wrap_tick(label: str, width: int = 10) -> str:
    """`label` (as typed) as Plotly text on lines of about `width` characters: wrapped first, then escaped, so that
    no line break falls inside an entity."""
    return "<br>".join(escape_plotly(line) for line in textwrap.wrap(str(label), width)) or escape_plotly(label)


def _none_for_nan(frame: pd.DataFrame) -> list[list[float | None]]:
    return [[None if pd.isna(v) else float(v) for v in row] for row in frame.to_numpy()]


def factor_heatmap(
    trajectory: pd.DataFrame, evidence: pd.DataFrame | None = None, progress: pd.DataFrame | None = None
) -> go.Figure:
    """Factors down (grouped by domain and kind), waves across, mean rating in colour and in figures.

    `trajectory` is `analysis.factor_trajectory`; `evidence` (factor_code, wave, excerpt) adds a quote to the hover;
    `progress` (`analysis.round_progress` of the project) puts each round's completeness under its wave and the
    share of the participants interviewed who cited the factor in the hover.
    """
    title = "Barriers and facilitators by wave (mean rating)"
    if trajectory.empty:
        return _empty_figure(title, "No factor has been rated yet.")
    rows = trajectory.drop_duplicates("factor_code")
    waves = trajectory.drop_duplicates("wave")
    grid = trajectory.set_index(["factor_code", "wave"])
    mean = grid.mean_rating.unstack().reindex(index=rows.factor_code, columns=waves.wave)
    count = grid.n.unstack().reindex(index=rows.factor_code, columns=waves.wave).fillna(0).astype(int)
    quotes = _excerpt_lookup(evidence)
    done = {} if progress is None else dict(zip(progress.wave, progress.done, strict=True))

    def cited(n: int, wave: str) -> str:
        if wave not in done:
            return f"cited by {n}"
        return f"cited by {n} of {int(done[wave])} interviewed ({percent(n / done[wave]) if done[wave] else '—'})"

    custom = [
        [[cited(int(count.at[f, w]), w), _signed(mean.at[f, w]), quotes.get((f, w), ""), label] for w in waves.wave]
        for f, label in zip(rows.factor_code, _escaped(rows.label), strict=True)
    ]
    labels = _escaped(waves.wave_label)
    fig = go.Figure(
        go.Heatmap(
            z=_none_for_nan(mean),
            x=labels,
            y=_factor_axis(rows),
            text=[[_signed(v) if pd.notna(v) else "" for v in row] for row in mean.to_numpy()],
            texttemplate="%{text}",
            customdata=custom,
            colorscale=RATING_SCALE,
            zmin=-2,
            zmax=2,
            xgap=2,
            ygap=2,
            colorbar=_rating_colorbar(RATING_TICKS),
            hovertemplate="<b>%{customdata[3]}</b> · %{x}<br>%{customdata[0]} · mean %{customdata[1]}"
            "<br>%{customdata[2]}<extra></extra>",
        )
    )
    # Grid lines would run through the middle of the grey "not cited" cells.
    fig.update_yaxes(autorange="reversed", showgrid=False)
    ticks = [
        wave_tick(label, progress, wave, width=10) for wave, label in zip(waves.wave, waves.wave_label, strict=True)
    ]
    fig.update_xaxes(side="top", showgrid=False, tickangle=0, tickvals=labels, ticktext=ticks)
    _layout(fig, title, max(380, 210 + 28 * len(rows)))
    # Grey behind the tiles marks "not cited", which white (a mean of 0) must not be confused with.
    fig.update_layout(
        plot_bgcolor=NOT_CITED,
        margin=dict(t=170 if progress is not None else 110, b=70),
        title_subtitle_text="Grey: not cited at that wave",
    )
    return fig


def _per_wave(balance: pd.DataFrame) -> pd.DataFrame:
    """Sum a by-domain (or several-project) balance back to one row per wave, in schedule order; per-interview
    measures (`analysis.per_interview`) are worked out again from the sums."""
    keys = ["position", "wave", "wave_label"] if "position" in balance.columns else ["wave", "wave_label"]
    measures = ["facilitator_weight", "barrier_weight", "net", "n_ratings"]
    if "interviews" in balance.columns:
        # Interviews are per project and wave, not per domain: counted once for each.
        people = balance.drop_duplicates([*[k for k in ("project_code",) if k in balance.columns], "wave"])
        out = balance.groupby(keys, as_index=False, sort="position" in keys)[measures].sum()
        out = out.merge(people.groupby("wave", as_index=False)["interviews"].sum(), on="wave", how="left")
        per = out.interviews.where(out.interviews > 0)
        return out.assign(
            facilitators_per_interview=out.facilitator_weight / per,
            barriers_per_interview=out.barrier_weight / per,
            net_per_interview=out.net / per,
        )
    return balance.groupby(keys, as_index=False, sort="position" in keys)[measures].sum()


def barriers_facilitators_chart(
    balance: pd.DataFrame, waves: Sequence[Wave] | None = None, progress: pd.DataFrame | None = None
) -> go.Figure:
    """Barrier weight below zero, facilitator weight above, net balance as a line, one group per wave.

    Per completed interview when `balance` is `analysis.per_interview` (so rounds of different sizes compare),
    else the weights themselves, labelled as sums. `progress` adds each round's completeness under its wave."""
    per = "net_per_interview" in balance.columns
    title = "Barriers and facilitators per interview, by wave" if per else "Barriers and facilitators per wave (sums)"
    if balance.empty:
        return _empty_figure(title, "No factor has been rated yet.")
    per_wave = _per_wave(balance)
    x = _escaped(per_wave.wave_label)
    barrier = per_wave.barriers_per_interview if per else per_wave.barrier_weight
    facilitator = per_wave.facilitators_per_interview if per else per_wave.facilitator_weight
    net = per_wave.net_per_interview if per else per_wave.net
    digits = 1 if per else 0
    unit = " per interview" if per else ""
    fig = go.Figure()
    for name, values, sign, colour in (
        ("Barriers (weight of negative ratings" + unit + ")", barrier, -1, BARRIER_COLOUR),
        ("Facilitators (weight of positive ratings" + unit + ")", facilitator, 1, FACILITATOR_COLOUR),
    ):
        text = [number(v, digits) for v in values]
        fig.add_bar(
            name=name,
            x=x,
            y=[None if pd.isna(v) else sign * float(v) for v in values],
            marker_color=colour,
            text=text,
            textposition="outside",
            textangle=0,
            constraintext="none",
            cliponaxis=False,
            hovertemplate="%{x}: " + name.split(" (")[0].lower() + " %{text}" + unit + "<extra></extra>",
        )
    fig.add_scatter(
        name="Net balance" + unit,
        x=x,
        y=[None if pd.isna(v) else float(v) for v in net],
        mode="lines+markers",
        text=[_signed(v, digits) for v in net],
        line=dict(color=NET_COLOUR, width=2),
        marker=dict(symbol="diamond", size=11, color=NET_COLOUR, line=dict(color=NEUTRAL, width=1)),
        hovertemplate="%{x}: net %{text}" + unit + "<extra></extra>",
    )
    fig.update_layout(barmode="relative", bargap=0.35)
    fig.update_yaxes(
        title=("weight per interview" if per else "sum of ratings") + " (barriers below 0)",
        zeroline=True,
        zerolinecolor=NEUTRAL,
    )
    # The net is written under each wave rather than beside its marker, where it would sit on a bar.
    nets = dict(zip(per_wave.wave_label, net, strict=True))
    codes = dict(zip(per_wave.wave_label, per_wave.wave, strict=True))
    categories = [w.label for w in waves] if waves is not None else list(per_wave.wave_label)
    if waves is not None:
        codes |= {w.label: w.wave for w in waves}
    ticks = [
        wave_tick(c, progress, codes.get(c)) + (f"<br><b>net {_signed(nets[c], digits)}</b>" if c in nets else "")
        for c in categories
    ]
    shown = _escaped(categories)
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=shown, tickvals=shown, ticktext=ticks)
    _layout(fig, title, 460 if progress is not None else 440)
    fig.update_layout(margin=dict(t=120))  # the title above a legend of two rows
    return fig


def _short_wave_label(label: str) -> str:
    return label.removesuffix(" follow-up")


def scale_words(indicator: Indicator) -> dict[int, str]:
    """The words an ordinal indicator's description gives its levels: "0 none, 1 bid made, 2 partial, 3 secured"
    and "1 not at all … 5 part of routine service" both read as {level: words}."""
    found = re.findall(r"(?:^|[,;…]|\.\.\.)\s*(\d+)\s+([^,;…\d][^,;…]*)", indicator.description or "")
    return {int(level): words.strip() for level, words in found}


def _indicator_axis(indicator: Indicator, scores: list[float]) -> dict:
    """Y axis in the indicator's own terms: its words for yes/no and RAG, its scale for ordinals, 0..max for counts."""
    if indicator.value_type == IndicatorType.BOOLEAN:
        return dict(range=[-0.3, 1.3], tickvals=[0, 1], ticktext=list(BOOLEAN_VALUES))
    if indicator.value_type == IndicatorType.RAG:
        return dict(range=[0.7, 3.3], tickvals=[1, 2, 3], ticktext=list(RAG_VALUES))
    low = indicator.min_value if indicator.min_value is not None else 0
    high: float | None = indicator.max_value
    if indicator.value_type == IndicatorType.COUNT or high is None:
        high = max([*scores, low + 1])
    pad = max(0.3, (high - low) * 0.08)
    axis = dict(range=[low - pad, high + pad], tickformat="d")
    # Plotly would put ticks at 0.5 on a short scale, which read as "0, 1, 1" once rounded to whole numbers.
    if indicator.value_type == IndicatorType.ORDINAL or high - low <= 6:
        axis["tickvals"] = list(range(int(low), int(high) + 1))
    if indicator.value_type == IndicatorType.ORDINAL:
        # The scale explains itself: "0 none", "3 secured" on the axis, not only in a tooltip.
        words = scale_words(indicator)
        axis["ticktext"] = [_wrap_tick(f"{v} {words[v]}", 16) if v in words else str(v) for v in axis["tickvals"]]
    return axis


def _indicator_trace(indicator: Indicator, values: pd.DataFrame, waves: Sequence[Wave], colour: str) -> dict:
    by_wave = {w: v for w, v in zip(values.wave, values.value, strict=True) if pd.notna(v)}
    words = [by_wave.get(w.wave) for w in waves]
    y = [None if v is None else indicator_score(indicator, v) for v in words]
    marker_colours = [RAG_COLOURS.get(v, colour) if v else colour for v in words]
    return dict(
        x=[escape_plotly(_short_wave_label(w.label)) for w in waves],
        y=y,
        text=[escape_plotly(v or "not scored") for v in words],
        mode="lines+markers",
        line=dict(color=colour, width=2),
        marker=dict(size=10, color=marker_colours, line=dict(color="#333333", width=1)),
    )


def indicator_small_multiples(
    indicator_values: pd.DataFrame, indicators: Sequence[Indicator], waves: Sequence[Wave]
) -> go.Figure:
    """One small panel per sustainability indicator over the waves; one line per project in the frame."""
    title = "Sustainability indicators by wave"
    if not indicators:
        return _empty_figure(title, "No sustainability indicators are defined for this study.")
    cols = 2 if len(indicators) > 1 else 1
    rows = math.ceil(len(indicators) / cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[escape_plotly(i.label) for i in indicators],
        vertical_spacing=min(0.1, 0.6 / rows),
        horizontal_spacing=0.12,
    )
    projects = sorted(indicator_values.project_code.dropna().unique())
    x = [escape_plotly(_short_wave_label(w.label)) for w in waves]
    for k, indicator in enumerate(indicators):
        row, col = k // cols + 1, k % cols + 1
        values = indicator_values[indicator_values.indicator_code == indicator.indicator_code]
        scores = [indicator_score(indicator, v) for v in values.value.dropna()]
        for p, project in enumerate(projects):
            trace = _indicator_trace(indicator, values[values.project_code == project], waves, PROJECT_COLOURS[p % 8])
            # The indicator's label reaches the hover through `meta`: in the template itself its text would be
            # read as template syntax (a "%{…}" in a label).
            fig.add_scatter(
                **trace,
                name=escape_plotly(project),
                legendgroup=project,
                showlegend=k == 0 and len(projects) > 1,
                meta=[escape_plotly(indicator.label), escape_plotly(project)],
                hovertemplate="%{meta[0]}<br>%{x}: %{text}<extra>%{meta[1]}</extra>",
                row=row,
                col=col,
            )
        fig.update_yaxes(**_indicator_axis(indicator, scores), row=row, col=col)
    # Every panel's x axis at once: the same waves in the same order.
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=x, range=[-0.4, len(x) - 0.6])
    fig.update_annotations(font=dict(size=14))
    _layout(fig, title, 110 + 230 * rows)
    fig.update_layout(margin=dict(t=90))
    return fig


def _participant_labels(rows: pd.DataFrame) -> pd.Series:
    if "role" not in rows.columns:
        return rows.participant_code.astype(str)
    codes = rows.participant_code.astype(str)
    # De-identified codes already read "PRJ · Manager A"; naming the role twice would only add noise.
    return pd.Series(
        [
            c if pd.isna(r) or label_of(r) in c else f"{c} · {label_of(r)}"
            for c, r in zip(codes, rows.role, strict=True)
        ],
        index=rows.index,
    )


def _add_windows(fig: go.Figure, rows: pd.DataFrame) -> None:
    # A bar on a date axis is a duration in milliseconds from its base; +1 day so the close date is inside the band.
    span = (rows.window_close - rows.window_open + pd.Timedelta(days=1)).dt.total_seconds() * 1000
    fig.add_bar(
        name="Interview window",
        y=list(rows.who),
        x=list(span),
        base=list(rows.window_open.dt.strftime("%Y-%m-%d")),
        orientation="h",
        width=0.55,
        marker=dict(color=WINDOW_COLOUR, line=dict(width=0)),
        customdata=list(
            zip(
                rows.wave_label,
                rows.window_open.dt.strftime("%d %b %Y"),
                rows.window_close.dt.strftime("%d %b %Y"),
                strict=True,
            )
        ),
        hovertemplate="%{y}<br>%{customdata[0]} window: %{customdata[1]} – %{customdata[2]}<extra></extra>",
    )


def _add_due_dates(fig: go.Figure, rows: pd.DataFrame) -> None:
    fig.add_scatter(
        name="Due date",
        y=list(rows.who),
        x=list(rows.due_date.dt.strftime("%Y-%m-%d")),
        mode="markers",
        marker=dict(symbol="circle-open", size=13, color=NEUTRAL, line=dict(width=2)),
        customdata=list(zip(rows.wave_label, rows.status, strict=True)),
        hovertemplate="%{y}<br>%{customdata[0]} due %{x|%d %b %Y} · %{customdata[1]}<extra></extra>",
    )


def _add_interviews(fig: go.Figure, rows: pd.DataFrame) -> None:
    """What happened or stands: the interview date when there is one, else the due date, coloured by status."""
    for status, symbol in STATUS_SYMBOLS.items():
        chosen = rows[rows.status == status]
        if chosen.empty:
            continue
        when = chosen.interview_date.fillna(chosen.due_date)
        fig.add_scatter(
            name=STATUS_NAMES[status],
            y=list(chosen.who),
            x=list(when.dt.strftime("%Y-%m-%d")),
            mode="markers",
            marker=dict(symbol=symbol, size=10, color=STATUS_COLOURS[status], line=dict(color="#333333", width=1)),
            customdata=list(chosen.wave_label),
            hovertemplate=f"%{{y}}<br>%{{customdata}}: {status} · %{{x|%d %b %Y}}<extra></extra>",
        )


def _add_date_lines(fig: go.Figure, lines: list[tuple[pd.Timestamp, str, str]]) -> None:
    """Vertical lines with labels above the plot, staggered so that neighbouring labels do not overprint."""
    for k, (when, text, dash) in enumerate(sorted(lines, key=lambda line: line[0])):
        x = when.strftime("%Y-%m-%d")
        fig.add_shape(type="line", x0=x, x1=x, yref="paper", y0=0, y1=1, line=dict(color=NEUTRAL, dash=dash))
        fig.add_annotation(
            x=x,
            y=1,
            yref="paper",
            yanchor="bottom",
            yshift=2 + 15 * (k % 2),
            text=text,
            showarrow=False,
            font=dict(size=11),
        )


def timeline_chart(
    schedule_rows: pd.DataFrame, milestones: pd.DataFrame, waves: Sequence[Wave], today: object = None
) -> go.Figure:
    """One row per participant: each wave's window as a band, the due date hollow, what happened filled in."""
    title = "Scheduled and actual interviews"
    if schedule_rows.empty:
        return _empty_figure(title, "No participants are enrolled yet.")
    rows = schedule_rows.copy()
    for column in ("due_date", "window_open", "window_close", "interview_date"):
        rows[column] = pd.to_datetime(rows[column])
    if "wave_label" not in rows.columns:
        rows["wave_label"] = rows.wave.map({w.wave: w.label for w in waves})
    rows["who"] = _escaped(_participant_labels(rows))
    rows["wave_label"] = _escaped(rows.wave_label)
    fig = go.Figure()
    _add_windows(fig, rows)
    _add_due_dates(fig, rows)
    _add_interviews(fig, rows)
    lines = [
        (pd.Timestamp(m.milestone_date), escape_plotly(textwrap.shorten(str(m.title), 28, placeholder="…")), "dash")
        for m in (milestones if milestones is not None else pd.DataFrame()).itertuples()
    ]
    if lines:
        fig.add_scatter(name="Milestone", x=[None], y=[None], mode="lines", line=dict(color=NEUTRAL, dash="dash"))
    if today is not None:
        lines.append((pd.Timestamp(today), "today", "solid"))
    _add_date_lines(fig, lines)
    people = list(dict.fromkeys(rows.who))
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=people, autorange="reversed")
    fig.update_xaxes(type="date", title="date", tickformat="%-d %b %Y")
    _layout(fig, title, 190 + 32 * len(people))
    fig.update_layout(
        barmode="overlay",
        margin=dict(t=90, b=90),
        # Below the plot, because the milestone labels take the space above it.
        legend=dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0),
    )
    return fig


def _with_positions(balance: pd.DataFrame, waves: Sequence[Wave] | None) -> pd.DataFrame:
    if waves is not None:
        return balance.assign(position=balance.wave.map({w.wave: n for n, w in enumerate(waves)}))
    if "position" in balance.columns:
        return balance
    return balance.assign(position=pd.factorize(balance.wave)[0])


def net_balance_chart(
    balance: pd.DataFrame, waves: Sequence[Wave] | None = None, progress: pd.DataFrame | None = None
) -> go.Figure:
    """One line per project across the waves; above zero facilitators outweigh barriers.

    Net balance per completed interview when `balance` is `analysis.per_interview`, so that projects of any size
    share the axis; else the sums, labelled as such. Lines are told apart by colour, dash and marker, named in the
    legend (labels at the lines' ends overprinted one another). `progress` puts each round's completeness under
    its wave."""
    per = "net_per_interview" in balance.columns
    title = "Net balance per interview" if per else "Net balance of facilitators over barriers (sums)"
    if balance.empty:
        return _empty_figure(title, "No factor has been rated yet.")
    keys = ["project_code", "position", "wave", "wave_label"]
    sums = ["net", "n_ratings", *(["interviews"] if per else [])]
    if per:
        totals = _with_positions(balance, waves)
        totals = totals.groupby(keys, as_index=False).agg(
            net=("net", "sum"), n_ratings=("n_ratings", "sum"), interviews=("interviews", "first")
        )
        totals["value"] = totals.net / totals.interviews.where(totals.interviews > 0)
    else:
        totals = _with_positions(balance, waves).groupby(keys, as_index=False)[sums].sum()
        totals["value"] = totals.net
    codes = dict(zip(totals.wave_label, totals.wave, strict=True))
    if waves is not None:
        categories = [w.label for w in waves]
        codes |= {w.label: w.wave for w in waves}
    else:
        categories = list(totals.sort_values("position").drop_duplicates("wave").wave_label)
    shown = _escaped(categories)
    fig = go.Figure()
    digits = 1 if per else 0
    for k, (project, line) in enumerate(totals.groupby("project_code", sort=True)):
        style = k // len(PROJECT_COLOURS)
        detail = [
            f"{int(i):,} interviews, {int(n):,} ratings" if per else f"{int(n):,} ratings"
            for i, n in zip(line.interviews if per else line.n_ratings, line.n_ratings, strict=True)
        ]
        fig.add_scatter(
            name=escape_plotly(project),
            x=_escaped(line.wave_label),
            y=[None if pd.isna(v) else float(v) for v in line.value],
            mode="lines+markers",
            line=dict(color=PROJECT_COLOURS[k % 8], dash=PROJECT_DASHES[style % 4], width=2),
            marker=dict(symbol=PROJECT_SYMBOLS[style % 4], size=8),
            customdata=list(zip([_signed(v, digits) for v in line.value], detail, strict=True)),
            hovertemplate=f"{escape_plotly(project)} · %{{x}}<br>net %{{customdata[0]}}"
            + (" per interview" if per else "")
            + " (%{customdata[1]})<extra></extra>",
        )
    fig.update_xaxes(
        type="category",
        categoryorder="array",
        categoryarray=shown,
        tickvals=shown,
        ticktext=[wave_tick(c, progress, codes.get(c)) for c in categories],
        range=[-0.3, len(categories) - 0.7],
    )
    fig.update_yaxes(
        title="net balance per interview" if per else "net balance (sum of ratings)",
        zeroline=True,
        zerolinecolor=NEUTRAL,
        zerolinewidth=3,
    )
    _layout(fig, title, 460)
    # The legend names every line: below the plot, where it has the whole width.
    fig.update_layout(legend=dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0), margin=dict(b=90))
    return fig


def citation_chart(counts_a: pd.DataFrame, counts_b: pd.DataFrame, label_a: str, label_b: str) -> go.Figure:
    """Projects citing each factor at two waves side by side (a count), factors in the order of the table. The
    labels are Plotly text, as `wave_tick(..., sep=", ")` makes them (with each round's completeness)."""
    title = f"Projects citing each factor (count): {label_a} and {label_b}"
    if counts_a.empty:
        return _empty_figure(title, "The codebook has no factors.")
    y = _factor_axis(counts_a)
    fig = go.Figure()
    for counts, label, colour in ((counts_a, label_a, OKABE_ITO["sky_blue"]), (counts_b, label_b, OKABE_ITO["blue"])):
        aligned = counts_a[["factor_code"]].merge(counts, on="factor_code", how="left")
        cited = aligned.projects_citing.fillna(0).astype(int)
        fig.add_bar(
            name=label,
            y=y,
            x=list(cited),
            orientation="h",
            marker_color=colour,
            text=list(cited),
            textposition="outside",
            constraintext="none",
            textfont=dict(size=12),
            cliponaxis=False,
            customdata=list(zip(_escaped(aligned.label), aligned.percent.fillna(0), strict=True)),
            meta=[label],  # not in the template, where a wave's label could read as template syntax
            hovertemplate="%{customdata[0]}<br>%{meta[0]}: %{x} projects (%{customdata[1]:.0f}%)<extra></extra>",
        )
    fig.update_layout(barmode="group", bargap=0.25, bargroupgap=0.05)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title="projects citing (a count)", rangemode="tozero")
    _layout(fig, title, 180 + 30 * len(counts_a))
    fig.update_layout(margin=dict(t=80), legend=dict(y=1.0, yanchor="bottom", yref="paper"))
    return fig


MATRIX_VALUES = {
    "diff": ("Change in mean rating between the two waves", (-4, 4), DIFF_TICKS),
    "mean_a": ("Mean rating by project and factor", (-2, 2), RATING_TICKS),
    "mean_b": ("Mean rating by project and factor", (-2, 2), RATING_TICKS),
}


def _matrix_rows(codes: Sequence[str], factors: Sequence[Factor] | None) -> pd.DataFrame:
    """The factors to show, in codebook order with their labels when the codebook is given."""
    if factors is None:
        return pd.DataFrame({"factor_code": sorted(codes), "label": sorted(codes)})
    meta = pd.DataFrame(
        {
            "factor_code": [f.factor_code for f in factors],
            "label": [f.label for f in factors],
            "domain": [f.domain for f in factors],
            "kind": [str(f.kind) for f in factors],
        }
    )
    # Domains, then kinds, in the order the codebook first names them: the order of analysis.factor_trajectory.
    for column in ("domain", "kind"):
        meta[f"{column}_order"] = meta[column].map({v: n for n, v in enumerate(dict.fromkeys(meta[column]))})
    meta = meta.sort_values(["domain_order", "kind_order"], kind="stable")
    return meta[meta.factor_code.isin(set(codes))]


def change_matrix_chart(
    matrix: pd.DataFrame, value: str = "diff", factors: Sequence[Factor] | None = None, title: str | None = None
) -> go.Figure:
    """Factors down, projects across; `value` is `diff` (−4..4) or `mean_a` / `mean_b` (−2..2). A `title` is Plotly
    text (its waves' labels made by `wave_tick`)."""
    if value not in MATRIX_VALUES:
        raise ValueError(f"value must be one of {', '.join(MATRIX_VALUES)}, not '{value}'")
    default_title, (zmin, zmax), ticks = MATRIX_VALUES[value]
    title = title or default_title
    shown = matrix.dropna(subset=[value])
    if shown.empty:
        return _empty_figure(title, "No factor was rated at both waves for these projects.")
    rows = _matrix_rows(list(shown.factor_code.unique()), factors)
    projects = sorted(matrix.project_code.unique())
    z = shown.pivot(index="factor_code", columns="project_code", values=value).reindex(
        index=rows.factor_code, columns=projects
    )
    fig = go.Figure(
        go.Heatmap(
            z=_none_for_nan(z),
            x=_escaped(projects),
            y=_factor_axis(rows) if factors is not None else _escaped(rows.label),
            text=[[_signed(v) if pd.notna(v) else "" for v in row] for row in z.to_numpy()],
            texttemplate="%{text}",
            customdata=[[label] * len(projects) for label in _escaped(rows.label)],
            colorscale=RATING_SCALE,
            zmin=zmin,
            zmax=zmax,
            xgap=2,
            ygap=2,
            colorbar=_rating_colorbar(ticks),
            hovertemplate="<b>%{customdata}</b><br>%{x}: %{text}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", showgrid=False)
    # Codes across the top, level while they fit, else upright; the top margin makes room for them under the title.
    upright = len(projects) > 12
    longest = max((len(str(p)) for p in projects), default=4)
    fig.update_xaxes(side="top", type="category", showgrid=False, tickangle=-90 if upright else 0)
    _layout(fig, title, max(360, 200 + 28 * len(rows)))
    fig.update_layout(
        plot_bgcolor=NOT_CITED,
        margin=dict(t=100 + (8 * longest if upright else 10), b=70),
        title_subtitle_text="Grey: not rated at the wave(s) compared",
    )
    return fig


class FrozenFigure(go.Figure):
    """A finished figure, drawn on every rerun of its page and never changed again. Plotly makes a figure's dict by
    deep-copying it and encoding every array afresh, which cost more than the rest of a rerun; this one makes it
    once and hands the same dict out after (readers only: Streamlit turns it into JSON)."""

    def to_dict(self):
        made = self.__dict__.get("_frozen_dict")
        if made is None:
            made = super().to_dict()
            self.__dict__["_frozen_dict"] = made
        return made


def frozen(figure: go.Figure | None) -> go.Figure | None:
    """`figure` as a FrozenFigure (the same object, not a copy): change nothing in it after this."""
    if figure is not None:
        figure.__class__ = FrozenFigure
    return figure


def _by_value(value: object) -> object:
    """`value` with every frame and series in it as plain lists of its index, columns, types and values."""
    if isinstance(value, pd.DataFrame):
        columns = [str(c) for c in value.columns]
        types = [str(t) for t in value.dtypes]
        return ("frame", columns, types, value.index.tolist(), [value.iloc[:, n].tolist() for n in range(len(columns))])
    if isinstance(value, pd.Series):
        return ("series", str(value.name), str(value.dtype), value.index.tolist(), value.tolist())
    if isinstance(value, list | tuple):
        return tuple(_by_value(item) for item in value)
    return value


_DRAWN: OrderedDict[bytes, FrozenFigure] = OrderedDict()
_DRAWN_KEPT = 64
_drawn_lock = threading.Lock()


def drawn(make: Callable[P, go.Figure], *args: P.args, **kwargs: P.kwargs) -> FrozenFigure:
    """`frozen(make(*args, **kwargs))`, made again only when what it is made from has changed. Plotly checks every
    property as a figure is built (40–60 ms for the overview's completion and balance charts at S = 1000), and most
    writes change nothing a chart shows: a new outlook of one project leaves the completion of every wave as it
    was. The figures are kept by a digest of their function and arguments, the frames among them by their values
    (not by how pandas happens to hold them, which a write's splice changes), so different data never share a
    figure. For the small frames a chart is drawn from: the overview's take about a millisecond to digest."""
    arguments = (make.__module__, make.__qualname__, _by_value(args), _by_value(sorted(kwargs.items())))
    key = hashlib.blake2b(pickle.dumps(arguments, protocol=5), digest_size=20).digest()
    with _drawn_lock:
        figure = _DRAWN.get(key)
        if figure is not None:
            _DRAWN.move_to_end(key)
            return figure
    figure = cast(FrozenFigure, frozen(make(*args, **kwargs)))
    with _drawn_lock:
        _DRAWN[key] = figure
        while len(_DRAWN) > _DRAWN_KEPT:
            _DRAWN.popitem(last=False)
    return figure
