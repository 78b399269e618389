"""Public pages cached in the shared cache, and invalidated for every web machine at once.

Each stored page carries the content version it was rendered under, a number kept in the
cache itself (Redis in production). Any change to the content bumps the version once its
transaction commits, so the next request on any machine finds the stored page out of date
and renders afresh. Signed-in editors bypass the cache both ways: they never get a cached
page and never fill one.

A lookup is one round trip: the version, the page and the time of the next scheduled
publication (which bounds how long a page may be kept, and is read from the database once per
version rather than on every render) come back from one MGET.

A page is keyed by scheme, host, path and the one parameter a cached page reads: ``page``, the
number a paginated list actually showed. Every other parameter (utm_source, a cache buster) is
dropped before the view runs, so it neither makes a new entry nor changes the answer; a page
that is not paginated answers every ``?page=`` from its one entry. Only GET and HEAD reach it.
"""

import hashlib
import logging
import time
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse, QueryDict
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_cache_control, patch_vary_headers

from .middleware import safe_methods_only
from .models import Explainer

VERSION_KEY = "explainers:content-version"
NEXT_PUBLICATION_KEY = "explainers:next-publication"
PAGE_KEY_PREFIX = "explainers:page:v2:"
# The only query parameter a cached page reads (ListView's page number). The search page's
# ``q`` would make one entry per query: search is not cached.
PAGE_PARAMETER = "page"
# A stored page: (version, content, content type, expiry time, paginated).
PAGINATED = 4
logger = logging.getLogger(__name__)


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


def is_signed_in(request) -> bool:
    # Readers carry no session cookie: they cost no session lookup.
    return settings.SESSION_COOKIE_NAME in request.COOKIES and request.user.is_authenticated


def page_key(request, number: int = 1) -> str:
    """The cache key of this page at page ``number`` (page 1 has no ``?page=``)."""
    # Scheme and host too: pages print absolute URLs (canonical, og:image) built from them.
    address = f"{request.scheme}://{request.get_host()}{request.path}"
    if number != 1:
        address += f"?{PAGE_PARAMETER}={number}"
    return PAGE_KEY_PREFIX + hashlib.sha256(address.encode()).hexdigest()


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
    """Cache a public page's 200 answers; editors get uncached, uncacheable answers.

    GET and HEAD only: anything else is a 405 before the view runs (``safe_methods_only``).
    """

    @wraps(view)
    def cached_view(request, *args, **kwargs):
        only_the_page_parameter(request)
        if is_signed_in(request):
            response = view(request, *args, **kwargs)
            add_never_cache_headers(response)
            patch_cache_control(response, private=True)
            return response
        asked = asked_page(request)
        keys = [VERSION_KEY, page_key(request), NEXT_PUBLICATION_KEY]
        if asked not in (1, None):
            keys.append(page_key(request, asked))
        try:
            found = cache.get_many(keys)
            version = found.get(VERSION_KEY) or content_version()
        except Exception:  # a cache outage must not take the pages down with it
            logger.warning("Page cache unavailable; serving %s uncached", request.path)
            return view(request, *args, **kwargs)
        first = found.get(keys[1])
        if asked == 1 or (_fresh(first, version) and not first[PAGINATED]):
            stored = first
        else:
            # A list's page `asked` has an entry of its own (when `asked` is a number).
            stored = found.get(keys[3]) if len(keys) > 3 else None
        if _fresh(stored, version):
            _, content, content_type, expires, _ = stored
            response = HttpResponse(content, content_type=content_type)
            response["X-Cache"] = "hit"
        else:
            response = view(request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()
            response["X-Cache"] = "miss"
            if response.status_code != 200 or response.has_header("Cache-Control"):
                patch_vary_headers(response, ["Cookie"])
                return response
            lifetime = _lifetime(version, found.get(NEXT_PUBLICATION_KEY))
            expires = time.time() + lifetime
            # Stored under the page number the list showed ("?page=last", "?page=02" and
            # "?page=2" share one entry); a page that is not a list ignores ``?page=``.
            shown = (getattr(response, "context_data", None) or {}).get("page_obj")
            key = page_key(request, shown.number if shown is not None else 1)
            try:
                content_type = response["Content-Type"]
                stored = (version, response.content, content_type, expires, shown is not None)
                cache.set(key, stored, lifetime)
            except Exception:
                logger.warning("Page cache unavailable; %s not stored", request.path)
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
        return response

    return safe_methods_only(cached_view)


def _fresh(stored: tuple | None, version: int) -> bool:
    return stored is not None and stored[0] == version


def _lifetime(version: int, known: tuple | None) -> int:
    """How long a page may be kept: not past the next scheduled publication.

    ``known`` is what the cache holds: (version, next publication time or None).
    """
    now = timezone.now()
    if known is not None and known[0] == version and (known[1] is None or known[1] > now):
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
