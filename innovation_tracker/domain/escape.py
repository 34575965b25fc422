"""Text users typed, escaped for the place it is shown: one function per sink. Each is applied once, where the text
is put into that sink's markup, so that it reads exactly as typed and never becomes a link or an element.

- `escape_markdown`: wherever Streamlit renders markdown (bodies, captions, headings, notices, toasts, widget labels
  and `help=` tooltips, the options of radios and segmented controls, the cells of `st.table`). Not the options of a
  selectbox or multiselect, and not `st.dataframe`'s cells: those are plain text.
- `escape_plotly`: any text in a Plotly figure (titles, tick labels, category names, legend names, annotations,
  hover text and the customdata a hovertemplate shows), which Plotly renders as a subset of HTML (`<a href>`, `<b>`,
  `<br>`). `plotly_plain` reads such text back as its reader sees it.
- `escape_html`: an HTML document (the HTML report) and `st.html`.

Pure: no streamlit, no storage; every layer may import it (charts, reports and the UI do).
"""

from __future__ import annotations

import html
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


def escape_plotly(text: object) -> str:
    """`text` as Plotly text that reads as exactly these characters. Plotly decodes only `&amp;`, `&lt;`, `&gt;` and
    numeric entities (not `&quot;`), so quotes stay as they are: outside a tag they are harmless."""
    return html.escape(str(text), quote=False)


def plotly_plain(text: object) -> str:
    """What a reader sees of Plotly text (ours, or `escape_plotly`'s): line breaks as spaces, tags gone, entities
    decoded. For a figure's text alternative, which a report then escapes for its own sink."""
    return html.unescape(re.sub(r"<[^>]*>", "", " ".join(str(text).replace("<br>", " ").split())))


def escape_html(text: object) -> str:
    """`text` for an HTML document, in an element or a quoted attribute."""
    return html.escape(str(text), quote=True)


# Spreadsheets: a cell a spreadsheet would run as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# The escaping rule: on export, text that starts with = + - @, a tab or a carriage return, after any number of
# apostrophes, gets one more apostrophe in front, unless it is a plain negative number ("-2", "-1.5": a spreadsheet
# reads a number, never a formula; "+44…" keeps its apostrophe, or the plus would go). On import, text that starts
# with an apostrophe followed (after any more apostrophes) by one of those characters loses one. So "=SUM(A1)" is
# written "'=SUM(A1)", and "'=x" (typed with its apostrophe) "''=x": both read back exactly. The same patterns run
# in SQL for exports (storage.exports) and in pandas for imports and for every other file the app hands out
# (`neutralised`).
FORMULA_START = "[=+\\-@\\t\\r]"
ESCAPED = rf"^'*{FORMULA_START}"
NEUTRALISED = rf"^'+{FORMULA_START}"
PLAIN_NUMBER = r"^-?[0-9]+(\.[0-9]+)?$"
_PLAIN_NUMBER = re.compile(PLAIN_NUMBER)


def neutralise(value: object) -> object:
    """Stop a spreadsheet from running a cell as a formula: prefix it with an apostrophe. Numbers stay numbers."""
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value
