"""Compressed answers, and cache hits answered before the rest of the middleware stack.

Readers' browsers ask for brotli or gzip; every encoding must decode to the very page an
uncompressing client gets, from the cache or not, and a hit must carry the headers the whole
stack gave the page when it was rendered.
"""

import gzip

import brotli
import pytest
from django.conf import settings
from django.test import override_settings

from explainers import cache as cache_module
from explainers import compression
from explainers.compression import accepted_encoding

from .helpers import make_explainer

pytestmark = pytest.mark.django_db

CATEGORY = "/ai-principles/llm-foundations/"
DECODE = {"br": brotli.decompress, "gzip": gzip.decompress}
# What the stack below the page cache adds to a page; a hit must carry the same.
STACK_HEADERS = [
    "Content-Type",
    "Content-Security-Policy",
    "X-Frame-Options",
    "Referrer-Policy",
    "X-Content-Type-Options",
    "Permissions-Policy",
]


@pytest.fixture
def explainer(category):
    return make_explainer(category, "What is attention?", position=0)


def get(client, url, encoding=None, method="get"):
    headers = {"Accept-Encoding": encoding} if encoding else {}
    return getattr(client, method)(url, headers=headers)


def vary(response) -> set[str]:
    return {name.strip().lower() for name in response.get("Vary", "").split(",")}


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_a_page_decodes_to_the_same_html_from_the_cache_and_fresh(client, explainer, encoding):
    plain = get(client, CATEGORY)  # the miss, which stores the page as rendered
    fresh_other = get(client, CATEGORY + "?page=1", encoding)  # a hit
    assert (plain["X-Cache"], fresh_other["X-Cache"]) == ("miss", "hit")

    assert fresh_other["Content-Encoding"] == encoding
    assert DECODE[encoding](fresh_other.content) == plain.content
    assert int(fresh_other["Content-Length"]) == len(fresh_other.content) < len(plain.content)
    assert {"accept-encoding", "cookie"} <= vary(fresh_other) and "accept-encoding" in vary(plain)


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_the_miss_itself_is_compressed(client, explainer, encoding):
    response = get(client, CATEGORY, encoding)

    assert response["X-Cache"] == "miss" and response["Content-Encoding"] == encoding
    assert b"What is attention?" in DECODE[encoding](response.content)


def test_each_encoding_of_a_page_is_compressed_once_and_only_when_asked_for(
    client, explainer, monkeypatch
):
    compressed = []
    real_compress = compression.compress

    def counting_compress(content, encoding):
        if encoding != "identity":
            compressed.append(encoding)
        return real_compress(content, encoding)

    for module in (compression, cache_module):
        monkeypatch.setattr(module, "compress", counting_compress)
    plain = get(client, CATEGORY)
    assert plain["X-Cache"] == "miss" and compressed == []  # nobody asked for br or gzip yet

    answers = [get(client, CATEGORY, encoding) for encoding in ["br", "br", "gzip", "br", "gzip"]]

    assert [answer["X-Cache"] for answer in answers] == ["hit"] * 5
    assert compressed == ["br", "gzip"]  # each made from the stored page, once
    assert DECODE["br"](answers[0].content) == DECODE["gzip"](answers[4].content) == plain.content


def test_a_hit_carries_the_headers_the_stack_gave_the_page(client, explainer):
    miss = get(client, CATEGORY)
    hit = get(client, CATEGORY)

    assert hit["X-Cache"] == "hit"
    for name in STACK_HEADERS:
        assert hit[name] == miss[name], name
    assert hit["ETag"] == miss["ETag"]
    assert hit["X-Request-ID"] != miss["X-Request-ID"]  # per answer, never stored


class CountingMiddleware:
    """The innermost middleware: counts the requests that get past the page cache."""

    calls = 0

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        CountingMiddleware.calls += 1
        return self.get_response(request)


def test_a_hit_runs_none_of_the_middleware_below_the_page_cache(client, explainer):
    CountingMiddleware.calls = 0
    with override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, f"{__name__}.CountingMiddleware"]):
        get(client, CATEGORY)
        get(client, CATEGORY, "br")
        get(client, CATEGORY, "gzip")

    assert CountingMiddleware.calls == 1


def test_a_compressed_page_revalidates_with_its_weak_etag(client, explainer):
    get(client, CATEGORY)
    compressed = get(client, CATEGORY, "gzip")

    assert compressed["ETag"].startswith('W/"')
    repeat = client.get(
        CATEGORY, headers={"Accept-Encoding": "gzip", "If-None-Match": compressed["ETag"]}
    )
    assert repeat.status_code == 304 and repeat.content == b""


@pytest.mark.parametrize("warm", [False, True], ids=["miss", "hit"])
def test_a_head_request_gets_the_headers_and_no_body(client, explainer, warm):
    if warm:
        get(client, CATEGORY, "br")
    full = get(client, CATEGORY, "br")

    head = get(client, CATEGORY, "br", method="head")

    assert head.status_code == 200 and head.content == b""
    assert head["Content-Length"] == full["Content-Length"]
    assert head["Content-Encoding"] == "br"


@pytest.mark.parametrize(
    "url", ["/search/?q=attention", "/feeds/rss.xml", "/feeds/atom.xml", "/sitemap.xml"]
)
@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_uncached_pages_feeds_and_sitemaps_are_compressed(client, explainer, url, encoding):
    plain = get(client, url)
    response = get(client, url, encoding)

    assert plain.status_code == response.status_code == 200
    assert response["Content-Encoding"] == encoding
    assert DECODE[encoding](response.content) == plain.content


def test_the_admin_is_not_compressed(admin_client):
    response = admin_client.get("/admin/login/", headers={"Accept-Encoding": "br, gzip"})

    assert not response.has_header("Content-Encoding")


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("", "identity"),
        ("gzip, deflate, br", "br"),
        ("gzip", "gzip"),
        ("br;q=0, gzip;q=0.5", "gzip"),
        ("GZIP", "gzip"),
        ("deflate", "identity"),
        ("*", "br"),
        ("br;q=0, gzip;q=0", "identity"),
        ("br;q=abc, gzip", "gzip"),
    ],
)
def test_the_encoding_is_chosen_from_accept_encoding(rf, header, chosen):
    assert accepted_encoding(rf.get("/", headers={"Accept-Encoding": header})) == chosen
