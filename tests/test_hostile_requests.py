"""Hostile requests get a 4xx, never a 5xx, and cost nothing: no view, no query, no body read.

Each client here is ``Client(raise_request_exception=False)``, so that a server error shows as
the 500 a visitor would get instead of raising in the test. Readers send no cookies, so no
session is looked up: a refusal asks the database nothing.
"""

import io
import random
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import LimitedStream
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image

from explainers import views
from explainers.cache import PAGE_KEY_PREFIX
from explainers.models import HeroImage

from .helpers import make_category, make_explainer, page_soup, sign_in_verified

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
HOME = "/"
CATEGORY = "/ai-principles/llm-foundations/"
EXPLAINER = "/ai-principles/llm-foundations/what-is-attention/"
CONTROL = re.compile(rb"[\x00-\x1f\x7f]")


@pytest.fixture
def client():
    return Client(raise_request_exception=False)


@pytest.fixture
def explainer(category):
    explainer = make_explainer(category, "What is attention?", position=0)
    explainer.series.add("MONA explainer")
    return explainer


@pytest.fixture
def body_never_read(monkeypatch):
    """Any read of a request body fails the request (a 500), so a refusal shows it read none."""

    def refuse(*args, **kwargs):
        raise AssertionError("the request body was read")

    monkeypatch.setattr(LimitedStream, "read", refuse)
    monkeypatch.setattr(LimitedStream, "readline", refuse)


def cached_pages() -> int:
    """How many pages the (local-memory) cache holds (each in every encoding)."""
    return sum(PAGE_KEY_PREFIX in key and key.endswith(":identity") for key in cache._cache)


# --- 400: control characters in the path or the query ----------------------------------------


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("/%00/", b"URL path"),
        ("/search/?q=abc%00", b'query parameter "q"'),
        ("/feeds/categories/%00/rss.xml", b"URL path"),
        ("/search/?q=%1b%5B31mred", b'query parameter "q"'),  # a terminal escape
        (f"{CATEGORY}?page=2%0d%0aSet-Cookie:x", b'query parameter "page"'),
        ("/?%00=1", b"query parameter name"),
        ("/?utm%7F=1", b"query parameter name"),  # DEL
        ("/ai-principles/%C2%85/", b"URL path"),  # C1: NEXT LINE
        ("/admin/explainers/explainer/?q=%00", b'query parameter "q"'),
    ],
)
def test_control_characters_are_a_400_that_names_what_was_refused(client, category, url, refused):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)

    assert response.status_code == 400  # PostgreSQL refuses NUL: it used to be a 500
    assert len(queries) == 0
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert refused in response.content
    assert b"control characters" in response.content
    assert not CONTROL.search(response.content.rstrip(b"\n")), "never echoed back"
    assert response["X-Request-ID"]


def test_ordinary_text_in_a_search_still_searches(client, explainer):
    response = client.get("/search/", {"q": "attention é ü 注意"})

    assert response.status_code == 200


# --- 404 before any query: category paths deeper than MAX_CATEGORY_DEPTH ----------------------


def deep(levels: int) -> str:
    return "/" + "".join(f"c{level}/" for level in range(1, levels + 1))


@pytest.mark.parametrize(
    "url",
    [
        "/" + "a/" * 2040,
        # a 9-level category path, and an explainer under one
        deep(views.MAX_CATEGORY_DEPTH + 1) + "what-is-attention/",
        deep(views.MAX_CATEGORY_DEPTH + 2),
    ],
)
def test_a_category_path_deeper_than_the_limit_is_a_404_that_asks_the_database_nothing(
    client, url, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get(url)

    assert response.status_code == 404


def test_the_deepest_category_allowed_and_its_explainers_are_still_served(client):
    parent = None
    for level in range(1, views.MAX_CATEGORY_DEPTH + 1):
        parent = make_category(f"C{level}", parent=parent)
    make_explainer(parent, "Deep down")

    assert parent.path == deep(views.MAX_CATEGORY_DEPTH).strip("/")
    assert client.get(deep(views.MAX_CATEGORY_DEPTH)).status_code == 200
    assert client.get(deep(views.MAX_CATEGORY_DEPTH) + "deep-down/").status_code == 200


# --- 405 before the view, and before the body is read -----------------------------------------

READ_ONLY = [
    HOME,
    CATEGORY,
    EXPLAINER,
    "/series/mona-explainer/",
    "/search/?q=attention",
    "/feeds/rss.xml",
    "/feeds/atom.xml",
    "/feeds/categories/ai-principles/rss.xml",
    "/feeds/series/mona-explainer/atom.xml",
    "/robots.txt",
    "/sitemap.xml",
    "/healthz",
    "/readyz",
]


@pytest.mark.parametrize("url", READ_ONLY)
def test_a_post_to_a_read_only_page_is_a_405_before_the_view_runs(
    client, explainer, url, body_never_read, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.post(url, {"q": "hello"})

    assert response.status_code == 405
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}


@pytest.mark.parametrize("method", ["put", "patch", "delete", "options"])
@pytest.mark.parametrize("url", [HOME, CATEGORY, "/search/", "/feeds/rss.xml"])
def test_other_methods_are_a_405_too(client, explainer, url, method, body_never_read):
    response = getattr(client, method)(url, b"x=1", content_type="text/plain")

    assert response.status_code == 405


def test_the_405_comes_before_the_csrf_check_would_read_the_body(
    explainer, body_never_read, monkeypatch, django_assert_num_queries
):
    # A forged but well-formed CSRF cookie and a same-site Referer over HTTPS: the CSRF check
    # would get as far as reading the form for its token.
    strict = Client(enforce_csrf_checks=True, raise_request_exception=False)
    strict.cookies["csrftoken"] = "a" * 32
    called = []
    monkeypatch.setattr(views.Category.objects, "chain_to", lambda *a: called.append(a))

    with django_assert_num_queries(0):
        response = strict.post(
            CATEGORY,
            "csrfmiddlewaretoken=" + "a" * 32,
            content_type="application/x-www-form-urlencoded",
            secure=True,
            headers={"Referer": f"https://testserver{CATEGORY}"},
        )

    assert response.status_code == 405
    assert called == []


def test_get_and_head_still_answer(client, explainer):
    for url in READ_ONLY:
        assert client.get(url).status_code == 200, url
        assert client.head(url).status_code == 200, url


# --- 413: bodies outside the admin ------------------------------------------------------------


@pytest.mark.parametrize("url", [HOME, "/search/", "/no-such-page/", CATEGORY])
def test_a_large_body_outside_the_admin_is_a_413_before_it_is_read(
    client, category, url, body_never_read, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.post(url, b"x" * (1024 * 1024), content_type="text/plain")

    assert response.status_code == 413
    assert b"Request body too large" in response.content
    assert b"65536 bytes" in response.content


def test_the_body_limit_is_a_setting(client, settings, body_never_read):
    settings.PUBLIC_BODY_MAX_BYTES = 10

    response = client.generic("GET", HOME, b"x" * 11, content_type="text/plain")

    assert response.status_code == 413


def noisy_png(side: int) -> bytes:
    """A PNG that does not compress: side x side x 3 bytes and a little more."""
    pixels = random.Random(7).randbytes(side * side * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(buffer, format="PNG", compress_level=0)
    return buffer.getvalue()


def test_the_admin_keeps_djangos_limits_a_9_mb_hero_still_uploads(media_root):
    admin = Client(raise_request_exception=False)
    sign_in_verified(admin, User.objects.create_superuser("root", "root@example.org", "x" * 20))
    image = noisy_png(1750)
    assert 8 * 1024 * 1024 < len(image) < 10 * 1024 * 1024

    response = admin.post(
        "/admin/explainers/heroimage/add/",
        {
            "image": SimpleUploadedFile("noise.png", image, content_type="image/png"),
            "alt_text": "Noise",
            "caption": "",
            "credit": "",
        },
    )

    assert response.status_code == 302, response.content[:500]
    assert (HeroImage.objects.get().width, HeroImage.objects.get().height) == (1750, 1750)


# --- the page cache: only ?page= makes an entry -----------------------------------------------


@pytest.mark.parametrize("extra", ["?utm_source=x", "?a=1&b=2", "?page=1", "?page=01&fbclid=y"])
def test_other_parameters_are_served_from_the_pages_one_entry(
    client, explainer, extra, django_assert_num_queries
):
    first = client.get(HOME)

    with django_assert_num_queries(0):
        second = client.get(HOME + extra)

    assert (first["X-Cache"], second["X-Cache"]) == ("miss", "hit")
    assert second.content == first.content
    assert cached_pages() == 1


def test_an_explainer_ignores_page_numbers_from_its_one_entry(client, explainer):
    assert client.get(EXPLAINER)["X-Cache"] == "miss"

    for extra in ("?page=2", "?page=987654321", "?page=last", "?page=abc"):
        response = client.get(EXPLAINER + extra)
        assert (response.status_code, response["X-Cache"]) == (200, "hit"), extra
    assert cached_pages() == 1


@pytest.fixture
def two_pages(category):
    for position in range(views.CARDS_PER_PAGE + 1):
        make_explainer(category, f"Explainer {position:02}", position=position)


def test_each_page_of_a_category_is_its_own_entry(client, two_pages):
    first, second = client.get(CATEGORY), client.get(f"{CATEGORY}?page=2")

    assert (first["X-Cache"], second["X-Cache"]) == ("miss", "miss")
    assert first.content != second.content
    for url in (CATEGORY, f"{CATEGORY}?page=2", f"{CATEGORY}?page=02&utm_source=x"):
        assert client.get(url)["X-Cache"] == "hit", url
    assert client.get(f"{CATEGORY}?page=2").content == second.content
    # The last page is page 2: "last" is answered and stored as page 2, not as a third entry.
    assert client.get(f"{CATEGORY}?page=last").content == second.content
    assert client.get(f"{CATEGORY}?page=3").status_code == 404
    assert client.get(f"{CATEGORY}?page=x").status_code == 404
    assert cached_pages() == 2


def test_other_parameters_do_not_reach_the_page(client, two_pages):
    response = client.get(f"{CATEGORY}?utm_source=mail&page=2")

    assert b"utm_source" not in response.content
    soup = page_soup(response)
    assert soup.select_one('a[rel="prev"]')["href"] == CATEGORY
    assert soup.select_one('link[rel="canonical"]')["href"].endswith(f"{CATEGORY}?page=2")


def test_the_scheme_is_part_of_the_key(client, explainer):
    assert client.get(HOME)["X-Cache"] == "miss"
    assert client.get(HOME, secure=True)["X-Cache"] == "miss"
    assert cached_pages() == 2


def test_the_local_memory_cache_is_bounded(settings):
    default = settings.CACHES["default"]
    if "LocMemCache" not in default["BACKEND"]:
        pytest.skip("REDIS_URL is set: Redis bounds itself (--maxmemory)")
    assert 0 < default["OPTIONS"]["MAX_ENTRIES"] <= 1000


def test_compose_bounds_redis_and_evicts_the_least_recently_used():
    compose = (ROOT / "docker-compose.yml").read_text()

    assert '"--maxmemory", "256mb"' in compose
    assert '"--maxmemory-policy", "allkeys-lru"' in compose
