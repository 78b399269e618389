"""Public pages cached in the shared cache, answered before the rest of the middleware stack,
and invalidated for every web machine at once.

Each stored page carries the content version it was rendered under, a number kept in the
cache itself (Redis in production). Any change to the content bumps the version once its
transaction commits, so the next request on any machine finds the stored page out of date
and renders afresh. Signed-in editors bypass the cache both ways: they never get a cached
page and never fill one.

A hit is answered from the cache with the headers the whole stack gave the page when it was
rendered (security headers, CSP, ETag), without running the rest: under any WSGI server
(gunicorn, runserver) by PageCacheApplication, the WSGI application in front of Django's (as
WhiteNoise can stand in front of an application), so a hit costs no Django handler, signal or
middleware; where no server stands (the test client) by PageCacheMiddleware near the top of
MIDDLEWARE, which also stores what the views render. The front keeps what a lookup found for
PAGE_CACHE_LOCAL_SECONDS (one second) and answers repeats from it without asking the cache: a
change reaches readers within that second. A lookup is one round trip:
the version, the page in the encoding the client takes and the time of the next scheduled
publication (which bounds how long a page may be kept, and is read from the database once per
version rather than on every render) come back from one MGET. A category's page is bounded
by what is scheduled in it or under it instead, which its row keeps
(``Category.next_publication``): it asks nothing more. Each page is stored as rendered
and in each encoding clients have asked for (gzip, brotli), each compressed once: when the
page is rendered for a client that takes it, or the first time one asks for it after.

A page is keyed by scheme, host, path and the one parameter a cached page reads: ``page``, the
number a paginated list actually showed. Every other parameter (utm_source, a cache buster) is
dropped before the view runs, so it neither makes a new entry nor changes the answer; a page
that is not paginated answers every ``?page=`` from its one entry. Only GET and HEAD reach it.
"""

import hashlib
import logging
import time
from datetime import datetime
from functools import wraps
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.db import transaction
from django.http import HttpResponse, QueryDict
from django.utils import timezone
from django.utils.cache import (
    add_never_cache_headers,
    get_conditional_response,
    patch_cache_control,
    patch_vary_headers,
)

from .compression import (
    IDENTITY,
    accepted_encoding,
    compress,
    encode_response,
    is_compressible,
    without_body_for_head,
)
from .middleware import (
    REQUEST_ID_HEADER,
    SAFE_METHODS,
    hostile_address_refusal,
    is_under,
    request_id_for,
    safe_methods_only,
)
from .models import Explainer

VERSION_KEY = "explainers:content-version"
NEXT_PUBLICATION_KEY = "explainers:next-publication"
PAGE_KEY_PREFIX = "explainers:page:v3:"
# The only query parameter a cached page reads (ListView's page number). The search page's
# ``q`` would make one entry per query: search is not cached.
PAGE_PARAMETER = "page"
# Where PageCacheApplication leaves its lookup of a miss for PageCacheMiddleware.
LOOKUP_KEY = "explainers.page_cache.lookup"
# Headers of one answer rather than of the page: set afresh on every answer, never stored.
PER_ANSWER_HEADERS = {
    "cache-control", "content-encoding", "content-length", "date", "vary", "x-cache",
}  # fmt: skip
logger = logging.getLogger(__name__)


class StoredPage(NamedTuple):
    version: int
    expires: float  # time.time() past which no CDN may keep it
    paginated: bool  # a list, whose every page has an entry of its own
    headers: list[tuple[str, str]]
    body: bytes  # in the encoding its key names


class Cacheable(NamedTuple):
    """What ``cached_page`` tells the middleware of a page it may store."""

    number: int  # the page of the list it showed (1 when not a list)
    paginated: bool
    # When the page next changes by itself (a scheduled explainer it would show comes out;
    # None: never), if the view knew from what it read: its context's "next_publication".
    # Otherwise the next scheduled publication anywhere bounds it.
    knows_next_publication: bool = False
    next_publication: datetime | None = None


def content_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        # A fresh, never-used number: if the key was evicted, old entries stay unreachable.
        cache.add(VERSION_KEY, time.time_ns(), timeout=None)
        version = cache.get(VERSION_KEY)
    return version


def content_changed() -> None:
    """Serve fresh pages everywhere from the next request after the current commit."""
    # robust: the write is committed already; a cache outage must not turn it into a 500.
    transaction.on_commit(_bump_version, robust=True)


def _bump_version():
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.add(VERSION_KEY, time.time_ns(), timeout=None)


def has_session(request) -> bool:
    # Readers carry no session cookie: they cost no session lookup.
    return settings.SESSION_COOKIE_NAME in request.COOKIES


def is_signed_in(request) -> bool:
    return has_session(request) and request.user.is_authenticated


def page_key(request, number: int = 1, encoding: str = IDENTITY) -> str:
    """The cache key of this page at page ``number`` (page 1 has no ``?page=``), in
    ``encoding``."""
    # Scheme and host too: pages print absolute URLs (canonical, og:image) built from them.
    address = f"{request.scheme}://{request.get_host()}{request.path}"
    if number != 1:
        address += f"?{PAGE_PARAMETER}={number}"
    return f"{PAGE_KEY_PREFIX}{hashlib.sha256(address.encode()).hexdigest()}:{encoding}"


def only_the_page_parameter(request) -> None:
    """Let the view see ``?page=`` and nothing else (its pagination links repeat the rest)."""
    query = QueryDict(mutable=True)
    if (number := request.GET.get(PAGE_PARAMETER)) is not None:
        query[PAGE_PARAMETER] = number
    query._mutable = False
    request.GET = query


def asked_page(request) -> int | None:
    """The page number asked for, as ListView reads it: None when only the view can tell
    ("last"), or when it is no number at all (a 404)."""
    value = request.GET.get(PAGE_PARAMETER)
    if value is None:
        return 1
    try:
        return int(value)
    except ValueError:
        return None


def cached_page(view):
    """Mark a public page's 200 answers for the page cache; editors get uncached,
    uncacheable answers.

    GET and HEAD only: anything else is a 405 before the view runs (``safe_methods_only``).
    """

    @wraps(view)
    def cached_view(request, *args, **kwargs):
        only_the_page_parameter(request)
        response = view(request, *args, **kwargs)
        if is_signed_in(request):
            add_never_cache_headers(response)
            patch_cache_control(response, private=True)
            return response
        if hasattr(response, "render"):
            response.render()
        if response.status_code == 200 and not response.has_header("Cache-Control"):
            # Stored under the page number the list showed ("?page=last", "?page=02" and
            # "?page=2" share one entry); a page that is not a list ignores ``?page=``.
            context = getattr(response, "context_data", None) or {}
            shown = context.get("page_obj")
            response.cacheable = Cacheable(
                shown.number if shown else 1,
                shown is not None,
                knows_next_publication="next_publication" in context,
                next_publication=context.get("next_publication"),
            )
        patch_vary_headers(response, ["Cookie"])
        return response

    return safe_methods_only(cached_view)


class Lookup(NamedTuple):
    """One round trip's worth of the cache, for one request."""

    encoding: str  # the one the client takes
    asked: int | None  # the page number asked for (None: only the view can tell)
    found: dict  # the version, the next publication and the stored page's encodings
    version: int


class PageCacheMiddleware:
    """Answer readers' GET and HEAD requests for cached pages before the rest of the stack,
    and store the pages ``cached_page`` marks, in every encoding, on their way out.

    After RefuseHostileRequestsMiddleware (hostile requests are refused first) and before
    everything else. Requests with a session cookie (editors) are not looked up: their pages
    may differ from readers'. Under a WSGI server, PageCacheApplication answers hits before Django
    handles the request at all, and hands its lookup of a miss on to this middleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not may_be_cached(request):
            return self.answer(request, self.get_response(request))
        try:
            lookup = request.META.pop(LOOKUP_KEY, None) or look_up(request)
        except DisallowedHost:
            raise  # Django's 400, not a cache outage
        except Exception:  # a cache outage must not take the pages down with it
            logger.warning("Page cache unavailable; serving %s uncached", request.path)
            return self.answer(request, self.get_response(request))
        hit = answer_from_cache(request, lookup)
        if hit is not None:
            return hit
        response = self.get_response(request)
        cacheable = getattr(response, "cacheable", None)
        if cacheable is None or response.cookies:
            return self.answer(request, response)
        encoding, version, found = lookup.encoding, lookup.version, lookup.found
        lifetime = page_lifetime(version, found.get(NEXT_PUBLICATION_KEY), cacheable)
        expires = time.time() + lifetime
        headers = [
            (name, value) for name, value in response.items()
            if name.lower() not in PER_ANSWER_HEADERS
        ]  # fmt: skip
        # Stored as it is, and in the encoding this client takes; other encodings are made
        # from it when first asked for.
        bodies = {name: compress(response.content, name) for name in (encoding, IDENTITY)}
        pages = {
            name: StoredPage(version, expires, cacheable.paginated, headers, body)
            for name, body in bodies.items()
        }
        store(request, pages, cacheable.number, expires)
        response["X-Cache"] = "miss"
        encode_response(response, encoding, bodies[encoding])
        allow_shared_caches(response, expires)
        return without_body_for_head(request, response)

    def answer(self, request, response):
        """A page not answered from the cache nor stored: compressed all the same."""
        if getattr(response, "cacheable", None) is not None and is_compressible(response):
            encode_response(response, accepted_encoding(request))
        return without_body_for_head(request, response)


class PageCacheApplication:
    """The WSGI application in front of Django's: a reader's cached page is answered from one
    cache round trip, before Django's handler, its signals and its middleware run (as WhiteNoise
    answers static files in front of an application).

    A hit is the answer PageCacheMiddleware would give (stored headers, ETag and 304, HEAD
    without a body, a request id), after the same refusal of hostile addresses. Anything else
    goes to Django with the lookup in its environ, so a miss costs one round trip, not two.
    Lookups that answered are kept a moment for the repeats that follow (RecentLookups).
    """

    def __init__(self, application):
        self.application = application
        self.recent = RecentLookups()

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") in SAFE_METHODS:
            # On a copy: WSGIRequest writes the decoded path into the environ it is given,
            # which Django's own request, made from the environ after a miss, cannot decode.
            request = WSGIRequest(environ.copy())
            if may_be_cached(request) and hostile_address_refusal(request) is None:
                try:
                    hit, lookup = self.answer(request)
                except DisallowedHost:
                    hit = lookup = None  # Django answers it with its 400
                except Exception:
                    # An outage: PageCacheMiddleware logs it and serves uncached.
                    hit = lookup = None
                if hit is not None:
                    hit[REQUEST_ID_HEADER] = request_id_for(request)
                    start_response(f"{hit.status_code} {hit.reason_phrase}", [*hit.items()])
                    return [hit.content]
                if lookup is not None:
                    environ[LOOKUP_KEY] = lookup
        return self.application(environ, start_response)

    def answer(self, request) -> tuple[HttpResponse | None, Lookup]:
        """The cached answer, from this process's recent lookups or else one round trip,
        and the lookup it came from (the middleware's, on a miss)."""
        recent = self.recent.get(request)
        if recent is not None:
            hit = answer_from_cache(request, recent)
            if hit is not None:
                return hit, recent
        lookup = look_up(request)
        hit = answer_from_cache(request, lookup)
        if hit is not None:
            self.recent.remember(request, lookup)
        return hit, lookup


class RecentLookups:
    """The lookups that answered a page, kept in this process for PAGE_CACHE_LOCAL_SECONDS.

    A page asked for a thousand times a second costs this process one cache round trip a
    second instead of a thousand (a micro-cache, as nginx's proxy cache is often set up).
    In return a change reaches readers up to that long after it is committed, and never a
    page past its own expiry (the next scheduled publication). 0 turns it off.
    """

    MAX_ENTRIES = 100  # pages; bodies are tens of kilobytes each

    def __init__(self):
        self.entries: dict[tuple, tuple[float, Lookup]] = {}

    def get(self, request) -> Lookup | None:
        entry = self.entries.get(self._key(request))
        if entry is None:
            return None
        keep_until, lookup = entry
        return lookup if time.time() < keep_until else None

    def remember(self, request, lookup: Lookup) -> None:
        seconds = settings.PAGE_CACHE_LOCAL_SECONDS
        # Only a lookup that holds the page in the client's encoding: one that had to
        # compress it would compress it again for every answer.
        if not seconds or stored(request, lookup, lookup.encoding) is None:
            return
        now = time.time()
        pages = [page for page in lookup.found.values() if isinstance(page, StoredPage)]
        keep_until = min([now + seconds, *(page.expires for page in pages)])
        if len(self.entries) >= self.MAX_ENTRIES:
            self.entries = {key: entry for key, entry in self.entries.items() if entry[0] > now}
            if len(self.entries) >= self.MAX_ENTRIES:
                self.entries = {}  # all still fresh: start again rather than pick
        self.entries[self._key(request)] = (keep_until, lookup)

    @staticmethod
    def _key(request) -> tuple:
        return (request.scheme, request.get_host(), request.path,
                asked_page(request), accepted_encoding(request))  # fmt: skip


def may_be_cached(request) -> bool:
    """A reader's GET or HEAD of a page (not a static file, the admin or the API, which
    keeps its own cache)."""
    return (
        request.method in SAFE_METHODS
        and not has_session(request)
        and not request.path.startswith(settings.STATIC_URL)
        and not is_under(request, settings.ADMIN_URL)
        and not is_under(request, settings.API_URL)
    )


def look_up(request) -> Lookup:
    """Fetch, in one round trip, what answering ``request`` from the cache takes: the
    version, the next publication time and the page in the client's encoding and
    uncompressed (to compress from), at page 1 and at the page asked for."""
    encoding = accepted_encoding(request)
    asked = asked_page(request)
    numbers = [1] if asked in (1, None) else [1, asked]
    keys = [VERSION_KEY, NEXT_PUBLICATION_KEY]
    keys += [
        page_key(request, number, name)
        for number in numbers
        for name in dict.fromkeys([encoding, IDENTITY])
    ]
    found = cache.get_many(keys)
    return Lookup(encoding, asked, found, found.get(VERSION_KEY) or content_version())


def answer_from_cache(request, lookup: Lookup) -> HttpResponse | None:
    """The cached answer to ``request``, or None when the page must be rendered."""
    page = stored(request, lookup, lookup.encoding)
    if page is None:
        uncompressed = stored(request, lookup, IDENTITY)
        if uncompressed is None:
            return None
        # Asked for in this encoding for the first time since it was rendered.
        page = uncompressed._replace(body=compress(uncompressed.body, lookup.encoding))
        number = lookup.asked if page.paginated else 1  # the entry it was found as
        store(request, {lookup.encoding: page}, number, page.expires)
    response = HttpResponse(page.body)
    for name, value in page.headers:
        response[name] = value
    response["X-Cache"] = "hit"
    response["Content-Length"] = str(len(page.body))
    encode_response(response, lookup.encoding, page.body)
    allow_shared_caches(response, page.expires)
    # The response itself, or a 304 when the client's copy is still this one.
    response = get_conditional_response(request, etag=response.get("ETag"), response=response)
    return without_body_for_head(request, response)


def stored(request, lookup: Lookup, encoding: str) -> StoredPage | None:
    """The fresh stored page answering this request in ``encoding``, if any."""
    found, asked, version = lookup.found, lookup.asked, lookup.version
    first = found.get(page_key(request, 1, encoding))
    if asked == 1 or (_fresh(first, version) and not first.paginated):
        page = first
    elif asked is None:
        page = None  # "?page=last": only the view can tell which
    else:
        # A list's page `asked` has an entry of its own.
        page = found.get(page_key(request, asked, encoding))
    return page if _fresh(page, version) else None


def store(request, pages: dict[str, StoredPage], number: int, expires: float):
    """Keep ``pages`` (by encoding) as this page at ``number`` until ``expires``."""
    entries = {page_key(request, number, name): page for name, page in pages.items()}
    try:
        cache.set_many(entries, max(1, int(expires - time.time())))
    except Exception:
        logger.warning("Page cache unavailable; %s not stored", request.path)


def allow_shared_caches(response, expires: float) -> None:
    # Browsers revalidate every time (a 304 with the ETag); a CDN may keep the page until
    # the next scheduled publication at the latest.
    patch_cache_control(
        response,
        public=True,
        max_age=0,
        must_revalidate=True,
        s_maxage=max(1, int(expires - time.time())),
    )
    patch_vary_headers(response, ["Cookie"])


def _fresh(stored: StoredPage | None, version: int) -> bool:
    return stored is not None and stored.version == version


def page_lifetime(version: int, known: tuple | None, cacheable: Cacheable | None = None) -> int:
    """How long a page may be kept: not past the next scheduled publication it would show,
    as its view knew it (``cacheable``), or else the next one anywhere.

    ``known`` is what the cache holds: (version, next publication time or None).
    """
    now = timezone.now()
    if cacheable is not None and cacheable.knows_next_publication:
        next_publication = cacheable.next_publication
    elif known is not None and known[0] == version and (known[1] is None or known[1] > now):
        next_publication = known[1]
    else:
        # Content changed, or the scheduled explainer is out: ask the database.
        next_publication = Explainer.objects.next_publication_time()
        try:
            cache.set(NEXT_PUBLICATION_KEY, (version, next_publication), timeout=None)
        except Exception:
            logger.warning("Page cache unavailable; next publication time not stored")
    lifetime = settings.PAGE_CACHE_SECONDS
    if next_publication is not None:
        lifetime = min(lifetime, int((next_publication - now).total_seconds()) + 1)
    return max(lifetime, 1)
