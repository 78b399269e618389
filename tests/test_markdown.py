"""Markdown bodies: rendered right and safely, bounded in length, stored when saved.

How fast the renderer is on bodies made to be slow is measured in bench/markdown_bench.py;
here the same bodies are checked for what they render to.
"""

import importlib
import io
from types import SimpleNamespace
from unittest import mock

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from explainers import markup
from explainers.markup import (
    BLOCK_LINES_MAX,
    BODY_MAX_LENGTH,
    FAILED_LINKS_MAX,
    RAW_HTML_MAX_TAGS,
    render_markdown,
)
from explainers.models import Explainer

from .helpers import make_explainer, opened_form, page_soup, sign_in_verified

EXPLAINERS = "/admin/explainers/explainer/"
TOO_LONG = BODY_MAX_LENGTH + 1
TOO_LONG_MESSAGE = "The body is 100,001 characters; the limit is 100,000."


def soup_of(html):
    from bs4 import BeautifulSoup

    return BeautifulSoup(html, "html.parser")


def filled(pattern: str, size: int = BODY_MAX_LENGTH) -> str:
    """``pattern`` repeated to exactly ``size`` characters."""
    return (pattern * (size // len(pattern) + 1))[:size]


# What the renderer writes


def test_headings_lists_code_tables_and_links_render():
    html = render_markdown(
        "## How it works\n\n"
        "### Step by step\n\n"
        "- one\n- *two*\n\n"
        "3. three\n4. four\n\n"
        "Call `attend()` **now**, ~~not later~~.\n\n"
        "```python\nif a < b:\n    pass\n```\n\n"
        "| Left | Right |\n|:-----|------:|\n| a    | 1     |\n\n"
        '[A link](https://example.org/x "Title") and <https://example.org/auto>\n'
    )
    soup = soup_of(html)

    assert soup.h2.get_text() == "How it works" and soup.h3.get_text() == "Step by step"
    assert [li.get_text() for li in soup.ul.find_all("li")] == ["one", "two"]
    assert soup.ul.em.get_text() == "two"
    assert soup.ol["start"] == "3"
    assert soup.p.code.get_text() == "attend()" and soup.p.strong.get_text() == "now"
    assert soup.p.find("del").get_text() == "not later"
    assert soup.pre.code.get_text() == "if a < b:\n    pass\n"
    assert [th.get_text() for th in soup.select("thead th")] == ["Left", "Right"]
    assert [td.get("align") for td in soup.select("tbody td")] == ["left", "right"]
    link = soup.find("a", string="A link")
    assert (link["href"], link["title"]) == ("https://example.org/x", "Title")
    assert link["rel"] == ["noopener", "noreferrer", "nofollow"]
    assert soup.find("a", string="https://example.org/auto")["href"] == "https://example.org/auto"


def test_footnotes_and_definition_lists_render():
    soup = soup_of(render_markdown("Attention[^1].\n\n[^1]: Vaswani et al.\n\nTerm\n: Meaning\n"))

    assert soup.sup.a.get_text() == "[1]"
    assert "Vaswani et al." in soup.ol.li.get_text()
    assert (soup.dl.dt.get_text(), soup.dl.dd.get_text()) == ("Term", "Meaning")


def test_a_top_level_heading_becomes_an_h2():
    soup = soup_of(render_markdown("# Title\n\nText\n\n<h1>Raw title</h1>"))

    assert not soup.find_all("h1")
    assert [h2.get_text() for h2 in soup.find_all("h2")] == ["Title", "Raw title"]


def test_scripts_event_handlers_and_dangerous_urls_are_removed():
    html = render_markdown(
        "<script>alert('x')</script>\n\n"
        '<img src="/x.png" onerror="alert(1)">\n\n'
        "[click](javascript:alert(1)) [data](data:text/html;base64,PHNjcmlwdD4=) "
        "![img](javascript:alert(2)) [vb](VBScript:msgbox)\n\n"
        '<a href="https://example.org" onclick="steal()" style="color:red">fine link</a>\n\n'
        '<iframe src="https://evil.example"></iframe> <div class="x">kept text</div>\n\n'
        "Inline <b onmouseover=alert(3)>bold</b> <sub>2</sub>"
    )
    soup = soup_of(html)

    assert not soup.select("script, iframe, div, [onerror], [onclick], [onmouseover], [style]")
    assert "alert('x')" not in html
    assert "javascript" not in html.lower() and "vbscript" not in html.lower()
    assert "data:" not in html
    assert soup.select_one('a[href="https://example.org"]').get_text() == "fine link"
    assert soup.img["src"] == "/x.png"
    assert "kept text" in soup.get_text() and soup.sub.get_text() == "2"


def test_raw_html_past_its_budget_is_shown_as_text():
    within = "<sub>x</sub>" * RAW_HTML_MAX_TAGS
    soup = soup_of(render_markdown(within + " <sup>past</sup>"))

    assert len(soup.find_all("sub")) == RAW_HTML_MAX_TAGS
    # The start tag past the budget shows as written; nh3 drops the stray end tag.
    assert not soup.find_all("sup") and soup.get_text().endswith(" <sup>past\n")


# Bodies made to be slow (timed in bench/markdown_bench.py) render to what they should


def test_a_body_of_open_brackets_is_text():
    soup = soup_of(render_markdown(filled("[")))

    assert soup.p.get_text() == "[" * BODY_MAX_LENGTH and not soup.a


def test_links_after_a_few_stray_brackets_still_link():
    soup = soup_of(
        render_markdown("A [sic] and [ ] and ![x( then [the paper](https://example.org/p).")
    )

    assert soup.a["href"] == "https://example.org/p" and soup.a.get_text() == "the paper"


def test_past_the_budget_of_failed_brackets_a_link_is_text():
    stray = "[sic] " * FAILED_LINKS_MAX
    html = render_markdown(f"[before](https://example.org/1) {stray}[after](https://example.org/2)")

    links = soup_of(html).find_all("a")
    assert [a["href"] for a in links] == ["https://example.org/1"]
    assert html.rstrip().endswith("[after](https://example.org/2)</p>")


def test_a_table_within_the_budget_of_block_lines_keeps_every_row():
    rows = "".join(f"| row {n} | {n} |\n" for n in range(BLOCK_LINES_MAX - 2))
    soup = soup_of(render_markdown("| name | n |\n|:-|-:|\n" + rows))

    assert len(soup.table.find_all("tr")) == BLOCK_LINES_MAX - 1  # and the header row
    assert soup.table.th["align"] == "left" and soup.table.td["align"] == "left"


def test_past_the_budget_of_block_lines_tables_and_definitions_are_read_as_paragraphs():
    rows = "".join(f"| row {n} | {n} |\n" for n in range(BLOCK_LINES_MAX + 10))
    table = "| name | n |\n|-|-|\n" + rows
    html = render_markdown(f"{table}\nTerm\n: its definition\n\n| a | b |\n|-|-|\n| c | d |\n")

    soup = soup_of(html)
    assert len(soup.find_all("table")) == 1  # the second table comes after the budget
    # The header, then rows up to the budget's last line (the delimiter line is none).
    assert len(soup.table.find_all("tr")) == BLOCK_LINES_MAX - 1
    assert not soup.dl
    # Nothing is lost: what the budget cut off is shown as text.
    text = soup.get_text()
    assert f"| row {BLOCK_LINES_MAX + 9} |" in text
    assert ": its definition" in text and "| c | d |" in text


def test_a_body_of_definition_lines_stops_being_a_list_at_the_budget():
    soup = soup_of(render_markdown(filled("a\n: b\n")))

    assert len(soup.find_all("dd")) == BLOCK_LINES_MAX // 2
    assert soup.get_text().count(": b") == BODY_MAX_LENGTH // len("a\n: b\n") - len(
        soup.find_all("dd")
    )


def test_past_the_budget_of_failed_brackets_an_inline_footnote_is_text():
    within = soup_of(render_markdown("A claim.^[A source.]"))
    assert within.sup.get_text() == "[1]" and within.ol.li.get_text().startswith("A source.")

    past = soup_of(render_markdown("[sic] " * FAILED_LINKS_MAX + "A claim.^[A source.]"))
    assert not past.sup and not past.ol and "A claim.^[A source.]" in past.get_text()


def test_a_body_of_nested_divs_is_shown_as_text():
    html = render_markdown(filled("<div>"))

    assert "<div" not in html
    assert html.count("&lt;div&gt;") == BODY_MAX_LENGTH // len("<div>")


@pytest.mark.parametrize("tag", ["<ol>", "<dl>\n\n", "<pre>", "<blockquote>"])
def test_deeply_nested_raw_block_tags_stop_at_the_budget(tag):
    soup = soup_of(render_markdown(filled(tag)))

    name = tag.strip("<>\n")
    assert len(soup.find_all(name)) <= RAW_HTML_MAX_TAGS


def test_a_body_of_unclosed_images_makes_no_image():
    html = render_markdown(filled("![a]("))

    assert "<img" not in html and soup_of(html).get_text().startswith("![a](![a](")


def test_a_body_of_unclosed_links_makes_no_link():
    html = render_markdown(filled("[a]("))

    assert "<a" not in html and soup_of(html).get_text().startswith("[a]([a](")


def test_emphasis_that_never_closes_is_text():
    body = filled("*a **b ")
    soup = soup_of(render_markdown(body))

    assert not soup.find_all(["em", "strong"])
    assert soup.p.get_text() == body.strip()
    assert soup_of(render_markdown("*a **b** c*")).em.strong.get_text() == "b"


def test_abbreviation_lines_are_text():
    # Abbreviations were Python-Markdown's; markdown-it-py has no plugin for them.
    soup = soup_of(render_markdown(filled("*[HTML]: x\n")))

    assert not soup.find_all("abbr")
    assert soup.p.get_text() == filled("*[HTML]: x\n").strip()


@pytest.mark.parametrize(
    "pattern",
    ["]", "_a __b ", "~~a ", "`", "*", "[^1]", "[^a]: x\n", "[a]: b\n", "a\n: b\n", ">",
     "- ", "|a", "|a|b|\n|-|-|\n", "<!--", "&#", "<a:", "\\", "<a x "],
)  # fmt: skip
def test_other_pathological_bodies_render_to_sanitized_html(pattern):
    html = render_markdown(filled(pattern))

    assert isinstance(html, str)
    assert "<script" not in html and "<div" not in html


# Stored at save time, never rendered for a reader


@pytest.mark.django_db
def test_saving_an_explainer_stores_its_html(category):
    explainer = make_explainer(category, "Tokens", body="# Tokens\n\nText is *split*.")
    assert Explainer.objects.get(pk=explainer.pk).body_html == (
        "<h2>Tokens</h2>\n<p>Text is <em>split</em>.</p>\n"
    )

    explainer.body = "Now **bold**."
    explainer.save(update_fields=["body"])
    assert Explainer.objects.get(pk=explainer.pk).body_html == "<p>Now <strong>bold</strong>.</p>\n"

    explainer.body = ""
    explainer.save()
    assert Explainer.objects.get(pk=explainer.pk).body_html == ""


@pytest.mark.django_db
def test_a_save_that_does_not_write_the_body_leaves_its_html(category):
    explainer = make_explainer(category, "Tokens", body="Text")
    Explainer.objects.filter(pk=explainer.pk).update(body_html="<p>stored</p>")

    explainer.title = "Renamed"
    with mock.patch.object(markup.parser(), "parse", wraps=markup.parser().parse) as parse:
        explainer.save(update_fields=["title"])
        Explainer.objects.defer("body").get(pk=explainer.pk).save()

    parse.assert_not_called()
    assert Explainer.objects.get(pk=explainer.pk).body_html == "<p>stored</p>"


@pytest.mark.django_db
def test_a_readers_request_parses_no_markdown(client, category):
    explainer = make_explainer(category, "Tokens", body="## How it works\n\nText.")
    neighbour = make_explainer(category, "Next one", body="## Elsewhere", position=1)
    # What the page shows is what was stored, whatever the body says now.
    Explainer.objects.filter(pk=explainer.pk).update(body_html="<p>Stored <em>HTML</em></p>")

    with (
        mock.patch.object(markup.parser(), "parse", wraps=markup.parser().parse) as parse,
        mock.patch("explainers.markup.render_markdown", wraps=render_markdown) as render,
    ):
        response = client.get(explainer.get_absolute_url())

    assert response.status_code == 200
    parse.assert_not_called()
    render.assert_not_called()
    prose = page_soup(response).select_one(".prose")
    assert prose.em.get_text() == "HTML" and not prose.h2
    assert page_soup(response).select_one('a[rel="next"]')["href"] == neighbour.get_absolute_url()


@pytest.mark.django_db
def test_pages_read_body_html_only_for_the_explainer_shown(client, category):
    shown = make_explainer(category, "Shown", body="Text", position=1)
    for position in (0, 2, 3, 4):
        make_explainer(category, f"Other {position}", body="Other text", position=position)

    with CaptureQueriesContext(connection) as explainer_page:
        assert client.get(shown.get_absolute_url()).status_code == 200
    with CaptureQueriesContext(connection) as category_page:
        assert client.get(category.get_absolute_url()).status_code == 200

    def reading_html(queries):
        return [q["sql"] for q in queries if "body_html" in q["sql"]]

    assert len(reading_html(explainer_page.captured_queries)) == 1
    assert reading_html(category_page.captured_queries) == []


# The length limit, in the admin form and the preview


@pytest.fixture
def editor():
    call_command("setup_roles", stdout=io.StringIO())
    user = User.objects.create_user("eddie", password="a long test password", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    return sign_in_verified(Client(), user)


@pytest.mark.django_db
def test_the_admin_form_refuses_a_body_over_the_limit(editor, category):
    explainer = make_explainer(category, "Tokens", body="Short.")
    url = f"{EXPLAINERS}{explainer.pk}/change/"

    response = editor.post(url, {**opened_form(editor, url), "body": "x" * TOO_LONG})

    assert response.status_code == 200
    errors = page_soup(response).select(".field-body .errorlist li")
    assert [error.get_text() for error in errors] == [TOO_LONG_MESSAGE]
    explainer.refresh_from_db()
    assert explainer.body == "Short." and explainer.body_html == "<p>Short.</p>\n"


@pytest.mark.django_db
def test_the_admin_form_takes_a_body_at_the_limit(editor, category):
    explainer = make_explainer(category, "Tokens", body="Short.", status="draft")
    url = f"{EXPLAINERS}{explainer.pk}/change/"

    response = editor.post(url, {**opened_form(editor, url), "body": "x" * BODY_MAX_LENGTH})

    assert response.status_code == 302
    explainer.refresh_from_db()
    assert explainer.body_html == f"<p>{'x' * BODY_MAX_LENGTH}</p>\n"


@pytest.mark.django_db
def test_the_preview_refuses_a_body_over_the_limit(editor, client):
    refused = editor.post(f"{EXPLAINERS}preview/", {"body": "x" * TOO_LONG})
    assert refused.status_code == 400
    assert refused.content.decode() == TOO_LONG_MESSAGE

    taken = editor.post(f"{EXPLAINERS}preview/", {"body": "# Hi"})
    assert (taken.status_code, taken.content.decode()) == (200, "<h2>Hi</h2>\n")
    assert editor.get(f"{EXPLAINERS}preview/").status_code == 405
    assert client.post(f"{EXPLAINERS}preview/", {"body": "x"}).status_code == 302


@pytest.mark.django_db
def test_the_pending_preview_renders_the_pending_body(editor, client, category):
    live = make_explainer(category, "Live", body="## Published")
    live.pending = {**live.content(), "body": "## Pending"}
    live.save()

    preview = page_soup(editor.get(f"{EXPLAINERS}{live.pk}/pending/"))
    reader = page_soup(client.get(live.get_absolute_url()))

    assert preview.select_one(".prose h2").get_text() == "Pending"
    assert reader.select_one(".prose h2").get_text() == "Published"


# The migration


@pytest.mark.django_db
def test_the_migration_renders_existing_bodies(category):
    migration = importlib.import_module("explainers.migrations.0004_body_html")
    with_body = make_explainer(category, "Tokens", body="# Tokens")
    without = make_explainer(category, "Empty", body="")
    Explainer.objects.update(body_html="")

    migration.render_stored_bodies(apps, SimpleNamespace(connection=connection))

    assert Explainer.objects.get(pk=with_body.pk).body_html == "<h2>Tokens</h2>\n"
    assert Explainer.objects.get(pk=without.pk).body_html == ""
