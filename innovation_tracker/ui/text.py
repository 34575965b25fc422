"""User-entered text shown where Streamlit renders markdown (captions, headings, widget labels, notices, toasts).

Streamlit renders those strings as GitHub-flavoured markdown with its own additions: `:red[…]` colours,
`:material/…:` icons, emoji shortcodes and `$…$` formulas. A project name such as `[log in again](http://…)` would
become a live link for every viewer, so what a user typed is escaped before it is put in such a string.
"""

from __future__ import annotations

import re

# Every ASCII punctuation character that markdown or Streamlit's additions give a meaning to; CommonMark lets a
# backslash escape any ASCII punctuation, so escaping one too many is harmless.
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:&=\"'^@%])")


def escape_markdown(text: object) -> str:
    """`text` as a markdown string that renders as exactly these characters (line breaks become spaces)."""
    flat = " ".join(str(text).splitlines())
    return _SPECIAL.sub(r"\\\1", flat)
