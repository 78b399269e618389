"""The admin's lists with thousands of explainers (issue 15): the same queries whatever the
number, no count of a whole big table, bodies left in the database, search through the
full-text index, category and series filters as autocompletes, count columns for the rows
shown only (and none for an autocomplete's search), and the category tree in tree order."""

import io
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from explainers.models import Category, Explainer, Series, SeriesItem
from explainers.services.search_index import search_index_refresh

from .helpers import make_category, make_explainer, make_hero, page_soup, sign_in_verified
from .test_admin import make_user

pytestmark = pytest.mark.django_db

EXPLAINERS = "/admin/explainers/explainer/"
CATEGORIES = "/admin/explainers/category/"
AUTOCOMPLETE = "/admin/autocomplete/"
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the count estimate is PostgreSQL's"
)


@pytest.fixture(autouse=True)
def roles():
    call_command("setup_roles", stdout=io.StringIO())


@pytest.fixture
def editor():
    return sign_in_verified(Client(), make_user("eddie", "Editors"))


def add_explainers(category, count, *, first=0, series=None, body=""):
    """``count`` published explainers at the end of ``category``, written in bulk (indexed for
    search, as the importer's bulk writes are)."""
    published = timezone.now() - timezone.timedelta(days=1)
    explainers = Explainer.objects.bulk_create(
        Explainer(
            category=category,
            title=f"Bulk explainer {number}",
            slug=f"bulk-explainer-{number}",
            excerpt=f"Number {number} of many …",
            body=body,
            reading_time=3,
            status=Explainer.Status.PUBLISHED,
            published_at=published,
            position=number,
        )
        for number in range(first, first + count)
    )
    if series is not None:
        SeriesItem.objects.bulk_create(
            SeriesItem(tag=series, content_object=explainer) for explainer in explainers
        )
    search_index_refresh(explainer_ids=[explainer.pk for explainer in explainers])
    return explainers


def analyze():
    """The planner's statistics, as autovacuum keeps them on a live database."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE explainers_explainer")


def listed_titles(response):
    return [explainer.title for explainer in response.context["cl"].result_list]


def paginator_text(response):
    return " ".join(page_soup(response).select_one("p.paginator").get_text(" ").split())


# The explainer list


def test_the_explainer_list_runs_the_same_queries_with_60_or_3000_explainers(
    editor, category, django_assert_num_queries
):
    add_explainers(category, 60)
    analyze()
    with CaptureQueriesContext(connection) as few:
        small = editor.get(EXPLAINERS)
    add_explainers(category, 2940, first=60)
    analyze()

    with django_assert_num_queries(len(few)):
        big = editor.get(EXPLAINERS)

    assert len(listed_titles(small)) == len(listed_titles(big)) == 50
    assert "Bulk explainer 0" in listed_titles(big)


@on_postgresql
def test_an_unfiltered_list_of_thousands_is_estimated_not_counted(editor, category):
    add_explainers(category, 3000)
    analyze()

    with CaptureQueriesContext(connection) as queries:
        response = editor.get(EXPLAINERS)

    # Only a count that stops early (at a thousand rows) goes near the table.
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert all("LIMIT 1000" in sql for sql in counts if '"explainers_explainer"' in sql), counts
    assert paginator_text(response).endswith("about 3000 explainers")
    # The last page, by the estimate, still lists the last rows.
    last = editor.get(f"{EXPLAINERS}?p=60")
    assert "Bulk explainer 2999" in listed_titles(last)


def test_deep_pages_list_every_explainer_once_in_order_picking_their_ids_first(editor, category):
    add_explainers(category, 120)
    analyze()

    pages = [editor.get(f"{EXPLAINERS}?p={number}") for number in (1, 2, 3)]
    with CaptureQueriesContext(connection) as queries:
        editor.get(f"{EXPLAINERS}?p=3")

    assert [title for page in pages for title in listed_titles(page)] == [
        f"Bulk explainer {number}" for number in range(120)
    ]
    # The rows a page passes over are ids alone (read from the nearer end: the last page's
    # are the last ids backwards); only the page's own rows are joined.
    rows = [q["sql"] for q in queries if 'LEFT OUTER JOIN "explainers_heroimage"' in q["sql"]]
    assert len(rows) == 1
    ids = rows[0].split('"id" IN (SELECT', 1)[1]
    assert '"position" DESC' in ids and "heroimage" not in ids


def test_a_filtered_list_is_counted_exactly(editor, category):
    add_explainers(category, 1200)
    other = make_category("Other corner", parent=category.parent)
    make_explainer(other, "The only one here")
    analyze()

    response = editor.get(f"{EXPLAINERS}?category__id__exact={other.pk}")

    assert listed_titles(response) == ["The only one here"]
    assert paginator_text(response) == "1 explainer"


def test_the_list_leaves_bodies_in_the_database_and_the_form_shows_them(editor, category):
    explainer = make_explainer(category, "Long read", body="A body nobody lists. " * 400)

    with CaptureQueriesContext(connection) as queries:
        listed = editor.get(EXPLAINERS)
    opened = editor.get(f"{EXPLAINERS}{explainer.pk}/change/")

    assert listed_titles(listed) == ["Long read"]
    read = [q["sql"] for q in queries if '"explainers_explainer"."body' in q["sql"]]
    assert not read, read
    body = page_soup(opened).select_one("textarea[name=body]").get_text()
    assert body.strip() == explainer.body.strip()


def test_the_search_finds_an_explainer_by_a_word_of_its_body_without_like(editor, category):
    add_explainers(category, 40, body="Ordinary words about models.")
    make_explainer(category, "Figures of speech", body="A zeugma joins two things oddly.")

    with CaptureQueriesContext(connection) as queries:
        response = editor.get(f"{EXPLAINERS}?q=zeugma")

    assert listed_titles(response) == ["Figures of speech"]
    likes = [q["sql"] for q in queries if "LIKE" in q["sql"].upper() and "body" in q["sql"]]
    assert not likes, likes


def test_a_term_too_short_for_the_index_is_looked_for_in_titles_and_slugs(editor, category):
    add_explainers(category, 30)
    make_explainer(category, "Results of the third quarter", slug="results-q3")

    response = editor.get(f"{EXPLAINERS}?q=Q3")

    assert listed_titles(response) == ["Results of the third quarter"]


# Filters


def autocomplete_query(field_name, term):
    """What a select of the explainer list asks the autocomplete view as one types."""
    return {
        "app_label": "explainers",
        "model_name": "explainer",
        "field_name": field_name,
        "term": term,
    }


def autocomplete_select(response, name):
    return page_soup(response).select_one(f"#changelist-filter select[name={name}]")


def test_the_category_and_series_filters_are_autocompletes_not_lists_of_links(editor, category):
    for number in range(12):
        make_category(f"Corner {number}", parent=category.parent)
    Series.objects.create(name="MONA Bridge")

    response = editor.get(EXPLAINERS)

    soup = page_soup(response)
    for name, field in [("category__id__exact", "category"), ("series__id__exact", "series")]:
        select = autocomplete_select(response, name)
        assert "admin-autocomplete" in select["class"]
        assert select["data-ajax--url"] == AUTOCOMPLETE
        assert (select["data-model-name"], select["data-field-name"]) == ("explainer", field)
        assert [option["value"] for option in select.select("option")] == [""]
        assert not soup.select(f'#changelist-filter a[href*="{name}="]')
    # The admin's CSP runs no inline script: the filter's is a file.
    scripts = soup.select("script:not([src])")
    assert all(script.get("type") == "application/json" for script in scripts)
    assert soup.select_one('script[src*="explainers/admin/autocomplete-filter"]')


def test_the_autocomplete_filters_filter_and_show_the_choice(editor, category):
    mona = Series.objects.create(name="MONA explainer")
    other = make_category("Other corner", parent=category.parent)
    in_series = make_explainer(category, "In the series")
    in_series.series.add(mona)
    make_explainer(category, "Not in it")
    make_explainer(other, "Elsewhere")

    by_category = editor.get(f"{EXPLAINERS}?category__id__exact={other.pk}")
    by_series = editor.get(f"{EXPLAINERS}?series__id__exact={mona.pk}")

    assert listed_titles(by_category) == ["Elsewhere"]
    chosen = autocomplete_select(by_category, "category__id__exact").select_one("[selected]")
    assert (chosen["value"], chosen.get_text()) == (str(other.pk), str(other))
    assert listed_titles(by_series) == ["In the series"]
    chosen = autocomplete_select(by_series, "series__id__exact").select_one("[selected]")
    assert chosen.get_text() == "MONA explainer"


def test_the_filters_search_through_the_autocomplete_view(editor, category):
    Series.objects.create(name="MONA explainer")
    Series.objects.create(name="Other series")

    found = editor.get(AUTOCOMPLETE, autocomplete_query("series", "MONA"))

    assert [result["text"] for result in found.json()["results"]] == ["MONA explainer"]


def test_a_filter_value_that_is_not_an_id_is_refused_with_the_list_error(editor, category):
    response = editor.get(f"{EXPLAINERS}?category__id__exact=oops")

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


# Count columns and autocompletes


@pytest.mark.parametrize(
    "field_name, term, table",
    [
        ("category", "LLM", "explainers_explainer"),
        ("hero", "diagram", "explainers_explainer"),
        ("series", "MONA", "explainers_seriesitem"),
    ],
)
def test_an_autocomplete_search_counts_no_explainers(editor, category, field_name, term, table):
    mona = Series.objects.create(name="MONA explainer")
    hero = make_hero(alt_text="A diagram of attention")
    add_explainers(category, 20, series=mona)
    Explainer.objects.update(hero=hero)

    with CaptureQueriesContext(connection) as queries:
        response = editor.get(AUTOCOMPLETE, autocomplete_query(field_name, term))

    assert len(response.json()["results"]) == 1
    counted = [q["sql"] for q in queries if f'"{table}"' in q["sql"]]
    assert not counted, counted


def test_the_count_columns_count_each_row_shown(editor, category):
    mona = Series.objects.create(name="MONA explainer")
    hero = make_hero(alt_text="A diagram of attention")
    add_explainers(category, 7, series=mona)
    Explainer.objects.filter(position__lt=3).update(hero=hero)
    make_category("Empty corner", parent=category.parent)

    categories = page_soup(editor.get(CATEGORIES))
    series = page_soup(editor.get("/admin/explainers/series/"))
    heroes = page_soup(editor.get("/admin/explainers/heroimage/"))

    counts = {
        row.select_one(".field-indented_name").get_text(strip=True): row.select_one(
            ".field-explainer_count"
        ).get_text()
        for row in categories.select("#result_list tbody tr")
    }
    assert counts == {"AI Principles": "0", "LLM Foundations": "7", "Empty corner": "0"}
    assert series.select_one("#result_list .field-explainer_count").get_text() == "7"
    assert heroes.select_one("#result_list .field-usage").get_text() == "3"


# The category tree


def test_the_category_list_is_the_tree_in_order_with_each_depth_indented(editor):
    ai = make_category("AI", slug="ai")
    make_category("AI Safety", slug="ai-safety")
    zoo = make_category("Zoo", parent=ai)
    agents = make_category("Agents", parent=ai)
    make_category("Tools", parent=agents)
    make_category("Applied", slug="applied")

    rows = page_soup(editor.get(CATEGORIES)).select("#result_list tbody .field-indented_name")
    ordering_view = editor.get(f"{CATEGORIES}?parent__id__exact={ai.pk}")

    shown = [
        (row.get_text(strip=True), re.search(r"padding-left:([\d.]+)em", str(row)).group(1))
        for row in rows
    ]
    assert shown == [
        ("AI", "0.0"),
        ("Agents", "1.5"),
        ("Tools", "3.0"),
        ("Zoo", "1.5"),
        ("AI Safety", "0.0"),
        ("Applied", "0.0"),
    ]
    # Where siblings are reordered, they keep their own order (Zoo was first).
    assert [c.name for c in ordering_view.context["cl"].result_list] == ["Zoo", "Agents"]
    assert zoo.position < agents.position


def test_the_category_list_runs_the_same_queries_for_few_or_many_categories(
    editor, django_assert_num_queries
):
    section = make_category("Section")
    make_category("Leaf 0", parent=section)
    with CaptureQueriesContext(connection) as few:
        editor.get(CATEGORIES)
    Category.objects.bulk_create(
        Category(
            name=f"Leaf {n}", slug=f"leaf-{n}", parent=section, path=f"section/leaf-{n}", position=n
        )
        for n in range(1, 300)
    )

    with django_assert_num_queries(len(few)):
        response = editor.get(CATEGORIES)

    assert len(response.context["cl"].result_list) == 50  # a page
