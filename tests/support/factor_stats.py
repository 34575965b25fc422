"""Hand-made rows of the SQL factor aggregate (`storage.factor_stats`), for the analysis and chart tests."""

import pandas as pd

STATS_COLUMNS = [
    "project_code",
    "wave",
    "factor_code",
    "n",
    "n_barrier",
    "n_facilitator",
    "positive_sum",
    "negative_sum",
]


def stat(project, wave, factor, *ratings):
    """One row of the SQL aggregate, from the individual ratings."""
    positive = [r for r in ratings if r > 0]
    negative = [r for r in ratings if r < 0]
    return (project, wave, factor, len(ratings), len(negative), len(positive), sum(positive), sum(negative))


def stats_frame(*rows):
    return pd.DataFrame(list(rows), columns=STATS_COLUMNS)
