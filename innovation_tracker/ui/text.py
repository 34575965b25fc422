"""User-entered text where Streamlit renders markdown (captions, headings, widget labels and tooltips, notices,
toasts, the cells of `st.table`).

Streamlit renders those strings as GitHub-flavoured markdown with its own additions: `:red[…]` colours,
`:material/…:` icons, emoji shortcodes and `$…$` formulas. A project name such as `[log in again](http://…)` would
become a live link for every viewer, so what a user typed is escaped (`escape_markdown`, from the package's pure
`escape` module, shared with the layers that build text for other sinks) before it is put in such a string.
"""

from __future__ import annotations

import pandas as pd

from innovation_tracker.domain.escape import WORD_JOINER, escape_markdown

__all__ = ["WORD_JOINER", "escape_markdown", "markdown_cells"]


def markdown_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` for `st.table`, which renders every cell, header and index label as markdown: each text escaped
    (each distinct one once); columns of numbers, dates or flags as they are."""

    def escaped(values) -> list:
        shown = {v: escape_markdown(v) for v in dict.fromkeys(v for v in values if isinstance(v, str))}
        return [shown.get(v, v) if isinstance(v, str) else v for v in values]

    out = frame.copy()
    for n in range(frame.shape[1]):
        column = frame.iloc[:, n]
        if pd.api.types.is_string_dtype(column) or column.dtype == object:
            out.isetitem(n, pd.Series(escaped(column), index=frame.index, dtype=object))
    out.index = pd.Index(escaped(frame.index), name=frame.index.name)
    out.columns = escaped(frame.columns)
    return out
