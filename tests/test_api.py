"""The content API's reads: what readers see, as JSON, page after page."""

import re

import pytest
from bs4 import BeautifulSoup
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from api.schemas import (
    EXPLAINER_FIELDS,
    CategoryDetail,
    CategoryPage,
    ExplainerDetail,
    ExplainerPage,
    SearchPage,
    SeriesDetail,
    SeriesPage,
)
from explainers.models import Category, Explainer, Series

from .helpers import make_category, make_explainer, make_hero, page_soup

pytestmark = pytest.mark.django_db

API = "/api/v1"
ORDERS = ["listing", "-published_at", "published_at", "-updated_at", "updated_at"]


@pytest.fixture
def seeded():
    """The 85 seed explainers (fixtures/explainers.json)."""
    call_command("loaddata", "explainers", verbosity=0)


def follow(client, url, **params):
    """Every item of a list, page after page through ``next``; and how many pages."""
    items, pages = [], 0
    response = client.get(url, params)
    while True:
        assert response.status_code == 200, response.content
        answer = response.json()
        items += answer["items"]
        pages += 1
        if answer["next"] is None:
            return items, pages
        assert answer["next"].startswith("http://testserver/api/v1/")
        response = client.get(answer["next"])


def scheduled_and_draft(category):
    make_explainer(category, "A draft", status=Explainer.Status.DRAFT)
    make_explainer(category, "Scheduled", published_at=timezone.now() + timezone.timedelta(days=1))


# Pagination


def test_following_next_from_the_explainers_list_visits_every_seed_explainer_once(client, seeded):
    items, pages = follow(client, f"{API}/explainers")

    slugs = [item["slug"] for item in items]
    assert len(slugs) == 85 == len(set(slugs))
    assert set(slugs) == set(Explainer.objects.published().values_list("slug", flat=True))
    assert pages == 3  # 30 a page unless asked


@pytest.mark.parametrize("order", ORDERS)
def test_every_order_visits_every_explainer_once_in_that_order(client, seeded, order):
    items, pages = follow(client, f"{API}/explainers", order=order, limit=7, fields="slug")

    assert pages == 13
    slugs = [item["slug"] for item in items]
    assert len(slugs) == 85 == len(set(slugs))
    expected = {
        "listing": ["category", "position", "pk"],
        "-published_at": ["-published_at", "pk"],
        "published_at": ["published_at", "-pk"],
        "-updated_at": ["-updated_at", "pk"],
        "updated_at": ["updated_at", "pk"],
    }[order]
    # (The seed was imported in one go: its explainers share their timestamps, which the pk
    # then decides.)
    assert slugs == list(
        Explainer.objects.published().order_by(*expected).values_list("slug", flat=True)
    )


def test_the_listing_order_is_each_categorys_own_as_its_page_shows_it(client, seeded):
    items, _pages = follow(
        client, f"{API}/explainers", category="ai-principles/llm-foundations", fields="title"
    )
    page = page_soup(client.get("/ai-principles/llm-foundations/"))

    titles_on_page = [a.get_text(strip=True) for a in page.select("article.card h3 a")]
    assert [item["title"] for item in items][:30] == titles_on_page


def test_pages_neither_repeat_nor_skip_when_explainers_come_and_go_in_between(client, seeded):
    first = client.get(f"{API}/explainers", {"order": "-published_at", "limit": 20}).json()
    seen = [item["slug"] for item in first["items"]]
    later = Explainer.objects.published().exclude(slug__in=seen).order_by("pk")
    gone = later.last()
    gone.delete()
    make_explainer(Category.objects.get(path="ai-principles/llm-foundations"), "Brand new")
    for explainer in Explainer.objects.published().filter(slug__in=seen[:5]):
        explainer.title += " (edited)"
        explainer.save()

    rest, _pages = follow(client, first["next"])

    slugs = seen + [item["slug"] for item in rest]
    assert len(slugs) == len(set(slugs)) == 84
    assert gone.slug not in slugs and "brand-new" not in slugs


def test_a_limit_over_100_or_under_1_is_refused_by_name(client, seeded):
    assert len(client.get(f"{API}/explainers", {"limit": 100}).json()["items"]) == 85
    for limit in (0, 101, "ten"):
        response = client.get(f"{API}/explainers", {"limit": limit})
        assert response.status_code == 400
        assert response.json()["detail"].startswith("limit: ")


def test_a_forged_or_foreign_cursor_is_a_400(client, seeded):
    following = client.get(f"{API}/explainers", {"limit": 5}).json()["next"]
    cursor = re.search(r"cursor=([^&]+)", following)[1]

    forged = client.get(f"{API}/explainers", {"cursor": "W1sibGlzdGluZyJd:abc"})
    other_order = client.get(f"{API}/explainers?order=-published_at&cursor={cursor}")
    series_cursor = client.get(f"{API}/series?cursor={cursor}")

    assert forged.status_code == other_order.status_code == series_cursor.status_code == 400
    assert forged.json()["detail"].startswith("cursor: not one this API gave")
    assert "another order" in other_order.json()["detail"]


# What anonymous callers may see


def test_drafts_and_scheduled_explainers_never_appear_anywhere(client, category):
    make_explainer(category, "Published attention", body="About attention.")
    make_explainer(category, "Draft attention", status="draft", body="About attention.")
    make_explainer(
        category,
        "Scheduled attention",
        body="About attention.",
        published_at=timezone.now() + timezone.timedelta(days=1),
    )
    secret = Series.objects.create(name="Secret series")
    Explainer.objects.get(title="Draft attention").series.add(secret)
    Explainer.objects.get(title="Scheduled attention").series.add(secret)

    listed, _pages = follow(client, f"{API}/explainers")
    found = client.get(f"{API}/search", {"q": "attention"}).json()
    filtered = client.get(f"{API}/explainers", {"q": "attention"}).json()
    tree = client.get(f"{API}/categories").json()["items"]
    series = client.get(f"{API}/series").json()["items"]

    assert [item["title"] for item in listed] == ["Published attention"]
    assert [item["title"] for item in found["items"]] == ["Published attention"]
    assert [item["title"] for item in filtered["items"]] == ["Published attention"]
    assert [(item["path"], item["published_count"]) for item in tree] == [
        ("ai-principles", 1),
        ("ai-principles/llm-foundations", 1),
    ]
    assert series == []
    for hidden in ("draft-attention", "scheduled-attention"):
        assert client.get(f"{API}/explainers/{hidden}").status_code == 404
    assert client.get(f"{API}/series/secret-series").status_code == 404
    assert client.get(f"{API}/explainers", {"series": "secret-series"}).status_code == 404


def test_a_scheduled_explainer_appears_once_its_time_comes(client, category, time_machine):
    make_explainer(category, "Now")
    make_explainer(category, "Soon", published_at=timezone.now() + timezone.timedelta(hours=1))
    assert [i["title"] for i in client.get(f"{API}/explainers").json()["items"]] == ["Now"]

    time_machine.move_to(timezone.now() + timezone.timedelta(hours=2))

    titles = [item["title"] for item in client.get(f"{API}/explainers").json()["items"]]
    assert titles == ["Now", "Soon"]


# One explainer


def test_an_explainer_has_what_its_page_shows(client, category, media_root):
    hero = make_hero(alt_text="A diagram of attention heads", focal_x=0.25, focal_y=0.4)
    explainer = make_explainer(
        category,
        "What is attention?",
        body="**Weights**, explained. <script>alert(1)</script>",
        hero=hero,
        reading_time=7,
    )
    explainer.series.add(Series.objects.create(name="MONA explainer"))

    answer = client.get(f"{API}/explainers/what-is-attention").json()
    page = page_soup(client.get(explainer.get_absolute_url()))

    ExplainerDetail.model_validate(answer)
    assert answer["title"] == "What is attention?" and answer["reading_time"] == 7
    assert answer["url"] == f"http://testserver{explainer.get_absolute_url()}"
    assert page.select_one('link[rel="canonical"]')["href"] == answer["url"]
    assert answer["body"] == explainer.body
    assert answer["body_html"] == Explainer.objects.get().body_html
    assert "<strong>Weights</strong>" in answer["body_html"]
    assert "<script" not in answer["body_html"]
    assert [c["label"] for c in answer["category"]["breadcrumbs"]] == [
        "Home",
        "AI Principles",
        "LLM Foundations",
    ]
    assert [s["name"] for s in answer["series"]] == ["MONA explainer"]
    shown = answer["hero"]
    assert shown["alt_text"] == "A diagram of attention heads"
    assert (shown["width"], shown["height"]) == (640, 360)
    assert shown["focal_point"] == {"x": 0.25, "y": 0.4, "width": 0.0, "height": 0.0}
    assert {(r["url"], r["width"]) for r in shown["renditions"]} == {
        (f"http://testserver{r.url}", r.width) for r in hero.all_renditions()
    }
    on_page = set()
    for source in page.select("picture source, picture img"):
        on_page |= {part.split()[0] for part in source.get("srcset", "").split(",") if part}
    assert on_page and on_page <= {r["url"].removeprefix("http://testserver") for r in
                                   shown["renditions"]}  # fmt: skip
    for rendition in shown["renditions"][:3]:
        assert client.get(rendition["url"]).status_code == 200


def test_a_hero_without_renditions_yet_offers_the_original_as_pages_do(client, category):
    make_explainer(category, hero=make_hero(renditions=False))

    hero = client.get(f"{API}/explainers/what-is-attention").json()["hero"]

    assert hero["renditions"] == [] and hero["focal_point"] is None
    assert hero["original"]["url"].endswith("/original.jpg")
    assert client.get(hero["original"]["url"]).status_code == 200


def test_an_old_slug_answers_301_to_the_new_address(client, category):
    explainer = make_explainer(category, "Attention")
    explainer.slug = "attention-explained"
    explainer.save()

    response = client.get(f"{API}/explainers/attention")

    assert response.status_code == 301
    assert response["Location"] == "http://testserver/api/v1/explainers/attention-explained"


# Filters


def test_a_category_filter_takes_its_subcategories_only_when_asked(client, category):
    section = category.parent
    make_explainer(category, "In LLM Foundations")
    make_explainer(make_category("Model Architectures", parent=section), "In Architectures")

    def titles(**params):
        return [i["title"] for i in client.get(f"{API}/explainers", params).json()["items"]]

    assert titles(category="ai-principles") == []
    assert titles(category="ai-principles", include_descendants="true") == [
        "In LLM Foundations",
        "In Architectures",
    ]
    assert titles(category="ai-principles/llm-foundations") == ["In LLM Foundations"]
    missing = client.get(f"{API}/explainers", {"category": "ai-principles/nowhere"})
    assert missing.status_code == 404
    assert missing.json() == {"detail": "No category at “ai-principles/nowhere”."}


def test_updated_since_gives_what_readers_saw_change_from_then_on(client, category, time_machine):
    time_machine.move_to("2026-11-01T09:00:00Z")
    make_explainer(category, "Old", published_at=timezone.now())
    edited = make_explainer(category, "Edited later", published_at=timezone.now())
    make_explainer(category, "Scheduled", published_at=timezone.now() + timezone.timedelta(days=10))
    time_machine.move_to("2026-11-05T09:00:00Z")
    edited.excerpt = "Changed."
    edited.save()
    time_machine.move_to("2026-11-20T09:00:00Z")

    def titles(since):
        answer = client.get(f"{API}/explainers", {"updated_since": since, "order": "updated_at"})
        return [item["title"] for item in answer.json()["items"]]

    assert titles("2026-11-02T00:00:00Z") == ["Edited later", "Scheduled"]
    assert titles("2026-11-05T10:00:00+01:00") == ["Edited later", "Scheduled"]
    assert titles("2026-11-06T00:00:00Z") == ["Scheduled"]
    for bad in ("2026-11-02", "yesterday", "2026-13-01T00:00:00Z"):
        response = client.get(f"{API}/explainers", {"updated_since": bad})
        assert response.status_code == 400
        assert response.json()["detail"].startswith("updated_since: ")


# fields=


def test_fields_chooses_the_fields_of_each_item(client, seeded):
    answer = client.get(f"{API}/explainers", {"fields": "title,url", "limit": 3}).json()

    assert [set(item) for item in answer["items"]] == [{"title", "url"}] * 3
    ExplainerPage.model_validate(answer)
    everything = client.get(f"{API}/explainers", {"limit": 1}).json()["items"][0]
    assert list(everything) == list(EXPLAINER_FIELDS)
    series = client.get(f"{API}/series", {"fields": "name"}).json()["items"]
    assert series == [{"name": "MONA Bridge"}, {"name": "MONA explainer"}]


@pytest.mark.parametrize(
    ("url", "fields", "named"),
    [
        ("explainers", "title,colour", "“colour”"),
        ("explainers", "title,,url", "an empty name"),
        ("search", "body", "“body”"),
        ("categories", "title", "“title”"),
        ("series", "name,secret", "“secret”"),
    ],
)
def test_an_unknown_field_is_a_400_naming_it(client, seeded, url, fields, named):
    response = client.get(f"{API}/{url}", {"fields": fields, "q": "attention"})

    assert response.status_code == 400
    assert response.json()["detail"].startswith("fields: ")
    assert named in response.json()["detail"]


# Categories, series, search


def test_the_category_tree_comes_whole_with_counts_that_take_in_subcategories(client, seeded):
    answer = client.get(f"{API}/categories").json()
    CategoryPage.model_validate(answer)

    assert answer["next"] is None
    assert [(c["path"], c["depth"], c["published_count"]) for c in answer["items"]] == [
        ("ai-principles", 0, 85),
        ("ai-principles/llm-foundations", 1, 55),
        ("ai-principles/model-architectures", 1, 30),
    ]
    detail = client.get(f"{API}/categories/ai-principles/llm-foundations").json()
    CategoryDetail.model_validate(detail)
    assert detail["parent"] == "ai-principles" and detail["subcategories"] == []
    assert [b["label"] for b in detail["breadcrumbs"]] == ["Home", "AI Principles",
                                                           "LLM Foundations"]  # fmt: skip
    assert client.get(f"{API}/categories/ai-principles/nowhere").status_code == 404


def test_series_list_and_detail(client, seeded):
    answer = client.get(f"{API}/series").json()
    SeriesPage.model_validate(answer)

    assert [(s["slug"], s["published_count"]) for s in answer["items"]] == [
        ("mona-bridge", 2),
        ("mona-explainer", 83),
    ]
    detail = client.get(f"{API}/series/mona-bridge").json()
    SeriesDetail.model_validate(detail)
    members, _pages = follow(client, detail["explainers_url"])
    assert len(members) == 2


def test_search_answers_as_the_search_page_with_highlighted_passages(client, seeded):
    answer = client.get(f"{API}/search", {"q": "attention", "limit": 5}).json()
    SearchPage.model_validate(answer)
    page = page_soup(client.get("/search/", {"q": "attention"}))

    page_titles = [a.get_text(strip=True) for a in page.select("article.card h3 a")]
    everything, _pages = follow(client, f"{API}/search", q="attention", limit=5)
    assert [item["title"] for item in everything][:30] == page_titles
    assert answer["query"] == "attention" and answer["did_you_mean"] is None
    hits = [piece["text"].lower() for piece in answer["items"][0]["highlights"] if piece["hit"]]
    assert hits and set(hits) <= {"attention"}


def test_an_unsearchable_query_is_a_400_that_says_why(client, seeded):
    response = client.get(f"{API}/search", {"q": "?!"})

    assert response.status_code == 400
    assert response.json() == {"detail": "q: Search for words: punctuation alone matches nothing."}


# Caching, ETag, throttling, CORS


def test_a_repeated_request_with_the_etag_gets_a_304(client, seeded):
    first = client.get(f"{API}/explainers", {"limit": 5})
    etag = first["ETag"]

    again = client.get(f"{API}/explainers", {"limit": 5}, HTTP_IF_NONE_MATCH=etag)
    compressed = client.get(
        f"{API}/explainers", {"limit": 5}, HTTP_IF_NONE_MATCH=etag, HTTP_ACCEPT_ENCODING="br"
    )

    assert first.status_code == 200 and etag
    assert again.status_code == 304 and again.content == b""
    assert compressed.status_code == 304
    assert "must-revalidate" in first["Cache-Control"]


def test_answers_are_cached_until_the_content_changes_like_the_pages(
    client, category, django_capture_on_commit_callbacks
):
    explainer = make_explainer(category, "Before")
    first = client.get(f"{API}/explainers")
    second = client.get(f"{API}/explainers", {"utm_source": "newsletter"})

    with django_capture_on_commit_callbacks(execute=True):
        explainer.title = "After"
        explainer.save()
    third = client.get(f"{API}/explainers")

    assert (first["X-Cache"], second["X-Cache"], third["X-Cache"]) == ("miss", "hit", "miss")
    assert third.json()["items"][0]["title"] == "After"
    assert client.get(f"{API}/explainers", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


@override_settings(API_ANON_REQUESTS_PER_MINUTE=3)
def test_anonymous_callers_past_the_throttle_get_429_with_retry_after(client, category):
    answers = [client.get(f"{API}/categories").status_code for _ in range(3)]
    refused = client.get(f"{API}/explainers")
    elsewhere = client.get(f"{API}/explainers", REMOTE_ADDR="192.0.2.7")

    assert answers == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json() == {"detail": "Too many requests."}
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert elsewhere.status_code == 200


def test_cors_is_off_unless_origins_are_listed(client, category, settings):
    asked = {"HTTP_ORIGIN": "https://app.example.com"}
    assert "Access-Control-Allow-Origin" not in client.get(f"{API}/categories", **asked)

    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    api_answer = client.get(f"{API}/categories", **asked)
    page = client.get("/ai-principles/", **asked)
    other = client.get(f"{API}/categories", HTTP_ORIGIN="https://evil.example")

    assert api_answer["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Access-Control-Allow-Origin" not in page
    assert "Access-Control-Allow-Origin" not in other


# Cost


@pytest.mark.parametrize("limit", [5, 100])
def test_an_explainers_page_costs_the_same_queries_whatever_its_limit(
    client, seeded, limit, django_assert_num_queries
):
    cache.clear()
    # 1. the next scheduled publication (once per content version, for the cache's lifetime)
    # 2. SELECT explainer.…, category.…, hero.… FROM explainer JOIN category LEFT JOIN hero
    #    WHERE status = 'published' AND published_at <= now ORDER BY category_id, position, id
    #    LIMIT limit + 1
    # 3. SELECT series item.…, series.… WHERE content_object_id IN (the page's ids)
    with django_assert_num_queries(3):
        answer = client.get(f"{API}/explainers", {"limit": limit}).json()
    assert len(answer["items"]) == min(limit, 85)


@pytest.mark.parametrize("limit", [5, 100])
def test_the_series_list_and_the_tree_cost_one_query_each(
    client, seeded, limit, django_assert_num_queries
):
    client.get(f"{API}/categories")  # the next publication time, once
    with django_assert_num_queries(1):
        client.get(f"{API}/series", {"limit": limit})
    with django_assert_num_queries(1):
        client.get(f"{API}/categories", {"fields": "path,published_count"})


# The OpenAPI document and its interactive docs


def test_the_openapi_document_describes_every_endpoint(client):
    document = client.get(f"{API}/openapi.json").json()

    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {
        f"{API}/{path}"
        for path in [
            "categories",
            "categories/{path}",
            "explainers",
            "explainers/{slug}",
            "series",
            "series/{slug}",
            "search",
            "imports",
        ]
    }
    listing = document["paths"][f"{API}/explainers"]["get"]["responses"]
    assert {"200", "304", "400", "404", "429"} <= set(map(str, listing))


def test_the_docs_page_renders_from_our_own_static_files_under_the_csp(client):
    response = client.get(f"{API}/docs")
    soup = BeautifulSoup(response.content, "html.parser")

    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("style-src")[0]
    assets = [tag["src"] for tag in soup.select("script[src]")]
    assets += [tag["href"] for tag in soup.select("link[href]")]
    assert assets and all(asset.startswith("/static/ninja/") for asset in assets)
    for asset in assets:
        # Among our static files (the suite serves none; WhiteNoise serves them collected).
        assert finders.find(asset.removeprefix("/static/")), asset
    # The only inline <script> is the settings, as data (the CSP allows no inline script).
    inline = [tag for tag in soup.select("script") if not tag.get("src")]
    assert [tag["type"] for tag in inline] == ["application/json"]


def test_a_misspelled_query_is_searched_corrected_and_says_so(client, seeded):
    answer = client.get(f"{API}/search", {"q": "halucination"}).json()
    exact = client.get(f"{API}/search", {"q": "halucination", "exact": "true"}).json()

    assert answer["did_you_mean"] == "hallucination"
    assert "hallucination" in answer["items"][0]["title"].lower()
    assert exact["items"] == [] and exact["did_you_mean"] is None
