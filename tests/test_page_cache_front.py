"""The WSGI application gunicorn serves answers readers' cached pages before Django handles the
request (no request signals, no middleware), with the answer the middleware would give.

Requests go through ``site_config.wsgi.application`` itself, with real WSGI environs.
"""

import gzip
import io
import sys
import time
from unittest import mock
from wsgiref.validate import validator

import pytest
import time_machine
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone

from site_config.wsgi import application as site_application

from .helpers import make_explainer

pytestmark = pytest.mark.django_db
# PEP 3333 checked on every call (headers a list of tuples, as wsgiref's server requires).
application = validator(site_application)

CATEGORY = "/ai-principles/llm-foundations/"


@pytest.fixture
def explainer(category):
    explainer = make_explainer(category, "What is attention?", position=0)
    explainer.series.add("MONA explainer")
    return explainer


class Answer:
    def __init__(self, status, headers, body, handled_by_django):
        self.status = int(status.split()[0])
        self.headers = {name.lower(): value for name, value in headers}
        self.body = body
        self.handled_by_django = handled_by_django


def wsgi_get(path, *, method="GET", query="", host="testserver", **headers):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host,
        "SCRIPT_NAME": "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        **{f"HTTP_{name.upper()}": value for name, value in headers.items()},
    }
    started = []
    seen = {}

    def start_response(status, response_headers, exc_info=None):
        seen.update(status=status, headers=list(response_headers))

    def on_start(**kwargs):
        started.append(True)

    request_started.connect(on_start)
    # As Django's test client does: the test's transaction holds the data, and closing the
    # connection at the end of a request would end it (PostgreSQL; SQLite's stays open).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = application(environ, start_response)
        body = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
    finally:
        request_started.disconnect(on_start)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return Answer(seen["status"], seen["headers"], body, bool(started))


def test_a_cached_page_is_answered_before_django_with_the_stored_headers(explainer):
    miss = wsgi_get(CATEGORY)
    hit = wsgi_get(CATEGORY)

    assert (miss.headers["x-cache"], miss.handled_by_django) == ("miss", True)
    assert (hit.status, hit.headers["x-cache"], hit.handled_by_django) == (200, "hit", False)
    assert hit.body == miss.body and b"What is attention?" in hit.body
    assert int(hit.headers["content-length"]) == len(hit.body)
    for name in ("content-security-policy", "etag", "x-frame-options", "content-type"):
        assert hit.headers[name] == miss.headers[name], name
    assert "Accept-Encoding" in hit.headers["vary"] and "Cookie" in hit.headers["vary"]
    assert "s-maxage" in hit.headers["cache-control"]
    # Every answer has an id for the access log; a load balancer's is kept.
    assert len(hit.headers["x-request-id"]) == 32
    assert wsgi_get(CATEGORY, x_request_id="lb-42").headers["x-request-id"] == "lb-42"


def test_a_repeat_visit_gets_304_and_head_gets_no_body_from_the_front(explainer):
    etag = wsgi_get(CATEGORY).headers["etag"]

    not_modified = wsgi_get(CATEGORY, if_none_match=etag)
    head = wsgi_get(CATEGORY, method="HEAD")

    assert (not_modified.status, not_modified.body, not_modified.handled_by_django) == (
        304,
        b"",
        False,
    )
    assert (head.status, head.body, head.handled_by_django) == (200, b"", False)
    assert head.headers["x-cache"] == "hit"


def test_the_front_serves_each_encoding_the_client_takes(explainer):
    plain = wsgi_get(CATEGORY)
    wsgi_get(CATEGORY, accept_encoding="gzip")  # compressed once, from the stored page

    gzipped = wsgi_get(CATEGORY, accept_encoding="gzip")

    assert (gzipped.headers["content-encoding"], gzipped.handled_by_django) == ("gzip", False)
    assert gzip.decompress(gzipped.body) == plain.body


def test_hostile_addresses_are_refused_even_when_the_page_is_cached(explainer):
    wsgi_get(CATEGORY)

    refused = wsgi_get(CATEGORY, query="utm_source=%00")

    assert refused.status == 400 and b"control characters" in refused.body


def test_editors_and_unknown_hosts_go_through_django(explainer):
    wsgi_get(CATEGORY)

    editor = wsgi_get(CATEGORY, cookie="sessionid=abc")
    stranger = wsgi_get(CATEGORY, host="evil.example")

    assert editor.handled_by_django and "x-cache" not in editor.headers
    assert (stranger.status, stranger.handled_by_django) == (400, True)


def test_an_address_outside_ascii_reaches_django_as_sent(explainer):
    # As a server hands it over: the UTF-8 bytes of the path, one latin-1 character each.
    path = "/api/v1/series/\U00013677/".encode().decode("latin-1")

    missing = wsgi_get(path)
    page = wsgi_get("/ai-principles/caf\u00e9/".encode().decode("latin-1"))

    assert (missing.status, page.status) == (404, 404)


def test_a_miss_costs_one_cache_lookup_not_two(explainer):
    with mock.patch.object(cache, "get_many", wraps=cache.get_many) as get_many:
        miss = wsgi_get(CATEGORY)

    assert miss.headers["x-cache"] == "miss"
    page_lookups = [call for call in get_many.call_args_list if len(call.args[0]) > 2]
    assert len(page_lookups) == 1


# Each process's own copy of recent lookups (off in the test settings, on here)


@pytest.fixture
def local_copy(settings):
    settings.PAGE_CACHE_LOCAL_SECONDS = 1
    site_application.recent.entries.clear()
    yield
    site_application.recent.entries.clear()


def test_repeats_within_a_second_are_answered_without_asking_the_cache(
    explainer, local_copy, django_capture_on_commit_callbacks
):
    wsgi_get(CATEGORY)  # rendered and stored
    looked_up = wsgi_get(CATEGORY)

    with mock.patch.object(cache, "get_many", wraps=cache.get_many) as get_many:
        repeat = wsgi_get(CATEGORY)
        head = wsgi_get(CATEGORY, method="HEAD")
    assert get_many.call_count == 0
    assert (repeat.headers["x-cache"], repeat.handled_by_django) == ("hit", False)
    assert repeat.body == looked_up.body and head.body == b""

    with django_capture_on_commit_callbacks(execute=True):
        explainer.title = "What is self-attention?"
        explainer.save()
    within_the_second = wsgi_get(CATEGORY)
    with time_machine.travel(time.time() + 1.5):
        after_it = wsgi_get(CATEGORY)

    assert b"What is attention?" in within_the_second.body
    assert after_it.headers["x-cache"] == "miss" and b"What is self-attention?" in after_it.body


def test_the_copy_is_not_kept_past_the_next_scheduled_publication(
    explainer, category, local_copy, settings
):
    settings.PAGE_CACHE_LOCAL_SECONDS = 60
    now = timezone.now()
    make_explainer(
        category, "Scheduled", position=1, published_at=now + timezone.timedelta(seconds=2)
    )
    wsgi_get(CATEGORY)
    assert wsgi_get(CATEGORY).headers["x-cache"] == "hit"

    with time_machine.travel(now + timezone.timedelta(seconds=5)):
        after = wsgi_get(CATEGORY)

    assert after.headers["x-cache"] == "miss" and b"Scheduled" in after.body


def test_a_page_first_compressed_for_its_client_is_not_kept_uncompressed(explainer, local_copy):
    wsgi_get(CATEGORY)
    wsgi_get(CATEGORY, accept_encoding="br")  # compressed from the stored page, and stored

    with mock.patch.object(cache, "get_many", wraps=cache.get_many) as get_many:
        brotli_hit = wsgi_get(CATEGORY, accept_encoding="br")
    assert get_many.call_count == 1  # looked up again: now found compressed, and kept
    assert brotli_hit.headers["content-encoding"] == "br"
