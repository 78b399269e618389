"""Category pages reproduce the scraped listings: names, breadcrumbs, every card, in order."""

import io

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from explainers.listings import parse_listing
from explainers.models import Explainer

from .helpers import (
    LISTINGS,
    breadcrumb_labels,
    cards,
    make_category,
    make_explainer,
    make_hero,
    page_soup,
)

pytestmark = pytest.mark.django_db


def import_fixtures():
    call_command("import_listings", str(LISTINGS), parent="AI Principles", stdout=io.StringIO())


def read(name):
    return parse_listing((LISTINGS / name).read_bytes(), name)


def follow_pages(client, url):
    """Every page of a category, following rel="next" as a reader (or a crawler) would."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, url
        soup = page_soup(response)
        pages.append(soup)
        following = soup.select_one('.pagination a[rel="next"]')
        url = following["href"] if following else None
    return pages


@pytest.mark.parametrize(
    "url, card_files, breadcrumb_files",
    [
        (
            "/ai-principles/llm-foundations/",
            ["llm-foundations.page-1.cards.txt", "llm-foundations.page-2.cards.txt"],
            ["llm-foundations.page-1.breadcrumbs.txt", "llm-foundations.page-2.breadcrumbs.txt"],
        ),
        ("/ai-principles/model-architectures/", ["model-architectures.page-1.cards.txt"], []),
    ],
)
def test_category_pages_reproduce_the_scraped_listings(client, url, card_files, breadcrumb_files):
    import_fixtures()

    pages = follow_pages(client, url)

    card_listings = [read(name) for name in card_files]
    assert len(pages) == len(card_listings)
    for soup, listing in zip(pages, card_listings, strict=True):
        assert soup.h1.get_text(strip=True) == listing.category
        assert soup.select_one(".category-description").get_text(strip=True) == (
            listing.description
        )
        assert breadcrumb_labels(soup) == ["Home", "AI Principles", listing.category]
        assert [
            (c["alt"], c["series"], c["minutes"], c["title"], c["excerpt"]) for c in cards(soup)
        ] == [
            (e.alt_text, e.series, f"{e.minutes} min", e.title, e.excerpt) for e in listing.entries
        ]
    for soup, name in zip(pages[: len(breadcrumb_files)], breadcrumb_files, strict=True):
        listing = read(name)
        assert breadcrumb_labels(soup) == ["Home", *listing.ancestors, listing.category]
        assert [(c["title"], c["excerpt"]) for c in cards(soup)] == [
            (e.title, e.excerpt) for e in listing.entries
        ]


def test_a_category_page_has_one_h1_and_breadcrumbs_marking_the_current_page(client):
    import_fixtures()

    soup = page_soup(client.get("/ai-principles/llm-foundations/"))

    assert len(soup.find_all("h1")) == 1
    current = soup.select('nav[aria-label="Breadcrumb"] [aria-current="page"]')
    assert [a.get_text() for a in current] == ["LLM Foundations"]
    assert [a["href"] for a in soup.select('nav[aria-label="Breadcrumb"] a')] == [
        "/",
        "/ai-principles/",
        "/ai-principles/llm-foundations/",
    ]


def test_cards_carry_sized_responsive_images_lazy_below_the_first_row(
    client, placeholder_renditions, django_capture_on_commit_callbacks
):
    # The import commits, and its renditions are made (the tests' tasks run at once).
    with django_capture_on_commit_callbacks(execute=True):
        import_fixtures()

    soup = page_soup(client.get("/ai-principles/llm-foundations/"))

    images = soup.select("article.card img")
    assert len(images) == 30
    for image in images:
        assert image["alt"] and image["width"] and image["height"]
        assert image["srcset"].count("w,") == 2 and image["sizes"]
        assert image.find_parent("picture").select_one('source[type="image/webp"]')["srcset"]
    assert [image.get("loading") for image in images[:3]] == [None, None, None]
    assert {image.get("loading") for image in images[3:]} == {"lazy"}


def test_pagination_links_both_ways_and_page_one_has_no_query(client):
    import_fixtures()

    first = page_soup(client.get("/ai-principles/llm-foundations/"))
    second = page_soup(client.get("/ai-principles/llm-foundations/?page=2"))

    assert first.select_one('a[rel="next"]')["href"] == "/ai-principles/llm-foundations/?page=2"
    assert not first.select_one('.pagination a[rel="prev"]')
    assert second.select_one('.pagination a[rel="prev"]')["href"] == (
        "/ai-principles/llm-foundations/"
    )
    assert not second.select_one('.pagination a[rel="next"]')
    assert len(cards(second)) == 25


@pytest.mark.parametrize("page", ["3", "0", "abc", "-1", "9" * 30])
def test_an_unknown_page_number_is_a_404(client, page):
    import_fixtures()

    response = client.get("/ai-principles/llm-foundations/", {"page": page})

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_a_section_page_lists_its_categories_with_published_counts(client):
    import_fixtures()
    taken_back = Explainer.objects.get(title__startswith="Prompt Engineering")
    taken_back.status = Explainer.Status.DRAFT
    taken_back.save()

    soup = page_soup(client.get("/ai-principles/"))

    assert soup.h1.get_text(strip=True) == "AI Principles"
    assert breadcrumb_labels(soup) == ["Home", "AI Principles"]
    items = [
        (li.h3.get_text(strip=True), li.select_one(".category-count").get_text(strip=True))
        for li in soup.select(".category-item")
    ]
    assert items == [("LLM Foundations", "54 explainers"), ("Model Architectures", "30 explainers")]


def test_a_section_page_adds_one_query_for_its_subcategories(client, django_assert_num_queries):
    section = make_category("AI Principles")
    for name in ["LLM Foundations", "Model Architectures", "Agents"]:
        make_category(name, parent=section)
    make_explainer(section, "Start here")

    # 1 the section (with when what is scheduled under it comes out: how long the page may
    # be cached), 2 its subcategories with counts, 3 the page of cards with the listing's size.
    with django_assert_num_queries(3):
        response = client.get("/ai-principles/")

    assert len(page_soup(response).select(".category-item")) == 3


def test_a_section_shows_its_own_explainers_after_its_categories(client):
    section = make_category("AI Principles")
    make_category("LLM Foundations", parent=section)
    make_explainer(section, "Start here")

    soup = page_soup(client.get("/ai-principles/"))

    assert [c["title"] for c in cards(soup)] == ["Start here"]
    assert soup.select_one(".category-item h3").get_text(strip=True) == "LLM Foundations"


def test_drafts_and_scheduled_explainers_are_absent_from_category_pages(client):
    category = make_category()
    make_explainer(category, "Visible", position=1)
    make_explainer(category, "Draft", status=Explainer.Status.DRAFT, position=2)
    make_explainer(
        category, "Tomorrow", published_at=timezone.now() + timezone.timedelta(days=1), position=3
    )

    soup = page_soup(client.get("/llm-foundations/"))

    assert [c["title"] for c in cards(soup)] == ["Visible"]


@pytest.mark.parametrize("beside", ["nothing", "a scheduled explainer", "a subcategory"])
def test_a_category_is_paginated_by_what_readers_find_listed_in_it(client, beside):
    category = make_category()
    for number in range(31):
        make_explainer(category, f"Explainer {number}", position=number)
    make_explainer(category, "Draft", status=Explainer.Status.DRAFT, position=31)
    if beside == "a scheduled explainer":
        tomorrow = timezone.now() + timezone.timedelta(days=1)
        make_explainer(category, "Tomorrow", published_at=tomorrow, position=32)
    if beside == "a subcategory":
        make_explainer(make_category("Deeper", parent=category), "Below")

    first = page_soup(client.get("/llm-foundations/"))
    last = page_soup(client.get("/llm-foundations/?page=last"))

    assert len(cards(first)) == 30
    assert [card["title"] for card in cards(last)] == ["Explainer 30"]
    assert client.get("/llm-foundations/?page=3").status_code == 404


def test_an_unknown_category_is_a_404_in_the_site_layout(client):
    response = client.get("/no-such-category/")

    assert response.status_code == 404
    soup = page_soup(response)
    assert soup.h1.get_text() == "Page not found"
    assert soup.select_one(".site-header")


def test_hostile_text_is_escaped_on_cards(client):
    category = make_category("Tricks & <Traps>", slug="tricks", description='"Quoted" & <b>')
    hostile = '<script>alert("x")</script> & "quotes" \'single\''
    explainer = make_explainer(
        category,
        title=hostile,
        slug="hostile",
        excerpt=hostile,
        hero=make_hero(alt_text='" onerror="alert(1)'),
    )
    explainer.series.add("<i>Series</i> & more")

    response = client.get("/tricks/")
    html = response.content.decode()

    assert "<script>alert" not in html
    assert 'onerror="alert(1)"' not in html
    soup = page_soup(response)
    (card,) = cards(soup)
    assert card["title"] == card["excerpt"] == hostile
    assert card["alt"] == '" onerror="alert(1)'
    assert card["series"] == "<i>Series</i> & more"
    assert "<i>" not in html
    assert soup.h1.get_text() == "Tricks & <Traps>"


@pytest.mark.parametrize("count", [1, 30])
def test_a_category_page_makes_the_same_few_queries_whatever_its_size(
    client, django_assert_num_queries, count
):
    section = make_category("AI Principles")
    parent = make_category("Deep", parent=section)
    category = make_category("LLM Foundations", parent=parent)
    for number in range(count):
        explainer = make_explainer(
            category, f"Explainer {number}", hero=make_hero(), position=number
        )
        explainer.series.add("MONA explainer", "MONA Bridge")

    # 1 the category and its ancestors (whether it has subcategories: it has none; when
    # what is scheduled in it comes out: how long the page may be cached; its live count,
    # the listing's size), 2 the page of stored cards (the first one's sharing image the
    # page's).
    with django_assert_num_queries(2):
        response = client.get("/ai-principles/deep/llm-foundations/")

    assert len(cards(page_soup(response))) == count


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
)
def test_on_postgresql_a_page_visited_often_runs_prepared_statements(client):
    category = make_category("LLM Foundations")
    make_explainer(category, "What is attention?").series.add("MONA explainer")

    # An emptied page cache before each visit, so that each is rendered rather than served
    # from the cache (other query parameters share the page's one entry).
    for _ in range(6):
        cache.clear()
        assert client.get("/llm-foundations/").status_code == 200

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]
    assert any('FROM "explainers_category"' in statement for statement in prepared)
    assert any('FROM "explainers_explainer"' in statement for statement in prepared)
