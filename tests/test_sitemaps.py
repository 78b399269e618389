"""The sitemap: an index of sections in pages of at most SITEMAP_SECTION_SIZE addresses, each
page cached until the content changes, each published explainer listed exactly once."""

import xml.etree.ElementTree as ET
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from django.utils import timezone

from explainers.models import Category, Explainer, Series

from .helpers import make_category, make_explainer

pytestmark = pytest.mark.django_db

NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
BASE = "http://testserver"
SIZE = 5


@pytest.fixture
def small_sections(settings):
    settings.SITEMAP_SECTION_SIZE = SIZE


@pytest.fixture
def site(small_sections, category):
    """12 published explainers (3 pages of 5) in 6 categories (2 pages), one series, and an
    explainer of each kind readers never see."""
    categories = [category, category.parent]
    categories += [make_category(f"Topic {n}", parent=category.parent) for n in range(4)]
    published = [
        make_explainer(categories[n % len(categories)], f"Explainer {n}") for n in range(12)
    ]
    published[0].series.add("MONA explainer")
    hidden = [
        make_explainer(category, "A draft", status=Explainer.Status.DRAFT),
        make_explainer(
            category, "Tomorrow", published_at=timezone.now() + timezone.timedelta(days=1)
        ),
    ]
    return {"categories": categories, "published": published, "hidden": hidden}


def get_xml(client, address, status=200):
    response = client.get(address)
    assert response.status_code == status, (address, response.status_code)
    assert response["Content-Type"].startswith("application/xml")
    return ET.fromstring(response.content)


def index_pages(client) -> dict[str, str | None]:
    """The index's section pages (path: lastmod), in its order."""
    root = get_xml(client, "/sitemap.xml")
    assert root.tag == f"{{{NS['sm']}}}sitemapindex"
    return {
        urlsplit(entry.find("sm:loc", NS).text).path: entry.findtext("sm:lastmod", None, NS)
        for entry in root.findall("sm:sitemap", NS)
    }


def listed(client, address) -> list[str]:
    root = get_xml(client, address)
    assert root.tag == f"{{{NS['sm']}}}urlset"
    return [url.findtext("sm:loc", None, NS) for url in root.findall("sm:url", NS)]


def everything_listed(client) -> list[str]:
    return [location for page in index_pages(client) for location in listed(client, page)]


def test_the_index_lists_every_page_of_every_section_with_its_last_change(client, site):
    pages = index_pages(client)

    assert list(pages) == [
        "/sitemap-home.xml",
        "/sitemap-categories.xml",
        "/sitemap-categories-2.xml",
        "/sitemap-series.xml",
        "/sitemap-explainers.xml",
        "/sitemap-explainers-2.xml",
        "/sitemap-explainers-3.xml",
    ]
    newest = max(explainer.last_modified for explainer in site["published"])
    assert all(lastmod.startswith(newest.date().isoformat()) for lastmod in pages.values())


def test_every_published_explainer_is_listed_exactly_once_and_nothing_unpublished(client, site):
    everything = everything_listed(client)

    assert len(everything) == len(set(everything))
    explainers = {BASE + explainer.get_absolute_url() for explainer in site["published"]}
    categories = {BASE + category.get_absolute_url() for category in site["categories"]}
    series = {BASE + Series.objects.get().get_absolute_url()}
    assert set(everything) == {f"{BASE}/"} | categories | series | explainers
    for explainer in site["hidden"]:
        assert not [url for url in everything if url.endswith(f"/{explainer.slug}/")]


def test_explainers_are_listed_in_the_order_they_were_made_five_a_page(client, site):
    pages = [listed(client, page) for page in index_pages(client) if "explainers" in page]

    assert [len(page) for page in pages] == [5, 5, 2]
    in_order = [BASE + explainer.get_absolute_url() for explainer in site["published"]]
    assert [url for page in pages for url in page] == in_order


def test_each_address_has_the_date_readers_last_saw_it_change(client, site):
    root = get_xml(client, "/sitemap-explainers.xml")

    first = site["published"][0]
    url = root.find("sm:url", NS)
    assert url.findtext("sm:loc", None, NS) == BASE + first.get_absolute_url()
    assert url.findtext("sm:lastmod", None, NS) == first.last_modified.date().isoformat()
    assert url.findtext("sm:changefreq", None, NS) == "weekly"
    assert url.findtext("sm:priority", None, NS) == "0.8"


@pytest.mark.parametrize(
    "address",
    [
        "/sitemap-explainers-4.xml",  # past the last page
        "/sitemap-explainers-1.xml",  # page 1 is /sitemap-explainers.xml
        "/sitemap-home-2.xml",
        "/sitemap-drafts.xml",  # no such section
    ],
)
def test_a_page_past_the_end_or_of_no_section_is_a_404(client, site, address):
    assert client.get(address).status_code == 404


def test_with_nothing_published_the_sections_are_empty_but_answer(client, small_sections):
    assert list(index_pages(client)) == [
        "/sitemap-home.xml",
        "/sitemap-categories.xml",
        "/sitemap-series.xml",
        "/sitemap-explainers.xml",
    ]
    assert everything_listed(client) == [f"{BASE}/"]


def test_the_index_and_each_page_are_cached_until_the_content_changes(
    client, site, category, django_capture_on_commit_callbacks
):
    addresses = ["/sitemap.xml", "/sitemap-explainers.xml", "/sitemap-explainers-3.xml"]
    first = {address: client.get(address) for address in addresses}
    second = {address: client.get(address) for address in addresses}

    for address in addresses:
        assert (first[address]["X-Cache"], second[address]["X-Cache"]) == ("miss", "hit")
        assert second[address].content == first[address].content
    # Each page has an entry of its own.
    assert second["/sitemap-explainers-3.xml"].content != second["/sitemap-explainers.xml"].content

    with django_capture_on_commit_callbacks(execute=True):
        added = make_explainer(category, "Just published")

    fresh = {address: client.get(address) for address in addresses}
    assert {response["X-Cache"] for response in fresh.values()} == {"miss"}
    assert BASE + added.get_absolute_url() in listed(client, "/sitemap-explainers-3.xml")
    assert BASE + added.get_absolute_url() in everything_listed(client)


def test_a_new_page_appears_in_the_index_once_a_section_outgrows_its_pages(
    client, site, category, django_capture_on_commit_callbacks
):
    for number in range(3):  # 12 explainers: 2 on page 3; 15 fill it
        with django_capture_on_commit_callbacks(execute=True):
            make_explainer(category, f"More {number}")
    assert "/sitemap-explainers-4.xml" not in index_pages(client)
    assert client.get("/sitemap-explainers-4.xml").status_code == 404

    with django_capture_on_commit_callbacks(execute=True):
        added = make_explainer(category, "The sixteenth")

    assert "/sitemap-explainers-4.xml" in index_pages(client)
    assert listed(client, "/sitemap-explainers-4.xml") == [BASE + added.get_absolute_url()]


def answer_without_model_instances(address):
    """What the view at ``address`` answers, called without the middleware (the page cache's
    own lookups left out); building a model instance on the way fails."""
    match = resolve(address)
    patches = [
        mock.patch.object(model, "from_db", side_effect=AssertionError(f"a {model.__name__}"))
        for model in (Explainer, Category, Series)
    ]
    for patch in patches:
        patch.start()
    try:
        response = match.func(RequestFactory().get(address), *match.args, **match.kwargs)
    finally:
        for patch in patches:
            patch.stop()
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("count", [3, 30])
def test_a_section_page_costs_the_same_few_queries_whatever_its_size(
    category, settings, count, django_assert_num_queries
):
    settings.SITEMAP_SECTION_SIZE = 10
    for number in range(count):
        make_explainer(category, f"Explainer {number}").series.add(f"Series {number}")
    pages = ["/sitemap-explainers.xml"]
    pages += [f"/sitemap-explainers-{n}.xml" for n in range(2, -(-count // 10) + 1)]

    for address in pages:
        with django_assert_num_queries(2):  # how many rows, then the page's rows
            answer_without_model_instances(address)
    with django_assert_num_queries(1):  # the categories with their kept latest change
        answer_without_model_instances("/sitemap-categories.xml")
    with django_assert_num_queries(1):  # the series with their kept latest change
        answer_without_model_instances("/sitemap-series.xml")
    with django_assert_num_queries(1):  # the home page's latest change
        answer_without_model_instances("/sitemap-home.xml")


def test_the_index_costs_the_same_queries_whatever_the_site_size(category, settings):
    settings.SITEMAP_SECTION_SIZE = 10
    make_explainer(category, "Explainer").series.add("One")
    with CaptureQueriesContext(connection) as small:
        answer_without_model_instances("/sitemap.xml")

    for number in range(40):
        topic = make_category(f"Topic {number}", parent=category)
        make_explainer(topic, f"Explainer {number}").series.add(f"Series {number}")

    with CaptureQueriesContext(connection) as large:
        assert len(answer_without_model_instances("/sitemap.xml").content) > 0
    assert len(large) == len(small)
