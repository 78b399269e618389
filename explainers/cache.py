"""Public pages cached in the shared cache, and invalidated for every web machine at once.

Each stored page carries the content version it was rendered under, a number kept in the
cache itself (Redis in production). Any change to the content bumps the version once its
transaction commits, so the next request on any machine finds the stored page out of date
and renders afresh. Signed-in editors bypass the cache both ways: they never get a cached
page and never fill one.

A lookup is one round trip: the version, the page and the time of the next scheduled
publication (which bounds how long a page may be kept, and is read from the database once per
version rather than on every render) come back from one MGET.
"""

import hashlib
import logging
import time
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_cache_control, patch_vary_headers

from .models import Explainer

VERSION_KEY = "explainers:content-version"
NEXT_PUBLICATION_KEY = "explainers:next-publication"
PAGE_KEY_PREFIX = "explainers:page:"
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


def cached_page(view):
    """Cache a public page's 200 answers; editors get uncached, uncacheable answers."""

    @wraps(view)
    def cached_view(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD") or is_signed_in(request):
            response = view(request, *args, **kwargs)
            add_never_cache_headers(response)
            patch_cache_control(response, private=True)
            return response
        # The host too: pages print absolute URLs (canonical, og:image) built from it.
        address = f"{request.get_host()}{request.get_full_path()}"
        key = PAGE_KEY_PREFIX + hashlib.sha256(address.encode()).hexdigest()
        try:
            found = cache.get_many([VERSION_KEY, key, NEXT_PUBLICATION_KEY])
            version = found.get(VERSION_KEY) or content_version()
        except Exception:  # a cache outage must not take the pages down with it
            logger.warning("Page cache unavailable; serving %s uncached", request.path)
            return view(request, *args, **kwargs)
        stored = found.get(key)
        if stored is not None and stored[0] == version:
            _, content, content_type, expires = stored
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
            try:
                stored = (version, response.content, response["Content-Type"], expires)
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

    return cached_view


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
