"""Feeds, the sitemap, robots.txt, sharing tags and JSON-LD."""

import json
import xml.etree.ElementTree as ET

import feedparser
import pytest
from bs4 import BeautifulSoup
from django.utils import timezone

from explainers.models import Explainer

from .helpers import breadcrumb_labels, make_category, make_explainer, make_hero, page_soup

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


def test_the_sitemap_lists_exactly_the_published_pages(client, site):
    response = client.get("/sitemap.xml")

    root = ET.fromstring(response.content)
    entries = {
        url.find("sm:loc", SITEMAP_NS).text: url.find("sm:lastmod", SITEMAP_NS)
        for url in root.findall("sm:url", SITEMAP_NS)
    }
    base = "http://testserver"
    assert set(entries) == {
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
