"""Feeds, the sitemap, robots.txt, sharing tags and JSON-LD."""

import json
import xml.etree.ElementTree as ET

import feedparser
import pytest
import time_machine
from bs4 import BeautifulSoup
from django.contrib.staticfiles import finders
from django.utils import timezone
from PIL import Image

from explainers.models import Explainer

from .helpers import breadcrumb_labels, cards, make_category, make_explainer, make_hero, page_soup

pytestmark = pytest.mark.django_db

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


@pytest.fixture
def site():
    section = make_category("AI Principles")
    foundations = make_category("LLM Foundations", parent=section, description="Core mechanics.")
    architectures = make_category("Model Architectures", parent=section)
    now = timezone.now()
    tokens = make_explainer(
        foundations,
        "Tokens",
        hero=make_hero("A row of tokens"),
        published_at=now - timezone.timedelta(days=2),
    )
    tokens.series.add("MONA explainer")
    bridge = make_explainer(
        architectures, "Bridges", published_at=now - timezone.timedelta(days=1), position=1
    )
    bridge.series.add("MONA Bridge")
    make_explainer(foundations, "Draft", status=Explainer.Status.DRAFT)
    make_explainer(foundations, "Tomorrow", published_at=now + timezone.timedelta(days=1))
    return {"section": section, "foundations": foundations, "tokens": tokens, "bridge": bridge}


def parse_feed(client, url):
    response = client.get(url)
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    return feed


@pytest.mark.parametrize("kind, version", [("rss", "rss20"), ("atom", "atom10")])
def test_the_site_feed_lists_published_explainers_newest_first(client, site, kind, version):
    feed = parse_feed(client, f"/feeds/{kind}.xml")

    assert feed.version == version
    assert [entry.title for entry in feed.entries] == ["Bridges", "Tokens"]
    tokens = feed.entries[1]
    assert tokens.link == "http://testserver/ai-principles/llm-foundations/tokens/"
    assert tokens.summary == site["tokens"].excerpt
    assert tokens.published_parsed[:3] == site["tokens"].published_at.utctimetuple()[:3]
    (enclosure,) = [link for link in tokens.links if link.rel == "enclosure"]
    assert enclosure.href.startswith("http://testserver/images/")
    assert enclosure.type == "image/jpeg" and int(enclosure.length) > 0
    assert client.get(enclosure.href.removeprefix("http://testserver")).status_code == 200


def test_a_section_feed_includes_its_subcategories(client, site):
    feed = parse_feed(client, "/feeds/categories/ai-principles/rss.xml")

    assert [entry.title for entry in feed.entries] == ["Bridges", "Tokens"]
    assert feed.feed.title == "AI Principles · AI Explainers"


def test_a_category_feed_lists_only_its_explainers(client, site):
    feed = parse_feed(client, "/feeds/categories/ai-principles/llm-foundations/atom.xml")

    assert [entry.title for entry in feed.entries] == ["Tokens"]


def test_a_series_feed_lists_its_explainers(client, site):
    feed = parse_feed(client, "/feeds/series/mona-bridge/rss.xml")

    assert [entry.title for entry in feed.entries] == ["Bridges"]


def test_unknown_feeds_are_404(client, site):
    assert client.get("/feeds/categories/nowhere/rss.xml").status_code == 404
    assert client.get("/feeds/series/nothing/atom.xml").status_code == 404


def test_pages_link_their_feeds(client, site):
    category = page_soup(client.get("/ai-principles/llm-foundations/"))
    series = page_soup(client.get("/series/mona-bridge/"))

    hrefs = {link["href"] for link in category.select('link[rel="alternate"]')}
    assert {
        "/feeds/rss.xml",
        "/feeds/atom.xml",
        "/feeds/categories/ai-principles/llm-foundations/rss.xml",
        "/feeds/categories/ai-principles/llm-foundations/atom.xml",
    } <= hrefs
    assert "/feeds/series/mona-bridge/rss.xml" in {
        link["href"] for link in series.select('link[rel="alternate"]')
    }


def sitemap_entries(client):
    """Every address of the sitemap, read through its index: {loc: lastmod element}."""
    index = ET.fromstring(client.get("/sitemap.xml").content)
    entries = {}
    for page in index.findall("sm:sitemap/sm:loc", SITEMAP_NS):
        response = client.get(page.text.removeprefix("http://testserver"))
        assert response.status_code == 200
        for url in ET.fromstring(response.content).findall("sm:url", SITEMAP_NS):
            loc = url.find("sm:loc", SITEMAP_NS).text
            assert loc not in entries, f"{loc} listed twice"
            entries[loc] = url.find("sm:lastmod", SITEMAP_NS)
    return entries


def test_the_sitemap_lists_exactly_the_published_pages(client, site):
    # A series with nothing published in it yet has no page.
    Explainer.objects.get(slug="tomorrow").series.add("Coming soon")

    entries = sitemap_entries(client)
    base = "http://testserver"
    assert set(entries) == {
        f"{base}/",
        f"{base}/series/mona-explainer/",
        f"{base}/series/mona-bridge/",
        f"{base}/ai-principles/",
        f"{base}/ai-principles/llm-foundations/",
        f"{base}/ai-principles/model-architectures/",
        f"{base}/ai-principles/llm-foundations/tokens/",
        f"{base}/ai-principles/model-architectures/bridges/",
    }
    assert entries[f"{base}/ai-principles/llm-foundations/tokens/"].text.startswith(
        site["tokens"].updated_at.date().isoformat()
    )


def test_robots_txt_keeps_crawlers_out_of_the_admin_and_points_at_the_sitemap(client):
    response = client.get("/robots.txt")

    assert response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert "Disallow: /admin/" in lines
    assert "Sitemap: http://testserver/sitemap.xml" in lines


def test_an_explainer_page_shares_well(client, site):
    soup = page_soup(client.get(site["tokens"].get_absolute_url()))

    def meta(name):
        tag = soup.select_one(f'meta[property="{name}"], meta[name="{name}"]')
        return tag["content"] if tag else None

    assert soup.title.get_text() == "Tokens · AI Explainers"
    assert meta("description") == site["tokens"].excerpt
    assert soup.select_one('link[rel="canonical"]')["href"] == (
        "http://testserver/ai-principles/llm-foundations/tokens/"
    )
    assert meta("og:type") == "article"
    assert meta("og:title") == meta("twitter:title") == "Tokens · AI Explainers"
    assert meta("og:image").startswith("http://testserver/images/heroes/")
    # The crop drawn around the focal point, under the key it was drawn for.
    assert meta("og:image").endswith(f"/1200x630-{site['tokens'].hero.renditions_key}.jpg")
    assert (meta("og:image:width"), meta("og:image:height")) == ("1200", "630")
    assert meta("twitter:card") == "summary_large_image"
    assert client.get(meta("og:image").removeprefix("http://testserver")).status_code == 200


def test_page_one_of_a_category_has_no_page_one_twin(client, site):
    for number in range(31):
        make_explainer(site["foundations"], f"Filler {number}", position=10 + number)

    first = page_soup(client.get("/ai-principles/llm-foundations/?page=1"))
    second = page_soup(client.get("/ai-principles/llm-foundations/?page=2"))

    assert first.select_one('link[rel="canonical"]')["href"] == (
        "http://testserver/ai-principles/llm-foundations/"
    )
    assert second.select_one('link[rel="canonical"]')["href"].endswith("/llm-foundations/?page=2")
    assert first.select_one('meta[name="description"]')["content"] == "Core mechanics."


def json_ld(soup):
    blocks = [json.loads(s.string) for s in soup.select('script[type="application/ld+json"]')]
    return {block["@type"]: block for block in blocks}


def absolute_urls_only(value):
    if isinstance(value, dict):
        return all(absolute_urls_only(v) for v in value.values())
    if isinstance(value, list):
        return all(absolute_urls_only(v) for v in value)
    if isinstance(value, str) and value.startswith("/"):
        return False
    return True


def test_explainer_json_ld_describes_the_article_and_matches_the_breadcrumbs(client, site):
    soup = page_soup(client.get(site["tokens"].get_absolute_url()))

    data = json_ld(soup)
    article, crumbs = data["Article"], data["BreadcrumbList"]
    assert article["headline"] == "Tokens"
    assert article["datePublished"] == site["tokens"].published_at.isoformat()
    assert article["image"][0].startswith("http://testserver/images/heroes/")
    assert article["image"][0].endswith(f"/1200x630-{site['tokens'].hero.renditions_key}.jpg")
    assert article["publisher"]["name"] == "AI Explainers"
    assert [item["name"] for item in crumbs["itemListElement"]] == breadcrumb_labels(soup)
    assert [item["position"] for item in crumbs["itemListElement"]] == [1, 2, 3, 4]
    assert absolute_urls_only(data)


def test_category_json_ld_is_a_collection_of_the_cards_shown(client, site):
    soup = page_soup(client.get("/ai-principles/llm-foundations/"))

    data = json_ld(soup)
    items = data["CollectionPage"]["mainEntity"]["itemListElement"]
    assert [item["name"] for item in items] == ["Tokens"]
    assert items[0]["url"] == "http://testserver/ai-principles/llm-foundations/tokens/"
    assert [i["name"] for i in data["BreadcrumbList"]["itemListElement"]] == breadcrumb_labels(soup)
    assert absolute_urls_only(data)


def test_json_ld_cannot_be_broken_out_of(client, site):
    explainer = make_explainer(
        site["foundations"], "</script><script>alert(1)</script>", slug="breakout"
    )

    response = client.get(explainer.get_absolute_url())

    assert "<script>alert(1)" not in response.content.decode()
    assert json_ld(page_soup(response))["Article"]["headline"] == (
        "</script><script>alert(1)</script>"
    )


def test_feeds_give_an_excerpt_as_text_even_when_it_looks_like_html(client, site):
    tokens = site["tokens"]
    tokens.excerpt = "Why <b>tokens</b> & not <script>alert(1)</script> words"
    tokens.save()

    for url in ("/feeds/rss.xml", "/feeds/atom.xml"):
        entry = next(
            e for e in feedparser.parse(client.get(url).content).entries if e.title == "Tokens"
        )
        summary = BeautifulSoup(entry.summary, "html.parser")
        assert summary.get_text() == tokens.excerpt
        assert summary.find("b") is None and summary.find("script") is None


# --- Authors, publisher, dates and sharing images -----------------------------------------


def scheduled_then_published(category, title="Scheduled"):
    """An explainer last saved three days ago for publication a day ago: readers see it now."""
    published_at = timezone.now() - timezone.timedelta(days=1)
    with time_machine.travel(timezone.now() - timezone.timedelta(days=3)):
        explainer = make_explainer(category, title, published_at=published_at)
    assert explainer.updated_at < explainer.published_at
    return explainer


def static_image_size(url):
    """The size of the static file an absolute /static/ URL names (found where it is kept)."""
    path = finders.find(url.removeprefix("http://testserver/static/"))
    assert path, f"no static file behind {url}"
    with Image.open(path) as image:
        return image.size


FEEDS = [
    "/feeds/{kind}.xml",
    "/feeds/categories/ai-principles/{kind}.xml",
    "/feeds/series/mona-bridge/{kind}.xml",
]


@pytest.mark.parametrize("kind", ["rss", "atom"])
@pytest.mark.parametrize("url", FEEDS)
def test_every_feed_and_every_entry_has_an_author(client, site, url, kind):
    feed = parse_feed(client, url.format(kind=kind))

    assert feed.entries
    assert feed.feed.author == "AI Explainers"
    assert [entry.get("author") for entry in feed.entries] == ["AI Explainers"] * len(feed.entries)


def test_feeds_name_the_publisher_the_settings_give(client, site, settings):
    settings.SITE_PUBLISHER_NAME = "Example Press"

    for url in ("/feeds/rss.xml", "/feeds/atom.xml"):
        feed = parse_feed(client, url)
        assert feed.feed.author == "Example Press"
        assert {entry.author for entry in feed.entries} == {"Example Press"}


def test_a_scheduled_explainer_is_never_updated_before_it_was_published(client, site):
    explainer = scheduled_then_published(site["foundations"])

    data = json_ld(page_soup(client.get(explainer.get_absolute_url())))["Article"]
    assert data["datePublished"] == explainer.published_at.isoformat()
    assert data["dateModified"] >= data["datePublished"]
    # Atom gives both dates (RSS only the publication).
    entry = next(e for e in parse_feed(client, "/feeds/atom.xml").entries if e.title == "Scheduled")
    assert entry.updated_parsed >= entry.published_parsed
    (lastmod,) = [
        url_lastmod.text
        for loc, url_lastmod in sitemap_entries(client).items()
        if loc.endswith("/scheduled/")
    ]
    assert lastmod.startswith(explainer.published_at.date().isoformat())


def test_the_sitemap_gives_a_section_the_last_change_in_its_categories(client, site):
    lastmods = sitemap_entries(client)

    newest = max(site["tokens"].updated_at, site["bridge"].updated_at)
    assert lastmods["http://testserver/ai-principles/"].text.startswith(newest.date().isoformat())
    assert lastmods["http://testserver/"] is not None
    assert lastmods["http://testserver/series/mona-bridge/"].text.startswith(
        site["bridge"].updated_at.date().isoformat()
    )


def test_an_article_names_its_author_and_a_publisher_with_address_and_logo(client, site):
    data = json_ld(page_soup(client.get(site["tokens"].get_absolute_url())))["Article"]

    assert data["author"]["@type"] == "Organization"
    assert data["author"]["name"] == "AI Explainers"
    publisher = data["publisher"]
    assert publisher["url"] == "http://127.0.0.1:8000"
    assert publisher["logo"]["@type"] == "ImageObject"
    assert publisher["logo"]["url"].startswith("http://testserver/static/")
    width, height = static_image_size(publisher["logo"]["url"])
    assert width == height


def test_the_home_page_describes_the_site_and_how_to_search_it(client, site):
    soup = page_soup(client.get("/"))

    data = json_ld(soup)["WebSite"]
    assert data["name"] == soup.select_one(".site-name").get_text() == "AI Explainers"
    assert data["url"] == "http://testserver/"
    assert data["description"] == soup.select_one('meta[name="description"]')["content"]
    action = data["potentialAction"]
    assert action["@type"] == "SearchAction"
    assert action["query-input"] == "required name=search_term_string"
    template = action["target"]["urlTemplate"]
    assert template == "http://testserver/search/?q={search_term_string}"
    # Following the template the way a search engine would finds the explainer.
    results = client.get(template.replace("{search_term_string}", "Tokens"))
    assert [card["title"] for card in cards(page_soup(results))] == ["Tokens"]


def test_a_category_collection_counts_the_cards_on_its_page(client, site):
    for number in range(31):
        make_explainer(site["foundations"], f"Filler {number}", position=10 + number)

    for url, shown in [
        ("/ai-principles/llm-foundations/", 30),
        ("/ai-principles/llm-foundations/?page=2", 2),
    ]:
        soup = page_soup(client.get(url))
        collection = json_ld(soup)["CollectionPage"]
        items = collection["mainEntity"]["itemListElement"]
        assert collection["description"] == "Core mechanics."
        assert collection["mainEntity"]["numberOfItems"] == len(items) == len(cards(soup)) == shown
        assert [item["name"] for item in items] == [card["title"] for card in cards(soup)]


def test_a_section_collection_lists_its_categories_and_says_what_it_holds(client, site):
    soup = page_soup(client.get("/ai-principles/"))

    collection = json_ld(soup)["CollectionPage"]
    items = collection["mainEntity"]["itemListElement"]
    assert collection["description"] == "Explainers in AI Principles."
    assert collection["description"] == soup.select_one('meta[name="description"]')["content"]
    assert [item["name"] for item in items] == [
        h3.get_text(strip=True) for h3 in soup.select(".category-item h3")
    ]
    assert items[0]["url"] == "http://testserver/ai-principles/llm-foundations/"
    assert collection["mainEntity"]["numberOfItems"] == len(items) == 2


def test_a_series_page_is_a_collection_of_its_explainers(client, site):
    soup = page_soup(client.get("/series/mona-bridge/"))

    data = json_ld(soup)
    collection = data["CollectionPage"]
    assert collection["name"] == "MONA Bridge"
    assert collection["url"] == "http://testserver/series/mona-bridge/"
    assert collection["description"] == "Every explainer in the MONA Bridge series."
    items = collection["mainEntity"]["itemListElement"]
    assert [item["name"] for item in items] == [card["title"] for card in cards(soup)]
    assert collection["mainEntity"]["numberOfItems"] == 1
    assert absolute_urls_only(data)


def sharing_image(soup):
    def meta(name):
        tag = soup.select_one(f'meta[property="{name}"]')
        return tag["content"] if tag else None

    return {
        "url": meta("og:image"),
        "size": (meta("og:image:width"), meta("og:image:height")),
        "alt": meta("og:image:alt"),
    }


@pytest.mark.parametrize(
    "url, shows",
    [
        ("/", "the hero of Tokens"),  # the first card with a hero (Bridges, first, has none)
        ("/ai-principles/llm-foundations/", "the hero of Tokens"),  # the first card's
        ("/search/?q=Tokens", "the hero of Tokens"),  # the first result's
        ("/ai-principles/llm-foundations/tokens/", "the hero of Tokens"),  # its own
        ("/ai-principles/", "the default"),  # categories, no cards
        ("/series/mona-bridge/", "the default"),  # one card, without a hero
        ("/ai-principles/model-architectures/bridges/", "the default"),  # no hero of its own
    ],
)
def test_every_page_has_a_sharing_image(client, site, url, shows):
    image = sharing_image(page_soup(client.get(url)))

    if shows == "the default":
        assert image["url"].startswith("http://testserver/static/")
        assert static_image_size(image["url"]) == (1200, 630)
        assert image["size"] == ("1200", "630")
        assert image["alt"] == "AI Explainers"
    else:
        hero = site["tokens"].hero
        assert image["url"].startswith(f"http://testserver/images/{hero.image.name}/")
        assert image["url"].endswith(f"/1200x630-{hero.renditions_key}.jpg")
        assert image["size"] == ("1200", "630")
        assert image["alt"] == "A row of tokens"


def test_the_site_name_and_description_come_from_the_settings(client, site, settings):
    settings.SITE_NAME = "Model Notes"
    settings.SITE_DESCRIPTION = "Short notes on models."

    soup = page_soup(client.get("/"))

    assert soup.title.get_text() == "Model Notes"
    assert soup.h1.get_text() == soup.select_one(".site-name").get_text() == "Model Notes"
    assert soup.select_one('meta[name="description"]')["content"] == "Short notes on models."
    assert soup.select_one('meta[property="og:site_name"]')["content"] == "Model Notes"
    assert json_ld(soup)["WebSite"]["description"] == "Short notes on models."
    assert parse_feed(client, "/feeds/atom.xml").feed.title == "Model Notes"
