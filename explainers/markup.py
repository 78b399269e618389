"""Markdown to HTML that is safe to show: editors write Markdown, readers get sanitized HTML.

The parser is markdown-it-py (CommonMark, plus tables, strikethrough, footnotes and
definition lists; raw HTML passes to nh3, up to a budget), whose time grows in step with the
text whatever it holds: Python-Markdown took 9.5 s on a body of 10,000 "[" and four times that
on twice as many (see bench/markdown_bench.py). Where a construct costs markdown-it-py much
per character (raw HTML, failed links, table rows, definition lines), a body gets a budget of
it, past which the rest is read as text; so no body of BODY_MAX_LENGTH characters takes it
more than about half a second. Bodies are rendered when an explainer is saved, never on a
reader's request (``Explainer.save``).

markdown-it-py, its plugins and nh3 are imported on the first render, not with this module:
the processes that only serve readers (who get the stored HTML) never load them.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.rules_block import StateBlock
    from markdown_it.rules_inline import StateInline

# Characters; enforced on Explainer.body (and so in the admin form) and by the preview.
BODY_MAX_LENGTH = 100_000

# Raw HTML start tags one body may hold; past that, raw HTML is shown as text. nh3 (its HTML
# parser) takes time in the square of how deeply elements nest: 25,000 nested <ol> take it
# 1.6 s, 2,000 a few milliseconds. The HTML markdown-it writes itself nests no deeper than
# its maxNesting (20).
RAW_HTML_MAX_TAGS = 2_000
# Links, images and inline footnotes ("[", "![", "^[") one body may try and fail to read;
# past that, a "[" is text.
# Each try walks ahead through the label, nested up to maxNesting (20) deep, so a body of
# nothing but "![" or "[a](" costs markdown-it-py about 20 µs a character (2.5 s for
# 100,000); real bodies fail a few dozen times (a "[sic]", a "[ ]" checkbox).
FAILED_LINKS_MAX = 1_000
FAILED_LINKS = "failed_links"  # the count, in the render's env
# Lines of tables and definition lists one body may hold; past that, their lines are read as
# paragraphs. markdown-it-py spends some 60 µs on each table row and 20 µs on each line of a
# definition list (16,666 rows: 1.0 s; 50,000 definition lines: 1.1 s), paragraphs some
# 14 µs a line; a real explainer's tables and lists run to a few hundred lines.
BLOCK_LINES_MAX = 2_000
BLOCK_LINES = "block_lines"  # the count, in the render's env
START_TAG = re.compile(r"<[A-Za-z]")
TOP_HEADING = re.compile(r"<(/?)h1\b")
TEXT_ALIGN = re.compile(r"^text-align:\s*(left|right|center)$")

ALLOWED_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "figcaption",
    "figure", "h2", "h3", "h4", "h5", "h6", "hr", "img", "li", "ol", "p", "pre", "strong",
    "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}


def body_length_message(length: int) -> str:
    return f"The body is {length:,} characters; the limit is {BODY_MAX_LENGTH:,}."


def validate_body_length(value: str) -> None:
    """Explainer.body's validator (so the admin form's too): at most BODY_MAX_LENGTH."""
    if len(value) > BODY_MAX_LENGTH:
        raise ValidationError(body_length_message(len(value)), code="max_length")


def _fit_allowed_tags(state) -> None:
    """Tokens as the allowed tags and attributes have them: ``~~x~~`` as <del> (not <s>),
    a table column's alignment as ``align`` (not a style attribute, which is dropped)."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open"):
            match = TEXT_ALIGN.match(str(token.attrs.pop("style", "")))
            if match:
                token.attrs["align"] = match[1]
        for child in token.children or ():
            if child.type in ("s_open", "s_close"):
                child.tag = "del"


def _budget_raw_html(state) -> None:
    """Raw HTML (each html_block or html_inline token) while the body's raw start tags
    stay within RAW_HTML_MAX_TAGS; past that, each further piece is shown as text."""
    spent = 0
    for token in state.tokens:
        for raw in [token, *(token.children or ())]:
            if raw.type not in ("html_block", "html_inline"):
                continue
            tags = len(START_TAG.findall(raw.content))
            if spent + tags > RAW_HTML_MAX_TAGS:
                raw.type = "text"  # rendered escaped
            else:
                spent += tags


def _within_failed_links_budget(rule):
    """The inline rule ``rule`` (link or image), tried while the body's failed tries
    stay within FAILED_LINKS_MAX. Tries inside a label (``silent``) are not counted: they
    are bounded by maxNesting for each counted one."""

    def attempt(state: StateInline, silent: bool) -> bool:
        if state.env.get(FAILED_LINKS, 0) >= FAILED_LINKS_MAX:
            return False
        if rule(state, silent):
            return True
        if not silent:
            state.env[FAILED_LINKS] = state.env.get(FAILED_LINKS, 0) + 1
        return False

    return attempt


def _within_block_lines_budget(rule):
    """The block rule ``rule`` (table, definition list), reading no further than the body's
    lines left of BLOCK_LINES_MAX: a table or list cut there ends there, and once the budget
    is spent the rule reads nothing, so what follows is read as paragraphs."""

    def attempt(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
        spent = state.env.get(BLOCK_LINES, 0)
        if spent >= BLOCK_LINES_MAX:
            return False
        if not rule(state, start_line, min(end_line, start_line + BLOCK_LINES_MAX - spent), silent):
            return False
        if not silent:
            state.env[BLOCK_LINES] = spent + state.line - start_line
        return True

    return attempt


@cache
def parser() -> MarkdownIt:
    """The one parser, made on the first render."""
    from markdown_it import MarkdownIt
    from markdown_it.rules_block import table
    from markdown_it.rules_inline import image, link
    from mdit_py_plugins.deflist import deflist_plugin
    from mdit_py_plugins.footnote import footnote_plugin
    from mdit_py_plugins.footnote.index import footnote_inline

    # Raw HTML in Markdown is parsed as HTML, as it was, and nh3 keeps only the allowed
    # tags and attributes (editors use <sub>, <sup>, <figure>, <abbr>).
    md = MarkdownIt("commonmark", {"html": True})
    md.enable(["table", "strikethrough"])
    md.use(footnote_plugin).use(deflist_plugin)
    md.inline.ruler.at("link", _within_failed_links_budget(link))
    md.inline.ruler.at("image", _within_failed_links_budget(image))
    md.inline.ruler.at("footnote_inline", _within_failed_links_budget(footnote_inline))
    # With the "alt" the library and the plugin register: the rules each may interrupt.
    md.block.ruler.at(
        "table", _within_block_lines_budget(table), {"alt": ["paragraph", "reference"]}
    )
    deflist = dict(zip(md.block.ruler.get_active_rules(), md.block.ruler.getRules(""), strict=True))
    md.block.ruler.at(
        "deflist",
        _within_block_lines_budget(deflist["deflist"]),
        {"alt": ["paragraph", "reference", "blockquote"]},
    )
    md.core.ruler.push("fit_allowed_tags", _fit_allowed_tags)
    md.core.ruler.push("budget_raw_html", _budget_raw_html)
    # Every link is kept as written; nh3 drops any URL whose scheme is not allowed
    # (javascript:, data:, ...), leaving its text as a link to nowhere.
    md.validateLink = lambda url: True
    return md


def render_markdown(text: str) -> str:
    """Markdown rendered to HTML, then cleaned: no script, no event handler, no javascript: URL."""
    import nh3

    html = parser().render(text)
    # "# Heading" becomes an <h2>: the page's only <h1> is the explainer's title.
    html = TOP_HEADING.sub(r"<\1h2", html)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
