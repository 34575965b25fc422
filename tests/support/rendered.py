"""What a markdown string that Streamlit renders shows a reader: its text, and any live markup in it.

AppTest hands back the markdown source of captions, labels and messages; these render it with a CommonMark parser
(markdown-it-py) plus the extensions Streamlit adds on top (strikethrough, tables, `:colour[…]`, icons, `$…$`)."""

from __future__ import annotations

import html
import re

from markdown_it import MarkdownIt

_parser = MarkdownIt("commonmark").enable(["strikethrough", "table"])
_TAGS = re.compile(r"<(a|strong|em|code|s|del|h[1-6]|img|ul|ol|li|blockquote|table|hr)[\s>/]")
# Streamlit's own additions, which CommonMark does not know: a backslash before the colon or dollar disarms them.
# GitHub's autolink literals (remark-gfm finds them after escapes are undone, so only a character inside stops them).
_AUTOLINK = re.compile(r"(?:https?|ftp|mailto)://|www\.[\w-]|[\w.+-]@[\w-]+\.\w", re.IGNORECASE)
_STREAMLIT = re.compile(r"(?<!\\):[a-z]+\[|(?<!\\):material/|(?<!\\)\$[^$]+(?<!\\)\$")


def html_of(markdown: str) -> str:
    return _parser.renderInline(markdown)


def text_of(markdown: str) -> str:
    """The characters a reader sees (an invisible word joiner is not one)."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_of(markdown))).replace("\u2060", "")


def live_markup(markdown: str) -> list[str]:
    """Links, emphasis, headings and Streamlit directives that `markdown` would render."""
    autolinks = _AUTOLINK.findall(markdown.replace("\\", ""))
    return [m.group(1) for m in _TAGS.finditer(html_of(markdown))] + _STREAMLIT.findall(markdown) + autolinks
