"""Figures: data in, plotly Figure out. One colour-blind-safe palette (Okabe & Ito) used everywhere."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .domain import RAG_VALUES

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
NOT_SCORED = "#F2F2F2"
FONT = dict(family="Source Sans Pro, sans-serif", size=14)


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0),
        height=height,
        font=FONT,
        margin=dict(l=10, r=10, t=50, b=10),
        plot_bgcolor="white",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, title=None, traceorder="normal"),
    )
    return fig


def completion_chart(by_wave: pd.DataFrame) -> go.Figure:
    """Stacked bars, one per wave: participants completed, missed, overdue, due, upcoming, withdrawn."""
    waves = by_wave.sort_values("position").drop_duplicates("wave")[["wave", "wave_label"]]
    fig = go.Figure()
    for status in STATUS_ORDER:
        counts = by_wave[by_wave.status == status].set_index("wave")["participants"]
        values = [int(counts.get(w, 0)) for w in waves.wave]
        fig.add_bar(
            name=status.capitalize(),
            y=list(waves.wave_label),
            x=values,
            orientation="h",
            marker_color=STATUS_COLOURS[status],
            text=[v or "" for v in values],
            textposition="inside",
            hovertemplate="%{y}: %{x} " + status + "<extra></extra>",
        )
    fig.update_layout(barmode="stack", bargap=0.25)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title="participants", gridcolor="#EEEEEE")
    return _layout(fig, "Follow-up completion by wave", 120 + 60 * len(waves))


def outlook_grid_chart(grid: pd.DataFrame) -> go.Figure:
    """Projects down, waves across; each cell the outlook in colour and in words, so colour is never the only cue."""
    waves = grid.sort_values("position").drop_duplicates("wave")
    projects = sorted(grid.project_code.unique())
    labels = {
        row.project_code: f"{row.project_code} · {row.name}"
        for row in grid.drop_duplicates("project_code").itertuples()
    }
    codes = {None: 0, **{value: n + 1 for n, value in enumerate(RAG_VALUES)}}
    lookup = {(r.project_code, r.wave): (None if pd.isna(r.value) else r.value) for r in grid.itertuples()}
    z = [[codes.get(lookup.get((p, w)), 0) for w in waves.wave] for p in projects]
    text = [[(lookup.get((p, w)) or "—").capitalize() for w in waves.wave] for p in projects]
    colours = [NOT_SCORED, RAG_COLOURS["red"], RAG_COLOURS["amber"], RAG_COLOURS["green"]]
    scale = [[i / 4 + edge / 4, colour] for i, colour in enumerate(colours) for edge in (0, 1)]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(waves.wave_label),
            y=[labels[p] for p in projects],
            text=text,
            texttemplate="%{text}",
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
    fig.update_xaxes(side="top")
    return _layout(fig, "Sustainability outlook by wave", 140 + 34 * len(projects))
