"""Public pages cached in the shared cache, and invalidated for every web machine at once.

Pages are stored under a content version kept in the cache itself (Redis in production).
Any change to the content bumps the version once its transaction commits, so the next
request on any machine renders afresh; old entries simply expire. Signed-in editors bypass
the cache both ways: they never get a cached page and never fill one.
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
        path = hashlib.sha256(address.encode()).hexdigest()
        try:
            key = f"explainers:page:{content_version()}:{path}"
            stored = cache.get(key)
        except Exception:  # a cache outage must not take the pages down with it
            logger.warning("Page cache unavailable; serving %s uncached", request.path)
            return view(request, *args, **kwargs)
        if stored is not None:
            content, content_type, expires = stored
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
            lifetime = _lifetime()
            expires = time.time() + lifetime
            try:
                cache.set(key, (response.content, response["Content-Type"], expires), lifetime)
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


def _lifetime() -> int:
    """How long a page may be kept: not past the next scheduled publication."""
    next_publication = Explainer.objects.next_publication_time()
    lifetime = settings.PAGE_CACHE_SECONDS
    if next_publication is not None:
        lifetime = min(lifetime, int((next_publication - timezone.now()).total_seconds()) + 1)
    return max(lifetime, 1)
