"""API answers in the shared cache, kept and dropped exactly as the pages are.

Each answer is stored with the content version it was built under (explainers.cache: bumped
when any content changes, once its transaction commits), and for no longer than the pages may
be kept: until the next scheduled publication at the latest. A stored answer of an older
version is never served. The key is the address and the parameters the endpoint read after
validation, so that an unknown parameter neither makes a new entry nor changes the answer.
Search answers (``q``) are not stored, as the search page is not: one entry per query.

ETag and 304 come from ConditionalGetMiddleware, as for every page; browsers and CDNs get the
pages' Cache-Control.
"""

import hashlib
import json
import logging
import time
from collections.abc import Callable

from django.core.cache import cache
from django.http import HttpResponse

from explainers.cache import (
    NEXT_PUBLICATION_KEY,
    VERSION_KEY,
    StoredPage,
    allow_shared_caches,
    content_version,
    page_lifetime,
)

ANSWER_KEY_PREFIX = "api:v1:answer:"
JSON = "application/json; charset=utf-8"
logger = logging.getLogger(__name__)


def answer_key(request, params: dict) -> str:
    # Scheme and host too: answers hold absolute URLs built from them.
    spelled = json.dumps(
        [request.scheme, request.get_host(), request.path, params], sort_keys=True, default=str
    )
    return ANSWER_KEY_PREFIX + hashlib.sha256(spelled.encode()).hexdigest()


def json_answer(body: bytes, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type=JSON)


def cached_answer(request, params: dict, build: Callable[[], bytes]) -> HttpResponse:
    """The answer ``build`` makes for this address and ``params``, from the cache when a
    fresh one is there; else built, stored and answered. One cache round trip to look up."""
    key = answer_key(request, params)
    try:
        found = cache.get_many([VERSION_KEY, NEXT_PUBLICATION_KEY, key])
        version = found.get(VERSION_KEY) or content_version()
    except Exception:  # a cache outage must not take the API down with it
        logger.warning("API cache unavailable; answering %s uncached", request.path)
        return json_answer(build())
    stored = found.get(key)
    if stored is not None and stored.version == version:
        response = json_answer(stored.body)
        response["X-Cache"] = "hit"
        allow_shared_caches(response, stored.expires)
        return response
    body = build()
    expires = time.time() + page_lifetime(version, found.get(NEXT_PUBLICATION_KEY))
    try:
        cache.set(
            key, StoredPage(version, expires, False, [], body), max(1, int(expires - time.time()))
        )
    except Exception:
        logger.warning("API cache unavailable; %s not stored", request.path)
    response = json_answer(body)
    response["X-Cache"] = "miss"
    allow_shared_caches(response, expires)
    return response
