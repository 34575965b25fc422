"""User-entered text shown where Streamlit renders markdown (captions, headings, widget labels, notices, toasts).

Streamlit renders those strings as GitHub-flavoured markdown with its own additions: `:red[…]` colours,
`:material/…:` icons, emoji shortcodes and `$…$` formulas. A project name such as `[log in again](http://…)` would
become a live link for every viewer, so what a user typed is escaped before it is put in such a string.
"""

from __future__ import annotations

import re

# What starts markup anywhere in a line: emphasis, code, strikethrough, links and images, HTML, formulas, entities
# and e-mail autolinks; a colon before a letter or a slash (Streamlit's `:red[…]`, `:material/…:`
# and shortcodes, and `http://` autolinks), the dot of `www.` (autolinks), and an underscore that is not inside a word
# (inside one it cannot start emphasis, so `service_users_engaged` stays as it is). CommonMark lets a backslash escape
# any ASCII punctuation; ordinary punctuation (dates, codes, sentences) is left as it is, so the text stays readable.
_INLINE = re.compile(
    r"([\\`*~\[\]<>$&@])|(:)(?=[A-Za-z/])|(?<=www)(\.)|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", re.IGNORECASE
)
# What starts a block only at the start of a line: a heading, a quote, a list item, a numbered item, a setext
# underline (line breaks are flattened, so only the text's own start is one).
_LINE_START = re.compile(r"^(\s*)([-+=#>]|\d+(?=[.)]))")


# GitHub's autolinks (`http://…`, `www.…`, `name@host`) are found in the text after backslash escapes are undone,
# so no escape stops them; an invisible word joiner (U+2060) inside the pattern does, and shows nothing.
WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?<=https)(?=:)|(?<=http)(?=:)|(?<=ftp)(?=:)|(?<=mailto)(?=:)|(?<=www)(?=\.)|(?=@)", re.I)


def escape_markdown(text: object) -> str:
    """`text` as a markdown string that renders as exactly these characters (line breaks become spaces; an
    invisible word joiner keeps web and e-mail addresses from becoming links)."""
    flat = _AUTOLINK.sub(WORD_JOINER, " ".join(str(text).splitlines()))
    escaped = _INLINE.sub(lambda m: "\\" + m.group(0), flat)
    return _LINE_START.sub(
        lambda m: m.group(1) + (m.group(2) + "\\" if m.group(2)[0].isdigit() else "\\" + m.group(2)), escaped
    )
